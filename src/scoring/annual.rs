//! The annual performance review (述职评议) of a year, as a definition's `annual_review`
//! declares it: pure. For each secretary: the project part (the year's projects combined by
//! `project_combine`, each outcome counted as the review's rules say), each review item, the
//! weighted total, the rank among all (ties share a rank, the next rank is skipped: 1, 2, 2, 4)
//! and the star band. What is read from the database goes in; the review and how each figure
//! was made come out.

use serde::Serialize;

use super::round2;
use crate::workflow::model::{AnnualReview, CountRule, ProjectCombine, ReviewCounts, StarBand};

/// How one project of the year ended, as far as the review goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "score")]
pub enum Outcome {
    /// Closed with its final score.
    Closed(f64),
    /// Still under way (or closed without a score yet).
    Running,
    Terminated,
    Rejected,
    Withdrawn,
}

/// How a project that did not close with a score counts in the project part.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Counts {
    /// Left out of the combination (neither helps nor hurts).
    Excluded,
    /// Counted as this score (0 for "a terminated project scores nothing").
    AsScore(f64),
}

/// The review's rule for each outcome that is not a closed project.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CountRules {
    pub running: Counts,
    pub terminated: Counts,
    pub rejected: Counts,
    pub withdrawn: Counts,
}

impl Default for CountRules {
    /// Only closed projects count; a terminated one counts as 0 (it was approved and then
    /// stopped), the others are left out.
    fn default() -> Self {
        CountRules {
            running: Counts::Excluded,
            terminated: Counts::AsScore(0.0),
            rejected: Counts::Excluded,
            withdrawn: Counts::Excluded,
        }
    }
}

impl From<&ReviewCounts> for CountRules {
    /// The definition's `annual_review.counts`.
    fn from(c: &ReviewCounts) -> Self {
        let one = |r: &CountRule| match r {
            CountRule::Word(_) => Counts::Excluded,
            CountRule::Score(s) => Counts::AsScore(*s),
        };
        CountRules {
            running: one(c.running.get()),
            terminated: one(c.terminated.get()),
            rejected: one(c.rejected.get()),
            withdrawn: one(c.withdrawn.get()),
        }
    }
}

impl CountRules {
    /// The score a project contributes, or None when it is left out.
    pub fn counted(&self, o: Outcome) -> Option<f64> {
        let rule = match o {
            Outcome::Closed(s) => return Some(s),
            Outcome::Running => self.running,
            Outcome::Terminated => self.terminated,
            Outcome::Rejected => self.rejected,
            Outcome::Withdrawn => self.withdrawn,
        };
        match rule {
            Counts::Excluded => None,
            Counts::AsScore(s) => Some(s),
        }
    }
}

/// One project's line in a secretary's project part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectLine {
    pub project_id: i64,
    pub outcome: Outcome,
    /// What it contributes (None: left out).
    pub counted: Option<f64>,
}

/// The project part: the projects' scores combined (None when no project counts).
pub fn project_part(
    combine: ProjectCombine,
    rules: &CountRules,
    projects: &[(i64, Outcome)],
) -> (Option<f64>, Vec<ProjectLine>) {
    let lines: Vec<ProjectLine> = projects
        .iter()
        .map(|(id, o)| ProjectLine {
            project_id: *id,
            outcome: *o,
            counted: rules.counted(*o),
        })
        .collect();
    let scores: Vec<f64> = lines.iter().filter_map(|l| l.counted).collect();
    let part = if scores.is_empty() {
        None
    } else {
        Some(round2(match combine {
            ProjectCombine::Mean => scores.iter().sum::<f64>() / scores.len() as f64,
            ProjectCombine::Best => scores.iter().copied().fold(f64::MIN, f64::max),
        }))
    };
    (part, lines)
}

/// What goes into one secretary's review.
#[derive(Debug, Clone)]
pub struct Person {
    pub user_id: i64,
    pub projects: Vec<(i64, Outcome)>,
    /// Each item's score 0-100 by item id, where entered or derived.
    pub items: Vec<(String, f64)>,
}

/// One item's line: its score and what it adds to the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemLine {
    pub item: String,
    pub weight: f64,
    pub score: Option<f64>,
    pub weighted: Option<f64>,
}

/// One secretary's review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub user_id: i64,
    pub projects: Vec<ProjectLine>,
    pub project_part: Option<f64>,
    pub project_weight: f64,
    pub project_weighted: Option<f64>,
    pub items: Vec<ItemLine>,
    /// The weighted total; None while a part is missing (no counted project, an item not
    /// entered), with what is missing in `missing`.
    pub total: Option<f64>,
    pub missing: Vec<String>,
    /// 1 for the best; ties share a rank and the next is skipped. None without a total.
    pub rank: Option<u32>,
    pub stars: Option<u8>,
}

/// The star band that holds `total`: `[min, max)`, the top band including its `max`.
pub fn star_band(bands: &[StarBand], total: f64) -> Option<&StarBand> {
    let top = bands.iter().map(|b| *b.max.get()).fold(f64::MIN, f64::max);
    bands.iter().find(|b| {
        total >= *b.min.get() && (total < *b.max.get() || (total == top && *b.max.get() == top))
    })
}

/// Competition ranking ("1224") of the totals: the highest first, equal totals share a rank,
/// the next rank skips as many as shared it. Missing totals get no rank.
pub fn ranks(totals: &[Option<f64>]) -> Vec<Option<u32>> {
    totals
        .iter()
        .map(|t| {
            let t = (*t)?;
            let above = totals.iter().flatten().filter(|o| **o > t).count();
            Some(u32::try_from(above).unwrap_or(u32::MAX).saturating_add(1))
        })
        .collect()
}

/// The review of everyone in `people`, in the order given, ranked among themselves.
pub fn review(r: &AnnualReview, rules: &CountRules, people: &[Person]) -> Vec<Line> {
    let project_weight = *r.project_weight.get();
    let mut lines: Vec<Line> = people
        .iter()
        .map(|p| {
            let (part, projects) = project_part(*r.project_combine.get(), rules, &p.projects);
            let mut missing = Vec::new();
            if part.is_none() {
                missing.push("projects".to_string());
            }
            let items: Vec<ItemLine> = r
                .items
                .iter()
                .map(|i| {
                    let score = p
                        .items
                        .iter()
                        .find(|(id, _)| id == i.id.as_str())
                        .map(|(_, s)| *s);
                    if score.is_none() {
                        missing.push(i.id.to_string());
                    }
                    let weight = *i.weight.get();
                    ItemLine {
                        item: i.id.to_string(),
                        weight,
                        score,
                        weighted: score.map(|s| round2(s * weight / 100.0)),
                    }
                })
                .collect();
            let project_weighted = part.map(|s| round2(s * project_weight / 100.0));
            let total = missing.is_empty().then(|| {
                round2(
                    project_weighted.unwrap_or(0.0)
                        + items.iter().filter_map(|i| i.weighted).sum::<f64>(),
                )
            });
            Line {
                user_id: p.user_id,
                projects,
                project_part: part,
                project_weight,
                project_weighted,
                items,
                total,
                missing,
                rank: None,
                stars: None,
            }
        })
        .collect();
    let totals: Vec<Option<f64>> = lines.iter().map(|l| l.total).collect();
    for (line, rank) in lines.iter_mut().zip(ranks(&totals)) {
        line.rank = rank;
        line.stars = line
            .total
            .and_then(|t| star_band(&r.stars, t))
            .map(|b| *b.stars.get());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_review() -> AnnualReview {
        let w = crate::workflow::default_workflow();
        w.definition.annual_review.clone().unwrap()
    }

    fn items(party: f64, satisfaction: f64) -> Vec<(String, f64)> {
        vec![
            ("party_building_report".into(), party),
            ("resident_satisfaction".into(), satisfaction),
        ]
    }

    #[test]
    fn the_definitions_counts_are_the_rules() {
        // The default definition says nothing: the defaults.
        assert_eq!(
            CountRules::from(&default_review().counts),
            CountRules::default()
        );
        let yaml = "running: 0\nterminated: excluded\n";
        let node = marked_yaml::parse_yaml(0, yaml).unwrap();
        let c: ReviewCounts = marked_yaml::from_node(&node).unwrap();
        let rules = CountRules::from(&c);
        assert_eq!(rules.running, Counts::AsScore(0.0));
        assert_eq!(rules.terminated, Counts::Excluded);
        assert_eq!(rules.rejected, Counts::Excluded);
        let node = marked_yaml::parse_yaml(0, "running: sometimes\n").unwrap();
        let e = marked_yaml::from_node::<ReviewCounts>(&node).unwrap_err();
        assert!(e.to_string().contains("`excluded` or a score"), "{e}");
    }

    #[test]
    fn ties_share_a_rank_and_the_next_is_skipped() {
        assert_eq!(
            ranks(&[Some(80.0), Some(90.0), Some(80.0), None, Some(70.0)]),
            [Some(2), Some(1), Some(2), None, Some(4)]
        );
        assert_eq!(ranks(&[]), Vec::<Option<u32>>::new());
    }

    #[test]
    fn outcomes_count_as_the_rules_say() {
        let rules = CountRules::default();
        let projects = [
            (1, Outcome::Closed(90.0)),
            (2, Outcome::Terminated),
            (3, Outcome::Rejected),
            (4, Outcome::Running),
        ];
        // Mean of 90 and the terminated 0; the rejected and running left out.
        let (part, lines) = project_part(ProjectCombine::Mean, &rules, &projects);
        assert_eq!(part, Some(45.0));
        assert_eq!(lines[2].counted, None);
        assert_eq!(lines[1].counted, Some(0.0));
        let (best, _) = project_part(ProjectCombine::Best, &rules, &projects);
        assert_eq!(best, Some(90.0));
        // Nothing counted: no part.
        let (none, _) = project_part(ProjectCombine::Mean, &rules, &[(5, Outcome::Running)]);
        assert_eq!(none, None);
        let strict = CountRules {
            running: Counts::AsScore(0.0),
            ..rules
        };
        let (with_running, _) = project_part(ProjectCombine::Mean, &strict, &projects);
        assert_eq!(with_running, Some(30.0));
    }

    #[test]
    fn the_review_of_a_year_worked_out_by_hand() {
        let r = default_review();
        let rules = CountRules::default();
        let people = vec![
            // (88 + 92) / 2 = 90 x 60% = 54; 85 x 20% = 17; 95 x 20% = 19: 90, five stars.
            Person {
                user_id: 1,
                projects: vec![(11, Outcome::Closed(88.0)), (12, Outcome::Closed(92.0))],
                items: items(85.0, 95.0),
            },
            // 80 x 60% = 48; 80 x 20% = 16; 70 x 20% = 14: 78, three stars.
            Person {
                user_id: 2,
                projects: vec![(21, Outcome::Closed(80.0)), (22, Outcome::Rejected)],
                items: items(80.0, 70.0),
            },
            // The same 78 by another road, a tie with the second: 65 x 60% = 39;
            // 97.5 x 20% = 19.5, twice: 78.
            Person {
                user_id: 3,
                projects: vec![(31, Outcome::Closed(65.0))],
                items: items(97.5, 97.5),
            },
            // An item not entered: no total, no rank.
            Person {
                user_id: 4,
                projects: vec![(41, Outcome::Closed(99.0))],
                items: vec![("party_building_report".into(), 90.0)],
            },
        ];
        let lines = review(&r, &rules, &people);
        let total = |k: usize| lines[k].total;
        assert_eq!(total(0), Some(90.0));
        assert_eq!(lines[0].project_part, Some(90.0));
        assert_eq!(lines[0].project_weighted, Some(54.0));
        assert_eq!(lines[0].stars, Some(5), "90 is in the top band [90, 100]");
        assert_eq!(total(1), Some(78.0));
        assert_eq!(total(2), Some(78.0));
        assert_eq!(lines[1].stars, Some(3));
        assert_eq!(
            [lines[0].rank, lines[1].rank, lines[2].rank, lines[3].rank],
            [Some(1), Some(2), Some(2), None]
        );
        assert_eq!(total(3), None);
        assert_eq!(lines[3].missing, ["resident_satisfaction"]);
        assert_eq!(lines[3].stars, None);
    }
}
