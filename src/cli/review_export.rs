//! `review export --year YEAR --format xlsx|csv --out FILE`: the annual review of a year,
//! read from the configured database as one user sees it, written as a workbook or as CSV.
//!
//! The arguments are checked before the database is opened, and the file is written to a
//! temporary file in the target's folder and renamed into place only once complete: a failed
//! export leaves no file behind. A progress bar is drawn only when standard error is a
//! terminal.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{EntityTrait, QueryOrder};

use crate::app::accounts::LoginName;
use crate::app::review::YEARS;
use crate::app::{App, Principal};
use crate::export::{self, Format};
use crate::store::entity::user;
use crate::store::queries::user_roles;
use crate::workflow::Workflow;

/// What the command was asked for.
#[derive(Debug, Clone)]
pub struct ReviewExport {
    pub year: i32,
    /// `xlsx` or `csv`.
    pub format: String,
    pub out: PathBuf,
    /// The definition's key, e.g. `secretary_project`.
    pub definition: String,
    /// `zh` or `en`.
    pub lang: String,
    /// Export as this user (default: the first active user who manages the review).
    pub as_login: Option<String>,
}

/// Bad arguments: exit status 2, as for the other commands' usage errors.
fn usage(message: String) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(2)
}

fn failure(message: String) -> ExitCode {
    eprintln!("{message}");
    ExitCode::FAILURE
}

/// The file of the project detail beside the CSV summary `out`: `review.csv` ->
/// `review-projects.csv`.
pub fn projects_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = out
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "csv".into());
    out.with_file_name(format!("{stem}-projects.{ext}"))
}

/// A temporary file in the folder of `target`, to be renamed onto it.
fn temp_beside(target: &Path) -> Result<tempfile::NamedTempFile, String> {
    let Some(name) = target.file_name() else {
        return Err(format!(
            "--out {}: give a file name, not a folder",
            target.display()
        ));
    };
    if target.is_dir() {
        return Err(format!(
            "--out {}: is a folder; give a file name",
            target.display()
        ));
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".part");
    // A file like any other the user writes (the umask applies), not a private temporary.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(&dir).map_err(|e| {
        format!(
            "--out {}: cannot write in {}: {e}",
            target.display(),
            dir.display()
        )
    })
}

/// Who the export is made as: `--as`, or the first active user (by id) holding a role that
/// manages `w`'s review.
async fn exporter(app: &App, w: &Workflow, login: Option<&str>) -> Result<Principal, ExitCode> {
    let users = user::Entity::find()
        .order_by_asc(user::Column::Id)
        .all(&app.db.read)
        .await
        .map_err(|e| failure(format!("cannot read the users: {e}")))?;
    match login {
        Some(raw) => {
            let name = LoginName::parse(raw).map_err(|e| usage(format!("--as {raw}: {e}")))?;
            let u = users
                .iter()
                .find(|u| u.login == name.as_str())
                .ok_or_else(|| usage(format!("--as {raw}: no such user")))?;
            if !u.active {
                return Err(usage(format!("--as {raw}: the account is deactivated")));
            }
            Ok(Principal::from(u))
        }
        None => {
            let managers = w.review_managers();
            users
                .iter()
                .find(|u| u.active && w.roles(user_roles(u)).0 & managers.0 != 0)
                .map(Principal::from)
                .ok_or_else(|| {
                    usage(format!(
                        "no active user manages the review of `{}` (roles: {}); name one with --as LOGIN",
                        w.id(),
                        w.role_ids(managers).join(", ")
                    ))
                })
        }
    }
}

/// A bar on standard error, or nothing when it is not a terminal.
fn bar() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows, {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

fn spinner(message: &'static str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let s = ProgressBar::new_spinner().with_message(message);
    s.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(s)
}

/// Write into `file` with `write`, flush it to disk.
fn fill(
    file: &mut tempfile::NamedTempFile,
    write: impl FnOnce(&mut BufWriter<&std::fs::File>) -> Result<(), export::ExportError>,
) -> Result<(), String> {
    let mut out = BufWriter::new(file.as_file());
    write(&mut out).map_err(|e| e.to_string())?;
    out.flush()
        .map_err(|e| format!("cannot write the export: {e}"))?;
    drop(out);
    file.as_file()
        .sync_all()
        .map_err(|e| format!("cannot write the export: {e}"))
}

pub async fn run(config: crate::config::Config, a: ReviewExport) -> ExitCode {
    let format = match Format::parse(&a.format) {
        Ok(f) => f,
        Err(e) => return usage(format!("--format: {e}")),
    };
    if !YEARS.contains(&a.year) {
        return usage(format!(
            "--year must be from {} to {}, not {}",
            YEARS.start(),
            YEARS.end(),
            a.year
        ));
    }
    let lang = if a.lang.starts_with("en") { "en" } else { "zh" };
    // The folder is checked (a temporary file made in it) before the review is read.
    let mut main_file = match temp_beside(&a.out) {
        Ok(f) => f,
        Err(m) => return usage(m),
    };
    let detail_path = projects_path(&a.out);
    let mut detail_file = match format {
        Format::Csv => match temp_beside(&detail_path) {
            Ok(f) => Some(f),
            Err(m) => return usage(m),
        },
        Format::Xlsx => None,
    };

    let db = match super::open(Some(config.database_url.clone())).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    let app = match super::start_app(db, &config.workflows).await {
        Ok(a) => a,
        Err(c) => return c,
    };
    let Some(version) = app.registry.current(&a.definition) else {
        let known: Vec<String> = app
            .registry
            .all_current()
            .iter()
            .map(|v| v.workflow.id().to_string())
            .collect();
        return usage(format!(
            "--definition {}: no such definition (known: {})",
            a.definition,
            known.join(", ")
        ));
    };
    let w = version.workflow;
    let Some(review_def) = w.annual_review() else {
        return usage(format!(
            "--definition {}: the definition has no annual_review",
            a.definition
        ));
    };
    let who = match exporter(&app, &w, a.as_login.as_deref()).await {
        Ok(p) => p,
        Err(c) => return c,
    };

    let reading = spinner("reading the review");
    let now = chrono::Utc::now();
    let review = match app.annual_review(&who, &a.definition, a.year, now).await {
        Ok(r) => r,
        Err(e) => return failure(format!("cannot compute the review of {}: {e}", a.year)),
    };
    let projects = match app.review_projects(&who, &a.definition, a.year, None).await {
        Ok(p) => p,
        Err(e) => return failure(format!("cannot read the projects of {}: {e}", a.year)),
    };
    if let Some(s) = reading {
        s.finish_and_clear();
    }

    let bar = bar();
    let mut tell = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
            b.set_length(total);
        }
    };
    let written = match (format, detail_file.as_mut()) {
        (Format::Xlsx, _) => {
            if let Some(b) = &bar {
                b.set_message("workbook");
            }
            fill(&mut main_file, |out| {
                export::write_review_workbook(&w, &review, &projects, lang, out, Some(&mut tell))
            })
        }
        (Format::Csv, Some(detail)) => {
            if let Some(b) = &bar {
                b.set_message("summary");
            }
            fill(&mut main_file, |out| {
                export::write_review_csv(&w, &review, lang, out, Some(&mut tell))
            })
            .and_then(|()| {
                if let Some(b) = &bar {
                    b.set_message("projects");
                }
                fill(detail, |out| {
                    export::write_projects_csv(&w, &review, &projects, lang, out, Some(&mut tell))
                })
            })
        }
        (Format::Csv, None) => Err("no file for the project detail".to_string()),
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Err(m) = written {
        return failure(m);
    }
    // The detail first: should the summary's rename fail, the detail is taken back.
    if let Some(detail) = detail_file {
        if let Err(e) = detail.persist(&detail_path) {
            return failure(format!(
                "cannot write {}: {}",
                detail_path.display(),
                e.error
            ));
        }
    }
    if let Err(e) = main_file.persist(&a.out) {
        if format == Format::Csv {
            let _ = std::fs::remove_file(&detail_path);
        }
        return failure(format!("cannot write {}: {}", a.out.display(), e.error));
    }
    let what = format!(
        "{} {} ({}, as {}{})",
        review_def.name.get(lang),
        a.year,
        if review.frozen.is_some() {
            "frozen"
        } else {
            "not frozen"
        },
        who.login,
        if lang == "en" { ", English" } else { "" }
    );
    match format {
        Format::Xlsx => println!(
            "wrote {}: {} people, {} projects; {what}",
            a.out.display(),
            review.rows.len(),
            projects.len()
        ),
        Format::Csv => println!(
            "wrote {} ({} people) and {} ({} projects); {what}",
            a.out.display(),
            review.rows.len(),
            detail_path.display(),
            projects.len()
        ),
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_detail_lies_beside_the_summary() {
        assert_eq!(
            projects_path(Path::new("/tmp/out/review.csv")),
            PathBuf::from("/tmp/out/review-projects.csv")
        );
        assert_eq!(
            projects_path(Path::new("review")),
            PathBuf::from("review-projects.csv")
        );
    }

    #[test]
    fn a_temporary_file_needs_a_writable_folder_and_a_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let ok = temp_beside(&dir.path().join("a.xlsx")).unwrap();
        assert_eq!(ok.path().parent(), Some(dir.path()));
        assert!(temp_beside(dir.path()).unwrap_err().contains("folder"));
        let missing = dir.path().join("no/such/folder/a.xlsx");
        assert!(temp_beside(&missing)
            .unwrap_err()
            .contains("cannot write in"));
    }
}
