//! Logins are stored in one canonical form, lower-cased (see `LoginName` in the app), and looked
//! up in that form. Rows written before that rule are lower-cased here, except where two logins
//! differ only by case: those are left for an administrator to rename, since merging accounts is
//! not a migration's decision.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "UPDATE users SET login = LOWER(TRIM(login)) \
                 WHERE login <> LOWER(TRIM(login)) \
                 AND NOT EXISTS (SELECT 1 FROM users o \
                     WHERE o.id <> users.id AND LOWER(TRIM(o.login)) = LOWER(TRIM(users.login)))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // The original case is not kept; lower-case logins are valid in the earlier schema too.
        Ok(())
    }
}
