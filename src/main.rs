//! The command line. It parses arguments and calls the library; nothing else lives here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use secretary_projects::cli;

#[derive(Parser)]
#[command(
    name = "secretary-projects",
    version,
    about = "Secretary Projects (书记项目): a declarative project-and-workflow engine"
)]
struct Cli {
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
    match args.command {
        Command::Workflow { command } => match command {
            WorkflowCommand::Validate { paths } => cli::workflow_validate(&paths),
            WorkflowCommand::Schema => cli::workflow_schema(),
            WorkflowCommand::Graph { file, lang } => cli::workflow_graph(&file, &lang),
        },
    }
}
