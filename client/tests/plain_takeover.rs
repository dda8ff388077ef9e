//! `[AUTH-4]` from the client's side, with real `confab --plain` processes:
//! a session taken over by another login to its account says why and ends,
//! and does not reconnect (which would take the account back, and so on
//! forever).

mod support;

use confab_server::Config;
use support::{Launch, PlainClient, Stderr};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_taken_over_client_says_why_and_does_not_reconnect() {
    // spec: AUTH-4
    let data_dir =
        std::env::temp_dir().join(format!("confab-client-takeover-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let shutdown = CancellationToken::new();
    let config = Config {
        in_memory: false,
        data_dir: data_dir.clone(),
        ..Config::default()
    };
    tokio::spawn(confab_server::run(listener, config, shutdown.clone()));

    let launch = Launch {
        env: &[("CONFAB_PASSWORD", "correct horse")],
        stderr: Stderr::Capture,
    };
    // Quick to reconnect, were it to try.
    let fast = ["--reconnect-initial-ms", "10", "--reconnect-max-ms", "10"];
    let mut args = vec!["--name", "erin", "--register"];
    args.extend(fast);
    let mut first = PlainClient::spawn_with(&addr, &args, "erin-1", launch);
    first.until(|l| l == "*** logged in as erin").await;

    let mut args = vec!["--name", "erin", "--login"];
    args.extend(fast);
    let mut second = PlainClient::spawn_with(&addr, &args, "erin-2", launch);
    second.until(|l| l == "*** logged in as erin").await;

    // The first ends by itself; had it reconnected, it would hold the
    // account again and the second would have been taken over.
    let (code, _, stderr) = first.exit().await;
    assert_ne!(code, 0, "taken over is not a clean end: {stderr}");
    assert!(stderr.contains("TAKEN_OVER"), "{stderr}");
    assert!(stderr.contains("not reconnecting"), "{stderr}");

    second.line("still mine").await;
    let (code, lines, stderr) = second.finish().await;
    assert_eq!(code, 0, "{lines:?} {stderr}");
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("disconnected") || l.contains("TAKEN_OVER")),
        "the second session was never taken over: {lines:?}"
    );
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(&data_dir);
}
