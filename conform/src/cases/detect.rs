//! Non-Confab peers and bad first frames: `[FRAMING-4]`, `[STATE-1]`,
//! `[VERSION-5]`, `[HANDSHAKE-2]`.

use std::sync::Arc;

use confab_protocol::frame::{code, Ping};
use confab_protocol::{ErrorCode, Frame, MAGIC};

use super::raw;
use crate::case::Case;
use crate::client::{fatal_about, guest_login};
use crate::conn::{describe_error, Conn};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!(
            "detect.http",
            ["FRAMING-4", "VERSION-5"],
            "an HTTP request gets NOT_CONFAB (fatal) with a message naming Confab",
            http
        ),
        crate::case!(
            "detect.telnet",
            ["FRAMING-4", "VERSION-5"],
            "typed text gets NOT_CONFAB (fatal)",
            telnet
        ),
        crate::case!(
            "detect.one-ascii-byte",
            ["FRAMING-4"],
            "a single printable byte gets NOT_CONFAB without waiting for a length",
            one_ascii_byte
        ),
        crate::case!(
            "detect.binary-garbage",
            ["STATE-1", "VERSION-5"],
            "a binary first frame that is not HELLO (type 0x00) gets NOT_CONFAB",
            binary_garbage
        ),
        crate::case!(
            "detect.login-first",
            ["STATE-1"],
            "LOGIN as the first frame gets NOT_CONFAB",
            login_first
        ),
        crate::case!(
            "detect.ping-first",
            ["STATE-1"],
            "PING as the first frame gets NOT_CONFAB",
            ping_first
        ),
        crate::case!(
            "detect.unknown-first",
            ["STATE-1"],
            "an unknown frame type as the first frame gets NOT_CONFAB",
            unknown_first
        ),
        crate::case!(
            "detect.bad-magic",
            ["HANDSHAKE-2"],
            "HELLO with magic CONFAX gets NOT_CONFAB naming HELLO",
            bad_magic
        ),
        crate::case!(
            "detect.short-hello",
            ["HANDSHAKE-2", "TYPES-2"],
            "a HELLO too short for the magic is MALFORMED_FRAME",
            short_hello
        ),
        crate::case!(
            "detect.tls-client-hello",
            ["TRANSPORT-4", "VERSION-5", "STATE-6"],
            "a TLS ClientHello (16 03 ...) is NOT_CONFAB (frame_type 0) saying the port does not speak TLS, not FRAME_TOO_LARGE",
            tls_client_hello
        ),
        crate::case!(
            "detect.tls-bytes-later",
            ["TRANSPORT-4", "FRAMING-2"],
            "after HELLO, 16 03 is a DIRECT header whose length is checked as usual: FRAME_TOO_LARGE",
            tls_bytes_later
        ),
    ]
}

/// The start of a TLS 1.2/1.3 ClientHello record.
const CLIENT_HELLO: &[u8] = &[
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03, 0x5A, 0x5A, 0x5A, 0x5A,
];

async fn tls_client_hello(ctx: Arc<Ctx>) -> Check {
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send_raw(CLIENT_HELLO).await?;
    let error = conn
        .expect_fatal("TRANSPORT-4", ErrorCode::NOT_CONFAB)
        .await?;
    ensure_eq("TRANSPORT-4", "ERROR frame_type", 0, error.frame_type)?;
    ensure(
        "TRANSPORT-4",
        error.message.to_uppercase().contains("TLS"),
        "a message saying that the port speaks plain Confab, not TLS",
        describe_error(&error),
    )
}

async fn tls_bytes_later(ctx: Arc<Ctx>) -> Check {
    require(
        ctx.limits().max_frame < 0x0301_0200,
        "needs max_frame below 50 MB",
    )?;
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(crate::client::hello(
        confab_protocol::frame::Hello::NO_AUTO_JOIN,
    ))
    .await?;
    conn.send_raw(CLIENT_HELLO).await?;
    conn.expect_fatal("TRANSPORT-4", ErrorCode::FRAME_TOO_LARGE)
        .await?;
    Ok(())
}

/// Sends `bytes` first on a fresh connection and expects NOT_CONFAB, then the close.
async fn not_confab(ctx: &Ctx, clause: &'static str, bytes: &[u8], frame_type: u8) -> Check {
    let (mut conn, _) = Conn::greeted(ctx).await?;
    conn.send_raw(bytes).await?;
    let error = conn.expect_fatal(clause, ErrorCode::NOT_CONFAB).await?;
    ensure_eq(clause, "ERROR frame_type", frame_type, error.frame_type)?;
    ensure(
        "VERSION-5",
        error.message.to_lowercase().contains("confab"),
        "a message saying, in plain English, that this is a Confab server",
        describe_error(&error),
    )
}

async fn http(ctx: Arc<Ctx>) -> Check {
    not_confab(
        &ctx,
        "FRAMING-4",
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        0,
    )
    .await
}

async fn telnet(ctx: Arc<Ctx>) -> Check {
    not_confab(&ctx, "FRAMING-4", b"hello there\r\n", 0).await
}

async fn one_ascii_byte(ctx: Arc<Ctx>) -> Check {
    not_confab(&ctx, "FRAMING-4", b"x", 0).await
}

async fn binary_garbage(ctx: Arc<Ctx>) -> Check {
    not_confab(&ctx, "STATE-1", &raw(0x00, &[1, 2, 3]), 0x00).await
}

async fn login_first(ctx: Arc<Ctx>) -> Check {
    let login = Frame::from(guest_login(&ctx.user())).to_bytes();
    not_confab(&ctx, "STATE-1", &login, code::LOGIN).await
}

async fn ping_first(ctx: Arc<Ctx>) -> Check {
    let ping = Frame::from(Ping { nonce: 1 }).to_bytes();
    not_confab(&ctx, "STATE-1", &ping, code::PING).await
}

async fn unknown_first(ctx: Arc<Ctx>) -> Check {
    not_confab(&ctx, "STATE-1", &raw(0xA7, &[0; 4]), 0xA7).await
}

async fn bad_magic(ctx: Arc<Ctx>) -> Check {
    let mut body = b"CONFAX".to_vec();
    body.extend_from_slice(&[0, 1, 0, 0]);
    not_confab(&ctx, "HANDSHAKE-2", &raw(code::HELLO, &body), code::HELLO).await
}

async fn short_hello(ctx: Arc<Ctx>) -> Check {
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send_raw(&raw(code::HELLO, &MAGIC[..3])).await?;
    fatal_about(
        &mut conn,
        "HANDSHAKE-2",
        ErrorCode::MALFORMED_FRAME,
        code::HELLO,
    )
    .await
}
