//! `[LIMIT-9]`: every frame a server sends fits its own `max_frame`: the
//! configurations that would break it are refused at start, stored messages
//! included, and the largest allowed one relays, replays and answers HISTORY
//! within it.

use crate::common;

use common::{run_binary_to_exit, Client, TempDir, TestServer, PATIENCE};
use confab_protocol::fit;
use confab_protocol::frame::{Direction, Frame, Hello, HistoryKind};
use confab_server::Config;

/// `max_frame` 4,096 with the default name limits (64-byte rooms,
/// 32-byte users) leaves 3,971 bytes for a body (`[LIMIT-9]`).
const TIGHT_FRAME: u32 = 4096;
const TIGHT_BODY: u16 = 4096 - 29 - 64 - 32;

fn tight(c: &mut Config) {
    c.max_frame = TIGHT_FRAME;
    c.max_body = TIGHT_BODY;
}

/// A client that, like any client following FRAMING-2, refuses frames above
/// the advertised `max_frame`.
async fn strict_login(server: &TestServer, name: &str) -> Client {
    let mut client = Client::login_flags(server.addr, name, Hello::NO_AUTO_JOIN).await;
    client.framed.codec_mut().set_max_frame(TIGHT_FRAME);
    client
}

#[tokio::test]
async fn the_largest_message_of_the_largest_allowed_config_fits_max_frame() {
    // spec: LIMIT-9, FRAMING-2, ROOM-2, HISTORY-1, HISTORY-2
    let server = TestServer::with(tight).await;
    let room = "r".repeat(64);
    let (a, b, c) = ("a".repeat(32), "b".repeat(32), "c".repeat(32));
    let mut alice = strict_login(&server, &a).await;
    let mut bob = strict_login(&server, &b).await;
    alice.enter(&room, 0, 0).await;
    bob.enter(&room, 0, 0).await;
    let body = "x".repeat(usize::from(TIGHT_BODY));

    // Live: the MESSAGE body is exactly max_frame.
    let sent = alice.say(&room, &body).await;
    alice.expect_ack(sent).await;
    let message = Frame::Message(bob.expect_message().await);
    assert_eq!(message.body_len(), TIGHT_FRAME as usize);

    // Direct: smaller than the MESSAGE, and it fits too.
    let sent = alice.dm(&b, &body).await;
    alice.expect_ack(sent).await;
    let direct = bob.recv_skipping_presence().await;
    assert!(matches!(direct, Frame::DirectMessage(_)), "{direct:?}");
    assert!(direct.body_len() <= TIGHT_FRAME as usize);

    // Replayed after JOIN, and answered to HISTORY (room and direct): the
    // strict codecs would fail the test on any frame above max_frame.
    let mut carol = strict_login(&server, &c).await;
    let (_, replay) = carol.enter(&room, 0, 10).await;
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0].body_len(), TIGHT_FRAME as usize);
    carol
        .history(HistoryKind::Room, &room, Direction::Before, 0, 0)
        .await;
    let answer = carol.recv_skipping_presence().await;
    assert_eq!(answer.body_len(), TIGHT_FRAME as usize, "{answer:?}");
    assert!(matches!(
        carol.recv_skipping_presence().await,
        Frame::HistoryEnd(end) if end.count == 1
    ));
    bob.history(HistoryKind::Direct, &a, Direction::Before, 0, 0)
        .await;
    assert!(matches!(
        bob.recv_skipping_presence().await,
        Frame::DirectMessage(_)
    ));
    assert!(matches!(
        bob.recv_skipping_presence().await,
        Frame::HistoryEnd(end) if end.count == 1
    ));
    drop((alice, bob, carol));
    server.finish().await;
}

#[tokio::test]
async fn an_embedded_server_refuses_limits_whose_messages_would_not_fit() {
    // spec: LIMIT-9
    // The configuration of issue 13: a 4,096-byte body in a 4,096-byte frame.
    let server = TestServer::with(|c| c.max_frame = TIGHT_FRAME).await;
    let refused = tokio::time::timeout(PATIENCE, server.handle)
        .await
        .expect("the server returns at once")
        .unwrap();
    let error = refused.expect_err("the server must not start").to_string();
    assert!(error.contains("--max-frame 4096"), "{error}");
    assert!(error.contains("--max-body 4096"), "{error}");
    assert!(error.contains("4221"), "names the largest MESSAGE: {error}");
}

#[test]
fn the_binary_refuses_one_byte_over_the_limit_at_start() {
    // spec: LIMIT-9
    let over = (TIGHT_BODY + 1).to_string();
    let (status, stderr) = run_binary_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--in-memory",
        "--max-frame",
        "4096",
        "--max-body",
        &over,
    ]);
    assert!(!status.success(), "exit status {status:?}: {stderr}");
    for flag in [
        "--max-frame",
        "--max-body",
        "--max-username",
        "--max-room-name",
    ] {
        assert!(stderr.contains(flag), "stderr names {flag}: {stderr:?}");
    }
    assert!(stderr.contains("LIMIT-9"), "{stderr:?}");

    // Long user names and short room names: the DIRECT_MESSAGE is the larger.
    let limits = confab_protocol::Limits {
        max_frame: 4096,
        max_username: 255,
        max_room_name: 8,
        max_body: 4096 - 21 - 2 * 255,
        ..confab_protocol::Limits::default()
    };
    assert!(fit::frames_fit(&limits));
    let over = (limits.max_body + 1).to_string();
    let (status, stderr) = run_binary_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--in-memory",
        "--max-frame",
        "4096",
        "--max-username",
        "255",
        "--max-room-name",
        "8",
        "--max-body",
        &over,
    ]);
    assert!(!status.success(), "exit status {status:?}: {stderr}");
    assert!(stderr.contains("DIRECT_MESSAGE"), "{stderr:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_holding_messages_too_large_for_max_frame_is_refused() {
    // spec: LIMIT-9, HISTORY-4
    let dir = TempDir::new("frame-fit");
    let roomy = Config {
        max_body: 8_000,
        ..TestServer::persistent_config(dir.path())
    };
    let server = TestServer::start(roomy.clone()).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let sent = alice.say("lobby", &"x".repeat(8_000)).await;
    alice.expect_ack(sent).await;
    drop(alice);
    server.stop().await;

    // The new limits fit each other, but not the stored message.
    let server = TestServer::start(Config {
        max_frame: TIGHT_FRAME,
        max_body: TIGHT_BODY,
        ..roomy.clone()
    })
    .await;
    let refused = tokio::time::timeout(PATIENCE, server.handle)
        .await
        .expect("the server returns at once")
        .unwrap();
    let error = refused.expect_err("the server must not start").to_string();
    let needed = 29 + "lobby".len() + "alice".len() + 8_000;
    assert!(error.contains(&format!("{needed}-byte")), "{error}");
    assert!(error.contains("--max-frame"), "{error}");

    // With room for it, the same store serves again.
    let server = TestServer::start(roomy).await;
    let mut bob = Client::login_flags(server.addr, "bob", Hello::NO_AUTO_JOIN).await;
    let (_, replay) = bob.enter("lobby", 0, 1).await;
    assert_eq!(replay[0].body_len(), needed);
    drop(bob);
    server.stop().await;
}
