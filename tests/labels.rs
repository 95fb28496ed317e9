//! The ZPL of every shipped template, rendered by an independent ZPL renderer (the npm package
//! `zpl-renderer-js`) and decoded by independent decoders: `ZXingReader -escape` (Debian's
//! zxing-cpp-tools) for Code 128 and GS1-128, `dmtxread -G 29` (dmtx-utils) for GS1 DataMatrix.
//! Each barcode element is rendered on a label of its own (ZXingReader 1.4 aborts on an image
//! with two barcodes), on a strip of its own. Skipped with a printed reason when a tool is missing, unless
//! `TEST_REQUIRE_SERVICES=1` (as in `.ci/run`, which installs them).

use konsign::labels::template::{bind, Element, Symbology, Template};
use konsign::labels::zpl::{render, Dpi};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn required() -> bool {
    std::env::var("TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The folder holding `node_modules/zpl-renderer-js`, or `None` with the reason printed.
fn tools() -> Option<PathBuf> {
    let node_modules = std::env::var("ZPL_RENDERER_JS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
            target.join("npm/node_modules")
        });
    let mut missing = Vec::new();
    for (tool, arg) in [
        ("node", "--version"),
        ("ZXingReader", "-help"),
        ("dmtxread", "--help"),
    ] {
        if Command::new(tool).arg(arg).output().is_err() {
            missing.push(tool.to_string());
        }
    }
    if !node_modules.join("zpl-renderer-js").exists() {
        missing.push(format!("zpl-renderer-js in {}", node_modules.display()));
    }
    if missing.is_empty() {
        return Some(node_modules);
    }
    assert!(
        !required(),
        "the label decode tests need: {}",
        missing.join(", ")
    );
    eprintln!(
        "skipped: the label decode tests need {}",
        missing.join(", ")
    );
    None
}

fn to_png(node_modules: &Path, zpl: &str, w: f64, h: f64, dir: &Path, name: &str) -> PathBuf {
    let zpl_file = dir.join(format!("{name}.zpl"));
    let png = dir.join(format!("{name}.png"));
    std::fs::write(&zpl_file, zpl).unwrap();
    let out = Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/labels/render.cjs"
        ))
        .arg(w.to_string())
        .arg(h.to_string())
        .arg(&zpl_file)
        .arg(&png)
        .env("NODE_PATH", node_modules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zpl-renderer-js: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    png
}

/// What ZXingReader prints for a GS1 element string: FNC1 separators as `<GS>`.
fn gs1_text(hri: &str) -> String {
    let scan = konsign::domain::gs1::parse_hri(hri, chrono::Utc::now().date_naive()).unwrap();
    let n = scan.elements.len();
    let mut s = String::new();
    for (i, e) in scan.elements.iter().enumerate() {
        s.push_str(&e.ai);
        s.push_str(&e.value);
        if i + 1 < n && !konsign::labels::code128::fixed_length(&e.ai) {
            s.push_str("<GS>");
        }
    }
    s
}

fn zxing(png: &Path) -> (String, String) {
    // Without rotated and scaled passes: ZXingReader 1.4 aborts on an assertion when it finds
    // one symbol twice.
    let out = Command::new("ZXingReader")
        .args(["-escape", "-norotate", "-noscale"])
        .arg(png)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("ZXingReader found no barcode in {}: {text}", png.display()))
    };
    (field("Text:"), field("Identifier:"))
}

fn dmtx(png: &Path) -> String {
    let out = Command::new("dmtxread")
        .args(["-G", "29"])
        .arg(png)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).replace('\u{1d}', "<GS>")
}

/// Renders each barcode element of `t` with `data` on a label of its own and decodes it.
fn decode_every_barcode(
    node_modules: &Path,
    t: &Template,
    data: &BTreeMap<String, String>,
) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    let mut checked = 0;
    for (i, e) in t.elements.iter().enumerate() {
        let Element::Barcode {
            symbology,
            data: template_data,
            ..
        } = e
        else {
            continue;
        };
        let value = bind(template_data, data).unwrap();
        // On a strip of its own, as if cut out of the label.
        let (element, height_mm) = match e.clone() {
            Element::Barcode {
                symbology,
                x_mm,
                height_mm,
                module_mm,
                hri,
                data,
                ..
            } if matches!(symbology, Symbology::Code128 | Symbology::Gs1_128) => (
                Element::Barcode {
                    symbology,
                    x_mm,
                    y_mm: 3.0,
                    height_mm,
                    module_mm,
                    hri,
                    data,
                },
                height_mm + 12.0,
            ),
            other => (other, t.height_mm),
        };
        let alone = Template {
            elements: vec![element],
            height_mm,
            ..t.clone()
        };
        let zpl = render(&alone, data, Dpi::D203, "test", today).unwrap();
        let name = format!("{}-{}", t.name, i + 1);
        let png = to_png(
            node_modules,
            &zpl,
            t.width_mm,
            t.height_mm,
            dir.path(),
            &name,
        );
        match symbology {
            Symbology::Gs1_128 => {
                assert_eq!(
                    zxing(&png),
                    (gs1_text(&value), "]C1".into()),
                    "{name}: {zpl}"
                );
            }
            Symbology::Code128 => {
                assert_eq!(zxing(&png), (value.clone(), "]C0".into()), "{name}: {zpl}");
            }
            Symbology::Gs1Datamatrix => {
                assert_eq!(
                    dmtx(&png),
                    format!("<GS>{}", gs1_text(&value)),
                    "{name}: {zpl}"
                );
            }
            Symbology::Qr | Symbology::Ean13 => continue,
        }
        checked += 1;
    }
    checked
}

fn templates() -> Vec<Template> {
    Template::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("label-templates")).unwrap()
}

#[test]
fn every_shipped_template_decodes_to_exactly_its_data() {
    let Some(node_modules) = tools() else { return };
    let mut checked = 0;
    for t in templates() {
        checked += decode_every_barcode(&node_modules, &t, &t.sample);
    }
    assert_eq!(
        checked, 4,
        "SSCC, ship-to postcode, location and cut sticker"
    );
}

#[test]
fn long_lots_and_variable_fields_in_the_middle_decode() {
    let Some(node_modules) = tools() else { return };
    let ts = templates();
    // The cut sticker with the longest lot GS1 allows (20 characters).
    let sticker = ts.iter().find(|t| t.name == "cut-sticker").unwrap();
    let mut data = sticker.sample.clone();
    data.insert("lot".into(), "ABCDEFGHIJ0123456789".into());
    data.insert("product".into(), "Basisplade, æøå ÆØÅ".into());
    assert_eq!(decode_every_barcode(&node_modules, sticker, &data), 1);
    // A GS1-128 with the lot (variable length) in the middle, then the expiry.
    let t = Template::parse(
        "middle.toml",
        r#"
name = "middle"
description = "test"
width_mm = 150
height_mm = 40
[fields]
lot = "lot"
[sample]
lot = "L-20261129-A"
[[elements]]
type = "barcode"
symbology = "gs1-128"
x_mm = 5
y_mm = 5
height_mm = 20
module_mm = 0.25
data = "(01)05708932000017(10){lot}(17)271231"
"#,
    )
    .unwrap();
    assert_eq!(decode_every_barcode(&node_modules, &t, &t.sample), 1);
    // A location code as long as a location code may be.
    let loc = ts.iter().find(|t| t.name == "location").unwrap();
    let data = BTreeMap::from([("location".to_string(), "TOTE-00123".to_string())]);
    assert_eq!(decode_every_barcode(&node_modules, loc, &data), 1);
}
