//! The client's connection task: it connects, logs in through the protocol
//! crate's `ClientSession`, turns frames into [`Event`]s and [`Command`]s into
//! frames, and reconnects with backoff, rejoining its rooms from where it
//! left off (`JOIN since_seq`, `[ROOM-3]`).

mod events;
mod session;

use std::time::Duration;

use confab_protocol::FrameCodec;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use crate::command::{Account, Command};
use crate::event::Event;
use session::Session;

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
    let goodbye = || Event::Closed {
        reason: "goodbye".into(),
        clean: true,
    };
    let lost = |reason| Event::Closed {
        reason,
        clean: false,
    };
    // Every way out of the reconnect loop ends in one Closed event.
    let closed = 'reconnect: loop {
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
            Outcome::Quit => break goodbye(),
            Outcome::Fatal(reason) => break lost(reason),
            Outcome::Lost(reason) => reason,
        };
        let Some(backoff) = options.reconnect.filter(|_| memory.logged_in_once) else {
            break lost(reason);
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
                    None | Some(Command::Quit) => break 'reconnect goodbye(),
                    Some(_) => {
                        let _ = events.send(Event::Error { text: "not connected; reconnecting".into() }).await;
                    }
                },
            }
        }
    };
    let _ = events.send(closed).await;
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
