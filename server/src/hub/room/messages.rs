//! A room's messages: publishing under the room's lock, release for
//! delivery once durable (`[MSG-2]`), the kept history and its retention.

use std::sync::Arc;

use confab_protocol::frame::{Ack, Direction, Message};

use super::{Room, RoomState, Undelivered};
use crate::connection::acks::Unacked;
use crate::hub::Member;
use crate::log::{Appended, Entry, Notify, OnDurable, Slot};
use crate::sync::lock;

/// A message as its sender handed it over, before the room numbers it.
#[derive(Debug)]
pub struct Submitted {
    pub client_ref: u32,
    pub body: confab_protocol::Str16,
    /// `Message::ACTION` for a SEND_ACTION (`[ACTION-1]`).
    pub flags: u8,
    pub time: u64,
}

impl Room {
    /// Stamps a message with the next id and `seq` (`[MSG-3]`, `[MSG-4]`)
    /// and appends it to the message log in `slot`, under the room's lock so
    /// the log sees each room's messages in `seq` order. It is delivered and
    /// acknowledged once durable: at once, or when the log says so (the
    /// sender's `unacked` owes the ACK meanwhile). False when the sender is
    /// no member.
    // `flags` (the ACTION bit, `[ACTION-1]`) makes eight; a struct for one call site would not help.
    #[allow(clippy::too_many_arguments)]
    pub fn publish(
        self: &Arc<Self>,
        sender: &Arc<Member>,
        client_ref: u32,
        body: confab_protocol::Str16,
        flags: u8,
        now: u64,
        next_id: impl FnOnce() -> u64,
        slot: Slot<'_>,
        unacked: &Arc<Unacked>,
    ) -> bool {
        let mut state = lock(&self.state);
        if !state.members.iter().any(|m| m.conn_id == sender.conn_id) {
            return false;
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        let message = Message {
            id: next_id(),
            seq,
            time: now,
            flags,
            room: self.name.clone(),
            sender: sender.name.clone(),
            // A body decoded zero-copy shares the sender's whole read buffer;
            // history keeps messages long, so it gets a buffer of its own.
            body: confab_protocol::Str16::truncated(&body),
        };
        let unacked = slot.defers().then(|| {
            // spec: ORDER-1 — owed until the release queues the ACK.
            unacked.owe();
            Arc::clone(unacked)
        });
        state.undelivered.push_back(Undelivered {
            message: message.clone(),
            sender: Arc::clone(sender),
            client_ref,
            unacked,
        });
        let notify = || Arc::clone(self) as Notify;
        match slot.append(Entry::Room(message), notify) {
            Appended::Now => self.release_locked(&mut state, seq),
            Appended::Later => {}
        }
        true
    }

    /// Publishes messages `sender` sent one after another, with the log in
    /// memory (which keeps no room messages of its own): numbered,
    /// delivered, acknowledged and kept as [`Room::publish`] would one by
    /// one, under one hold of the lock and with one push per recipient for
    /// them all. Gives them back when the sender is no member.
    pub fn publish_many(
        &self,
        sender: &Arc<Member>,
        messages: Vec<Submitted>,
        mut next_id: impl FnMut() -> u64,
    ) -> Option<Vec<Submitted>> {
        let mut state = lock(&self.state);
        // With the log in memory nothing ever waits to be released.
        debug_assert!(state.undelivered.is_empty());
        if !state.members.iter().any(|m| m.conn_id == sender.conn_id) {
            return Some(messages);
        }
        let mut wires = Vec::with_capacity(messages.len());
        let mut acks = Vec::with_capacity(messages.len());
        let mut kept = Vec::with_capacity(messages.len());
        for submitted in messages {
            let seq = state.next_seq;
            state.next_seq += 1;
            let message = Message {
                id: next_id(),
                seq,
                time: submitted.time,
                flags: submitted.flags,
                room: self.name.clone(),
                sender: sender.name.clone(),
                // Its own buffer, not a share of the sender's read buffer.
                body: confab_protocol::Str16::truncated(&submitted.body),
            };
            // Encoded once, shared by every recipient (`[MSG-1]`).
            wires.push(Arc::new(message.to_frame_bytes()));
            acks.push(Arc::new(
                Ack {
                    client_ref: submitted.client_ref,
                    id: message.id,
                    seq,
                    time: message.time,
                }
                .to_frame_bytes(),
            ));
            kept.push(message);
        }
        let mut delivered = 0;
        for member in state.members.iter().filter(|m| m.conn_id != sender.conn_id) {
            // A full outbox cuts that member off; the others are not slowed (`[FLOW-3]`).
            delivered += member.outbox.push_many(&wires) as u64;
        }
        self.deliveries.inc_by(delivered);
        // The ACKs follow every recipient's copies (`[MSG-2]`).
        let _ = sender.outbox.push_many(&acks);
        for message in kept {
            state.keep_released(message);
        }
        None
    }

    /// Delivers every pending message up to `seq`, now durable (`[MSG-2]`).
    pub fn release(&self, seq: u64) {
        let mut state = lock(&self.state);
        self.release_locked(&mut state, seq);
    }

    fn release_locked(&self, state: &mut RoomState, up_to: u64) {
        while state
            .undelivered
            .front()
            .is_some_and(|p| p.message.seq <= up_to)
        {
            let Some(Undelivered {
                message,
                sender,
                client_ref,
                unacked,
            }) = state.undelivered.pop_front()
            else {
                break;
            };
            self.deliver_locked(state, message, &sender, client_ref, unacked);
        }
    }

    /// Delivers a released message to every member but its sender, ACKs
    /// it, and keeps it in the history.
    fn deliver_locked(
        &self,
        state: &mut RoomState,
        message: Message,
        sender: &Member,
        client_ref: u32,
        unacked: Option<Arc<Unacked>>,
    ) {
        // Encoded once, shared by every recipient (`[MSG-1]`).
        let wire = Arc::new(message.to_frame_bytes());
        let mut delivered = 0;
        for member in state.members.iter().filter(|m| m.conn_id != sender.conn_id) {
            // A full outbox cuts that member off; the others are not slowed (`[FLOW-3]`).
            delivered += u64::from(member.outbox.push(Arc::clone(&wire)).is_ok());
        }
        // One atomic add per fan-out, not per recipient.
        self.deliveries.inc_by(delivered);
        // The ACK follows every recipient's copy (`[MSG-2]`).
        let ack = Ack {
            client_ref,
            id: message.id,
            seq: message.seq,
            time: message.time,
        };
        let _ = sender.outbox.push(ack.to_frame_bytes());
        if let Some(unacked) = unacked {
            unacked.paid();
        }
        state.keep_released(message);
    }

    /// Up to `limit` kept messages on one side of `anchor`, ascending, and
    /// whether more exist on that side (`[HISTORY-1]`).
    pub fn history(&self, direction: Direction, anchor: u64, limit: usize) -> (Vec<Message>, bool) {
        let state = lock(&self.state);
        let (messages, more) =
            crate::log::page(state.history.iter(), |m| m.seq, direction, anchor, limit);
        // Before the oldest kept message there may be older ones, no longer kept.
        let older = direction == Direction::Before && messages.first().is_some_and(|m| m.seq > 1);
        (messages, more || older)
    }

    /// Forgets kept messages whose `time` is below `before_time` or whose
    /// `seq` is below `first_kept_seq`: what retention removed from the
    /// store, so a replay never shows what HISTORY no longer returns.
    pub fn forget(&self, before_time: Option<u64>, first_kept_seq: Option<u64>) {
        let mut state = lock(&self.state);
        let before_time = before_time.unwrap_or(0);
        let first_kept_seq = first_kept_seq.unwrap_or(0);
        // Not just a prefix: a clock set back can stamp a newer message earlier.
        state
            .history
            .retain(|m| m.time >= before_time && m.seq >= first_kept_seq);
    }
}

/// The log tells a room when its messages are durable: they are then
/// delivered, in `seq` order (`[MSG-2]`).
impl OnDurable for Room {
    fn durable(&self, entry: &Entry) {
        if let Entry::Room(message) = entry {
            self.release(message.seq);
        }
    }
}
