//! Byte-level plumbing shared by the AMF0 and AMF3 codecs: what running out of input means to
//! them, the decoding allowance (depth, string length, decoded size) and a panic-free writer.

use super::{AmfError, Value, MAX_ENCODE_DEPTH};
use crate::wire::EndOfInput;
use crate::Limits;
use bytes::BufMut;

impl From<EndOfInput> for AmfError {
    fn from(_: EndOfInput) -> Self {
        AmfError::UnexpectedEof
    }
}

/// What decoding one message may still spend: nesting depth, string length and, above all,
/// decoded size, which bounds the expansion of references.
pub(crate) struct Allowance {
    size_left: usize,
    max_size: usize,
    max_depth: usize,
    max_string_len: usize,
}

/// What each value node costs against `Limits::max_amf_decoded_size`.
pub(crate) const NODE_SIZE: usize = core::mem::size_of::<Value>();

impl Allowance {
    pub(crate) fn new(limits: &Limits) -> Self {
        Allowance {
            size_left: limits.max_amf_decoded_size,
            max_size: limits.max_amf_decoded_size,
            max_depth: limits.max_amf_depth,
            max_string_len: limits.max_amf_string_len,
        }
    }

    /// Spends `bytes` of the decoded-size allowance.
    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), AmfError> {
        self.size_left = self
            .size_left
            .checked_sub(bytes)
            .ok_or(AmfError::DecodedSizeExceeded { max: self.max_size })?;
        Ok(())
    }

    /// Spends `count * item_size` bytes.
    pub(crate) fn charge_items(&mut self, count: usize, item_size: usize) -> Result<(), AmfError> {
        let bytes = count
            .checked_mul(item_size)
            .ok_or(AmfError::DecodedSizeExceeded { max: self.max_size })?;
        self.charge(bytes)
    }

    /// Fails unless `count` more value nodes would fit, without spending anything: run before
    /// reserving room for them.
    pub(crate) fn ensure_nodes(&self, count: usize) -> Result<(), AmfError> {
        match count.checked_mul(NODE_SIZE) {
            Some(bytes) if bytes <= self.size_left => Ok(()),
            _ => Err(AmfError::DecodedSizeExceeded { max: self.max_size }),
        }
    }

    /// The depth of the children of a container found at `depth` (top-level values are at
    /// depth 0), or an error if that is deeper than the limit.
    pub(crate) fn enter(&self, depth: usize) -> Result<usize, AmfError> {
        let inner = depth.saturating_add(1);
        if inner > self.max_depth {
            return Err(AmfError::DepthExceeded {
                max: self.max_depth,
            });
        }
        Ok(inner)
    }

    pub(crate) fn check_string_len(&self, len: usize) -> Result<(), AmfError> {
        if len > self.max_string_len {
            return Err(AmfError::StringTooLong {
                len,
                max: self.max_string_len,
            });
        }
        Ok(())
    }
}

/// Validates UTF-8 (AMF0 §1.3, AMF3 §1.3.2).
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, AmfError> {
    core::str::from_utf8(bytes).map_err(|_| AmfError::InvalidUtf8)
}

/// A `BufMut` wrapper whose writes fail with `OutputFull` instead of panicking when a
/// fixed-size buffer runs out.
pub(crate) struct Sink<'b, B: BufMut> {
    out: &'b mut B,
}

impl<'b, B: BufMut> Sink<'b, B> {
    pub(crate) fn new(out: &'b mut B) -> Self {
        Sink { out }
    }

    fn room(&self, len: usize) -> Result<(), AmfError> {
        if self.out.remaining_mut() < len {
            return Err(AmfError::OutputFull);
        }
        Ok(())
    }

    pub(crate) fn put_slice(&mut self, bytes: &[u8]) -> Result<(), AmfError> {
        self.room(bytes.len())?;
        self.out.put_slice(bytes);
        Ok(())
    }

    pub(crate) fn put_u8(&mut self, byte: u8) -> Result<(), AmfError> {
        self.put_slice(&[byte])
    }

    pub(crate) fn put_u16(&mut self, value: u16) -> Result<(), AmfError> {
        self.put_slice(&value.to_be_bytes())
    }

    pub(crate) fn put_i16(&mut self, value: i16) -> Result<(), AmfError> {
        self.put_slice(&value.to_be_bytes())
    }

    pub(crate) fn put_u32(&mut self, value: u32) -> Result<(), AmfError> {
        self.put_slice(&value.to_be_bytes())
    }

    pub(crate) fn put_i32(&mut self, value: i32) -> Result<(), AmfError> {
        self.put_slice(&value.to_be_bytes())
    }

    pub(crate) fn put_f64(&mut self, value: f64) -> Result<(), AmfError> {
        self.put_slice(&value.to_be_bytes())
    }
}

/// The depth of the children of a container being encoded at `depth`, bounded by
/// [`MAX_ENCODE_DEPTH`].
pub(crate) fn enter_encode(depth: usize) -> Result<usize, AmfError> {
    let inner = depth.saturating_add(1);
    if inner > MAX_ENCODE_DEPTH {
        return Err(AmfError::DepthExceeded {
            max: MAX_ENCODE_DEPTH,
        });
    }
    Ok(inner)
}
