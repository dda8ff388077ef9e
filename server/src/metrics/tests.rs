//! The HTTP endpoint over a real socket: readiness before and after the
//! server is ready, and the answers to what it does not serve.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::http::{serve, Readiness, MAX_REQUEST};
use crate::shared::Shared;

/// The endpoint on an ephemeral loopback port, not ready yet.
async fn endpoint() -> (std::net::SocketAddr, Arc<Readiness>, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let readiness = Arc::new(Readiness::default());
    let shutdown = CancellationToken::new();
    tokio::spawn(serve(listener, Arc::clone(&readiness), shutdown.clone()));
    (addr, readiness, shutdown)
}

/// Sends `request` and reads the whole answer (the server closes).
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before taking all of an oversized request.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn status(answer: &str) -> &str {
    answer.split("\r\n").next().unwrap_or_default()
}

#[tokio::test]
async fn readiness_follows_the_server_and_health_is_always_ok() {
    let (addr, readiness, shutdown) = endpoint().await;
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes();
    let answer = exchange(addr, &get("/readyz")).await;
    assert_eq!(status(&answer), "HTTP/1.1 503 Service Unavailable");
    let answer = exchange(addr, &get("/metrics")).await;
    assert_eq!(status(&answer), "HTTP/1.1 503 Service Unavailable");
    let answer = exchange(addr, &get("/healthz")).await;
    assert_eq!(status(&answer), "HTTP/1.1 200 OK");

    readiness.set_ready(Arc::new(
        Shared::new(crate::Config::default(), None).unwrap(),
    ));
    let answer = exchange(addr, &get("/readyz")).await;
    assert_eq!(status(&answer), "HTTP/1.1 200 OK");
    let answer = exchange(addr, &get("/metrics?x=1")).await;
    assert_eq!(status(&answer), "HTTP/1.1 200 OK");
    assert!(answer.contains("confab_build_info{version="), "{answer}");
    shutdown.cancel();
}

#[tokio::test]
async fn other_paths_methods_and_oversized_requests_are_refused() {
    let (addr, _readiness, shutdown) = endpoint().await;
    let answer = exchange(addr, b"GET /admin HTTP/1.1\r\n\r\n").await;
    assert_eq!(status(&answer), "HTTP/1.1 404 Not Found");
    let answer = exchange(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
    assert_eq!(status(&answer), "HTTP/1.1 405 Method Not Allowed");
    assert!(answer.contains("\r\nAllow: GET\r\n"));
    let answer = exchange(addr, b"hello\r\n\r\n").await;
    assert_eq!(status(&answer), "HTTP/1.1 400 Bad Request");
    let mut oversized = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
    oversized.resize(MAX_REQUEST + 4096, b'a');
    let answer = exchange(addr, &oversized).await;
    assert_eq!(
        status(&answer),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_client_that_sends_nothing_is_dropped_after_the_timeout() {
    let (addr, _readiness, shutdown) = endpoint().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut answer = Vec::new();
    // With the clock paused, the read deadline passes as soon as all is idle.
    let read = stream.read_to_end(&mut answer).await;
    assert!(read.is_ok() && answer.is_empty(), "{read:?} {answer:?}");
    shutdown.cancel();
}

/// The README's table of metrics (between its `metrics:start` and
/// `metrics:end` marks): the name and type of each row.
fn documented() -> Vec<(String, String)> {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
    let start = readme.find("<!-- metrics:start").expect("the start mark");
    let end = readme.find("<!-- metrics:end -->").expect("the end mark");
    readme[start..end]
        .lines()
        .filter_map(|row| {
            let mut cells = row.split('|').map(str::trim).skip(1);
            let name = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.next()?.to_string()))
        })
        .collect()
}

#[test]
fn the_readme_lists_every_metric_with_its_type() {
    use confab_protocol::frame::{code, Frame, LoginRejected};
    use confab_protocol::{ErrorCode, Str16};
    let metrics = super::Metrics::new(Default::default(), Some(Default::default()));
    // A labelled family is written once it has a member: give each one.
    metrics.frame_sent(&Frame::LoginRejected(LoginRejected {
        code: ErrorCode::AUTH_FAILED,
        attempts_left: 1,
        message: Str16::truncated("no"),
    }));
    metrics.error_sent(ErrorCode::NOT_IN_ROOM, code::SEND);
    metrics.tls_handshake(Some("timeout"));
    let text = super::classic::from_openmetrics(&metrics.encode(Default::default()));
    let registered: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, kind)| (name.to_string(), kind.to_string()))
        .collect();
    assert_eq!(documented(), registered, "README.md's metrics table");
}
