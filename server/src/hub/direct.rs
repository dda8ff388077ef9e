//! Delivering a direct message once the log has it (`[DM-1]`, `[MSG-2]`).

use std::sync::Arc;

use bytes::Bytes;
use confab_protocol::frame::{Ack, Frame};

use super::Member;
use crate::connection::acks::Unacked;
use crate::log::{Entry, OnDurable};

/// What is left to do for a direct message once it is durable.
#[derive(Debug)]
pub struct DirectDelivery {
    pub sender: Arc<Member>,
    pub recipient: Arc<Member>,
    /// The encoded DIRECT_MESSAGE, counted against the recipient's budget (`[DM-4]`).
    pub wire: Bytes,
    pub client_ref: u32,
    /// The sender's owed ACKs, when the message waits for the log (`[ORDER-1]`).
    pub unacked: Option<Arc<Unacked>>,
}

impl DirectDelivery {
    /// To the recipient only, then the ACK to the sender (`[DM-1]`).
    pub fn deliver(&self, id: u64, time: u64) {
        let _ = self.recipient.outbox.push(self.wire.clone());
        let ack = Ack {
            client_ref: self.client_ref,
            id,
            seq: 0,
            time,
        };
        let _ = self.sender.outbox.push(Frame::Ack(ack).to_bytes());
        if let Some(unacked) = &self.unacked {
            unacked.paid();
        }
    }
}

impl OnDurable for DirectDelivery {
    fn durable(&self, entry: &Entry) {
        if let Entry::Direct(message) = entry {
            self.deliver(message.id, message.time);
        }
    }
}
