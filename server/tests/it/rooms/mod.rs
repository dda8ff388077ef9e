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

mod direct;
mod history;
mod listing;
mod ordering;
mod replay;

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
