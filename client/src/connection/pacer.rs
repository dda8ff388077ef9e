//! The client's mirror of the server's flood control (`[FLOW-1]`): two token
//! buckets, messages and body bytes, filled at the rates the GREETING
//! advertised. The client sends only what its buckets allow, so a long paste
//! or a piped file is paced instead of refused with RATE_LIMITED (and cut off
//! with FLOODING, `[FLOW-2]`).
//!
//! The mirror keeps a margin below the server's figures: the server's buckets
//! start full when it accepts the connection, before ours start, and network
//! delays can bunch messages that left us evenly spaced.

use confab_protocol::Limits;
use tokio::time::{Duration, Instant};

/// Share of the server's sustained rates the client uses.
const RATE_MARGIN: f64 = 0.9;
/// Share of the server's bursts the client uses.
const BURST_MARGIN: f64 = 0.75;

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    rate: f64,
    capacity: f64,
}

impl Bucket {
    fn new(rate: u32, burst: u32) -> Self {
        let capacity = (f64::from(burst) * BURST_MARGIN).floor().max(1.0);
        Bucket {
            tokens: capacity,
            // A server advertising 0 breaks section 16; pace slowly rather than never.
            rate: (f64::from(rate) * RATE_MARGIN).max(0.5),
            capacity,
        }
    }

    fn refill(&mut self, elapsed: f64) {
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
    }

    /// What one message costs: never more than a full bucket, so a body
    /// larger than our share of the burst still goes once the bucket is full.
    fn cost(&self, amount: f64) -> f64 {
        amount.min(self.capacity)
    }

    /// Seconds until `amount` tokens are there.
    fn wait(&self, amount: f64) -> f64 {
        ((self.cost(amount) - self.tokens) / self.rate).max(0.0)
    }
}

/// The send schedule of one connection.
#[derive(Debug, Clone)]
pub struct Pacer {
    messages: Bucket,
    bytes: Bucket,
    last_refill: Instant,
}

impl Pacer {
    /// Full buckets under the server's `limits`.
    pub fn new(limits: &Limits) -> Self {
        Pacer {
            messages: Bucket::new(limits.msg_rate, limits.msg_burst),
            bytes: Bucket::new(limits.byte_rate, limits.byte_burst),
            last_refill: Instant::now(),
        }
    }

    fn refill(&mut self) -> Instant {
        let now = Instant::now();
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.last_refill = now;
        self.messages.refill(elapsed);
        self.bytes.refill(elapsed);
        now
    }

    /// When a message of `body_len` bytes may be sent: now or later.
    pub fn ready_at(&mut self, body_len: usize) -> Instant {
        let now = self.refill();
        let wait = self
            .messages
            .wait(1.0)
            .max(self.bytes.wait(body_len as f64));
        if wait <= 0.0 {
            now
        } else {
            // Rounded up, so that waking at this instant finds the tokens there.
            now + Duration::from_secs_f64(wait) + Duration::from_micros(1)
        }
    }

    /// Takes the tokens of a message of `body_len` bytes, if they are there.
    pub fn try_take(&mut self, body_len: usize) -> bool {
        if self.ready_at(body_len) > self.last_refill {
            return false;
        }
        self.messages.tokens -= self.messages.cost(1.0);
        self.bytes.tokens -= self.bytes.cost(body_len as f64);
        true
    }

    /// The server refused a message for its rate: our mirror is ahead of it.
    /// Start again from empty buckets.
    pub fn empty(&mut self) {
        self.refill();
        self.messages.tokens = 0.0;
        self.bytes.tokens = 0.0;
    }

    /// Messages the buckets let through at once (our share of `msg_burst`).
    pub fn burst(&self) -> usize {
        self.messages.capacity as usize
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

    /// How many messages of `len` bytes the pacer lets through in `span`,
    /// sending each as soon as it may.
    async fn sent_within(pacer: &mut Pacer, len: usize, span: Duration) -> usize {
        let end = Instant::now() + span;
        let mut sent = 0;
        loop {
            let at = pacer.ready_at(len);
            if at > end {
                return sent;
            }
            tokio::time::sleep_until(at).await;
            assert!(pacer.try_take(len), "ready_at promised the tokens");
            sent += 1;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_sustained_rate_below_the_server() {
        // spec: FLOW-1
        let limits = limits(20, 60, 65_536, 262_144);
        let mut pacer = Pacer::new(&limits);
        assert_eq!(pacer.burst(), 45);
        let first = sent_within(&mut pacer, 10, Duration::ZERO).await;
        assert_eq!(first, 45, "three quarters of the burst at once");
        assert!(!pacer.try_take(10));
        let next = sent_within(&mut pacer, 10, Duration::from_secs(10)).await;
        // 90 % of 20/s for 10 s; the last may fall a microsecond past the end.
        assert!((179..=180).contains(&next), "{next}");
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_server_allows_at_any_moment() {
        // Replays the pacer's sends through a model of the server's buckets
        // (server/src/ratelimit.rs): none is refused.
        let limits = limits(20, 60, 1_000, 4_000);
        let mut pacer = Pacer::new(&limits);
        let (mut msgs, mut bytes) = (60.0f64, 4_000.0f64);
        let mut last = Instant::now();
        let end = last + Duration::from_secs(20);
        let mut sent = 0;
        loop {
            let len = [10, 400, 999][sent % 3];
            let at = pacer.ready_at(len);
            if at > end {
                break;
            }
            tokio::time::sleep_until(at).await;
            assert!(pacer.try_take(len));
            let now = Instant::now();
            let elapsed = (now - last).as_secs_f64();
            last = now;
            msgs = (msgs + elapsed * 20.0).min(60.0);
            bytes = (bytes + elapsed * 1_000.0).min(4_000.0);
            assert!(msgs >= 1.0 && bytes >= len as f64, "message {sent} refused");
            msgs -= 1.0;
            bytes -= len as f64;
            sent += 1;
        }
        assert!(
            sent > 40,
            "the byte rate, not the pacer, is the limit: {sent}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_larger_than_our_share_of_the_byte_burst_still_goes() {
        let limits = limits(20, 60, 100, 100);
        let mut pacer = Pacer::new(&limits);
        assert!(
            pacer.try_take(100),
            "a full bucket lets a whole max_body through"
        );
        assert!(!pacer.try_take(100));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(pacer.try_take(100), "refilled at 90 bytes/s, capped at 75");
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_refusal_the_buckets_start_empty() {
        let limits = limits(10, 10, 65_536, 262_144);
        let mut pacer = Pacer::new(&limits);
        assert!(pacer.try_take(1));
        pacer.empty();
        assert!(!pacer.try_take(1));
        let at = pacer.ready_at(1);
        let wait = at - Instant::now();
        assert!(
            wait > Duration::from_millis(100) && wait < Duration::from_millis(120),
            "one message at 9/s: {wait:?}"
        );
    }
}
