//! Attacks on a running in-process server, each bounded in count and time and
//! each followed by the same health check (`support::health_check`): the
//! server still accepts, two new honest clients chat 20 messages with p-max
//! under 500 ms, and resident memory is back near its level before the attack.
//! While each attack runs, two witnesses chat in a room of their own and must
//! never be disturbed.
//!
//! The attacks run one at a time (they share the process's memory reading and
//! its two cores), each in a runtime of its own.
//!
//! Random inputs come from a xorshift generator; the seed is printed and can
//! be set with CONFAB_ATTACK_SEED to replay a run.

// The attacks use part of the shared harness; the `it` binary, which uses
// the rest, is where unused helpers are reported.
#[allow(dead_code, unused_imports)]
#[path = "../common/mod.rs"]
mod common;
mod exhaustion;
mod floods;
mod malformed;
mod malformed_inputs;
mod silent_peers;
mod slowloris;
mod support;

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// The attacks share the process: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

pub(crate) fn attack<F: Future<Output = ()>>(body: impl FnOnce() -> F) {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(body());
}

/// The witnesses' worst message latency while an attack is under way
/// (looser than the health check: the attackers share the two cores).
pub(crate) const DURING_ATTACK: Duration = Duration::from_secs(2);

pub(crate) const DEFAULT_MAX_FRAME: u32 = 65_536;
