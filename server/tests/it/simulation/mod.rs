//! Deterministic simulations of the server over turmoil's simulated network
//! and clock: the server runs as a turmoil host (`confab_server::run` over a
//! `turmoil::net::TcpListener`), the clients are turmoil clients speaking
//! frames through the protocol crate's `FrameCodec`.
//!
//! Every test runs many seeds. A seed fixes the network latencies, the order in
//! which the hosts run in each step and every random choice the test clients
//! make, so a failure names its seed and reruns exactly:
//!
//! ```text
//! CONFAB_SIM_SEED=17 cargo test -p confab-server --test it simulation::<module>::<test name>
//! CONFAB_SIM_SEEDS=200 cargo test -p confab-server --test it simulation::   # more seeds
//! ```
//!
//! (The one source of randomness a seed does not fix is the choice tokio makes
//! among several ready branches of an unbiased `select!` in the server, which
//! turmoil seeds only under `--cfg tokio_unstable`; the test clients use
//! `biased` selects. Runs of one seed have been identical in practice.)
//!
//! Time is simulated (1 ms per step, 4 ms in the keepalive test), so keepalive
//! and shutdown deadlines of seconds take milliseconds of wall time. Message
//! time stamps come from the wall clock (chrono) and are never asserted on.

mod keepalive;
mod order;
mod peer;
mod shutdown;
mod slow_consumer;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use confab_protocol::frame::{
    Ack, ErrorFrame, Frame, Hello, Login, Message, Ping, Pong, PresenceEvent, SendMessage, Who,
};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::{SinkExt, StreamExt};
use peer::*;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;
use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use turmoil::net::{TcpListener, TcpStream};
use turmoil::{Builder, Sim};

/// (sender, client_ref) → (id, seq) from ACKs.
type AcksSeen = HashMap<(String, u32), (u64, u64)>;
/// (receiver, sender, n, id, seq) of every MESSAGE seen.
type MessagesSeen = Vec<(String, String, u32, u64, u64)>;
const SERVER: &str = "server";
const PORT: u16 = 7667;
const ROOM: &str = "lobby";
/// How long (simulated) a client waits for an expected frame.
const PATIENCE: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------
// Seeds

/// SplitMix64: the test clients' own random choices, derived from the seed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// The seeds to run: `CONFAB_SIM_SEED` alone, or `1..=CONFAB_SIM_SEEDS`
/// (default `count`).
fn seeds(count: u64) -> Vec<u64> {
    if let Ok(one) = std::env::var("CONFAB_SIM_SEED") {
        return vec![one
            .trim()
            .parse()
            .expect("CONFAB_SIM_SEED must be an integer")];
    }
    let count = std::env::var("CONFAB_SIM_SEEDS")
        .ok()
        .map(|n| {
            n.trim()
                .parse()
                .expect("CONFAB_SIM_SEEDS must be an integer")
        })
        .unwrap_or(count);
    (1..=count).collect()
}

/// Runs `run` once per seed; the first failure fails the test naming its
/// seed. `test` is the test's path (`concat!(module_path!(), "::name")`).
fn for_each_seed(test: &str, count: u64, run: impl Fn(u64) -> turmoil::Result) {
    // The path as `--list` shows it: without the crate's name.
    let test = test.split_once("::").map_or(test, |(_, path)| path);
    let started = std::time::Instant::now();
    let seeds = seeds(count);
    for &seed in &seeds {
        let why = match catch_unwind(AssertUnwindSafe(|| run(seed))) {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => error.to_string(),
            Err(panic) => panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".to_string()),
        };
        panic!(
            "{test} failed with seed = {seed}: {why}\n\
             rerun only this seed: CONFAB_SIM_SEED={seed} cargo test -p confab-server --test it {test}"
        );
    }
    eprintln!(
        "{test}: {} seeds ({}..={}) passed in {:?}",
        seeds.len(),
        seeds.first().unwrap_or(&0),
        seeds.last().unwrap_or(&0),
        started.elapsed()
    );
}

/// A simulated network whose randomness is all drawn from `seed`: the latency
/// of every segment in `0..=max_latency_ms`, and the order hosts run in each
/// 1 ms step.
fn network(seed: u64, max_latency_ms: u64, duration: Duration) -> Builder {
    let mut builder = Builder::new();
    builder
        .rng_seed(seed)
        .tick_duration(ms(1))
        .min_message_latency(Duration::ZERO)
        .max_message_latency(ms(max_latency_ms))
        .simulation_duration(duration)
        .enable_random_order();
    builder
}

/// Rate limits out of the way, everything else as the reference defaults.
fn config() -> Config {
    Config {
        msg_rate: 1_000_000,
        msg_burst: 1_000_000,
        byte_rate: 1_000_000_000,
        byte_burst: 1_000_000_000,
        ..Config::default()
    }
}

/// Starts the server as host `SERVER`; the returned cell receives the
/// simulated time at which `run` returned.
fn start_server(
    sim: &mut Sim<'_>,
    config: Config,
    shutdown: CancellationToken,
) -> Rc<Cell<Option<Duration>>> {
    let stopped = Rc::new(Cell::new(None));
    let stopped_at = Rc::clone(&stopped);
    sim.host(SERVER, move || {
        let (config, shutdown, stopped_at) =
            (config.clone(), shutdown.clone(), Rc::clone(&stopped_at));
        async move {
            let listener = TcpListener::bind((IpAddr::from(Ipv4Addr::UNSPECIFIED), PORT)).await?;
            confab_server::run(listener, config, shutdown).await?;
            stopped_at.set(Some(now()));
            Ok(())
        }
    });
    stopped
}

/// Simulated time since the start, the same on every host.
fn now() -> Duration {
    turmoil::sim_elapsed().expect("inside the simulation")
}

/// Polls `done` every simulated millisecond; fails after `patience`.
async fn wait_for(what: &str, patience: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + patience;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {patience:?} waiting for {what}"
        );
        sleep(ms(1)).await;
    }
}
