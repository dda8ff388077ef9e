//! Durable history and accounts in an embedded SQLite database (bundled
//! library, WAL mode, synchronous commits) in the server's data directory.
//! [`SqliteLog`] is this store seen as the server's
//! [message log](crate::log::MessageLog).

pub mod accounts;
mod error;
mod fit;
mod log;
pub mod moderation;
pub mod prune;
pub mod schema;
mod writer;

pub use error::{SchemaError, StoreError};
pub use log::SqliteLog;
// Where it was before the message log had a module of its own.
pub use crate::log::LoadedRoom;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use confab_protocol::frame::{DirectMessage, Direction, Message};
use confab_protocol::names::name_key;
use confab_protocol::{Str16, Str8};
use rusqlite::{params, Connection, OpenFlags};
use tokio::sync::mpsc;

use crate::log::{ConversationKey, Entry, Notify};
use crate::sync::lock;

/// Messages waiting for the writer; a sender waits for room in it.
const QUEUE: usize = 65_536;

/// A message to store, and whom to tell once it is stored.
pub struct Op {
    pub(crate) entry: Entry,
    pub(crate) notify: Notify,
}

/// What the server needs from disk to resume.
#[derive(Debug)]
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

/// How far a commit goes before it counts (SQLite's `synchronous` in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncMode {
    /// The WAL is fsynced at every commit: a power cut loses nothing acknowledged.
    Full,
    /// The WAL is written at every commit and fsynced at checkpoints: a
    /// crash of the server loses nothing acknowledged; a power cut may lose
    /// the last commits (the database stays consistent).
    Normal,
}

impl SyncMode {
    fn pragma(self) -> &'static str {
        match self {
            SyncMode::Full => "FULL",
            SyncMode::Normal => "NORMAL",
        }
    }
}

/// Opens `path` read-write (creating it), in WAL mode, commits synced as `sync` says.
pub(crate) fn connect(path: &Path, sync: SyncMode) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::open(path, source))?;
    // WAL lets readers run beside the writer; FULL makes each commit durable
    // on disk, NORMAL in the operating system's cache.
    conn.pragma_update(None, "journal_mode", "WAL")
        .and_then(|()| conn.pragma_update(None, "synchronous", sync.pragma()))
        .and_then(|()| conn.busy_timeout(std::time::Duration::from_secs(5)))
        .map_err(|source| StoreError::open(path, source))?;
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
) -> rusqlite::Result<(Vec<T>, bool)> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows: Vec<T> = stmt
        .query_map(params, row)?
        .collect::<rusqlite::Result<_>>()?;
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
    pub fn open(dir: &Path, keep: usize, sync: SyncMode) -> Result<(Store, Loaded), StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDirectory {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("confab.sqlite3");
        let mut writer_conn = connect(&path, sync)?;
        schema::migrate(&mut writer_conn).map_err(|source| StoreError::Schema {
            path: path.clone(),
            source,
        })?;
        // A quick check finds a corrupt file now rather than at the first write.
        let check: String = writer_conn
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|source| StoreError::NotADatabase {
                path: path.clone(),
                source,
            })?;
        if check != "ok" {
            return Err(StoreError::Corrupt { path, check });
        }
        let aux = connect(&path, sync)?;
        let loaded = load(&aux, keep).map_err(|source| StoreError::Read {
            path: path.clone(),
            source,
        })?;
        let (ops, receiver) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("confab-store".into())
            .spawn(move || writer::run(writer_conn, receiver))
            .map_err(StoreError::Thread)?;
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
    async fn reserve(&self) -> Result<mpsc::Permit<'_, Op>, StoreError> {
        self.ops.reserve().await.map_err(|_| StoreError::Closed)
    }

    async fn with_aux<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let aux = Arc::clone(&self.aux);
        Ok(tokio::task::spawn_blocking(move || work(&lock(&aux))).await??)
    }

    /// A room as stored (its next `seq` and latest `keep` messages), to make
    /// it again after it was let go; `None` if it never had a message.
    async fn load_room(&self, name: String, keep: usize) -> Result<Option<LoadedRoom>, StoreError> {
        self.with_aux(move |conn| load_room(conn, &name, keep))
            .await
    }

    /// Up to `limit` stored messages of a room on one side of `anchor` (`[HISTORY-1]`).
    async fn room_history(
        &self,
        room: &str,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<(Vec<Message>, bool), StoreError> {
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

    /// Direct messages of one conversation on one side of the id `anchor` (`[HISTORY-2]`).
    async fn direct_history(
        &self,
        conversation: ConversationKey,
        floor: u64,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<(Vec<DirectMessage>, bool), StoreError> {
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
                params![
                    conversation.as_str(),
                    anchor as i64,
                    limit as i64 + 1,
                    floor as i64
                ],
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
    ) -> Result<bool, StoreError> {
        self.with_aux(move |conn| accounts::insert(conn, &key, &name, &hash, now, history_floor))
            .await
    }

    pub async fn account(&self, key: String) -> Result<Option<accounts::Account>, StoreError> {
        self.with_aux(move |conn| accounts::lookup(conn, &key))
            .await
    }

    /// The registered spelling of the account `key`, if there is one.
    pub async fn account_name(&self, key: String) -> Result<Option<String>, StoreError> {
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
