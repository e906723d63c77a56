//! RTMPS: RTMP over TLS with tokio-rustls and rustls's *ring* provider.
//!
//! TLS is only the byte stream under the session: the client is
//! [`Client::connect_over`](crate::client::Client::connect_over) over a [`ClientTlsStream`],
//! the server a [`ServerSession`] over a [`ServerTlsStream`]; nothing of RTMP changes.
//!
//! - A client trusts the Mozilla roots ([`TlsClientConfig::with_webpki_roots`]) or the
//!   certificates it is given ([`TlsClientConfig::trusting_pem`], for a self-signed server),
//!   and connects to an `rtmps://` URL (port 443 by default) with [`connect`] or
//!   [`connect_with`].
//! - A server presents a certificate chain and key read from PEM files
//!   ([`TlsServerConfig::from_pem_files`]); [`TlsServerConfig::accept`] wraps an accepted TCP
//!   stream, and [`serve_relay`] runs a [`Relay`] over TLS.
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
//! let mut player = client.play("cam1").await?;
//! while let Some(frame) = player.next_frame().await? {
//!     println!("{frame:?}");
//! }
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rtmp_proto::session::server::ServerConnectionConfig;
use rtmp_proto::url::{RtmpUrl, Scheme};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tracing::Instrument;

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

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS failure as an I/O error of kind `InvalidData`, as tokio-rustls reports handshake
/// failures, so that every TLS error reads the same.
fn tls_error(what: &str, error: impl std::fmt::Display) -> Error {
    Error::from(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("TLS: {what}: {error}"),
    ))
}

/// What an RTMPS client trusts. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TlsClientConfig {
    config: Arc<ClientConfig>,
}

impl TlsClientConfig {
    /// Trusts the certificate authorities of Mozilla's root program (the `webpki-roots`
    /// crate), as browsers do: for public servers.
    pub fn with_webpki_roots() -> Result<Self, Error> {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        Self::with_roots(roots)
    }

    /// Trusts only the certificates in `pem` (the text of a `.pem` or `.crt` file): a server's
    /// own self-signed certificate, or a private authority.
    pub fn trusting_pem(pem: &[u8]) -> Result<Self, Error> {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate =
                certificate.map_err(|error| tls_error("reading a certificate", error))?;
            roots
                .add(certificate)
                .map_err(|error| tls_error("trusting a certificate", error))?;
        }
        if roots.is_empty() {
            return Err(tls_error("trusting certificates", "none in the PEM text"));
        }
        Self::with_roots(roots)
    }

    /// Trusts only the certificates in the PEM file at `path`.
    pub fn trusting_pem_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let pem = std::fs::read(path)
            .map_err(|error| tls_error(&format!("reading {}", path.display()), error))?;
        Self::trusting_pem(&pem)
    }

    /// A rustls configuration of the application's making (client certificates, another
    /// verifier...).
    pub fn from_config(config: Arc<ClientConfig>) -> Self {
        TlsClientConfig { config }
    }

    fn with_roots(roots: RootCertStore) -> Result<Self, Error> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| tls_error("configuring", error))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsClientConfig {
            config: Arc::new(config),
        })
    }

    /// Makes the TLS handshake with `host` (the name the certificate must hold) over `tcp`.
    pub async fn handshake(&self, host: &str, tcp: TcpStream) -> Result<ClientTlsStream, Error> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|error| tls_error(&format!("server name {host:?}"), error))?;
        let stream = TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await?;
        Ok(stream)
    }
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
    let timeout = options.connect_timeout;
    let started = tokio::time::Instant::now();
    let address = parsed.authority();
    let secured = async {
        let tcp = TcpStream::connect(address.as_str())
            .await
            .map_err(|source| Error::Connect {
                address: address.clone(),
                source: source.into(),
            })?;
        tcp.set_nodelay(true)?;
        tls.handshake(parsed.host.as_str(), tcp).await
    };
    let stream = tokio::time::timeout(timeout, secured)
        .await
        .map_err(|_| Error::Timeout {
            after: timeout,
            waiting_for: "connecting (TCP and the TLS handshake)",
        })??;
    let left = timeout.saturating_sub(started.elapsed());
    let options = ClientOptions {
        connect_timeout: left,
        ..options
    };
    Client::connect_over(stream, url, options).await
}

/// What an RTMPS server presents: a certificate chain and its private key. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TlsServerConfig {
    config: Arc<ServerConfig>,
}

impl TlsServerConfig {
    /// Reads the certificate chain (leaf first) and the private key (PKCS #8, PKCS #1 or
    /// SEC1) from PEM files.
    pub fn from_pem_files(
        certificate_chain: impl AsRef<Path>,
        private_key: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|error| tls_error(&format!("reading {}", path.display()), error))
        };
        Self::from_pem(
            &read(certificate_chain.as_ref())?,
            &read(private_key.as_ref())?,
        )
    }

    /// The same from PEM text.
    pub fn from_pem(certificate_chain: &[u8], private_key: &[u8]) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(certificate_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| tls_error("reading the certificate chain", error))?;
        if chain.is_empty() {
            return Err(tls_error("reading the certificate chain", "no certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(private_key)
            .map_err(|error| tls_error("reading the private key", error))?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| tls_error("configuring", error))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| tls_error("using the certificate and key", error))?;
        Ok(TlsServerConfig {
            config: Arc::new(config),
        })
    }

    /// A rustls configuration of the application's making (client authentication, SNI...).
    pub fn from_config(config: Arc<ServerConfig>) -> Self {
        TlsServerConfig { config }
    }

    /// Makes the server's side of the TLS handshake over an accepted TCP stream, within 10 s.
    pub async fn accept(&self, tcp: TcpStream) -> Result<ServerTlsStream, Error> {
        let handshake = TlsAcceptor::from(self.config.clone()).accept(tcp);
        let stream = tokio::time::timeout(SERVER_HANDSHAKE_TIMEOUT, handshake)
            .await
            .map_err(|_| Error::Timeout {
                after: SERVER_HANDSHAKE_TIMEOUT,
                waiting_for: "waiting for the TLS handshake",
            })??;
        Ok(stream)
    }
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
    match tls.accept(tcp).await {
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

    #[test]
    fn pem_text_without_certificates_is_refused() {
        let error = TlsClientConfig::trusting_pem(b"").unwrap_err();
        assert!(
            error.to_string().contains("none in the PEM text"),
            "{error}"
        );
        let error = TlsServerConfig::from_pem(b"", b"").unwrap_err();
        assert!(error.to_string().contains("no certificate"), "{error}");
    }

    #[test]
    fn a_certificate_with_its_key_makes_a_server_and_a_client_trusting_it() {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let certificate = certified.cert.pem();
        let key = certified.signing_key.serialize_pem();
        TlsServerConfig::from_pem(certificate.as_bytes(), key.as_bytes()).unwrap();
        TlsClientConfig::trusting_pem(certificate.as_bytes()).unwrap();
        let error = TlsServerConfig::from_pem(certificate.as_bytes(), b"").unwrap_err();
        assert!(error.to_string().contains("private key"), "{error}");
    }

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
