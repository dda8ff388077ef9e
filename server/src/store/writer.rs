//! The group-commit writer: one thread owns the write connection, takes every
//! queued message at once, writes them in one transaction with a synchronous
//! commit, and only then tells each message's [`OnDurable`](crate::log::OnDurable),
//! in the order they came, which delivers and acknowledges it (`[MSG-2]`):
//! whatever was acknowledged survives a crash or power cut.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use tokio::sync::mpsc;
use tracing::{debug, error};

use super::Op;
use crate::log::{ConversationKey, Entry};
use crate::metrics::StoreMetrics;
use confab_protocol::frame::{DirectMessage, Message};
use confab_protocol::names::name_key;

/// Most messages in one transaction.
const BATCH_MAX: usize = 4096;

pub(crate) fn run(conn: Connection, mut ops: mpsc::Receiver<Op>, metrics: StoreMetrics) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    while let Some(first) = ops.blocking_recv() {
        batch.push(first);
        while batch.len() < BATCH_MAX {
            match ops.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut delay = Duration::from_millis(50);
        let started = Instant::now();
        while let Err(e) = write(&conn, &batch) {
            // Nothing of this batch was acknowledged: keep it and try again.
            error!(
                "cannot store {} messages: {e}; retrying in {delay:?}",
                batch.len()
            );
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        metrics
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        metrics.batch_size.observe(batch.len() as f64);
        // Told in the order the messages came (`[MSG-4]`, `[MSG-5]`).
        for Op { entry, notify } in batch.drain(..) {
            notify.durable(&entry);
        }
    }
    // Every sender is gone: the server is shutting down, nothing is wrong.
    debug!("message store writer stopped");
}

fn write(conn: &Connection, batch: &[Op]) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    // Numbering is kept apart from the messages, so retention never lets an
    // id or a sequence number be handed out twice (`[MSG-3]`, `[MSG-4]`).
    // By room name: its key (normalized once per batch, not for every
    // message) and the next seq.
    let mut rooms: HashMap<&str, (String, u64)> = HashMap::new();
    let mut next_id = 0;
    {
        let mut room_insert = tx.prepare_cached(
            "INSERT INTO messages (id, room_key, room, seq, time, sender, body, flags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut direct_insert = tx.prepare_cached(
            "INSERT INTO direct_messages (id, pair_key, sender, recipient, time, body, flags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for op in batch {
            match &op.entry {
                Entry::Room(message) => {
                    let (key, next_seq) = rooms
                        .entry(message.room.as_str())
                        .or_insert_with(|| (name_key(&message.room), 0));
                    *next_seq = (*next_seq).max(message.seq + 1);
                    next_id = next_id.max(message.id + 1);
                    room_insert.execute(params![
                        message.id as i64,
                        key.as_str(),
                        message.room.as_str(),
                        message.seq as i64,
                        message.time as i64,
                        message.sender.as_str(),
                        message.body.as_str(),
                        i64::from(message.flags & Message::ACTION),
                    ])?;
                }
                Entry::Direct(message) => {
                    next_id = next_id.max(message.id + 1);
                    direct_insert.execute(params![
                        message.id as i64,
                        ConversationKey::new(&message.from, &message.to).as_str(),
                        message.from.as_str(),
                        message.to.as_str(),
                        message.time as i64,
                        message.body.as_str(),
                        i64::from(message.flags & DirectMessage::ACTION),
                    ])?;
                }
            }
        }
        let mut seq_update = tx.prepare_cached(
            "INSERT INTO room_counters (room_key, room, next_seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (room_key) DO UPDATE SET next_seq = MAX(next_seq, excluded.next_seq)",
        )?;
        for (room, (key, next_seq)) in &rooms {
            seq_update.execute(params![key, room, *next_seq as i64])?;
        }
        tx.execute(
            "INSERT INTO counters (name, value) VALUES ('next_id', ?1)
             ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
            [next_id as i64],
        )?;
    }
    tx.commit()
}
