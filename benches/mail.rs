//! Mails delivered per second from the outbox to a local SMTP server (mailin-embedded over TCP
//! on 127.0.0.1, or any SMTP server named by SP_BENCH_SMTP), rendering included. Prints the
//! figure.
//!
//! Run: `cargo bench --bench mail`. SP_BENCH_MAILS sets how many (default 3000),
//! SP_BENCH_CONNECTIONS the connections and mails in flight (default 4), SP_BENCH_SMTP=HOST:PORT
//! another server (e.g. `python3 -m aiosmtpd -n -l 127.0.0.1:8025`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use secretary_projects::app::App;
use secretary_projects::notify::{Sender, SenderSettings, Transport};
use secretary_projects::store::entity::{organisation, outbox, user};
use secretary_projects::store::Db;
use secretary_projects::workflow;

#[derive(Clone, Default)]
struct Count(Arc<AtomicUsize>);

impl mailin_embedded::Handler for Count {
    fn data_end(&mut self) -> mailin_embedded::Response {
        self.0.fetch_add(1, Ordering::Relaxed);
        mailin_embedded::response::OK
    }
}

fn main() {
    let n: usize = std::env::var("SP_BENCH_MAILS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let connections: usize = std::env::var("SP_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let external = std::env::var("SP_BENCH_SMTP")
        .ok()
        .filter(|s| !s.is_empty());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("mail.db").display());
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let app = App::new(db);
        let w = workflow::load_file(std::path::Path::new("workflows/secretary_project.yaml")).unwrap();
        app.registry.register(&app.db, vec![w], Utc::now()).await.unwrap();
        let now = Utc::now();
        let org = organisation::ActiveModel {
            parent_id: Set(None),
            name: Set("d".into()),
            kind: Set("district".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db.write)
        .await
        .unwrap();
        let u = user::ActiveModel {
            login: Set("r".into()),
            name: Set("审核人".into()),
            email: Set("r@bench.invalid".into()),
            organisation_id: Set(org.id),
            roles: Set("reviewer".into()),
            password_hash: Set(None),
            language: Set("zh".into()),
            active: Set(true),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db.write)
        .await
        .unwrap();
        for i in 0..n {
            outbox::ActiveModel {
                unique_key: Set(format!("bench:{i}")),
                recipient_user_id: Set(Some(u.id)),
                recipient_email: Set(u.email.clone()),
                language: Set("zh".into()),
                template: Set("application_submitted".into()),
                project_id: Set(None),
                payload: Set(serde_json::json!({
                    "definition": "secretary_project",
                    "project": {"id": i, "title": format!("项目{i}")},
                    "actor": {"name": "书记"}, "link": format!("/projects/{i}"),
                })
                .to_string()),
                created_at: Set(now),
                due_at: Set(now),
                next_attempt_at: Set(now),
                attempts: Set(0),
                last_error: Set(None),
                sent_at: Set(None),
                dead: Set(false),
                ..Default::default()
            }
            .insert(&app.db.write)
            .await
            .unwrap();
        }
        let count = Count::default();
        let received = count.0.clone();
        let (server_name, address) = match &external {
            Some(addr) => (format!("the SMTP server at {addr}"), addr.clone()),
            None => {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let port = listener.local_addr().unwrap().port();
                let mut server = mailin_embedded::Server::new(count);
                // One thread per connection, with room to spare.
                server
                    .with_name("bench.invalid")
                    .with_num_threads(connections as u32 + 4)
                    .with_tcp_listener(listener);
                std::thread::spawn(move || {
                    let _ = server.serve();
                });
                (
                    format!("mailin-embedded at 127.0.0.1:{port}"),
                    format!("127.0.0.1:{port}"),
                )
            }
        };
        let transport = Transport::with_connections(
            Some(&format!("smtp+plain://{address}")),
            "unused".into(),
            connections,
        )
        .unwrap();
        let sender = Sender::new(
            app.clone(),
            transport,
            SenderSettings {
                batch: 200,
                concurrency: connections,
                ..Default::default()
            },
        );
        let started = Instant::now();
        let mut sent = 0;
        loop {
            let r = sender.run_once(Utc::now()).await.unwrap();
            if r.sent + r.retried + r.dead == 0 {
                break;
            }
            sent += r.sent;
        }
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(sent, n);
        println!(
            "SQLite outbox -> {server_name}, {connections} connection(s): {sent} mails (rendered, text + HTML) in {secs:.2} s = {:.0} mails/s{}",
            sent as f64 / secs,
            if external.is_none() {
                format!("; the server received {}", received.load(Ordering::Relaxed))
            } else {
                String::new()
            }
        );
    });
}
