//! Video message payloads: the legacy `VideoTagHeader` (FLV spec v10.1 Annex E.4.3) and the
//! enhanced one (Enhanced RTMP v2, "Enhanced Video": `ExVideoTagHeader`, `ExVideoTagBody`).

use core::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::enhanced::{
    put_first_byte_and_mod_ex, put_tracks, read_mod_ex, read_tracks, shared_packet_type,
    single_track, write_all_or_nothing, EnhancedTrack, PacketType,
};
use super::reader::Reader;
use super::{FourCc, MediaError, MultitrackType, Tracks};

/// Bit 7 of the first byte: `IsExVideoHeader` (Enhanced RTMP v2, `ExVideoTagHeader`).
const EX_HEADER_FLAG: u8 = 0x80;
/// The wire value of [`VideoFrameType::Command`].
const FRAME_TYPE_COMMAND: u8 = 5;
/// Legacy `CodecID` of AVC (FLV spec Annex E.4.3.1).
const LEGACY_AVC: u8 = 7;
/// Legacy `CodecID` 12, used for HEVC by Chinese CDNs (the CDN-Union extension of the FLV spec),
/// SRS and patched FFmpeg builds; not part of Adobe's spec. Its header is laid out like AVC's.
const LEGACY_HEVC: u8 = 12;
/// The range of a signed 24-bit composition time (`SI24`).
const SI24_RANGE: core::ops::RangeInclusive<i32> = -0x80_0000..=0x7F_FFFF;

/// The type of a video frame (FLV spec Annex E.4.3.1 `FrameType`; Enhanced RTMP v2,
/// `VideoFrameType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoFrameType {
    /// 1: a key frame (for AVC, a seekable frame).
    KeyFrame,
    /// 2: an inter frame (for AVC, a non-seekable frame).
    InterFrame,
    /// 3: a disposable inter frame (H.263 only).
    DisposableInterFrame,
    /// 4: a generated key frame (reserved for server use).
    GeneratedKeyFrame,
    /// 5: a video info / command frame: no video data, a [`VideoCommand`] instead (except for
    /// an enhanced `Metadata` packet, which ignores its frame type).
    Command,
    /// 0, 6 or 7: reserved. Only accepted on an enhanced `Metadata` packet, whose frame type the
    /// spec says to ignore.
    Reserved(u8),
}

impl VideoFrameType {
    /// The frame type from its 3-bit wire value.
    pub fn from_wire(value: u8) -> VideoFrameType {
        match value {
            1 => VideoFrameType::KeyFrame,
            2 => VideoFrameType::InterFrame,
            3 => VideoFrameType::DisposableInterFrame,
            4 => VideoFrameType::GeneratedKeyFrame,
            5 => VideoFrameType::Command,
            other => VideoFrameType::Reserved(other),
        }
    }

    /// The 3-bit wire value, or `None` for a [`VideoFrameType::Reserved`] value that is not one
    /// of the reserved 3-bit values (0, 6, 7).
    pub fn to_wire(self) -> Option<u8> {
        match self {
            VideoFrameType::KeyFrame => Some(1),
            VideoFrameType::InterFrame => Some(2),
            VideoFrameType::DisposableInterFrame => Some(3),
            VideoFrameType::GeneratedKeyFrame => Some(4),
            VideoFrameType::Command => Some(FRAME_TYPE_COMMAND),
            VideoFrameType::Reserved(value @ (0 | 6 | 7)) => Some(value),
            VideoFrameType::Reserved(_) => None,
        }
    }

    /// Whether a decoder can start here: a key frame or a generated key frame.
    pub fn is_key(self) -> bool {
        matches!(
            self,
            VideoFrameType::KeyFrame | VideoFrameType::GeneratedKeyFrame
        )
    }
}

/// The command of a video info / command frame (FLV spec Annex E.4.3.1 `VideoTagBody` for
/// `FrameType` 5; Enhanced RTMP v2, `VideoCommand`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoCommand {
    /// 0: start of a client-side seeking video frame sequence.
    StartSeek,
    /// 1: end of a client-side seeking video frame sequence.
    EndSeek,
    /// Any other value (reserved), kept as is.
    Reserved(u8),
}

impl VideoCommand {
    /// The command from its byte.
    pub fn from_wire(value: u8) -> VideoCommand {
        match value {
            0 => VideoCommand::StartSeek,
            1 => VideoCommand::EndSeek,
            other => VideoCommand::Reserved(other),
        }
    }

    /// The byte of the command.
    pub fn to_wire(self) -> u8 {
        match self {
            VideoCommand::StartSeek => 0,
            VideoCommand::EndSeek => 1,
            VideoCommand::Reserved(value) => value,
        }
    }
}

/// What a video packet carries (Enhanced RTMP v2, `VideoPacketType`). The legacy
/// `AVCPacketType` values (FLV spec Annex E.4.3.1) map onto the first three, which have the same
/// numbers: AVC sequence header, AVC NALU, AVC end of sequence.
///
/// `Multitrack` (6) and `ModEx` (7) frame other packets rather than being packets themselves;
/// they show as [`VideoInfo::multitrack_type`] and [`VideoInfo::timestamp_offset_nanos`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoPacketType {
    /// 0: a decoder configuration record (AVC: sequence header).
    SequenceStart,
    /// 1: coded frames (AVC: NALU), with a composition time for AVC, HEVC and VVC.
    CodedFrames,
    /// 2: end of sequence.
    SequenceEnd,
    /// 3: coded frames whose composition time is implicitly zero.
    CodedFramesX,
    /// 4: AMF-encoded metadata such as `colorInfo` (Enhanced RTMP v2, "Metadata Frame").
    Metadata,
    /// 5: an MPEG-2 TS video descriptor starting a sequence (exclusive with `SequenceStart`).
    Mpeg2TsSequenceStart,
}

impl VideoPacketType {
    /// The packet type from its 4-bit wire value; `None` for `Multitrack`, `ModEx` and the
    /// reserved values.
    pub fn from_wire(value: u8) -> Option<VideoPacketType> {
        match value {
            0 => Some(VideoPacketType::SequenceStart),
            1 => Some(VideoPacketType::CodedFrames),
            2 => Some(VideoPacketType::SequenceEnd),
            3 => Some(VideoPacketType::CodedFramesX),
            4 => Some(VideoPacketType::Metadata),
            5 => Some(VideoPacketType::Mpeg2TsSequenceStart),
            _ => None,
        }
    }

    /// The 4-bit wire value.
    pub fn to_wire(self) -> u8 {
        match self {
            VideoPacketType::SequenceStart => 0,
            VideoPacketType::CodedFrames => 1,
            VideoPacketType::SequenceEnd => 2,
            VideoPacketType::CodedFramesX => 3,
            VideoPacketType::Metadata => 4,
            VideoPacketType::Mpeg2TsSequenceStart => 5,
        }
    }

    /// Whether the packet starts a sequence: `SequenceStart` or `Mpeg2TsSequenceStart`.
    pub fn is_sequence_start(self) -> bool {
        matches!(
            self,
            VideoPacketType::SequenceStart | VideoPacketType::Mpeg2TsSequenceStart
        )
    }

    /// Whether the packet carries coded frames: `CodedFrames` or `CodedFramesX`.
    pub fn is_coded_frames(self) -> bool {
        matches!(
            self,
            VideoPacketType::CodedFrames | VideoPacketType::CodedFramesX
        )
    }
}

impl PacketType for VideoPacketType {
    /// `VideoPacketType.Multitrack` (Enhanced RTMP v2).
    const MULTITRACK: u8 = 6;

    fn from_wire(value: u8) -> Option<Self> {
        VideoPacketType::from_wire(value)
    }

    fn to_wire(self) -> u8 {
        VideoPacketType::to_wire(self)
    }
}

/// A video codec, whether named by a legacy `CodecID` (FLV spec Annex E.4.3.1) or by a FourCC
/// (Enhanced RTMP v2, `VideoFourCc`). AVC and HEVC can be signalled either way; the
/// [`VideoInfo::enhanced`] flag says which was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoCodec {
    /// Legacy id 2: Sorenson H.263.
    SorensonH263,
    /// Legacy id 3: Screen video.
    ScreenVideo,
    /// Legacy id 4: On2 VP6.
    Vp6,
    /// Legacy id 5: On2 VP6 with alpha channel.
    Vp6Alpha,
    /// Legacy id 6: Screen video version 2.
    ScreenVideoV2,
    /// Legacy id 7 or FourCC `avc1`: AVC / H.264.
    Avc,
    /// FourCC `hvc1`, or the de facto legacy id 12 (CDN-Union extension, SRS, patched FFmpeg;
    /// not in Adobe's spec nor upstream FFmpeg): HEVC / H.265.
    Hevc,
    /// FourCC `vp08`: VP8.
    Vp8,
    /// FourCC `vp09`: VP9.
    Vp9,
    /// FourCC `av01`: AV1.
    Av1,
    /// FourCC `vvc1`: VVC / H.266 (Enhanced RTMP VVC draft).
    Vvc,
    /// A legacy id with no codec above: 0, 1 and 8 to 15 except 12 (reserved in the FLV spec;
    /// some forks use 13 to 15 for AV1, VP8 or VP9, inconsistently). Frames pass through; their
    /// header is the first byte only.
    UnknownLegacy(u8),
    /// A FourCC with no codec above, kept so a relay can forward it.
    UnknownFourCc(FourCc),
}

impl VideoCodec {
    /// The codec of a legacy 4-bit `CodecID`.
    pub fn from_legacy_id(id: u8) -> VideoCodec {
        match id {
            2 => VideoCodec::SorensonH263,
            3 => VideoCodec::ScreenVideo,
            4 => VideoCodec::Vp6,
            5 => VideoCodec::Vp6Alpha,
            6 => VideoCodec::ScreenVideoV2,
            LEGACY_AVC => VideoCodec::Avc,
            LEGACY_HEVC => VideoCodec::Hevc,
            other => VideoCodec::UnknownLegacy(other),
        }
    }

    /// The legacy 4-bit `CodecID`, if the codec has one.
    pub fn legacy_id(self) -> Option<u8> {
        match self {
            VideoCodec::SorensonH263 => Some(2),
            VideoCodec::ScreenVideo => Some(3),
            VideoCodec::Vp6 => Some(4),
            VideoCodec::Vp6Alpha => Some(5),
            VideoCodec::ScreenVideoV2 => Some(6),
            VideoCodec::Avc => Some(LEGACY_AVC),
            VideoCodec::Hevc => Some(LEGACY_HEVC),
            VideoCodec::UnknownLegacy(id)
                if id <= 0x0F && VideoCodec::from_legacy_id(id) == self =>
            {
                Some(id)
            }
            _ => None,
        }
    }

    /// The codec of a FourCC.
    pub fn from_fourcc(fourcc: FourCc) -> VideoCodec {
        match fourcc {
            FourCc::AVC1 => VideoCodec::Avc,
            FourCc::HVC1 => VideoCodec::Hevc,
            FourCc::VP08 => VideoCodec::Vp8,
            FourCc::VP09 => VideoCodec::Vp9,
            FourCc::AV01 => VideoCodec::Av1,
            FourCc::VVC1 => VideoCodec::Vvc,
            other => VideoCodec::UnknownFourCc(other),
        }
    }

    /// The FourCC, if the codec has one.
    pub fn fourcc(self) -> Option<FourCc> {
        match self {
            VideoCodec::Avc => Some(FourCc::AVC1),
            VideoCodec::Hevc => Some(FourCc::HVC1),
            VideoCodec::Vp8 => Some(FourCc::VP08),
            VideoCodec::Vp9 => Some(FourCc::VP09),
            VideoCodec::Av1 => Some(FourCc::AV01),
            VideoCodec::Vvc => Some(FourCc::VVC1),
            VideoCodec::UnknownFourCc(fourcc) if VideoCodec::from_fourcc(fourcc) == self => {
                Some(fourcc)
            }
            _ => None,
        }
    }

    /// Whether a legacy header for this codec carries a packet type and a composition time
    /// (AVC, FLV spec Annex E.4.3.1; HEVC under legacy id 12, by the same layout).
    fn legacy_has_packet_type(self) -> bool {
        matches!(self, VideoCodec::Avc | VideoCodec::Hevc)
    }

    /// Whether an enhanced `CodedFrames` packet of this codec starts with an `SI24` composition
    /// time (Enhanced RTMP v2, `ExVideoTagBody`: AVC and HEVC). VVC is assumed to follow HEVC.
    fn enhanced_has_composition_time(self) -> bool {
        matches!(self, VideoCodec::Avc | VideoCodec::Hevc | VideoCodec::Vvc)
    }
}

/// One track of a video message.
///
/// `B` is the body: a `Range<usize>` into the payload when parsed, bytes (`&[u8]`, `Bytes`,
/// `Vec<u8>`...) when building.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoTrack<B = Range<usize>> {
    /// The track id (`videoTrackId`, Enhanced RTMP v2 multitrack); 0 outside multitrack messages.
    pub track_id: u8,
    /// The codec.
    pub codec: VideoCodec,
    /// The packet type; `None` for legacy codecs that have none (all but AVC and HEVC).
    pub packet_type: Option<VideoPacketType>,
    /// The composition time offset in milliseconds (`SI24`), present for legacy AVC/HEVC and
    /// enhanced `CodedFrames` of AVC/HEVC/VVC; 0 elsewhere. The FLV spec wants it 0 except on
    /// NALU packets, but a legacy header always has the field and it is reported as sent.
    pub composition_time: i32,
    /// The codec data after the header (decoder configuration record, NAL units, OBUs, AMF
    /// metadata...).
    pub body: B,
}

impl<B> VideoTrack<B> {
    /// A track with the given id, codec, packet type, composition time (0 where the packet has
    /// none) and body.
    pub fn new(
        track_id: u8,
        codec: VideoCodec,
        packet_type: VideoPacketType,
        composition_time: i32,
        body: B,
    ) -> Self {
        VideoTrack {
            track_id,
            codec,
            packet_type: Some(packet_type),
            composition_time,
            body,
        }
    }
}

impl VideoTrack<Range<usize>> {
    /// The body's bytes inside `payload`, the payload this track was parsed from (empty if
    /// `payload` is too short, i.e. is not that payload).
    pub fn body_in<'p>(&self, payload: &'p [u8]) -> &'p [u8] {
        payload.get(self.body.clone()).unwrap_or_default()
    }
}

/// What follows the first byte(s) of a video message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VideoContent<B = Range<usize>> {
    /// A video info / command frame (frame type 5 outside a `Metadata` packet): a command byte,
    /// no video data.
    Command {
        /// The legacy `CodecID` nibble of a legacy header; `None` for an enhanced one, which
        /// sends no FourCC before the command.
        codec: Option<VideoCodec>,
        /// The command.
        command: VideoCommand,
    },
    /// Video data, sequence headers or metadata, in one or more tracks.
    Media {
        /// `None` for a single-track message; otherwise how the tracks are laid out.
        multitrack: Option<MultitrackType>,
        /// The tracks: one unless multitrack. All share one packet type.
        tracks: Tracks<VideoTrack<B>>,
    },
}

/// What a video message payload says about itself (FLV spec Annex E.4.3 `VIDEODATA`; Enhanced
/// RTMP v2, "Enhanced Video").
///
/// Read one with [`VideoInfo::parse`]; build one with [`VideoInfo::legacy_avc`],
/// [`VideoInfo::enhanced`], [`VideoInfo::multitrack`] or [`VideoInfo::command_frame`] and write it with
/// [`VideoInfo::encode`]. `B` is the type of track bodies: byte ranges when parsed, bytes when
/// building.
///
/// ```
/// use rtmp_proto::media::{VideoCodec, VideoInfo};
///
/// // A legacy AVC key frame: FrameType 1, CodecID 7, NALU, composition time 40 ms.
/// let payload = [0x17, 0x01, 0x00, 0x00, 0x28, 0xAA, 0xBB];
/// let info = VideoInfo::parse(&payload).unwrap();
/// assert!(info.is_keyframe() && !info.is_sequence_header());
/// assert_eq!(info.codec(), Some(VideoCodec::Avc));
/// assert_eq!(info.composition_time(), 40);
/// assert_eq!(info.tracks()[0].body_in(&payload), &[0xAA, 0xBB]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoInfo<B = Range<usize>> {
    /// Whether the header is an enhanced one (`IsExVideoHeader`, bit 7 of the first byte).
    pub enhanced: bool,
    /// The frame type.
    pub frame_type: VideoFrameType,
    /// The `TimestampOffsetNano` ModEx value (nanoseconds to add to the message timestamp; the
    /// spec allows up to 999,999), if the enhanced header carried one. ModEx entries of other
    /// types are skipped and not kept, so encoding a parsed header drops them.
    pub timestamp_offset_nanos: Option<u32>,
    /// The command or the tracks.
    pub content: VideoContent<B>,
}

impl VideoInfo<Range<usize>> {
    /// Reads the header(s) of a video message payload. Track bodies are returned as ranges of
    /// `payload`. An empty payload gives [`MediaError::Empty`].
    pub fn parse(payload: &[u8]) -> Result<Self, MediaError> {
        let mut reader = Reader::new(payload);
        let first = match reader.u8("video header") {
            Ok(first) => first,
            Err(_) => return Err(MediaError::Empty),
        };
        let wire_frame_type = (first >> 4) & 0x07;
        if first & EX_HEADER_FLAG == 0 {
            parse_legacy(&mut reader, wire_frame_type, first & 0x0F)
        } else {
            parse_enhanced(&mut reader, wire_frame_type, first & 0x0F)
        }
    }

    /// The same description with each track's range replaced by its bytes in `payload`, the
    /// payload it was parsed from; the result can be encoded again.
    pub fn with_bodies<'p>(&self, payload: &'p [u8]) -> VideoInfo<&'p [u8]> {
        self.map_bodies(|range| payload.get(range.clone()).unwrap_or_default())
    }
}

fn parse_legacy(
    reader: &mut Reader<'_>,
    wire_frame_type: u8,
    codec_id: u8,
) -> Result<VideoInfo, MediaError> {
    let frame_type = VideoFrameType::from_wire(wire_frame_type);
    if let VideoFrameType::Reserved(value) = frame_type {
        return Err(MediaError::ReservedFrameType(value));
    }
    let codec = VideoCodec::from_legacy_id(codec_id);
    // Enhanced RTMP v2 (`VideoTagHeader` pseudocode) puts the command byte right after the first
    // byte, whatever the codec.
    if frame_type == VideoFrameType::Command {
        let command = VideoCommand::from_wire(reader.u8("video command")?);
        return Ok(VideoInfo::command_frame(false, Some(codec), command));
    }
    let (packet_type, composition_time) = if codec.legacy_has_packet_type() {
        let wire = reader.u8("AVCPacketType")?;
        let packet_type = match wire {
            0..=2 => VideoPacketType::from_wire(wire),
            _ => None,
        }
        .ok_or(MediaError::UnknownPacketType(wire))?;
        (Some(packet_type), reader.si24("composition time")?)
    } else {
        (None, 0)
    };
    Ok(VideoInfo::legacy(
        frame_type,
        codec,
        packet_type,
        composition_time,
        reader.rest(),
    ))
}

fn parse_enhanced(
    reader: &mut Reader<'_>,
    wire_frame_type: u8,
    first_packet_type: u8,
) -> Result<VideoInfo, MediaError> {
    let mut timestamp_offset_nanos = None;
    let wire_packet_type = read_mod_ex(reader, first_packet_type, &mut timestamp_offset_nanos)?;
    let is_metadata = wire_packet_type == VideoPacketType::Metadata.to_wire();
    let frame_type = VideoFrameType::from_wire(wire_frame_type);
    if frame_type == VideoFrameType::Command && !is_metadata {
        let command = VideoCommand::from_wire(reader.u8("video command")?);
        return Ok(VideoInfo {
            timestamp_offset_nanos,
            ..VideoInfo::command_frame(true, None, command)
        });
    }
    if let VideoFrameType::Reserved(value) = frame_type {
        if !is_metadata {
            return Err(MediaError::ReservedFrameType(value));
        }
    }
    let (multitrack, tracks) = read_tracks(
        reader,
        wire_packet_type,
        "video FourCC",
        |body, track_id, fourcc, packet_type| {
            read_enhanced_track(body, track_id, VideoCodec::from_fourcc(fourcc), packet_type)
        },
    )?;
    Ok(VideoInfo {
        enhanced: true,
        frame_type,
        timestamp_offset_nanos,
        content: VideoContent::Media { multitrack, tracks },
    })
}

/// Reads what precedes the codec data in an enhanced track body (the composition time of
/// AVC/HEVC `CodedFrames`) and takes the rest as the body.
fn read_enhanced_track(
    body: &mut Reader<'_>,
    track_id: u8,
    codec: VideoCodec,
    packet_type: VideoPacketType,
) -> Result<VideoTrack, MediaError> {
    let composition_time = if has_enhanced_composition_time(codec, packet_type) {
        body.si24("composition time")?
    } else {
        0
    };
    Ok(VideoTrack {
        track_id,
        codec,
        packet_type: Some(packet_type),
        composition_time,
        body: body.rest(),
    })
}

fn has_enhanced_composition_time(codec: VideoCodec, packet_type: VideoPacketType) -> bool {
    packet_type == VideoPacketType::CodedFrames && codec.enhanced_has_composition_time()
}

impl<B> VideoInfo<B> {
    /// A legacy AVC message (FLV spec Annex E.4.3.1, `CodecID` 7): `AVCPacketType` from
    /// `packet_type` (sequence start, coded frames or sequence end) and the composition time.
    pub fn legacy_avc(
        frame_type: VideoFrameType,
        packet_type: VideoPacketType,
        composition_time: i32,
        body: B,
    ) -> Self {
        VideoInfo::legacy(
            frame_type,
            VideoCodec::Avc,
            Some(packet_type),
            composition_time,
            body,
        )
    }

    /// A legacy message of any codec with a legacy id. AVC and HEVC need a packet type; the other
    /// codecs take `None` and a zero composition time.
    pub fn legacy(
        frame_type: VideoFrameType,
        codec: VideoCodec,
        packet_type: Option<VideoPacketType>,
        composition_time: i32,
        body: B,
    ) -> Self {
        VideoInfo {
            enhanced: false,
            frame_type,
            timestamp_offset_nanos: None,
            content: VideoContent::Media {
                multitrack: None,
                tracks: Tracks::one(VideoTrack {
                    track_id: 0,
                    codec,
                    packet_type,
                    composition_time,
                    body,
                }),
            },
        }
    }

    /// A single-track enhanced message (Enhanced RTMP v2, `ExVideoTagHeader`): the FourCC of
    /// `codec`, `packet_type`, and for `CodedFrames` of AVC/HEVC/VVC the composition time (which
    /// must be 0 otherwise).
    pub fn enhanced(
        frame_type: VideoFrameType,
        codec: VideoCodec,
        packet_type: VideoPacketType,
        composition_time: i32,
        body: B,
    ) -> Self {
        VideoInfo {
            enhanced: true,
            frame_type,
            timestamp_offset_nanos: None,
            content: VideoContent::Media {
                multitrack: None,
                tracks: Tracks::one(VideoTrack::new(
                    0,
                    codec,
                    packet_type,
                    composition_time,
                    body,
                )),
            },
        }
    }

    /// An enhanced multitrack message (Enhanced RTMP v2, "Multitrack Streaming"). All tracks
    /// must share one packet type; `ManyTracks` also needs one codec, `OneTrack` one track.
    pub fn multitrack(
        frame_type: VideoFrameType,
        multitrack: MultitrackType,
        tracks: impl Into<Tracks<VideoTrack<B>>>,
    ) -> Self {
        VideoInfo {
            enhanced: true,
            frame_type,
            timestamp_offset_nanos: None,
            content: VideoContent::Media {
                multitrack: Some(multitrack),
                tracks: tracks.into(),
            },
        }
    }

    /// A video info / command frame. A legacy one (`enhanced == false`) needs the codec whose
    /// `CodecID` fills the first byte; an enhanced one takes `None`.
    pub fn command_frame(enhanced: bool, codec: Option<VideoCodec>, command: VideoCommand) -> Self {
        VideoInfo {
            enhanced,
            frame_type: VideoFrameType::Command,
            timestamp_offset_nanos: None,
            content: VideoContent::Command { codec, command },
        }
    }

    /// The same message with a `TimestampOffsetNano` ModEx (enhanced headers only).
    pub fn with_timestamp_offset_nanos(mut self, nanos: u32) -> Self {
        self.timestamp_offset_nanos = Some(nanos);
        self
    }

    /// The tracks; empty for a command frame.
    pub fn tracks(&self) -> &[VideoTrack<B>] {
        match &self.content {
            VideoContent::Command { .. } => &[],
            VideoContent::Media { tracks, .. } => tracks,
        }
    }

    /// How a multitrack message lays out its tracks; `None` for a single-track message.
    pub fn multitrack_type(&self) -> Option<MultitrackType> {
        match &self.content {
            VideoContent::Media { multitrack, .. } => *multitrack,
            VideoContent::Command { .. } => None,
        }
    }

    /// The codec of the first track, or a legacy command frame's codec.
    pub fn codec(&self) -> Option<VideoCodec> {
        match &self.content {
            VideoContent::Command { codec, .. } => *codec,
            VideoContent::Media { tracks, .. } => tracks.first().map(|track| track.codec),
        }
    }

    /// The packet type, shared by all tracks; `None` for command frames and legacy codecs
    /// without packet types.
    pub fn packet_type(&self) -> Option<VideoPacketType> {
        self.tracks().first().and_then(|track| track.packet_type)
    }

    /// The composition time of the first track, in milliseconds (0 if it has none).
    pub fn composition_time(&self) -> i32 {
        self.tracks()
            .first()
            .map_or(0, |track| track.composition_time)
    }

    /// The `TimestampOffsetNano` ModEx value, if any.
    pub fn timestamp_offset_nanos(&self) -> Option<u32> {
        self.timestamp_offset_nanos
    }

    /// Whether this is a video info / command frame (FLV spec Annex E.4.3.1 `FrameType` 5),
    /// which carries a command and no video.
    pub fn is_video_info_frame(&self) -> bool {
        matches!(self.content, VideoContent::Command { .. })
    }

    /// The command of a video info / command frame.
    pub fn command(&self) -> Option<VideoCommand> {
        match self.content {
            VideoContent::Command { command, .. } => Some(command),
            VideoContent::Media { .. } => None,
        }
    }

    /// Whether this message holds a key frame a player can start decoding from: frame type key
    /// (or generated key) and coded frames. Sequence headers, which are flagged as key frames
    /// too, are not: check [`VideoInfo::is_sequence_header`] for them.
    pub fn is_keyframe(&self) -> bool {
        self.frame_type.is_key()
            && !self.is_video_info_frame()
            && self
                .packet_type()
                .is_none_or(VideoPacketType::is_coded_frames)
    }

    /// Whether this message starts a sequence: an AVC/HEVC sequence header (decoder
    /// configuration record) or an enhanced `SequenceStart` / `MPEG2TSSequenceStart`. A relay
    /// caches these to send to players that join later.
    pub fn is_sequence_header(&self) -> bool {
        self.packet_type()
            .is_some_and(VideoPacketType::is_sequence_start)
    }

    /// Whether this message ends a sequence (AVC end of sequence, or `SequenceEnd`).
    pub fn is_sequence_end(&self) -> bool {
        self.packet_type() == Some(VideoPacketType::SequenceEnd)
    }

    /// Whether this is an enhanced `Metadata` packet (AMF-encoded, e.g. HDR `colorInfo`; Enhanced
    /// RTMP v2, "Metadata Frame"). A relay should keep the latest one with the sequence header.
    pub fn is_metadata(&self) -> bool {
        self.packet_type() == Some(VideoPacketType::Metadata)
    }

    /// The same description with each track body transformed by `f`.
    pub fn map_bodies<C>(&self, mut f: impl FnMut(&B) -> C) -> VideoInfo<C> {
        VideoInfo {
            enhanced: self.enhanced,
            frame_type: self.frame_type,
            timestamp_offset_nanos: self.timestamp_offset_nanos,
            content: match &self.content {
                VideoContent::Command { codec, command } => VideoContent::Command {
                    codec: *codec,
                    command: *command,
                },
                VideoContent::Media { multitrack, tracks } => VideoContent::Media {
                    multitrack: *multitrack,
                    tracks: tracks.map(|track| VideoTrack {
                        track_id: track.track_id,
                        codec: track.codec,
                        packet_type: track.packet_type,
                        composition_time: track.composition_time,
                        body: f(&track.body),
                    }),
                },
            },
        }
    }
}

impl<B: AsRef<[u8]>> VideoInfo<B> {
    /// Appends the payload this describes to `out`: header(s) and track bodies. Fails, writing
    /// nothing, for combinations the wire format cannot carry (e.g. a legacy header with a
    /// FourCC-only codec, a composition time outside 24 bits or on a packet that has none,
    /// tracks of different packet types).
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), MediaError> {
        if matches!(self.content, VideoContent::Command { .. })
            && self.frame_type != VideoFrameType::Command
        {
            return Err(MediaError::Unencodable(
                "a command frame has the command frame type",
            ));
        }
        write_all_or_nothing(out, |out| {
            if self.enhanced {
                self.encode_enhanced(out)
            } else {
                self.encode_legacy(out)
            }
        })
    }

    /// The payload this describes, as [`VideoInfo::encode`] writes it.
    pub fn to_bytes(&self) -> Result<Bytes, MediaError> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }

    fn encode_legacy(&self, out: &mut BytesMut) -> Result<(), MediaError> {
        if self.timestamp_offset_nanos.is_some() {
            return Err(MediaError::Unencodable(
                "a legacy video header cannot carry a ModEx",
            ));
        }
        let frame_type = match self.frame_type {
            VideoFrameType::Reserved(_) => {
                return Err(MediaError::Unencodable("reserved frame type"));
            }
            other => other.to_wire().unwrap_or_default(),
        };
        let legacy_id = |codec: VideoCodec| {
            codec
                .legacy_id()
                .ok_or(MediaError::Unencodable("codec without a legacy CodecID"))
        };
        match &self.content {
            VideoContent::Command { codec, command } => {
                let codec = codec.ok_or(MediaError::Unencodable(
                    "a legacy command frame needs a codec",
                ))?;
                out.put_u8((frame_type << 4) | legacy_id(codec)?);
                out.put_u8(command.to_wire());
                Ok(())
            }
            VideoContent::Media {
                multitrack: Some(_),
                ..
            } => Err(MediaError::Unencodable(
                "multitrack needs an enhanced header",
            )),
            VideoContent::Media {
                multitrack: None,
                tracks,
            } => {
                let track = single_track(tracks)?;
                if frame_type == FRAME_TYPE_COMMAND {
                    return Err(MediaError::Unencodable(
                        "a legacy command frame carries a command, not video",
                    ));
                }
                out.put_u8((frame_type << 4) | legacy_id(track.codec)?);
                match (track.codec.legacy_has_packet_type(), track.packet_type) {
                    (true, Some(packet_type)) if packet_type.to_wire() <= 2 => {
                        out.put_u8(packet_type.to_wire());
                        put_si24(out, track.composition_time)?;
                    }
                    (true, _) => {
                        return Err(MediaError::Unencodable(
                            "legacy AVC/HEVC needs a sequence start, coded frames or sequence end",
                        ));
                    }
                    (false, None) if track.composition_time == 0 => {}
                    (false, _) => {
                        return Err(MediaError::Unencodable(
                            "this legacy codec has no packet type nor composition time",
                        ));
                    }
                }
                out.put_slice(track.body.as_ref());
                Ok(())
            }
        }
    }

    fn encode_enhanced(&self, out: &mut BytesMut) -> Result<(), MediaError> {
        let frame_type = self
            .frame_type
            .to_wire()
            .ok_or(MediaError::Unencodable("reserved frame type out of range"))?;
        let high_bits = EX_HEADER_FLAG | (frame_type << 4);
        let (tracks, multitrack) = match &self.content {
            VideoContent::Command { codec: Some(_), .. } => {
                return Err(MediaError::Unencodable(
                    "an enhanced command frame has no codec",
                ));
            }
            VideoContent::Command {
                codec: None,
                command,
            } => {
                // Any packet type but Metadata marks a command; CodedFrames is as good as any.
                let packet_type = VideoPacketType::CodedFrames.to_wire();
                put_first_byte_and_mod_ex(
                    out,
                    high_bits,
                    packet_type,
                    self.timestamp_offset_nanos,
                )?;
                out.put_u8(command.to_wire());
                return Ok(());
            }
            VideoContent::Media { multitrack, tracks } => (tracks, *multitrack),
        };
        let packet_type = shared_packet_type(tracks)?;
        match self.frame_type {
            VideoFrameType::Command | VideoFrameType::Reserved(_)
                if multitrack.is_some() || packet_type != VideoPacketType::Metadata =>
            {
                return Err(MediaError::Unencodable(
                    "only a single-track Metadata packet may have a command or reserved frame type",
                ));
            }
            _ => {}
        }
        put_first_byte_and_mod_ex(
            out,
            high_bits,
            packet_type.in_header(multitrack),
            self.timestamp_offset_nanos,
        )?;
        put_tracks(out, multitrack, packet_type, tracks)
    }
}

impl<B: AsRef<[u8]>> EnhancedTrack for VideoTrack<B> {
    type Codec = VideoCodec;
    type PacketType = VideoPacketType;

    fn track_id(&self) -> u8 {
        self.track_id
    }

    fn codec(&self) -> VideoCodec {
        self.codec
    }

    fn codec_fourcc(&self) -> Option<FourCc> {
        self.codec.fourcc()
    }

    fn packet_type(&self) -> Option<VideoPacketType> {
        self.packet_type
    }

    fn body_len(&self) -> usize {
        let composition_time_len = match self.packet_type {
            Some(packet_type) if has_enhanced_composition_time(self.codec, packet_type) => 3,
            _ => 0,
        };
        self.body
            .as_ref()
            .len()
            .saturating_add(composition_time_len)
    }

    /// The composition time where the packet has one, then the body.
    fn put_body(&self, out: &mut BytesMut) -> Result<(), MediaError> {
        let packet_type = self.packet_type.ok_or(MediaError::Unencodable(
            "an enhanced track needs a packet type",
        ))?;
        if has_enhanced_composition_time(self.codec, packet_type) {
            put_si24(out, self.composition_time)?;
        } else if self.composition_time != 0 {
            return Err(MediaError::Unencodable(
                "only CodedFrames of AVC, HEVC and VVC carry a composition time",
            ));
        }
        out.put_slice(self.body.as_ref());
        Ok(())
    }
}

fn put_si24(out: &mut BytesMut, value: i32) -> Result<(), MediaError> {
    if !SI24_RANGE.contains(&value) {
        return Err(MediaError::Unencodable("composition time outside 24 bits"));
    }
    let [_, a, b, c] = value.to_be_bytes();
    out.put_slice(&[a, b, c]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Parses `payload`, checks it reads as `expected`, and that `expected` encodes back to
    /// exactly `payload`.
    fn assert_golden(payload: &[u8], expected: &VideoInfo<&[u8]>) {
        let info = VideoInfo::parse(payload).unwrap();
        assert_eq!(&info.with_bodies(payload), expected);
        assert_eq!(&expected.to_bytes().unwrap()[..], payload);
    }

    #[test]
    fn legacy_avc_nalu_with_negative_composition_time() {
        // FLV spec Annex E.4.3.1: FrameType 1 | CodecID 7, AVCPacketType 1, SI24 -1.
        let payload = [
            0x17, 0x01, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x02, 0x09, 0xF0,
        ];
        let expected = VideoInfo::legacy_avc(
            VideoFrameType::KeyFrame,
            VideoPacketType::CodedFrames,
            -1,
            &payload[5..],
        );
        assert_golden(&payload, &expected);
        let info = VideoInfo::parse(&payload).unwrap();
        assert!(info.is_keyframe());
        assert!(!info.is_sequence_header() && !info.is_sequence_end());
        assert!(!info.enhanced && !info.is_video_info_frame());
        assert_eq!(info.codec(), Some(VideoCodec::Avc));
        assert_eq!(info.packet_type(), Some(VideoPacketType::CodedFrames));
        assert_eq!(info.composition_time(), -1);
        assert_eq!(info.tracks().len(), 1);
        assert_eq!(info.tracks()[0].body, 5..11);
    }

    #[test]
    fn legacy_avc_nalu_with_largest_composition_time() {
        let payload = [0x27, 0x01, 0x7F, 0xFF, 0xFF, 0xAB];
        let expected = VideoInfo::legacy_avc(
            VideoFrameType::InterFrame,
            VideoPacketType::CodedFrames,
            0x7F_FFFF,
            &payload[5..],
        );
        assert_golden(&payload, &expected);
        let info = VideoInfo::parse(&payload).unwrap();
        assert!(!info.is_keyframe());
        assert_eq!(info.composition_time(), 8_388_607);
        // The smallest value, for symmetry.
        let smallest = [0x27, 0x01, 0x80, 0x00, 0x00];
        assert_eq!(
            VideoInfo::parse(&smallest).unwrap().composition_time(),
            -8_388_608
        );
    }

    #[test]
    fn legacy_avc_sequence_header_and_end_of_sequence() {
        let avcc = [0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1];
        let mut payload = vec![0x17, 0x00, 0x00, 0x00, 0x00];
        payload.extend_from_slice(&avcc);
        let expected = VideoInfo::legacy_avc(
            VideoFrameType::KeyFrame,
            VideoPacketType::SequenceStart,
            0,
            &avcc[..],
        );
        assert_golden(&payload, &expected);
        let info = VideoInfo::parse(&payload).unwrap();
        assert!(info.is_sequence_header());
        assert!(
            !info.is_keyframe(),
            "a sequence header is not a frame to start on"
        );

        let end = [0x17, 0x02, 0x00, 0x00, 0x00];
        let info = VideoInfo::parse(&end).unwrap();
        assert!(info.is_sequence_end() && !info.is_sequence_header());
        assert_golden(
            &end,
            &VideoInfo::legacy_avc(
                VideoFrameType::KeyFrame,
                VideoPacketType::SequenceEnd,
                0,
                &[][..],
            ),
        );
    }

    #[test]
    fn legacy_codecs_without_packet_types() {
        // Sorenson H.263 disposable inter frame: one header byte, then data.
        let payload = [0x32, 0x00, 0x00, 0x84];
        let expected = VideoInfo::legacy(
            VideoFrameType::DisposableInterFrame,
            VideoCodec::SorensonH263,
            None,
            0,
            &payload[1..],
        );
        assert_golden(&payload, &expected);
        let info = VideoInfo::parse(&payload).unwrap();
        assert_eq!(info.packet_type(), None);
        assert!(!info.is_keyframe());
        // A VP6 key frame is a key frame without any packet type.
        assert!(VideoInfo::parse(&[0x14, 0x00]).unwrap().is_keyframe());
        // Reserved ids pass through as unknown codecs.
        let info = VideoInfo::parse(&[0x1F, 0xAA]).unwrap();
        assert_eq!(info.codec(), Some(VideoCodec::UnknownLegacy(15)));
        assert_eq!(info.tracks()[0].body, 1..2);
    }

    #[test]
    fn legacy_hevc_uses_codec_id_12_laid_out_like_avc() {
        let payload = [0x1C, 0x01, 0x00, 0x00, 0x21, 0x26, 0x01];
        let expected = VideoInfo::legacy(
            VideoFrameType::KeyFrame,
            VideoCodec::Hevc,
            Some(VideoPacketType::CodedFrames),
            0x21,
            &payload[5..],
        );
        assert_golden(&payload, &expected);
    }

    #[test]
    fn legacy_command_frame() {
        // FrameType 5 | CodecID 7, then the command: end of client-side seeking.
        let payload = [0x57, 0x01];
        assert_golden(
            &payload,
            &VideoInfo::command_frame(false, Some(VideoCodec::Avc), VideoCommand::EndSeek),
        );
        let info = VideoInfo::parse(&payload).unwrap();
        assert!(info.is_video_info_frame());
        assert_eq!(info.command(), Some(VideoCommand::EndSeek));
        assert!(!info.is_keyframe() && info.tracks().is_empty());
        assert_eq!(info.codec(), Some(VideoCodec::Avc));
    }

    #[test]
    fn enhanced_hevc_sequence_start() {
        // IsExVideoHeader | KeyFrame << 4 | SequenceStart, "hvc1", HEVCDecoderConfigurationRecord.
        let mut payload = vec![0x90, b'h', b'v', b'c', b'1'];
        let hvcc = [0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90];
        payload.extend_from_slice(&hvcc);
        let expected = VideoInfo::enhanced(
            VideoFrameType::KeyFrame,
            VideoCodec::Hevc,
            VideoPacketType::SequenceStart,
            0,
            &hvcc[..],
        );
        assert_golden(&payload, &expected);
        let info = VideoInfo::parse(&payload).unwrap();
        assert!(info.enhanced && info.is_sequence_header() && !info.is_keyframe());
        assert_eq!(info.tracks()[0].body, 5..12);
    }

    #[test]
    fn enhanced_hevc_coded_frames_carry_a_composition_time() {
        let payload = [0xA1, b'h', b'v', b'c', b'1', 0xFF, 0xFF, 0xDE, 0x02, 0x01];
        let expected = VideoInfo::enhanced(
            VideoFrameType::InterFrame,
            VideoCodec::Hevc,
            VideoPacketType::CodedFrames,
            -34,
            &payload[8..],
        );
        assert_golden(&payload, &expected);
        // CodedFramesX has no composition time: the body starts right after the FourCC.
        let payload_x = [0xA3, b'h', b'v', b'c', b'1', 0x02, 0x01];
        let info = VideoInfo::parse(&payload_x).unwrap();
        assert_eq!(info.packet_type(), Some(VideoPacketType::CodedFramesX));
        assert_eq!(
            (info.composition_time(), info.tracks()[0].body.clone()),
            (0, 5..7)
        );
    }

    #[test]
    fn enhanced_av1_and_vp9_coded_frames_have_no_composition_time() {
        let av1 = [0x91, b'a', b'v', b'0', b'1', 0x12, 0x00, 0x0A, 0x0B];
        let expected = VideoInfo::enhanced(
            VideoFrameType::KeyFrame,
            VideoCodec::Av1,
            VideoPacketType::CodedFrames,
            0,
            &av1[5..],
        );
        assert_golden(&av1, &expected);
        assert!(VideoInfo::parse(&av1).unwrap().is_keyframe());

        let vp9 = [0x91, b'v', b'p', b'0', b'9', 0x82, 0x49, 0x83, 0x42];
        let info = VideoInfo::parse(&vp9).unwrap();
        assert!(info.is_keyframe());
        assert_eq!(info.codec(), Some(VideoCodec::Vp9));
        assert_eq!(info.tracks()[0].body_in(&vp9), &vp9[5..]);
    }

    #[test]
    fn enhanced_unknown_fourcc_is_kept() {
        let payload = [0x91, b'x', b'y', b'z', b'1', 0x55];
        let info = VideoInfo::parse(&payload).unwrap();
        assert_eq!(
            info.codec(),
            Some(VideoCodec::UnknownFourCc(FourCc(*b"xyz1")))
        );
        assert_eq!(info.tracks()[0].body, 5..6);
        assert_eq!(
            &info.with_bodies(&payload).to_bytes().unwrap()[..],
            &payload[..]
        );
    }

    #[test]
    fn mod_ex_timestamp_offset_nano_precedes_the_packet_type() {
        // KeyFrame | ModEx; ModEx size 3 (written as 2), 999_999 ns, then TimestampOffsetNano << 4 |
        // CodedFrames; "hvc1", composition time 0, data.
        let payload = [
            0x97, 0x02, 0x0F, 0x42, 0x3F, 0x01, b'h', b'v', b'c', b'1', 0x00, 0x00, 0x00, 0xAA,
        ];
        let expected = VideoInfo::enhanced(
            VideoFrameType::KeyFrame,
            VideoCodec::Hevc,
            VideoPacketType::CodedFrames,
            0,
            &payload[13..],
        )
        .with_timestamp_offset_nanos(999_999);
        assert_golden(&payload, &expected);
        assert_eq!(
            VideoInfo::parse(&payload).unwrap().timestamp_offset_nanos(),
            Some(999_999)
        );
    }

    #[test]
    fn mod_ex_chains_skip_unknown_types_and_read_16_bit_sizes() {
        let mut payload = vec![0x97];
        // An unknown ModEx type (5) of 300 bytes: size byte 0xFF, then UI16 299.
        payload.extend_from_slice(&[0xFF, 0x01, 0x2B]);
        payload.extend_from_slice(&[0xEE; 300]);
        payload.push(0x57); // type 5, next packet type ModEx again
                            // A TimestampOffsetNano with 4 data bytes: the first three count.
        payload.extend_from_slice(&[0x03, 0x00, 0x01, 0x00, 0x99, 0x03]);
        payload.extend_from_slice(b"av01");
        payload.push(0x42);
        let info = VideoInfo::parse(&payload).unwrap();
        assert_eq!(info.timestamp_offset_nanos, Some(256));
        assert_eq!(info.packet_type(), Some(VideoPacketType::CodedFramesX));
        assert_eq!(info.tracks()[0].body_in(&payload), &[0x42]);

        let too_short = [0x97, 0x01, 0x00, 0x01, 0x01, b'a', b'v', b'0', b'1'];
        assert_eq!(
            VideoInfo::parse(&too_short),
            Err(MediaError::TimestampOffsetNanoTooShort(2))
        );
    }

    #[test]
    fn multitrack_one_track() {
        // KeyFrame | Multitrack; OneTrack << 4 | CodedFrames; "av01"; track id 2; data to the end.
        let payload = [0x96, 0x01, b'a', b'v', b'0', b'1', 0x02, 0x12, 0x00];
        let expected = VideoInfo::multitrack(
            VideoFrameType::KeyFrame,
            MultitrackType::OneTrack,
            vec![VideoTrack::new(
                2,
                VideoCodec::Av1,
                VideoPacketType::CodedFrames,
                0,
                &payload[7..],
            )],
        );
        assert_golden(&payload, &expected);
        let info = VideoInfo::parse(&payload).unwrap();
        assert_eq!(info.multitrack_type(), Some(MultitrackType::OneTrack));
        assert!(info.is_keyframe());
    }

    #[test]
    fn multitrack_many_tracks() {
        // SequenceStart for two HEVC tracks of 3 and 2 bytes.
        let payload = [
            0x96, 0x10, b'h', b'v', b'c', b'1', 0x00, 0x00, 0x00, 0x03, 0xA1, 0xA2, 0xA3, 0x01,
            0x00, 0x00, 0x02, 0xB1, 0xB2,
        ];
        let expected = VideoInfo::multitrack(
            VideoFrameType::KeyFrame,
            MultitrackType::ManyTracks,
            vec![
                VideoTrack::new(
                    0,
                    VideoCodec::Hevc,
                    VideoPacketType::SequenceStart,
                    0,
                    &payload[10..13],
                ),
                VideoTrack::new(
                    1,
                    VideoCodec::Hevc,
                    VideoPacketType::SequenceStart,
                    0,
                    &payload[17..],
                ),
            ],
        );
        assert_golden(&payload, &expected);
        let info = VideoInfo::parse(&payload).unwrap();
        assert!(info.is_sequence_header());
        let ranges: Vec<_> = info
            .tracks()
            .iter()
            .map(|t| (t.track_id, t.body.clone()))
            .collect();
        assert_eq!(ranges, vec![(0, 10..13), (1, 17..19)]);
    }

    #[test]
    fn multitrack_many_tracks_many_codecs() {
        // CodedFrames: an HEVC track (composition time 5, then 2 bytes) and an AV1 track.
        let payload = [
            0xA6, 0x21, b'h', b'v', b'c', b'1', 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x05, 0xC1,
            0xC2, b'a', b'v', b'0', b'1', 0x01, 0x00, 0x00, 0x01, 0xD1,
        ];
        let expected = VideoInfo::multitrack(
            VideoFrameType::InterFrame,
            MultitrackType::ManyTracksManyCodecs,
            vec![
                VideoTrack::new(
                    0,
                    VideoCodec::Hevc,
                    VideoPacketType::CodedFrames,
                    5,
                    &payload[13..15],
                ),
                VideoTrack::new(
                    1,
                    VideoCodec::Av1,
                    VideoPacketType::CodedFrames,
                    0,
                    &payload[23..],
                ),
            ],
        );
        assert_golden(&payload, &expected);
        let info = VideoInfo::parse(&payload).unwrap();
        assert_eq!(info.codec(), Some(VideoCodec::Hevc));
        assert_eq!(info.composition_time(), 5);
        assert_eq!(info.tracks()[1].codec, VideoCodec::Av1);
    }

    #[test]
    fn enhanced_command_frame_has_no_fourcc() {
        // Command << 4 | CodedFrames, then StartSeek.
        let payload = [0xD1, 0x00];
        assert_golden(
            &payload,
            &VideoInfo::command_frame(true, None, VideoCommand::StartSeek),
        );
        // Even a Multitrack packet type is a command when the frame type is 5.
        let info = VideoInfo::parse(&[0xD6, 0x07]).unwrap();
        assert_eq!(info.command(), Some(VideoCommand::Reserved(7)));
        assert_eq!(info.codec(), None);
    }

    #[test]
    fn metadata_ignores_the_command_frame_type() {
        // Command << 4 | Metadata, "hvc1", then AMF (string "colorInfo"...).
        let payload = [0xD4, b'h', b'v', b'c', b'1', 0x02, 0x00, 0x09];
        let expected = VideoInfo::enhanced(
            VideoFrameType::Command,
            VideoCodec::Hevc,
            VideoPacketType::Metadata,
            0,
            &payload[5..],
        );
        assert_golden(&payload, &expected);
        let info = VideoInfo::parse(&payload).unwrap();
        assert!(info.is_metadata() && !info.is_video_info_frame() && !info.is_keyframe());
        // A reserved frame type is accepted on metadata only.
        assert!(VideoInfo::parse(&[0x84, b'h', b'v', b'c', b'1']).is_ok());
        assert_eq!(
            VideoInfo::parse(&[0x81, b'h', b'v', b'c', b'1']),
            Err(MediaError::ReservedFrameType(0))
        );
    }

    #[test]
    fn malformed_headers_get_precise_errors() {
        assert_eq!(VideoInfo::parse(&[]), Err(MediaError::Empty));
        assert_eq!(
            VideoInfo::parse(&[0x07, 0x01, 0, 0, 0]),
            Err(MediaError::ReservedFrameType(0))
        );
        assert_eq!(
            VideoInfo::parse(&[0x67, 0x01, 0, 0, 0]),
            Err(MediaError::ReservedFrameType(6))
        );
        assert_eq!(
            VideoInfo::parse(&[0x17, 0x03, 0, 0, 0]),
            Err(MediaError::UnknownPacketType(3))
        );
        assert_eq!(
            VideoInfo::parse(&[0x17, 0x01, 0, 0]),
            Err(MediaError::Truncated {
                field: "composition time"
            })
        );
        assert_eq!(
            VideoInfo::parse(&[0x98, b'h', b'v', b'c', b'1']),
            Err(MediaError::UnknownPacketType(8))
        );
        assert_eq!(
            VideoInfo::parse(&[0x90, b'h', b'v']),
            Err(MediaError::Truncated {
                field: "video FourCC"
            })
        );
        assert_eq!(
            VideoInfo::parse(&[0x96, 0x06, b'h', b'v', b'c', b'1', 0]),
            Err(MediaError::InvalidTrackPacketType(6))
        );
        assert_eq!(
            VideoInfo::parse(&[0x96, 0x07]),
            Err(MediaError::InvalidTrackPacketType(7))
        );
        assert_eq!(
            VideoInfo::parse(&[0x96, 0x31, b'h', b'v', b'c', b'1', 0]),
            Err(MediaError::UnknownMultitrackType(3))
        );
        // A track size past the end of the message.
        assert_eq!(
            VideoInfo::parse(&[0x96, 0x13, b'a', b'v', b'0', b'1', 0, 0, 0, 5, 1, 2]),
            Err(MediaError::Truncated {
                field: "track body"
            })
        );
        // A composition time cut short inside a sized track.
        assert_eq!(
            VideoInfo::parse(&[0x96, 0x11, b'h', b'v', b'c', b'1', 0, 0, 0, 2, 1, 2]),
            Err(MediaError::Truncated {
                field: "composition time"
            })
        );
    }

    #[test]
    fn builders_refuse_what_the_wire_cannot_carry() {
        let body = &[1u8, 2][..];
        let unencodable = |info: VideoInfo<&[u8]>| {
            let mut out = BytesMut::from(&b"keep"[..]);
            let result = info.encode(&mut out);
            assert_eq!(&out[..], b"keep", "nothing written on error");
            matches!(result, Err(MediaError::Unencodable(_)))
        };
        // A FourCC-only codec in a legacy header.
        assert!(unencodable(VideoInfo::legacy(
            VideoFrameType::KeyFrame,
            VideoCodec::Av1,
            None,
            0,
            body
        )));
        // Composition times out of range or where none is sent.
        assert!(unencodable(VideoInfo::legacy_avc(
            VideoFrameType::KeyFrame,
            VideoPacketType::CodedFrames,
            0x80_0000,
            body
        )));
        assert!(unencodable(VideoInfo::enhanced(
            VideoFrameType::KeyFrame,
            VideoCodec::Av1,
            VideoPacketType::CodedFrames,
            1,
            body
        )));
        // A packet type AVC's legacy header has no value for.
        assert!(unencodable(VideoInfo::legacy_avc(
            VideoFrameType::KeyFrame,
            VideoPacketType::CodedFramesX,
            0,
            body
        )));
        // ModEx on a legacy header, nanoseconds beyond 24 bits.
        assert!(unencodable(
            VideoInfo::legacy_avc(
                VideoFrameType::KeyFrame,
                VideoPacketType::CodedFrames,
                0,
                body
            )
            .with_timestamp_offset_nanos(1)
        ));
        assert!(unencodable(
            VideoInfo::enhanced(
                VideoFrameType::KeyFrame,
                VideoCodec::Av1,
                VideoPacketType::CodedFrames,
                0,
                body
            )
            .with_timestamp_offset_nanos(1 << 24)
        ));
        // Multitrack shapes.
        let track = |id, codec, packet_type| VideoTrack::new(id, codec, packet_type, 0, body);
        let coded = VideoPacketType::CodedFrames;
        for (multitrack, tracks) in [
            (MultitrackType::ManyTracks, Vec::new()),
            (
                MultitrackType::OneTrack,
                vec![
                    track(0, VideoCodec::Av1, coded),
                    track(1, VideoCodec::Av1, coded),
                ],
            ),
            (
                MultitrackType::ManyTracks,
                vec![
                    track(0, VideoCodec::Av1, coded),
                    track(1, VideoCodec::Vp9, coded),
                ],
            ),
            (
                MultitrackType::ManyTracksManyCodecs,
                vec![
                    track(0, VideoCodec::Av1, coded),
                    track(1, VideoCodec::Vp9, VideoPacketType::SequenceStart),
                ],
            ),
        ] {
            let info = VideoInfo::multitrack(VideoFrameType::KeyFrame, multitrack, tracks);
            assert!(unencodable(info), "{multitrack:?}");
        }
        // A track id without multitrack; a command frame type on video data.
        assert!(unencodable(
            VideoInfo::enhanced(VideoFrameType::KeyFrame, VideoCodec::Av1, coded, 0, body)
                .with_track_id_for_test(3)
        ));
        assert!(unencodable(VideoInfo::enhanced(
            VideoFrameType::Command,
            VideoCodec::Av1,
            coded,
            0,
            body
        )));
        assert!(unencodable(VideoInfo::command_frame(
            false,
            None,
            VideoCommand::StartSeek
        )));
        assert!(unencodable(VideoInfo::command_frame(
            true,
            Some(VideoCodec::Avc),
            VideoCommand::StartSeek
        )));
        let mut not_a_command = VideoInfo::command_frame(true, None, VideoCommand::StartSeek);
        not_a_command.frame_type = VideoFrameType::KeyFrame;
        assert!(unencodable(not_a_command));
    }

    impl<B> VideoInfo<B> {
        fn with_track_id_for_test(mut self, id: u8) -> Self {
            if let VideoContent::Media { tracks, .. } = &mut self.content {
                for track in tracks.iter_mut() {
                    track.track_id = id;
                }
            }
            self
        }
    }
}
