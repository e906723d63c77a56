/// Every resource a peer can make us spend, bounded.
///
/// Each field is a hard limit: input that would exceed it is answered with a typed error, never
/// with a panic or an allocation of a size the peer chose. The defaults are finite and generous
/// enough for every real encoder we know of (4K keyframes, Enhanced RTMP metadata); servers that
/// face the internet may want them tighter.
///
/// ```
/// let limits = rtmp_proto::Limits { max_message_size: 1 << 20, ..Default::default() };
/// assert_eq!(limits.max_message_size, 1 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message length (the 24-bit field of a chunk message header, RTMP 1.0 §5.3.1.2)
    /// accepted from the peer, in bytes. Default 16 MiB.
    pub max_message_size: u32,
    /// Most chunk streams (RTMP 1.0 §5.3.1.1) the peer may have live at once: streams for which we
    /// hold header state or a partial message. Default 128.
    pub max_chunk_streams: usize,
    /// Most bytes held for messages whose chunks have not all arrived, summed over every chunk
    /// stream, counted by each partial message's announced length. Default 64 MiB.
    pub max_buffered_bytes: usize,
    /// Deepest nesting of AMF objects, arrays and other containers. Default 16.
    pub max_amf_depth: usize,
    /// Longest AMF string, XML document or byte array, in bytes. Default 1 MiB.
    pub max_amf_string_len: usize,
    /// Most memory, in bytes, that decoding one AMF message may produce, counting every value
    /// node and every string byte. This bounds the expansion of AMF references, which could
    /// otherwise turn a few hundred input bytes into gigabytes. Default 16 MiB.
    pub max_amf_decoded_size: usize,
}

impl Limits {
    /// The defaults, usable in `const` context.
    pub const DEFAULT: Limits = Limits {
        max_message_size: 16 * 1024 * 1024,
        max_chunk_streams: 128,
        max_buffered_bytes: 64 * 1024 * 1024,
        max_amf_depth: 16,
        max_amf_string_len: 1024 * 1024,
        max_amf_decoded_size: 16 * 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
