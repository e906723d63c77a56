//! AMF0 (Action Message Format, version 0, December 2007 spec).
//!
//! ```
//! use rtmp_proto::{amf0, amf_object, Limits, Value};
//!
//! let mut payload = Vec::new();
//! for value in [Value::from("connect"), Value::from(1), amf_object! { "app" => "live" }] {
//!     amf0::encode(&value, &mut payload)?;
//! }
//! let values = amf0::decode_all(&payload, &Limits::default())?;
//! assert_eq!(values[0].as_str(), Some("connect"));
//! assert_eq!(values[2].get("app").and_then(Value::as_str), Some("live"));
//! # Ok::<(), rtmp_proto::amf::AmfError>(())
//! ```
//!
//! # Decoding choices
//! - References (0x07, AMF0 §2.9) are resolved into the tree by decoding the referenced value
//!   again; what they expand into counts against `Limits::max_amf_decoded_size`, so a chain of
//!   objects that each refer twice to the previous one fails with a typed error instead of
//!   growing exponentially. A reference to an object that is still open (a cycle) fails with
//!   [`AmfError::CyclicReference`](crate::amf::AmfError::CyclicReference).
//! - The count of an ECMA array (AMF0 §2.10) is only a hint that peers get wrong (Flash Media
//!   Live Encoder writes 0): the array runs to its object-end marker. Some encoders (older lal
//!   releases, for one) omit that marker on the ECMA array that ends a data message, so a
//!   top-level ECMA array that runs into the very end of the input ends there. Nested ECMA
//!   arrays and objects (§2.5, §2.18) must be terminated; no peer we know of omits those.
//! - A property with an empty key is read as a property unless 0x09 follows the empty key.
//! - Each avmplus switch (0x11, AMF0 §3.1) carries exactly one AMF3 value and starts with
//!   empty AMF3 reference tables: the switch is not sticky (E-RTMP v2, "AMF3-encoded
//!   historical specification clarification"; RTMP errata §6.2 decodes one AMF3 value per
//!   marker), and a value written after a switch refers to nothing outside it. The encoder
//!   likewise gives every switched value fresh tables.

mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::{decode_all, Decoder};
pub use encode::encode;

/// AMF0 type markers (AMF0 §2.1).
pub(crate) mod marker {
    pub const NUMBER: u8 = 0x00;
    pub const BOOLEAN: u8 = 0x01;
    pub const STRING: u8 = 0x02;
    pub const OBJECT: u8 = 0x03;
    pub const MOVIECLIP: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const UNDEFINED: u8 = 0x06;
    pub const REFERENCE: u8 = 0x07;
    pub const ECMA_ARRAY: u8 = 0x08;
    pub const OBJECT_END: u8 = 0x09;
    pub const STRICT_ARRAY: u8 = 0x0A;
    pub const DATE: u8 = 0x0B;
    pub const LONG_STRING: u8 = 0x0C;
    pub const UNSUPPORTED: u8 = 0x0D;
    pub const RECORDSET: u8 = 0x0E;
    pub const XML_DOCUMENT: u8 = 0x0F;
    pub const TYPED_OBJECT: u8 = 0x10;
    pub const AVMPLUS: u8 = 0x11;
}
