//! Reminder planning, pure: from (definition, open deadlines, last run, now) to the mails due.
//!
//! For every open deadline, each reminder instant (`due - offset`) and the escalation instant
//! (`due + escalate_after`) that falls in `(since, now]` is due now. A run that missed
//! instants (the server was down) catches up: of the reminders missed for one deadline only
//! the latest is sent, late but once, and only while the deadline is still ahead; once it has
//! passed, the escalation speaks instead. A deadline opened when its escalation instant had
//! already passed (a milestone long overdue when implementation starts) is escalated once, at
//! the first run after it was opened: its escalation instant is its opening.

use chrono::{DateTime, Duration, Utc};

use crate::workflow::Workflow;

/// An open deadline of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenDeadline {
    /// The deadline row's id: the item a mail is about.
    pub row_id: i64,
    pub project_id: i64,
    pub milestone_id: Option<i64>,
    /// The deadline's id in the definition.
    pub deadline: String,
    pub due: DateTime<Utc>,
    /// When the project started tracking it.
    pub opened_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailKind {
    /// `before` ahead of the due time.
    Reminder {
        before: Duration,
    },
    Escalation,
}

impl MailKind {
    /// A stable name for the unique key: `before-604800s` or `escalation`.
    pub fn key(&self) -> String {
        match self {
            MailKind::Reminder { before } => format!("before-{}s", before.num_seconds()),
            MailKind::Escalation => "escalation".into(),
        }
    }
}

/// A mail the planner wants sent, before its recipients are looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedMail {
    pub item: OpenDeadline,
    pub kind: MailKind,
    /// The instant the mail was due (part of its unique key).
    pub at: DateTime<Utc>,
    pub template: String,
    /// Roles told; milestone deadlines also tell the milestone's owner (`owner`).
    pub roles: Vec<String>,
    pub owner: bool,
}

/// The due-time ranges whose deadlines have a reminder or escalation instant in
/// `(since, now]`: for each offset `o` before the due time, `(since + o, now + o]`; for each
/// escalation delay `e`, `(since - e, now - e]`; merged where they overlap. Reading only these
/// makes a run's cost follow the items due, not all the open items (a quiet minute reads
/// nothing).
pub fn due_ranges(
    ws: &[&Workflow],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut shifts: Vec<Duration> = Vec::new();
    for w in ws {
        for d in &w.deadlines {
            shifts.extend(d.remind_before.iter().copied());
            if let Some(e) = d.escalate_after {
                shifts.push(-e);
            }
        }
    }
    shifts.sort();
    shifts.dedup();
    let mut ranges: Vec<(DateTime<Utc>, DateTime<Utc>)> =
        shifts.iter().map(|s| (since + *s, now + *s)).collect();
    ranges.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// The mails due in `(since, now]` for these open deadlines of definition `w`.
pub fn plan(
    w: &Workflow,
    open: &[OpenDeadline],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<PlannedMail> {
    let mut out = Vec::new();
    if now <= since {
        return out;
    }
    for item in open {
        let Some(&i) = w.deadline_index.get(&item.deadline) else {
            continue;
        };
        let (def, compiled) = (&w.definition.deadlines[i], &w.deadlines[i]);
        let per_milestone = item.milestone_id.is_some();
        // Reminders: the latest instant in the window, while the deadline is still ahead.
        if now < item.due {
            if let Some(template) = &def.reminder_template {
                let latest = compiled
                    .remind_before
                    .iter()
                    .map(|before| (*before, item.due - *before))
                    .filter(|(_, at)| *at > since && *at <= now)
                    .max_by_key(|(_, at)| *at);
                if let Some((before, at)) = latest {
                    out.push(PlannedMail {
                        item: item.clone(),
                        kind: MailKind::Reminder { before },
                        at,
                        template: template.as_str().to_string(),
                        roles: def.remind.iter().map(|r| r.as_str().to_string()).collect(),
                        owner: per_milestone,
                    });
                }
            }
        }
        // Escalation: once, when the delay after the due time has passed, or on opening if it
        // had passed before the deadline was opened.
        if let (Some(after), Some(template)) = (compiled.escalate_after, &def.escalation_template) {
            let at = (item.due + after).max(item.opened_at);
            if at > since && at <= now {
                out.push(PlannedMail {
                    item: item.clone(),
                    kind: MailKind::Escalation,
                    at,
                    template: template.as_str().to_string(),
                    roles: def
                        .escalate_to
                        .iter()
                        .map(|r| r.as_str().to_string())
                        .collect(),
                    owner: false,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn w() -> Workflow {
        crate::workflow::default_workflow()
    }

    fn t(m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, m, d, h, 0, 0).unwrap()
    }

    fn milestone_due(due: DateTime<Utc>) -> OpenDeadline {
        OpenDeadline {
            row_id: 1,
            project_id: 10,
            milestone_id: Some(5),
            deadline: "milestones".into(),
            due,
            opened_at: due - Duration::days(60),
        }
    }

    #[test]
    fn reminders_at_each_offset_then_escalation() {
        let w = w();
        // milestones: remind 7d, 3d, 1d before; escalate 2d after.
        let item = milestone_due(t(6, 30, 16));
        let mut sent = Vec::new();
        let mut since = t(6, 1, 0);
        // Hourly runs through July 5th.
        let mut now = since;
        while now < t(7, 5, 0) {
            now += Duration::hours(1);
            sent.extend(plan(&w, std::slice::from_ref(&item), since, now));
            since = now;
        }
        let kinds: Vec<(String, DateTime<Utc>)> =
            sent.iter().map(|m| (m.kind.key(), m.at)).collect();
        assert_eq!(
            kinds,
            vec![
                ("before-604800s".into(), t(6, 23, 16)),
                ("before-259200s".into(), t(6, 27, 16)),
                ("before-86400s".into(), t(6, 29, 16)),
                ("escalation".into(), t(7, 2, 16)),
            ]
        );
        assert!(sent[0].owner && !sent[3].owner);
        assert_eq!(sent[0].template, "milestone_reminder");
        assert_eq!(sent[3].roles, vec!["reviewer", "admin"]);
    }

    #[test]
    fn a_missed_window_sends_the_latest_reminder_once() {
        let w = w();
        let item = milestone_due(t(6, 30, 16));
        // Down from June 20th to June 28th: the 7d and 3d reminders were missed.
        let late = plan(&w, std::slice::from_ref(&item), t(6, 20, 0), t(6, 28, 0));
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].kind.key(), "before-259200s");
        // Down across the due time: no reminder for a past deadline, the escalation instead.
        let past = plan(&w, std::slice::from_ref(&item), t(6, 20, 0), t(7, 3, 0));
        assert_eq!(past.len(), 1);
        assert_eq!(past[0].kind, MailKind::Escalation);
        // An empty or backwards window plans nothing.
        assert!(plan(&w, std::slice::from_ref(&item), t(6, 28, 0), t(6, 28, 0)).is_empty());
        assert!(plan(&w, std::slice::from_ref(&item), t(6, 28, 0), t(6, 1, 0)).is_empty());
    }

    #[test]
    fn a_deadline_opened_past_its_escalation_is_escalated_once_at_the_next_run() {
        let w = w();
        // Due April 15th, escalation two days later; opened on June 1st at 10:00 (the project
        // was approved late).
        let item = OpenDeadline {
            opened_at: t(6, 1, 10),
            ..milestone_due(t(4, 15, 16))
        };
        let mut sent = Vec::new();
        let mut since = t(6, 1, 0);
        while since < t(6, 10, 0) {
            let now = since + Duration::hours(1);
            sent.extend(plan(&w, std::slice::from_ref(&item), since, now));
            since = now;
        }
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].kind, MailKind::Escalation);
        assert_eq!(sent[0].at, t(6, 1, 10));
        // No reminder for a deadline already past.
        assert!(sent.iter().all(|m| m.kind == MailKind::Escalation));
    }

    #[test]
    fn ranges_are_narrow_when_the_run_is_short_and_cover_every_instant() {
        let w = w();
        let (since, now) = (t(6, 1, 0), t(6, 1, 0) + Duration::minutes(1));
        let ranges = due_ranges(&[&w], since, now);
        // One narrow range per distinct offset: a minute each.
        assert!(ranges
            .iter()
            .all(|(lo, hi)| *hi - *lo == Duration::minutes(1)));
        // Every item with an instant in the window is inside a range.
        let inside = |due: DateTime<Utc>| ranges.iter().any(|(lo, hi)| due > *lo && due <= *hi);
        for offset in [Duration::days(7), Duration::days(3), Duration::days(1)] {
            assert!(inside(now + offset));
        }
        assert!(inside(now - Duration::days(2)), "escalation after 2 days");
        assert!(!inside(now + Duration::days(5)), "nothing due for this one");
        // A long downtime merges them.
        let long = due_ranges(&[&w], t(5, 1, 0), t(6, 1, 0));
        assert!(long.len() < ranges.len());
    }
}
