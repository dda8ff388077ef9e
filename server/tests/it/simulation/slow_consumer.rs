//! A slow consumer is cut off while the others keep receiving.

use super::*;

/// A client that stops reading while three others talk fills its outbound
/// queue and is cut off; the others receive every message meanwhile (while the
/// stalled client has not read a byte) and then see it disconnect.
///
/// For two seeds in three the stalled client reads again once the others have
/// everything: it gets the frames written before the overflow (a gap-free
/// prefix of the room's messages), then ERROR SLOW_CONSUMER, then the end of
/// the connection. For the others it never reads again: the server still
/// closes the connection within a bounded time (the others see PRESENCE
/// disconnected) and what is left to read is a prefix that ends the stream.
#[test]
fn slow_consumer_is_cut_off_while_others_keep_receiving() {
    // spec: FLOW-3, CLOSE-3, PRESENCE-2, LIMIT-2
    const SENDERS: usize = 3;
    // Frames the stalled client can absorb before its queue overflows: 64 TCP
    // segments (turmoil's default per-socket capacity) of at most QUEUE_DEPTH
    // frames each (a writer batch is one drain of the queue), plus a full
    // queue. Sending more guarantees the overflow.
    const QUEUE_DEPTH: u32 = 16;
    const PER_SENDER: u32 = 400;
    const _: () = assert!(SENDERS as u32 * PER_SENDER > 64 * QUEUE_DEPTH + QUEUE_DEPTH + 1);
    const SLOW: &str = "slow";

    for_each_seed(
        concat!(
            module_path!(),
            "::slow_consumer_is_cut_off_while_others_keep_receiving"
        ),
        30,
        |seed| {
            let mut rng = Rng::new(seed, 0);
            let max_latency = rng.range(1, 10);
            let reads_again = seed % 3 != 0;
            let mut sim = network(seed, max_latency, Duration::from_secs(30)).build();
            let config = Config {
                queue_depth: QUEUE_DEPTH,
                ..config()
            };
            start_server(&mut sim, config, CancellationToken::new());

            let fast: Vec<String> = (0..SENDERS)
                .map(|i| format!("sender{i}"))
                .chain(["reader".to_string()])
                .collect();
            let fast_count = fast.len();
            let logged_in = Rc::new(Cell::new(0usize));
            // Fast clients that have every message, and that saw SLOW leave.
            let fast_done = Rc::new(Cell::new(0usize));
            let saw_cut = Rc::new(Cell::new(0usize));
            let is_slow_gone = |p: &confab_protocol::frame::Presence| {
                p.username == SLOW && p.event == PresenceEvent::Disconnected
            };

            for (i, name) in fast.iter().cloned().enumerate() {
                let sends = if i < SENDERS { PER_SENDER } else { 0 };
                let others = SENDERS - usize::from(i < SENDERS);
                let (logged_in, fast_done, saw_cut) = (
                    Rc::clone(&logged_in),
                    Rc::clone(&fast_done),
                    Rc::clone(&saw_cut),
                );
                sim.client(name.clone(), async move {
                    let Peer { rx, tx, .. } = &mut Peer::login(&name).await;
                    logged_in.set(logged_in.get() + 1);
                    wait_for("every client to log in", PATIENCE, || {
                        logged_in.get() == fast_count + 1
                    })
                    .await;
                    let sending = async {
                        // One message per simulated millisecond: the fast
                        // clients' TCP windows never fill, only the stalled one's.
                        for n in 0..sends {
                            send(tx, &name, say(n + 1, &format!("{name}:{n}"))).await;
                            sleep(ms(1)).await;
                        }
                    };
                    let receiving = async {
                        let mut inbox = Inbox::new(&name);
                        let mut acked = 0;
                        let mut slow_gone = false;
                        while acked < sends || inbox.messages < others * PER_SENDER as usize {
                            match recv(rx, &name).await {
                                Frame::Message(m) => {
                                    inbox.take(&m);
                                }
                                Frame::Ack(_) => acked += 1,
                                Frame::Presence(p) => slow_gone |= is_slow_gone(&p),
                                other => panic!("{name}: unexpected {other:?}"),
                            }
                        }
                        slow_gone
                    };
                    let ((), mut slow_gone) = tokio::join!(sending, receiving);
                    // Everything arrived while SLOW had not read a byte.
                    fast_done.set(fast_done.get() + 1);
                    while !slow_gone {
                        match recv(rx, &name).await {
                            Frame::Presence(p) => slow_gone = is_slow_gone(&p),
                            other => panic!("{name}: unexpected {other:?}"),
                        }
                    }
                    saw_cut.set(saw_cut.get() + 1);
                    Ok(())
                });
            }

            let (logged_in, fast_done, saw_cut) = (
                Rc::clone(&logged_in),
                Rc::clone(&fast_done),
                Rc::clone(&saw_cut),
            );
            sim.client(SLOW, async move {
                let Peer { rx, .. } = &mut Peer::login(SLOW).await;
                logged_in.set(logged_in.get() + 1);
                // Read nothing until every other client has all its messages
                // (or, stuck for good, until they have seen SLOW cut off).
                wait_for(
                    "the fast clients to receive everything",
                    Duration::from_secs(10),
                    || fast_done.get() == fast_count,
                )
                .await;
                let mut frames = Vec::new();
                if reads_again {
                    frames = until_closed(rx, SLOW, PATIENCE).await;
                    let last = frames.pop().expect("slow got frames");
                    assert_connection_error(&last, ErrorCode::SLOW_CONSUMER, SLOW);
                } else {
                    wait_for(
                        "the others to see the stalled client disconnected",
                        Duration::from_secs(10),
                        || saw_cut.get() == fast_count,
                    )
                    .await;
                    // The others are gone too: the server must hold no
                    // connection any more, the stalled one included.
                    wait_for(
                        "the server to release every connection",
                        Duration::from_secs(10),
                        || turmoil::established_tcp_stream_count_on(SERVER) == 0,
                    )
                    .await;
                    // What is left to read is what was written before the
                    // cut. (turmoil parks a FIN that arrives while the
                    // receive window is full until another segment comes, so
                    // the end of the stream itself is not observable here.)
                    while let Next::Frame(frame) = next(rx, ms(100)).await {
                        frames.push(frame);
                    }
                }
                let mut inbox = Inbox::new(SLOW);
                for frame in &frames {
                    match frame {
                        Frame::Message(m) => {
                            inbox.take(m);
                            // The frames written before the overflow: a prefix.
                            assert_eq!(
                                m.seq, inbox.messages as u64,
                                "slow: gap before seq {}",
                                m.seq
                            );
                        }
                        Frame::Presence(_) => {}
                        // Stuck for good, the ERROR may or may not have fit.
                        Frame::ErrorFrame(_) if !reads_again && Some(frame) == frames.last() => {
                            assert_connection_error(frame, ErrorCode::SLOW_CONSUMER, SLOW)
                        }
                        other => panic!("slow: unexpected {other:?}"),
                    }
                }
                let total = SENDERS * PER_SENDER as usize;
                assert!(
                    inbox.messages < total,
                    "slow was never cut off: it received all {total} messages"
                );
                // With the queue bounded by queue_depth, what got through is
                // at most a full TCP window of writer batches plus the batch
                // in flight at the overflow.
                let bound = (64 * QUEUE_DEPTH + QUEUE_DEPTH) as usize;
                assert!(
                    inbox.messages <= bound,
                    "slow received {} messages, more than a bounded queue lets through ({bound})",
                    inbox.messages
                );
                Ok(())
            });

            sim.run()
        },
    );
}
