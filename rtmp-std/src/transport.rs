//! The byte streams a connection runs over: anything `Read + Write` that can bound how long a
//! read blocks, so that the connection's deadlines (pings, timeouts) are met while it waits.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// A blocking byte stream a connection can run over: TCP, a Unix socket, TLS over either, an
/// in-memory pipe in a test.
///
/// A read that times out must fail with [`io::ErrorKind::WouldBlock`] or
/// [`io::ErrorKind::TimedOut`] (as `TcpStream`'s do) and leave the stream usable. A stream that
/// cannot time out a read can be wrapped in [`Untimed`].
pub trait Transport: Read + Write {
    /// Bounds how long the following reads block: `None` blocks until bytes come. Never called
    /// with a zero duration.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Says to the peer that we will write no more (TCP's FIN), after the last bytes were
    /// written. A connection closed on purpose (by the application, or refusing a connect)
    /// then reads until the peer closes its side too (for at most 2 s), so that closing with
    /// unread bytes does not reset the connection and destroy the last answer before the peer
    /// reads it. The default fails with
    /// [`io::ErrorKind::Unsupported`]: the stream is dropped at once.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

/// Any `Read + Write` stream as a [`Transport`] whose reads cannot time out: the connection's
/// deadlines (ping, idle and handshake timeouts, and the waits of the client's calls) are only
/// checked when bytes arrive. Fine for a peer that talks steadily; prefer a real
/// [`Transport`] otherwise.
#[derive(Debug)]
pub struct Untimed<S>(pub S);

impl<S: Read> Read for Untimed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<S: Write> Write for Untimed<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<S: Read + Write> Transport for Untimed<S> {
    fn set_read_timeout(&mut self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

/// A TCP connection, secured by TLS or not: what [`Client::connect`](crate::client::Client)
/// and [`Server::accept`](crate::server::Server::accept) give, whichever the URL or the server
/// asked for.
pub struct MaybeTls(Inner);

enum Inner {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Client(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    #[cfg(feature = "tls")]
    Server(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl MaybeTls {
    /// A plain TCP connection.
    pub fn plain(stream: TcpStream) -> Self {
        MaybeTls(Inner::Plain(stream))
    }

    #[cfg(feature = "tls")]
    pub(crate) fn tls_client(
        stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    ) -> Self {
        MaybeTls(Inner::Client(Box::new(stream)))
    }

    #[cfg(feature = "tls")]
    pub(crate) fn tls_server(
        stream: rustls::StreamOwned<rustls::ServerConnection, TcpStream>,
    ) -> Self {
        MaybeTls(Inner::Server(Box::new(stream)))
    }

    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        match &self.0 {
            Inner::Plain(stream) => stream,
            #[cfg(feature = "tls")]
            Inner::Client(tls) => &tls.sock,
            #[cfg(feature = "tls")]
            Inner::Server(tls) => &tls.sock,
        }
    }

    /// Whether the connection is secured by TLS.
    pub fn is_tls(&self) -> bool {
        !matches!(self.0, Inner::Plain(_))
    }
}

impl std::fmt::Debug for MaybeTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaybeTls")
            .field("tcp", self.tcp())
            .field("tls", &self.is_tls())
            .finish()
    }
}

/// Runs `$body` with `$stream` bound to the inner stream, whatever its kind.
macro_rules! each_inner {
    ($self:expr, $stream:ident => $body:expr) => {
        match &mut $self.0 {
            Inner::Plain($stream) => $body,
            #[cfg(feature = "tls")]
            Inner::Client($stream) => $body,
            #[cfg(feature = "tls")]
            Inner::Server($stream) => $body,
        }
    };
}

impl Read for MaybeTls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        each_inner!(self, stream => stream.read(buf))
    }
}

impl Write for MaybeTls {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each_inner!(self, stream => stream.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        // rustls' `StreamOwned` writes one slice per call; its `Stream` takes them all into
        // one batch of records.
        match &mut self.0 {
            Inner::Plain(stream) => stream.write_vectored(bufs),
            #[cfg(feature = "tls")]
            Inner::Client(tls) => {
                rustls::Stream::new(&mut tls.conn, &mut tls.sock).write_vectored(bufs)
            }
            #[cfg(feature = "tls")]
            Inner::Server(tls) => {
                rustls::Stream::new(&mut tls.conn, &mut tls.sock).write_vectored(bufs)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        each_inner!(self, stream => stream.flush())
    }
}

impl Transport for MaybeTls {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match &mut self.0 {
            Inner::Plain(stream) => stream.shutdown(Shutdown::Write),
            #[cfg(feature = "tls")]
            Inner::Client(tls) => {
                tls.conn.send_close_notify();
                tls.flush()?;
                tls.sock.shutdown(Shutdown::Write)
            }
            #[cfg(feature = "tls")]
            Inner::Server(tls) => {
                tls.conn.send_close_notify();
                tls.flush()?;
                tls.sock.shutdown(Shutdown::Write)
            }
        }
    }
}
