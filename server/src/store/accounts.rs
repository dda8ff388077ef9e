//! Registered names with argon2id password hashes (PHC strings with a per-user
//! random salt). Passwords are never logged or stored in clear (`[SEC-6]`).
//!
//! Hashing and verifying are CPU- and memory-heavy (argon2id's memory, about
//! 19 MiB each): they run on the bounded pool of `crate::hashing`, never here
//! under the store's connection; this file only reads and writes rows.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rusqlite::{params, Connection, OptionalExtension};

/// A stored account: its password hash, and the first message id whose direct
/// messages belong to it (earlier ones were a guest's under the same name,
/// `[HISTORY-2]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub hash: String,
    pub history_floor: u64,
}

/// Why a password could not be hashed or checked. The argon2 and PHC
/// crates report through several error types; their message is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("stored hash unreadable: {0}")]
    Unreadable(String),
}

/// A PHC string for `password`, with a fresh salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// argon2id's working memory, allocated once per hashing thread and reused:
/// allocated afresh for every hash (64-byte aligned, 19 MiB), it fragments
/// the allocator's arenas, which then keep about 13 MiB per hash.
pub(crate) struct Scratch(Vec<Block>);

impl Scratch {
    pub fn new() -> Scratch {
        Scratch(vec![Block::default(); Params::DEFAULT.block_count()])
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

/// `hash`, in `scratch`'s memory.
pub(crate) fn hash_with(scratch: &mut Scratch, password: &str) -> Result<String, PasswordError> {
    let failed = |e: &dyn std::fmt::Display| PasswordError::Hash(e.to_string());
    let salt = argon2::password_hash::try_generate_salt().map_err(|e| failed(&e))?;
    let argon2 = Argon2::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut scratch.0[..])
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string `stored`, computed in
/// `scratch`'s memory when the hash's parameters fit it.
pub(crate) fn verify_with(
    scratch: &mut Scratch,
    stored: &str,
    password: &str,
) -> Result<bool, PasswordError> {
    let unreadable = |e: &dyn std::fmt::Display| PasswordError::Unreadable(e.to_string());
    let parsed = PasswordHash::new(stored).map_err(|e| unreadable(&e))?;
    let params = Params::try_from(&parsed).map_err(|e| unreadable(&e))?;
    if params.block_count() > scratch.0.len() {
        // Not a hash of ours: the library allocates what it needs.
        return Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok());
    }
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(|e| unreadable(&e))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| unreadable(&e))?,
        None => Version::default(),
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Ok(false);
    };
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut scratch.0[..])
        .map_err(|e| unreadable(&e))?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out).map_err(|e| unreadable(&e))? == *expected)
}

/// Stores a new account with an already computed `hash`; false if the name
/// is registered already.
pub(crate) fn insert(
    conn: &Connection,
    key: &str,
    name: &str,
    hash: &str,
    now: u64,
    history_floor: u64,
) -> rusqlite::Result<bool> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO accounts (name_key, name, hash, created, history_floor)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key, name, hash, now as i64, history_floor as i64],
    )?;
    Ok(inserted == 1)
}

pub(crate) fn lookup(conn: &Connection, key: &str) -> rusqlite::Result<Option<Account>> {
    conn.query_row(
        "SELECT hash, history_floor FROM accounts WHERE name_key = ?1",
        [key],
        |row| {
            Ok(Account {
                hash: row.get(0)?,
                history_floor: row.get::<_, i64>(1)? as u64,
            })
        },
    )
    .optional()
}

/// Every registered name key, to tell guests from account holders without a query.
pub(crate) fn all_keys(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name_key FROM accounts")?;
    let keys = stmt.query_map([], |row| row.get(0))?.collect();
    keys
}

/// The spelling the account was registered with (`[NAMES-1]`).
pub(crate) fn stored_name(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT name FROM accounts WHERE name_key = ?1",
        [key],
        |row| row.get(0),
    )
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_made_in_scratch_memory_verify_both_ways() {
        let mut scratch = Scratch::new();
        let ours = hash_with(&mut scratch, "pw").unwrap();
        let library = hash("pw").unwrap();
        for stored in [&ours, &library] {
            assert_eq!(verify_with(&mut scratch, stored, "pw"), Ok(true));
            assert_eq!(verify_with(&mut scratch, stored, "pW"), Ok(false));
        }
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
    }
}
