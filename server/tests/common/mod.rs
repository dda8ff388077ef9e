//! A server on an ephemeral loopback port and a protocol-speaking test client
//! built on the protocol crate's codec (no wire parsing here).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use confab_protocol::frame::{Frame, Hello, Join, Login, Send};
use confab_protocol::{FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

/// How long a test waits for an expected frame before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<Result<(), String>>,
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
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

    /// Defaults with rate limits high enough for scripted bursts.
    pub fn config() -> Config {
        Config {
            msg_rate: 100_000,
            msg_burst: 100_000,
            byte_rate: 100_000_000,
            byte_burst: 100_000_000,
            ..Config::default()
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.handle)
            .await
            .expect("server stops within the grace period")
            .unwrap()
            .unwrap();
    }
}

pub struct Client {
    pub framed: Framed<TcpStream, FrameCodec>,
    pub name: String,
    next_ref: u32,
}

impl Client {
    /// Connects and reads the GREETING.
    pub async fn connect(addr: SocketAddr) -> (Client, Frame) {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut client = Client {
            framed: Framed::new(stream, FrameCodec::new(1 << 20)),
            name: String::new(),
            next_ref: 0,
        };
        let greeting = client.recv().await;
        assert!(
            matches!(greeting, Frame::Greeting(_)),
            "first frame {greeting:?}"
        );
        (client, greeting)
    }

    /// Connects, logs in as a guest and consumes the auto-join of the default room.
    pub async fn login(addr: SocketAddr, name: &str) -> Client {
        let (mut client, _) = Client::connect(addr).await;
        client.hello().await;
        client.send_login(name).await;
        match client.recv().await {
            Frame::Welcome(welcome) => client.name = welcome.username.to_string(),
            other => panic!("{name}: expected WELCOME, got {other:?}"),
        }
        client.expect_joined("lobby").await;
        client
    }

    pub async fn hello(&mut self) {
        self.send(Frame::Hello(Hello {
            version: 1,
            flags: 0,
            client: Str8::new("test").unwrap(),
        }))
        .await;
    }

    pub async fn send_login(&mut self, name: &str) {
        self.send(Frame::Login(Login::guest(Str8::truncated(name))))
            .await;
    }

    pub async fn send(&mut self, frame: Frame) {
        self.framed.send(frame).await.unwrap();
    }

    /// Sends a room message; returns its client_ref.
    pub async fn say(&mut self, room: &str, body: &str) -> u32 {
        self.next_ref += 1;
        let client_ref = self.next_ref;
        self.send(Frame::Send(Send {
            client_ref,
            room: Str8::new(room).unwrap(),
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

    /// JOINED for `room`, then the replay up to HISTORY_END; returns JOINED's next_seq.
    pub async fn expect_joined(&mut self, room: &str) -> (u64, Vec<Frame>) {
        let next_seq = match self.recv().await {
            Frame::Joined(joined) if joined.room == room => joined.next_seq,
            other => panic!("expected JOINED {room}, got {other:?}"),
        };
        let mut replay = Vec::new();
        loop {
            match self.recv().await {
                Frame::HistoryEnd(_) => return (next_seq, replay),
                frame => replay.push(frame),
            }
        }
    }

    /// The next frame; fails the test if none comes in time or the stream ends.
    pub async fn recv(&mut self) -> Frame {
        match tokio::time::timeout(PATIENCE, self.framed.next()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) => panic!("{}: decode error {e}", self.name),
            Ok(None) => panic!("{}: connection closed", self.name),
            Err(_) => panic!("{}: no frame within {PATIENCE:?}", self.name),
        }
    }

    /// The next frame that is not PRESENCE or PING (answering PINGs).
    pub async fn recv_skipping_presence(&mut self) -> Frame {
        loop {
            match self.recv().await {
                Frame::Presence(_) => continue,
                Frame::Ping(ping) => {
                    self.send(Frame::Pong(confab_protocol::frame::Pong {
                        nonce: ping.nonce,
                    }))
                    .await
                }
                frame => return frame,
            }
        }
    }

    /// Frames until the server closes the connection (EOF or reset).
    pub async fn until_closed(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        loop {
            match tokio::time::timeout(PATIENCE, self.framed.next()).await {
                Ok(Some(Ok(frame))) => frames.push(frame),
                Ok(Some(Err(_))) | Ok(None) => return frames,
                Err(_) => panic!(
                    "{}: server did not close within {PATIENCE:?}; got {frames:?}",
                    self.name
                ),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers for the handshake, fault and room suites.
// ---------------------------------------------------------------------------

use std::sync::{Mutex, Once};

use confab_protocol::frame::{
    Ack, Direct, Direction, ErrorFrame, History, HistoryKind, Leave, ListRooms, Message, Pong, Who,
};
use confab_protocol::ErrorCode;
use tokio::io::AsyncWriteExt;

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

impl TestServer {
    /// Starts a server with `TestServer::config()` changed by `tweak`.
    pub async fn with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        watch_server_panics();
        let mut config = TestServer::config();
        tweak(&mut config);
        TestServer::start(config).await
    }

    /// Stops the server and checks that it returned `Ok` and never panicked.
    pub async fn finish(self) {
        self.stop().await;
        assert_no_server_panic();
    }
}

/// How a connection's byte stream ended.
#[derive(Debug)]
pub enum Ending {
    /// Clean end of stream after whole frames.
    Eof,
    /// The stream ended inside a frame, did not decode, or was reset.
    Broken(String),
}

impl Client {
    fn wrap(stream: TcpStream, name: &str) -> Client {
        Client {
            framed: Framed::new(stream, FrameCodec::new(1 << 20)),
            name: name.to_string(),
            next_ref: 0,
        }
    }

    /// Connects without reading anything.
    pub async fn connect_raw(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        Client::wrap(stream, "raw")
    }

    /// Connects from the loopback address `local` (another source address
    /// of 127.0.0.0/8), without reading anything.
    pub async fn connect_from(addr: SocketAddr, local: std::net::IpAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(local, 0)).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        Client::wrap(stream, "raw")
    }

    /// Connects with a small kernel receive buffer, without reading anything.
    pub async fn connect_small_buffer(addr: SocketAddr, recv_buffer: u32) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(recv_buffer).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        Client::wrap(stream, "raw")
    }

    /// HELLO with `flags`, LOGIN as a guest, and WELCOME (nothing after it is read).
    pub async fn login_flags(addr: SocketAddr, name: &str, hello_flags: u8) -> Client {
        let (mut client, _) = Client::connect(addr).await;
        client.name = name.to_string();
        client
            .send(Frame::Hello(Hello {
                version: 1,
                flags: hello_flags,
                client: Str8::new("test").unwrap(),
            }))
            .await;
        client.send_login(name).await;
        match client.recv().await {
            Frame::Welcome(welcome) => client.name = welcome.username.to_string(),
            other => panic!("{name}: expected WELCOME, got {other:?}"),
        }
        client
    }

    /// Writes bytes as they are, not as frames.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        let stream = self.framed.get_mut();
        stream.write_all(bytes).await.unwrap();
        stream.flush().await.unwrap();
    }

    /// Writes bytes, tolerating a peer that already closed.
    pub async fn try_write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stream = self.framed.get_mut();
        stream.write_all(bytes).await?;
        stream.flush().await
    }

    pub fn next_client_ref(&mut self) -> u32 {
        self.next_ref += 1;
        self.next_ref
    }

    /// Sends a room message whose body may be of any length (up to 65,535).
    pub async fn say_with_ref(&mut self, room: &str, body: &str) -> u32 {
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
        self.send(Frame::Goodbye(confab_protocol::frame::Goodbye::new(
            ErrorCode::NORMAL,
            "bye",
        )))
        .await;
    }

    /// Sends JOIN and reads JOINED (skipping PRESENCE before it), the replay
    /// and HISTORY_END; returns JOINED's next_seq and the replayed frames.
    pub async fn enter(&mut self, room: &str, since_seq: u64, history: u16) -> (u64, Vec<Frame>) {
        self.join(room, since_seq, history).await;
        let next_seq = match self.recv_skipping_presence().await {
            Frame::Joined(joined) if joined.room.eq_ignore_ascii_case(room) => joined.next_seq,
            other => panic!("{}: expected JOINED {room}, got {other:?}", self.name),
        };
        let mut replay = Vec::new();
        for _ in 0..70_000 {
            match self.recv().await {
                Frame::HistoryEnd(_) => return (next_seq, replay),
                frame => replay.push(frame),
            }
        }
        panic!("{}: no HISTORY_END for {room}", self.name);
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

    /// Answers a PING, if `frame` is one; true when it was.
    pub async fn answer_ping(&mut self, frame: &Frame) -> bool {
        if let Frame::Ping(ping) = frame {
            self.send(Frame::Pong(Pong { nonce: ping.nonce })).await;
            true
        } else {
            false
        }
    }

    /// Every frame up to the end of the stream, and how it ended.
    pub async fn read_to_end(&mut self) -> (Vec<Frame>, Ending) {
        let mut frames = Vec::new();
        loop {
            match tokio::time::timeout(PATIENCE, self.framed.next()).await {
                Ok(Some(Ok(frame))) => frames.push(frame),
                Ok(Some(Err(e))) => return (frames, Ending::Broken(e.to_string())),
                Ok(None) => return (frames, Ending::Eof),
                Err(_) => panic!(
                    "{}: server did not close within {PATIENCE:?}; got {} frames, last {:?}",
                    self.name,
                    frames.len(),
                    frames.last()
                ),
            }
        }
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
        let frames = self.expect_closed().await;
        let frames: Vec<Frame> = frames
            .into_iter()
            .filter(|f| !matches!(f, Frame::Presence(_) | Frame::Ping(_)))
            .collect();
        match frames.as_slice() {
            [Frame::ErrorFrame(error)] if error.code == code => {
                assert!(error.is_fatal(), "{}: {error:?} must be FATAL", self.name);
                error.clone()
            }
            other => panic!(
                "{}: expected only a fatal ERROR {code:?} then EOF, got {other:?}",
                self.name
            ),
        }
    }
}

/// One round of chat: `from` says something in `room`, gets its ACK, and
/// `to` receives it as a live MESSAGE (PRESENCE frames in between are skipped).
pub async fn chat_works(from: &mut Client, to: &mut Client, room: &str, body: &str) -> Ack {
    let client_ref = from.say_with_ref(room, body).await;
    let ack = from.expect_ack(client_ref).await;
    let message = to.expect_message().await;
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
    assert_eq!(
        (message.id, message.seq, message.time),
        (ack.id, ack.seq, ack.time)
    );
    assert_eq!(message.flags, 0, "a live message has no HISTORY flag");
    ack
}

/// Waits for PRESENCE `event` about `user` in `room`, failing on any other
/// frame except other PRESENCE frames and PINGs.
pub async fn expect_presence(
    client: &mut Client,
    event: confab_protocol::frame::PresenceEvent,
    room: &str,
    user: &str,
) {
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

// ---------------------------------------------------------------------------
// Helpers for the persistence and account suites: temporary data
// directories, the real binary as a child process, and account logins.
// ---------------------------------------------------------------------------

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use confab_protocol::frame::{LoginMode, LoginRejected, Welcome};

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "confab-test-{label}-{}-{nanos}-{unique}",
            std::process::id()
        ));
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

impl TestServer {
    /// `TestServer::config()` with the durable store in `dir`.
    pub fn persistent_config(dir: &Path) -> Config {
        Config {
            in_memory: false,
            data_dir: dir.to_path_buf(),
            ..TestServer::config()
        }
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
        use std::io::BufRead;
        let mut child = server_command(args).spawn().unwrap();
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

/// A LOGIN frame with any mode and password.
pub fn login_frame(mode: LoginMode, name: &str, password: &str) -> Frame {
    Frame::Login(Login {
        mode,
        username: Str8::new(name).unwrap(),
        password: Str8::new(password).unwrap(),
    })
}

impl Client {
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

    /// GOODBYE, then waits for the server to close (after which the name is free).
    pub async fn quit(mut self) {
        self.goodbye().await;
        let _ = self.read_to_end().await;
    }
}
