//! The message log's contract, checked against both implementations: the
//! in-memory log and the SQLite store in a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use confab_protocol::frame::{DirectMessage, Direction, Message};
use confab_protocol::{Str16, Str8};

use super::*;
use crate::store::{Store, SyncMode};
use crate::sync::lock;

/// A directory of its own under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "confab-log-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Both logs, each with what keeps it alive.
fn logs(keep: usize) -> Vec<(&'static str, Log, Option<TempDir>)> {
    let dir = TempDir::new("contract");
    let (store, _) = Store::open(dir.path(), keep, SyncMode::Full).expect("a new store");
    vec![
        ("memory", Log::Memory(MemoryLog::new(keep)), None),
        ("sqlite", Log::Sqlite(store.log()), Some(dir)),
    ]
}

/// Records what the log says is durable, in the order it says so.
#[derive(Default)]
struct Recorder {
    durable: Mutex<Vec<u64>>,
    changed: tokio::sync::Notify,
}

impl OnDurable for Recorder {
    fn durable(&self, entry: &Entry) {
        lock(&self.durable).push(id_of(entry));
        self.changed.notify_waiters();
    }
}

impl Recorder {
    async fn wait_for(&self, count: usize) -> Vec<u64> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let durable = lock(&self.durable).clone();
            if durable.len() >= count {
                return durable;
            }
            tokio::time::timeout(std::time::Duration::from_secs(10), changed)
                .await
                .expect("the log says when an entry is durable");
        }
    }
}

fn id_of(entry: &Entry) -> u64 {
    match entry {
        Entry::Room(m) => m.id,
        Entry::Direct(m) => m.id,
    }
}

fn room_message(id: u64, seq: u64, time: u64) -> Message {
    Message {
        id,
        seq,
        time,
        flags: 0,
        room: Str8::truncated("Lobby"),
        sender: Str8::truncated("alice"),
        body: Str16::truncated(&format!("room {seq}")),
    }
}

fn direct_message(id: u64, from: &str, to: &str, time: u64) -> DirectMessage {
    DirectMessage {
        id,
        time,
        flags: DirectMessage::ACTION,
        from: Str8::truncated(from),
        to: Str8::truncated(to),
        body: Str16::truncated(&format!("direct {id}")),
    }
}

/// Appends every entry, in order, and waits until all are durable; returns
/// the ids in the order the log said they were.
async fn append_all(log: &Log, entries: Vec<Entry>) -> Vec<u64> {
    let recorder = Arc::new(Recorder::default());
    let mut now = Vec::new();
    let mut later = 0;
    for entry in entries {
        let id = id_of(&entry);
        let slot = log.reserve().await.expect("room in the log");
        let deferred = slot.defers();
        let notify = Arc::clone(&recorder);
        match slot.append(entry, move || notify as Notify) {
            Appended::Now => {
                assert!(!deferred, "a slot that defers never appends at once");
                now.push(id);
            }
            Appended::Later => {
                assert!(deferred);
                later += 1;
            }
        }
    }
    let told = recorder.wait_for(later).await;
    assert!(
        now.is_empty() || told.is_empty(),
        "one log either tells or does not"
    );
    now.into_iter().chain(told).collect()
}

fn ids<T>(page: &[T], id: impl Fn(&T) -> u64) -> Vec<u64> {
    page.iter().map(id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_durable_in_append_order() {
    // spec: MSG-2, MSG-4
    for (name, log, _dir) in logs(100) {
        let mut entries: Vec<Entry> = Vec::new();
        for n in 1..=20 {
            entries.push(if n % 3 == 0 {
                Entry::Direct(direct_message(n, "alice", "bob", 1_000 + n))
            } else {
                Entry::Room(room_message(n, n, 1_000 + n))
            });
        }
        let order = append_all(&log, entries).await;
        assert_eq!(order, (1..=20).collect::<Vec<_>>(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_reads_the_same_from_either_side_and_pages_by_id() {
    // spec: HISTORY-2
    for (name, log, _dir) in logs(100) {
        let mut entries = Vec::new();
        for id in 1..=6 {
            let (from, to) = if id % 2 == 0 {
                ("Alice", "bob")
            } else {
                ("bob", "alice")
            };
            entries.push(Entry::Direct(direct_message(id, from, to, 500)));
        }
        entries.push(Entry::Direct(direct_message(7, "alice", "carol", 500)));
        append_all(&log, entries).await;

        let read = |a: &str, b: &str, floor, direction, anchor, limit| {
            log.direct_history(ConversationKey::new(a, b), floor, direction, anchor, limit)
        };
        let (all, more) = read("bob", "ALICE", 0, Direction::After, 0, 100)
            .await
            .unwrap();
        assert_eq!(ids(&all, |m| m.id), [1, 2, 3, 4, 5, 6], "{name}");
        assert!(!more, "{name}");
        assert!(
            all.iter()
                .all(|m| m.flags == DirectMessage::HISTORY | DirectMessage::ACTION),
            "{name}: read back as history, the ACTION flag kept"
        );
        assert_eq!(all[1].from.as_str(), "Alice", "{name}: spelled as sent");

        let (newest, more) = read("alice", "bob", 0, Direction::Before, 0, 2)
            .await
            .unwrap();
        assert_eq!(ids(&newest, |m| m.id), [5, 6], "{name}");
        assert!(more, "{name}");
        let (older, _) = read("alice", "bob", 0, Direction::Before, 5, 2)
            .await
            .unwrap();
        assert_eq!(ids(&older, |m| m.id), [3, 4], "{name}");
        let (after, more) = read("alice", "bob", 0, Direction::After, 4, 10)
            .await
            .unwrap();
        assert_eq!(ids(&after, |m| m.id), [5, 6], "{name}");
        assert!(!more, "{name}");
        let (floored, _) = read("alice", "bob", 4, Direction::After, 0, 10)
            .await
            .unwrap();
        assert_eq!(
            ids(&floored, |m| m.id),
            [4, 5, 6],
            "{name}: the floor hides older"
        );
        let (nobody, more) = read("alice", "dave", 0, Direction::After, 0, 10)
            .await
            .unwrap();
        assert!(nobody.is_empty() && !more, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_history_and_numbering_come_back_from_a_persistent_log() {
    // spec: HISTORY-1, MSG-3
    for (name, log, _dir) in logs(3) {
        let entries = (1..=5)
            .map(|seq| Entry::Room(room_message(10 + seq, seq, 100)))
            .collect();
        append_all(&log, entries).await;
        let page = log
            .room_history("lobby", Direction::Before, 0, 2)
            .await
            .unwrap();
        let loaded = log.load_room("LOBBY".into(), 3).await.unwrap();
        if !log.is_persistent() {
            // The in-memory log keeps room messages only in the rooms.
            assert!(page.is_none() && loaded.is_none(), "{name}");
            continue;
        }
        let (messages, more) = page.expect("kept by the log");
        assert_eq!(ids(&messages, |m| m.seq), [4, 5], "{name}");
        assert!(more, "{name}");
        assert!(messages.iter().all(|m| m.flags & Message::HISTORY != 0));
        let loaded = loaded.expect("a room with messages");
        assert_eq!(loaded.name, "Lobby", "{name}: spelled as stored");
        assert_eq!(loaded.next_seq, 6, "{name}");
        assert_eq!(ids(&loaded.recent, |m| m.seq), [3, 4, 5], "{name}");
        assert!(log.load_room("never".into(), 3).await.unwrap().is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_by_age_removes_old_direct_messages_and_says_so() {
    // spec: HISTORY-5
    for (name, log, _dir) in logs(100) {
        let entries = [(1, 100), (2, 900), (3, 200), (4, 1_000)]
            .into_iter()
            .map(|(id, time)| Entry::Direct(direct_message(id, "alice", "bob", time)))
            .collect();
        append_all(&log, entries).await;
        let policy = Policy {
            now: 1_500,
            max_age_ms: Some(1_000),
            max_per_room: None,
        };
        let mut checkpoints = 0;
        let counted = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&counted);
        let pruned = log
            .apply_retention(
                policy,
                Box::new(move || {
                    seen.fetch_add(1, Ordering::Relaxed);
                }),
            )
            .await
            .unwrap();
        checkpoints += counted.load(Ordering::Relaxed);
        assert_eq!(pruned.before_time, Some(500), "{name}");
        if log.is_persistent() {
            assert_eq!(pruned.deleted, 2, "{name}");
            assert!(checkpoints > 0, "{name}: a pass can be held");
        }
        let (kept, _) = log
            .direct_history(
                ConversationKey::new("alice", "bob"),
                0,
                Direction::After,
                0,
                10,
            )
            .await
            .unwrap();
        assert_eq!(ids(&kept, |m| m.id), [2, 4], "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_by_count_keeps_the_newest_and_never_reuses_numbers() {
    // spec: HISTORY-4, MSG-3, MSG-4
    for (name, log, _dir) in logs(100) {
        let entries = (1..=10)
            .map(|seq| Entry::Room(room_message(seq, seq, 100)))
            .collect();
        append_all(&log, entries).await;
        let policy = Policy {
            now: 1_000,
            max_age_ms: None,
            max_per_room: Some(4),
        };
        let pruned = log.apply_retention(policy, Box::new(|| {})).await.unwrap();
        if !log.is_persistent() {
            assert_eq!(pruned.deleted, 0, "{name}: the rooms keep no more anyway");
            continue;
        }
        assert_eq!(pruned.deleted, 6, "{name}");
        assert_eq!(pruned.first_kept_seq.get("lobby"), Some(&7), "{name}");
        let loaded = log.load_room("lobby".into(), 100).await.unwrap().unwrap();
        assert_eq!(ids(&loaded.recent, |m| m.seq), [7, 8, 9, 10], "{name}");
        assert_eq!(loaded.next_seq, 11, "{name}");
    }
}

#[test]
fn a_conversation_key_is_the_same_from_either_side() {
    // spec: SEC-3
    assert_eq!(
        ConversationKey::new("Alice", "bob"),
        ConversationKey::new("BOB", "alice")
    );
    assert_ne!(
        ConversationKey::new("alice", "bob"),
        ConversationKey::new("alice", "carol")
    );
    // Names cannot hold a newline, so no two pairs share a key.
    assert_ne!(
        ConversationKey::new("a", "bc"),
        ConversationKey::new("ab", "c")
    );
}

#[test]
fn a_data_directory_that_cannot_be_made_is_named_with_the_reason() {
    let dir = TempDir::new("blocked");
    std::fs::create_dir_all(dir.path()).unwrap();
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"a file").unwrap();
    let error = Store::open(&blocker.join("data"), 10, SyncMode::Full).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::CreateDirectory { .. }),
        "{error:?}"
    );
    assert!(message.contains("not-a-directory"), "{message}");
    assert!(message.contains("os error"), "{message}");
}

#[test]
fn a_database_file_that_cannot_be_opened_is_named_with_the_reason() {
    // SQLite alone says only "unable to open database file".
    let dir = TempDir::new("unopenable");
    std::fs::create_dir_all(dir.path().join("confab.sqlite3")).unwrap();
    let error = Store::open(dir.path(), 10, SyncMode::Full).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
    assert!(message.contains("confab.sqlite3"), "{message}");
    assert!(message.contains("os error"), "{message}");
}

#[test]
fn each_sync_mode_sets_sqlites_synchronous_pragma() {
    // FULL is 2 and NORMAL is 1 in SQLite's numbering.
    for (mode, expected) in [(SyncMode::Full, 2), (SyncMode::Normal, 1)] {
        let dir = TempDir::new("sync");
        std::fs::create_dir_all(dir.path()).unwrap();
        let conn = crate::store::connect(&dir.path().join("db.sqlite3"), mode).unwrap();
        let synchronous: i64 = conn
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .unwrap();
        assert_eq!(synchronous, expected, "{mode:?}");
    }
}
