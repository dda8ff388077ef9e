//! The message log of a cluster node: every room and direct message is
//! appended to Redis by a script that numbers it (`scripts.rs`), and is
//! acknowledged once Redis answered (with `appendfsync always`, once it is
//! on Redis's disk: `[MSG-2]`). Delivery is not the writer's: every node,
//! the sender's included, delivers what it hears on its subscriptions
//! (`dispatch.rs`), so one path serves local and remote members alike.
//!
//! One writer task sends what waits in a pipeline, one batch at a time, in
//! the order the connections appended: each sender's messages keep their
//! order (`[ORDER-1]`), and one round trip (and one fsync of Redis's AOF)
//! serves a whole batch, as the SQLite writer's group commit does.

use std::time::Duration;

use confab_protocol::frame::{DirectMessage, Direction, Message};
use confab_protocol::names::name_key;
use confab_protocol::{ErrorCode, Str8};
use redis::Value;
use tokio::sync::mpsc;
use tracing::{error, warn};

use super::record;
use super::{keys, scripts, Cluster, ClusterError};
use crate::log::{
    Checkpoint, ConversationKey, Entry, LoadedRoom, Page, Policy, Pruned, Slot, StoreError,
};
use crate::store::Op;

/// Messages waiting for the writer, at most; a full queue slows the
/// senders that wait for room in it, not the others.
const QUEUE: usize = 4_096;
/// Messages in one pipeline.
const BATCH: usize = 512;

#[derive(Debug)]
pub struct RedisLog {
    cluster: Cluster,
    ops: mpsc::Sender<Op>,
    /// How often retention passes run: one node's pass holds for the others.
    retention_interval: Duration,
}

impl RedisLog {
    /// The log, and its writer task started on the current runtime.
    pub fn start(cluster: Cluster, retention_interval: Duration) -> RedisLog {
        let (ops, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write(cluster.clone(), queue));
        RedisLog {
            cluster,
            ops,
            retention_interval,
        }
    }

    pub async fn reserve(&self) -> Result<Slot<'_>, StoreError> {
        let permit = self.ops.reserve().await.map_err(|_| StoreError::Closed)?;
        Ok(Slot::Cluster(permit))
    }

    pub async fn room_history(
        &self,
        room: &str,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<Option<Page<Message>>, StoreError> {
        let name = Str8::truncated(room);
        Ok(Some(
            room_page(&self.cluster, &name, direction, anchor, limit).await?,
        ))
    }

    pub async fn direct_history(
        &self,
        conversation: ConversationKey,
        floor: u64,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<Page<DirectMessage>, StoreError> {
        let log = keys::direct_log(conversation.as_str());
        let (entries, more) =
            read_page(&self.cluster, &log, direction, anchor, floor.max(1), limit).await?;
        let messages = entries
            .iter()
            .filter_map(|e| record::read_direct_message(e))
            .map(|(mut m, _)| {
                m.flags |= DirectMessage::HISTORY;
                m
            })
            .collect();
        Ok((messages, more))
    }

    pub async fn load_room(
        &self,
        name: String,
        keep: usize,
    ) -> Result<Option<LoadedRoom>, StoreError> {
        let (numbered, next_seq, recent) =
            load(&self.cluster, &Str8::truncated(&name), keep).await?;
        Ok(numbered.then_some(LoadedRoom {
            name,
            next_seq,
            recent,
        }))
    }

    pub async fn apply_retention(
        &self,
        policy: Policy,
        checkpoint: Checkpoint,
    ) -> Result<Pruned, StoreError> {
        let interval = self.retention_interval;
        Ok(super::retention::pass(&self.cluster, policy, interval, checkpoint).await?)
    }
}

/// One page of a room's history, flagged as such (`[HISTORY-1]`).
async fn room_page(
    cluster: &Cluster,
    room: &Str8,
    direction: Direction,
    anchor: u64,
    limit: usize,
) -> Result<Page<Message>, ClusterError> {
    let log = keys::room_log(&name_key(room));
    let (entries, more) = read_page(cluster, &log, direction, anchor, 1, limit).await?;
    let messages = entries
        .iter()
        .filter_map(|e| record::read_room_message(e, room))
        .map(|(mut m, _)| {
            m.flags |= Message::HISTORY;
            m
        })
        .collect();
    Ok((messages, more))
}

/// A room as the log has it: whether it ever numbered a message, the `seq`
/// its next message gets and its newest `keep` messages. Read after its
/// channel is subscribed to, a message numbered between the two reads is
/// counted by the later one: the next `seq` is past both.
pub(super) async fn load(
    cluster: &Cluster,
    room: &Str8,
    keep: usize,
) -> Result<(bool, u64, Vec<Message>), ClusterError> {
    let mut conn = cluster.commands();
    let last: Option<u64> = redis::cmd("GET")
        .arg(keys::room_seq(&name_key(room)))
        .query_async(&mut conn)
        .await?;
    let (recent, _) = room_page(cluster, room, Direction::Before, 0, keep).await?;
    let newest = recent.last().map_or(0, |m| m.seq);
    Ok((last.is_some(), last.unwrap_or(0).max(newest) + 1, recent))
}

/// Up to `limit` entry records of a stream whose ids are `<n>-1`, on one
/// side of `anchor` (0 before: from the newest), none below `floor`,
/// oldest first, and whether more exist on that side (`[HISTORY-1]`).
pub(super) async fn read_page(
    cluster: &Cluster,
    log: &str,
    direction: Direction,
    anchor: u64,
    floor: u64,
    limit: usize,
) -> Result<(Vec<Vec<u8>>, bool), ClusterError> {
    let floor_id = format!("{floor}-0");
    let mut conn = cluster.commands();
    let mut entries: Vec<Vec<u8>> = match direction {
        Direction::Before => {
            if anchor == 1 || (anchor != 0 && anchor <= floor) {
                return Ok((Vec::new(), false));
            }
            let end = if anchor == 0 {
                "+".to_string()
            } else {
                format!("{}-1", anchor - 1)
            };
            let reply: Value = redis::cmd("XREVRANGE")
                .arg(log)
                .arg(end)
                .arg(&floor_id)
                .arg("COUNT")
                .arg(limit + 1)
                .query_async(&mut conn)
                .await?;
            let mut entries = stream_records(reply)?;
            entries.reverse();
            entries
        }
        Direction::After => {
            let start = format!("{}-0", anchor.saturating_add(1).max(floor));
            let reply: Value = redis::cmd("XRANGE")
                .arg(log)
                .arg(start)
                .arg("+")
                .arg("COUNT")
                .arg(limit + 1)
                .query_async(&mut conn)
                .await?;
            stream_records(reply)?
        }
    };
    let more = entries.len() > limit;
    if more {
        match direction {
            // The oldest is the extra one.
            Direction::Before => drop(entries.remove(0)),
            Direction::After => entries.truncate(limit),
        }
    }
    Ok((entries, more))
}

/// The `m` field of each entry of an XRANGE/XREVRANGE reply, in order.
pub(super) fn stream_records(reply: Value) -> Result<Vec<Vec<u8>>, ClusterError> {
    let unexpected = || ClusterError::Unexpected("a stream entry without its record".into());
    let Value::Array(entries) = reply else {
        return Err(unexpected());
    };
    let mut records = Vec::with_capacity(entries.len());
    for entry in entries {
        // [id, [field, value, ...]]
        let Value::Array(mut parts) = entry else {
            return Err(unexpected());
        };
        let (Some(Value::Array(fields)), Some(_id)) = (parts.pop(), parts.pop()) else {
            return Err(unexpected());
        };
        match fields.into_iter().nth(1) {
            Some(Value::BulkString(record)) => records.push(record),
            _ => return Err(unexpected()),
        }
    }
    Ok(records)
}

/// The writer: numbers, stores and publishes what the connections append,
/// a pipeline at a time, then acknowledges or refuses each (`[CLUSTER-3]`).
async fn write(cluster: Cluster, mut queue: mpsc::Receiver<Op>) {
    let mut batch: Vec<Op> = Vec::with_capacity(BATCH);
    let mut conn = cluster.commands();
    let origin_node = cluster.node_id();
    // The same for every message: made once, not per append.
    let (message_id, node_channels) = (keys::message_id(), keys::node_channel(""));
    let (room_logs, direct_logs) = (keys::logs(), keys::direct_logs());
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for op in &batch {
            let conn_id = op.notify.connection();
            match &op.entry {
                Entry::Room(message) => {
                    let room = name_key(&message.room);
                    pipe.cmd("EVAL")
                        .arg(scripts::ROOM_APPEND)
                        .arg(4)
                        .arg(keys::room_seq(&room))
                        .arg(keys::room_log(&room))
                        .arg(&message_id)
                        .arg(&room_logs)
                        .arg(keys::room_channel(&room))
                        .arg(record::room_tail(message, origin_node, conn_id).as_ref())
                        .arg(&room);
                }
                Entry::Direct(message) => {
                    let conversation = ConversationKey::new(&message.from, &message.to);
                    pipe.cmd("EVAL")
                        .arg(scripts::DIRECT_APPEND)
                        .arg(4)
                        .arg(keys::name(&confab_protocol::names::user_key(&message.to)))
                        .arg(&message_id)
                        .arg(keys::direct_log(conversation.as_str()))
                        .arg(&direct_logs)
                        .arg(record::direct_tail(message, origin_node, conn_id).as_ref())
                        .arg(&node_channels)
                        .arg(conversation.as_str());
                }
            }
        }
        match pipe.query_async::<Vec<Value>>(&mut conn).await {
            Ok(replies) if replies.len() == batch.len() => {
                for (op, reply) in batch.drain(..).zip(replies) {
                    settle(op, reply);
                }
            }
            Ok(replies) => {
                error!(
                    "the cluster's Redis answered {} of {} appends",
                    replies.len(),
                    batch.len()
                );
                refuse_all(&mut batch);
            }
            Err(e) => {
                warn!("cannot append to the cluster's Redis: {e}");
                refuse_all(&mut batch);
                // Not a busy loop while Redis is away: the manager reconnects meanwhile.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Acknowledges one append with the numbers its script gave, or refuses it.
fn settle(op: Op, reply: Value) {
    let numbered = match (op.entry, reply) {
        (Entry::Room(mut message), Value::Array(numbers)) => match numbers.as_slice() {
            [Value::Int(seq), Value::Int(id)] => {
                message.seq = *seq as u64;
                message.id = *id as u64;
                Ok(Entry::Room(message))
            }
            _ => Err((ErrorCode::STORAGE_FAILURE, "the message store failed")),
        },
        (Entry::Direct(_), Value::Int(0)) => {
            // spec: DM-2 — nobody holds the name on any node.
            Err((ErrorCode::NO_SUCH_USER, "no such user online"))
        }
        (Entry::Direct(mut message), Value::Int(id)) => {
            message.id = id as u64;
            Ok(Entry::Direct(message))
        }
        (_, Value::ServerError(e)) => {
            error!("the cluster's Redis refused an append: {e:?}");
            Err((ErrorCode::STORAGE_FAILURE, "the message store failed"))
        }
        (_, other) => {
            error!("the cluster's Redis answered an append with {other:?}");
            Err((ErrorCode::STORAGE_FAILURE, "the message store failed"))
        }
    };
    match numbered {
        Ok(entry) => op.notify.durable(&entry),
        Err((code, why)) => op.notify.refused(code, why),
    }
}

fn refuse_all(batch: &mut Vec<Op>) {
    for op in batch.drain(..) {
        // spec: CLUSTER-3
        op.notify.refused(
            ErrorCode::CLUSTER_UNAVAILABLE,
            "the server cannot reach its cluster's store; not acknowledged, try again",
        );
    }
}
