//! `str8` and `str16` (spec section 3): validated UTF-8 text with a length
//! prefix, short text inline and long text sharing its frame's buffer.

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use nom::combinator::map_res;
use nom::Parser;

use super::{field, take_bytes, BodyError, PResult, WireField};
use crate::error::LengthError;

/// Validated UTF-8 text of at most `MAX` bytes. The prefix is a `u8` when
/// `MAX` fits one byte and a `u16` otherwise, which gives the spec's `str8`
/// and `str16`.
///
/// Text of up to 23 bytes (names, rooms) is kept inline; longer text shares
/// the buffer it was decoded from.
#[derive(Clone)]
pub struct Text<const MAX: usize>(Repr);

/// The most bytes kept inline. With the length byte that makes 24 bytes,
/// which fit beside the tag in a `ByteString`'s room: `Text` stays 32 bytes.
const INLINE: usize = 23;

#[derive(Clone)]
enum Repr {
    /// UTF-8 text, zero padding, and the text's length in the last byte.
    Inline([u8; INLINE + 1]),
    /// More than `INLINE` bytes.
    Shared(ByteString),
}

fn inline_text(buf: &[u8; INLINE + 1]) -> &[u8] {
    // The length byte never exceeds `INLINE`; `min` spares the bounds check.
    &buf[..usize::from(buf[INLINE]).min(INLINE)]
}

/// `str8`: a `u8` length and up to 255 bytes of UTF-8.
pub type Str8 = Text<255>;
/// `str16`: a `u16` length and up to 65,535 bytes of UTF-8.
pub type Str16 = Text<65535>;

impl<const MAX: usize> Text<MAX> {
    const PREFIX: usize = if MAX <= u8::MAX as usize { 1 } else { 2 };

    /// Text that fits the field, or the length that does not.
    pub fn new(text: &str) -> Result<Self, LengthError> {
        Self::check_len(text.len())?;
        Ok(Self::from_fitting(text))
    }

    /// Like [`Text::new`], cutting at the last character boundary that fits.
    pub fn truncated(text: &str) -> Self {
        let mut end = text.len().min(MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Self::from_fitting(&text[..end])
    }

    /// The empty string.
    pub fn empty() -> Self {
        Text(Repr::Inline([0; INLINE + 1]))
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Re-checking at most 23 bytes is cheap, and keeps this crate free of `unsafe`.
            Repr::Inline(buf) => match std::str::from_utf8(inline_text(buf)) {
                Ok(text) => text,
                Err(_) => unreachable!("inline text is checked when it is made"),
            },
            Repr::Shared(text) => text,
        }
    }

    /// The text as `Bytes`: shared with the decoded frame when the text is
    /// long, copied when it is short enough to be kept inline.
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Repr::Inline(buf) => Bytes::copy_from_slice(inline_text(buf)),
            Repr::Shared(text) => text.as_bytes().clone(),
        }
    }

    /// The UTF-8 bytes, without `as_str`'s re-check.
    #[inline]
    fn utf8(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(buf) => inline_text(buf),
            Repr::Shared(text) => text.as_bytes(),
        }
    }

    /// `text` must be at most `MAX` bytes.
    fn from_fitting(text: &str) -> Self {
        if text.len() <= INLINE {
            Text(Repr::Inline(inline_buf(text.as_bytes())))
        } else {
            Text(Repr::Shared(ByteString::from(text)))
        }
    }

    /// Long text, sharing the body's buffer.
    fn parse_shared<'a>(input: &'a [u8], body: &Bytes, len: usize) -> PResult<'a, Self> {
        map_res(take_bytes(len), |raw: &[u8]| {
            match ByteString::try_from(body.slice_ref(raw)) {
                Ok(text) => Ok(Text(Repr::Shared(text))),
                Err(_) => Err(BodyError::InvalidUtf8),
            }
        })
        .parse(input)
    }

    /// Short text, kept inline.
    #[inline]
    fn parse_inline(input: &[u8], len: usize) -> PResult<'_, Self> {
        let (rest, text) = take_bytes(len).parse(input)?;
        // The inline copy reads whole words from the input when there are enough.
        let (buf, ascii) = match input.first_chunk() {
            Some(window) => inline_buf_from_window(window, len),
            None => (inline_buf(text), text.is_ascii()),
        };
        // Names and rooms are mostly ASCII, which skips the full check.
        if !ascii && std::str::from_utf8(text).is_err() {
            return Err(nom::Err::Error(BodyError::InvalidUtf8));
        }
        Ok((rest, Text(Repr::Inline(buf))))
    }

    fn check_len(len: usize) -> Result<(), LengthError> {
        if len > MAX {
            Err(LengthError { len, max: MAX })
        } else {
            Ok(())
        }
    }
}

/// `text` (at most `INLINE` bytes) laid out as `Repr::Inline`.
fn inline_buf(text: &[u8]) -> [u8; INLINE + 1] {
    let mut buf = [0; INLINE + 1];
    buf[..text.len()].copy_from_slice(text);
    buf[INLINE] = text.len() as u8;
    buf
}

/// Like [`inline_buf`] for the first `len` bytes of `window`, in whole
/// words: a short variable-length copy, or a lone store of the length byte,
/// would stall the word-sized reads that move the result. Also says whether
/// the text is ASCII, which is then known to be UTF-8.
#[inline]
fn inline_buf_from_window(window: &[u8; INLINE + 1], len: usize) -> ([u8; INLINE + 1], bool) {
    let mut buf = [0; INLINE + 1];
    let mut high_bits = 0;
    for at in 0..(INLINE + 1) / 8 {
        let keep = len.saturating_sub(8 * at).min(8) as u32;
        let mask = u64::MAX.checked_shr(64 - 8 * keep).unwrap_or(0);
        let word = window[8 * at..][..8].try_into().expect("8 bytes");
        let mut word = u64::from_le_bytes(word) & mask;
        high_bits |= word & 0x8080_8080_8080_8080;
        if at == INLINE / 8 {
            word |= (len as u64) << 56;
        }
        buf[8 * at..][..8].copy_from_slice(&word.to_le_bytes());
    }
    (buf, high_bits == 0)
}

impl<const MAX: usize> WireField for Text<MAX> {
    const MIN_LEN: usize = Self::PREFIX;
    #[inline]
    fn parse<'a>(input: &'a [u8], body: &Bytes) -> PResult<'a, Self> {
        let (input, len) = if Self::PREFIX == 1 {
            field::<u8>(body).map(usize::from).parse(input)?
        } else {
            field::<u16>(body).map(usize::from).parse(input)?
        };
        if len > INLINE {
            Self::parse_shared(input, body, len)
        } else {
            Self::parse_inline(input, len)
        }
    }

    #[inline]
    fn put(&self, dst: &mut BytesMut) {
        let text = self.utf8();
        if Self::PREFIX == 1 {
            dst.put_u8(text.len() as u8);
        } else {
            dst.put_u16(text.len() as u16);
        }
        dst.put_slice(text);
    }

    #[inline]
    fn wire_len(&self) -> usize {
        Self::PREFIX + self.utf8().len()
    }
}

impl<const MAX: usize> Deref for Text<MAX> {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const MAX: usize> Default for Text<MAX> {
    fn default() -> Self {
        Self::empty()
    }
}

// By content, never by representation. Byte order is `str` order.
impl<const MAX: usize> PartialEq for Text<MAX> {
    fn eq(&self, other: &Self) -> bool {
        self.utf8() == other.utf8()
    }
}

impl<const MAX: usize> Eq for Text<MAX> {}

impl<const MAX: usize> PartialOrd for Text<MAX> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<const MAX: usize> Ord for Text<MAX> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.utf8().cmp(other.utf8())
    }
}

impl<const MAX: usize> Hash for Text<MAX> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.utf8().hash(state);
    }
}

impl<const MAX: usize> TryFrom<&str> for Text<MAX> {
    type Error = LengthError;
    fn try_from(text: &str) -> Result<Self, LengthError> {
        Text::new(text)
    }
}

impl<const MAX: usize> TryFrom<String> for Text<MAX> {
    type Error = LengthError;
    fn try_from(text: String) -> Result<Self, LengthError> {
        Self::check_len(text.len())?;
        Ok(if text.len() <= INLINE {
            Text(Repr::Inline(inline_buf(text.as_bytes())))
        } else {
            // Takes over the allocation rather than copying it.
            Text(Repr::Shared(ByteString::from(text)))
        })
    }
}

impl<const MAX: usize> fmt::Debug for Text<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const MAX: usize> fmt::Display for Text<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const MAX: usize> PartialEq<str> for Text<MAX> {
    fn eq(&self, other: &str) -> bool {
        self.utf8() == other.as_bytes()
    }
}

impl<const MAX: usize> PartialEq<&str> for Text<MAX> {
    fn eq(&self, other: &&str) -> bool {
        self.utf8() == other.as_bytes()
    }
}

#[cfg(feature = "serde")]
impl<const MAX: usize> serde::Serialize for Text<MAX> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, const MAX: usize> arbitrary::Arbitrary<'a> for Text<MAX> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let text: &str = u.arbitrary()?;
        Ok(Text::truncated(text))
    }
}
