//! Checks that span frames or clients: a fatal end, a round of chat, an
//! expected PRESENCE.

use std::time::Duration;

use confab_protocol::frame::{Ack, ErrorFrame, Frame, PresenceEvent};
use confab_protocol::ErrorCode;
use tokio::time::Instant;

use super::{ByteStream, Client, Ending};

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

/// `count` messages alternating between `a` and `b`; returns the latencies.
pub async fn chat_round<S: ByteStream, T: ByteStream>(
    a: &mut Client<S>,
    b: &mut Client<T>,
    room: &str,
    count: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        let body = format!("round message {i}");
        let (_, latency) = if i % 2 == 0 {
            timed_chat(a, b, room, &body).await
        } else {
            timed_chat(b, a, room, &body).await
        };
        latencies.push(latency);
    }
    latencies
}
