//! What a client connection reports: [`ClientEvent`] and the types it carries.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use bytes::Bytes;

use crate::amf::Value;
use crate::message::{Command, Data, Message, UserControl};
use crate::session::SessionError;

/// A request of ours that the server answers by transaction id (RTMP 1.0 §7.2.1.1): a
/// `createStream` or a [`call`](super::ClientConnection::call).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionId(pub(super) u64);

impl TransactionId {
    /// The transaction id as sent on the wire.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An `onStatus` information object (RTMP 1.0 §7.2.2): level, code and description, with the
/// whole object for the other properties servers add (`details`, `clientid`, `tcUrl`...).
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// `status`, `warning` or `error`; empty if the server sent none.
    pub level: String,
    /// E.g. `NetStream.Publish.Start`; empty if the server sent none.
    pub code: String,
    /// Human-readable text; empty if the server sent none.
    pub description: String,
    /// The information object as received (or [`Value::Null`]).
    pub info: Value,
}

impl Status {
    /// Reads the fields of an information object; any value is accepted.
    pub fn from_info(info: Value) -> Self {
        let text = |key: &str| {
            info.get(key)
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_default()
        };
        Status {
            level: text("level"),
            code: text("code"),
            description: text("description"),
            info,
        }
    }

    /// Whether the level is `error`.
    pub fn is_error(&self) -> bool {
        self.level == "error"
    }

    /// The `tcUrl` of a `NetConnection.Connect.ReconnectRequest` (Enhanced RTMP v2,
    /// "Reconnect"): where to reconnect; absent means the same server.
    pub fn tc_url(&self) -> Option<&str> {
        self.info.get("tcUrl").and_then(Value::as_str)
    }
}

/// Something the client connection reports (RTMP 1.0 §7.2). Poll them with
/// [`poll_event`](super::ClientConnection::poll_event); the last one is always
/// [`ClientEvent::Closed`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The handshake is done (RTMP 1.0 §5.2); a `connect` already asked for is on its way.
    HandshakeComplete,
    /// The server accepted `connect` (`_result`, RTMP 1.0 §7.2.1.1).
    Connected {
        /// The `_result`'s command object: `fmsVer`, `capabilities`, `mode`, and the Enhanced
        /// RTMP properties the server supports; [`Value::Null`] if it sent none.
        properties: Value,
        /// The information object: `level`, `code` `NetConnection.Connect.Success`,
        /// `description`, `objectEncoding`; [`Value::Null`] if it sent none.
        information: Value,
    },
    /// The server refused `connect` (`_error`, or a `_result` whose level is `error`).
    ConnectRejected {
        /// E.g. `NetConnection.Connect.Rejected`; empty if the server sent none.
        code: String,
        /// The server's explanation, e.g. `[ AccessManager.Reject ] : [ code=400 ] : `.
        description: String,
        /// The whole information object (a redirect, for instance, is in its `ex` property).
        information: Value,
    },
    /// `createStream` succeeded: `stream_id` is the message stream the server allocated.
    StreamCreated {
        /// What [`create_stream`](super::ClientConnection::create_stream) returned.
        request: TransactionId,
        /// The server's message stream id.
        stream_id: u32,
    },
    /// `createStream` failed: the server answered `_error`, or a `_result` without a usable
    /// stream id.
    CreateStreamFailed {
        /// What [`create_stream`](super::ClientConnection::create_stream) returned.
        request: TransactionId,
        /// The server's information object, or the `_result`'s values as an array.
        information: Value,
    },
    /// An `onStatus` (RTMP 1.0 §7.2.2), or an `onPlayStatus` data message (Play.Complete,
    /// Play.Switch), on `stream` (0: the NetConnection).
    Status {
        /// The message stream it concerns.
        stream: u32,
        /// What the server said.
        status: Status,
    },
    /// `NetStream.Publish.Start` on `stream`: media may flow (also reported as a `Status`).
    PublishStarted {
        /// The message stream.
        stream: u32,
    },
    /// `NetStream.Play.Start` on `stream` (also reported as a `Status`).
    PlayStarted {
        /// The message stream.
        stream: u32,
    },
    /// The publish or play asked for on `stream` was refused (RTMP 1.0 §7.2.2): the status
    /// that said so, e.g. `NetStream.Play.StreamNotFound` or `NetStream.Publish.BadName`
    /// (also reported as a `Status`, just before). Told apart when it is decoded, not when it
    /// is polled: a refusal that arrives in one read with an earlier status of the same
    /// stream (`NetStream.Play.Reset`) is not mistaken for that one.
    StartRefused {
        /// The message stream, idle again.
        stream: u32,
        /// What the server said.
        status: Status,
    },
    /// User Control Stream Begin (RTMP 1.0 §7.1.7).
    StreamBegin {
        /// The message stream.
        stream: u32,
    },
    /// User Control Stream EOF: playback is over.
    StreamEof {
        /// The message stream.
        stream: u32,
    },
    /// User Control Stream Dry: no data for now.
    StreamDry {
        /// The message stream.
        stream: u32,
    },
    /// User Control Stream Is Recorded.
    StreamIsRecorded {
        /// The message stream.
        stream: u32,
    },
    /// An audio message (RTMP 1.0 §7.1.4), or an audio part of an aggregate (§7.1.6).
    Audio {
        /// The message stream.
        stream: u32,
        /// Absolute timestamp, milliseconds (wrapping).
        timestamp: u32,
        /// The FLV audio tag body, shared with the input, not copied.
        payload: Bytes,
    },
    /// A video message (RTMP 1.0 §7.1.5), or a video part of an aggregate (§7.1.6).
    Video {
        /// The message stream.
        stream: u32,
        /// Absolute timestamp, milliseconds (wrapping).
        timestamp: u32,
        /// The FLV video tag body, shared with the input, not copied.
        payload: Bytes,
    },
    /// `onMetaData` (or `@setDataFrame("onMetaData", ...)`) on `stream`.
    Metadata {
        /// The message stream.
        stream: u32,
        /// The metadata: an ECMA array or an object.
        metadata: Value,
    },
    /// Any other data message (RTMP 1.0 §7.1.2), e.g. `|RtmpSampleAccess` or `onTextData`.
    Data {
        /// The message stream.
        stream: u32,
        /// Absolute timestamp, milliseconds.
        timestamp: u32,
        /// The values.
        data: Data,
    },
    /// The `_result` of a [`call`](super::ClientConnection::call).
    CallResult {
        /// What `call` returned.
        transaction: TransactionId,
        /// The `_result`'s command object (often [`Value::Null`]).
        command_object: Value,
        /// The values after it.
        values: Vec<Value>,
    },
    /// The `_error` of a [`call`](super::ClientConnection::call).
    CallError {
        /// What `call` returned.
        transaction: TransactionId,
        /// The `_error`'s command object (often [`Value::Null`]).
        command_object: Value,
        /// The values after it: usually an information object with `code`
        /// `NetConnection.Call.Failed`.
        values: Vec<Value>,
    },
    /// A command the connection does not interpret: `onBWDone`, `onFCPublish`,
    /// `onFCUnpublish`, `close`, or a call of the server's application. If its transaction id is
    /// not 0 the server may wait for an answer; send one with
    /// [`send_command`](super::ClientConnection::send_command) and [`Command::result`].
    Command {
        /// The message stream it came on.
        stream: u32,
        /// The command.
        command: Command,
    },
    /// A user control event without an event of its own (Buffer Empty, Buffer Ready, SWF
    /// verification, unknown types).
    UserControl(UserControl),
    /// A message without an event of its own: shared object messages, unknown types.
    Other {
        /// The message stream.
        stream: u32,
        /// Absolute timestamp, milliseconds.
        timestamp: u32,
        /// The message.
        message: Message,
    },
    /// The server answered our [`ping`](super::ClientConnection::ping) (or the periodic one).
    PingResponse {
        /// Time from the request to its answer.
        round_trip: Duration,
    },
    /// The outbound queue fell back to its low-water mark after a send reported
    /// [`SendStatus::AboveHighWater`](crate::session::SendStatus).
    Writable,
    /// The connection ended; no event follows.
    Closed(SessionError),
}
