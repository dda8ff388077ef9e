//! Section 8, room messages: delivery, ACK, ids and sequence numbers, order,
//! rejected SENDs (`[MSG-1]` to `[MSG-6]`).

use std::sync::Arc;

use confab_protocol::frame::{Ack, Message, Presence};
use confab_protocol::ErrorCode;

use crate::case::Case;
use crate::client::{join, member, ready, say, send_frame};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("messages.delivery", ["MSG-1", "MSG-2"],
            "a SEND reaches every other member as MESSAGE, the sender gets only the ACK with the same id, seq and time", delivery),
        crate::case!("messages.ids-and-seqs", ["MSG-3", "MSG-4", "DM-1"],
            "ids are non-zero and increase across rooms; each room's seqs start at 1 and are contiguous", ids_and_seqs),
        crate::case!("messages.order", ["MSG-5"],
            "pipelined SENDs arrive in the order sent, in seq order", order),
        crate::case!("messages.not-in-room", ["MSG-6"],
            "SEND to a room the client is not in gets NOT_IN_ROOM with the client_ref", not_in_room),
        crate::case!("messages.empty", ["MSG-6"],
            "empty and blank bodies get EMPTY_MESSAGE and consume no seq", empty),
        crate::case!("messages.too-long", ["MSG-6"],
            "a body of max_body + 1 bytes gets BODY_TOO_LONG; max_body bytes are delivered", too_long),
        crate::case!("messages.largest-fits-max-frame", ["FRAMING-2", "MSG-1", "DM-1"],
            "the largest MESSAGE and DIRECT_MESSAGE (longest names and body), live and replayed, fit max_frame", largest_fits),
    ]
}

/// Puts `n` messages in `room` from as many fresh members as the rate limit
/// needs (each sends at most half its burst); returns the ACKs in seq order.
pub async fn fill(ctx: &Ctx, room: &str, n: usize) -> Check<Vec<Ack>> {
    let l = ctx.limits();
    let per_conn = (l.msg_burst as usize / 2).clamp(1, 100);
    require(
        n.div_ceil(per_conn) <= 64,
        format!(
            "needs msg_burst >= {} to send {n} messages from 64 connections",
            2 * n.div_ceil(64)
        ),
    )?;
    let mut acks = Vec::new();
    let mut sent = 0;
    while sent < n {
        let (mut conn, _) = member(ctx, room).await?;
        let batch = per_conn.min(n - sent);
        for i in 0..batch {
            conn.send(send_frame(
                i as u32 + 1,
                room,
                &format!("fill {}", sent + i),
            ))
            .await?;
        }
        while acks.len() < sent + batch {
            // Earlier fillers leaving show up as PRESENCE.
            match conn.next_frame("MSG-2", "ACK").await? {
                confab_protocol::Frame::Ack(ack) => acks.push(ack),
                confab_protocol::Frame::Presence(_) => {}
                other => {
                    return Err(crate::verdict::fail(
                        "MSG-2",
                        "ACK",
                        crate::conn::describe(&other),
                    ))
                }
            }
        }
        sent += batch;
    }
    Ok(acks)
}

async fn delivery(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, a_name) = member(&ctx, &room).await?;
    let (mut b, _) = member(&ctx, &room).await?;
    let (mut c, _) = member(&ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    b.expect::<Presence>("PRESENCE-2").await?;
    let ack = say(&mut a, 41, &room, "hello, room").await?;
    for receiver in [&mut b, &mut c] {
        let m = receiver.expect::<Message>("MSG-1").await?;
        ensure_eq(
            "MSG-1",
            "MESSAGE (room, sender, body)",
            (room.as_str(), a_name.as_str(), "hello, room"),
            (m.room.as_str(), m.sender.as_str(), m.body.as_str()),
        )?;
        ensure_eq(
            "MSG-2",
            "MESSAGE (id, seq, time) = ACK's",
            (ack.id, ack.seq, ack.time),
            (m.id, m.seq, m.time),
        )?;
        ensure_eq(
            "MSG-1",
            "MESSAGE HISTORY flag (live)",
            0,
            m.flags & Message::HISTORY,
        )?;
    }
    ensure("MSG-1", ack.time > 0, "a time stamp", ack.time)?;
    a.quiet("MSG-1", "no MESSAGE back to the sender").await
}

async fn ids_and_seqs(ctx: Arc<Ctx>) -> Check {
    let (r1, r2) = (ctx.room(), ctx.room());
    let mut a = ready(&ctx).await?;
    join(&mut a, &r1, 0, 0).await?;
    join(&mut a, &r2, 0, 0).await?;
    let b_name = ctx.user();
    let _b = crate::client::guest(&ctx, &b_name).await?;
    let mut acks = Vec::new();
    for (i, room) in [&r1, &r2, &r1, &r1, &r2].into_iter().enumerate() {
        acks.push(say(&mut a, i as u32, room, "x").await?);
        if i == 2 {
            // A direct message takes its id from the same server-wide sequence.
            let direct = super::direct::tell(&mut a, 99, &b_name, "dm").await?;
            ensure(
                "MSG-3",
                direct.id > acks[i].id,
                "a direct message id above the last room message's",
                format!("{} after {}", direct.id, acks[i].id),
            )?;
        }
    }
    ensure(
        "MSG-3",
        acks.iter().all(|a| a.id != 0),
        "non-zero ids",
        format!("{acks:?}"),
    )?;
    ensure(
        "MSG-3",
        acks.windows(2).all(|w| w[0].id < w[1].id),
        "increasing ids",
        format!("{:?}", acks.iter().map(|a| a.id).collect::<Vec<_>>()),
    )?;
    let seqs: Vec<u64> = acks.iter().map(|a| a.seq).collect();
    ensure_eq(
        "MSG-4",
        "seqs (r1, r2, r1, r1, r2)",
        vec![1, 1, 2, 3, 2],
        seqs,
    )
}

async fn order(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let (mut b, _) = member(&ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    // Within half a burst and half the receiver's queue (`[FLOW-1]`, `[FLOW-3]`).
    let n = (ctx.limits().msg_burst / 2)
        .min(ctx.limits().queue_depth / 2)
        .clamp(1, 20);
    for i in 0..n {
        a.send(send_frame(i, &room, &format!("n{i}"))).await?;
    }
    for i in 0..n {
        let ack = a.expect::<Ack>("MSG-2").await?;
        ensure_eq(
            "MSG-2",
            "ACK client_ref (answers in order)",
            i,
            ack.client_ref,
        )?;
    }
    for i in 0..n {
        let m = b.expect::<Message>("MSG-5").await?;
        ensure_eq(
            "MSG-5",
            "(seq, body)",
            (u64::from(i) + 1, format!("n{i}")),
            (m.seq, m.body.to_string()),
        )?;
    }
    Ok(())
}

async fn not_in_room(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (_owner, _) = member(&ctx, &room).await?;
    let mut a = ready(&ctx).await?;
    a.send(send_frame(1234, &room, "hi")).await?;
    a.expect_error_ref("MSG-6", ErrorCode::NOT_IN_ROOM, 1234)
        .await?;
    a.quiet("MSG-6", "the connection to stay open").await
}

async fn empty(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    for (r, body) in [(11, ""), (12, " "), (13, "  \t \r\n ")] {
        a.send(send_frame(r, &room, body)).await?;
        a.expect_error_ref("MSG-6", ErrorCode::EMPTY_MESSAGE, r)
            .await?;
    }
    let ack = say(&mut a, 14, &room, "not empty").await?;
    ensure_eq("MSG-6", "seq after rejected SENDs", 1, ack.seq)
}

async fn too_long(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    let room = ctx.room();
    let max = usize::from(l.max_body);
    require(max < usize::from(u16::MAX), "needs max_body below 65,535")?;
    require(
        max + 1 + 8 + room.len() <= l.max_frame as usize,
        "needs max_frame above max_body + 8 + a room name",
    )?;
    let (mut a, _) = member(&ctx, &room).await?;
    let (mut b, _) = member(&ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    a.send(send_frame(21, &room, &"y".repeat(max + 1))).await?;
    a.expect_error_ref("MSG-6", ErrorCode::BODY_TOO_LONG, 21)
        .await?;
    let ack = say(&mut a, 22, &room, &"y".repeat(max)).await?;
    ensure_eq("MSG-6", "seq after the rejected SEND", 1, ack.seq)?;
    let m = b.expect::<Message>("MSG-1").await?;
    ensure_eq("MSG-1", "delivered body length", max, m.body.len())
}

async fn largest_fits(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    let (room_stem, user_stem) = (ctx.room(), ctx.user());
    let (max_room, max_user) = (usize::from(l.max_room_name), usize::from(l.max_username));
    require(
        max_room >= room_stem.len() && max_user > user_stem.len(),
        "needs name limits above 10 bytes",
    )?;
    let room = format!("{room_stem}{}", "r".repeat(max_room - room_stem.len()));
    let sender = format!("{user_stem}{}", "s".repeat(max_user - user_stem.len()));
    let recipient = format!("{}{}", ctx.user(), "t".repeat(max_user - user_stem.len()));
    // The longest body the client can send: max_body, unless the SEND
    // itself (client_ref, room, body) would not fit max_frame.
    let max_frame = l.max_frame as usize;
    let room_body = usize::from(l.max_body).min(max_frame.saturating_sub(4 + 1 + room.len() + 2));
    let direct_body =
        usize::from(l.max_body).min(max_frame.saturating_sub(4 + 1 + recipient.len() + 2));
    let mut a = crate::client::guest(&ctx, &sender).await?;
    join(&mut a, &room, 0, 0).await?;
    let mut b = crate::client::guest(&ctx, &recipient).await?;
    join(&mut b, &room, 0, 0).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    // B's connection enforces the advertised max_frame: a larger frame is
    // undecodable there, and reported as a failure of FRAMING-2.
    a.send(send_frame(31, &room, &"z".repeat(room_body)))
        .await?;
    if accepted(&mut a).await? {
        let m = b.expect::<Message>("FRAMING-2").await?;
        ensure_eq("MSG-1", "delivered body length", room_body, m.body.len())?;
        // The same message replayed by HISTORY.
        b.send(confab_protocol::frame::History {
            kind: confab_protocol::frame::HistoryKind::Room,
            target: crate::client::s8(&room),
            direction: confab_protocol::frame::Direction::Before,
            anchor: 0,
            limit: 1,
        })
        .await?;
        b.expect::<Message>("FRAMING-2").await?;
        b.expect::<confab_protocol::frame::HistoryEnd>("HISTORY-1")
            .await?;
    } else {
        b.quiet("FRAMING-2", "no MESSAGE for a refused SEND")
            .await?;
    }
    a.send(super::direct::direct(
        32,
        &recipient,
        &"z".repeat(direct_body),
    ))
    .await?;
    if accepted(&mut a).await? {
        let dm = b
            .expect::<confab_protocol::frame::DirectMessage>("FRAMING-2")
            .await?;
        ensure_eq("DM-1", "delivered body length", direct_body, dm.body.len())?;
    }
    Ok(())
}

/// ACK (true) or a registry ERROR refusing the message (false): a server
/// may refuse what it could not deliver within max_frame, it must not send it.
async fn accepted(conn: &mut crate::conn::Conn) -> Check<bool> {
    match conn.next_frame("MSG-2", "ACK or a refusal").await? {
        confab_protocol::Frame::Ack(_) => Ok(true),
        confab_protocol::Frame::ErrorFrame(e) => {
            crate::conn::check_fatal_flag(&e)?;
            Ok(false)
        }
        other => Err(crate::verdict::fail(
            "MSG-2",
            "ACK",
            crate::conn::describe(&other),
        )),
    }
}
