//! Barcode scans as data: GS1 element strings (GS1-128, GS1 DataMatrix, GS1 QR, GS1 DataBar), the
//! bracketed human-readable form, GS1 Digital Link URIs, EAN/UPC and HIBC, parsed into one [`Scan`].
//!
//! Pure: bytes in, a typed result or a [`Gs1Error`] out. The AI rules come from the GS1 Barcode
//! Syntax Dictionary (see [`dictionary`]); "today" is a parameter because two-digit years are read
//! relative to the current year.
//!
//! How the input is recognised ([`parse`]):
//! - With an AIM symbology identifier: `]C1`, `]d2`, `]Q3`, `]e0`, `]J1` carry a GS1 element
//!   string; `]E0` an EAN-13/UPC-A (13 digits), `]E4` an EAN-8. Any other identifier (`]C0`, `]d1`, `]Q1`, `]A0`, …)
//!   carries HIBC when the data starts with `+`, a Digital Link when it starts with `http://` or
//!   `https://`, and otherwise data without GS1 meaning ([`Kind::Unknown`]).
//! - Without one: 8, 12 or 13 digits are an EAN/UPC; `+` starts HIBC; `(` the bracket form;
//!   `http://`/`https://` a Digital Link. A GS1 element string is never guessed from data without
//!   a GS1 identifier (docs: devices.md section 1): data containing a GS is an error that says so,
//!   anything else is [`Kind::Unknown`].
//!
//! A [`Kind::Unknown`] scan is not an error: it holds the text as one element with the pseudo-AI
//! `raw`, so callers can still use location labels and other plain codes. Input that is not UTF-8,
//! is empty, or breaks a rule of the format it was recognised as is an error.
//!
//! Not supported: EAN/UPC add-ons (`]E1`–`]E3`), UPC-E, ITF-14, ECI escapes in GS1 symbols, GS1
//! Composite, escaped brackets in the bracket form, compressed Digital Links, and the linters listed
//! on [`dictionary::Linter`] as skipped.

pub mod dictionary;
mod digital_link;
mod element;
mod error;
mod hibc;
mod hri;
mod lint;
mod symbology;

pub use element::{render, GS};
pub use error::{Gs1Error, Need, Rule};
pub use hibc::check_character as hibc_check_character;
pub use lint::century_year;

use crate::domain::gtin::{Gtin, GtinError};
use chrono::NaiveDate;
use element::Located;
use serde::Serialize;
use symbology::Carrier;

/// The `symbology` of a scan that came without an AIM identifier.
pub const NO_SYMBOLOGY: &str = "none";

/// What kind of data a scan held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Gs1,
    Ean,
    Hibc,
    DigitalLink,
    Unknown,
}

/// One data element: a GS1 AI and its value, or a pseudo-AI (`hibc_lic`, `raw`, …) for data
/// from other formats.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Element {
    pub ai: String,
    pub value: String,
}

/// One parsed scan. The typed fields are filled from the elements where the data has them:
/// `gtin` from AI 01 (or the EAN/UPC), `lot` 10, `expiry` 17, `production_date` 11, `serial` 21,
/// `sscc` 00, `count` 30 or else 37; for HIBC from its lot, serial, expiry, production date and
/// quantity. Dates with day `00` are the last day of their month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scan {
    /// The AIM identifier the scanner sent (`]d2`), or `none`.
    pub symbology: String,
    pub kind: Kind,
    /// Every element in scan order.
    pub elements: Vec<Element>,
    pub gtin: Option<Gtin>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub production_date: Option<NaiveDate>,
    pub serial: Option<String>,
    pub sscc: Option<String>,
    pub count: Option<u32>,
}

impl Scan {
    fn new(symbology: &str, kind: Kind, elements: Vec<Element>) -> Self {
        Scan {
            symbology: symbology.to_string(),
            kind,
            elements,
            gtin: None,
            lot: None,
            expiry: None,
            production_date: None,
            serial: None,
            sscc: None,
            count: None,
        }
    }

    /// The value of the first element with `ai`.
    pub fn value(&self, ai: &str) -> Option<&str> {
        self.elements
            .iter()
            .find(|e| e.ai == ai)
            .map(|e| e.value.as_str())
    }
}

fn gtin_rule(e: GtinError) -> Rule {
    match e {
        GtinError::CheckDigit { found, expected } => Rule::CheckDigit { found, expected },
        other => Rule::Lint(other.to_string()),
    }
}

/// Checks pairings and fills the typed fields of a GS1 scan.
fn gs1_scan(
    symbology: &str,
    kind: Kind,
    located: Vec<Located>,
    today: NaiveDate,
) -> Result<Scan, Gs1Error> {
    element::check_pairs(&located)?;
    let first = |ai: &str| located.iter().find(|l| l.ai == ai);
    let mut scan = Scan::new(
        symbology,
        kind,
        located.iter().map(Located::element).collect(),
    );
    scan.gtin = first("01")
        .map(|l| Gtin::parse(&l.value).map_err(|e| Gs1Error::ai("01", l.pos, gtin_rule(e))))
        .transpose()?;
    let date = |ai: &str| first(ai).and_then(|l| lint::yymmd0(&l.value, today));
    scan.expiry = date("17");
    scan.production_date = date("11");
    scan.lot = first("10").map(|l| l.value.clone());
    scan.serial = first("21").map(|l| l.value.clone());
    scan.sscc = first("00").map(|l| l.value.clone());
    scan.count = first("30")
        .or_else(|| first("37"))
        .and_then(|l| l.value.parse().ok());
    Ok(scan)
}

fn ean(symbology: &str, digits: &str, base: usize, lengths: &[usize]) -> Result<Scan, Gs1Error> {
    if let Some((i, ch)) = digits.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        let set = dictionary::Charset::Numeric;
        return Err(Gs1Error::at(base + i, Rule::Charset { ch, set }));
    }
    if !lengths.contains(&digits.len()) {
        let need = match lengths {
            [one] => format!("{one}"),
            _ => "8, 12 or 13".to_string(),
        };
        let msg = format!("an ean/upc needs {need} digits, got {}", digits.len());
        return Err(Gs1Error::at(base, Rule::Lint(msg)));
    }
    let gtin = Gtin::parse(digits).map_err(|e| Gs1Error::at(base, gtin_rule(e)))?;
    let element = Element {
        ai: "01".into(),
        value: gtin.as_str().to_string(),
    };
    let mut scan = Scan::new(symbology, Kind::Ean, vec![element]);
    scan.gtin = Some(gtin);
    Ok(scan)
}

fn hibc_scan(symbology: &str, text: &str, base: usize, today: NaiveDate) -> Result<Scan, Gs1Error> {
    let h = hibc::parse(text, base, today)?;
    let mut scan = Scan::new(symbology, Kind::Hibc, h.elements);
    scan.lot = h.lot;
    scan.serial = h.serial;
    scan.expiry = h.expiry;
    scan.production_date = h.production_date;
    scan.count = h.quantity;
    Ok(scan)
}

fn unknown(symbology: &str, text: &str) -> Scan {
    let raw = Element {
        ai: "raw".into(),
        value: text.to_string(),
    };
    Scan::new(symbology, Kind::Unknown, vec![raw])
}

/// Parses one scan exactly as the scanner sent it (no line terminator). See the module docs for
/// how the format is recognised.
pub fn parse(input: &[u8], today: NaiveDate) -> Result<Scan, Gs1Error> {
    let text = std::str::from_utf8(input).map_err(|e| {
        let at = e.valid_up_to();
        let byte = input.get(at).copied().unwrap_or_default();
        Gs1Error::at(at, Rule::NotUtf8 { byte })
    })?;
    if text.is_empty() {
        return Err(Gs1Error::at(0, Rule::Empty));
    }
    let (aim, body) = symbology::split(text)?;
    let base = aim.map_or(0, str::len);
    let sym = aim.unwrap_or(NO_SYMBOLOGY);
    if body.is_empty() {
        return Err(Gs1Error::at(base, Rule::Empty));
    }
    let gs1 = |kind| {
        let located = element::parse_element_string(body, base, today)?;
        gs1_scan(sym, kind, located, today)
    };
    match aim.map(symbology::carrier) {
        Some(Carrier::Gs1) => gs1(Kind::Gs1),
        Some(Carrier::Ean13) => ean(sym, body, base, &[13]),
        Some(Carrier::Ean8) => ean(sym, body, base, &[8]),
        Some(Carrier::Other) => {
            if body.starts_with('+') {
                hibc_scan(sym, body, base, today)
            } else if digital_link::is_uri(body) {
                let located = digital_link::parse(body, base, today)?;
                gs1_scan(sym, Kind::DigitalLink, located, today)
            } else {
                Ok(unknown(sym, body))
            }
        }
        None => {
            let all_digits = body.bytes().all(|b| b.is_ascii_digit());
            if all_digits && [8, 12, 13].contains(&body.len()) {
                ean(sym, body, base, &[8, 12, 13])
            } else if body.starts_with('+') {
                hibc_scan(sym, body, base, today)
            } else if body.starts_with('(') {
                let located = hri::parse(body, base, today)?;
                gs1_scan(sym, Kind::Gs1, located, today)
            } else if digital_link::is_uri(body) {
                let located = digital_link::parse(body, base, today)?;
                gs1_scan(sym, Kind::DigitalLink, located, today)
            } else if body.as_bytes().contains(&GS) {
                // GS1 is never guessed from data without a GS1 AIM id (devices.md section 1).
                Err(Gs1Error::at(0, Rule::NoGs1Symbology))
            } else {
                Ok(unknown(sym, body))
            }
        }
    }
}

/// Parses the bracketed human-readable form, `(01)05708932000017(17)271231(10)ABC`.
pub fn parse_hri(input: &str, today: NaiveDate) -> Result<Scan, Gs1Error> {
    if input.trim().is_empty() {
        return Err(Gs1Error::at(0, Rule::Empty));
    }
    let located = hri::parse(input, 0, today)?;
    gs1_scan(NO_SYMBOLOGY, Kind::Gs1, located, today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    fn scan(input: &[u8]) -> Scan {
        parse(input, today()).unwrap()
    }

    fn err(input: &[u8]) -> String {
        parse(input, today()).unwrap_err().to_string()
    }

    #[test]
    fn a_gs1_datamatrix_scan_fills_the_typed_fields() {
        let s = scan(b"]d2010570893200001717271231\x1d10ABC\x1d21123");
        assert_eq!(s.symbology, "]d2");
        assert_eq!(s.kind, Kind::Gs1);
        assert_eq!(s.gtin.as_ref().map(Gtin::as_str), Some("05708932000017"));
        assert_eq!(s.expiry, d(2027, 12, 31));
        assert_eq!(s.lot.as_deref(), Some("ABC"));
        assert_eq!(s.serial.as_deref(), Some("123"));
        assert_eq!(s.elements.len(), 4);
        assert_eq!(s.value("17"), Some("271231"));
    }

    #[test]
    fn positions_count_the_symbology_identifier() {
        assert_eq!(
            err(b"]d20105708932000018"),
            "ai 01 at position 5: check digit is 8, expected 7"
        );
        assert_eq!(err(b"]C1\x1d9A"), "position 4: unknown ai 9A");
    }

    #[test]
    fn day_00_expiry_is_the_last_day_of_february_in_leap_and_common_years() {
        let s = scan(b"]C1010570893200001717240200");
        assert_eq!(s.expiry, d(2024, 2, 29));
        let s = scan(b"]C1010570893200001717250200");
        assert_eq!(s.expiry, d(2025, 2, 28));
        let s = scan(b"]C1010570893200001711250200");
        assert_eq!(s.production_date, d(2025, 2, 28));
    }

    #[test]
    fn an_sscc_and_count_are_read_from_a_logistic_label() {
        let s = scan(b"]C100106141411234567897\x1d0205708932000017\x1d3712");
        assert_eq!(s.sscc.as_deref(), Some("106141411234567897"));
        assert_eq!(s.count, Some(12));
        assert_eq!(s.gtin, None);
    }

    #[test]
    fn pairing_rules_apply_to_whole_scans() {
        assert_eq!(
            err(b"]d210ABC"),
            "ai 10 at position 5: lot needs one of 01, 02, 03, 8006, 8026"
        );
        assert_eq!(
            err(b"]d201057089320000170205708932000017"),
            "ai 02 at position 21: content gtin cannot appear together with ai 01"
        );
    }

    #[test]
    fn ean_8_upc_a_and_ean_13_become_gtin_14() {
        let s = scan(b"]E496385074");
        assert_eq!(
            (s.kind, s.gtin.unwrap().as_str()),
            (Kind::Ean, "00000096385074")
        );
        let s = scan(b"036000291452");
        assert_eq!(s.gtin.unwrap().as_str(), "00036000291452");
        assert_eq!(s.symbology, "none");
        let s = scan(b"]E00036000291452");
        assert_eq!(s.gtin.unwrap().as_str(), "00036000291452");
        let s = scan(b"5708932000017");
        assert_eq!(s.gtin.as_ref().unwrap().as_str(), "05708932000017");
        assert_eq!(
            s.elements,
            [Element {
                ai: "01".into(),
                value: "05708932000017".into()
            }]
        );
        assert_eq!(
            err(b"5708932000018"),
            "position 0: check digit is 8, expected 7"
        );
        assert_eq!(
            err(b"]E496385075"),
            "position 3: check digit is 5, expected 4"
        );
        assert_eq!(
            err(b"]E4963850"),
            "position 3: an ean/upc needs 8 digits, got 6"
        );
        assert_eq!(
            err(b"]E0570893200001X"),
            "position 15: character 'X' is not a digit"
        );
        // With its symbology identifier, EAN-13 (and UPC-A in it) is always 13 digits.
        assert_eq!(
            err(b"]E0036000291452"),
            "position 3: an ean/upc needs 13 digits, got 12"
        );
    }

    #[test]
    fn gs1_dotcode_carries_an_element_string() {
        let s = scan(b"]J10105708932000017\x1d10LOT1");
        assert_eq!((s.symbology.as_str(), s.kind), ("]J1", Kind::Gs1));
        assert_eq!(s.gtin.unwrap().as_str(), "05708932000017");
        assert_eq!(s.lot.as_deref(), Some("LOT1"));
    }

    #[test]
    fn hibc_maps_lot_expiry_and_keeps_labeler_and_product_as_pseudo_ais() {
        let s = scan(b"+A123BJC5D6E71/$$52001510X3C");
        assert_eq!(s.kind, Kind::Hibc);
        assert_eq!(s.value("hibc_lic"), Some("A123"));
        assert_eq!(s.value("hibc_pcn"), Some("BJC5D6E7"));
        assert_eq!(s.lot.as_deref(), Some("10X3"));
        assert_eq!(s.expiry, d(2020, 1, 15));
        let s = scan(b"]d1+A123BJC5D6E71/$$52001510X3C");
        assert_eq!((s.symbology.as_str(), s.kind), ("]d1", Kind::Hibc));
    }

    #[test]
    fn the_bracket_form_and_digital_links_are_recognised_without_an_identifier() {
        let s = scan(b"(01)05708932000017(17)271231(10)ABC");
        assert_eq!((s.kind, s.lot.as_deref()), (Kind::Gs1, Some("ABC")));
        let s = parse_hri("(01)05708932000017(17)271231(10)ABC", today()).unwrap();
        assert_eq!(s.expiry, d(2027, 12, 31));
        let s = scan(b"https://id.gs1.org/01/05708932000017/10/ABC/21/123?17=271231");
        assert_eq!(s.kind, Kind::DigitalLink);
        assert_eq!(s.serial.as_deref(), Some("123"));
        assert_eq!(s.expiry, d(2027, 12, 31));
        let s = scan(b"]Q1https://example.dk/01/5708932000017");
        assert_eq!((s.symbology.as_str(), s.kind), ("]Q1", Kind::DigitalLink));
    }

    #[test]
    fn gs1_is_never_guessed_without_a_gs1_identifier() {
        let s = scan(b"]C1010570893200001710ABC");
        assert_eq!((s.kind, s.lot.as_deref()), (Kind::Gs1, Some("ABC")));
        assert_eq!(scan(b"010570893200001710ABC").kind, Kind::Unknown);
        let s = scan(b"A-01-1");
        assert_eq!(s.kind, Kind::Unknown);
        assert_eq!(
            s.elements,
            [Element {
                ai: "raw".into(),
                value: "A-01-1".into()
            }]
        );
        assert_eq!(scan(b"10ABC").kind, Kind::Unknown);
        // A GS shows it is meant as GS1: without the identifier that is an error that says why.
        assert!(err(b"0105708932000017\x1d10ABC").contains("no GS1 symbology identifier"));
        let s = scan(b"]C0A-01-1");
        assert_eq!((s.symbology.as_str(), s.kind), ("]C0", Kind::Unknown));
    }

    #[test]
    fn bad_bytes_and_empty_scans_are_errors() {
        assert_eq!(err(b""), "position 0: empty scan");
        assert_eq!(err(b"]d2"), "position 3: empty scan");
        assert_eq!(err(b"]d2\x1d"), "position 3: empty scan");
        assert_eq!(
            err(b"]d201\xff"),
            "position 5: byte 0xff is not valid utf-8"
        );
        assert_eq!(err(b"]"), "position 0: incomplete symbology identifier");
    }

    #[test]
    fn the_scan_serialises_with_iso_dates_and_snake_case_kind() {
        let s = scan(b"]d2010570893200001717271231\x1d10ABC");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["kind"], "gs1");
        assert_eq!(json["expiry"], "2027-12-31");
        assert_eq!(json["gtin"], "05708932000017");
        assert_eq!(json["elements"][2]["ai"], "10");
        assert_eq!(json["sscc"], serde_json::Value::Null);
        let dl = scan(b"https://id.gs1.org/01/05708932000017");
        assert_eq!(serde_json::to_value(&dl).unwrap()["kind"], "digital_link");
    }

    #[test]
    fn rendering_and_parsing_round_trip() {
        let s = scan(b"]d2010570893200001710ABC\x1d17271231\x1d21X");
        let bytes = render("]d2", &s.elements);
        assert_eq!(scan(&bytes).elements, s.elements);
    }
}
