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
