//! Log lines about refused newcomers and failed accepts, bounded in number
//! (`[LIMIT-1]` refusals can come by the thousand a second): the first after
//! a quiet spell is logged at once, the rest are counted and summed up in
//! one line per interval, by reason.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;
use tracing::warn;

/// At most one summary line per interval.
pub const INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct RefusalLog {
    counts: BTreeMap<&'static str, u64>,
    /// When the next line may be written.
    next_line: Instant,
}

impl Default for RefusalLog {
    fn default() -> Self {
        RefusalLog {
            counts: BTreeMap::new(),
            next_line: Instant::now(),
        }
    }
}

impl RefusalLog {
    /// Counts one event; writes a line if one is due.
    pub fn note(&mut self, reason: &'static str) {
        *self.counts.entry(reason).or_insert(0) += 1;
        if Instant::now() >= self.next_line {
            self.flush();
        }
    }

    /// When the counted events must be written, if any wait.
    pub fn due(&self) -> Option<Instant> {
        (!self.counts.is_empty()).then_some(self.next_line)
    }

    /// Writes the counted events in one line.
    pub fn flush(&mut self) {
        if self.counts.is_empty() {
            return;
        }
        let total: u64 = self.counts.values().sum();
        let reasons: Vec<String> = self
            .counts
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        warn!(
            "refused {total} connection(s) since the last report ({})",
            reasons.join(", ")
        );
        self.counts.clear();
        self.next_line = Instant::now() + INTERVAL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_makes_two_lines_per_interval_at_most() {
        let mut log = RefusalLog::default();
        log.note("SERVER_FULL");
        assert_eq!(log.due(), None, "the first one is written at once");
        for _ in 0..10_000 {
            log.note("SERVER_FULL");
            log.note("TOO_MANY_CONNECTIONS");
        }
        assert_eq!(log.counts.values().sum::<u64>(), 20_000);
        let due = log.due().unwrap();
        tokio::time::advance(INTERVAL).await;
        assert!(Instant::now() >= due);
        log.flush();
        assert_eq!(log.due(), None);
    }
}
