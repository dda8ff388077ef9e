//! Every Redis key and channel a cluster uses, in one place (docs/cluster.md
//! lists them). Rooms and users are keyed by their name keys (`name_key`,
//! `user_key`: look-alikes are one name, `[SEC-8]`); the braces are Redis
//! Cluster hash tags, so a room's keys share a slot when rooms are sharded.

/// Prefix of every key; one Redis database per cluster.
const PREFIX: &str = "confab";

/// The next message id, cluster-wide (`[MSG-3]`).
pub fn message_id() -> String {
    format!("{PREFIX}:msgid")
}

/// A room's last `seq` (`[MSG-4]`).
pub fn room_seq(room_key: &str) -> String {
    format!("{PREFIX}:{{room:{room_key}}}:seq")
}

/// A room's messages: a stream whose entry ids are `<seq>-1`.
pub fn room_log(room_key: &str) -> String {
    format!("{PREFIX}:{{room:{room_key}}}:log")
}

/// A room's members on every node: a hash, display name → node id.
pub fn room_members(room_key: &str) -> String {
    format!("{PREFIX}:{{room:{room_key}}}:members")
}

/// Where a room's messages and presence are published.
pub fn room_channel(room_key: &str) -> String {
    format!("{PREFIX}:room:{room_key}")
}

/// Display names of the rooms that have members (LIST_ROOMS).
pub fn rooms() -> String {
    format!("{PREFIX}:rooms")
}

/// One conversation's direct messages: a stream whose entry ids are `<id>-1`.
pub fn direct_log(conversation: &str) -> String {
    format!("{PREFIX}:{{dm:{conversation}}}:log")
}

/// Who holds a name: `"<node id> <connection id>"`, with a lease.
pub fn name(user_key: &str) -> String {
    format!("{PREFIX}:name:{user_key}")
}

/// An account: a hash with the password hash and when it was made.
pub fn account(user_key: &str) -> String {
    format!("{PREFIX}:account:{user_key}")
}

/// A node's heartbeat: exists while the node lives (a lease).
pub fn node(node_id: &str) -> String {
    format!("{PREFIX}:node:{node_id}")
}

/// Direct messages and commands for one node's users.
pub fn node_channel(node_id: &str) -> String {
    format!("{PREFIX}:to-node:{node_id}")
}

/// What every node hears: retention's results.
pub fn everyone_channel() -> String {
    format!("{PREFIX}:everyone")
}

/// Held by the node running a retention pass, so one runs per cluster.
pub fn retention_lock() -> String {
    format!("{PREFIX}:lock:retention")
}

/// Held by the node clearing dead nodes' members out of rooms.
pub fn janitor_lock() -> String {
    format!("{PREFIX}:lock:janitor")
}

/// Everyone logged in on any node: a hash, display name → node id (WHO).
pub fn online() -> String {
    format!("{PREFIX}:online")
}

/// Keys of the rooms that have a log (retention walks them).
pub fn logs() -> String {
    format!("{PREFIX}:logs")
}

/// Keys of the conversations that have a log (retention walks them).
pub fn direct_logs() -> String {
    format!("{PREFIX}:direct-logs")
}
