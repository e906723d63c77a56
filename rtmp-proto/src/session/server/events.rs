//! What a [`ServerConnection`](super::ServerConnection) reports to the application, and the
//! requests it asks the application to answer.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::amf::Value;
use crate::message::{Data, SharedObject};
use crate::session::SessionError;

/// Names one request of the peer that waits for the application's answer (connect, publish,
/// play, or a call of a command the connection does not know). Unique within a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub(super) u64);

impl RequestId {
    /// The id as a number, as [`ApiError::UnknownRequest`](crate::session::ApiError) reports it.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// Names one call the application made on the peer with
/// [`ServerConnection::call`](super::ServerConnection::call): its transaction id (RTMP 1.0
/// §7.2.1.1), which the peer's `_result` or `_error` carries back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub(super) u32);

impl CallId {
    /// The transaction id sent with the call.
    pub const fn transaction_id(self) -> u32 {
        self.0
    }
}

/// A client's `connect` (RTMP 1.0 §7.2.1.1), to accept with
/// [`accept_connect`](super::ServerConnection::accept_connect) or refuse with
/// [`reject_connect`](super::ServerConnection::reject_connect).
///
/// Absent or mistyped properties are `None`; the whole command object is kept for the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectRequest {
    /// Names this request in the answer.
    pub id: RequestId,
    /// `app`: the server application the client connects to, possibly with a query string
    /// (`live?token=...`) as some encoders put it there. Empty if absent.
    pub app: String,
    /// `tcUrl`: the URL the client connected to.
    pub tc_url: Option<String>,
    /// `flashVer`: the client's version string, e.g. `FMLE/3.0 (compatible; Lavf59.27.100)`.
    pub flash_ver: Option<String>,
    /// `swfUrl`: the URL of the SWF that connects.
    pub swf_url: Option<String>,
    /// `pageUrl`: the URL of the web page the SWF was loaded from.
    pub page_url: Option<String>,
    /// `objectEncoding`: 0 (AMF0) or 3 (AMF3). `None` if absent, which means AMF0.
    pub object_encoding: Option<f64>,
    /// Enhanced RTMP v1 `fourCcList`: the codecs the client supports, as FourCC strings.
    pub fourcc_list: Option<Vec<String>>,
    /// Enhanced RTMP v2 `capsEx`: Reconnect 1, Multitrack 2, ModEx 4, TimestampNanoOffset 8.
    pub caps_ex: Option<u32>,
    /// The whole command object, as sent.
    pub command_object: Value,
    /// Values after the command object ("optional user arguments", RTMP 1.0 §7.2.1.1).
    pub arguments: Vec<Value>,
}

/// How a publisher wants its stream kept (RTMP 1.0 §7.2.2.6, `publish`'s "Publishing Type").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublishType {
    /// `live`: not recorded. Also what an absent, unknown or mistyped type means, as FMS
    /// defaults to live.
    Live,
    /// `record`: recorded, replacing any previous recording.
    Record,
    /// `append`: recorded, appended to a previous recording.
    Append,
    /// `appendWithGap` (FMS): appended, keeping the time that passed as a gap.
    AppendWithGap,
}

/// A client's `publish` (RTMP 1.0 §7.2.2.6), to accept with
/// [`accept_publish`](super::ServerConnection::accept_publish) or refuse with
/// [`reject_publish`](super::ServerConnection::reject_publish).
#[derive(Clone, Debug, PartialEq)]
pub struct PublishRequest {
    /// Names this request in the answer.
    pub id: RequestId,
    /// The message stream (from `createStream`) the media will arrive on.
    pub stream: u32,
    /// The stream name exactly as sent, query string included (`key?token=...`).
    pub name: String,
    /// Live, record or append.
    pub publish_type: PublishType,
}

/// Where a player wants to start (RTMP 1.0 §7.2.2.1, `play`'s "Start").
///
/// The spec counts in seconds (-2, -1), but FFmpeg, librtmp and Flash Player send milliseconds
/// (-2000, -1000): -1 and -1000 both mean live only, any other negative value means live or
/// recorded, and a value from 0 up is a position in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PlayStart {
    /// Play the live stream of that name if there is one, else the recorded one (the default).
    LiveOrRecorded,
    /// Play only a live stream.
    LiveOnly,
    /// Play the recorded stream from this position, in milliseconds.
    At(f64),
}

/// A client's `play` (RTMP 1.0 §7.2.2.1), to accept with
/// [`accept_play`](super::ServerConnection::accept_play) or refuse with
/// [`reject_play`](super::ServerConnection::reject_play).
#[derive(Clone, Debug, PartialEq)]
pub struct PlayRequest {
    /// Names this request in the answer.
    pub id: RequestId,
    /// The message stream (from `createStream`) to send the media on.
    pub stream: u32,
    /// The stream name exactly as sent, query string included.
    pub name: String,
    /// Where to start.
    pub start: PlayStart,
    /// How long to play, in milliseconds; `None` (-1 or absent) means to the end.
    pub duration: Option<f64>,
    /// Whether to flush any previous playlist (absent means `true`); accepting a play that
    /// resets sends NetStream.Play.Reset first.
    pub reset: bool,
}

/// A command the connection does not handle itself, or a client's notification: the
/// application may answer it with [`respond_call`](super::ServerConnection::respond_call) or
/// [`reject_call`](super::ServerConnection::reject_call) when `id` is `Some`.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRequest {
    /// `Some` when the peer awaits an answer from the application. `None` when it awaits none
    /// (transaction id 0) or was already answered `_error` NetConnection.Call.Failed because
    /// [`ServerOptions::call_answer_timeout`](super::ServerOptions::call_answer_timeout) is
    /// `None`.
    pub id: Option<RequestId>,
    /// The message stream the command arrived on (0 for NetConnection calls).
    pub stream: u32,
    /// The command name, as sent.
    pub name: String,
    /// The transaction id, as sent.
    pub transaction_id: f64,
    /// The command object.
    pub command_object: Value,
    /// The values after the command object.
    pub arguments: Vec<Value>,
}

/// Whether the peer answered one of our calls with `_result` or `_error` (RTMP 1.0 §7.2.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// `_result`.
    Result,
    /// `_error`.
    Error,
}

/// What the application learns from a [`ServerConnection`](super::ServerConnection), in the
/// order the peer caused it. `Closed` is the last event.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The client asks to connect; answer it. Nothing else the client sent after it is
    /// reported before it is answered. Boxed: the request would make every event its size,
    /// and every event, each frame a publisher sends among them, is moved through the
    /// connection's queue to the application.
    ConnectRequest(Box<ConnectRequest>),
    /// The client asks to publish; answer it. Its media (and anything else it sent after the
    /// request) is held, bounded by [`ServerOptions::max_held_bytes`](super::ServerOptions),
    /// and reported once the request is answered: after an accept as media of the stream,
    /// after a reject not at all.
    PublishRequest(PublishRequest),
    /// The client asks to play; answer it. Later input is held until then, as for publish.
    PlayRequest(PlayRequest),
    /// `play2` (dynamic stream switching): the parameters object as sent. The application
    /// answers it, if at all, with [`send_status`](super::ServerConnection::send_status)
    /// (e.g. NetStream.Play.Transition).
    Play2 {
        /// The message stream.
        stream: u32,
        /// The `NetStreamPlayOptions` object.
        parameters: Value,
    },
    /// `pause` (RTMP 1.0 §7.2.2.8); answered NetStream.Pause.Notify or Unpause.Notify already.
    Pause {
        /// The message stream.
        stream: u32,
        /// `true` to pause, `false` to resume.
        pause: bool,
        /// Where the client paused or resumes, in milliseconds.
        position: f64,
    },
    /// `seek` (RTMP 1.0 §7.2.2.7); answered NetStream.Seek.Notify already.
    Seek {
        /// The message stream.
        stream: u32,
        /// The position to seek to, in milliseconds.
        position: f64,
    },
    /// `receiveAudio` (RTMP 1.0 §7.2.2.2): whether the player wants audio. Sends are not
    /// filtered by it; the application decides.
    ReceiveAudio {
        /// The message stream.
        stream: u32,
        /// Whether audio is wanted.
        enabled: bool,
    },
    /// `receiveVideo` (RTMP 1.0 §7.2.2.3): whether the player wants video.
    ReceiveVideo {
        /// The message stream.
        stream: u32,
        /// Whether video is wanted.
        enabled: bool,
    },
    /// Set Buffer Length (RTMP 1.0 §6.2, event 3): the client's buffer for a stream.
    BufferLength {
        /// The message stream.
        stream: u32,
        /// Buffer length in milliseconds.
        millis: u32,
    },
    /// Stream metadata: `@setDataFrame("onMetaData", m)` unwrapped, or `onMetaData(m)`.
    Metadata {
        /// The message stream.
        stream: u32,
        /// The message timestamp.
        timestamp: u32,
        /// `m`: an ECMA array (FFmpeg, OBS) or an object.
        metadata: Value,
    },
    /// Audio of a publishing stream (RTMP 1.0 §7.1.4): an FLV audio tag body, not copied.
    Audio {
        /// The message stream.
        stream: u32,
        /// The message timestamp, in milliseconds.
        timestamp: u32,
        /// The payload.
        payload: Bytes,
    },
    /// Video of a publishing stream (RTMP 1.0 §7.1.5): an FLV video tag body, not copied.
    Video {
        /// The message stream.
        stream: u32,
        /// The message timestamp, in milliseconds.
        timestamp: u32,
        /// The payload.
        payload: Bytes,
    },
    /// Any other data message (RTMP 1.0 §7.1.2), e.g. `onCuePoint` or `@clearDataFrame`.
    Data {
        /// The message stream.
        stream: u32,
        /// The message timestamp.
        timestamp: u32,
        /// The message, as sent.
        data: Data,
    },
    /// A shared object message (RTMP 1.0 §7.1.3), which this connection does not interpret.
    SharedObject {
        /// The message stream.
        stream: u32,
        /// The message.
        message: SharedObject,
    },
    /// `FCUnpublish` naming a stream this connection publishes: the publisher announces its
    /// end (answered `_result` and onFCUnpublish already). The stream keeps publishing until
    /// `Unpublished`.
    UnpublishRequest {
        /// The publishing message stream.
        stream: u32,
        /// The name, as sent.
        name: String,
    },
    /// A publishing stream stopped: `closeStream` or `deleteStream` (answered
    /// NetStream.Unpublish.Success already).
    Unpublished {
        /// The message stream.
        stream: u32,
    },
    /// A playing stream stopped: `closeStream` or `deleteStream`.
    PlayStopped {
        /// The message stream.
        stream: u32,
    },
    /// `deleteStream`: the message stream is gone; its id may be handed out again.
    StreamDeleted {
        /// The message stream.
        stream: u32,
    },
    /// A command the connection does not handle itself; see [`CallRequest`].
    Call(CallRequest),
    /// The peer's answer to one of our [`call`](super::ServerConnection::call)s.
    CallResult {
        /// The call answered.
        call: CallId,
        /// `_result` or `_error`.
        outcome: CallOutcome,
        /// The answer's command object.
        command_object: Value,
        /// The answer's further values.
        arguments: Vec<Value>,
    },
    /// The peer answered our Ping Request (RTMP 1.0 §6.2, event 7).
    PingResponse {
        /// Time from the request to the answer.
        round_trip: Duration,
    },
    /// The outbound queue fell to its low-water mark after a send reported
    /// [`SendStatus::AboveHighWater`](crate::session::SendStatus).
    Writable,
    /// The connection ended; nothing follows.
    Closed(SessionError),
}
