//! Primitive wire types (spec section 3) and the `WireField` trait every
//! frame body is assembled from.
//!
//! A body is read only once the framing layer has buffered all of it, so
//! running out of bytes here is `MALFORMED_FRAME` (`[TYPES-2]`), never
//! "incomplete". Fields are read front to back through a `Reader` that owns
//! the body, so that long strings can share its buffer without copying.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use crate::error::LengthError;

/// Why a body failed to parse; the frame layer adds the frame type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    Truncated,
    InvalidUtf8,
    BadEnumValue,
    BadMagic,
}

/// The unread rest of a complete body.
pub(crate) struct Reader {
    body: Bytes,
    at: usize,
}

impl Reader {
    pub(crate) fn new(body: Bytes) -> Self {
        Reader { body, at: 0 }
    }

    #[inline]
    fn rest(&self) -> &[u8] {
        self.body.get(self.at..).unwrap_or_default()
    }

    /// Whether every byte was read (`[FRAMING-3]`).
    pub(crate) fn is_done(&self) -> bool {
        self.rest().is_empty()
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = *self.rest().first_chunk::<N>()?;
        self.at += N;
        Some(bytes)
    }

    /// The next `len` bytes as a slice of the body's buffer. Text that ends
    /// the body (a MESSAGE's) takes the buffer over rather than paying for
    /// a reference of its own.
    #[inline]
    fn shared(&mut self, len: usize) -> Option<Bytes> {
        let end = self.at + len;
        if end > self.body.len() {
            return None;
        }
        let bytes = if end == self.body.len() {
            let mut tail = std::mem::take(&mut self.body);
            tail.advance(self.at);
            self.at = 0;
            tail
        } else {
            let bytes = self.body.slice(self.at..end);
            self.at = end;
            bytes
        };
        Some(bytes)
    }
}

/// A value that has a fixed place in a frame body.
pub(crate) trait WireField: Sized {
    /// The fewest bytes any value of the type encodes to.
    const MIN_LEN: usize;
    #[doc(hidden)]
    fn parse(body: &mut Reader) -> Result<Self, BodyError>;
    /// Appends the encoded field.
    fn put(&self, dst: &mut BytesMut);
    /// Exactly the number of bytes `put` appends.
    fn wire_len(&self) -> usize;
}

macro_rules! int_field {
    ($ty:ty, $put:ident) => {
        impl WireField for $ty {
            const MIN_LEN: usize = std::mem::size_of::<$ty>();
            #[inline]
            fn parse(body: &mut Reader) -> Result<Self, BodyError> {
                let bytes = body.array().ok_or(BodyError::Truncated)?;
                Ok(<$ty>::from_be_bytes(bytes))
            }
            fn put(&self, dst: &mut BytesMut) {
                dst.$put(*self);
            }
            fn wire_len(&self) -> usize {
                std::mem::size_of::<$ty>()
            }
        }
    };
}

int_field!(u8, put_u8);
int_field!(u16, put_u16);
int_field!(u32, put_u32);
int_field!(u64, put_u64);

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
    fn parse_shared(body: &mut Reader, len: usize) -> Result<Self, BodyError> {
        let bytes = body.shared(len).ok_or(BodyError::Truncated)?;
        match ByteString::try_from(bytes) {
            Ok(text) => Ok(Text(Repr::Shared(text))),
            Err(_) => Err(BodyError::InvalidUtf8),
        }
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
    fn parse(body: &mut Reader) -> Result<Self, BodyError> {
        let len = if Self::PREFIX == 1 {
            usize::from(u8::parse(body)?)
        } else {
            usize::from(u16::parse(body)?)
        };
        if len > INLINE {
            return Self::parse_shared(body, len);
        }
        let rest = body.rest();
        let Some(text) = rest.get(..len) else {
            return Err(BodyError::Truncated);
        };
        let (buf, ascii) = match rest.first_chunk() {
            Some(window) => inline_buf_from_window(window, len),
            None => (inline_buf(text), text.is_ascii()),
        };
        // Names and rooms are mostly ASCII, which skips the full check.
        if !ascii && std::str::from_utf8(text).is_err() {
            return Err(BodyError::InvalidUtf8);
        }
        body.at += len;
        Ok(Text(Repr::Inline(buf)))
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

/// Up to 65,535 entries behind a `u16` count.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct List<T>(Vec<T>);

impl<T> List<T> {
    pub const MAX: usize = u16::MAX as usize;

    pub fn new(items: Vec<T>) -> Result<Self, LengthError> {
        if items.len() > Self::MAX {
            return Err(LengthError {
                len: items.len(),
                max: Self::MAX,
            });
        }
        Ok(List(items))
    }

    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: WireField> WireField for List<T> {
    const MIN_LEN: usize = 2;
    fn parse(body: &mut Reader) -> Result<Self, BodyError> {
        let count = usize::from(u16::parse(body)?);
        // spec: SEC-1 — a count that the bytes left cannot hold, at the
        // entry's smallest encoding, is malformed before anything is reserved.
        if count * T::MIN_LEN.max(1) > body.rest().len() {
            return Err(BodyError::Truncated);
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(T::parse(body)?);
        }
        Ok(List(items))
    }

    fn put(&self, dst: &mut BytesMut) {
        dst.put_u16(self.0.len() as u16);
        for item in &self.0 {
            item.put(dst);
        }
    }

    fn wire_len(&self) -> usize {
        2 + self.0.iter().map(WireField::wire_len).sum::<usize>()
    }
}

/// The six magic bytes at the start of HELLO and GREETING.
pub const MAGIC: &[u8; 6] = b"CONFAB";

/// The magic as a field: carries no data, fails with `BadMagic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Magic;

impl WireField for Magic {
    const MIN_LEN: usize = MAGIC.len();
    fn parse(body: &mut Reader) -> Result<Self, BodyError> {
        // spec: HANDSHAKE-2 — too short is malformed, wrong bytes are not Confab.
        match body.array::<{ MAGIC.len() }>() {
            Some(magic) if magic == *MAGIC => Ok(Magic),
            Some(_) => Err(BodyError::BadMagic),
            None => Err(BodyError::Truncated),
        }
    }

    fn put(&self, dst: &mut BytesMut) {
        dst.put_slice(MAGIC);
    }

    fn wire_len(&self) -> usize {
        MAGIC.len()
    }
}

/// Declares a `u8` enumeration whose undefined values are malformed (`[TYPES-4]`).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        #[repr(u8)]
        pub enum $name { $($(#[$vmeta])* $variant = $value),* }

        impl TryFrom<u8> for $name {
            type Error = u8;
            fn try_from(value: u8) -> Result<Self, u8> {
                match value { $($value => Ok($name::$variant),)* other => Err(other) }
            }
        }

        impl $crate::wire::WireField for $name {
            const MIN_LEN: usize = 1;
            fn parse(body: &mut $crate::wire::Reader) -> Result<Self, $crate::wire::BodyError> {
                let raw = <u8 as $crate::wire::WireField>::parse(body)?;
                $name::try_from(raw).map_err(|_| $crate::wire::BodyError::BadEnumValue)
            }
            fn put(&self, dst: &mut bytes::BytesMut) {
                bytes::BufMut::put_u8(dst, *self as u8);
            }
            fn wire_len(&self) -> usize {
                1
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(*self as u8)
            }
        }
    };
}
pub(crate) use wire_enum;

/// Declares a frame body struct whose fields are encoded in declaration
/// order, optionally after the magic.
macro_rules! wire_struct {
    (@magic_parse magic, $body:ident) => {
        <$crate::wire::Magic as $crate::wire::WireField>::parse($body)?;
    };
    (@magic_parse, $body:ident) => {};
    (@magic_put magic, $dst:ident) => {
        $crate::wire::WireField::put(&$crate::wire::Magic, $dst);
    };
    (@magic_put, $dst:ident) => {};
    (@magic_len magic) => { $crate::wire::MAGIC.len() };
    (@magic_len) => { 0 };
    ($(#[$meta:meta])* $name:ident $([$magic:ident])? { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::wire::WireField for $name {
            const MIN_LEN: usize = $crate::wire::wire_struct!(@magic_len $($magic)?)
                $(+ <$ty as $crate::wire::WireField>::MIN_LEN)*;
            #[allow(unused_variables)]
            fn parse(body: &mut $crate::wire::Reader) -> Result<Self, $crate::wire::BodyError> {
                $crate::wire::wire_struct!(@magic_parse $($magic)?, body);
                // Struct fields are evaluated in the order written: wire order.
                Ok($name { $($field: <$ty as $crate::wire::WireField>::parse(body)?),* })
            }
            #[allow(unused_variables)]
            fn put(&self, dst: &mut bytes::BytesMut) {
                $crate::wire::wire_struct!(@magic_put $($magic)?, dst);
                $($crate::wire::WireField::put(&self.$field, dst);)*
            }
            fn wire_len(&self) -> usize {
                $crate::wire::wire_struct!(@magic_len $($magic)?)
                    $(+ $crate::wire::WireField::wire_len(&self.$field))*
            }
        }
    };
}
pub(crate) use wire_struct;

#[cfg(feature = "serde")]
impl<const MAX: usize> serde::Serialize for Text<MAX> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<T: serde::Serialize> serde::Serialize for List<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, const MAX: usize> arbitrary::Arbitrary<'a> for Text<MAX> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let text: &str = u.arbitrary()?;
        Ok(Text::truncated(text))
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, T: arbitrary::Arbitrary<'a>> arbitrary::Arbitrary<'a> for List<T> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut items: Vec<T> = u.arbitrary()?;
        items.truncate(Self::MAX);
        Ok(List(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all<T: WireField>(bytes: &[u8]) -> Result<T, BodyError> {
        let mut body = Reader::new(Bytes::copy_from_slice(bytes));
        let value = T::parse(&mut body)?;
        assert!(body.is_done(), "left-over bytes");
        Ok(value)
    }

    #[test]
    fn str8_uses_one_length_byte_and_str16_two() {
        let mut buf = BytesMut::new();
        Str8::new("hé").unwrap().put(&mut buf);
        assert_eq!(&buf[..], &[3, b'h', 0xC3, 0xA9]);
        buf.clear();
        Str16::new("").unwrap().put(&mut buf);
        assert_eq!(&buf[..], &[0, 0]);
    }

    #[test]
    fn text_rejects_overlong_values_and_truncates_on_char_boundaries() {
        assert!(Str8::new(&"a".repeat(256)).is_err());
        let cut = Str8::truncated(&"é".repeat(200));
        assert_eq!(cut.len(), 254);
    }

    #[test]
    fn invalid_utf8_and_short_strings_are_distinguished() {
        // spec: TYPES-1
        assert_eq!(
            parse_all::<Str8>(&[2, 0xC0, 0x80]),
            Err(BodyError::InvalidUtf8)
        );
        // spec: TYPES-2
        assert_eq!(parse_all::<Str8>(&[5, b'a']), Err(BodyError::Truncated));
    }

    #[test]
    fn text_round_trips_inline_and_shared_anywhere_in_a_body() {
        // Up to 23 bytes inline, more shared; ASCII and not; with and without
        // a whole word of body after the text.
        for len in [0, 1, 7, 8, 9, 16, 22, 23, 24, 25, 100] {
            for unit in ["a", "é"] {
                let text = unit.repeat(len / unit.len());
                let text = Str8::new(&text).unwrap();
                for trailer in [0usize, 30] {
                    let mut wire = BytesMut::new();
                    text.put(&mut wire);
                    wire.put_bytes(7, trailer);
                    let mut body = Reader::new(wire.freeze());
                    assert_eq!(Str8::parse(&mut body).unwrap(), text);
                    assert_eq!(body.rest().len(), trailer);
                }
            }
        }
    }

    #[test]
    fn long_text_shares_the_body_and_the_last_one_takes_it() {
        let mut wire = BytesMut::new();
        Str8::new(&"x".repeat(30)).unwrap().put(&mut wire);
        Str8::new(&"y".repeat(30)).unwrap().put(&mut wire);
        let whole = wire.freeze();
        let range = whole.as_ptr_range();
        let mut body = Reader::new(whole.clone());
        for _ in 0..2 {
            let text = Str8::parse(&mut body).unwrap().to_bytes();
            assert!(range.contains(&text.as_ptr()));
        }
        assert!(body.is_done());
        assert!(body.body.is_empty(), "the last text took the buffer over");
    }

    #[test]
    fn invalid_utf8_is_caught_in_short_text_with_a_body_after_it() {
        // spec: TYPES-1
        let mut wire = vec![2, 0xC0, 0x80];
        wire.extend_from_slice(&[0; 30]);
        let mut body = Reader::new(Bytes::from(wire));
        assert_eq!(Str8::parse(&mut body), Err(BodyError::InvalidUtf8));
    }

    #[test]
    fn list_count_larger_than_body_is_rejected_before_allocation() {
        assert_eq!(
            parse_all::<List<u8>>(&[0xFF, 0xFF, 1]),
            Err(BodyError::Truncated)
        );
    }
}
