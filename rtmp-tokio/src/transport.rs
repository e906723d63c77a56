//! The byte stream [`Client::connect`](crate::client::Client::connect) makes: TCP, secured by
//! TLS for `rtmps://` URLs.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP connection, secured by TLS or not, whichever the URL asked for.
#[derive(Debug)]
pub struct MaybeTls(Inner);

#[derive(Debug)]
enum Inner {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::ClientTlsStream>),
}

impl MaybeTls {
    /// A plain TCP connection.
    pub fn plain(stream: TcpStream) -> Self {
        MaybeTls(Inner::Plain(stream))
    }

    /// A TLS connection (see [`crate::tls`]).
    #[cfg(feature = "tls")]
    pub fn tls(stream: crate::tls::ClientTlsStream) -> Self {
        MaybeTls(Inner::Tls(Box::new(stream)))
    }

    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        match &self.0 {
            Inner::Plain(stream) => stream,
            #[cfg(feature = "tls")]
            Inner::Tls(tls) => tls.get_ref().0,
        }
    }

    /// Whether the connection is secured by TLS.
    pub fn is_tls(&self) -> bool {
        !matches!(self.0, Inner::Plain(_))
    }
}

/// Runs `$body` with `$stream` pinned to the inner stream, whatever its kind (both are
/// `Unpin`).
macro_rules! each_inner {
    ($self:expr, $stream:ident => $body:expr) => {
        match &mut $self.get_mut().0 {
            Inner::Plain(stream) => {
                let $stream = Pin::new(stream);
                $body
            }
            #[cfg(feature = "tls")]
            Inner::Tls(stream) => {
                let $stream = Pin::new(&mut **stream);
                $body
            }
        }
    };
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_inner!(self, stream => stream.poll_read(cx, buf))
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_inner!(self, stream => stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_inner!(self, stream => stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.0 {
            Inner::Plain(stream) => stream.is_write_vectored(),
            #[cfg(feature = "tls")]
            Inner::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_inner!(self, stream => stream.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_inner!(self, stream => stream.poll_shutdown(cx))
    }
}
