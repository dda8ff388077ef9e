//! A `u16` count followed by that many entries (ROOM_LIST, WHO_LIST).

use bytes::{BufMut, Bytes, BytesMut};
use nom::multi::count;
use nom::Parser;
use std::ops::Deref;

use super::{field, BodyError, PResult, WireField};
use crate::error::LengthError;

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
    fn parse<'a>(input: &'a [u8], body: &Bytes) -> PResult<'a, Self> {
        let (input, len) = u16::parse(input, body)?;
        let len = usize::from(len);
        // spec: SEC-1 — a count that the bytes left cannot hold, at the
        // entry's smallest encoding, is malformed before anything is reserved.
        if len * T::MIN_LEN.max(1) > input.len() {
            return Err(nom::Err::Error(BodyError::Truncated));
        }
        count(field::<T>(body), len).map(List).parse(input)
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

#[cfg(feature = "serde")]
impl<T: serde::Serialize> serde::Serialize for List<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
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
