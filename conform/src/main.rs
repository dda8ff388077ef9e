//! `confab-conform --server HOST:PORT [--case ID...] [--json] [--list]`

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use confab_conform::{report, run};

/// Checks a running Confab server against spec/PROTOCOL.md, clause by clause.
#[derive(Debug, Parser)]
#[command(name = "confab-conform", version, about)]
struct Cli {
    /// The server under test.
    #[arg(long, value_name = "HOST:PORT", required_unless_present = "list")]
    server: Option<String>,
    /// Run only these cases (an id, or a section such as `framing`); repeatable.
    #[arg(long = "case", value_name = "ID", num_args = 1..)]
    cases: Vec<String>,
    /// Print a machine-readable JSON report instead of text.
    #[arg(long)]
    json: bool,
    /// List the cases and the clauses they check, then exit.
    #[arg(long)]
    list: bool,
    /// Milliseconds to wait for each expected frame.
    #[arg(long, default_value_t = 5_000)]
    timeout_ms: u64,
    /// Longest server deadline (handshake_timeout_ms, ping_interval_ms + ping_timeout_ms)
    /// a case waits out; cases needing longer are skipped.
    #[arg(long, default_value_t = 15_000)]
    max_wait_ms: u64,
    /// Cases run at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.list {
        return match run::select(&cli.cases) {
            Ok(cases) => {
                print!("{}", report::list(&cases));
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("confab-conform: {err}");
                ExitCode::from(2)
            }
        };
    }
    let options = run::Options {
        server: cli.server.unwrap_or_default(),
        cases: cli.cases,
        timeout: Duration::from_millis(cli.timeout_ms),
        max_wait: Duration::from_millis(cli.max_wait_ms),
        jobs: cli.jobs,
    };
    match run::run(&options).await {
        Ok(report) => {
            if cli.json {
                println!("{:#}", report::json(&report));
            } else {
                print!("{}", report::text(&report));
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("confab-conform: {err}");
            ExitCode::from(2)
        }
    }
}
