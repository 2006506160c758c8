//! Process memory: give freed heap pages back to the system once the server has gone idle.
//!
//! glibc's allocator keeps the pages of freed memory for reuse; only the top of the main heap
//! is returned on its own. After a burst of work (loading the demo, a load peak) the server
//! would hold that memory for good. So a background task watches the request count and, once
//! a whole period has passed without a request, asks the allocator to release what is free
//! (`malloc_trim`), once per idle spell. A busy server never pays for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static ACTIVITY: AtomicU64 = AtomicU64::new(0);

/// Count one request (called by the HTTP layer for every request).
pub fn note_activity() {
    ACTIVITY.fetch_add(1, Ordering::Relaxed);
}

/// Whether to release memory at this tick: the decision, apart from the clock and the
/// allocator.
#[derive(Debug, Default)]
pub struct IdleTrim {
    last_seen: u64,
    released: bool,
}

impl IdleTrim {
    /// `seen` is the activity count now. Releases once per idle spell: on the first tick
    /// that finds no new activity since the tick before.
    pub fn tick(&mut self, seen: u64) -> bool {
        if seen != self.last_seen {
            self.last_seen = seen;
            self.released = false;
            return false;
        }
        if self.released {
            return false;
        }
        self.released = true;
        true
    }
}

/// Run until the process ends: every `period`, release free memory if idle since the last
/// tick. The first tick comes one period after start, after the start-up work.
pub async fn release_when_idle(period: Duration) {
    let mut state = IdleTrim {
        last_seen: ACTIVITY.load(Ordering::Relaxed),
        released: false,
    };
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        ticks.tick().await;
        if state.tick(ACTIVITY.load(Ordering::Relaxed)) {
            release();
        }
    }
}

/// Hand free heap pages back to the system (glibc on Linux; elsewhere nothing to do).
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists, under its own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_released_once_per_idle_spell() {
        let mut t = IdleTrim::default();
        assert!(t.tick(0), "idle from the start: release");
        assert!(!t.tick(0), "once per spell");
        assert!(!t.tick(5), "busy");
        assert!(!t.tick(9), "still busy");
        assert!(t.tick(9), "a quiet period: release");
        assert!(!t.tick(9));
        assert!(!t.tick(10));
        assert!(t.tick(10));
    }
}
