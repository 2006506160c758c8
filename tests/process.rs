//! One project through the whole default process, persisted, on the database the harness
//! gives (SQLite file by default; PostgreSQL with SP_TEST_POSTGRES). Final score checked
//! against figures worked out by hand.

mod common;

use common::{day, env, world};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secretary_projects::app::projects::{ActionInput, NewProject};
use secretary_projects::app::{audit, AppError};
use secretary_projects::store::entity::{outbox, project_deadline};
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

fn application() -> Map<String, Value> {
    obj(json!({
        "title": "破解老旧小区停车难",
        "theme": "party_building_governance",
        "problem": "老旧小区车位不足，居民停车难、矛盾多。",
        "feasibility": "辖区有闲置地块，物业与业委会支持。",
        "goals": "新增车位200个，建立共享停车机制。",
        "measures": "党建引领，多方协商，错时共享。",
        "schedule": "3月启动，10月完成。",
        "team": [{"user": "secretary1", "duty": "总牵头"}, {"user": "member1", "duty": "具体推进"}],
        "milestones": [
            {"title": "摸底调研", "owner": "member1", "start": "2026-03-01", "due": "2026-05-31"},
            {"title": "车位建设", "owner": "member1", "due": "2026-08-31"},
            {"title": "机制运行", "owner": "member2", "due": "2026-10-31"}
        ]
    }))
}

#[tokio::test]
async fn one_project_through_the_whole_default_process() {
    let t = env().await;
    let app = &t.app;
    let w = world(
        app,
        2,
        &[
            ("admin", "admin", 0),
            ("reviewer1", "reviewer", 0),
            ("reviewer2", "reviewer", 0),
            ("reviewer3", "reviewer", 0),
            ("reviewer4", "reviewer", 0),
            ("secretary1", "secretary", 1),
            ("member1", "member", 1),
            ("member2", "member", 1),
            ("secretary2", "secretary", 2),
        ],
    )
    .await;
    let theme = {
        let wf = app.registry.current("secretary_project").unwrap().workflow;
        wf.field("theme").unwrap().options[0].id.to_string()
    };
    let mut form = application();
    form.insert("theme".into(), json!(theme));

    let sec = w.user("secretary1");
    let p = app
        .create_project(
            sec,
            NewProject {
                definition: "secretary_project".into(),
                title: "停车难".into(),
                year: 2026,
                organisation_id: None,
                form: Map::new(),
            },
            day(2, 10),
        )
        .await
        .unwrap();
    assert_eq!(p.stage, "drafting");
    assert_eq!(p.version, 1);

    // A secretary of another subdistrict may not touch it; a reviewer may not edit the draft.
    let e = app
        .edit_form(w.user("secretary2"), p.id, 1, form.clone(), day(2, 11))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["out_of_scope"]);
    let e = app
        .edit_form(w.user("reviewer1"), p.id, 1, form.clone(), day(2, 11))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["role_not_allowed"]);

    // Submitting an empty application is refused with every reason at once.
    let e = app
        .take_action(sec, p.id, act("submit", None), day(2, 12))
        .await
        .unwrap_err();
    let c = codes(&e);
    assert!(
        c.contains(&"form_incomplete")
            && c.contains(&"field_missing")
            && c.contains(&"too_few_milestones"),
        "{c:?}"
    );

    // Bad form data is refused and nothing is written.
    let mut bad = form.clone();
    bad.insert("theme".into(), json!("no_such_theme"));
    bad.insert("nonsense".into(), json!(1));
    match app
        .edit_form(sec, p.id, 1, bad, day(2, 12))
        .await
        .unwrap_err()
    {
        AppError::InvalidForm(problems) => {
            let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
            assert!(
                fields.contains(&"theme") && fields.contains(&"nonsense"),
                "{fields:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(app.project(p.id).await.unwrap().version, 1);

    let p = app
        .edit_form(sec, p.id, 1, form.clone(), day(2, 15))
        .await
        .unwrap();
    assert_eq!((p.version, p.milestones_total), (2, 3));
    // A stale version is a conflict.
    let e = app
        .edit_form(sec, p.id, 1, form.clone(), day(2, 15))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AppError::Conflict {
                expected: 1,
                current: 2
            }
        ),
        "{e:?}"
    );

    // A team member holds no submit role.
    let e = app
        .take_action(w.user("member1"), p.id, act("submit", None), day(2, 20))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["role_not_allowed"]);
    let done = app
        .take_action(sec, p.id, act("submit", None), day(2, 20))
        .await
        .unwrap();
    assert_eq!(done.to, "under_review");
    assert_eq!(done.mails_queued, 4, "each of the four reviewers is told");

    // Return needs a comment; then resubmit and approve.
    let r1 = w.user("reviewer1");
    let e = app
        .take_action(r1, p.id, act("return_for_revision", None), day(2, 22))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["comment_required"]);
    let done = app
        .take_action(
            r1,
            p.id,
            act("return_for_revision", Some("请细化节点")),
            day(2, 22),
        )
        .await
        .unwrap();
    assert_eq!(done.to, "drafting");
    app.take_action(sec, p.id, act("submit", None), day(2, 25))
        .await
        .unwrap();
    let done = app
        .take_action(r1, p.id, act("approve", Some("同意立项")), day(3, 1))
        .await
        .unwrap();
    assert_eq!(done.to, "implementation");
    let open = project_deadline::Entity::find()
        .filter(project_deadline::Column::ProjectId.eq(p.id))
        .filter(project_deadline::Column::DeadlineKey.eq("milestones"))
        .filter(project_deadline::Column::ClosedAt.is_null())
        .count(&app.db.read)
        .await
        .unwrap();
    assert_eq!(open, 3, "one open deadline per milestone");

    // Progress: the first milestone is finished late (due 05-31, done 06-10).
    let ms = app.milestones(p.id).await.unwrap();
    let (m1, m2) = (w.user("member1"), w.user("member2"));
    let e = app
        .report_progress(m1, ms[0].id, 101, "", day(4, 1))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Invalid(_)));
    let e = app
        .report_progress(w.user("secretary2"), ms[0].id, 50, "", day(4, 1))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Forbidden(_)));
    app.report_progress(m1, ms[0].id, 50, "调研过半", day(4, 1))
        .await
        .unwrap();
    app.report_progress(m1, ms[0].id, 100, "调研完成", day(6, 10))
        .await
        .unwrap();
    // A done milestone keeps its done date: it cannot be undone, and a later report at 100 %
    // (more evidence) does not move it.
    let e = app
        .report_progress(m1, ms[0].id, 50, "重新统计", day(6, 20))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["milestone_done"]);
    app.report_progress(m1, ms[0].id, 100, "补充材料", day(6, 25))
        .await
        .unwrap();
    let done_on = |ms: Vec<secretary_projects::store::entity::milestone::Model>| {
        ms[0]
            .done_at
            .map(|d| d.with_timezone(&chrono_tz::Asia::Shanghai).date_naive())
    };
    assert_eq!(
        done_on(app.milestones(p.id).await.unwrap()),
        chrono::NaiveDate::from_ymd_opt(2026, 6, 10)
    );

    // Mid-term evaluation by a reviewer.
    app.take_action(r1, p.id, act("start_mid_term", None), day(7, 1))
        .await
        .unwrap();
    let e = app
        .take_action(r1, p.id, act("pass_mid_term", None), day(7, 2))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["form_incomplete"]);
    let v = app.project(p.id).await.unwrap().version;
    app.edit_form(
        r1,
        p.id,
        v,
        obj(json!({"midterm_progress": 60, "midterm_opinion": "进展顺序"})),
        day(7, 3),
    )
    .await
    .unwrap();
    let done = app
        .take_action(r1, p.id, act("pass_mid_term", None), day(7, 5))
        .await
        .unwrap();
    assert_eq!(done.to, "implementation");

    app.report_progress(m1, ms[1].id, 100, "建成", day(8, 20))
        .await
        .unwrap();
    let e = app
        .take_action(sec, p.id, act("start_self_check", None), day(10, 1))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["milestones_not_done"]);
    app.report_progress(m2, ms[2].id, 100, "运行", day(10, 15))
        .await
        .unwrap();
    app.take_action(sec, p.id, act("start_self_check", None), day(10, 20))
        .await
        .unwrap();
    // Implementation has ended: a report now would rewrite what acceptance reads.
    let e = app
        .report_progress(m1, ms[0].id, 100, "补报", day(12, 2))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["no_progress_reports"]);
    let AppError::Refused(r) = &e else {
        panic!("{e:?}")
    };
    let said = r.reasons[0].message(&wf_now(app), "zh");
    assert!(said.contains("自查") && said.contains("实施"), "{said}");
    assert_eq!(
        done_on(app.milestones(p.id).await.unwrap()),
        chrono::NaiveDate::from_ymd_opt(2026, 6, 10)
    );

    // Self-check: form and a self-assessed score of 90/100.
    let v = app.project(p.id).await.unwrap().version;
    app.edit_form(
        sec,
        p.id,
        v,
        obj(json!({"self_check_report": "逐项对照完成", "goal_review": [
            {"goal": "摸底调研", "result": "achieved", "evidence": "调研报告"},
            {"goal": "车位建设", "result": "achieved", "evidence": "新增车位210个"},
            {"goal": "机制运行", "result": "partly", "evidence": "共享机制试运行"}
        ]})),
        day(10, 21),
    )
    .await
    .unwrap();
    let e = app
        .take_action(sec, p.id, act("submit_self_check", None), day(10, 22))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["score_missing"]);
    let wf = app.registry.current("secretary_project").unwrap().workflow;
    let sheet = |part: &str, share: f64| -> Map<String, Value> {
        wf.part(part)
            .unwrap()
            .criteria
            .iter()
            .map(|c| (c.id.to_string(), json!(*c.max.get() * share)))
            .collect()
    };
    // A reviewer may not file the self-check; the secretary may not score the upper review.
    assert!(matches!(
        app.submit_score(
            r1,
            p.id,
            "self_check",
            &sheet("self_check", 0.9),
            None,
            day(10, 23)
        )
        .await
        .unwrap_err(),
        AppError::Forbidden(_)
    ));
    assert!(matches!(
        app.submit_score(
            sec,
            p.id,
            "upper_review",
            &sheet("upper_review", 0.9),
            None,
            day(10, 23)
        )
        .await
        .unwrap_err(),
        AppError::Forbidden(_)
    ));
    // Over the maximum is refused.
    assert!(matches!(
        app.submit_score(
            sec,
            p.id,
            "self_check",
            &sheet("self_check", 1.5),
            None,
            day(10, 23)
        )
        .await
        .unwrap_err(),
        AppError::Invalid(_)
    ));
    app.submit_score(
        sec,
        p.id,
        "self_check",
        &sheet("self_check", 0.9),
        Some("自评"),
        day(10, 24),
    )
    .await
    .unwrap();
    app.take_action(sec, p.id, act("submit_self_check", None), day(10, 25))
        .await
        .unwrap();

    // Upper review: four reviewers score 80, 90, 70 and 100; the trimmed mean drops 70 and 100.
    app.take_action(r1, p.id, act("start_upper_review", None), day(11, 1))
        .await
        .unwrap();
    // Only assigned reviewers score; the admin assigns them.
    let e = app
        .submit_score(
            r1,
            p.id,
            "upper_review",
            &sheet("upper_review", 0.8),
            None,
            day(11, 1),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Forbidden(_)), "{e:?}");
    for login in ["reviewer1", "reviewer2", "reviewer3", "reviewer4"] {
        app.assign_reviewer(w.user("admin"), p.id, w.user(login).user_id, day(11, 1))
            .await
            .unwrap();
    }
    let v = app.project(p.id).await.unwrap().version;
    app.edit_form(
        r1,
        p.id,
        v,
        obj(json!({"site_visit_date": "2026-11-02", "upper_review_opinion": "成效明显"})),
        day(11, 2),
    )
    .await
    .unwrap();
    for (login, share) in [
        ("reviewer1", 0.8),
        ("reviewer2", 0.9),
        ("reviewer3", 0.7),
        ("reviewer4", 1.0),
    ] {
        app.submit_score(
            w.user(login),
            p.id,
            "upper_review",
            &sheet("upper_review", share),
            None,
            day(11, 3),
        )
        .await
        .unwrap();
    }
    let e = app
        .submit_score(
            r1,
            p.id,
            "upper_review",
            &sheet("upper_review", 0.5),
            None,
            day(11, 3),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Invalid(_)), "a reviewer scores once");
    app.take_action(r1, p.id, act("finish_upper_review", None), day(11, 5))
        .await
        .unwrap();

    // Resident appraisal: 8 satisfied, 3 basically satisfied, 1 not satisfied.
    app.take_action(r1, p.id, act("open_appraisal", None), day(11, 6))
        .await
        .unwrap();
    let ratings: Vec<String> = wf
        .part("resident_appraisal")
        .unwrap()
        .ratings
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    let batch = app.issue_tokens(r1, p.id, 12, day(11, 7)).await.unwrap();
    assert!(app
        .appraise(
            &batch.codes[0],
            Some(p.id),
            "no_such_rating",
            None,
            day(11, 7)
        )
        .await
        .is_err());
    let mut codes_left = batch.codes.iter();
    for (k, n) in [(0usize, 8), (1, 3), (2, 1)] {
        for _ in 0..n {
            let code = codes_left.next().unwrap();
            app.appraise(code, Some(p.id), &ratings[k], Some("好"), day(11, 8))
                .await
                .unwrap();
        }
    }
    app.take_action(r1, p.id, act("close_appraisal", None), day(11, 20))
        .await
        .unwrap();

    // Closure by the admin only.
    let admin = w.user("admin");
    let e = app
        .take_action(r1, p.id, act("close_project", None), day(11, 24))
        .await
        .unwrap_err();
    assert!(codes(&e).contains(&"role_not_allowed"));
    let v = app.project(p.id).await.unwrap().version;
    app.edit_form(
        admin,
        p.id,
        v,
        obj(json!({"closure_opinion": "同意结题"})),
        day(11, 24),
    )
    .await
    .unwrap();
    let done = app
        .take_action(admin, p.id, act("close_project", None), day(11, 25))
        .await
        .unwrap();
    assert_eq!(done.to, "closed");

    // By hand: self 90 * 20% = 18; upper mean(80, 90) = 85 * 50% = 42.5;
    // residents (8*100 + 3*70 + 1*0) / 12 = 84.17 * 30% = 25.25; subtotal 85.75;
    // one milestone late: -2 -> 83.75, grade "good" (80-90).
    let p = app.project(p.id).await.unwrap();
    assert_eq!(p.final_score, Some(83.75), "{:?}", p.score_detail);
    assert_eq!(p.grade.as_deref(), Some("good"));
    let e = app
        .take_action(admin, p.id, act("terminate", Some("x")), day(11, 26))
        .await
        .unwrap_err();
    assert_eq!(codes(&e), ["project_closed"]);

    // The audit log holds every change, chained and intact.
    let history = app.history(p.id).await.unwrap();
    assert_eq!(history.len() as i64, p.audit_seq);
    assert!(history
        .iter()
        .any(|h| h.action == "close_project" && h.to_stage.as_deref() == Some("closed")));
    let report = audit::verify(&app.db.read).await.unwrap();
    assert_eq!(report.broken, None);
    let mails = outbox::Entity::find()
        .filter(outbox::Column::ProjectId.eq(p.id))
        .count(&app.db.read)
        .await
        .unwrap();
    assert!(mails > 10, "notifications were queued: {mails}");
}

#[tokio::test]
async fn two_concurrent_actions_on_one_version_one_wins() {
    let t = env().await;
    let app = t.app.clone();
    let w = world(
        &app,
        1,
        &[
            ("reviewer1", "reviewer", 0),
            ("reviewer2", "reviewer", 0),
            ("secretary1", "secretary", 1),
            ("member1", "member", 1),
        ],
    )
    .await;
    let mut form = application();
    form.insert(
        "team".into(),
        json!([{"user": "secretary1", "duty": "牵头"}]),
    );
    form.insert(
        "milestones".into(),
        json!([{"title": "a", "owner": "member1", "due": "2026-06-30"}]),
    );
    let wf = app.registry.current("secretary_project").unwrap().workflow;
    form.insert(
        "theme".into(),
        json!(wf.field("theme").unwrap().options[0].id.as_str()),
    );
    let sec = w.user("secretary1");
    let p = app
        .create_project(
            sec,
            NewProject {
                definition: "secretary_project".into(),
                title: "并发".into(),
                year: 2026,
                organisation_id: None,
                form,
            },
            day(2, 1),
        )
        .await
        .unwrap();
    let p = app
        .take_action(sec, p.id, act("submit", None), day(2, 2))
        .await
        .unwrap()
        .project;
    let before = app.history(p.id).await.unwrap().len();
    let (a, b) = (w.user("reviewer1").clone(), w.user("reviewer2").clone());
    let (app1, app2) = (app.clone(), app.clone());
    let v = p.version;
    let x = tokio::spawn(async move {
        app1.take_action(
            &a,
            p.id,
            ActionInput {
                action: "approve".into(),
                comment: None,
                expected_version: Some(v),
            },
            day(2, 3),
        )
        .await
    });
    let y = tokio::spawn(async move {
        app2.take_action(
            &b,
            p.id,
            ActionInput {
                action: "reject".into(),
                comment: Some("不予立项".into()),
                expected_version: Some(v),
            },
            day(2, 3),
        )
        .await
    });
    let results = [x.await.unwrap(), y.await.unwrap()];
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(AppError::Conflict { .. })))
        .count();
    assert_eq!((ok, conflicts), (1, 1), "{results:?}");
    assert_eq!(
        app.history(p.id).await.unwrap().len(),
        before + 1,
        "exactly one change recorded"
    );
}

fn wf_now(
    app: &secretary_projects::app::App,
) -> std::sync::Arc<secretary_projects::workflow::Workflow> {
    app.registry.current("secretary_project").unwrap().workflow
}
