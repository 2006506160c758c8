//! Throughput of the engine, printed in one run:
//! - pure decisions per second (no I/O),
//! - persisted actions per second through the use-case layer (state + audit event + outbox
//!   rows + deadline rows in one transaction) on SQLite, and on PostgreSQL when
//!   `SP_BENCH_POSTGRES` names a server (e.g. postgres://postgres@127.0.0.1:5432),
//! - beside each, the raw limit of the same database: a one-row UPDATE per transaction.
//!
//! Run: `cargo bench --bench engine`

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, Set, TransactionTrait};
use secretary_projects::app::projects::{ActionInput, NewProject};
use secretary_projects::app::{App, Principal};
use secretary_projects::store::entity::{organisation, user};
use secretary_projects::store::Db;
use secretary_projects::workflow::engine::{decide, Actor, Facts, Relation, Request};
use secretary_projects::workflow::{self, Workflow};
use serde_json::{json, Map, Value};

fn default_workflow() -> Workflow {
    workflow::load_file(std::path::Path::new("workflows/secretary_project.yaml"))
        .expect("default definition")
}

fn pure_decisions(c: &mut Criterion) {
    let w = default_workflow();
    let form: Map<String, Value> = Map::new();
    let counts = vec![("self_check".to_string(), 1)];
    let facts = Facts {
        stage: "under_review",
        year: 2026,
        form: &form,
        milestones_total: 3,
        milestones_done: 1,
        appraisals: 0,
        score_counts: &counts,
        deadline_dues: &[],
    };
    let reviewer = Actor {
        roles: w.roles(["reviewer"]),
        relation: Relation::District,
    };
    let member = Actor {
        roles: w.roles(["member"]),
        relation: Relation::Own,
    };
    let now = Utc::now();
    let mut g = c.benchmark_group("pure");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decide_allowed", |b| {
        b.iter(|| {
            let r = Request {
                action: "approve",
                comment: Some("ok"),
                now,
            };
            std::hint::black_box(decide(&w, &facts, &reviewer, &r).is_ok())
        })
    });
    g.bench_function("decide_refused", |b| {
        b.iter(|| {
            let r = Request {
                action: "approve",
                comment: None,
                now,
            };
            std::hint::black_box(decide(&w, &facts, &member, &r).is_err())
        })
    });
    g.finish();
}

struct Bench {
    app: App,
    reviewer: Principal,
    projects: Vec<i64>,
    _dir: Option<tempfile::TempDir>,
}

async fn setup(db: Db, dir: Option<tempfile::TempDir>, projects: usize) -> Bench {
    db.migrate().await.unwrap();
    let app = App::new(db);
    app.registry
        .register(&app.db, vec![default_workflow()], Utc::now())
        .await
        .unwrap();
    let now = Utc::now();
    let org = |name: &str, parent: Option<i64>| organisation::ActiveModel {
        parent_id: Set(parent),
        name: Set(name.into()),
        kind: Set(if parent.is_some() {
            "subdistrict"
        } else {
            "district"
        }
        .into()),
        created_at: Set(now),
        ..Default::default()
    };
    let district = org("区", None).insert(&app.db.write).await.unwrap();
    let sub = org("街道", Some(district.id))
        .insert(&app.db.write)
        .await
        .unwrap();
    let person = |login: &str, roles: &str, org: i64| user::ActiveModel {
        login: Set(login.into()),
        name: Set(login.into()),
        email: Set(format!("{login}@bench.invalid")),
        organisation_id: Set(org),
        roles: Set(roles.into()),
        password_hash: Set(None),
        language: Set("zh".into()),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    };
    let reviewer = Principal::from(
        &person("reviewer", "reviewer", district.id)
            .insert(&app.db.write)
            .await
            .unwrap(),
    );
    let secretary = Principal::from(
        &person("secretary", "secretary", sub.id)
            .insert(&app.db.write)
            .await
            .unwrap(),
    );
    person("member", "member", sub.id)
        .insert(&app.db.write)
        .await
        .unwrap();
    let w = app.registry.current("secretary_project").unwrap().workflow;
    let theme = w.field("theme").unwrap().options[0].id.to_string();
    let form = json!({
        "title": "t", "theme": theme, "problem": "p", "feasibility": "f", "goals": "g",
        "measures": "m", "schedule": "s", "team": [{"user": "secretary"}],
        "milestones": [
            {"title": "a", "owner": "member", "due": "2026-06-30"},
            {"title": "b", "owner": "member", "due": "2026-09-30"}
        ]
    });
    let t0 = Utc.with_ymd_and_hms(2026, 2, 1, 1, 0, 0).unwrap();
    let act = |a: &str| ActionInput {
        action: a.into(),
        comment: Some("bench".into()),
        expected_version: None,
    };
    let mut ids = Vec::new();
    for i in 0..projects {
        let p = app
            .create_project(
                &secretary,
                NewProject {
                    definition: "secretary_project".into(),
                    title: format!("p{i}"),
                    year: 2026,
                    organisation_id: None,
                    form: form.as_object().unwrap().clone(),
                },
                t0,
            )
            .await
            .unwrap();
        app.take_action(&secretary, p.id, act("submit"), t0)
            .await
            .unwrap();
        app.take_action(&reviewer, p.id, act("approve"), t0)
            .await
            .unwrap();
        app.take_action(&reviewer, p.id, act("start_mid_term"), t0)
            .await
            .unwrap();
        let v = app.project(p.id).await.unwrap().version;
        let mid = json!({"midterm_progress": 50, "midterm_opinion": "ok"});
        app.edit_form(&reviewer, p.id, v, mid.as_object().unwrap().clone(), t0)
            .await
            .unwrap();
        app.take_action(&reviewer, p.id, act("pass_mid_term"), t0)
            .await
            .unwrap();
        ids.push(p.id);
    }
    Bench {
        app,
        reviewer,
        projects: ids,
        _dir: dir,
    }
}

/// `n` actions spread over `workers` concurrent tasks, each cycling its own projects between
/// implementation and mid-term review. Every action writes the project row, an audit event,
/// outbox rows (secretary and member are told) and deadline rows.
async fn run_actions(b: &Arc<Bench>, n: u64, workers: usize) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..workers {
        let b = b.clone();
        let per = n / workers as u64 + u64::from((k as u64) < n % workers as u64);
        tasks.push(tokio::spawn(async move {
            // (id, stage, version) of this worker's projects, kept from each action's answer.
            let mut mine = Vec::new();
            for id in b.projects.iter().copied().skip(k).step_by(workers) {
                let p = b.app.project(id).await.unwrap();
                mine.push((id, p.stage, p.version));
            }
            for i in 0..per {
                let slot = (i as usize) % mine.len();
                let (id, stage, version) = mine[slot].clone();
                let action = if stage == "implementation" {
                    "start_mid_term"
                } else {
                    "pass_mid_term"
                };
                let input = ActionInput {
                    action: action.into(),
                    comment: None,
                    expected_version: Some(version),
                };
                let done = b
                    .app
                    .take_action(&b.reviewer, id, input, Utc::now())
                    .await
                    .unwrap();
                mine[slot] = (id, done.project.stage, done.project.version);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

/// The raw limit: one-row UPDATE per transaction through the same connection set-up.
async fn run_raw(db: &Db, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let txn = db.write.begin().await.unwrap();
        txn.execute_unprepared("UPDATE bench_counter SET n = n + 1 WHERE id = 1")
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }
    start.elapsed()
}

/// The raw limit of SQLite itself, through rusqlite (the driver of the SQLite action path).
fn run_raw_rusqlite(path: &std::path::Path, n: u64) -> Duration {
    let c = rusqlite::Connection::open(path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "NORMAL").unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        c.prepare_cached("UPDATE bench_counter SET n = n + 1 WHERE id = ?1")
            .unwrap()
            .execute([1])
            .unwrap();
        c.execute_batch("COMMIT").unwrap();
    }
    start.elapsed()
}

fn persisted(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut targets: Vec<(&str, Arc<Bench>)> = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let sqlite_file = dir.path().join("bench.db");
    let url = format!("sqlite://{}?mode=rwc", sqlite_file.display());
    let sqlite = rt.block_on(async {
        let db = Db::connect(&url).await.unwrap();
        setup(db, Some(dir), 64).await
    });
    targets.push(("sqlite", Arc::new(sqlite)));
    match std::env::var("SP_BENCH_POSTGRES") {
        Ok(server) if !server.is_empty() => {
            let pg = rt.block_on(async {
                let server = server.trim_end_matches('/').to_string();
                let admin = Database::connect(format!("{server}/postgres")).await.unwrap();
                admin.execute_unprepared("DROP DATABASE IF EXISTS sp_bench WITH (FORCE)").await.unwrap();
                admin.execute_unprepared("CREATE DATABASE sp_bench").await.unwrap();
                let db = Db::connect(&format!("{server}/sp_bench")).await.unwrap();
                setup(db, None, 64).await
            });
            targets.push(("postgres", Arc::new(pg)));
        }
        _ => eprintln!(
            "\n!!! PostgreSQL benchmark SKIPPED: set SP_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432 to run it !!!\n"
        ),
    }
    let mut g = c.benchmark_group("persisted");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(1));
    for (name, b) in &targets {
        rt.block_on(async {
            let db = &b.app.db;
            db.write.execute_unprepared("CREATE TABLE IF NOT EXISTS bench_counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)").await.unwrap();
            db.write.execute_unprepared("DELETE FROM bench_counter").await.unwrap();
            db.write.execute_unprepared("INSERT INTO bench_counter (id, n) VALUES (1, 0)").await.unwrap();
        });
        for workers in [1usize, 8, 64] {
            g.bench_with_input(
                BenchmarkId::new(format!("{name}/action"), workers),
                &workers,
                |bench, &workers| {
                    bench.to_async(&rt).iter_custom(|iters| {
                        let b = b.clone();
                        async move { run_actions(&b, iters, workers).await }
                    })
                },
            );
        }
        if *name == "sqlite" {
            g.bench_function(
                BenchmarkId::new("sqlite/raw_update_tx_rusqlite", 1),
                |bench| bench.iter_custom(|iters| run_raw_rusqlite(&sqlite_file, iters)),
            );
        }
        g.bench_function(
            BenchmarkId::new(format!("{name}/raw_update_tx_sea_orm"), 1),
            |bench| {
                bench.to_async(&rt).iter_custom(|iters| {
                    let b = b.clone();
                    async move { run_raw(&b.app.db, iters).await }
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, pure_decisions, persisted);
criterion_main!(benches);
