//! AMF0 (Action Message Format, version 0, 2007 spec).
//!
//! API skeleton: the bodies are being written; the signatures are fixed.

use crate::amf::{AmfError, Value};
use crate::Limits;
use alloc::vec::Vec;
use bytes::BufMut;

/// Appends the AMF0 encoding of `value` to `out` (AMF0 §2).
pub fn encode<B: BufMut>(value: &Value, out: &mut B) -> Result<(), AmfError> {
    let _ = (value, out);
    Err(AmfError::UnexpectedEof)
}

/// Decodes a sequence of AMF0 values, keeping the reference table across them (AMF0 §2.9).
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

/// Decodes every value in `input`.
pub fn decode_all(input: &[u8], limits: &Limits) -> Result<Vec<Value>, AmfError> {
    let mut decoder = Decoder::new(input, limits);
    let mut values = Vec::new();
    while !decoder.is_empty() {
        values.push(decoder.decode()?);
    }
    Ok(values)
}
