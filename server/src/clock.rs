//! The server's clock for stamping messages: UTC milliseconds since the Unix epoch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Now, as the spec's `time` type (section 3).
pub fn now_millis() -> u64 {
    // Every message is stamped: the clock read as it is, not through a
    // calendar date as chrono's `Utc::now` would.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The clock moderation's expiries are judged by (`[MOD-14]`): the system
/// clock, or in tests a manual one that moves only when told, so expiry is
/// tested without sleeping.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// A clock standing at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: u64) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicU64::new(start))),
        }
    }

    pub fn now(&self) -> u64 {
        match &self.manual {
            Some(at) => at.load(Ordering::Acquire),
            None => now_millis(),
        }
    }

    /// Moves a manual clock forward; the system clock ignores it.
    pub fn advance(&self, millis: u64) {
        if let Some(at) = &self.manual {
            at.fetch_add(millis, Ordering::AcqRel);
        }
    }
}
