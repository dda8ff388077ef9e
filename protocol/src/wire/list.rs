//! A `u16` count followed by that many entries (ROOM_LIST, WHO_LIST).

use bytes::{BufMut, BytesMut};
use std::ops::Deref;

use super::{BodyError, Reader, WireField};
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
