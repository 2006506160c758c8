//! Where progress is reported: the stages in which a milestone report is taken. A stage may say
//! so itself (`progress_reports: true|false`); otherwise it is where milestones are live, that is
//! where a project's milestone deadline (`due: {milestone_due: true}`) is open, found by walking
//! the graph with the engine's own deadline rules (a stage's `deadline` opens on entering it and
//! closes on leaving it unless the transition names it; `open_deadline`/`close_deadline` effects in
//! order). A definition without a milestone deadline reports progress in every stage that is
//! neither initial nor terminal. Terminal stages never take reports. Pure.

use super::compile::{CompiledDue, Workflow};
use super::model::{Effect, StageKind};

/// For each stage (by index), whether it takes progress reports.
pub fn progress_stages(w: &Workflow) -> Vec<bool> {
    let d = &w.definition;
    let n = d.stages.len();
    let is_milestone = |id: &str| {
        w.deadline_index
            .get(id)
            .and_then(|i| w.deadlines.get(*i))
            .is_some_and(|dl| matches!(dl.due, CompiledDue::MilestoneDue))
    };
    let any_milestone_deadline = w
        .deadlines
        .iter()
        .any(|dl| matches!(dl.due, CompiledDue::MilestoneDue));
    let live = if any_milestone_deadline {
        // Reachable (stage, milestone deadline open) states, from the initial stage, closed.
        let mut seen = vec![[false; 2]; n];
        let mut queue = vec![(w.initial_stage, false)];
        seen[w.initial_stage][0] = true;
        while let Some((s, open)) = queue.pop() {
            for ti in &w.outgoing[s] {
                let (t, ct) = (&d.transitions[*ti], &w.transitions[*ti]);
                let names = |id: &str| {
                    t.effects.iter().any(|e| {
                        matches!(e.get(), Effect::OpenDeadline(x) | Effect::CloseDeadline(x) if x.as_str() == id)
                    })
                };
                let mut now_open = open;
                if s != ct.to {
                    let implicit = |stage: usize| {
                        d.stages[stage]
                            .deadline
                            .as_ref()
                            .filter(|x| is_milestone(x) && !names(x))
                            .is_some()
                    };
                    if implicit(s) {
                        now_open = false;
                    }
                    if implicit(ct.to) {
                        now_open = true;
                    }
                }
                for e in &t.effects {
                    match e.get() {
                        Effect::OpenDeadline(x) if is_milestone(x) => now_open = true,
                        Effect::CloseDeadline(x) if is_milestone(x) => now_open = false,
                        _ => {}
                    }
                }
                let slot = &mut seen[ct.to][usize::from(now_open)];
                if !*slot {
                    *slot = true;
                    queue.push((ct.to, now_open));
                }
            }
        }
        seen.iter().map(|s| s[1]).collect::<Vec<bool>>()
    } else {
        (0..n).map(|i| i != w.initial_stage).collect()
    };
    d.stages
        .iter()
        .zip(live)
        .map(|(stage, live)| {
            *stage.kind.get() != StageKind::Terminal
                && stage.progress_reports.as_ref().map_or(live, |p| *p.get())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(text: &str) -> Vec<String> {
        let w = crate::workflow::load_str("t.yaml", text).unwrap_or_else(|p| {
            panic!(
                "{}",
                p.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        w.definition
            .stages
            .iter()
            .zip(progress_stages(&w))
            .filter(|(_, on)| *on)
            .map(|(s, _)| s.id.to_string())
            .collect()
    }

    #[test]
    fn the_default_definition_reports_where_milestones_run_and_where_it_says() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/workflows/secretary_project.yaml"
        ))
        .unwrap();
        assert_eq!(
            stages(&text),
            ["implementation", "mid_term_review", "correction"]
        );
        // Without the two declarations, only the stage whose deadline is the milestones'.
        let bare = text.replace("    progress_reports: true\n", "");
        assert_eq!(stages(&bare), ["implementation"]);
        // Declared off, even where milestones run.
        let off = bare.replacen(
            "    deadline: milestones\n",
            "    deadline: milestones\n    progress_reports: false\n",
            1,
        );
        assert!(stages(&off).is_empty(), "{:?}", stages(&off));
    }
}
