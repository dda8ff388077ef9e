//! Retention in a cluster: one pass per interval for the whole cluster, not
//! one per node. The node that takes the retention lock (held for most of
//! an interval) trims the rooms' and conversations' streams, then tells
//! every node what went, so each node's replay buffers forget the same
//! messages (`[HISTORY-5]`).

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use redis::aio::ConnectionManager;
use redis::Value;

use super::log::stream_records;
use super::{keys, Cluster, ClusterError};
use crate::log::{Checkpoint, Policy, Pruned};

/// Entries read per step while looking for the first one young enough.
const SCAN: usize = 200;
/// Steps per stream and pass, at most: a huge backlog is trimmed over
/// several passes rather than in one long one.
const MAX_STEPS: usize = 1_000;

/// One retention pass, if no other node ran one in the last `interval`.
pub async fn pass(
    cluster: &Cluster,
    policy: Policy,
    interval: Duration,
    mut checkpoint: Checkpoint,
) -> Result<Pruned, ClusterError> {
    let mut conn = cluster.commands();
    let hold = (interval.as_millis() as u64).saturating_mul(9) / 10;
    let taken: Option<String> = redis::cmd("SET")
        .arg(keys::retention_lock())
        .arg(cluster.node_id())
        .arg("NX")
        .arg("PX")
        .arg(hold.max(1))
        .query_async(&mut conn)
        .await?;
    if taken.is_none() {
        return Ok(Pruned::default());
    }
    let cutoff = policy.max_age_ms.map(|age| policy.now.saturating_sub(age));
    let mut pruned = Pruned {
        before_time: cutoff,
        ..Pruned::default()
    };
    let rooms: Vec<String> = redis::cmd("SMEMBERS")
        .arg(keys::logs())
        .query_async(&mut conn)
        .await?;
    for room in rooms {
        checkpoint();
        let log = keys::room_log(&room);
        if let Some(max) = policy.max_per_room {
            let trimmed: usize = redis::cmd("XTRIM")
                .arg(&log)
                .arg("MAXLEN")
                .arg(max)
                .query_async(&mut conn)
                .await?;
            pruned.deleted += trimmed;
        }
        if let Some(cutoff) = cutoff {
            pruned.deleted += trim_older(&mut conn, &log, cutoff, 2).await?;
        }
        if let Some(first) = first_number(&mut conn, &log).await? {
            pruned.first_kept_seq.insert(room, first);
        }
    }
    if let Some(cutoff) = cutoff {
        let conversations: Vec<String> = redis::cmd("SMEMBERS")
            .arg(keys::direct_logs())
            .query_async(&mut conn)
            .await?;
        for conversation in conversations {
            checkpoint();
            let log = keys::direct_log(&conversation);
            pruned.deleted += trim_older(&mut conn, &log, cutoff, 1).await?;
        }
    }
    let () = redis::cmd("PUBLISH")
        .arg(keys::everyone_channel())
        .arg(encode(&pruned).as_ref())
        .query_async::<i64>(&mut conn)
        .await
        .map(drop)?;
    Ok(pruned)
}

/// Removes the entries of `log` older than `cutoff`, up to the first young
/// enough one. A record holds `numbers` decimal numbers before its time.
async fn trim_older(
    conn: &mut ConnectionManager,
    log: &str,
    cutoff: u64,
    numbers: usize,
) -> Result<usize, ClusterError> {
    let mut start = "-".to_string();
    for _ in 0..MAX_STEPS {
        let reply: Value = redis::cmd("XRANGE")
            .arg(log)
            .arg(&start)
            .arg("+")
            .arg("COUNT")
            .arg(SCAN)
            .query_async(conn)
            .await?;
        let records = stream_records(reply)?;
        let Some(last) = records.last() else {
            // All of it is old: the stream goes, its key too.
            let removed: usize = redis::cmd("XTRIM")
                .arg(log)
                .arg("MAXLEN")
                .arg(0)
                .query_async(conn)
                .await?;
            return Ok(removed);
        };
        if let Some(young) = records.iter().find(|r| time_of(r, numbers) >= Some(cutoff)) {
            let Some(first) = leading_number(young) else {
                return Ok(0);
            };
            let removed: usize = redis::cmd("XTRIM")
                .arg(log)
                .arg("MINID")
                .arg(format!("{first}-1"))
                .query_async(conn)
                .await?;
            return Ok(removed);
        }
        let Some(last) = leading_number(last) else {
            return Ok(0);
        };
        start = format!("({last}-1");
    }
    Ok(0)
}

/// The first number of the oldest record of `log`: a room's first kept seq.
async fn first_number(
    conn: &mut ConnectionManager,
    log: &str,
) -> Result<Option<u64>, ClusterError> {
    let reply: Value = redis::cmd("XRANGE")
        .arg(log)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    Ok(stream_records(reply)?
        .first()
        .and_then(|r| leading_number(r)))
}

fn leading_number(record: &[u8]) -> Option<u64> {
    let end = record.iter().position(|&b| b == b' ')?;
    std::str::from_utf8(&record[..end]).ok()?.parse().ok()
}

/// The time of a record that starts with `numbers` decimal numbers.
fn time_of(record: &[u8], numbers: usize) -> Option<u64> {
    let mut rest = record;
    for _ in 0..numbers {
        let space = rest.iter().position(|&b| b == b' ')?;
        rest = &rest[space + 1..];
    }
    (rest.len() >= 8).then(|| rest.get_u64())
}

/// What a pass removed, as every node hears it: `R`, the time before which
/// messages went (0: none), then per room its key (u16 length) and first
/// kept seq.
fn encode(pruned: &Pruned) -> BytesMut {
    let mut out = BytesMut::new();
    out.put_u8(b'R');
    out.put_u64(pruned.before_time.unwrap_or(0));
    for (room, seq) in &pruned.first_kept_seq {
        let room = &room.as_bytes()[..room.len().min(usize::from(u16::MAX))];
        out.put_u16(room.len() as u16);
        out.put_slice(room);
        out.put_u64(*seq);
    }
    out
}

/// The rules of a pass another node ran; `None` when malformed.
pub fn decode(payload: &[u8]) -> Option<(Option<u64>, HashMap<String, u64>)> {
    let mut rest = payload.strip_prefix(b"R")?;
    if rest.len() < 8 {
        return None;
    }
    let before = rest.get_u64();
    let mut rooms = HashMap::new();
    while !rest.is_empty() {
        if rest.len() < 2 {
            return None;
        }
        let len = usize::from(rest.get_u16());
        if rest.len() < len + 8 {
            return None;
        }
        let room = std::str::from_utf8(&rest[..len]).ok()?.to_string();
        rest.advance(len);
        rooms.insert(room, rest.get_u64());
    }
    Some(((before > 0).then_some(before), rooms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_reads_back_as_every_node_hears_it() {
        let mut pruned = Pruned {
            before_time: Some(1_000),
            ..Pruned::default()
        };
        pruned.first_kept_seq.insert("lobby".into(), 41);
        pruned.first_kept_seq.insert("ünï".into(), 7);
        let (before, rooms) = decode(&encode(&pruned)).expect("well-formed");
        assert_eq!(before, Some(1_000));
        assert_eq!(rooms, pruned.first_kept_seq);
        let encoded = encode(&pruned);
        for cut in 1..encoded.len() {
            // Any cut that ends inside an entry is refused; none panics.
            let _ = decode(&encoded[..cut]);
        }
        assert!(decode(b"Rshort").is_none());
    }

    #[test]
    fn a_records_time_follows_its_numbers() {
        let mut record = b"12 99 ".to_vec();
        record.extend_from_slice(&5_000u64.to_be_bytes());
        assert_eq!(time_of(&record, 2), Some(5_000));
        assert_eq!(leading_number(&record), Some(12));
        assert_eq!(time_of(b"12 ", 2), None);
    }
}
