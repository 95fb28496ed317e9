//! The charts as PNG: the same SVG text the pages embed, rasterised by `resvg` (linebender's
//! pure-Rust SVG renderer: no system library, no fonts from the machine). Text is set in
//! DejaVu Sans from the `dejavu` crate, the labels' typeface, so æøå draw on any machine.
//! A chart has no colour of its own where it says `currentColor`; on a PNG that is black on a
//! white background.

use resvg::tiny_skia;
use resvg::usvg;
use std::sync::{Arc, OnceLock};

/// The largest PNG made, in pixels on each side (a chart is at most 960 wide; at scale 2 that
/// is 1920).
const MAX_SIDE: f32 = 4096.0;

/// Why a chart could not be drawn as PNG.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    #[error("the chart is not valid SVG: {0}")]
    Svg(String),
    #[error("the chart is too large to draw ({0} x {1} pixels)")]
    TooLarge(u32, u32),
    #[error("the PNG could not be encoded: {0}")]
    Encode(String),
}

/// The options every chart is read with: DejaVu Sans as the only and default family.
fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut fonts = usvg::fontdb::Database::new();
        fonts.load_font_data(dejavu::sans::regular().to_vec());
        fonts.load_font_data(dejavu::sans::bold().to_vec());
        fonts.set_sans_serif_family("DejaVu Sans");
        usvg::Options {
            font_family: "DejaVu Sans".into(),
            fontdb: Arc::new(fonts),
            ..usvg::Options::default()
        }
    })
}

/// Draws `svg` at `scale` (2: twice the SVG's own size, sharp on a report) on white.
pub fn to_png(svg: &str, scale: f32) -> Result<Vec<u8>, PngError> {
    let tree = usvg::Tree::from_str(svg, options()).map_err(|e| PngError::Svg(e.to_string()))?;
    let size = tree.size();
    let (w, h) = (size.width() * scale, size.height() * scale);
    if !(w >= 1.0 && h >= 1.0 && w <= MAX_SIDE && h <= MAX_SIDE) {
        return Err(PngError::TooLarge(w as u32, h as u32));
    }
    let mut pixmap = tiny_skia::Pixmap::new(w.ceil() as u32, h.ceil() as u32)
        .ok_or(PngError::TooLarge(w as u32, h as u32))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| PngError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(png: &[u8]) -> image::RgbaImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .expect("a PNG")
            .to_rgba8()
    }

    #[test]
    fn a_stacked_bar_draws_its_segments_in_their_colours() {
        let svg = crate::charts::stacked_bar(
            &[
                crate::charts::Segment {
                    label: "Modtaget".into(),
                    value: 1.0,
                    colour: "#ff0000",
                },
                crate::charts::Segment {
                    label: "Pakket".into(),
                    value: 1.0,
                    colour: "#0000ff",
                },
            ],
            200,
            20,
            "Ordrer pr. trin",
        );
        let img = decoded(&to_png(&svg, 2.0).unwrap());
        assert_eq!((img.width(), img.height()), (400, 40));
        // The left half red, the right half blue.
        assert_eq!(img.get_pixel(100, 20).0, [255, 0, 0, 255]);
        assert_eq!(img.get_pixel(300, 20).0, [0, 0, 255, 255]);
    }

    #[test]
    fn text_is_drawn_in_dejavu() {
        let with = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"30\">\
                    <text x=\"4\" y=\"20\" font-size=\"16\" fill=\"currentColor\">Æblerød</text></svg>";
        let without =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"30\"></svg>";
        let dark = |png: &[u8]| {
            decoded(png)
                .pixels()
                .filter(|p| p.0[0] < 128 && p.0[3] == 255)
                .count()
        };
        assert_eq!(dark(&to_png(without, 1.0).unwrap()), 0);
        assert!(dark(&to_png(with, 1.0).unwrap()) > 100);
    }

    #[test]
    fn hostile_or_huge_svg_is_refused() {
        assert!(matches!(to_png("<svg", 1.0), Err(PngError::Svg(_))));
        let huge =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000\" height=\"10\"></svg>";
        assert!(matches!(to_png(huge, 1.0), Err(PngError::TooLarge(..))));
    }
}
