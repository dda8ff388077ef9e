//! Cluster mode (spec section 22) with real processes: one real
//! `redis-server` and several real `confab-server` nodes on it
//! (`harness`). Run with `cargo test -p confab-server --test it cluster::`.

mod accounts;
pub mod harness;
mod heartbeat;
mod names;
