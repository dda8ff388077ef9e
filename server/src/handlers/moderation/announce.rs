//! Who hears of a moderation action, and how (`[MOD-2]`, `[MOD-11]`,
//! `[MOD-12]`, `[MOD-13]`): each recipient at most once, clients that did
//! not set HELLO `MODERATION` only of what concerns them, as NOTICE.

use std::collections::HashSet;
use std::sync::Arc;

use confab_protocol::frame::{
    Frame, Goodbye, Left, ModAction, ModerationEvent, NoticeLevel, PresenceEvent,
};
use confab_protocol::{ErrorCode, Str8};

use crate::hub::{Member, Room};

/// Sends `event` to each member once; `skip` holds who has it already.
pub struct Announcement<'a> {
    pub event: &'a ModerationEvent,
    bytes: Arc<bytes::Bytes>,
    pub sent: HashSet<u64>,
}

impl<'a> Announcement<'a> {
    /// The requester (`requester`, its connection id) has its answer already.
    pub fn new(event: &'a ModerationEvent, requester: u64) -> Announcement<'a> {
        Announcement {
            bytes: Arc::new(event.to_frame_bytes()),
            event,
            sent: HashSet::from([requester]),
        }
    }

    /// Tells `member`, once: the event if it reads them, else a NOTICE when
    /// it is the one acted on (`personal`).
    pub fn tell(&mut self, member: &Member, personal: bool) {
        if !self.sent.insert(member.conn_id) {
            return;
        }
        if member.moderation.aware {
            let _ = member.outbox.push(Arc::clone(&self.bytes));
        } else if personal {
            if let Some((level, text)) = notice_text(self.event) {
                let _ = member.outbox.push(super::notice(level, &text));
            }
        }
    }
}

/// `[MOD-2]`: the NOTICE an older client gets when it is kicked, removed by
/// a ban, muted (level 1) or invited (level 0).
fn notice_text(e: &ModerationEvent) -> Option<(NoticeLevel, String)> {
    let why = if e.reason.is_empty() {
        String::new()
    } else {
        format!(": {}", e.reason.as_str())
    };
    let (level, what) = match e.action {
        ModAction::Kick => (NoticeLevel::Warning, "kicked you from"),
        ModAction::Ban => (NoticeLevel::Warning, "banned you from"),
        ModAction::Mute => (NoticeLevel::Warning, "muted you in"),
        ModAction::Invite => (NoticeLevel::Info, "invited you to"),
        _ => return None,
    };
    let until = crate::moderation::until(e.expires);
    Some((
        level,
        format!(
            "{} {what} {}{until}{why}",
            e.actor.as_str(),
            e.room.as_str()
        ),
    ))
}

/// `[MOD-11]`: takes `member` out of `room` as KICK does: it gets LEFT
/// (after the event), the others PRESENCE event 2.
pub fn remove_from_room(room: &Arc<Room>, member: &Member, now: u64) {
    let _ = member.outbox.push(
        Frame::Left(Left {
            room: room.name.clone(),
        })
        .to_bytes(),
    );
    if room.remove(member, PresenceEvent::Left, now) {
        member
            .moderation
            .removed
            .store(true, std::sync::atomic::Ordering::Release);
    }
}

/// `[MOD-13]`: GOODBYE `REMOVED` naming the actor and the reason, and the
/// connection closes.
pub fn disconnect(member: &Member, actor: &Str8, reason: &str) {
    let why = if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    let goodbye = Goodbye::new(
        ErrorCode::REMOVED,
        &format!("removed from the server by {}{why}", actor.as_str()),
    );
    member
        .outbox
        .close_with(ErrorCode::REMOVED, Frame::Goodbye(goodbye).to_bytes());
}
