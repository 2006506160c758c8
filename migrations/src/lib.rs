//! The database schema, as sea-orm migrations. Applied by `secretary-projects migrate` and by
//! the server on start. Runs unchanged on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_core;
mod m20261125_000002_sessions;
mod m20261125_000003_implementation;
mod m20261125_000004_topics;
mod m20261125_000005_attachments;
mod m20261125_000006_scheduler;
mod m20261125_000007_topic_events;
mod m20261126_000008_acceptance;
mod m20261126_000009_open_deadline_indexes;
mod m20261202_000010_canonical_logins;
mod m20261202_000011_deadlines_by_opening;
mod m20261204_000012_annual_review;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_core::Migration),
            Box::new(m20261125_000002_sessions::Migration),
            Box::new(m20261125_000003_implementation::Migration),
            Box::new(m20261125_000004_topics::Migration),
            Box::new(m20261125_000005_attachments::Migration),
            Box::new(m20261125_000006_scheduler::Migration),
            Box::new(m20261125_000007_topic_events::Migration),
            Box::new(m20261126_000008_acceptance::Migration),
            Box::new(m20261126_000009_open_deadline_indexes::Migration),
            Box::new(m20261202_000010_canonical_logins::Migration),
            Box::new(m20261202_000011_deadlines_by_opening::Migration),
            Box::new(m20261204_000012_annual_review::Migration),
        ]
    }
}
