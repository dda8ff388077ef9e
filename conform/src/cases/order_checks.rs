//! Order of checks: frame checks (`[STATE-6]`), request and LOGIN checks (`[STATE-7]`).

use std::sync::Arc;

use confab_protocol::frame::{
    code, Direction, Greeting, Hello, History, HistoryEnd, HistoryKind, Join, Leave, LoginMode, Who,
};
use confab_protocol::ErrorCode;

use super::direct::direct;
use super::raw;
use crate::client::{account_login, guest_login, hello, join, ready, s8, send_frame};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{ensure_eq, require, Check};

pub(super) async fn frame_checks(ctx: Arc<Ctx>) -> Check {
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

pub(super) async fn request_checks(ctx: Arc<Ctx>) -> Check {
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

pub(super) async fn login_checks(ctx: Arc<Ctx>) -> Check {
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
