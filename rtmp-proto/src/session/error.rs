use alloc::string::String;

use crate::chunk::ChunkError;
use crate::handshake::HandshakeError;
use crate::message::MessageError;

/// Why a connection ended. The peer's faults and timeouts are fatal and sticky: once a
/// connection has an error, every later input returns it again.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The handshake failed (RTMP 1.0 §5.2).
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The chunk stream was malformed or exceeded a limit (RTMP 1.0 §5.3).
    #[error("chunk stream: {0}")]
    Chunk(#[from] ChunkError),
    /// A message could not be decoded (RTMP 1.0 §5.4, §6, §7).
    #[error("message: {0}")]
    Message(#[from] MessageError),
    /// The peer broke the conversation's rules, e.g. media before a publish was accepted.
    #[error("protocol violation: {0}")]
    Protocol(#[from] Violation),
    /// The handshake did not complete within the configured time.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// The peer completed the handshake but sent no `connect` within the configured time
    /// (`ServerOptions::connect_timeout`).
    #[error("no connect in time after the handshake")]
    ConnectTimeout,
    /// The peer connected but asked to neither publish nor play within the configured time
    /// (`ServerOptions::stream_timeout`).
    #[error("neither publish nor play in time after the connect")]
    StreamTimeout,
    /// The peer sent nothing for longer than the idle timeout.
    #[error("peer idle for too long")]
    IdleTimeout,
    /// The peer did not answer a Ping Request in time.
    #[error("peer did not answer a ping")]
    PingTimeout,
    /// What we had to send the peer outgrew the outbound queue's hard bounds
    /// ([`SessionConfig::outbound_max`](super::SessionConfig::outbound_max),
    /// [`SessionConfig::outbound_command_max`](super::SessionConfig::outbound_command_max)):
    /// the peer asks (pings, commands) but does not read the answers.
    #[error("outbound queue full: the peer is not reading")]
    OutboundQueueFull,
    /// The connection would have taken the server's shared memory budget past its limit while
    /// holding more than its share of it
    /// ([`SessionConfig::memory_budget`](super::SessionConfig::memory_budget)).
    #[error("memory budget exceeded")]
    MemoryBudgetExceeded,
    /// The peer had more requests (connect, publish, play, calls) awaiting the application's
    /// answer than [`SessionConfig::max_pending_requests`](super::SessionConfig::max_pending_requests)
    /// allows.
    #[error("more than {limit} requests await an answer")]
    TooManyPendingRequests {
        /// The bound.
        limit: usize,
    },
    /// The peer sent more than `ServerOptions::max_held_bytes` of input while a request of
    /// its waited for the application's answer.
    #[error("more than {limit} bytes sent before the application answered a request")]
    HeldInputFull {
        /// The bound.
        limit: usize,
    },
    /// The connection was closed (by us, or the peer closed its side).
    #[error("connection closed")]
    Closed,
}

/// How a peer broke the rules of the NetConnection and NetStream conversation (RTMP 1.0
/// §7.2); each ends the connection as [`SessionError::Protocol`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A command other than `connect` came first (§7.2.1.1: `connect` opens the conversation).
    #[error("command {command:?} before connect")]
    CommandBeforeConnect {
        /// The command's name.
        command: String,
    },
    /// A shared object message came before `connect`.
    #[error("shared object message before connect")]
    SharedObjectBeforeConnect,
    /// `connect` came on a connection that had already sent one.
    #[error("a second connect")]
    SecondConnect,
    /// A NetStream command named a message stream that `createStream` never made (§7.2.2).
    #[error("{command} on message stream {stream}, which does not exist")]
    UnknownStream {
        /// The command's name.
        command: String,
        /// The message stream it came on.
        stream: u32,
    },
    /// A data message came on a message stream that does not exist.
    #[error("data message on message stream {stream}, which does not exist")]
    DataOnUnknownStream {
        /// The message stream.
        stream: u32,
    },
    /// Audio, video or an aggregate came on a message stream that is not publishing.
    #[error("{kind} on message stream {stream}, which is not publishing")]
    MediaWithoutPublish {
        /// What came.
        kind: MediaKind,
        /// The message stream.
        stream: u32,
    },
}

/// The kinds of media message (RTMP 1.0 §7.1.4 to §7.1.6), as [`Violation`] names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaKind {
    /// An audio message.
    Audio,
    /// A video message.
    Video,
    /// An aggregate message.
    Aggregate,
}

impl core::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Aggregate => "aggregate",
        })
    }
}

/// Misuse of the API: the call was refused and nothing else changed. Never caused by what the
/// peer sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The connection has ended; see its [`SessionError`].
    #[error("the connection has ended")]
    Closed,
    /// The call needs a state the connection is not in (e.g. publishing before connecting).
    #[error("not allowed in the current state: {0}")]
    InvalidState(&'static str),
    /// No such message stream, or not in the state the call needs.
    #[error("unknown message stream {0}")]
    UnknownStream(u32),
    /// No such pending request (it was already answered, or never existed).
    #[error("unknown request {0}")]
    UnknownRequest(u64),
    /// The outbound queue would exceed [`SessionConfig::outbound_max`](super::SessionConfig).
    #[error("outbound queue full")]
    QueueFull,
    /// A message could not be encoded (e.g. a string too long for AMF).
    #[error("cannot encode: {0}")]
    Encode(#[from] MessageError),
}
