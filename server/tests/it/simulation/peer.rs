//! A simulated client: a turmoil connection speaking frames, and an inbox
//! that checks what arrives.

use super::*;

pub(super) type Rx = FramedRead<OwnedReadHalf, FrameCodec>;
pub(super) type Tx = FramedWrite<OwnedWriteHalf, FrameCodec>;

pub(super) struct Peer {
    pub(super) rx: Rx,
    pub(super) tx: Tx,
}

/// What the next read brought.
#[derive(Debug)]
pub(super) enum Next {
    Frame(Frame),
    /// EOF, a reset or undecodable bytes: the connection is over.
    Closed(#[allow(dead_code)] String),
    TimedOut,
}

pub(super) async fn next(rx: &mut Rx, patience: Duration) -> Next {
    match timeout(patience, rx.next()).await {
        Ok(Some(Ok(frame))) => Next::Frame(frame),
        Ok(Some(Err(e))) => Next::Closed(e.to_string()),
        Ok(None) => Next::Closed("end of stream".into()),
        Err(_) => Next::TimedOut,
    }
}

/// The next frame; fails the test when the connection ends or nothing comes.
pub(super) async fn recv(rx: &mut Rx, who: &str) -> Frame {
    match next(rx, PATIENCE).await {
        Next::Frame(frame) => frame,
        other => panic!("{who}: expected a frame, got {other:?}"),
    }
}

/// Every frame until the server closes the connection; fails if it stays open
/// longer than `patience`.
pub(super) async fn until_closed(rx: &mut Rx, who: &str, patience: Duration) -> Vec<Frame> {
    let deadline = Instant::now() + patience;
    let mut frames = Vec::new();
    loop {
        match next(rx, deadline.saturating_duration_since(Instant::now())).await {
            Next::Frame(frame) => frames.push(frame),
            Next::Closed(_) => return frames,
            Next::TimedOut => panic!(
                "{who}: connection still open {patience:?} later; got {} frames, last {:?}",
                frames.len(),
                frames.last()
            ),
        }
    }
}

pub(super) async fn send(tx: &mut Tx, who: &str, frame: Frame) {
    tx.send(frame)
        .await
        .unwrap_or_else(|e| panic!("{who}: send failed: {e}"));
}

pub(super) fn hello() -> Frame {
    Frame::Hello(Hello {
        version: 1,
        flags: 0,
        client: Str8::new("sim").unwrap(),
    })
}

pub(super) fn say(client_ref: u32, body: &str) -> Frame {
    Frame::SendMessage(SendMessage {
        client_ref,
        room: Str8::new(ROOM).unwrap(),
        body: Str16::new(body).unwrap(),
    })
}

/// Bodies are `<sender>:<index>`.
pub(super) fn parse_body(message: &Message) -> (String, u32) {
    let (sender, index) = message
        .body
        .as_str()
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("unexpected body {:?}", message.body));
    (sender.to_string(), index.parse().expect("index"))
}

/// A fatal ERROR about the connection rather than a frame (`frame_type` 0).
pub(super) fn assert_connection_error(frame: &Frame, code: ErrorCode, who: &str) {
    match frame {
        Frame::ErrorFrame(ErrorFrame {
            code: got,
            flags,
            frame_type,
            client_ref,
            ..
        }) => {
            assert_eq!(*got, code, "{who}: error code");
            assert_eq!(
                flags & ErrorFrame::FATAL,
                ErrorFrame::FATAL,
                "{who}: {code} is fatal"
            );
            assert_eq!((*frame_type, *client_ref), (0, 0), "{who}: {frame:?}");
        }
        other => panic!("{who}: expected ERROR {code}, got {other:?}"),
    }
}

impl Peer {
    /// Connects and reads the GREETING.
    pub(super) async fn connect(name: &str) -> Peer {
        // The server host may not have bound its listener yet in the first
        // steps (hosts run in random order): retry refused connections briefly.
        let deadline = Instant::now() + ms(100);
        let stream = loop {
            match TcpStream::connect((SERVER, PORT)).await {
                Ok(stream) => break stream,
                Err(e) if Instant::now() >= deadline => panic!("{name}: connect: {e}"),
                Err(_) => sleep(ms(1)).await,
            }
        };
        let (read, write) = stream.into_split();
        let mut peer = Peer {
            rx: FramedRead::new(read, FrameCodec::new(1 << 20)),
            tx: FramedWrite::new(write, FrameCodec::new(1 << 20)),
        };
        match recv(&mut peer.rx, name).await {
            Frame::Greeting(_) => {}
            other => panic!("{name}: expected GREETING, got {other:?}"),
        }
        // spec: LIMITS-1 — LIMITS comes right after the GREETING.
        match recv(&mut peer.rx, name).await {
            Frame::ServerLimits(_) => {}
            other => panic!("{name}: expected LIMITS, got {other:?}"),
        }
        peer
    }

    /// Connects, logs in as a guest and consumes the auto-join of the lobby.
    pub(super) async fn login(name: &str) -> Peer {
        let mut peer = Peer::connect(name).await;
        send(&mut peer.tx, name, hello()).await;
        let login = Frame::Login(Login::guest(Str8::new(name).unwrap()));
        send(&mut peer.tx, name, login).await;
        match recv(&mut peer.rx, name).await {
            Frame::Welcome(w) if w.username == name => {}
            other => panic!("{name}: expected WELCOME, got {other:?}"),
        }
        match recv(&mut peer.rx, name).await {
            Frame::Joined(j) if j.room == ROOM => {}
            other => panic!("{name}: expected JOINED {ROOM}, got {other:?}"),
        }
        match recv(&mut peer.rx, name).await {
            Frame::HistoryEnd(_) => {}
            other => panic!("{name}: expected HISTORY_END, got {other:?}"),
        }
        peer
    }
}

/// What one receiver got, checked as it arrives: per sender, messages come in
/// the order sent, each once; the room's `seq` only goes up; never an echo.
pub(super) struct Inbox {
    pub(super) me: String,
    pub(super) next_from: BTreeMap<String, u32>,
    pub(super) last_seq: u64,
    pub(super) messages: usize,
}

impl Inbox {
    pub(super) fn new(me: &str) -> Inbox {
        Inbox {
            me: me.to_string(),
            next_from: BTreeMap::new(),
            last_seq: 0,
            messages: 0,
        }
    }

    pub(super) fn take(&mut self, message: &Message) -> (String, u32) {
        let me = &self.me;
        assert_ne!(
            message.sender.as_str(),
            me,
            "{me} received its own message back: {message:?}"
        );
        assert_eq!(message.room, ROOM, "{me}: {message:?}");
        assert_eq!(message.flags, 0, "{me}: live message flags {message:?}");
        assert!(
            message.seq > self.last_seq,
            "{me}: seq {} after seq {}: not in room order",
            message.seq,
            self.last_seq
        );
        self.last_seq = message.seq;
        let (sender, index) = parse_body(message);
        assert_eq!(
            sender,
            message.sender.as_str(),
            "{me}: sender of {message:?}"
        );
        let expected = self.next_from.entry(sender.clone()).or_insert(0);
        assert_eq!(
            index, *expected,
            "{me}: from {sender} expected message #{expected}, got #{index} \
             (lost, duplicated or out of order)"
        );
        *expected += 1;
        self.messages += 1;
        (sender, index)
    }
}
