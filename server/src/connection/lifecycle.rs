//! One connection's lifecycle: the single answer to "is it closing, and
//! why", kept by the outbox, the one object the reader, the writer and
//! every sender share.
//!
//! | from | event (who) | to |
//! |---|---|---|
//! | `Open` | `close_with(last)`: GOODBYE or a fatal ERROR (reader, handlers) | `Closing(its code)` |
//! | `Open` | `close()`: the reader ended with nothing more to say | `Closing(NORMAL)` |
//! | `Open` | a push past the queue's budget (any sender), `give_up` (a paced answer unread) | `Overflowed` |
//! | any but `Ended` | `end_output()`: the writer is done, or a write failed | `Ended` |
//! | anything else | | unchanged |
//!
//! Every transition wakes the connection's task (reader and writer run in
//! it), so each half sees it at its next look. The reader stops at any
//! state but `Open`; the writer writes what was queued before `Closing`,
//! or SLOW_CONSUMER after `Overflowed`, then ends the output. The
//! session's CLOSED state is the protocol's view (`[STATE-4]`: it judges
//! nothing more); closing the connection is this one.

use std::sync::atomic::{AtomicU32, Ordering};

use confab_protocol::ErrorCode;

/// Where a connection is in its life (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Requests are read and answered.
    Open,
    /// The last frame is queued, closing with this code (`NORMAL` when the
    /// server had nothing more to say): the writer flushes, then ends
    /// (`[CLOSE-4]`).
    Closing(ErrorCode),
    /// A slow consumer: its queue was dropped (`[FLOW-3]`, `[MEM-2]`).
    Overflowed,
    /// Nothing more will be written.
    Ended,
}

const OPEN: u32 = 0;
const CLOSING: u32 = 1;
const OVERFLOWED: u32 = 2;
const ENDED: u32 = 3;

/// The lifecycle in one atomic word: written under the outbox's lock, so
/// that it changes together with the queue, and read without it, so that
/// the reader's look at every wake-up costs one load.
#[derive(Debug)]
pub(super) struct AtomicLifecycle(AtomicU32);

impl AtomicLifecycle {
    pub(super) fn new() -> Self {
        AtomicLifecycle(AtomicU32::new(OPEN))
    }

    pub(super) fn get(&self) -> Lifecycle {
        let word = self.0.load(Ordering::Acquire);
        match word & 0xff {
            OPEN => Lifecycle::Open,
            CLOSING => Lifecycle::Closing(ErrorCode((word >> 16) as u16)),
            OVERFLOWED => Lifecycle::Overflowed,
            _ => Lifecycle::Ended,
        }
    }

    /// Applies one transition of the table; false (and no change) when the
    /// table has no such row.
    pub(super) fn advance(&self, to: Lifecycle) -> bool {
        let allowed = match (self.get(), to) {
            (Lifecycle::Open, Lifecycle::Closing(_) | Lifecycle::Overflowed) => true,
            (Lifecycle::Ended, Lifecycle::Ended) => false,
            (_, Lifecycle::Ended) => true,
            _ => false,
        };
        if allowed {
            let word = match to {
                Lifecycle::Open => OPEN,
                Lifecycle::Closing(code) => CLOSING | (u32::from(code.0) << 16),
                Lifecycle::Overflowed => OVERFLOWED,
                Lifecycle::Ended => ENDED,
            };
            self.0.store(word, Ordering::Release);
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::outbox::{GlobalQueue, Outbox};
    use bytes::Bytes;
    use std::future::Future;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The reader waits on `stopped` while the writer or a sender moves the
    /// lifecycle: each move must wake it, or the reader would sleep on.
    #[test]
    fn every_transition_wakes_the_waiting_reader() {
        let frame = || Bytes::from_static(b"x");
        type Transition = fn(&Outbox, Bytes);
        let transitions: [(&str, Transition, Lifecycle); 4] = [
            (
                "overflow",
                |o, f| {
                    let _ = o.push(f.clone());
                    let _ = o.push(f);
                },
                Lifecycle::Overflowed,
            ),
            (
                "close_with",
                |o, f| o.close_with(ErrorCode::IDLE_TIMEOUT, f),
                Lifecycle::Closing(ErrorCode::IDLE_TIMEOUT),
            ),
            (
                "close",
                |o, _| o.close(),
                Lifecycle::Closing(ErrorCode::NORMAL),
            ),
            ("end_output", |o, _| o.end_output(), Lifecycle::Ended),
        ];
        for (name, transition, after) in transitions {
            let outbox = Outbox::new(GlobalQueue::new(1 << 30, 1, 1 << 20));
            let wakes = Arc::new(Wakes::default());
            let waker = Waker::from(Arc::clone(&wakes));
            let mut cx = Context::from_waker(&waker);
            let mut stopped = std::pin::pin!(outbox.stopped());
            assert!(stopped.as_mut().poll(&mut cx).is_pending(), "{name}");
            transition(&outbox, frame());
            assert!(wakes.0.load(Ordering::SeqCst) > 0, "{name} woke nobody");
            assert_eq!(stopped.as_mut().poll(&mut cx), Poll::Ready(after), "{name}");
        }
    }

    #[test]
    fn the_transitions_are_those_of_the_table() {
        let closing = Lifecycle::Closing(ErrorCode::IDLE_TIMEOUT);
        let all = [
            Lifecycle::Open,
            closing,
            Lifecycle::Overflowed,
            Lifecycle::Ended,
        ];
        for from in all {
            for to in all {
                let state = AtomicLifecycle::new();
                if from != Lifecycle::Open {
                    assert!(state.advance(from), "Open → {from:?}");
                }
                let expected = matches!(
                    (from, to),
                    (
                        Lifecycle::Open,
                        Lifecycle::Closing(_) | Lifecycle::Overflowed
                    ) | (
                        Lifecycle::Open | Lifecycle::Closing(_) | Lifecycle::Overflowed,
                        Lifecycle::Ended
                    )
                );
                assert_eq!(state.advance(to), expected, "{from:?} → {to:?}");
                assert_eq!(state.get(), if expected { to } else { from });
            }
        }
    }
}
