//! `[ORDER-1]`: answers come in the order of the requests, in durable mode
//! too, where an ACK waits for the commit: no ERROR overtakes an earlier
//! ACK, and every stored message is acknowledged, even when the server then
//! closes the connection.

use crate::common;

use common::*;
use confab_protocol::frame::{code, Frame, Hello};
use confab_protocol::ErrorCode;
use confab_server::Config;

/// The answers (ACK or ERROR) about SENDs, as (client_ref, ERROR code or
/// None for an ACK), in the order received.
fn answers(frames: &[Frame]) -> Vec<(u32, Option<ErrorCode>)> {
    frames
        .iter()
        .filter_map(|frame| match frame {
            Frame::Ack(ack) => Some((ack.client_ref, None)),
            Frame::ErrorFrame(e) if e.frame_type == code::SEND => {
                Some((e.client_ref, Some(e.code)))
            }
            _ => None,
        })
        .collect()
}

fn durable(dir: &TempDir) -> Config {
    // Default rate limits: a burst of 60.
    Config {
        in_memory: false,
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_answers_come_in_request_order() {
    // spec: ORDER-1, MSG-2, FLOW-1
    let dir = TempDir::new("ordering");
    let server = TestServer::start(durable(&dir)).await;
    let mut sender = Client::login_flags(server.addr, "sender", Hello::NO_AUTO_JOIN).await;
    sender.enter("ordered", 0, 0).await;
    sender
        .write_raw(&sends("ordered", 70, |n| format!("message {n}")))
        .await;
    let mut frames = Vec::new();
    while answers(&frames).len() < 70 {
        frames.push(sender.recv().await);
    }
    let got = answers(&frames);
    let refs: Vec<u32> = got.iter().map(|(r, _)| *r).collect();
    assert_eq!(
        refs,
        (1..=70).collect::<Vec<_>>(),
        "answers in request order: {got:?}"
    );
    let acked = got.iter().take_while(|(_, code)| code.is_none()).count();
    // The JOIN took one token of the 60.
    assert!((59..=65).contains(&acked), "{acked} ACKs first: {got:?}");
    assert!(
        got[acked..]
            .iter()
            .all(|(_, code)| *code == Some(ErrorCode::RATE_LIMITED)),
        "then only RATE_LIMITED: {got:?}"
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooder_cut_off_in_durable_mode_gets_every_ack_first() {
    // spec: ORDER-1, MSG-2, FLOW-2
    let dir = TempDir::new("ordering-flood");
    let server = TestServer::start(durable(&dir)).await;
    let mut witness = Client::login_flags(server.addr, "witness", Hello::NO_AUTO_JOIN).await;
    witness.enter("flooded", 0, 0).await;
    let mut flooder = Client::login_flags(server.addr, "flooder", Hello::NO_AUTO_JOIN).await;
    flooder.enter("flooded", 0, 0).await;
    flooder
        .write_raw(&sends("flooded", 400, |n| format!("message {n}")))
        .await;
    let (frames, ending) = flooder.read_to_end().await;
    assert_eq!(ending, Ending::Eof);
    let got = answers(&frames);
    let refs: Vec<u32> = got.iter().map(|(r, _)| *r).collect();
    let expected: Vec<u32> = (1..=refs.len() as u32).collect();
    assert_eq!(refs, expected, "answers in request order: {got:?}");
    assert_eq!(
        got.last().and_then(|(_, code)| *code),
        Some(ErrorCode::FLOODING),
        "FLOODING is the last answer"
    );
    let acked: Vec<u32> = got
        .iter()
        .filter(|(_, code)| code.is_none())
        .map(|(r, _)| *r)
        .collect();
    // Everything delivered to the room was acknowledged to its sender.
    let mut delivered = Vec::new();
    let marker = witness.say("flooded", "end").await;
    loop {
        match witness.recv_skipping_presence().await {
            Frame::Message(m) => {
                let n: u32 = m.body.strip_prefix("message ").unwrap().parse().unwrap();
                delivered.push(n);
            }
            Frame::Ack(ack) if ack.client_ref == marker => break,
            other => panic!("witness: unexpected {other:?}"),
        }
    }
    eprintln!(
        "durable flood: {} answers, {} ACKs, {} delivered",
        got.len(),
        acked.len(),
        delivered.len()
    );
    assert!(!acked.is_empty());
    assert_eq!(
        delivered, acked,
        "every stored and delivered message was ACKed"
    );
    server.finish().await;
}
