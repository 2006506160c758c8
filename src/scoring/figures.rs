//! The district's year in figures (年度数据), and each person's inputs to the annual review,
//! folded from the groups the database returns (`store::review_sql`): pure. What a stage
//! means (a draft, an application, a project under way, an ending) comes from the definition
//! (`Workflow::stage_class`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::annual::{Outcome, Tally};
use super::round2;
use crate::store::review_sql::YearGroups;
use crate::workflow::model::StageOutcome;
use crate::workflow::review::StageClass;
use crate::workflow::Workflow;

/// A rating counts towards the satisfaction rate when it is worth at least this many points
/// (满意 100 and 基本满意 70 in the default definition; 不满意 0 does not).
pub const SATISFIED_POINTS: f64 = 60.0;

/// One subdistrict's (or the district's) year.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Figures {
    /// Applied for: every project past its draft.
    pub applied: i64,
    /// Approved: under way, finished or terminated.
    pub approved: i64,
    pub finished: i64,
    pub terminated: i64,
    pub rejected: i64,
    pub withdrawn: i64,
    /// Approved and not ended.
    pub running: i64,
    /// Applied, not yet decided.
    pub undecided: i64,
    pub drafts: i64,
    /// finished / approved, in percent.
    pub finish_rate: Option<f64>,
    /// Milestones of projects under way or finished: all, due by now (or done), done on
    /// time, overdue.
    pub milestones: i64,
    pub milestones_due: i64,
    pub milestones_on_time: i64,
    pub milestones_overdue: i64,
    /// on time / due, in percent.
    pub on_time_rate: Option<f64>,
    /// Finished projects with a final score: how many, and their mean.
    pub scored: i64,
    pub score_sum: f64,
    pub average_score: Option<f64>,
    /// Appraisals by rating id, all of them, and the satisfied share in percent.
    pub ratings: BTreeMap<String, i64>,
    pub appraisals: i64,
    pub satisfied: i64,
    pub satisfaction_rate: Option<f64>,
    /// Topics of the pool closed by a finished project (问题解决).
    pub problems_solved: i64,
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round2(part as f64 * 100.0 / whole as f64))
}

impl Figures {
    fn finish(&mut self) {
        self.finish_rate = rate(self.finished, self.approved);
        self.on_time_rate = rate(self.milestones_on_time, self.milestones_due);
        self.average_score = (self.scored > 0).then(|| round2(self.score_sum / self.scored as f64));
        self.satisfaction_rate = rate(self.satisfied, self.appraisals);
    }

    fn add_projects(&mut self, class: StageClass, n: i64, scored: i64, sum: f64) {
        match class {
            StageClass::Draft => self.drafts += n,
            StageClass::Applied => self.undecided += n,
            StageClass::Approved => self.running += n,
            StageClass::Ended(StageOutcome::Closed) => {
                self.finished += n;
                self.scored += scored;
                self.score_sum += sum;
            }
            StageClass::Ended(StageOutcome::Terminated) => self.terminated += n,
            StageClass::Ended(StageOutcome::Rejected) => self.rejected += n,
            StageClass::Ended(StageOutcome::Withdrawn) => self.withdrawn += n,
        }
        if class != StageClass::Draft {
            self.applied += n;
        }
        if approved(class) {
            self.approved += n;
        }
    }
}

/// Approved at some point: under way, finished or terminated.
fn approved(class: StageClass) -> bool {
    matches!(
        class,
        StageClass::Approved
            | StageClass::Ended(StageOutcome::Closed)
            | StageClass::Ended(StageOutcome::Terminated)
    )
}

/// A person's inputs to the review that come from the year's data.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeadData {
    pub organisation_id: i64,
    pub tally: Tally,
    /// Appraisals of their projects and the sum of their rating points.
    pub appraisals: i64,
    pub rating_points: f64,
    pub milestones_due: i64,
    pub milestones_on_time: i64,
}

impl LeadData {
    /// The mean rating points of the residents' appraisals (None without any).
    pub fn resident_satisfaction(&self) -> Option<f64> {
        (self.appraisals > 0).then(|| round2(self.rating_points / self.appraisals as f64))
    }

    /// Percent of the due milestones done on time (None with none due).
    pub fn milestones_on_time(&self) -> Option<f64> {
        rate(self.milestones_on_time, self.milestones_due)
    }
}

/// The year folded: per subdistrict, in total, and per lead.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Year {
    pub by_organisation: BTreeMap<i64, Figures>,
    pub total: Figures,
    /// Projects by stage id, all subdistricts.
    pub by_stage: BTreeMap<String, i64>,
    #[serde(skip)]
    pub leads: BTreeMap<i64, LeadData>,
}

/// Fold the year's groups as the definition `w` reads them.
pub fn fold(w: &Workflow, g: &YearGroups) -> Year {
    let mut y = Year::default();
    let points: BTreeMap<&str, f64> = w
        .appraisal_part()
        .map(|p| {
            p.ratings
                .iter()
                .map(|r| (r.id.as_str(), *r.points.get()))
                .collect()
        })
        .unwrap_or_default();
    for p in &g.projects {
        let class = w.stage_class(&p.stage);
        for f in [
            y.by_organisation.entry(p.organisation_id).or_default(),
            &mut y.total,
        ] {
            f.add_projects(class, p.projects, p.scored, p.score_sum);
        }
        *y.by_stage.entry(p.stage.clone()).or_default() += p.projects;
        let lead = y.leads.entry(p.lead_user_id).or_default();
        lead.organisation_id = p.organisation_id;
        let unscored = (p.projects - p.scored).max(0);
        let t = &mut lead.tally;
        let n = |x: i64| u32::try_from(x).unwrap_or(u32::MAX);
        match class {
            StageClass::Ended(StageOutcome::Closed) => {
                t.closed += n(p.scored);
                t.closed_sum += p.score_sum;
                if let Some(b) = p.score_best {
                    t.closed_best = Some(t.closed_best.map_or(b, |x| x.max(b)));
                }
                t.running += n(unscored);
            }
            StageClass::Ended(StageOutcome::Terminated) => t.terminated += n(p.projects),
            StageClass::Ended(StageOutcome::Rejected) => t.rejected += n(p.projects),
            StageClass::Ended(StageOutcome::Withdrawn) => t.withdrawn += n(p.projects),
            StageClass::Draft | StageClass::Applied | StageClass::Approved => {
                t.running += n(p.projects)
            }
        }
    }
    for r in &g.ratings {
        let pts = points.get(r.rating.as_str()).copied();
        for f in [
            y.by_organisation.entry(r.organisation_id).or_default(),
            &mut y.total,
        ] {
            *f.ratings.entry(r.rating.clone()).or_default() += r.count;
            f.appraisals += r.count;
            if pts.is_some_and(|p| p >= SATISFIED_POINTS) {
                f.satisfied += r.count;
            }
        }
        let lead = y.leads.entry(r.lead_user_id).or_default();
        lead.appraisals += r.count;
        lead.rating_points += pts.unwrap_or(0.0) * r.count as f64;
    }
    for m in &g.milestones {
        // Under way or finished: a terminated project's milestones were given up, and an
        // application's not yet planned for real.
        if !matches!(
            w.stage_class(&m.stage),
            StageClass::Approved | StageClass::Ended(StageOutcome::Closed)
        ) {
            continue;
        }
        for f in [
            y.by_organisation.entry(m.organisation_id).or_default(),
            &mut y.total,
        ] {
            f.milestones += m.milestones;
            f.milestones_due += m.due;
            f.milestones_on_time += m.on_time;
            f.milestones_overdue += m.overdue;
        }
        let lead = y.leads.entry(m.lead_user_id).or_default();
        lead.milestones_due += m.due;
        lead.milestones_on_time += m.on_time;
    }
    for t in &g.topics {
        if w.stage_class(&t.stage) == StageClass::Ended(StageOutcome::Closed) {
            y.by_organisation
                .entry(t.organisation_id)
                .or_default()
                .problems_solved += t.topics;
            y.total.problems_solved += t.topics;
        }
    }
    for f in y.by_organisation.values_mut() {
        f.finish();
    }
    y.total.finish();
    y
}

/// A project's outcome for the review, from its stage and score.
pub fn outcome(w: &Workflow, stage: &str, final_score: Option<f64>) -> Outcome {
    match (w.stage_class(stage), final_score) {
        (StageClass::Ended(StageOutcome::Closed), Some(s)) => Outcome::Closed(s),
        (StageClass::Ended(StageOutcome::Terminated), _) => Outcome::Terminated,
        (StageClass::Ended(StageOutcome::Rejected), _) => Outcome::Rejected,
        (StageClass::Ended(StageOutcome::Withdrawn), _) => Outcome::Withdrawn,
        _ => Outcome::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::review_sql::{MilestoneGroup, ProjectGroup, RatingGroup, TopicGroup};

    fn pg(org: i64, lead: i64, stage: &str, n: i64, scores: &[f64]) -> ProjectGroup {
        ProjectGroup {
            organisation_id: org,
            lead_user_id: lead,
            stage: stage.into(),
            projects: n,
            scored: scores.len() as i64,
            score_sum: scores.iter().sum(),
            score_best: scores.iter().copied().reduce(f64::max),
        }
    }

    #[test]
    fn a_year_folded_by_hand() {
        let w = crate::workflow::default_workflow();
        let g = YearGroups {
            projects: vec![
                pg(1, 10, "closed", 2, &[90.0, 70.0]),
                pg(1, 10, "terminated", 1, &[]),
                pg(1, 10, "drafting", 1, &[]),
                pg(2, 20, "implementation", 2, &[]),
                pg(2, 20, "rejected", 1, &[]),
                pg(2, 20, "under_review", 1, &[]),
                pg(2, 20, "withdrawn", 1, &[]),
            ],
            ratings: vec![
                RatingGroup {
                    organisation_id: 1,
                    lead_user_id: 10,
                    stage: "closed".into(),
                    rating: "satisfied".into(),
                    count: 6,
                },
                RatingGroup {
                    organisation_id: 1,
                    lead_user_id: 10,
                    stage: "closed".into(),
                    rating: "basically_satisfied".into(),
                    count: 2,
                },
                RatingGroup {
                    organisation_id: 1,
                    lead_user_id: 10,
                    stage: "closed".into(),
                    rating: "not_satisfied".into(),
                    count: 2,
                },
            ],
            milestones: vec![
                MilestoneGroup {
                    organisation_id: 1,
                    lead_user_id: 10,
                    stage: "closed".into(),
                    milestones: 6,
                    due: 6,
                    on_time: 5,
                    overdue: 0,
                },
                MilestoneGroup {
                    organisation_id: 2,
                    lead_user_id: 20,
                    stage: "implementation".into(),
                    milestones: 6,
                    due: 3,
                    on_time: 1,
                    overdue: 2,
                },
                // A rejected application's milestones count nowhere.
                MilestoneGroup {
                    organisation_id: 2,
                    lead_user_id: 20,
                    stage: "rejected".into(),
                    milestones: 3,
                    due: 3,
                    on_time: 0,
                    overdue: 3,
                },
            ],
            topics: vec![
                TopicGroup {
                    organisation_id: 1,
                    stage: "closed".into(),
                    topics: 2,
                },
                TopicGroup {
                    organisation_id: 2,
                    stage: "implementation".into(),
                    topics: 1,
                },
            ],
        };
        let y = fold(&w, &g);
        let a = &y.by_organisation[&1];
        // Applied: 2 closed + 1 terminated (the draft is not applied); approved the same 3.
        assert_eq!(
            (a.applied, a.approved, a.finished, a.terminated, a.drafts),
            (3, 3, 2, 1, 1)
        );
        assert_eq!(a.finish_rate, Some(66.67));
        assert_eq!(a.average_score, Some(80.0));
        assert_eq!(
            (a.appraisals, a.satisfied, a.satisfaction_rate),
            (10, 8, Some(80.0))
        );
        assert_eq!(a.on_time_rate, Some(83.33));
        assert_eq!(a.problems_solved, 2);
        let b = &y.by_organisation[&2];
        assert_eq!(
            (
                b.applied,
                b.approved,
                b.running,
                b.rejected,
                b.withdrawn,
                b.undecided
            ),
            (5, 2, 2, 1, 1, 1)
        );
        assert_eq!(b.finish_rate, Some(0.0));
        assert_eq!((b.milestones, b.milestones_overdue), (6, 2));
        assert_eq!(b.average_score, None);
        assert_eq!(b.satisfaction_rate, None);
        assert_eq!(b.problems_solved, 0);
        let t = &y.total;
        assert_eq!((t.applied, t.approved, t.finished), (8, 5, 2));
        assert_eq!(t.finish_rate, Some(40.0));
        assert_eq!(t.on_time_rate, Some(66.67), "6 of 9 due");
        assert_eq!(y.by_stage["closed"], 2);
        let l = &y.leads[&10];
        assert_eq!(
            (l.tally.closed, l.tally.terminated, l.tally.running),
            (2, 1, 1)
        );
        assert_eq!(l.tally.closed_best, Some(90.0));
        // (6 x 100 + 2 x 70 + 2 x 0) / 10 = 74.
        assert_eq!(l.resident_satisfaction(), Some(74.0));
        assert_eq!(l.milestones_on_time(), Some(83.33));
        assert_eq!(y.leads[&20].resident_satisfaction(), None);
    }
}
