//! One room: its members, its sequence numbers and its recent history
//! (spec sections 8 and 11).
//!
//! Publishing, joining and leaving happen under the room's lock, which is
//! what makes `seq` contiguous (`[MSG-4]`), gives every member the same order
//! (`[MSG-5]`) and lets a join replay end exactly where live delivery starts
//! (`[ROOM-2]`).

mod clustered;
pub use clustered::Logged;
mod messages;
pub use messages::Submitted;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use confab_protocol::frame::{
    Frame, HistoryEnd, HistoryKind, Joined, Message, Missed, PresenceEvent,
};
use confab_protocol::Str8;

use super::presence::{self, Decision, PresenceGate};
use super::Member;
use crate::connection::acks::Unacked;
use crate::sync::lock;
use prometheus_client::metrics::counter::Counter;

#[derive(Debug)]
pub struct Room {
    pub name: Str8,
    state: Mutex<RoomState>,
    /// The hub's count of deliveries (`/metrics`).
    deliveries: Counter,
}

#[derive(Debug)]
struct RoomState {
    members: Vec<Arc<Member>>,
    /// The sequence number the next published message gets.
    next_seq: u64,
    /// The first sequence number not yet released for delivery: messages
    /// from here on are waiting to be stored (`[MSG-2]`).
    released_next: u64,
    /// Published messages waiting for the store, in `seq` order.
    undelivered: VecDeque<Undelivered>,
    /// The latest released messages, oldest first, with the HISTORY flag
    /// set: what a JOIN replays. With the in-memory log it is the room's
    /// whole history; with a persistent log, the newest of what the log
    /// holds, trimmed by the same retention (`[HISTORY-5]`).
    history: VecDeque<Message>,
    keep: usize,
    /// Coalesces the PRESENCE of members that come and go fast (`[PRESENCE-3]`).
    presence: PresenceGate,
    /// Set when the hub let the room go (`[LIMIT-5]`): a JOIN that still
    /// holds it must look the room up again.
    evicted: bool,
    /// In a cluster: the members on other nodes, by name key
    /// (`[CLUSTER-1]`); always empty on a server of its own.
    remote: std::collections::BTreeMap<String, Str8>,
}

impl RoomState {
    /// `message` was delivered: live delivery goes on after it, and the
    /// history keeps it, flagged HISTORY, in place of its oldest message.
    fn keep_released(&mut self, mut message: Message) {
        self.released_next = message.seq + 1;
        message.flags |= Message::HISTORY;
        if self.history.len() >= self.keep {
            self.history.pop_front();
        }
        self.history.push_back(message);
    }
}

/// A message that has its id and `seq` but is not delivered yet.
#[derive(Debug)]
struct Undelivered {
    message: Message,
    sender: Arc<Member>,
    client_ref: u32,
    /// The sender's owed ACKs, when the message waits for the store.
    unacked: Option<Arc<Unacked>>,
}

/// What a JOIN produced, for logging and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinReply {
    pub newly_joined: bool,
    pub members: u32,
}

impl Room {
    /// The room, counting its deliveries in `deliveries`.
    pub fn counting(mut self, deliveries: &Counter) -> Self {
        self.deliveries = deliveries.clone();
        self
    }

    pub fn new(name: Str8, keep: usize) -> Self {
        Self::restore(name, keep, 1, Vec::new())
    }

    /// A room as the store left it: `recent` are its latest messages, oldest first.
    pub fn restore(name: Str8, keep: usize, next_seq: u64, recent: Vec<Message>) -> Self {
        Room {
            name,
            deliveries: Counter::default(),
            state: Mutex::new(RoomState {
                members: Vec::new(),
                next_seq,
                released_next: next_seq,
                undelivered: VecDeque::new(),
                history: recent.into(),
                keep: keep.max(1),
                presence: PresenceGate::default(),
                evicted: false,
                remote: std::collections::BTreeMap::new(),
            }),
        }
    }

    /// Members on this node and, in a cluster, on the others.
    pub fn member_count(&self) -> u32 {
        let state = lock(&self.state);
        (state.members.len() + state.remote.len()) as u32
    }

    /// The members now (`[MOD-11]`: moderation's announcements).
    pub fn members(&self) -> Vec<Arc<Member>> {
        lock(&self.state).members.clone()
    }

    pub fn is_member(&self, conn_id: u64) -> bool {
        lock(&self.state)
            .members
            .iter()
            .any(|m| m.conn_id == conn_id)
    }

    pub fn member_names(&self) -> Vec<Str8> {
        let state = lock(&self.state);
        let mut names: Vec<Str8> = state
            .members
            .iter()
            .map(|m| m.name.clone())
            .chain(state.remote.values().cloned())
            .collect();
        drop(state);
        names.sort();
        names
    }

    /// Marks the room let go if it holds nothing that lives only here: no
    /// member, nothing waiting for the store and, unless `history_is_kept`
    /// elsewhere (the store), no history. True when it was.
    pub fn evict_if_idle(&self, history_is_kept: bool) -> bool {
        let mut state = lock(&self.state);
        let idle = state.members.is_empty()
            && state.undelivered.is_empty()
            && (history_is_kept || state.history.is_empty());
        if idle {
            state.evicted = true;
        }
        idle
    }

    /// Roughly what the room's kept history takes in memory.
    pub fn history_bytes(&self) -> usize {
        lock(&self.state)
            .history
            .iter()
            .map(|m| 64 + m.body.len() + m.sender.len() + m.room.len())
            .sum()
    }

    /// Whether the room has ever had a message (it exists for WHO, `[PRESENCE-1]`).
    pub fn has_history(&self) -> bool {
        !lock(&self.state).history.is_empty()
    }

    /// Adds `member` and queues JOINED, the replay, HISTORY_END and MISSED for
    /// it, all under the lock so that live messages follow without gap (`[ROOM-2]`, `[ROOM-3]`).
    /// `None` when the room was let go meanwhile: look it up again.
    #[cfg(test)]
    pub fn join(
        self: &Arc<Self>,
        member: &Arc<Member>,
        since_seq: u64,
        history: usize,
        now: u64,
    ) -> Option<JoinReply> {
        self.join_with(member, since_seq, history, now, None)
    }

    /// `join`, with `after_joined` queued right after JOINED, before the
    /// replay (`[MOD-6]`: ROOM_INFO).
    pub fn join_with(
        self: &Arc<Self>,
        member: &Arc<Member>,
        since_seq: u64,
        history: usize,
        now: u64,
        after_joined: Option<Bytes>,
    ) -> Option<JoinReply> {
        let mut state = lock(&self.state);
        if state.evicted {
            return None;
        }
        let newly_joined = !state.members.iter().any(|m| m.conn_id == member.conn_id);
        if newly_joined {
            state.members.push(Arc::clone(member));
            // In a cluster, a user who came over from another node is here now.
            state.remote.remove(&*member.moderation.key);
        }
        let members = (state.members.len() + state.remote.len()) as u32;
        // Messages still waiting for the store are delivered to the joiner
        // when released, so live delivery starts at the first unreleased one.
        let _ = member.outbox.push(
            Frame::Joined(Joined {
                room: self.name.clone(),
                next_seq: state.released_next,
                members,
            })
            .to_bytes(),
        );
        if let Some(frame) = after_joined {
            let _ = member.outbox.push(frame);
        }
        let wanted: Vec<&Message> = state.history.iter().filter(|m| m.seq > since_seq).collect();
        let skip = wanted.len().saturating_sub(history);
        let replay = &wanted[skip..];
        for message in replay {
            let _ = member.outbox.push(message.to_frame_bytes());
        }
        let end = HistoryEnd {
            kind: HistoryKind::Room,
            target: self.name.clone(),
            count: replay.len() as u16,
            flags: if skip > 0 || self.older_than_kept(&state, since_seq) {
                HistoryEnd::MORE
            } else {
                0
            },
        };
        let _ = member.outbox.push(Frame::HistoryEnd(end).to_bytes());
        if since_seq > 0 {
            let first_sent = replay.first().map_or(state.released_next, |m| m.seq);
            // spec: ROOM-8 — any since_seq is valid, u64::MAX included.
            if first_sent > since_seq.saturating_add(1) {
                let missed = Missed {
                    room: self.name.clone(),
                    from_seq: since_seq + 1,
                    to_seq: first_sent - 1,
                };
                let _ = member.outbox.push(Frame::Missed(missed).to_bytes());
            }
        }
        if newly_joined {
            let (conn_id, name) = (member.conn_id, &member.name);
            self.presence_changed(&mut state, conn_id, name, PresenceEvent::Joined, now);
        }
        Some(JoinReply {
            newly_joined,
            members,
        })
    }

    /// Whether messages above `since_seq` exist that are no longer kept.
    fn older_than_kept(&self, state: &RoomState, since_seq: u64) -> bool {
        let oldest_kept = state.history.front().map_or(state.released_next, |m| m.seq);
        oldest_kept > since_seq.saturating_add(1)
    }

    /// Removes `member`; false if it was not one (`[ROOM-5]`, `[CLOSE-3]`).
    pub fn remove(self: &Arc<Self>, member: &Member, event: PresenceEvent, now: u64) -> bool {
        let mut state = lock(&self.state);
        let Some(index) = state
            .members
            .iter()
            .position(|m| m.conn_id == member.conn_id)
        else {
            return false;
        };
        state.members.swap_remove(index);
        self.presence_changed(&mut state, member.conn_id, &member.name, event, now);
        true
    }

    /// Announces a change of membership now, or coalesces it (`[PRESENCE-3]`).
    /// `subject`: the member's connection, or a made-up id for a member on
    /// another node of a cluster (`clustered.rs`).
    fn presence_changed(
        self: &Arc<Self>,
        state: &mut RoomState,
        subject: u64,
        name: &Str8,
        event: PresenceEvent,
        now: u64,
    ) {
        let members = state.members.len();
        match state.presence.change(subject, name, event, members) {
            Decision::Announce => {
                presence::announce(&state.members, subject, name, event, &self.name, now)
            }
            Decision::Deferred { schedule: false } => {}
            Decision::Deferred { schedule: true } => {
                let room = Arc::clone(self);
                tokio::spawn(async move {
                    let mut due_at = tokio::time::Instant::now();
                    loop {
                        due_at += presence::INTERVAL;
                        tokio::time::sleep_until(due_at).await;
                        if !room.flush_presence() {
                            break;
                        }
                    }
                });
            }
        }
    }

    /// Announces the coalesced changes now due; true while some still wait.
    fn flush_presence(&self) -> bool {
        let mut state = lock(&self.state);
        let (due, again) = state.presence.flush();
        let now = crate::clock::now_millis();
        for (conn_id, name, event) in due {
            presence::announce(&state.members, conn_id, &name, event, &self.name, now);
        }
        again
    }
}
