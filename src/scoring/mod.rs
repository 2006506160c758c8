//! Scoring, pure: a score sheet checked against its rubric, and the final score of a project
//! from its parts (self-check, reviewers, residents), weights, deductions and grade bands, with
//! an explanation that traces every figure to its inputs.

pub mod annual;
pub mod appraisal;
pub mod figures;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::workflow::model::{Band, Combine, DeductionBasis, Part, PartSource, Scoring};

/// One scorer's points per criterion for one part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sheet {
    pub part: String,
    pub scorer: i64,
    pub criteria: BTreeMap<String, f64>,
}

/// Everything a final score is computed from. Each deduction's causes are texts that say
/// what happened (one per occurrence), so that the explanation can show why it was made.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub sheets: Vec<Sheet>,
    /// Resident ratings: rating id -> how many.
    pub appraisals: BTreeMap<String, u32>,
    /// One cause per milestone finished late or still open past its due date.
    pub overdue_milestones: Vec<String>,
    /// Missed deadlines, under the deduction their definition names: one cause each.
    pub missed_deadlines: BTreeMap<String, Vec<String>>,
    /// Manual deductions: deduction id -> the reason recorded each time.
    pub manual: BTreeMap<String, Vec<String>>,
}

/// Check a submitted sheet: every criterion of `part` given once, within 0..=max, nothing else.
pub fn check_sheet(
    part: &Part,
    given: &Map<String, Value>,
) -> Result<BTreeMap<String, f64>, Vec<String>> {
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for key in given.keys() {
        if !part.criteria.iter().any(|c| c.id.as_str() == key) {
            problems.push(format!("`{key}` is not a criterion of part `{}`", part.id));
        }
    }
    for c in &part.criteria {
        match given.get(c.id.as_str()).and_then(Value::as_f64) {
            None => problems.push(format!(
                "criterion `{}` needs a number from 0 to {}",
                c.id, c.max
            )),
            Some(v) if !(0.0..=*c.max.get()).contains(&v) => problems.push(format!(
                "criterion `{}`: {v} is outside 0 to {}",
                c.id, c.max
            )),
            Some(v) => {
                out.insert(c.id.to_string(), v);
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CriterionLine {
    pub criterion: String,
    pub points: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SheetLine {
    pub scorer: i64,
    /// Points per criterion, in the rubric's order.
    #[serde(default)]
    pub criteria: Vec<CriterionLine>,
    /// Their sum.
    pub points: f64,
    pub max: f64,
    /// Scaled to 100.
    pub score: f64,
    /// Left out by a trimmed mean.
    pub dropped: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RatingLine {
    pub rating: String,
    pub count: u32,
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartLine {
    pub part: String,
    pub weight: f64,
    /// The part's own score, 0-100.
    pub score: f64,
    /// `score * weight / 100`.
    pub weighted: f64,
    pub sheets: Vec<SheetLine>,
    pub ratings: Vec<RatingLine>,
    /// How sheets combined (reviewers).
    pub combine: Option<Combine>,
    /// True when no input existed for the part (it then scores 0).
    pub missing: bool,
    /// For resident appraisal: how many ratings in all.
    #[serde(default)]
    pub appraisals: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeductionLine {
    pub deduction: String,
    pub count: u32,
    pub points_each: f64,
    #[serde(default)]
    pub max_total: Option<f64>,
    /// `min(count * points_each, max_total)`.
    pub total: f64,
    /// Why, one text per occurrence.
    #[serde(default)]
    pub causes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Explanation {
    pub parts: Vec<PartLine>,
    /// Sum of the weighted part scores.
    pub subtotal: f64,
    pub deductions: Vec<DeductionLine>,
    /// `max(0, subtotal - deductions)`, rounded to two decimals.
    pub final_score: f64,
    pub grade: Option<String>,
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn part_line(part: &Part, inputs: &Inputs) -> PartLine {
    let weight = *part.weight.get();
    let mut line = PartLine {
        part: part.id.to_string(),
        weight,
        score: 0.0,
        weighted: 0.0,
        sheets: Vec::new(),
        ratings: Vec::new(),
        combine: None,
        missing: false,
        appraisals: 0,
    };
    match part.source.get() {
        PartSource::SelfCheck | PartSource::Reviewers => {
            let max: f64 = part.criteria.iter().map(|c| *c.max.get()).sum();
            let mut sheets: Vec<SheetLine> = inputs
                .sheets
                .iter()
                .filter(|s| s.part == part.id.as_str())
                .map(|s| {
                    let criteria: Vec<CriterionLine> = part
                        .criteria
                        .iter()
                        .map(|c| CriterionLine {
                            criterion: c.id.to_string(),
                            points: s
                                .criteria
                                .get(c.id.as_str())
                                .copied()
                                .unwrap_or(0.0)
                                .clamp(0.0, *c.max.get()),
                            max: *c.max.get(),
                        })
                        .collect();
                    let points: f64 = criteria.iter().map(|c| c.points).sum();
                    let score = if max > 0.0 { points / max * 100.0 } else { 0.0 };
                    SheetLine {
                        scorer: s.scorer,
                        criteria,
                        points,
                        max,
                        score,
                        dropped: false,
                    }
                })
                .collect();
            sheets.sort_by_key(|s| s.scorer);
            let combine = if *part.source.get() == PartSource::Reviewers {
                *part.combine.get()
            } else {
                Combine::Mean
            };
            line.score = combine_scores(&mut sheets, combine);
            line.missing = sheets.is_empty();
            line.sheets = sheets;
            if *part.source.get() == PartSource::Reviewers {
                line.combine = Some(combine);
            }
        }
        PartSource::Appraisal => {
            let mut total = 0u32;
            let mut sum = 0.0;
            for r in &part.ratings {
                let count = inputs.appraisals.get(r.id.as_str()).copied().unwrap_or(0);
                total += count;
                sum += f64::from(count) * *r.points.get();
                line.ratings.push(RatingLine {
                    rating: r.id.to_string(),
                    count,
                    points: *r.points.get(),
                });
            }
            line.missing = total == 0;
            line.appraisals = total;
            line.score = if total > 0 {
                sum / f64::from(total)
            } else {
                0.0
            };
        }
    }
    line.score = round2(line.score);
    line.weighted = round2(line.score * weight / 100.0);
    line
}

/// Combine sheet scores; marks the sheets a trimmed mean drops.
fn combine_scores(sheets: &mut [SheetLine], combine: Combine) -> f64 {
    if sheets.is_empty() {
        return 0.0;
    }
    let mut order: Vec<usize> = (0..sheets.len()).collect();
    order.sort_by(|a, b| sheets[*a].score.total_cmp(&sheets[*b].score));
    match combine {
        Combine::Mean => sheets.iter().map(|s| s.score).sum::<f64>() / sheets.len() as f64,
        Combine::TrimmedMean if sheets.len() >= 3 => {
            sheets[order[0]].dropped = true;
            sheets[order[order.len() - 1]].dropped = true;
            let kept: Vec<f64> = sheets
                .iter()
                .filter(|s| !s.dropped)
                .map(|s| s.score)
                .collect();
            kept.iter().sum::<f64>() / kept.len() as f64
        }
        Combine::TrimmedMean => sheets.iter().map(|s| s.score).sum::<f64>() / sheets.len() as f64,
        Combine::Median => {
            let n = order.len();
            if n % 2 == 1 {
                sheets[order[n / 2]].score
            } else {
                (sheets[order[n / 2 - 1]].score + sheets[order[n / 2]].score) / 2.0
            }
        }
    }
}

/// The band that holds `score`: `[min, max)`, the top band including its `max`.
pub fn band(bands: &[Band], score: f64) -> Option<&Band> {
    let top = bands.iter().map(|b| *b.max.get()).fold(f64::MIN, f64::max);
    bands.iter().find(|b| {
        score >= *b.min.get() && (score < *b.max.get() || (score == top && *b.max.get() == top))
    })
}

/// The final score of a project and how it was made.
pub fn final_score(scoring: &Scoring, inputs: &Inputs) -> Explanation {
    let parts: Vec<PartLine> = scoring.parts.iter().map(|p| part_line(p, inputs)).collect();
    let subtotal = round2(parts.iter().map(|p| p.weighted).sum());
    let deductions: Vec<DeductionLine> = scoring
        .deductions
        .iter()
        .map(|d| {
            let causes: Vec<String> = match d.per.get() {
                DeductionBasis::OverdueMilestone => inputs.overdue_milestones.clone(),
                DeductionBasis::MissedDeadline => inputs
                    .missed_deadlines
                    .get(d.id.as_str())
                    .cloned()
                    .unwrap_or_default(),
                DeductionBasis::Manual => inputs
                    .manual
                    .get(d.id.as_str())
                    .cloned()
                    .unwrap_or_default(),
            };
            let count = u32::try_from(causes.len()).unwrap_or(u32::MAX);
            let raw = f64::from(count) * *d.points.get();
            let total = d
                .max_total
                .as_ref()
                .map(|m| raw.min(*m.get()))
                .unwrap_or(raw);
            DeductionLine {
                deduction: d.id.to_string(),
                count,
                points_each: *d.points.get(),
                max_total: d.max_total.as_ref().map(|m| *m.get()),
                total: round2(total),
                causes,
            }
        })
        .collect();
    let deducted: f64 = deductions.iter().map(|d| d.total).sum();
    let final_score = round2((subtotal - deducted).clamp(0.0, 100.0));
    let grade = band(&scoring.grades, final_score).map(|b| b.id.to_string());
    Explanation {
        parts,
        subtotal,
        deductions,
        final_score,
        grade,
    }
}
