//! Cluster mode (`--cluster`, spec section 22): nodes on one real Redis.

mod failures;
mod messages;
mod nodes;
mod redis_server;
mod retention;
mod rooms;

use crate::common::{within, within_for, Client, TestServer};
