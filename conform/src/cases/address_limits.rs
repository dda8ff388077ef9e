//! Section 16, per-address connection limits (`[LIMIT-1]`, `[LIMIT-3]`, `[LIMIT-4]`) and the per-address case list.
//!
//! The runner connects from one address, so a server's per-address limits
//! see every case as one client. The cases that look for those limits run
//! alone, after the others (exclusive), and each is skipped when it does
//! not meet the limit within its bounds: run them against a server with
//! per-address limits on (and everything else against one with them off).

use std::sync::Arc;

use confab_protocol::frame::{Goodbye, Hello, Welcome};
use confab_protocol::{ErrorCode, Frame, Str16};

use super::address_requests::{password_checks, per_address_share, room_creation};
use crate::case::Case;
use crate::client::{guest_login, hello, require_guests};
use crate::conn::{check_fatal_flag, describe, describe_error, Conn, Got};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, Check, Stop};

/// Connections the case opens at most while looking for the server's limit.
const MOST: usize = 300;

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("limits.refusal-is-an-error", ["LIMIT-1"],
            "a connection over the server's limits gets a fatal SERVER_FULL or TOO_MANY_CONNECTIONS, never a silent close",
            refusal_is_an_error, exclusive),
        crate::case!("limits.pending-logins", ["LIMIT-4"],
            "connections still logging in from one address are bounded with TOO_MANY_CONNECTIONS; once they log in, a newcomer is greeted",
            pending_logins, exclusive),
        crate::case!("limits.password-checks", ["MEM-1"],
            "password checks past the server's bounds get LOGIN_REJECTED TRY_AGAIN_LATER, which uses one attempt and keeps the connection",
            password_checks, exclusive),
        crate::case!("limits.room-creation", ["LIMIT-5"],
            "rooms made too fast get RATE_LIMITED or ROOM_LIMIT (not fatal); joining a room that exists is still answered JOINED",
            room_creation, exclusive),
        crate::case!("limits.per-address-share", ["FLOW-5"],
            "connections of one address, each within its own burst, together meet the address's shared bucket: RATE_LIMITED with the frame's type",
            per_address_share, exclusive),
        crate::case!("limits.connect-rate", ["LIMIT-3"],
            "connections opened (and closed) too fast from one address get TOO_MANY_CONNECTIONS (fatal) instead of GREETING",
            connect_rate, exclusive),
    ]
}

async fn refusal_is_an_error(ctx: Arc<Ctx>) -> Check {
    let mut open = Vec::new();
    for _ in 0..MOST {
        let mut conn = Conn::open(&ctx).await?;
        match conn.next().await {
            Got::Frame(Frame::Greeting(_)) => open.push(conn),
            Got::Frame(Frame::ErrorFrame(e)) => {
                ensure(
                    "LIMIT-1",
                    [ErrorCode::SERVER_FULL, ErrorCode::TOO_MANY_CONNECTIONS].contains(&e.code),
                    "ERROR SERVER_FULL or TOO_MANY_CONNECTIONS",
                    crate::conn::describe_error(&e),
                )?;
                crate::conn::check_fatal_flag(&e)?;
                ensure_eq("LIMIT-1", "ERROR frame_type", 0, e.frame_type)?;
                conn.expect_closed("STATE-4").await?;
                close_all(open).await;
                return Ok(());
            }
            Got::Frame(other) => {
                return Err(fail(
                    "HANDSHAKE-1",
                    "GREETING or a refusal",
                    describe(&other),
                ))
            }
            other => {
                return Err(crate::conn::fail_got(
                    "LIMIT-1",
                    "GREETING or ERROR SERVER_FULL / TOO_MANY_CONNECTIONS",
                    other,
                ))
            }
        }
    }
    close_all(open).await;
    Err(Stop::Skip(format!(
        "needs a connection limit below {MOST} (confab-server: --max-per-ip)"
    )))
}

/// Closes `conns` and waits until the server has, so that the next case
/// (per-address cases run one after another) starts with none of them.
pub(super) async fn close_all(conns: Vec<Conn>) {
    for conn in conns {
        conn.goodbye_and_wait().await;
    }
}

/// The first frame on a fresh connection: `Ok(conn)` after a GREETING, or
/// `Err(code)` after a refusal, which must be fatal, carry `frame_type` 0
/// and be the connection's last frame (`[LIMIT-1]`).
async fn admitted(ctx: &Ctx, clause: &'static str) -> Check<Result<Conn, (ErrorCode, String)>> {
    let mut conn = Conn::open(ctx).await?;
    match conn.next().await {
        Got::Frame(Frame::Greeting(g)) => {
            conn.set_max_frame(g.limits.max_frame);
            Ok(Ok(conn))
        }
        Got::Frame(Frame::ErrorFrame(e)) => {
            ensure(
                clause,
                [ErrorCode::SERVER_FULL, ErrorCode::TOO_MANY_CONNECTIONS].contains(&e.code),
                "GREETING, or ERROR SERVER_FULL / TOO_MANY_CONNECTIONS",
                describe_error(&e),
            )?;
            check_fatal_flag(&e)?;
            ensure_eq(clause, "ERROR frame_type", 0, e.frame_type)?;
            conn.expect_closed("STATE-4").await?;
            Ok(Err((e.code, e.message.to_string())))
        }
        Got::Frame(other) => Err(fail(
            "HANDSHAKE-1",
            "GREETING or a refusal",
            describe(&other),
        )),
        other => Err(crate::conn::fail_got(
            clause,
            "GREETING or ERROR TOO_MANY_CONNECTIONS",
            other,
        )),
    }
}

/// Connections opened at most while looking for a per-address limit.
pub(super) const LOOK: usize = 600;

pub(super) fn not_met(what: &str, flags: &str) -> Stop {
    Stop::Skip(format!(
        "met no {what} (not advertised in the GREETING): needs a server with per-address limits on (confab-server: {flags}, without --max-per-ip 0)"
    ))
}

async fn pending_logins(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let mut held = Vec::new();
    let mut refused = false;
    for _ in 0..MOST {
        match admitted(&ctx, "LIMIT-4").await? {
            Ok(conn) => held.push(conn),
            Err(_) => {
                refused = true;
                break;
            }
        }
    }
    if !refused {
        close_all(held).await;
        return Err(not_met(
            &format!("bound on {MOST} connections logging in from one address"),
            "--max-unauthenticated-per-ip",
        ));
    }
    // Logged in, they no longer count as logging in.
    for conn in &mut held {
        conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
        conn.send(guest_login(&ctx.user())).await?;
    }
    for conn in &mut held {
        conn.expect::<Welcome>("LIMIT-4").await?;
        // Answered after the LOGIN's handling has ended.
        conn.barrier("LIMIT-4").await?;
    }
    let outcome = match admitted(&ctx, "LIMIT-4").await? {
        Ok(conn) => {
            held.push(conn);
            Ok(())
        }
        Err((_, message)) => Err(Stop::Skip(format!(
            "the refusal was not about connections logging in: it stayed once they had logged in ({message:?})"
        ))),
    };
    close_all(held).await;
    outcome
}

async fn connect_rate(ctx: Arc<Ctx>) -> Check {
    for _ in 0..LOOK {
        match admitted(&ctx, "LIMIT-3").await? {
            Ok(mut conn) => {
                // Closed before the next one opens: only the rate can refuse it.
                conn.send(Goodbye {
                    reason: ErrorCode::NORMAL,
                    message: Str16::empty(),
                })
                .await?;
                conn.expect_closed("STATE-1").await?;
            }
            Err((code, _)) => {
                return ensure_eq("LIMIT-3", "refusal", ErrorCode::TOO_MANY_CONNECTIONS, code)
            }
        }
    }
    Err(not_met(
        &format!("connect rate: {LOOK} connections opened one after another"),
        "--connect-rate, --connect-burst",
    ))
}
