//! The append-only audit log, kept as a hash chain per project: each event's hash covers its
//! content and the previous event's hash, and the project row holds the head. Editing or
//! deleting any event behind the application's back breaks the chain, and `verify` finds it.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Set};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::store::entity::{audit_event, project};

/// The hash before a project's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub struct NewEvent<'a> {
    pub project_id: i64,
    pub actor_user_id: Option<i64>,
    pub action: &'a str,
    pub comment: Option<&'a str>,
    pub from_stage: Option<&'a str>,
    pub to_stage: Option<&'a str>,
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// Timestamps are kept to the microsecond, which both databases store exactly.
pub fn normalise_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

#[allow(clippy::too_many_arguments)]
fn hash(
    prev: &str,
    project_id: i64,
    seq: i64,
    at: DateTime<Utc>,
    actor: Option<i64>,
    action: &str,
    comment: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    data: &str,
) -> String {
    // The canonical form is the compact JSON array of the fields, written straight into the
    // hash (a tuple serialises exactly as the array would print).
    let mut h = HashWriter(Sha256::new());
    let fields = (
        prev,
        project_id,
        seq,
        at.timestamp_micros(),
        actor,
        action,
        comment,
        from,
        to,
        data,
    );
    serde_json::to_writer(&mut h, &fields).expect("writing to a hash cannot fail");
    hex::encode(h.0.finalize())
}

/// Feeds what serde_json writes into the hash.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The row to insert for event `seq` after `prev_hash`, and its hash (the new chain head).
pub fn chained(prev_hash: &str, seq: i64, e: NewEvent<'_>) -> (audit_event::ActiveModel, String) {
    let project_id = e.project_id;
    let (r, h) = chained_row(prev_hash, seq, e);
    let row = audit_event::ActiveModel {
        project_id: Set(project_id),
        seq: Set(r.seq),
        at: Set(r.at),
        actor_user_id: Set(r.actor_user_id),
        action: Set(r.action),
        comment: Set(r.comment),
        from_stage: Set(r.from_stage),
        to_stage: Set(r.to_stage),
        data: Set(r.data),
        prev_hash: Set(r.prev_hash),
        hash: Set(r.hash),
        ..Default::default()
    };
    (row, h)
}

/// The same event as a store row of a change set.
pub fn chained_row(
    prev_hash: &str,
    seq: i64,
    e: NewEvent<'_>,
) -> (crate::store::changeset::AuditRow, String) {
    let at = normalise_time(e.at);
    let data = e.data.to_string();
    let h = hash(
        prev_hash,
        e.project_id,
        seq,
        at,
        e.actor_user_id,
        e.action,
        e.comment,
        e.from_stage,
        e.to_stage,
        &data,
    );
    let row = crate::store::changeset::AuditRow {
        seq,
        at,
        actor_user_id: e.actor_user_id,
        action: e.action.to_string(),
        comment: e.comment.map(str::to_string),
        from_stage: e.from_stage.map(str::to_string),
        to_stage: e.to_stage.map(str::to_string),
        data,
        prev_hash: prev_hash.to_string(),
        hash: h.clone(),
    };
    (row, h)
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verification {
    pub projects: u64,
    pub events: u64,
    /// The first broken place, if any.
    pub broken: Option<Broken>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Broken {
    pub project_id: i64,
    /// The audit event id (none when events are missing at the end of the chain).
    pub event_id: Option<i64>,
    pub seq: i64,
    pub reason: String,
}

/// Check every project's chain.
pub async fn verify<C: ConnectionTrait>(db: &C) -> Result<Verification, sea_orm::DbErr> {
    let projects = project::Entity::find()
        .order_by_asc(project::Column::Id)
        .all(db)
        .await?;
    let mut report = Verification {
        projects: projects.len() as u64,
        events: 0,
        broken: None,
    };
    for p in projects {
        use sea_orm::{ColumnTrait, QueryFilter};
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::ProjectId.eq(p.id))
            .order_by_asc(audit_event::Column::Seq)
            .all(db)
            .await?;
        report.events += events.len() as u64;
        let mut prev = GENESIS.to_string();
        let mut expected_seq = 1;
        for e in &events {
            let broken = |reason: String| Broken {
                project_id: p.id,
                event_id: Some(e.id),
                seq: e.seq,
                reason,
            };
            if e.seq != expected_seq {
                report.broken = Some(broken(format!(
                    "event {} is missing (found {} next)",
                    expected_seq, e.seq
                )));
                return Ok(report);
            }
            if e.prev_hash != prev {
                report.broken = Some(broken(
                    "its previous-hash does not match the event before it".into(),
                ));
                return Ok(report);
            }
            let h = hash(
                &e.prev_hash,
                e.project_id,
                e.seq,
                e.at,
                e.actor_user_id,
                &e.action,
                e.comment.as_deref(),
                e.from_stage.as_deref(),
                e.to_stage.as_deref(),
                &e.data,
            );
            if h != e.hash {
                report.broken = Some(broken(
                    "its content does not match its hash (the row was edited)".into(),
                ));
                return Ok(report);
            }
            prev = e.hash.clone();
            expected_seq += 1;
        }
        if p.audit_seq != expected_seq - 1 || p.audit_head != prev {
            report.broken = Some(Broken {
                project_id: p.id,
                event_id: None,
                seq: expected_seq,
                reason: format!(
                    "the project records {} events ending in {}, but the log holds {} ending in {}",
                    p.audit_seq,
                    short(&p.audit_head),
                    expected_seq - 1,
                    short(&prev)
                ),
            });
            return Ok(report);
        }
    }
    Ok(report)
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chains written before the hash was streamed must still verify: the streamed canonical
    /// form is byte for byte the array the first version printed.
    #[test]
    fn the_hash_is_that_of_the_printed_json_array() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T08:00:00.123456Z")
            .unwrap()
            .to_utc();
        // (previous hash, actor, comment, to stage, data)
        type Case<'a> = (
            &'a str,
            Option<i64>,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
        );
        let cases: [Case; 3] = [
            ("", None, None, None, "{}"),
            (
                "ab12",
                Some(7),
                Some("同意，\"好\"\n"),
                Some("实施"),
                r#"{"k":[1,2]}"#,
            ),
            ("x", Some(-1), Some("\u{1F600} tab\t"), None, "\\"),
        ];
        for (prev, actor, comment, to, data) in cases {
            let printed = serde_json::json!([
                prev,
                42,
                3,
                at.timestamp_micros(),
                actor,
                "approve",
                comment,
                Some("申报"),
                to,
                data
            ])
            .to_string();
            let expected = hex::encode(Sha256::digest(printed.as_bytes()));
            let got = hash(
                prev,
                42,
                3,
                at,
                actor,
                "approve",
                comment,
                Some("申报"),
                to,
                data,
            );
            assert_eq!(got, expected, "{printed}");
        }
    }
}
