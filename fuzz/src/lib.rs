//! Helpers shared by the fuzz targets in `fuzz_targets/`.

pub mod registry;

/// The lengths of the reads a stream of `len` bytes is delivered in, chosen
/// by one input byte: a socket may split frames anywhere (`[FRAMING-6]`).
///
/// - `mode & 3 == 0`: everything in one read;
/// - `mode & 3 == 1`: one byte per read;
/// - `mode & 3 == 2`: reads of `(mode >> 2) + 1` bytes (1..=64);
/// - `mode & 3 == 3`: reads of 1..=64 bytes from a generator seeded by `mode`.
pub fn chunks(mode: u8, len: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut left = len;
    let mut state = u32::from(mode) | 0x9E37_0000;
    while left > 0 {
        let size = match mode & 0b11 {
            0 => left,
            1 => 1,
            2 => usize::from(mode >> 2) + 1,
            _ => {
                // xorshift32
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 64) as usize + 1
            }
        };
        let size = size.min(left);
        sizes.push(size);
        left -= size;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_cover_the_stream_exactly() {
        for mode in 0..=u8::MAX {
            for len in [0, 1, 5, 63, 64, 65, 1000] {
                let sizes = chunks(mode, len);
                assert_eq!(sizes.iter().sum::<usize>(), len);
                assert!(sizes.iter().all(|&size| size > 0));
            }
        }
    }
}
