//! Primitive wire types (spec section 3) and the `WireField` trait every
//! frame body is assembled from.
//!
//! Bodies are parsed in nom's *complete* mode: the framing layer has already
//! buffered the whole body, so running out of bytes here is `MALFORMED_FRAME`
//! (`[TYPES-2]`), never "incomplete".

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use nom::error::{ErrorKind, ParseError};
use nom::number::complete::{be_u16, be_u32, be_u64, be_u8};
use nom::Parser;
use std::fmt;
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

impl<I> ParseError<I> for BodyError {
    // nom's complete-mode number and `take` parsers only fail for lack of input.
    fn from_error_kind(_input: I, _kind: ErrorKind) -> Self {
        BodyError::Truncated
    }

    fn append(_input: I, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type PResult<'a, T> = nom::IResult<&'a [u8], T, BodyError>;

fn fail<T>(err: BodyError) -> PResult<'static, T> {
    Err(nom::Err::Error(err))
}

/// A value that has a fixed place in a frame body.
///
/// `whole` is the frozen body the input slices come from, so string fields
/// can be sliced out of it without copying.
pub(crate) trait WireField: Sized {
    /// The fewest bytes any value of the type encodes to.
    const MIN_LEN: usize;
    #[doc(hidden)]
    fn parse<'a>(input: &'a [u8], whole: &Bytes) -> PResult<'a, Self>;
    /// Appends the encoded field.
    fn put(&self, dst: &mut BytesMut);
    /// Exactly the number of bytes `put` appends.
    fn wire_len(&self) -> usize;
}

macro_rules! int_field {
    ($ty:ty, $parser:ident, $put:ident) => {
        impl WireField for $ty {
            const MIN_LEN: usize = std::mem::size_of::<$ty>();
            fn parse<'a>(input: &'a [u8], _whole: &Bytes) -> PResult<'a, Self> {
                $parser(input)
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

int_field!(u8, be_u8, put_u8);
int_field!(u16, be_u16, put_u16);
int_field!(u32, be_u32, put_u32);
int_field!(u64, be_u64, put_u64);

/// Validated UTF-8 text of at most `MAX` bytes, backed by a shared `Bytes`
/// buffer. The prefix is a `u8` when `MAX` fits one byte and a `u16`
/// otherwise, which gives the spec's `str8` and `str16`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Text<const MAX: usize>(ByteString);

/// `str8`: a `u8` length and up to 255 bytes of UTF-8.
pub type Str8 = Text<255>;
/// `str16`: a `u16` length and up to 65,535 bytes of UTF-8.
pub type Str16 = Text<65535>;

impl<const MAX: usize> Text<MAX> {
    const PREFIX: usize = if MAX <= u8::MAX as usize { 1 } else { 2 };

    /// Text that fits the field, or the length that does not.
    pub fn new(text: &str) -> Result<Self, LengthError> {
        Self::check_len(text.len())?;
        Ok(Text(ByteString::from(text)))
    }

    /// Like [`Text::new`], cutting at the last character boundary that fits.
    pub fn truncated(text: &str) -> Self {
        let mut end = text.len().min(MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Text(ByteString::from(&text[..end]))
    }

    /// The empty string.
    pub fn empty() -> Self {
        Text(ByteString::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying bytes, shared rather than copied.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    fn check_len(len: usize) -> Result<(), LengthError> {
        if len > MAX {
            Err(LengthError { len, max: MAX })
        } else {
            Ok(())
        }
    }
}

impl<const MAX: usize> WireField for Text<MAX> {
    const MIN_LEN: usize = Self::PREFIX;
    fn parse<'a>(input: &'a [u8], whole: &Bytes) -> PResult<'a, Self> {
        let (input, len) = if Self::PREFIX == 1 {
            be_u8.map(usize::from).parse(input)?
        } else {
            be_u16.map(usize::from).parse(input)?
        };
        let (input, raw) = nom::bytes::complete::take(len).parse(input)?;
        match ByteString::try_from(whole.slice_ref(raw)) {
            Ok(text) => Ok((input, Text(text))),
            Err(_) => fail(BodyError::InvalidUtf8),
        }
    }

    fn put(&self, dst: &mut BytesMut) {
        let len = self.0.len();
        if Self::PREFIX == 1 {
            dst.put_u8(len as u8);
        } else {
            dst.put_u16(len as u16);
        }
        dst.put_slice(self.0.as_bytes());
    }

    fn wire_len(&self) -> usize {
        Self::PREFIX + self.0.len()
    }
}

impl<const MAX: usize> Deref for Text<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
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
        Ok(Text(ByteString::from(text)))
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
        self.as_str() == other
    }
}

impl<const MAX: usize> PartialEq<&str> for Text<MAX> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
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
    fn parse<'a>(input: &'a [u8], whole: &Bytes) -> PResult<'a, Self> {
        let (mut input, count) = be_u16(input)?;
        // spec: SEC-1 — a count that the bytes left cannot hold, at the
        // entry's smallest encoding, is malformed before anything is reserved.
        if usize::from(count) * T::MIN_LEN.max(1) > input.len() {
            return fail(BodyError::Truncated);
        }
        let mut items = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let (rest, item) = T::parse(input, whole)?;
            items.push(item);
            input = rest;
        }
        Ok((input, List(items)))
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
    fn parse<'a>(input: &'a [u8], _whole: &Bytes) -> PResult<'a, Self> {
        // spec: HANDSHAKE-2 — too short is malformed, wrong bytes are not Confab.
        match input.split_at_checked(MAGIC.len()) {
            Some((magic, rest)) if magic == MAGIC => Ok((rest, Magic)),
            Some(_) => fail(BodyError::BadMagic),
            None => fail(BodyError::Truncated),
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
            fn parse<'a>(input: &'a [u8], _whole: &bytes::Bytes) -> $crate::wire::PResult<'a, Self> {
                let (rest, raw) = nom::number::complete::be_u8(input)?;
                match $name::try_from(raw) {
                    Ok(value) => Ok((rest, value)),
                    Err(_) => Err(nom::Err::Error($crate::wire::BodyError::BadEnumValue)),
                }
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
    (@magic_parse magic, $input:ident, $whole:ident) => {
        let ($input, _) = <$crate::wire::Magic as $crate::wire::WireField>::parse($input, $whole)?;
    };
    (@magic_parse, $input:ident, $whole:ident) => {};
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
            fn parse<'a>(input: &'a [u8], whole: &bytes::Bytes) -> $crate::wire::PResult<'a, Self> {
                $crate::wire::wire_struct!(@magic_parse $($magic)?, input, whole);
                $(let (input, $field) = <$ty as $crate::wire::WireField>::parse(input, whole)?;)*
                Ok((input, $name { $($field),* }))
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
        let whole = Bytes::copy_from_slice(bytes);
        match T::parse(&whole, &whole) {
            Ok(([], value)) => Ok(value),
            Ok(_) => panic!("left-over bytes"),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
            Err(nom::Err::Incomplete(_)) => panic!("complete parsers never ask for more"),
        }
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
    fn list_count_larger_than_body_is_rejected_before_allocation() {
        assert_eq!(
            parse_all::<List<u8>>(&[0xFF, 0xFF, 1]),
            Err(BodyError::Truncated)
        );
    }
}
