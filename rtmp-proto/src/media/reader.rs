//! A bounds-checked cursor over a payload that reports positions relative to the whole payload,
//! so the ranges it hands out index the caller's buffer directly.

use core::ops::Range;

use super::{FourCc, MediaError};

#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    payload: &'a [u8],
    position: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(payload: &'a [u8]) -> Self {
        Reader {
            payload,
            position: 0,
            end: payload.len(),
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.end.saturating_sub(self.position)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Takes the next `len` bytes.
    pub(crate) fn bytes(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], MediaError> {
        let range = self.range(len, field)?;
        self.payload
            .get(range)
            .ok_or(MediaError::Truncated { field })
    }

    /// Takes the next `len` bytes and returns where they are in the payload.
    pub(crate) fn range(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<Range<usize>, MediaError> {
        if len > self.remaining() {
            return Err(MediaError::Truncated { field });
        }
        let start = self.position;
        // Cannot overflow: `len <= end - position` and `end <= payload.len()`.
        self.position = start + len;
        Ok(start..self.position)
    }

    /// Takes the next `len` bytes as a reader of their own.
    pub(crate) fn split(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<Reader<'a>, MediaError> {
        let range = self.range(len, field)?;
        Ok(Reader {
            payload: self.payload,
            position: range.start,
            end: range.end,
        })
    }

    /// Takes everything left.
    pub(crate) fn rest(&mut self) -> Range<usize> {
        let start = self.position.min(self.end);
        self.position = self.end;
        start..self.end
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], MediaError> {
        let bytes = self.bytes(N, field)?;
        <[u8; N]>::try_from(bytes).map_err(|_| MediaError::Truncated { field })
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, MediaError> {
        let [byte] = self.array(field)?;
        Ok(byte)
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, MediaError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u24(&mut self, field: &'static str) -> Result<u32, MediaError> {
        let [a, b, c] = self.array(field)?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// A signed 24-bit integer (`SI24`), sign-extended.
    pub(crate) fn si24(&mut self, field: &'static str) -> Result<i32, MediaError> {
        let [a, b, c] = self.array(field)?;
        // Place the 24 bits at the top of an i32, then an arithmetic shift extends the sign.
        Ok(i32::from_be_bytes([a, b, c, 0]) >> 8)
    }

    pub(crate) fn fourcc(&mut self, field: &'static str) -> Result<FourCc, MediaError> {
        Ok(FourCc(self.array(field)?))
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
        let payload = [0u8; 10];
        let mut reader = Reader::new(&payload);
        assert_eq!(reader.range(2, "head"), Ok(0..2));
        let mut inner = reader.split(5, "inner").unwrap();
        assert_eq!(reader.remaining(), 3);
        assert_eq!(inner.range(1, "x"), Ok(2..3));
        assert_eq!(inner.rest(), 3..7);
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
