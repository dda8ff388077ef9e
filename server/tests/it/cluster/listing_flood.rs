//! An attacker's budget in a cluster: WHO without a room and LIST_ROOMS
//! read the whole cluster's users and rooms from Redis, so a node answers
//! them from one read a second, however many clients ask (`[CLUSTER-2]`,
//! `[FLOW-5]`). Counted in Redis's own statistics, not timed.

use std::time::Instant;

use confab_protocol::frame::Frame;

use super::harness::RedisServer as Redis;
use super::messages::nodes;
use super::*;

/// How many times Redis ran `command` so far.
fn calls(redis: &Redis, command: &str) -> u64 {
    let mut conn = redis.client().get_connection().unwrap();
    let stats: String = ::redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .unwrap();
    stats
        .lines()
        .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_listings_cost_redis_one_read_a_second() {
    // spec: CLUSTER-2, FLOW-5, PRESENCE-1, ROOM-6
    const CLIENTS: usize = 20;
    const EACH: usize = 10;
    let redis = Redis::start();
    let nodes = nodes(&redis, 1).await;
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        clients.push(Client::login(nodes[0].addr, &format!("asker{i}")).await);
    }
    let (who_before, list_before) = (calls(&redis, "hkeys"), calls(&redis, "hlen"));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut client in clients {
        tasks.push(tokio::spawn(async move {
            for _ in 0..EACH {
                client.who("").await;
                client.list_rooms().await;
            }
            let (mut whos, mut lists) = (0, 0);
            while whos < EACH || lists < EACH {
                match client.recv_skipping_presence().await {
                    Frame::WhoList(list) => {
                        assert!(list.users.iter().any(|u| u.starts_with("asker")));
                        whos += 1;
                    }
                    Frame::RoomList(_) => lists += 1,
                    other => panic!("unexpected {other:?}"),
                }
            }
            client
        }));
    }
    let mut clients = Vec::new();
    for task in tasks {
        clients.push(within("every listing answered", task).await.unwrap());
    }
    // One read per second of the burst at most (and the first).
    let allowed = 1 + started.elapsed().as_secs() + 1;
    let who_reads = calls(&redis, "hkeys") - who_before;
    let list_reads = calls(&redis, "hlen") - list_before;
    assert!(
        who_reads <= allowed,
        "{} WHO answered with {who_reads} reads of Redis (at most {allowed})",
        CLIENTS * EACH
    );
    assert!(
        list_reads <= allowed,
        "{} LIST_ROOMS answered with {list_reads} reads of Redis (at most {allowed})",
        CLIENTS * EACH
    );
    drop(clients);
    for node in nodes {
        node.finish().await;
    }
}
