//! Section 13, flow control: what every request costs (`[FLOW-5]`), refused SENDs included (`[MSG-7]`).

use std::sync::Arc;

use confab_protocol::frame::Ping;
use confab_protocol::{ErrorCode, Frame};

use super::flow::{require_beatable_rate, require_queue_for};
use crate::client::{member, send_frame};
use crate::conn::{describe, Got};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

pub(super) async fn every_request_costs(ctx: Arc<Ctx>) -> Check {
    require_beatable_rate(&ctx)?;
    let burst = ctx.limits().msg_burst;
    require(burst <= 1000, "needs msg_burst <= 1,000")?;
    let n = burst + burst.min(10);
    require_queue_for(&ctx, 2 * n)?;
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    a.auto_pong = false;
    let mut bytes = Vec::new();
    for i in 0..n {
        bytes.extend_from_slice(
            &Frame::from(confab_protocol::frame::Who {
                room: crate::client::s8(&room),
            })
            .to_bytes(),
        );
        bytes.extend_from_slice(
            &Frame::from(Ping {
                nonce: u64::from(i),
            })
            .to_bytes(),
        );
    }
    a.send_raw(&bytes).await?;
    let mut limited = 0;
    for i in 0..n {
        match a.next_frame("FLOW-5", "WHO_LIST or RATE_LIMITED").await? {
            Frame::WhoList(_) => {}
            Frame::ErrorFrame(e) if e.code == ErrorCode::RATE_LIMITED => {
                crate::conn::check_fatal_flag(&e)?;
                ensure_eq(
                    "FLOW-5",
                    "RATE_LIMITED (frame_type, client_ref)",
                    (confab_protocol::frame::code::WHO, 0),
                    (e.frame_type, e.client_ref),
                )?;
                limited += 1;
            }
            other => {
                return Err(fail(
                    "FLOW-5",
                    format!("WHO_LIST or RATE_LIMITED for WHO {i}"),
                    describe(&other),
                ))
            }
        }
        match a.next_frame("FLOW-5", "PONG").await? {
            Frame::Pong(p) if p.nonce == u64::from(i) => {}
            other => {
                return Err(fail(
                    "FLOW-5",
                    format!("PONG {i} (PING is free, answers in order)"),
                    describe(&other),
                ))
            }
        }
    }
    ensure(
        "FLOW-5",
        limited > 0,
        format!("RATE_LIMITED for some of {n} WHOs at once (msg_burst {burst})"),
        "none",
    )
}

pub(super) async fn refused_sends_cost(ctx: Arc<Ctx>) -> Check {
    require_beatable_rate(&ctx)?;
    let burst = ctx.limits().msg_burst;
    require(burst <= 1000, "needs msg_burst <= 1,000")?;
    let n = burst + burst.min(10);
    require_queue_for(&ctx, 3 * burst + 10)?;
    let (room, nowhere) = (ctx.room(), ctx.room());
    let (mut a, _) = member(&ctx, &room).await?;
    let mut bytes = Vec::new();
    for r in 0..n {
        bytes.extend_from_slice(&Frame::from(send_frame(r, &nowhere, "x")).to_bytes());
    }
    a.send_raw(&bytes).await?;
    let mut limited = 0;
    for r in 0..n {
        let e = a
            .expect::<confab_protocol::frame::ErrorFrame>("MSG-7")
            .await?;
        crate::conn::check_fatal_flag(&e)?;
        ensure_eq(
            "MSG-7",
            "ERROR (frame_type, client_ref) in order",
            (confab_protocol::frame::code::SEND, r),
            (e.frame_type, e.client_ref),
        )?;
        match e.code {
            ErrorCode::NOT_IN_ROOM => {}
            ErrorCode::RATE_LIMITED => limited += 1,
            _ => {
                return Err(fail(
                    "MSG-7",
                    "NOT_IN_ROOM or RATE_LIMITED",
                    crate::conn::describe_error(&e),
                ))
            }
        }
    }
    ensure(
        "MSG-7",
        limited > 0,
        format!("RATE_LIMITED among {n} refused SENDs at once (msg_burst {burst}): refusals cost tokens"),
        "none",
    )?;
    drop(a);
    // Flooding: the rejection that cuts the client off is FLOODING itself.
    let (mut b, _) = member(&ctx, &room).await?;
    let n = burst * 3 + 10;
    let mut bytes = Vec::new();
    for r in 0..n {
        bytes.extend_from_slice(&Frame::from(send_frame(r, &room, "f")).to_bytes());
    }
    b.send_raw(&bytes).await?;
    for r in 0..n {
        match b.next().await {
            Got::Frame(Frame::Ack(ack)) => {
                ensure_eq("ORDER-1", "ACK client_ref in order", r, ack.client_ref)?
            }
            Got::Frame(Frame::ErrorFrame(e)) if e.code == ErrorCode::RATE_LIMITED => {
                ensure_eq("MSG-7", "RATE_LIMITED client_ref in order", r, e.client_ref)?
            }
            Got::Frame(Frame::ErrorFrame(e)) if e.code == ErrorCode::FLOODING => {
                crate::conn::check_fatal_flag(&e)?;
                ensure_eq(
                    "MSG-7",
                    "FLOODING (frame_type, client_ref)",
                    (confab_protocol::frame::code::SEND, r),
                    (e.frame_type, e.client_ref),
                )?;
                return b.expect_closed("MSG-7").await;
            }
            other => {
                return Err(crate::conn::fail_got(
                    "MSG-7",
                    "ACK, RATE_LIMITED or FLOODING",
                    other,
                ))
            }
        }
    }
    // Disconnecting is a MAY.
    Ok(())
}
