//! RTMPS: RTMP over TLS, with rustls and its *ring* provider.
//!
//! A client trusts the Mozilla roots ([`TlsClientConfig::with_webpki_roots`], the default) or
//! the certificates it is given ([`TlsClientConfig::trusting_pem`] or
//! [`trusting_der`](TlsClientConfig::trusting_der), for a self-signed server) in
//! [`ClientOptions::tls`](crate::client::ClientOptions::tls), and connects to `rtmps://` URLs
//! (port 443 by default, the URL's host as the server name). A server presents a certificate
//! chain and key read from PEM files ([`TlsServerConfig::from_pem_files`]) once given to
//! [`Server::set_tls`](crate::server::Server::set_tls), or given to [`accept`] with a TCP stream
//! accepted by the application.
//!
//! rtmp-tokio's `tls` module has the same configurations and [`TlsError`]: the adapters share
//! no crate but the core, and rustls has no place in the sans-IO core, so each owns these few
//! builders over rustls's types. Keep the two alike.

mod config;

use std::io;
use std::net::TcpStream;
use std::time::{Duration, Instant as StdInstant};

use rustls::StreamOwned;

use crate::{Error, MaybeTls};
use config::{handshake_error, server_name};
pub use config::{TlsClientConfig, TlsError, TlsServerConfig};

/// How long [`accept`] gives a client to finish the TLS handshake (as rtmp-tokio's).
const SERVER_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsClientConfig {
    /// Makes the TLS handshake with `host` over `tcp`, within `timeout`.
    pub(crate) fn connect(
        &self,
        host: &str,
        mut tcp: TcpStream,
        timeout: Duration,
    ) -> Result<MaybeTls, Error> {
        let config = self.rustls_config().clone();
        let mut conn =
            rustls::ClientConnection::new(config, server_name(host)?).map_err(TlsError::from)?;
        finish_handshake(&mut conn, &mut tcp, timeout)?;
        Ok(MaybeTls::tls_client(StreamOwned::new(conn, tcp)))
    }
}

/// Makes the server's side of the TLS handshake over an accepted TCP stream, within 10 s:
/// the stream to give [`ServerSession::new`](crate::server::ServerSession::new). rtmp-tokio's
/// `tls::accept` does the same; [`Server::set_tls`](crate::server::Server::set_tls) instead
/// has each connection's first read make the handshake, on the connection's own thread.
pub fn accept(tls: &TlsServerConfig, mut tcp: TcpStream) -> Result<MaybeTls, Error> {
    let mut conn =
        rustls::ServerConnection::new(tls.rustls_config().clone()).map_err(TlsError::from)?;
    finish_handshake(&mut conn, &mut tcp, SERVER_HANDSHAKE_TIMEOUT)?;
    Ok(MaybeTls::tls_server(StreamOwned::new(conn, tcp)))
}

/// Drives a TLS handshake over `tcp` to its end, within `timeout`.
fn finish_handshake<D>(
    conn: &mut rustls::ConnectionCommon<D>,
    tcp: &mut TcpStream,
    timeout: Duration,
) -> Result<(), Error> {
    let deadline = StdInstant::now() + timeout;
    let timed_out = Error::Timeout {
        after: timeout,
        waiting_for: "waiting for the TLS handshake",
    };
    while conn.is_handshaking() {
        let left = deadline.saturating_duration_since(StdInstant::now());
        if left.is_zero() {
            return Err(timed_out);
        }
        tcp.set_read_timeout(Some(left))?;
        match conn.complete_io(tcp) {
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out)
            }
            Err(error) => return Err(handshake_error(error)),
        }
    }
    tcp.set_read_timeout(None)?;
    Ok(())
}
