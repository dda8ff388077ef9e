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
pub mod ratelimit;
pub mod refusals;
pub mod retention;
pub mod server;
pub mod shared;
pub mod store;
pub mod tls;
pub mod transport;

pub use config::Config;
pub use server::{bind, run, StartError};
pub use transport::{Listener, Transport};
