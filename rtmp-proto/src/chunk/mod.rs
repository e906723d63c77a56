//! The chunk stream (RTMP 1.0 §5.3, with the errata of zenomt/rtmp-errata-addenda).
//!
//! [`ChunkDecoder`] turns the bytes a peer sends into whole [`RawMessage`](crate::RawMessage)s;
//! [`ChunkEncoder`] turns messages into chunks, compressing their headers, and hands them over
//! as a [`ChunkOutput`]: header bytes and payload slices ready for one vectored write.
//!
//! Both directions keep their own chunk size (RTMP 1.0 §5.4.1): the decoder applies the Set
//! Chunk Size and Abort messages it decodes by itself, while the encoder's
//! [`set_chunk_size`](ChunkEncoder::set_chunk_size) is called by whoever queues a Set Chunk Size
//! message, right after queuing it.

mod decoder;
mod encoder;
mod header;
mod output;
mod streams;

#[cfg(test)]
mod tests;

pub use decoder::{ChunkDecoder, ARENA_BLOCK, CARVE_UP_TO};
pub use encoder::{ChunkEncoder, ChunkedMessage};
pub use output::ChunkOutput;

/// The chunk size both directions start with (RTMP 1.0 §5.4.1).
pub const DEFAULT_CHUNK_SIZE: u32 = 128;

/// The largest chunk size: the field of Set Chunk Size is 31 bits (RTMP 1.0 §5.4.1).
pub const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;

/// The largest message length a chunk message header can carry: its field is 24 bits
/// (RTMP 1.0 §5.3.1.2.1).
pub const MAX_MESSAGE_LENGTH: u32 = 0xFF_FFFF;

/// Errors of the chunk layer (RTMP 1.0 §5.3).
///
/// Every error the decoder returns is the peer's fault and fatal: the decoder is left failed and
/// returns the same error from then on.
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
    /// The peer opened more chunk streams than
    /// [`Limits::max_chunk_streams`](crate::Limits) allows.
    #[error("more than {max} chunk streams")]
    TooManyChunkStreams {
        /// The configured limit.
        max: usize,
    },
    /// Starting this message would hold more bytes of partial messages than
    /// [`Limits::max_buffered_bytes`](crate::Limits) allows.
    #[error("{needed} bytes of partial messages exceed the limit of {max}")]
    BufferLimitExceeded {
        /// The bytes the partial messages would need, this one included.
        needed: usize,
        /// The configured limit.
        max: usize,
    },
    /// A chunk size of 0 or with the most significant bit set (RTMP 1.0 §5.4.1).
    #[error("invalid chunk size {0}")]
    InvalidChunkSize(u32),
    /// A chunk of format 1, 2 or 3 on a chunk stream that never had a format 0 chunk, so there is
    /// no header to take the missing fields from (RTMP 1.0 §5.3.1.2).
    #[error("chunk of format {fmt} on chunk stream {csid}, which has no previous header")]
    UnknownChunkStream {
        /// The chunk stream id.
        csid: u32,
        /// The chunk's header format.
        fmt: u8,
    },
    /// A chunk header changed the length, type or message stream of a message whose chunks had
    /// not all arrived (the bug behind CVE-2016-10191 in FFmpeg).
    #[error("header changed in the middle of a message on chunk stream {csid}")]
    HeaderChangedMidMessage {
        /// The chunk stream id.
        csid: u32,
    },
    /// A Set Chunk Size or Abort message whose payload is shorter than its 4-byte field
    /// (RTMP 1.0 §5.4.1, §5.4.2).
    #[error("control message of type {type_id} with a {len}-byte payload")]
    MalformedControlMessage {
        /// The message type id.
        type_id: u8,
        /// The payload length.
        len: usize,
    },
    /// A message handed to the encoder is longer than a chunk header can announce (24 bits,
    /// RTMP 1.0 §5.3.1.2.1). This is a misuse of the API, not the peer's fault.
    #[error("payload of {len} bytes does not fit the 24-bit message length")]
    PayloadTooLong {
        /// The payload length.
        len: usize,
    },
}

/// A chunk stream id (RTMP 1.0 §5.3.1.1): 2..=65599. Ids 0 and 1 are not ids but markers of the
/// 2- and 3-byte basic header forms.
///
/// ```
/// use rtmp_proto::chunk::ChunkStreamId;
/// assert_eq!(ChunkStreamId::new(64).map(ChunkStreamId::get), Some(64));
/// assert!(ChunkStreamId::new(1).is_none());
/// assert!(ChunkStreamId::new(65600).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkStreamId(u32);

impl ChunkStreamId {
    /// The smallest chunk stream id (RTMP 1.0 §5.3.1.1).
    pub const MIN: u32 = 2;
    /// The largest chunk stream id, reachable with the 3-byte basic header (RTMP 1.0 §5.3.1.1).
    pub const MAX: u32 = 65599;
    /// Protocol control messages (RTMP 1.0 §5.4: "chunk stream ID 2").
    pub const PROTOCOL_CONTROL: Self = Self(2);
    /// Command messages (what FFmpeg, librtmp and nginx-rtmp send `connect` on).
    pub const COMMAND: Self = Self(3);
    /// Audio messages.
    pub const AUDIO: Self = Self(4);
    /// Data messages (`@setDataFrame`, `onMetaData`) and commands on a media stream.
    pub const DATA: Self = Self(5);
    /// Video messages.
    pub const VIDEO: Self = Self(6);

    /// The id, if it is in 2..=65599.
    pub const fn new(id: u32) -> Option<Self> {
        if id >= Self::MIN && id <= Self::MAX {
            Some(Self(id))
        } else {
            None
        }
    }

    /// The id as a number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// Checks a chunk size against RTMP 1.0 §5.4.1: 1..=0x7FFFFFFF.
fn validate_chunk_size(size: u32) -> Result<u32, ChunkError> {
    if size == 0 || size > MAX_CHUNK_SIZE {
        Err(ChunkError::InvalidChunkSize(size))
    } else {
        Ok(size)
    }
}
