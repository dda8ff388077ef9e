//! What every case gets: the server's address, the run's timeouts, the
//! GREETING read once at the start, and fresh names unique to this run.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use confab_protocol::frame::Greeting;
use confab_protocol::Limits;

pub struct Ctx {
    pub addr: SocketAddr,
    /// Per-read timeout.
    pub timeout: Duration,
    /// The longest server-side deadline a case waits out (HANDSHAKE-8, KEEPALIVE-2).
    pub max_wait: Duration,
    /// The GREETING of a probe connection made before the cases ran.
    pub greeting: Greeting,
    tag: String,
    counter: AtomicU32,
}

impl Ctx {
    pub fn new(addr: SocketAddr, timeout: Duration, max_wait: Duration, greeting: Greeting) -> Ctx {
        // A random tag per run, so a second run against the same server
        // never meets the names and rooms of the first.
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let tag = format!("{:05x}", hasher.finish() & 0xF_FFFF);
        Ctx {
            addr,
            timeout,
            max_wait,
            greeting,
            tag,
            counter: AtomicU32::new(0),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.greeting.limits
    }

    /// A username no other case or run uses: 9 ASCII bytes (`u` + tag + counter).
    pub fn user(&self) -> String {
        format!("u{}{}", self.tag, self.next())
    }

    /// A room name no other case or run uses.
    pub fn room(&self) -> String {
        format!("r{}{}", self.tag, self.next())
    }

    fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{n:03x}")
    }

    /// Whether the GREETING sets `flag` (`Greeting::ACCOUNTS`, ...).
    pub fn has_flag(&self, flag: u8) -> bool {
        self.greeting.flags & flag != 0
    }

    /// A deadline the case can wait out, or `None` when it is above `max_wait`.
    pub fn waitable(&self, ms: u64) -> Option<Duration> {
        let wait = Duration::from_millis(ms);
        (wait <= self.max_wait).then_some(wait)
    }
}
