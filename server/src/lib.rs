//! The Confab server: a concurrent, fair relay for the protocol in
//! `spec/PROTOCOL.md`. The binary (`main.rs`) is a thin shell over [`run`].

pub mod addresses;
pub mod clock;
pub mod closing;
pub mod config;
pub mod connection;
pub mod handlers;
pub mod hashing;
pub mod hub;
pub mod log;
pub mod metrics;
pub mod moderation;
mod password_rule;
pub mod ratelimit;
pub mod refusals;
pub mod retention_schedule;
pub mod server;
pub mod shared;
pub mod store;
pub(crate) mod sync;
pub mod takeover;
pub mod tls;
pub mod transport;

pub use config::Config;
/// The retention schedule under its former name (`retention::Driver`).
pub use retention_schedule as retention;
pub use server::{bind, run, StartError};
pub use transport::{Listener, Transport};
