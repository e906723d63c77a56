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

use rand::SeedableRng;
use rtmp_proto::session::server::{ServerConnection, ServerConnectionConfig, ServerEvent};

use crate::driver::{Clock, Driver};
use crate::transport::MaybeTls;
use crate::{Error, Transport};

mod commands;

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
