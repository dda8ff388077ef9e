//! Message ids and per-room seqs, and each sender's order.

use super::*;

#[tokio::test]
async fn ids_increase_and_seqs_are_contiguous_per_room() {
    // spec: MSG-3, MSG-4, MSG-1
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    join_full(&mut alice, "a", 0, 0).await;
    join_full(&mut alice, "b", 0, 0).await;

    let mut last_id = 0;
    let mut next_seq: HashMap<&str, u64> = HashMap::from([("a", 1), ("b", 1), ("lobby", 1)]);
    for i in 0..30 {
        let room = ["a", "b", "lobby", "a", "a"][i % 5];
        let client_ref = alice.say(room, &format!("{room}{i}")).await;
        let ack = alice.expect_ack(client_ref).await;
        assert!(ack.id > last_id, "ids increase: {} after {last_id}", ack.id);
        last_id = ack.id;
        let seq = next_seq.get_mut(room).unwrap();
        assert_eq!(ack.seq, *seq, "{room} seq");
        *seq += 1;
        if i % 7 == 0 {
            // Direct messages take ids from the same sequence.
            let client_ref = alice.dm("bob", "dm").await;
            let ack = alice.expect_ack(client_ref).await;
            assert!(ack.id > last_id);
            last_id = ack.id;
        }
    }
    // bob, in the lobby only, saw the lobby's messages with contiguous seqs
    // and the DMs, and nothing from rooms a and b.
    let mut lobby_seq = 1;
    let mut dms = 0;
    while lobby_seq < next_seq["lobby"] || dms < 5 {
        match bob.recv_skipping_presence().await {
            Frame::Message(m) => {
                assert_eq!((m.room.as_str(), m.seq), ("lobby", lobby_seq));
                lobby_seq += 1;
            }
            Frame::DirectMessage(_) => dms += 1,
            other => panic!("bob: unexpected {other:?}"),
        }
    }
    assert_eq!(dms, 5);
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_senders_messages_arrive_in_order() {
    // spec: MSG-5, MSG-1, MSG-2, MSG-4
    const EACH: u32 = 150;
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    let mut carol = Client::login(server.addr, "carol").await;
    for c in [&mut alice, &mut bob, &mut carol] {
        join_full(c, "race", 0, 0).await;
    }
    let burst = |who: &str| {
        let mut bytes = Vec::new();
        for i in 0..EACH {
            bytes.extend(wire(&Frame::SendMessage(SendMessage {
                client_ref: i + 1,
                room: Str8::new("race").unwrap(),
                body: Str16::new(&format!("{who}{i}")).unwrap(),
            })));
        }
        bytes
    };
    // Both write their whole burst at once, concurrently.
    let (a_bytes, b_bytes) = (burst("a"), burst("b"));
    tokio::join!(alice.write_raw(&a_bytes), bob.write_raw(&b_bytes));

    // Each sender: its ACKs in order, and the other's messages in order,
    // never its own.
    async fn check_sender(
        client: &mut Client,
        me: &str,
        other: &str,
        other_name: &str,
    ) -> HashMap<String, u64> {
        let mut acks = 0;
        let mut theirs = 0;
        let mut seq_of = HashMap::new();
        let mut last_seq = 0;
        while acks < EACH || theirs < EACH {
            match client.recv_skipping_presence().await {
                Frame::Ack(ack) => {
                    acks += 1;
                    assert_eq!(ack.client_ref, acks, "ACKs in order");
                    seq_of.insert(format!("{me}{}", acks - 1), ack.seq);
                }
                Frame::Message(m) if m.room == "race" => {
                    assert_eq!(m.sender, other_name, "{me} never gets its own messages");
                    assert_eq!(
                        m.body.as_str(),
                        format!("{other}{theirs}"),
                        "per-sender order"
                    );
                    assert!(m.seq > last_seq);
                    last_seq = m.seq;
                    theirs += 1;
                }
                other => panic!("{me}: unexpected {other:?}"),
            }
        }
        seq_of
    }
    let (a_seqs, b_seqs) = tokio::join!(
        check_sender(&mut alice, "a", "b", "bob"),
        check_sender(&mut bob, "b", "a", "alice")
    );

    // carol: all of them, seq contiguous, each sender in order, seqs as ACKed.
    let (mut next_a, mut next_b) = (0, 0);
    for seq in 1..=u64::from(2 * EACH) {
        let m = carol.expect_message().await;
        assert_eq!(m.seq, seq, "carol receives the room in seq order");
        let body = m.body.to_string();
        if m.sender == "alice" {
            assert_eq!(body, format!("a{next_a}"));
            next_a += 1;
            assert_eq!(a_seqs[&body], seq);
        } else {
            assert_eq!(body, format!("b{next_b}"));
            next_b += 1;
            assert_eq!(b_seqs[&body], seq);
        }
    }
    drop((alice, bob, carol));
    server.finish().await;
}
