//! The topic pool (议题库): candidate problems a subdistrict records and discusses before one
//! becomes a project application.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Topics {
    Table,
    Id,
    DefinitionKey,
    OrganisationId,
    DistrictId,
    AuthorUserId,
    Title,
    Source,
    Area,
    Description,
    Status,
    ProjectId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TopicComments {
    Table,
    Id,
    TopicId,
    AuthorUserId,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organisations {
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
                .table(Topics::Table)
                .if_not_exists()
                .col(big_pk_auto(Topics::Id))
                .col(string(Topics::DefinitionKey))
                .col(big_integer(Topics::OrganisationId))
                .col(big_integer_null(Topics::DistrictId))
                .col(big_integer(Topics::AuthorUserId))
                .col(string(Topics::Title))
                .col(string(Topics::Source))
                .col(string(Topics::Area))
                .col(text(Topics::Description))
                .col(string(Topics::Status))
                .col(big_integer_null(Topics::ProjectId))
                .col(timestamp_with_time_zone(Topics::CreatedAt))
                .col(timestamp_with_time_zone(Topics::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_topics_organisation")
                        .from(Topics::Table, Topics::OrganisationId)
                        .to(Organisations::Table, Organisations::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_topics_author")
                        .from(Topics::Table, Topics::AuthorUserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_topics_organisation")
                .table(Topics::Table)
                .col(Topics::OrganisationId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_topics_district")
                .table(Topics::Table)
                .col(Topics::DistrictId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TopicComments::Table)
                .if_not_exists()
                .col(big_pk_auto(TopicComments::Id))
                .col(big_integer(TopicComments::TopicId))
                .col(big_integer(TopicComments::AuthorUserId))
                .col(text(TopicComments::Body))
                .col(timestamp_with_time_zone(TopicComments::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_topic_comments_topic")
                        .from(TopicComments::Table, TopicComments::TopicId)
                        .to(Topics::Table, Topics::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_topic_comments_author")
                        .from(TopicComments::Table, TopicComments::AuthorUserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_topic_comments_topic")
                .table(TopicComments::Table)
                .col(TopicComments::TopicId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(TopicComments::Table)
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Topics::Table).if_exists().to_owned())
            .await
    }
}
