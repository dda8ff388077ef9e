//! What a sender hears once the cluster's log answered its message: the
//! ACK with the numbers the log gave, or an ERROR when the log could not
//! take it (`[CLUSTER-3]`). Delivery to the recipients is the
//! subscription's (`dispatch.rs`), on whichever node they are.

use std::sync::Arc;

use confab_protocol::frame::{Ack, ErrorFrame, Frame};

use crate::connection::acks::Unacked;
use crate::hub::Member;
use crate::log::{Entry, OnDurable};

#[derive(Debug)]
pub struct Acknowledge {
    pub sender: Arc<Member>,
    pub client_ref: u32,
    /// SEND, SEND_ACTION, DIRECT or DIRECT_ACTION: what an ERROR names.
    pub frame_type: u8,
    /// The sender's owed ACKs (`[ORDER-1]`).
    pub unacked: Arc<Unacked>,
}

impl OnDurable for Acknowledge {
    fn durable(&self, entry: &Entry) {
        let ack = match entry {
            Entry::Room(message) => Ack {
                client_ref: self.client_ref,
                id: message.id,
                seq: message.seq,
                time: message.time,
            },
            Entry::Direct(message) => Ack {
                client_ref: self.client_ref,
                id: message.id,
                seq: 0,
                time: message.time,
            },
        };
        let _ = self.sender.outbox.push(Frame::Ack(ack).to_bytes());
        self.unacked.paid();
    }

    fn refused(&self, code: confab_protocol::ErrorCode, why: &str) {
        let error = ErrorFrame::new(code, self.frame_type, self.client_ref, why);
        let _ = self.sender.outbox.push(Frame::ErrorFrame(error).to_bytes());
        self.unacked.paid();
    }

    fn connection(&self) -> u64 {
        self.sender.conn_id
    }
}
