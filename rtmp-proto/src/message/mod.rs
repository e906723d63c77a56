//! Typed messages (RTMP 1.0 §5.4, §6, §7): [`Message`] and the conversions to and from
//! [`RawMessage`].
//!
//! [`Message::decode`] interprets a raw message by its type id; [`Message::to_raw`] encodes it
//! back. For every message `m` that encodes, `Message::decode(&m.to_raw(t, s)?, limits) == m`.
//! Type ids this module does not know become [`Message::Unknown`], kept byte for byte.
//!
//! ```
//! use rtmp_proto::message::{Message, UserControl};
//! use rtmp_proto::Limits;
//!
//! let ping = Message::UserControl(UserControl::PingRequest { timestamp: 1000 });
//! let raw = ping.to_raw(0, 0)?;
//! assert_eq!((raw.type_id, &raw.payload[..]), (4, &[0, 6, 0, 0, 0x03, 0xE8][..]));
//! assert_eq!(Message::decode(&raw, &Limits::default())?, ping);
//! # Ok::<(), rtmp_proto::message::MessageError>(())
//! ```
//!
//! Decisions where the spec is silent or real peers disagree:
//! - Control and user control messages shorter than their fixed layout are errors; bytes after
//!   the fixed layout are ignored, as FFmpeg, nginx-rtmp and librtmp all read only the fields
//!   they know and none of them rejects a longer payload.
//! - The extended types 15, 16 and 17 start with a format selector byte that must be 0 (RTMP
//!   errata §6.2); a type 15 or 17 payload whose first byte is the AMF0 string marker 0x02 is
//!   taken as a sender that forgot the selector (the first value of both is a string name).
//! - Audio, video and aggregate payloads are never copied: the message holds the same [`Bytes`].
//!
//! Memory: decoding AMF (commands, data, shared objects) is bounded by
//! [`Limits::max_amf_decoded_size`] for the whole message, on top of the AMF decoders' own limits.

mod aggregate;
mod amf_values;
mod command;
mod control;
mod data;
mod shared_object;
mod user_control;
mod wire;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testing;

pub use aggregate::{split_aggregate, AggregateBuilder, AggregateIter};
pub use command::Command;
pub use control::LimitType;
pub use data::Data;
pub use shared_object::{SharedObject, SharedObjectEvent};
pub use user_control::UserControl;

use crate::amf::AmfError;
use crate::raw::type_id;
use crate::{Limits, RawMessage};
use bytes::Bytes;

/// How the values of a command, data or shared object message are encoded, which picks its
/// message type id (RTMP 1.0 §7.1.1 to §7.1.3, RTMP errata §6.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AmfEncoding {
    /// Plain AMF0 values: types 18 (data), 19 (shared object) and 20 (command).
    #[default]
    Amf0,
    /// The "extended" types 15 (data), 16 (shared object) and 17 (command): a format selector
    /// byte 0, then AMF0 values in which the avmplus marker 0x11 switches one value to AMF3.
    /// Only for peers that negotiated `objectEncoding` 3 in connect.
    Amf3,
}

/// A typed RTMP message (RTMP 1.0 §5.4, §6.2, §7.1).
///
/// The message header (timestamp and message stream id) stays with the [`RawMessage`]; pass
/// them to [`Message::to_raw`] when encoding.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// Set Chunk Size (RTMP 1.0 §5.4.1): the chunk size the sender uses from now on,
    /// 1..=0x7FFF_FFFF.
    SetChunkSize {
        /// The new maximum chunk payload size, in bytes.
        chunk_size: u32,
    },
    /// Abort Message (RTMP 1.0 §5.4.2): discard the partial message on a chunk stream.
    Abort {
        /// The chunk stream whose partial message is discarded.
        chunk_stream_id: u32,
    },
    /// Acknowledgement (RTMP 1.0 §5.4.3): bytes received so far (wrapping).
    Acknowledgement {
        /// The number of bytes received so far, modulo 2^32.
        sequence_number: u32,
    },
    /// User Control Message (RTMP 1.0 §6.2).
    UserControl(UserControl),
    /// Window Acknowledgement Size (RTMP 1.0 §5.4.4). May be 0: users must not divide by it.
    WindowAckSize {
        /// Bytes the peer may receive before it sends an acknowledgement.
        window_size: u32,
    },
    /// Set Peer Bandwidth (RTMP 1.0 §5.4.5).
    SetPeerBandwidth {
        /// The acknowledgement window the sender asks the peer to use.
        window_size: u32,
        /// How to apply it.
        limit_type: LimitType,
    },
    /// Audio (RTMP 1.0 §7.1.4): an FLV audio tag body, untouched.
    Audio(Bytes),
    /// Video (RTMP 1.0 §7.1.5): an FLV video tag body, untouched.
    Video(Bytes),
    /// Data message (RTMP 1.0 §7.1.2), such as `onMetaData` or `@setDataFrame`.
    Data(Data),
    /// Command message (RTMP 1.0 §7.1.1), such as `connect` or `_result`.
    Command(Command),
    /// Shared object message (RTMP 1.0 §7.1.3).
    SharedObject(SharedObject),
    /// Aggregate message (RTMP 1.0 §7.1.6), kept whole; [`split_aggregate`] or
    /// [`AggregateIter`] yields its sub-messages and validates its structure.
    Aggregate(Bytes),
    /// Any other type id, kept byte for byte. Encoding one whose type id this module
    /// interprets is refused ([`MessageError::KnownTypeAsUnknown`]), so that it decodes back to
    /// itself.
    Unknown {
        /// The message type id.
        type_id: u8,
        /// The payload.
        payload: Bytes,
    },
}

impl Message {
    /// Interprets `raw` by its type id (RTMP 1.0 §5.4, §6.2, §7.1), bounded by `limits`.
    pub fn decode(raw: &RawMessage, limits: &Limits) -> Result<Message, MessageError> {
        let payload = &raw.payload;
        let message = match raw.type_id {
            type_id::SET_CHUNK_SIZE
            | type_id::ABORT
            | type_id::ACKNOWLEDGEMENT
            | type_id::WINDOW_ACK_SIZE
            | type_id::SET_PEER_BANDWIDTH => control::decode(raw.type_id, payload)?,
            type_id::USER_CONTROL => Message::UserControl(UserControl::decode(payload)?),
            type_id::AUDIO => Message::Audio(payload.clone()),
            type_id::VIDEO => Message::Video(payload.clone()),
            type_id::DATA_AMF0 => Message::Data(Data::decode(payload, AmfEncoding::Amf0, limits)?),
            type_id::DATA_AMF3 => Message::Data(Data::decode(payload, AmfEncoding::Amf3, limits)?),
            type_id::COMMAND_AMF0 => {
                Message::Command(Command::decode(payload, AmfEncoding::Amf0, limits)?)
            }
            type_id::COMMAND_AMF3 => {
                Message::Command(Command::decode(payload, AmfEncoding::Amf3, limits)?)
            }
            type_id::SHARED_OBJECT_AMF0 => {
                Message::SharedObject(SharedObject::decode(payload, AmfEncoding::Amf0, limits)?)
            }
            type_id::SHARED_OBJECT_AMF3 => {
                Message::SharedObject(SharedObject::decode(payload, AmfEncoding::Amf3, limits)?)
            }
            type_id::AGGREGATE => Message::Aggregate(payload.clone()),
            other => Message::Unknown {
                type_id: other,
                payload: payload.clone(),
            },
        };
        Ok(message)
    }

    /// The message type id this message is sent with (RTMP 1.0 §6.1.1 and §7.1).
    pub fn type_id(&self) -> u8 {
        match self {
            Message::SetChunkSize { .. } => type_id::SET_CHUNK_SIZE,
            Message::Abort { .. } => type_id::ABORT,
            Message::Acknowledgement { .. } => type_id::ACKNOWLEDGEMENT,
            Message::UserControl(_) => type_id::USER_CONTROL,
            Message::WindowAckSize { .. } => type_id::WINDOW_ACK_SIZE,
            Message::SetPeerBandwidth { .. } => type_id::SET_PEER_BANDWIDTH,
            Message::Audio(_) => type_id::AUDIO,
            Message::Video(_) => type_id::VIDEO,
            Message::Data(data) => match data.encoding {
                AmfEncoding::Amf0 => type_id::DATA_AMF0,
                AmfEncoding::Amf3 => type_id::DATA_AMF3,
            },
            Message::Command(command) => match command.encoding {
                AmfEncoding::Amf0 => type_id::COMMAND_AMF0,
                AmfEncoding::Amf3 => type_id::COMMAND_AMF3,
            },
            Message::SharedObject(shared_object) => match shared_object.encoding {
                AmfEncoding::Amf0 => type_id::SHARED_OBJECT_AMF0,
                AmfEncoding::Amf3 => type_id::SHARED_OBJECT_AMF3,
            },
            Message::Aggregate(_) => type_id::AGGREGATE,
            Message::Unknown { type_id, .. } => *type_id,
        }
    }

    /// Encodes the payload of this message (RTMP 1.0 §5.4, §6.2, §7.1). Media and aggregate
    /// payloads are shared, not copied.
    pub fn encode_payload(&self) -> Result<Bytes, MessageError> {
        match self {
            Message::SetChunkSize { chunk_size } => control::encode_chunk_size(*chunk_size),
            Message::Abort { chunk_stream_id } => Ok(control::encode_u32(*chunk_stream_id)),
            Message::Acknowledgement { sequence_number } => {
                Ok(control::encode_u32(*sequence_number))
            }
            Message::UserControl(event) => event.encode(),
            Message::WindowAckSize { window_size } => Ok(control::encode_u32(*window_size)),
            Message::SetPeerBandwidth {
                window_size,
                limit_type,
            } => Ok(control::encode_peer_bandwidth(*window_size, *limit_type)),
            Message::Audio(payload) | Message::Video(payload) | Message::Aggregate(payload) => {
                Ok(payload.clone())
            }
            Message::Data(data) => data.encode(),
            Message::Command(command) => command.encode(),
            Message::SharedObject(shared_object) => shared_object.encode(),
            Message::Unknown { type_id, payload } => {
                if is_interpreted_type(*type_id) {
                    Err(MessageError::KnownTypeAsUnknown { type_id: *type_id })
                } else {
                    Ok(payload.clone())
                }
            }
        }
    }

    /// Encodes this message as a [`RawMessage`] with the given header fields.
    pub fn to_raw(&self, timestamp: u32, stream_id: u32) -> Result<RawMessage, MessageError> {
        Ok(RawMessage {
            timestamp,
            type_id: self.type_id(),
            stream_id,
            payload: self.encode_payload()?,
        })
    }
}

impl From<UserControl> for Message {
    fn from(event: UserControl) -> Self {
        Message::UserControl(event)
    }
}

impl From<Command> for Message {
    fn from(command: Command) -> Self {
        Message::Command(command)
    }
}

impl From<Data> for Message {
    fn from(data: Data) -> Self {
        Message::Data(data)
    }
}

impl From<SharedObject> for Message {
    fn from(shared_object: SharedObject) -> Self {
        Message::SharedObject(shared_object)
    }
}

/// Whether [`Message::decode`] gives `type_id` a variant of its own.
fn is_interpreted_type(id: u8) -> bool {
    matches!(
        id,
        type_id::SET_CHUNK_SIZE
            | type_id::ABORT
            | type_id::ACKNOWLEDGEMENT
            | type_id::USER_CONTROL
            | type_id::WINDOW_ACK_SIZE
            | type_id::SET_PEER_BANDWIDTH
            | type_id::AUDIO
            | type_id::VIDEO
            | type_id::DATA_AMF3
            | type_id::SHARED_OBJECT_AMF3
            | type_id::COMMAND_AMF3
            | type_id::DATA_AMF0
            | type_id::SHARED_OBJECT_AMF0
            | type_id::COMMAND_AMF0
            | type_id::AGGREGATE
    )
}

/// Errors turning a raw message into a typed one, or a typed one into bytes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The payload was shorter than the message type needs.
    #[error("message type {type_id}: payload of {actual} bytes, need at least {needed}")]
    Truncated {
        /// The message type id.
        type_id: u8,
        /// Bytes the fixed layout needs.
        needed: usize,
        /// Bytes the payload has.
        actual: usize,
    },
    /// A user control event's data was shorter than the event type needs (RTMP 1.0 §6.2).
    #[error("user control event {event_type}: {actual} data bytes, need at least {needed}")]
    UserControlTruncated {
        /// The event type.
        event_type: u16,
        /// Data bytes the event needs.
        needed: usize,
        /// Data bytes present.
        actual: usize,
    },
    /// A Set Chunk Size of 0 or with the most significant bit set (RTMP 1.0 §5.4.1).
    #[error("invalid chunk size {0} (must be 1..=0x7FFFFFFF)")]
    InvalidChunkSize(u32),
    /// An extended (type 15, 16 or 17) payload began with a format selector other than 0
    /// (RTMP errata §6.2).
    #[error("message type {type_id}: unknown format selector {selector:#04x}")]
    UnknownFormatSelector {
        /// The message type id.
        type_id: u8,
        /// The selector byte found.
        selector: u8,
    },
    /// A command message carried no value at all, so not even a name (RTMP 1.0 §7.1.1).
    #[error("command message without a command name")]
    MissingCommandName,
    /// A command message's first value was not a string (RTMP 1.0 §7.1.1).
    #[error("command name is not a string")]
    CommandNameNotString,
    /// A command message's second value was present but not a number (RTMP 1.0 §7.1.1).
    #[error("command transaction id is not a number")]
    TransactionIdNotNumber,
    /// A shared object message ended inside its header or inside an event (RTMP 1.0 §7.1.3).
    #[error("shared object message truncated")]
    SharedObjectTruncated,
    /// A shared object event's data did not have the layout of its event type (RTMP 1.0
    /// §7.1.3).
    #[error("shared object event {event_type}: malformed event data")]
    MalformedSharedObjectEvent {
        /// The event type.
        event_type: u8,
    },
    /// A string that must be UTF-8 was not (a shared object name, property name, or status).
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A string was too long for its 16-bit length field.
    #[error("string of {0} bytes does not fit a 16-bit length")]
    StringTooLong(usize),
    /// Encoding a field that does not fit its 32-bit length.
    #[error("field of {0} bytes does not fit a 32-bit length")]
    FieldTooLong(usize),
    /// Decoding would produce more memory than [`Limits::max_amf_decoded_size`] allows.
    #[error("decoded message exceeds the limit of {limit} bytes")]
    DecodedSizeLimit {
        /// The limit in force.
        limit: usize,
    },
    /// An aggregate message ended inside a sub-message header, body or back pointer (RTMP 1.0
    /// §7.1.6).
    #[error("aggregate message truncated at offset {offset}")]
    AggregateTruncated {
        /// Offset in the aggregate payload of the sub-message that did not fit.
        offset: usize,
    },
    /// An aggregate contained another aggregate; no peer sends that, and refusing it keeps
    /// splitting non-recursive.
    #[error("aggregate message nested in an aggregate")]
    NestedAggregate,
    /// An aggregate sub-message was larger than [`Limits::max_message_size`] or than its 24-bit
    /// size field allows.
    #[error("aggregate sub-message of {size} bytes is too large")]
    SubMessageTooLarge {
        /// The sub-message size.
        size: usize,
    },
    /// [`Message::Unknown`] was given a type id that decodes to another variant.
    #[error("message type {type_id} has its own variant; it cannot be sent as Unknown")]
    KnownTypeAsUnknown {
        /// The type id.
        type_id: u8,
    },
    /// [`UserControl::Unknown`] was given an event type that decodes to another variant.
    #[error("user control event {event_type} has its own variant; it cannot be sent as Unknown")]
    KnownEventAsUnknown {
        /// The event type.
        event_type: u16,
    },
    /// [`SharedObjectEvent::Unknown`] was given an event type that decodes to another variant.
    #[error("shared object event {event_type} has its own variant; it cannot be sent as Unknown")]
    KnownSharedObjectEventAsUnknown {
        /// The event type.
        event_type: u8,
    },
    /// AMF values were malformed, exceeded a limit, or could not be encoded.
    #[error("AMF: {0}")]
    Amf(#[from] AmfError),
}
