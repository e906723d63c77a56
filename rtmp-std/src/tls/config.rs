//! The TLS configurations, over rustls's types, with the *ring* provider.
//!
//! One file serves both adapters: `rtmp-tokio/src/tls/config.rs` is a link to this one (cargo
//! packages the file it points to). The adapters share no crate but the core, rustls has no
//! place in the sans-IO core, and a crate of its own for these few builders would be one more to
//! publish. Each adapter has its own `Error`, with a `Tls` variant of this [`TlsError`].

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::Error;

/// Why a TLS configuration could not be made or a TLS handshake failed
/// ([`Error::Tls`](crate::Error::Tls)).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused: a handshake's verdict (a certificate no trusted root vouches for, a
    /// protocol error), or a certificate, key or configuration it cannot use.
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
    /// PEM text that cannot be read.
    #[error("reading {what}: {source}")]
    Pem {
        /// What was read: "a certificate", "the private key"...
        what: &'static str,
        /// What the PEM reader said.
        source: Arc<pem::Error>,
    },
    /// PEM text without a certificate.
    #[error("no certificate in {0}")]
    NoCertificate(&'static str),
    /// A certificate or key file that cannot be read.
    #[error("reading {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: Arc<io::Error>,
    },
    /// A host that is neither a DNS name nor an IP address, which a certificate cannot name.
    #[error("{host:?} is not a valid TLS server name")]
    ServerName {
        /// The host, as given.
        host: String,
    },
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pem_error(what: &'static str) -> impl FnOnce(pem::Error) -> TlsError {
    move |error| TlsError::Pem {
        what,
        source: Arc::new(error),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::File {
        path: path.to_owned(),
        source: Arc::new(error),
    })
}

/// How a failed TLS handshake is reported: rustls's verdict (a certificate no trusted root
/// vouches for, a protocol error) as [`Error::Tls`], any other failure of the byte stream as
/// [`Error::Io`].
pub(crate) fn handshake_error(error: io::Error) -> Error {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(verdict) => Error::Tls(TlsError::Rustls(verdict.clone())),
        None => Error::from(error),
    }
}

/// The name a server's certificate must hold: the host of an `rtmps://` URL, a DNS name (also
/// sent as SNI) or an IP address.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_owned()).map_err(|_| TlsError::ServerName {
        host: host.to_owned(),
    })
}

/// What an RTMPS client trusts. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TlsClientConfig {
    config: Arc<ClientConfig>,
}

impl TlsClientConfig {
    /// Trusts the certificate authorities of Mozilla's root program (the `webpki-roots`
    /// crate), as browsers do: for public servers.
    pub fn with_webpki_roots() -> Result<Self, TlsError> {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        Self::with_roots(roots)
    }

    /// Trusts only the certificates in `pem` (the text of a `.pem` or `.crt` file): a server's
    /// own self-signed certificate, or a private authority.
    pub fn trusting_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            roots.add(certificate.map_err(pem_error("a certificate"))?)?;
        }
        if roots.is_empty() {
            return Err(TlsError::NoCertificate("the PEM text"));
        }
        Self::with_roots(roots)
    }

    /// Trusts only the certificate `der` (DER, as a `.der` or `.cer` file holds it).
    pub fn trusting_der(der: &[u8]) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from(der.to_vec()))?;
        Self::with_roots(roots)
    }

    /// `given`, or else the Mozilla roots: what a client with these options trusts.
    pub(crate) fn given_or_webpki(given: Option<&TlsClientConfig>) -> Result<Self, TlsError> {
        match given {
            Some(config) => Ok(config.clone()),
            None => Self::with_webpki_roots(),
        }
    }

    /// Trusts only the certificates in the PEM file at `path`.
    pub fn trusting_pem_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        Self::trusting_pem(&read_file(path.as_ref())?)
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

    fn with_roots(roots: RootCertStore) -> Result<Self, TlsError> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsClientConfig {
            config: Arc::new(config),
        })
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
    ) -> Result<Self, TlsError> {
        Self::from_pem(
            &read_file(certificate_chain.as_ref())?,
            &read_file(private_key.as_ref())?,
        )
    }

    /// The same from PEM text.
    pub fn from_pem(certificate_chain: &[u8], private_key: &[u8]) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(certificate_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_error("the certificate chain"))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate("the chain's PEM text"));
        }
        let key =
            PrivateKeyDer::from_pem_slice(private_key).map_err(pem_error("the private key"))?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
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
        assert!(matches!(error, TlsError::NoCertificate(_)), "{error}");
        let error = TlsServerConfig::from_pem(b"", b"").unwrap_err();
        assert!(matches!(error, TlsError::NoCertificate(_)), "{error}");
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
        assert!(matches!(error, TlsError::Rustls(_)), "{error}");
        let error = TlsServerConfig::from_pem(certificate.as_bytes(), b"").unwrap_err();
        assert!(
            matches!(
                error,
                TlsError::Pem {
                    what: "the private key",
                    ..
                }
            ),
            "{error}"
        );
        let error =
            TlsServerConfig::from_pem_files("/nonexistent/cert.pem", "key.pem").unwrap_err();
        assert!(matches!(error, TlsError::File { .. }), "{error}");
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
        assert!(matches!(
            server_name("not a name"),
            Err(TlsError::ServerName { .. })
        ));
    }

    #[test]
    fn only_rustls_verdicts_are_tls_errors() {
        let verdict = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let error = handshake_error(verdict);
        assert!(
            matches!(
                &error,
                Error::Tls(TlsError::Rustls(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer
                )))
            ),
            "{error}"
        );
        let source = std::error::Error::source(&error).expect("the TLS error");
        assert!(source.downcast_ref::<TlsError>().is_some());
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(matches!(handshake_error(reset), Error::Io(_)));
    }
}
