//! Cluster mode (`--cluster redis://HOST:PORT[/DB]`): any number of nodes on
//! one Redis behave as one server (spec section 22, design in
//! docs/cluster.md).
//!
//! Redis holds what must be shared: names (with leases), accounts, room
//! membership, and every message, appended by a Lua script that assigns the
//! room's `seq`, appends to the room's stream and publishes, in one step.
//! Each node delivers to its own connections what it hears on the channels
//! of the rooms they are in, in `seq` order, and backfills from the stream
//! any gap it sees.

pub mod accounts;
mod ack;
mod dispatch;
mod error;
pub mod heartbeat;
pub mod keys;
mod listings;
mod log;
mod membership;
pub mod names;
mod record;
mod retention;
mod scripts;

pub use ack::Acknowledge;
pub use error::ClusterError;
pub use log::RedisLog;
pub use membership::{has_log, members, Change};

use std::sync::Mutex;

use confab_protocol::frame::PresenceEvent;
use confab_protocol::Str8;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::hub::Room;
use crate::sync::lock;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long one command may take before the node calls Redis unreachable
/// (`[CLUSTER-3]`) rather than make its clients wait.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// A node's handle on its cluster; cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    client: redis::Client,
    commands: ConnectionManager,
    node_id: String,
    node_name: String,
    lease: Duration,
    /// Requests to the subscription (`dispatch.rs`).
    dispatch: mpsc::Sender<dispatch::Command>,
    /// Membership changes to write (`membership.rs`).
    membership: mpsc::Sender<Change>,
    /// The two queues' far ends, until `start` takes them.
    receivers: Mutex<Option<Receivers>>,
    /// WHO without a room and LIST_ROOMS, read at most once a second.
    listings: listings::Listings,
}

struct Receivers {
    dispatch: mpsc::Receiver<dispatch::Command>,
    membership: mpsc::Receiver<Change>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("url", &self.inner.url)
            .field("node_id", &self.inner.node_id)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects to the cluster's Redis as node `node_name`; fails at start
    /// when Redis cannot be reached (later outages are survived, `[CLUSTER-3]`).
    pub async fn connect(
        url: &str,
        node_name: &str,
        lease: Duration,
    ) -> Result<Cluster, ClusterError> {
        let client = redis::Client::open(url).map_err(|source| ClusterError::Url {
            url: url.to_string(),
            source,
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let unreachable = |source| ClusterError::Unreachable {
            url: url.to_string(),
            source,
        };
        let mut commands = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(unreachable)?;
        let () = redis::cmd("PING")
            .query_async::<String>(&mut commands)
            .await
            .map(drop)
            .map_err(unreachable)?;
        let (dispatch, dispatch_receiver) = mpsc::channel(1_024);
        let (membership, membership_receiver) = mpsc::channel(membership::QUEUE);
        Ok(Cluster {
            inner: Arc::new(Inner {
                url: url.to_string(),
                client,
                commands,
                node_id: node_id(node_name),
                node_name: node_name.to_string(),
                lease,
                dispatch,
                membership,
                receivers: Mutex::new(Some(Receivers {
                    dispatch: dispatch_receiver,
                    membership: membership_receiver,
                })),
                listings: listings::Listings::default(),
            }),
        })
    }

    /// Starts the node's tasks: its subscription, its membership writer and
    /// its heartbeat and janitor. Once; later calls do nothing.
    pub fn start(
        &self,
        shared: &Arc<crate::shared::Shared>,
        tracker: &TaskTracker,
        shutdown: &CancellationToken,
    ) {
        let Some(receivers) = lock(&self.inner.receivers).take() else {
            return;
        };
        let keep = usize::from(shared.services.limits.history_max);
        tracker.spawn(dispatch::run(
            self.clone(),
            Arc::clone(shared),
            keep,
            receivers.dispatch,
            shutdown.clone(),
        ));
        // What is left at shutdown is `leave`'s.
        tracker.spawn(membership::write(
            self.clone(),
            receivers.membership,
            shutdown.clone(),
        ));
        tracker.spawn(membership::janitor(self.clone(), shutdown.clone()));
    }

    /// The node leaves the cluster at shutdown, once its connections are
    /// gone (`[CLUSTER-4]`): its members leave their rooms and its heartbeat
    /// stops at once, not a lease later.
    pub async fn leave(&self) {
        match tokio::time::timeout(RESPONSE_TIMEOUT, membership::leave(self)).await {
            Ok(Ok(())) => tracing::info!("left the cluster"),
            Ok(Err(e)) => tracing::warn!("leaving the cluster: {e}; the janitor will finish"),
            Err(_) => tracing::warn!("leaving the cluster timed out; the janitor will finish"),
        }
    }

    /// Subscribes to `room` and loads it from the cluster, before a member
    /// here joins it; an error when the cluster cannot be reached (`[CLUSTER-3]`).
    pub async fn sync_room(&self, room: &Arc<Room>) -> Result<(), ClusterError> {
        let (reply, answer) = oneshot::channel();
        let gone = || ClusterError::Unexpected("the node's subscription has stopped".into());
        self.inner
            .dispatch
            .send(dispatch::Command::Sync(Arc::clone(room), reply))
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// The room was let go here: the node stops hearing it.
    pub fn forget_room(&self, room: Arc<Room>) {
        if self
            .inner
            .dispatch
            .try_send(dispatch::Command::Forget(room))
            .is_err()
        {
            tracing::debug!("cluster: a let-go room stays subscribed (queue full)");
        }
    }

    /// Everyone logged in on any node (WHO without a room), at most
    /// `listings::TTL` old.
    pub async fn online(&self) -> Result<Arc<Vec<Str8>>, ClusterError> {
        let listing = &self.inner.listings.online;
        listing.get(|| membership::online(self)).await
    }

    /// The rooms with members on any node and their counts (LIST_ROOMS), at
    /// most `listings::TTL` old.
    pub async fn occupied(&self) -> Result<Arc<Vec<(Str8, u32)>>, ClusterError> {
        let listing = &self.inner.listings.rooms;
        listing.get(|| membership::occupied(self)).await
    }

    /// Records that `name` logged in on this node, or left it (WHO, `[CLUSTER-1]`).
    pub fn user_changed(&self, name: &Str8, online: bool) {
        self.queue(Change::Online {
            name: name.clone(),
            online,
        });
    }

    /// Records that `name` joined or left `room` on this node (`[CLUSTER-1]`).
    pub fn member_changed(&self, room: &Str8, name: &Str8, event: PresenceEvent) {
        self.queue(Change::Room {
            room: room.clone(),
            name: name.clone(),
            event,
        });
    }

    /// Queues a change for the membership writer; past its bound, the
    /// change is dropped and logged (`membership.rs`).
    fn queue(&self, change: Change) {
        if let Err(e) = self.inner.membership.try_send(change) {
            tracing::warn!(change = ?e.into_inner(), "cluster: membership queue full; a change was dropped");
        }
    }

    /// A connection for commands (multiplexed: clone it freely; it
    /// reconnects by itself after Redis comes back).
    pub fn commands(&self) -> ConnectionManager {
        self.inner.commands.clone()
    }

    /// The client, for connections of their own (subscriptions).
    pub fn client(&self) -> &redis::Client {
        &self.inner.client
    }

    /// This run of this node: its name and a nonce, so that a node
    /// restarted under the same name never inherits its former leases.
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// The node's name, as GREETING's server field says it (`[CLUSTER-2]`).
    pub fn node_name(&self) -> &str {
        &self.inner.node_name
    }

    /// How long names and memberships outlive a node that died (`[CLUSTER-5]`).
    pub fn lease(&self) -> Duration {
        self.inner.lease
    }
}

/// `node_name` without white space (ids are space-separated in Redis
/// values), then `#` and a nonce from the clock and the process id.
fn node_id(node_name: &str) -> String {
    let name: String = node_name
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{name}#{:x}{:x}", std::process::id(), nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_hold_no_white_space_and_name_the_node() {
        let id = node_id("node a\t1");
        assert!(id.starts_with("node_a_1#"), "{id}");
        assert!(!id.contains(char::is_whitespace));
        assert!(id.len() > "node_a_1#".len(), "a nonce follows: {id}");
    }
}
