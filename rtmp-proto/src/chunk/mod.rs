//! The chunk stream (RTMP 1.0 §5.3).

/// Errors of the chunk layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkError {
    /// A message announced a length above [`Limits::max_message_size`](crate::Limits).
    #[error("message of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The announced length.
        len: u32,
        /// The configured limit.
        max: u32,
    },
}
