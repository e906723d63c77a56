//! Property tests over both parsers and builders, and a check against a real FLV file.

use alloc::vec::Vec;

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;
use crate::flv::{tag_type, FlvReader};

// ---------------------------------------------------------------------------------------------
// Strategies: every description they produce is encodable.
// ---------------------------------------------------------------------------------------------

const SI24_MIN: i32 = -0x80_0000;
const SI24_MAX: i32 = 0x7F_FFFF;

fn body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..24)
}

fn video_fourcc() -> impl Strategy<Value = VideoCodec> {
    prop_oneof![
        proptest::sample::select(
            &[
                FourCc::AVC1,
                FourCc::HVC1,
                FourCc::VP08,
                FourCc::VP09,
                FourCc::AV01,
                FourCc::VVC1
            ][..]
        ),
        any::<[u8; 4]>().prop_map(FourCc),
    ]
    .prop_map(VideoCodec::from_fourcc)
}

fn audio_fourcc() -> impl Strategy<Value = AudioCodec> {
    prop_oneof![
        proptest::sample::select(
            &[
                FourCc::AC3,
                FourCc::EAC3,
                FourCc::OPUS,
                FourCc::MP3,
                FourCc::FLAC,
                FourCc::MP4A
            ][..]
        ),
        any::<[u8; 4]>().prop_map(FourCc),
    ]
    .prop_map(AudioCodec::from_fourcc)
}

/// Frame types that may carry video data (not command, not reserved).
fn data_frame_type() -> impl Strategy<Value = VideoFrameType> {
    (1u8..=4).prop_map(VideoFrameType::from_wire)
}

fn video_packet_type() -> impl Strategy<Value = VideoPacketType> {
    (0u8..=5)
        .prop_map(|wire| VideoPacketType::from_wire(wire).unwrap_or(VideoPacketType::CodedFrames))
}

fn nanos() -> impl Strategy<Value = Option<u32>> {
    proptest::option::of(0u32..=0x00FF_FFFF)
}

/// Whether the wire carries a composition time for this track; if not, the builder needs 0.
fn cts_for(
    codec: VideoCodec,
    packet_type: Option<VideoPacketType>,
    enhanced: bool,
    cts: i32,
) -> i32 {
    let carried = match (enhanced, packet_type) {
        (false, Some(_)) => true,
        (true, Some(VideoPacketType::CodedFrames)) => {
            matches!(codec, VideoCodec::Avc | VideoCodec::Hevc | VideoCodec::Vvc)
        }
        _ => false,
    };
    if carried {
        cts
    } else {
        0
    }
}

fn legacy_video() -> impl Strategy<Value = VideoInfo<Vec<u8>>> {
    (
        data_frame_type(),
        0u8..16,
        0u8..=2,
        SI24_MIN..=SI24_MAX,
        body(),
    )
        .prop_map(|(frame_type, id, wire_packet_type, cts, body)| {
            let codec = VideoCodec::from_legacy_id(id);
            let packet_type = match codec {
                VideoCodec::Avc | VideoCodec::Hevc => VideoPacketType::from_wire(wire_packet_type),
                _ => None,
            };
            let cts = cts_for(codec, packet_type, false, cts);
            VideoInfo::legacy(frame_type, codec, packet_type, cts, body)
        })
}

fn command_video() -> impl Strategy<Value = VideoInfo<Vec<u8>>> {
    (any::<bool>(), 0u8..16, any::<u8>(), nanos()).prop_map(|(enhanced, id, command, nanos)| {
        let codec = (!enhanced).then(|| VideoCodec::from_legacy_id(id));
        let info = VideoInfo::command_frame(enhanced, codec, VideoCommand::from_wire(command));
        match (enhanced, nanos) {
            (true, Some(nanos)) => info.with_timestamp_offset_nanos(nanos),
            _ => info,
        }
    })
}

fn enhanced_video() -> impl Strategy<Value = VideoInfo<Vec<u8>>> {
    (
        data_frame_type(),
        video_fourcc(),
        video_packet_type(),
        SI24_MIN..=SI24_MAX,
        nanos(),
        body(),
        // A command or reserved frame type, used when the packet is Metadata.
        proptest::sample::select(&[0u8, 5, 6, 7][..]),
        any::<bool>(),
    )
        .prop_map(
            |(frame_type, codec, packet_type, cts, nanos, body, odd_frame, use_odd)| {
                let frame_type = if packet_type == VideoPacketType::Metadata && use_odd {
                    VideoFrameType::from_wire(odd_frame)
                } else {
                    frame_type
                };
                let cts = cts_for(codec, Some(packet_type), true, cts);
                let info = VideoInfo::enhanced(frame_type, codec, packet_type, cts, body);
                match nanos {
                    Some(nanos) => info.with_timestamp_offset_nanos(nanos),
                    None => info,
                }
            },
        )
}

fn multitrack_video() -> impl Strategy<Value = VideoInfo<Vec<u8>>> {
    (
        data_frame_type(),
        0u8..3,
        video_packet_type(),
        nanos(),
        video_fourcc(),
        proptest::collection::vec(
            (any::<u8>(), video_fourcc(), SI24_MIN..=SI24_MAX, body()),
            1..5,
        ),
    )
        .prop_map(|(frame_type, kind, packet_type, nanos, shared, tracks)| {
            let multitrack = MultitrackType::from_wire(kind).unwrap_or(MultitrackType::OneTrack);
            let count = if multitrack == MultitrackType::OneTrack {
                1
            } else {
                tracks.len()
            };
            let tracks: Vec<_> = tracks
                .into_iter()
                .take(count)
                .map(|(id, own_codec, cts, body)| {
                    let codec = if multitrack == MultitrackType::ManyTracksManyCodecs {
                        own_codec
                    } else {
                        shared
                    };
                    let cts = cts_for(codec, Some(packet_type), true, cts);
                    VideoTrack::new(id, codec, packet_type, cts, body)
                })
                .collect();
            let info = VideoInfo::multitrack(frame_type, multitrack, tracks);
            match nanos {
                Some(nanos) => info.with_timestamp_offset_nanos(nanos),
                None => info,
            }
        })
}

fn any_video() -> impl Strategy<Value = VideoInfo<Vec<u8>>> {
    prop_oneof![
        legacy_video(),
        command_video(),
        enhanced_video(),
        multitrack_video()
    ]
}

fn multichannel_body() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..3,
        any::<u8>(),
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(order, count, mask, mapping)| {
            let layout = match order {
                0 => ChannelLayout::Unspecified,
                1 => ChannelLayout::Native(mask),
                _ => ChannelLayout::Custom(&mapping),
            };
            let channel_count = match layout {
                ChannelLayout::Custom(mapping) => u8::try_from(mapping.len()).unwrap_or(0),
                _ => count,
            };
            let mut out = BytesMut::new();
            MultichannelConfig {
                channel_count,
                layout,
            }
            .encode(&mut out)
            .expect("consistent layout");
            out.to_vec()
        })
}

fn audio_packet_type() -> impl Strategy<Value = AudioPacketType> {
    proptest::sample::select(
        &[
            AudioPacketType::SequenceStart,
            AudioPacketType::CodedFrames,
            AudioPacketType::SequenceEnd,
            AudioPacketType::MultichannelConfig,
        ][..],
    )
}

/// A body fitting the packet type: a valid config for `MultichannelConfig`, anything otherwise.
fn audio_body(packet_type: AudioPacketType) -> BoxedStrategy<Vec<u8>> {
    if packet_type == AudioPacketType::MultichannelConfig {
        multichannel_body().boxed()
    } else {
        body().boxed()
    }
}

fn legacy_audio() -> impl Strategy<Value = AudioInfo<Vec<u8>>> {
    (
        (0u8..16).prop_filter("ExHeader is not a legacy format", |f| *f != 9),
        0u8..16,
        0u8..=1,
        body(),
    )
        .prop_map(|(format, bits, aac_packet_type, body)| {
            let params = SoundParams {
                rate: [
                    SoundRate::Khz5_5,
                    SoundRate::Khz11,
                    SoundRate::Khz22,
                    SoundRate::Khz44,
                ][usize::from(bits >> 2)],
                size: if bits & 2 == 0 {
                    SoundSize::Bits8
                } else {
                    SoundSize::Bits16
                },
                sound_type: if bits & 1 == 0 {
                    SoundType::Mono
                } else {
                    SoundType::Stereo
                },
            };
            let codec = AudioCodec::from_sound_format(format);
            let mut info = AudioInfo::legacy(codec, params, body);
            if codec == AudioCodec::Aac {
                info.tracks[0].packet_type = AudioPacketType::from_wire(aac_packet_type);
            }
            info
        })
}

fn enhanced_audio() -> impl Strategy<Value = AudioInfo<Vec<u8>>> {
    (audio_fourcc(), audio_packet_type(), nanos()).prop_flat_map(|(codec, packet_type, nanos)| {
        audio_body(packet_type).prop_map(move |body| {
            let info = AudioInfo::enhanced(codec, packet_type, body);
            match nanos {
                Some(nanos) => info.with_timestamp_offset_nanos(nanos),
                None => info,
            }
        })
    })
}

fn multitrack_audio() -> impl Strategy<Value = AudioInfo<Vec<u8>>> {
    (0u8..3, audio_packet_type(), nanos(), audio_fourcc()).prop_flat_map(
        |(kind, packet_type, nanos, shared)| {
            let multitrack = MultitrackType::from_wire(kind).unwrap_or(MultitrackType::OneTrack);
            let max_tracks = if multitrack == MultitrackType::OneTrack {
                2
            } else {
                5
            };
            proptest::collection::vec(
                (any::<u8>(), audio_fourcc(), audio_body(packet_type)),
                1..max_tracks,
            )
            .prop_map(move |tracks| {
                let tracks: Vec<_> = tracks
                    .into_iter()
                    .map(|(id, own_codec, body)| {
                        let codec = if multitrack == MultitrackType::ManyTracksManyCodecs {
                            own_codec
                        } else {
                            shared
                        };
                        AudioTrack::new(id, codec, packet_type, body)
                    })
                    .collect();
                let info = AudioInfo::multitrack(multitrack, tracks);
                match nanos {
                    Some(nanos) => info.with_timestamp_offset_nanos(nanos),
                    None => info,
                }
            })
        },
    )
}

fn any_audio() -> impl Strategy<Value = AudioInfo<Vec<u8>>> {
    prop_oneof![legacy_audio(), enhanced_audio(), multitrack_audio()]
}

// ---------------------------------------------------------------------------------------------
// What a parse of a strict prefix may return: a truncation error, or (where the format has no
// way to tell) a consistent shorter message, never different header fields.
// ---------------------------------------------------------------------------------------------

/// Parses `prefix` with `parse`; `None` where it was rightly refused: as empty when nothing is
/// left, or as truncated. Any other error fails the test.
fn parse_prefix<T>(
    parse: impl FnOnce(&[u8]) -> Result<T, MediaError>,
    prefix: &[u8],
) -> Result<Option<T>, TestCaseError> {
    match parse(prefix) {
        Err(MediaError::Empty) => {
            prop_assert_eq!(prefix.len(), 0);
            Ok(None)
        }
        Err(MediaError::Truncated { .. }) => Ok(None),
        Err(other) => Err(TestCaseError::fail(alloc::format!(
            "prefix {}: {other:?}",
            prefix.len()
        ))),
        Ok(parsed) => Ok(Some(parsed)),
    }
}

fn check_video_prefix(
    full: &VideoInfo<Vec<u8>>,
    encoded: &[u8],
    cut: usize,
) -> Result<(), TestCaseError> {
    let prefix = &encoded[..cut];
    let Some(parsed) = parse_prefix(VideoInfo::parse, prefix)? else {
        return Ok(());
    };
    let parsed = parsed.with_bodies(prefix).map_bodies(|b| b.to_vec());
    prop_assert_eq!(parsed.enhanced, full.enhanced);
    prop_assert_eq!(parsed.frame_type, full.frame_type);
    prop_assert_eq!(parsed.timestamp_offset_nanos, full.timestamp_offset_nanos);
    prop_assert_eq!(parsed.multitrack_type(), full.multitrack_type());
    let (got, want) = (parsed.tracks(), full.tracks());
    match full.multitrack_type() {
        Some(kind) if kind.has_track_sizes() => {
            // Only a cut between two tracks parses, and then as the tracks before it.
            prop_assert!(got.len() < want.len());
            prop_assert_eq!(got, &want[..got.len()]);
        }
        _ => {
            // One track whose body was cut: same header, same header length, shorter body.
            let is_command = matches!(full.content, VideoContent::Command { .. });
            prop_assert!(!is_command, "a strict prefix of a command frame parsed");
            prop_assert_eq!(got.len(), 1);
            let (got, want) = (&got[0], &want[0]);
            prop_assert_eq!(
                (
                    got.track_id,
                    got.codec,
                    got.packet_type,
                    got.composition_time
                ),
                (
                    want.track_id,
                    want.codec,
                    want.packet_type,
                    want.composition_time
                )
            );
            prop_assert_eq!(cut - got.body.len(), encoded.len() - want.body.len());
            prop_assert!(want.body.starts_with(&got.body));
        }
    }
    Ok(())
}

fn check_audio_prefix(
    full: &AudioInfo<Vec<u8>>,
    encoded: &[u8],
    cut: usize,
) -> Result<(), TestCaseError> {
    let prefix = &encoded[..cut];
    let Some(parsed) = parse_prefix(AudioInfo::parse, prefix)? else {
        return Ok(());
    };
    let parsed = parsed.with_bodies(prefix).map_bodies(|b| b.to_vec());
    prop_assert_eq!(parsed.legacy_params, full.legacy_params);
    prop_assert_eq!(parsed.timestamp_offset_nanos, full.timestamp_offset_nanos);
    prop_assert_eq!(parsed.multitrack, full.multitrack);
    let (got, want) = (parsed.tracks(), full.tracks());
    match full.multitrack {
        Some(kind) if kind.has_track_sizes() => {
            prop_assert!(got.len() < want.len());
            prop_assert_eq!(got, &want[..got.len()]);
        }
        _ => {
            prop_assert_eq!(got.len(), 1);
            let (got, want) = (&got[0], &want[0]);
            prop_assert_eq!(
                (got.track_id, got.codec, got.packet_type),
                (want.track_id, want.codec, want.packet_type)
            );
            prop_assert_eq!(cut - got.body.len(), encoded.len() - want.body.len());
            prop_assert!(want.body.starts_with(&got.body));
            // A MultichannelConfig is part of the header: cutting it is a truncation.
            prop_assert_ne!(got.packet_type, Some(AudioPacketType::MultichannelConfig));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::test_support::proptest_config!("media"))]

    #[test]
    fn video_round_trips(info in any_video()) {
        let encoded = info.to_bytes().expect("strategies only produce encodable headers");
        let parsed = VideoInfo::parse(&encoded).expect("an encoded header parses");
        prop_assert_eq!(parsed.with_bodies(&encoded).map_bodies(|b| b.to_vec()), info);
    }

    #[test]
    fn audio_round_trips(info in any_audio()) {
        let encoded = info.to_bytes().expect("strategies only produce encodable headers");
        let parsed = AudioInfo::parse(&encoded).expect("an encoded header parses");
        prop_assert_eq!(parsed.with_bodies(&encoded).map_bodies(|b| b.to_vec()), info);
    }

    #[test]
    fn every_strict_video_prefix_is_truncated_or_consistent(info in any_video()) {
        let encoded = info.to_bytes().expect("encodable");
        for cut in 0..encoded.len() {
            check_video_prefix(&info, &encoded, cut)?;
        }
    }

    #[test]
    fn every_strict_audio_prefix_is_truncated_or_consistent(info in any_audio()) {
        let encoded = info.to_bytes().expect("encodable");
        for cut in 0..encoded.len() {
            check_audio_prefix(&info, &encoded, cut)?;
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        // Whatever parses must describe ranges inside the input and encode back to it.
        if let Ok(info) = VideoInfo::parse(&bytes) {
            for track in info.tracks() {
                prop_assert!(track.body.end <= bytes.len() && track.body.start <= track.body.end);
            }
            let _ = info.with_bodies(&bytes).to_bytes();
            let _ = (info.is_keyframe(), info.is_sequence_header(), info.codec(), info.command());
        }
        if let Ok(info) = AudioInfo::parse(&bytes) {
            for track in info.tracks() {
                prop_assert!(track.body.end <= bytes.len() && track.body.start <= track.body.end);
            }
            let _ = info.with_bodies(&bytes).to_bytes();
        }
        let _ = MultichannelConfig::parse(&bytes);
    }

    #[test]
    fn mostly_valid_headers_never_panic(
        first in proptest::sample::select(&[0x17u8, 0x27, 0x57, 0x90, 0x91, 0x96, 0x97, 0xD4, 0xAF, 0x95][..]),
        rest in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        // Random bytes rarely get past the first byte; these start from real header bytes.
        let mut payload = alloc::vec![first];
        payload.extend_from_slice(&rest);
        // ModEx chains are not kept (unknown entries are skipped, sizes normalised), so only
        // headers without one re-encode to the same bytes.
        let starts_with_mod_ex = first & 0x8F == 0x87;
        if let Ok(info) = VideoInfo::parse(&payload) {
            let reencoded = info.with_bodies(&payload).to_bytes();
            // Encoding what was parsed reproduces the payload, except where the wire had
            // freedom the description does not keep (ModEx chains, command frames).
            if let (Ok(bytes), false, false) = (&reencoded, starts_with_mod_ex, info.is_video_info_frame()) {
                prop_assert_eq!(&bytes[..], &payload[..]);
            }
        }
        if let Ok(info) = AudioInfo::parse(&payload) {
            if let (Ok(bytes), false) = (info.with_bodies(&payload).to_bytes(), starts_with_mod_ex) {
                prop_assert_eq!(&bytes[..], &payload[..]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A real file: `tests/fixtures/captures/clip.flv`, H.264 + AAC made by ffmpeg with `-g 10`.
// ---------------------------------------------------------------------------------------------

const CLIP: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/captures/clip.flv"
));

#[test]
fn ffmpeg_clip_has_sequence_headers_first_and_a_keyframe_every_ten_frames() {
    let mut buf = BytesMut::from(CLIP);
    let mut reader = FlvReader::new();
    let mut video = Vec::new();
    let mut audio = Vec::new();
    while let Some(tag) = reader.read_tag(&mut buf).unwrap() {
        match tag.tag_type {
            tag_type::VIDEO => video.push(tag.data),
            tag_type::AUDIO => audio.push(tag.data),
            _ => {}
        }
    }
    assert!(buf.is_empty(), "the whole file was read");

    let video: Vec<(VideoInfo, bytes::Bytes)> = video
        .into_iter()
        .map(|data| (VideoInfo::parse(&data).unwrap(), data))
        .collect();
    let audio: Vec<(AudioInfo, bytes::Bytes)> = audio
        .into_iter()
        .map(|data| (AudioInfo::parse(&data).unwrap(), data))
        .collect();

    let (first_video, first_video_data) = &video[0];
    assert!(first_video.is_sequence_header() && !first_video.enhanced);
    assert_eq!(first_video.codec(), Some(VideoCodec::Avc));
    // An AVCDecoderConfigurationRecord starts with configurationVersion 1.
    assert_eq!(
        first_video.tracks()[0].body_in(first_video_data).first(),
        Some(&1)
    );

    let (first_audio, first_audio_data) = &audio[0];
    assert!(first_audio.is_sequence_header());
    assert_eq!(first_audio.codec(), Some(AudioCodec::Aac));
    assert_eq!(first_audio.legacy_params, Some(SoundParams::AAC));
    // An AudioSpecificConfig is at least two bytes.
    assert!(first_audio.tracks()[0].body_in(first_audio_data).len() >= 2);

    let frames: Vec<&VideoInfo> = video
        .iter()
        .map(|(info, _)| info)
        .filter(|info| info.packet_type() == Some(VideoPacketType::CodedFrames))
        .collect();
    assert!(frames.len() >= 10, "{} coded frames", frames.len());
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(frame.is_keyframe(), index % 10 == 0, "frame {index}");
        assert!(frame.composition_time() >= 0);
    }
    assert!(audio[1..].iter().all(|(info, _)| {
        info.codec() == Some(AudioCodec::Aac)
            && info.packet_type() == Some(AudioPacketType::CodedFrames)
    }));

    // Re-encoding every parsed header reproduces every tag byte for byte.
    for (info, data) in &video {
        assert_eq!(info.with_bodies(data).to_bytes().unwrap(), data);
    }
    for (info, data) in &audio {
        assert_eq!(info.with_bodies(data).to_bytes().unwrap(), data);
    }
}
