//! What each command does, callable from tests. Output goes to stdout, problems to stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::workflow;

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
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot print the schema: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn workflow_graph(file: &Path, lang: &str) -> ExitCode {
    match workflow::load_file(file) {
        Ok(w) => {
            print!("{}", workflow::graph::mermaid(&w, lang));
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            ExitCode::FAILURE
        }
    }
}
