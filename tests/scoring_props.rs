//! Property tests of the pure scoring core on the default rubric and on the second
//! definition's: scores stay within bounds, weights are honoured, deductions are capped, a
//! trimmed mean drops exactly the highest and lowest, and a single changed input changes the
//! explanation where it should and nowhere else.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use secretary_projects::scoring::{final_score, Inputs, Sheet};
use secretary_projects::workflow::model::{Combine, PartSource, Scoring};
use secretary_projects::workflow::{self};

fn rubric(path: &str) -> Scoring {
    let w = workflow::load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    w.definition.scoring.clone().unwrap()
}

/// Sheets of `part` with each criterion at `share` of its maximum.
fn sheets(rubric: &Scoring, part: &str, shares: &[f64]) -> Vec<Sheet> {
    let p = rubric.parts.iter().find(|p| p.id.as_str() == part).unwrap();
    shares
        .iter()
        .enumerate()
        .map(|(k, s)| Sheet {
            part: part.to_string(),
            scorer: k as i64 + 1,
            criteria: p
                .criteria
                .iter()
                .map(|c| (c.id.to_string(), (*c.max.get() * s * 100.0).round() / 100.0))
                .collect(),
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Case {
    file: &'static str,
    self_share: Option<f64>,
    reviewer_shares: Vec<f64>,
    ratings: Vec<u32>,
    overdue: usize,
    missed: usize,
    manual: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            Just("workflows/secretary_project.yaml"),
            Just("tests/workflows/community_fund.yaml")
        ],
        proptest::option::of(0.0..=1.0f64),
        proptest::collection::vec(0.0..=1.0f64, 0..7),
        proptest::collection::vec(0u32..30, 3),
        0usize..10,
        0usize..5,
        0usize..15,
    )
        .prop_map(
            |(file, self_share, reviewer_shares, ratings, overdue, missed, manual)| Case {
                file,
                self_share,
                reviewer_shares,
                ratings,
                overdue,
                missed,
                manual,
            },
        )
}

fn inputs(r: &Scoring, c: &Case) -> Inputs {
    let mut all = Vec::new();
    for p in &r.parts {
        match p.source.get() {
            PartSource::SelfCheck => {
                if let Some(s) = c.self_share {
                    all.extend(sheets(r, p.id.as_str(), &[s]));
                }
            }
            PartSource::Reviewers => all.extend(sheets(r, p.id.as_str(), &c.reviewer_shares)),
            PartSource::Appraisal => {}
        }
    }
    let mut appraisals = BTreeMap::new();
    if let Some(p) = r
        .parts
        .iter()
        .find(|p| *p.source.get() == PartSource::Appraisal)
    {
        for (rating, n) in p.ratings.iter().zip(&c.ratings) {
            appraisals.insert(rating.id.to_string(), *n);
        }
    }
    let causes = |n: usize, what: &str| (0..n).map(|k| format!("{what} {k}")).collect::<Vec<_>>();
    let mut missed = BTreeMap::new();
    let mut manual = BTreeMap::new();
    for d in &r.deductions {
        missed.insert(d.id.to_string(), causes(c.missed, "deadline"));
        manual.insert(d.id.to_string(), causes(c.manual, "reason"));
    }
    Inputs {
        sheets: all,
        appraisals,
        overdue_milestones: causes(c.overdue, "milestone"),
        missed_deadlines: missed,
        manual,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn scores_stay_in_bounds_and_weights_are_honoured(c in case()) {
        let r = rubric(c.file);
        let e = final_score(&r, &inputs(&r, &c));
        prop_assert!((0.0..=100.0).contains(&e.final_score), "{}", e.final_score);
        for (line, part) in e.parts.iter().zip(&r.parts) {
            prop_assert!((0.0..=100.0).contains(&line.score), "{line:?}");
            prop_assert_eq!(line.weight, *part.weight.get());
            let expect = (line.score * line.weight / 100.0 * 100.0).round() / 100.0;
            prop_assert!((line.weighted - expect).abs() < 1e-9, "{line:?}");
            for s in &line.sheets {
                prop_assert!(s.points <= s.max + 1e-9 && s.points >= 0.0);
                let sum: f64 = s.criteria.iter().map(|c| c.points).sum();
                prop_assert!((sum - s.points).abs() < 1e-9);
                for cl in &s.criteria {
                    prop_assert!(cl.points >= 0.0 && cl.points <= cl.max);
                }
            }
        }
        let weighted: f64 = e.parts.iter().map(|p| p.weighted).sum();
        prop_assert!((e.subtotal - weighted).abs() < 0.006, "{} vs {weighted}", e.subtotal);
        let mut deducted = 0.0;
        for (d, def) in e.deductions.iter().zip(&r.deductions) {
            prop_assert_eq!(d.count as usize, d.causes.len());
            let raw = f64::from(d.count) * *def.points.get();
            let capped = def.max_total.as_ref().map(|m| raw.min(*m.get())).unwrap_or(raw);
            prop_assert!((d.total - capped).abs() < 0.006, "{d:?}");
            deducted += d.total;
        }
        let expect = (e.subtotal - deducted).clamp(0.0, 100.0);
        prop_assert!((e.final_score - expect).abs() < 0.006, "{} vs {expect}", e.final_score);
        // The grade is the band holding the final score.
        let band = r.grades.iter().find(|b| e.grade.as_deref() == Some(b.id.as_str())).unwrap();
        prop_assert!(e.final_score >= *band.min.get() && e.final_score <= *band.max.get());
    }

    #[test]
    fn a_trimmed_mean_drops_the_highest_and_the_lowest(c in case()) {
        let r = rubric(c.file);
        let e = final_score(&r, &inputs(&r, &c));
        for (line, part) in e.parts.iter().zip(&r.parts) {
            if *part.source.get() != PartSource::Reviewers {
                continue;
            }
            let dropped: Vec<_> = line.sheets.iter().filter(|s| s.dropped).collect();
            if *part.combine.get() == Combine::TrimmedMean && line.sheets.len() >= 3 {
                prop_assert_eq!(dropped.len(), 2);
                let max = line.sheets.iter().map(|s| s.score).fold(f64::MIN, f64::max);
                let min = line.sheets.iter().map(|s| s.score).fold(f64::MAX, f64::min);
                prop_assert!(dropped.iter().any(|s| s.score == max));
                prop_assert!(dropped.iter().any(|s| s.score == min));
            } else {
                prop_assert!(dropped.is_empty());
            }
        }
    }

    #[test]
    fn one_changed_input_changes_the_explanation_where_it_should(
        c in case(),
        which in any::<proptest::sample::Index>(),
        delta in 0.5..5.0f64,
    ) {
        let r = rubric(c.file);
        let before_inputs = inputs(&r, &c);
        prop_assume!(!before_inputs.sheets.is_empty());
        let before = final_score(&r, &before_inputs);
        // Lower one criterion of one sheet (when it has room to go down).
        let mut after_inputs = before_inputs.clone();
        let k = which.index(after_inputs.sheets.len());
        let sheet = &mut after_inputs.sheets[k];
        let (criterion, value) = sheet.criteria.iter().next().map(|(c, v)| (c.clone(), *v)).unwrap();
        prop_assume!(value >= delta);
        sheet.criteria.insert(criterion.clone(), value - delta);
        let (part, scorer) = (sheet.part.clone(), sheet.scorer);
        let after = final_score(&r, &after_inputs);
        for (b, a) in before.parts.iter().zip(&after.parts) {
            if b.part != part {
                prop_assert_eq!(b, a, "another part changed");
                continue;
            }
            let sb = b.sheets.iter().find(|s| s.scorer == scorer).unwrap();
            let sa = a.sheets.iter().find(|s| s.scorer == scorer).unwrap();
            prop_assert!((sb.points - sa.points - delta).abs() < 1e-9, "{sb:?} {sa:?}");
            let cb = sb.criteria.iter().find(|x| x.criterion == criterion).unwrap();
            let ca = sa.criteria.iter().find(|x| x.criterion == criterion).unwrap();
            prop_assert!((cb.points - ca.points - delta).abs() < 1e-9);
            for (x, y) in b.sheets.iter().zip(&a.sheets) {
                if x.scorer != scorer {
                    prop_assert_eq!(&x.criteria, &y.criteria, "another scorer's sheet changed");
                }
            }
            // A lower sheet never raises the part.
            prop_assert!(a.score <= b.score + 1e-9);
        }
        prop_assert!(after.final_score <= before.final_score + 1e-9);
        prop_assert_eq!(&before.deductions, &after.deductions);
    }
}
