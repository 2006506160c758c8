//! What every page request carries: the signed-in user (if any), the page's language, the
//! anti-forgery token of its forms, and where it is. Also the form-post extractor that checks
//! that token and the request's origin before a handler sees the form.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::error::PageError;
use super::render;
use crate::app::Principal;
use crate::http::error::Lang;
use crate::http::extract::session_token;
use crate::http::AppState;

/// The cookie that remembers the language before sign-in.
pub const LANG_COOKIE: &str = crate::http::cookies::LANG;
/// The anti-forgery cookie of forms posted without a session (sign-in, language).
pub const CSRF_COOKIE: &str = crate::http::cookies::CSRF;
/// The form field that carries the anti-forgery token.
pub const CSRF_FIELD: &str = "_csrf";

#[derive(Clone)]
pub struct Page {
    pub user: Option<Arc<Principal>>,
    /// The session's secret token (to end it on sign-out).
    token: Option<String>,
    pub lang: Lang,
    /// The token this page's forms must send back.
    pub csrf: String,
    /// A fresh anonymous token to set as a cookie with the answer.
    new_csrf_cookie: bool,
    /// Path and query of the request, for "back to where I was".
    pub here: String,
    pub state: AppState,
}

fn cookie<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The anti-forgery token of a session: derived from its secret token, so it needs no storage
/// and ends with the session.
fn session_csrf(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"secretary-projects csrf\0");
    h.update(token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

fn lang_code(s: &str) -> Option<Lang> {
    match s {
        "en" => Some(Lang::En),
        "zh" => Some(Lang::Zh),
        _ => None,
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = session_token(parts);
        let user = match &token {
            Some(t) => state.app.session_user(t, chrono::Utc::now()).await.ok(),
            None => None,
        };
        let lang = user
            .as_ref()
            .and_then(|u| lang_code(&u.language))
            .or_else(|| cookie(&parts.headers, LANG_COOKIE).and_then(lang_code))
            .unwrap_or_else(|| Lang::from_headers(&parts.headers));
        let (csrf, new_csrf_cookie) = match (&user, &token) {
            (Some(_), Some(t)) => (session_csrf(t), false),
            _ => match cookie(&parts.headers, CSRF_COOKIE).filter(|c| plausible_token(c)) {
                Some(c) => (c.to_string(), false),
                None => (hex::encode(rand::random::<[u8; 16]>()), true),
            },
        };
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Page {
            user,
            token,
            lang,
            csrf,
            new_csrf_cookie,
            here,
            state: state.clone(),
        })
    }
}

fn plausible_token(c: &str) -> bool {
    c.len() == 32 && c.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A local path to go back to after a form, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

impl Page {
    /// A page without a session whose anti-forgery cookie was only now made: a form posted from
    /// it cannot carry a token we gave out.
    pub fn is_anonymous_form(&self) -> bool {
        self.new_csrf_cookie
    }

    pub fn token(&self) -> Option<String> {
        self.token.clone()
    }

    pub fn t(&self, key: &str) -> String {
        super::i18n::t(key, self.lang)
    }

    /// The signed-in user, or a redirect to the sign-in page that comes back here.
    pub fn require_user(&self) -> Result<Arc<Principal>, PageError> {
        self.user.clone().ok_or_else(|| PageError::SignIn {
            next: self.here.clone(),
        })
    }

    /// The data every page's layout needs, merged into the page's own.
    pub async fn layout(&self, title: &str, mut data: Value) -> Value {
        let s = &self.state;
        let mut base = json!({
            "lang": self.lang.code(),
            "other_lang": match self.lang { Lang::Zh => "en", Lang::En => "zh" },
            "title": title,
            "csrf": self.csrf,
            "here": self.here,
        });
        if let Some(u) = &self.user {
            let org = s
                .app
                .organisation_name(u.organisation_id)
                .await
                .unwrap_or_default();
            let district = s
                .app
                .is_district_org(u.organisation_id)
                .await
                .unwrap_or(false);
            let roles: Vec<String> = role_names(s, &u.roles, self.lang);
            let mut nav = vec![
                ("/home", self.t("nav.home")),
                ("/projects", self.t("nav.projects")),
            ];
            if district {
                nav.push(("/dispatch", self.t("nav.dispatch")));
            }
            if !s.app.review_definitions().is_empty() {
                nav.push(("/review", self.t("nav.review")));
                nav.push(("/dashboard", self.t("nav.dashboard")));
            }
            nav.push(("/notifications", self.t("nav.notifications")));
            if district && u.roles.iter().any(|r| r == "admin") {
                nav.push(("/admin/users", self.t("nav.admin")));
            }
            let path = self.here.split('?').next().unwrap_or("");
            let nav: Vec<Value> = nav
                .into_iter()
                .map(|(href, label)| {
                    let current =
                        path == href || (href != "/home" && path.starts_with(&format!("{href}/")));
                    json!({"href": href, "label": label, "current": current})
                })
                .collect();
            base["user"] = json!({
                "name": u.name,
                "login": u.login,
                "organisation": org,
                "roles": roles.join("、"),
                "district": district,
            });
            base["nav"] = Value::Array(nav);
        }
        if let (Value::Object(b), Value::Object(d)) = (&mut base, &mut data) {
            for (k, v) in std::mem::take(d) {
                b.insert(k, v);
            }
        }
        base
    }

    /// Render a page inside the layout.
    pub async fn render(
        &self,
        status: StatusCode,
        template: &str,
        title: &str,
        data: Value,
    ) -> Response {
        let data = self.layout(title, data).await;
        let mut r = render::html(status, template, &data);
        self.finish(&mut r);
        r
    }

    /// Cookies every answer of this page carries.
    pub fn finish(&self, r: &mut Response) {
        if self.new_csrf_cookie {
            let c = crate::http::cookies::csrf(&self.state, &self.csrf);
            if let Ok(v) = c.parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
        }
    }
}

/// The names of the roles a user holds, from the definitions (the first that names each).
pub fn role_names(s: &AppState, roles: &[String], lang: Lang) -> Vec<String> {
    let versions = s.app.registry.all_current();
    roles
        .iter()
        .map(|r| {
            versions
                .iter()
                .find_map(|v| {
                    let w = s.app.registry.cached(v.id)?;
                    let i = *w.role_index.get(r.as_str())?;
                    Some(w.role(i).name.get(lang.code()).to_string())
                })
                .unwrap_or_else(|| r.clone())
        })
        .collect()
}

/// A form posted from one of our pages: the request came from this site and carries the
/// anti-forgery token of the page it was posted from; its fields parse as `T`.
pub struct Posted<T> {
    pub page: Page,
    pub form: T,
}

/// Refuse a post that a browser says came from another site. `Sec-Fetch-Site` decides where
/// the browser sends it; otherwise a real `Origin` must be this host. `Origin: null` is what
/// browsers send under `Referrer-Policy: no-referrer` (which every answer carries), so it
/// proves nothing either way: the anti-forgery token still decides.
pub(super) fn cross_site(h: &HeaderMap) -> bool {
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "cross-site";
    }
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if origin == "null" {
        return false;
    }
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    !origin_host.eq_ignore_ascii_case(host)
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;
    async fn from_request(req: Request<Body>, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(page) = Page::from_request_parts(&mut parts, state).await;
        if cross_site(&parts.headers) {
            return Err(PageError::Forged.into_page(&page).await);
        }
        let bytes = match axum::body::to_bytes(body, crate::http::MAX_BODY_BYTES).await {
            Ok(b) => b,
            Err(_) => return Err(PageError::TooLarge.into_page(&page).await),
        };
        let sent = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.into_owned());
        if sent.as_deref() != Some(page.csrf.as_str()) || page.new_csrf_cookie {
            return Err(PageError::Forged.into_page(&page).await);
        }
        let parsed = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| e.to_string());
        match parsed {
            Ok(form) => Ok(Posted { page, form }),
            Err(e) => Err(PageError::BadForm(e).into_page(&page).await),
        }
    }
}

impl Page {
    /// A stage's name in the page's language, from the first current definition that has it
    /// (the id itself when none does).
    pub fn stage_name(&self, stage: &str) -> String {
        self.state
            .app
            .registry
            .all_current()
            .iter()
            .find_map(|v| {
                v.workflow
                    .stage(stage)
                    .map(|s| s.name.get(self.lang.code()).to_string())
            })
            .unwrap_or_else(|| stage.to_string())
    }

    /// The words of the notice a redirect asked for (`?done=key`, see [`done`]), if the key is
    /// a plain one.
    pub fn notice(&self, key: Option<&str>) -> Option<String> {
        key.filter(|n| n.len() < 40 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .map(|n| self.t(&format!("notice.{n}")))
    }
}

/// After a successful post: see the result (post/redirect/get), with a notice key.
pub fn done(to: &str, notice: &str) -> Response {
    let (path, fragment) = match to.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (to, String::new()),
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}done={notice}{fragment}")).into_response()
}

/// Fields of a posted form as a map (for forms generated from a definition).
pub fn fields(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in pairs {
        if k != CSRF_FIELD {
            m.insert(k.clone(), Value::String(v.clone()));
        }
    }
    m
}
