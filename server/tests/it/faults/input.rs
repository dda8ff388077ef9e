//! Broken and hostile input: frames cut short, not Confab, oversized,
//! undecodable, unknown, unexpected, and errors a client sends.

use super::*;

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
            raw_frame(0x93, &[0xDE, 0xAD, 0xBE, 0xEF]),
            0x93,
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
    for frame_type in [0xA0u8, 0xFF, 0x93, 0x1F] {
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
            0x93,
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
