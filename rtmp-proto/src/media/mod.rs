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
//! What a relay typically does with each video message:
//!
//! ```
//! use rtmp_proto::media::{MediaError, VideoInfo};
//!
//! /// Returns whether to forward the message to players.
//! fn on_video(payload: &[u8], sequence_header: &mut Option<Vec<u8>>, started: &mut bool) -> bool {
//!     match VideoInfo::parse(payload) {
//!         Ok(info) if info.is_sequence_header() => {
//!             *sequence_header = Some(payload.to_vec());
//!             true
//!         }
//!         // Players start on a key frame, after the cached sequence header.
//!         Ok(info) if info.is_keyframe() => {
//!             *started = true;
//!             true
//!         }
//!         Ok(_) | Err(MediaError::Empty) => *started,
//!         Err(_) => false, // malformed: drop it
//!     }
//! }
//!
//! let (mut header, mut started) = (None, false);
//! assert!(on_video(&[0x17, 0x00, 0, 0, 0, 0x01], &mut header, &mut started));
//! assert!(!on_video(&[0x27, 0x01, 0, 0, 0, 0xAA], &mut header, &mut started));
//! assert!(on_video(&[0x17, 0x01, 0, 0, 0, 0xBB], &mut header, &mut started));
//! assert!(header.is_some() && started);
//! ```
//!
//! # Empty payloads
//! RTMP allows zero-length audio and video messages: some servers send them, and Enhanced RTMP v2
//! (`AudioPacketType` notes) defines an empty audio message as "audio silence". They carry no
//! header to describe, so both parsers return [`MediaError::Empty`] for them; a relay should
//! forward them unchanged.

mod audio;
mod enhanced;
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
