//! NOTICE (0x8D): a server notice for people.
//!
//! ```text
//! +-----------+---------------+
//! | level: u8 | text: str16   |
//! +-----------+---------------+
//! ```

use crate::wire::{wire_enum, wire_struct, Str16};

wire_enum! {
    /// How prominently to show a notice.
    NoticeLevel { Info = 0, Warning = 1 }
}

wire_struct! {
    /// Human-readable server text.
    Notice { level: NoticeLevel, text: Str16 }
}
