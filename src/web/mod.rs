//! The web interface: server-rendered pages over the same use cases as the JSON API, working
//! without JavaScript, in Chinese by default and English by a switch remembered per user.
//!
//! - `ctx`: the page's user, language and anti-forgery token; the form-post extractor
//! - `render`, `i18n`: templates (`templates/pages/`, `templates/partials/`) and their words
//! - `error`: every refusal as a page
//! - `forms`: forms generated from a definition's stage form (views and posted values), pure
//! - `upload`: the extractor of forms with files; `gantt`: the road map as SVG, pure
//! - one module per area: `auth`, `home`, `projects`, `implementation` (road map, reports,
//!   guidance), `acceptance` (score sheets, review team, site visits, appraisal codes),
//!   `edit` (filling in forms), `topics`, `admin` (accounts, subdistricts, undeliverable
//!   mail), `dispatch`, `notifications`
//! - `review`: the annual review, a person's figure explained, its print, the dashboard;
//!   `charts`: the dashboard's bar charts as SVG, pure

pub mod acceptance;
pub mod admin;
pub mod answers;
pub mod auth;
pub mod charts;
pub mod check;
pub mod ctx;
pub mod dispatch;
pub mod edit;
pub mod error;
pub mod forms;
pub mod gantt;
pub mod home;
pub mod i18n;
pub mod implementation;
pub mod notifications;
pub mod print;
pub mod projects;
pub mod render;
pub mod review;
pub mod topics;
pub mod upload;

use axum::routing::{get, post};
use axum::Router;

use crate::http::AppState;

/// The pages' routes (merged into the one router by `http::router_with`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(auth::root))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/language", post(auth::language))
        .route("/home", get(home::home))
        .route("/projects", get(projects::list))
        .route("/topics", get(topics::list).post(topics::create))
        .route("/topics/{id}", get(topics::show))
        .route("/topics/{id}/comments", post(topics::comment))
        .route("/topics/{id}/status", post(topics::set_status))
        .route("/topics/{id}/promote", post(topics::promote))
        .route("/projects/new", get(edit::new_page).post(edit::create))
        .route("/projects/{id}/form", get(edit::edit_page).post(edit::save))
        .route("/projects/{id}", get(projects::show))
        .route("/projects/{id}/check", get(check::check))
        .route("/projects/{id}/print/{stage}", get(print::print_form))
        .route("/projects/{id}/actions", post(projects::act))
        .route(
            "/projects/{id}/milestones/{mid}/progress",
            post(implementation::report),
        )
        .route("/projects/{id}/guidance", post(implementation::guide))
        .route("/projects/{id}/scores/{part}", post(acceptance::score))
        .route("/projects/{id}/reviewers", post(acceptance::assign))
        .route(
            "/projects/{id}/reviewers/{uid}/remove",
            post(acceptance::unassign),
        )
        .route("/projects/{id}/visits", post(acceptance::visit))
        .route("/projects/{id}/codes", post(acceptance::issue))
        .route(
            "/projects/{id}/codes/{batch}/revoke",
            post(acceptance::revoke),
        )
        .merge(admin_routes())
}

/// Administration (district administrators), the district's dispatch page and each user's
/// notifications.
fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(admin::users).post(admin::add_user))
        .route(
            "/admin/users/{id}",
            get(admin::user).post(admin::update_user),
        )
        .route("/admin/users/{id}/active", post(admin::set_active))
        .route("/admin/users/{id}/password", post(admin::reset_password))
        .route(
            "/admin/organisations",
            get(admin::organisations).post(admin::add_organisation),
        )
        .route("/admin/mail", get(admin::mail))
        .route("/admin/mail/{id}/retry", post(admin::retry))
        .route("/dispatch", get(dispatch::dispatch))
        .route("/review", get(review::review))
        .route("/review/{year}/freeze", post(review::freeze))
        .route("/review/{year}/unfreeze", post(review::unfreeze))
        .route("/review/{year}/print", get(review::print))
        .route("/review/{year}/export", get(review::export))
        .route("/review/{year}/people/{uid}", get(review::person))
        .route(
            "/review/{year}/people/{uid}/items",
            post(review::enter_item),
        )
        .route("/dashboard", get(review::dashboard))
        .route("/notifications", get(notifications::notifications))
        .route("/notifications/calendar", post(notifications::new_calendar))
}
