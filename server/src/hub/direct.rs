//! Recent direct messages per pair of users, for HISTORY kind 1 (`[HISTORY-2]`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use confab_protocol::frame::{DirectMessage, Direction};
use confab_protocol::names::name_key;

use super::lock;

#[derive(Debug)]
pub struct DirectHistory {
    pairs: Mutex<HashMap<(String, String), VecDeque<DirectMessage>>>,
    keep: usize,
}

fn pair_key(a: &str, b: &str) -> (String, String) {
    let (a, b) = (name_key(a), name_key(b));
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

impl DirectHistory {
    pub fn new(keep: usize) -> Self {
        DirectHistory {
            pairs: Mutex::new(HashMap::new()),
            keep: keep.max(1),
        }
    }

    /// Keeps a copy of a delivered direct message, flagged as history.
    pub fn record(&self, message: &DirectMessage) {
        let mut stored = message.clone();
        stored.flags |= DirectMessage::HISTORY;
        // Its own buffer, not a share of the sender's read buffer (see Room::publish).
        stored.body = confab_protocol::Str16::truncated(&message.body);
        let mut pairs = lock(&self.pairs);
        let log = pairs
            .entry(pair_key(&message.from, &message.to))
            .or_default();
        if log.len() >= self.keep {
            log.pop_front();
        }
        log.push_back(stored);
    }

    /// Forgets messages older than `cutoff`, and conversations left empty.
    pub fn forget_before(&self, cutoff: u64) {
        let mut pairs = lock(&self.pairs);
        for log in pairs.values_mut() {
            while log.front().is_some_and(|m| m.time < cutoff) {
                log.pop_front();
            }
        }
        pairs.retain(|_, log| !log.is_empty());
    }

    /// Up to `limit` messages between `a` and `b` on one side of the id
    /// `anchor`, ascending, and whether more exist there.
    pub fn read(
        &self,
        a: &str,
        b: &str,
        floor: u64,
        direction: Direction,
        anchor: u64,
        limit: usize,
    ) -> (Vec<DirectMessage>, bool) {
        let pairs = lock(&self.pairs);
        let Some(log) = pairs.get(&pair_key(a, b)) else {
            return (Vec::new(), false);
        };
        let visible = log.iter().filter(|m| m.id >= floor);
        super::page(visible, |m| m.id, direction, anchor, limit)
    }
}
