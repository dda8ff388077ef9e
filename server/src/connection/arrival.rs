//! An instant in 8 bytes, for the one every connection keeps: when its
//! buffered input arrived (the session's keepalive counts from it).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Signed nanoseconds from a process-wide epoch: half an `Instant`'s 16
/// bytes, which keeps the connection state in a smaller allocator size
/// class. Signed because a paused test clock can stand before the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Arrival(i64);

/// The first instant asked for; any will do, as long as it stays the same.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn nanos(span: Duration) -> i64 {
    // 292 years either way of the epoch: saturating is never reached.
    i64::try_from(span.as_nanos()).unwrap_or(i64::MAX)
}

impl Arrival {
    pub(super) fn at(instant: Instant) -> Self {
        let epoch = epoch();
        Arrival(match instant.checked_duration_since(epoch) {
            Some(after) => nanos(after),
            None => -nanos(epoch.duration_since(instant)),
        })
    }

    pub(super) fn instant(self) -> Instant {
        let span = Duration::from_nanos(self.0.unsigned_abs());
        match self.0 >= 0 {
            true => epoch() + span,
            // Only ever made from an instant that was this far back.
            false => epoch() - span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_either_side_of_the_epoch_come_back_exactly() {
        let now = epoch();
        for instant in [
            now,
            now + Duration::from_nanos(1),
            now + Duration::from_secs(86_400 * 365) + Duration::from_nanos(7),
            now - Duration::from_nanos(1),
            now - Duration::from_millis(1_234),
        ] {
            assert_eq!(Arrival::at(instant).instant(), instant);
        }
        assert!(Arrival::at(now - Duration::from_secs(1)).0 < 0);
    }
}
