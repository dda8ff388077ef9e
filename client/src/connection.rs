//! The client's connection task: it connects, logs in through the protocol
//! crate's `ClientSession`, turns frames into [`Event`]s and [`Command`]s into
//! frames, and reconnects with backoff, rejoining its rooms from where it
//! left off (`JOIN since_seq`, `[ROOM-3]`).

use std::collections::HashMap;
use std::time::Duration;

use confab_protocol::frame::{
    Direct, Direction, Frame, Hello, History, HistoryKind, Join, Leave, ListRooms, Login,
    LoginMode, Send, Who,
};
use confab_protocol::session::{ClientAction, ClientSession};
use confab_protocol::{CodecError, ErrorCode, FrameCodec, Str16, Str8, GREETING_MAX_FRAME};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use tokio_util::codec::Framed;

use crate::command::{Account, Command};
use crate::event::Event;

/// Reconnection delays: doubling from `initial` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

#[derive(Clone)]
pub struct Options {
    /// `host:port` of the server.
    pub addr: String,
    /// The name to log in with; asked for through `Event::NameRequired` when `None`.
    pub name: Option<String>,
    /// Log in to (or register) an account instead of as a guest.
    pub account: Option<Account>,
    /// Rooms to join besides the server's default room.
    pub rooms: Vec<String>,
    /// `None`: do not reconnect.
    pub reconnect: Option<Backoff>,
    /// Past messages replayed when first joining a room.
    pub join_history: u16,
    /// Speak TLS (`[TRANSPORT-2]`), trusting these roots.
    pub tls: Option<std::sync::Arc<tokio_rustls::TlsConnector>>,
}

/// Any byte stream to the server: TCP, or TLS over TCP.
pub trait ServerStream:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::marker::Send
{
}
impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::marker::Send> ServerStream
    for S
{
}

/// The framed connection to the server.
type Wire = Framed<Box<dyn ServerStream>, FrameCodec>;

/// The user interface's ends of the connection task.
pub struct Handle {
    pub commands: mpsc::Sender<Command>,
    pub events: mpsc::Receiver<Event>,
}

/// Starts the connection task on the current tokio runtime.
pub fn spawn(options: Options) -> Handle {
    let (command_tx, command_rx) = mpsc::channel(256);
    let (event_tx, event_rx) = mpsc::channel(1024);
    tokio::spawn(run(options, command_rx, event_tx));
    Handle {
        commands: command_tx,
        events: event_rx,
    }
}

/// How long `/quit` waits for unacknowledged messages and for the server to close.
const QUIT_GRACE: Duration = Duration::from_secs(3);

/// What survives a reconnect.
struct Memory {
    name: Option<String>,
    account: Option<Account>,
    /// Joined rooms and the last sequence number seen in each.
    rooms: Vec<(String, u64)>,
    extra_rooms: Vec<String>,
    logged_in_once: bool,
}

impl Memory {
    fn saw(&mut self, room: &str, seq: u64) {
        if let Some(entry) = self.rooms.iter_mut().find(|(r, _)| r == room) {
            entry.1 = entry.1.max(seq);
        }
    }
}

enum Outcome {
    Quit,
    /// The connection was lost; worth reconnecting.
    Lost(String),
    /// The session cannot go on; do not reconnect.
    Fatal(String),
}

async fn run(options: Options, mut commands: mpsc::Receiver<Command>, events: mpsc::Sender<Event>) {
    let mut memory = Memory {
        name: options.name.clone(),
        account: options.account.clone(),
        rooms: Vec::new(),
        extra_rooms: options.rooms.clone(),
        logged_in_once: false,
    };
    let mut attempt = 0u32;
    let mut failures = 0u32;
    loop {
        attempt += 1;
        let _ = events
            .send(Event::Connecting {
                addr: options.addr.clone(),
                attempt,
            })
            .await;
        let outcome = match open(&options).await {
            Ok(stream) => {
                let mut session = Session::new(&options, &mut memory, &events);
                let outcome = session.run(stream, &mut commands).await;
                if session.logged_in {
                    failures = 0;
                }
                outcome
            }
            Err(e) if !memory.logged_in_once => {
                Outcome::Fatal(format!("cannot connect to {}: {e}", options.addr))
            }
            Err(e) => Outcome::Lost(format!("cannot connect to {}: {e}", options.addr)),
        };
        let reason = match outcome {
            Outcome::Quit => {
                let _ = events
                    .send(Event::Closed {
                        reason: "goodbye".into(),
                        clean: true,
                    })
                    .await;
                return;
            }
            Outcome::Fatal(reason) => {
                let _ = events
                    .send(Event::Closed {
                        reason,
                        clean: false,
                    })
                    .await;
                return;
            }
            Outcome::Lost(reason) => reason,
        };
        let Some(backoff) = options.reconnect.filter(|_| memory.logged_in_once) else {
            let _ = events
                .send(Event::Closed {
                    reason,
                    clean: false,
                })
                .await;
            return;
        };
        let delay = backoff
            .initial
            .saturating_mul(1 << failures.min(16))
            .min(backoff.max);
        failures += 1;
        let _ = events
            .send(Event::Disconnected {
                reason,
                retry_in: Some(delay),
            })
            .await;
        let deadline = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                command = commands.recv() => match command {
                    None | Some(Command::Quit) => {
                        let _ = events.send(Event::Closed { reason: "goodbye".into(), clean: true }).await;
                        return;
                    }
                    Some(_) => {
                        let _ = events.send(Event::Error { text: "not connected; reconnecting".into() }).await;
                    }
                },
            }
        }
    }
}

/// A message waiting for its ACK.
enum Pending {
    Room { room: String, body: String },
    Direct { to: String, body: String },
}

struct Session<'a> {
    options: &'a Options,
    memory: &'a mut Memory,
    events: &'a mpsc::Sender<Event>,
    protocol: ClientSession,
    pending: HashMap<u32, Pending>,
    next_ref: u32,
    logged_in: bool,
    awaiting_name: bool,
    /// Silence after which the server is presumed gone (`[KEEPALIVE-3]`).
    silence_limit: Duration,
    rooms_page: Vec<(String, u32)>,
    who_page: Vec<String>,
}

impl<'a> Session<'a> {
    fn new(options: &'a Options, memory: &'a mut Memory, events: &'a mpsc::Sender<Event>) -> Self {
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
        }
    }

    async fn emit(&self, event: Event) {
        let _ = self.events.send(event).await;
    }

    async fn run(
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
                            let error = self.protocol.decode_failed(&e);
                            let _ = framed.send(error).await;
                            let hint = if self.options.tls.is_none() && self.protocol.state() == confab_protocol::session::ClientState::AwaitGreeting {
                                " (if the server uses TLS, connect with --tls)"
                            } else {
                                ""
                            };
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

    async fn on_event(&mut self, frame: Frame, framed: &mut Wire) {
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
                }
            }
            Frame::Ack(ack) => match self.pending.remove(&ack.client_ref) {
                Some(Pending::Room { room, body }) => {
                    self.memory.saw(&room, ack.seq);
                    Event::Message {
                        room,
                        sender: me,
                        body,
                        time: ack.time,
                        seq: ack.seq,
                        own: true,
                        history: false,
                    }
                }
                Some(Pending::Direct { to, body }) => Event::Direct {
                    from: me,
                    to,
                    body,
                    time: ack.time,
                    own: true,
                    history: false,
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
                let Ok(text) = Str16::new(&body) else {
                    self.emit(Event::Error {
                        text: "message too long".into(),
                    })
                    .await;
                    return Ok(());
                };
                let client_ref = self.next_client_ref();
                let frame = Frame::Send(Send {
                    client_ref,
                    room: Str8::truncated(&room),
                    body: text,
                });
                self.pending
                    .insert(client_ref, Pending::Room { room, body });
                frame
            }
            Command::Direct { to, body } => {
                let Ok(text) = Str16::new(&body) else {
                    self.emit(Event::Error {
                        text: "message too long".into(),
                    })
                    .await;
                    return Ok(());
                };
                let client_ref = self.next_client_ref();
                let frame = Frame::Direct(Direct {
                    client_ref,
                    to: Str8::truncated(&to),
                    body: text,
                });
                self.pending
                    .insert(client_ref, Pending::Direct { to, body });
                frame
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

/// TCP to the server, wrapped in TLS when asked for.
async fn open(options: &Options) -> std::io::Result<Box<dyn ServerStream>> {
    let stream = TcpStream::connect(&options.addr).await?;
    let _ = stream.set_nodelay(true);
    let Some(connector) = &options.tls else {
        return Ok(Box::new(stream));
    };
    let host = crate::tls::server_name(&options.addr)?;
    let tls = connector.connect(host, stream).await?;
    Ok(Box::new(tls))
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
