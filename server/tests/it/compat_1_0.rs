//! A client written from the 1.0 spec talks to this server (`[VERSION-2]`,
//! `[VERSION-3]`, `[LIMITS-1]`): it decodes the server's first frame with the
//! strict 1.0 GREETING layout, nothing left over (`[FRAMING-3]`), and logs in
//! while skipping, by its length, the 1.1 frame it does not know.

use crate::common;

use std::time::Duration;

use bytes::BytesMut;
use common::TestServer;
use confab_protocol::frame::{self, code, Frame, Login, LoginMode};
use confab_protocol::session::{ClientAction, ClientSession, ClientState};
use confab_protocol::{ErrorCode, Str8, GREETING_MAX_FRAME};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until `buf` holds one whole frame; returns its type and body.
async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> (u8, Vec<u8>) {
    loop {
        if buf.len() >= 5 {
            let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
            if buf.len() >= 5 + len {
                let frame = buf.split_to(5 + len);
                return (frame[0], frame[5..].to_vec());
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_buf(buf))
            .await
            .expect("a frame in time")
            .expect("read");
        assert!(read > 0, "the server closed; had {buf:?}");
    }
}

/// The GREETING body exactly as 1.0 lays it out (section 5): magic, two
/// versions, flags, `server`, the 45-byte limits block, `default_room`,
/// `prompt`, and nothing after it. Written here by hand from the spec, so
/// it shares nothing with the protocol crate's decoder.
fn strict_1_0_greeting(body: &[u8]) -> Result<(), String> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let field = body
            .get(at..at + n)
            .ok_or(format!("a field runs past the end at byte {at}"))?;
        at += n;
        Ok(field)
    };
    if take(6)? != b"CONFAB" {
        return Err("bad magic".into());
    }
    take(2 + 2 + 1)?; // min_version, max_version, flags
    let server = take(1)?[0] as usize;
    take(server)?;
    take(45)?; // limits block
    let room = take(1)?[0] as usize;
    take(room)?;
    let prompt = take(2)?;
    let prompt = u16::from_be_bytes([prompt[0], prompt[1]]) as usize;
    take(prompt)?;
    if at != body.len() {
        // spec: FRAMING-3 — a 1.0 receiver answers MALFORMED_FRAME.
        return Err(format!(
            "{} trailing bytes after prompt: a 1.0 client rejects this GREETING",
            body.len() - at
        ));
    }
    Ok(())
}

/// spec: VERSION-2, VERSION-3, LIMITS-1, FRAMING-3, FRAMING-5, HANDSHAKE-1
#[tokio::test]
async fn a_1_0_client_decodes_the_greeting_and_logs_in() {
    let server = TestServer::with(|c| c.queue_bytes = 300_000).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = BytesMut::new();

    let (first_type, greeting) = read_frame(&mut stream, &mut buf).await;
    assert_eq!(first_type, code::GREETING);
    assert!(greeting.len() <= GREETING_MAX_FRAME as usize);
    strict_1_0_greeting(&greeting).unwrap();

    // The rest as a 1.0 client sees it: the protocol crate's session, with
    // a decoder that knows no 1.1 server-to-client frame (a 1.0 decoder
    // takes them for unknown types, skipped by length, `[FRAMING-5]`).
    let mut session = ClientSession::new();
    let mut wire = BytesMut::new();
    let mut greeting_frame = BytesMut::new();
    greeting_frame.extend_from_slice(&[first_type]);
    greeting_frame.extend_from_slice(&(greeting.len() as u32).to_be_bytes());
    greeting_frame.extend_from_slice(&greeting);
    let frame = frame::decode(&mut greeting_frame, GREETING_MAX_FRAME)
        .unwrap()
        .unwrap();
    assert!(matches!(session.handle(frame), ClientAction::Greeted(_)));
    session
        .hello(0, Str8::new("one-point-oh").unwrap())
        .encode(&mut wire);
    session
        .login(Login::guest(Str8::new("oldtimer").unwrap()))
        .encode(&mut wire);
    stream.write_all(&wire).await.unwrap();

    let known_in_1_0 = |t: u8| frame::name_of(t) != "UNKNOWN" && t <= code::NOTICE;
    let mut ignored = Vec::new();
    loop {
        let (frame_type, body) = read_frame(&mut stream, &mut buf).await;
        let mut one = BytesMut::new();
        one.extend_from_slice(&[frame_type]);
        one.extend_from_slice(&(body.len() as u32).to_be_bytes());
        one.extend_from_slice(&body);
        let frame = frame::decode_with(&mut one, session.max_frame(), known_in_1_0)
            .unwrap()
            .unwrap();
        match session.handle(frame) {
            ClientAction::Welcomed(welcome) => {
                assert_eq!(welcome.username, "oldtimer");
                break;
            }
            // spec: VERSION-3 — an unknown frame is ignored, in AWAIT_WELCOME too.
            ClientAction::Ignored(frame) => ignored.push(frame.frame_type()),
            ClientAction::Nothing | ClientAction::Reply(_) => {}
            other => panic!("a 1.0 client got {other:?} before WELCOME"),
        }
        assert_eq!(session.state(), ClientState::AwaitWelcome);
    }
    assert_eq!(session.state(), ClientState::Ready);
    assert_eq!(
        ignored,
        [code::LIMITS],
        "the 1.1 frame a 1.0 client skips: LIMITS, right after the GREETING"
    );
    drop(stream);
    server.finish().await;
}

/// spec: LIMITS-1, LIMITS-2, LIMITS-3, STATE-6
#[tokio::test]
async fn limits_is_the_second_frame_and_a_client_may_not_send_it() {
    let server = TestServer::with(|c| c.queue_bytes = 1 << 21).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = BytesMut::new();
    // Nothing sent yet: the server speaks first, GREETING then LIMITS.
    let (first, _) = read_frame(&mut stream, &mut buf).await;
    assert_eq!(first, code::GREETING);
    let (second, body) = read_frame(&mut stream, &mut buf).await;
    assert_eq!(second, code::LIMITS);
    assert!(
        body.len() <= 2 + 64 * 10,
        "LIMITS body of {} bytes",
        body.len()
    );
    let mut one = BytesMut::new();
    one.extend_from_slice(&[second]);
    one.extend_from_slice(&(body.len() as u32).to_be_bytes());
    one.extend_from_slice(&body);
    let Some(Frame::ServerLimits(limits)) = frame::decode(&mut one, 65_536).unwrap() else {
        panic!("LIMITS did not decode");
    };
    assert!(
        limits.entries.windows(2).all(|w| w[0].id < w[1].id) && limits.entries[0].id > 0,
        "ids increase, none is 0: {limits:?}"
    );
    assert_eq!(limits.queue_bytes(), Some(1 << 21));

    // A LIMITS from the client is a server-to-client type: UNEXPECTED_FRAME,
    // not fatal, whatever its body.
    assert!(buf.is_empty(), "nothing else before the client speaks");
    let mut client = common::Client::new(stream, "sender");
    client.hello().await;
    client.send(Frame::ServerLimits(limits)).await;
    let error = client.expect_error(ErrorCode::UNEXPECTED_FRAME).await;
    assert_eq!(error.frame_type, code::LIMITS);
    assert!(!error.is_fatal());
    client
        .write_raw(&common::raw_frame(code::LIMITS, &[0xFF]))
        .await;
    let error = client.expect_error(ErrorCode::UNEXPECTED_FRAME).await;
    assert_eq!(error.frame_type, code::LIMITS);
    let welcome = client
        .try_login(LoginMode::Guest, "still-here", "")
        .await
        .expect("the connection survived");
    assert_eq!(welcome.username, "still-here");
    server.finish().await;
}
