//! The stages and transitions of a workflow as a Mermaid `stateDiagram-v2`.

use std::fmt::Write;

use super::compile::Workflow;
use super::model::StageKind;

pub fn mermaid(w: &Workflow, lang: &str) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let d = &w.definition;
    for s in &d.stages {
        let _ = writeln!(out, "    {}: {}", s.id, escape(s.name.get(lang)));
    }
    let _ = writeln!(out, "    [*] --> {}", w.initial_stage().id);
    for t in &d.transitions {
        for f in &t.from {
            let roles: Vec<&str> = t.roles.iter().map(|r| r.as_str()).collect();
            let _ = writeln!(
                out,
                "    {} --> {}: {} ({})",
                f,
                t.to,
                escape(t.name.get(lang)),
                roles.join(", ")
            );
        }
    }
    for s in d
        .stages
        .iter()
        .filter(|s| *s.kind.get() == StageKind::Terminal)
    {
        let _ = writeln!(out, "    {} --> [*]", s.id);
    }
    out
}

/// Mermaid labels end at a newline and treat `:` and `;` specially.
fn escape(label: &str) -> String {
    label
        .replace(['\n', '\r'], " ")
        .replace(':', "#58;")
        .replace(';', "#59;")
}
