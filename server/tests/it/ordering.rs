//! `[ORDER-1]`: answers come in the order of the requests, in durable mode
//! too, where an ACK waits for the commit: no ERROR overtakes an earlier
//! ACK, and every stored message is acknowledged, even when the server then
//! closes the connection.

use crate::common;

use common::*;
use confab_protocol::frame::{code, Frame, Hello, Join, SendMessage};
use confab_protocol::ErrorCode;
use confab_protocol::{Str16, Str8};
use confab_server::Config;

/// The answers (ACK or ERROR) about SENDs, as (client_ref, ERROR code or
/// None for an ACK), in the order received.
fn answers(frames: &[Frame]) -> Vec<(u32, Option<ErrorCode>)> {
    frames
        .iter()
        .filter_map(|frame| match frame {
            Frame::Ack(ack) => Some((ack.client_ref, None)),
            Frame::ErrorFrame(e) if e.frame_type == code::SEND => {
                Some((e.client_ref, Some(e.code)))
            }
            _ => None,
        })
        .collect()
}

fn durable(dir: &TempDir) -> Config {
    // Default rate limits: a burst of 60.
    Config {
        in_memory: false,
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_answers_come_in_request_order() {
    // spec: ORDER-1, MSG-2, FLOW-1
    let dir = TempDir::new("ordering");
    let server = TestServer::start(durable(&dir)).await;
    let mut sender = Client::login_flags(server.addr, "sender", Hello::NO_AUTO_JOIN).await;
    sender.enter("ordered", 0, 0).await;
    sender
        .write_raw(&sends("ordered", 70, |n| format!("message {n}")))
        .await;
    let mut frames = Vec::new();
    while answers(&frames).len() < 70 {
        frames.push(sender.recv().await);
    }
    let got = answers(&frames);
    let refs: Vec<u32> = got.iter().map(|(r, _)| *r).collect();
    assert_eq!(
        refs,
        (1..=70).collect::<Vec<_>>(),
        "answers in request order: {got:?}"
    );
    let acked = got.iter().take_while(|(_, code)| code.is_none()).count();
    // The JOIN took one token of the 60.
    assert!((59..=65).contains(&acked), "{acked} ACKs first: {got:?}");
    assert!(
        got[acked..]
            .iter()
            .all(|(_, code)| *code == Some(ErrorCode::RATE_LIMITED)),
        "then only RATE_LIMITED: {got:?}"
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooder_cut_off_in_durable_mode_gets_every_ack_first() {
    // spec: ORDER-1, MSG-2, FLOW-2
    let dir = TempDir::new("ordering-flood");
    let server = TestServer::start(durable(&dir)).await;
    let mut witness = Client::login_flags(server.addr, "witness", Hello::NO_AUTO_JOIN).await;
    witness.enter("flooded", 0, 0).await;
    let mut flooder = Client::login_flags(server.addr, "flooder", Hello::NO_AUTO_JOIN).await;
    flooder.enter("flooded", 0, 0).await;
    flooder
        .write_raw(&sends("flooded", 400, |n| format!("message {n}")))
        .await;
    let (frames, ending) = flooder.read_to_end().await;
    assert_eq!(ending, Ending::Eof);
    let got = answers(&frames);
    let refs: Vec<u32> = got.iter().map(|(r, _)| *r).collect();
    let expected: Vec<u32> = (1..=refs.len() as u32).collect();
    assert_eq!(refs, expected, "answers in request order: {got:?}");
    assert_eq!(
        got.last().and_then(|(_, code)| *code),
        Some(ErrorCode::FLOODING),
        "FLOODING is the last answer"
    );
    let acked: Vec<u32> = got
        .iter()
        .filter(|(_, code)| code.is_none())
        .map(|(r, _)| *r)
        .collect();
    // Everything delivered to the room was acknowledged to its sender.
    let mut delivered = Vec::new();
    let marker = witness.say("flooded", "end").await;
    loop {
        match witness.recv_skipping_presence().await {
            Frame::Message(m) => {
                let n: u32 = m.body.strip_prefix("message ").unwrap().parse().unwrap();
                delivered.push(n);
            }
            Frame::Ack(ack) if ack.client_ref == marker => break,
            other => panic!("witness: unexpected {other:?}"),
        }
    }
    eprintln!(
        "durable flood: {} answers, {} ACKs, {} delivered",
        got.len(),
        acked.len(),
        delivered.len()
    );
    assert!(!acked.is_empty());
    assert_eq!(
        delivered, acked,
        "every stored and delivered message was ACKed"
    );
    server.finish().await;
}

/// SENDs read together are published together in memory: interleaved with
/// a refused SEND, a JOIN and SENDs to another room, every answer still
/// comes in request order, and each room's listener gets its messages in
/// order with one contiguous seq.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_published_together_keep_every_order() {
    // spec: ORDER-1, MSG-4, MSG-5
    let server = TestServer::start(TestServer::config()).await;
    let mut sender = Client::login_flags(server.addr, "sender", Hello::NO_AUTO_JOIN).await;
    let mut hears_a = Client::login_flags(server.addr, "hears-a", Hello::NO_AUTO_JOIN).await;
    let mut hears_b = Client::login_flags(server.addr, "hears-b", Hello::NO_AUTO_JOIN).await;
    sender.enter("room-a", 0, 0).await;
    hears_a.enter("room-a", 0, 0).await;
    hears_b.enter("room-b", 0, 0).await;
    let send = |client_ref: u32, room: &str| {
        wire(&Frame::SendMessage(SendMessage {
            client_ref,
            room: Str8::truncated(room),
            body: Str16::truncated(&format!("m{client_ref}")),
        }))
    };
    let join_b = wire(&Frame::Join(Join {
        room: Str8::truncated("room-b"),
        since_seq: 0,
        history: 0,
    }));
    // refs 1-3 to A, 4 to B (not joined yet: NOT_IN_ROOM), 5-6 to A, the
    // JOIN, 7-8 to B, 9 to A: all in one write.
    let mut burst = Vec::new();
    for (client_ref, room) in [(1, "room-a"), (2, "room-a"), (3, "room-a"), (4, "room-b")] {
        burst.extend(send(client_ref, room));
    }
    burst.extend(send(5, "room-a"));
    burst.extend(send(6, "room-a"));
    burst.extend(join_b);
    for (client_ref, room) in [(7, "room-b"), (8, "room-b"), (9, "room-a")] {
        burst.extend(send(client_ref, room));
    }
    sender.write_raw(&burst).await;
    let mut frames = Vec::new();
    while answers(&frames).len() < 9 {
        frames.push(sender.recv().await);
    }
    let mut expected: Vec<(u32, Option<ErrorCode>)> = (1..=9).map(|r| (r, None)).collect();
    expected[3].1 = Some(ErrorCode::NOT_IN_ROOM);
    assert_eq!(answers(&frames), expected);
    // The JOINED came between the ACKs of 6 and 7.
    let joined = frames
        .iter()
        .position(|f| matches!(f, Frame::Joined(_)))
        .unwrap();
    let ack = |r: u32| {
        frames
            .iter()
            .position(|f| matches!(f, Frame::Ack(a) if a.client_ref == r))
            .unwrap()
    };
    assert!(ack(6) < joined && joined < ack(7), "{frames:?}");
    for (listener, bodies) in [
        (
            &mut hears_a,
            ["m1", "m2", "m3", "m5", "m6", "m9"].as_slice(),
        ),
        (&mut hears_b, ["m7", "m8"].as_slice()),
    ] {
        let mut got = Vec::new();
        while got.len() < bodies.len() {
            if let Frame::Message(message) = listener.recv_skipping_presence().await {
                got.push((message.seq, message.body.as_str().to_string()));
            }
        }
        let seqs: Vec<u64> = got.iter().map(|(seq, _)| *seq).collect();
        let first = seqs[0];
        assert_eq!(seqs, (first..first + seqs.len() as u64).collect::<Vec<_>>());
        let heard: Vec<&str> = got.iter().map(|(_, body)| body.as_str()).collect();
        assert_eq!(heard, bodies);
    }
    server.finish().await;
}
