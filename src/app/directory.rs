//! The district's directory: organisations (a district and its subdistricts) and user accounts,
//! kept by the district's administrators (users with the role id `admin`). Every other user may
//! read the organisations of their own district and change their own language and password.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use super::accounts::{new_password_hash, password_matches, NewUser};
use super::{App, AppError, AppResult, Principal};
use crate::store::entity::{organisation, session, user};
use crate::workflow::engine::{Reason, Refusal};

/// The role id that administers accounts and organisations.
pub const ADMIN_ROLE: &str = "admin";
pub const MIN_PASSWORD_CHARS: usize = 8;
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub organisation_id: Option<i64>,
    pub roles: Option<Vec<String>>,
    pub language: Option<String>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

fn forbidden(reason: Reason) -> AppError {
    AppError::Forbidden(Refusal {
        reasons: vec![reason],
    })
}

pub fn check_language(l: &str) -> AppResult<()> {
    if matches!(l, "zh" | "en") {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "language `{l}` is not offered (zh or en)"
        )))
    }
}

pub fn check_password(p: &str) -> AppResult<()> {
    if p.chars().count() < MIN_PASSWORD_CHARS || p.len() > 256 {
        return Err(AppError::Invalid(format!(
            "a password has {MIN_PASSWORD_CHARS} to 256 characters"
        )));
    }
    Ok(())
}

fn check_name(n: &str) -> AppResult<String> {
    let n = n.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::Invalid(format!(
            "a name has 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(n.to_string())
}

impl App {
    /// The district an organisation belongs to (itself when it is a district).
    pub async fn district_of(&self, organisation_id: i64) -> AppResult<organisation::Model> {
        let o = organisation::Entity::find_by_id(organisation_id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "organisation",
                id: organisation_id.to_string(),
            })?;
        match o.parent_id {
            None => Ok(o),
            Some(parent) => Ok(organisation::Entity::find_by_id(parent)
                .one(&self.db.read)
                .await?
                .unwrap_or(o)),
        }
    }

    /// A district administrator: role `admin` in a district-level organisation.
    async fn require_admin(&self, who: &Principal) -> AppResult<organisation::Model> {
        if !who.roles.iter().any(|r| r == ADMIN_ROLE) {
            return Err(forbidden(Reason::RoleNotAllowed {
                allowed: vec![ADMIN_ROLE.to_string()],
            }));
        }
        let district = self.district_of(who.organisation_id).await?;
        if district.id != who.organisation_id {
            return Err(forbidden(Reason::OutOfScope));
        }
        Ok(district)
    }

    /// The district the caller administers: refused, as every administrator's use case here
    /// refuses, unless the caller holds `admin` in a district-level organisation. For pages
    /// that only administrators may open even where they show what others may read.
    pub async fn administered_district(&self, who: &Principal) -> AppResult<organisation::Model> {
        self.require_admin(who).await
    }

    /// The district and its subdistricts, as seen by any of its users.
    pub async fn organisations(&self, who: &Principal) -> AppResult<Vec<organisation::Model>> {
        let district = self.district_of(who.organisation_id).await?;
        Ok(organisation::Entity::find()
            .filter(
                organisation::Column::Id
                    .eq(district.id)
                    .or(organisation::Column::ParentId.eq(district.id)),
            )
            .order_by_asc(organisation::Column::Id)
            .all(&self.db.read)
            .await?)
    }

    /// Add a subdistrict to the administrator's district.
    pub async fn add_organisation(
        &self,
        who: &Principal,
        name: &str,
        now: DateTime<Utc>,
    ) -> AppResult<organisation::Model> {
        let district = self.require_admin(who).await?;
        let name = check_name(name)?;
        let taken = organisation::Entity::find()
            .filter(organisation::Column::ParentId.eq(district.id))
            .filter(organisation::Column::Name.eq(&name))
            .one(&self.db.read)
            .await?;
        if taken.is_some() {
            return Err(AppError::Invalid(format!(
                "the district already has a subdistrict named `{name}`"
            )));
        }
        Ok(organisation::ActiveModel {
            parent_id: Set(Some(district.id)),
            name: Set(name),
            kind: Set("subdistrict".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db.write)
        .await?)
    }

    /// Role ids declared by the loaded definitions.
    fn known_roles(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .registry
            .all_current()
            .iter()
            .flat_map(|v| {
                v.workflow
                    .definition
                    .roles
                    .iter()
                    .map(|r| r.id.as_str().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    fn check_roles(&self, roles: &[String]) -> AppResult<()> {
        let known = self.known_roles();
        for r in roles {
            if !known.contains(r) {
                return Err(AppError::Invalid(format!(
                    "role `{r}` is not declared by any definition (known: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    async fn check_in_district(&self, district: &organisation::Model, org: i64) -> AppResult<()> {
        let d = self.district_of(org).await?;
        if d.id != district.id {
            return Err(forbidden(Reason::OutOfScope));
        }
        Ok(())
    }

    /// Users of the administrator's district.
    /// The active users of one organisation, by name (who can own a milestone or join a team).
    pub async fn organisation_members(&self, organisation_id: i64) -> AppResult<Vec<user::Model>> {
        Ok(user::Entity::find()
            .filter(user::Column::OrganisationId.eq(organisation_id))
            .filter(user::Column::Active.eq(true))
            .order_by_asc(user::Column::Login)
            .all(&self.db.read)
            .await?)
    }

    pub async fn district_users(&self, who: &Principal) -> AppResult<Vec<user::Model>> {
        let district = self.require_admin(who).await?;
        let orgs: Vec<i64> = self
            .organisations(who)
            .await?
            .into_iter()
            .filter(|o| o.id == district.id || o.parent_id == Some(district.id))
            .map(|o| o.id)
            .collect();
        Ok(user::Entity::find()
            .filter(user::Column::OrganisationId.is_in(orgs))
            .order_by_asc(user::Column::Login)
            .all(&self.db.read)
            .await?)
    }

    /// An administrator adds a user to an organisation of their district.
    pub async fn admin_add_user(
        &self,
        who: &Principal,
        new: NewUser,
        language: Option<String>,
        now: DateTime<Utc>,
    ) -> AppResult<user::Model> {
        let district = self.require_admin(who).await?;
        self.check_in_district(&district, new.organisation_id)
            .await?;
        check_name(&new.name)?;
        self.check_roles(&new.roles)?;
        if let Some(p) = &new.password {
            check_password(p)?;
        }
        if let Some(l) = &language {
            check_language(l)?;
        }
        let u = self.add_user(new, now).await?;
        match language {
            Some(l) if l != u.language => {
                let mut a: user::ActiveModel = u.into();
                a.language = Set(l);
                Ok(a.update(&self.db.write).await?)
            }
            _ => Ok(u),
        }
    }

    /// An administrator changes a user of their district. Deactivating a user or setting a
    /// password ends the user's sessions. Administrators cannot remove their own admin role or
    /// deactivate themselves, so that a district never locks itself out.
    pub async fn admin_update_user(
        &self,
        who: &Principal,
        id: i64,
        ch: UserChanges,
        now: DateTime<Utc>,
    ) -> AppResult<user::Model> {
        let district = self.require_admin(who).await?;
        let u = user::Entity::find_by_id(id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "user",
                id: id.to_string(),
            })?;
        self.check_in_district(&district, u.organisation_id).await?;
        if let Some(org) = ch.organisation_id {
            self.check_in_district(&district, org).await?;
        }
        if id == who.user_id {
            if ch.active == Some(false) {
                return Err(AppError::Invalid(
                    "administrators cannot deactivate themselves".into(),
                ));
            }
            if ch
                .roles
                .as_ref()
                .is_some_and(|r| !r.iter().any(|r| r == ADMIN_ROLE))
            {
                return Err(AppError::Invalid(
                    "administrators cannot remove their own admin role".into(),
                ));
            }
        }
        if let Some(r) = &ch.roles {
            self.check_roles(r)?;
        }
        if let Some(l) = &ch.language {
            check_language(l)?;
        }
        if let Some(p) = &ch.password {
            check_password(p)?;
        }
        let mut a: user::ActiveModel = u.clone().into();
        if let Some(n) = &ch.name {
            a.name = Set(check_name(n)?);
        }
        if let Some(e) = &ch.email {
            if !e.contains('@') || e.len() > 254 {
                return Err(AppError::Invalid(format!("`{e}` is not an e-mail address")));
            }
            a.email = Set(e.trim().to_string());
        }
        if let Some(o) = ch.organisation_id {
            a.organisation_id = Set(o);
        }
        if let Some(r) = &ch.roles {
            a.roles = Set(r.join(","));
        }
        if let Some(l) = ch.language {
            a.language = Set(l);
        }
        if let Some(act) = ch.active {
            a.active = Set(act);
        }
        if let Some(p) = &ch.password {
            a.password_hash = Set(Some(new_password_hash(p).await?));
        }
        let end_sessions = ch.active == Some(false) || ch.password.is_some();
        let txn = self.db.write.begin().await?;
        // The district row is locked (PostgreSQL; SQLite serialises write transactions) so that
        // two administrators demoting each other at once cannot both count the other.
        organisation::Entity::find_by_id(district.id)
            .lock_exclusive()
            .one(&txn)
            .await?;
        let is_admin = |u: &user::Model| {
            u.active
                && u.organisation_id == district.id
                && crate::store::queries::user_roles(u).any(|r| r == ADMIN_ROLE)
        };
        let current = user::Entity::find_by_id(id).one(&txn).await?;
        if current.as_ref().is_some_and(is_admin) {
            let mut after = current.clone().unwrap_or(u.clone());
            if let Some(o) = ch.organisation_id {
                after.organisation_id = o;
            }
            if let Some(r) = &ch.roles {
                after.roles = r.join(",");
            }
            if let Some(act) = ch.active {
                after.active = act;
            }
            if !is_admin(&after) {
                let others = user::Entity::find()
                    .filter(user::Column::OrganisationId.eq(district.id))
                    .filter(user::Column::Active.eq(true))
                    .filter(user::Column::Id.ne(id))
                    .all(&txn)
                    .await?;
                if !others.iter().any(is_admin) {
                    return Err(AppError::Refused(Refusal {
                        reasons: vec![Reason::LastAdmin],
                    }));
                }
            }
        }
        let updated = a.update(&txn).await?;
        if end_sessions {
            revoke_sessions(&txn, id, now).await?;
        }
        txn.commit().await?;
        // Roles, organisation or language may have changed too: the next request reads anew.
        self.sessions.forget_user(id);
        Ok(updated)
    }

    /// A user changes their own language or password (the current password is required for
    /// the latter, and every session of theirs ends: they log in again).
    pub async fn update_me(
        &self,
        who: &Principal,
        language: Option<String>,
        password: Option<(String, String)>,
        now: DateTime<Utc>,
    ) -> AppResult<user::Model> {
        let u = user::Entity::find_by_id(who.user_id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let mut a: user::ActiveModel = u.clone().into();
        if let Some(l) = language {
            check_language(&l)?;
            a.language = Set(l);
        }
        let mut end_sessions = false;
        if let Some((current, new)) = password {
            // No password set: `None` still spends a hash's time and answers false.
            let ok = password_matches(&current, u.password_hash.as_deref()).await?;
            if !ok {
                return Err(AppError::Invalid("the current password is wrong".into()));
            }
            check_password(&new)?;
            a.password_hash = Set(Some(new_password_hash(&new).await?));
            end_sessions = true;
        }
        let txn = self.db.write.begin().await?;
        let updated = a.update(&txn).await?;
        if end_sessions {
            revoke_sessions(&txn, who.user_id, now).await?;
        }
        txn.commit().await?;
        self.sessions.forget_user(who.user_id);
        Ok(updated)
    }
}

async fn revoke_sessions<C: sea_orm::ConnectionTrait>(
    db: &C,
    user_id: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
