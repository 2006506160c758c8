//! Sign in, sign out, and the language switch.

use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::ctx::{safe_next, Page, Posted};
use super::error::{respond, PageError};
use crate::http::cookies;
use crate::http::error::Lang;

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
    done: Option<String>,
}

/// `/`: a signed-in user's home, everyone else the sign-in page.
pub async fn root(page: Page) -> Response {
    if page.user.is_some() {
        Redirect::to("/home").into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

async fn login_form(
    page: &Page,
    status: StatusCode,
    next: &str,
    login: &str,
    error: Option<String>,
) -> Response {
    login_form_with(page, status, next, login, error, None).await
}

async fn login_form_with(
    page: &Page,
    status: StatusCode,
    next: &str,
    login: &str,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let demo = if page.state.demo {
        crate::demo::logins_in(&page.state.app)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let demo: Vec<_> = demo
        .into_iter()
        .map(|d| {
            let roles: Vec<String> = d.roles.split(',').map(|r| r.trim().to_string()).collect();
            json!({
                "login": d.login,
                "name": d.name,
                "organisation": d.organisation,
                "roles": super::ctx::role_names(&page.state, &roles, page.lang).join("、"),
            })
        })
        .collect();
    let errors = error
        .iter()
        .map(|m| json!({"field": "login", "message": m}))
        .collect::<Vec<_>>();
    page.render(
        status,
        "login",
        &page.t("login.title"),
        json!({
            "next": next,
            "login": login,
            "errors": errors,
            "error": error,
            "demo_logins": demo,
            "demo_password": page.state.demo.then_some(crate::demo::DEMO_PASSWORD),
            "notice": notice,
        }),
    )
    .await
}

pub async fn login_page(page: Page, Query(q): Query<NextQuery>) -> Response {
    if page.user.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    let next = safe_next(q.next.as_deref());
    let notice = (q.done.as_deref() == Some("signed_out")).then(|| page.t("notice.signed_out"));
    login_form_with(&page, StatusCode::OK, &next, "", None, notice).await
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login(peer: crate::http::extract::Peer, posted: Posted<LoginForm>) -> Response {
    let Posted { page, form } = posted;
    let next = safe_next(form.next.as_deref());
    if form.login.trim().is_empty() || form.password.is_empty() {
        let msg = page.t("login.missing");
        return login_form(
            &page,
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            &form.login,
            Some(msg),
        )
        .await;
    }
    match crate::http::api::sign_in(&page.state, &form.login, &form.password, peer).await {
        Ok(session) => {
            let cookie = cookies::session(&page.state, &session.token);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Err(crate::app::AppError::Unauthorized) => {
            let msg = page.t("login.wrong");
            login_form(
                &page,
                StatusCode::UNAUTHORIZED,
                &next,
                &form.login,
                Some(msg),
            )
            .await
        }
        Err(crate::app::AppError::RateLimited(_)) => {
            let msg = page.t("login.limited");
            login_form(
                &page,
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                &form.login,
                Some(msg),
            )
            .await
        }
        Err(crate::app::AppError::Invalid(why)) => {
            login_form(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                &next,
                "",
                Some(why),
            )
            .await
        }
        Err(e) => respond(&page, Err(PageError::from(e))).await,
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(posted: Posted<Empty>) -> Response {
    let Posted { page, .. } = posted;
    if let Some(t) = page.token() {
        let _ = page.state.app.logout(&t, Utc::now()).await;
    }
    let clear = cookies::session_cleared(&page.state);
    (
        [(header::SET_COOKIE, clear)],
        Redirect::to("/login?done=signed_out"),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
    next: Option<String>,
}

/// Switch the language: remembered for the user when signed in, and by a cookie either way.
pub async fn language(posted: Posted<LanguageForm>) -> Response {
    let Posted { page, form } = posted;
    let lang = match form.lang.as_str() {
        "en" => Lang::En,
        _ => Lang::Zh,
    };
    if let Some(u) = &page.user {
        if let Err(e) = page
            .state
            .app
            .update_me(u, Some(lang.code().to_string()), None, Utc::now())
            .await
        {
            return respond(&page, Err(e.into())).await;
        }
    }
    let cookie = cookies::language(&page.state, lang.code());
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&safe_next(form.next.as_deref())),
    )
        .into_response()
}
