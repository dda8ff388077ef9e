//! Section 6, the state machine: `[STATE-2]` to `[STATE-4]`.

use std::sync::Arc;

use confab_protocol::frame::{code, Goodbye, Hello, Ping, Welcome, Who};
use confab_protocol::{ErrorCode, Frame, Str16};

use super::raw;
use crate::case::Case;
use crate::client::{guest_login, hello, ready, require_guests, s8, send_frame};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{ensure_eq, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!(
            "state.login-when-ready",
            ["STATE-2"],
            "LOGIN after WELCOME gets UNEXPECTED_FRAME (not fatal)",
            login_when_ready
        ),
        crate::case!(
            "state.hello-twice",
            ["STATE-2"],
            "a second HELLO gets UNEXPECTED_FRAME and the handshake goes on",
            hello_twice
        ),
        crate::case!(
            "state.limits-from-client",
            ["LIMITS-3", "STATE-6"],
            "a LIMITS sent by a client gets UNEXPECTED_FRAME (not fatal)",
            limits_from_client
        ),
        crate::case!(
            "state.wrong-direction",
            ["STATE-2"],
            "well-formed server-to-client frames sent by the client get UNEXPECTED_FRAME",
            wrong_direction
        ),
        crate::case!(
            "state.ready-requests-before-welcome",
            ["STATE-2", "STATE-3"],
            "JOIN and SEND before LOGIN get UNEXPECTED_FRAME and are not processed",
            ready_requests_before_welcome
        ),
        crate::case!(
            "state.nothing-after-goodbye",
            ["STATE-4", "CLOSE-1"],
            "frames after the client's GOODBYE are ignored and the server closes",
            nothing_after_goodbye
        ),
        crate::case!(
            "state.nothing-after-fatal",
            ["STATE-4", "ERROR-3"],
            "bytes after a fatal frame are not processed; nothing follows the fatal ERROR",
            nothing_after_fatal
        ),
    ]
}

async fn unexpected(conn: &mut Conn, frame_type: u8) -> Check {
    let error = conn
        .expect_error("STATE-2", ErrorCode::UNEXPECTED_FRAME)
        .await?;
    ensure_eq("STATE-2", "ERROR frame_type", frame_type, error.frame_type)
}

async fn login_when_ready(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    conn.send(guest_login(&ctx.user())).await?;
    unexpected(&mut conn, code::LOGIN).await?;
    conn.quiet("STATE-2", "nothing more after UNEXPECTED_FRAME")
        .await
}

async fn hello_twice(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    unexpected(&mut conn, code::HELLO).await?;
    conn.send(guest_login(&ctx.user())).await?;
    conn.expect::<Welcome>("STATE-2").await?;
    Ok(())
}

async fn limits_from_client(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    let limits = confab_protocol::frame::ServerLimits::new(Vec::new())
        .expect("an empty LIMITS is well-formed");
    let frame = Frame::from(limits);
    let frame_type = frame.frame_type();
    conn.send(frame).await?;
    unexpected(&mut conn, frame_type).await?;
    conn.quiet("LIMITS-3", "the connection to stay open").await
}

async fn wrong_direction(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    let frames: [Frame; 3] = [
        Frame::from(Welcome {
            username: s8("x"),
            flags: 0,
            server_time: 1,
        }),
        Frame::from(confab_protocol::frame::Left { room: s8("x") }),
        Frame::from(confab_protocol::frame::Notice {
            level: confab_protocol::frame::NoticeLevel::Info,
            text: Str16::empty(),
        }),
    ];
    for frame in frames {
        let frame_type = frame.frame_type();
        conn.send(frame).await?;
        unexpected(&mut conn, frame_type).await?;
    }
    conn.quiet("STATE-2", "the connection to stay open").await
}

async fn ready_requests_before_welcome(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let room = ctx.room();
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    conn.send(confab_protocol::frame::Join {
        room: s8(&room),
        since_seq: 0,
        history: 0,
    })
    .await?;
    unexpected(&mut conn, code::JOIN).await?;
    conn.send(send_frame(77, &room, "too early")).await?;
    let error = conn
        .expect_error("STATE-2", ErrorCode::UNEXPECTED_FRAME)
        .await?;
    ensure_eq(
        "STATE-2",
        "ERROR client_ref (section 5.1)",
        77,
        error.client_ref,
    )?;
    conn.send(guest_login(&ctx.user())).await?;
    conn.expect::<Welcome>("STATE-3").await?;
    // The early JOIN was not processed: the room does not exist.
    conn.send(Who { room: s8(&room) }).await?;
    conn.expect_error("STATE-3", ErrorCode::NO_SUCH_ROOM)
        .await?;
    Ok(())
}

async fn nothing_after_goodbye(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    let mut bytes = Frame::from(Goodbye {
        reason: ErrorCode::NORMAL,
        message: Str16::empty(),
    })
    .to_bytes()
    .to_vec();
    bytes.extend_from_slice(&Frame::from(Ping { nonce: 99 }).to_bytes());
    conn.send_raw(&bytes).await?;
    conn.expect_closed("STATE-4").await
}

async fn nothing_after_fatal(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    let mut bytes = raw(code::PING, &[0; 9]);
    bytes.extend_from_slice(&Frame::from(Ping { nonce: 98 }).to_bytes());
    conn.send_raw(&bytes).await?;
    conn.expect_fatal("ERROR-3", ErrorCode::MALFORMED_FRAME)
        .await?;
    Ok(())
}
