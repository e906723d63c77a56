//! Chunk header layout shared by the decoder and the encoder (RTMP 1.0 §5.3.1).

/// Longest chunk header: a 3-byte basic header, an 11-byte type 0 message header and a 4-byte
/// extended timestamp (RTMP 1.0 §5.3.1).
pub(super) const MAX_HEADER_LEN: usize = 3 + 11 + 4;

/// Length of the message header of each format (RTMP 1.0 §5.3.1.2).
pub(super) const MESSAGE_HEADER_LEN: [usize; 4] = [11, 7, 3, 0];

/// The 24-bit timestamp field value that announces an extended timestamp (RTMP 1.0 §5.3.1.3).
pub(super) const EXTENDED_TIMESTAMP_MARKER: u32 = 0xFF_FFFF;

/// Reads a basic header (RTMP 1.0 §5.3.1.1): the format, the chunk stream id and the number of
/// bytes it took, or `None` if `buf` holds only part of it.
#[inline(always)]
pub(super) fn read_basic_header(buf: &[u8]) -> Option<(u8, u32, usize)> {
    let first = *buf.first()?;
    let fmt = first >> 6;
    match first & 0x3F {
        0 => {
            let low = *buf.get(1)?;
            Some((fmt, 64 + u32::from(low), 2))
        }
        1 => {
            let low = *buf.get(1)?;
            let high = *buf.get(2)?;
            // The errata confirm the 16-bit field is little-endian, as every implementation has it.
            Some((fmt, 64 + u32::from(low) + (u32::from(high) << 8), 3))
        }
        id => Some((fmt, u32::from(id), 1)),
    }
}

/// Writes the shortest basic header for `csid` (RTMP 1.0 §5.3.1.1) at the start of `buf` and
/// returns its length. `csid` must be in 2..=65599 (a [`ChunkStreamId`](super::ChunkStreamId)).
#[inline(always)]
pub(super) fn write_basic_header(buf: &mut [u8; MAX_HEADER_LEN], fmt: u8, csid: u32) -> usize {
    let fmt_bits = fmt << 6;
    if csid < 64 {
        buf[0] = fmt_bits | csid as u8;
        1
    } else if csid < 320 {
        buf[0] = fmt_bits;
        buf[1] = (csid - 64) as u8;
        2
    } else {
        let rest = csid - 64;
        buf[0] = fmt_bits | 1;
        buf[1] = rest as u8;
        buf[2] = (rest >> 8) as u8;
        3
    }
}

/// Reads a big-endian 24-bit field.
#[inline(always)]
pub(super) fn read_u24(bytes: [u8; 3]) -> u32 {
    (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_forms_round_trip() {
        for (csid, len) in [(2, 1), (63, 1), (64, 2), (319, 2), (320, 3), (65599, 3)] {
            let mut buf = [0u8; MAX_HEADER_LEN];
            assert_eq!(write_basic_header(&mut buf, 2, csid), len, "csid {csid}");
            assert_eq!(read_basic_header(&buf[..len]), Some((2, csid, len)));
            assert_eq!(read_basic_header(&buf[..len - 1]), None);
        }
    }

    #[test]
    fn three_byte_form_is_little_endian() {
        // csid 320 = 64 + 256: low byte 0, high byte 1.
        assert_eq!(read_basic_header(&[0x01, 0x00, 0x01]), Some((0, 320, 3)));
        assert_eq!(read_basic_header(&[0xC1, 0xFF, 0xFF]), Some((3, 65599, 3)));
    }

    #[test]
    fn u24_is_big_endian() {
        assert_eq!(read_u24([0x12, 0x34, 0x56]), 0x12_3456);
    }
}
