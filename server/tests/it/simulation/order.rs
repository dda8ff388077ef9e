//! Room messages reach every other member once, in order.

use super::*;

/// Several clients chat at once over links with random latency (and, for some
/// seeds, one link stalled for a while): each message reaches every other
/// member exactly once, in the order its sender sent it, never the sender;
/// ACKs carry the id and seq the others saw; seq is contiguous from 1 and ids
/// rise with it.
#[test]
fn room_messages_reach_every_other_member_once_in_order() {
    // spec: MSG-1, MSG-2, MSG-3, MSG-4, MSG-5
    for_each_seed(
        concat!(
            module_path!(),
            "::room_messages_reach_every_other_member_once_in_order"
        ),
        40,
        |seed| {
            let mut rng = Rng::new(seed, 0);
            let clients = rng.range(3, 6) as usize;
            let per_client = rng.range(10, 40) as u32;
            let max_latency = rng.range(1, 30);
            let mut sim = network(seed, max_latency, Duration::from_secs(60)).build();
            start_server(&mut sim, config(), CancellationToken::new());

            let logged_in = Rc::new(Cell::new(0usize));
            let finished = Rc::new(Cell::new(0usize));
            // (sender, index) -> (id, seq) from the sender's ACK.
            let acks: Rc<RefCell<AcksSeen>> = Rc::default();
            // (receiver, sender, index, id, seq) of every delivered MESSAGE.
            let seen: Rc<RefCell<MessagesSeen>> = Rc::default();

            for c in 0..clients {
                let name = format!("user{c}");
                let mut pauses = Rng::new(seed, 1 + c as u64);
                let (logged_in, finished) = (Rc::clone(&logged_in), Rc::clone(&finished));
                let (acks, seen) = (Rc::clone(&acks), Rc::clone(&seen));
                sim.client(name.clone(), async move {
                    let Peer { rx, tx, .. } = &mut Peer::login(&name).await;
                    logged_in.set(logged_in.get() + 1);
                    wait_for("every client to log in", PATIENCE, || {
                        logged_in.get() == clients
                    })
                    .await;

                    let sending = async {
                        for i in 0..per_client {
                            send(tx, &name, say(i + 1, &format!("{name}:{i}"))).await;
                            let pause = pauses.range(0, 3);
                            if pause > 0 {
                                sleep(ms(pause)).await;
                            }
                        }
                    };
                    let receiving = async {
                        let mut inbox = Inbox::new(&name);
                        let mut acked = 0u32;
                        let expected = (clients - 1) * per_client as usize;
                        while acked < per_client || inbox.messages < expected {
                            match recv(rx, &name).await {
                                Frame::Message(m) => {
                                    let (sender, index) = inbox.take(&m);
                                    seen.borrow_mut().push((
                                        name.clone(),
                                        sender,
                                        index,
                                        m.id,
                                        m.seq,
                                    ));
                                }
                                Frame::Ack(Ack {
                                    client_ref,
                                    id,
                                    seq,
                                    ..
                                }) => {
                                    // Replies come in request order.
                                    assert_eq!(client_ref, acked + 1, "{name}: ACK out of order");
                                    acks.borrow_mut().insert((name.clone(), acked), (id, seq));
                                    acked += 1;
                                }
                                Frame::Presence(_) => {}
                                other => panic!("{name}: unexpected {other:?}"),
                            }
                        }
                    };
                    tokio::join!(sending, receiving);

                    finished.set(finished.get() + 1);
                    wait_for("every client to finish", PATIENCE, || {
                        finished.get() == clients
                    })
                    .await;
                    // Anything more now would be a duplicate or an echo.
                    loop {
                        match next(rx, ms(2 * max_latency + 50)).await {
                            Next::TimedOut => break,
                            Next::Frame(Frame::Presence(_)) => {}
                            other => panic!("{name}: extra frame after all deliveries: {other:?}"),
                        }
                    }
                    Ok(())
                });
            }

            if rng.next() % 2 == 0 {
                // Stall one client's link for a while; TCP holds everything back.
                let victim = format!("user{}", rng.range(0, clients as u64 - 1));
                let after = rng.range(0, 60);
                let stall = rng.range(10, 300);
                let logged_in = Rc::clone(&logged_in);
                sim.client("chaos", async move {
                    wait_for("every client to log in", PATIENCE, || {
                        logged_in.get() == clients
                    })
                    .await;
                    sleep(ms(after)).await;
                    turmoil::hold(SERVER, victim.as_str());
                    sleep(ms(stall)).await;
                    turmoil::release(SERVER, victim.as_str());
                    Ok(())
                });
            }

            sim.run()?;

            let acks = acks.borrow();
            let seen = seen.borrow();
            let total = clients * per_client as usize;
            assert_eq!(acks.len(), total, "every SEND acknowledged");
            assert_eq!(seen.len(), total * (clients - 1), "every delivery seen");
            for (receiver, sender, index, id, seq) in seen.iter() {
                let acked = acks[&(sender.clone(), *index)];
                assert_eq!(
                    (*id, *seq),
                    acked,
                    "{receiver} saw {sender}:{index} with (id, seq) other than its ACK"
                );
            }
            let mut by_seq: Vec<(u64, u64)> = acks.values().map(|&(id, seq)| (seq, id)).collect();
            by_seq.sort_unstable();
            for (i, (seq, id)) in by_seq.iter().enumerate() {
                assert_eq!(*seq, i as u64 + 1, "seq contiguous from 1");
                assert!(*id > 0, "message id 0");
                if i > 0 {
                    assert!(*id > by_seq[i - 1].1, "ids increase with acceptance order");
                }
            }
            Ok(())
        },
    );
}
