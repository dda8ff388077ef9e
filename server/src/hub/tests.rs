//! The hub and its rooms on their own: no server, no `Shared`, only members
//! with outboxes and a message log.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use confab_protocol::frame::{Direction, Frame, Message, PresenceEvent};
use confab_protocol::{Str16, Str8};

use super::{Hub, Member, NoRoom};
use crate::connection::acks::Unacked;
use crate::connection::outbox::{GlobalQueue, Outbox};
use crate::log::{LoadedRoom, Log, MemoryLog, MessageLog};

fn message(seq: u64, time: u64) -> Message {
    Message {
        id: seq,
        seq,
        time,
        flags: Message::HISTORY,
        room: Str8::truncated("r"),
        sender: Str8::truncated("alice"),
        body: Str16::truncated("hi"),
    }
}

fn kept(hub: &Hub) -> Vec<u64> {
    let room = hub.room("r").unwrap();
    let (messages, _) = room.history(Direction::After, 0, 100);
    messages.iter().map(|m| m.seq).collect()
}

fn member(conn_id: u64, name: &str) -> Arc<Member> {
    Arc::new(Member {
        conn_id,
        name: Str8::truncated(name),
        outbox: Arc::new(Outbox::new(GlobalQueue::new(1 << 30, 1_000, 1 << 20))),
        history_floor: AtomicU64::new(0),
        moderation: super::MemberModeration {
            key: crate::hub::key_of(name),
            registered: false,
            aware: false,
            ip: std::net::IpAddr::from([127, 0, 0, 1]),
            removed: Default::default(),
        },
    })
}

/// The frames queued for `member` so far.
async fn frames(member: &Member) -> Vec<Frame> {
    let (queued, _) = member.outbox.drain().await;
    crate::test_frames::decode_all(&queued)
}

fn kinds(frames: &[Frame]) -> Vec<&'static str> {
    frames
        .iter()
        .map(|frame| match frame {
            Frame::Joined(_) => "JOINED",
            Frame::HistoryEnd(_) => "HISTORY_END",
            Frame::Message(_) => "MESSAGE",
            Frame::Ack(_) => "ACK",
            Frame::Missed(_) => "MISSED",
            _ => "other",
        })
        .collect()
}

#[test]
fn forget_removes_what_retention_removed_by_age_and_by_count() {
    // spec: HISTORY-5
    let hub = Hub::new(10);
    let recent = (1..=6).map(|seq| message(seq, 100 * seq)).collect();
    hub.restore_room(
        LoadedRoom {
            name: "r".into(),
            next_seq: 7,
            recent,
        },
        0,
    );
    hub.forget(Some(250), &HashMap::new());
    assert_eq!(kept(&hub), [3, 4, 5, 6]);
    hub.forget(None, &HashMap::from([("r".to_string(), 5)]));
    assert_eq!(kept(&hub), [5, 6]);
    hub.forget(None, &HashMap::from([("other".to_string(), 100)]));
    assert_eq!(kept(&hub), [5, 6]);
}

#[test]
fn rooms_are_found_as_names_compare_and_capped() {
    // spec: ROOM-1, LIMIT-5
    let hub = Hub::new(10);
    let lobby = hub.room_or_create("Lobby", 2, || true).unwrap();
    let again = hub.room_or_create("lobby", 2, || false).unwrap();
    assert!(Arc::ptr_eq(&lobby, &again), "found, not made again");
    assert!(hub.room("LOBBY").is_some());
    assert_eq!(
        hub.room_or_create("other", 2, || false).unwrap_err(),
        NoRoom::TooFast
    );
    hub.room_or_create("other", 2, || true).unwrap();
    assert_eq!(
        hub.room_or_create("third", 2, || true).unwrap_err(),
        NoRoom::ServerFull
    );
    assert_eq!(hub.room_count(), 2);
}

#[test]
fn an_idle_room_goes_unless_it_holds_history_only_memory_has() {
    // spec: LIMIT-5
    let hub = Hub::new(10);
    let empty = hub.room_or_create("empty", 0, || true).unwrap();
    hub.let_go_if_idle(&empty, false);
    assert!(hub.room("empty").is_none(), "nothing to keep");
    hub.restore_room(
        LoadedRoom {
            name: "r".into(),
            next_seq: 2,
            recent: vec![message(1, 1)],
        },
        0,
    );
    let room = hub.room("r").unwrap();
    hub.let_go_if_idle(&room, false);
    assert!(hub.room("r").is_some(), "its history lives only here");
    hub.let_go_if_idle(&room, true);
    assert!(hub.room("r").is_none(), "the log has its history");
}

#[tokio::test]
async fn with_the_memory_log_a_message_is_delivered_and_acknowledged_at_once() {
    // spec: MSG-1, MSG-2, MSG-4
    let hub = Hub::new(10);
    let log = Log::Memory(MemoryLog::new(10));
    let room = hub.room_or_create("r", 0, || true).unwrap();
    let (alice, bob) = (member(1, "alice"), member(2, "bob"));
    for who in [&alice, &bob] {
        room.join(who, 0, 10, 1).unwrap();
    }
    let _ = (frames(&alice).await, frames(&bob).await);
    let unacked = Arc::new(Unacked::default());
    for n in 0..3 {
        let slot = log.reserve().await.unwrap();
        assert!(room.publish(
            &alice,
            n,
            Str16::truncated("hi"),
            0,
            1_000,
            || hub.next_message_id(),
            slot,
            &unacked,
        ));
    }
    assert!(!unacked.any(), "nothing owed: durable at once");
    let to_bob = frames(&bob).await;
    let seqs: Vec<u64> = to_bob
        .iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some(m.seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, [1, 2, 3], "contiguous, in order");
    assert_eq!(kinds(&frames(&alice).await), ["ACK", "ACK", "ACK"]);
    let (history, _) = room.history(Direction::Before, 0, 10);
    assert_eq!(history.len(), 3, "the replay buffer is the room's history");
    assert!(history.iter().all(|m| m.flags & Message::HISTORY != 0));
    // Someone who is not a member cannot publish.
    let carol = member(3, "carol");
    let slot = log.reserve().await.unwrap();
    assert!(!room.publish(
        &carol,
        9,
        Str16::truncated("hi"),
        0,
        1_000,
        || hub.next_message_id(),
        slot,
        &unacked,
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_sqlite_log_a_message_waits_for_its_commit_and_a_joiner_gets_it_live() {
    // spec: MSG-2, ROOM-2, ORDER-1
    let dir = std::env::temp_dir().join(format!("confab-hub-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (store, _) = crate::store::Store::open(&dir, 10, crate::store::SyncMode::Full).unwrap();
    let log = Log::Sqlite(store.log());
    let hub = Hub::new(10);
    let room = hub.room_or_create("r", 0, || true).unwrap();
    let alice = member(1, "alice");
    room.join(&alice, 0, 10, 1).unwrap();
    let _ = frames(&alice).await;
    let unacked = Arc::new(Unacked::default());
    let slot = log.reserve().await.unwrap();
    assert!(room.publish(
        &alice,
        7,
        Str16::truncated("hello"),
        0,
        1_000,
        || hub.next_message_id(),
        slot,
        &unacked,
    ));
    // Whether or not the commit came yet, a joiner's replay ends where live
    // delivery starts: it sees the message once, either way.
    let bob = member(2, "bob");
    room.join(&bob, 0, 10, 2).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), unacked.settled())
        .await
        .expect("the ACK follows the commit");
    let to_alice = frames(&alice).await;
    assert!(
        to_alice
            .iter()
            .any(|f| matches!(f, Frame::Ack(a) if a.client_ref == 7 && a.seq == 1)),
        "{to_alice:?}"
    );
    let to_bob = frames(&bob).await;
    let delivered = to_bob
        .iter()
        .filter(|f| matches!(f, Frame::Message(m) if m.seq == 1))
        .count();
    assert_eq!(delivered, 1, "{to_bob:?}");
    let (stored, _) = log
        .room_history("r", Direction::After, 0, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.len(), 1);
    room.remove(&bob, PresenceEvent::Left, 3);
    drop((log, store));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn names_are_claimed_once_by_their_key_and_freed_by_their_holder() {
    let hub = Hub::new(100);
    // Short keys are kept inline, long ones apart: both must be found.
    let long = "m".repeat(40);
    for (name, look_alike) in [("Alice", "ALICE"), (long.as_str(), &long.to_uppercase())] {
        let holder = member(1, name);
        assert!(hub.claim_name(&holder));
        // spec: SEC-8
        assert!(!hub.claim_name(&member(2, look_alike)));
        assert_eq!(hub.user(look_alike).map(|m| m.conn_id), Some(1));
        // Only the holder's connection frees the name.
        hub.release_name(&member(2, look_alike));
        assert!(hub.user(name).is_some());
        hub.release_name(&holder);
        assert!(hub.user(name).is_none());
        assert!(hub.claim_name(&member(2, look_alike)));
    }
    assert_eq!(hub.members().len(), 2);
}

#[test]
fn a_member_stays_small() {
    // With the `Arc`'s two counts a member takes 128 bytes, one of jemalloc's
    // size classes; 8 bytes more would take 160 for every logged-in user.
    let size = std::mem::size_of::<Member>();
    assert!(size <= 112, "a member grew to {size} bytes");
}
