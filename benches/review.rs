//! The annual review of a province-sized year: 100,000 projects in 1,000 subdistricts (one
//! secretary each, 100 projects per subdistrict across the stages: 80 % closed with a final
//! score, the rest terminated, rejected, withdrawn, under review, in drafting or under way),
//! 3 milestones per project, 5,000,000 resident appraisals of the closed projects, 20,000
//! topics that became projects, and each secretary's party-building report entered. Times
//! `App::annual_review` (computed, not frozen) and `App::year_figures` as the district's
//! admin, then the export (the year's projects and the workbook of all sheets), on SQLite (a
//! temporary file) and, when `SP_BENCH_POSTGRES` names a server, on a fresh PostgreSQL
//! database dropped afterwards. The rows are generated in SQL (`INSERT ... SELECT` over a
//! recursive CTE or `generate_series`), not through the use cases. Prints the figures.
//!
//! Run: `cargo bench --bench review` (SP_BENCH_PROJECTS sets the number of projects, a
//! multiple of 100; SP_BENCH_APPRAISALS the appraisals; SP_BENCH_RUNS the timed runs).

use std::time::Instant;

use chrono::{TimeZone, Utc};
use sea_orm::{ConnectionTrait, Database, DbBackend, EntityTrait};
use secretary_projects::app::{App, Principal};
use secretary_projects::store::entity::user;
use secretary_projects::store::Db;
use secretary_projects::workflow;

const KEY: &str = "secretary_project";
const PER_SUBDISTRICT: i64 = 100;
/// Of every 100 projects of a subdistrict (by `(id - 1) % 100`): 0-79 closed, 80-84
/// terminated, 85-87 rejected, 88-89 withdrawn, 90-91 under review, 92 drafting, 93-99 under
/// way.
const CLOSED: i64 = 80;

fn env_i64(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Sizes {
    projects: i64,
    appraisals: i64,
}

impl Sizes {
    fn subdistricts(&self) -> i64 {
        self.projects / PER_SUBDISTRICT
    }

    fn closed(&self) -> i64 {
        self.subdistricts() * CLOSED
    }
}

async fn setup(db: Db, n: &Sizes) -> App {
    db.migrate().await.unwrap();
    let app = App::new(db);
    let w = workflow::load_file(std::path::Path::new("workflows/secretary_project.yaml")).unwrap();
    app.registry
        .register(&app.db, vec![w], Utc::now())
        .await
        .unwrap();
    let version = app.registry.current(KEY).unwrap().id;
    let sqlite = app.db.backend() == DbBackend::Sqlite;
    let ts = |expr: &str| {
        if sqlite {
            format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {expr})")
        } else {
            format!("({expr})::timestamptz")
        }
    };
    // i from `from` to `to`, both included.
    let series = |from: i64, to: i64| {
        if sqlite {
            format!("WITH RECURSIVE s(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM s WHERE i < {to}) SELECT i FROM s")
        } else {
            format!("SELECT i FROM generate_series({from}::bigint, {to}::bigint) AS s(i)")
        }
    };
    let date = |base: &str, days: &str| {
        if sqlite {
            format!("date('{base}', ({days}) || ' days')")
        } else {
            format!("(DATE '{base}' + CAST({days} AS INTEGER))")
        }
    };
    let at = |base: &str, days: &str| {
        if sqlite {
            format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', '{base}', ({days}) || ' days')")
        } else {
            format!("(TIMESTAMPTZ '{base}+00' + ({days}) * INTERVAL '1 day')")
        }
    };
    let t0 = ts(if sqlite {
        "'2026-01-05 02:00:00'"
    } else {
        "'2026-01-05 02:00:00+00'"
    });
    let subs = n.subdistricts();
    let closed = n.closed();
    // Project i's place among its subdistrict's 100, and its ordinal among the closed ones.
    let slot = "((i - 1) % 100)";
    let stage = format!(
        "CASE WHEN {slot} < {CLOSED} THEN 'closed' WHEN {slot} < 85 THEN 'terminated' \
         WHEN {slot} < 88 THEN 'rejected' WHEN {slot} < 90 THEN 'withdrawn' \
         WHEN {slot} < 92 THEN 'under_review' WHEN {slot} = 92 THEN 'drafting' \
         ELSE 'implementation' END"
    );
    let score = "(50 + ((i * 37) % 5000) / 100.0)";
    let grade = format!(
        "CASE WHEN {slot} >= {CLOSED} THEN NULL WHEN {score} < 60 THEN 'fail' \
         WHEN {score} < 80 THEN 'pass' WHEN {score} < 90 THEN 'good' ELSE 'excellent' END"
    );
    // Appraisal j (0-based) belongs to closed project j % closed; that ordinal k is project
    // (k / 80) * 100 + k % 80 + 1.
    let per_closed = n.appraisals / closed;
    let extra = n.appraisals % closed;
    let ordinal = format!("((((i - 1) / 100) * {CLOSED}) + {slot})");
    let appraisal_count = format!(
        "CASE WHEN {slot} >= {CLOSED} THEN 0 WHEN {ordinal} < {extra} THEN {} ELSE {per_closed} END",
        per_closed + 1
    );
    let milestone_project = "((i - 1) / 3 + 1)";
    let position = "((i - 1) % 3)";
    let m_slot = format!("(({milestone_project} - 1) % 100)");
    let due = date(
        "2026-05-31",
        &format!("CASE {position} WHEN 0 THEN 0 WHEN 1 THEN 92 ELSE 153 END"),
    );
    // Closed projects did every milestone (one in seven five days late); projects under way
    // did the first; the others none.
    let done_offset = format!(
        "(CASE {position} WHEN 0 THEN 0 WHEN 1 THEN 92 ELSE 153 END) + CASE WHEN i % 7 = 0 THEN 5 ELSE -5 END"
    );
    let done = format!(
        "CASE WHEN {m_slot} < {CLOSED} OR ({m_slot} >= 93 AND {position} = 0) THEN {} ELSE NULL END",
        at("2026-05-31 02:00:00", &done_offset)
    );
    let statements = vec![
        format!("INSERT INTO organisations (id, parent_id, name, kind, created_at) VALUES (1, NULL, '省级测试区', 'district', {t0})"),
        format!("INSERT INTO organisations (id, parent_id, name, kind, created_at) \
            SELECT i + 1, 1, '第' || i || '街道', 'subdistrict', {t0} FROM ({}) AS x", series(1, subs)),
        format!("INSERT INTO users (id, login, name, email, organisation_id, roles, password_hash, language, active, created_at) \
            VALUES (1, 'admin', '管理员', 'admin@bench.invalid', 1, 'admin', NULL, 'zh', true, {t0})"),
        format!("INSERT INTO users (id, login, name, email, organisation_id, roles, password_hash, language, active, created_at) \
            SELECT i + 1, 'secretary' || i, '书记' || i, 's' || i || '@bench.invalid', i + 1, 'secretary', NULL, 'zh', true, {t0} \
            FROM ({}) AS x", series(1, subs)),
        format!("INSERT INTO projects (id, definition_id, definition_key, title, title_folded, year, organisation_id, district_id, lead_user_id, stage, form_data, version, milestones_total, milestones_done, appraisal_count, score_counts, audit_seq, audit_head, final_score, grade, score_detail, stage_entered_at, created_at, updated_at) \
            SELECT i, {version}, '{KEY}', '书记项目' || i, '书记项目' || i, 2026, (i - 1) / 100 + 2, 1, (i - 1) / 100 + 2, {stage}, '{{}}', 1, 3, \
            CASE WHEN {slot} < {CLOSED} THEN 3 WHEN {slot} >= 93 THEN 1 ELSE 0 END, {appraisal_count}, '{{}}', 0, '', \
            CASE WHEN {slot} < {CLOSED} THEN {score} ELSE NULL END, {grade}, NULL, {t0}, {t0}, {t0} FROM ({}) AS x",
            series(1, n.projects)),
        format!("INSERT INTO milestones (id, project_id, position, title, goal, owner_login, owner_user_id, start_date, due_date, weight, percent, done_at, updated_at) \
            SELECT i, {milestone_project}, {position}, '节点' || i, '', 'secretary', NULL, NULL, {due}, 1.0, \
            CASE WHEN {done} IS NULL THEN 0 ELSE 100 END, {done}, {t0} FROM ({}) AS x",
            series(1, n.projects * 3)),
        format!("INSERT INTO appraisals (id, project_id, rating, comment, submitted_at, token_id) \
            SELECT i + 1, ((i % {closed}) / {CLOSED}) * 100 + (i % {closed}) % {CLOSED} + 1, \
            CASE WHEN i % 10 < 7 THEN 'satisfied' WHEN i % 10 < 9 THEN 'basically_satisfied' ELSE 'not_satisfied' END, \
            NULL, {}, NULL FROM ({}) AS x",
            at("2026-11-10 02:00:00", "i % 10"),
            series(0, n.appraisals - 1)),
        // One closed project in four took its problem from the topic pool.
        format!("INSERT INTO topics (id, definition_key, organisation_id, district_id, author_user_id, title, source, area, description, status, project_id, created_at, updated_at) \
            SELECT i, '{KEY}', (i - 1) / 100 + 2, 1, (i - 1) / 100 + 2, '问题' || i, 'residents', 'parking', '', 'promoted', i, {t0}, {t0} \
            FROM ({}) AS x WHERE {slot} < {CLOSED} AND i % 4 = 1", series(1, n.projects)),
        format!("INSERT INTO review_items (id, definition_key, year, user_id, item, score, comment, entered_by, entered_at) \
            SELECT i, '{KEY}', 2026, i + 1, 'party_building_report', 60 + (i * 13) % 40, '述职', 1, {} FROM ({}) AS x",
            at("2026-12-10 02:00:00", "0"), series(1, subs)),
    ];
    let held = app
        .db
        .read
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.backend(),
            "SELECT CAST(COUNT(*) AS BIGINT) FROM projects".to_string(),
        ))
        .await
        .unwrap()
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0);
    if held > 0 {
        println!("  set-up: reusing the {held} projects of the kept database");
        return app;
    }
    let started = Instant::now();
    for s in statements {
        let t = Instant::now();
        app.db.write.execute_unprepared(&s).await.unwrap();
        let table = s.split_whitespace().nth(2).unwrap_or("?");
        println!("    {table}: {:.1} s", t.elapsed().as_secs_f64());
    }
    let tables = [
        "organisations",
        "users",
        "projects",
        "milestones",
        "appraisals",
        "topics",
        "review_items",
    ];
    if sqlite {
        app.db.write.execute_unprepared("ANALYZE").await.unwrap();
    } else {
        for t in tables {
            app.db
                .write
                .execute_unprepared(&format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
                ))
                .await
                .unwrap();
            app.db
                .write
                .execute_unprepared(&format!("VACUUM ANALYZE {t}"))
                .await
                .unwrap();
        }
    }
    println!(
        "  set-up: {} projects in {subs} subdistricts, {} milestones, {} appraisals, in {:.1} s",
        n.projects,
        n.projects * 3,
        n.appraisals,
        started.elapsed().as_secs_f64()
    );
    app
}

/// What a run computed, to compare the databases: each person's figures as the review shows
/// them (the sums behind them may differ in the last bits between the databases), and the
/// year in figures as served.
type Outcome = (Vec<String>, serde_json::Value);

fn outcome(
    rows: &[secretary_projects::app::review::ReviewRow],
    f: &secretary_projects::app::review::YearFigures,
) -> Outcome {
    let rows = rows
        .iter()
        .map(|r| {
            let l = &r.line;
            format!(
                "{} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                r.person.login,
                l.project_part,
                l.items.iter().map(|i| i.score).collect::<Vec<_>>(),
                l.total,
                l.rank,
                l.stars,
                l.consequences,
                l.missing
            )
        })
        .collect();
    (rows, serde_json::to_value(f).unwrap())
}

async fn measure(name: &str, app: &App, runs: usize) -> Outcome {
    let admin = user::Entity::find_by_id(1)
        .one(&app.db.read)
        .await
        .unwrap()
        .unwrap();
    let admin = Principal::from(&admin);
    let now = Utc.with_ymd_and_hms(2026, 12, 15, 2, 0, 0).unwrap();
    let w = app.registry.current(KEY).unwrap().workflow;

    let mut times = Vec::new();
    let mut review = None;
    for _ in 0..runs {
        let t = Instant::now();
        review = Some(app.annual_review(&admin, KEY, 2026, now).await.unwrap());
        times.push(t.elapsed().as_secs_f64());
    }
    let review = review.unwrap();
    assert!(review.frozen.is_none());
    let ranked = review.rows.iter().filter(|r| r.line.rank.is_some()).count();
    println!(
        "{name}: annual_review: {} (first, then best {:.3} s) for {} people ({ranked} ranked), {} item entries",
        secs(times[0]),
        best(&times),
        review.rows.len(),
        review.entries.len()
    );

    let mut times = Vec::new();
    let mut figures = None;
    for _ in 0..runs {
        let t = Instant::now();
        figures = Some(app.year_figures(&admin, KEY, 2026, now).await.unwrap());
        times.push(t.elapsed().as_secs_f64());
    }
    let f = figures.unwrap();
    println!(
        "{name}: year_figures: {} (first, then best {:.3} s) for {} subdistricts: {} applied, {} finished, {} appraisals ({:?} % satisfied), {} milestones ({:?} % on time), {} problems solved",
        secs(times[0]),
        best(&times),
        f.by_organisation.len(),
        f.total.applied,
        f.total.finished,
        f.total.appraisals,
        f.total.satisfaction_rate,
        f.total.milestones,
        f.total.on_time_rate,
        f.total.problems_solved
    );

    let t = Instant::now();
    let projects = app.review_projects(&admin, KEY, 2026, None).await.unwrap();
    let read = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let book = secretary_projects::export::review_workbook(&w, &review, &projects, "zh").unwrap();
    println!(
        "{name}: export: review_projects {} for {} projects; the workbook in {} ({:.1} MB)",
        secs(read),
        projects.len(),
        secs(t.elapsed().as_secs_f64()),
        book.len() as f64 / 1e6
    );
    outcome(&review.rows, &f)
}

/// The review and the figures are the same on both databases; else the first differences.
fn compare(sqlite: &Outcome, postgres: &Outcome) {
    let rows: Vec<(&String, &String)> = sqlite
        .0
        .iter()
        .zip(&postgres.0)
        .filter(|(a, b)| a != b)
        .collect();
    let mut figures = Vec::new();
    diff("", &sqlite.1, &postgres.1, &mut figures);
    if rows.is_empty() && figures.is_empty() && sqlite.0.len() == postgres.0.len() {
        println!("the review and the figures are the same on both databases");
        return;
    }
    println!(
        "DIFFERENT on the two databases: {} of {} people, {} figures; the first (SQLite | PostgreSQL):",
        rows.len(),
        sqlite.0.len(),
        figures.len()
    );
    for (a, b) in rows.iter().take(3) {
        println!("  {a}\n  {b}");
    }
    for f in figures.iter().take(5) {
        println!("  {f}");
    }
    panic!("the databases disagree");
}

fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                diff(
                    &format!("{path}.{k}"),
                    v,
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (k, (v, w)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{k}]"), v, w, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} | {b}")),
        _ => {}
    }
}

fn secs(s: f64) -> String {
    format!("{s:.3} s")
}

fn best(times: &[f64]) -> f64 {
    times.iter().skip(1).copied().fold(times[0], f64::min)
}

/// The server part of `SP_BENCH_POSTGRES` (`postgres://USER@HOST:PORT`, with or without a
/// database name after it).
fn postgres_server(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_path("");
            u.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => url.trim_end_matches('/').to_string(),
    }
}

fn main() {
    let n = Sizes {
        projects: (env_i64("SP_BENCH_PROJECTS", 100_000) / PER_SUBDISTRICT).max(1)
            * PER_SUBDISTRICT,
        appraisals: env_i64("SP_BENCH_APPRAISALS", 5_000_000),
    };
    let runs = env_i64("SP_BENCH_RUNS", 3).max(1) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // SP_BENCH_KEEP=DIR keeps the databases (DIR/review.db, and the PostgreSQL database
        // sp_bench_review_kept) and reuses them on the next run.
        let keep = std::env::var("SP_BENCH_KEEP").ok().filter(|s| !s.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let file = match &keep {
            Some(k) => std::path::PathBuf::from(k).join("review.db"),
            None => dir.path().join("review.db"),
        };
        let url = format!("sqlite://{}?mode=rwc", file.display());
        println!("SQLite:");
        let app = setup(Db::connect(&url).await.unwrap(), &n).await;
        let on_sqlite = measure("SQLite", &app, runs).await;
        drop(app);
        match std::env::var("SP_BENCH_POSTGRES") {
            Ok(given) if !given.is_empty() => {
                let server = postgres_server(&given);
                let name = match &keep {
                    Some(_) => "sp_bench_review_kept".to_string(),
                    None => format!("sp_bench_review_{}", rand::random::<u32>()),
                };
                let admin = Database::connect(format!("{server}/postgres")).await.unwrap();
                let exists = admin
                    .query_one_raw(sea_orm::Statement::from_string(
                        DbBackend::Postgres,
                        format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
                    ))
                    .await
                    .unwrap()
                    .is_some();
                if !exists {
                    admin
                        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                        .await
                        .unwrap();
                }
                println!("PostgreSQL:");
                let app = setup(Db::connect(&format!("{server}/{name}")).await.unwrap(), &n).await;
                let on_postgres = measure("PostgreSQL", &app, runs).await;
                drop(app);
                if keep.is_none() {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                }
                compare(&on_sqlite, &on_postgres);
            }
            _ => eprintln!(
                "\n!!! PostgreSQL review benchmark SKIPPED: set SP_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432 to run it !!!\n"
            ),
        }
    });
}
