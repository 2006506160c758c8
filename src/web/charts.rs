//! The district dashboard's charts as SVG drawn on the server: horizontal bars, each labelled
//! with its value in text, so a chart reads without JavaScript, prints, and has its figures as
//! words for a screen reader (`<title>`, `<desc>`, and the same figures in a table beside it).
//! Pure: figures in, markup out.

/// One bar: its label, its value, and an optional second value (the year before) drawn as a
/// thin bar under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub before: Option<f64>,
    /// How the value is written beside the bar (e.g. `66.7%`, `12`).
    pub text: String,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const ROW: f64 = 26.0;
const LABEL_W: f64 = 150.0;
const BAR_W: f64 = 330.0;
const VALUE_W: f64 = 80.0;

/// A horizontal bar chart of `bars` on a scale from 0 to `max` (the largest value when
/// `max` is None). `id` names the chart for `aria-labelledby`; `title` and `desc` are its
/// text alternative.
pub fn bar_chart(id: &str, title: &str, desc: &str, bars: &[Bar], max: Option<f64>) -> String {
    let top = max
        .unwrap_or_else(|| {
            bars.iter()
                .flat_map(|b| [b.value, b.before.unwrap_or(0.0)])
                .fold(0.0, f64::max)
        })
        .max(1e-9);
    let height = ROW * bars.len().max(1) as f64 + 8.0;
    let width = LABEL_W + BAR_W + VALUE_W;
    let mut out = format!(
        r#"<svg class="chart" id="{id}" role="img" aria-labelledby="{id}-t {id}-d" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let w = (b.value.max(0.0) / top).min(1.0) * BAR_W;
        out.push_str(&format!(
            r#"<g class="c-row"><text class="c-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="c-bar" x="{LABEL_W}" y="{:.1}" width="{w:.1}" height="14" rx="2"/>"#,
            LABEL_W - 6.0,
            y + 12.0,
            esc(&truncate(&b.label, 12)),
            y + 1.0
        ));
        if let Some(before) = b.before {
            let wb = (before.max(0.0) / top).min(1.0) * BAR_W;
            out.push_str(&format!(
                r#"<rect class="c-before" x="{LABEL_W}" y="{:.1}" width="{wb:.1}" height="4" rx="1"/>"#,
                y + 17.0
            ));
        }
        out.push_str(&format!(
            r#"<text class="c-value" x="{:.1}" y="{:.1}">{}</text></g>"#,
            LABEL_W + w + 6.0,
            y + 12.0,
            esc(&b.text)
        ));
    }
    out.push_str("</svg>");
    out
}

/// At most `n` characters, with an ellipsis when cut (the table beside the chart has the
/// whole name).
fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64, before: Option<f64>) -> Bar {
        Bar {
            label: label.into(),
            value,
            before,
            text: format!("{value}"),
        }
    }

    #[test]
    fn bars_scale_to_the_largest_and_say_their_values() {
        let svg = bar_chart(
            "c",
            "标题",
            "说明",
            &[bar("第1街道", 10.0, Some(5.0)), bar("第2街道", 5.0, None)],
            None,
        );
        assert!(svg.starts_with("<svg class=\"chart\" id=\"c\" role=\"img\""));
        assert!(svg.contains("<title id=\"c-t\">标题</title><desc id=\"c-d\">说明</desc>"));
        // The largest is the whole width, the other half of it; the year before as a thin bar.
        assert!(svg.contains(r#"width="330.0" height="14""#), "{svg}");
        assert!(svg.contains(r#"width="165.0" height="14""#), "{svg}");
        assert!(
            svg.contains(r#"class="c-before" x="150" y="21.0" width="165.0""#),
            "{svg}"
        );
        assert!(svg.contains(">第1街道</text>") && svg.contains(">10</text>"));
    }

    #[test]
    fn labels_are_escaped_and_a_fixed_scale_caps_the_bar() {
        let svg = bar_chart(
            "x",
            "<a>",
            "&",
            &[bar("A&B<script>", 150.0, None)],
            Some(100.0),
        );
        assert!(!svg.contains("<script>") && svg.contains("A&amp;B&lt;scri"));
        assert!(svg.contains("&lt;a&gt;") && svg.contains("<desc id=\"x-d\">&amp;</desc>"));
        assert!(
            svg.contains(r#"width="330.0""#),
            "over the scale stays within the chart"
        );
        // No bars: an empty chart, not a panic.
        assert!(bar_chart("e", "t", "d", &[], None).ends_with("</svg>"));
    }
}
