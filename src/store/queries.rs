//! Queries shared by several use cases.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::store::entity::{project, user};
use crate::workflow::model::Scope;
use crate::workflow::Workflow;

/// The roles of a user, from the comma-separated column.
pub fn user_roles(u: &user::Model) -> impl Iterator<Item = &str> {
    u.roles.split(',').map(str::trim).filter(|r| !r.is_empty())
}

/// Active users of the project's organisation and of its district: everyone a notification
/// about the project can reach.
pub async fn project_people<C: ConnectionTrait>(
    db: &C,
    p: &project::Model,
) -> Result<Vec<user::Model>, DbErr> {
    let mut orgs = vec![p.organisation_id];
    orgs.extend(p.district_id);
    user::Entity::find()
        .filter(user::Column::OrganisationId.is_in(orgs))
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await
}

/// Those of `people` who hold one of `roles` for `p`, in the role's scope.
pub fn eligible(
    w: &Workflow,
    p: &project::Model,
    people: Vec<user::Model>,
    roles: &[&str],
) -> Vec<user::Model> {
    people
        .into_iter()
        .filter(|u| {
            user_roles(u).any(|r| {
                roles.contains(&r)
                    && w.role_index
                        .get(r)
                        .is_some_and(|i| match w.role(*i).scope.get() {
                            Scope::Organisation => u.organisation_id == p.organisation_id,
                            Scope::District => Some(u.organisation_id) == p.district_id,
                            Scope::Public => false,
                        })
            })
        })
        .collect()
}
