//! A room on a node of a cluster (spec section 22): its messages are
//! numbered by the cluster's log, not here, and come back through the
//! node's subscription (`crate::cluster::dispatch`) in `seq` order, for
//! every member on this node, the sender's own node included. The room's
//! lock still orders a JOIN's replay against live delivery (`[ROOM-2]`).

use std::sync::Arc;

use confab_protocol::frame::{Message, Missed, PresenceEvent};
use confab_protocol::names::user_key;
use confab_protocol::Str8;

use super::Room;
use crate::connection::acks::Unacked;
use crate::hub::Member;
use crate::log::{Entry, Notify, Slot};
use crate::sync::lock;

/// What became of a message the subscription delivered.
#[derive(Debug)]
pub enum Logged {
    Delivered,
    /// Already delivered (heard twice: once read, once published).
    Stale,
    /// Messages before it are missing: backfill them, then deliver it
    /// (handed back, not copied).
    Gap(Message),
}

impl Room {
    /// Appends a member's message to a cluster's log, which numbers it
    /// (`[CLUSTER-1]`); `acknowledge` is told once it is stored. False when
    /// the sender is no member.
    #[allow(clippy::too_many_arguments)]
    pub fn submit(
        self: &Arc<Self>,
        sender: &Arc<Member>,
        body: confab_protocol::Str16,
        flags: u8,
        now: u64,
        slot: Slot<'_>,
        unacked: &Arc<Unacked>,
        acknowledge: impl FnOnce() -> Notify,
    ) -> bool {
        if !self.is_member(sender.conn_id) {
            return false;
        }
        let message = Message {
            id: 0,
            seq: 0,
            time: now,
            flags,
            room: self.name.clone(),
            sender: sender.name.clone(),
            body: confab_protocol::Str16::truncated(&body),
        };
        // spec: ORDER-1 — owed until the log answers.
        unacked.owe();
        let _ = slot.append(Entry::Room(message), acknowledge);
        true
    }

    /// The room as the cluster's log has it: delivery goes on at
    /// `next_seq`; `recent` is what a JOIN replays; `remote` the members on
    /// other nodes.
    pub fn load_logged(&self, next_seq: u64, recent: Vec<Message>, remote: Vec<Str8>) {
        let mut state = lock(&self.state);
        state.next_seq = next_seq;
        state.released_next = next_seq;
        let keep = state.keep;
        let skip = recent.len().saturating_sub(keep);
        state.history = recent.into_iter().skip(skip).collect();
        state.remote = not_local(&state.members, remote);
    }

    /// The `seq` the room delivers next.
    pub fn expected_seq(&self) -> u64 {
        lock(&self.state).released_next
    }

    /// Delivers a numbered message to every member here but its sender
    /// (`skip`), in `seq` order (`[MSG-4]`, `[MSG-5]`), and keeps it for
    /// JOIN replays.
    pub fn deliver_logged(&self, message: Message, skip: Option<u64>) -> Logged {
        let mut state = lock(&self.state);
        if message.seq < state.released_next {
            return Logged::Stale;
        }
        if message.seq > state.released_next {
            return Logged::Gap(message);
        }
        let wire = Arc::new(message.to_frame_bytes());
        let mut delivered = 0;
        for member in state.members.iter().filter(|m| Some(m.conn_id) != skip) {
            // A full outbox cuts that member off; the others are not slowed (`[FLOW-3]`).
            delivered += u64::from(member.outbox.push(Arc::clone(&wire)).is_ok());
        }
        self.deliveries.inc_by(delivered);
        state.keep_released(message);
        state.next_seq = state.next_seq.max(state.released_next);
        Logged::Delivered
    }

    /// Messages from the expected `seq` to `before` can no longer be had
    /// (retention took them): the members are told MISSED (`[ROOM-3]`,
    /// `[CLUSTER-3]`) and delivery goes on at `before`.
    pub fn skip_to(&self, before: u64) {
        let mut state = lock(&self.state);
        if before <= state.released_next {
            return;
        }
        let missed = Arc::new(
            Missed {
                room: self.name.clone(),
                from_seq: state.released_next,
                to_seq: before - 1,
            }
            .to_frame_bytes(),
        );
        for member in &state.members {
            let _ = member.outbox.push(Arc::clone(&missed));
        }
        state.released_next = before;
        state.next_seq = state.next_seq.max(before);
    }

    /// A member on another node came or went: it counts, is named by WHO,
    /// and is announced here as ours are, coalesced alike (`[PRESENCE-3]`).
    pub fn remote_presence(self: &Arc<Self>, name: Str8, event: PresenceEvent, now: u64) {
        let key = user_key(&name);
        let mut state = lock(&self.state);
        if state.members.iter().any(|m| *m.moderation.key == *key) {
            // Ours now (it came over): its former node's news is stale.
            return;
        }
        let changed = match event {
            PresenceEvent::Joined => state.remote.insert(key.clone(), name.clone()).is_none(),
            _ => state.remote.remove(&key).is_some(),
        };
        if changed {
            let subject = remote_subject(&key);
            self.presence_changed(&mut state, subject, &name, event, now);
        }
    }

    /// The members on other nodes, as the cluster now has them, replacing
    /// what this node heard (after its subscription was lost a while).
    pub fn set_remote(&self, remote: Vec<Str8>) {
        let mut state = lock(&self.state);
        state.remote = not_local(&state.members, remote);
    }
}

/// `remote`, by name key, without the members here (one who came over
/// from another node is ours now).
fn not_local(
    members: &[Arc<Member>],
    remote: Vec<Str8>,
) -> std::collections::BTreeMap<String, Str8> {
    remote
        .into_iter()
        .map(|name| (user_key(&name), name))
        .filter(|(key, _)| !members.iter().any(|m| *m.moderation.key == **key))
        .collect()
}

/// The id a member on another node is coalesced under: never a local
/// connection's (those count up from 1; this has the top bit set).
fn remote_subject(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish() | (1 << 63)
}
