//! Forms generated from a definition's stage form, pure: the view of each field (its input kind,
//! label, help, limits, value, rows, options and the message beside it) and the reading of a
//! posted form back into the JSON values the use cases take.
//!
//! Posted names: a scalar field `f.{id}`; a row of a list field `f.{id}.{row}.{key}` (rows whose
//! inputs are all empty are dropped); the chosen attachments `f.{id}` repeated, with a marker
//! `f.{id}.sent` so that choosing none clears the list.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};

use crate::workflow::form::FieldProblem;
use crate::workflow::model::{Field, FieldType};

/// Blank rows offered below a list's entries (more can be added by saving).
pub const BLANK_ROWS: usize = 3;

/// A person who can be named in a milestone's owner or a team entry.
#[derive(Debug, Clone)]
pub struct Person {
    pub login: String,
    pub name: String,
}

/// An uploaded attachment of the project that a field may name.
#[derive(Debug, Clone)]
pub struct FileChoice {
    pub id: i64,
    pub name: String,
}

/// What the page knows besides the form: who can be named, which files can be chosen, and the
/// goals a goal review takes.
#[derive(Debug, Clone, Default)]
pub struct FormContext {
    pub people: Vec<Person>,
    pub files: Vec<FileChoice>,
    /// The whole project form (all stages), for `goals_from`.
    pub whole: Map<String, Value>,
}

/// A problem's message naming the field by its label in the user's language, not its id.
pub fn labelled(p: &FieldProblem, fields: &[Field], lang: &str) -> String {
    match fields.iter().find(|f| f.id.as_str() == p.field) {
        Some(f) => FieldProblem {
            field: f.label.get(lang).to_string(),
            kind: p.kind.clone(),
        }
        .message(lang)
        .replace('`', ""),
        None => p.message(lang),
    }
}

pub fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
    }
}

/// The view of every field of `fields` with `values`, problems beside the fields they concern.
pub fn field_views(
    fields: &[Field],
    values: &Map<String, Value>,
    problems: &[FieldProblem],
    ctx: &FormContext,
    lang: &str,
) -> Vec<Value> {
    fields
        .iter()
        .map(|f| field_view(f, values.get(f.id.as_str()), problems, ctx, lang))
        .collect()
}

fn field_view(
    f: &Field,
    value: Option<&Value>,
    problems: &[FieldProblem],
    ctx: &FormContext,
    lang: &str,
) -> Value {
    let id = f.id.as_str();
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.field == id)
        .map(|p| labelled(p, std::slice::from_ref(f), lang))
        .collect();
    let ty = *f.field_type.get();
    let kind = crate::workflow::compile::type_name(ty);
    let list = value.and_then(Value::as_array).cloned().unwrap_or_default();
    let people = |selected: &str| -> Vec<Value> {
        let mut v: Vec<Value> = ctx
            .people
            .iter()
            .map(|p| json!({"login": p.login, "name": p.name, "selected": p.login == selected}))
            .collect();
        // A login no longer among the people is still shown, so that nothing is lost silently.
        if !selected.is_empty() && !ctx.people.iter().any(|p| p.login == selected) {
            v.push(json!({"login": selected, "name": selected, "selected": true}));
        }
        v
    };
    // The entries, then blank rows to add more.
    let with_blanks = || {
        list.iter()
            .map(Some)
            .chain(std::iter::repeat_n(None, BLANK_ROWS))
            .enumerate()
    };
    let rows: Vec<Value> = match ty {
        FieldType::Milestones => with_blanks()
            .map(|(i, m)| {
                let g = |k: &str| text_of(m.and_then(|m| m.get(k)));
                json!({"i": i, "title": g("title"), "goal": g("goal"), "start": g("start"),
                       "due": g("due"), "weight": g("weight"), "people": people(&g("owner")),
                       "n": i + 1})
            })
            .collect(),
        FieldType::Team => with_blanks()
            .map(|(i, m)| {
                let g = |k: &str| text_of(m.and_then(|m| m.get(k)));
                json!({"i": i, "duty": g("duty"), "people": people(&g("user")), "n": i + 1})
            })
            .collect(),
        FieldType::GoalReview => goal_rows(f, &list, ctx, lang),
        _ => Vec::new(),
    };
    let chosen: Vec<String> = list.iter().map(|v| text_of(Some(v))).collect();
    let files: Vec<Value> = ctx
        .files
        .iter()
        .map(|a| json!({"id": a.id, "name": a.name, "checked": chosen.contains(&a.id.to_string())}))
        .collect();
    let selected = text_of(value);
    let options: Vec<Value> = f
        .options
        .iter()
        .map(|o| json!({"id": o.id.as_str(), "label": o.name.get(lang), "selected": o.id.as_str() == selected}))
        .collect();
    let mut limits = Vec::new();
    if let Some(m) = &f.max_length {
        limits.push(if lang == "en" {
            format!("at most {} characters", m.get())
        } else {
            format!("最多{}字", m.get())
        });
    }
    match (&f.min, &f.max) {
        (Some(lo), Some(hi)) => limits.push(format!("{} – {}", lo.get(), hi.get())),
        (Some(lo), None) => limits.push(format!("≥ {}", lo.get())),
        (None, Some(hi)) => limits.push(format!("≤ {}", hi.get())),
        _ => {}
    }
    if let Some(n) = &f.max_items {
        limits.push(if lang == "en" {
            format!("at most {} entries", n.get())
        } else {
            format!("最多{}项", n.get())
        });
    }
    if !f.accept.is_empty() {
        let a: Vec<&str> = f.accept.iter().map(|a| a.get().as_str()).collect();
        limits.push(a.join(", "));
    }
    json!({
        "id": id,
        "anchor": format!("f-{id}"),
        "name": format!("f.{id}"),
        "kind": kind,
        format!("is_{kind}"): true,
        "label": f.label.get(lang),
        "help": f.help.as_ref().map(|h| h.get(lang).to_string()),
        "required": f.required,
        "limits": (!limits.is_empty()).then(|| limits.join(" · ")),
        "errors": errors,
        "value": selected,
        "min": f.min.as_ref().map(|m| *m.get()),
        "max": f.max.as_ref().map(|m| *m.get()),
        "max_length": f.max_length.as_ref().map(|m| *m.get()),
        "options": options,
        "rows": rows,
        "files": files,
    })
}

/// The results a goal review may record: id, Chinese, English.
pub const GOAL_RESULTS: [(&str, &str, &str); 3] = [
    ("achieved", "已达成", "Achieved"),
    ("partly", "部分达成", "Partly"),
    ("not_achieved", "未达成", "Not achieved"),
];

/// One row per goal of the application (from `goals_from`), with what was already written.
fn goal_rows(f: &Field, list: &[Value], ctx: &FormContext, lang: &str) -> Vec<Value> {
    let goals: Vec<String> = f
        .goals_from
        .as_ref()
        .and_then(|from| ctx.whole.get(from.as_str()))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| crate::workflow::form::MilestonePlan::from_json(m).ok())
        .map(|m| crate::workflow::form::milestone_goal(&m).to_string())
        .collect();
    let written: HashMap<String, &Value> = list
        .iter()
        .filter_map(|e| Some((e.get("goal")?.as_str()?.to_string(), e)))
        .collect();
    let results = GOAL_RESULTS;
    goals
        .iter()
        .enumerate()
        .map(|(i, goal)| {
            let e = written.get(goal);
            let result = text_of(e.and_then(|e| e.get("result")));
            json!({
                "i": i, "n": i + 1, "goal": goal,
                "evidence": text_of(e.and_then(|e| e.get("evidence"))),
                "results": results.iter().map(|(id, zh, en)| json!({
                    "id": id, "label": if lang == "en" { en } else { zh }, "selected": *id == result,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The values of `fields` read from posted pairs: every field of the form is in the answer
/// (an empty input clears its field, as `null`).
pub fn read_posted(fields: &[Field], pairs: &[(String, String)]) -> Map<String, Value> {
    let mut scalars: HashMap<&str, &str> = HashMap::new();
    let mut repeated: HashMap<&str, Vec<&str>> = HashMap::new();
    // field -> row -> key -> value
    let mut rows: HashMap<&str, BTreeMap<usize, HashMap<&str, &str>>> = HashMap::new();
    for (k, v) in pairs {
        let Some(rest) = k.strip_prefix("f.") else {
            continue;
        };
        let mut parts = rest.splitn(3, '.');
        let (Some(id), row, key) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        match (row.map(|r| r.parse::<usize>().ok()), key) {
            (Some(Some(r)), Some(key)) => {
                rows.entry(id)
                    .or_default()
                    .entry(r)
                    .or_default()
                    .insert(key, v.as_str());
            }
            (None, None) => {
                scalars.insert(id, v.as_str());
                repeated.entry(id).or_default().push(v.as_str());
            }
            _ => {
                // `f.{id}.sent` and the like: markers, no value.
                repeated.entry(id).or_default();
            }
        }
    }
    let mut out = Map::new();
    for f in fields {
        let id = f.id.as_str();
        let value = match f.field_type.get() {
            FieldType::Text | FieldType::LongText | FieldType::Date | FieldType::Choice => {
                match scalars.get(id).map(|s| s.trim()) {
                    Some(s) if !s.is_empty() => json!(normalise_newlines(s)),
                    _ => Value::Null,
                }
            }
            FieldType::Number => match scalars.get(id).map(|s| s.trim()) {
                Some(s) if !s.is_empty() => match s.parse::<f64>() {
                    Ok(n) if n.is_finite() => {
                        if n.fract() == 0.0 && n.abs() < 1e15 {
                            json!(n as i64)
                        } else {
                            json!(n)
                        }
                    }
                    // Kept as typed: the form check names it as not a number.
                    _ => json!(s),
                },
                _ => Value::Null,
            },
            FieldType::Attachments => {
                if !repeated.contains_key(id) {
                    continue;
                }
                let ids: Vec<Value> = repeated[id]
                    .iter()
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| match s.trim().parse::<i64>() {
                        Ok(n) => json!(n),
                        Err(_) => json!(s.trim()),
                    })
                    .collect();
                Value::Array(ids)
            }
            FieldType::Milestones | FieldType::Team | FieldType::GoalReview => {
                let numeric = ["weight"];
                let entries: Vec<Value> = rows
                    .get(id)
                    .into_iter()
                    .flat_map(|r| r.values())
                    .filter(|cells| {
                        // A goal review row always carries its goal; it counts once more is said.
                        cells
                            .iter()
                            .any(|(k, v)| *k != "goal" && !v.trim().is_empty())
                    })
                    .map(|cells| {
                        let mut o = Map::new();
                        for (k, v) in cells {
                            let v = v.trim();
                            if v.is_empty() {
                                continue;
                            }
                            let value = if numeric.contains(k) {
                                v.parse::<f64>().map(|n| json!(n)).unwrap_or(json!(v))
                            } else {
                                json!(normalise_newlines(v))
                            };
                            o.insert(k.to_string(), value);
                        }
                        Value::Object(o)
                    })
                    .collect();
                if entries.is_empty() && !rows.contains_key(id) && !repeated.contains_key(id) {
                    continue;
                }
                Value::Array(entries)
            }
        };
        out.insert(id.to_string(), value);
    }
    out
}

fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n")
}

/// A value as people read it (for the "someone else changed this" page and check answers).
pub fn readable(f: &Field, v: Option<&Value>, lang: &str) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if *f.field_type.get() == FieldType::Choice => f
            .options
            .iter()
            .find(|o| o.id.as_str() == s)
            .map(|o| o.name.get(lang).to_string())
            .unwrap_or_else(|| s.clone()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::Object(o) => o
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", text_of(Some(v))))
                    .collect::<Vec<_>>()
                    .join("，"),
                other => text_of(Some(other)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => text_of(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_form() -> Vec<Field> {
        let w = crate::workflow::default_workflow();
        w.initial_stage().form.clone()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_posted_form_reads_back_into_the_values_of_the_format() {
        let fields = default_form();
        let got = read_posted(
            &fields,
            &pairs(&[
                ("_csrf", "x"),
                ("f.title", "  停车难 "),
                ("f.theme", "social_governance"),
                ("f.problem", "第一行\r\n第二行"),
                ("f.goals", ""),
                ("f.milestones.0.title", "摸底"),
                ("f.milestones.0.owner", "member1"),
                ("f.milestones.0.due", "2026-05-31"),
                ("f.milestones.0.weight", "2"),
                ("f.milestones.1.title", ""),
                ("f.milestones.1.owner", ""),
                ("f.milestones.1.due", ""),
                ("f.team.0.user", "secretary1"),
                ("f.team.0.duty", "牵头"),
                ("f.team.1.user", ""),
                ("f.attachments.sent", "1"),
            ]),
        );
        assert_eq!(got["title"], "停车难");
        assert_eq!(got["problem"], "第一行\n第二行");
        assert_eq!(got["goals"], Value::Null, "an empty input clears");
        assert_eq!(
            got["milestones"],
            json!([{"title": "摸底", "owner": "member1", "due": "2026-05-31", "weight": 2.0}])
        );
        assert_eq!(got["team"], json!([{"user": "secretary1", "duty": "牵头"}]));
        assert_eq!(got["attachments"], json!([]), "none chosen clears the list");
    }

    #[test]
    fn every_field_has_a_view_with_its_problem_beside_it() {
        let fields = default_form();
        let values = read_posted(&fields, &pairs(&[("f.title", "t")]));
        let problems = vec![FieldProblem {
            field: "problem".into(),
            kind: crate::workflow::form::FieldProblemKind::Missing,
        }];
        let views = field_views(&fields, &values, &problems, &FormContext::default(), "zh");
        assert_eq!(views.len(), fields.len());
        let problem = views.iter().find(|v| v["id"] == "problem").unwrap();
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1);
        assert!(problem["is_long_text"].as_bool().unwrap());
        let ms = views.iter().find(|v| v["id"] == "milestones").unwrap();
        assert_eq!(ms["rows"].as_array().unwrap().len(), BLANK_ROWS);
        let theme = views.iter().find(|v| v["id"] == "theme").unwrap();
        assert!(!theme["options"].as_array().unwrap().is_empty());
    }
}
