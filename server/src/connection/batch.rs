//! Messages a connection sends to one room one after another, handled in
//! the same turn, published together: one hold of the room's lock and one
//! push per recipient for the lot, not one per message (BENCHMARKS.md,
//! "Messages published together").
//!
//! The batch is kept per thread, so no connection pays memory for it, and
//! it never outlives a turn of its connection's task: the reader publishes
//! it before anything else the connection says or does (any other frame, any
//! frame of its own it queues, any wait), so every answer keeps its place
//! (`[ORDER-1]`) and every member sees the room's one order (`[MSG-5]`).
//! A batch holds at most one turn of the reader (64 frames), so the room's
//! lock is held for at most that many messages' fan-out.

use std::cell::RefCell;
use std::sync::Arc;

use confab_protocol::frame::code;
use confab_protocol::ErrorCode;

use crate::hub::{Member, Room, Submitted};
use crate::shared::Shared;

struct Batch {
    conn: u64,
    room: Arc<Room>,
    sender: Arc<Member>,
    shared: Arc<Shared>,
    outbox: Arc<super::outbox::Outbox>,
    messages: Vec<Submitted>,
}

thread_local! {
    static BATCH: RefCell<Option<Batch>> = const { RefCell::new(None) };
}

/// Adds a message `sender` (on connection `conn`) sends to `room`; a
/// batch for another room or connection is published first.
pub(crate) fn add(
    conn: u64,
    room: &Arc<Room>,
    sender: &Arc<Member>,
    shared: &Arc<Shared>,
    outbox: &Arc<super::outbox::Outbox>,
    message: Submitted,
) {
    let rest = BATCH.with_borrow_mut(|batch| match batch {
        Some(open) if open.conn == conn && Arc::ptr_eq(&open.room, room) => {
            open.messages.push(message);
            None
        }
        _ => batch.replace(Batch {
            conn,
            room: Arc::clone(room),
            sender: Arc::clone(sender),
            shared: Arc::clone(shared),
            outbox: Arc::clone(outbox),
            messages: vec![message],
        }),
    });
    if let Some(earlier) = rest {
        publish(earlier);
    }
}

/// Publishes the batch, if any: before the connection answers or does
/// anything else, and before its task waits.
pub(crate) fn flush() {
    if let Some(batch) = BATCH.with_borrow_mut(Option::take) {
        publish(batch);
    }
}

fn publish(batch: Batch) {
    let services = &batch.shared.services;
    let count = batch.messages.len();
    let refused = batch.room.publish_many(&batch.sender, batch.messages, || {
        services.hub.next_message_id()
    });
    match refused {
        None => {
            services.metrics.messages_accepted.inc_by(count as u64);
        }
        // The sender left the room since: each message is refused in turn.
        Some(messages) => {
            for message in messages {
                let frame_type = match message.flags {
                    0 => code::SEND,
                    _ => code::SEND_ACTION,
                };
                let error = confab_protocol::frame::ErrorFrame::new(
                    ErrorCode::NOT_IN_ROOM,
                    frame_type,
                    message.client_ref,
                    crate::handlers::NOT_IN_ROOM,
                );
                services
                    .metrics
                    .error_sent(ErrorCode::NOT_IN_ROOM, frame_type);
                let _ = batch.outbox.push(error.to_frame_bytes());
            }
        }
    }
}
