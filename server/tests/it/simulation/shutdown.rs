//! Shutdown flushes queued frames, then says goodbye.

use super::*;

/// Cancelling the server's token while clients have frames queued: each gets
/// its queued frames, then GOODBYE SERVER_SHUTDOWN as the last frame, then the
/// end of the connection, well within the grace period; a newcomer is no
/// longer accepted; `run` returns.
#[test]
fn shutdown_flushes_queued_frames_then_says_goodbye() {
    // spec: CLOSE-2, MSG-2
    const LISTENERS: usize = 3;
    const MESSAGES: u32 = 200;

    for_each_seed(
        concat!(
            module_path!(),
            "::shutdown_flushes_queued_frames_then_says_goodbye"
        ),
        25,
        |seed| {
            let mut rng = Rng::new(seed, 0);
            let max_latency = rng.range(1, 20);
            // Small TCP windows (8 segments): most of what the listeners do not
            // read waits in the server's outbound queues when shutdown begins.
            let mut sim = network(seed, max_latency, Duration::from_secs(30))
                .tcp_capacity(8)
                .build();
            let shutdown = CancellationToken::new();
            let config = config();
            let grace = config.shutdown_grace();
            let stopped = start_server(&mut sim, config, shutdown.clone());

            let ready = Rc::new(Cell::new(0usize));
            let cancelled_at: Rc<Cell<Option<Duration>>> = Rc::default();
            let everyone = LISTENERS + 2;

            /// The frames after the cancel: `before` (checked by the caller), then
            /// GOODBYE SERVER_SHUTDOWN last, and the connection closed in time.
            async fn goodbye(
                rx: &mut Rx,
                who: &str,
                cancelled: Duration,
                grace: Duration,
            ) -> Vec<Frame> {
                let mut frames = until_closed(rx, who, grace).await;
                let closed = now() - cancelled;
                assert!(closed < grace, "{who}: closed {closed:?} after the cancel");
                match frames.pop() {
                    Some(Frame::Goodbye(g)) => {
                        assert_eq!(
                            g.reason,
                            ErrorCode::SERVER_SHUTDOWN,
                            "{who}: GOODBYE reason"
                        )
                    }
                    other => {
                        panic!("{who}: last frame {other:?}, expected GOODBYE SERVER_SHUTDOWN")
                    }
                }
                frames
            }

            // Sends MESSAGES, and once all are acknowledged (so queued for every
            // listener, MSG-2) shuts the server down.
            let (counter, cancelled, token, stopped_at) = (
                Rc::clone(&ready),
                Rc::clone(&cancelled_at),
                shutdown.clone(),
                Rc::clone(&stopped),
            );
            sim.client("talker", async move {
                let Peer { rx, tx, .. } = &mut Peer::login("talker").await;
                counter.set(counter.get() + 1);
                wait_for("everyone to connect", PATIENCE, || {
                    counter.get() == everyone
                })
                .await;
                let sending = async {
                    for n in 0..MESSAGES {
                        send(tx, "talker", say(n + 1, &format!("talker:{n}"))).await;
                    }
                };
                let acking = async {
                    let mut acked = 0;
                    while acked < MESSAGES {
                        match recv(rx, "talker").await {
                            Frame::Ack(ack) => {
                                acked += 1;
                                assert_eq!(ack.client_ref, acked, "talker: ACK order");
                            }
                            Frame::Presence(_) => {}
                            other => panic!("talker: unexpected {other:?}"),
                        }
                    }
                };
                tokio::join!(sending, acking);
                let at = now();
                cancelled.set(Some(at));
                token.cancel();
                let rest = goodbye(rx, "talker", at, grace).await;
                assert!(
                    rest.iter().all(|f| matches!(f, Frame::Presence(_))),
                    "talker: unexpected {rest:?}"
                );
                wait_for("the server to stop", grace, || stopped_at.get().is_some()).await;
                Ok(())
            });

            for i in 0..LISTENERS {
                let name = format!("listener{i}");
                let (counter, cancelled) = (Rc::clone(&ready), Rc::clone(&cancelled_at));
                sim.client(name.clone(), async move {
                    let Peer { rx, .. } = &mut Peer::login(&name).await;
                    counter.set(counter.get() + 1);
                    // Read nothing more until the shutdown has begun.
                    wait_for("the shutdown", Duration::from_secs(10), || {
                        cancelled.get().is_some()
                    })
                    .await;
                    let frames = goodbye(rx, &name, cancelled.get().unwrap(), grace).await;
                    let mut inbox = Inbox::new(&name);
                    for frame in &frames {
                        match frame {
                            Frame::Message(m) => {
                                inbox.take(m);
                            }
                            Frame::Presence(_) => {}
                            other => panic!("{name}: unexpected {other:?}"),
                        }
                    }
                    assert_eq!(
                        inbox.messages, MESSAGES as usize,
                        "{name}: acknowledged messages lost in the shutdown"
                    );
                    Ok(())
                });
            }

            // Connected, never sent HELLO: still told goodbye.
            let (counter, cancelled) = (Rc::clone(&ready), Rc::clone(&cancelled_at));
            sim.client("greeted", async move {
                let Peer { rx, .. } = &mut Peer::connect("greeted").await;
                counter.set(counter.get() + 1);
                wait_for("the shutdown", Duration::from_secs(10), || {
                    cancelled.get().is_some()
                })
                .await;
                let rest = goodbye(rx, "greeted", cancelled.get().unwrap(), grace).await;
                assert!(rest.is_empty(), "greeted: unexpected {rest:?}");
                Ok(())
            });

            // Tries to connect once the shutdown has begun: no GREETING any more.
            let cancelled = Rc::clone(&cancelled_at);
            sim.client("latecomer", async move {
                wait_for("the shutdown", Duration::from_secs(10), || {
                    cancelled.get().is_some()
                })
                .await;
                sleep(ms(50)).await;
                if let Ok(stream) = TcpStream::connect((SERVER, PORT)).await {
                    let (read, _write) = stream.into_split();
                    let mut rx = FramedRead::new(read, FrameCodec::new(1 << 20));
                    match next(&mut rx, PATIENCE).await {
                        Next::Frame(frame) => {
                            panic!("latecomer accepted after shutdown: {frame:?}")
                        }
                        Next::Closed(_) | Next::TimedOut => {}
                    }
                }
                Ok(())
            });

            sim.run()?;
            let (cancelled, stopped) = (cancelled_at.get().unwrap(), stopped.get().unwrap());
            assert!(
                stopped - cancelled < grace,
                "run returned {:?} after the cancel: some connection outlived the grace period",
                stopped - cancelled
            );
            Ok(())
        },
    );
}
