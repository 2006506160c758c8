//! Property tests of the pure engine (`decide`, `available`, `may_edit`) on both shipped
//! definitions, plus deterministic walks through each whole process.
//!
//! The properties re-check every decision with a small independent model of the rules written
//! here from the definition format (roles and scopes, stages, comments, guards), so a refusal or
//! an approval the model does not expect fails the test.

use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Map, Value};

use secretary_projects::workflow::engine::{
    self, Actor, Facts, Outcome, PlannedEffect, Reason, Refusal, Relation, Request,
};
use secretary_projects::workflow::form::check_form;
use secretary_projects::workflow::model::{
    CommentRule, Due, Field, FieldType, Guard, PartSource, Scope, Stage, StageKind,
};
use secretary_projects::workflow::{self, Workflow};

fn load(rel: &str) -> Workflow {
    workflow::load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap_or_else(|p| {
        panic!(
            "{rel} does not load:\n{}",
            p.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

static DEFAULT: LazyLock<Workflow> = LazyLock::new(|| load("workflows/secretary_project.yaml"));
static FUND: LazyLock<Workflow> = LazyLock::new(|| load("tests/workflows/community_fund.yaml"));

// --- A simulated project ---------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Project {
    stage: String,
    year: i32,
    form: Map<String, Value>,
    milestones_total: u32,
    milestones_done: u32,
    appraisals: u32,
    score_counts: Vec<(String, u32)>,
    deadline_dues: Vec<(String, DateTime<Utc>)>,
    now: DateTime<Utc>,
}

impl Project {
    fn new(w: &Workflow) -> Project {
        Project {
            stage: w.initial_stage().id.to_string(),
            year: 2026,
            form: Map::new(),
            milestones_total: 0,
            milestones_done: 0,
            appraisals: 0,
            score_counts: Vec::new(),
            deadline_dues: Vec::new(),
            now: Utc.with_ymd_and_hms(2026, 2, 1, 1, 0, 0).unwrap(),
        }
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            stage: &self.stage,
            year: self.year,
            form: &self.form,
            milestones_total: self.milestones_total,
            milestones_done: self.milestones_done,
            appraisals: self.appraisals,
            score_counts: &self.score_counts,
            deadline_dues: &self.deadline_dues,
        }
    }

    fn set_score(&mut self, part: &str, n: u32) {
        self.score_counts.retain(|(p, _)| p != part);
        self.score_counts.push((part.to_string(), n));
    }

    fn fill_stage(&mut self, w: &Workflow, stage: &str) {
        for f in &w.stage(stage).unwrap().form {
            self.form
                .insert(f.id.to_string(), value_for(f, 0, ValueKind::Valid));
        }
    }

    /// What the use-case layer would do with an outcome: move, and track deadlines.
    fn apply(&mut self, outcome: &Outcome<'_>) {
        self.stage = outcome.to.to_string();
        for e in &outcome.effects {
            match e {
                PlannedEffect::OpenDeadline {
                    deadline,
                    due: Some(due),
                } => {
                    self.deadline_dues.retain(|(d, _)| d != deadline);
                    self.deadline_dues.push((deadline.to_string(), *due));
                }
                PlannedEffect::CloseDeadline { deadline } => {
                    self.deadline_dues.retain(|(d, _)| d != deadline);
                }
                _ => {}
            }
        }
    }
}

// --- Form values -----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum ValueKind {
    Valid,
    Empty,
    Invalid,
}

/// A value for `field`: a valid one (`variant` picks among several), an empty one, or one
/// that breaks the field's type or limits.
fn value_for(field: &Field, variant: usize, kind: ValueKind) -> Value {
    let max_items = field.max_items.as_ref().map(|m| **m as usize).unwrap_or(30);
    let min_items = field.min_items.as_ref().map(|m| **m as usize).unwrap_or(0);
    let items = (1 + variant % 3).clamp(min_items.max(1), max_items.max(1));
    match (field.field_type.get(), kind) {
        (FieldType::Text | FieldType::LongText, ValueKind::Valid) => {
            let max = field
                .max_length
                .as_ref()
                .map(|m| **m as usize)
                .unwrap_or(200);
            let len = 1 + variant % max.min(12);
            json!("项目文本".chars().cycle().take(len).collect::<String>())
        }
        (FieldType::Text | FieldType::LongText, ValueKind::Invalid) => match &field.max_length {
            Some(max) if variant.is_multiple_of(2) => json!("长".repeat(**max as usize + 1)),
            _ => json!(42),
        },
        (FieldType::Number, ValueKind::Valid) => {
            let lo = field.min.as_ref().map(|m| **m).unwrap_or(0.0);
            let hi = field.max.as_ref().map(|m| **m).unwrap_or(lo + 1000.0);
            json!([lo, hi, (lo + hi) / 2.0][variant % 3])
        }
        (FieldType::Number, ValueKind::Invalid) => match &field.max {
            Some(max) if variant.is_multiple_of(2) => json!(**max + 1.0),
            _ => json!("many"),
        },
        (FieldType::Date, ValueKind::Valid) => json!(format!("2026-0{}-15", 1 + variant % 9)),
        (FieldType::Date, ValueKind::Invalid) => json!(["2026-02-30", "15/03/2026"][variant % 2]),
        (FieldType::Choice, ValueKind::Valid) => {
            json!(field.options[variant % field.options.len()].id.as_str())
        }
        (FieldType::Choice, ValueKind::Invalid) => json!("no_such_option"),
        (FieldType::Milestones, ValueKind::Valid) => Value::Array(
            (0..items)
                .map(|k| {
                    json!({
                        "title": format!("节点 {k}"),
                        "owner": format!("member{k}"),
                        "start": "2026-03-01",
                        "due": format!("2026-{:02}-28", 4 + k % 8),
                    })
                })
                .collect(),
        ),
        (FieldType::Team, ValueKind::Valid) => Value::Array(
            (0..items)
                .map(|k| json!({ "user": format!("member{k}"), "duty": "牵头" }))
                .collect(),
        ),
        (FieldType::Attachments, ValueKind::Valid) => Value::Array(
            (0..items)
                .map(|k| {
                    if k % 2 == 0 {
                        json!(format!("att-{k}"))
                    } else {
                        json!(k)
                    }
                })
                .collect(),
        ),
        (FieldType::Milestones, ValueKind::Invalid) => {
            [json!("not a list"), json!([{ "title": "x", "owner": "o" }])][variant % 2].clone()
        }
        (FieldType::Team, ValueKind::Invalid) => {
            [json!({ "user": "u" }), json!([{ "duty": "x" }])][variant % 2].clone()
        }
        (FieldType::Attachments, ValueKind::Invalid) => {
            [json!([true]), json!([""])][variant % 2].clone()
        }
        // The goals of the milestones `value_for` makes with the same variant.
        (FieldType::GoalReview, ValueKind::Valid) => Value::Array(
            (0..items)
                .map(|k| {
                    let result = ["achieved", "partly", "not_achieved"][k % 3];
                    json!({ "goal": format!("节点 {k}"), "result": result, "evidence": "佐证" })
                })
                .collect(),
        ),
        (FieldType::GoalReview, ValueKind::Invalid) => [
            json!("not a list"),
            json!([{ "goal": "x", "result": "maybe" }]),
        ][variant % 2]
            .clone(),
        (
            FieldType::Text | FieldType::LongText | FieldType::Date | FieldType::Choice,
            ValueKind::Empty,
        ) => json!(["", "   "][variant % 2]),
        (FieldType::Number, ValueKind::Empty) => Value::Null,
        (
            FieldType::Milestones
            | FieldType::Team
            | FieldType::Attachments
            | FieldType::GoalReview,
            ValueKind::Empty,
        ) => json!([]),
    }
}

/// Every field of every stage holding a valid value.
fn full_form(w: &Workflow) -> Map<String, Value> {
    w.definition
        .stages
        .iter()
        .flat_map(|s| &s.form)
        .map(|f| (f.id.to_string(), value_for(f, 1, ValueKind::Valid)))
        .collect()
}

// --- The independent model of the rules ------------------------------------------------------

fn filled(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Bool(_) | Value::Number(_)) => true,
    }
}

fn scope_fits(scope: Scope, relation: Relation) -> bool {
    match scope {
        // Conflict of interest: never on a project of the holder's own organisation.
        Scope::District => relation == Relation::District,
        Scope::Organisation => relation == Relation::Own,
        Scope::Public => false,
    }
}

/// The due instant of a date deadline, computed here from the text of the definition.
fn date_due(w: &Workflow, deadline: &str, year: i32) -> Option<DateTime<Utc>> {
    let d = w
        .definition
        .deadlines
        .iter()
        .find(|d| d.id.as_str() == deadline)?;
    let Due::Date(text) = &d.due else {
        return None;
    };
    let (m, day) = text.split_once('-')?;
    let (m, day): (u32, u32) = (m.parse().ok()?, day.parse().ok()?);
    let date =
        NaiveDate::from_ymd_opt(year, m, day).or(NaiveDate::from_ymd_opt(year, m, day - 1))?;
    w.timezone
        .from_local_datetime(&date.and_hms_opt(23, 59, 59)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn score_needed(w: &Workflow, part: &str) -> u32 {
    let p = w
        .definition
        .scoring
        .as_ref()
        .and_then(|s| s.parts.iter().find(|p| p.id.as_str() == part))
        .expect("a declared part");
    match p.source.get() {
        PartSource::SelfCheck => 1,
        PartSource::Reviewers => p.min_reviewers.as_ref().map_or(1, |m| **m).max(1),
        PartSource::Appraisal => p.min_appraisals.as_ref().map_or(1, |m| **m).max(1),
    }
}

/// Whether every `goal_review` field of `s` takes exactly the goals of its milestones field:
/// the goal of a milestone is its `goal`, or its title when it has none.
fn goals_reviewed(w: &Workflow, s: &Stage, form: &Map<String, Value>) -> bool {
    s.form
        .iter()
        .filter(|f| *f.field_type.get() == FieldType::GoalReview)
        .all(|f| {
            let from = f.goals_from.as_ref().expect("validated");
            if w.field(from).map(|m| *m.field_type.get()) != Some(FieldType::Milestones) {
                return true;
            }
            let goals: std::collections::BTreeSet<String> = form
                .get(from.as_str())
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|m| m.get("due").and_then(Value::as_str).is_some())
                .filter_map(|m| {
                    let goal = m.get("goal").and_then(Value::as_str).unwrap_or("").trim();
                    let title = m.get("title").and_then(Value::as_str)?.trim();
                    Some(if goal.is_empty() { title } else { goal }.to_string())
                })
                .collect();
            let reviewed: std::collections::BTreeSet<String> = form
                .get(f.id.as_str())
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|g| {
                    ["achieved", "partly", "not_achieved"]
                        .contains(&g.get("result").and_then(Value::as_str).unwrap_or(""))
                })
                .filter_map(|g| Some(g.get("goal")?.as_str()?.trim().to_string()))
                .collect();
            goals == reviewed
        })
}

/// The failing guards of `guards` for `p`, as reason keys (see [`reason_key`]).
fn failing_guards(w: &Workflow, guards: &[&Guard], p: &Project) -> Vec<String> {
    let mut out = Vec::new();
    for g in guards {
        match g {
            Guard::FieldsFilled(ids) => {
                for id in ids {
                    if !filled(p.form.get(id.as_str())) {
                        out.push(format!("field_missing:{id}"));
                    }
                }
            }
            Guard::FormComplete(stage) => {
                let s = w.stage(stage).expect("a declared stage");
                let own: Map<String, Value> = p
                    .form
                    .iter()
                    .filter(|(k, _)| s.form.iter().any(|f| f.id.as_str() == k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !check_form(s, &own, true).is_empty() || !goals_reviewed(w, s, &p.form) {
                    out.push(format!("form_incomplete:{stage}"));
                }
            }
            Guard::MinMilestones(n) => {
                if p.milestones_total < *n {
                    out.push("too_few_milestones".into());
                }
            }
            Guard::AllMilestonesDone(required) => {
                let all_done = p.milestones_total > 0 && p.milestones_done >= p.milestones_total;
                if *required && !all_done {
                    out.push("milestones_not_done".into());
                }
            }
            Guard::MinAppraisals(n) => {
                if p.appraisals < *n {
                    out.push("too_few_appraisals".into());
                }
            }
            Guard::ScorePresent(part) => {
                let have = p
                    .score_counts
                    .iter()
                    .find(|(q, _)| q == part.as_str())
                    .map_or(0, |(_, n)| *n);
                if have < score_needed(w, part) {
                    out.push(format!("score_missing:{part}"));
                }
            }
            Guard::BeforeDeadline(id) => {
                let due = p
                    .deadline_dues
                    .iter()
                    .find(|(d, _)| d == id.as_str())
                    .map(|(_, t)| *t)
                    .or_else(|| date_due(w, id, p.year));
                if due.is_some_and(|due| p.now > due) {
                    out.push(format!("deadline_passed:{id}"));
                }
            }
        }
    }
    out
}

/// Every reason the rules give to refuse `action`, as sorted reason keys.
fn expected_reasons(
    w: &Workflow,
    p: &Project,
    roles: &[&str],
    relation: Relation,
    action: &str,
    comment: Option<&str>,
) -> Vec<String> {
    let Some(t) = w
        .definition
        .transitions
        .iter()
        .find(|t| t.id.as_str() == action)
    else {
        return vec!["unknown_action".into()];
    };
    let stage = w
        .stage(&p.stage)
        .expect("the project is in a declared stage");
    let mut out: Vec<String> = Vec::new();
    if *stage.kind.get() == StageKind::Terminal {
        out.push("project_closed".into());
    } else if !t.from.iter().any(|f| f.as_str() == p.stage) {
        out.push("wrong_stage".into());
    }
    let held: Vec<&str> = t
        .roles
        .iter()
        .map(|r| r.as_str())
        .filter(|r| roles.contains(r))
        .collect();
    if held.is_empty() {
        out.push("role_not_allowed".into());
    } else if !held.iter().any(|r| {
        let role = w
            .definition
            .roles
            .iter()
            .find(|x| x.id.as_str() == *r)
            .unwrap();
        scope_fits(*role.scope.get(), relation)
    }) {
        let district_role = held.iter().any(|r| {
            w.definition
                .roles
                .iter()
                .any(|x| x.id.as_str() == *r && *x.scope.get() == Scope::District)
        });
        out.push(if relation == Relation::Own && district_role {
            "own_organisation".into()
        } else {
            "out_of_scope".into()
        });
    }
    if t.comment == CommentRule::Required && comment.is_none_or(|c| c.trim().is_empty()) {
        out.push("comment_required".into());
    }
    let guards: Vec<&Guard> = t.guards.iter().map(|g| g.get()).collect();
    out.extend(failing_guards(w, &guards, p));
    out.sort();
    out
}

/// A reason as `code` or `code:id` for the reasons that are about one thing.
fn reason_key(r: &Reason) -> String {
    match r {
        Reason::FieldMissing { field } => format!("field_missing:{field}"),
        Reason::FormIncomplete { stage, .. } => format!("form_incomplete:{stage}"),
        Reason::ScoreMissing { part, .. } => format!("score_missing:{part}"),
        Reason::DeadlinePassed { deadline, .. } => format!("deadline_passed:{deadline}"),
        other => other.code().to_string(),
    }
}

fn keys(refusal: &Refusal) -> Vec<String> {
    let mut k: Vec<String> = refusal.reasons.iter().map(reason_key).collect();
    k.sort();
    k
}

// --- Random steps ----------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum FieldChange {
    Remove,
    Set(ValueKind, usize),
}

#[derive(Debug, Clone)]
struct FactsChange {
    milestones_total: Option<u32>,
    milestones_done: Option<u32>,
    appraisals: Option<u32>,
    /// Indexed by scoring part (extra entries are ignored).
    scores: Vec<Option<u32>>,
    fields: Vec<(Index, FieldChange)>,
    /// Fill every field of the current stage's form with valid values (after `fields`).
    fill_current_stage: bool,
}

#[derive(Debug, Clone)]
enum ActionPick {
    /// One of the actions leaving the project's current stage (any action if none does).
    Outgoing(Index),
    /// Any action of the definition.
    Any(Index),
    /// An id the definition does not declare.
    Nonsense,
}

#[derive(Debug, Clone)]
struct Step {
    action: ActionPick,
    roles: u64,
    role_pick: Index,
    relation: Relation,
    comment: Option<&'static str>,
    facts: Option<FactsChange>,
    advance_hours: u32,
}

fn field_change() -> impl Strategy<Value = FieldChange> {
    prop_oneof![
        1 => Just(FieldChange::Remove),
        5 => (0..6usize).prop_map(|v| FieldChange::Set(ValueKind::Valid, v)),
        2 => (0..2usize).prop_map(|v| FieldChange::Set(ValueKind::Empty, v)),
        1 => (0..2usize).prop_map(|v| FieldChange::Set(ValueKind::Invalid, v)),
    ]
}

fn facts_change() -> impl Strategy<Value = FactsChange> {
    (
        prop::option::of(0..6u32),
        prop::option::of(0..7u32),
        prop::option::of(0..14u32),
        prop::collection::vec(prop::option::of(0..12u32), 4),
        prop::collection::vec((any::<Index>(), field_change()), 0..8),
        prop::bool::weighted(0.4),
    )
        .prop_map(
            |(milestones_total, milestones_done, appraisals, scores, fields, fill)| FactsChange {
                milestones_total,
                milestones_done,
                appraisals,
                scores,
                fields,
                fill_current_stage: fill,
            },
        )
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop_oneof![
            15 => any::<Index>().prop_map(ActionPick::Outgoing),
            4 => any::<Index>().prop_map(ActionPick::Any),
            1 => Just(ActionPick::Nonsense),
        ],
        any::<u64>(),
        any::<Index>(),
        prop::sample::select(vec![Relation::Own, Relation::District, Relation::Outside]),
        prop::sample::select(vec![None, Some(""), Some("   "), Some("同意"), Some("ok")]),
        prop::option::weighted(0.6, facts_change()),
        0..400u32,
    )
        .prop_map(
            |(action, roles, role_pick, relation, comment, facts, advance_hours)| Step {
                action,
                roles,
                role_pick,
                relation,
                comment,
                facts,
                advance_hours,
            },
        )
}

fn apply_facts(w: &Workflow, p: &mut Project, c: &FactsChange) {
    if let Some(n) = c.milestones_total {
        p.milestones_total = n;
    }
    if let Some(n) = c.milestones_done {
        p.milestones_done = n;
    }
    p.milestones_done = p.milestones_done.min(p.milestones_total);
    if let Some(n) = c.appraisals {
        p.appraisals = n;
    }
    let parts: Vec<String> = w
        .definition
        .scoring
        .iter()
        .flat_map(|s| &s.parts)
        .map(|p| p.id.to_string())
        .collect();
    for (part, n) in parts.iter().zip(&c.scores) {
        if let Some(n) = n {
            p.set_score(part, *n);
        }
    }
    let fields: Vec<&Field> = w.definition.stages.iter().flat_map(|s| &s.form).collect();
    for (i, change) in &c.fields {
        let f = fields[i.index(fields.len())];
        match change {
            FieldChange::Remove => {
                p.form.remove(f.id.as_str());
            }
            FieldChange::Set(kind, variant) => {
                p.form
                    .insert(f.id.to_string(), value_for(f, *variant, *kind));
            }
        }
    }
    if c.fill_current_stage {
        if let Some(stage) = w.stage(&p.stage) {
            for f in &stage.form {
                p.form
                    .insert(f.id.to_string(), value_for(f, 0, ValueKind::Valid));
            }
        }
    }
}

/// Runs `steps` on a fresh project of `w`, checking every decision against the model.
/// `forward`: actions picked among those leaving the current stage prefer a non-terminal
/// target, so that runs get deep into the process instead of ending early.
fn run(w: &Workflow, steps: &[Step], forward: bool) -> Result<(), TestCaseError> {
    let all_roles: Vec<&str> = w.definition.roles.iter().map(|r| r.id.as_str()).collect();
    let maximal = {
        let mut p = Project::new(w);
        p.form = full_form(w);
        p.milestones_total = 5;
        p.milestones_done = 5;
        p.appraisals = 1000;
        for part in w.definition.scoring.iter().flat_map(|s| &s.parts) {
            p.set_score(part.id.as_str(), 1000);
        }
        p
    };
    let mut p = Project::new(w);
    for s in steps {
        // (a) the project is always in a declared stage.
        prop_assert!(w.stage(&p.stage).is_some(), "undeclared stage {}", p.stage);

        if let Some(c) = &s.facts {
            apply_facts(w, &mut p, c);
        }
        p.now += Duration::hours(i64::from(s.advance_hours));

        let transitions = &w.definition.transitions;
        let action: String = match &s.action {
            ActionPick::Outgoing(i) => {
                let mut out = w.outgoing[w.stage_index[p.stage.as_str()]].clone();
                if forward
                    && out
                        .iter()
                        .any(|t| !w.is_terminal(transitions[*t].to.as_str()))
                {
                    out.retain(|t| !w.is_terminal(transitions[*t].to.as_str()));
                }
                if out.is_empty() {
                    transitions[i.index(transitions.len())].id.to_string()
                } else {
                    transitions[out[i.index(out.len())]].id.to_string()
                }
            }
            ActionPick::Any(i) => transitions[i.index(transitions.len())].id.to_string(),
            ActionPick::Nonsense => "no_such_action".to_string(),
        };
        let mut mask = s.roles & ((1u64 << all_roles.len()) - 1);
        if mask == 0 {
            mask = 1 << s.role_pick.index(all_roles.len());
        }
        let roles: Vec<&str> = all_roles
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, r)| *r)
            .collect();
        let actor = Actor {
            roles: w.roles(roles.iter().copied()),
            relation: s.relation,
        };
        prop_assert_eq!(
            actor.roles.0,
            mask,
            "workflow.roles() keeps declaration order"
        );
        let request = Request {
            action: &action,
            comment: s.comment,
            now: p.now,
        };
        let expected = expected_reasons(w, &p, &roles, s.relation, &action, s.comment);
        let decision = engine::decide(w, &p.facts(), &actor, &request);

        // `available` agrees with `decide` (with a comment given) for the current stage.
        check_available(w, &p, &roles, &actor)?;
        // `may_edit`: not ended, and a role of `editable_by` within its scope.
        let stage = w.stage(&p.stage).unwrap();
        let may_edit_expected = *stage.kind.get() != StageKind::Terminal
            && stage.editable_by.iter().any(|r| {
                roles.contains(&r.as_str())
                    && scope_fits(*w.role(w.role_index[r.as_str()]).scope.get(), s.relation)
            });
        prop_assert_eq!(
            engine::may_edit(w, &p.stage, &actor).is_ok(),
            may_edit_expected,
            "may_edit in {} by {:?} {:?}",
            &p.stage,
            &roles,
            s.relation
        );

        match decision {
            Ok(outcome) => {
                prop_assert!(
                    expected.is_empty(),
                    "`{}` allowed in `{}` for {:?} {:?}, but the model refuses: {:?}",
                    action,
                    &p.stage,
                    &roles,
                    s.relation,
                    expected
                );
                // (b), spelled out.
                let t = w
                    .transition(&action)
                    .expect("an allowed action is declared");
                prop_assert!(t.from.iter().any(|f| f.as_str() == p.stage));
                prop_assert!(!w.is_terminal(&p.stage));
                let holds_role_in_scope = t.roles.iter().any(|r| {
                    roles.contains(&r.as_str())
                        && scope_fits(*w.role(w.role_index[r.as_str()]).scope.get(), s.relation)
                });
                prop_assert!(holds_role_in_scope);
                if t.comment == CommentRule::Required {
                    prop_assert!(s.comment.is_some_and(|c| !c.trim().is_empty()));
                }
                let guards: Vec<&Guard> = t.guards.iter().map(|g| g.get()).collect();
                prop_assert!(failing_guards(w, &guards, &p).is_empty());
                prop_assert_eq!(outcome.action, action.as_str());
                prop_assert_eq!(outcome.from, p.stage.as_str());
                prop_assert_eq!(outcome.to, t.to.as_str());
                for e in &outcome.effects {
                    match e {
                        PlannedEffect::Notify { roles, template } => {
                            prop_assert!(w.template_index.contains_key(*template));
                            prop_assert!(roles.iter().all(|r| w.role_index.contains_key(*r)));
                        }
                        PlannedEffect::OpenDeadline { deadline, .. }
                        | PlannedEffect::CloseDeadline { deadline } => {
                            prop_assert!(w.deadline_index.contains_key(*deadline));
                        }
                        PlannedEffect::ComputeScore => {
                            prop_assert!(w.definition.scoring.is_some());
                        }
                    }
                }
                p.apply(&outcome);
                prop_assert!(w.stage(&p.stage).is_some());
            }
            Err(refusal) => {
                // (c) a refusal names its reasons, and exactly the ones the model finds.
                prop_assert!(!refusal.reasons.is_empty());
                prop_assert_eq!(
                    keys(&refusal),
                    expected.clone(),
                    "`{}` in `{}` for {:?} {:?}",
                    action,
                    &p.stage,
                    &roles,
                    s.relation
                );
                for r in &refusal.reasons {
                    prop_assert!(!r.message(w, "zh").is_empty());
                    prop_assert!(!r.message(w, "en").is_empty());
                }
                // A refusal for who acts is not lifted by the project's facts.
                if refusal.reasons.iter().any(Reason::is_permission) {
                    for facts_owner in [&maximal, &Project::new(w)] {
                        let mut other = facts_owner.clone();
                        other.stage = p.stage.clone();
                        other.now = p.now;
                        let again = engine::decide(w, &other.facts(), &actor, &request);
                        prop_assert!(
                            again
                                .as_ref()
                                .is_err_and(|r| r.reasons.iter().any(Reason::is_permission)),
                            "`{}` refused for permission became {:?} with other facts",
                            action,
                            again
                        );
                    }
                }
            }
        }
    }
    prop_assert!(w.stage(&p.stage).is_some());
    Ok(())
}

fn check_available(
    w: &Workflow,
    p: &Project,
    roles: &[&str],
    actor: &Actor,
) -> Result<(), TestCaseError> {
    let listed = engine::available(w, &p.facts(), actor, p.now);
    for a in &listed {
        let t = w.transition(a.action).unwrap();
        prop_assert!(t.from.iter().any(|f| f.as_str() == p.stage));
        prop_assert!(t.roles.iter().any(|r| roles.contains(&r.as_str())));
        prop_assert_eq!(a.to, t.to.as_str());
        let req = Request {
            action: a.action,
            comment: Some("-"),
            now: p.now,
        };
        prop_assert_eq!(
            a.allowed,
            engine::decide(w, &p.facts(), actor, &req).is_ok()
        );
        prop_assert_eq!(a.allowed, a.reasons.is_empty());
    }
    // Every action leaving the stage that the actor holds a role for is listed.
    let expected: Vec<&str> = w
        .definition
        .transitions
        .iter()
        .filter(|t| t.from.iter().any(|f| f.as_str() == p.stage))
        .filter(|t| t.roles.iter().any(|r| roles.contains(&r.as_str())))
        .map(|t| t.id.as_str())
        .collect();
    let got: Vec<&str> = listed.iter().map(|a| a.action).collect();
    prop_assert_eq!(got, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn default_definition_decisions_follow_the_rules(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        run(&DEFAULT, &steps, false)?;
    }

    #[test]
    fn community_fund_decisions_follow_the_rules(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        run(&FUND, &steps, false)?;
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// An actor holding every role, mostly with a comment, moving mostly forwards: runs that
    /// get deep into the process.
    #[test]
    fn guided_runs_follow_the_rules(
        fund in any::<bool>(),
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let w: &Workflow = if fund { &FUND } else { &DEFAULT };
        let steps: Vec<Step> = steps
            .into_iter()
            .map(|mut s| {
                s.roles = u64::MAX;
                // Own for the subdistrict's actions, District for the district's.
                if s.relation == Relation::Outside {
                    s.relation = Relation::District;
                }
                if s.comment.is_none() {
                    s.comment = Some("同意");
                }
                s
            })
            .collect();
        run(w, &steps, true)?;
    }
}

// --- Whole processes -------------------------------------------------------------------------

struct Driver<'w> {
    w: &'w Workflow,
    p: Project,
}

impl<'w> Driver<'w> {
    fn new(w: &'w Workflow) -> Self {
        Driver {
            w,
            p: Project::new(w),
        }
    }

    fn decide(
        &self,
        action: &str,
        roles: &[&str],
        relation: Relation,
        comment: Option<&str>,
    ) -> Result<Outcome<'w>, Refusal> {
        let actor = Actor {
            roles: self.w.roles(roles.iter().copied()),
            relation,
        };
        let req = Request {
            action,
            comment,
            now: self.p.now,
        };
        engine::decide(self.w, &self.p.facts(), &actor, &req)
    }

    fn refused(&self, action: &str, roles: &[&str], relation: Relation) -> Vec<String> {
        match self.decide(action, roles, relation, Some("意见")) {
            Ok(o) => panic!(
                "`{action}` should be refused in `{}`, moved to `{}`",
                o.from, o.to
            ),
            Err(r) => keys(&r),
        }
    }

    /// Takes `action`, asserting where it leads; returns the outcome's effects.
    fn take(
        &mut self,
        action: &str,
        roles: &[&str],
        relation: Relation,
        to: &str,
    ) -> Vec<PlannedEffect<'w>> {
        let outcome = self
            .decide(action, roles, relation, Some("同意"))
            .unwrap_or_else(|r| {
                panic!(
                    "`{action}` in `{}` refused: {:?}",
                    self.p.stage,
                    r.reasons
                        .iter()
                        .map(|x| x.message(self.w, "en"))
                        .collect::<Vec<_>>()
                )
            });
        assert_eq!(outcome.from, self.p.stage);
        assert_eq!(outcome.to, to, "`{action}` led elsewhere");
        self.p.apply(&outcome);
        self.p.now += Duration::days(3);
        outcome.effects
    }
}

#[test]
fn default_process_happy_path_from_drafting_to_closed() {
    use Relation::{District, Own};
    let w: &Workflow = &DEFAULT;
    let mut d = Driver::new(w);
    assert_eq!(d.p.stage, "drafting");

    // An empty application cannot be submitted; every missing piece is named.
    let r = d.refused("submit", &["secretary"], Own);
    assert!(r.contains(&"form_incomplete:drafting".to_string()), "{r:?}");
    assert!(r.contains(&"field_missing:milestones".to_string()), "{r:?}");
    assert!(r.contains(&"too_few_milestones".to_string()), "{r:?}");
    d.p.fill_stage(w, "drafting");
    d.p.milestones_total = 3;
    // A member may edit the application but not submit it; a secretary of another
    // organisation may not submit it either.
    assert_eq!(d.refused("submit", &["member"], Own), ["role_not_allowed"]);
    assert_eq!(
        d.refused("submit", &["secretary"], District),
        ["out_of_scope"]
    );
    let submitted_at = d.p.now;
    let effects = d.take("submit", &["secretary"], Own, "under_review");
    assert!(effects.contains(&PlannedEffect::Notify {
        roles: vec!["reviewer"],
        template: "application_submitted",
    }));
    assert!(effects.contains(&PlannedEffect::OpenDeadline {
        deadline: "approval_review",
        due: Some(submitted_at + Duration::days(15)),
    }));

    d.take("approve", &["reviewer"], District, "implementation");
    d.take("start_mid_term", &["reviewer"], District, "mid_term_review");
    assert_eq!(
        d.refused("pass_mid_term", &["reviewer"], District),
        ["form_incomplete:mid_term_review"]
    );
    d.p.fill_stage(w, "mid_term_review");
    d.take("pass_mid_term", &["reviewer"], District, "implementation");

    assert_eq!(
        d.refused("start_self_check", &["secretary"], Own),
        ["milestones_not_done"]
    );
    d.p.milestones_done = 3;
    d.take("start_self_check", &["secretary"], Own, "self_check");

    d.p.fill_stage(w, "self_check");
    assert_eq!(
        d.refused("submit_self_check", &["secretary"], Own),
        ["score_missing:self_check"]
    );
    d.p.set_score("self_check", 1);
    d.take(
        "submit_self_check",
        &["secretary"],
        Own,
        "awaiting_upper_review",
    );

    d.take("start_upper_review", &["admin"], District, "upper_review");
    d.p.fill_stage(w, "upper_review");
    d.p.set_score("upper_review", 2);
    assert_eq!(
        d.refused("finish_upper_review", &["reviewer"], District),
        ["score_missing:upper_review"],
        "trimmed mean needs three reviewers"
    );
    d.p.set_score("upper_review", 3);
    d.take(
        "finish_upper_review",
        &["reviewer"],
        District,
        "awaiting_appraisal",
    );

    d.take("open_appraisal", &["admin"], District, "resident_appraisal");
    d.p.appraisals = 9;
    d.p.set_score("resident_appraisal", 9);
    assert_eq!(
        d.refused("close_appraisal", &["admin"], District),
        ["score_missing:resident_appraisal", "too_few_appraisals"]
    );
    d.p.appraisals = 10;
    d.p.set_score("resident_appraisal", 10);
    d.take("close_appraisal", &["admin"], District, "scoring");

    d.p.fill_stage(w, "scoring");
    assert_eq!(
        d.refused("close_project", &["reviewer"], District),
        ["role_not_allowed"]
    );
    let effects = d.take("close_project", &["admin"], District, "closed");
    assert!(effects.contains(&PlannedEffect::ComputeScore));

    // Closed is the end: nothing more is allowed, for anyone.
    for t in &w.definition.transitions {
        let r = d.refused(t.id.as_str(), &["admin", "reviewer", "secretary"], Own);
        assert!(r.contains(&"project_closed".to_string()), "{}: {r:?}", t.id);
    }
    assert!(engine::may_edit(
        w,
        "closed",
        &Actor {
            roles: w.roles(["admin"]),
            relation: District
        }
    )
    .is_err());
}

#[test]
fn default_process_return_and_correction_loops() {
    use Relation::{District, Own};
    let w: &Workflow = &DEFAULT;
    let mut d = Driver::new(w);
    d.p.fill_stage(w, "drafting");
    d.p.milestones_total = 2;
    d.take("submit", &["secretary"], Own, "under_review");
    assert_eq!(
        d.decide("return_for_revision", &["reviewer"], District, Some("  "))
            .map(|o| o.to)
            .map_err(|r| keys(&r)),
        Err(vec!["comment_required".to_string()])
    );
    d.take("return_for_revision", &["reviewer"], District, "drafting");
    d.take("submit", &["secretary"], Own, "under_review");
    d.take("approve", &["admin"], District, "implementation");
    d.take("start_mid_term", &["admin"], District, "mid_term_review");
    d.p.fill_stage(w, "mid_term_review");
    d.take("require_correction", &["reviewer"], District, "correction");
    assert_eq!(
        d.refused("finish_correction", &["secretary"], Own),
        ["form_incomplete:correction"]
    );
    d.p.fill_stage(w, "correction");
    d.take("finish_correction", &["secretary"], Own, "implementation");
    d.take("terminate", &["admin"], District, "terminated");
    assert!(w.is_terminal(&d.p.stage));
}

#[test]
fn community_fund_from_proposal_to_done() {
    use Relation::{District, Own};
    let w: &Workflow = &FUND;
    let mut d = Driver::new(w);
    assert_eq!(d.p.stage, "proposal");
    d.p.fill_stage(w, "proposal");
    d.p.milestones_total = 2;
    let effects = d.take("submit_proposal", &["applicant"], Own, "vetting");
    assert!(effects.contains(&PlannedEffect::Notify {
        roles: vec!["committee"],
        template: "proposal_received",
    }));
    assert!(
        d.p.deadline_dues
            .iter()
            .any(|(id, _)| id == "vetting_period"),
        "the vetting period is open"
    );

    d.take("fund", &["committee"], District, "funded");
    d.take("start_delivery", &["coordinator"], Own, "delivery");
    assert_eq!(
        d.refused("complete_delivery", &["coordinator"], Own),
        [
            "field_missing:receipts",
            "field_missing:spending_report",
            "milestones_not_done"
        ]
    );
    d.p.fill_stage(w, "delivery");
    d.p.milestones_done = 2;
    d.take("complete_delivery", &["coordinator"], Own, "audit");
    assert_eq!(
        d.refused("sign_off", &["auditor"], District),
        ["score_missing:audit_score"]
    );
    d.p.set_score("audit_score", 1);
    d.take("sign_off", &["auditor"], District, "feedback");
    d.p.appraisals = 5;
    d.p.set_score("resident_score", 5);
    let effects = d.take("finalise", &["committee"], District, "done");
    assert!(effects.contains(&PlannedEffect::ComputeScore));
    assert!(w.is_terminal("done"));
}

#[test]
fn community_fund_cannot_fund_after_the_vetting_period() {
    use Relation::{District, Own};
    let w: &Workflow = &FUND;
    let mut d = Driver::new(w);
    d.p.fill_stage(w, "proposal");
    d.p.milestones_total = 1;
    d.take("submit_proposal", &["coordinator"], Own, "vetting");
    let due =
        d.p.deadline_dues
            .iter()
            .find(|(id, _)| id == "vetting_period")
            .map(|(_, t)| *t)
            .expect("opened by submit_proposal");
    d.p.now = due;
    assert!(
        d.decide("fund", &["committee"], District, None).is_ok(),
        "at the due instant"
    );
    d.p.now = due + Duration::seconds(1);
    assert_eq!(
        d.refused("fund", &["committee"], District),
        ["deadline_passed:vetting_period"]
    );
    // Declining still works after the period.
    d.take("decline", &["committee"], District, "declined");
}

#[test]
fn a_refusal_lists_every_reason_at_once() {
    // The documented minimal example, with a comment and a field guard on `finish`.
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/workflow-format.md"),
    )
    .unwrap();
    let yaml = doc
        .split("## A minimal complete example")
        .nth(1)
        .and_then(|s| s.split("```yaml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .unwrap();
    let yaml = yaml.replacen(
        "    roles: [manager]\n    guards:\n",
        "    roles: [manager]\n    comment: required\n    guards:\n      - fields_filled: [problem]\n",
        1,
    );
    let w = workflow::load_str("all-reasons.yaml", &yaml).unwrap_or_else(|p| panic!("{p:?}"));
    let mut p = Project::new(&w);
    p.stage = "open".into();
    let actor = Actor {
        roles: w.roles(["requester"]),
        relation: Relation::Own,
    };
    let req = Request {
        action: "finish",
        comment: None,
        now: p.now,
    };
    let refusal = engine::decide(&w, &p.facts(), &actor, &req).unwrap_err();
    assert_eq!(
        refusal.reasons,
        vec![
            Reason::RoleNotAllowed {
                allowed: vec!["manager".into()]
            },
            Reason::CommentRequired,
            Reason::FieldMissing {
                field: "problem".into()
            },
            Reason::ScoreMissing {
                part: "quality".into(),
                have: 0,
                need: 1
            },
        ]
    );
    assert!(refusal.reasons[0].is_permission());

    // The same in the default definition: wrong stage, role, comment and form at once.
    let w: &Workflow = &DEFAULT;
    let mut p = Project::new(w);
    p.stage = "implementation".into();
    let actor = Actor {
        roles: w.roles(["secretary"]),
        relation: Relation::Own,
    };
    let req = Request {
        action: "require_correction",
        comment: Some(" "),
        now: p.now,
    };
    let refusal = engine::decide(w, &p.facts(), &actor, &req).unwrap_err();
    assert_eq!(
        refusal.reasons,
        vec![
            Reason::WrongStage {
                stage: "implementation".into(),
                allowed_from: vec!["mid_term_review".into()]
            },
            Reason::RoleNotAllowed {
                allowed: vec!["reviewer".into(), "admin".into()]
            },
            Reason::CommentRequired,
            Reason::FormIncomplete {
                stage: "mid_term_review".into(),
                problems: vec!["midterm_progress".into(), "midterm_opinion".into()]
            },
        ]
    );
    let en: Vec<String> = refusal.reasons.iter().map(|r| r.message(w, "en")).collect();
    assert!(
        en[0].contains("Implementation") && en[0].contains("Mid-term evaluation"),
        "{en:?}"
    );
    assert!(en[1].contains("District reviewer"), "{en:?}");
    let zh = refusal.reasons[2].message(w, "zh");
    assert_eq!(zh, "此操作须填写意见");
}

#[test]
fn unknown_actions_and_stages_are_refused_alone() {
    let w: &Workflow = &DEFAULT;
    let mut p = Project::new(w);
    let actor = Actor {
        roles: w.roles(["admin"]),
        relation: Relation::Outside,
    };
    let now = p.now;
    let req = |action| Request {
        action,
        comment: None,
        now,
    };
    let r = engine::decide(w, &p.facts(), &actor, &req("launch")).unwrap_err();
    assert_eq!(
        r.reasons,
        vec![Reason::UnknownAction {
            action: "launch".into()
        }]
    );
    p.stage = "limbo".into();
    let r = engine::decide(w, &p.facts(), &actor, &req("submit")).unwrap_err();
    assert_eq!(
        r.reasons,
        vec![Reason::UnknownStage {
            stage: "limbo".into()
        }]
    );
    assert!(engine::available(w, &p.facts(), &actor, p.now).is_empty());
}

#[test]
fn an_outcome_opens_or_closes_each_deadline_once() {
    use Relation::Own;
    for (w, action, role, relation, fill) in [
        (&*DEFAULT, "submit", "secretary", Own, "drafting"),
        (&*FUND, "submit_proposal", "applicant", Own, "proposal"),
    ] {
        let mut d = Driver::new(w);
        d.p.fill_stage(w, fill);
        d.p.milestones_total = 1;
        let outcome = d.decide(action, &[role], relation, None).unwrap();
        let mut seen = Vec::new();
        for e in &outcome.effects {
            let key = match e {
                PlannedEffect::OpenDeadline { deadline, .. } => format!("open {deadline}"),
                PlannedEffect::CloseDeadline { deadline } => format!("close {deadline}"),
                _ => continue,
            };
            assert!(
                !seen.contains(&key),
                "`{action}` plans `{key}` twice: {:?}",
                outcome.effects
            );
            seen.push(key);
        }
    }
}

#[test]
fn generated_form_values_are_what_they_claim() {
    for w in [&*DEFAULT, &*FUND] {
        for s in &w.definition.stages {
            for f in &s.form {
                for variant in 0..6 {
                    let one = |kind| -> Map<String, Value> {
                        [(f.id.to_string(), value_for(f, variant, kind))]
                            .into_iter()
                            .collect()
                    };
                    let valid = one(ValueKind::Valid);
                    assert!(filled(valid.get(f.id.as_str())), "{}", f.id);
                    assert!(
                        check_form(s, &valid, false).is_empty(),
                        "{}: {valid:?}",
                        f.id
                    );
                    let invalid = one(ValueKind::Invalid);
                    assert!(
                        !check_form(s, &invalid, false).is_empty(),
                        "{}: {invalid:?}",
                        f.id
                    );
                    let empty = one(ValueKind::Empty);
                    assert!(!filled(empty.get(f.id.as_str())), "{}", f.id);
                    let missing = check_form(s, &empty, true)
                        .iter()
                        .any(|p| p.field == f.id.as_str());
                    assert_eq!(missing, f.required, "{}: {empty:?}", f.id);
                }
            }
        }
    }
}
