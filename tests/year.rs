//! A whole year of the default definition (`workflows/secretary_project.yaml`) on a moved
//! clock. Two projects of one subdistrict go through the year by the real use cases (create,
//! submit, approve, report progress, mid-term evaluation, self-check; a second application is
//! left to lapse and then withdrawn), a second subdistrict's secretary has no project at all,
//! and every day at 09:00:30 Beijing time the three planners run as the server's scheduler
//! would (deadline reminders and escalations, periodic schedules, window notices). At the end
//! the outbox must hold exactly the mails written out below: template, recipient and the
//! instant each was due, nothing more, nothing twice.

mod common;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use common::{env, world};
use sea_orm::EntityTrait;
use secretary_projects::app::projects::{ActionInput, NewProject};
use secretary_projects::schedule::periodic::run_schedules;
use secretary_projects::schedule::run_reminders;
use secretary_projects::schedule::windows::run_windows;
use secretary_projects::store::entity::{milestone, outbox, user};
use serde_json::json;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// Beijing wall time in 2026.
fn bj(m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    TZ.with_ymd_and_hms(2026, m, d, h, min, s)
        .unwrap()
        .with_timezone(&Utc)
}

/// The end of a day (23:59:59), when date deadlines and milestones fall due.
fn eod(m: u32, d: u32) -> DateTime<Utc> {
    bj(m, d, 23, 59, 59)
}

/// Actions are taken at 10:00, after that day's planner run.
fn ten(m: u32, d: u32) -> DateTime<Utc> {
    bj(m, d, 10, 0, 0)
}

fn act(action: &str) -> ActionInput {
    ActionInput {
        action: action.into(),
        comment: Some("同意".into()),
        expected_version: None,
    }
}

type Mail = (DateTime<Utc>, String, String);

fn show(m: &Mail) -> String {
    format!(
        "{} {:<24} {}",
        m.0.with_timezone(&TZ).format("%m-%d %H:%M:%S"),
        m.1,
        m.2
    )
}

#[tokio::test]
async fn a_year_of_the_default_definition_sends_exactly_the_expected_mails() {
    let t = env().await;
    let app = &t.app;
    let w = world(
        app,
        2,
        &[
            ("admin", "admin", 0),
            ("reviewer1", "reviewer", 0),
            ("reviewer2", "reviewer", 0),
            ("secretary1", "secretary", 1),
            ("member1", "member", 1),
            ("secretary2", "secretary", 2),
        ],
    )
    .await;
    let theme = {
        let wf = app.registry.current("secretary_project").unwrap().workflow;
        wf.field("theme").unwrap().options[0].id.to_string()
    };
    let form = json!({
        "title": "破解老旧小区停车难", "theme": theme, "problem": "车位不足", "feasibility": "有闲置地块",
        "goals": "新增车位200个", "measures": "错时共享", "schedule": "3月启动，10月完成",
        "team": [{"user": "secretary1", "duty": "总牵头"}, {"user": "member1", "duty": "具体推进"}],
        "milestones": [
            {"title": "摸底调研", "owner": "member1", "due": "2026-05-31"},
            {"title": "车位建设", "owner": "member1", "due": "2026-08-31"}
        ]
    });
    let (sec, mem, rev) = (w.user("secretary1"), w.user("member1"), w.user("reviewer1"));

    let mut project_a = 0;
    let mut project_b = 0;
    let mut milestones: Vec<milestone::Model> = Vec::new();
    let mut since = bj(1, 1, 0, 0, 0);
    let mut day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    while day <= NaiveDate::from_ymd_opt(2026, 12, 31).unwrap() {
        let (m, d) = (day.month(), day.day());
        // The scheduler's run of the day.
        let now = bj(m, d, 9, 0, 30);
        run_reminders(app, now, Some(since), TZ, false)
            .await
            .unwrap();
        run_schedules(app, now, Some(since), TZ, false)
            .await
            .unwrap();
        run_windows(app, now, Some(since), TZ, false).await.unwrap();
        since = now;
        // The people's work of the day.
        match (m, d) {
            (2, 10) => {
                let p = app
                    .create_project(
                        sec,
                        NewProject {
                            definition: "secretary_project".into(),
                            title: "停车难".into(),
                            year: 2026,
                            organisation_id: None,
                            form: form.as_object().unwrap().clone(),
                        },
                        ten(2, 10),
                    )
                    .await
                    .unwrap();
                project_a = p.id;
            }
            (2, 20) => {
                app.take_action(sec, project_a, act("submit"), ten(2, 20))
                    .await
                    .unwrap();
            }
            (3, 5) => {
                app.take_action(rev, project_a, act("approve"), ten(3, 5))
                    .await
                    .unwrap();
                milestones = app.milestones(project_a).await.unwrap();
                assert_eq!(milestones.len(), 2);
            }
            (3, 10) => {
                // A second application, started and then left lying past the window.
                let p = app
                    .create_project(
                        sec,
                        NewProject {
                            definition: "secretary_project".into(),
                            title: "快递驿站".into(),
                            year: 2026,
                            organisation_id: None,
                            form: serde_json::Map::new(),
                        },
                        ten(3, 10),
                    )
                    .await
                    .unwrap();
                project_b = p.id;
            }
            (4, 10) => {
                app.take_action(sec, project_b, act("withdraw"), ten(4, 10))
                    .await
                    .unwrap();
            }
            (5, 30) => {
                app.report_progress(mem, milestones[0].id, 100, "调研完成", ten(5, 30))
                    .await
                    .unwrap();
            }
            (7, 1) => {
                app.take_action(rev, project_a, act("start_mid_term"), ten(7, 1))
                    .await
                    .unwrap();
            }
            (7, 10) => {
                let p = app.project(project_a).await.unwrap();
                let opinion = json!({"midterm_progress": 60, "midterm_opinion": "进度正常"});
                app.edit_form(
                    rev,
                    project_a,
                    p.version,
                    opinion.as_object().unwrap().clone(),
                    ten(7, 10),
                )
                .await
                .unwrap();
                app.take_action(rev, project_a, act("pass_mid_term"), ten(7, 10))
                    .await
                    .unwrap();
            }
            (9, 10) => {
                // Late: the second milestone was due on August 31st.
                app.report_progress(mem, milestones[1].id, 100, "建成", ten(9, 10))
                    .await
                    .unwrap();
            }
            (10, 15) => {
                // The self-check starts and is never filed.
                app.take_action(sec, project_a, act("start_self_check"), ten(10, 15))
                    .await
                    .unwrap();
            }
            _ => {}
        }
        day += Duration::days(1);
    }

    // What the outbox holds: (due instant, template, recipient).
    let logins: HashMap<i64, String> = user::Entity::find()
        .all(&app.db.read)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.login))
        .collect();
    let mut got: Vec<Mail> = outbox::Entity::find()
        .all(&app.db.read)
        .await
        .unwrap()
        .into_iter()
        .map(|o| {
            (
                o.due_at,
                o.template,
                logins[&o.recipient_user_id.unwrap()].clone(),
            )
        })
        .collect();
    got.sort();

    // What the year should bring, written out.
    let mut want: Vec<Mail> = Vec::new();
    let mut to = |at: DateTime<Utc>, template: &str, who: &[&str]| {
        for w in who {
            want.push((at, template.to_string(), w.to_string()));
        }
    };
    let district = ["admin", "reviewer1", "reviewer2"];
    let reviewers = ["reviewer1", "reviewer2"];
    let secretaries = ["secretary1", "secretary2"];
    let team = ["secretary1", "member1"];
    // Windows: every secretary hears of the application and self-check windows, with or
    // without a project; the district hears of the appraisal window.
    to(bj(2, 1, 0, 0, 0), "window_opened", &secretaries);
    to(eod(3, 24), "window_closing", &secretaries);
    to(bj(11, 1, 0, 0, 0), "window_opened", &secretaries);
    to(eod(11, 23), "window_closing", &secretaries);
    to(bj(12, 1, 0, 0, 0), "window_opened", &district);
    to(eod(12, 12), "window_closing", &district);
    // Project A: submitted, its approval review reminded 3 days before the 15 days end,
    // approved.
    to(ten(2, 20), "application_submitted", &reviewers);
    to(
        ten(2, 20) + Duration::days(12),
        "deadline_reminder",
        &reviewers,
    );
    to(ten(3, 5), "application_approved", &team);
    // Milestone 1 (due May 31st), done on May 30th: the 7- and 3-day reminders only.
    to(eod(5, 24), "milestone_reminder", &team);
    to(eod(5, 28), "milestone_reminder", &team);
    // Milestone 2 (due August 31st), done late: all three reminders and the escalation.
    to(eod(8, 24), "milestone_reminder", &team);
    to(eod(8, 28), "milestone_reminder", &team);
    to(eod(8, 30), "milestone_reminder", &team);
    to(eod(9, 2), "milestone_overdue", &district);
    // Mid-term evaluation (deadline July 15th): opened July 1st, reminded 7 days before,
    // passed July 10th.
    to(ten(7, 1), "midterm_started", &team);
    to(eod(7, 8), "deadline_reminder", &reviewers);
    to(ten(7, 10), "midterm_passed", &team);
    // Self-check (deadline November 30th): started, reminded 14, 7 and 1 days before, never
    // filed, escalated a day after.
    to(ten(10, 15), "self_check_started", &["member1"]);
    to(eod(11, 16), "deadline_reminder", &["secretary1"]);
    to(eod(11, 23), "deadline_reminder", &["secretary1"]);
    to(eod(11, 29), "deadline_reminder", &["secretary1"]);
    to(eod(12, 1), "deadline_overdue", &district);
    // Project B: its application window (March 31st) reminded 14, 7 and 1 days before,
    // escalated to the administrator, then withdrawn.
    to(eod(3, 17), "deadline_reminder", &["secretary1"]);
    to(eod(3, 24), "deadline_reminder", &["secretary1"]);
    to(eod(3, 30), "deadline_reminder", &["secretary1"]);
    to(eod(4, 1), "deadline_overdue", &["admin"]);
    to(ten(4, 10), "application_withdrawn", &reviewers);
    // 月更新: on the 1st at 09:00 while A is in implementation (March 5th to October 15th;
    // on July 1st the mid-term evaluation began an hour after the request).
    for month in 4..=10 {
        to(bj(month, 1, 9, 0, 0), "progress_report_request", &team);
    }
    // 周调度: every Monday at 09:00 from the first after A was submitted (February 23rd) to the
    // end of the year, to the district.
    let mut monday = NaiveDate::from_ymd_opt(2026, 2, 23).unwrap();
    assert_eq!(monday.weekday(), Weekday::Mon);
    while monday.year() == 2026 {
        let at = TZ
            .from_local_datetime(&monday.and_hms_opt(9, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc);
        to(at, "dispatch_digest", &district);
        monday += Duration::weeks(1);
    }
    want.sort();

    let missing: Vec<String> = want.iter().filter(|m| !got.contains(m)).map(show).collect();
    let extra: Vec<String> = got.iter().filter(|m| !want.contains(m)).map(show).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing:\n{}\n\nnot expected:\n{}",
        missing.join("\n"),
        extra.join("\n")
    );
    assert_eq!(got, want, "each mail exactly once");

    // Per recipient, the year in numbers (a readable summary of the list above).
    let count = |who: &str| got.iter().filter(|m| m.2 == who).count();
    assert_eq!(
        count("secretary2"),
        4,
        "no project: the window notices only"
    );
    // 45 digests, the appraisal window's two notices and three escalations.
    assert_eq!(count("admin"), 45 + 2 + 3);
}
