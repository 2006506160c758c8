//! Open deadlines get indexes of their own. The first indexes kept every deadline row ever
//! opened, closed ones included, ordered by project and closing time, so closing a deadline
//! moved its entry to the far end of the project's range: two index pages written per action
//! and project, the largest share of an action's writes under load. Partial indexes over the
//! open rows alone stay a few pages small however long the history grows. Score deductions
//! read a project's own deadlines (not its milestones'), open or closed: a third partial index
//! holds those. (A full index by project was tried: SQLite then took it for the open-deadline
//! queries too, reading a project's whole history on every action.)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        // Plain SQL: partial indexes read the same on SQLite and PostgreSQL.
        for sql in [
            "DROP INDEX IF EXISTS idx_deadlines_project_open",
            "DROP INDEX IF EXISTS idx_deadlines_due",
            "CREATE INDEX IF NOT EXISTS idx_deadlines_open_by_project ON project_deadlines (project_id) WHERE closed_at IS NULL",
            "CREATE INDEX IF NOT EXISTS idx_deadlines_open_by_due ON project_deadlines (due_at) WHERE closed_at IS NULL",
            "CREATE INDEX IF NOT EXISTS idx_deadlines_project_own ON project_deadlines (project_id) WHERE milestone_id IS NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in [
            "DROP INDEX IF EXISTS idx_deadlines_open_by_project",
            "DROP INDEX IF EXISTS idx_deadlines_open_by_due",
            "DROP INDEX IF EXISTS idx_deadlines_project_own",
            "CREATE INDEX IF NOT EXISTS idx_deadlines_project_open ON project_deadlines (project_id, closed_at)",
            "CREATE INDEX IF NOT EXISTS idx_deadlines_due ON project_deadlines (closed_at, due_at)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
