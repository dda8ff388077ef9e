//! One connection's session: the loop that feeds frames and commands to
//! their handlers. The handlers live in the submodules, which alone see the
//! session's fields: the handshake (`handshake.rs`), the server's events
//! (`events.rs`), the user's commands (`commands.rs`), the send queue
//! (`sending.rs`) and moderation (`moderation.rs`).

mod commands;
mod events;
mod handshake;
mod moderation;
mod sending;

use std::time::Duration;

use confab_protocol::frame::Hello;
use confab_protocol::session::{ClientSession, ClientState};
use confab_protocol::{CodecError, FrameCodec, Str8, GREETING_MAX_FRAME};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::{Memory, Options, Outcome, ServerStream};
use crate::command::Command;
use crate::event::Event;

pub(super) struct Session<'a> {
    options: &'a Options,
    /// The address this connection went to (one of `options.addrs`).
    addr: &'a str,
    /// The node's name, from its GREETING (`[CLUSTER-2]`).
    node: String,
    memory: &'a mut Memory,
    events: &'a mpsc::Sender<Event>,
    /// The handshake's state, and whether a name is owed (`login_owed`).
    protocol: ClientSession,
    /// Numbering, pacing and pauses of the messages sent.
    sending: sending::Sending,
    /// Rooms rejoined on this connection whose replay has not ended yet.
    rejoining: Vec<String>,
    logged_in: bool,
    /// Silence after which the server is presumed gone (`[KEEPALIVE-3]`).
    silence_limit: Duration,
    /// Lists answered over several frames, gathered until the last.
    pages: events::Pages,
    /// Moderation requests waiting for answers, and rooms' settings.
    moderating: moderation::Moderating,
}

impl<'a> Session<'a> {
    pub(super) fn new(
        options: &'a Options,
        addr: &'a str,
        memory: &'a mut Memory,
        events: &'a mpsc::Sender<Event>,
    ) -> Self {
        Session {
            options,
            addr,
            node: addr.to_string(),
            memory,
            events,
            protocol: ClientSession::new(),
            sending: sending::Sending::default(),
            rejoining: Vec::new(),
            logged_in: false,
            silence_limit: Duration::from_secs(60),
            pages: events::Pages::default(),
            moderating: moderation::Moderating::default(),
        }
    }

    /// Whether this connection got as far as WELCOME.
    pub(super) fn logged_in(&self) -> bool {
        self.logged_in
    }

    async fn emit(&self, event: Event) {
        let _ = self.events.send(event).await;
    }

    pub(super) async fn run(
        &mut self,
        stream: Box<dyn ServerStream>,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Outcome {
        let mut framed = Framed::new(stream, FrameCodec::new(GREETING_MAX_FRAME));
        let client = Str8::truncated(concat!("confab/", env!("CARGO_PKG_VERSION")));
        // The client joins rooms itself, so a reconnect can resume each one
        // (`[HANDSHAKE-7]`); it understands the frames of moderation (`[MOD-2]`).
        let hello = self
            .protocol
            .hello(Hello::NO_AUTO_JOIN | Hello::MODERATION, client);
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
                            let greeted = self.protocol.state() != ClientState::AwaitGreeting;
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
}
