//! A flooding client does not starve the others.

use super::*;

/// One client sends as fast as it can for two seconds while another asks WHO
/// over and over, everything on one thread: each answer still comes within a
/// bounded time, and the flood was really going on meanwhile.
#[tokio::test(flavor = "current_thread")]
async fn a_flooding_client_does_not_starve_the_others() {
    // spec: FLOW-4
    const FLOOD: Duration = Duration::from_secs(2);
    const BOUND: Duration = Duration::from_secs(1);
    let config = Config {
        msg_rate: 1_000_000_000,
        msg_burst: 1_000_000_000,
        byte_rate: 1_000_000_000,
        byte_burst: 1_000_000_000,
        queue_depth: 1 << 20,
        ..TestServer::config()
    };
    let server = TestServer::start(config).await;
    let (mut flood_rx, mut flood_tx) = login(server.addr, "flooder").await;
    let (mut probe_rx, mut probe_tx) = login(server.addr, "probe").await;

    // The flooder talks in a room of its own: no fan-out, one ACK per message.
    flood_tx
        .send(Frame::Join(confab_protocol::frame::Join {
            room: Str8::new("flood").unwrap(),
            since_seq: 0,
            history: 0,
        }))
        .await
        .unwrap();
    loop {
        match expect(&mut flood_rx, "flooder", "JOINED flood").await {
            Frame::HistoryEnd(end) if end.target == "flood" => break,
            Frame::Joined(_) | Frame::Presence(_) => {}
            other => panic!("flooder: unexpected {other:?}"),
        }
    }

    let until = Instant::now() + FLOOD;
    let sender = tokio::spawn(async move {
        let mut sent = 0u32;
        while Instant::now() < until {
            for _ in 0..256 {
                sent += 1;
                let frame = Frame::SendMessage(SendMessage {
                    client_ref: sent,
                    room: Str8::new("flood").unwrap(),
                    body: Str16::new("flood flood flood flood").unwrap(),
                });
                flood_tx.feed(frame).await.unwrap();
            }
            SinkExt::<Frame>::flush(&mut flood_tx).await.unwrap();
        }
        (sent, flood_tx)
    });
    let acks = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&acks);
    let reader = tokio::spawn(async move {
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(STALL, flood_rx.next()).await {
            match frame {
                Frame::Ack(_) => {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                Frame::Presence(_) | Frame::Ping(_) => {}
                other => panic!("flooder: unexpected {other:?}"),
            }
        }
    });

    let mut round_trips = Vec::new();
    let mut acks_during = 0;
    while Instant::now() < until {
        let asked = Instant::now();
        probe_tx
            .send(Frame::Who(confab_protocol::frame::Who {
                room: Str8::new(ROOM).unwrap(),
            }))
            .await
            .unwrap();
        loop {
            match expect(&mut probe_rx, "probe", "WHO_LIST").await {
                Frame::WhoList(_) => break,
                Frame::Presence(_) => {}
                other => panic!("probe: unexpected {other:?}"),
            }
        }
        round_trips.push(asked.elapsed());
        acks_during = acks.load(Ordering::Relaxed);
    }
    let (sent, flood_tx) =
        crate::common::within_for(crate::common::PATIENCE * 3, "the sender task", sender)
            .await
            .unwrap();
    let slowest = round_trips.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} WHO round trips (slowest {slowest:?}) while the flooder sent {sent} messages \
         ({acks_during} acknowledged during the probes)",
        round_trips.len()
    );
    assert!(
        acks_during >= 10_000,
        "the flood was not under way: only {acks_during} messages handled"
    );
    assert!(
        slowest < BOUND,
        "a WHO took {slowest:?} to be answered while another client flooded"
    );
    drop(flood_tx);
    reader.abort();
    server.stop().await;
}
