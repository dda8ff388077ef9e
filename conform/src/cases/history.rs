//! Section 11, history: `[HISTORY-1]`, `[HISTORY-2]`, `[HISTORY-4]`.

use std::sync::Arc;

use confab_protocol::frame::{DirectMessage, Direction, History, HistoryEnd, HistoryKind, Message};
use confab_protocol::{ErrorCode, Frame};

use super::direct::tell;
use super::messages::fill;
use crate::case::Case;
use crate::client::{guest, member, quit, ready, s8, say};
use crate::conn::{describe, Conn};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("history.not-member", ["HISTORY-1"],
            "HISTORY of a room the client is not in gets NOT_IN_ROOM (not fatal)", not_member),
        crate::case!("history.room-windows", ["HISTORY-1"],
            "HISTORY before/after an anchor returns the right seqs ascending, flagged HISTORY, then HISTORY_END", room_windows),
        crate::case!("history.direct", ["HISTORY-2"],
            "HISTORY kind 1 returns the pair's direct messages ascending, and only to its two parties", direct),
        crate::case!("history.guest-name-reuse", ["HISTORY-2"],
            "a guest who takes a name again is not shown the direct messages of its earlier holder", guest_name_reuse),
        crate::case!("history.keeps-history-max", ["HISTORY-4"],
            "the server keeps at least the newest history_max messages of a room", keeps_history_max),
    ]
}

fn request(
    kind: HistoryKind,
    target: &str,
    direction: Direction,
    anchor: u64,
    limit: u16,
) -> History {
    History {
        kind,
        target: s8(target),
        direction,
        anchor,
        limit,
    }
}

/// The frames of one HISTORY answer, up to its HISTORY_END.
async fn answer(conn: &mut Conn, clause: &'static str) -> Check<(Vec<Frame>, HistoryEnd)> {
    let mut frames = Vec::new();
    loop {
        match conn
            .next_frame(clause, "MESSAGE, DIRECT_MESSAGE or HISTORY_END")
            .await?
        {
            Frame::HistoryEnd(end) => return Ok((frames, end)),
            Frame::Presence(_) => {}
            frame @ (Frame::Message(_) | Frame::DirectMessage(_)) => frames.push(frame),
            other => {
                return Err(fail(
                    clause,
                    "MESSAGE, DIRECT_MESSAGE or HISTORY_END",
                    describe(&other),
                ))
            }
        }
    }
}

async fn room_query(
    conn: &mut Conn,
    room: &str,
    direction: Direction,
    anchor: u64,
    limit: u16,
) -> Check<Vec<u64>> {
    conn.send(request(HistoryKind::Room, room, direction, anchor, limit))
        .await?;
    let (frames, end) = answer(conn, "HISTORY-1").await?;
    let mut seqs = Vec::new();
    for frame in &frames {
        let Frame::Message(m) = frame else {
            return Err(fail("HISTORY-1", "MESSAGE", describe(frame)));
        };
        ensure(
            "HISTORY-1",
            m.flags & Message::HISTORY != 0,
            "the HISTORY flag",
            describe(frame),
        )?;
        seqs.push(m.seq);
    }
    ensure_eq(
        "HISTORY-1",
        "HISTORY_END (kind, count)",
        (HistoryKind::Room, seqs.len()),
        (end.kind, usize::from(end.count)),
    )?;
    Ok(seqs)
}

async fn not_member(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (_owner, _) = member(&ctx, &room).await?;
    let mut a = ready(&ctx).await?;
    a.send(request(HistoryKind::Room, &room, Direction::Before, 0, 10))
        .await?;
    a.expect_error("HISTORY-1", ErrorCode::NOT_IN_ROOM).await?;
    a.quiet("HISTORY-1", "the connection to stay open").await
}

async fn room_windows(ctx: Arc<Ctx>) -> Check {
    require(ctx.limits().history_max >= 6, "needs history_max >= 6")?;
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    for n in 1..=6 {
        say(&mut a, n, &room, &format!("h{n}")).await?;
    }
    let cases: [(Direction, u64, u16, Vec<u64>); 6] = [
        (Direction::Before, 0, 2, vec![5, 6]),
        (Direction::Before, 5, 2, vec![3, 4]),
        (Direction::Before, 2, 10, vec![1]),
        (Direction::After, 2, 3, vec![3, 4, 5]),
        (Direction::After, 6, 3, vec![]),
        (Direction::Before, 0, 0, vec![1, 2, 3, 4, 5, 6]),
    ];
    for (direction, anchor, limit, wanted) in cases {
        let seqs = room_query(&mut a, &room, direction, anchor, limit).await?;
        ensure_eq(
            "HISTORY-1",
            &format!("seqs for {direction:?} anchor {anchor} limit {limit}"),
            wanted,
            seqs,
        )?;
    }
    Ok(())
}

async fn dm_ids(conn: &mut Conn, target: &str) -> Check<Vec<(u64, String)>> {
    conn.send(request(
        HistoryKind::Direct,
        target,
        Direction::Before,
        0,
        0,
    ))
    .await?;
    let (frames, end) = answer(conn, "HISTORY-2").await?;
    let mut out = Vec::new();
    for frame in &frames {
        let Frame::DirectMessage(dm) = frame else {
            return Err(fail("HISTORY-2", "DIRECT_MESSAGE", describe(frame)));
        };
        ensure(
            "HISTORY-2",
            dm.flags & DirectMessage::HISTORY != 0,
            "the HISTORY flag",
            describe(frame),
        )?;
        out.push((dm.id, dm.body.to_string()));
    }
    ensure_eq(
        "HISTORY-2",
        "HISTORY_END (kind, count)",
        (HistoryKind::Direct, out.len()),
        (end.kind, usize::from(end.count)),
    )?;
    Ok(out)
}

async fn direct(ctx: Arc<Ctx>) -> Check {
    let (a_name, b_name, c_name) = (ctx.user(), ctx.user(), ctx.user());
    let mut a = guest(&ctx, &a_name).await?;
    let mut b = guest(&ctx, &b_name).await?;
    let mut c = guest(&ctx, &c_name).await?;
    let mut ids = vec![tell(&mut a, 1, &b_name, "one").await?.id];
    b.expect::<DirectMessage>("DM-1").await?;
    ids.push(tell(&mut b, 1, &a_name, "two").await?.id);
    a.expect::<DirectMessage>("DM-1").await?;
    ids.push(tell(&mut a, 2, &b_name, "three").await?.id);
    tell(&mut c, 1, &b_name, "not yours").await?;
    let got = dm_ids(&mut a, &b_name).await?;
    let wanted: Vec<(u64, String)> = ids
        .into_iter()
        .zip(["one", "two", "three"])
        .map(|(i, b)| (i, b.to_string()))
        .collect();
    ensure_eq(
        "HISTORY-2",
        "A's direct history with B (id, body)",
        wanted,
        got,
    )?;
    let third = dm_ids(&mut c, &a_name).await?;
    ensure_eq(
        "HISTORY-2",
        "C's direct history with A",
        Vec::<(u64, String)>::new(),
        third,
    )
}

async fn guest_name_reuse(ctx: Arc<Ctx>) -> Check {
    let (a_name, b_name) = (ctx.user(), ctx.user());
    let mut a = guest(&ctx, &a_name).await?;
    let _b = guest(&ctx, &b_name).await?;
    tell(&mut a, 1, &b_name, "for the first holder").await?;
    quit(a).await?;
    let mut again = guest(&ctx, &a_name).await?;
    let got = dm_ids(&mut again, &b_name).await?;
    ensure_eq(
        "HISTORY-2",
        "the new holder's direct history with B",
        Vec::<(u64, String)>::new(),
        got,
    )
}

async fn keeps_history_max(ctx: Arc<Ctx>) -> Check {
    let max = ctx.limits().history_max;
    require(max <= 1000, "needs history_max <= 1,000")?;
    let room = ctx.room();
    let n = usize::from(max) + 1;
    fill(&ctx, &room, n).await?;
    let (mut a, _) = member(&ctx, &room).await?;
    let seqs = room_query(&mut a, &room, Direction::Before, 0, max).await?;
    let wanted: Vec<u64> = (2..=n as u64).collect();
    ensure_eq(
        "HISTORY-4",
        "seqs of the newest history_max messages",
        wanted,
        seqs,
    )
}
