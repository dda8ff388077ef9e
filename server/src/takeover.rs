//! Taking an account's session over (`[AUTH-4]`): a login with the right
//! password ends the connection that holds the account's name with GOODBYE
//! `TAKEN_OVER`, waits until it has left its rooms, and only then claims the
//! name, so members see the old session leave before the new one joins.
//!
//! A connection being taken over leaves its rooms *before* its name is
//! freed (the reverse of an ordinary departure, which frees the name first
//! so a client reacting to the PRESENCE can take it at once): whoever waits
//! for the name then also waits for the PRESENCE.

use std::collections::HashSet;
use std::sync::Mutex;

use confab_protocol::frame::{Frame, Goodbye};
use confab_protocol::ErrorCode;
use tokio::sync::Notify;

use crate::hub::{Hub, Member};
use crate::sync::lock;

/// What the taken-over client reads (`[AUTH-4]`: it must not log in again by itself).
pub const REASON: &str =
    "your account logged in from another connection, which took this session over";

/// Connections being ended by a takeover, and the signal that one is gone.
#[derive(Debug, Default)]
pub struct Takeovers {
    ending: Mutex<HashSet<u64>>,
    departed: Notify,
}

impl Takeovers {
    /// Sends `older` GOODBYE `TAKEN_OVER` and closes it (once: a second
    /// takeover of a closing connection changes nothing).
    pub fn end(&self, older: &Member) {
        lock(&self.ending).insert(older.conn_id);
        let goodbye = Frame::Goodbye(Goodbye::new(ErrorCode::TAKEN_OVER, REASON));
        older
            .outbox
            .close_with(ErrorCode::TAKEN_OVER, goodbye.to_bytes());
    }

    /// Whether connection `conn_id` is ending because it was taken over.
    pub fn is_ending(&self, conn_id: u64) -> bool {
        lock(&self.ending).contains(&conn_id)
    }

    /// Connection `conn_id` has left its rooms and freed its name.
    pub fn departed(&self, conn_id: u64) {
        lock(&self.ending).remove(&conn_id);
        self.departed.notify_waiters();
    }

    /// A name was freed in an ordinary departure: a takeover waiting for it
    /// (its holder left by itself just before it was ended) looks again.
    pub fn name_freed(&self) {
        self.departed.notify_waiters();
    }
}

/// Claims `member`'s name, taking it over from the connection that holds
/// it; returns once the name is `member`'s. The caller bounds the wait
/// (the handshake deadline, `[AUTH-2]`).
pub async fn claim(hub: &Hub, member: &std::sync::Arc<Member>) {
    let mut ended = None;
    loop {
        // Registered before looking, so a departure after the look wakes us.
        let departed = hub.takeovers.departed.notified();
        tokio::pin!(departed);
        departed.as_mut().enable();
        if hub.claim_name(member) {
            // An older session that left by itself before it was ended
            // never reported its departure: forget it.
            if let Some(conn_id) = ended {
                lock(&hub.takeovers.ending).remove(&conn_id);
            }
            return;
        }
        let Some(older) = hub.user(&member.name) else {
            continue; // freed between the two looks
        };
        hub.takeovers.end(&older);
        ended = Some(older.conn_id);
        departed.await;
    }
}
