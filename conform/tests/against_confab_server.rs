//! Runs every conformance case against the reference server, in process on
//! 127.0.0.1:0, under five configurations chosen so that each case runs
//! (is not skipped) under at least one of them: nothing may fail anywhere.
//! Three have the per-address limits off (the runner connects from one
//! address); the last two turn them on, small, for the cases that look for
//! them alone.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use confab_conform::verdict::Outcome;
use confab_conform::{run, Options, Report};
use confab_server::Config;
use tokio_util::sync::CancellationToken;

/// A data directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("confab-conform-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The runner opens every connection from one address, as no real
/// population does: per-address limits (not advertised) off.
fn one_address(config: Config) -> Config {
    Config {
        max_per_ip: 0,
        register_burst: 1_000,
        ..config
    }
}

/// Starts `config` on an ephemeral loopback port, runs the `cases` (all if
/// empty), stops the server.
async fn conform(config: Config, cases: &[&str]) -> Report {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
    let options = Options {
        server: addr.to_string(),
        // Other test binaries share the cores: be patient per read.
        timeout: Duration::from_secs(10),
        cases: cases.iter().map(|c| c.to_string()).collect(),
        ..Options::default()
    };
    let report = run(&options).await.expect("the runner reaches the server");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server stops")
        .expect("the server task did not panic")
        .expect("the server returned Ok");
    report
}

/// In memory (no accounts), a short handshake deadline, pings rare.
fn in_memory() -> Config {
    Config {
        handshake_timeout_ms: 3_000,
        ..Config::default()
    }
}

/// Durable store with accounts; small frames, queue and history; fast pings.
fn tight(dir: &TempDir) -> Config {
    Config {
        in_memory: false,
        data_dir: dir.0.clone(),
        max_frame: 4096,
        max_body: 1024,
        msg_rate: 50,
        msg_burst: 100,
        byte_rate: 200_000,
        byte_burst: 200_000,
        queue_depth: 64,
        history_max: 32,
        max_rooms: 8,
        login_attempts: 2,
        ping_interval_ms: 1_000,
        ping_timeout_ms: 1_000,
        handshake_timeout_ms: 5_000,
        ..Config::default()
    }
}

/// Guests refused.
fn accounts_required(dir: &TempDir) -> Config {
    Config {
        in_memory: false,
        data_dir: dir.0.clone(),
        require_account: true,
        ..Config::default()
    }
}

/// Accounts and small per-address limits, for the cases that look for them.
fn per_address(dir: &TempDir) -> Config {
    Config {
        in_memory: false,
        data_dir: dir.0.clone(),
        max_per_ip: 64,
        max_unauthenticated_per_ip: 8,
        connect_rate: 1_000,
        connect_burst: 100_000,
        per_ip_share: 2,
        register_burst: 2,
        register_interval_ms: 600_000,
        ..Config::default()
    }
}

/// The cases that look for per-address limits, but the connect rate.
const PER_ADDRESS_CASES: &[&str] = &[
    "limits.refusal-is-an-error",
    "limits.pending-logins",
    "limits.password-checks",
    "limits.per-address-share",
];

/// The room-creation rate alone, with no shared request bucket: the other
/// per-address cases drain that bucket, and a JOIN refused by it says
/// nothing about the rate of rooms made.
fn room_creation() -> Config {
    Config {
        max_per_ip: 64,
        per_ip_share: 0,
        room_create_rate: 1,
        room_create_burst: 5,
        ..Config::default()
    }
}

/// A slow connect rate, alone: it would refuse the other cases' connections.
fn connect_rate() -> Config {
    Config {
        max_per_ip: 64,
        connect_rate: 1,
        connect_burst: 50,
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_passes_against_confab_server() {
    let (tight_dir, required_dir, per_address_dir) = (
        TempDir::new("tight"),
        TempDir::new("required"),
        TempDir::new("per-address"),
    );
    let reports = [
        ("in-memory", conform(one_address(in_memory()), &[]).await),
        ("tight", conform(one_address(tight(&tight_dir)), &[]).await),
        (
            "accounts-required",
            conform(one_address(accounts_required(&required_dir)), &[]).await,
        ),
        (
            "per-address",
            conform(per_address(&per_address_dir), PER_ADDRESS_CASES).await,
        ),
        (
            "room-creation",
            conform(room_creation(), &["limits.room-creation"]).await,
        ),
        (
            "connect-rate",
            conform(connect_rate(), &["limits.connect-rate"]).await,
        ),
    ];

    let mut ran: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut skips: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    for (label, report) in &reports {
        for result in &report.results {
            let entry = ran.entry(result.id).or_default();
            match &result.outcome {
                Outcome::Pass => entry.push(label),
                Outcome::Skip(reason) => {
                    assert!(!reason.is_empty(), "{} skipped without a reason", result.id);
                    skips
                        .entry(result.id)
                        .or_default()
                        .push(format!("[{label}] {reason}"));
                }
                Outcome::Fail {
                    clause,
                    expected,
                    received,
                } => failures.push(format!(
                    "[{label}] {} ({clause}): expected {expected}, received {received}",
                    result.id
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
    let never: Vec<_> = ran
        .iter()
        .filter(|(_, labels)| labels.is_empty())
        .map(|(id, _)| format!("{id}: {:?}", skips.get(id)))
        .collect();
    assert!(
        never.is_empty(),
        "cases skipped under every configuration:\n{}",
        never.join("\n")
    );
}
