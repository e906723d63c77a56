use bytes::Bytes;

/// A message as the chunk layer carries it (RTMP 1.0 §5.3.1 and §6.1): a type, the message
/// stream it belongs to, an absolute 32-bit timestamp in milliseconds (wrapping), and the payload.
///
/// The payload is a [`Bytes`], so a message can be shared (for example by many players) without
/// copying it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawMessage {
    /// Absolute timestamp in milliseconds. RTMP timestamps are 32 bits and wrap (§5.3.1.3).
    pub timestamp: u32,
    /// The message type id (RTMP 1.0 §6.1.1); see [`type_id`](crate::type_id).
    pub type_id: u8,
    /// The message stream id (little-endian on the wire in a type 0 chunk header, §5.3.1.2.1).
    pub stream_id: u32,
    /// The message payload.
    pub payload: Bytes,
}

/// Message type ids of RTMP 1.0 §5.4, §6.2 and §7.1.
pub mod type_id {
    /// Set Chunk Size (§5.4.1).
    pub const SET_CHUNK_SIZE: u8 = 1;
    /// Abort Message (§5.4.2).
    pub const ABORT: u8 = 2;
    /// Acknowledgement (§5.4.3).
    pub const ACKNOWLEDGEMENT: u8 = 3;
    /// User Control Message (§6.2).
    pub const USER_CONTROL: u8 = 4;
    /// Window Acknowledgement Size (§5.4.4).
    pub const WINDOW_ACK_SIZE: u8 = 5;
    /// Set Peer Bandwidth (§5.4.5).
    pub const SET_PEER_BANDWIDTH: u8 = 6;
    /// Audio (§7.1.4).
    pub const AUDIO: u8 = 8;
    /// Video (§7.1.5).
    pub const VIDEO: u8 = 9;
    /// Data message, AMF3 (§7.1.2).
    pub const DATA_AMF3: u8 = 15;
    /// Shared object message, AMF3 (§7.1.3).
    pub const SHARED_OBJECT_AMF3: u8 = 16;
    /// Command message, AMF3 (§7.1.1).
    pub const COMMAND_AMF3: u8 = 17;
    /// Data message, AMF0 (§7.1.2).
    pub const DATA_AMF0: u8 = 18;
    /// Shared object message, AMF0 (§7.1.3).
    pub const SHARED_OBJECT_AMF0: u8 = 19;
    /// Command message, AMF0 (§7.1.1).
    pub const COMMAND_AMF0: u8 = 20;
    /// Aggregate message (§7.1.6).
    pub const AGGREGATE: u8 = 22;
}
