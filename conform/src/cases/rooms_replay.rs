//! Section 8, rooms: the replay on JOIN, MISSED, the `more` flag and `since` (`[ROOM-2]`, `[ROOM-3]`, `[ROOM-7]`, `[ROOM-8]`).

use std::sync::Arc;

use confab_protocol::frame::{
    Direction, History, HistoryEnd, HistoryKind, Message, Missed, Presence,
};

use super::messages::fill;
use crate::client::{join, member, ready, s8, say, send_frame};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

pub(super) async fn join_more_flag(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let mut c = ready(&ctx).await?;
    // An empty room: nothing before next_seq.
    let j = join(&mut c, &room, 0, 0).await?;
    ensure_eq(
        "ROOM-7",
        "MORE after JOIN of an empty room",
        0,
        j.end.flags & HistoryEnd::MORE,
    )?;
    for n in 1..=3 {
        say(&mut c, n, &room, "m").await?;
    }
    // (since_seq, history) → (replayed seqs, MORE, MISSED follows)
    let table: [(u64, u16, &[u64], bool); 6] = [
        (0, 0, &[], true),
        (3, 0, &[], false),
        (0, 2, &[2, 3], true),
        (0, 3, &[1, 2, 3], false),
        (1, 1, &[3], true),
        (1, 5, &[2, 3], false),
    ];
    let mut r = ready(&ctx).await?;
    for (since, history, seqs, more) in table {
        let j = join(&mut r, &room, since, history).await?;
        let got: Vec<u64> = j.replay.iter().map(|m| m.seq).collect();
        ensure_eq(
            "ROOM-2",
            &format!("replayed seqs for since_seq {since}, history {history}"),
            seqs.to_vec(),
            got,
        )?;
        ensure_eq(
            "ROOM-7",
            &format!("HISTORY_END MORE for since_seq {since}, history {history}"),
            more,
            j.end.flags & HistoryEnd::MORE != 0,
        )?;
        let after = r.barrier("ROOM-3").await?;
        let missed = after
            .iter()
            .any(|f| matches!(f, confab_protocol::Frame::Missed(_)));
        ensure_eq(
            "ROOM-7",
            &format!("MISSED after since_seq {since}, history {history} (as MORE, since_seq > 0)"),
            more && since > 0,
            missed,
        )?;
    }
    Ok(())
}

pub(super) async fn since_beyond_newest(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    for n in 1..=2 {
        say(&mut a, n, &room, "m").await?;
    }
    let mut b = ready(&ctx).await?;
    for since in [3, 1000, u64::MAX] {
        let j = join(&mut b, &room, since, 10).await?;
        ensure_eq("ROOM-8", "JOINED next_seq", 3, j.joined.next_seq)?;
        ensure_eq(
            "ROOM-8",
            &format!("(replayed, HISTORY_END count, MORE) for since_seq {since}"),
            (0, 0, 0),
            (j.replay.len(), j.end.count, j.end.flags & HistoryEnd::MORE),
        )?;
        b.quiet("ROOM-8", "no MISSED").await?;
    }
    Ok(())
}

pub(super) async fn replay(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    for n in 1..=5 {
        say(&mut a, n, &room, &format!("m{n}")).await?;
    }
    let mut b = ready(&ctx).await?;
    let joining = join(&mut b, &room, 0, 3).await?;
    ensure_eq("ROOM-2", "JOINED next_seq", 6, joining.joined.next_seq)?;
    let seqs: Vec<u64> = joining.replay.iter().map(|m| m.seq).collect();
    ensure_eq("ROOM-2", "replayed seqs", vec![3, 4, 5], seqs)?;
    ensure(
        "ROOM-2",
        joining
            .replay
            .iter()
            .all(|m| m.flags & Message::HISTORY != 0),
        "every replayed MESSAGE has the HISTORY flag",
        format!("{:?}", joining.replay),
    )?;
    ensure_eq(
        "ROOM-2",
        "replayed bodies",
        vec!["m3", "m4", "m5"],
        joining.replay.iter().map(|m| m.body.as_str()).collect(),
    )?;
    ensure_eq("ROOM-2", "HISTORY_END count", 3, joining.end.count)?;
    a.expect::<Presence>("PRESENCE-2").await?;
    let ack = say(&mut a, 6, &room, "live").await?;
    let live = b.expect::<Message>("ROOM-2").await?;
    ensure_eq("ROOM-2", "first live seq", 6, live.seq)?;
    ensure_eq("ROOM-2", "first live id", ack.id, live.id)?;
    ensure_eq(
        "ROOM-2",
        "live MESSAGE HISTORY flag",
        0,
        live.flags & Message::HISTORY,
    )
}

pub(super) async fn join_during_traffic(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    let k = (l.msg_burst / 2)
        .min(u32::from(l.history_max))
        .min(l.queue_depth / 4)
        .clamp(1, 40);
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let mut b = ready(&ctx).await?;
    let mut bytes = Vec::new();
    for r in 0..k {
        bytes
            .extend_from_slice(&confab_protocol::Frame::from(send_frame(r, &room, "t")).to_bytes());
    }
    // The JOIN lands somewhere among A's messages.
    a.send_raw(&bytes).await?;
    let joining = join(&mut b, &room, 0, k as u16).await?;
    let next_seq = joining.joined.next_seq;
    let mut seqs: Vec<u64> = joining.replay.iter().map(|m| m.seq).collect();
    ensure(
        "ROOM-2",
        seqs.iter().all(|s| *s < next_seq),
        format!("replayed seqs below next_seq {next_seq}"),
        format!("{seqs:?}"),
    )?;
    while seqs.len() < k as usize {
        let m = b.expect::<Message>("ROOM-2").await?;
        ensure(
            "ROOM-2",
            m.seq >= next_seq,
            format!("live seqs from next_seq {next_seq}"),
            m.seq,
        )?;
        seqs.push(m.seq);
    }
    let wanted: Vec<u64> = (1..=u64::from(k)).collect();
    ensure_eq(
        "ROOM-2",
        "replayed then live seqs (none missing, none repeated)",
        wanted,
        seqs,
    )?;
    b.quiet("ROOM-2", "no message twice").await
}

pub(super) async fn replay_capped(ctx: Arc<Ctx>) -> Check {
    let max = ctx.limits().history_max;
    require(max < u16::MAX, "needs history_max below 65,535")?;
    let room = ctx.room();
    fill(&ctx, &room, usize::from(max) + 1).await?;
    let mut b = ready(&ctx).await?;
    let joining = join(&mut b, &room, 0, max + 1).await?;
    ensure_eq(
        "ROOM-2",
        "replayed messages (history_max)",
        usize::from(max),
        joining.replay.len(),
    )?;
    ensure_eq("ROOM-2", "HISTORY_END count", max, joining.end.count)?;
    let last = joining.replay.last().map(|m| m.seq);
    ensure_eq(
        "ROOM-2",
        "last replayed seq (the newest)",
        Some(u64::from(max) + 1),
        last,
    )
}

pub(super) async fn missed(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    for n in 1..=5 {
        say(&mut a, n, &room, &format!("m{n}")).await?;
    }
    let mut b = ready(&ctx).await?;
    let joining = join(&mut b, &room, 1, 2).await?;
    let seqs: Vec<u64> = joining.replay.iter().map(|m| m.seq).collect();
    ensure_eq("ROOM-2", "replayed seqs", vec![4, 5], seqs)?;
    let missed = b.expect::<Missed>("ROOM-3").await?;
    ensure_eq(
        "ROOM-3",
        "MISSED from_seq..to_seq",
        (2, 3),
        (missed.from_seq, missed.to_seq),
    )?;
    b.send(History {
        kind: HistoryKind::Room,
        target: s8(&room),
        direction: Direction::After,
        anchor: 1,
        limit: 2,
    })
    .await?;
    let got = history_answer(&mut b, "HISTORY-3").await?;
    ensure_eq(
        "HISTORY-3",
        "seqs fetched after the gap",
        vec![2, 3],
        got.0.iter().map(|m| m.seq).collect::<Vec<_>>(),
    )
}

/// DIRECT_MESSAGE frames up to HISTORY_END.
pub async fn history_answer_direct(
    conn: &mut Conn,
    clause: &'static str,
) -> Check<(Vec<confab_protocol::frame::DirectMessage>, HistoryEnd)> {
    let mut messages = Vec::new();
    loop {
        match conn
            .next_frame(clause, "DIRECT_MESSAGE or HISTORY_END")
            .await?
        {
            confab_protocol::Frame::DirectMessage(m) => messages.push(m),
            confab_protocol::Frame::HistoryEnd(end) => return Ok((messages, end)),
            confab_protocol::Frame::Presence(_) => {}
            other => {
                return Err(fail(
                    clause,
                    "DIRECT_MESSAGE or HISTORY_END",
                    crate::conn::describe(&other),
                ))
            }
        }
    }
}

/// MESSAGE frames up to HISTORY_END.
pub async fn history_answer(
    conn: &mut Conn,
    clause: &'static str,
) -> Check<(Vec<Message>, HistoryEnd)> {
    let mut messages = Vec::new();
    loop {
        match conn.next_frame(clause, "MESSAGE or HISTORY_END").await? {
            confab_protocol::Frame::Message(m) => messages.push(m),
            confab_protocol::Frame::HistoryEnd(end) => return Ok((messages, end)),
            confab_protocol::Frame::Presence(_) => {}
            other => {
                return Err(fail(
                    clause,
                    "MESSAGE or HISTORY_END",
                    crate::conn::describe(&other),
                ))
            }
        }
    }
}

pub(super) async fn no_missed_without_gap(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    for n in 1..=3 {
        say(&mut a, n, &room, "x").await?;
    }
    let mut b = ready(&ctx).await?;
    let joining = join(&mut b, &room, 1, 10).await?;
    ensure_eq(
        "ROOM-3",
        "replayed seqs",
        vec![2, 3],
        joining.replay.iter().map(|m| m.seq).collect::<Vec<_>>(),
    )?;
    b.quiet("ROOM-3", "no MISSED").await
}
