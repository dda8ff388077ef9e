//! What a test client reads: the next frame (bounded by `PATIENCE`),
//! expected answers, and the end of the stream.

use std::time::Duration;

use confab_protocol::frame::{
    Ack, ErrorFrame, Frame, Hello, LoginMode, LoginRejected, Message, Pong, Welcome,
};
use confab_protocol::ErrorCode;
use futures_util::StreamExt;
use tokio::time::Instant;

use super::{assert_fatal_end, login_frame, ByteStream, Client, Ending, PATIENCE};

impl<S: ByteStream> Client<S> {
    /// The next frame must be the GREETING, and the one after it LIMITS
    /// (`[LIMITS-1]`, kept in `limits`); returns the GREETING.
    pub async fn expect_greeting(&mut self) -> Frame {
        let greeting = self.recv().await;
        assert!(
            matches!(greeting, Frame::Greeting(_)),
            "{}: first frame {greeting:?}",
            self.name
        );
        if self.limits.is_none() {
            match tokio::time::timeout(PATIENCE, self.framed.next()).await {
                Ok(Some(Ok(Frame::ServerLimits(limits)))) => self.limits = Some(limits),
                other => panic!(
                    "{}: LIMITS must follow the GREETING, got {other:?}",
                    self.name
                ),
            }
        }
        greeting
    }

    /// Keeps a LIMITS in `limits`; gives back any other frame.
    fn keep_limits(&mut self, frame: Frame) -> Option<Frame> {
        match frame {
            Frame::ServerLimits(limits) => {
                self.limits = Some(limits);
                None
            }
            frame => Some(frame),
        }
    }

    /// Reads the GREETING, then `login_as`.
    pub async fn greet_and_login(&mut self, name: &str, hello_flags: u8) {
        self.expect_greeting().await;
        self.login_as(name, hello_flags).await;
    }

    /// HELLO with `flags`, LOGIN as the guest `name` and WELCOME (PRESENCE
    /// skipped, PINGs answered); unless `flags` has NO_AUTO_JOIN, also the
    /// auto-join of the default room (`expect_joined`).
    pub async fn login_as(&mut self, name: &str, hello_flags: u8) {
        self.hello_flags(hello_flags).await;
        self.send_login(name).await;
        match self.recv_skipping_presence().await {
            Frame::Welcome(welcome) => self.name = welcome.username.to_string(),
            other => panic!("{name}: expected WELCOME, got {other:?}"),
        }
        if hello_flags & Hello::NO_AUTO_JOIN == 0 {
            self.expect_joined("lobby").await;
        }
    }

    /// Sends LOGIN and reads the answer (answering PINGs). On WELCOME the
    /// auto-join of the default room is consumed too.
    pub async fn try_login(
        &mut self,
        mode: LoginMode,
        name: &str,
        password: &str,
    ) -> Result<Welcome, LoginRejected> {
        self.send(login_frame(mode, name, password)).await;
        loop {
            let frame = self.recv().await;
            if self.answer_ping(&frame).await {
                continue;
            }
            match frame {
                Frame::Welcome(welcome) => {
                    self.name = welcome.username.to_string();
                    self.expect_joined("lobby").await;
                    return Ok(welcome);
                }
                Frame::LoginRejected(rejected) => return Err(rejected),
                other => panic!("{name}: expected WELCOME or LOGIN_REJECTED, got {other:?}"),
            }
        }
    }

    /// JOINED for `room` as the very next frame, then the replay up to
    /// HISTORY_END; returns JOINED's next_seq and the replayed frames.
    pub async fn expect_joined(&mut self, room: &str) -> (u64, Vec<Frame>) {
        let next_seq = match self.recv().await {
            Frame::Joined(joined) if joined.room == room => joined.next_seq,
            other => panic!("{}: expected JOINED {room}, got {other:?}", self.name),
        };
        (next_seq, self.replay(room).await)
    }

    /// Sends JOIN and reads JOINED (skipping PRESENCE before it), the replay
    /// and HISTORY_END; returns JOINED's next_seq and the replayed frames.
    pub async fn enter(&mut self, room: &str, since_seq: u64, history: u16) -> (u64, Vec<Frame>) {
        self.join(room, since_seq, history).await;
        let next_seq = match self.recv_skipping_presence().await {
            Frame::Joined(joined) if joined.room.eq_ignore_ascii_case(room) => joined.next_seq,
            other => panic!("{}: expected JOINED {room}, got {other:?}", self.name),
        };
        (next_seq, self.replay(room).await)
    }

    /// The frames after JOINED up to HISTORY_END.
    async fn replay(&mut self, room: &str) -> Vec<Frame> {
        let mut replay = Vec::new();
        for _ in 0..70_000 {
            match self.recv().await {
                Frame::HistoryEnd(_) => return replay,
                frame => replay.push(frame),
            }
        }
        panic!("{}: no HISTORY_END for {room}", self.name);
    }

    /// The next frame; fails the test if none comes in time or the stream ends.
    pub async fn recv(&mut self) -> Frame {
        loop {
            let frame = match tokio::time::timeout(PATIENCE, self.framed.next()).await {
                Ok(Some(Ok(frame))) => frame,
                Ok(Some(Err(e))) => panic!("{}: decode error {e}", self.name),
                Ok(None) => panic!("{}: connection closed", self.name),
                Err(_) => panic!("{}: no frame within {PATIENCE:?}", self.name),
            };
            if let Some(frame) = self.keep_limits(frame) {
                return frame;
            }
        }
    }

    /// Answers a PING, if `frame` is one; true when it was.
    pub async fn answer_ping(&mut self, frame: &Frame) -> bool {
        if let Frame::Ping(ping) = frame {
            self.send(Frame::Pong(Pong { nonce: ping.nonce })).await;
            true
        } else {
            false
        }
    }

    /// The next frame that is not PRESENCE or PING (answering PINGs).
    pub async fn recv_skipping_presence(&mut self) -> Frame {
        for _ in 0..100_000 {
            let frame = self.recv().await;
            if self.answer_ping(&frame).await {
                continue;
            }
            match frame {
                Frame::Presence(_) => {}
                frame => return frame,
            }
        }
        panic!("{}: only PRESENCE and PING frames", self.name);
    }

    /// The next frame other than PRESENCE (answering PINGs) must be an ERROR with `code`.
    pub async fn expect_error(&mut self, code: ErrorCode) -> ErrorFrame {
        match self.recv_skipping_presence().await {
            Frame::ErrorFrame(error) if error.code == code => {
                assert_eq!(
                    error.is_fatal(),
                    code.registry_fatal().unwrap(),
                    "{}: FATAL flag of {error:?} (spec ERROR-1)",
                    self.name
                );
                error
            }
            other => panic!("{}: expected ERROR {code:?}, got {other:?}", self.name),
        }
    }

    /// The next frame other than PRESENCE (answering PINGs) must be the ACK of `client_ref`.
    pub async fn expect_ack(&mut self, client_ref: u32) -> Ack {
        match self.recv_skipping_presence().await {
            Frame::Ack(ack) if ack.client_ref == client_ref => ack,
            other => panic!(
                "{}: expected ACK of client_ref {client_ref}, got {other:?}",
                self.name
            ),
        }
    }

    /// The next frame other than PRESENCE (answering PINGs) must be a MESSAGE.
    pub async fn expect_message(&mut self) -> Message {
        match self.recv_skipping_presence().await {
            Frame::Message(message) => message,
            other => panic!("{}: expected MESSAGE, got {other:?}", self.name),
        }
    }

    /// Every frame until the stream ends or `bound` passes, and how it ended.
    pub async fn read_to_end_within(&mut self, bound: Duration) -> (Vec<Frame>, Ending) {
        let deadline = Instant::now() + bound;
        let mut frames = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.framed.next()).await {
                Ok(Some(Ok(frame))) => frames.extend(self.keep_limits(frame)),
                Ok(Some(Err(e))) => return (frames, Ending::Broken(e.to_string())),
                Ok(None) => return (frames, Ending::Eof),
                Err(_) => return (frames, Ending::Open),
            }
        }
    }

    /// Every frame up to the end of the stream, and how it ended; fails the
    /// test when the server does not close within `PATIENCE`.
    pub async fn read_to_end(&mut self) -> (Vec<Frame>, Ending) {
        let (frames, ending) = self.read_to_end_within(PATIENCE).await;
        if ending == Ending::Open {
            panic!(
                "{}: server did not close within {PATIENCE:?}; got {} frames, last {:?}",
                self.name,
                frames.len(),
                frames.last()
            );
        }
        (frames, ending)
    }

    /// The connection must end now: every remaining frame, then a clean EOF.
    pub async fn expect_closed(&mut self) -> Vec<Frame> {
        let (frames, ending) = self.read_to_end().await;
        assert!(
            matches!(ending, Ending::Eof),
            "{}: stream ended badly ({ending:?}) after {frames:?}",
            self.name
        );
        frames
    }

    /// The connection must end with exactly the fatal ERROR `code` and a clean EOF.
    pub async fn expect_fatal_then_close(&mut self, code: ErrorCode) -> ErrorFrame {
        let (frames, ending) = self.read_to_end().await;
        assert_fatal_end(&self.name, &frames, &ending, code)
    }
}
