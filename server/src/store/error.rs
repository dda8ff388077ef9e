//! The store's errors: each names the file it concerns and, where the
//! operating system refused something, its error (`Permission denied`...).

use std::io;
use std::path::{Path, PathBuf};

/// Why the store could not do something. Start-up code wraps it
/// (`#[from]`); its message is meant for the operator as it is.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {}: {source}", path.display())]
    CreateDirectory { path: PathBuf, source: io::Error },
    /// SQLite could not open the file; `os` is what the operating system
    /// says when the file itself is opened (SQLite's own message, `unable
    /// to open database file`, does not say why).
    #[error("cannot open the database {}: {}", path.display(), why_not_open(source, os.as_ref()))]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
        os: Option<io::Error>,
    },
    #[error("{} is not a usable database: {source}", path.display())]
    NotADatabase {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{} is corrupt: {check}", path.display())]
    Corrupt { path: PathBuf, check: String },
    #[error("{}: {source}", path.display())]
    Schema { path: PathBuf, source: SchemaError },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot start the store writer: {0}")]
    Thread(io::Error),
    /// A query on a store that opened fine failed.
    #[error("database query failed: {0}")]
    Query(#[from] rusqlite::Error),
    /// The writer thread is gone: nothing more can be stored.
    #[error("the message store's writer has stopped")]
    Closed,
    #[error("store task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The cluster's Redis, where a cluster node keeps its messages.
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
}

impl StoreError {
    /// The error code a request that needed the log is answered with.
    pub fn code(&self) -> confab_protocol::ErrorCode {
        match self {
            // spec: CLUSTER-3
            StoreError::Cluster(_) => confab_protocol::ErrorCode::CLUSTER_UNAVAILABLE,
            _ => confab_protocol::ErrorCode::STORAGE_FAILURE,
        }
    }

    /// SQLite failed to open or set up `path`. When it could not open a
    /// file, asks the operating system why: for the database itself, then
    /// for the directory its journal files are made in.
    pub(crate) fn open(path: &Path, source: rusqlite::Error) -> Self {
        let os = (source.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen))
            .then(|| why_not_writable(path))
            .flatten();
        StoreError::Open {
            path: path.to_path_buf(),
            source,
            os,
        }
    }
}

/// The operating system's reason first, then SQLite's.
fn why_not_open(sqlite: &rusqlite::Error, os: Option<&io::Error>) -> String {
    match os {
        Some(os) => format!("{os} (SQLite: {sqlite})"),
        None => sqlite.to_string(),
    }
}

/// What the operating system says when `path`, then a file beside it, is
/// opened for writing; `None` if both can be.
fn why_not_writable(path: &Path) -> Option<io::Error> {
    let writable = |file: &Path, create_new: bool| {
        std::fs::OpenOptions::new()
            .read(!create_new)
            .write(true)
            .create(!create_new)
            .create_new(create_new)
            .truncate(false)
            .open(file)
    };
    if let Err(e) = writable(path, false) {
        return Some(e);
    }
    let probe = path.with_extension(format!("probe-{}", std::process::id()));
    match writable(&probe, true) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) => Some(e),
    }
}

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read the schema version: {0}")]
    Version(rusqlite::Error),
    #[error(
        "the database has schema version {found}, newer than this server's {current}; use a newer confab-server"
    )]
    Newer { found: u32, current: u32 },
    #[error("migration to schema version {version} failed: {source}")]
    Migration {
        version: u32,
        source: rusqlite::Error,
    },
}
