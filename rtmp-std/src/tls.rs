//! RTMPS: RTMP over TLS, with rustls and its *ring* provider.
//!
//! A client trusts the Mozilla roots ([`TlsClientConfig::with_webpki_roots`]) or the
//! certificates it is given ([`TlsClientConfig::trusting_pem`], for a self-signed server), and
//! connects to `rtmps://` URLs with [`ClientOptions::tls`](crate::client::ClientOptions::tls).
//! A server presents a certificate chain and key read from PEM files
//! ([`TlsServerConfig::from_pem_files`]) once given to
//! [`Server::set_tls`](crate::server::Server::set_tls).

use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig, StreamOwned};

use crate::{Error, MaybeTls};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{what}: {error}"))
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
            return Err(Error::Tls("no certificate in the PEM text".into()));
        }
        Self::with_roots(roots)
    }

    /// Trusts only the certificates in the PEM file at `path`.
    pub fn trusting_pem_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let pem = std::fs::read(path.as_ref())
            .map_err(|error| tls_error(&format!("reading {}", path.as_ref().display()), error))?;
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
            .map_err(|error| tls_error("configuring TLS", error))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsClientConfig {
            config: Arc::new(config),
        })
    }

    /// Makes the TLS handshake with `host` over `tcp`, within `timeout`.
    pub(crate) fn connect(
        &self,
        host: &str,
        mut tcp: TcpStream,
        timeout: Duration,
    ) -> Result<MaybeTls, Error> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|error| tls_error(&format!("server name {host:?}"), error))?;
        let mut conn = rustls::ClientConnection::new(self.config.clone(), name)
            .map_err(|error| tls_error("starting TLS", error))?;
        let deadline = StdInstant::now() + timeout;
        while conn.is_handshaking() {
            let left = deadline.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Err(Error::Timeout {
                    after: timeout,
                    waiting_for: "waiting for the TLS handshake",
                });
            }
            tcp.set_read_timeout(Some(left))?;
            conn.complete_io(&mut tcp)
                .map_err(|error| tls_error("handshake", error))?;
        }
        tcp.set_read_timeout(None)?;
        Ok(MaybeTls::tls_client(StreamOwned::new(conn, tcp)))
    }
}

/// What an RTMPS server presents: a certificate chain and its private key. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TlsServerConfig {
    pub(crate) config: Arc<ServerConfig>,
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
            return Err(Error::Tls("no certificate in the chain's PEM text".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(private_key)
            .map_err(|error| tls_error("reading the private key", error))?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| tls_error("configuring TLS", error))?
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
}
