//! Live statistics of the relay: what each stream carries and how fast, what each connection
//! sends and receives. Counted by the hub and the connections as they work, in the caller's
//! time; read with [`Hub::stats`](super::Hub::stats).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use super::frame::{Frame, Item, MediaKind, TrackSet};
use super::hub::StreamKey;
use crate::amf::Value;
use crate::media::{AudioInfo, VideoInfo};
use crate::session::Instant;

/// The span [`StreamStats::bitrate_in`] is measured over.
pub const BITRATE_WINDOW: Duration = Duration::from_secs(5);

/// One stream, as [`Hub::stats`](super::Hub::stats) sees it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StreamStats {
    /// The stream.
    pub key: StreamKey,
    /// The publisher's address, as its driver named it
    /// ([`RelayConnection::set_peer`](super::RelayConnection::set_peer)); `None` if the stream
    /// has no publisher or the driver named none.
    pub publisher: Option<String>,
    /// How long the current publisher has published; `None` without one.
    pub uptime: Option<Duration>,
    /// Codecs, tracks, picture size and frame rate, as far as the stream said.
    pub media: MediaInfo,
    /// Media bits per second received over the last [`BITRATE_WINDOW`] (or since the
    /// publish started, if later).
    pub bitrate_in: u64,
    /// Media payload bytes received from publishers since the stream appeared.
    pub bytes_in: u64,
    /// Media payload bytes sent to its players since the stream appeared.
    pub bytes_out: u64,
    /// Players playing it (or waiting for its publisher).
    pub players: usize,
}

/// What a stream says of its media: from its sequence headers and frames (codecs and tracks)
/// and its `onMetaData` (the rest).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct MediaInfo {
    /// Each video track: its id and codec (the FourCC, e.g. `avc1`, `hvc1`, `av01`).
    pub video_tracks: Vec<(u8, String)>,
    /// Each audio track: its id and codec (e.g. `mp4a`, `Opus`, `.mp3`).
    pub audio_tracks: Vec<(u8, String)>,
    /// `width` of the metadata.
    pub width: Option<f64>,
    /// `height` of the metadata.
    pub height: Option<f64>,
    /// `framerate` of the metadata.
    pub frame_rate: Option<f64>,
}

/// One connection, as [`Hub::stats`](super::Hub::stats) sees it: its byte counts, round trip
/// and queue are as of the last call its driver made.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// The hub's number for the connection, unique while the hub lives.
    pub id: u64,
    /// Its address, as the driver named it.
    pub peer: Option<String>,
    /// What it does.
    pub role: ConnectionRole,
    /// Bytes received (the chunk stream, after the handshake).
    pub bytes_in: u64,
    /// Bytes sent (chunked for the socket).
    pub bytes_out: u64,
    /// The last ping's round trip, if one was measured.
    pub round_trip: Option<Duration>,
    /// Bytes queued for the peer and not written yet.
    pub queued_bytes: u64,
    /// Video messages dropped for it because its queue was congested.
    pub dropped_video: u64,
}

/// What a connection does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionRole {
    /// Neither publishes nor plays (yet).
    Idle,
    /// Publishes this stream.
    Publisher(StreamKey),
    /// Plays this stream.
    Player(StreamKey),
}

/// Every stream and connection of a hub.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RelayStats {
    /// Each stream, in key order.
    pub streams: Vec<StreamStats>,
    /// Each connection, oldest first.
    pub connections: Vec<ConnectionStats>,
}

/// A connection's counters: written by its [`RelayConnection`](super::RelayConnection) as it
/// works, without the hub's lock, read by whoever asks for stats.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    /// Media payload bytes sent to its player.
    pub(crate) media_out: AtomicU64,
    /// Round trip in microseconds, plus one; 0 if unknown.
    pub(crate) round_trip: AtomicU64,
    pub(crate) queued_bytes: AtomicU64,
    pub(crate) dropped_video: AtomicU64,
}

impl Counters {
    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub(crate) fn set(counter: &AtomicU64, value: u64) {
        counter.store(value, Ordering::Relaxed);
    }

    /// Adds `value`. A connection's counters have one writer, the connection (readers take
    /// them from other threads): a load and a store, without the locked read-modify-write of
    /// `fetch_add`, which a relay paid per player and frame.
    pub(crate) fn add(counter: &AtomicU64, value: u64) {
        let sum = counter.load(Ordering::Relaxed).wrapping_add(value);
        counter.store(sum, Ordering::Relaxed);
    }

    pub(crate) fn round_trip(&self) -> Option<Duration> {
        match Self::get(&self.round_trip) {
            0 => None,
            micros => Some(Duration::from_micros(micros - 1)),
        }
    }
}

/// Bytes per whole second of the caller's clock, for the last few seconds.
#[derive(Clone, Debug, Default)]
pub(crate) struct RateMeter {
    /// `(second, bytes)`, one slot per second modulo the length.
    slots: [(u64, u64); 8],
}

impl RateMeter {
    pub(crate) fn add(&mut self, now: Instant, bytes: u64) {
        let second = now.as_millis() / 1000;
        let slots = self.slots.len() as u64;
        if let Some(slot) = self.slots.get_mut((second % slots) as usize) {
            if slot.0 != second {
                *slot = (second, 0);
            }
            slot.1 += bytes;
        }
    }

    /// Bits per second over the last [`BITRATE_WINDOW`], counted from `since` if later.
    pub(crate) fn bits_per_second(&self, now: Instant, since: Instant) -> u64 {
        let window = BITRATE_WINDOW.as_secs();
        let second = now.as_millis() / 1000;
        let bytes: u64 = self
            .slots
            .iter()
            .filter(|(at, _)| *at <= second && second - *at < window)
            .map(|(_, bytes)| *bytes)
            .sum();
        // The current second is partly over: the span ends now.
        let start = (second + 1).saturating_sub(window) * 1000;
        let start = start.max(since.as_millis());
        let millis = now.as_millis().saturating_sub(start).max(1);
        bytes.saturating_mul(8000) / millis
    }
}

/// What the hub learns of a stream's media as it passes.
#[derive(Clone, Debug, Default)]
pub(crate) struct MediaWatch {
    pub(crate) info: MediaInfo,
    video_seen: TrackSet,
    audio_seen: TrackSet,
}

impl MediaWatch {
    pub(crate) fn watch(&mut self, item: &Item) {
        match item {
            Item::Media(frame) => self.watch_frame(frame),
            Item::Metadata { metadata, .. } => {
                let number = |name: &str| metadata.get(name).and_then(Value::as_f64);
                self.info.width = number("width").or(self.info.width);
                self.info.height = number("height").or(self.info.height);
                self.info.frame_rate = number("framerate").or(self.info.frame_rate);
            }
            _ => {}
        }
    }

    /// Learns the codec of tracks not seen yet: most frames cost a set lookup, not a parse.
    fn watch_frame(&mut self, frame: &Frame) {
        let (seen, tracks) = match frame.kind {
            MediaKind::Video => (&mut self.video_seen, &mut self.info.video_tracks),
            MediaKind::Audio => (&mut self.audio_seen, &mut self.info.audio_tracks),
        };
        if seen.contains_all(frame.tracks) {
            return;
        }
        let mut found = Vec::new();
        match frame.kind {
            MediaKind::Video => {
                if let Ok(info) = VideoInfo::parse(&frame.payload) {
                    for track in info.tracks() {
                        let codec = match track.codec.fourcc() {
                            Some(fourcc) => format!("{fourcc}"),
                            None => format!("{:?}", track.codec),
                        };
                        found.push((track.track_id, codec));
                    }
                }
            }
            MediaKind::Audio => {
                if let Ok(info) = AudioInfo::parse(&frame.payload) {
                    for track in info.tracks() {
                        let codec = match track.codec.fourcc() {
                            Some(fourcc) => format!("{fourcc}"),
                            None => format!("{:?}", track.codec),
                        };
                        found.push((track.track_id, codec));
                    }
                }
            }
        }
        // A frame that does not parse still marks its tracks, so it is not parsed again.
        seen.extend(frame.tracks);
        for (id, codec) in found {
            if !tracks.iter().any(|(known, _)| *known == id) {
                tracks.push((id, codec));
                tracks.sort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bitrate_is_over_the_last_seconds_or_since_the_start() {
        let mut meter = RateMeter::default();
        let at = Instant::from_millis;
        // 1000 bytes every 100 ms for 10 s: 80 kbit/s.
        for tenth in 0..100 {
            meter.add(at(10_000 + tenth * 100), 1000);
        }
        let rate = meter.bits_per_second(at(19_999), at(10_000));
        assert!((79_000..=81_000).contains(&rate), "{rate}");
        // Started half a second ago: measured over that half second.
        let mut young = RateMeter::default();
        young.add(at(500), 5000);
        assert_eq!(young.bits_per_second(at(1000), at(500)), 80_000);
        // Silent for long: nothing.
        assert_eq!(meter.bits_per_second(at(40_000), at(10_000)), 0);
    }
}
