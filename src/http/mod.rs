//! The HTTP server: the JSON API under `/api/v1`, health check, problem+json errors.

pub mod acceptance;
pub mod api;
mod assets;
pub mod attachments;
pub mod cookies;
pub mod directory;
pub mod error;
pub mod extract;
pub mod implementation;
mod limiter;
pub mod notifications;
pub mod pages;
mod reference;
pub mod review;
mod telemetry;
pub mod topics;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
pub use limiter::LoginLimiter;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares. Cloned for each extractor of each request, so it is one `Arc`
/// (cloning the application itself showed in profiles of the read path).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub app: App,
    pub limiter: LoginLimiter,
    /// Login attempts per client address.
    pub address_limiter: LoginLimiter,
    /// Refused appraisal codes per client address (guessing codes is what it stops).
    pub appraisal_limiter: LoginLimiter,
    /// Where users reach the server, for links (calendar feeds, mail).
    pub public_url: String,
    /// The district's time zone: "today" for statuses and schedules.
    pub time_zone: chrono_tz::Tz,
    /// Serving the demo district: the sign-in page lists its logins.
    pub demo: bool,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What the HTTP layer takes from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub public_url: String,
    pub time_zone: chrono_tz::Tz,
    /// `serve --demo`: the sign-in page lists the demo logins.
    pub demo: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            time_zone: chrono_tz::Asia::Shanghai,
            demo: false,
        }
    }
}

/// The API's description: title, version, the bearer and cookie security schemes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Secretary Projects API",
        description = "书记项目 — the JSON API of the Secretary Projects workflow engine. \
Errors are application/problem+json in zh-CN or English by Accept-Language.",
    ),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("cookie" = [])),
    tags(
        (name = "accounts", description = "Log in and out, who am I"),
        (name = "directory", description = "Organisations and users of the district"),
        (name = "definitions", description = "Workflow definitions and their versions"),
        (name = "projects", description = "Projects, their forms, actions and history"),
        (name = "topics", description = "The topic pool: candidate problems, discussion, promotion to a project"),
        (name = "implementation", description = "Milestones, progress, road map, guidance, calendar feeds"),
        (name = "notifications", description = "Notification history, the outbox and dead letters"),
        (name = "acceptance", description = "Self-check, upper review, resident appraisal, the final score and its explanation"),
        (name = "reviews", description = "The annual review (述职评议) of a year: ranking, stars, items, freeze, the year in figures"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(extract::SESSION_COOKIE))),
        );
    }
}

/// The error answers every operation can give, added once here rather than in each handler's
/// annotation, and every error answer's content type set to what the server sends,
/// `application/problem+json` (the annotations say `body = Problem`, which utoipa documents as
/// `application/json`). Runs after the routes are merged (see [`with_common_errors`]).
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                // Public operations say `security(())`: an empty requirement.
                let public = op
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
                let has_body = op.request_body.is_some();
                let mut add = vec![
                    ("400", "The path, query or body cannot be read"),
                    ("414", "The path and query are too long"),
                    ("500", "The workflow definition is broken"),
                    ("503", "The database is unavailable"),
                ];
                if !public {
                    add.push(("401", "Not signed in"));
                    add.push((
                        "403",
                        "Not permitted: the caller's role or organisation scope",
                    ));
                }
                if has_body {
                    add.push(("413", "The body is too large"));
                    add.push(("415", "The body is not of the declared content type"));
                    add.push(("422", "The body does not fit the schema or the rules"));
                    add.push(("404", "Something the body names (a definition, an organisation, a user) does not exist"));
                }
                let responses = &mut op.responses.responses;
                for (status, description) in add {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| problem(description).into());
                }
                for (status, response) in responses.iter_mut() {
                    let error = status.starts_with('4') || status.starts_with('5');
                    if let (true, utoipa::openapi::RefOr::T(r)) = (error, response) {
                        if let Some(c) = r.content.shift_remove("application/json") {
                            r.content.insert(PROBLEM_JSON.to_string(), c);
                        }
                    }
                }
            }
        }
    }
}

const PROBLEM_JSON: &str = "application/problem+json";

/// The document with [`CommonErrors`] applied: the handlers' operations exist only once the
/// routes are merged, after the `#[openapi]` modifiers ran.
fn with_common_errors(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    utoipa::Modify::modify(&CommonErrors, &mut api);
    api
}

/// The `/api/v1` routes, each documented by its handler's annotation.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::login))
        .routes(routes!(api::logout))
        .routes(routes!(api::me, directory::update_me))
        .routes(routes!(
            directory::list_organisations,
            directory::add_organisation
        ))
        .routes(routes!(directory::list_users, directory::add_user))
        .routes(routes!(directory::update_user))
        .routes(routes!(api::definitions))
        .routes(routes!(api::list_projects, api::create_project))
        .routes(routes!(api::get_project))
        .routes(routes!(api::edit_form))
        .routes(routes!(api::available_actions, api::take_action))
        .routes(routes!(api::history))
        .routes(routes!(implementation::timeline))
        .routes(routes!(implementation::report_progress))
        .routes(routes!(
            implementation::list_guidance,
            implementation::post_guidance
        ))
        .routes(routes!(implementation::new_calendar))
        .routes(routes!(implementation::dispatch))
        .routes(routes!(attachments::list, attachments::upload))
        .routes(routes!(attachments::download))
        .routes(routes!(notifications::mine))
        .routes(routes!(notifications::outbox))
        .routes(routes!(notifications::retry))
        .routes(routes!(topics::list_topics, topics::create_topic))
        .routes(routes!(topics::get_topic, topics::update_topic))
        .routes(routes!(topics::comment_topic))
        .routes(routes!(topics::promote_topic))
        .routes(routes!(
            acceptance::list_reviewers,
            acceptance::assign_reviewer
        ))
        .routes(routes!(acceptance::unassign_reviewer))
        .routes(routes!(
            acceptance::list_site_visits,
            acceptance::record_site_visit
        ))
        .routes(routes!(acceptance::list_scores, acceptance::submit_score))
        .routes(routes!(
            acceptance::list_deductions,
            acceptance::record_deduction
        ))
        .routes(routes!(acceptance::score))
        .routes(routes!(
            acceptance::list_token_batches,
            acceptance::issue_tokens
        ))
        .routes(routes!(acceptance::revoke_batch))
        .routes(routes!(acceptance::appraise))
        .routes(routes!(review::get_review))
        .routes(routes!(review::explain))
        .routes(routes!(review::enter_item))
        .routes(routes!(review::freeze))
        .routes(routes!(review::unfreeze))
        .routes(routes!(review::history))
        .routes(routes!(review::figures))
        .routes(routes!(review::overdue))
        .routes(routes!(review::export))
}

/// The OpenAPI 3.1 document of the whole API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .merge(api_routes())
        .routes(routes!(api::healthz))
        .routes(routes!(implementation::calendar_feed))
        .split_for_parts();
    with_common_errors(api)
}

pub fn router(app: App) -> Router {
    router_with(app, Settings::default())
}

pub fn router_with(app: App, settings: Settings) -> Router {
    let state = AppState(Arc::new(Shared {
        app,
        limiter: LoginLimiter::new(10, Duration::from_secs(60)),
        address_limiter: LoginLimiter::new(30, Duration::from_secs(60)),
        appraisal_limiter: LoginLimiter::new(30, Duration::from_secs(60)),
        public_url: settings.public_url,
        time_zone: settings.time_zone,
        demo: settings.demo,
    }));
    limiter::spawn_sweeper(
        Arc::downgrade(&state.0),
        Duration::from_secs(60),
        |s: &Shared, now| {
            s.limiter.sweep(now);
            s.address_limiter.sweep(now);
            s.appraisal_limiter.sweep(now);
        },
    );
    let (routes, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api_routes())
        .routes(routes!(api::healthz))
        .routes(routes!(implementation::calendar_feed))
        .split_for_parts();
    let spec = Arc::new(with_common_errors(spec));
    let reference = Arc::new(reference::render(&spec));
    let requests = telemetry::RequestLayer::new(state.app.metrics.clone());
    routes
        .route(
            "/api/v1/openapi.json",
            get({
                let spec = spec.clone();
                move || async move { axum::Json(spec.as_ref().clone()) }
            }),
        )
        .route(
            "/api/v1/docs",
            get(move || async move { axum::response::Html(reference.as_ref().clone()) }),
        )
        .route("/metrics", get(telemetry::metrics))
        .route(
            "/a/{code}",
            get(pages::appraisal_page).post(pages::submit_appraisal),
        )
        .route(
            "/print/projects/{id}/tokens/{batch}",
            get(pages::token_sheet),
        )
        .route("/projects/{id}/score", get(pages::score_page))
        .merge(crate::web::routes())
        .route("/static/{name}", get(assets::serve))
        // After every route: it is given to the routes that exist when it is set.
        .method_not_allowed_fallback(api::method_not_allowed)
        .fallback(api::not_found)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(requests)
        .with_state(state)
}

/// The largest body of an upload (the file plus the multipart framing).
pub const MAX_UPLOAD_BODY_BYTES: usize = crate::app::attachments::MAX_ATTACHMENT_BYTES + 64 * 1024;

/// Serve until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(app, Settings::default(), listener, shutdown).await
}

pub async fn serve_with(
    app: App,
    settings: Settings,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router_with(app, settings).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
