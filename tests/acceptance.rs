//! Acceptance on a real database (SQLite file, or PostgreSQL with SP_TEST_POSTGRES): projects
//! from self-check to closure with different reviewers and appraisal mixes, final scores
//! compared with figures worked out by hand; conflicts of interest, double voting, tokens of
//! another project, scores over the maximum; hidden score sheets; audit tampering; and the
//! same over HTTP, including the public appraisal page and the printable sheet of codes.

mod common;

/// The annual review of a year (述职评议) and the year in figures.
#[path = "acceptance/annual.rs"]
mod annual;

// The annual review's exports, on the projects this file closes (its helpers via `super::`).
#[path = "acceptance/review_export.rs"]
mod review_export;

use common::http::{call, login, set_passwords, start};
use common::{day, env, world, World};
use sea_orm::{ConnectionTrait, Statement};
use secretary_projects::app::audit;
use secretary_projects::app::projects::{ActionInput, NewProject};
use secretary_projects::app::topics::TopicInput;
use secretary_projects::app::{App, AppError, Principal};
use secretary_projects::scoring::appraisal::TokenRefusal;
use serde_json::{json, Map, Value};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn act(action: &str, comment: Option<&str>) -> ActionInput {
    ActionInput {
        action: action.into(),
        comment: comment.map(str::to_string),
        expected_version: None,
    }
}

fn codes(e: &AppError) -> Vec<&'static str> {
    match e {
        AppError::Refused(r) | AppError::Forbidden(r) => {
            r.reasons.iter().map(|r| r.code()).collect()
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

const USERS: &[(&str, &str, usize)] = &[
    ("admin", "admin", 0),
    ("reviewer1", "reviewer", 0),
    ("reviewer2", "reviewer", 0),
    ("reviewer3", "reviewer", 0),
    ("reviewer4", "reviewer", 0),
    ("secretary1", "secretary", 1),
    ("member1", "member", 1),
    // A cadre of subdistrict 1 who also sits on the district's review panel.
    ("localreviewer", "reviewer", 1),
    ("secretary2", "secretary", 2),
    ("member2", "member", 2),
];

/// Milestones due 05-31, 08-31 and 10-31.
fn application(owner: &str) -> Map<String, Value> {
    obj(json!({
        "title": "项目",
        "theme": "party_building_governance",
        "problem": "老旧小区停车难，居民矛盾多。",
        "feasibility": "有闲置地块。",
        "goals": "新增车位，建立共享机制。",
        "measures": "党建引领，多方协商。",
        "schedule": "3月启动，10月完成。",
        "team": [{"user": owner, "duty": "具体推进"}],
        "milestones": [
            {"title": "摸底调研", "goal": "摸清底数", "owner": owner, "due": "2026-05-31"},
            {"title": "车位建设", "goal": "新增车位200个", "owner": owner, "due": "2026-08-31"},
            {"title": "机制运行", "goal": "共享机制运行", "owner": owner, "due": "2026-10-31"}
        ]
    }))
}

/// A project of subdistrict `sub` created (or promoted from a new topic) and submitted.
async fn submitted(app: &App, w: &World, sub: usize, title: &str, from_topic: bool) -> i64 {
    let sec = w.user(&format!("secretary{sub}"));
    let member = w.user(&format!("member{sub}"));
    let id = if from_topic {
        let t = app
            .create_topic(
                sec,
                "secretary_project",
                TopicInput {
                    title: Some(title.into()),
                    source: Some("resident_request".into()),
                    area: Some("社区治理".into()),
                    description: Some("居民反映停车难。".into()),
                },
                day(1, 20),
            )
            .await
            .unwrap();
        let (_, p) = app.promote_topic(sec, t.id, 2026, day(2, 1)).await.unwrap();
        app.edit_form(sec, p.id, p.version, application(&member.login), day(2, 5))
            .await
            .unwrap();
        p.id
    } else {
        app.create_project(
            sec,
            NewProject {
                definition: "secretary_project".into(),
                title: title.into(),
                year: 2026,
                organisation_id: None,
                form: application(&member.login),
            },
            day(2, 10),
        )
        .await
        .unwrap()
        .id
    };
    app.take_action(sec, id, act("submit", None), day(2, 20))
        .await
        .unwrap();
    id
}

async fn approved(app: &App, w: &World, sub: usize, title: &str, from_topic: bool) -> i64 {
    let id = submitted(app, w, sub, title, from_topic).await;
    app.take_action(w.user("reviewer1"), id, act("approve", None), day(3, 1))
        .await
        .unwrap();
    id
}

/// A project of subdistrict `sub` taken to the self-check; `late` milestones (by position)
/// are done after their due date.
async fn to_self_check(app: &App, w: &World, sub: usize, title: &str, late: &[usize]) -> i64 {
    to_self_check_from(app, w, sub, title, late, false).await
}

/// [`to_self_check`], the project promoted from a new topic of the pool when `from_topic`.
async fn to_self_check_from(
    app: &App,
    w: &World,
    sub: usize,
    title: &str,
    late: &[usize],
    from_topic: bool,
) -> i64 {
    let id = approved(app, w, sub, title, from_topic).await;
    let sec = w.user(&format!("secretary{sub}"));
    let member = w.user(&format!("member{sub}"));
    for (k, m) in app.milestones(id).await.unwrap().iter().enumerate() {
        let when = if late.contains(&k) {
            m.due_date + chrono::Duration::days(5)
        } else {
            m.due_date - chrono::Duration::days(5)
        };
        let at = common::day(chrono::Datelike::month(&when), chrono::Datelike::day(&when));
        app.report_progress(member, m.id, 100, "完成", at)
            .await
            .unwrap();
    }
    app.take_action(sec, id, act("start_self_check", None), day(11, 1))
        .await
        .unwrap();
    id
}

/// Points per criterion: the same share of every criterion's maximum.
fn sheet(app: &App, part: &str, share: f64) -> Map<String, Value> {
    let wf = app.registry.current("secretary_project").unwrap().workflow;
    wf.part(part)
        .unwrap()
        .criteria
        .iter()
        .map(|c| (c.id.to_string(), json!(*c.max.get() * share)))
        .collect()
}

/// Self-check filed with the goals reviewed one by one and a self score of `share`.
async fn file_self_check(app: &App, sec: &Principal, id: i64, share: f64) {
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        sec,
        id,
        v,
        obj(json!({
            "self_check_report": "逐项对照，目标基本完成。",
            "goal_review": [
                {"goal": "摸清底数", "result": "achieved", "evidence": "调研报告"},
                {"goal": "新增车位200个", "result": "achieved", "evidence": "验收单"},
                {"goal": "共享机制运行", "result": "partly", "evidence": "试运行记录"}
            ]
        })),
        day(11, 2),
    )
    .await
    .unwrap();
    app.submit_score(
        sec,
        id,
        "self_check",
        &sheet(app, "self_check", share),
        Some("自评"),
        day(11, 3),
    )
    .await
    .unwrap();
    app.take_action(sec, id, act("submit_self_check", None), day(11, 4))
        .await
        .unwrap();
}

/// Upper review by the reviewers named with their shares, then the appraisal window opens.
async fn to_appraisal(app: &App, w: &World, id: i64, reviewers: &[(&str, f64)]) {
    let admin = w.user("admin");
    let r1 = w.user("reviewer1");
    app.take_action(r1, id, act("start_upper_review", None), day(11, 5))
        .await
        .unwrap();
    for (login, _) in reviewers {
        app.assign_reviewer(admin, id, w.user(login).user_id, day(11, 5))
            .await
            .unwrap();
    }
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        r1,
        id,
        v,
        obj(json!({"site_visit_date": "2026-11-06", "upper_review_opinion": "成效明显"})),
        day(11, 6),
    )
    .await
    .unwrap();
    for (login, share) in reviewers {
        app.submit_score(
            w.user(login),
            id,
            "upper_review",
            &sheet(app, "upper_review", *share),
            None,
            day(11, 7),
        )
        .await
        .unwrap();
    }
    app.take_action(r1, id, act("finish_upper_review", None), day(11, 8))
        .await
        .unwrap();
    app.take_action(r1, id, act("open_appraisal", None), day(11, 9))
        .await
        .unwrap();
}

/// Upper review by the reviewers named with their shares, then appraisal by residents
/// (counts per rating: satisfied, basically, not), then closure.
async fn review_appraise_close(
    app: &App,
    w: &World,
    id: i64,
    reviewers: &[(&str, f64)],
    ratings: [usize; 3],
    manual: &[&str],
) -> secretary_projects::store::entity::project::Model {
    to_appraisal(app, w, id, reviewers).await;
    let admin = w.user("admin");
    let r1 = w.user("reviewer1");
    let total: usize = ratings.iter().sum();
    let batch = app
        .issue_tokens(r1, id, total as u32, day(11, 9))
        .await
        .unwrap();
    let mut codes = batch.codes.iter();
    for (rating, n) in ["satisfied", "basically_satisfied", "not_satisfied"]
        .iter()
        .zip(ratings)
    {
        for _ in 0..n {
            app.appraise(codes.next().unwrap(), None, rating, None, day(11, 10))
                .await
                .unwrap();
        }
    }
    app.take_action(r1, id, act("close_appraisal", None), day(11, 20))
        .await
        .unwrap();
    for reason in manual {
        app.record_deduction(r1, id, "manual", reason, day(11, 21))
            .await
            .unwrap();
    }
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        admin,
        id,
        v,
        obj(json!({"closure_opinion": "同意结题"})),
        day(11, 22),
    )
    .await
    .unwrap();
    app.take_action(admin, id, act("close_project", None), day(11, 23))
        .await
        .unwrap();
    app.project(id).await.unwrap()
}

#[tokio::test]
async fn several_projects_close_with_the_scores_worked_out_by_hand() {
    let t = env().await;
    let app = &t.app;
    let w = world(app, 2, USERS).await;

    // A: self 90 -> 18; reviewers 80, 90, 100: trimmed mean drops 80 and 100 -> 90 -> 45;
    // 10 satisfied -> 100 -> 30; subtotal 93, no deduction: 93, excellent.
    let a = to_self_check(app, &w, 1, "项目甲", &[]).await;
    file_self_check(app, w.user("secretary1"), a, 0.9).await;
    let pa = review_appraise_close(
        app,
        &w,
        a,
        &[("reviewer1", 0.8), ("reviewer2", 0.9), ("reviewer3", 1.0)],
        [10, 0, 0],
        &[],
    )
    .await;
    assert_eq!(pa.final_score, Some(93.0));
    assert_eq!(pa.grade.as_deref(), Some("excellent"));

    // B: self 80 -> 16; reviewers 60, 70, 75, 95: drop 60 and 95 -> 72.5 -> 36.25;
    // residents (5*100 + 4*70 + 3*0) / 12 = 65 -> 19.5; subtotal 71.75;
    // one milestone late -2, one manual deduction -1: 68.75, pass.
    let b = to_self_check(app, &w, 2, "项目乙", &[1]).await;
    file_self_check(app, w.user("secretary2"), b, 0.8).await;
    let pb = review_appraise_close(
        app,
        &w,
        b,
        &[
            ("reviewer1", 0.6),
            ("reviewer2", 0.7),
            ("reviewer3", 0.75),
            ("reviewer4", 0.95),
        ],
        [5, 4, 3],
        &["台账资料不全"],
    )
    .await;
    assert_eq!(pb.final_score, Some(68.75));
    assert_eq!(pb.grade.as_deref(), Some("pass"));

    // C: self 50 -> 10; reviewers 50, 55, 60 -> 55 -> 27.5; residents (2*100 + 3*70) / 12
    // = 34.17 -> 10.25; subtotal 47.75; two milestones late -4: 43.75, fail.
    let c = to_self_check(app, &w, 1, "项目丙", &[0, 2]).await;
    file_self_check(app, w.user("secretary1"), c, 0.5).await;
    let pc = review_appraise_close(
        app,
        &w,
        c,
        &[("reviewer2", 0.5), ("reviewer3", 0.55), ("reviewer4", 0.6)],
        [2, 3, 7],
        &[],
    )
    .await;
    assert_eq!(pc.final_score, Some(43.75));
    assert_eq!(pc.grade.as_deref(), Some("fail"));

    // The explanation traces every figure: B's reviewers with their criterion points and the
    // two dropped sheets, the ratings, each deduction with its cause.
    let report = app
        .score_report(w.user("secretary2"), &pb, "zh", day(12, 1))
        .await
        .unwrap();
    assert!(!report.provisional);
    let e = &report.explanation;
    let upper = e.parts.iter().find(|p| p.part == "upper_review").unwrap();
    assert_eq!(upper.sheets.len(), 4);
    let dropped: Vec<f64> = upper
        .sheets
        .iter()
        .filter(|s| s.dropped)
        .map(|s| s.score)
        .collect();
    assert_eq!(dropped.len(), 2);
    assert!(
        dropped.contains(&60.0) && dropped.contains(&95.0),
        "{dropped:?}"
    );
    let r4 = upper
        .sheets
        .iter()
        .find(|s| s.scorer == w.user("reviewer4").user_id)
        .unwrap();
    let goal = r4
        .criteria
        .iter()
        .find(|c| c.criterion == "goal_completion")
        .unwrap();
    assert_eq!((goal.points, goal.max), (28.5, 30.0));
    assert_eq!(upper.score, 72.5);
    assert_eq!(upper.weighted, 36.25);
    let residents = e
        .parts
        .iter()
        .find(|p| p.part == "resident_appraisal")
        .unwrap();
    assert_eq!(residents.appraisals, 12);
    assert_eq!(residents.score, 65.0);
    let overdue = e
        .deductions
        .iter()
        .find(|d| d.deduction == "overdue_milestone")
        .unwrap();
    assert_eq!((overdue.count, overdue.total), (1, 2.0));
    assert!(
        overdue.causes[0].contains("车位建设"),
        "{:?}",
        overdue.causes
    );
    let manual = e
        .deductions
        .iter()
        .find(|d| d.deduction == "manual")
        .unwrap();
    assert_eq!(manual.causes, vec!["台账资料不全".to_string()]);
    assert_eq!(e.subtotal, 71.75);
    assert_eq!(report.grade_name.as_deref(), Some("合格"));
    assert_eq!(
        report
            .scorers
            .get(&w.user("reviewer4").user_id)
            .map(String::as_str),
        Some("用户reviewer4")
    );

    // The chain is intact; edit one appraisal's audit row behind the application's back and
    // `audit verify` names it.
    assert_eq!(audit::verify(&app.db.read).await.unwrap().broken, None);
    let backend = app.db.read.get_database_backend();
    let row = app
        .db
        .read
        .query_one_raw(Statement::from_string(
            backend,
            format!(
                "SELECT id FROM audit_events WHERE project_id = {b} AND action = 'appraisal' ORDER BY seq LIMIT 1"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let event: i64 = row.try_get("", "id").unwrap();
    app.db
        .write
        .execute_raw(Statement::from_string(
            backend,
            format!(
                "UPDATE audit_events SET data = '{{\"rating\":\"satisfied\"}}' WHERE id = {event}"
            ),
        ))
        .await
        .unwrap();
    let broken = audit::verify(&app.db.read).await.unwrap().broken.unwrap();
    assert_eq!((broken.project_id, broken.event_id), (b, Some(event)));
}

#[tokio::test]
async fn refusals_of_the_acceptance_phase() {
    let t = env().await;
    let app = &t.app;
    let w = world(app, 2, USERS).await;
    let (admin, r1, r2) = (w.user("admin"), w.user("reviewer1"), w.user("reviewer2"));
    let id = to_self_check(app, &w, 1, "项目甲", &[]).await;
    let other = to_self_check(app, &w, 2, "项目乙", &[]).await;

    // The self-check must take every goal of the application.
    let sec = w.user("secretary1");
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        sec,
        id,
        v,
        obj(json!({"self_check_report": "报告", "goal_review": [
            {"goal": "摸清底数", "result": "achieved", "evidence": "调研报告"}
        ]})),
        day(11, 2),
    )
    .await
    .unwrap();
    app.submit_score(
        sec,
        id,
        "self_check",
        &sheet(app, "self_check", 0.9),
        None,
        day(11, 3),
    )
    .await
    .unwrap();
    let e = app
        .take_action(sec, id, act("submit_self_check", None), day(11, 3))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["form_incomplete"]);
    // A goal reached needs evidence.
    let e = app
        .edit_form(
            sec,
            id,
            app.project(id).await.unwrap().version,
            obj(json!({"goal_review": [{"goal": "摸清底数", "result": "achieved"}]})),
            day(11, 3),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::InvalidForm(_)), "{e:?}");
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        sec,
        id,
        v,
        obj(json!({"goal_review": [
            {"goal": "摸清底数", "result": "achieved", "evidence": "调研报告"},
            {"goal": "新增车位200个", "result": "partly", "evidence": "完成150个"},
            {"goal": "共享机制运行", "result": "not_achieved"}
        ]})),
        day(11, 3),
    )
    .await
    .unwrap();
    app.take_action(sec, id, act("submit_self_check", None), day(11, 4))
        .await
        .unwrap();
    app.take_action(r1, id, act("start_upper_review", None), day(11, 5))
        .await
        .unwrap();

    // Conflict of interest: a reviewer of the project's own subdistrict, with the reason.
    let local = w.user("localreviewer");
    let e = app
        .assign_reviewer(admin, id, local.user_id, day(11, 5))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["conflict_of_interest"]);
    let wf = app.registry.current("secretary_project").unwrap().workflow;
    if let AppError::Forbidden(r) = &e {
        let msg = r.reasons[0].message(&wf, "zh");
        assert!(msg.contains("利益冲突") && msg.contains("第1街道"), "{msg}");
    }
    // Only the admin assigns; a secretary cannot be a reviewer.
    let e = app
        .assign_reviewer(r1, id, r2.user_id, day(11, 5))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["role_not_allowed"]);
    let e = app
        .assign_reviewer(admin, id, w.user("secretary2").user_id, day(11, 5))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["not_a_reviewer"]);
    // Unassigned reviewers do not score.
    let e = app
        .submit_score(
            r1,
            id,
            "upper_review",
            &sheet(app, "upper_review", 0.8),
            None,
            day(11, 6),
        )
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["not_assigned"]);
    for r in [r1, r2] {
        app.assign_reviewer(admin, id, r.user_id, day(11, 6))
            .await
            .unwrap();
    }
    let e = app
        .assign_reviewer(admin, id, r1.user_id, day(11, 6))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Invalid(_)), "assigned once: {e:?}");
    // Over the maximum, and a criterion missing, are refused.
    let e = app
        .submit_score(
            r1,
            id,
            "upper_review",
            &sheet(app, "upper_review", 1.2),
            None,
            day(11, 6),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Invalid(ref m) if m.contains("outside")),
        "{e:?}"
    );
    let mut partial = sheet(app, "upper_review", 0.8);
    partial.remove("innovation");
    assert!(app
        .submit_score(r1, id, "upper_review", &partial, None, day(11, 6))
        .await
        .is_err());

    // A reviewer does not see other reviewers' sheets before submitting their own.
    app.submit_score(
        r1,
        id,
        "upper_review",
        &sheet(app, "upper_review", 0.8),
        None,
        day(11, 7),
    )
    .await
    .unwrap();
    let p = app.project(id).await.unwrap();
    let seen = app.score_sheets(r2, &p).await.unwrap();
    assert!(
        seen.sheets.iter().all(|s| s.part != "upper_review"),
        "{:?}",
        seen.sheets
    );
    assert_eq!(seen.hidden.get("upper_review"), Some(&1));
    let e = app
        .score_report(r2, &p, "zh", day(11, 7))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["scores_hidden"]);
    assert!(
        app.score_report(r1, &p, "zh", day(11, 7))
            .await
            .unwrap()
            .provisional
    );
    app.submit_score(
        r2,
        id,
        "upper_review",
        &sheet(app, "upper_review", 0.7),
        None,
        day(11, 7),
    )
    .await
    .unwrap();
    let seen = app.score_sheets(r2, &p).await.unwrap();
    assert_eq!(
        seen.sheets
            .iter()
            .filter(|s| s.part == "upper_review")
            .count(),
        2
    );
    // The subdistrict sees reviewers' sheets only once the project has ended.
    let seen = app.score_sheets(sec, &p).await.unwrap();
    assert_eq!(seen.hidden.get("upper_review"), Some(&2));
    // A reviewer who scored stays on the project.
    assert!(app
        .unassign_reviewer(admin, id, r1.user_id, day(11, 7))
        .await
        .is_err());
    // A site visit by an assigned reviewer; not by others, not in the future.
    app.record_site_visit(
        r1,
        id,
        day(11, 6).date_naive(),
        "现场查看停车场",
        &[],
        day(11, 7),
    )
    .await
    .unwrap();
    let e = app
        .record_site_visit(
            w.user("reviewer3"),
            id,
            day(11, 6).date_naive(),
            "",
            &[],
            day(11, 7),
        )
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["not_assigned"]);
    assert!(app
        .record_site_visit(r1, id, day(12, 30).date_naive(), "", &[], day(11, 7))
        .await
        .is_err());
    assert_eq!(app.site_visits(id).await.unwrap().len(), 1);

    // Tokens: issued before the window opens they cannot be used yet.
    let batch = app.issue_tokens(r1, id, 5, day(11, 8)).await.unwrap();
    let e = app
        .appraise(&batch.codes[0], None, "satisfied", None, day(11, 8))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Token(TokenRefusal::WindowClosed)),
        "{e:?}"
    );
    // A subdistrict user cannot issue tokens.
    assert!(matches!(
        app.issue_tokens(sec, id, 5, day(11, 8)).await.unwrap_err(),
        AppError::Forbidden(_)
    ));
    // Move on to the appraisal (three reviewers are needed to finish the upper review).
    app.assign_reviewer(admin, id, w.user("reviewer3").user_id, day(11, 8))
        .await
        .unwrap();
    app.submit_score(
        w.user("reviewer3"),
        id,
        "upper_review",
        &sheet(app, "upper_review", 0.9),
        None,
        day(11, 8),
    )
    .await
    .unwrap();
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        r1,
        id,
        v,
        obj(json!({"site_visit_date": "2026-11-06", "upper_review_opinion": "好"})),
        day(11, 8),
    )
    .await
    .unwrap();
    app.take_action(r1, id, act("finish_upper_review", None), day(11, 9))
        .await
        .unwrap();
    app.take_action(r1, id, act("open_appraisal", None), day(11, 9))
        .await
        .unwrap();

    let code = &batch.codes[0];
    let before = app.project(id).await.unwrap().appraisal_count;
    // A bad rating writes nothing and leaves the token usable.
    let e = app
        .appraise(code, None, "great", None, day(11, 10))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Token(TokenRefusal::BadRating { .. })),
        "{e:?}"
    );
    let e = app
        .appraise(
            code,
            None,
            "satisfied",
            Some(&"长".repeat(501)),
            day(11, 10),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Token(TokenRefusal::CommentTooLong { .. })),
        "{e:?}"
    );
    // A token of this project named for another project is refused.
    let e = app
        .appraise(code, Some(other), "satisfied", None, day(11, 10))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Token(TokenRefusal::OtherProject)),
        "{e:?}"
    );
    app.appraise(code, Some(id), "satisfied", Some("很好"), day(11, 10))
        .await
        .unwrap();
    // Double voting with one token.
    let e = app
        .appraise(code, None, "satisfied", None, day(11, 10))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Token(TokenRefusal::Used)), "{e:?}");
    // Unknown and malformed codes.
    for bad in ["ZZZZZZZZZZ", "short", "../../etc", ""] {
        let e = app
            .appraise(bad, None, "satisfied", None, day(11, 10))
            .await
            .unwrap_err();
        assert!(
            matches!(e, AppError::Token(TokenRefusal::Unknown)),
            "{bad}: {e:?}"
        );
    }
    // Expired after 30 days.
    let e = app
        .appraise(&batch.codes[1], None, "satisfied", None, day(12, 9))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Token(TokenRefusal::Expired)), "{e:?}");
    // Revoked: the unused ones of the batch.
    let n = app
        .revoke_batch(r1, id, &batch.batch, day(11, 11))
        .await
        .unwrap();
    assert_eq!(n, 4);
    let e = app
        .appraise(&batch.codes[2], None, "satisfied", None, day(11, 11))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Token(TokenRefusal::Revoked)), "{e:?}");
    let summary = app.token_batches(id, day(11, 11)).await.unwrap();
    assert_eq!(
        (summary[0].issued, summary[0].used, summary[0].revoked),
        (5, 1, 4)
    );
    let p = app.project(id).await.unwrap();
    assert_eq!(
        p.appraisal_count,
        before + 1,
        "only the one good vote counted"
    );
    assert_eq!(audit::verify(&app.db.read).await.unwrap().broken, None);
}

#[tokio::test]
async fn acceptance_over_http_with_the_public_appraisal_page() {
    let t = env().await;
    let app = &t.app;
    let w = world(app, 2, USERS).await;
    set_passwords(app).await;
    let id = to_self_check(app, &w, 1, "破解停车难", &[]).await;
    file_self_check(app, w.user("secretary1"), id, 0.9).await;
    let (addr, server) = start(app).await;
    let admin = login(addr, "admin").await;
    let rev = login(addr, "reviewer1").await;
    let sec = login(addr, "secretary1").await;
    let base = format!("/api/v1/projects/{id}");

    let r = call(addr, "POST", &format!("{base}/actions"), Some(&rev), &[], Some(&json!({"action": "start_upper_review", "version": app.project(id).await.unwrap().version}).to_string())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Conflict of interest over HTTP: 403 naming the reason, in English on request.
    let local = w.user("localreviewer").user_id;
    let r = call(
        addr,
        "POST",
        &format!("{base}/reviewers"),
        Some(&admin),
        &[("Accept-Language", "en")],
        Some(&json!({"user_id": local}).to_string()),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["reasons"][0]["code"], "conflict_of_interest");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("conflict of interest"),
        "{}",
        r.body
    );
    // A secretary may not assign; bad bodies are 4xx.
    let r2 = w.user("reviewer2").user_id;
    let r = call(
        addr,
        "POST",
        &format!("{base}/reviewers"),
        Some(&sec),
        &[],
        Some(&json!({"user_id": r2}).to_string()),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        addr,
        "POST",
        &format!("{base}/reviewers"),
        Some(&admin),
        &[],
        Some(r#"{"user_id": "x"}"#),
    )
    .await;
    assert!(r.status == 400 || r.status == 422, "{}", r.status);
    for login_name in ["reviewer1", "reviewer2", "reviewer3"] {
        let uid = w.user(login_name).user_id;
        let r = call(
            addr,
            "POST",
            &format!("{base}/reviewers"),
            Some(&admin),
            &[],
            Some(&json!({"user_id": uid}).to_string()),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = call(
        addr,
        "GET",
        &format!("{base}/reviewers"),
        Some(&sec),
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    // Scores over HTTP, one over the maximum refused.
    let over = json!({"part": "upper_review", "criteria": sheet(app, "upper_review", 1.1)});
    let r = call(
        addr,
        "POST",
        &format!("{base}/scores"),
        Some(&rev),
        &[],
        Some(&over.to_string()),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    for (who, share) in [("reviewer1", 0.8), ("reviewer2", 0.9), ("reviewer3", 1.0)] {
        let tok = login(addr, who).await;
        let body = json!({"part": "upper_review", "criteria": sheet(app, "upper_review", share), "comment": "好"});
        let r = call(
            addr,
            "POST",
            &format!("{base}/scores"),
            Some(&tok),
            &[],
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let v = app.project(id).await.unwrap().version;
    let r = call(addr, "PATCH", &format!("{base}/form"), Some(&rev), &[], Some(&json!({"version": v, "form": {"site_visit_date": "2026-11-06", "upper_review_opinion": "好"}}).to_string())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for action in ["finish_upper_review", "open_appraisal"] {
        let v = app.project(id).await.unwrap().version;
        let r = call(
            addr,
            "POST",
            &format!("{base}/actions"),
            Some(&rev),
            &[],
            Some(&json!({"action": action, "version": v}).to_string()),
        )
        .await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    }

    // Tokens: issued by a reviewer, not by the secretary; printed as a sheet of QR codes.
    let r = call(
        addr,
        "POST",
        &format!("{base}/appraisal-tokens"),
        Some(&sec),
        &[],
        Some(r#"{"count": 3}"#),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        addr,
        "POST",
        &format!("{base}/appraisal-tokens"),
        Some(&rev),
        &[],
        Some(r#"{"count": 0}"#),
    )
    .await;
    assert_eq!(r.status, 422);
    let r = call(
        addr,
        "POST",
        &format!("{base}/appraisal-tokens"),
        Some(&rev),
        &[],
        Some(r#"{"count": 12}"#),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let batch = r.body["batch"].as_str().unwrap().to_string();
    let codes: Vec<String> = r.body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let r = call(
        addr,
        "GET",
        &format!("/print/projects/{id}/tokens/{batch}"),
        Some(&rev),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(r.text.matches("<svg").count(), 12, "one QR code per token");
    assert!(codes.iter().all(|c| r.text.contains(&format!("/a/{c}"))));
    let r = call(
        addr,
        "GET",
        &format!("/print/projects/{id}/tokens/{batch}"),
        Some(&sec),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 403, "codes are the residents' ballots");

    // A resident opens the link: a plain page with the project and the ratings, no account.
    let r = call(addr, "GET", &format!("/a/{}", codes[0]), None, &[], None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.contains("破解停车难") && r.text.contains("满意") && r.text.contains("基本满意"),
        "{}",
        r.text
    );
    let r = call(
        addr,
        "GET",
        &format!("/a/{}?lang=en", codes[0]),
        None,
        &[],
        None,
    )
    .await;
    assert!(r.text.contains("Basically satisfied"), "{}", r.text);
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = call(
        addr,
        "POST",
        &format!("/a/{}", codes[0]),
        None,
        &form,
        Some("rating=satisfied&comment=%E5%BE%88%E5%A5%BD"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.text.contains("感谢"));
    // The same link again: refused with a clear page.
    let r = call(
        addr,
        "POST",
        &format!("/a/{}", codes[0]),
        None,
        &form,
        Some("rating=satisfied"),
    )
    .await;
    assert_eq!(r.status, 409);
    assert!(
        r.text.contains("已使用") && r.text.contains("token_used"),
        "{}",
        r.text
    );
    let r = call(addr, "GET", &format!("/a/{}", codes[0]), None, &[], None).await;
    assert_eq!(r.status, 409);
    // The JSON endpoint: another project's id is refused; the rest are accepted.
    let r = call(
        addr,
        "POST",
        &format!("/api/v1/projects/{}/appraisals", id + 1000),
        None,
        &[],
        Some(&json!({"token": codes[1], "rating": "satisfied"}).to_string()),
    )
    .await;
    assert_eq!(
        (r.status, r.body["reason"].as_str()),
        (409, Some("token_other_project")),
        "{}",
        r.body
    );
    for (k, code) in codes.iter().enumerate().skip(1) {
        let rating = if k % 4 == 0 {
            "basically_satisfied"
        } else {
            "satisfied"
        };
        let r = call(
            addr,
            "POST",
            &format!("/api/v1/projects/{id}/appraisals"),
            None,
            &[],
            Some(&json!({"token": code, "rating": rating}).to_string()),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    // The explanation, as JSON and as a page section: provisional for the district while the
    // project is open (not for the subdistrict, which sees it at closure), final after.
    let r = call(addr, "GET", &format!("{base}/score"), Some(&sec), &[], None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["reasons"][0]["code"], "scores_hidden");
    let r = call(addr, "GET", &format!("{base}/score"), Some(&rev), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["provisional"], true);
    for action in ["close_appraisal"] {
        let v = app.project(id).await.unwrap().version;
        let r = call(
            addr,
            "POST",
            &format!("{base}/actions"),
            Some(&rev),
            &[],
            Some(&json!({"action": action, "version": v}).to_string()),
        )
        .await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    }
    let r = call(
        addr,
        "POST",
        &format!("{base}/deductions"),
        Some(&sec),
        &[],
        Some(r#"{"deduction": "manual", "reason": "x"}"#),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        addr,
        "POST",
        &format!("{base}/deductions"),
        Some(&rev),
        &[],
        Some(r#"{"deduction": "overdue_milestone", "reason": "x"}"#),
    )
    .await;
    assert_eq!(r.status, 422, "only manual deductions are recorded by hand");
    let r = call(
        addr,
        "POST",
        &format!("{base}/deductions"),
        Some(&rev),
        &[],
        Some(r#"{"deduction": "manual", "reason": "材料补交"}"#),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = app.project(id).await.unwrap().version;
    call(
        addr,
        "PATCH",
        &format!("{base}/form"),
        Some(&admin),
        &[],
        Some(&json!({"version": v, "form": {"closure_opinion": "同意"}}).to_string()),
    )
    .await;
    let v = app.project(id).await.unwrap().version;
    let r = call(
        addr,
        "POST",
        &format!("{base}/actions"),
        Some(&admin),
        &[],
        Some(&json!({"action": "close_project", "version": v}).to_string()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // By hand: self 90 -> 18; reviewers 80, 90, 100 -> 90 -> 45; residents: the page's one
    // satisfied, and codes 1..=11 over JSON with codes 4 and 8 basically satisfied, so 10
    // satisfied and 2 basically: (10 * 100 + 2 * 70) / 12 = 95 -> 28.5; subtotal 91.5;
    // one manual deduction -1: 90.5, excellent.
    let r = call(addr, "GET", &format!("{base}/score"), Some(&sec), &[], None).await;
    assert_eq!(r.body["provisional"], false);
    assert_eq!(r.body["explanation"]["final_score"], 90.5, "{}", r.body);
    assert_eq!(r.body["grade_name"], "优秀");
    let r = call(
        addr,
        "GET",
        &format!("/projects/{id}/score"),
        Some(&sec),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.contains("id=\"final-score\">90.5<")
            && r.text.contains("材料补交")
            && r.text.contains("去掉最高分和最低分后平均"),
        "{}",
        r.text
    );
    // The subdistrict now sees every sheet.
    let r = call(
        addr,
        "GET",
        &format!("{base}/scores"),
        Some(&sec),
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["sheets"].as_array().unwrap().len(), 4, "{}", r.body);

    // Guessing codes is rate limited per address.
    let mut last = 0;
    for k in 0..40 {
        let r = call(
            addr,
            "GET",
            &format!("/a/ZZZZZZZZ{:02}", k % 10),
            None,
            &[],
            None,
        )
        .await;
        last = r.status;
    }
    assert_eq!(last, 429);
    server.stop().await;
}

#[tokio::test]
async fn concurrent_residents_each_count_once() {
    let t = env().await;
    let app = &t.app;
    let w = world(app, 2, USERS).await;
    let id = to_self_check(app, &w, 1, "项目甲", &[]).await;
    file_self_check(app, w.user("secretary1"), id, 0.9).await;
    to_appraisal(
        app,
        &w,
        id,
        &[("reviewer1", 0.8), ("reviewer2", 0.9), ("reviewer3", 1.0)],
    )
    .await;
    let batch = app
        .issue_tokens(w.user("reviewer1"), id, 40, day(11, 9))
        .await
        .unwrap();
    // Every code sent twice at once: each counts once, the other is refused as used.
    let mut tasks = Vec::new();
    for round in 0..2 {
        for code in &batch.codes {
            let (app, code) = (app.clone(), code.clone());
            tasks.push(tokio::spawn(async move {
                let rating = if round == 0 {
                    "satisfied"
                } else {
                    "not_satisfied"
                };
                app.appraise(&code, Some(id), rating, None, day(11, 10))
                    .await
            }));
        }
    }
    let (mut ok, mut used) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AppError::Token(TokenRefusal::Used)) => used += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((ok, used), (40, 40));
    let p = app.project(id).await.unwrap();
    assert_eq!(p.appraisal_count, 40);
    let history = app.history(id).await.unwrap();
    assert_eq!(
        history.iter().filter(|h| h.action == "appraisal").count(),
        40
    );
    assert_eq!(audit::verify(&app.db.read).await.unwrap().broken, None);
}

/// Acceptance on the pages, without JavaScript: the self-check sheet generated from the rubric
/// (problems named by criterion beside the inputs), the review team assigned with the
/// conflict-of-interest rule shown, a site visit with a photo, a reviewer's sheet with the
/// others' hidden until theirs is in, and a batch of appraisal codes issued to its print sheet;
/// the other subdistrict refused.
#[tokio::test]
async fn acceptance_on_the_pages() {
    use common::http::PageClient;
    let t = env().await;
    let app = &t.app;
    let w = world(app, 2, USERS).await;
    set_passwords(app).await;
    let id = to_self_check(app, &w, 1, "破解停车难", &[]).await;
    let (addr, server) = start(app).await;
    let pages =
        |who: &'static str| async move { PageClient::new(addr, &login(addr, who).await).await };
    let sec = pages("secretary1").await;
    let admin = pages("admin").await;
    let rev2 = pages("reviewer2").await;
    let rev3 = pages("reviewer3").await;
    let other = pages("secretary2").await;
    let path = format!("/projects/{id}");

    // The self-check sheet: every criterion with its maximum.
    let shown = sec.get(&path).await;
    assert_eq!(shown.status, 200);
    assert!(
        shown.text.contains("id=\"sheet-self_check\""),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains("name=\"c.goal_achievement\"") && shown.text.contains("max=\"40\"")
    );
    assert!(
        shown.text.contains("/static/score.js"),
        "the running total where scripts run"
    );
    let action = format!("/projects/{id}/scores/self_check");
    let bad = sec
        .post(
            &action,
            &[
                ("c.goal_achievement", "45"),
                ("c.measures_implemented", "20"),
                ("c.resident_feedback", ""),
                ("c.documentation", "8"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad
        .text
        .contains("href=\"#sheet-self_check-goal_achievement\""));
    assert!(
        bad.text.contains("“目标完成情况”的分数须在 0 到 40 之间"),
        "{}",
        bad.text
    );
    assert!(bad.text.contains("请为“群众反映”填写 0 到 20 之间的分数"));
    assert!(bad.text.contains("value=\"20\""), "what was typed is kept");
    let foreign = other.post(&action, &[("c.goal_achievement", "1")]).await;
    assert!(
        foreign.status == 403 || foreign.status == 404,
        "{}",
        foreign.status
    );
    let ok = sec
        .post(
            &action,
            &[
                ("c.goal_achievement", "36"),
                ("c.measures_implemented", "27.5"),
                ("c.resident_feedback", "18"),
                ("c.documentation", "9"),
                ("comment", "自评"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    let p = app.project(id).await.unwrap();
    let sheets = app.score_sheets(w.user("admin"), &p).await.unwrap();
    assert_eq!(sheets.sheets.len(), 1);
    assert_eq!(sheets.sheets[0].total, 90.5);
    let shown = sec.get(&path).await;
    assert!(
        !shown.text.contains("id=\"sheet-self_check\""),
        "one sheet per scorer"
    );
    assert!(shown.text.contains("90.5"));

    // Self-check filed (through the use cases), the upper review starts.
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        w.user("secretary1"),
        id,
        v,
        obj(json!({
            "self_check_report": "逐项对照。",
            "goal_review": [
                {"goal": "摸清底数", "result": "achieved", "evidence": "报告"},
                {"goal": "新增车位200个", "result": "achieved", "evidence": "验收单"},
                {"goal": "共享机制运行", "result": "partly", "evidence": "记录"}
            ]
        })),
        day(11, 2),
    )
    .await
    .unwrap();
    for (who, a) in [
        ("secretary1", "submit_self_check"),
        ("reviewer1", "start_upper_review"),
    ] {
        app.take_action(w.user(who), id, act(a, None), chrono::Utc::now())
            .await
            .unwrap();
    }

    // The team: district reviewers offered, the subdistrict's own cadre refused with the reason.
    let shown = admin.get(&path).await;
    let r2 = w.user("reviewer2").user_id;
    let local = w.user("localreviewer").user_id;
    assert!(
        shown.text.contains(&format!("<option value=\"{r2}\">")),
        "{}",
        shown.text
    );
    assert!(
        !shown.text.contains(&format!("<option value=\"{local}\">")),
        "own subdistrict not offered"
    );
    let team = format!("/projects/{id}/reviewers");
    let refused = admin.post(&team, &[("reviewer", &local.to_string())]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(
        refused.text.contains("第1街道"),
        "the conflict names the subdistrict: {}",
        refused.text
    );
    for who in ["reviewer2", "reviewer3"] {
        let r = admin
            .post(&team, &[("reviewer", &w.user(who).user_id.to_string())])
            .await;
        assert_eq!(r.status, 303, "{}", r.text);
    }
    assert_eq!(app.reviewers(id).await.unwrap().len(), 2);
    let no = rev2
        .post(
            &team,
            &[("reviewer", &w.user("reviewer4").user_id.to_string())],
        )
        .await;
    assert!(no.status == 403, "only the admin assigns: {}", no.status);

    // A site visit with a photo.
    let today = chrono::Utc::now().date_naive().to_string();
    let visit = rev2
        .post_files(
            &format!("/projects/{id}/visits"),
            &[
                ("visited_on", None, &today),
                ("notes", None, "现场查看车位"),
                ("photos", Some("现场.pdf"), "%PDF-1.4 现场"),
            ],
        )
        .await;
    assert_eq!(visit.status, 303, "{}", visit.text);
    let visits = app.site_visits(id).await.unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].photos.len(), 1);
    assert!(rev3.get(&path).await.text.contains("现场.pdf"));
    let not_assigned = pages("reviewer4").await;
    let r = not_assigned
        .post_files(
            &format!("/projects/{id}/visits"),
            &[
                ("visited_on", None, &today),
                ("photos", Some("x.pdf"), "%PDF-1.4 x"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        app.attachments(id).await.unwrap().len(),
        1,
        "no photo kept for a refused visit"
    );

    // Sheets: reviewer3 sees that a sheet exists, not its figures, until theirs is in.
    let upper = format!("/projects/{id}/scores/upper_review");
    let r = rev2
        .post(
            &upper,
            &[
                ("c.goal_completion", "27"),
                ("c.actual_effect", "26"),
                ("c.innovation", "15"),
                ("c.resident_benefit", "17"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let seen = rev3.get(&path).await;
    assert!(seen.text.contains("id=\"sheet-upper_review\""));
    assert!(
        !seen.text.contains(">85<"),
        "the other sheet's total is hidden"
    );
    assert!(seen.text.contains("份其他评审的评分"), "{}", seen.text);

    // Codes: issued from the page, then printed.
    app.take_action(
        w.user("reviewer1"),
        id,
        act("finish_upper_review", None),
        chrono::Utc::now(),
    )
    .await
    .unwrap_err();
    let p = app.project(id).await.unwrap();
    assert_eq!(p.stage, "upper_review", "three sheets are needed");
    assert!(
        !admin.get(&path).await.text.contains("id=\"codes-form\""),
        "no codes before the appraisal"
    );
    let none = admin
        .post(&format!("/projects/{id}/codes"), &[("count", "0")])
        .await;
    assert_eq!(none.status, 422, "{}", none.text);
    let codes = admin
        .post(&format!("/projects/{id}/codes"), &[("count", "3")])
        .await;
    assert_eq!(codes.status, 303, "{}", codes.text);
    let sheet = codes.header("location").unwrap().to_string();
    assert!(
        sheet.starts_with(&format!("/print/projects/{id}/tokens/")),
        "{sheet}"
    );
    let batches = app.token_batches(id, chrono::Utc::now()).await.unwrap();
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert!(sheet.ends_with(&batches[0].batch));
    let printed = admin.get(&sheet).await;
    assert_eq!(printed.status, 200, "{sheet}: {}", printed.text);
    assert_eq!(printed.text.matches("<svg").count(), 3, "three QR codes");
    let listed = admin.get(&path).await;
    assert!(
        listed.text.contains(&format!("href=\"{sheet}\"")),
        "the batch is listed"
    );
    let foreign = other
        .post(&format!("/projects/{id}/codes"), &[("count", "3")])
        .await;
    assert!(
        foreign.status == 403 || foreign.status == 404,
        "{}",
        foreign.status
    );
    server.stop().await;
}

/// Before a submission the pages show the answers to check (each with a link back to its
/// field, people by name, what is missing marked), and the submission is taken from there;
/// the charter and the self-check report print with their record and signature lines, in the
/// reader's language; another subdistrict sees neither.
#[tokio::test]
async fn answers_are_checked_before_submission_and_forms_print() {
    use common::http::PageClient;
    let t = env().await;
    let app = &t.app;
    let w = world(app, 2, USERS).await;
    set_passwords(app).await;
    let sec_p = w.user("secretary1");
    let mut form = application("member1");
    form.remove("goals");
    let p = app
        .create_project(
            sec_p,
            NewProject {
                definition: "secretary_project".into(),
                title: "破解停车难".into(),
                year: 2026,
                organisation_id: None,
                form,
            },
            day(2, 10),
        )
        .await
        .unwrap();
    let id = p.id;
    let (addr, server) = start(app).await;
    let pages =
        |who: &'static str| async move { PageClient::new(addr, &login(addr, who).await).await };
    let sec = pages("secretary1").await;
    let other = pages("secretary2").await;
    let check = format!("/projects/{id}/check");

    // Not complete: the missing answer is marked and the submission refused with the reason.
    let r = sec.get(&check).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let goals = &r.text[r.text.find("id=\"answer-goals\"").expect("the goals")..];
    let goals = &goals[..goals.find("</div>").unwrap()];
    assert!(goals.contains("未填写（必填）"), "{goals}");
    assert!(r.text.contains("id=\"refused-submit\""), "{}", r.text);
    assert!(!r.text.contains("id=\"action-submit\""));
    assert!(r
        .text
        .contains(&format!("href=\"/projects/{id}/form#f-goals\"")));

    // The long form's task list: what is answered, what is still to do, each linked.
    let f = sec.get(&format!("/projects/{id}/form")).await;
    assert!(f.text.contains("id=\"task-list\""), "{}", f.text);
    assert!(f
        .text
        .contains("<li class=\"task task-todo\"><a href=\"#f-goals\">"));
    assert!(f
        .text
        .contains("<li class=\"task task-done\"><a href=\"#f-problem\">"));
    assert!(f
        .text
        .contains("<li class=\"task task-optional\"><a href=\"#f-attachments\">"));
    // "Save and check" leads here once the form is saved.
    let v = app.project(id).await.unwrap().version.to_string();
    let saved = sec
        .post(
            &format!("/projects/{id}/form"),
            &[
                ("version", &v),
                ("then", "check"),
                ("f.title", "破解停车难"),
                ("f.theme", "party_building_governance"),
                ("f.problem", "老旧小区停车难，居民矛盾多。"),
                ("f.feasibility", "有闲置地块。"),
                ("f.goals", "新增车位，建立共享机制。"),
                ("f.measures", "党建引领，多方协商。"),
                ("f.schedule", "3月启动，10月完成。"),
                ("f.team.0.user", "member1"),
                ("f.team.0.duty", "具体推进"),
                ("f.milestones.0.title", "摸底调研"),
                ("f.milestones.0.owner", "member1"),
                ("f.milestones.0.due", "2026-05-31"),
                ("f.milestones.1.title", "车位建设"),
                ("f.milestones.1.owner", "member1"),
                ("f.milestones.1.due", "2026-08-31"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    assert!(
        saved.header("location").unwrap().starts_with(&check),
        "{:?}",
        saved.header("location")
    );
    let r = sec.get(&check).await;
    assert!(r.text.contains("id=\"action-submit\""), "{}", r.text);
    assert!(!r.text.contains("id=\"refused-submit\""));
    assert!(r.text.contains("新增车位，建立共享机制。"));
    // People by name, the choice by its label.
    let member_name = &w.user("member1").name;
    assert!(
        r.text.contains(&format!("{member_name}（member1）")),
        "{}",
        r.text
    );
    assert!(!r.text.contains(">party_building_governance<"));
    // The project page leads to the check, not straight to the submission.
    let page = sec.get(&format!("/projects/{id}")).await;
    assert!(page.text.contains("id=\"check-submit\""), "{}", page.text);
    assert!(!page.text.contains("id=\"action-submit\""));
    // Another subdistrict: neither the answers nor the submission.
    let r = other.get(&check).await;
    assert!(matches!(r.status, 403 | 404), "{}", r.status);
    assert!(!r.text.contains("老旧小区停车难"));

    // Submitted from the check page.
    let v = app.project(id).await.unwrap().version.to_string();
    let r = sec
        .post(
            &format!("/projects/{id}/actions"),
            &[("action", "submit"), ("version", &v), ("comment", "")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(app.project(id).await.unwrap().stage, "under_review");

    // The charter: the application with milestones, team, the record and signature lines.
    let charter = format!("/projects/{id}/print/drafting");
    let page = sec.get(&format!("/projects/{id}")).await;
    assert!(page.text.contains(&format!("href=\"{charter}\"")));
    let r = sec.get(&charter).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for want in [
        "书记项目立项书",
        "破解停车难",
        "车位建设",
        "2026-08-31",
        "具体推进",
        "项目负责人（签字）",
        "区委组织部审核意见（盖章）",
        "办理记录",
    ] {
        assert!(r.text.contains(want), "{want} missing:\n{}", r.text);
    }
    assert!(r.text.contains(&format!("{member_name}（member1）")));
    let submit_name = app
        .registry
        .current("secretary_project")
        .unwrap()
        .workflow
        .transition("submit")
        .unwrap()
        .name
        .get("zh")
        .to_string();
    assert!(r.text.contains(&submit_name), "the record: {}", r.text);
    let r = other.get(&charter).await;
    assert!(matches!(r.status, 403 | 404), "{}", r.status);
    assert!(!r.text.contains("车位建设"));
    // A stage without a form, or none at all: not found.
    for path in ["under_review", "no_such_stage"] {
        let r = sec.get(&format!("/projects/{id}/print/{path}")).await;
        assert_eq!(r.status, 404, "{path}");
    }

    // The self-check report of a project that filed it, in English for an English reader.
    let filed = to_self_check(app, &w, 1, "路灯照明", &[]).await;
    file_self_check(app, sec_p, filed, 0.8).await;
    let page = sec.get(&format!("/projects/{filed}")).await;
    assert!(
        page.text.contains("id=\"print-self_check\""),
        "{}",
        page.text
    );
    let r = sec
        .get(&format!("/projects/{filed}/print/self_check"))
        .await;
    assert!(
        r.text.contains("自查报告") && r.text.contains("部分达成"),
        "{}",
        r.text
    );
    assert!(r.text.contains("填报人（签字）"));
    let switched = sec
        .post("/language", &[("lang", "en"), ("next", "/home")])
        .await;
    assert_eq!(switched.status, 303, "{}", switched.text);
    let r = sec
        .get(&format!("/projects/{filed}/print/self_check"))
        .await;
    assert!(
        r.text.contains("Self-check report") && r.text.contains("Partly"),
        "{}",
        r.text
    );
    assert!(r.text.contains("<html lang=\"en\">"));
    server.stop().await;
}
