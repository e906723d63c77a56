//! The AMF0 decoder.

use super::marker;
use crate::amf::references::ReferenceTable;
use crate::amf::wire::{utf8, Allowance, NODE_SIZE};
use crate::amf::{AmfError, Object, Value};
use crate::amf3::decode::Context as Amf3Context;
use crate::wire::ByteReader;
use crate::Limits;
use alloc::string::String;
use alloc::vec::Vec;

/// Decodes a sequence of AMF0 values, keeping the reference table across them (AMF0 §2.9).
///
/// All values decoded by one decoder share one allowance of `Limits::max_amf_decoded_size`:
/// use one decoder per message.
pub struct Decoder<'a> {
    reader: ByteReader<'a>,
    allowance: Allowance,
    /// Every object, typed object, ECMA array and strict array, in the order their markers were
    /// read (AMF0 §2.9).
    references: ReferenceTable,
}

/// What [`Decoder::read_properties`] reads: the end rules differ (see the module docs).
#[derive(Clone, Copy, PartialEq)]
enum PropertyList {
    Object,
    EcmaArray,
}

impl<'a> Decoder<'a> {
    /// A decoder over `input`, bounded by `limits`.
    pub fn new(input: &'a [u8], limits: &'a Limits) -> Self {
        Decoder {
            reader: ByteReader::new(input),
            allowance: Allowance::new(limits),
            references: ReferenceTable::default(),
        }
    }

    /// Decodes the next value (AMF0 §2).
    ///
    /// Truncated input fails with [`AmfError::UnexpectedEof`]. After an error the decoder's
    /// position is unspecified: drop it.
    pub fn decode(&mut self) -> Result<Value, AmfError> {
        self.decode_value(0)
    }

    /// Whether every input byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.reader.remaining() == 0
    }

    /// How many input bytes have been consumed.
    pub fn position(&self) -> usize {
        self.reader.position()
    }

    /// Decodes one value whose enclosing containers number `depth`.
    fn decode_value(&mut self, depth: usize) -> Result<Value, AmfError> {
        self.allowance.charge(NODE_SIZE)?;
        let start = self.reader.position();
        let type_marker = self.reader.u8()?;
        match type_marker {
            marker::NUMBER => Ok(Value::Number(self.reader.f64()?)),
            marker::BOOLEAN => Ok(Value::Boolean(self.reader.u8()? != 0)),
            marker::STRING => {
                let len = usize::from(self.reader.u16()?);
                self.read_string(len).map(Value::String)
            }
            marker::LONG_STRING => {
                let len = self.read_u32_len()?;
                self.read_string(len).map(Value::String)
            }
            marker::XML_DOCUMENT => {
                let len = self.read_u32_len()?;
                self.read_string(len).map(Value::XmlDocument)
            }
            marker::OBJECT => {
                let properties = self.read_complex(start, depth, |decoder, inner| {
                    decoder.read_properties(inner, PropertyList::Object)
                })?;
                Ok(Value::Object(Object {
                    class_name: None,
                    properties,
                }))
            }
            marker::TYPED_OBJECT => {
                let len = usize::from(self.reader.u16()?);
                let class_name = self.read_string(len)?;
                let properties = self.read_complex(start, depth, |decoder, inner| {
                    decoder.read_properties(inner, PropertyList::Object)
                })?;
                Ok(Value::Object(Object {
                    class_name: Some(class_name),
                    properties,
                }))
            }
            marker::ECMA_ARRAY => {
                // The count is a hint peers get wrong; the object-end marker decides.
                let _associative_count = self.reader.u32()?;
                let entries = self.read_complex(start, depth, |decoder, inner| {
                    decoder.read_properties(inner, PropertyList::EcmaArray)
                })?;
                Ok(Value::EcmaArray(entries))
            }
            marker::STRICT_ARRAY => {
                let count = self.read_u32_len()?;
                // Every value takes at least its marker byte.
                self.reader.ensure_room(count, 1)?;
                self.allowance.ensure_nodes(count)?;
                let items = self.read_complex(start, depth, |decoder, inner| {
                    let mut items = Vec::with_capacity(count);
                    for _ in 0..count {
                        items.push(decoder.decode_value(inner)?);
                    }
                    Ok(items)
                })?;
                Ok(Value::StrictArray(items))
            }
            marker::DATE => {
                let millis = self.reader.f64()?;
                let timezone = self.reader.i16()?;
                Ok(Value::Date { millis, timezone })
            }
            marker::NULL => Ok(Value::Null),
            marker::UNDEFINED => Ok(Value::Undefined),
            marker::UNSUPPORTED => Ok(Value::Unsupported),
            marker::REFERENCE => {
                let index = usize::from(self.reader.u16()?);
                self.expand_reference(index, depth)
            }
            marker::AVMPLUS => {
                Amf3Context::new().decode_value(&mut self.reader, &mut self.allowance, depth)
            }
            marker::OBJECT_END => Err(AmfError::UnexpectedObjectEnd),
            marker::MOVIECLIP | marker::RECORDSET => Err(AmfError::ReservedMarker {
                marker: type_marker,
            }),
            other => Err(AmfError::UnknownMarker { marker: other }),
        }
    }

    /// Reads the body of a complex value whose marker is at `start`, numbering it for
    /// references first, so that a reference to it from inside is seen as a cycle.
    fn read_complex<T>(
        &mut self,
        start: usize,
        depth: usize,
        read_body: impl FnOnce(&mut Self, usize) -> Result<T, AmfError>,
    ) -> Result<T, AmfError> {
        let inner = self.allowance.enter(depth)?;
        let number = self.references.register(start, false);
        let body = read_body(self, inner)?;
        self.references.complete(number);
        Ok(body)
    }

    /// Object properties or ECMA array entries up to the object-end marker (AMF0 §2.5, §2.10).
    fn read_properties(
        &mut self,
        inner: usize,
        list: PropertyList,
    ) -> Result<Vec<(String, Value)>, AmfError> {
        let mut properties = Vec::new();
        loop {
            if list == PropertyList::EcmaArray && inner == 1 && self.reader.remaining() == 0 {
                // Tolerated: some encoders omit the end marker of an ECMA array that ends
                // the message (the metadata of a data message).
                return Ok(properties);
            }
            let key_len = usize::from(self.reader.u16()?);
            if key_len == 0 && self.reader.peek_u8() == Some(marker::OBJECT_END) {
                self.reader.u8()?;
                return Ok(properties);
            }
            let key = self.read_string(key_len)?;
            let value = self.decode_value(inner)?;
            properties.push((key, value));
        }
    }

    /// Expands reference `index` by decoding the referenced value again, at the depth of the
    /// reference.
    fn expand_reference(&mut self, index: usize, depth: usize) -> Result<Value, AmfError> {
        let resume = self.references.begin_replay(index, &mut self.reader)?;
        let value = self.decode_value(depth);
        self.references.end_replay(resume, &mut self.reader);
        value
    }

    /// A U32 length or count, as `usize`.
    fn read_u32_len(&mut self) -> Result<usize, AmfError> {
        let len = self.reader.u32()?;
        usize::try_from(len).map_err(|_| AmfError::UnexpectedEof)
    }

    /// `len` bytes of UTF-8 (AMF0 §1.3).
    fn read_string(&mut self, len: usize) -> Result<String, AmfError> {
        self.allowance.check_string_len(len)?;
        let text = utf8(self.reader.take(len)?)?;
        self.allowance.charge(len)?;
        Ok(String::from(text))
    }
}

/// Decodes every value in `input` (AMF0 §2), with one decoder, so references and the
/// decoded-size allowance span them all.
pub fn decode_all(input: &[u8], limits: &Limits) -> Result<Vec<Value>, AmfError> {
    let mut decoder = Decoder::new(input, limits);
    let mut values = Vec::new();
    while !decoder.is_empty() {
        values.push(decoder.decode()?);
    }
    Ok(values)
}
