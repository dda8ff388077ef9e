//! Per-connection flood control (`[FLOW-1]`, `[FLOW-2]`): token buckets for
//! messages and body bytes, and a count of rejections that marks a flooder.

use tokio::time::{Duration, Instant};

/// A bucket of `burst` tokens refilled at `rate` per second.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u32, burst: u32, now: Instant) -> Self {
        TokenBucket {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }
}

/// The verdict on one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Rejected with RATE_LIMITED.
    Limited,
    /// Rejected, and the client keeps pushing: disconnect with FLOODING.
    Flooding,
}

#[derive(Debug)]
pub struct RateLimiter {
    messages: TokenBucket,
    bytes: TokenBucket,
    rejected_in_window: u32,
    window_start: Instant,
    flood_threshold: u32,
}

impl RateLimiter {
    pub fn new(msg_rate: u32, msg_burst: u32, byte_rate: u32, byte_burst: u32) -> Self {
        let now = Instant::now();
        RateLimiter {
            messages: TokenBucket::new(msg_rate, msg_burst, now),
            bytes: TokenBucket::new(byte_rate, byte_burst, now),
            rejected_in_window: 0,
            window_start: now,
            flood_threshold: msg_burst,
        }
    }

    /// Takes one message of `body_len` bytes from the buckets if both allow it.
    pub fn check(&mut self, body_len: usize) -> Verdict {
        let now = Instant::now();
        self.messages.refill(now);
        self.bytes.refill(now);
        let size = body_len as f64;
        if self.messages.tokens >= 1.0 && self.bytes.tokens >= size {
            self.messages.tokens -= 1.0;
            self.bytes.tokens -= size;
            return Verdict::Allowed;
        }
        if now.saturating_duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.rejected_in_window = 0;
        }
        self.rejected_in_window += 1;
        // spec: FLOW-2 — more than msg_burst rejections within one second.
        if self.rejected_in_window > self.flood_threshold {
            Verdict::Flooding
        } else {
            Verdict::Limited
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate_then_flooding() {
        // spec: FLOW-1, FLOW-2
        let mut limiter = RateLimiter::new(2, 3, 1_000, 1_000);
        for _ in 0..3 {
            assert_eq!(limiter.check(10), Verdict::Allowed);
        }
        assert_eq!(limiter.check(10), Verdict::Limited);
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(limiter.check(10), Verdict::Allowed);
        // The fourth rejection within one second passes msg_burst (3).
        let verdicts: Vec<Verdict> = (0..3).map(|_| limiter.check(10)).collect();
        assert_eq!(
            verdicts,
            [Verdict::Limited, Verdict::Limited, Verdict::Flooding]
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            limiter.check(10),
            Verdict::Allowed,
            "a new second, refilled bucket"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_are_limited_separately() {
        let mut limiter = RateLimiter::new(100, 100, 10, 50);
        assert_eq!(limiter.check(40), Verdict::Allowed);
        assert_eq!(limiter.check(20), Verdict::Limited);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(limiter.check(20), Verdict::Allowed);
    }
}
