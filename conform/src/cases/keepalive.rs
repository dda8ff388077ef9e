//! Section 12, keepalive: `[KEEPALIVE-1]`, `[KEEPALIVE-2]`.

use std::sync::Arc;

use confab_protocol::frame::{Hello, Ping, Pong};
use confab_protocol::{ErrorCode, Frame};

use crate::case::Case;
use crate::client::{hello, ready};
use crate::conn::{Conn, Got};
use crate::ctx::Ctx;
use crate::verdict::{ensure_eq, require, Check, Stop};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("keepalive.pong-ready", ["KEEPALIVE-1"],
            "PING in READY gets PONG with the same nonce", pong_ready),
        crate::case!("keepalive.pong-await-login", ["KEEPALIVE-1"],
            "PING before LOGIN gets PONG with the same nonce", pong_await_login),
        crate::case!("keepalive.server-pings", ["KEEPALIVE-2"],
            "a silent READY client is pinged after ping_interval_ms and stays connected by answering", server_pings),
        crate::case!("keepalive.server-pings-await-login", ["KEEPALIVE-2"],
            "a client silent after HELLO is pinged after ping_interval_ms, before the handshake deadline", server_pings_await_login),
        crate::case!("keepalive.idle-timeout", ["KEEPALIVE-2"],
            "a client that does not answer the PING gets IDLE_TIMEOUT (fatal)", idle_timeout),
    ]
}

async fn pong(conn: &mut Conn, nonce: u64) -> Check {
    conn.send(Ping { nonce }).await?;
    let pong = conn.expect::<Pong>("KEEPALIVE-1").await?;
    ensure_eq("KEEPALIVE-1", "PONG nonce", nonce, pong.nonce)
}

async fn pong_ready(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    pong(&mut conn, 0x0123_4567_89AB_CDEF).await?;
    pong(&mut conn, 0).await
}

async fn pong_await_login(ctx: Arc<Ctx>) -> Check {
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    pong(&mut conn, u64::MAX).await
}

fn idle_wait(ctx: &Ctx) -> Check<std::time::Duration> {
    let l = ctx.limits();
    let total = u64::from(l.ping_interval_ms) + u64::from(l.ping_timeout_ms);
    ctx.waitable(total).ok_or_else(|| Stop::Skip(format!(
        "needs ping_interval_ms + ping_timeout_ms <= --max-wait-ms ({} ms); the server advertises {total}",
        ctx.max_wait.as_millis())))
}

async fn server_ping(ctx: &Ctx, conn: &mut Conn) -> Check<u64> {
    let wait = std::time::Duration::from_millis(ctx.limits().ping_interval_ms.into()) + ctx.timeout;
    conn.auto_pong = false;
    match conn.next_within(wait).await {
        Got::Frame(Frame::Ping(ping)) => Ok(ping.nonce),
        other => Err(crate::conn::fail_got(
            "KEEPALIVE-2",
            "PING after ping_interval_ms of silence",
            other,
        )),
    }
}

async fn server_pings(ctx: Arc<Ctx>) -> Check {
    idle_wait(&ctx)?;
    let mut conn = ready(&ctx).await?;
    let nonce = server_ping(&ctx, &mut conn).await?;
    conn.send(Pong { nonce }).await?;
    conn.quiet("KEEPALIVE-2", "the connection to stay open after the PONG")
        .await
}

async fn server_pings_await_login(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    idle_wait(&ctx)?;
    // The PING is due well before the handshake deadline.
    require(
        2 * u64::from(l.ping_interval_ms) <= u64::from(l.handshake_timeout_ms),
        "needs ping_interval_ms at most half of handshake_timeout_ms",
    )?;
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    let nonce = server_ping(&ctx, &mut conn).await?;
    conn.send(Pong { nonce }).await?;
    conn.quiet("KEEPALIVE-2", "the connection to stay open after the PONG")
        .await
}

async fn idle_timeout(ctx: Arc<Ctx>) -> Check {
    idle_wait(&ctx)?;
    let mut conn = ready(&ctx).await?;
    server_ping(&ctx, &mut conn).await?;
    let wait = std::time::Duration::from_millis(ctx.limits().ping_timeout_ms.into()) + ctx.timeout;
    match conn.next_within(wait).await {
        Got::Frame(Frame::ErrorFrame(e)) if e.code == ErrorCode::IDLE_TIMEOUT => {
            crate::conn::check_fatal_flag(&e)?;
            ensure_eq("KEEPALIVE-2", "ERROR frame_type", 0, e.frame_type)?;
            conn.expect_closed("STATE-4").await
        }
        other => Err(crate::conn::fail_got(
            "KEEPALIVE-2",
            "ERROR IDLE_TIMEOUT",
            other,
        )),
    }
}
