//! A publisher's move to another server on a ReconnectRequest (Enhanced RTMP v2, "Reconnect"):
//! the old connection carries the stream up to the next video keyframe, the new one from it.

use alloc::collections::VecDeque;
use alloc::string::String;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Send it on the current connection.
    Send,
    /// The frame is the move's keyframe, kept: close the current connection (after what it
    /// has queued), connect to `tc_url`, publish the same name, then send
    /// [`Handover::resume`]'s frames.
    Reconnect {
        /// Where to go: the ReconnectRequest's `tcUrl`, or the current one if it had none.
        tc_url: Option<String>,
    },
    /// The move is under way; the frame is kept for the new connection.
    Queued,
}

/// A frame could not be kept while the publisher moves.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandoverError {
    /// More than the bound waits for the new connection.
    #[error("{queued} bytes wait for the new connection, over the {limit}-byte bound")]
    QueueFull {
        /// What waits, with the frame refused.
        queued: usize,
        /// The bound.
        limit: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Steady,
    /// Asked to move; waiting for a keyframe.
    Requested(Option<String>),
    /// Moving: frames from the keyframe on wait.
    Moving,
}

/// The "hold until the next keyframe, then switch" decision both adapters' publishers use
/// (Enhanced RTMP v2, "Reconnect"): feed it the connection's statuses
/// ([`on_status`](Self::on_status)) and pass every frame through [`route`](Self::route)
/// before sending it. No frame goes twice or is lost: those before the keyframe go on the old
/// connection, those from it on (at most `limit` payload bytes) wait for the new one; the
/// last metadata ([`note_metadata`](Self::note_metadata)) and sequence headers go first
/// there.
#[derive(Clone, Debug)]
pub struct Handover {
    state: State,
    limit: usize,
    queued: VecDeque<HandoverFrame>,
    queued_bytes: usize,
    video_header: Option<HandoverFrame>,
    audio_header: Option<HandoverFrame>,
    metadata: Option<Value>,
}

impl Handover {
    /// A publisher that keeps at most `limit` payload bytes while it moves.
    pub fn new(limit: usize) -> Self {
        Handover {
            state: State::Steady,
            limit,
            queued: VecDeque::new(),
            queued_bytes: 0,
            video_header: None,
            audio_header: None,
            metadata: None,
        }
    }

    /// Notes a status of the connection; whether it was a ReconnectRequest (Enhanced RTMP v2:
    /// `onStatus` on stream 0, level `status`, its `tcUrl` where to go). A request during a
    /// move is ignored.
    pub fn on_status(&mut self, status: &Status) -> bool {
        if status.code != RECONNECT_REQUEST || status.is_error() {
            return false;
        }
        if self.state == State::Steady {
            self.state = State::Requested(status.tc_url().map(String::from));
        }
        true
    }

    /// Whether a move is asked for or under way.
    pub fn is_moving(&self) -> bool {
        self.state != State::Steady
    }

    /// Decides what becomes of a frame the application publishes.
    pub fn route(&mut self, frame: HandoverFrame) -> Result<Route, HandoverError> {
        let (key, header) = match frame.kind {
            HandoverKind::Video => {
                VideoInfo::parse(&frame.payload).map_or((false, false), |info| {
                    (
                        info.is_keyframe() && !info.is_sequence_header(),
                        info.is_sequence_header(),
                    )
                })
            }
            HandoverKind::Audio => (
                false,
                AudioInfo::parse(&frame.payload).is_ok_and(|info| info.is_sequence_header()),
            ),
        };
        if header {
            let slot = match frame.kind {
                HandoverKind::Video => &mut self.video_header,
                HandoverKind::Audio => &mut self.audio_header,
            };
            *slot = Some(frame.clone());
        }
        match &mut self.state {
            State::Steady => Ok(Route::Send),
            State::Requested(_) if !key => Ok(Route::Send),
            State::Requested(tc_url) => {
                let tc_url = tc_url.take();
                self.keep(frame)?;
                self.state = State::Moving;
                Ok(Route::Reconnect { tc_url })
            }
            State::Moving => self.keep(frame).map(|()| Route::Queued),
        }
    }

    fn keep(&mut self, frame: HandoverFrame) -> Result<(), HandoverError> {
        let queued = self.queued_bytes + frame.payload.len();
        if queued > self.limit {
            return Err(HandoverError::QueueFull {
                queued,
                limit: self.limit,
            });
        }
        self.queued_bytes = queued;
        self.queued.push_back(frame);
        Ok(())
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

    /// The new connection publishes: what it sends first, in order (the last sequence
    /// headers, then the keyframe and every frame kept since). The move is over.
    pub fn resume(&mut self) -> impl Iterator<Item = HandoverFrame> {
        self.state = State::Steady;
        self.queued_bytes = 0;
        let headers = [self.video_header.clone(), self.audio_header.clone()];
        let kept = core::mem::take(&mut self.queued);
        headers.into_iter().flatten().chain(kept)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;
    use crate::amf::{Object, Value};

    fn video(timestamp: u32, first: u8) -> HandoverFrame {
        HandoverFrame {
            kind: HandoverKind::Video,
            timestamp,
            payload: Bytes::from(alloc::vec![first, 0x01, 0, 0, 0, timestamp as u8]),
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
    fn frames_go_on_until_the_keyframe_which_and_what_follows_wait_for_the_new_connection() {
        let mut handover = Handover::new(1024);
        let header = HandoverFrame {
            kind: HandoverKind::Video,
            timestamp: 0,
            payload: Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 1]),
        };
        assert_eq!(handover.route(header.clone()), Ok(Route::Send));
        assert_eq!(handover.route(video(0, 0x17)), Ok(Route::Send));
        assert!(handover.on_status(&request(Some("rtmp://b/live"))));
        assert_eq!(handover.route(video(40, 0x27)), Ok(Route::Send));
        assert_eq!(
            handover.route(video(80, 0x17)),
            Ok(Route::Reconnect {
                tc_url: Some(String::from("rtmp://b/live"))
            })
        );
        assert_eq!(handover.route(video(120, 0x27)), Ok(Route::Queued));
        let resumed: Vec<_> = handover.resume().collect();
        assert_eq!(resumed, [header, video(80, 0x17), video(120, 0x27)]);
        assert!(!handover.is_moving());
        assert_eq!(handover.route(video(160, 0x27)), Ok(Route::Send));
    }

    #[test]
    fn the_last_metadata_is_kept_for_the_new_connection() {
        let mut handover = Handover::new(1024);
        assert_eq!(handover.metadata(), None);
        handover.note_metadata(&Value::Number(1.0));
        handover.note_metadata(&Value::Number(2.0));
        assert!(handover.on_status(&request(None)));
        let _ = handover.route(video(0, 0x17));
        let _ = handover.resume().count();
        assert_eq!(handover.metadata(), Some(&Value::Number(2.0)));
    }

    #[test]
    fn past_the_bound_a_frame_is_refused_with_a_typed_error_and_other_statuses_do_nothing() {
        let mut handover = Handover::new(8);
        let mut other = Object::new();
        other.insert("code", "NetStream.Publish.Start");
        assert!(!handover.on_status(&Status::from_info(Value::from(other))));
        assert!(handover.on_status(&request(None)));
        assert_eq!(
            handover.route(video(0, 0x17)),
            Ok(Route::Reconnect { tc_url: None })
        );
        assert_eq!(
            handover.route(video(40, 0x27)),
            Err(HandoverError::QueueFull {
                queued: 12,
                limit: 8
            })
        );
    }
}
