//! Property tests of the message layer: round trips of every kind of message, arbitrary and
//! truncated payloads under every type id, and aggregate splitting.

use super::*;
use crate::amf::{Object, Value};
use alloc::string::String;
use alloc::vec::Vec;
use proptest::collection::vec;
use proptest::prelude::*;

fn amf_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        Just(Value::Undefined),
        any::<bool>().prop_map(Value::Boolean),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |number| !number.is_nan())
            .prop_map(Value::Number),
        (-(1i32 << 28)..(1i32 << 28)).prop_map(Value::Integer),
        ".{0,8}".prop_map(Value::String),
        (-1e15f64..1e15, any::<i16>())
            .prop_map(|(millis, timezone)| Value::Date { millis, timezone }),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let properties = vec(("[a-zA-Z0-9_]{1,6}", inner.clone()), 0..4);
        prop_oneof![
            (proptest::option::of("[A-Za-z]{1,6}"), properties.clone()).prop_map(
                |(class_name, properties)| Value::Object(Object {
                    class_name,
                    properties
                })
            ),
            properties.prop_map(Value::EcmaArray),
            vec(inner, 0..4).prop_map(Value::StrictArray),
        ]
    })
}

fn encoding() -> impl Strategy<Value = AmfEncoding> {
    prop_oneof![Just(AmfEncoding::Amf0), Just(AmfEncoding::Amf3)]
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

/// Timestamps that favour the ends of the 32-bit range, where wrapping happens.
fn timestamp() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), u32::MAX - 1000..=u32::MAX, 0..1000u32]
}

fn user_control() -> impl Strategy<Value = UserControl> {
    prop_oneof![
        any::<u32>().prop_map(|stream_id| UserControl::StreamBegin { stream_id }),
        any::<u32>().prop_map(|stream_id| UserControl::StreamEof { stream_id }),
        any::<u32>().prop_map(|stream_id| UserControl::StreamDry { stream_id }),
        (any::<u32>(), any::<u32>()).prop_map(|(stream_id, buffer_length)| {
            UserControl::SetBufferLength {
                stream_id,
                buffer_length,
            }
        }),
        any::<u32>().prop_map(|stream_id| UserControl::StreamIsRecorded { stream_id }),
        any::<u32>().prop_map(|timestamp| UserControl::PingRequest { timestamp }),
        any::<u32>().prop_map(|timestamp| UserControl::PingResponse { timestamp }),
        Just(UserControl::SwfVerificationRequest),
        vec(any::<u8>(), 42).prop_map(|data| UserControl::SwfVerificationResponse {
            data: data.try_into().unwrap()
        }),
        any::<u32>().prop_map(|stream_id| UserControl::BufferEmpty { stream_id }),
        any::<u32>().prop_map(|stream_id| UserControl::BufferReady { stream_id }),
        (
            any::<u16>().prop_filter("unknown event types only", |event_type| {
                !UserControl::is_interpreted(*event_type)
            }),
            bytes(16)
        )
            .prop_map(|(event_type, data)| UserControl::Unknown { event_type, data }),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    (
        ".{0,12}",
        any::<f64>().prop_filter("NaN is not equal to itself", |number| !number.is_nan()),
        amf_value(),
        vec(amf_value(), 0..3),
        encoding(),
    )
        .prop_map(
            |(name, transaction_id, command_object, arguments, encoding)| Command {
                name,
                transaction_id,
                command_object,
                arguments,
                encoding,
            },
        )
}

fn data() -> impl Strategy<Value = Data> {
    (vec(amf_value(), 0..4), encoding()).prop_map(|(values, encoding)| Data { values, encoding })
}

fn properties() -> impl Strategy<Value = Vec<(String, Value)>> {
    vec((".{0,6}", amf_value()), 0..3)
}

fn shared_object_event() -> impl Strategy<Value = SharedObjectEvent> {
    prop_oneof![
        Just(SharedObjectEvent::Use),
        Just(SharedObjectEvent::Release),
        properties().prop_map(|properties| SharedObjectEvent::RequestChange { properties }),
        properties().prop_map(|properties| SharedObjectEvent::Change { properties }),
        ".{0,6}".prop_map(|name| SharedObjectEvent::Success { name }),
        (".{0,6}", vec(amf_value(), 0..3))
            .prop_map(|(handler, arguments)| SharedObjectEvent::SendMessage { handler, arguments }),
        (".{0,6}", ".{0,6}").prop_map(|(code, level)| SharedObjectEvent::Status { code, level }),
        Just(SharedObjectEvent::Clear),
        ".{0,6}".prop_map(|name| SharedObjectEvent::Remove { name }),
        ".{0,6}".prop_map(|name| SharedObjectEvent::RequestRemove { name }),
        Just(SharedObjectEvent::UseSuccess),
        (prop_oneof![Just(0u8), 12..=255u8], bytes(8))
            .prop_map(|(event_type, data)| SharedObjectEvent::Unknown { event_type, data }),
    ]
}

fn shared_object() -> impl Strategy<Value = SharedObject> {
    (
        ".{0,8}",
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        vec(shared_object_event(), 0..4),
        encoding(),
    )
        .prop_map(
            |(name, version, flags, reserved, events, encoding)| SharedObject {
                name,
                version,
                flags,
                reserved,
                events,
                encoding,
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (1..=0x7FFF_FFFFu32).prop_map(|chunk_size| Message::SetChunkSize { chunk_size }),
        any::<u32>().prop_map(|chunk_stream_id| Message::Abort { chunk_stream_id }),
        any::<u32>().prop_map(|sequence_number| Message::Acknowledgement { sequence_number }),
        any::<u32>().prop_map(|window_size| Message::WindowAckSize { window_size }),
        (any::<u32>(), any::<u8>()).prop_map(|(window_size, limit)| Message::SetPeerBandwidth {
            window_size,
            limit_type: LimitType(limit),
        }),
        user_control().prop_map(Message::UserControl),
        bytes(32).prop_map(Message::Audio),
        bytes(32).prop_map(Message::Video),
        bytes(32).prop_map(Message::Aggregate),
        (
            any::<u8>().prop_filter("unknown types only", |id| !is_interpreted_type(*id)),
            bytes(32)
        )
            .prop_map(|(type_id, payload)| Message::Unknown { type_id, payload }),
        command().prop_map(Message::Command),
        data().prop_map(Message::Data),
        shared_object().prop_map(Message::SharedObject),
    ]
}

/// Decodes `raw`; if that works, the message must re-encode, and its encoding must decode to a
/// message with the same encoding. Bytes are compared rather than messages because arbitrary
/// input can hold NaN numbers, which are not equal to themselves.
fn check_decode_is_stable(raw: &RawMessage, limits: &Limits) -> Result<(), TestCaseError> {
    if let Ok(message) = Message::decode(raw, limits) {
        let encoded = message.to_raw(raw.timestamp, raw.stream_id);
        prop_assert!(encoded.is_ok(), "{message:?} does not encode: {encoded:?}");
        let Ok(encoded) = encoded else {
            return Ok(());
        };
        let again = Message::decode(&encoded, limits);
        prop_assert!(
            again.is_ok(),
            "re-encoding of {message:?} does not decode: {again:?}"
        );
        let Ok(again) = again else {
            return Ok(());
        };
        prop_assert_eq!(again.to_raw(raw.timestamp, raw.stream_id), Ok(encoded));
    }
    for sub in split_aggregate(raw, limits) {
        let Ok(sub) = sub else {
            break;
        };
        prop_assert_eq!(sub.stream_id, raw.stream_id);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        ..crate::test_support::proptest_config!("message")
    })]

    #[test]
    fn every_message_round_trips(message in message(), timestamp in timestamp(), stream_id in any::<u32>()) {
        let raw = message.to_raw(timestamp, stream_id).unwrap();
        prop_assert_eq!((raw.timestamp, raw.stream_id, raw.type_id), (timestamp, stream_id, message.type_id()));
        prop_assert_eq!(Message::decode(&raw, &Limits::default()), Ok(message));
    }

    #[test]
    fn arbitrary_payloads_never_panic(type_id in any::<u8>(), payload in bytes(96)) {
        let raw = RawMessage { timestamp: 7, type_id, stream_id: 1, payload };
        check_decode_is_stable(&raw, &Limits::default())?;
    }

    #[test]
    fn damaged_encodings_never_panic(
        message in message(),
        cut in any::<prop::sample::Index>(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    ) {
        let raw = message.to_raw(0, 1).unwrap();
        let mut payload = raw.payload.to_vec();
        for (index, byte) in flips {
            if !payload.is_empty() {
                let at = index.index(payload.len());
                payload[at] ^= byte;
            }
        }
        let keep = cut.index(payload.len() + 1);
        payload.truncate(keep);
        let damaged = RawMessage { payload: Bytes::from(payload), ..raw };
        check_decode_is_stable(&damaged, &Limits::default())?;
    }

    #[test]
    fn tight_limits_give_errors_not_panics(message in message()) {
        let raw = message.to_raw(0, 1).unwrap();
        let limits = Limits {
            max_amf_depth: 1,
            max_amf_string_len: 2,
            max_amf_decoded_size: 64,
            max_message_size: 4,
            ..Limits::default()
        };
        check_decode_is_stable(&raw, &limits)?;
    }

    #[test]
    fn aggregates_split_into_their_sub_messages(
        subs in vec((timestamp(), any::<u8>().prop_filter("no nesting", |id| *id != 22), bytes(24)), 0..6),
        aggregate_timestamp in timestamp(),
        stream_id in any::<u32>(),
    ) {
        let mut builder = AggregateBuilder::new(stream_id);
        for (timestamp, type_id, payload) in &subs {
            builder.push(*timestamp, *type_id, payload).unwrap();
        }
        let mut raw = builder.finish();
        prop_assert_eq!(raw.timestamp, subs.first().map_or(0, |sub| sub.0));
        raw.timestamp = aggregate_timestamp;
        prop_assert_eq!(Message::decode(&raw, &Limits::default()), Ok(Message::Aggregate(raw.payload.clone())));

        let split: Vec<RawMessage> = split_aggregate(&raw, &Limits::default())
            .collect::<Result<_, _>>()
            .unwrap();
        let first = subs.first().map_or(0, |sub| sub.0);
        let expected: Vec<RawMessage> = subs
            .iter()
            .map(|(timestamp, type_id, payload)| RawMessage {
                timestamp: timestamp.wrapping_sub(first).wrapping_add(aggregate_timestamp),
                type_id: *type_id,
                stream_id,
                payload: payload.clone(),
            })
            .collect();
        prop_assert_eq!(split, expected);
    }
}
