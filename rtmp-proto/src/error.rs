use crate::amf::AmfError;
use crate::chunk::ChunkError;
use crate::handshake::HandshakeError;
use crate::message::MessageError;

/// Any error of the protocol core. Each layer has its own error type; this one gathers them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The handshake failed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The chunk stream was malformed or exceeded a limit.
    #[error("chunk stream: {0}")]
    Chunk(#[from] ChunkError),
    /// AMF data was malformed or exceeded a limit.
    #[error("AMF: {0}")]
    Amf(#[from] AmfError),
    /// A message could not be interpreted.
    #[error("message: {0}")]
    Message(#[from] MessageError),
}
