//! PNG from the layout (image): previews in the web pages, and the picture the decode tests
//! read. Barcodes are drawn on whole pixels (each module the same number of dots, as a
//! thermal printer does), text with the embedded DejaVu Sans (ab_glyph).

use super::font;
use super::layout::{Item, Layout, Symbol};
use super::RenderError;
use ab_glyph::{Font as _, ScaleFont as _};
use image::{GrayImage, ImageEncoder, Luma};

/// The page drawn at `dpi` dots per inch, black on white.
pub fn rasterize(l: &Layout, page: usize, dpi: u32) -> GrayImage {
    let dpmm = f64::from(dpi) / 25.4;
    let px = |mm: f64| (mm * dpmm).round() as i64;
    let (w, h) = (px(l.width_mm).max(1) as u32, px(l.height_mm).max(1) as u32);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    let fill = |img: &mut GrayImage, x0: i64, y0: i64, x1: i64, y1: i64| {
        let (x0, x1) = (x0.clamp(0, i64::from(w)), x1.clamp(0, i64::from(w)));
        let (y0, y1) = (y0.clamp(0, i64::from(h)), y1.clamp(0, i64::from(h)));
        for y in y0..y1 {
            for x in x0..x1 {
                img.put_pixel(x as u32, y as u32, Luma([0]));
            }
        }
    };
    let Some(items) = l.pages.get(page) else {
        return img;
    };
    for item in items {
        match item {
            Item::Text {
                x_mm,
                y_mm,
                size_mm,
                bold,
                text,
            } => draw_text(&mut img, *x_mm, *y_mm, *size_mm, *bold, text, dpmm),
            Item::Fill {
                x_mm,
                y_mm,
                w_mm,
                h_mm,
            } => {
                let (x0, y0) = (px(*x_mm), px(*y_mm));
                let x1 = px(x_mm + w_mm).max(x0 + 1);
                let y1 = px(y_mm + h_mm).max(y0 + 1);
                fill(&mut img, x0, y0, x1, y1);
            }
            Item::Barcode(b) => {
                let m = px(b.module_mm).max(1);
                let (x0, y0) = (px(b.x_mm), px(b.y_mm));
                match &b.symbol {
                    Symbol::Linear(bars) => {
                        let bar_h = px(b.height_mm).max(1);
                        let mut i = 0;
                        while i < bars.len() {
                            if !bars[i] {
                                i += 1;
                                continue;
                            }
                            let start = i;
                            while i < bars.len() && bars[i] {
                                i += 1;
                            }
                            let (a, z) = (start as i64, i as i64);
                            fill(&mut img, x0 + a * m, y0, x0 + z * m, y0 + bar_h);
                        }
                        if let Some((x, y, size, text)) = b.hri_line() {
                            draw_text(&mut img, x, y, size, false, &text, dpmm);
                        }
                    }
                    Symbol::Matrix { width, dark, .. } => {
                        for (k, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
                            let (cx, cy) = ((k % width) as i64, (k / width) as i64);
                            fill(
                                &mut img,
                                x0 + cx * m,
                                y0 + cy * m,
                                x0 + (cx + 1) * m,
                                y0 + (cy + 1) * m,
                            );
                        }
                    }
                }
            }
        }
    }
    img
}

fn draw_text(
    img: &mut GrayImage,
    x_mm: f64,
    y_mm: f64,
    size_mm: f64,
    bold: bool,
    text: &str,
    dpmm: f64,
) {
    let face = font::face(bold);
    let size_px = (size_mm * dpmm) as f32;
    let scale = ab_glyph::PxScale::from(size_px * face.em_to_scale);
    let scaled = face.font.as_scaled(scale);
    let baseline = (y_mm * dpmm + face.ascent * f64::from(size_px)) as f32;
    let mut caret = (x_mm * dpmm) as f32;
    let mut prev = None;
    let (w, h) = (img.width() as i32, img.height() as i32);
    for c in text.chars() {
        let id = face.font.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(caret, baseline));
        caret += scaled.h_advance(id);
        prev = Some(id);
        let Some(outline) = face.font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let x = bounds.min.x as i32 + gx as i32;
            let y = bounds.min.y as i32 + gy as i32;
            if x >= 0 && y >= 0 && x < w && y < h {
                let ink = (255.0 - coverage.clamp(0.0, 1.0) * 255.0) as u8;
                let p = img.get_pixel_mut(x as u32, y as u32);
                p.0[0] = p.0[0].min(ink);
            }
        });
    }
}

/// The page as PNG bytes.
pub fn render(l: &Layout, page: usize, dpi: u32) -> Result<Vec<u8>, RenderError> {
    let img = rasterize(l, page, dpi);
    let mut out = Vec::with_capacity(64 * 1024);
    image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Sub,
    )
    .write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::L8,
    )
    .map_err(|e| RenderError::Output(format!("PNG: {e}")))?;
    Ok(out)
}
