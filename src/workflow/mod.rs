//! Workflow definitions: the format (`model`), reading (`load`), checking and compiling
//! (`compile`), and the pure engine (`engine`) that decides what an action does.
//!
//! Nothing in here touches a database, a clock or the network.

pub mod compile;
pub mod engine;
pub mod form;
pub mod graph;
pub mod load;
pub mod model;
pub mod pos;
pub mod problem;
pub mod progress;
pub mod reporting;
pub mod review;
pub mod units;

use std::path::{Path, PathBuf};

pub use compile::{RoleSet, Workflow};
pub use pos::{Location, Pos};
pub use problem::Problem;

/// Parse, validate and compile the text of one definition file.
pub fn load_str(file: &str, text: &str) -> Result<Workflow, Vec<Problem>> {
    let definition = load::parse_definition(file, text).map_err(|p| vec![p])?;
    compile::compile(file, text, definition)
}

/// The default definition shipped in `workflows/`, loaded (for unit tests).
#[cfg(test)]
pub(crate) fn default_workflow() -> Workflow {
    load_file(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/workflows/secretary_project.yaml"
    )))
    .expect("the default definition loads")
}

/// Read and load one file.
pub fn load_file(path: &Path) -> Result<Workflow, Vec<Problem>> {
    let file = path.display().to_string();
    let whole_file = |message: String| {
        vec![Problem {
            file: file.clone(),
            location: Location { line: 1, column: 1 },
            message,
        }]
    };
    let meta = std::fs::metadata(path).map_err(|e| whole_file(format!("cannot read: {e}")))?;
    if meta.len() > load::MAX_FILE_BYTES as u64 {
        return Err(whole_file(format!(
            "file is {} bytes; a workflow definition may be at most {} bytes",
            meta.len(),
            load::MAX_FILE_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| whole_file(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        whole_file(format!(
            "file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    load_str(&file, &text)
}

/// The definition files named by `paths`: files as given, folders searched (not recursively)
/// for `*.yaml` and `*.yml`, in name order.
pub fn definition_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Problem>> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| {
                            f.is_file() && f.extension().is_some_and(|x| x == "yaml" || x == "yml")
                        })
                        .collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => problems.push(Problem {
                    file: p.display().to_string(),
                    location: Location { line: 1, column: 1 },
                    message: format!("cannot read folder: {e}"),
                }),
            }
        } else if p.exists() {
            files.push(p.clone());
        } else {
            problems.push(Problem {
                file: p.display().to_string(),
                location: Location { line: 1, column: 1 },
                message: "no such file or folder".to_string(),
            });
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

/// Load every definition under `paths`. Also refuses two files declaring the same `id`.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Workflow>, Vec<Problem>> {
    let files = definition_files(paths)?;
    let mut workflows: Vec<(String, Workflow)> = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        match load_file(&f) {
            Ok(w) => {
                let file = f.display().to_string();
                if let Some((other, _)) = workflows.iter().find(|(_, o)| o.id() == w.id()) {
                    problems.push(Problem {
                        file,
                        location: w.definition.id.location(),
                        message: format!("definition id `{}` is also declared in {other}", w.id()),
                    });
                } else {
                    workflows.push((file, w));
                }
            }
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        Ok(workflows.into_iter().map(|(_, w)| w).collect())
    } else {
        Err(problems)
    }
}

/// The JSON Schema of the definition format, for editors.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(model::Definition);
    serde_json::to_value(schema).unwrap_or_default()
}
