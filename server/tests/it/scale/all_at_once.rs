//! Every client sending at once: everything arrives once, in order.

use super::*;

/// Every client sends all its messages at once while reading concurrently:
/// each message reaches every other client exactly once and in the order its
/// sender sent it, never the sender; each sender gets one ACK per message,
/// carrying the id and seq the others saw; seq runs 1..=total without gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_sending_at_once_all_receive_everything_once_in_order() {
    // spec: MSG-1, MSG-2, MSG-4, MSG-5
    let clients = env_or("CONFAB_SCALE_CLIENTS", 50);
    let per_client = env_or("CONFAB_SCALE_MESSAGES", 100);
    let config = Config {
        queue_depth: 65_536,
        // Nobody is idle long enough to be pinged; PINGs are answered anyway.
        ping_interval_ms: 120_000,
        ..TestServer::config()
    };
    let server = TestServer::start(config).await;
    let started = Instant::now();

    let progress = Arc::new(AtomicUsize::new(0));
    // Everyone is in the room before anyone speaks, and everyone has all its
    // frames before anyone checks that nothing more comes.
    let logged_in = Arc::new(Barrier::new(clients));
    let all_received = Arc::new(Barrier::new(clients));
    let mut tasks = JoinSet::new();
    for me in 0..clients {
        let addr = server.addr;
        let (logged_in, all_received) = (Arc::clone(&logged_in), Arc::clone(&all_received));
        let progress = Arc::clone(&progress);
        tasks.spawn(async move {
            let name = format!("c{me}");
            let (mut rx, mut tx) = login(addr, &name).await;
            crate::common::within("the others at the barrier", logged_in.wait()).await;
            let (pongs, mut ping_nonces) = mpsc::unbounded_channel::<u64>();
            let writer_name = name.clone();
            let writer = tokio::spawn(async move {
                for i in 0..per_client {
                    let frame = Frame::SendMessage(SendMessage {
                        client_ref: i as u32 + 1,
                        room: Str8::new(ROOM).unwrap(),
                        body: Str16::new(&format!("{me}:{i}")).unwrap(),
                    });
                    tx.feed(frame)
                        .await
                        .unwrap_or_else(|e| panic!("{writer_name}: {e}"));
                }
                SinkExt::<Frame>::flush(&mut tx)
                    .await
                    .unwrap_or_else(|e| panic!("{writer_name}: {e}"));
                while let Some(nonce) = ping_nonces.recv().await {
                    let _ = tx.send(Frame::Pong(Pong { nonce })).await;
                }
                tx
            });
            let received = read_all(
                me,
                name.clone(),
                &mut rx,
                clients,
                per_client,
                pongs,
                progress,
            )
            .await;
            let tx = writer.await.expect("writer task");
            crate::common::within("the others at the barrier", all_received.wait()).await;
            // Nothing more may arrive: it would be a duplicate or an echo.
            if let Ok(Some(Ok(frame))) =
                tokio::time::timeout(Duration::from_millis(200), rx.next()).await
            {
                assert!(
                    matches!(frame, Frame::Presence(_) | Frame::Ping(_)),
                    "{name}: extra frame after all deliveries: {frame:?}"
                );
            }
            (me, received, rx, tx)
        });
    }

    let all = async {
        let mut done = Vec::new();
        // In completion order, so that a failing client is reported at once.
        while let Some(result) = crate::common::within_for(
            crate::common::PATIENCE * 3,
            "tasks to end",
            tasks.join_next(),
        )
        .await
        {
            match result {
                Ok(client) => done.push(client),
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        done.sort_by_key(|(me, ..)| *me);
        done
    };
    let done = match tokio::time::timeout(DEADLINE, all).await {
        Ok(done) => done,
        Err(_) => panic!(
            "not done after {DEADLINE:?}: {} of {} deliveries made",
            progress.load(Ordering::Relaxed),
            clients * (clients - 1) * per_client
        ),
    };
    let elapsed = started.elapsed();
    let halves: Vec<(Received, Rx, Tx)> =
        done.into_iter().map(|(_, r, rx, tx)| (r, rx, tx)).collect();

    // ACKs match what the others saw; seq is contiguous, ids rise with it.
    let mut assigned: HashMap<(usize, usize), (u64, u64)> = HashMap::new();
    for (sender, (received, _, _)) in halves.iter().enumerate() {
        assert_eq!(received.acks.len(), per_client, "{}: ACKs", received.name);
        for &(index, id, seq) in &received.acks {
            assigned.insert((sender, index), (id, seq));
        }
    }
    for (received, _, _) in &halves {
        for &(sender, index, id, seq) in &received.messages {
            assert_eq!(
                assigned[&(sender, index)],
                (id, seq),
                "{} saw c{sender}:{index} with (id, seq) other than its ACK",
                received.name
            );
        }
    }
    let mut by_seq: Vec<(u64, u64)> = assigned.values().map(|&(id, seq)| (seq, id)).collect();
    by_seq.sort_unstable();
    for (i, window) in by_seq.windows(2).enumerate() {
        assert_eq!(window[0].0, i as u64 + 1, "seq contiguous from 1");
        assert!(window[1].1 > window[0].1, "ids increase with seq");
    }
    assert_eq!(
        by_seq.last().map(|s| s.0),
        Some((clients * per_client) as u64)
    );

    eprintln!(
        "{clients} clients x {per_client} messages: {} deliveries in {elapsed:?}",
        clients * (clients - 1) * per_client
    );
    drop(halves);
    server.stop().await;
}
