//! Section 8, rooms: JOIN/JOINED, replay, MISSED, max_rooms, LEAVE, LIST_ROOMS.

use std::sync::Arc;

use confab_protocol::frame::{
    Direction, History, HistoryEnd, HistoryKind, Leave, Left, Message, Missed, Presence,
    PresenceEvent,
};
use confab_protocol::ErrorCode;

use super::messages::fill;
use crate::case::Case;
use crate::client::{join, member, ready, s8, say, send_frame};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("rooms.join-new", ["ROOM-2", "MSG-4"],
            "JOIN of a new room: JOINED (next_seq 1, members 1), then HISTORY_END count 0 even for history 0", join_new),
        crate::case!("rooms.join-presence", ["ROOM-2", "PRESENCE-2"],
            "the other members receive PRESENCE joined; JOINED counts the joiner", join_presence),
        crate::case!("rooms.rejoin", ["ROOM-2"],
            "JOIN of a room the client is in is answered the same way and sends no PRESENCE", rejoin),
        crate::case!("rooms.replay", ["ROOM-2", "MSG-4"],
            "JOIN replays the newest `history` messages oldest first with the HISTORY flag, then live ones follow", replay),
        crate::case!("rooms.join-during-traffic", ["ROOM-2", "MSG-4"],
            "a JOIN amid a burst of messages: replay then live delivery, none missing or repeated", join_during_traffic),
        crate::case!("rooms.replay-capped", ["ROOM-2"],
            "a replay carries at most history_max messages", replay_capped),
        crate::case!("rooms.missed", ["ROOM-3", "HISTORY-3"],
            "JOIN with since_seq and a short replay gets MISSED for the gap, which HISTORY after fetches", missed),
        crate::case!("rooms.no-missed-without-gap", ["ROOM-3"],
            "no MISSED when the replay covers everything after since_seq", no_missed_without_gap),
        crate::case!("rooms.too-many", ["ROOM-4"],
            "a JOIN past max_rooms gets TOO_MANY_ROOMS (not fatal)", too_many),
        crate::case!("rooms.leave", ["ROOM-5", "PRESENCE-2"],
            "LEAVE gets LEFT, the others PRESENCE left, and SEND afterwards NOT_IN_ROOM", leave),
        crate::case!("rooms.leave-not-member", ["ROOM-5"],
            "LEAVE of a room the client is not in gets NOT_IN_ROOM (not fatal)", leave_not_member),
        crate::case!("rooms.join-more-flag", ["ROOM-7", "ROOM-3"],
            "HISTORY_END MORE after a JOIN is set exactly when the room accepted messages after since_seq that the replay left out", join_more_flag),
        crate::case!("rooms.since-beyond-newest", ["ROOM-8"],
            "a JOIN with since_seq at or beyond next_seq: JOINED, no replay, HISTORY_END count 0 without MORE, no MISSED", since_beyond_newest),
        crate::case!("rooms.empty-room-numbering", ["LIMIT-5", "MSG-4"],
            "a room that had a message and is left empty keeps its numbering: the next JOIN sees next_seq go on", empty_room_numbering),
    ]
}

async fn join_more_flag(ctx: Arc<Ctx>) -> Check {
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

async fn since_beyond_newest(ctx: Arc<Ctx>) -> Check {
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

async fn empty_room_numbering(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let mut a = ready(&ctx).await?;
    join(&mut a, &room, 0, 0).await?;
    say(&mut a, 1, &room, "kept").await?;
    a.send(Leave { room: s8(&room) }).await?;
    a.expect::<Left>("ROOM-5").await?;
    // Nobody is in the room now; its numbering goes on.
    let j = join(&mut a, &room, 0, 1).await?;
    ensure_eq(
        "LIMIT-5",
        "JOINED next_seq of a room left empty after one message",
        2,
        j.joined.next_seq,
    )?;
    let ack = say(&mut a, 2, &room, "next").await?;
    ensure_eq("MSG-4", "seq of the next message", 2, ack.seq)
}

async fn join_new(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    let joining = join(&mut conn, &ctx.room(), 0, 0).await?;
    ensure_eq(
        "MSG-4",
        "JOINED next_seq of a new room",
        1,
        joining.joined.next_seq,
    )?;
    ensure_eq("ROOM-2", "JOINED members", 1, joining.joined.members)?;
    ensure_eq("ROOM-2", "HISTORY_END count", 0, joining.end.count)
}

async fn join_presence(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let b_name = ctx.user();
    let mut b = crate::client::guest(&ctx, &b_name).await?;
    let joining = join(&mut b, &room, 0, 0).await?;
    ensure_eq("ROOM-2", "JOINED members", 2, joining.joined.members)?;
    let presence = a.expect::<Presence>("PRESENCE-2").await?;
    ensure_eq(
        "PRESENCE-2",
        "PRESENCE event",
        PresenceEvent::Joined,
        presence.event,
    )?;
    ensure_eq(
        "PRESENCE-2",
        "PRESENCE username",
        b_name.as_str(),
        presence.username.as_str(),
    )?;
    ensure_eq(
        "PRESENCE-2",
        "PRESENCE room",
        room.as_str(),
        presence.room.as_str(),
    )
}

async fn rejoin(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let (mut b, _) = member(&ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    let joining = join(&mut b, &room, 0, 0).await?;
    ensure_eq(
        "ROOM-2",
        "JOINED members on a repeated JOIN",
        2,
        joining.joined.members,
    )?;
    a.quiet("ROOM-2", "no PRESENCE for a repeated JOIN").await
}

async fn replay(ctx: Arc<Ctx>) -> Check {
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

async fn join_during_traffic(ctx: Arc<Ctx>) -> Check {
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

async fn replay_capped(ctx: Arc<Ctx>) -> Check {
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

async fn missed(ctx: Arc<Ctx>) -> Check {
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

async fn no_missed_without_gap(ctx: Arc<Ctx>) -> Check {
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

async fn too_many(ctx: Arc<Ctx>) -> Check {
    let max = ctx.limits().max_rooms;
    require(max <= 512, "needs max_rooms <= 512")?;
    let mut conn = ready(&ctx).await?;
    for _ in 0..max {
        join(&mut conn, &ctx.room(), 0, 0).await?;
    }
    conn.send(confab_protocol::frame::Join {
        room: s8(&ctx.room()),
        since_seq: 0,
        history: 0,
    })
    .await?;
    conn.expect_error("ROOM-4", ErrorCode::TOO_MANY_ROOMS)
        .await?;
    conn.quiet("ROOM-4", "the connection to stay open").await
}

async fn leave(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let (mut b, b_name) = member(&ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    b.send(Leave { room: s8(&room) }).await?;
    let left = b.expect::<Left>("ROOM-5").await?;
    ensure_eq("ROOM-5", "LEFT room", room.as_str(), left.room.as_str())?;
    let presence = a.expect::<Presence>("PRESENCE-2").await?;
    ensure_eq(
        "PRESENCE-2",
        "PRESENCE (event, user)",
        (PresenceEvent::Left, b_name.as_str()),
        (presence.event, presence.username.as_str()),
    )?;
    b.send(send_frame(5, &room, "after leaving")).await?;
    b.expect_error_ref("MSG-6", ErrorCode::NOT_IN_ROOM, 5)
        .await?;
    Ok(())
}

async fn leave_not_member(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    conn.send(Leave {
        room: s8(&ctx.room()),
    })
    .await?;
    conn.expect_error("ROOM-5", ErrorCode::NOT_IN_ROOM).await?;
    conn.quiet("ROOM-5", "the connection to stay open").await
}
