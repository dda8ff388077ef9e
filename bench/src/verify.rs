//! Exactly-once, in-order, no-echo delivery accounting for one receiver.
//!
//! Each receiver expects from every other sender of its room the sequence
//! 0, 1, 2, … M-1 in order, and nothing from outside its room. Anything else is counted: a repeat or a step back is a
//! duplicate/reorder, a step forward skips messages (lost unless they come
//! later, which is then a reorder), a message from itself is an echo.

use std::ops::Range;

use serde::Serialize;

/// Failures counted across receivers; all zero for a correct run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Faults {
    pub lost: u64,
    pub duplicated_or_reordered: u64,
    pub skipped_ahead: u64,
    pub echoed: u64,
    /// From a sender outside the receiver's room (another room's, or nobody's).
    pub unknown_sender: u64,
}

impl Faults {
    pub fn is_clean(&self) -> bool {
        *self == Faults::default()
    }

    pub fn add(&mut self, other: &Faults) {
        self.lost += other.lost;
        self.duplicated_or_reordered += other.duplicated_or_reordered;
        self.skipped_ahead += other.skipped_ahead;
        self.echoed += other.echoed;
        self.unknown_sender += other.unknown_sender;
    }
}

/// One receiver's view.
#[derive(Debug, Clone)]
pub struct Receiver {
    me: usize,
    /// The first sender of the receiver's room; senders are numbered globally.
    first: usize,
    /// Next expected sequence per sender of the room.
    next: Vec<u32>,
    pub delivered: u64,
    faults: Faults,
}

impl Receiver {
    /// A receiver whose room is the senders `room` (`me` among them).
    pub fn new(me: usize, room: Range<usize>) -> Self {
        Receiver {
            me,
            first: room.start,
            next: vec![0; room.len()],
            delivered: 0,
            faults: Faults::default(),
        }
    }

    /// Accounts one received message.
    pub fn record(&mut self, sender: usize, seq: u32) {
        if sender == self.me {
            self.faults.echoed += 1;
            return;
        }
        let slot = sender.checked_sub(self.first);
        let Some(next) = slot.and_then(|slot| self.next.get_mut(slot)) else {
            self.faults.unknown_sender += 1;
            return;
        };
        if seq == *next {
            *next += 1;
            self.delivered += 1;
        } else if seq < *next {
            self.faults.duplicated_or_reordered += 1;
        } else {
            self.faults.skipped_ahead += 1;
            self.delivered += 1;
            *next = seq + 1;
        }
    }

    /// Whether every other sender's `per_sender` messages have arrived.
    pub fn complete(&self, per_sender: u32) -> bool {
        self.next
            .iter()
            .enumerate()
            .all(|(s, n)| self.first + s == self.me || *n >= per_sender)
    }

    /// Final accounting: messages that never arrived in order are lost
    /// (each one a skip jumped over counts, even if it came later).
    pub fn finish(&self, per_sender: u32) -> Faults {
        let mut faults = self.faults;
        let expected = u64::from(per_sender) * (self.next.len() as u64).saturating_sub(1);
        faults.lost = expected.saturating_sub(self.delivered);
        faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(me: usize, senders: usize, per_sender: u32, deliveries: &[(usize, u32)]) -> Faults {
        let mut receiver = Receiver::new(me, 0..senders);
        for &(sender, seq) in deliveries {
            receiver.record(sender, seq);
        }
        receiver.finish(per_sender)
    }

    #[test]
    fn a_perfect_stream_is_clean() {
        let deliveries = [(1, 0), (2, 0), (1, 1), (2, 1)];
        assert!(run(0, 3, 2, &deliveries).is_clean());
        let mut receiver = Receiver::new(0, 0..3);
        for &(s, q) in &deliveries {
            receiver.record(s, q);
        }
        assert!(receiver.complete(2));
    }

    #[test]
    fn a_missing_message_is_lost() {
        let faults = run(0, 3, 2, &[(1, 0), (1, 1), (2, 0)]);
        assert_eq!(faults.lost, 1);
        assert!(!faults.is_clean());
    }

    #[test]
    fn a_duplicate_is_counted() {
        let faults = run(0, 2, 2, &[(1, 0), (1, 0), (1, 1)]);
        assert_eq!(faults.duplicated_or_reordered, 1);
        assert_eq!(faults.lost, 0);
    }

    #[test]
    fn reordering_is_counted_and_the_skip_is_lost_until_it_comes() {
        let faults = run(0, 2, 3, &[(1, 0), (1, 2), (1, 1)]);
        assert_eq!(faults.skipped_ahead, 1);
        assert_eq!(faults.duplicated_or_reordered, 1);
        assert_eq!(faults.lost, 1, "message 1 never came in order");
    }

    #[test]
    fn an_echo_is_counted() {
        let faults = run(0, 2, 1, &[(0, 0), (1, 0)]);
        assert_eq!(faults.echoed, 1);
        assert_eq!(faults.lost, 0);
    }

    #[test]
    fn another_rooms_sender_is_counted_and_the_room_is_checked_alone() {
        // Room of senders 3, 4, 5 seen by 4; sender 2 and 6 are in other rooms.
        let mut receiver = Receiver::new(4, 3..6);
        for (sender, seq) in [(3, 0), (2, 0), (5, 0), (6, 0), (4, 0)] {
            receiver.record(sender, seq);
        }
        assert!(receiver.complete(1));
        let faults = receiver.finish(1);
        assert_eq!(faults.unknown_sender, 2);
        assert_eq!(faults.echoed, 1);
        assert_eq!(faults.lost, 0);
    }

    #[test]
    fn nothing_received_is_all_lost() {
        assert_eq!(run(0, 4, 5, &[]).lost, 15);
    }
}
