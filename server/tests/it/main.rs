//! The server's integration tests, one binary: each suite is a module, and
//! the shared harness (`../common/`) is compiled once. Run one suite with
//! `cargo test -p confab-server --test it <suite>::`.
//!
//! The in-process attack suite (`../attacks/`) is a binary of its own: it
//! reads this process's memory and latency, which other suites running
//! beside it would disturb.

mod accounts;
mod actions;
mod attacks_accounts;
mod attacks_fairness;
mod attacks_memory;
mod attacks_reconnect;
mod attacks_refusals;
mod attacks_rooms;
mod attacks_slowloris;
mod attacks_targeted;
mod chat;
mod closing;
mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod compat_1_0;
mod config_file;
mod faults;
mod frame_fit;
mod handshake;
mod metrics;
mod moderation;
mod order_of_checks;
mod ordering;
mod packaging;
mod persistence;
mod pipelining;
mod reload;
mod retention;
mod rooms;
mod scale;
mod settled_gaps;
mod simulation;
mod spec_1_1;
mod start_up;
mod stored_room_rejoin;
mod takeover;
mod tls;
