//! Retention in the store: deletions in short, paced statements, after the
//! numbering the deleted rows carried is saved apart (`[MSG-3]`, `[MSG-4]`).
//!
//! A pass runs on a connection of its own (a [`Pruner`], owned by the
//! SQLite message log), so logins and HISTORY reads on the store's read
//! connection never wait for it, and it holds no lock while it pauses. In WAL
//! mode readers run beside it; writes take turns with the group-commit
//! writer, which is why each batch is its own short transaction followed by
//! a pause as long as the batch took.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

use super::StoreError;

/// Rows deleted per retention statement.
const RETENTION_BATCH: i64 = 2_000;

/// What a pass may delete: messages older than `max_age_ms` (before `now`),
/// and in each room all but the newest `max_per_room`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub now: u64,
    pub max_age_ms: Option<u64>,
    pub max_per_room: Option<u64>,
}

/// What a pass removed, as rules: the rooms' replay buffers forget the same
/// messages (one answer to "what is this room's history", `[HISTORY-5]`).
#[derive(Debug, Default)]
pub struct Pruned {
    pub deleted: usize,
    /// Room and direct messages whose `time` is below this are gone.
    pub before_time: Option<u64>,
    /// Per room (by name key), room messages whose `seq` is below this are gone.
    pub first_kept_seq: HashMap<String, u64>,
}

/// The retention pass's own connection to the database.
pub struct Pruner {
    conn: Connection,
}

impl std::fmt::Debug for Pruner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pruner").finish_non_exhaustive()
    }
}

impl Pruner {
    /// A connection for retention passes, apart from the read connection.
    /// Its deletions are synced fully: they are rare and nobody waits on them.
    pub fn open(path: &std::path::Path) -> Result<Pruner, StoreError> {
        Ok(Pruner {
            conn: super::connect(path, super::SyncMode::Full)?,
        })
    }

    /// Deletes what `policy` lets go. Blocking: run it on a blocking thread.
    /// `checkpoint` is called before each batch (a test holds the pass there).
    pub fn pass(
        &mut self,
        policy: Policy,
        checkpoint: &mut dyn FnMut(),
    ) -> Result<Pruned, StoreError> {
        let conn = &self.conn;
        // Before anything goes, make sure the numbering it carried is
        // remembered apart from it (`[MSG-3]`, `[MSG-4]`).
        remember_numbering(conn)?;
        let mut pruned = Pruned::default();
        if let Some(age) = policy.max_age_ms {
            let cutoff = policy.now.saturating_sub(age);
            pruned.before_time = Some(cutoff);
            pruned.deleted += delete_in_batches(
                conn,
                "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE time < ?1 LIMIT ?2)",
                cutoff as i64,
                checkpoint,
            )?;
            pruned.deleted += delete_in_batches(
                conn,
                "DELETE FROM direct_messages WHERE id IN (SELECT id FROM direct_messages WHERE time < ?1 LIMIT ?2)",
                cutoff as i64,
                checkpoint,
            )?;
        }
        if let Some(count) = policy.max_per_room {
            let count = count as i64;
            pruned.deleted += delete_in_batches(
                conn,
                "DELETE FROM messages WHERE id IN (
                     SELECT m.id FROM messages m JOIN room_counters c ON c.room_key = m.room_key
                     WHERE m.seq < c.next_seq - ?1 LIMIT ?2)",
                count,
                checkpoint,
            )?;
            pruned.first_kept_seq = conn
                .prepare(
                    "SELECT room_key, next_seq - ?1 FROM room_counters WHERE next_seq - ?1 > 1",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([count], |row| {
                        Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
                    })?
                    .collect()
                })?;
        }
        Ok(pruned)
    }
}

/// Brings the counters up to the highest id and sequence numbers stored. The
/// scan is a read (it does not block the writer in WAL mode); only the small
/// update that follows takes the write lock.
fn remember_numbering(conn: &Connection) -> rusqlite::Result<()> {
    let highest: Vec<(String, String, i64)> = conn
        .prepare_cached(
            "SELECT m.room_key, COALESCE(c.room, m.room_key), MAX(m.seq) + 1
             FROM messages m LEFT JOIN room_counters c ON c.room_key = m.room_key
             GROUP BY m.room_key",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let next_id: i64 = conn.query_row(
        "SELECT 1 + MAX(COALESCE((SELECT MAX(id) FROM messages), 0),
                        COALESCE((SELECT MAX(id) FROM direct_messages), 0))",
        [],
        |row| row.get(0),
    )?;
    let tx = conn.unchecked_transaction()?;
    for (key, room, next_seq) in highest {
        tx.execute(
            "INSERT INTO room_counters (room_key, room, next_seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (room_key) DO UPDATE SET next_seq = MAX(next_seq, excluded.next_seq)",
            params![key, room, next_seq],
        )?;
    }
    tx.execute(
        "INSERT INTO counters (name, value) VALUES ('next_id', ?1)
         ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
        [next_id],
    )?;
    tx.commit()
}

/// Runs `sql` (bound to `bound` and the batch size) until it deletes less
/// than a batch. Each statement is its own short transaction, and the pass
/// then pauses as long as the statement took, holding nothing, so the
/// writer's commits slip in between and delivery never waits long.
fn delete_in_batches(
    conn: &Connection,
    sql: &str,
    bound: i64,
    checkpoint: &mut dyn FnMut(),
) -> rusqlite::Result<usize> {
    let mut total = 0;
    loop {
        checkpoint();
        let started = Instant::now();
        let deleted = conn.execute(sql, params![bound, RETENTION_BATCH])?;
        total += deleted;
        if (deleted as i64) < RETENTION_BATCH {
            return Ok(total);
        }
        std::thread::sleep(started.elapsed().max(Duration::from_millis(2)));
    }
}
