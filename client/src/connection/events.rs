//! Frames from the server, judged by the session state machine, turned into
//! events for the user interface.

use confab_protocol::frame::{Direction, Frame, History, HistoryKind};
use futures_util::SinkExt;

use super::session::{Pending, Session};
use super::Wire;
use crate::event::Event;

impl Session<'_> {
    pub(super) async fn on_event(&mut self, frame: Frame, framed: &mut Wire) {
        let me = self.memory.name.clone().unwrap_or_default();
        let event = match frame {
            Frame::Message(m) => {
                self.memory.saw(&m.room, m.seq);
                Event::Message {
                    room: m.room.to_string(),
                    sender: m.sender.to_string(),
                    body: m.body.to_string(),
                    time: m.time,
                    seq: m.seq,
                    own: m.sender.as_str() == me,
                    history: m.flags & confab_protocol::frame::Message::HISTORY != 0,
                    action: m.flags & confab_protocol::frame::Message::ACTION != 0,
                }
            }
            Frame::Ack(ack) => match self.pending.remove(&ack.client_ref) {
                Some(Pending::Room { room, body, action }) => {
                    self.memory.saw(&room, ack.seq);
                    Event::Message {
                        room,
                        sender: me,
                        body,
                        time: ack.time,
                        seq: ack.seq,
                        own: true,
                        history: false,
                        action,
                    }
                }
                Some(Pending::Direct { to, body, action }) => Event::Direct {
                    from: me,
                    to,
                    body,
                    time: ack.time,
                    own: true,
                    history: false,
                    action,
                },
                None => return,
            },
            Frame::DirectMessage(dm) => Event::Direct {
                own: dm.from.as_str() == me,
                from: dm.from.to_string(),
                to: dm.to.to_string(),
                body: dm.body.to_string(),
                time: dm.time,
                history: dm.flags & confab_protocol::frame::DirectMessage::HISTORY != 0,
                action: dm.flags & confab_protocol::frame::DirectMessage::ACTION != 0,
            },
            Frame::Joined(joined) => {
                let room = joined.room.to_string();
                if !self.memory.rooms.iter().any(|(r, _)| *r == room) {
                    self.memory
                        .rooms
                        .push((room.clone(), joined.next_seq.saturating_sub(1)));
                }
                Event::Joined {
                    room,
                    members: joined.members,
                }
            }
            Frame::Left(left) => {
                self.memory.rooms.retain(|(r, _)| r != left.room.as_str());
                Event::Left {
                    room: left.room.to_string(),
                }
            }
            Frame::RoomList(list) => {
                self.rooms_page
                    .extend(list.rooms.iter().map(|r| (r.name.to_string(), r.members)));
                if list.flags & confab_protocol::frame::RoomList::MORE != 0 {
                    return;
                }
                Event::Rooms(std::mem::take(&mut self.rooms_page))
            }
            Frame::WhoList(list) => {
                self.who_page
                    .extend(list.users.iter().map(|u| u.to_string()));
                if list.flags & confab_protocol::frame::WhoList::MORE != 0 {
                    return;
                }
                Event::Who {
                    room: list.room.to_string(),
                    users: std::mem::take(&mut self.who_page),
                }
            }
            Frame::Presence(p) => Event::Presence {
                room: p.room.to_string(),
                user: p.username.to_string(),
                event: p.event,
                time: p.time,
            },
            Frame::HistoryEnd(end) => Event::HistoryEnd {
                target: end.target.to_string(),
                count: end.count,
                more: end.flags & confab_protocol::frame::HistoryEnd::MORE != 0,
            },
            Frame::Missed(missed) => {
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
            Frame::Notice(notice) => Event::Notice {
                text: notice.text.to_string(),
            },
            Frame::ErrorFrame(error) => {
                let about = match self.pending.remove(&error.client_ref) {
                    Some(Pending::Room { room, .. }) => format!("message to {room} not sent: "),
                    Some(Pending::Direct { to, .. }) => format!("message to {to} not sent: "),
                    None => String::new(),
                };
                Event::Error {
                    text: format!("{about}{} ({})", error.message, error.code),
                }
            }
            _ => return,
        };
        self.emit(event).await;
    }
}
