//! Audio message payloads: the legacy `AudioTagHeader` (FLV spec v10.1 Annex E.4.2) and the
//! enhanced one (Enhanced RTMP v2, "Enhanced Audio": `ExAudioTagHeader`, `ExAudioTagBody`).

use core::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use super::tracks::{check_multitrack, read_multitrack, TrackFraming};
use super::{
    put_u24, read_mod_ex, write_mod_ex_nanos, FourCc, MediaError, MultitrackType, Tracks,
    PACKET_TYPE_MOD_EX,
};

/// `SoundFormat` 9, `ExHeader`: the rest of the first byte is an `AudioPacketType` and a FourCC
/// names the codec (Enhanced RTMP v2, `SoundFormat`).
const SOUND_FORMAT_EX_HEADER: u8 = 9;
/// `SoundFormat` 10: AAC, followed by an `AACPacketType` (FLV spec Annex E.4.2.1).
const SOUND_FORMAT_AAC: u8 = 10;
/// `AudioPacketType.Multitrack` on the wire (Enhanced RTMP v2).
const PACKET_TYPE_MULTITRACK: u8 = 5;

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
    /// spec allows up to 999,999), if the enhanced header carried one.
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
        let (multitrack, tracks) = if wire_packet_type == PACKET_TYPE_MULTITRACK {
            let types = reader.u8("multitrack type")?;
            let multitrack = MultitrackType::from_wire(types >> 4)?;
            let wire_track_packet_type = types & 0x0F;
            let packet_type = AudioPacketType::from_wire(wire_track_packet_type).ok_or(
                match wire_track_packet_type {
                    PACKET_TYPE_MULTITRACK | PACKET_TYPE_MOD_EX => {
                        MediaError::InvalidTrackPacketType(wire_track_packet_type)
                    }
                    other => MediaError::UnknownPacketType(other),
                },
            )?;
            let tracks = read_multitrack(&mut reader, multitrack, |framing: TrackFraming<'_>| {
                let TrackFraming {
                    fourcc,
                    track_id,
                    mut body,
                } = framing;
                read_enhanced_track(
                    &mut body,
                    track_id,
                    AudioCodec::from_fourcc(fourcc),
                    packet_type,
                )
            })?;
            (Some(multitrack), tracks)
        } else {
            let packet_type = AudioPacketType::from_wire(wire_packet_type)
                .ok_or(MediaError::UnknownPacketType(wire_packet_type))?;
            let codec = AudioCodec::from_fourcc(reader.fourcc("audio FourCC")?);
            (
                None,
                Tracks::one(read_enhanced_track(&mut reader, 0, codec, packet_type)?),
            )
        };
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
        let start = out.len();
        let result = match self.legacy_params {
            Some(params) => self.encode_legacy(params, out),
            None => self.encode_enhanced(out),
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
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
        let first = self.tracks.first().ok_or(MediaError::Unencodable(
            "a message needs at least one track",
        ))?;
        let packet_type = first.packet_type.ok_or(MediaError::Unencodable(
            "an enhanced track needs a packet type",
        ))?;
        for track in self.tracks.iter() {
            if track.packet_type != Some(packet_type) {
                return Err(MediaError::Unencodable(
                    "all tracks of a message share one packet type",
                ));
            }
            if packet_type == AudioPacketType::MultichannelConfig {
                MultichannelConfig::parse(track.body.as_ref())?;
            }
        }
        let outer_packet_type = match self.multitrack {
            Some(_) => PACKET_TYPE_MULTITRACK,
            None => packet_type.to_wire(),
        };
        let first_byte = |packet_type: u8| (SOUND_FORMAT_EX_HEADER << 4) | (packet_type & 0x0F);
        match self.timestamp_offset_nanos {
            None => out.put_u8(first_byte(outer_packet_type)),
            Some(nanos) => {
                out.put_u8(first_byte(PACKET_TYPE_MOD_EX));
                write_mod_ex_nanos(out, nanos, outer_packet_type)?;
            }
        }
        let fourcc = |codec: AudioCodec| {
            codec
                .fourcc()
                .ok_or(MediaError::Unencodable("codec without a FourCC"))
        };
        match self.multitrack {
            None => {
                let track = single_track(&self.tracks)?;
                out.put_slice(&fourcc(track.codec)?.0);
                out.put_slice(track.body.as_ref());
            }
            Some(multitrack) => {
                check_multitrack(&self.tracks, multitrack, |track| track.codec)?;
                out.put_u8((multitrack.to_wire() << 4) | packet_type.to_wire());
                if multitrack != MultitrackType::ManyTracksManyCodecs {
                    out.put_slice(&fourcc(first.codec)?.0);
                }
                for track in self.tracks.iter() {
                    if multitrack == MultitrackType::ManyTracksManyCodecs {
                        out.put_slice(&fourcc(track.codec)?.0);
                    }
                    out.put_u8(track.track_id);
                    if multitrack.has_track_sizes() {
                        put_u24(
                            out,
                            track.body.as_ref().len(),
                            "track body larger than 24 bits",
                        )?;
                    }
                    out.put_slice(track.body.as_ref());
                }
            }
        }
        Ok(())
    }
}

/// The track of a message without multitrack framing, which has no track id on the wire.
fn single_track<B>(tracks: &[AudioTrack<B>]) -> Result<&AudioTrack<B>, MediaError> {
    match tracks {
        [track] if track.track_id == 0 => Ok(track),
        [_] => Err(MediaError::Unencodable(
            "only multitrack messages carry a track id",
        )),
        _ => Err(MediaError::Unencodable(
            "a message without multitrack has exactly one track",
        )),
    }
}
