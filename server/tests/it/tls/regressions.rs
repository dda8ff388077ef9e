//! Regressions: server bugs this suite found (fixed in 3658b3c).

use super::*;

/// A client that is slow to start TLS: the TLS handshake happens just before
/// the handshake timeout, then the client sends nothing. HANDSHAKE-8 counts
/// `handshake_timeout_ms` from the accept. (The server used to restart the
/// clock when the TLS handshake ended, so such a client held its place for
/// up to twice the timeout.)
#[tokio::test]
async fn the_tls_handshake_counts_against_the_login_deadline() {
    // spec: HANDSHAKE-8
    let (server, _dir, connector) = tls_server(|c| c.handshake_timeout_ms = 1_000).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let accepted = Instant::now();
    // The client dawdles before its ClientHello (well within the timeout).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let tls = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("the TLS handshake completes within the handshake timeout");
    let mut conn = Client::new(tls, "dawdler");
    let (frames, ending) = conn.read_to_end_within(PATIENCE).await;
    let held = accepted.elapsed();
    assert!(
        matches!(frames.first(), Some(Frame::Greeting(_))),
        "{frames:?}"
    );
    assert_fatal_end(
        "dawdler",
        &frames[1..],
        &ending,
        ErrorCode::HANDSHAKE_TIMEOUT,
    );
    assert!(
        held < Duration::from_millis(1_400),
        "HANDSHAKE-8: no WELCOME within handshake_timeout_ms (1000 ms) of the accept must \
         close the connection, but the server held it {held:?}: is the login deadline \
         counted from the end of the TLS handshake instead of from the accept?"
    );
    server.finish().await;
}

/// Past a connection limit, a TLS client must still be able to read why:
/// the ERROR belongs inside TLS like every other Confab byte. (The server
/// used to write it in the clear, which the client's TLS layer rejects as a
/// corrupt record.)
#[tokio::test]
async fn a_refused_tls_client_reads_server_full_inside_tls() {
    // spec: LIMIT-1, TRANSPORT-2
    let (server, _dir, connector) = tls_server(|c| c.max_connections = 1).await;
    let holder = tls_login(server.addr, &connector, "holder", Hello::NO_AUTO_JOIN).await;
    let mut newcomer = match tls_connect(server.addr, &connector).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "LIMIT-1 with TRANSPORT-2: a refused TLS client must read ERROR SERVER_FULL inside \
             TLS, but its TLS handshake failed ({e}): was the ERROR written in the clear?"
        ),
    };
    let (frames, ending) = newcomer.read_to_end_within(PATIENCE).await;
    assert_fatal_end(
        "refused TLS client",
        &frames,
        &ending,
        ErrorCode::SERVER_FULL,
    );
    drop(holder);
    server.finish().await;
}

/// Chat over TLS is as prompt as over plain TCP. (The server used to turn
/// off Nagle's algorithm for plain TCP only, so over TLS every other small
/// frame waited for the peer's delayed ACK, about 40 ms on Linux.)
#[tokio::test]
async fn tls_frames_are_not_held_back_by_nagle() {
    let (server, _dir, connector) = tls_server(|_| {}).await;
    let (mut a, mut b) = tls_pair(server.addr, &connector, "nagle").await;
    let latencies = chat_round(&mut a, &mut b, "lobby", 20).await;
    let slow: Vec<Duration> = latencies
        .iter()
        .copied()
        .filter(|l| *l > Duration::from_millis(20))
        .collect();
    assert!(
        slow.len() <= 2,
        "{} of 20 TLS messages took over 20 ms ({slow:?}); over plain TCP none does: is \
         TCP_NODELAY missing under TLS?",
        slow.len()
    );
    drop((a, b));
    server.finish().await;
}
