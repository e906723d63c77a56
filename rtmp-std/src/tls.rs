//! RTMPS: RTMP over TLS, with rustls and its *ring* provider.
//!
//! A client trusts the Mozilla roots ([`TlsClientConfig::with_webpki_roots`], the default) or
//! the certificates it is given ([`TlsClientConfig::trusting_pem`] or
//! [`trusting_der`](TlsClientConfig::trusting_der), for a self-signed server) in
//! [`ClientOptions::tls`](crate::client::ClientOptions::tls), and connects to `rtmps://` URLs
//! (port 443 by default, the URL's host as the server name). A server presents a certificate
//! chain and key read from PEM files ([`TlsServerConfig::from_pem_files`]) once given to
//! [`Server::set_tls`](crate::server::Server::set_tls).
//!
//! These configurations are rtmp-tokio's too (its `tls` feature uses this module).

use std::io;
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

/// How a failed TLS handshake is reported: rustls's verdict (a certificate no trusted root
/// vouches for, a protocol error) as [`Error::Tls`], any other failure of the byte stream as
/// [`Error::Io`].
pub fn handshake_error(error: io::Error) -> Error {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(verdict) => tls_error("handshake", verdict),
        None => Error::from(error),
    }
}

/// The name a server's certificate must hold: the host of an `rtmps://` URL, a DNS name (also
/// sent as SNI) or an IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_owned())
        .map_err(|error| tls_error(&format!("server name {host:?}"), error))
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

    /// Trusts only the certificate `der` (DER, as a `.der` or `.cer` file holds it).
    pub fn trusting_der(der: &[u8]) -> Result<Self, Error> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(der.to_vec()))
            .map_err(|error| tls_error("trusting a certificate", error))?;
        Self::with_roots(roots)
    }

    /// `given`, or else the Mozilla roots: what a client with these options trusts.
    pub fn given_or_webpki(given: Option<&TlsClientConfig>) -> Result<Self, Error> {
        match given {
            Some(config) => Ok(config.clone()),
            None => Self::with_webpki_roots(),
        }
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

    /// The rustls configuration, e.g. for another TLS stream type.
    pub fn rustls_config(&self) -> &Arc<ClientConfig> {
        &self.config
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
        let mut conn = rustls::ClientConnection::new(self.config.clone(), server_name(host)?)
            .map_err(|error| tls_error("starting TLS", error))?;
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
            match conn.complete_io(&mut tcp) {
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
        Ok(MaybeTls::tls_client(StreamOwned::new(conn, tcp)))
    }
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

    /// The rustls configuration, e.g. for another TLS stream type.
    pub fn rustls_config(&self) -> &Arc<ServerConfig> {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_text_without_certificates_is_refused() {
        let error = TlsClientConfig::trusting_pem(b"").unwrap_err();
        assert!(matches!(error, Error::Tls(_)), "{error}");
        assert!(error.to_string().contains("no certificate"), "{error}");
        let error = TlsServerConfig::from_pem(b"", b"").unwrap_err();
        assert!(error.to_string().contains("no certificate"), "{error}");
    }

    #[test]
    fn a_certificate_with_its_key_makes_a_server_and_clients_trusting_it() {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let certificate = certified.cert.pem();
        let key = certified.signing_key.serialize_pem();
        TlsServerConfig::from_pem(certificate.as_bytes(), key.as_bytes()).unwrap();
        TlsClientConfig::trusting_pem(certificate.as_bytes()).unwrap();
        TlsClientConfig::trusting_der(certified.cert.der()).unwrap();
        let error = TlsClientConfig::trusting_der(b"not DER").unwrap_err();
        assert!(matches!(error, Error::Tls(_)), "{error}");
        let error = TlsServerConfig::from_pem(certificate.as_bytes(), b"").unwrap_err();
        assert!(error.to_string().contains("private key"), "{error}");
    }

    #[test]
    fn server_names_come_from_the_host() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("live.example.com").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(matches!(server_name("not a name"), Err(Error::Tls(_))));
    }

    #[test]
    fn only_rustls_verdicts_are_tls_errors() {
        let verdict = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let error = handshake_error(verdict);
        assert!(matches!(error, Error::Tls(_)), "{error}");
        assert!(error.to_string().contains("UnknownIssuer"), "{error}");
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(matches!(handshake_error(reset), Error::Io(_)));
    }
}
