//! The durable store (SQLite in the data directory): acknowledged messages
//! survive a crash, history survives restarts, replay meets live delivery
//! without gap, direct messages are kept for their parties only, retention,
//! schema migration and start-up failures (spec sections 8, 9 and 11).

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{run_binary_to_exit, Client, ServerProcess, TempDir, TestServer, PATIENCE};
use confab_protocol::frame::{
    Ack, DirectMessage, Direction, Frame, Greeting, HistoryEnd, HistoryKind, Joined, LoginMode,
    Message, Missed, Pong, Send, Welcome,
};
use confab_protocol::names::name_key;
use confab_protocol::{ErrorCode, Str16, Str8};
use confab_server::store::{accounts, schema};
use confab_server::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;

/// Rate limits out of the way, so load is limited by the server only.
const UNLIMITED: &[&str] = &[
    "--msg-rate",
    "1000000",
    "--msg-burst",
    "1000000",
    "--byte-rate",
    "100000000",
    "--byte-burst",
    "100000000",
];

/// Command line of the binary on an ephemeral port with its store in `dir`.
fn binary_args(dir: &TempDir, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &dir.arg(),
        "--log",
        "info",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(UNLIMITED.iter().map(|s| s.to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn start_binary(dir: &TempDir, extra: &[&str]) -> ServerProcess {
    let args = binary_args(dir, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ServerProcess::start(&args)
}

fn greeting_of(frame: Frame) -> Greeting {
    match frame {
        Frame::Greeting(greeting) => greeting,
        other => panic!("expected GREETING, got {other:?}"),
    }
}

/// The next frame that is neither PRESENCE nor PING (PINGs are answered).
async fn next_frame(client: &mut Client) -> Frame {
    client.recv_skipping_presence().await
}

/// MESSAGE frames with the HISTORY flag up to HISTORY_END (kind room); live
/// messages that arrive in between are returned apart.
async fn room_history_answer(client: &mut Client) -> (Vec<Message>, HistoryEnd, Vec<Message>) {
    let mut replayed = Vec::new();
    let mut live = Vec::new();
    for _ in 0..100_000 {
        match next_frame(client).await {
            Frame::Message(m) if m.flags & Message::HISTORY != 0 => replayed.push(m),
            Frame::Message(m) => live.push(m),
            Frame::HistoryEnd(end) => {
                assert_eq!(end.kind, HistoryKind::Room, "{end:?}");
                assert_eq!(
                    end.count as usize,
                    replayed.len(),
                    "{}: HISTORY_END count",
                    client.name
                );
                return (replayed, end, live);
            }
            other => panic!(
                "{}: expected MESSAGE or HISTORY_END, got {other:?}",
                client.name
            ),
        }
    }
    panic!("{}: no HISTORY_END", client.name);
}

/// One HISTORY request of kind room; its answer and any live messages seen meanwhile.
async fn room_history(
    client: &mut Client,
    room: &str,
    direction: Direction,
    anchor: u64,
    limit: u16,
) -> (Vec<Message>, HistoryEnd, Vec<Message>) {
    client
        .history(HistoryKind::Room, room, direction, anchor, limit)
        .await;
    room_history_answer(client).await
}

/// Everything stored for `room`: HISTORY kind room, direction After, from
/// anchor 0, pages of `page` messages until HISTORY_END clears MORE.
async fn read_all_history(client: &mut Client, room: &str, page: u16) -> Vec<Message> {
    let mut all: Vec<Message> = Vec::new();
    let mut anchor = 0;
    for _ in 0..10_000 {
        let (messages, end, live) =
            room_history(client, room, Direction::After, anchor, page).await;
        assert!(live.is_empty(), "nobody sends while the history is read");
        assert!(
            messages.len() <= usize::from(page),
            "page larger than asked"
        );
        if let Some(last) = messages.last() {
            anchor = last.seq;
        }
        let more = end.flags & HistoryEnd::MORE != 0;
        assert!(
            !(more && messages.is_empty()),
            "MORE set on an empty page at anchor {anchor}"
        );
        all.extend(messages);
        if !more {
            return all;
        }
    }
    panic!("{}: history of {room} never ended", client.name);
}

/// JOIN, then JOINED (PRESENCE skipped), the replay and HISTORY_END.
async fn join_full(
    client: &mut Client,
    room: &str,
    since_seq: u64,
    history: u16,
) -> (Joined, Vec<Message>, HistoryEnd) {
    client.join(room, since_seq, history).await;
    let joined = match next_frame(client).await {
        Frame::Joined(joined) => joined,
        other => panic!("{}: expected JOINED {room}, got {other:?}", client.name),
    };
    let (replay, end, live) = room_history_answer(client).await;
    assert!(
        live.is_empty(),
        "live messages before HISTORY_END: {live:?}"
    );
    (joined, replay, end)
}

/// DIRECT_MESSAGE frames (all with the HISTORY flag) of a HISTORY kind 1 answer.
async fn direct_history(
    client: &mut Client,
    target: &str,
    direction: Direction,
    anchor: u64,
    limit: u16,
) -> (Vec<DirectMessage>, HistoryEnd) {
    client
        .history(HistoryKind::Direct, target, direction, anchor, limit)
        .await;
    let mut messages = Vec::new();
    for _ in 0..100_000 {
        match next_frame(client).await {
            Frame::DirectMessage(m) => {
                assert_eq!(
                    m.flags & DirectMessage::HISTORY,
                    DirectMessage::HISTORY,
                    "{}: an unrequested or unflagged DIRECT_MESSAGE {m:?}",
                    client.name
                );
                messages.push(m);
            }
            Frame::HistoryEnd(end) => {
                assert_eq!(end.kind, HistoryKind::Direct);
                assert_eq!(end.target, target);
                assert_eq!(end.count as usize, messages.len());
                return (messages, end);
            }
            other => panic!(
                "{}: expected DIRECT_MESSAGE or HISTORY_END, got {other:?}",
                client.name
            ),
        }
    }
    panic!("{}: no HISTORY_END", client.name);
}

fn bodies_of(messages: &[DirectMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

/// What one loaded sender saw: its acknowledged messages (body and ACK), in
/// the order the ACKs came, and the other senders' messages it received.
#[derive(Debug, Default)]
struct LoadReport {
    name: String,
    acked: Vec<(String, Ack)>,
    received: Vec<Message>,
    /// The connection ended (the server went away) before the load did.
    cut_off: bool,
}

/// Sends `total` messages to `room`, `window` at a time (pipelined), records
/// every ACK and counts it in `progress`; then, when `expect_seqs` is given,
/// keeps reading until it holds that many distinct seqs (ACKed or received).
/// Returns early, with `cut_off`, when the connection ends.
async fn pump(
    mut client: Client,
    room: String,
    total: usize,
    window: usize,
    progress: Arc<watch::Sender<usize>>,
    expect_seqs: Option<usize>,
) -> LoadReport {
    let mut report = LoadReport {
        name: client.name.clone(),
        ..LoadReport::default()
    };
    let mut bodies: HashMap<u32, String> = HashMap::new();
    let mut sent = 0;
    let mut held = 0;
    let room_name = Str8::new(&room).unwrap();
    loop {
        let batch = window.min(total - sent);
        for _ in 0..batch {
            let client_ref = client.next_client_ref();
            let body = format!("{}#{client_ref}", client.name);
            let frame = Frame::Send(Send {
                client_ref,
                room: room_name.clone(),
                body: Str16::new(&body).unwrap(),
            });
            bodies.insert(client_ref, body);
            if client.framed.feed(frame).await.is_err() {
                report.cut_off = true;
                return report;
            }
        }
        if batch > 0 && SinkExt::<Frame>::flush(&mut client.framed).await.is_err() {
            report.cut_off = true;
            return report;
        }
        sent += batch;
        let mut waiting = batch;
        let done = |waiting: usize, held: usize| {
            waiting == 0 && (sent < total || expect_seqs.is_none_or(|n| held >= n))
        };
        while !done(waiting, held) {
            match tokio::time::timeout(PATIENCE, client.framed.next()).await {
                Ok(Some(Ok(Frame::Ack(ack)))) => {
                    let body = bodies
                        .remove(&ack.client_ref)
                        .unwrap_or_else(|| panic!("{}: ACK of an unknown {ack:?}", client.name));
                    report.acked.push((body, ack));
                    waiting -= 1;
                    held += 1;
                    progress.send_modify(|n| *n += 1);
                }
                Ok(Some(Ok(Frame::Message(message)))) => {
                    report.received.push(message);
                    held += 1;
                }
                Ok(Some(Ok(Frame::Ping(ping)))) => {
                    let _ = client
                        .framed
                        .send(Frame::Pong(Pong { nonce: ping.nonce }))
                        .await;
                }
                Ok(Some(Ok(Frame::Presence(_)))) => {}
                Ok(Some(Ok(other))) => panic!("{}: unexpected under load: {other:?}", client.name),
                Ok(Some(Err(_))) | Ok(None) => {
                    report.cut_off = true;
                    return report;
                }
                Err(_) => panic!("{}: no frame within {PATIENCE:?}", client.name),
            }
        }
        if sent == total {
            return report;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9_mid_load() {
    // spec: MSG-2, MSG-3, MSG-4, HISTORY-1, HISTORY-4
    const SENDERS: usize = 4;
    const KILL_AFTER_ACKS: usize = 3_000;
    let dir = TempDir::new("kill9");
    let mut server = start_binary(&dir, &[]);

    let (progress, mut acks_so_far) = watch::channel(0usize);
    let progress = Arc::new(progress);
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let mut client = Client::login(server.addr, &format!("load{i}")).await;
        client.enter("load", 0, 0).await;
        senders.push(tokio::spawn(pump(
            client,
            "load".into(),
            // Far more than can be sent before the kill: it comes mid-load.
            1_000_000,
            32,
            Arc::clone(&progress),
            None,
        )));
    }
    tokio::time::timeout(
        Duration::from_secs(15),
        acks_so_far.wait_for(|n| *n >= KILL_AFTER_ACKS),
    )
    .await
    .expect("the load makes progress")
    .unwrap();
    let status = server.kill().expect("the server was running");
    assert!(!status.success(), "SIGKILL ends the process: {status:?}");
    let mut acked: Vec<(String, String, Ack)> = Vec::new();
    for sender in senders {
        let report = sender.await.unwrap();
        assert!(
            report.cut_off,
            "{} finished before the kill: it was not mid-load",
            report.name
        );
        for (body, ack) in report.acked {
            acked.push((report.name.clone(), body, ack));
        }
    }
    assert!(acked.len() >= KILL_AFTER_ACKS);

    // Restart on the same data directory and read everything back.
    let server = start_binary(&dir, &[]);
    let (mut reader, greeting) = Client::connect(server.addr).await;
    let greeting = greeting_of(greeting);
    assert_ne!(greeting.flags & Greeting::PERSISTENT, 0, "{greeting:?}");
    reader.hello().await;
    reader.send_login("reader").await;
    match reader.recv().await {
        Frame::Welcome(w) => reader.name = w.username.to_string(),
        other => panic!("expected WELCOME, got {other:?}"),
    }
    reader.expect_joined("lobby").await;
    let (joined, _, _) = join_full(&mut reader, "load", 0, 0).await;
    let stored = read_all_history(&mut reader, "load", greeting.limits.history_max).await;
    eprintln!(
        "kill -9: {} messages acknowledged, {} stored",
        acked.len(),
        stored.len()
    );

    // seqs are contiguous from 1, ids increase with them, each message once.
    for (index, message) in stored.iter().enumerate() {
        assert_eq!(message.seq, index as u64 + 1, "stored seqs have a gap");
        assert_eq!(message.room, "load");
        assert_eq!(message.flags, Message::HISTORY);
    }
    for pair in stored.windows(2) {
        assert!(pair[0].id < pair[1].id, "ids out of order: {pair:?}");
    }
    let mut bodies = HashSet::new();
    for message in &stored {
        assert!(
            bodies.insert(message.body.as_str()),
            "stored twice: {message:?}"
        );
    }
    assert_eq!(joined.next_seq, stored.len() as u64 + 1, "{joined:?}");

    // Every acknowledged message is there with its id, seq, time and body.
    let by_seq: HashMap<u64, &Message> = stored.iter().map(|m| (m.seq, m)).collect();
    for (sender, body, ack) in &acked {
        let Some(message) = by_seq.get(&ack.seq) else {
            panic!("acknowledged message lost by the crash: {sender} {body:?} {ack:?}");
        };
        assert_eq!(
            (
                message.id,
                message.time,
                message.sender.as_str(),
                message.body.as_str()
            ),
            (ack.id, ack.time, sender.as_str(), body.as_str()),
            "stored message differs from its ACK"
        );
    }

    // New messages continue both numberings.
    let max_id = stored
        .iter()
        .map(|m| m.id)
        .chain(acked.iter().map(|(_, _, a)| a.id))
        .max()
        .unwrap();
    let client_ref = reader.say("load", "after the crash").await;
    let ack = reader.expect_ack(client_ref).await;
    assert_eq!(ack.seq, stored.len() as u64 + 1, "seq continues (MSG-4)");
    assert!(
        ack.id > max_id,
        "ids keep increasing (MSG-3): {ack:?} after {max_id}"
    );
    drop(reader);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_clean_restart_and_join_replays_the_latest() {
    // spec: ROOM-2, HISTORY-1, HISTORY-4, MSG-3, MSG-4, CLOSE-2
    let dir = TempDir::new("clean-restart");
    let mut server = start_binary(&dir, &[]);
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "diary", 0, 0).await;
    let mut acks = Vec::new();
    for i in 1..=15 {
        let client_ref = alice.say("diary", &format!("entry {i}")).await;
        acks.push(alice.expect_ack(client_ref).await);
    }
    let status = server.terminate();
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    let frames = alice.expect_closed().await;
    assert!(
        matches!(frames.last(), Some(Frame::Goodbye(g)) if g.reason == ErrorCode::SERVER_SHUTDOWN),
        "GOODBYE SERVER_SHUTDOWN last: {frames:?}"
    );
    let log = server.log_text();
    assert!(!log.contains("panicked"), "{log}");

    let server = start_binary(&dir, &[]);
    let (mut bob, greeting) = Client::connect(server.addr).await;
    let greeting = greeting_of(greeting);
    assert_eq!(
        greeting.flags & (Greeting::PERSISTENT | Greeting::ACCOUNTS | Greeting::ACCOUNT_REQUIRED),
        Greeting::PERSISTENT | Greeting::ACCOUNTS,
        "{greeting:?}"
    );
    bob.hello().await;
    bob.send_login("bob").await;
    assert!(matches!(bob.recv().await, Frame::Welcome(_)));
    bob.expect_joined("lobby").await;

    // JOIN with history 5: the last five, oldest first, as they were acknowledged.
    let (joined, replay, end) = join_full(&mut bob, "diary", 0, 5).await;
    assert_eq!(joined.next_seq, 16);
    let seqs: Vec<u64> = replay.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![11, 12, 13, 14, 15]);
    for (message, ack) in replay.iter().zip(&acks[10..]) {
        assert_eq!(
            (message.id, message.seq, message.time),
            (ack.id, ack.seq, ack.time)
        );
        assert_eq!(message.body, format!("entry {}", ack.seq).as_str());
        assert_eq!(message.sender, "alice");
        assert_eq!(message.flags, Message::HISTORY);
    }
    assert_eq!(end.count, 5);
    assert_eq!(
        end.flags & HistoryEnd::MORE,
        HistoryEnd::MORE,
        "older ones exist"
    );

    // since_seq: only what is newer; history 0: nothing, but HISTORY_END.
    let mut carol = Client::login(server.addr, "carol").await;
    let (_, replay, end) = join_full(&mut carol, "diary", 12, 100).await;
    assert_eq!(
        replay.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![13, 14, 15]
    );
    assert_eq!(end.flags & HistoryEnd::MORE, 0);
    let mut dave = Client::login(server.addr, "dave").await;
    let (_, replay, end) = join_full(&mut dave, "diary", 0, 0).await;
    assert!(replay.is_empty());
    assert_eq!(end.count, 0);

    // The whole history is in the store.
    let all = read_all_history(&mut bob, "diary", 200).await;
    assert_eq!(all.len(), 15);
    for (message, ack) in all.iter().zip(&acks) {
        assert_eq!((message.id, message.seq), (ack.id, ack.seq));
    }

    // A new message continues the numbering.
    let client_ref = bob.say("diary", "after the restart").await;
    let ack = bob.expect_ack(client_ref).await;
    assert_eq!(ack.seq, 16);
    assert!(ack.id > acks.last().unwrap().id);
    let live = carol.expect_message().await;
    assert_eq!((live.id, live.seq, live.flags), (ack.id, 16, 0));
    drop((bob, carol, dave));
    drop(server);
}

/// What a joiner saw after JOIN(room, since_seq, history): the room's seqs
/// from `since_seq + 1` up to `last`, each accounted for exactly once by
/// MISSED, the replay or live delivery, in that order and without gap.
async fn follow_join(
    client: &mut Client,
    room: &str,
    since_seq: u64,
    history: u16,
    history_max: u16,
    last: u64,
) {
    let (joined, replay, end) = join_full(client, room, since_seq, history).await;
    let next_seq = joined.next_seq;
    let name = client.name.clone();
    assert!(next_seq > since_seq, "{name}: {joined:?} since {since_seq}");
    // The replay: the most recent min(history, history_max) messages above since_seq.
    let available = next_seq - 1 - since_seq;
    let expected = available.min(u64::from(history.min(history_max)));
    assert_eq!(replay.len() as u64, expected, "{name}: replay length");
    for (offset, message) in replay.iter().enumerate() {
        assert_eq!(
            message.seq,
            next_seq - expected + offset as u64,
            "{name}: replay is the latest, contiguous, oldest first"
        );
    }
    let more = end.flags & HistoryEnd::MORE != 0;
    assert_eq!(more, expected < available, "{name}: MORE of {end:?}");
    let first_sent = replay.first().map_or(next_seq, |m| m.seq);
    let mut expect = next_seq;
    let mut missed_seen = false;
    let mut frames = 0;
    while expect <= last {
        frames += 1;
        assert!(frames < 200_000, "{name}: too many frames");
        match next_frame(client).await {
            Frame::Missed(Missed {
                room: r,
                from_seq,
                to_seq,
            }) => {
                assert!(
                    !missed_seen && expect == next_seq,
                    "{name}: MISSED out of place"
                );
                assert_eq!(r, room);
                assert_eq!(
                    (from_seq, to_seq),
                    (since_seq + 1, first_sent - 1),
                    "{name}: MISSED covers exactly the unreplayed gap (ROOM-3)"
                );
                missed_seen = true;
            }
            Frame::Message(message) => {
                assert_eq!(message.flags, 0, "{name}: live after the replay");
                assert_eq!(
                    message.seq, expect,
                    "{name}: live delivery must continue at next_seq without gap or repeat"
                );
                expect += 1;
            }
            other => panic!("{name}: expected live MESSAGE, got {other:?}"),
        }
    }
    let needs_missed = since_seq > 0 && first_sent > since_seq + 1;
    assert_eq!(
        missed_seen, needs_missed,
        "{name}: MISSED iff a gap is left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_then_live_has_no_gap_or_repeat_while_others_send() {
    // spec: ROOM-2, ROOM-3, MSG-2, MSG-4, MSG-5, HISTORY-1
    const SENDERS: usize = 3;
    const EACH: usize = 400;
    const TOTAL: u64 = (SENDERS * EACH) as u64;
    let dir = TempDir::new("replay-live");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let addr = server.addr;
    let history_max = TestServer::config().limits().history_max;

    // Two members who will leave and come back with since_seq.
    let mut rejoiners = Vec::new();
    for name in ["back-full", "back-short"] {
        let mut client = Client::login(addr, name).await;
        join_full(&mut client, "busy", 0, 0).await;
        rejoiners.push(client);
    }
    let (progress, acks) = watch::channel(0usize);
    let progress = Arc::new(progress);
    let mut loaded = Vec::new();
    for i in 0..SENDERS {
        let mut client = Client::login(addr, &format!("sender{i}")).await;
        join_full(&mut client, "busy", 0, 0).await;
        loaded.push(client);
    }
    let senders: Vec<_> = loaded
        .into_iter()
        .map(|client| {
            tokio::spawn(pump(
                client,
                "busy".into(),
                EACH,
                8,
                Arc::clone(&progress),
                Some(TOTAL as usize),
            ))
        })
        .collect();

    let mut joiners = Vec::new();
    // Newcomers at different moments, with and without a replay.
    for (name, at, history) in [
        ("new-50", 150, 50),
        ("new-0", 350, 0),
        ("new-all", 600, 1000),
    ] {
        let mut acks = acks.clone();
        joiners.push(tokio::spawn(async move {
            let mut client = Client::login(addr, name).await;
            acks.wait_for(|n| *n >= at).await.unwrap();
            follow_join(&mut client, "busy", 0, history, history_max, TOTAL).await;
        }));
    }
    // Members that read part of the stream, leave, and rejoin with since_seq.
    for (mut client, (at, history)) in rejoiners.into_iter().zip([(250, 1000), (450, 5)]) {
        let mut acks = acks.clone();
        joiners.push(tokio::spawn(async move {
            acks.wait_for(|n| *n >= at).await.unwrap();
            client.leave("busy").await;
            let mut last_held = 0;
            loop {
                match next_frame(&mut client).await {
                    Frame::Message(m) => {
                        assert_eq!(m.seq, last_held + 1, "{}: live gap", client.name);
                        last_held = m.seq;
                    }
                    Frame::Left(_) => break,
                    other => panic!("{}: expected MESSAGE or LEFT, got {other:?}", client.name),
                }
            }
            // Let the room move on before coming back.
            let now = *acks.borrow();
            let target = (now + 60).min(TOTAL as usize);
            acks.wait_for(|n| *n >= target).await.unwrap();
            follow_join(&mut client, "busy", last_held, history, history_max, TOTAL).await;
        }));
    }
    for joiner in joiners {
        tokio::time::timeout(Duration::from_secs(30), joiner)
            .await
            .expect("joiner finishes")
            .unwrap();
    }
    // Each sender holds every seq once: its own through ACKs, the others' as
    // live messages in seq order.
    for sender in senders {
        let report = sender.await.unwrap();
        assert!(!report.cut_off);
        assert_eq!(report.acked.len(), EACH);
        for pair in report.acked.windows(2) {
            assert!(pair[0].1.id < pair[1].1.id, "{}: ids", report.name);
            assert!(pair[0].1.seq < pair[1].1.seq, "{}: seqs", report.name);
        }
        for pair in report.received.windows(2) {
            assert!(pair[0].seq < pair[1].seq, "{}: delivery order", report.name);
        }
        let mut seqs: Vec<u64> = report
            .acked
            .iter()
            .map(|(_, a)| a.seq)
            .chain(report.received.iter().map(|m| m.seq))
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=TOTAL).collect::<Vec<_>>(), "{}", report.name);
    }
    // And the store has them all.
    let mut auditor = Client::login(addr, "auditor").await;
    join_full(&mut auditor, "busy", 0, 0).await;
    let stored = read_all_history(&mut auditor, "busy", history_max).await;
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=TOTAL).collect::<Vec<_>>()
    );
    drop(auditor);
    server.stop().await;
}

/// A DIRECT from `from` to `to`: the ACK (seq 0) and the live DIRECT_MESSAGE.
/// Returns the message as history will show it.
async fn dm_round_trip(from: &mut Client, to: &mut Client, body: &str) -> DirectMessage {
    let client_ref = from.dm(&to.name, body).await;
    let ack = from.expect_ack(client_ref).await;
    assert_eq!(ack.seq, 0);
    let mut message = match next_frame(to).await {
        Frame::DirectMessage(m) => m,
        other => panic!("{}: expected DIRECT_MESSAGE, got {other:?}", to.name),
    };
    assert_eq!(message.flags, 0, "live");
    assert_eq!(
        (
            message.id,
            message.time,
            message.from.as_str(),
            message.to.as_str(),
            message.body.as_str()
        ),
        (ack.id, ack.time, from.name.as_str(), to.name.as_str(), body)
    );
    message.flags = DirectMessage::HISTORY;
    message
}

/// Nothing unsolicited is queued: a WHO of the whole server is answered next.
async fn expect_nothing_pending(client: &mut Client) {
    client.who("").await;
    for _ in 0..1000 {
        match next_frame(client).await {
            Frame::WhoList(list) if list.flags & confab_protocol::frame::WhoList::MORE == 0 => {
                return
            }
            Frame::WhoList(_) => continue,
            other => panic!("{}: unsolicited {other:?}", client.name),
        }
    }
    panic!("{}: WHO never ended", client.name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_are_stored_and_replayed_only_to_their_parties() {
    // spec: DM-1, HISTORY-2, MSG-3
    let dir = TempDir::new("direct");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (mut alice, welcome) =
        Client::login_account(server.addr, LoginMode::Register, "alice", "alice-pw").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    let (mut bob, _) =
        Client::login_account(server.addr, LoginMode::Register, "bob", "bob-pw").await;
    let mut carol = Client::login(server.addr, "carol").await;

    let a2b = dm_round_trip(&mut alice, &mut bob, "alice to bob").await;
    let b2a = dm_round_trip(&mut bob, &mut alice, "bob to alice").await;
    let a2c = dm_round_trip(&mut alice, &mut carol, "alice to first carol").await;
    let c2a = dm_round_trip(&mut carol, &mut alice, "first carol to alice").await;

    // The first carol (a guest) leaves; a new guest takes the name.
    carol.quit().await;
    let mut carol2 = Client::login(server.addr, "carol").await;
    let (seen, _) = direct_history(&mut carol2, "alice", Direction::Before, 0, 0).await;
    assert!(
        seen.is_empty(),
        "a new guest sees the earlier guest's messages: {seen:?}"
    );
    let c2a2 = dm_round_trip(&mut carol2, &mut alice, "second carol to alice").await;
    let (seen, _) = direct_history(&mut carol2, "alice", Direction::After, 0, 0).await;
    assert_eq!(seen, vec![c2a2.clone()]);
    // alice was a party to all of them.
    let (seen, _) = direct_history(&mut alice, "carol", Direction::After, 0, 0).await;
    assert_eq!(seen, vec![a2c.clone(), c2a.clone(), c2a2.clone()]);
    let max_id = c2a2.id;
    drop((alice, bob, carol2));
    server.stop().await;

    // After a restart, only HISTORY kind 1 brings them back, to their parties.
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (mut alice, welcome) =
        Client::login_account(server.addr, LoginMode::Login, "alice", "alice-pw").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    expect_nothing_pending(&mut alice).await;
    let (seen, end) = direct_history(&mut alice, "bob", Direction::After, 0, 0).await;
    assert_eq!(seen, vec![a2b.clone(), b2a.clone()]);
    assert_eq!(end.flags & HistoryEnd::MORE, 0);
    let (seen, end) = direct_history(&mut alice, "carol", Direction::Before, 0, 2).await;
    assert_eq!(bodies_of(&seen), bodies_of(&[c2a.clone(), c2a2.clone()]));
    assert_eq!(end.flags & HistoryEnd::MORE, HistoryEnd::MORE);
    let (seen, _) = direct_history(&mut alice, "carol", Direction::Before, c2a.id, 0).await;
    assert_eq!(seen, vec![a2c.clone()]);

    let (mut bob, _) = Client::login_account(server.addr, LoginMode::Login, "bob", "bob-pw").await;
    expect_nothing_pending(&mut bob).await;
    let (seen, _) = direct_history(&mut bob, "alice", Direction::Before, 0, 0).await;
    assert_eq!(seen, vec![a2b.clone(), b2a.clone()]);
    let (seen, _) = direct_history(&mut bob, "carol", Direction::Before, 0, 0).await;
    assert!(seen.is_empty(), "bob was no party: {seen:?}");

    // A third guest "carol" after the restart, and a stranger: nothing.
    let mut carol3 = Client::login(server.addr, "carol").await;
    let (seen, _) = direct_history(&mut carol3, "alice", Direction::After, 0, 0).await;
    assert!(seen.is_empty(), "{seen:?}");
    let mut dave = Client::login(server.addr, "dave").await;
    for target in ["alice", "bob", "carol"] {
        let (seen, _) = direct_history(&mut dave, target, Direction::After, 0, 0).await;
        assert!(seen.is_empty(), "dave sees {target}'s messages: {seen:?}");
    }

    // Ids keep increasing across the restart.
    let next = dm_round_trip(&mut alice, &mut bob, "after the restart").await;
    assert!(next.id > max_id, "MSG-3: {} after {max_id}", next.id);
    drop((alice, bob, carol3, dave));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_departed_guests_name_does_not_reveal_its_direct_messages() {
    // spec: HISTORY-2
    let dir = TempDir::new("guest-then-account");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (mut alice, _) =
        Client::login_account(server.addr, LoginMode::Register, "alice", "alice-pw").await;
    let mut frank = Client::login(server.addr, "frank").await;
    dm_round_trip(&mut frank, &mut alice, "a guest's secret").await;
    dm_round_trip(&mut alice, &mut frank, "reply to the guest").await;
    frank.quit().await;

    // Someone else registers the name the guest used: a different identity.
    let (mut frank_account, _) =
        Client::login_account(server.addr, LoginMode::Register, "frank", "frank-pw").await;
    let (seen, _) = direct_history(&mut frank_account, "alice", Direction::After, 0, 0).await;
    assert!(
        seen.is_empty(),
        "the new account holder reads the departed guest's direct messages: {:?}",
        bodies_of(&seen)
    );
    drop((alice, frank_account));
    server.stop().await;
}

/// Asks the store (HISTORY kind room, After, anchor 0, `limit`) until `done`
/// holds for the answer; a timed background job is awaited by polling, at
/// most `within`.
async fn poll_store(
    client: &mut Client,
    room: &str,
    limit: u16,
    within: Duration,
    done: impl Fn(&[Message], &HistoryEnd) -> bool,
) -> Vec<Message> {
    let deadline = Instant::now() + within;
    loop {
        let (stored, end, _live) = room_history(client, room, Direction::After, 0, limit).await;
        if done(&stored, &end) {
            return stored;
        }
        assert!(
            Instant::now() < deadline,
            "store of {room} still holds seqs {:?} (MORE {}) after {within:?}",
            stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
            end.flags & HistoryEnd::MORE
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn seqs(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_latest_per_room_without_stalling_delivery() {
    // spec: HISTORY-4, HISTORY-1, MSG-2, MSG-4
    let dir = TempDir::new("retention");
    // history_max 10, so the per-room count still keeps history_max (HISTORY-4).
    let server = start_binary(
        &dir,
        &[
            "--retention-per-room",
            "10",
            "--retention-interval-s",
            "1",
            "--history-max",
            "10",
        ],
    );
    let mut alice = Client::login(server.addr, "alice").await;
    let mut watcher = Client::login(server.addr, "watcher").await;
    let mut auditor = Client::login(server.addr, "auditor").await;
    for client in [&mut alice, &mut watcher, &mut auditor] {
        join_full(client, "ret", 0, 0).await;
    }
    let mut refs = Vec::new();
    for i in 1..=30 {
        refs.push(alice.say("ret", &format!("message {i}")).await);
    }
    for client_ref in refs {
        alice.expect_ack(client_ref).await;
    }
    for seq in 1..=30 {
        assert_eq!(watcher.expect_message().await.seq, seq);
    }
    let kept = poll_store(
        &mut auditor,
        "ret",
        0,
        Duration::from_secs(5),
        |stored, end| {
            stored.first().is_some_and(|m| m.seq > 1) && end.flags & HistoryEnd::MORE == 0
        },
    )
    .await;
    assert_eq!(seqs(&kept), (21..=30).collect::<Vec<_>>());
    assert_eq!(kept[0].body, "message 21");
    let (older, end, _) = room_history(&mut auditor, "ret", Direction::Before, 21, 0).await;
    assert!(
        older.is_empty() && end.flags & HistoryEnd::MORE == 0,
        "{older:?}"
    );

    // Messages keep flowing, one round trip at a time, across retention passes.
    let flow = Instant::now();
    let mut last_seq = 30;
    let mut slowest = Duration::ZERO;
    let mut oldest_kept = Vec::new();
    let mut next_audit = Instant::now();
    while flow.elapsed() < Duration::from_millis(2_500) && last_seq < 5_000 {
        let started = Instant::now();
        let client_ref = alice.say("ret", &format!("flow {}", last_seq + 1)).await;
        let ack = alice.expect_ack(client_ref).await;
        let live = watcher.expect_message().await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(ack.seq, last_seq + 1);
        assert_eq!((live.seq, live.id), (ack.seq, ack.id));
        last_seq = ack.seq;
        if Instant::now() >= next_audit {
            let (stored, _, _) = room_history(&mut auditor, "ret", Direction::After, 0, 1).await;
            oldest_kept.push(stored[0].seq);
            next_audit = Instant::now() + Duration::from_millis(200);
        }
    }
    eprintln!(
        "retention: {} messages in {:?}, slowest round trip {slowest:?}, oldest kept {oldest_kept:?}",
        last_seq - 30,
        flow.elapsed()
    );
    assert!(
        slowest < Duration::from_millis(1_500),
        "delivery stalled for {slowest:?}"
    );
    assert!(
        oldest_kept.iter().any(|&seq| seq > 21),
        "no retention pass observed while messages flowed: {oldest_kept:?}"
    );
    let kept = poll_store(
        &mut auditor,
        "ret",
        0,
        Duration::from_secs(5),
        |stored, end| {
            stored.first().is_some_and(|m| m.seq == last_seq - 9)
                && end.flags & HistoryEnd::MORE == 0
        },
    )
    .await;
    assert_eq!(seqs(&kept), (last_seq - 9..=last_seq).collect::<Vec<_>>());
    drop((alice, watcher, auditor));
    drop(server);
}

fn open_db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("confab.sqlite3")).unwrap()
}

fn user_version(conn: &rusqlite::Connection) -> u32 {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

fn insert_message(
    conn: &rusqlite::Connection,
    id: u64,
    room: &str,
    seq: u64,
    time: u64,
    sender: &str,
    body: &str,
) {
    conn.execute(
        "INSERT INTO messages (id, room_key, room, seq, time, sender, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![id as i64, name_key(room), room, seq as i64, time as i64, sender, body],
    )
    .unwrap();
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbering_survives_a_restart_after_age_retention_emptied_a_room() {
    // spec: MSG-3, MSG-4, HISTORY-4
    let dir = TempDir::new("age-retention");
    {
        let mut conn = open_db(dir.path());
        assert_eq!(schema::migrate(&mut conn).unwrap(), schema::CURRENT);
        // One message from now in a room, then five from 1970 in another
        // (ids 2 to 6: the highest ids are the ones that expire).
        insert_message(&conn, 1, "porch", 1, now_ms(), "ghost", "just now");
        for seq in 1..=5 {
            insert_message(
                &conn,
                seq + 1,
                "attic",
                seq,
                1_000 + seq,
                "ghost",
                "long ago",
            );
        }
    }
    let aging = Config {
        retention_days: 1,
        retention_interval_s: 1,
        ..TestServer::persistent_config(dir.path())
    };
    let server = TestServer::start(aging).await;
    let mut keeper = Client::login(server.addr, "keeper").await;
    let (joined, _, _) = join_full(&mut keeper, "attic", 0, 0).await;
    assert_eq!(joined.next_seq, 6);
    join_full(&mut keeper, "porch", 0, 0).await;
    // Age retention removes the old ones from the store, not the recent one.
    poll_store(
        &mut keeper,
        "attic",
        0,
        Duration::from_secs(5),
        |stored, _| stored.is_empty(),
    )
    .await;
    let (porch, _, _) = room_history(&mut keeper, "porch", Direction::After, 0, 0).await;
    assert_eq!(seqs(&porch), vec![1], "a recent message is kept");
    drop(keeper);
    server.stop().await;

    // The room's numbering and the message ids go on after a restart.
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let mut keeper = Client::login(server.addr, "keeper").await;
    let (joined, _, _) = join_full(&mut keeper, "attic", 0, 0).await;
    let client_ref = keeper.say("attic", "still here").await;
    let ack = keeper.expect_ack(client_ref).await;
    assert!(
        joined.next_seq == 6 && ack.seq == 6 && ack.id > 6,
        "after its stored messages expired and the server restarted, room attic got \
         JOINED next_seq {} and a new message seq {} (MSG-4 wants 6: seqs 1..=5 were \
         assigned) and id {} (MSG-3 wants > 6: ids 1..=6 were assigned)",
        joined.next_seq,
        ack.seq,
        ack.id
    );
    drop(keeper);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_is_migrated_and_keeps_its_messages_and_accounts() {
    // spec: HISTORY-1, HISTORY-4, HANDSHAKE-6, ROOM-2, MSG-3, MSG-4, HISTORY-2
    let dir = TempDir::new("migrate");
    let then = now_ms() - 60_000;
    {
        let mut conn = open_db(dir.path());
        assert_eq!(schema::migrate_to(&mut conn, 1).unwrap(), 1);
        assert_eq!(user_version(&conn), 1);
        for seq in 1..=3 {
            insert_message(
                &conn,
                100 + seq,
                "Archive",
                seq,
                then + seq,
                "olduser",
                &format!("old {seq}"),
            );
        }
        conn.execute(
            "INSERT INTO accounts (name_key, name, hash, created) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                name_key("olduser"),
                "olduser",
                accounts::hash("old-password").unwrap(),
                then as i64
            ],
        )
        .unwrap();
    }
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (mut old, welcome) =
        Client::login_account(server.addr, LoginMode::Login, "olduser", "old-password").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    {
        let conn = open_db(dir.path());
        assert_eq!(user_version(&conn), schema::CURRENT, "migrated on start-up");
        let direct: i64 = conn
            .query_row("SELECT COUNT(*) FROM direct_messages", [], |row| row.get(0))
            .unwrap();
        assert_eq!(direct, 0);
    }

    // The old messages are history, replayed and readable.
    let (joined, replay, _) = join_full(&mut old, "archive", 0, 10).await;
    assert_eq!(joined.next_seq, 4);
    assert_eq!(joined.room, "Archive", "the stored spelling of the room");
    assert_eq!(
        replay
            .iter()
            .map(|m| (m.id, m.seq, m.time, m.body.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (101, 1, then + 1, "old 1"),
            (102, 2, then + 2, "old 2"),
            (103, 3, then + 3, "old 3")
        ]
    );
    let stored = read_all_history(&mut old, "archive", 2).await;
    assert_eq!(stored, replay);
    let client_ref = old.say("archive", "new after migration").await;
    let ack = old.expect_ack(client_ref).await;
    assert_eq!(ack.seq, 4);
    assert!(ack.id > 103, "{ack:?}");

    // The old account's name is protected; the new direct-message table works.
    let (mut impostor, _) = Client::connect(server.addr).await;
    impostor.hello().await;
    let rejected = impostor
        .try_login(LoginMode::Guest, "olduser", "")
        .await
        .expect_err("a guest may not take a registered name");
    assert_eq!(rejected.code, ErrorCode::ACCOUNT_REQUIRED);
    let mut visitor = Client::login(server.addr, "visitor").await;
    let sent = dm_round_trip(&mut old, &mut visitor, "hello from the past").await;
    let (seen, _) = direct_history(&mut old, "visitor", Direction::After, 0, 0).await;
    assert_eq!(seen, vec![sent]);
    drop((old, impostor, visitor));
    server.stop().await;
}

/// `confab_server::run` on `data_dir` must fail with a message containing
/// every one of `words`, and so must the binary (non-zero exit, message on
/// stderr, no panic).
async fn refuses_to_start(data_dir: &Path, words: &[&str]) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        in_memory: false,
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    let result = tokio::time::timeout(
        PATIENCE,
        confab_server::run(listener, config, tokio_util::sync::CancellationToken::new()),
    )
    .await
    .expect("run returns at once");
    let error = result.expect_err("the server must not start on this data directory");
    for word in words {
        assert!(
            error.contains(word),
            "run's error {error:?} should mention {word:?}"
        );
    }
    let dir_arg = data_dir.to_str().unwrap();
    let (status, stderr) = run_binary_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir_arg,
        "--log",
        "info",
    ]);
    assert!(!status.success(), "exit status {status:?}; stderr {stderr}");
    assert!(
        !stderr.contains("panicked"),
        "the binary panicked instead of reporting: {stderr}"
    );
    for word in words {
        assert!(
            stderr.contains(word),
            "stderr {stderr:?} should mention {word:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_data_directories_are_refused_at_start_up_with_a_clear_error() {
    // spec: HISTORY-4
    // A database from a newer server.
    let newer = TempDir::new("newer-schema");
    {
        let mut conn = open_db(newer.path());
        schema::migrate(&mut conn).unwrap();
        conn.pragma_update(None, "user_version", schema::CURRENT + 1)
            .unwrap();
    }
    refuses_to_start(
        newer.path(),
        &[
            "schema version",
            &(schema::CURRENT + 1).to_string(),
            "newer",
        ],
    )
    .await;
    assert_eq!(
        user_version(&open_db(newer.path())),
        schema::CURRENT + 1,
        "left as it was"
    );

    // A file that is not a database.
    let corrupt = TempDir::new("corrupt");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let garbage: Vec<u8> = (0..16_384)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    let file = corrupt.path().join("confab.sqlite3");
    std::fs::write(&file, &garbage).unwrap();
    refuses_to_start(corrupt.path(), &["confab.sqlite3", "not a database"]).await;
    assert_eq!(
        std::fs::read(&file).unwrap(),
        garbage,
        "the server must not overwrite a file it cannot read"
    );

    // A data directory that cannot be created (a regular file is in the way).
    let blocked = TempDir::new("unwritable");
    let blocker = blocked.path().join("not-a-directory");
    std::fs::write(&blocker, b"a regular file").unwrap();
    refuses_to_start(
        &blocker.join("data"),
        &["data directory", "not-a-directory"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_retention_pass_does_not_hold_up_delivery() {
    // spec: MSG-2, HISTORY-4, FLOW-4
    const EXPIRED: i64 = 400_000;
    let dir = TempDir::new("retention-backlog");
    {
        // A backlog of expired messages, as after a long downtime or when
        // --retention-days is first turned on.
        let mut conn = open_db(dir.path());
        schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO messages (id, room_key, room, seq, time, sender, body)
                     VALUES (?1, 'cellar', 'cellar', ?1, ?2, 'ghost', ?3)",
                )
                .unwrap();
            for id in 1..=EXPIRED {
                insert
                    .execute(rusqlite::params![
                        id,
                        1_000 + id,
                        "an old message body of about sixty bytes, long expired"
                    ])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    // The first retention pass starts as the server starts.
    let server = TestServer::start(Config {
        retention_days: 1,
        retention_interval_s: 1,
        ..TestServer::persistent_config(dir.path())
    })
    .await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    let mut slowest = Duration::ZERO;
    let mut seq = 0;
    let flow = Instant::now();
    while flow.elapsed() < Duration::from_millis(2_000) {
        let started = Instant::now();
        let client_ref = alice.say("lobby", "meanwhile").await;
        let ack = alice.expect_ack(client_ref).await;
        let live = bob.expect_message().await;
        assert_eq!(live.seq, ack.seq);
        seq = ack.seq;
        slowest = slowest.max(started.elapsed());
    }
    // The pass did run: the backlog is gone from the store.
    let mut auditor = Client::login(server.addr, "auditor").await;
    join_full(&mut auditor, "cellar", 0, 0).await;
    poll_store(
        &mut auditor,
        "cellar",
        1,
        Duration::from_secs(10),
        |stored, _| stored.is_empty(),
    )
    .await;
    // How long a round trip took is reported, not asserted (a busy machine
    // would break any bound): that the writer never waits for a pass is
    // checked structurally in retention.rs
    // (`history_and_logins_are_answered_while_a_pass_is_held`).
    eprintln!("retention backlog: {seq} messages sent, slowest round trip {slowest:?}");
    drop((alice, bob, auditor));
    server.stop().await;
}
