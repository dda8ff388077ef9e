//! The Confab server: a concurrent, fair relay for the protocol in
//! `spec/PROTOCOL.md`. The binary (`main.rs`) is a thin shell over [`run`].
//!
//! Modules are private; what the binary and the tests use is re-exported
//! here, so the compiler reports code nothing uses.

mod account_book;
mod addresses;
mod admission;
mod clock;
mod closing;
mod cluster;
pub mod config;
mod connection;
mod handlers;
mod hashing;
mod hub;
mod log;
mod metrics;
mod moderation;
mod password_rule;
mod ratelimit;
mod refusals;
mod reload;
pub mod retention_schedule;
mod server;
mod services;
mod shared;
pub mod store;
mod sync;
mod takeover;
#[cfg(test)]
mod test_frames;
mod tls;
mod transport;

pub use clock::{now_millis, Clock};
pub use config::Config;
pub use server::{bind, run, StartError};
pub use shared::SetupError;
pub use tls::{generate_self_signed, TlsError};
pub use transport::{Listener, Transport};
