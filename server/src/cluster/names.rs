//! Names across the cluster (`[CLUSTER-1]`, `[HANDSHAKE-5]`, `[SEC-8]`):
//! a logged-in name is a Redis key, `keys::name(user_key)`, whose value is
//! `"<node id> <connection id>"` (the direct-message script reads it to find
//! the recipient's node) and which lives for a lease the node's heartbeat
//! renews (`[CLUSTER-5]`, see `heartbeat`). docs/cluster.md, "Names".
//!
//! The node's own hub stays the judge among its connections: a name is
//! claimed there first, then in Redis. So a value naming this node but
//! another connection is stale (that connection already let go of the name
//! locally, its compare-and-delete not yet run) and may be overwritten.

use std::sync::LazyLock;

use redis::Script;

use super::{keys, Cluster, ClusterError};

/// Claims `KEYS[1]` for `ARGV[1]` (`"<node> <conn>"`) for `ARGV[2]` ms when
/// it is free or held by this node (`ARGV[3]`, `"<node> "`); 1 if claimed.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local held = redis.call('GET', KEYS[1])
if held == false or string.sub(held, 1, #ARGV[3]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
",
    )
});

/// Deletes each `KEYS[i]` still holding `ARGV[i]`: a departure never frees
/// a name someone else claimed meanwhile. Returns how many it deleted.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local deleted = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then
    deleted = deleted + redis.call('DEL', key)
  end
end
return deleted
",
    )
});

/// What a name's key holds while connection `conn_id` of this node has it.
pub fn holder(cluster: &Cluster, conn_id: u64) -> String {
    format!("{} {conn_id}", cluster.node_id())
}

/// Claims the name `user_key` for connection `conn_id`, with a lease;
/// false when another node's connection holds it.
pub async fn claim(cluster: &Cluster, user_key: &str, conn_id: u64) -> Result<bool, ClusterError> {
    let ours = format!("{} ", cluster.node_id());
    let claimed: i64 = CLAIM
        .key(keys::name(user_key))
        .arg(holder(cluster, conn_id))
        .arg(lease_ms(cluster))
        .arg(ours)
        .invoke_async(&mut cluster.commands())
        .await?;
    Ok(claimed == 1)
}

/// Whether another node holds `user_key` (REGISTER's cheap refusal, in
/// the order of `[STATE-7]`, before any hashing).
pub async fn held_elsewhere(cluster: &Cluster, user_key: &str) -> Result<bool, ClusterError> {
    let held: Option<String> = redis::cmd("GET")
        .arg(keys::name(user_key))
        .query_async(&mut cluster.commands())
        .await?;
    let ours = format!("{} ", cluster.node_id());
    Ok(held.is_some_and(|h| !h.starts_with(&ours)))
}

/// Frees `user_key` if connection `conn_id` still holds it, in the
/// background: a connection's end never waits on Redis. Should Redis be
/// unreachable, the lease frees the name later.
pub fn release(cluster: &Cluster, user_key: &str, conn_id: u64) {
    let cluster = cluster.clone();
    let key = keys::name(user_key);
    let value = holder(&cluster, conn_id);
    tokio::spawn(async move {
        let freed: Result<i64, _> = RELEASE
            .key(&key)
            .arg(&value)
            .invoke_async(&mut cluster.commands())
            .await;
        if let Err(e) = freed {
            // Said once per outage by the heartbeat, not once per departure.
            tracing::debug!("cannot free {key} (its lease will): {e}");
        }
    });
}

/// Deletes each `(user_key, holder)` whose key still holds that value;
/// returns how many it deleted.
pub async fn release_many(
    cluster: &Cluster,
    held: &[(String, String)],
) -> Result<i64, ClusterError> {
    if held.is_empty() {
        return Ok(0);
    }
    let mut invocation = RELEASE.prepare_invoke();
    for (user_key, value) in held {
        invocation.key(keys::name(user_key)).arg(value);
    }
    Ok(invocation.invoke_async(&mut cluster.commands()).await?)
}

/// The lease in milliseconds, as Redis takes it (at least 1).
pub fn lease_ms(cluster: &Cluster) -> u64 {
    u64::try_from(cluster.lease().as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}
