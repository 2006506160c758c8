//! The engine: a pure decision from (workflow, project facts, actor, action, time) to an outcome
//! (the next stage and the effects to carry out) or a refusal naming every reason.
//!
//! No I/O, no clock: `now` is passed in, so a test or `--at` can replay any moment.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::compile::{CompiledDue, RoleSet, Workflow};
use super::form::{check_form, goal_review_gaps, is_filled, FieldProblem};
use super::model::{CommentRule, Effect, Guard, PartSource, Scope};

/// How the acting user's organisation relates to the project's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The user belongs to the project's own organisation (its subdistrict).
    Own,
    /// The user belongs to the district above the project's organisation.
    District,
    /// Neither.
    Outside,
}

/// Who is acting: their roles in this workflow and where they stand.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub roles: RoleSet,
    pub relation: Relation,
}

/// What the engine needs to know about a project. Gathered by the caller from the store.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub stage: &'a str,
    pub year: i32,
    /// All form data of the project, keyed by field id.
    pub form: &'a Map<String, Value>,
    pub milestones_total: u32,
    pub milestones_done: u32,
    pub appraisals: u32,
    /// Submissions per scoring part id (self-check reports, reviewer scores, appraisals).
    pub score_counts: &'a [(String, u32)],
    /// Due instants of the project's open deadlines, by deadline id.
    pub deadline_dues: &'a [(String, DateTime<Utc>)],
}

/// An action someone asks to take.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: &'a str,
    pub comment: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// An effect of an allowed action, for the use-case layer to carry out in the same transaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedEffect<'w> {
    Notify {
        roles: Vec<&'w str>,
        template: &'w str,
    },
    /// `due` is `None` for per-milestone deadlines and for deadlines relative to another event.
    OpenDeadline {
        deadline: &'w str,
        due: Option<DateTime<Utc>>,
    },
    CloseDeadline {
        deadline: &'w str,
    },
    ComputeScore,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome<'w> {
    pub action: &'w str,
    pub from: &'w str,
    pub to: &'w str,
    pub effects: Vec<PlannedEffect<'w>>,
}

/// Why an action is refused. Every applicable reason is listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    UnknownAction {
        action: String,
    },
    UnknownStage {
        stage: String,
    },
    ProjectClosed {
        stage: String,
    },
    WrongStage {
        stage: String,
        allowed_from: Vec<String>,
    },
    RoleNotAllowed {
        allowed: Vec<String>,
    },
    OutOfScope,
    CommentRequired,
    FieldMissing {
        field: String,
    },
    FormIncomplete {
        stage: String,
        problems: Vec<String>,
    },
    TooFewMilestones {
        have: u32,
        need: u32,
    },
    MilestonesNotDone {
        open: u32,
        total: u32,
    },
    TooFewAppraisals {
        have: u32,
        need: u32,
    },
    ScoreMissing {
        part: String,
        have: u32,
        need: u32,
    },
    DeadlinePassed {
        deadline: String,
        due: DateTime<Utc>,
    },
    /// A reviewer of the project's own organisation (conflict of interest).
    ConflictOfInterest {
        organisation: String,
    },
    /// The user holds no district-wide role of the workflow, so cannot review.
    NotAReviewer,
    /// Only reviewers assigned to the project score its upper review.
    NotAssigned,
    /// Reviewers' scores stay hidden until the caller has scored (assigned reviewers) or the
    /// project has ended (its own organisation).
    ScoresHidden,
    /// A district-scope role held by a member of the project's own organisation: the conflict
    /// of interest rule keeps district power off one's own projects.
    OwnOrganisation,
    /// The change would leave the district without an active administrator.
    LastAdmin,
    /// An organisation outside the caller's reach was asked for (by id).
    OrganisationOutOfScope {
        organisation: i64,
    },
    /// Milestone progress is not reported in the project's stage.
    NoProgressReports {
        stage: String,
        taken_in: Vec<String>,
    },
    /// The milestone was reported done; its done date does not move.
    MilestoneDone {
        title: String,
        done_at: DateTime<Utc>,
    },
    /// The year's annual review is approved and frozen: its projects and items no longer
    /// change until it is unfrozen (with a reason).
    ReviewFrozen {
        year: i32,
        frozen_at: DateTime<Utc>,
    },
    /// The year's review is not frozen (so there is nothing to unfreeze).
    ReviewNotFrozen {
        year: i32,
    },
    /// The item is not entered by people (it is derived from the year's data), or not one
    /// of the review's items.
    ItemNotEntered {
        item: String,
    },
    /// The person is not one of those the review covers.
    NotReviewed,
}

impl Reason {
    /// A stable machine-readable code, e.g. `role_not_allowed`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::UnknownAction { .. } => "unknown_action",
            Reason::UnknownStage { .. } => "unknown_stage",
            Reason::ProjectClosed { .. } => "project_closed",
            Reason::WrongStage { .. } => "wrong_stage",
            Reason::RoleNotAllowed { .. } => "role_not_allowed",
            Reason::OutOfScope => "out_of_scope",
            Reason::CommentRequired => "comment_required",
            Reason::FieldMissing { .. } => "field_missing",
            Reason::FormIncomplete { .. } => "form_incomplete",
            Reason::TooFewMilestones { .. } => "too_few_milestones",
            Reason::MilestonesNotDone { .. } => "milestones_not_done",
            Reason::TooFewAppraisals { .. } => "too_few_appraisals",
            Reason::ScoreMissing { .. } => "score_missing",
            Reason::DeadlinePassed { .. } => "deadline_passed",
            Reason::ConflictOfInterest { .. } => "conflict_of_interest",
            Reason::NotAReviewer => "not_a_reviewer",
            Reason::NotAssigned => "not_assigned",
            Reason::ScoresHidden => "scores_hidden",
            Reason::OwnOrganisation => "own_organisation",
            Reason::LastAdmin => "last_admin",
            Reason::OrganisationOutOfScope { .. } => "organisation_out_of_scope",
            Reason::NoProgressReports { .. } => "no_progress_reports",
            Reason::MilestoneDone { .. } => "milestone_done",
            Reason::ReviewFrozen { .. } => "review_frozen",
            Reason::ReviewNotFrozen { .. } => "review_not_frozen",
            Reason::ItemNotEntered { .. } => "item_not_entered",
            Reason::NotReviewed => "not_reviewed",
        }
    }

    /// Whether the reason is about who acts (403) rather than the project's state (422).
    pub fn is_permission(&self) -> bool {
        matches!(
            self,
            Reason::RoleNotAllowed { .. }
                | Reason::OutOfScope
                | Reason::ConflictOfInterest { .. }
                | Reason::NotAReviewer
                | Reason::NotAssigned
                | Reason::ScoresHidden
                | Reason::OwnOrganisation
                | Reason::OrganisationOutOfScope { .. }
        )
    }

    /// A message for people in Chinese or (for `en...`) English, with the workflow's labels.
    pub fn message(&self, w: &Workflow, lang: &str) -> String {
        self.describe(Some(w), lang)
    }

    /// The same message where no workflow is at hand: ids stand in for the labels, and the
    /// sentence is still a sentence (never the bare code).
    pub fn describe(&self, w: Option<&Workflow>, lang: &str) -> String {
        let en = lang.starts_with("en");
        let stage = |id: &str| {
            w.and_then(|w| w.stage(id))
                .map(|s| s.name.get(lang).to_string())
                .unwrap_or(id.to_string())
        };
        let role = |id: &String| {
            w.and_then(|w| w.role_index.get(id).map(|i| w.role(*i)))
                .map(|r| r.name.get(lang).to_string())
                .unwrap_or(id.clone())
        };
        let field = |id: &str| {
            w.and_then(|w| w.field(id))
                .map(|f| f.label.get(lang).to_string())
                .unwrap_or(id.to_string())
        };
        let part = |id: &str| {
            w.and_then(|w| w.part(id))
                .map(|p| p.name.get(lang).to_string())
                .unwrap_or(id.to_string())
        };
        let deadline = |id: &str| {
            w.and_then(|w| {
                w.deadline_index
                    .get(id)
                    .map(|i| w.definition.deadlines[*i].name.get(lang).to_string())
            })
            .unwrap_or(id.to_string())
        };
        let tz = w.map(|w| w.timezone).unwrap_or(chrono_tz::Asia::Shanghai);
        let list = |v: Vec<String>| v.join(if en { ", " } else { "、" });
        match (self, en) {
            (Reason::UnknownAction { action }, true) => {
                format!("there is no action `{action}` in this workflow")
            }
            (Reason::UnknownAction { action }, false) => format!("流程中没有“{action}”这一操作"),
            (Reason::UnknownStage { stage }, true) => format!(
                "the project is in stage `{stage}`, which its workflow version does not declare"
            ),
            (Reason::UnknownStage { stage }, false) => {
                format!("项目所处阶段“{stage}”不在其流程版本中")
            }
            (Reason::ProjectClosed { stage: s }, true) => {
                format!("the project has ended ({})", stage(s))
            }
            (Reason::ProjectClosed { stage: s }, false) => format!("项目已结束（{}）", stage(s)),
            (
                Reason::WrongStage {
                    stage: s,
                    allowed_from,
                },
                true,
            ) => format!(
                "the project is at “{}”; this action is taken from {}",
                stage(s),
                list(allowed_from.iter().map(|a| stage(a)).collect())
            ),
            (
                Reason::WrongStage {
                    stage: s,
                    allowed_from,
                },
                false,
            ) => format!(
                "项目当前处于“{}”，此操作只能在{}阶段进行",
                stage(s),
                list(allowed_from.iter().map(|a| stage(a)).collect())
            ),
            (Reason::RoleNotAllowed { allowed }, true) if allowed.is_empty() => {
                "nobody may do this in the project's current stage".to_string()
            }
            (Reason::RoleNotAllowed { allowed }, false) if allowed.is_empty() => {
                "当前阶段任何人都不能执行此操作".to_string()
            }
            (Reason::RoleNotAllowed { allowed }, true) => {
                format!(
                    "only {} may take this action",
                    list(allowed.iter().map(role).collect())
                )
            }
            (Reason::RoleNotAllowed { allowed }, false) => {
                format!(
                    "只有{}可以执行此操作",
                    list(allowed.iter().map(role).collect())
                )
            }
            (Reason::OutOfScope, true) => {
                "this project belongs to another organisation".to_string()
            }
            (Reason::OutOfScope, false) => "该项目属于其他单位，无权操作".to_string(),
            (Reason::CommentRequired, true) => "a comment is required for this action".to_string(),
            (Reason::CommentRequired, false) => "此操作须填写意见".to_string(),
            (Reason::FieldMissing { field: f }, true) => {
                format!("“{}” must be filled in", field(f))
            }
            (Reason::FieldMissing { field: f }, false) => format!("“{}”尚未填写", field(f)),
            (Reason::FormIncomplete { stage: s, problems }, true) => {
                format!(
                    "the form of “{}” is incomplete: {}",
                    stage(s),
                    problems
                        .iter()
                        .map(|p| field(p))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
            (Reason::FormIncomplete { stage: s, problems }, false) => {
                format!(
                    "“{}”表单未完成：{}",
                    stage(s),
                    problems
                        .iter()
                        .map(|p| field(p))
                        .collect::<Vec<_>>()
                        .join("；")
                )
            }
            (Reason::TooFewMilestones { have, need }, true) => {
                format!("at least {need} milestones are needed; {have} planned")
            }
            (Reason::TooFewMilestones { have, need }, false) => {
                format!("至少需要{need}个节点，目前{have}个")
            }
            (Reason::MilestonesNotDone { open, total }, true) => {
                if *total == 0 {
                    "no milestones are planned".to_string()
                } else {
                    format!("{open} of {total} milestones are not done")
                }
            }
            (Reason::MilestonesNotDone { open, total }, false) => {
                if *total == 0 {
                    "尚未规划节点".to_string()
                } else {
                    format!("{total}个节点中还有{open}个未完成")
                }
            }
            (Reason::TooFewAppraisals { have, need }, true) => {
                format!("at least {need} resident appraisals are needed; {have} received")
            }
            (Reason::TooFewAppraisals { have, need }, false) => {
                format!("至少需要{need}份群众评价，已收到{have}份")
            }
            (
                Reason::ScoreMissing {
                    part: p,
                    have,
                    need,
                },
                true,
            ) => format!("“{}” needs {need} score(s); {have} submitted", part(p)),
            (
                Reason::ScoreMissing {
                    part: p,
                    have,
                    need,
                },
                false,
            ) => format!("“{}”需要{need}份评分，已提交{have}份", part(p)),
            (Reason::DeadlinePassed { deadline: d, due }, true) => format!(
                "the deadline “{}” passed at {}",
                deadline(d),
                due.with_timezone(&tz).format("%Y-%m-%d %H:%M")
            ),
            (Reason::DeadlinePassed { deadline: d, due }, false) => format!(
                "“{}”已于{}截止",
                deadline(d),
                due.with_timezone(&tz).format("%Y-%m-%d %H:%M")
            ),
            (Reason::ConflictOfInterest { organisation }, true) => format!(
                "conflict of interest: the reviewer belongs to {organisation}, whose project this is"
            ),
            (Reason::ConflictOfInterest { organisation }, false) => {
                format!("利益冲突：该审核人属于项目所在单位（{organisation}），不得评审本单位项目")
            }
            (Reason::NotAReviewer, true) => {
                "the user holds no district-wide role and cannot review".to_string()
            }
            (Reason::NotAReviewer, false) => "该用户没有区级角色，不能担任评审".to_string(),
            (Reason::NotAssigned, true) => {
                "only reviewers assigned to this project may score it".to_string()
            }
            (Reason::NotAssigned, false) => "只有被指派的评审人员才能为该项目评分".to_string(),
            (Reason::ScoresHidden, true) => "the reviewers' scores are shown once you have submitted your own, or once the project has ended".to_string(),
            (Reason::ScoresHidden, false) => "评审评分在您提交本人评分后、或项目结束后才可查看".to_string(),
            (Reason::OwnOrganisation, true) => "conflict of interest: a district role does not act on a project of your own organisation".to_string(),
            (Reason::OwnOrganisation, false) => "利益冲突：区级角色不得对本人所在单位的项目行使职权".to_string(),
            (Reason::LastAdmin, true) => "the district would be left without an active administrator: make another user administrator first".to_string(),
            (Reason::LastAdmin, false) => "此修改将使本区没有在职的管理员：请先指定另一名管理员".to_string(),
            (Reason::OrganisationOutOfScope { organisation }, true) => format!("organisation {organisation} is outside what you may see"),
            (Reason::OrganisationOutOfScope { organisation }, false) => format!("单位{organisation}不在您的查看范围内"),
            (Reason::NoProgressReports { stage: s, taken_in }, true) if taken_in.is_empty() => {
                format!("the project is at “{}”; this workflow takes no progress reports", stage(s))
            }
            (Reason::NoProgressReports { stage: s, taken_in }, false) if taken_in.is_empty() => {
                format!("项目当前处于“{}”，本流程不填报节点进度", stage(s))
            }
            (Reason::NoProgressReports { stage: s, taken_in }, true) => format!(
                "the project is at “{}”; progress is reported only at {}",
                stage(s),
                list(taken_in.iter().map(|a| stage(a)).collect())
            ),
            (Reason::NoProgressReports { stage: s, taken_in }, false) => format!(
                "项目当前处于“{}”，节点进度只能在{}阶段填报",
                stage(s),
                list(taken_in.iter().map(|a| stage(a)).collect())
            ),
            (Reason::MilestoneDone { title, done_at }, true) => format!(
                "“{title}” was reported done on {}; its done date does not change",
                done_at.with_timezone(&tz).format("%Y-%m-%d")
            ),
            (Reason::MilestoneDone { title, done_at }, false) => format!(
                "节点“{title}”已于{}填报完成，完成日期不再变更",
                done_at.with_timezone(&tz).format("%Y-%m-%d")
            ),
            (Reason::ReviewFrozen { year, frozen_at }, true) => format!(
                "the {year} annual review was approved and frozen on {}: its projects and items no longer change; an administrator may unfreeze it, giving a reason",
                frozen_at.with_timezone(&tz).format("%Y-%m-%d %H:%M")
            ),
            (Reason::ReviewFrozen { year, frozen_at }, false) => format!(
                "{year}年度述职评议已于{}审定并锁定，其项目和评议项不再变动；如需修改，须由管理员说明理由后解除锁定",
                frozen_at.with_timezone(&tz).format("%Y-%m-%d %H:%M")
            ),
            (Reason::ReviewNotFrozen { year }, true) => format!("the {year} annual review is not frozen"),
            (Reason::ReviewNotFrozen { year }, false) => format!("{year}年度述职评议尚未锁定"),
            (Reason::ItemNotEntered { item }, true) => format!("“{item}” is not an item entered by reviewers (it is derived from the year's data, or not in the review)"),
            (Reason::ItemNotEntered { item }, false) => format!("“{item}”不是由评审录入的评议项（由年度数据自动计算，或不在评议项目中）"),
            (Reason::NotReviewed, true) => "this person is not among those the annual review covers".to_string(),
            (Reason::NotReviewed, false) => "此人不在年度述职评议范围内".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub reasons: Vec<Reason>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let codes: Vec<&str> = self.reasons.iter().map(Reason::code).collect();
        write!(f, "{}", codes.join(", "))
    }
}

impl Refusal {
    /// Refused (at least) for who the actor is: the caller lacks a role or the scope.
    pub fn is_permission(&self) -> bool {
        self.reasons.iter().any(Reason::is_permission)
    }
}

/// Decide whether `actor` may take `request.action` on a project with these `facts`.
pub fn decide<'w>(
    w: &'w Workflow,
    facts: &Facts<'_>,
    actor: &Actor,
    request: &Request<'_>,
) -> Result<Outcome<'w>, Refusal> {
    let refuse = |r: Reason| Err(Refusal { reasons: vec![r] });
    let Some(&ti) = w.transition_index.get(request.action) else {
        return refuse(Reason::UnknownAction {
            action: request.action.to_string(),
        });
    };
    let Some(&si) = w.stage_index.get(facts.stage) else {
        return refuse(Reason::UnknownStage {
            stage: facts.stage.to_string(),
        });
    };
    let t = &w.definition.transitions[ti];
    let ct = &w.transitions[ti];
    let mut reasons = Vec::new();

    if w.is_terminal(facts.stage) {
        reasons.push(Reason::ProjectClosed {
            stage: facts.stage.to_string(),
        });
    } else if !ct.from.contains(&si) {
        reasons.push(Reason::WrongStage {
            stage: facts.stage.to_string(),
            allowed_from: t.from.iter().map(|s| s.to_string()).collect(),
        });
    }
    permission(w, ct.roles, actor, &mut reasons, || {
        t.roles.iter().map(|r| r.to_string()).collect()
    });
    if t.comment == CommentRule::Required && request.comment.is_none_or(|c| c.trim().is_empty()) {
        reasons.push(Reason::CommentRequired);
    }
    for g in &t.guards {
        check_guard(w, g.get(), facts, request.now, &mut reasons);
    }
    if !reasons.is_empty() {
        return Err(Refusal { reasons });
    }

    let mut effects: Vec<PlannedEffect<'w>> = Vec::with_capacity(t.effects.len() + 2);
    // A stage's own deadline runs while the project is in it.
    let (from_stage, to_stage) = (&w.definition.stages[si], &w.definition.stages[ct.to]);
    // (Unless the transition already says what to do with that deadline.)
    let explicit = |id: &str| {
        t.effects.iter().any(|e| {
            matches!(e.get(), Effect::OpenDeadline(d) | Effect::CloseDeadline(d) if d.as_str() == id)
        })
    };
    if si != ct.to {
        if let Some(d) = from_stage.deadline.as_ref().filter(|d| !explicit(d)) {
            effects.push(PlannedEffect::CloseDeadline {
                deadline: d.as_str(),
            });
        }
        if let Some(d) = to_stage.deadline.as_ref().filter(|d| !explicit(d)) {
            effects.push(PlannedEffect::OpenDeadline {
                deadline: d.as_str(),
                due: deadline_due(w, d, facts.year, Some((ti, request.now))),
            });
        }
    }
    effects.extend(t.effects.iter().map(|e| match e.get() {
        Effect::Notify(n) => PlannedEffect::Notify {
            roles: n.roles.iter().map(|r| r.as_str()).collect(),
            template: n.template.as_str(),
        },
        Effect::OpenDeadline(id) => PlannedEffect::OpenDeadline {
            deadline: id.as_str(),
            due: deadline_due(w, id, facts.year, Some((ti, request.now))),
        },
        Effect::CloseDeadline(id) => PlannedEffect::CloseDeadline {
            deadline: id.as_str(),
        },
        Effect::ComputeScore(_) => PlannedEffect::ComputeScore,
    }));
    Ok(Outcome {
        action: t.id.as_str(),
        from: w.definition.stages[si].id.as_str(),
        to: w.definition.stages[ct.to].id.as_str(),
        effects,
    })
}

/// Whether one of the actor's roles is allowed, and within its scope.
fn permission(
    w: &Workflow,
    allowed: RoleSet,
    actor: &Actor,
    reasons: &mut Vec<Reason>,
    allowed_names: impl FnOnce() -> Vec<String>,
) {
    let held = RoleSet(allowed.0 & actor.roles.0);
    if held.0 == 0 {
        reasons.push(Reason::RoleNotAllowed {
            allowed: allowed_names(),
        });
        return;
    }
    if held
        .iter()
        .any(|r| scope_reaches(*w.role(r).scope.get(), actor.relation))
    {
        return;
    }
    let district_role = held
        .iter()
        .any(|r| *w.role(r).scope.get() == Scope::District);
    reasons.push(if actor.relation == Relation::Own && district_role {
        Reason::OwnOrganisation
    } else {
        Reason::OutOfScope
    });
}

/// The one rule of role scope: whether a role of `scope` reaches a project its holder stands
/// `relation` to. A district role acts from the district on its subdistricts' projects, never on
/// a project of the holder's own organisation (conflict of interest); an organisation role acts
/// on its own organisation's projects only; a public role holds no account power.
pub fn scope_reaches(scope: Scope, relation: Relation) -> bool {
    match scope {
        Scope::District => relation == Relation::District,
        Scope::Organisation => relation == Relation::Own,
        Scope::Public => false,
    }
}

/// Whether `actor` may use a power granted to the roles `allowed` (for powers outside the
/// workflow's transitions and forms: guidance, deductions, codes, assignments, scores).
pub fn check_power(
    w: &Workflow,
    allowed: RoleSet,
    actor: &Actor,
    allowed_names: impl FnOnce() -> Vec<String>,
) -> Result<(), Refusal> {
    let mut reasons = Vec::new();
    permission(w, allowed, actor, &mut reasons, allowed_names);
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(Refusal { reasons })
    }
}

/// Whether `actor` may edit the form of the project's current stage.
pub fn may_edit(w: &Workflow, stage: &str, actor: &Actor) -> Result<(), Refusal> {
    let Some(s) = w.stage(stage) else {
        return Err(Refusal {
            reasons: vec![Reason::UnknownStage {
                stage: stage.to_string(),
            }],
        });
    };
    let mut reasons = Vec::new();
    if w.is_terminal(stage) {
        reasons.push(Reason::ProjectClosed {
            stage: stage.to_string(),
        });
    }
    let allowed = w.roles(s.editable_by.iter().map(|r| r.as_str()));
    permission(w, allowed, actor, &mut reasons, || {
        s.editable_by.iter().map(|r| r.to_string()).collect()
    });
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(Refusal { reasons })
    }
}

fn check_guard(
    w: &Workflow,
    g: &Guard,
    f: &Facts<'_>,
    now: DateTime<Utc>,
    reasons: &mut Vec<Reason>,
) {
    match g {
        Guard::FieldsFilled(ids) => {
            for id in ids {
                if !is_filled(f.form.get(id.as_str())) {
                    reasons.push(Reason::FieldMissing {
                        field: id.to_string(),
                    });
                }
            }
        }
        Guard::FormComplete(stage) => {
            if let Some(s) = w.stage(stage) {
                // Only this stage's fields: the project's form data holds every stage's fields.
                let own: Map<String, Value> = s
                    .form
                    .iter()
                    .filter_map(|fd| {
                        f.form
                            .get(fd.id.as_str())
                            .map(|v| (fd.id.to_string(), v.clone()))
                    })
                    .collect();
                let mut problems: Vec<FieldProblem> = check_form(s, &own, true);
                problems.extend(goal_review_gaps(
                    s,
                    |id| w.field(id).map(|fd| *fd.field_type.get()),
                    f.form,
                ));
                if !problems.is_empty() {
                    reasons.push(Reason::FormIncomplete {
                        stage: stage.to_string(),
                        problems: problems.iter().map(|p| p.field.clone()).collect(),
                    });
                }
            }
        }
        Guard::MinMilestones(n) => {
            if f.milestones_total < *n {
                reasons.push(Reason::TooFewMilestones {
                    have: f.milestones_total,
                    need: *n,
                });
            }
        }
        Guard::AllMilestonesDone(required) => {
            if *required && (f.milestones_total == 0 || f.milestones_done < f.milestones_total) {
                reasons.push(Reason::MilestonesNotDone {
                    open: f.milestones_total.saturating_sub(f.milestones_done),
                    total: f.milestones_total,
                });
            }
        }
        Guard::MinAppraisals(n) => {
            if f.appraisals < *n {
                reasons.push(Reason::TooFewAppraisals {
                    have: f.appraisals,
                    need: *n,
                });
            }
        }
        Guard::ScorePresent(part) => {
            let need = w.part(part).map(|p| match p.source.get() {
                PartSource::SelfCheck => 1,
                PartSource::Reviewers => p.min_reviewers.as_ref().map(|m| **m).unwrap_or(1).max(1),
                PartSource::Appraisal => p.min_appraisals.as_ref().map(|m| **m).unwrap_or(1).max(1),
            });
            let need = need.unwrap_or(1);
            let have = f
                .score_counts
                .iter()
                .find(|(p, _)| p == part.as_str())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            if have < need {
                reasons.push(Reason::ScoreMissing {
                    part: part.to_string(),
                    have,
                    need,
                });
            }
        }
        Guard::BeforeDeadline(id) => {
            let due = f
                .deadline_dues
                .iter()
                .find(|(d, _)| d == id.as_str())
                .map(|(_, t)| *t)
                .or_else(|| deadline_due(w, id, f.year, None));
            if let Some(due) = due {
                if now > due {
                    reasons.push(Reason::DeadlinePassed {
                        deadline: id.to_string(),
                        due,
                    });
                }
            }
        }
    }
}

/// The due instant of a deadline for a project of `year`, where it does not depend on a
/// milestone. `event` is the transition being taken now and when, for relative deadlines.
pub fn deadline_due(
    w: &Workflow,
    deadline: &str,
    year: i32,
    event: Option<(usize, DateTime<Utc>)>,
) -> Option<DateTime<Utc>> {
    let i = *w.deadline_index.get(deadline)?;
    match &w.deadlines[i].due {
        CompiledDue::Date(md) => md.end_of_day(year, w.timezone),
        CompiledDue::After { transition, offset } => match event {
            Some((t, at)) if t == *transition => at.checked_add_signed(*offset),
            _ => None,
        },
        CompiledDue::MilestoneDue => None,
    }
}

/// One action a user could take now, with the reasons it is refused if it is.
#[derive(Debug, Clone, Serialize)]
pub struct Available<'w> {
    pub action: &'w str,
    pub to: &'w str,
    pub allowed: bool,
    pub reasons: Vec<Reason>,
}

/// The actions leaving the project's current stage that the actor holds a role for, each with
/// whether it is allowed now (guards may still refuse it).
pub fn available<'w>(
    w: &'w Workflow,
    facts: &Facts<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Vec<Available<'w>> {
    let Some(&si) = w.stage_index.get(facts.stage) else {
        return Vec::new();
    };
    w.outgoing[si]
        .iter()
        .filter(|ti| w.transitions[**ti].roles.intersects(actor.roles))
        .map(|ti| {
            let t = &w.definition.transitions[*ti];
            // The comment is asked for when the action is taken; do not list it as a blocker.
            let req = Request {
                action: t.id.as_str(),
                comment: Some("-"),
                now,
            };
            let result = decide(w, facts, actor, &req);
            Available {
                action: t.id.as_str(),
                to: w.definition.stages[w.transitions[*ti].to].id.as_str(),
                allowed: result.is_ok(),
                reasons: result.err().map(|r| r.reasons).unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every reason. The match below stops compiling when a variant is added, so the
    /// list cannot fall behind.
    fn every_reason() -> Vec<Reason> {
        let all = vec![
            Reason::UnknownAction { action: "a".into() },
            Reason::UnknownStage { stage: "s".into() },
            Reason::ProjectClosed { stage: "s".into() },
            Reason::WrongStage {
                stage: "s".into(),
                allowed_from: vec!["t".into()],
            },
            Reason::RoleNotAllowed {
                allowed: vec!["admin".into()],
            },
            Reason::RoleNotAllowed { allowed: vec![] },
            Reason::OutOfScope,
            Reason::CommentRequired,
            Reason::FieldMissing { field: "f".into() },
            Reason::FormIncomplete {
                stage: "s".into(),
                problems: vec!["f".into()],
            },
            Reason::TooFewMilestones { have: 0, need: 1 },
            Reason::MilestonesNotDone { open: 1, total: 2 },
            Reason::MilestonesNotDone { open: 0, total: 0 },
            Reason::TooFewAppraisals { have: 0, need: 1 },
            Reason::ScoreMissing {
                part: "p".into(),
                have: 0,
                need: 1,
            },
            Reason::DeadlinePassed {
                deadline: "d".into(),
                due: DateTime::<Utc>::UNIX_EPOCH,
            },
            Reason::ConflictOfInterest {
                organisation: "o".into(),
            },
            Reason::NotAReviewer,
            Reason::NotAssigned,
            Reason::ScoresHidden,
            Reason::OwnOrganisation,
            Reason::LastAdmin,
            Reason::OrganisationOutOfScope { organisation: 3 },
            Reason::NoProgressReports {
                stage: "s".into(),
                taken_in: vec!["t".into()],
            },
            Reason::NoProgressReports {
                stage: "s".into(),
                taken_in: vec![],
            },
            Reason::MilestoneDone {
                title: "m".into(),
                done_at: DateTime::<Utc>::UNIX_EPOCH,
            },
            Reason::ReviewFrozen {
                year: 2026,
                frozen_at: DateTime::<Utc>::UNIX_EPOCH,
            },
            Reason::ReviewNotFrozen { year: 2026 },
            Reason::ItemNotEntered { item: "i".into() },
            Reason::NotReviewed,
        ];
        for r in &all {
            match r {
                Reason::UnknownAction { .. }
                | Reason::UnknownStage { .. }
                | Reason::ProjectClosed { .. }
                | Reason::WrongStage { .. }
                | Reason::RoleNotAllowed { .. }
                | Reason::OutOfScope
                | Reason::CommentRequired
                | Reason::FieldMissing { .. }
                | Reason::FormIncomplete { .. }
                | Reason::TooFewMilestones { .. }
                | Reason::MilestonesNotDone { .. }
                | Reason::TooFewAppraisals { .. }
                | Reason::ScoreMissing { .. }
                | Reason::DeadlinePassed { .. }
                | Reason::ConflictOfInterest { .. }
                | Reason::NotAReviewer
                | Reason::NotAssigned
                | Reason::ScoresHidden
                | Reason::OwnOrganisation
                | Reason::LastAdmin
                | Reason::OrganisationOutOfScope { .. }
                | Reason::NoProgressReports { .. }
                | Reason::MilestoneDone { .. }
                | Reason::ReviewFrozen { .. }
                | Reason::ReviewNotFrozen { .. }
                | Reason::ItemNotEntered { .. }
                | Reason::NotReviewed => {}
            }
        }
        all
    }

    #[test]
    fn every_reason_has_a_human_message_in_zh_and_en_without_a_workflow() {
        for r in every_reason() {
            let (zh, en) = (r.describe(None, "zh"), r.describe(None, "en"));
            for m in [&zh, &en] {
                assert!(!m.trim().is_empty(), "{}", r.code());
                assert_ne!(m, r.code(), "a bare code as message");
            }
            assert_ne!(zh, en, "{}: the same text in both languages", r.code());
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{}: {zh}",
                r.code()
            );
        }
    }

    #[test]
    fn district_roles_never_reach_their_own_organisation() {
        use Relation::*;
        for (scope, relation, reaches) in [
            (Scope::District, District, true),
            (Scope::District, Own, false),
            (Scope::District, Outside, false),
            (Scope::Organisation, Own, true),
            (Scope::Organisation, District, false),
            (Scope::Organisation, Outside, false),
            (Scope::Public, Own, false),
            (Scope::Public, District, false),
            (Scope::Public, Outside, false),
        ] {
            assert_eq!(
                scope_reaches(scope, relation),
                reaches,
                "{scope:?} {relation:?}"
            );
        }
    }
}
