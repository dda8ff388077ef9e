//! Section 4, framing: length limits, trailing and missing bytes, split
//! frames, unknown types, printable type bytes.

use std::sync::Arc;

use confab_protocol::frame::{code, Ping, Welcome};
use confab_protocol::{ErrorCode, Frame};

use super::raw;
use crate::case::Case;
use crate::client::{fatal_about, guest_login, hello, join, ready, send_frame};
use crate::conn::{describe, Conn};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("framing.greeting", ["HANDSHAKE-1", "FRAMING-1", "TRANSPORT-3"],
            "the first frame is a GREETING of at most 4,096 bytes with limits in the bounds of section 16", greeting),
        crate::case!("framing.too-large", ["FRAMING-2", "SEC-1"],
            "a header declaring max_frame + 1 is FRAME_TOO_LARGE at once, before any body byte", too_large),
        crate::case!("framing.max-frame-inclusive", ["FRAMING-2"],
            "a body of exactly max_frame bytes is accepted as a frame", max_frame_inclusive),
        crate::case!("framing.trailing-bytes", ["FRAMING-3"],
            "a PING with a 9-byte body is MALFORMED_FRAME (fatal)", trailing_bytes),
        crate::case!("framing.missing-fields", ["FRAMING-3", "TYPES-2"],
            "a JOIN without since_seq and history is MALFORMED_FRAME (fatal)", missing_fields),
        crate::case!("framing.string-past-end", ["TYPES-2", "SEC-1"],
            "a str8 whose length runs past the body is MALFORMED_FRAME (fatal)", string_past_end),
        crate::case!("framing.split-writes", ["FRAMING-6"],
            "HELLO and LOGIN written one byte at a time are still understood", split_writes),
        crate::case!("framing.unknown-skipped", ["FRAMING-5", "VERSION-3"],
            "unknown frame types get UNKNOWN_FRAME_TYPE (not fatal) and exactly their body is skipped", unknown_skipped),
        crate::case!("framing.ascii-type-ready", ["FRAMING-4"],
            "one printable byte where a frame type belongs is NOT_CONFAB, without waiting for a length", ascii_type_ready),
        crate::case!("framing.bad-utf8", ["TYPES-1"],
            "an overlong UTF-8 form in a SEND body is INVALID_UTF8 (fatal)", bad_utf8),
        crate::case!("framing.surrogate-utf8", ["TYPES-1"],
            "an encoded surrogate in a JOIN room name is INVALID_UTF8 (fatal)", surrogate_utf8),
        crate::case!("framing.flags-ignored", ["TYPES-3", "HANDSHAKE-7"],
            "undefined HELLO flag bits are ignored (auto-join still happens)", flags_ignored),
        crate::case!("framing.bad-enum", ["TYPES-4"],
            "a LOGIN mode of 7 is MALFORMED_FRAME (fatal)", bad_enum),
    ]
}

async fn greeting(ctx: Arc<Ctx>) -> Check {
    let mut conn = Conn::open(&ctx).await?;
    // The client-side limit before the GREETING is 4,096 (`Conn::open`).
    let greeting = conn
        .expect::<confab_protocol::frame::Greeting>("HANDSHAKE-1")
        .await?;
    ensure(
        "HANDSHAKE-1",
        greeting.min_version <= greeting.max_version,
        "min_version <= max_version",
        format!("{}..{}", greeting.min_version, greeting.max_version),
    )?;
    let bounds = greeting.limits.validate();
    ensure(
        "HANDSHAKE-1",
        bounds.is_ok(),
        "every advertised limit within the bounds of section 16",
        bounds.err().unwrap_or_default(),
    )?;
    Ok(())
}

async fn too_large(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    let max = ctx.limits().max_frame;
    require(max < u32::MAX, "needs max_frame below 2^32 - 1")?;
    let mut header = vec![code::PING];
    header.extend_from_slice(&(max + 1).to_be_bytes());
    // Only the header: the answer must not wait for a body.
    conn.send_raw(&header).await?;
    fatal_about(&mut conn, "FRAMING-2", ErrorCode::FRAME_TOO_LARGE, 0).await
}

async fn max_frame_inclusive(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let overhead = 4 + 1 + room.len() + 2;
    let body_len = (ctx.limits().max_frame as usize).saturating_sub(overhead);
    require(
        body_len <= usize::from(u16::MAX),
        "needs max_frame <= 65,535 + 7 + a room name, so a SEND can fill it",
    )?;
    let mut conn = ready(&ctx).await?;
    join(&mut conn, &room, 0, 0).await?;
    let body = "x".repeat(body_len);
    conn.send(send_frame(7, &room, &body)).await?;
    if body_len > usize::from(ctx.limits().max_body) {
        conn.expect_error_ref("FRAMING-2", ErrorCode::BODY_TOO_LONG, 7)
            .await?;
    } else {
        conn.expect::<confab_protocol::frame::Ack>("FRAMING-2")
            .await?;
    }
    conn.quiet("FRAMING-2", "the connection to stay open").await
}

/// A ready connection sends `body` as a frame of `frame_type`: a fatal MALFORMED_FRAME about it (`[FRAMING-3]`).
async fn malformed(ctx: &Ctx, frame_type: u8, body: &[u8]) -> Check {
    let mut conn = ready(ctx).await?;
    conn.send_raw(&raw(frame_type, body)).await?;
    fatal_about(
        &mut conn,
        "FRAMING-3",
        ErrorCode::MALFORMED_FRAME,
        frame_type,
    )
    .await
}

async fn trailing_bytes(ctx: Arc<Ctx>) -> Check {
    malformed(&ctx, code::PING, &[0, 0, 0, 0, 0, 0, 0, 1, 0xAA]).await
}

async fn missing_fields(ctx: Arc<Ctx>) -> Check {
    malformed(&ctx, code::JOIN, &[3, b'a', b'b', b'c']).await
}

async fn string_past_end(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    conn.send_raw(&raw(code::LEAVE, &[200, b'a', b'b'])).await?;
    conn.expect_fatal("TYPES-2", ErrorCode::MALFORMED_FRAME)
        .await?;
    Ok(())
}

async fn split_writes(ctx: Arc<Ctx>) -> Check {
    crate::client::require_guests(&ctx)?;
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    let mut bytes = Frame::from(hello(confab_protocol::frame::Hello::NO_AUTO_JOIN))
        .to_bytes()
        .to_vec();
    let name = ctx.user();
    bytes.extend_from_slice(&Frame::from(guest_login(&name)).to_bytes());
    for byte in bytes {
        conn.send_raw(&[byte]).await?;
    }
    let welcome = conn.expect::<Welcome>("FRAMING-6").await?;
    ensure_eq(
        "FRAMING-6",
        "WELCOME username",
        name.as_str(),
        welcome.username.as_str(),
    )
}

async fn unknown_skipped(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    // The body holds a whole PING: answering it would mean the body was not skipped.
    let hidden = Frame::from(Ping { nonce: 0x5EC7 }).to_bytes();
    for frame_type in [0x00, 0x1F, 0x7F, 0x9F, 0xA7, 0xFF] {
        conn.send_raw(&raw(frame_type, &hidden)).await?;
        let error = conn
            .expect_error("VERSION-3", ErrorCode::UNKNOWN_FRAME_TYPE)
            .await?;
        ensure_eq(
            "VERSION-3",
            "ERROR frame_type",
            frame_type,
            error.frame_type,
        )?;
        let before = conn.barrier("FRAMING-5").await?;
        if let Some(frame) = before.first() {
            return Err(crate::verdict::fail(
                "FRAMING-5",
                format!("the body of frame {frame_type:#04x} skipped, nothing answered in it"),
                describe(frame),
            ));
        }
    }
    Ok(())
}

async fn ascii_type_ready(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    conn.send_raw(b"G").await?;
    fatal_about(&mut conn, "FRAMING-4", ErrorCode::NOT_CONFAB, 0).await
}

async fn bad_utf8(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let mut conn = ready(&ctx).await?;
    join(&mut conn, &room, 0, 0).await?;
    let mut body = vec![0, 0, 0, 9, room.len() as u8];
    body.extend_from_slice(room.as_bytes());
    body.extend_from_slice(&[0, 2, 0xC0, 0x80]);
    conn.send_raw(&raw(code::SEND, &body)).await?;
    fatal_about(&mut conn, "TYPES-1", ErrorCode::INVALID_UTF8, code::SEND).await
}

async fn surrogate_utf8(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    let mut body = vec![4, b'r', 0xED, 0xA0, 0x80];
    body.extend_from_slice(&[0; 10]);
    conn.send_raw(&raw(code::JOIN, &body)).await?;
    conn.expect_fatal("TYPES-1", ErrorCode::INVALID_UTF8)
        .await?;
    Ok(())
}

async fn flags_ignored(ctx: Arc<Ctx>) -> Check {
    crate::client::require_guests(&ctx)?;
    require(
        !ctx.greeting.default_room.is_empty(),
        "needs a default_room in the GREETING",
    )?;
    let (mut conn, greeting) = Conn::greeted(&ctx).await?;
    conn.send(hello(0xFE)).await?;
    conn.send(guest_login(&ctx.user())).await?;
    conn.expect::<Welcome>("TYPES-3").await?;
    let joined = conn
        .expect::<confab_protocol::frame::Joined>("TYPES-3")
        .await?;
    ensure(
        "HANDSHAKE-7",
        crate::cases::names::same_name(joined.room.as_str(), greeting.default_room.as_str()),
        format!("JOINED {:?}", greeting.default_room.as_str()),
        format!("JOINED {:?}", joined.room.as_str()),
    )
}

async fn bad_enum(ctx: Arc<Ctx>) -> Check {
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(0)).await?;
    conn.send_raw(&raw(code::LOGIN, &[7, 3, b'a', b'b', b'c', 0]))
        .await?;
    fatal_about(
        &mut conn,
        "TYPES-4",
        ErrorCode::MALFORMED_FRAME,
        code::LOGIN,
    )
    .await
}
