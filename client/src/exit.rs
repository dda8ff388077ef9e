//! The client's exit codes, documented in `--help`; both front ends and
//! `main` use them.

/// The connection ended other than by our goodbye.
pub const CONNECTION_LOST: u8 = 1;
/// Could not reach the server at all.
pub const UNREACHABLE: u8 = 2;
/// The name given with --name was refused, or the last name the server
/// allowed trying.
pub const NAME_REFUSED: u8 = 3;
