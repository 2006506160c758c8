//! The reminder run also reads the deadlines opened since its last run (one opened already
//! past its escalation instant is escalated at the next run): a partial index over the open
//! rows by opening time keeps that read a small range scan.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_deadlines_open_by_opened ON project_deadlines (opened_at) WHERE closed_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_deadlines_open_by_opened")
            .await?;
        Ok(())
    }
}
