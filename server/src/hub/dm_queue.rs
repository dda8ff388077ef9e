//! `[DM-4]`: how many direct messages may wait, unwritten, for one
//! recipient: per sending address and from all senders together. Past it
//! the sender is refused (RECIPIENT_BUSY), so that no group of senders can
//! fill a reader's outbound queue and get it cut off as a slow consumer.
//!
//! A queued message is tracked by a token its encoded frame owns: once the
//! writer has dropped the frame (written, or the queue is gone), the token
//! here is the only one left, and the message no longer counts. Only the
//! token is kept, not the frame: what is written is never held here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::sync::lock;

/// The bounds, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct DmBudget {
    pub per_address_bytes: usize,
    pub per_address_frames: usize,
    pub total_bytes: usize,
    pub total_frames: usize,
}

/// Why a direct message may not be queued now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    FromYourAddress,
    FromEveryone,
}

/// A frame that owns a token, so that its life can be followed.
struct Tracked {
    frame: Bytes,
    _token: Arc<()>,
}

impl AsRef<[u8]> for Tracked {
    fn as_ref(&self) -> &[u8] {
        &self.frame
    }
}

#[derive(Debug)]
struct Waiting {
    from: IpAddr,
    len: usize,
    token: Arc<()>,
}

impl Waiting {
    fn unwritten(&self) -> bool {
        Arc::strong_count(&self.token) > 1
    }
}

#[derive(Debug, Default)]
pub struct DmQueues {
    /// Recipient connection id → its unwritten direct messages.
    queued: Mutex<HashMap<u64, Vec<Waiting>>>,
}

impl DmQueues {
    /// Counts `frame` for `recipient` if the budget allows it, and returns
    /// the frame to queue (now or after storing), which it follows.
    pub fn admit(
        &self,
        budget: &DmBudget,
        recipient: u64,
        from: IpAddr,
        frame: Bytes,
    ) -> Result<Bytes, Busy> {
        let mut queued = lock(&self.queued);
        let waiting = queued.entry(recipient).or_default();
        waiting.retain(Waiting::unwritten);
        let (mut mine_bytes, mut mine_frames, mut all_bytes) = (0, 0, 0);
        for entry in waiting.iter() {
            all_bytes += entry.len;
            if entry.from == from {
                mine_bytes += entry.len;
                mine_frames += 1;
            }
        }
        let len = frame.len();
        if mine_frames + 1 > budget.per_address_frames
            || mine_bytes + len > budget.per_address_bytes
        {
            return Err(Busy::FromYourAddress);
        }
        if waiting.len() + 1 > budget.total_frames || all_bytes + len > budget.total_bytes {
            return Err(Busy::FromEveryone);
        }
        let token = Arc::new(());
        waiting.push(Waiting {
            from,
            len,
            token: Arc::clone(&token),
        });
        Ok(Bytes::from_owner(Tracked {
            frame,
            _token: token,
        }))
    }

    /// The recipient is gone: forget its queue.
    pub fn forget(&self, recipient: u64) {
        lock(&self.queued).remove(&recipient);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_protocol::frame::{Frame, Ping};

    fn frame() -> Bytes {
        Frame::Ping(Ping { nonce: 1 }).to_bytes()
    }

    #[test]
    fn written_frames_stop_counting_and_each_address_has_its_share() {
        // spec: DM-4
        let budget = DmBudget {
            per_address_bytes: 1 << 20,
            per_address_frames: 2,
            total_bytes: 1 << 20,
            total_frames: 3,
        };
        let queues = DmQueues::default();
        let (a, b, c) = (
            IpAddr::from([10, 0, 0, 1]),
            IpAddr::from([10, 0, 0, 2]),
            IpAddr::from([10, 0, 0, 3]),
        );
        let in_queue: Vec<Bytes> = (0..2)
            .map(|_| queues.admit(&budget, 7, a, frame()).unwrap())
            .collect();
        assert_eq!(in_queue[0], frame(), "the same bytes");
        assert_eq!(
            queues.admit(&budget, 7, a, frame()),
            Err(Busy::FromYourAddress)
        );
        let from_b = queues.admit(&budget, 7, b, frame()).unwrap();
        assert_eq!(
            queues.admit(&budget, 7, c, frame()),
            Err(Busy::FromEveryone)
        );
        let other = queues.admit(&budget, 8, c, frame());
        assert!(other.is_ok(), "another recipient");
        // The writer takes a's frames: they no longer count.
        drop(in_queue);
        let again = queues.admit(&budget, 7, a, frame()).unwrap();
        drop((again, from_b, other));
    }
}
