//! The database schema and its migrations, versioned in code. The version is
//! SQLite's `user_version`; a newer server opens an older database by running
//! the migrations it lacks, in order, each in its own transaction.

use rusqlite::Connection;

use super::SchemaError;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: room messages and accounts.
    "CREATE TABLE messages (
        id        INTEGER PRIMARY KEY,
        room_key  TEXT    NOT NULL,
        room      TEXT    NOT NULL,
        seq       INTEGER NOT NULL,
        time      INTEGER NOT NULL,
        sender    TEXT    NOT NULL,
        body      TEXT    NOT NULL,
        UNIQUE (room_key, seq)
    );
    CREATE TABLE accounts (
        name_key  TEXT    PRIMARY KEY,
        name      TEXT    NOT NULL,
        hash      TEXT    NOT NULL,
        created   INTEGER NOT NULL
    );",
    // 2: direct messages, and an index for age-based retention.
    "CREATE TABLE direct_messages (
        id        INTEGER PRIMARY KEY,
        pair_key  TEXT    NOT NULL,
        sender    TEXT    NOT NULL,
        recipient TEXT    NOT NULL,
        time      INTEGER NOT NULL,
        body      TEXT    NOT NULL
    );
    CREATE INDEX direct_messages_by_pair ON direct_messages (pair_key, id);
    CREATE INDEX messages_by_time ON messages (time);",
    // 3: numbering that outlives retention, and where an account's history starts.
    "CREATE TABLE room_counters (
        room_key  TEXT    PRIMARY KEY,
        room      TEXT    NOT NULL,
        next_seq  INTEGER NOT NULL
    );
    INSERT INTO room_counters (room_key, room, next_seq)
        SELECT room_key, MAX(room), MAX(seq) + 1 FROM messages GROUP BY room_key;
    CREATE TABLE counters (
        name      TEXT    PRIMARY KEY,
        value     INTEGER NOT NULL
    );
    INSERT INTO counters (name, value) VALUES ('next_id', 1 + MAX(
        COALESCE((SELECT MAX(id) FROM messages), 0),
        COALESCE((SELECT MAX(id) FROM direct_messages), 0)));
    ALTER TABLE accounts ADD COLUMN history_floor INTEGER NOT NULL DEFAULT 0;",
    // 4: the ACTION flag of room and direct messages (`[ACTION-1]`).
    "ALTER TABLE messages ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE direct_messages ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;",
    // 5: moderation (`[MOD-19]`): room settings, roles, bans, mutes and
    // invitations (scope '' is the server's), and the audit log (`[MOD-15]`).
    "CREATE TABLE mod_rooms (
        room_key     TEXT    PRIMARY KEY,
        room         TEXT    NOT NULL,
        founder      TEXT    NOT NULL,
        topic        TEXT    NOT NULL,
        topic_by     TEXT    NOT NULL,
        topic_at     INTEGER NOT NULL,
        modes        INTEGER NOT NULL,
        member_limit INTEGER NOT NULL
    );
    CREATE TABLE mod_entries (
        scope     TEXT    NOT NULL,
        kind      INTEGER NOT NULL,
        key       TEXT    NOT NULL,
        target    TEXT    NOT NULL,
        expires   INTEGER NOT NULL,
        reason    TEXT    NOT NULL,
        PRIMARY KEY (scope, kind, key)
    );
    CREATE TABLE mod_audit (
        id        INTEGER PRIMARY KEY,
        time      INTEGER NOT NULL,
        action    INTEGER NOT NULL,
        room      TEXT    NOT NULL,
        actor     TEXT    NOT NULL,
        target    TEXT    NOT NULL,
        expires   INTEGER NOT NULL,
        reason    TEXT    NOT NULL
    );",
];

/// The schema version this server writes.
pub const CURRENT: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`CURRENT`]; refuses a database from a newer server.
pub fn migrate(conn: &mut Connection) -> Result<u32, SchemaError> {
    migrate_to(conn, CURRENT)
}

/// Migrates up to `target` (tests build old databases with it).
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32, SchemaError> {
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(SchemaError::Version)?;
    if version > CURRENT {
        return Err(SchemaError::Newer {
            found: version,
            current: CURRENT,
        });
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(version as usize)
    {
        let next = index as u32 + 1;
        let failed = |source| SchemaError::Migration {
            version: next,
            source,
        };
        let tx = conn.transaction().map_err(failed)?;
        tx.execute_batch(sql)
            .and_then(|()| tx.pragma_update(None, "user_version", next))
            .and_then(|()| tx.commit())
            .map_err(failed)?;
    }
    Ok(target.max(version))
}
