//! The body every benchmark message carries: who sent it, its number, and
//! when (ns since the run's start, one clock for senders and receivers).
//! `"{sender}:{seq}:{sent_ns}:"` padded with `x` to the requested size.

/// The body for message `seq` of `sender`, at least `size` bytes.
pub fn encode(sender: usize, seq: u32, sent_ns: u64, size: usize) -> String {
    let mut body = format!("{sender}:{seq}:{sent_ns}:");
    if body.len() < size {
        body.extend(std::iter::repeat_n('x', size - body.len()));
    }
    body
}

/// `(sender, seq, sent_ns)` from a body, if it is one of ours.
pub fn decode(body: &[u8]) -> Option<(usize, u32, u64)> {
    let mut fields = body.splitn(4, |&b| b == b':');
    let number =
        |field: Option<&[u8]>| -> Option<u64> { std::str::from_utf8(field?).ok()?.parse().ok() };
    let sender = number(fields.next())? as usize;
    let seq = u32::try_from(number(fields.next())?).ok()?;
    let sent_ns = number(fields.next())?;
    Some((sender, seq, sent_ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        let body = encode(12, 345, 6789, 100);
        assert_eq!(body.len(), 100);
        assert_eq!(decode(body.as_bytes()), Some((12, 345, 6789)));
        assert_eq!(decode(b"not:ours"), None);
        assert_eq!(decode(b"1:2"), None);
    }
}
