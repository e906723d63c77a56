//! How a [`ServerConnection`](super::ServerConnection) is set up.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use crate::handshake::ServerConfig;
use crate::session::SessionConfig;

/// Enhanced RTMP v2 FourCC capability flag: the peer can decode the codec.
pub const FOURCC_CAN_DECODE: u32 = 0x01;
/// Enhanced RTMP v2 FourCC capability flag: the peer can encode the codec.
pub const FOURCC_CAN_ENCODE: u32 = 0x02;
/// Enhanced RTMP v2 FourCC capability flag: the peer can forward the codec untouched, as a
/// relay does.
pub const FOURCC_CAN_FORWARD: u32 = 0x04;

/// Enhanced RTMP v2 `capsEx` bit: NetConnection.Connect.ReconnectRequest is understood.
pub const CAPS_EX_RECONNECT: u32 = 0x01;
/// Enhanced RTMP v2 `capsEx` bit: multitrack audio and video.
pub const CAPS_EX_MULTITRACK: u32 = 0x02;
/// Enhanced RTMP v2 `capsEx` bit: the ModEx packet type.
pub const CAPS_EX_MOD_EX: u32 = 0x04;
/// Enhanced RTMP v2 `capsEx` bit: nanosecond timestamp offsets (a ModEx modifier).
pub const CAPS_EX_TIMESTAMP_NANO_OFFSET: u32 = 0x08;

/// Everything a [`ServerConnection`](super::ServerConnection) needs to start.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ServerConnectionConfig {
    /// Limits, windows, our chunk size (sent in the connect answer), timeouts and the outbound
    /// queue's bounds.
    pub session: SessionConfig,
    /// The handshakes accepted (default: digest or plain, RTMP 1.0 §5.2).
    pub handshake: ServerConfig,
    /// What the server says and does on its own.
    pub options: ServerOptions,
}

/// What the server says in its answers and does without asking the application.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServerOptions {
    /// `fmsVer` in the connect `_result` (RTMP 1.0 §7.2.1.1). Default `FMS/3,0,1,123`, as
    /// nginx-rtmp sends: some clients parse it.
    pub fms_version: String,
    /// `capabilities` in the connect `_result`. Default 31, as nginx-rtmp and FMS send.
    pub capabilities: f64,
    /// `mode` in the connect `_result`. Default 1.
    pub mode: f64,
    /// Send `onBWDone` after the connect `_result`, as FMS does. Default `false`: some encoders
    /// take it for a bandwidth check and disconnect.
    pub send_bw_done: bool,
    /// How long the application may take to answer a [`Call`](super::ServerEvent::Call) before
    /// the connection answers `_error` NetConnection.Call.Failed itself, so that no client
    /// waits forever. `None` (the default): unknown commands are answered `_error` at once, as
    /// FMS does, and the `Call` events are only informative.
    pub call_answer_timeout: Option<Duration>,
    /// A client that completed the handshake must send `connect` within this time, or the
    /// connection ends with [`SessionError::ConnectTimeout`](crate::session::SessionError).
    /// Every real client sends it at once; a peer that does not holds a connection (and its
    /// buffers) for nothing. Default 10 s, as long as the handshake may take. `None` disables it.
    pub connect_timeout: Option<Duration>,
    /// A client whose connect was accepted must ask to publish or play within this time, or the
    /// connection ends with [`SessionError::StreamTimeout`](crate::session::SessionError).
    /// Encoders and players ask within a few round trips of the connect answer. Default 10 s;
    /// `None` for applications whose clients only make calls or use shared objects.
    pub stream_timeout: Option<Duration>,
    /// How long bytes sent to the peer may stay unacknowledged by its TCP before the
    /// connection is dropped: the adapters apply it to the TCP streams they accept as
    /// `TCP_USER_TIMEOUT` (RFC 5482; Linux). The outbound queue's bounds see only what the
    /// kernel has not taken yet; a peer that reads nothing while our answers still fit in the
    /// kernel's send buffer (several MiB on a fast link), or whose window updates are lost,
    /// would otherwise hold the connection for as long as TCP keeps retrying (minutes). A
    /// player that pauses keeps acknowledging what it already has. Default 30 s; `None`
    /// leaves the system's behaviour.
    pub unacked_timeout: Option<Duration>,
    /// Most bytes of input held while a connect, publish or play request waits for the
    /// application's answer (FFmpeg sends its media right after `publish`, without waiting for
    /// NetStream.Publish.Start). Counted by payload size plus the memory of decoded AMF values.
    /// A peer that sends more before the answer ends the connection with
    /// [`SessionError::HeldInputFull`](crate::session::SessionError). What is held counts
    /// against the server's [memory budget](crate::session::SessionConfig::memory_budget)
    /// too: past that, the connection ends with
    /// [`SessionError::MemoryBudgetExceeded`](crate::session::SessionError).
    /// Default 8 MiB: over a second of a 50 Mbit/s stream.
    pub max_held_bytes: usize,
    /// The codecs (FourCC strings) this server takes from Enhanced RTMP clients. The connect
    /// answer lists those of the client's `fourCcList` (and info maps) that are in it. `None`
    /// (the default): every codec the client lists, as a relay that forwards media untouched.
    pub supported_fourccs: Option<Vec<String>>,
    /// The value each codec gets in the `videoFourCcInfoMap` / `audioFourCcInfoMap` of the
    /// connect answer (flags [`FOURCC_CAN_DECODE`], [`FOURCC_CAN_ENCODE`],
    /// [`FOURCC_CAN_FORWARD`]). Default [`FOURCC_CAN_FORWARD`].
    pub fourcc_capabilities: u32,
    /// The Enhanced RTMP `capsEx` bits this server supports; the connect answer carries those
    /// the client also sent. Default multitrack, ModEx and nanosecond offsets (the media is
    /// forwarded untouched); not Reconnect, which needs the application to send
    /// NetConnection.Connect.ReconnectRequest.
    pub caps_ex: u32,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            fms_version: String::from("FMS/3,0,1,123"),
            capabilities: 31.0,
            mode: 1.0,
            send_bw_done: false,
            call_answer_timeout: None,
            connect_timeout: Some(Duration::from_secs(10)),
            stream_timeout: Some(Duration::from_secs(10)),
            unacked_timeout: Some(Duration::from_secs(30)),
            max_held_bytes: 8 * 1024 * 1024,
            supported_fourccs: None,
            fourcc_capabilities: FOURCC_CAN_FORWARD,
            caps_ex: CAPS_EX_MULTITRACK | CAPS_EX_MOD_EX | CAPS_EX_TIMESTAMP_NANO_OFFSET,
        }
    }
}
