//! Helpers of the attack and TLS suites (kept apart from `common/`): an
//! in-process server, a frame-level client over any byte stream, a pair of
//! witnesses that keep chatting in the background, the post-attack health
//! check, memory readings and TLS client configuration.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use confab_protocol::frame::{ErrorFrame, Frame, Hello, Join, Login, Ping, Pong, Send};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

/// How long any single expected event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Largest frame the test clients accept (above any server's max_frame here).
const CLIENT_MAX_FRAME: u32 = 1 << 24;

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

pub struct Server {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    handle: JoinHandle<Result<(), String>>,
}

impl Server {
    /// `confab_server::run` on 127.0.0.1 with an ephemeral port.
    pub async fn start(config: Config) -> Server {
        watch_server_panics();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
        Server {
            addr,
            shutdown,
            handle,
        }
    }

    /// Shuts the server down (bounded) and checks it neither failed nor panicked.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.handle)
            .await
            .expect("the server stops within its grace period")
            .expect("the server task did not panic")
            .expect("the server returned Ok");
        assert_no_server_panic();
    }
}

/// Defaults (in memory) with rate limits far above anything scripted.
pub fn fast_config() -> Config {
    Config {
        msg_rate: 1_000_000,
        msg_burst: 1_000_000,
        byte_rate: 1_000_000_000,
        byte_burst: 1_000_000_000,
        ..Config::default()
    }
}

static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static PANIC_HOOK: Once = Once::new();

/// Records panics located in server or protocol sources (tokio would swallow
/// a panicking connection task), then runs the default hook.
pub fn watch_server_panics() {
    PANIC_HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(location) = info.location() {
                let file = location.file();
                if file.contains("server/src") || file.contains("protocol/src") {
                    SERVER_PANICS
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("{location}: {info}"));
                }
            }
            default(info);
        }));
    });
}

pub fn assert_no_server_panic() {
    let panics = SERVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(panics.is_empty(), "the server panicked: {panics:?}");
}

// ---------------------------------------------------------------------------
// A frame-level client over any stream (TCP or TLS)
// ---------------------------------------------------------------------------

/// How a connection's byte stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// A clean end of stream after whole frames.
    Eof,
    /// Reset, undecodable bytes, or a partial frame at the end.
    Broken(String),
    /// Still open when the bound passed.
    Open,
}

pub struct Conn<S> {
    pub framed: Framed<S, FrameCodec>,
    pub name: String,
    next_ref: u32,
}

pub type TcpConn = Conn<TcpStream>;

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub fn new(stream: S, name: &str) -> Self {
        Conn {
            framed: Framed::new(stream, FrameCodec::new(CLIENT_MAX_FRAME)),
            name: name.to_string(),
            next_ref: 0,
        }
    }

    pub async fn send(&mut self, frame: Frame) {
        let name = self.name.clone();
        self.framed
            .send(frame)
            .await
            .unwrap_or_else(|e| panic!("{name}: send failed: {e}"));
    }

    /// Writes bytes as they are; errors are returned (the peer may be gone).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stream = self.framed.get_mut();
        stream.write_all(bytes).await?;
        stream.flush().await
    }

    /// Ends our sending direction (a TCP half-close, or close_notify in TLS).
    pub async fn half_close(&mut self) -> std::io::Result<()> {
        self.framed.get_mut().shutdown().await
    }

    /// The next frame; fails the test when none comes in time or the stream ends.
    pub async fn recv(&mut self) -> Frame {
        match tokio::time::timeout(PATIENCE, self.framed.next()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) => panic!("{}: bad input from the server: {e}", self.name),
            Ok(None) => panic!("{}: the server closed the connection", self.name),
            Err(_) => panic!("{}: no frame within {PATIENCE:?}", self.name),
        }
    }

    /// The next frame other than PRESENCE, answering PINGs on the way.
    pub async fn recv_chat(&mut self) -> Frame {
        for _ in 0..100_000 {
            match self.recv().await {
                Frame::Presence(_) => {}
                Frame::Ping(ping) => self.send(Frame::Pong(Pong { nonce: ping.nonce })).await,
                frame => return frame,
            }
        }
        panic!("{}: only PRESENCE and PING frames", self.name);
    }

    /// Every frame until the stream ends or `bound` passes.
    pub async fn read_to_end(&mut self, bound: Duration) -> (Vec<Frame>, Ending) {
        let deadline = Instant::now() + bound;
        let mut frames = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.framed.next()).await {
                Ok(Some(Ok(frame))) => frames.push(frame),
                Ok(Some(Err(e))) => return (frames, Ending::Broken(e.to_string())),
                Ok(None) => return (frames, Ending::Eof),
                Err(_) => return (frames, Ending::Open),
            }
        }
    }

    pub async fn hello(&mut self, flags: u8) {
        self.send(Frame::Hello(Hello {
            version: 1,
            flags,
            client: Str8::new("attack-suite").unwrap(),
        }))
        .await;
    }

    /// Reads the GREETING, says HELLO (with `flags`) and logs in as the guest
    /// `name`; with auto-join, also consumes JOINED and HISTORY_END of the lobby.
    pub async fn greet_and_login(&mut self, name: &str, flags: u8) {
        match self.recv().await {
            Frame::Greeting(_) => {}
            other => panic!("{name}: expected GREETING, got {other:?}"),
        }
        self.hello(flags).await;
        self.send(Frame::Login(Login::guest(Str8::new(name).unwrap())))
            .await;
        match self.recv_chat().await {
            Frame::Welcome(welcome) => self.name = welcome.username.to_string(),
            other => panic!("{name}: expected WELCOME, got {other:?}"),
        }
        if flags & Hello::NO_AUTO_JOIN == 0 {
            self.expect_joined().await;
        }
    }

    /// JOINED, then everything up to HISTORY_END.
    pub async fn expect_joined(&mut self) {
        match self.recv_chat().await {
            Frame::Joined(_) => {}
            other => panic!("{}: expected JOINED, got {other:?}", self.name),
        }
        for _ in 0..100_000 {
            if let Frame::HistoryEnd(_) = self.recv_chat().await {
                return;
            }
        }
        panic!("{}: no HISTORY_END", self.name);
    }

    /// JOIN `room` without history and wait for the answer.
    pub async fn enter(&mut self, room: &str) {
        self.send(Frame::Join(Join {
            room: Str8::new(room).unwrap(),
            since_seq: 0,
            history: 0,
        }))
        .await;
        self.expect_joined().await;
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

    /// Waits for the ACK of `client_ref` (skipping PRESENCE, answering PING).
    pub async fn expect_ack(&mut self, client_ref: u32) {
        match self.recv_chat().await {
            Frame::Ack(ack) if ack.client_ref == client_ref => {}
            other => panic!(
                "{}: expected the ACK of {client_ref}, got {other:?}",
                self.name
            ),
        }
    }
}

pub async fn connect(addr: SocketAddr) -> TcpConn {
    let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    Conn::new(stream, "conn")
}

/// Connects from the loopback address `local` (another address of 127/8).
pub async fn connect_from(addr: SocketAddr, local: IpAddr) -> TcpConn {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    let stream = tokio::time::timeout(PATIENCE, socket.connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    Conn::new(stream, "conn")
}

/// Connects with a small kernel receive buffer (the socket fills sooner).
pub async fn connect_small_buffer(addr: SocketAddr, recv_buffer: u32) -> TcpConn {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(recv_buffer).unwrap();
    let stream = tokio::time::timeout(PATIENCE, socket.connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    Conn::new(stream, "conn")
}

/// Connects and logs in as the guest `name` (HELLO `flags`).
pub async fn login(addr: SocketAddr, name: &str, flags: u8) -> TcpConn {
    let mut conn = connect(addr).await;
    conn.name = name.to_string();
    conn.greet_and_login(name, flags).await;
    conn
}

/// Connects until the server greets (bounded), retrying while it answers
/// SERVER_FULL: the server frees a slot only once it has seen the old
/// connection's end, which a client cannot observe.
pub async fn connect_when_admitted(addr: SocketAddr, local: Option<IpAddr>) -> (TcpConn, usize) {
    for attempt in 1..=200 {
        let mut conn = match local {
            Some(ip) => connect_from(addr, ip).await,
            None => connect(addr).await,
        };
        match conn.recv().await {
            Frame::Greeting(_) => return (conn, attempt),
            Frame::ErrorFrame(e)
                if e.code == ErrorCode::SERVER_FULL
                    || e.code == ErrorCode::TOO_MANY_CONNECTIONS =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("expected GREETING or a refusal, got {other:?}"),
        }
    }
    panic!("the server did not admit a newcomer within 200 attempts");
}

/// `connect_when_admitted`, then a guest login without auto-join.
pub async fn login_when_admitted(addr: SocketAddr, name: &str) -> TcpConn {
    let (mut conn, _) = connect_when_admitted(addr, None).await;
    conn.name = name.to_string();
    conn.hello(Hello::NO_AUTO_JOIN).await;
    conn.send(Frame::Login(Login::guest(Str8::new(name).unwrap())))
        .await;
    match conn.recv_chat().await {
        Frame::Welcome(welcome) => conn.name = welcome.username.to_string(),
        other => panic!("{name}: expected WELCOME, got {other:?}"),
    }
    conn
}

/// A PING frame's bytes.
pub fn ping_bytes(nonce: u64) -> Vec<u8> {
    Frame::Ping(Ping { nonce }).to_bytes().to_vec()
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

/// `frames` must be only the fatal ERROR `code` (PINGs and PRESENCE aside),
/// and the stream must have ended cleanly.
pub fn assert_fatal_end(who: &str, frames: &[Frame], ending: &Ending, code: ErrorCode) {
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
        }
        other => panic!("{who}: expected only the fatal ERROR {code:?} then EOF, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Chat rounds, background witnesses, the health check
// ---------------------------------------------------------------------------

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

/// A name no other client of this test binary uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}{}", UNIQUE.fetch_add(1, Ordering::Relaxed))
}

/// One message from `from` to `to` in `room`: the time from sending until
/// `to` has the MESSAGE. `from`'s ACK is checked afterwards.
pub async fn one_message<S, T>(
    from: &mut Conn<S>,
    to: &mut Conn<T>,
    room: &str,
    body: &str,
) -> Duration
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    let client_ref = from.say(room, body).await;
    let latency = match to.recv_chat().await {
        Frame::Message(m) if m.body == body && m.room == room && m.sender == from.name.as_str() => {
            started.elapsed()
        }
        other => panic!(
            "{}: expected {}'s {body:?}, got {other:?}",
            to.name, from.name
        ),
    };
    from.expect_ack(client_ref).await;
    latency
}

/// `count` messages alternating between `a` and `b`; returns the latencies.
pub async fn chat_round<S, T>(
    a: &mut Conn<S>,
    b: &mut Conn<T>,
    room: &str,
    count: usize,
) -> Vec<Duration>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        let body = format!("round message {i}");
        let latency = if i % 2 == 0 {
            one_message(a, b, room, &body).await
        } else {
            one_message(b, a, room, &body).await
        };
        latencies.push(latency);
    }
    latencies
}

/// Two logged-in clients that keep chatting in a room of their own, one
/// message every `pace` (alternating senders), while an attack runs.
pub struct Witnesses {
    stop: CancellationToken,
    handle: JoinHandle<(usize, Duration)>,
}

/// A pace the default rate limits allow forever (each witness sends every
/// other message: 8 a second, against msg_rate 20).
pub const POLITE_PACE: Duration = Duration::from_millis(60);

/// A pace for servers with high rate limits.
pub const BRISK_PACE: Duration = Duration::from_millis(10);

impl Witnesses {
    pub async fn start(addr: SocketAddr, pace: Duration) -> Witnesses {
        let room = unique_name("witness-room-");
        let mut a = login(addr, &unique_name("wa"), Hello::NO_AUTO_JOIN).await;
        let mut b = login(addr, &unique_name("wb"), Hello::NO_AUTO_JOIN).await;
        a.enter(&room).await;
        b.enter(&room).await;
        // Settle: one message each way (a also skips b's join PRESENCE).
        chat_round(&mut a, &mut b, &room, 2).await;
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let handle = tokio::spawn(async move {
            let mut pace = tokio::time::interval(pace);
            let mut slowest = Duration::ZERO;
            let mut sent = 0usize;
            // Bounded: at most 100,000 messages.
            for _ in 0..100_000 {
                tokio::select! {
                    _ = stopped.cancelled() => break,
                    _ = pace.tick() => {}
                }
                let body = format!("witness {sent}");
                let latency = if sent % 2 == 0 {
                    one_message(&mut a, &mut b, &room, &body).await
                } else {
                    one_message(&mut b, &mut a, &room, &body).await
                };
                slowest = slowest.max(latency);
                sent += 1;
            }
            (sent, slowest)
        });
        Witnesses { stop, handle }
    }

    /// Stops the witnesses; fails if they could not chat the whole time or a
    /// message took longer than `bound`.
    pub async fn finish(self, label: &str, bound: Duration) {
        self.stop.cancel();
        let (sent, slowest) = match tokio::time::timeout(PATIENCE * 2, self.handle).await {
            Ok(Ok(report)) => report,
            Ok(Err(e)) => panic!("{label}: the witnesses failed during the attack: {e}"),
            Err(_) => panic!("{label}: the witnesses hung"),
        };
        eprintln!(
            "{label}: witnesses chatted {sent} messages during the attack, slowest {slowest:?}"
        );
        assert!(sent > 0, "{label}: the witnesses never chatted");
        assert!(
            slowest < bound,
            "{label}: a witness message took {slowest:?} during the attack (bound {bound:?})"
        );
    }
}

/// Resident memory of this process (server and clients), from /proc.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

pub const MIB: u64 = 1024 * 1024;

/// The bound on p-max of a health-check round.
pub const HEALTHY_LATENCY: Duration = Duration::from_millis(500);

/// Allowed growth of resident memory across one attack.
pub const RSS_TOLERANCE: u64 = 32 * MIB;

/// After an attack: the server still accepts; two new honest clients chat
/// 20 messages with p-max under `HEALTHY_LATENCY`; memory is back near
/// `baseline`.
pub async fn health_check(addr: SocketAddr, label: &str, baseline: u64) {
    // The server accepts and greets (once it has seen the attackers go:
    // their places come back when it notices, which may take a moment).
    let (probe, attempts) = connect_when_admitted(addr, None).await;
    drop(probe);

    let room = unique_name("health-");
    let mut a = login_when_admitted(addr, &unique_name("ha")).await;
    let mut b = login_when_admitted(addr, &unique_name("hb")).await;
    a.enter(&room).await;
    b.enter(&room).await;
    // Warm-up (not measured; a also skips b's join PRESENCE).
    chat_round(&mut a, &mut b, &room, 2).await;
    let latencies = chat_round(&mut a, &mut b, &room, 20).await;
    let max = latencies.iter().max().copied().unwrap();
    let mut sorted = latencies.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    drop((a, b));

    let after = rss_bytes();
    eprintln!(
        "{label}: health check: admitted at attempt {attempts}; 20 messages, median {median:?}, p-max {max:?}; \
         VmRSS {:.1} MiB before the attack, {:.1} MiB after",
        baseline as f64 / MIB as f64,
        after as f64 / MIB as f64
    );
    assert!(
        max < HEALTHY_LATENCY,
        "{label}: p-max latency {max:?} after the attack (latencies {latencies:?})"
    );
    assert!(
        after <= baseline + RSS_TOLERANCE,
        "{label}: VmRSS grew from {} to {} bytes across the attack",
        baseline,
        after
    );
}

// ---------------------------------------------------------------------------
// Temporary directories and TLS
// ---------------------------------------------------------------------------

/// A directory removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "confab-{label}-{}-{nanos}-{}",
            std::process::id(),
            UNIQUE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A self-signed certificate for localhost and 127.0.0.1 in `dir`: (cert, key).
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    confab_server::tls::generate_self_signed(dir, &["localhost".into(), "127.0.0.1".into()])
        .expect("generate a self-signed certificate")
}

/// A rustls client trusting exactly the certificates in `ca` (PEM).
pub fn tls_connector(ca: &Path) -> tokio_rustls::TlsConnector {
    tokio_rustls::TlsConnector::from(tls_client_config(ca))
}

/// The client configuration of `tls_connector`.
pub fn tls_client_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

pub type TlsConn = Conn<tokio_rustls::client::TlsStream<TcpStream>>;

/// TCP, then the TLS handshake for `127.0.0.1`.
pub async fn tls_connect(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
) -> std::io::Result<TlsConn> {
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tokio::time::timeout(PATIENCE, connector.connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake hung"))??;
    Ok(Conn::new(tls, "tls"))
}

/// Connects over TLS and logs in as the guest `name`.
pub async fn tls_login(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    name: &str,
    flags: u8,
) -> TlsConn {
    let mut conn = tls_connect(addr, connector)
        .await
        .unwrap_or_else(|e| panic!("{name}: TLS connect failed: {e}"));
    conn.name = name.to_string();
    conn.greet_and_login(name, flags).await;
    conn
}
