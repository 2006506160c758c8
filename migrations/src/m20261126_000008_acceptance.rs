//! Acceptance (自查 + 上考 + 下评): reviewers assigned to a project, their site visits, manual
//! deductions, and the one-time tokens residents appraise with (each appraisal names its token).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReviewerAssignments {
    Table,
    Id,
    ProjectId,
    ReviewerUserId,
    AssignedBy,
    AssignedAt,
}

#[derive(DeriveIden)]
enum SiteVisits {
    Table,
    Id,
    ProjectId,
    ReviewerUserId,
    VisitedOn,
    Notes,
    Photos,
    RecordedAt,
}

#[derive(DeriveIden)]
enum ManualDeductions {
    Table,
    Id,
    ProjectId,
    Deduction,
    Reason,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum AppraisalTokens {
    Table,
    Id,
    ProjectId,
    Code,
    Batch,
    IssuedBy,
    IssuedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Appraisals {
    Table,
    TokenId,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

fn fk(name: &str, from: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(Projects::Table, Projects::Id)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ReviewerAssignments::Table)
                .if_not_exists()
                .col(big_pk_auto(ReviewerAssignments::Id))
                .col(big_integer(ReviewerAssignments::ProjectId))
                .col(big_integer(ReviewerAssignments::ReviewerUserId))
                .col(big_integer(ReviewerAssignments::AssignedBy))
                .col(timestamp_with_time_zone(ReviewerAssignments::AssignedAt))
                .foreign_key(&mut fk(
                    "fk_reviewer_assignments_project",
                    (ReviewerAssignments::Table, ReviewerAssignments::ProjectId),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_reviewer_assignments_unique")
                .table(ReviewerAssignments::Table)
                .col(ReviewerAssignments::ProjectId)
                .col(ReviewerAssignments::ReviewerUserId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SiteVisits::Table)
                .if_not_exists()
                .col(big_pk_auto(SiteVisits::Id))
                .col(big_integer(SiteVisits::ProjectId))
                .col(big_integer(SiteVisits::ReviewerUserId))
                .col(date(SiteVisits::VisitedOn))
                .col(text(SiteVisits::Notes))
                .col(text(SiteVisits::Photos))
                .col(timestamp_with_time_zone(SiteVisits::RecordedAt))
                .foreign_key(&mut fk(
                    "fk_site_visits_project",
                    (SiteVisits::Table, SiteVisits::ProjectId),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_site_visits_project")
                .table(SiteVisits::Table)
                .col(SiteVisits::ProjectId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ManualDeductions::Table)
                .if_not_exists()
                .col(big_pk_auto(ManualDeductions::Id))
                .col(big_integer(ManualDeductions::ProjectId))
                .col(string(ManualDeductions::Deduction))
                .col(text(ManualDeductions::Reason))
                .col(big_integer(ManualDeductions::RecordedBy))
                .col(timestamp_with_time_zone(ManualDeductions::RecordedAt))
                .foreign_key(&mut fk(
                    "fk_manual_deductions_project",
                    (ManualDeductions::Table, ManualDeductions::ProjectId),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_manual_deductions_project")
                .table(ManualDeductions::Table)
                .col(ManualDeductions::ProjectId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AppraisalTokens::Table)
                .if_not_exists()
                .col(big_pk_auto(AppraisalTokens::Id))
                .col(big_integer(AppraisalTokens::ProjectId))
                .col(string_uniq(AppraisalTokens::Code))
                .col(string(AppraisalTokens::Batch))
                .col(big_integer(AppraisalTokens::IssuedBy))
                .col(timestamp_with_time_zone(AppraisalTokens::IssuedAt))
                .col(timestamp_with_time_zone(AppraisalTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(AppraisalTokens::UsedAt))
                .col(timestamp_with_time_zone_null(AppraisalTokens::RevokedAt))
                .foreign_key(&mut fk(
                    "fk_appraisal_tokens_project",
                    (AppraisalTokens::Table, AppraisalTokens::ProjectId),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_appraisal_tokens_project")
                .table(AppraisalTokens::Table)
                .col(AppraisalTokens::ProjectId)
                .col(AppraisalTokens::Batch)
                .to_owned(),
        )
        .await?;

        m.alter_table(
            Table::alter()
                .table(Appraisals::Table)
                .add_column(big_integer_null(Appraisals::TokenId))
                .to_owned(),
        )
        .await?;
        // One appraisal per token, enforced by the database as well as by the use case.
        m.create_index(
            Index::create()
                .name("idx_appraisals_token")
                .table(Appraisals::Table)
                .col(Appraisals::TokenId)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_appraisals_token").to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Appraisals::Table)
                .drop_column(Appraisals::TokenId)
                .to_owned(),
        )
        .await?;
        for t in [
            AppraisalTokens::Table.into_iden(),
            ManualDeductions::Table.into_iden(),
            SiteVisits::Table.into_iden(),
            ReviewerAssignments::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
