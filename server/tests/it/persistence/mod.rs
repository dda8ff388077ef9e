//! The durable store (SQLite in the data directory): acknowledged messages
//! survive a crash, history survives restarts, replay meets live delivery
//! without gap, direct messages are kept for their parties only, retention,
//! schema migration and start-up failures (spec sections 8, 9 and 11).

mod crash;
mod database;
mod direct;
mod restart;
mod retention;

use crate::common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{run_binary_to_exit, Client, ServerProcess, TempDir, TestServer, PATIENCE};
use confab_protocol::frame::{
    Ack, DirectMessage, Direction, Frame, Greeting, HistoryEnd, HistoryKind, Joined, LoginMode,
    Message, Missed, Pong, SendMessage, Welcome,
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
            let frame = Frame::SendMessage(SendMessage {
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
