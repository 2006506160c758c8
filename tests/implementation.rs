//! The implementation phase through the HTTP API: the road map (timeline) with statuses derived
//! from the day asked about, milestone progress reports, guidance threads, the mid-term
//! evaluation of the default process, and the private iCalendar feed. A real server on
//! 127.0.0.1:0, on SQLite or (with `SP_TEST_POSTGRES`) PostgreSQL.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;

use chrono::NaiveDate;
use common::http::{call, login, multipart, set_passwords, start, Reply, Server};
use common::{env, world, TestEnv, World};
use icalendar::{Component, DatePerhapsTime};
use serde_json::{json, Value};

const USERS: &[(&str, &str, usize)] = &[
    ("admin", "admin", 0),
    ("reviewer1", "reviewer", 0),
    ("secretary1", "secretary", 1),
    ("member1", "member", 1),
    ("secretary2", "secretary", 2),
];

struct Site {
    t: TestEnv,
    w: World,
    addr: SocketAddr,
    server: Server,
    tokens: HashMap<String, String>,
}

async fn site() -> Site {
    let t = env().await;
    let w = world(&t.app, 2, USERS).await;
    set_passwords(&t.app).await;
    let (addr, server) = start(&t.app).await;
    let mut tokens = HashMap::new();
    for (who, _, _) in USERS {
        tokens.insert(who.to_string(), login(addr, who).await);
    }
    Site {
        t,
        w,
        addr,
        server,
        tokens,
    }
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

impl Site {
    fn token(&self, who: &str) -> &str {
        self.tokens
            .get(who)
            .unwrap_or_else(|| panic!("no token for {who}"))
    }

    async fn get(&self, who: &str, path: &str) -> Reply {
        call(self.addr, "GET", path, Some(self.token(who)), &[], None).await
    }

    async fn send(&self, who: &str, method: &str, path: &str, body: &Value) -> Reply {
        call(
            self.addr,
            method,
            path,
            Some(self.token(who)),
            &[],
            Some(&body.to_string()),
        )
        .await
    }

    fn theme(&self) -> String {
        let wf = self
            .t
            .app
            .registry
            .current("secretary_project")
            .unwrap()
            .workflow;
        wf.field("theme").unwrap().options[0].id.to_string()
    }

    /// secretary1 creates a project of subdistrict 1 with these milestones; answers its id.
    async fn create(&self, title: &str, milestones: Value) -> i64 {
        let body = json!({
            "definition": "secretary_project", "title": title, "year": 2026,
            "form": {
                "title": title, "theme": self.theme(), "problem": "p", "feasibility": "f",
                "goals": "g", "measures": "m", "schedule": "s", "team": [{"user": "secretary1"}],
                "milestones": milestones
            }
        });
        let r = self
            .send("secretary1", "POST", "/api/v1/projects", &body)
            .await;
        assert_eq!(r.status, 201, "create {title}: {}", r.text);
        r.body["id"].as_i64().unwrap()
    }

    async fn project(&self, id: i64) -> Value {
        let r = self
            .get("secretary1", &format!("/api/v1/projects/{id}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    }

    /// Take an action with the current version; answers the reply.
    async fn act(&self, who: &str, id: i64, action: &str, comment: Option<&str>) -> Reply {
        let version = self.project(id).await["version"].as_i64().unwrap();
        let mut body = json!({"action": action, "version": version});
        if let Some(c) = comment {
            body["comment"] = json!(c);
        }
        self.send(
            who,
            "POST",
            &format!("/api/v1/projects/{id}/actions"),
            &body,
        )
        .await
    }

    async fn act_ok(&self, who: &str, id: i64, action: &str, comment: Option<&str>) {
        let r = self.act(who, id, action, comment).await;
        assert_eq!(r.status, 200, "{who} {action} on {id}: {}", r.text);
    }

    async fn timeline(&self, who: &str, id: i64, on: &str) -> Value {
        let r = self
            .get(who, &format!("/api/v1/projects/{id}/timeline?on={on}"))
            .await;
        assert_eq!(r.status, 200, "timeline on {on}: {}", r.text);
        assert_eq!(r.body["on"], json!(on), "{}", r.text);
        r.body
    }

    async fn history_actions(&self, id: i64) -> Vec<String> {
        let r = self
            .get("reviewer1", &format!("/api/v1/projects/{id}/history"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }

    async fn stage(&self, id: i64) -> String {
        self.project(id).await["stage"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Two approved projects of subdistrict 1 (milestones owned by member1) and a third one
    /// withdrawn: answers (project 1, project 2, withdrawn project).
    async fn projects(&self) -> (i64, i64, i64) {
        let p1 = self
            .create(
                "楼道整治",
                json!([
                    {"title": "清理楼道", "goal": "全部清理", "owner": "member1",
                     "start": "2026-01-15", "due": "2026-03-31", "weight": 1},
                    {"title": "安装照明", "owner": "member1", "due": "2026-09-30", "weight": 3}
                ]),
            )
            .await;
        let p2 = self
            .create(
                "停车改造",
                json!([{"title": "划定车位", "owner": "member1", "due": "2026-05-31"}]),
            )
            .await;
        let p3 = self
            .create(
                "撤回项目",
                json!([{"title": "不会发生", "owner": "member1", "due": "2026-07-31"}]),
            )
            .await;
        for p in [p1, p2] {
            self.act_ok("secretary1", p, "submit", None).await;
            self.act_ok("reviewer1", p, "approve", None).await;
            assert_eq!(self.stage(p).await, "implementation");
        }
        self.act_ok("secretary1", p3, "withdraw", Some("不做了"))
            .await;
        assert_eq!(self.stage(p3).await, "withdrawn");
        (p1, p2, p3)
    }
}

fn milestones(t: &Value) -> &Vec<Value> {
    t["milestones"].as_array().expect("milestones")
}

fn find<'a>(list: &'a [Value], key: &str, value: &Value) -> &'a Value {
    list.iter()
        .find(|m| &m[key] == value)
        .unwrap_or_else(|| panic!("no item with {key} = {value} in {list:?}"))
}

#[tokio::test]
async fn implementation_phase_end_to_end() {
    let s = site().await;
    let (p1, p2, _) = s.projects().await;

    // The road map as planned.
    let t = s.timeline("member1", p1, "2026-01-10").await;
    assert_eq!(t["project_id"], json!(p1));
    assert_eq!(t["stage"], json!("implementation"));
    let ms = milestones(&t);
    assert_eq!(ms.len(), 2, "{t}");
    let (a, b) = (&ms[0], &ms[1]);
    assert_eq!(a["title"], json!("清理楼道"));
    assert_eq!(a["goal"], json!("全部清理"));
    assert_eq!(a["owner_login"], json!("member1"));
    assert_eq!(a["owner_user_id"], json!(s.w.user("member1").user_id));
    assert_eq!(a["start_date"], json!("2026-01-15"));
    assert_eq!(a["due_date"], json!("2026-03-31"));
    assert_eq!(b["title"], json!("安装照明"));
    assert_eq!(b["due_date"], json!("2026-09-30"));
    assert_eq!(b["weight"].as_f64(), Some(3.0));
    let (ma, mb) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    // Before its start day: not started.
    assert_eq!(a["status"], json!("not_started"), "{t}");
    assert_eq!(a["expected_percent"], json!(0));
    assert_eq!(a["behind_schedule"], json!(false));
    assert_eq!(t["percent"].as_f64(), Some(0.0));
    assert!(t["reports"].as_array().unwrap().is_empty(), "{t}");
    let changes = t["stage_changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["action"] == json!("approve") && c["to_stage"] == json!("implementation")),
        "{t}"
    );

    // 5 of 75 days gone: in progress, 6% expected, not behind.
    let t = s.timeline("reviewer1", p1, "2026-01-20").await;
    let a = &milestones(&t)[0];
    assert_eq!(a["status"], json!("in_progress"), "{t}");
    assert_eq!(a["expected_percent"], json!(6), "{t}");
    assert_eq!(a["behind_schedule"], json!(false), "{t}");
    // 17 of 75 days gone, nothing reported: 22% expected, more than 20 points behind.
    let t = s.timeline("secretary1", p1, "2026-02-01").await;
    let (a, b) = (&milestones(&t)[0], &milestones(&t)[1]);
    assert_eq!(a["status"], json!("in_progress"), "{t}");
    assert_eq!(a["expected_percent"], json!(22), "{t}");
    assert_eq!(a["behind_schedule"], json!(true), "{t}");
    assert_eq!(b["status"], json!("not_started"), "{t}");
    assert_eq!(b["behind_schedule"], json!(false), "{t}");
    // Past its due day, undone: overdue and behind.
    let t = s.timeline("member1", p1, "2026-04-15").await;
    let (a, b) = (&milestones(&t)[0], &milestones(&t)[1]);
    assert_eq!(a["status"], json!("overdue"), "{t}");
    assert_eq!(a["behind_schedule"], json!(true), "{t}");
    assert_eq!(a["expected_percent"], json!(100), "{t}");
    assert_eq!(b["status"], json!("not_started"), "{t}");
    // A day that is not a date; outsiders; unknown projects.
    let r = s
        .get(
            "member1",
            &format!("/api/v1/projects/{p1}/timeline?on=2026-13-01"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = s
        .get("secretary2", &format!("/api/v1/projects/{p1}/timeline"))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = s.get("member1", "/api/v1/projects/999999/timeline").await;
    assert_eq!(r.status, 404, "{}", r.text);

    // member1 reports 40% on the second milestone.
    let progress = |m: i64| format!("/api/v1/milestones/{m}/progress");
    let r = s
        .send(
            "member1",
            "POST",
            &progress(mb),
            &json!({"percent": 40, "note": "灯具已采购"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], json!(mb));
    assert_eq!(r.body["percent"], json!(40));
    assert_eq!(r.body["done_at"], Value::Null);
    assert!(r.body["last_report_at"].is_string(), "{}", r.text);
    let t = s.timeline("member1", p1, "2026-04-15").await;
    let reports = t["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1, "{t}");
    assert_eq!(reports[0]["milestone_id"], json!(mb));
    assert_eq!(reports[0]["percent"], json!(40));
    assert_eq!(reports[0]["note"], json!("灯具已采购"));
    assert_eq!(
        reports[0]["author_user_id"],
        json!(s.w.user("member1").user_id)
    );
    let b = find(milestones(&t), "id", &json!(mb));
    assert_eq!(b["percent"], json!(40));
    // Reported progress starts a milestone before its dates do.
    assert_eq!(b["status"], json!("in_progress"), "{t}");
    assert!(b["last_report_at"].is_string(), "{t}");
    // Weights 1 and 3: (0 * 1 + 40 * 3) / 4.
    assert_eq!(t["percent"].as_f64(), Some(30.0), "{t}");

    // Who may report, and what.
    let r = s
        .send(
            "secretary2",
            "POST",
            &progress(mb),
            &json!({"percent": 50, "note": "x"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = s
        .send(
            "reviewer1",
            "POST",
            &progress(mb),
            &json!({"percent": 50, "note": "x"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    for bad in [101, -1] {
        let r = s
            .send(
                "member1",
                "POST",
                &progress(mb),
                &json!({"percent": bad, "note": "x"}),
            )
            .await;
        assert_eq!(r.status, 422, "percent {bad}: {}", r.text);
    }
    let r = s
        .send(
            "member1",
            "POST",
            &progress(999_999),
            &json!({"percent": 10, "note": "x"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = s
        .send(
            "member1",
            "POST",
            &progress(mb),
            &json!({"percent": 10, "note": "x", "extra": 1}),
        )
        .await;
    assert!(r.status == 400 || r.status == 422, "{}", r.text);
    // The refused reports changed nothing.
    let t = s.timeline("member1", p1, "2026-04-15").await;
    assert_eq!(t["reports"].as_array().unwrap().len(), 1, "{t}");
    assert_eq!(find(milestones(&t), "id", &json!(mb))["percent"], json!(40));

    // 100% marks the first milestone done (the subdistrict's secretary may report too).
    let r = s
        .send(
            "secretary1",
            "POST",
            &progress(ma),
            &json!({"percent": 100, "note": "已完成"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], json!("done"), "{}", r.text);
    assert!(r.body["done_at"].is_string(), "{}", r.text);
    let t = s.timeline("member1", p1, "2026-04-15").await;
    let a = find(milestones(&t), "id", &json!(ma));
    assert_eq!(a["status"], json!("done"), "{t}");
    assert_eq!(a["behind_schedule"], json!(false), "{t}");
    // (100 * 1 + 40 * 3) / 4.
    assert_eq!(t["percent"].as_f64(), Some(55.0), "{t}");
    assert_eq!(t["reports"].as_array().unwrap().len(), 2, "{t}");
    let view = s.project(p1).await;
    assert_eq!(view["milestones_total"], json!(2), "{view}");
    assert_eq!(view["milestones_done"], json!(1), "{view}");
    // The other project is untouched.
    let t2 = s.timeline("member1", p2, "2026-04-15").await;
    assert!(t2["reports"].as_array().unwrap().is_empty(), "{t2}");
    assert_eq!(t2["percent"].as_f64(), Some(0.0), "{t2}");

    let actions = s.history_actions(p1).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "progress").count(),
        2,
        "{actions:?}"
    );
    assert!(!s.history_actions(p2).await.contains(&"progress".into()));

    s.server.stop().await;
}

#[tokio::test]
async fn guidance_thread() {
    let s = site().await;
    let (p1, p2, _) = s.projects().await;
    let t = s.timeline("reviewer1", p1, "2026-02-01").await;
    let ma = milestones(&t)[0]["id"].as_i64().unwrap();
    let t2 = s.timeline("reviewer1", p2, "2026-02-01").await;
    let m_other = milestones(&t2)[0]["id"].as_i64().unwrap();
    let g1 = format!("/api/v1/projects/{p1}/guidance");
    let g2 = format!("/api/v1/projects/{p2}/guidance");

    // The reviewer gives guidance about a milestone.
    let r = s
        .send(
            "reviewer1",
            "POST",
            &g1,
            &json!({"body": "请加快进度", "milestone_id": ma}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let first = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["project_id"], json!(p1));
    assert_eq!(r.body["milestone_id"], json!(ma));
    assert_eq!(r.body["reply_to"], Value::Null);
    assert_eq!(r.body["author_name"], json!("用户reviewer1"));
    // The subdistrict answers it.
    let r = s
        .send(
            "secretary1",
            "POST",
            &g1,
            &json!({"body": "  收到，本周完成  ", "reply_to": first}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let answer = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["reply_to"], json!(first));
    assert_eq!(r.body["body"], json!("收到，本周完成"));

    // Guidance on the other project, for a cross-project reply below.
    let r = s
        .send("reviewer1", "POST", &g2, &json!({"body": "注意安全"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let elsewhere = r.body["id"].as_i64().unwrap();

    // Refusals.
    let cases: Vec<(&str, Value, u16)> = vec![
        // The subdistrict only answers.
        ("secretary1", json!({"body": "主动汇报"}), 422),
        ("member1", json!({"body": "主动汇报"}), 422),
        // Another subdistrict.
        (
            "secretary2",
            json!({"body": "越权", "reply_to": first}),
            403,
        ),
        ("secretary2", json!({"body": "越权"}), 403),
        // A reply to a message of another project.
        (
            "secretary1",
            json!({"body": "答非所问", "reply_to": elsewhere}),
            404,
        ),
        (
            "secretary1",
            json!({"body": "答非所问", "reply_to": 999_999}),
            404,
        ),
        // A milestone of another project.
        (
            "reviewer1",
            json!({"body": "别的节点", "milestone_id": m_other}),
            404,
        ),
        // Empty bodies.
        ("reviewer1", json!({"body": ""}), 422),
        ("reviewer1", json!({"body": "   "}), 422),
        ("secretary1", json!({"body": "", "reply_to": first}), 422),
        ("reviewer1", json!({"body": "长".repeat(5001)}), 422),
    ];
    for (who, body, want) in &cases {
        let r = s.send(who, "POST", &g1, body).await;
        assert_eq!(r.status, *want, "{who} {body}: {}", r.text);
    }
    let r = s
        .send(
            "reviewer1",
            "POST",
            "/api/v1/projects/999999/guidance",
            &json!({"body": "无此项目"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);

    // The thread: both messages, in order, with author names; nothing refused was kept.
    let r = s.get("member1", &g1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", r.text);
    assert_eq!(items[0]["id"], json!(first));
    assert_eq!(items[0]["body"], json!("请加快进度"));
    assert_eq!(items[0]["author_name"], json!("用户reviewer1"));
    assert_eq!(
        items[0]["author_user_id"],
        json!(s.w.user("reviewer1").user_id)
    );
    assert_eq!(items[1]["id"], json!(answer));
    assert_eq!(items[1]["reply_to"], json!(first));
    assert_eq!(items[1]["author_name"], json!("用户secretary1"));
    let r = s.get("secretary2", &g1).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = s.get("reviewer1", &g2).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.text);

    let actions = s.history_actions(p1).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "guidance").count(),
        1,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "guidance_answer").count(),
        1,
        "{actions:?}"
    );
    // Guidance does not move the project.
    assert_eq!(s.stage(p1).await, "implementation");

    s.server.stop().await;
}

#[tokio::test]
async fn mid_term_evaluation() {
    let s = site().await;
    let (p1, p2, _) = s.projects().await;
    let form = |p: i64| format!("/api/v1/projects/{p}/form");
    let fill = |p: i64, version: i64| {
        (
            form(p),
            json!({"version": version,
                   "form": {"midterm_progress": 45, "midterm_opinion": "总体顺利"}}),
        )
    };

    // Only the district starts it.
    let r = s.act("secretary1", p1, "start_mid_term", None).await;
    assert_eq!(r.status, 403, "{}", r.text);
    s.act_ok("reviewer1", p1, "start_mid_term", None).await;
    assert_eq!(s.stage(p1).await, "mid_term_review");
    // Not passable before the evaluation form is complete.
    let r = s.act("reviewer1", p1, "pass_mid_term", None).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(s.stage(p1).await, "mid_term_review");
    // The subdistrict may not fill the evaluation.
    let version = s.project(p1).await["version"].as_i64().unwrap();
    let (path, body) = fill(p1, version);
    let r = s.send("secretary1", "PATCH", &path, &body).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = s
        .send(
            "reviewer1",
            "PATCH",
            &path,
            &json!({"version": version, "form": {"midterm_progress": 150}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = s.send("reviewer1", "PATCH", &path, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["form"]["midterm_opinion"],
        json!("总体顺利"),
        "{}",
        r.text
    );
    s.act_ok("reviewer1", p1, "pass_mid_term", None).await;
    assert_eq!(s.stage(p1).await, "implementation");
    let t = s.timeline("member1", p1, "2026-06-01").await;
    assert_eq!(t["stage"], json!("implementation"));
    let changes: Vec<&str> = t["stage_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert!(
        changes.ends_with(&["approve", "start_mid_term", "pass_mid_term"]),
        "{changes:?}"
    );

    // Project 2: correction required, with a comment.
    s.act_ok("admin", p2, "start_mid_term", None).await;
    let version = s.project(p2).await["version"].as_i64().unwrap();
    let (path, body) = fill(p2, version);
    let r = s.send("reviewer1", "PATCH", &path, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.act("reviewer1", p2, "require_correction", None).await;
    assert_eq!(r.status, 422, "a comment is required: {}", r.text);
    assert_eq!(s.stage(p2).await, "mid_term_review");
    let r = s
        .act("reviewer1", p2, "require_correction", Some("台账不全"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["from"], json!("mid_term_review"));
    assert_eq!(r.body["to"], json!("correction"));
    assert_eq!(s.stage(p2).await, "correction");
    let r = s
        .get("reviewer1", &format!("/api/v1/projects/{p2}/history"))
        .await;
    let last = r.body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], json!("require_correction"), "{last}");
    assert_eq!(last["comment"], json!("台账不全"), "{last}");
    // Milestones may still be reported during the correction.
    let mid = milestones(&s.timeline("member1", p2, "2026-06-01").await)[0]["id"]
        .as_i64()
        .unwrap();
    let r = s
        .send(
            "member1",
            "POST",
            &format!("/api/v1/milestones/{mid}/progress"),
            &json!({"percent": 20, "note": "整改中"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    s.server.stop().await;
}

/// The path (and query) of an absolute URL.
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    &rest[rest.find('/').expect("a path")..]
}

#[tokio::test]
async fn calendar_feed() {
    let s = site().await;
    let (p1, p2, p3) = s.projects().await;

    let r = call(s.addr, "POST", "/api/v1/me/calendar", None, &[], None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = s
        .send("member1", "POST", "/api/v1/me/calendar", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = r.body["url"].as_str().unwrap().to_string();
    assert!(url.contains("/calendar/"), "{url}");
    assert!(url.ends_with(".ics"), "{url}");
    let path = path_of(&url).to_string();
    assert!(path.starts_with("/calendar/"), "{path}");

    // No login needed: the address is the secret.
    let r = call(s.addr, "GET", &path, None, &[], None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/calendar")),
        "{}",
        r.headers
    );
    let cal: icalendar::Calendar = r.text.parse().expect("a parsable iCalendar feed");
    let events: Vec<&icalendar::Event> =
        cal.components.iter().filter_map(|c| c.as_event()).collect();
    // member1 owns 2 milestones of project 1 and 1 of project 2; project 3 was withdrawn.
    let mut expected = Vec::new();
    for p in [p1, p2] {
        for m in milestones(&s.timeline("member1", p, "2026-02-01").await) {
            expected.push((
                m["title"].as_str().unwrap().to_string(),
                date(m["due_date"].as_str().unwrap()),
            ));
        }
    }
    assert_eq!(expected.len(), 3);
    assert_eq!(events.len(), expected.len(), "{}", r.text);
    for (title, due) in &expected {
        let e = events
            .iter()
            .find(|e| e.get_summary().is_some_and(|s| s.contains(title.as_str())))
            .unwrap_or_else(|| panic!("no event for {title}: {}", r.text));
        assert_eq!(
            e.get_start(),
            Some(DatePerhapsTime::Date(*due)),
            "{title}: {}",
            r.text
        );
    }
    assert!(
        !events
            .iter()
            .any(|e| e.get_summary().is_some_and(|s| s.contains("不会发生"))),
        "withdrawn project {p3} in the feed: {}",
        r.text
    );

    // A new address ends the old one.
    let r = s
        .send("member1", "POST", "/api/v1/me/calendar", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url2 = r.body["url"].as_str().unwrap().to_string();
    assert_ne!(url2, url);
    let r = call(s.addr, "GET", &path, None, &[], None).await;
    assert_eq!(r.status, 404, "old address: {}", r.text);
    let r = call(s.addr, "GET", path_of(&url2), None, &[], None).await;
    assert_eq!(r.status, 200, "new address: {}", r.text);
    assert!(r.text.contains("BEGIN:VCALENDAR"), "{}", r.text);

    // Another user's feed holds none of member1's milestones.
    let r = s
        .send("secretary2", "POST", "/api/v1/me/calendar", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let other = r.body["url"].as_str().unwrap().to_string();
    let r = call(s.addr, "GET", path_of(&other), None, &[], None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cal: icalendar::Calendar = r.text.parse().expect("parsable");
    assert_eq!(
        cal.components.iter().filter_map(|c| c.as_event()).count(),
        0,
        "{}",
        r.text
    );

    // Made-up and malformed tokens: 404, never a server error.
    let made_up = format!("/calendar/{}.ics", "ab".repeat(24));
    let long = format!("/calendar/{}.ics", "a".repeat(500));
    for bad in [
        made_up.as_str(),
        "/calendar/not-a-token.ics",
        "/calendar/zzzzzz.ics",
        "/calendar/%E4%B8%AD%E6%96%87.ics",
        "/calendar/.ics",
        "/calendar/abc",
        long.as_str(),
    ] {
        let r = call(s.addr, "GET", bad, None, &[], None).await;
        assert_eq!(r.status, 404, "{bad}: {}", r.text);
    }

    s.server.stop().await;
}

/// The topic pool: a subdistrict records and discusses candidate problems; reviewers see the
/// district's pool; one topic is promoted into an application with its text carried over.
#[tokio::test]
async fn topic_pool_to_project() {
    let s = site().await;
    let new = |title: &str, source: &str, description: &str| json!({"title": title, "source": source, "area": "幸福社区", "description": description});
    let a = s
        .send(
            "member1",
            "POST",
            "/api/v1/topics",
            &new("老旧小区停车难", "field_visit", "夜间停车位缺口约200个"),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["status"], "open");
    let a_id = a.body["id"].as_i64().unwrap();
    let b = s
        .send(
            "secretary1",
            "POST",
            "/api/v1/topics",
            &new("加装电梯", "resident_request", ""),
        )
        .await;
    assert_eq!(b.status, 201, "{}", b.text);
    let b_id = b.body["id"].as_i64().unwrap();
    let other = s
        .send(
            "secretary2",
            "POST",
            "/api/v1/topics",
            &new("菜市场", "demand_list", ""),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.text);

    // Who sees what: own subdistrict, or the whole district.
    let ids = |r: &Reply| -> Vec<i64> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    let mine = s.get("secretary1", "/api/v1/topics").await;
    assert_eq!(ids(&mine).len(), 2, "{}", mine.text);
    let theirs = s.get("secretary2", "/api/v1/topics").await;
    assert_eq!(ids(&theirs).len(), 1);
    assert!(!ids(&theirs).contains(&a_id));
    let district = s.get("reviewer1", "/api/v1/topics").await;
    assert_eq!(ids(&district).len(), 3);
    assert_eq!(
        s.get("secretary2", &format!("/api/v1/topics/{a_id}"))
            .await
            .status,
        403
    );

    // Discussion: the team and the reviewers; not outsiders; not empty.
    let topic_path = format!("/api/v1/topics/{a_id}");
    for who in ["secretary1", "reviewer1"] {
        let r = s
            .send(
                who,
                "POST",
                &format!("{topic_path}/comments"),
                &json!({"body": format!("{who}的意见")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = s
        .send(
            "secretary2",
            "POST",
            &format!("{topic_path}/comments"),
            &json!({"body": "x"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = s
        .send(
            "member1",
            "POST",
            &format!("{topic_path}/comments"),
            &json!({"body": "  "}),
        )
        .await;
    assert_eq!(r.status, 422);
    let one = s.get("member1", &topic_path).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["comments"].as_array().unwrap().len(), 2);
    assert_eq!(one.body["comments"][0]["body"], "secretary1的意见");

    // Edits: the subdistrict's pool roles; a reviewer may not; bad sources refused.
    let r = s
        .send(
            "member1",
            "PATCH",
            &topic_path,
            &json!({"area": "幸福社区东区"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["area"].as_str()),
        (200, Some("幸福社区东区"))
    );
    let r = s
        .send("reviewer1", "PATCH", &topic_path, &json!({"area": "x"}))
        .await;
    assert_eq!(r.status, 403);
    let r = s
        .send(
            "member1",
            "PATCH",
            &topic_path,
            &json!({"source": "rumour"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = s
        .send(
            "member1",
            "PATCH",
            &topic_path,
            &json!({"status": "promoted"}),
        )
        .await;
    assert_eq!(r.status, 422, "promotion only through /promote: {}", r.text);

    // Drop one topic; a dropped topic cannot be promoted until reopened.
    let b_path = format!("/api/v1/topics/{b_id}");
    let r = s
        .send(
            "secretary1",
            "PATCH",
            &b_path,
            &json!({"status": "dropped"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("dropped"))
    );
    let r = s
        .send(
            "secretary1",
            "POST",
            &format!("{b_path}/promote"),
            &json!({"year": 2026}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let dropped = s.get("secretary1", "/api/v1/topics?status=dropped").await;
    assert_eq!(ids(&dropped), vec![b_id]);

    // Promote: title and description carry over into a new application in the initial stage.
    let r = s
        .send(
            "reviewer1",
            "POST",
            &format!("{topic_path}/promote"),
            &json!({"year": 2026}),
        )
        .await;
    assert_eq!(r.status, 403, "reviewers do not file applications");
    let r = s
        .send(
            "secretary1",
            "POST",
            &format!("{topic_path}/promote"),
            &json!({"year": 1999}),
        )
        .await;
    assert_eq!(
        r.status, 422,
        "a bad year leaves the topic open: {}",
        r.text
    );
    assert_eq!(
        s.get("secretary1", &topic_path).await.body["topic"]["status"],
        "open"
    );
    let r = s
        .send(
            "secretary1",
            "POST",
            &format!("{topic_path}/promote"),
            &json!({"year": 2026}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["topic"]["status"], "promoted");
    let project_id = r.body["project"]["id"].as_i64().unwrap();
    assert_eq!(r.body["topic"]["project_id"], project_id);
    let p = s.project(project_id).await;
    assert_eq!(p["title"], "老旧小区停车难");
    assert_eq!(p["stage"], "drafting");
    assert_eq!(p["form"]["problem"], "夜间停车位缺口约200个");
    // Once promoted, a topic stays as it is.
    let r = s
        .send(
            "secretary1",
            "POST",
            &format!("{topic_path}/promote"),
            &json!({"year": 2026}),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = s
        .send("member1", "PATCH", &topic_path, &json!({"title": "改名"}))
        .await;
    assert_eq!(r.status, 422);
    // Every change is in the topic's trail; refused attempts left nothing.
    let actions = |r: &Reply| -> Vec<String> {
        r.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    };
    let a = s.get("reviewer1", &topic_path).await;
    assert_eq!(
        actions(&a),
        vec!["created", "commented", "commented", "edited", "promoted"],
        "{}",
        a.text
    );
    assert_eq!(
        a.body["history"][3]["data"]["area"]["after"],
        "幸福社区东区"
    );
    assert_eq!(a.body["history"][4]["data"]["project"], project_id);
    let b = s.get("secretary1", &b_path).await;
    assert_eq!(actions(&b), vec!["created", "dropped"], "{}", b.text);
    s.server.stop().await;
}

/// The dispatch view: the district sees every live project with its overdue and behind
/// milestones, most urgent first; a subdistrict sees its own.
#[tokio::test]
async fn dispatch_view() {
    let s = site().await;
    let late = s
        .create(
            "迟缓项目",
            json!([
                {"title": "前期调研", "owner": "member1", "start": "2026-01-15", "due": "2026-03-31"},
                {"title": "施工", "owner": "member1", "start": "2026-04-01", "due": "2026-09-30"}
            ]),
        )
        .await;
    let fine = s
        .create(
            "顺利项目",
            json!([{"title": "全部", "owner": "member1", "start": "2026-01-15", "due": "2026-12-31"}]),
        )
        .await;
    for id in [late, fine] {
        s.act_ok("secretary1", id, "submit", None).await;
        s.act_ok("reviewer1", id, "approve", Some("同意")).await;
    }
    // The fine project reports well ahead of its plan.
    let tl = s.timeline("member1", fine, "2026-04-15").await;
    let m = tl["milestones"][0]["id"].as_i64().unwrap();
    let r = s
        .send(
            "member1",
            "POST",
            &format!("/api/v1/milestones/{m}/progress"),
            &json!({"percent": 60, "note": "进展顺利"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let d = s
        .get("reviewer1", "/api/v1/dispatch?on=2026-04-15&year=2026")
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["on"], "2026-04-15");
    assert_eq!(d.body["projects"], 2);
    let rows = d.body["rows"].as_array().unwrap();
    assert_eq!(rows[0]["project_id"], late, "the late project comes first");
    assert_eq!(rows[0]["overdue"].as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["overdue"][0]["title"], "前期调研");
    assert_eq!(rows[0]["behind_schedule"], true);
    assert_eq!(rows[1]["project_id"], fine);
    assert_eq!(rows[1]["behind_schedule"], false);
    assert_eq!(rows[1]["percent"], 60.0);
    assert!(rows[1]["last_report_at"].is_string());
    assert_eq!(d.body["behind_schedule"], 1);
    assert_eq!(d.body["overdue_milestones"], 1);
    // Earlier in the year nothing is overdue yet.
    let early = s
        .get("reviewer1", "/api/v1/dispatch?on=2026-02-01&year=2026")
        .await;
    assert_eq!(early.body["overdue_milestones"], 0, "{}", early.text);
    // Scope: the subdistrict sees its own; another subdistrict sees none of them.
    let own = s.get("secretary1", "/api/v1/dispatch?on=2026-04-15").await;
    assert_eq!(own.body["projects"], 2);
    let other = s.get("secretary2", "/api/v1/dispatch?on=2026-04-15").await;
    assert_eq!(other.body["projects"], 0);
    // Another year is empty.
    let next = s
        .get("reviewer1", "/api/v1/dispatch?on=2026-04-15&year=2027")
        .await;
    assert_eq!(next.body["projects"], 0);
    s.server.stop().await;
}

/// Attachments: stored with type and size limits, served only to those who see the project.
#[tokio::test]
async fn attachments_are_checked_and_private() {
    let s = site().await;
    let id = s
        .create(
            "附件项目",
            json!([{"title": "调研", "owner": "member1", "start": "2026-01-15", "due": "2026-06-30"}]),
        )
        .await;
    let other = s
        .create(
            "别的项目",
            json!([{"title": "别的", "owner": "member1", "due": "2026-06-30"}]),
        )
        .await;
    for p in [id, other] {
        s.act_ok("secretary1", p, "submit", None).await;
        s.act_ok("reviewer1", p, "approve", Some("同意")).await;
    }
    let milestone = s.timeline("member1", id, "2026-02-01").await["milestones"][0]["id"]
        .as_i64()
        .unwrap();
    let other_milestone = s.timeline("member1", other, "2026-02-01").await["milestones"][0]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/projects/{id}/attachments");
    let upload = |who: &'static str, parts: Vec<(&'static str, Option<&'static str>, String)>| {
        let path = path.clone();
        let token = s.token(who).to_string();
        let addr = s.addr;
        async move {
            let refs: Vec<(&str, Option<&str>, &str)> =
                parts.iter().map(|(n, f, c)| (*n, *f, c.as_str())).collect();
            let (ct, body) = multipart(&refs);
            call(
                addr,
                "POST",
                &path,
                Some(&token),
                &[("Content-Type", &ct)],
                Some(&body),
            )
            .await
        }
    };
    let pdf = "%PDF-1.4 调研报告 evidence".to_string();

    // A good upload, about a milestone.
    let r = upload(
        "member1",
        vec![
            ("file", Some("调研报告.pdf"), pdf.clone()),
            ("milestone_id", None, milestone.to_string()),
        ],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["content_type"], "application/pdf");
    assert_eq!(r.body["size_bytes"], pdf.len());
    assert_eq!(r.body["milestone_id"], milestone);
    let url = r.body["url"].as_str().unwrap().to_string();

    // Refused: path traversal, a forbidden type, content that lies about its type, an empty
    // file, a milestone of another project, no file part, and an outsider.
    for (name, content, want) in [
        ("../../etc/passwd.pdf", pdf.clone(), 422),
        ("..\\evil.pdf", pdf.clone(), 422),
        ("virus.exe", "MZ....".to_string(), 422),
        ("photo.png", pdf.clone(), 422),
        ("empty.pdf", String::new(), 422),
    ] {
        let r = upload("member1", vec![("file", Some(name), content)]).await;
        assert_eq!(r.status, want, "{name}: {}", r.text);
        assert_eq!(
            r.body["type"], "urn:secretary-projects:problem:invalid",
            "{name}"
        );
    }
    let r = upload(
        "member1",
        vec![
            ("file", Some("a.pdf"), pdf.clone()),
            ("milestone_id", None, other_milestone.to_string()),
        ],
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = upload(
        "member1",
        vec![("milestone_id", None, milestone.to_string())],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = upload("secretary2", vec![("file", Some("a.pdf"), pdf.clone())]).await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Oversized: 10 MiB and one byte of text.
    let big = "a".repeat(10 * 1024 * 1024 + 1);
    let r = upload("member1", vec![("file", Some("big.txt"), big)]).await;
    assert_eq!(r.status, 413, "{}", r.text);

    // Only the good one is listed; the project's history records it.
    let list = s.get("reviewer1", &path).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let history = s
        .get("member1", &format!("/api/v1/projects/{id}/history"))
        .await;
    assert!(history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "attachment"));

    // Download: the team and the district, byte for byte; never a stranger.
    for who in ["member1", "secretary1", "reviewer1"] {
        let r = s.get(who, &url).await;
        assert_eq!(r.status, 200, "{who}");
        assert_eq!(r.text, pdf, "{who} gets the same bytes");
        assert_eq!(r.header("content-type"), Some("application/pdf"));
        assert!(r
            .header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment;")));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    assert_eq!(s.get("secretary2", &url).await.status, 403);
    assert_eq!(call(s.addr, "GET", &url, None, &[], None).await.status, 401);
    assert_eq!(
        s.get("member1", "/api/v1/attachments/999999").await.status,
        404
    );
    assert_eq!(s.get("secretary2", &path).await.status, 403);
    s.server.stop().await;
}

/// The implementation phase as a subdistrict lives it, for two projects: a topic promoted into
/// an application, milestones planned on its form, approval, progress reported with evidence,
/// a milestone gone overdue (the day passed in), guidance received and answered, and the
/// mid-term evaluation passed (one project) or sent to correction (the other).
#[tokio::test]
async fn from_topic_to_mid_term() {
    let s = site().await;
    let mut projects = Vec::new();
    for (title, problem) in [("加装电梯", "老人上下楼难"), ("垃圾分类", "分类投放率低")]
    {
        let t = s
            .send(
                "secretary1",
                "POST",
                "/api/v1/topics",
                &json!({"title": title, "source": "resident_request", "description": problem}),
            )
            .await;
        assert_eq!(t.status, 201, "{}", t.text);
        let r = s
            .send(
                "secretary1",
                "POST",
                &format!("/api/v1/topics/{}/promote", t.body["id"]),
                &json!({"year": 2026}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["project"]["id"].as_i64().unwrap();
        assert_eq!(r.body["project"]["form"]["problem"], problem);
        // Plan the application: the rest of the form and the milestones.
        let version = s.project(id).await["version"].as_i64().unwrap();
        let plan = json!({"version": version, "form": {
            "title": title, "theme": s.theme(), "feasibility": "f", "goals": "g", "measures": "m",
            "schedule": "s", "team": [{"user": "secretary1"}],
            "milestones": [
                {"title": "方案", "owner": "member1", "start": "2026-03-01", "due": "2026-04-30", "weight": 1},
                {"title": "实施", "owner": "member1", "start": "2026-05-01", "due": "2026-09-30", "weight": 2}
            ]
        }});
        let r = s
            .send(
                "secretary1",
                "PATCH",
                &format!("/api/v1/projects/{id}/form"),
                &plan,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        s.act_ok("secretary1", id, "submit", None).await;
        s.act_ok("reviewer1", id, "approve", Some("同意立项")).await;
        projects.push(id);
    }

    for &id in &projects {
        let tl = s.timeline("member1", id, "2026-03-15").await;
        assert_eq!(tl["milestones"].as_array().unwrap().len(), 2, "{tl}");
        let first = tl["milestones"][0]["id"].as_i64().unwrap();
        // Evidence first, then the report that carries it.
        let (ct, body) = multipart(&[("file", Some("方案.pdf"), "%PDF-1.4 方案")]);
        let up = call(
            s.addr,
            "POST",
            &format!("/api/v1/projects/{id}/attachments"),
            Some(s.token("member1")),
            &[("Content-Type", &ct)],
            Some(&body),
        )
        .await;
        assert_eq!(up.status, 201, "{}", up.text);
        let evidence = up.body["id"].as_i64().unwrap();
        let r = s
            .send(
                "member1",
                "POST",
                &format!("/api/v1/milestones/{first}/progress"),
                &json!({"percent": 100, "note": "方案定稿", "attachments": [evidence]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"], "done");
        // The same evidence cannot serve a second report.
        let r = s
            .send(
                "member1",
                "POST",
                &format!("/api/v1/milestones/{first}/progress"),
                &json!({"percent": 100, "note": "again", "attachments": [evidence]}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text);
        let tl = s.timeline("member1", id, "2026-10-10").await;
        let reports = tl["reports"].as_array().unwrap();
        assert_eq!(reports.len(), 1, "the refused report left nothing: {tl}");
        assert_eq!(reports[0]["attachments"], json!([evidence]));
        // Time passes: the second milestone, never reported, is overdue in October.
        assert_eq!(tl["milestones"][1]["status"], "overdue");
        assert_eq!(tl["milestones"][1]["behind_schedule"], true);

        // Guidance, answered.
        let g = s
            .send(
                "reviewer1",
                "POST",
                &format!("/api/v1/projects/{id}/guidance"),
                &json!({"body": "实施节点已逾期，请说明原因", "milestone_id": tl["milestones"][1]["id"]}),
            )
            .await;
        assert_eq!(g.status, 201, "{}", g.text);
        let a = s
            .send(
                "secretary1",
                "POST",
                &format!("/api/v1/projects/{id}/guidance"),
                &json!({"body": "施工队伍延误，已调整", "reply_to": g.body["id"]}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }

    // Mid-term evaluation: one passes, one goes to correction.
    for (k, &id) in projects.iter().enumerate() {
        s.act_ok("reviewer1", id, "start_mid_term", None).await;
        let version = s.project(id).await["version"].as_i64().unwrap();
        let r = s
            .send(
                "reviewer1",
                "PATCH",
                &format!("/api/v1/projects/{id}/form"),
                &json!({"version": version, "form": {"midterm_progress": 40, "midterm_opinion": "总体可控"}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        if k == 0 {
            s.act_ok("reviewer1", id, "pass_mid_term", None).await;
            assert_eq!(s.project(id).await["stage"], "implementation");
        } else {
            s.act_ok("reviewer1", id, "require_correction", Some("加快实施进度"))
                .await;
            assert_eq!(s.project(id).await["stage"], "correction");
        }
    }
    // The district's dispatch view on that October day shows both as behind.
    let d = s
        .get("reviewer1", "/api/v1/dispatch?on=2026-10-10&year=2026")
        .await;
    assert_eq!(d.body["projects"], 2, "{}", d.text);
    assert_eq!(d.body["behind_schedule"], 2);

    // A form's attachments field names only this project's own uploads, of a type it takes.
    let upload = |id: i64, name: &'static str, content: &'static str| {
        let s = &s;
        async move {
            let (ct, body) = multipart(&[("file", Some(name), content)]);
            let up = call(
                s.addr,
                "POST",
                &format!("/api/v1/projects/{id}/attachments"),
                Some(s.token("member1")),
                &[("Content-Type", &ct)],
                Some(&body),
            )
            .await;
            assert_eq!(up.status, 201, "{}", up.text);
            up.body["id"].as_i64().unwrap()
        }
    };
    let (own, other) = (projects[0], projects[1]);
    let pdf = upload(own, "进度.pdf", "%PDF-1.4 进度").await;
    let gif = upload(own, "照片.gif", "GIF89a....").await;
    let foreign = upload(other, "别人的.pdf", "%PDF-1.4 别人").await;
    let save = |evidence: Value| {
        let s = &s;
        async move {
            let version = s.project(own).await["version"].as_i64().unwrap();
            s.send(
                "secretary1",
                "PATCH",
                &format!("/api/v1/projects/{own}/form"),
                &json!({"version": version, "form": {"progress_evidence": evidence}}),
            )
            .await
        }
    };
    for (evidence, says) in [
        (json!([pdf, 987654]), "附件987654不是本项目的附件"),
        (json!([foreign]), "不是本项目的附件"),
        (json!([pdf, gif]), "照片.gif"),
        (json!(["x"]), "附件x不是本项目的附件"),
    ] {
        let before = s.project(own).await;
        let r = save(evidence.clone()).await;
        assert_eq!(r.status, 422, "{evidence}: {}", r.text);
        assert!(r.text.contains(says), "{evidence}: {}", r.text);
        let after = s.project(own).await;
        assert_eq!(before["version"], after["version"], "nothing written");
        assert_eq!(
            before["form"]["progress_evidence"],
            after["form"]["progress_evidence"]
        );
    }
    let r = save(json!([pdf])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.project(own).await["form"]["progress_evidence"],
        json!([pdf])
    );
    s.server.stop().await;
}

/// The implementation phase on the pages, without JavaScript: the road map drawn as SVG, a
/// progress report with an evidence file (a bad one refused with nothing written), the files
/// downloadable, guidance written by the district and answered by the subdistrict, and the
/// other subdistrict refused.
#[tokio::test]
async fn progress_and_guidance_on_the_pages() {
    use common::http::PageClient;
    let s = site().await;
    let (p1, _, _) = s.projects().await;
    let page = |who: &'static str| PageClient::new(s.addr, s.token(who));
    let member = page("member1").await;
    let reviewer = page("reviewer1").await;
    let secretary = page("secretary1").await;
    let other = page("secretary2").await;

    let shown = member.get(&format!("/projects/{p1}")).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(
        shown.text.contains("<svg") && shown.text.contains("class=\"gantt\""),
        "{}",
        shown.text
    );
    let t = s.timeline("member1", p1, "2026-02-01").await;
    let m1 = milestones(&t)[0]["id"].as_i64().unwrap();
    let form = format!("/projects/{p1}/milestones/{m1}/progress");
    assert!(
        shown.text.contains(&format!("action=\"{form}\"")),
        "a report form"
    );
    assert!(shown.text.contains("enctype=\"multipart/form-data\""));

    // Out of range, and a file that is not what its name says: the page again, nothing kept.
    let bad = member
        .post_files(&form, &[("percent", None, "150"), ("note", None, "")])
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.text.contains("error-summary"), "{}", bad.text);
    assert!(bad.text.contains(&format!("href=\"#report-{m1}-percent\"")));
    let fake = member
        .post_files(
            &form,
            &[
                ("percent", None, "40"),
                ("evidence", Some("照片.png"), "not a picture"),
            ],
        )
        .await;
    assert_eq!(fake.status, 422, "{}", fake.text);
    assert!(fake.text.contains("照片.png"), "the message names the file");
    let files = s
        .get("member1", &format!("/api/v1/projects/{p1}/attachments"))
        .await;
    assert_eq!(
        files.body["items"],
        json!([]),
        "a refused report leaves no file"
    );
    let t = s.timeline("member1", p1, "2026-02-01").await;
    assert_eq!(t["reports"], json!([]));

    // The other subdistrict cannot report, and learns nothing.
    let foreign = other.post_files(&form, &[("percent", None, "40")]).await;
    assert!(
        foreign.status == 403 || foreign.status == 404,
        "{}",
        foreign.status
    );

    let ok = member
        .post_files(
            &form,
            &[
                ("percent", None, "60"),
                ("note", None, "清理了三个单元"),
                ("evidence", Some("清理记录.pdf"), "%PDF-1.4 清理记录"),
                ("evidence", Some(""), ""),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    assert_eq!(
        ok.header("location"),
        Some(format!("/projects/{p1}?done=progress_reported#milestone-{m1}").as_str())
    );
    let t = s.timeline("member1", p1, "2026-02-01").await;
    let reports = t["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1, "{t}");
    assert_eq!(reports[0]["percent"], 60);
    assert_eq!(reports[0]["note"], "清理了三个单元");
    let evidence = reports[0]["attachments"].as_array().unwrap();
    assert_eq!(evidence.len(), 1, "the empty file input is not a file");
    let shown = secretary.get(&format!("/projects/{p1}")).await;
    assert!(shown.text.contains("清理记录.pdf") && shown.text.contains("清理了三个单元"));
    let file = secretary
        .get(&format!("/api/v1/attachments/{}", evidence[0]))
        .await;
    assert_eq!(file.status, 200);
    assert_eq!(file.text, "%PDF-1.4 清理记录");

    // Guidance: the district writes, the subdistrict answers that message.
    let bare = secretary
        .post(
            &format!("/projects/{p1}/guidance"),
            &[("body", "我们想先说")],
        )
        .await;
    assert_eq!(
        bare.status, 422,
        "the subdistrict answers, it does not open a thread"
    );
    let empty = reviewer
        .post(&format!("/projects/{p1}/guidance"), &[("body", "  ")])
        .await;
    assert_eq!(empty.status, 422);
    assert!(
        empty.text.contains("href=\"#guidance-new-body\""),
        "{}",
        empty.text
    );
    let g = reviewer
        .post(
            &format!("/projects/{p1}/guidance"),
            &[("body", "照明要覆盖地下室"), ("milestone", &m1.to_string())],
        )
        .await;
    assert_eq!(g.status, 303, "{}", g.text);
    let thread = s
        .get("secretary1", &format!("/api/v1/projects/{p1}/guidance"))
        .await;
    let first = thread.body["items"][0]["id"].as_i64().unwrap();
    let shown = secretary.get(&format!("/projects/{p1}")).await;
    assert!(shown.text.contains("照明要覆盖地下室"));
    assert!(
        shown.text.contains(&format!("id=\"answer-{first}\"")),
        "an answer form"
    );
    assert!(
        !shown.text.contains("id=\"guidance-new\""),
        "no new-thread form for them"
    );
    let a = secretary
        .post(
            &format!("/projects/{p1}/guidance"),
            &[
                ("body", "已安排，下周完成"),
                ("reply_to", &first.to_string()),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.text);
    let thread = s
        .get("reviewer1", &format!("/api/v1/projects/{p1}/guidance"))
        .await;
    let items = thread.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["reply_to"], first);
    assert_eq!(items[1]["body"], "已安排，下周完成");
    let foreign = other
        .post(
            &format!("/projects/{p1}/guidance"),
            &[("body", "x"), ("reply_to", &first.to_string())],
        )
        .await;
    assert!(
        foreign.status == 403 || foreign.status == 404,
        "{}",
        foreign.status
    );
    // A post without the page's token changes nothing.
    let forged = reviewer
        .post_raw(&format!("/projects/{p1}/guidance"), &[("body", "伪造")])
        .await;
    assert_eq!(forged.status, 403);
    let thread = s
        .get("reviewer1", &format!("/api/v1/projects/{p1}/guidance"))
        .await;
    assert_eq!(thread.body["items"].as_array().unwrap().len(), 2);
    s.server.stop().await;
}
