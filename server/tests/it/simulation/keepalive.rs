//! Keepalive cuts off silent clients only.

use super::*;

/// Keepalive with a 1 s interval and a 1 s timeout: a logged-in client that
/// never answers PING, and one that sent only HELLO (AWAIT_LOGIN), are pinged
/// 1 s after they fell silent and cut off with IDLE_TIMEOUT 1 s later (give or
/// take the network latency); clients that answer at once, late but within the
/// timeout, or with another request instead of PONG all stay; one that keeps
/// talking is never pinged, and its own PINGs are answered.
#[test]
fn keepalive_cuts_off_silent_clients_only() {
    // spec: KEEPALIVE-1, KEEPALIVE-2, CLOSE-3, PRESENCE-1
    const INTERVAL: u64 = 1_000;
    const TIMEOUT: u64 = 1_000;
    const WATCH: u64 = 4_500;
    const TICK: u64 = 4;

    for_each_seed(
        concat!(module_path!(), "::keepalive_cuts_off_silent_clients_only"),
        25,
        |seed| {
            let mut rng = Rng::new(seed, 0);
            let max_latency = rng.range(1, 30);
            // Two one-way trips plus a few steps of scheduling.
            let slack = 2 * max_latency + 3 * TICK;
            // 4 ms steps: seconds of keepalive timers in a quarter of the steps.
            let mut sim = network(seed, max_latency, Duration::from_secs(30))
                .tick_duration(ms(TICK))
                .build();
            let config = Config {
                ping_interval_ms: INTERVAL as u32,
                ping_timeout_ms: TIMEOUT as u32,
                handshake_timeout_ms: 10_000,
                ..config()
            };
            start_server(&mut sim, config, CancellationToken::new());

            /// Frames with their arrival times until the connection closes.
            async fn timed_until_closed(rx: &mut Rx, who: &str) -> Vec<(Duration, Frame)> {
                let start = Instant::now();
                let mut frames = Vec::new();
                loop {
                    match next(rx, PATIENCE).await {
                        Next::Frame(frame) => frames.push((start.elapsed(), frame)),
                        Next::Closed(_) => return frames,
                        Next::TimedOut => panic!("{who}: still open; got {frames:?}"),
                    }
                }
            }

            /// PING about INTERVAL after the last frame sent, IDLE_TIMEOUT about
            /// TIMEOUT after that, then the end of the connection.
            fn check_idle_cut(who: &str, frames: Vec<(Duration, Frame)>, slack: u64) {
                let mut frames = frames
                    .into_iter()
                    .filter(|(_, f)| !matches!(f, Frame::Presence(_)));
                let pinged = match frames.next() {
                    Some((at, Frame::Ping(_))) => at,
                    other => panic!("{who}: expected PING, got {other:?}"),
                };
                let (cut, last) = frames
                    .next()
                    .unwrap_or_else(|| panic!("{who}: connection closed without IDLE_TIMEOUT"));
                assert_connection_error(&last, ErrorCode::IDLE_TIMEOUT, who);
                assert!(frames.next().is_none(), "{who}: frames after IDLE_TIMEOUT");
                let within = |at: Duration, lo: u64, hi: u64| at >= ms(lo) && at <= ms(hi);
                assert!(
                    within(pinged, INTERVAL - TICK, INTERVAL + slack),
                    "{who}: PING {pinged:?} after going silent, expected {INTERVAL} ms (+{slack})"
                );
                assert!(
                    within(cut, INTERVAL + TIMEOUT - TICK, INTERVAL + TIMEOUT + slack),
                    "{who}: IDLE_TIMEOUT {cut:?} after going silent, expected {} ms (+{slack})",
                    INTERVAL + TIMEOUT
                );
            }

            // Set once pong has had its WHO answered; chatty stays until then.
            let asked = Rc::new(Cell::new(false));

            /// Stays connected, answering PINGs, until pong has asked WHO.
            async fn stay_until(rx: &mut Rx, tx: &mut Tx, who: &str, asked: &Cell<bool>) {
                while !asked.get() {
                    match next(rx, ms(1)).await {
                        Next::TimedOut | Next::Frame(Frame::Presence(_) | Frame::WhoList(_)) => {}
                        Next::Frame(Frame::Ping(Ping { nonce })) => {
                            send(tx, who, Frame::Pong(Pong { nonce })).await
                        }
                        other => panic!("{who}: unexpected {other:?}"),
                    }
                }
            }

            // Logged in, then silent: never answers the PING.
            sim.client("mute", async move {
                let mut peer = Peer::connect("mute").await;
                send(&mut peer.tx, "mute", hello()).await;
                send(
                    &mut peer.tx,
                    "mute",
                    Frame::Login(Login::guest(Str8::new("mute").unwrap())),
                )
                .await;
                let frames = timed_until_closed(&mut peer.rx, "mute").await;
                let mut frames = frames.into_iter();
                assert!(
                    matches!(frames.next(), Some((_, Frame::Welcome(_)))),
                    "mute: WELCOME"
                );
                assert!(
                    matches!(frames.next(), Some((_, Frame::Joined(_)))),
                    "mute: JOINED"
                );
                assert!(
                    matches!(frames.next(), Some((_, Frame::HistoryEnd(_)))),
                    "mute: HISTORY_END"
                );
                check_idle_cut("mute", frames.collect(), slack);
                Ok(())
            });

            // Sent HELLO only (AWAIT_LOGIN): the same, well before the handshake deadline.
            sim.client("hello-only", async move {
                let mut peer = Peer::connect("hello-only").await;
                send(&mut peer.tx, "hello-only", hello()).await;
                let frames = timed_until_closed(&mut peer.rx, "hello-only").await;
                check_idle_cut("hello-only", frames, slack);
                Ok(())
            });

            // Answer every PING, at once with PONG, late (but within the
            // timeout) with PONG, or with another request instead of PONG: all
            // signs of life, so all stay connected. The first then checks with
            // WHO who is still logged in.
            let responders: [(&'static str, u64, bool); 3] = [
                ("pong", 0, true),
                ("late", 700, true),
                ("whoer", 300, false),
            ];
            for (name, delay, with_pong) in responders {
                let asked = Rc::clone(&asked);
                sim.client(name, async move {
                let Peer { rx, tx, .. } = &mut Peer::login(name).await;
                let until = Instant::now() + ms(WATCH);
                let mut pings = 0;
                let mut mute_gone = false;
                let mut answer: Option<(Instant, u64)> = None;
                while Instant::now() < until || answer.is_some() {
                    let frame = tokio::select! {
                        biased;
                        _ = async { sleep_until(answer.unwrap().0).await }, if answer.is_some() => {
                            let nonce = answer.take().unwrap().1;
                            let reply = if with_pong {
                                Frame::Pong(Pong { nonce })
                            } else {
                                Frame::Who(Who { room: Str8::new(ROOM).unwrap() })
                            };
                            send(tx, name, reply).await;
                            continue;
                        }
                        _ = sleep_until(until), if answer.is_none() => break,
                        frame = recv(rx, name) => frame,
                    };
                    match frame {
                        Frame::Ping(Ping { nonce }) => {
                            assert!(answer.is_none(), "{name}: pinged again before answering");
                            pings += 1;
                            answer = Some((Instant::now() + ms(delay), nonce));
                        }
                        Frame::Presence(p) => {
                            mute_gone |=
                                p.username == "mute" && p.event == PresenceEvent::Disconnected
                        }
                        Frame::WhoList(_) if !with_pong => {}
                        other => panic!("{name}: unexpected {other:?}"),
                    }
                }
                let expected = WATCH / (INTERVAL + delay + slack) - 1;
                assert!(
                    pings >= expected,
                    "{name}: {pings} PINGs in {WATCH} ms, expected at least {expected}"
                );
                assert!(mute_gone, "{name}: no PRESENCE disconnected for mute");
                if name == "pong" {
                    // Still served: WHO lists the live clients only.
                    send(
                        tx,
                        name,
                        Frame::Who(Who {
                            room: Str8::empty(),
                        }),
                    )
                    .await;
                    loop {
                        match recv(rx, name).await {
                            Frame::WhoList(list) => {
                                let names: Vec<&str> =
                                    list.users.iter().map(|u| u.as_str()).collect();
                                assert_eq!(names, ["chatty", "late", "pong", "whoer"], "WHO");
                                asked.set(true);
                                break;
                            }
                            Frame::Ping(Ping { nonce }) => {
                                send(tx, name, Frame::Pong(Pong { nonce })).await
                            }
                            Frame::Presence(_) => {}
                            other => panic!("{name}: unexpected {other:?}"),
                        }
                    }
                } else {
                    stay_until(rx, tx, name, &asked).await;
                }
                Ok(())
            });
            }

            // Talks every 400 ms (its own PINGs): never pinged; its PINGs are answered.
            sim.client("chatty", async move {
                let Peer { rx, tx, .. } = &mut Peer::login("chatty").await;
                let until = Instant::now() + ms(WATCH);
                let mut next_ping = Instant::now();
                let (mut sent, mut answered) = (0u64, 0u64);
                while Instant::now() < until || answered < sent {
                    let frame = tokio::select! {
                        biased;
                        frame = recv(rx, "chatty") => frame,
                        _ = sleep_until(next_ping), if Instant::now() < until => {
                            sent += 1;
                            send(tx, "chatty", Frame::Ping(Ping { nonce: 1000 + sent })).await;
                            next_ping += ms(400);
                            continue;
                        }
                    };
                    match frame {
                        Frame::Pong(Pong { nonce }) => {
                            answered += 1;
                            assert_eq!(nonce, 1000 + answered, "chatty: PONG nonce");
                        }
                        Frame::Presence(_) => {}
                        Frame::Ping(_) => panic!("chatty was pinged although it kept talking"),
                        other => panic!("chatty: unexpected {other:?}"),
                    }
                }
                stay_until(rx, tx, "chatty", &asked).await;
                Ok(())
            });

            sim.run()
        },
    );
}
