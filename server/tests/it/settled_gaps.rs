//! Behaviour spec 1.1 wrote down (issue 13's list of unspecified cases):
//! rate-limit answers, HISTORY over retention, an empty registration
//! password.

use crate::common;

use std::time::Duration;

use common::{Client, TempDir, TestServer, PATIENCE};
use confab_protocol::frame::{code, Direction, Frame, HistoryEnd, HistoryKind, LoginMode};
use confab_protocol::ErrorCode;
use confab_server::Config;

/// One message a second, three at once: nothing refills while a test
/// sends a few frames (a refill would take a second).
fn slow(c: &mut Config) {
    c.msg_rate = 1;
    c.msg_burst = 3;
}

#[tokio::test]
async fn refused_messages_cost_their_tokens_too() {
    // spec: MSG-7, STATE-6, STATE-7, FLOW-1, FLOW-5
    let server = TestServer::with(slow).await;
    let mut alice = Client::login(server.addr, "alice").await;
    // One refusal of each kind: three requests, the whole burst of three.
    alice.say("lobby", "").await;
    alice.expect_error(ErrorCode::EMPTY_MESSAGE).await;
    alice.say("elsewhere", "hi").await;
    alice.expect_error(ErrorCode::NOT_IN_ROOM).await;
    alice.dm("nobody", "hi").await;
    alice.expect_error(ErrorCode::NO_SUCH_USER).await;
    // The bucket is empty: the next SEND is not even examined.
    let sent = alice.say("lobby", "one too many").await;
    let refused = alice.expect_error(ErrorCode::RATE_LIMITED).await;
    assert_eq!((refused.frame_type, refused.client_ref), (code::SEND, sent));
    server.finish().await;
}

#[tokio::test]
async fn the_rejection_that_means_flooding_is_answered_by_flooding_alone() {
    // spec: MSG-7, FLOW-2, ERROR-3
    let server = TestServer::with(slow).await;
    let mut alice = Client::login(server.addr, "alice").await;
    // Three accepted, three refused, the seventh is the fourth rejection
    // within the second (msg_burst + 1), and an eighth that is never read.
    let refs: Vec<u32> = {
        let mut refs = Vec::new();
        for i in 0..8 {
            refs.push(alice.say("lobby", &format!("m{i}")).await);
        }
        refs
    };
    let (frames, _) = alice.read_to_end().await;
    let answers: Vec<(String, u32)> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Ack(ack) => Some(("ACK".to_string(), ack.client_ref)),
            Frame::ErrorFrame(e) => Some((format!("{}", e.code), e.client_ref)),
            _ => None,
        })
        .collect();
    let expected: Vec<(String, u32)> = [
        "ACK",
        "ACK",
        "ACK",
        "RATE_LIMITED",
        "RATE_LIMITED",
        "RATE_LIMITED",
        "FLOODING",
    ]
    .iter()
    .zip(&refs)
    .map(|(what, r)| (what.to_string(), *r))
    .collect();
    assert_eq!(answers, expected);
    match frames.last() {
        Some(Frame::ErrorFrame(e)) => {
            assert!(e.is_fatal());
            assert_eq!(e.frame_type, code::SEND);
        }
        other => panic!("the last frame must be FLOODING: {other:?}"),
    }
    server.finish().await;
}

/// The seqs of a HISTORY answer, its count and whether MORE is set.
async fn history(client: &mut Client, direction: Direction, anchor: u64) -> (Vec<u64>, bool) {
    client
        .history(HistoryKind::Room, "attic", direction, anchor, 0)
        .await;
    let mut seqs = Vec::new();
    loop {
        match client.recv_skipping_presence().await {
            Frame::Message(m) => seqs.push(m.seq),
            Frame::HistoryEnd(end) => {
                assert_eq!(usize::from(end.count), seqs.len());
                return (seqs, end.flags & HistoryEnd::MORE != 0);
            }
            other => panic!("expected the history answer, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_skips_what_retention_removed_and_numbering_goes_on() {
    // spec: HISTORY-5, HISTORY-4, ROOM-7, MSG-3
    let dir = TempDir::new("history-retention");
    let server = TestServer::start(Config {
        history_max: 2,
        retention_per_room: 2,
        retention_interval_s: 1,
        ..TestServer::persistent_config(dir.path())
    })
    .await;
    let mut alice = Client::login(server.addr, "alice").await;
    alice.enter("attic", 0, 0).await;
    for i in 1..=5 {
        let sent = alice.say("attic", &format!("m{i}")).await;
        alice.expect_ack(sent).await;
    }
    // Retention runs in the background: ask until it has run.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while history(&mut alice, Direction::After, 0).await.0 != [4, 5] {
        assert!(tokio::time::Instant::now() < deadline, "no retention pass");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Only kept messages are answered, and MORE speaks of kept ones only.
    assert_eq!(
        history(&mut alice, Direction::Before, 0).await,
        (vec![4, 5], false)
    );
    assert_eq!(
        history(&mut alice, Direction::Before, 4).await,
        (vec![], false)
    );
    // An anchor inside the removed range is valid.
    assert_eq!(
        history(&mut alice, Direction::After, 2).await,
        (vec![4, 5], false)
    );
    // JOIN's MORE counts what the room accepted (`[ROOM-7]`).
    let mut bob = Client::login(server.addr, "bob").await;
    bob.join("attic", 0, 0).await;
    assert!(matches!(bob.recv_skipping_presence().await, Frame::Joined(j) if j.next_seq == 6));
    match bob.recv_skipping_presence().await {
        Frame::HistoryEnd(end) => assert_eq!((end.count, end.flags), (0, HistoryEnd::MORE)),
        other => panic!("{other:?}"),
    }
    // Numbering is not reused.
    let sent = alice.say("attic", "m6").await;
    assert_eq!(alice.expect_ack(sent).await.seq, 6);
    drop(bob);
    server.finish().await;
}

#[tokio::test]
async fn registration_with_an_empty_password_creates_no_account() {
    // spec: HANDSHAKE-9, STATE-7, HANDSHAKE-6
    let dir = TempDir::new("empty-password");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    let rejected = client
        .try_login(LoginMode::Register, "erin", "")
        .await
        .unwrap_err();
    assert_eq!(rejected.code, ErrorCode::AUTH_FAILED);
    // No account was made: a guest may use the name.
    let welcome = client
        .try_login(LoginMode::Guest, "erin", "")
        .await
        .unwrap();
    assert_eq!(welcome.flags, 0);
    client.quit().await;
    // An existing account: the empty password is refused before ACCOUNT_EXISTS.
    let (owner, _) = Client::login_account(server.addr, LoginMode::Register, "fay", "pw").await;
    owner.quit().await;
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    let rejected = client
        .try_login(LoginMode::Register, "fay", "")
        .await
        .unwrap_err();
    assert_eq!(rejected.code, ErrorCode::AUTH_FAILED);
    let rejected = client
        .try_login(LoginMode::Login, "fay", "")
        .await
        .unwrap_err();
    assert_eq!(rejected.code, ErrorCode::AUTH_FAILED);
    drop(client);
    server.finish().await;
}

#[tokio::test]
async fn a_registration_of_a_name_in_use_is_name_taken_whatever_its_password() {
    // spec: STATE-7, HANDSHAKE-9, HANDSHAKE-5
    let dir = TempDir::new("register-taken");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    // A guest holds "gil"; an account holder is logged in as "hal".
    let guest = Client::login(server.addr, "gil").await;
    let (owner, _) = Client::login_account(server.addr, LoginMode::Register, "hal", "pw").await;
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    for (name, password) in [("GIL", ""), ("hal", ""), ("hal", "pw")] {
        let rejected = client
            .try_login(LoginMode::Register, name, password)
            .await
            .unwrap_err();
        assert_eq!(
            rejected.code,
            ErrorCode::NAME_TAKEN,
            "{name:?} {password:?}"
        );
        if rejected.attempts_left == 0 {
            break;
        }
    }
    drop((client, guest, owner));
    server.finish().await;
}

#[tokio::test]
async fn a_join_with_the_largest_since_seq_is_answered_like_any_other() {
    // spec: ROOM-8, ROOM-7, ROOM-3
    let server = TestServer::start(TestServer::config()).await;
    let mut alice = Client::login(server.addr, "alice").await;
    alice.enter("attic", 0, 0).await;
    for i in 1..=2 {
        let sent = alice.say("attic", &format!("m{i}")).await;
        alice.expect_ack(sent).await;
    }
    let mut bob = Client::login(server.addr, "bob").await;
    for since in [3, u64::MAX - 1, u64::MAX] {
        bob.join("attic", since, 10).await;
        assert!(matches!(bob.recv_skipping_presence().await, Frame::Joined(j) if j.next_seq == 3));
        match bob.recv_skipping_presence().await {
            Frame::HistoryEnd(end) => assert_eq!((end.count, end.flags), (0, 0), "since {since}"),
            other => panic!("since {since}: {other:?}"),
        }
    }
    // No MISSED came, and the connection is alive.
    bob.send(Frame::Ping(confab_protocol::frame::Ping { nonce: 7 }))
        .await;
    assert!(matches!(bob.recv_skipping_presence().await, Frame::Pong(p) if p.nonce == 7));
    drop(alice);
    server.finish().await;
}
