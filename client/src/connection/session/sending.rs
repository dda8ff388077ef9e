//! Sending the queue: messages go out in order, as fast as the pacer and the
//! in-flight window allow.

use confab_protocol::frame::{Direct, DirectAction, Frame, Greeting, SendAction, SendMessage};
use confab_protocol::{CodecError, Str16, Str8};
use futures_util::SinkExt;
use tokio::time::{Duration, Instant};

use super::Session;
use crate::connection::outbox::State;
use crate::connection::pacer::Pacer;
use crate::connection::Wire;
use crate::event::{Event, Target};

/// Most messages sent and not yet answered, whatever the burst allows: a
/// refusal then touches at most this many.
const MAX_IN_FLIGHT: usize = 64;

/// The least pause after a RATE_LIMITED before anything is sent again.
const RATE_LIMITED_PAUSE: Duration = Duration::from_millis(250);

/// How this connection sends: what its GREETING allows, and the numbers
/// its messages carry.
#[derive(Default)]
pub(super) struct Sending {
    next_ref: u32,
    /// Paces messages under the server's rate limits, from its GREETING on.
    pacer: Option<Pacer>,
    /// After a RATE_LIMITED: nothing is sent before this instant.
    paused_until: Option<Instant>,
    /// The server relays actions (GREETING flag `ACTIONS`, `[ACTION-1]`).
    actions: bool,
}

impl Sending {
    pub(super) fn greeted(&mut self, greeting: &Greeting) {
        self.actions = greeting.flags & Greeting::ACTIONS != 0;
        self.pacer = Some(Pacer::new(&greeting.limits));
    }

    pub(super) fn relays_actions(&self) -> bool {
        self.actions
    }

    /// Our pacing was ahead of the server's buckets: start again from
    /// empty ones, after a pause.
    pub(super) fn rate_limited(&mut self) {
        if let Some(pacer) = &mut self.pacer {
            pacer.empty();
        }
        self.paused_until = Some(Instant::now() + RATE_LIMITED_PAUSE);
    }
}

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
        if !self.logged_in {
            return Ok(None);
        }
        let sending = &mut self.sending;
        let Some(pacer) = sending.pacer.as_mut() else {
            return Ok(None);
        };
        let now = Instant::now();
        if let Some(until) = sending.paused_until.filter(|until| *until > now) {
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
            // A client_ref is never 0, which means "none".
            sending.next_ref = sending.next_ref.wrapping_add(1).max(1);
            let client_ref = sending.next_ref;
            queued.state = State::InFlight(client_ref);
            // The length was checked against max_body (at most u16::MAX) when queued.
            let body = Str16::truncated(&queued.body);
            // spec: ACTION-1 — an action queued while offline goes to a
            // server without ACTIONS as its text alone.
            queued.action &= sending.actions;
            let frame = match (&queued.target, queued.action) {
                (Target::Room(room), true) => Frame::SendAction(SendAction {
                    client_ref,
                    room: Str8::truncated(room),
                    body,
                }),
                (Target::Room(room), false) => Frame::SendMessage(SendMessage {
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
