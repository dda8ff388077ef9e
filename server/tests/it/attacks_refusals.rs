//! Refusals at the door, seen from a real server process: the log stays
//! bounded under a refusal flood, and with few file descriptors the server
//! answers SERVER_FULL instead of leaving newcomers unanswered.

use crate::common;

use common::*;
use confab_protocol::frame::Frame;
use confab_protocol::ErrorCode;
use tokio::task::JoinSet;

/// The connections the log lines account for ("refused N connection(s)").
fn refused_in_log(log: &str) -> (usize, u64) {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("refused")).collect();
    let total = lines
        .iter()
        .filter_map(|l| l.split("refused ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|n| n.parse::<u64>().ok())
        .sum();
    (lines.len(), total)
}

/// Opens `count` connections, `at_once` at a time; returns the first frame
/// of each (None: the connection ended or stayed silent for `PATIENCE`).
async fn knock(
    addr: std::net::SocketAddr,
    count: usize,
    keep: bool,
) -> (Vec<Option<Frame>>, Vec<Client>) {
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        tasks.spawn(async move {
            let mut client = Client::connect_raw(addr).await;
            let first = match tokio::time::timeout(
                PATIENCE,
                futures_util::StreamExt::next(&mut client.framed),
            )
            .await
            {
                Ok(Some(Ok(frame))) => Some(frame),
                _ => None,
            };
            (first, client)
        });
    }
    let mut firsts = Vec::new();
    let mut kept = Vec::new();
    while let Some(done) = crate::common::within_for(
        crate::common::PATIENCE * 3,
        "tasks to end",
        tasks.join_next(),
    )
    .await
    {
        let (first, client) = done.unwrap();
        if keep && matches!(first, Some(Frame::Greeting(_))) {
            kept.push(client);
        }
        firsts.push(first);
    }
    (firsts, kept)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_flood_is_summed_up_in_a_few_log_lines() {
    // spec: LIMIT-1
    let mut server = ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--in-memory",
        "--max-connections",
        "2",
    ]);
    let (_, held) = knock(server.addr, 2, true).await;
    assert_eq!(held.len(), 2);
    const FLOOD: usize = 300;
    let (firsts, _) = knock(server.addr, FLOOD, false).await;
    let refused = firsts
        .iter()
        .filter(|f| matches!(f, Some(Frame::ErrorFrame(e)) if e.is_fatal()))
        .count();
    assert_eq!(refused, FLOOD, "every newcomer gets a fatal ERROR");
    drop(held);
    server.terminate();
    let log = server.log_text();
    let (lines, accounted) = refused_in_log(&log);
    eprintln!("refusal flood: {FLOOD} refusals, {lines} log line(s) accounting for {accounted}");
    assert_eq!(accounted, FLOOD as u64, "every refusal is counted:\n{log}");
    assert!(lines <= 3, "{lines} log lines for {FLOOD} refusals:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_few_descriptors_newcomers_get_server_full_not_silence() {
    // spec: LIMIT-1
    const NOFILE: u32 = 256;
    let mut server = ServerProcess::start_with_nofile(
        &[
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
            "--max-per-ip",
            "0",
        ],
        NOFILE,
    );
    // Hold more connections than the descriptors allow, then knock again.
    let (firsts, held) = knock(server.addr, 300, true).await;
    let greeted = held.len();
    let full = firsts
        .iter()
        .filter(|f| matches!(f, Some(Frame::ErrorFrame(e)) if e.code == ErrorCode::SERVER_FULL))
        .count();
    let silent = firsts.iter().filter(|f| f.is_none()).count();
    eprintln!("{NOFILE} descriptors: {greeted} greeted, {full} SERVER_FULL, {silent} unanswered");
    assert_eq!(silent, 0, "every newcomer is answered");
    assert!(greeted < NOFILE as usize && full > 0);
    drop(held);
    server.terminate();
    let log = server.log_text();
    assert!(
        log.contains(&format!("lowered to {}", greeted)),
        "the start-up log says why:\n{log}"
    );
    let accept_lines = log.lines().filter(|l| l.contains("accept failed")).count();
    assert!(
        accept_lines <= 3,
        "{accept_lines} lines about failed accepts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_does_not_flood_the_log() {
    // spec: HANDSHAKE-8, SEC-7
    let mut server = ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--in-memory",
        "--handshake-timeout-ms",
        "1000",
    ]);
    const SLOTHS: usize = 100;
    let mut tasks = JoinSet::new();
    for _ in 0..SLOTHS {
        let addr = server.addr;
        tasks.spawn(async move {
            let mut client = Client::connect_raw(addr).await;
            client.expect_greeting().await;
            client
                .expect_fatal_then_close(ErrorCode::HANDSHAKE_TIMEOUT)
                .await;
        });
    }
    while let Some(done) = crate::common::within_for(
        crate::common::PATIENCE * 3,
        "tasks to end",
        tasks.join_next(),
    )
    .await
    {
        done.unwrap();
    }
    server.terminate();
    let log = server.log_text();
    let lines = log.lines().count();
    eprintln!("slowloris: {SLOTHS} connections timed out, {lines} log lines");
    assert!(
        lines <= 10,
        "{lines} log lines for {SLOTHS} silent connections:\n{log}"
    );
}
