//! `--metrics-listen`: `/metrics` scraped over HTTP on 127.0.0.1 after real
//! chat traffic, parsed with a Prometheus text parser, and checked with
//! `promtool check metrics` where the `prometheus` package provides it;
//! `--log-format json` through the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::common;

use common::{Client, TempDir, TestServer};
use confab_protocol::frame::LoginMode;
use confab_protocol::ErrorCode;
use prometheus_parse::{Scrape, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET `path`; the status line and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    common::within("the metrics answer", stream.read_to_string(&mut answer))
        .await
        .unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// The value of `name` whose labels include `labels`; 0 when absent (a
/// labelled counter appears on its first increment). For a histogram, its
/// count.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)));
    match found.map(|s| &s.value) {
        None => 0.0,
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        Some(Value::Histogram(buckets)) => buckets.last().map_or(0.0, |b| b.count),
        Some(other) => panic!("{name}: unexpected {other:?}"),
    }
}

async fn scrape(addr: std::net::SocketAddr) -> (Scrape, String) {
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let scrape = Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
    (scrape, body)
}

/// `promtool check metrics` on `text`, when the tool is installed.
fn promtool_check(text: &str) {
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("skipped: promtool not found (Debian package `prometheus`)");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn counters_follow_real_chat_traffic() {
    let dir = TempDir::new("metrics");
    let metrics = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = metrics.local_addr().unwrap();
    let server = TestServer::start(confab_server::Config {
        metrics_listener: Some(Arc::new(metrics)),
        ..TestServer::persistent_config(dir.path())
    })
    .await;
    let mut alice = Client::login(server.addr, "alice").await;
    // Ready: the store is open and the listener bound.
    assert_eq!(get(metrics_addr, "/readyz").await.0, "HTTP/1.1 200 OK");
    assert_eq!(get(metrics_addr, "/healthz").await.0, "HTTP/1.1 200 OK");
    assert_eq!(get(metrics_addr, "/nope").await.0, "HTTP/1.1 404 Not Found");
    let (before, _) = scrape(metrics_addr).await;

    let mut bob = Client::login(server.addr, "bob").await;
    let mut carol = Client::login(server.addr, "carol").await;
    for n in 0..3 {
        let client_ref = alice.say("lobby", &format!("hello {n}")).await;
        assert_eq!(alice.expect_ack(client_ref).await.client_ref, client_ref);
        for receiver in [&mut bob, &mut carol] {
            assert_eq!(
                receiver.expect_message().await.body.as_str(),
                format!("hello {n}")
            );
        }
    }
    alice.say("elsewhere", "not joined").await;
    alice.expect_error(ErrorCode::NOT_IN_ROOM).await;
    let (mut dave, _) = Client::connect(server.addr).await;
    dave.hello().await;
    let rejected = dave
        .try_login(LoginMode::Guest, "admin", "")
        .await
        .expect_err("a reserved name");
    assert_eq!(rejected.code, ErrorCode::NAME_RESERVED);

    let (after, text) = scrape(metrics_addr).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert_eq!(moved("confab_logins_total", &[]), 2.0, "bob and carol");
    assert_eq!(moved("confab_messages_accepted_total", &[]), 3.0);
    assert_eq!(moved("confab_deliveries_total", &[]), 6.0, "3 messages × 2");
    let not_in_room = [("reason", "NOT_IN_ROOM")];
    assert_eq!(moved("confab_messages_refused_total", &not_in_room), 1.0);
    assert_eq!(
        moved("confab_errors_sent_total", &[("code", "NOT_IN_ROOM")]),
        1.0
    );
    let reserved = [("reason", "NAME_RESERVED")];
    assert_eq!(moved("confab_login_failures_total", &reserved), 1.0);
    assert!(moved("confab_received_bytes_total", &[]) > 0.0);
    assert!(moved("confab_sent_bytes_total", &[]) > 0.0);
    assert!(moved("confab_outbound_queue_depth", &[]) > 0.0);
    assert!(moved("confab_store_batch_size", &[]) >= 1.0, "stored");
    assert!(value(&after, "confab_store_commit_seconds", &[]) >= 1.0);
    let state = |s: &str| value(&after, "confab_connections", &[("state", s)]);
    assert_eq!((state("logged_in"), state("handshake")), (3.0, 1.0));
    assert_eq!(value(&after, "confab_build_info", &[]), 1.0);
    promtool_check(&text);

    for client in [alice, bob, carol] {
        client.quit().await;
    }
    drop(dave);
    server.finish().await;
}

#[test]
fn json_log_lines_are_json_objects() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_confab-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
            "--log-format",
            "json",
        ])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // Read until the listening line: the server writes it once ready.
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let parsed: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let message = parsed["fields"]["message"].as_str().unwrap_or_default();
        assert_eq!(parsed["level"], "INFO", "{line}");
        seen.push(message.to_string());
        if message.contains("listening on") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().any(|m| m.contains("listening on")),
        "no listening line in {seen:?}"
    );
}
