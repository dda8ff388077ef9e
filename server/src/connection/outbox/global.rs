//! The server-wide budget of all outbound queues (`[MEM-2]`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The bytes of every connection's queue together, and their budget
/// (`[MEM-2]`): past it, a frame for a client whose queue holds more than
/// `1 / SHARE_DIVISOR` of its own budget makes it a slow consumer. It also
/// holds each queue's own limits, the same for every connection, so that
/// they are not copied into every queue.
#[derive(Debug)]
pub struct GlobalQueue {
    pub(super) total: AtomicUsize,
    pub(super) budget: usize,
    /// Each queue's depth in frames and budget in bytes, 32 bits saturated.
    pub(super) depth: u32,
    pub(super) byte_budget: u32,
}

/// Past the global budget, a queue over 1/8 of its own budget is cut.
pub const SHARE_DIVISOR: usize = 8;

impl GlobalQueue {
    /// `budget` for all queues together; `depth` frames and `byte_budget`
    /// bytes for each.
    pub fn new(budget: usize, depth: usize, byte_budget: usize) -> Arc<GlobalQueue> {
        Arc::new(GlobalQueue {
            total: AtomicUsize::new(0),
            budget,
            depth: u32::try_from(depth).unwrap_or(u32::MAX),
            byte_budget: u32::try_from(byte_budget).unwrap_or(u32::MAX),
        })
    }

    /// Bytes queued for all clients now.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}
