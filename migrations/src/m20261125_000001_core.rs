//! Organisations, users, definition versions, projects, milestones, deadlines, the audit log
//! and the mail outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    ParentId,
    Name,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Login,
    Name,
    Email,
    OrganisationId,
    Roles,
    PasswordHash,
    Language,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Definitions {
    Table,
    Id,
    Key,
    Number,
    ContentHash,
    Name,
    Source,
    LoadedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    DefinitionId,
    DefinitionKey,
    Title,
    Year,
    OrganisationId,
    DistrictId,
    LeadUserId,
    Stage,
    FormData,
    Version,
    MilestonesTotal,
    MilestonesDone,
    AppraisalCount,
    ScoreCounts,
    AuditSeq,
    AuditHead,
    FinalScore,
    Grade,
    ScoreDetail,
    StageEnteredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Milestones {
    Table,
    Id,
    ProjectId,
    Position,
    Title,
    Goal,
    OwnerLogin,
    OwnerUserId,
    StartDate,
    DueDate,
    Weight,
    Percent,
    DoneAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProjectDeadlines {
    Table,
    Id,
    ProjectId,
    DeadlineKey,
    MilestoneId,
    DueAt,
    OpenedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    ProjectId,
    Seq,
    At,
    ActorUserId,
    Action,
    Comment,
    FromStage,
    ToStage,
    Data,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum ScoreSheets {
    Table,
    Id,
    ProjectId,
    Part,
    ScorerUserId,
    Criteria,
    Total,
    Comment,
    SubmittedAt,
}

#[derive(DeriveIden)]
enum Appraisals {
    Table,
    Id,
    ProjectId,
    Rating,
    Comment,
    SubmittedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    UniqueKey,
    RecipientUserId,
    RecipientEmail,
    Language,
    Template,
    ProjectId,
    Payload,
    CreatedAt,
    DueAt,
    NextAttemptAt,
    Attempts,
    LastError,
    SentAt,
    Dead,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Organisations::Table)
                .if_not_exists()
                .col(big_pk_auto(Organisations::Id))
                .col(big_integer_null(Organisations::ParentId))
                .col(string(Organisations::Name))
                .col(string(Organisations::Kind))
                .col(timestamp_with_time_zone(Organisations::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_organisations_parent",
                    (Organisations::Table, Organisations::ParentId),
                    (Organisations::Table, Organisations::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .if_not_exists()
                .col(big_pk_auto(Users::Id))
                .col(string_uniq(Users::Login))
                .col(string(Users::Name))
                .col(string(Users::Email))
                .col(big_integer(Users::OrganisationId))
                .col(string(Users::Roles))
                .col(string_null(Users::PasswordHash))
                .col(string(Users::Language).default("zh"))
                .col(boolean(Users::Active).default(true))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_users_organisation",
                    (Users::Table, Users::OrganisationId),
                    (Organisations::Table, Organisations::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_users_organisation")
                .table(Users::Table)
                .col(Users::OrganisationId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Definitions::Table)
                .if_not_exists()
                .col(big_pk_auto(Definitions::Id))
                .col(string(Definitions::Key))
                .col(integer(Definitions::Number))
                .col(string(Definitions::ContentHash))
                .col(string(Definitions::Name))
                .col(text(Definitions::Source))
                .col(timestamp_with_time_zone(Definitions::LoadedAt))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_definitions_key_number", Definitions::Number),
            ("idx_definitions_key_hash", Definitions::ContentHash),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Definitions::Table)
                    .col(Definitions::Key)
                    .col(col)
                    .unique()
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(Projects::Table)
                .if_not_exists()
                .col(big_pk_auto(Projects::Id))
                .col(big_integer(Projects::DefinitionId))
                .col(string(Projects::DefinitionKey))
                .col(string(Projects::Title))
                .col(integer(Projects::Year))
                .col(big_integer(Projects::OrganisationId))
                .col(big_integer_null(Projects::DistrictId))
                .col(big_integer(Projects::LeadUserId))
                .col(string(Projects::Stage))
                .col(text(Projects::FormData))
                .col(integer(Projects::Version))
                .col(integer(Projects::MilestonesTotal).default(0))
                .col(integer(Projects::MilestonesDone).default(0))
                .col(integer(Projects::AppraisalCount).default(0))
                .col(text(Projects::ScoreCounts))
                .col(big_integer(Projects::AuditSeq).default(0))
                .col(string(Projects::AuditHead))
                .col(double_null(Projects::FinalScore))
                .col(string_null(Projects::Grade))
                .col(text_null(Projects::ScoreDetail))
                .col(timestamp_with_time_zone(Projects::StageEnteredAt))
                .col(timestamp_with_time_zone(Projects::CreatedAt))
                .col(timestamp_with_time_zone(Projects::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_projects_definition",
                    (Projects::Table, Projects::DefinitionId),
                    (Definitions::Table, Definitions::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_projects_organisation",
                    (Projects::Table, Projects::OrganisationId),
                    (Organisations::Table, Organisations::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_projects_lead",
                    (Projects::Table, Projects::LeadUserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_projects_org_year",
                vec![Projects::OrganisationId, Projects::Year],
            ),
            (
                "idx_projects_year_stage",
                vec![Projects::Year, Projects::Stage],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Projects::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(Milestones::Table)
                .if_not_exists()
                .col(big_pk_auto(Milestones::Id))
                .col(big_integer(Milestones::ProjectId))
                .col(integer(Milestones::Position))
                .col(string(Milestones::Title))
                .col(text(Milestones::Goal))
                .col(string(Milestones::OwnerLogin))
                .col(big_integer_null(Milestones::OwnerUserId))
                .col(date_null(Milestones::StartDate))
                .col(date(Milestones::DueDate))
                .col(double(Milestones::Weight))
                .col(integer(Milestones::Percent).default(0))
                .col(timestamp_with_time_zone_null(Milestones::DoneAt))
                .col(timestamp_with_time_zone(Milestones::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_milestones_project",
                    (Milestones::Table, Milestones::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_milestones_project")
                .table(Milestones::Table)
                .col(Milestones::ProjectId)
                .col(Milestones::Position)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_milestones_due")
                .table(Milestones::Table)
                .col(Milestones::DueDate)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ProjectDeadlines::Table)
                .if_not_exists()
                .col(big_pk_auto(ProjectDeadlines::Id))
                .col(big_integer(ProjectDeadlines::ProjectId))
                .col(string(ProjectDeadlines::DeadlineKey))
                .col(big_integer_null(ProjectDeadlines::MilestoneId))
                .col(timestamp_with_time_zone_null(ProjectDeadlines::DueAt))
                .col(timestamp_with_time_zone(ProjectDeadlines::OpenedAt))
                .col(timestamp_with_time_zone_null(ProjectDeadlines::ClosedAt))
                .foreign_key(&mut fk(
                    "fk_deadlines_project",
                    (ProjectDeadlines::Table, ProjectDeadlines::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        // Open deadlines of a project are found by (project, closed_at IS NULL) on every
        // action; the history of closed ones must not slow that down.
        m.create_index(
            Index::create()
                .name("idx_deadlines_project_open")
                .table(ProjectDeadlines::Table)
                .col(ProjectDeadlines::ProjectId)
                .col(ProjectDeadlines::ClosedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_deadlines_due")
                .table(ProjectDeadlines::Table)
                .col(ProjectDeadlines::ClosedAt)
                .col(ProjectDeadlines::DueAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .if_not_exists()
                .col(big_pk_auto(AuditEvents::Id))
                .col(big_integer(AuditEvents::ProjectId))
                .col(big_integer(AuditEvents::Seq))
                .col(timestamp_with_time_zone(AuditEvents::At))
                .col(big_integer_null(AuditEvents::ActorUserId))
                .col(string(AuditEvents::Action))
                .col(text_null(AuditEvents::Comment))
                .col(string_null(AuditEvents::FromStage))
                .col(string_null(AuditEvents::ToStage))
                .col(text(AuditEvents::Data))
                .col(string(AuditEvents::PrevHash))
                .col(string(AuditEvents::Hash))
                .foreign_key(&mut fk(
                    "fk_audit_project",
                    (AuditEvents::Table, AuditEvents::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_project_seq")
                .table(AuditEvents::Table)
                .col(AuditEvents::ProjectId)
                .col(AuditEvents::Seq)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ScoreSheets::Table)
                .if_not_exists()
                .col(big_pk_auto(ScoreSheets::Id))
                .col(big_integer(ScoreSheets::ProjectId))
                .col(string(ScoreSheets::Part))
                .col(big_integer(ScoreSheets::ScorerUserId))
                .col(text(ScoreSheets::Criteria))
                .col(double(ScoreSheets::Total))
                .col(text_null(ScoreSheets::Comment))
                .col(timestamp_with_time_zone(ScoreSheets::SubmittedAt))
                .foreign_key(&mut fk(
                    "fk_score_sheets_project",
                    (ScoreSheets::Table, ScoreSheets::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_score_sheets_unique")
                .table(ScoreSheets::Table)
                .col(ScoreSheets::ProjectId)
                .col(ScoreSheets::Part)
                .col(ScoreSheets::ScorerUserId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Appraisals::Table)
                .if_not_exists()
                .col(big_pk_auto(Appraisals::Id))
                .col(big_integer(Appraisals::ProjectId))
                .col(string(Appraisals::Rating))
                .col(text_null(Appraisals::Comment))
                .col(timestamp_with_time_zone(Appraisals::SubmittedAt))
                .foreign_key(&mut fk(
                    "fk_appraisals_project",
                    (Appraisals::Table, Appraisals::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_appraisals_project")
                .table(Appraisals::Table)
                .col(Appraisals::ProjectId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .if_not_exists()
                .col(big_pk_auto(Outbox::Id))
                .col(string_uniq(Outbox::UniqueKey))
                .col(big_integer_null(Outbox::RecipientUserId))
                .col(string(Outbox::RecipientEmail))
                .col(string(Outbox::Language))
                .col(string(Outbox::Template))
                .col(big_integer_null(Outbox::ProjectId))
                .col(text(Outbox::Payload))
                .col(timestamp_with_time_zone(Outbox::CreatedAt))
                .col(timestamp_with_time_zone(Outbox::DueAt))
                .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                .col(integer(Outbox::Attempts).default(0))
                .col(text_null(Outbox::LastError))
                .col(timestamp_with_time_zone_null(Outbox::SentAt))
                .col(boolean(Outbox::Dead).default(false))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_outbox_pending")
                .table(Outbox::Table)
                .col(Outbox::SentAt)
                .col(Outbox::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Outbox::Table.into_iden(),
            Appraisals::Table.into_iden(),
            ScoreSheets::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            ProjectDeadlines::Table.into_iden(),
            Milestones::Table.into_iden(),
            Projects::Table.into_iden(),
            Definitions::Table.into_iden(),
            Users::Table.into_iden(),
            Organisations::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
