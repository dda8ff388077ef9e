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

/// Where the session's timers stand.
#[derive(Debug, Clone)]
pub(super) struct Clock {
    /// Absolute: nothing received moves it (`[AUTH-2]`).
    handshake_deadline: Instant,
    /// When the last frame was received, or, once `pinged`, when the PING
    /// was sent: after a PING only silence since it counts.
    quiet_since: Instant,
    pinged: bool,
    /// PINGs sent so far; the next one's nonce.
    pings: u32,
    ping_interval_ms: u32,
    ping_timeout_ms: u32,
}

/// What a timer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expired {
    Nothing,
    /// `[HANDSHAKE-8]`: no WELCOME by the deadline.
    Handshake,
    /// `[KEEPALIVE-2]`: time to send this PING nonce.
    Ping(u64),
    /// `[KEEPALIVE-2]`: nothing arrived within `ping_timeout` of the PING.
    Idle,
}

impl Clock {
    pub(super) fn new(timers: ServerTimers, accepted_at: Instant) -> Self {
        Clock {
            // spec: HANDSHAKE-8 — counted from accept.
            handshake_deadline: accepted_at + timers.handshake_timeout,
            quiet_since: accepted_at,
            pinged: false,
            pings: 0,
            ping_interval_ms: millis(timers.ping_interval),
            ping_timeout_ms: millis(timers.ping_timeout),
        }
    }

    pub(super) fn handshake_deadline(&self) -> Instant {
        self.handshake_deadline
    }

    /// A whole frame arrived: a sign of life (`[KEEPALIVE-2]`). A clock
    /// running backwards (a driver's mistake) never moves it back.
    pub(super) fn received(&mut self, now: Instant) {
        self.quiet_since = now.max(self.quiet_since);
        self.pinged = false;
    }

    fn keepalive_deadline(&self) -> Instant {
        let wait = if self.pinged {
            self.ping_timeout_ms
        } else {
            self.ping_interval_ms
        };
        self.quiet_since + Duration::from_millis(u64::from(wait))
    }

    /// The next instant a timer fires: the handshake deadline while
    /// `handshaking`, and keepalive while `keepalive`.
    pub(super) fn next(&self, handshaking: bool, keepalive: bool) -> Option<Instant> {
        let handshake = handshaking.then_some(self.handshake_deadline);
        let keepalive = keepalive.then(|| self.keepalive_deadline());
        match (handshake, keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What is due at `now`; a PING due is counted as sent.
    pub(super) fn expire(&mut self, now: Instant, handshaking: bool, keepalive: bool) -> Expired {
        if handshaking && now >= self.handshake_deadline {
            // spec: HANDSHAKE-8, AUTH-2
            return Expired::Handshake;
        }
        if !keepalive || now < self.keepalive_deadline() {
            return Expired::Nothing;
        }
        if self.pinged {
            return Expired::Idle;
        }
        self.pinged = true;
        self.quiet_since = now;
        self.pings = self.pings.wrapping_add(1);
        Expired::Ping(u64::from(self.pings))
    }
}
