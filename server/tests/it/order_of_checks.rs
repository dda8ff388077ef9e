//! Spec 1.1, section 6.1: the first frame (`[STATE-1]`), TLS and HTTP/2 on a
//! plain port (`[TRANSPORT-4]`), and one order of checks for frames
//! (`[STATE-6]`) and requests (`[STATE-7]`), each row over a real socket.

use crate::common;

use common::{raw_frame, Client, ServerProcess, TestServer};
use confab_protocol::frame::{
    code, Direction, ErrorFrame, Frame, Goodbye, Hello, HistoryKind, LoginMode, Ping,
};
use confab_protocol::ErrorCode;

/// An ERROR from the client; its FATAL flag follows the registry.
fn error(code: ErrorCode) -> Frame {
    Frame::ErrorFrame(ErrorFrame::new(code, code::GREETING, 0, "from the client"))
}

#[tokio::test]
async fn goodbye_or_a_fatal_error_first_closes_without_an_answer() {
    // spec: STATE-1, STATE-4, VERSION-4
    let server = TestServer::with(|_| {}).await;
    let (mut client, _) = Client::connect(server.addr).await;
    client
        .send(Frame::Goodbye(Goodbye::new(
            ErrorCode::UNSUPPORTED_VERSION,
            "I speak version 2 only",
        )))
        .await;
    assert_eq!(client.expect_closed().await, Vec::<Frame>::new());

    let (mut client, _) = Client::connect(server.addr).await;
    client.send(error(ErrorCode::MALFORMED_FRAME)).await;
    assert_eq!(client.expect_closed().await, Vec::<Frame>::new());
    server.finish().await;
}

#[tokio::test]
async fn a_non_fatal_error_first_leaves_the_server_awaiting_hello() {
    // spec: STATE-1, ERROR-2
    let server = TestServer::with(|_| {}).await;
    let (mut client, _) = Client::connect(server.addr).await;
    client.send(error(ErrorCode::UNKNOWN_FRAME_TYPE)).await;
    // Still the first frame: a PING now is NOT_CONFAB, judged as the first.
    client.send(Frame::Ping(Ping { nonce: 1 })).await;
    let answer = client.expect_fatal_then_close(ErrorCode::NOT_CONFAB).await;
    assert_eq!(answer.frame_type, code::PING);

    let (mut client, _) = Client::connect(server.addr).await;
    client.send(error(ErrorCode::UNKNOWN_FRAME_TYPE)).await;
    client.login_as("alice", 0).await;
    server.finish().await;
}

#[tokio::test]
async fn a_first_frame_is_judged_by_its_type_alone() {
    // spec: STATE-1, STATE-6
    let server = TestServer::with(|_| {}).await;
    // A PING whose body is 3 bytes, not 8: NOT_CONFAB, not MALFORMED_FRAME.
    let mut client = Client::connect_raw(server.addr).await;
    client.expect_greeting().await;
    client.write_raw(&raw_frame(code::PING, b"abc")).await;
    let answer = client.expect_fatal_then_close(ErrorCode::NOT_CONFAB).await;
    assert_eq!((answer.frame_type, answer.client_ref), (code::PING, 0));

    // A well-formed SEND first: its client_ref is not read.
    let (mut client, _) = Client::connect(server.addr).await;
    client.say("lobby", "hi").await;
    let answer = client.expect_fatal_then_close(ErrorCode::NOT_CONFAB).await;
    assert_eq!((answer.frame_type, answer.client_ref), (code::SEND, 0));
    server.finish().await;
}

#[tokio::test]
async fn a_malformed_server_frame_from_a_client_is_unexpected_not_fatal() {
    // spec: STATE-6, STATE-2
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    // A WELCOME cut short and a MESSAGE of two 0xFF bytes: wrong direction,
    // so the bodies are not examined.
    alice.write_raw(&raw_frame(code::WELCOME, b"\x05al")).await;
    let answer = alice.expect_error(ErrorCode::UNEXPECTED_FRAME).await;
    assert_eq!(answer.frame_type, code::WELCOME);
    alice
        .write_raw(&raw_frame(code::MESSAGE, b"\xff\xff"))
        .await;
    let answer = alice.expect_error(ErrorCode::UNEXPECTED_FRAME).await;
    assert_eq!(answer.frame_type, code::MESSAGE);
    common::chat_works(&mut alice, &mut bob, "lobby", "still connected").await;

    // A client-to-server frame is decoded first: a malformed SEND is fatal.
    alice
        .write_raw(&raw_frame(code::SEND, b"\x00\x00\x00\x07\x00\x00\x00\xaa"))
        .await;
    alice
        .expect_fatal_then_close(ErrorCode::MALFORMED_FRAME)
        .await;
    drop(bob);
    server.finish().await;
}

/// The start of a real TLS 1.3 ClientHello: record type 22, version 3.1.
const CLIENT_HELLO: &[u8] = &[
    0x16, 0x03, 0x01, 0x00, 0xf4, 0x01, 0x00, 0x00, 0xf0, 0x03, 0x03, 0x11, 0x22,
];

#[test]
fn a_tls_client_hello_on_a_plain_port_is_not_confab_and_logged_so() {
    // spec: TRANSPORT-4, STATE-6, VERSION-5
    // Input that ends a connection before login is logged at debug level
    // (scanners must not flood the log): ask for it.
    let process = ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--in-memory",
        "--log",
        "confab_server=debug",
    ]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (mut client, _) = Client::connect(process.addr).await;
        client.write_raw(CLIENT_HELLO).await;
        let answer = client.expect_fatal_then_close(ErrorCode::NOT_CONFAB).await;
        assert_eq!((answer.frame_type, answer.client_ref), (0, 0));
        assert!(answer.message.contains("TLS"), "{:?}", answer.message);
    });
    let log = process.log_text_with("NOT_CONFAB");
    assert!(log.contains("NOT_CONFAB"), "{log}");
    assert!(!log.contains("FRAME_TOO_LARGE"), "{log}");
    assert!(!log.contains("exceeds the limit"), "{log}");
}

#[tokio::test]
async fn tls_is_only_detected_at_the_start_and_http2_is_ascii() {
    // spec: TRANSPORT-4, FRAMING-2, FRAMING-4, VERSION-5
    let server = TestServer::with(|_| {}).await;
    // After HELLO, 16 03 is a DIRECT header with a length above max_frame.
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    client.write_raw(CLIENT_HELLO).await;
    client
        .expect_fatal_then_close(ErrorCode::FRAME_TOO_LARGE)
        .await;

    let (mut client, _) = Client::connect(server.addr).await;
    client.write_raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    let answer = client.expect_fatal_then_close(ErrorCode::NOT_CONFAB).await;
    assert_eq!(answer.frame_type, 0);
    server.finish().await;
}

#[tokio::test]
async fn login_checks_follow_the_table() {
    // spec: STATE-7, HANDSHAKE-6
    let server = TestServer::with(|_| {}).await;
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    // A guest with a password and an invalid name: the mode is judged first.
    let rejected = client
        .try_login(LoginMode::Guest, "a b", "secret")
        .await
        .unwrap_err();
    assert_eq!(rejected.code, ErrorCode::AUTH_FAILED);
    // An account login with an invalid name on a server without accounts.
    let rejected = client
        .try_login(LoginMode::Login, "a b", "secret")
        .await
        .unwrap_err();
    assert_eq!(rejected.code, ErrorCode::ACCOUNTS_UNAVAILABLE);
    server.finish().await;
}

#[tokio::test]
async fn message_checks_judge_the_body_before_the_target() {
    // spec: STATE-7, MSG-6, DM-2, DM-3
    let server = TestServer::with(|c| c.max_body = 16).await;
    let mut alice = Client::login(server.addr, "alice").await;
    for (room, body, code) in [
        ("elsewhere", " \t", ErrorCode::EMPTY_MESSAGE),
        ("elsewhere", "seventeen bytes!!", ErrorCode::BODY_TOO_LONG),
        ("a b", "hi", ErrorCode::NOT_IN_ROOM),
        ("elsewhere", "hi", ErrorCode::NOT_IN_ROOM),
    ] {
        let sent = alice.say(room, body).await;
        let answer = alice.expect_error(code).await;
        assert_eq!((answer.frame_type, answer.client_ref), (code::SEND, sent));
    }
    for (to, body, code) in [
        ("nobody", "", ErrorCode::EMPTY_MESSAGE),
        ("nobody", "seventeen bytes!!", ErrorCode::BODY_TOO_LONG),
        ("a b", "hi", ErrorCode::NO_SUCH_USER),
        ("/x", "hi", ErrorCode::NO_SUCH_USER),
        ("alice", "hi", ErrorCode::NO_SUCH_USER),
        ("nobody", "hi", ErrorCode::NO_SUCH_USER),
    ] {
        let sent = alice.dm(to, body).await;
        let answer = alice.expect_error(code).await;
        assert_eq!((answer.frame_type, answer.client_ref), (code::DIRECT, sent));
    }
    server.finish().await;
}

#[tokio::test]
async fn room_checks_answer_invalid_names_as_names_of_nothing() {
    // spec: STATE-7, ROOM-1, ROOM-4, ROOM-5, PRESENCE-1, HISTORY-1
    let server = TestServer::with(|c| c.max_rooms = 1).await;
    let mut alice = Client::login(server.addr, "alice").await;
    // At max_rooms (lobby), an invalid name is ROOM_INVALID, a valid one TOO_MANY_ROOMS.
    alice.join("a b", 0, 0).await;
    alice.expect_error(ErrorCode::ROOM_INVALID).await;
    alice.join("second", 0, 0).await;
    alice.expect_error(ErrorCode::TOO_MANY_ROOMS).await;
    alice.who("a b").await;
    alice.expect_error(ErrorCode::NO_SUCH_ROOM).await;
    alice.leave("a b").await;
    alice.expect_error(ErrorCode::NOT_IN_ROOM).await;
    alice
        .history(HistoryKind::Room, "a b", Direction::Before, 0, 0)
        .await;
    alice.expect_error(ErrorCode::NOT_IN_ROOM).await;
    // Still usable: no check above was fatal.
    alice.who("lobby").await;
    assert!(matches!(
        alice.recv_skipping_presence().await,
        Frame::WhoList(_)
    ));
    server.finish().await;
}

#[tokio::test]
async fn direct_history_with_oneself_or_nobody_is_empty_not_an_error() {
    // spec: STATE-7, HISTORY-2
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login_flags(server.addr, "alice", Hello::NO_AUTO_JOIN).await;
    for target in ["alice", "nobody", "a b", ""] {
        alice
            .history(HistoryKind::Direct, target, Direction::Before, 0, 0)
            .await;
        match alice.recv_skipping_presence().await {
            Frame::HistoryEnd(end) => {
                assert_eq!(
                    (end.kind, end.count, end.flags),
                    (HistoryKind::Direct, 0, 0)
                );
                assert_eq!(end.target, target);
            }
            other => panic!("HISTORY kind 1 for {target:?}: {other:?}"),
        }
    }
    server.finish().await;
}

#[tokio::test]
async fn bodies_that_show_nothing_are_empty_messages() {
    // spec: TYPES-5, MSG-6, DM-3
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    for body in [
        " ",
        "\u{3000}\u{85}",
        "\u{200B}",
        "\u{FEFF}\u{2060}",
        "\u{200E}\u{202E} ",
    ] {
        let sent = alice.say("lobby", body).await;
        let answer = alice.expect_error(ErrorCode::EMPTY_MESSAGE).await;
        assert_eq!(answer.client_ref, sent, "{body:?}");
        let sent = alice.dm("bob", body).await;
        let answer = alice.expect_error(ErrorCode::EMPTY_MESSAGE).await;
        assert_eq!(answer.client_ref, sent, "{body:?}");
    }
    // Visible text among them is a message.
    common::chat_works(&mut alice, &mut bob, "lobby", "\u{200B}hi\u{200B}").await;
    server.finish().await;
}
