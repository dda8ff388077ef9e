//! The client's connection task: it connects, logs in through the protocol
//! crate's `ClientSession`, turns frames into [`Event`]s and [`Command`]s into
//! frames, and reconnects with backoff, rejoining its rooms from where it
//! left off (`JOIN since_seq`, `[ROOM-3]`).

mod outbox;
mod pacer;
mod reconnect;
mod session;

use std::time::Duration;

use confab_protocol::FrameCodec;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use crate::command::{Account, Command};
use crate::event::{Event, Target};
use outbox::Outbox;

pub use outbox::{MAX_BYTES as QUEUE_MAX_BYTES, MAX_MESSAGES as QUEUE_MAX_MESSAGES};

/// Reconnection delays: doubling from `initial` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

#[derive(Clone)]
pub struct Options {
    /// `host:port` of the server, or of each node of a cluster (at least
    /// one): connected to in turn, from the first, moving on to the next
    /// whenever a connection is lost (`[CLUSTER-4]`).
    pub addrs: Vec<String>,
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
    /// After `Command::Quit`, how long to keep trying to deliver queued
    /// messages while the server cannot be reached (or does not answer).
    pub drain_timeout: Duration,
    /// Names are typed at a prompt by a person (the terminal UI): when the
    /// server ends the connection with `TOO_MANY_ATTEMPTS`, connect again
    /// (fresh attempts) and ask again, saying why, instead of ending the
    /// session; when the server's handshake time runs out at the prompt,
    /// connect again with the name entered next. Off for plain mode, where a
    /// refused `--name` ends it (exit 3).
    pub prompt_again: bool,
}

/// Any byte stream to the server: TCP, or TLS over TCP.
pub trait ServerStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> ServerStream for S {}

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
    tokio::spawn(reconnect::run(options, command_rx, event_tx));
    Handle {
        commands: command_tx,
        events: event_rx,
    }
}

/// How soon an owed queue report is tried again.
const REPORT_RETRY: Duration = Duration::from_millis(50);

/// How long to wait for the server to close after our GOODBYE.
const QUIT_GRACE: Duration = Duration::from_secs(3);

/// What survives a reconnect.
struct Memory {
    name: Option<String>,
    account: Option<Account>,
    /// Joined rooms and the last sequence number seen in each.
    rooms: Vec<(String, u64)>,
    extra_rooms: Vec<String>,
    logged_in_once: bool,
    /// Messages not yet acknowledged, across connections.
    outbox: Outbox,
    /// The queue length last reported with `Event::Outgoing`.
    reported: (usize, u64),
    /// `Command::Quit` came: take no more commands, deliver the queue, leave.
    finishing: bool,
    /// While finishing: give up on the queue at this instant unless the
    /// server acknowledges something first.
    drain_deadline: Option<Instant>,
    /// The largest body the server takes (from its GREETING).
    max_body: Option<usize>,
    /// Per room (lower case), the oldest `seq` replayed or fetched so far:
    /// the next `/history` pages back from there.
    oldest_fetched: std::collections::HashMap<String, u64>,
    /// With `Options::prompt_again`: why the last name was refused when the
    /// server closed the connection over it; said with the next prompt.
    refused: Option<String>,
}

impl Memory {
    fn saw(&mut self, room: &str, seq: u64) {
        if let Some(entry) = self.rooms.iter_mut().find(|(r, _)| r == room) {
            entry.1 = entry.1.max(seq);
        }
    }

    /// A replayed or fetched message of `room`.
    fn fetched(&mut self, room: &str, seq: u64) {
        let oldest = self
            .oldest_fetched
            .entry(room.to_lowercase())
            .or_insert(seq);
        *oldest = (*oldest).min(seq);
    }

    /// Where the next `/history` of `room` starts: before the oldest message
    /// fetched so far, or from the newest (0) the first time.
    fn history_anchor(&self, room: &str) -> u64 {
        self.oldest_fetched
            .get(&room.to_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// Sends `Event::Outgoing` if the queue changed since the last one. It
    /// never waits: when the user interface is behind, the report is owed
    /// (see `report_owed`) and a later one carries the figures of then, so
    /// a busy queue cannot fill the event channel with its reports.
    fn report_queue(&mut self, events: &mpsc::Sender<Event>) {
        let now = (self.outbox.len(), self.outbox.oldest());
        if now == self.reported {
            return;
        }
        let event = Event::Outgoing {
            queued: now.0,
            oldest: now.1,
        };
        if events.try_send(event).is_ok() {
            self.reported = now;
        }
    }

    /// A change of the queue is not reported yet.
    fn report_owed(&self) -> bool {
        (self.outbox.len(), self.outbox.oldest()) != self.reported
    }

    /// Queues a room or direct message, or says why it cannot go.
    fn enqueue(&mut self, target: Target, body: String, action: bool) -> Option<Event> {
        let n = self.outbox.number();
        let limit = self.max_body.unwrap_or(usize::from(u16::MAX));
        if body.len() > limit {
            return Some(Event::NotSent {
                n,
                target,
                reason: format!(
                    "message too long ({} bytes; the server takes {limit})",
                    body.len()
                ),
                body,
            });
        }
        self.outbox.push(n, target, body, action);
        None
    }

    /// Finishing, and the drain deadline is not set yet: it starts now.
    fn start_drain_clock(&mut self, timeout: Duration) {
        if self.finishing && self.drain_deadline.is_none() {
            self.drain_deadline = Some(Instant::now() + timeout);
        }
    }

    /// Why the client gives up with messages still queued.
    fn undelivered(&self, why: &str) -> String {
        let n = self.outbox.len();
        if n == 0 {
            return why.to_string();
        }
        let messages = if n == 1 { "message" } else { "messages" };
        format!("{why}; {n} {messages} not delivered")
    }
}

enum Outcome {
    Quit,
    /// The connection was lost; worth reconnecting.
    Lost(String),
    /// The node (GREETING's `server`) ended the connection with
    /// `NODE_LEAVING`: reconnect at once to another node (`[CLUSTER-4]`).
    Leaving {
        node: String,
        reason: String,
    },
    /// The session cannot go on; do not reconnect.
    Fatal(String),
    /// Too many names were refused at the prompt: connect again at once
    /// and ask again (`Options::prompt_again`).
    PromptAgain,
    /// No name came within the server's handshake time: connect again once
    /// the user enters one (`Options::prompt_again`). `asked`: the prompt is
    /// still up (no login was on its way).
    PromptIdle {
        reason: String,
        asked: bool,
    },
}

/// An I/O error, short: "connection refused" rather than
/// "Connection refused (os error 111)".
pub fn describe_io(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::TimedOut => "timed out".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        _ => {
            let text = error.to_string();
            match text.split_once(" (os error") {
                Some((words, _)) => words.to_string(),
                None => text,
            }
        }
    }
}
