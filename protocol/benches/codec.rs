//! Codec throughput: one typical room MESSAGE (100-byte body), and a buffer of
//! 10,000 mixed frames such as a busy connection carries.
//!
//! Run with `cargo bench -p confab-protocol --bench codec`. The target is well
//! under 100 ns to decode the MESSAGE, with no heap allocation per frame
//! (`tests/alloc_per_frame.rs` checks the allocations). On a busy machine,
//! `decode_loop.rs` gives a MESSAGE decode's instruction count instead.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use confab_protocol::frame::{
    self, Ack, DirectMessage, HistoryEnd, HistoryKind, Joined, Message, Ping, Pong, Presence,
    PresenceEvent, SendMessage,
};
use confab_protocol::{Frame, Str16, Str8};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// The spec's largest `max_frame`, so no frame here is refused.
const MAX_FRAME: u32 = 16 * 1024 * 1024;
const MIXED_FRAMES: usize = 10_000;
/// MESSAGE frames decoded per timed pass of `message_100/decode`.
const PASS: u64 = 4096;

fn str8(text: &str) -> Str8 {
    Str8::new(text).unwrap()
}

/// A live room message as the server delivers it, its body 100 bytes of text.
fn message(id: u64) -> Frame {
    let body = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. See you at 10!";
    assert_eq!(body.len(), 100);
    Frame::Message(Message {
        id,
        seq: id,
        time: 1_795_874_587_250,
        flags: 0,
        room: str8("lobby"),
        sender: str8("alice"),
        body: Str16::new(body).unwrap(),
    })
}

/// What one connection sees in a busy room: mostly messages, with acks,
/// presence, keepalives, joins and the odd direct message.
fn mixed_frames() -> Vec<Frame> {
    (0..MIXED_FRAMES as u64)
        .map(|i| match i % 16 {
            0..=6 => message(i),
            7 => Frame::Ack(Ack {
                client_ref: i as u32,
                id: i,
                seq: i,
                time: 1_795_874_587_250,
            }),
            8 => Frame::Presence(Presence {
                event: PresenceEvent::Joined,
                room: str8("lobby"),
                username: str8("bob"),
                time: 1_795_874_587_250,
            }),
            9 => Frame::SendMessage(SendMessage {
                client_ref: i as u32,
                room: str8("lobby"),
                body: Str16::new("hi there, how is everyone doing today?").unwrap(),
            }),
            10 => Frame::Ping(Ping { nonce: i }),
            11 => Frame::Pong(Pong { nonce: i }),
            12 => Frame::Joined(Joined {
                room: str8("rust-beginners"),
                next_seq: i,
                members: 42,
            }),
            13 => Frame::HistoryEnd(HistoryEnd {
                kind: HistoryKind::Room,
                target: str8("rust-beginners"),
                count: 20,
                flags: HistoryEnd::MORE,
            }),
            14 => Frame::DirectMessage(DirectMessage {
                id: i,
                time: 1_795_874_587_250,
                flags: 0,
                from: str8("carol"),
                to: str8("alice"),
                body: Str16::new("lunch at noon?").unwrap(),
            }),
            _ => Frame::Presence(Presence {
                event: PresenceEvent::Disconnected,
                room: str8("lobby"),
                username: str8("dave"),
                time: 1_795_874_587_250,
            }),
        })
        .collect()
}

fn encode_all(frames: &[Frame]) -> BytesMut {
    let mut wire = BytesMut::with_capacity(frames.iter().map(Frame::encoded_len).sum());
    for frame in frames {
        frame.encode(&mut wire);
    }
    wire
}

fn bench_message(c: &mut Criterion) {
    let frame = message(42);
    let wire = frame.to_bytes();
    let mut group = c.benchmark_group("message_100");
    group.throughput(Throughput::Bytes(wire.len() as u64));

    // Decoding one frame out of a buffer that holds many, as a connection's
    // read buffer does: the buffer is refilled outside the timed part.
    let mut stream = BytesMut::with_capacity(wire.len() * PASS as usize);
    group.bench_function("decode", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(PASS);
                stream.clear();
                for _ in 0..n {
                    stream.extend_from_slice(&wire);
                }
                let start = Instant::now();
                for _ in 0..n {
                    let frame = frame::decode(black_box(&mut stream), MAX_FRAME);
                    black_box(frame.unwrap().unwrap());
                }
                elapsed += start.elapsed();
                left -= n;
            }
            elapsed
        })
    });

    // The same frame alone in a fresh buffer: adds `BytesMut`'s one-time
    // switch to a shared buffer on the first `split_to`.
    group.bench_function("decode_fresh_buffer", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| frame::decode(buf, MAX_FRAME).unwrap().unwrap(),
            BatchSize::SmallInput,
        )
    });

    let mut out = BytesMut::with_capacity(wire.len());
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&frame).encode(&mut out);
            black_box(&out);
        })
    });

    // A fresh shared buffer per frame, as the server does for fan-out.
    group.bench_function("to_bytes", |b| b.iter(|| black_box(&frame).to_bytes()));
    group.finish();
}

fn bench_mixed(c: &mut Criterion) {
    let frames = mixed_frames();
    let wire = encode_all(&frames);
    eprintln!(
        "mixed_10k: {} frames, {} bytes ({:.1} bytes/frame)",
        frames.len(),
        wire.len(),
        wire.len() as f64 / frames.len() as f64
    );
    let mut group = c.benchmark_group("mixed_10k");
    group.throughput(Throughput::Elements(frames.len() as u64));

    group.bench_function("decode", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| {
                let mut count = 0usize;
                while let Some(frame) = frame::decode(buf, MAX_FRAME).unwrap() {
                    black_box(frame);
                    count += 1;
                }
                assert_eq!(count, MIXED_FRAMES);
            },
            BatchSize::LargeInput,
        )
    });

    let mut out = BytesMut::with_capacity(wire.len());
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            for frame in black_box(&frames) {
                frame.encode(&mut out);
            }
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_message, bench_mixed);
criterion_main!(benches);
