//! The audit trail of the topic pool: every change to a topic, append-only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TopicEvents {
    Table,
    Id,
    TopicId,
    At,
    ActorUserId,
    Action,
    Data,
}

#[derive(DeriveIden)]
enum Topics {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TopicEvents::Table)
                .if_not_exists()
                .col(big_pk_auto(TopicEvents::Id))
                .col(big_integer(TopicEvents::TopicId))
                .col(timestamp_with_time_zone(TopicEvents::At))
                .col(big_integer(TopicEvents::ActorUserId))
                .col(string(TopicEvents::Action))
                .col(text(TopicEvents::Data))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_topic_events_topic")
                        .from(TopicEvents::Table, TopicEvents::TopicId)
                        .to(Topics::Table, Topics::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_topic_events_topic")
                .table(TopicEvents::Table)
                .col(TopicEvents::TopicId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(TopicEvents::Table)
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
