//! Charts drawn as SVG on the server, without I/O: data in, an SVG string out. The pages embed
//! them (no JavaScript library, no network), and the same text is a download. A small renderer
//! of our own: the charts are few and plain, and it keeps the markup (and so the page's
//! Content-Security-Policy) entirely ours.

mod png;
pub use png::{to_png, PngError};

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

/// A day by the hour: `today` as bars (hours after `now_hour` left empty), `faint` as thin grey
/// lines over them (yesterday, the same weekday last week), with the hours marked every three
/// and the top of the scale written at the left.
pub fn hourly(
    today: &[i64; 24],
    now_hour: usize,
    faint: &[(&[i64; 24], &'static str)],
    width: u32,
    height: u32,
    title: &str,
) -> String {
    let (w, h) = (f64::from(width), f64::from(height));
    let (left, bottom, top) = (34.0, 16.0, 6.0);
    let plot_w = w - left - 4.0;
    let plot_h = h - bottom - top;
    let max = today
        .iter()
        .take(now_hour + 1)
        .chain(faint.iter().flat_map(|(f, _)| f.iter()))
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |i: usize| left + plot_w * i as f64 / 24.0;
    let y = |v: i64| top + plot_h - plot_h * v as f64 / max as f64;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"currentColor\">{max}</text>",
        top + plot_h,
        left + plot_w,
        top + plot_h,
        left - 4.0,
        top + 9.0
    ));
    for i in (0..24).step_by(3) {
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"currentColor\">{i:02}</text>",
            x(i),
            h - 3.0
        ));
    }
    let bar = plot_w / 24.0 * 0.8;
    for (i, v) in today.iter().enumerate().take(now_hour + 1) {
        if *v > 0 {
            out.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"#1f6fb2\"><title>{i:02}: {v}</title></rect>",
                x(i),
                y(*v),
                top + plot_h - y(*v)
            ));
        }
    }
    for (f, dash) in faint {
        let points: Vec<String> = f
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i) + bar / 2.0, y(*v)))
            .collect();
        out.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#888\" stroke-opacity=\"0.7\" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\"/>",
            points.join(" ")
        ));
    }
    out.push_str("</svg>");
    out
}

/// One line of a `lines` chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub colour: &'static str,
    pub values: Vec<i64>,
}

/// Lines over labelled points (days, weeks, months), with a legend, the top of the scale at the
/// left and at most about a dozen point labels under the axis.
pub fn lines(points: &[String], lines: &[Line], width: u32, height: u32, title: &str) -> String {
    let (w, h) = (f64::from(width), f64::from(height));
    let (left, bottom, top, legend) = (44.0, 18.0, 8.0, 18.0);
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - top - legend;
    let n = points.len().max(1);
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |i: usize| {
        if n == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: i64| legend + top + plot_h - plot_h * v as f64 / max as f64;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    let axis = legend + top + plot_h;
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{axis:.1}\" x2=\"{:.1}\" y2=\"{axis:.1}\" stroke=\"#999\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"currentColor\">{max}</text>\
         <text x=\"{:.1}\" y=\"{axis:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"currentColor\">0</text>",
        left + plot_w,
        left - 4.0,
        legend + top + 9.0,
        left - 4.0
    ));
    let step = n.div_ceil(12).max(1);
    for (i, p) in points.iter().enumerate().step_by(step) {
        // The last point's label ends at its point, inside the chart.
        let anchor = if n > 1 && i == n - 1 { "end" } else { "middle" };
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"{anchor}\" fill=\"currentColor\">{}</text>",
            x(i),
            h - 4.0,
            esc(p)
        ));
    }
    let mut lx = left;
    for l in lines {
        out.push_str(&format!(
            "<rect x=\"{lx:.1}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"13\" font-size=\"11\" fill=\"currentColor\">{}</text>",
            l.colour,
            lx + 14.0,
            esc(&l.label)
        ));
        lx += 24.0 + 6.5 * l.label.chars().count() as f64;
        let pts: Vec<String> = l
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        out.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"><title>{}</title></polyline>",
            pts.join(" "),
            l.colour,
            esc(&l.label)
        ));
    }
    out.push_str("</svg>");
    out
}

/// A weekday x hour heat map: `grid[d][h]` shaded from white to `colour` by its share of the
/// largest cell, each cell titled with its count; `rows` names the weekdays.
pub fn heat(grid: &[[i64; 24]; 7], rows: &[&str; 7], colour: &'static str, title: &str) -> String {
    let (cell, left, top) = (22.0, 40.0, 16.0);
    let width = left + 24.0 * cell + 4.0;
    let height = top + 7.0 * cell + 4.0;
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    for hr in (0..24).step_by(3) {
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"11\" font-size=\"10\" fill=\"currentColor\">{hr:02}</text>",
            left + hr as f64 * cell
        ));
    }
    for (d, row) in grid.iter().enumerate() {
        let y = top + d as f64 * cell;
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"currentColor\">{}</text>",
            left - 4.0,
            y + cell * 0.7,
            esc(rows[d])
        ));
        for (hr, v) in row.iter().enumerate() {
            let share = *v as f64 / max as f64;
            out.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\" fill-opacity=\"{:.2}\" stroke=\"#ddd\"><title>{} {hr:02}: {v}</title></rect>",
                left + hr as f64 * cell,
                cell - 1.0,
                cell - 1.0,
                0.05 + 0.95 * share,
                esc(rows[d])
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// A chart (`width` x `height`) under a heading and a line of explanation, with a legend of
/// (label, colour) under it when given, for a download that must say what it shows without the
/// page around it.
pub fn with_heading(
    chart: &str,
    (width, height): (u32, u32),
    heading: &str,
    note: &str,
    legend: &[(String, &'static str)],
) -> String {
    let top = 40;
    let per_row = 5;
    let rows = legend.len().div_ceil(per_row) as u32;
    let total = top + height + if rows > 0 { 8 + 18 * rows } else { 0 };
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{total}\" \
         viewBox=\"0 0 {width} {total}\" role=\"img\" aria-label=\"{}\">\
         <text x=\"4\" y=\"15\" font-size=\"14\" font-weight=\"bold\" fill=\"currentColor\">{}</text>\
         <text x=\"4\" y=\"32\" font-size=\"11\" fill=\"#555\">{}</text>\
         <svg x=\"0\" y=\"{top}\" width=\"{width}\" height=\"{height}\">{}</svg>",
        esc(heading),
        esc(heading),
        esc(note),
        // The chart's own root element gives way to the positioned one.
        inner(chart)
    );
    let col = f64::from(width) / per_row as f64;
    for (i, (label, colour)) in legend.iter().enumerate() {
        let x = 4.0 + col * (i % per_row) as f64;
        let y = f64::from(top + height + 8) + 18.0 * (i / per_row) as f64;
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"currentColor\">{}</text>",
            x + 14.0,
            y + 9.0,
            esc(label)
        ));
    }
    out.push_str("</svg>");
    out
}

/// The content of an SVG's root element (what lies between `<svg …>` and `</svg>`).
fn inner(svg: &str) -> &str {
    let start = svg.find('>').map_or(0, |i| i + 1);
    let end = svg.rfind("</svg>").unwrap_or(svg.len()).max(start);
    &svg[start..end]
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
    fn an_hourly_chart_draws_todays_hours_up_to_now_and_the_faint_days_whole() {
        let mut today = [0i64; 24];
        today[8] = 10;
        today[9] = 5;
        today[20] = 99; // after now: not drawn
        let yesterday = [2i64; 24];
        let svg = hourly(&today, 12, &[(&yesterday, "4 2")], 240, 80, "Pakker");
        assert_eq!(svg.matches("<rect ").count(), 2, "{svg}");
        assert!(svg.contains("<title>08: 10</title>") && svg.contains("<title>09: 5</title>"));
        assert_eq!(svg.matches("<polyline ").count(), 1);
        assert!(
            svg.contains(">10</text>"),
            "the scale's top is today's largest hour"
        );
    }

    #[test]
    fn nothing_to_show_is_an_empty_bar_and_text_is_escaped() {
        let svg = stacked_bar(&[], 100, 10, "a<b & \"c\"");
        assert_eq!(widths(&svg), Vec::<f64>::new());
        assert!(svg.contains("aria-label=\"a&lt;b &amp; &quot;c&quot;\""));
    }

    #[test]
    fn lines_go_through_every_point_and_label_a_dozen_at_most() {
        let points: Vec<String> = (1..=30).map(|d| format!("12-{d:02}")).collect();
        let a = Line {
            label: "Kolli".into(),
            colour: "#1f6fb2",
            values: (0..30).collect(),
        };
        let svg = lines(&points, &[a], 600, 200, "Kolli pr. dag");
        assert_eq!(svg.matches("<polyline ").count(), 1);
        let polyline = svg.split("points=\"").nth(1).unwrap();
        assert_eq!(
            polyline[..polyline.find('"').unwrap()].split(' ').count(),
            30
        );
        let labels = svg.matches("text-anchor=\"middle\"").count();
        assert!((10..=12).contains(&labels), "{labels} point labels");
        assert!(svg.contains(">29</text>"), "the top of the scale");
    }

    #[test]
    fn a_heat_map_has_a_cell_per_weekday_and_hour_shaded_by_share() {
        let mut grid = [[0i64; 24]; 7];
        grid[0][9] = 40;
        grid[4][14] = 10;
        let svg = heat(
            &grid,
            &["ma", "ti", "on", "to", "fr", "lø", "sø"],
            "#1f6fb2",
            "Kolli",
        );
        assert_eq!(svg.matches("<rect ").count(), 7 * 24);
        assert!(svg.contains("fill-opacity=\"1.00\" stroke=\"#ddd\"><title>ma 09: 40</title>"));
        assert!(svg.contains("fill-opacity=\"0.29\" stroke=\"#ddd\"><title>fr 14: 10</title>"));
    }

    #[test]
    fn a_chart_with_a_heading_keeps_the_chart_and_names_the_legend() {
        let bar = stacked_bar(
            &[Segment {
                label: "Pakket".into(),
                value: 3.0,
                colour: "#2e7d32",
            }],
            200,
            20,
            "x",
        );
        let out = with_heading(
            &bar,
            (200, 20),
            "Ordrer pr. trin",
            "læst 10:00",
            &[("Pakket: 3".into(), "#2e7d32")],
        );
        assert!(out.starts_with("<svg") && out.ends_with("</svg>"));
        assert_eq!(out.matches("<svg").count(), 2, "{out}");
        assert!(
            out.contains("height=\"86\""),
            "40 + 20 + one legend row: {out}"
        );
        assert!(out.contains(">Pakket: 3</text>") && out.contains("<title>Pakket: 3</title>"));
        assert!(crate::charts::to_png(&out, 1.0).is_ok());
    }
}
