//! Short, bounded runs of the load generator against a real server and the
//! bare relay on 127.0.0.1: the tool works end to end and verifies delivery,
//! in one room and in many; and the relay keeps its rooms apart.

use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use confab_server::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_util::codec::{Framed, LengthDelimitedCodec};
use tokio_util::sync::CancellationToken;

const BOUND: Duration = Duration::from_secs(60);

/// An in-process server with rate limits out of the way; its address.
async fn start_server(shutdown: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap().to_string();
    let config = Config {
        msg_rate: 1_000_000,
        msg_burst: 1_000_000,
        byte_rate: 1_000_000_000,
        byte_burst: 1_000_000_000,
        queue_depth: 65_536,
        ..Config::default()
    };
    tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
    server
}

/// The relay binary (killed on drop) and the address from its banner.
async fn start_relay() -> (Child, String) {
    let mut relay = Command::new(env!("CARGO_BIN_EXE_confab-bench"))
        .args(["relay", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut relay_err = BufReader::new(relay.stderr.take().unwrap()).lines();
    let banner = tokio::time::timeout(Duration::from_secs(10), relay_err.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let addr = banner.rsplit(' ').next().unwrap().to_string();
    (relay, addr)
}

/// Runs `confab-bench MODE LAYOUT` against an in-process server and the
/// relay, one run each; their reports, checked clean and complete
/// (`expected` deliveries each), Confab's first.
async fn bench(mode: &str, layout: &[&str], expected: u64) -> Vec<serde_json::Value> {
    let shutdown = CancellationToken::new();
    let server = start_server(&shutdown).await;
    let (_relay, floor) = start_relay().await;
    let output = tokio::time::timeout(
        BOUND,
        Command::new(env!("CARGO_BIN_EXE_confab-bench"))
            .args([mode, "--server", &server, "--floor", &floor])
            .args(layout)
            .args(["--json", "--timeout", "30"])
            .output(),
    )
    .await
    .expect("bounded run")
    .unwrap();
    shutdown.cancel();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stdout {stdout}\nstderr {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reports: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 2, "{stdout}");
    for (report, target) in reports.iter().zip(["confab", "floor"]) {
        assert_eq!(report["target"], target);
        assert_eq!(report["expected"], expected);
        assert_eq!(report["deliveries"], expected, "{report}");
        for fault in [
            "lost",
            "echoed",
            "duplicated_or_reordered",
            "unknown_sender",
        ] {
            assert_eq!(report["faults"][fault], 0, "{fault}: {report}");
        }
        assert_eq!(report["timed_out"], false);
    }
    reports
}

#[tokio::test]
async fn fanout_smoke_run_delivers_everything_exactly_once() {
    bench("fanout", &["-n", "20", "-m", "30"], 20 * 19 * 30).await;
}

#[tokio::test]
async fn rooms_smoke_run_checks_every_room_on_confab_and_the_floor() {
    let layout = ["-r", "3", "-n", "3", "-m", "20"];
    for report in bench("rooms", &layout, 3 * 3 * 2 * 20).await {
        assert_eq!(report["rooms"], 3);
        assert_eq!(report["members"], 3);
        assert_eq!(report["clients"], 9);
    }
}

type RelayClient = Framed<TcpStream, LengthDelimitedCodec>;

/// A relay client registered in `room`.
async fn join_relay(addr: &str, room: &'static str) -> RelayClient {
    let mut client = Framed::new(
        TcpStream::connect(addr).await.unwrap(),
        LengthDelimitedCodec::new(),
    );
    client
        .send(Bytes::from_static(room.as_bytes()))
        .await
        .unwrap();
    assert_eq!(next(&mut client).await, "R", "READY");
    client
}

async fn next(client: &mut RelayClient) -> String {
    let frame = tokio::time::timeout(BOUND, client.next())
        .await
        .expect("bounded");
    String::from_utf8(frame.unwrap().unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn the_relay_forwards_only_within_the_senders_room() {
    let (_relay, addr) = start_relay().await;
    let mut a = join_relay(&addr, "x").await;
    let mut b = join_relay(&addr, "x").await;
    let mut c = join_relay(&addr, "y").await;
    a.send(Bytes::from_static(b"to x")).await.unwrap();
    assert_eq!(
        next(&mut a).await,
        "",
        "the sender's acknowledgement, no echo"
    );
    assert_eq!(next(&mut b).await, "to x");
    c.send(Bytes::from_static(b"to y")).await.unwrap();
    // Each client's frames come in order: had x's frame reached c (or y's
    // reached a or b), it would stand before these.
    assert_eq!(next(&mut c).await, "", "c only gets its acknowledgement");
    a.send(Bytes::from_static(b"again")).await.unwrap();
    assert_eq!(next(&mut a).await, "");
    assert_eq!(next(&mut b).await, "again");
}
