//! Checking a stage's form data against the fields the definition declares. Pure.
//!
//! Form data is a JSON object keyed by field id. Saving a draft checks types and limits only;
//! a `form_complete` guard also requires every required field.

use std::collections::HashMap;

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
        detail: ItemProblem,
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
            (K::BadItem { index, detail }, true) => {
                format!("`{f}` entry {}: {}", index + 1, detail.message(true))
            }
            (K::BadItem { index, detail }, false) => {
                format!("“{f}”第{}项：{}", index + 1, detail.message(false))
            }
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

/// What is wrong with one entry of a list field (milestones, team, attachments, goal review).
/// Keys are the JSON keys of the entry, shown as written in either language.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemProblem {
    /// Not an object; `keys` lists the keys an entry has.
    NotAnObject {
        keys: &'static str,
    },
    UnknownKey {
        key: String,
        keys: &'static str,
    },
    Required(&'static str),
    NotText(&'static str),
    TooLong {
        key: &'static str,
        max: u32,
    },
    BadDate(&'static str),
    StartAfterDue,
    BadWeight,
    ResultRequired,
    BadResult(String),
    EvidenceRequired {
        goal: String,
    },
    NotAnAttachment,
    AttachmentsNotAList,
    /// An attachment id that names no attachment of this project.
    NoSuchAttachment(String),
    /// An attachment whose file type the field does not accept.
    AttachmentType {
        name: String,
        accept: Vec<String>,
    },
    /// An attachment larger than the field's `max_size`.
    AttachmentTooLarge {
        name: String,
        bytes: u64,
        max: u64,
    },
    /// A login that names no user.
    NoSuchUser(String),
    /// A user outside the project's organisation.
    NotAMember(String),
}

impl ItemProblem {
    /// A message for people: English with `en`, else Chinese.
    pub fn message(&self, en: bool) -> String {
        use ItemProblem as P;
        match (self, en) {
            (P::NotAnObject { keys }, true) => format!("expected an object with {keys}"),
            (P::NotAnObject { keys }, false) => format!("应为含 {keys} 的对象"),
            (P::UnknownKey { key, keys }, true) => {
                format!("unknown key `{key}` (expected {keys})")
            }
            (P::UnknownKey { key, keys }, false) => format!("没有“{key}”这一项（可用：{keys}）"),
            (P::Required(k), true) => format!("`{k}` is required"),
            (P::Required(k), false) => format!("“{k}”为必填项"),
            (P::NotText(k), true) => format!("`{k}` must be a text"),
            (P::NotText(k), false) => format!("“{k}”应为文本"),
            (P::TooLong { key, max }, true) => format!("`{key}` is longer than {max} characters"),
            (P::TooLong { key, max }, false) => format!("“{key}”超过{max}个字符"),
            (P::BadDate(k), true) => format!("`{k}` must be a date YYYY-MM-DD"),
            (P::BadDate(k), false) => format!("“{k}”应为日期，格式 YYYY-MM-DD"),
            (P::StartAfterDue, true) => "`start` is after `due`".into(),
            (P::StartAfterDue, false) => "开始日期（start）晚于截止日期（due）".into(),
            (P::BadWeight, true) => "`weight` must be a number more than 0 and at most 100".into(),
            (P::BadWeight, false) => "权重（weight）应为大于 0、不超过 100 的数".into(),
            (P::ResultRequired, true) => {
                "`result` (achieved, partly or not_achieved) is required".into()
            }
            (P::ResultRequired, false) => {
                "“result”为必填项（achieved、partly 或 not_achieved）".into()
            }
            (P::BadResult(r), true) => {
                format!("`result` must be achieved, partly or not_achieved, not `{r}`")
            }
            (P::BadResult(r), false) => {
                format!("“result”应为 achieved、partly 或 not_achieved，而不是“{r}”")
            }
            (P::EvidenceRequired { goal }, true) => {
                format!("goal “{goal}”: `evidence` is required for a goal reached")
            }
            (P::EvidenceRequired { goal }, false) => {
                format!("目标“{goal}”：已达成或部分达成的目标须填写佐证（evidence）")
            }
            (P::NotAnAttachment, true) => "expected the id of an uploaded attachment".into(),
            (P::NotAnAttachment, false) => "应为已上传附件的编号".into(),
            (P::AttachmentsNotAList, true) => {
                "`attachments` must be a list of attachment ids".into()
            }
            (P::AttachmentsNotAList, false) => "“attachments”应为附件编号的列表".into(),
            (P::NoSuchAttachment(id), true) => {
                format!("attachment {id} is not an attachment of this project; upload it first")
            }
            (P::NoSuchAttachment(id), false) => format!("附件{id}不是本项目的附件，请先上传"),
            (P::AttachmentType { name, accept }, true) => format!(
                "“{name}” is not of a type this field accepts ({})",
                accept.join(", ")
            ),
            (P::AttachmentType { name, accept }, false) => {
                format!(
                    "“{name}”的文件类型不符合要求（可用：{}）",
                    accept.join("、")
                )
            }
            (P::AttachmentTooLarge { name, bytes, max }, true) => {
                format!("“{name}” has {bytes} bytes; this field takes at most {max}")
            }
            (P::AttachmentTooLarge { name, bytes, max }, false) => {
                format!("“{name}”大小为{bytes}字节，此处最多{max}字节")
            }
            (P::NoSuchUser(login), true) => format!("there is no user `{login}`"),
            (P::NoSuchUser(login), false) => format!("没有登录名为“{login}”的用户"),
            (P::NotAMember(login), true) => {
                format!("owner `{login}` is not a member of the project's organisation")
            }
            (P::NotAMember(login), false) => format!("负责人“{login}”不属于本项目所在的组织"),
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
    pub fn from_json(v: &Value) -> Result<MilestonePlan, ItemProblem> {
        const KEYS: &str = "title, goal, owner, start, due, weight";
        let o = v.as_object().ok_or(ItemProblem::NotAnObject {
            keys: "title, owner, due",
        })?;
        for k in o.keys() {
            if !["title", "goal", "owner", "start", "due", "weight"].contains(&k.as_str()) {
                return Err(ItemProblem::UnknownKey {
                    key: k.clone(),
                    keys: KEYS,
                });
            }
        }
        let text = |k: &'static str, required: bool| -> Result<String, ItemProblem> {
            match o.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                None | Some(Value::Null) if !required => Ok(String::new()),
                Some(Value::String(_)) | None | Some(Value::Null) => Err(ItemProblem::Required(k)),
                Some(_) => Err(ItemProblem::NotText(k)),
            }
        };
        let title = text("title", true)?;
        if title.chars().count() > 200 {
            return Err(ItemProblem::TooLong {
                key: "title",
                max: 200,
            });
        }
        let goal = text("goal", false)?;
        let owner = text("owner", true)?;
        let date = |k: &'static str| -> Result<Option<NaiveDate>, ItemProblem> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_str()
                    .and_then(parse_date)
                    .map(Some)
                    .ok_or(ItemProblem::BadDate(k)),
            }
        };
        let start = date("start")?;
        let due = date("due")?.ok_or(ItemProblem::Required("due"))?;
        if start.is_some_and(|s| s > due) {
            return Err(ItemProblem::StartAfterDue);
        }
        let weight = match o.get("weight") {
            None | Some(Value::Null) => 1.0,
            Some(v) => v
                .as_f64()
                .filter(|w| *w > 0.0 && *w <= 100.0)
                .ok_or(ItemProblem::BadWeight)?,
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

fn check_team_member(v: &Value) -> Result<(), ItemProblem> {
    let o = v
        .as_object()
        .ok_or(ItemProblem::NotAnObject { keys: "user, duty" })?;
    for k in o.keys() {
        if k != "user" && k != "duty" {
            return Err(ItemProblem::UnknownKey {
                key: k.clone(),
                keys: "user, duty",
            });
        }
    }
    match o.get("user") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        _ => return Err(ItemProblem::Required("user")),
    }
    match o.get("duty") {
        None | Some(Value::String(_)) => Ok(()),
        _ => Err(ItemProblem::NotText("duty")),
    }
}

fn check_attachment_ref(v: &Value) -> Result<(), ItemProblem> {
    match v {
        Value::String(s) if !s.is_empty() && s.len() <= 100 => Ok(()),
        Value::Number(n) if n.is_u64() => Ok(()),
        _ => Err(ItemProblem::NotAnAttachment),
    }
}

/// The attachment ids a field's value names, each with the index of the entry it belongs to:
/// an `attachments` field's list, or each `goal_review` entry's `attachments`. Ids are written
/// as numbers or as strings of digits; anything else is kept as written (and names nothing).
pub fn attachment_refs(field: &Field, v: &Value) -> Vec<(usize, String)> {
    let id = |x: &Value| match x {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    match field.field_type.get() {
        FieldType::Attachments => list(v)
            .iter()
            .enumerate()
            .map(|(i, x)| (i, id(x)))
            .collect(),
        FieldType::GoalReview => list(v)
            .iter()
            .enumerate()
            .flat_map(|(i, entry)| {
                entry
                    .get("attachments")
                    .map(list)
                    .unwrap_or_default()
                    .iter()
                    .map(|x| (i, id(x)))
                    .collect::<Vec<_>>()
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// What the store holds of an attachment a form names.
#[derive(Debug, Clone)]
pub struct StoredAttachment {
    pub file_name: String,
    pub size_bytes: u64,
}

/// Check the attachments a field names against what the project holds (`stored`, by id as
/// written in `attachment_refs`) and the field's `accept` and `max_size`.
pub fn check_attachments(
    field: &Field,
    v: &Value,
    stored: &HashMap<String, StoredAttachment>,
    max_size: Option<u64>,
) -> Vec<FieldProblem> {
    let accept: Vec<String> = field
        .accept
        .iter()
        .map(|a| a.get().to_lowercase())
        .collect();
    attachment_refs(field, v)
        .into_iter()
        .filter_map(|(index, id)| {
            let detail = match stored.get(&id) {
                None => ItemProblem::NoSuchAttachment(id),
                Some(a) => {
                    let ext = a
                        .file_name
                        .rsplit_once('.')
                        .map(|(_, e)| e.to_lowercase())
                        .unwrap_or_default();
                    if !accept.is_empty() && !accept.contains(&ext) {
                        ItemProblem::AttachmentType {
                            name: a.file_name.clone(),
                            accept: accept.clone(),
                        }
                    } else if let Some(max) = max_size.filter(|m| a.size_bytes > *m) {
                        ItemProblem::AttachmentTooLarge {
                            name: a.file_name.clone(),
                            bytes: a.size_bytes,
                            max,
                        }
                    } else {
                        return None;
                    }
                }
            };
            Some(FieldProblem {
                field: field.id.to_string(),
                kind: FieldProblemKind::BadItem { index, detail },
            })
        })
        .collect()
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
    pub fn from_json(v: &Value) -> Result<GoalResult, ItemProblem> {
        const KEYS: &str = "goal, result, evidence, attachments";
        let o = v.as_object().ok_or(ItemProblem::NotAnObject {
            keys: "goal, result, evidence",
        })?;
        for k in o.keys() {
            if !["goal", "result", "evidence", "attachments"].contains(&k.as_str()) {
                return Err(ItemProblem::UnknownKey {
                    key: k.clone(),
                    keys: KEYS,
                });
            }
        }
        let goal = match o.get("goal") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => return Err(ItemProblem::Required("goal")),
        };
        let result = match o.get("result").and_then(Value::as_str) {
            Some(r) => Achievement::ALL
                .iter()
                .find(|(id, _)| *id == r)
                .map(|(_, a)| *a)
                .ok_or_else(|| ItemProblem::BadResult(r.to_string()))?,
            None => return Err(ItemProblem::ResultRequired),
        };
        let evidence = match o.get("evidence") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) if s.chars().count() <= 3000 => s.trim().to_string(),
            Some(Value::String(_)) => {
                return Err(ItemProblem::TooLong {
                    key: "evidence",
                    max: 3000,
                })
            }
            Some(_) => return Err(ItemProblem::NotText("evidence")),
        };
        if result != Achievement::NotAchieved && evidence.is_empty() {
            return Err(ItemProblem::EvidenceRequired { goal });
        }
        match o.get("attachments") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for item in a {
                    check_attachment_ref(item)?;
                }
            }
            Some(_) => return Err(ItemProblem::AttachmentsNotAList),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item_message(kind: FieldProblemKind, lang: &str) -> String {
        FieldProblem {
            field: "milestones".into(),
            kind,
        }
        .message(lang)
    }

    #[test]
    fn named_attachments_must_exist_and_fit_the_field() {
        // The default definition's `progress_evidence`: accept [pdf, docx, xlsx, jpg, png].
        let w = crate::workflow::default_workflow();
        let field = w.field("progress_evidence").unwrap().clone();
        let stored: HashMap<String, StoredAttachment> = [
            ("1", "a.pdf", 10),
            ("2", "b.PNG", 5_000),
            ("3", "c.gif", 10),
        ]
        .into_iter()
        .map(|(id, name, size)| {
            (
                id.to_string(),
                StoredAttachment {
                    file_name: name.into(),
                    size_bytes: size,
                },
            )
        })
        .collect();
        let check = |v: Value, max| -> Vec<String> {
            check_attachments(&field, &v, &stored, max)
                .iter()
                .map(|p| p.message("en"))
                .collect()
        };
        assert!(check(json!([1, "2"]), None).is_empty());
        assert_eq!(
            check(json!([1, 9, 3]), None),
            [
                "`progress_evidence` entry 2: attachment 9 is not an attachment of this project; upload it first",
                "`progress_evidence` entry 3: “c.gif” is not of a type this field accepts (pdf, docx, xlsx, jpg, png)"
            ]
        );
        assert_eq!(
            check(json!([2]), Some(4_096)),
            ["`progress_evidence` entry 1: “b.PNG” has 5000 bytes; this field takes at most 4096"]
        );
    }

    #[test]
    fn a_bad_entry_reads_in_one_language() {
        let bad = [
            (json!("x"), "应为含", "expected an object"),
            (
                json!({"title": "a", "owner": "u", "due": "2026-06-30", "colour": 1}),
                "没有“colour”这一项",
                "unknown key `colour`",
            ),
            (
                json!({"owner": "u", "due": "2026-06-30"}),
                "“title”为必填项",
                "`title` is required",
            ),
            (
                json!({"title": 5, "owner": "u", "due": "2026-06-30"}),
                "“title”应为文本",
                "`title` must be a text",
            ),
            (
                json!({"title": "a", "owner": "u", "due": "30/06"}),
                "“due”应为日期",
                "`due` must be a date",
            ),
            (
                json!({"title": "a", "owner": "u", "start": "2026-07-01", "due": "2026-06-30"}),
                "晚于",
                "`start` is after `due`",
            ),
            (
                json!({"title": "a", "owner": "u", "due": "2026-06-30", "weight": 0}),
                "权重",
                "`weight` must be",
            ),
        ];
        for (item, zh, en) in bad {
            let detail = MilestonePlan::from_json(&item).unwrap_err();
            let kind = FieldProblemKind::BadItem { index: 1, detail };
            let m_zh = item_message(kind.clone(), "zh");
            let m_en = item_message(kind, "en");
            assert!(
                m_zh.starts_with("“milestones”第2项：") && m_zh.contains(zh),
                "{item}: {m_zh}"
            );
            assert!(
                m_en.starts_with("`milestones` entry 2: ") && m_en.contains(en),
                "{item}: {m_en}"
            );
            // Chinese messages name keys and values, never an English sentence.
            assert!(!m_zh.contains(" is ") && !m_zh.contains("must"), "{m_zh}");
        }
        let goal = GoalResult::from_json(&json!({"goal": "g", "result": "done"})).unwrap_err();
        assert_eq!(goal, ItemProblem::BadResult("done".into()));
        assert!(goal.message(false).contains("而不是“done”"));
        let goal = GoalResult::from_json(&json!({"goal": "g", "result": "achieved"})).unwrap_err();
        assert_eq!(goal, ItemProblem::EvidenceRequired { goal: "g".into() });
        assert_eq!(
            ItemProblem::NoSuchUser("nobody".into()).message(false),
            "没有登录名为“nobody”的用户"
        );
        assert_eq!(
            ItemProblem::NoSuchUser("nobody".into()).message(true),
            "there is no user `nobody`"
        );
    }
}
