//! AMF3 (Action Message Format, version 3, January 2013 spec).
//!
//! ```
//! use rtmp_proto::{amf3, amf_object, Limits, Value};
//!
//! let value = Value::StrictArray(vec![
//!     amf_object! { "code" => "ok" },
//!     amf_object! { "code" => "ok" },
//!     Value::Integer(-1),
//! ]);
//! let mut out = Vec::new();
//! amf3::encode(&value, &mut out)?;
//! // 13 bytes for the first object, 6 for the second, which refers to its traits and strings.
//! assert_eq!(out.len(), 27);
//! let limits = Limits::default();
//! let mut decoder = amf3::Decoder::new(&out, &limits);
//! assert_eq!(decoder.decode()?, value);
//! assert!(decoder.is_empty());
//! # Ok::<(), rtmp_proto::amf::AmfError>(())
//! ```
//!
//! # Mapping
//! - An array (AMF3 §3.11) decodes to [`Value::StrictArray`](crate::Value::StrictArray) when it has no associative part,
//!   to [`Value::EcmaArray`](crate::Value::EcmaArray) when it has only one, and to [`Value::MixedArray`](crate::Value::MixedArray) otherwise.
//! - An object (§3.12) decodes its sealed members, then its dynamic members, into
//!   `properties` in wire order; the empty class name becomes `None`. The encoder writes a
//!   typed object with sealed traits (every property sealed) and an anonymous one as dynamic,
//!   so decoding what it wrote gives back the same properties in the same order. (An
//!   anonymous object with an empty key, which dynamic members cannot carry, is written with
//!   sealed traits and an empty class name.)
//! - Externalizable objects fail with
//!   [`AmfError::ExternalizableObject`](crate::amf::AmfError::ExternalizableObject): their
//!   body is in a format only their class knows.
//! - String, object and traits references (§2.2) are resolved: strings and traits from their
//!   tables, objects by decoding the referenced value again, which counts against
//!   `Limits::max_amf_decoded_size` like any other value. A reference to an object still
//!   being decoded (a cycle) fails with
//!   [`AmfError::CyclicReference`](crate::amf::AmfError::CyclicReference).
//! - The encoder refers to repeated strings and repeated traits (same class name, same keys,
//!   same kind), never to repeated objects: a [`Value`](crate::Value) tree has no shared identity.

pub(crate) mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::{decode_all, Decoder};
pub use encode::{encode, Encoder};

/// The smallest [`Value::Integer`](crate::Value::Integer) AMF3 can carry as an integer:
/// -2^28 (AMF3 §3.6).
pub const MIN_INTEGER: i32 = -(1 << 28);
/// The largest [`Value::Integer`](crate::Value::Integer) AMF3 can carry as an integer:
/// 2^28 - 1 (AMF3 §3.6).
pub const MAX_INTEGER: i32 = (1 << 28) - 1;

/// AMF3 type markers (AMF3 §3.1).
pub(crate) mod marker {
    pub const UNDEFINED: u8 = 0x00;
    pub const NULL: u8 = 0x01;
    pub const FALSE: u8 = 0x02;
    pub const TRUE: u8 = 0x03;
    pub const INTEGER: u8 = 0x04;
    pub const DOUBLE: u8 = 0x05;
    pub const STRING: u8 = 0x06;
    pub const XML_DOCUMENT: u8 = 0x07;
    pub const DATE: u8 = 0x08;
    pub const ARRAY: u8 = 0x09;
    pub const OBJECT: u8 = 0x0A;
    pub const XML: u8 = 0x0B;
    pub const BYTE_ARRAY: u8 = 0x0C;
    pub const VECTOR_INT: u8 = 0x0D;
    pub const VECTOR_UINT: u8 = 0x0E;
    pub const VECTOR_DOUBLE: u8 = 0x0F;
    pub const VECTOR_OBJECT: u8 = 0x10;
    pub const DICTIONARY: u8 = 0x11;
}

/// The largest value a U29 holds (AMF3 §1.3.1).
const U29_MAX: u32 = (1 << 29) - 1;
/// The largest length or index a U29 with a flag bit holds (e.g. U29S-value, U29O-ref).
const U28_MAX: usize = (1 << 28) - 1;
