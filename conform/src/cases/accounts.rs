//! Accounts in the handshake: `[HANDSHAKE-6]`.

use std::sync::Arc;

use confab_protocol::frame::{Goodbye, Greeting, Hello, Login, LoginMode, LoginRejected, Welcome};
use confab_protocol::{ErrorCode, Frame, Str8};

use crate::case::Case;
use crate::client::{hello, s8};
use crate::conn::{describe, Conn};
use crate::ctx::Ctx;
use crate::verdict::{fail, require, Check};

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
    ]
}

fn login(mode: LoginMode, name: &str, password: &str) -> Login {
    Login {
        mode,
        username: s8(name),
        password: s8(password),
    }
}

fn require_accounts(ctx: &Ctx) -> Check {
    require(
        ctx.has_flag(Greeting::ACCOUNTS),
        "needs a server with accounts (GREETING flag ACCOUNTS; confab-server without --in-memory)",
    )
}

/// One LOGIN on a fresh connection; returns the connection and the answer.
async fn attempt(ctx: &Ctx, login: Login) -> Check<(Conn, Result<Welcome, LoginRejected>)> {
    let (mut conn, _) = Conn::greeted(ctx).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    conn.send(login).await?;
    // Servers SHOULD slow down repeated AUTH_FAILED answers (by address,
    // and every case comes from one): allow for it.
    conn.timeout = ctx.timeout + ctx.max_wait;
    let answer = match conn
        .next_frame("HANDSHAKE-6", "WELCOME or LOGIN_REJECTED")
        .await?
    {
        Frame::Welcome(w) => Ok(w),
        Frame::LoginRejected(r) => Err(r),
        other => {
            return Err(fail(
                "HANDSHAKE-6",
                "WELCOME or LOGIN_REJECTED",
                describe(&other),
            ))
        }
    };
    Ok((conn, answer))
}

async fn expect_code(ctx: &Ctx, login: Login, code: ErrorCode) -> Check {
    let what = format!(
        "LOGIN_REJECTED {code} for mode {:?} {:?}",
        login.mode,
        login.username.as_str()
    );
    match attempt(ctx, login).await?.1 {
        Err(r) if r.code == code => Ok(()),
        Err(r) => Err(fail(
            "HANDSHAKE-6",
            what,
            format!("LOGIN_REJECTED {}", r.code),
        )),
        Ok(w) => Err(fail(
            "HANDSHAKE-6",
            what,
            format!("WELCOME {:?}", w.username.as_str()),
        )),
    }
}

async fn expect_registered(ctx: &Ctx, login: Login) -> Check<Conn> {
    let what = format!("WELCOME with REGISTERED for mode {:?}", login.mode);
    match attempt(ctx, login).await? {
        (conn, Ok(w)) if w.flags & Welcome::REGISTERED != 0 => Ok(conn),
        (_, Ok(w)) => Err(fail(
            "HANDSHAKE-6",
            what,
            format!("WELCOME flags {:#04x}", w.flags),
        )),
        (_, Err(r)) => Err(fail(
            "HANDSHAKE-6",
            what,
            format!("LOGIN_REJECTED {}", r.code),
        )),
    }
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
        login(LoginMode::Register, &ctx.user(), "secret"),
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
    let mut first =
        expect_registered(&ctx, login(LoginMode::Register, &name, "correct horse")).await?;
    // End the registering session and wait for the server to close it, so the name is free.
    first
        .send(Goodbye {
            reason: ErrorCode::NORMAL,
            message: confab_protocol::Str16::empty(),
        })
        .await?;
    first.expect_closed("CLOSE-1").await?;
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
    let mut first = expect_registered(&ctx, login(LoginMode::Register, &name, "pw1")).await?;
    first
        .send(Goodbye {
            reason: ErrorCode::NORMAL,
            message: confab_protocol::Str16::empty(),
        })
        .await?;
    first.expect_closed("CLOSE-1").await?;
    let guest = Login {
        mode: LoginMode::Guest,
        username: s8(&name),
        password: Str8::empty(),
    };
    expect_code(&ctx, guest, ErrorCode::ACCOUNT_REQUIRED).await?;
    expect_code(
        &ctx,
        login(LoginMode::Register, &name, "pw2"),
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
        expect_registered(&ctx, login(LoginMode::Register, &ctx.user(), "pw")).await?;
    }
    Ok(())
}
