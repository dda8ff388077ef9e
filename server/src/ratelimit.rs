//! Per-connection flood control (`[FLOW-1]`, `[FLOW-2]`): token buckets for
//! messages and body bytes, and a count of rejections that marks a flooder.

use tokio::time::{Duration, Instant};

use confab_protocol::Limits;

/// The verdict on one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Rejected with RATE_LIMITED.
    Limited,
    /// Rejected, and the client keeps pushing: disconnect with FLOODING.
    Flooding,
}

/// Two token buckets, messages and body bytes, refilled at the server's
/// rates up to its bursts. Rates and bursts are not copied here: every
/// connection holds one of these, so it stays small.
#[derive(Debug)]
pub struct RateLimiter {
    message_tokens: f64,
    byte_tokens: f64,
    last_refill: Instant,
    window_start: Instant,
    rejected_in_window: u32,
}

impl RateLimiter {
    /// Full buckets.
    pub fn new(limits: &Limits) -> Self {
        let now = Instant::now();
        RateLimiter {
            message_tokens: f64::from(limits.msg_burst),
            byte_tokens: f64::from(limits.byte_burst),
            last_refill: now,
            window_start: now,
            rejected_in_window: 0,
        }
    }

    /// Takes one message of `body_len` bytes from the buckets if both allow it.
    pub fn check(&mut self, limits: &Limits, body_len: usize) -> Verdict {
        let now = Instant::now();
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.last_refill = now;
        self.message_tokens = (self.message_tokens + elapsed * f64::from(limits.msg_rate))
            .min(f64::from(limits.msg_burst));
        self.byte_tokens = (self.byte_tokens + elapsed * f64::from(limits.byte_rate))
            .min(f64::from(limits.byte_burst));
        let size = body_len as f64;
        if self.message_tokens >= 1.0 && self.byte_tokens >= size {
            self.message_tokens -= 1.0;
            self.byte_tokens -= size;
            return Verdict::Allowed;
        }
        if now.saturating_duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.rejected_in_window = 0;
        }
        self.rejected_in_window += 1;
        // spec: FLOW-2 — more than msg_burst rejections within one second.
        if self.rejected_in_window > limits.msg_burst {
            Verdict::Flooding
        } else {
            Verdict::Limited
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(msg_rate: u32, msg_burst: u32, byte_rate: u32, byte_burst: u32) -> Limits {
        Limits {
            msg_rate,
            msg_burst,
            byte_rate,
            byte_burst,
            ..Limits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate_then_flooding() {
        // spec: FLOW-1, FLOW-2
        let limits = limits(2, 3, 1_000, 1_000);
        let mut limiter = RateLimiter::new(&limits);
        for _ in 0..3 {
            assert_eq!(limiter.check(&limits, 10), Verdict::Allowed);
        }
        assert_eq!(limiter.check(&limits, 10), Verdict::Limited);
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(limiter.check(&limits, 10), Verdict::Allowed);
        // The fourth rejection within one second passes msg_burst (3).
        let verdicts: Vec<Verdict> = (0..3).map(|_| limiter.check(&limits, 10)).collect();
        assert_eq!(
            verdicts,
            [Verdict::Limited, Verdict::Limited, Verdict::Flooding]
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            limiter.check(&limits, 10),
            Verdict::Allowed,
            "a new second, refilled bucket"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_are_limited_separately() {
        let limits = limits(100, 100, 10, 50);
        let mut limiter = RateLimiter::new(&limits);
        assert_eq!(limiter.check(&limits, 40), Verdict::Allowed);
        assert_eq!(limiter.check(&limits, 20), Verdict::Limited);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(limiter.check(&limits, 20), Verdict::Allowed);
    }
}
