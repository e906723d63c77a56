//! The server side: accept connections and answer each one's requests in a task of its own.
//!
//! [`Server`] accepts TCP connections; [`ServerSession`] drives one connection over any byte
//! stream (TCP, TLS, QUIC). The application loops on [`ServerSession::next_event`], answers
//! the requests among the events (connect, publish, play) and sends media to players. Each
//! session is independent: give each its own task, and a slow or misbehaving peer holds up
//! nobody else.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use rand::SeedableRng;
use rtmp_proto::session::server::{ServerConnection, ServerConnectionConfig, ServerEvent};
use rtmp_proto::session::SessionError;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

use crate::driver::{Clock, DirectWrite, Driver, WakeupHold};
use crate::Error;

mod commands;

/// A TCP listener handing out one [`ServerSession`] per accepted connection.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use rtmp_tokio::server::Server;
/// use rtmp_tokio::proto::session::server::ServerEvent;
///
/// let server = Server::bind("127.0.0.1:1935").await?;
/// loop {
///     let (mut session, peer) = server.accept().await?;
///     tokio::spawn(async move {
///         while let Ok(event) = session.next_event().await {
///             if let ServerEvent::ConnectRequest(request) = event {
///                 let _ = session.accept_connect(request.id);
///             }
///         }
///         println!("{peer}: {}", session.close_reason().unwrap());
///     });
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: ServerConnectionConfig,
}

impl Server {
    /// Listens on `address` with the default configuration.
    pub async fn bind(address: impl ToSocketAddrs) -> io::Result<Server> {
        Ok(Server::from_listener(
            TcpListener::bind(address).await?,
            ServerConnectionConfig::default(),
        ))
    }

    /// Serves connections from `listener`, each configured with `config`.
    pub fn from_listener(listener: TcpListener, config: ServerConnectionConfig) -> Server {
        Server { listener, config }
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The configuration each new connection gets.
    pub fn config_mut(&mut self) -> &mut ServerConnectionConfig {
        &mut self.config
    }

    /// Waits for the next connection. Cancel-safe. Nagle's algorithm is turned off on it:
    /// the session writes whole batches itself.
    pub async fn accept(&self) -> io::Result<(ServerSession<TcpStream>, SocketAddr)> {
        let (stream, peer) = self.listener.accept().await?;
        stream.set_nodelay(true)?;
        limit_unacked(&stream, self.config.options.unacked_timeout)?;
        let hold = WakeupHold::for_tcp(&stream);
        let mut session = ServerSession::new(stream, self.config.clone());
        session.driver.set_wakeup_hold(hold);
        session.driver.set_try_write(crate::driver::tcp_try_send);
        Ok((session, peer))
    }
}

/// One server connection over a byte stream `S`: a [`ServerConnection`] and the I/O that
/// drives it.
///
/// [`next_event`](Self::next_event) reads, writes and keeps time; the commands
/// ([`accept_connect`](Self::accept_connect), [`send_video`](Self::send_video)...) only queue,
/// and what they queued is written by the next call of `next_event` or
/// [`flush`](Self::flush). `next_event` is cancel-safe, so it can wait in `tokio::select!` next
/// to a channel of frames to send.
pub struct ServerSession<S> {
    driver: Driver<S, ServerConnection>,
    /// Why the connection closed, once the `Closed` event was handed out (it is repeated).
    closed: Option<SessionError>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> ServerSession<S> {
    /// A session over `stream`, an accepted connection that has not sent anything yet.
    pub fn new(stream: S, config: ServerConnectionConfig) -> Self {
        let clock = Clock::start();
        let mut rng = rand::rngs::StdRng::from_os_rng();
        let conn = ServerConnection::new(config, &mut rng, clock.now());
        ServerSession {
            driver: Driver::new(stream, conn, clock),
            closed: None,
        }
    }

    /// The next event, reading and writing as needed. The last event is
    /// [`ServerEvent::Closed`] (the connection's last answers are written first, for a few
    /// seconds at most); after it, `Err` says why the connection ended (as
    /// [`close_reason`](Self::close_reason) does).
    ///
    /// Cancel-safe: if the future is dropped before it completes, no event and no byte is lost.
    pub async fn next_event(&mut self) -> Result<ServerEvent, Error> {
        std::future::poll_fn(|cx| self.poll_next_event(cx)).await
    }

    /// The next event, waiting at most `timeout`: `Ok(None)` if nothing came.
    pub async fn next_event_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<ServerEvent>, Error> {
        match tokio::time::timeout(timeout, self.next_event()).await {
            Ok(event) => event.map(Some),
            Err(_) => Ok(None),
        }
    }

    fn poll_next_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<ServerEvent, Error>> {
        if self.closed.is_some() {
            return Poll::Ready(Err(self.end_reason()));
        }
        let event =
            ready!(self.driver.poll_event(cx)).unwrap_or(ServerEvent::Closed(SessionError::Closed));
        if let ServerEvent::Closed(error) = &event {
            self.closed = Some(error.clone());
        }
        Poll::Ready(Ok(event))
    }

    /// [`next_event`](Self::next_event) for the relay, polled, which takes the `Closed` event
    /// again rather than an `Err` once the connection ended.
    pub(crate) fn poll_event_or_closed(&mut self, cx: &mut Context<'_>) -> Poll<ServerEvent> {
        Poll::Ready(match (ready!(self.poll_next_event(cx)), &self.closed) {
            (Ok(event), _) => event,
            (Err(_), Some(error)) => ServerEvent::Closed(error.clone()),
            (Err(_), None) => ServerEvent::Closed(SessionError::Closed),
        })
    }

    /// Runs `f` with the connection and a writer that takes what the stream accepts at once
    /// (see [`DirectWrite`]), for the relay to write a player's frame in the step that sends
    /// it.
    #[inline]
    pub(crate) fn with_direct_write<R>(
        &mut self,
        f: impl FnOnce(&mut ServerConnection, &mut DirectWrite<'_, S>) -> R,
    ) -> R {
        self.driver.with_direct_write(f)
    }

    /// Writes what is queued, as far as the stream takes it now (`cx`'s waker is woken when
    /// it takes more); whether the session's task must look at it (a write failed).
    pub(crate) fn push_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.driver.poll_push(cx)
    }

    fn end_reason(&self) -> Error {
        self.driver.ended().cloned().unwrap_or(Error::Closed)
    }

    /// Read pacing: once a read has taken everything the peer had sent, the next one waits
    /// about `interval`, so that a connection receiving a steady stream (a publisher's) wakes
    /// and reads a few times a second rather than for every frame, at the cost of that much
    /// latency. The pause shrinks for a fast peer, so that no more than 64 KiB pile up
    /// meanwhile. Only for transports that buffer that much (TCP, TLS, QUIC do; a small
    /// in-memory pipe does not, and pacing would throttle it). On Linux, a session from
    /// [`Server::accept`] has the kernel end the pause instead (`SO_RCVLOWAT` set to what the
    /// peer sends in `interval`, released after twice that), so that neither the peer's
    /// segments nor a timer wake the runtime in between. `None` (the default) reads as soon
    /// as bytes arrive.
    pub fn set_read_pacing(&mut self, interval: Option<Duration>) {
        self.driver.set_read_interval(interval);
    }

    /// Bytes queued or being written.
    pub fn pending_bytes(&self) -> usize {
        self.driver.conn.pending_bytes()
    }

    /// Writes everything queued (and keeps reading meanwhile, so pings and acknowledgements
    /// are answered). `Err` if the connection ended, saying why. Cancel-safe.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.driver.flush().await;
        match self.driver.ended() {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }

    /// Why the connection ended, once [`ServerEvent::Closed`] was returned: the peer closed
    /// it, an I/O error, a protocol error, or our own [`close`](Self::close).
    pub fn close_reason(&self) -> Option<&Error> {
        self.driver.ended()
    }

    /// Closes the connection: what is queued is still written (for a few seconds at most) by
    /// the following [`next_event`](Self::next_event) calls, which then return `Closed`.
    pub fn close(&mut self) {
        self.driver.close();
    }

    /// Closes the connection and waits until its last bytes are written.
    pub async fn shutdown(&mut self) {
        self.close();
        while let Ok(event) = self.next_event().await {
            if matches!(event, ServerEvent::Closed(_)) {
                break;
            }
        }
    }

    /// The session's clock: what its connection is told the time is, for the sans-IO calls
    /// that take one (the relay's, for one).
    pub fn now(&self) -> rtmp_proto::session::Instant {
        self.driver.clock.now()
    }

    /// The byte stream, e.g. for its peer address.
    pub fn transport(&self) -> &S {
        self.driver.stream()
    }

    /// The byte stream, mutably (socket options).
    pub fn transport_mut(&mut self) -> &mut S {
        self.driver.stream_mut()
    }

    /// The sans-IO connection, for the commands this type does not wrap (calls, data
    /// messages, Stream Dry, pings...) and its getters. Do not feed or poll it: the session
    /// does.
    pub fn connection(&mut self) -> &mut ServerConnection {
        &mut self.driver.conn
    }
}

/// The events of [`next_event`](ServerSession::next_event) as a stream, ending after
/// [`ServerEvent::Closed`] ([`close_reason`](ServerSession::close_reason) says why).
impl<S: AsyncRead + AsyncWrite + Unpin + Send> futures_core::Stream for ServerSession<S> {
    type Item = ServerEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ServerEvent>> {
        Poll::Ready(ready!(self.get_mut().poll_next_event(cx)).ok())
    }
}

/// Applies [`ServerOptions::unacked_timeout`](rtmp_proto::session::ServerOptions) to an
/// accepted TCP stream (`TCP_USER_TIMEOUT`, Linux only; elsewhere a no-op).
pub(crate) fn limit_unacked(stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        socket2::SockRef::from(stream).set_tcp_user_timeout(timeout)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (stream, timeout);
        Ok(())
    }
}
