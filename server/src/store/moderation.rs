//! Moderation's tables (`[MOD-15]`, `[MOD-19]`): one row per room with
//! settings, one per role, ban, mute or invitation, and the audit log.
//! A change is one transaction: the scope's rows as they now are and the
//! audit entry that made them so, durable before it is announced.

use rusqlite::{params, Connection};

use super::{Store, StoreError};

/// One room's settings row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRow {
    pub room_key: String,
    pub room: String,
    pub founder: String,
    pub topic: String,
    pub topic_by: String,
    pub topic_at: u64,
    pub modes: u8,
    pub member_limit: u32,
}

/// A role, ban, mute or invitation of a scope (a room's key, or `""`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    pub scope: String,
    pub kind: i64,
    pub key: String,
    pub target: String,
    pub expires: u64,
    pub reason: String,
}

/// An audit entry: the fields of MODERATION_EVENT, the action as its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: u64,
    pub time: u64,
    pub action: u8,
    pub room: String,
    pub actor: String,
    pub target: String,
    pub expires: u64,
    pub reason: String,
}

/// What one moderation change writes: the scope's rows replace the old ones.
#[derive(Debug, Clone)]
pub struct Change {
    pub scope: String,
    /// The room's settings; `None` for the server scope or a room that
    /// keeps nothing any more (its row is deleted).
    pub room: Option<RoomRow>,
    pub entries: Vec<EntryRow>,
    pub audit: Option<AuditRow>,
    /// Audit entries with ids up to this are dropped (`[MOD-21]`).
    pub audit_floor: u64,
}

/// Everything stored, read at start-up.
#[derive(Debug, Default)]
pub struct Loaded {
    pub rooms: Vec<RoomRow>,
    pub entries: Vec<EntryRow>,
    /// Newest last.
    pub audit: Vec<AuditRow>,
}

impl Store {
    /// Writes one change in one transaction (`[MOD-15]`: before it is announced).
    pub async fn save_moderation(&self, change: Change) -> Result<(), StoreError> {
        self.with_aux(move |conn| save(conn, &change)).await
    }

    /// Moderation as stored, with the newest `audit_keep` audit entries.
    pub fn load_moderation(&self, audit_keep: usize) -> Result<Loaded, StoreError> {
        let conn = crate::sync::lock(&self.aux);
        Ok(load(&conn, audit_keep)?)
    }
}

fn save(conn: &Connection, change: &Change) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    match &change.room {
        Some(r) => {
            tx.execute(
                "INSERT OR REPLACE INTO mod_rooms (room_key, room, founder, topic, topic_by,
                     topic_at, modes, member_limit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    r.room_key,
                    r.room,
                    r.founder,
                    r.topic,
                    r.topic_by,
                    r.topic_at as i64,
                    r.modes,
                    r.member_limit
                ],
            )?;
        }
        None => {
            tx.execute(
                "DELETE FROM mod_rooms WHERE room_key = ?1",
                params![change.scope],
            )?;
        }
    }
    tx.execute(
        "DELETE FROM mod_entries WHERE scope = ?1",
        params![change.scope],
    )?;
    for e in &change.entries {
        tx.execute(
            "INSERT OR REPLACE INTO mod_entries (scope, kind, key, target, expires, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![e.scope, e.kind, e.key, e.target, e.expires as i64, e.reason],
        )?;
    }
    if let Some(a) = &change.audit {
        tx.execute(
            "INSERT INTO mod_audit (id, time, action, room, actor, target, expires, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                a.id as i64,
                a.time as i64,
                a.action,
                a.room,
                a.actor,
                a.target,
                a.expires as i64,
                a.reason
            ],
        )?;
    }
    if change.audit_floor > 0 {
        tx.execute(
            "DELETE FROM mod_audit WHERE id <= ?1",
            params![change.audit_floor as i64],
        )?;
    }
    tx.commit()
}

fn load(conn: &Connection, audit_keep: usize) -> rusqlite::Result<Loaded> {
    let rooms = conn
        .prepare(
            "SELECT room_key, room, founder, topic, topic_by, topic_at, modes, member_limit
             FROM mod_rooms",
        )?
        .query_map([], |row| {
            Ok(RoomRow {
                room_key: row.get(0)?,
                room: row.get(1)?,
                founder: row.get(2)?,
                topic: row.get(3)?,
                topic_by: row.get(4)?,
                topic_at: row.get::<_, i64>(5)? as u64,
                modes: row.get(6)?,
                member_limit: row.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let entries = conn
        .prepare("SELECT scope, kind, key, target, expires, reason FROM mod_entries")?
        .query_map([], |row| {
            Ok(EntryRow {
                scope: row.get(0)?,
                kind: row.get(1)?,
                key: row.get(2)?,
                target: row.get(3)?,
                expires: row.get::<_, i64>(4)? as u64,
                reason: row.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut audit: Vec<AuditRow> = conn
        .prepare(
            "SELECT id, time, action, room, actor, target, expires, reason
             FROM mod_audit ORDER BY id DESC LIMIT ?1",
        )?
        .query_map(params![audit_keep as i64], |row| {
            Ok(AuditRow {
                id: row.get::<_, i64>(0)? as u64,
                time: row.get::<_, i64>(1)? as u64,
                action: row.get(2)?,
                room: row.get(3)?,
                actor: row.get(4)?,
                target: row.get(5)?,
                expires: row.get::<_, i64>(6)? as u64,
                reason: row.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    audit.reverse();
    Ok(Loaded {
        rooms,
        entries,
        audit,
    })
}
