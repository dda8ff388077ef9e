//! Attack 1, malformed and hostile input: thousands of inputs, each on a
//! connection of its own, each answered as the spec says.

use std::net::SocketAddr;
use std::sync::Arc;

use confab_protocol::frame::{Frame, Hello, Route};
use confab_server::Config;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::common::{errors, fast_config, unique_name, Client, Ending, TestServer, PATIENCE};
use crate::malformed_inputs::*;
use crate::support::*;
use crate::{attack, DURING_ATTACK};

/// Checks the server's answer to one input.
fn judge(input: &Input, frames: &[Frame], ending: &Ending) -> Result<(), String> {
    // spec: SEC-2 — the input ends in frames, in a wait, or in an error:
    // the server never hangs, resets or sends garbage.
    if *ending != Ending::Eof {
        return Err(format!(
            "stream ended {ending:?} after {} frames",
            frames.len()
        ));
    }
    let mut frames = frames;
    if input.mode == Mode::First {
        match frames.first() {
            Some(Frame::Greeting(_)) => frames = &frames[1..],
            other => return Err(format!("first frame {other:?}, not GREETING")),
        }
    }
    for (i, frame) in frames.iter().enumerate() {
        match frame.direction() {
            Some(Route::ServerToClient) | Some(Route::Both) => {}
            _ => return Err(format!("the server sent {frame:?}")),
        }
        if matches!(frame, Frame::Greeting(_)) {
            return Err("a second GREETING".into());
        }
        if let Frame::ErrorFrame(error) = frame {
            // spec: ERROR-1
            if error.code.registry_fatal() != Some(error.is_fatal()) {
                return Err(format!(
                    "{error:?}: code not in the registry or wrong FATAL flag"
                ));
            }
            // spec: STATE-4 — nothing after a fatal ERROR.
            if error.is_fatal() && i + 1 != frames.len() {
                return Err(format!(
                    "frames after the fatal {error:?}: {:?}",
                    &frames[i + 1..]
                ));
            }
        }
    }
    let answered = frames
        .iter()
        .any(|f| matches!(f, Frame::Pong(p) if p.nonce == input.sentinel));
    let fatal = frames.last().and_then(|f| match f {
        Frame::ErrorFrame(e) if e.is_fatal() => Some(e),
        _ => None,
    });
    match (&input.expect, fatal) {
        (Expect::Fatal(code, frame_type), Some(error)) => {
            if error.code != *code || error.frame_type != *frame_type {
                return Err(format!(
                    "expected fatal {code:?} about frame type {frame_type:#04x}, got {error:?}"
                ));
            }
            // spec: ERROR-3 — nothing after the offending frame is processed.
            if answered {
                return Err("the sentinel after the offending bytes was answered".into());
            }
        }
        (Expect::Fatal(code, _), None) => {
            return Err(format!("expected fatal {code:?}, got {frames:?}"));
        }
        (Expect::Pong, None) if answered => {}
        (Expect::Pong, _) => return Err(format!("expected the sentinel's PONG, got {frames:?}")),
        (Expect::Closed, None) if !answered => {}
        (Expect::Closed, _) => return Err(format!("expected a quiet close, got {frames:?}")),
        (Expect::Defined, _) => {}
    }
    if let Some((code, frame_type)) = input.also {
        if !errors(frames)
            .iter()
            .any(|e| e.code == code && e.frame_type == frame_type && !e.is_fatal())
        {
            return Err(format!(
                "expected a non-fatal {code:?} about {frame_type:#04x}, got {frames:?}"
            ));
        }
    }
    Ok(())
}

/// Sends one input on a connection of its own and judges the answer.
async fn run_input(addr: SocketAddr, input: &Input) -> Result<(), String> {
    let exchange = async {
        let mut conn = Client::connect_raw(addr).await;
        if input.mode == Mode::Ready {
            conn.greet_and_login(&unique_name("m"), Hello::NO_AUTO_JOIN)
                .await;
        }
        // The server may close before it has read everything (a fatal error
        // on the header); it still drains, but tolerate a failed write.
        let _ = conn.try_write_raw(&input.bytes).await;
        let _ = half_close(&mut conn).await;
        conn.read_to_end_within(PATIENCE).await
    };
    let (frames, ending) = tokio::time::timeout(PATIENCE * 2, exchange)
        .await
        .map_err(|_| "the exchange hung".to_string())?;
    judge(input, &frames, &ending)
}

/// Sends every input, at most `CONCURRENCY` connections at a time; returns
/// the failures.
async fn run_all(addr: SocketAddr, inputs: &Arc<Vec<Input>>) -> Vec<String> {
    const CONCURRENCY: usize = 32;
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for index in 0..inputs.len() {
        let permit = crate::common::within_for(
            crate::common::PATIENCE * 3,
            "a free connection slot",
            Arc::clone(&permits).acquire_owned(),
        )
        .await
        .unwrap();
        let inputs = Arc::clone(inputs);
        tasks.spawn(async move {
            let result = run_input(addr, &inputs[index]).await;
            drop(permit);
            (index, result)
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = next_done(&mut tasks, "tasks to end").await {
        match joined {
            Ok((_, Ok(()))) => {}
            Ok((index, Err(why))) => {
                let input = &inputs[index];
                failures.push(format!(
                    "{}: {why}\n    input {}",
                    input.label,
                    hex::encode(&input.bytes[..input.bytes.len().min(64)])
                ))
            }
            Err(e) => failures.push(format!("an attacker task failed: {e}")),
        }
    }
    failures
}

#[test]
fn thousands_of_malformed_inputs_end_in_specified_answers() {
    // spec: SEC-1, SEC-2, ERROR-1, ERROR-3, STATE-1, STATE-2, STATE-4, FRAMING-2, FRAMING-4, FRAMING-5, FRAMING-6, VERSION-3, KEEPALIVE-1, HANDSHAKE-2
    attack(|| async {
        let seed = seed();
        eprintln!("malformed: PRNG seed {seed:#x} (set CONFAB_ATTACK_SEED to replay)");
        let mut rng = Rng(seed);
        let inputs = Arc::new(build_inputs(&mut rng));
        let count =
            |wanted: fn(&Expect) -> bool| inputs.iter().filter(|i| wanted(&i.expect)).count();
        eprintln!(
            "malformed: {} inputs: {} must end in a fatal error, {} in the sentinel's PONG, \
             {} in a quiet close, {} in whatever the server decides",
            inputs.len(),
            count(|e| matches!(e, Expect::Fatal(..))),
            count(|e| matches!(e, Expect::Pong)),
            count(|e| matches!(e, Expect::Closed)),
            count(|e| matches!(e, Expect::Defined)),
        );
        // Thousands of connections from one address, on purpose: no
        // per-address connect limit here (LIMIT-3 has tests of its own).
        let server = TestServer::start(Config {
            connect_rate: 0,
            ..fast_config()
        })
        .await;
        let addr = server.addr;
        let witnesses = Witnesses::start(addr, BRISK_PACE).await;
        let baseline = rss_bytes();

        // Twice: the second pass must not need more memory than the first.
        let mut after_pass = Vec::new();
        for pass in 0..2 {
            let started = Instant::now();
            let failures = run_all(addr, &inputs).await;
            after_pass.push(rss_bytes());
            eprintln!(
                "malformed: pass {pass}: {} connections in {:?}, VmRSS {:.1} MiB",
                inputs.len(),
                started.elapsed(),
                after_pass[pass] as f64 / MIB as f64
            );
            assert!(
                failures.is_empty(),
                "{} of {} inputs got a wrong answer (seed {seed:#x}); the first ones:\n{}",
                failures.len(),
                inputs.len(),
                failures
                    .iter()
                    .take(20)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        assert!(
            after_pass[1] <= after_pass[0] + 8 * MIB,
            "memory grew from {} to {} bytes over a second identical pass",
            after_pass[0],
            after_pass[1]
        );
        witnesses.finish("malformed", DURING_ATTACK).await;
        health_check(addr, "malformed", baseline).await;
        server.finish().await;
    });
}
