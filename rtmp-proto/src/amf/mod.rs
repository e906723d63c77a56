//! One value model for AMF0 and AMF3 (the AMF0 spec of 2007 and the AMF3 spec of 2008).
//!
//! [`Value`] covers every type either encoding can carry, so a value decoded from AMF3 can be
//! sent as AMF0 (the AMF0 encoder switches to AMF3 with the avmplus marker 0x11 for the types
//! AMF0 lacks) and the other way round.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

/// An AMF value, AMF0 or AMF3.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `undefined` (AMF0 0x06, AMF3 0x00).
    Undefined,
    /// `null` (AMF0 0x05, AMF3 0x01).
    Null,
    /// A boolean (AMF0 0x01, AMF3 0x02/0x03).
    Boolean(bool),
    /// An IEEE-754 double (AMF0 0x00, AMF3 0x05).
    Number(f64),
    /// An AMF3 integer (0x04): a signed 29-bit value. AMF0 has no integer type: it is written
    /// through the AMF3 switch so that it round-trips.
    Integer(i32),
    /// A UTF-8 string (AMF0 0x02 and long string 0x0C, AMF3 0x06).
    String(String),
    /// An anonymous or typed object (AMF0 0x03 and 0x10, AMF3 0x0A).
    Object(Object),
    /// An associative array (AMF0 ECMA array 0x08; AMF3 array with only an associative part).
    EcmaArray(Vec<(String, Value)>),
    /// A dense array (AMF0 strict array 0x0A; AMF3 array with only a dense part).
    StrictArray(Vec<Value>),
    /// An AMF3 array with both an associative and a dense part.
    MixedArray {
        /// The associative part, in wire order.
        assoc: Vec<(String, Value)>,
        /// The dense part.
        dense: Vec<Value>,
    },
    /// A date: milliseconds since the Unix epoch (UTC) and, for AMF0, a time zone offset in
    /// minutes that the spec says to write as 0 (AMF0 0x0B, AMF3 0x08).
    Date {
        /// Milliseconds since 1970-01-01T00:00:00Z.
        millis: f64,
        /// Time zone offset in minutes (AMF0 only; reserved, normally 0).
        timezone: i16,
    },
    /// An XML document (AMF0 0x0F, AMF3 0x07).
    XmlDocument(String),
    /// An AMF3 E4X XML value (0x0B).
    Xml(String),
    /// An AMF3 byte array (0x0C).
    ByteArray(Bytes),
    /// An AMF3 `Vector.<int>` (0x0D).
    VectorInt {
        /// Whether the vector has a fixed length.
        fixed: bool,
        /// The items.
        items: Vec<i32>,
    },
    /// An AMF3 `Vector.<uint>` (0x0E).
    VectorUint {
        /// Whether the vector has a fixed length.
        fixed: bool,
        /// The items.
        items: Vec<u32>,
    },
    /// An AMF3 `Vector.<Number>` (0x0F).
    VectorDouble {
        /// Whether the vector has a fixed length.
        fixed: bool,
        /// The items.
        items: Vec<f64>,
    },
    /// An AMF3 `Vector.<Object>` (0x10).
    VectorObject {
        /// Whether the vector has a fixed length.
        fixed: bool,
        /// The item type name; empty for `*`.
        type_name: String,
        /// The items.
        items: Vec<Value>,
    },
    /// An AMF3 dictionary (0x11).
    Dictionary {
        /// Whether the keys are weakly referenced.
        weak_keys: bool,
        /// Key/value pairs in wire order.
        entries: Vec<(Value, Value)>,
    },
    /// AMF0 `unsupported` (0x0D).
    Unsupported,
}

/// An object: an optional class name and its properties in wire order.
///
/// Key order is kept because some peers read connect parameters positionally.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    /// The class name of a typed object; `None` for an anonymous one.
    pub class_name: Option<String>,
    /// Properties in the order they were written or inserted.
    pub properties: Vec<(String, Value)>,
}

/// Errors decoding or encoding AMF.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AmfError {
    /// The input ended in the middle of a value.
    #[error("AMF input ended in the middle of a value")]
    UnexpectedEof,
}
