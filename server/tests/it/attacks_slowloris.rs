//! `[LIMIT-4]`: silent connections from a few addresses cannot take every
//! place in the login queue, and an address that holds many gets less time
//! for each.

use crate::common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use confab_protocol::frame::{Frame, Hello};
use confab_protocol::ErrorCode;
use confab_server::Config;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How a silent connection ended: refused at the door, or closed after `held`.
#[derive(Debug)]
enum Sloth {
    Refused(ErrorCode),
    Closed(Duration),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_from_four_addresses_leaves_room_for_a_newcomer() {
    // spec: LIMIT-4, LIMIT-1, HANDSHAKE-8
    const GLOBAL: usize = 64;
    const PER_ADDRESS: usize = 12;
    const ATTEMPTS: usize = 20;
    let server = TestServer::start(Config {
        max_unauthenticated: GLOBAL,
        max_unauthenticated_per_ip: PER_ADDRESS,
        handshake_timeout_ms: 4_000,
        ..Config::default()
    })
    .await;
    let addr = server.addr;
    // Four addresses try to hold 80 places of 64, one at a time per
    // address so the order (and so who gets the shorter time) is known.
    let (filled_tx, mut filled) = tokio::sync::mpsc::channel(4);
    let mut attackers = JoinSet::new();
    for a in 0..4u8 {
        let filled_tx = filled_tx.clone();
        attackers.spawn(async move {
            let local = IpAddr::from([127, 0, 0, 2 + a]);
            let mut held = JoinSet::new();
            let mut outcomes = Vec::new();
            for i in 0..ATTEMPTS {
                let mut client = Client::connect_from(addr, local).await;
                let accepted = Instant::now();
                match client.recv().await {
                    Frame::Greeting(_) => {
                        held.spawn(async move {
                            let (frames, ending) = client.read_to_end().await;
                            assert_fatal_end(
                                "sloth",
                                &frames,
                                &ending,
                                ErrorCode::HANDSHAKE_TIMEOUT,
                            );
                            (i, accepted.elapsed())
                        });
                    }
                    Frame::ErrorFrame(e) => outcomes.push((i, Sloth::Refused(e.code))),
                    other => panic!("unexpected {other:?}"),
                }
            }
            crate::common::within("the report of filled slots", filled_tx.send(()))
                .await
                .unwrap();
            while let Some(done) = crate::common::within_for(
                crate::common::PATIENCE * 3,
                "held to end",
                held.join_next(),
            )
            .await
            {
                let (i, held) = done.unwrap();
                outcomes.push((i, Sloth::Closed(held)));
            }
            outcomes.sort_by_key(|(i, _)| *i);
            outcomes
        });
    }
    // Once every address has made its attempts, an honest newcomer from
    // 127.0.0.1 logs in at once.
    for _ in 0..4 {
        crate::common::within("the slots to fill", filled.recv())
            .await
            .unwrap();
    }
    let mut honest = Client::login_flags(addr, "newcomer", Hello::NO_AUTO_JOIN).await;
    honest.enter("after", 0, 0).await;

    while let Some(done) = crate::common::within_for(
        crate::common::PATIENCE * 3,
        "attackers to end",
        attackers.join_next(),
    )
    .await
    {
        let outcomes = done.unwrap();
        let admitted: Vec<&(usize, Sloth)> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Sloth::Closed(_)))
            .collect();
        let refused = outcomes.len() - admitted.len();
        eprintln!(
            "slowloris address: {} admitted, {refused} refused",
            admitted.len()
        );
        assert_eq!(admitted.len(), PER_ADDRESS, "{outcomes:?}");
        for (_, o) in &outcomes {
            if let Sloth::Refused(code) = o {
                assert_eq!(*code, ErrorCode::TOO_MANY_CONNECTIONS);
            }
        }
        // The first quarter get the advertised 4 s; the rest, 1 s.
        for (i, o) in &outcomes {
            if let Sloth::Closed(held) = o {
                if *i < PER_ADDRESS / 4 {
                    assert!(*held >= Duration::from_millis(3_900), "#{i} held {held:?}");
                } else if *i < PER_ADDRESS {
                    assert!(*held < Duration::from_millis(3_000), "#{i} held {held:?}");
                }
            }
        }
    }
    server.finish().await;
}
