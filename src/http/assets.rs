//! Static files compiled into the binary (`static/<name>` in the repository), served at
//! `GET /static/{name}`: the pages' stylesheet now, the web interface's scripts and pictures
//! later. One table, so a file is added by one line here and nothing is read from disk at run
//! time.
//!
//! Each answer carries a strong ETag (a hash of the content, computed once at start-up) and
//! `Cache-Control: public, max-age=3600, must-revalidate`: a browser keeps a file for an hour
//! and then revalidates it with `If-None-Match`, which a new release answers with the new
//! content and an unchanged one with 304. The names carry no hash, so a page links a stable
//! URL and a new release is seen within the hour.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::{ApiError, Lang};

/// Every embedded file: its name under `/static/`, its content type, its bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "pages.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/pages.css"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        "score.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/score.js"),
    ),
];

const CACHE: HeaderValue = HeaderValue::from_static("public, max-age=3600, must-revalidate");

struct Asset {
    name: &'static str,
    content_type: HeaderValue,
    etag: HeaderValue,
    bytes: &'static [u8],
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, content_type, bytes)| {
            let hash = Sha256::digest(bytes);
            let etag = format!("\"{}\"", hex::encode(&hash[..12]));
            Asset {
                name,
                content_type: HeaderValue::from_static(content_type),
                // Quotes and hex digits are always a valid header value.
                etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
                bytes,
            }
        })
        .collect()
});

/// `GET /static/{name}`.
pub async fn serve(Path(name): Path<String>, lang: Lang, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            lang.pick("未找到", "Not found"),
            match lang {
                Lang::Zh => format!("没有名为 {name} 的静态文件"),
                Lang::En => format!("there is no static file named {name}"),
            },
        )
        .into_response();
    };
    let fresh = headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/").as_bytes() == asset.etag.as_bytes()
        });
    let cache = [(ETAG, asset.etag.clone()), (CACHE_CONTROL, CACHE)];
    if fresh {
        (StatusCode::NOT_MODIFIED, cache).into_response()
    } else {
        (
            cache,
            [(CONTENT_TYPE, asset.content_type.clone())],
            asset.bytes,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_distinct_name_and_a_tag() {
        let mut seen = std::collections::HashSet::new();
        for a in ASSETS.iter() {
            assert!(seen.insert(a.name), "{} twice", a.name);
            assert!(!a.bytes.is_empty(), "{} is empty", a.name);
            assert_eq!(a.etag.len(), 2 + 24, "{}", a.name);
        }
        assert!(ASSETS.iter().any(|a| a.name == "pages.css"));
    }
}
