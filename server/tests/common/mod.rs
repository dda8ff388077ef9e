//! The harness every server suite shares: a server on an ephemeral loopback
//! port (in process, or the real binary as a child process), a frame-level
//! test client over any byte stream (TCP here, TLS in `support/`) built on the
//! protocol crate's codec (no wire parsing here), and helpers for frames,
//! temporary data directories and account logins.
#![allow(dead_code)]

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

use confab_protocol::frame::{
    Ack, Direct, Direction, ErrorFrame, Frame, Goodbye, Hello, History, HistoryKind, Join, Leave,
    ListRooms, Login, LoginMode, LoginRejected, Message, Pong, PresenceEvent, Send, ServerLimits,
    Welcome, Who,
};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

/// How long a test waits for an expected event before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Largest frame a test client accepts and sends (above any server's
/// max_frame here) unless the test sets its own.
const CLIENT_MAX_FRAME: u32 = 1 << 24;

// ---------------------------------------------------------------------------
// The server in process
// ---------------------------------------------------------------------------

pub struct TestServer {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<Result<(), String>>,
}

impl TestServer {
    /// `confab_server::run` on 127.0.0.1 with an ephemeral port; panics in
    /// server code are recorded from now on (see `finish`).
    pub async fn start(config: Config) -> TestServer {
        watch_server_panics();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
        TestServer {
            addr,
            shutdown,
            handle,
        }
    }

    /// Starts a server with `TestServer::config()` changed by `tweak`.
    pub async fn with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = TestServer::config();
        tweak(&mut config);
        TestServer::start(config).await
    }

    /// Defaults with rate limits high enough for scripted bursts.
    pub fn config() -> Config {
        TestServer::config_with_rate(100_000)
    }

    /// Defaults (in memory) allowing `messages` a second, as many at once,
    /// and a thousand bytes for each of them.
    pub fn config_with_rate(messages: u32) -> Config {
        Config {
            msg_rate: messages,
            msg_burst: messages,
            byte_rate: messages * 1_000,
            byte_burst: messages * 1_000,
            ..Config::default()
        }
    }

    /// `TestServer::config()` with the durable store in `dir`.
    pub fn persistent_config(dir: &Path) -> Config {
        Config {
            in_memory: false,
            data_dir: dir.to_path_buf(),
            ..TestServer::config()
        }
    }

    /// Shuts the server down (bounded) and checks that it returned `Ok`.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.handle)
            .await
            .expect("the server stops within its grace period")
            .expect("the server task did not panic")
            .expect("the server returned Ok");
    }

    /// Stops the server and checks that it returned `Ok` and never panicked.
    pub async fn finish(self) {
        self.stop().await;
        assert_no_server_panic();
    }
}

/// Locations of panics raised in server or protocol code while tests ran.
static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static PANIC_HOOK: Once = Once::new();

/// Records every panic whose location is in the server's or the protocol
/// crate's sources (a panic in a connection task does not fail a test by
/// itself: tokio catches it), then runs the default hook.
pub fn watch_server_panics() {
    PANIC_HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(location) = info.location() {
                let file = location.file();
                if file.contains("server/src") || file.contains("protocol/src") {
                    let mut panics = SERVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
                    panics.push(format!("{location}: {info}"));
                }
            }
            default(info);
        }));
    });
}

/// Fails if any server or protocol code panicked so far in this test binary.
pub fn assert_no_server_panic() {
    let panics = SERVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(panics.is_empty(), "the server panicked: {panics:?}");
}

// ---------------------------------------------------------------------------
// A frame-level client over any byte stream
// ---------------------------------------------------------------------------

/// A byte stream a `Client` can speak over (TCP, TLS).
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin {}

impl<T: AsyncRead + AsyncWrite + Unpin> ByteStream for T {}

/// How a connection's byte stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Clean end of stream after whole frames.
    Eof,
    /// The stream ended inside a frame, did not decode, or was reset.
    Broken(String),
    /// Still open when the bound passed.
    Open,
}

pub struct Client<S = TcpStream> {
    pub framed: Framed<S, FrameCodec>,
    pub name: String,
    next_ref: u32,
    /// The LIMITS that followed the GREETING (`[LIMITS-1]`). `recv` and
    /// `read_to_end*` keep it here rather than return it: like any client,
    /// a test takes it as information, not as an answer to anything.
    pub limits: Option<ServerLimits>,
}

impl Client {
    /// Connects and reads the GREETING.
    pub async fn connect(addr: SocketAddr) -> (Client, Frame) {
        let mut client = Client::connect_raw(addr).await;
        let greeting = client.expect_greeting().await;
        (client, greeting)
    }

    /// Connects without reading anything.
    pub async fn connect_raw(addr: SocketAddr) -> Client {
        Client::open(TcpStream::connect(addr)).await
    }

    /// Connects from the loopback address `local` (another source address
    /// of 127.0.0.0/8), without reading anything.
    pub async fn connect_from(addr: SocketAddr, local: IpAddr) -> Client {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(local, 0)).unwrap();
        Client::open(socket.connect(addr)).await
    }

    /// Connects with a small kernel receive buffer (the socket fills
    /// sooner), without reading anything.
    pub async fn connect_small_buffer(addr: SocketAddr, recv_buffer: u32) -> Client {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(recv_buffer).unwrap();
        Client::open(socket.connect(addr)).await
    }

    async fn open(connecting: impl Future<Output = std::io::Result<TcpStream>>) -> Client {
        let stream = tokio::time::timeout(PATIENCE, connecting)
            .await
            .expect("connect in time")
            .expect("connect");
        Client::new(stream, "raw")
    }

    /// Connects, logs in as a guest and consumes the auto-join of the default room.
    pub async fn login(addr: SocketAddr, name: &str) -> Client {
        Client::login_flags(addr, name, 0).await
    }

    /// Connects and logs in as the guest `name` with HELLO `flags` (see `login_as`).
    pub async fn login_flags(addr: SocketAddr, name: &str, hello_flags: u8) -> Client {
        let (mut client, _) = Client::connect(addr).await;
        client.name = name.to_string();
        client.login_as(name, hello_flags).await;
        client
    }

    /// Connects, says HELLO and logs in with `mode`; fails the test when rejected.
    pub async fn login_account(
        addr: SocketAddr,
        mode: LoginMode,
        name: &str,
        password: &str,
    ) -> (Client, Welcome) {
        let (mut client, _) = Client::connect(addr).await;
        client.hello().await;
        match client.try_login(mode, name, password).await {
            Ok(welcome) => (client, welcome),
            Err(rejected) => panic!("{name} ({mode:?}) rejected: {rejected:?}"),
        }
    }
}

impl<S: ByteStream> Client<S> {
    /// A client over `stream`, called `name` in failure messages until it logs in.
    pub fn new(stream: S, name: &str) -> Client<S> {
        Client {
            framed: Framed::new(stream, FrameCodec::new(CLIENT_MAX_FRAME)),
            name: name.to_string(),
            next_ref: 0,
            limits: None,
        }
    }

    pub async fn send(&mut self, frame: Frame) {
        let name = &self.name;
        self.framed
            .send(frame)
            .await
            .unwrap_or_else(|e| panic!("{name}: send failed: {e}"));
    }

    /// Writes bytes as they are, not as frames.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.try_write_raw(bytes).await.unwrap();
    }

    /// Writes bytes, tolerating a peer that already closed.
    pub async fn try_write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stream = self.framed.get_mut();
        stream.write_all(bytes).await?;
        stream.flush().await
    }

    /// Ends our sending direction (a TCP half-close, or close_notify in TLS).
    pub async fn half_close(&mut self) -> std::io::Result<()> {
        self.framed.get_mut().shutdown().await
    }

    pub fn next_client_ref(&mut self) -> u32 {
        self.next_ref += 1;
        self.next_ref
    }

    pub async fn hello(&mut self) {
        self.hello_flags(0).await;
    }

    pub async fn hello_flags(&mut self, flags: u8) {
        self.send(Frame::Hello(Hello {
            version: 1,
            flags,
            client: Str8::new("test").unwrap(),
        }))
        .await;
    }

    pub async fn send_login(&mut self, name: &str) {
        self.send(Frame::Login(Login::guest(Str8::truncated(name))))
            .await;
    }

    /// Sends a room message whose body may be of any length (up to 65,535);
    /// returns its client_ref.
    pub async fn say(&mut self, room: &str, body: &str) -> u32 {
        let client_ref = self.next_client_ref();
        self.send(Frame::Send(Send {
            client_ref,
            room: Str8::new(room).unwrap(),
            body: Str16::new(body).unwrap(),
        }))
        .await;
        client_ref
    }

    /// Sends a direct message; returns its client_ref.
    pub async fn dm(&mut self, to: &str, body: &str) -> u32 {
        let client_ref = self.next_client_ref();
        self.send(Frame::Direct(Direct {
            client_ref,
            to: Str8::new(to).unwrap(),
            body: Str16::new(body).unwrap(),
        }))
        .await;
        client_ref
    }

    pub async fn join(&mut self, room: &str, since_seq: u64, history: u16) {
        self.send(Frame::Join(Join {
            room: Str8::new(room).unwrap(),
            since_seq,
            history,
        }))
        .await;
    }

    pub async fn leave(&mut self, room: &str) {
        self.send(Frame::Leave(Leave {
            room: Str8::new(room).unwrap(),
        }))
        .await;
    }

    pub async fn list_rooms(&mut self) {
        self.send(Frame::ListRooms(ListRooms {})).await;
    }

    pub async fn who(&mut self, room: &str) {
        self.send(Frame::Who(Who {
            room: Str8::new(room).unwrap(),
        }))
        .await;
    }

    pub async fn history(
        &mut self,
        kind: HistoryKind,
        target: &str,
        direction: Direction,
        anchor: u64,
        limit: u16,
    ) {
        self.send(Frame::History(History {
            kind,
            target: Str8::new(target).unwrap(),
            direction,
            anchor,
            limit,
        }))
        .await;
    }

    pub async fn goodbye(&mut self) {
        self.send(Frame::Goodbye(Goodbye::new(ErrorCode::NORMAL, "bye")))
            .await;
    }

    /// GOODBYE, then waits for the server to close (after which the name is free).
    pub async fn quit(mut self) {
        self.goodbye().await;
        let _ = self.read_to_end().await;
    }

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

/// `frames` must be only the fatal ERROR `code` (PINGs and PRESENCE aside),
/// and the stream must have ended cleanly; returns that ERROR.
pub fn assert_fatal_end(
    who: &str,
    frames: &[Frame],
    ending: &Ending,
    code: ErrorCode,
) -> ErrorFrame {
    assert_eq!(
        *ending,
        Ending::Eof,
        "{who}: stream must end cleanly; got {frames:?}"
    );
    let rest: Vec<&Frame> = frames
        .iter()
        .filter(|f| !matches!(f, Frame::Ping(_) | Frame::Presence(_)))
        .collect();
    match rest.as_slice() {
        [Frame::ErrorFrame(error)] if error.code == code => {
            assert!(error.is_fatal(), "{who}: {error:?} must be FATAL (ERROR-1)");
            error.clone()
        }
        other => panic!("{who}: expected only the fatal ERROR {code:?} then EOF, got {other:?}"),
    }
}

/// One round of chat: `from` says `body` in `room`, `to` receives it as a
/// live MESSAGE and `from` gets its ACK, with the same id, seq and time
/// (PRESENCE frames in between are skipped, PINGs answered).
pub async fn chat_works<S: ByteStream, T: ByteStream>(
    from: &mut Client<S>,
    to: &mut Client<T>,
    room: &str,
    body: &str,
) -> Ack {
    timed_chat(from, to, room, body).await.0
}

/// `chat_works`, also returning the time from sending until `to` had the MESSAGE.
pub async fn timed_chat<S: ByteStream, T: ByteStream>(
    from: &mut Client<S>,
    to: &mut Client<T>,
    room: &str,
    body: &str,
) -> (Ack, Duration) {
    let started = Instant::now();
    let client_ref = from.say(room, body).await;
    let message = to.expect_message().await;
    let latency = started.elapsed();
    assert_eq!(
        (
            message.sender.as_str(),
            message.body.as_str(),
            message.room.as_str()
        ),
        (from.name.as_str(), body, room),
        "{} should receive {}'s message",
        to.name,
        from.name
    );
    let ack = from.expect_ack(client_ref).await;
    assert_eq!(
        (message.id, message.seq, message.time),
        (ack.id, ack.seq, ack.time)
    );
    assert_eq!(message.flags, 0, "a live message has no HISTORY flag");
    (ack, latency)
}

/// Waits for PRESENCE `event` about `user` in `room`, failing on any other
/// frame except other PRESENCE frames and PINGs.
pub async fn expect_presence(client: &mut Client, event: PresenceEvent, room: &str, user: &str) {
    for _ in 0..100 {
        let frame = client.recv().await;
        if client.answer_ping(&frame).await {
            continue;
        }
        match frame {
            Frame::Presence(p) if p.username == user && p.room == room && p.event == event => {
                assert!(p.time > 0);
                return;
            }
            Frame::Presence(_) => continue,
            other => panic!(
                "{}: expected PRESENCE {event:?} {room} {user}, got {other:?}",
                client.name
            ),
        }
    }
    panic!("{}: no PRESENCE {event:?} {room} {user}", client.name);
}

// ---------------------------------------------------------------------------
// Frames and names
// ---------------------------------------------------------------------------

/// An encoded frame, for writing raw.
pub fn wire(frame: &Frame) -> Vec<u8> {
    frame.to_bytes().to_vec()
}

/// A hand-built frame: type, length and body as given.
pub fn raw_frame(frame_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![frame_type];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A SEND body built by hand (so the body bytes may be anything).
pub fn raw_send_body(client_ref: u32, room: &str, body: &[u8]) -> Vec<u8> {
    let mut out = client_ref.to_be_bytes().to_vec();
    out.push(room.len() as u8);
    out.extend_from_slice(room.as_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A LOGIN frame with any mode and password.
pub fn login_frame(mode: LoginMode, name: &str, password: &str) -> Frame {
    Frame::Login(Login {
        mode,
        username: Str8::new(name).unwrap(),
        password: Str8::new(password).unwrap(),
    })
}

/// The ERROR frames among `frames`.
pub fn errors(frames: &[Frame]) -> Vec<&ErrorFrame> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::ErrorFrame(e) => Some(e),
            _ => None,
        })
        .collect()
}

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

/// `prefix` and a number no other call in this test binary got.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}{}", UNIQUE.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------
// Temporary data directories, and the real binary as a child process
// ---------------------------------------------------------------------------

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(unique_name(&format!(
            "confab-test-{label}-{}-{nanos}-",
            std::process::id()
        )));
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path` as a string, for command lines.
    pub fn arg(&self) -> String {
        self.path.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The `confab-server` binary running as a child process, its stderr read
/// line by line into a log (so the pipe never fills).
pub struct ServerProcess {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: std::sync::Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// How long the binary gets to start listening or to exit.
pub const PROCESS_PATIENCE: Duration = Duration::from_secs(10);

fn server_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_confab-server"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` to exit, at most `PROCESS_PATIENCE`; kills it and
/// fails the test when it does not.
fn wait_bounded(mut child: Child, what: &str) -> ExitStatus {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(PROCESS_PATIENCE) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("confab-server (pid {pid}) did not exit within {PROCESS_PATIENCE:?} {what}");
        }
    }
}

impl ServerProcess {
    /// Starts the binary with `args` (which should include `--listen
    /// 127.0.0.1:0`) and waits for its "listening on" log line.
    pub fn start(args: &[&str]) -> ServerProcess {
        ServerProcess::start_command(server_command(args))
    }

    /// `start`, in a shell that first sets the file descriptor limit
    /// (soft and hard) to `nofile`.
    pub fn start_with_nofile(args: &[&str], nofile: u32) -> ServerProcess {
        let mut command = server_command(args);
        let program = command.get_program().to_owned();
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
            .arg(program)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command = shell;
        ServerProcess::start_command(command)
    }

    fn start_command(mut command: Command) -> ServerProcess {
        use std::io::BufRead;
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let lines = std::sync::Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            let mut announced = false;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !announced {
                    if let Some(addr) = line
                        .split("listening on ")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .and_then(|addr| addr.parse().ok())
                    {
                        announced = true;
                        let _ = tx.send(addr);
                    }
                }
                lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let mut process = ServerProcess {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            reader: Some(reader),
        };
        match rx.recv_timeout(PROCESS_PATIENCE) {
            Ok(addr) => process.addr = addr,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let status = process.kill();
                panic!(
                    "confab-server exited ({status:?}) before listening:\n{}",
                    process.log_text()
                );
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                process.kill();
                panic!(
                    "confab-server did not listen within {PROCESS_PATIENCE:?}:\n{}",
                    process.log_text()
                );
            }
        }
        process
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL (`Child::kill`), then waits for the exit and the end of stderr.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        let status = wait_bounded(child, "after SIGKILL");
        self.join_reader();
        Some(status)
    }

    /// SIGTERM, then waits (bounded) for a graceful exit and the end of stderr.
    pub fn terminate(&mut self) -> ExitStatus {
        let child = self.child.take().expect("the server is running");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed: {sent:?}");
        let status = wait_bounded(child, "after SIGTERM");
        self.join_reader();
        status
    }

    fn join_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Everything the server logged so far.
    pub fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// The log once it holds `needle` (the reader thread appends lines as
    /// the process writes them), or as it is after `PATIENCE`.
    pub fn log_text_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let log = self.log_text();
            if log.contains(needle) || std::time::Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the binary with `args` until it exits by itself (bounded); returns
/// its exit status and everything it wrote to stderr.
pub fn run_binary_to_exit(args: &[&str]) -> (ExitStatus, String) {
    use std::io::Read;
    let mut child = server_command(args).spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    match rx.recv_timeout(PROCESS_PATIENCE) {
        Ok(text) => (wait_bounded(child, "after closing stderr"), text),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("confab-server {args:?} kept running; it should have exited");
        }
    }
}
