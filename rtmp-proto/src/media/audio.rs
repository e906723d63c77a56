//! Audio message payloads: the legacy `AudioTagHeader` (FLV spec v10.1 Annex E.4.2) and the
//! enhanced one (Enhanced RTMP v2, "Enhanced Audio": `ExAudioTagHeader`, `ExAudioTagBody`).

use core::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::enhanced::{
    put_first_byte_and_mod_ex, put_tracks, read_mod_ex, read_tracks, shared_packet_type,
    single_track, write_all_or_nothing, EnhancedTrack, PacketType,
};
use super::reader::Reader;
use super::{FourCc, MediaError, MultitrackType, Tracks};

/// `SoundFormat` 9, `ExHeader`: the rest of the first byte is an `AudioPacketType` and a FourCC
/// names the codec (Enhanced RTMP v2, `SoundFormat`).
const SOUND_FORMAT_EX_HEADER: u8 = 9;
/// `SoundFormat` 10: AAC, followed by an `AACPacketType` (FLV spec Annex E.4.2.1).
const SOUND_FORMAT_AAC: u8 = 10;

/// The sampling rate bits of a legacy header (FLV spec Annex E.4.2.1 `SoundRate`). AAC always
/// signals 44 kHz; the real rate is in its AudioSpecificConfig.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SoundRate {
    /// 0: 5.5 kHz.
    Khz5_5,
    /// 1: 11 kHz.
    Khz11,
    /// 2: 22 kHz.
    Khz22,
    /// 3: 44 kHz.
    Khz44,
}

/// The sample size bit of a legacy header (FLV spec Annex E.4.2.1 `SoundSize`); it only
/// pertains to uncompressed formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SoundSize {
    /// 0: 8-bit samples.
    Bits8,
    /// 1: 16-bit samples.
    Bits16,
}

/// The channel bit of a legacy header (FLV spec Annex E.4.2.1 `SoundType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SoundType {
    /// 0: mono.
    Mono,
    /// 1: stereo.
    Stereo,
}

/// The rate, size and channel bits of a legacy audio header (FLV spec Annex E.4.2.1). An
/// enhanced header has none: it reuses those bits for the packet type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SoundParams {
    /// `SoundRate`.
    pub rate: SoundRate,
    /// `SoundSize`.
    pub size: SoundSize,
    /// `SoundType`.
    pub sound_type: SoundType,
}

impl SoundParams {
    /// What the FLV spec prescribes for AAC (Annex E.4.2.1: rate 44 kHz, stereo; 16-bit as
    /// every encoder writes), giving the familiar first byte `0xAF`.
    pub const AAC: SoundParams = SoundParams {
        rate: SoundRate::Khz44,
        size: SoundSize::Bits16,
        sound_type: SoundType::Stereo,
    };

    fn from_bits(bits: u8) -> SoundParams {
        SoundParams {
            rate: match (bits >> 2) & 0x03 {
                0 => SoundRate::Khz5_5,
                1 => SoundRate::Khz11,
                2 => SoundRate::Khz22,
                _ => SoundRate::Khz44,
            },
            size: if bits & 0x02 == 0 {
                SoundSize::Bits8
            } else {
                SoundSize::Bits16
            },
            sound_type: if bits & 0x01 == 0 {
                SoundType::Mono
            } else {
                SoundType::Stereo
            },
        }
    }

    fn to_bits(self) -> u8 {
        let rate = match self.rate {
            SoundRate::Khz5_5 => 0,
            SoundRate::Khz11 => 1,
            SoundRate::Khz22 => 2,
            SoundRate::Khz44 => 3,
        };
        (rate << 2)
            | (u8::from(self.size == SoundSize::Bits16) << 1)
            | u8::from(self.sound_type == SoundType::Stereo)
    }
}

/// What an audio packet carries (Enhanced RTMP v2, `AudioPacketType`). The legacy
/// `AACPacketType` values (FLV spec Annex E.4.2.1) map onto the first two, which have the same
/// numbers: AAC sequence header and AAC raw.
///
/// `Multitrack` (5) and `ModEx` (7) frame other packets; they show as [`AudioInfo::multitrack_type`]
/// and [`AudioInfo::timestamp_offset_nanos`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AudioPacketType {
    /// 0: the codec configuration (AAC: AudioSpecificConfig; Opus: ID header; FLAC: STREAMINFO).
    SequenceStart,
    /// 1: coded frames (AAC: raw).
    CodedFrames,
    /// 2: end of sequence.
    SequenceEnd,
    /// 4: the channel layout, for codecs that do not describe it themselves; read it with
    /// [`MultichannelConfig::parse`].
    MultichannelConfig,
}

impl AudioPacketType {
    /// The packet type from its 4-bit wire value; `None` for `Multitrack`, `ModEx` and the
    /// reserved values.
    pub fn from_wire(value: u8) -> Option<AudioPacketType> {
        match value {
            0 => Some(AudioPacketType::SequenceStart),
            1 => Some(AudioPacketType::CodedFrames),
            2 => Some(AudioPacketType::SequenceEnd),
            4 => Some(AudioPacketType::MultichannelConfig),
            _ => None,
        }
    }

    /// The 4-bit wire value.
    pub fn to_wire(self) -> u8 {
        match self {
            AudioPacketType::SequenceStart => 0,
            AudioPacketType::CodedFrames => 1,
            AudioPacketType::SequenceEnd => 2,
            AudioPacketType::MultichannelConfig => 4,
        }
    }
}

impl PacketType for AudioPacketType {
    /// `AudioPacketType.Multitrack` (Enhanced RTMP v2).
    const MULTITRACK: u8 = 5;

    fn from_wire(value: u8) -> Option<Self> {
        AudioPacketType::from_wire(value)
    }

    fn to_wire(self) -> u8 {
        AudioPacketType::to_wire(self)
    }
}

/// An audio codec, whether named by a legacy `SoundFormat` (FLV spec Annex E.4.2.1) or by a
/// FourCC (Enhanced RTMP v2, `AudioFourCc`). AAC and MP3 can be signalled either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AudioCodec {
    /// Legacy format 0: linear PCM, platform endian.
    LinearPcmPlatformEndian,
    /// Legacy format 1: ADPCM.
    Adpcm,
    /// Legacy format 2 or FourCC `.mp3`: MP3.
    Mp3,
    /// Legacy format 3: linear PCM, little endian.
    LinearPcmLittleEndian,
    /// Legacy format 4: Nellymoser 16 kHz mono.
    Nellymoser16kMono,
    /// Legacy format 5: Nellymoser 8 kHz mono.
    Nellymoser8kMono,
    /// Legacy format 6: Nellymoser.
    Nellymoser,
    /// Legacy format 7: G.711 A-law.
    G711ALaw,
    /// Legacy format 8: G.711 mu-law.
    G711MuLaw,
    /// Legacy format 10 or FourCC `mp4a`: AAC.
    Aac,
    /// Legacy format 11: Speex.
    Speex,
    /// Legacy format 14: MP3 8 kHz.
    Mp3_8k,
    /// Legacy format 15: device-specific sound.
    DeviceSpecific,
    /// FourCC `ac-3`: AC-3.
    Ac3,
    /// FourCC `ec-3`: E-AC-3.
    Eac3,
    /// FourCC `Opus`: Opus.
    Opus,
    /// FourCC `fLaC`: FLAC.
    Flac,
    /// Legacy formats 12 and 13, reserved. Frames pass through; their header is one byte.
    UnknownLegacy(u8),
    /// A FourCC with no codec above, kept so a relay can forward it.
    UnknownFourCc(FourCc),
}

impl AudioCodec {
    /// The codec of a legacy 4-bit `SoundFormat` other than 9 (`ExHeader`, which names no
    /// codec and maps to `UnknownLegacy(9)`).
    pub fn from_sound_format(format: u8) -> AudioCodec {
        match format {
            0 => AudioCodec::LinearPcmPlatformEndian,
            1 => AudioCodec::Adpcm,
            2 => AudioCodec::Mp3,
            3 => AudioCodec::LinearPcmLittleEndian,
            4 => AudioCodec::Nellymoser16kMono,
            5 => AudioCodec::Nellymoser8kMono,
            6 => AudioCodec::Nellymoser,
            7 => AudioCodec::G711ALaw,
            8 => AudioCodec::G711MuLaw,
            SOUND_FORMAT_AAC => AudioCodec::Aac,
            11 => AudioCodec::Speex,
            14 => AudioCodec::Mp3_8k,
            15 => AudioCodec::DeviceSpecific,
            other => AudioCodec::UnknownLegacy(other),
        }
    }

    /// The legacy `SoundFormat`, if the codec has one.
    pub fn sound_format(self) -> Option<u8> {
        match self {
            AudioCodec::LinearPcmPlatformEndian => Some(0),
            AudioCodec::Adpcm => Some(1),
            AudioCodec::Mp3 => Some(2),
            AudioCodec::LinearPcmLittleEndian => Some(3),
            AudioCodec::Nellymoser16kMono => Some(4),
            AudioCodec::Nellymoser8kMono => Some(5),
            AudioCodec::Nellymoser => Some(6),
            AudioCodec::G711ALaw => Some(7),
            AudioCodec::G711MuLaw => Some(8),
            AudioCodec::Aac => Some(SOUND_FORMAT_AAC),
            AudioCodec::Speex => Some(11),
            AudioCodec::Mp3_8k => Some(14),
            AudioCodec::DeviceSpecific => Some(15),
            AudioCodec::UnknownLegacy(format @ (12 | 13)) => Some(format),
            _ => None,
        }
    }

    /// The codec of a FourCC.
    pub fn from_fourcc(fourcc: FourCc) -> AudioCodec {
        match fourcc {
            FourCc::AC3 => AudioCodec::Ac3,
            FourCc::EAC3 => AudioCodec::Eac3,
            FourCc::OPUS => AudioCodec::Opus,
            FourCc::MP3 => AudioCodec::Mp3,
            FourCc::FLAC => AudioCodec::Flac,
            FourCc::MP4A => AudioCodec::Aac,
            other => AudioCodec::UnknownFourCc(other),
        }
    }

    /// The FourCC, if the codec has one.
    pub fn fourcc(self) -> Option<FourCc> {
        match self {
            AudioCodec::Ac3 => Some(FourCc::AC3),
            AudioCodec::Eac3 => Some(FourCc::EAC3),
            AudioCodec::Opus => Some(FourCc::OPUS),
            AudioCodec::Mp3 => Some(FourCc::MP3),
            AudioCodec::Flac => Some(FourCc::FLAC),
            AudioCodec::Aac => Some(FourCc::MP4A),
            AudioCodec::UnknownFourCc(fourcc) if AudioCodec::from_fourcc(fourcc) == self => {
                Some(fourcc)
            }
            _ => None,
        }
    }
}

/// How a `MultichannelConfig` packet describes the channels (Enhanced RTMP v2,
/// `AudioChannelOrder`, `AudioChannelMask`, `AudioChannel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelLayout<'a> {
    /// `Unspecified`: only the channel count is known.
    Unspecified,
    /// `Native`: the channels present, as an `AudioChannelMask` bit set (`UI32`), in the
    /// order of the mask bits.
    Native(u32),
    /// `Custom`: the speaker of each channel in bitstream order, one `AudioChannel` byte each.
    Custom(&'a [u8]),
}

/// The body of an enhanced `MultichannelConfig` packet (Enhanced RTMP v2, `ExAudioTagBody`).
///
/// ```
/// use rtmp_proto::media::{ChannelLayout, MultichannelConfig};
///
/// // Native order, 2 channels: front left and front right.
/// let config = MultichannelConfig::parse(&[1, 2, 0, 0, 0, 3]).unwrap();
/// assert_eq!(config.channel_count, 2);
/// assert_eq!(config.layout, ChannelLayout::Native(0b11));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MultichannelConfig<'a> {
    /// The number of channels.
    pub channel_count: u8,
    /// The channel order and speakers.
    pub layout: ChannelLayout<'a>,
}

impl<'a> MultichannelConfig<'a> {
    /// Reads a `MultichannelConfig` body; bytes after it are ignored.
    pub fn parse(body: &'a [u8]) -> Result<Self, MediaError> {
        read_multichannel_config(&mut Reader::new(body))
    }

    /// Appends the body this describes to `out`. A custom layout needs one speaker per channel.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), MediaError> {
        match self.layout {
            ChannelLayout::Unspecified => out.put_slice(&[0, self.channel_count]),
            ChannelLayout::Native(mask) => {
                out.put_slice(&[1, self.channel_count]);
                out.put_u32(mask);
            }
            ChannelLayout::Custom(mapping) => {
                if mapping.len() != usize::from(self.channel_count) {
                    return Err(MediaError::Unencodable(
                        "a custom channel mapping has one entry per channel",
                    ));
                }
                out.put_slice(&[2, self.channel_count]);
                out.put_slice(mapping);
            }
        }
        Ok(())
    }
}

fn read_multichannel_config<'a>(
    reader: &mut Reader<'a>,
) -> Result<MultichannelConfig<'a>, MediaError> {
    let order = reader.u8("audio channel order")?;
    let channel_count = reader.u8("audio channel count")?;
    let layout = match order {
        0 => ChannelLayout::Unspecified,
        1 => ChannelLayout::Native(u32::from_be_bytes(
            <[u8; 4]>::try_from(reader.bytes(4, "audio channel flags")?).map_err(|_| {
                MediaError::Truncated {
                    field: "audio channel flags",
                }
            })?,
        )),
        2 => ChannelLayout::Custom(
            reader.bytes(usize::from(channel_count), "audio channel mapping")?,
        ),
        other => return Err(MediaError::UnknownChannelOrder(other)),
    };
    Ok(MultichannelConfig {
        channel_count,
        layout,
    })
}

/// One track of an audio message.
///
/// `B` is the body: a `Range<usize>` into the payload when parsed, bytes (`&[u8]`, `Bytes`,
/// `Vec<u8>`...) when building.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioTrack<B = Range<usize>> {
    /// The track id (`audioTrackId`, Enhanced RTMP v2 multitrack); 0 outside multitrack messages.
    pub track_id: u8,
    /// The codec.
    pub codec: AudioCodec,
    /// The packet type; `None` for legacy formats other than AAC, which have none.
    pub packet_type: Option<AudioPacketType>,
    /// The codec data after the header (AudioSpecificConfig, Opus ID header, frames, a
    /// `MultichannelConfig`...).
    pub body: B,
}

impl<B> AudioTrack<B> {
    /// A track with the given id, codec, packet type and body.
    pub fn new(track_id: u8, codec: AudioCodec, packet_type: AudioPacketType, body: B) -> Self {
        AudioTrack {
            track_id,
            codec,
            packet_type: Some(packet_type),
            body,
        }
    }
}

impl AudioTrack<Range<usize>> {
    /// The body's bytes inside `payload`, the payload this track was parsed from (empty if
    /// `payload` is too short, i.e. is not that payload).
    pub fn body_in<'p>(&self, payload: &'p [u8]) -> &'p [u8] {
        payload.get(self.body.clone()).unwrap_or_default()
    }
}

/// What an audio message payload says about itself (FLV spec Annex E.4.2 `AUDIODATA`; Enhanced
/// RTMP v2, "Enhanced Audio").
///
/// Read one with [`AudioInfo::parse`]; build one with [`AudioInfo::legacy_aac`],
/// [`AudioInfo::legacy`], [`AudioInfo::enhanced`] or [`AudioInfo::multitrack`] and write it with
/// [`AudioInfo::encode`]. `B` is the type of track bodies: byte ranges when parsed, bytes when
/// building.
///
/// ```
/// use rtmp_proto::media::{AudioCodec, AudioInfo};
///
/// // A legacy AAC sequence header: 0xAF, AACPacketType 0, AudioSpecificConfig (LC, 44.1k, 2ch).
/// let payload = [0xAF, 0x00, 0x12, 0x10];
/// let info = AudioInfo::parse(&payload).unwrap();
/// assert!(info.is_sequence_header());
/// assert_eq!(info.codec(), Some(AudioCodec::Aac));
/// assert_eq!(info.tracks()[0].body_in(&payload), &[0x12, 0x10]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioInfo<B = Range<usize>> {
    /// The rate, size and channel bits of a legacy header; `None` for an enhanced header.
    pub legacy_params: Option<SoundParams>,
    /// The `TimestampOffsetNano` ModEx value (nanoseconds to add to the message timestamp; the
    /// spec allows up to 999,999), if the enhanced header carried one. ModEx entries of other
    /// types are skipped and not kept, so encoding a parsed header drops them.
    pub timestamp_offset_nanos: Option<u32>,
    /// `None` for a single-track message; otherwise how the tracks are laid out.
    pub multitrack: Option<MultitrackType>,
    /// The tracks: one unless multitrack. All share one packet type.
    pub tracks: Tracks<AudioTrack<B>>,
}

impl AudioInfo<Range<usize>> {
    /// Reads the header(s) of an audio message payload. Track bodies are returned as ranges of
    /// `payload`. An empty payload ("audio silence" in Enhanced RTMP v2) gives
    /// [`MediaError::Empty`].
    pub fn parse(payload: &[u8]) -> Result<Self, MediaError> {
        let mut reader = Reader::new(payload);
        let first = match reader.u8("audio header") {
            Ok(first) => first,
            Err(_) => return Err(MediaError::Empty),
        };
        let sound_format = first >> 4;
        if sound_format != SOUND_FORMAT_EX_HEADER {
            return parse_legacy(&mut reader, sound_format, first & 0x0F);
        }
        let mut timestamp_offset_nanos = None;
        let wire_packet_type = read_mod_ex(&mut reader, first & 0x0F, &mut timestamp_offset_nanos)?;
        let (multitrack, tracks) = read_tracks(
            &mut reader,
            wire_packet_type,
            "audio FourCC",
            |body, track_id, fourcc, packet_type| {
                read_enhanced_track(body, track_id, AudioCodec::from_fourcc(fourcc), packet_type)
            },
        )?;
        Ok(AudioInfo {
            legacy_params: None,
            timestamp_offset_nanos,
            multitrack,
            tracks,
        })
    }

    /// The same description with each track's range replaced by its bytes in `payload`, the
    /// payload it was parsed from; the result can be encoded again.
    pub fn with_bodies<'p>(&self, payload: &'p [u8]) -> AudioInfo<&'p [u8]> {
        self.map_bodies(|range| payload.get(range.clone()).unwrap_or_default())
    }
}

fn parse_legacy(
    reader: &mut Reader<'_>,
    sound_format: u8,
    param_bits: u8,
) -> Result<AudioInfo, MediaError> {
    let codec = AudioCodec::from_sound_format(sound_format);
    let packet_type = if sound_format == SOUND_FORMAT_AAC {
        let wire = reader.u8("AACPacketType")?;
        Some(match wire {
            0 => AudioPacketType::SequenceStart,
            1 => AudioPacketType::CodedFrames,
            other => return Err(MediaError::UnknownPacketType(other)),
        })
    } else {
        None
    };
    Ok(AudioInfo {
        legacy_params: Some(SoundParams::from_bits(param_bits)),
        timestamp_offset_nanos: None,
        multitrack: None,
        tracks: Tracks::one(AudioTrack {
            track_id: 0,
            codec,
            packet_type,
            body: reader.rest(),
        }),
    })
}

/// Takes an enhanced track body, checking the structure of a `MultichannelConfig`.
fn read_enhanced_track(
    body: &mut Reader<'_>,
    track_id: u8,
    codec: AudioCodec,
    packet_type: AudioPacketType,
) -> Result<AudioTrack, MediaError> {
    if packet_type == AudioPacketType::MultichannelConfig {
        read_multichannel_config(&mut body.clone())?;
    }
    Ok(AudioTrack {
        track_id,
        codec,
        packet_type: Some(packet_type),
        body: body.rest(),
    })
}

impl<B> AudioInfo<B> {
    /// A legacy AAC message (FLV spec Annex E.4.2.1, `SoundFormat` 10, first byte `0xAF`):
    /// `AACPacketType` from `packet_type` (sequence start or coded frames).
    pub fn legacy_aac(packet_type: AudioPacketType, body: B) -> Self {
        AudioInfo {
            legacy_params: Some(SoundParams::AAC),
            timestamp_offset_nanos: None,
            multitrack: None,
            tracks: Tracks::one(AudioTrack::new(0, AudioCodec::Aac, packet_type, body)),
        }
    }

    /// A legacy message of a codec other than AAC, which has no packet type.
    pub fn legacy(codec: AudioCodec, params: SoundParams, body: B) -> Self {
        AudioInfo {
            legacy_params: Some(params),
            timestamp_offset_nanos: None,
            multitrack: None,
            tracks: Tracks::one(AudioTrack {
                track_id: 0,
                codec,
                packet_type: None,
                body,
            }),
        }
    }

    /// A single-track enhanced message (Enhanced RTMP v2, `ExAudioTagHeader`): the FourCC of
    /// `codec` and `packet_type`.
    pub fn enhanced(codec: AudioCodec, packet_type: AudioPacketType, body: B) -> Self {
        AudioInfo {
            legacy_params: None,
            timestamp_offset_nanos: None,
            multitrack: None,
            tracks: Tracks::one(AudioTrack::new(0, codec, packet_type, body)),
        }
    }

    /// An enhanced multitrack message (Enhanced RTMP v2, "Multitrack Streaming"). All tracks
    /// must share one packet type; `ManyTracks` also needs one codec, `OneTrack` one track.
    pub fn multitrack(
        multitrack: MultitrackType,
        tracks: impl Into<Tracks<AudioTrack<B>>>,
    ) -> Self {
        AudioInfo {
            legacy_params: None,
            timestamp_offset_nanos: None,
            multitrack: Some(multitrack),
            tracks: tracks.into(),
        }
    }

    /// The same message with a `TimestampOffsetNano` ModEx (enhanced headers only).
    pub fn with_timestamp_offset_nanos(mut self, nanos: u32) -> Self {
        self.timestamp_offset_nanos = Some(nanos);
        self
    }

    /// Whether the header is an enhanced one (`SoundFormat` 9, `ExHeader`).
    pub fn is_enhanced(&self) -> bool {
        self.legacy_params.is_none()
    }

    /// The tracks.
    pub fn tracks(&self) -> &[AudioTrack<B>] {
        &self.tracks
    }

    /// How a multitrack message lays out its tracks; `None` for a single-track message.
    pub fn multitrack_type(&self) -> Option<MultitrackType> {
        self.multitrack
    }

    /// The codec of the first track.
    pub fn codec(&self) -> Option<AudioCodec> {
        self.tracks.first().map(|track| track.codec)
    }

    /// The packet type, shared by all tracks; `None` for legacy formats without packet types.
    pub fn packet_type(&self) -> Option<AudioPacketType> {
        self.tracks.first().and_then(|track| track.packet_type)
    }

    /// The `TimestampOffsetNano` ModEx value, if any.
    pub fn timestamp_offset_nanos(&self) -> Option<u32> {
        self.timestamp_offset_nanos
    }

    /// Whether this message carries the codec configuration: an AAC sequence header or an
    /// enhanced `SequenceStart`. A relay caches these to send to players that join later (and
    /// the latest [`AudioInfo::is_multichannel_config`] message with them).
    pub fn is_sequence_header(&self) -> bool {
        self.packet_type() == Some(AudioPacketType::SequenceStart)
    }

    /// Whether this message ends a sequence (`SequenceEnd`).
    pub fn is_sequence_end(&self) -> bool {
        self.packet_type() == Some(AudioPacketType::SequenceEnd)
    }

    /// Whether this is an enhanced `MultichannelConfig` packet.
    pub fn is_multichannel_config(&self) -> bool {
        self.packet_type() == Some(AudioPacketType::MultichannelConfig)
    }

    /// The same description with each track body transformed by `f`.
    pub fn map_bodies<C>(&self, mut f: impl FnMut(&B) -> C) -> AudioInfo<C> {
        AudioInfo {
            legacy_params: self.legacy_params,
            timestamp_offset_nanos: self.timestamp_offset_nanos,
            multitrack: self.multitrack,
            tracks: self.tracks.map(|track| AudioTrack {
                track_id: track.track_id,
                codec: track.codec,
                packet_type: track.packet_type,
                body: f(&track.body),
            }),
        }
    }
}

impl<B: AsRef<[u8]>> AudioInfo<B> {
    /// Appends the payload this describes to `out`: header(s) and track bodies. Fails, writing
    /// nothing, for combinations the wire format cannot carry (e.g. a legacy header with a
    /// FourCC-only codec, tracks of different packet types, an invalid `MultichannelConfig`
    /// body).
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), MediaError> {
        write_all_or_nothing(out, |out| match self.legacy_params {
            Some(params) => self.encode_legacy(params, out),
            None => self.encode_enhanced(out),
        })
    }

    /// The payload this describes, as [`AudioInfo::encode`] writes it.
    pub fn to_bytes(&self) -> Result<Bytes, MediaError> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }

    fn encode_legacy(&self, params: SoundParams, out: &mut BytesMut) -> Result<(), MediaError> {
        if self.timestamp_offset_nanos.is_some() || self.multitrack.is_some() {
            return Err(MediaError::Unencodable(
                "a legacy audio header cannot carry a ModEx or multitrack",
            ));
        }
        let track = single_track(&self.tracks)?;
        let format = track.codec.sound_format().ok_or(MediaError::Unencodable(
            "codec without a legacy SoundFormat",
        ))?;
        out.put_u8((format << 4) | params.to_bits());
        match (format == SOUND_FORMAT_AAC, track.packet_type) {
            (
                true,
                Some(packet_type @ (AudioPacketType::SequenceStart | AudioPacketType::CodedFrames)),
            ) => {
                out.put_u8(packet_type.to_wire());
            }
            (false, None) => {}
            _ => {
                return Err(MediaError::Unencodable(
                    "legacy AAC needs a sequence start or coded frames; other formats no packet type",
                ));
            }
        }
        out.put_slice(track.body.as_ref());
        Ok(())
    }

    fn encode_enhanced(&self, out: &mut BytesMut) -> Result<(), MediaError> {
        let packet_type = shared_packet_type(&self.tracks)?;
        put_first_byte_and_mod_ex(
            out,
            SOUND_FORMAT_EX_HEADER << 4,
            packet_type.in_header(self.multitrack),
            self.timestamp_offset_nanos,
        )?;
        put_tracks(out, self.multitrack, packet_type, &self.tracks)
    }
}

impl<B: AsRef<[u8]>> EnhancedTrack for AudioTrack<B> {
    type Codec = AudioCodec;
    type PacketType = AudioPacketType;

    fn track_id(&self) -> u8 {
        self.track_id
    }

    fn codec(&self) -> AudioCodec {
        self.codec
    }

    fn codec_fourcc(&self) -> Option<FourCc> {
        self.codec.fourcc()
    }

    fn packet_type(&self) -> Option<AudioPacketType> {
        self.packet_type
    }

    /// A `MultichannelConfig` body must parse as one.
    fn check_body(&self) -> Result<(), MediaError> {
        if self.packet_type == Some(AudioPacketType::MultichannelConfig) {
            MultichannelConfig::parse(self.body.as_ref())?;
        }
        Ok(())
    }

    fn body_len(&self) -> usize {
        self.body.as_ref().len()
    }

    fn put_body(&self, out: &mut BytesMut) -> Result<(), MediaError> {
        out.put_slice(self.body.as_ref());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Parses `payload`, checks it reads as `expected`, and that `expected` encodes back to
    /// exactly `payload`.
    fn assert_golden(payload: &[u8], expected: &AudioInfo<&[u8]>) {
        let info = AudioInfo::parse(payload).unwrap();
        assert_eq!(&info.with_bodies(payload), expected);
        assert_eq!(&expected.to_bytes().unwrap()[..], payload);
    }

    #[test]
    fn legacy_aac_sequence_header_and_raw_frame() {
        // FLV spec Annex E.4.2.1: SoundFormat 10, 44 kHz, 16-bit, stereo; AACPacketType 0;
        // AudioSpecificConfig AAC-LC, 44.1 kHz, 2 channels.
        let payload = [0xAF, 0x00, 0x12, 0x10];
        assert_golden(
            &payload,
            &AudioInfo::legacy_aac(AudioPacketType::SequenceStart, &payload[2..]),
        );
        let info = AudioInfo::parse(&payload).unwrap();
        assert!(info.is_sequence_header() && !info.is_enhanced());
        assert_eq!(info.legacy_params, Some(SoundParams::AAC));
        assert_eq!(info.codec(), Some(AudioCodec::Aac));
        assert_eq!(info.tracks()[0].body, 2..4);

        let raw = [0xAF, 0x01, 0x21, 0x00, 0x49];
        let info = AudioInfo::parse(&raw).unwrap();
        assert!(!info.is_sequence_header());
        assert_eq!(info.packet_type(), Some(AudioPacketType::CodedFrames));
        assert_golden(
            &raw,
            &AudioInfo::legacy_aac(AudioPacketType::CodedFrames, &raw[2..]),
        );
    }

    #[test]
    fn legacy_formats_and_sound_bits() {
        // MP3, 22 kHz, 16-bit, mono.
        let payload = [0x2A, 0xFF, 0xFB];
        let params = SoundParams {
            rate: SoundRate::Khz22,
            size: SoundSize::Bits16,
            sound_type: SoundType::Mono,
        };
        assert_golden(
            &payload,
            &AudioInfo::legacy(AudioCodec::Mp3, params, &payload[1..]),
        );
        assert_eq!(AudioInfo::parse(&payload).unwrap().packet_type(), None);
        // Speex, 16 kHz signalled as 5.5 kHz, 16-bit, mono; Nellymoser 8 kHz; G.711 mu-law.
        for (first, codec) in [
            (0xB2, AudioCodec::Speex),
            (0x52, AudioCodec::Nellymoser8kMono),
            (0x82, AudioCodec::G711MuLaw),
            (0x0E, AudioCodec::LinearPcmPlatformEndian),
            (0xF3, AudioCodec::DeviceSpecific),
            (0xC0, AudioCodec::UnknownLegacy(12)),
        ] {
            let info = AudioInfo::parse(&[first, 0x00]).unwrap();
            assert_eq!(info.codec(), Some(codec));
            assert_eq!(info.tracks()[0].body, 1..2);
        }
    }

    #[test]
    fn enhanced_opus_sequence_start() {
        // SoundFormat 9 (ExHeader) | SequenceStart, "Opus", then an OpusHead ID header.
        let mut payload = vec![0x90, b'O', b'p', b'u', b's'];
        let opus_head = *b"OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00";
        payload.extend_from_slice(&opus_head);
        assert_golden(
            &payload,
            &AudioInfo::enhanced(
                AudioCodec::Opus,
                AudioPacketType::SequenceStart,
                &opus_head[..],
            ),
        );
        let info = AudioInfo::parse(&payload).unwrap();
        assert!(info.is_enhanced() && info.is_sequence_header());
        assert_eq!(info.codec(), Some(AudioCodec::Opus));
        assert_eq!(info.legacy_params, None);
    }

    #[test]
    fn enhanced_fourccs_name_their_codecs() {
        for (fourcc, codec) in [
            (*b"ac-3", AudioCodec::Ac3),
            (*b"ec-3", AudioCodec::Eac3),
            (*b"Opus", AudioCodec::Opus),
            (*b".mp3", AudioCodec::Mp3),
            (*b"fLaC", AudioCodec::Flac),
            (*b"mp4a", AudioCodec::Aac),
            (*b"alac", AudioCodec::UnknownFourCc(FourCc(*b"alac"))),
        ] {
            let mut payload = vec![0x91];
            payload.extend_from_slice(&fourcc);
            payload.push(0x77);
            let info = AudioInfo::parse(&payload).unwrap();
            assert_eq!(info.codec(), Some(codec));
            assert_eq!(info.tracks()[0].body, 5..6);
            assert_eq!(
                &info.with_bodies(&payload).to_bytes().unwrap()[..],
                &payload[..]
            );
        }
    }

    #[test]
    fn mod_ex_timestamp_offset_nano_on_audio() {
        // ExHeader | ModEx; size 3; 500_000 ns; TimestampOffsetNano << 4 | CodedFrames; "Opus".
        let payload = [
            0x97, 0x02, 0x07, 0xA1, 0x20, 0x01, b'O', b'p', b'u', b's', 0xFC, 0xFF,
        ];
        assert_golden(
            &payload,
            &AudioInfo::enhanced(
                AudioCodec::Opus,
                AudioPacketType::CodedFrames,
                &payload[10..],
            )
            .with_timestamp_offset_nanos(500_000),
        );
    }

    #[test]
    fn multichannel_config_layouts() {
        // Native order, 6 channels: FL FR FC LFE1 BL BR.
        let payload = [
            0x94, b'O', b'p', b'u', b's', 0x01, 0x06, 0x00, 0x00, 0x00, 0x3F,
        ];
        let info = AudioInfo::parse(&payload).unwrap();
        assert!(info.is_multichannel_config() && !info.is_sequence_header());
        let config = MultichannelConfig::parse(info.tracks()[0].body_in(&payload)).unwrap();
        assert_eq!(
            config,
            MultichannelConfig {
                channel_count: 6,
                layout: ChannelLayout::Native(0x3F)
            }
        );
        assert_golden(
            &payload,
            &AudioInfo::enhanced(
                AudioCodec::Opus,
                AudioPacketType::MultichannelConfig,
                &payload[5..],
            ),
        );
        // Custom order: one speaker byte per channel.
        let custom = [2, 3, 0, 1, 0xFE];
        let config = MultichannelConfig::parse(&custom).unwrap();
        assert_eq!(config.layout, ChannelLayout::Custom(&[0, 1, 0xFE]));
        let mut out = BytesMut::new();
        config.encode(&mut out).unwrap();
        assert_eq!(&out[..], &custom[..]);
        assert_eq!(
            MultichannelConfig::parse(&[0, 2]).unwrap().layout,
            ChannelLayout::Unspecified
        );
        // Errors: a mapping cut short, a reserved order, a short mask, a bad builder mapping.
        assert_eq!(
            MultichannelConfig::parse(&[2, 3, 0, 1]),
            Err(MediaError::Truncated {
                field: "audio channel mapping"
            })
        );
        assert_eq!(
            MultichannelConfig::parse(&[3, 1]),
            Err(MediaError::UnknownChannelOrder(3))
        );
        assert_eq!(
            AudioInfo::parse(&[0x94, b'O', b'p', b'u', b's', 0x01, 0x02, 0x00]),
            Err(MediaError::Truncated {
                field: "audio channel flags"
            })
        );
        let bad = MultichannelConfig {
            channel_count: 2,
            layout: ChannelLayout::Custom(&[0]),
        };
        assert!(matches!(
            bad.encode(&mut out),
            Err(MediaError::Unencodable(_))
        ));
    }

    #[test]
    fn multitrack_one_track() {
        // ExHeader | Multitrack; OneTrack << 4 | CodedFrames; "mp4a"; track id 1; data.
        let payload = [0x95, 0x01, b'm', b'p', b'4', b'a', 0x01, 0x21, 0x10];
        assert_golden(
            &payload,
            &AudioInfo::multitrack(
                MultitrackType::OneTrack,
                vec![AudioTrack::new(
                    1,
                    AudioCodec::Aac,
                    AudioPacketType::CodedFrames,
                    &payload[7..],
                )],
            ),
        );
    }

    #[test]
    fn multitrack_many_tracks() {
        // Two Opus tracks (e.g. two languages), sequence start, 2 and 1 bytes.
        let payload = [
            0x95, 0x10, b'O', b'p', b'u', b's', 0x00, 0x00, 0x00, 0x02, 0xA1, 0xA2, 0x01, 0x00,
            0x00, 0x01, 0xB1,
        ];
        let expected = AudioInfo::multitrack(
            MultitrackType::ManyTracks,
            vec![
                AudioTrack::new(
                    0,
                    AudioCodec::Opus,
                    AudioPacketType::SequenceStart,
                    &payload[10..12],
                ),
                AudioTrack::new(
                    1,
                    AudioCodec::Opus,
                    AudioPacketType::SequenceStart,
                    &payload[16..],
                ),
            ],
        );
        assert_golden(&payload, &expected);
        assert!(AudioInfo::parse(&payload).unwrap().is_sequence_header());
    }

    #[test]
    fn multitrack_many_tracks_many_codecs() {
        let payload = [
            0x95, 0x21, b'm', b'p', b'4', b'a', 0x00, 0x00, 0x00, 0x01, 0xA1, b'f', b'L', b'a',
            b'C', 0x01, 0x00, 0x00, 0x00,
        ];
        let expected = AudioInfo::multitrack(
            MultitrackType::ManyTracksManyCodecs,
            vec![
                AudioTrack::new(
                    0,
                    AudioCodec::Aac,
                    AudioPacketType::CodedFrames,
                    &payload[10..11],
                ),
                AudioTrack::new(
                    1,
                    AudioCodec::Flac,
                    AudioPacketType::CodedFrames,
                    &payload[19..],
                ),
            ],
        );
        assert_golden(&payload, &expected);
        let info = AudioInfo::parse(&payload).unwrap();
        assert_eq!(
            info.multitrack_type(),
            Some(MultitrackType::ManyTracksManyCodecs)
        );
        let codecs: Vec<_> = info.tracks().iter().map(|t| t.codec).collect();
        assert_eq!(codecs, vec![AudioCodec::Aac, AudioCodec::Flac]);
    }

    #[test]
    fn malformed_headers_get_precise_errors() {
        assert_eq!(AudioInfo::parse(&[]), Err(MediaError::Empty));
        assert_eq!(
            AudioInfo::parse(&[0xAF]),
            Err(MediaError::Truncated {
                field: "AACPacketType"
            })
        );
        assert_eq!(
            AudioInfo::parse(&[0xAF, 0x02]),
            Err(MediaError::UnknownPacketType(2))
        );
        assert_eq!(
            AudioInfo::parse(&[0x93, b'O', b'p', b'u', b's']),
            Err(MediaError::UnknownPacketType(3))
        );
        assert_eq!(
            AudioInfo::parse(&[0x90, b'O', b'p']),
            Err(MediaError::Truncated {
                field: "audio FourCC"
            })
        );
        assert_eq!(
            AudioInfo::parse(&[0x95, 0x05]),
            Err(MediaError::InvalidTrackPacketType(5))
        );
        assert_eq!(
            AudioInfo::parse(&[0x95, 0x41]),
            Err(MediaError::UnknownMultitrackType(4))
        );
        assert_eq!(
            AudioInfo::parse(&[0x95, 0x11, b'O', b'p', b'u', b's', 0, 0, 0, 9]),
            Err(MediaError::Truncated {
                field: "track body"
            })
        );
        assert_eq!(
            AudioInfo::parse(&[0x97, 0xFF, 0x01]),
            Err(MediaError::Truncated {
                field: "ModEx extended data size"
            })
        );
    }

    #[test]
    fn builders_refuse_what_the_wire_cannot_carry() {
        let body = &[1u8][..];
        let unencodable = |info: AudioInfo<&[u8]>| {
            let mut out = BytesMut::new();
            let result = info.encode(&mut out);
            out.is_empty() && matches!(result, Err(MediaError::Unencodable(_)))
        };
        assert!(unencodable(AudioInfo::legacy(
            AudioCodec::Opus,
            SoundParams::AAC,
            body
        )));
        assert!(unencodable(AudioInfo::legacy(
            AudioCodec::Aac,
            SoundParams::AAC,
            body
        )));
        assert!(unencodable(AudioInfo::legacy_aac(
            AudioPacketType::SequenceEnd,
            body
        )));
        assert!(unencodable(
            AudioInfo::legacy(AudioCodec::Mp3, SoundParams::AAC, body)
                .with_timestamp_offset_nanos(0)
        ));
        assert!(unencodable(AudioInfo::enhanced(
            AudioCodec::Speex,
            AudioPacketType::CodedFrames,
            body
        )));
        assert!(unencodable(AudioInfo::enhanced(
            AudioCodec::UnknownFourCc(FourCc::OPUS),
            AudioPacketType::CodedFrames,
            body
        )));
        assert!(unencodable(AudioInfo::multitrack(
            MultitrackType::ManyTracks,
            vec![
                AudioTrack::new(0, AudioCodec::Opus, AudioPacketType::CodedFrames, body),
                AudioTrack::new(1, AudioCodec::Aac, AudioPacketType::CodedFrames, body),
            ]
        )));
        // An invalid MultichannelConfig body is refused, not written.
        let mut out = BytesMut::new();
        assert_eq!(
            AudioInfo::enhanced(
                AudioCodec::Opus,
                AudioPacketType::MultichannelConfig,
                &[1u8, 2][..]
            )
            .encode(&mut out),
            Err(MediaError::Truncated {
                field: "audio channel flags"
            })
        );
        assert!(out.is_empty());
    }
}
