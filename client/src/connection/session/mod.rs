//! One connection's session: the handshake and the loop that feeds frames and
//! commands to their handlers (`events.rs`, `commands.rs`, `sending.rs`).

use std::time::Duration;

use confab_protocol::frame::{Frame, Greeting, Hello};
use confab_protocol::session::{ClientAction, ClientSession};
use confab_protocol::{CodecError, ErrorCode, FrameCodec, Str8, GREETING_MAX_FRAME};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::commands::send_join;
use super::pacer::Pacer;
use super::{Memory, Options, Outcome, ServerStream, Wire};
use crate::command::Command;
use crate::event::Event;

pub(super) struct Session<'a> {
    pub(super) options: &'a Options,
    pub(super) memory: &'a mut Memory,
    pub(super) events: &'a mpsc::Sender<Event>,
    pub(super) protocol: ClientSession,
    pub(super) next_ref: u32,
    /// Paces messages under the server's rate limits, from its GREETING on.
    pub(super) pacer: Option<Pacer>,
    /// After a RATE_LIMITED: nothing is sent before this instant.
    pub(super) paused_until: Option<Instant>,
    /// Rooms rejoined on this connection whose replay has not ended yet.
    pub(super) rejoining: Vec<String>,
    pub(super) logged_in: bool,
    pub(super) awaiting_name: bool,
    /// A LOGIN was sent on this connection: a TOO_MANY_ATTEMPTS is about
    /// names we tried, and worth a fresh connection (never a loop).
    pub(super) tried_login: bool,
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
            next_ref: 0,
            pacer: None,
            paused_until: None,
            rejoining: Vec::new(),
            logged_in: false,
            awaiting_name: false,
            tried_login: false,
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
        if self.memory.finishing {
            self.memory.start_drain_clock(self.options.drain_timeout);
        }
        let mut last_heard = Instant::now();
        loop {
            if self.memory.finishing && self.memory.outbox.is_empty() {
                return self.quit(&mut framed).await;
            }
            let next_send = match self.pump(&mut framed).await {
                Ok(at) => at,
                Err(e) => return Outcome::Lost(format!("connection failed: {e}")),
            };
            self.memory.report_queue(self.events);
            let owed = self.memory.report_owed();
            let take_commands = !self.memory.finishing && self.memory.outbox.has_room();
            let give_up = self.memory.drain_deadline.filter(|_| self.memory.finishing);
            let far = Instant::now() + Duration::from_secs(3600);
            tokio::select! {
                _ = tokio::time::sleep_until(next_send.unwrap_or(far)), if next_send.is_some() => {}
                _ = tokio::time::sleep(super::REPORT_RETRY), if owed => {}
                _ = tokio::time::sleep_until(give_up.unwrap_or(far)), if give_up.is_some() => {
                    return Outcome::Fatal("the server does not acknowledge our messages".into());
                }
                _ = tokio::time::sleep_until(last_heard + self.silence_limit) => {
                    return Outcome::Lost("the server stopped answering".into());
                }
                received = framed.next() => {
                    last_heard = Instant::now();
                    let frame = match received {
                        None => return Outcome::Lost("the server closed the connection".into()),
                        Some(Err(CodecError::Decode(e))) => {
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
                        Some(Err(e)) => return Outcome::Lost(format!("connection failed: {e}")),
                        Some(Ok(frame)) => frame,
                    };
                    if let Some(outcome) = self.on_frame(frame, &mut framed).await {
                        return outcome;
                    }
                }
                command = commands.recv(), if take_commands => {
                    let command = command.unwrap_or(Command::Quit);
                    if command == Command::Quit {
                        // Deliver what is queued first; the loop's head says goodbye.
                        self.memory.finishing = true;
                        self.memory.start_drain_clock(self.options.drain_timeout);
                        continue;
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
            // spec: LIMITS-1 — informational: this client uses no limit of
            // the registry, so it takes LIMITS and goes on.
            ClientAction::Nothing | ClientAction::Ignored(_) | ClientAction::Limits(_) => {}
            ClientAction::Reply(reply) => {
                if let Err(e) = framed.send(reply).await {
                    return Some(Outcome::Lost(format!("connection failed: {e}")));
                }
            }
            ClientAction::Greeted(greeting) => {
                self.actions = greeting.flags & Greeting::ACTIONS != 0;
                framed.codec_mut().set_max_frame(self.protocol.max_frame());
                let limits = &greeting.limits;
                self.pacer = Some(Pacer::new(limits));
                self.memory.max_body = Some(usize::from(limits.max_body));
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
                        // After TOO_MANY_ATTEMPTS: why the last name was refused.
                        let rejected = self.memory.refused.take().map(|reason| {
                            format!(
                                "{reason} (that was the last attempt the server allowed; \
                                 connected again, {} more)",
                                greeting.limits.login_attempts
                            )
                        });
                        self.emit(Event::NameRequired {
                            prompt: greeting.prompt.to_string(),
                            rejected,
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
                // Messages in doubt from the last connection: a room's replay
                // settles them; any other goes again.
                let replayed: Vec<String> = rooms
                    .iter()
                    .filter(|(room, last_seq)| {
                        *last_seq > 0 || self.memory.outbox.uncertain_in(room)
                    })
                    .map(|(room, _)| room.clone())
                    .collect();
                self.memory.outbox.resend_unless_in(&replayed);
                for (room, last_seq) in rooms {
                    let history = if replayed.contains(&room) {
                        self.rejoining.push(room.clone());
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
                let what = if rejected.code == ErrorCode::AUTH_FAILED {
                    "Try again"
                } else {
                    "Choose another name"
                };
                let left = rejected.attempts_left;
                if left == 0 && self.options.prompt_again {
                    // The server closes the connection now (TOO_MANY_ATTEMPTS):
                    // the prompt waits for the next connection.
                    self.awaiting_name = false;
                    self.memory.refused = Some(crate::format::sanitize(&rejected.message));
                    return None;
                }
                let attempts = if left == 1 { "attempt" } else { "attempts" };
                // The count goes with the prompt: a client that will not ask
                // again (plain mode with --name) shows only the reason. With
                // no attempt left there is no prompt (empty): the server
                // closes the connection (TOO_MANY_ATTEMPTS).
                let prompt = if left == 0 {
                    String::new()
                } else {
                    format!("{what} ({left} {attempts} left)")
                };
                self.emit(Event::NameRequired {
                    prompt,
                    rejected: Some(crate::format::sanitize(&rejected.message)),
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
                if closed.reason == ErrorCode::HANDSHAKE_TIMEOUT && self.options.prompt_again {
                    // A person at the prompt may take longer than the server
                    // waits: nothing is lost, the next name connects again.
                    self.memory.name = None;
                    self.memory.account = None;
                    return Some(Outcome::PromptIdle {
                        reason: "no name was entered within the server's time limit".into(),
                        asked: self.awaiting_name,
                    });
                }
                if closed.reason == ErrorCode::TOO_MANY_ATTEMPTS
                    && self.options.prompt_again
                    && self.tried_login
                {
                    self.memory.name = None;
                    self.memory.account = None;
                    self.memory.refused.get_or_insert(reason);
                    return Some(Outcome::PromptAgain);
                }
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
}
