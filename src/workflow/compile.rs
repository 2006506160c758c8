//! Semantic validation of a parsed definition, and its compiled form, [`Workflow`].
//!
//! Every check runs and every problem is reported (not only the first). A definition that passes
//! becomes a `Workflow`: the same model plus indices, parsed durations, dates and cron schedules,
//! and role bit sets, so that the engine decides without parsing or allocating lookups.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::Duration;
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use super::model::*;
use super::pos::{Location, Pos};
use super::problem::{with_suggestion, Problem};
use super::units::{parse_cron, parse_duration, parse_month_day, parse_size, MonthDay};

/// At most this many roles: the engine keeps a user's roles in a `u64` bit set.
pub const MAX_ROLES: usize = 64;

/// A set of roles of one definition, as bits in the order the roles are declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoleSet(pub u64);

impl RoleSet {
    pub fn contains(self, index: usize) -> bool {
        index < 64 && self.0 & (1 << index) != 0
    }
    pub fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..64).filter(move |i| self.contains(*i))
    }
}

#[derive(Debug, Clone)]
pub enum CompiledDue {
    Date(MonthDay),
    After { transition: usize, offset: Duration },
    MilestoneDue,
}

#[derive(Debug, Clone)]
pub struct CompiledDeadline {
    pub due: CompiledDue,
    pub remind_before: Vec<Duration>,
    pub escalate_after: Option<Duration>,
}

/// A window with its days parsed: it opens at 00:00 on `opens` and closes at the end of
/// `closes` (its deadline's date), in the definition's time zone.
#[derive(Debug, Clone)]
pub struct CompiledWindow {
    pub opens: MonthDay,
    pub closes: MonthDay,
    pub closing_before: Vec<Duration>,
}

#[derive(Debug, Clone)]
pub struct CompiledTransition {
    pub from: Vec<usize>,
    pub to: usize,
    pub roles: RoleSet,
}

/// A validated definition, ready for the engine.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub definition: Definition,
    /// The exact text it was read from, stored with each version.
    pub source: String,
    /// SHA-256 of `source`, hex.
    pub content_hash: String,
    pub timezone: Tz,
    pub initial_stage: usize,
    pub stage_index: HashMap<String, usize>,
    pub transition_index: HashMap<String, usize>,
    pub role_index: HashMap<String, usize>,
    pub deadline_index: HashMap<String, usize>,
    pub template_index: HashMap<String, usize>,
    /// Field id -> (stage index, field index).
    pub field_index: HashMap<String, (usize, usize)>,
    pub transitions: Vec<CompiledTransition>,
    /// For each stage, the transitions that leave it.
    pub outgoing: Vec<Vec<usize>>,
    pub deadlines: Vec<CompiledDeadline>,
    pub schedules: Vec<croner::Cron>,
    /// Parallel to `definition.windows`.
    pub windows: Vec<CompiledWindow>,
    /// Largest attachment per attachments field, by field id.
    pub attachment_limits: HashMap<String, u64>,
    /// For each stage, whether it takes milestone progress reports (see `reporting`).
    pub progress_stages: Vec<bool>,
}

impl Workflow {
    pub fn id(&self) -> &str {
        self.definition.id.as_str()
    }
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stage_index
            .get(id)
            .map(|i| &self.definition.stages[*i])
    }
    pub fn transition(&self, id: &str) -> Option<&Transition> {
        self.transition_index
            .get(id)
            .map(|i| &self.definition.transitions[*i])
    }
    pub fn initial_stage(&self) -> &Stage {
        &self.definition.stages[self.initial_stage]
    }
    /// Whether milestone progress is reported in this stage.
    pub fn takes_progress_reports(&self, stage: &str) -> bool {
        self.stage_index
            .get(stage)
            .is_some_and(|i| self.progress_stages.get(*i).copied().unwrap_or(false))
    }
    pub fn is_terminal(&self, stage: &str) -> bool {
        self.stage(stage)
            .is_some_and(|s| *s.kind.get() == StageKind::Terminal)
    }
    /// The role set of the given role ids; unknown ids are ignored.
    pub fn roles<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> RoleSet {
        RoleSet(
            ids.into_iter()
                .filter_map(|r| self.role_index.get(r))
                .fold(0, |acc, i| acc | (1 << i)),
        )
    }
    pub fn role(&self, index: usize) -> &Role {
        &self.definition.roles[index]
    }
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.field_index
            .get(id)
            .map(|(s, f)| &self.definition.stages[*s].form[*f])
    }
    pub fn part(&self, id: &str) -> Option<&Part> {
        self.definition
            .scoring
            .as_ref()?
            .parts
            .iter()
            .find(|p| p.id.as_str() == id)
    }
    /// The workflow's roles of `scope`.
    pub fn roles_of_scope(&self, scope: Scope) -> RoleSet {
        RoleSet(
            self.definition
                .roles
                .iter()
                .enumerate()
                .filter(|(_, r)| *r.scope.get() == scope)
                .fold(0, |acc, (i, _)| acc | (1 << i)),
        )
    }
    /// The ids of a role set, in declaration order.
    pub fn role_ids(&self, set: RoleSet) -> Vec<String> {
        set.iter().map(|i| self.role(i).id.to_string()).collect()
    }
    /// Whether any of `roles` (role ids) is a role of this workflow with `scope`.
    pub fn holds_scope(&self, roles: &[String], scope: Scope) -> bool {
        roles.iter().any(|r| {
            self.role_index
                .get(r)
                .is_some_and(|i| *self.role(*i).scope.get() == scope)
        })
    }
    /// The part residents rate, if the definition has one.
    pub fn appraisal_part(&self) -> Option<&Part> {
        self.definition
            .scoring
            .as_ref()?
            .parts
            .iter()
            .find(|p| *p.source.get() == PartSource::Appraisal)
    }
    /// Whether residents may appraise a project in `stage`: one of the appraisal part's
    /// `open_in` stages, or any stage that is not terminal when it names none.
    pub fn appraisal_open_in(&self, stage: &str) -> bool {
        match self.appraisal_part() {
            None => false,
            Some(p) if p.open_in.is_empty() => {
                self.stage(stage).is_some() && !self.is_terminal(stage)
            }
            Some(p) => p.open_in.iter().any(|s| s.as_str() == stage),
        }
    }
    /// The stages in which score sheets of `part` are taken: those left by a transition that
    /// requires the part's score (`score_present`), in declaration order.
    pub fn scoring_stages(&self, part: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for t in &self.definition.transitions {
            let needs = t
                .guards
                .iter()
                .any(|g| matches!(g.get(), Guard::ScorePresent(p) if p.as_str() == part));
            if needs {
                for f in &t.from {
                    if !out.contains(&f.as_str()) {
                        out.push(f.as_str());
                    }
                }
            }
        }
        out
    }
    /// How long an appraisal token stays valid (validated; 30 days by default).
    pub fn token_valid_for(&self) -> Duration {
        self.appraisal_part()
            .and_then(|p| p.token_valid_for.as_ref())
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or_else(|| Duration::days(30))
    }
}

/// Validate `definition` (read from `file`, whose text is `source`) and compile it.
pub fn compile(file: &str, source: &str, definition: Definition) -> Result<Workflow, Vec<Problem>> {
    let mut v = Validator {
        file,
        problems: Vec::new(),
    };
    let compiled = v.run(&definition);
    if v.problems.is_empty() {
        if let Some(parts) = compiled {
            return Ok(parts.finish(definition, source));
        }
    }
    let mut problems = v.problems;
    problems.sort();
    problems.dedup();
    Err(problems)
}

struct Parts {
    timezone: Tz,
    initial_stage: usize,
    stage_index: HashMap<String, usize>,
    transition_index: HashMap<String, usize>,
    role_index: HashMap<String, usize>,
    deadline_index: HashMap<String, usize>,
    template_index: HashMap<String, usize>,
    field_index: HashMap<String, (usize, usize)>,
    transitions: Vec<CompiledTransition>,
    outgoing: Vec<Vec<usize>>,
    deadlines: Vec<CompiledDeadline>,
    schedules: Vec<croner::Cron>,
    windows: Vec<CompiledWindow>,
    attachment_limits: HashMap<String, u64>,
}

impl Parts {
    fn finish(self, definition: Definition, source: &str) -> Workflow {
        let mut w = Workflow {
            definition,
            source: source.to_string(),
            content_hash: hex::encode(Sha256::digest(source.as_bytes())),
            timezone: self.timezone,
            initial_stage: self.initial_stage,
            stage_index: self.stage_index,
            transition_index: self.transition_index,
            role_index: self.role_index,
            deadline_index: self.deadline_index,
            template_index: self.template_index,
            field_index: self.field_index,
            transitions: self.transitions,
            outgoing: self.outgoing,
            deadlines: self.deadlines,
            schedules: self.schedules,
            windows: self.windows,
            attachment_limits: self.attachment_limits,
            progress_stages: Vec::new(),
        };
        w.progress_stages = super::reporting::progress_stages(&w);
        w
    }
}

struct Validator<'f> {
    file: &'f str,
    problems: Vec<Problem>,
}

/// Where a value was written, for problems about things made in code (no position): 1:1.
fn loc<T>(p: &Pos<T>) -> Location {
    let l = p.location();
    if l.line == 0 {
        Location { line: 1, column: 1 }
    } else {
        l
    }
}

impl Validator<'_> {
    fn report(&mut self, at: Location, message: impl Into<String>) {
        let location = if at.line == 0 {
            Location { line: 1, column: 1 }
        } else {
            at
        };
        self.problems.push(Problem {
            file: self.file.to_string(),
            location,
            message: message.into(),
        });
    }

    /// Index a list of ids, reporting duplicates and malformed ids.
    fn index<'a>(
        &mut self,
        what: &str,
        ids: impl IntoIterator<Item = &'a Id>,
    ) -> HashMap<String, usize> {
        let mut map = HashMap::new();
        let mut first: HashMap<String, Location> = HashMap::new();
        for (i, id) in ids.into_iter().enumerate() {
            self.check_id_syntax(what, id);
            if let Some(prev) = first.get(id.as_str()) {
                let msg = format!(
                    "duplicate {what} id `{id}` (first declared at line {})",
                    prev.line
                );
                self.report(loc(id), msg);
            } else {
                first.insert(id.to_string(), loc(id));
                map.insert(id.to_string(), i);
            }
        }
        map
    }

    fn check_id_syntax(&mut self, what: &str, id: &Id) {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && id.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if !ok {
            self.report(
                loc(id),
                format!("bad {what} id `{id}`: use lower-case letters, digits and `_`, starting with a letter (at most 64)"),
            );
        }
    }

    /// Resolve a reference, reporting an undefined one with a suggestion.
    fn resolve(&mut self, what: &str, id: &Id, map: &HashMap<String, usize>) -> Option<usize> {
        match map.get(id.as_str()) {
            Some(i) => Some(*i),
            None => {
                let msg = with_suggestion(
                    format!("undefined {what} `{id}`"),
                    id,
                    map.keys().map(String::as_str),
                );
                self.report(loc(id), msg);
                None
            }
        }
    }

    fn label(&mut self, at: Location, what: &str, l: &Label) {
        if l.zh.trim().is_empty() || l.en.trim().is_empty() {
            self.report(
                at,
                format!("{what} needs both a Chinese (`zh`) and an English (`en`) text"),
            );
        }
    }

    fn duration(&mut self, text: &Pos<String>) -> Option<Duration> {
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.report(loc(text), e);
                None
            }
        }
    }

    fn roles(&mut self, ids: &[Id], roles: &HashMap<String, usize>) -> RoleSet {
        let mut set = RoleSet::default();
        for id in ids {
            if let Some(i) = self.resolve("role", id, roles) {
                set.0 |= 1 << i.min(63);
            }
        }
        set
    }

    fn run(&mut self, d: &Definition) -> Option<Parts> {
        self.check_id_syntax("definition", &d.id);
        self.label(loc(&d.id), "the definition's `name`", &d.name);
        let timezone = match &d.timezone {
            None => chrono_tz::Asia::Shanghai,
            Some(tz) => {
                match tz.parse::<Tz>() {
                    Ok(t) => t,
                    Err(_) => {
                        self.report(loc(tz), format!("unknown time zone `{tz}`; write an IANA name such as `Asia/Shanghai`"));
                        chrono_tz::Asia::Shanghai
                    }
                }
            }
        };

        // Roles
        let role_index = self.index("role", d.roles.iter().map(|r| &r.id));
        if d.roles.is_empty() {
            self.report(
                loc(&d.id),
                "a definition needs at least one role under `roles`",
            );
        }
        if d.roles.len() > MAX_ROLES {
            self.report(
                loc(&d.roles[MAX_ROLES].id),
                format!("at most {MAX_ROLES} roles are supported"),
            );
        }
        for r in &d.roles {
            self.label(loc(&r.id), &format!("role `{}`", r.id), &r.name);
        }
        let public_roles: HashSet<usize> = d
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| *r.scope.get() == Scope::Public)
            .map(|(i, _)| i)
            .collect();

        // Templates
        let template_index = self.index("template", d.templates.iter().map(|t| &t.id));
        for t in &d.templates {
            self.label(
                loc(&t.id),
                &format!("subject of template `{}`", t.id),
                &t.subject,
            );
            self.label(loc(&t.id), &format!("body of template `{}`", t.id), &t.body);
        }

        // Stages and their forms
        let stage_index = self.index("stage", d.stages.iter().map(|s| &s.id));
        let mut field_index = HashMap::new();
        let mut first_field: HashMap<String, Location> = HashMap::new();
        let mut attachment_limits = HashMap::new();
        for (si, s) in d.stages.iter().enumerate() {
            self.label(loc(&s.id), &format!("stage `{}`", s.id), &s.name);
            self.roles(&s.editable_by, &role_index);
            for (fi, f) in s.form.iter().enumerate() {
                self.check_id_syntax("field", &f.id);
                if let Some(prev) = first_field.get(f.id.as_str()) {
                    let msg = format!(
                        "duplicate field id `{}` (first declared at line {}); field ids are unique across all stages",
                        f.id, prev.line
                    );
                    self.report(loc(&f.id), msg);
                } else {
                    first_field.insert(f.id.to_string(), loc(&f.id));
                    field_index.insert(f.id.to_string(), (si, fi));
                }
                self.field(f, &mut attachment_limits);
            }
        }
        for f in d.stages.iter().flat_map(|s| s.form.iter()) {
            let Some(from) = &f.goals_from else { continue };
            let fields: HashMap<String, usize> =
                field_index.keys().map(|k| (k.clone(), 0)).collect();
            if self.resolve("field", from, &fields).is_some() {
                let (si, fi) = field_index[from.as_str()];
                let target = &d.stages[si].form[fi];
                if *target.field_type.get() != FieldType::Milestones {
                    self.report(
                        loc(from),
                        format!(
                            "`goals_from` must name a `milestones` field; `{from}` is of type `{}`",
                            type_name(*target.field_type.get())
                        ),
                    );
                }
            }
        }
        let initials: Vec<usize> = d
            .stages
            .iter()
            .enumerate()
            .filter(|(_, s)| *s.kind.get() == StageKind::Initial)
            .map(|(i, _)| i)
            .collect();
        match initials.as_slice() {
            [one] => Some(*one),
            [] => {
                let at = d.stages.first().map(|s| loc(&s.id)).unwrap_or(loc(&d.id));
                self.report(at, "no stage has `kind: initial`; exactly one must");
                None
            }
            [_, rest @ ..] => {
                for i in rest {
                    let s = &d.stages[*i];
                    self.report(
                        loc(&s.kind),
                        format!(
                            "stage `{}` is a second initial stage; exactly one is allowed",
                            s.id
                        ),
                    );
                }
                None
            }
        };
        let initial_stage = initials.first().copied();
        if !d
            .stages
            .iter()
            .any(|s| *s.kind.get() == StageKind::Terminal)
        {
            let at = d.stages.first().map(|s| loc(&s.id)).unwrap_or(loc(&d.id));
            self.report(
                at,
                "no stage has `kind: terminal`; a project must be able to end",
            );
        }

        for s in &d.stages {
            if let Some(p) = &s.progress_reports {
                if *p.get() && *s.kind.get() == StageKind::Terminal {
                    self.report(
                        loc(p),
                        format!(
                            "stage `{}` is terminal: a closed project takes no progress reports",
                            s.id
                        ),
                    );
                }
            }
        }
        // Deadlines are referenced by stages and effects, so index them first.
        let deadline_index = self.index("deadline", d.deadlines.iter().map(|x| &x.id));
        for s in &d.stages {
            if let Some(dl) = &s.deadline {
                self.resolve("deadline", dl, &deadline_index);
            }
        }

        // Scoring ids (guards and deadlines refer to parts and deductions)
        let part_index = d
            .scoring
            .as_ref()
            .map(|sc| self.index("scoring part", sc.parts.iter().map(|p| &p.id)))
            .unwrap_or_default();
        let deduction_index = d
            .scoring
            .as_ref()
            .map(|sc| self.index("deduction", sc.deductions.iter().map(|p| &p.id)))
            .unwrap_or_default();

        // Transitions
        let transition_index = self.index("transition", d.transitions.iter().map(|t| &t.id));
        let mut transitions = Vec::new();
        let mut outgoing = vec![Vec::new(); d.stages.len()];
        for (ti, t) in d.transitions.iter().enumerate() {
            self.label(loc(&t.id), &format!("transition `{}`", t.id), &t.name);
            if t.from.is_empty() {
                self.report(
                    loc(&t.id),
                    format!("transition `{}` has an empty `from` list", t.id),
                );
            }
            let mut from = Vec::new();
            for f in &t.from {
                if let Some(si) = self.resolve("stage", f, &stage_index) {
                    if *d.stages[si].kind.get() == StageKind::Terminal {
                        self.report(loc(f), format!("transition `{}` leaves terminal stage `{f}`; terminal stages end a project", t.id));
                    }
                    from.push(si);
                    outgoing[si].push(ti);
                }
            }
            let to = self.resolve("stage", &t.to, &stage_index);
            if t.roles.is_empty() {
                self.report(
                    loc(&t.id),
                    format!("transition `{}` lists no `roles` that may take it", t.id),
                );
            }
            let roles = self.roles(&t.roles, &role_index);
            for r in &t.roles {
                if role_index
                    .get(r.as_str())
                    .is_some_and(|i| public_roles.contains(i))
                {
                    self.report(
                        loc(r),
                        format!(
                            "role `{r}` has `scope: public` (no account) and cannot take actions"
                        ),
                    );
                }
            }
            for g in &t.guards {
                self.guard(
                    g,
                    &field_index,
                    &stage_index,
                    &part_index,
                    &deadline_index,
                    d,
                );
            }
            for e in &t.effects {
                self.effect(e, &role_index, &template_index, &deadline_index, d);
            }
            transitions.push(CompiledTransition {
                from,
                to: to.unwrap_or(0),
                roles,
            });
        }

        // Reachability: forwards from the initial stage, backwards from the terminal stages.
        if let Some(init) = initial_stage {
            let forward = reach(d.stages.len(), init, |s| {
                outgoing[s].iter().map(|t| transitions[*t].to).collect()
            });
            let mut incoming = vec![Vec::new(); d.stages.len()];
            for t in &transitions {
                for f in &t.from {
                    incoming[t.to].push(*f);
                }
            }
            let mut backward = vec![false; d.stages.len()];
            for (i, s) in d.stages.iter().enumerate() {
                if *s.kind.get() == StageKind::Terminal && !backward[i] {
                    let r = reach(d.stages.len(), i, |x| incoming[x].clone());
                    for (b, r) in backward.iter_mut().zip(r) {
                        *b |= r;
                    }
                }
            }
            if stage_index.len() == d.stages.len()
                && self
                    .problems
                    .iter()
                    .all(|p| !p.message.starts_with("undefined stage"))
            {
                for (i, s) in d.stages.iter().enumerate() {
                    if !forward[i] {
                        self.report(
                            loc(&s.id),
                            format!(
                                "stage `{}` cannot be reached from the initial stage `{}`",
                                s.id, d.stages[init].id
                            ),
                        );
                    } else if !backward[i] {
                        self.report(loc(&s.id), format!("no terminal stage can be reached from stage `{}`; projects there would be stuck", s.id));
                    }
                }
            }
        }

        // Deadlines
        let mut deadlines = Vec::new();
        for dl in &d.deadlines {
            self.label(loc(&dl.id), &format!("deadline `{}`", dl.id), &dl.name);
            let due = match &dl.due {
                Due::Date(text) => match parse_month_day(text) {
                    Ok(md) => Some(CompiledDue::Date(md)),
                    Err(e) => {
                        self.report(loc(text), e);
                        None
                    }
                },
                Due::After(rel) => {
                    let t = self.resolve("transition", &rel.event, &transition_index);
                    let o = self.duration(&rel.offset);
                    t.zip(o)
                        .map(|(transition, offset)| CompiledDue::After { transition, offset })
                }
                Due::MilestoneDue(_) => Some(CompiledDue::MilestoneDue),
            };
            let remind_before: Vec<Duration> = dl
                .remind_before
                .iter()
                .filter_map(|r| self.duration(r))
                .collect();
            let escalate_after = dl.escalate_after.as_ref().and_then(|e| self.duration(e));
            self.roles(&dl.remind, &role_index);
            self.roles(&dl.escalate_to, &role_index);
            if let Some(t) = &dl.reminder_template {
                self.resolve("template", t, &template_index);
            } else if !dl.remind_before.is_empty() {
                self.report(
                    loc(&dl.id),
                    format!(
                        "deadline `{}` has `remind_before` but no `reminder_template`",
                        dl.id
                    ),
                );
            }
            if let Some(t) = &dl.escalation_template {
                self.resolve("template", t, &template_index);
            } else if dl.escalate_after.is_some() {
                self.report(
                    loc(&dl.id),
                    format!(
                        "deadline `{}` has `escalate_after` but no `escalation_template`",
                        dl.id
                    ),
                );
            }
            if dl.escalate_after.is_some() && dl.escalate_to.is_empty() {
                self.report(
                    loc(&dl.id),
                    format!(
                        "deadline `{}` has `escalate_after` but no `escalate_to` roles",
                        dl.id
                    ),
                );
            }
            if let Some(ded) = &dl.deduction {
                if d.scoring.is_none() {
                    self.report(
                        loc(ded),
                        "a deduction is named but the definition has no `scoring`",
                    );
                } else {
                    self.resolve("deduction", ded, &deduction_index);
                }
            }
            deadlines.push(CompiledDeadline {
                due: due.unwrap_or(CompiledDue::MilestoneDue),
                remind_before,
                escalate_after,
            });
        }

        // Schedules
        let _ = self.index("schedule", d.schedules.iter().map(|s| &s.id));
        let mut schedules = Vec::new();
        for s in &d.schedules {
            self.label(loc(&s.id), &format!("schedule `{}`", s.id), &s.name);
            match parse_cron(&s.cron) {
                Ok(c) => schedules.push(c),
                Err(e) => self.report(loc(&s.cron), e),
            }
            for st in &s.stages {
                self.resolve("stage", st, &stage_index);
            }
            self.roles(&s.notify, &role_index);
            self.resolve("template", &s.template, &template_index);
        }

        let windows = self.windows(
            d,
            &role_index,
            &template_index,
            &deadline_index,
            &deadlines,
            &public_roles,
        );

        self.unused_templates(d);
        if let Some(tp) = &d.topic_pool {
            self.topic_pool(tp, &role_index, &stage_index, &field_index, d);
            let promote = stage_index.get(tp.promote_to.as_str()).copied();
            if let (Some(p), Some(i)) = (promote, initial_stage) {
                if p != i {
                    self.report(
                        loc(&tp.promote_to),
                        format!(
                            "a promoted topic becomes a new project, which starts in the initial stage `{}`, not `{}`",
                            d.stages[i].id, tp.promote_to
                        ),
                    );
                }
            }
        }
        if let Some(sc) = &d.scoring {
            self.scoring(sc, &stage_index, &role_index);
        }
        for st in &d.stages {
            if let Some(o) = &st.outcome {
                if *st.kind.get() != StageKind::Terminal {
                    self.report(
                        loc(o),
                        format!(
                            "stage `{}` is not terminal: only a terminal stage has an `outcome`",
                            st.id
                        ),
                    );
                }
            } else if d.annual_review.is_some()
                && *st.kind.get() == StageKind::Terminal
                && StageOutcome::parse(st.id.as_str()).is_none()
            {
                self.report(
                    loc(&st.id),
                    format!(
                        "terminal stage `{}` needs an `outcome` (closed, terminated, rejected or withdrawn): the annual review counts its projects by it",
                        st.id
                    ),
                );
            }
        }
        if let Some(ar) = &d.annual_review {
            self.annual_review(ar, d, &role_index, loc(&d.id));
        }

        Some(Parts {
            timezone,
            initial_stage: initial_stage?,
            stage_index,
            transition_index,
            role_index,
            deadline_index,
            template_index,
            field_index,
            transitions,
            outgoing,
            deadlines,
            schedules,
            windows,
            attachment_limits,
        })
    }

    /// Windows: each closes on the day of a deadline with a fixed date, opens before that day,
    /// tells roles that have accounts, and names its templates.
    fn windows(
        &mut self,
        d: &Definition,
        roles: &HashMap<String, usize>,
        templates: &HashMap<String, usize>,
        deadline_index: &HashMap<String, usize>,
        deadlines: &[CompiledDeadline],
        public_roles: &HashSet<usize>,
    ) -> Vec<CompiledWindow> {
        let _ = self.index("window", d.windows.iter().map(|w| &w.id));
        let mut out = Vec::new();
        for win in &d.windows {
            self.label(loc(&win.id), &format!("window `{}`", win.id), &win.name);
            let opens = match parse_month_day(&win.opens) {
                Ok(md) => Some(md),
                Err(e) => {
                    self.report(loc(&win.opens), e);
                    None
                }
            };
            let closes = match self
                .resolve("deadline", &win.closes, deadline_index)
                .and_then(|i| deadlines.get(i).map(|c| (i, &c.due)))
            {
                Some((_, CompiledDue::Date(md))) => Some(*md),
                Some((i, _)) => {
                    self.report(
                        loc(&win.closes),
                        format!(
                            "window `{}` closes with deadline `{}`, which has no fixed `date`; a window closes on a calendar day (`due: {{ date: \"MM-DD\" }}`)",
                            win.id, d.deadlines[i].id
                        ),
                    );
                    None
                }
                None => None,
            };
            if let (Some(o), Some(c)) = (opens, closes) {
                if (o.month, o.day) > (c.month, c.day) {
                    self.report(
                        loc(&win.opens),
                        format!(
                            "window `{}` opens on {:02}-{:02}, after it closes on {:02}-{:02} (deadline `{}`); a window opens and closes in the same year",
                            win.id, o.month, o.day, c.month, c.day, win.closes
                        ),
                    );
                }
            }
            if win.notify.is_empty() {
                self.report(
                    loc(&win.id),
                    format!("window `{}` lists no `notify` roles to tell", win.id),
                );
            }
            self.roles(&win.notify, roles);
            for r in &win.notify {
                if roles
                    .get(r.as_str())
                    .is_some_and(|i| public_roles.contains(i))
                {
                    self.report(
                        loc(r),
                        format!("role `{r}` has `scope: public` (no account) and cannot be sent notices"),
                    );
                }
            }
            self.resolve("template", &win.open_template, templates);
            let closing_before: Vec<Duration> = win
                .closing_before
                .iter()
                .filter_map(|b| self.duration(b))
                .collect();
            match &win.closing_template {
                Some(t) => {
                    self.resolve("template", t, templates);
                }
                None if !win.closing_before.is_empty() => self.report(
                    loc(&win.id),
                    format!(
                        "window `{}` has `closing_before` but no `closing_template`",
                        win.id
                    ),
                ),
                None => {}
            }
            if let (Some(o), Some(c)) = (opens, closes) {
                // Measured in a leap year: the longest a window can be.
                let length = chrono::NaiveDate::from_ymd_opt(2024, c.month, c.day)
                    .zip(chrono::NaiveDate::from_ymd_opt(2024, o.month, o.day))
                    .map(|(c, o)| c - o + Duration::days(1));
                for (text, before) in win.closing_before.iter().zip(&closing_before) {
                    if length.is_some_and(|l| *before >= l) {
                        self.report(
                            loc(text),
                            format!(
                                "window `{}` is open {} day(s), so a notice `{text}` before it closes would go out before it opens",
                                win.id,
                                length.map(|l| l.num_days()).unwrap_or(0)
                            ),
                        );
                    }
                }
            }
            out.push(CompiledWindow {
                opens: opens.unwrap_or(MonthDay { month: 1, day: 1 }),
                closes: closes.unwrap_or(MonthDay { month: 12, day: 31 }),
                closing_before,
            });
        }
        out
    }

    /// A declared template that nothing sends is almost always a typo elsewhere.
    fn unused_templates(&mut self, d: &Definition) {
        let mut used: HashSet<&str> = HashSet::new();
        for t in &d.transitions {
            for e in &t.effects {
                if let Effect::Notify(n) = e.get() {
                    used.insert(n.template.as_str());
                }
            }
        }
        for dl in &d.deadlines {
            used.extend(dl.reminder_template.iter().map(|t| t.as_str()));
            used.extend(dl.escalation_template.iter().map(|t| t.as_str()));
        }
        used.extend(d.schedules.iter().map(|s| s.template.as_str()));
        for win in &d.windows {
            used.insert(win.open_template.as_str());
            used.extend(win.closing_template.iter().map(|t| t.as_str()));
        }
        for t in &d.templates {
            if !used.contains(t.id.as_str()) {
                self.report(
                    loc(&t.id),
                    format!("template `{}` is declared but nothing sends it", t.id),
                );
            }
        }
    }

    fn field(&mut self, f: &Field, attachment_limits: &mut HashMap<String, u64>) {
        use FieldType as T;
        let ty = *f.field_type.get();
        self.label(loc(&f.id), &format!("field `{}`", f.id), &f.label);
        let is_text = matches!(ty, T::Text | T::LongText);
        let is_list = matches!(ty, T::Milestones | T::Team | T::Attachments);
        let misplaced = |key: &str| {
            format!(
                "`{key}` does not apply to a field of type `{}`",
                type_name(ty)
            )
        };
        if let Some(m) = &f.max_length {
            if !is_text {
                self.report(loc(m), misplaced("max_length"));
            } else if *m.get() == 0 {
                self.report(loc(m), "`max_length` must be more than 0");
            }
        }
        for (key, v) in [("min", &f.min), ("max", &f.max)] {
            if let Some(v) = v {
                if ty != T::Number {
                    self.report(loc(v), misplaced(key));
                } else if !v.is_finite() {
                    self.report(loc(v), format!("`{key}` must be a finite number"));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (&f.min, &f.max) {
            if lo.get() > hi.get() {
                self.report(
                    loc(lo),
                    format!("field `{}`: `min` {lo} is greater than `max` {hi}", f.id),
                );
            }
        }
        for (key, v) in [("min_items", &f.min_items), ("max_items", &f.max_items)] {
            if let Some(v) = v {
                if !is_list {
                    self.report(loc(v), misplaced(key));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (&f.min_items, &f.max_items) {
            if lo.get() > hi.get() {
                self.report(
                    loc(lo),
                    format!(
                        "field `{}`: `min_items` {lo} is greater than `max_items` {hi}",
                        f.id
                    ),
                );
            }
        }
        if ty == T::Choice {
            if f.options.is_empty() {
                self.report(
                    loc(&f.id),
                    format!("choice field `{}` needs `options`", f.id),
                );
            }
            self.index("option", f.options.iter().map(|o| &o.id));
            for o in &f.options {
                self.label(loc(&o.id), &format!("option `{}`", o.id), &o.name);
            }
        } else if let Some(o) = f.options.first() {
            self.report(loc(&o.id), misplaced("options"));
        }
        if let Some(size) = &f.max_size {
            if ty != T::Attachments {
                self.report(loc(size), misplaced("max_size"));
            } else {
                match parse_size(size) {
                    Ok(n) => {
                        attachment_limits.insert(f.id.to_string(), n);
                    }
                    Err(e) => self.report(loc(size), e),
                }
            }
        }
        match (&f.goals_from, ty) {
            (Some(g), t) if t != T::GoalReview => self.report(loc(g), misplaced("goals_from")),
            (None, T::GoalReview) => self.report(
                loc(&f.id),
                format!(
                    "goal_review field `{}` needs `goals_from`: the milestones field whose goals it reviews",
                    f.id
                ),
            ),
            _ => {}
        }
        if let Some(a) = f.accept.first() {
            if ty != T::Attachments {
                self.report(loc(a), misplaced("accept"));
            }
        }
        for a in &f.accept {
            if a.is_empty() || !a.chars().all(|c| c.is_ascii_alphanumeric()) {
                self.report(
                    loc(a),
                    format!("bad file extension `{a}`: write it without the dot, e.g. `pdf`"),
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn guard(
        &mut self,
        g: &Pos<Guard>,
        fields: &HashMap<String, (usize, usize)>,
        stages: &HashMap<String, usize>,
        parts: &HashMap<String, usize>,
        deadlines: &HashMap<String, usize>,
        d: &Definition,
    ) {
        match g.get() {
            Guard::FieldsFilled(ids) => {
                if ids.is_empty() {
                    self.report(loc(g), "`fields_filled` needs at least one field id");
                }
                for id in ids {
                    if !fields.contains_key(id.as_str()) {
                        let msg = with_suggestion(
                            format!("undefined field `{id}`"),
                            id,
                            fields.keys().map(String::as_str),
                        );
                        self.report(loc(id), msg);
                    }
                }
            }
            Guard::FormComplete(stage) => {
                self.resolve("stage", stage, stages);
            }
            Guard::MinMilestones(_) | Guard::MinAppraisals(_) | Guard::AllMilestonesDone(_) => {}
            Guard::ScorePresent(part) => {
                if d.scoring.is_none() {
                    self.report(loc(part), "`score_present` needs a `scoring` section");
                } else {
                    self.resolve("scoring part", part, parts);
                }
            }
            Guard::BeforeDeadline(dl) => {
                self.resolve("deadline", dl, deadlines);
            }
        }
    }

    fn effect(
        &mut self,
        e: &Pos<Effect>,
        roles: &HashMap<String, usize>,
        templates: &HashMap<String, usize>,
        deadlines: &HashMap<String, usize>,
        d: &Definition,
    ) {
        match e.get() {
            Effect::Notify(n) => {
                if n.roles.is_empty() {
                    self.report(loc(e), "`notify` needs at least one role");
                }
                self.roles(&n.roles, roles);
                self.resolve("template", &n.template, templates);
            }
            Effect::OpenDeadline(id) | Effect::CloseDeadline(id) => {
                self.resolve("deadline", id, deadlines);
            }
            Effect::ComputeScore(_) => {
                if d.scoring.is_none() {
                    self.report(loc(e), "`compute_score` needs a `scoring` section");
                }
            }
        }
    }

    fn topic_pool(
        &mut self,
        tp: &TopicPool,
        roles: &HashMap<String, usize>,
        stages: &HashMap<String, usize>,
        fields: &HashMap<String, (usize, usize)>,
        d: &Definition,
    ) {
        self.index("topic source", tp.sources.iter().map(|s| &s.id));
        self.roles(&tp.roles, roles);
        let stage = self.resolve("stage", &tp.promote_to, stages);
        if let Some(f) = &tp.description_field {
            match fields.get(f.as_str()) {
                None => {
                    let msg = with_suggestion(
                        format!("undefined field `{f}`"),
                        f,
                        fields.keys().map(String::as_str),
                    );
                    self.report(loc(f), msg);
                }
                Some((si, fi)) => {
                    if Some(*si) != stage {
                        self.report(
                            loc(f),
                            format!(
                                "field `{f}` is not on the form of stage `{}`",
                                tp.promote_to
                            ),
                        );
                    }
                    let ty = *d.stages[*si].form[*fi].field_type.get();
                    if !matches!(ty, FieldType::Text | FieldType::LongText) {
                        self.report(loc(f), format!("field `{f}` must be `text` or `long_text` to receive a topic's description"));
                    }
                }
            }
        }
    }

    fn scoring(
        &mut self,
        sc: &Scoring,
        stages: &HashMap<String, usize>,
        roles: &HashMap<String, usize>,
    ) {
        if sc.parts.is_empty() {
            self.report(Location::default(), "`scoring` needs at least one part");
        }
        let mut total = 0.0;
        for p in &sc.parts {
            self.label(loc(&p.id), &format!("scoring part `{}`", p.id), &p.name);
            let w = *p.weight.get();
            if !(w > 0.0 && w <= 100.0) {
                self.report(
                    loc(&p.weight),
                    format!(
                        "weight of part `{}` must be more than 0 and at most 100, not {w}",
                        p.id
                    ),
                );
            }
            total += w;
            let source = *p.source.get();
            match source {
                PartSource::SelfCheck | PartSource::Reviewers => {
                    if p.criteria.is_empty() {
                        self.report(
                            loc(&p.id),
                            format!("part `{}` needs `criteria` with maximum points", p.id),
                        );
                    }
                    self.index("criterion", p.criteria.iter().map(|c| &c.id));
                    for c in &p.criteria {
                        self.label(loc(&c.id), &format!("criterion `{}`", c.id), &c.name);
                        if !(*c.max.get() > 0.0 && c.max.is_finite()) {
                            self.report(
                                loc(&c.max),
                                format!("maximum of criterion `{}` must be more than 0", c.id),
                            );
                        }
                    }
                    if let Some(r) = p.ratings.first() {
                        self.report(
                            loc(&r.id),
                            format!(
                                "`ratings` apply to parts with `source: appraisal`, not part `{}`",
                                p.id
                            ),
                        );
                    }
                }
                PartSource::Appraisal => {
                    if p.ratings.is_empty() {
                        self.report(
                            loc(&p.id),
                            format!("part `{}` needs `ratings` that residents choose from", p.id),
                        );
                    }
                    self.index("rating", p.ratings.iter().map(|r| &r.id));
                    for r in &p.ratings {
                        self.label(loc(&r.id), &format!("rating `{}`", r.id), &r.name);
                        if !(0.0..=100.0).contains(r.points.get()) {
                            self.report(
                                loc(&r.points),
                                format!("points of rating `{}` must be between 0 and 100", r.id),
                            );
                        }
                    }
                    if let Some(c) = p.criteria.first() {
                        self.report(
                            loc(&c.id),
                            format!(
                                "`criteria` do not apply to part `{}` with `source: appraisal`",
                                p.id
                            ),
                        );
                    }
                }
            }
            if source != PartSource::Reviewers {
                if let Some(m) = &p.min_reviewers {
                    self.report(loc(m), format!("`min_reviewers` applies to parts with `source: reviewers`, not part `{}`", p.id));
                }
                if let Some(r) = p.assigned_by.first() {
                    self.report(loc(r), format!("`assigned_by` applies to parts with `source: reviewers`, not part `{}`", p.id));
                }
            } else {
                self.roles(&p.assigned_by, roles);
            }
            if source == PartSource::Reviewers && *p.combine.get() == Combine::TrimmedMean {
                let min = p.min_reviewers.as_ref().map(|m| *m.get()).unwrap_or(0);
                if min < 3 {
                    let at = p.min_reviewers.as_ref().map(loc).unwrap_or(loc(&p.combine));
                    self.report(at, format!("part `{}` drops the highest and lowest score, so `min_reviewers` must be at least 3", p.id));
                }
            }
            if source != PartSource::Appraisal {
                if let Some(m) = &p.min_appraisals {
                    self.report(loc(m), format!("`min_appraisals` applies to parts with `source: appraisal`, not part `{}`", p.id));
                }
                if let Some(o) = p.open_in.first() {
                    self.report(
                        loc(o),
                        format!(
                            "`open_in` applies to parts with `source: appraisal`, not part `{}`",
                            p.id
                        ),
                    );
                }
                if let Some(t) = &p.token_valid_for {
                    self.report(loc(t), format!("`token_valid_for` applies to parts with `source: appraisal`, not part `{}`", p.id));
                }
            } else {
                for o in &p.open_in {
                    self.resolve("stage", o, stages);
                }
                if let Some(t) = &p.token_valid_for {
                    self.duration(t);
                }
            }
        }
        if let Some(first) = sc.parts.first() {
            if (total - 100.0).abs() > 1e-6 {
                self.report(
                    loc(&first.weight),
                    format!(
                        "the weights of the scoring parts add up to {}, not 100",
                        trim(total)
                    ),
                );
            }
        }
        for ded in &sc.deductions {
            self.label(loc(&ded.id), &format!("deduction `{}`", ded.id), &ded.name);
            if !(*ded.points.get() > 0.0 && ded.points.is_finite()) {
                self.report(
                    loc(&ded.points),
                    format!("points of deduction `{}` must be more than 0", ded.id),
                );
            }
            if let Some(m) = &ded.max_total {
                if m.get() < ded.points.get() {
                    self.report(
                        loc(m),
                        format!(
                            "`max_total` of deduction `{}` is less than its `points`",
                            ded.id
                        ),
                    );
                }
            }
        }
        self.index("grade", sc.grades.iter().map(|g| &g.id));
        let bands: Vec<BandRef> = sc
            .grades
            .iter()
            .map(|g| BandRef {
                name: format!("grade `{}`", g.id),
                min: &g.min,
                max: &g.max,
                at: loc(&g.id),
            })
            .collect();
        for g in &sc.grades {
            self.label(loc(&g.id), &format!("grade `{}`", g.id), &g.name);
        }
        self.bands("grade", &bands);
    }

    /// Roles that must have an account (not of `public` scope).
    fn account_roles(
        &mut self,
        what: &str,
        ids: &[Id],
        d: &Definition,
        index: &HashMap<String, usize>,
    ) {
        for id in ids {
            if let Some(i) = self.resolve("role", id, index) {
                if *d.roles[i].scope.get() == Scope::Public {
                    self.report(
                        loc(id),
                        format!("{what}: role `{id}` has no account (scope `public`)"),
                    );
                }
            }
        }
    }

    fn annual_review(
        &mut self,
        ar: &AnnualReview,
        d: &Definition,
        role_index: &HashMap<String, usize>,
        at: Location,
    ) {
        if let Some(r) = &ar.reviewed {
            if let Some(i) = self.resolve("role", r, role_index) {
                if *d.roles[i].scope.get() != Scope::Organisation {
                    self.report(
                        loc(r),
                        format!("`reviewed`: role `{r}` must be of scope `organisation` (a subdistrict's role), as the people reviewed are"),
                    );
                }
            }
        }
        self.account_roles("`managed_by`", &ar.managed_by, d, role_index);
        let has_appraisal = d.scoring.as_ref().is_some_and(|s| {
            s.parts
                .iter()
                .any(|p| *p.source.get() == PartSource::Appraisal)
        });
        for i in &ar.items {
            match i.source.get() {
                ItemSource::Entered => {
                    self.account_roles(
                        &format!("`entered_by` of review item `{}`", i.id),
                        &i.entered_by,
                        d,
                        role_index,
                    );
                }
                derived => {
                    if let Some(r) = i.entered_by.first() {
                        self.report(
                            loc(r),
                            format!("review item `{}` is derived from the year's data (`source: {}`): it has no `entered_by`", i.id, derived.as_str()),
                        );
                    }
                    if *derived == ItemSource::ResidentSatisfaction && !has_appraisal {
                        self.report(
                            loc(&i.source),
                            format!("review item `{}` comes from residents' appraisals, but `scoring` has no part with `source: appraisal`", i.id),
                        );
                    }
                }
            }
        }
        self.index("consequence", ar.consequences.iter().map(|c| &c.id));
        let star_values: Vec<u8> = ar.stars.iter().map(|s| *s.stars.get()).collect();
        for c in &ar.consequences {
            self.label(loc(&c.id), &format!("consequence `{}`", c.id), &c.name);
            let w = &c.when;
            let set = [
                w.top.is_some(),
                w.bottom.is_some(),
                w.stars_at_least.is_some(),
                w.stars_at_most.is_some(),
                w.total_below.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if set != 1 {
                self.report(
                    loc(&c.id),
                    format!("consequence `{}`: `when` needs exactly one of `top`, `bottom`, `stars_at_least`, `stars_at_most`, `total_below` (found {set})", c.id),
                );
            }
            for n in [&w.top, &w.bottom].into_iter().flatten() {
                if *n.get() == 0 {
                    self.report(
                        loc(n),
                        format!("consequence `{}`: a rank count is at least 1", c.id),
                    );
                }
            }
            for s in [&w.stars_at_least, &w.stars_at_most].into_iter().flatten() {
                if !star_values.contains(s.get()) {
                    self.report(
                        loc(s),
                        format!("consequence `{}`: there is no {}-star band", c.id, s.get()),
                    );
                }
            }
            if let Some(t) = &w.total_below {
                if !(0.0..=100.0).contains(t.get()) {
                    self.report(
                        loc(t),
                        format!(
                            "consequence `{}`: `total_below` is a score from 0 to 100",
                            c.id
                        ),
                    );
                }
            }
        }
        if d.scoring.is_none() {
            self.report(
                at,
                "`annual_review` uses project scores, so the definition needs `scoring`",
            );
        }
        self.label(loc(&ar.project_weight), "`annual_review.name`", &ar.name);
        self.index("review item", ar.items.iter().map(|i| &i.id));
        for (name, rule) in [
            ("running", &ar.counts.running),
            ("terminated", &ar.counts.terminated),
            ("rejected", &ar.counts.rejected),
            ("withdrawn", &ar.counts.withdrawn),
        ] {
            if let CountRule::Score(x) = rule.get() {
                if !(0.0..=100.0).contains(x) {
                    self.report(
                        loc(rule),
                        format!(
                            "`counts.{name}` must be `excluded` or a score from 0 to 100, not {}",
                            trim(*x)
                        ),
                    );
                }
            }
        }
        let mut total = *ar.project_weight.get();
        if !(0.0..=100.0).contains(&total) || total == 0.0 {
            self.report(
                loc(&ar.project_weight),
                "`project_weight` must be more than 0 and at most 100",
            );
        }
        for i in &ar.items {
            self.label(loc(&i.id), &format!("review item `{}`", i.id), &i.name);
            if !(*i.weight.get() > 0.0 && *i.weight.get() <= 100.0) {
                self.report(
                    loc(&i.weight),
                    format!(
                        "weight of review item `{}` must be more than 0 and at most 100",
                        i.id
                    ),
                );
            }
            total += *i.weight.get();
        }
        if (total - 100.0).abs() > 1e-6 {
            self.report(
                loc(&ar.project_weight),
                format!(
                    "`project_weight` and the weights of the review items add up to {}, not 100",
                    trim(total)
                ),
            );
        }
        let mut seen = HashMap::new();
        for s in &ar.stars {
            self.label(loc(&s.stars), &format!("star band {}", s.stars), &s.name);
            if !(1..=10).contains(s.stars.get()) {
                self.report(loc(&s.stars), "`stars` must be from 1 to 10");
            }
            if let Some(prev) = seen.insert(*s.stars.get(), loc(&s.stars)) {
                self.report(
                    loc(&s.stars),
                    format!(
                        "duplicate star band {} (first at line {})",
                        s.stars, prev.line
                    ),
                );
            }
        }
        let bands: Vec<BandRef> = ar
            .stars
            .iter()
            .map(|s| BandRef {
                name: format!("{}-star band", s.stars),
                min: &s.min,
                max: &s.max,
                at: loc(&s.stars),
            })
            .collect();
        self.bands("star", &bands);
    }

    /// Bands must cover [0, 100] exactly: sorted by `min`, each `max` is the next `min`.
    fn bands(&mut self, what: &str, bands: &[BandRef]) {
        if bands.is_empty() {
            self.report(
                Location::default(),
                format!("at least one {what} band is needed"),
            );
            return;
        }
        let mut sorted: Vec<&BandRef> = bands.iter().collect();
        for b in &sorted {
            if !(b.min.is_finite() && b.max.is_finite()) || b.min.get() >= b.max.get() {
                self.report(
                    b.at,
                    format!(
                        "{}: `min` {} must be less than `max` {}",
                        b.name, b.min, b.max
                    ),
                );
                return;
            }
        }
        sorted.sort_by(|a, b| a.min.get().total_cmp(b.min.get()));
        if *sorted[0].min.get() != 0.0 {
            self.report(
                loc(sorted[0].min),
                format!(
                    "{what} bands leave scores from 0 to {} without a band",
                    sorted[0].min
                ),
            );
        }
        for pair in sorted.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.max.get() > b.min.get() {
                self.report(
                    b.at,
                    format!(
                        "{} [{}, {}) overlaps {} [{}, {})",
                        b.name, b.min, b.max, a.name, a.min, a.max
                    ),
                );
            } else if a.max.get() < b.min.get() {
                self.report(
                    b.at,
                    format!(
                        "{what} bands leave scores from {} to {} without a band",
                        a.max, b.min
                    ),
                );
            }
        }
        let last = sorted[sorted.len() - 1];
        if *last.max.get() != 100.0 {
            self.report(
                loc(last.max),
                format!(
                    "{what} bands leave scores from {} to 100 without a band",
                    last.max
                ),
            );
        }
    }
}

struct BandRef<'a> {
    name: String,
    min: &'a Pos<f64>,
    max: &'a Pos<f64>,
    at: Location,
}

fn trim(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A field type as the format writes it (`long_text`, `goal_review`, ...).
pub fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Text => "text",
        FieldType::LongText => "long_text",
        FieldType::Number => "number",
        FieldType::Date => "date",
        FieldType::Choice => "choice",
        FieldType::Milestones => "milestones",
        FieldType::Team => "team",
        FieldType::Attachments => "attachments",
        FieldType::GoalReview => "goal_review",
    }
}

/// Breadth-first reachability from `start` over `next`.
fn reach(n: usize, start: usize, next: impl Fn(usize) -> Vec<usize>) -> Vec<bool> {
    let mut seen = vec![false; n];
    let mut queue = VecDeque::from([start]);
    seen[start] = true;
    while let Some(s) = queue.pop_front() {
        for t in next(s) {
            if t < n && !seen[t] {
                seen[t] = true;
                queue.push_back(t);
            }
        }
    }
    seen
}
