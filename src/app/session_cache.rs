//! A short-lived memory of checked sessions, so that a request does not cost two database reads
//! before its real work. An entry is trusted for `TRUST` at most; logging out, a new password or
//! a deactivation in this process forget the user's entries at once, and other processes
//! sharing the database see the change within `TRUST`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::Principal;

const TRUST: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 50_000;

/// A session's key: the SHA-256 digest of its token, as stored (in hex) in the database.
pub type TokenDigest = [u8; 32];

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<TokenDigest, Entry>>,
}

struct Entry {
    /// Shared: a hit hands out the same user without copying its strings.
    user: Arc<Principal>,
    expires_at: DateTime<Utc>,
    checked: Instant,
}

impl SessionCache {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<TokenDigest, Entry>> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user of a session checked less than `TRUST` ago and not expired at `now`.
    pub fn get(&self, token: &TokenDigest, now: DateTime<Utc>) -> Option<Arc<Principal>> {
        let map = self.map();
        let e = map.get(token)?;
        (e.checked.elapsed() < TRUST && e.expires_at > now).then(|| e.user.clone())
    }

    pub fn put(&self, token: TokenDigest, user: Arc<Principal>, expires_at: DateTime<Utc>) {
        let mut map = self.map();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.checked.elapsed() < TRUST);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(
            token,
            Entry {
                user,
                expires_at,
                checked: Instant::now(),
            },
        );
    }

    pub fn forget(&self, token: &TokenDigest) {
        self.map().remove(token);
    }

    pub fn forget_user(&self, user_id: i64) {
        self.map().retain(|_, e| e.user.user_id != user_id);
    }
}
