//! The AMF0 encoder.

use super::marker;
use crate::amf::wire::{enter_encode, Sink};
use crate::amf::{AmfError, Object, Value};
use crate::amf3;
use bytes::BufMut;

/// Appends the AMF0 encoding of `value` to `out` (AMF0 §2).
///
/// Strings longer than 65535 bytes are written as long strings (§2.14). The types AMF0 lacks
/// ([`Value::Integer`], [`Value::Xml`], [`Value::ByteArray`], vectors, dictionaries, mixed
/// arrays) and objects whose keys or class name are too long for an AMF0 string are written
/// through the avmplus switch to AMF3 (§3.1), with fresh AMF3 reference tables each time.
/// An integer outside the AMF3 range is written as a number.
///
/// On error, `out` may hold part of the encoding.
///
/// ```
/// use rtmp_proto::{amf0, Value};
///
/// let mut out = Vec::new();
/// amf0::encode(&Value::from("live"), &mut out)?;
/// assert_eq!(out, [0x02, 0x00, 0x04, b'l', b'i', b'v', b'e']);
/// # Ok::<(), rtmp_proto::amf::AmfError>(())
/// ```
pub fn encode<B: BufMut>(value: &Value, out: &mut B) -> Result<(), AmfError> {
    encode_value(value, &mut Sink::new(out), 0)
}

/// Whether AMF0 can carry `text` in a U16-length UTF-8 string (§1.3).
fn fits_u16(text: &str) -> bool {
    text.len() <= usize::from(u16::MAX)
}

fn u32_len(len: usize) -> Result<u32, AmfError> {
    u32::try_from(len).map_err(|_| AmfError::LengthOverflow { len })
}

fn encode_value<B: BufMut>(
    value: &Value,
    sink: &mut Sink<'_, B>,
    depth: usize,
) -> Result<(), AmfError> {
    match value {
        Value::Number(number) => {
            sink.put_u8(marker::NUMBER)?;
            sink.put_f64(*number)
        }
        Value::Boolean(flag) => {
            sink.put_u8(marker::BOOLEAN)?;
            sink.put_u8(u8::from(*flag))
        }
        Value::String(text) => {
            if fits_u16(text) {
                sink.put_u8(marker::STRING)?;
                put_short_string(sink, text)
            } else {
                sink.put_u8(marker::LONG_STRING)?;
                put_long_string(sink, text)
            }
        }
        Value::Object(object) => {
            let keys_fit = object.properties.iter().all(|(key, _)| fits_u16(key));
            let class_fits = object.class_name.as_deref().is_none_or(fits_u16);
            if !(keys_fit && class_fits) {
                return encode_switched(value, sink, depth);
            }
            encode_object(object, sink, depth)
        }
        Value::EcmaArray(entries) => {
            if !entries.iter().all(|(key, _)| fits_u16(key)) {
                return encode_switched(value, sink, depth);
            }
            let inner = enter_encode(depth)?;
            sink.put_u8(marker::ECMA_ARRAY)?;
            sink.put_u32(u32_len(entries.len())?)?;
            put_properties(sink, entries, inner)
        }
        Value::StrictArray(items) => {
            let inner = enter_encode(depth)?;
            sink.put_u8(marker::STRICT_ARRAY)?;
            sink.put_u32(u32_len(items.len())?)?;
            for item in items {
                encode_value(item, sink, inner)?;
            }
            Ok(())
        }
        Value::Date { millis, timezone } => {
            sink.put_u8(marker::DATE)?;
            sink.put_f64(*millis)?;
            sink.put_i16(*timezone)
        }
        Value::XmlDocument(text) => {
            sink.put_u8(marker::XML_DOCUMENT)?;
            put_long_string(sink, text)
        }
        Value::Null => sink.put_u8(marker::NULL),
        Value::Undefined => sink.put_u8(marker::UNDEFINED),
        Value::Unsupported => sink.put_u8(marker::UNSUPPORTED),
        Value::Integer(integer) => {
            if (amf3::MIN_INTEGER..=amf3::MAX_INTEGER).contains(integer) {
                encode_switched(value, sink, depth)
            } else {
                sink.put_u8(marker::NUMBER)?;
                sink.put_f64(f64::from(*integer))
            }
        }
        Value::MixedArray { .. }
        | Value::Xml(_)
        | Value::ByteArray(_)
        | Value::VectorInt { .. }
        | Value::VectorUint { .. }
        | Value::VectorDouble { .. }
        | Value::VectorObject { .. }
        | Value::Dictionary { .. } => encode_switched(value, sink, depth),
    }
}

/// An anonymous (§2.5) or typed (§2.18) object.
fn encode_object<B: BufMut>(
    object: &Object,
    sink: &mut Sink<'_, B>,
    depth: usize,
) -> Result<(), AmfError> {
    let inner = enter_encode(depth)?;
    match &object.class_name {
        Some(class_name) => {
            sink.put_u8(marker::TYPED_OBJECT)?;
            put_short_string(sink, class_name)?;
        }
        None => sink.put_u8(marker::OBJECT)?,
    }
    put_properties(sink, &object.properties, inner)
}

/// Key/value pairs, then the object-end marker (§2.11): an empty key and 0x09.
fn put_properties<B: BufMut>(
    sink: &mut Sink<'_, B>,
    properties: &[(alloc::string::String, Value)],
    inner: usize,
) -> Result<(), AmfError> {
    for (key, value) in properties {
        put_short_string(sink, key)?;
        encode_value(value, sink, inner)?;
    }
    sink.put_u16(0)?;
    sink.put_u8(marker::OBJECT_END)
}

/// One value in AMF3 after the avmplus marker (§3.1), with fresh AMF3 reference tables.
fn encode_switched<B: BufMut>(
    value: &Value,
    sink: &mut Sink<'_, B>,
    depth: usize,
) -> Result<(), AmfError> {
    sink.put_u8(marker::AVMPLUS)?;
    amf3::Encoder::new().encode_value(value, sink, depth)
}

/// UTF-8 with a U16 length (§1.3); the callers check that it fits.
fn put_short_string<B: BufMut>(sink: &mut Sink<'_, B>, text: &str) -> Result<(), AmfError> {
    let len =
        u16::try_from(text.len()).map_err(|_| AmfError::LengthOverflow { len: text.len() })?;
    sink.put_u16(len)?;
    sink.put_slice(text.as_bytes())
}

/// UTF-8 with a U32 length (§2.14, §2.17).
fn put_long_string<B: BufMut>(sink: &mut Sink<'_, B>, text: &str) -> Result<(), AmfError> {
    sink.put_u32(u32_len(text.len())?)?;
    sink.put_slice(text.as_bytes())
}
