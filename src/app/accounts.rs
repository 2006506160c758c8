//! Accounts and sessions: argon2 password hashes, random session tokens stored as SHA-256.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use tokio::sync::Semaphore;

use super::session_cache::TokenDigest;
use super::{App, AppError, AppResult, Principal};
use crate::store::entity::{organisation, session, user};

/// Longest login name, in characters.
pub const MAX_LOGIN_CHARS: usize = 64;

/// A login as typed, parsed once into its one canonical form: trimmed and lower-cased, at most
/// [`MAX_LOGIN_CHARS`] characters, no control characters. The canonical form is what is stored,
/// looked up, kept unique and counted by the rate limits, so `" Wang.Li"`, `"WANG.LI"` and
/// `"wang.li"` are one account and one limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginName(String);

impl LoginName {
    pub fn parse(raw: &str) -> AppResult<LoginName> {
        // Refuse a huge input before any work proportional to it beyond the length check.
        if raw.len() > MAX_LOGIN_CHARS * 4 + 64 {
            return Err(AppError::Invalid(format!(
                "登录名最多{MAX_LOGIN_CHARS}个字符 / a login has at most {MAX_LOGIN_CHARS} characters"
            )));
        }
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > MAX_LOGIN_CHARS {
            return Err(AppError::Invalid(format!(
                "登录名须为1到{MAX_LOGIN_CHARS}个字符 / a login has 1 to {MAX_LOGIN_CHARS} characters"
            )));
        }
        if t.chars().any(char::is_control) {
            return Err(AppError::Invalid(
                "登录名不能含控制字符 / a login has no control characters".into(),
            ));
        }
        Ok(LoginName(t.to_lowercase()))
    }

    /// A login for a new account: as [`LoginName::parse`], and made only of ASCII letters,
    /// digits, `.`, `_` and `-` (so that it can be typed on any keyboard and read aloud).
    pub fn parse_new(raw: &str) -> AppResult<LoginName> {
        let name = LoginName::parse(raw)?;
        if !name
            .0
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(AppError::Invalid(format!(
                "登录名“{}”只能含字母、数字、`.`、`_`、`-` / a login has only letters, digits, `.`, `_` or `-`",
                name.0
            )));
        }
        Ok(name)
    }

    /// The canonical form: stored, looked up, unique.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The rate-limit key: the canonical form, so that case or padding make no fresh key.
    pub fn key(&self) -> String {
        self.0.clone()
    }
}

/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

pub fn hash_password(password: &str) -> AppResult<String> {
    if password.chars().count() < 4 || password.len() > 256 {
        return Err(AppError::Invalid(
            "a password has 4 to 256 characters".into(),
        ));
    }
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| AppError::Invalid(format!("cannot make a salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Invalid(format!("cannot hash the password: {e}")))
}

pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Argon2 costs tens of milliseconds of one core by design. On a request path it runs on tokio's
/// blocking pool, never on an async worker (which would stall every other request it carries),
/// and at most [`hashing_permits`] hashes run at once, so that a flood of sign-ins queues rather
/// than taking every core. A cancelled request does not free its permit before its hash ends.
static HASHING: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(hashing_permits())));
static HASHING_NOW: AtomicUsize = AtomicUsize::new(0);
static HASHING_PEAK: AtomicUsize = AtomicUsize::new(0);

/// How many password hashes may run at once: one per core.
pub fn hashing_permits() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The most password hashes that ever ran at once in this process (for tests and metrics).
pub fn hashing_peak() -> usize {
    HASHING_PEAK.load(Ordering::Relaxed)
}

async fn off_the_workers<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let permit = HASHING
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| AppError::Invalid("password hashing is shut down".into()))?;
    tokio::task::spawn_blocking(move || {
        let now = HASHING_NOW.fetch_add(1, Ordering::SeqCst) + 1;
        HASHING_PEAK.fetch_max(now, Ordering::SeqCst);
        let out = work();
        HASHING_NOW.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        out
    })
    .await
    .map_err(|e| AppError::Invalid(format!("password hashing failed: {e}")))
}

/// [`verify_password`] off the async workers, bounded; `None` (no password set, or no such
/// account) spends the same time against a dummy hash and answers false.
pub async fn password_matches(password: &str, hash: Option<&str>) -> AppResult<bool> {
    let password = password.to_string();
    let hash = hash.map(str::to_string);
    off_the_workers(move || match hash {
        Some(h) => verify_password(&password, &h),
        None => {
            let _ = verify_password(&password, &DUMMY_HASH);
            false
        }
    })
    .await
}

/// [`hash_password`] off the async workers, bounded.
pub async fn new_password_hash(password: &str) -> AppResult<String> {
    let password = password.to_string();
    off_the_workers(move || hash_password(&password)).await?
}

fn token_hash(token: &str) -> String {
    hex::encode(token_digest(token))
}

fn token_digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// A new session: the token to hand to the client, once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: Principal,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub email: String,
    pub organisation_id: i64,
    pub roles: Vec<String>,
    pub password: Option<String>,
}

impl App {
    /// Check a login and password; on success open a session.
    pub async fn login(
        &self,
        login: &LoginName,
        password: &str,
        now: DateTime<Utc>,
    ) -> AppResult<NewSession> {
        let found = user::Entity::find()
            .filter(user::Column::Login.eq(login.as_str()))
            .one(&self.db.read)
            .await?;
        // An unknown or inactive login spends the same time as a real check, so that timing
        // does not tell which logins exist.
        let hash = found
            .as_ref()
            .filter(|u| u.active)
            .and_then(|u| u.password_hash.as_deref());
        let ok = password_matches(password, hash).await?;
        let Some(u) = found.filter(|_| ok) else {
            return Err(AppError::Unauthorized);
        };
        let token = hex::encode(rand::random::<[u8; 32]>());
        let expires_at = now + Duration::hours(SESSION_HOURS);
        session::ActiveModel {
            token_hash: Set(token_hash(&token)),
            user_id: Set(u.id),
            created_at: Set(now),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db.write)
        .await?;
        Ok(NewSession {
            token,
            expires_at,
            user: Principal::from(&u),
        })
    }

    /// The user of a live session token.
    pub async fn session_user(&self, token: &str, now: DateTime<Utc>) -> AppResult<Arc<Principal>> {
        let digest = token_digest(token);
        if let Some(p) = self.sessions.get(&digest, now) {
            return Ok(p);
        }
        let s = session::Entity::find()
            .filter(session::Column::TokenHash.eq(hex::encode(digest)))
            .one(&self.db.read)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if s.revoked_at.is_some() || s.expires_at <= now {
            return Err(AppError::Unauthorized);
        }
        let u = user::Entity::find_by_id(s.user_id)
            .one(&self.db.read)
            .await?
            .filter(|u| u.active)
            .ok_or(AppError::Unauthorized)?;
        let p = Arc::new(Principal::from(&u));
        self.sessions.put(digest, p.clone(), s.expires_at);
        Ok(p)
    }

    /// End a session (idempotent).
    pub async fn logout(&self, token: &str, now: DateTime<Utc>) -> AppResult<()> {
        self.sessions.forget(&token_digest(token));
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .filter(session::Column::TokenHash.eq(token_hash(token)))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&self.db.write)
            .await?;
        Ok(())
    }

    pub async fn add_user(&self, new: NewUser, now: DateTime<Utc>) -> AppResult<user::Model> {
        let login = LoginName::parse_new(&new.login)?.as_str().to_string();
        if !new.email.contains('@') {
            return Err(AppError::Invalid(format!(
                "`{}` is not an e-mail address",
                new.email
            )));
        }
        organisation::Entity::find_by_id(new.organisation_id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "organisation",
                id: new.organisation_id.to_string(),
            })?;
        if user::Entity::find()
            .filter(user::Column::Login.eq(&login))
            .one(&self.db.read)
            .await?
            .is_some()
        {
            return Err(AppError::Invalid(format!(
                "登录名“{login}”已被使用 / the login `{login}` is taken"
            )));
        }
        let hash = match new.password.as_deref() {
            Some(p) => Some(new_password_hash(p).await?),
            None => None,
        };
        Ok(user::ActiveModel {
            login: Set(login),
            name: Set(new.name),
            email: Set(new.email),
            organisation_id: Set(new.organisation_id),
            roles: Set(new.roles.join(",")),
            password_hash: Set(hash),
            language: Set("zh".into()),
            active: Set(true),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db.write)
        .await?)
    }

    /// Set a user's password and end their sessions.
    pub async fn set_password(
        &self,
        login: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let login = LoginName::parse(login)?;
        let u = user::Entity::find()
            .filter(user::Column::Login.eq(login.as_str()))
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "user",
                id: login.as_str().to_string(),
            })?;
        let hash = new_password_hash(password).await?;
        let mut a: user::ActiveModel = u.clone().into();
        a.password_hash = Set(Some(hash));
        a.update(&self.db.write).await?;
        self.sessions.forget_user(u.id);
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .filter(session::Column::UserId.eq(u.id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&self.db.write)
            .await?;
        Ok(())
    }

    pub async fn users(&self) -> AppResult<Vec<user::Model>> {
        Ok(user::Entity::find()
            .order_by_asc(user::Column::Login)
            .all(&self.db.read)
            .await?)
    }
}

/// A real argon2 hash of a random string, checked against when a login does not exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&hex::encode(rand::random::<[u8; 16]>())).unwrap_or_default());
