//! MODERATION_EVENT (0x90), server to client: a moderation action as it is
//! announced and as the audit log keeps it (`[MOD-12]`, `[MOD-15]`).
//!
//! ```text
//! +---------+-----------+------------+------------+-------------+--------------+
//! | id: u64 | time: u64 | action: u8 | room: str8 | actor: str8 | target: str8 |
//! +---------+-----------+------------+------------+-------------+--------------+
//! | expires: u64 | reason: str16 |
//! +--------------+---------------+
//! ```

use super::ModAction;
use crate::wire::{wire_struct, Str16, Str8};

wire_struct! {
    /// `actor` did `action` to `target` in `room` (`""`: server-wide); the
    /// same fields make an AUDIT_ENTRIES entry. `expires` 0: never.
    ModerationEvent {
        id: u64,
        time: u64,
        action: ModAction,
        room: Str8,
        actor: Str8,
        target: Str8,
        expires: u64,
        reason: Str16,
    }
}
