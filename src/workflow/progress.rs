//! Milestone status and schedule, derived from dates and reports: pure, the day passed in.

use chrono::NaiveDate;
use serde::Serialize;

/// Where a milestone stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneStatus {
    NotStarted,
    InProgress,
    Done,
    Overdue,
}

impl MilestoneStatus {
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (MilestoneStatus::NotStarted, "en") => "Not started",
            (MilestoneStatus::InProgress, "en") => "In progress",
            (MilestoneStatus::Done, "en") => "Done",
            (MilestoneStatus::Overdue, "en") => "Overdue",
            (MilestoneStatus::NotStarted, _) => "未开始",
            (MilestoneStatus::InProgress, _) => "进行中",
            (MilestoneStatus::Done, _) => "已完成",
            (MilestoneStatus::Overdue, _) => "已逾期",
        }
    }
}

/// The facts of a milestone that its status depends on.
#[derive(Debug, Clone, Copy)]
pub struct MilestoneFacts {
    pub start: Option<NaiveDate>,
    pub due: NaiveDate,
    pub percent: i32,
    pub done: bool,
}

/// Done when reported done; overdue once its due day has passed undone; in progress once
/// started (by date or by a report); else not started.
pub fn status(m: &MilestoneFacts, today: NaiveDate) -> MilestoneStatus {
    if m.done {
        MilestoneStatus::Done
    } else if today > m.due {
        MilestoneStatus::Overdue
    } else if m.percent > 0 || m.start.is_some_and(|s| today >= s) {
        MilestoneStatus::InProgress
    } else {
        MilestoneStatus::NotStarted
    }
}

/// The share of the work a straight-line plan expects done by `today`, 0-100. Without a start
/// date the plan is "all on the due day".
pub fn expected_percent(m: &MilestoneFacts, today: NaiveDate) -> i32 {
    match m.start {
        _ if today >= m.due => 100,
        Some(start) if today > start && m.due > start => {
            let total = (m.due - start).num_days() as f64;
            let gone = (today - start).num_days() as f64;
            ((gone / total) * 100.0).floor().clamp(0.0, 100.0) as i32
        }
        _ => 0,
    }
}

/// How far behind the plan a milestone may be before it counts as behind schedule.
pub const BEHIND_TOLERANCE: i32 = 20;

/// Overdue, or reported more than `BEHIND_TOLERANCE` points below the straight-line plan.
pub fn behind_schedule(m: &MilestoneFacts, today: NaiveDate) -> bool {
    match status(m, today) {
        MilestoneStatus::Done => false,
        MilestoneStatus::Overdue => true,
        _ => expected_percent(m, today) - m.percent.clamp(0, 100) > BEHIND_TOLERANCE,
    }
}

/// The weighted completion of a project's milestones, 0-100 (equal weights when all are 0).
pub fn weighted_percent(ms: &[(f64, i32, bool)]) -> f64 {
    let total: f64 = ms.iter().map(|(w, _, _)| w.max(0.0)).sum();
    if ms.is_empty() {
        return 0.0;
    }
    let part = |(w, p, done): &(f64, i32, bool)| {
        let p = if *done {
            100.0
        } else {
            f64::from((*p).clamp(0, 100))
        };
        (if total > 0.0 { w.max(0.0) } else { 1.0 }) * p
    };
    let sum: f64 = ms.iter().map(part).sum();
    let denominator = if total > 0.0 { total } else { ms.len() as f64 };
    (sum / denominator * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn status_follows_dates_and_reports() {
        let m = MilestoneFacts {
            start: Some(d(3, 1)),
            due: d(6, 30),
            percent: 0,
            done: false,
        };
        assert_eq!(status(&m, d(2, 1)), MilestoneStatus::NotStarted);
        assert_eq!(status(&m, d(3, 1)), MilestoneStatus::InProgress);
        assert_eq!(status(&m, d(6, 30)), MilestoneStatus::InProgress);
        assert_eq!(status(&m, d(7, 1)), MilestoneStatus::Overdue);
        let reported = MilestoneFacts { percent: 10, ..m };
        assert_eq!(status(&reported, d(2, 1)), MilestoneStatus::InProgress);
        let done = MilestoneFacts { done: true, ..m };
        assert_eq!(status(&done, d(12, 1)), MilestoneStatus::Done);
    }

    #[test]
    fn schedule_is_a_straight_line() {
        let m = MilestoneFacts {
            start: Some(d(1, 1)),
            due: d(1, 11),
            percent: 0,
            done: false,
        };
        assert_eq!(expected_percent(&m, d(1, 1)), 0);
        assert_eq!(expected_percent(&m, d(1, 6)), 50);
        assert_eq!(expected_percent(&m, d(1, 11)), 100);
        assert!(!behind_schedule(
            &MilestoneFacts { percent: 30, ..m },
            d(1, 6)
        ));
        assert!(behind_schedule(
            &MilestoneFacts { percent: 29, ..m },
            d(1, 6)
        ));
        let no_start = MilestoneFacts { start: None, ..m };
        assert_eq!(expected_percent(&no_start, d(1, 6)), 0);
    }

    #[test]
    fn weights() {
        assert_eq!(weighted_percent(&[]), 0.0);
        assert_eq!(weighted_percent(&[(1.0, 50, false), (3.0, 0, true)]), 87.5);
        assert_eq!(
            weighted_percent(&[(0.0, 50, false), (0.0, 100, false)]),
            75.0
        );
    }

    proptest! {
        #[test]
        fn expected_percent_is_monotone_and_bounded(
            start in 0i64..300, len in 1i64..200, a in 0i64..600, b in 0i64..600, percent in -5i32..120
        ) {
            let base = d(1, 1);
            let m = MilestoneFacts {
                start: Some(base + chrono::Duration::days(start)),
                due: base + chrono::Duration::days(start + len),
                percent,
                done: false,
            };
            let (x, y) = (a.min(b), a.max(b));
            let (ex, ey) = (
                expected_percent(&m, base + chrono::Duration::days(x)),
                expected_percent(&m, base + chrono::Duration::days(y)),
            );
            prop_assert!((0..=100).contains(&ex) && (0..=100).contains(&ey));
            prop_assert!(ex <= ey);
            // Overdue exactly when the due day has passed and it is not done.
            let day = base + chrono::Duration::days(y);
            prop_assert_eq!(status(&m, day) == MilestoneStatus::Overdue, day > m.due);
        }
    }
}
