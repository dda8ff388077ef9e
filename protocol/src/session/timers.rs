//! The server session's timers: the handshake deadline (`[HANDSHAKE-8]`,
//! `[AUTH-2]`) and keepalive (`[KEEPALIVE-2]`).
//!
//! Time is an input, never read here: the driver passes the `Instant` a
//! frame was received at or a timer fired at, so tests run on a fake clock.
//! Durations are kept as milliseconds: every idle connection holds one.

use std::time::{Duration, Instant};

use crate::frame::Limits;

/// How long the server waits, per connection (spec sections 7 and 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerTimers {
    /// From accept to WELCOME (`[HANDSHAKE-8]`); a server may shorten it for
    /// an address holding many handshakes (`[LIMIT-4]`).
    pub handshake_timeout: Duration,
    /// Silence before the server sends PING (`[KEEPALIVE-2]`).
    pub ping_interval: Duration,
    /// Silence after that PING before IDLE_TIMEOUT (`[KEEPALIVE-2]`).
    pub ping_timeout: Duration,
}

impl ServerTimers {
    /// The timers a server advertising `limits` keeps.
    pub fn from_limits(limits: &Limits) -> Self {
        ServerTimers {
            handshake_timeout: Duration::from_millis(u64::from(limits.handshake_timeout_ms)),
            ping_interval: Duration::from_millis(u64::from(limits.ping_interval_ms)),
            ping_timeout: Duration::from_millis(u64::from(limits.ping_timeout_ms)),
        }
    }
}

impl Default for ServerTimers {
    /// The defaults of spec section 16.
    fn default() -> Self {
        ServerTimers::from_limits(&Limits::default())
    }
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

/// Where the session's timers stand: instants as milliseconds after `base`
/// (the accept, moved forward on a connection older than `REBASE_MS`), so
/// that the clock takes 32 bytes. Whether a PING is out is the session's.
#[derive(Debug, Clone)]
pub(super) struct Clock {
    base: Instant,
    /// Absolute: nothing received moves it (`[AUTH-2]`).
    handshake_ms: u32,
    /// When the last frame was received, or, once a PING is out, when it
    /// was sent: after a PING only silence since it counts.
    quiet_ms: u32,
    ping_interval_ms: u32,
    ping_timeout_ms: u32,
}

/// Past this age `base` moves to now, so offsets never overflow; by then
/// the handshake is long over.
const REBASE_MS: u128 = 1 << 31;

/// What a timer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expired {
    Nothing,
    /// `[HANDSHAKE-8]`: no WELCOME by the deadline.
    Handshake,
    /// `[KEEPALIVE-2]`: time to send this PING nonce; the PING is out.
    Ping(u64),
    /// `[KEEPALIVE-2]`: nothing arrived within `ping_timeout` of the PING.
    Idle,
}

impl Clock {
    pub(super) fn new(timers: ServerTimers, accepted_at: Instant) -> Self {
        Clock {
            base: accepted_at,
            // spec: HANDSHAKE-8 — counted from accept.
            handshake_ms: millis(timers.handshake_timeout),
            quiet_ms: 0,
            ping_interval_ms: millis(timers.ping_interval),
            ping_timeout_ms: millis(timers.ping_timeout),
        }
    }

    fn at(&self, ms: u32) -> Instant {
        self.base + Duration::from_millis(u64::from(ms))
    }

    pub(super) fn handshake_deadline(&self) -> Instant {
        self.at(self.handshake_ms)
    }

    /// `now` as an offset from `base`, which moves first if it is too far
    /// behind. A clock running backwards (a driver's mistake) reads as
    /// `base`.
    fn offset(&mut self, now: Instant) -> u32 {
        let ms = now.saturating_duration_since(self.base).as_millis();
        if ms < REBASE_MS {
            return ms as u32;
        }
        let shift = u32::try_from(ms).unwrap_or(u32::MAX);
        self.base = now;
        self.handshake_ms = self.handshake_ms.saturating_sub(shift);
        self.quiet_ms = self.quiet_ms.saturating_sub(shift);
        0
    }

    /// A whole frame arrived: a sign of life (`[KEEPALIVE-2]`); the session
    /// forgets its PING. Never moves backwards.
    pub(super) fn received(&mut self, now: Instant) {
        let now = self.offset(now);
        self.quiet_ms = self.quiet_ms.max(now);
    }

    fn keepalive_deadline(&self, pinged: bool) -> Instant {
        let wait = if pinged {
            self.ping_timeout_ms
        } else {
            self.ping_interval_ms
        };
        self.at(self.quiet_ms) + Duration::from_millis(u64::from(wait))
    }

    /// The next instant a timer fires: the handshake deadline while
    /// `handshaking`, and keepalive while `keepalive`.
    pub(super) fn next(&self, handshaking: bool, keepalive: bool, pinged: bool) -> Option<Instant> {
        let handshake = handshaking.then(|| self.handshake_deadline());
        let keepalive = keepalive.then(|| self.keepalive_deadline(pinged));
        match (handshake, keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What is due at `now`.
    pub(super) fn expire(
        &mut self,
        now: Instant,
        handshaking: bool,
        keepalive: bool,
        pinged: bool,
    ) -> Expired {
        if handshaking && now >= self.handshake_deadline() {
            // spec: HANDSHAKE-8, AUTH-2
            return Expired::Handshake;
        }
        if !keepalive || now < self.keepalive_deadline(pinged) {
            return Expired::Nothing;
        }
        if pinged {
            return Expired::Idle;
        }
        self.quiet_ms = self.offset(now);
        // The PING's time since `base` serves as its nonce.
        Expired::Ping(u64::from(self.quiet_ms))
    }
}
