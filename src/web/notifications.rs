//! "My notifications": the mail the user was sent (newest first, what it is about), and their
//! private calendar feed, made through the same use cases as `GET /api/v1/me/notifications`
//! and `POST /api/v1/me/calendar`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};

use super::ctx::{Page, Posted};
use super::error::{respond, PageResult};

pub async fn notifications(page: Page) -> Response {
    let r = notifications_page(&page, None).await;
    respond(&page, r).await
}

/// The feed's address over https (or http) and as `webcal://`, which phones open straight in
/// their calendar app.
fn feed_urls(public_url: &str, token: &str) -> (String, String) {
    let url = format!("{}/calendar/{token}.ics", public_url.trim_end_matches('/'));
    let webcal = match url.split_once("://") {
        Some((_, rest)) => format!("webcal://{rest}"),
        None => url.clone(),
    };
    (url, webcal)
}

async fn notifications_page(page: &Page, feed: Option<(String, String)>) -> PageResult {
    let who = page.require_user()?;
    let items = page
        .state
        .app
        .my_notification_list(&who, page.lang.code())
        .await?;
    let rows: Vec<Value> = items
        .iter()
        .map(|n| {
            json!({
                "subject": n.subject,
                "at": n.mail.created_at.to_rfc3339(),
                "link": n.link,
                "state": page.t(&format!("notifications.state.{}", n.mail.state)),
                "dead": n.mail.state == "dead",
            })
        })
        .collect();
    let has_feed = feed.is_some();
    let mut r = page
        .render(
            StatusCode::OK,
            "notifications",
            &page.t("notifications.title"),
            json!({
                "items": rows,
                "feed": feed.map(|(url, webcal)| json!({"url": url, "webcal": webcal})),
            }),
        )
        .await;
    if has_feed {
        // The address is a secret shown once: keep it out of every cache.
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(r)
}

pub async fn new_calendar(posted: Posted<Vec<(String, String)>>) -> Response {
    let Posted { page, .. } = posted;
    let r = new_calendar_post(&page).await;
    respond(&page, r).await
}

/// Only a hash of the feed's token is stored, so the address can be shown only in the answer
/// to the post that made it (not after a redirect).
async fn new_calendar_post(page: &Page) -> PageResult {
    let who = page.require_user()?;
    let token = page.state.app.new_calendar_token(&who, Utc::now()).await?;
    let urls = feed_urls(&page.state.public_url, &token);
    notifications_page(page, Some(urls)).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn feed_addresses() {
        let (url, webcal) = super::feed_urls("https://sp.example.org/", "ab12");
        assert_eq!(url, "https://sp.example.org/calendar/ab12.ics");
        assert_eq!(webcal, "webcal://sp.example.org/calendar/ab12.ics");
    }
}
