//! User control messages (RTMP 1.0 §6.2, §7.1.7): a 16-bit event type and its data.

use super::MessageError;
use crate::raw::type_id;
use crate::wire::ByteReader;
use bytes::{BufMut, Bytes, BytesMut};

/// Size of the SWF verification response data (librtmp's `SWFVerificationResponse`): 0x01 0x01,
/// the SWF size twice (4 bytes each), then a 32-byte HMAC-SHA256.
const SWF_VERIFICATION_RESPONSE_LEN: usize = 42;

/// A user control event (RTMP 1.0 §6.2 and §7.1.7), plus the events real servers send that the
/// spec does not list.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserControl {
    /// Stream Begin (0): the stream became functional.
    StreamBegin {
        /// The message stream id.
        stream_id: u32,
    },
    /// Stream EOF (1): playback of the stream is over.
    StreamEof {
        /// The message stream id.
        stream_id: u32,
    },
    /// Stream Dry (2): no more data on the stream for now.
    StreamDry {
        /// The message stream id.
        stream_id: u32,
    },
    /// Set Buffer Length (3): the client's buffer size for a stream.
    SetBufferLength {
        /// The message stream id.
        stream_id: u32,
        /// Buffer length in milliseconds.
        buffer_length: u32,
    },
    /// Stream Is Recorded (4): the stream is a recorded one.
    StreamIsRecorded {
        /// The message stream id.
        stream_id: u32,
    },
    /// Ping Request (6): answer with a [`UserControl::PingResponse`] carrying the same time.
    PingRequest {
        /// The sender's local time.
        timestamp: u32,
    },
    /// Ping Response (7): the timestamp of the Ping Request it answers.
    PingResponse {
        /// The time received in the Ping Request.
        timestamp: u32,
    },
    /// SWF verification request (0x1A, undocumented; Flash Media Server and librtmp). Any event
    /// data is ignored: the request carries none.
    SwfVerificationRequest,
    /// SWF verification response (0x1B, undocumented): 42 bytes of data, 0x01 0x01, the SWF
    /// size twice (4 bytes each), then a 32-byte HMAC-SHA256 of the SWF (librtmp).
    SwfVerificationResponse {
        /// The response data.
        data: [u8; SWF_VERIFICATION_RESPONSE_LEN],
    },
    /// Buffer Empty (0x1F, undocumented; Red5, OBS): the server sent everything it had.
    BufferEmpty {
        /// The message stream id.
        stream_id: u32,
    },
    /// Buffer Ready (0x20, undocumented; Red5 calls it Buffer Full): the server has data again.
    BufferReady {
        /// The message stream id.
        stream_id: u32,
    },
    /// Any other event type, its data kept byte for byte.
    Unknown {
        /// The event type.
        event_type: u16,
        /// The event data.
        data: Bytes,
    },
}

impl UserControl {
    /// Event type of [`UserControl::StreamBegin`].
    pub const STREAM_BEGIN: u16 = 0;
    /// Event type of [`UserControl::StreamEof`].
    pub const STREAM_EOF: u16 = 1;
    /// Event type of [`UserControl::StreamDry`].
    pub const STREAM_DRY: u16 = 2;
    /// Event type of [`UserControl::SetBufferLength`].
    pub const SET_BUFFER_LENGTH: u16 = 3;
    /// Event type of [`UserControl::StreamIsRecorded`].
    pub const STREAM_IS_RECORDED: u16 = 4;
    /// Event type of [`UserControl::PingRequest`].
    pub const PING_REQUEST: u16 = 6;
    /// Event type of [`UserControl::PingResponse`].
    pub const PING_RESPONSE: u16 = 7;
    /// Event type of [`UserControl::SwfVerificationRequest`].
    pub const SWF_VERIFICATION_REQUEST: u16 = 0x1A;
    /// Event type of [`UserControl::SwfVerificationResponse`].
    pub const SWF_VERIFICATION_RESPONSE: u16 = 0x1B;
    /// Event type of [`UserControl::BufferEmpty`].
    pub const BUFFER_EMPTY: u16 = 0x1F;
    /// Event type of [`UserControl::BufferReady`].
    pub const BUFFER_READY: u16 = 0x20;

    /// The event type on the wire.
    pub fn event_type(&self) -> u16 {
        match self {
            UserControl::StreamBegin { .. } => Self::STREAM_BEGIN,
            UserControl::StreamEof { .. } => Self::STREAM_EOF,
            UserControl::StreamDry { .. } => Self::STREAM_DRY,
            UserControl::SetBufferLength { .. } => Self::SET_BUFFER_LENGTH,
            UserControl::StreamIsRecorded { .. } => Self::STREAM_IS_RECORDED,
            UserControl::PingRequest { .. } => Self::PING_REQUEST,
            UserControl::PingResponse { .. } => Self::PING_RESPONSE,
            UserControl::SwfVerificationRequest => Self::SWF_VERIFICATION_REQUEST,
            UserControl::SwfVerificationResponse { .. } => Self::SWF_VERIFICATION_RESPONSE,
            UserControl::BufferEmpty { .. } => Self::BUFFER_EMPTY,
            UserControl::BufferReady { .. } => Self::BUFFER_READY,
            UserControl::Unknown { event_type, .. } => *event_type,
        }
    }

    pub(super) fn is_interpreted(event_type: u16) -> bool {
        matches!(
            event_type,
            Self::STREAM_BEGIN
                | Self::STREAM_EOF
                | Self::STREAM_DRY
                | Self::SET_BUFFER_LENGTH
                | Self::STREAM_IS_RECORDED
                | Self::PING_REQUEST
                | Self::PING_RESPONSE
                | Self::SWF_VERIFICATION_REQUEST
                | Self::SWF_VERIFICATION_RESPONSE
                | Self::BUFFER_EMPTY
                | Self::BUFFER_READY
        )
    }

    /// Decodes a type 4 payload. Data after an event's fixed layout is ignored, as nginx-rtmp
    /// and FFmpeg do.
    pub(super) fn decode(payload: &Bytes) -> Result<UserControl, MessageError> {
        let mut reader = ByteReader::new(payload);
        let event_type = reader.u16().map_err(|_| MessageError::Truncated {
            type_id: type_id::USER_CONTROL,
            needed: 2,
            actual: payload.len(),
        })?;
        let data_len = reader.remaining();
        let truncated = |needed: usize| MessageError::UserControlTruncated {
            event_type,
            needed,
            actual: data_len,
        };
        let mut u32_field = || reader.u32().map_err(|_| truncated(4));
        let event = match event_type {
            Self::STREAM_BEGIN => UserControl::StreamBegin {
                stream_id: u32_field()?,
            },
            Self::STREAM_EOF => UserControl::StreamEof {
                stream_id: u32_field()?,
            },
            Self::STREAM_DRY => UserControl::StreamDry {
                stream_id: u32_field()?,
            },
            Self::STREAM_IS_RECORDED => UserControl::StreamIsRecorded {
                stream_id: u32_field()?,
            },
            Self::PING_REQUEST => UserControl::PingRequest {
                timestamp: u32_field()?,
            },
            Self::PING_RESPONSE => UserControl::PingResponse {
                timestamp: u32_field()?,
            },
            Self::BUFFER_EMPTY => UserControl::BufferEmpty {
                stream_id: u32_field()?,
            },
            Self::BUFFER_READY => UserControl::BufferReady {
                stream_id: u32_field()?,
            },
            Self::SET_BUFFER_LENGTH => {
                let (Ok(stream_id), Ok(buffer_length)) = (reader.u32(), reader.u32()) else {
                    return Err(truncated(8));
                };
                UserControl::SetBufferLength {
                    stream_id,
                    buffer_length,
                }
            }
            Self::SWF_VERIFICATION_REQUEST => UserControl::SwfVerificationRequest,
            Self::SWF_VERIFICATION_RESPONSE => {
                let data = reader
                    .array()
                    .map_err(|_| truncated(SWF_VERIFICATION_RESPONSE_LEN))?;
                UserControl::SwfVerificationResponse { data }
            }
            _ => UserControl::Unknown {
                event_type,
                data: payload.slice(2..),
            },
        };
        Ok(event)
    }

    pub(super) fn encode(&self) -> Result<Bytes, MessageError> {
        let mut out = BytesMut::with_capacity(10);
        out.put_u16(self.event_type());
        match self {
            UserControl::StreamBegin { stream_id }
            | UserControl::StreamEof { stream_id }
            | UserControl::StreamDry { stream_id }
            | UserControl::StreamIsRecorded { stream_id }
            | UserControl::BufferEmpty { stream_id }
            | UserControl::BufferReady { stream_id } => out.put_u32(*stream_id),
            UserControl::PingRequest { timestamp } | UserControl::PingResponse { timestamp } => {
                out.put_u32(*timestamp)
            }
            UserControl::SetBufferLength {
                stream_id,
                buffer_length,
            } => {
                out.put_u32(*stream_id);
                out.put_u32(*buffer_length);
            }
            UserControl::SwfVerificationRequest => {}
            UserControl::SwfVerificationResponse { data } => out.put_slice(data),
            UserControl::Unknown { event_type, data } => {
                if Self::is_interpreted(*event_type) {
                    return Err(MessageError::KnownEventAsUnknown {
                        event_type: *event_type,
                    });
                }
                out.put_slice(data);
            }
        }
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;
    use crate::{Limits, RawMessage};

    fn decode(payload: &[u8]) -> Result<Message, MessageError> {
        let raw = RawMessage {
            timestamp: 0,
            type_id: 4,
            stream_id: 0,
            payload: Bytes::copy_from_slice(payload),
        };
        Message::decode(&raw, &Limits::default())
    }

    fn golden(event: UserControl, bytes: &[u8]) {
        let message = Message::UserControl(event);
        let raw = message.to_raw(0, 0).unwrap();
        assert_eq!(raw.type_id, 4);
        assert_eq!(&raw.payload[..], bytes, "{message:?}");
        assert_eq!(decode(bytes), Ok(message));
    }

    #[test]
    fn golden_events() {
        golden(
            UserControl::StreamBegin { stream_id: 1 },
            &[0, 0, 0, 0, 0, 1],
        );
        golden(UserControl::StreamEof { stream_id: 1 }, &[0, 1, 0, 0, 0, 1]);
        golden(UserControl::StreamDry { stream_id: 2 }, &[0, 2, 0, 0, 0, 2]);
        golden(
            UserControl::SetBufferLength {
                stream_id: 1,
                buffer_length: 3000,
            },
            &[0, 3, 0, 0, 0, 1, 0, 0, 0x0B, 0xB8],
        );
        golden(
            UserControl::StreamIsRecorded { stream_id: 1 },
            &[0, 4, 0, 0, 0, 1],
        );
        golden(
            UserControl::PingRequest {
                timestamp: 0x0102_0304,
            },
            &[0, 6, 1, 2, 3, 4],
        );
        golden(
            UserControl::PingResponse {
                timestamp: 0xFFFF_FFFF,
            },
            &[0, 7, 0xFF, 0xFF, 0xFF, 0xFF],
        );
        golden(UserControl::SwfVerificationRequest, &[0, 0x1A]);
        golden(
            UserControl::BufferEmpty { stream_id: 1 },
            &[0, 0x1F, 0, 0, 0, 1],
        );
        golden(
            UserControl::BufferReady { stream_id: 1 },
            &[0, 0x20, 0, 0, 0, 1],
        );
        golden(
            UserControl::Unknown {
                event_type: 5,
                data: Bytes::from_static(&[9, 8]),
            },
            &[0, 5, 9, 8],
        );
    }

    #[test]
    fn swf_verification_response_has_42_bytes() {
        let mut data = [0u8; 42];
        data[0] = 1;
        data[1] = 1;
        data[41] = 0xEE;
        let mut wire = alloc::vec![0, 0x1B];
        wire.extend_from_slice(&data);
        golden(UserControl::SwfVerificationResponse { data }, &wire);
        assert_eq!(
            decode(&wire[..43]),
            Err(MessageError::UserControlTruncated {
                event_type: 0x1B,
                needed: 42,
                actual: 41
            })
        );
    }

    #[test]
    fn short_events_are_typed_errors() {
        assert_eq!(
            decode(&[0]),
            Err(MessageError::Truncated {
                type_id: 4,
                needed: 2,
                actual: 1
            })
        );
        assert_eq!(
            decode(&[0, 0, 0, 0, 1]),
            Err(MessageError::UserControlTruncated {
                event_type: 0,
                needed: 4,
                actual: 3
            })
        );
        assert_eq!(
            decode(&[0, 3, 0, 0, 0, 1, 0, 0, 0x0B]),
            Err(MessageError::UserControlTruncated {
                event_type: 3,
                needed: 8,
                actual: 7
            })
        );
        assert_eq!(
            decode(&[0, 6]),
            Err(MessageError::UserControlTruncated {
                event_type: 6,
                needed: 4,
                actual: 0
            })
        );
    }

    #[test]
    fn unknown_events_keep_their_bytes_and_known_ones_cannot_pose_as_unknown() {
        let decoded = decode(&[0x12, 0x34, 1, 2, 3]).unwrap();
        assert_eq!(
            decoded,
            Message::UserControl(UserControl::Unknown {
                event_type: 0x1234,
                data: Bytes::from_static(&[1, 2, 3]),
            })
        );
        assert_eq!(
            Message::UserControl(UserControl::Unknown {
                event_type: 6,
                data: Bytes::new(),
            })
            .to_raw(0, 0),
            Err(MessageError::KnownEventAsUnknown { event_type: 6 })
        );
    }

    #[test]
    fn trailing_event_data_is_ignored() {
        assert_eq!(
            decode(&[0, 0, 0, 0, 0, 1, 0xAA]),
            Ok(Message::UserControl(UserControl::StreamBegin {
                stream_id: 1
            }))
        );
    }
}
