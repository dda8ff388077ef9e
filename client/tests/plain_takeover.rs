//! `[AUTH-4]` from the client's side, with real `confab --plain` processes:
//! a session taken over by another login to its account says why and ends,
//! and does not reconnect (which would take the account back, and so on
//! forever).

mod support;

use support::{Launch, PlainClient, Stderr, StoredServer};

#[tokio::test]
async fn a_taken_over_client_says_why_and_does_not_reconnect() {
    // spec: AUTH-4
    let server = StoredServer::start("takeover").await;
    let addr = server.addr.clone();

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
    server.stop();
}
