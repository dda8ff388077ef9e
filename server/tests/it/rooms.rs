//! Rooms, presence, direct messages and history over real loopback TCP
//! (spec sections 8 to 11).

use crate::common;

use std::collections::{HashMap, HashSet};

use common::{chat_works, expect_presence, wire, Client, TestServer};
use confab_protocol::frame::{
    code, Ack, DirectMessage, Direction, Frame, Hello, HistoryEnd, HistoryKind, Joined, Message,
    PresenceEvent, SendMessage,
};
use confab_protocol::{ErrorCode, Str16, Str8};
use tokio::sync::oneshot;

/// JOIN, then JOINED (PRESENCE before it skipped), the replayed MESSAGEs
/// and HISTORY_END.
async fn join_full(
    client: &mut Client,
    room: &str,
    since_seq: u64,
    history: u16,
) -> (Joined, Vec<Message>, HistoryEnd) {
    client.join(room, since_seq, history).await;
    let joined = match client.recv_skipping_presence().await {
        Frame::Joined(joined) => joined,
        other => panic!("{}: expected JOINED {room}, got {other:?}", client.name),
    };
    let (replay, end) = history_answer(client).await;
    assert_eq!(end.kind, HistoryKind::Room);
    assert_eq!(
        end.target,
        joined.room.as_str(),
        "HISTORY_END names the room"
    );
    (joined, replay, end)
}

/// MESSAGE frames up to HISTORY_END; each must carry the HISTORY flag.
async fn history_answer(client: &mut Client) -> (Vec<Message>, HistoryEnd) {
    let mut messages = Vec::new();
    for _ in 0..70_000 {
        match client.recv().await {
            Frame::Message(m) => {
                assert_eq!(m.flags & Message::HISTORY, Message::HISTORY, "{m:?}");
                messages.push(m);
            }
            Frame::HistoryEnd(end) => {
                assert_eq!(end.count as usize, messages.len(), "count of {end:?}");
                return (messages, end);
            }
            other => panic!(
                "{}: expected MESSAGE or HISTORY_END, got {other:?}",
                client.name
            ),
        }
    }
    panic!("{}: no HISTORY_END", client.name);
}

/// DIRECT_MESSAGE frames up to HISTORY_END; each must carry the HISTORY flag.
async fn direct_history(client: &mut Client, target: &str) -> (Vec<DirectMessage>, HistoryEnd) {
    client
        .history(HistoryKind::Direct, target, Direction::Before, 0, 0)
        .await;
    let mut messages = Vec::new();
    for _ in 0..70_000 {
        match client.recv_skipping_presence().await {
            Frame::DirectMessage(m) => {
                assert_eq!(m.flags & DirectMessage::HISTORY, DirectMessage::HISTORY);
                messages.push(m);
            }
            Frame::HistoryEnd(end) => {
                assert_eq!(end.kind, HistoryKind::Direct);
                // spec: NAMES-1 — the target's canonical spelling, not the request's.
                assert_eq!(end.target.to_lowercase(), target.to_lowercase());
                assert_eq!(end.count as usize, messages.len());
                return (messages, end);
            }
            other => panic!("{}: expected DIRECT_MESSAGE, got {other:?}", client.name),
        }
    }
    panic!("{}: no HISTORY_END", client.name);
}

fn seqs(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

/// Sends `count` messages to `room` one by one; returns their ACKs.
async fn send_many(client: &mut Client, room: &str, count: usize, prefix: &str) -> Vec<Ack> {
    let mut acks = Vec::new();
    for i in 0..count {
        let client_ref = client.say(room, &format!("{prefix}{i}")).await;
        acks.push(client.expect_ack(client_ref).await);
    }
    acks
}

/// The room list as a set of (name, members), from the pages of one answer.
async fn room_list(client: &mut Client) -> HashSet<(String, u32)> {
    client.list_rooms().await;
    let mut rooms = HashSet::new();
    for _ in 0..100 {
        match client.recv().await {
            Frame::RoomList(list) => {
                rooms.extend(list.rooms.iter().map(|r| (r.name.to_string(), r.members)));
                if list.flags & confab_protocol::frame::RoomList::MORE == 0 {
                    return rooms;
                }
            }
            other => panic!("{}: expected ROOM_LIST, got {other:?}", client.name),
        }
    }
    panic!("{}: endless ROOM_LIST", client.name);
}

/// WHO's answer: the names in order, from every page.
async fn who(client: &mut Client, room: &str) -> Vec<String> {
    client.who(room).await;
    let mut names = Vec::new();
    for _ in 0..100 {
        match client.recv_skipping_presence().await {
            Frame::WhoList(list) => {
                assert_eq!(list.room, room, "WHO_LIST echoes the room");
                names.extend(list.users.iter().map(|u| u.to_string()));
                if list.flags & confab_protocol::frame::WhoList::MORE == 0 {
                    return names;
                }
            }
            other => panic!("{}: expected WHO_LIST, got {other:?}", client.name),
        }
    }
    panic!("{}: endless WHO_LIST", client.name);
}

fn set(items: &[(&str, u32)]) -> HashSet<(String, u32)> {
    items.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

#[tokio::test]
async fn joining_leaving_and_listing_rooms() {
    // spec: ROOM-2, ROOM-5, ROOM-6, PRESENCE-2, MSG-6
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "bob").await;

    let (joined, replay, end) = join_full(&mut alice, "dev", 0, 0).await;
    assert_eq!(
        (joined.room.as_str(), joined.next_seq, joined.members),
        ("dev", 1, 1)
    );
    assert!(replay.is_empty());
    assert_eq!(
        (end.count, end.flags),
        (0, 0),
        "HISTORY_END even with history 0"
    );

    // Names compare case-insensitively; the room keeps its first spelling.
    let (joined, _, _) = join_full(&mut bob, "DEV", 0, 0).await;
    assert_eq!((joined.room.as_str(), joined.members), ("dev", 2));
    expect_presence(&mut alice, PresenceEvent::Joined, "dev", "bob").await;

    // Joining again answers the same way but announces nothing.
    let (joined, _, _) = join_full(&mut bob, "dev", 0, 0).await;
    assert_eq!(joined.members, 2);
    assert_eq!(
        room_list(&mut alice).await,
        set(&[("lobby", 2), ("dev", 2)]),
        "alice's next frame is the list: no PRESENCE for the repeated JOIN"
    );

    bob.leave("Dev").await;
    match bob.recv().await {
        Frame::Left(left) => assert_eq!(left.room, "dev"),
        other => panic!("bob expected LEFT, got {other:?}"),
    }
    expect_presence(&mut alice, PresenceEvent::Left, "dev", "bob").await;
    for room in ["dev", "nowhere"] {
        bob.leave(room).await;
        let error = bob.expect_error(ErrorCode::NOT_IN_ROOM).await;
        assert_eq!((error.frame_type, error.client_ref), (code::LEAVE, 0));
    }
    let client_ref = bob.say("dev", "still here?").await;
    let error = bob.expect_error(ErrorCode::NOT_IN_ROOM).await;
    assert_eq!(error.client_ref, client_ref);
    assert_eq!(room_list(&mut bob).await, set(&[("lobby", 2), ("dev", 1)]));

    // An empty room is not listed.
    alice.leave("dev").await;
    assert!(matches!(alice.recv().await, Frame::Left(_)));
    assert_eq!(room_list(&mut bob).await, set(&[("lobby", 2)]));

    // Leaving the default room works like any other.
    alice.leave("lobby").await;
    assert!(matches!(alice.recv().await, Frame::Left(_)));
    expect_presence(&mut bob, PresenceEvent::Left, "lobby", "alice").await;
    assert_eq!(room_list(&mut bob).await, set(&[("lobby", 1)]));
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn invalid_room_names_are_refused() {
    // spec: ROOM-1, SEC-3, SEC-4
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let too_long = "r".repeat(65);
    for name in [
        "two words",
        "",
        "#hash",
        "/slash",
        "@at",
        too_long.as_str(),
        "rtl\u{202E}lol",
        "tab\there",
        "nul\u{0}",
        "zw\u{FEFF}",
    ] {
        alice.join(name, 0, 0).await;
        let error = alice.expect_error(ErrorCode::ROOM_INVALID).await;
        assert_eq!(error.frame_type, code::JOIN, "{name:?}");
    }
    // The limit itself is fine, and names are compared after NFC and case folding.
    let longest = "r".repeat(64);
    let (joined, _, _) = join_full(&mut alice, &longest, 0, 0).await;
    assert_eq!(joined.room, longest.as_str());
    let (joined, _, _) = join_full(&mut alice, "Cafe\u{0301}", 0, 0).await;
    assert_eq!(joined.room, "Caf\u{00E9}");
    let mut bob = Client::login(server.addr, "bob").await;
    let (joined, _, _) = join_full(&mut bob, "CAF\u{00C9}", 0, 0).await;
    assert_eq!((joined.room.as_str(), joined.members), ("Caf\u{00E9}", 2));
    expect_presence(&mut alice, PresenceEvent::Joined, "Caf\u{00E9}", "bob").await;
    // Requests may spell a joined room any equivalent way.
    let client_ref = alice.say("cAFE\u{0301}", "bonjour").await;
    alice.expect_ack(client_ref).await;
    let m = bob.expect_message().await;
    assert_eq!(
        (m.room.as_str(), m.body.as_str()),
        ("Caf\u{00E9}", "bonjour")
    );
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn a_client_may_be_in_at_most_max_rooms() {
    // spec: ROOM-4
    let server = TestServer::with(|c| c.max_rooms = 3).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "r1", 0, 0).await;
    join_full(&mut alice, "r2", 0, 0).await;
    alice.join("r3", 0, 0).await;
    let error = alice.expect_error(ErrorCode::TOO_MANY_ROOMS).await;
    assert_eq!(error.frame_type, code::JOIN);
    // A room already joined may be joined again at the limit.
    let (joined, _, _) = join_full(&mut alice, "R1", 0, 0).await;
    assert_eq!(joined.members, 1);
    // Leaving makes room.
    alice.leave("r2").await;
    assert!(matches!(alice.recv().await, Frame::Left(_)));
    let (joined, _, _) = join_full(&mut alice, "r3", 0, 0).await;
    assert_eq!(joined.room, "r3");
    assert_eq!(
        room_list(&mut alice).await,
        set(&[("lobby", 1), ("r1", 1), ("r3", 1)])
    );
    drop(alice);
    server.finish().await;
}

#[tokio::test]
async fn who_lists_a_rooms_members_or_everyone() {
    // spec: PRESENCE-1
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    let mut carol = Client::login_flags(server.addr, "carol", Hello::NO_AUTO_JOIN).await;

    let mut lobby = who(&mut carol, "lobby").await;
    lobby.sort();
    assert_eq!(lobby, ["alice", "bob"], "a non-member may ask");
    let mut everyone = who(&mut alice, "").await;
    everyone.sort();
    assert_eq!(everyone, ["alice", "bob", "carol"]);

    carol.who("ghost").await;
    let error = carol.expect_error(ErrorCode::NO_SUCH_ROOM).await;
    assert_eq!(error.frame_type, code::WHO);

    // A room whose members all left and that never had a message is gone;
    // one with history still exists, with nobody in it.
    join_full(&mut bob, "quiet", 0, 0).await;
    bob.leave("quiet").await;
    assert!(matches!(bob.recv_skipping_presence().await, Frame::Left(_)));
    carol.who("quiet").await;
    carol.expect_error(ErrorCode::NO_SUCH_ROOM).await;

    join_full(&mut bob, "used", 0, 0).await;
    let client_ref = bob.say("used", "anyone?").await;
    bob.expect_ack(client_ref).await;
    assert_eq!(who(&mut carol, "used").await, ["bob"]);
    bob.leave("used").await;
    assert!(matches!(bob.recv_skipping_presence().await, Frame::Left(_)));
    assert!(who(&mut carol, "used").await.is_empty());

    // A disconnected user disappears from both answers.
    drop(bob);
    expect_presence(&mut alice, PresenceEvent::Disconnected, "lobby", "bob").await;
    assert_eq!(who(&mut carol, "lobby").await, ["alice"]);
    let mut everyone = who(&mut carol, "").await;
    everyone.sort();
    assert_eq!(everyone, ["alice", "carol"]);
    drop((alice, carol));
    server.finish().await;
}

#[tokio::test]
async fn direct_messages_reach_only_their_recipient() {
    // spec: DM-1, DM-2, DM-3, MSG-3
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login_flags(server.addr, "bob", Hello::NO_AUTO_JOIN).await;
    let mut carol = Client::login(server.addr, "carol").await;
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "carol").await;

    // The recipient's name is matched case-insensitively; bob is in no room.
    let client_ref = alice.dm("BOB", "psst").await;
    let ack = alice.expect_ack(client_ref).await;
    assert_eq!(ack.seq, 0, "a direct message has no seq");
    assert!(ack.id > 0);
    match bob.recv().await {
        Frame::DirectMessage(dm) => {
            assert_eq!(
                (dm.from.as_str(), dm.to.as_str(), dm.body.as_str(), dm.flags),
                ("alice", "bob", "psst", 0)
            );
            assert_eq!((dm.id, dm.time), (ack.id, ack.time));
        }
        other => panic!("bob expected DIRECT_MESSAGE, got {other:?}"),
    }
    // Replies work, and ids keep increasing across kinds of message.
    let client_ref = bob.dm("alice", "what?").await;
    let reply = bob.expect_ack(client_ref).await;
    assert!(reply.id > ack.id);
    match alice.recv().await {
        Frame::DirectMessage(dm) => {
            assert_eq!(
                (dm.from.as_str(), dm.to.as_str(), dm.body.as_str()),
                ("bob", "alice", "what?")
            );
            assert_eq!(dm.id, reply.id);
        }
        other => panic!("alice expected DIRECT_MESSAGE, got {other:?}"),
    }
    let room_ack = chat_works(&mut carol, &mut alice, "lobby", "hello room").await;
    assert!(room_ack.id > reply.id);

    // Nobody else saw the DMs, and alice never got her own back: the next
    // frame each receives answers their own request.
    assert_eq!(who(&mut carol, "lobby").await.len(), 2);
    assert_eq!(who(&mut alice, "lobby").await.len(), 2);

    // To oneself, to nobody, and to a name that cannot exist.
    for to in ["alice", "ALICE", "nobody", "no one"] {
        let client_ref = alice.dm(to, "hello?").await;
        let error = alice.expect_error(ErrorCode::NO_SUCH_USER).await;
        assert_eq!(
            (error.frame_type, error.client_ref),
            (code::DIRECT, client_ref),
            "{to}"
        );
    }
    // After bob leaves, he is nobody.
    drop(bob);
    let client_ref = alice.dm("bob", "gone?").await;
    let error = alice.expect_error(ErrorCode::NO_SUCH_USER).await;
    assert_eq!(error.client_ref, client_ref);

    // The body rules of SEND apply.
    let client_ref = alice.dm("carol", " \n").await;
    assert_eq!(
        alice
            .expect_error(ErrorCode::EMPTY_MESSAGE)
            .await
            .client_ref,
        client_ref
    );
    let client_ref = alice.dm("carol", &"x".repeat(4097)).await;
    assert_eq!(
        alice
            .expect_error(ErrorCode::BODY_TOO_LONG)
            .await
            .client_ref,
        client_ref
    );
    // ...and rejected DMs were not delivered: carol's next is a real one.
    let client_ref = alice.dm("carol", "real").await;
    alice.expect_ack(client_ref).await;
    match carol.recv_skipping_presence().await {
        Frame::DirectMessage(dm) => assert_eq!(dm.body, "real"),
        other => panic!("carol expected DIRECT_MESSAGE, got {other:?}"),
    }
    drop((alice, carol));
    server.finish().await;
}

#[tokio::test]
async fn join_replays_the_last_messages_in_order() {
    // spec: ROOM-2, MSG-2, PRESENCE-2
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "hist", 0, 0).await;
    let acks = send_many(&mut alice, "hist", 10, "m").await;

    let mut bob = Client::login(server.addr, "bob").await;
    let (joined, replay, end) = join_full(&mut bob, "hist", 0, 4).await;
    assert_eq!((joined.next_seq, joined.members), (11, 2));
    assert_eq!(seqs(&replay), [7, 8, 9, 10]);
    for (m, ack) in replay.iter().zip(&acks[6..]) {
        assert_eq!((m.id, m.seq, m.time), (ack.id, ack.seq, ack.time));
        assert_eq!((m.room.as_str(), m.sender.as_str()), ("hist", "alice"));
    }
    assert_eq!(replay[0].body, "m6");
    assert_eq!(end.flags, HistoryEnd::MORE, "older messages exist");
    expect_presence(&mut alice, PresenceEvent::Joined, "hist", "bob").await;

    // More than exist: all of them, nothing more to fetch.
    let mut carol = Client::login(server.addr, "carol").await;
    let (_, replay, end) = join_full(&mut carol, "hist", 0, 50).await;
    assert_eq!(seqs(&replay), (1..=10).collect::<Vec<_>>());
    assert_eq!(end.flags, 0);

    expect_presence(&mut alice, PresenceEvent::Joined, "hist", "carol").await;
    // A member joining again may ask for a replay too, and nobody hears of it.
    let (joined, replay, _) = join_full(&mut alice, "hist", 0, 3).await;
    assert_eq!((joined.next_seq, joined.members), (11, 3));
    assert_eq!(seqs(&replay), [8, 9, 10]);
    bob.who("hist").await;
    loop {
        match bob.recv().await {
            Frame::Presence(p) => assert_ne!(p.username, "alice", "{p:?}"),
            Frame::WhoList(list) => {
                assert_eq!(list.users.len(), 3);
                break;
            }
            other => panic!("bob: unexpected {other:?}"),
        }
    }
    // Live delivery continues at next_seq.
    let ack = chat_works(&mut alice, &mut bob, "hist", "live").await;
    assert_eq!(ack.seq, 11);
    drop((alice, bob, carol));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_and_live_delivery_meet_without_gap_or_repeat() {
    // spec: ROOM-2, MSG-4, MSG-5
    const TOTAL: u64 = 1_000;
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "busy", 0, 0).await;
    let mut bob = Client::login(server.addr, "bob").await;

    // alice streams her messages, keeping two batches of ten in flight, and
    // never waits for bob; bob joins part-way, on another worker thread.
    let (started_tx, started) = oneshot::channel();
    let sender = tokio::spawn(async move {
        let mut started_tx = Some(started_tx);
        let mut acked = 0u32;
        for batch in 0..(TOTAL / 10) as u32 {
            let mut bytes = Vec::new();
            for client_ref in batch * 10 + 1..=batch * 10 + 10 {
                bytes.extend(wire(&Frame::SendMessage(SendMessage {
                    client_ref,
                    room: Str8::new("busy").unwrap(),
                    body: Str16::new(&format!("n{client_ref}")).unwrap(),
                })));
            }
            alice.write_raw(&bytes).await;
            while acked + 20 < (batch + 1) * 10 {
                acked += 1;
                assert_eq!(alice.expect_ack(acked).await.seq, u64::from(acked));
            }
            if acked >= 50 {
                if let Some(tx) = started_tx.take() {
                    let _ = tx.send(());
                }
            }
        }
        while u64::from(acked) < TOTAL {
            acked += 1;
            assert_eq!(alice.expect_ack(acked).await.seq, u64::from(acked));
        }
        alice
    });
    crate::common::within_for(crate::common::PATIENCE * 3, "the started task", started)
        .await
        .unwrap();
    let (joined, replay, _) = join_full(&mut bob, "busy", 0, 100).await;
    let next = joined.next_seq;
    let first = next.saturating_sub(100).max(1);
    assert_eq!(seqs(&replay), (first..next).collect::<Vec<_>>());
    let mut expected = next;
    while expected <= TOTAL {
        let m = bob.expect_message().await;
        assert_eq!(m.flags, 0, "live");
        assert_eq!(m.seq, expected, "no gap, no repeat after the replay");
        assert_eq!(m.body.as_str(), format!("n{expected}"));
        expected += 1;
    }
    eprintln!("bob joined at next_seq {next} of {TOTAL}");
    let mut alice =
        crate::common::within_for(crate::common::PATIENCE * 3, "the sender task", sender)
            .await
            .unwrap();
    // Nothing more is pending for bob: the next message is a fresh one.
    let ack = chat_works(&mut alice, &mut bob, "busy", "last").await;
    assert_eq!(ack.seq, TOTAL + 1);
    drop((alice, bob));
    server.finish().await;
}

/// The next frame must be MISSED for room "gap"; returns its range.
async fn missed(client: &mut Client) -> (u64, u64) {
    match client.recv().await {
        Frame::Missed(m) => {
            assert_eq!(m.room, "gap");
            (m.from_seq, m.to_seq)
        }
        other => panic!("expected MISSED, got {other:?}"),
    }
}

#[tokio::test]
async fn joining_with_an_old_since_seq_reports_missed_messages() {
    // spec: ROOM-3, HISTORY-4, ROOM-2
    let server = TestServer::with(|c| c.history_max = 5).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "gap", 0, 0).await;
    send_many(&mut alice, "gap", 20, "g").await;

    let mut bob = Client::login(server.addr, "bob").await;
    // Only the last history_max messages are kept: 16..=20.
    let (_, replay, end) = join_full(&mut bob, "gap", 3, 5).await;
    assert_eq!(seqs(&replay), [16, 17, 18, 19, 20]);
    assert_eq!(end.flags, HistoryEnd::MORE);
    assert_eq!(missed(&mut bob).await, (4, 15));

    // A shorter replay misses more.
    let (_, replay, _) = join_full(&mut bob, "gap", 3, 2).await;
    assert_eq!(seqs(&replay), [19, 20]);
    assert_eq!(missed(&mut bob).await, (4, 18));

    // No replay at all: everything after since_seq is missed.
    let (_, replay, _) = join_full(&mut bob, "gap", 18, 0).await;
    assert!(replay.is_empty());
    assert_eq!(missed(&mut bob).await, (19, 20));

    // A replay that covers the gap, or no gap at all: no MISSED (the next
    // frame answers the next request).
    let (_, replay, end) = join_full(&mut bob, "gap", 17, 5).await;
    assert_eq!(seqs(&replay), [18, 19, 20]);
    assert_eq!(end.flags, 0);
    let (_, replay, _) = join_full(&mut bob, "gap", 20, 5).await;
    assert!(replay.is_empty());
    // since_seq 0 never yields MISSED, even when history is short.
    let (_, replay, _) = join_full(&mut bob, "gap", 0, 1).await;
    assert_eq!(seqs(&replay), [20]);
    assert_eq!(room_list(&mut bob).await, set(&[("lobby", 2), ("gap", 2)]));
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn history_pages_before_and_after_an_anchor() {
    // spec: HISTORY-1
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "log", 0, 0).await;
    let acks = send_many(&mut alice, "log", 12, "l").await;
    let ids: HashMap<u64, u64> = acks.iter().map(|a| (a.seq, a.id)).collect();

    let cases: [(Direction, u64, u16, Vec<u64>, bool); 8] = [
        (Direction::Before, 0, 5, (8..=12).collect(), true),
        (Direction::Before, 8, 5, (3..=7).collect(), true),
        (Direction::Before, 4, 5, (1..=3).collect(), false),
        (Direction::Before, 0, 0, (1..=12).collect(), false),
        (Direction::After, 0, 5, (1..=5).collect(), true),
        (Direction::After, 10, 5, vec![11, 12], false),
        (Direction::After, 12, 5, vec![], false),
        (Direction::After, 5, 0, (6..=12).collect(), false),
    ];
    for (direction, anchor, limit, want, more) in cases {
        alice
            .history(HistoryKind::Room, "LOG", direction, anchor, limit)
            .await;
        let (messages, end) = history_answer(&mut alice).await;
        let what = format!("{direction:?} {anchor} limit {limit}");
        assert_eq!(seqs(&messages), want, "{what}");
        for m in &messages {
            assert_eq!(m.id, ids[&m.seq], "{what}");
            assert_eq!(m.body.as_str(), format!("l{}", m.seq - 1));
        }
        assert_eq!(end.kind, HistoryKind::Room);
        assert_eq!(
            end.target, "log",
            "HISTORY_END names the room as created (NAMES-1)"
        );
        assert_eq!(end.flags & HistoryEnd::MORE != 0, more, "MORE for {what}");
    }

    // Only members may read a room's history.
    let mut bob = Client::login(server.addr, "bob").await;
    bob.history(HistoryKind::Room, "log", Direction::Before, 0, 5)
        .await;
    let error = bob.expect_error(ErrorCode::NOT_IN_ROOM).await;
    assert_eq!(error.frame_type, code::HISTORY);
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn history_answers_are_truncated_to_history_max() {
    // spec: HISTORY-1, HISTORY-4, ROOM-2
    let server = TestServer::with(|c| c.history_max = 10).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "big", 0, 0).await;
    send_many(&mut alice, "big", 25, "b").await;

    // At least the last history_max messages are kept, and no answer is longer.
    for limit in [0u16, 10, 50, u16::MAX] {
        alice
            .history(HistoryKind::Room, "big", Direction::Before, 0, limit)
            .await;
        let (messages, end) = history_answer(&mut alice).await;
        assert_eq!(
            seqs(&messages),
            (16..=25).collect::<Vec<_>>(),
            "limit {limit}"
        );
        assert_eq!(end.flags, HistoryEnd::MORE, "older messages existed");
    }
    alice
        .history(HistoryKind::Room, "big", Direction::After, 17, 0)
        .await;
    let (messages, _) = history_answer(&mut alice).await;
    assert_eq!(seqs(&messages), (18..=25).collect::<Vec<_>>());

    let mut bob = Client::login(server.addr, "bob").await;
    let (_, replay, end) = join_full(&mut bob, "big", 0, 1_000).await;
    assert_eq!(seqs(&replay), (16..=25).collect::<Vec<_>>());
    assert_eq!(end.flags, HistoryEnd::MORE);
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn direct_history_is_only_for_the_two_parties() {
    // spec: HISTORY-2
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login_flags(server.addr, "alice", Hello::NO_AUTO_JOIN).await;
    let mut bob = Client::login_flags(server.addr, "bob", Hello::NO_AUTO_JOIN).await;
    let mut carol = Client::login_flags(server.addr, "carol", Hello::NO_AUTO_JOIN).await;
    let mut dave = Client::login_flags(server.addr, "dave", Hello::NO_AUTO_JOIN).await;

    let mut ab = Vec::new();
    for (from, to, body) in [
        ("alice", "bob", "1"),
        ("bob", "alice", "2"),
        ("alice", "bob", "3"),
    ] {
        let (sender, receiver) = if from == "alice" {
            (&mut alice, &mut bob)
        } else {
            (&mut bob, &mut alice)
        };
        let client_ref = sender.dm(to, body).await;
        ab.push(sender.expect_ack(client_ref).await.id);
        assert!(matches!(receiver.recv().await, Frame::DirectMessage(_)));
    }
    let client_ref = alice.dm("carol", "x").await;
    let ac = alice.expect_ack(client_ref).await.id;
    assert!(matches!(carol.recv().await, Frame::DirectMessage(_)));
    let client_ref = carol.dm("bob", "y").await;
    let cb = carol.expect_ack(client_ref).await.id;
    assert!(matches!(bob.recv().await, Frame::DirectMessage(_)));

    let (messages, end) = direct_history(&mut alice, "bob").await;
    let got: Vec<(u64, &str, &str, &str)> = messages
        .iter()
        .map(|m| (m.id, m.from.as_str(), m.to.as_str(), m.body.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (ab[0], "alice", "bob", "1"),
            (ab[1], "bob", "alice", "2"),
            (ab[2], "alice", "bob", "3")
        ]
    );
    assert_eq!(end.flags, 0);
    let (messages, _) = direct_history(&mut bob, "ALICE").await;
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), ab);

    let (messages, _) = direct_history(&mut carol, "bob").await;
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), [cb]);
    let (messages, _) = direct_history(&mut carol, "alice").await;
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), [ac]);
    for target in ["alice", "bob", "carol", "dave"] {
        let (messages, end) = direct_history(&mut dave, target).await;
        assert!(messages.is_empty(), "dave reads nothing with {target}");
        assert_eq!(end.count, 0);
    }

    // Anchors work on ids.
    alice
        .history(HistoryKind::Direct, "bob", Direction::After, ab[0], 1)
        .await;
    match alice.recv().await {
        Frame::DirectMessage(m) => assert_eq!(m.id, ab[1]),
        other => panic!("expected DIRECT_MESSAGE, got {other:?}"),
    }
    match alice.recv().await {
        Frame::HistoryEnd(end) => assert_eq!((end.count, end.flags), (1, HistoryEnd::MORE)),
        other => panic!("expected HISTORY_END, got {other:?}"),
    }
    alice
        .history(HistoryKind::Direct, "bob", Direction::Before, ab[2], 5)
        .await;
    let mut ids = Vec::new();
    loop {
        match alice.recv().await {
            Frame::DirectMessage(m) => ids.push(m.id),
            Frame::HistoryEnd(end) => {
                assert_eq!(end.flags, 0);
                break;
            }
            other => panic!("expected DIRECT_MESSAGE, got {other:?}"),
        }
    }
    assert_eq!(ids, &ab[..2]);
    drop((alice, bob, carol, dave));
    server.finish().await;
}

#[tokio::test]
async fn ids_increase_and_seqs_are_contiguous_per_room() {
    // spec: MSG-3, MSG-4, MSG-1
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    join_full(&mut alice, "a", 0, 0).await;
    join_full(&mut alice, "b", 0, 0).await;

    let mut last_id = 0;
    let mut next_seq: HashMap<&str, u64> = HashMap::from([("a", 1), ("b", 1), ("lobby", 1)]);
    for i in 0..30 {
        let room = ["a", "b", "lobby", "a", "a"][i % 5];
        let client_ref = alice.say(room, &format!("{room}{i}")).await;
        let ack = alice.expect_ack(client_ref).await;
        assert!(ack.id > last_id, "ids increase: {} after {last_id}", ack.id);
        last_id = ack.id;
        let seq = next_seq.get_mut(room).unwrap();
        assert_eq!(ack.seq, *seq, "{room} seq");
        *seq += 1;
        if i % 7 == 0 {
            // Direct messages take ids from the same sequence.
            let client_ref = alice.dm("bob", "dm").await;
            let ack = alice.expect_ack(client_ref).await;
            assert!(ack.id > last_id);
            last_id = ack.id;
        }
    }
    // bob, in the lobby only, saw the lobby's messages with contiguous seqs
    // and the DMs, and nothing from rooms a and b.
    let mut lobby_seq = 1;
    let mut dms = 0;
    while lobby_seq < next_seq["lobby"] || dms < 5 {
        match bob.recv_skipping_presence().await {
            Frame::Message(m) => {
                assert_eq!((m.room.as_str(), m.seq), ("lobby", lobby_seq));
                lobby_seq += 1;
            }
            Frame::DirectMessage(_) => dms += 1,
            other => panic!("bob: unexpected {other:?}"),
        }
    }
    assert_eq!(dms, 5);
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_senders_messages_arrive_in_order() {
    // spec: MSG-5, MSG-1, MSG-2, MSG-4
    const EACH: u32 = 150;
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    let mut carol = Client::login(server.addr, "carol").await;
    for c in [&mut alice, &mut bob, &mut carol] {
        join_full(c, "race", 0, 0).await;
    }
    let burst = |who: &str| {
        let mut bytes = Vec::new();
        for i in 0..EACH {
            bytes.extend(wire(&Frame::SendMessage(SendMessage {
                client_ref: i + 1,
                room: Str8::new("race").unwrap(),
                body: Str16::new(&format!("{who}{i}")).unwrap(),
            })));
        }
        bytes
    };
    // Both write their whole burst at once, concurrently.
    let (a_bytes, b_bytes) = (burst("a"), burst("b"));
    tokio::join!(alice.write_raw(&a_bytes), bob.write_raw(&b_bytes));

    // Each sender: its ACKs in order, and the other's messages in order,
    // never its own.
    async fn check_sender(
        client: &mut Client,
        me: &str,
        other: &str,
        other_name: &str,
    ) -> HashMap<String, u64> {
        let mut acks = 0;
        let mut theirs = 0;
        let mut seq_of = HashMap::new();
        let mut last_seq = 0;
        while acks < EACH || theirs < EACH {
            match client.recv_skipping_presence().await {
                Frame::Ack(ack) => {
                    acks += 1;
                    assert_eq!(ack.client_ref, acks, "ACKs in order");
                    seq_of.insert(format!("{me}{}", acks - 1), ack.seq);
                }
                Frame::Message(m) if m.room == "race" => {
                    assert_eq!(m.sender, other_name, "{me} never gets its own messages");
                    assert_eq!(
                        m.body.as_str(),
                        format!("{other}{theirs}"),
                        "per-sender order"
                    );
                    assert!(m.seq > last_seq);
                    last_seq = m.seq;
                    theirs += 1;
                }
                other => panic!("{me}: unexpected {other:?}"),
            }
        }
        seq_of
    }
    let (a_seqs, b_seqs) = tokio::join!(
        check_sender(&mut alice, "a", "b", "bob"),
        check_sender(&mut bob, "b", "a", "alice")
    );

    // carol: all of them, seq contiguous, each sender in order, seqs as ACKed.
    let (mut next_a, mut next_b) = (0, 0);
    for seq in 1..=u64::from(2 * EACH) {
        let m = carol.expect_message().await;
        assert_eq!(m.seq, seq, "carol receives the room in seq order");
        let body = m.body.to_string();
        if m.sender == "alice" {
            assert_eq!(body, format!("a{next_a}"));
            next_a += 1;
            assert_eq!(a_seqs[&body], seq);
        } else {
            assert_eq!(body, format!("b{next_b}"));
            next_b += 1;
            assert_eq!(b_seqs[&body], seq);
        }
    }
    drop((alice, bob, carol));
    server.finish().await;
}

#[tokio::test]
async fn presence_follows_members_across_rooms() {
    // spec: PRESENCE-2, CLOSE-3
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "bob").await;
    join_full(&mut alice, "side", 0, 0).await;
    join_full(&mut bob, "side", 0, 0).await;
    expect_presence(&mut alice, PresenceEvent::Joined, "side", "bob").await;
    drop(bob);
    // One PRESENCE 3 per shared room.
    let mut rooms = HashSet::new();
    for _ in 0..2 {
        match alice.recv().await {
            Frame::Presence(p) => {
                assert_eq!(
                    (p.event, p.username.as_str()),
                    (PresenceEvent::Disconnected, "bob")
                );
                rooms.insert(p.room.to_string());
            }
            other => panic!("alice expected PRESENCE, got {other:?}"),
        }
    }
    assert_eq!(
        rooms,
        HashSet::from(["lobby".to_string(), "side".to_string()])
    );
    assert_eq!(
        room_list(&mut alice).await,
        set(&[("lobby", 1), ("side", 1)])
    );
    drop(alice);
    server.finish().await;
}

#[tokio::test]
async fn long_lists_come_in_pages_that_fit_max_frame() {
    // spec: ROOM-6, PRESENCE-1, FRAMING-2
    const MAX_FRAME: u32 = 4096;
    let server = TestServer::with(|c| {
        c.max_frame = MAX_FRAME;
        c.max_username = 255;
        c.max_room_name = 255;
        // The largest body whose MESSAGE still fits max_frame (`[LIMIT-9]`).
        c.max_body = 4096 - 29 - 255 - 255;
        c.max_rooms = 40;
    })
    .await;
    // 20 users with 255-byte names: about 5 KB of names.
    let mut users = Vec::new();
    for i in 0..20 {
        let name = format!("{}{i:02}", "u".repeat(253));
        let mut client = Client::login_flags(server.addr, &name, Hello::NO_AUTO_JOIN).await;
        client.framed.codec_mut().set_max_frame(MAX_FRAME);
        users.push(client);
    }
    // One of them in 30 rooms with 255-byte names: about 8 KB of entries.
    let rooms: Vec<String> = (0..30)
        .map(|i| format!("{}{i:02}", "r".repeat(253)))
        .collect();
    for room in &rooms {
        join_full(&mut users[0], room, 0, 0).await;
    }
    let first = &mut users[0];

    first.list_rooms().await;
    let mut listed = HashSet::new();
    let mut pages = 0;
    loop {
        match first.recv().await {
            Frame::RoomList(list) => {
                pages += 1;
                assert!(!list.rooms.is_empty());
                listed.extend(list.rooms.iter().map(|r| (r.name.to_string(), r.members)));
                if list.flags & confab_protocol::frame::RoomList::MORE == 0 {
                    break;
                }
            }
            other => panic!("expected ROOM_LIST, got {other:?}"),
        }
        assert!(pages < 100);
    }
    assert!(pages >= 2, "{pages} pages");
    assert_eq!(listed, rooms.iter().map(|r| (r.clone(), 1)).collect());

    first.who("").await;
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        match first.recv().await {
            Frame::WhoList(list) => {
                pages += 1;
                names.extend(list.users.iter().map(|u| u.to_string()));
                if list.flags & confab_protocol::frame::WhoList::MORE == 0 {
                    break;
                }
            }
            other => panic!("expected WHO_LIST, got {other:?}"),
        }
        assert!(pages < 100);
    }
    assert!(pages >= 2, "{pages} pages");
    names.sort();
    let mut expected: Vec<String> = users.iter().map(|u| u.name.clone()).collect();
    expected.sort();
    assert_eq!(names, expected);
    drop(users);
    server.finish().await;
}
