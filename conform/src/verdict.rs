//! What a case ends with, and the one way a case states an expectation:
//! every failure names the spec clause it checks.

use std::fmt;

/// Why a case stopped before passing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The server broke `clause`: it was expected to do `expected` and did `received`.
    Fail {
        clause: &'static str,
        expected: String,
        received: String,
    },
    /// The case cannot run against this server; the reason names the setting it needs.
    Skip(String),
}

/// The result of one step of a case.
pub type Check<T = ()> = Result<T, Stop>;

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail {
        clause: &'static str,
        expected: String,
        received: String,
    },
    Skip(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail { .. } => "fail",
            Outcome::Skip(_) => "skip",
        }
    }
}

impl From<Check> for Outcome {
    fn from(check: Check) -> Outcome {
        match check {
            Ok(()) => Outcome::Pass,
            Err(Stop::Fail {
                clause,
                expected,
                received,
            }) => Outcome::Fail {
                clause,
                expected,
                received,
            },
            Err(Stop::Skip(reason)) => Outcome::Skip(reason),
        }
    }
}

/// A failure of `clause`.
pub fn fail(
    clause: &'static str,
    expected: impl fmt::Display,
    received: impl fmt::Display,
) -> Stop {
    Stop::Fail {
        clause,
        expected: expected.to_string(),
        received: received.to_string(),
    }
}

/// Fails `clause` unless `ok`.
pub fn ensure(
    clause: &'static str,
    ok: bool,
    expected: impl fmt::Display,
    received: impl fmt::Display,
) -> Check {
    if ok {
        Ok(())
    } else {
        Err(fail(clause, expected, received))
    }
}

/// Fails `clause` unless `received == expected`.
pub fn ensure_eq<T: PartialEq + fmt::Debug>(
    clause: &'static str,
    what: &str,
    expected: T,
    received: T,
) -> Check {
    ensure(
        clause,
        expected == received,
        format!("{what} = {expected:?}"),
        format!("{what} = {received:?}"),
    )
}

/// Skips the case unless `ok`; `needs` says what server setting it needs.
pub fn require(ok: bool, needs: impl fmt::Display) -> Check {
    if ok {
        Ok(())
    } else {
        Err(Stop::Skip(needs.to_string()))
    }
}
