//! Order: answers in request order (`[ORDER-1]`), the order of checks
//! (`[STATE-6]`, `[STATE-7]`) and requests pipelined after LOGIN (`[STATE-8]`).

use std::sync::Arc;

use confab_protocol::frame::{
    code, Direction, Greeting, Hello, History, HistoryEnd, HistoryKind, Join, Leave, LoginMode,
    Ping, Who,
};
use confab_protocol::{ErrorCode, Frame};

use super::direct::direct;
use super::raw;
use crate::case::Case;
use crate::client::{
    account_login, guest_login, hello, join, member, ready, require_guests, s8, send_frame,
};
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

async fn frame_checks(ctx: Arc<Ctx>) -> Check {
    let max_frame = ctx.limits().max_frame;
    // Row 3 before row 4: a first frame that is too large.
    let (mut c, _) = Conn::greeted(&ctx).await?;
    let mut header = vec![code::PING];
    header.extend_from_slice(&(max_frame + 1).to_be_bytes());
    c.send_raw(&header).await?;
    c.expect_fatal("STATE-6", ErrorCode::FRAME_TOO_LARGE)
        .await?;
    // Row 4 before row 7: a malformed SEND as the first frame is judged by its type.
    let (mut c, _) = Conn::greeted(&ctx).await?;
    c.send_raw(&raw(code::SEND, &[0, 0, 0, 9, 200])).await?;
    let e = c.expect_fatal("STATE-6", ErrorCode::NOT_CONFAB).await?;
    ensure_eq(
        "STATE-6",
        "NOT_CONFAB (frame_type, client_ref)",
        (code::SEND, 0),
        (e.frame_type, e.client_ref),
    )?;
    // Row 5 before row 7: a server-to-client type with a malformed body,
    // before LOGIN and in READY, is UNEXPECTED_FRAME and the connection lives.
    if !ctx.has_flag(Greeting::ACCOUNT_REQUIRED) {
        let (mut c, _) = Conn::greeted(&ctx).await?;
        c.send(hello(Hello::NO_AUTO_JOIN)).await?;
        c.send_raw(&raw(code::WELCOME, &[0xFF, 1])).await?;
        let e = c
            .expect_error("STATE-6", ErrorCode::UNEXPECTED_FRAME)
            .await?;
        ensure_eq("STATE-6", "ERROR frame_type", code::WELCOME, e.frame_type)?;
        c.send(guest_login(&ctx.user())).await?;
        c.expect::<confab_protocol::frame::Welcome>("STATE-6")
            .await?;
        for (frame_type, body) in [
            (code::MESSAGE, &[1u8, 2, 3][..]),
            (code::GREETING, &[0xC3][..]),
            (code::HISTORY_END, &[][..]),
        ] {
            c.send_raw(&raw(frame_type, body)).await?;
            let e = c
                .expect_error("STATE-6", ErrorCode::UNEXPECTED_FRAME)
                .await?;
            ensure_eq("STATE-6", "ERROR frame_type", frame_type, e.frame_type)?;
        }
        c.quiet("STATE-6", "the connection to stay open").await?;
    }
    // Row 6: an unknown type is skipped whatever its body.
    let mut c = ready(&ctx).await?;
    c.send_raw(&raw(0xA7, &[0xFF, 0xFE, 0xC0])).await?;
    let e = c
        .expect_error("STATE-6", ErrorCode::UNKNOWN_FRAME_TYPE)
        .await?;
    ensure_eq("STATE-6", "ERROR frame_type", 0xA7, e.frame_type)?;
    c.quiet("STATE-6", "the connection to stay open").await?;
    // Row 7 before row 8: a malformed SEND before WELCOME is MALFORMED_FRAME.
    let (mut c, _) = Conn::greeted(&ctx).await?;
    c.send(hello(Hello::NO_AUTO_JOIN)).await?;
    c.send_raw(&raw(code::SEND, &[0, 0, 0, 9, 200])).await?;
    c.expect_fatal("STATE-6", ErrorCode::MALFORMED_FRAME)
        .await?;
    Ok(())
}

async fn request_checks(ctx: Arc<Ctx>) -> Check {
    crate::client::require_burst(&ctx, 18)?;
    let l = ctx.limits();
    let invalid = "not a name";
    let room = ctx.room();
    let name = ctx.user();
    let mut a = crate::client::guest(&ctx, &name).await?;
    join(&mut a, &room, 0, 0).await?;
    let nowhere = ctx.room();
    // SEND: the body is judged before membership.
    a.send(send_frame(1, &nowhere, " ")).await?;
    a.expect_error_ref("STATE-7", ErrorCode::EMPTY_MESSAGE, 1)
        .await?;
    let max = usize::from(l.max_body);
    if max < usize::from(u16::MAX) && max + 1 + 8 + nowhere.len() <= l.max_frame as usize {
        a.send(send_frame(2, &nowhere, &"z".repeat(max + 1)))
            .await?;
        a.expect_error_ref("STATE-7", ErrorCode::BODY_TOO_LONG, 2)
            .await?;
    }
    a.send(send_frame(3, invalid, "x")).await?;
    a.expect_error_ref("STATE-7", ErrorCode::NOT_IN_ROOM, 3)
        .await?;
    // DIRECT: the body before the recipient; an invalid name is nobody.
    a.send(direct(4, &ctx.user(), "")).await?;
    a.expect_error_ref("STATE-7", ErrorCode::EMPTY_MESSAGE, 4)
        .await?;
    a.send(direct(5, invalid, "x")).await?;
    a.expect_error_ref("STATE-7", ErrorCode::NO_SUCH_USER, 5)
        .await?;
    a.send(direct(6, &name, "x")).await?;
    a.expect_error_ref("STATE-7", ErrorCode::NO_SUCH_USER, 6)
        .await?;
    // WHO, LEAVE, HISTORY 0 of an invalid name answer as for a name of nothing.
    a.send(Who { room: s8(invalid) }).await?;
    a.expect_error("STATE-7", ErrorCode::NO_SUCH_ROOM).await?;
    a.send(Leave { room: s8(invalid) }).await?;
    a.expect_error("STATE-7", ErrorCode::NOT_IN_ROOM).await?;
    let history = |kind, target: &str| History {
        kind,
        target: s8(target),
        direction: Direction::Before,
        anchor: 0,
        limit: 10,
    };
    a.send(history(HistoryKind::Room, invalid)).await?;
    a.expect_error("STATE-7", ErrorCode::NOT_IN_ROOM).await?;
    // HISTORY 1 has no error about its target.
    let unknown = ctx.user();
    for target in [name.as_str(), unknown.as_str(), invalid] {
        a.send(history(HistoryKind::Direct, target)).await?;
        let end = a.expect::<HistoryEnd>("STATE-7").await?;
        ensure_eq(
            "STATE-7",
            &format!("HISTORY_END (count, flags) for kind 1 {target:?}"),
            (0, 0),
            (end.count, end.flags),
        )?;
    }
    // JOIN: ROOM_INVALID before TOO_MANY_ROOMS.
    let rooms = l.max_rooms;
    require(
        rooms <= 40 && l.msg_burst > u32::from(rooms) + 4,
        "needs max_rooms <= 40 and msg_burst above max_rooms + 4 to fill a connection's rooms",
    )?;
    let mut b = ready(&ctx).await?;
    for _ in 0..rooms {
        join(&mut b, &ctx.room(), 0, 0).await?;
    }
    b.send(Join {
        room: s8(invalid),
        since_seq: 0,
        history: 0,
    })
    .await?;
    b.expect_error("STATE-7", ErrorCode::ROOM_INVALID).await?;
    b.send(Join {
        room: s8(&ctx.room()),
        since_seq: 0,
        history: 0,
    })
    .await?;
    b.expect_error("STATE-7", ErrorCode::TOO_MANY_ROOMS).await?;
    Ok(())
}

async fn login_checks(ctx: Arc<Ctx>) -> Check {
    let invalid = "not a name";
    // 1 before 2: a guest with a password and an invalid name.
    crate::client::rejected(
        &ctx,
        "STATE-7",
        account_login(LoginMode::Guest, invalid, "secret"),
        ErrorCode::AUTH_FAILED,
    )
    .await?;
    if !ctx.has_flag(Greeting::ACCOUNTS) {
        // 1 before 2: accounts unavailable whatever the name.
        crate::client::rejected(
            &ctx,
            "STATE-7",
            account_login(LoginMode::Login, invalid, "secret"),
            ErrorCode::ACCOUNTS_UNAVAILABLE,
        )
        .await?;
        return Ok(());
    }
    // 2 before 6: an invalid name, whatever the password.
    for mode in [LoginMode::Login, LoginMode::Register] {
        crate::client::rejected(
            &ctx,
            "STATE-7",
            account_login(mode, invalid, ""),
            ErrorCode::NAME_INVALID,
        )
        .await?;
    }
    // 5 before 6: a registration with an empty password of a name in use.
    if !ctx.has_flag(Greeting::ACCOUNT_REQUIRED) {
        let name = ctx.user();
        let _online = crate::client::guest(&ctx, &name).await?;
        crate::client::rejected(
            &ctx,
            "STATE-7",
            account_login(LoginMode::Register, &name, ""),
            ErrorCode::NAME_TAKEN,
        )
        .await?;
    }
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
