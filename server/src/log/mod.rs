//! The message log: where room and direct messages are appended, where they
//! become durable, where HISTORY reads them and where retention removes them.
//!
//! [`MessageLog`] is the one seam between delivery (the hub) and storage.
//! Two implementations sit behind it, chosen at start-up in [`Log`]:
//! [`MemoryLog`] (`--in-memory`) and the SQLite store's
//! [`SqliteLog`](crate::store::SqliteLog). The log never names a room or a
//! connection: it is told what to do after an append by an [`OnDurable`].
//!
//! # Contract
//!
//! * **Ordering.** Entries of one room are appended in `seq` order and
//!   become durable, and are notified, in that order; so are one sender's
//!   direct messages. Nothing is promised across rooms beyond what one
//!   sender sees: its entries are notified in the order it appended them,
//!   which is what keeps its ACKs in request order (`[ORDER-1]`).
//! * **Sequence assignment.** Today the hub assigns a room message its
//!   `seq`, and every message its `id`, under the room's lock, then appends
//!   it while still holding that lock: appends of one room arrive in `seq`
//!   order, without gap (`[MSG-4]`), and the log stores the numbers it is
//!   given, remembering the highest so that none is handed out twice, not
//!   even after retention removed the messages (`[MSG-3]`). A cluster
//!   backend (next: Redis) assigns the per-room `seq` itself — a script
//!   increments the room's counter, appends to the room's stream and
//!   publishes, in one step — and nodes deliver in the log's order and
//!   backfill any gap they see from the stream.
//! * **Durable.** An entry is durable once no crash can lose it any more,
//!   and from then on it is returned by history reads until retention
//!   removes it. For SQLite: once the transaction holding it committed with
//!   `synchronous = FULL` (a power cut included). In memory: at once, since
//!   nothing there outlives the process anyway. For a cluster backend: once
//!   the store acknowledged the append (and its replicas, as configured).
//!   Nothing is delivered or acknowledged before it is durable (`[MSG-2]`).
//! * **Notification.** [`Slot::append`] returns [`Appended::Now`] when the
//!   entry is durable on return — then the caller delivers it itself and
//!   the log never calls back (the in-memory log: no callback, no
//!   allocation). Otherwise ([`Appended::Later`]) the log calls
//!   [`OnDurable::durable`] exactly once per entry, after it is durable, in
//!   the order above, from a thread of its own: the callback must not
//!   block. An entry that cannot be made durable is retried, never dropped
//!   and never acknowledged.
//! * **Back-pressure.** [`MessageLog::reserve`] waits for room for one entry
//!   before the caller assigns numbers; so a slow disk slows the sender that
//!   waits, never the others, and nothing numbered is ever refused.
//! * **History.** Reads return what is durable and not yet removed by
//!   retention, oldest first, with the HISTORY flag set (`[HISTORY-1]`,
//!   `[HISTORY-2]`). Direct messages are read by [`ConversationKey`].
//! * **Retention.** [`MessageLog::apply_retention`] removes what a
//!   [`Policy`] lets go and says what it removed as rules ([`Pruned`]) so
//!   the hub's replay buffers forget the same messages (`[HISTORY-5]`): one
//!   answer to "what is this room's history".

mod memory;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use confab_protocol::frame::{DirectMessage, Direction, Message};
use confab_protocol::names::name_key;

pub use crate::store::prune::{Policy, Pruned};
pub(crate) use crate::store::{SqliteLog, StoreError};
pub use memory::MemoryLog;

/// Both parties of a direct conversation, in a stable order: the same key
/// whoever wrote first, compared as names compare (`[SEC-3]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationKey(String);

impl ConversationKey {
    pub fn new(a: &str, b: &str) -> Self {
        let (a, b) = (name_key(a), name_key(b));
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let mut key = String::with_capacity(low.len() + 1 + high.len());
        key.push_str(&low);
        key.push('\n');
        key.push_str(&high);
        ConversationKey(key)
    }

    /// The key as the SQLite store's `pair_key` column holds it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One message to append.
#[derive(Debug, Clone)]
pub enum Entry {
    Room(Message),
    Direct(DirectMessage),
}

/// Told when an appended entry is durable; see the module's contract.
pub trait OnDurable: Send + Sync {
    fn durable(&self, entry: &Entry);

    /// The entry could not be made durable and never will be: only a
    /// cluster's log gives up (`[CLUSTER-3]`); the others retry.
    fn refused(&self, _code: confab_protocol::ErrorCode, _why: &str) {}

    /// The sending connection's id, which a cluster's log records so that
    /// its node skips the sender when delivering (`[MSG-1]`).
    fn connection(&self) -> u64 {
        0
    }
}

/// What an append is followed by. An `Arc` so that a room is its own
/// notification (a reference count, no allocation per message).
pub type Notify = Arc<dyn OnDurable>;

/// Whether an appended entry was durable on return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Appended {
    /// Deliver it now; the log will not call back.
    Now,
    /// The log calls [`OnDurable::durable`] once it is.
    Later,
}

/// Room reserved in the log for one entry. An enum rather than a trait
/// object, so the path of every message costs no allocation; a new backend
/// adds a variant.
pub enum Slot<'a> {
    Memory(&'a MemoryLog),
    Sqlite(tokio::sync::mpsc::Permit<'a, crate::store::Op>),
    /// A cluster's log, which numbers what it appends (`[CLUSTER-1]`).
    Cluster(tokio::sync::mpsc::Permit<'a, crate::store::Op>),
}

impl std::fmt::Debug for Slot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Slot::Memory(_) => "Slot::Memory",
            Slot::Sqlite(_) => "Slot::Sqlite",
            Slot::Cluster(_) => "Slot::Cluster",
        })
    }
}

impl Slot<'_> {
    /// Whether an entry appended here waits to be durable (its ACK is owed).
    pub fn defers(&self) -> bool {
        !matches!(self, Slot::Memory(_))
    }

    /// Whether the log numbers what is appended (a cluster's): the room's
    /// `seq` and the message id are then the log's, not the hub's.
    pub fn numbers(&self) -> bool {
        matches!(self, Slot::Cluster(_))
    }

    /// Appends `entry`; `notify` is asked for only when the entry is not
    /// durable on return.
    pub fn append(self, entry: Entry, notify: impl FnOnce() -> Notify) -> Appended {
        match self {
            Slot::Memory(log) => {
                log.append(entry);
                Appended::Now
            }
            Slot::Sqlite(permit) | Slot::Cluster(permit) => {
                permit.send(crate::store::Op {
                    entry,
                    notify: notify(),
                });
                Appended::Later
            }
        }
    }
}

/// One page of history, oldest first, and whether more exist on its far side.
pub type Page<T> = (Vec<T>, bool);

/// A room as the log has it, to make the room again after it was let go.
#[derive(Debug)]
pub struct LoadedRoom {
    pub name: String,
    pub next_seq: u64,
    /// The latest messages, oldest first, flagged as history.
    pub recent: Vec<Message>,
}

/// Called before each batch of deletions (a test holds a pass there).
pub type Checkpoint = Box<dyn FnMut() + Send>;

/// The message log; see the module's contract.
pub trait MessageLog: Send + Sync {
    /// Waits for room for one entry; an error when the log is gone.
    fn reserve(&self) -> impl Future<Output = Result<Slot<'_>, StoreError>> + Send;

    /// Up to `limit` messages of `room` on one side of `anchor` (a `seq`;
    /// 0 before: from the newest). `None` when the log keeps no room
    /// messages of its own: the in-memory log, whose rooms' replay buffers
    /// in the hub are their whole history (one copy, not two).
    fn room_history(
        &self,
        room: &str,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Option<Page<Message>>, StoreError>> + Send;

    /// Up to `limit` messages of one conversation with an id of at least
    /// `floor`, on one side of the id `anchor`.
    fn direct_history(
        &self,
        conversation: ConversationKey,
        floor: u64,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Page<DirectMessage>, StoreError>> + Send;

    /// A room's next `seq` and latest `keep` messages; `None` if the log
    /// never had a message of it (or keeps none of its own).
    fn load_room(
        &self,
        name: String,
        keep: usize,
    ) -> impl Future<Output = Result<Option<LoadedRoom>, StoreError>> + Send;

    /// Removes what `policy` lets go.
    fn apply_retention(
        &self,
        policy: Policy,
        checkpoint: Checkpoint,
    ) -> impl Future<Output = Result<Pruned, StoreError>> + Send;
}

/// The log this server runs with.
#[derive(Debug)]
pub enum Log {
    Memory(MemoryLog),
    Sqlite(SqliteLog),
    Cluster(crate::cluster::RedisLog),
}

impl Log {
    /// Whether this log takes a room message at once, keeping nothing of
    /// it (the in-memory log, whose rooms' replay buffers are their
    /// history): the room then publishes it without a slot.
    pub fn takes_at_once(&self) -> bool {
        matches!(self, Log::Memory(_))
    }

    /// Whether what the log holds outlives the process.
    pub fn is_persistent(&self) -> bool {
        matches!(self, Log::Sqlite(_) | Log::Cluster(_))
    }
}

impl MessageLog for Log {
    async fn reserve(&self) -> Result<Slot<'_>, StoreError> {
        match self {
            Log::Memory(log) => log.reserve().await,
            Log::Sqlite(log) => log.reserve().await,
            Log::Cluster(log) => log.reserve().await,
        }
    }

    async fn room_history(
        &self,
        room: &str,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<Option<Page<Message>>, StoreError> {
        match self {
            Log::Memory(log) => log.room_history(room, direction, anchor, limit).await,
            Log::Sqlite(log) => log.room_history(room, direction, anchor, limit).await,
            Log::Cluster(log) => log.room_history(room, direction, anchor, limit).await,
        }
    }

    async fn direct_history(
        &self,
        conversation: ConversationKey,
        floor: u64,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<Page<DirectMessage>, StoreError> {
        match self {
            Log::Memory(log) => {
                log.direct_history(conversation, floor, direction, anchor, limit)
                    .await
            }
            Log::Sqlite(log) => {
                log.direct_history(conversation, floor, direction, anchor, limit)
                    .await
            }
            Log::Cluster(log) => {
                log.direct_history(conversation, floor, direction, anchor, limit)
                    .await
            }
        }
    }

    async fn load_room(&self, name: String, keep: usize) -> Result<Option<LoadedRoom>, StoreError> {
        match self {
            Log::Memory(log) => log.load_room(name, keep).await,
            Log::Sqlite(log) => log.load_room(name, keep).await,
            Log::Cluster(log) => log.load_room(name, keep).await,
        }
    }

    async fn apply_retention(
        &self,
        policy: Policy,
        checkpoint: Checkpoint,
    ) -> Result<Pruned, StoreError> {
        match self {
            Log::Memory(log) => log.apply_retention(policy, checkpoint).await,
            Log::Sqlite(log) => log.apply_retention(policy, checkpoint).await,
            Log::Cluster(log) => log.apply_retention(policy, checkpoint).await,
        }
    }
}

/// One page of kept history, oldest first: up to `limit` entries whose
/// `key` (seq or id) lies on one side of `anchor` (anchor 0 before: from the
/// newest), and whether more are kept on that side (`[HISTORY-1]`).
pub(crate) fn page<'a, T: Clone + 'a>(
    kept: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> u64,
    direction: Direction,
    anchor: u64,
    limit: usize,
) -> Page<T> {
    match direction {
        Direction::Before => {
            let below: Vec<&T> = kept.filter(|m| anchor == 0 || key(m) < anchor).collect();
            let skip = below.len().saturating_sub(limit);
            (
                below[skip..].iter().map(|m| (*m).clone()).collect(),
                skip > 0,
            )
        }
        Direction::After => {
            let above: Vec<&T> = kept.filter(|m| key(m) > anchor).collect();
            let more = above.len() > limit;
            (above.into_iter().take(limit).cloned().collect(), more)
        }
    }
}
