//! Cluster mode (`--cluster`, spec section 22): nodes on one real Redis,
//! real `confab-server` processes or in-process servers. Run with
//! `cargo test -p confab-server --test it cluster::`.

mod accounts;
mod failures;
pub mod harness;
mod heartbeat;
mod listing_flood;
mod messages;
mod names;
mod nodes;
mod retention;
mod rooms;

use crate::common::{within, within_for, Client, TestServer};
