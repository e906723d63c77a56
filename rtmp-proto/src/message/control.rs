//! Protocol control messages (RTMP 1.0 §5.4): Set Chunk Size, Abort, Acknowledgement, Window
//! Acknowledgement Size and Set Peer Bandwidth.

use super::{Message, MessageError};
use crate::raw::type_id;
use crate::wire::ByteReader;
use bytes::{BufMut, Bytes, BytesMut};

/// The largest chunk size Set Chunk Size may announce: the most significant bit must be zero
/// (RTMP 1.0 §5.4.1).
const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;

/// The limit type of Set Peer Bandwidth (RTMP 1.0 §5.4.5).
///
/// Any byte is kept, including values the spec does not define: FFmpeg and nginx-rtmp ignore the
/// byte and librtmp stores it unchecked, so refusing the message would break a session that
/// every other peer keeps. Interpreting an unknown value is left to the session layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LimitType(pub u8);

impl LimitType {
    /// Hard (0): the peer should limit its output bandwidth to the window.
    pub const HARD: LimitType = LimitType(0);
    /// Soft (1): the peer should limit its output to the window or the limit already in effect,
    /// whichever is smaller.
    pub const SOFT: LimitType = LimitType(1);
    /// Dynamic (2): treated as Hard if the previous limit type was Hard, else ignored.
    pub const DYNAMIC: LimitType = LimitType(2);

    /// Whether the value is one RTMP 1.0 §5.4.5 defines.
    pub fn is_known(self) -> bool {
        self.0 <= 2
    }
}

/// Decodes the fixed-layout control messages. Bytes after the layout are ignored (see the
/// module documentation of [`crate::message`]).
pub(super) fn decode(id: u8, payload: &[u8]) -> Result<Message, MessageError> {
    let mut reader = ByteReader::new(payload);
    let needed = if id == type_id::SET_PEER_BANDWIDTH {
        5
    } else {
        4
    };
    let truncated = MessageError::Truncated {
        type_id: id,
        needed,
        actual: payload.len(),
    };
    let value = reader.u32().map_err(|_| truncated.clone())?;
    let message = match id {
        type_id::SET_CHUNK_SIZE => {
            if value == 0 || value > MAX_CHUNK_SIZE {
                return Err(MessageError::InvalidChunkSize(value));
            }
            Message::SetChunkSize { chunk_size: value }
        }
        type_id::ABORT => Message::Abort {
            chunk_stream_id: value,
        },
        type_id::ACKNOWLEDGEMENT => Message::Acknowledgement {
            sequence_number: value,
        },
        type_id::WINDOW_ACK_SIZE => Message::WindowAckSize { window_size: value },
        _ => Message::SetPeerBandwidth {
            window_size: value,
            limit_type: LimitType(reader.u8().map_err(|_| truncated)?),
        },
    };
    Ok(message)
}

pub(super) fn encode_u32(value: u32) -> Bytes {
    Bytes::copy_from_slice(&value.to_be_bytes())
}

pub(super) fn encode_chunk_size(chunk_size: u32) -> Result<Bytes, MessageError> {
    if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
        return Err(MessageError::InvalidChunkSize(chunk_size));
    }
    Ok(encode_u32(chunk_size))
}

pub(super) fn encode_peer_bandwidth(window_size: u32, limit_type: LimitType) -> Bytes {
    let mut out = BytesMut::with_capacity(5);
    out.put_u32(window_size);
    out.put_u8(limit_type.0);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, RawMessage};

    fn raw(type_id: u8, payload: &'static [u8]) -> RawMessage {
        RawMessage {
            timestamp: 0,
            type_id,
            stream_id: 0,
            payload: Bytes::from_static(payload),
        }
    }

    fn decode(type_id: u8, payload: &'static [u8]) -> Result<Message, MessageError> {
        Message::decode(&raw(type_id, payload), &Limits::default())
    }

    #[test]
    fn set_chunk_size_golden() {
        let message = Message::SetChunkSize { chunk_size: 4096 };
        let raw = message.to_raw(0, 0).unwrap();
        assert_eq!(raw.type_id, 1);
        assert_eq!(&raw.payload[..], &[0x00, 0x00, 0x10, 0x00]);
        assert_eq!(decode(1, &[0x00, 0x00, 0x10, 0x00]), Ok(message));
        assert_eq!(
            decode(1, &[0x7F, 0xFF, 0xFF, 0xFF]),
            Ok(Message::SetChunkSize {
                chunk_size: 0x7FFF_FFFF
            })
        );
    }

    #[test]
    fn set_chunk_size_rejects_zero_and_the_top_bit() {
        assert_eq!(
            decode(1, &[0, 0, 0, 0]),
            Err(MessageError::InvalidChunkSize(0))
        );
        assert_eq!(
            decode(1, &[0x80, 0, 0x10, 0]),
            Err(MessageError::InvalidChunkSize(0x8000_1000))
        );
        assert_eq!(
            Message::SetChunkSize { chunk_size: 0 }.to_raw(0, 0),
            Err(MessageError::InvalidChunkSize(0))
        );
        assert_eq!(
            Message::SetChunkSize {
                chunk_size: 0x8000_0000
            }
            .to_raw(0, 0),
            Err(MessageError::InvalidChunkSize(0x8000_0000))
        );
    }

    #[test]
    fn four_byte_controls_golden() {
        assert_eq!(
            decode(2, &[0, 0, 0, 4]),
            Ok(Message::Abort { chunk_stream_id: 4 })
        );
        assert_eq!(
            decode(3, &[0x00, 0x13, 0x12, 0xD0]),
            Ok(Message::Acknowledgement {
                sequence_number: 1_250_000
            })
        );
        let window = Message::WindowAckSize {
            window_size: 2_500_000,
        };
        let raw = window.to_raw(0, 0).unwrap();
        assert_eq!(
            (raw.type_id, &raw.payload[..]),
            (5, &[0x00, 0x26, 0x25, 0xA0][..])
        );
        assert_eq!(decode(5, &[0x00, 0x26, 0x25, 0xA0]), Ok(window));
        assert_eq!(
            decode(5, &[0, 0, 0, 0]),
            Ok(Message::WindowAckSize { window_size: 0 })
        );
    }

    #[test]
    fn set_peer_bandwidth_golden() {
        let message = Message::SetPeerBandwidth {
            window_size: 2_500_000,
            limit_type: LimitType::DYNAMIC,
        };
        let raw = message.to_raw(0, 0).unwrap();
        assert_eq!(raw.type_id, 6);
        assert_eq!(&raw.payload[..], &[0x00, 0x26, 0x25, 0xA0, 0x02]);
        assert_eq!(decode(6, &[0x00, 0x26, 0x25, 0xA0, 0x02]), Ok(message));
        assert_eq!(
            decode(6, &[0, 0, 0x10, 0, 0]),
            Ok(Message::SetPeerBandwidth {
                window_size: 4096,
                limit_type: LimitType::HARD
            })
        );
    }

    #[test]
    fn unknown_limit_type_is_kept() {
        let decoded = decode(6, &[0, 0, 0x10, 0, 7]).unwrap();
        let Message::SetPeerBandwidth { limit_type, .. } = decoded else {
            panic!("not a SetPeerBandwidth: {decoded:?}");
        };
        assert_eq!(limit_type, LimitType(7));
        assert!(!limit_type.is_known());
        assert!(LimitType::SOFT.is_known());
        assert_eq!(&decoded.encode_payload().unwrap()[..], &[0, 0, 0x10, 0, 7]);
    }

    #[test]
    fn short_payloads_are_typed_errors() {
        for id in [1, 2, 3, 5] {
            for len in 0..4 {
                let payload = &[0, 0, 1, 0][..len];
                let raw = RawMessage {
                    timestamp: 0,
                    type_id: id,
                    stream_id: 0,
                    payload: Bytes::copy_from_slice(payload),
                };
                assert_eq!(
                    Message::decode(&raw, &Limits::default()),
                    Err(MessageError::Truncated {
                        type_id: id,
                        needed: 4,
                        actual: len
                    })
                );
            }
        }
        assert_eq!(
            decode(6, &[0, 0, 0x10, 0]),
            Err(MessageError::Truncated {
                type_id: 6,
                needed: 5,
                actual: 4
            })
        );
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        assert_eq!(
            decode(1, &[0, 0, 0x10, 0, 0xAA, 0xBB]),
            Ok(Message::SetChunkSize { chunk_size: 4096 })
        );
        assert_eq!(
            decode(6, &[0, 0, 0x10, 0, 1, 0xCC]),
            Ok(Message::SetPeerBandwidth {
                window_size: 4096,
                limit_type: LimitType::SOFT
            })
        );
    }
}
