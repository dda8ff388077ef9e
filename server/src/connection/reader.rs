//! The reading side of a connection: bytes → frames → session → handlers.
//! The session decides the handshake deadline and keepalive (spec sections
//! 7 and 12); this only sleeps until the instant it names.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use confab_protocol::frame::{ErrorFrame, Frame};
use confab_protocol::session::ServerAction;
use confab_protocol::ErrorCode;
use tokio::io::AsyncReadExt;
use tokio::time::{sleep_until, Instant};
use tracing::{debug, error, warn};

use super::arrival::Arrival;
pub use super::ending::Ended;
use super::ending::{closed, say_goodbye};
use super::lifecycle::Lifecycle;
use super::{batch, cost, ConnState};
use crate::handlers;
use crate::shared::Shared;
use crate::transport::ReadHalf;

/// Frames handled before the task yields, so one busy client cannot hold a
/// worker thread while others wait (`[FLOW-4]`).
const FRAMES_PER_TURN: usize = 64;
const _: () = assert!(
    256 % FRAMES_PER_TURN == 0,
    "the frame count is a wrapping u8"
);

/// Read buffer growth step; the buffer never holds more than one header plus
/// `max_frame` beyond what was read in one call (`[LIMIT-2]`). It is reserved
/// only when bytes are waiting: an idle connection holds no read buffer.
const READ_CHUNK: usize = 4096;

/// Whether the connection has left `Open`, which ends the reader.
fn stopped(state: &ConnState) -> Option<Ended> {
    match state.peer.outbox.lifecycle() {
        Lifecycle::Open => None,
        other => Some(Ended::Stopped(other)),
    }
}

/// When the session's next timer is due; a closed session has none, and
/// its reader is about to end.
fn next_timer(state: &ConnState, armed: Instant) -> Instant {
    state
        .session
        .poll_timeout()
        .map_or(armed, Instant::from_std)
}

/// Reads and handles frames until the connection is to end, then takes
/// the member out of the server and closes the outbox.
///
/// One `async` block rather than an `async fn` (which would keep its
/// arguments twice) and no caller's block around it (which would keep
/// them once more): every idle connection's future holds this one.
// An `async fn` would keep its arguments twice: see above.
#[allow(clippy::manual_async_fn)]
pub fn run<'a, R: ReadHalf + 'a>(
    mut read_half: R,
    state: &'a mut ConnState,
    shared: &'a Shared,
) -> impl Future<Output = ()> + 'a {
    async move {
        let ended = {
            // Armed lazily: a frame received pushes the session's deadline later
            // without touching the timer, which on firing early asks the session
            // again. Only a deadline brought forward re-arms it at once.
            let timer = sleep_until(next_timer(state, Instant::now()));
            tokio::pin!(timer);
            // Made once, and cheap to poll (see `closing`); `Unpin`, so not
            // pinned here (a pinned local costs a reference more).
            let mut shutting_down = shared.services.closing.wait();
            let mut buf = BytesMut::new();

            'reading: loop {
                // A `u8`, wrapping: only its remainder by `FRAMES_PER_TURN`
                // (a divisor of 256) counts, and it shares a word with others.
                let mut handled: u8 = 0;
                loop {
                    // The handler is awaited outside the `match`, which would keep
                    // the whole `Step` across the wait.
                    let waited = {
                        let handler = match next_frame(state, &mut buf) {
                            Step::Handled => None,
                            Step::Async(handler) => Some(handler),
                            Step::End(ended) => {
                                batch::flush();
                                break 'reading ended;
                            }
                            Step::NeedBytes => break,
                        };
                        match handler {
                            Some(handler) => {
                                // Nothing published together waits with it.
                                batch::flush();
                                Some(handler.await)
                            }
                            None => None,
                        }
                    };
                    match waited {
                        Some(Some(ended)) => break 'reading ended,
                        // What is still buffered is taken up only now.
                        Some(None) => state.received_at = Arrival::at(Instant::now().into_std()),
                        None => {}
                    }
                    handled = handled.wrapping_add(1);
                    // One request can queue hundreds of answers (HISTORY): let the
                    // writer, in this task, take them before the next, or a client
                    // that pipelines requests, and reads, would overflow its own
                    // queue (`[FLOW-3]`).
                    if usize::from(handled) % FRAMES_PER_TURN == 0
                        || state.peer.outbox.is_backlogged()
                    {
                        batch::flush();
                        tokio::task::yield_now().await;
                    }
                }
                // Whatever was read is handled: the messages sent together
                // go out before the task waits for more.
                batch::flush();
                // HELLO starts keepalive (`[KEEPALIVE-2]`), which may fall due
                // before the handshake deadline the timer was armed for.
                {
                    let next = next_timer(state, timer.deadline());
                    if next < timer.deadline() {
                        timer.as_mut().reset(next);
                    }
                }
                if buf.is_empty() {
                    // Decoded frames hold their own handles on the bytes; between
                    // frames the connection needs no buffer until more arrive.
                    buf = BytesMut::new();
                }

                // What `tokio::select!` (biased) would do, by hand: its futures
                // and their bookkeeping took 24 bytes more of every idle
                // connection's future than these five references.
                let woke = std::future::poll_fn(|cx| {
                    // A sender overflowed the queue, or the writer, in this task,
                    // ended the output: each transition wakes the task.
                    if let Poll::Ready(lifecycle) = state.peer.outbox.poll_stopped(cx) {
                        return Poll::Ready(Woke::Stopped(lifecycle));
                    }
                    if Pin::new(&mut shutting_down).poll(cx).is_ready() {
                        return Poll::Ready(Woke::ShuttingDown);
                    }
                    if let Poll::Ready(read) = poll_read_more(&mut read_half, &mut buf, cx) {
                        return Poll::Ready(Woke::Read(read));
                    }
                    if timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Woke::Timer);
                    }
                    Poll::Pending
                })
                .await;
                match woke {
                    Woke::Stopped(lifecycle) => break 'reading Ended::Stopped(lifecycle),
                    Woke::ShuttingDown => break 'reading Box::pin(say_goodbye(state)).await,
                    Woke::Read(read) => match read {
                        Ok(0) if buf.is_empty() => break 'reading Ended::PeerClosed,
                        // spec: FRAMING-6 — a partial frame at EOF is discarded.
                        Ok(0) => break 'reading Ended::PeerVanishedMidFrame(buf.len()),
                        Ok(n) => {
                            shared.services.metrics.bytes_in.inc_by(n as u64);
                            state.received_at = Arrival::at(Instant::now().into_std());
                        }
                        Err(e) => break 'reading Ended::Io(e),
                    },
                    Woke::Timer => {
                        // spec: HANDSHAKE-8, KEEPALIVE-2 — the session decides.
                        match state.session.handle_timeout(Instant::now().into_std()) {
                            ServerAction::Reply(ping) => {
                                debug!(conn = state.peer.id, "idle: sending PING");
                                state.peer.send(ping);
                            }
                            ServerAction::CloseWith(last) => {
                                state.peer.close_with(last);
                                break 'reading Ended::Stopped(state.peer.outbox.lifecycle());
                            }
                            _ => {}
                        }
                        let next = next_timer(state, timer.deadline());
                        timer.as_mut().reset(next);
                    }
                }
            }
        };
        // Boxed: inline, the closing steps' timer would size every idle
        // connection's future (the loop's timer cannot share its room).
        Box::pin(closed(state, ended)).await;
    }
}

/// What woke a reader waiting for input.
enum Woke {
    Stopped(Lifecycle),
    ShuttingDown,
    Read(std::io::Result<usize>),
    Timer,
}

/// Reads more bytes into `buf`. Without a partial frame to complete it waits
/// for bytes before reserving room for them. Cancel-safe, like `read_buf`.
fn poll_read_more<R: ReadHalf>(
    read_half: &mut R,
    buf: &mut BytesMut,
    cx: &mut Context<'_>,
) -> Poll<std::io::Result<usize>> {
    loop {
        let idle = buf.capacity() == 0;
        if idle {
            std::task::ready!(read_half.poll_readable(cx))?;
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        // `read_buf` keeps no state between polls: a fresh one each time.
        let read = std::pin::pin!(read_half.read_buf(buf)).poll(cx);
        if idle && R::EXACT_READINESS && read.is_pending() {
            // The readiness outlived the bytes (a read that exactly filled
            // the last buffer leaves it set); this `Pending` cleared it.
            // Wait again, holding no buffer.
            *buf = BytesMut::new();
            continue;
        }
        return read;
    }
}

/// What to do after looking at the buffered input.
enum Step<'a> {
    /// A frame was handled.
    Handled,
    /// A frame's handler must wait (for the store, a login delay...). Boxed:
    /// inline, the largest handler would size the state every idle
    /// connection keeps while it waits for input.
    /// It resolves to why the connection is to end, if it is.
    Async(Pin<Box<dyn Future<Output = Option<Ended>> + Send + 'a>>),
    /// The connection is to end.
    End(Ended),
    /// No whole frame is buffered.
    NeedBytes,
}

/// Decodes and handles the next buffered frame, if there is one. Synchronous,
/// so no frame is kept in the reader's state across a wait.
fn next_frame<'a>(state: &'a mut ConnState, buf: &mut BytesMut) -> Step<'a> {
    let max_frame = state.shared.services.limits.max_frame;
    let frame = match state
        .session
        .decode(buf, max_frame, state.received_at.instant())
    {
        Ok(Some(frame)) => frame,
        Ok(None) => return Step::NeedBytes,
        Err(error) => {
            // spec: ERROR-3 — answer, then read nothing more.
            if state.member.is_some() {
                warn!(conn = state.peer.id, peer = %state.peer.addr, code = %error.code(), "undecodable input: {error}");
            } else {
                // Before login it is mostly scanners: not worth a line each.
                debug!(conn = state.peer.id, peer = %state.peer.addr, code = %error.code(), "undecodable input: {error}");
            }
            return Step::Async(Box::pin(async move {
                // spec: ORDER-1 — the owed ACKs go first.
                state.peer.unacked.settled().await;
                let last = state.session.decode_failed(&error);
                state.peer.close_with(last);
                stopped(state)
            }));
        }
    };
    if state.peer.unacked.any() && !cost::answered_later(state, &frame) {
        // spec: ORDER-1 — this frame's answer, or the connection's last
        // frame, would overtake ACKs owed for stored messages: wait for them.
        return Step::Async(Box::pin(async move {
            state.peer.unacked.settled().await;
            match handle(state, frame) {
                Step::Async(handler) => handler.await,
                Step::End(ended) => Some(ended),
                Step::Handled | Step::NeedBytes => None,
            }
        }));
    }
    handle(state, frame)
}

/// Handles one decoded frame.
fn handle(state: &mut ConnState, frame: Frame) -> Step<'_> {
    if !matches!(frame, Frame::SendMessage(_) | Frame::SendAction(_)) {
        // Whatever this frame brings (JOINED, LEFT, a reply...) comes after
        // the messages before it.
        batch::flush();
    }
    if !cost::pay_for(state, &frame) {
        return stopped(state).map_or(Step::Handled, Step::End);
    }
    match state.session.handle(frame) {
        ServerAction::Nothing => {}
        ServerAction::Reply(reply) => {
            if let Frame::ErrorFrame(error) = &reply {
                debug!(
                    conn = state.peer.id,
                    "rejected frame {:#04x}: {}", error.frame_type, error.code
                );
            }
            state.peer.send(reply);
        }
        ServerAction::CloseWith(last) => {
            state.peer.close_with(last);
        }
        ServerAction::PeerClosed(closed) => {
            return Step::End(Ended::Goodbye(format!(
                "{}: {}",
                closed.reason, closed.message
            )));
        }
        ServerAction::PeerError(error) => {
            warn!(
                conn = state.peer.id,
                "client reported {}: {}", error.code, error.message
            );
        }
        ServerAction::Login(login) => {
            return Step::Async(Box::pin(async move {
                let ConnState {
                    shared,
                    session,
                    member,
                    auth_failures,
                    peer,
                    ..
                } = &mut *state;
                let (services, accounts) = (&shared.services, &shared.accounts);
                let login =
                    handlers::login(services, accounts, session, auth_failures, peer, login);
                if let Some(me) = login.await {
                    peer.admission.logged_in();
                    *member = Some(me);
                }
                stopped(state)
            }))
        }
        ServerAction::Request(request) => {
            let request = match &state.member {
                Some(me) => {
                    match handlers::dispatch_now(&state.shared, me, &mut state.peer, request) {
                        Some(request) => request,
                        None => return stopped(state).map_or(Step::Handled, Step::End),
                    }
                }
                None => request,
            };
            return Step::Async(Box::pin(async move {
                let (shared, peer) = (&*state.shared, &mut state.peer);
                match &state.member {
                    Some(me) => {
                        let (services, accounts) = (&shared.services, &shared.accounts);
                        handlers::dispatch(services, accounts, me, peer, request).await;
                    }
                    // The session hands out READY requests only after the
                    // login set the member (`[STATE-3]`): a broken promise
                    // ends this connection, not the server.
                    None => {
                        error!(
                            conn = peer.id,
                            "a request before login reached the handlers"
                        );
                        let message = "request before login";
                        peer.close_with(Frame::ErrorFrame(ErrorFrame::new(
                            ErrorCode::INTERNAL_ERROR,
                            0,
                            0,
                            message,
                        )));
                    }
                }
                stopped(state)
            }));
        }
    }
    stopped(state).map_or(Step::Handled, Step::End)
}

#[cfg(test)]
mod tests;
