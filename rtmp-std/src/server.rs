//! The server side: accept connections and answer their requests, one thread per connection
//! or in a loop the application drives.
//!
//! [`Server`] listens on TCP (TLS too, with the `tls` feature) and gives each connection as a
//! [`ServerSession`], either from [`Server::accept`] or to a handler [`Server::serve`] runs on a
//! thread of its own. A session hands out the connection's [`ServerEvent`]s; the application
//! answers the requests among them (connect, publish, play) and sends media to players.
//!
//! ```no_run
//! use rtmp_std::proto::session::server::ServerEvent;
//! use rtmp_std::server::Server;
//!
//! let server = Server::bind("127.0.0.1:1935")?;
//! server.serve(|mut session, _peer| {
//!     while let Ok(event) = session.next_event() {
//!         let _ = match event {
//!             ServerEvent::ConnectRequest(request) => session.accept_connect(request.id),
//!             ServerEvent::PublishRequest(request) => session.accept_publish(request.id),
//!             ServerEvent::PlayRequest(request) => {
//!                 session.reject_play(request.id, "NetStream.Play.StreamNotFound", "no such stream")
//!             }
//!             ServerEvent::Video { timestamp, payload, .. } => {
//!                 println!("video at {timestamp} ms, {} bytes", payload.len());
//!                 Ok(())
//!             }
//!             _ => Ok(()),
//!         };
//!     }
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use bytes::Bytes;
use rand::SeedableRng;
use rtmp_proto::amf::Value;
use rtmp_proto::session::server::{
    RequestId, ServerConnection, ServerConnectionConfig, ServerEvent, StatusLevel, StreamKind,
};
use rtmp_proto::session::{ApiError, SendStatus};

use crate::driver::{Clock, Driver};
use crate::transport::MaybeTls;
use crate::{Error, Transport};

/// Listens for RTMP connections on TCP.
pub struct Server {
    listener: TcpListener,
    config: ServerConnectionConfig,
    write_timeout: Option<Duration>,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ServerConfig>>,
    stopping: Arc<AtomicBool>,
}

impl Server {
    /// Listens on `address` with the default configuration (see
    /// [`config_mut`](Self::config_mut)).
    pub fn bind(address: impl ToSocketAddrs) -> io::Result<Server> {
        let listener = TcpListener::bind(address)?;
        Ok(Server::from_listener(
            listener,
            ServerConnectionConfig::default(),
        ))
    }

    /// Serves connections from `listener`, each configured with `config`.
    pub fn from_listener(listener: TcpListener, config: ServerConnectionConfig) -> Server {
        Server {
            listener,
            config,
            write_timeout: Some(Duration::from_secs(30)),
            #[cfg(feature = "tls")]
            tls: None,
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The address listened on (the port the OS chose for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The configuration the next connections get.
    pub fn config_mut(&mut self) -> &mut ServerConnectionConfig {
        &mut self.config
    }

    /// A write to a client that blocks this long (the client does not read) ends its
    /// connection. Default 30 s.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout;
    }

    /// Serves RTMPS: every connection accepted from now on starts with a TLS handshake.
    #[cfg(feature = "tls")]
    pub fn set_tls(&mut self, tls: crate::tls::TlsServerConfig) {
        self.tls = Some(tls.rustls_config().clone());
    }

    /// Something that stops [`serve`](Self::serve) (and makes [`accept`](Self::accept) fail)
    /// from any thread.
    pub fn stop_handle(&self) -> io::Result<StopHandle> {
        let mut address = self.local_addr()?;
        // A listener on every address is woken through loopback.
        if address.ip().is_unspecified() {
            address.set_ip(match address.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        Ok(StopHandle {
            stopping: self.stopping.clone(),
            address,
        })
    }

    /// Waits for the next connection. TLS, if set, is negotiated by the session's first read,
    /// on the thread that drives it, so a slow client holds up no one else.
    pub fn accept(&self) -> io::Result<(ServerSession<MaybeTls>, SocketAddr)> {
        let (tcp, peer) = self.listener.accept()?;
        if self.stopping.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the server was stopped",
            ));
        }
        tcp.set_nodelay(true)?;
        limit_unacked(&tcp, self.config.options.unacked_timeout)?;
        tcp.set_write_timeout(self.write_timeout)?;
        let stream = self.wrap(tcp)?;
        Ok((ServerSession::new(stream, self.config.clone()), peer))
    }

    #[cfg(feature = "tls")]
    fn wrap(&self, tcp: TcpStream) -> io::Result<MaybeTls> {
        match &self.tls {
            None => Ok(MaybeTls::plain(tcp)),
            Some(config) => {
                let tls =
                    rustls::ServerConnection::new(config.clone()).map_err(io::Error::other)?;
                Ok(MaybeTls::tls_server(rustls::StreamOwned::new(tls, tcp)))
            }
        }
    }

    #[cfg(not(feature = "tls"))]
    fn wrap(&self, tcp: TcpStream) -> io::Result<MaybeTls> {
        Ok(MaybeTls::plain(tcp))
    }

    /// Accepts connections until [`StopHandle::stop`], running `handler` for each on a thread
    /// of its own. A connection that fails before it is handed over is skipped.
    pub fn serve<F>(&self, handler: F) -> io::Result<()>
    where
        F: Fn(ServerSession<MaybeTls>, SocketAddr) + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        loop {
            let accepted = self.accept();
            if self.stopping.load(Ordering::SeqCst) {
                return Ok(());
            }
            let (session, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_transient(&error) => continue,
                Err(error) => return Err(error),
            };
            let handler = handler.clone();
            std::thread::Builder::new()
                .name(format!("rtmp {peer}"))
                .spawn(move || handler(session, peer))?;
        }
    }
}

/// Errors of `accept` that concern one connection, not the listener.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Stops a [`Server`]'s [`serve`](Server::serve) loop from another thread.
#[derive(Clone, Debug)]
pub struct StopHandle {
    stopping: Arc<AtomicBool>,
    address: SocketAddr,
}

impl StopHandle {
    /// Stops accepting: `serve` returns once it wakes, which this makes it do. Connections
    /// being served go on.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // A blocking accept only wakes for a connection.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
    }
}

/// One connection of a server: its events, and the answers and media the application sends.
///
/// One thread drives it. [`next_event`](Self::next_event) writes what was queued, then reads
/// until the connection has something to say; the commands (`accept_*`, `send_*`) only queue,
/// and the next `next_event` or [`flush`](Self::flush) writes everything queued at once.
pub struct ServerSession<S = MaybeTls> {
    driver: Driver<S, ServerConnection>,
}

impl<S: Transport> ServerSession<S> {
    /// A session over `stream`, a client that just connected.
    pub fn new(stream: S, config: ServerConnectionConfig) -> Self {
        let clock = Clock::start();
        let mut rng = rand::rngs::StdRng::from_os_rng();
        let conn = ServerConnection::new(config, &mut rng, clock.now());
        ServerSession {
            driver: Driver::new(stream, conn, clock),
        }
    }

    /// The next event, driving the connection until there is one. The last event is
    /// [`ServerEvent::Closed`]; after it, `Err` says why the connection ended.
    pub fn next_event(&mut self) -> Result<ServerEvent, Error> {
        loop {
            if let Some(event) = self.driver.next_event(None)? {
                return Ok(event);
            }
        }
    }

    /// The next event, waiting at most `timeout`: `Ok(None)` if nothing came. For a loop that
    /// also has other work, such as media from another thread for a player.
    pub fn next_event_timeout(&mut self, timeout: Duration) -> Result<Option<ServerEvent>, Error> {
        self.driver.next_event(Some(StdInstant::now() + timeout))
    }

    /// Writes everything queued.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.driver.flush()
    }

    /// Why the connection ended, once its [`ServerEvent::Closed`] was handed out.
    pub fn close_reason(&self) -> Option<&Error> {
        self.driver.ended()
    }

    /// Closes the connection from our side; the next events end with `Closed` once what was
    /// queued is written.
    pub fn close(&mut self) {
        self.driver.close();
    }

    /// Closes the connection and waits until its last bytes are written (a few seconds at
    /// most).
    pub fn shutdown(&mut self) {
        self.close();
        while let Ok(event) = self.next_event() {
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

    /// The byte stream, e.g. for the peer's address.
    pub fn transport(&self) -> &S {
        self.driver.stream()
    }

    /// The byte stream, mutably (socket options).
    pub fn transport_mut(&mut self) -> &mut S {
        self.driver.stream_mut()
    }

    /// The sans-IO connection, for what this type has no method for (calls, pings, data).
    pub fn connection(&mut self) -> &mut ServerConnection {
        &mut self.driver.conn
    }

    // The commands below are rtmp-tokio's `ServerSession`'s, method for method:
    // the same delegations to the core, written out in each adapter rather than generated by
    // a macro the core would have to export.

    /// Accepts a connect ([`ServerConnection::accept_connect`]).
    pub fn accept_connect(&mut self, request: RequestId) -> Result<(), ApiError> {
        self.driver.conn.accept_connect(request)
    }

    /// Refuses a connect ([`ServerConnection::reject_connect`]).
    pub fn reject_connect(
        &mut self,
        request: RequestId,
        description: &str,
    ) -> Result<(), ApiError> {
        self.driver.conn.reject_connect(request, description)
    }

    /// Accepts a publish ([`ServerConnection::accept_publish`]).
    pub fn accept_publish(&mut self, request: RequestId) -> Result<(), ApiError> {
        self.driver.conn.accept_publish(request)
    }

    /// Refuses a publish with `code`, e.g. `NetStream.Publish.BadName`
    /// ([`ServerConnection::reject_publish`]).
    pub fn reject_publish(
        &mut self,
        request: RequestId,
        code: &str,
        description: &str,
    ) -> Result<(), ApiError> {
        self.driver.conn.reject_publish(request, code, description)
    }

    /// Accepts a play ([`ServerConnection::accept_play`]).
    pub fn accept_play(&mut self, request: RequestId, kind: StreamKind) -> Result<(), ApiError> {
        self.driver.conn.accept_play(request, kind)
    }

    /// Refuses a play with `code`, e.g. `NetStream.Play.StreamNotFound`
    /// ([`ServerConnection::reject_play`]).
    pub fn reject_play(
        &mut self,
        request: RequestId,
        code: &str,
        description: &str,
    ) -> Result<(), ApiError> {
        self.driver.conn.reject_play(request, code, description)
    }

    /// Queues audio for a playing stream ([`ServerConnection::send_audio`]).
    pub fn send_audio(
        &mut self,
        stream: u32,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, ApiError> {
        self.driver.conn.send_audio(stream, timestamp, payload)
    }

    /// Queues video for a playing stream; above the high-water mark, video that is not a
    /// keyframe is dropped ([`ServerConnection::send_video`]).
    pub fn send_video(
        &mut self,
        stream: u32,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, ApiError> {
        self.driver.conn.send_video(stream, timestamp, payload)
    }

    /// Queues `onMetaData` for a playing stream ([`ServerConnection::send_metadata`]).
    pub fn send_metadata(&mut self, stream: u32, metadata: Value) -> Result<SendStatus, ApiError> {
        self.driver.conn.send_metadata(stream, metadata)
    }

    /// Queues an onStatus on `stream`, e.g. NetStream.Play.UnpublishNotify
    /// ([`ServerConnection::send_status`]).
    pub fn send_status(
        &mut self,
        stream: u32,
        level: StatusLevel,
        code: &str,
        description: &str,
    ) -> Result<SendStatus, ApiError> {
        self.driver
            .conn
            .send_status(stream, level, code, description)
    }

    /// Queues Stream EOF for `stream`: playback is over
    /// ([`ServerConnection::send_stream_eof`]).
    pub fn send_stream_eof(&mut self, stream: u32) -> Result<SendStatus, ApiError> {
        self.driver.conn.send_stream_eof(stream)
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
