//! The bounds-checked cursor every layer parses untrusted bytes with. Integers are big-endian,
//! the network byte order of RTMP 1.0 §4 and of the AMF and FLV formats.
//!
//! A read past the end fails with [`EndOfInput`] and consumes nothing; each layer turns that
//! into its own error (a `From` impl, or a `map_err` naming the field that was cut short).

/// The input ended before the value being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EndOfInput;

/// A cursor over a byte slice. No read can run past the end or overflow the position.
#[derive(Clone, Debug)]
pub(crate) struct ByteReader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        ByteReader { bytes, position: 0 }
    }

    /// How many bytes have been consumed.
    pub(crate) fn position(&self) -> usize {
        self.position
    }

    /// Moves the cursor to `position`, a value this reader returned from `position()` before.
    pub(crate) fn seek(&mut self, position: usize) {
        self.position = position;
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

    pub(crate) fn peek_u8(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    /// Takes the next `len` bytes.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], EndOfInput> {
        let end = self.position.checked_add(len).ok_or(EndOfInput)?;
        let taken = self.bytes.get(self.position..end).ok_or(EndOfInput)?;
        self.position = end;
        Ok(taken)
    }

    /// Takes every unread byte.
    pub(crate) fn take_rest(&mut self) -> &'a [u8] {
        let rest = self.rest();
        self.position = self.bytes.len();
        rest
    }

    pub(crate) fn skip(&mut self, len: usize) -> Result<(), EndOfInput> {
        self.take(len).map(|_| ())
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], EndOfInput> {
        self.take(N)?.try_into().map_err(|_| EndOfInput)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, EndOfInput> {
        self.array().map(|[byte]| byte)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, EndOfInput> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn i16(&mut self) -> Result<i16, EndOfInput> {
        self.array().map(i16::from_be_bytes)
    }

    pub(crate) fn u24(&mut self) -> Result<u32, EndOfInput> {
        self.array()
            .map(|[a, b, c]| u32::from_be_bytes([0, a, b, c]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, EndOfInput> {
        self.array().map(u32::from_be_bytes)
    }

    pub(crate) fn i32(&mut self) -> Result<i32, EndOfInput> {
        self.array().map(i32::from_be_bytes)
    }

    pub(crate) fn f64(&mut self) -> Result<f64, EndOfInput> {
        self.array().map(f64::from_be_bytes)
    }

    /// Fails unless `count` items of at least `min_item_size` bytes each fit in the rest of the
    /// input. Run before allocating anything a count field sizes.
    pub(crate) fn ensure_room(&self, count: usize, min_item_size: usize) -> Result<(), EndOfInput> {
        match count.checked_mul(min_item_size) {
            Some(needed) if needed <= self.remaining() => Ok(()),
            _ => Err(EndOfInput),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end_without_consuming() {
        let mut reader = ByteReader::new(&[1, 2, 3]);
        assert_eq!(reader.u32(), Err(EndOfInput));
        assert_eq!(reader.position(), 0);
        assert_eq!(reader.u16(), Ok(0x0102));
        assert_eq!(reader.peek_u8(), Some(3));
        assert_eq!(reader.u8(), Ok(3));
        assert!(reader.is_empty());
        assert_eq!(reader.peek_u8(), None);
        assert_eq!(reader.u8(), Err(EndOfInput));
        assert_eq!(reader.take(usize::MAX), Err(EndOfInput));
    }

    #[test]
    fn integers_are_big_endian() {
        let bytes = [
            0xFF, 0xFE, 0x01, 0x02, 0x03, 0xFF, 0xFF, 0xFF, 0xFE, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0,
        ];
        let mut reader = ByteReader::new(&bytes);
        assert_eq!(reader.i16(), Ok(-2));
        assert_eq!(reader.u24(), Ok(0x01_0203));
        assert_eq!(reader.i32(), Ok(-2));
        assert_eq!(reader.f64(), Ok(1.0));
        assert!(reader.is_empty());
    }

    #[test]
    fn seek_rest_and_room() {
        let mut reader = ByteReader::new(&[1, 2, 3, 4]);
        assert_eq!(reader.skip(1), Ok(()));
        assert_eq!(reader.rest(), &[2, 3, 4]);
        assert_eq!(reader.ensure_room(3, 1), Ok(()));
        assert_eq!(reader.ensure_room(2, 2), Err(EndOfInput));
        assert_eq!(reader.ensure_room(usize::MAX, 2), Err(EndOfInput));
        assert_eq!(reader.take(2), Ok(&[2, 3][..]));
        reader.seek(1);
        assert_eq!(reader.u8(), Ok(2));
        assert_eq!(reader.remaining(), 2);
        assert_eq!(reader.take_rest(), &[3, 4]);
        assert!(reader.is_empty());
        assert_eq!(reader.take_rest(), &[] as &[u8]);
    }
}
