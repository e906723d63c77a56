//! One value model for AMF0 and AMF3 (the AMF0 spec of 2007 and the AMF3 spec of 2013).
//!
//! [`Value`] covers every type either encoding can carry, so a value decoded from AMF3 can be
//! sent as AMF0 (the AMF0 encoder switches to AMF3 with the avmplus marker 0x11 for the types
//! AMF0 lacks) and the other way round.
//!
//! Building a command object reads like the object it describes:
//!
//! ```
//! use rtmp_proto::amf::{Object, Value};
//! use rtmp_proto::amf_object;
//!
//! let url = String::from("rtmp://example.com/live");
//! let command = amf_object! {
//!     "app" => "live",
//!     "tcUrl" => url.as_str(),
//!     "fpad" => false,
//!     "audioCodecs" => 3191,
//!     "objectEncoding" => 0,
//! };
//! assert_eq!(command.get("app").and_then(Value::as_str), Some("live"));
//! assert_eq!(command.get("audioCodecs").and_then(Value::as_f64), Some(3191.0));
//!
//! // The same object, built step by step.
//! let built = Object::new()
//!     .with("app", "live")
//!     .with("tcUrl", url)
//!     .with("fpad", false)
//!     .with("audioCodecs", 3191)
//!     .with("objectEncoding", 0);
//! assert_eq!(Value::from(built), command);
//! assert_eq!(
//!     command.to_string(),
//!     r#"{"app": "live", "tcUrl": "rtmp://example.com/live", "fpad": false, "audioCodecs": 3191, "objectEncoding": 0}"#
//! );
//! ```
//!
//! # What does not survive a round trip
//! Both encoders keep every value exactly, with these exceptions, all forced by the formats:
//! - [`Value::Integer`] outside the 29-bit range of AMF3 (AMF3 §3.6) is written as a double and
//!   reads back as [`Value::Number`].
//! - AMF3 has no time zone (AMF3 §3.10), no `unsupported` and no empty class name: it writes a
//!   [`Value::Date`] with time zone 0, [`Value::Unsupported`] as `undefined`, and a class name of
//!   `Some("")` as an anonymous object.
//! - An AMF3 array (AMF3 §3.11) with an empty associative or dense part reads back as the
//!   narrowest variant: an empty [`Value::EcmaArray`] becomes an empty [`Value::StrictArray`], a
//!   [`Value::MixedArray`] with an empty part becomes the variant of the other part.
//! - An AMF3 associative array cannot carry the empty key (it ends the associative part), so
//!   encoding one is an error ([`AmfError::EmptyAssociativeKey`]).
//!
//! The AMF0 encoder writes these AMF3-only types, and objects whose keys or class name exceed
//! the 65535 bytes of an AMF0 string, through the avmplus switch, where the rules above apply.

mod convert;
mod display;
pub(crate) mod references;
pub(crate) mod wire;

#[cfg(test)]
pub(crate) mod strategies;

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
    /// through the AMF3 switch so that it round-trips. Values outside
    /// [`amf3::MIN_INTEGER`](crate::amf3::MIN_INTEGER)..=[`amf3::MAX_INTEGER`](crate::amf3::MAX_INTEGER)
    /// are written as doubles.
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
        /// The item type name exactly as written on the wire (AMF3 §3.15 `object-type-name`);
        /// encoders write `*` or the empty string for an untyped vector.
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
///
/// ```
/// use rtmp_proto::amf::{Object, Value};
///
/// let mut status = Object::new()
///     .with("level", "status")
///     .with("code", "NetStream.Publish.Start");
/// status.insert("description", "Publishing live.");
/// status.insert("level", "warning"); // replaces in place, keeps the order
/// let keys: Vec<&str> = status.iter().map(|(key, _)| key).collect();
/// assert_eq!(keys, ["level", "code", "description"]);
/// assert_eq!(status.get("level"), Some(&Value::from("warning")));
/// ```
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
    /// The input ended in the middle of a value, or a length or count field announced more
    /// items than the rest of the input can hold.
    #[error("AMF input ended in the middle of a value")]
    UnexpectedEof,
    /// A type marker that the format does not define (AMF0 §2.1, AMF3 §3.1).
    #[error("unknown AMF type marker 0x{marker:02x}")]
    UnknownMarker {
        /// The marker byte.
        marker: u8,
    },
    /// An AMF0 marker that the spec reserves and does not support: movieclip 0x04 or
    /// recordset 0x0E (AMF0 §2.6, §2.15).
    #[error("reserved AMF0 type marker 0x{marker:02x}")]
    ReservedMarker {
        /// The marker byte.
        marker: u8,
    },
    /// An AMF0 object-end marker 0x09 where a value was expected (AMF0 §2.11).
    #[error("AMF0 object-end marker where a value was expected")]
    UnexpectedObjectEnd,
    /// A string, key or class name that is not valid UTF-8 (AMF0 §1.3, AMF3 §1.3.2).
    #[error("AMF string is not valid UTF-8")]
    InvalidUtf8,
    /// A string, XML document or byte array longer than `Limits::max_amf_string_len`.
    #[error("AMF string of {len} bytes exceeds the limit of {max}")]
    StringTooLong {
        /// The announced length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Containers nested deeper than `Limits::max_amf_depth` (or, when encoding, than
    /// [`MAX_ENCODE_DEPTH`]).
    #[error("AMF values nested deeper than {max}")]
    DepthExceeded {
        /// The limit.
        max: usize,
    },
    /// Decoding would produce more than `Limits::max_amf_decoded_size` bytes of values,
    /// counting what references expand into.
    #[error("decoded AMF values would exceed {max} bytes")]
    DecodedSizeExceeded {
        /// The limit.
        max: usize,
    },
    /// A reference (AMF0 §2.9; AMF3 §2.2 string, object or traits reference) to an index that
    /// the reference table does not hold.
    #[error("AMF reference to unknown index {index}")]
    InvalidReference {
        /// The index.
        index: usize,
    },
    /// A reference to an object or array that is still being decoded: a cycle, which a tree of
    /// values cannot represent.
    #[error("AMF reference {index} points to a value that contains it")]
    CyclicReference {
        /// The index.
        index: usize,
    },
    /// An AMF3 externalizable object (AMF3 §3.12): its body is in a format only its class
    /// knows, so it cannot be decoded.
    #[error("AMF3 externalizable object of class {class_name:?}")]
    ExternalizableObject {
        /// The class name from the traits.
        class_name: String,
    },
    /// Encoding: an AMF3 associative array (or mixed array) with an empty key, which AMF3
    /// reads as the end of the associative part (AMF3 §3.11).
    #[error("AMF3 cannot encode an associative array key that is empty")]
    EmptyAssociativeKey,
    /// Encoding: a length or count larger than the format can carry (2^28 - 1 for AMF3 U29
    /// lengths, 2^32 - 1 for AMF0 lengths).
    #[error("length {len} is too large for the AMF encoding")]
    LengthOverflow {
        /// The length or count.
        len: usize,
    },
    /// Encoding: the output buffer has no room left (only fixed-size buffers run out).
    #[error("the output buffer is full")]
    OutputFull,
}

/// Deepest nesting of containers the encoders accept: a guard against stack exhaustion on
/// hand-built values. Decoding is bounded by `Limits::max_amf_depth` instead.
pub const MAX_ENCODE_DEPTH: usize = 256;

/// Builds a [`Value::Object`] (anonymous) from `key => value` pairs, in order.
///
/// Keys are anything `Into<String>`, values anything `Into<Value>`.
///
/// ```
/// use rtmp_proto::amf_object;
/// use rtmp_proto::Value;
///
/// let tc_url = "rtmp://localhost/live";
/// let connect = amf_object! {
///     "app" => "live",
///     "tcUrl" => tc_url,
///     "fpad" => false,
///     "capabilities" => 15,
///     "nested" => amf_object! { "a" => 1.5 },
///     "fourCcList" => vec!["av01", "hvc1"],
///     "pageUrl" => None::<&str>,
/// };
/// assert_eq!(connect.get("tcUrl").and_then(Value::as_str), Some(tc_url));
/// assert!(connect.get("pageUrl").is_some_and(Value::is_null));
/// assert_eq!(amf_object! {}, Value::Object(Default::default()));
/// ```
#[macro_export]
macro_rules! amf_object {
    ($($key:expr => $value:expr),* $(,)?) => {
        $crate::amf::Value::Object($crate::amf::Object::new() $(.with($key, $value))*)
    };
}
