//! Sending the queue: messages go out in order, as fast as the pacer and the
//! in-flight window allow.

use confab_protocol::frame::{Direct, DirectAction, Frame, Send, SendAction};
use confab_protocol::{CodecError, Str16, Str8};
use futures_util::SinkExt;
use tokio::time::Instant;

use super::Session;
use crate::connection::outbox::State;
use crate::connection::Wire;
use crate::event::{Event, Target};

/// Most messages sent and not yet answered, whatever the burst allows: a
/// refusal then touches at most this many.
const MAX_IN_FLIGHT: usize = 64;

impl Session<'_> {
    pub(super) async fn queue_message(&mut self, target: Target, body: String, action: bool) {
        if let (Target::User(to), Some(me)) = (&target, &self.memory.name) {
            // The server would answer NO_SUCH_USER (`[DM-2]`), which misleads.
            if to.to_lowercase() == me.to_lowercase() {
                let n = self.memory.outbox.number();
                let reason = "you cannot send a direct message to yourself".into();
                self.emit(Event::NotSent {
                    n,
                    target,
                    body,
                    reason,
                })
                .await;
                return;
            }
        }
        if let Some(refused) = self.memory.enqueue(target, body, action) {
            self.emit(refused).await;
        }
    }

    /// Sends what the queue, the in-flight window and the pacer allow now;
    /// returns when the pacer allows the next one (an ACK wakes us otherwise).
    pub(super) async fn pump(&mut self, framed: &mut Wire) -> Result<Option<Instant>, CodecError> {
        let (true, Some(pacer)) = (self.logged_in, self.pacer.as_mut()) else {
            return Ok(None);
        };
        let now = Instant::now();
        if let Some(until) = self.paused_until.filter(|until| *until > now) {
            return Ok(Some(until));
        }
        let window = pacer.burst().clamp(1, MAX_IN_FLIGHT);
        let mut in_flight = self.memory.outbox.in_flight();
        let mut sent = false;
        let mut next = None;
        while in_flight < window {
            let Some(queued) = self.memory.outbox.next_waiting() else {
                break;
            };
            if !pacer.try_take(queued.body.len()) {
                next = Some(pacer.ready_at(queued.body.len()));
                break;
            }
            self.next_ref = self.next_ref.wrapping_add(1).max(1);
            let client_ref = self.next_ref;
            queued.state = State::InFlight(client_ref);
            // The length was checked against max_body (at most u16::MAX) when queued.
            let body = Str16::truncated(&queued.body);
            // spec: ACTION-1 — an action queued while offline goes to a
            // server without ACTIONS as its text alone.
            queued.action &= self.actions;
            let frame = match (&queued.target, queued.action) {
                (Target::Room(room), true) => Frame::SendAction(SendAction {
                    client_ref,
                    room: Str8::truncated(room),
                    body,
                }),
                (Target::Room(room), false) => Frame::Send(Send {
                    client_ref,
                    room: Str8::truncated(room),
                    body,
                }),
                (Target::User(to), true) => Frame::DirectAction(DirectAction {
                    client_ref,
                    to: Str8::truncated(to),
                    body,
                }),
                (Target::User(to), false) => Frame::Direct(Direct {
                    client_ref,
                    to: Str8::truncated(to),
                    body,
                }),
            };
            framed.feed(frame).await?;
            sent = true;
            in_flight += 1;
        }
        if sent {
            SinkExt::<Frame>::flush(framed).await?;
        }
        Ok(next)
    }
}
