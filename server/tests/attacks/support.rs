//! What only the attack suite needs on top of `common/`: admission retries,
//! a pair of witnesses that keep chatting in the background, the
//! post-attack health check and memory readings of this process.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use confab_protocol::frame::{Frame, Hello};
use confab_protocol::ErrorCode;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::common::{chat_round, timed_chat, unique_name, Client, PATIENCE};

// ---------------------------------------------------------------------------
// Admission
// ---------------------------------------------------------------------------

/// Connects until the server greets (bounded), retrying while it answers
/// SERVER_FULL: the server frees a slot only once it has seen the old
/// connection's end, which a client cannot observe.
pub async fn connect_when_admitted(addr: SocketAddr, local: Option<IpAddr>) -> (Client, usize) {
    for attempt in 1..=200 {
        let mut conn = match local {
            Some(ip) => Client::connect_from(addr, ip).await,
            None => Client::connect_raw(addr).await,
        };
        match conn.recv().await {
            Frame::Greeting(_) => return (conn, attempt),
            Frame::ErrorFrame(e)
                if e.code == ErrorCode::SERVER_FULL
                    || e.code == ErrorCode::TOO_MANY_CONNECTIONS =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("expected GREETING or a refusal, got {other:?}"),
        }
    }
    panic!("the server did not admit a newcomer within 200 attempts");
}

/// `connect_when_admitted`, then a guest login without auto-join.
pub async fn login_when_admitted(addr: SocketAddr, name: &str) -> Client {
    let (mut conn, _) = connect_when_admitted(addr, None).await;
    conn.name = name.to_string();
    conn.login_as(name, Hello::NO_AUTO_JOIN).await;
    conn
}

// ---------------------------------------------------------------------------
// Chat rounds, background witnesses, the health check
// ---------------------------------------------------------------------------

/// Two logged-in clients that keep chatting in a room of their own, one
/// message every `pace` (alternating senders), while an attack runs.
pub struct Witnesses {
    stop: CancellationToken,
    handle: JoinHandle<(usize, Duration)>,
}

/// A pace the default rate limits allow forever (each witness sends every
/// other message: 8 a second, against msg_rate 20).
pub const POLITE_PACE: Duration = Duration::from_millis(60);

/// A pace for servers with high rate limits.
pub const BRISK_PACE: Duration = Duration::from_millis(10);

impl Witnesses {
    pub async fn start(addr: SocketAddr, pace: Duration) -> Witnesses {
        let room = unique_name("witness-room-");
        let mut a = Client::login_flags(addr, &unique_name("wa"), Hello::NO_AUTO_JOIN).await;
        let mut b = Client::login_flags(addr, &unique_name("wb"), Hello::NO_AUTO_JOIN).await;
        a.enter(&room, 0, 0).await;
        b.enter(&room, 0, 0).await;
        // Settle: one message each way (a also skips b's join PRESENCE).
        chat_round(&mut a, &mut b, &room, 2).await;
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let handle = tokio::spawn(async move {
            let mut pace = tokio::time::interval(pace);
            let mut slowest = Duration::ZERO;
            let mut sent = 0usize;
            // Bounded: at most 100,000 messages.
            for _ in 0..100_000 {
                tokio::select! {
                    _ = stopped.cancelled() => break,
                    _ = pace.tick() => {}
                }
                let body = format!("witness {sent}");
                let (_, latency) = if sent % 2 == 0 {
                    timed_chat(&mut a, &mut b, &room, &body).await
                } else {
                    timed_chat(&mut b, &mut a, &room, &body).await
                };
                slowest = slowest.max(latency);
                sent += 1;
            }
            (sent, slowest)
        });
        Witnesses { stop, handle }
    }

    /// Stops the witnesses; fails if they could not chat the whole time or a
    /// message took longer than `bound`.
    pub async fn finish(self, label: &str, bound: Duration) {
        self.stop.cancel();
        let (sent, slowest) = match tokio::time::timeout(PATIENCE * 2, self.handle).await {
            Ok(Ok(report)) => report,
            Ok(Err(e)) => panic!("{label}: the witnesses failed during the attack: {e}"),
            Err(_) => panic!("{label}: the witnesses hung"),
        };
        eprintln!(
            "{label}: witnesses chatted {sent} messages during the attack, slowest {slowest:?}"
        );
        assert!(sent > 0, "{label}: the witnesses never chatted");
        assert!(
            slowest < bound,
            "{label}: a witness message took {slowest:?} during the attack (bound {bound:?})"
        );
    }
}

/// Resident memory of this process (server and clients), from /proc.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

pub const MIB: u64 = 1024 * 1024;

/// The bound on p-max of a health-check round.
pub const HEALTHY_LATENCY: Duration = Duration::from_millis(500);

/// Allowed growth of resident memory across one attack.
pub const RSS_TOLERANCE: u64 = 32 * MIB;

/// After an attack: the server still accepts; two new honest clients chat
/// 20 messages with p-max under `HEALTHY_LATENCY`; memory is back near
/// `baseline`.
pub async fn health_check(addr: SocketAddr, label: &str, baseline: u64) {
    // The server accepts and greets (once it has seen the attackers go:
    // their places come back when it notices, which may take a moment).
    let (probe, attempts) = connect_when_admitted(addr, None).await;
    drop(probe);

    let room = unique_name("health-");
    let mut a = login_when_admitted(addr, &unique_name("ha")).await;
    let mut b = login_when_admitted(addr, &unique_name("hb")).await;
    a.enter(&room, 0, 0).await;
    b.enter(&room, 0, 0).await;
    // Warm-up (not measured; a also skips b's join PRESENCE).
    chat_round(&mut a, &mut b, &room, 2).await;
    let latencies = chat_round(&mut a, &mut b, &room, 20).await;
    let max = latencies.iter().max().copied().unwrap();
    let mut sorted = latencies.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    drop((a, b));

    let after = rss_bytes();
    eprintln!(
        "{label}: health check: admitted at attempt {attempts}; 20 messages, median {median:?}, p-max {max:?}; \
         VmRSS {:.1} MiB before the attack, {:.1} MiB after",
        baseline as f64 / MIB as f64,
        after as f64 / MIB as f64
    );
    assert!(
        max < HEALTHY_LATENCY,
        "{label}: p-max latency {max:?} after the attack (latencies {latencies:?})"
    );
    assert!(
        after <= baseline + RSS_TOLERANCE,
        "{label}: VmRSS grew from {} to {} bytes across the attack",
        baseline,
        after
    );
}

/// Ends our sending direction (a TCP half-close), bounded by `PATIENCE`.
pub async fn half_close(client: &mut Client) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let closing = client.framed.get_mut().shutdown();
    tokio::time::timeout(PATIENCE, closing)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// The next of `set`'s tasks to end (`None` once all have), within three
/// PATIENCEs: a stuck attacker fails the test rather than hanging it.
pub(crate) async fn next_done<T: 'static>(
    set: &mut tokio::task::JoinSet<T>,
    what: &str,
) -> Option<Result<T, tokio::task::JoinError>> {
    crate::common::within_for(PATIENCE * 3, what, set.join_next()).await
}

// ---------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------

/// A deterministic xorshift64* generator.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

/// The mutations' seed: `CONFAB_ATTACK_SEED` (decimal or 0x-hex) replays a run.
pub(crate) fn seed() -> u64 {
    std::env::var("CONFAB_ATTACK_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        })
        .unwrap_or(0xC0FF_EE15_600D_F00D)
        .max(1)
}
