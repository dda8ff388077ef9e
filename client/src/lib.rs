//! The Confab client. The connection task ([`connection`]) speaks the
//! protocol and emits [`event::Event`]s; two front ends consume them: the
//! terminal UI ([`tui`]) and plain line mode for scripts ([`plain`]).

pub mod command;
pub mod connection;
pub mod event;
pub mod format;
pub mod plain;
pub mod tls;
pub mod tui;
