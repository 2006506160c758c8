//! The annual performance review (述职评议) of a year, as a definition's `annual_review`
//! declares it: pure. For each secretary: the project part (the year's projects combined by
//! `project_combine`, each outcome counted as the review's rules say), each review item, the
//! weighted total, the rank among all (ties share a rank, the next rank is skipped: 1, 2, 2, 4)
//! and the star band. What is read from the database goes in; the review and how each figure
//! was made come out.

use serde::{Deserialize, Serialize};

use super::round2;
use crate::workflow::model::{
    AnnualReview, ConsequenceWhen, CountRule, ProjectCombine, ReviewCounts, StarBand,
};

/// How one project of the year ended, as far as the review goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// A person's projects of the year, counted by outcome (what the database sums up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tally {
    /// Closed with a score: how many, the sum and the best of their scores.
    pub closed: u32,
    pub closed_sum: f64,
    pub closed_best: Option<f64>,
    pub running: u32,
    pub terminated: u32,
    pub rejected: u32,
    pub withdrawn: u32,
}

impl Tally {
    /// Add one project.
    pub fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Closed(s) => {
                self.closed += 1;
                self.closed_sum += s;
                self.closed_best = Some(self.closed_best.map_or(s, |b| b.max(s)));
            }
            Outcome::Running => self.running += 1,
            Outcome::Terminated => self.terminated += 1,
            Outcome::Rejected => self.rejected += 1,
            Outcome::Withdrawn => self.withdrawn += 1,
        }
    }

    pub fn projects(&self) -> u32 {
        self.closed + self.running + self.terminated + self.rejected + self.withdrawn
    }
}

/// The project part from the tally: the same figure as [`project_part`] over the list.
pub fn tally_part(combine: ProjectCombine, rules: &CountRules, t: &Tally) -> Option<f64> {
    let others = [
        (rules.running, t.running),
        (rules.terminated, t.terminated),
        (rules.rejected, t.rejected),
        (rules.withdrawn, t.withdrawn),
    ];
    let mut n = t.closed;
    let mut sum = t.closed_sum;
    let mut best = t.closed_best;
    for (rule, count) in others {
        if let (Counts::AsScore(s), c) = (rule, count) {
            if c > 0 {
                n += c;
                sum += s * f64::from(c);
                best = Some(best.map_or(s, |b| b.max(s)));
            }
        }
    }
    if n == 0 {
        return None;
    }
    Some(round2(match combine {
        ProjectCombine::Mean => sum / f64::from(n),
        ProjectCombine::Best => best.unwrap_or(0.0),
    }))
}

/// What goes into one person's review.
#[derive(Debug, Clone, Default)]
pub struct Person {
    pub user_id: i64,
    pub projects: Tally,
    /// Each item's score 0-100 by item id, where entered or derived.
    pub items: Vec<(String, f64)>,
}

/// One item's line: its score and what it adds to the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemLine {
    pub item: String,
    pub weight: f64,
    pub score: Option<f64>,
    pub weighted: Option<f64>,
}

/// One person's review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Line {
    pub user_id: i64,
    pub projects: Tally,
    pub project_part: Option<f64>,
    pub project_weight: f64,
    pub project_weighted: Option<f64>,
    pub items: Vec<ItemLine>,
    /// The weighted total; None while a part is missing (no counted project, an item not
    /// entered or not derivable), with what is missing in `missing`.
    pub total: Option<f64>,
    pub missing: Vec<String>,
    /// 1 for the best; ties share a rank and the next is skipped. None without a total.
    pub rank: Option<u32>,
    pub stars: Option<u8>,
    /// The consequences that follow (their ids, in the definition's order).
    pub consequences: Vec<String>,
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
            let part = tally_part(*r.project_combine.get(), rules, &p.projects);
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
                projects: p.projects,
                project_part: part,
                project_weight,
                project_weighted,
                items,
                total,
                missing,
                rank: None,
                stars: None,
                consequences: Vec::new(),
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
    let ranked: Vec<f64> = lines.iter().filter_map(|l| l.total).collect();
    for line in &mut lines {
        line.consequences = r
            .consequences
            .iter()
            .filter(|c| follows(&c.when, line, &ranked))
            .map(|c| c.id.to_string())
            .collect();
    }
    lines
}

/// Whether a consequence's condition holds for `line`; `totals` are all totals of the review.
fn follows(w: &ConsequenceWhen, line: &Line, totals: &[f64]) -> bool {
    let (Some(total), Some(rank)) = (line.total, line.rank) else {
        return false;
    };
    let stars = line.stars.unwrap_or(0);
    if let Some(n) = &w.top {
        return rank <= *n.get();
    }
    if let Some(n) = &w.bottom {
        // Fewer than N people below: among the last N (ties at the boundary included).
        let below = totals.iter().filter(|t| **t < total).count();
        return below < *n.get() as usize;
    }
    if let Some(s) = &w.stars_at_least {
        return stars >= *s.get();
    }
    if let Some(s) = &w.stars_at_most {
        return stars <= *s.get();
    }
    if let Some(x) = &w.total_below {
        return total < *x.get();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_review() -> AnnualReview {
        let w = crate::workflow::default_workflow();
        w.definition.annual_review.clone().unwrap()
    }

    fn tally(outcomes: &[Outcome]) -> Tally {
        let mut t = Tally::default();
        for o in outcomes {
            t.add(*o);
        }
        t
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
    fn the_tally_gives_the_lists_figure() {
        let outcomes = [
            Outcome::Closed(88.5),
            Outcome::Closed(61.25),
            Outcome::Terminated,
            Outcome::Running,
            Outcome::Rejected,
            Outcome::Withdrawn,
        ];
        let listed: Vec<(i64, Outcome)> = outcomes
            .iter()
            .copied()
            .zip(1..)
            .map(|(o, i)| (i, o))
            .collect();
        for rules in [
            CountRules::default(),
            CountRules {
                running: Counts::AsScore(0.0),
                rejected: Counts::AsScore(100.0),
                ..CountRules::default()
            },
        ] {
            for combine in [ProjectCombine::Mean, ProjectCombine::Best] {
                assert_eq!(
                    tally_part(combine, &rules, &tally(&outcomes)),
                    project_part(combine, &rules, &listed).0,
                    "{combine:?} {rules:?}"
                );
            }
        }
    }

    #[test]
    fn bottom_and_total_below() {
        let mut r = default_review();
        #[derive(serde::Deserialize)]
        struct Wrapped {
            c: Vec<crate::workflow::model::Consequence>,
        }
        let yaml = "c:\n  - id: last\n    name: {zh: 末位, en: Last}\n    when: {bottom: 2}\n  - id: low\n    name: {zh: 低, en: Low}\n    when: {total_below: 60}\n";
        let node = marked_yaml::parse_yaml(0, yaml).unwrap();
        r.consequences = marked_yaml::from_node::<Wrapped>(&node).unwrap().c;
        let person = |id, score: f64| Person {
            user_id: id,
            projects: tally(&[Outcome::Closed(score)]),
            items: items(score, score),
        };
        // Totals 90, 50, 50, 70: the two 50s are the last two; the 70 is not.
        let lines = review(
            &r,
            &CountRules::default(),
            &[
                person(1, 90.0),
                person(2, 50.0),
                person(3, 50.0),
                person(4, 70.0),
            ],
        );
        let cons: Vec<&[String]> = lines.iter().map(|l| l.consequences.as_slice()).collect();
        assert_eq!(cons[0], [] as [String; 0]);
        assert_eq!(cons[1], ["last", "low"]);
        assert_eq!(cons[2], ["last", "low"]);
        assert_eq!(cons[3], [] as [String; 0]);
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
                projects: tally(&[Outcome::Closed(88.0), Outcome::Closed(92.0)]),
                items: items(85.0, 95.0),
            },
            // 80 x 60% = 48; 80 x 20% = 16; 70 x 20% = 14: 78, three stars.
            Person {
                user_id: 2,
                projects: tally(&[Outcome::Closed(80.0), Outcome::Rejected]),
                items: items(80.0, 70.0),
            },
            // The same 78 by another road, a tie with the second: 65 x 60% = 39;
            // 97.5 x 20% = 19.5, twice: 78.
            Person {
                user_id: 3,
                projects: tally(&[Outcome::Closed(65.0)]),
                items: items(97.5, 97.5),
            },
            // Only a terminated project, counted 0: 0 + 50 x 20% x 2 = 20, one star, last.
            Person {
                user_id: 5,
                projects: tally(&[Outcome::Terminated]),
                items: items(50.0, 50.0),
            },
            // An item not entered: no total, no rank.
            Person {
                user_id: 4,
                projects: tally(&[Outcome::Closed(99.0)]),
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
            [lines[0].rank, lines[1].rank, lines[2].rank, lines[4].rank],
            [Some(1), Some(2), Some(2), None]
        );
        assert_eq!(total(3), Some(20.0));
        assert_eq!((lines[3].rank, lines[3].stars), (Some(4), Some(1)));
        assert_eq!(total(4), None);
        assert_eq!(lines[4].missing, ["resident_satisfaction"]);
        assert_eq!(lines[4].stars, None);
        // The default consequences: the top three ranks (1, 2, 2) are recommended, one star
        // means a talk; nobody without a total gets either.
        let cons: Vec<Vec<String>> = lines.iter().map(|l| l.consequences.clone()).collect();
        assert_eq!(
            cons,
            [
                vec!["commendation".to_string()],
                vec!["commendation".to_string()],
                vec!["commendation".to_string()],
                vec!["talk".to_string()],
                vec![],
            ]
        );
    }
}
