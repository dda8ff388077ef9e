//! Section 13, flow control: rate limits, flooding, slow consumers, fairness.

use std::sync::Arc;

use confab_protocol::frame::{Hello, Message, Ping, Presence};
use confab_protocol::{ErrorCode, Frame};

use super::flow_costs::{every_request_costs, refused_sends_cost};
use crate::case::Case;
use crate::client::{join, login_guest, member, ready, send_batch, send_frame};
use crate::conn::{describe, Conn, Got};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check, Stop};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("flow.rate-limited", ["FLOW-1"],
            "SENDs past msg_burst get RATE_LIMITED (not fatal, with client_ref) and are not delivered", rate_limited),
        crate::case!("flow.flooding", ["FLOW-2", "FLOW-1"],
            "a client sending on past the limit gets RATE_LIMITED before any FLOODING (which is fatal)", flooding),
        crate::case!("flow.slow-consumer", ["FLOW-3"],
            "a client that stops reading is cut off with SLOW_CONSUMER as its last frame; senders are not slowed", slow_consumer, exclusive),
        crate::case!("flow.fairness", ["FLOW-4"],
            "a client writing without pause does not stop another client's PINGs being answered", fairness),
        crate::case!("flow.every-request-costs", ["FLOW-5", "ORDER-1"],
            "WHOs past msg_burst get RATE_LIMITED with WHO's frame type, in order; the PINGs between them are never refused", every_request_costs),
        crate::case!("flow.refused-sends-cost", ["MSG-7", "FLOW-5"],
            "SENDs refused by their own checks consume tokens (RATE_LIMITED follows); FLOODING carries the last SEND's type and client_ref", refused_sends_cost),
    ]
}

/// Pipelining `n` requests queues up to `n` answers (and `n` deliveries to
/// a member) at once; the spec lets a server cut off a client whose queue
/// holds `queue_depth` frames (`[FLOW-3]`), reading or not.
pub(super) fn require_queue_for(ctx: &Ctx, n: u32) -> Check {
    require(
        ctx.limits().queue_depth > 2 * n,
        format!(
            "needs queue_depth above {} to take a burst of {n} answers",
            2 * n
        ),
    )
}

pub(super) fn require_beatable_rate(ctx: &Ctx) -> Check {
    require(
        ctx.limits().msg_rate <= 1000,
        "needs msg_rate <= 1,000 so a burst outruns the bucket's refill",
    )
}

async fn rate_limited(ctx: Arc<Ctx>) -> Check {
    require_beatable_rate(&ctx)?;
    let burst = ctx.limits().msg_burst;
    require(burst <= 2000, "needs msg_burst <= 2,000")?;
    let room = ctx.room();
    // At most msg_burst rejections, so FLOW-2's flooding threshold is not reached.
    let n = burst + burst.min(10);
    let (mut a, _) = member(&ctx, &room).await?;
    require_queue_for(&ctx, n)?;
    let (mut b, _) = member(&ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    let mut bytes = Vec::new();
    for r in 0..n {
        bytes.extend_from_slice(&Frame::from(send_frame(r, &room, "r")).to_bytes());
    }
    a.send_raw(&bytes).await?;
    // Each SEND is answered once, by ACK or RATE_LIMITED with its client_ref.
    // Their relative order is not checked: section 1 orders answers but
    // names no clause for it.
    let mut answered = vec![false; n as usize];
    let mut accepted = Vec::new();
    let mut limited = 0;
    for _ in 0..n {
        let r = match a.next_frame("FLOW-1", "ACK or RATE_LIMITED").await? {
            Frame::Ack(ack) => {
                accepted.push((ack.seq, ack.id));
                ack.client_ref
            }
            Frame::ErrorFrame(e) if e.code == ErrorCode::RATE_LIMITED => {
                crate::conn::check_fatal_flag(&e)?;
                limited += 1;
                e.client_ref
            }
            other => return Err(fail("FLOW-1", "ACK or RATE_LIMITED", describe(&other))),
        };
        match answered.get_mut(r as usize) {
            Some(done) if !*done => *done = true,
            _ => {
                return Err(fail(
                    "FLOW-1",
                    "one answer per SEND, carrying its client_ref",
                    format!("a second or unknown answer for client_ref {r}"),
                ))
            }
        }
    }
    accepted.sort();
    let accepted: Vec<u64> = accepted.into_iter().map(|(_, id)| id).collect();
    ensure(
        "FLOW-1",
        limited > 0,
        format!("RATE_LIMITED for some of {n} SENDs at once (msg_burst {burst})"),
        "none",
    )?;
    let mut delivered = Vec::new();
    for _ in 0..accepted.len() {
        delivered.push(b.expect::<Message>("FLOW-1").await?.id);
    }
    ensure_eq(
        "FLOW-1",
        "ids delivered (the accepted ones)",
        accepted,
        delivered,
    )?;
    b.quiet("FLOW-1", "no delivery of a rate-limited SEND")
        .await
}

async fn flooding(ctx: Arc<Ctx>) -> Check {
    require_beatable_rate(&ctx)?;
    let burst = ctx.limits().msg_burst;
    require(burst <= 1000, "needs msg_burst <= 1,000")?;
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let n = burst * 3 + 10;
    require_queue_for(&ctx, n)?;
    let mut bytes = Vec::new();
    for r in 0..n {
        bytes.extend_from_slice(&Frame::from(send_frame(r, &room, "f")).to_bytes());
    }
    a.send_raw(&bytes).await?;
    let mut limited = 0;
    for _ in 0..n {
        match a.next().await {
            Got::Frame(Frame::Ack(_)) => {}
            Got::Frame(Frame::ErrorFrame(e)) if e.code == ErrorCode::RATE_LIMITED => limited += 1,
            Got::Frame(Frame::ErrorFrame(e)) if e.code == ErrorCode::FLOODING => {
                crate::conn::check_fatal_flag(&e)?;
                ensure(
                    "FLOW-2",
                    limited > 0,
                    "RATE_LIMITED before FLOODING",
                    "FLOODING first",
                )?;
                return a.expect_closed("STATE-4").await;
            }
            other => {
                return Err(crate::conn::fail_got(
                    "FLOW-2",
                    "ACK, RATE_LIMITED or FLOODING",
                    other,
                ))
            }
        }
    }
    // Disconnecting is a MAY: a server that keeps answering RATE_LIMITED conforms.
    ensure("FLOW-1", limited > 0, "RATE_LIMITED", "none")
}

/// Bytes a server's kernel send buffer may hold on loopback before its queue fills.
const KERNEL_BUFFERS: usize = 4 << 20;

async fn slow_consumer(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    crate::client::require_guests(&ctx)?;
    let room = ctx.room();
    // The largest body whose SEND fits max_frame.
    let body_len = crate::client::largest_body(&ctx, &room);
    let per_conn = (l.msg_burst as usize / 2)
        .min(l.byte_burst as usize / 2 / body_len)
        .min(l.queue_depth as usize / 4)
        .clamp(1, 200);
    let total = KERNEL_BUFFERS / body_len + l.queue_depth as usize;
    let senders = total.div_ceil(per_conn);
    require(senders <= 400, format!(
        "needs queue_depth frames plus 4 MiB from 400 senders ({senders} needed: a smaller queue_depth or larger msg_burst/byte_burst)"))?;
    let mut victim = Conn::open_with(&ctx, Some(4096)).await?;
    victim.greeting().await?;
    victim
        .send(crate::client::hello(Hello::NO_AUTO_JOIN))
        .await?;
    victim.send(crate::client::guest_login(&ctx.user())).await?;
    victim
        .expect::<confab_protocol::frame::Welcome>("HANDSHAKE-3")
        .await?;
    join(&mut victim, &room, 0, 0).await?;
    // The victim reads nothing from now on. Each sender sends one burst,
    // reads its ACKs and leaves, so few connections are open at once.
    let body = "s".repeat(body_len);
    let mut sent = 0;
    for _ in 0..senders {
        let mut s = login_guest(&ctx, &ctx.user(), Hello::NO_AUTO_JOIN).await?;
        join(&mut s, &room, 0, 0).await?;
        // Senders are answered however slow the victim is.
        send_batch(&mut s, "FLOW-3", &room, &body, per_conn).await?;
        sent += per_conn;
    }
    let mut received = 0;
    loop {
        match victim.next().await {
            Got::Frame(Frame::ErrorFrame(e)) if e.code == ErrorCode::SLOW_CONSUMER => {
                crate::conn::check_fatal_flag(&e)?;
                ensure_eq("FLOW-3", "ERROR frame_type", 0, e.frame_type)?;
                return victim.expect_closed("FLOW-3").await;
            }
            Got::Frame(Frame::Message(_)) => received += 1,
            Got::Frame(Frame::Presence(_)) => {}
            Got::TimedOut(_) if received >= sent => {
                return Err(Stop::Skip(format!(
                    "inconclusive: the server's buffers held all {sent} messages; needs a smaller queue_depth")));
            }
            other => {
                return Err(crate::conn::fail_got(
                    "FLOW-3",
                    "MESSAGE frames, then ERROR SLOW_CONSUMER as the last frame",
                    other,
                ))
            }
        }
    }
}

async fn fairness(ctx: Arc<Ctx>) -> Check {
    let mut flooder = ready(&ctx).await?;
    let mut chunk = Vec::new();
    for nonce in 0..4096u64 {
        chunk.extend_from_slice(&Frame::from(Ping { nonce }).to_bytes());
    }
    let flood = tokio::spawn(async move {
        // Writes until the server stops reading or cuts the flooder off.
        for _ in 0..64 {
            if flooder.send_raw(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut other = ready(&ctx).await?;
    let result = async {
        for _ in 0..5 {
            other
                .quiet("FLOW-4", "PONG while another client floods")
                .await?;
        }
        Ok(())
    }
    .await;
    flood.abort();
    result
}
