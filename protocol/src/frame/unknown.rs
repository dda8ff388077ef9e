//! A frame whose type this implementation does not define (`[FRAMING-5]`).
//! It is kept whole so that it can be skipped, reported and re-encoded.

use bytes::Bytes;

/// Type code and raw body of an unknown frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub frame_type: u8,
    pub body: Bytes,
}

#[cfg(feature = "serde")]
impl serde::Serialize for Unknown {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let hex: String = self.body.iter().map(|b| format!("{b:02x}")).collect();
        let mut state = s.serialize_struct("Unknown", 2)?;
        state.serialize_field("frame_type", &self.frame_type)?;
        state.serialize_field("body", &hex)?;
        state.end()
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Unknown {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        // Only codes that no version-1 frame uses and that are not ASCII.
        let frame_type =
            *u.choose(&[0x00, 0x05, 0x0F, 0x19, 0x1F, 0x7F, 0x93, 0x9F, 0xA0, 0xFF])?;
        let body: Vec<u8> = u.arbitrary()?;
        Ok(Unknown {
            frame_type,
            body: Bytes::from(body),
        })
    }
}
