//! Flood control (`[FLOW-1]`, `[FLOW-2]`, `[FLOW-5]`): token buckets for
//! requests and body bytes, per connection and per address, and a count of
//! rejections that marks a flooder.

use tokio::time::{Duration, Instant};

use confab_protocol::Limits;

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Rejected with RATE_LIMITED.
    Limited,
    /// Rejected, and the client keeps pushing: disconnect with FLOODING.
    Flooding,
}

/// One token bucket. Its rate and depth are not stored: many of these exist
/// (one per connection and per address), so they stay small.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    last_refill: Instant,
}

impl Bucket {
    pub fn full(burst: f64) -> Self {
        Bucket {
            tokens: burst,
            last_refill: Instant::now(),
        }
    }

    /// Adds what `rate` earned since the last refill, up to `burst`.
    pub fn refill(&mut self, rate: f64, burst: f64, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.last_refill = now;
        self.tokens = (self.tokens + elapsed * rate).min(burst);
    }

    pub fn has(&self, cost: f64) -> bool {
        self.tokens >= cost
    }

    pub fn spend(&mut self, cost: f64) {
        self.tokens -= cost;
    }

    /// Refills, then takes `cost` if there is enough.
    pub fn take(&mut self, cost: f64, rate: f64, burst: f64, now: Instant) -> bool {
        self.refill(rate, burst, now);
        let ok = self.has(cost);
        if ok {
            self.spend(cost);
        }
        ok
    }

    /// Whether the bucket would be full at `now`: nothing left to remember.
    pub fn is_full_at(&self, rate: f64, burst: f64, now: Instant) -> bool {
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.tokens + elapsed * rate >= burst
    }
}

/// The buckets one address shares among all its connections, with their
/// rates (`[FLOW-5]`): `share` times one connection's.
#[derive(Debug, Clone)]
pub struct SharedBuckets {
    pub requests: Bucket,
    pub bytes: Bucket,
}

impl SharedBuckets {
    pub fn new(limits: &Limits, share: u32) -> Self {
        let (requests, bytes) = shared_rates(limits, share);
        SharedBuckets {
            requests: Bucket::full(requests.1),
            bytes: Bucket::full(bytes.1),
        }
    }

    pub fn is_idle(&self, limits: &Limits, share: u32, now: Instant) -> bool {
        let (requests, bytes) = shared_rates(limits, share);
        self.requests.is_full_at(requests.0, requests.1, now)
            && self.bytes.is_full_at(bytes.0, bytes.1, now)
    }
}

/// (rate, burst) of an address's request and byte buckets.
fn shared_rates(limits: &Limits, share: u32) -> ((f64, f64), (f64, f64)) {
    let share = f64::from(share);
    (
        (
            f64::from(limits.msg_rate) * share,
            f64::from(limits.msg_burst) * share,
        ),
        (
            f64::from(limits.byte_rate) * share,
            f64::from(limits.byte_burst) * share,
        ),
    )
}

/// One connection's two buckets, requests and body bytes, refilled at the
/// server's rates up to its bursts. Both are always refilled together, so
/// they share one refill time; the rejection window is kept as its age at
/// that time, in 32 bits: every connection holds a limiter.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    requests: f64,
    bytes: f64,
    last_refill: Instant,
    /// Nanoseconds from the window's start to `last_refill`, saturated: past
    /// 4 s only "more than a second" matters. Kept in whole nanoseconds, so
    /// that frequent checks add up exactly.
    window_age_ns: u32,
    rejected_in_window: u32,
}

/// The length of the rejection window (`[FLOW-2]`).
const WINDOW: Duration = Duration::from_secs(1);

impl RateLimiter {
    /// Full buckets.
    pub fn new(limits: &Limits) -> Self {
        RateLimiter {
            requests: f64::from(limits.msg_burst),
            bytes: f64::from(limits.byte_burst),
            last_refill: Instant::now(),
            window_age_ns: 0,
            rejected_in_window: 0,
        }
    }

    /// Whether `check` would allow the request at `now`, taking nothing.
    pub fn would_allow(
        &self,
        limits: &Limits,
        body_len: usize,
        address: Option<(&SharedBuckets, u32)>,
        now: Instant,
    ) -> bool {
        let mut limiter = self.clone();
        let mut shared = address.map(|(buckets, share)| (buckets.clone(), share));
        limiter.check(limits, body_len, shared.as_mut().map(|(b, s)| (b, *s)), now)
            == Verdict::Allowed
    }

    /// Takes one request carrying `body_len` message bytes from the buckets
    /// if they all allow it: this connection's and, when given, its
    /// address's share (`share` connections' worth). `now` is when the
    /// request arrived: the clock is read once per read, not per request.
    pub fn check(
        &mut self,
        limits: &Limits,
        body_len: usize,
        address: Option<(&mut SharedBuckets, u32)>,
        now: Instant,
    ) -> Verdict {
        let size = body_len as f64;
        let since = now.saturating_duration_since(self.last_refill);
        let window_age = u128::from(self.window_age_ns) + since.as_nanos();
        self.window_age_ns = u32::try_from(window_age).unwrap_or(u32::MAX);
        let elapsed = since.as_secs_f64();
        self.last_refill = now;
        self.requests =
            (self.requests + elapsed * f64::from(limits.msg_rate)).min(f64::from(limits.msg_burst));
        self.bytes =
            (self.bytes + elapsed * f64::from(limits.byte_rate)).min(f64::from(limits.byte_burst));
        let mut allowed = self.requests >= 1.0 && self.bytes >= size;
        if let Some((shared, share)) = address {
            let (requests, bytes) = shared_rates(limits, share);
            shared.requests.refill(requests.0, requests.1, now);
            shared.bytes.refill(bytes.0, bytes.1, now);
            allowed = allowed && shared.requests.has(1.0) && shared.bytes.has(size);
            if allowed {
                shared.requests.spend(1.0);
                shared.bytes.spend(size);
            }
        }
        if allowed {
            self.requests -= 1.0;
            self.bytes -= size;
            return Verdict::Allowed;
        }
        if u128::from(self.window_age_ns) >= WINDOW.as_nanos() {
            self.window_age_ns = 0;
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

    #[test]
    fn a_connection_limiter_stays_small() {
        // Every connection's state holds one: at 40 bytes (56 before the
        // window's age went to 32 bits) the state takes a 256-byte
        // allocator chunk rather than 272.
        assert!(std::mem::size_of::<RateLimiter>() <= 40);
    }

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
            assert_eq!(
                limiter.check(&limits, 10, None, Instant::now()),
                Verdict::Allowed
            );
        }
        assert_eq!(
            limiter.check(&limits, 10, None, Instant::now()),
            Verdict::Limited
        );
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(
            limiter.check(&limits, 10, None, Instant::now()),
            Verdict::Allowed
        );
        // The fourth rejection within one second passes msg_burst (3).
        let verdicts: Vec<Verdict> = (0..3)
            .map(|_| limiter.check(&limits, 10, None, Instant::now()))
            .collect();
        assert_eq!(
            verdicts,
            [Verdict::Limited, Verdict::Limited, Verdict::Flooding]
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            limiter.check(&limits, 10, None, Instant::now()),
            Verdict::Allowed,
            "a new second, refilled bucket"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_are_limited_separately() {
        let limits = limits(100, 100, 10, 50);
        let mut limiter = RateLimiter::new(&limits);
        assert_eq!(
            limiter.check(&limits, 40, None, Instant::now()),
            Verdict::Allowed
        );
        assert_eq!(
            limiter.check(&limits, 20, None, Instant::now()),
            Verdict::Limited
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            limiter.check(&limits, 20, None, Instant::now()),
            Verdict::Allowed
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_share_outlives_its_connections() {
        // spec: FLOW-5
        let limits = limits(2, 3, 1_000, 1_000);
        let mut address = SharedBuckets::new(&limits, 2);
        let mut taken = 0;
        // Fresh connections, one after another: together no more than the share.
        for _ in 0..10 {
            let mut limiter = RateLimiter::new(&limits);
            while limiter.check(&limits, 1, Some((&mut address, 2)), Instant::now())
                == Verdict::Allowed
            {
                taken += 1;
            }
        }
        assert_eq!(taken, 6, "two connections' bursts, however many connect");
        assert!(!address.is_idle(&limits, 2, Instant::now()));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(address.is_idle(&limits, 2, Instant::now()));
    }
}
