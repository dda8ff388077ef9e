//! What the server tells the application (the protocol session's typed
//! `Incoming`), turned into events for the user interface, with what the
//! connection itself does about them (acknowledged messages, rejoins,
//! missed messages fetched, rate limits).

use confab_protocol::frame::{
    code, DirectMessage, Direction, Frame, History, HistoryEnd, HistoryKind, Message, RoomList,
    WhoList,
};
use confab_protocol::session::Incoming;
use confab_protocol::ErrorCode;
use futures_util::SinkExt;
use tokio::time::Instant;

use super::Session;
use crate::connection::outbox::same_room;
use crate::connection::Wire;
use crate::event::{Event, Target};
use crate::moderation::ListedRoom;

impl Session<'_> {
    pub(super) async fn on_incoming(&mut self, incoming: Incoming, framed: &mut Wire) {
        let me = self.memory.name.clone().unwrap_or_default();
        let event = match incoming {
            Incoming::RoomInfo(info) => return self.on_room_info(info, framed).await,
            Incoming::Moderation(event) => return self.on_moderation(event).await,
            Incoming::AuditEntries(page) => return self.on_audit(page).await,
            Incoming::RoomListInfo(page) => match self.moderating.room_list(&page) {
                Some(rooms) => Event::Rooms(rooms),
                None => return,
            },
            Incoming::Message(m) => {
                self.memory.saw(&m.room, m.seq);
                let replayed = m.flags & Message::HISTORY != 0;
                if replayed {
                    self.memory.fetched(&m.room, m.seq);
                }
                if replayed && m.sender.as_str() == me && self.is_rejoining(&m.room) {
                    // One of ours the last connection lost the ACK of: this is its ACK.
                    if let Some(queued) = self.memory.outbox.confirm_replayed(&m.room, &m.body) {
                        self.delivered();
                        let event = Event::Message {
                            room: m.room.to_string(),
                            sender: me,
                            body: queued.body,
                            time: m.time,
                            seq: m.seq,
                            own: true,
                            history: false,
                            action: queued.action,
                        };
                        self.emit(event).await;
                        return;
                    }
                }
                Event::Message {
                    room: m.room.to_string(),
                    sender: m.sender.to_string(),
                    body: m.body.to_string(),
                    time: m.time,
                    seq: m.seq,
                    own: m.sender.as_str() == me,
                    history: replayed,
                    action: m.flags & Message::ACTION != 0,
                }
            }
            Incoming::Ack(ack) => {
                let Some(queued) = self.memory.outbox.answered(ack.client_ref) else {
                    return;
                };
                self.delivered();
                match queued.target {
                    Target::Room(room) => {
                        self.memory.saw(&room, ack.seq);
                        Event::Message {
                            room,
                            sender: me,
                            body: queued.body,
                            time: ack.time,
                            seq: ack.seq,
                            own: true,
                            history: false,
                            action: queued.action,
                        }
                    }
                    Target::User(to) => Event::Direct {
                        from: me,
                        to,
                        body: queued.body,
                        time: ack.time,
                        own: true,
                        history: false,
                        action: queued.action,
                    },
                }
            }
            Incoming::Direct(dm) => Event::Direct {
                own: dm.from.as_str() == me,
                from: dm.from.to_string(),
                to: dm.to.to_string(),
                body: dm.body.to_string(),
                time: dm.time,
                history: dm.flags & DirectMessage::HISTORY != 0,
                action: dm.flags & DirectMessage::ACTION != 0,
            },
            Incoming::Joined(joined) => {
                let room = joined.room.to_string();
                let before = joined.next_seq.saturating_sub(1);
                let rejoining = self.is_rejoining(&room);
                match self.memory.rooms.iter_mut().find(|(r, _)| *r == room) {
                    // A first join starts where the room is now; a rejoin keeps
                    // its place until the replay has caught up.
                    Some(entry) if !rejoining => entry.1 = entry.1.max(before),
                    Some(_) => {}
                    None => self.memory.rooms.push((room.clone(), before)),
                }
                self.moderating.joined(&room);
                Event::Joined {
                    room,
                    members: joined.members,
                }
            }
            Incoming::Left(left) => {
                self.moderating.left(&left.room);
                self.memory.rooms.retain(|(r, _)| r != left.room.as_str());
                self.memory
                    .oldest_fetched
                    .remove(&left.room.as_str().to_lowercase());
                Event::Left {
                    room: left.room.to_string(),
                }
            }
            Incoming::RoomList(list) => match self.pages.rooms(&list) {
                Some(rooms) => Event::Rooms(rooms),
                None => return,
            },
            Incoming::WhoList(list) => match self.pages.who(&list) {
                Some(users) => Event::Who {
                    room: list.room.to_string(),
                    users,
                },
                None => return,
            },
            Incoming::Presence(p) => Event::Presence {
                room: p.room.to_string(),
                user: p.username.to_string(),
                event: p.event,
                time: p.time,
            },
            Incoming::HistoryEnd(end) => {
                let rejoined = self
                    .rejoining
                    .iter()
                    .position(|r| same_room(r, &end.target));
                if let Some(i) = rejoined {
                    // The rejoin replay is complete: what it did not show never arrived.
                    self.rejoining.swap_remove(i);
                    self.memory.outbox.resend_uncertain(Some(&end.target));
                }
                Event::HistoryEnd {
                    target: end.target.to_string(),
                    count: end.count,
                    more: end.flags & HistoryEnd::MORE != 0,
                    resumed: rejoined.is_some(),
                }
            }
            Incoming::Missed(missed) => {
                // spec: HISTORY-3 — fetch what the server says we missed.
                let span = missed.to_seq.saturating_sub(missed.from_seq) + 1;
                let request = Frame::History(History {
                    kind: HistoryKind::Room,
                    target: missed.room.clone(),
                    direction: Direction::After,
                    anchor: missed.from_seq.saturating_sub(1),
                    limit: span.min(u64::from(u16::MAX)) as u16,
                });
                let _ = framed.send(request).await;
                Event::Missed {
                    room: missed.room.to_string(),
                    from: missed.from_seq,
                    to: missed.to_seq,
                }
            }
            Incoming::Notice(notice) => Event::Notice {
                text: notice.text.to_string(),
            },
            Incoming::Error(error) => {
                let text = format!("{} ({})", error.message, error.code);
                if error.client_ref != 0 && error.code == ErrorCode::RATE_LIMITED {
                    // Our pacing was ahead of the server's buckets: start again
                    // from empty ones, and send this message again.
                    if self.memory.outbox.retry(error.client_ref) {
                        self.sending.rate_limited();
                        return;
                    }
                }
                if error.client_ref != 0 {
                    if let Some(queued) = self.memory.outbox.answered(error.client_ref) {
                        // spec: CLUSTER-3 — not acknowledged: the user decides
                        // whether to send it again (it may have arrived).
                        let reason = if error.code == ErrorCode::CLUSTER_UNAVAILABLE {
                            format!(
                                "the server cannot reach its cluster's store ({}); try \
                                 again, though it may still arrive",
                                error.code
                            )
                        } else {
                            text
                        };
                        let event = Event::NotSent {
                            n: queued.n,
                            target: queued.target,
                            body: queued.body,
                            reason,
                        };
                        self.emit(event).await;
                        return;
                    }
                }
                if error.frame_type == code::JOIN && !self.rejoining.is_empty() {
                    // A rejoin failed; which one is not said: settle every doubt by sending again.
                    self.rejoining.clear();
                    self.memory.outbox.resend_uncertain(None);
                }
                self.refused(&error).unwrap_or(Event::Error { text })
            }
        };
        self.emit(event).await;
    }
}

impl Session<'_> {
    fn is_rejoining(&self, room: &str) -> bool {
        self.rejoining.iter().any(|r| same_room(r, room))
    }

    /// A message was delivered: while finishing, that is progress, and the
    /// drain deadline starts again.
    fn delivered(&mut self) {
        if self.memory.finishing {
            self.memory.drain_deadline = Some(Instant::now() + self.options.drain_timeout);
        }
    }
}

/// Lists the server answers over several frames (`MORE`), gathered until
/// the last one.
#[derive(Default)]
pub(super) struct Pages {
    rooms: Vec<ListedRoom>,
    who: Vec<String>,
}

impl Pages {
    /// The whole room list once `list` is its last page.
    fn rooms(&mut self, list: &RoomList) -> Option<Vec<ListedRoom>> {
        let page = list.rooms.iter().map(|r| ListedRoom {
            name: r.name.to_string(),
            members: r.members,
            modes: 0,
            topic: String::new(),
        });
        self.rooms.extend(page);
        (list.flags & RoomList::MORE == 0).then(|| std::mem::take(&mut self.rooms))
    }

    /// The whole member list once `list` is its last page.
    fn who(&mut self, list: &WhoList) -> Option<Vec<String>> {
        self.who.extend(list.users.iter().map(|u| u.to_string()));
        (list.flags & WhoList::MORE == 0).then(|| std::mem::take(&mut self.who))
    }
}
