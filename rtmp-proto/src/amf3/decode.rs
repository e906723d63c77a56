//! The AMF3 decoder.

use super::marker;
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
    /// Where each object-table value (every type but the primitives and strings) starts, and
    /// whether it is complete.
    objects: Vec<ObjectSlot>,
    /// Above zero while an object reference is being expanded: what is then read was entered
    /// into the tables on its first reading.
    replaying: usize,
}

#[derive(Clone)]
struct Traits<'a> {
    class_name: &'a str,
    dynamic: bool,
    sealed: Vec<&'a str>,
}

#[derive(Clone, Copy)]
struct ObjectSlot {
    start: usize,
    complete: bool,
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
            objects: Vec::new(),
            replaying: 0,
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
            marker::XML_DOCUMENT => {
                self.read_text_object(reader, allowance, start, depth, Value::XmlDocument)
            }
            marker::XML => self.read_text_object(reader, allowance, start, depth, Value::Xml),
            marker::DATE => match read_header(reader)? {
                Header::Reference(index) => self.expand(reader, allowance, index, depth),
                Header::Inline(_) => {
                    let millis = reader.f64()?;
                    self.register_object(start, true);
                    Ok(Value::Date {
                        millis,
                        timezone: 0,
                    })
                }
            },
            marker::ARRAY => self.read_array(reader, allowance, start, depth),
            marker::OBJECT => self.read_object(reader, allowance, start, depth),
            marker::BYTE_ARRAY => match read_header(reader)? {
                Header::Reference(index) => self.expand(reader, allowance, index, depth),
                Header::Inline(len) => {
                    allowance.check_string_len(len)?;
                    let bytes = reader.take(len)?;
                    allowance.charge(len)?;
                    self.register_object(start, true);
                    Ok(Value::ByteArray(Bytes::copy_from_slice(bytes)))
                }
            },
            marker::VECTOR_INT => self.read_number_vector(
                reader,
                allowance,
                start,
                depth,
                4,
                ByteReader::i32,
                |fixed, items| Value::VectorInt { fixed, items },
            ),
            marker::VECTOR_UINT => self.read_number_vector(
                reader,
                allowance,
                start,
                depth,
                4,
                ByteReader::u32,
                |fixed, items| Value::VectorUint { fixed, items },
            ),
            marker::VECTOR_DOUBLE => self.read_number_vector(
                reader,
                allowance,
                start,
                depth,
                8,
                ByteReader::f64,
                |fixed, items| Value::VectorDouble { fixed, items },
            ),
            marker::VECTOR_OBJECT => self.read_object_vector(reader, allowance, start, depth),
            marker::DICTIONARY => self.read_dictionary(reader, allowance, start, depth),
            other => Err(AmfError::UnknownMarker { marker: other }),
        }
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
                if len > 0 && self.replaying == 0 {
                    self.strings.push(text);
                }
                Ok(text)
            }
        }
    }

    /// An XML document (§3.9) or XML (§3.13): U29X then UTF-8, held in the object table.
    fn read_text_object(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        start: usize,
        depth: usize,
        make: fn(String) -> Value,
    ) -> Result<Value, AmfError> {
        match read_header(reader)? {
            Header::Reference(index) => self.expand(reader, allowance, index, depth),
            Header::Inline(len) => {
                allowance.check_string_len(len)?;
                let text = utf8(reader.take(len)?)?;
                allowance.charge(len)?;
                self.register_object(start, true);
                Ok(make(String::from(text)))
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
    ) -> Result<Value, AmfError> {
        let dense_count = match read_header(reader)? {
            Header::Reference(index) => return self.expand(reader, allowance, index, depth),
            Header::Inline(count) => count,
        };
        // Every dense value takes at least its marker byte.
        reader.ensure_room(dense_count, 1)?;
        allowance.ensure_nodes(dense_count)?;
        let inner = allowance.enter(depth)?;
        let slot = self.register_object(start, false);
        let mut assoc = Vec::new();
        loop {
            let key = self.read_string(reader, allowance)?;
            if key.is_empty() {
                break;
            }
            allowance.charge(key.len())?;
            let value = self.decode_value(reader, allowance, inner)?;
            assoc.push((String::from(key), value));
        }
        reader.ensure_room(dense_count, 1)?;
        let mut dense = Vec::with_capacity(dense_count);
        for _ in 0..dense_count {
            dense.push(self.decode_value(reader, allowance, inner)?);
        }
        self.complete(slot);
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
    ) -> Result<Value, AmfError> {
        let header = match read_header(reader)? {
            Header::Reference(index) => return self.expand(reader, allowance, index, depth),
            Header::Inline(header) => header,
        };
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
            if self.replaying == 0 {
                self.traits.push(traits.clone());
            }
            traits
        };
        let inner = allowance.enter(depth)?;
        let slot = self.register_object(start, false);
        let mut properties = Vec::with_capacity(traits.sealed.len());
        for name in &traits.sealed {
            allowance.charge(name.len())?;
            let value = self.decode_value(reader, allowance, inner)?;
            properties.push((String::from(*name), value));
        }
        if traits.dynamic {
            loop {
                let key = self.read_string(reader, allowance)?;
                if key.is_empty() {
                    break;
                }
                allowance.charge(key.len())?;
                let value = self.decode_value(reader, allowance, inner)?;
                properties.push((String::from(key), value));
            }
        }
        self.complete(slot);
        let class_name = Some(traits.class_name)
            .filter(|name| !name.is_empty())
            .map(String::from);
        Ok(Value::Object(Object {
            class_name,
            properties,
        }))
    }

    /// A vector of ints, uints or doubles (§3.15): U29V count, the fixed flag, then items of
    /// `item_size` bytes.
    #[allow(clippy::too_many_arguments)]
    fn read_number_vector<T>(
        &mut self,
        reader: &mut ByteReader<'a>,
        allowance: &mut Allowance,
        start: usize,
        depth: usize,
        item_size: usize,
        read_item: fn(&mut ByteReader<'a>) -> Result<T, EndOfInput>,
        make: fn(bool, Vec<T>) -> Value,
    ) -> Result<Value, AmfError> {
        let count = match read_header(reader)? {
            Header::Reference(index) => return self.expand(reader, allowance, index, depth),
            Header::Inline(count) => count,
        };
        let fixed = reader.u8()? != 0;
        reader.ensure_room(count, item_size)?;
        allowance.charge_items(count, item_size)?;
        self.register_object(start, true);
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
    ) -> Result<Value, AmfError> {
        let count = match read_header(reader)? {
            Header::Reference(index) => return self.expand(reader, allowance, index, depth),
            Header::Inline(count) => count,
        };
        let fixed = reader.u8()? != 0;
        let type_name = self.read_string(reader, allowance)?;
        allowance.charge(type_name.len())?;
        reader.ensure_room(count, 1)?;
        allowance.ensure_nodes(count)?;
        let inner = allowance.enter(depth)?;
        let slot = self.register_object(start, false);
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(self.decode_value(reader, allowance, inner)?);
        }
        self.complete(slot);
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
    ) -> Result<Value, AmfError> {
        let count = match read_header(reader)? {
            Header::Reference(index) => return self.expand(reader, allowance, index, depth),
            Header::Inline(count) => count,
        };
        let weak_keys = reader.u8()? != 0;
        // Every entry takes at least a key marker and a value marker.
        reader.ensure_room(count, 2)?;
        allowance.ensure_nodes(count.saturating_mul(2))?;
        let inner = allowance.enter(depth)?;
        let slot = self.register_object(start, false);
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let key = self.decode_value(reader, allowance, inner)?;
            let value = self.decode_value(reader, allowance, inner)?;
            entries.push((key, value));
        }
        self.complete(slot);
        Ok(Value::Dictionary { weak_keys, entries })
    }

    /// Numbers the object-table value whose marker is at `start` (unless replaying). It is
    /// numbered before its children are read, as encoders number it before writing them.
    ///
    /// The tables are not charged to the allowance: each entry belongs to a value, key or
    /// object that is, so they grow no faster than the charged size.
    fn register_object(&mut self, start: usize, complete: bool) -> Option<usize> {
        if self.replaying > 0 {
            return None;
        }
        self.objects.push(ObjectSlot { start, complete });
        Some(self.objects.len() - 1)
    }

    fn complete(&mut self, slot: Option<usize>) {
        if let Some(slot) = slot.and_then(|index| self.objects.get_mut(index)) {
            slot.complete = true;
        }
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
        let slot = *self
            .objects
            .get(index)
            .ok_or(AmfError::InvalidReference { index })?;
        if !slot.complete {
            return Err(AmfError::CyclicReference { index });
        }
        let resume_at = reader.position();
        reader.seek(slot.start);
        self.replaying += 1;
        let value = self.decode_value(reader, allowance, depth);
        self.replaying -= 1;
        reader.seek(resume_at);
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
