//! Checking a stage's form data against the fields the definition declares. Pure.
//!
//! Form data is a JSON object keyed by field id. Saving a draft checks types and limits only;
//! a `form_complete` guard also requires every required field.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::model::{Field, FieldType, Stage};

#[derive(Debug, Clone, PartialEq)]
pub enum FieldProblemKind {
    UnknownField,
    Missing,
    WrongType(&'static str),
    TooLong {
        max: u32,
    },
    BelowMin(f64),
    AboveMax(f64),
    BadDate,
    UnknownOption(Vec<String>),
    TooFewItems(u32),
    TooManyItems(u32),
    BadItem {
        index: usize,
        detail: String,
    },
    /// A goal review that does not take the application's goals one by one.
    GoalsMismatch {
        missing: Vec<String>,
        unknown: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldProblem {
    pub field: String,
    pub kind: FieldProblemKind,
}

impl FieldProblem {
    /// A message for people, in Chinese or (for `en...`) English.
    pub fn message(&self, lang: &str) -> String {
        use FieldProblemKind as K;
        let en = lang.starts_with("en");
        let f = &self.field;
        match (&self.kind, en) {
            (K::UnknownField, true) => format!("`{f}` is not a field of this form"),
            (K::UnknownField, false) => format!("“{f}”不是此表单的字段"),
            (K::Missing, true) => format!("`{f}` is required"),
            (K::Missing, false) => format!("“{f}”为必填项"),
            (K::WrongType(t), true) => format!("`{f}` must be {t}"),
            (K::WrongType(t), false) => format!("“{f}”的类型应为{}", zh_type(t)),
            (K::TooLong { max }, true) => format!("`{f}` is longer than {max} characters"),
            (K::TooLong { max }, false) => format!("“{f}”超过{max}个字符"),
            (K::BelowMin(m), true) => format!("`{f}` must be at least {m}"),
            (K::BelowMin(m), false) => format!("“{f}”不得小于{m}"),
            (K::AboveMax(m), true) => format!("`{f}` must be at most {m}"),
            (K::AboveMax(m), false) => format!("“{f}”不得大于{m}"),
            (K::BadDate, true) => format!("`{f}` must be a date written YYYY-MM-DD"),
            (K::BadDate, false) => format!("“{f}”应为日期，格式 YYYY-MM-DD"),
            (K::UnknownOption(o), true) => format!("`{f}` must be one of: {}", o.join(", ")),
            (K::UnknownOption(o), false) => format!("“{f}”应为以下之一：{}", o.join("、")),
            (K::TooFewItems(n), true) => format!("`{f}` needs at least {n} entries"),
            (K::TooFewItems(n), false) => format!("“{f}”至少需要{n}项"),
            (K::TooManyItems(n), true) => format!("`{f}` takes at most {n} entries"),
            (K::TooManyItems(n), false) => format!("“{f}”最多{n}项"),
            (K::BadItem { index, detail }, true) => format!("`{f}` entry {}: {detail}", index + 1),
            (K::BadItem { index, detail }, false) => format!("“{f}”第{}项：{detail}", index + 1),
            (K::GoalsMismatch { missing, unknown }, true) => {
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("goals not reviewed: {}", missing.join("; ")));
                }
                if !unknown.is_empty() {
                    parts.push(format!(
                        "not goals of the application: {}",
                        unknown.join("; ")
                    ));
                }
                format!("`{f}`: {}", parts.join("; "))
            }
            (K::GoalsMismatch { missing, unknown }, false) => {
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("以下目标尚未对照：{}", missing.join("；")));
                }
                if !unknown.is_empty() {
                    parts.push(format!("以下不是立项申请中的目标：{}", unknown.join("；")));
                }
                format!("“{f}”{}", parts.join("；"))
            }
        }
    }
}

fn zh_type(t: &str) -> &'static str {
    match t {
        "a text" => "文本",
        "a number" => "数字",
        "a list" => "列表",
        _ => "正确类型",
    }
}

/// Whether a value counts as filled in: not null, not blank text, not an empty list.
pub fn is_filled(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// Check `data` against `stage`'s form. With `require_all`, missing required fields count too.
pub fn check_form(
    stage: &Stage,
    data: &Map<String, Value>,
    require_all: bool,
) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for key in data.keys() {
        if !stage.form.iter().any(|f| f.id.as_str() == key) {
            problems.push(FieldProblem {
                field: key.clone(),
                kind: FieldProblemKind::UnknownField,
            });
        }
    }
    for field in &stage.form {
        let value = data.get(field.id.as_str());
        if !is_filled(value) {
            if require_all && field.required {
                problems.push(FieldProblem {
                    field: field.id.to_string(),
                    kind: FieldProblemKind::Missing,
                });
            }
            continue;
        }
        if let Some(v) = value {
            if let Err(kind) = check_value(field, v) {
                problems.push(FieldProblem {
                    field: field.id.to_string(),
                    kind,
                });
            }
        }
    }
    problems
}

fn check_value(field: &Field, v: &Value) -> Result<(), FieldProblemKind> {
    use FieldProblemKind as K;
    match field.field_type.get() {
        FieldType::Text | FieldType::LongText => {
            let s = v.as_str().ok_or(K::WrongType("a text"))?;
            if let Some(max) = &field.max_length {
                if s.chars().count() > **max as usize {
                    return Err(K::TooLong { max: **max });
                }
            }
            Ok(())
        }
        FieldType::Number => {
            let n = v.as_f64().ok_or(K::WrongType("a number"))?;
            if let Some(min) = &field.min {
                if n < **min {
                    return Err(K::BelowMin(**min));
                }
            }
            if let Some(max) = &field.max {
                if n > **max {
                    return Err(K::AboveMax(**max));
                }
            }
            Ok(())
        }
        FieldType::Date => v
            .as_str()
            .and_then(parse_date)
            .map(|_| ())
            .ok_or(K::BadDate),
        FieldType::Choice => {
            let s = v.as_str().ok_or(K::WrongType("a text"))?;
            if field.options.iter().any(|o| o.id.as_str() == s) {
                Ok(())
            } else {
                Err(K::UnknownOption(
                    field.options.iter().map(|o| o.id.to_string()).collect(),
                ))
            }
        }
        FieldType::Milestones
        | FieldType::Team
        | FieldType::Attachments
        | FieldType::GoalReview => {
            let items = v.as_array().ok_or(K::WrongType("a list"))?;
            if let Some(min) = &field.min_items {
                if items.len() < **min as usize {
                    return Err(K::TooFewItems(**min));
                }
            }
            if let Some(max) = &field.max_items {
                if items.len() > **max as usize {
                    return Err(K::TooManyItems(**max));
                }
            }
            for (index, item) in items.iter().enumerate() {
                let checked = match field.field_type.get() {
                    FieldType::Milestones => MilestonePlan::from_json(item).map(|_| ()),
                    FieldType::Team => check_team_member(item),
                    FieldType::GoalReview => GoalResult::from_json(item).map(|_| ()),
                    _ => check_attachment_ref(item),
                };
                checked.map_err(|detail| K::BadItem { index, detail })?;
            }
            Ok(())
        }
    }
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// One planned milestone as written in a `milestones` field.
#[derive(Debug, Clone, PartialEq)]
pub struct MilestonePlan {
    pub title: String,
    pub goal: String,
    /// The owner's login.
    pub owner: String,
    pub start: Option<NaiveDate>,
    pub due: NaiveDate,
    pub weight: f64,
}

impl MilestonePlan {
    pub fn from_json(v: &Value) -> Result<MilestonePlan, String> {
        let o = v
            .as_object()
            .ok_or("expected an object with title, owner and due")?;
        for k in o.keys() {
            if !["title", "goal", "owner", "start", "due", "weight"].contains(&k.as_str()) {
                return Err(format!(
                    "unknown key `{k}` (expected title, goal, owner, start, due, weight)"
                ));
            }
        }
        let text = |k: &str, required: bool| -> Result<String, String> {
            match o.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                None | Some(Value::Null) if !required => Ok(String::new()),
                Some(Value::String(_)) | None | Some(Value::Null) => {
                    Err(format!("`{k}` is required"))
                }
                Some(_) => Err(format!("`{k}` must be a text")),
            }
        };
        let title = text("title", true)?;
        if title.chars().count() > 200 {
            return Err("`title` is longer than 200 characters".into());
        }
        let goal = text("goal", false)?;
        let owner = text("owner", true)?;
        let date = |k: &str| -> Result<Option<NaiveDate>, String> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_str()
                    .and_then(parse_date)
                    .map(Some)
                    .ok_or(format!("`{k}` must be a date YYYY-MM-DD")),
            }
        };
        let start = date("start")?;
        let due = date("due")?.ok_or("`due` is required")?;
        if start.is_some_and(|s| s > due) {
            return Err("`start` is after `due`".into());
        }
        let weight = match o.get("weight") {
            None | Some(Value::Null) => 1.0,
            Some(v) => v
                .as_f64()
                .filter(|w| *w > 0.0 && *w <= 100.0)
                .ok_or("`weight` must be a number more than 0 and at most 100")?,
        };
        Ok(MilestonePlan {
            title,
            goal,
            owner,
            start,
            due,
            weight,
        })
    }
}

fn check_team_member(v: &Value) -> Result<(), String> {
    let o = v
        .as_object()
        .ok_or("expected an object with user and duty")?;
    for k in o.keys() {
        if k != "user" && k != "duty" {
            return Err(format!("unknown key `{k}` (expected user, duty)"));
        }
    }
    match o.get("user") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        _ => return Err("`user` (a login) is required".into()),
    }
    match o.get("duty") {
        None | Some(Value::String(_)) => Ok(()),
        _ => Err("`duty` must be a text".into()),
    }
}

fn check_attachment_ref(v: &Value) -> Result<(), String> {
    match v {
        Value::String(s) if !s.is_empty() && s.len() <= 100 => Ok(()),
        Value::Number(n) if n.is_u64() => Ok(()),
        _ => Err("expected the id of an uploaded attachment".into()),
    }
}

/// Every milestone planned in any `milestones` field of `stage` (invalid entries are skipped:
/// they are reported by [`check_form`]).
pub fn milestone_plans(stage: &Stage, data: &Map<String, Value>) -> Vec<MilestonePlan> {
    stage
        .form
        .iter()
        .filter(|f| *f.field_type.get() == FieldType::Milestones)
        .filter_map(|f| data.get(f.id.as_str())?.as_array())
        .flatten()
        .filter_map(|v| MilestonePlan::from_json(v).ok())
        .collect()
}

/// How far one goal of the application was reached, as the self-check states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Achievement {
    Achieved,
    Partly,
    NotAchieved,
}

impl Achievement {
    pub const ALL: [(&'static str, Achievement); 3] = [
        ("achieved", Achievement::Achieved),
        ("partly", Achievement::Partly),
        ("not_achieved", Achievement::NotAchieved),
    ];
}

/// One entry of a `goal_review` field.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalResult {
    pub goal: String,
    pub result: Achievement,
    pub evidence: String,
}

impl GoalResult {
    pub fn from_json(v: &Value) -> Result<GoalResult, String> {
        let o = v
            .as_object()
            .ok_or("expected an object with goal, result and evidence")?;
        for k in o.keys() {
            if !["goal", "result", "evidence", "attachments"].contains(&k.as_str()) {
                return Err(format!(
                    "unknown key `{k}` (expected goal, result, evidence, attachments)"
                ));
            }
        }
        let goal = match o.get("goal") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => return Err("`goal` (the goal of the application) is required".into()),
        };
        let result = match o.get("result").and_then(Value::as_str) {
            Some(r) => Achievement::ALL
                .iter()
                .find(|(id, _)| *id == r)
                .map(|(_, a)| *a)
                .ok_or(format!(
                    "`result` must be achieved, partly or not_achieved, not `{r}`"
                ))?,
            None => return Err("`result` (achieved, partly or not_achieved) is required".into()),
        };
        let evidence = match o.get("evidence") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) if s.chars().count() <= 3000 => s.trim().to_string(),
            Some(Value::String(_)) => {
                return Err("`evidence` is longer than 3000 characters".into())
            }
            Some(_) => return Err("`evidence` must be a text".into()),
        };
        if result != Achievement::NotAchieved && evidence.is_empty() {
            return Err(format!(
                "goal “{goal}”: `evidence` is required for a goal reached"
            ));
        }
        match o.get("attachments") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for item in a {
                    check_attachment_ref(item)?;
                }
            }
            Some(_) => return Err("`attachments` must be a list of attachment ids".into()),
        }
        Ok(GoalResult {
            goal,
            result,
            evidence,
        })
    }
}

/// The goal a milestone stands for: its `goal`, or its title when no goal is written.
pub fn milestone_goal(m: &MilestonePlan) -> &str {
    if m.goal.is_empty() {
        &m.title
    } else {
        &m.goal
    }
}

/// For each `goal_review` field of `stage`: the application's goals (from the whole project's
/// form `data`) that the review leaves out, and reviewed goals the application does not have.
pub fn goal_review_gaps(
    stage: &Stage,
    fields: impl Fn(&str) -> Option<FieldType>,
    data: &Map<String, Value>,
) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for f in stage
        .form
        .iter()
        .filter(|f| *f.field_type.get() == FieldType::GoalReview)
    {
        let Some(from) = &f.goals_from else { continue };
        if fields(from.as_str()) != Some(FieldType::Milestones) {
            continue;
        }
        let goals: Vec<String> = data
            .get(from.as_str())
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| MilestonePlan::from_json(v).ok())
            .map(|m| milestone_goal(&m).to_string())
            .collect();
        let reviewed: Vec<String> = data
            .get(f.id.as_str())
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| GoalResult::from_json(v).ok())
            .map(|g| g.goal)
            .collect();
        let mut missing: Vec<String> = goals
            .iter()
            .filter(|g| !reviewed.contains(g))
            .cloned()
            .collect();
        missing.dedup();
        let unknown: Vec<String> = reviewed
            .iter()
            .filter(|g| !goals.contains(g))
            .cloned()
            .collect();
        if !missing.is_empty() || !unknown.is_empty() {
            problems.push(FieldProblem {
                field: f.id.to_string(),
                kind: FieldProblemKind::GoalsMismatch { missing, unknown },
            });
        }
    }
    problems
}
