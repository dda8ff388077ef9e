//! A measurement, not a check (ignored by default): login, HISTORY and
//! SEND-to-ACK latency while a retention pass deletes 200,000 stored
//! messages, against the same figures with no pass running. Run it with
//! `cargo test -p confab-server --test retention_latency -- --ignored --nocapture`;
//! the figures are in BENCHMARKS.md.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Client, TempDir, TestServer};
use confab_protocol::frame::{Direction, Frame, HistoryKind, LoginMode};
use confab_server::retention::Driver;
use confab_server::store::Store;
use rusqlite::params;

const OLD: i64 = 200_000;

/// A database whose room `big` holds `OLD` messages from 1970 (all past any
/// retention age) and whose room `kept` holds 100 of today.
fn fill(dir: &TempDir) {
    drop(Store::open(dir.path(), 100).expect("a new store"));
    let mut conn = rusqlite::Connection::open(dir.path().join("confab.sqlite3")).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO messages (id, room_key, room, seq, time, sender, body, flags)
                 VALUES (?1, ?2, ?2, ?3, ?4, 'filler', ?5, 0)",
            )
            .unwrap();
        let body = "x".repeat(100);
        for i in 1..=OLD {
            insert
                .execute(params![i, "big", i, 1_000 + i, body])
                .unwrap();
        }
        let now = confab_server::clock::now_millis() as i64;
        for i in 1..=100 {
            insert
                .execute(params![OLD + i, "kept", i, now, body])
                .unwrap();
        }
    }
    tx.execute_batch(
        "INSERT INTO room_counters (room_key, room, next_seq) VALUES ('big', 'big', 200001), ('kept', 'kept', 101);
         INSERT INTO counters (name, value) VALUES ('next_id', 200101)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value;",
    )
    .unwrap();
    tx.commit().unwrap();
}

#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn push(&mut self, sample: Duration) {
        self.0.push(sample);
    }

    fn line(&mut self, what: &str) -> String {
        self.0.sort();
        let at = |q: f64| self.0[((self.0.len() - 1) as f64 * q) as usize];
        format!(
            "{what:<14} n={:<5} p50={:>9.1?} p95={:>9.1?} max={:>9.1?}",
            self.0.len(),
            at(0.5),
            at(0.95),
            at(1.0)
        )
    }
}

async fn timed_history(client: &mut Client) -> Duration {
    let started = Instant::now();
    client
        .history(HistoryKind::Room, "kept", Direction::Before, 0, 50)
        .await;
    loop {
        if let Frame::HistoryEnd(end) = client.recv_skipping_presence().await {
            assert_eq!(end.count, 50);
            return started.elapsed();
        }
    }
}

async fn timed_login(addr: std::net::SocketAddr) -> Duration {
    let started = Instant::now();
    let (client, _) = Client::login_account(addr, LoginMode::Login, "carol", "pw-carol-1").await;
    let took = started.elapsed();
    client.quit().await;
    took
}

async fn timed_send(client: &mut Client) -> Duration {
    let started = Instant::now();
    let client_ref = client.say("kept", "during").await;
    client.expect_ack(client_ref).await;
    started.elapsed()
}

/// HISTORY, login and SEND samples: `rounds` of each with nothing else
/// going on, or (with `busy`) logins beside the others until it ends.
async fn sample(
    addr: std::net::SocketAddr,
    reader: &mut Client,
    sender: &mut Client,
    rounds: usize,
    busy: Option<&tokio::task::JoinHandle<Result<usize, String>>>,
) -> (Samples, Samples, Samples) {
    let (mut history, mut login, mut send) =
        (Samples::default(), Samples::default(), Samples::default());
    let Some(busy) = busy else {
        for _ in 0..rounds {
            history.push(timed_history(reader).await);
            send.push(timed_send(sender).await);
            login.push(timed_login(addr).await);
        }
        return (history, login, send);
    };
    let stop = Arc::new(AtomicBool::new(false));
    let logins = tokio::spawn({
        let stop = Arc::clone(&stop);
        async move {
            let mut login = Samples::default();
            while !stop.load(Ordering::Relaxed) {
                login.push(timed_login(addr).await);
            }
            login
        }
    });
    while !busy.is_finished() {
        history.push(timed_history(reader).await);
        send.push(timed_send(sender).await);
    }
    stop.store(true, Ordering::Relaxed);
    login = logins.await.unwrap();
    (history, login, send)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for BENCHMARKS.md, run by hand"]
async fn latency_during_a_retention_pass_over_200k_messages() {
    let dir = TempDir::new("retention-latency");
    let filled = Instant::now();
    fill(&dir);
    eprintln!("filled {OLD} messages in {:?}", filled.elapsed());
    let driver = Driver::default();
    let mut config = TestServer::persistent_config(dir.path());
    config.retention_days = 1;
    config.retention_driver = Some(driver.clone());
    let server = TestServer::start(config).await;
    let (carol, _) =
        Client::login_account(server.addr, LoginMode::Register, "carol", "pw-carol-1").await;
    carol.quit().await;
    let mut reader = Client::login(server.addr, "reader").await;
    reader.enter("kept", 0, 0).await;
    let mut sender = Client::login(server.addr, "sender").await;
    sender.enter("kept", 0, 0).await;

    let (mut h, mut l, mut s) = sample(server.addr, &mut reader, &mut sender, 20, None).await;
    eprintln!(
        "idle:\n  {}\n  {}\n  {}",
        h.line("HISTORY 50"),
        l.line("login"),
        s.line("SEND->ACK")
    );

    let started = Instant::now();
    let pass = tokio::spawn({
        let driver = driver.clone();
        async move { driver.pass_at(confab_server::clock::now_millis()).await }
    });
    let (mut h, mut l, mut s) = sample(server.addr, &mut reader, &mut sender, 0, Some(&pass)).await;
    let deleted = pass.await.unwrap().unwrap();
    eprintln!(
        "during a pass deleting {deleted} messages in {:?}:\n  {}\n  {}\n  {}",
        started.elapsed(),
        h.line("HISTORY 50"),
        l.line("login"),
        s.line("SEND->ACK")
    );
    drop((reader, sender));
    server.finish().await;
}
