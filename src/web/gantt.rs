//! The road map as a Gantt chart drawn on the server: one row per milestone, the planned span
//! as a pale bar, reported progress filled over it, the straight-line expectation as a tick,
//! overdue rows in red with a written marker (never colour alone), and today as a line. Pure:
//! milestones and a day in, SVG text out; it needs no script and prints as it is.

use chrono::{Datelike, Duration, NaiveDate};

use crate::app::implementation::MilestoneView;
use crate::workflow::progress::MilestoneStatus;

const WIDTH: f64 = 760.0;
const LABEL: f64 = 200.0;
const ROW: f64 = 30.0;
const TOP: f64 = 26.0;
const RIGHT: f64 = 12.0;

/// The words the chart writes (its caller's language).
pub struct Words<'a> {
    pub title: &'a str,
    pub today: &'a str,
    pub overdue: &'a str,
    pub done: &'a str,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// At most `n` characters, with an ellipsis when cut (labels share the row with the bars).
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Each milestone's planned span: its own start, else the previous milestone's due day, else
/// thirty days before its due day; never after its due day.
pub fn spans(ms: &[MilestoneView]) -> Vec<(NaiveDate, NaiveDate)> {
    let mut prev: Option<NaiveDate> = None;
    ms.iter()
        .map(|m| {
            let start = m
                .start_date
                .or(prev)
                .unwrap_or(m.due_date - Duration::days(30))
                .min(m.due_date);
            prev = Some(m.due_date);
            (start, m.due_date)
        })
        .collect()
}

/// The chart, or `None` when there are no milestones.
pub fn chart(ms: &[MilestoneView], today: NaiveDate, words: &Words) -> Option<String> {
    if ms.is_empty() {
        return None;
    }
    let spans = spans(ms);
    let first = spans.iter().map(|s| s.0).min()?.min(today);
    let last = spans.iter().map(|s| s.1).max()?.max(today) + Duration::days(1);
    let days = (last - first).num_days().max(1) as f64;
    let plot = WIDTH - LABEL - RIGHT;
    let x = |d: NaiveDate| LABEL + plot * ((d - first).num_days() as f64 / days);
    let height = TOP + ROW * ms.len() as f64 + 8.0;
    let mut s = String::new();
    s.push_str(&format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="gantt" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="gantt-title"><title id="gantt-title">{}</title>"#,
        esc(words.title)
    ));
    // Month ticks along the top.
    let mut month = NaiveDate::from_ymd_opt(first.year(), first.month(), 1)?;
    while month <= last {
        // A label needs room before the right edge.
        if month >= first && x(month) + 34.0 <= WIDTH {
            let mx = x(month);
            s.push_str(&format!(
                r#"<line class="g-grid" x1="{mx:.1}" y1="{}" x2="{mx:.1}" y2="{height}"/><text class="g-month" x="{:.1}" y="14">{}-{:02}</text>"#,
                TOP - 6.0,
                mx + 2.0,
                month.year() % 100,
                month.month()
            ));
        }
        month = if month.month() == 12 {
            NaiveDate::from_ymd_opt(month.year() + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(month.year(), month.month() + 1, 1)?
        };
    }
    for (i, (m, (start, due))) in ms.iter().zip(&spans).enumerate() {
        let y = TOP + ROW * i as f64;
        let overdue = m.status == MilestoneStatus::Overdue;
        let done = m.status == MilestoneStatus::Done;
        let (x0, x1) = (x(*start), x(*due + Duration::days(1)));
        let w = (x1 - x0).max(3.0);
        let filled = w * f64::from(m.percent.clamp(0, 100)) / 100.0;
        let marker = if overdue {
            format!(" · {}", words.overdue)
        } else if done {
            format!(" · {}", words.done)
        } else {
            String::new()
        };
        let row_class = if overdue {
            "g-row g-overdue"
        } else if done {
            "g-row g-done"
        } else {
            "g-row"
        };
        s.push_str(&format!(
            r#"<g class="{row_class}"><title>{} · {} → {} · {}%{}</title><text class="g-label" x="4" y="{:.1}">{}</text><rect class="g-plan" x="{x0:.1}" y="{:.1}" width="{w:.1}" height="14" rx="3"/><rect class="g-progress" x="{x0:.1}" y="{:.1}" width="{filled:.1}" height="14" rx="3"/>"#,
            esc(&m.title),
            start,
            due,
            m.percent,
            esc(&marker),
            y + 17.0,
            esc(&cut(&format!("{}{}", m.title, marker), 14)),
            y + 6.0,
            y + 6.0,
        ));
        if !done && m.expected_percent > 0 {
            let ex = x0 + w * f64::from(m.expected_percent.clamp(0, 100)) / 100.0;
            s.push_str(&format!(
                r#"<line class="g-expected" x1="{ex:.1}" y1="{:.1}" x2="{ex:.1}" y2="{:.1}"/>"#,
                y + 3.0,
                y + 23.0
            ));
        }
        s.push_str(&format!(
            r#"<text class="g-percent" x="{:.1}" y="{:.1}">{}%</text></g>"#,
            (x1 + 4.0).min(WIDTH - 34.0),
            y + 17.0,
            m.percent
        ));
    }
    let tx = x(today);
    s.push_str(&format!(
        r#"<line class="g-today" x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{height}"/><text class="g-today-label" x="{:.1}" y="{}">{}</text></svg>"#,
        TOP - 8.0,
        (tx + 3.0).min(WIDTH - 40.0),
        TOP - 2.0,
        esc(words.today)
    ));
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(
        title: &str,
        start: Option<&str>,
        due: &str,
        percent: i32,
        status: MilestoneStatus,
    ) -> MilestoneView {
        MilestoneView {
            id: 1,
            position: 0,
            title: title.into(),
            goal: String::new(),
            owner_login: "o".into(),
            owner_user_id: None,
            start_date: start.map(|s| s.parse().unwrap()),
            due_date: due.parse().unwrap(),
            weight: 1.0,
            percent,
            status,
            status_label: String::new(),
            expected_percent: 50,
            behind_schedule: false,
            done_at: None,
            last_report_at: None,
        }
    }

    const W: Words = Words {
        title: "路线图",
        today: "今天",
        overdue: "已逾期",
        done: "已完成",
    };

    #[test]
    fn spans_fall_back_to_the_previous_due_day() {
        let ms = [
            m("a", None, "2026-03-31", 0, MilestoneStatus::InProgress),
            m("b", None, "2026-06-30", 0, MilestoneStatus::NotStarted),
            m(
                "c",
                Some("2026-07-15"),
                "2026-07-01",
                0,
                MilestoneStatus::NotStarted,
            ),
        ];
        let s = spans(&ms);
        assert_eq!(s[0].0, "2026-03-01".parse::<NaiveDate>().unwrap());
        assert_eq!(s[1].0, "2026-03-31".parse::<NaiveDate>().unwrap());
        assert_eq!(s[2].0, s[2].1, "a start after the due day is cut to it");
    }

    #[test]
    fn overdue_rows_are_marked_in_words_and_text_is_escaped() {
        let ms = [
            m(
                "<b>&",
                Some("2026-01-01"),
                "2026-02-01",
                30,
                MilestoneStatus::Overdue,
            ),
            m(
                "fine",
                Some("2026-02-01"),
                "2026-12-01",
                100,
                MilestoneStatus::Done,
            ),
        ];
        let svg = chart(&ms, "2026-03-01".parse().unwrap(), &W).unwrap();
        assert!(svg.contains("g-row g-overdue"));
        assert!(svg.contains("已逾期"));
        assert!(svg.contains("g-row g-done"));
        assert!(svg.contains("&lt;b&gt;&amp;"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("g-today"));
        // Two rows, the overdue one 30 % filled: the progress bar is 0.3 of the plan bar.
        let widths: Vec<f64> = svg
            .split("width=\"")
            .skip(1)
            .map(|t| t.split('"').next().unwrap().parse().unwrap())
            .collect();
        assert!((widths[1] / widths[0] - 0.3).abs() < 0.02, "{widths:?}");
        assert_eq!(chart(&[], "2026-03-01".parse().unwrap(), &W), None);
    }
}
