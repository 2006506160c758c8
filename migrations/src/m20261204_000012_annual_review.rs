//! The annual review (述职评议): the items reviewers enter per person and year, the review's
//! own append-only history (entries, freezes, unfreezes with their reasons), and the frozen
//! years with the snapshot of the review (and of its projects) as it was approved. Also an index over the
//! appraisals by project and rating, so that a year's satisfaction is read from the index
//! alone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReviewItems {
    Table,
    Id,
    DefinitionKey,
    Year,
    UserId,
    Item,
    Score,
    Comment,
    EnteredBy,
    EnteredAt,
}

#[derive(DeriveIden)]
enum ReviewEvents {
    Table,
    Id,
    DefinitionKey,
    Year,
    At,
    ActorUserId,
    Action,
    SubjectUserId,
    Item,
    Score,
    Comment,
}

#[derive(DeriveIden)]
enum ReviewFreezes {
    Table,
    Id,
    DefinitionKey,
    Year,
    FrozenAt,
    FrozenBy,
    Comment,
    Snapshot,
    Projects,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ReviewItems::Table)
                .if_not_exists()
                .col(big_pk_auto(ReviewItems::Id))
                .col(string(ReviewItems::DefinitionKey))
                .col(integer(ReviewItems::Year))
                .col(big_integer(ReviewItems::UserId))
                .col(string(ReviewItems::Item))
                .col(double(ReviewItems::Score))
                .col(text(ReviewItems::Comment))
                .col(big_integer(ReviewItems::EnteredBy))
                .col(timestamp_with_time_zone(ReviewItems::EnteredAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("idx_review_items_unique")
                .table(ReviewItems::Table)
                .col(ReviewItems::DefinitionKey)
                .col(ReviewItems::Year)
                .col(ReviewItems::UserId)
                .col(ReviewItems::Item)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ReviewEvents::Table)
                .if_not_exists()
                .col(big_pk_auto(ReviewEvents::Id))
                .col(string(ReviewEvents::DefinitionKey))
                .col(integer(ReviewEvents::Year))
                .col(timestamp_with_time_zone(ReviewEvents::At))
                .col(big_integer(ReviewEvents::ActorUserId))
                .col(string(ReviewEvents::Action))
                .col(big_integer_null(ReviewEvents::SubjectUserId))
                .col(string_null(ReviewEvents::Item))
                .col(double_null(ReviewEvents::Score))
                .col(text(ReviewEvents::Comment))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("idx_review_events_year")
                .table(ReviewEvents::Table)
                .col(ReviewEvents::DefinitionKey)
                .col(ReviewEvents::Year)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ReviewFreezes::Table)
                .if_not_exists()
                .col(big_pk_auto(ReviewFreezes::Id))
                .col(string(ReviewFreezes::DefinitionKey))
                .col(integer(ReviewFreezes::Year))
                .col(timestamp_with_time_zone(ReviewFreezes::FrozenAt))
                .col(big_integer(ReviewFreezes::FrozenBy))
                .col(text(ReviewFreezes::Comment))
                .col(text(ReviewFreezes::Snapshot))
                .col(text(ReviewFreezes::Projects))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("idx_review_freezes_unique")
                .table(ReviewFreezes::Table)
                .col(ReviewFreezes::DefinitionKey)
                .col(ReviewFreezes::Year)
                .unique()
                .to_owned(),
        )
        .await?;
        let c = m.get_connection();
        c.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_appraisals_project_rating ON appraisals (project_id, rating)",
        )
        .await?;
        c.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_projects_district_year ON projects (district_id, year, definition_key)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let c = m.get_connection();
        c.execute_unprepared("DROP INDEX IF EXISTS idx_projects_district_year")
            .await?;
        c.execute_unprepared("DROP INDEX IF EXISTS idx_appraisals_project_rating")
            .await?;
        for t in ["review_freezes", "review_events", "review_items"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
