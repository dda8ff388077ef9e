//! A node's subscription: it hears every message and presence change of
//! the rooms its members are in, the direct messages for its users, and
//! retention's results, and delivers them here in `seq` order.
//!
//! One task owns the subscription and handles what it hears one at a time,
//! so a room's messages are delivered in the order Redis published them; a
//! message whose `seq` is past the next expected one (heard after the
//! subscription was lost and made again) waits until the missing range was
//! read back from the room's stream (`[CLUSTER-3]`). A room is subscribed
//! to, then read (its latest messages, next `seq` and members), before its
//! first member here joins: a message published meanwhile is heard twice
//! and delivered once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::frame::{Direction, Frame};
use confab_protocol::names::name_key;
use futures_util::StreamExt;
use redis::aio::PubSubSink;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::record::{self, RoomEvent};
use super::{keys, membership, Cluster, ClusterError};
use crate::clock::now_millis;
use crate::hub::room::Logged;
use crate::hub::{Hub, Room};

/// Messages read back per step when filling a gap.
const BACKFILL: usize = 1_000;

/// What the connections ask of the subscription.
#[derive(Debug)]
pub enum Command {
    /// Subscribe to the room and load it, then answer.
    Sync(Arc<Room>, oneshot::Sender<Result<(), ClusterError>>),
    /// The room was let go here: stop hearing it.
    Forget(Arc<Room>),
}

/// Serves the node's subscription until `shutdown`.
pub async fn run(
    cluster: Cluster,
    shared: Arc<crate::shared::Shared>,
    history_keep: usize,
    mut commands: mpsc::Receiver<Command>,
    shutdown: CancellationToken,
) {
    let hub = &shared.services.hub;
    let mut rooms: HashMap<String, Arc<Room>> = HashMap::new();
    let mut backoff = Duration::from_millis(50);
    loop {
        let mut subscription = Subscription {
            cluster: &cluster,
            hub,
            keep: history_keep,
            rooms: &mut rooms,
            room_prefix: keys::room_channel(""),
            everyone: keys::everyone_channel(),
        };
        let served = subscription.serve(&mut commands, &shutdown).await;
        match served {
            Ok(()) => return,
            Err(e) => warn!("cluster subscription lost: {e}; subscribing again"),
        }
        backoff = backoff.min(Duration::from_secs(2));
        // Away: refuse what needs the subscription, until it is back.
        let wait = tokio::time::sleep(backoff);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                _ = shutdown.cancelled() => return,
                command = commands.recv() => match command {
                    None => return,
                    Some(Command::Sync(room, reply)) => {
                        let _ = reply.send(Err(ClusterError::Unexpected(
                            format!("not subscribed to the cluster's Redis (room {})", room.name.as_str()),
                        )));
                    }
                    Some(Command::Forget(room)) => {
                        forget(&mut rooms, &room);
                    }
                },
            }
        }
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

fn forget(rooms: &mut HashMap<String, Arc<Room>>, room: &Arc<Room>) -> bool {
    let key = name_key(&room.name);
    if rooms.get(&key).is_some_and(|r| Arc::ptr_eq(r, room)) {
        rooms.remove(&key);
        return true;
    }
    false
}

struct Subscription<'a> {
    cluster: &'a Cluster,
    hub: &'a Hub,
    keep: usize,
    rooms: &'a mut HashMap<String, Arc<Room>>,
    /// What every room channel's name starts with, and the channel every
    /// node hears: made once, matched against every publication.
    room_prefix: String,
    everyone: String,
}

impl Subscription<'_> {
    /// One subscription, from connecting to losing it (an error) or the end.
    async fn serve(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
        shutdown: &CancellationToken,
    ) -> Result<(), ClusterError> {
        let (mut sink, mut stream) = self.cluster.client().get_async_pubsub().await?.split();
        let node_channel = keys::node_channel(self.cluster.node_id());
        sink.subscribe(&node_channel).await?;
        sink.subscribe(&self.everyone).await?;
        // Back after a loss: hear the rooms again, then catch up on them.
        let rooms: Vec<Arc<Room>> = self.rooms.values().cloned().collect();
        for room in &rooms {
            sink.subscribe(keys::room_channel(&name_key(&room.name)))
                .await?;
        }
        for room in &rooms {
            self.catch_up(room, None).await?;
            let members = membership::members(self.cluster, &room.name).await?;
            room.set_remote(self.others(members));
        }
        if !rooms.is_empty() {
            info!("cluster subscription back: {} rooms caught up", rooms.len());
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                command = commands.recv() => match command {
                    None => return Ok(()),
                    Some(Command::Sync(room, reply)) => {
                        let synced = self.sync(&mut sink, &room).await;
                        let lost = synced.is_err();
                        let _ = reply.send(synced);
                        if lost {
                            return Err(ClusterError::Unexpected("a room could not be loaded".into()));
                        }
                    }
                    Some(Command::Forget(room)) => {
                        if forget(self.rooms, &room) {
                            sink.unsubscribe(keys::room_channel(&name_key(&room.name))).await?;
                        }
                    }
                },
                message = stream.next() => match message {
                    None => return Err(ClusterError::Unexpected("the subscription ended".into())),
                    Some(message) => self.heard(message.get_channel_name(), message.get_payload_bytes()).await?,
                },
            }
        }
    }

    /// Subscribes to `room` and loads it, unless it is heard already.
    async fn sync(&mut self, sink: &mut PubSubSink, room: &Arc<Room>) -> Result<(), ClusterError> {
        let key = name_key(&room.name);
        if self.rooms.get(&key).is_some_and(|r| Arc::ptr_eq(r, room)) {
            return Ok(());
        }
        sink.subscribe(keys::room_channel(&key)).await?;
        let (_, next_seq, recent) = super::log::load(self.cluster, &room.name, self.keep).await?;
        let members = membership::members(self.cluster, &room.name).await?;
        room.load_logged(next_seq, recent, self.others(members));
        self.rooms.insert(key, Arc::clone(room));
        Ok(())
    }

    /// Members on other nodes (this node's own are its connections).
    fn others(&self, members: Vec<(confab_protocol::Str8, String)>) -> Vec<confab_protocol::Str8> {
        let me = self.cluster.node_id();
        members
            .into_iter()
            .filter(|(_, node)| node != me)
            .map(|(name, _)| name)
            .collect()
    }

    /// Handles one publication.
    async fn heard(&mut self, channel: &str, payload: &[u8]) -> Result<(), ClusterError> {
        if let Some(room_key) = channel.strip_prefix(self.room_prefix.as_str()) {
            let Some(room) = self.rooms.get(room_key).cloned() else {
                return Ok(()); // Let go meanwhile.
            };
            match record::read_room_event(payload, &room.name) {
                Some(RoomEvent::Message(message, origin)) => {
                    let skip = (origin.node == self.cluster.node_id()).then_some(origin.conn);
                    if let Logged::Gap(message) = room.deliver_logged(message, skip) {
                        self.catch_up(&room, Some(message.seq)).await?;
                        let _ = room.deliver_logged(message, skip);
                    }
                }
                Some(RoomEvent::Presence { event, node, name }) => {
                    if node != self.cluster.node_id() {
                        room.remote_presence(name, event, now_millis());
                    }
                }
                None => warn!(channel, "cluster: a malformed publication was skipped"),
            }
        } else if channel == self.everyone {
            match super::retention::decode(payload) {
                Some((before, first_kept)) => self.hub.forget(before, &first_kept),
                None => warn!(channel, "cluster: a malformed publication was skipped"),
            }
        } else {
            match record::read_direct_delivery(payload) {
                Some((conn, message, _)) => self.deliver_direct(conn, message),
                None => warn!(channel, "cluster: a malformed publication was skipped"),
            }
        }
        Ok(())
    }

    /// A direct message for a user of this node (`[DM-1]`).
    fn deliver_direct(&self, conn: u64, message: confab_protocol::frame::DirectMessage) {
        match self.hub.user(&message.to) {
            Some(member) if member.conn_id == conn => {
                let _ = member.outbox.push(Frame::DirectMessage(message).to_bytes());
            }
            // Gone since the script looked: history still has it.
            _ => {}
        }
    }

    /// Delivers what `room` missed from its expected `seq` up to `before`
    /// (to the stream's end without it), read back from the stream; what
    /// retention removed meanwhile is said MISSED.
    async fn catch_up(&self, room: &Arc<Room>, before: Option<u64>) -> Result<(), ClusterError> {
        let log = keys::room_log(&name_key(&room.name));
        loop {
            let expected = room.expected_seq();
            if before.is_some_and(|b| expected >= b) {
                return Ok(());
            }
            let (records, _) = super::log::read_page(
                self.cluster,
                &log,
                Direction::After,
                expected - 1,
                1,
                BACKFILL,
            )
            .await?;
            let messages: Vec<_> = records
                .iter()
                .filter_map(|r| record::read_room_message(r, &room.name))
                .filter(|(m, _)| before.is_none_or(|b| m.seq < b))
                .collect();
            tracing::debug!(
                room = room.name.as_str(),
                expected,
                read = records.len(),
                "cluster: catching up"
            );
            let Some((first, _)) = messages.first() else {
                if let Some(before) = before {
                    room.skip_to(before);
                }
                return Ok(());
            };
            room.skip_to(first.seq);
            let me = self.cluster.node_id();
            for (message, origin) in messages {
                let skip = (origin.node == me).then_some(origin.conn);
                let _ = room.deliver_logged(message, skip);
            }
            if records.len() < BACKFILL {
                if let Some(before) = before {
                    room.skip_to(before);
                }
                return Ok(());
            }
        }
    }
}
