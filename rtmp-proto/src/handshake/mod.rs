//! The RTMP handshake (RTMP 1.0 §5.2).

/// Errors of the handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer asked for a version we do not speak.
    #[error("unsupported RTMP version {0}")]
    UnsupportedVersion(u8),
}
