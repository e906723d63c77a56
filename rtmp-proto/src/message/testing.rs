//! Helpers shared by the message layer's tests.

use super::{Message, MessageError};
use crate::amf::{Object, Value};
use crate::{Limits, RawMessage};
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

/// Bytes from hexadecimal text; whitespace is ignored.
pub(crate) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace())
        .map(|byte| match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => panic!("not a hex digit: {byte}"),
        })
        .collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|pair| (pair[0] << 4) | pair[1])
        .collect()
}

pub(crate) fn string(text: &str) -> Value {
    Value::String(String::from(text))
}

pub(crate) fn object(properties: &[(&str, Value)]) -> Value {
    Value::Object(Object {
        class_name: None,
        properties: properties
            .iter()
            .map(|(name, value)| (String::from(*name), value.clone()))
            .collect(),
    })
}

pub(crate) fn raw(type_id: u8, payload: &[u8]) -> RawMessage {
    RawMessage {
        timestamp: 0,
        type_id,
        stream_id: 0,
        payload: Bytes::copy_from_slice(payload),
    }
}

pub(crate) fn decode(type_id: u8, payload: &[u8]) -> Result<Message, MessageError> {
    Message::decode(&raw(type_id, payload), &Limits::default())
}

/// Encodes `message`, checks it decodes back to itself, and returns the raw message.
pub(crate) fn assert_round_trip(message: &Message) -> RawMessage {
    let raw = message.to_raw(1234, 1).expect("encodes");
    assert_eq!(raw.type_id, message.type_id());
    assert_eq!(
        Message::decode(&raw, &Limits::default()).as_ref(),
        Ok(message)
    );
    raw
}
