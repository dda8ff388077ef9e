//! Primitive wire types (spec section 3) and the `WireField` trait every
//! frame body is assembled from.
//!
//! Fields are nom parsers in *complete* mode over the body slice: the framing
//! layer has buffered the whole body, so running out of bytes here is
//! `MALFORMED_FRAME` (`[TYPES-2]`), never "incomplete". Every parser is also
//! handed the body's `Bytes`, so that long strings share its buffer instead
//! of being copied.

use bytes::{BufMut, Bytes, BytesMut};
use nom::error::{ErrorKind, FromExternalError, ParseError};
use nom::Parser;

mod list;
mod text;

pub use list::List;
pub use text::{Str16, Str8, Text};

/// Why a body failed to parse; the frame layer adds the frame type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    Truncated,
    InvalidUtf8,
    BadEnumValue,
    BadMagic,
}

impl<I> ParseError<I> for BodyError {
    // The combinators used here fail on their own only for lack of input;
    // every other verdict comes through `FromExternalError`.
    fn from_error_kind(_input: I, _kind: ErrorKind) -> Self {
        BodyError::Truncated
    }

    fn append(_input: I, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// `map_res` and friends pass a field's own verdict through unchanged.
impl<I> FromExternalError<I, BodyError> for BodyError {
    fn from_external_error(_input: I, _kind: ErrorKind, error: BodyError) -> Self {
        error
    }
}

/// What a field parser returns: the rest of the body and the field.
pub(crate) type PResult<'a, T> = nom::IResult<&'a [u8], T, BodyError>;

/// A value that has a fixed place in a frame body.
pub(crate) trait WireField: Sized {
    /// The fewest bytes any value of the type encodes to.
    const MIN_LEN: usize;
    /// Parses the field at the front of `input`, a slice of `body`.
    #[doc(hidden)]
    fn parse<'a>(input: &'a [u8], body: &Bytes) -> PResult<'a, Self>;
    /// Appends the encoded field.
    fn put(&self, dst: &mut BytesMut);
    /// Exactly the number of bytes `put` appends.
    fn wire_len(&self) -> usize;
}

/// `T::parse` as a nom parser, for use in combinators.
#[inline(always)]
pub(crate) fn field<'a, 'b, T: WireField>(
    body: &'b Bytes,
) -> impl Parser<&'a [u8], Output = T, Error = BodyError> + 'b {
    move |input: &'a [u8]| T::parse(input, body)
}

/// The next `N` bytes as an array: the integer fields' parser. nom's
/// `be_u64` and friends assemble a number byte by byte, which made a MESSAGE
/// cost 30% more instructions to decode (BENCHMARKS.md); one load does it.
#[inline(always)]
pub(crate) fn array<const N: usize>(input: &[u8]) -> PResult<'_, [u8; N]> {
    match input.split_first_chunk::<N>() {
        Some((bytes, rest)) => Ok((rest, *bytes)),
        None => Err(nom::Err::Error(BodyError::Truncated)),
    }
}

/// The next `len` bytes; like nom's `take`, which costs more instructions
/// for the same split.
#[inline(always)]
pub(crate) fn take_bytes<'a>(len: usize) -> impl Fn(&'a [u8]) -> PResult<'a, &'a [u8]> {
    move |input: &'a [u8]| match input.split_at_checked(len) {
        Some((bytes, rest)) => Ok((rest, bytes)),
        None => Err(nom::Err::Error(BodyError::Truncated)),
    }
}

macro_rules! int_field {
    ($ty:ty, $put:ident) => {
        impl WireField for $ty {
            const MIN_LEN: usize = std::mem::size_of::<$ty>();
            #[inline(always)]
            fn parse<'a>(input: &'a [u8], _body: &Bytes) -> PResult<'a, Self> {
                array.map(<$ty>::from_be_bytes).parse(input)
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

/// The six magic bytes at the start of HELLO and GREETING.
pub const MAGIC: &[u8; 6] = b"CONFAB";

/// The magic as a field: carries no data, fails with `BadMagic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Magic;

impl WireField for Magic {
    const MIN_LEN: usize = MAGIC.len();
    fn parse<'a>(input: &'a [u8], _body: &Bytes) -> PResult<'a, Self> {
        // spec: HANDSHAKE-2 — too short is malformed, wrong bytes are not Confab.
        // (`tag` would not tell the two apart.)
        nom::combinator::map_res(take_bytes(MAGIC.len()), |magic: &[u8]| {
            if magic == MAGIC {
                Ok(Magic)
            } else {
                Err(BodyError::BadMagic)
            }
        })
        .parse(input)
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
            fn parse<'a>(input: &'a [u8], body: &bytes::Bytes) -> $crate::wire::PResult<'a, Self> {
                nom::Parser::parse(
                    &mut nom::combinator::map_res($crate::wire::field::<u8>(body), |raw| {
                        $name::try_from(raw).map_err(|_| $crate::wire::BodyError::BadEnumValue)
                    }),
                    input,
                )
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
    // The first parser of the sequence: the magic, or one that reads nothing.
    (@magic_parse magic, $body:ident) => {
        $crate::wire::field::<$crate::wire::Magic>($body)
    };
    (@magic_parse, $body:ident) => {
        nom::combinator::success($crate::wire::Magic)
    };
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
            #[inline]
            #[allow(unused_variables)]
            fn parse<'a>(input: &'a [u8], body: &bytes::Bytes) -> $crate::wire::PResult<'a, Self> {
                // A tuple of parsers runs them in wire order.
                nom::Parser::parse(
                    &mut nom::Parser::map(
                        (
                            $crate::wire::wire_struct!(@magic_parse $($magic)?, body),
                            $($crate::wire::field::<$ty>(body),)*
                        ),
                        |(_, $($field,)*)| $name { $($field),* },
                    ),
                    input,
                )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `T` and the bytes left after it.
    fn parse_some<T: WireField>(body: &Bytes) -> Result<(T, usize), BodyError> {
        match T::parse(body, body) {
            Ok((rest, value)) => Ok((value, rest.len())),
            Err(nom::Err::Error(error) | nom::Err::Failure(error)) => Err(error),
            Err(nom::Err::Incomplete(_)) => panic!("complete parsers never ask for more"),
        }
    }

    fn parse_all<T: WireField>(bytes: &[u8]) -> Result<T, BodyError> {
        let (value, left) = parse_some(&Bytes::copy_from_slice(bytes))?;
        assert_eq!(left, 0, "left-over bytes");
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
                    let (parsed, left) = parse_some::<Str8>(&wire.freeze()).unwrap();
                    assert_eq!(parsed, text);
                    assert_eq!(left, trailer);
                }
            }
        }
    }

    #[test]
    fn long_text_shares_the_body() {
        let mut wire = BytesMut::new();
        Str8::new(&"x".repeat(30)).unwrap().put(&mut wire);
        Str8::new(&"y".repeat(30)).unwrap().put(&mut wire);
        let whole = wire.freeze();
        let range = whole.as_ptr_range();
        let (rest, texts) = (field::<Str8>(&whole), field::<Str8>(&whole))
            .parse(&whole)
            .unwrap();
        assert!(rest.is_empty());
        for text in [texts.0, texts.1] {
            assert!(range.contains(&text.to_bytes().as_ptr()));
        }
    }

    #[test]
    fn invalid_utf8_is_caught_in_short_text_with_a_body_after_it() {
        // spec: TYPES-1
        let mut wire = vec![2, 0xC0, 0x80];
        wire.extend_from_slice(&[0; 30]);
        assert_eq!(
            parse_some::<Str8>(&Bytes::from(wire)).map(|(text, _)| text),
            Err(BodyError::InvalidUtf8)
        );
    }

    #[test]
    fn list_count_larger_than_body_is_rejected_before_allocation() {
        assert_eq!(
            parse_all::<List<u8>>(&[0xFF, 0xFF, 1]),
            Err(BodyError::Truncated)
        );
    }
}
