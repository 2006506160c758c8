//! When each scheduled job last ran, so that a run after downtime catches up from there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SchedulerRuns {
    Table,
    Job,
    LastRunAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SchedulerRuns::Table)
                .if_not_exists()
                .col(string(SchedulerRuns::Job).primary_key())
                .col(timestamp_with_time_zone(SchedulerRuns::LastRunAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(SchedulerRuns::Table)
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
