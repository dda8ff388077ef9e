//! AUDIT_ENTRIES (0x91), server to client: one frame of an AUDIT answer
//! (`[MOD-16]`); each entry has the fields of a MODERATION_EVENT.
//!
//! ```text
//! +-----------+------------+------------+------------------------------------+
//! | flags: u8 | room: str8 | count: u16 | count x (MODERATION_EVENT fields)  |
//! +-----------+------------+------------+------------------------------------+
//! ```

use super::ModerationEvent;
use crate::wire::{wire_struct, List, Str8};

wire_struct! {
    /// Entries in ascending id order; `MORE` when another frame of the answer
    /// follows, `OLDER` on the last when older entries exist.
    AuditEntries { flags: u8, room: Str8, entries: List<ModerationEvent> }
}

impl AuditEntries {
    /// Flag bit 0: another frame of the same answer follows.
    pub const MORE: u8 = 0x01;
    /// Flag bit 1: entries older than this answer's first exist.
    pub const OLDER: u8 = 0x02;
}
