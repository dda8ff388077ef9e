//! The classic Prometheus text format (0.0.4), for scrapers and tools that
//! do not ask for OpenMetrics (`promtool check metrics`, curl): the
//! registry's OpenMetrics text with what 0.0.4 lacks taken out. A counter's
//! family is named with its `_total` suffix there, `# UNIT` and `# EOF` do
//! not exist; samples are written the same way in both.

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `openmetrics` (as `prometheus-client` encodes it) in the 0.0.4 format.
pub fn from_openmetrics(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // A family's HELP comes before its TYPE, which says whether it is a
    // counter: held back until then.
    let mut help: Option<(&str, &str)> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            flush_help(&mut out, help.take(), "");
            help = Some(rest.split_once(' ').unwrap_or((rest, "")));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            let (suffix, kind) = match kind {
                "counter" => ("_total", "counter"),
                "unknown" => ("", "untyped"),
                other => ("", other),
            };
            match help.take() {
                Some((helped, text)) if helped == name => {
                    flush_help(&mut out, Some((name, text)), suffix)
                }
                held => flush_help(&mut out, held, ""),
            }
            out.push_str(&format!("# TYPE {name}{suffix} {kind}\n"));
            continue;
        }
        flush_help(&mut out, help.take(), "");
        out.push_str(line);
        out.push('\n');
    }
    flush_help(&mut out, help, "");
    out
}

fn flush_help(out: &mut String, help: Option<(&str, &str)>, suffix: &str) {
    if let Some((name, text)) = help {
        out.push_str(&format!("# HELP {name}{suffix} {text}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_take_their_suffix_and_openmetrics_only_lines_go() {
        let openmetrics = "# HELP confab_logins Successful logins.\n\
                           # TYPE confab_logins counter\n\
                           confab_logins_total 3\n\
                           # HELP confab_sent_bytes Bytes written.\n\
                           # TYPE confab_sent_bytes counter\n\
                           # UNIT confab_sent_bytes bytes\n\
                           confab_sent_bytes_total 10\n\
                           # HELP confab_connections Open.\n\
                           # TYPE confab_connections gauge\n\
                           confab_connections{state=\"handshake\"} 1\n\
                           # EOF\n";
        assert_eq!(
            from_openmetrics(openmetrics),
            "# HELP confab_logins_total Successful logins.\n\
             # TYPE confab_logins_total counter\n\
             confab_logins_total 3\n\
             # HELP confab_sent_bytes_total Bytes written.\n\
             # TYPE confab_sent_bytes_total counter\n\
             confab_sent_bytes_total 10\n\
             # HELP confab_connections Open.\n\
             # TYPE confab_connections gauge\n\
             confab_connections{state=\"handshake\"} 1\n"
        );
    }
}
