//! One connection's session: the handshake, commands turned into frames, and
//! the orderly quit. Frames from the server become events in `events.rs`.

use std::collections::HashMap;
use std::time::Duration;

use confab_protocol::frame::{
    Direct, DirectAction, Direction, Frame, Greeting, Hello, History, HistoryKind, Join, Leave,
    ListRooms, Login, LoginMode, Send, SendAction, Who,
};
use confab_protocol::session::{ClientAction, ClientSession};
use confab_protocol::{CodecError, ErrorCode, FrameCodec, Str16, Str8, GREETING_MAX_FRAME};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use tokio_util::codec::Framed;

use super::{Memory, Options, Outcome, ServerStream, Wire, QUIT_GRACE};
use crate::command::Command;
use crate::event::Event;

/// A message waiting for its ACK.
pub(super) enum Pending {
    /// `action`: sent as SEND_ACTION (`[ACTION-1]`).
    Room {
        room: String,
        body: String,
        action: bool,
    },
    Direct {
        to: String,
        body: String,
        action: bool,
    },
}

pub(super) struct Session<'a> {
    pub(super) options: &'a Options,
    pub(super) memory: &'a mut Memory,
    pub(super) events: &'a mpsc::Sender<Event>,
    pub(super) protocol: ClientSession,
    pub(super) pending: HashMap<u32, Pending>,
    pub(super) next_ref: u32,
    pub(super) logged_in: bool,
    pub(super) awaiting_name: bool,
    /// Silence after which the server is presumed gone (`[KEEPALIVE-3]`).
    pub(super) silence_limit: Duration,
    pub(super) rooms_page: Vec<(String, u32)>,
    pub(super) who_page: Vec<String>,
    /// The server relays actions (GREETING flag `ACTIONS`, `[ACTION-1]`).
    pub(super) actions: bool,
}

impl<'a> Session<'a> {
    pub(super) fn new(
        options: &'a Options,
        memory: &'a mut Memory,
        events: &'a mpsc::Sender<Event>,
    ) -> Self {
        Session {
            options,
            memory,
            events,
            protocol: ClientSession::new(),
            pending: HashMap::new(),
            next_ref: 0,
            logged_in: false,
            awaiting_name: false,
            silence_limit: Duration::from_secs(60),
            rooms_page: Vec::new(),
            who_page: Vec::new(),
            actions: false,
        }
    }

    pub(super) async fn emit(&self, event: Event) {
        let _ = self.events.send(event).await;
    }

    pub(super) async fn run(
        &mut self,
        stream: Box<dyn ServerStream>,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Outcome {
        let mut framed = Framed::new(stream, FrameCodec::new(GREETING_MAX_FRAME));
        let client = Str8::truncated(concat!("confab/", env!("CARGO_PKG_VERSION")));
        // The client joins rooms itself, so a reconnect can resume each one (`[HANDSHAKE-7]`).
        let hello = self.protocol.hello(Hello::NO_AUTO_JOIN, client);
        if let Err(e) = framed.send(hello).await {
            return Outcome::Lost(format!("connection failed: {e}"));
        }
        loop {
            tokio::select! {
                received = timeout(self.silence_limit, framed.next()) => {
                    let frame = match received {
                        Err(_) => return Outcome::Lost("the server stopped answering".into()),
                        Ok(None) => return Outcome::Lost("the server closed the connection".into()),
                        Ok(Some(Err(CodecError::Decode(e)))) => {
                            // Garbage before any greeting is what a TLS server looks like to a plain client.
                            let greeted = self.protocol.state() != confab_protocol::session::ClientState::AwaitGreeting;
                            let hint = if self.options.tls.is_none() && !greeted {
                                " (if the server uses TLS, connect with --tls)"
                            } else {
                                ""
                            };
                            let error = self.protocol.decode_failed(&e);
                            let _ = framed.send(error).await;
                            return Outcome::Fatal(format!("the server sent bytes that are not Confab: {e}{hint}"));
                        }
                        Ok(Some(Err(e))) => return Outcome::Lost(format!("connection failed: {e}")),
                        Ok(Some(Ok(frame))) => frame,
                    };
                    if let Some(outcome) = self.on_frame(frame, &mut framed).await {
                        return outcome;
                    }
                }
                command = commands.recv() => {
                    let command = command.unwrap_or(Command::Quit);
                    if command == Command::Quit {
                        return self.quit(&mut framed).await;
                    }
                    if let Err(e) = self.on_command(command, &mut framed).await {
                        return Outcome::Lost(format!("connection failed: {e}"));
                    }
                }
            }
        }
    }

    async fn on_frame(&mut self, frame: Frame, framed: &mut Wire) -> Option<Outcome> {
        match self.protocol.handle(frame) {
            ClientAction::Nothing | ClientAction::Ignored(_) => {}
            ClientAction::Reply(reply) => {
                if let Err(e) = framed.send(reply).await {
                    return Some(Outcome::Lost(format!("connection failed: {e}")));
                }
            }
            ClientAction::Greeted(greeting) => {
                self.actions = greeting.flags & Greeting::ACTIONS != 0;
                framed.codec_mut().set_max_frame(self.protocol.max_frame());
                let limits = &greeting.limits;
                // spec: KEEPALIVE-3 — a live server pings within the interval
                // and waits the timeout for our answer; past both, with a
                // margin for the network, it is gone.
                self.silence_limit = Duration::from_millis(
                    u64::from(limits.ping_interval_ms) + u64::from(limits.ping_timeout_ms),
                ) + Duration::from_secs(1);
                if self.memory.rooms.is_empty() {
                    let mut rooms = vec![greeting.default_room.to_string()];
                    for room in &self.memory.extra_rooms {
                        if !rooms.contains(room) {
                            rooms.push(room.clone());
                        }
                    }
                    self.memory.rooms = rooms.into_iter().map(|r| (r, 0)).collect();
                }
                self.emit(Event::Connected {
                    addr: self.options.addr.clone(),
                    server: greeting.server.to_string(),
                })
                .await;
                match self.memory.name.clone() {
                    Some(name) => {
                        if let Err(e) = self.send_login(&name, framed).await {
                            return Some(Outcome::Lost(format!("connection failed: {e}")));
                        }
                    }
                    None => {
                        self.awaiting_name = true;
                        self.emit(Event::NameRequired {
                            prompt: greeting.prompt.to_string(),
                            rejected: None,
                        })
                        .await;
                    }
                }
            }
            ClientAction::Welcomed(welcome) => {
                self.logged_in = true;
                // Registered once: every later connection logs in.
                if let Some(account) = &mut self.memory.account {
                    account.register = false;
                }
                self.memory.logged_in_once = true;
                self.memory.name = Some(welcome.username.to_string());
                self.emit(Event::LoggedIn {
                    name: welcome.username.to_string(),
                })
                .await;
                let rooms = self.memory.rooms.clone();
                for (room, last_seq) in rooms {
                    let history = if last_seq > 0 {
                        u16::MAX
                    } else {
                        self.options.join_history
                    };
                    if let Err(e) = send_join(framed, &room, last_seq, history).await {
                        return Some(Outcome::Lost(format!("connection failed: {e}")));
                    }
                }
            }
            ClientAction::Rejected(rejected) => {
                self.memory.name = None;
                self.memory.account = None;
                self.awaiting_name = true;
                let reason = format!(
                    "{} ({} attempts left)",
                    crate::format::sanitize(&rejected.message),
                    rejected.attempts_left
                );
                self.emit(Event::NameRequired {
                    prompt: "Choose another name".into(),
                    rejected: Some(reason),
                })
                .await;
            }
            ClientAction::Event(frame) => self.on_event(frame, framed).await,
            ClientAction::CloseWith(last) => {
                let _ = framed.send(last).await;
                return Some(Outcome::Fatal(
                    "the server speaks an unsupported protocol version".into(),
                ));
            }
            ClientAction::PeerClosed(closed) => {
                let reason = format!(
                    "{}: {}",
                    closed.reason,
                    crate::format::sanitize(&closed.message)
                );
                return Some(match closed.reason {
                    ErrorCode::TOO_MANY_ATTEMPTS
                    | ErrorCode::UNSUPPORTED_VERSION
                    | ErrorCode::NOT_CONFAB
                    | ErrorCode::MALFORMED_FRAME
                    | ErrorCode::INVALID_UTF8
                    | ErrorCode::FRAME_TOO_LARGE => Outcome::Fatal(reason),
                    _ => Outcome::Lost(reason),
                });
            }
        }
        None
    }

    async fn on_command(&mut self, command: Command, framed: &mut Wire) -> Result<(), CodecError> {
        if let Command::Login { name, account } = &command {
            if self.awaiting_name {
                self.awaiting_name = false;
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
            self.emit(Event::Error {
                text: "not logged in yet".into(),
            })
            .await;
            return Ok(());
        }
        let frame = match command {
            Command::Say { room, body } => {
                let action = false;
                let message = Pending::Room { room, body, action };
                return self.send_message(message, framed).await;
            }
            Command::Direct { to, body } => {
                let action = false;
                let message = Pending::Direct { to, body, action };
                return self.send_message(message, framed).await;
            }
            // spec: ACTION-1 — only to a server that relays actions.
            Command::Action { .. } | Command::DirectAction { .. } if !self.actions => {
                self.emit(Event::Error {
                    text: "this server does not relay /me actions; not sent".into(),
                })
                .await;
                return Ok(());
            }
            Command::Action { room, body } => {
                let action = true;
                let message = Pending::Room { room, body, action };
                return self.send_message(message, framed).await;
            }
            Command::DirectAction { to, body } => {
                let action = true;
                let message = Pending::Direct { to, body, action };
                return self.send_message(message, framed).await;
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
            Command::History { room, count } => Frame::History(History {
                kind: HistoryKind::Room,
                target: Str8::truncated(&room),
                direction: Direction::Before,
                anchor: 0,
                limit: count,
            }),
            Command::Login { .. } | Command::Quit => return Ok(()),
        };
        framed.send(frame).await
    }

    /// Sends a room or direct message and remembers it until its ACK or ERROR.
    async fn send_message(
        &mut self,
        message: Pending,
        framed: &mut Wire,
    ) -> Result<(), CodecError> {
        let body = match &message {
            Pending::Room { body, .. } | Pending::Direct { body, .. } => body,
        };
        let Ok(text) = Str16::new(body) else {
            self.emit(Event::Error {
                text: "message too long".into(),
            })
            .await;
            return Ok(());
        };
        let client_ref = self.next_client_ref();
        let frame = match &message {
            Pending::Room {
                room, action: true, ..
            } => Frame::SendAction(SendAction {
                client_ref,
                room: Str8::truncated(room),
                body: text,
            }),
            Pending::Room { room, .. } => Frame::Send(Send {
                client_ref,
                room: Str8::truncated(room),
                body: text,
            }),
            Pending::Direct {
                to, action: true, ..
            } => Frame::DirectAction(DirectAction {
                client_ref,
                to: Str8::truncated(to),
                body: text,
            }),
            Pending::Direct { to, .. } => Frame::Direct(Direct {
                client_ref,
                to: Str8::truncated(to),
                body: text,
            }),
        };
        self.pending.insert(client_ref, message);
        framed.send(frame).await
    }

    fn next_client_ref(&mut self) -> u32 {
        self.next_ref = self.next_ref.wrapping_add(1).max(1);
        self.next_ref
    }

    async fn send_login(&mut self, name: &str, framed: &mut Wire) -> Result<(), CodecError> {
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

    /// Waits (briefly) for unacknowledged messages, says GOODBYE and waits for
    /// the server to close (`[CLOSE-1]`).
    async fn quit(&mut self, framed: &mut Wire) -> Outcome {
        let deadline = Instant::now() + QUIT_GRACE;
        while !self.pending.is_empty() {
            match tokio::time::timeout_at(deadline, framed.next()).await {
                Ok(Some(Ok(frame))) => {
                    if let Some(outcome) = self.on_frame(frame, framed).await {
                        return match outcome {
                            Outcome::Quit => Outcome::Quit,
                            Outcome::Lost(r) | Outcome::Fatal(r) => Outcome::Fatal(r),
                        };
                    }
                }
                _ => break,
            }
        }
        let goodbye = self.protocol.goodbye("bye");
        if framed.send(goodbye).await.is_ok() {
            // The server closes after our GOODBYE; anything it still sends is dropped.
            let _ = tokio::time::timeout_at(
                deadline.max(Instant::now() + Duration::from_millis(500)),
                async { while let Some(Ok(_)) = framed.next().await {} },
            )
            .await;
        }
        Outcome::Quit
    }
}

async fn send_join(
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
