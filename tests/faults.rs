//! Faults with real, separate processes (the `secretary-projects` binary): a sender killed
//! with SIGKILL in the middle of a batch and started again, and two servers on one PostgreSQL
//! database running the same schedule. What the real SMTP server (mailin-embedded, over TCP on
//! 127.0.0.1) received is read back and compared with the outbox: every mail once.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Datelike, Duration, Utc};
use common::{env, postgres_server, repo, world, TestEnv, World};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secretary_projects::app::projects::{ActionInput, NewProject};
use secretary_projects::store::entity::outbox;
use serde_json::json;
use sha2::{Digest, Sha256};

/// What the SMTP server accepted: Message-ID → how many times.
type Received = Arc<Mutex<BTreeMap<String, usize>>>;

/// The kill switch: when the server is about to accept mail number `after + 1`, it stops
/// accepting (no further mail gets a `250`), waits long enough for the sender to record the
/// mails it already saw accepted, and kills the sender process with SIGKILL. The mails it was
/// receiving are answered with an error nobody reads: the client never learned they were
/// accepted, so they are not counted as delivered (SMTP hands responsibility over with the
/// `250`). After that the server accepts mail normally again, for the restarted sender.
#[derive(Clone)]
struct Killer {
    after: usize,
    state: Arc<(Mutex<(usize, Phase)>, Condvar)>,
    victim: Arc<Mutex<Option<Child>>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Accepting,
    Killing,
    Killed,
}

impl Killer {
    fn new(after: usize) -> Killer {
        Killer {
            after,
            state: Arc::new((Mutex::new((0, Phase::Accepting)), Condvar::new())),
            victim: Arc::default(),
        }
    }

    fn phase(&self) -> Phase {
        self.state.0.lock().unwrap().1
    }

    /// False when this mail must not be accepted (the sender is being killed).
    fn admit(&self) -> bool {
        let (lock, cvar) = &*self.state;
        let mut state = lock.lock().unwrap();
        match state.1 {
            Phase::Killed => true,
            Phase::Killing => {
                while state.1 != Phase::Killed {
                    state = cvar.wait(state).unwrap();
                }
                false
            }
            Phase::Accepting if state.0 < self.after => {
                state.0 += 1;
                true
            }
            Phase::Accepting => {
                state.1 = Phase::Killing;
                drop(state);
                // Time for the sender to mark as sent what it saw accepted.
                std::thread::sleep(StdDuration::from_millis(500));
                if let Some(mut child) = self.victim.lock().unwrap().take() {
                    child.kill().expect("SIGKILL the sender");
                    child.wait().expect("reap the sender");
                }
                lock.lock().unwrap().1 = Phase::Killed;
                cvar.notify_all();
                false
            }
        }
    }
}

#[derive(Clone)]
struct Inbox {
    current: Vec<u8>,
    received: Received,
    killer: Option<Killer>,
}

fn message_id(data: &[u8]) -> String {
    let parsed = mailparse::parse_mail(data).expect("a mail");
    parsed
        .headers
        .iter()
        .find(|h| h.get_key().eq_ignore_ascii_case("message-id"))
        .map(|h| h.get_value().trim().to_string())
        .expect("a Message-ID")
}

impl mailin_embedded::Handler for Inbox {
    fn data_start(&mut self, _: &str, _: &str, _: bool, _: &[String]) -> mailin_embedded::Response {
        self.current.clear();
        mailin_embedded::response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> mailin_embedded::Response {
        let data = std::mem::take(&mut self.current);
        if let Some(k) = &self.killer {
            if !k.admit() {
                // mailin-embedded stays in its DATA state after an error here, so this answer
                // only suits a client that is gone: this one is being killed.
                return mailin_embedded::response::INTERNAL_ERROR;
            }
        }
        *self
            .received
            .lock()
            .unwrap()
            .entry(message_id(&data))
            .or_default() += 1;
        mailin_embedded::response::OK
    }
}

fn smtp_server(killer: Option<Killer>) -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an SMTP port");
    let port = listener.local_addr().unwrap().port();
    let received = Received::default();
    let inbox = Inbox {
        current: Vec::new(),
        received: received.clone(),
        killer,
    };
    let mut server = mailin_embedded::Server::new(inbox);
    // One thread per connection: two servers with four connections each, and room to spare.
    server
        .with_name("faults.invalid")
        .with_num_threads(16)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, received)
}

/// The Message-ID the sender gives the outbox row with this unique key.
fn expected_id(unique_key: &str) -> String {
    format!(
        "<{}@secretary-projects>",
        hex::encode(&Sha256::digest(unique_key.as_bytes())[..16])
    )
}

/// A configuration file for the processes: SMTP server, a short lease (a restarted sender
/// takes over after 5 s instead of 5 minutes).
fn config_file(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("secretary-projects.toml");
    std::fs::write(
        &path,
        format!(
            "public_url = \"https://sp.test\"\n[mail]\nsmtp_url = \"smtp+plain://127.0.0.1:{port}\"\nfrom = \"书记项目 <noreply@sp.test>\"\nlease_seconds = 5\n"
        ),
    )
    .unwrap();
    path
}

fn binary(t: &TestEnv, config: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_secretary-projects"));
    c.env("DATABASE_URL", &t.url)
        .env("SP_WORKFLOWS", repo("workflows"))
        .env("SP_CONFIG", config)
        .env_remove("SMTP_URL")
        .env_remove("BIND")
        .stdin(Stdio::null());
    c
}

async fn outbox_keys(t: &TestEnv) -> Vec<String> {
    outbox::Entity::find()
        .all(&t.app.db.read)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.unique_key)
        .collect()
}

async fn unsent(t: &TestEnv) -> u64 {
    outbox::Entity::find()
        .filter(outbox::Column::SentAt.is_null())
        .count(&t.app.db.read)
        .await
        .unwrap()
}

/// Every outbox row arrived exactly once, and nothing else arrived.
async fn assert_each_mail_once(t: &TestEnv, received: &Received) {
    let got = received.lock().unwrap().clone();
    let doubled: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "mail received twice: {doubled:?}");
    let mut want: Vec<String> = outbox_keys(t)
        .await
        .iter()
        .map(|k| expected_id(k))
        .collect();
    want.sort();
    let got: Vec<String> = got.into_keys().collect();
    assert_eq!(
        got, want,
        "the server received exactly the outbox, once each"
    );
}

async fn district(t: &TestEnv) -> World {
    world(
        &t.app,
        2,
        &[
            ("admin", "admin", 0),
            ("reviewer1", "reviewer", 0),
            ("reviewer2", "reviewer", 0),
            ("secretary1", "secretary", 1),
            ("member1", "member", 1),
            ("secretary2", "secretary", 2),
            ("member2", "member", 2),
        ],
    )
    .await
}

fn act(action: &str) -> ActionInput {
    ActionInput {
        action: action.into(),
        comment: Some("ok".into()),
        expected_version: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_mid_batch_then_restarted_loses_and_doubles_nothing() {
    let t = env().await;
    let w = district(&t).await;
    let wf = t
        .app
        .registry
        .current("secretary_project")
        .unwrap()
        .workflow;
    let theme = wf.field("theme").unwrap().options[0].id.to_string();
    let at = Utc::now() - Duration::hours(1);
    // 30 applications, each announced to the two reviewers: 60 mails.
    for i in 0..30 {
        let form = json!({
            "title": format!("项目{i}"), "theme": theme, "problem": "p", "feasibility": "f",
            "goals": "g", "measures": "m", "schedule": "s", "team": [{"user": "secretary1"}],
            "milestones": [{"title": "a", "owner": "member1", "due": format!("{}-12-31", at.year())}]
        });
        let p = t
            .app
            .create_project(
                w.user("secretary1"),
                NewProject {
                    definition: "secretary_project".into(),
                    title: format!("停车难{i}"),
                    year: at.year(),
                    organisation_id: None,
                    form: form.as_object().unwrap().clone(),
                },
                at,
            )
            .await
            .unwrap();
        t.app
            .take_action(w.user("secretary1"), p.id, act("submit"), at)
            .await
            .unwrap();
    }
    let queued = outbox_keys(&t).await.len() as u64;
    assert_eq!(queued, 60);

    // The server kills the sender when it is about to accept the 21st mail: in the middle of
    // the first batch (50 claimed, four in flight).
    let killer = Killer::new(20);
    let (port, received) = smtp_server(Some(killer.clone()));
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), port);
    let log_path = dir.path().join("send.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = binary(&t, &config)
        .arg("send")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start the sender");
    *killer.victim.lock().unwrap() = Some(child);
    let started = Instant::now();
    while killer.phase() != Phase::Killed {
        assert!(
            started.elapsed() < StdDuration::from_secs(60),
            "the sender never reached the 21st mail (received {}): {}",
            received.lock().unwrap().len(),
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let killed_at = Instant::now();
    eprintln!("sender killed");
    // Killed: 20 delivered, each recorded as sent; the rest unsent, none lost.
    assert_eq!(received.lock().unwrap().len(), 20);
    assert_eq!(
        unsent(&t).await,
        queued - 20,
        "exactly the delivered mails are marked sent"
    );

    // Restarted after its lease ended: it sends the rest, once.
    let lease = StdDuration::from_secs(5);
    if let Some(wait) = lease.checked_sub(killed_at.elapsed()) {
        tokio::time::sleep(wait + StdDuration::from_millis(200)).await;
    }
    let out = binary(&t, &config)
        .arg("send")
        .output()
        .expect("run the sender");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("Sent {} mail(s)", queued - 20)),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(unsent(&t).await, 0);
    assert_each_mail_once(&t, &received).await;
}

/// Kills a child process when dropped, so that a failing test leaves no server behind.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgresql_send_each_scheduled_mail_once() {
    if postgres_server().is_none() {
        // Straight to the process's standard error, past the test harness's capture (which
        // hides `eprintln!` of a passing test): a skipped test must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!! SKIPPED two_servers_on_one_postgresql_send_each_scheduled_mail_once: it needs PostgreSQL; set SP_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432 to run it !!!\n"
        );
        return;
    }
    let t = env().await;
    assert_eq!(t.backend, "postgres");
    let w = district(&t).await;
    let wf = t
        .app
        .registry
        .current("secretary_project")
        .unwrap()
        .workflow;
    let theme = wf.field("theme").unwrap().options[0].id.to_string();
    // Projects whose milestones make the planner speak at its first run, whatever the day:
    // one due today (its 1-day reminder fell at the end of yesterday) and one due three days
    // ago (its escalation, two days after, fell at the end of yesterday too).
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let approved_at = Utc::now() - Duration::days(20);
    for (k, secretary, member) in [(0, "secretary1", "member1"), (1, "secretary2", "member2")] {
        let form = json!({
            "title": format!("项目{k}"), "theme": theme, "problem": "p", "feasibility": "f",
            "goals": "g", "measures": "m", "schedule": "s", "team": [{"user": secretary}],
            "milestones": [
                {"title": "今天到期", "owner": member, "due": today.to_string()},
                {"title": "三天前到期", "owner": member, "due": (today - Duration::days(3)).to_string()}
            ]
        });
        let p = t
            .app
            .create_project(
                w.user(secretary),
                NewProject {
                    definition: "secretary_project".into(),
                    title: format!("停车难{k}"),
                    year: today.year(),
                    organisation_id: None,
                    form: form.as_object().unwrap().clone(),
                },
                approved_at,
            )
            .await
            .unwrap();
        t.app
            .take_action(w.user(secretary), p.id, act("submit"), approved_at)
            .await
            .unwrap();
        t.app
            .take_action(w.user("reviewer1"), p.id, act("approve"), approved_at)
            .await
            .unwrap();
    }
    let events = outbox_keys(&t).await.len();
    assert!(events > 0);

    let (port, received) = smtp_server(None);
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), port);
    let serve = |name: &str| {
        let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap();
        Reaped(
            binary(&t, &config)
                .args(["serve", "--bind", "127.0.0.1:0"])
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start a server"),
        )
    };
    let a = serve("a");
    let b = serve("b");
    let servers_started = Instant::now();
    // Both plan at second 0 of every minute: wait for that run to queue the reminders and
    // escalations, and for the senders to deliver everything.
    let started = Instant::now();
    let scheduled = loop {
        let keys = outbox_keys(&t).await;
        let scheduled = keys.iter().filter(|k| !k.starts_with("event:")).count();
        if scheduled > 0 && unsent(&t).await == 0 {
            break scheduled;
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(120),
            "no scheduled run within two minutes; logs: {}\n{}",
            std::fs::read_to_string(dir.path().join("a.log")).unwrap_or_default(),
            std::fs::read_to_string(dir.path().join("b.log")).unwrap_or_default()
        );
        tokio::time::sleep(StdDuration::from_millis(500)).await;
    };
    // Each project: the 1-day reminder to the secretary and the owner, the escalation to the
    // two reviewers and the admin: at least ten scheduled mails (a weekly digest or monthly
    // request may fall in the same day).
    assert!(scheduled >= 10, "{scheduled}");
    eprintln!(
        "{scheduled} scheduled mails queued and delivered {:.1} s after the two servers started",
        servers_started.elapsed().as_secs_f64()
    );
    // A few more passes of both senders: nothing more goes out.
    tokio::time::sleep(StdDuration::from_secs(5)).await;
    drop((a, b));
    assert_each_mail_once(&t, &received).await;
}
