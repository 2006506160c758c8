//! What every request passes through: a request id (set on the request, echoed on the
//! answer), a log span and a log line, the body limit, and the metrics by route pattern.
//!
//! One small hand-written tower service instead of `from_fn` middleware and a stack of generic
//! layers: it runs on every request, and each `from_fn` layer boxes a future and clones the
//! service behind it on every call (docs/performance.md, session 5). Axum applies a router's
//! `layer` to each route and to the fallbacks, after routing: so the service sees the matched
//! route pattern, and every answer, 404 and 405 included, gets a request id, a log line, a
//! count and the security headers.
//!
//! The security headers are static `HeaderValue`s inserted into the answer's header map: no
//! allocation, no parsing, four inserts into a map that already exists (docs/performance.md).

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{
    CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tracing::Span;

use super::error::{ApiError, Lang};
use super::AppState;
use crate::metrics::{Metrics, RequestLabels, RouteLabels};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route label of answers no route matched (404 from the fallback).
const UNMATCHED: &str = "unmatched";

/// What every answer carries, API and pages alike. The pages load nothing from another origin,
/// run no inline script or style, and may not be framed; the appraisal page's URL holds a
/// resident's one-time code, so no referrer leaves with a link. `img-src data:` is for
/// pictures a page may embed inline (the QR codes are inline SVG elements, not images).
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ),
    (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
];

/// The longest request target (path and query) answered; longer ones get 414 as problem+json.
/// hyper refuses request targets of 65,534 bytes and more itself, with an empty 414 that never
/// reaches this service (a constant of hyper's, not a setting), and a head over its buffer
/// (about 400 KiB) with an empty 431: this lower limit makes every long URI a browser or client
/// can plausibly send get the API's own answer.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The outer layer: request id, span, log line, metrics.
#[derive(Clone)]
pub struct RequestLayer {
    shared: Arc<RequestShared>,
}

struct RequestShared {
    metrics: Arc<Metrics>,
    /// Request ids: a random prefix per process and a counter, unique across restarts and
    /// servers without drawing randomness for every request.
    id_prefix: u32,
    next_id: AtomicU64,
    /// Route patterns seen, each stored once for the process: the label of every count.
    routes: RwLock<HashSet<&'static str>>,
}

impl RequestLayer {
    pub fn new(metrics: Arc<Metrics>) -> RequestLayer {
        RequestLayer {
            shared: Arc::new(RequestShared {
                metrics,
                id_prefix: rand::random(),
                next_id: AtomicU64::new(1),
                routes: RwLock::new(HashSet::new()),
            }),
        }
    }
}

impl RequestShared {
    fn request_id(&self) -> HeaderValue {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 8 + 1 + 16];
        hex_into(&mut buf[..8], u64::from(self.id_prefix), 8);
        buf[8] = b'-';
        let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
        hex_into(&mut buf[9..9 + digits], n, digits);
        // Hex digits and '-' are always a valid header value.
        HeaderValue::from_bytes(&buf[..9 + digits])
            .unwrap_or_else(|_| HeaderValue::from_static("0"))
    }

    /// The process-wide copy of a route pattern. Patterns are the router's, so there are as
    /// many as there are routes.
    fn intern(&self, route: &str) -> &'static str {
        if let Some(r) = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(route)
        {
            return r;
        }
        let mut set = self.routes.write().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = set.get(route) {
            return r;
        }
        let r: &'static str = Box::leak(route.to_owned().into_boxed_str());
        set.insert(r);
        r
    }
}

/// `n` as `width` lower-case hex digits into `out`.
fn hex_into(out: &mut [u8], n: u64, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in out.iter_mut().take(width).enumerate() {
        let shift = 4 * (width - 1 - i);
        *b = DIGITS[((n >> shift) & 0xf) as usize];
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;
    fn layer(&self, inner: S) -> RequestService<S> {
        RequestService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestService<S> {
    inner: S,
    shared: Arc<RequestShared>,
}

impl<S> Service<Request> for RequestService<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RequestFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        crate::memory::note_activity();
        let id = match req.headers().get(REQUEST_ID) {
            // A caller's own id (a proxy's) is kept, as long as it is short.
            Some(v) if v.len() <= 64 => v.clone(),
            _ => {
                let v = self.shared.request_id();
                req.headers_mut().insert(REQUEST_ID, v.clone());
                v
            }
        };
        let span = tracing::info_span!(
            "request",
            request_id = tracing::field::Empty,
            method = %req.method(),
            path = %req.uri().path(),
        );
        if !span.is_disabled() {
            span.record("request_id", id.to_str().unwrap_or(""));
        }
        let method = method_label(req.method());
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| self.shared.intern(p.as_str()));
        let limit = body_limit(route);
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
        let state = if uri_len > MAX_URI_BYTES {
            RequestState::Refused {
                answer: Some(uri_too_long(Lang::from_headers(req.headers()))),
            }
        } else if declared.is_some_and(|n| n > limit) {
            RequestState::Refused {
                answer: Some(too_large(Lang::from_headers(req.headers()), limit)),
            }
        } else {
            let req = req.map(|b| Body::new(http_body_util::Limited::new(b, limit)));
            let _entered = span.enter();
            RequestState::Called {
                inner: self.inner.call(req),
            }
        };
        RequestFuture {
            state,
            route: route.unwrap_or(UNMATCHED),
            span,
            started: Instant::now(),
            method,
            id: Some(id),
            shared: self.shared.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    pub struct RequestFuture<F> {
        #[pin]
        state: RequestState<F>,
        route: &'static str,
        span: Span,
        started: Instant,
        method: &'static str,
        id: Option<HeaderValue>,
        shared: Arc<RequestShared>,
    }
}

impl<F, E> Future for RequestFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut result = match this.state.project() {
            RequestStateProj::Called { inner } => ready!(inner.poll(cx)),
            RequestStateProj::Refused { answer } => Ok(answer
                .take()
                .unwrap_or_else(|| StatusCode::PAYLOAD_TOO_LARGE.into_response())),
        };
        if let Ok(response) = &mut result {
            let elapsed = this.started.elapsed();
            let route = *this.route;
            let status = response.status();
            let m = &this.shared.metrics;
            m.latency
                .get_or_create(&RouteLabels { route })
                .observe(elapsed.as_secs_f64());
            m.requests
                .get_or_create(&RequestLabels {
                    method: this.method,
                    route,
                    status: status.as_u16(),
                })
                .inc();
            let headers = response.headers_mut();
            if let Some(id) = this.id.take() {
                headers.insert(REQUEST_ID, id);
            }
            for (name, value) in &SECURITY_HEADERS {
                headers.insert(name, value.clone());
            }
            let latency_ms = elapsed.as_secs_f64() * 1000.0;
            if status.is_server_error() {
                tracing::error!(status = status.as_u16(), latency_ms, "request failed");
            } else {
                tracing::info!(status = status.as_u16(), latency_ms, "request answered");
            }
        }
        Poll::Ready(result)
    }
}

pin_project_lite::pin_project! {
    #[project = RequestStateProj]
    enum RequestState<F> {
        Called { #[pin] inner: F },
        /// Refused before the route ran: a declared body over the limit, a URI too long.
        Refused { answer: Option<Response> },
    }
}

/// Bodies are limited per route: uploads to their own limit, everything else to
/// `MAX_BODY_BYTES`. A declared length over the limit is refused before reading; a body that
/// grows past it fails the extractor reading it (413 either way).
fn body_limit(route: Option<&str>) -> usize {
    match route {
        Some("/api/v1/projects/{id}/attachments") => super::MAX_UPLOAD_BODY_BYTES,
        _ => super::MAX_BODY_BYTES,
    }
}

fn too_large(lang: Lang, limit: usize) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        match lang {
            Lang::Zh => "请求体过大",
            Lang::En => "Body too large",
        },
        format!("at most {limit} bytes are accepted here"),
    )
    .into_response()
}

fn uri_too_long(lang: Lang) -> Response {
    ApiError::new(
        StatusCode::URI_TOO_LONG,
        "uri_too_long",
        lang.pick("请求地址过长", "URI too long"),
        match lang {
            Lang::Zh => format!("请求地址（路径和查询）最多 {MAX_URI_BYTES} 字节"),
            Lang::En => format!("the path and query may be at most {MAX_URI_BYTES} bytes"),
        },
    )
    .into_response()
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.app.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_the_prefix_and_a_counter_in_hex() {
        let layer = RequestLayer::new(Metrics::new());
        let s = &layer.shared;
        let prefix = format!("{:08x}", s.id_prefix);
        assert_eq!(s.request_id(), format!("{prefix}-1").as_str());
        s.next_id.store(0xabc, Ordering::Relaxed);
        assert_eq!(s.request_id(), format!("{prefix}-abc").as_str());
        s.next_id.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(
            s.request_id(),
            format!("{prefix}-ffffffffffffffff").as_str()
        );
    }

    #[test]
    fn route_patterns_are_stored_once() {
        let layer = RequestLayer::new(Metrics::new());
        let a = layer.shared.intern("/api/v1/projects/{id}");
        let b = layer.shared.intern(&String::from("/api/v1/projects/{id}"));
        assert!(std::ptr::eq(a, b));
        assert_eq!(a, "/api/v1/projects/{id}");
        assert_ne!(layer.shared.intern("/healthz"), a);
    }
}
