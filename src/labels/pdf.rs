//! PDF from the layout (printpdf): for printers and people without ZPL, and for the archive.
//! DejaVu Sans is embedded (subset to the glyphs used), so æøå print everywhere; barcodes are
//! vector rectangles, exact at any resolution.

use super::font;
use super::layout::{Item, Layout, Symbol};
use super::RenderError;
use printpdf::{Color, Greyscale, IndirectFontRef, Mm, PdfDocument, Rect};

const PT_PER_MM: f64 = 72.0 / 25.4;

/// The whole layout, one PDF page per page.
pub fn render(l: &Layout, title: &str) -> Result<Vec<u8>, RenderError> {
    let err = |e: printpdf::Error| RenderError::Output(format!("PDF: {e}"));
    let (w, h) = (l.width_mm, l.height_mm);
    let (doc, first_page, first_layer) =
        PdfDocument::new(title, Mm(w as f32), Mm(h as f32), "label");
    let any_bold = l
        .pages
        .iter()
        .flatten()
        .any(|i| matches!(i, Item::Text { bold: true, .. }));
    let regular = doc
        .add_external_font_with_subsetting(font::face(false).bytes, true)
        .map_err(err)?;
    let bold = if any_bold {
        Some(
            doc.add_external_font_with_subsetting(font::face(true).bytes, true)
                .map_err(err)?,
        )
    } else {
        None
    };
    for (p, items) in l.pages.iter().enumerate() {
        let (page, layer) = if p == 0 {
            (first_page, first_layer)
        } else {
            doc.add_page(Mm(w as f32), Mm(h as f32), "label")
        };
        let layer = doc.get_page(page).get_layer(layer);
        layer.set_fill_color(Color::Greyscale(Greyscale::new(0.0, None)));
        // PDF measures from the bottom left; the layout from the top left.
        let rect = |x: f64, y: f64, rw: f64, rh: f64| {
            Rect::new(
                Mm(x as f32),
                Mm((h - y - rh) as f32),
                Mm((x + rw) as f32),
                Mm((h - y) as f32),
            )
        };
        let text = |x: f64, y: f64, size: f64, is_bold: bool, s: &str| {
            let f: &IndirectFontRef = match (&bold, is_bold) {
                (Some(b), true) => b,
                _ => &regular,
            };
            let ascent = font::face(is_bold).ascent * size;
            layer.use_text(
                s,
                (size * PT_PER_MM) as f32,
                Mm(x as f32),
                Mm((h - y - ascent) as f32),
                f,
            );
        };
        for item in items {
            match item {
                Item::Text {
                    x_mm,
                    y_mm,
                    size_mm,
                    bold,
                    text: s,
                } => text(*x_mm, *y_mm, *size_mm, *bold, s),
                Item::Fill {
                    x_mm,
                    y_mm,
                    w_mm,
                    h_mm,
                } => layer.add_rect(rect(*x_mm, *y_mm, *w_mm, *h_mm)),
                Item::Barcode(b) => {
                    let m = b.module_mm;
                    match &b.symbol {
                        Symbol::Linear(bars) => {
                            for (start, len) in runs(bars) {
                                layer.add_rect(rect(
                                    b.x_mm + start as f64 * m,
                                    b.y_mm,
                                    len as f64 * m,
                                    b.height_mm,
                                ));
                            }
                            if let Some((x, y, size, s)) = b.hri_line() {
                                text(x, y, size, false, &s);
                            }
                        }
                        Symbol::Matrix { width, dark, .. } => {
                            // Rows overlap by a hair: anti-aliasing viewers and
                            // rasterisers would otherwise show seams between them.
                            for (row, cells) in dark.chunks(*width).enumerate() {
                                for (start, len) in runs(cells) {
                                    layer.add_rect(rect(
                                        b.x_mm + start as f64 * m,
                                        b.y_mm + row as f64 * m,
                                        len as f64 * m,
                                        m + 0.02,
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    doc.save_to_bytes().map_err(err)
}

/// Runs of dark modules: (start, length).
fn runs(dark: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < dark.len() {
        if dark[i] {
            let start = i;
            while i < dark.len() && dark[i] {
                i += 1;
            }
            out.push((start, i - start));
        } else {
            i += 1;
        }
    }
    out
}
