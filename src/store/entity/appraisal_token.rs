//! Table `appraisal_tokens`: one-time codes that let a resident appraise one project without an
//! account. Issued in batches by reviewers; used, revoked or expired codes are refused.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "appraisal_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// The short code in the link (`/a/{code}`). Kept readable so that a lost printed sheet can
    /// be printed again; a code is worth one appraisal of one project and nothing else.
    #[sea_orm(unique)]
    pub code: String,
    pub batch: String,
    pub issued_by: i64,
    pub issued_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
