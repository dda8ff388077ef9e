//! `confab-conform`: checks any Confab server against spec/PROTOCOL.md over
//! the wire. Every case names the clauses it checks; every failure names the
//! clause that was broken, with what was expected and what arrived.

pub mod case;
pub mod cases;
pub mod client;
pub mod conn;
pub mod coverage;
pub mod ctx;
pub mod got;
pub mod report;
pub mod run;
pub mod verdict;

pub use run::{run, Options, Report, RunError};
