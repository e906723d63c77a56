//! The FLV file format (Adobe FLV and F4V File Format Specification 10.1, Annex E), as far as RTMP
//! tools need it: reading the tags of an FLV file to publish them, and writing received media
//! into one. Tag bodies are exactly RTMP audio, video and data message payloads.
//!
//! Sans-IO like the rest of the crate: the reader takes bytes the caller has read, the writer
//! returns bytes for the caller to write.

use bytes::{Buf, Bytes, BytesMut};

/// The length of the FLV file header (signature, version, flags, header size; Annex E.2).
pub const FILE_HEADER_LEN: usize = 9;
/// The length of an FLV tag header (Annex E.4.1).
pub const TAG_HEADER_LEN: usize = 11;

/// FLV tag types (Annex E.4.1). They equal the RTMP message type ids of the same payloads.
pub mod tag_type {
    /// Audio.
    pub const AUDIO: u8 = 8;
    /// Video.
    pub const VIDEO: u8 = 9;
    /// Script data (AMF0), e.g. `onMetaData`.
    pub const SCRIPT_DATA: u8 = 18;
}

/// Errors reading FLV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlvError {
    /// The file does not start with the `FLV` signature.
    #[error("not an FLV file (bad signature)")]
    BadSignature,
    /// The header size field is smaller than the header itself.
    #[error("FLV header size {0} is smaller than 9")]
    BadHeaderSize(u32),
    /// A tag has the encryption filter bit set, which we cannot read.
    #[error("encrypted FLV tags are not supported")]
    Encrypted,
}

/// The flags of the FLV file header (Annex E.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileHeader {
    /// The file says it has audio tags.
    pub has_audio: bool,
    /// The file says it has video tags.
    pub has_video: bool,
}

impl FileHeader {
    /// The 9 header bytes followed by the first `PreviousTagSize0` (always 0).
    pub fn to_bytes(self) -> [u8; FILE_HEADER_LEN + 4] {
        let flags = (u8::from(self.has_audio) << 2) | u8::from(self.has_video);
        [b'F', b'L', b'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0]
    }
}

/// An FLV tag header (Annex E.4.1): the 11 bytes before each tag body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagHeader {
    /// The whole first byte: the tag type (see [`tag_type`]) in the low 5 bits, the filter bit
    /// and two reserved bits above. RTMP aggregate messages use all 8 bits as a message type id.
    pub tag_type: u8,
    /// Length of the tag body in bytes (24 bits).
    pub data_size: u32,
    /// Timestamp in milliseconds: 24 bits plus an upper extension byte.
    pub timestamp: u32,
    /// Stream id (24 bits; always 0 in files).
    pub stream_id: u32,
}

impl TagHeader {
    /// Whether the filter bit says the body is encrypted (Annex E.4.1), which we cannot read.
    pub fn is_filtered(&self) -> bool {
        self.tag_type & 0x20 != 0
    }

    /// Reads a tag header from its 11 bytes.
    pub fn parse(bytes: &[u8; TAG_HEADER_LEN]) -> TagHeader {
        let [tag_type, s0, s1, s2, t0, t1, t2, extended, i0, i1, i2] = *bytes;
        TagHeader {
            tag_type,
            data_size: u32::from_be_bytes([0, s0, s1, s2]),
            // The fourth byte extends the timestamp upwards (Annex E.4.1, TimestampExtended).
            timestamp: u32::from_be_bytes([extended, t0, t1, t2]),
            stream_id: u32::from_be_bytes([0, i0, i1, i2]),
        }
    }

    /// The 11 bytes of this header. Sizes and stream ids above 24 bits are truncated to 24 bits.
    pub fn to_bytes(self) -> [u8; TAG_HEADER_LEN] {
        let [_, s1, s2, s3] = self.data_size.to_be_bytes();
        let [t0, t1, t2, t3] = self.timestamp.to_be_bytes();
        let [_, i1, i2, i3] = self.stream_id.to_be_bytes();
        [self.tag_type, s1, s2, s3, t1, t2, t3, t0, i1, i2, i3]
    }
}

/// One FLV tag: a type, a timestamp and a body that is an RTMP message payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The tag type: see [`tag_type`].
    pub tag_type: u8,
    /// Timestamp in milliseconds.
    pub timestamp: u32,
    /// The tag body.
    pub data: Bytes,
}

impl Tag {
    /// The bytes that precede the body (the tag header) and follow it (`PreviousTagSize`), so a
    /// writer can send header, body and trailer without copying the body.
    pub fn framing(&self) -> ([u8; TAG_HEADER_LEN], [u8; 4]) {
        let header = TagHeader {
            tag_type: self.tag_type & 0x1F,
            data_size: self.data.len() as u32,
            timestamp: self.timestamp,
            stream_id: 0,
        };
        let previous_tag_size = (TAG_HEADER_LEN + self.data.len()) as u32;
        (header.to_bytes(), previous_tag_size.to_be_bytes())
    }

    /// Appends the whole tag (header, body, `PreviousTagSize`) to `out`.
    pub fn write_to(&self, out: &mut BytesMut) {
        let (header, trailer) = self.framing();
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&trailer);
    }
}

/// An incremental FLV reader: the caller appends what it reads to a buffer and asks for tags.
///
/// ```
/// use bytes::BytesMut;
/// use rtmp_proto::flv::{FileHeader, FlvReader, Tag};
///
/// let mut file = BytesMut::new();
/// file.extend_from_slice(&FileHeader { has_audio: true, has_video: false }.to_bytes());
/// Tag { tag_type: 8, timestamp: 40, data: vec![0xAF, 1, 2].into() }.write_to(&mut file);
///
/// let mut reader = FlvReader::new();
/// let tag = reader.read_tag(&mut file).unwrap().unwrap();
/// assert_eq!((tag.tag_type, tag.timestamp, &tag.data[..]), (8, 40, &[0xAF, 1, 2][..]));
/// assert_eq!(reader.header(), Some(FileHeader { has_audio: true, has_video: false }));
/// assert!(reader.read_tag(&mut file).unwrap().is_none());
/// ```
#[derive(Debug, Default)]
pub struct FlvReader {
    header: Option<FileHeader>,
    /// Bytes of the file header's padding and `PreviousTagSize0` still to skip.
    to_skip: usize,
}

impl FlvReader {
    /// A reader at the start of a file.
    pub fn new() -> Self {
        Self::default()
    }

    /// The file header, once it has been read.
    pub fn header(&self) -> Option<FileHeader> {
        self.header
    }

    /// Takes the next whole tag from the front of `buf`, or returns `Ok(None)` and leaves the
    /// incomplete rest in `buf` for the caller to extend. Tag bodies are split off `buf` without
    /// copying. Each body is at most 16 MiB (a 24-bit size), so a caller's buffer stays bounded.
    pub fn read_tag(&mut self, buf: &mut BytesMut) -> Result<Option<Tag>, FlvError> {
        if self.header.is_none() {
            let Some(&[f, l, v, _version, flags, h0, h1, h2, h3]) =
                buf.first_chunk::<FILE_HEADER_LEN>()
            else {
                return Ok(None);
            };
            if [f, l, v] != *b"FLV" {
                return Err(FlvError::BadSignature);
            }
            let header_size = u32::from_be_bytes([h0, h1, h2, h3]);
            if header_size < FILE_HEADER_LEN as u32 {
                return Err(FlvError::BadHeaderSize(header_size));
            }
            self.header = Some(FileHeader {
                has_audio: flags & 0x04 != 0,
                has_video: flags & 0x01 != 0,
            });
            buf.advance(FILE_HEADER_LEN);
            self.to_skip = (header_size as usize - FILE_HEADER_LEN).saturating_add(4);
        }
        if self.to_skip > 0 {
            let skipped = self.to_skip.min(buf.len());
            buf.advance(skipped);
            self.to_skip -= skipped;
            if self.to_skip > 0 {
                return Ok(None);
            }
        }
        let Some(header_bytes) = buf.get(..TAG_HEADER_LEN) else {
            return Ok(None);
        };
        let mut fixed = [0u8; TAG_HEADER_LEN];
        fixed.copy_from_slice(header_bytes);
        let header = TagHeader::parse(&fixed);
        if header.is_filtered() {
            return Err(FlvError::Encrypted);
        }
        let body_len = header.data_size as usize;
        if buf.len() < TAG_HEADER_LEN + body_len + 4 {
            return Ok(None);
        }
        buf.advance(TAG_HEADER_LEN);
        let data = buf.split_to(body_len).freeze();
        buf.advance(4);
        Ok(Some(Tag {
            tag_type: header.tag_type & 0x1F,
            timestamp: header.timestamp,
            data,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn sample_file() -> BytesMut {
        let mut file = BytesMut::new();
        file.extend_from_slice(
            &FileHeader {
                has_audio: true,
                has_video: true,
            }
            .to_bytes(),
        );
        for (i, len) in [0usize, 1, 300, 70_000].into_iter().enumerate() {
            Tag {
                tag_type: if i % 2 == 0 { 9 } else { 8 },
                timestamp: 0x0123_4567 + i as u32,
                data: (0..len).map(|b| b as u8).collect::<Vec<u8>>().into(),
            }
            .write_to(&mut file);
        }
        file
    }

    #[test]
    fn tag_header_layout_matches_annex_e() {
        let header = TagHeader {
            tag_type: 9,
            data_size: 0x0A0B0C,
            timestamp: 0x1122_3344,
            stream_id: 0,
        };
        let bytes = header.to_bytes();
        assert_eq!(
            bytes,
            [9, 0x0A, 0x0B, 0x0C, 0x22, 0x33, 0x44, 0x11, 0, 0, 0]
        );
        assert_eq!(TagHeader::parse(&bytes), header);
    }

    #[test]
    fn reads_every_tag_whatever_the_read_sizes() {
        let file = sample_file().freeze();
        let mut whole = BytesMut::from(&file[..]);
        let mut reader = FlvReader::new();
        let mut expected = Vec::new();
        while let Some(tag) = reader.read_tag(&mut whole).unwrap() {
            expected.push(tag);
        }
        assert_eq!(expected.len(), 4);
        assert!(whole.is_empty());
        for step in [1, 7, 4096] {
            let mut reader = FlvReader::new();
            let mut buf = BytesMut::new();
            let mut tags = Vec::new();
            for piece in file.chunks(step) {
                buf.extend_from_slice(piece);
                while let Some(tag) = reader.read_tag(&mut buf).unwrap() {
                    tags.push(tag);
                }
            }
            assert_eq!(tags, expected, "read size {step}");
        }
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        let mut not_flv = BytesMut::from(&b"FLX\x01\x05\x00\x00\x00\x09"[..]);
        assert_eq!(
            FlvReader::new().read_tag(&mut not_flv),
            Err(FlvError::BadSignature)
        );
        let mut encrypted = BytesMut::from(&FileHeader::default().to_bytes()[..]);
        encrypted.extend_from_slice(&[0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);
        assert_eq!(
            FlvReader::new().read_tag(&mut encrypted),
            Err(FlvError::Encrypted)
        );
    }

    proptest::proptest! {
        #![proptest_config(crate::test_support::proptest_config!("flv"))]

        #[test]
        fn tags_round_trip_at_any_read_size(
            tags in proptest::collection::vec(
                (proptest::sample::select(&[8u8, 9, 18][..]), proptest::num::u32::ANY,
                 proptest::collection::vec(proptest::num::u8::ANY, 0..2000)),
                0..20),
            read_size in 1usize..5000,
        ) {
            let tags: Vec<Tag> = tags
                .into_iter()
                .map(|(tag_type, timestamp, data)| Tag { tag_type, timestamp, data: data.into() })
                .collect();
            let mut file = BytesMut::from(&FileHeader { has_audio: true, has_video: true }.to_bytes()[..]);
            for tag in &tags {
                tag.write_to(&mut file);
            }
            let mut reader = FlvReader::new();
            let mut buf = BytesMut::new();
            let mut read = Vec::new();
            for piece in file.chunks(read_size) {
                buf.extend_from_slice(piece);
                while let Some(tag) = reader.read_tag(&mut buf).unwrap() {
                    read.push(tag);
                }
            }
            proptest::prop_assert_eq!(read, tags);
            proptest::prop_assert!(buf.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4000)) {
            let mut buf = BytesMut::from(&bytes[..]);
            let mut reader = FlvReader::new();
            while let Ok(Some(_)) = reader.read_tag(&mut buf) {}
        }
    }
}
