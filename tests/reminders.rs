//! Deadline reminders and escalations on a moved clock: the planner runs hour by hour through
//! the summer of a project of the default definition, and the outbox holds exactly the mails
//! each role should get, once. Catching up after downtime, repeated runs and dry runs.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{env, world, TestEnv, World};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use secretary_projects::app::projects::{ActionInput, NewProject};
use secretary_projects::schedule::run_reminders;
use secretary_projects::store::entity::{outbox, project_deadline, user};
use serde_json::json;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn at(m: u32, d: u32, h: u32) -> DateTime<Utc> {
    TZ.with_ymd_and_hms(2026, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn approved_project() -> (TestEnv, World, i64) {
    project_approved("2026-06-30", at(2, 1, 9)).await
}

/// A project of the default definition with one milestone due on `due`, submitted on
/// February 1st and approved at `approved`.
async fn project_approved(due: &str, approved: DateTime<Utc>) -> (TestEnv, World, i64) {
    let t = env().await;
    let w = world(
        &t.app,
        1,
        &[
            ("admin", "admin", 0),
            ("reviewer1", "reviewer", 0),
            ("secretary1", "secretary", 1),
            ("member1", "member", 1),
        ],
    )
    .await;
    let wf = t
        .app
        .registry
        .current("secretary_project")
        .unwrap()
        .workflow;
    let theme = wf.field("theme").unwrap().options[0].id.to_string();
    let form = json!({
        "title": "停车难", "theme": theme, "problem": "p", "feasibility": "f", "goals": "g",
        "measures": "m", "schedule": "s", "team": [{"user": "secretary1"}],
        "milestones": [{"title": "建成停车场", "owner": "member1", "due": due}]
    });
    let t0 = at(2, 1, 9);
    let p = t
        .app
        .create_project(
            w.user("secretary1"),
            NewProject {
                definition: "secretary_project".into(),
                title: "停车难".into(),
                year: 2026,
                organisation_id: None,
                form: form.as_object().unwrap().clone(),
            },
            t0,
        )
        .await
        .unwrap();
    for (who, action, when) in [
        ("secretary1", "submit", t0),
        ("reviewer1", "approve", approved),
    ] {
        t.app
            .take_action(
                w.user(who),
                p.id,
                ActionInput {
                    action: action.into(),
                    comment: Some("ok".into()),
                    expected_version: None,
                },
                when,
            )
            .await
            .unwrap();
    }
    (t, w, p.id)
}

/// (template, recipient login, due instant) of the reminder mails, in order.
async fn reminder_mails(t: &TestEnv) -> Vec<(String, String, DateTime<Utc>)> {
    let users: std::collections::HashMap<i64, String> = user::Entity::find()
        .all(&t.app.db.read)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.login))
        .collect();
    outbox::Entity::find()
        .filter(outbox::Column::UniqueKey.not_like("event:%"))
        .order_by_asc(outbox::Column::DueAt)
        .order_by_asc(outbox::Column::RecipientUserId)
        .all(&t.app.db.read)
        .await
        .unwrap()
        .into_iter()
        .map(|o| {
            (
                o.template,
                users[&o.recipient_user_id.unwrap()].clone(),
                o.due_at,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_summer_of_milestone_reminders_hour_by_hour() {
    let (t, _w, pid) = approved_project().await;
    let due = project_deadline::Entity::find()
        .filter(project_deadline::Column::ProjectId.eq(pid))
        .filter(project_deadline::Column::DeadlineKey.eq("milestones"))
        .one(&t.app.db.read)
        .await
        .unwrap()
        .expect("approval opened the milestone deadline")
        .due_at
        .unwrap();
    // The milestone is due at the end of June 30th, Beijing time.
    assert_eq!(
        due.with_timezone(&TZ).date_naive().to_string(),
        "2026-06-30"
    );

    let mut now = at(6, 1, 0);
    run_reminders(&t.app, now, Some(now - Duration::hours(1)), TZ, false)
        .await
        .unwrap();
    while now < at(7, 10, 0) {
        now += Duration::hours(1);
        run_reminders(&t.app, now, None, TZ, false).await.unwrap();
    }
    let mails: Vec<(String, String, DateTime<Utc>)> = reminder_mails(&t)
        .await
        .into_iter()
        .filter(|m| m.0.starts_with("milestone_"))
        .collect();
    let expect =
        |template: &str, who: &str, at: DateTime<Utc>| (template.to_string(), who.to_string(), at);
    assert_eq!(
        mails,
        vec![
            // 7, 3 and 1 days before: the secretary (role) and the milestone's owner.
            expect("milestone_reminder", "secretary1", due - Duration::days(7)),
            expect("milestone_reminder", "member1", due - Duration::days(7)),
            expect("milestone_reminder", "secretary1", due - Duration::days(3)),
            expect("milestone_reminder", "member1", due - Duration::days(3)),
            expect("milestone_reminder", "secretary1", due - Duration::days(1)),
            expect("milestone_reminder", "member1", due - Duration::days(1)),
            // Two days overdue: the district (reviewer and admin).
            expect("milestone_overdue", "admin", due + Duration::days(2)),
            expect("milestone_overdue", "reviewer1", due + Duration::days(2)),
        ],
        "{mails:#?}"
    );
    // The mid-term evaluation deadline (July 15th) is not opened: no mail about it.
    assert!(reminder_mails(&t)
        .await
        .iter()
        .all(|m| !m.0.starts_with("deadline_") || m.2 < at(7, 10, 0)));
}

/// A milestone already more than its `escalate_after` overdue when implementation starts (the
/// project was approved late) is escalated once, at the first run after, never again.
#[tokio::test]
async fn a_deadline_opened_past_its_escalation_is_escalated_once() {
    let approved = at(6, 1, 9) + Duration::minutes(30);
    let (t, _w, _pid) = project_approved("2026-04-15", approved).await;
    let mut now = at(6, 1, 9);
    run_reminders(&t.app, now, Some(now - Duration::hours(1)), TZ, false)
        .await
        .unwrap();
    while now < at(6, 8, 0) {
        now += Duration::hours(1);
        run_reminders(&t.app, now, None, TZ, false).await.unwrap();
    }
    let overdue: Vec<(String, String, DateTime<Utc>)> = reminder_mails(&t)
        .await
        .into_iter()
        .filter(|m| m.0.starts_with("milestone_"))
        .collect();
    assert_eq!(
        overdue,
        vec![
            (
                "milestone_overdue".to_string(),
                "admin".to_string(),
                approved
            ),
            (
                "milestone_overdue".to_string(),
                "reviewer1".to_string(),
                approved
            ),
        ],
        "{overdue:#?}"
    );
}

#[tokio::test]
async fn repeated_runs_queue_nothing_twice_and_dry_runs_write_nothing() {
    let (t, _w, _pid) = approved_project().await;
    let since = at(6, 20, 0);
    let now = at(6, 28, 12);
    let dry = run_reminders(&t.app, now, Some(since), TZ, true)
        .await
        .unwrap();
    assert!(!dry.is_empty());
    assert!(dry.iter().all(|q| q.new));
    assert_eq!(
        outbox::Entity::find()
            .filter(outbox::Column::UniqueKey.not_like("event:%"))
            .count(&t.app.db.read)
            .await
            .unwrap(),
        0,
        "a dry run writes nothing"
    );
    let first = run_reminders(&t.app, now, Some(since), TZ, false)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|q| &q.unique_key).collect::<Vec<_>>(),
        dry.iter().map(|q| &q.unique_key).collect::<Vec<_>>(),
        "the dry run said what the real one did"
    );
    // Down from June 20th to June 28th: the 7-day reminder was missed; only the latest
    // reminder (3 days before) goes out, late, once per recipient.
    let milestone: Vec<_> = first
        .iter()
        .filter(|q| q.template == "milestone_reminder")
        .collect();
    assert_eq!(milestone.len(), 2, "{first:#?}");
    assert!(milestone.iter().all(|q| q.kind == "before-259200s"));
    let count = || async {
        outbox::Entity::find()
            .filter(outbox::Column::UniqueKey.not_like("event:%"))
            .count(&t.app.db.read)
            .await
            .unwrap()
    };
    let queued = count().await;
    // The same window again: everything is already queued.
    let again = run_reminders(&t.app, now, Some(since), TZ, false)
        .await
        .unwrap();
    assert!(again.iter().all(|q| !q.new));
    assert_eq!(count().await, queued);
    // The next run starts where this one ended.
    let next = run_reminders(&t.app, now + Duration::minutes(1), None, TZ, false)
        .await
        .unwrap();
    assert!(next.is_empty(), "{next:#?}");
}

/// The definition's schedules: the monthly progress request per running project (1st of the
/// month, 09:00 Beijing time) and the weekly dispatch digest (Mondays, 09:00) for the district.
#[tokio::test]
async fn monthly_requests_and_weekly_digests() {
    use secretary_projects::schedule::periodic::run_schedules;
    let (t, _w, pid) = approved_project().await;
    // June 30th 00:00 to July 1st 10:00: the monthly request; no Monday in between.
    let first = run_schedules(&t.app, at(7, 1, 10), Some(at(6, 30, 0)), TZ, false)
        .await
        .unwrap();
    let mut got: Vec<(String, String, DateTime<Utc>)> = first
        .iter()
        .map(|q| (q.template.clone(), q.recipient_login.clone(), q.at))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "progress_report_request".into(),
                "member1".into(),
                at(7, 1, 9)
            ),
            (
                "progress_report_request".into(),
                "secretary1".into(),
                at(7, 1, 9)
            ),
        ]
    );
    assert!(first.iter().all(|q| q.project_id == pid));
    // Through Monday July 6th: one digest to each district reviewer and admin, listing it.
    let digest = run_schedules(&t.app, at(7, 6, 12), None, TZ, false)
        .await
        .unwrap();
    let mut to: Vec<(&str, &str)> = digest
        .iter()
        .map(|q| (q.template.as_str(), q.recipient_login.as_str()))
        .collect();
    to.sort();
    assert_eq!(
        to,
        vec![
            ("dispatch_digest", "admin"),
            ("dispatch_digest", "reviewer1")
        ]
    );
    let row = outbox::Entity::find()
        .filter(outbox::Column::Template.eq("dispatch_digest"))
        .one(&t.app.db.read)
        .await
        .unwrap()
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
    assert_eq!(payload["projects"][0]["title"], "停车难");
    assert_eq!(payload["projects"][0]["stage"], "实施");
    // Rendered, the digest lists the project.
    let wf = t
        .app
        .registry
        .current("secretary_project")
        .unwrap()
        .workflow;
    let mail = secretary_projects::notify::Mailer::new()
        .render(
            &wf,
            "dispatch_digest",
            "zh",
            &payload,
            "管理员",
            "https://sp.test",
        )
        .unwrap();
    assert!(
        mail.text
            .contains("- 停车难（实施，完成 0%，逾期节点 1 个，滞后节点 1 个）"),
        "{}",
        mail.text
    );
    assert_eq!(payload["projects"][0]["overdue"], 1);
    // The same week again queues nothing new.
    let again = run_schedules(&t.app, at(7, 6, 12), Some(at(7, 6, 0)), TZ, false)
        .await
        .unwrap();
    assert!(!again.is_empty() && again.iter().all(|q| !q.new));
}

/// Window notices reach every secretary of the district, with or without a project; a run
/// after downtime catches up once, a repeated run queues nothing twice, a dry run writes
/// nothing, and the notice reads well.
#[tokio::test]
async fn window_notices_reach_everyone_concerned_once() {
    use secretary_projects::schedule::windows::run_windows;
    let t = env().await;
    let _w = world(
        &t.app,
        2,
        &[
            ("admin", "admin", 0),
            ("reviewer1", "reviewer", 0),
            ("secretary1", "secretary", 1),
            ("member1", "member", 1),
            ("secretary2", "secretary", 2),
        ],
    )
    .await;
    // Down from January 15th to March 26th: the opening notice (February 1st) and the
    // closing notice (7 days before March 31st) come out late, once each.
    let (since, now) = (at(1, 15, 9), at(3, 26, 9));
    let dry = run_windows(&t.app, now, Some(since), TZ, true)
        .await
        .unwrap();
    let mut got: Vec<(String, String)> = dry
        .iter()
        .map(|q| (q.template.clone(), q.recipient_login.clone()))
        .collect();
    got.sort();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        got,
        vec![
            pair("window_closing", "secretary1"),
            pair("window_closing", "secretary2"),
            pair("window_opened", "secretary1"),
            pair("window_opened", "secretary2"),
        ]
    );
    assert_eq!(
        outbox::Entity::find().count(&t.app.db.read).await.unwrap(),
        0,
        "a dry run writes nothing"
    );
    let first = run_windows(&t.app, now, Some(since), TZ, false)
        .await
        .unwrap();
    assert!(first.iter().all(|q| q.new) && first.len() == 4);
    let again = run_windows(&t.app, now, Some(since), TZ, false)
        .await
        .unwrap();
    assert!(again.iter().all(|q| !q.new), "{again:#?}");
    assert_eq!(
        outbox::Entity::find().count(&t.app.db.read).await.unwrap(),
        4
    );
    // The next run starts where this one ended: nothing until the self-check window.
    assert!(run_windows(&t.app, at(10, 31, 9), None, TZ, false)
        .await
        .unwrap()
        .is_empty());
    // Rendered in the recipient's language: the window, its days and the link.
    let row = outbox::Entity::find()
        .filter(outbox::Column::Template.eq("window_opened"))
        .one(&t.app.db.read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.project_id, None);
    let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
    let wf = t
        .app
        .registry
        .current("secretary_project")
        .unwrap()
        .workflow;
    let mail = secretary_projects::notify::Mailer::new()
        .render(
            &wf,
            "window_opened",
            "zh",
            &payload,
            "书记",
            "https://sp.test",
        )
        .unwrap();
    assert_eq!(
        mail.subject,
        "【窗口开启】立项申请窗口：2026-02-01 至 2026-03-31 23:59"
    );
    assert!(
        mail.text.contains("https://sp.test/projects"),
        "{}",
        mail.text
    );
}
