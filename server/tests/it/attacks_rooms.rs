//! `[LIMIT-5]`: rooms leave memory when the last member goes (a durable
//! room's history stays in the store), the server holds at most
//! `--max-rooms-total` rooms, and one address makes rooms at a bounded rate.

use crate::common;

use std::net::IpAddr;

use common::*;
use confab_protocol::frame::{code, Frame, Hello};
use confab_protocol::ErrorCode;
use tokio::time::Instant;

/// JOIN `room` with up to 200 messages of replay: the replay, or the ERROR's code.
async fn try_enter(client: &mut Client, room: &str) -> Result<Vec<Frame>, ErrorCode> {
    client.join(room, 0, 200).await;
    match client.recv_skipping_presence().await {
        Frame::Joined(_) => {
            let mut replay = Vec::new();
            loop {
                match client.recv().await {
                    Frame::HistoryEnd(_) => return Ok(replay),
                    frame => replay.push(frame),
                }
            }
        }
        Frame::ErrorFrame(e) => {
            assert_eq!((e.frame_type, e.is_fatal()), (code::JOIN, false), "{e:?}");
            Err(e.code)
        }
        other => panic!("{}: unexpected {other:?}", client.name),
    }
}

async fn leave(client: &mut Client, room: &str) {
    client.leave(room).await;
    assert!(matches!(
        client.recv_skipping_presence().await,
        Frame::Left(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_rooms_leave_memory_and_the_room_cap_holds() {
    // spec: LIMIT-5
    const CAP: usize = 40;
    let server = TestServer::with(|c| {
        c.max_rooms_total = CAP;
        c.room_create_rate = 0;
    })
    .await;
    // In the lobby: it exists throughout.
    let mut churner = Client::login(server.addr, "churner").await;
    // Ten times the cap, one after another: each room is let go when left.
    for i in 0..CAP * 10 {
        let room = format!("passing-{i}");
        try_enter(&mut churner, &room)
            .await
            .unwrap_or_else(|e| panic!("room {i}: {e:?}"));
        leave(&mut churner, &room).await;
    }
    // Held rooms count: the lobby plus 39 held ones reach the cap.
    let mut holders = Vec::new();
    let mut held = 1; // lobby, the resident default room
    for h in 0..2 {
        let mut holder =
            Client::login_flags(server.addr, &format!("holder{h}"), Hello::NO_AUTO_JOIN).await;
        for _ in 0..20 {
            if held == CAP {
                break;
            }
            try_enter(&mut holder, &format!("held-{held}"))
                .await
                .unwrap();
            held += 1;
        }
        holders.push(holder);
    }
    assert_eq!(
        try_enter(&mut churner, "one-too-many").await,
        Err(ErrorCode::ROOM_LIMIT)
    );
    // An existing room can still be joined; leaving one makes room for a new one.
    try_enter(&mut churner, "held-1").await.unwrap();
    leave(&mut churner, "held-1").await;
    leave(&mut holders[0], "held-1").await;
    try_enter(&mut churner, "one-too-many").await.unwrap();
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_makes_rooms_at_a_bounded_rate() {
    // spec: LIMIT-5, FLOW-5
    let server = TestServer::with(|c| {
        c.room_create_rate = 1;
        c.room_create_burst = 5;
    })
    .await;
    let started = Instant::now();
    let mut maker = Client::login_flags(server.addr, "maker", Hello::NO_AUTO_JOIN).await;
    let mut made = 0;
    let mut refused = 0;
    for i in 0..12 {
        match try_enter(&mut maker, &format!("new-{i}")).await {
            Ok(_) => made += 1,
            Err(code) => {
                assert_eq!(code, ErrorCode::RATE_LIMITED);
                refused += 1;
            }
        }
    }
    let bound = 5 + started.elapsed().as_secs() + 1;
    assert!((5..=bound).contains(&made), "{made} rooms made; burst 5");
    assert!(refused > 0);
    // Joining a room that exists is no creation.
    let mut joiner = Client::login_flags(server.addr, "joiner", Hello::NO_AUTO_JOIN).await;
    try_enter(&mut joiner, "new-0").await.unwrap();
    // Another address has its own rate.
    let mut other = Client::connect_from(server.addr, IpAddr::from([127, 0, 0, 6])).await;
    other
        .greet_and_login("elsewhere", Hello::NO_AUTO_JOIN)
        .await;
    try_enter(&mut other, "fresh").await.unwrap();
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_room_let_go_comes_back_from_the_store_with_its_history() {
    // spec: LIMIT-5, HISTORY-4, ROOM-2
    let dir = TempDir::new("rooms-let-go");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let mut alice = Client::login_flags(server.addr, "alice", Hello::NO_AUTO_JOIN).await;
    let (next_seq, _) = alice.enter("archive", 0, 0).await;
    assert_eq!(next_seq, 1);
    for i in 0..3 {
        let r = alice.say("archive", &format!("kept {i}")).await;
        alice.expect_ack(r).await;
    }
    leave(&mut alice, "archive").await;
    // Let go (nobody is in it); joined again, it is what it was.
    let replay = try_enter(&mut alice, "archive").await.unwrap();
    let bodies: Vec<String> = replay
        .iter()
        .map(|f| match f {
            Frame::Message(m) => m.body.to_string(),
            other => panic!("replay: {other:?}"),
        })
        .collect();
    assert_eq!(bodies, ["kept 0", "kept 1", "kept 2"]);
    let r = alice.say("archive", "next").await;
    assert_eq!(alice.expect_ack(r).await.seq, 4, "seq continues");
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_empty_rooms_keep_history_within_a_byte_budget() {
    // spec: LIMIT-5
    let server = TestServer::with(|c| c.idle_history_bytes = 1_500).await;
    let mut alice = Client::login_flags(server.addr, "alice", Hello::NO_AUTO_JOIN).await;
    let body = "x".repeat(100);
    for room in ["first", "second"] {
        try_enter(&mut alice, room).await.unwrap();
        for _ in 0..5 {
            let r = alice.say(room, &body).await;
            alice.expect_ack(r).await;
        }
        leave(&mut alice, room).await;
        // Kept while within the budget: it comes back as it was.
        if room == "first" {
            let replay = try_enter(&mut alice, room).await.unwrap();
            assert_eq!(replay.len(), 5);
            leave(&mut alice, room).await;
        }
    }
    // Two rooms' history (about 2 × 5 × 170 bytes) pass 1,500: the
    // longest-empty room is forgotten, numbering and all.
    alice.join("first", 0, 200).await;
    match alice.recv().await {
        Frame::Joined(joined) => assert_eq!(joined.next_seq, 1, "made anew"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(alice.recv().await, Frame::HistoryEnd(end) if end.count == 0));
    let replay = try_enter(&mut alice, "second").await.unwrap();
    assert_eq!(replay.len(), 5, "the other one is kept");
    server.finish().await;
}
