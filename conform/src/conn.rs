//! One client connection of a case: frames out through the protocol crate's
//! encoder, raw bytes out for malformed input, and every read bounded by the
//! run's per-read timeout so a silent server fails a case instead of hanging it.

use std::time::Duration;

use bytes::BytesMut;
use confab_protocol::frame::{self, ErrorFrame, Frame, Greeting, Ping, Pong};
use confab_protocol::{ErrorCode, GREETING_MAX_FRAME};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::ctx::Ctx;
pub use crate::got::{check_fatal_flag, describe, describe_error, fail_got, Expect, Got};
use crate::verdict::{ensure, fail, Check};

pub struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    /// The limit this client enforces: 4,096 until the GREETING, then the advertised one.
    max_frame: u32,
    pub timeout: Duration,
    /// Answer server PINGs without showing them to the case (`[KEEPALIVE-1]`).
    pub auto_pong: bool,
    next_nonce: u64,
    /// The LIMITS the server sent after its GREETING (1.1, `[LIMITS-1]`):
    /// kept here, not shown to the cases, as a client ignores what it does
    /// not use (`[LIMITS-3]`).
    pub limits: Option<frame::ServerLimits>,
}

impl Conn {
    /// A TCP connection to the server under test, nothing read yet.
    pub async fn open(ctx: &Ctx) -> Check<Conn> {
        Conn::open_with(ctx, None).await
    }

    /// As `open`, with a small kernel receive buffer so the server's frames
    /// back up quickly when the case stops reading.
    pub async fn open_with(ctx: &Ctx, recv_buffer: Option<u32>) -> Check<Conn> {
        let connect = async {
            let socket = if ctx.addr.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            if let Some(size) = recv_buffer {
                socket.set_recv_buffer_size(size)?;
            }
            socket.connect(ctx.addr).await
        };
        let stream = match tokio::time::timeout(ctx.timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => return Err(fail("TRANSPORT-1", "a TCP connection", err)),
            Err(_) => return Err(fail("TRANSPORT-1", "a TCP connection", "connect timed out")),
        };
        // Byte-at-a-time cases want each write to leave at once.
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(8192),
            max_frame: GREETING_MAX_FRAME,
            timeout: ctx.timeout,
            auto_pong: true,
            next_nonce: 0xC0F0_0000,
            limits: None,
        })
    }

    /// Opens and reads the GREETING (`[HANDSHAKE-1]`), then enforces its `max_frame`.
    pub async fn greeted(ctx: &Ctx) -> Check<(Conn, Greeting)> {
        let mut conn = Conn::open(ctx).await?;
        let greeting = conn.greeting().await?;
        Ok((conn, greeting))
    }

    /// Reads the GREETING on a fresh connection. A refusal over the server's
    /// connection limits (`[LIMIT-1]`) skips the case: it needs more
    /// connections than this server allows at once.
    pub async fn greeting(&mut self) -> Check<Greeting> {
        match self.next_frame("HANDSHAKE-1", "GREETING").await? {
            Frame::Greeting(greeting) => {
                self.max_frame = greeting.limits.max_frame;
                Ok(greeting)
            }
            Frame::ErrorFrame(e)
                if [ErrorCode::SERVER_FULL, ErrorCode::TOO_MANY_CONNECTIONS].contains(&e.code) =>
            {
                Err(crate::verdict::Stop::Skip(format!(
                    "the server refused a connection ({}, {:?}): needs a higher connection limit (or a smaller --jobs)",
                    e.code,
                    e.message.as_str()
                )))
            }
            other => Err(fail("HANDSHAKE-1", "GREETING", describe(&other))),
        }
    }

    pub fn set_max_frame(&mut self, max_frame: u32) {
        self.max_frame = max_frame;
    }

    pub async fn send(&mut self, frame: impl Into<Frame>) -> Check {
        let bytes = frame.into().to_bytes();
        self.send_raw(&bytes).await
    }

    /// Writes bytes as they are; a write refused because the server already
    /// closed is not a failure here, the next read reports what happened.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Check {
        match tokio::time::timeout(self.timeout, self.stream.write_all(bytes)).await {
            Ok(_) => Ok(()),
            Err(_) => Err(fail(
                "FLOW-4",
                "the server to keep reading",
                format!("a write blocked for {} ms", self.timeout.as_millis()),
            )),
        }
    }

    /// Says GOODBYE and reads (ignoring what comes) until the server has
    /// closed: the server is done with the connection when this returns, so
    /// it no longer counts toward any limit. Nothing is checked.
    pub async fn goodbye_and_wait(mut self) {
        let _ = self
            .send(frame::Goodbye {
                reason: ErrorCode::NORMAL,
                message: confab_protocol::Str16::empty(),
            })
            .await;
        while let Got::Frame(_) = self.next().await {}
    }

    /// Half-closes the connection: the server reads end of stream.
    pub async fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// The next thing the server sends, waiting at most `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Got {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match frame::decode(&mut self.buf, self.max_frame) {
                Ok(Some(Frame::Ping(Ping { nonce }))) if self.auto_pong => {
                    // spec: KEEPALIVE-1 — the client's side of a keepalive.
                    let _ = self.send(Pong { nonce }).await;
                    continue;
                }
                Ok(Some(Frame::ServerLimits(limits))) => {
                    self.limits = Some(limits);
                    continue;
                }
                Ok(Some(frame)) => return Got::Frame(frame),
                Ok(None) => {}
                Err(err) => return Got::Undecodable(err),
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf));
            match read.await {
                Err(_) => return Got::TimedOut(wait),
                Ok(Ok(0)) | Ok(Err(_)) => return Got::Closed,
                Ok(Ok(_)) => {}
            }
        }
    }

    pub async fn next(&mut self) -> Got {
        self.next_within(self.timeout).await
    }

    /// The next frame that is not a NOTICE (informational, may come at any time in READY).
    pub async fn next_frame(&mut self, clause: &'static str, expected: &str) -> Check<Frame> {
        loop {
            match self.next().await {
                Got::Frame(Frame::Notice(_)) => continue,
                Got::Frame(frame) => return Ok(frame),
                other => return Err(fail_got(clause, expected, other)),
            }
        }
    }

    /// The next frame, which must be a `T`.
    pub async fn expect<T: Expect>(&mut self, clause: &'static str) -> Check<T> {
        let frame = self.next_frame(clause, T::NAME).await?;
        T::take(frame).map_err(|other| fail(clause, T::NAME, describe(&other)))
    }

    /// The next frame, which must be ERROR `code`; its FATAL flag must match
    /// the registry (`[ERROR-1]`).
    pub async fn expect_error(
        &mut self,
        clause: &'static str,
        code: ErrorCode,
    ) -> Check<ErrorFrame> {
        let wanted = format!("ERROR {code}");
        let frame = self.next_frame(clause, &wanted).await?;
        let Frame::ErrorFrame(error) = frame else {
            return Err(fail(clause, wanted, describe(&frame)));
        };
        ensure(clause, error.code == code, &wanted, describe_error(&error))?;
        check_fatal_flag(&error)?;
        Ok(error)
    }

    /// ERROR `code` carrying `client_ref` (section 5.1: the SEND or DIRECT that caused it).
    pub async fn expect_error_ref(
        &mut self,
        clause: &'static str,
        code: ErrorCode,
        client_ref: u32,
    ) -> Check<ErrorFrame> {
        let error = self.expect_error(clause, code).await?;
        ensure(
            clause,
            error.client_ref == client_ref,
            format!("ERROR {code} with client_ref {client_ref}"),
            describe_error(&error),
        )?;
        Ok(error)
    }

    /// A fatal ERROR `code`, then nothing but the end of the connection
    /// (`[STATE-4]`, `[ERROR-3]`).
    pub async fn expect_fatal(
        &mut self,
        clause: &'static str,
        code: ErrorCode,
    ) -> Check<ErrorFrame> {
        let error = self.expect_error(clause, code).await?;
        self.expect_closed("STATE-4").await?;
        Ok(error)
    }

    /// The server closes the connection without sending another frame.
    pub async fn expect_closed(&mut self, clause: &'static str) -> Check {
        match self.next().await {
            Got::Closed => Ok(()),
            other => Err(fail_got(
                clause,
                "no further frame, then the connection closes",
                other,
            )),
        }
    }

    /// Sends PING and returns every frame the server sent before the PONG
    /// carrying its nonce: everything the server had to say about what came
    /// before (requests are answered in order, section 1).
    pub async fn barrier(&mut self, clause: &'static str) -> Check<Vec<Frame>> {
        self.next_nonce += 1;
        let nonce = self.next_nonce;
        self.send(Ping { nonce }).await?;
        let mut before = Vec::new();
        loop {
            match self.next().await {
                Got::Frame(Frame::Pong(pong)) if pong.nonce == nonce => return Ok(before),
                Got::Frame(Frame::Notice(_)) => {}
                Got::Frame(frame) => before.push(frame),
                other => {
                    return Err(fail_got(
                        clause,
                        format!("PONG {nonce} (the connection stays open)"),
                        other,
                    ))
                }
            }
        }
    }

    /// Like `barrier`, and nothing may come before the PONG.
    pub async fn quiet(&mut self, clause: &'static str, why: &str) -> Check {
        let before = self.barrier(clause).await?;
        match before.first() {
            None => Ok(()),
            Some(frame) => Err(fail(clause, why, describe(frame))),
        }
    }
}
