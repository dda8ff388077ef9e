//! LOGIN: taken, invalid and reserved names, the attempt limit, guest-only servers, auto-join.

use super::*;

#[tokio::test]
async fn a_taken_name_is_refused_case_insensitively_and_a_retry_succeeds() {
    // spec: HANDSHAKE-5, HANDSHAKE-3, SEC-3
    let server = TestServer::with(|_| {}).await;
    let alice = Client::login(server.addr, "alice").await;
    let emile = Client::login(server.addr, "\u{00C9}mile").await;
    assert_eq!(emile.name, "\u{00C9}mile");

    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    client.send(guest("ALICE")).await;
    expect_rejected(&mut client, ErrorCode::NAME_TAKEN, 2).await;
    // Same name once normalised to NFC and lower-cased: E + combining acute.
    client.send(guest("e\u{0301}MILE")).await;
    expect_rejected(&mut client, ErrorCode::NAME_TAKEN, 1).await;
    // A free name on the last attempt is accepted, normalised.
    client.send(guest("Zoe\u{0308}")).await;
    let welcome = expect_welcome(&mut client).await;
    assert_eq!(welcome.username, "Zo\u{00EB}");
    client.expect_joined("lobby").await;
    drop((client, alice, emile));
    server.finish().await;
}

#[tokio::test]
async fn invalid_names_are_refused_with_decreasing_attempts() {
    // spec: HANDSHAKE-5, HANDSHAKE-3, SEC-4
    let server = TestServer::with(|c| c.login_attempts = 9).await;
    let (mut client, greeting) = Client::connect(server.addr).await;
    let Frame::Greeting(greeting) = greeting else {
        unreachable!()
    };
    assert_eq!(greeting.limits.login_attempts, 9);
    assert_eq!(greeting.limits.max_username, 32);
    client.hello().await;
    let too_long = "a".repeat(33);
    let too_long_wide = "\u{00E9}".repeat(17); // 34 bytes, 17 characters
    let invalid = [
        "two words",
        "bell\u{0007}",
        "evil\u{202E}txt",
        too_long.as_str(),
        too_long_wide.as_str(),
        "",
        "#channel",
        "zero\u{200B}width",
    ];
    for (i, name) in invalid.iter().enumerate() {
        client.send(guest(name)).await;
        expect_rejected(&mut client, ErrorCode::NAME_INVALID, 8 - i as u8).await;
    }
    // Exactly max_username bytes is fine.
    let longest = "\u{00E9}".repeat(16);
    client.send(guest(&longest)).await;
    assert_eq!(expect_welcome(&mut client).await.username, longest.as_str());
    client.expect_joined("lobby").await;
    drop(client);
    server.finish().await;
}

#[tokio::test]
async fn reserved_names_are_refused_case_insensitively() {
    // spec: HANDSHAKE-5
    let server = TestServer::with(|_| {}).await;
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    client.send(guest("admin")).await;
    expect_rejected(&mut client, ErrorCode::NAME_RESERVED, 2).await;
    client.send(guest("SeRvEr")).await;
    expect_rejected(&mut client, ErrorCode::NAME_RESERVED, 1).await;
    client.send(guest("administrator")).await;
    assert_eq!(expect_welcome(&mut client).await.username, "administrator");
    drop(client);
    server.finish().await;
}

#[tokio::test]
async fn the_last_rejected_login_ends_with_too_many_attempts_and_a_close() {
    // spec: HANDSHAKE-4, ERROR-3, STATE-4
    let server = TestServer::with(|_| {}).await;
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    // Three bad names and, pipelined behind them, a good one that must not
    // be processed after the fatal error.
    let mut bytes = Vec::new();
    for name in ["admin", "a b", "ADMIN", "latecomer"] {
        bytes.extend(wire(&guest(name)));
    }
    client.write_raw(&bytes).await;
    expect_rejected(&mut client, ErrorCode::NAME_RESERVED, 2).await;
    expect_rejected(&mut client, ErrorCode::NAME_INVALID, 1).await;
    expect_rejected(&mut client, ErrorCode::NAME_RESERVED, 0).await;
    let error = client
        .expect_fatal_then_close(ErrorCode::TOO_MANY_ATTEMPTS)
        .await;
    assert_eq!(error.frame_type, code::LOGIN);
    assert_eq!(error.client_ref, 0);

    // "latecomer" was never logged in: the name is free.
    drop(client);
    let latecomer = Client::login(server.addr, "latecomer").await;
    assert_eq!(latecomer.name, "latecomer");
    drop(latecomer);
    server.finish().await;
}

#[tokio::test]
async fn account_logins_are_unavailable_on_a_guest_only_server() {
    // spec: HANDSHAKE-6
    let server = TestServer::with(|c| c.login_attempts = 4).await;
    let (mut client, greeting) = Client::connect(server.addr).await;
    let Frame::Greeting(greeting) = greeting else {
        unreachable!()
    };
    assert_eq!(
        greeting.flags & confab_protocol::frame::Greeting::ACCOUNTS,
        0
    );
    client.hello().await;
    for (mode, password, code) in [
        (LoginMode::Login, "secret", ErrorCode::ACCOUNTS_UNAVAILABLE),
        (
            LoginMode::Register,
            "secret",
            ErrorCode::ACCOUNTS_UNAVAILABLE,
        ),
        (LoginMode::Guest, "secret", ErrorCode::AUTH_FAILED),
    ] {
        client
            .send(Frame::Login(Login {
                mode,
                username: Str8::new("carol").unwrap(),
                password: Str8::new(password).unwrap(),
            }))
            .await;
        let left = match client.recv().await {
            Frame::LoginRejected(r) => {
                assert_eq!(r.code, code, "mode {mode:?}");
                r.attempts_left
            }
            other => panic!("expected LOGIN_REJECTED, got {other:?}"),
        };
        assert!(left >= 1);
    }
    client.send(guest("carol")).await;
    assert_eq!(expect_welcome(&mut client).await.username, "carol");
    drop(client);
    server.finish().await;
}

#[tokio::test]
async fn no_auto_join_skips_the_default_room() {
    // spec: HANDSHAKE-7, ROOM-6, PRESENCE-1
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut hermit = Client::login_flags(server.addr, "hermit", Hello::NO_AUTO_JOIN).await;
    // Had the server auto-joined, JOINED would come before the ROOM_LIST.
    hermit.list_rooms().await;
    match hermit.recv().await {
        Frame::RoomList(list) => {
            let rooms: Vec<(String, u32)> = list
                .rooms
                .iter()
                .map(|r| (r.name.to_string(), r.members))
                .collect();
            assert_eq!(rooms, [("lobby".to_string(), 1)]);
        }
        other => panic!("hermit expected ROOM_LIST, got {other:?}"),
    }
    // alice saw no PRESENCE for hermit: her next frame answers her request.
    alice.who("lobby").await;
    match alice.recv().await {
        Frame::WhoList(who) => assert_eq!(
            who.users.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            ["alice"]
        ),
        other => panic!("alice expected WHO_LIST, got {other:?}"),
    }
    // Joining explicitly still works.
    hermit.join("lobby", 0, 0).await;
    let (_, replay) = hermit.expect_joined("lobby").await;
    assert!(replay.is_empty());
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "hermit").await;
    drop((alice, hermit));
    server.finish().await;
}
