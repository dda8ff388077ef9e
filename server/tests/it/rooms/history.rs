//! HISTORY pages around an anchor, truncated to history_max.

use super::*;

#[tokio::test]
async fn history_pages_before_and_after_an_anchor() {
    // spec: HISTORY-1
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "log", 0, 0).await;
    let acks = send_many(&mut alice, "log", 12, "l").await;
    let ids: HashMap<u64, u64> = acks.iter().map(|a| (a.seq, a.id)).collect();

    let cases: [(Direction, u64, u16, Vec<u64>, bool); 8] = [
        (Direction::Before, 0, 5, (8..=12).collect(), true),
        (Direction::Before, 8, 5, (3..=7).collect(), true),
        (Direction::Before, 4, 5, (1..=3).collect(), false),
        (Direction::Before, 0, 0, (1..=12).collect(), false),
        (Direction::After, 0, 5, (1..=5).collect(), true),
        (Direction::After, 10, 5, vec![11, 12], false),
        (Direction::After, 12, 5, vec![], false),
        (Direction::After, 5, 0, (6..=12).collect(), false),
    ];
    for (direction, anchor, limit, want, more) in cases {
        alice
            .history(HistoryKind::Room, "LOG", direction, anchor, limit)
            .await;
        let (messages, end) = history_answer(&mut alice).await;
        let what = format!("{direction:?} {anchor} limit {limit}");
        assert_eq!(seqs(&messages), want, "{what}");
        for m in &messages {
            assert_eq!(m.id, ids[&m.seq], "{what}");
            assert_eq!(m.body.as_str(), format!("l{}", m.seq - 1));
        }
        assert_eq!(end.kind, HistoryKind::Room);
        assert_eq!(
            end.target, "log",
            "HISTORY_END names the room as created (NAMES-1)"
        );
        assert_eq!(end.flags & HistoryEnd::MORE != 0, more, "MORE for {what}");
    }

    // Only members may read a room's history.
    let mut bob = Client::login(server.addr, "bob").await;
    bob.history(HistoryKind::Room, "log", Direction::Before, 0, 5)
        .await;
    let error = bob.expect_error(ErrorCode::NOT_IN_ROOM).await;
    assert_eq!(error.frame_type, code::HISTORY);
    drop((alice, bob));
    server.finish().await;
}

#[tokio::test]
async fn history_answers_are_truncated_to_history_max() {
    // spec: HISTORY-1, HISTORY-4, ROOM-2
    let server = TestServer::with(|c| c.history_max = 10).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "big", 0, 0).await;
    send_many(&mut alice, "big", 25, "b").await;

    // At least the last history_max messages are kept, and no answer is longer.
    for limit in [0u16, 10, 50, u16::MAX] {
        alice
            .history(HistoryKind::Room, "big", Direction::Before, 0, limit)
            .await;
        let (messages, end) = history_answer(&mut alice).await;
        assert_eq!(
            seqs(&messages),
            (16..=25).collect::<Vec<_>>(),
            "limit {limit}"
        );
        assert_eq!(end.flags, HistoryEnd::MORE, "older messages existed");
    }
    alice
        .history(HistoryKind::Room, "big", Direction::After, 17, 0)
        .await;
    let (messages, _) = history_answer(&mut alice).await;
    assert_eq!(seqs(&messages), (18..=25).collect::<Vec<_>>());

    let mut bob = Client::login(server.addr, "bob").await;
    let (_, replay, end) = join_full(&mut bob, "big", 0, 1_000).await;
    assert_eq!(seqs(&replay), (16..=25).collect::<Vec<_>>());
    assert_eq!(end.flags, HistoryEnd::MORE);
    drop((alice, bob));
    server.finish().await;
}
