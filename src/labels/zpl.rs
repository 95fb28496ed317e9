//! ZPL II for Zebra thermal printers (203 or 300 dpi) from a checked template and its data.
//! Every format starts with `^CI28` (field data is UTF-8, so æøå print with font 0), carries the
//! job id in a `^FX` comment and ends with an explicit `^PQ1`. Barcodes: Code 128 and GS1-128 in
//! `^BC` mode N with explicit subset codes and FNC1 (`code128`), GS1 DataMatrix in `^BX` with
//! the escape character `_` set and `_1` for FNC1, QR in `^BQ`, EAN-13 in `^BE`.

use super::code128;
use super::template::{bind, DataError, Element, Fit, Symbology, Template};
use std::collections::BTreeMap;
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
    fn dots_per_mm(self) -> f64 {
        match self {
            Dpi::D203 => 203.0 / 25.4,
            Dpi::D300 => 300.0 / 25.4,
        }
    }
}

/// A printing problem with the data (the template itself was checked when loaded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("element {element}: {message}")]
    Barcode { element: usize, message: String },
}

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

/// Renders a label as one ZPL format. `job` is written into a `^FX` comment.
pub fn render(
    t: &Template,
    data: &BTreeMap<String, String>,
    dpi: Dpi,
    job: &str,
    today: chrono::NaiveDate,
) -> Result<String, RenderError> {
    t.check_data(data)?;
    let d = |mm: f64| (mm * dpi.dots_per_mm()).round() as i64;
    let mut z = String::new();
    let _ = writeln!(
        z,
        "^XA\n^CI28\n^FX job {} template {}",
        text_data(job),
        t.name
    );
    let _ = writeln!(z, "^PW{}\n^LL{}\n^LH0,0", d(t.width_mm), d(t.height_mm));
    for (i, e) in t.elements.iter().enumerate() {
        match e {
            Element::Text {
                x_mm,
                y_mm,
                font_mm,
                bold,
                max_width_mm,
                fit,
                max_lines,
                text,
            } => {
                let value = bind(text, data)?;
                // Font 0 is about 0.55 of its height wide per character.
                let chars = value.chars().count().max(1) as f64;
                let mut h = *font_mm;
                if *fit == Fit::Shrink {
                    let fits = max_width_mm / (0.55 * chars);
                    h = h.min(fits).max(font_mm * 0.4);
                }
                let lines = if *fit == Fit::Wrap { *max_lines } else { 1 };
                let w = if *bold { d(h) + d(h) / 8 } else { d(h) };
                let _ = writeln!(
                    z,
                    "^FO{},{}^A0N,{},{}^FB{},{},0,L,0^FH_^FD{}^FS",
                    d(*x_mm),
                    d(*y_mm),
                    d(h),
                    w,
                    d(*max_width_mm),
                    lines,
                    text_data(&value)
                );
            }
            Element::Box {
                x_mm,
                y_mm,
                width_mm,
                height_mm,
                line_mm,
            } => {
                let _ = writeln!(
                    z,
                    "^FO{},{}^GB{},{},{}^FS",
                    d(*x_mm),
                    d(*y_mm),
                    d(*width_mm).max(1),
                    d(*height_mm).max(1),
                    d(*line_mm).max(1)
                );
            }
            Element::Barcode {
                symbology,
                x_mm,
                y_mm,
                height_mm,
                module_mm,
                hri,
                data: template_data,
            } => {
                let value = bind(template_data, data)?;
                let bad = |message: String| RenderError::Barcode {
                    element: i + 1,
                    message,
                };
                super::template::check_barcode(*symbology, &value, today).map_err(bad)?;
                let module = d(*module_mm).max(1);
                let yn = if *hri { "Y" } else { "N" };
                let _ = write!(z, "^FO{},{}", d(*x_mm), d(*y_mm));
                match symbology {
                    Symbology::Code128 | Symbology::Gs1_128 => {
                        let enc = code128::encode(&value, *symbology == Symbology::Gs1_128)
                            .map_err(bad)?;
                        let _ = writeln!(
                            z,
                            "^BY{module}^BCN,{},{yn},N,N,N^FD{}^FS",
                            d(*height_mm),
                            enc.field_data
                        );
                    }
                    Symbology::Gs1Datamatrix => {
                        let fd = datamatrix_data(&value, today).map_err(bad)?;
                        let _ = writeln!(z, "^BXN,{module},200,,,,_^FD{fd}^FS");
                    }
                    Symbology::Qr => {
                        let _ = writeln!(z, "^BQN,2,{}^FDMA,{}^FS", module.min(10), value);
                    }
                    Symbology::Ean13 => {
                        let _ =
                            writeln!(z, "^BY{module}^BEN,{},{yn},N^FD{value}^FS", d(*height_mm));
                    }
                }
            }
        }
    }
    z.push_str("^PQ1\n^XZ\n");
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
        assert_eq!(names, vec!["cut-sticker", "location", "shipping"]);
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
        let sscc = &t.sample["sscc"];
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
    fn the_cut_sticker_carries_gtin_lot_and_expiry_as_gs1_datamatrix() {
        let ts = templates();
        let t = ts.iter().find(|t| t.name == "cut-sticker").unwrap();
        let z = render(t, &t.sample, Dpi::D203, "j", today()).unwrap();
        let want = format!(
            "^BXN,4,200,,,,_^FD_101{}17{}10{}^FS",
            t.sample["gtin"], t.sample["expiry_yymmdd"], t.sample["lot"]
        );
        assert!(z.contains(&want), "{z}");
        assert!(z.contains("Ø 32 mm"), "{z}");
    }

    #[test]
    fn bad_data_names_the_field() {
        let ts = templates();
        let t = ts.iter().find(|t| t.name == "location").unwrap();
        let mut data = t.sample.clone();
        data.clear();
        let e = render(t, &data, Dpi::D203, "j", today()).unwrap_err();
        assert!(e.to_string().contains("location"), "{e}");
        let mut data = t.sample.clone();
        data.insert("location".into(), "A^B".into());
        assert!(render(t, &data, Dpi::D203, "j", today()).is_err());
        assert_eq!(text_data("a^b~c_d"), "a_5Eb_7Ec_5Fd");
    }
}
