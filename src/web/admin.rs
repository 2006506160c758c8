//! Administration in the browser (district administrators only): user accounts, the
//! district's subdistricts, and the mail that could not be delivered. Every page and post calls
//! the same `app::directory` / `app::notifications` use cases as `/api/v1/users`,
//! `/api/v1/organisations` and `/api/v1/outbox`, which refuse anyone but an `admin` of the
//! district organisation; a page adds no rule of its own.

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::ctx::{done, role_names, Page, Posted};
use super::error::{respond, PageError, PageResult};
use crate::app::accounts::NewUser;
use crate::app::directory::UserChanges;
use crate::app::{AppError, Principal};
use crate::http::error::ApiError;
use crate::store::entity::{organisation, user};
use crate::workflow::model::Scope;

/// A problem with one field of a form: the field's id and the words shown beside it and in the
/// error summary.
type Problem = (String, String);

/// Refusals of the directory's use cases that name the field at fault: a piece of the
/// use case's message, the field, and the words to show for it.
const INVALID: &[(&str, &str, &str)] = &[
    ("own admin role", "roles", "admin.invalid.own_admin"),
    (
        "deactivate themselves",
        "active",
        "admin.invalid.self_deactivate",
    ),
    ("is not declared", "roles", "admin.invalid.role_unknown"),
    ("password", "password", "admin.invalid.password"),
    ("e-mail", "email", "admin.invalid.email"),
    ("subdistrict named", "name", "admin.invalid.org_taken"),
    ("a name has", "name", "admin.invalid.name"),
];

/// A use case's refusal of a form as a problem with a field, or the error page for anything
/// that is not about what was typed (not permitted, not found, the database).
fn form_problem(page: &Page, e: AppError, fallback: &str) -> Result<Problem, PageError> {
    match e {
        AppError::Invalid(msg) => {
            if let Some((_, field, key)) = INVALID.iter().find(|(piece, _, _)| msg.contains(piece))
            {
                return Ok((field.to_string(), page.t(key)));
            }
            // Messages written in both languages (`中文 / English`): the reader's half.
            let field = if msg.contains("login") || msg.contains("登录名") {
                "login"
            } else {
                fallback
            };
            let text = match msg.split_once(" / ") {
                Some((zh, en)) => page.lang.pick(zh, en).to_string(),
                None => msg,
            };
            Ok((field.to_string(), text))
        }
        e @ AppError::Refused(_) => {
            let api = ApiError::from_app(e, page.lang, None);
            Ok((fallback.to_string(), api.detail))
        }
        e => Err(e.into()),
    }
}

fn problems_json(problems: &[Problem]) -> (Value, Value) {
    let summary: Vec<Value> = problems
        .iter()
        .map(|(f, m)| json!({"field": f, "message": m}))
        .collect();
    let beside: Map<String, Value> = problems
        .iter()
        .map(|(f, m)| (f.clone(), Value::String(m.clone())))
        .collect();
    (
        if summary.is_empty() {
            Value::Null
        } else {
            Value::Array(summary)
        },
        Value::Object(beside),
    )
}

/// The roles an account may hold: every role of the current definitions that has accounts
/// (not the residents'), once each, named by the first definition that declares it.
fn role_choices(page: &Page, held: &[String]) -> Vec<Value> {
    let lang = page.lang.code();
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for v in page.state.app.registry.all_current() {
        for r in &v.workflow.definition.roles {
            let id = r.id.as_str().to_string();
            if *r.scope == Scope::Public || seen.contains(&id) {
                continue;
            }
            seen.push(id.clone());
            out.push(json!({
                "id": id,
                "name": r.name.get(lang),
                "checked": held.contains(&id),
            }));
        }
    }
    out
}

fn organisation_choices(orgs: &[organisation::Model], selected: Option<i64>) -> Vec<Value> {
    orgs.iter()
        .map(|o| json!({"id": o.id, "name": o.name, "selected": Some(o.id) == selected}))
        .collect()
}

fn roles_of(u: &user::Model) -> Vec<String> {
    crate::store::queries::user_roles(u)
        .map(str::to_string)
        .collect()
}

fn user_row(page: &Page, u: &user::Model, orgs: &HashMap<i64, String>) -> Value {
    json!({
        "id": u.id,
        "login": u.login,
        "name": u.name,
        "email": u.email,
        "organisation_id": u.organisation_id,
        "organisation": orgs.get(&u.organisation_id).cloned().unwrap_or_default(),
        "roles": role_names(&page.state, &roles_of(u), page.lang).join("、"),
        "active": u.active,
    })
}

/// The admin sub-navigation, with the current page marked.
fn admin_tabs(page: &Page, current: &str) -> Vec<Value> {
    [
        ("/admin/users", "admin.users"),
        ("/admin/organisations", "admin.organisations"),
        ("/admin/mail", "admin.mail"),
    ]
    .iter()
    .map(|(href, key)| json!({"href": href, "label": page.t(key), "current": *href == current}))
    .collect()
}

/// The form's fields as posted (checkbox groups repeat a name).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn one(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

// --- Users ------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    organisation: Option<String>,
    done: Option<String>,
}

/// What the add-user form had in it when it was refused.
#[derive(Default)]
struct Typed {
    login: String,
    name: String,
    email: String,
    organisation: Option<i64>,
    roles: Vec<String>,
}

pub async fn users(page: Page, Query(q): Query<UsersQuery>) -> Response {
    let r = users_page(&page, q, Typed::default(), vec![], StatusCode::OK).await;
    respond(&page, r).await
}

async fn users_page(
    page: &Page,
    q: UsersQuery,
    typed: Typed,
    problems: Vec<Problem>,
    status: StatusCode,
) -> PageResult {
    let who = page.require_user()?;
    let app = &page.state.app;
    let users = app.district_users(&who).await?;
    let orgs = app.organisations(&who).await?;
    let names: HashMap<i64, String> = orgs.iter().map(|o| (o.id, o.name.clone())).collect();
    let filter = q
        .organisation
        .as_deref()
        .and_then(|o| o.parse::<i64>().ok())
        .filter(|o| names.contains_key(o));
    let rows: Vec<Value> = users
        .iter()
        .filter(|u| filter.is_none_or(|o| u.organisation_id == o))
        .map(|u| user_row(page, u, &names))
        .collect();
    let (errors, beside) = problems_json(&problems);
    Ok(page
        .render(
            status,
            "admin_users",
            &page.t("admin.users"),
            json!({
                "tabs": admin_tabs(page, "/admin/users"),
                "users": rows,
                "filter_orgs": organisation_choices(&orgs, filter),
                "filtered": filter.is_some(),
                "orgs": organisation_choices(&orgs, typed.organisation),
                "roles": role_choices(page, &typed.roles),
                "typed": {"login": typed.login, "name": typed.name, "email": typed.email},
                "errors": errors,
                "error": beside,
                "notice": page.notice(q.done.as_deref()),
            }),
        )
        .await)
}

pub async fn add_user(posted: Posted<Vec<(String, String)>>) -> Response {
    let Posted { page, form } = posted;
    let r = add_user_post(&page, Fields(form)).await;
    respond(&page, r).await
}

async fn add_user_post(page: &Page, f: Fields) -> PageResult {
    let who = page.require_user()?;
    let typed = Typed {
        login: f.one("login"),
        name: f.one("name"),
        email: f.one("email"),
        organisation: f.one("organisation").parse().ok(),
        roles: f.all("roles"),
    };
    let refused = |problems: Vec<Problem>, typed: Typed| async move {
        users_page(
            page,
            UsersQuery::default(),
            typed,
            problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await
    };
    let Some(organisation_id) = typed.organisation else {
        let why = page.t("admin.invalid.organisation");
        return refused(vec![("organisation".into(), why)], typed).await;
    };
    let made = page
        .state
        .app
        .admin_add_user(
            &who,
            NewUser {
                login: typed.login.clone(),
                name: typed.name.clone(),
                email: typed.email.clone(),
                organisation_id,
                roles: typed.roles.clone(),
                password: Some(f.one("password")),
            },
            None,
            Utc::now(),
        )
        .await;
    match made {
        Ok(u) => Ok(done(&format!("/admin/users/{}", u.id), "user_added")),
        Err(e) => {
            let problem = form_problem(page, e, "login")?;
            refused(vec![problem], typed).await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn user(page: Page, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> Response {
    let r = user_page(&page, id, q.done, None, vec![], StatusCode::OK).await;
    respond(&page, r).await
}

/// The account `id` of the administrator's district (the use case's list decides who may see
/// it and which accounts are in it).
async fn district_user(page: &Page, who: &Principal, id: i64) -> Result<user::Model, PageError> {
    page.state
        .app
        .district_users(who)
        .await?
        .into_iter()
        .find(|u| u.id == id)
        .ok_or(PageError::NotFound)
}

async fn user_page(
    page: &Page,
    id: i64,
    notice: Option<String>,
    typed: Option<Typed>,
    problems: Vec<Problem>,
    status: StatusCode,
) -> PageResult {
    let who = page.require_user()?;
    let app = &page.state.app;
    let u = district_user(page, &who, id).await?;
    let orgs = app.organisations(&who).await?;
    let names: HashMap<i64, String> = orgs.iter().map(|o| (o.id, o.name.clone())).collect();
    let typed = typed.unwrap_or_else(|| Typed {
        login: u.login.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        organisation: Some(u.organisation_id),
        roles: roles_of(&u),
    });
    let (errors, beside) = problems_json(&problems);
    Ok(page
        .render(
            status,
            "admin_user",
            &u.name,
            json!({
                "tabs": admin_tabs(page, "/admin/users"),
                "account": user_row(page, &u, &names),
                "is_me": u.id == who.user_id,
                "orgs": organisation_choices(&orgs, typed.organisation),
                "roles": role_choices(page, &typed.roles),
                "typed": {"name": typed.name, "email": typed.email},
                "errors": errors,
                "error": beside,
                "notice": page.notice(notice.as_deref()),
            }),
        )
        .await)
}

/// Change an account and show what came of it: the account's page with a notice, or the
/// form again with the use case's refusal beside the field.
async fn change_user(
    page: &Page,
    id: i64,
    changes: UserChanges,
    typed: Option<Typed>,
    fallback: &str,
    notice: &str,
) -> PageResult {
    let who = page.require_user()?;
    match page
        .state
        .app
        .admin_update_user(&who, id, changes, Utc::now())
        .await
    {
        Ok(_) => Ok(done(&format!("/admin/users/{id}"), notice)),
        Err(e) => {
            let problem = form_problem(page, e, fallback)?;
            user_page(
                page,
                id,
                None,
                typed,
                vec![problem],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn update_user(Path(id): Path<i64>, posted: Posted<Vec<(String, String)>>) -> Response {
    let Posted { page, form } = posted;
    let f = Fields(form);
    let typed = Typed {
        login: String::new(),
        name: f.one("name"),
        email: f.one("email"),
        organisation: f.one("organisation").parse().ok(),
        roles: f.all("roles"),
    };
    let r = match typed.organisation {
        None => {
            let why = page.t("admin.invalid.organisation");
            user_page(
                &page,
                id,
                None,
                Some(typed),
                vec![("organisation".into(), why)],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Some(org) => {
            let changes = UserChanges {
                name: Some(typed.name.clone()),
                email: Some(typed.email.clone()),
                organisation_id: Some(org),
                roles: Some(typed.roles.clone()),
                ..UserChanges::default()
            };
            change_user(&page, id, changes, Some(typed), "name", "user_changed").await
        }
    };
    respond(&page, r).await
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
}

pub async fn set_active(Path(id): Path<i64>, posted: Posted<ActiveForm>) -> Response {
    let Posted { page, form } = posted;
    let r = match form.active.as_str() {
        "true" | "false" => {
            let active = form.active == "true";
            let changes = UserChanges {
                active: Some(active),
                ..UserChanges::default()
            };
            let notice = if active {
                "user_reactivated"
            } else {
                "user_deactivated"
            };
            change_user(&page, id, changes, None, "active", notice).await
        }
        _ => Err(PageError::BadForm("active".into())),
    };
    respond(&page, r).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

pub async fn reset_password(Path(id): Path<i64>, posted: Posted<PasswordForm>) -> Response {
    let Posted { page, form } = posted;
    let changes = UserChanges {
        password: Some(form.password),
        ..UserChanges::default()
    };
    let r = change_user(&page, id, changes, None, "password", "password_set").await;
    respond(&page, r).await
}

// --- Organisations ----------------------------------------------------------------------------

pub async fn organisations(page: Page, Query(q): Query<DoneQuery>) -> Response {
    let r = organisations_page(&page, q.done, String::new(), vec![], StatusCode::OK).await;
    respond(&page, r).await
}

async fn organisations_page(
    page: &Page,
    notice: Option<String>,
    typed: String,
    problems: Vec<Problem>,
    status: StatusCode,
) -> PageResult {
    let who = page.require_user()?;
    let app = &page.state.app;
    // Any user may read the district's organisations; this page is the administrators'.
    let district = app.administered_district(&who).await?;
    let orgs = app.organisations(&who).await?;
    let users = app.district_users(&who).await?;
    let rows: Vec<Value> = orgs
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "name": o.name,
                "district": o.id == district.id,
                "users": users.iter().filter(|u| u.organisation_id == o.id).count(),
                "at": o.created_at.to_rfc3339(),
            })
        })
        .collect();
    let (errors, beside) = problems_json(&problems);
    Ok(page
        .render(
            status,
            "admin_organisations",
            &page.t("admin.organisations"),
            json!({
                "tabs": admin_tabs(page, "/admin/organisations"),
                "organisations": rows,
                "district": district.name,
                "typed": typed,
                "errors": errors,
                "error": beside,
                "notice": page.notice(notice.as_deref()),
            }),
        )
        .await)
}

#[derive(Deserialize)]
pub struct OrganisationForm {
    #[serde(default)]
    name: String,
}

pub async fn add_organisation(posted: Posted<OrganisationForm>) -> Response {
    let Posted { page, form } = posted;
    let r = add_organisation_post(&page, form).await;
    respond(&page, r).await
}

async fn add_organisation_post(page: &Page, form: OrganisationForm) -> PageResult {
    let who = page.require_user()?;
    match page
        .state
        .app
        .add_organisation(&who, &form.name, Utc::now())
        .await
    {
        Ok(_) => Ok(done("/admin/organisations", "organisation_added")),
        Err(e) => {
            let problem = form_problem(page, e, "name")?;
            organisations_page(
                page,
                None,
                form.name,
                vec![problem],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

// --- Mail -------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct MailQuery {
    state: Option<String>,
    done: Option<String>,
}

const MAIL_STATES: [&str; 3] = ["dead", "queued", "sent"];

pub async fn mail(page: Page, Query(q): Query<MailQuery>) -> Response {
    let r = mail_page(&page, q).await;
    respond(&page, r).await
}

async fn mail_page(page: &Page, q: MailQuery) -> PageResult {
    let who = page.require_user()?;
    let app = &page.state.app;
    let state = q
        .state
        .as_deref()
        .filter(|s| MAIL_STATES.contains(s))
        .unwrap_or("dead");
    let mails = app.district_mail(&who, state).await?;
    let users = app.district_users(&who).await?;
    let names: HashMap<i64, String> = users.iter().map(|u| (u.id, u.name.clone())).collect();
    let rows: Vec<Value> = mails
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "template": m.template,
                "recipient": m.recipient_user_id.and_then(|u| names.get(&u).cloned()).unwrap_or_default(),
                "email": m.recipient_email,
                "project_id": m.project_id,
                "created_at": m.created_at.to_rfc3339(),
                "sent_at": m.sent_at.map(|t| t.to_rfc3339()),
                "attempts": m.attempts,
                "error": m.last_error,
                "dead": m.state == "dead",
            })
        })
        .collect();
    let filters: Vec<Value> = MAIL_STATES
        .iter()
        .map(|s| {
            json!({
                "href": format!("/admin/mail?state={s}"),
                "label": page.t(&format!("admin.mail_state.{s}")),
                "current": *s == state,
            })
        })
        .collect();
    Ok(page
        .render(
            StatusCode::OK,
            "admin_mail",
            &page.t("admin.mail"),
            json!({
                "tabs": admin_tabs(page, "/admin/mail"),
                "mails": rows,
                "filters": filters,
                "dead": state == "dead",
                "notice": page.notice(q.done.as_deref()),
            }),
        )
        .await)
}

pub async fn retry(Path(id): Path<i64>, posted: Posted<Vec<(String, String)>>) -> Response {
    let Posted { page, .. } = posted;
    let r = retry_post(&page, id).await;
    respond(&page, r).await
}

async fn retry_post(page: &Page, id: i64) -> PageResult {
    let who = page.require_user()?;
    page.state.app.retry_mail(&who, id, Utc::now()).await?;
    Ok(done("/admin/mail", "mail_retried"))
}

/// Words of this module's pages that are not in a template (kept here so that a test can check
/// them beside the templates' own).
pub const KEYS: &[&str] = &[
    "admin.users",
    "admin.organisations",
    "admin.mail",
    "admin.invalid.own_admin",
    "admin.invalid.self_deactivate",
    "admin.invalid.role_unknown",
    "admin.invalid.password",
    "admin.invalid.email",
    "admin.invalid.org_taken",
    "admin.invalid.name",
    "admin.invalid.organisation",
    "admin.mail_state.dead",
    "admin.mail_state.queued",
    "admin.mail_state.sent",
    "notice.user_added",
    "notice.user_changed",
    "notice.user_deactivated",
    "notice.user_reactivated",
    "notice.password_set",
    "notice.organisation_added",
    "notice.mail_retried",
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_of_the_admin_pages_is_translated() {
        for k in super::KEYS {
            assert!(super::super::i18n::has(k), "{k}");
        }
    }
}
