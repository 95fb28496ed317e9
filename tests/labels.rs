//! Every shipped template decodes to exactly its data from each of its three outputs:
//! - the ZPL, rendered by an independent ZPL renderer (the npm package `zpl-renderer-js`);
//! - the PNG konsign draws itself;
//! - the PDF konsign writes, turned into a page image by `pdftoppm` (poppler-utils);
//!
//! read by independent decoders: `ZXingReader -escape` (Debian's zxing-cpp-tools) for Code 128
//! and GS1-128, `dmtxread -G 29` (dmtx-utils) for GS1 DataMatrix. Text with æøå is checked in
//! the PDF with `pdftotext`.
//!
//! Each barcode element is rendered on a label of its own (ZXingReader 1.4 aborts on an image
//! with two barcodes), on a strip of its own. Skipped with a printed reason when a tool is missing, unless
//! `TEST_REQUIRE_SERVICES=1` (as in `.ci/run`, which installs them).

use konsign::labels::layout::{layout, Item, Layout};
use konsign::labels::template::{bind, Element, LabelData, Symbology, Template};
use konsign::labels::zpl::{render, Dpi};
mod common;

use common::decode::{to_png, tools, zxing};
use std::path::Path;
use std::process::Command;

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

fn dmtx(png: &Path) -> String {
    let out = Command::new("dmtxread")
        .args(["-G", "29"])
        .arg(png)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).replace('\u{1d}', "<GS>")
}

/// What the decoders print for a barcode of this data: (text, AIM identifier) from ZXingReader,
/// or the dmtxread text for DataMatrix.
fn expected(symbology: Symbology, value: &str) -> (String, String) {
    match symbology {
        Symbology::Gs1_128 => (gs1_text(value), "]C1".into()),
        Symbology::Code128 => (value.to_string(), "]C0".into()),
        Symbology::Gs1Datamatrix => (format!("<GS>{}", gs1_text(value)), String::new()),
        Symbology::Qr => (value.to_string(), "]Q1".into()),
        Symbology::Ean13 => {
            let sum: u32 = value
                .bytes()
                .enumerate()
                .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 1 { 3 } else { 1 })
                .sum();
            (format!("{value}{}", (10 - sum % 10) % 10), "]E0".into())
        }
    }
}

fn decode(symbology: Symbology, png: &Path) -> (String, String) {
    match symbology {
        Symbology::Gs1Datamatrix => (dmtx(png), String::new()),
        _ => zxing(png),
    }
}

/// The layout with only the barcode of element `element`, for a picture with one symbol.
fn only_barcode(l: &Layout, element: usize) -> Layout {
    Layout {
        pages: vec![l.pages[0]
            .iter()
            .filter(|i| matches!(i, Item::Barcode(b) if b.element == element))
            .cloned()
            .collect()],
        ..l.clone()
    }
}

/// Decodes every barcode of `t` with `data` from konsign's own PNG and from its PDF through
/// pdftoppm; returns how many were checked.
fn decode_png_and_pdf(t: &Template, data: &LabelData) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    let l = layout(t, data, today).unwrap();
    let mut checked = 0;
    for item in &l.pages[0] {
        let Item::Barcode(b) = item else { continue };
        let want = expected(b.symbology, &b.value);
        let alone = only_barcode(&l, b.element);
        let name = format!("{}-{}", t.name, b.element);
        for dpi in [203, 300] {
            let png = dir.path().join(format!("{name}-{dpi}.png"));
            std::fs::write(&png, konsign::labels::png::render(&alone, 0, dpi).unwrap()).unwrap();
            assert_eq!(decode(b.symbology, &png), want, "{name} PNG at {dpi} dpi");
            // ZXingReader reads GS1 DataMatrix too, from 6 dots a module (it misses 4).
            if b.symbology == Symbology::Gs1Datamatrix && dpi == 300 {
                assert_eq!(
                    zxing(&png),
                    (gs1_text(&b.value), "]d2".into()),
                    "{name} PNG by ZXingReader"
                );
            }
        }
        let pdf = dir.path().join(format!("{name}.pdf"));
        std::fs::write(&pdf, konsign::labels::pdf::render(&alone, &t.name).unwrap()).unwrap();
        let prefix = dir.path().join(format!("{name}-pdf"));
        let out = Command::new("pdftoppm")
            .args(["-r", "400", "-png", "-singlefile"])
            .arg(&pdf)
            .arg(&prefix)
            .output()
            .unwrap();
        assert!(out.status.success(), "pdftoppm: {out:?}");
        let page = prefix.with_extension("png");
        assert_eq!(decode(b.symbology, &page), want, "{name} PDF via pdftoppm");
        if b.symbology == Symbology::Gs1Datamatrix {
            assert_eq!(
                zxing(&page),
                (gs1_text(&b.value), "]d2".into()),
                "{name} PDF by ZXingReader"
            );
        }
        checked += 1;
    }
    checked
}

/// Renders each barcode element of `t` with `data` on a label of its own and decodes it.
/// Renders each barcode element of `t` with `data` on a label of its own and decodes it.
fn decode_every_barcode(node_modules: &Path, t: &Template, data: &LabelData) -> usize {
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
        if matches!(symbology, Symbology::Qr | Symbology::Ean13) {
            continue;
        }
        assert_eq!(
            decode(*symbology, &png),
            expected(*symbology, &value),
            "{name}: {zpl}"
        );
        checked += 1;
    }
    checked
}

fn templates() -> Vec<Template> {
    Template::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("label-templates")).unwrap()
}

fn template(name: &str) -> Template {
    templates().into_iter().find(|t| t.name == name).unwrap()
}

/// The longest data the labels take: a 20-character lot (the most GS1 allows), long names and
/// addresses with æøå, a long product name, and the longest location codes.
fn long_data() -> Vec<(Template, LabelData)> {
    let mut out = Vec::new();
    let t = template("shipping");
    let mut d = t.sample.clone();
    d.fields.insert(
        "recipient_name".into(),
        "Kirsten Marie Louise Frederikke Østergaard-Bønnelycke Ærø".into(),
    );
    d.fields.insert(
        "recipient_address".into(),
        "Æbeløgade 128, 3. sal, lejlighed 14, c/o Åse Ølgaard-Sønderskov".into(),
    );
    d.fields
        .insert("recipient_city".into(), "Ølsted Strandhuse".into());
    d.fields.insert("sscc".into(), "357089329999999990".into());
    out.push((t, d));
    let t = template("cut-sticker");
    let mut d = t.sample.clone();
    d.fields.insert("lot".into(), "ABCDEFGHIJ0123456789".into());
    d.fields.insert(
        "product".into(),
        "Basisplade konveks, blød, koblingsring 70 mm, æøå ÆØÅ".into(),
    );
    d.fields.insert("cut_spec".into(), "oval 43 x 38 mm".into());
    out.push((t, d));
    let t = template("location");
    let mut d = t.sample.clone();
    d.fields.insert("location".into(), "TOTE-00123".into());
    out.push((t, d));
    out
}

#[test]
fn every_shipped_template_decodes_to_exactly_its_data() {
    let Some(node_modules) = tools() else { return };
    let mut checked = 0;
    for t in templates() {
        checked += decode_every_barcode(&node_modules, &t, &t.sample);
    }
    assert_eq!(
        checked, 5,
        "SSCC, ship-to postcode, location, cut sticker, packing slip order"
    );
}

#[test]
fn png_and_pdf_of_every_template_decode_to_exactly_their_data() {
    if tools().is_none() {
        return;
    }
    let mut checked = 0;
    for t in templates() {
        checked += decode_png_and_pdf(&t, &t.sample);
    }
    assert_eq!(checked, 5);
    for (t, d) in long_data() {
        assert!(decode_png_and_pdf(&t, &d) >= 1, "{}", t.name);
    }
}

#[test]
fn the_pdf_carries_danish_letters_as_text() {
    if tools().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    for (t, d) in long_data().into_iter().take(2) {
        let l = layout(&t, &d, today).unwrap();
        let pdf = dir.path().join(format!("{}.pdf", t.name));
        std::fs::write(&pdf, konsign::labels::pdf::render(&l, &t.name).unwrap()).unwrap();
        let out = Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        let words: Vec<&str> = text.split_whitespace().collect();
        for f in ["recipient_name", "product"] {
            let Some(v) = d.fields.get(f) else { continue };
            for w in v.split_whitespace() {
                assert!(words.contains(&w), "{w} of {f} not in the PDF text: {text}");
            }
        }
    }
}

#[test]
fn a_long_packing_slip_continues_on_more_pages() {
    if tools().is_none() {
        return;
    }
    let t = template("packing-slip");
    let mut d = t.sample.clone();
    let row = d.tables["lines"][0].clone();
    d.tables.insert("lines".into(), vec![row; 60]);
    let l = layout(&t, &d, chrono::Utc::now().date_naive()).unwrap();
    assert!(l.pages.len() >= 2, "{} pages", l.pages.len());
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("slip.pdf");
    std::fs::write(&pdf, konsign::labels::pdf::render(&l, "slip").unwrap()).unwrap();
    let out = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let pages = l.pages.len();
    assert!(text.contains(&format!("Side {pages} af {pages}")), "{text}");
    // Every row is printed once: 60 lots, and the header once per page.
    assert_eq!(text.matches("CO88721").count(), 60, "{text}");
    assert_eq!(text.matches("Producent").count(), pages);
}

#[test]
fn qr_and_ean_13_decode_from_png_and_pdf() {
    if tools().is_none() {
        return;
    }
    let t = Template::parse(
        "other.toml",
        r#"
name = "other"
description = "QR and EAN-13, in no shipped template yet"
width_mm = 100
height_mm = 60
[fields]
url = "a link"
ean = "12 digits"
[sample]
url = "https://konsign.example/p/WEB-2026-000123"
ean = "570893200001"
[[elements]]
type = "barcode"
symbology = "qr"
x_mm = 5
y_mm = 5
module_mm = 0.75
data = "{url}"
[[elements]]
type = "barcode"
symbology = "ean13"
x_mm = 45
y_mm = 10
height_mm = 20
module_mm = 0.4
hri = true
data = "{ean}"
"#,
    )
    .unwrap();
    assert_eq!(decode_png_and_pdf(&t, &t.sample), 2);
}

#[test]
fn long_lots_and_variable_fields_in_the_middle_decode() {
    let Some(node_modules) = tools() else { return };
    for (t, d) in long_data() {
        assert_eq!(
            decode_every_barcode(&node_modules, &t, &d),
            1 + usize::from(t.name == "shipping")
        );
    }
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
    assert_eq!(decode_png_and_pdf(&t, &t.sample), 1);
}
