//! The AMF3 encoder.

use super::{marker, MAX_INTEGER, MIN_INTEGER, U28_MAX, U29_MAX};
use crate::amf::wire::{enter_encode, Sink};
use crate::amf::{AmfError, Object, Value};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::BufMut;

/// Encodes AMF3 values, keeping the string and traits reference tables across them
/// (AMF3 §2.2): a string or a set of traits written before is written again as a reference.
///
/// Use one encoder per message, as the peer's decoder keeps one set of tables per message.
#[derive(Debug, Default)]
pub struct Encoder {
    /// Index of each non-empty string written inline.
    strings: BTreeMap<String, usize>,
    /// The traits written inline, by class name (empty for anonymous objects).
    traits: BTreeMap<String, Vec<WrittenTraits>>,
    /// How many traits have been written inline.
    trait_count: usize,
}

#[derive(Debug)]
struct WrittenTraits {
    dynamic: bool,
    sealed: Vec<String>,
    index: usize,
}

/// How an object's traits are written (§3.12).
struct TraitsShape<'v> {
    class_name: &'v str,
    dynamic: bool,
    /// Sealed member names, in order; empty when dynamic.
    sealed: Vec<&'v str>,
}

impl Encoder {
    /// An encoder with empty reference tables.
    pub fn new() -> Self {
        Encoder::default()
    }

    /// Appends the AMF3 encoding of `value` to `out` (AMF3 §3).
    ///
    /// On error, `out` may hold part of the encoding, and the tables may name strings the
    /// peer never saw: drop the output and the encoder.
    pub fn encode<B: BufMut>(&mut self, value: &Value, out: &mut B) -> Result<(), AmfError> {
        self.encode_value(value, &mut Sink::new(out), 0)
    }

    /// Encodes one value whose enclosing containers number `depth`.
    pub(crate) fn encode_value<B: BufMut>(
        &mut self,
        value: &Value,
        sink: &mut Sink<'_, B>,
        depth: usize,
    ) -> Result<(), AmfError> {
        match value {
            // AMF3 has no `unsupported`; `undefined` is the nearest meaning.
            Value::Undefined | Value::Unsupported => sink.put_u8(marker::UNDEFINED),
            Value::Null => sink.put_u8(marker::NULL),
            Value::Boolean(false) => sink.put_u8(marker::FALSE),
            Value::Boolean(true) => sink.put_u8(marker::TRUE),
            Value::Integer(integer) => {
                if (MIN_INTEGER..=MAX_INTEGER).contains(integer) {
                    sink.put_u8(marker::INTEGER)?;
                    // Two's complement in 29 bits.
                    put_u29(sink, (*integer as u32) & U29_MAX)
                } else {
                    sink.put_u8(marker::DOUBLE)?;
                    sink.put_f64(f64::from(*integer))
                }
            }
            Value::Number(number) => {
                sink.put_u8(marker::DOUBLE)?;
                sink.put_f64(*number)
            }
            Value::String(text) => {
                sink.put_u8(marker::STRING)?;
                self.put_string(sink, text)
            }
            Value::XmlDocument(text) => {
                sink.put_u8(marker::XML_DOCUMENT)?;
                put_inline_header(sink, text.len())?;
                sink.put_slice(text.as_bytes())
            }
            Value::Xml(text) => {
                sink.put_u8(marker::XML)?;
                put_inline_header(sink, text.len())?;
                sink.put_slice(text.as_bytes())
            }
            Value::Date { millis, .. } => {
                sink.put_u8(marker::DATE)?;
                put_inline_header(sink, 0)?;
                sink.put_f64(*millis)
            }
            Value::StrictArray(items) => self.put_array(sink, &[], items, depth),
            Value::EcmaArray(entries) => self.put_array(sink, entries, &[], depth),
            Value::MixedArray { assoc, dense } => self.put_array(sink, assoc, dense, depth),
            Value::Object(object) => self.put_object(sink, object, depth),
            Value::ByteArray(bytes) => {
                sink.put_u8(marker::BYTE_ARRAY)?;
                put_inline_header(sink, bytes.len())?;
                sink.put_slice(bytes)
            }
            Value::VectorInt { fixed, items } => {
                sink.put_u8(marker::VECTOR_INT)?;
                put_inline_header(sink, items.len())?;
                sink.put_u8(u8::from(*fixed))?;
                items.iter().try_for_each(|item| sink.put_i32(*item))
            }
            Value::VectorUint { fixed, items } => {
                sink.put_u8(marker::VECTOR_UINT)?;
                put_inline_header(sink, items.len())?;
                sink.put_u8(u8::from(*fixed))?;
                items.iter().try_for_each(|item| sink.put_u32(*item))
            }
            Value::VectorDouble { fixed, items } => {
                sink.put_u8(marker::VECTOR_DOUBLE)?;
                put_inline_header(sink, items.len())?;
                sink.put_u8(u8::from(*fixed))?;
                items.iter().try_for_each(|item| sink.put_f64(*item))
            }
            Value::VectorObject {
                fixed,
                type_name,
                items,
            } => {
                let inner = enter_encode(depth)?;
                sink.put_u8(marker::VECTOR_OBJECT)?;
                put_inline_header(sink, items.len())?;
                sink.put_u8(u8::from(*fixed))?;
                self.put_string(sink, type_name)?;
                items
                    .iter()
                    .try_for_each(|item| self.encode_value(item, sink, inner))
            }
            Value::Dictionary { weak_keys, entries } => {
                let inner = enter_encode(depth)?;
                sink.put_u8(marker::DICTIONARY)?;
                put_inline_header(sink, entries.len())?;
                sink.put_u8(u8::from(*weak_keys))?;
                entries.iter().try_for_each(|(key, value)| {
                    self.encode_value(key, sink, inner)?;
                    self.encode_value(value, sink, inner)
                })
            }
        }
    }

    /// An array (§3.11): dense count, associative pairs, the empty key, dense values.
    fn put_array<B: BufMut>(
        &mut self,
        sink: &mut Sink<'_, B>,
        assoc: &[(String, Value)],
        dense: &[Value],
        depth: usize,
    ) -> Result<(), AmfError> {
        if assoc.iter().any(|(key, _)| key.is_empty()) {
            return Err(AmfError::EmptyAssociativeKey);
        }
        let inner = enter_encode(depth)?;
        sink.put_u8(marker::ARRAY)?;
        put_inline_header(sink, dense.len())?;
        for (key, value) in assoc {
            self.put_string(sink, key)?;
            self.encode_value(value, sink, inner)?;
        }
        self.put_string(sink, "")?;
        dense
            .iter()
            .try_for_each(|item| self.encode_value(item, sink, inner))
    }

    /// An object (§3.12) with sealed traits when typed, dynamic traits when anonymous.
    fn put_object<B: BufMut>(
        &mut self,
        sink: &mut Sink<'_, B>,
        object: &Object,
        depth: usize,
    ) -> Result<(), AmfError> {
        let inner = enter_encode(depth)?;
        let class_name = object.class_name.as_deref().unwrap_or("");
        let keys = || object.properties.iter().map(|(key, _)| key.as_str());
        // Dynamic members end at the empty key, so an object holding one is written sealed.
        let shape = if class_name.is_empty() && keys().all(|key| !key.is_empty()) {
            TraitsShape {
                class_name,
                dynamic: true,
                sealed: Vec::new(),
            }
        } else {
            TraitsShape {
                class_name,
                dynamic: false,
                sealed: keys().collect(),
            }
        };
        sink.put_u8(marker::OBJECT)?;
        self.put_traits(sink, &shape)?;
        if shape.dynamic {
            for (key, value) in &object.properties {
                self.put_string(sink, key)?;
                self.encode_value(value, sink, inner)?;
            }
            self.put_string(sink, "")
        } else {
            object
                .properties
                .iter()
                .try_for_each(|(_, value)| self.encode_value(value, sink, inner))
        }
    }

    /// The U29O header of an inline object: a traits reference when the same traits were
    /// written before, else the traits themselves.
    fn put_traits<B: BufMut>(
        &mut self,
        sink: &mut Sink<'_, B>,
        shape: &TraitsShape<'_>,
    ) -> Result<(), AmfError> {
        let written = self.traits.get(shape.class_name).and_then(|candidates| {
            candidates.iter().find(|traits| {
                traits.dynamic == shape.dynamic
                    && traits
                        .sealed
                        .iter()
                        .map(String::as_str)
                        .eq(shape.sealed.iter().copied())
            })
        });
        if let Some(traits) = written {
            // U29O-traits-ref: index, then 0b01.
            return put_u29(sink, flagged(traits.index, 2, 0b01)?);
        }
        // U29O-traits: sealed count, dynamic flag, then 0b011.
        let flags = if shape.dynamic { 0b1011 } else { 0b0011 };
        put_u29(sink, flagged(shape.sealed.len(), 4, flags)?)?;
        self.put_string(sink, shape.class_name)?;
        for name in &shape.sealed {
            self.put_string(sink, name)?;
        }
        if self.trait_count <= U28_MAX {
            self.traits
                .entry(String::from(shape.class_name))
                .or_default()
                .push(WrittenTraits {
                    dynamic: shape.dynamic,
                    sealed: shape
                        .sealed
                        .iter()
                        .map(|name| String::from(*name))
                        .collect(),
                    index: self.trait_count,
                });
        }
        self.trait_count += 1;
        Ok(())
    }

    /// A UTF-8-vr (§1.3.2): a reference when written before, else inline. The empty string is
    /// always inline and never enters the table.
    fn put_string<B: BufMut>(
        &mut self,
        sink: &mut Sink<'_, B>,
        text: &str,
    ) -> Result<(), AmfError> {
        if let Some(index) = self.strings.get(text) {
            return put_u29(sink, flagged(*index, 1, 0)?);
        }
        put_inline_header(sink, text.len())?;
        sink.put_slice(text.as_bytes())?;
        let next_index = self.strings.len();
        if !text.is_empty() && next_index <= U28_MAX {
            self.strings.insert(String::from(text), next_index);
        }
        Ok(())
    }
}

/// Appends the AMF3 encoding of one value, with fresh reference tables, to `out` (AMF3 §3).
///
/// ```
/// use rtmp_proto::{amf3, Value};
///
/// let mut out = Vec::new();
/// amf3::encode(&Value::Integer(300), &mut out)?;
/// assert_eq!(out, [0x04, 0x82, 0x2C]);
/// # Ok::<(), rtmp_proto::amf::AmfError>(())
/// ```
pub fn encode<B: BufMut>(value: &Value, out: &mut B) -> Result<(), AmfError> {
    Encoder::new().encode(value, out)
}

/// `payload` shifted left by `shift` bits with `flags` in the freed bits, if it fits a U29.
fn flagged(payload: usize, shift: u32, flags: u32) -> Result<u32, AmfError> {
    let too_large = AmfError::LengthOverflow { len: payload };
    let payload = u32::try_from(payload).map_err(|_| too_large.clone())?;
    if payload > (U29_MAX >> shift) {
        return Err(too_large);
    }
    Ok((payload << shift) | flags)
}

/// The U29 header of an inline value: `len` and the low bit set.
fn put_inline_header<B: BufMut>(sink: &mut Sink<'_, B>, len: usize) -> Result<(), AmfError> {
    put_u29(sink, flagged(len, 1, 1)?)
}

/// A U29 (§1.3.1) in as few bytes as it takes; `value` is at most 2^29 - 1.
pub(crate) fn put_u29<B: BufMut>(sink: &mut Sink<'_, B>, value: u32) -> Result<(), AmfError> {
    // The masks keep every cast within a byte.
    let low7 = |shift: u32| ((value >> shift) & 0x7F) as u8;
    match value {
        0..=0x7F => sink.put_u8(low7(0)),
        0x80..=0x3FFF => sink.put_slice(&[low7(7) | 0x80, low7(0)]),
        0x4000..=0x1F_FFFF => sink.put_slice(&[low7(14) | 0x80, low7(7) | 0x80, low7(0)]),
        _ => sink.put_slice(&[
            low7(22) | 0x80,
            low7(15) | 0x80,
            low7(8) | 0x80,
            (value & 0xFF) as u8,
        ]),
    }
}
