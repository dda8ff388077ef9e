//! The Confab client. The connection task ([`connection`]) speaks the
//! protocol and emits [`event::Event`]s; two front ends consume them: the
//! terminal UI ([`tui`]) and plain line mode for scripts ([`plain`]), both
//! deciding through one view-model ([`view`]).

pub mod address;
pub mod command;
pub mod connection;
pub mod event;
pub mod exit;
pub mod format;
pub mod moderation;
pub mod plain;
pub mod tls;
pub mod tui;
pub mod view;
