//! Decoding allocates nothing per frame: bodies are sliced out of the shared
//! read buffer (zero-copy strings), so 10,000 frames cost a constant number of
//! allocations, not one or more each. Encoding into a buffer with room
//! allocates nothing at all.
//!
//! A counting global allocator records the allocations made on the test's own
//! thread while a flag is up; the other tests of this binary run on other
//! threads and are not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use confab_protocol::frame::{
    self, Ack, HistoryEnd, HistoryKind, Joined, Message, Ping, Presence, PresenceEvent, SendMessage,
};
use confab_protocol::{Frame, Str16, Str8};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    // Per thread, so tests running in parallel never count each other's allocations.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only reads a const-initialised thread-local, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations_in<T>(f: impl FnOnce() -> T) -> (usize, T) {
    COUNTING.with(|counting| counting.set(true));
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    let after = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|counting| counting.set(false));
    (after - before, value)
}

const FRAMES: usize = 10_000;
/// The read buffer turns into a shared one on the first split: one allocation
/// per buffer, whatever the number of frames. A little headroom on top.
const MAX_ALLOCATIONS: usize = 4;

fn s8(text: &str) -> Str8 {
    Str8::new(text).unwrap()
}

fn message(id: u64) -> Frame {
    Frame::Message(Message {
        id,
        seq: id,
        time: 1_795_874_587_250,
        flags: 0,
        room: s8("lobby"),
        sender: s8("alice"),
        body: Str16::new(&"x".repeat(100)).unwrap(),
    })
}

/// Every frame without a list (ROOM_LIST and WHO_LIST hold a `Vec` of entries
/// by design).
fn mixed(i: u64) -> Frame {
    match i % 8 {
        0..=2 => message(i),
        3 => Frame::Ack(Ack {
            client_ref: 1,
            id: i,
            seq: i,
            time: 0,
        }),
        4 => Frame::Presence(Presence {
            event: PresenceEvent::Left,
            room: s8("lobby"),
            username: s8("bob"),
            time: 0,
        }),
        5 => Frame::SendMessage(SendMessage {
            client_ref: 2,
            room: s8("lobby"),
            body: Str16::new("hello").unwrap(),
        }),
        6 => Frame::Joined(Joined {
            room: s8("lobby"),
            next_seq: i,
            members: 3,
        }),
        _ if i % 16 == 7 => Frame::Ping(Ping { nonce: i }),
        _ => Frame::HistoryEnd(HistoryEnd {
            kind: HistoryKind::Room,
            target: s8("lobby"),
            count: 0,
            flags: 0,
        }),
    }
}

fn wire_of(frames: &[Frame]) -> BytesMut {
    let mut wire = BytesMut::with_capacity(frames.iter().map(Frame::encoded_len).sum());
    for frame in frames {
        frame.encode(&mut wire);
    }
    wire
}

/// Decodes every frame of `wire`, dropping each as a server would after use.
fn decode_all(wire: &mut BytesMut) -> usize {
    let mut count = 0;
    while let Some(frame) = frame::decode(wire, 65_536).unwrap() {
        drop(frame);
        count += 1;
    }
    count
}

#[test]
fn the_counter_sees_allocations() {
    let (allocations, boxed) = allocations_in(|| Box::new(7u64));
    assert_eq!(allocations, 1);
    assert_eq!(*boxed, 7);
}

#[test]
fn decoding_10000_messages_allocates_a_constant_amount() {
    let frames: Vec<Frame> = (0..FRAMES as u64).map(message).collect();
    let mut wire = wire_of(&frames);
    let (allocations, count) = allocations_in(|| decode_all(&mut wire));
    assert_eq!(count, FRAMES);
    eprintln!("{allocations} allocations to decode {FRAMES} MESSAGE frames");
    assert!(
        allocations <= MAX_ALLOCATIONS,
        "{allocations} allocations to decode {FRAMES} MESSAGE frames"
    );
}

#[test]
fn decoding_10000_mixed_frames_allocates_a_constant_amount() {
    let frames: Vec<Frame> = (0..FRAMES as u64).map(mixed).collect();
    let mut wire = wire_of(&frames);
    let (allocations, count) = allocations_in(|| decode_all(&mut wire));
    assert_eq!(count, FRAMES);
    eprintln!("{allocations} allocations to decode {FRAMES} mixed frames");
    assert!(
        allocations <= MAX_ALLOCATIONS,
        "{allocations} allocations to decode {FRAMES} mixed frames"
    );
}

#[test]
fn kept_frames_share_the_read_buffer() {
    // A server keeps decoded frames around (queued, stored); they must still
    // not have copied their bodies.
    let frames: Vec<Frame> = (0..FRAMES as u64).map(mixed).collect();
    let mut wire = wire_of(&frames);
    let mut kept = Vec::with_capacity(FRAMES);
    let (allocations, ()) = allocations_in(|| {
        while let Some(frame) = frame::decode(&mut wire, 65_536).unwrap() {
            kept.push(frame);
        }
    });
    assert_eq!(kept, frames);
    assert!(
        allocations <= MAX_ALLOCATIONS,
        "{allocations} allocations to decode and keep {FRAMES} frames"
    );
}

#[test]
fn encoding_into_a_buffer_with_room_allocates_nothing() {
    let frames: Vec<Frame> = (0..FRAMES as u64).map(mixed).collect();
    let mut out = BytesMut::with_capacity(frames.iter().map(Frame::encoded_len).sum());
    let (allocations, ()) = allocations_in(|| {
        for frame in &frames {
            frame.encode(&mut out);
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(out, wire_of(&frames));
}
