/// Every resource a peer can make us spend, bounded.
///
/// Each field is a hard limit: input that would exceed it is answered with a typed error, never
/// with a panic or an allocation of a size the peer chose. The defaults are finite and generous
/// enough for every real encoder we know of (4K keyframes, Enhanced RTMP metadata); servers that
/// face the internet may want them tighter.
///
/// Non-exhaustive, so that a new limit is not a breaking change: start from the defaults and
/// set what you need.
///
/// ```
/// let mut limits = rtmp_proto::Limits::default();
/// limits.max_message_size = 1 << 20;
/// assert_eq!(limits.max_message_size, 1 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest message length (the 24-bit field of a chunk message header, RTMP 1.0 §5.3.1.2)
    /// accepted from the peer, in bytes, whatever its type; the per-type limits below are
    /// checked too. Default 16 MiB, the most the field can say.
    pub max_message_size: u32,
    /// Largest audio, video or aggregate message (types 8, 9, 22). Default 16 MiB: keyframes
    /// of 4K streams at high bitrates run to several MiB (nginx-rtmp's 1 MiB cap on every
    /// message cuts them), and an aggregate carries several frames.
    pub max_media_message_size: u32,
    /// Largest data message (`@setDataFrame`, `onMetaData`, cue points: types 15, 18).
    /// Default 1 MiB: metadata runs to a few KiB; this leaves room for the odd embedded
    /// thumbnail, and no AMF string may be longer anyway.
    pub max_data_message_size: u32,
    /// Largest command or shared-object message (types 16, 17, 19, 20) and message of a type
    /// this crate does not know. Default 64 KiB: a connect with Enhanced RTMP capability maps,
    /// the largest command real clients send, is well under 4 KiB. Every message of this kind
    /// is decoded into AMF values and answered, so a small cap keeps a flood cheap.
    pub max_command_message_size: u32,
    /// Largest protocol or user control message (types 1 to 6). Default 64 bytes: the
    /// largest, a SWF verification answer, is 44.
    pub max_control_message_size: u32,
    /// Most chunk streams (RTMP 1.0 §5.3.1.1) the peer may have live at once: streams for which we
    /// hold header state or a partial message. Default 128.
    pub max_chunk_streams: usize,
    /// Most bytes held for messages whose chunks have not all arrived, summed over every chunk
    /// stream, counted by each partial message's announced length. (What is actually held
    /// grows with what arrives, so a peer that announces more than it sends costs only what
    /// it sent.) Default 64 MiB.
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
        max_media_message_size: 16 * 1024 * 1024,
        max_data_message_size: 1024 * 1024,
        max_command_message_size: 64 * 1024,
        max_control_message_size: 64,
        max_chunk_streams: 128,
        max_buffered_bytes: 64 * 1024 * 1024,
        max_amf_depth: 16,
        max_amf_string_len: 1024 * 1024,
        max_amf_decoded_size: 16 * 1024 * 1024,
    };
}

impl Limits {
    /// The largest message of type `type_id` accepted: the smaller of
    /// [`max_message_size`](Self::max_message_size) and the limit of its kind.
    pub fn max_size_of_type(&self, type_id: u8) -> u32 {
        use crate::type_id as t;
        let of_kind = match type_id {
            t::AUDIO | t::VIDEO | t::AGGREGATE => self.max_media_message_size,
            t::DATA_AMF0 | t::DATA_AMF3 => self.max_data_message_size,
            t::SET_CHUNK_SIZE..=t::SET_PEER_BANDWIDTH => self.max_control_message_size,
            _ => self.max_command_message_size,
        };
        of_kind.min(self.max_message_size)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
