//! What audio and video message payloads say about themselves: codec, key frame, sequence
//! header, tracks. Covers the legacy FLV tag headers (FLV spec v10.1 Annex E.4.2 `AudioTagHeader`,
//! E.4.3 `VideoTagHeader`) and Enhanced RTMP v1/v2 (`ExAudioTagHeader`, `ExVideoTagHeader`,
//! FourCC codecs, ModEx, multitrack).
//!
//! The payload of an RTMP audio (type 8) or video (type 9) message is exactly an FLV `AUDIODATA`
//! or `VIDEODATA` tag body, so the same parsers read FLV files and live streams.
//!
//! Parsing never copies the media data: [`VideoInfo::parse`] and [`AudioInfo::parse`] return the
//! byte range of each track's body inside the payload, so a relay can cache sequence headers,
//! start players on a key frame, or split and filter tracks by slicing the payload it already
//! holds. The only allocation is for messages with more than one track (at most
//! [`MAX_TRACKS`] entries).
//!
//! The same types, with the bodies given as bytes instead of ranges, build payloads:
//!
//! ```
//! use rtmp_proto::media::{VideoCodec, VideoFrameType, VideoInfo, VideoPacketType};
//!
//! let hvcc = [0x01u8, 0x01, 0x60]; // the start of an HEVCDecoderConfigurationRecord
//! let header = VideoInfo::enhanced(
//!     VideoFrameType::KeyFrame, VideoCodec::Hevc, VideoPacketType::SequenceStart, 0, &hvcc[..]);
//! let payload = header.to_bytes().unwrap();
//! assert_eq!(&payload[..5], b"\x90hvc1");
//!
//! let info = VideoInfo::parse(&payload).unwrap();
//! assert!(info.is_sequence_header());
//! assert_eq!(info.codec(), Some(VideoCodec::Hevc));
//! assert_eq!(info.with_bodies(&payload), header);
//! ```
//!
//! # Empty payloads
//! RTMP allows zero-length audio and video messages: some servers send them, and Enhanced RTMP v2
//! (`AudioPacketType` notes) defines an empty audio message as "audio silence". They carry no
//! header to describe, so both parsers return [`MediaError::Empty`] for them; a relay should
//! forward them unchanged.

mod audio;
mod fourcc;
mod reader;
mod tracks;
mod video;

#[cfg(test)]
mod tests;

pub use audio::{
    AudioCodec, AudioInfo, AudioPacketType, AudioTrack, ChannelLayout, MultichannelConfig,
    SoundParams, SoundRate, SoundSize, SoundType,
};
pub use fourcc::FourCc;
pub use tracks::{MultitrackType, Tracks, MAX_TRACKS};
pub use video::{
    VideoCodec, VideoCommand, VideoContent, VideoFrameType, VideoInfo, VideoPacketType, VideoTrack,
};

/// Errors reading or building an audio or video message payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The payload is empty: legal in RTMP (see the [module documentation](self)), but there is
    /// no header to read.
    #[error("empty media payload")]
    Empty,
    /// The payload ends inside a header field, or a track size points past its end.
    #[error("media payload truncated in {field}")]
    Truncated {
        /// The field that was cut short.
        field: &'static str,
    },
    /// The frame type is one of the reserved values (0, 6, 7) where a frame type matters
    /// (FLV spec Annex E.4.3.1; Enhanced RTMP v2, `VideoFrameType`).
    #[error("reserved video frame type {0}")]
    ReservedFrameType(u8),
    /// A packet type the specs do not define: `AVCPacketType` or `AACPacketType` above 2 or 1,
    /// or a reserved `VideoPacketType` / `AudioPacketType`.
    #[error("unknown media packet type {0}")]
    UnknownPacketType(u8),
    /// A multitrack message's per-track packet type is `Multitrack` or `ModEx`, which Enhanced
    /// RTMP v2 forbids there.
    #[error("packet type {0} is not allowed inside a multitrack message")]
    InvalidTrackPacketType(u8),
    /// A reserved `AvMultitrackType` (Enhanced RTMP v2).
    #[error("unknown multitrack type {0}")]
    UnknownMultitrackType(u8),
    /// More than [`MAX_TRACKS`] tracks in one message.
    #[error("more than {MAX_TRACKS} tracks in one media message")]
    TooManyTracks,
    /// A `TimestampOffsetNano` ModEx whose data is shorter than the 3 bytes Enhanced RTMP v2
    /// requires.
    #[error("TimestampOffsetNano ModEx data of {0} bytes, at least 3 needed")]
    TimestampOffsetNanoTooShort(usize),
    /// A reserved `AudioChannelOrder` in a `MultichannelConfig` packet (Enhanced RTMP v2).
    #[error("unknown audio channel order {0}")]
    UnknownChannelOrder(u8),
    /// A builder was given a combination the wire format cannot express (the reason says which);
    /// nothing was written.
    #[error("cannot encode media header: {0}")]
    Unencodable(&'static str),
}

/// `ModEx` as a packet type, the same value for audio and video (Enhanced RTMP v2,
/// `AudioPacketType.ModEx` and `VideoPacketType.ModEx`).
const PACKET_TYPE_MOD_EX: u8 = 7;
/// `TimestampOffsetNano`, the only ModEx type defined (Enhanced RTMP v2,
/// `AudioPacketModExType` and `VideoPacketModExType`).
const MOD_EX_TIMESTAMP_OFFSET_NANO: u8 = 0;
/// The largest value a 24-bit field holds.
const MAX_U24: u32 = 0x00FF_FFFF;

/// Follows a chain of ModEx entries (Enhanced RTMP v2, `ExVideoTagHeader` / `ExAudioTagHeader`:
/// "Process each ModEx data packet") starting from `packet_type`, and returns the packet type that
/// ends the chain. A `TimestampOffsetNano` entry sets `nanos` (the last one wins); ModEx types
/// this crate does not know are skipped, which their size field makes safe.
fn read_mod_ex(
    reader: &mut reader::Reader<'_>,
    mut packet_type: u8,
    nanos: &mut Option<u32>,
) -> Result<u8, MediaError> {
    while packet_type == PACKET_TYPE_MOD_EX {
        let mut size = usize::from(reader.u8("ModEx data size")?) + 1;
        if size == 256 {
            size = usize::from(reader.u16("ModEx extended data size")?) + 1;
        }
        let data = reader.bytes(size, "ModEx data")?;
        let types = reader.u8("ModEx type")?;
        packet_type = types & 0x0F;
        if types >> 4 == MOD_EX_TIMESTAMP_OFFSET_NANO {
            let Some(&[a, b, c]) = data.get(..3) else {
                return Err(MediaError::TimestampOffsetNanoTooShort(data.len()));
            };
            *nanos = Some(u32::from_be_bytes([0, a, b, c]));
        }
    }
    Ok(packet_type)
}

/// Writes one `TimestampOffsetNano` ModEx entry whose chain continues with `next_packet_type`.
/// The caller has already written `ModEx` as the packet type of the byte before.
fn write_mod_ex_nanos(
    out: &mut bytes::BytesMut,
    nanos: u32,
    next_packet_type: u8,
) -> Result<(), MediaError> {
    use bytes::BufMut;
    if nanos > MAX_U24 {
        return Err(MediaError::Unencodable("TimestampOffsetNano above 24 bits"));
    }
    let [_, a, b, c] = nanos.to_be_bytes();
    // The size byte holds the data length minus one.
    out.put_slice(&[2, a, b, c]);
    out.put_u8((MOD_EX_TIMESTAMP_OFFSET_NANO << 4) | (next_packet_type & 0x0F));
    Ok(())
}

/// Writes a 24-bit big-endian length, failing for lengths that do not fit.
fn put_u24(out: &mut bytes::BytesMut, value: usize, what: &'static str) -> Result<(), MediaError> {
    use bytes::BufMut;
    let value = u32::try_from(value)
        .ok()
        .filter(|v| *v <= MAX_U24)
        .ok_or(MediaError::Unencodable(what))?;
    let [_, a, b, c] = value.to_be_bytes();
    out.put_slice(&[a, b, c]);
    Ok(())
}
