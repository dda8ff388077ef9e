//! CPU time and memory of a process, read from /proc (Linux).

use std::fs;

/// Clock ticks per second of /proc/PID/stat times (USER_HZ; 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// User + system CPU seconds so far.
    pub cpu_seconds: f64,
    /// Resident set size now, bytes.
    pub rss: u64,
    /// Peak resident set size, bytes.
    pub peak_rss: u64,
}

/// `pid` of `None` is this process.
pub fn sample(pid: Option<u32>) -> Option<Sample> {
    let dir = pid.map_or("/proc/self".to_string(), |p| format!("/proc/{p}"));
    let stat = fs::read_to_string(format!("{dir}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let status = fs::read_to_string(format!("{dir}/status")).ok()?;
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    Some(Sample {
        cpu_seconds: (utime + stime) / TICKS_PER_SECOND,
        rss: kb("VmRSS:"),
        peak_rss: kb("VmHWM:"),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let sample = super::sample(None).expect("/proc/self is readable");
        assert!(sample.rss > 0 && sample.peak_rss >= sample.rss);
    }
}
