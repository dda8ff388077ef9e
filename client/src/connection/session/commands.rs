//! Commands from the user interface turned into frames while connected, and the orderly quit.

use confab_protocol::frame::{
    Direction, Frame, History, HistoryKind, Join, Leave, ListRooms, Login, LoginMode, Who,
};
use confab_protocol::{CodecError, Str8};
use futures_util::{SinkExt, StreamExt};

use super::Session;
use crate::command::Command;
use crate::connection::{Outcome, Wire, QUIT_GRACE};
use crate::event::{Event, Target};

impl Session<'_> {
    pub(super) async fn on_command(
        &mut self,
        command: Command,
        framed: &mut Wire,
    ) -> Result<(), CodecError> {
        if let Command::Login { name, account } = &command {
            if self.protocol.login_owed() {
                self.memory.name = Some(name.clone());
                self.memory.account = account.clone();
                return self.send_login(name, framed).await;
            }
            self.emit(Event::Error {
                text: "already logged in".into(),
            })
            .await;
            return Ok(());
        }
        if !self.logged_in {
            // spec: CLUSTER-4 — logging in again (after a node left, the next
            // one at once): messages wait in the queue, as while disconnected,
            // and go after WELCOME; an action's fallback is the pump's.
            let again = self.memory.logged_in_once;
            match command {
                Command::Say { room, body } if again => {
                    self.queue_message(Target::Room(room), body, false).await;
                }
                Command::Direct { to, body } if again => {
                    self.queue_message(Target::User(to), body, false).await;
                }
                Command::Action { room, body } if again => {
                    self.queue_message(Target::Room(room), body, true).await;
                }
                Command::DirectAction { to, body } if again => {
                    self.queue_message(Target::User(to), body, true).await;
                }
                _ => {
                    self.emit(Event::Error {
                        text: "not logged in yet".into(),
                    })
                    .await;
                }
            }
            return Ok(());
        }
        let frame = match command {
            Command::Say { room, body } => {
                self.queue_message(Target::Room(room), body, false).await;
                return Ok(());
            }
            Command::Direct { to, body } => {
                self.queue_message(Target::User(to), body, false).await;
                return Ok(());
            }
            // spec: ACTION-1 — only to a server that relays actions.
            Command::Action { .. } | Command::DirectAction { .. }
                if !self.sending.relays_actions() =>
            {
                self.emit(Event::Error {
                    text: "this server does not relay /me actions; not sent".into(),
                })
                .await;
                return Ok(());
            }
            Command::Action { room, body } => {
                self.queue_message(Target::Room(room), body, true).await;
                return Ok(());
            }
            Command::DirectAction { to, body } => {
                self.queue_message(Target::User(to), body, true).await;
                return Ok(());
            }
            Command::Join { room } => {
                let since = self
                    .memory
                    .rooms
                    .iter()
                    .find(|(r, _)| *r == room)
                    .map_or(0, |(_, s)| *s);
                return send_join(framed, &room, since, self.options.join_history).await;
            }
            Command::Leave { room } => Frame::Leave(Leave {
                room: Str8::truncated(&room),
            }),
            Command::ListRooms => Frame::ListRooms(ListRooms {}),
            Command::Who { room } => Frame::Who(Who {
                room: Str8::truncated(room.as_deref().unwrap_or("")),
            }),
            Command::Members { room } => Frame::Who(Who {
                room: Str8::truncated(&room),
            }),
            Command::History { room, count } => Frame::History(History {
                kind: HistoryKind::Room,
                target: Str8::truncated(&room),
                direction: Direction::Before,
                // spec: HISTORY-1 — each /history pages further back.
                anchor: self.memory.history_anchor(&room),
                limit: count,
            }),
            Command::Moderate(request) => return self.send_moderate(request, framed).await,
            Command::Settings { room, change } => {
                return self.send_settings(room, change, framed).await
            }
            Command::Audit { room, count } => return self.send_audit(room, count, framed).await,
            Command::Login { .. } | Command::Quit => return Ok(()),
        };
        framed.send(frame).await
    }

    pub(super) async fn send_login(
        &mut self,
        name: &str,
        framed: &mut Wire,
    ) -> Result<(), CodecError> {
        let login = match &self.memory.account {
            None => Login::guest(Str8::truncated(name)),
            Some(account) => Login {
                mode: if account.register {
                    LoginMode::Register
                } else {
                    LoginMode::Login
                },
                username: Str8::truncated(name),
                password: Str8::truncated(&account.password),
            },
        };
        let login = self.protocol.login(login);
        framed.send(login).await
    }

    /// Says GOODBYE and waits (briefly) for the server to close (`[CLOSE-1]`).
    /// The queue is empty by now.
    pub(super) async fn quit(&mut self, framed: &mut Wire) -> Outcome {
        let goodbye = self.protocol.goodbye("bye");
        if framed.send(goodbye).await.is_ok() {
            // The server closes after our GOODBYE; anything it still sends is dropped.
            let _ = tokio::time::timeout(QUIT_GRACE, async {
                while let Some(Ok(_)) = framed.next().await {}
            })
            .await;
        }
        Outcome::Quit
    }
}

pub(super) async fn send_join(
    framed: &mut Wire,
    room: &str,
    since_seq: u64,
    history: u16,
) -> Result<(), CodecError> {
    framed
        .send(Frame::Join(Join {
            room: Str8::truncated(room),
            since_seq,
            history,
        }))
        .await
}
