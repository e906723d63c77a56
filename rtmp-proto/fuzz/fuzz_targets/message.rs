//! The message layer on arbitrary input: the first byte is the message type id, the rest the
//! payload. Whatever decodes must encode, decode again to the same message, and re-encode to
//! the same bytes; splitting as an aggregate must never panic.
#![no_main]
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rtmp_proto::message::{split_aggregate, Message};
use rtmp_proto::{Limits, RawMessage};

fuzz_target!(|data: &[u8]| {
    let Some((&type_id, payload)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    let raw = RawMessage {
        timestamp: 0xFFFF_FF00,
        type_id,
        stream_id: 1,
        payload: Bytes::copy_from_slice(payload),
    };
    if let Ok(message) = Message::decode(&raw, &limits) {
        let encoded = message
            .to_raw(raw.timestamp, raw.stream_id)
            .expect("a decoded message encodes");
        let again = Message::decode(&encoded, &limits).expect("an encoded message decodes");
        if again != message {
            // NaN numbers are not equal to themselves; their Debug forms are.
            assert_eq!(format!("{again:?}"), format!("{message:?}"));
        }
        let reencoded = again
            .to_raw(raw.timestamp, raw.stream_id)
            .expect("a decoded message encodes");
        assert_eq!(reencoded, encoded);
    }
    for sub in split_aggregate(&raw, &limits) {
        let Ok(sub) = sub else {
            break;
        };
        assert_eq!(sub.stream_id, raw.stream_id);
        assert!(sub.payload.len() <= raw.payload.len());
    }
});
