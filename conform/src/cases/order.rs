//! Order: answers in request order (`[ORDER-1]`), requests pipelined after LOGIN (`[STATE-8]`); checks in `order_checks`.

use std::sync::Arc;

use confab_protocol::frame::{
    code, Direction, Hello, History, HistoryKind, Join, Leave, Ping, Who,
};
use confab_protocol::{ErrorCode, Frame};

use super::direct::direct;
use super::order_checks::{frame_checks, login_checks, request_checks};
use super::raw;
use crate::case::Case;
use crate::client::{guest_login, hello, member, require_guests, s8, send_frame};
use crate::conn::{describe, Conn};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("order.answers-in-order", ["ORDER-1"],
            "eleven pipelined requests of every kind are answered in the order sent, errors included", answers_in_order),
        crate::case!("order.acks-before-close", ["ORDER-1", "ERROR-3"],
            "SENDs pipelined before a malformed frame are all acknowledged before the fatal ERROR", acks_before_close),
        crate::case!("order.frame-checks", ["STATE-6"],
            "frame checks in order: too large before NOT_CONFAB, NOT_CONFAB before the body, server-to-client before the body, decoding before the state", frame_checks),
        crate::case!("order.request-checks", ["STATE-7"],
            "request checks in order: body before membership, invalid names as names of nothing, ROOM_INVALID before TOO_MANY_ROOMS", request_checks),
        crate::case!("order.login-checks", ["STATE-7", "HANDSHAKE-6"],
            "LOGIN checks in order: a guest's password before its name, ACCOUNTS_UNAVAILABLE or NAME_INVALID before the password", login_checks),
        crate::case!("order.pipelined-after-login", ["STATE-8", "HANDSHAKE-7"],
            "a request sent before WELCOME is answered after WELCOME and the whole automatic join", pipelined_after_login),
        crate::case!("order.pipelined-after-rejection", ["STATE-8", "STATE-3"],
            "a request pipelined after a rejected LOGIN is UNEXPECTED_FRAME and not carried out; the next LOGIN is the next attempt", pipelined_after_rejection),
    ]
}

fn bytes_of(frames: impl IntoIterator<Item = Frame>) -> Vec<u8> {
    frames
        .into_iter()
        .flat_map(|f| f.to_bytes().to_vec())
        .collect()
}

/// What one answer must look like, for the report and the check.
struct Want {
    what: &'static str,
    ok: fn(&Frame) -> bool,
}

fn want(what: &'static str, ok: fn(&Frame) -> bool) -> Want {
    Want { what, ok }
}

fn is_error(frame: &Frame, code: ErrorCode, client_ref: u32) -> bool {
    matches!(frame, Frame::ErrorFrame(e) if e.code == code && e.client_ref == client_ref)
}

async fn answers_in_order(ctx: Arc<Ctx>) -> Check {
    crate::client::require_burst(&ctx, 14)?;
    let (room, other) = (ctx.room(), ctx.room());
    let (mut a, _) = member(&ctx, &room).await?;
    let history = History {
        kind: HistoryKind::Room,
        target: s8(&room),
        direction: Direction::Before,
        anchor: 0,
        limit: 10,
    };
    let requests = bytes_of([
        Frame::from(Who { room: s8(&room) }),
        send_frame(1, &room, "first").into(),
        send_frame(2, &ctx.room(), "nobody's room").into(),
        Join {
            room: s8(&other),
            since_seq: 0,
            history: 0,
        }
        .into(),
        direct(3, &ctx.user(), "nobody").into(),
        history.into(),
        send_frame(4, &room, "second").into(),
        Leave { room: s8(&other) }.into(),
        Ping { nonce: 77 }.into(),
    ]);
    let mut bytes = requests;
    // An unknown frame type between the SENDs.
    bytes.extend_from_slice(&raw(0x1F, b"??"));
    bytes.extend_from_slice(&Frame::from(Ping { nonce: 78 }).to_bytes());
    a.auto_pong = false;
    a.send_raw(&bytes).await?;
    let wants = [
        want("WHO_LIST", |f| matches!(f, Frame::WhoList(_))),
        want("ACK 1", |f| matches!(f, Frame::Ack(a) if a.client_ref == 1)),
        want("ERROR NOT_IN_ROOM (client_ref 2)", |f| {
            is_error(f, ErrorCode::NOT_IN_ROOM, 2)
        }),
        want("JOINED", |f| matches!(f, Frame::Joined(_))),
        want(
            "HISTORY_END (of the JOIN)",
            |f| matches!(f, Frame::HistoryEnd(e) if e.count == 0),
        ),
        want("ERROR NO_SUCH_USER (client_ref 3)", |f| {
            is_error(f, ErrorCode::NO_SUCH_USER, 3)
        }),
        want(
            "MESSAGE seq 1 (the HISTORY answer)",
            |f| matches!(f, Frame::Message(m) if m.seq == 1),
        ),
        want(
            "HISTORY_END (of the HISTORY)",
            |f| matches!(f, Frame::HistoryEnd(e) if e.count == 1),
        ),
        want("ACK 4", |f| matches!(f, Frame::Ack(a) if a.client_ref == 4)),
        want("LEFT", |f| matches!(f, Frame::Left(_))),
        want("PONG 77", |f| matches!(f, Frame::Pong(p) if p.nonce == 77)),
        want("ERROR UNKNOWN_FRAME_TYPE", |f| {
            is_error(f, ErrorCode::UNKNOWN_FRAME_TYPE, 0)
        }),
        want("PONG 78", |f| matches!(f, Frame::Pong(p) if p.nonce == 78)),
    ];
    for (n, want) in wants.iter().enumerate() {
        let frame = a.next_frame("ORDER-1", want.what).await?;
        ensure(
            "ORDER-1",
            (want.ok)(&frame),
            format!("answer {} in request order: {}", n + 1, want.what),
            describe(&frame),
        )?;
    }
    Ok(())
}

async fn acks_before_close(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let mut bytes = bytes_of((1..=5).map(|r| Frame::from(send_frame(r, &room, "before"))));
    bytes.extend_from_slice(&raw(code::PING, &[0; 9]));
    a.send_raw(&bytes).await?;
    for r in 1..=5 {
        let frame = a.next_frame("ORDER-1", "ACK").await?;
        ensure(
            "ORDER-1",
            matches!(&frame, Frame::Ack(ack) if ack.client_ref == r),
            format!("ACK {r} before the fatal ERROR"),
            describe(&frame),
        )?;
    }
    a.expect_fatal("ERROR-3", ErrorCode::MALFORMED_FRAME)
        .await?;
    Ok(())
}

async fn pipelined_after_login(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let default_room = ctx.greeting.default_room.to_string();
    require(
        !default_room.is_empty(),
        "needs a default_room in the GREETING",
    )?;
    let name = ctx.user();
    let mut c = Conn::open(&ctx).await?;
    c.send_raw(&bytes_of([
        Frame::from(hello(0)),
        guest_login(&name).into(),
        Who {
            room: s8(&default_room),
        }
        .into(),
    ]))
    .await?;
    c.greeting().await?;
    c.expect::<confab_protocol::frame::Welcome>("STATE-8")
        .await?;
    // Everything of the automatic join, then the WHO's answer.
    let mut seen_joined = false;
    let mut seen_end = false;
    loop {
        match c
            .next_frame("STATE-8", "JOINED, HISTORY_END, then WHO_LIST")
            .await?
        {
            Frame::Joined(_) if !seen_joined => seen_joined = true,
            Frame::HistoryEnd(_) if seen_joined && !seen_end => seen_end = true,
            Frame::Presence(_) | Frame::Message(_) => {}
            Frame::WhoList(list) if seen_end => {
                let mut pages = vec![list];
                while pages
                    .last()
                    .is_some_and(|p| p.flags & confab_protocol::frame::WhoList::MORE != 0)
                {
                    pages.push(c.expect("STATE-8").await?);
                }
                let listed = pages
                    .iter()
                    .flat_map(|p| p.users.iter())
                    .any(|u| u.as_str() == name);
                return ensure(
                    "STATE-8",
                    listed,
                    format!("WHO_LIST of {default_room:?} naming {name:?} (joined before the WHO)"),
                    "a list without it",
                );
            }
            other => {
                return Err(fail(
                    "STATE-8",
                    "WELCOME, JOINED, HISTORY_END of default_room, then WHO_LIST",
                    describe(&other),
                ))
            }
        }
    }
}

async fn pipelined_after_rejection(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let (room, name) = (ctx.room(), ctx.user());
    let mut c = Conn::open(&ctx).await?;
    c.send_raw(&bytes_of([
        Frame::from(hello(Hello::NO_AUTO_JOIN)),
        guest_login("not a name").into(),
        Join {
            room: s8(&room),
            since_seq: 0,
            history: 0,
        }
        .into(),
        guest_login(&name).into(),
        Who { room: s8(&room) }.into(),
    ]))
    .await?;
    let greeting = c.greeting().await?;
    let rejected = c
        .expect::<confab_protocol::frame::LoginRejected>("STATE-8")
        .await?;
    require(
        greeting.limits.login_attempts >= 2,
        "needs login_attempts of at least 2",
    )?;
    ensure_eq(
        "STATE-8",
        "LOGIN_REJECTED code",
        ErrorCode::NAME_INVALID,
        rejected.code,
    )?;
    let e = c
        .expect_error("STATE-8", ErrorCode::UNEXPECTED_FRAME)
        .await?;
    ensure_eq("STATE-8", "ERROR frame_type", code::JOIN, e.frame_type)?;
    c.expect::<confab_protocol::frame::Welcome>("STATE-8")
        .await?;
    // The JOIN was not carried out: the room does not exist.
    c.expect_error("STATE-8", ErrorCode::NO_SUCH_ROOM).await?;
    Ok(())
}
