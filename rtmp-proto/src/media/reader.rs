//! The crate's byte reader with the two things media parsing adds: truncation errors that name
//! the field cut short, and positions relative to the whole payload, so the ranges it hands out
//! index the caller's buffer directly.

use core::ops::Range;

use super::{FourCc, MediaError};
use crate::wire::{ByteReader, EndOfInput};

#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    bytes: ByteReader<'a>,
    /// Where `bytes` starts in the payload.
    origin: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(payload: &'a [u8]) -> Self {
        Reader {
            bytes: ByteReader::new(payload),
            origin: 0,
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.remaining()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Reads with `read`, naming `field` if the payload ends first.
    fn read<T>(
        &mut self,
        field: &'static str,
        read: impl FnOnce(&mut ByteReader<'a>) -> Result<T, EndOfInput>,
    ) -> Result<T, MediaError> {
        read(&mut self.bytes).map_err(|EndOfInput| MediaError::Truncated { field })
    }

    /// Takes the next `len` bytes.
    pub(crate) fn bytes(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], MediaError> {
        self.read(field, |bytes| bytes.take(len))
    }

    /// Takes the next `len` bytes as a reader of their own.
    pub(crate) fn split(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<Reader<'a>, MediaError> {
        let origin = self.absolute_position();
        Ok(Reader {
            bytes: ByteReader::new(self.bytes(len, field)?),
            origin,
        })
    }

    /// Takes everything left.
    pub(crate) fn rest(&mut self) -> Range<usize> {
        let start = self.absolute_position();
        self.bytes.take_rest();
        start..self.absolute_position()
    }

    fn absolute_position(&self) -> usize {
        // Cannot overflow: the sum is at most the payload's length.
        self.origin + self.bytes.position()
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, MediaError> {
        self.read(field, ByteReader::u8)
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, MediaError> {
        self.read(field, ByteReader::u16)
    }

    pub(crate) fn u24(&mut self, field: &'static str) -> Result<u32, MediaError> {
        self.read(field, ByteReader::u24)
    }

    /// A signed 24-bit integer (`SI24`), sign-extended.
    pub(crate) fn si24(&mut self, field: &'static str) -> Result<i32, MediaError> {
        let [a, b, c] = self.read(field, ByteReader::array)?;
        // Place the 24 bits at the top of an i32, then an arithmetic shift extends the sign.
        Ok(i32::from_be_bytes([a, b, c, 0]) >> 8)
    }

    pub(crate) fn fourcc(&mut self, field: &'static str) -> Result<FourCc, MediaError> {
        self.read(field, ByteReader::array).map(FourCc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_fields_and_sign_extends_si24() {
        let payload = [
            0x01, 0x02, 0x03, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0x80, 0x00, 0x00,
        ];
        let mut reader = Reader::new(&payload);
        assert_eq!(reader.u24("a"), Ok(0x010203));
        assert_eq!(reader.si24("b"), Ok(-1));
        assert_eq!(reader.si24("c"), Ok(0x7F_FFFF));
        assert_eq!(reader.si24("d"), Ok(-0x80_0000));
        assert!(reader.is_empty());
        assert_eq!(reader.u8("e"), Err(MediaError::Truncated { field: "e" }));
    }

    #[test]
    fn split_readers_report_absolute_ranges_and_stay_inside() {
        let payload: [u8; 10] = core::array::from_fn(|i| i as u8);
        let mut reader = Reader::new(&payload);
        assert_eq!(reader.bytes(2, "head"), Ok(&payload[0..2]));
        let mut inner = reader.split(5, "inner").unwrap();
        assert_eq!(reader.remaining(), 3);
        assert_eq!(inner.bytes(1, "x"), Ok(&payload[2..3]));
        assert_eq!(inner.rest(), 3..7);
        assert!(inner.is_empty());
        assert_eq!(
            inner.u8("past"),
            Err(MediaError::Truncated { field: "past" })
        );
        assert_eq!(
            reader.split(4, "too long").map(|_| ()),
            Err(MediaError::Truncated { field: "too long" })
        );
    }
}
