//! `workflow simulate FILE --year YEAR`: the year's calendar of a definition, so that a
//! district can check it before it goes live: every fixed-date deadline with its reminders
//! and escalation, relative deadlines with their offsets, every occurrence of the periodic
//! schedules, and the windows with their opening and closing notices. Pure: the definition and the year in, lines out.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::workflow::compile::CompiledDue;
use crate::workflow::Workflow;

/// One line of the calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// None: relative to an event of each project, described in `what`.
    pub at: Option<DateTime<Utc>>,
    pub what: String,
}

fn human(d: Duration) -> String {
    let s = d.num_seconds();
    if s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s % 3_600 == 0 {
        format!("{}h", s / 3_600)
    } else {
        format!("{}m", s / 60)
    }
}

fn escalation(after: Option<Duration>, roles: &[&str]) -> String {
    match after {
        Some(a) => format!("escalation {} overdue → {}", human(a), roles.join(", ")),
        None => "no escalation".into(),
    }
}

pub fn calendar(w: &Workflow, year: i32, lang: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let tz = w.timezone;
    for (i, def) in w.definition.deadlines.iter().enumerate() {
        let c = &w.deadlines[i];
        let name = def.name.get(lang);
        let remind_roles: Vec<&str> = def.remind.iter().map(|r| r.as_str()).collect();
        let escalate_roles: Vec<&str> = def.escalate_to.iter().map(|r| r.as_str()).collect();
        match &c.due {
            CompiledDue::Date(md) => {
                let Some(due) = md.end_of_day(year, tz) else {
                    continue;
                };
                for before in &c.remind_before {
                    out.push(Entry {
                        at: Some(due - *before),
                        what: format!(
                            "reminder   {name} ({} before) → {}",
                            human(*before),
                            remind_roles.join(", ")
                        ),
                    });
                }
                out.push(Entry {
                    at: Some(due),
                    what: format!("deadline   {name}"),
                });
                if let Some(after) = c.escalate_after {
                    out.push(Entry {
                        at: Some(due + after),
                        what: format!(
                            "escalation {name} ({} overdue) → {}",
                            human(after),
                            escalate_roles.join(", ")
                        ),
                    });
                }
            }
            CompiledDue::After { transition, offset } => {
                let t = &w.definition.transitions[*transition];
                out.push(Entry {
                    at: None,
                    what: format!(
                        "deadline   {name}: {} after `{}`; reminders {} before → {}; {}",
                        human(*offset),
                        t.id.as_str(),
                        c.remind_before
                            .iter()
                            .map(|d| human(*d))
                            .collect::<Vec<_>>()
                            .join(", "),
                        remind_roles.join(", "),
                        escalation(c.escalate_after, &escalate_roles)
                    ),
                });
            }
            CompiledDue::MilestoneDue => {
                out.push(Entry {
                    at: None,
                    what: format!(
                        "deadline   {name}: each milestone's due date; reminders {} before → {} and the owner; {}",
                        c.remind_before.iter().map(|d| human(*d)).collect::<Vec<_>>().join(", "),
                        remind_roles.join(", "),
                        escalation(c.escalate_after, &escalate_roles)
                    ),
                });
            }
        }
    }
    let start = tz
        .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .earliest()
        .map(|t| t.with_timezone(&Utc));
    let end = tz
        .with_ymd_and_hms(year + 1, 1, 1, 0, 0, 0)
        .earliest()
        .map(|t| t.with_timezone(&Utc));
    if let (Some(start), Some(end)) = (start, end) {
        for (i, s) in w.definition.schedules.iter().enumerate() {
            let Some(cron) = w.schedules.get(i) else {
                continue;
            };
            let mut from = start.with_timezone(&tz) - Duration::seconds(1);
            for _ in 0..10_000 {
                match cron.find_next_occurrence(&from, false) {
                    Ok(next) if next.with_timezone(&Utc) < end => {
                        out.push(Entry {
                            at: Some(next.with_timezone(&Utc)),
                            what: format!(
                                "schedule   {} → {} ({})",
                                s.name.get(lang),
                                s.notify
                                    .iter()
                                    .map(|r| r.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                s.template.as_str()
                            ),
                        });
                        from = next;
                    }
                    _ => break,
                }
            }
        }
    }
    for (i, win) in w.definition.windows.iter().enumerate() {
        let Some((opens, closes)) = super::windows::window_span(w, i, year) else {
            continue;
        };
        let roles: Vec<&str> = win.notify.iter().map(|r| r.as_str()).collect();
        out.push(Entry {
            at: Some(opens),
            what: format!(
                "window     {} opens → {} (everyone holding the role, {})",
                win.name.get(lang),
                roles.join(", "),
                win.open_template.as_str()
            ),
        });
        for before in &w.windows[i].closing_before {
            let at = closes - *before;
            if at < opens {
                continue;
            }
            out.push(Entry {
                at: Some(at),
                what: format!(
                    "window     {} closes in {} → {} ({})",
                    win.name.get(lang),
                    human(*before),
                    roles.join(", "),
                    win.closing_template
                        .as_ref()
                        .map(|t| t.as_str())
                        .unwrap_or("")
                ),
            });
        }
        out.push(Entry {
            at: Some(closes),
            what: format!(
                "window     {} closes (deadline `{}`)",
                win.name.get(lang),
                win.closes
            ),
        });
    }
    // Relative entries first, then the dated ones in order.
    out.sort_by(|a, b| match (a.at, b.at) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_year() {
        let w = crate::workflow::default_workflow();
        let cal = calendar(&w, 2026, "zh");
        let at = |s: &str| {
            cal.iter()
                .filter(|e| e.what.contains(s))
                .filter_map(|e| e.at)
                .map(|t| {
                    t.with_timezone(&w.timezone)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .collect::<Vec<_>>()
        };
        // The application window closes on March 31st: reminders 14, 7 and 1 days before.
        assert_eq!(
            at("立项申请截止 ("),
            vec![
                "2026-03-17 23:59",
                "2026-03-24 23:59",
                "2026-03-30 23:59",
                "2026-04-01 23:59"
            ]
        );
        assert_eq!(at("deadline   立项申请截止"), vec!["2026-03-31 23:59"]);
        // Twelve monthly requests and 52 or 53 weekly digests.
        assert_eq!(at("月度进度更新").len(), 12);
        assert!((52..=53).contains(&at("周调度").len()));
        assert_eq!(at("月度进度更新")[0], "2026-01-01 09:00");
        // Relative deadlines are described, not dated.
        assert!(cal
            .iter()
            .any(|e| e.at.is_none() && e.what.contains("15d after `submit`")));
        // The application window is announced on February 1st and a week before it closes.
        assert_eq!(
            at("window     立项申请窗口"),
            vec!["2026-02-01 00:00", "2026-03-24 23:59", "2026-03-31 23:59"]
        );
        // In order.
        let dated: Vec<_> = cal.iter().filter_map(|e| e.at).collect();
        assert!(dated.windows(2).all(|p| p[0] <= p[1]));
    }
}
