//! Aggregate messages (RTMP 1.0 §7.1.6; type 22): sub-messages with FLV tag headers.

use super::MessageError;
use crate::flv::{TagHeader, TAG_HEADER_LEN};
use crate::raw::type_id;
use crate::wire::ByteReader;
use crate::{Limits, RawMessage};
use bytes::{BufMut, Bytes, BytesMut};

/// Size of the back pointer after each sub-message.
const BACK_POINTER_LEN: usize = 4;
/// The largest data size the 24-bit field can carry.
const MAX_SUB_MESSAGE_LEN: usize = 0xFF_FFFF;

/// The sub-messages of an aggregate message (RTMP 1.0 §7.1.6), in order.
///
/// Each sub-message is an 11-byte header (type 1 byte, data size 3 bytes, timestamp 3 bytes
/// plus 1 byte that is its high byte, stream id 3 bytes), the data, then a 4-byte back pointer
/// (the size of the previous tag, 11 + data size). Each payload is a slice of the aggregate's
/// payload: nothing is copied. The iterator yields an error and then stops if the aggregate is
/// malformed; the sub-messages before the error are valid.
///
/// Decisions, from what nginx-rtmp and FFmpeg do:
/// - The back pointer's value is not checked: nginx-rtmp reads it only to log it and FFmpeg
///   copies it unchecked, so a wrong one is harmless to them and refusing it would break streams
///   they play. It may be missing after the last sub-message, as nginx-rtmp allows.
/// - Sub-message timestamps are re-based on the aggregate's: `sub - first_sub + aggregate`, in
///   wrapping 32-bit arithmetic.
/// - Every sub-message gets the aggregate's message stream id; the 3-byte stream id in the tag
///   header is ignored (it is 0 in FLV files, where these tags come from).
/// - An aggregate inside an aggregate is an error ([`MessageError::NestedAggregate`]): no peer
///   sends one, and refusing it keeps the splitting flat.
#[derive(Clone, Debug)]
pub struct AggregateIter {
    payload: Bytes,
    offset: usize,
    timestamp: u32,
    stream_id: u32,
    first_sub_timestamp: Option<u32>,
    max_message_size: usize,
    finished: bool,
}

/// Splits the aggregate `raw` into its sub-messages (RTMP 1.0 §7.1.6); see [`AggregateIter`].
/// The type id of `raw` is not checked.
pub fn split_aggregate(raw: &RawMessage, limits: &Limits) -> AggregateIter {
    AggregateIter::new(raw.payload.clone(), raw.timestamp, raw.stream_id, limits)
}

impl AggregateIter {
    /// Iterates the sub-messages of an aggregate payload sent at `timestamp` on message stream
    /// `stream_id`. Sub-messages larger than [`Limits::max_message_size`] are refused.
    pub fn new(payload: Bytes, timestamp: u32, stream_id: u32, limits: &Limits) -> Self {
        AggregateIter {
            payload,
            offset: 0,
            timestamp,
            stream_id,
            first_sub_timestamp: None,
            max_message_size: usize::try_from(limits.max_message_size).unwrap_or(usize::MAX),
            finished: false,
        }
    }

    fn next_sub_message(&mut self) -> Result<Option<RawMessage>, MessageError> {
        let mut reader = ByteReader::new(&self.payload);
        reader.seek(self.offset);
        if reader.is_empty() {
            return Ok(None);
        }
        let truncated = || MessageError::AggregateTruncated {
            offset: self.offset,
        };
        let header = TagHeader::parse(&reader.array().map_err(|_| truncated())?);
        let sub_type = header.tag_type;
        if sub_type == type_id::AGGREGATE {
            return Err(MessageError::NestedAggregate);
        }
        let size = usize::try_from(header.data_size).unwrap_or(usize::MAX);
        if size > self.max_message_size {
            return Err(MessageError::SubMessageTooLarge { size });
        }
        let data_start = reader.position();
        reader.skip(size).map_err(|_| truncated())?;
        let data_end = reader.position();
        // A missing final back pointer is tolerated; a partial one is left for the next call,
        // which reports it.
        reader.skip(BACK_POINTER_LEN).ok();
        self.offset = reader.position();

        let sub_timestamp = header.timestamp;
        let first = *self.first_sub_timestamp.get_or_insert(sub_timestamp);
        Ok(Some(RawMessage {
            timestamp: sub_timestamp
                .wrapping_sub(first)
                .wrapping_add(self.timestamp),
            type_id: sub_type,
            stream_id: self.stream_id,
            payload: self.payload.slice(data_start..data_end),
        }))
    }
}

impl Iterator for AggregateIter {
    type Item = Result<RawMessage, MessageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let result = self.next_sub_message().transpose();
        if !matches!(result, Some(Ok(_))) {
            self.finished = true;
        }
        result
    }
}

impl core::iter::FusedIterator for AggregateIter {}

/// Builds an aggregate message (RTMP 1.0 §7.1.6) from sub-messages, for servers that batch
/// and for tests.
///
/// The aggregate's timestamp is the first sub-message's, so splitting it gives every
/// sub-message back its own timestamp. The sub-message payloads are copied into one buffer.
#[derive(Clone, Debug)]
pub struct AggregateBuilder {
    payload: BytesMut,
    stream_id: u32,
    first_timestamp: Option<u32>,
}

impl AggregateBuilder {
    /// An empty aggregate for message stream `stream_id`.
    pub fn new(stream_id: u32) -> Self {
        AggregateBuilder {
            payload: BytesMut::new(),
            stream_id,
            first_timestamp: None,
        }
    }

    /// Appends a sub-message. Refuses an aggregate (no nesting) and data larger than the
    /// 24-bit size field.
    pub fn push(&mut self, timestamp: u32, type_id: u8, data: &[u8]) -> Result<(), MessageError> {
        if type_id == type_id::AGGREGATE {
            return Err(MessageError::NestedAggregate);
        }
        if data.len() > MAX_SUB_MESSAGE_LEN {
            return Err(MessageError::SubMessageTooLarge { size: data.len() });
        }
        // Readers ignore the tag's stream id except nginx-rtmp, which uses it: write the
        // aggregate's, cut to the 24 bits the field has (RTMP errata §6 caps stream ids there).
        let header = TagHeader {
            tag_type: type_id,
            data_size: to_u32(data.len()),
            timestamp,
            stream_id: self.stream_id & 0xFF_FFFF,
        };
        self.payload
            .reserve(TAG_HEADER_LEN + data.len() + BACK_POINTER_LEN);
        self.payload.put_slice(&header.to_bytes());
        self.payload.put_slice(data);
        self.payload
            .put_u32(to_u32(TAG_HEADER_LEN.saturating_add(data.len())));
        self.first_timestamp.get_or_insert(timestamp);
        Ok(())
    }

    /// Appends `message` as a sub-message; its stream id is replaced by the aggregate's.
    pub fn push_message(&mut self, message: &RawMessage) -> Result<(), MessageError> {
        self.push(message.timestamp, message.type_id, &message.payload)
    }

    /// Whether no sub-message has been pushed.
    pub fn is_empty(&self) -> bool {
        self.first_timestamp.is_none()
    }

    /// The size of the aggregate payload so far, to keep it under the peer's maximum message
    /// size.
    pub fn payload_len(&self) -> usize {
        self.payload.len()
    }

    /// The aggregate message; an empty one has timestamp 0 and an empty payload.
    pub fn finish(self) -> RawMessage {
        RawMessage {
            timestamp: self.first_timestamp.unwrap_or(0),
            type_id: type_id::AGGREGATE,
            stream_id: self.stream_id,
            payload: self.payload.freeze(),
        }
    }
}

/// Converts a length already checked against [`MAX_SUB_MESSAGE_LEN`] (plus a header).
fn to_u32(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;
    use alloc::vec::Vec;

    fn split(raw: &RawMessage) -> Vec<Result<RawMessage, MessageError>> {
        split_aggregate(raw, &Limits::default()).collect()
    }

    /// Two sub-messages written by hand: audio at 1000 and video at 1040, in an aggregate sent
    /// at 5000 on stream 1.
    const HAND_MADE: &[u8] = &[
        // audio: type 8, size 2, timestamp 1000 (0x0003E8), extended 0, stream id 0
        0x08, 0x00, 0x00, 0x02, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x00, 0x00, //
        0xAF, 0x01, // data
        0x00, 0x00, 0x00, 0x0D, // back pointer: 11 + 2
        // video: type 9, size 3, timestamp 1040 (0x000410), extended 0, stream id 0
        0x09, 0x00, 0x00, 0x03, 0x00, 0x04, 0x10, 0x00, 0x00, 0x00, 0x00, //
        0x17, 0x01, 0x00, // data
        0x00, 0x00, 0x00, 0x0E, // back pointer: 11 + 3
    ];

    fn hand_made() -> RawMessage {
        RawMessage {
            timestamp: 5000,
            type_id: 22,
            stream_id: 1,
            payload: Bytes::from_static(HAND_MADE),
        }
    }

    #[test]
    fn splits_a_hand_made_aggregate_with_rebased_timestamps() {
        let raw = hand_made();
        assert_eq!(
            Message::decode(&raw, &Limits::default()),
            Ok(Message::Aggregate(raw.payload.clone()))
        );
        let subs = split(&raw);
        assert_eq!(
            subs,
            [
                Ok(RawMessage {
                    timestamp: 5000,
                    type_id: 8,
                    stream_id: 1,
                    payload: Bytes::from_static(&[0xAF, 0x01]),
                }),
                Ok(RawMessage {
                    timestamp: 5040,
                    type_id: 9,
                    stream_id: 1,
                    payload: Bytes::from_static(&[0x17, 0x01, 0x00]),
                }),
            ]
        );
    }

    #[test]
    fn sub_message_payloads_are_slices_of_the_aggregate() {
        let raw = hand_made();
        let range = raw.payload.as_ptr_range();
        for sub in split_aggregate(&raw, &Limits::default()) {
            let sub = sub.unwrap();
            let sub_range = sub.payload.as_ptr_range();
            assert!(range.start <= sub_range.start && sub_range.end <= range.end);
        }
    }

    #[test]
    fn builder_reproduces_the_hand_made_bytes() {
        let mut builder = AggregateBuilder::new(0);
        assert!(builder.is_empty());
        builder.push(1000, 8, &[0xAF, 0x01]).unwrap();
        builder.push(1040, 9, &[0x17, 0x01, 0x00]).unwrap();
        assert!(!builder.is_empty());
        assert_eq!(builder.payload_len(), HAND_MADE.len());
        let raw = builder.finish();
        assert_eq!((raw.timestamp, raw.type_id), (1000, 22));
        assert_eq!(&raw.payload[..], HAND_MADE);
    }

    #[test]
    fn builder_writes_the_extended_timestamp_byte_and_stream_id() {
        let mut builder = AggregateBuilder::new(0x0102_0304);
        builder.push(0xAABB_CCDD, 9, &[]).unwrap();
        let raw = builder.finish();
        assert_eq!(
            &raw.payload[..],
            &[9, 0, 0, 0, 0xBB, 0xCC, 0xDD, 0xAA, 0x02, 0x03, 0x04, 0, 0, 0, 11]
        );
        assert_eq!(
            split(&raw),
            [Ok(RawMessage {
                timestamp: 0xAABB_CCDD,
                type_id: 9,
                stream_id: 0x0102_0304,
                payload: Bytes::new(),
            })]
        );
    }

    #[test]
    fn rebasing_wraps_around_two_to_the_32() {
        let mut builder = AggregateBuilder::new(1);
        builder.push(0xFFFF_FFF0, 8, &[1]).unwrap();
        builder.push(0x0000_0010, 8, &[2]).unwrap();
        let mut raw = builder.finish();
        raw.timestamp = 0xFFFF_FFFF;
        let timestamps: Vec<u32> = split(&raw)
            .into_iter()
            .map(|sub| sub.unwrap().timestamp)
            .collect();
        assert_eq!(timestamps, [0xFFFF_FFFF, 0x1F]);
    }

    #[test]
    fn back_pointer_is_not_checked_and_may_be_missing_at_the_end() {
        let mut bytes = HAND_MADE.to_vec();
        bytes[13..17].copy_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
        bytes.truncate(HAND_MADE.len() - 4);
        let raw = RawMessage {
            payload: Bytes::from(bytes),
            ..hand_made()
        };
        let subs = split(&raw);
        assert_eq!(subs.len(), 2);
        assert!(subs.iter().all(Result::is_ok));
    }

    #[test]
    fn truncation_is_an_error_after_the_valid_sub_messages() {
        // A partial back pointer, a partial header, and data running past the end.
        for (cut, offset) in [(HAND_MADE.len() - 2, 31), (20, 17), (30, 17), (12, 0)] {
            let raw = RawMessage {
                payload: Bytes::copy_from_slice(&HAND_MADE[..cut]),
                ..hand_made()
            };
            let subs = split(&raw);
            assert_eq!(
                subs.last(),
                Some(&Err(MessageError::AggregateTruncated { offset })),
                "cut at {cut}"
            );
            assert!(subs[..subs.len() - 1].iter().all(Result::is_ok));
        }
    }

    #[test]
    fn an_empty_aggregate_has_no_sub_messages() {
        let raw = AggregateBuilder::new(1).finish();
        assert_eq!((raw.timestamp, raw.payload.len()), (0, 0));
        assert!(split(&raw).is_empty());
    }

    #[test]
    fn nested_aggregates_are_refused() {
        let mut builder = AggregateBuilder::new(1);
        assert_eq!(builder.push(0, 22, &[]), Err(MessageError::NestedAggregate));
        let mut bytes = HAND_MADE.to_vec();
        bytes[17] = 22;
        let raw = RawMessage {
            payload: Bytes::from(bytes),
            ..hand_made()
        };
        let subs = split(&raw);
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[1], Err(MessageError::NestedAggregate));
    }

    #[test]
    fn sub_messages_above_the_limits_are_refused() {
        let limits = Limits {
            max_message_size: 2,
            ..Limits::default()
        };
        let subs: Vec<_> = split_aggregate(&hand_made(), &limits).collect();
        assert_eq!(
            subs.last(),
            Some(&Err(MessageError::SubMessageTooLarge { size: 3 }))
        );
        let mut builder = AggregateBuilder::new(1);
        let big = alloc::vec![0u8; MAX_SUB_MESSAGE_LEN + 1];
        assert_eq!(
            builder.push(0, 9, &big),
            Err(MessageError::SubMessageTooLarge {
                size: MAX_SUB_MESSAGE_LEN + 1
            })
        );
        assert!(builder.push(0, 9, &big[1..]).is_ok());
    }
}
