//! `confab-bench`: drives a real confab-server over loopback and measures it
//! against a bare relay run under the same workload.

mod conn;
mod fanout;
mod idle;
mod payload;
mod procstat;
mod relay;
mod verify;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use conn::Target;
use fanout::{Report, Workload};

/// Load generator for Confab. Every run is bounded in count and time and
/// targets loopback only.
#[derive(Debug, Parser)]
#[command(name = "confab-bench", version, about)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

/// What `fanout` and `rooms` share: the targets, the messages, the pacing.
#[derive(Debug, clap::Args)]
struct Load {
    /// The confab-server to measure (start it with high --msg-rate/--msg-burst/--byte-rate/--byte-burst);
    /// for a cluster, its nodes, comma-separated: client i connects to node i mod the count.
    #[arg(long, default_value = "127.0.0.1:7667", value_delimiter = ',')]
    server: Vec<SocketAddr>,
    /// A bare relay (`confab-bench relay`) to run the same workload against, for the ratio.
    #[arg(long)]
    floor: Option<SocketAddr>,
    /// Messages each client sends.
    #[arg(long, short = 'm', default_value_t = 100)]
    messages: u32,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Unacknowledged messages per client.
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// Fixed total message rate (messages/s) instead of as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
    /// Runs of each target (figures per run; the summary shows median and range).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// PID of the confab-server, to sample its CPU and memory; for a
    /// cluster, every node's (and Redis's), comma-separated: their sums.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// PID of the relay, likewise.
    #[arg(long)]
    floor_pid: Option<u32>,
    /// Give up on a run after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// One JSON line per run on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// N clients in one room each send M messages; deliveries/s, latency, exact delivery check.
    Fanout {
        #[arg(long, short = 'n', default_value_t = 100)]
        clients: usize,
        #[command(flatten)]
        load: Load,
    },
    /// R rooms of N members, every member sending M messages to its room; checked per room.
    Rooms {
        #[arg(long, short = 'r', default_value_t = 1000)]
        rooms: usize,
        /// Members of each room.
        #[arg(long, short = 'n', default_value_t = 10)]
        members: usize,
        #[command(flatten)]
        load: Load,
    },
    /// K clients log in and stay idle: memory per connection and login rate.
    Idle {
        #[arg(long, default_value = "127.0.0.1:7667")]
        server: SocketAddr,
        #[arg(long, short = 'n', default_value_t = 10_000)]
        clients: usize,
        /// Clients chatting while the idle ones are held.
        #[arg(long, default_value_t = 5)]
        active: usize,
        #[arg(long)]
        server_pid: Option<u32>,
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        #[arg(long)]
        json: bool,
    },
    /// Run the bare relay (the floor) on ADDR.
    Relay {
        #[arg(long, default_value = "127.0.0.1:7668")]
        listen: SocketAddr,
        /// Frames queued per client before it is dropped.
        #[arg(long, default_value_t = 65_536)]
        queue_depth: usize,
    },
}

fn loopback_only(addr: &SocketAddr) -> Result<(), String> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "{addr} is not a loopback address: confab-bench only targets this machine"
        ))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("confab-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args.mode)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("confab-bench: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(mode: Mode) -> Result<bool, String> {
    match mode {
        Mode::Relay {
            listen,
            queue_depth,
        } => {
            loopback_only(&listen)?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("{listen}: {e}"))?;
            let bound = listener.local_addr().map_err(|e| e.to_string())?;
            eprintln!("relay listening on {bound}");
            relay::serve(listener, queue_depth)
                .await
                .map_err(|e| e.to_string())?;
            Ok(true)
        }
        Mode::Fanout { clients, load } => compare(1, clients, load).await,
        Mode::Rooms {
            rooms,
            members,
            load,
        } => compare(rooms, members, load).await,
        Mode::Idle {
            server,
            clients,
            active,
            server_pid,
            timeout,
            json,
        } => {
            loopback_only(&server)?;
            let report = idle::run(
                server,
                clients,
                active,
                server_pid,
                Duration::from_secs(timeout),
            )
            .await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&report).map_err(|e| e.to_string())?
                );
            } else {
                print_idle(&report);
            }
            Ok(report.active.as_ref().is_none_or(Report::passed))
        }
    }
}

/// Runs `rooms` rooms of `members` against Confab and, if given, the floor,
/// alternating so that drift on a shared machine hits both alike.
async fn compare(rooms: usize, members: usize, load: Load) -> Result<bool, String> {
    for server in &load.server {
        loopback_only(server)?;
    }
    if let Some(floor) = &load.floor {
        loopback_only(floor)?;
    }
    if members < 2 || rooms < 1 {
        return Err("a room needs at least 2 members, and a run at least 1 room".into());
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let workload = Workload {
        rooms,
        members,
        messages: load.messages,
        size: load.size,
        window: load.window,
        rate: load.rate,
        timeout: Duration::from_secs(load.timeout),
        progress: !load.json,
    };
    let mut confab_runs = Vec::new();
    let mut floor_runs = Vec::new();
    for _ in 0..load.repeat.max(1) {
        let report = fanout::run(Target::Confab, &load.server, &workload, &load.server_pid).await?;
        emit(&report, load.json);
        confab_runs.push(report);
        if let Some(floor) = load.floor {
            let pids: Vec<u32> = load.floor_pid.into_iter().collect();
            let report = fanout::run(Target::Floor, &[floor], &workload, &pids).await?;
            emit(&report, load.json);
            floor_runs.push(report);
        }
    }
    if !load.json {
        summary(&confab_runs, &floor_runs);
    }
    Ok(confab_runs.iter().chain(&floor_runs).all(Report::passed))
}

fn emit(report: &Report, json: bool) {
    if json {
        if let Ok(line) = serde_json::to_string(report) {
            println!("{line}");
        }
        return;
    }
    let cpu = report
        .server_cpu_cores
        .map_or("-".into(), |c| format!("{c:.2}"));
    let rss = report
        .server_peak_rss_mb
        .map_or("-".into(), |m| format!("{m:.1}"));
    println!(
        "{:<7} R={:<4} N={:<5} M={:<5} P={:<4} {:>12.0} deliveries/s  p50 {:>8.0}us  p99 {:>8.0}us  p99.9 {:>8.0}us  max {:>8.0}us  {:.2}s  server cpu {cpu} cores, peak rss {rss} MB, bench cpu {:.2} cores  {}",
        report.target,
        report.rooms,
        report.members,
        report.messages_per_client,
        report.size,
        report.deliveries_per_sec,
        report.p50_us,
        report.p99_us,
        report.p999_us,
        report.max_us,
        report.seconds,
        report.bench_cpu_cores,
        if report.passed() { "ok".to_string() } else { format!("FAILED {:?} timed_out={}", report.faults, report.timed_out) },
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn summary(confab: &[Report], floor: &[Report]) {
    let stats = |runs: &[Report], f: fn(&Report) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(f).collect();
        let (min, max) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        (median(&mut values), min, max)
    };
    let (c_rate, c_min, c_max) = stats(confab, |r| r.deliveries_per_sec);
    let (c_p99, _, _) = stats(confab, |r| r.p99_us);
    println!("\nconfab: median {c_rate:.0} deliveries/s (range {c_min:.0}..{c_max:.0}), median p99 {c_p99:.0}us over {} runs", confab.len());
    if !floor.is_empty() {
        let (f_rate, f_min, f_max) = stats(floor, |r| r.deliveries_per_sec);
        let (f_p99, _, _) = stats(floor, |r| r.p99_us);
        println!("floor:  median {f_rate:.0} deliveries/s (range {f_min:.0}..{f_max:.0}), median p99 {f_p99:.0}us");
        println!(
            "ratio:  confab/floor throughput {:.2}x, p99 {:.2}x",
            c_rate / f_rate,
            c_p99 / f_p99.max(1.0)
        );
    }
}

fn print_idle(report: &idle::IdleReport) {
    println!(
        "idle clients held:       {} of {}",
        report.held, report.requested
    );
    if let Some(limit) = report.cut_by_fd_limit {
        println!("  (cut by the file descriptor limit of {limit} for this process)");
    }
    println!(
        "connect+login:           {:.2}s, {:.0} logins/s",
        report.login_seconds, report.logins_per_sec
    );
    if let (Some(before), Some(after)) = (report.server_rss_before_mb, report.server_rss_after_mb) {
        println!("server RSS:              {before:.1} MB before, {after:.1} MB after");
    }
    if let Some(bytes) = report.bytes_per_connection {
        println!("server RSS / connection: {bytes:.0} bytes");
    }
    if let Some(active) = &report.active {
        print!("active chat meanwhile:   ");
        emit(active, false);
    }
}
