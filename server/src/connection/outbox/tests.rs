use super::*;

fn outbox(depth: usize) -> Outbox {
    Outbox::new(GlobalQueue::new(1 << 30, depth, 1 << 20))
}

#[tokio::test]
async fn overflow_drops_the_queue_and_reports_it() {
    // spec: FLOW-3
    let outbox = outbox(2);
    outbox.push(Bytes::from_static(b"a")).unwrap();
    outbox.push(Bytes::from_static(b"b")).unwrap();
    assert_eq!(outbox.push(Bytes::from_static(b"c")), Err(Overflow));
    let (batch, status) = outbox.drain().await;
    assert_eq!(status, Lifecycle::Overflowed);
    assert!(batch.is_empty());
}

#[test]
fn an_idle_outbox_fits_a_small_block() {
    // With the `Arc` counts, 96 bytes: jemalloc's 96-byte size class
    // (112 from 97 bytes). Every connection has one.
    let size = std::mem::size_of::<Outbox>();
    assert!(size <= 80, "an outbox grew to {size} bytes");
}

#[tokio::test]
async fn close_with_flushes_queued_frames_first() {
    let outbox = outbox(1);
    outbox.push(Bytes::from_static(b"a")).unwrap();
    outbox.close_with(ErrorCode::NORMAL, Bytes::from_static(b"bye"));
    outbox.push(Bytes::from_static(b"late")).unwrap();
    let (batch, status) = outbox.drain().await;
    assert_eq!(status, Lifecycle::Closing(ErrorCode::NORMAL));
    let frames: Vec<&[u8]> = batch.iter().map(|frame| &frame[..]).collect();
    assert_eq!(frames, [&b"a"[..], &b"bye"[..]]);
}

mod byte_tests {
    use super::*;

    #[tokio::test]
    async fn bytes_count_until_written_and_overflow_at_the_budget() {
        // spec: MEM-2
        let global = GlobalQueue::new(1 << 30, 100, 10);
        let outbox = Outbox::new(Arc::clone(&global));
        outbox.push(Bytes::from_static(b"12345")).unwrap();
        let (batch, _) = outbox.drain().await;
        // Handed to the writer but not written: still counted.
        assert_eq!(global.total(), 5);
        outbox.push(Bytes::from_static(b"1234")).unwrap();
        assert_eq!(outbox.push(Bytes::from_static(b"12")), Err(Overflow));
        assert_eq!(global.total(), 5, "the dropped queue left the count");
        outbox.written(batch.iter().map(|frame| frame.len()).sum());
        assert_eq!(global.total(), 0);
    }

    #[tokio::test]
    async fn past_the_global_budget_only_big_queues_are_cut() {
        // spec: MEM-2
        let global = GlobalQueue::new(40, 100, 80);
        let big = Outbox::new(Arc::clone(&global));
        let small = Outbox::new(Arc::clone(&global));
        for _ in 0..4 {
            big.push(Bytes::from_static(b"0123456789")).unwrap();
        }
        // The budget is spent: the big queue (40 > 80 / 8) is cut...
        assert_eq!(big.push(Bytes::from_static(b"x")), Err(Overflow));
        // ...and its bytes are free again, so the small one is served.
        small.push(Bytes::from_static(b"0123456789")).unwrap();
        drop(small);
        assert_eq!(global.total(), 0, "a dropped outbox leaves the count");
    }

    #[tokio::test]
    async fn paced_waits_for_the_writer() {
        let outbox = Outbox::new(GlobalQueue::new(1 << 30, 100, 10));
        outbox.push(Bytes::from_static(b"123456")).unwrap();
        let mut paced = std::pin::pin!(outbox.paced());
        assert!(futures_util::poll!(paced.as_mut()).is_pending());
        outbox.written(6);
        assert!(futures_util::poll!(paced.as_mut()).is_ready());
    }
}
