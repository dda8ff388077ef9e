//! Attack 6, connection exhaustion: refused, and recovered from.

use std::net::{IpAddr, Ipv4Addr};

use confab_protocol::frame::{Frame, Hello};
use confab_protocol::ErrorCode;
use confab_server::Config;
use tokio::task::JoinSet;

use crate::common::{fast_config, Client, TestServer};
use crate::slowloris::refused;
use crate::support::*;
use crate::{attack, DURING_ATTACK};

#[test]
fn connection_exhaustion_is_refused_and_recovers() {
    // spec: LIMIT-1, HANDSHAKE-1
    attack(|| async {
        const MAX: usize = 64;
        let server = TestServer::start(Config {
            max_connections: MAX,
            ..fast_config()
        })
        .await;
        let addr = server.addr;
        let witnesses = Witnesses::start(addr, BRISK_PACE).await;
        let baseline = rss_bytes();

        for round in 0..2 {
            // Fill every connection slot the witnesses left with idle connections.
            let mut idle = Vec::new();
            if round == 1 {
                // The server admits again once the first idle ones are gone.
                let (first, attempts) = connect_when_admitted(addr, None).await;
                eprintln!("exhaustion: admitted again after {attempts} attempt(s)");
                idle.push(first);
            }
            while idle.len() < MAX - 2 {
                if round == 0 {
                    let mut conn = Client::connect_raw(addr).await;
                    match conn.recv().await {
                        Frame::Greeting(_) => idle.push(conn),
                        other => panic!("connection {} got {other:?}", idle.len() + 3),
                    }
                } else {
                    // The old idle connections' places come back one by one.
                    idle.push(connect_when_admitted(addr, None).await.0);
                }
            }
            // spec: LIMIT-1 — every newcomer past the limit gets SERVER_FULL.
            let mut newcomers = JoinSet::new();
            for _ in 0..40 {
                newcomers.spawn(refused(addr, None, ErrorCode::SERVER_FULL));
            }
            while let Some(done) = next_done(&mut newcomers, "newcomers to end").await {
                done.expect("a newcomer past max_connections gets SERVER_FULL");
            }
            // The idle connections go away.
            drop(idle);
        }
        witnesses.finish("exhaustion", DURING_ATTACK).await;
        health_check(addr, "exhaustion", baseline).await;
        server.finish().await;
    });
}

#[test]
fn one_address_cannot_take_every_connection() {
    // spec: LIMIT-1
    attack(|| async {
        const PER_IP: usize = 8;
        let server = TestServer::start(Config {
            max_per_ip: PER_IP,
            ..fast_config()
        })
        .await;
        let addr = server.addr;
        // From 127.0.0.1.
        let witnesses = Witnesses::start(addr, BRISK_PACE).await;
        let baseline = rss_bytes();
        let attacker = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

        let mut idle = Vec::new();
        for i in 0..PER_IP {
            let mut conn = Client::connect_from(addr, attacker).await;
            match conn.recv().await {
                Frame::Greeting(_) => idle.push(conn),
                other => panic!("127.0.0.2 connection {i}: {other:?}"),
            }
        }
        let mut newcomers = JoinSet::new();
        for _ in 0..30 {
            newcomers.spawn(refused(
                addr,
                Some(attacker),
                ErrorCode::TOO_MANY_CONNECTIONS,
            ));
        }
        while let Some(done) = next_done(&mut newcomers, "newcomers to end").await {
            done.expect("a newcomer past max_per_ip gets TOO_MANY_CONNECTIONS");
        }
        // Other addresses are unaffected.
        let mut other = Client::connect_from(addr, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))).await;
        other
            .greet_and_login("elsewhere", Hello::NO_AUTO_JOIN)
            .await;
        let mut local = Client::connect_raw(addr).await;
        local.greet_and_login("local", Hello::NO_AUTO_JOIN).await;
        drop((other, local));

        // Once its connections are gone, 127.0.0.2 is admitted again.
        drop(idle);
        let (again, attempts) = connect_when_admitted(addr, Some(attacker)).await;
        eprintln!("per-ip: 127.0.0.2 admitted again after {attempts} attempt(s)");
        drop(again);

        witnesses.finish("per-ip", DURING_ATTACK).await;
        health_check(addr, "per-ip", baseline).await;
        server.finish().await;
    });
}
