use core::time::Duration;

use crate::{Limits, MemoryBudget};

/// What both connection roles share: limits, windows, chunk size, timeouts and the outbound
/// queue's bounds. Every field has a finite, documented default.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Bounds on what the peer can make us hold (see [`Limits`]).
    pub limits: Limits,
    /// The chunk size we send with, announced by Set Chunk Size once the handshake is done
    /// (RTMP 1.0 §5.4.1). Default 4096, like nginx-rtmp and FFmpeg; 128 means "never announce".
    pub chunk_size: u32,
    /// The acknowledgement window we ask the peer to use (Window Acknowledgement Size, RTMP 1.0
    /// §5.4.4). Default 2,500,000 bytes.
    pub window_ack_size: u32,
    /// The bandwidth we ask the peer to limit its output to (Set Peer Bandwidth, RTMP 1.0
    /// §5.4.5, sent as dynamic). Default 2,500,000 bytes.
    pub peer_bandwidth: u32,
    /// The whole handshake must complete within this time. Default 10 s.
    pub handshake_timeout: Duration,
    /// A peer that sends nothing for this long is disconnected. Default 60 s (nginx-rtmp's
    /// `timeout`). `None` disables it.
    pub idle_timeout: Option<Duration>,
    /// When the peer has sent nothing for this long, send it a Ping Request (RTMP 1.0 §6.2,
    /// event 6). Default `None` (off), since a media peer is rarely silent.
    pub ping_interval: Option<Duration>,
    /// A Ping Request unanswered for this long ends the connection. Default 30 s.
    pub ping_timeout: Duration,
    /// Bytes queued for sending (messages not yet written by the adapter) above which a send
    /// reports [`SendStatus::AboveHighWater`](super::SendStatus) and, with
    /// [`drop_video_when_congested`](Self::drop_video_when_congested), inter-frame video is
    /// dropped. Default 4 MiB.
    pub outbound_high_water: usize,
    /// Once above the high-water mark, the connection reports that it can take more (an event of
    /// each role) when the queue falls to this many bytes. Default 1 MiB.
    pub outbound_low_water: usize,
    /// Hard bound on queued bytes: a send that would exceed it is refused with
    /// [`ApiError::QueueFull`](super::ApiError), and an answer the connection sends on its own
    /// (a ping answer, an acknowledgement, a `_result`) ends the connection with
    /// [`SessionError::OutboundQueueFull`](super::SessionError): the peer is not reading.
    /// Every queued message counts its payload plus the bookkeeping of its slot (about 70
    /// bytes), so that a flood of empty messages is bounded too. Default 64 MiB.
    pub outbound_max: usize,
    /// Hard bound on queued bytes of everything but audio and video: protocol and user control
    /// (ping answers included), commands, statuses and data, counted as for
    /// [`outbound_max`](Self::outbound_max). These lanes go before media, so they only fill
    /// when the peer reads nothing at all; a peer that keeps asking (pings, createStream) and
    /// never reads reaches this bound after some 13,000 ping answers and is disconnected,
    /// instead of making us queue answers up to `outbound_max`. Default 1 MiB, which also
    /// bounds the metadata an application may have waiting for one player.
    pub outbound_command_max: usize,
    /// Drop video that is not a keyframe (and everything after it up to the next keyframe, which
    /// would not decode) while the queue is above the high-water mark. Sequence headers and
    /// keyframes are never dropped. Default true.
    pub drop_video_when_congested: bool,
    /// The memory budget this connection shares with every other connection made from a clone
    /// of this configuration (a server's connections, typically): the buffers of its partial
    /// messages and its outbound queue (without audio and video payloads, which players
    /// share) count against it, and a connection that would take the total past the limit
    /// while holding more than its share ends with
    /// [`SessionError::MemoryBudgetExceeded`](super::SessionError). Default: a budget of
    /// [`MemoryBudget::DEFAULT_LIMIT`] (256 MiB), new for each `default()` call and shared by
    /// its clones. `None`: only this connection's own limits apply.
    pub memory_budget: Option<MemoryBudget>,
    /// Most message streams (createStream) one connection may have open at once. Default 16.
    pub max_message_streams: usize,
    /// Most requests of the peer (connect, publish, play, calls) waiting for the application's
    /// answer, and most calls of ours waiting for the peer's result. Default 64.
    pub max_pending_requests: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            limits: Limits::default(),
            chunk_size: 4096,
            window_ack_size: 2_500_000,
            peer_bandwidth: 2_500_000,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(60)),
            ping_interval: None,
            ping_timeout: Duration::from_secs(30),
            outbound_high_water: 4 * 1024 * 1024,
            outbound_low_water: 1024 * 1024,
            outbound_max: 64 * 1024 * 1024,
            outbound_command_max: 1024 * 1024,
            drop_video_when_congested: true,
            memory_budget: Some(MemoryBudget::default()),
            max_message_streams: 16,
            max_pending_requests: 64,
        }
    }
}
