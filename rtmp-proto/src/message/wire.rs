//! The bare 16-bit-length strings of shared object messages.

use super::MessageError;
use crate::wire::ByteReader;
use alloc::string::String;
use bytes::BufMut;

/// A string with a 16-bit length and no type marker (the AMF0 "UTF-8" of AMF0 §1.3, used bare by
/// shared object messages), or `Ok(None)` if the input ends first.
pub(crate) fn read_short_string(
    reader: &mut ByteReader<'_>,
) -> Result<Option<String>, MessageError> {
    let Ok(length) = reader.u16() else {
        return Ok(None);
    };
    let Ok(bytes) = reader.take(usize::from(length)) else {
        return Ok(None);
    };
    let text = core::str::from_utf8(bytes).map_err(|_| MessageError::InvalidUtf8)?;
    Ok(Some(String::from(text)))
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
    fn short_strings() {
        let mut reader = ByteReader::new(&[0, 2, b'h', b'i', 0, 5, b'x']);
        assert_eq!(read_short_string(&mut reader), Ok(Some(String::from("hi"))));
        assert_eq!(read_short_string(&mut reader), Ok(None));
        let mut reader = ByteReader::new(&[0, 1, 0xFF]);
        assert_eq!(
            read_short_string(&mut reader),
            Err(MessageError::InvalidUtf8)
        );
        let mut out = alloc::vec::Vec::new();
        let long = "a".repeat(65536);
        assert_eq!(
            put_short_string(&mut out, &long),
            Err(MessageError::StringTooLong(65536))
        );
    }
}
