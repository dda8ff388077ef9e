//! A short, bounded run of the load generator against a real server and the
//! bare relay on 127.0.0.1: the tool works end to end and verifies delivery.

use std::process::Stdio;
use std::time::Duration;

use confab_server::Config;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn fanout_smoke_run_delivers_everything_exactly_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap().to_string();
    let shutdown = CancellationToken::new();
    let config = Config {
        msg_rate: 1_000_000,
        msg_burst: 1_000_000,
        byte_rate: 1_000_000_000,
        byte_burst: 1_000_000_000,
        queue_depth: 65_536,
        ..Config::default()
    };
    tokio::spawn(confab_server::run(listener, config, shutdown.clone()));

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
    let floor = banner.rsplit(' ').next().unwrap().to_string();

    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(env!("CARGO_BIN_EXE_confab-bench"))
            .args([
                "fanout",
                "--server",
                &server,
                "--floor",
                &floor,
                "-n",
                "20",
                "-m",
                "30",
                "--json",
                "--timeout",
                "30",
            ])
            .output(),
    )
    .await
    .expect("bounded run")
    .unwrap();
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
    for report in &reports {
        let expected = 20 * 19 * 30;
        assert_eq!(report["expected"], expected);
        assert_eq!(report["deliveries"], expected, "{report}");
        assert_eq!(report["faults"]["lost"], 0);
        assert_eq!(report["faults"]["echoed"], 0);
        assert_eq!(report["faults"]["duplicated_or_reordered"], 0);
        assert_eq!(report["timed_out"], false);
    }
    assert_eq!(reports[0]["target"], "confab");
    assert_eq!(reports[1]["target"], "floor");
    shutdown.cancel();
}
