//! The one typeface of the PDF and PNG renderers: DejaVu Sans (regular and bold) from the
//! `dejavu` crate, embedded in the binary, so æøå and every Latin letter print on any machine.
//! Text is measured with the same font it is drawn with, so what fits on the label fits.

use ab_glyph::{Font as _, FontRef, ScaleFont as _};
use std::sync::OnceLock;

/// A typeface and its measures.
pub struct Face {
    pub font: FontRef<'static>,
    pub bytes: &'static [u8],
    /// Ascent as a share of the font size (baseline below the top of the line).
    pub ascent: f64,
    /// ab_glyph scales by the font's height (ascent - descent), not its em: this converts.
    pub em_to_scale: f32,
}

fn load(bytes: &'static [u8]) -> Face {
    // The bytes are the crate's own TrueType files: parsing them cannot fail at run time.
    let font = FontRef::try_from_slice(bytes).expect("DejaVu Sans from the dejavu crate parses");
    let units = f64::from(font.units_per_em().unwrap_or(2048.0));
    let ascent = f64::from(font.ascent_unscaled()) / units;
    let em_to_scale = font.height_unscaled() / units as f32;
    Face {
        font,
        bytes,
        ascent,
        em_to_scale,
    }
}

/// DejaVu Sans, or DejaVu Sans Bold.
pub fn face(bold: bool) -> &'static Face {
    static REGULAR: OnceLock<Face> = OnceLock::new();
    static BOLD: OnceLock<Face> = OnceLock::new();
    if bold {
        BOLD.get_or_init(|| load(dejavu::sans::bold()))
    } else {
        REGULAR.get_or_init(|| load(dejavu::sans::regular()))
    }
}

impl Face {
    /// The advance width of `text` at a font size of `size` (any unit; the result is in it).
    pub fn width(&self, text: &str, size: f64) -> f64 {
        let scaled = self.font.as_scaled(1000.0 * self.em_to_scale);
        let mut w = 0.0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = self.font.glyph_id(c);
            if let Some(p) = prev {
                w += scaled.kern(p, id);
            }
            w += scaled.h_advance(id);
            prev = Some(id);
        }
        f64::from(w) / 1000.0 * size
    }

    /// The first character without a glyph (it would print as an empty box), if any.
    pub fn missing_glyph(&self, text: &str) -> Option<char> {
        text.chars()
            .find(|c| !c.is_whitespace() && self.font.glyph_id(*c).0 == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn danish_letters_have_glyphs_and_widths() {
        let f = face(false);
        assert_eq!(f.missing_glyph("Åse Ørnbøl, Ærøskøbing, Ø 32 mm"), None);
        assert_eq!(f.missing_glyph("漢"), Some('漢'));
        let w = f.width("Søndergade", 10.0);
        assert!(w > 40.0 && w < 80.0, "{w}");
        assert!(face(true).width("Søndergade", 10.0) > w);
        assert!(f.ascent > 0.7 && f.ascent < 1.0, "{}", f.ascent);
    }
}
