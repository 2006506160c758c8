//! Definition versions, the demo on any definition, audit tamper evidence, migrations.

mod common;

use common::{day, env, repo, world};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use secretary_projects::app::projects::{ActionInput, NewProject};
use secretary_projects::app::{audit, AppError};
use secretary_projects::store::entity::{audit_event, milestone, project};
use secretary_projects::workflow;
use serde_json::json;

fn submit_ready_form(theme: &str) -> serde_json::Map<String, serde_json::Value> {
    json!({
        "title": "t", "theme": theme, "problem": "p", "feasibility": "f", "goals": "g",
        "measures": "m", "schedule": "s",
        "team": [{"user": "secretary1"}],
        "milestones": [{"title": "a", "owner": "secretary1", "due": "2026-06-30"}]
    })
    .as_object()
    .cloned()
    .unwrap()
}

#[tokio::test]
async fn a_changed_definition_never_changes_a_running_project() {
    let t = env().await;
    let app = &t.app;
    let w = world(
        app,
        1,
        &[("reviewer1", "reviewer", 0), ("secretary1", "secretary", 1)],
    )
    .await;
    let v1 = app.registry.current("secretary_project").unwrap();
    assert_eq!(v1.number, 1);
    let theme = v1.workflow.field("theme").unwrap().options[0]
        .id
        .to_string();
    let sec = w.user("secretary1");
    let new = |title: &str| NewProject {
        definition: "secretary_project".into(),
        title: title.into(),
        year: 2026,
        organisation_id: None,
        form: submit_ready_form(&theme),
    };
    let old = app
        .create_project(sec, new("old"), day(2, 1))
        .await
        .unwrap();

    // Version 2 requires a comment to approve.
    let text = std::fs::read_to_string(repo("workflows/secretary_project.yaml")).unwrap();
    let changed = text.replacen(
        "  - id: approve\n",
        "  - id: approve\n    comment: required\n",
        1,
    );
    assert_ne!(text, changed, "the test must really change the definition");
    let v2 = workflow::load_str("v2.yaml", &changed).expect("v2 validates");
    let versions = app
        .registry
        .register(&app.db, vec![v2], day(2, 2))
        .await
        .unwrap();
    assert_eq!(versions[0].number, 2);
    assert_ne!(versions[0].id, v1.id);
    // Registering the same content again is not a new version.
    let again = workflow::load_str("v2.yaml", &changed).unwrap();
    assert_eq!(
        app.registry
            .register(&app.db, vec![again], day(2, 3))
            .await
            .unwrap()[0]
            .number,
        2
    );

    let fresh = app
        .create_project(sec, new("new"), day(2, 3))
        .await
        .unwrap();
    assert_eq!(old.definition_id, v1.id);
    assert_eq!(fresh.definition_id, versions[0].id);
    let r = w.user("reviewer1");
    for id in [old.id, fresh.id] {
        app.take_action(
            sec,
            id,
            ActionInput {
                action: "submit".into(),
                comment: None,
                expected_version: None,
            },
            day(2, 4),
        )
        .await
        .unwrap();
    }
    let approve = ActionInput {
        action: "approve".into(),
        comment: None,
        expected_version: None,
    };
    let done = app
        .take_action(r, old.id, approve.clone(), day(2, 5))
        .await
        .unwrap();
    assert_eq!(
        done.to, "implementation",
        "version 1 rules: no comment needed"
    );
    let e = app
        .take_action(r, fresh.id, approve, day(2, 5))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, AppError::Refused(r) if r.reasons.iter().any(|x| x.code() == "comment_required")),
        "{e:?}"
    );

    // A fresh registry (a restarted server) reads version 1 back from the database.
    let restarted = secretary_projects::app::App::new(app.db.clone());
    let w1 = restarted
        .registry
        .version(&restarted.db, v1.id)
        .await
        .unwrap();
    assert_eq!(w1.content_hash, v1.workflow.content_hash);
}

#[tokio::test]
async fn demo_fills_every_stage_of_any_definition() {
    for def in ["secretary_project", "community_fund"] {
        let t = env().await;
        let wf = t.app.registry.current(def).unwrap().workflow;
        let summary = secretary_projects::demo::load(&t.app, &wf, day(11, 25))
            .await
            .unwrap();
        assert!(summary.skipped.is_empty(), "{def}: {:?}", summary.skipped);
        assert_eq!(summary.projects, 36);
        let stages: Vec<&str> = summary.by_stage.iter().map(|(s, _)| s.as_str()).collect();
        for s in &wf.definition.stages {
            assert!(
                stages.contains(&s.id.as_str()),
                "{def}: no demo project in {}",
                s.id
            );
        }
        assert!(summary.logins.len() >= wf.definition.roles.len() - 1);
        assert_eq!(
            project::Entity::find().count(&t.app.db.read).await.unwrap(),
            36
        );
        // The demo refuses to load twice.
        assert!(secretary_projects::demo::load(&t.app, &wf, day(11, 25))
            .await
            .is_err());
        assert_eq!(audit::verify(&t.app.db.read).await.unwrap().broken, None);
        if def == "secretary_project" {
            let overdue = milestone::Entity::find()
                .all(&t.app.db.read)
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.done_at.is_none() && m.due_date < day(11, 25).date_naive())
                .count();
            assert!(overdue > 0, "some demo milestones are overdue");
        }
    }
}

#[tokio::test]
async fn audit_verify_finds_an_edited_or_deleted_event() {
    let t = env().await;
    let wf = t
        .app
        .registry
        .current("secretary_project")
        .unwrap()
        .workflow;
    secretary_projects::demo::load(&t.app, &wf, day(11, 25))
        .await
        .unwrap();
    let ok = audit::verify(&t.app.db.read).await.unwrap();
    assert!(ok.broken.is_none() && ok.events > 36);

    // Edit the comment of one event behind the application's back.
    let victim = audit_event::Entity::find_by_id(40)
        .one(&t.app.db.read)
        .await
        .unwrap()
        .unwrap();
    t.app
        .db
        .write
        .execute_unprepared("UPDATE audit_events SET comment = 'tampered' WHERE id = 40")
        .await
        .unwrap();
    let r = audit::verify(&t.app.db.read).await.unwrap();
    let b = r.broken.expect("the edit is found");
    assert_eq!((b.project_id, b.event_id), (victim.project_id, Some(40)));

    // Restore it, then delete a project's last event instead.
    let restore = format!(
        "UPDATE audit_events SET comment = {} WHERE id = 40",
        victim
            .comment
            .as_ref()
            .map(|c| format!("'{c}'"))
            .unwrap_or("NULL".into())
    );
    t.app.db.write.execute_unprepared(&restore).await.unwrap();
    assert!(audit::verify(&t.app.db.read)
        .await
        .unwrap()
        .broken
        .is_none());
    let last = audit_event::Entity::find()
        .all(&t.app.db.read)
        .await
        .unwrap()
        .into_iter()
        .max_by_key(|e| e.id)
        .unwrap();
    t.app
        .db
        .write
        .execute_unprepared(&format!("DELETE FROM audit_events WHERE id = {}", last.id))
        .await
        .unwrap();
    let b = audit::verify(&t.app.db.read)
        .await
        .unwrap()
        .broken
        .expect("the deletion is found");
    assert_eq!(b.project_id, last.project_id);
}

#[tokio::test]
async fn migrations_apply_twice_without_harm() {
    let t = env().await;
    t.app.db.migrate().await.unwrap();
    t.app.db.migrate().await.unwrap();
    assert!(t.app.db.ping().await.is_ok());
}
