//! The send queue, end to end: real `confab --plain` processes and a real
//! server on 127.0.0.1. Piped lines are paced under the server's rate limits,
//! survive reconnects, and each is delivered once, in order, or reported.

mod support;

use confab_server::Config;
use support::{Launch, PlainClient, Stderr};
use tokio_util::sync::CancellationToken;

async fn start_server(config: Config) -> (String, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let shutdown = CancellationToken::new();
    tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
    (addr, shutdown)
}

/// The bodies `sender` sent, in the order `lines` show them.
fn bodies_from<'a>(lines: &'a [String], sender: &str) -> Vec<&'a str> {
    let marker = format!("] {sender}: ");
    lines
        .iter()
        .filter_map(|l| l.split_once(&marker).map(|(_, body)| body))
        .collect()
}

#[tokio::test]
async fn piped_lines_are_paced_under_the_rate_limit_and_all_delivered_in_order() {
    // Rates that make pacing necessary yet keep the test short: 600 lines
    // are 30 bursts' worth; unpaced, most would be refused with RATE_LIMITED
    // and the client cut off with FLOODING.
    let config = Config {
        msg_rate: 200,
        msg_burst: 20,
        ..Config::default()
    };
    let (addr, shutdown) = start_server(config).await;
    let mut reader = PlainClient::spawn(&addr, &["--name", "reader"], "reader");
    reader.until(|l| l.starts_with("*** joined lobby")).await;
    let capture = Launch {
        stderr: Stderr::Capture,
        ..Launch::default()
    };
    let mut piper = PlainClient::spawn_with(&addr, &["--name", "piper"], "piper", capture);
    const LINES: usize = 600;
    for n in 1..=LINES {
        piper.line(&format!("line {n}")).await;
    }
    // End of input: the client delivers everything, then says goodbye.
    let (code, out, err) = piper.finish().await;
    let tail = &out[out.len().saturating_sub(5)..];
    assert_eq!(
        code, 0,
        "exit 0 after the last ACK; stdout ends {tail:?}, stderr {err}"
    );
    assert!(
        !err.contains("not sent") && !out.iter().any(|l| l.contains("RATE_LIMITED")),
        "nothing refused: {err} {tail:?}"
    );
    let last = format!("line {LINES}");
    reader
        .until(|l| l.ends_with(&format!("piper: {last}")))
        .await;
    let (code, seen, _) = reader.finish().await;
    assert_eq!(code, 0);
    let expected: Vec<String> = (1..=LINES).map(|n| format!("line {n}")).collect();
    assert_eq!(
        bodies_from(&seen, "piper"),
        expected,
        "every line exactly once, in order"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn a_refused_line_is_reported_with_its_line_number() {
    let (addr, shutdown) = start_server(Config::default()).await;
    let capture = Launch {
        stderr: Stderr::Capture,
        ..Launch::default()
    };
    let mut alice = PlainClient::spawn_with(&addr, &["--name", "alice"], "alice", capture);
    alice.until(|l| l.starts_with("*** joined lobby")).await;
    alice.line("fine").await;
    alice.line("/msg nobody hello?").await;
    alice.line("/msg ALICE note to self").await;
    alice.line("also fine").await;
    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "{out:?} {err}");
    assert!(
        err.contains("line 2 not sent to nobody") && err.contains("NO_SUCH_USER"),
        "{err}"
    );
    assert!(
        err.contains("line 3 not sent to ALICE: you cannot send a direct message to yourself"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "only the two refused lines: {err}");
    shutdown.cancel();
}
