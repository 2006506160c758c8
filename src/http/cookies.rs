//! Every cookie the server sets, written in one place: the session (API and pages), the
//! sign-in form's CSRF token, the language. Each carries `Secure` whenever the public URL is
//! https, so that a browser never sends it over plain HTTP.

use super::Shared;
use crate::app::accounts::SESSION_HOURS;

/// The session cookie's name (also read by the extractors).
pub const SESSION: &str = "sp_session";
/// The language chosen before (or without) signing in.
pub const LANG: &str = "sp_lang";
/// The CSRF token of a visitor who has no session yet (the sign-in form).
pub const CSRF: &str = "sp_csrf";

fn secure(s: &Shared) -> &'static str {
    if s.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The session cookie for a new session's token.
pub fn session(s: &Shared, token: &str) -> String {
    format!(
        "{SESSION}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        SESSION_HOURS * 3600,
        secure(s)
    )
}

/// Clears the session cookie.
pub fn session_cleared(s: &Shared) -> String {
    format!(
        "{SESSION}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        secure(s)
    )
}

/// The pre-sign-in CSRF token.
pub fn csrf(s: &Shared, token: &str) -> String {
    format!(
        "{CSRF}={token}; HttpOnly; SameSite=Strict; Path=/{}",
        secure(s)
    )
}

/// The chosen language, kept for a year.
pub fn language(s: &Shared, code: &str) -> String {
    format!(
        "{LANG}={code}; SameSite=Lax; Path=/; Max-Age=31536000{}",
        secure(s)
    )
}
