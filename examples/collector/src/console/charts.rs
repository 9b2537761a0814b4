//! Server-rendered SVG charts: no script, no chart library. Every label is escaped here (event names and
//! purposes come from apps); pages put the same figures in a table next to each chart for screen readers.

use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 36.0;
const TOP: f64 = 12.0;
/// Distinguishable, and dark enough on white (WCAG 3:1 for graphics).
const PALETTE: [&str; 6] = ["#0a58ca", "#b35900", "#116329", "#8250df", "#a40e26", "#1b7c83"];

/// Vertical bars, one per point, with a count axis from zero.
pub(crate) fn bars(title: &str, points: &[(String, u64)]) -> String {
    let max = points.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / points.len().max(1) as f64;
    let mut svg = open(title);
    axis(&mut svg, &format!("{}", max as u64), "0");
    for (i, (label, n)) in points.iter().enumerate() {
        let h = plot_h * (*n as f64) / max;
        let x = LEFT + i as f64 * slot + slot * 0.15;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {n}</title></rect>"#,
            TOP + plot_h - h,
            slot * 0.7,
            PALETTE[0],
            escape(label)
        );
    }
    x_labels(&mut svg, points.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().as_slice(), slot);
    svg.push_str("</svg>");
    svg
}

/// One line per series on a 0–100 % axis; `columns` are the x positions, a series may miss some.
pub(crate) fn rates(title: &str, columns: &[String], series: &[(String, Vec<Option<f64>>)]) -> String {
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / columns.len().max(1) as f64;
    let mut svg = open(title);
    axis(&mut svg, "100 %", "0 %");
    for (k, (name, values)) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (LEFT + (i as f64 + 0.5) * slot, TOP + plot_h * (1.0 - v / 100.0))))
            .collect();
        let path: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{}"><title>{}</title></polyline>"#,
            path.join(" "),
            escape(name)
        );
        for (x, y) in &points {
            let _ = write!(svg, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{colour}"/>"#);
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" fill="{colour}">{}</text>"#,
            LEFT + 8.0 + 110.0 * k as f64,
            TOP + 12.0,
            escape(name)
        );
    }
    x_labels(&mut svg, columns.iter().map(String::as_str).collect::<Vec<_>>().as_slice(), slot);
    svg.push_str("</svg>");
    svg
}

fn open(title: &str) -> String {
    format!(
        r#"<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title)
    )
}

fn axis(svg: &mut String, top: &str, bottom: &str) {
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#57606a"/><line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#57606a"/><text x="{}" y="{}" font-size="11" text-anchor="end" fill="#57606a">{}</text><text x="{}" y="{base}" font-size="11" text-anchor="end" fill="#57606a">{}</text>"##,
        WIDTH - 8.0,
        LEFT - 4.0,
        TOP + 10.0,
        escape(top),
        LEFT - 4.0,
        escape(bottom)
    );
}

/// At most ~8 labels under the axis, so they never overlap.
fn x_labels(svg: &mut String, labels: &[&str], slot: f64) {
    let every = labels.len().div_ceil(8).max(1);
    for (i, label) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#57606a">{}</text>"##,
            LEFT + (i as f64 + 0.5) * slot,
            HEIGHT - BOTTOM + 16.0,
            escape(label)
        );
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_apps_cannot_inject_markup() {
        let svg = bars("Events", &[("<script>alert(1)</script>".into(), 3)]);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        let svg = rates("Rates", &["d1".into()], &[("\"><img src=x>".into(), vec![Some(50.0)])]);
        assert!(!svg.contains("<img"), "{svg}");
    }

    #[test]
    fn bars_scale_to_the_largest_and_missing_rates_leave_gaps() {
        let svg = bars("Events", &[("a".into(), 10), ("b".into(), 5)]);
        let heights: Vec<&str> = svg.match_indices("height=\"").map(|(i, _)| &svg[i + 8..i + 13]).collect();
        assert_eq!(heights, ["172.0", "86.0\""], "the tallest bar fills the plot, the other half of it");
        let svg = rates("Rates", &["d1".into(), "d2".into()], &[("analytics".into(), vec![None, Some(100.0)])]);
        assert_eq!(svg.matches("<circle").count(), 1, "a day without decisions has no point");
    }
}
