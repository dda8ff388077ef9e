//! LIMITS (0x8E, 1.1), server to client: the limits added since 1.0, sent
//! right after the GREETING, whose 1.0 layout stays as it was
//! (`[LIMITS-1]`, `[LIMITS-2]`, `[VERSION-2]`).
//!
//! ```text
//! +------------+---------------------------------------+
//! | count: u16 | count x (id: u16, value: u64)         |
//! +------------+---------------------------------------+
//! ```

use crate::error::LengthError;
use crate::wire::{wire_struct, List};

wire_struct! {
    /// One advertised limit: an id of the registry of spec section 5.1 and
    /// its value.
    LimitEntry { id: u16, value: u64 }
}

wire_struct! {
    /// The server's advertisement of limits beyond the GREETING's block.
    ServerLimits { entries: List<LimitEntry> }
}

impl ServerLimits {
    /// Registry id of `queue_bytes`: bytes the server queues for this
    /// client before it is a slow consumer (`[MEM-2]`).
    pub const QUEUE_BYTES: u16 = 1;
    /// Registry id of `min_password` (1.2): the fewest characters a
    /// registration's password may have (`[AUTH-3]`).
    pub const MIN_PASSWORD: u16 = 2;
    /// The most entries a server sends (`[LIMITS-2]`): a body of at most
    /// 2 + 64 × 10 = 642 bytes.
    pub const MAX_ENTRIES: usize = 64;

    /// A LIMITS frame with `entries` sorted by id (`[LIMITS-2]`).
    pub fn new(mut entries: Vec<LimitEntry>) -> Result<Self, LengthError> {
        if entries.len() > Self::MAX_ENTRIES {
            return Err(LengthError {
                len: entries.len(),
                max: Self::MAX_ENTRIES,
            });
        }
        entries.sort_by_key(|entry| entry.id);
        Ok(ServerLimits {
            entries: List::new(entries)?,
        })
    }

    /// The value advertised for `id`: its first entry (`[LIMITS-2]`);
    /// `None` when the server does not advertise it.
    pub fn get(&self, id: u16) -> Option<u64> {
        self.entries
            .iter()
            .find(|entry| entry.id == id)
            .map(|entry| entry.value)
    }

    /// `queue_bytes`, when advertised.
    pub fn queue_bytes(&self) -> Option<u64> {
        self.get(Self::QUEUE_BYTES)
    }

    /// `min_password`, when advertised (a server with accounts).
    pub fn min_password(&self) -> Option<u64> {
        self.get(Self::MIN_PASSWORD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{decode, Frame};
    use bytes::BytesMut;

    #[test]
    fn unknown_ids_are_kept_and_skipped_and_the_first_of_an_id_counts() {
        // spec: LIMITS-2
        let wire = [
            0x8E, 0, 0, 0, 32, // header
            0, 3, // count
            0, 1, 0, 0, 0, 0, 0, 0x20, 0, 0, // queue_bytes 2 MiB
            0x7F, 0xFF, 0, 0, 0, 0, 0, 0, 0, 9, // an id this crate does not know
            0, 1, 0, 0, 0, 0, 0, 0, 0, 1, // queue_bytes again: ignored
        ];
        let frame = decode(&mut BytesMut::from(&wire[..]), 65_536)
            .unwrap()
            .unwrap();
        let Frame::ServerLimits(limits) = frame else {
            panic!("{frame:?}");
        };
        assert_eq!(limits.entries.len(), 3);
        assert_eq!(limits.queue_bytes(), Some(2 * 1024 * 1024));
        assert_eq!(limits.get(2), None);
    }

    #[test]
    fn a_server_sends_few_entries_in_id_order() {
        // spec: LIMITS-2
        let many = (1..=65).map(|id| LimitEntry { id, value: 0 }).collect();
        assert!(ServerLimits::new(many).is_err());
        let limits = ServerLimits::new(vec![
            LimitEntry { id: 9, value: 1 },
            LimitEntry { id: 1, value: 2 },
        ])
        .unwrap();
        assert_eq!(limits.entries[0].id, 1);
        let max = ServerLimits::new(
            (1..=64)
                .map(|id| LimitEntry {
                    id,
                    value: u64::MAX,
                })
                .collect(),
        )
        .unwrap();
        assert_eq!(Frame::from(max).body_len(), 642);
    }
}
