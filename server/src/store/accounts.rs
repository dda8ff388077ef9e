//! Registered names with argon2id password hashes (PHC strings with a per-user
//! random salt). Passwords are never logged or stored in clear (`[SEC-6]`).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};

/// The outcome of a login with a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// With the first message id whose direct messages belong to the account
    /// (earlier ones were a guest's under the same name, `[HISTORY-2]`).
    Accepted {
        history_floor: u64,
    },
    WrongPassword,
    NoSuchAccount,
}

pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Stores a new account; false if the name is registered already.
pub fn register(
    conn: &Connection,
    key: &str,
    name: &str,
    password: &str,
    now: u64,
    history_floor: u64,
) -> Result<bool, String> {
    let hash = hash(password)?;
    let inserted = conn
        .execute(
            "INSERT OR IGNORE INTO accounts (name_key, name, hash, created, history_floor)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![key, name, hash, now as i64, history_floor as i64],
        )
        .map_err(|e| e.to_string())?;
    Ok(inserted == 1)
}

pub fn verify(conn: &Connection, key: &str, password: &str) -> Result<Verdict, String> {
    let stored: Option<(String, i64)> = conn
        .query_row(
            "SELECT hash, history_floor FROM accounts WHERE name_key = ?1",
            [key],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(|e| e.to_string())?;
    let Some((stored, history_floor)) = stored else {
        return Ok(Verdict::NoSuchAccount);
    };
    let parsed = PasswordHash::new(&stored).map_err(|e| format!("stored hash unreadable: {e}"))?;
    Ok(
        match Argon2::default().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Verdict::Accepted {
                history_floor: history_floor as u64,
            },
            Err(_) => Verdict::WrongPassword,
        },
    )
}

/// Every registered name key, to tell guests from account holders without a query.
pub fn all_keys(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name_key FROM accounts")?;
    let keys = stmt.query_map([], |row| row.get(0))?.collect();
    keys
}

/// The spelling the account was registered with (`[NAMES-1]`).
pub fn stored_name(conn: &Connection, key: &str) -> Result<Option<String>, String> {
    conn.query_row(
        "SELECT name FROM accounts WHERE name_key = ?1",
        [key],
        |row| row.get(0),
    )
    .optional()
    .map_err(|e| e.to_string())
}
