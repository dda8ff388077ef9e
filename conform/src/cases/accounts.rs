//! Accounts in the handshake: `[HANDSHAKE-6]`.

use std::sync::Arc;

use confab_protocol::frame::{Greeting, Login, LoginMode, Welcome};
use confab_protocol::{ErrorCode, Str8};

use crate::case::Case;
use crate::client::{rejected, require_accounts, s8, welcomed};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("accounts.unavailable", ["HANDSHAKE-6"],
            "without ACCOUNTS, LOGIN modes 1 and 2 get ACCOUNTS_UNAVAILABLE", unavailable),
        crate::case!("accounts.guest-with-password", ["HANDSHAKE-6"],
            "a guest LOGIN with a password gets AUTH_FAILED", guest_with_password),
        crate::case!("accounts.register-and-login", ["HANDSHAKE-6"],
            "register, then log in: wrong password AUTH_FAILED, right one WELCOME with REGISTERED", register_and_login),
        crate::case!("accounts.unknown-account", ["HANDSHAKE-6"],
            "mode 1 for a name that has no account gets AUTH_FAILED", unknown_account),
        crate::case!("accounts.registered-name-rules", ["HANDSHAKE-6"],
            "a guest on a registered name gets ACCOUNT_REQUIRED, a second registration ACCOUNT_EXISTS", registered_name_rules),
        crate::case!("accounts.required", ["HANDSHAKE-6"],
            "with ACCOUNT_REQUIRED every guest LOGIN gets ACCOUNT_REQUIRED", required),
        crate::case!("accounts.empty-password", ["HANDSHAKE-9"],
            "registration with an empty password gets AUTH_FAILED and makes no account; mode 1 with an empty password gets AUTH_FAILED", empty_password),
        crate::case!("accounts.guessing-holds-nothing", ["AUTH-1"],
            "while a wrong password for an account is being judged, its owner logs in with the right one", guessing_holds_nothing),
        crate::case!("accounts.deadline-absolute", ["AUTH-2", "HANDSHAKE-8"],
            "a wrong password sent just before the handshake deadline: the connection still ends with HANDSHAKE_TIMEOUT at the deadline", deadline_absolute),
    ]
}

async fn empty_password(ctx: Arc<Ctx>) -> Check {
    require_accounts(&ctx)?;
    let name = ctx.user();
    rejected(
        &ctx,
        "HANDSHAKE-9",
        login(LoginMode::Register, &name, ""),
        ErrorCode::AUTH_FAILED,
    )
    .await?;
    // No account was made: the name can still be registered.
    let (conn, welcome) = welcomed(
        &ctx,
        "HANDSHAKE-9",
        login(LoginMode::Register, &name, "conform-pw"),
    )
    .await?;
    ensure(
        "HANDSHAKE-9",
        welcome.flags & Welcome::REGISTERED != 0,
        "WELCOME with REGISTERED",
        format!("WELCOME flags {:#04x}", welcome.flags),
    )?;
    crate::client::quit(conn).await?;
    rejected(
        &ctx,
        "HANDSHAKE-9",
        login(LoginMode::Login, &name, ""),
        ErrorCode::AUTH_FAILED,
    )
    .await?;
    Ok(())
}

async fn guessing_holds_nothing(ctx: Arc<Ctx>) -> Check {
    require_accounts(&ctx)?;
    let name = ctx.user();
    let (conn, _) = welcomed(
        &ctx,
        "HANDSHAKE-6",
        login(LoginMode::Register, &name, "right-password"),
    )
    .await?;
    crate::client::quit(conn).await?;
    // A guesser's LOGIN goes first; the owner's follows while it is judged
    // (and, on a server that slows down wrong passwords, held back).
    let (mut guesser, _) = Conn::greeted(&ctx).await?;
    guesser
        .send(crate::client::hello(
            confab_protocol::frame::Hello::NO_AUTO_JOIN,
        ))
        .await?;
    guesser
        .send(login(LoginMode::Login, &name, "wrong"))
        .await?;
    let (owner, welcome) = welcomed(
        &ctx,
        "AUTH-1",
        login(LoginMode::Login, &name, "right-password"),
    )
    .await?;
    ensure_eq(
        "AUTH-1",
        "WELCOME username",
        name.as_str(),
        welcome.username.as_str(),
    )?;
    guesser.timeout = ctx.timeout + ctx.max_wait;
    match guesser.next_frame("AUTH-1", "LOGIN_REJECTED").await? {
        confab_protocol::Frame::LoginRejected(r)
            if [
                ErrorCode::AUTH_FAILED,
                ErrorCode::NAME_TAKEN,
                ErrorCode::TRY_AGAIN_LATER,
            ]
            .contains(&r.code) => {}
        other => {
            return Err(crate::verdict::fail(
                "AUTH-1",
                "LOGIN_REJECTED for the wrong password",
                crate::conn::describe(&other),
            ))
        }
    }
    drop(owner);
    Ok(())
}

async fn deadline_absolute(ctx: Arc<Ctx>) -> Check {
    require_accounts(&ctx)?;
    let deadline = u64::from(ctx.limits().handshake_timeout_ms);
    let Some(wait) = ctx.waitable(deadline) else {
        return Err(crate::verdict::Stop::Skip(format!(
            "needs handshake_timeout_ms <= --max-wait-ms; the server advertises {deadline}"
        )));
    };
    let name = ctx.user();
    let (conn, _) = welcomed(
        &ctx,
        "HANDSHAKE-6",
        login(LoginMode::Register, &name, "right-password"),
    )
    .await?;
    crate::client::quit(conn).await?;
    let started = tokio::time::Instant::now();
    let (mut c, _) = Conn::greeted(&ctx).await?;
    c.send(crate::client::hello(
        confab_protocol::frame::Hello::NO_AUTO_JOIN,
    ))
    .await?;
    // Shortly before the deadline (the server's clock started after ours).
    let margin = std::time::Duration::from_millis(300.min(deadline / 4));
    let quiet = (wait - margin).saturating_sub(started.elapsed());
    match c.next_within(quiet).await {
        crate::conn::Got::TimedOut(_) => {}
        other => {
            return Err(crate::conn::fail_got(
                "HANDSHAKE-8",
                "nothing before the handshake deadline",
                other,
            ))
        }
    }
    c.send(login(LoginMode::Login, &name, "wrong")).await?;
    // The LOGIN may be answered if it was judged before the deadline; the
    // connection ends at the deadline all the same, judgement or not.
    c.timeout = margin + ctx.timeout;
    loop {
        match c.next_frame("AUTH-2", "HANDSHAKE_TIMEOUT").await? {
            confab_protocol::Frame::LoginRejected(r) if r.code == ErrorCode::AUTH_FAILED => {}
            confab_protocol::Frame::ErrorFrame(e) if e.code == ErrorCode::HANDSHAKE_TIMEOUT => {
                crate::conn::check_fatal_flag(&e)?;
                return c.expect_closed("STATE-4").await;
            }
            other => {
                return Err(crate::verdict::fail(
                    "AUTH-2",
                    "ERROR HANDSHAKE_TIMEOUT at the deadline",
                    crate::conn::describe(&other),
                ))
            }
        }
    }
}

use crate::client::account_login as login;

async fn expect_code(ctx: &Ctx, login: Login, code: ErrorCode) -> Check {
    rejected(ctx, "HANDSHAKE-6", login, code).await.map(|_| ())
}

async fn expect_registered(ctx: &Ctx, login: Login) -> Check<Conn> {
    let (conn, welcome) = welcomed(ctx, "HANDSHAKE-6", login).await?;
    ensure(
        "HANDSHAKE-6",
        welcome.flags & Welcome::REGISTERED != 0,
        "WELCOME with REGISTERED",
        format!("WELCOME flags {:#04x}", welcome.flags),
    )?;
    Ok(conn)
}

async fn unavailable(ctx: Arc<Ctx>) -> Check {
    require(
        !ctx.has_flag(Greeting::ACCOUNTS),
        "needs a server without accounts (no ACCOUNTS flag, e.g. --in-memory)",
    )?;
    expect_code(
        &ctx,
        login(LoginMode::Login, &ctx.user(), "secret"),
        ErrorCode::ACCOUNTS_UNAVAILABLE,
    )
    .await?;
    expect_code(
        &ctx,
        login(LoginMode::Register, &ctx.user(), "conform-secret"),
        ErrorCode::ACCOUNTS_UNAVAILABLE,
    )
    .await
}

async fn guest_with_password(ctx: Arc<Ctx>) -> Check {
    crate::client::require_guests(&ctx)?;
    expect_code(
        &ctx,
        login(LoginMode::Guest, &ctx.user(), "secret"),
        ErrorCode::AUTH_FAILED,
    )
    .await
}

async fn register_and_login(ctx: Arc<Ctx>) -> Check {
    require_accounts(&ctx)?;
    let name = ctx.user();
    let first = expect_registered(&ctx, login(LoginMode::Register, &name, "correct horse")).await?;
    // End the registering session and wait for the server to close it, so the name is free.
    crate::client::quit(first).await?;
    expect_code(
        &ctx,
        login(LoginMode::Login, &name, "wrong horse"),
        ErrorCode::AUTH_FAILED,
    )
    .await?;
    expect_registered(&ctx, login(LoginMode::Login, &name, "correct horse")).await?;
    Ok(())
}

async fn unknown_account(ctx: Arc<Ctx>) -> Check {
    require_accounts(&ctx)?;
    expect_code(
        &ctx,
        login(LoginMode::Login, &ctx.user(), "whatever"),
        ErrorCode::AUTH_FAILED,
    )
    .await
}

async fn registered_name_rules(ctx: Arc<Ctx>) -> Check {
    require_accounts(&ctx)?;
    let name = ctx.user();
    let first = expect_registered(
        &ctx,
        login(LoginMode::Register, &name, "conform-password-1"),
    )
    .await?;
    crate::client::quit(first).await?;
    let guest = Login {
        mode: LoginMode::Guest,
        username: s8(&name),
        password: Str8::empty(),
    };
    expect_code(&ctx, guest, ErrorCode::ACCOUNT_REQUIRED).await?;
    expect_code(
        &ctx,
        login(LoginMode::Register, &name, "conform-password-2"),
        ErrorCode::ACCOUNT_EXISTS,
    )
    .await
}

async fn required(ctx: Arc<Ctx>) -> Check {
    require(
        ctx.has_flag(Greeting::ACCOUNT_REQUIRED),
        "needs a server that requires accounts (GREETING flag ACCOUNT_REQUIRED, --require-account)",
    )?;
    let guest = Login {
        mode: LoginMode::Guest,
        username: s8(&ctx.user()),
        password: Str8::empty(),
    };
    expect_code(&ctx, guest, ErrorCode::ACCOUNT_REQUIRED).await?;
    if ctx.has_flag(Greeting::ACCOUNTS) {
        expect_registered(&ctx, login(LoginMode::Register, &ctx.user(), "conform-pw")).await?;
    }
    Ok(())
}
