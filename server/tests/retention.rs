//! Retention as clients see it: what a pass removes is gone from a JOIN's
//! replay as from HISTORY (`[HISTORY-5]`), with the store and in memory, and
//! a pass in progress holds up neither HISTORY nor logins. Passes are driven
//! through the server's retention driver (at a chosen time, held between
//! batches), never by waiting for the interval.

mod common;

use common::{Client, TempDir, TestServer, PATIENCE};
use confab_protocol::frame::{Direction, Frame, HistoryKind, LoginMode, Message};
use confab_server::retention::Driver;
use confab_server::Config;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Sends room messages until one is stamped later than `after`; returns
/// the `seq` and time of each. The clock is the server's; no sleeping.
async fn say_until_later(client: &mut Client, room: &str, after: u64) -> Vec<(u64, u64)> {
    let mut sent = Vec::new();
    for i in 0..1_000_000 {
        let client_ref = client.say(room, &format!("later {i}")).await;
        let ack = client.expect_ack(client_ref).await;
        sent.push((ack.seq, ack.time));
        if ack.time > after {
            return sent;
        }
    }
    panic!("the server's clock never moved past {after}");
}

/// The `seq`s (room) or ids (direct) of a HISTORY answer, before the newest.
async fn history(client: &mut Client, kind: HistoryKind, target: &str) -> Vec<u64> {
    client.history(kind, target, Direction::Before, 0, 0).await;
    let mut found = Vec::new();
    loop {
        match client.recv_skipping_presence().await {
            Frame::Message(m) if m.flags & Message::HISTORY != 0 => found.push(m.seq),
            Frame::DirectMessage(m) if m.flags & Message::HISTORY != 0 => found.push(m.id),
            Frame::Message(_) | Frame::DirectMessage(_) => {}
            Frame::HistoryEnd(end) => {
                assert_eq!(end.count as usize, found.len(), "{end:?}");
                return found;
            }
            other => panic!("{}: unexpected {other:?} in HISTORY", client.name),
        }
    }
}

/// The `seq`s a fresh JOIN of `room` replays (up to 100).
async fn replay(client: &mut Client, room: &str) -> Vec<u64> {
    let (_, frames) = client.enter(room, 0, 100).await;
    frames
        .into_iter()
        .map(|frame| match frame {
            Frame::Message(m) => m.seq,
            other => panic!("unexpected {other:?} in a replay"),
        })
        .collect()
}

/// Two messages, then (once the clock moved) two more; a pass at a time
/// when only the first two are older than a day; then a fresh JOIN's replay
/// and HISTORY must both hold exactly the last two.
async fn replay_and_history_agree_after_an_age_pass(mut config: Config) {
    let driver = Driver::default();
    config.retention_days = 1;
    config.retention_driver = Some(driver.clone());
    let persistent = !config.in_memory;
    let server = TestServer::start(config).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    alice.enter("old", 0, 0).await;
    let mut old_time = 0;
    for body in ["first", "second"] {
        let client_ref = alice.say("old", body).await;
        old_time = alice.expect_ack(client_ref).await.time;
        let client_ref = alice.dm("bob", body).await;
        old_time = old_time.max(alice.expect_ack(client_ref).await.time);
    }
    let later = say_until_later(&mut alice, "old", old_time).await;
    let client_ref = alice.dm("bob", "new").await;
    assert!(alice.expect_ack(client_ref).await.time > old_time);
    for _ in 0..3 {
        let frame = bob.recv_skipping_presence().await;
        assert!(matches!(frame, Frame::DirectMessage(_)), "{frame:?}");
    }
    assert_eq!(
        history(&mut alice, HistoryKind::Room, "old").await.len(),
        2 + later.len()
    );
    // Stamped in the same millisecond as the old ones, some of `later` go too.
    let expected: Vec<u64> = later
        .iter()
        .filter(|(_, time)| *time > old_time)
        .map(|(seq, _)| *seq)
        .collect();

    // Everything stamped at or before `old_time` is past a day at this time.
    let deleted = driver.pass_at(old_time + 1 + DAY_MS).await.unwrap();
    if persistent {
        assert_eq!(deleted, 2 + 2 + later.len() - expected.len());
    }

    let kept_history = history(&mut alice, HistoryKind::Room, "old").await;
    let kept_replay = replay(&mut bob, "old").await;
    assert_eq!(kept_history, expected, "HISTORY after the pass");
    assert_eq!(
        kept_replay, kept_history,
        "a JOIN replays what HISTORY returns"
    );
    let direct = history(&mut bob, HistoryKind::Direct, "alice").await;
    assert_eq!(
        direct.len(),
        1,
        "only the new direct message is kept: {direct:?}"
    );
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn a_join_replays_only_what_a_stored_age_pass_kept() {
    // spec: HISTORY-5, HISTORY-4, ROOM-2
    let dir = TempDir::new("retention-replay");
    replay_and_history_agree_after_an_age_pass(TestServer::persistent_config(dir.path())).await;
}

#[tokio::test]
async fn in_memory_history_ages_out_too() {
    // spec: HISTORY-5
    replay_and_history_agree_after_an_age_pass(TestServer::config()).await;
}

/// Releases a held pass when dropped.
struct Unhold(Driver);

impl Drop for Unhold {
    fn drop(&mut self) {
        self.0.release();
    }
}

#[tokio::test]
async fn history_and_logins_are_answered_while_a_pass_is_held() {
    // spec: HISTORY-1, HISTORY-5
    let dir = TempDir::new("retention-held");
    let driver = Driver::default();
    let mut config = TestServer::persistent_config(dir.path());
    config.retention_days = 1;
    config.retention_driver = Some(driver.clone());
    let server = TestServer::start(config).await;
    let (carol, _) =
        Client::login_account(server.addr, LoginMode::Register, "carol", "pw-carol-1").await;
    carol.quit().await;
    let (mut alice, _) =
        Client::login_account(server.addr, LoginMode::Register, "alice", "pw-alice-1").await;
    alice.enter("kept", 0, 0).await;
    let client_ref = alice.say("kept", "hello").await;
    let ack = alice.expect_ack(client_ref).await;

    driver.hold();
    // A failing assertion below must not leave the pass (and the runtime) stuck.
    let _unhold = Unhold(driver.clone());
    let pass = tokio::spawn({
        let driver = driver.clone();
        async move { driver.pass_at(ack.time + 1 + DAY_MS).await }
    });
    tokio::time::timeout(PATIENCE, driver.held())
        .await
        .expect("the pass reaches its first batch");

    // The pass is in progress and holds its place: HISTORY and a login go on.
    let kept = tokio::time::timeout(PATIENCE, history(&mut alice, HistoryKind::Room, "kept"))
        .await
        .expect("HISTORY is answered while a retention pass is in progress");
    assert_eq!(kept, vec![1]);
    let (second, _) = tokio::time::timeout(
        PATIENCE,
        Client::login_account(server.addr, LoginMode::Login, "carol", "pw-carol-1"),
    )
    .await
    .expect("a login is answered while a retention pass is in progress");

    driver.release();
    let deleted = tokio::time::timeout(PATIENCE, pass)
        .await
        .expect("the pass ends once released")
        .unwrap()
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(
        history(&mut alice, HistoryKind::Room, "kept").await,
        Vec::<u64>::new()
    );
    drop((alice, second));
    server.finish().await;
}
