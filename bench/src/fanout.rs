//! The fan-out workload: R rooms of N members (one room for `fanout`, many
//! small ones for `rooms`), each member sending M messages of P bytes to its
//! room, windowed by acknowledgements or paced to a total rate; every
//! delivery is verified against its room and its latency recorded.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::{watch, Barrier, Semaphore};

use crate::conn::{self, Incoming, Target};
use crate::payload;
use crate::procstat;
use crate::verify::{Faults, Receiver};

#[derive(Debug, Clone)]
pub struct Workload {
    pub rooms: usize,
    /// Members of each room; clients `r*members .. (r+1)*members` are room `r`.
    pub members: usize,
    pub messages: u32,
    pub size: usize,
    /// Unacknowledged messages per client.
    pub window: usize,
    /// Total messages per second across clients; `None`: as fast as acknowledged.
    pub rate: Option<f64>,
    /// The whole run, login included, ends by this.
    pub timeout: Duration,
    pub progress: bool,
}

impl Workload {
    pub fn clients(&self) -> usize {
        self.rooms * self.members
    }

    /// The clients of `index`'s room.
    fn room_of(&self, index: usize) -> std::ops::Range<usize> {
        let first = index / self.members * self.members;
        first..first + self.members
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: &'static str,
    pub rooms: usize,
    pub members: usize,
    pub clients: usize,
    pub messages_per_client: u32,
    pub size: usize,
    pub window: usize,
    pub rate: Option<f64>,
    pub deliveries: u64,
    pub expected: u64,
    pub seconds: f64,
    pub deliveries_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub faults: Faults,
    pub timed_out: bool,
    pub server_cpu_cores: Option<f64>,
    pub server_peak_rss_mb: Option<f64>,
    pub bench_cpu_cores: f64,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.faults.is_clean() && !self.timed_out
    }
}

struct ClientResult {
    receiver: Receiver,
    /// Latency in µs (what the report shows), u32 counts: a client's
    /// histogram stays about 50 KB, which 10,000 clients of `rooms` can afford.
    histogram: Histogram<u32>,
    timed_out: bool,
}

/// Source address for client `index`: spread over 127.0.0.x so the
/// ephemeral port range of one address is not the limit.
pub fn local_ip(server: SocketAddr, index: usize) -> Option<IpAddr> {
    match server.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => Some(IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            (index / 20_000 % 250) as u8,
            (index % 250 + 1) as u8,
        ))),
        _ => None,
    }
}

pub async fn run(
    target: Target,
    servers: &[SocketAddr],
    workload: &Workload,
    server_pids: &[u32],
) -> Result<Report, String> {
    if servers.is_empty() {
        return Err("no server to measure".into());
    }
    let n = workload.clients();
    let deadline = Instant::now() + workload.timeout;
    let barrier = Arc::new(Barrier::new(n + 1));
    let per_room = workload.members as u64;
    let expected = workload.rooms as u64 * per_room * (per_room - 1) * u64::from(workload.messages);
    let bar = if workload.progress {
        let bar = ProgressBar::new(expected);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:40}] {human_pos}/{human_len} deliveries {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!(
            "{} R={} N={}",
            target.name(),
            workload.rooms,
            workload.members
        ));
        bar
    } else {
        ProgressBar::hidden()
    };
    // The start, sent once everybody is in: logins are not part of the run.
    let (go, start_rx) = watch::channel(None::<Instant>);
    let mut tasks = Vec::with_capacity(n);
    // Connect in waves so the listener's backlog is not the limit.
    let connect_permits = Arc::new(Semaphore::new(256));
    for index in 0..n {
        let workload = workload.clone();
        let barrier = Arc::clone(&barrier);
        let bar = bar.clone();
        let mut start_rx = start_rx.clone();
        let connect_permits = Arc::clone(&connect_permits);
        // A cluster's clients are spread over its nodes, in turn.
        let server = servers[index % servers.len()];
        tasks.push(tokio::spawn(async move {
            let permit = connect_permits
                .acquire_owned()
                .await
                .map_err(|e| e.to_string())?;
            let room = conn::room_name(index / workload.members);
            let connected = tokio::time::timeout_at(
                deadline.into(),
                conn::connect(target, server, index, local_ip(server, index), Some(&room)),
            )
            .await;
            drop(permit);
            let (sink, stream) = match connected {
                Ok(Ok(halves)) => halves,
                Ok(Err(e)) => {
                    barrier.wait().await;
                    return Err(format!("client {index}: {e}"));
                }
                Err(_) => {
                    barrier.wait().await;
                    return Err(format!("client {index}: login timed out"));
                }
            };
            barrier.wait().await;
            let start = match start_rx.wait_for(Option::is_some).await {
                Ok(start) => start.expect("waited for"),
                Err(_) => return Err(format!("client {index}: the run was called off")),
            };
            Ok(client(index, sink, stream, &workload, start, deadline, bar).await)
        }));
    }
    // All logged in (or failed): go.
    barrier.wait().await;
    let server_before = summed(server_pids);
    let bench_before = procstat::sample(None);
    let start = Instant::now();
    go.send_replace(Some(start));
    let mut results = Vec::with_capacity(n);
    let mut errors = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(result)) => results.push(result),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if !errors.is_empty() {
        return Err(format!(
            "{} clients failed; first: {}",
            errors.len(),
            errors[0]
        ));
    }
    let server_after = summed(server_pids);
    let bench_after = procstat::sample(None);

    // A bucket of a bounded run stays far below u32::MAX deliveries.
    let mut histogram = Histogram::<u32>::new(3).expect("valid precision");
    let mut faults = Faults::default();
    let mut deliveries = 0;
    let mut timed_out = false;
    for result in &results {
        histogram.add(&result.histogram).expect("same precision");
        faults.add(&result.receiver.finish(workload.messages));
        deliveries += result.receiver.delivered;
        timed_out |= result.timed_out;
    }
    let us = |q: f64| histogram.value_at_quantile(q) as f64;
    let cores = |before: Option<procstat::Sample>, after: Option<procstat::Sample>| {
        Some((after?.cpu_seconds - before?.cpu_seconds) / elapsed)
    };
    Ok(Report {
        target: target.name(),
        rooms: workload.rooms,
        members: workload.members,
        clients: n,
        messages_per_client: workload.messages,
        size: workload.size,
        window: workload.window,
        rate: workload.rate,
        deliveries,
        expected,
        seconds: elapsed,
        deliveries_per_sec: deliveries as f64 / elapsed,
        p50_us: us(0.5),
        p99_us: us(0.99),
        p999_us: us(0.999),
        max_us: histogram.max() as f64,
        faults,
        timed_out,
        server_cpu_cores: cores(server_before, server_after),
        server_peak_rss_mb: server_after.map(|s| s.peak_rss as f64 / 1_048_576.0),
        bench_cpu_cores: cores(bench_before, bench_after).unwrap_or(0.0),
    })
}

async fn client(
    index: usize,
    mut sink: conn::Sink,
    mut stream: conn::Stream,
    workload: &Workload,
    start: Instant,
    deadline: Instant,
    bar: ProgressBar,
) -> ClientResult {
    let n = workload.clients();
    let window = Arc::new(Semaphore::new(workload.window.max(1)));
    let sender_window = Arc::clone(&window);
    let (messages, size, rate) = (workload.messages, workload.size, workload.rate);
    let sender = tokio::spawn(async move {
        // Paced runs stamp the scheduled time, so a stall shows as latency.
        let interval = rate.map(|r| Duration::from_secs_f64(n as f64 / r));
        let offset = interval.map_or(Duration::ZERO, |i| i.mul_f64(index as f64 / n as f64));
        for seq in 0..messages {
            let Ok(permit) = sender_window.acquire().await else {
                return;
            };
            permit.forget();
            let stamp = match interval {
                Some(interval) => {
                    let due = start + offset + interval * seq;
                    tokio::time::sleep_until(due.into()).await;
                    due.duration_since(start)
                }
                None => start.elapsed(),
            };
            let body = payload::encode(index, seq, stamp.as_nanos() as u64, size);
            if sink.send(seq + 1, &body).await.is_err() {
                return;
            }
        }
    });
    let mut receiver = Receiver::new(index, workload.room_of(index));
    let mut histogram = Histogram::<u32>::new(3).expect("valid precision");
    let mut acks = 0u32;
    let mut unreported = 0u64;
    let mut timed_out = false;
    while !(receiver.complete(messages) && acks >= messages) {
        let incoming = match tokio::time::timeout_at(deadline.into(), stream.next()).await {
            Err(_) => {
                timed_out = true;
                break;
            }
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(incoming))) => incoming,
        };
        match incoming {
            Incoming::Message(body) => {
                let Some((sender, seq, sent_ns)) = payload::decode(&body) else {
                    continue;
                };
                let now_ns = start.elapsed().as_nanos() as u64;
                let _ = histogram.record((now_ns.saturating_sub(sent_ns) / 1000).max(1));
                receiver.record(sender, seq);
                unreported += 1;
                if unreported == 1024 {
                    bar.inc(unreported);
                    unreported = 0;
                }
            }
            Incoming::Ack => {
                acks += 1;
                window.add_permits(1);
            }
            Incoming::Other => {}
        }
    }
    bar.inc(unreported);
    window.close();
    sender.abort();
    ClientResult {
        receiver,
        histogram,
        timed_out,
    }
}

/// The processes' CPU time and memory added up (a cluster's nodes and its
/// Redis); `None` when there is none or one cannot be read.
fn summed(pids: &[u32]) -> Option<procstat::Sample> {
    if pids.is_empty() {
        return None;
    }
    let mut total = procstat::Sample {
        cpu_seconds: 0.0,
        rss: 0,
        peak_rss: 0,
    };
    for pid in pids {
        let sample = procstat::sample(Some(*pid))?;
        total.cpu_seconds += sample.cpu_seconds;
        total.rss += sample.rss;
        total.peak_rss += sample.peak_rss;
    }
    Some(total)
}
