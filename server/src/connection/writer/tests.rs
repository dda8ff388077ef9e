use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;

use super::run;
use crate::connection::outbox::{GlobalQueue, Outbox};
use crate::metrics::Metrics;

/// A socket that takes everything and remembers each write call's bytes.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

impl AsyncWrite for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().push(buf.to_vec());
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A frame queued by a task that runs after the writer was woken goes out
/// in the same write as the frame that woke it.
#[tokio::test(flavor = "current_thread")]
async fn frames_queued_before_the_write_share_it() {
    let outbox = Arc::new(Outbox::new(GlobalQueue::new(1 << 30, 100, 1 << 20)));
    let metrics = Arc::new(Metrics::new(Default::default(), None));
    let socket = Recorder::default();
    let writer = {
        let (outbox, metrics, socket) = (Arc::clone(&outbox), Arc::clone(&metrics), socket.clone());
        tokio::spawn(async move { run(socket, &outbox, &metrics).await })
    };
    tokio::task::yield_now().await; // the writer now waits for frames
    outbox.push(Bytes::from_static(b"first")).unwrap();
    let later = Arc::clone(&outbox);
    // Runnable after the writer: it runs while the writer waits its turn.
    tokio::spawn(async move { later.push(Bytes::from_static(b"second")).unwrap() });
    while socket.0.lock().unwrap().is_empty() {
        tokio::task::yield_now().await;
    }
    assert_eq!(*socket.0.lock().unwrap(), [b"firstsecond".to_vec()]);
    outbox.close();
    writer.await.unwrap();
}
