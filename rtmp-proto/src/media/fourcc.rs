//! Four-character codec codes.

use core::fmt;

/// A four-character code: four ASCII bytes sent as a big-endian `UI32` (Enhanced RTMP v2,
/// "Simple Data Types": `FOURCC`). Enhanced RTMP names codecs with them, e.g. `hvc1` or `Opus`.
///
/// Unknown codes are kept as they are, so a relay can forward codecs this crate does not know.
///
/// ```
/// use rtmp_proto::media::FourCc;
/// assert_eq!(FourCc::AV01.to_u32(), 0x6176_3031);
/// assert_eq!(FourCc::from_u32(0x4F70_7573), FourCc::OPUS);
/// assert_eq!(format!("{}", FourCc(*b"ac-4")), "ac-4");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourCc(pub [u8; 4]);

impl FourCc {
    /// AVC / H.264 (Enhanced RTMP v2, `VideoFourCc.Avc`).
    pub const AVC1: FourCc = FourCc(*b"avc1");
    /// HEVC / H.265 (Enhanced RTMP v2, `VideoFourCc.Hevc`).
    pub const HVC1: FourCc = FourCc(*b"hvc1");
    /// VP8 (Enhanced RTMP v2, `VideoFourCc.Vp8`).
    pub const VP08: FourCc = FourCc(*b"vp08");
    /// VP9 (Enhanced RTMP v2, `VideoFourCc.Vp9`).
    pub const VP09: FourCc = FourCc(*b"vp09");
    /// AV1 (Enhanced RTMP v2, `VideoFourCc.Av1`).
    pub const AV01: FourCc = FourCc(*b"av01");
    /// VVC / H.266: not in the published Enhanced RTMP v2 text yet, but in the spec's VVC draft
    /// and FFmpeg's VVC-in-FLV support.
    pub const VVC1: FourCc = FourCc(*b"vvc1");
    /// AC-3 (Enhanced RTMP v2, `AudioFourCc.Ac3`).
    pub const AC3: FourCc = FourCc(*b"ac-3");
    /// E-AC-3 (Enhanced RTMP v2, `AudioFourCc.Eac3`).
    pub const EAC3: FourCc = FourCc(*b"ec-3");
    /// Opus (Enhanced RTMP v2, `AudioFourCc.Opus`).
    pub const OPUS: FourCc = FourCc(*b"Opus");
    /// MP3 (Enhanced RTMP v2, `AudioFourCc.Mp3`).
    pub const MP3: FourCc = FourCc(*b".mp3");
    /// FLAC (Enhanced RTMP v2, `AudioFourCc.Flac`).
    pub const FLAC: FourCc = FourCc(*b"fLaC");
    /// AAC (Enhanced RTMP v2, `AudioFourCc.Aac`).
    pub const MP4A: FourCc = FourCc(*b"mp4a");

    /// The code from its big-endian `UI32` value, as `onMetaData`'s `videocodecid` and
    /// `audiocodecid` carry it (Enhanced RTMP v2, "Enhancing onMetaData").
    pub const fn from_u32(value: u32) -> FourCc {
        FourCc(value.to_be_bytes())
    }

    /// The big-endian `UI32` value of the code.
    pub const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
}

impl From<[u8; 4]> for FourCc {
    fn from(bytes: [u8; 4]) -> Self {
        FourCc(bytes)
    }
}

impl fmt::Display for FourCc {
    /// The four characters; bytes outside printable ASCII are written as `\xNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in &self.0 {
            if byte.is_ascii_graphic() || byte == b' ' {
                write!(f, "{}", char::from(byte))?;
            } else {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for FourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FourCc(\"{self}\")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn values_match_the_spec_examples() {
        // Enhanced RTMP v2, "Enhancing onMetaData": "av01" == 0x61763031, "Opus" == 0x4F707573.
        assert_eq!(FourCc::AV01.to_u32(), 1_635_135_537);
        assert_eq!(FourCc::OPUS.to_u32(), 0x4F70_7573);
        assert_eq!(FourCc::from_u32(FourCc::HVC1.to_u32()), FourCc::HVC1);
    }

    #[test]
    fn formats_unprintable_bytes_escaped() {
        assert_eq!(format!("{:?}", FourCc::EAC3), "FourCc(\"ec-3\")");
        assert_eq!(format!("{}", FourCc([0, b'a', 0xFF, b' '])), "\\x00a\\xff ");
    }
}
