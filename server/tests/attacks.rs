//! Attacks on a running in-process server, each bounded in count and time and
//! each followed by the same health check (`support::health_check`): the
//! server still accepts, two new honest clients chat 20 messages with p-max
//! under 500 ms, and resident memory is back near its level before the attack.
//! While each attack runs, two witnesses chat in a room of their own and must
//! never be disturbed.
//!
//! The attacks run one at a time (they share the process's memory reading and
//! its two cores), each in a runtime of its own.
//!
//! Random inputs come from a xorshift generator; the seed is printed and can
//! be set with CONFAB_ATTACK_SEED to replay a run.

mod common;
mod support;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use common::{assert_fatal_end, errors, unique_name, wire, Client, Ending, TestServer, PATIENCE};
use confab_protocol::frame::{self, code, Dir, Frame, Hello, Login, Send};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::StreamExt;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

/// The attacks share the process: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn attack<F: Future<Output = ()>>(body: impl FnOnce() -> F) {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(body());
}

/// The witnesses' worst message latency while an attack is under way
/// (looser than the health check: the attackers share the two cores).
const DURING_ATTACK: Duration = Duration::from_secs(2);

const DEFAULT_MAX_FRAME: u32 = 65_536;

// ---------------------------------------------------------------------------
// 1. Malformed and hostile input
// ---------------------------------------------------------------------------

/// Where the attacker's bytes land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The first bytes after connecting (the server is in AWAIT_HELLO).
    First,
    /// After a successful login (READY).
    Ready,
}

/// The answer the spec requires for an input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// A fatal ERROR with this code and frame_type, as the last frame, and
    /// nothing after the offending bytes processed (no PONG for the sentinel).
    Fatal(ErrorCode, u8),
    /// Everything processed, the sentinel PING answered, no fatal ERROR.
    Pong,
    /// No answer to the sentinel and no fatal ERROR: the connection ends at
    /// our end of stream or at a GOODBYE / fatal ERROR of ours.
    Closed,
    /// The outcome depends on what the server decides (a LOGIN whose name
    /// is random); only the general rules are checked.
    Defined,
}

struct Input {
    label: String,
    mode: Mode,
    /// Everything written, the sentinel PING included when there is one.
    bytes: Vec<u8>,
    sentinel: u64,
    expect: Expect,
    /// An ERROR (code, frame_type) that must be among the answers.
    also: Option<(ErrorCode, u8)>,
}

/// A PING with this nonce is appended to (most) inputs: answering it proves
/// the server processed everything before it; not answering it after a fatal
/// error proves it stopped (`[ERROR-3]`).
fn sentinel_nonce(index: usize) -> u64 {
    0x5E57_1E00_0000_0000 | index as u64
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ModelState {
    AwaitHello,
    AwaitLogin,
    Ready,
}

/// What the spec says the server answers to `bytes` followed by our end of
/// stream, from the frame rules (sections 4, 6, 15) applied to the frames
/// the bytes hold.
fn model(mode: Mode, bytes: &[u8], sentinel: u64) -> Expect {
    let mut buf = BytesMut::from(bytes);
    let mut state = match mode {
        Mode::First => ModelState::AwaitHello,
        Mode::Ready => ModelState::Ready,
    };
    for _ in 0..100_000 {
        if state == ModelState::AwaitHello && buf.starts_with(&[0x16, 0x03]) {
            // spec: TRANSPORT-4 — a TLS ClientHello, before the length check.
            return Expect::Fatal(ErrorCode::NOT_CONFAB, 0);
        }
        let judged = state;
        let frame = match frame::decode_with(&mut buf, DEFAULT_MAX_FRAME, |t| parses(judged, t)) {
            Err(e) => return Expect::Fatal(e.code(), e.frame_type()),
            // A partial frame (or nothing) at our end of stream.
            Ok(None) => return Expect::Closed,
            Ok(Some(frame)) => frame,
        };
        match &frame {
            Frame::Goodbye(_) => return Expect::Closed,
            Frame::ErrorFrame(e) if e.is_fatal() => return Expect::Closed,
            Frame::ErrorFrame(_) => continue,
            _ => {}
        }
        match state {
            ModelState::AwaitHello => match &frame {
                Frame::Hello(hello) if hello.version == 1 => state = ModelState::AwaitLogin,
                Frame::Hello(_) => {
                    return Expect::Fatal(ErrorCode::UNSUPPORTED_VERSION, code::HELLO)
                }
                other => return Expect::Fatal(ErrorCode::NOT_CONFAB, other.frame_type()),
            },
            ModelState::AwaitLogin | ModelState::Ready => {
                if matches!(&frame, Frame::Ping(p) if p.nonce == sentinel) && buf.is_empty() {
                    return Expect::Pong;
                }
                if state == ModelState::AwaitLogin && matches!(frame, Frame::Login(_)) {
                    return Expect::Defined;
                }
            }
        }
    }
    Expect::Defined
}

/// spec: STATE-6 — whether the server examines a body of this type: before
/// HELLO only HELLO, GOODBYE and ERROR; later never a server-to-client one.
fn parses(state: ModelState, frame_type: u8) -> bool {
    match state {
        ModelState::AwaitHello => matches!(frame_type, code::HELLO | code::GOODBYE | code::ERROR),
        _ => matches!(
            frame::direction_of(frame_type),
            Some(Dir::Both | Dir::ClientToServer)
        ),
    }
}

/// A deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

fn seed() -> u64 {
    std::env::var("CONFAB_ATTACK_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        })
        .unwrap_or(0xC0FF_EE15_600D_F00D)
        .max(1)
}

struct Vector {
    name: String,
    bytes: Vec<u8>,
    /// The error the vector names; None for valid frames and incomplete input.
    error: Option<ErrorCode>,
    incomplete: bool,
    max_frame: u32,
}

fn load_vectors(file: &str) -> Vec<Vector> {
    let path = format!("{}/../spec/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            name: v["name"].as_str().unwrap().to_string(),
            bytes: hex::decode(v["hex"].as_str().unwrap()).unwrap(),
            error: v["error"]
                .as_str()
                .map(|name| ErrorCode::from_name(name).unwrap_or_else(|| panic!("{name}"))),
            incomplete: v["incomplete"].as_bool().unwrap_or(false),
            max_frame: v["max_frame"]
                .as_u64()
                .map_or(DEFAULT_MAX_FRAME, |m| m as u32),
        })
        .collect()
}

/// The ERROR a valid frame must draw in READY, besides the normal reply.
fn ready_also(bytes: &[u8]) -> Option<(ErrorCode, u8)> {
    let frame = frame::decode(&mut BytesMut::from(bytes), DEFAULT_MAX_FRAME).ok()??;
    let frame_type = frame.frame_type();
    match frame {
        // spec: VERSION-3 — skipped and reported, not fatal.
        Frame::Unknown(_) => Some((ErrorCode::UNKNOWN_FRAME_TYPE, frame_type)),
        // spec: STATE-2 — wrong direction or state: reported, ignored.
        Frame::Hello(_) | Frame::Login(_) => Some((ErrorCode::UNEXPECTED_FRAME, frame_type)),
        f if f.direction() == Some(Dir::ServerToClient) => {
            Some((ErrorCode::UNEXPECTED_FRAME, frame_type))
        }
        _ => None,
    }
}

fn hello_bytes(flags: u8) -> Vec<u8> {
    Frame::Hello(Hello {
        version: 1,
        flags,
        client: Str8::new("attacker").unwrap(),
    })
    .to_bytes()
    .to_vec()
}

/// Appends an input: `payload`, then (with `with_sentinel`) the sentinel
/// PING; the expectation comes from `model`.
fn push_input<'a>(
    inputs: &'a mut Vec<Input>,
    label: String,
    mode: Mode,
    payload: &[u8],
    with_sentinel: bool,
    also: Option<(ErrorCode, u8)>,
) -> &'a Input {
    let sentinel = sentinel_nonce(inputs.len());
    let mut bytes = payload.to_vec();
    if with_sentinel {
        bytes.extend(wire(&Frame::Ping(frame::Ping { nonce: sentinel })));
    }
    let expect = model(mode, &bytes, sentinel);
    inputs.push(Input {
        label,
        mode,
        bytes,
        sentinel,
        expect,
        also,
    });
    inputs.last().unwrap()
}

/// Every input of the malformed-input attack.
fn build_inputs(rng: &mut Rng) -> Vec<Input> {
    let malformed = load_vectors("malformed.json");
    let frames = load_vectors("frames.json");
    assert!(malformed.len() > 300 && frames.len() > 100, "vectors found");
    let mut inputs = Vec::new();

    for mode in [Mode::First, Mode::Ready] {
        for v in &malformed {
            let label = format!("malformed.json {} ({mode:?})", v.name);
            if v.incomplete {
                // spec: FRAMING-6 — the server waits; our end of stream ends it.
                let input = push_input(&mut inputs, label, mode, &v.bytes, false, None);
                assert_eq!(input.expect, Expect::Closed, "{}", input.label);
            } else {
                let input = push_input(&mut inputs, label, mode, &v.bytes, true, None);
                // The independent vectors and the model agree (vectors written
                // for max_frame 4096 are judged by the model alone: this
                // server has the default max_frame).
                // The vectors are a decoder's: where the server judges a
                // frame by its type alone, a body error is not seen
                // (`[STATE-6]`), nor is the length of a first `16 03`.
                let state = match mode {
                    Mode::First => ModelState::AwaitHello,
                    Mode::Ready => ModelState::Ready,
                };
                let header_error = matches!(v.error, Some(ErrorCode::FRAME_TOO_LARGE))
                    || (0x20..=0x7E).contains(&v.bytes[0]);
                let unseen = (!header_error && !parses(state, v.bytes[0]))
                    || (mode == Mode::First && v.bytes.starts_with(&[0x16, 0x03]));
                if v.max_frame == DEFAULT_MAX_FRAME && !unseen {
                    let code = v.error.unwrap();
                    assert!(
                        matches!(input.expect, Expect::Fatal(c, _) if c == code),
                        "{}: vector says {code:?}, model {:?}",
                        input.label,
                        input.expect
                    );
                }
            }
        }
        for v in &frames {
            let label = format!("frames.json {} ({mode:?})", v.name);
            let also = match mode {
                Mode::Ready => ready_also(&v.bytes),
                Mode::First => None,
            };
            let input = push_input(&mut inputs, label, mode, &v.bytes, true, also);
            assert_ne!(input.expect, Expect::Defined, "{}", input.label);
        }
    }

    // Random byte strings.
    for i in 0..1_000 {
        let mode = if i % 2 == 0 { Mode::First } else { Mode::Ready };
        let len = 1 + rng.below(48);
        let payload = rng.bytes(len);
        push_input(
            &mut inputs,
            format!("random #{i} ({mode:?})"),
            mode,
            &payload,
            true,
            None,
        );
    }

    // Random frames of real types: a plausible header over a random body.
    let types: Vec<u8> = (0x01..=0x04)
        .chain(0x10..=0x18)
        .chain(0x80..=0x8E)
        .chain([0x00, 0x05, 0x1F, 0x7F, 0xA0, 0xFF])
        .collect();
    for i in 0..1_000 {
        let mode = if i % 2 == 0 { Mode::First } else { Mode::Ready };
        let frame_type = types[rng.below(types.len())];
        let body_len = rng.below(40);
        let body = rng.bytes(body_len);
        let declared = match rng.below(6) {
            0 => body.len() as u32 + 1 + rng.below(3) as u32,
            1 => (body.len() as u32).saturating_sub(1 + rng.below(3) as u32),
            _ => body.len() as u32,
        };
        let mut payload = Vec::new();
        if mode == Mode::First && rng.below(2) == 0 {
            payload.extend(hello_bytes(rng.below(2) as u8));
        }
        payload.push(frame_type);
        payload.extend(declared.to_be_bytes());
        payload.extend(body);
        push_input(
            &mut inputs,
            format!("random frame #{i} type {frame_type:#04x} ({mode:?})"),
            mode,
            &payload,
            true,
            None,
        );
    }

    // Mutated valid frames.
    let small: Vec<&Vector> = frames.iter().filter(|v| v.bytes.len() <= 4_096).collect();
    for i in 0..2_000 {
        let mode = if i % 2 == 0 { Mode::First } else { Mode::Ready };
        let original = small[rng.below(small.len())];
        let mut bytes = original.bytes.clone();
        let mut what = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bytes.len().max(1));
            match rng.below(6) {
                0 => {
                    bytes[at] ^= 1 << rng.below(8);
                    what.push(format!("flip@{at}"));
                }
                1 => {
                    bytes[at] = rng.byte();
                    what.push(format!("set@{at}"));
                }
                2 => {
                    bytes[at] = [0x00, 0x7F, 0x80, 0xC0, 0xED, 0xFF][rng.below(6)];
                    what.push(format!("edge@{at}"));
                }
                3 if bytes.len() > 1 => {
                    bytes.truncate(at.max(1));
                    what.push(format!("cut@{at}"));
                }
                4 => {
                    let b = rng.byte();
                    bytes.insert(at, b);
                    what.push(format!("insert@{at}"));
                }
                _ => {
                    let extra_len = 1 + rng.below(4);
                    let extra = rng.bytes(extra_len);
                    bytes.extend(extra);
                    what.push("append".into());
                }
            }
        }
        // Usually keep the header's length honest, so the body parsers see it.
        if bytes.len() >= 5 && rng.below(3) != 0 {
            let len = (bytes.len() - 5) as u32;
            bytes[1..5].copy_from_slice(&len.to_be_bytes());
            what.push("fixlen".into());
        }
        let mut payload = Vec::new();
        if mode == Mode::First && rng.below(2) == 0 {
            payload.extend(hello_bytes(1));
        }
        payload.extend(bytes);
        push_input(
            &mut inputs,
            format!(
                "mutated #{i} {} [{}] ({mode:?})",
                original.name,
                what.join(",")
            ),
            mode,
            &payload,
            true,
            None,
        );
    }
    inputs
}

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
            Some(Dir::ServerToClient) | Some(Dir::Both) => {}
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
        let _ = conn.half_close().await;
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
        let permit = Arc::clone(&permits).acquire_owned().await.unwrap();
        let inputs = Arc::clone(inputs);
        tasks.spawn(async move {
            let result = run_input(addr, &inputs[index]).await;
            drop(permit);
            (index, result)
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
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

// ---------------------------------------------------------------------------
// 2. Slowloris
// ---------------------------------------------------------------------------

/// How a slowloris connection behaves after the GREETING.
#[derive(Debug, Clone, Copy)]
enum Sloth {
    Silent,
    /// HELLO, one byte at a time.
    DribbleHello,
    /// HELLO at once, then LOGIN one byte at a time.
    DribbleLogin,
}

const DRIBBLE: Duration = Duration::from_millis(150);

/// Connects, reports admission, then dawdles until the server closes.
/// Returns the frames after the GREETING, how the stream ended and how long
/// the server kept the connection.
async fn slowloris(
    addr: SocketAddr,
    kind: Sloth,
    admitted: mpsc::Sender<()>,
) -> (Vec<Frame>, Ending, Duration) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let accepted = Instant::now();
    let (read_half, mut write_half) = stream.into_split();
    let mut frames = FramedRead::new(read_half, FrameCodec::new(1 << 20));
    match tokio::time::timeout(PATIENCE, frames.next()).await {
        Ok(Some(Ok(Frame::Greeting(_)))) => {}
        other => panic!("slowloris {kind:?}: expected GREETING, got {other:?}"),
    }
    match tokio::time::timeout(PATIENCE, frames.next()).await {
        Ok(Some(Ok(Frame::ServerLimits(_)))) => {}
        other => panic!("slowloris {kind:?}: expected LIMITS (LIMITS-1), got {other:?}"),
    }
    admitted.send(()).await.unwrap();
    let login = Frame::Login(Login::guest(Str8::new("sloth").unwrap()))
        .to_bytes()
        .to_vec();
    let script = match kind {
        Sloth::Silent => Vec::new(),
        Sloth::DribbleHello => hello_bytes(0),
        Sloth::DribbleLogin => {
            let _ = write_half.write_all(&hello_bytes(0)).await;
            login
        }
    };
    let mut pace = tokio::time::interval(DRIBBLE);
    let mut sent = 0;
    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    let ending = loop {
        tokio::select! {
            next = frames.next() => match next {
                Some(Ok(frame)) => received.push(frame),
                Some(Err(e)) => break Ending::Broken(e.to_string()),
                None => break Ending::Eof,
            },
            _ = pace.tick(), if sent < script.len() => {
                let _ = write_half.write_all(&script[sent..sent + 1]).await;
                sent += 1;
            }
            _ = tokio::time::sleep_until(deadline) => break Ending::Open,
        }
    };
    (received, ending, accepted.elapsed())
}

/// A newcomer past a limit: the fatal ERROR `code` instead of GREETING, then EOF.
async fn refused(addr: SocketAddr, local: Option<IpAddr>, code: ErrorCode) {
    let mut conn = match local {
        Some(ip) => Client::connect_from(addr, ip).await,
        None => Client::connect_raw(addr).await,
    };
    let (frames, ending) = conn.read_to_end_within(PATIENCE).await;
    // spec: LIMIT-1 — an ERROR, never a silent close.
    assert_fatal_end("newcomer", &frames, &ending, code);
    let Some(Frame::ErrorFrame(error)) = frames.first() else {
        unreachable!()
    };
    assert_eq!((error.frame_type, error.client_ref), (0, 0), "{error:?}");
}

#[test]
fn slowloris_connections_are_dropped_and_the_login_queue_stays_open() {
    // spec: SEC-7, HANDSHAKE-8, LIMIT-1, HANDSHAKE-1
    attack(|| async {
        const SLOTS: usize = 50;
        let server = TestServer::start(Config {
            handshake_timeout_ms: 1_000,
            max_unauthenticated: SLOTS,
            ..fast_config()
        })
        .await;
        let addr = server.addr;
        // Logged in: they do not count against --max-unauthenticated.
        let witnesses = Witnesses::start(addr, BRISK_PACE).await;
        let baseline = rss_bytes();
        let (mut shortest, mut longest) = (Duration::MAX, Duration::ZERO);
        for wave in 0..3 {
            let (admitted_tx, mut admitted) = mpsc::channel(SLOTS);
            let mut sloths = JoinSet::new();
            for i in 0..SLOTS {
                let kind = [Sloth::Silent, Sloth::DribbleHello, Sloth::DribbleLogin][i % 3];
                let tx = admitted_tx.clone();
                sloths.spawn(async move { (kind, slowloris(addr, kind, tx).await) });
            }
            for _ in 0..SLOTS {
                tokio::time::timeout(PATIENCE, admitted.recv())
                    .await
                    .expect("every slowloris connection is admitted")
                    .unwrap();
            }
            // Every slot is held: newcomers are refused, honest ones too.
            let mut newcomers = JoinSet::new();
            for _ in 0..SLOTS {
                newcomers.spawn(refused(addr, None, ErrorCode::SERVER_FULL));
            }
            while let Some(done) = newcomers.join_next().await {
                done.expect("a refused newcomer got an ERROR SERVER_FULL");
            }
            // The handshake timeout drops every slowloris connection.
            while let Some(done) = sloths.join_next().await {
                let (kind, (frames, ending, held)) = done.unwrap();
                let who = format!("wave {wave}: slowloris {kind:?}");
                assert_fatal_end(&who, &frames, &ending, ErrorCode::HANDSHAKE_TIMEOUT);
                assert!(
                    held >= Duration::from_millis(900) && held < Duration::from_millis(3_000),
                    "{who}: held {held:?} with a 1 s handshake timeout"
                );
                shortest = shortest.min(held);
                longest = longest.max(held);
            }
            // Slots free up: an honest client gets in and logs in at once.
            let (mut honest, attempts) = connect_when_admitted(addr, None).await;
            let name = unique_name("honest");
            honest.hello_flags(Hello::NO_AUTO_JOIN).await;
            honest
                .send(Frame::Login(Login::guest(Str8::new(&name).unwrap())))
                .await;
            match honest.recv_skipping_presence().await {
                Frame::Welcome(_) => {}
                other => panic!("wave {wave}: honest client got {other:?}"),
            }
            eprintln!("slowloris wave {wave}: honest client admitted after {attempts} attempt(s)");
        }
        eprintln!("slowloris: connections held {shortest:?} to {longest:?}");
        witnesses.finish("slowloris", DURING_ATTACK).await;
        health_check(addr, "slowloris", baseline).await;
        server.finish().await;
    });
}

// ---------------------------------------------------------------------------
// 3. Half-open connections
// ---------------------------------------------------------------------------

#[test]
fn half_open_connections_are_closed_by_keepalive() {
    // spec: KEEPALIVE-2, SEC-7
    attack(|| async {
        let server = TestServer::start(Config {
            ping_interval_ms: 1_000,
            ping_timeout_ms: 1_000,
            ..fast_config()
        })
        .await;
        let addr = server.addr;
        let witnesses = Witnesses::start(addr, BRISK_PACE).await;
        let baseline = rss_bytes();

        // Logged in (READY), or past HELLO only (AWAIT_LOGIN), then silent:
        // they never write again and never answer the PING. Reading is
        // invisible to the server, so the test reads what it is sent.
        let mut silent = JoinSet::new();
        for i in 0..120 {
            silent.spawn(async move {
                let mut conn = Client::connect_raw(addr).await;
                let ready = i % 4 != 0;
                if ready {
                    conn.greet_and_login(&format!("halfopen{i}"), Hello::NO_AUTO_JOIN)
                        .await;
                } else {
                    assert!(matches!(conn.recv().await, Frame::Greeting(_)));
                    conn.hello().await;
                }
                let went_silent = Instant::now();
                let (frames, ending) = conn.read_to_end_within(PATIENCE).await;
                (ready, frames, ending, went_silent.elapsed())
            });
        }
        let mut longest = Duration::ZERO;
        while let Some(done) = silent.join_next().await {
            let (ready, frames, ending, silence) = done.unwrap();
            let who = format!(
                "half-open ({})",
                if ready { "READY" } else { "AWAIT_LOGIN" }
            );
            assert!(
                matches!(frames.first(), Some(Frame::Ping(_))),
                "{who}: the server pings first: {frames:?}"
            );
            assert_fatal_end(&who, &frames, &ending, ErrorCode::IDLE_TIMEOUT);
            // ping_interval_ms + ping_timeout_ms, with room for a busy machine.
            assert!(
                silence >= Duration::from_millis(1_900) && silence < Duration::from_millis(4_000),
                "{who}: closed after {silence:?} of silence"
            );
            longest = longest.max(silence);
        }
        eprintln!(
            "half-open: 120 connections closed with IDLE_TIMEOUT, the last after {longest:?}"
        );
        witnesses.finish("half-open", DURING_ATTACK).await;
        health_check(addr, "half-open", baseline).await;
        server.finish().await;
    });
}

// ---------------------------------------------------------------------------
// 4. Clients that never read
// ---------------------------------------------------------------------------

#[test]
fn clients_that_never_read_are_cut_off_as_slow_consumers() {
    // spec: FLOW-3, LIMIT-2, CLOSE-3
    attack(|| async {
        const BODY: usize = 32_000;
        let server = TestServer::start(Config {
            queue_depth: 16,
            history_max: 8,
            max_body: BODY as u16,
            max_frame: 1 << 17,
            ..fast_config()
        })
        .await;
        let addr = server.addr;
        let witnesses = Witnesses::start(addr, BRISK_PACE).await;
        let baseline = rss_bytes();
        let room = "sloths";

        // Three clients join the room, then never read again (small receive
        // buffers so their sockets fill sooner).
        let mut sloths = Vec::new();
        for i in 0..3 {
            let mut sloth = Client::connect_small_buffer(addr, 4096).await;
            sloth
                .greet_and_login(&format!("sloth{i}"), Hello::NO_AUTO_JOIN)
                .await;
            sloth.enter(room, 0, 0).await;
            sloths.push(sloth);
        }
        let mut talker = Client::login_flags(addr, "talker", Hello::NO_AUTO_JOIN).await;
        talker.enter(room, 0, 0).await;

        // The talker sends big messages; each ACK must come promptly. The
        // sloths are cut off one by one (PRESENCE disconnected, CLOSE-3).
        let big = "z".repeat(BODY);
        let mut cut = 0;
        let mut slowest_ack = Duration::ZERO;
        let mut sent = 0;
        while cut < sloths.len() {
            assert!(
                sent < 3_000,
                "only {cut} sloths cut off after {sent} messages"
            );
            let started = Instant::now();
            let client_ref = talker.say(room, &big).await;
            sent += 1;
            loop {
                match talker.recv().await {
                    Frame::Ack(ack) if ack.client_ref == client_ref => break,
                    Frame::Presence(p)
                        if p.event == confab_protocol::frame::PresenceEvent::Disconnected =>
                    {
                        assert!(p.username.starts_with("sloth"), "{p:?}");
                        cut += 1;
                    }
                    Frame::Ping(ping) => {
                        talker
                            .send(Frame::Pong(confab_protocol::frame::Pong {
                                nonce: ping.nonce,
                            }))
                            .await
                    }
                    other => panic!("talker: unexpected {other:?}"),
                }
            }
            slowest_ack = slowest_ack.max(started.elapsed());
        }
        eprintln!("slow consumers: 3 cut off after {sent} messages of {BODY} bytes; slowest ACK {slowest_ack:?}");
        assert!(
            slowest_ack < Duration::from_secs(2),
            "the talker waited {slowest_ack:?} for an ACK"
        );

        // Only now do the sloths read: whole frames, the last ERROR
        // SLOW_CONSUMER, then the end of the stream.
        for (i, mut sloth) in sloths.into_iter().enumerate() {
            let (frames, ending) = sloth.read_to_end_within(PATIENCE).await;
            assert_eq!(ending, Ending::Eof, "sloth{i}: {ending:?}");
            let (last, before) = frames.split_last().expect("the sloth got frames");
            for frame in before {
                assert!(
                    matches!(frame, Frame::Message(_) | Frame::Presence(_)),
                    "sloth{i}: unexpected {frame:?}"
                );
            }
            match last {
                Frame::ErrorFrame(e) => {
                    assert_eq!(e.code, ErrorCode::SLOW_CONSUMER, "sloth{i}");
                    assert!(e.is_fatal());
                    assert_eq!(e.frame_type, 0);
                }
                other => panic!("sloth{i}: the last frame is {}", other.name()),
            }
        }
        drop(talker);
        witnesses.finish("slow consumers", DURING_ATTACK).await;
        health_check(addr, "slow consumers", baseline).await;
        server.finish().await;
    });
}

// ---------------------------------------------------------------------------
// 5. Floods
// ---------------------------------------------------------------------------

fn send_bytes(room: &str, client_ref: u32) -> Vec<u8> {
    Frame::Send(Send {
        client_ref,
        room: Str8::new(room).unwrap(),
        body: Str16::new(&format!("flood {client_ref}")).unwrap(),
    })
    .to_bytes()
    .to_vec()
}

/// Checks a flooder's answers: for SEND 1, 2, ... in order an ACK or a
/// non-fatal RATE_LIMITED carrying its client_ref, then FLOODING naming the
/// SEND that caused it, then the end. Returns (accepted, limited).
fn check_flood_answers(name: &str, frames: &[Frame], ending: &Ending, sent: u32) -> (u32, u32) {
    assert_eq!(*ending, Ending::Eof, "{name}");
    let (last, answers) = frames.split_last().expect("answers");
    let (mut accepted, mut limited) = (0, 0);
    for (i, answer) in answers.iter().enumerate() {
        let client_ref = i as u32 + 1;
        match answer {
            Frame::Ack(ack) if ack.client_ref == client_ref => accepted += 1,
            // spec: FLOW-1 — refused, never silently dropped.
            Frame::ErrorFrame(e)
                if e.code == ErrorCode::RATE_LIMITED
                    && e.client_ref == client_ref
                    && e.frame_type == code::SEND
                    && !e.is_fatal() =>
            {
                limited += 1
            }
            other => panic!("{name}: answer to SEND {client_ref}: {other:?}"),
        }
    }
    match last {
        // spec: FLOW-2
        Frame::ErrorFrame(e) => {
            assert_eq!(e.code, ErrorCode::FLOODING, "{name}: {e:?}");
            assert!(e.is_fatal());
            assert_eq!(
                (e.frame_type, e.client_ref),
                (code::SEND, answers.len() as u32 + 1),
                "{name}: FLOODING names the SEND that caused it"
            );
        }
        other => panic!("{name}: expected FLOODING last, got {other:?}"),
    }
    // spec: ERROR-3
    assert!(
        answers.len() < sent as usize,
        "{name}: nothing after FLOODING is processed"
    );
    (accepted, limited)
}

/// Floods `room` with 400 SENDs in one write; returns (accepted, limited).
async fn flood(addr: SocketAddr, name: String, room: String) -> (u32, u32) {
    const COUNT: u32 = 400;
    let mut flooder = Client::login_flags(addr, &name, Hello::NO_AUTO_JOIN).await;
    flooder.enter(&room, 0, 0).await;
    let bytes: Vec<u8> = (1..=COUNT).flat_map(|r| send_bytes(&room, r)).collect();
    flooder.write_raw(&bytes).await;
    let (frames, ending) = flooder.read_to_end_within(PATIENCE).await;
    check_flood_answers(&name, &frames, &ending, COUNT)
}

/// Keeps sending one SEND every `every` (faster than msg_rate) until the
/// server cuts it off; returns (accepted, limited, how long it lasted, how
/// many refusals arrived in the second before FLOODING).
async fn paced_flood(
    addr: SocketAddr,
    name: &str,
    room: &str,
    every: Duration,
) -> (u32, u32, Duration, usize) {
    const MAX: u32 = 2_000;
    let mut flooder = Client::login_flags(addr, name, Hello::NO_AUTO_JOIN).await;
    flooder.enter(room, 0, 0).await;
    let parts = flooder.framed.into_parts();
    assert!(parts.read_buf.is_empty(), "nothing pending after JOIN");
    let (read_half, mut write_half) = parts.io.into_split();
    let mut answers = FramedRead::new(read_half, FrameCodec::new(1 << 20));
    let started = Instant::now();
    let mut pace = tokio::time::interval(every);
    let mut sent = 0;
    let mut frames = Vec::new();
    let mut arrivals = Vec::new();
    let deadline = started + PATIENCE;
    let ending = loop {
        tokio::select! {
            next = answers.next() => match next {
                Some(Ok(frame)) => {
                    frames.push(frame);
                    arrivals.push(Instant::now());
                }
                Some(Err(e)) => break Ending::Broken(e.to_string()),
                None => break Ending::Eof,
            },
            _ = pace.tick(), if sent < MAX => {
                sent += 1;
                // The server closes at FLOODING; later writes may fail.
                let _ = write_half.write_all(&send_bytes(room, sent)).await;
            }
            _ = tokio::time::sleep_until(deadline) => break Ending::Open,
        }
    };
    let lasted = started.elapsed();
    let (accepted, limited) = check_flood_answers(name, &frames, &ending, sent);
    // Refusals that arrived within the second before FLOODING (a little
    // more, for the trip from the server).
    let cut_at = *arrivals.last().unwrap();
    let recent = frames
        .iter()
        .zip(&arrivals)
        .filter(|(f, at)| {
            matches!(f, Frame::ErrorFrame(e) if e.code == ErrorCode::RATE_LIMITED)
                && cut_at.duration_since(**at) <= Duration::from_millis(1_100)
        })
        .count();
    (accepted, limited, lasted, recent)
}

#[test]
fn a_flood_is_rate_limited_then_disconnected_and_nobody_else_notices() {
    // spec: FLOW-1, FLOW-2, FLOW-4, ERROR-3
    attack(|| async {
        let defaults = Config::default();
        // Per connection: the share of the address all these flooders come
        // from (FLOW-5) is tested on its own.
        let server = TestServer::start(Config {
            per_ip_share: 0,
            ..Config::default()
        })
        .await;
        let addr = server.addr;
        let witnesses = Witnesses::start(addr, POLITE_PACE).await;
        let baseline = rss_bytes();

        // One flooder, observed exactly.
        let (accepted, limited) = flood(addr, "flooder".into(), "flood-room".into()).await;
        eprintln!("flood: {accepted} accepted, {limited} rate limited, then FLOODING");
        // Its JOIN took one token of the burst (FLOW-5).
        let burst = defaults.msg_burst;
        assert!(
            (burst - 1..=burst + 5).contains(&accepted),
            "{accepted} accepted with msg_burst {burst}"
        );
        assert_eq!(
            limited, burst,
            "FLOODING on the rejection after msg_burst rejections"
        );

        // A sustained flood, 100 messages a second against msg_rate 20:
        // the bucket empties, then msg_burst refusals within a second end it.
        let (accepted, limited, lasted, recent) =
            paced_flood(addr, "steady", "steady-room", Duration::from_millis(10)).await;
        eprintln!(
            "flood: sustained: {accepted} accepted, {limited} rate limited \
             ({recent} in the last second), FLOODING after {lasted:?}"
        );
        assert!(accepted >= burst, "{accepted} accepted");
        // FLOW-2 allows the cut only after more than msg_burst refusals
        // within one second; the server counts in fixed one-second windows,
        // so up to about twice that many may come first.
        assert!(
            recent >= burst as usize,
            "cut off after only {recent} refusals in a second"
        );
        assert!(limited <= 3 * burst, "{limited} refusals before FLOODING");
        assert!(
            lasted < Duration::from_secs(4),
            "the flood lasted {lasted:?}"
        );

        // Then several bursts at once, each in its own room.
        let mut floods = JoinSet::new();
        for i in 0..6 {
            floods.spawn(flood(
                addr,
                format!("flooder{i}"),
                format!("flood-room-{i}"),
            ));
        }
        while let Some(done) = floods.join_next().await {
            let (accepted, limited) = done.unwrap();
            assert!(
                accepted >= burst - 1 && limited == burst,
                "{accepted} / {limited}"
            );
        }
        witnesses.finish("flood", DURING_ATTACK).await;
        health_check(addr, "flood", baseline).await;
        server.finish().await;
    });
}

// ---------------------------------------------------------------------------
// 6. Connection exhaustion
// ---------------------------------------------------------------------------

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
            while let Some(done) = newcomers.join_next().await {
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
        while let Some(done) = newcomers.join_next().await {
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
