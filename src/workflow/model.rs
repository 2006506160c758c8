//! The definition format as written in `workflows/*.yaml`.
//!
//! These types mirror the file one to one and keep source positions (`Pos`) on every id and
//! every reference, so that the validator can say where a problem is. They are deliberately
//! "raw": durations, dates and cron strings stay text here and are parsed by the validator into
//! the compiled [`crate::workflow::Workflow`] that the engine runs on.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::pos::Pos;

pub type Id = Pos<String>;

/// A text in Chinese (the default interface language) and English.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Simplified Chinese (zh-CN).
    pub zh: String,
    /// English.
    pub en: String,
}

impl Label {
    /// The label in the language asked for (`en...` gives English, anything else Chinese).
    pub fn get(&self, lang: &str) -> &str {
        if lang.starts_with("en") {
            &self.en
        } else {
            &self.zh
        }
    }
}

/// A whole workflow definition: one file under `workflows/`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Stable identifier of the process, e.g. `secretary_project`. Projects refer to it.
    pub id: Id,
    pub name: Label,
    #[serde(default)]
    pub description: Option<Label>,
    /// IANA time zone in which dates and cron schedules are read. Default `Asia/Shanghai`.
    #[serde(default)]
    pub timezone: Option<Pos<String>>,
    /// Who takes part. Users are given these roles.
    pub roles: Vec<Role>,
    /// The topic pool (议题库) from which applications are promoted.
    #[serde(default)]
    pub topic_pool: Option<TopicPool>,
    /// The stages a project goes through. Exactly one has `kind: initial`.
    pub stages: Vec<Stage>,
    /// The actions that move a project from stage to stage.
    pub transitions: Vec<Transition>,
    /// Deadlines: windows, milestone due dates, evaluations.
    #[serde(default)]
    pub deadlines: Vec<Deadline>,
    /// Recurring jobs: monthly progress requests, weekly dispatch digests.
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    /// Windows of the year (applications, self-check, appraisal) announced district-wide when
    /// they open and before they close.
    #[serde(default)]
    pub windows: Vec<Window>,
    /// Mail templates that effects, deadlines and schedules refer to.
    #[serde(default)]
    pub templates: Vec<Template>,
    /// How a finished project is scored.
    #[serde(default)]
    pub scoring: Option<Scoring>,
    /// How project scores enter the annual performance review (述职评议).
    #[serde(default)]
    pub annual_review: Option<AnnualReview>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Acts on every project of the district (reviewers, admins).
    District,
    /// Acts only on projects of the user's own organisation (secretaries, team members).
    Organisation,
    /// No account: reaches only what a token opens (residents).
    Public,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: Id,
    pub name: Label,
    pub scope: Pos<Scope>,
    #[serde(default)]
    pub description: Option<Label>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicPool {
    /// Where candidate problems come from (field visit, resident request, demand list...).
    pub sources: Vec<ChoiceOption>,
    /// Roles that may record and discuss topics.
    pub roles: Vec<Id>,
    /// The stage a promoted topic's project starts in (normally the initial stage).
    pub promote_to: Id,
    /// Which field of that stage's form receives the topic's description.
    #[serde(default)]
    pub description_field: Option<Id>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Initial,
    #[default]
    Normal,
    Terminal,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub id: Id,
    pub name: Label,
    #[serde(default)]
    pub kind: Pos<StageKind>,
    #[serde(default)]
    pub description: Option<Label>,
    /// The form filled in while the project is in this stage.
    #[serde(default)]
    pub form: Vec<Field>,
    /// Roles that may edit this stage's form.
    #[serde(default)]
    pub editable_by: Vec<Id>,
    /// Deadline that applies while a project is in this stage.
    #[serde(default)]
    pub deadline: Option<Id>,
    /// For a terminal stage: how a project that ends here counts in the annual review and the
    /// year's figures. Default: the stage's id where it is one of the outcomes' names.
    #[serde(default)]
    pub outcome: Option<Pos<StageOutcome>>,
    /// Whether milestone progress is reported in this stage. Default: where the milestones'
    /// deadline (`due: {milestone_due: true}`) is open; never in a terminal stage.
    #[serde(default)]
    pub progress_reports: Option<Pos<bool>>,
}

/// How a project ended, as the annual review and the year's figures count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageOutcome {
    /// Finished and scored (结题).
    Closed,
    /// Stopped by the district after approval (终止).
    Terminated,
    /// The application was refused (驳回).
    Rejected,
    /// The application was withdrawn (撤回).
    Withdrawn,
}

impl StageOutcome {
    pub const ALL: [StageOutcome; 4] = [
        StageOutcome::Closed,
        StageOutcome::Terminated,
        StageOutcome::Rejected,
        StageOutcome::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StageOutcome::Closed => "closed",
            StageOutcome::Terminated => "terminated",
            StageOutcome::Rejected => "rejected",
            StageOutcome::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<StageOutcome> {
        StageOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    LongText,
    Number,
    Date,
    Choice,
    /// A list of milestones, each with title, owner and due date.
    Milestones,
    /// A list of team members, each with a role in the project.
    Team,
    Attachments,
    /// The application's goals reviewed one by one (self-check): for each milestone of the
    /// `goals_from` field, whether its goal was achieved, partly or not, with evidence.
    GoalReview,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub id: Id,
    pub name: Label,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub id: Id,
    #[serde(rename = "type")]
    pub field_type: Pos<FieldType>,
    pub label: Label,
    #[serde(default)]
    pub help: Option<Label>,
    #[serde(default)]
    pub required: bool,
    /// Longest text accepted, in characters (text, long_text).
    #[serde(default)]
    pub max_length: Option<Pos<u32>>,
    /// Smallest number accepted (number).
    #[serde(default)]
    pub min: Option<Pos<f64>>,
    /// Largest number accepted (number).
    #[serde(default)]
    pub max: Option<Pos<f64>>,
    /// The options of a choice.
    #[serde(default)]
    pub options: Vec<ChoiceOption>,
    /// Fewest entries of a list (milestones, team, attachments).
    #[serde(default)]
    pub min_items: Option<Pos<u32>>,
    /// Most entries of a list (milestones, team, attachments).
    #[serde(default)]
    pub max_items: Option<Pos<u32>>,
    /// Largest single attachment, e.g. `10MB`.
    #[serde(default)]
    pub max_size: Option<Pos<String>>,
    /// Accepted attachment file extensions, e.g. `[pdf, docx, jpg]`.
    #[serde(default)]
    pub accept: Vec<Pos<String>>,
    /// The `milestones` field whose goals a `goal_review` field takes one by one.
    #[serde(default)]
    pub goals_from: Option<Id>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommentRule {
    #[default]
    Optional,
    Required,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The action id, e.g. `submit`, `approve`.
    pub id: Id,
    pub name: Label,
    /// The stages the action can be taken from.
    pub from: Vec<Id>,
    pub to: Id,
    /// Roles allowed to take the action.
    pub roles: Vec<Id>,
    #[serde(default)]
    pub comment: CommentRule,
    /// What must hold before the action is allowed. Every failing guard is reported.
    #[serde(default)]
    pub guards: Vec<Pos<Guard>>,
    /// What happens when the action is taken.
    #[serde(default)]
    pub effects: Vec<Pos<Effect>>,
}

impl Transition {
    /// Whether taking this action from `stage` submits that stage's form (it requires the form
    /// complete): the pages show the answers to check before it is taken.
    pub fn submits_form(&self, stage: &str) -> bool {
        self.guards
            .iter()
            .any(|g| matches!(g.get(), Guard::FormComplete(s) if s.as_str() == stage))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// These form fields (of any stage) hold a value.
    FieldsFilled(Vec<Id>),
    /// Every required field of this stage's form is filled and every value is valid.
    FormComplete(Id),
    /// At least this many milestones are planned.
    MinMilestones(u32),
    /// Every milestone is done.
    AllMilestonesDone(bool),
    /// At least this many resident appraisals were received.
    MinAppraisals(u32),
    /// This scoring part has a score (for reviewers: at least `min_reviewers` submitted).
    ScorePresent(Id),
    /// The deadline has not passed yet.
    BeforeDeadline(Id),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Roles told (scoped: the project's own organisation for organisation roles).
    pub roles: Vec<Id>,
    pub template: Id,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Queue a mail to these roles.
    Notify(Notify),
    /// Start tracking a deadline for the project (with its reminders).
    OpenDeadline(Id),
    /// Stop tracking a deadline (no more reminders or escalation).
    CloseDeadline(Id),
    /// Compute and store the final score and grade.
    ComputeScore(bool),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelativeDue {
    /// A transition id: the deadline runs from the moment that action was taken.
    pub event: Id,
    /// How long after it, e.g. `30d`.
    pub offset: Pos<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    /// A fixed calendar date in the project's year, `MM-DD` (end of that day).
    Date(Pos<String>),
    /// Relative to an event of the project.
    After(RelativeDue),
    /// Each milestone's own due date.
    MilestoneDue(bool),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub id: Id,
    pub name: Label,
    pub due: Due,
    /// Reminders before the due time, e.g. `[7d, 3d, 1d]`.
    #[serde(default)]
    pub remind_before: Vec<Pos<String>>,
    /// Roles reminded (milestone deadlines also remind each milestone's owner).
    #[serde(default)]
    pub remind: Vec<Id>,
    /// Template of the reminder mail.
    #[serde(default)]
    pub reminder_template: Option<Id>,
    /// Escalate this long after the due time if still open, e.g. `2d`.
    #[serde(default)]
    pub escalate_after: Option<Pos<String>>,
    /// Roles told when the deadline is overdue.
    #[serde(default)]
    pub escalate_to: Vec<Id>,
    #[serde(default)]
    pub escalation_template: Option<Id>,
    /// Points deducted from the final score when this deadline was missed.
    #[serde(default)]
    pub deduction: Option<Id>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// One mail per project in the listed stages to the listed roles.
    PerProject,
    /// One digest mail per recipient listing every project in the listed stages.
    Digest,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub id: Id,
    pub name: Label,
    /// Cron expression with a seconds field: `sec min hour day month weekday`.
    pub cron: Pos<String>,
    pub kind: Pos<ScheduleKind>,
    /// Projects in these stages are concerned.
    pub stages: Vec<Id>,
    pub notify: Vec<Id>,
    pub template: Id,
}

/// A window of the year that everyone concerned is told about, whether or not they have a
/// project yet: a notice when it opens and notices before it closes. It closes with a
/// deadline that has a fixed `date`, so the closing day is written once.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub id: Id,
    pub name: Label,
    /// The first day of the window, `MM-DD` in the year (it opens at 00:00 that day).
    pub opens: Pos<String>,
    /// The deadline (with `due: {date: ...}`) whose day closes the window.
    pub closes: Id,
    /// Roles told: every active user holding one of them in the district; for roles with
    /// `scope: organisation`, the users of every subdistrict.
    pub notify: Vec<Id>,
    /// Template of the notice sent when the window opens.
    pub open_template: Id,
    /// Notices this long before the window closes, e.g. `[7d]`.
    #[serde(default)]
    pub closing_before: Vec<Pos<String>>,
    /// Template of the notices before the window closes.
    #[serde(default)]
    pub closing_template: Option<Id>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: Id,
    /// Subject line (handlebars).
    pub subject: Label,
    /// Body text (handlebars); the layout adds greeting, project link and footer.
    pub body: Label,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartSource {
    /// Filed by the project's own organisation (自查).
    SelfCheck,
    /// Scored by assigned district reviewers against the criteria (上考).
    Reviewers,
    /// Rated by residents with one-time tokens (下评).
    Appraisal,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// The mean of every reviewer's total.
    #[default]
    Mean,
    /// The mean without the highest and the lowest total (needs at least three reviewers).
    TrimmedMean,
    Median,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub id: Id,
    pub name: Label,
    /// Maximum points for this criterion.
    pub max: Pos<f64>,
    #[serde(default)]
    pub description: Option<Label>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    pub id: Id,
    pub name: Label,
    /// Points (0 to 100) that one such rating is worth; the part's score is the mean.
    pub points: Pos<f64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub id: Id,
    pub name: Label,
    /// Share of the final score, in percent. The parts' weights add up to 100.
    pub weight: Pos<f64>,
    pub source: Pos<PartSource>,
    /// Criteria with maximum points (self_check, reviewers). A part's score is scaled to 100.
    #[serde(default)]
    pub criteria: Vec<Criterion>,
    /// How several reviewers' totals combine (reviewers).
    #[serde(default)]
    pub combine: Pos<Combine>,
    /// Fewest reviewer scores needed (reviewers).
    #[serde(default)]
    pub min_reviewers: Option<Pos<u32>>,
    /// The roles that assign reviewers to a project (reviewers). Default: every district role.
    #[serde(default)]
    pub assigned_by: Vec<Id>,
    /// The ratings residents choose from (appraisal).
    #[serde(default)]
    pub ratings: Vec<Rating>,
    /// Fewest appraisals for the part to count (appraisal).
    #[serde(default)]
    pub min_appraisals: Option<Pos<u32>>,
    /// The stages in which residents may appraise (appraisal): the window opens when a project
    /// enters one and closes when it leaves. Default: every stage that is not terminal.
    #[serde(default)]
    pub open_in: Vec<Id>,
    /// How long an issued appraisal token stays valid, e.g. `30d` (appraisal; default 30d).
    #[serde(default)]
    pub token_valid_for: Option<Pos<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeductionBasis {
    /// For each milestone finished after its due date or still open past it.
    OverdueMilestone,
    /// For each deadline of the project missed.
    MissedDeadline,
    /// Once, when a reviewer records it (for example a returned application).
    Manual,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deduction {
    pub id: Id,
    pub name: Label,
    pub per: Pos<DeductionBasis>,
    /// Points deducted each time.
    pub points: Pos<f64>,
    /// Cap on the total of this deduction.
    #[serde(default)]
    pub max_total: Option<Pos<f64>>,
}

/// A band of scores `[min, max)`; the top band includes its `max`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub id: Id,
    pub name: Label,
    pub min: Pos<f64>,
    pub max: Pos<f64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    pub parts: Vec<Part>,
    #[serde(default)]
    pub deductions: Vec<Deduction>,
    /// Grade bands (等次) covering 0 to 100 without gaps or overlaps.
    pub grades: Vec<Band>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectCombine {
    /// The mean of the secretary's closed projects of the year.
    #[default]
    Mean,
    /// The best of them.
    Best,
}

/// A project's count in the annual review's project part when it did not close with a score:
/// `excluded` (left out, neither helps nor hurts) or a score 0-100 (0: it scores nothing).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CountRule {
    Word(CountWord),
    Score(f64),
}

/// By hand: YAML gives every scalar as text, which serde's untagged enums cannot tell apart.
impl<'de> Deserialize<'de> for CountRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = CountRule;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`excluded` or a score from 0 to 100")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CountRule, E> {
                match v.trim() {
                    "excluded" => Ok(CountRule::Word(CountWord::Excluded)),
                    t => t.parse::<f64>().map(CountRule::Score).map_err(|_| {
                        E::custom(format!(
                            "write `excluded` or a score from 0 to 100, not `{v}`"
                        ))
                    }),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<CountRule, E> {
                Ok(CountRule::Score(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<CountRule, E> {
                Ok(CountRule::Score(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<CountRule, E> {
                Ok(CountRule::Score(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountWord {
    Excluded,
}

/// The count of each outcome other than closed with a score. By default a terminated project
/// (approved, then stopped) counts 0 and the others are left out.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewCounts {
    /// Still under way at the review (or closed without a score).
    #[serde(default = "excluded")]
    pub running: Pos<CountRule>,
    #[serde(default = "zero")]
    pub terminated: Pos<CountRule>,
    #[serde(default = "excluded")]
    pub rejected: Pos<CountRule>,
    #[serde(default = "excluded")]
    pub withdrawn: Pos<CountRule>,
}

fn excluded() -> Pos<CountRule> {
    Pos::new(CountRule::Word(CountWord::Excluded))
}

fn zero() -> Pos<CountRule> {
    Pos::new(CountRule::Score(0.0))
}

impl Default for ReviewCounts {
    fn default() -> Self {
        ReviewCounts {
            running: excluded(),
            terminated: zero(),
            rejected: excluded(),
            withdrawn: excluded(),
        }
    }
}

/// Where a review item's score comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemSource {
    /// Entered by a holder of `entered_by`: a score 0-100 with a comment, per person.
    #[default]
    Entered,
    /// The residents' appraisals of the person's projects of the year: the mean of the
    /// appraisal part's rating points (满意 100, 基本满意 70, ...).
    ResidentSatisfaction,
    /// The share of the year's milestones of the person's projects done by their due date,
    /// in percent.
    MilestonesOnTime,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewItem {
    pub id: Id,
    pub name: Label,
    /// Share of the annual score, in percent.
    pub weight: Pos<f64>,
    #[serde(default)]
    pub source: Pos<ItemSource>,
    /// Roles that enter an `entered` item. Default: the review's `managed_by`.
    #[serde(default)]
    pub entered_by: Vec<Id>,
    #[serde(default)]
    pub description: Option<Label>,
}

impl ItemSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemSource::Entered => "entered",
            ItemSource::ResidentSatisfaction => "resident_satisfaction",
            ItemSource::MilestonesOnTime => "milestones_on_time",
        }
    }
}

/// When a consequence follows: exactly one condition.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsequenceWhen {
    /// The first N ranks (ties at the N-th rank included).
    #[serde(default)]
    pub top: Option<Pos<u32>>,
    /// The last N ranks among those with a total (ties included).
    #[serde(default)]
    pub bottom: Option<Pos<u32>>,
    #[serde(default)]
    pub stars_at_least: Option<Pos<u8>>,
    #[serde(default)]
    pub stars_at_most: Option<Pos<u8>>,
    /// A total below this score.
    #[serde(default)]
    pub total_below: Option<Pos<f64>>,
}

/// Whether a consequence is a reward or a warning (how the review shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsequenceKind {
    #[default]
    Reward,
    Warning,
}

/// What follows from a result (奖优罚劣): "recommended for commendation", "talk required".
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consequence {
    pub id: Id,
    pub name: Label,
    #[serde(default)]
    pub kind: Pos<ConsequenceKind>,
    pub when: ConsequenceWhen,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StarBand {
    pub stars: Pos<u8>,
    pub name: Label,
    pub min: Pos<f64>,
    pub max: Pos<f64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnualReview {
    pub name: Label,
    /// Share of the annual score that comes from project scores, in percent.
    pub project_weight: Pos<f64>,
    #[serde(default)]
    pub project_combine: Pos<ProjectCombine>,
    /// How the year's projects that did not close with a score count in the project part.
    #[serde(default)]
    pub counts: ReviewCounts,
    /// Other items of the review, scored 0-100 by reviewers; with `project_weight` they add to 100.
    #[serde(default)]
    pub items: Vec<ReviewItem>,
    /// Star bands (星级) covering 0 to 100 without gaps or overlaps.
    pub stars: Vec<StarBand>,
    /// The role whose holders are reviewed, each with their organisation (for example
    /// `secretary`). Default: the leads of the year's projects.
    #[serde(default)]
    pub reviewed: Option<Id>,
    /// Roles that approve and freeze a year's review, and unfreeze it. Default: the roles of
    /// district scope.
    #[serde(default)]
    pub managed_by: Vec<Id>,
    /// What follows from a result, shown in the review.
    #[serde(default)]
    pub consequences: Vec<Consequence>,
}
