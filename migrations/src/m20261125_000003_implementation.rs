//! The implementation phase: progress reports on milestones, guidance threads, and the private
//! calendar feed token of each user.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProgressReports {
    Table,
    Id,
    ProjectId,
    MilestoneId,
    AuthorUserId,
    Percent,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Guidance {
    Table,
    Id,
    ProjectId,
    MilestoneId,
    ReplyTo,
    AuthorUserId,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CalendarFeeds {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Title,
    TitleFolded,
}

#[derive(DeriveIden)]
enum Milestones {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The title case-folded by the application (SQLite's lower() folds ASCII only), so that
        // text search ignores case in every script.
        m.alter_table(
            Table::alter()
                .table(Projects::Table)
                .add_column(string(Projects::TitleFolded).default(""))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(&format!(
                "UPDATE {} SET {} = lower({})",
                Projects::Table.to_string(),
                Projects::TitleFolded.to_string(),
                Projects::Title.to_string()
            ))
            .await?;
        m.create_table(
            Table::create()
                .table(ProgressReports::Table)
                .if_not_exists()
                .col(big_pk_auto(ProgressReports::Id))
                .col(big_integer(ProgressReports::ProjectId))
                .col(big_integer(ProgressReports::MilestoneId))
                .col(big_integer(ProgressReports::AuthorUserId))
                .col(integer(ProgressReports::Percent))
                .col(text(ProgressReports::Note))
                .col(timestamp_with_time_zone(ProgressReports::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_progress_project")
                        .from(ProgressReports::Table, ProgressReports::ProjectId)
                        .to(Projects::Table, Projects::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_progress_milestone")
                        .from(ProgressReports::Table, ProgressReports::MilestoneId)
                        .to(Milestones::Table, Milestones::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_progress_author")
                        .from(ProgressReports::Table, ProgressReports::AuthorUserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_progress_project")
                .table(ProgressReports::Table)
                .col(ProgressReports::ProjectId)
                .col(ProgressReports::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Guidance::Table)
                .if_not_exists()
                .col(big_pk_auto(Guidance::Id))
                .col(big_integer(Guidance::ProjectId))
                .col(big_integer_null(Guidance::MilestoneId))
                .col(big_integer_null(Guidance::ReplyTo))
                .col(big_integer(Guidance::AuthorUserId))
                .col(text(Guidance::Body))
                .col(timestamp_with_time_zone(Guidance::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_guidance_project")
                        .from(Guidance::Table, Guidance::ProjectId)
                        .to(Projects::Table, Projects::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_guidance_author")
                        .from(Guidance::Table, Guidance::AuthorUserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_guidance_project")
                .table(Guidance::Table)
                .col(Guidance::ProjectId)
                .col(Guidance::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CalendarFeeds::Table)
                .if_not_exists()
                .col(big_pk_auto(CalendarFeeds::Id))
                .col(big_integer_uniq(CalendarFeeds::UserId))
                .col(string_uniq(CalendarFeeds::TokenHash))
                .col(timestamp_with_time_zone(CalendarFeeds::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_calendar_user")
                        .from(CalendarFeeds::Table, CalendarFeeds::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Projects::Table)
                .drop_column(Projects::TitleFolded)
                .to_owned(),
        )
        .await?;
        for t in [
            CalendarFeeds::Table.into_iden(),
            Guidance::Table.into_iden(),
            ProgressReports::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
