//! What a publisher's messages become on their way to players: each audio or video message is
//! read once, on the publisher's side, for what every player and the join cache need to know
//! (its tracks, whether it is a keyframe or a sequence header, and its default-track form), so
//! that no player parses it again.

use alloc::sync::Arc;

use bytes::Bytes;

use crate::amf::Value;
use crate::chunk::{ChunkStreamId, ChunkedMessage};
use crate::media::{
    AudioCodec, AudioInfo, AudioPacketType, VideoCodec, VideoFrameType, VideoInfo, VideoPacketType,
};
use crate::message::Data;
use crate::{type_id, RawMessage};

/// Audio or video (RTMP 1.0 §7.1.4, §7.1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    /// An audio message (type 8).
    Audio,
    /// A video message (type 9).
    Video,
}

/// A set of track ids (Enhanced RTMP v2 multitrack `trackId`, a `UI8`): 256 bits, no
/// allocation. A single-track message is track 0.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackSet([u64; 4]);

impl TrackSet {
    /// No track.
    pub const EMPTY: TrackSet = TrackSet([0; 4]);
    /// Track 0 alone: the default track, and the only one of a single-track message.
    pub const DEFAULT: TrackSet = TrackSet([1, 0, 0, 0]);

    /// The set holding `id` alone.
    pub fn of(id: u8) -> TrackSet {
        let mut set = TrackSet::EMPTY;
        set.insert(id);
        set
    }

    /// Adds `id`.
    pub fn insert(&mut self, id: u8) {
        if let Some(word) = self.0.get_mut(usize::from(id / 64)) {
            *word |= 1 << (id % 64);
        }
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: u8) -> bool {
        self.0
            .get(usize::from(id / 64))
            .is_some_and(|word| word & (1 << (id % 64)) != 0)
    }

    /// Whether every track of `other` is in this set.
    pub fn contains_all(&self, other: TrackSet) -> bool {
        self.0
            .iter()
            .zip(other.0)
            .all(|(mine, theirs)| theirs & !mine == 0)
    }

    /// Adds every track of `other`.
    pub fn extend(&mut self, other: TrackSet) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine |= theirs;
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|word| *word == 0)
    }

    /// The ids in the set, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        // Word by word, bit by bit: a set is read for every frame, and is mostly track 0.
        (0u8..).zip(self.0).flat_map(|(word_index, word)| {
            let mut bits = word;
            core::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let bit = bits.trailing_zeros() as u8;
                bits &= bits - 1;
                Some(word_index * 64 + bit)
            })
        })
    }

    /// How many tracks the set holds.
    pub fn len(&self) -> usize {
        self.0.iter().map(|word| word.count_ones() as usize).sum()
    }
}

impl core::fmt::Debug for TrackSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// What part an audio or video message plays for a player that starts at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Decoder configuration: a sequence header (AVC/HEVC record, AAC AudioSpecificConfig,
    /// an enhanced `SequenceStart`). Cached per track; every player gets the latest.
    SequenceHeader,
    /// Configuration that is not a sequence header but that a player joining later also needs:
    /// an enhanced video `Metadata` packet (HDR `colorInfo`), an audio `MultichannelConfig`.
    Configuration,
    /// A video frame a player can start decoding from.
    Keyframe,
    /// Anything else: inter frames, audio frames, sequence ends, command frames, and payloads
    /// that are empty or do not parse (forwarded unchanged, as the media module advises).
    Other,
}

/// Where a receiver of a stream (a player, an upstream) may start each video track: on a
/// keyframe. Inter frames of a track that has not started since the last
/// [`reset`](Self::reset) are refused; configuration always passes. The one rule both
/// players and upstream feeds follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyframeGate {
    started: TrackSet,
}

impl KeyframeGate {
    /// Whether a message of `kind` and `role` on `tracks` is let through; a video keyframe
    /// starts its tracks.
    pub fn admit(&mut self, kind: MediaKind, role: Role, tracks: TrackSet) -> bool {
        if kind != MediaKind::Video {
            return true;
        }
        match role {
            Role::SequenceHeader | Role::Configuration => true,
            Role::Keyframe => {
                self.started.extend(tracks);
                true
            }
            Role::Other => self.started.contains_all(tracks),
        }
    }

    /// Every track waits for its next keyframe again (a new publisher, missed batches).
    pub fn reset(&mut self) {
        self.started = TrackSet::EMPTY;
    }
}

/// One audio or video message of a publisher, classified once for all players.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Audio or video.
    pub kind: MediaKind,
    /// The message timestamp, in milliseconds.
    pub timestamp: u32,
    /// The payload as the publisher sent it: an FLV audio or video tag body.
    pub payload: Bytes,
    /// The tracks the payload carries (track 0 for a single-track message).
    pub tracks: TrackSet,
    /// What the message is to a player starting at it.
    pub role: Role,
    /// The message as a player that takes the default track only is sent it: the payload
    /// itself when it is a single-track message, track 0 rewritten as a single-track message
    /// when it travels in multitrack form, `None` when the message carries no track 0.
    pub default_track: Option<Bytes>,
    /// `payload` chunked once for all the players that take every track
    /// ([`chunk`](Self::chunk)); `None` until then.
    pub chunked: Option<ChunkedMessage>,
    /// `default_track` chunked once for all the players that take the default track alone.
    pub default_chunked: Option<ChunkedMessage>,
}

impl Frame {
    /// Reads `payload` once (FLV spec Annex E.4.2/E.4.3; Enhanced RTMP v2 `ExAudioTagHeader`,
    /// `ExVideoTagHeader`, multitrack).
    pub fn new(kind: MediaKind, timestamp: u32, payload: Bytes) -> Frame {
        let (tracks, role, default_track) = match kind {
            MediaKind::Video => classify_video(&payload),
            MediaKind::Audio => classify_audio(&payload),
        };
        Frame {
            kind,
            timestamp,
            default_track: default_track.unwrap_or_else(|| Some(payload.clone())),
            payload,
            tracks,
            role,
            chunked: None,
            default_chunked: None,
        }
    }

    /// Chunks the payload and the default-track form once, at `chunk_size` on message stream
    /// `stream_id`, for every player that sends at that chunk size on that stream
    /// ([`ServerConnection::send_chunked`](crate::session::server::ServerConnection::send_chunked)):
    /// the players then share the chunks, headers included, as they share the payload.
    pub fn chunk(&mut self, chunk_size: u32, stream_id: u32) {
        let (type_id, csid) = match self.kind {
            MediaKind::Audio => (type_id::AUDIO, ChunkStreamId::AUDIO),
            MediaKind::Video => (type_id::VIDEO, ChunkStreamId::VIDEO),
        };
        let chunk = |payload: &Bytes| {
            let message = RawMessage {
                timestamp: self.timestamp,
                type_id,
                stream_id,
                payload: payload.clone(),
            };
            ChunkedMessage::new(csid, message, chunk_size).ok()
        };
        self.chunked = chunk(&self.payload);
        self.default_chunked = match &self.default_track {
            // A single-track message is its own default form.
            Some(default)
                if default.as_ptr() == self.payload.as_ptr()
                    && default.len() == self.payload.len() =>
            {
                self.chunked.clone()
            }
            Some(default) => chunk(default),
            None => None,
        };
    }

    /// The frame without its chunked forms, for keeping: they double its memory, and what is
    /// sent from a cache (a joining player's burst) is sent once.
    pub fn without_chunks(&self) -> Frame {
        Frame {
            kind: self.kind,
            timestamp: self.timestamp,
            payload: self.payload.clone(),
            tracks: self.tracks,
            role: self.role,
            default_track: self.default_track.clone(),
            chunked: None,
            default_chunked: None,
        }
    }

    /// The frame without its chunked forms and with payloads of its own, for keeping long (a
    /// stream's sequence headers): the decoder copies small audio and video payloads into
    /// blocks shared with the frames around them
    /// ([`CARVE_UP_TO`](crate::chunk::CARVE_UP_TO)), which a frame kept for the stream's
    /// whole life would keep alive.
    pub fn detached(&self) -> Frame {
        let payload = Bytes::copy_from_slice(&self.payload);
        let default_track = self.default_track.as_ref().map(|default| {
            if default.as_ptr() == self.payload.as_ptr() && default.len() == self.payload.len() {
                payload.clone()
            } else {
                Bytes::copy_from_slice(default)
            }
        });
        Frame {
            kind: self.kind,
            timestamp: self.timestamp,
            payload,
            tracks: self.tracks,
            role: self.role,
            default_track,
            chunked: None,
            default_chunked: None,
        }
    }

    /// Whether this is a video message.
    pub fn is_video(&self) -> bool {
        self.kind == MediaKind::Video
    }

    /// Payload bytes it holds (the default-track copy, made only for multitrack messages that
    /// carry track 0, is not counted: it shares nothing with the payload but is at most as
    /// large).
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }
}

/// `(tracks, role, default form)`: the default form is `None` for "the payload itself".
type Classified = (TrackSet, Role, Option<Option<Bytes>>);

fn classify_video(payload: &[u8]) -> Classified {
    match legacy_avc_role(payload) {
        Some(role) => (TrackSet::DEFAULT, role, None),
        None => classify_parsed_video(payload),
    }
}

fn classify_parsed_video(payload: &[u8]) -> Classified {
    let Ok(info) = VideoInfo::parse(payload) else {
        return (TrackSet::DEFAULT, Role::Other, None);
    };
    let role = if info.is_sequence_header() {
        Role::SequenceHeader
    } else if info.is_metadata() {
        Role::Configuration
    } else if info.is_keyframe() {
        Role::Keyframe
    } else {
        Role::Other
    };
    let tracks = info.tracks();
    classified(
        info.multitrack_type().is_some(),
        tracks.iter().map(|t| t.track_id),
        role,
        || {
            let track = tracks.iter().find(|track| track.track_id == 0)?;
            single_track_video(
                info.frame_type,
                track.codec,
                track.packet_type?,
                track.composition_time,
                track.body_in(payload),
            )
        },
    )
}

/// The role of a legacy AVC key or inter frame (E-RTMP's ExHeader bit clear, codec id 7,
/// frame type 1 or 2, AVCPacketType 0-2 and the composition time present: FLV 10.1 §E.4.3.1),
/// which most publishers send, read from its header bytes; `None` for any other message,
/// which [`VideoInfo::parse`] reads in full. The same answer as that parse, without it.
#[inline]
fn legacy_avc_role(payload: &[u8]) -> Option<Role> {
    let [first, packet_type, _, _, _, ..] = *payload else {
        return None;
    };
    let frame_type = first >> 4;
    if first & 0x0F != 7 || !matches!(frame_type, 1 | 2) {
        return None;
    }
    match packet_type {
        0 => Some(Role::SequenceHeader),
        1 if frame_type == 1 => Some(Role::Keyframe),
        1 | 2 => Some(Role::Other),
        _ => None,
    }
}

/// The role of a legacy AAC message (sound format 10, AACPacketType 0 or 1: FLV 10.1
/// §E.4.2.1) from its first two bytes; `None` for any other message, which
/// [`AudioInfo::parse`] reads in full.
#[inline]
fn legacy_aac_role(payload: &[u8]) -> Option<Role> {
    match *payload {
        [first, 0, ..] if first >> 4 == 10 => Some(Role::SequenceHeader),
        [first, 1, ..] if first >> 4 == 10 => Some(Role::Other),
        _ => None,
    }
}

/// The track set of a message with these track ids (a command frame, which has none, belongs
/// to track 0), and its default-track form: the payload itself unless it is multitrack.
fn classified(
    multitrack: bool,
    track_ids: impl Iterator<Item = u8>,
    role: Role,
    default_track: impl FnOnce() -> Option<Bytes>,
) -> Classified {
    let mut tracks = TrackSet::EMPTY;
    for id in track_ids {
        tracks.insert(id);
    }
    if !multitrack || tracks.is_empty() {
        return (TrackSet::DEFAULT, role, None);
    }
    (tracks, role, Some(default_track()))
}

/// Track 0 of a multitrack video message as a message of its own: the legacy FLV form for AVC
/// (what players that predate Enhanced RTMP read), the single-track enhanced form otherwise.
fn single_track_video(
    frame_type: VideoFrameType,
    codec: VideoCodec,
    packet_type: VideoPacketType,
    composition_time: i32,
    body: &[u8],
) -> Option<Bytes> {
    let legacy_packet_type = match packet_type {
        VideoPacketType::SequenceStart
        | VideoPacketType::CodedFrames
        | VideoPacketType::SequenceEnd => Some(packet_type),
        // CodedFramesX is CodedFrames with a zero composition time left out.
        VideoPacketType::CodedFramesX => Some(VideoPacketType::CodedFrames),
        _ => None,
    };
    let rebuilt = match (codec, legacy_packet_type) {
        (VideoCodec::Avc, Some(legacy)) => {
            VideoInfo::legacy_avc(frame_type, legacy, composition_time, body).to_bytes()
        }
        _ => VideoInfo::enhanced(frame_type, codec, packet_type, composition_time, body).to_bytes(),
    };
    rebuilt.ok()
}

fn classify_audio(payload: &[u8]) -> Classified {
    match legacy_aac_role(payload) {
        Some(role) => (TrackSet::DEFAULT, role, None),
        None => classify_parsed_audio(payload),
    }
}

fn classify_parsed_audio(payload: &[u8]) -> Classified {
    let Ok(info) = AudioInfo::parse(payload) else {
        return (TrackSet::DEFAULT, Role::Other, None);
    };
    let role = if info.is_sequence_header() {
        Role::SequenceHeader
    } else if info.is_multichannel_config() {
        Role::Configuration
    } else {
        Role::Other
    };
    let tracks = info.tracks();
    classified(
        info.multitrack_type().is_some(),
        tracks.iter().map(|t| t.track_id),
        role,
        || {
            let track = tracks.iter().find(|track| track.track_id == 0)?;
            single_track_audio(track.codec, track.packet_type?, track.body_in(payload))
        },
    )
}

/// Track 0 of a multitrack audio message as a message of its own: legacy AAC (`0xAF`) where it
/// can be, the single-track enhanced form otherwise.
fn single_track_audio(
    codec: AudioCodec,
    packet_type: AudioPacketType,
    body: &[u8],
) -> Option<Bytes> {
    let legacy_aac = codec == AudioCodec::Aac
        && matches!(
            packet_type,
            AudioPacketType::SequenceStart | AudioPacketType::CodedFrames
        );
    let rebuilt = if legacy_aac {
        AudioInfo::legacy_aac(packet_type, body).to_bytes()
    } else {
        AudioInfo::enhanced(codec, packet_type, body).to_bytes()
    };
    rebuilt.ok()
}

/// One entry of a [`Batch`]: what a publisher's connection hands its players, in order.
#[derive(Clone, Debug)]
pub enum Item {
    /// An audio or video message.
    Media(Frame),
    /// Stream metadata (`onMetaData`), cached for players that join later.
    Metadata {
        /// The message timestamp.
        timestamp: u32,
        /// The metadata object, shared by all players.
        metadata: Arc<Value>,
    },
    /// Another data message (`onTextData`, `onCuePoint`...): forwarded, not cached.
    Data {
        /// The message timestamp.
        timestamp: u32,
        /// The message, shared by all players.
        data: Arc<Data>,
    },
    /// A publisher started: players get NetStream.Play.PublishNotify and wait for keyframes.
    Published,
    /// The publisher left: players get NetStream.Play.UnpublishNotify.
    Unpublished,
    /// The stream could not be pulled from any origin: players get
    /// NetStream.Play.StreamNotFound and are closed.
    NotFound,
}

impl Item {
    /// Payload bytes the item holds (media only; metadata and data are small and bounded by the
    /// connection's message limits).
    pub fn media_len(&self) -> usize {
        match self {
            Item::Media(frame) => frame.len(),
            _ => 0,
        }
    }
}

/// Items a publisher's connection hands on together, shared by every player (one allocation
/// per batch, none per player).
pub type Batch = Arc<[Item]>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{AudioTrack, MultitrackType, VideoTrack};

    fn bytes(data: &[u8]) -> Bytes {
        Bytes::copy_from_slice(data)
    }

    /// An AAC sequence header as track 0 of a multitrack audio message.
    fn multitrack_aac_sequence_header() -> Bytes {
        AudioInfo::multitrack(
            MultitrackType::OneTrack,
            alloc::vec![AudioTrack::new(
                0,
                AudioCodec::Aac,
                AudioPacketType::SequenceStart,
                &[0x12u8, 0x10][..]
            )],
        )
        .to_bytes()
        .unwrap()
    }

    #[test]
    fn track_sets_hold_every_id() {
        let mut set = TrackSet::EMPTY;
        for id in [0u8, 63, 64, 200, 255] {
            set.insert(id);
        }
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 63, 64, 200, 255]);
        assert_eq!(set.len(), 5);
        assert!(set.contains_all(TrackSet::of(200)));
        assert!(!TrackSet::of(200).contains_all(set));
        assert!(TrackSet::EMPTY.is_empty() && !set.is_empty());
        for id in 0..=u8::MAX {
            assert_eq!(TrackSet::of(id).iter().collect::<Vec<_>>(), [id]);
        }
        assert_eq!(TrackSet::EMPTY.iter().count(), 0);
    }

    #[test]
    fn a_legacy_avc_keyframe_is_track_zero_in_its_own_form() {
        let payload = bytes(&[0x17, 0x01, 0, 0, 0, 0x65, 0x88]);
        let frame = Frame::new(MediaKind::Video, 40, payload.clone());
        assert_eq!(frame.tracks, TrackSet::DEFAULT);
        assert_eq!(frame.role, Role::Keyframe);
        assert_eq!(frame.default_track, Some(payload));
    }

    #[test]
    fn a_detached_frame_owns_its_payloads_and_keeps_them_one_when_they_were() {
        let header = bytes(&[0x17, 0x00, 0, 0, 0, 0x01, 0x64]);
        let frame = Frame::new(MediaKind::Video, 0, header.clone());
        let kept = frame.detached();
        assert_eq!(kept.payload, header);
        assert_ne!(kept.payload.as_ptr(), header.as_ptr());
        let default = kept.default_track.as_ref().unwrap();
        assert_eq!(default.as_ptr(), kept.payload.as_ptr());
        assert_eq!((kept.role, kept.tracks), (frame.role, frame.tracks));
        // A multitrack message's default form is a payload of its own: copied apart.
        let audio = multitrack_aac_sequence_header();
        let frame = Frame::new(MediaKind::Audio, 0, audio);
        let kept = frame.detached();
        assert_eq!(kept.default_track, frame.default_track);
        assert_ne!(
            kept.default_track.as_ref().unwrap().as_ptr(),
            frame.default_track.as_ref().unwrap().as_ptr()
        );
        assert!(kept.chunked.is_none() && kept.default_chunked.is_none());
    }

    #[test]
    fn track_zero_of_a_multitrack_message_becomes_legacy_avc_and_aac() {
        let video = VideoInfo::multitrack(
            VideoFrameType::KeyFrame,
            MultitrackType::OneTrack,
            alloc::vec![VideoTrack::new(
                0,
                VideoCodec::Avc,
                VideoPacketType::CodedFrames,
                33,
                &[0x65u8, 0x88][..]
            )],
        )
        .to_bytes()
        .unwrap();
        let frame = Frame::new(MediaKind::Video, 0, video);
        assert_eq!(frame.role, Role::Keyframe);
        assert_eq!(
            frame.default_track.as_deref(),
            Some(&[0x17, 0x01, 0, 0, 33, 0x65, 0x88][..])
        );

        let audio = multitrack_aac_sequence_header();
        let frame = Frame::new(MediaKind::Audio, 0, audio);
        assert_eq!(frame.role, Role::SequenceHeader);
        assert_eq!(
            frame.default_track.as_deref(),
            Some(&[0xAF, 0x00, 0x12, 0x10][..])
        );
    }

    #[test]
    fn other_tracks_have_no_default_form_and_hevc_stays_enhanced() {
        let track_one = VideoInfo::multitrack(
            VideoFrameType::InterFrame,
            MultitrackType::OneTrack,
            alloc::vec![VideoTrack::new(
                1,
                VideoCodec::Avc,
                VideoPacketType::CodedFrames,
                0,
                &[1u8][..]
            )],
        )
        .to_bytes()
        .unwrap();
        let frame = Frame::new(MediaKind::Video, 0, track_one);
        assert_eq!(frame.tracks, TrackSet::of(1));
        assert_eq!(frame.default_track, None);

        let hevc = VideoInfo::multitrack(
            VideoFrameType::KeyFrame,
            MultitrackType::OneTrack,
            alloc::vec![VideoTrack::new(
                0,
                VideoCodec::Hevc,
                VideoPacketType::SequenceStart,
                0,
                &[1u8, 2][..]
            )],
        )
        .to_bytes()
        .unwrap();
        let frame = Frame::new(MediaKind::Video, 0, hevc);
        let single = frame.default_track.unwrap();
        let info = VideoInfo::parse(&single).unwrap();
        assert!(info.enhanced && info.multitrack_type().is_none() && info.is_sequence_header());
        assert_eq!(info.codec(), Some(VideoCodec::Hevc));
    }

    #[test]
    fn empty_and_garbage_payloads_pass_through_as_track_zero() {
        for payload in [&[][..], &[0xFF, 0xFF][..]] {
            let frame = Frame::new(MediaKind::Video, 0, bytes(payload));
            assert_eq!(frame.role, Role::Other);
            assert_eq!(frame.tracks, TrackSet::DEFAULT);
            assert_eq!(frame.default_track.as_deref(), Some(payload));
        }
    }

    /// Payloads near the legacy forms: a first byte that is often legacy AVC or AAC, a packet
    /// type byte around the valid ones, any length.
    fn near_legacy() -> impl proptest::strategy::Strategy<Value = alloc::vec::Vec<u8>> {
        use proptest::prelude::*;
        let first = prop_oneof![
            prop::sample::select(alloc::vec![
                0x17u8, 0x27, 0x37, 0x47, 0x57, 0x97, 0x12, 0xAF, 0xAE, 0xA0, 0x2F, 0x9F
            ]),
            any::<u8>(),
        ];
        (first, 0u8..4, prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(first, packet_type, rest)| {
                let mut payload = alloc::vec![first, packet_type];
                payload.extend(rest);
                payload
            })
            .boxed()
            .prop_union(prop::collection::vec(any::<u8>(), 0..6).boxed())
    }

    proptest::proptest! {
        #![proptest_config(crate::test_support::proptest_config!("frame"))]

        /// The legacy shortcuts answer what the full parse answers, whenever they answer.
        #[test]
        fn the_legacy_shortcuts_classify_as_the_full_parse_does(payload in near_legacy()) {
            let shortcut = |role| (TrackSet::DEFAULT, role, None);
            if let Some(role) = legacy_avc_role(&payload) {
                proptest::prop_assert_eq!(classify_parsed_video(&payload), shortcut(role));
            }
            if let Some(role) = legacy_aac_role(&payload) {
                proptest::prop_assert_eq!(classify_parsed_audio(&payload), shortcut(role));
            }
        }
    }

    #[test]
    fn the_legacy_shortcuts_take_the_common_forms() {
        assert_eq!(
            legacy_avc_role(&[0x17, 0, 0, 0, 0, 1]),
            Some(Role::SequenceHeader)
        );
        assert_eq!(
            legacy_avc_role(&[0x17, 1, 0, 0, 0, 9]),
            Some(Role::Keyframe)
        );
        assert_eq!(legacy_avc_role(&[0x27, 1, 0, 0, 0, 9]), Some(Role::Other));
        assert_eq!(legacy_avc_role(&[0x17, 2, 0, 0, 0]), Some(Role::Other));
        // A command frame, a short header, an enhanced header: the full parse.
        assert_eq!(legacy_avc_role(&[0x57, 0]), None);
        assert_eq!(legacy_avc_role(&[0x17, 1, 0, 0]), None);
        assert_eq!(legacy_avc_role(&[0x97, 1, 0, 0, 0]), None);
        assert_eq!(
            legacy_aac_role(&[0xAF, 0, 0x12, 0x10]),
            Some(Role::SequenceHeader)
        );
        assert_eq!(legacy_aac_role(&[0xAF, 1, 0x21]), Some(Role::Other));
        assert_eq!(legacy_aac_role(&[0xAF, 2]), None);
        assert_eq!(legacy_aac_role(&[0x2F, 0]), None);
    }
}
