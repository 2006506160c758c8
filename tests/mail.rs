//! Mail from the outbox to a real SMTP server speaking SMTP over TCP on 127.0.0.1 (the
//! `mailin-embedded` crate, run inside the test), and to `.eml` files. Faults: the server down
//! for a while, dead letters, a sender that dies after claiming, two senders at once.

mod common;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use common::{env, world, TestEnv, World};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secretary_projects::app::projects::{ActionInput, NewProject};
use secretary_projects::notify::{Sender, SenderSettings, Transport};
use secretary_projects::store::entity::outbox;
use serde_json::json;

#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    data: Vec<u8>,
}

#[derive(Clone, Default)]
struct Inbox {
    current: Vec<u8>,
    to: Vec<String>,
    all: Arc<Mutex<Vec<Received>>>,
    /// EHLO/HELO greetings: one per connection a client opened.
    helos: Arc<std::sync::atomic::AtomicUsize>,
}

impl mailin_embedded::Handler for Inbox {
    fn helo(&mut self, _: std::net::IpAddr, _: &str) -> mailin_embedded::Response {
        self.helos.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        mailin_embedded::response::OK
    }
    fn data_start(
        &mut self,
        _: &str,
        _: &str,
        _: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.current.clear();
        self.to = to.to_vec();
        mailin_embedded::response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> mailin_embedded::Response {
        self.all.lock().unwrap().push(Received {
            to: self.to.clone(),
            data: std::mem::take(&mut self.current),
        });
        mailin_embedded::response::OK
    }
}

/// A real SMTP server on `port` (0: any); answers its port and what it received.
fn smtp_server(port: u16) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let (port, all, _) = counting_smtp_server(port);
    (port, all)
}

/// As [`smtp_server`], also counting the connections clients opened (their greetings).
fn counting_smtp_server(
    port: u16,
) -> (
    u16,
    Arc<Mutex<Vec<Received>>>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the SMTP port");
    let port = listener.local_addr().unwrap().port();
    let inbox = Inbox::default();
    let all = inbox.all.clone();
    let helos = inbox.helos.clone();
    let mut server = mailin_embedded::Server::new(inbox);
    // Enough threads for every pooled connection the tests open at once (two senders with
    // four connections each): mailin serves one connection per thread, and a connection
    // waiting for a thread would wait until the client gives up.
    server
        .with_name("test.invalid")
        .with_num_threads(16)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, all, helos)
}

/// A port nothing listens on (bound and released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn settings(max_attempts: u32, batch: u64) -> SenderSettings {
    SenderSettings {
        from: "书记项目 <noreply@sp.test>".into(),
        public_url: "https://sp.test".into(),
        max_attempts,
        batch,
        ..Default::default()
    }
}

/// A district whose secretary submits `n` applications: each queues a mail to every reviewer
/// and admin of the district. Answers how many mails are queued.
async fn queue_mail(n: usize) -> (TestEnv, World, u64) {
    let t = env().await;
    let w = world(
        &t.app,
        1,
        &[
            ("admin", "admin", 0),
            ("reviewer1", "reviewer", 0),
            ("reviewer2", "reviewer", 0),
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
    let at = Utc.with_ymd_and_hms(2026, 2, 1, 1, 0, 0).unwrap();
    for i in 0..n {
        let form = json!({
            "title": format!("项目{i}"), "theme": theme, "problem": "p", "feasibility": "f",
            "goals": "g", "measures": "m", "schedule": "s", "team": [{"user": "secretary1"}],
            "milestones": [{"title": "a", "owner": "member1", "due": "2026-06-30"}]
        });
        let p = t
            .app
            .create_project(
                w.user("secretary1"),
                NewProject {
                    definition: "secretary_project".into(),
                    title: format!("停车难{i}"),
                    year: 2026,
                    organisation_id: None,
                    form: form.as_object().unwrap().clone(),
                },
                at,
            )
            .await
            .unwrap();
        t.app
            .take_action(
                w.user("secretary1"),
                p.id,
                ActionInput {
                    action: "submit".into(),
                    comment: None,
                    expected_version: None,
                },
                at,
            )
            .await
            .unwrap();
    }
    let queued = outbox::Entity::find().count(&t.app.db.read).await.unwrap();
    assert!(queued >= n as u64, "submitting queues mail");
    (t, w, queued)
}

fn smtp(port: u16) -> Transport {
    Transport::new(
        Some(&format!("smtp+plain://127.0.0.1:{port}")),
        "unused".into(),
    )
    .unwrap()
}

async fn unsent(t: &TestEnv) -> u64 {
    outbox::Entity::find()
        .filter(outbox::Column::SentAt.is_null())
        .count(&t.app.db.read)
        .await
        .unwrap()
}

#[tokio::test]
async fn mail_reaches_a_real_smtp_server_once() {
    let (t, _w, queued) = queue_mail(2).await;
    let (port, inbox) = smtp_server(0);
    let sender = Sender::new(t.app.clone(), smtp(port), settings(8, 50));
    let now = Utc::now();
    let r = sender.run_once(now).await.unwrap();
    assert_eq!(r.sent as u64, queued, "{r:?}");
    assert_eq!((r.retried, r.dead), (0, 0));
    assert_eq!(unsent(&t).await, 0);
    // A second pass finds nothing to send: nothing doubled.
    assert_eq!(
        sender
            .run_once(now + Duration::hours(1))
            .await
            .unwrap()
            .sent,
        0
    );
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len() as u64, queued);

    // Read one back: recipient, subject, both parts, the link.
    let rows = outbox::Entity::find().all(&t.app.db.read).await.unwrap();
    let reviewer_mail = got
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains("reviewer1")))
        .expect("reviewer1 got mail");
    let parsed = mailparse::parse_mail(&reviewer_mail.data).unwrap();
    let subject = parsed
        .headers
        .iter()
        .find(|h| h.get_key().eq_ignore_ascii_case("subject"))
        .unwrap()
        .get_value();
    assert!(
        subject.starts_with("【待审核】停车难"),
        "subject: {subject}"
    );
    let from = parsed
        .headers
        .iter()
        .find(|h| h.get_key().eq_ignore_ascii_case("from"))
        .unwrap()
        .get_value();
    assert!(from.contains("noreply@sp.test"), "{from}");
    let mut text = None;
    let mut html = None;
    for part in &parsed.subparts {
        match part.ctype.mimetype.as_str() {
            "text/plain" => text = Some(part.get_body().unwrap()),
            "text/html" => html = Some(part.get_body().unwrap()),
            _ => {}
        }
    }
    let text = text.expect("a plain text part");
    let html = html.expect("an HTML part");
    // Mails go out several at once, so the first to arrive may be about either project: the
    // one whose title the subject names.
    let project = rows
        .iter()
        .filter(|r| r.recipient_email.contains("reviewer1"))
        .find(|r| {
            let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
            payload["project"]["title"]
                .as_str()
                .is_some_and(|title| subject.ends_with(title))
        })
        .and_then(|r| r.project_id)
        .expect("the subject names one of reviewer1's projects");
    let link = format!("https://sp.test/projects/{project}");
    assert!(text.contains(&link), "{text}");
    assert!(text.contains("提交了立项申请"), "{text}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    // Message-IDs are unique per outbox row.
    let mut ids: Vec<String> = got
        .iter()
        .map(|m| {
            mailparse::parse_mail(&m.data)
                .unwrap()
                .headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case("message-id"))
                .unwrap()
                .get_value()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len());
}

#[tokio::test]
async fn the_server_down_for_a_while_then_back() {
    let (t, _w, queued) = queue_mail(1).await;
    let port = free_port();
    let sender = Sender::new(t.app.clone(), smtp(port), settings(8, 50));
    let t0 = Utc::now();
    // Down: every mail is kept for a later try, none lost.
    let r = sender.run_once(t0).await.unwrap();
    assert_eq!((r.sent, r.retried as u64, r.dead), (0, queued, 0), "{r:?}");
    let rows = outbox::Entity::find().all(&t.app.db.read).await.unwrap();
    assert!(rows
        .iter()
        .all(|r| r.attempts == 1 && r.last_error.is_some() && !r.dead));
    // Not due again before the backoff has passed.
    assert_eq!(
        sender
            .run_once(t0 + Duration::seconds(10))
            .await
            .unwrap()
            .retried,
        0
    );
    // Back: everything goes out, once.
    let (_, inbox) = smtp_server(port);
    let r = sender.run_once(t0 + Duration::minutes(1)).await.unwrap();
    assert_eq!(r.sent as u64, queued, "{r:?}");
    assert_eq!(inbox.lock().unwrap().len() as u64, queued);
    assert_eq!(
        sender.run_once(t0 + Duration::hours(2)).await.unwrap().sent,
        0
    );
    assert_eq!(inbox.lock().unwrap().len() as u64, queued);
}

#[tokio::test]
async fn dead_letters_after_the_declared_tries() {
    let (t, _w, queued) = queue_mail(1).await;
    let sender = Sender::new(t.app.clone(), smtp(free_port()), settings(2, 50));
    let t0 = Utc::now();
    assert_eq!(sender.run_once(t0).await.unwrap().retried as u64, queued);
    let r = sender.run_once(t0 + Duration::hours(1)).await.unwrap();
    assert_eq!(r.dead as u64, queued, "{r:?}");
    let dead = outbox::Entity::find()
        .filter(outbox::Column::Dead.eq(true))
        .count(&t.app.db.read)
        .await
        .unwrap();
    assert_eq!(dead, queued);
    // Dead letters are not tried again.
    let r = sender.run_once(t0 + Duration::days(2)).await.unwrap();
    assert_eq!((r.sent, r.retried, r.dead), (0, 0, 0));
}

#[tokio::test]
async fn a_sender_that_dies_after_claiming_loses_nothing() {
    let (t, _w, queued) = queue_mail(2).await;
    let (port, inbox) = smtp_server(0);
    let t0 = Utc::now();
    // A sender claims the batch and dies before delivering (its lease is all that is left).
    {
        let dying = Sender::new(t.app.clone(), smtp(port), settings(8, 50));
        assert_eq!(dying.claim(t0).await.unwrap().len() as u64, queued);
    }
    let sender = Sender::new(t.app.clone(), smtp(port), settings(8, 50));
    // Within the lease nobody sends them twice...
    assert_eq!(
        sender
            .run_once(t0 + Duration::minutes(1))
            .await
            .unwrap()
            .sent,
        0
    );
    // ...after it they go out once.
    let r = sender.run_once(t0 + Duration::minutes(6)).await.unwrap();
    assert_eq!(r.sent as u64, queued, "{r:?}");
    assert_eq!(inbox.lock().unwrap().len() as u64, queued);
    assert_eq!(unsent(&t).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_senders_send_each_mail_once() {
    let (t, _w, queued) = queue_mail(8).await;
    let (port, inbox) = smtp_server(0);
    let now = Utc::now();
    let a = Sender::new(t.app.clone(), smtp(port), settings(8, 3));
    let b = Sender::new(t.app.clone(), smtp(port), settings(8, 3));
    let mut total = 0;
    loop {
        let (ra, rb) = tokio::join!(a.run_once(now), b.run_once(now));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        if ra.sent + rb.sent == 0 {
            break;
        }
        total += ra.sent + rb.sent;
    }
    assert_eq!(total as u64, queued);
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len() as u64, queued, "each mail once");
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_files() {
    let (t, _w, queued) = queue_mail(1).await;
    let dir = tempfile::tempdir().unwrap();
    let sender = Sender::new(
        t.app.clone(),
        Transport::new(None, dir.path().to_path_buf()).unwrap(),
        settings(8, 50),
    );
    let r = sender.run_once(Utc::now()).await.unwrap();
    assert_eq!(r.sent as u64, queued);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len() as u64, queued, "{files:?}");
    for f in &files {
        assert_eq!(f.extension().and_then(|e| e.to_str()), Some("eml"));
        let bytes = std::fs::read(f).unwrap();
        let parsed = mailparse::parse_mail(&bytes).unwrap();
        assert_eq!(parsed.subparts.len(), 2, "text and HTML");
        let text = parsed.subparts[0].get_body().unwrap();
        assert!(text.contains("https://sp.test/projects/"), "{text}");
    }
}

/// People see their own mail; the administrator sees the district's dead letters and sends one
/// again, to the user's corrected address.
#[tokio::test]
async fn history_dead_letters_and_retry_over_http() {
    use common::http::{call, login, set_passwords, start};
    let (t, w, queued) = queue_mail(1).await;
    let sender = Sender::new(t.app.clone(), smtp(free_port()), settings(1, 50));
    let t0 = Utc::now();
    assert_eq!(sender.run_once(t0).await.unwrap().dead as u64, queued);
    set_passwords(&t.app).await;
    let (addr, server) = start(&t.app).await;
    let reviewer = login(addr, "reviewer1").await;
    let admin = login(addr, "admin").await;
    let mine = call(
        addr,
        "GET",
        "/api/v1/me/notifications",
        Some(&reviewer),
        &[],
        None,
    )
    .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let items = mine.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "reviewer1 was told once: {}", mine.text);
    assert_eq!(items[0]["state"], "dead");
    assert_eq!(items[0]["template"], "application_submitted");
    let member = login(addr, "member1").await;
    let theirs = call(
        addr,
        "GET",
        "/api/v1/me/notifications",
        Some(&member),
        &[],
        None,
    )
    .await;
    assert_eq!(
        theirs.body["items"].as_array().unwrap().len(),
        0,
        "nothing for member1"
    );

    let dead = call(
        addr,
        "GET",
        "/api/v1/outbox?state=dead",
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(dead.status, 200, "{}", dead.text);
    assert_eq!(dead.body["items"].as_array().unwrap().len() as u64, queued);
    let id = items[0]["id"].as_i64().unwrap();
    assert_eq!(
        call(
            addr,
            "POST",
            &format!("/api/v1/outbox/{id}/retry"),
            Some(&reviewer),
            &[],
            None
        )
        .await
        .status,
        403
    );
    // The address is corrected, then the letter retried: it goes to the new address.
    let uid = w.user("reviewer1").user_id;
    let r = call(
        addr,
        "PATCH",
        &format!("/api/v1/users/{uid}"),
        Some(&admin),
        &[],
        Some(r#"{"email":"reviewer1.new@sp.test"}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call(
        addr,
        "POST",
        &format!("/api/v1/outbox/{id}/retry"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "queued");
    assert_eq!(r.body["recipient_email"], "reviewer1.new@sp.test");
    let again = call(
        addr,
        "POST",
        &format!("/api/v1/outbox/{id}/retry"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(again.status, 422, "only dead letters: {}", again.text);
    let (port, inbox) = smtp_server(0);
    let live = Sender::new(t.app.clone(), smtp(port), settings(3, 50));
    assert_eq!(
        live.run_once(t0 + Duration::minutes(1)).await.unwrap().sent,
        1
    );
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(
        got[0]
            .to
            .iter()
            .any(|a| a.contains("reviewer1.new@sp.test")),
        "{:?}",
        got[0].to
    );
    server.stop().await;
}

/// The transport keeps connections open for the next mail (one greeting for many mails, one at
/// a time), and closes those left idle.
#[tokio::test]
async fn connections_are_reused_and_idle_ones_closed() {
    use std::sync::atomic::Ordering;
    let (port, inbox, helos) = counting_smtp_server(0);
    let transport = smtp(port);
    let mail = |i: usize| {
        lettre::Message::builder()
            .from("书记项目 <noreply@sp.test>".parse().unwrap())
            .to(format!("r{i}@sp.test").parse().unwrap())
            .subject(format!("第{i}封"))
            .body(format!("正文{i}"))
            .unwrap()
    };
    for i in 0..5 {
        transport.send(mail(i), "unused").await.unwrap();
    }
    assert_eq!(inbox.lock().unwrap().len(), 5);
    assert_eq!(
        helos.load(Ordering::SeqCst),
        1,
        "one connection for five mails"
    );
    // Not idle long enough: kept.
    transport
        .close_idle(std::time::Duration::from_secs(60))
        .await;
    transport.send(mail(5), "unused").await.unwrap();
    assert_eq!(helos.load(Ordering::SeqCst), 1);
    // Idle ones closed: the next mail opens a new connection.
    transport.close_idle(std::time::Duration::ZERO).await;
    transport.send(mail(6), "unused").await.unwrap();
    assert_eq!(helos.load(Ordering::SeqCst), 2);
    assert_eq!(inbox.lock().unwrap().len(), 7);
}
