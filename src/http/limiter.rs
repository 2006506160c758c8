//! A small fixed-window limiter (login attempts per login and per address, password checks
//! per user, refused appraisal codes per address). Memory is bounded: at most `cap` keys;
//! when full, expired keys are swept, and if it is still full a new key is refused (fail
//! closed) rather than the map growing. Besides, expired keys are swept on a timer
//! ([`spawn_sweeper`]), so that a burst of one-off keys does not stay in memory after it.

use std::collections::HashMap;
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

/// Most keys one limiter keeps.
pub const DEFAULT_CAP: usize = 50_000;

pub struct LoginLimiter {
    max: u32,
    window: Duration,
    cap: usize,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginLimiter {
    pub fn new(max: u32, window: Duration) -> LoginLimiter {
        LoginLimiter::with_cap(max, window, DEFAULT_CAP)
    }

    pub fn with_cap(max: u32, window: Duration, cap: usize) -> LoginLimiter {
        LoginLimiter {
            max,
            window,
            cap,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The window: how long a refused caller waits at most (for `Retry-After`).
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Whether `key` has used up its attempts in the current window (counts nothing).
    pub fn exhausted(&self, key: &str) -> bool {
        self.exhausted_at(key, Instant::now())
    }

    pub fn exhausted_at(&self, key: &str, now: Instant) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(key) {
            Some((start, n)) => now.duration_since(*start) < self.window && *n >= self.max,
            // A full map refuses new keys.
            None => seen.len() >= self.cap,
        }
    }

    /// Count an attempt; false once `max` attempts fell in the current window.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    pub fn allow_at(&self, key: &str, now: Instant) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.contains_key(key) && seen.len() >= self.cap {
            let window = self.window;
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
            if seen.len() >= self.cap {
                return false;
            }
        }
        let entry = seen.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.max
    }

    /// Forget keys whose window has passed (run on a timer by the server).
    pub fn sweep(&self, now: Instant) {
        let window = self.window;
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (start, _)| now.duration_since(*start) < window);
    }

    /// How many keys are kept.
    pub fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every `every`, run `sweep` on what `owner` points to, until it is dropped. Does nothing
/// outside a tokio runtime (a router built for a one-off document, say).
pub fn spawn_sweeper<T: Send + Sync + 'static>(
    owner: Weak<T>,
    every: Duration,
    sweep: fn(&T, Instant),
) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(owner) = owner.upgrade() else { return };
            sweep(&owner, Instant::now());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_timer_sweeps_expired_keys_and_stops_with_its_owner() {
        let l = Arc::new(LoginLimiter::new(3, Duration::from_millis(40)));
        spawn_sweeper(Arc::downgrade(&l), Duration::from_millis(20), |l, now| {
            l.sweep(now)
        });
        for k in 0..100 {
            assert!(l.allow(&format!("key{k}")));
        }
        assert_eq!(l.len(), 100);
        // No new attempt comes: the timer alone empties the map.
        let mut waited = 0;
        while !l.is_empty() && waited < 100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += 1;
        }
        assert_eq!(l.len(), 0, "expired keys stayed");
        let weak = Arc::downgrade(&l);
        drop(l);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn counts_per_window_and_sweeps_expired_keys() {
        let l = LoginLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(l.allow_at("a", t0));
        assert!(l.allow_at("a", t0));
        assert!(!l.allow_at("a", t0));
        assert!(l.exhausted_at("a", t0));
        assert!(l.allow_at("b", t0));
        assert_eq!(l.len(), 2);
        l.sweep(t0 + Duration::from_secs(30));
        assert_eq!(l.len(), 2);
        l.sweep(t0 + Duration::from_secs(61));
        assert_eq!(l.len(), 0);
        assert!(l.allow_at("a", t0 + Duration::from_secs(61)));
    }

    #[test]
    fn a_full_map_sweeps_then_refuses_new_keys() {
        let l = LoginLimiter::with_cap(5, Duration::from_secs(60), 3);
        let t0 = Instant::now();
        for k in ["a", "b", "c"] {
            assert!(l.allow_at(k, t0));
        }
        assert!(!l.allow_at("d", t0));
        assert!(l.exhausted_at("d", t0));
        assert_eq!(l.len(), 3);
        // Known keys still count.
        assert!(l.allow_at("a", t0));
        // Once the old keys expired, a new key makes room.
        let later = t0 + Duration::from_secs(61);
        assert!(l.allow_at("d", later));
        assert_eq!(l.len(), 1);
    }
}
