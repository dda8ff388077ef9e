//! One benchmark connection, to Confab (through the protocol crate's codec)
//! or to the bare relay (u32 length prefix).

use std::io;
use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use confab_protocol::frame::{Frame, Hello, Join, Login, SendMessage};
use confab_protocol::{FrameCodec, Str16, Str8};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// The name of benchmark room `room`: one room per group of members.
pub fn room_name(room: usize) -> String {
    format!("bench{room}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Confab,
    Floor,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Confab => "confab",
            Target::Floor => "floor",
        }
    }
}

pub enum Incoming {
    Message(Bytes),
    Ack,
    Other,
}

pub enum Sink {
    /// Sends to the room joined at login.
    Confab(SplitSink<Framed<TcpStream, FrameCodec>, Frame>, Str8),
    Floor(SplitSink<Framed<TcpStream, LengthDelimitedCodec>, Bytes>),
}

pub enum Stream {
    Confab(SplitStream<Framed<TcpStream, FrameCodec>>),
    Floor(SplitStream<Framed<TcpStream, LengthDelimitedCodec>>),
}

fn floor_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(1 << 20)
        .new_codec()
}

/// Connects from `local_ip` (to spread source addresses) and, for Confab,
/// logs in as `bench{index}` and joins `room` (none: stays idle in no room).
/// The relay is told the room in the first frame, as its wire wants.
pub async fn connect(
    target: Target,
    server: SocketAddr,
    index: usize,
    local_ip: Option<IpAddr>,
    room: Option<&str>,
) -> io::Result<(Sink, Stream)> {
    let socket = if server.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = local_ip {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    match target {
        Target::Floor => {
            let mut framed = Framed::new(stream, floor_codec());
            let room = Bytes::copy_from_slice(room.unwrap_or_default().as_bytes());
            framed.send(room).await?;
            // Wait until the relay has registered us in the room (its READY frame).
            match framed.next().await {
                Some(Ok(payload)) if payload[..] == crate::relay::READY[4..] => {}
                Some(Ok(_)) => return Err(io::Error::other("relay: unexpected first frame")),
                Some(Err(e)) => return Err(e),
                None => return Err(io::Error::other("relay closed during registration")),
            }
            let (sink, stream) = framed.split();
            Ok((Sink::Floor(sink), Stream::Floor(stream)))
        }
        Target::Confab => {
            let mut framed = Framed::new(stream, FrameCodec::new(1 << 20));
            let name = Str8::truncated(&format!("bench{index}"));
            let room = room.map(Str8::truncated);
            framed
                .send(Frame::Hello(Hello {
                    version: confab_protocol::PROTOCOL_VERSION,
                    flags: Hello::NO_AUTO_JOIN,
                    client: Str8::truncated("confab-bench"),
                }))
                .await
                .map_err(io::Error::other)?;
            framed
                .send(Frame::Login(Login::guest(name)))
                .await
                .map_err(io::Error::other)?;
            let join = room.is_some();
            if let Some(room) = &room {
                framed
                    .send(Frame::Join(Join {
                        room: room.clone(),
                        since_seq: 0,
                        history: 0,
                    }))
                    .await
                    .map_err(io::Error::other)?;
            }
            // Logged in (and joined) once WELCOME (and the join's HISTORY_END) arrived.
            loop {
                match framed.next().await {
                    Some(Ok(Frame::Welcome(_))) if !join => break,
                    Some(Ok(Frame::HistoryEnd(_))) if join => break,
                    Some(Ok(Frame::LoginRejected(r))) => {
                        return Err(io::Error::other(format!("login refused: {}", r.message)))
                    }
                    Some(Ok(Frame::ErrorFrame(e))) if e.is_fatal() => {
                        return Err(io::Error::other(format!(
                            "server error {}: {}",
                            e.code, e.message
                        )))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(io::Error::other(e)),
                    None => return Err(io::Error::other("server closed during login")),
                }
            }
            let (sink, stream) = framed.split();
            let room = room.unwrap_or_else(|| Str8::truncated(""));
            Ok((Sink::Confab(sink, room), Stream::Confab(stream)))
        }
    }
}

impl Sink {
    pub async fn send(&mut self, client_ref: u32, body: &str) -> io::Result<()> {
        match self {
            Sink::Confab(sink, room) => sink
                .send(Frame::SendMessage(SendMessage {
                    client_ref,
                    room: room.clone(),
                    body: Str16::truncated(body),
                }))
                .await
                .map_err(io::Error::other),
            Sink::Floor(sink) => sink.send(Bytes::copy_from_slice(body.as_bytes())).await,
        }
    }
}

impl Stream {
    pub async fn next(&mut self) -> Option<io::Result<Incoming>> {
        match self {
            Stream::Confab(stream) => Some(match stream.next().await? {
                Ok(Frame::Message(message)) => Ok(Incoming::Message(message.body.to_bytes())),
                Ok(Frame::Ack(_)) => Ok(Incoming::Ack),
                Ok(Frame::ErrorFrame(e)) => Err(io::Error::other(format!(
                    "server error {}: {}",
                    e.code, e.message
                ))),
                Ok(_) => Ok(Incoming::Other),
                Err(e) => Err(io::Error::other(e)),
            }),
            Stream::Floor(stream) => Some(match stream.next().await? {
                Ok(payload) if payload.is_empty() => Ok(Incoming::Ack),
                Ok(payload) => Ok(Incoming::Message(payload.freeze())),
                Err(e) => Err(e),
            }),
        }
    }
}
