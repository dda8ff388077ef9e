//! Section 7, the handshake: HELLO, versions, LOGIN, attempts, auto-join, timeout.

use std::sync::Arc;

use confab_protocol::frame::{code, Hello, LoginRejected, Ping, Pong, Welcome};
use confab_protocol::{ErrorCode, Frame};

use crate::case::Case;
use crate::client::{fatal_about, guest_login, hello, joining, require_guests, s8};
use crate::conn::{describe, Conn, Got};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!(
            "handshake.guest-login",
            ["HANDSHAKE-3", "VERSION-1"],
            "HELLO with a version in range and a guest LOGIN get WELCOME",
            guest_login_ok
        ),
        crate::case!(
            "handshake.limits-after-greeting",
            ["LIMITS-1", "LIMITS-2"],
            "a LIMITS sent after the GREETING (before WELCOME) lists at most 64 ids, increasing, none 0",
            limits_after_greeting
        ),
        crate::case!(
            "handshake.pipelined",
            ["STATE-5"],
            "HELLO and LOGIN sent before the GREETING arrives are processed in order",
            pipelined
        ),
        crate::case!(
            "handshake.version-low",
            ["HANDSHAKE-2"],
            "a HELLO version below min_version gets UNSUPPORTED_VERSION (fatal)",
            version_low
        ),
        crate::case!(
            "handshake.version-high",
            ["HANDSHAKE-2"],
            "a HELLO version above max_version gets UNSUPPORTED_VERSION (fatal)",
            version_high
        ),
        crate::case!(
            "handshake.auto-join",
            ["HANDSHAKE-7"],
            "without NO_AUTO_JOIN the client is joined to default_room after WELCOME",
            auto_join
        ),
        crate::case!(
            "handshake.no-auto-join",
            ["HANDSHAKE-7"],
            "with NO_AUTO_JOIN nothing follows WELCOME",
            no_auto_join
        ),
        crate::case!(
            "handshake.retry-after-reject",
            ["HANDSHAKE-3"],
            "a rejected LOGIN gets LOGIN_REJECTED with attempts left, and another LOGIN may follow",
            retry_after_reject
        ),
        crate::case!(
            "handshake.too-many-attempts",
            ["HANDSHAKE-4"],
            "login_attempts rejected LOGINs end in attempts_left 0 and TOO_MANY_ATTEMPTS (fatal)",
            too_many_attempts
        ),
        crate::case!(
            "handshake.timeout",
            ["HANDSHAKE-8", "SEC-7"],
            "no LOGIN within handshake_timeout_ms gets HANDSHAKE_TIMEOUT (fatal)",
            timeout
        ),
        crate::case!(
            "handshake.timeout-partial",
            ["HANDSHAKE-8", "SEC-7", "FRAMING-6"],
            "a partial frame held open past handshake_timeout_ms gets HANDSHAKE_TIMEOUT",
            timeout_partial
        ),
    ]
}

async fn guest_login_ok(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    let name = ctx.user();
    conn.send(guest_login(&name)).await?;
    let welcome = conn.expect::<Welcome>("HANDSHAKE-3").await?;
    ensure_eq(
        "HANDSHAKE-3",
        "WELCOME username",
        name.as_str(),
        welcome.username.as_str(),
    )?;
    ensure_eq(
        "HANDSHAKE-3",
        "WELCOME flags REGISTERED (guest)",
        0,
        welcome.flags & Welcome::REGISTERED,
    )
}

async fn limits_after_greeting(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    conn.send(guest_login(&ctx.user())).await?;
    // Frames are read in order: a LIMITS is kept aside as it passes, so
    // once WELCOME is read, a LIMITS sent after the GREETING has been seen.
    conn.expect::<Welcome>("HANDSHAKE-3").await?;
    let limits = conn.limits.clone();
    require(
        limits.is_some(),
        "a server that sends LIMITS (a 1.0 server sends none, which LIMITS-1 allows)",
    )?;
    let ids: Vec<u16> = limits
        .iter()
        .flat_map(|l| l.entries.iter().map(|entry| entry.id))
        .collect();
    ensure(
        "LIMITS-2",
        ids.len() <= 64,
        "at most 64 entries",
        format!("{} entries", ids.len()),
    )?;
    ensure(
        "LIMITS-2",
        ids.first() != Some(&0) && ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ids in increasing order, each once, none 0",
        format!("ids {ids:?}"),
    )
}

async fn pipelined(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let mut conn = Conn::open(&ctx).await?;
    let name = ctx.user();
    let mut bytes = Frame::from(hello(Hello::NO_AUTO_JOIN)).to_bytes().to_vec();
    bytes.extend_from_slice(&Frame::from(guest_login(&name)).to_bytes());
    conn.send_raw(&bytes).await?;
    let greeting = conn
        .expect::<confab_protocol::frame::Greeting>("HANDSHAKE-1")
        .await?;
    conn.set_max_frame(greeting.limits.max_frame);
    let welcome = conn.expect::<Welcome>("STATE-5").await?;
    ensure_eq(
        "STATE-5",
        "WELCOME username",
        name.as_str(),
        welcome.username.as_str(),
    )
}

async fn unsupported(ctx: &Ctx, version: u16) -> Check {
    let (mut conn, _) = Conn::greeted(ctx).await?;
    conn.send(Hello {
        version,
        flags: 0,
        client: s8("confab-conform"),
    })
    .await?;
    fatal_about(
        &mut conn,
        "HANDSHAKE-2",
        ErrorCode::UNSUPPORTED_VERSION,
        code::HELLO,
    )
    .await
}

async fn version_low(ctx: Arc<Ctx>) -> Check {
    let min = ctx.greeting.min_version;
    require(min > 0, "needs min_version above 0")?;
    unsupported(&ctx, min - 1).await
}

async fn version_high(ctx: Arc<Ctx>) -> Check {
    let max = ctx.greeting.max_version;
    require(max < u16::MAX, "needs max_version below 65,535")?;
    unsupported(&ctx, max + 1).await
}

async fn auto_join(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let (mut conn, greeting) = Conn::greeted(&ctx).await?;
    require(
        !greeting.default_room.is_empty(),
        "needs a default_room in the GREETING",
    )?;
    conn.send(hello(0)).await?;
    conn.send(guest_login(&ctx.user())).await?;
    conn.expect::<Welcome>("HANDSHAKE-3").await?;
    let joining = joining(&mut conn).await?;
    ensure(
        "HANDSHAKE-7",
        joining.joined.room.to_lowercase() == greeting.default_room.to_lowercase(),
        format!("JOINED {:?}", greeting.default_room.as_str()),
        format!("JOINED {:?}", joining.joined.room.as_str()),
    )?;
    ensure_eq(
        "HANDSHAKE-7",
        "replayed messages (history 0)",
        0,
        joining.replay.len(),
    )
}

async fn no_auto_join(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    conn.send(guest_login(&ctx.user())).await?;
    conn.expect::<Welcome>("HANDSHAKE-3").await?;
    let before = conn.barrier("HANDSHAKE-7").await?;
    match before.iter().find(|f| matches!(f, Frame::Joined(_))) {
        Some(joined) => Err(fail(
            "HANDSHAKE-7",
            "no JOINED with NO_AUTO_JOIN",
            describe(joined),
        )),
        None => Ok(()),
    }
}

/// A LOGIN the server must reject whatever it is (a name with a space, `[SEC-4]`).
fn bad_login() -> Frame {
    Frame::from(guest_login("not a name"))
}

async fn retry_after_reject(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let (mut conn, greeting) = Conn::greeted(&ctx).await?;
    let attempts = greeting.limits.login_attempts;
    require(attempts >= 2, "needs login_attempts >= 2")?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    conn.send(bad_login()).await?;
    let rejected = conn.expect::<LoginRejected>("HANDSHAKE-3").await?;
    ensure(
        "HANDSHAKE-3",
        (20..=29).contains(&rejected.code.0),
        "a code from 20-29",
        format!("{rejected:?}"),
    )?;
    ensure_eq(
        "HANDSHAKE-3",
        "attempts_left",
        attempts - 1,
        rejected.attempts_left,
    )?;
    let name = ctx.user();
    conn.send(guest_login(&name)).await?;
    conn.expect::<Welcome>("HANDSHAKE-3").await?;
    Ok(())
}

async fn too_many_attempts(ctx: Arc<Ctx>) -> Check {
    let (mut conn, greeting) = Conn::greeted(&ctx).await?;
    let attempts = greeting.limits.login_attempts;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    for left in (0..attempts).rev() {
        conn.send(bad_login()).await?;
        let rejected = conn.expect::<LoginRejected>("HANDSHAKE-4").await?;
        ensure_eq("HANDSHAKE-4", "attempts_left", left, rejected.attempts_left)?;
    }
    let error = conn
        .expect_fatal("HANDSHAKE-4", ErrorCode::TOO_MANY_ATTEMPTS)
        .await?;
    ensure_eq(
        "HANDSHAKE-4",
        "ERROR frame_type (the last LOGIN)",
        code::LOGIN,
        error.frame_type,
    )
}

/// Waits out the handshake deadline (answering PINGs, `[KEEPALIVE-1]`) and
/// expects HANDSHAKE_TIMEOUT with frame_type 0, then the close.
async fn await_timeout(ctx: &Ctx, conn: &mut Conn, answer_pings: bool) -> Check {
    let deadline = ctx.limits().handshake_timeout_ms.into();
    let wait = ctx.waitable(deadline).ok_or_else(|| {
        crate::verdict::Stop::Skip(format!(
            "needs handshake_timeout_ms <= --max-wait-ms ({} ms); the server advertises {deadline}",
            ctx.max_wait.as_millis()
        ))
    })?;
    conn.auto_pong = false;
    loop {
        match conn.next_within(wait + ctx.timeout).await {
            Got::Frame(Frame::Ping(Ping { nonce })) if answer_pings => {
                conn.send(Pong { nonce }).await?
            }
            Got::Frame(Frame::Ping(_)) => {}
            Got::Frame(Frame::ErrorFrame(error)) if error.code == ErrorCode::HANDSHAKE_TIMEOUT => {
                crate::conn::check_fatal_flag(&error)?;
                ensure_eq("HANDSHAKE-8", "ERROR frame_type", 0, error.frame_type)?;
                return conn.expect_closed("STATE-4").await;
            }
            other => {
                return Err(crate::conn::fail_got(
                    "HANDSHAKE-8",
                    "ERROR HANDSHAKE_TIMEOUT",
                    other,
                ))
            }
        }
    }
}

async fn timeout(ctx: Arc<Ctx>) -> Check {
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(0)).await?;
    await_timeout(&ctx, &mut conn, true).await
}

async fn timeout_partial(ctx: Arc<Ctx>) -> Check {
    let (mut conn, _) = Conn::greeted(&ctx).await?;
    conn.send(hello(0)).await?;
    conn.send_raw(&[code::LOGIN, 0, 0]).await?;
    // The rest of the header never comes: a partial frame is not an error by
    // itself, but the handshake deadline still holds. A PONG now would land
    // inside the partial frame, so PINGs stay unanswered: the idle deadline
    // must not come first.
    let l = ctx.limits();
    require(
        u64::from(l.ping_interval_ms) + u64::from(l.ping_timeout_ms)
            > u64::from(l.handshake_timeout_ms),
        "needs ping_interval_ms + ping_timeout_ms above handshake_timeout_ms",
    )?;
    await_timeout(&ctx, &mut conn, false).await
}
