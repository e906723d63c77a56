//! Bounds-checked big-endian reading (RTMP 1.0 §4: integers are in network byte order).

use super::MessageError;
use alloc::string::String;
use bytes::BufMut;

/// A cursor over a byte slice whose reads return `None` instead of running past the end.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.position
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.position..).unwrap_or_default()
    }

    pub(crate) fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(count)?;
        let taken = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(taken)
    }

    pub(crate) fn skip(&mut self, count: usize) -> Option<()> {
        self.take(count).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[byte]| byte)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn u24(&mut self) -> Option<u32> {
        self.array::<3>()
            .map(|[high, middle, low]| u32::from_be_bytes([0, high, middle, low]))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// A string with a 16-bit length and no type marker (the AMF0 "UTF-8" of AMF0 §1.3, used
    /// bare by shared object messages), or `Ok(None)` if the input ends first.
    pub(crate) fn short_string(&mut self) -> Result<Option<String>, MessageError> {
        let Some(length) = self.u16() else {
            return Ok(None);
        };
        let Some(bytes) = self.take(usize::from(length)) else {
            return Ok(None);
        };
        let text = core::str::from_utf8(bytes).map_err(|_| MessageError::InvalidUtf8)?;
        Ok(Some(String::from(text)))
    }
}

/// Appends a string with a 16-bit length and no type marker.
pub(crate) fn put_short_string(out: &mut impl BufMut, text: &str) -> Result<(), MessageError> {
    let length = u16::try_from(text.len()).map_err(|_| MessageError::StringTooLong(text.len()))?;
    out.put_u16(length);
    out.put_slice(text.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end_without_consuming() {
        let mut reader = Reader::new(&[1, 2, 3]);
        assert_eq!(reader.u32(), None);
        assert_eq!(reader.position(), 0);
        assert_eq!(reader.u24(), Some(0x010203));
        assert!(reader.is_empty());
        assert_eq!(reader.u8(), None);
        assert_eq!(reader.take(usize::MAX), None);
    }

    #[test]
    fn short_strings() {
        let mut reader = Reader::new(&[0, 2, b'h', b'i', 0, 5, b'x']);
        assert_eq!(reader.short_string(), Ok(Some(String::from("hi"))));
        assert_eq!(reader.short_string(), Ok(None));
        let mut reader = Reader::new(&[0, 1, 0xFF]);
        assert_eq!(reader.short_string(), Err(MessageError::InvalidUtf8));
        let mut out = alloc::vec::Vec::new();
        let long = "a".repeat(65536);
        assert_eq!(
            put_short_string(&mut out, &long),
            Err(MessageError::StringTooLong(65536))
        );
    }
}
