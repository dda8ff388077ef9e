//! A frame-level test client over any byte stream (TCP here, TLS in the TLS
//! suite), built on the protocol crate's codec: connecting, logging in and
//! sending requests. What it reads back is in `receive.rs`.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use confab_protocol::frame::{
    Direct, Direction, Frame, Goodbye, Hello, History, HistoryKind, Join, Leave, ListRooms, Login,
    LoginMode, SendMessage, ServerLimits, Welcome, Who,
};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::codec::Framed;

use super::PATIENCE;

/// Largest frame a test client accepts and sends (above any server's
/// max_frame here) unless the test sets its own.
const CLIENT_MAX_FRAME: u32 = 1 << 24;

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

    /// Sends `frame`; fails the test when the server has not taken it within
    /// `PATIENCE` (it stopped reading).
    pub async fn send(&mut self, frame: Frame) {
        let name = &self.name;
        match tokio::time::timeout(PATIENCE, self.framed.send(frame)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{name}: send failed: {e}"),
            Err(_) => panic!("{name}: the server took no frame within {PATIENCE:?}"),
        }
    }

    /// Writes bytes as they are, not as frames.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        let name = self.name.clone();
        self.try_write_raw(bytes)
            .await
            .unwrap_or_else(|e| panic!("{name}: raw write failed: {e}"));
    }

    /// Writes bytes, tolerating a peer that already closed; a write the
    /// server does not take within `PATIENCE` is a `TimedOut` error.
    pub async fn try_write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stream = self.framed.get_mut();
        let writing = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        tokio::time::timeout(PATIENCE, writing)
            .await
            .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
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
        self.send(Frame::SendMessage(SendMessage {
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
}
