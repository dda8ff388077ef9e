//! Plain mode while its send queue is full: it stops reading stdin but not
//! the connection's events, so a flood of incoming messages cannot stall the
//! connection (which would then never read the ACKs that make room).
//! The real `confab --plain` binary against a scripted server on 127.0.0.1.

mod support;

use confab_protocol::frame::{
    Ack, Frame, Greeting, HistoryEnd, HistoryKind, Joined, Limits, Message, Welcome,
};
use confab_protocol::{FrameCodec, Str16, Str8};
use futures_util::{SinkExt, StreamExt};
use support::PlainClient;
use tokio::net::TcpListener;
use tokio_util::codec::Framed;

/// More lines than the queue (1,024) and the command channel (256) hold.
const LINES: usize = 1_400;
/// More events than the event channel (1,024) holds.
const INCOMING: u64 = 3_000;

/// Logs the client in, holds back the ACKs of its first SENDs until it has
/// flooded it with room messages, then acknowledges everything. Returns how
/// many messages it acknowledged.
async fn scripted_server(listener: TcpListener) -> usize {
    let (stream, _) = listener.accept().await.unwrap();
    let mut framed = Framed::new(stream, FrameCodec::new(65_536));
    let limits = Limits {
        // No pacing to speak of: the test is about the queue, not the rate.
        msg_rate: 1_000_000,
        msg_burst: 1_000_000,
        byte_rate: 1_000_000_000,
        byte_burst: 1_000_000_000,
        ..Limits::default()
    };
    let greeting = Greeting {
        min_version: 1,
        max_version: 1,
        flags: 0,
        server: Str8::truncated("scripted"),
        limits,
        default_room: Str8::truncated("lobby"),
        prompt: Str16::truncated("name?"),
    };
    framed.send(Frame::Greeting(greeting)).await.unwrap();
    let mut held = Vec::new();
    let mut acked = 0;
    let mut flooded = false;
    while let Some(Ok(frame)) = framed.next().await {
        match frame {
            Frame::Login(login) => {
                let welcome = Welcome {
                    username: login.username,
                    flags: 0,
                    server_time: 0,
                };
                framed.send(Frame::Welcome(welcome)).await.unwrap();
            }
            Frame::Join(join) => {
                let joined = Joined {
                    room: join.room.clone(),
                    next_seq: 1,
                    members: 2,
                };
                framed.send(Frame::Joined(joined)).await.unwrap();
                let end = HistoryEnd {
                    kind: HistoryKind::Room,
                    target: join.room,
                    count: 0,
                    flags: 0,
                };
                framed.send(Frame::HistoryEnd(end)).await.unwrap();
            }
            Frame::SendMessage(send) if !flooded => {
                held.push(send.client_ref);
                // The client's whole in-flight window is out and unanswered:
                // its queue fills up behind it, and plain mode stops reading.
                if held.len() == 64 {
                    flooded = true;
                    for seq in 1..=INCOMING {
                        let message = Message {
                            id: seq,
                            seq,
                            time: 0,
                            flags: 0,
                            room: Str8::truncated("lobby"),
                            sender: Str8::truncated("bob"),
                            body: Str16::truncated(&format!("incoming {seq}")),
                        };
                        framed.feed(Frame::Message(message)).await.unwrap();
                    }
                    for client_ref in held.drain(..) {
                        framed.feed(Frame::Ack(ack(client_ref))).await.unwrap();
                        acked += 1;
                    }
                    SinkExt::<Frame>::flush(&mut framed).await.unwrap();
                }
            }
            Frame::SendMessage(send) => {
                framed.send(Frame::Ack(ack(send.client_ref))).await.unwrap();
                acked += 1;
            }
            Frame::Goodbye(_) => break,
            _ => {}
        }
    }
    acked
}

fn ack(client_ref: u32) -> Ack {
    Ack {
        client_ref,
        id: 1_000_000 + u64::from(client_ref),
        seq: 0,
        time: 0,
    }
}

#[tokio::test]
async fn incoming_messages_keep_flowing_while_the_send_queue_is_full() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(scripted_server(listener));
    let mut piper = PlainClient::spawn(&addr, &["--name", "piper"], "piper");
    for n in 1..=LINES {
        piper.line(&format!("line {n}")).await;
    }
    let (code, seen, _) = piper.finish().await;
    let tail = &seen[seen.len().saturating_sub(3)..];
    assert_eq!(code, 0, "{} lines, ending {tail:?}", seen.len());
    let shown = seen.iter().filter(|l| l.contains("bob: incoming")).count();
    assert_eq!(shown as u64, INCOMING);
    assert_eq!(server.await.unwrap(), LINES, "every line acknowledged");
}
