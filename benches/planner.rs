//! The reminder planner over one million open milestones: how long a run takes when nothing
//! is due (a quiet minute) and when a day's reminders and escalations are due. On SQLite, and
//! on PostgreSQL when `SP_BENCH_POSTGRES` names a server. Prints the figures.
//!
//! Run: `cargo bench --bench planner` (set SP_BENCH_MILESTONES to change the million).

use std::time::Instant;

use chrono::{TimeZone, Utc};
use sea_orm::{ConnectionTrait, Database, DbBackend};
use secretary_projects::app::App;
use secretary_projects::schedule::run_reminders;
use secretary_projects::store::Db;
use secretary_projects::workflow;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

async fn setup(db: Db, milestones: i64) -> App {
    db.migrate().await.unwrap();
    let app = App::new(db);
    let w = workflow::load_file(std::path::Path::new("workflows/secretary_project.yaml")).unwrap();
    app.registry
        .register(&app.db, vec![w], Utc::now())
        .await
        .unwrap();
    let version = app.registry.current("secretary_project").unwrap().id;
    let per_project = 100i64;
    let projects = (milestones / per_project).max(1);
    let sqlite = app.db.backend() == DbBackend::Sqlite;
    let ts = |expr: &str| {
        if sqlite {
            format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {expr})")
        } else {
            format!("({expr})::timestamptz")
        }
    };
    let series = |n: i64| {
        if sqlite {
            format!("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s")
        } else {
            format!("SELECT i FROM generate_series(1, {n}) AS s(i)")
        }
    };
    let now = if sqlite {
        "'2026-01-01 00:00:00'"
    } else {
        "'2026-01-01 00:00:00+00'"
    };
    let statements = vec![
        format!("INSERT INTO organisations (id, parent_id, name, kind, created_at) VALUES (1, NULL, 'district', 'district', {})", ts(now)),
        format!("INSERT INTO organisations (id, parent_id, name, kind, created_at) VALUES (2, 1, 'sub', 'subdistrict', {})", ts(now)),
        format!("INSERT INTO users (id, login, name, email, organisation_id, roles, password_hash, language, active, created_at) VALUES \
            (1, 'secretary', 's', 's@bench.invalid', 2, 'secretary', NULL, 'zh', true, {t}), \
            (2, 'member', 'm', 'm@bench.invalid', 2, 'member', NULL, 'zh', true, {t}), \
            (3, 'reviewer', 'r', 'r@bench.invalid', 1, 'reviewer', NULL, 'zh', true, {t})", t = ts(now)),
        format!("INSERT INTO projects (id, definition_id, definition_key, title, title_folded, year, organisation_id, district_id, lead_user_id, stage, form_data, version, milestones_total, milestones_done, appraisal_count, score_counts, audit_seq, audit_head, stage_entered_at, created_at, updated_at) \
            SELECT i, {version}, 'secretary_project', 'p' || i, 'p' || i, 2026, 2, 1, 1, 'implementation', '{{}}', 1, {per_project}, 0, 0, '{{}}', 0, '', {t}, {t}, {t} FROM ({s}) AS x", t = ts(now), s = series(projects)),
        // Milestone i of project (i % projects) + 1, due on day (i % 365) of 2026.
        format!("INSERT INTO milestones (id, project_id, position, title, goal, owner_login, owner_user_id, start_date, due_date, weight, percent, done_at, updated_at) \
            SELECT i, (i % {projects}) + 1, i / {projects}, 'm' || i, '', 'member', 2, NULL, {due}, 1.0, 0, NULL, {t} FROM ({s}) AS x",
            due = if sqlite { "date('2026-01-01', '+' || (i % 365) || ' days')".to_string() } else { "(DATE '2026-01-01' + (i % 365))".to_string() },
            t = ts(now), s = series(milestones)),
        format!("INSERT INTO project_deadlines (project_id, deadline_key, milestone_id, due_at, opened_at, closed_at) \
            SELECT (i % {projects}) + 1, 'milestones', i, {due}, {t}, NULL FROM ({s}) AS x",
            due = if sqlite { "strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01 15:59:59', '+' || (i % 365) || ' days')".to_string() } else { "(TIMESTAMPTZ '2026-01-01 15:59:59+00' + (i % 365) * INTERVAL '1 day')".to_string() },
            t = ts(now), s = series(milestones)),
    ];
    let started = Instant::now();
    for s in statements {
        app.db.write.execute_unprepared(&s).await.unwrap();
    }
    if !sqlite {
        for t in [
            "organisations",
            "users",
            "projects",
            "milestones",
            "project_deadlines",
        ] {
            app.db
                .write
                .execute_unprepared(&format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
                ))
                .await
                .unwrap();
            app.db
                .write
                .execute_unprepared(&format!("ANALYZE {t}"))
                .await
                .unwrap();
        }
    }
    println!(
        "  set-up: {milestones} open milestones on {projects} projects in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    app
}

async fn measure(name: &str, app: &App) {
    // A quiet minute: 12:00-12:01 Beijing time; every due time is at 23:59:59.
    let quiet_from = TZ
        .with_ymd_and_hms(2026, 6, 10, 12, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let q = run_reminders(
            app,
            quiet_from + chrono::Duration::minutes(1),
            Some(quiet_from),
            TZ,
            true,
        )
        .await
        .unwrap();
        assert!(q.is_empty());
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{name}: planning a quiet minute (nothing due): {:.1} ms",
        best * 1000.0
    );
    // The minute of a day's end: that day's 7-, 3- and 1-day reminders and the escalations.
    let busy_from = TZ
        .with_ymd_and_hms(2026, 6, 10, 23, 59, 0)
        .unwrap()
        .with_timezone(&Utc);
    let t = Instant::now();
    let q = run_reminders(
        app,
        busy_from + chrono::Duration::minutes(1),
        Some(busy_from),
        TZ,
        true,
    )
    .await
    .unwrap();
    println!(
        "{name}: planning the minute a day's reminders fall due: {} mails in {:.0} ms",
        q.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let milestones: i64 = std::env::var("SP_BENCH_MILESTONES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("planner.db").display());
        println!("SQLite:");
        let app = setup(Db::connect(&url).await.unwrap(), milestones).await;
        measure("SQLite", &app).await;
        match std::env::var("SP_BENCH_POSTGRES") {
            Ok(server) if !server.is_empty() => {
                let server = server.trim_end_matches('/').to_string();
                let admin = Database::connect(format!("{server}/postgres")).await.unwrap();
                admin
                    .execute_unprepared("DROP DATABASE IF EXISTS sp_bench_planner WITH (FORCE)")
                    .await
                    .unwrap();
                admin.execute_unprepared("CREATE DATABASE sp_bench_planner").await.unwrap();
                println!("PostgreSQL:");
                let app = setup(
                    Db::connect(&format!("{server}/sp_bench_planner")).await.unwrap(),
                    milestones,
                )
                .await;
                measure("PostgreSQL", &app).await;
                drop(app);
                let _ = admin
                    .execute_unprepared("DROP DATABASE IF EXISTS sp_bench_planner WITH (FORCE)")
                    .await;
            }
            _ => eprintln!(
                "\n!!! PostgreSQL planner benchmark SKIPPED: set SP_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432 to run it !!!\n"
            ),
        }
    });
}
