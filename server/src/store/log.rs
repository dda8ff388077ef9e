//! The SQLite store as the server's message log: appends go to the
//! group-commit writer and are notified after their commit (see `writer`).

use std::sync::Mutex;

use confab_protocol::frame::{DirectMessage, Direction, Message};

use super::prune::{Policy, Pruned, Pruner};
use super::{Store, StoreError};
use crate::log::{Checkpoint, ConversationKey, LoadedRoom, MessageLog, Page, Slot};
use crate::sync::lock;

/// The SQLite store's message log: its writer queue, its read connection,
/// and the retention pass's own connection (opened at the first pass).
pub struct SqliteLog {
    store: Store,
    pruner: Mutex<Option<Pruner>>,
}

impl std::fmt::Debug for SqliteLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLog")
            .field("path", &self.store.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// This store as the server's message log (sharing its writer and its
    /// read connection).
    pub(crate) fn log(&self) -> SqliteLog {
        SqliteLog {
            store: Store {
                ops: self.ops.clone(),
                aux: std::sync::Arc::clone(&self.aux),
                path: self.path.clone(),
                metrics: self.metrics.clone(),
            },
            pruner: Mutex::new(None),
        }
    }
}

impl MessageLog for SqliteLog {
    async fn reserve(&self) -> Result<Slot<'_>, StoreError> {
        self.store.reserve().await.map(Slot::Sqlite)
    }

    async fn room_history(
        &self,
        room: &str,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<Option<Page<Message>>, StoreError> {
        self.store
            .room_history(room, direction, anchor, limit)
            .await
            .map(Some)
    }

    async fn direct_history(
        &self,
        conversation: ConversationKey,
        floor: u64,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<Page<DirectMessage>, StoreError> {
        self.store
            .direct_history(conversation, floor, direction, anchor, limit)
            .await
    }

    async fn load_room(&self, name: String, keep: usize) -> Result<Option<LoadedRoom>, StoreError> {
        self.store.load_room(name, keep).await
    }

    /// Runs on a blocking thread, on a connection of its own (see `prune`).
    async fn apply_retention(
        &self,
        policy: Policy,
        mut checkpoint: Checkpoint,
    ) -> Result<Pruned, StoreError> {
        let own = lock(&self.pruner).take();
        let path = self.store.path.clone();
        let (own, result) = tokio::task::spawn_blocking(move || {
            let mut own = match own {
                Some(own) => own,
                None => match Pruner::open(&path) {
                    Ok(own) => own,
                    Err(e) => return (None, Err(e)),
                },
            };
            let result = own.pass(policy, &mut checkpoint);
            (Some(own), result)
        })
        .await?;
        if own.is_some() {
            *lock(&self.pruner) = own;
        }
        result
    }
}
