//! A fixed number of MESSAGE decodes (the frame of `codec.rs`'s
//! `message_100/decode`) whose instructions can be counted: the count does
//! not depend on what else the machine runs, unlike criterion's wall-clock
//! times on a shared machine.
//!
//! ```sh
//! cargo bench -p confab-protocol --bench decode_loop --no-run
//! valgrind --tool=cachegrind --cache-sim=no target/release/deps/decode_loop-HASH 0  # refills only
//! valgrind --tool=cachegrind --cache-sim=no target/release/deps/decode_loop-HASH    # and decodes
//! ```
//!
//! The difference between the two instruction counts (`I refs`), divided
//! by the decodes the second run prints, is the cost of one decode.

use std::hint::black_box;

use bytes::BytesMut;
use confab_protocol::frame::{self, Message};
use confab_protocol::{Frame, Str16, Str8};

const MAX_FRAME: u32 = 16 * 1024 * 1024;
/// Frames per refill of the read buffer, as in `codec.rs`.
const PASS: usize = 4096;
const PASSES: usize = 250;
/// The 100-byte body of `codec.rs`.
const BODY: &str = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. See you at 10!";

fn main() {
    // Any argument other than "0" (or none) means: decode as well.
    let decode = std::env::args().nth(1).is_none_or(|arg| arg != "0");
    let wire = Frame::Message(Message {
        id: 42,
        seq: 42,
        time: 1_795_874_587_250,
        flags: 0,
        room: Str8::new("lobby").unwrap(),
        sender: Str8::new("alice").unwrap(),
        body: Str16::new(BODY).unwrap(),
    })
    .to_bytes();
    let mut stream = BytesMut::with_capacity(wire.len() * PASS);
    let mut decoded = 0usize;
    for _ in 0..PASSES {
        stream.clear();
        for _ in 0..PASS {
            stream.extend_from_slice(&wire);
        }
        if decode {
            for _ in 0..PASS {
                let frame = frame::decode(black_box(&mut stream), MAX_FRAME);
                black_box(frame.unwrap().unwrap());
                decoded += 1;
            }
        }
        black_box(&mut stream);
    }
    println!("{decoded} decodes");
}
