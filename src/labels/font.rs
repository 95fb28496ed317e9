//! The one typeface of the PDF and PNG renderers: DejaVu Sans (regular and bold) from the
//! `dejavu` crate, embedded in the binary, so æøå and every Latin letter print on any machine.
//! At first use each font is cut down (allsorts) to the characters labels print: Basic Latin,
//! Latin-1, Latin Extended-A and common punctuation. The small font is what the PDF embeds (and
//! subsets again per document: fast, because it is small) and what measures and draws text, so
//! a character outside the set is refused before printing instead of printing as an empty box.

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

/// The characters labels print.
fn charset() -> impl Iterator<Item = char> {
    (0x20u32..=0x7e)
        .chain(0xa0..=0x17f)
        .filter_map(char::from_u32)
        .chain("‐–—‘’‚“”„•…€™·−×÷≤≥⌀".chars())
}

/// DejaVu cut down to `charset()`; the full font when cutting fails (it does not for the
/// crate's fonts; a test checks it).
fn cut_down(full: &'static [u8]) -> &'static [u8] {
    fn subset(full: &[u8]) -> Option<Vec<u8>> {
        use allsorts::binary::read::ReadScope;
        use allsorts::font_data::FontData;
        use allsorts::tables::cmap::Cmap;
        use allsorts::tables::FontTableProvider;
        let file = ReadScope::new(full).read::<FontData<'_>>().ok()?;
        let provider = file.table_provider(0).ok()?;
        let cmap_data = provider.read_table_data(allsorts::tag::CMAP).ok()?;
        let cmap = ReadScope::new(&cmap_data).read::<Cmap<'_>>().ok()?;
        let (_, table) = allsorts::font::read_cmap_subtable(&cmap).ok()??;
        let mut glyphs: Vec<u16> = vec![0];
        for c in charset() {
            if let Ok(Some(g)) = table.map_glyph(c as u32) {
                glyphs.push(g);
            }
        }
        glyphs.sort_unstable();
        glyphs.dedup();
        allsorts::subset::subset(&provider, &glyphs).ok()
    }
    match subset(full) {
        Some(small) => Box::leak(small.into_boxed_slice()),
        None => {
            tracing::warn!("could not cut the label font down; using the whole font");
            full
        }
    }
}

fn load(full: &'static [u8]) -> Face {
    let bytes = cut_down(full);
    // The bytes are the crate's own TrueType files (or a subset of them): they parse.
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
        // The cut-down font: small, and still every Danish, German and Polish letter.
        assert!(f.bytes.len() < 200_000, "{} bytes", f.bytes.len());
        assert_eq!(f.missing_glyph("ÆØÅæøå ÄÖÜß ŁłŚść €·–"), None);
        assert_eq!(f.missing_glyph("Ж"), Some('Ж'));
        let w = f.width("Søndergade", 10.0);
        assert!(w > 40.0 && w < 80.0, "{w}");
        assert!(face(true).width("Søndergade", 10.0) > w);
        assert!(f.ascent > 0.7 && f.ascent < 1.0, "{}", f.ascent);
    }
}
