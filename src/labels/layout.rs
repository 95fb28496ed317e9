//! The one layout model every renderer draws from. A checked template and its data become
//! pages of placed items in millimetres: single lines of text at a decided size (shrunk or
//! wrapped to fit, measured with the font the PDF and PNG use), filled rectangles (boxes and
//! rules), and barcodes with their symbol already encoded by a barcode crate (barcoders for
//! Code 128, GS1-128 and EAN-13, datamatrix for GS1 DataMatrix, qrcode for QR). ZPL prints the
//! same texts at the same places and lets the printer draw the barcodes from the same data.
//! A table (the packing slip's lines) flows over as many pages as it needs.

use super::code128;
use super::font;
use super::template::{
    bind_with, check_barcode, placeholders, Element, Fit, LabelData, Symbology, Template,
};
use super::RenderError;
use std::collections::BTreeMap;

pub use super::template::LINE;
/// The smallest a text may be shrunk to, as a share of its template size.
const MIN_SHRINK: f64 = 0.4;

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// One line of text; `y_mm` is the top of its line box.
    Text {
        x_mm: f64,
        y_mm: f64,
        size_mm: f64,
        bold: bool,
        text: String,
    },
    /// A filled black rectangle: box sides, rules.
    Fill {
        x_mm: f64,
        y_mm: f64,
        w_mm: f64,
        h_mm: f64,
    },
    Barcode(Barcode),
}

/// An encoded symbol: bars (1D, dark modules left to right) or a matrix (2D, row by row).
#[derive(Debug, Clone, PartialEq)]
pub enum Symbol {
    Linear(Vec<bool>),
    Matrix {
        width: usize,
        height: usize,
        dark: Vec<bool>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Barcode {
    /// The template element it comes from (1-based).
    pub element: usize,
    pub symbology: Symbology,
    pub x_mm: f64,
    pub y_mm: f64,
    /// Bar height of a 1D symbol.
    pub height_mm: f64,
    pub module_mm: f64,
    pub hri: bool,
    /// The bound data (GS1 in bracket form).
    pub value: String,
    pub symbol: Symbol,
}

impl Barcode {
    /// The human-readable line under a 1D barcode: position, size and text.
    pub fn hri_line(&self) -> Option<(f64, f64, f64, String)> {
        let Symbol::Linear(bars) = &self.symbol else {
            return None;
        };
        if !self.hri {
            return None;
        }
        let text = match self.symbology {
            Symbology::Ean13 => format!("{}{}", self.value, ean13_check(&self.value)),
            _ => self.value.clone(),
        };
        let size = (self.module_mm * 7.0).clamp(2.0, 3.5);
        let width = bars.len() as f64 * self.module_mm;
        let text_w = font::face(false).width(&text, size);
        let x = self.x_mm + ((width - text_w) / 2.0).max(0.0);
        Some((x, self.y_mm + self.height_mm + 0.5, size, text))
    }

    /// Width and height in millimetres (1D: bars without quiet zones).
    pub fn size_mm(&self) -> (f64, f64) {
        match &self.symbol {
            Symbol::Linear(bars) => (bars.len() as f64 * self.module_mm, self.height_mm),
            Symbol::Matrix { width, height, .. } => (
                *width as f64 * self.module_mm,
                *height as f64 * self.module_mm,
            ),
        }
    }
}

fn ean13_check(digits12: &str) -> u32 {
    let sum: u32 = digits12
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 1 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10
}

/// Encodes a barcode's data with the barcode crates.
pub fn encode(symbology: Symbology, value: &str) -> Result<Symbol, String> {
    let bits = |v: Vec<u8>| Symbol::Linear(v.into_iter().map(|b| b == 1).collect());
    match symbology {
        Symbology::Code128 | Symbology::Gs1_128 => {
            let enc = code128::encode(value, symbology == Symbology::Gs1_128)?;
            let code = barcoders::sym::code128::Code128::new(&enc.barcoders)
                .map_err(|e| format!("Code 128: {e}"))?;
            Ok(bits(code.encode()))
        }
        Symbology::Ean13 => {
            let code =
                barcoders::sym::ean13::EAN13::new(value).map_err(|e| format!("EAN-13: {e}"))?;
            Ok(bits(code.encode()))
        }
        Symbology::Gs1Datamatrix => {
            let raw = code128::gs1_raw(value)?;
            let dm = datamatrix::DataMatrix::encode_gs1(
                raw.as_bytes(),
                datamatrix::SymbolList::default(),
            )
            .map_err(|e| format!("GS1 DataMatrix: {e:?}"))?;
            let bitmap = dm.bitmap();
            let (width, height) = (bitmap.width(), bitmap.height());
            let mut dark = vec![false; width * height];
            for (x, y) in bitmap.pixels() {
                dark[y * width + x] = true;
            }
            Ok(Symbol::Matrix {
                width,
                height,
                dark,
            })
        }
        Symbology::Qr => {
            let qr = qrcode::QrCode::new(value.as_bytes()).map_err(|e| format!("QR: {e}"))?;
            let width = qr.width();
            let dark = qr
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect();
            Ok(Symbol::Matrix {
                width,
                height: width,
                dark,
            })
        }
    }
}

/// A laid-out document: one page for a label, more for a long packing slip.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width_mm: f64,
    pub height_mm: f64,
    pub pages: Vec<Vec<Item>>,
}

/// Breaks text into lines no wider than `max` at `size`; a word wider than a line is broken.
fn wrap(face: &font::Face, text: &str, size: f64, max: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if face.width(&candidate, size) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone: broken by characters when it is wider than the line.
        for c in word.chars() {
            line.push(c);
            if face.width(&line, size) > max && line.chars().count() > 1 {
                line.pop();
                lines.push(std::mem::take(&mut line));
                line.push(c);
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Decides the size and lines of a text: shrunk onto one line, or wrapped onto up to
/// `max_lines` (shrinking in 10 % steps when it needs more), never below 40 % of its size.
fn fit_text(
    face: &font::Face,
    text: &str,
    font_mm: f64,
    max_width: f64,
    fit: Fit,
    max_lines: u32,
) -> Result<(f64, Vec<String>), String> {
    if let Some(c) = face.missing_glyph(text) {
        return Err(format!("the character {c:?} cannot be printed"));
    }
    let too_long = || {
        format!(
            "{} characters do not fit in {max_width} mm{} even at {:.0} % size",
            text.chars().count(),
            if max_lines > 1 {
                format!(" on {max_lines} lines")
            } else {
                String::new()
            },
            MIN_SHRINK * 100.0
        )
    };
    match fit {
        Fit::Shrink => {
            let w = face.width(text, font_mm);
            if w <= max_width {
                return Ok((font_mm, vec![text.to_string()]));
            }
            let size = font_mm * max_width / w * 0.999;
            if size < font_mm * MIN_SHRINK {
                return Err(too_long());
            }
            Ok((size, vec![text.to_string()]))
        }
        Fit::Wrap => {
            let mut size = font_mm;
            while size >= font_mm * MIN_SHRINK - 1e-9 {
                let lines = wrap(face, text, size, max_width);
                if lines.len() <= max_lines as usize {
                    return Ok((size, lines));
                }
                size *= 0.9;
            }
            Err(too_long())
        }
    }
}

fn text_error(element: usize, text: &str, message: String) -> RenderError {
    let fields = placeholders(text).join(", ");
    RenderError::Text {
        element,
        message: if fields.is_empty() {
            message
        } else {
            format!("{fields}: {message}")
        },
    }
}

/// Lays out a table's rows: items per page.
#[allow(clippy::too_many_arguments)]
fn table_pages(
    element: usize,
    x: f64,
    y: f64,
    font_mm: f64,
    bottom: f64,
    continue_y: f64,
    columns: &[super::template::Column],
    rows: &[BTreeMap<String, String>],
    fields: &BTreeMap<String, String>,
) -> Result<Vec<Vec<Item>>, RenderError> {
    let regular = font::face(false);
    let pad = font_mm * 0.3;
    let line = font_mm * LINE;
    let width: f64 = columns.iter().map(|c| c.width_mm).sum();
    let header = |items: &mut Vec<Item>, y: f64| -> f64 {
        let mut cx = x;
        for c in columns {
            items.push(Item::Text {
                x_mm: cx + pad,
                y_mm: y + pad,
                size_mm: font_mm,
                bold: true,
                text: c.title.clone(),
            });
            cx += c.width_mm;
        }
        let h = line + 2.0 * pad;
        items.push(Item::Fill {
            x_mm: x,
            y_mm: y + h,
            w_mm: width,
            h_mm: 0.3,
        });
        y + h + 0.3
    };
    let mut pages = vec![Vec::new()];
    let mut cursor = header(&mut pages[0], y);
    for (r, row) in rows.iter().enumerate() {
        let mut cells = Vec::with_capacity(columns.len());
        for c in columns {
            let text = bind_with(&c.text, |n| {
                row.get(n).or_else(|| fields.get(n)).map(String::as_str)
            })
            .map_err(|e| RenderError::Data(e.in_row(r + 1)))?;
            if let Some(ch) = regular.missing_glyph(&text) {
                return Err(text_error(
                    element,
                    &c.text,
                    format!("row {}: the character {ch:?} cannot be printed", r + 1),
                ));
            }
            let lines = wrap(regular, &text, font_mm, c.width_mm - 2.0 * pad);
            if lines.len() > 3 {
                return Err(text_error(
                    element,
                    &c.text,
                    format!("row {}: does not fit in its column on 3 lines", r + 1),
                ));
            }
            cells.push(lines);
        }
        let n = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let h = n as f64 * line + 2.0 * pad;
        if cursor + h > bottom {
            pages.push(Vec::new());
            let last = pages.len() - 1;
            cursor = header(&mut pages[last], continue_y);
        }
        let items = pages.last_mut().expect("at least one page");
        let mut cx = x;
        for (c, lines) in columns.iter().zip(cells) {
            for (i, l) in lines.into_iter().enumerate() {
                items.push(Item::Text {
                    x_mm: cx + pad,
                    y_mm: cursor + pad + i as f64 * line,
                    size_mm: font_mm,
                    bold: false,
                    text: l,
                });
            }
            cx += c.width_mm;
        }
        items.push(Item::Fill {
            x_mm: x,
            y_mm: cursor + h,
            w_mm: width,
            h_mm: 0.15,
        });
        cursor += h + 0.15;
    }
    Ok(pages)
}

/// Lays out a template with its data. Checks the data against the template, every text
/// against its room and every barcode against what it can carry and where it must fit.
pub fn layout(
    t: &Template,
    data: &LabelData,
    today: chrono::NaiveDate,
) -> Result<Layout, RenderError> {
    t.check_data(data)?;
    // Tables first: they decide the number of pages.
    let mut table = None;
    for (i, e) in t.elements.iter().enumerate() {
        if let Element::Table {
            x_mm,
            y_mm,
            font_mm,
            rows,
            bottom_mm,
            continue_y_mm,
            columns,
        } = e
        {
            let empty = Vec::new();
            let rows = data.tables.get(rows).unwrap_or(&empty);
            table = Some(table_pages(
                i + 1,
                *x_mm,
                *y_mm,
                *font_mm,
                *bottom_mm,
                *continue_y_mm,
                columns,
                rows,
                &data.fields,
            )?);
            break;
        }
    }
    let page_count = table.as_ref().map_or(1, Vec::len);
    let mut table = table.map(|pages| pages.into_iter());
    let mut pages = Vec::with_capacity(page_count);
    let pages_text = page_count.to_string();
    for p in 0..page_count {
        let page_text = (p + 1).to_string();
        let lookup = |n: &str| match n {
            "page" => Some(page_text.as_str()),
            "pages" => Some(pages_text.as_str()),
            _ => data.fields.get(n).map(String::as_str),
        };
        let mut items = Vec::new();
        for (i, e) in t.elements.iter().enumerate() {
            match e {
                Element::Table { .. } => {
                    if let Some(page) = table.as_mut().and_then(Iterator::next) {
                        items.extend(page);
                    }
                }
                Element::Text {
                    x_mm,
                    y_mm,
                    font_mm,
                    bold,
                    max_width_mm,
                    fit,
                    max_lines,
                    text,
                    every_page,
                } => {
                    if p > 0 && !every_page {
                        continue;
                    }
                    let value = bind_with(text, lookup)?;
                    let face = font::face(*bold);
                    let (size, lines) =
                        fit_text(face, &value, *font_mm, *max_width_mm, *fit, *max_lines)
                            .map_err(|m| text_error(i + 1, text, m))?;
                    for (n, line) in lines.into_iter().enumerate() {
                        items.push(Item::Text {
                            x_mm: *x_mm,
                            y_mm: y_mm + n as f64 * size * LINE,
                            size_mm: size,
                            bold: *bold,
                            text: line,
                        });
                    }
                }
                Element::Box {
                    x_mm,
                    y_mm,
                    width_mm,
                    height_mm,
                    line_mm,
                    every_page,
                } => {
                    if p > 0 && !every_page {
                        continue;
                    }
                    let (x, y, w, h, l) = (*x_mm, *y_mm, *width_mm, *height_mm, *line_mm);
                    if h <= l || w <= l {
                        items.push(Item::Fill {
                            x_mm: x,
                            y_mm: y,
                            w_mm: w,
                            h_mm: h.max(l),
                        });
                    } else {
                        for (fx, fy, fw, fh) in [
                            (x, y, w, l),
                            (x, y + h - l, w, l),
                            (x, y, l, h),
                            (x + w - l, y, l, h),
                        ] {
                            items.push(Item::Fill {
                                x_mm: fx,
                                y_mm: fy,
                                w_mm: fw,
                                h_mm: fh,
                            });
                        }
                    }
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
                    if p > 0 {
                        continue;
                    }
                    let bad = |message: String| RenderError::Barcode {
                        element: i + 1,
                        message: match placeholders(template_data).join(", ") {
                            f if f.is_empty() => message.clone(),
                            f => format!("{f}: {message}"),
                        },
                    };
                    let value = bind_with(template_data, lookup)?;
                    check_barcode(*symbology, &value, today).map_err(bad)?;
                    let symbol = encode(*symbology, &value).map_err(bad)?;
                    let b = Barcode {
                        element: i + 1,
                        symbology: *symbology,
                        x_mm: *x_mm,
                        y_mm: *y_mm,
                        height_mm: *height_mm,
                        module_mm: *module_mm,
                        hri: *hri,
                        value,
                        symbol,
                    };
                    let (w, h) = b.size_mm();
                    // 1D symbols need their quiet zone (10 modules) on the right too.
                    let quiet = if matches!(b.symbol, Symbol::Linear(_)) {
                        10.0 * module_mm
                    } else {
                        0.0
                    };
                    if x_mm + w + quiet > t.width_mm + 0.01 || y_mm + h > t.height_mm + 0.01 {
                        return Err(bad(format!(
                            "the symbol is {w:.1} x {h:.1} mm and runs off the {} x {} mm label",
                            t.width_mm, t.height_mm
                        )));
                    }
                    items.push(Item::Barcode(b));
                }
            }
        }
        pages.push(items);
    }
    Ok(Layout {
        width_mm: t.width_mm,
        height_mm: t.height_mm,
        pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_and_wrap_keep_text_inside_and_refuse_what_cannot_fit() {
        let f = font::face(false);
        let (size, lines) = fit_text(f, "Åse Ørnbøl", 6.0, 92.0, Fit::Shrink, 1).unwrap();
        assert_eq!((size, lines.len()), (6.0, 1));
        let long = "Kirsten Marie Louise Frederikke Østergaard-Bønnelycke";
        let (size, lines) = fit_text(f, long, 6.0, 92.0, Fit::Shrink, 1).unwrap();
        assert!(size < 6.0 && f.width(&lines[0], size) <= 92.0, "{size}");
        let (size, lines) = fit_text(f, long, 6.0, 40.0, Fit::Wrap, 3).unwrap();
        assert!(lines.len() <= 3 && lines.iter().all(|l| f.width(l, size) <= 40.0));
        let e = fit_text(f, &long.repeat(4), 6.0, 40.0, Fit::Shrink, 1).unwrap_err();
        assert!(e.contains("do not fit in 40 mm"), "{e}");
        assert!(fit_text(f, "漢字", 6.0, 40.0, Fit::Shrink, 1)
            .unwrap_err()
            .contains("cannot be printed"));
    }

    #[test]
    fn the_barcode_crates_encode_what_the_zpl_asks_for() {
        // GS1-128 SSCC: start C, FNC1, 9 digit pairs, check, stop.
        let Symbol::Linear(bars) = encode(Symbology::Gs1_128, "(00)057089320000000017").unwrap()
        else {
            panic!("1D")
        };
        assert_eq!(bars.len(), 11 * (1 + 1 + 10 + 1) + 13);
        let Symbol::Linear(bars) = encode(Symbology::Ean13, "570893200001").unwrap() else {
            panic!("1D")
        };
        assert_eq!(bars.len(), 95);
        assert_eq!(ean13_check("570893200001"), 7);
        let Symbol::Matrix { width, height, .. } = encode(
            Symbology::Gs1Datamatrix,
            "(01)05708932000017(17)271231(10)CO88721",
        )
        .unwrap() else {
            panic!("2D")
        };
        assert_eq!(width, height);
        assert!(encode(Symbology::Qr, "https://konsign.example/l/1").is_ok());
    }
}
