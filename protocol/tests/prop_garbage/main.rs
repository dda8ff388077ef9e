//! Property: the decoder survives anything. Arbitrary bytes, loosely framed
//! bytes and mutated valid frames (flipped or overwritten bytes, truncations,
//! insertions, changed length fields and type bytes), with any `max_frame`
//! in 4096..=1 MiB, end in frames, in `Ok(None)` (waiting for more), or in a
//! typed `DecodeError` of the registry (spec section 15) — never a panic —
//! and the buffer never grows past one header plus `max_frame` beyond the
//! input. Each step is checked against an independent model of the header
//! rules (spec section 4).

#[path = "../strategies/mod.rs"]
mod strategies;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{BufMut, BytesMut};
use confab_protocol::frame::{self, RoomEntry, HEADER_LEN};
use confab_protocol::{DecodeError, ErrorCode, Frame, Malformation, Str8};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use strategies as s;

mod corruptions;
mod model;
mod mutations;
mod reservations;

use model::*;

/// The only codes a decoder may fail with.
const ALLOWED: [ErrorCode; 4] = [
    ErrorCode::MALFORMED_FRAME,
    ErrorCode::FRAME_TOO_LARGE,
    ErrorCode::INVALID_UTF8,
    ErrorCode::NOT_CONFAB,
];

const HELLO: u8 = 0x10;
const GREETING: u8 = 0x80;
const ROOM_LIST: u8 = 0x88;
const WHO_LIST: u8 = 0x89;

// ------------------------------------------------- allocation measurement

/// Records the largest single allocation made by the current thread, so a
/// test can see how much the decoder reserves (`[SEC-1]`).
struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|largest| {
        if size > largest.get() {
            largest.set(size);
        }
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Runs `f` and returns its result with the largest allocation it made.
fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|largest| largest.set(0));
    let result = f();
    (result, LARGEST.with(Cell::get))
}

/// Frames a header around `body`.
fn framed(frame_type: u8, body: &[u8]) -> BytesMut {
    let mut wire = BytesMut::new();
    wire.put_u8(frame_type);
    wire.put_u32(body.len() as u32);
    wire.extend_from_slice(body);
    wire
}
