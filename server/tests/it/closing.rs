//! How long the server keeps a closing connection: a peer that stops reading
//! does not hold it, or its place in the server's counts, for ever.

use crate::common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::*;
use confab_protocol::frame::{Direction, Frame, Hello, HistoryKind};
use confab_protocol::ErrorCode;

/// A full history of bodies this large, asked for ten times over, is
/// megabytes: far more than the sockets' buffers hold.
const BODY_LEN: usize = 4_000;
const MESSAGES: usize = 200;
const REQUESTS: usize = 10;

/// A newcomer from the default address, if it is admitted (GREETING), or
/// `None` if it is refused for its address.
async fn admitted(addr: std::net::SocketAddr) -> Option<Client> {
    let mut newcomer = Client::connect_raw(addr).await;
    match newcomer.recv().await {
        Frame::Greeting(_) => Some(newcomer),
        Frame::ErrorFrame(e) if e.code == ErrorCode::TOO_MANY_CONNECTIONS => None,
        other => panic!("expected GREETING or TOO_MANY_CONNECTIONS, got {other:?}"),
    }
}

#[tokio::test]
async fn a_closing_peer_that_never_reads_is_dropped_after_the_grace() {
    // spec: CLOSE-4
    let server = TestServer::with(|c| c.max_per_ip = 1).await;
    let elsewhere = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut talker = Client::connect_from(server.addr, elsewhere).await;
    talker.expect_greeting().await;
    talker.login_as("talker", Hello::NO_AUTO_JOIN).await;
    talker.enter("deep", 0, 0).await;
    let body = "x".repeat(BODY_LEN);
    for _ in 0..MESSAGES {
        let client_ref = talker.say("deep", &body).await;
        talker.expect_ack(client_ref).await;
    }

    // A client with a tiny receive window asks for all of it, many times,
    // says goodbye and never reads again: megabytes stay queued.
    let mut silent = Client::connect_small_buffer(server.addr, 4096).await;
    silent.expect_greeting().await;
    silent.login_as("silent", Hello::NO_AUTO_JOIN).await;
    // Sending waits while the server does not read, so it is bounded: a
    // server that stopped reading fails the test instead of hanging it.
    let requests = async {
        silent.join("deep", 0, MESSAGES as u16).await;
        for _ in 1..REQUESTS {
            let page = MESSAGES as u16;
            silent
                .history(HistoryKind::Room, "deep", Direction::Before, 0, page)
                .await;
        }
        silent.goodbye().await;
    };
    tokio::time::timeout(PATIENCE, requests)
        .await
        .expect("the server takes the silent client's requests and GOODBYE");

    // While the server still tries to deliver, the connection counts.
    assert!(
        admitted(server.addr).await.is_none(),
        "the silent client's connection should still count while its frames are written"
    );
    // Within the grace (5 s) plus the time to close, its place is free,
    // though the silent client is still connected and still not reading.
    // Its GOODBYE is processed only once the server has given up on the
    // HISTORY answers before it (5 s without reading, `[MEM-2]`), and the
    // SLOW_CONSUMER error then gets its own grace: 25 s leaves room for both.
    let deadline = Instant::now() + Duration::from_secs(25);
    let mut attempts = 0;
    let mut newcomer = loop {
        attempts += 1;
        if let Some(newcomer) = admitted(server.addr).await {
            break newcomer;
        }
        assert!(
            Instant::now() < deadline,
            "still refused after {attempts} attempts: the closing connection was kept"
        );
        // Nothing tells a refused client when the place frees up: ask again.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(silent);
    newcomer.login_as("after", Hello::NO_AUTO_JOIN).await;
    newcomer.enter("deep", 0, 0).await;
    chat_works(&mut talker, &mut newcomer, "deep", "after the silent one").await;
    server.finish().await;
}
