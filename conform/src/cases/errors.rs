//! Section 15, errors, and `[SEC-2]`: ERROR frames from the client, nothing
//! processed after a fatal frame, arbitrary bytes.

use std::sync::Arc;

use confab_protocol::frame::{code, ErrorFrame, Ping};
use confab_protocol::{ErrorCode, Frame, Str16};

use super::raw;
use crate::case::Case;
use crate::client::{member, newest_room_history, ready, s8, send_frame};
use crate::conn::{check_fatal_flag, describe, Got};
use crate::ctx::Ctx;
use crate::verdict::{ensure_eq, fail, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("errors.client-error-not-fatal", ["ERROR-2"],
            "a non-fatal ERROR from the client is not answered with an ERROR and the connection stays", client_error_not_fatal),
        crate::case!("errors.client-error-fatal", ["ERROR-2"],
            "a fatal ERROR from the client makes the server close without answering", client_error_fatal),
        crate::case!("errors.nothing-after-fatal", ["ERROR-3"],
            "a valid SEND after a fatal frame in the same write is not delivered or stored", nothing_after_fatal),
        crate::case!("errors.fatal-flags", ["ERROR-1"],
            "each ERROR's FATAL flag equals the registry (NOT_IN_ROOM clear, MALFORMED_FRAME set)", fatal_flags),
        crate::case!("errors.arbitrary-bytes", ["SEC-2"],
            "arbitrary frame bodies end in registry errors or normal answers, never anything else", arbitrary_bytes),
    ]
}

fn client_error(code: ErrorCode, fatal: bool) -> ErrorFrame {
    ErrorFrame {
        code,
        flags: if fatal { ErrorFrame::FATAL } else { 0 },
        frame_type: 0,
        client_ref: 0,
        message: Str16::new("from confab-conform").expect("short"),
    }
}

async fn client_error_not_fatal(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    conn.send(client_error(ErrorCode::UNKNOWN_FRAME_TYPE, false))
        .await?;
    conn.quiet(
        "ERROR-2",
        "no answer to a non-fatal ERROR, the connection open",
    )
    .await
}

async fn client_error_fatal(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    conn.send(client_error(ErrorCode::INTERNAL_ERROR, true))
        .await?;
    conn.expect_closed("ERROR-2").await
}

async fn nothing_after_fatal(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let (mut b, _) = member(&ctx, &room).await?;
    let mut bytes = raw(code::SEND, &[0, 0, 0, 1]);
    bytes.extend_from_slice(&Frame::from(send_frame(2, &room, "must not be delivered")).to_bytes());
    b.send_raw(&bytes).await?;
    b.expect_fatal("ERROR-3", ErrorCode::MALFORMED_FRAME)
        .await?;
    a.send(newest_room_history(&room)).await?;
    loop {
        match a.next_frame("ERROR-3", "HISTORY_END count 0").await? {
            Frame::Presence(_) => {}
            Frame::HistoryEnd(end) => {
                return ensure_eq("ERROR-3", "messages stored in the room", 0, end.count)
            }
            other => {
                return Err(fail(
                    "ERROR-3",
                    "no MESSAGE, HISTORY_END count 0",
                    describe(&other),
                ))
            }
        }
    }
}

async fn fatal_flags(ctx: Arc<Ctx>) -> Check {
    let mut conn = ready(&ctx).await?;
    conn.send(confab_protocol::frame::Leave {
        room: s8(&ctx.room()),
    })
    .await?;
    conn.expect_error("ERROR-1", ErrorCode::NOT_IN_ROOM).await?;
    conn.send_raw(&raw(code::PONG, &[0; 3])).await?;
    conn.expect_fatal("ERROR-1", ErrorCode::MALFORMED_FRAME)
        .await?;
    Ok(())
}

/// A small deterministic generator: the same bytes on every run.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn arbitrary_bytes(ctx: Arc<Ctx>) -> Check {
    let types = [
        code::PING,
        code::PONG,
        code::GOODBYE,
        code::ERROR,
        code::HELLO,
        code::LOGIN,
        code::JOIN,
        code::LEAVE,
        code::LIST_ROOMS,
        code::SEND,
        code::DIRECT,
        code::WHO,
        code::HISTORY,
        0x80,
        0x83,
        0xB0,
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..24 {
        let mut conn = ready(&ctx).await?;
        let frame_type = types[round % types.len()];
        let len = (xorshift(&mut state) % 40) as usize;
        let body: Vec<u8> = (0..len).map(|_| xorshift(&mut state) as u8).collect();
        let mut bytes = raw(frame_type, &body);
        bytes.extend_from_slice(&Frame::from(Ping { nonce: 7 }).to_bytes());
        conn.send_raw(&bytes).await?;
        // Whole frames went out: the server answers or errs, it never waits.
        loop {
            match conn.next().await {
                Got::Frame(Frame::Pong(p)) if p.nonce == 7 => break,
                Got::Frame(Frame::ErrorFrame(e)) => {
                    check_fatal_flag(&e)?;
                    if e.is_fatal() {
                        conn.expect_closed("STATE-4").await?;
                        break;
                    }
                }
                Got::Frame(_) => {}
                Got::Closed => break,
                other => {
                    return Err(crate::conn::fail_got(
                        "SEC-2",
                        format!("an answer to frame {frame_type:#04x} with {len} arbitrary bytes"),
                        other,
                    ))
                }
            }
        }
    }
    Ok(())
}
