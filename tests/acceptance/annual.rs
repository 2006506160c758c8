//! The annual review (述职评议) of a year on a real database: six subdistricts, projects of
//! every outcome driven through the real use cases (closed with every grade: excellent, good,
//! pass and fail; terminated; rejected; withdrawn; still under way), one of them promoted from the
//! topic pool, items entered by reviewers and derived from residents' appraisals. Every
//! total, rank, tie, star, consequence and figure is compared with the figures worked out by
//! hand below; then the year is frozen, a change is refused, it is unfrozen with a reason, and
//! the change moves it.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, Set};
use secretary_projects::app::review::YearReview;
use secretary_projects::app::{App, AppError};
use secretary_projects::scoring::annual::Tally;
use secretary_projects::store::entity::project;

use super::common::{day, env, world, World};
use super::{
    act, approved, codes, file_self_check, obj, review_appraise_close, submitted,
    to_self_check_from,
};
use serde_json::json;

const USERS: &[(&str, &str, usize)] = &[
    ("admin", "admin", 0),
    ("reviewer1", "reviewer", 0),
    ("reviewer2", "reviewer", 0),
    ("reviewer3", "reviewer", 0),
    ("secretary1", "secretary", 1),
    ("member1", "member", 1),
    ("localreviewer", "reviewer", 1),
    ("secretary2", "secretary", 2),
    ("member2", "member", 2),
    ("secretary3", "secretary", 3),
    ("member3", "member", 3),
    ("secretary4", "secretary", 4),
    ("member4", "member", 4),
    ("secretary5", "secretary", 5),
    ("secretary6", "secretary", 6),
    ("member6", "member", 6),
];

const KEY: &str = "secretary_project";

/// Login, total, rank, stars and consequences of one line.
type Standing = (String, Option<f64>, Option<u32>, Option<u8>, Vec<String>);

/// Approved, every milestone done (the `late` ones five days after their due day, the rest
/// five days before), and taken to the self-check with a self score of `share`.
async fn self_checked(
    app: &App,
    w: &World,
    sub: usize,
    title: &str,
    late: &[usize],
    share: f64,
    from_topic: bool,
) -> i64 {
    let id = to_self_check_from(app, w, sub, title, late, from_topic).await;
    file_self_check(app, w.user(&format!("secretary{sub}")), id, share).await;
    id
}

fn row<'a>(r: &'a YearReview, login: &str) -> &'a secretary_projects::app::review::ReviewRow {
    r.rows
        .iter()
        .find(|x| x.person.login == login)
        .unwrap_or_else(|| panic!("{login} is not in the review"))
}

fn item(r: &YearReview, login: &str, id: &str) -> (Option<f64>, Option<f64>) {
    let l = &row(r, login).line;
    let i = l.items.iter().find(|i| i.item == id).unwrap();
    (i.score, i.weighted)
}

fn org<'a>(r: &'a YearReview, name: &str) -> &'a secretary_projects::scoring::figures::Figures {
    &r.figures
        .by_organisation
        .iter()
        .find(|o| o.organisation == name)
        .unwrap_or_else(|| panic!("no figures of {name}"))
        .figures
}

fn err_codes(e: &AppError) -> Vec<&'static str> {
    codes(e)
}

#[tokio::test]
async fn the_year_reviewed_ranked_frozen_and_explained() {
    let t = env().await;
    let app = &t.app;
    let w = world(app, 6, USERS).await;
    let admin = w.user("admin");
    let now: DateTime<Utc> = day(12, 1);

    // --- The year, as the use cases make it -----------------------------------------------
    // A (subdistrict 1): self 90 -> 18, reviewers 80/90/100 -> trimmed 90 -> 45, 10 satisfied
    // -> 30: 93, excellent.
    let a = self_checked(app, &w, 1, "甲", &[], 0.9, false).await;
    let pa = review_appraise_close(
        app,
        &w,
        a,
        &[("reviewer1", 0.8), ("reviewer2", 0.9), ("reviewer3", 1.0)],
        [10, 0, 0],
        &[],
    )
    .await;
    assert_eq!(
        (pa.final_score, pa.grade.as_deref()),
        (Some(93.0), Some("excellent"))
    );
    // B (subdistrict 1): approved, then terminated.
    let b = approved(app, &w, 1, "乙", false).await;
    app.take_action(
        admin,
        b,
        act("terminate", Some("条件变化，终止")),
        day(6, 1),
    )
    .await
    .unwrap();
    // C (subdistrict 2): self 80 -> 16; reviewers 60/70/75 -> trimmed 70 -> 35; residents
    // (5 x 100 + 4 x 70 + 3 x 0) / 12 = 65 -> 19.5; subtotal 70.5; milestone 2 late -2:
    // 68.5, pass.
    let c = self_checked(app, &w, 2, "丙", &[1], 0.8, false).await;
    let pc = review_appraise_close(
        app,
        &w,
        c,
        &[("reviewer1", 0.6), ("reviewer2", 0.7), ("reviewer3", 0.75)],
        [5, 4, 3],
        &[],
    )
    .await;
    assert_eq!(
        (pc.final_score, pc.grade.as_deref()),
        (Some(68.5), Some("pass"))
    );
    // D (subdistrict 2): rejected.
    let d = submitted(app, &w, 2, "丁", false).await;
    app.take_action(
        w.user("reviewer1"),
        d,
        act("reject", Some("不符合要求")),
        day(3, 1),
    )
    .await
    .unwrap();
    // E (subdistrict 3), promoted from the topic pool: 93 as A; it solves its topic.
    let e = self_checked(app, &w, 3, "戊", &[], 0.9, true).await;
    let pe = review_appraise_close(
        app,
        &w,
        e,
        &[("reviewer1", 0.8), ("reviewer2", 0.9), ("reviewer3", 1.0)],
        [10, 0, 0],
        &[],
    )
    .await;
    assert_eq!(pe.final_score, Some(93.0));
    // F (subdistrict 3): approved, still under way, no milestone done.
    let f = approved(app, &w, 3, "己", false).await;
    // G (subdistrict 3): applied, then withdrawn.
    let g = submitted(app, &w, 3, "庚", false).await;
    app.take_action(
        w.user("secretary3"),
        g,
        act("withdraw", Some("另行申报")),
        day(2, 25),
    )
    .await
    .unwrap();
    // H (subdistrict 4): self 50 -> 10; reviewers all 50 -> 25; 10 not satisfied -> 0: 35,
    // fail.
    let h = self_checked(app, &w, 4, "辛", &[], 0.5, false).await;
    let ph = review_appraise_close(
        app,
        &w,
        h,
        &[("reviewer1", 0.5), ("reviewer2", 0.5), ("reviewer3", 0.5)],
        [0, 0, 10],
        &[],
    )
    .await;
    assert_eq!(
        (ph.final_score, ph.grade.as_deref()),
        (Some(35.0), Some("fail"))
    );
    // I (subdistrict 6): self 85 -> 17; reviewers 80/85/90 -> trimmed 85 -> 42.5; 10 satisfied
    // -> 30: 89.5, good.
    let i = self_checked(app, &w, 6, "壬", &[], 0.85, false).await;
    let pi = review_appraise_close(
        app,
        &w,
        i,
        &[("reviewer1", 0.8), ("reviewer2", 0.85), ("reviewer3", 0.9)],
        [10, 0, 0],
        &[],
    )
    .await;
    assert_eq!(
        (pi.final_score, pi.grade.as_deref()),
        (Some(89.5), Some("good"))
    );
    // Subdistrict 5's secretary has no project.

    // The year before: one finished project of subdistrict 1 (the change is measured from it).
    let mut last = project::ActiveModel::from(app.project(a).await.unwrap());
    last.id = sea_orm::ActiveValue::NotSet;
    last.year = Set(2025);
    last.final_score = Set(Some(80.0));
    last.insert(&app.db.write).await.unwrap();

    // --- Items entered, and what is refused -------------------------------------------------
    let sec = |n: usize| w.user(&format!("secretary{n}")).user_id;
    let enter = |who: &'static str, n: usize, score: f64, comment: &'static str| {
        let who = w.user(who).clone();
        let subject = sec(n);
        async move {
            app.enter_review_item(
                &who,
                KEY,
                2026,
                subject,
                "party_building_report",
                score,
                comment,
                now,
            )
            .await
        }
    };
    for (n, score) in [(1, 81.0), (2, 50.0), (3, 80.0), (4, 50.0), (6, 60.0)] {
        enter("reviewer2", n, score, "述职材料齐全").await.unwrap();
    }
    // A correction replaces the score; both entries stay in the history.
    enter("reviewer1", 3, 70.0, "初评").await.unwrap();
    let corrected = enter("admin", 3, 80.0, "复核后调整").await.unwrap();
    assert_eq!(
        (corrected.score, corrected.entered_by),
        (80.0, admin.user_id)
    );
    let refusals = [
        (
            enter("localreviewer", 1, 90.0, "本单位").await,
            "own_organisation",
        ),
        (enter("member1", 2, 90.0, "x").await, "role_not_allowed"),
        (enter("secretary2", 1, 90.0, "x").await, "role_not_allowed"),
        (enter("reviewer1", 1, 90.0, "   ").await, "comment_required"),
    ];
    for (r, code) in refusals {
        assert_eq!(err_codes(&r.unwrap_err()), [code]);
    }
    let over = enter("reviewer1", 1, 120.0, "x").await.unwrap_err();
    assert!(
        matches!(&over, AppError::Invalid(m) if m.contains("0 to 100")),
        "{over:?}"
    );
    let derived = app
        .enter_review_item(
            w.user("reviewer1"),
            KEY,
            2026,
            sec(1),
            "resident_satisfaction",
            90.0,
            "x",
            now,
        )
        .await
        .unwrap_err();
    assert_eq!(err_codes(&derived), ["item_not_entered"]);
    let not_reviewed = app
        .enter_review_item(
            w.user("reviewer1"),
            KEY,
            2026,
            w.user("member1").user_id,
            "party_building_report",
            90.0,
            "x",
            now,
        )
        .await
        .unwrap_err();
    assert_eq!(err_codes(&not_reviewed), ["not_reviewed"]);

    // --- The review, by hand -----------------------------------------------------------------
    let r = app.annual_review(admin, KEY, 2026, now).await.unwrap();
    assert_eq!(r.rows.len(), 6, "the six secretaries");
    // secretary1: mean(93, terminated 0) = 46.5 x 60% = 27.9; 81 x 20% = 16.2;
    // satisfaction 100 x 20% = 20: 64.1, two stars.
    let s1 = &row(&r, "secretary1").line;
    assert_eq!(
        s1.projects,
        Tally {
            closed: 1,
            closed_sum: 93.0,
            closed_best: Some(93.0),
            terminated: 1,
            ..Tally::default()
        }
    );
    assert_eq!(
        (s1.project_part, s1.project_weighted),
        (Some(46.5), Some(27.9))
    );
    assert_eq!(
        item(&r, "secretary1", "party_building_report"),
        (Some(81.0), Some(16.2))
    );
    assert_eq!(
        item(&r, "secretary1", "resident_satisfaction"),
        (Some(100.0), Some(20.0))
    );
    // secretary2: 68.5 (the rejected one left out) x 60% = 41.1; 50 -> 10; 65 -> 13: 64.1,
    // the same as secretary1: both second, and the next is fourth.
    let s2 = &row(&r, "secretary2").line;
    assert_eq!((s2.project_part, s2.projects.rejected), (Some(68.5), 1));
    assert_eq!(
        item(&r, "secretary2", "resident_satisfaction"),
        (Some(65.0), Some(13.0))
    );
    // secretary3: 93 (running and withdrawn left out) -> 55.8; 80 -> 16; 100 -> 20: 91.8.
    let s3 = &row(&r, "secretary3").line;
    assert_eq!(
        (s3.project_part, s3.projects.running, s3.projects.withdrawn),
        (Some(93.0), 1, 1)
    );
    // secretary4: 35 -> 21; 50 -> 10; 0 -> 0: 31, one star.
    let totals: Vec<Standing> = r
        .rows
        .iter()
        .map(|x| {
            (
                x.person.login.clone(),
                x.line.total,
                x.line.rank,
                x.line.stars,
                x.line.consequences.clone(),
            )
        })
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        totals,
        [
            (
                "secretary3".to_string(),
                Some(91.8),
                Some(1),
                Some(5),
                s(&["commendation"])
            ),
            // 89.5 x 60% = 53.7; 60 -> 12; 100 -> 20: 85.7, four stars.
            (
                "secretary6".to_string(),
                Some(85.7),
                Some(2),
                Some(4),
                s(&["commendation"])
            ),
            // Tied at the third rank: both are within the top three.
            (
                "secretary1".to_string(),
                Some(64.1),
                Some(3),
                Some(2),
                s(&["commendation"])
            ),
            (
                "secretary2".to_string(),
                Some(64.1),
                Some(3),
                Some(2),
                s(&["commendation"])
            ),
            (
                "secretary4".to_string(),
                Some(31.0),
                Some(5),
                Some(1),
                s(&["talk"])
            ),
            ("secretary5".to_string(), None, None, None, s(&[])),
        ]
    );
    assert_eq!(
        row(&r, "secretary5").line.missing,
        ["projects", "party_building_report", "resident_satisfaction"]
    );
    assert_eq!(row(&r, "secretary1").person.organisation, "第1街道");

    // --- The year in figures, by hand --------------------------------------------------------
    let tot = &r.figures.total;
    // Applied: all nine; approved: A B C E F H I; finished A C E H I.
    assert_eq!(
        (
            tot.applied,
            tot.approved,
            tot.finished,
            tot.terminated,
            tot.rejected,
            tot.withdrawn,
            tot.running
        ),
        (9, 7, 5, 1, 1, 1, 1)
    );
    assert_eq!(tot.finish_rate, Some(71.43));
    // (93 + 68.5 + 93 + 35 + 89.5) / 5 = 75.8.
    assert_eq!(tot.average_score, Some(75.8));
    // 52 appraisals; satisfied or basically: 10 + 9 + 10 + 10 = 39.
    assert_eq!(
        (tot.appraisals, tot.satisfied, tot.satisfaction_rate),
        (52, 39, Some(75.0))
    );
    assert_eq!(tot.ratings.get("not_satisfied"), Some(&13));
    // Milestones of projects under way or finished: 18 due, 14 on time (C's second late,
    // F's three overdue); the terminated project's are not counted.
    assert_eq!(
        (
            tot.milestones_due,
            tot.milestones_on_time,
            tot.milestones_overdue
        ),
        (18, 14, 3)
    );
    assert_eq!(tot.on_time_rate, Some(77.78));
    assert_eq!(tot.problems_solved, 1);
    let o1 = org(&r, "第1街道");
    assert_eq!(
        (
            o1.applied,
            o1.approved,
            o1.finished,
            o1.finish_rate,
            o1.average_score
        ),
        (2, 2, 1, Some(50.0), Some(93.0))
    );
    let o2 = org(&r, "第2街道");
    assert_eq!(
        (o2.satisfaction_rate, o2.on_time_rate, o2.finish_rate),
        (Some(75.0), Some(66.67), Some(100.0))
    );
    let o3 = org(&r, "第3街道");
    assert_eq!(
        (
            o3.applied,
            o3.approved,
            o3.problems_solved,
            o3.milestones_overdue
        ),
        (3, 2, 1, 3)
    );
    let o4 = org(&r, "第4街道");
    assert_eq!(
        (o4.satisfaction_rate, o4.average_score),
        (Some(0.0), Some(35.0))
    );
    let o6 = org(&r, "第6街道");
    assert_eq!(
        (o6.finished, o6.average_score, o6.satisfaction_rate),
        (1, Some(89.5), Some(100.0))
    );
    let o5 = org(&r, "第5街道");
    assert_eq!(
        (o5.applied, o5.finish_rate, o5.satisfaction_rate),
        (0, None, None)
    );
    // Against the year before: subdistrict 1 finished one project then too.
    assert_eq!(
        (
            r.figures.previous_total.finished,
            r.figures.previous_total.average_score
        ),
        (1, Some(80.0))
    );
    let prev1 = r
        .figures
        .by_organisation
        .iter()
        .find(|o| o.organisation == "第1街道")
        .unwrap();
    assert_eq!(prev1.previous.as_ref().map(|p| p.finished), Some(1));
    assert!(r
        .figures
        .by_organisation
        .iter()
        .find(|o| o.organisation == "第2街道")
        .unwrap()
        .previous
        .is_none());
    let by_stage = &r.figures.by_stage;
    assert_eq!((by_stage["closed"], by_stage["implementation"]), (5, 1));

    // --- Explained down to each project and entry ---------------------------------------------
    let x = app
        .explain_review(admin, KEY, 2026, sec(1), now)
        .await
        .unwrap();
    let counted: Vec<(i64, Option<f64>)> = x
        .projects
        .iter()
        .map(|p| (p.project.id, p.counted))
        .collect();
    assert_eq!(counted, [(a, Some(93.0)), (b, Some(0.0))]);
    assert_eq!(x.entries.len(), 1);
    assert_eq!(
        (
            x.entries[0].entered_by_name.as_str(),
            x.entries[0].comment.as_str()
        ),
        ("用户reviewer2", "述职材料齐全")
    );
    let x3 = app
        .explain_review(admin, KEY, 2026, sec(3), now)
        .await
        .unwrap();
    let history: Vec<(&str, Option<f64>, &str)> = x3
        .history
        .iter()
        .map(|h| (h.actor.as_str(), h.score, h.comment.as_str()))
        .collect();
    assert_eq!(
        history,
        [
            ("用户reviewer2", Some(80.0), "述职材料齐全"),
            ("用户reviewer1", Some(70.0), "初评"),
            ("用户admin", Some(80.0), "复核后调整")
        ]
    );

    // --- A secretary's view: the ranking, their own entries and figures -----------------------
    let mine = app
        .annual_review(w.user("secretary1"), KEY, 2026, now)
        .await
        .unwrap();
    assert_eq!(mine.rows.len(), 6);
    assert!(mine.entries.iter().all(|e| e.user_id == sec(1)) && !mine.entries.is_empty());
    assert_eq!(mine.figures.by_organisation.len(), 1);
    assert_eq!(mine.figures.total, r.figures.total);
    let other = app
        .explain_review(w.user("secretary1"), KEY, 2026, sec(2), now)
        .await
        .unwrap_err();
    assert_eq!(err_codes(&other), ["out_of_scope"]);
    let nope = app
        .review_history(w.user("secretary1"), KEY, 2026)
        .await
        .unwrap_err();
    assert_eq!(err_codes(&nope), ["out_of_scope"]);

    // --- Freeze: nothing moves it, and the attempts say so ------------------------------------
    let by_reviewer = app
        .freeze_review(w.user("reviewer1"), KEY, 2026, "", now)
        .await
        .unwrap_err();
    assert_eq!(err_codes(&by_reviewer), ["role_not_allowed"]);
    let frozen = app
        .freeze_review(admin, KEY, 2026, "区委组织部审定", now)
        .await
        .unwrap();
    assert_eq!(
        frozen.frozen.as_ref().map(|f| f.comment.as_str()),
        Some("区委组织部审定")
    );
    let again = app
        .freeze_review(admin, KEY, 2026, "", now)
        .await
        .unwrap_err();
    assert_eq!(err_codes(&again), ["review_frozen"]);
    let stop = app
        .take_action(admin, f, act("terminate", Some("终止")), day(12, 2))
        .await
        .unwrap_err();
    assert_eq!(err_codes(&stop), ["review_frozen"]);
    let text = match &stop {
        AppError::Refused(r) => r.reasons[0].describe(None, "zh"),
        other => panic!("{other:?}"),
    };
    assert!(
        text.contains("2026年度述职评议") && text.contains("锁定"),
        "{text}"
    );
    let late = enter("reviewer1", 1, 99.0, "补录").await.unwrap_err();
    assert_eq!(err_codes(&late), ["review_frozen"]);
    let v = app.project(f).await.unwrap().version;
    let edit = app
        .edit_form(w.user("secretary3"), f, v, obj(json!({})), day(12, 2))
        .await
        .unwrap_err();
    assert_eq!(err_codes(&edit), ["review_frozen"]);
    // A change that reaches the database all the same (here, by hand) does not move it.
    let mut p = project::ActiveModel::from(app.project(h).await.unwrap());
    p.final_score = Set(Some(99.0));
    p.update(&app.db.write).await.unwrap();
    let still = app
        .annual_review(admin, KEY, 2026, day(12, 3))
        .await
        .unwrap();
    assert_eq!(still.rows, r.rows, "the frozen review is the snapshot");
    assert_eq!(still.figures, r.figures);
    let frozen_projects = app
        .review_projects(admin, KEY, 2026, Some(sec(4)))
        .await
        .unwrap();
    assert_eq!(frozen_projects[0].project.final_score, Some(35.0));
    // The live figures do move.
    let live = app.year_figures(admin, KEY, 2026, now).await.unwrap();
    assert_eq!(live.total.average_score, Some(88.6));

    // --- Unfreeze needs a reason, and is kept in the history --------------------------------
    let bare = app
        .unfreeze_review(admin, KEY, 2026, " ", now)
        .await
        .unwrap_err();
    assert_eq!(err_codes(&bare), ["comment_required"]);
    app.unfreeze_review(admin, KEY, 2026, "项目己情况有变，重新评议", day(12, 4))
        .await
        .unwrap();
    let twice = app
        .unfreeze_review(admin, KEY, 2026, "再次", now)
        .await
        .unwrap_err();
    assert_eq!(err_codes(&twice), ["review_not_frozen"]);
    let h = app.review_history(admin, KEY, 2026).await.unwrap();
    let actions: Vec<(&str, &str)> = h
        .iter()
        .map(|e| (e.action.as_str(), e.comment.as_str()))
        .collect();
    assert_eq!(
        &actions[actions.len() - 2..],
        [
            ("freeze", "区委组织部审定"),
            ("unfreeze", "项目己情况有变，重新评议")
        ]
    );
    // Now the change is taken, and the review moves: secretary3's running project is
    // terminated, 0 counted: mean(93, 0) = 46.5 -> 27.9 + 16 + 20 = 63.9.
    app.take_action(admin, f, act("terminate", Some("终止")), day(12, 5))
        .await
        .unwrap();
    let moved = app
        .annual_review(admin, KEY, 2026, day(12, 5))
        .await
        .unwrap();
    assert_eq!(row(&moved, "secretary3").line.total, Some(63.9));
    assert!(moved.frozen.is_none());
}

/// The same over HTTP, on the demo district: who may read, enter, freeze and export, and what
/// each refusal says.
#[tokio::test]
async fn the_review_over_http() {
    use super::common::http::{call, login, set_passwords, start};
    let t = env().await;
    let app = &t.app;
    let wf = app.registry.current(KEY).unwrap().workflow;
    secretary_projects::demo::load_with_password(app, &wf, Utc::now(), None)
        .await
        .unwrap();
    set_passwords(app).await;
    let (addr, server) = start(app).await;
    let year = chrono::Datelike::year(&Utc::now().with_timezone(&wf.timezone));
    let base = format!("/api/v1/reviews/{KEY}/{year}");
    let sec = login(addr, "secretary1").await;
    let rev = login(addr, "reviewer1").await;
    let adm = login(addr, "admin").await;

    assert_eq!(call(addr, "GET", &base, None, &[], None).await.status, 401);
    let mine = call(addr, "GET", &base, Some(&sec), &[], None).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let rows = mine.body["rows"].as_array().unwrap();
    assert!(rows.len() >= 2, "{}", mine.text);
    assert_eq!(
        mine.body["figures"]["by_organisation"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let other = rows
        .iter()
        .find(|r| r["person"]["login"] != "secretary1")
        .unwrap();
    let uid = other["person"]["user_id"].as_i64().unwrap();
    let item = format!("{base}/people/{uid}/items/party_building_report");
    let body = json!({"score": 91.5, "comment": "材料完整"}).to_string();
    let by_secretary = call(addr, "PUT", &item, Some(&sec), &[], Some(&body)).await;
    assert_eq!(by_secretary.status, 403, "{}", by_secretary.text);
    assert_eq!(by_secretary.body["reasons"][0]["code"], "role_not_allowed");
    let entered = call(addr, "PUT", &item, Some(&rev), &[], Some(&body)).await;
    assert_eq!(entered.status, 200, "{}", entered.text);
    assert_eq!(entered.body["score"], 91.5);
    let wrong = call(
        addr,
        "PUT",
        &item,
        Some(&rev),
        &[],
        Some(r#"{"score": "x", "comment": "c"}"#),
    )
    .await;
    assert!(matches!(wrong.status, 400 | 422), "{}", wrong.text);
    let old = call(
        addr,
        "GET",
        &format!("/api/v1/reviews/{KEY}/1999"),
        Some(&adm),
        &[],
        None,
    )
    .await;
    assert_eq!(old.status, 422, "{}", old.text);
    assert!(old.text.contains("1999"));
    let nobody = call(
        addr,
        "GET",
        &format!("/api/v1/reviews/no_such/{year}"),
        Some(&adm),
        &[],
        None,
    )
    .await;
    assert_eq!(nobody.status, 404);
    let explained = call(
        addr,
        "GET",
        &format!("{base}/people/{uid}"),
        Some(&adm),
        &[],
        None,
    )
    .await;
    assert_eq!(explained.status, 200);
    assert_eq!(explained.body["entries"][0]["comment"], "材料完整");

    let frozen = call(
        addr,
        "POST",
        &format!("{base}/freeze"),
        Some(&adm),
        &[],
        Some(r#"{"comment": "审定"}"#),
    )
    .await;
    assert_eq!(frozen.status, 200, "{}", frozen.text);
    assert_eq!(frozen.body["frozen"]["comment"], "审定");
    let late = call(
        addr,
        "PUT",
        &item,
        Some(&rev),
        &[("Accept-Language", "en")],
        Some(&body),
    )
    .await;
    assert_eq!(late.status, 422, "{}", late.text);
    assert_eq!(late.body["reasons"][0]["code"], "review_frozen");
    assert!(late.text.contains("frozen"), "{}", late.text);
    let bare = call(
        addr,
        "POST",
        &format!("{base}/unfreeze"),
        Some(&adm),
        &[],
        Some(r#"{"reason": " "}"#),
    )
    .await;
    assert_eq!(bare.status, 422, "{}", bare.text);
    let history = call(
        addr,
        "GET",
        &format!("{base}/history"),
        Some(&sec),
        &[],
        None,
    )
    .await;
    assert_eq!(history.status, 403);

    let xlsx = call(
        addr,
        "GET",
        &format!("{base}/export?format=xlsx"),
        Some(&adm),
        &[],
        None,
    )
    .await;
    assert_eq!(xlsx.status, 200);
    assert!(
        xlsx.headers.contains("spreadsheetml")
            && xlsx
                .headers
                .contains("attachment; filename=\"secretary_project-"),
        "{}",
        xlsx.headers
    );
    assert!(xlsx.text.starts_with("PK"));
    let csv = call(
        addr,
        "GET",
        &format!("{base}/export?format=csv"),
        Some(&sec),
        &[],
        None,
    )
    .await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers.contains("text/csv"));
    assert!(
        csv.text.starts_with('\u{feff}') && csv.text.contains("排名"),
        "{}",
        &csv.text[..40.min(csv.text.len())]
    );
    let pdf = call(
        addr,
        "GET",
        &format!("{base}/export?format=pdf"),
        Some(&adm),
        &[],
        None,
    )
    .await;
    assert_eq!(pdf.status, 400);
    assert!(pdf.text.contains("xlsx") && pdf.text.contains("csv"));
    let unfrozen = call(
        addr,
        "POST",
        &format!("{base}/unfreeze"),
        Some(&adm),
        &[],
        Some(r#"{"reason": "复核"}"#),
    )
    .await;
    assert_eq!(unfrozen.status, 204);
    server.stop().await;
}
