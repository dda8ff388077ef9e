//! The in-memory log (`--in-memory`): every append is durable at once, since
//! nothing outlives the process. Room messages live only in their rooms'
//! replay buffers in the hub (one copy); this log keeps the recent direct
//! messages of each conversation, for HISTORY kind 1 (`[HISTORY-2]`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use confab_protocol::frame::{DirectMessage, Direction, Message};

use super::{
    Checkpoint, ConversationKey, Entry, LoadedRoom, MessageLog, Page, Policy, Pruned, Slot,
};
use crate::store::StoreError;
use crate::sync::lock;

#[derive(Debug)]
pub struct MemoryLog {
    conversations: Mutex<HashMap<ConversationKey, VecDeque<DirectMessage>>>,
    /// Messages kept per conversation (`--history-max`).
    keep: usize,
}

impl MemoryLog {
    pub fn new(keep: usize) -> Self {
        MemoryLog {
            conversations: Mutex::new(HashMap::new()),
            keep: keep.max(1),
        }
    }

    pub(super) fn append(&self, entry: Entry) {
        let Entry::Direct(message) = entry else {
            // The room's replay buffer keeps it.
            return;
        };
        let mut stored = message;
        stored.flags |= DirectMessage::HISTORY;
        // Its own buffer, not a share of the sender's read buffer.
        stored.body = confab_protocol::Str16::truncated(&stored.body);
        let key = ConversationKey::new(&stored.from, &stored.to);
        let mut conversations = lock(&self.conversations);
        let log = conversations.entry(key).or_default();
        if log.len() >= self.keep {
            log.pop_front();
        }
        log.push_back(stored);
    }

    /// Forgets messages older than `cutoff`, and conversations left empty.
    fn forget_before(&self, cutoff: u64) {
        let mut conversations = lock(&self.conversations);
        for log in conversations.values_mut() {
            // Not just a prefix: a clock set back can stamp a newer message earlier.
            log.retain(|m| m.time >= cutoff);
        }
        conversations.retain(|_, log| !log.is_empty());
    }
}

impl MessageLog for MemoryLog {
    async fn reserve(&self) -> Result<Slot<'_>, StoreError> {
        Ok(Slot::Memory(self))
    }

    async fn room_history(
        &self,
        _room: &str,
        _direction: Direction,
        _anchor: u64,
        _limit: usize,
    ) -> Result<Option<Page<Message>>, StoreError> {
        Ok(None)
    }

    async fn direct_history(
        &self,
        conversation: ConversationKey,
        floor: u64,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> Result<Page<DirectMessage>, StoreError> {
        let conversations = lock(&self.conversations);
        let Some(log) = conversations.get(&conversation) else {
            return Ok((Vec::new(), false));
        };
        let visible = log.iter().filter(|m| m.id >= floor);
        Ok(super::page(visible, |m| m.id, direction, anchor, limit))
    }

    async fn load_room(
        &self,
        _name: String,
        _keep: usize,
    ) -> Result<Option<LoadedRoom>, StoreError> {
        Ok(None)
    }

    /// Only the age applies: the per-room count never removes anything
    /// here, since a room keeps only `--history-max` messages and the count
    /// may not be lower (`[HISTORY-4]`).
    async fn apply_retention(
        &self,
        policy: Policy,
        _checkpoint: Checkpoint,
    ) -> Result<Pruned, StoreError> {
        let before_time = policy.max_age_ms.map(|age| policy.now.saturating_sub(age));
        if let Some(cutoff) = before_time {
            self.forget_before(cutoff);
        }
        Ok(Pruned {
            before_time,
            ..Pruned::default()
        })
    }
}
