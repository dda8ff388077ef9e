//! A conformance case: an id, the clauses it checks, and an async check.
//! Adding a case is one `case!` line in its section's module plus its function.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::ctx::Ctx;
use crate::verdict::Check;

pub type CaseFuture = Pin<Box<dyn Future<Output = Check> + Send>>;

pub struct Case {
    /// `section.what`, e.g. `framing.too-large`.
    pub id: &'static str,
    /// Clause ids of spec/PROTOCOL.md this case checks.
    pub clauses: &'static [&'static str],
    pub title: &'static str,
    /// Runs alone, after the others (it would disturb concurrent cases).
    pub exclusive: bool,
    pub run: fn(Arc<Ctx>) -> CaseFuture,
}

/// `case!("id", ["CLAUSE-1", ...], "title", function)`; append `, exclusive`
/// for a case that must run alone.
#[macro_export]
macro_rules! case {
    ($id:literal, [$($clause:literal),* $(,)?], $title:literal, $run:path $(, $excl:ident)?) => {
        $crate::case::Case {
            id: $id,
            clauses: &[$($clause),*],
            title: $title,
            exclusive: $crate::case!(@excl $($excl)?),
            run: |ctx| Box::pin($run(ctx)),
        }
    };
    (@excl exclusive) => { true };
    (@excl) => { false };
}

/// Every case, in report order.
pub fn all() -> Vec<Case> {
    use crate::cases::*;
    [
        framing::cases(),
        detect::cases(),
        handshake::cases(),
        names::cases(),
        canonical::cases(),
        accounts::cases(),
        moderation::cases(),
        state::cases(),
        order::cases(),
        rooms::cases(),
        roomlist::cases(),
        messages::cases(),
        text::cases(),
        direct::cases(),
        presence::cases(),
        history::cases(),
        keepalive::cases(),
        flow::cases(),
        closing::cases(),
        errors::cases(),
        limits::cases(),
        address_limits::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
