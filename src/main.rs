//! The command line. It parses arguments and calls the library; nothing else lives here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use secretary_projects::cli;
use secretary_projects::config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "secretary-projects",
    version,
    about = "Secretary Projects (书记项目): a declarative project-and-workflow engine"
)]
struct Cli {
    /// Database: sqlite://PATH or postgres://USER@HOST/DB. Default: ./data/secretary-projects.db
    #[arg(long, global = true, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Folder of workflow definitions. Default: ./workflows
    #[arg(long, global = true, env = "SP_WORKFLOWS")]
    workflows: Option<PathBuf>,
    /// Configuration file (TOML); flags and environment variables override it.
    #[arg(long, global = true, env = "SP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check, describe and draw workflow definitions.
    Workflow {
        #[command(subcommand)]
        command: WorkflowCommand,
    },
    /// Start the server (JSON API under /api/v1). Applies the schema and loads the definitions.
    Serve {
        /// Address to listen on. Default: 127.0.0.1:8080
        #[arg(long, env = "BIND")]
        bind: Option<String>,
        /// Send mail through this SMTP server (smtp://, smtps://, smtp+plain://); without it
        /// mail is written as .eml files under ./data/mail/.
        #[arg(long, env = "SMTP_URL")]
        smtp_url: Option<String>,
        /// On an empty database, load the demo district first (password of every login: demo).
        #[arg(long)]
        demo: bool,
    },
    /// Deliver the mail that is due in the outbox, then exit: what the server's sender does,
    /// as a one-off (after an SMTP outage, from cron, or beside a server that sends nothing).
    Send {
        /// Send through this SMTP server (smtp://, smtps://, smtp+plain://); without it mail
        /// is written as .eml files under ./data/mail/.
        #[arg(long, env = "SMTP_URL")]
        smtp_url: Option<String>,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Apply the database schema (the server also does this on start).
    Migrate,
    /// Fill an empty database with a demo district and print the logins.
    Demo {
        /// Pretend it is this moment (RFC 3339, e.g. 2026-11-25T09:00:00+08:00).
        #[arg(long)]
        at: Option<String>,
    },
    /// Run the planners as of a moment: queue (or with --dry-run, list) the deadline reminders
    /// and escalations, periodic schedules and window notices due since the last run.
    Remind {
        /// The moment to plan as of (RFC 3339, e.g. 2026-06-28T09:00:00+08:00); default now.
        #[arg(long)]
        at: Option<String>,
        /// Plan from this moment instead of the last recorded run.
        #[arg(long)]
        since: Option<String>,
        /// Print what would be queued; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check the audit log's hash chains.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The annual review (述职评议).
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// Export a year's review as a workbook (xlsx: summary, projects, item entries, year in
    /// figures) or as CSV (the summary in FILE, the projects beside it in FILE-projects.csv).
    Export {
        /// The review's year (2000-2100).
        #[arg(long)]
        year: i32,
        /// xlsx or csv.
        #[arg(long)]
        format: String,
        /// The file to write (replaced once the export is complete).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The definition whose review it is.
        #[arg(long, default_value = "secretary_project")]
        definition: String,
        /// Language of the headers and names: zh or en.
        #[arg(long, default_value = "zh", value_parser = ["zh", "en"])]
        lang: String,
        /// Export as this user; default: the first active user who manages the review.
        #[arg(long = "as", value_name = "LOGIN")]
        as_login: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from SP_PASSWORD, or asked for on standard input.
    Add {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Organisation id (see `user list` for the ids in use).
        #[arg(long)]
        organisation: i64,
        /// Role ids of the workflow, comma separated, e.g. `secretary` or `reviewer,admin`.
        #[arg(long)]
        roles: String,
    },
    /// Set a user's password (SP_PASSWORD or standard input) and end their sessions.
    Passwd { login: String },
    /// List users.
    List,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify every project's hash chain; names the first broken event.
    Verify,
}

#[derive(Subcommand)]
enum WorkflowCommand {
    /// Check definition files (or folders of them); prints FILE:LINE:COL: message per problem.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the definition format.
    Schema,
    /// Print a year's calendar of a definition: deadlines, reminders, escalations, schedules.
    Simulate {
        file: PathBuf,
        #[arg(long)]
        year: i32,
        /// Label language: zh or en.
        #[arg(long, default_value = "zh")]
        lang: String,
    },
    /// Print the stages and transitions as a Mermaid stateDiagram-v2.
    Graph {
        file: PathBuf,
        /// Label language: zh or en.
        #[arg(long, default_value = "zh")]
        lang: String,
    },
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let (bind, smtp_url) = match &args.command {
        Command::Serve { bind, smtp_url, .. } => (bind.clone(), smtp_url.clone()),
        Command::Send { smtp_url } => (None, smtp_url.clone()),
        _ => (None, None),
    };
    let config = match Config::resolve(
        args.config.as_deref(),
        Overrides {
            bind,
            database_url: args.database_url.clone(),
            workflows: args.workflows.clone(),
            smtp_url,
        },
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let db = Some(config.database_url.clone());
    let workflows = config.workflows.clone();
    let run = |f: std::pin::Pin<Box<dyn std::future::Future<Output = ExitCode>>>| {
        match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(f),
            Err(e) => {
                eprintln!("cannot start the async runtime: {e}");
                ExitCode::FAILURE
            }
        }
    };
    match args.command {
        Command::Migrate => run(Box::pin(cli::migrate(db))),
        Command::Remind { at, since, dry_run } => {
            run(Box::pin(cli::remind(config, at, since, dry_run)))
        }
        Command::Serve { demo, .. } => run(Box::pin(cli::serve(config, demo))),
        Command::Send { .. } => run(Box::pin(cli::send(config))),
        Command::User { command } => match command {
            UserCommand::Add {
                login,
                name,
                email,
                organisation,
                roles,
            } => run(Box::pin(cli::user_add(
                db,
                secretary_projects::app::accounts::NewUser {
                    login,
                    name,
                    email,
                    organisation_id: organisation,
                    roles: roles
                        .split(',')
                        .map(|r| r.trim().to_string())
                        .filter(|r| !r.is_empty())
                        .collect(),
                    password: None,
                },
            ))),
            UserCommand::Passwd { login } => run(Box::pin(cli::user_passwd(db, login))),
            UserCommand::List => run(Box::pin(cli::user_list(db))),
        },
        Command::Demo { at } => run(Box::pin(cli::demo(db, workflows, at))),
        Command::Audit {
            command: AuditCommand::Verify,
        } => run(Box::pin(cli::audit_verify(db))),
        Command::Review {
            command:
                ReviewCommand::Export {
                    year,
                    format,
                    out,
                    definition,
                    lang,
                    as_login,
                },
        } => run(Box::pin(cli::review_export::run(
            config,
            cli::review_export::ReviewExport {
                year,
                format,
                out,
                definition,
                lang,
                as_login,
            },
        ))),
        Command::Workflow { command } => match command {
            WorkflowCommand::Validate { paths } => cli::workflow_validate(&paths),
            WorkflowCommand::Schema => cli::workflow_schema(),
            WorkflowCommand::Graph { file, lang } => cli::workflow_graph(&file, &lang),
            WorkflowCommand::Simulate { file, year, lang } => {
                cli::workflow_simulate(&file, year, &lang)
            }
        },
    }
}
