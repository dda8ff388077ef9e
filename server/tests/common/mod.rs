//! The harness every server suite shares: a server on an ephemeral loopback
//! port (in process, or the real binary as a child process), a frame-level
//! test client over any byte stream built on the protocol crate's codec (no
//! wire parsing here), and helpers for frames, temporary data directories
//! and account logins. Every wait in it is bounded.

mod checks;
mod client;
mod frames;
mod process;
mod receive;
mod server;

use std::future::Future;
use std::time::Duration;

pub use checks::*;
pub use client::*;
pub use frames::*;
pub use process::*;
pub use server::*;

/// How long a test waits for an expected event before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// `future`'s output, or a failed test naming `what` when it takes longer
/// than `PATIENCE` (a regression fails instead of hanging the run).
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    within_for(PATIENCE, what, future).await
}

/// `within` with a bound of its own.
pub async fn within_for<T>(bound: Duration, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(bound, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: not done within {bound:?}"),
    }
}
