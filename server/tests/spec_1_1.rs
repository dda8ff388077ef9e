//! Rules added or settled by spec 1.1 (issue 13): the limits that make every
//! server frame fit `max_frame`, the first frame, the order of checks, the
//! spelling of reported names, and the other former gaps.

mod common;

use common::{run_binary_to_exit, Client, TestServer, PATIENCE};
use confab_protocol::fit;
use confab_protocol::frame::{
    Direction, Frame, Hello, HistoryEnd, HistoryKind, LoginMode, WhoList,
};
use confab_server::Config;

/// `max_frame` 4,096 with the default name limits (64-byte rooms,
/// 32-byte users) leaves 3,971 bytes for a body (`[LIMIT-3]`).
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
    // spec: LIMIT-3, FRAMING-2, ROOM-2, HISTORY-1, HISTORY-2
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
    // spec: LIMIT-3
    // The configuration of issue 13: a 4,096-byte body in a 4,096-byte frame.
    let server = TestServer::with(|c| c.max_frame = TIGHT_FRAME).await;
    let refused = tokio::time::timeout(PATIENCE, server.handle)
        .await
        .expect("the server returns at once")
        .unwrap();
    let error = refused.expect_err("the server must not start");
    assert!(error.contains("--max-frame 4096"), "{error}");
    assert!(error.contains("--max-body 4096"), "{error}");
    assert!(error.contains("4221"), "names the largest MESSAGE: {error}");
}

#[test]
fn the_binary_refuses_one_byte_over_the_limit_at_start() {
    // spec: LIMIT-3
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
    assert!(stderr.contains("LIMIT-3"), "{stderr:?}");

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

#[tokio::test]
async fn rooms_and_users_are_reported_in_their_canonical_spelling() {
    // spec: NAMES-1, ROOM-1, SEC-3
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login_flags(server.addr, "Alice", Hello::NO_AUTO_JOIN).await;
    let mut bob = Client::login_flags(server.addr, "bob", Hello::NO_AUTO_JOIN).await;
    alice.enter("Rust", 0, 0).await;
    // JOINED: the creator's spelling, whatever the joiner typed.
    bob.join("rUST", 0, 5).await;
    match bob.recv_skipping_presence().await {
        Frame::Joined(joined) => assert_eq!(joined.room, "Rust"),
        other => panic!("{other:?}"),
    }
    match bob.recv_skipping_presence().await {
        Frame::HistoryEnd(end) => assert_eq!(end.target, "Rust"),
        other => panic!("{other:?}"),
    }
    // MESSAGE: room and sender as the server knows them.
    let sent = bob.say("RUST", "hi").await;
    bob.expect_ack(sent).await;
    let message = alice.expect_message().await;
    assert_eq!(
        (message.room.as_str(), message.sender.as_str()),
        ("Rust", "bob")
    );
    // WHO_LIST and HISTORY_END: not the request's spelling.
    bob.who("rust").await;
    match bob.recv_skipping_presence().await {
        Frame::WhoList(list) => {
            assert_eq!(list.room, "Rust");
            let users: Vec<&str> = list.users.iter().map(|u| u.as_str()).collect();
            assert_eq!(users, ["Alice", "bob"]);
        }
        other => panic!("{other:?}"),
    }
    bob.history(HistoryKind::Room, "RuSt", Direction::Before, 0, 0)
        .await;
    assert!(matches!(
        bob.recv_skipping_presence().await,
        Frame::Message(_)
    ));
    match bob.recv_skipping_presence().await {
        Frame::HistoryEnd(end) => assert_eq!(end.target, "Rust"),
        other => panic!("{other:?}"),
    }
    let sent = bob.dm("ALICE", "psst").await;
    bob.expect_ack(sent).await;
    bob.history(HistoryKind::Direct, "aLiCe", Direction::Before, 0, 0)
        .await;
    match bob.recv_skipping_presence().await {
        Frame::DirectMessage(dm) => {
            assert_eq!((dm.from.as_str(), dm.to.as_str()), ("bob", "Alice"))
        }
        other => panic!("{other:?}"),
    }
    match bob.recv_skipping_presence().await {
        Frame::HistoryEnd(end) => assert_eq!(end.target, "Alice"),
        other => panic!("{other:?}"),
    }
    // LEFT.
    bob.leave("RUST").await;
    match bob.recv_skipping_presence().await {
        Frame::Left(left) => assert_eq!(left.room, "Rust"),
        other => panic!("{other:?}"),
    }
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn an_account_is_welcomed_as_it_was_registered() {
    // spec: NAMES-1, HANDSHAKE-6
    let dir = common::TempDir::new("names");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (carol, welcome) =
        Client::login_account(server.addr, LoginMode::Register, "Carol", "pw").await;
    assert_eq!(welcome.username, "Carol");
    carol.quit().await;
    let (again, welcome) =
        Client::login_account(server.addr, LoginMode::Login, "CAROL", "pw").await;
    assert_eq!(welcome.username, "Carol");
    // Offline accounts too: HISTORY_END names the account as registered.
    let mut dave = Client::login(server.addr, "dave").await;
    again.quit().await;
    dave.history(HistoryKind::Direct, "cAROL", Direction::Before, 0, 0)
        .await;
    match dave.recv_skipping_presence().await {
        Frame::HistoryEnd(end) => assert_eq!(end.target, "Carol"),
        other => panic!("{other:?}"),
    }
    drop(dave);
    server.finish().await;
}

/// Everything a JOIN draws for `client` (PRESENCE skipped): JOINED's
/// next_seq, the replayed seqs, HISTORY_END's count and MORE bit, and the
/// MISSED range if one follows (a WHO after the JOIN marks the end).
async fn join_answer(
    client: &mut Client,
    room: &str,
    since_seq: u64,
    history: u16,
) -> (u64, Vec<u64>, (u16, bool), Option<(u64, u64)>) {
    client.join(room, since_seq, history).await;
    client.who(room).await;
    let next_seq = match client.recv_skipping_presence().await {
        Frame::Joined(joined) => joined.next_seq,
        other => panic!("expected JOINED, got {other:?}"),
    };
    let mut replay = Vec::new();
    let end = loop {
        match client.recv_skipping_presence().await {
            Frame::Message(m) => replay.push(m.seq),
            Frame::HistoryEnd(end) => break (end.count, end.flags & HistoryEnd::MORE != 0),
            other => panic!("expected the replay, got {other:?}"),
        }
    };
    let mut missed = None;
    loop {
        match client.recv_skipping_presence().await {
            Frame::Missed(m) => missed = Some((m.from_seq, m.to_seq)),
            Frame::WhoList(list) if list.flags & WhoList::MORE == 0 => break,
            Frame::WhoList(_) => {}
            other => panic!("expected MISSED or WHO_LIST, got {other:?}"),
        }
    }
    (next_seq, replay, end, missed)
}

#[tokio::test]
async fn more_after_a_join_replay_means_unreplayed_messages_after_since_seq() {
    // spec: ROOM-7, ROOM-8, ROOM-2, ROOM-3
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login_flags(server.addr, "alice", Hello::NO_AUTO_JOIN).await;
    let mut bob = Client::login_flags(server.addr, "bob", Hello::NO_AUTO_JOIN).await;
    // An empty room: nothing to replay, no MORE even with history 0.
    assert_eq!(
        join_answer(&mut alice, "news", 0, 0).await,
        (1, vec![], (0, false), None)
    );
    for body in ["one", "two", "three"] {
        let sent = alice.say("news", body).await;
        alice.expect_ack(sent).await;
    }
    // history 0: MORE whenever the room has had a message after since_seq.
    assert_eq!(
        join_answer(&mut bob, "news", 0, 0).await,
        (4, vec![], (0, true), None)
    );
    assert_eq!(
        join_answer(&mut bob, "news", 3, 0).await,
        (4, vec![], (0, false), None)
    );
    // A partial replay: MORE, and MISSED for the same messages.
    assert_eq!(
        join_answer(&mut bob, "news", 1, 1).await,
        (4, vec![3], (1, true), Some((2, 2)))
    );
    assert_eq!(
        join_answer(&mut bob, "news", 0, 10).await,
        (4, vec![1, 2, 3], (3, false), None)
    );
    // since_seq beyond the newest: not an error, nothing replayed or missed.
    assert_eq!(
        join_answer(&mut bob, "news", 99, 10).await,
        (4, vec![], (0, false), None)
    );
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn requests_pipelined_after_login_follow_the_whole_automatic_join() {
    // spec: STATE-8, STATE-5, HANDSHAKE-7, STATE-2
    let server = TestServer::with(|_| {}).await;
    let _bob = Client::login(server.addr, "bob").await;
    let mut client = Client::connect_raw(server.addr).await;
    client.hello().await;
    // A rejected LOGIN, a JOIN, an accepted LOGIN, a JOIN and a SEND, in one write.
    let mut bytes = Vec::new();
    for frame in [
        common::login_frame(LoginMode::Guest, "bob", ""),
        join_frame("side"),
        common::login_frame(LoginMode::Guest, "carol", ""),
        join_frame("side"),
        send_frame(5, "lobby", "hello"),
    ] {
        bytes.extend(common::wire(&frame));
    }
    client.write_raw(&bytes).await;
    client.expect_greeting().await;
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("ACK") {
        let frame = client.recv_skipping_presence().await;
        seen.push(match &frame {
            Frame::ErrorFrame(e) => format!("ERROR {} {:#04x}", e.code, e.frame_type),
            Frame::Joined(j) => format!("JOINED {}", j.room),
            Frame::HistoryEnd(end) => format!("HISTORY_END {}", end.target),
            other => other.name().to_string(),
        });
    }
    assert_eq!(
        seen,
        [
            "LOGIN_REJECTED",
            "ERROR UNEXPECTED_FRAME 0x12",
            "WELCOME",
            "JOINED lobby",
            "HISTORY_END lobby",
            "JOINED side",
            "HISTORY_END side",
            "ACK",
        ]
    );
    server.finish().await;
}

fn join_frame(room: &str) -> Frame {
    Frame::Join(confab_protocol::frame::Join {
        room: confab_protocol::Str8::new(room).unwrap(),
        since_seq: 0,
        history: 0,
    })
}

fn send_frame(client_ref: u32, room: &str, body: &str) -> Frame {
    Frame::Send(confab_protocol::frame::Send {
        client_ref,
        room: confab_protocol::Str8::new(room).unwrap(),
        body: confab_protocol::Str16::new(body).unwrap(),
    })
}
