//! RTMPS: RTMP over TLS with tokio-rustls and rustls's *ring* provider.
//!
//! TLS is only the byte stream under the session: the client is
//! [`Client::connect_over`](crate::client::Client::connect_over) over a [`ClientTlsStream`],
//! the server a [`ServerSession`] over a [`ServerTlsStream`]; nothing of RTMP changes.
//!
//! - A client trusts the Mozilla roots ([`TlsClientConfig::with_webpki_roots`], the default)
//!   or the certificates it is given ([`TlsClientConfig::trusting_pem`] or
//!   [`trusting_der`](TlsClientConfig::trusting_der), for a self-signed server), and connects
//!   to an `rtmps://` URL (port 443 by default, the URL's host as the server name) with
//!   [`Client::connect`](crate::client::Client::connect) and
//!   [`ClientOptions::tls`](crate::client::ClientOptions::tls), or with [`connect`] and
//!   [`connect_with`] here, which give the TLS stream's type.
//! - A server presents a certificate chain and key read from PEM files
//!   ([`TlsServerConfig::from_pem_files`]); [`accept`] wraps an accepted TCP stream, and
//!   [`serve_relay`] runs a [`Relay`] over TLS. rtmp-std has the same `accept`; its
//!   `Server::set_tls` has no twin here because [`Server::accept`](crate::server::Server::accept)
//!   gives a session over the TCP stream at once, and a TLS handshake belongs in the
//!   connection's own task, not in the accept loop: call [`accept`] there.
//!
//! rtmp-std's `tls` module has the same configurations and [`TlsError`]: the adapters share
//! no crate but the core, and rustls has no place in the sans-IO core, so each owns these few
//! builders over rustls's types (see `config.rs`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use rtmp_tokio::client::ClientOptions;
//! use rtmp_tokio::relay::{Relay, RelayConfig};
//! use rtmp_tokio::tls::{connect_with, serve_relay, TlsClientConfig, TlsServerConfig};
//!
//! // A relay over RTMPS on port 443.
//! let tls = TlsServerConfig::from_pem_files("cert.pem", "key.pem")?;
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
//! let config = RelayConfig::default();
//! let connection = config.connection.clone();
//! tokio::spawn(serve_relay(Relay::new(config), listener, tls, connection));
//!
//! // A player trusting that (self-signed) certificate.
//! let trust = TlsClientConfig::trusting_pem_file("cert.pem")?;
//! let client = connect_with("rtmps://localhost/live", ClientOptions::default(), &trust).await?;
//! // The same with Client::connect_with and the certificate in the options.
//! let options = ClientOptions::default().with_tls(trust);
//! let other = rtmp_tokio::client::Client::connect_with("rtmps://localhost/live", options).await?;
//! let mut player = client.play("cam1").await?;
//! while let Some(frame) = player.next_frame().await? {
//!     println!("{frame:?}");
//! }
//! # Ok(()) }
//! ```

mod config;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use rtmp_proto::session::server::ServerConnectionConfig;
use rtmp_proto::url::{RtmpUrl, Scheme};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tracing::Instrument;

use config::{handshake_error, server_name};
pub use config::{TlsClientConfig, TlsError, TlsServerConfig};

use crate::client::{Client, ClientOptions};
use crate::relay::Relay;
use crate::server::ServerSession;
use crate::Error;

/// A client's TLS stream over TCP.
pub type ClientTlsStream = tokio_rustls::client::TlsStream<TcpStream>;
/// A server's TLS stream over TCP.
pub type ServerTlsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// How long a server gives an accepted connection to finish the TLS handshake.
const SERVER_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Makes the TLS handshake with `host` (the name the certificate must hold, sent as SNI if it
/// is a DNS name) over `tcp`, trusting what `tls` trusts.
pub async fn handshake(
    tls: &TlsClientConfig,
    host: &str,
    tcp: TcpStream,
) -> Result<ClientTlsStream, Error> {
    let name = server_name(host)?;
    TlsConnector::from(tls.rustls_config().clone())
        .connect(name, tcp)
        .await
        .map_err(handshake_error)
}

/// Makes the server's side of the TLS handshake over an accepted TCP stream, within 10 s.
pub async fn accept(tls: &TlsServerConfig, tcp: TcpStream) -> Result<ServerTlsStream, Error> {
    let handshake = TlsAcceptor::from(tls.rustls_config().clone()).accept(tcp);
    tokio::time::timeout(SERVER_HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| Error::Timeout {
            after: SERVER_HANDSHAKE_TIMEOUT,
            waiting_for: "waiting for the TLS handshake",
        })?
        .map_err(handshake_error)
}

/// Connects to an `rtmps://` URL trusting the Mozilla roots, with the default options: TCP,
/// TLS, then the RTMP handshake and `connect` over it.
pub async fn connect(url: &str) -> Result<Client<ClientTlsStream>, Error> {
    connect_with(
        url,
        ClientOptions::default(),
        &TlsClientConfig::with_webpki_roots()?,
    )
    .await
}

/// Connects to an `rtmps://` URL with `options`, trusting what `tls` trusts. The whole of it
/// (TCP, TLS, RTMP handshake, `connect`) takes at most `options.connect_timeout`.
pub async fn connect_with(
    url: &str,
    options: ClientOptions,
    tls: &TlsClientConfig,
) -> Result<Client<ClientTlsStream>, Error> {
    let parsed = RtmpUrl::parse(url)?;
    if parsed.scheme != Scheme::Rtmps {
        return Err(Error::Unsupported(
            "rtmp_tokio::tls connects to rtmps:// URLs: use Client::connect for rtmp://",
        ));
    }
    Client::connect_parsed(parsed, options, |tcp, host| async move {
        handshake(tls, &host, tcp).await
    })
    .await
}

/// Runs `relay` over RTMPS: accepts TCP connections from `listener` forever, and gives each,
/// once its TLS handshake is done (in a task of its own, so a slow handshake holds up nobody),
/// to [`Relay::serve_connection`] with `connection` as its configuration (usually
/// [`RelayConfig::connection`](crate::relay::RelayConfig::connection)).
pub async fn serve_relay(
    relay: Relay,
    listener: TcpListener,
    tls: TlsServerConfig,
    connection: ServerConnectionConfig,
) -> io::Result<()> {
    tracing::info!(address = %listener.local_addr()?, "RTMPS relay listening");
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                let (relay, tls, connection) = (relay.clone(), tls.clone(), connection.clone());
                let span = tracing::info_span!("conn", %peer);
                tokio::spawn(serve_one(relay, tcp, peer, tls, connection).instrument(span));
            }
            Err(error) => {
                // Out of file descriptors, usually: wait for some to be freed.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_one(
    relay: Relay,
    tcp: TcpStream,
    peer: SocketAddr,
    tls: TlsServerConfig,
    connection: ServerConnectionConfig,
) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::warn!(%peer, %error, "cannot turn Nagle's algorithm off");
    }
    if let Err(error) = crate::server::limit_unacked(&tcp, connection.options.unacked_timeout) {
        tracing::warn!(%peer, %error, "cannot bound the time unacknowledged bytes may wait");
    }
    match accept(&tls, tcp).await {
        Ok(stream) => {
            relay
                .serve_connection(ServerSession::new(stream, connection))
                .await
        }
        Err(error) => tracing::info!(%error, "TLS handshake failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_rtmp_urls_are_not_for_the_tls_client() {
        let trust = TlsClientConfig::with_webpki_roots().unwrap();
        let error = connect_with("rtmp://127.0.0.1:1/live", ClientOptions::default(), &trust)
            .await
            .err()
            .unwrap();
        assert!(matches!(error, Error::Unsupported(_)), "{error}");
    }
}
