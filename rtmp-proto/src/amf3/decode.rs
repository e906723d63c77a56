//! The AMF3 decoder.

use super::marker;
use crate::amf::references::ReferenceTable;
use crate::amf::wire::{utf8, Allowance, NODE_SIZE};
use crate::amf::{AmfError, Object, Value};
use crate::wire::{ByteReader, EndOfInput};
use crate::Limits;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

/// Decodes a sequence of AMF3 values, keeping the reference tables across them (AMF3 §2.2).
///
/// All values decoded by one decoder share one allowance of `Limits::max_amf_decoded_size`:
/// use one decoder per message.
pub struct Decoder<'a> {
    reader: ByteReader<'a>,
    allowance: Allowance,
    context: Context<'a>,
}

impl<'a> Decoder<'a> {
    /// A decoder over `input`, bounded by `limits`.
    pub fn new(input: &'a [u8], limits: &'a Limits) -> Self {
        Decoder {
            reader: ByteReader::new(input),
            allowance: Allowance::new(limits),
            context: Context::new(),
        }
    }

    /// Decodes the next value (AMF3 §3).
    ///
    /// Truncated input fails with [`AmfError::UnexpectedEof`]. After an error the decoder's
    /// position is unspecified: drop it.
    pub fn decode(&mut self) -> Result<Value, AmfError> {
        self.context
            .decode_value(&mut self.reader, &mut self.allowance, 0)
    }

    /// Whether every input byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.reader.remaining() == 0
    }

    /// How many input bytes have been consumed.
    pub fn position(&self) -> usize {
        self.reader.position()
    }
}

/// Decodes every value in `input` (AMF3 §3) with one decoder, so reference tables and the
/// decoded-size allowance span them all.
pub fn decode_all(input: &[u8], limits: &Limits) -> Result<Vec<Value>, AmfError> {
    let mut decoder = Decoder::new(input, limits);
    let mut values = Vec::new();
    while !decoder.is_empty() {
        values.push(decoder.decode()?);
    }
    Ok(values)
}

/// The reference tables of one AMF3 context (AMF3 §2.2). The AMF0 decoder makes a fresh one
/// for each avmplus switch.
pub(crate) struct Context<'a> {
    /// Non-empty strings in the order they were first read.
    strings: Vec<&'a str>,
    traits: Vec<Traits<'a>>,
    /// Every object-table value (every type but the primitives and strings). While one is
    /// replayed, nothing read enters any of the tables again.
    objects: ReferenceTable,
}

#[derive(Clone)]
struct Traits<'a> {
    class_name: &'a str,
    dynamic: bool,
    sealed: Vec<&'a str>,
}

/// The header of a value that may be a reference (AMF3 §3.8 to §3.16): the low bit clear
/// means a reference to a table entry, set means an inline value with this payload.
enum Header {
    Reference(usize),
    Inline(usize),
}

impl<'a> Context<'a> {
    pub(crate) fn new() -> Self {
        Context {
            strings: Vec::new(),
            traits: Vec::new(),
            objects: ReferenceTable::default(),
        }
    }

    /// Decodes one value whose enclosing containers number `depth`.
    pub(crate) fn decode_value(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        depth: usize,
    ) -> Result<Value, AmfError> {
        allowance.charge(NODE_SIZE)?;
        let start = reader.position();
        match reader.u8()? {
            marker::UNDEFINED => Ok(Value::Undefined),
            marker::NULL => Ok(Value::Null),
            marker::FALSE => Ok(Value::Boolean(false)),
            marker::TRUE => Ok(Value::Boolean(true)),
            marker::INTEGER => Ok(Value::Integer(sign_extend(read_u29(reader)?))),
            marker::DOUBLE => Ok(Value::Number(reader.f64()?)),
            marker::STRING => {
                let text = self.read_string(reader, allowance)?;
                allowance.charge(text.len())?;
                Ok(Value::String(String::from(text)))
            }
            // Every later marker is that of a value held in the object table (AMF3 §2.2).
            object_marker @ marker::XML_DOCUMENT..=marker::DICTIONARY => {
                self.read_object_table_value(reader, allowance, object_marker, start, depth)
            }
            other => Err(AmfError::UnknownMarker { marker: other }),
        }
    }

    /// A value of a type held in the object table, whose marker at `start` was `object_marker`:
    /// its U29 header is a reference to a value read before, or the start of the value itself,
    /// with a payload (a length, a count or flags) that the type gives a meaning to.
    fn read_object_table_value(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        object_marker: u8,
        start: usize,
        depth: usize,
    ) -> Result<Value, AmfError> {
        let payload = match read_header(reader)? {
            Header::Reference(index) => return self.expand(reader, allowance, index, depth),
            Header::Inline(payload) => payload,
        };
        match object_marker {
            // XML document (§3.9), XML (§3.13): U29X then UTF-8.
            marker::XML_DOCUMENT => {
                let text = self.read_inline_bytes(reader, allowance, start, payload, utf8)?;
                Ok(Value::XmlDocument(String::from(text)))
            }
            marker::XML => {
                let text = self.read_inline_bytes(reader, allowance, start, payload, utf8)?;
                Ok(Value::Xml(String::from(text)))
            }
            // Date (§3.10): the payload is unused.
            marker::DATE => {
                let millis = reader.f64()?;
                self.objects.register(start, true);
                Ok(Value::Date {
                    millis,
                    timezone: 0,
                })
            }
            marker::ARRAY => self.read_array(reader, allowance, start, depth, payload),
            marker::OBJECT => self.read_object(reader, allowance, start, depth, payload),
            // ByteArray (§3.14): U29B then the bytes.
            marker::BYTE_ARRAY => {
                let bytes = self.read_inline_bytes(reader, allowance, start, payload, Ok)?;
                Ok(Value::ByteArray(Bytes::copy_from_slice(bytes)))
            }
            marker::VECTOR_INT => self.read_number_vector(
                reader,
                allowance,
                start,
                payload,
                ByteReader::i32,
                |fixed, items| Value::VectorInt { fixed, items },
            ),
            marker::VECTOR_UINT => self.read_number_vector(
                reader,
                allowance,
                start,
                payload,
                ByteReader::u32,
                |fixed, items| Value::VectorUint { fixed, items },
            ),
            marker::VECTOR_DOUBLE => self.read_number_vector(
                reader,
                allowance,
                start,
                payload,
                ByteReader::f64,
                |fixed, items| Value::VectorDouble { fixed, items },
            ),
            marker::VECTOR_OBJECT => {
                self.read_object_vector(reader, allowance, start, depth, payload)
            }
            marker::DICTIONARY => self.read_dictionary(reader, allowance, start, depth, payload),
            other => Err(AmfError::UnknownMarker { marker: other }),
        }
    }

    /// The `len` bytes of an inline XML document, XML or byte array, checked by `interpret`
    /// before they are paid for; the value enters the object table complete.
    fn read_inline_bytes<T>(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        start: usize,
        len: usize,
        interpret: impl FnOnce(&'a [u8]) -> Result<T, AmfError>,
    ) -> Result<T, AmfError> {
        allowance.check_string_len(len)?;
        let value = interpret(reader.take(len)?)?;
        allowance.charge(len)?;
        self.objects.register(start, true);
        Ok(value)
    }

    /// A UTF-8-vr (AMF3 §1.3.2): inline, or a reference to the string table. The empty string
    /// is never a reference and never enters the table.
    fn read_string(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
    ) -> Result<&'a str, AmfError> {
        match read_header(reader)? {
            Header::Reference(index) => self
                .strings
                .get(index)
                .copied()
                .ok_or(AmfError::InvalidReference { index }),
            Header::Inline(len) => {
                allowance.check_string_len(len)?;
                let text = utf8(reader.take(len)?)?;
                if len > 0 && !self.objects.is_replaying() {
                    self.strings.push(text);
                }
                Ok(text)
            }
        }
    }

    /// An array (§3.11): the associative part up to the empty key, then the dense part.
    fn read_array(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        start: usize,
        depth: usize,
        dense_count: usize,
    ) -> Result<Value, AmfError> {
        // Every dense value takes at least its marker byte.
        reader.ensure_room(dense_count, 1)?;
        allowance.ensure_nodes(dense_count)?;
        let inner = allowance.enter(depth)?;
        let slot = self.objects.register(start, false);
        let mut assoc = Vec::new();
        self.read_pairs_to_empty_key(reader, allowance, inner, &mut assoc)?;
        reader.ensure_room(dense_count, 1)?;
        let mut dense = Vec::with_capacity(dense_count);
        for _ in 0..dense_count {
            dense.push(self.decode_value(reader, allowance, inner)?);
        }
        self.objects.complete(slot);
        Ok(match (assoc.is_empty(), dense.is_empty()) {
            (true, _) => Value::StrictArray(dense),
            (false, true) => Value::EcmaArray(assoc),
            (false, false) => Value::MixedArray { assoc, dense },
        })
    }

    /// An object (§3.12): traits (inline or a reference), sealed member values in traits
    /// order, then dynamic members up to the empty key.
    fn read_object(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        start: usize,
        depth: usize,
        header: usize,
    ) -> Result<Value, AmfError> {
        let traits = if header & 0b1 == 0 {
            // U29O-traits-ref
            let index = header >> 1;
            let traits = self
                .traits
                .get(index)
                .ok_or(AmfError::InvalidReference { index })?;
            // Make sure the values these traits announce are there and can be paid for
            // before copying the member list.
            reader.ensure_room(traits.sealed.len(), 1)?;
            allowance.ensure_nodes(traits.sealed.len())?;
            traits.clone()
        } else if header & 0b10 != 0 {
            // U29O-traits-ext
            let class_name = self.read_string(reader, allowance)?;
            return Err(AmfError::ExternalizableObject {
                class_name: String::from(class_name),
            });
        } else {
            let dynamic = header & 0b100 != 0;
            let sealed_count = header >> 3;
            let class_name = self.read_string(reader, allowance)?;
            // Every member name takes at least one byte.
            reader.ensure_room(sealed_count, 1)?;
            allowance.ensure_nodes(sealed_count)?;
            let mut sealed = Vec::with_capacity(sealed_count);
            for _ in 0..sealed_count {
                sealed.push(self.read_string(reader, allowance)?);
            }
            let traits = Traits {
                class_name,
                dynamic,
                sealed,
            };
            if !self.objects.is_replaying() {
                self.traits.push(traits.clone());
            }
            traits
        };
        let inner = allowance.enter(depth)?;
        let slot = self.objects.register(start, false);
        let mut properties = Vec::with_capacity(traits.sealed.len());
        for name in &traits.sealed {
            allowance.charge(name.len())?;
            let value = self.decode_value(reader, allowance, inner)?;
            properties.push((String::from(*name), value));
        }
        if traits.dynamic {
            self.read_pairs_to_empty_key(reader, allowance, inner, &mut properties)?;
        }
        self.objects.complete(slot);
        let class_name = Some(traits.class_name)
            .filter(|name| !name.is_empty())
            .map(String::from);
        Ok(Value::Object(Object {
            class_name,
            properties,
        }))
    }

    /// Key-value pairs up to the empty key, appended to `pairs`: the associative part of an array
    /// (§3.11) or the dynamic members of an object (§3.12).
    fn read_pairs_to_empty_key(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        inner: usize,
        pairs: &mut Vec<(String, Value)>,
    ) -> Result<(), AmfError> {
        loop {
            let key = self.read_string(reader, allowance)?;
            if key.is_empty() {
                return Ok(());
            }
            allowance.charge(key.len())?;
            let value = self.decode_value(reader, allowance, inner)?;
            pairs.push((String::from(key), value));
        }
    }

    /// A vector of ints, uints or doubles (§3.15): U29V count, the fixed flag, then the items.
    fn read_number_vector<T>(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        start: usize,
        count: usize,
        read_item: fn(&mut ByteReader<'a>) -> Result<T, EndOfInput>,
        make: fn(bool, Vec<T>) -> Value,
    ) -> Result<Value, AmfError> {
        // Each item is as wide on the wire as in memory: 4 bytes for ints, 8 for doubles.
        let item_size = core::mem::size_of::<T>();
        let fixed = reader.u8()? != 0;
        reader.ensure_room(count, item_size)?;
        allowance.charge_items(count, item_size)?;
        self.objects.register(start, true);
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(read_item(reader)?);
        }
        Ok(make(fixed, items))
    }

    /// A `Vector.<Object>` (§3.15): U29V count, the fixed flag, the item type name, then values.
    fn read_object_vector(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        start: usize,
        depth: usize,
        count: usize,
    ) -> Result<Value, AmfError> {
        let fixed = reader.u8()? != 0;
        let type_name = self.read_string(reader, allowance)?;
        allowance.charge(type_name.len())?;
        reader.ensure_room(count, 1)?;
        allowance.ensure_nodes(count)?;
        let inner = allowance.enter(depth)?;
        let slot = self.objects.register(start, false);
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(self.decode_value(reader, allowance, inner)?);
        }
        self.objects.complete(slot);
        Ok(Value::VectorObject {
            fixed,
            type_name: String::from(type_name),
            items,
        })
    }

    /// A dictionary (§3.16): U29Dict count, the weak-keys flag, then key/value pairs.
    fn read_dictionary(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        start: usize,
        depth: usize,
        count: usize,
    ) -> Result<Value, AmfError> {
        let weak_keys = reader.u8()? != 0;
        // Every entry takes at least a key marker and a value marker.
        reader.ensure_room(count, 2)?;
        allowance.ensure_nodes(count.saturating_mul(2))?;
        let inner = allowance.enter(depth)?;
        let slot = self.objects.register(start, false);
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let key = self.decode_value(reader, allowance, inner)?;
            let value = self.decode_value(reader, allowance, inner)?;
            entries.push((key, value));
        }
        self.objects.complete(slot);
        Ok(Value::Dictionary { weak_keys, entries })
    }

    /// Expands object reference `index` by decoding the referenced value again, at the depth
    /// of the reference.
    fn expand(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        index: usize,
        depth: usize,
    ) -> Result<Value, AmfError> {
        let resume = self.objects.begin_replay(index, reader)?;
        let value = self.decode_value(reader, allowance, depth);
        self.objects.end_replay(resume, reader);
        value
    }
}

/// A U29 (AMF3 §1.3.1): one to four bytes, seven bits from each of the first three while
/// their high bit is set, all eight bits of the fourth.
pub(crate) fn read_u29(reader: &mut ByteReader<'_>) -> Result<u32, AmfError> {
    let mut value = 0u32;
    for _ in 0..3 {
        let byte = reader.u8()?;
        value = (value << 7) | u32::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    let byte = reader.u8()?;
    Ok((value << 8) | u32::from(byte))
}

/// A 29-bit two's complement integer (AMF3 §3.6).
fn sign_extend(u29: u32) -> i32 {
    let shifted = (u29 << 3) as i32;
    shifted >> 3
}

fn read_header(reader: &mut ByteReader<'_>) -> Result<Header, AmfError> {
    let u29 = read_u29(reader)?;
    // A U29 is below 2^29, so the payload fits any usize of 32 bits or more.
    let payload = usize::try_from(u29 >> 1).map_err(|_| AmfError::UnexpectedEof)?;
    Ok(if u29 & 1 == 0 {
        Header::Reference(payload)
    } else {
        Header::Inline(payload)
    })
}
