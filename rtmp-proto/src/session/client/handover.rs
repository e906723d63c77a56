//! A publisher's move to another server on a ReconnectRequest (Enhanced RTMP v2, "Reconnect"):
//! the old connection carries the stream up to a clean cut point (the next video keyframe, or
//! for a stream that has no video, the next audio frame), the new one from it.
//!
//! # Why there is no queue
//!
//! Both adapters' publishers are one call per frame, and a call already waits whenever the
//! server falls behind (the outbound high-water mark). The move is one more such wait: the
//! call that hands over the cut point's frame closes the old connection, dials, publishes,
//! sends the metadata, the sequence headers and that frame, and only then returns. No frame
//! can be handed to the publisher between the request's cut point and the new connection
//! being ready, so there is nothing to queue: the only frame kept is the cut point's own
//! (plus what the new connection must start with). A queue here would only copy the
//! application's own buffer (the encoder's, which it needs anyway for a slow network) and
//! add a second bound and a second way to fail. The price is that the caller waits for the
//! redial (bounded by the adapter's connect and request timeouts, per attempt).
//!
//! # Where to go
//!
//! [`next_target`](Handover::next_target) decides: first the request's `tcUrl` (or, when it
//! named none, the current connection's), then, if that fails, the publisher's original URL,
//! then it gives up with [`HandoverError::Unreachable`]. A relative `tcUrl` (`//host/app`,
//! `/app`, `app`) is resolved against the current connection's, as Enhanced RTMP v2 says.

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::Status;
use crate::amf::Value;
use crate::media::{AudioInfo, VideoInfo};

/// The status code of a server asking its publisher to reconnect (Enhanced RTMP v2).
pub const RECONNECT_REQUEST: &str = "NetConnection.Connect.ReconnectRequest";

/// Which message a [`HandoverFrame`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandoverKind {
    /// An audio message.
    Audio,
    /// A video message.
    Video,
}

/// A media message the publisher sends, as [`Handover`] keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandoverFrame {
    /// Audio or video.
    pub kind: HandoverKind,
    /// Its timestamp, in milliseconds.
    pub timestamp: u32,
    /// Its payload (FLV tag body).
    pub payload: Bytes,
}

/// What the publisher does with a frame it passed to [`Handover::route`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Send it on the current connection.
    Send,
    /// The frame is the move's cut point, kept by the [`Handover`]: send what the current
    /// connection has queued and close it, then dial [`Handover::next_target`] until a
    /// connection publishes the same name (or it gives up), send
    /// [`Handover::metadata`] and [`Handover::resume`]'s frames there.
    Move,
}

/// A move could not be completed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandoverError {
    /// Neither the URL the server named nor the original one took the stream.
    #[error("no server took the stream (tried {})", tried.join(", "))]
    Unreachable {
        /// The URLs dialled, in order.
        tried: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Steady,
    /// Asked to move (to this tcUrl, if the request named one); waiting for a cut point.
    Requested(Option<String>),
    /// Moving: the cut point is kept; the URLs still to try, in reverse order.
    Moving(Vec<String>),
}

/// The "send up to a clean cut point, then switch" decision both adapters' publishers use
/// (Enhanced RTMP v2, "Reconnect"). Feed it the connection's statuses
/// ([`on_status`](Self::on_status)) and pass every frame through [`route`](Self::route)
/// before sending it; on [`Route::Move`], dial [`next_target`](Self::next_target) until one
/// publishes, then send [`metadata`](Self::metadata) and [`resume`](Self::resume).
///
/// The cut point is the next video keyframe (not a sequence header) of the default track
/// (track 0: a plain message, or a multitrack one whose first track is 0) once video has
/// been seen. A stream that never had video moves at the next audio frame (not a sequence
/// header): every audio frame of the codecs RTMP carries (AAC, MP3, Opus, ...) decodes on its
/// own given the sequence header, which the new connection sends first, so no frame before
/// the cut is needed after it. The new connection starts with the last sequence header of
/// every track of each kind (and the last Enhanced RTMP video `Metadata` packet of each
/// track, e.g. HDR `colorInfo`), in the order the stream first sent them; a multitrack
/// stream's other tracks go on from the cut with the frames that follow, up to their own
/// next keyframes. No frame goes twice or is lost: those before the cut on the
/// old connection, the cut point and what follows on the new one. The module documentation
/// says why nothing else is kept.
#[derive(Clone, Debug)]
pub struct Handover {
    state: State,
    /// Where the publisher first connected: where it goes back to if the move's URL fails.
    original: String,
    /// The current connection's tcUrl, which a relative request is resolved against.
    current: String,
    /// The cut point (and, should a move be abandoned halfway by its caller, frames routed
    /// meanwhile), for the new connection.
    kept: Vec<HandoverFrame>,
    tried: Vec<String>,
    seen_video: bool,
    /// The last sequence header (or video metadata packet) of each track of each kind, in
    /// the order first seen.
    headers: Vec<(HeaderSlot, HandoverFrame)>,
    metadata: Option<Value>,
}

/// Which header a kept frame is: its kind, its (first) track, and whether it is a video
/// `Metadata` packet rather than a sequence header.
type HeaderSlot = (HandoverKind, u8, bool);

impl Handover {
    /// A publisher that first connected to `original_tc_url`.
    pub fn new(original_tc_url: impl Into<String>) -> Self {
        let original = original_tc_url.into();
        Handover {
            state: State::Steady,
            current: original.clone(),
            original,
            kept: Vec::new(),
            tried: Vec::new(),
            seen_video: false,
            headers: Vec::new(),
            metadata: None,
        }
    }

    /// Notes a status of the connection; whether it was a ReconnectRequest (Enhanced RTMP v2:
    /// `onStatus` on stream 0, level `status`, its `tcUrl` where to go, resolved against the
    /// current connection's if relative). A request during a move is ignored.
    pub fn on_status(&mut self, status: &Status) -> bool {
        if status.code != RECONNECT_REQUEST || status.is_error() {
            return false;
        }
        if self.state == State::Steady {
            let tc_url = status
                .tc_url()
                .filter(|url| !url.is_empty())
                .map(|url| resolve(&self.current, url));
            self.state = State::Requested(tc_url);
        }
        true
    }

    /// Whether a move is asked for or under way.
    pub fn is_moving(&self) -> bool {
        self.state != State::Steady
    }

    /// Decides what becomes of a frame the application publishes.
    pub fn route(&mut self, frame: HandoverFrame) -> Route {
        let (cut, header) = match frame.kind {
            HandoverKind::Video => {
                self.seen_video = true;
                VideoInfo::parse(&frame.payload).map_or((false, None), |info| {
                    let track = info.tracks().first().map_or(0, |track| track.track_id);
                    let header = info.is_sequence_header() || info.is_metadata();
                    (
                        info.is_keyframe() && track == 0,
                        header.then_some((HandoverKind::Video, track, info.is_metadata())),
                    )
                })
            }
            HandoverKind::Audio => {
                let header = AudioInfo::parse(&frame.payload)
                    .ok()
                    .filter(|info| info.is_sequence_header())
                    .map(|info| {
                        let track = info.tracks().first().map_or(0, |track| track.track_id);
                        (HandoverKind::Audio, track, false)
                    });
                (!self.seen_video && header.is_none(), header)
            }
        };
        if let Some(slot) = header {
            match self.headers.iter_mut().find(|(kept, _)| *kept == slot) {
                Some((_, kept)) => *kept = frame.clone(),
                None => self.headers.push((slot, frame.clone())),
            }
        }
        let header = header.is_some();
        match &mut self.state {
            State::Steady => Route::Send,
            State::Requested(_) if !cut => Route::Send,
            State::Requested(tc_url) => {
                let first = tc_url.take().unwrap_or_else(|| self.current.clone());
                let mut targets = Vec::new();
                if first != self.original {
                    targets.push(self.original.clone());
                }
                targets.push(first);
                self.state = State::Moving(targets);
                self.tried.clear();
                self.kept.push(frame);
                Route::Move
            }
            // Only when a caller gave up on a move halfway (a cancelled call): the frame
            // follows the cut point, and the move goes on from the next URL.
            State::Moving(_) => {
                if !header {
                    self.kept.push(frame);
                }
                Route::Move
            }
        }
    }

    /// During a move, the URL to dial next: the request's `tcUrl` (the current connection's
    /// if it named none), then the original URL; each is given once. When both failed, the
    /// move is over and the publisher gives up with the error returned.
    pub fn next_target(&mut self) -> Result<String, HandoverError> {
        let next = match &mut self.state {
            State::Moving(targets) => targets.pop(),
            _ => None,
        };
        match next {
            Some(url) => {
                self.tried.push(url.clone());
                Ok(url)
            }
            None => {
                self.state = State::Steady;
                self.kept.clear();
                Err(HandoverError::Unreachable {
                    tried: core::mem::take(&mut self.tried),
                })
            }
        }
    }

    /// The URL this publisher first connected to, where a failed move goes back to.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Notes the stream's metadata (`onMetaData`) as the publisher sends it, so that the new
    /// connection starts with it: servers hand it to players who join.
    pub fn note_metadata(&mut self, metadata: &Value) {
        self.metadata = Some(metadata.clone());
    }

    /// The last metadata the publisher sent, which the new connection sends first, before
    /// [`resume`](Self::resume)'s frames.
    pub fn metadata(&self) -> Option<&Value> {
        self.metadata.as_ref()
    }

    /// The new connection publishes: what it sends after the metadata, in order (the last
    /// sequence headers of every track, then the cut point's frame). The move is over.
    pub fn resume(&mut self) -> impl Iterator<Item = HandoverFrame> {
        self.state = State::Steady;
        if let Some(connected) = self.tried.pop() {
            self.current = connected;
        }
        self.tried.clear();
        let headers: Vec<HandoverFrame> = self
            .headers
            .iter()
            .map(|(_, frame)| frame.clone())
            .collect();
        let kept = core::mem::take(&mut self.kept);
        headers.into_iter().chain(kept)
    }
}

/// `reference` (a `tcUrl`, absolute or relative) resolved against `base`, the current
/// connection's `tcUrl` (RFC 3986 §5.2, for the forms Enhanced RTMP v2 names: `//host/app`,
/// `/app`, and a path relative to the base's, e.g. `app`).
fn resolve(base: &str, reference: &str) -> String {
    let has_scheme = reference.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if has_scheme {
        return String::from(reference);
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return String::from(reference);
    };
    if let Some(network_path) = reference.strip_prefix("//") {
        return alloc::format!("{scheme}://{network_path}");
    }
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if reference.starts_with('/') {
        return alloc::format!("{scheme}://{authority}{reference}");
    }
    // A relative path replaces the base path's last segment.
    let directory = path
        .rfind('/')
        .and_then(|end| path.get(..=end))
        .unwrap_or("/");
    alloc::format!("{scheme}://{authority}{directory}{reference}")
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;
    use crate::amf::{Object, Value};

    fn video(timestamp: u32, first: u8) -> HandoverFrame {
        HandoverFrame {
            kind: HandoverKind::Video,
            timestamp,
            payload: Bytes::from(vec![first, 0x01, 0, 0, 0, timestamp as u8]),
        }
    }

    /// AAC: a sequence header (packet type 0) or a raw frame (1).
    fn audio(timestamp: u32, packet_type: u8) -> HandoverFrame {
        HandoverFrame {
            kind: HandoverKind::Audio,
            timestamp,
            payload: Bytes::from(vec![0xAF, packet_type, timestamp as u8]),
        }
    }

    fn request(tc_url: Option<&str>) -> Status {
        let mut info = Object::new();
        info.insert("level", "status");
        info.insert("code", RECONNECT_REQUEST);
        if let Some(tc_url) = tc_url {
            info.insert("tcUrl", tc_url);
        }
        Status::from_info(Value::from(info))
    }

    #[test]
    fn frames_go_on_until_the_keyframe_which_goes_after_the_headers_on_the_new_connection() {
        let mut handover = Handover::new("rtmp://a/live");
        let header = video(0, 0x17);
        let header = HandoverFrame {
            payload: Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 1]),
            ..header
        };
        assert_eq!(handover.route(header.clone()), Route::Send);
        assert_eq!(handover.route(video(0, 0x17)), Route::Send);
        assert_eq!(handover.route(audio(10, 1)), Route::Send);
        assert!(handover.on_status(&request(Some("rtmp://b/live"))));
        assert!(handover.is_moving());
        assert_eq!(handover.route(video(40, 0x27)), Route::Send);
        // Video was seen: audio is no cut point.
        assert_eq!(handover.route(audio(50, 1)), Route::Send);
        assert_eq!(handover.route(video(80, 0x17)), Route::Move);
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://b/live"));
        let resumed: Vec<_> = handover.resume().collect();
        assert_eq!(resumed, [header, video(80, 0x17)]);
        assert!(!handover.is_moving());
        assert_eq!(handover.route(video(120, 0x27)), Route::Send);
    }

    #[test]
    fn a_stream_without_video_moves_at_the_next_audio_frame_after_its_sequence_header() {
        let mut handover = Handover::new("rtmp://a/live");
        assert_eq!(handover.route(audio(0, 0)), Route::Send);
        assert_eq!(handover.route(audio(0, 1)), Route::Send);
        assert!(handover.on_status(&request(None)));
        // A sequence header is kept as such, never a cut point.
        assert_eq!(handover.route(audio(21, 0)), Route::Send);
        assert_eq!(handover.route(audio(23, 1)), Route::Move);
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://a/live"));
        let resumed: Vec<_> = handover.resume().collect();
        assert_eq!(resumed, [audio(21, 0), audio(23, 1)]);
    }

    #[test]
    fn a_failed_move_falls_back_to_the_original_url_then_gives_up_with_a_typed_error() {
        let mut handover = Handover::new("rtmp://a/live");
        assert!(handover.on_status(&request(Some("rtmp://b/live"))));
        assert_eq!(handover.route(video(0, 0x17)), Route::Move);
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://b/live"));
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://a/live"));
        assert_eq!(
            handover.next_target(),
            Err(HandoverError::Unreachable {
                tried: vec![String::from("rtmp://b/live"), String::from("rtmp://a/live")]
            })
        );
        assert!(!handover.is_moving());
        // Without a tcUrl, the original URL is tried once.
        assert!(handover.on_status(&request(None)));
        assert_eq!(handover.route(video(40, 0x17)), Route::Move);
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://a/live"));
        assert!(handover.next_target().is_err());
    }

    #[test]
    fn frames_routed_during_an_abandoned_move_follow_the_cut_point_and_the_move_goes_on() {
        let mut handover = Handover::new("rtmp://a/live");
        assert!(handover.on_status(&request(Some("rtmp://b/live"))));
        assert_eq!(handover.route(video(0, 0x17)), Route::Move);
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://b/live"));
        // The caller dropped that attempt; the next frame resumes the move.
        assert_eq!(handover.route(video(40, 0x27)), Route::Move);
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://a/live"));
        let resumed: Vec<_> = handover.resume().collect();
        assert_eq!(resumed, [video(0, 0x17), video(40, 0x27)]);
    }

    /// An Enhanced RTMP multitrack video message of one track (`OneTrack`, AVC):
    /// SequenceStart (0) or CodedFrames (1), key or inter.
    fn one_track(timestamp: u32, track: u8, packet_type: u8, key: bool) -> HandoverFrame {
        let frame_type = if key { 0x10 } else { 0x20 };
        HandoverFrame {
            kind: HandoverKind::Video,
            timestamp,
            // ExHeader | FrameType | PacketType Multitrack (6); OneTrack (0) | packet type;
            // FourCC; track id; then the body (CodedFrames of AVC: a composition time first).
            payload: Bytes::from(vec![
                0x80 | frame_type | 6,
                packet_type,
                b'a',
                b'v',
                b'c',
                b'1',
                track,
                0,
                0,
                0,
                timestamp as u8,
            ]),
        }
    }

    #[test]
    fn every_tracks_last_header_goes_first_and_only_the_default_tracks_keyframe_cuts() {
        let mut handover = Handover::new("rtmp://a/live");
        let header0 = HandoverFrame {
            payload: Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 1]),
            ..video(0, 0x17)
        };
        let header1 = one_track(0, 1, 0, true);
        let newer_header1 = one_track(5, 1, 0, true);
        for frame in [header0.clone(), audio(0, 0), header1, video(0, 0x17)] {
            assert_eq!(handover.route(frame), Route::Send);
        }
        assert_eq!(handover.route(one_track(0, 1, 1, true)), Route::Send);
        assert_eq!(handover.route(newer_header1.clone()), Route::Send);
        assert!(handover.on_status(&request(None)));
        // Track 1's keyframe is no cut point: track 0 would go on with inter frames.
        assert_eq!(handover.route(one_track(40, 1, 1, true)), Route::Send);
        assert_eq!(handover.route(video(80, 0x17)), Route::Move);
        let resumed: Vec<_> = handover.resume().collect();
        assert_eq!(
            resumed,
            [header0, audio(0, 0), newer_header1, video(80, 0x17)]
        );
    }

    #[test]
    fn a_relative_tc_url_is_resolved_against_the_current_connections() {
        let base = "rtmp://a.example:1935/live";
        assert_eq!(resolve(base, "rtmp://b.example/x"), "rtmp://b.example/x");
        assert_eq!(resolve(base, "rtmps://b.example/x"), "rtmps://b.example/x");
        assert_eq!(
            resolve(base, "//192.0.2.0/realtimeapp"),
            "rtmp://192.0.2.0/realtimeapp"
        );
        assert_eq!(
            resolve(base, "/realtimeapp"),
            "rtmp://a.example:1935/realtimeapp"
        );
        assert_eq!(resolve(base, "other"), "rtmp://a.example:1935/other");
        assert_eq!(resolve("rtmp://h/live?k=1", "/x"), "rtmp://h/x");

        // After a move, the current connection is the one moved to.
        let mut handover = Handover::new("rtmp://a/live");
        assert!(handover.on_status(&request(Some("//b/live"))));
        assert_eq!(handover.route(video(0, 0x17)), Route::Move);
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://b/live"));
        let _ = handover.resume().count();
        assert!(handover.on_status(&request(Some("/other"))));
        assert_eq!(handover.route(video(40, 0x17)), Route::Move);
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://b/other"));
        // The fallback is still where the publisher first connected.
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://a/live"));
        // No tcUrl: the current connection's.
        let _ = handover.resume().count();
        assert!(handover.on_status(&request(None)));
        assert_eq!(handover.route(video(80, 0x17)), Route::Move);
        assert_eq!(handover.next_target().as_deref(), Ok("rtmp://a/live"));
    }

    #[test]
    fn the_last_metadata_is_kept_and_other_statuses_do_nothing() {
        let mut handover = Handover::new("rtmp://a/live");
        assert_eq!(handover.metadata(), None);
        handover.note_metadata(&Value::Number(1.0));
        handover.note_metadata(&Value::Number(2.0));
        let mut other = Object::new();
        other.insert("code", "NetStream.Publish.Start");
        assert!(!handover.on_status(&Status::from_info(Value::from(other))));
        assert!(!handover.is_moving());
        assert!(handover.on_status(&request(None)));
        assert_eq!(handover.route(video(0, 0x17)), Route::Move);
        let _ = handover.resume().count();
        assert_eq!(handover.metadata(), Some(&Value::Number(2.0)));
    }
}
