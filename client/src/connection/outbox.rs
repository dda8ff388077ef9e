//! The send queue: room and direct messages the user typed or piped, kept
//! until the server acknowledges them. It outlives connections, so a line
//! typed while reconnecting is sent after the next login, and it is bounded
//! in messages and bytes: when it is full the connection stops taking
//! commands, which holds up the front end (plain mode stops reading stdin).

use std::collections::VecDeque;

use crate::event::Target;

/// Most messages queued at once.
pub const MAX_MESSAGES: usize = 1024;
/// Most body and target bytes queued at once (one message may pass it by its own size).
pub const MAX_BYTES: usize = 1 << 20;

/// Where a queued message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Not sent on this connection yet.
    Waiting,
    /// Sent on this connection as `client_ref`; waiting for its ACK or ERROR.
    InFlight(u32),
    /// Sent on a connection that was lost before the answer came: it may
    /// have been delivered. Settled by the room's replay after the rejoin.
    Uncertain,
}

#[derive(Debug, Clone)]
pub(super) struct Queued {
    /// The message's number: 1 for the first Say or Direct the connection took.
    pub n: u64,
    pub target: Target,
    pub body: String,
    /// `/me`: sent as SEND_ACTION or DIRECT_ACTION (`[ACTION-1]`).
    pub action: bool,
    pub state: State,
}

impl Queued {
    fn size(&self) -> usize {
        let target = match &self.target {
            Target::Room(name) | Target::User(name) => name.len(),
        };
        self.body.len() + target
    }

    fn room(&self) -> Option<&str> {
        match &self.target {
            Target::Room(room) => Some(room),
            Target::User(_) => None,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Outbox {
    entries: VecDeque<Queued>,
    bytes: usize,
    next_n: u64,
}

impl Outbox {
    /// Whether another message may be taken.
    pub fn has_room(&self) -> bool {
        self.entries.len() < MAX_MESSAGES && self.bytes < MAX_BYTES
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of the oldest message still queued, or of the next one.
    pub fn oldest(&self) -> u64 {
        self.entries.front().map_or(self.next_n + 1, |q| q.n)
    }

    /// The next message number, for a message refused before it was queued.
    pub fn number(&mut self) -> u64 {
        self.next_n += 1;
        self.next_n
    }

    pub fn push(&mut self, n: u64, target: Target, body: String, action: bool) {
        let queued = Queued {
            n,
            target,
            body,
            action,
            state: State::Waiting,
        };
        self.bytes += queued.size();
        self.entries.push_back(queued);
    }

    pub fn in_flight(&self) -> usize {
        self.entries
            .iter()
            .filter(|q| matches!(q.state, State::InFlight(_)))
            .count()
    }

    /// The next message to send, in queue order: none while an earlier one
    /// is still uncertain, so that the order of lines is kept.
    pub fn next_waiting(&mut self) -> Option<&mut Queued> {
        for queued in self.entries.iter_mut() {
            match queued.state {
                State::Waiting => return Some(queued),
                State::Uncertain => return None,
                State::InFlight(_) => {}
            }
        }
        None
    }

    fn remove_at(&mut self, index: usize) -> Option<Queued> {
        let queued = self.entries.remove(index)?;
        self.bytes -= queued.size();
        Some(queued)
    }

    /// Removes the message sent as `client_ref` (its ACK or a final ERROR came).
    pub fn answered(&mut self, client_ref: u32) -> Option<Queued> {
        let index = self
            .entries
            .iter()
            .position(|q| q.state == State::InFlight(client_ref))?;
        self.remove_at(index)
    }

    /// Puts the message sent as `client_ref` back to be sent again.
    pub fn retry(&mut self, client_ref: u32) -> bool {
        match self
            .entries
            .iter_mut()
            .find(|q| q.state == State::InFlight(client_ref))
        {
            Some(queued) => {
                queued.state = State::Waiting;
                true
            }
            None => false,
        }
    }

    /// The connection is gone: what was in flight may or may not have arrived.
    pub fn connection_lost(&mut self) {
        for queued in self.entries.iter_mut() {
            if matches!(queued.state, State::InFlight(_)) {
                queued.state = State::Uncertain;
            }
        }
    }

    /// A replayed message of ours in `room`: if it is one we were unsure
    /// about, it did arrive, and is taken off the queue.
    pub fn confirm_replayed(&mut self, room: &str, body: &str) -> Option<Queued> {
        let index = self.entries.iter().position(|q| {
            q.state == State::Uncertain
                && q.body == body
                && q.room().is_some_and(|r| same_room(r, room))
        })?;
        self.remove_at(index)
    }

    /// After a reconnect: uncertain messages that no rejoin replay of
    /// `rooms` will settle go again.
    pub fn resend_unless_in(&mut self, rooms: &[String]) {
        for queued in self.entries.iter_mut() {
            let settled_by_replay = queued
                .room()
                .is_some_and(|target| rooms.iter().any(|r| same_room(r, target)));
            if queued.state == State::Uncertain && !settled_by_replay {
                queued.state = State::Waiting;
            }
        }
    }

    /// Whether a message to `room` is in doubt.
    pub fn uncertain_in(&self, room: &str) -> bool {
        self.entries
            .iter()
            .any(|q| q.state == State::Uncertain && q.room().is_some_and(|r| same_room(r, room)))
    }

    /// Uncertain messages to rooms matching `room` (all when `None`) were
    /// not in the replay: they never arrived and go again. Direct messages
    /// have no replay to check against and go again too.
    pub fn resend_uncertain(&mut self, room: Option<&str>) {
        for queued in self.entries.iter_mut() {
            let matches = match (room, queued.room()) {
                (_, None) | (None, _) => true,
                (Some(wanted), Some(target)) => same_room(wanted, target),
            };
            if queued.state == State::Uncertain && matches {
                queued.state = State::Waiting;
            }
        }
    }
}

/// Room names compare without regard to case (`[ROOM-1]`).
pub(super) fn same_room(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(outbox: &mut Outbox, body: &str) -> u64 {
        let n = outbox.number();
        outbox.push(n, Target::Room("lobby".into()), body.into(), false);
        n
    }

    #[test]
    fn bounded_in_messages_and_bytes() {
        let mut outbox = Outbox::default();
        for _ in 0..MAX_MESSAGES {
            assert!(outbox.has_room());
            room(&mut outbox, "x");
        }
        assert!(!outbox.has_room());
        let mut outbox = Outbox::default();
        room(&mut outbox, &"y".repeat(MAX_BYTES));
        assert!(!outbox.has_room(), "one huge message fills it");
        let n = outbox.oldest();
        outbox.next_waiting().unwrap().state = State::InFlight(7);
        assert_eq!(outbox.answered(7).map(|q| q.n), Some(n));
        assert!(outbox.has_room() && outbox.is_empty());
    }

    #[test]
    fn a_lost_connection_keeps_order_until_the_replay_settles_it() {
        let mut outbox = Outbox::default();
        let first = room(&mut outbox, "one");
        let second = room(&mut outbox, "two");
        outbox.next_waiting().unwrap().state = State::InFlight(1);
        outbox.next_waiting().unwrap().state = State::InFlight(2);
        let third = room(&mut outbox, "three");
        outbox.connection_lost();
        assert!(outbox.next_waiting().is_none(), "nothing overtakes them");
        // The replay shows "one" arrived; "two" did not.
        assert_eq!(
            outbox.confirm_replayed("LOBBY", "one").map(|q| q.n),
            Some(first)
        );
        outbox.resend_uncertain(Some("lobby"));
        assert_eq!(outbox.next_waiting().map(|q| q.n), Some(second));
        outbox.next_waiting().unwrap().state = State::InFlight(1);
        assert!(outbox.retry(1), "RATE_LIMITED: it goes again");
        assert_eq!(outbox.next_waiting().map(|q| q.n), Some(second));
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox.oldest(), second);
        let _ = third;
    }
}
