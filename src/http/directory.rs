//! `/api/v1/organisations`, `/api/v1/users` and `PATCH /api/v1/me`: the district's directory.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{app_err, ApiError, Lang, Problem};
use super::extract::{ApiJson, ApiPath, Auth};
use super::AppState;
use crate::app::accounts::NewUser;
use crate::app::directory::UserChanges;
use crate::store::entity::{organisation, user};

type ApiResult<T> = Result<T, ApiError>;

/// An organisation: the district (no parent) or one of its subdistricts.
#[derive(Serialize, ToSchema)]
pub struct OrganisationView {
    id: i64,
    parent_id: Option<i64>,
    name: String,
    /// `district` or `subdistrict`.
    kind: String,
}

impl From<organisation::Model> for OrganisationView {
    fn from(o: organisation::Model) -> Self {
        OrganisationView {
            id: o.id,
            parent_id: o.parent_id,
            name: o.name,
            kind: o.kind,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrganisationList {
    items: Vec<OrganisationView>,
}

/// A user account as administrators see it (never the password hash).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    id: i64,
    login: String,
    name: String,
    email: String,
    organisation_id: i64,
    roles: Vec<String>,
    /// Language of mail and pages: `zh` or `en`.
    language: String,
    active: bool,
}

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        UserView {
            id: u.id,
            login: u.login,
            name: u.name,
            email: u.email,
            organisation_id: u.organisation_id,
            roles: u
                .roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect(),
            language: u.language,
            active: u.active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    items: Vec<UserView>,
}

/// The organisations of the caller's district.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "directory",
    responses((status = 200, body = OrganisationList), (status = 401, body = Problem)))]
pub async fn list_organisations(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
) -> ApiResult<Json<OrganisationList>> {
    let items = s.app.organisations(&who).await.map_err(app_err(lang))?;
    Ok(Json(OrganisationList {
        items: items.into_iter().map(OrganisationView::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisationBody {
    /// Name of the new subdistrict.
    #[schema(min_length = 1)]
    name: String,
}

/// Add a subdistrict to the administrator's district (admin).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "directory", request_body = NewOrganisationBody,
    responses((status = 201, body = OrganisationView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_organisation(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiJson(b): ApiJson<NewOrganisationBody>,
) -> ApiResult<Response> {
    let o = s
        .app
        .add_organisation(&who, &b.name, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok((StatusCode::CREATED, Json(OrganisationView::from(o))).into_response())
}

/// Users of the administrator's district (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "directory",
    responses((status = 200, body = UserList), (status = 403, body = Problem)))]
pub async fn list_users(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
) -> ApiResult<Json<UserList>> {
    let users = s.app.district_users(&who).await.map_err(app_err(lang))?;
    Ok(Json(UserList {
        items: users.into_iter().map(UserView::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// 1 to 64 letters, digits, `.`, `_` or `-`.
    #[schema(min_length = 1)]
    login: String,
    #[schema(min_length = 1)]
    name: String,
    #[schema(min_length = 1)]
    email: String,
    organisation_id: i64,
    /// Role ids declared by the definitions, e.g. `["secretary"]`.
    roles: Vec<String>,
    /// At least 8 characters. Without one the user cannot log in until a password is set.
    password: Option<String>,
    /// `zh` (default) or `en`.
    language: Option<String>,
}

/// Add a user to an organisation of the administrator's district (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "directory", request_body = NewUserBody,
    responses((status = 201, body = UserView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_user(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiJson(b): ApiJson<NewUserBody>,
) -> ApiResult<Response> {
    let u = s
        .app
        .admin_add_user(
            &who,
            NewUser {
                login: b.login,
                name: b.name,
                email: b.email,
                organisation_id: b.organisation_id,
                roles: b.roles,
                password: b.password,
            },
            b.language,
            Utc::now(),
        )
        .await
        .map_err(app_err(lang))?;
    Ok((StatusCode::CREATED, Json(UserView::from(u))).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UserChangesBody {
    name: Option<String>,
    email: Option<String>,
    organisation_id: Option<i64>,
    roles: Option<Vec<String>>,
    language: Option<String>,
    /// `false` deactivates the account and ends its sessions.
    active: Option<bool>,
    /// A new password; ends the user's sessions.
    password: Option<String>,
}

/// Change a user of the administrator's district (admin).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "directory", request_body = UserChangesBody,
    params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_user(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<UserChangesBody>,
) -> ApiResult<Json<UserView>> {
    let u = s
        .app
        .admin_update_user(
            &who,
            id,
            UserChanges {
                name: b.name,
                email: b.email,
                organisation_id: b.organisation_id,
                roles: b.roles,
                language: b.language,
                active: b.active,
                password: b.password,
            },
            Utc::now(),
        )
        .await
        .map_err(app_err(lang))?;
    Ok(Json(UserView::from(u)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeChangesBody {
    /// `zh` or `en`: the language of mail and pages.
    language: Option<String>,
    /// Needed to set a new password.
    current_password: Option<String>,
    /// A new password (with `current_password`); every session ends.
    new_password: Option<String>,
}

/// Change one's own language or password.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", request_body = MeChangesBody,
    responses((status = 200, body = UserView), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn update_me(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiJson(b): ApiJson<MeChangesBody>,
) -> ApiResult<Json<UserView>> {
    let password = match (b.current_password, b.new_password) {
        (Some(c), Some(n)) => Some((c, n)),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                lang,
                "current_password and new_password go together",
            ))
        }
    };
    if password.is_some() && !s.limiter.allow(&format!("me:{}", who.user_id)) {
        let secs = s.limiter.window().as_secs();
        return Err(app_err(lang)(crate::app::AppError::RateLimited(secs)));
    }
    let u = s
        .app
        .update_me(&who, b.language, password, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(UserView::from(u)))
}
