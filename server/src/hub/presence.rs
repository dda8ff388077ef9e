//! `[PRESENCE-3]`: how often one member's comings and goings in a room are
//! announced. A member may change a few times at once, then once per
//! interval; changes in between are coalesced, and only the net change is
//! announced when the interval ends (nothing if it is back where it was).
//! So no client, joining and leaving as fast as it may, makes the others
//! receive more than a trickle of PRESENCE frames because of it.

use std::collections::HashMap;
use std::time::Duration;

use std::sync::Arc;

use confab_protocol::frame::{Presence, PresenceEvent};
use confab_protocol::Str8;
use tokio::time::Instant;

use super::Member;
use crate::ratelimit::Bucket;

/// Changes announced at once before coalescing starts.
const BURST: f64 = 4.0;
/// One more change may be announced per interval.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// Entries kept beyond the members before the idle ones are swept.
const SLACK: usize = 64;

#[derive(Debug)]
struct Churn {
    name: Str8,
    tokens: Bucket,
    /// Whether the others were last told the member is in the room.
    announced_in: bool,
    /// The latest change not announced yet, if it differs from what was.
    pending: Option<PresenceEvent>,
}

/// What to do with one change.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Announce,
    /// Coalesced; `schedule` asks for a flush after `INTERVAL`.
    Deferred {
        schedule: bool,
    },
}

#[derive(Debug, Default)]
pub struct PresenceGate {
    churn: HashMap<u64, Churn>,
    flush_scheduled: bool,
}

fn rate() -> f64 {
    1.0 / INTERVAL.as_secs_f64()
}

impl PresenceGate {
    /// Records a change of `conn_id`'s membership (`name`); `members` bounds
    /// how many entries are worth keeping.
    pub fn change(
        &mut self,
        conn_id: u64,
        name: &Str8,
        event: PresenceEvent,
        members: usize,
    ) -> Decision {
        let now = Instant::now();
        if self.churn.len() > members + SLACK {
            self.sweep(now);
        }
        let inside = event == PresenceEvent::Joined;
        let churn = self.churn.entry(conn_id).or_insert_with(|| Churn {
            name: name.clone(),
            tokens: Bucket::full(BURST),
            announced_in: !inside,
            pending: None,
        });
        churn.tokens.refill(rate(), BURST, now);
        if churn.pending.is_none() && churn.tokens.has(1.0) {
            churn.tokens.spend(1.0);
            churn.announced_in = inside;
            return Decision::Announce;
        }
        churn.pending = (inside != churn.announced_in).then_some(event);
        let schedule = churn.pending.is_some() && !self.flush_scheduled;
        self.flush_scheduled |= schedule;
        Decision::Deferred { schedule }
    }

    /// The coalesced changes now due, and whether another flush is needed.
    pub fn flush(&mut self) -> (Vec<(u64, Str8, PresenceEvent)>, bool) {
        let now = Instant::now();
        let mut due = Vec::new();
        for (conn_id, churn) in &mut self.churn {
            churn.tokens.refill(rate(), BURST, now);
            if let Some(event) = churn.pending {
                if churn.tokens.has(1.0) {
                    churn.tokens.spend(1.0);
                    churn.announced_in = event == PresenceEvent::Joined;
                    churn.pending = None;
                    due.push((*conn_id, churn.name.clone(), event));
                }
            }
        }
        self.sweep(now);
        let again = self.churn.values().any(|c| c.pending.is_some());
        self.flush_scheduled = again;
        (due, again)
    }

    /// Forgets members with nothing pending and a full bucket.
    fn sweep(&mut self, now: Instant) {
        self.churn
            .retain(|_, c| c.pending.is_some() || !c.tokens.is_full_at(rate(), BURST, now));
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.churn.is_empty()
    }
}

/// Tells every member but `subject` of `event` (`[PRESENCE-2]`).
pub fn announce(
    members: &[Arc<Member>],
    subject: u64,
    name: &Str8,
    event: PresenceEvent,
    room: &Str8,
    now: u64,
) {
    // spec: PRESENCE-2
    let frame = Arc::new(
        Presence {
            event,
            room: room.clone(),
            username: name.clone(),
            time: now,
        }
        .to_frame_bytes(),
    );
    for member in members.iter().filter(|m| m.conn_id != subject) {
        let _ = member.outbox.push(Arc::clone(&frame));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rapid_changes_are_coalesced_to_the_net_change() {
        // spec: PRESENCE-3
        let mut gate = PresenceGate::default();
        let name = Str8::truncated("churner");
        let mut announced = 0;
        let mut schedules = 0;
        for i in 0..1_000 {
            let event = if i % 2 == 0 {
                PresenceEvent::Joined
            } else {
                PresenceEvent::Left
            };
            match gate.change(7, &name, event, 1) {
                Decision::Announce => announced += 1,
                Decision::Deferred { schedule } => schedules += usize::from(schedule),
            }
        }
        assert_eq!(announced, 4, "the burst, then nothing at once");
        assert!(schedules <= 1);
        // 1,000 changes ended with a LEFT, and LEFT was the last announced: nothing due.
        tokio::time::advance(INTERVAL).await;
        let (due, again) = gate.flush();
        assert!(due.is_empty() && !again, "{due:?}");
        // One more JOINED, coalesced, is announced after the interval.
        assert_eq!(
            gate.change(7, &name, PresenceEvent::Joined, 1),
            Decision::Announce
        );
        for _ in 0..3 {
            gate.change(7, &name, PresenceEvent::Left, 1);
            gate.change(7, &name, PresenceEvent::Joined, 1);
        }
        gate.change(7, &name, PresenceEvent::Disconnected, 1);
        tokio::time::advance(INTERVAL).await;
        let (due, again) = gate.flush();
        assert_eq!(due, vec![(7, name, PresenceEvent::Disconnected)]);
        assert!(!again);
        tokio::time::advance(INTERVAL * 5).await;
        gate.flush();
        assert!(gate.is_empty(), "nothing left to remember");
    }
}
