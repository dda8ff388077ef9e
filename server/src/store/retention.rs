//! Retention in the store: deletions in short, paced statements, after the
//! numbering the deleted rows carried is saved apart (`[MSG-3]`, `[MSG-4]`).

use rusqlite::{params, Connection};

use super::Store;

impl Store {
    /// Deletes messages older than `max_age_ms` and, per room, all but the
    /// newest `max_per_room`; returns how many went.
    pub async fn enforce_retention(
        &self,
        now: u64,
        max_age_ms: Option<u64>,
        max_per_room: Option<u64>,
    ) -> Result<usize, String> {
        self.with_aux(move |conn| {
            // Before anything goes, make sure the numbering it carried is
            // remembered apart from it (`[MSG-3]`, `[MSG-4]`).
            remember_numbering(conn).map_err(|e| e.to_string())?;
            let mut deleted = 0;
            if let Some(age) = max_age_ms {
                let cutoff = now.saturating_sub(age) as i64;
                deleted += delete_in_batches(
                    conn,
                    "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE time < ?1 LIMIT ?2)",
                    cutoff,
                )?;
                deleted += delete_in_batches(
                    conn,
                    "DELETE FROM direct_messages WHERE id IN (SELECT id FROM direct_messages WHERE time < ?1 LIMIT ?2)",
                    cutoff,
                )?;
            }
            if let Some(count) = max_per_room {
                deleted += delete_in_batches(
                    conn,
                    "DELETE FROM messages WHERE id IN (
                         SELECT m.id FROM messages m JOIN room_counters c ON c.room_key = m.room_key
                         WHERE m.seq < c.next_seq - ?1 LIMIT ?2)",
                    count as i64,
                )?;
            }
            Ok(deleted)
        })
        .await
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

/// Rows deleted per retention statement: each is its own short transaction,
/// and the pass then pauses as long as the statement took, so the writer's
/// commits slip in between and delivery never waits long.
const RETENTION_BATCH: i64 = 2_000;

fn delete_in_batches(conn: &Connection, sql: &str, bound: i64) -> Result<usize, String> {
    let mut total = 0;
    loop {
        let started = std::time::Instant::now();
        let deleted = conn
            .execute(sql, params![bound, RETENTION_BATCH])
            .map_err(|e| e.to_string())?;
        total += deleted;
        if (deleted as i64) < RETENTION_BATCH {
            return Ok(total);
        }
        std::thread::sleep(started.elapsed().max(std::time::Duration::from_millis(2)));
    }
}
