//! Room membership across the cluster (`[CLUSTER-1]`): who is in which
//! room, on which node, kept in Redis (a hash per room, name → node id) and
//! announced on the room's channel, so WHO, LIST_ROOMS, JOINED's count and
//! PRESENCE see every node's members.
//!
//! A node records its members' comings and goings through one queue,
//! written in order, and retried while Redis is away: a member's leave
//! never overtakes its join. The queue is bounded; past it a change is
//! dropped and logged, and the janitor's sweep or the member's next change
//! mends it. The janitor, run by one node at a time, removes the members
//! of nodes whose heartbeat ran out (`[CLUSTER-5]`).

use std::collections::HashMap;
use std::time::Duration;

use confab_protocol::frame::PresenceEvent;
use confab_protocol::names::name_key;
use confab_protocol::Str8;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{keys, record, scripts, Cluster, ClusterError};

/// Changes waiting to be written, at most (about 600 bytes each at most).
pub const QUEUE: usize = 65_536;
/// Changes written in one pipeline.
const BATCH: usize = 256;

/// One member's coming or going.
#[derive(Debug, Clone)]
pub enum Change {
    Room {
        room: Str8,
        name: Str8,
        /// `Joined`, or how it went (`Left`, `Disconnected`).
        event: PresenceEvent,
    },
    /// A user logged in here (true) or left (false).
    Online { name: Str8, online: bool },
}

/// Writes the node's membership changes, in order, until `shutdown`; what
/// is left then is the final sweep's ([`leave`]).
pub async fn write(
    cluster: Cluster,
    mut queue: mpsc::Receiver<Change>,
    shutdown: CancellationToken,
) {
    let mut conn = cluster.commands();
    let mut batch = Vec::with_capacity(BATCH);
    let mut backoff = Duration::from_millis(50);
    loop {
        if batch.is_empty() {
            let received = tokio::select! {
                n = queue.recv_many(&mut batch, BATCH) => n,
                _ = shutdown.cancelled() => return,
            };
            if received == 0 {
                return;
            }
        }
        let mut pipe = redis::pipe();
        for change in &batch {
            add(&mut pipe, change.clone(), cluster.node_id());
        }
        match pipe.query_async::<Vec<i64>>(&mut conn).await {
            Ok(_) => {
                batch.clear();
                backoff = Duration::from_millis(50);
            }
            Err(e) => {
                warn!("membership: cannot reach the cluster's Redis ({e}); retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// The node leaves the cluster (SIGTERM): its members leave every room,
/// announced as disconnected, its users go offline and its heartbeat stops.
pub async fn leave(cluster: &Cluster) -> Result<(), ClusterError> {
    let mut conn = cluster.commands();
    let () = redis::cmd("DEL")
        .arg(keys::node(cluster.node_id()))
        .query_async::<i64>(&mut conn)
        .await
        .map(drop)?;
    sweep_nodes(cluster, |node| node == cluster.node_id()).await
}

/// The script call recording `change` for `node`.
fn add(pipe: &mut redis::Pipeline, change: Change, node: &str) {
    let (room, name, event) = match change {
        Change::Room { room, name, event } => (room, name, event),
        Change::Online { name, online } => {
            pipe.cmd("EVAL")
                .arg(scripts::USER_ONLINE)
                .arg(1)
                .arg(keys::online())
                .arg(name.as_str())
                .arg(node)
                .arg(if online { "1" } else { "0" });
            return;
        }
    };
    let key = name_key(&room);
    let script = match event {
        PresenceEvent::Joined => scripts::MEMBER_JOIN,
        _ => scripts::MEMBER_LEAVE,
    };
    pipe.cmd("EVAL")
        .arg(script)
        .arg(2)
        .arg(keys::room_members(&key))
        .arg(keys::rooms())
        .arg(name.as_str())
        .arg(node)
        .arg(keys::room_channel(&key))
        .arg(record::presence(event, node, &name).as_ref())
        .arg(&key)
        .arg(room.as_str());
}

/// Everyone logged in on any node, sorted (WHO without a room, `[CLUSTER-1]`).
pub async fn online(cluster: &Cluster) -> Result<Vec<Str8>, ClusterError> {
    let mut conn = cluster.commands();
    let names: Vec<String> = redis::cmd("HKEYS")
        .arg(keys::online())
        .query_async(&mut conn)
        .await?;
    let mut names: Vec<Str8> = names.iter().map(|n| Str8::truncated(n)).collect();
    names.sort();
    Ok(names)
}

/// The rooms with members on any node, and their member counts, sorted by
/// name (`[ROOM-6]`).
pub async fn occupied(cluster: &Cluster) -> Result<Vec<(Str8, u32)>, ClusterError> {
    let mut conn = cluster.commands();
    let rooms: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(keys::rooms())
        .query_async(&mut conn)
        .await?;
    let mut pipe = redis::pipe();
    for (key, _) in &rooms {
        pipe.cmd("HLEN").arg(keys::room_members(key));
    }
    let counts: Vec<u32> = pipe.query_async(&mut conn).await?;
    let mut list: Vec<(Str8, u32)> = rooms
        .into_iter()
        .zip(counts)
        .filter(|(_, count)| *count > 0)
        .map(|((_, name), count)| (Str8::truncated(&name), count))
        .collect();
    list.sort();
    Ok(list)
}

/// A room's members on every node, and the node each is on.
pub async fn members(cluster: &Cluster, room: &str) -> Result<Vec<(Str8, String)>, ClusterError> {
    let mut conn = cluster.commands();
    let members: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(keys::room_members(&name_key(room)))
        .query_async(&mut conn)
        .await?;
    Ok(members
        .into_iter()
        .map(|(name, node)| (Str8::truncated(&name), node))
        .collect())
}

/// Whether the room ever had a message (it exists for WHO, `[PRESENCE-1]`).
pub async fn has_log(cluster: &Cluster, room: &str) -> Result<bool, ClusterError> {
    let mut conn = cluster.commands();
    let exists: bool = redis::cmd("EXISTS")
        .arg(keys::room_seq(&name_key(room)))
        .query_async(&mut conn)
        .await?;
    Ok(exists)
}

/// Every `lease`: renews this node's heartbeat and, when this node holds
/// the janitor's lock, removes from every room the members of nodes whose
/// heartbeat ran out, announcing each as disconnected (`[CLUSTER-5]`).
pub async fn janitor(cluster: Cluster, shutdown: CancellationToken) {
    let lease = cluster.lease();
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        round = round.wrapping_add(1);
        if let Err(e) = heartbeat(&cluster).await {
            debug!("heartbeat: {e}");
            continue;
        }
        // Sweeps every third beat, a lease apart.
        if round % 3 == 0 {
            if let Err(e) = sweep(&cluster).await {
                warn!("janitor: {e}");
            }
        }
    }
}

/// This node lives for another lease.
pub async fn heartbeat(cluster: &Cluster) -> Result<(), ClusterError> {
    let mut conn = cluster.commands();
    let () = redis::cmd("SET")
        .arg(keys::node(cluster.node_id()))
        .arg(cluster.node_name())
        .arg("PX")
        .arg(cluster.lease().as_millis() as u64)
        .query_async(&mut conn)
        .await?;
    Ok(())
}

/// Removes dead nodes' members from every room, if this node holds the lock.
async fn sweep(cluster: &Cluster) -> Result<(), ClusterError> {
    let mut conn = cluster.commands();
    let taken: Option<String> = redis::cmd("SET")
        .arg(keys::janitor_lock())
        .arg(cluster.node_id())
        .arg("NX")
        .arg("PX")
        .arg(cluster.lease().as_millis() as u64)
        .query_async(&mut conn)
        .await?;
    if taken.is_none() {
        return Ok(());
    }
    let mut alive: HashMap<String, bool> = HashMap::new();
    let mut dead = Vec::new();
    let mut owners: Vec<String> = Vec::new();
    for (_, room) in rooms_with_members(&mut conn).await? {
        owners.extend(
            members(cluster, &room)
                .await?
                .into_iter()
                .map(|(_, node)| node),
        );
    }
    let users: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(keys::online())
        .query_async(&mut conn)
        .await?;
    owners.extend(users.into_iter().map(|(_, node)| node));
    for node in owners {
        if !is_alive(&mut conn, &mut alive, &node).await? && !dead.contains(&node) {
            info!(node, "janitor: the node is gone; removing its members");
            dead.push(node);
        }
    }
    if dead.is_empty() {
        return Ok(());
    }
    sweep_nodes(cluster, |node| dead.iter().any(|d| d == node)).await
}

async fn rooms_with_members(
    conn: &mut redis::aio::ConnectionManager,
) -> Result<Vec<(String, String)>, ClusterError> {
    Ok(redis::cmd("HGETALL")
        .arg(keys::rooms())
        .query_async(conn)
        .await?)
}

/// Removes the members and online users of the nodes `gone` names.
async fn sweep_nodes(cluster: &Cluster, gone: impl Fn(&str) -> bool) -> Result<(), ClusterError> {
    let mut conn = cluster.commands();
    let mut changes = Vec::new();
    for (_, room) in rooms_with_members(&mut conn).await? {
        for (name, node) in members(cluster, &room).await? {
            if gone(&node) {
                let room = Str8::truncated(&room);
                let event = PresenceEvent::Disconnected;
                changes.push((Change::Room { room, name, event }, node));
            }
        }
    }
    let users: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(keys::online())
        .query_async(&mut conn)
        .await?;
    for (name, node) in users {
        if gone(&node) {
            let name = Str8::truncated(&name);
            changes.push((
                Change::Online {
                    name,
                    online: false,
                },
                node,
            ));
        }
    }
    for chunk in changes.chunks(BATCH) {
        let mut pipe = redis::pipe();
        for (change, node) in chunk {
            add(&mut pipe, change.clone(), node);
        }
        let _: Vec<i64> = pipe.query_async(&mut conn).await?;
    }
    Ok(())
}

/// Whether `node`'s heartbeat still runs (asked once per sweep and node).
async fn is_alive(
    conn: &mut redis::aio::ConnectionManager,
    alive: &mut HashMap<String, bool>,
    node: &str,
) -> Result<bool, ClusterError> {
    if let Some(live) = alive.get(node) {
        return Ok(*live);
    }
    let live: bool = redis::cmd("EXISTS")
        .arg(keys::node(node))
        .query_async(conn)
        .await?;
    alive.insert(node.to_string(), live);
    Ok(live)
}
