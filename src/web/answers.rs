//! A stage's form as people read it, not as they fill it in: each field's label and answer,
//! lists as tables with people's names (not logins), choices by their label, files by name.
//! Shared by "check your answers" before a submission and the printable charter and reports.
//! Pure: the definition's fields, the stored values and who/what can be named go in, views
//! for the templates come out.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::forms::{text_of, FormContext, GOAL_RESULTS};
use crate::workflow::model::{Field, FieldType};

/// The view of each field of `fields` with its answer in `values`.
pub fn answer_views(
    fields: &[Field],
    values: &Map<String, Value>,
    ctx: &FormContext,
    lang: &str,
) -> Vec<Value> {
    let names: HashMap<&str, &str> = ctx
        .people
        .iter()
        .map(|p| (p.login.as_str(), p.name.as_str()))
        .collect();
    let files: HashMap<String, &str> = ctx
        .files
        .iter()
        .map(|f| (f.id.to_string(), f.name.as_str()))
        .collect();
    fields
        .iter()
        .map(|f| answer_view(f, values.get(f.id.as_str()), &names, &files, lang))
        .collect()
}

/// A person's name with their login, or the login alone when they are no longer listed.
fn person(names: &HashMap<&str, &str>, login: &str) -> String {
    match names.get(login) {
        Some(name) if !login.is_empty() => format!("{name}（{login}）"),
        _ => login.to_string(),
    }
}

fn answer_view(
    f: &Field,
    value: Option<&Value>,
    names: &HashMap<&str, &str>,
    files: &HashMap<String, &str>,
    lang: &str,
) -> Value {
    let ty = *f.field_type.get();
    let kind = crate::workflow::compile::type_name(ty);
    let list: Vec<&Map<String, Value>> = value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect();
    let g = |m: &Map<String, Value>, k: &str| text_of(m.get(k));
    let rows: Vec<Value> = match ty {
        FieldType::Milestones => list
            .iter()
            .enumerate()
            .map(|(i, m)| {
                json!({"n": i + 1, "title": g(m, "title"), "goal": g(m, "goal"),
                       "owner": person(names, &g(m, "owner")), "start": g(m, "start"),
                       "due": g(m, "due"), "weight": g(m, "weight")})
            })
            .collect(),
        FieldType::Team => list
            .iter()
            .enumerate()
            .map(|(i, m)| json!({"n": i + 1, "user": person(names, &g(m, "user")), "duty": g(m, "duty")}))
            .collect(),
        FieldType::GoalReview => list
            .iter()
            .map(|m| {
                let result = g(m, "result");
                let label = GOAL_RESULTS
                    .iter()
                    .find(|(id, _, _)| *id == result)
                    .map(|(_, zh, en)| if lang == "en" { *en } else { *zh })
                    .map(str::to_string)
                    .unwrap_or(result);
                json!({"goal": g(m, "goal"), "result": label, "evidence": g(m, "evidence")})
            })
            .collect(),
        _ => Vec::new(),
    };
    let chosen_files: Vec<String> = match ty {
        FieldType::Attachments => value
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|v| {
                let id = text_of(Some(v));
                files.get(&id).map(|n| n.to_string()).unwrap_or(id)
            })
            .collect(),
        _ => Vec::new(),
    };
    let text = match ty {
        FieldType::Choice => {
            let id = text_of(value);
            f.options
                .iter()
                .find(|o| o.id.as_str() == id)
                .map(|o| o.name.get(lang).to_string())
                .unwrap_or(id)
        }
        FieldType::Milestones | FieldType::Team | FieldType::GoalReview => String::new(),
        FieldType::Attachments => String::new(),
        _ => text_of(value),
    };
    let empty = text.trim().is_empty() && rows.is_empty() && chosen_files.is_empty();
    json!({
        "id": f.id.as_str(),
        "anchor": format!("f-{}", f.id.as_str()),
        "label": f.label.get(lang),
        "required": f.required,
        format!("is_{kind}"): true,
        "text": text,
        "rows": rows,
        "files": chosen_files,
        "empty": empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::forms::{FileChoice, Person};

    fn default_form() -> Vec<Field> {
        let w = crate::workflow::default_workflow();
        w.initial_stage().form.clone()
    }

    fn ctx() -> FormContext {
        FormContext {
            people: vec![Person {
                login: "member1".into(),
                name: "王强".into(),
            }],
            files: vec![FileChoice {
                id: 7,
                name: "方案.pdf".into(),
            }],
            whole: Map::new(),
        }
    }

    fn by_id<'a>(views: &'a [Value], id: &str) -> &'a Value {
        views.iter().find(|v| v["id"] == id).unwrap()
    }

    #[test]
    fn answers_read_as_people_read_them() {
        let fields = default_form();
        let values = json!({
            "title": "停车难",
            "theme": "social_governance",
            "milestones": [{"title": "摸底", "owner": "member1", "due": "2027-05-31"},
                           {"title": "建设", "owner": "gone", "due": "2027-08-31"}],
            "team": [{"user": "member1", "duty": "牵头"}],
        });
        let values = values.as_object().unwrap();
        let zh = answer_views(&fields, values, &ctx(), "zh");
        assert_eq!(by_id(&zh, "title")["text"], "停车难");
        assert_eq!(by_id(&zh, "title")["empty"], false);
        // A choice by its label, not its id.
        let theme = by_id(&zh, "theme");
        assert_ne!(theme["text"], "social_governance");
        assert!(!theme["text"].as_str().unwrap().is_empty());
        // Owners by name; one no longer listed keeps the login.
        let ms = by_id(&zh, "milestones")["rows"].as_array().unwrap().clone();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0]["owner"], "王强（member1）");
        assert_eq!(ms[1]["owner"], "gone");
        assert_eq!(ms[1]["n"], 2);
        assert_eq!(by_id(&zh, "team")["rows"][0]["user"], "王强（member1）");
        // A field not answered says so.
        assert_eq!(by_id(&zh, "problem")["empty"], true);
        // The label in the reader's language.
        let en = answer_views(&fields, values, &ctx(), "en");
        assert_ne!(by_id(&en, "title")["label"], by_id(&zh, "title")["label"]);
    }

    #[test]
    fn files_by_name_and_goal_results_by_label() {
        let fields = default_form();
        let Some(files_field) = fields
            .iter()
            .find(|f| *f.field_type.get() == FieldType::Attachments)
        else {
            return;
        };
        let values = json!({files_field.id.as_str(): [7, 99]});
        let views = answer_views(&fields, values.as_object().unwrap(), &ctx(), "zh");
        let v = by_id(&views, files_field.id.as_str());
        assert_eq!(v["files"], json!(["方案.pdf", "99"]));
        assert_eq!(v["empty"], false);
    }

    #[test]
    fn a_goal_review_by_its_results_label() {
        let w = crate::workflow::default_workflow();
        let fields = &w.stage("self_check").unwrap().form;
        let values =
            json!({"goal_review": [{"goal": "新增车位", "result": "partly", "evidence": "台账"}]});
        let views = answer_views(fields, values.as_object().unwrap(), &ctx(), "en");
        let row = &by_id(&views, "goal_review")["rows"][0];
        assert_eq!(row["result"], "Partly");
        assert_eq!(row["goal"], "新增车位");
    }
}
