//! The send queue, end to end: real `confab --plain` processes and a real
//! server on 127.0.0.1. Piped lines are paced under the server's rate limits,
//! survive reconnects, and each is delivered once, in order, or reported.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// A TCP relay in front of the server that can withhold the server's answers
/// and cut every connection, as a network failure would.
struct Relay {
    addr: String,
    withhold: Arc<AtomicBool>,
    cut: Arc<std::sync::Mutex<CancellationToken>>,
}

impl Relay {
    async fn start(server: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let withhold = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(std::sync::Mutex::new(CancellationToken::new()));
        let (hold, cuts) = (withhold.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = tokio::net::TcpStream::connect(&server).await.unwrap();
                let token = cuts.lock().unwrap().clone();
                tokio::spawn(relay(client, upstream, hold.clone(), token));
            }
        });
        Relay {
            addr,
            withhold,
            cut,
        }
    }

    /// Ends every relayed connection; later ones are relayed normally.
    fn cut_all(&self) {
        let old = std::mem::take(&mut *self.cut.lock().unwrap());
        old.cancel();
        self.withhold.store(false, Ordering::SeqCst);
    }
}

async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    withhold: Arc<AtomicBool>,
    cut: CancellationToken,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = tokio::io::copy(&mut client_read, &mut server_write);
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            // Withheld bytes are lost, as on a link that fails.
            if !withhold.load(Ordering::SeqCst) {
                client_write.write_all(&buf[..n]).await?;
            }
        }
    };
    tokio::select! {
        _ = cut.cancelled() => {}
        _ = up => {}
        _ = down => {}
    }
}

#[tokio::test]
async fn a_message_whose_ack_was_lost_is_neither_repeated_nor_shown_as_new() {
    let (addr, shutdown) = start_server(Config::default()).await;
    let relay = Relay::start(addr.clone()).await;
    let mut bob = PlainClient::spawn(&addr, &["--name", "bob"], "bob");
    bob.until(|l| l.starts_with("*** joined lobby")).await;
    let mut alice = PlainClient::spawn(
        &relay.addr,
        &["--name", "alice", "--reconnect-initial-ms", "50"],
        "alice",
    );
    alice.until(|l| l.starts_with("*** joined lobby")).await;
    bob.line("before").await;
    alice.until(|l| l.ends_with("bob: before")).await;
    // The server takes alice's message, but its ACK never reaches her.
    relay.withhold.store(true, Ordering::SeqCst);
    alice.line("mine").await;
    bob.until(|l| l.ends_with("alice: mine")).await;
    relay.cut_all();
    alice.until(|l| l.starts_with("*** disconnected")).await;
    let joins = std::cell::Cell::new(0);
    alice
        .until(|l| {
            if l.starts_with("*** joined lobby") {
                joins.set(joins.get() + 1);
            }
            joins.get() == 2
        })
        .await;
    // After the rejoin the room replays "mine": that is her message's ACK.
    alice.line("after").await;
    bob.until(|l| l.ends_with("alice: after")).await;
    let (code, seen, _) = alice.finish().await;
    assert_eq!(code, 0, "{seen:?}");
    assert!(
        !seen.iter().any(|l| l.contains("alice: mine")),
        "her own replayed message is not shown as new: {seen:?}"
    );
    let (_, seen, _) = bob.finish().await;
    assert_eq!(
        bodies_from(&seen, "alice"),
        ["mine", "after"],
        "delivered once, in order"
    );
    shutdown.cancel();
}

/// A plain client logged in to a server that then goes away for good.
async fn client_of_a_vanished_server(drain_timeout_s: &str) -> PlainClient {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(confab_server::run(
        listener,
        Config::default(),
        shutdown.clone(),
    ));
    let launch = Launch {
        stderr: Stderr::Capture,
        ..Launch::default()
    };
    let args = [
        "--name",
        "p2",
        "--reconnect-initial-ms",
        "100",
        "--drain-timeout-s",
        drain_timeout_s,
    ];
    let mut client = PlainClient::spawn_with(&addr, &args, "p2", launch);
    client.until(|l| l.starts_with("*** joined lobby")).await;
    shutdown.cancel();
    server.await.unwrap().unwrap();
    client.until(|l| l.contains("reconnecting")).await;
    client
}

#[tokio::test]
async fn end_of_input_with_the_server_gone_gives_up_after_the_drain_timeout() {
    let mut client = client_of_a_vanished_server("2").await;
    client.line("never delivered").await;
    let (code, out, err) = client.finish().await;
    assert_eq!(code, 1, "{out:?} {err}");
    assert!(err.contains("1 message not delivered"), "{err}");
    // The loss is said once; each failed attempt after it is one line.
    let after: Vec<&String> = out
        .iter()
        .skip_while(|l| !l.starts_with("*** disconnected"))
        .skip(1)
        .collect();
    assert!(!after.is_empty(), "{out:?}");
    for line in after {
        assert!(
            line.starts_with("*** reconnect failed: 127.0.0.1:")
                && line.contains(": connection refused; next try in"),
            "{out:?}"
        );
    }
}

#[tokio::test]
async fn end_of_input_with_the_server_gone_and_nothing_queued_exits_at_once() {
    // A drain timeout far beyond the harness's patience: only an exit that
    // does not wait for it passes.
    let client = client_of_a_vanished_server("600").await;
    let (code, out, err) = client.finish().await;
    assert_eq!(code, 0, "{out:?} {err}");
}
