//! Sequences of AMF values as command, data and shared object messages carry them (RTMP 1.0
//! §7.1.1 to §7.1.3, RTMP errata §6.2), with a memory budget for the whole message.

use super::{AmfEncoding, MessageError};
use crate::amf::Value;
use crate::{amf0, Limits};
use alloc::string::String;
use alloc::vec::Vec;
use bytes::{BufMut, BytesMut};
use core::mem::size_of;

/// The AMF0 string marker (AMF0 §2.4): the first byte of a command name or data handler name.
const AMF0_STRING_MARKER: u8 = 0x02;

/// The only format selector RTMP errata §6.2 defines for the extended message types.
const FORMAT_AMF0_WITH_SWITCH: u8 = 0;

/// What one message's decoded values may still occupy, in bytes, charged as values are decoded.
///
/// The AMF decoders bound each value they produce; this bounds the message as a whole, however
/// many values or shared object events it carries.
pub(crate) struct Budget {
    limit: usize,
    remaining: usize,
}

impl Budget {
    pub(crate) fn new(limits: &Limits) -> Self {
        Budget {
            limit: limits.max_amf_decoded_size,
            remaining: limits.max_amf_decoded_size,
        }
    }

    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), MessageError> {
        self.remaining = self
            .remaining
            .checked_sub(bytes)
            .ok_or(MessageError::DecodedSizeLimit { limit: self.limit })?;
        Ok(())
    }

    pub(crate) fn charge_value(&mut self, value: &Value) -> Result<(), MessageError> {
        self.charge(footprint(value))
    }

    /// `limits` with the AMF decoded-size limit lowered to what is left, so that one value
    /// cannot overspend the message's budget before it is charged.
    pub(crate) fn limits_for_next_value(&self, limits: &Limits) -> Limits {
        Limits {
            max_amf_decoded_size: self.remaining,
            ..limits.clone()
        }
    }
}

/// Approximate memory held by a decoded value: one `Value` per node plus its heap bytes.
fn footprint(value: &Value) -> usize {
    let node = size_of::<Value>();
    let key = |key: &String| size_of::<(String, Value)>().saturating_add(key.len());
    let sum = |total: usize, part: usize| total.saturating_add(part);
    let own = match value {
        Value::Undefined
        | Value::Null
        | Value::Boolean(_)
        | Value::Number(_)
        | Value::Integer(_)
        | Value::Date { .. }
        | Value::Unsupported => 0,
        Value::String(text) | Value::XmlDocument(text) | Value::Xml(text) => text.len(),
        Value::ByteArray(bytes) => bytes.len(),
        Value::Object(object) => object
            .properties
            .iter()
            .map(|(name, value)| key(name).saturating_add(footprint(value)))
            .fold(object.class_name.as_ref().map_or(0, String::len), sum),
        Value::EcmaArray(entries) => entries
            .iter()
            .map(|(name, value)| key(name).saturating_add(footprint(value)))
            .fold(0, sum),
        Value::StrictArray(items) => items.iter().map(footprint).fold(0, sum),
        Value::MixedArray { assoc, dense } => assoc
            .iter()
            .map(|(name, value)| key(name).saturating_add(footprint(value)))
            .chain(dense.iter().map(footprint))
            .fold(0, sum),
        Value::VectorInt { items, .. } => items.len().saturating_mul(size_of::<i32>()),
        Value::VectorUint { items, .. } => items.len().saturating_mul(size_of::<u32>()),
        Value::VectorDouble { items, .. } => items.len().saturating_mul(size_of::<f64>()),
        Value::VectorObject {
            type_name, items, ..
        } => items.iter().map(footprint).fold(type_name.len(), sum),
        Value::Dictionary { entries, .. } => entries
            .iter()
            .map(|(key, value)| footprint(key).saturating_add(footprint(value)))
            .fold(0, sum),
    };
    node.saturating_add(own)
}

/// The values part of a command or data payload: after the format selector for the extended
/// types (errata §6.2). A selector that is the AMF0 string marker is taken as a sender that
/// left the selector out, since both command and data payloads begin with a string.
pub(crate) fn strip_format_selector(
    type_id: u8,
    payload: &[u8],
    encoding: AmfEncoding,
) -> Result<&[u8], MessageError> {
    match (encoding, payload.split_first()) {
        (AmfEncoding::Amf0, _) | (AmfEncoding::Amf3, None) => Ok(payload),
        (AmfEncoding::Amf3, Some((&FORMAT_AMF0_WITH_SWITCH, values))) => Ok(values),
        (AmfEncoding::Amf3, Some((&AMF0_STRING_MARKER, _))) => Ok(payload),
        (AmfEncoding::Amf3, Some((&selector, _))) => {
            Err(MessageError::UnknownFormatSelector { type_id, selector })
        }
    }
}

/// Decodes every value of `input` with one AMF0 decoder (its 0x11 marker switches a value to
/// AMF3), charging each to `budget`.
pub(crate) fn decode_values(
    input: &[u8],
    limits: &Limits,
    budget: &mut Budget,
) -> Result<Vec<Value>, MessageError> {
    let limits = budget.limits_for_next_value(limits);
    let mut decoder = amf0::Decoder::new(input, &limits);
    let mut values = Vec::new();
    while !decoder.is_empty() {
        let value = decoder.decode()?;
        budget.charge_value(&value)?;
        values.push(value);
    }
    Ok(values)
}

/// Decodes one value at the start of `input`, returning it and the number of bytes it took.
pub(crate) fn decode_one_value(
    input: &[u8],
    limits: &Limits,
    budget: &mut Budget,
) -> Result<(Value, usize), MessageError> {
    let limits = budget.limits_for_next_value(limits);
    let mut decoder = amf0::Decoder::new(input, &limits);
    let value = decoder.decode()?;
    budget.charge_value(&value)?;
    Ok((value, decoder.position()))
}

/// Appends the format selector of the extended types, if `encoding` needs it.
pub(crate) fn put_format_selector(out: &mut BytesMut, encoding: AmfEncoding) {
    if encoding == AmfEncoding::Amf3 {
        out.put_u8(FORMAT_AMF0_WITH_SWITCH);
    }
}

/// Appends `values` in AMF0; the AMF0 encoder switches to AMF3 for the types AMF0 lacks.
pub(crate) fn encode_values<'a>(
    out: &mut BytesMut,
    values: impl IntoIterator<Item = &'a Value>,
) -> Result<(), MessageError> {
    for value in values {
        amf0::encode(value, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_to_overspend() {
        let limits = Limits {
            max_amf_decoded_size: 100,
            ..Limits::default()
        };
        let mut budget = Budget::new(&limits);
        assert_eq!(budget.charge(60), Ok(()));
        assert_eq!(
            budget.limits_for_next_value(&limits).max_amf_decoded_size,
            40
        );
        assert_eq!(
            budget.charge(41),
            Err(MessageError::DecodedSizeLimit { limit: 100 })
        );
    }

    #[test]
    fn footprint_counts_nodes_and_bytes() {
        let text = Value::String(String::from("abcd"));
        assert_eq!(footprint(&text), size_of::<Value>() + 4);
        let array = Value::StrictArray(alloc::vec![Value::Null, text]);
        assert_eq!(footprint(&array), 3 * size_of::<Value>() + 4);
    }

    #[test]
    fn format_selector() {
        assert_eq!(
            strip_format_selector(17, &[0, 2, 0, 0], AmfEncoding::Amf3),
            Ok(&[2, 0, 0][..])
        );
        assert_eq!(
            strip_format_selector(17, &[2, 0, 0], AmfEncoding::Amf3),
            Ok(&[2, 0, 0][..])
        );
        assert_eq!(
            strip_format_selector(17, &[], AmfEncoding::Amf3),
            Ok(&[][..])
        );
        assert_eq!(
            strip_format_selector(20, &[0, 2], AmfEncoding::Amf0),
            Ok(&[0, 2][..])
        );
        assert_eq!(
            strip_format_selector(15, &[3, 2], AmfEncoding::Amf3),
            Err(MessageError::UnknownFormatSelector {
                type_id: 15,
                selector: 3
            })
        );
    }
}
