//! The report: a line per case (with expected and received on failure) and
//! a summary, or the same as JSON for machines.

use std::fmt::Write as _;

use serde_json::json;

use crate::case::Case;
use crate::run::Report;
use crate::verdict::Outcome;

pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let g = &report.greeting;
    let _ = writeln!(
        out,
        "confab-conform against {} ({:?}, versions {}..{}, flags {:#04x})",
        report.server,
        g.server.as_str(),
        g.min_version,
        g.max_version,
        g.flags
    );
    for r in &report.results {
        let clauses = r.clauses.join(", ");
        let _ = writeln!(
            out,
            "{:<4} {:<34} [{clauses}] {}",
            r.outcome.label().to_uppercase(),
            r.id,
            r.title
        );
        match &r.outcome {
            Outcome::Pass => {}
            Outcome::Skip(reason) => {
                let _ = writeln!(out, "       skipped: {reason}");
            }
            Outcome::Fail {
                clause,
                expected,
                received,
            } => {
                let _ = writeln!(out, "       {clause}: expected {expected}");
                let _ = writeln!(
                    out,
                    "       {:width$}  received {received}",
                    "",
                    width = clause.len()
                );
            }
        }
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

pub fn summary(report: &Report) -> String {
    format!(
        "summary: {} cases, {} passed, {} failed, {} skipped",
        report.results.len(),
        report.count("pass"),
        report.count("fail"),
        report.count("skip")
    )
}

pub fn json(report: &Report) -> serde_json::Value {
    let g = &report.greeting;
    let cases: Vec<_> = report
        .results
        .iter()
        .map(|r| {
            let mut case = json!({
                "id": r.id,
                "clauses": r.clauses,
                "title": r.title,
                "status": r.outcome.label(),
                "millis": r.millis as u64,
            });
            match &r.outcome {
                Outcome::Pass => {}
                Outcome::Skip(reason) => case["reason"] = json!(reason),
                Outcome::Fail {
                    clause,
                    expected,
                    received,
                } => {
                    case["failed_clause"] = json!(clause);
                    case["expected"] = json!(expected);
                    case["received"] = json!(received);
                }
            }
            case
        })
        .collect();
    json!({
        "server": report.server,
        "greeting": {
            "server": g.server.as_str(),
            "min_version": g.min_version,
            "max_version": g.max_version,
            "flags": g.flags,
            "default_room": g.default_room.as_str(),
            "limits": limits(&g.limits),
        },
        "cases": cases,
        "summary": {
            "total": report.results.len(),
            "passed": report.count("pass"),
            "failed": report.count("fail"),
            "skipped": report.count("skip"),
        },
    })
}

fn limits(l: &confab_protocol::Limits) -> serde_json::Value {
    json!({
        "max_frame": l.max_frame,
        "max_username": l.max_username,
        "max_room_name": l.max_room_name,
        "max_body": l.max_body,
        "max_rooms": l.max_rooms,
        "msg_rate": l.msg_rate,
        "msg_burst": l.msg_burst,
        "byte_rate": l.byte_rate,
        "byte_burst": l.byte_burst,
        "queue_depth": l.queue_depth,
        "ping_interval_ms": l.ping_interval_ms,
        "ping_timeout_ms": l.ping_timeout_ms,
        "handshake_timeout_ms": l.handshake_timeout_ms,
        "login_attempts": l.login_attempts,
        "history_max": l.history_max,
    })
}

/// `--list`: every case with its clauses.
pub fn list(cases: &[Case]) -> String {
    let mut out = String::new();
    for c in cases {
        let _ = writeln!(out, "{:<34} [{}] {}", c.id, c.clauses.join(", "), c.title);
    }
    out
}
