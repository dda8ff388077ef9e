//! Durable history and accounts in an embedded SQLite database (bundled
//! library, WAL mode, synchronous commits) in the server's data directory.

pub mod accounts;
mod fit;
pub mod prune;
pub mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use confab_protocol::frame::{DirectMessage, Direction, Message};
use confab_protocol::names::name_key;
use confab_protocol::{Str16, Str8};
use rusqlite::{params, Connection, OpenFlags};
use tokio::sync::mpsc;

use crate::hub::{lock, Room};

/// Messages waiting for the writer; a sender waits for room in it.
const QUEUE: usize = 65_536;

/// A message to store, and what to do once it is stored.
pub enum Op {
    Room {
        room: Arc<Room>,
        message: Message,
    },
    Direct {
        message: DirectMessage,
        release: Box<dyn FnOnce() + Send>,
    },
}

impl Op {
    /// Delivery and acknowledgement, after the commit.
    fn release(self) {
        match self {
            Op::Room { room, message } => room.release(message.seq),
            Op::Direct { release, .. } => release(),
        }
    }
}

/// A room as found on disk at start-up.
pub struct LoadedRoom {
    pub name: String,
    pub next_seq: u64,
    /// The latest messages, oldest first, flagged as history.
    pub recent: Vec<Message>,
}

/// What the server needs from disk to resume.
pub struct Loaded {
    /// Ids keep increasing across restarts (`[MSG-3]`).
    pub next_id: u64,
    pub rooms: Vec<LoadedRoom>,
    pub account_keys: Vec<String>,
}

pub struct Store {
    ops: mpsc::Sender<Op>,
    /// Reads and accounts; the writer thread and retention (`prune`) each
    /// have their own connection.
    aux: Arc<Mutex<Connection>>,
    pub path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Both parties of a direct conversation, in a stable order.
pub fn pair_key(a: &str, b: &str) -> String {
    let (a, b) = (name_key(a), name_key(b));
    if a <= b {
        format!("{a}\n{b}")
    } else {
        format!("{b}\n{a}")
    }
}

pub(crate) fn connect(path: &Path) -> Result<Connection, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // WAL lets readers run beside the writer; FULL makes each commit durable.
    conn.pragma_update(None, "journal_mode", "WAL")
        .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
        .and_then(|()| conn.busy_timeout(std::time::Duration::from_secs(5)))
        .map_err(|e| format!("cannot use {}: {e}", path.display()))?;
    Ok(conn)
}

/// Runs a history query that asked for `limit + 1` rows, newest first for
/// `Before`: the page in ascending order, and whether more exist.
fn read_page<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    direction: Direction,
    limit: usize,
    row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<(Vec<T>, bool), String> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| e.to_string())?;
    let mut rows: Vec<T> = stmt
        .query_map(params, row)
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    if direction == Direction::Before {
        rows.reverse();
    }
    Ok((rows, more))
}

fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get::<_, i64>(0)? as u64,
        seq: row.get::<_, i64>(1)? as u64,
        time: row.get::<_, i64>(2)? as u64,
        // Only ACTION is stored (`[ACTION-1]`); whatever is read is replayed.
        flags: Message::HISTORY | (row.get::<_, i64>(6)? as u8 & Message::ACTION),
        room: Str8::truncated(&row.get::<_, String>(3)?),
        sender: Str8::truncated(&row.get::<_, String>(4)?),
        body: Str16::truncated(&row.get::<_, String>(5)?),
    })
}

fn direct_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DirectMessage> {
    Ok(DirectMessage {
        id: row.get::<_, i64>(0)? as u64,
        time: row.get::<_, i64>(1)? as u64,
        flags: DirectMessage::HISTORY | (row.get::<_, i64>(5)? as u8 & DirectMessage::ACTION),
        from: Str8::truncated(&row.get::<_, String>(2)?),
        to: Str8::truncated(&row.get::<_, String>(3)?),
        body: Str16::truncated(&row.get::<_, String>(4)?),
    })
}

impl Store {
    /// Opens (creating if needed) the database in `dir`, migrates it, loads
    /// what the server resumes from and starts the writer thread. Every
    /// failure is a message for the operator, not a panic.
    pub fn open(dir: &Path, keep: usize) -> Result<(Store, Loaded), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let path = dir.join("confab.sqlite3");
        let mut writer_conn = connect(&path)?;
        schema::migrate(&mut writer_conn)?;
        // A quick check finds a corrupt file now rather than at the first write.
        let check: String = writer_conn
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|e| format!("{} is not a usable database: {e}", path.display()))?;
        if check != "ok" {
            return Err(format!("{} is corrupt: {check}", path.display()));
        }
        let aux = connect(&path)?;
        let loaded =
            load(&aux, keep).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let (ops, receiver) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("confab-store".into())
            .spawn(move || writer::run(writer_conn, receiver))
            .map_err(|e| format!("cannot start the store writer: {e}"))?;
        Ok((
            Store {
                ops,
                aux: Arc::new(Mutex::new(aux)),
                path,
            },
            loaded,
        ))
    }

    /// Waits for room in the writer's queue; the message is then assigned its
    /// id and sequence number and queued with `permit.send`.
    pub async fn reserve(&self) -> Option<mpsc::Permit<'_, Op>> {
        self.ops.reserve().await.ok()
    }

    async fn with_aux<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let aux = Arc::clone(&self.aux);
        tokio::task::spawn_blocking(move || work(&lock(&aux)))
            .await
            .map_err(|e| format!("store task failed: {e}"))?
    }

    /// A room as stored (its next `seq` and latest `keep` messages), to make
    /// it again after it was let go; `None` if it never had a message.
    pub async fn load_room(&self, name: String, keep: usize) -> Result<Option<LoadedRoom>, String> {
        self.with_aux(move |conn| load_room(conn, &name, keep).map_err(|e| e.to_string()))
            .await
    }

    /// Up to `limit` stored messages of a room on one side of `anchor` (`[HISTORY-1]`).
    pub async fn room_history(
        &self,
        room: &str,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<(Vec<Message>, bool), String> {
        let key = name_key(room);
        self.with_aux(move |conn| {
            let sql = match direction {
                Direction::Before => {
                    "SELECT id, seq, time, room, sender, body, flags FROM messages
                     WHERE room_key = ?1 AND (?2 = 0 OR seq < ?2) ORDER BY seq DESC LIMIT ?3"
                }
                Direction::After => {
                    "SELECT id, seq, time, room, sender, body, flags FROM messages
                     WHERE room_key = ?1 AND seq > ?2 ORDER BY seq ASC LIMIT ?3"
                }
            };
            read_page(
                conn,
                sql,
                params![key, anchor as i64, limit as i64 + 1],
                direction,
                limit,
                message_from_row,
            )
        })
        .await
    }

    /// Direct messages between `a` and `b` on one side of the id `anchor` (`[HISTORY-2]`).
    pub async fn direct_history(
        &self,
        a: &str,
        b: &str,
        floor: u64,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<(Vec<DirectMessage>, bool), String> {
        let pair = pair_key(a, b);
        self.with_aux(move |conn| {
            let sql = match direction {
                Direction::Before => {
                    "SELECT id, time, sender, recipient, body, flags FROM direct_messages
                     WHERE pair_key = ?1 AND (?2 = 0 OR id < ?2) AND id >= ?4 ORDER BY id DESC LIMIT ?3"
                }
                Direction::After => {
                    "SELECT id, time, sender, recipient, body, flags FROM direct_messages
                     WHERE pair_key = ?1 AND id > ?2 AND id >= ?4 ORDER BY id ASC LIMIT ?3"
                }
            };
            read_page(
                conn,
                sql,
                params![pair, anchor as i64, limit as i64 + 1, floor as i64],
                direction,
                limit,
                direct_from_row,
            )
        })
        .await
    }

    /// Stores a new account whose password is hashed already; false if the
    /// name is registered already.
    pub async fn insert_account(
        &self,
        key: String,
        name: String,
        hash: String,
        now: u64,
        history_floor: u64,
    ) -> Result<bool, String> {
        self.with_aux(move |conn| accounts::insert(conn, &key, &name, &hash, now, history_floor))
            .await
    }

    pub async fn account(&self, key: String) -> Result<Option<accounts::Account>, String> {
        self.with_aux(move |conn| accounts::lookup(conn, &key))
            .await
    }

    /// The registered spelling of the account `key`, if there is one.
    pub async fn account_name(&self, key: String) -> Result<Option<String>, String> {
        self.with_aux(move |conn| accounts::stored_name(conn, &key))
            .await
    }
}

fn load_room(conn: &Connection, name: &str, keep: usize) -> rusqlite::Result<Option<LoadedRoom>> {
    let key = name_key(name);
    let found: Option<(String, i64)> = conn
        .query_row(
            "SELECT MAX(room), MAX(next_seq) FROM (
                 SELECT room, next_seq FROM room_counters WHERE room_key = ?1
                 UNION ALL
                 SELECT MAX(room), MAX(seq) + 1 FROM messages WHERE room_key = ?1
             ) WHERE room IS NOT NULL",
            [&key],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                ))
            },
        )
        .map(|(room, next_seq)| room.zip(next_seq))?;
    let Some((stored_name, next_seq)) = found else {
        return Ok(None);
    };
    let mut recent: Vec<Message> = conn
        .prepare_cached(
            "SELECT id, seq, time, room, sender, body, flags FROM messages WHERE room_key = ?1 ORDER BY seq DESC LIMIT ?2",
        )?
        .query_map(params![key, keep as i64], message_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    recent.reverse();
    Ok(Some(LoadedRoom {
        name: stored_name,
        next_seq: next_seq as u64,
        recent,
    }))
}

fn load(conn: &Connection, keep: usize) -> rusqlite::Result<Loaded> {
    let next_id: i64 = conn.query_row(
        "SELECT MAX(
             COALESCE((SELECT value FROM counters WHERE name = 'next_id'), 1),
             COALESCE((SELECT MAX(id) FROM messages), 0) + 1,
             COALESCE((SELECT MAX(id) FROM direct_messages), 0) + 1)",
        [],
        |row| row.get(0),
    )?;
    // Rooms known to the counters or to the messages, whichever knows more.
    let mut rooms_stmt = conn.prepare(
        "SELECT room_key, MAX(room), MAX(next_seq) FROM (
             SELECT room_key, room, next_seq FROM room_counters
             UNION ALL
             SELECT room_key, MAX(room), MAX(seq) + 1 FROM messages GROUP BY room_key
         ) GROUP BY room_key",
    )?;
    let rooms: Vec<(String, String, i64)> = rooms_stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut recent_stmt = conn.prepare(
        "SELECT id, seq, time, room, sender, body, flags FROM messages WHERE room_key = ?1 ORDER BY seq DESC LIMIT ?2",
    )?;
    let mut loaded_rooms = Vec::with_capacity(rooms.len());
    for (key, name, next_seq) in rooms {
        let mut recent: Vec<Message> = recent_stmt
            .query_map(params![key, keep as i64], message_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        recent.reverse();
        loaded_rooms.push(LoadedRoom {
            name,
            next_seq: next_seq as u64,
            recent,
        });
    }
    Ok(Loaded {
        next_id: next_id as u64,
        rooms: loaded_rooms,
        account_keys: accounts::all_keys(conn)?,
    })
}
