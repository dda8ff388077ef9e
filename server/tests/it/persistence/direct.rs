//! Direct messages are stored and replayed only to their two parties.

use super::*;

/// A DIRECT from `from` to `to`: the ACK (seq 0) and the live DIRECT_MESSAGE.
/// Returns the message as history will show it.
pub(super) async fn dm_round_trip(from: &mut Client, to: &mut Client, body: &str) -> DirectMessage {
    let client_ref = from.dm(&to.name, body).await;
    let ack = from.expect_ack(client_ref).await;
    assert_eq!(ack.seq, 0);
    let mut message = match next_frame(to).await {
        Frame::DirectMessage(m) => m,
        other => panic!("{}: expected DIRECT_MESSAGE, got {other:?}", to.name),
    };
    assert_eq!(message.flags, 0, "live");
    assert_eq!(
        (
            message.id,
            message.time,
            message.from.as_str(),
            message.to.as_str(),
            message.body.as_str()
        ),
        (ack.id, ack.time, from.name.as_str(), to.name.as_str(), body)
    );
    message.flags = DirectMessage::HISTORY;
    message
}

/// Nothing unsolicited is queued: a WHO of the whole server is answered next.
async fn expect_nothing_pending(client: &mut Client) {
    client.who("").await;
    for _ in 0..1000 {
        match next_frame(client).await {
            Frame::WhoList(list) if list.flags & confab_protocol::frame::WhoList::MORE == 0 => {
                return
            }
            Frame::WhoList(_) => continue,
            other => panic!("{}: unsolicited {other:?}", client.name),
        }
    }
    panic!("{}: WHO never ended", client.name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_are_stored_and_replayed_only_to_their_parties() {
    // spec: DM-1, HISTORY-2, MSG-3
    let dir = TempDir::new("direct");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (mut alice, welcome) =
        Client::login_account(server.addr, LoginMode::Register, "alice", "alice-pw").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    let (mut bob, _) =
        Client::login_account(server.addr, LoginMode::Register, "bob", "bob-pw").await;
    let mut carol = Client::login(server.addr, "carol").await;

    let a2b = dm_round_trip(&mut alice, &mut bob, "alice to bob").await;
    let b2a = dm_round_trip(&mut bob, &mut alice, "bob to alice").await;
    let a2c = dm_round_trip(&mut alice, &mut carol, "alice to first carol").await;
    let c2a = dm_round_trip(&mut carol, &mut alice, "first carol to alice").await;

    // The first carol (a guest) leaves; a new guest takes the name.
    carol.quit().await;
    let mut carol2 = Client::login(server.addr, "carol").await;
    let (seen, _) = direct_history(&mut carol2, "alice", Direction::Before, 0, 0).await;
    assert!(
        seen.is_empty(),
        "a new guest sees the earlier guest's messages: {seen:?}"
    );
    let c2a2 = dm_round_trip(&mut carol2, &mut alice, "second carol to alice").await;
    let (seen, _) = direct_history(&mut carol2, "alice", Direction::After, 0, 0).await;
    assert_eq!(seen, vec![c2a2.clone()]);
    // alice was a party to all of them.
    let (seen, _) = direct_history(&mut alice, "carol", Direction::After, 0, 0).await;
    assert_eq!(seen, vec![a2c.clone(), c2a.clone(), c2a2.clone()]);
    let max_id = c2a2.id;
    drop((alice, bob, carol2));
    server.stop().await;

    // After a restart, only HISTORY kind 1 brings them back, to their parties.
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (mut alice, welcome) =
        Client::login_account(server.addr, LoginMode::Login, "alice", "alice-pw").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    expect_nothing_pending(&mut alice).await;
    let (seen, end) = direct_history(&mut alice, "bob", Direction::After, 0, 0).await;
    assert_eq!(seen, vec![a2b.clone(), b2a.clone()]);
    assert_eq!(end.flags & HistoryEnd::MORE, 0);
    let (seen, end) = direct_history(&mut alice, "carol", Direction::Before, 0, 2).await;
    assert_eq!(bodies_of(&seen), bodies_of(&[c2a.clone(), c2a2.clone()]));
    assert_eq!(end.flags & HistoryEnd::MORE, HistoryEnd::MORE);
    let (seen, _) = direct_history(&mut alice, "carol", Direction::Before, c2a.id, 0).await;
    assert_eq!(seen, vec![a2c.clone()]);

    let (mut bob, _) = Client::login_account(server.addr, LoginMode::Login, "bob", "bob-pw").await;
    expect_nothing_pending(&mut bob).await;
    let (seen, _) = direct_history(&mut bob, "alice", Direction::Before, 0, 0).await;
    assert_eq!(seen, vec![a2b.clone(), b2a.clone()]);
    let (seen, _) = direct_history(&mut bob, "carol", Direction::Before, 0, 0).await;
    assert!(seen.is_empty(), "bob was no party: {seen:?}");

    // A third guest "carol" after the restart, and a stranger: nothing.
    let mut carol3 = Client::login(server.addr, "carol").await;
    let (seen, _) = direct_history(&mut carol3, "alice", Direction::After, 0, 0).await;
    assert!(seen.is_empty(), "{seen:?}");
    let mut dave = Client::login(server.addr, "dave").await;
    for target in ["alice", "bob", "carol"] {
        let (seen, _) = direct_history(&mut dave, target, Direction::After, 0, 0).await;
        assert!(seen.is_empty(), "dave sees {target}'s messages: {seen:?}");
    }

    // Ids keep increasing across the restart.
    let next = dm_round_trip(&mut alice, &mut bob, "after the restart").await;
    assert!(next.id > max_id, "MSG-3: {} after {max_id}", next.id);
    drop((alice, bob, carol3, dave));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_departed_guests_name_does_not_reveal_its_direct_messages() {
    // spec: HISTORY-2
    let dir = TempDir::new("guest-then-account");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (mut alice, _) =
        Client::login_account(server.addr, LoginMode::Register, "alice", "alice-pw").await;
    let mut frank = Client::login(server.addr, "frank").await;
    dm_round_trip(&mut frank, &mut alice, "a guest's secret").await;
    dm_round_trip(&mut alice, &mut frank, "reply to the guest").await;
    frank.quit().await;

    // Someone else registers the name the guest used: a different identity.
    let (mut frank_account, _) =
        Client::login_account(server.addr, LoginMode::Register, "frank", "frank-pw").await;
    let (seen, _) = direct_history(&mut frank_account, "alice", Direction::After, 0, 0).await;
    assert!(
        seen.is_empty(),
        "the new account holder reads the departed guest's direct messages: {:?}",
        bodies_of(&seen)
    );
    drop((alice, frank_account));
    server.stop().await;
}
