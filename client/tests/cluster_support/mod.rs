//! Scripted cluster nodes on 127.0.0.1 for the client's section 22 tests:
//! each accepts a client, greets it under its node name, logs it in and
//! answers its JOIN as the test says.
//!
//! Each test file compiles its own copy of this module and uses only part of
//! it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::time::Duration;

use confab_client::connection::{self, Backoff, Handle, Options};
use confab_client::event::Event;
use confab_protocol::frame::{
    Frame, Goodbye, Greeting, HistoryEnd, HistoryKind, Join, Joined, Limits, Message, SendMessage,
    Welcome,
};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

/// How long any single wait may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The connection task for `addrs`, logging in as alice; `reconnect`: the
/// first delay of its backoff, or no reconnecting.
pub fn client(addrs: Vec<String>, reconnect: Option<Duration>) -> Handle {
    connection::spawn(Options {
        addrs,
        name: Some("alice".into()),
        account: None,
        rooms: Vec::new(),
        reconnect: reconnect.map(|initial| Backoff {
            initial,
            max: initial,
        }),
        join_history: 0,
        tls: None,
        drain_timeout: Duration::from_secs(10),
        prompt_again: false,
    })
}

pub type Wire = Framed<TcpStream, FrameCodec>;

/// A port nothing listens on (bound, then released): connecting is refused.
pub async fn refusing_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().to_string()
}

/// A listening node, and its address.
pub async fn node() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// The next frame from the client that `pick` takes, within `PATIENCE`.
pub async fn next_frame<T>(framed: &mut Wire, pick: impl Fn(Frame) -> Option<T>) -> T {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let frame = framed
                .next()
                .await
                .expect("the client stays connected")
                .unwrap();
            if let Some(wanted) = pick(frame) {
                return wanted;
            }
        }
    })
    .await
    .expect("the expected frame arrives")
}

/// Accepts the client and greets it as the node `name`; returns once its
/// LOGIN came, not answered yet, with the name it asked for.
pub async fn greet_only(listener: &TcpListener, name: &str) -> (Wire, Str8) {
    let (stream, _) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .expect("the client connects")
        .unwrap();
    let mut framed = Framed::new(stream, FrameCodec::new(65_536));
    let greeting = Greeting {
        min_version: 1,
        max_version: 1,
        flags: 0,
        server: Str8::truncated(name),
        limits: Limits::default(),
        default_room: Str8::truncated("lobby"),
        prompt: Str16::truncated("name?"),
    };
    framed.send(Frame::Greeting(greeting)).await.unwrap();
    let login = next_frame(&mut framed, |f| match f {
        Frame::Login(login) => Some(login),
        _ => None,
    })
    .await;
    (framed, login.username)
}

/// Accepts one client as the node `name`, greets it, logs it in and
/// returns the connection and the client's first JOIN, not answered yet.
pub async fn accept_login(listener: &TcpListener, name: &str) -> (Wire, Join) {
    let (mut framed, username) = greet_only(listener, name).await;
    let welcome = Welcome {
        username,
        flags: 0,
        server_time: 0,
    };
    framed.send(Frame::Welcome(welcome)).await.unwrap();
    let join = next_frame(&mut framed, |f| match f {
        Frame::Join(join) => Some(join),
        _ => None,
    })
    .await;
    (framed, join)
}

/// JOINED (the room's next `seq` is `next_seq`) and an empty replay.
pub async fn answer_join(framed: &mut Wire, join: &Join, next_seq: u64) {
    let joined = Joined {
        room: join.room.clone(),
        next_seq,
        members: 2,
    };
    framed.send(Frame::Joined(joined)).await.unwrap();
    let end = HistoryEnd {
        kind: HistoryKind::Room,
        target: join.room.clone(),
        count: 0,
        flags: 0,
    };
    framed.send(Frame::HistoryEnd(end)).await.unwrap();
}

/// A MESSAGE of `lobby` from `sender`; `flags` as the frame's (`HISTORY`
/// for a replayed one).
pub async fn post(framed: &mut Wire, seq: u64, sender: &str, body: &str, flags: u8) {
    let message = Message {
        id: seq,
        seq,
        time: 1_700_000_000_000 + seq,
        flags,
        room: Str8::truncated("lobby"),
        sender: Str8::truncated(sender),
        body: Str16::truncated(body),
    };
    framed.send(Frame::Message(message)).await.unwrap();
}

/// bob says `body` in `lobby`, live.
pub async fn say(framed: &mut Wire, seq: u64, body: &str) {
    post(framed, seq, "bob", body, 0).await;
}

/// The next SEND from the client.
pub async fn next_send(framed: &mut Wire) -> SendMessage {
    next_frame(framed, |f| match f {
        Frame::SendMessage(send) => Some(send),
        _ => None,
    })
    .await
}

/// A GOODBYE `NODE_LEAVING`, then the connection closes (`[CLUSTER-4]`).
pub async fn leave(mut framed: Wire) {
    let goodbye = Goodbye::new(ErrorCode::NODE_LEAVING, "this node is shutting down");
    framed.send(Frame::Goodbye(goodbye)).await.unwrap();
}

/// Reads the client's frames until its GOODBYE, then closes, so that the
/// client's quit is not held up by the grace it gives the server.
pub fn close_on_goodbye(mut framed: Wire) {
    tokio::spawn(async move {
        let goodbye = tokio::time::timeout(PATIENCE, async {
            while let Some(Ok(frame)) = framed.next().await {
                if let Frame::Goodbye(_) = frame {
                    return;
                }
            }
        });
        let _ = goodbye.await;
    });
}

/// The first of the connection task's events (as the terminal UI
/// receives them) that satisfies `wanted`.
pub async fn until_event(handle: &mut Handle, wanted: impl Fn(&Event) -> bool) -> Event {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let event = handle.events.recv().await.expect("events until Closed");
            if wanted(&event) {
                return event;
            }
        }
    })
    .await
    .expect("the expected event arrives")
}
