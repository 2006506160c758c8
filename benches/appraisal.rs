//! Resident appraisals accepted per second by the public endpoint
//! (`POST /api/v1/projects/{id}/appraisals`), over HTTP on 127.0.0.1 with keep-alive
//! connections, on SQLite and, when `SP_BENCH_POSTGRES` names a server, on PostgreSQL. Each
//! accepted appraisal reads its token and project, and writes the appraisal, the used token,
//! the chained audit event and the project's counters in one transaction. Prints the figures.
//!
//! Run: `cargo bench --bench appraisal` (SP_BENCH_APPRAISALS sets how many; default 20000,
//! SP_BENCH_CLIENTS how many connections; default 32).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter};
use secretary_projects::app::{App, Principal};
use secretary_projects::store::entity::{project, user};
use secretary_projects::store::Db;
use secretary_projects::workflow;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One keep-alive connection posting `jobs` in turn; answers how many were accepted (201).
async fn client(addr: SocketAddr, jobs: Vec<(i64, String)>) -> usize {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut ok = 0;
    for (k, (project, code)) in jobs.iter().enumerate() {
        let rating = if k % 5 == 4 {
            "basically_satisfied"
        } else {
            "satisfied"
        };
        let body = format!(r#"{{"token":"{code}","rating":"{rating}"}}"#);
        let req = format!(
            "POST /api/v1/projects/{project}/appraisals HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        w.write_all(req.as_bytes()).await.unwrap();
        let mut status = String::new();
        r.read_line(&mut status).await.unwrap();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        r.read_exact(&mut body).await.unwrap();
        if status.split_whitespace().nth(1) == Some("201") {
            ok += 1;
        }
    }
    ok
}

async fn run(label: &str, url: &str, n: usize, clients: usize) {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    let app = App::new(db);
    let w = workflow::load_file(std::path::Path::new("workflows/secretary_project.yaml")).unwrap();
    app.registry
        .register(&app.db, vec![w.clone()], Utc::now())
        .await
        .unwrap();
    // The demo district as of December: some projects are in the resident appraisal.
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
    let w = app.registry.current("secretary_project").unwrap().workflow;
    secretary_projects::demo::load(&app, &w, now).await.unwrap();
    let projects: Vec<i64> = project::Entity::find()
        .filter(project::Column::Stage.eq("resident_appraisal"))
        .all(&app.db.read)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert!(
        !projects.is_empty(),
        "the demo has projects in resident appraisal"
    );
    let admin = user::Entity::find()
        .filter(user::Column::Roles.contains("admin"))
        .one(&app.db.read)
        .await
        .unwrap()
        .unwrap();
    let admin = Principal::from(&admin);
    let mut jobs = Vec::with_capacity(n);
    let per = n.div_ceil(projects.len());
    let issued_at = Utc::now();
    for p in &projects {
        let mut left = per;
        while left > 0 {
            let count = left.min(2000);
            let batch = app
                .issue_tokens(&admin, *p, count as u32, issued_at)
                .await
                .unwrap();
            jobs.extend(batch.codes.into_iter().map(|c| (*p, c)));
            left -= count;
        }
    }
    jobs.truncate(n);
    // Spread the projects over the clients, as residents of several projects would be.
    let mut shares: Vec<Vec<(i64, String)>> = vec![Vec::new(); clients];
    for (k, job) in jobs.into_iter().enumerate() {
        shares[k % clients].push(job);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(secretary_projects::http::serve(
        app.clone(),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let accepted = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = shares
        .into_iter()
        .map(|jobs| {
            let accepted = accepted.clone();
            tokio::spawn(async move {
                accepted.fetch_add(client(addr, jobs).await, Ordering::Relaxed);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let accepted = accepted.load(Ordering::Relaxed);
    let _ = stop.send(());
    let _ = server.await;
    let counted: i64 = project::Entity::find()
        .filter(project::Column::Id.is_in(projects.clone()))
        .all(&app.db.read)
        .await
        .unwrap()
        .iter()
        .map(|p| i64::from(p.appraisal_count))
        .sum();
    println!(
        "{label}: {accepted} appraisals accepted in {secs:.2} s = {:.0} appraisals/s \
         ({clients} keep-alive clients, {} projects; appraisal_count total {counted})",
        accepted as f64 / secs,
        projects.len()
    );
    assert_eq!(accepted, n, "every token counted once");
}

fn main() {
    let n = env_usize("SP_BENCH_APPRAISALS", 20_000);
    let clients = env_usize("SP_BENCH_CLIENTS", 32);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        run("SQLite", &url, n, clients).await;
        match std::env::var("SP_BENCH_POSTGRES")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(server) => {
                let server = server.trim_end_matches('/').to_string();
                let name = format!("sp_bench_{}", rand::random::<u32>());
                let admin = Database::connect(format!("{server}/postgres"))
                    .await
                    .unwrap();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                run("PostgreSQL", &format!("{server}/{name}"), n, clients).await;
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            }
            None => println!(
                "PostgreSQL: SKIPPED (set SP_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432)"
            ),
        }
    });
}
