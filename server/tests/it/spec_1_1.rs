//! Rules added or settled by spec 1.1 (issue 13): the spelling of reported
//! names, HISTORY_END `MORE` after a JOIN, and requests pipelined after LOGIN.

use crate::common;

use common::{Client, TestServer};
use confab_protocol::frame::{
    Direction, Frame, Hello, HistoryEnd, HistoryKind, LoginMode, WhoList,
};

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
    Frame::SendMessage(confab_protocol::frame::SendMessage {
        client_ref,
        room: confab_protocol::Str8::new(room).unwrap(),
        body: confab_protocol::Str16::new(body).unwrap(),
    })
}
