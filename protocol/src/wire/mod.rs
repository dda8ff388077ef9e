//! Primitive wire types (spec section 3) and the `WireField` trait every
//! frame body is assembled from.
//!
//! A body is read only once the framing layer has buffered all of it, so
//! running out of bytes here is `MALFORMED_FRAME` (`[TYPES-2]`), never
//! "incomplete". Fields are read front to back through a `Reader` that owns
//! the body, so that long strings can share its buffer without copying.

use bytes::{Buf, BufMut, Bytes, BytesMut};

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
