use super::*;
use tokio::io::AsyncWriteExt;

/// A read that exactly fills the buffer leaves the socket marked
/// readable with nothing to read; the reader must not then sit holding a
/// fresh buffer until the next frame comes, which may be never.
#[tokio::test]
async fn an_idle_reader_holds_no_buffer_after_a_read_that_filled_it() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let connecting = tokio::net::TcpStream::connect(listener.local_addr().unwrap());
    let (client, accepted) = tokio::join!(connecting, listener.accept());
    let mut client = client.unwrap();
    let (mut read_half, _write_half) = accepted.unwrap().0.into_split();

    client.write_all(&[0x80; READ_CHUNK]).await.unwrap();
    // All of it has arrived before the first read, so one read fills the buffer.
    let mut peeked = [0; READ_CHUNK];
    while read_half.peek(&mut peeked).await.unwrap() < READ_CHUNK {
        read_half.readable().await.unwrap();
    }
    let mut buf = BytesMut::new();
    assert_eq!(
        std::future::poll_fn(|cx| poll_read_more(&mut read_half, &mut buf, cx))
            .await
            .unwrap(),
        READ_CHUNK
    );
    assert_eq!(
        buf.capacity(),
        READ_CHUNK,
        "the read filled the buffer exactly"
    );

    // The frames are decoded and the buffer let go, as `run` does.
    buf = BytesMut::new();
    let first_poll = {
        std::future::poll_fn(|cx| Poll::Ready(poll_read_more(&mut read_half, &mut buf, cx))).await
    };
    assert!(first_poll.is_pending(), "nothing more was sent");
    assert_eq!(buf.capacity(), 0, "a waiting reader holds no read buffer");
    drop(client);
}
