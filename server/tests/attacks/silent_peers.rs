//! Attacks 3 and 4: half-open connections, closed by keepalive, and
//! clients that never read, cut off as slow consumers.

use std::time::Duration;

use confab_protocol::frame::{Frame, Hello};
use confab_protocol::ErrorCode;
use confab_server::Config;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::common::{assert_fatal_end, fast_config, Client, Ending, TestServer, PATIENCE};
use crate::support::*;
use crate::{attack, DURING_ATTACK};

#[test]
fn half_open_connections_are_closed_by_keepalive() {
    // spec: KEEPALIVE-2, SEC-7
    attack(|| async {
        let server = TestServer::start(Config {
            ping_interval_ms: 1_000,
            ping_timeout_ms: 1_000,
            ..fast_config()
        })
        .await;
        let addr = server.addr;
        let witnesses = Witnesses::start(addr, BRISK_PACE).await;
        let baseline = rss_bytes();

        // Logged in (READY), or past HELLO only (AWAIT_LOGIN), then silent:
        // they never write again and never answer the PING. Reading is
        // invisible to the server, so the test reads what it is sent.
        let mut silent = JoinSet::new();
        for i in 0..120 {
            silent.spawn(async move {
                let mut conn = Client::connect_raw(addr).await;
                let ready = i % 4 != 0;
                if ready {
                    conn.greet_and_login(&format!("halfopen{i}"), Hello::NO_AUTO_JOIN)
                        .await;
                } else {
                    assert!(matches!(conn.recv().await, Frame::Greeting(_)));
                    conn.hello().await;
                }
                let went_silent = Instant::now();
                let (frames, ending) = conn.read_to_end_within(PATIENCE).await;
                (ready, frames, ending, went_silent.elapsed())
            });
        }
        let mut longest = Duration::ZERO;
        while let Some(done) = next_done(&mut silent, "silent to end").await {
            let (ready, frames, ending, silence) = done.unwrap();
            let who = format!(
                "half-open ({})",
                if ready { "READY" } else { "AWAIT_LOGIN" }
            );
            assert!(
                matches!(frames.first(), Some(Frame::Ping(_))),
                "{who}: the server pings first: {frames:?}"
            );
            assert_fatal_end(&who, &frames, &ending, ErrorCode::IDLE_TIMEOUT);
            // ping_interval_ms + ping_timeout_ms, with room for a busy machine.
            assert!(
                silence >= Duration::from_millis(1_900) && silence < Duration::from_millis(4_000),
                "{who}: closed after {silence:?} of silence"
            );
            longest = longest.max(silence);
        }
        eprintln!(
            "half-open: 120 connections closed with IDLE_TIMEOUT, the last after {longest:?}"
        );
        witnesses.finish("half-open", DURING_ATTACK).await;
        health_check(addr, "half-open", baseline).await;
        server.finish().await;
    });
}

#[test]
fn clients_that_never_read_are_cut_off_as_slow_consumers() {
    // spec: FLOW-3, LIMIT-2, CLOSE-3
    attack(|| async {
        const BODY: usize = 32_000;
        let server = TestServer::start(Config {
            queue_depth: 16,
            history_max: 8,
            max_body: BODY as u16,
            max_frame: 1 << 17,
            ..fast_config()
        })
        .await;
        let addr = server.addr;
        let witnesses = Witnesses::start(addr, BRISK_PACE).await;
        let baseline = rss_bytes();
        let room = "sloths";

        // Three clients join the room, then never read again (small receive
        // buffers so their sockets fill sooner).
        let mut sloths = Vec::new();
        for i in 0..3 {
            let mut sloth = Client::connect_small_buffer(addr, 4096).await;
            sloth
                .greet_and_login(&format!("sloth{i}"), Hello::NO_AUTO_JOIN)
                .await;
            sloth.enter(room, 0, 0).await;
            sloths.push(sloth);
        }
        let mut talker = Client::login_flags(addr, "talker", Hello::NO_AUTO_JOIN).await;
        talker.enter(room, 0, 0).await;

        // The talker sends big messages; each ACK must come promptly. The
        // sloths are cut off one by one (PRESENCE disconnected, CLOSE-3).
        let big = "z".repeat(BODY);
        let mut cut = 0;
        let mut slowest_ack = Duration::ZERO;
        let mut sent = 0;
        while cut < sloths.len() {
            assert!(
                sent < 3_000,
                "only {cut} sloths cut off after {sent} messages"
            );
            let started = Instant::now();
            let client_ref = talker.say(room, &big).await;
            sent += 1;
            loop {
                match talker.recv().await {
                    Frame::Ack(ack) if ack.client_ref == client_ref => break,
                    Frame::Presence(p)
                        if p.event == confab_protocol::frame::PresenceEvent::Disconnected =>
                    {
                        assert!(p.username.starts_with("sloth"), "{p:?}");
                        cut += 1;
                    }
                    Frame::Ping(ping) => {
                        talker
                            .send(Frame::Pong(confab_protocol::frame::Pong {
                                nonce: ping.nonce,
                            }))
                            .await
                    }
                    other => panic!("talker: unexpected {other:?}"),
                }
            }
            slowest_ack = slowest_ack.max(started.elapsed());
        }
        eprintln!("slow consumers: 3 cut off after {sent} messages of {BODY} bytes; slowest ACK {slowest_ack:?}");
        assert!(
            slowest_ack < Duration::from_secs(2),
            "the talker waited {slowest_ack:?} for an ACK"
        );

        // Only now do the sloths read: whole frames, the last ERROR
        // SLOW_CONSUMER, then the end of the stream.
        for (i, mut sloth) in sloths.into_iter().enumerate() {
            let (frames, ending) = sloth.read_to_end_within(PATIENCE).await;
            assert_eq!(ending, Ending::Eof, "sloth{i}: {ending:?}");
            let (last, before) = frames.split_last().expect("the sloth got frames");
            for frame in before {
                assert!(
                    matches!(frame, Frame::Message(_) | Frame::Presence(_)),
                    "sloth{i}: unexpected {frame:?}"
                );
            }
            match last {
                Frame::ErrorFrame(e) => {
                    assert_eq!(e.code, ErrorCode::SLOW_CONSUMER, "sloth{i}");
                    assert!(e.is_fatal());
                    assert_eq!(e.frame_type, 0);
                }
                other => panic!("sloth{i}: the last frame is {}", other.name()),
            }
        }
        drop(talker);
        witnesses.finish("slow consumers", DURING_ATTACK).await;
        health_check(addr, "slow consumers", baseline).await;
        server.finish().await;
    });
}
