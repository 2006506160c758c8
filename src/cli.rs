//! What each command does, callable from tests. Output goes to stdout, problems to stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::workflow;

pub mod review_export;

pub fn workflow_validate(paths: &[PathBuf]) -> ExitCode {
    let files = match workflow::definition_files(paths) {
        Ok(f) => f,
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            return ExitCode::FAILURE;
        }
    };
    if files.is_empty() {
        eprintln!("no workflow definitions (*.yaml, *.yml) found in the given folders");
        return ExitCode::FAILURE;
    }
    match workflow::load_all(&files) {
        Ok(ws) => {
            for w in ws {
                println!(
                    "ok {} ({}, {})",
                    w.id(),
                    w.definition.name.zh,
                    &w.content_hash[..12]
                );
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in problems {
                println!("{p}");
            }
            ExitCode::FAILURE
        }
    }
}

pub fn workflow_schema() -> ExitCode {
    match serde_json::to_string_pretty(&workflow::json_schema()) {
        Ok(s) => emit(&format!("{s}\n")),
        Err(e) => {
            eprintln!("cannot print the schema: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Write to standard output; a reader that went away (`| head`) is not an error.
fn emit(text: &str) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write the output: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn workflow_simulate(file: &Path, year: i32, lang: &str) -> ExitCode {
    if !(2000..=2100).contains(&year) {
        eprintln!("--year must be from 2000 to 2100, not {year}");
        return ExitCode::from(2);
    }
    match workflow::load_file(file) {
        Ok(w) => {
            let mut text = format!(
                "Calendar of `{}` for {year} ({}), as a model project lives it:\n",
                w.id(),
                w.timezone
            );
            for e in crate::schedule::simulate::calendar(&w, year, lang) {
                match e.at {
                    Some(t) => text.push_str(&format!(
                        "{}  {}\n",
                        t.with_timezone(&w.timezone).format("%Y-%m-%d %a %H:%M"),
                        e.what
                    )),
                    None => text.push_str(&format!("{:<20}  {}\n", "(per project)", e.what)),
                }
            }
            emit(&text)
        }
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            ExitCode::FAILURE
        }
    }
}

pub fn workflow_graph(file: &Path, lang: &str) -> ExitCode {
    match workflow::load_file(file) {
        Ok(w) => emit(&workflow::graph::mermaid(&w, lang)),
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            ExitCode::FAILURE
        }
    }
}

fn database_url(given: Option<String>) -> String {
    given.unwrap_or_else(|| crate::store::DEFAULT_DATABASE_URL.to_string())
}

/// Open and migrate the database, printing a clear message on failure.
async fn open(url: Option<String>) -> Result<crate::store::Db, ExitCode> {
    let url = database_url(url);
    let db = crate::store::Db::connect(&url).await.map_err(|e| {
        eprintln!(
            "cannot open the database {}: {e}",
            crate::store::redact(&url)
        );
        ExitCode::FAILURE
    })?;
    db.migrate().await.map_err(|e| {
        eprintln!("cannot apply the schema: {e}");
        ExitCode::FAILURE
    })?;
    Ok(db)
}

pub async fn migrate(url: Option<String>) -> ExitCode {
    match open(url.clone()).await {
        Ok(_) => {
            println!(
                "schema is up to date in {}",
                crate::store::redact(&database_url(url))
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// Parse `--at`, or take the current time.
fn moment(at: Option<String>) -> Result<chrono::DateTime<chrono::Utc>, ExitCode> {
    match at {
        None => Ok(chrono::Utc::now()),
        Some(s) => chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| t.to_utc())
            .map_err(|e| {
                eprintln!("--at {s}: {e}; write e.g. 2026-11-25T09:00:00+08:00");
                ExitCode::FAILURE
            }),
    }
}

/// Load the definitions and register their versions.
pub async fn start_app(
    db: crate::store::Db,
    workflows: &Path,
) -> Result<crate::app::App, ExitCode> {
    let loaded = workflow::load_all(&[workflows.to_path_buf()]).map_err(|problems| {
        for p in problems {
            eprintln!("{p}");
        }
        ExitCode::FAILURE
    })?;
    let app = crate::app::App::new(db);
    app.registry
        .register(&app.db, loaded, chrono::Utc::now())
        .await
        .map_err(|e| {
            eprintln!("cannot store the workflow definitions: {e}");
            ExitCode::FAILURE
        })?;
    Ok(app)
}

pub async fn demo(url: Option<String>, workflows: PathBuf, at: Option<String>) -> ExitCode {
    let now = match moment(at) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let db = match open(url).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    let app = match start_app(db, &workflows).await {
        Ok(a) => a,
        Err(c) => return c,
    };
    match crate::demo::is_empty(&app).await {
        Ok(true) => {}
        Ok(false) => {
            println!("The database already holds data; the demo district was not loaded again.");
            println!(
                "Start from scratch by removing ./data/ (or pointing DATABASE_URL elsewhere)."
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cannot read the database: {e}");
            return ExitCode::FAILURE;
        }
    }
    let versions = app.registry.all_current();
    let Some(version) = versions
        .iter()
        .find(|v| v.workflow.id() == "secretary_project")
        .or(versions.first())
    else {
        eprintln!("no workflow definitions in {}", workflows.display());
        return ExitCode::FAILURE;
    };
    match crate::demo::load(&app, &version.workflow, now).await {
        Ok(summary) => {
            print_demo(&summary);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("demo not loaded: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn print_demo(s: &crate::demo::DemoSummary) {
    println!("Demo district loaded: {} projects.", s.projects);
    for (stage, n) in &s.by_stage {
        println!("  {stage:<24} {n}");
    }
    if !s.skipped.is_empty() {
        println!("Not created ({}):", s.skipped.len());
        for k in &s.skipped {
            println!("  {k}");
        }
    }
    println!("Logins (login / name / role / organisation):");
    for l in &s.logins {
        println!(
            "  {:<14} {:<16} {:<10} {}",
            l.login, l.name, l.roles, l.organisation
        );
    }
}

pub async fn audit_verify(url: Option<String>) -> ExitCode {
    let db = match open(url).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    match crate::app::audit::verify(&db.read).await {
        Ok(r) => match r.broken {
            None => {
                println!(
                    "audit log intact: {} projects, {} events",
                    r.projects, r.events
                );
                ExitCode::SUCCESS
            }
            Some(b) => {
                println!(
                    "audit log BROKEN at project {} event seq {}{}: {}",
                    b.project_id,
                    b.seq,
                    b.event_id.map(|i| format!(" (id {i})")).unwrap_or_default(),
                    b.reason
                );
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("cannot read the audit log: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A password from SP_PASSWORD, or the first line of standard input.
fn read_password() -> Result<String, ExitCode> {
    if let Ok(p) = std::env::var("SP_PASSWORD") {
        return Ok(p);
    }
    eprint!("password: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| {
        eprintln!("cannot read the password: {e}");
        ExitCode::FAILURE
    })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub async fn user_add(url: Option<String>, mut new: crate::app::accounts::NewUser) -> ExitCode {
    let db = match open(url).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    new.password = match read_password() {
        Ok(p) => Some(p),
        Err(c) => return c,
    };
    let app = crate::app::App::new(db);
    match app.add_user(new, chrono::Utc::now()).await {
        Ok(u) => {
            println!("added user {} (id {})", u.login, u.id);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("user not added: {e}");
            ExitCode::FAILURE
        }
    }
}

pub async fn user_passwd(url: Option<String>, login: String) -> ExitCode {
    let db = match open(url).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    let password = match read_password() {
        Ok(p) => p,
        Err(c) => return c,
    };
    match crate::app::App::new(db)
        .set_password(&login, &password, chrono::Utc::now())
        .await
    {
        Ok(()) => {
            println!("password of {login} changed; their sessions are ended");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("password not changed: {e}");
            ExitCode::FAILURE
        }
    }
}

pub async fn user_list(url: Option<String>) -> ExitCode {
    let db = match open(url).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    match crate::app::App::new(db).users().await {
        Ok(users) => {
            println!(
                "{:<16} {:<12} {:<6} {:<20} email",
                "login", "name", "org", "roles"
            );
            for u in users {
                println!(
                    "{:<16} {:<12} {:<6} {:<20} {}",
                    u.login, u.name, u.organisation_id, u.roles, u.email
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot list users: {e}");
            ExitCode::FAILURE
        }
    }
}

pub async fn serve(config: crate::config::Config, demo: bool) -> ExitCode {
    let url = Some(config.database_url.clone());
    let workflows = config.workflows.clone();
    let bind = config.bind.clone();
    init_logs("info,sqlx=warn,sea_orm=warn");
    let db = match open(url).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    let mut app = match start_app(db, &workflows).await {
        Ok(a) => a,
        Err(c) => return c,
    };
    if let Some(dir) = &config.attachments_dir {
        app.files = crate::store::files::FileStore::new(dir);
    }
    if demo {
        match crate::demo::is_empty(&app).await {
            Ok(true) => {
                let versions = app.registry.all_current();
                if let Some(v) = versions
                    .iter()
                    .find(|v| v.workflow.id() == "secretary_project")
                    .or(versions.first())
                {
                    match crate::demo::load_with_password(
                        &app,
                        &v.workflow,
                        chrono::Utc::now(),
                        Some(crate::demo::DEMO_PASSWORD),
                    )
                    .await
                    {
                        Ok(summary) => {
                            print_demo(&summary);
                            println!(
                                "Every demo login has the password `{}`.",
                                crate::demo::DEMO_PASSWORD
                            );
                        }
                        Err(e) => {
                            eprintln!("demo not loaded: {e}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
            }
            Ok(false) => {
                println!("The database already holds data; the demo was not loaded again.")
            }
            Err(e) => {
                eprintln!("cannot read the database: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let listener = match tokio::net::TcpListener::bind(&bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {bind}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or(bind);
    println!("Secretary Projects is listening on http://{addr}  (API: http://{addr}/api/v1, health: http://{addr}/healthz)");
    let transport = match crate::notify::Transport::with_connections(
        config.mail.smtp_url.as_deref(),
        config.mail.dir.clone(),
        config.mail.connections,
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mail: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Mail: {}", transport.describe());
    let sender = crate::notify::Sender::new(app.clone(), transport, sender_settings(&config));
    let mut scheduler = match crate::schedule::runner::start(app.clone(), config.time_zone).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Reminders: planned every minute ({}), catching up from the last run",
        config.time_zone
    );
    let (stop_sender, sender_stop) = tokio::sync::watch::channel(false);
    let sending = tokio::spawn(sender.run(std::time::Duration::from_secs(2), sender_stop));
    let releasing = tokio::spawn(crate::memory::release_when_idle(
        std::time::Duration::from_secs(5),
    ));
    let settings = crate::http::Settings {
        public_url: config.public_url.clone(),
        time_zone: config.time_zone,
        demo,
    };
    let served =
        crate::http::serve_with(app, settings, listener, crate::http::shutdown_signal()).await;
    let _ = scheduler.shutdown().await;
    let _ = stop_sender.send(true);
    let _ = sending.await;
    releasing.abort();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn sender_settings(config: &crate::config::Config) -> crate::notify::SenderSettings {
    crate::notify::SenderSettings {
        from: config.mail.from.clone(),
        public_url: config.public_url.clone(),
        max_attempts: config.mail.max_attempts,
        concurrency: config.mail.connections,
        lease: chrono::Duration::seconds(i64::from(config.mail.lease_seconds)),
        ..Default::default()
    }
}

/// Logs to standard error at `RUST_LOG`'s level (else `default`), coloured only on a terminal,
/// so that a file or a journal gets plain `key=value` lines.
fn init_logs(default: &str) {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// `send`: deliver what is due in the outbox, pass after pass, until a pass finds nothing;
/// then say what is left (mail waiting for a retry, or leased by a sender that may have died).
pub async fn send(config: crate::config::Config) -> ExitCode {
    init_logs("warn");
    let db = match open(Some(config.database_url.clone())).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    let app = match start_app(db, &config.workflows).await {
        Ok(a) => a,
        Err(c) => return c,
    };
    let transport = match crate::notify::Transport::with_connections(
        config.mail.smtp_url.as_deref(),
        config.mail.dir.clone(),
        config.mail.connections,
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mail: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Mail: {}", transport.describe());
    let sender = crate::notify::Sender::new(app.clone(), transport, sender_settings(&config));
    let mut total = crate::notify::RunReport::default();
    loop {
        match sender.run_once(chrono::Utc::now()).await {
            Ok(r) if r == crate::notify::RunReport::default() => break,
            Ok(r) => {
                total.sent += r.sent;
                total.retried += r.retried;
                total.dead += r.dead;
            }
            Err(e) => {
                eprintln!("cannot read or update the outbox: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let waiting = {
        use crate::store::entity::outbox;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .filter(outbox::Column::Dead.eq(false))
            .count(&app.db.read)
            .await
            .unwrap_or(0)
    };
    println!(
        "Sent {} mail(s); {} to be tried again later, {} dead letter(s); {} unsent mail(s) wait for a retry or a lease to end",
        total.sent, total.retried, total.dead, waiting
    );
    if total.retried + total.dead > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `remind --at DATETIME [--since DATETIME] [--dry-run]`: run the reminder planner as of a
/// moment and print what it queues (or would queue).
pub async fn remind(
    config: crate::config::Config,
    at: Option<String>,
    since: Option<String>,
    dry_run: bool,
) -> ExitCode {
    let now = match moment(at) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let since = match since {
        None => None,
        Some(s) => match moment(Some(s)) {
            Ok(t) => Some(t),
            Err(c) => return c,
        },
    };
    let db = match open(Some(config.database_url.clone())).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    let app = match start_app(db, &config.workflows).await {
        Ok(a) => a,
        Err(c) => return c,
    };
    let reminders =
        crate::schedule::run_reminders(&app, now, since, config.time_zone, dry_run).await;
    let periodic =
        crate::schedule::periodic::run_schedules(&app, now, since, config.time_zone, dry_run).await;
    let windows =
        crate::schedule::windows::run_windows(&app, now, since, config.time_zone, dry_run).await;
    match reminders.and_then(|mut r| {
        r.extend(periodic?);
        r.extend(windows?);
        Ok(r)
    }) {
        Ok(list) => {
            let new = list.iter().filter(|q| q.new).count();
            println!(
                "{} {} mail(s) as of {} ({} already queued by an earlier run)",
                if dry_run { "Would queue" } else { "Queued" },
                new,
                now.with_timezone(&config.time_zone)
                    .format("%Y-%m-%d %H:%M %Z"),
                list.len() - new
            );
            for q in &list {
                println!(
                    "{} {:<22} {:<14} project {:<5} {:<24} {}{}",
                    q.at.with_timezone(&config.time_zone)
                        .format("%Y-%m-%d %H:%M"),
                    q.template,
                    q.kind,
                    q.project_id,
                    q.recipient_login,
                    q.project_title,
                    if q.new { "" } else { "  (already queued)" }
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reminders failed: {e}");
            ExitCode::FAILURE
        }
    }
}
