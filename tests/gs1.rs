//! The barcode engine from the outside: properties of `domain::gs1` and the `konsign gs1 parse`
//! command as a scanner feeds it.

use chrono::NaiveDate;
use konsign::domain::gs1::{self, Element, Kind};
use konsign::domain::gtin::Gtin;
use proptest::prelude::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// The GS1 82-character set.
const CSET82: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

fn cset82_text(max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = CSET82.chars().collect();
    proptest::collection::vec(proptest::sample::select(chars), 1..=max)
        .prop_map(|v| v.into_iter().collect())
}

fn gtin() -> impl Strategy<Value = String> {
    "[0-9]{13}".prop_map(|body| Gtin::with_check_digit(&body).unwrap().as_str().to_string())
}

/// YYMMDD with a day that exists in every month, or day 00 (last day of the month).
fn yymmdd() -> impl Strategy<Value = String> {
    (0..100u32, 1..=12u32, prop_oneof![Just(0u32), 1..=28u32])
        .prop_map(|(y, m, d)| format!("{y:02}{m:02}{d:02}"))
}

fn element(ai: &str, value: String) -> Element {
    Element {
        ai: ai.to_string(),
        value,
    }
}

/// A valid set of elements (GTIN, expiry, lot, serial) in any order.
fn elements() -> impl Strategy<Value = Vec<Element>> {
    (gtin(), yymmdd(), cset82_text(20), cset82_text(20))
        .prop_map(|(g, e, l, s)| {
            vec![
                element("01", g),
                element("17", e),
                element("10", l),
                element("21", s),
            ]
        })
        .prop_shuffle()
}

/// Scanner-like input: a known prefix, then bytes from the characters barcodes carry (and a few
/// that they should not).
fn scannerish() -> impl Strategy<Value = Vec<u8>> {
    let prefixes = vec![
        "",
        "]d2",
        "]C1",
        "]Q3",
        "]e0",
        "]E0",
        "]E4",
        "]d1",
        "]Q1",
        "]C0",
        "+",
        "+$",
        "+$$",
        "(",
        "(01)",
        "https://id.gs1.org/",
        "https://x.dk/01/",
        "]d2\x1d",
        "01",
        "10",
        "]",
    ];
    let alphabet: Vec<u8> = b"0123456789ABCDEFXYZ$/+%().-_?=&#:\x1d \r\n\xc3\xa9\xff".to_vec();
    (
        proptest::sample::select(prefixes),
        proptest::collection::vec(proptest::sample::select(alphabet), 0..60),
    )
        .prop_map(|(p, tail)| [p.as_bytes(), &tail].concat())
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = gs1::parse(&bytes, today());
    }

    #[test]
    fn scanner_like_input_never_panics_the_parser(bytes in scannerish()) {
        let _ = gs1::parse(&bytes, today());
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = gs1::parse_hri(text, today());
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_bracket_parser(text in "\\PC{0,80}") {
        let _ = gs1::parse_hri(&text, today());
    }

    #[test]
    fn a_rendered_element_string_parses_back_to_the_same_elements(
        elements in elements(),
        aim in proptest::sample::select(vec!["]d2", "]C1", "]Q3", "]e0"]),
    ) {
        let bytes = gs1::render(aim, &elements);
        let scan = gs1::parse(&bytes, today()).map_err(|e| {
            TestCaseError::fail(format!("{e} in {:?}", String::from_utf8_lossy(&bytes)))
        })?;
        prop_assert_eq!(&scan.elements, &elements);
        prop_assert_eq!(scan.kind, Kind::Gs1);
        prop_assert_eq!(scan.symbology.as_str(), aim);
        let value = |ai: &str| elements.iter().find(|e| e.ai == ai).map(|e| e.value.clone());
        prop_assert_eq!(scan.gtin.map(|g| g.as_str().to_string()), value("01"));
        prop_assert_eq!(scan.lot, value("10"));
        prop_assert_eq!(scan.serial, value("21"));
        prop_assert!(scan.expiry.is_some());
    }

    #[test]
    fn a_percent_encoded_digital_link_parses_back_to_its_values(
        gtin in gtin(),
        lot in cset82_text(20),
        serial in cset82_text(20),
        expiry in yymmdd(),
    ) {
        let uri = format!(
            "https://id.gs1.org/01/{gtin}/10/{}/21/{}?17={expiry}&linkType=all",
            percent_encode(&lot),
            percent_encode(&serial)
        );
        let scan = gs1::parse(uri.as_bytes(), today())
            .map_err(|e| TestCaseError::fail(format!("{e} in {uri}")))?;
        prop_assert_eq!(scan.kind, Kind::DigitalLink);
        prop_assert_eq!(
            scan.elements,
            vec![element("01", gtin), element("10", lot), element("21", serial), element("17", expiry)]
        );
    }
}

fn konsign(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_konsign"));
    c.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("KONSIGN_LISTEN")
        .env_remove("KONSIGN_CONFIG")
        .env("RUST_LOG", "warn");
    c
}

/// Runs `konsign gs1 parse -` with `input` on stdin, exactly as given.
fn parse_stdin(dir: &std::path::Path, input: &[u8]) -> Output {
    let mut child = konsign(dir)
        .args(["gs1", "parse", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_raw_datamatrix_scan_on_stdin_prints_the_scan_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = parse_stdin(
        dir.path(),
        b"]d2010570893200001717271231\x1d10ABC\x1d21123\r\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The binary reads YY against the real current year; 27 is 2027 until the 2070s.
    let year = gs1::century_year(27, konsign::domain::time::business_day(chrono::Utc::now()));
    assert_eq!(
        json,
        serde_json::json!({
            "symbology": "]d2",
            "kind": "gs1",
            "elements": [
                {"ai": "01", "value": "05708932000017"},
                {"ai": "17", "value": "271231"},
                {"ai": "10", "value": "ABC"},
                {"ai": "21", "value": "123"}
            ],
            "gtin": "05708932000017",
            "lot": "ABC",
            "expiry": format!("{year}-12-31"),
            "production_date": null,
            "serial": "123",
            "sscc": null,
            "count": null
        })
    );
}

#[test]
fn an_invalid_scan_exits_non_zero_with_the_error_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = parse_stdin(dir.path(), b"]d20105708932000018\x1d10ABC\n");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ai 01 at position 5: check digit is 8, expected 7"),
        "{stderr}"
    );
    let out = parse_stdin(dir.path(), b"]d2010570893200001710AB\xff\r\n");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("position 23: byte 0xff is not valid utf-8")
    );
}

#[test]
fn only_one_line_terminator_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let out = parse_stdin(dir.path(), b"]E05708932000017\n");
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kind"], "ean");
    assert_eq!(json["gtin"], "05708932000017");
    // A second terminator is data, and a CR is not a digit.
    let out = parse_stdin(dir.path(), b"]E05708932000017\r\r\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("position 16"));
}

#[test]
fn the_bracket_form_is_parsed_with_hri() {
    let dir = tempfile::tempdir().unwrap();
    let out = konsign(dir.path())
        .args([
            "gs1",
            "parse",
            "--hri",
            "(01)05708932000017(17)240200(10)L1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["expiry"], "2024-02-29");
    assert_eq!(json["lot"], "L1");
    let out = konsign(dir.path())
        .args(["gs1", "parse", "--hri", "(10)L1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("ai 10 at position 4: lot needs one of 01, 02, 03, 8006, 8026"));
}

#[test]
fn gs1_parse_needs_no_configuration_or_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = konsign(dir.path())
        .args([
            "gs1",
            "parse",
            "https://id.gs1.org/01/05708932000017/10/ABC?17=271231",
        ])
        .env("KONSIGN_CONFIG", "does-not-exist.toml")
        .env("DATABASE_URL", "mysql://not/supported")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kind"], "digital_link");
    assert_eq!(json["lot"], "ABC");
    // No ./data folder or database file was created.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
