//! Property: frames written back to back and delivered in arbitrary pieces
//! (1-byte reads, random sizes, random cut points) come out of the decoder
//! exactly once, in order, each as soon as its last byte has arrived — via
//! `frame::decode`, via `FrameCodec` as a `tokio_util` `Decoder`, and via a
//! `FramedRead` over a reader that returns the same pieces.

mod strategies;

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use confab_protocol::frame::{self, MAX_FRAME_BOUNDS};
use confab_protocol::{CodecError, Frame, FrameCodec};
use futures_util::StreamExt;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use strategies as s;
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::codec::{Decoder, FramedRead};

/// Large enough for every generated frame (the largest is a list of 65,535
/// tiny entries, well under 1 MiB).
const MAX_FRAME: u32 = MAX_FRAME_BOUNDS.1;

/// How the byte stream is cut into reads.
#[derive(Debug, Clone)]
enum Chunking {
    /// One byte per read.
    Ones,
    /// Read sizes taken cyclically from the list.
    Sizes(Vec<usize>),
    /// Reads end at these positions (any position, duplicates give empty reads).
    Cuts(Vec<Index>),
    /// Everything in one read.
    Whole,
}

fn chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        2 => Just(Chunking::Ones),
        3 => vec(1usize..=7, 1..12).prop_map(Chunking::Sizes),
        1 => vec(1usize..=5000, 1..6).prop_map(Chunking::Sizes),
        3 => vec(any::<Index>(), 0..24).prop_map(Chunking::Cuts),
        1 => Just(Chunking::Whole),
    ]
}

/// The reads that deliver `total` bytes under `chunking`.
fn reads(total: usize, chunking: &Chunking) -> Vec<Range<usize>> {
    match chunking {
        Chunking::Ones => (0..total).map(|i| i..i + 1).collect(),
        Chunking::Whole => std::iter::once(0..total).collect(),
        Chunking::Sizes(sizes) => {
            let mut out = Vec::new();
            let mut at = 0;
            for size in sizes.iter().cycle() {
                if at >= total {
                    break;
                }
                let end = (at + size).min(total);
                out.push(at..end);
                at = end;
            }
            out
        }
        Chunking::Cuts(cuts) => {
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(total + 1)).collect();
            points.push(total);
            points.sort_unstable();
            let mut out = Vec::new();
            let mut at = 0;
            for point in points {
                out.push(at..point);
                at = point;
            }
            out
        }
    }
}

/// The frames back to back, and the offset at which each one ends.
fn encode_all(frames: &[Frame]) -> (Vec<u8>, Vec<usize>) {
    let mut wire = BytesMut::new();
    let mut ends = Vec::with_capacity(frames.len());
    for frame in frames {
        frame.encode(&mut wire);
        ends.push(wire.len());
    }
    (wire.to_vec(), ends)
}

/// How many frames have all their bytes within the first `fed` bytes.
fn complete_by(ends: &[usize], fed: usize) -> usize {
    ends.iter().take_while(|end| **end <= fed).count()
}

fn names(frames: &[Frame]) -> Vec<&'static str> {
    frames.iter().map(Frame::name).collect()
}

/// Feeds the reads to `decode_one`, draining after every read, and checks
/// that each frame comes out as soon as it is complete. Returns the frames
/// and what is left in the buffer.
fn feed<E: std::fmt::Debug>(
    wire: &[u8],
    ends: &[usize],
    reads: &[Range<usize>],
    mut decode_one: impl FnMut(&mut BytesMut) -> Result<Option<Frame>, E>,
) -> Result<(Vec<Frame>, BytesMut), TestCaseError> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for read in reads {
        buf.extend_from_slice(&wire[read.clone()]);
        loop {
            match decode_one(&mut buf) {
                Ok(Some(frame)) => out.push(frame),
                Ok(None) => break,
                Err(e) => {
                    return Err(TestCaseError::fail(format!(
                        "decode error on a valid stream after {} frames: {e:?}",
                        out.len()
                    )))
                }
            }
        }
        prop_assert_eq!(
            out.len(),
            complete_by(ends, read.end),
            "after {} bytes",
            read.end
        );
        let last_end = out.len().checked_sub(1).map_or(0, |i| ends[i]);
        prop_assert_eq!(&buf[..], &wire[last_end..read.end]);
    }
    Ok((out, buf))
}

/// An `AsyncRead` that returns the given pieces one read at a time, then EOF.
struct PieceReader {
    data: Vec<u8>,
    pieces: VecDeque<Range<usize>>,
}

impl AsyncRead for PieceReader {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while let Some(piece) = this.pieces.front_mut() {
            if piece.start == piece.end {
                // An empty read would mean EOF: skip empty pieces.
                this.pieces.pop_front();
                continue;
            }
            let n = piece.len().min(buf.remaining());
            buf.put_slice(&this.data[piece.start..piece.start + n]);
            piece.start += n;
            if piece.start == piece.end {
                this.pieces.pop_front();
            }
            return Poll::Ready(Ok(()));
        }
        Poll::Ready(Ok(()))
    }
}

/// Everything a `FramedRead` yields over the pieces: frames, then at most
/// one error (the stream ends after an error).
fn framed_read(wire: &[u8], reads: &[Range<usize>]) -> (Vec<Frame>, Option<CodecError>) {
    let reader = PieceReader {
        data: wire.to_vec(),
        pieces: reads.iter().cloned().collect(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut framed = FramedRead::new(reader, FrameCodec::new(MAX_FRAME));
        let mut frames = Vec::new();
        while let Some(item) = framed.next().await {
            match item {
                Ok(frame) => frames.push(frame),
                Err(e) => return (frames, Some(e)),
            }
        }
        (frames, None)
    })
}

proptest! {
    #![proptest_config(s::config(64))]

    // Frames in, the same frames out, in order, however the bytes are split;
    // unknown frames are skipped by length without disturbing the next one.
    // spec: TRANSPORT-3, FRAMING-1, FRAMING-5, FRAMING-6
    #[test]
    fn split_stream_decodes_to_the_same_frames(
        frames in vec(s::any_frame(), 0..8),
        chunking in chunking(),
    ) {
        let (wire, ends) = encode_all(&frames);
        let reads = reads(wire.len(), &chunking);

        let (out, rest) = feed(&wire, &ends, &reads, |buf| frame::decode(buf, MAX_FRAME))?;
        prop_assert!(out == frames, "decode: {:?} != {:?}", names(&out), names(&frames));
        prop_assert!(rest.is_empty());

        let mut codec = FrameCodec::new(MAX_FRAME);
        let (out, mut rest) = feed(&wire, &ends, &reads, |buf| codec.decode(buf))?;
        prop_assert!(out == frames, "FrameCodec: {:?} != {:?}", names(&out), names(&frames));
        prop_assert!(matches!(codec.decode_eof(&mut rest), Ok(None)));

        let (out, error) = framed_read(&wire, &reads);
        prop_assert!(error.is_none(), "FramedRead error: {:?}", error);
        prop_assert!(out == frames, "FramedRead: {:?} != {:?}", names(&out), names(&frames));
    }

    // A stream that ends inside a frame yields every complete frame before
    // the cut; the partial one is kept while more may come, and is an error
    // only at end of stream (the connection closed mid-frame).
    // spec: FRAMING-6
    #[test]
    fn stream_cut_mid_frame_yields_the_complete_prefix(
        frames in vec(s::any_frame(), 1..6),
        cut in any::<Index>(),
        chunking in chunking(),
    ) {
        let (wire, ends) = encode_all(&frames);
        let cut = cut.index(wire.len() + 1);
        let wire = &wire[..cut];
        let reads = reads(wire.len(), &chunking);
        let whole = complete_by(&ends, cut);
        let last_end = whole.checked_sub(1).map_or(0, |i| ends[i]);

        let (out, rest) = feed(wire, &ends, &reads, |buf| frame::decode(buf, MAX_FRAME))?;
        prop_assert!(out[..] == frames[..whole]);
        prop_assert_eq!(&rest[..], &wire[last_end..]);

        let mut codec = FrameCodec::new(MAX_FRAME);
        let (out, mut rest) = feed(wire, &ends, &reads, |buf| codec.decode(buf))?;
        prop_assert!(out[..] == frames[..whole]);
        let at_eof = codec.decode_eof(&mut rest);
        if last_end == cut {
            prop_assert!(matches!(at_eof, Ok(None)), "clean end: {:?}", at_eof);
        } else {
            prop_assert!(matches!(at_eof, Err(CodecError::Io(_))), "partial frame at EOF: {:?}", at_eof);
        }

        let (out, error) = framed_read(wire, &reads);
        prop_assert!(out[..] == frames[..whole]);
        prop_assert_eq!(error.is_some(), last_end != cut, "FramedRead error: {:?}", error);
    }
}
