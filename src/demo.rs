//! A living demo district: one district, six subdistricts, a user for every role, and about 36
//! projects spread over every stage of the year, each driven there through the real use cases
//! (so their audit trails, milestones, scores and mails are real). It works on any definition:
//! it plans each project's path through the definition's own transitions and fills the forms
//! the guards ask for.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::app::projects::{ActionInput, NewProject};
use crate::app::{App, AppError, AppResult, Principal};
use crate::store::entity::{organisation, project, project_deadline, user};
use crate::workflow::model::{Field, FieldType, Guard, PartSource, Scope};
use crate::workflow::Workflow;

const SUBDISTRICTS: [&str; 6] = [
    "东湖街道",
    "西城街道",
    "南山街道",
    "北苑街道",
    "中心街道",
    "滨江街道",
];
const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: [&str; 10] = [
    "建国", "晓燕", "志强", "丽华", "海涛", "雪梅", "国栋", "文静", "立新", "春华",
];

/// A plausible Chinese name for the k-th demo user.
fn person(k: usize) -> String {
    format!(
        "{}{}",
        SURNAMES[k % SURNAMES.len()],
        GIVEN[(k / SURNAMES.len() + k * 7) % GIVEN.len()]
    )
}

const TITLES: [&str; 12] = [
    "破解老旧小区停车难",
    "“小哥驿站”暖心工程",
    "智慧社区服务平台建设",
    "党群服务中心提质增效",
    "邻里纠纷多元化解",
    "背街小巷环境整治",
    "“一老一小”服务圈",
    "商圈党建助力营商环境",
    "社区食堂便民惠民",
    "加装电梯协调推进",
    "物业管理“红色引领”",
    "社区议事协商机制建设",
];

/// A demo login and what it is for.
#[derive(Debug, Clone, Serialize)]
pub struct DemoLogin {
    pub login: String,
    pub name: String,
    pub roles: String,
    pub organisation: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub logins: Vec<DemoLogin>,
    pub projects: usize,
    pub by_stage: Vec<(String, usize)>,
    pub skipped: Vec<String>,
}

/// Whether the database already holds organisations (the demo only fills an empty one).
pub async fn is_empty(app: &App) -> AppResult<bool> {
    Ok(organisation::Entity::find().count(&app.db.read).await? == 0)
}

struct Cast {
    district: organisation::Model,
    subdistricts: Vec<organisation::Model>,
    /// (organisation id, role id) -> users.
    users: HashMap<(i64, String), Vec<Principal>>,
    logins: Vec<DemoLogin>,
}

impl Cast {
    fn someone(&self, org: i64, role: &str, n: usize) -> Option<&Principal> {
        let list = self.users.get(&(org, role.to_string()))?;
        list.get(n % list.len())
    }
}

/// The password every demo login gets when the demo is loaded for people to try.
pub const DEMO_PASSWORD: &str = "demo";

/// Load the demo into an empty database for `workflow`, as of `now`. With `password`, every
/// demo user can sign in with it.
pub async fn load(app: &App, w: &Workflow, now: DateTime<Utc>) -> AppResult<DemoSummary> {
    load_with_password(app, w, now, None).await
}

pub async fn load_with_password(
    app: &App,
    w: &Workflow,
    now: DateTime<Utc>,
    password: Option<&str>,
) -> AppResult<DemoSummary> {
    if !is_empty(app).await? {
        return Err(AppError::Invalid(
            "the database already has data; the demo loads only into an empty one".into(),
        ));
    }
    let year = now.with_timezone(&w.timezone).year();
    // One hash for all: the demo users share a password.
    let hash = password
        .map(crate::app::accounts::hash_password)
        .transpose()?;
    let cast = cast(app, w, now, hash.as_deref()).await?;
    let stages: Vec<&str> = w.definition.stages.iter().map(|s| s.id.as_str()).collect();
    let mut made = 0;
    let mut skipped = Vec::new();
    let mut by_stage: HashMap<String, usize> = HashMap::new();
    let targets = 36usize;
    for i in 0..targets {
        let org = &cast.subdistricts[i % cast.subdistricts.len()];
        // Spread evenly over the stages, with extra projects in implementation-like stages.
        let target = stages[i % stages.len()];
        let title = format!("{}{}", org.name, TITLES[i % TITLES.len()]);
        match drive(app, w, &cast, org, &title, year, target, i, now).await {
            Ok(p) => {
                made += 1;
                *by_stage.entry(p.stage).or_insert(0) += 1;
            }
            Err(e) => skipped.push(format!("{title} → {target}: {e}")),
        }
    }
    let mut by_stage: Vec<(String, usize)> = by_stage.into_iter().collect();
    by_stage.sort_by_key(|(s, _)| stages.iter().position(|x| x == s).unwrap_or(usize::MAX));
    enter_review_items(app, w, &cast, year, now).await?;
    let _ = &cast.district;
    Ok(DemoSummary {
        logins: cast.logins,
        projects: made,
        by_stage,
        skipped,
    })
}

async fn cast(app: &App, w: &Workflow, now: DateTime<Utc>, hash: Option<&str>) -> AppResult<Cast> {
    let district = organisation::ActiveModel {
        parent_id: Set(None),
        name: Set("示范区".into()),
        kind: Set("district".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db.write)
    .await?;
    let mut subdistricts = Vec::new();
    for name in SUBDISTRICTS {
        subdistricts.push(
            organisation::ActiveModel {
                parent_id: Set(Some(district.id)),
                name: Set(name.into()),
                kind: Set("subdistrict".into()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&app.db.write)
            .await?,
        );
    }
    // Enough reviewers for every reviewer part's minimum.
    let reviewers_needed = w
        .definition
        .scoring
        .iter()
        .flat_map(|s| s.parts.iter())
        .filter(|p| *p.source.get() == PartSource::Reviewers)
        .map(|p| p.min_reviewers.as_ref().map(|m| **m as usize).unwrap_or(1))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut cast = Cast {
        district: district.clone(),
        subdistricts: subdistricts.clone(),
        users: HashMap::new(),
        logins: Vec::new(),
    };
    // The role that files applications gets one user per subdistrict; other roles two.
    let lead_role = w.initial_stage().editable_by.first().map(|r| r.to_string());
    for role in &w.definition.roles {
        match role.scope.get() {
            Scope::Public => {}
            Scope::District => {
                let n = if role.id.as_str() == "admin" {
                    1
                } else {
                    reviewers_needed.max(2)
                };
                for k in 1..=n {
                    let login = if n == 1 {
                        role.id.to_string()
                    } else {
                        format!("{}{k}", role.id)
                    };
                    let name = person(cast.logins.len());
                    add_user(
                        app,
                        &mut cast,
                        &district,
                        &login,
                        &name,
                        role.id.as_str(),
                        hash,
                        now,
                    )
                    .await?;
                }
            }
            Scope::Organisation => {
                let per_org = if lead_role.as_deref() == Some(role.id.as_str()) {
                    1
                } else {
                    2
                };
                for (oi, org) in subdistricts.iter().enumerate() {
                    for k in 1..=per_org {
                        let n = if per_org == 1 {
                            String::new()
                        } else {
                            ["a", "b"][k - 1].to_string()
                        };
                        let login = format!("{}{}{n}", role.id, oi + 1);
                        let name = person(cast.logins.len());
                        add_user(
                            app,
                            &mut cast,
                            org,
                            &login,
                            &name,
                            role.id.as_str(),
                            hash,
                            now,
                        )
                        .await?;
                    }
                }
            }
        }
    }
    Ok(cast)
}

#[allow(clippy::too_many_arguments)]
async fn add_user(
    app: &App,
    cast: &mut Cast,
    org: &organisation::Model,
    login: &str,
    name: &str,
    role: &str,
    hash: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    // Stored in the one canonical form, so that the login shown on the sign-in page signs in.
    let login = crate::app::accounts::LoginName::parse(login)?;
    let login = login.as_str();
    let u = user::ActiveModel {
        login: Set(login.to_string()),
        name: Set(name.to_string()),
        email: Set(format!("{login}@demo.invalid")),
        organisation_id: Set(org.id),
        roles: Set(role.to_string()),
        password_hash: Set(hash.map(str::to_string)),
        language: Set("zh".into()),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db.write)
    .await?;
    cast.users
        .entry((org.id, role.to_string()))
        .or_default()
        .push(Principal::from(&u));
    cast.logins.push(DemoLogin {
        login: login.into(),
        name: name.into(),
        roles: role.into(),
        organisation: org.name.clone(),
    });
    Ok(())
}

/// Shortest sequence of transitions from the initial stage to `target`.
fn path_to(w: &Workflow, target: &str) -> Option<Vec<usize>> {
    let goal = *w.stage_index.get(target)?;
    let mut prev: Vec<Option<(usize, usize)>> = vec![None; w.definition.stages.len()];
    let mut seen = vec![false; w.definition.stages.len()];
    let mut queue = VecDeque::from([w.initial_stage]);
    seen[w.initial_stage] = true;
    while let Some(s) = queue.pop_front() {
        if s == goal {
            break;
        }
        for &t in &w.outgoing[s] {
            let to = w.transitions[t].to;
            if !seen[to] {
                seen[to] = true;
                prev[to] = Some((s, t));
                queue.push_back(to);
            }
        }
    }
    let mut path = Vec::new();
    let mut at = goal;
    while at != w.initial_stage {
        let (from, t) = prev[at]?;
        path.push(t);
        at = from;
    }
    path.reverse();
    Some(path)
}

/// Somebody of the cast who may act with one of `roles` on a project of `org`.
fn actor_for<'c>(
    w: &Workflow,
    cast: &'c Cast,
    org: i64,
    roles: &[&str],
    n: usize,
) -> Option<&'c Principal> {
    roles.iter().find_map(|r| {
        let scope = w.role_index.get(*r).map(|i| *w.role(*i).scope.get())?;
        match scope {
            Scope::Organisation => cast.someone(org, r, n),
            Scope::District => cast.someone(cast.district.id, r, n),
            Scope::Public => None,
        }
    })
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    app: &App,
    w: &Workflow,
    cast: &Cast,
    org: &organisation::Model,
    title: &str,
    year: i32,
    target: &str,
    n: usize,
    now: DateTime<Utc>,
) -> AppResult<project::Model> {
    let path =
        path_to(w, target).ok_or_else(|| AppError::Invalid(format!("no path to {target}")))?;
    let initial = w.initial_stage();
    let editors: Vec<&str> = initial.editable_by.iter().map(|r| r.as_str()).collect();
    let creator = actor_for(w, cast, org.id, &editors, n)
        .ok_or_else(|| AppError::Invalid("no demo user may create projects".into()))?
        .clone();
    let members = org_users(cast, org.id);
    // Each project starts a little later; steps are a week apart, never past `now`.
    let start = Utc
        .with_ymd_and_hms(year, 1, 6, 1, 0, 0)
        .single()
        .unwrap_or(now)
        + Duration::days((n as i64 * 3) % 40);
    let step = Duration::days(((now - start).num_days() / (path.len() as i64 + 1)).clamp(1, 21));
    let mut clock = start.min(now);
    let p = app
        .create_project(
            &creator,
            NewProject {
                definition: w.id().to_string(),
                title: title.to_string(),
                year,
                organisation_id: Some(org.id),
                form: Map::new(),
            },
            clock,
        )
        .await?;
    let id = p.id;
    for t in path {
        clock = (clock + step).min(now);
        let p = app.project(id).await?;
        let stage = w
            .stage(&p.stage)
            .ok_or_else(|| AppError::Invalid("lost stage".into()))?;
        // Fill the form of the stage we are leaving.
        if !stage.form.is_empty() {
            let editors: Vec<&str> = stage.editable_by.iter().map(|r| r.as_str()).collect();
            if let Some(editor) = actor_for(w, cast, org.id, &editors, n) {
                let whole: Map<String, Value> =
                    serde_json::from_str(&p.form_data).unwrap_or_default();
                let uploads = upload_evidence(app, editor, id, &stage.form, clock).await?;
                let form = fill_form(&stage.form, &members, year, n, &whole, &uploads);
                // Each upload is a change of the project: its version moved.
                let version = app.project(id).await?.version;
                app.edit_form(editor, id, version, form, clock).await?;
            }
        }
        let transition = &w.definition.transitions[t];
        // Act before any deadline the transition must beat.
        if let Some(cap) = deadline_cap(app, w, id, year, &transition.guards).await? {
            clock = clock.min(cap - Duration::hours(1)).max(clock - step);
        }
        satisfy_guards(app, w, cast, org, id, &transition.guards, n, clock).await?;
        let roles: Vec<&str> = transition.roles.iter().map(|r| r.as_str()).collect();
        let actor = actor_for(w, cast, org.id, &roles, n)
            .ok_or_else(|| AppError::Invalid(format!("no demo user may take {}", transition.id)))?;
        app.take_action(
            actor,
            id,
            ActionInput {
                action: transition.id.to_string(),
                comment: Some(format!("{}（演示）", transition.name.zh)),
                expected_version: None,
            },
            clock,
        )
        .await?;
    }
    app.project(id).await
}

/// The earliest due time among the `before_deadline` guards of a transition.
async fn deadline_cap(
    app: &App,
    w: &Workflow,
    id: i64,
    year: i32,
    guards: &[crate::workflow::Pos<Guard>],
) -> AppResult<Option<DateTime<Utc>>> {
    let mut cap: Option<DateTime<Utc>> = None;
    for g in guards {
        if let Guard::BeforeDeadline(d) = g.get() {
            let open = project_deadline::Entity::find()
                .filter(project_deadline::Column::ProjectId.eq(id))
                .filter(project_deadline::Column::DeadlineKey.eq(d.as_str()))
                .filter(project_deadline::Column::ClosedAt.is_null())
                .one(&app.db.read)
                .await?
                .and_then(|r| r.due_at);
            if let Some(due) =
                open.or_else(|| crate::workflow::engine::deadline_due(w, d, year, None))
            {
                cap = Some(cap.map_or(due, |c| c.min(due)));
            }
        }
    }
    Ok(cap)
}

fn org_users(cast: &Cast, org: i64) -> Vec<&Principal> {
    let mut v: Vec<&Principal> = cast
        .users
        .iter()
        .filter(|((o, _), _)| *o == org)
        .flat_map(|(_, u)| u.iter())
        .collect();
    v.sort_by(|a, b| a.login.cmp(&b.login));
    v
}

fn date(year: i32, month: u32, day: u32) -> String {
    NaiveDate::from_ymd_opt(year, month, day)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// A small file of a type the field accepts, if it accepts one the demo can make.
fn demo_file(f: &Field) -> Option<(&'static str, &'static [u8])> {
    const FILES: &[(&str, &str, &[u8])] = &[
        ("pdf", "演示材料.pdf", b"%PDF-1.4\n% demo evidence\n%%EOF\n"),
        ("png", "演示照片.png", b"\x89PNG\r\n\x1a\n demo"),
        ("jpg", "演示照片.jpg", b"\xff\xd8\xff demo"),
    ];
    FILES
        .iter()
        .find(|(ext, _, _)| {
            f.accept.is_empty() || f.accept.iter().any(|a| a.get().eq_ignore_ascii_case(ext))
        })
        .map(|(_, name, bytes)| (*name, *bytes))
}

/// Upload one demo file to the project for each required attachments field of a form, so that
/// the form names real attachments of its own project (by field id).
async fn upload_evidence(
    app: &App,
    who: &Principal,
    project_id: i64,
    fields: &[Field],
    now: DateTime<Utc>,
) -> AppResult<HashMap<String, i64>> {
    let mut ids = HashMap::new();
    for f in fields
        .iter()
        .filter(|f| f.required && *f.field_type.get() == FieldType::Attachments)
    {
        if let Some((name, bytes)) = demo_file(f) {
            let a = app.attach(who, project_id, None, name, bytes, now).await?;
            ids.insert(f.id.to_string(), a.id);
        }
    }
    Ok(ids)
}

/// Valid values for every field of a form (`uploads`: the attachment to name per field).
fn fill_form(
    fields: &[Field],
    members: &[&Principal],
    year: i32,
    n: usize,
    whole: &Map<String, Value>,
    uploads: &HashMap<String, i64>,
) -> Map<String, Value> {
    let mut form = Map::new();
    let owner = |k: usize| {
        members
            .get((n + k) % members.len().max(1))
            .map(|u| u.login.clone())
            .unwrap_or_default()
    };
    for f in fields {
        let cap = |s: String| match &f.max_length {
            Some(m) => s.chars().take(**m as usize).collect(),
            None => s,
        };
        let value = match f.field_type.get() {
            FieldType::Text => json!(cap(format!("{}（示例）", f.label.zh))),
            FieldType::LongText => json!(cap(format!(
                "{}：经走访调研，居民反映集中，街道党工委研究确定以项目化方式推进，明确目标、节点和责任人，定期调度，确保按期见效。",
                f.label.zh
            ))),
            FieldType::Number => {
                let lo = f.min.as_ref().map(|m| **m).unwrap_or(0.0);
                let hi = f.max.as_ref().map(|m| **m).unwrap_or(100.0);
                json!(((lo + (hi - lo) * 0.85) * 100.0).round() / 100.0)
            }
            FieldType::Date => json!(date(year, 6, 30)),
            FieldType::Choice => match f.options.get(n % f.options.len().max(1)) {
                Some(o) => json!(o.id.as_str()),
                None => continue,
            },
            FieldType::Milestones => {
                let min = f.min_items.as_ref().map(|m| **m as usize).unwrap_or(1);
                let max = f.max_items.as_ref().map(|m| **m as usize).unwrap_or(usize::MAX);
                let count = 3.clamp(min, max.max(min));
                let months = [3u32, 6, 9, 10, 11, 12];
                Value::Array(
                    (0..count)
                        .map(|k| {
                            let m = months[k.min(months.len() - 1)];
                            json!({
                                "title": format!("第{}阶段目标", k + 1),
                                "goal": "按计划完成阶段任务并形成工作成效",
                                "owner": owner(k),
                                "start": date(year, m.saturating_sub(2).max(1), 1),
                                "due": date(year, m, 28),
                                "weight": 1
                            })
                        })
                        .collect(),
                )
            }
            FieldType::Team => json!([{"user": owner(0), "duty": "牵头推进"}, {"user": owner(1), "duty": "具体落实"}]),
            FieldType::GoalReview => {
                // Each goal of the application, reached (mostly fully).
                let goals: Vec<Value> = f
                    .goals_from
                    .as_ref()
                    .and_then(|from| whole.get(from.as_str()))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| crate::workflow::form::MilestonePlan::from_json(v).ok())
                    .enumerate()
                    .map(|(k, m)| {
                        json!({
                            "goal": crate::workflow::form::milestone_goal(&m),
                            "result": if (n + k) % 5 == 4 { "partly" } else { "achieved" },
                            "evidence": "对照节点目标逐项核实，佐证材料见附件。"
                        })
                    })
                    .collect();
                Value::Array(goals)
            }
            FieldType::Attachments => match uploads.get(f.id.as_str()) {
                Some(id) => json!([id]),
                None => continue,
            },
        };
        form.insert(f.id.to_string(), value);
    }
    form
}

/// Make the facts a transition's guards ask for true, through the real use cases.
#[allow(clippy::too_many_arguments)]
async fn satisfy_guards(
    app: &App,
    w: &Workflow,
    cast: &Cast,
    org: &organisation::Model,
    id: i64,
    guards: &[crate::workflow::Pos<Guard>],
    n: usize,
    clock: DateTime<Utc>,
) -> AppResult<()> {
    for g in guards {
        match g.get() {
            Guard::AllMilestonesDone(true) => {
                for m in app.milestones(id).await? {
                    if m.done_at.is_none() {
                        let owner = cast
                            .users
                            .values()
                            .flatten()
                            .find(|u| Some(u.user_id) == m.owner_user_id)
                            .cloned();
                        if let Some(owner) = owner {
                            app.report_progress(&owner, m.id, 100, "已完成（演示）", clock)
                                .await?;
                        }
                    }
                }
            }
            Guard::MinAppraisals(k) => {
                let have = app.project(id).await?.appraisal_count as u32;
                residents_appraise(app, w, cast, id, have, *k + 2, n, clock).await?;
            }
            Guard::ScorePresent(part_id) => {
                let Some(part) = w.part(part_id) else {
                    continue;
                };
                let have = app.project(id).await.map(|p| {
                    serde_json::from_str::<HashMap<String, u32>>(&p.score_counts)
                        .ok()
                        .and_then(|m| m.get(part_id.as_str()).copied())
                        .unwrap_or(0)
                })?;
                match part.source.get() {
                    PartSource::Appraisal => {
                        let need = part.min_appraisals.as_ref().map(|m| **m).unwrap_or(1);
                        residents_appraise(app, w, cast, id, have, need + 2, n, clock).await?;
                    }
                    source => {
                        let need = match source {
                            PartSource::Reviewers => {
                                part.min_reviewers.as_ref().map(|m| **m).unwrap_or(1)
                            }
                            _ => 1,
                        } as usize;
                        let scorers: Vec<&Principal> = match source {
                            PartSource::SelfCheck => {
                                org_users(cast, org.id).into_iter().take(1).collect()
                            }
                            _ => cast
                                .users
                                .iter()
                                .filter(|((o, r), _)| *o == cast.district.id && r != "admin")
                                .flat_map(|(_, u)| u.iter())
                                .collect(),
                        };
                        for (k, scorer) in scorers
                            .iter()
                            .enumerate()
                            .skip(have as usize)
                            .take(need.saturating_sub(have as usize))
                        {
                            if *source == PartSource::Reviewers {
                                let assigner = district_user(w, cast, &part.assigned_by)
                                    .ok_or_else(|| {
                                        AppError::Invalid(
                                            "no demo user may assign reviewers".into(),
                                        )
                                    })?;
                                app.assign_reviewer(assigner, id, scorer.user_id, clock)
                                    .await?;
                            }
                            let criteria: Map<String, Value> = part
                                .criteria
                                .iter()
                                .map(|c| {
                                    let share = 0.7 + 0.05 * ((n + k) % 6) as f64;
                                    (c.id.to_string(), json!((*c.max.get() * share).round()))
                                })
                                .collect();
                            app.submit_score(
                                scorer,
                                id,
                                part_id,
                                &criteria,
                                Some("演示评分"),
                                clock,
                            )
                            .await?;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The annual review's entered items for every reviewed secretary but the last subdistrict's
/// (so that the review shows both a total and what is still missing).
async fn enter_review_items(
    app: &App,
    w: &Workflow,
    cast: &Cast,
    year: i32,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(r) = w.annual_review() else {
        return Ok(());
    };
    let Some(role) = r.reviewed.as_ref() else {
        return Ok(());
    };
    let keep = cast.subdistricts.len().saturating_sub(1);
    for (k, org) in cast.subdistricts.iter().take(keep).enumerate() {
        let Some(person) = cast.someone(org.id, role.as_str(), 0) else {
            continue;
        };
        for item in r
            .items
            .iter()
            .filter(|i| *i.source.get() == crate::workflow::model::ItemSource::Entered)
        {
            let Some(by) = district_user(w, cast, &item.entered_by) else {
                continue;
            };
            let score = 72.0 + ((k * 7) % 25) as f64;
            app.enter_review_item(
                by,
                w.id(),
                year,
                person.user_id,
                item.id.as_str(),
                score,
                "述职报告内容翔实，党建引领作用明显。",
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// A district user holding one of `roles` (any district role when none are named).
fn district_user<'c>(
    w: &Workflow,
    cast: &'c Cast,
    roles: &[crate::workflow::model::Id],
) -> Option<&'c Principal> {
    cast.users
        .iter()
        .filter(|((o, r), _)| {
            *o == cast.district.id
                && if roles.is_empty() {
                    w.role_index
                        .get(r)
                        .is_some_and(|i| *w.role(*i).scope.get() == Scope::District)
                } else {
                    roles.iter().any(|x| x.as_str() == r)
                }
        })
        .flat_map(|(_, u)| u.iter())
        .next()
}

/// Residents appraise with one-time tokens, as they would from a printed sheet, until the
/// project has `want` appraisals (from `have`).
#[allow(clippy::too_many_arguments)]
async fn residents_appraise(
    app: &App,
    w: &Workflow,
    cast: &Cast,
    id: i64,
    have: u32,
    want: u32,
    n: usize,
    clock: DateTime<Utc>,
) -> AppResult<()> {
    if want <= have {
        return Ok(());
    }
    let issuer = district_user(w, cast, &[])
        .ok_or_else(|| AppError::Invalid("no demo user may issue appraisal tokens".into()))?;
    let batch = app.issue_tokens(issuer, id, want - have, clock).await?;
    let ratings = appraisal_ratings(w);
    for (j, code) in batch.codes.iter().enumerate() {
        if let Some(r) = ratings.get(weighted_pick(j + have as usize + n)) {
            app.appraise(code, Some(id), r, None, clock).await?;
        }
    }
    Ok(())
}

fn appraisal_ratings(w: &Workflow) -> Vec<String> {
    w.definition
        .scoring
        .iter()
        .flat_map(|s| s.parts.iter())
        .filter(|p| *p.source.get() == PartSource::Appraisal)
        .flat_map(|p| p.ratings.iter().map(|r| r.id.to_string()))
        .collect()
}

/// Mostly the first (best) rating, sometimes the second, rarely the third.
fn weighted_pick(j: usize) -> usize {
    match j % 10 {
        0..=6 => 0,
        7 | 8 => 1,
        _ => 2,
    }
}

/// The demo's logins as they stand in the database (for the sign-in page of `serve --demo`):
/// the accounts the demo made, by their address, with their organisation and roles.
pub async fn logins_in(app: &App) -> AppResult<Vec<DemoLogin>> {
    let orgs: HashMap<i64, String> = organisation::Entity::find()
        .all(&app.db.read)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let mut users = user::Entity::find()
        .filter(user::Column::Email.like("%@demo.invalid"))
        .filter(user::Column::Active.eq(true))
        .all(&app.db.read)
        .await?;
    users.sort_by_key(|u| (u.organisation_id, u.id));
    Ok(users
        .into_iter()
        .map(|u| DemoLogin {
            organisation: orgs.get(&u.organisation_id).cloned().unwrap_or_default(),
            login: u.login,
            name: u.name,
            roles: u.roles,
        })
        .collect())
}
