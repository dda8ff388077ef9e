//! The names' heartbeat (`[CLUSTER-5]`): every third of the lease, one
//! script call renews the lease of every name the node's connections hold,
//! so that a node that dies frees them within a lease, and a living one
//! keeps them through two missed beats. (The node's own key is beaten by
//! `membership::janitor`, which the rooms' janitor reads.)
//!
//! A name that vanished (Redis restarted without it, or the node could not
//! reach Redis for longer than the lease) is claimed again. One that
//! another node's user holds by then is that user's: the local session
//! under it is ended, so a name is never held twice (`[CLUSTER-1]`).

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use confab_protocol::frame::{Frame, Goodbye};
use confab_protocol::ErrorCode;
use redis::Script;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::names::{self, holder, lease_ms};
use super::{keys, Cluster, ClusterError};
use crate::hub::{Hub, Member};
use crate::shared::Shared;

/// `KEYS[i]`: names, held by `ARGV[i + 1]`; `ARGV[1]`: the lease in ms.
/// Renews each name still ours, claims again each that vanished, and
/// returns the indexes (from 1) of those someone else holds now.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local lost = {}
for i = 1, #KEYS do
  local held = redis.call('GET', KEYS[i])
  if held == ARGV[i + 1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  elseif held == false then
    redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1])
  else
    table.insert(lost, i)
  end
end
return lost
",
    )
});

/// What a session reads when another node's user holds its name now.
pub const LOST_NAME: &str = "this server lost its claim on your name while it could not reach \
     the cluster, and a login on another node took the name";

/// Beats until `shutdown`, then frees the node's names at once
/// (`release_all`): its clients, told `NODE_LEAVING`, reconnect to other
/// nodes under the same names (`[CLUSTER-4]`). Spawned by `server::run` in
/// cluster mode; freeing here, after the last beat, means no beat can
/// claim a name again after it was freed.
/// `freed` is told once the names are freed (or could not be): the node
/// says GOODBYE only then, so a client reconnecting at once to another node
/// finds its name free there.
pub async fn run(
    cluster: Cluster,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    freed: tokio::sync::oneshot::Sender<()>,
) {
    let mut ticks = tokio::time::interval((cluster.lease() / 3).max(Duration::from_millis(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Said once per outage, not once per beat.
    let mut failing = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        match beat(&cluster, &shared.services.hub).await {
            Ok(()) if failing => {
                failing = false;
                info!("the cluster's Redis answers the heartbeat again");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                warn!("heartbeat failed (names are kept until their lease runs out): {e}");
            }
            Err(_) => {}
        }
    }
    match release_all(&cluster, &shared.services.hub).await {
        Ok(count) => info!("freed {count} names in the cluster"),
        Err(e) => warn!("cannot free this node's names (their leases will): {e}"),
    }
    let _ = freed.send(());
}

/// One beat: renews, then ends the sessions whose names are lost.
async fn beat(cluster: &Cluster, hub: &Hub) -> Result<(), ClusterError> {
    let members = hub.members();
    if members.is_empty() {
        return Ok(());
    }
    let mut invocation = RENEW.prepare_invoke();
    invocation.arg(lease_ms(cluster));
    for member in &members {
        invocation
            .key(keys::name(&member.moderation.key))
            .arg(holder(cluster, member.conn_id));
    }
    let lost: Vec<usize> = invocation.invoke_async(&mut cluster.commands()).await?;
    for index in lost {
        // Lua counts from 1.
        if let Some(member) = index.checked_sub(1).and_then(|i| members.get(i)) {
            end_duplicate(member);
        }
    }
    Ok(())
}

/// Ends a session whose name another node's user holds now.
///
/// GOODBYE `TAKEN_OVER` (58, fatal): as in `[AUTH-4]`, a newer login holds
/// the name, and the client must not log in again by itself (it would only
/// take the name back and forth). `NAME_TAKEN` is no GOODBYE reason (not
/// fatal), and `NODE_LEAVING` would send the client to another node, where
/// its name is taken. The connection's end frees the name locally; the
/// compare-and-delete it spawns leaves the other node's claim alone.
fn end_duplicate(member: &Member) {
    warn!(
        conn = member.conn_id,
        user = %member.name,
        "another node holds this session's name now: ending the session"
    );
    let goodbye = Frame::Goodbye(Goodbye::new(ErrorCode::TAKEN_OVER, LOST_NAME));
    member
        .outbox
        .close_with(ErrorCode::TAKEN_OVER, goodbye.to_bytes());
}

/// Frees every name this node's connections hold (where still theirs),
/// for a shutdown (SIGTERM): other nodes may take the names at once
/// instead of after the lease. Returns how many it freed. (The node's key
/// is `Cluster::leave`'s.)
pub async fn release_all(cluster: &Cluster, hub: &Hub) -> Result<i64, ClusterError> {
    let held: Vec<(String, String)> = hub
        .members()
        .iter()
        .map(|m| (m.moderation.key.to_string(), holder(cluster, m.conn_id)))
        .collect();
    names::release_many(cluster, &held).await
}
