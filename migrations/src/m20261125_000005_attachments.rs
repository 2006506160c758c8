//! Attachments: evidence files of a project or milestone, stored by the server.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    ProjectId,
    MilestoneId,
    ReportId,
    UploaderUserId,
    FileName,
    ContentType,
    SizeBytes,
    Sha256,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Projects {
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
        m.create_table(
            Table::create()
                .table(Attachments::Table)
                .if_not_exists()
                .col(big_pk_auto(Attachments::Id))
                .col(big_integer(Attachments::ProjectId))
                .col(big_integer_null(Attachments::MilestoneId))
                .col(big_integer_null(Attachments::ReportId))
                .col(big_integer(Attachments::UploaderUserId))
                .col(string(Attachments::FileName))
                .col(string(Attachments::ContentType))
                .col(big_integer(Attachments::SizeBytes))
                .col(string(Attachments::Sha256))
                .col(timestamp_with_time_zone(Attachments::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_attachments_project")
                        .from(Attachments::Table, Attachments::ProjectId)
                        .to(Projects::Table, Projects::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_attachments_uploader")
                        .from(Attachments::Table, Attachments::UploaderUserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_attachments_project")
                .table(Attachments::Table)
                .col(Attachments::ProjectId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Attachments::Table)
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
