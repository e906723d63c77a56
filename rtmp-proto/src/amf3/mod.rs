//! AMF3 (Action Message Format, version 3, 2008 spec).
//!
//! API skeleton: the bodies are being written; the signatures are fixed.

use crate::amf::{AmfError, Value};
use crate::Limits;
use bytes::BufMut;

/// Encodes AMF3 values, keeping the string, object and trait reference tables across them
/// (AMF3 §2.2).
#[derive(Debug, Default)]
pub struct Encoder {}

impl Encoder {
    /// An encoder with empty reference tables.
    pub fn new() -> Self {
        Encoder {}
    }

    /// Appends the AMF3 encoding of `value` to `out`.
    pub fn encode<B: BufMut>(&mut self, value: &Value, out: &mut B) -> Result<(), AmfError> {
        let _ = (value, out);
        Err(AmfError::UnexpectedEof)
    }
}

/// Appends the AMF3 encoding of one value, with fresh reference tables, to `out`.
pub fn encode<B: BufMut>(value: &Value, out: &mut B) -> Result<(), AmfError> {
    Encoder::new().encode(value, out)
}

/// Decodes a sequence of AMF3 values, keeping the reference tables across them (AMF3 §2.2).
pub struct Decoder<'a> {
    input: &'a [u8],
    position: usize,
    limits: &'a Limits,
}

impl<'a> Decoder<'a> {
    /// A decoder over `input`, bounded by `limits`.
    pub fn new(input: &'a [u8], limits: &'a Limits) -> Self {
        Decoder {
            input,
            position: 0,
            limits,
        }
    }

    /// Decodes the next value.
    pub fn decode(&mut self) -> Result<Value, AmfError> {
        let _ = self.limits;
        Err(AmfError::UnexpectedEof)
    }

    /// Whether every input byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.position >= self.input.len()
    }

    /// How many input bytes have been consumed.
    pub fn position(&self) -> usize {
        self.position
    }
}
