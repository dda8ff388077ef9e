//! Joining, leaving, listing rooms and their members, and presence across rooms.

use super::*;

#[tokio::test]
async fn joining_leaving_and_listing_rooms() {
    // spec: ROOM-2, ROOM-5, ROOM-6, PRESENCE-2, MSG-6
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "bob").await;

    let (joined, replay, end) = join_full(&mut alice, "dev", 0, 0).await;
    assert_eq!(
        (joined.room.as_str(), joined.next_seq, joined.members),
        ("dev", 1, 1)
    );
    assert!(replay.is_empty());
    assert_eq!(
        (end.count, end.flags),
        (0, 0),
        "HISTORY_END even with history 0"
    );

    // Names compare case-insensitively; the room keeps its first spelling.
    let (joined, _, _) = join_full(&mut bob, "DEV", 0, 0).await;
    assert_eq!((joined.room.as_str(), joined.members), ("dev", 2));
    expect_presence(&mut alice, PresenceEvent::Joined, "dev", "bob").await;

    // Joining again answers the same way but announces nothing.
    let (joined, _, _) = join_full(&mut bob, "dev", 0, 0).await;
    assert_eq!(joined.members, 2);
    assert_eq!(
        room_list(&mut alice).await,
        set(&[("lobby", 2), ("dev", 2)]),
        "alice's next frame is the list: no PRESENCE for the repeated JOIN"
    );

    bob.leave("Dev").await;
    match bob.recv().await {
        Frame::Left(left) => assert_eq!(left.room, "dev"),
        other => panic!("bob expected LEFT, got {other:?}"),
    }
    expect_presence(&mut alice, PresenceEvent::Left, "dev", "bob").await;
    for room in ["dev", "nowhere"] {
        bob.leave(room).await;
        let error = bob.expect_error(ErrorCode::NOT_IN_ROOM).await;
        assert_eq!((error.frame_type, error.client_ref), (code::LEAVE, 0));
    }
    let client_ref = bob.say("dev", "still here?").await;
    let error = bob.expect_error(ErrorCode::NOT_IN_ROOM).await;
    assert_eq!(error.client_ref, client_ref);
    assert_eq!(room_list(&mut bob).await, set(&[("lobby", 2), ("dev", 1)]));

    // An empty room is not listed.
    alice.leave("dev").await;
    assert!(matches!(alice.recv().await, Frame::Left(_)));
    assert_eq!(room_list(&mut bob).await, set(&[("lobby", 2)]));

    // Leaving the default room works like any other.
    alice.leave("lobby").await;
    assert!(matches!(alice.recv().await, Frame::Left(_)));
    expect_presence(&mut bob, PresenceEvent::Left, "lobby", "alice").await;
    assert_eq!(room_list(&mut bob).await, set(&[("lobby", 1)]));
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn invalid_room_names_are_refused() {
    // spec: ROOM-1, SEC-3, SEC-4
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let too_long = "r".repeat(65);
    for name in [
        "two words",
        "",
        "#hash",
        "/slash",
        "@at",
        too_long.as_str(),
        "rtl\u{202E}lol",
        "tab\there",
        "nul\u{0}",
        "zw\u{FEFF}",
    ] {
        alice.join(name, 0, 0).await;
        let error = alice.expect_error(ErrorCode::ROOM_INVALID).await;
        assert_eq!(error.frame_type, code::JOIN, "{name:?}");
    }
    // The limit itself is fine, and names are compared after NFC and case folding.
    let longest = "r".repeat(64);
    let (joined, _, _) = join_full(&mut alice, &longest, 0, 0).await;
    assert_eq!(joined.room, longest.as_str());
    let (joined, _, _) = join_full(&mut alice, "Cafe\u{0301}", 0, 0).await;
    assert_eq!(joined.room, "Caf\u{00E9}");
    let mut bob = Client::login(server.addr, "bob").await;
    let (joined, _, _) = join_full(&mut bob, "CAF\u{00C9}", 0, 0).await;
    assert_eq!((joined.room.as_str(), joined.members), ("Caf\u{00E9}", 2));
    expect_presence(&mut alice, PresenceEvent::Joined, "Caf\u{00E9}", "bob").await;
    // Requests may spell a joined room any equivalent way.
    let client_ref = alice.say("cAFE\u{0301}", "bonjour").await;
    alice.expect_ack(client_ref).await;
    let m = bob.expect_message().await;
    assert_eq!(
        (m.room.as_str(), m.body.as_str()),
        ("Caf\u{00E9}", "bonjour")
    );
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn a_client_may_be_in_at_most_max_rooms() {
    // spec: ROOM-4
    let server = TestServer::with(|c| c.max_rooms = 3).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "r1", 0, 0).await;
    join_full(&mut alice, "r2", 0, 0).await;
    alice.join("r3", 0, 0).await;
    let error = alice.expect_error(ErrorCode::TOO_MANY_ROOMS).await;
    assert_eq!(error.frame_type, code::JOIN);
    // A room already joined may be joined again at the limit.
    let (joined, _, _) = join_full(&mut alice, "R1", 0, 0).await;
    assert_eq!(joined.members, 1);
    // Leaving makes room.
    alice.leave("r2").await;
    assert!(matches!(alice.recv().await, Frame::Left(_)));
    let (joined, _, _) = join_full(&mut alice, "r3", 0, 0).await;
    assert_eq!(joined.room, "r3");
    assert_eq!(
        room_list(&mut alice).await,
        set(&[("lobby", 1), ("r1", 1), ("r3", 1)])
    );
    drop(alice);
    server.finish().await;
}

#[tokio::test]
async fn who_lists_a_rooms_members_or_everyone() {
    // spec: PRESENCE-1
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    let mut carol = Client::login_flags(server.addr, "carol", Hello::NO_AUTO_JOIN).await;

    let mut lobby = who(&mut carol, "lobby").await;
    lobby.sort();
    assert_eq!(lobby, ["alice", "bob"], "a non-member may ask");
    let mut everyone = who(&mut alice, "").await;
    everyone.sort();
    assert_eq!(everyone, ["alice", "bob", "carol"]);

    carol.who("ghost").await;
    let error = carol.expect_error(ErrorCode::NO_SUCH_ROOM).await;
    assert_eq!(error.frame_type, code::WHO);

    // A room whose members all left and that never had a message is gone;
    // one with history still exists, with nobody in it.
    join_full(&mut bob, "quiet", 0, 0).await;
    bob.leave("quiet").await;
    assert!(matches!(bob.recv_skipping_presence().await, Frame::Left(_)));
    carol.who("quiet").await;
    carol.expect_error(ErrorCode::NO_SUCH_ROOM).await;

    join_full(&mut bob, "used", 0, 0).await;
    let client_ref = bob.say("used", "anyone?").await;
    bob.expect_ack(client_ref).await;
    assert_eq!(who(&mut carol, "used").await, ["bob"]);
    bob.leave("used").await;
    assert!(matches!(bob.recv_skipping_presence().await, Frame::Left(_)));
    assert!(who(&mut carol, "used").await.is_empty());

    // A disconnected user disappears from both answers.
    drop(bob);
    expect_presence(&mut alice, PresenceEvent::Disconnected, "lobby", "bob").await;
    assert_eq!(who(&mut carol, "lobby").await, ["alice"]);
    let mut everyone = who(&mut carol, "").await;
    everyone.sort();
    assert_eq!(everyone, ["alice", "carol"]);
    drop((alice, carol));
    server.finish().await;
}

#[tokio::test]
async fn presence_follows_members_across_rooms() {
    // spec: PRESENCE-2, CLOSE-3
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "bob").await;
    join_full(&mut alice, "side", 0, 0).await;
    join_full(&mut bob, "side", 0, 0).await;
    expect_presence(&mut alice, PresenceEvent::Joined, "side", "bob").await;
    drop(bob);
    // One PRESENCE 3 per shared room.
    let mut rooms = HashSet::new();
    for _ in 0..2 {
        match alice.recv().await {
            Frame::Presence(p) => {
                assert_eq!(
                    (p.event, p.username.as_str()),
                    (PresenceEvent::Disconnected, "bob")
                );
                rooms.insert(p.room.to_string());
            }
            other => panic!("alice expected PRESENCE, got {other:?}"),
        }
    }
    assert_eq!(
        rooms,
        HashSet::from(["lobby".to_string(), "side".to_string()])
    );
    assert_eq!(
        room_list(&mut alice).await,
        set(&[("lobby", 1), ("side", 1)])
    );
    drop(alice);
    server.finish().await;
}

#[tokio::test]
async fn long_lists_come_in_pages_that_fit_max_frame() {
    // spec: ROOM-6, PRESENCE-1, FRAMING-2
    const MAX_FRAME: u32 = 4096;
    let server = TestServer::with(|c| {
        c.max_frame = MAX_FRAME;
        c.max_username = 255;
        c.max_room_name = 255;
        // The largest body whose MESSAGE still fits max_frame (`[LIMIT-9]`).
        c.max_body = 4096 - 29 - 255 - 255;
        c.max_rooms = 40;
    })
    .await;
    // 20 users with 255-byte names: about 5 KB of names.
    let mut users = Vec::new();
    for i in 0..20 {
        let name = format!("{}{i:02}", "u".repeat(253));
        let mut client = Client::login_flags(server.addr, &name, Hello::NO_AUTO_JOIN).await;
        client.framed.codec_mut().set_max_frame(MAX_FRAME);
        users.push(client);
    }
    // One of them in 30 rooms with 255-byte names: about 8 KB of entries.
    let rooms: Vec<String> = (0..30)
        .map(|i| format!("{}{i:02}", "r".repeat(253)))
        .collect();
    for room in &rooms {
        join_full(&mut users[0], room, 0, 0).await;
    }
    let first = &mut users[0];

    first.list_rooms().await;
    let mut listed = HashSet::new();
    let mut pages = 0;
    loop {
        match first.recv().await {
            Frame::RoomList(list) => {
                pages += 1;
                assert!(!list.rooms.is_empty());
                listed.extend(list.rooms.iter().map(|r| (r.name.to_string(), r.members)));
                if list.flags & confab_protocol::frame::RoomList::MORE == 0 {
                    break;
                }
            }
            other => panic!("expected ROOM_LIST, got {other:?}"),
        }
        assert!(pages < 100);
    }
    assert!(pages >= 2, "{pages} pages");
    assert_eq!(listed, rooms.iter().map(|r| (r.clone(), 1)).collect());

    first.who("").await;
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        match first.recv().await {
            Frame::WhoList(list) => {
                pages += 1;
                names.extend(list.users.iter().map(|u| u.to_string()));
                if list.flags & confab_protocol::frame::WhoList::MORE == 0 {
                    break;
                }
            }
            other => panic!("expected WHO_LIST, got {other:?}"),
        }
        assert!(pages < 100);
    }
    assert!(pages >= 2, "{pages} pages");
    names.sort();
    let mut expected: Vec<String> = users.iter().map(|u| u.name.clone()).collect();
    expected.sort();
    assert_eq!(names, expected);
    drop(users);
    server.finish().await;
}
