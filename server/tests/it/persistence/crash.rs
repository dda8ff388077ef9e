//! Acknowledged messages survive the process killed with SIGKILL under
//! load, with each `--sync` mode (`normal` promises exactly this much).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9_mid_load() {
    kill_9_mid_load(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9_mid_load_with_sync_normal() {
    kill_9_mid_load(&["--sync", "normal"]).await;
}

async fn kill_9_mid_load(flags: &[&str]) {
    // spec: MSG-2, MSG-3, MSG-4, HISTORY-1, HISTORY-4
    const SENDERS: usize = 4;
    const KILL_AFTER_ACKS: usize = 3_000;
    let dir = TempDir::new("kill9");
    let mut server = start_binary(&dir, flags);

    let (progress, mut acks_so_far) = watch::channel(0usize);
    let progress = Arc::new(progress);
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let mut client = Client::login(server.addr, &format!("load{i}")).await;
        client.enter("load", 0, 0).await;
        senders.push(tokio::spawn(pump(
            client,
            "load".into(),
            // Far more than can be sent before the kill: it comes mid-load.
            1_000_000,
            32,
            Arc::clone(&progress),
            None,
        )));
    }
    tokio::time::timeout(
        Duration::from_secs(15),
        acks_so_far.wait_for(|n| *n >= KILL_AFTER_ACKS),
    )
    .await
    .expect("the load makes progress")
    .unwrap();
    let status = server.kill().expect("the server was running");
    assert!(!status.success(), "SIGKILL ends the process: {status:?}");
    let mut acked: Vec<(String, String, Ack)> = Vec::new();
    for sender in senders {
        let report =
            crate::common::within_for(crate::common::PATIENCE * 3, "the sender task", sender)
                .await
                .unwrap();
        assert!(
            report.cut_off,
            "{} finished before the kill: it was not mid-load",
            report.name
        );
        for (body, ack) in report.acked {
            acked.push((report.name.clone(), body, ack));
        }
    }
    assert!(acked.len() >= KILL_AFTER_ACKS);

    // Restart on the same data directory and read everything back.
    let server = start_binary(&dir, flags);
    let (mut reader, greeting) = Client::connect(server.addr).await;
    let greeting = greeting_of(greeting);
    assert_ne!(greeting.flags & Greeting::PERSISTENT, 0, "{greeting:?}");
    reader.hello().await;
    reader.send_login("reader").await;
    match reader.recv().await {
        Frame::Welcome(w) => reader.name = w.username.to_string(),
        other => panic!("expected WELCOME, got {other:?}"),
    }
    reader.expect_joined("lobby").await;
    let (joined, _, _) = join_full(&mut reader, "load", 0, 0).await;
    let stored = read_all_history(&mut reader, "load", greeting.limits.history_max).await;
    eprintln!(
        "kill -9: {} messages acknowledged, {} stored",
        acked.len(),
        stored.len()
    );

    // seqs are contiguous from 1, ids increase with them, each message once.
    for (index, message) in stored.iter().enumerate() {
        assert_eq!(message.seq, index as u64 + 1, "stored seqs have a gap");
        assert_eq!(message.room, "load");
        assert_eq!(message.flags, Message::HISTORY);
    }
    for pair in stored.windows(2) {
        assert!(pair[0].id < pair[1].id, "ids out of order: {pair:?}");
    }
    let mut bodies = HashSet::new();
    for message in &stored {
        assert!(
            bodies.insert(message.body.as_str()),
            "stored twice: {message:?}"
        );
    }
    assert_eq!(joined.next_seq, stored.len() as u64 + 1, "{joined:?}");

    // Every acknowledged message is there with its id, seq, time and body.
    let by_seq: HashMap<u64, &Message> = stored.iter().map(|m| (m.seq, m)).collect();
    for (sender, body, ack) in &acked {
        let Some(message) = by_seq.get(&ack.seq) else {
            panic!("acknowledged message lost by the crash: {sender} {body:?} {ack:?}");
        };
        assert_eq!(
            (
                message.id,
                message.time,
                message.sender.as_str(),
                message.body.as_str()
            ),
            (ack.id, ack.time, sender.as_str(), body.as_str()),
            "stored message differs from its ACK"
        );
    }

    // New messages continue both numberings.
    let max_id = stored
        .iter()
        .map(|m| m.id)
        .chain(acked.iter().map(|(_, _, a)| a.id))
        .max()
        .unwrap();
    let client_ref = reader.say("load", "after the crash").await;
    let ack = reader.expect_ack(client_ref).await;
    assert_eq!(ack.seq, stored.len() as u64 + 1, "seq continues (MSG-4)");
    assert!(
        ack.id > max_id,
        "ids keep increasing (MSG-3): {ack:?} after {max_id}"
    );
    drop(reader);
    drop(server);
}
