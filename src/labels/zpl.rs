//! ZPL II for Zebra thermal printers (203 or 300 dpi) from a checked template and its data.
//! Every format starts with `^CI28` (field data is UTF-8, so æøå print with font 0), carries the
//! job id in a `^FX` comment and ends with an explicit `^PQ1`. Barcodes: Code 128 and GS1-128 in
//! `^BC` mode N with explicit subset codes and FNC1 (`code128`), GS1 DataMatrix in `^BX` with
//! the escape character `_` set and `_1` for FNC1, QR in `^BQ`, EAN-13 in `^BE`.

use super::code128;
use super::layout::{self, Item, Layout};
use super::template::{LabelData, Symbology, Template};
use std::fmt::Write as _;

/// Printer resolution in dots per inch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dpi {
    D203,
    D300,
}

impl Dpi {
    pub fn parse(v: u32) -> Option<Self> {
        match v {
            203 => Some(Dpi::D203),
            300 => Some(Dpi::D300),
            _ => None,
        }
    }
    pub fn dots_per_mm(self) -> f64 {
        match self {
            Dpi::D203 => 203.0 / 25.4,
            Dpi::D300 => 300.0 / 25.4,
        }
    }
}

pub use super::RenderError;

/// Text field data: `^FH_` hex escapes for the characters ZPL reads as commands.
fn text_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '^' => out.push_str("_5E"),
            '~' => out.push_str("_7E"),
            '_' => out.push_str("_5F"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// GS1 DataMatrix field data with `_` as escape: `_1` is FNC1 (first and as separator), a
/// literal `_` is `__`.
fn datamatrix_data(hri: &str, today: chrono::NaiveDate) -> Result<String, String> {
    let scan =
        crate::domain::gs1::parse_hri(hri, today).map_err(|e| format!("not valid GS1: {e}"))?;
    let mut out = String::from("_1");
    let n = scan.elements.len();
    for (i, e) in scan.elements.iter().enumerate() {
        out.push_str(&e.ai);
        out.push_str(&e.value.replace('_', "__"));
        if i + 1 < n && !code128::fixed_length(&e.ai) {
            out.push_str("_1");
        }
    }
    Ok(out)
}

/// Renders a label as ZPL: one format per page (a label has one). `job` is written into a
/// `^FX` comment.
pub fn render(
    t: &Template,
    data: &LabelData,
    dpi: Dpi,
    job: &str,
    today: chrono::NaiveDate,
) -> Result<String, RenderError> {
    let l = layout::layout(t, data, today)?;
    from_layout(&l, &t.name, dpi, job, today)
}

/// ZPL from a layout: texts and fills where the layout put them, barcodes drawn by the printer
/// from the same data.
pub fn from_layout(
    l: &Layout,
    template: &str,
    dpi: Dpi,
    job: &str,
    today: chrono::NaiveDate,
) -> Result<String, RenderError> {
    let d = |mm: f64| (mm * dpi.dots_per_mm()).round() as i64;
    let mut z = String::with_capacity(1024);
    let pages = l.pages.len();
    for (p, items) in l.pages.iter().enumerate() {
        let _ = write!(
            z,
            "^XA\n^CI28\n^FX job {} template {}",
            text_data(job),
            template
        );
        if pages > 1 {
            let _ = write!(z, " page {}/{pages}", p + 1);
        }
        let _ = writeln!(z, "\n^PW{}\n^LL{}\n^LH0,0", d(l.width_mm), d(l.height_mm));
        for item in items {
            match item {
                Item::Text {
                    x_mm,
                    y_mm,
                    size_mm,
                    bold,
                    text,
                } => {
                    let h = d(*size_mm).max(1);
                    let w = if *bold { h + h / 8 } else { h };
                    let _ = writeln!(
                        z,
                        "^FO{},{}^A0N,{h},{w}^FH_^FD{}^FS",
                        d(*x_mm),
                        d(*y_mm),
                        text_data(text)
                    );
                }
                Item::Fill {
                    x_mm,
                    y_mm,
                    w_mm,
                    h_mm,
                } => {
                    let (w, h) = (d(*w_mm).max(1), d(*h_mm).max(1));
                    let _ = writeln!(z, "^FO{},{}^GB{w},{h},{}^FS", d(*x_mm), d(*y_mm), w.min(h));
                }
                Item::Barcode(b) => {
                    let bad = |message: String| RenderError::Barcode {
                        element: b.element,
                        message,
                    };
                    let module = d(b.module_mm).max(1);
                    let yn = if b.hri { "Y" } else { "N" };
                    let _ = write!(z, "^FO{},{}", d(b.x_mm), d(b.y_mm));
                    match b.symbology {
                        Symbology::Code128 | Symbology::Gs1_128 => {
                            let enc = code128::encode(&b.value, b.symbology == Symbology::Gs1_128)
                                .map_err(bad)?;
                            let _ = writeln!(
                                z,
                                "^BY{module}^BCN,{},{yn},N,N,N^FD{}^FS",
                                d(b.height_mm),
                                enc.field_data
                            );
                        }
                        Symbology::Gs1Datamatrix => {
                            let fd = datamatrix_data(&b.value, today).map_err(bad)?;
                            let _ = writeln!(z, "^BXN,{module},200,,,,_^FD{fd}^FS");
                        }
                        Symbology::Qr => {
                            let _ = writeln!(z, "^BQN,2,{}^FDMA,{}^FS", module.min(10), b.value);
                        }
                        Symbology::Ean13 => {
                            let _ = writeln!(
                                z,
                                "^BY{module}^BEN,{},{yn},N^FD{}^FS",
                                d(b.height_mm),
                                b.value
                            );
                        }
                    }
                }
            }
        }
        z.push_str("^PQ1\n^XZ\n");
    }
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn templates() -> Vec<Template> {
        Template::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("label-templates"))
            .expect("the shipped templates load")
    }

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn every_shipped_template_renders_its_sample() {
        let ts = templates();
        let names: Vec<&str> = ts.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "cut-sticker",
                "handover-list",
                "location",
                "packing-slip",
                "shipping"
            ]
        );
        for t in &ts {
            let z = render(t, &t.sample, Dpi::D203, "job-1", today()).unwrap();
            assert!(z.starts_with("^XA\n^CI28\n^FX job job-1"), "{z}");
            assert!(z.ends_with("^PQ1\n^XZ\n"), "{z}");
        }
    }

    #[test]
    fn the_shipping_label_has_the_sscc_and_postcode_as_gs1_128() {
        let ts = templates();
        let t = ts.iter().find(|t| t.name == "shipping").unwrap();
        let z = render(t, &t.sample, Dpi::D300, "j", today()).unwrap();
        let sscc = &t.sample.fields["sscc"];
        assert!(z.contains("^BCN,"), "{z}");
        assert!(z.contains(&format!("^FD>;>800{sscc}^FS")), "{z}");
        assert!(z.contains("^FD>;>84212088000^FS"), "{z}");
        assert!(z.contains("^PW1181"), "100 mm at 300 dpi: {z}");
        // Nothing about contents or health.
        for word in ["stomi", "Stomi", "pose", "plade", "Coloplast"] {
            assert!(!z.contains(word), "{word} on the shipping label: {z}");
        }
    }

    #[test]
    fn the_cut_sticker_carries_gtin_lot_expiry_and_job_as_gs1_datamatrix() {
        let ts = templates();
        let t = ts.iter().find(|t| t.name == "cut-sticker").unwrap();
        let z = render(t, &t.sample, Dpi::D203, "j", today()).unwrap();
        // The lot is variable-length, so FNC1 (`_1`) ends it before the job (AI 91).
        let want = format!(
            "^BXN,4,200,,,,_^FD_101{}17{}10{}_191{}^FS",
            t.sample.fields["gtin"],
            t.sample.fields["expiry_yymmdd"],
            t.sample.fields["lot"],
            t.sample.fields["job_id"]
        );
        assert!(z.contains(&want), "{z}");
        assert!(z.contains("Ø 32 mm"), "{z}");
    }

    #[test]
    fn bad_data_names_the_field() {
        let ts = templates();
        let t = ts.iter().find(|t| t.name == "location").unwrap();
        let mut data = t.sample.clone();
        data.fields.clear();
        let e = render(t, &data, Dpi::D203, "j", today()).unwrap_err();
        assert!(e.to_string().contains("location"), "{e}");
        let mut data = t.sample.clone();
        data.fields.insert("location".into(), "A^B".into());
        assert!(render(t, &data, Dpi::D203, "j", today()).is_err());
        assert_eq!(text_data("a^b~c_d"), "a_5Eb_7Ec_5Fd");
    }
}
