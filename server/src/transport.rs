//! What the server needs from a network: a listener that accepts streams that
//! split into a read half and a write half. Real TCP implements it, and so does
//! turmoil's simulated network, so the same server code runs in both.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to one client.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    type Read: ReadHalf + 'static;
    type Write: AsyncWrite + Unpin + Send + 'static;
    type ReadRef<'a>: ReadHalf + 'a
    where
        Self: 'a;
    type WriteRef<'a>: AsyncWrite + Unpin + Send + 'a
    where
        Self: 'a;
    fn into_split(self) -> (Self::Read, Self::Write);
    /// Halves borrowing the stream, for a reader and a writer in one task:
    /// TCP's owned halves share the stream through an `Arc`, one more
    /// block for every idle connection.
    fn split_ref(&mut self) -> (Self::ReadRef<'_>, Self::WriteRef<'_>);
}

/// The reading half of a client stream.
pub trait ReadHalf: AsyncRead + Unpin + Send {
    /// Ready when a read would find bytes (or the end), without a buffer, so
    /// an idle connection need not hold one. Streams that cannot tell say
    /// "ready" at once, and the reader then waits in `read` with its buffer.
    fn poll_readable(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Whether a read that finds nothing after `poll_readable` said "ready"
    /// clears the readiness, so that waiting again is not a busy loop.
    const EXACT_READINESS: bool = false;
}

impl ReadHalf for tokio::net::tcp::OwnedReadHalf {
    /// The socket's read waker slot, which `poll_read` uses too: no waiter
    /// of its own to store, unlike `readable()`.
    fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.as_ref().poll_read_ready(cx)
    }

    const EXACT_READINESS: bool = true;
}

impl ReadHalf for tokio::net::tcp::ReadHalf<'_> {
    fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.as_ref().poll_read_ready(cx)
    }

    const EXACT_READINESS: bool = true;
}

/// TLS decrypts into buffers of its own whatever we do.
impl<S: AsyncRead + Send> ReadHalf for tokio::io::ReadHalf<S> {}

/// Accepts client streams.
pub trait Listener: Send + 'static {
    type Stream: Transport;
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

impl Transport for tokio::net::TcpStream {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;
    type ReadRef<'a> = tokio::net::tcp::ReadHalf<'a>;
    type WriteRef<'a> = tokio::net::tcp::WriteHalf<'a>;

    fn into_split(self) -> (Self::Read, Self::Write) {
        tokio::net::TcpStream::into_split(self)
    }

    fn split_ref(&mut self) -> (Self::ReadRef<'_>, Self::WriteRef<'_>) {
        tokio::net::TcpStream::split(self)
    }
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
        // Frames are small and interactive: do not wait to coalesce them,
        // with or without TLS on top.
        let _ = stream.set_nodelay(true);
        Ok((stream, peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        tokio::net::TcpListener::local_addr(self)
    }
}

/// TLS over any transport; the halves share the TLS state through a lock
/// that tokio holds only inside a single read or write call.
impl<S: Transport> Transport for tokio_rustls::server::TlsStream<S> {
    type Read = tokio::io::ReadHalf<Self>;
    type Write = tokio::io::WriteHalf<Self>;
    type ReadRef<'a> = tokio::io::ReadHalf<&'a mut Self>;
    type WriteRef<'a> = tokio::io::WriteHalf<&'a mut Self>;

    fn into_split(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }

    fn split_ref(&mut self) -> (Self::ReadRef<'_>, Self::WriteRef<'_>) {
        tokio::io::split(self)
    }
}

#[cfg(feature = "simulation")]
mod simulated {
    use super::*;

    impl Transport for turmoil::net::TcpStream {
        type Read = turmoil::net::tcp::OwnedReadHalf;
        type Write = turmoil::net::tcp::OwnedWriteHalf;
        type ReadRef<'a> = tokio::io::ReadHalf<&'a mut Self>;
        type WriteRef<'a> = tokio::io::WriteHalf<&'a mut Self>;

        fn into_split(self) -> (Self::Read, Self::Write) {
            turmoil::net::TcpStream::into_split(self)
        }

        fn split_ref(&mut self) -> (Self::ReadRef<'_>, Self::WriteRef<'_>) {
            tokio::io::split(self)
        }
    }

    impl ReadHalf for turmoil::net::tcp::OwnedReadHalf {}

    impl Listener for turmoil::net::TcpListener {
        type Stream = turmoil::net::TcpStream;

        async fn accept(&mut self) -> io::Result<(Self::Stream, SocketAddr)> {
            turmoil::net::TcpListener::accept(self).await
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            turmoil::net::TcpListener::local_addr(self)
        }
    }
}
