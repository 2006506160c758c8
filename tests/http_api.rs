//! The JSON API through a real server on 127.0.0.1:0, spoken to over TCP.

mod common;

use common::http::{call, login, set_passwords, start};
use common::{env, world};
use serde_json::{json, Value};

fn application(theme: &str) -> Value {
    json!({
        "title": "停车难", "theme": theme, "problem": "p", "feasibility": "f", "goals": "g",
        "measures": "m", "schedule": "s", "team": [{"user": "secretary1"}],
        "milestones": [{"title": "a", "owner": "member1", "due": "2026-06-30"}]
    })
}

/// The first theme the default definition offers.
fn first_theme(app: &secretary_projects::app::App) -> String {
    app.registry
        .current("secretary_project")
        .unwrap()
        .workflow
        .field("theme")
        .unwrap()
        .options[0]
        .id
        .to_string()
}

#[tokio::test]
async fn the_api_end_to_end() {
    let t = env().await;
    let w = world(
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
    set_passwords(&t.app).await;
    let (addr, server) = start(&t.app).await;

    // Health, unknown paths, no session.
    assert_eq!(
        call(addr, "GET", "/healthz", None, &[], None).await.status,
        200
    );
    let r = call(addr, "GET", "/nope", None, &[], None).await;
    assert_eq!(r.status, 404);
    assert!(r.headers.contains("application/problem+json"));
    let r = call(addr, "GET", "/api/v1/me", None, &[], None).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body["type"],
        "urn:secretary-projects:problem:unauthorized"
    );
    assert!(r.headers.contains("x-request-id"), "{}", r.headers);

    // Wrong password, in English when asked.
    let r = call(
        addr,
        "POST",
        "/api/v1/login",
        None,
        &[("Accept-Language", "en-US,en;q=0.9")],
        Some(r#"{"login":"secretary1","password":"wrong"}"#),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["title"], "Not signed in, or wrong login or password");
    // Bad bodies.
    let r = call(addr, "POST", "/api/v1/login", None, &[], Some("{not json")).await;
    assert_eq!(
        (r.status, r.body["type"].as_str()),
        (400, Some("urn:secretary-projects:problem:bad_json"))
    );
    let r = call(
        addr,
        "POST",
        "/api/v1/login",
        None,
        &[],
        Some(r#"{"login":"x","password":"y","extra":1}"#),
    )
    .await;
    assert_eq!(r.status, 422, "unknown fields are refused: {}", r.body);
    let r = call(
        addr,
        "POST",
        "/api/v1/login",
        None,
        &[("Content-Type", "text/plain")],
        Some("hi"),
    )
    .await;
    assert_eq!(r.status, 415);

    let sec = login(addr, "secretary1").await;
    let rev = login(addr, "reviewer1").await;
    let sec2 = login(addr, "secretary2").await;
    let r = call(addr, "GET", "/api/v1/me", Some(&sec), &[], None).await;
    assert_eq!(
        (r.status, r.body["login"].as_str()),
        (200, Some("secretary1"))
    );

    let defs = call(addr, "GET", "/api/v1/definitions", Some(&sec), &[], None).await;
    assert_eq!(defs.status, 200);
    let theme = {
        let wf = t
            .app
            .registry
            .current("secretary_project")
            .unwrap()
            .workflow;
        wf.field("theme").unwrap().options[0].id.to_string()
    };

    // Create: a reviewer holds no role that drafts; the secretary does.
    let create = json!({"definition": "secretary_project", "title": "停车难", "year": 2026, "form": application(&theme)}).to_string();
    let r = call(
        addr,
        "POST",
        "/api/v1/projects",
        Some(&rev),
        &[],
        Some(&create),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call(
        addr,
        "POST",
        "/api/v1/projects",
        Some(&sec),
        &[],
        Some(&create),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/projects/{id}");

    // Reading: own subdistrict and district yes, another subdistrict no; bad ids are 400.
    assert_eq!(
        call(addr, "GET", &path, Some(&sec), &[], None).await.status,
        200
    );
    assert_eq!(
        call(addr, "GET", &path, Some(&rev), &[], None).await.status,
        200
    );
    assert_eq!(
        call(addr, "GET", &path, Some(&sec2), &[], None)
            .await
            .status,
        403
    );
    assert_eq!(
        call(addr, "GET", "/api/v1/projects/abc", Some(&sec), &[], None)
            .await
            .status,
        400
    );
    assert_eq!(
        call(
            addr,
            "GET",
            "/api/v1/projects/999999",
            Some(&sec),
            &[],
            None
        )
        .await
        .status,
        404
    );

    // Lists are scoped.
    let r = call(
        addr,
        "GET",
        "/api/v1/projects?year=2026",
        Some(&sec2),
        &[],
        None,
    )
    .await;
    assert_eq!((r.status, r.body["total"].as_u64()), (200, Some(0)));
    let r = call(
        addr,
        "GET",
        "/api/v1/projects?year=2026&limit=10",
        Some(&rev),
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["total"].as_u64(), Some(1));
    assert_eq!(
        call(
            addr,
            "GET",
            "/api/v1/projects?limit=0",
            Some(&rev),
            &[],
            None
        )
        .await
        .status,
        400
    );
    assert_eq!(
        call(
            addr,
            "GET",
            "/api/v1/projects?year=abc",
            Some(&rev),
            &[],
            None
        )
        .await
        .status,
        400
    );

    // Actions: what may I do; stale version 409; approve; a return without comment 422.
    let r = call(
        addr,
        "GET",
        &format!("{path}/actions"),
        Some(&sec),
        &[],
        None,
    )
    .await;
    assert!(
        r.body["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "submit" && a["allowed"] == true),
        "{}",
        r.body
    );
    let r = call(
        addr,
        "POST",
        &format!("{path}/actions"),
        Some(&sec),
        &[],
        Some(r#"{"action":"submit","version":99}"#),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["current_version"], 1);
    let r = call(
        addr,
        "POST",
        &format!("{path}/actions"),
        Some(&sec),
        &[],
        Some(r#"{"action":"submit","version":1}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["to"], "under_review");
    let r = call(
        addr,
        "POST",
        &format!("{path}/actions"),
        Some(&sec2),
        &[],
        Some(r#"{"action":"approve","version":2}"#),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        addr,
        "POST",
        &format!("{path}/actions"),
        Some(&rev),
        &[],
        Some(r#"{"action":"return_for_revision","version":2}"#),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["reasons"][0]["code"], "comment_required");
    assert!(
        r.body["detail"].as_str().unwrap().contains("意见"),
        "Chinese by default: {}",
        r.body
    );
    let r = call(
        addr,
        "POST",
        &format!("{path}/actions"),
        Some(&rev),
        &[],
        Some(r#"{"action":"approve","version":2,"comment":"同意"}"#),
    )
    .await;
    assert_eq!(
        (r.status, r.body["to"].as_str()),
        (200, Some("implementation"))
    );

    // Form edits in implementation; a stale version conflicts; bad values are 422 per field.
    let r = call(
        addr,
        "PATCH",
        &format!("{path}/form"),
        Some(&sec),
        &[],
        Some(r#"{"version":3,"form":{"progress_summary":"进展顺利"}}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        addr,
        "PATCH",
        &format!("{path}/form"),
        Some(&sec),
        &[],
        Some(r#"{"version":3,"form":{"progress_summary":"x"}}"#),
    )
    .await;
    assert_eq!(r.status, 409);
    let r = call(
        addr,
        "PATCH",
        &format!("{path}/form"),
        Some(&sec),
        &[],
        Some(r#"{"version":4,"form":{"nonsense":"x"}}"#),
    )
    .await;
    assert_eq!(
        (r.status, r.body["fields"][0]["field"].as_str()),
        (422, Some("nonsense"))
    );

    // History shows every change, in order.
    let r = call(
        addr,
        "GET",
        &format!("{path}/history"),
        Some(&rev),
        &[],
        None,
    )
    .await;
    let actions: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "submit", "approve", "edit"]);

    // Oversized bodies are refused.
    let big = format!(
        r#"{{"version":4,"form":{{"progress_summary":"{}"}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let r = call(
        addr,
        "PATCH",
        &format!("{path}/form"),
        Some(&sec),
        &[],
        Some(&big),
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.body);

    // Logout ends the session.
    assert_eq!(
        call(addr, "POST", "/api/v1/logout", Some(&sec), &[], None)
            .await
            .status,
        204
    );
    assert_eq!(
        call(addr, "GET", "/api/v1/me", Some(&sec), &[], None)
            .await
            .status,
        401
    );

    // Login attempts are limited per login.
    let mut last = 0;
    for _ in 0..12 {
        last = call(
            addr,
            "POST",
            "/api/v1/login",
            None,
            &[],
            Some(r#"{"login":"member1","password":"wrong"}"#),
        )
        .await
        .status;
    }
    assert_eq!(last, 429);
    // Padding or capitals do not make a fresh key: the right password is refused too.
    for padded in [" member1", "member1 ", "MEMBER1", "\tMember1"] {
        let r = common::http::try_login(addr, padded, common::http::PASSWORD).await;
        assert_eq!(r.status, 429, "{padded:?}: {}", r.body);
        assert!(r.headers.contains("retry-after:"), "{}", r.headers);
    }
    // An over-long login is refused before it is counted.
    let long = "a".repeat(1024 * 1024 - 100);
    let r = common::http::try_login(addr, &long, "wrong").await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = common::http::try_login(addr, "a\u{7}b", "wrong").await;
    assert_eq!(r.status, 422, "{}", r.body);

    // Wrong current passwords on PATCH /me are limited like logins.
    let rev = login(addr, "reviewer1").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            call(
                addr,
                "PATCH",
                "/api/v1/me",
                Some(&rev),
                &[],
                Some(r#"{"current_password":"wrong","new_password":"whatever1"}"#),
            )
            .await
            .status,
        );
    }
    assert_eq!(statuses[0], 422, "{statuses:?}");
    assert_eq!(statuses[11], 429, "{statuses:?}");

    server.stop().await;
    drop(w);
}

/// A login is one name however it is typed: created, stored, looked up, kept unique and rate
/// limited in one canonical form (trimmed, lower case), through the API, the CLI's use case and
/// sign-in alike.
#[tokio::test]
async fn a_login_is_one_name_however_typed() {
    let t = env().await;
    let w = world(&t.app, 1, &[("admin", "admin", 0)]).await;
    set_passwords(&t.app).await;
    let (addr, server) = start(&t.app).await;
    let admin = login(addr, "admin").await;
    let org = w.subdistricts[0].id;
    let add = |login: &str| {
        json!({"login": login, "name": "王丽", "email": "wl@test.invalid",
               "organisation_id": org, "roles": ["member"], "password": "secret12"})
        .to_string()
    };
    let r = call(
        addr,
        "POST",
        "/api/v1/users",
        Some(&admin),
        &[],
        Some(&add(" Wang.Li ")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["login"], "wang.li", "{}", r.body);
    // The same name in other case or padding is taken.
    for again in ["WANG.LI", "wang.li", "\tWang.li"] {
        let r = call(
            addr,
            "POST",
            "/api/v1/users",
            Some(&admin),
            &[],
            Some(&add(again)),
        )
        .await;
        assert_eq!(r.status, 422, "{again:?}: {}", r.body);
        assert!(
            r.body["detail"].as_str().unwrap().contains("wang.li"),
            "{}",
            r.body
        );
    }
    // Characters a keyboard may not have are refused at creation, naming the rule.
    let r = call(
        addr,
        "POST",
        "/api/v1/users",
        Some(&admin),
        &[],
        Some(&add("王丽")),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    // Any spelling signs in.
    for typed in ["wang.li", "Wang.Li", "  WANG.LI"] {
        let r = common::http::try_login(addr, typed, "secret12").await;
        assert_eq!(r.status, 200, "{typed:?}: {}", r.body);
    }
    // The password use case (the CLI's `user passwd`) finds the account however typed.
    t.app
        .set_password(" WANG.li", "secret34", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        common::http::try_login(addr, "wang.li", "secret34")
            .await
            .status,
        200
    );
    server.stop().await;
}

/// A flood of sign-ins does not take every core: password hashes run on the blocking pool, at
/// most one per core at once, and every attempt still gets its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_hashing_is_bounded() {
    let t = env().await;
    world(&t.app, 1, &[("admin", "admin", 0)]).await;
    set_passwords(&t.app).await;
    let (addr, server) = start(&t.app).await;
    let tries: Vec<_> = (0..24)
        .map(|k| {
            tokio::spawn(async move {
                common::http::try_login(addr, &format!("nobody{k}"), "wrong")
                    .await
                    .status
            })
        })
        .collect();
    for t in tries {
        assert_eq!(t.await.unwrap(), 401);
    }
    let peak = secretary_projects::app::accounts::hashing_peak();
    let permits = secretary_projects::app::accounts::hashing_permits();
    assert!(
        peak >= 1 && peak <= permits,
        "peak {peak}, permits {permits}"
    );
    server.stop().await;
}

/// Two clients take actions on the same project version at the same moment: exactly one wins,
/// the other gets 409, and the history holds one change. Repeated over several rounds, with
/// different actions racing (approve against return_for_revision), so that the race is real.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_actions_on_one_version() {
    let t = env().await;
    world(
        &t.app,
        1,
        &[
            ("reviewer1", "reviewer", 0),
            ("reviewer2", "reviewer", 0),
            ("secretary1", "secretary", 1),
            ("member1", "member", 1),
        ],
    )
    .await;
    set_passwords(&t.app).await;
    let (addr, server) = start(&t.app).await;
    let sec = login(addr, "secretary1").await;
    let r1 = login(addr, "reviewer1").await;
    let r2 = login(addr, "reviewer2").await;
    let theme = first_theme(&t.app);
    for round in 0..5 {
        let body = json!({"definition": "secretary_project", "title": format!("并发{round}"),
            "year": 2026, "form": application(&theme)})
        .to_string();
        let created = call(
            addr,
            "POST",
            "/api/v1/projects",
            Some(&sec),
            &[],
            Some(&body),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let path = format!("/api/v1/projects/{}", created.body["id"]);
        let v = created.body["version"].as_i64().unwrap();
        let submit = json!({"action": "submit", "version": v}).to_string();
        let r = call(
            addr,
            "POST",
            &format!("{path}/actions"),
            Some(&sec),
            &[],
            Some(&submit),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.body["project"]["version"].as_i64().unwrap();
        let before = call(
            addr,
            "GET",
            &format!("{path}/history"),
            Some(&r1),
            &[],
            None,
        )
        .await;
        let events_before = before.body["items"].as_array().unwrap().len();

        let approve = json!({"action": "approve", "version": v, "comment": "同意"}).to_string();
        let back =
            json!({"action": "return_for_revision", "version": v, "comment": "请补充"}).to_string();
        let actions = format!("{path}/actions");
        let (a, b) = tokio::join!(
            call(addr, "POST", &actions, Some(&r1), &[], Some(&approve)),
            call(addr, "POST", &actions, Some(&r2), &[], Some(&back)),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 409],
            "round {round}: {} / {}",
            a.body,
            b.body
        );
        let loser = if a.status == 409 { &a } else { &b };
        assert_eq!(
            loser.body["type"], "urn:secretary-projects:problem:conflict",
            "{}",
            loser.body
        );
        assert_eq!(loser.body["expected_version"], v);
        let winner = if a.status == 200 { &a } else { &b };
        let after = call(
            addr,
            "GET",
            &format!("{path}/history"),
            Some(&r1),
            &[],
            None,
        )
        .await;
        let items = after.body["items"].as_array().unwrap();
        assert_eq!(items.len(), events_before + 1, "round {round}: one change");
        assert_eq!(
            items.last().unwrap()["to_stage"],
            winner.body["to"],
            "the history holds the winner's change"
        );
        let now = call(addr, "GET", &path, Some(&r1), &[], None).await;
        assert_eq!(now.body["version"].as_i64(), Some(v + 1));
    }
    server.stop().await;
}

/// Reading a project never shows a stale state: not after an edit or an action through the
/// API, and not after a change made by another connection behind the server's back (as
/// another process would make it). On SQLite answers are kept in memory while nothing is
/// committed (`app::project_cache`); this is the test that they never outlive a commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_project_is_never_stale() {
    let t = env().await;
    world(
        &t.app,
        2,
        &[
            ("reviewer1", "reviewer", 0),
            ("secretary1", "secretary", 1),
            ("member1", "member", 1),
            ("secretary2", "secretary", 2),
        ],
    )
    .await;
    set_passwords(&t.app).await;
    let (addr, server) = start(&t.app).await;
    let sec = login(addr, "secretary1").await;
    let rev = login(addr, "reviewer1").await;
    let theme = first_theme(&t.app);
    let body = json!({"definition": "secretary_project", "title": "缓存",
        "year": 2026, "form": application(&theme)})
    .to_string();
    let created = call(
        addr,
        "POST",
        "/api/v1/projects",
        Some(&sec),
        &[],
        Some(&body),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/projects/{id}");
    let read = |who: String| {
        let path = path.clone();
        async move {
            let r = call(addr, "GET", &path, Some(&who), &[], None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.header("content-type"), Some("application/json"));
            r.body
        }
    };
    let first = read(sec.clone()).await;
    assert_eq!(first, read(rev.clone()).await, "the same answer twice");
    assert_eq!(first["title"], "缓存");
    assert_eq!(first["version"], 1);

    // An action through the API.
    let r = call(
        addr,
        "POST",
        &format!("{path}/actions"),
        Some(&sec),
        &[],
        Some(r#"{"action":"submit","version":1}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = read(rev.clone()).await;
    assert_eq!(
        (after["stage"].as_str(), after["version"].as_i64()),
        (Some("under_review"), Some(2))
    );

    // A change by another connection, which the server hears nothing about.
    let other = sea_orm::Database::connect(t.url.as_str()).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &other,
        &format!("UPDATE projects SET title = '改过的标题', version = version + 1 WHERE id = {id}"),
    )
    .await
    .unwrap();
    let after = read(sec.clone()).await;
    assert_eq!(
        (after["title"].as_str(), after["version"].as_i64()),
        (Some("改过的标题"), Some(3))
    );
    // And a change elsewhere in the database leaves the answer as it is.
    sea_orm::ConnectionTrait::execute_unprepared(
        &other,
        "UPDATE users SET name = name || '' WHERE id > 0",
    )
    .await
    .unwrap();
    assert_eq!(read(sec.clone()).await, after);
    other.close().await.unwrap();

    // Out of scope stays out of scope when the answer is kept: another subdistrict's
    // secretary is refused right after the project was read.
    let sec2 = login(addr, "secretary2").await;
    let r = call(addr, "GET", &path, Some(&sec2), &[], None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    server.stop().await;
}

/// A bad entry of a list field is explained wholly in the caller's language, down to the
/// check that needs the database (an owner who is no user).
#[tokio::test]
async fn a_bad_list_entry_is_explained_in_the_callers_language() {
    let t = env().await;
    world(&t.app, 1, &[("secretary1", "secretary", 1)]).await;
    set_passwords(&t.app).await;
    let (addr, server) = start(&t.app).await;
    let sec = login(addr, "secretary1").await;
    let theme = first_theme(&t.app);
    let mut form = application(&theme);
    form["milestones"][0]["owner"] = json!("nobody");
    let body = json!({"definition": "secretary_project", "title": "语言",
        "year": 2026, "form": form})
    .to_string();
    let zh = call(
        addr,
        "POST",
        "/api/v1/projects",
        Some(&sec),
        &[],
        Some(&body),
    )
    .await;
    assert_eq!(zh.status, 422, "{}", zh.body);
    assert_eq!(
        zh.body["fields"][0]["message"], "“milestones”第1项：没有登录名为“nobody”的用户",
        "{}",
        zh.body
    );
    let en = call(
        addr,
        "POST",
        "/api/v1/projects",
        Some(&sec),
        &[("Accept-Language", "en")],
        Some(&body),
    )
    .await;
    assert_eq!(en.status, 422, "{}", en.body);
    assert_eq!(
        en.body["fields"][0]["message"], "`milestones` entry 1: there is no user `nobody`",
        "{}",
        en.body
    );
    server.stop().await;
}

/// Every `propertyNames` schema in the document, with where it is.
fn property_names(v: &Value, at: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            if let Some(p) = m.get("propertyNames") {
                out.push((at.to_string(), p.clone()));
            }
            for (k, x) in m {
                property_names(x, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                property_names(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The OpenAPI document says what the server answers: errors as application/problem+json, the
/// common errors (400, 401, 413, 415, 422, 429, 503) on the operations they apply to, JSON keys
/// as strings, the ranges the server enforces.
#[tokio::test]
async fn the_openapi_document_matches_the_answers() {
    let t = env().await;
    let (addr, server) = start(&t.app).await;
    let r = call(addr, "GET", "/api/v1/openapi.json", None, &[], None).await;
    assert_eq!(r.status, 200);
    let doc: Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(
        doc,
        serde_json::to_value(secretary_projects::http::openapi()).unwrap()
    );
    let mut problems = Vec::new();
    // Required texts the server refuses when empty say so (schemathesis then checks that the
    // empty text is refused).
    for (schema, props) in [
        ("LoginBody", &["login", "password"][..]),
        ("CreateBody", &["definition", "title"]),
        ("ActionBody", &["action"]),
        ("NewUserBody", &["login", "name", "email"]),
        ("NewTopicBody", &["title", "source"]),
        ("AppraisalBody", &["token", "rating"]),
    ] {
        for prop in props {
            let got = &doc["components"]["schemas"][schema]["properties"][prop]["minLength"];
            if got != 1 {
                problems.push(format!("{schema}.{prop}: minLength {got}"));
            }
        }
    }
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let at = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().unwrap();
            for (status, resp) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let types: Vec<&String> = resp["content"]
                        .as_object()
                        .map(|c| c.keys().collect())
                        .unwrap_or_default();
                    if types != ["application/problem+json"] {
                        problems.push(format!("{at} {status}: content types {types:?}"));
                    }
                }
            }
            let public = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            let mut wanted = vec!["400", "414", "503"];
            if !public {
                wanted.push("401");
            }
            if op.get("requestBody").is_some() {
                wanted.extend(["413", "415", "422"]);
            }
            // The rate-limited operations: logging in and a resident's appraisal.
            if path == "/api/v1/login" || path.ends_with("/appraisals") {
                wanted.push("429");
            }
            for status in wanted {
                if !responses.contains_key(status) {
                    problems.push(format!("{at} does not declare {status}"));
                }
            }
        }
    }
    assert!(operations > 40, "{operations} operations");
    let mut names = Vec::new();
    property_names(&doc, "", &mut names);
    for (at, schema) in names {
        if schema["type"] != "string" {
            problems.push(format!("{at}: property names of type {}", schema["type"]));
        }
    }
    let count = &doc["components"]["schemas"]["IssueBody"]["properties"]["count"];
    if count["minimum"] != 1 || count["maximum"] != 2000 {
        problems.push(format!("IssueBody.count: {count}"));
    }
    let param = |path: &str, name: &str| -> Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .map(|p| p["schema"].clone())
            .unwrap_or(Value::Null)
    };
    for (path, name, min, max) in [
        ("/api/v1/projects", "limit", 1, 500),
        ("/api/v1/projects", "year", 2000, 2100),
        ("/api/v1/dispatch", "year", 2000, 2100),
    ] {
        let s = param(path, name);
        if s["minimum"] != min || s["maximum"] != max {
            problems.push(format!("{path} {name}: {s}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    server.stop().await;
}
