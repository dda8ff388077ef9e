//! One client connection: a reader and a writer, run together in one task,
//! joined by the bounded outbox, which also keeps the connection's
//! lifecycle (`lifecycle.rs`).

pub(crate) mod acks;
mod arrival;
pub(crate) mod batch;
mod cost;
mod ending;
mod lifecycle;
pub(crate) mod outbox;
mod reader;
mod writer;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::frame::{ErrorFrame, Frame};
use confab_protocol::session::{ServerSession, ServerTimers};
use confab_protocol::{ErrorCode, PROTOCOL_VERSION};
use tokio::io::AsyncReadExt;
use tracing::debug;

use crate::admission::Admission;
use crate::hub::{Member, Room};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::services::Services;
use crate::shared::Shared;
use crate::transport::{ReadHalf, Transport};
use outbox::Outbox;

/// How long a closing connection keeps reading (and discarding) so that the
/// peer gets our last frame before the socket is torn down: closing with
/// unread input makes the kernel send a reset, which can destroy it.
const LINGER: Duration = Duration::from_millis(1_000);

/// How long a long answer waits for its client to read some of it.
const PACING_PATIENCE: Duration = Duration::from_secs(5);

/// A connection's state, private to the connection: the session, the
/// member once logged in, the rate limiter, and what handlers work on (the
/// [`Peer`]), with the server's shared parts.
pub(crate) struct ConnState {
    shared: Arc<Shared>,
    session: ServerSession,
    /// Set once logged in; READY requests are handled with it.
    member: Option<Arc<Member>>,
    limiter: RateLimiter,
    /// Wrong passwords so far; each makes the next answer slower.
    auth_failures: u32,
    /// When the buffered input arrived, for the session's keepalive. Here,
    /// not in the reader's future, which every idle connection holds; in 8
    /// bytes, which keep this state at 224 (`arrival.rs`).
    received_at: arrival::Arrival,
    peer: Peer,
}

/// The connection's own data a request handler works on: who it is, where
/// its answers go, and the rooms it is in.
pub(crate) struct Peer {
    pub id: u64,
    pub addr: SocketAddr,
    pub outbox: Arc<Outbox>,
    /// Rooms this connection is in.
    pub rooms: Vec<Arc<Room>>,
    /// This connection's place in the server's connection counts.
    pub admission: Admission,
    /// ACKs owed for stored messages (`[ORDER-1]`).
    pub unacked: acks::LazyUnacked,
    /// Counts the frames sent (`/metrics`).
    pub metrics: Arc<Metrics>,
}

impl Peer {
    /// Queues a frame for this client. A full queue cuts the client off in the
    /// writer; nothing to do here.
    pub fn send(&self, frame: Frame) {
        // Messages published together go first: answers keep their order.
        batch::flush();
        self.metrics.frame_sent(&frame);
        let _ = self.outbox.push(frame.to_bytes());
    }

    /// A non-fatal ERROR about a request.
    pub fn reject(&self, code: ErrorCode, frame_type: u8, client_ref: u32, message: &str) {
        self.send(Frame::ErrorFrame(ErrorFrame::new(
            code, frame_type, client_ref, message,
        )));
    }

    /// Queues one part of a long answer (WHO, LIST_ROOMS, HISTORY) once the
    /// client has read enough of the previous ones (`[MEM-2]`): a client
    /// that reads none of it for `PACING_PATIENCE` (or `ping_timeout_ms`,
    /// if shorter) is a slow consumer. Its later requests (a GOODBYE too)
    /// wait meanwhile: requests are answered in order.
    pub async fn send_paced(&self, services: &Services, frame: Frame) {
        let patience =
            Duration::from_millis(u64::from(services.limits.ping_timeout_ms)).min(PACING_PATIENCE);
        tokio::select! {
            read = tokio::time::timeout(patience, self.outbox.paced()) => {
                if read.is_err() {
                    self.outbox.give_up();
                    return;
                }
            }
            // Shutting down: the reader says goodbye once this answer ends.
            _ = services.closing.wait() => return,
        }
        self.send(frame);
    }

    /// `reject`, after the ACKs owed for earlier messages (`[ORDER-1]`).
    pub async fn reject_in_order(
        &self,
        code: ErrorCode,
        frame_type: u8,
        client_ref: u32,
        message: &str,
    ) {
        self.unacked.settled().await;
        self.reject(code, frame_type, client_ref, message);
    }

    /// Queues the last frame and stops processing this connection (`Open`
    /// → `Closing` in `lifecycle.rs`).
    pub fn close_with(&self, last: Frame) {
        batch::flush();
        self.metrics.frame_sent(&last);
        self.outbox.close_with(closing_code(&last), last.to_bytes());
    }
}

/// The code a connection's last frame closes it with.
fn closing_code(last: &Frame) -> ErrorCode {
    match last {
        Frame::ErrorFrame(error) => error.code,
        Frame::Goodbye(goodbye) => goodbye.reason,
        _ => ErrorCode::NORMAL,
    }
}

/// Serves one accepted connection until it ends.
///
/// The setup is done before the returned future is first polled, so the
/// future keeps only what the connection needs while it lives: every idle
/// client holds one, and its size is the server's memory per connection.
pub(crate) fn serve<T: Transport>(
    mut stream: T,
    peer: SocketAddr,
    shared: Arc<Shared>,
    admission: Admission,
    accepted_at: tokio::time::Instant,
) -> impl Future<Output = ()> + Send {
    let id = shared.gate.next_conn_id();
    let services = &shared.services;
    let limits = &services.limits;
    let outbox = Arc::new(Outbox::new(Arc::clone(&services.queued)));
    // spec: HANDSHAKE-1, LIMITS-1 — the greeting is the first thing queued,
    // LIMITS the second, before anything is read.
    let _ = outbox.push(shared.gate.greeting.clone());
    let _ = outbox.push(shared.gate.limits_frame.clone());
    let writer_outbox = Arc::clone(&outbox);
    let timers = ServerTimers {
        // spec: HANDSHAKE-8 — counted from accept, TLS handshake included.
        // spec: LIMIT-4 — shorter for an address holding many handshakes.
        handshake_timeout: admission.handshake_timeout(),
        ..ServerTimers::from_limits(limits)
    };
    let closing_shared = Arc::clone(&shared);
    let metrics = Arc::clone(&shared.services.metrics);

    let mut state = Box::new(ConnState {
        session: ServerSession::new(
            PROTOCOL_VERSION,
            PROTOCOL_VERSION,
            limits.login_attempts,
            timers,
            accepted_at.into_std(),
        )
        // spec: MOD-1 — the GREETING sets MODERATION.
        .with_moderation(true),
        member: None,
        limiter: RateLimiter::new(limits),
        shared,
        auth_failures: 0,
        received_at: arrival::Arrival::at(accepted_at.into_std()),
        peer: Peer {
            id,
            addr: peer,
            outbox,
            rooms: Vec::new(),
            admission,
            unacked: Default::default(),
            metrics,
        },
    });
    debug!(conn = id, %peer, "accepted");
    // Reader and writer run in one task: every idle client holds one task,
    // and its size is most of the server's memory per connection.
    async move {
        // Borrowed halves: owned ones would share the stream through one
        // more allocation per connection.
        let (read_half, write_half) = stream.split_ref();
        // `futures`' `join` rather than `tokio::join!`, whose poll closure
        // and flags took 16 bytes more of every idle connection's future.
        futures_util::future::join(
            reader::run(read_half, &mut state, &closing_shared),
            writer::run(write_half, &writer_outbox, &closing_shared.services.metrics),
        )
        .await;
        // Split again, rather than kept across the join: a reference less.
        linger(stream.split_ref().0).await;
        drop(state);
    }
}

/// The writer has flushed and shut down its half; drain what the peer still
/// sends so our last frame is not destroyed by a reset.
async fn linger<R: ReadHalf>(mut read_half: R) {
    let mut sink = vec![0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(n) = read_half.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every idle client holds one connection future, which is most of the
    /// server's memory per connection (BENCHMARKS.md). Inline handler
    /// futures, or a frame kept across a wait, would make it grow severalfold.
    #[tokio::test]
    async fn the_connection_future_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (_client, (stream, peer)) = (client.unwrap(), accepted.unwrap());
        let shared = Arc::new(Shared::new(crate::Config::default(), None).unwrap());
        let admission = shared.gate.admit(peer.ip()).unwrap();
        let connection = serve(stream, peer, shared, admission, tokio::time::Instant::now());
        let size = std::mem::size_of_val(&connection);
        let state = std::mem::size_of::<ConnState>();
        eprintln!("connection future: {size} bytes, connection state: {state} bytes");
        // 784 bytes when written (debug and release alike), 896 later, 832
        // once the keepalive timers moved into the session, 872 with the
        // ORDER-1 and lifecycle work, 624 since the shutdown waiter's waker
        // lives in `Closing` and the reader's waits are plain poll functions,
        // 480 with borrowed stream halves, a hand-written `Closing::wait`,
        // no `async fn` keeping its arguments twice and the closing steps
        // boxed. tokio rounds a task (its own 112 bytes, 8 of the task
        // tracker's, and this future) up to 128 bytes: up to 528 it takes
        // 640 bytes, one byte more takes 768; at 400 it would take 512.
        // 8 KB of memory per idle connection came from a future of 4,320
        // plus a second task.
        const LIMIT: usize = 400;
        assert!(size <= LIMIT, "the connection future grew to {size} bytes");
        // Boxed apart from the future: at 224 bytes it takes jemalloc's
        // 224-byte size class (256 from 225 bytes).
        assert!(state <= 224, "the connection state grew to {state} bytes");
    }
}
