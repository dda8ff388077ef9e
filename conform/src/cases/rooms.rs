//! Section 8, rooms: JOIN/JOINED, max_rooms, LEAVE, and the room case list (replay and MISSED in `rooms_replay`).

use std::sync::Arc;

use confab_protocol::frame::{Leave, Left, Presence, PresenceEvent};
use confab_protocol::ErrorCode;

use super::rooms_replay::{
    join_during_traffic, join_more_flag, missed, no_missed_without_gap, replay, replay_capped,
    since_beyond_newest,
};
use crate::case::Case;
use crate::client::{join, member, ready, s8, say, send_frame};
use crate::ctx::Ctx;
use crate::verdict::{ensure_eq, require, Check};

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
