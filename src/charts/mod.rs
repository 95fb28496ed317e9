//! Charts drawn as SVG on the server, without I/O: data in, an SVG string out. The pages embed
//! them (no JavaScript library, no network), and the same text is a download. A small renderer
//! of our own: the charts are few and plain, and it keeps the markup (and so the page's
//! Content-Security-Policy) entirely ours.

/// One segment of a stacked bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub label: String,
    pub value: f64,
    /// A CSS colour (`#1f6fb2`).
    pub colour: &'static str,
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar `width` x `height` split into the segments in proportion to their values,
/// each with a `<title>` (its label and value) for a pointer or a screen reader. Segments of
/// value 0 are left out; with nothing to show, an empty grey bar.
pub fn stacked_bar(segments: &[Segment], width: u32, height: u32, title: &str) -> String {
    let total: f64 = segments.iter().map(|s| s.value.max(0.0)).sum();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    out.push_str(&format!(
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#e6e6e6\"/>"
    ));
    if total > 0.0 {
        let mut x = 0.0;
        for s in segments.iter().filter(|s| s.value > 0.0) {
            let w = s.value / total * f64::from(width);
            out.push_str(&format!(
                "<rect x=\"{x:.2}\" y=\"0\" width=\"{w:.2}\" height=\"{height}\" fill=\"{}\">\
                 <title>{}: {}</title></rect>",
                s.colour,
                esc(&s.label),
                s.value
            ));
            x += w;
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(svg: &str) -> Vec<f64> {
        svg.split("<rect ")
            .skip(2)
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn segments_take_their_share_of_the_width_in_order() {
        let seg = |label: &str, value: f64| Segment {
            label: label.into(),
            value,
            colour: "#000",
        };
        let svg = stacked_bar(
            &[seg("a", 1.0), seg("b", 0.0), seg("c", 3.0)],
            400,
            20,
            "Ordrer",
        );
        assert_eq!(widths(&svg), [100.0, 300.0]);
        assert!(svg.contains("<title>a: 1</title>") && svg.contains("<title>c: 3</title>"));
        assert!(!svg.contains("<title>b"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn nothing_to_show_is_an_empty_bar_and_text_is_escaped() {
        let svg = stacked_bar(&[], 100, 10, "a<b & \"c\"");
        assert_eq!(widths(&svg), Vec::<f64>::new());
        assert!(svg.contains("aria-label=\"a&lt;b &amp; &quot;c&quot;\""));
    }
}
