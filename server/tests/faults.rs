//! Faults over real loopback TCP: broken, hostile, greedy and slow clients,
//! limits, timeouts and shutdown. After each fault, other clients must be
//! unaffected and the server must not have panicked.

mod common;

use std::time::{Duration, Instant};

use common::{
    chat_works, expect_presence, raw_frame, raw_send_body, run_binary_to_exit, wire, Client,
    Ending, TestServer, PATIENCE,
};
use confab_protocol::frame::{code, Frame, Goodbye, Login, Ping, PresenceEvent, Send};
use confab_protocol::{ErrorCode, Str16, Str8};
use tokio::sync::mpsc;

/// Two logged-in clients in the lobby that check the server still works.
async fn two_witnesses(server: &TestServer) -> (Client, Client) {
    let mut w1 = Client::login(server.addr, "wit1").await;
    let mut w2 = Client::login(server.addr, "wit2").await;
    expect_presence(&mut w1, PresenceEvent::Joined, "lobby", "wit2").await;
    chat_works(&mut w2, &mut w1, "lobby", "settle").await;
    (w1, w2)
}

/// The witnesses still chat both ways.
async fn still_fine(w1: &mut Client, w2: &mut Client) {
    chat_works(w1, w2, "lobby", "still here").await;
    chat_works(w2, w1, "lobby", "me too").await;
}

fn send_frame(client_ref: u32, room: &str, body: &str) -> Frame {
    Frame::Send(Send {
        client_ref,
        room: Str8::new(room).unwrap(),
        body: Str16::new(body).unwrap(),
    })
}

#[tokio::test]
async fn a_client_vanishing_mid_frame_is_a_plain_disconnect() {
    // spec: FRAMING-6, CLOSE-3, PRESENCE-2
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;

    // Half a SEND body, then gone.
    let mut mallory = Client::login(server.addr, "mallory").await;
    let bytes = wire(&send_frame(1, "lobby", "this message is cut in half"));
    mallory.write_raw(&bytes[..bytes.len() / 2]).await;
    drop(mallory);
    for w in [&mut w1, &mut w2] {
        expect_presence(w, PresenceEvent::Disconnected, "lobby", "mallory").await;
    }
    // Three bytes of a header, then gone.
    let mut trudy = Client::login(server.addr, "trudy").await;
    trudy.write_raw(&bytes[..3]).await;
    drop(trudy);
    for w in [&mut w1, &mut w2] {
        expect_presence(w, PresenceEvent::Disconnected, "lobby", "trudy").await;
    }
    // Nothing of the partial SEND was delivered: the next MESSAGE is a witness's.
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2));
    server.finish().await;
}

#[tokio::test]
async fn a_first_frame_other_than_hello_is_not_confab() {
    // spec: STATE-1, SEC-2, ERROR-3
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let cases: Vec<(&str, Vec<u8>, u8)> = vec![
        ("type 0x00", raw_frame(0x00, &[]), 0x00),
        (
            "unassigned server type",
            raw_frame(0x8F, &[0xDE, 0xAD, 0xBE, 0xEF]),
            0x8F,
        ),
        ("reserved type 0xA0", raw_frame(0xA0, &[1, 2]), 0xA0),
        (
            "LOGIN first",
            wire(&Frame::Login(Login::guest(Str8::new("eager").unwrap()))),
            code::LOGIN,
        ),
        (
            "PING first",
            wire(&Frame::Ping(Ping { nonce: 1 })),
            code::PING,
        ),
    ];
    for (what, bytes, frame_type) in cases {
        let (mut client, _) = Client::connect(server.addr).await;
        client.name = what.to_string();
        // A valid HELLO pipelined behind must not be processed.
        let mut bytes = bytes;
        bytes.extend(wire(&Frame::Hello(confab_protocol::frame::Hello {
            version: 1,
            flags: 0,
            client: Str8::empty(),
        })));
        client.write_raw(&bytes).await;
        let error = client.expect_fatal_then_close(ErrorCode::NOT_CONFAB).await;
        assert_eq!(
            (error.frame_type, error.client_ref),
            (frame_type, 0),
            "{what}"
        );
    }
    // A SEND first is judged by its type alone: its client_ref is not read
    // (`[STATE-6]`).
    let (mut client, _) = Client::connect(server.addr).await;
    client.send(send_frame(77, "lobby", "hi")).await;
    let error = client.expect_fatal_then_close(ErrorCode::NOT_CONFAB).await;
    assert_eq!((error.frame_type, error.client_ref), (code::SEND, 0));
    drop(client);
    // GOODBYE is legal first: the server closes without a word.
    let (mut client, _) = Client::connect(server.addr).await;
    client
        .send(Frame::Goodbye(Goodbye::new(
            ErrorCode::NORMAL,
            "changed my mind",
        )))
        .await;
    assert_eq!(client.expect_closed().await, []);
    drop(client);

    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2));
    server.finish().await;
}

#[tokio::test]
async fn an_http_request_or_typed_text_gets_a_readable_not_confab() {
    // spec: VERSION-5, FRAMING-4, HANDSHAKE-1
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    for text in [
        &b"GET / HTTP/1.1\r\nHost: localhost:7667\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"[..],
        &b"hello?\r\n"[..],
    ] {
        let mut client = Client::connect_raw(server.addr).await;
        client.write_raw(text).await;
        // The GREETING went out on accept, before the request was read.
        assert!(matches!(client.recv().await, Frame::Greeting(_)));
        let error = client.expect_fatal_then_close(ErrorCode::NOT_CONFAB).await;
        assert_eq!(
            error.frame_type, 0,
            "detected from the ASCII type byte, not from a frame"
        );
        let message = error.message.as_str();
        assert!(
            message
                .chars()
                .all(|c| c == '\r' || c == '\n' || (' '..='~').contains(&c)),
            "plain text: {message:?}"
        );
        assert!(message.contains("Confab"), "{message:?}");
        assert!(message.contains("server"), "{message:?}");
        assert!(
            message.contains("PROTOCOL") || message.contains("protocol"),
            "says where the protocol is described: {message:?}"
        );
    }
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2));
    server.finish().await;
}

#[tokio::test]
async fn an_oversized_length_prefix_is_refused_on_the_header() {
    // spec: FRAMING-2, SEC-1, LIMIT-2, CLOSE-3
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;

    // One byte over max_frame, and no body at all: the answer must not wait for it.
    let mut mallory = Client::login(server.addr, "mallory").await;
    mallory
        .write_raw(&[code::SEND, 0x00, 0x01, 0x00, 0x01])
        .await;
    let error = mallory
        .expect_fatal_then_close(ErrorCode::FRAME_TOO_LARGE)
        .await;
    assert_eq!((error.frame_type, error.client_ref), (0, 0));
    for w in [&mut w1, &mut w2] {
        expect_presence(w, PresenceEvent::Disconnected, "lobby", "mallory").await;
    }

    // 4 GiB declared during the handshake.
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    client
        .write_raw(&[code::LOGIN, 0xFF, 0xFF, 0xFF, 0xFF])
        .await;
    client
        .expect_fatal_then_close(ErrorCode::FRAME_TOO_LARGE)
        .await;

    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, mallory, client));
    server.finish().await;
}

#[tokio::test]
async fn invalid_utf8_in_a_message_body_is_fatal() {
    // spec: TYPES-1, ERROR-3, CLOSE-3
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let bad_bodies: [(&str, &[u8]); 4] = [
        ("truncated sequence", &[b'h', b'i', 0xC3, 0x28]),
        ("overlong slash", &[0xC0, 0xAF]),
        ("surrogate", &[0xED, 0xA0, 0x80]),
        ("above U+10FFFF", &[0xF4, 0x90, 0x80, 0x80]),
    ];
    for (i, (what, body)) in bad_bodies.iter().enumerate() {
        let name = format!("mallory{i}");
        let mut mallory = Client::login(server.addr, &name).await;
        let mut bytes = raw_frame(code::SEND, &raw_send_body(5, "lobby", body));
        // A valid SEND behind it must not be processed.
        bytes.extend(wire(&send_frame(6, "lobby", "must not arrive")));
        mallory.write_raw(&bytes).await;
        let error = mallory
            .expect_fatal_then_close(ErrorCode::INVALID_UTF8)
            .await;
        assert_eq!(error.frame_type, code::SEND, "{what}");
        for w in [&mut w1, &mut w2] {
            expect_presence(w, PresenceEvent::Disconnected, "lobby", &name).await;
        }
    }
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2));
    server.finish().await;
}

#[tokio::test]
async fn login_when_ready_is_unexpected_and_harmless() {
    // spec: STATE-2, STATE-3
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut mallory = Client::login(server.addr, "mallory").await;
    mallory
        .send(Frame::Login(Login::guest(Str8::new("wit1").unwrap())))
        .await;
    let error = mallory.expect_error(ErrorCode::UNEXPECTED_FRAME).await;
    assert_eq!((error.frame_type, error.client_ref), (code::LOGIN, 0));
    // Still "mallory", still in the lobby, still chatting.
    mallory.who("").await;
    match mallory.recv_skipping_presence().await {
        Frame::WhoList(who) => {
            let names: Vec<&str> = who.users.iter().map(|u| u.as_str()).collect();
            assert_eq!(names, ["mallory", "wit1", "wit2"]);
        }
        other => panic!("expected WHO_LIST, got {other:?}"),
    }
    chat_works(&mut mallory, &mut w1, "lobby", "nothing happened").await;
    let _ = w2.expect_message().await;
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, mallory));
    server.finish().await;
}

#[tokio::test]
async fn unknown_frames_are_skipped_by_length_and_reported() {
    // spec: VERSION-3, FRAMING-5, VERSION-2
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut mallory = Client::login(server.addr, "mallory").await;
    // The body of the unknown frame is itself a whole SEND: if the server
    // did not skip exactly the declared length, it would deliver it.
    let hidden = wire(&send_frame(9, "lobby", "hidden inside an unknown frame"));
    for frame_type in [0xA0u8, 0xFF, 0x8F, 0x1F] {
        mallory.write_raw(&raw_frame(frame_type, &hidden)).await;
        let error = mallory.expect_error(ErrorCode::UNKNOWN_FRAME_TYPE).await;
        assert_eq!((error.frame_type, error.client_ref), (frame_type, 0));
    }
    mallory.write_raw(&raw_frame(0xA0, &[])).await;
    let error = mallory.expect_error(ErrorCode::UNKNOWN_FRAME_TYPE).await;
    assert_eq!(error.frame_type, 0xA0);
    // The connection carries on; nothing hidden was delivered.
    chat_works(&mut mallory, &mut w1, "lobby", "visible").await;
    assert_eq!(w2.expect_message().await.body, "visible");

    // An unknown frame during the login phase is skipped too.
    let (mut early, _) = Client::connect(server.addr).await;
    early.hello().await;
    early.write_raw(&raw_frame(0xB7, &[1, 2, 3])).await;
    let error = early.expect_error(ErrorCode::UNKNOWN_FRAME_TYPE).await;
    assert_eq!(error.frame_type, 0xB7);
    early.send_login("early").await;
    assert!(matches!(early.recv().await, Frame::Welcome(_)));

    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, mallory, early));
    server.finish().await;
}

#[tokio::test]
async fn empty_and_oversized_bodies_are_refused_with_their_client_ref() {
    // spec: MSG-6, DM-3, MSG-3, MSG-4
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut mallory = Client::login(server.addr, "mallory").await;
    let first = mallory.say("lobby", "first").await;
    let first = mallory.expect_ack(first).await;

    let too_long = "x".repeat(4097);
    let too_long_wide = "\u{00E9}".repeat(2049); // 2,049 characters, 4,098 bytes
    for (body, code) in [
        ("", ErrorCode::EMPTY_MESSAGE),
        (" \t\r\n\u{3000}\u{00A0}", ErrorCode::EMPTY_MESSAGE),
        (too_long.as_str(), ErrorCode::BODY_TOO_LONG),
        (too_long_wide.as_str(), ErrorCode::BODY_TOO_LONG),
    ] {
        let client_ref = mallory.say("lobby", body).await;
        let error = mallory.expect_error(code).await;
        assert_eq!(
            (error.frame_type, error.client_ref),
            (code::SEND, client_ref)
        );

        let client_ref = mallory.dm("wit1", body).await;
        let error = mallory.expect_error(code).await;
        assert_eq!(
            (error.frame_type, error.client_ref),
            (code::DIRECT, client_ref)
        );
    }
    // Exactly max_body bytes is accepted, and the rejections used no id or seq.
    let longest = "\u{00E9}".repeat(2048);
    let client_ref = mallory.say("lobby", &longest).await;
    let ack = mallory.expect_ack(client_ref).await;
    assert_eq!(ack.seq, first.seq + 1);
    assert_eq!(ack.id, first.id + 1);

    for w in [&mut w1, &mut w2] {
        assert_eq!(w.expect_message().await.body, "first");
        let message = w.expect_message().await;
        assert_eq!(message.body, longest.as_str());
        assert_eq!(message.seq, ack.seq);
    }
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, mallory));
    server.finish().await;
}

#[tokio::test]
async fn sending_to_a_room_not_joined_is_refused() {
    // spec: MSG-6
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    w2.enter("backroom", 0, 0).await;
    let mut mallory = Client::login(server.addr, "mallory").await;
    for room in ["backroom", "nowhere"] {
        let client_ref = mallory.say(room, "let me in").await;
        let error = mallory.expect_error(ErrorCode::NOT_IN_ROOM).await;
        assert_eq!(
            (error.frame_type, error.client_ref),
            (code::SEND, client_ref)
        );
    }
    // Nothing reached backroom: its next message is w2's own, seq 1.
    w1.enter("backroom", 0, 0).await;
    let ack = chat_works(&mut w2, &mut w1, "backroom", "private").await;
    assert_eq!(ack.seq, 1);
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, mallory));
    server.finish().await;
}

/// What the reading witness saw, for the sender to pace itself by.
#[derive(Debug)]
enum Seen {
    Message(u64),
    SlothGone,
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_without_slowing_anyone() {
    // spec: FLOW-3, LIMIT-2, CLOSE-3, MSG-2
    const BODY: usize = 32_000;
    let server = TestServer::with(|c| {
        c.queue_depth = 16;
        // A join replay must fit the queue: keep history_max small with it.
        c.history_max = 8;
        c.max_body = BODY as u16;
        c.max_frame = 1 << 17;
    })
    .await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "bob").await;

    // The sloth logs in, then never reads again; a small receive buffer
    // makes its socket fill sooner.
    let mut sloth = Client::connect_small_buffer(server.addr, 4096).await;
    sloth.name = "sloth".into();
    assert!(matches!(sloth.recv().await, Frame::Greeting(_)));
    sloth.hello().await;
    sloth.send_login("sloth").await;
    assert!(matches!(sloth.recv().await, Frame::Welcome(_)));
    let (first_seq, _) = sloth.expect_joined("lobby").await;

    // bob reads everything, in a task of his own.
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let bob_task = tokio::spawn(async move {
        loop {
            let frame = bob.recv().await;
            if bob.answer_ping(&frame).await {
                continue;
            }
            match frame {
                Frame::Message(m) if m.body == "done" => return bob,
                Frame::Message(m) => {
                    assert_eq!(m.sender, "alice");
                    seen_tx.send(Seen::Message(m.seq)).unwrap();
                }
                Frame::Presence(p)
                    if p.username == "sloth" && p.event == PresenceEvent::Disconnected =>
                {
                    seen_tx.send(Seen::SlothGone).unwrap();
                }
                Frame::Presence(_) => {}
                other => panic!("bob: unexpected {other:?}"),
            }
        }
    });

    // alice sends messages one after another; each ACK must come promptly,
    // and bob must get each message, whatever the sloth does. The first
    // ones are big, to fill the sloth's socket buffers (a few MB on
    // loopback); small ones follow until the server has cut the sloth off.
    let big = "z".repeat(BODY);
    let mut sloth_gone_after = None;
    let mut slowest_ack = Duration::ZERO;
    let mut pace = tokio::time::interval(Duration::from_millis(5));
    for sent in 0..5_000u32 {
        let expected_seq = first_seq + u64::from(sent);
        let body = if sent < 300 {
            big.as_str()
        } else {
            // Chat at a human-ish pace until the server has acted.
            pace.tick().await;
            "tick"
        };
        let started = Instant::now();
        let client_ref = alice.say("lobby", body).await;
        let ack = alice.expect_ack(client_ref).await;
        slowest_ack = slowest_ack.max(started.elapsed());
        assert_eq!(ack.seq, expected_seq, "seq stays contiguous");
        loop {
            match tokio::time::timeout(PATIENCE, seen.recv()).await {
                Ok(Some(Seen::Message(seq))) => {
                    assert_eq!(seq, expected_seq, "bob gets every message in order");
                    break;
                }
                Ok(Some(Seen::SlothGone)) => {
                    sloth_gone_after.get_or_insert(sent);
                }
                other => panic!("bob stopped: {other:?}"),
            }
        }
        if sloth_gone_after.is_some_and(|at| sent >= at + 5) {
            break;
        }
    }
    let sloth_gone_after = sloth_gone_after.expect("the sloth was never cut off");
    assert!(
        slowest_ack < Duration::from_secs(2),
        "a sender waited {slowest_ack:?} for an ACK"
    );
    eprintln!(
        "sloth cut off after {sloth_gone_after} messages of {BODY} bytes; slowest ACK {slowest_ack:?}"
    );
    // Normal chat after the cut.
    let client_ref = alice.say("lobby", "done").await;
    alice.expect_ack(client_ref).await;
    let mut bob = bob_task.await.unwrap();
    chat_works(&mut bob, &mut alice, "lobby", "all good").await;

    // Only now does the sloth read: whole frames, the last of them ERROR
    // SLOW_CONSUMER, then the end of the stream.
    let (frames, ending) = sloth.read_to_end().await;
    let mut next = first_seq;
    for frame in &frames[..frames.len().saturating_sub(1)] {
        match frame {
            Frame::Message(m) => {
                assert_eq!(m.seq, next, "the sloth's messages are a contiguous prefix");
                next += 1;
            }
            Frame::Presence(_) => {}
            other => panic!("sloth: unexpected {other:?}"),
        }
    }
    match frames.last() {
        Some(Frame::ErrorFrame(error)) => {
            assert_eq!(error.code, ErrorCode::SLOW_CONSUMER);
            assert!(error.is_fatal());
            assert_eq!(error.frame_type, 0);
        }
        other => panic!(
            "sloth: the last frame must be ERROR SLOW_CONSUMER, got {} after {} frames ({ending:?})",
            other.map_or("nothing".to_string(), |f| match f {
                Frame::Message(m) => format!("MESSAGE seq {}", m.seq),
                f => format!("{f:?}"),
            }),
            frames.len()
        ),
    }
    assert!(matches!(ending, Ending::Eof), "{ending:?}");
    drop((alice, bob, sloth));
    server.finish().await;
}

/// Pipelines `count` SENDs (client_refs 1..=count) in one write.
fn burst(count: u32, body: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for client_ref in 1..=count {
        bytes.extend(wire(&send_frame(
            client_ref,
            "lobby",
            &format!("{body} {client_ref}"),
        )));
    }
    bytes
}

fn default_rates(c: &mut confab_server::Config) {
    let defaults = confab_server::Config::default();
    c.msg_rate = defaults.msg_rate;
    c.msg_burst = defaults.msg_burst;
    c.byte_rate = defaults.byte_rate;
    c.byte_burst = defaults.byte_burst;
}

#[tokio::test]
async fn a_flood_is_rate_limited_then_cut_off_while_others_chat() {
    // spec: FLOW-1, FLOW-2, FLOW-4, ERROR-3, CLOSE-3
    let server = TestServer::with(default_rates).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;

    // A burst just past msg_burst: rate limited, not disconnected.
    let mut eager = Client::login(server.addr, "eager").await;
    eager.write_raw(&burst(70, "eager")).await;
    let (mut acked, mut limited) = (0, 0);
    for client_ref in 1..=70 {
        match eager.recv_skipping_presence().await {
            Frame::Ack(ack) => {
                assert_eq!(ack.client_ref, client_ref);
                acked += 1;
            }
            Frame::ErrorFrame(error) => {
                assert_eq!(error.code, ErrorCode::RATE_LIMITED, "{error:?}");
                assert!(!error.is_fatal());
                assert_eq!(
                    (error.frame_type, error.client_ref),
                    (code::SEND, client_ref)
                );
                limited += 1;
            }
            other => panic!("eager: unexpected {other:?}"),
        }
    }
    assert!(
        (60..=65).contains(&acked),
        "{acked} of 70 accepted with burst 60"
    );
    assert_eq!(acked + limited, 70);
    // Still connected: the next request is answered (FLOW-5: it costs a
    // token too, so it may be refused while the bucket refills).
    eager.list_rooms().await;
    match eager.recv_skipping_presence().await {
        Frame::RoomList(_) => {}
        Frame::ErrorFrame(e) => assert_eq!(
            (e.code, e.frame_type, e.is_fatal()),
            (ErrorCode::RATE_LIMITED, code::LIST_ROOMS, false)
        ),
        other => panic!("eager: unexpected {other:?}"),
    }
    for w in [&mut w1, &mut w2] {
        for i in 0..acked {
            let m = w.expect_message().await;
            assert_eq!(m.sender, "eager", "message {i}");
        }
    }

    // A real flood: every SEND is answered in order, ACK or RATE_LIMITED,
    // until the rejections pass msg_burst within a second: FLOODING, closed.
    let mut flooder = Client::login(server.addr, "flooder").await;
    flooder.write_raw(&burst(400, "flood")).await;
    // Meanwhile a witness's message still gets through.
    let client_ref = w1.say("lobby", "over the noise").await;
    ack_skipping_messages(&mut w1, client_ref).await;
    let mut flood_delivered = 0;
    loop {
        let m = w2.expect_message().await;
        if m.sender == "wit1" {
            assert_eq!(m.body, "over the noise");
            break;
        }
        assert_eq!(m.sender, "flooder");
        flood_delivered += 1;
        assert!(flood_delivered <= 400);
    }

    let (frames, ending) = flooder.read_to_end().await;
    assert!(matches!(ending, Ending::Eof), "{ending:?}");
    // Only the answers to its SENDs (it also hears the lobby).
    let frames: Vec<Frame> = frames
        .into_iter()
        .filter(|f| !matches!(f, Frame::Presence(_) | Frame::Message(_)))
        .collect();
    let (last, answers) = frames.split_last().expect("some answers");
    let (mut acked, mut limited) = (0u32, 0u32);
    for (i, frame) in answers.iter().enumerate() {
        let client_ref = i as u32 + 1;
        match frame {
            Frame::Ack(ack) => {
                assert_eq!(ack.client_ref, client_ref);
                acked += 1;
            }
            Frame::ErrorFrame(error) if error.code == ErrorCode::RATE_LIMITED => {
                assert_eq!(error.client_ref, client_ref);
                assert!(!error.is_fatal());
                limited += 1;
            }
            other => panic!("flooder answer {client_ref}: {other:?}"),
        }
    }
    match last {
        Frame::ErrorFrame(error) => {
            assert_eq!(error.code, ErrorCode::FLOODING);
            assert!(error.is_fatal());
            assert_eq!(error.frame_type, code::SEND);
        }
        other => panic!("flooder: expected FLOODING last, got {other:?}"),
    }
    assert!((60..=65).contains(&acked), "{acked} accepted");
    assert_eq!(
        limited, 60,
        "FLOODING on the rejection after msg_burst rejections"
    );
    assert!(
        answers.len() < 400,
        "nothing after the fatal error is processed"
    );

    // Everything the flooder got accepted reached the lobby, then it left.
    for w in [&mut w1, &mut w2] {
        disconnected_skipping_messages(w, "flooder").await;
    }
    still_fine_after_noise(&mut w1, &mut w2).await;
    drop((w1, w2, eager, flooder));
    server.finish().await;
}

/// Like `still_fine`, tolerating flood messages still queued for the witnesses.
async fn still_fine_after_noise(w1: &mut Client, w2: &mut Client) {
    round_over_noise(w1, w2).await;
    round_over_noise(w2, w1).await;
}

async fn round_over_noise(from: &mut Client, to: &mut Client) {
    let client_ref = from.say("lobby", "after the storm").await;
    ack_skipping_messages(from, client_ref).await;
    for _ in 0..1_000 {
        let m = to.expect_message().await;
        if m.sender.as_str() == from.name {
            assert_eq!(m.body, "after the storm");
            return;
        }
    }
    panic!("{} never got {}'s message", to.name, from.name);
}

/// The ACK of `client_ref`, skipping room messages and PRESENCE before it.
async fn ack_skipping_messages(
    client: &mut Client,
    client_ref: u32,
) -> confab_protocol::frame::Ack {
    for _ in 0..1_000 {
        match client.recv_skipping_presence().await {
            Frame::Ack(ack) if ack.client_ref == client_ref => return ack,
            Frame::Message(_) => continue,
            other => panic!("{}: expected ACK {client_ref}, got {other:?}", client.name),
        }
    }
    panic!("{}: no ACK {client_ref}", client.name);
}

/// Waits for `user`'s PRESENCE disconnected, skipping room messages before it.
async fn disconnected_skipping_messages(client: &mut Client, user: &str) {
    for _ in 0..1_000 {
        let frame = client.recv().await;
        if client.answer_ping(&frame).await {
            continue;
        }
        match frame {
            Frame::Presence(p) if p.username == user => {
                assert_eq!(p.event, PresenceEvent::Disconnected);
                return;
            }
            Frame::Presence(_) | Frame::Message(_) => continue,
            other => panic!(
                "{}: expected PRESENCE of {user}, got {other:?}",
                client.name
            ),
        }
    }
    panic!("{}: no PRESENCE of {user}", client.name);
}

#[tokio::test]
async fn the_flooding_error_names_the_send_that_caused_it() {
    // spec: FLOW-2, ERROR-1
    // The ERROR field rules: "client_ref is the client_ref of the SEND or
    // DIRECT that caused the error, whatever the error".
    let server = TestServer::with(default_rates).await;
    let mut flooder = Client::login(server.addr, "flooder").await;
    flooder.write_raw(&burst(300, "flood")).await;
    let (frames, _) = flooder.read_to_end().await;
    let answered = frames
        .iter()
        .filter(|f| !matches!(f, Frame::Message(_)))
        .filter(|f| matches!(f, Frame::Ack(_) | Frame::ErrorFrame(_)))
        .count() as u32;
    match frames.last() {
        Some(Frame::ErrorFrame(error)) if error.code == ErrorCode::FLOODING => {
            assert_eq!(
                (error.frame_type, error.client_ref),
                (code::SEND, answered),
                "FLOODING was caused by SEND client_ref {answered}"
            );
        }
        other => panic!("expected FLOODING last, got {other:?}"),
    }
    drop(flooder);
    server.finish().await;
}

#[tokio::test]
async fn the_byte_bucket_limits_big_messages_separately() {
    // spec: FLOW-1
    let server = TestServer::with(|c| {
        c.msg_rate = 100;
        c.msg_burst = 100;
        c.byte_rate = 4096;
        c.byte_burst = 4096;
    })
    .await;
    let mut alice = Client::login(server.addr, "alice").await;
    let big = "b".repeat(4096);
    let first = alice.say("lobby", &big).await;
    let second = alice.say("lobby", &"c".repeat(2000)).await;
    alice.expect_ack(first).await;
    let error = alice.expect_error(ErrorCode::RATE_LIMITED).await;
    assert_eq!(error.client_ref, second);
    drop(alice);
    server.finish().await;
}

#[tokio::test]
async fn a_busy_client_does_not_starve_the_others() {
    // spec: FLOW-4
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;

    // The busy client writes PINGs (not rate limited) without pause and
    // reads its PONGs in another task.
    let busy = Client::login(server.addr, "busy").await;
    let (mut reader, mut writer) = busy.framed.into_inner().into_split();
    let stop = tokio_util::sync::CancellationToken::new();
    let stop_writer = stop.clone();
    let flood = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut batch = Vec::new();
        for nonce in 0..1_000u64 {
            batch.extend(wire(&Frame::Ping(Ping { nonce })));
        }
        let mut batches = 0u64;
        while !stop_writer.is_cancelled() && batches < 100_000 {
            writer.write_all(&batch).await.unwrap();
            batches += 1;
            tokio::task::yield_now().await;
        }
        batches
    });
    let stop_drain = stop.clone();
    let drain = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        loop {
            tokio::select! {
                _ = stop_drain.cancelled() => return (total, true),
                read = reader.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return (total, false),
                    Ok(n) => total += n,
                },
            }
        }
    });

    let mut slowest = Duration::ZERO;
    let chat_started = Instant::now();
    let mut rounds = 0;
    // Chat for half a second of flood (bounded by a number of rounds too).
    while rounds < 5_000 && chat_started.elapsed() < Duration::from_millis(500) {
        let started = Instant::now();
        chat_works(&mut w1, &mut w2, "lobby", &format!("round {rounds}")).await;
        slowest = slowest.max(started.elapsed());
        rounds += 1;
    }
    assert!(!flood.is_finished(), "the flood lasted the whole time");
    stop.cancel();
    let batches = flood.await.unwrap();
    assert!(
        batches >= 10,
        "the busy client was busy: {batches} batches of 1,000 PINGs"
    );
    assert!(
        slowest < Duration::from_millis(500),
        "a round trip took {slowest:?} while another client flooded"
    );
    let (pong_bytes, still_open) = drain.await.unwrap();
    eprintln!(
        "busy client wrote {batches} batches of 1,000 PINGs and got {} PONGs; {rounds} rounds of chat in {:?}, slowest {slowest:?}",
        pong_bytes / 13,
        chat_started.elapsed()
    );
    assert!(still_open, "the busy client was not cut off");
    assert!(
        pong_bytes >= 13 * 1_000,
        "its PINGs were answered: {pong_bytes} bytes"
    );
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2));
    server.finish().await;
}

#[tokio::test]
async fn past_max_connections_a_newcomer_gets_server_full() {
    // spec: LIMIT-1, HANDSHAKE-1
    let server = TestServer::with(|c| c.max_connections = 2).await;
    let mut w1 = Client::login(server.addr, "wit1").await;
    let (second, _) = Client::connect(server.addr).await;

    let mut third = Client::connect_raw(server.addr).await;
    let error = third.expect_fatal_then_close(ErrorCode::SERVER_FULL).await;
    assert_eq!((error.frame_type, error.client_ref), (0, 0));
    assert!(!error.message.is_empty());

    // The logged-in client is unaffected.
    w1.list_rooms().await;
    assert!(matches!(w1.recv().await, Frame::RoomList(_)));

    // Once a connection ends, its place is given back.
    drop(second);
    let mut admitted = None;
    for _ in 0..100 {
        let mut attempt = Client::connect_raw(server.addr).await;
        match attempt.recv().await {
            Frame::Greeting(_) => {
                admitted = Some(attempt);
                break;
            }
            Frame::ErrorFrame(e) if e.code == ErrorCode::SERVER_FULL => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut admitted = admitted.expect("a freed place is reused");
    admitted.hello().await;
    admitted.send_login("newcomer").await;
    assert!(matches!(admitted.recv().await, Frame::Welcome(_)));
    drop((w1, admitted, third));
    server.finish().await;
}

#[tokio::test]
async fn past_max_per_ip_a_newcomer_gets_too_many_connections() {
    // spec: LIMIT-1
    let server = TestServer::with(|c| c.max_per_ip = 1).await;
    let mut w1 = Client::login(server.addr, "wit1").await;
    let mut second = Client::connect_raw(server.addr).await;
    let error = second
        .expect_fatal_then_close(ErrorCode::TOO_MANY_CONNECTIONS)
        .await;
    assert_eq!((error.frame_type, error.client_ref), (0, 0));
    // The limit is per address: another loopback address is welcome.
    let mut other = Client::connect_from(server.addr, "127.0.0.2".parse().unwrap()).await;
    other.name = "wit2".into();
    assert!(matches!(other.recv().await, Frame::Greeting(_)));
    other.hello().await;
    other.send_login("wit2").await;
    assert!(matches!(other.recv().await, Frame::Welcome(_)));
    other.expect_joined("lobby").await;
    expect_presence(&mut w1, PresenceEvent::Joined, "lobby", "wit2").await;
    still_fine(&mut w1, &mut other).await;
    drop((w1, other, second));
    server.finish().await;
}

#[tokio::test]
async fn shutdown_flushes_queued_frames_then_says_goodbye() {
    // spec: CLOSE-2, STATE-4
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    let (mut carol, _) = Client::connect(server.addr).await; // mid-handshake
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "bob").await;
    // Three messages queued for bob (each ACK comes after bob's copy is queued).
    let mut acks = Vec::new();
    for i in 0..3 {
        let client_ref = alice.say("lobby", &format!("queued {i}")).await;
        acks.push(alice.expect_ack(client_ref).await);
    }

    let started = Instant::now();
    server.shutdown.cancel();
    let bob_frames = bob.expect_closed().await;
    let alice_frames = alice.expect_closed().await;
    let carol_frames = carol.expect_closed().await;

    let goodbye = |frames: &[Frame], who: &str| match frames.last() {
        Some(Frame::Goodbye(g)) => assert_eq!(g.reason, ErrorCode::SERVER_SHUTDOWN, "{who}"),
        other => panic!("{who}: expected GOODBYE SERVER_SHUTDOWN last, got {other:?}"),
    };
    goodbye(&bob_frames, "bob");
    goodbye(&alice_frames, "alice");
    goodbye(&carol_frames, "carol");
    // alice may first hear that bob's connection ended, nothing else.
    assert!(
        alice_frames[..alice_frames.len() - 1]
            .iter()
            .all(|f| matches!(f, Frame::Presence(_))),
        "{alice_frames:?}"
    );
    assert_eq!(carol_frames.len(), 1, "{carol_frames:?}");
    let delivered: Vec<(u64, String)> = bob_frames
        .iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some((m.seq, m.body.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        delivered,
        acks.iter()
            .enumerate()
            .map(|(i, a)| (a.seq, format!("queued {i}")))
            .collect::<Vec<_>>()
    );
    drop((alice, bob, carol));

    let result = tokio::time::timeout(PATIENCE, server.handle)
        .await
        .expect("run returns after shutdown")
        .expect("run did not panic");
    assert_eq!(result, Ok(()));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The listener is gone.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
    common::assert_no_server_panic();
}

#[tokio::test]
async fn a_client_goodbye_closes_the_connection_and_is_announced() {
    // spec: CLOSE-1, CLOSE-3, STATE-4, PRESENCE-2
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut leaver = Client::login(server.addr, "leaver").await;
    let mut bytes = wire(&Frame::Goodbye(Goodbye::new(ErrorCode::NORMAL, "bye")));
    // Nothing after GOODBYE is processed.
    bytes.extend(wire(&send_frame(1, "lobby", "after goodbye")));
    leaver.write_raw(&bytes).await;
    let frames = leaver.expect_closed().await;
    assert!(
        frames.iter().all(|f| matches!(f, Frame::Presence(_))),
        "no reply to GOODBYE: {frames:?}"
    );
    for w in [&mut w1, &mut w2] {
        expect_presence(w, PresenceEvent::Disconnected, "lobby", "leaver").await;
    }
    still_fine(&mut w1, &mut w2).await;
    // The name is free again after the close.
    drop((w1, w2, leaver));
    server.finish().await;
}

#[tokio::test]
async fn keepalive_pings_idle_clients_and_drops_the_silent() {
    // spec: KEEPALIVE-1, KEEPALIVE-2, SEC-7
    let server = TestServer::with(|c| {
        c.ping_interval_ms = 1_000;
        c.ping_timeout_ms = 1_000;
    })
    .await;
    let mut lively = Client::login(server.addr, "lively").await;
    let started = Instant::now();
    let deadline = started + Duration::from_millis(3_300);

    // Answers every PING: stays.
    let lively_run = async {
        let mut pings = 0;
        let mut saw_mute_leave = false;
        while let Ok(frame) = tokio::time::timeout_at(deadline.into(), lively.recv()).await {
            match frame {
                Frame::Ping(ping) => {
                    pings += 1;
                    lively.answer_ping(&Frame::Ping(ping)).await;
                }
                Frame::Presence(p) => {
                    if p.username == "mute" && p.event == PresenceEvent::Disconnected {
                        saw_mute_leave = true;
                    }
                }
                other => panic!("lively: unexpected {other:?}"),
            }
        }
        assert!(pings >= 2, "lively got {pings} PINGs in 3.3 s");
        assert!(saw_mute_leave, "lively saw the mute client dropped");
    };
    // Reads, never answers: PING, then IDLE_TIMEOUT.
    let mute_run = async {
        let mut mute = Client::login(server.addr, "mute").await;
        let logged_in = Instant::now();
        let frames = mute.expect_closed().await;
        let elapsed = logged_in.elapsed();
        let frames: Vec<&Frame> = frames
            .iter()
            .filter(|f| !matches!(f, Frame::Presence(_)))
            .collect();
        match frames.as_slice() {
            [Frame::Ping(_), Frame::ErrorFrame(error)] => {
                assert_eq!(error.code, ErrorCode::IDLE_TIMEOUT);
                assert!(error.is_fatal());
                assert_eq!(error.frame_type, 0);
            }
            other => panic!("mute: expected PING then IDLE_TIMEOUT, got {other:?}"),
        }
        assert!(
            elapsed >= Duration::from_millis(1_900) && elapsed < Duration::from_millis(3_300),
            "dropped after {elapsed:?}, want about interval + timeout = 2 s"
        );
    };
    // Never answers PINGs but talks on its own every 400 ms: never pinged.
    let chatty_run = async {
        let mut chatty = Client::login(server.addr, "chatty").await;
        let mut tick = tokio::time::interval(Duration::from_millis(400));
        let mut nonce = 1_000;
        let mut pongs = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => break,
                _ = tick.tick() => {
                    nonce += 1;
                    chatty.send(Frame::Ping(Ping { nonce })).await;
                }
                frame = chatty.recv() => match frame {
                    Frame::Pong(p) => {
                        assert_eq!(p.nonce, nonce);
                        pongs += 1;
                    }
                    Frame::Presence(_) => {}
                    other => panic!("chatty: unexpected {other:?}"),
                }
            }
        }
        assert!(pongs >= 5, "{pongs} PONGs");
        chatty
    };
    // Mid-handshake, silent after HELLO: pinged in AWAIT_LOGIN too.
    let handshaking_run = async {
        let (mut client, _) = Client::connect(server.addr).await;
        client.hello().await;
        let frames = client.expect_closed().await;
        match frames.as_slice() {
            [Frame::Ping(_), Frame::ErrorFrame(error)] => {
                assert_eq!(error.code, ErrorCode::IDLE_TIMEOUT)
            }
            other => panic!("handshaking: expected PING then IDLE_TIMEOUT, got {other:?}"),
        }
    };
    let ((), (), mut chatty, ()) = tokio::join!(lively_run, mute_run, chatty_run, handshaking_run);

    // Well past 3 s, lively and chatty are still connected and chat.
    assert!(started.elapsed() >= Duration::from_secs(3));
    chat_works(&mut lively, &mut chatty, "lobby", "still awake").await;
    drop((lively, chatty));
    server.finish().await;
}

#[tokio::test]
async fn a_frame_split_into_single_bytes_is_reassembled() {
    // spec: FRAMING-6
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut slow = Client::login(server.addr, "slow").await;
    slow.framed.get_ref().set_nodelay(true).unwrap();
    let bytes = wire(&send_frame(42, "lobby", "one byte at a time"));
    for byte in &bytes {
        slow.write_raw(std::slice::from_ref(byte)).await;
        tokio::task::yield_now().await;
    }
    slow.expect_ack(42).await;
    for w in [&mut w1, &mut w2] {
        assert_eq!(w.expect_message().await.body, "one byte at a time");
    }
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, slow));
    server.finish().await;
}

#[tokio::test]
async fn a_client_dribbling_a_frame_is_not_a_sign_of_life() {
    // spec: KEEPALIVE-2, SEC-7
    // A READY client that sends one byte of a frame now and then never
    // completes a frame, so it cannot answer PING: it must be dropped
    // about ping_interval + ping_timeout after its last whole frame.
    let server = TestServer::with(|c| {
        c.ping_interval_ms = 1_000;
        c.ping_timeout_ms = 1_000;
    })
    .await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut dribbler = Client::login(server.addr, "dribbler").await;
    let logged_in = Instant::now();
    // Bounded: 5 s is well past the 2 s the keepalive allows.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);

    let dribble = async {
        let bytes = wire(&send_frame(1, "lobby", &"d".repeat(200)));
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut sent = 0;
        let mut frames = Vec::new();
        let ended = loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break None,
                _ = tick.tick() => {
                    if sent < bytes.len() && dribbler.try_write_raw(&bytes[sent..=sent]).await.is_ok() {
                        sent += 1;
                    }
                }
                frame = futures_util::StreamExt::next(&mut dribbler.framed) => match frame {
                    Some(Ok(frame)) => frames.push(frame),
                    Some(Err(_)) | None => break Some(logged_in.elapsed()),
                },
            }
        };
        frames.retain(|f| !matches!(f, Frame::Presence(_)));
        let ended = ended.unwrap_or_else(|| {
            panic!(
                "the dribbler sent {sent} bytes of one frame over 5 s and is still connected; got {frames:?}"
            )
        });
        match frames.as_slice() {
            [Frame::Ping(_), Frame::ErrorFrame(error)] => {
                assert_eq!(error.code, ErrorCode::IDLE_TIMEOUT)
            }
            other => panic!("dribbler: expected PING then IDLE_TIMEOUT, got {other:?}"),
        }
        assert!(
            ended < Duration::from_millis(3_500),
            "dropped after {ended:?}"
        );
    };
    // The witnesses meanwhile answer their own PINGs and see the dribbler go.
    async fn watch(w: &mut Client, deadline: tokio::time::Instant) -> bool {
        while let Ok(frame) = tokio::time::timeout_at(deadline, w.recv()).await {
            if w.answer_ping(&frame).await {
                continue;
            }
            match frame {
                Frame::Presence(p)
                    if p.username == "dribbler" && p.event == PresenceEvent::Disconnected =>
                {
                    return true
                }
                Frame::Presence(_) => {}
                other => panic!("{}: unexpected {other:?}", w.name),
            }
        }
        false
    }
    let ((), saw1, saw2) =
        tokio::join!(dribble, watch(&mut w1, deadline), watch(&mut w2, deadline));
    assert!(saw1 && saw2, "the witnesses saw the dribbler disconnected");
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, dribbler));
    server.finish().await;
}

#[tokio::test]
async fn errors_from_a_client_are_not_answered() {
    // spec: ERROR-2, STATE-4, CLOSE-3
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut client = Client::login(server.addr, "reporter").await;
    // A non-fatal ERROR is logged, not answered: the next frame answers PING.
    client
        .send(Frame::ErrorFrame(confab_protocol::frame::ErrorFrame::new(
            ErrorCode::UNKNOWN_FRAME_TYPE,
            0x8F,
            0,
            "what was that?",
        )))
        .await;
    client.send(Frame::Ping(Ping { nonce: 5 })).await;
    assert!(matches!(client.recv_skipping_presence().await, Frame::Pong(p) if p.nonce == 5));
    // A fatal one ends the connection without a reply.
    let mut bytes = wire(&Frame::ErrorFrame(confab_protocol::frame::ErrorFrame::new(
        ErrorCode::INTERNAL_ERROR,
        0,
        0,
        "client crashed",
    )));
    bytes.extend(wire(&send_frame(1, "lobby", "after the fatal error")));
    client.write_raw(&bytes).await;
    let frames = client.expect_closed().await;
    assert!(
        frames.iter().all(|f| matches!(f, Frame::Presence(_))),
        "{frames:?}"
    );
    for w in [&mut w1, &mut w2] {
        expect_presence(w, PresenceEvent::Disconnected, "lobby", "reporter").await;
    }
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, client));
    server.finish().await;
}

#[test]
fn the_binary_fails_fast_and_clearly_when_the_port_is_taken() {
    // spec: TRANSPORT-1
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    let (status, stderr) = run_binary_to_exit(&["--listen", &addr.to_string()]);
    assert!(!status.success(), "exit status {status:?}");
    assert!(
        stderr.contains(&addr.to_string()),
        "stderr names the address {addr}: {stderr:?}"
    );
    assert!(
        stderr.to_lowercase().contains("in use"),
        "stderr says why: {stderr:?}"
    );
    drop(holder);
}
