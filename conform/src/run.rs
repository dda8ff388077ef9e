//! Runs the selected cases against a server: a probe GREETING first, then
//! the cases a few at a time (each bounded), then the exclusive ones alone.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use confab_protocol::frame::Greeting;
use confab_protocol::{Str16, Str8, PROTOCOL_VERSION};
use tokio::sync::Semaphore;

use crate::case::{self, Case};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{Outcome, Stop};

#[derive(Debug, Clone)]
pub struct Options {
    /// `HOST:PORT` of the server under test.
    pub server: String,
    /// Case ids or `section` prefixes; empty runs every case.
    pub cases: Vec<String>,
    /// Per-read timeout.
    pub timeout: Duration,
    /// Longest server deadline a case waits out; longer ones are skipped.
    pub max_wait: Duration,
    /// Cases run at once.
    pub jobs: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            server: format!("127.0.0.1:{}", confab_protocol::DEFAULT_PORT),
            cases: Vec::new(),
            timeout: Duration::from_secs(5),
            max_wait: Duration::from_secs(15),
            jobs: 8,
        }
    }
}

pub struct CaseResult {
    pub id: &'static str,
    pub clauses: &'static [&'static str],
    pub title: &'static str,
    pub outcome: Outcome,
    pub millis: u128,
}

pub struct Report {
    pub server: String,
    pub greeting: Greeting,
    pub results: Vec<CaseResult>,
}

impl Report {
    pub fn count(&self, label: &str) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome.label() == label)
            .count()
    }

    pub fn passed(&self) -> bool {
        self.count("fail") == 0
    }
}

/// Why no case could run.
#[derive(Debug)]
pub enum RunError {
    UnknownCase(String),
    Address(String),
    /// The probe connection did not produce a usable GREETING.
    Probe(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::UnknownCase(id) => write!(f, "no case matches {id:?} (see --list)"),
            RunError::Address(why) => write!(f, "cannot resolve the server address: {why}"),
            RunError::Probe(why) => {
                write!(f, "the server did not greet the probe connection: {why}")
            }
        }
    }
}

/// The cases `patterns` select: an exact id, or a section (`framing` selects `framing.*`).
pub fn select(patterns: &[String]) -> Result<Vec<Case>, RunError> {
    let all = case::all();
    if patterns.is_empty() {
        return Ok(all);
    }
    let matches =
        |id: &str, p: &str| id == p || id.strip_prefix(p).is_some_and(|r| r.starts_with('.'));
    if let Some(unknown) = patterns
        .iter()
        .find(|p| !all.iter().any(|c| matches(c.id, p)))
    {
        return Err(RunError::UnknownCase(unknown.clone()));
    }
    Ok(all
        .into_iter()
        .filter(|c| patterns.iter().any(|p| matches(c.id, p)))
        .collect())
}

pub async fn run(options: &Options) -> Result<Report, RunError> {
    let cases = select(&options.cases)?;
    let addr: SocketAddr = options
        .server
        .to_socket_addrs()
        .map_err(|e| RunError::Address(e.to_string()))?
        .next()
        .ok_or_else(|| RunError::Address(format!("{} has no address", options.server)))?;
    let greeting = probe(addr, options.timeout).await?;
    let ctx = Arc::new(Ctx::new(
        addr,
        options.timeout,
        options.max_wait,
        greeting.clone(),
    ));
    // A case never outlives the longest wait plus a few reads.
    let budget = options.max_wait + options.timeout * 8;

    let (exclusive, shared): (Vec<_>, Vec<_>) = cases
        .into_iter()
        .enumerate()
        .partition(|(_, c)| c.exclusive);
    let mut results = run_batch(shared, &ctx, options.jobs.max(1), budget).await;
    results.extend(run_batch(exclusive, &ctx, 1, budget).await);
    results.sort_by_key(|(index, _)| *index);
    Ok(Report {
        server: options.server.clone(),
        greeting,
        results: results.into_iter().map(|(_, r)| r).collect(),
    })
}

async fn probe(addr: SocketAddr, timeout: Duration) -> Result<Greeting, RunError> {
    let ctx = Ctx::new(addr, timeout, timeout, placeholder_greeting());
    let (_, greeting) = Conn::greeted(&ctx).await.map_err(|stop| {
        RunError::Probe(match stop {
            Stop::Fail {
                expected, received, ..
            } => format!("expected {expected}, received {received}"),
            Stop::Skip(reason) => reason,
        })
    })?;
    if !greeting.supports(PROTOCOL_VERSION) {
        return Err(RunError::Probe(format!(
            "the server speaks versions {}..{}; this runner speaks {PROTOCOL_VERSION}",
            greeting.min_version, greeting.max_version
        )));
    }
    Ok(greeting)
}

/// Stands in for the GREETING until the probe has read the real one.
fn placeholder_greeting() -> Greeting {
    Greeting {
        min_version: 0,
        max_version: 0,
        flags: 0,
        server: Str8::empty(),
        limits: confab_protocol::Limits::default(),
        default_room: Str8::empty(),
        prompt: Str16::empty(),
    }
}

async fn run_batch(
    cases: Vec<(usize, Case)>,
    ctx: &Arc<Ctx>,
    jobs: usize,
    budget: Duration,
) -> Vec<(usize, CaseResult)> {
    let permits = Arc::new(Semaphore::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, case) in cases {
        let ctx = Arc::clone(ctx);
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let started = Instant::now();
            // The case runs in its own task so a panic is reported as its failure.
            let handle = tokio::spawn((case.run)(ctx));
            let abort = handle.abort_handle();
            let outcome = match tokio::time::timeout(budget, handle).await {
                Ok(Ok(check)) => Outcome::from(check),
                Ok(Err(panic)) => Outcome::Fail {
                    clause: case.clauses.first().copied().unwrap_or("-"),
                    expected: "the case to run to its end".into(),
                    received: format!("the runner's case task failed: {panic}"),
                },
                Err(_) => {
                    abort.abort();
                    Outcome::Fail {
                        clause: case.clauses.first().copied().unwrap_or("-"),
                        expected: format!("the case to finish within {} ms", budget.as_millis()),
                        received: "it was still waiting".into(),
                    }
                }
            };
            (
                index,
                CaseResult {
                    id: case.id,
                    clauses: case.clauses,
                    title: case.title,
                    outcome,
                    millis: started.elapsed().as_millis(),
                },
            )
        });
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(result) = done {
            results.push(result);
        }
    }
    results
}
