//! How events read as text: time stamps and the safety of untrusted text.

use chrono::{DateTime, Local, SecondsFormat, Utc};

/// How time stamps are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeStyle {
    /// `2026-11-25 14:03:07` in the user's time zone.
    Local,
    /// `2026-11-25T13:03:07.250Z`, ISO-8601 in UTC.
    Utc,
}

/// A server time stamp (`time`, spec section 3) as text.
pub fn timestamp(millis: u64, style: TimeStyle) -> String {
    let Some(utc) = DateTime::<Utc>::from_timestamp_millis(millis as i64) else {
        return format!("@{millis}");
    };
    match style {
        TimeStyle::Local => utc
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        TimeStyle::Utc => utc.to_rfc3339_opts(SecondsFormat::Millis, true),
    }
}

/// Shorter local time for the terminal UI.
pub fn clock(millis: u64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis as i64)
        .map(|t| t.with_timezone(&Local).format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Replaces control characters so that a peer cannot move the cursor or
/// change the terminal (`[SEC-5]`). Newlines become a visible `⏎`.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => '⏎',
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            // Bidi overrides could reorder what follows on the line.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// A message body for one-line-per-event output: its lines (`[BODY-1]`)
/// each made safe, the later ones after `indent` so that they sit under the
/// header line.
pub fn body_lines(body: &str, indent: &str) -> String {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<String> = body.split('\n').map(sanitize).collect();
    lines.join(&format!("\n{indent}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_cannot_reach_the_terminal() {
        // spec: SEC-5
        assert_eq!(sanitize("hi\u{1b}[2J there"), "hi\u{FFFD}[2J there");
        assert_eq!(sanitize("a\nb\u{202E}c"), "a⏎b\u{FFFD}c");
        assert_eq!(sanitize("héllo 日本"), "héllo 日本");
    }

    #[test]
    fn utc_stamps_are_iso_8601() {
        assert_eq!(
            timestamp(1_795_615_387_250, TimeStyle::Utc),
            "2026-11-25T14:03:07.250Z"
        );
        assert_eq!(timestamp(0, TimeStyle::Utc), "1970-01-01T00:00:00.000Z");
    }
}
