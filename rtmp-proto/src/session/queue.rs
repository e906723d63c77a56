//! The outbound queue: messages wait here, by priority, until the adapter asks for bytes; they
//! are chunked only then, so control beats media and stale video can still be dropped.

use alloc::collections::{BTreeSet, VecDeque};

use crate::chunk::{ChunkStreamId, ChunkedMessage};
use crate::RawMessage;

use super::ApiError;

/// What kind of message is queued. Control goes before any command, commands before any media.
/// Audio and video share one lane, in the order they were sent: a player or recorder that
/// writes what arrives in arrival order (rtmpdump, for one) gets the stream interleaved as the
/// publisher sent it, even when a burst (a joining player's cached GOP) is queued at once.
/// Under congestion audio still gets through first in effect: inter-frame video is dropped
/// before it is queued, so little video waits ahead of the audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Priority {
    /// Protocol control and user control messages (RTMP 1.0 §5.4, §6.2).
    Control = 0,
    /// Commands and data messages, metadata included.
    Command = 1,
    /// Audio.
    Audio = 2,
    /// Video.
    Video = 3,
}

impl Priority {
    fn lane(self) -> usize {
        match self {
            Priority::Control => 0,
            Priority::Command => 1,
            Priority::Audio | Priority::Video => 2,
        }
    }
}

const LANES: usize = 3;
/// The lane of audio and video; the lanes before it carry everything else.
const MEDIA_LANE: usize = 2;

/// What became of a message handed to a send call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum SendStatus {
    /// Queued; the queue is below its high-water mark.
    Queued,
    /// Queued, but the queue is above its high-water mark: the peer is not keeping up. An event
    /// says when it has fallen to the low-water mark again.
    AboveHighWater,
    /// Not queued: video dropped because the peer is not keeping up (a frame that is not a
    /// keyframe, or one that depends on a frame already dropped).
    DroppedVideo,
}

/// How much a video payload matters to a player that has fallen behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VideoKind {
    /// Decoder configuration: never dropped.
    SequenceHeader,
    /// A frame a player can start decoding from.
    Keyframe,
    /// Anything else: undecodable once an earlier frame is gone.
    Other,
}

fn video_kind(payload: &[u8]) -> VideoKind {
    match crate::media::VideoInfo::parse(payload) {
        Ok(info) if info.is_sequence_header() => VideoKind::SequenceHeader,
        Ok(info) if info.is_keyframe() => VideoKind::Keyframe,
        _ => VideoKind::Other,
    }
}

/// A queued message, as it was handed over.
#[derive(Debug)]
pub(crate) enum Body {
    /// To be chunked by the connection's encoder.
    Raw(RawMessage),
    /// Chunked once for many connections (a relay's players).
    Chunked(ChunkedMessage),
}

impl Body {
    pub(crate) fn message(&self) -> &RawMessage {
        match self {
            Body::Raw(message) => message,
            Body::Chunked(chunked) => chunked.message(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) csid: ChunkStreamId,
    pub(crate) body: Body,
    /// When it was queued, counted across lanes.
    sequence: u64,
    /// Goes only after everything queued before it, whatever the lanes: a command that ends a
    /// stream must not overtake that stream's media.
    after_earlier: bool,
}

/// Capacity an emptied lane keeps: a live stream's steady flow, not a burst.
const KEEP_PER_LANE: usize = 32;

/// What a queued message costs beside its payload: its slot in a lane. Counted with the
/// payload, so that a flood of empty messages (ping answers, empty video) reaches the bounds
/// as the memory it takes does, not never.
pub(crate) const MESSAGE_OVERHEAD: usize = core::mem::size_of::<Queued>();

/// The bounds of an [`OutboundQueue`], in bytes of payload plus [`MESSAGE_OVERHEAD`] per message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    pub(crate) high_water: usize,
    pub(crate) low_water: usize,
    pub(crate) max: usize,
    /// Hard bound on everything but media (control, commands, data).
    pub(crate) command_max: usize,
}

/// Messages waiting to be chunked, bounded in bytes.
#[derive(Debug)]
pub(crate) struct OutboundQueue {
    lanes: [VecDeque<Queued>; LANES],
    queued_bytes: usize,
    /// Bytes queued in each lane.
    lane_bytes: [usize; LANES],
    /// Messages queued in the media lane.
    media_messages: usize,
    high_water: usize,
    low_water: usize,
    max: usize,
    command_max: usize,
    overhead: usize,
    drop_video: bool,
    /// Set once above the high-water mark, cleared (with a notification) at the low-water mark.
    congested: bool,
    writable_again: bool,
    /// Message streams whose video is being skipped until the next keyframe.
    skipping_video: BTreeSet<u32>,
    next_sequence: u64,
}

impl OutboundQueue {
    pub(crate) fn new(bounds: Bounds, drop_video: bool) -> Self {
        OutboundQueue {
            lanes: Default::default(),
            queued_bytes: 0,
            lane_bytes: [0; LANES],
            media_messages: 0,
            high_water: bounds.high_water,
            low_water: bounds.low_water.min(bounds.high_water),
            max: bounds.max,
            command_max: bounds.command_max,
            overhead: MESSAGE_OVERHEAD,
            drop_video,
            congested: false,
            writable_again: false,
            skipping_video: BTreeSet::new(),
            next_sequence: 0,
        }
    }

    /// Bytes waiting in the queue: payloads plus [`MESSAGE_OVERHEAD`] per message.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Bytes this queue holds of its own: everything but audio and video payloads, which are
    /// shared with other connections (each media message's slot counts).
    #[inline]
    pub(crate) fn owned_bytes(&self) -> usize {
        let commands: usize = self.lane_bytes.iter().take(MEDIA_LANE).sum();
        commands + self.media_messages * self.overhead
    }

    /// Queues `message`. `in_flight` is what is chunked but not yet written, which counts
    /// towards the water marks and the hard bound too. Control messages are refused only past
    /// the hard bounds, where nothing else would be taken either.
    pub(crate) fn push(
        &mut self,
        priority: Priority,
        csid: ChunkStreamId,
        message: RawMessage,
        in_flight: usize,
    ) -> Result<SendStatus, ApiError> {
        self.push_ordered(priority, csid, Body::Raw(message), in_flight, false)
    }

    /// Queues `message` as [`push`](Self::push) does; with `after_earlier`, it (and what
    /// follows it in its lane) goes only after every message queued before it, in whatever
    /// lane: closeStream after the stream's last frames.
    pub(crate) fn push_ordered(
        &mut self,
        priority: Priority,
        csid: ChunkStreamId,
        body: Body,
        in_flight: usize,
        after_earlier: bool,
    ) -> Result<SendStatus, ApiError> {
        let status = self.admit(priority, body.message(), in_flight)?;
        if status == SendStatus::DroppedVideo {
            return Ok(status);
        }
        let size = body.message().payload.len().saturating_add(self.overhead);
        let lane = priority.lane();
        // Every priority has its lane: the `else` is never taken.
        let (Some(lane_bytes), Some(queue)) =
            (self.lane_bytes.get_mut(lane), self.lanes.get_mut(lane))
        else {
            return Err(ApiError::QueueFull);
        };
        *lane_bytes += size;
        self.queued_bytes += size;
        self.media_messages += usize::from(lane == MEDIA_LANE);
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        queue.push_back(Queued {
            csid,
            body,
            sequence,
            after_earlier,
        });
        Ok(status)
    }

    /// Whether nothing is queued: a message may then go straight to the output, as the next
    /// [`pop`](Self::pop) would hand it over, once [`admit`](Self::admit)ted.
    pub(crate) fn is_empty(&self) -> bool {
        self.queued_bytes == 0
    }

    /// Applies the queue's rules to `message` about to be queued, or to go straight out when
    /// the queue [`is_empty`](Self::is_empty): inter-frame video is dropped under congestion
    /// (and until the stream's next keyframe), the bounds refuse it, and reaching the
    /// high-water mark marks the queue congested.
    #[inline]
    pub(crate) fn admit(
        &mut self,
        priority: Priority,
        message: &RawMessage,
        in_flight: usize,
    ) -> Result<SendStatus, ApiError> {
        let pending = self.queued_bytes.saturating_add(in_flight);
        let size = message.payload.len().saturating_add(self.overhead);
        let lane = priority.lane();
        let congested = pending >= self.high_water;
        // The frame's kind matters only to a connection that skips video, or would start to:
        // most sends (a relay's, per player and frame) need not parse it.
        let skipping = !self.skipping_video.is_empty();
        if priority == Priority::Video && (skipping || (self.drop_video && congested)) {
            let stream = message.stream_id;
            match video_kind(&message.payload) {
                VideoKind::Keyframe => {
                    if skipping {
                        self.skipping_video.remove(&stream);
                    }
                }
                VideoKind::Other
                    if self.drop_video && (congested || self.skipping_video.contains(&stream)) =>
                {
                    self.skipping_video.insert(stream);
                    return Ok(SendStatus::DroppedVideo);
                }
                VideoKind::SequenceHeader | VideoKind::Other => {}
            }
        }
        let over_commands = lane < MEDIA_LANE
            && self
                .lane_bytes
                .iter()
                .take(MEDIA_LANE)
                .sum::<usize>()
                .saturating_add(size)
                > self.command_max;
        if over_commands || pending.saturating_add(size) > self.max {
            return Err(ApiError::QueueFull);
        }
        if pending.saturating_add(size) >= self.high_water {
            self.congested = true;
            Ok(SendStatus::AboveHighWater)
        } else {
            Ok(SendStatus::Queued)
        }
    }

    /// Drops everything queued, giving the memory back.
    pub(crate) fn clear(&mut self) {
        self.lanes = Default::default();
        self.queued_bytes = 0;
        self.lane_bytes = [0; LANES];
        self.media_messages = 0;
    }

    /// The next message to chunk, highest priority first.
    pub(crate) fn pop(&mut self) -> Option<Queued> {
        if self.is_empty() {
            return None;
        }
        let index = self.next_lane()?;
        let lane = self.lanes.get_mut(index)?;
        let lane_bytes = self.lane_bytes.get_mut(index)?;
        let queued = lane.pop_front()?;
        if lane.is_empty() && lane.capacity() > KEEP_PER_LANE {
            // Gives back what a burst (a GOP for a joining player, a flood of answers) made it
            // grow to.
            lane.shrink_to(KEEP_PER_LANE);
        }
        let size = queued.body.message().payload.len() + self.overhead;
        self.queued_bytes -= size;
        *lane_bytes -= size;
        self.media_messages -= usize::from(index == MEDIA_LANE);
        Some(queued)
    }

    /// The first lane whose front may go. A front queued `after_earlier` waits while a later
    /// lane holds something older; then only messages older than it may go. The oldest front
    /// of all can always go, so a queue with messages always yields one.
    fn next_lane(&self) -> Option<usize> {
        let mut older_than = u64::MAX;
        for (index, lane) in self.lanes.iter().enumerate() {
            let Some(front) = lane.front() else {
                continue;
            };
            if front.sequence > older_than {
                continue;
            }
            let later_lanes = self.lanes.get(index + 1..).unwrap_or_default();
            let waits = front.after_earlier
                && later_lanes
                    .iter()
                    .any(|later| later.front().is_some_and(|q| q.sequence < front.sequence));
            if !waits {
                return Some(index);
            }
            older_than = front.sequence;
        }
        None
    }

    /// Records how much is still pending (queued plus in flight) after a write, noting when a
    /// congested queue drains to the low-water mark.
    #[inline]
    pub(crate) fn note_pending(&mut self, in_flight: usize) {
        if self.congested && self.queued_bytes.saturating_add(in_flight) <= self.low_water {
            self.congested = false;
            self.writable_again = true;
        }
    }

    /// Whether nothing is queued and no change of congestion waits to be reported.
    #[inline]
    pub(crate) fn is_settled(&self) -> bool {
        self.is_empty() && !self.congested && !self.writable_again
    }

    /// Whether the queue drained to the low-water mark since the last call.
    #[inline]
    pub(crate) fn take_writable_again(&mut self) -> bool {
        core::mem::take(&mut self.writable_again)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn message(type_id: u8, stream_id: u32, payload: &'static [u8]) -> RawMessage {
        RawMessage {
            timestamp: 0,
            type_id,
            stream_id,
            payload: Bytes::from_static(payload),
        }
    }

    /// A queue that counts payload bytes alone, for round numbers.
    fn test_queue(high_water: usize, low_water: usize, max: usize, drop: bool) -> OutboundQueue {
        let bounds = Bounds {
            high_water,
            low_water,
            max,
            command_max: max,
        };
        OutboundQueue {
            overhead: 0,
            ..OutboundQueue::new(bounds, drop)
        }
    }

    const KEYFRAME: &[u8] = &[0x17, 1, 0, 0, 0, 0xAA, 0xBB];
    const INTER: &[u8] = &[0x27, 1, 0, 0, 0, 0xCC, 0xDD];
    const SEQUENCE_HEADER: &[u8] = &[0x17, 0, 0, 0, 0, 1, 2];

    #[test]
    fn control_beats_commands_beats_media_which_keeps_its_order() {
        let mut queue = test_queue(1000, 100, 10_000, true);
        for (priority, type_id) in [
            (Priority::Video, 9),
            (Priority::Audio, 8),
            (Priority::Command, 20),
            (Priority::Control, 1),
        ] {
            let _ = queue
                .push(
                    priority,
                    ChunkStreamId::COMMAND,
                    message(type_id, 1, KEYFRAME),
                    0,
                )
                .unwrap();
        }
        let order: alloc::vec::Vec<u8> =
            core::iter::from_fn(|| queue.pop().map(|q| q.body.message().type_id)).collect();
        assert_eq!(order, [1, 20, 9, 8]);
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[test]
    fn a_message_queued_after_earlier_ones_waits_for_them() {
        let mut queue = test_queue(1000, 100, 10_000, true);
        let csid = ChunkStreamId::COMMAND;
        let mut push = |priority, type_id, after_earlier| {
            let _ = queue
                .push_ordered(
                    priority,
                    csid,
                    Body::Raw(message(type_id, 1, KEYFRAME)),
                    0,
                    after_earlier,
                )
                .unwrap();
        };
        push(Priority::Video, 9, false);
        push(Priority::Audio, 8, false);
        push(Priority::Command, 20, false); // jumps ahead
        push(Priority::Command, 21, true); // closeStream: after the media before it
        push(Priority::Command, 22, false); // and what follows it, too
        push(Priority::Audio, 108, false); // queued after it: goes after it
        push(Priority::Control, 1, false); // control still jumps
        let order: alloc::vec::Vec<u8> =
            core::iter::from_fn(|| queue.pop().map(|q| q.body.message().type_id)).collect();
        assert_eq!(order, [1, 20, 9, 8, 21, 22, 108]);
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[test]
    fn congestion_drops_inter_frames_until_the_next_keyframe() {
        let mut queue = test_queue(10, 5, 10_000, true);
        let video = |payload| message(9, 1, payload);
        let csid = ChunkStreamId::VIDEO;
        assert_eq!(
            queue.push(Priority::Video, csid, video(KEYFRAME), 0),
            Ok(SendStatus::Queued)
        );
        assert_eq!(
            queue.push(Priority::Video, csid, video(INTER), 20),
            Ok(SendStatus::DroppedVideo)
        );
        // Still skipping after congestion ends: the next inter frame would not decode.
        assert_eq!(
            queue.push(Priority::Video, csid, video(INTER), 0),
            Ok(SendStatus::DroppedVideo)
        );
        assert_eq!(
            queue.push(Priority::Video, csid, video(SEQUENCE_HEADER), 20),
            Ok(SendStatus::AboveHighWater)
        );
        while queue.pop().is_some() {}
        assert_eq!(
            queue.push(Priority::Video, csid, video(KEYFRAME), 0),
            Ok(SendStatus::Queued)
        );
        let _ = queue.pop();
        assert_eq!(
            queue.push(Priority::Video, csid, video(INTER), 0),
            Ok(SendStatus::Queued)
        );
        // Another stream's video is not affected by this one's skipping.
        let mut queue = test_queue(10, 5, 10_000, true);
        assert_eq!(
            queue.push(Priority::Video, csid, video(INTER), 20),
            Ok(SendStatus::DroppedVideo)
        );
        assert_eq!(
            queue.push(Priority::Video, csid, message(9, 2, INTER), 0),
            Ok(SendStatus::Queued)
        );
    }

    #[test]
    fn water_marks_and_the_hard_bound() {
        let mut queue = test_queue(10, 4, 20, false);
        let audio = message(8, 1, &[0xAF; 7]);
        assert_eq!(
            queue.push(Priority::Audio, ChunkStreamId::AUDIO, audio.clone(), 0),
            Ok(SendStatus::Queued)
        );
        assert_eq!(
            queue.push(Priority::Audio, ChunkStreamId::AUDIO, audio.clone(), 0),
            Ok(SendStatus::AboveHighWater)
        );
        assert_eq!(
            queue.push(Priority::Audio, ChunkStreamId::AUDIO, audio.clone(), 0),
            Err(ApiError::QueueFull)
        );
        queue.note_pending(0);
        assert!(!queue.take_writable_again());
        let _ = queue.pop();
        queue.note_pending(0);
        assert!(
            !queue.take_writable_again(),
            "7 bytes pending is above the low-water mark"
        );
        let _ = queue.pop();
        queue.note_pending(3);
        assert!(queue.take_writable_again());
        assert!(!queue.take_writable_again());
    }

    #[test]
    fn answers_and_empty_messages_count_and_are_bounded() {
        let bounds = Bounds {
            high_water: 100 * MESSAGE_OVERHEAD,
            low_water: 10 * MESSAGE_OVERHEAD,
            max: 1000 * MESSAGE_OVERHEAD,
            command_max: 10 * (MESSAGE_OVERHEAD + 6),
        };
        let mut queue = OutboundQueue::new(bounds, true);
        let ping_answer = message(4, 0, &[0, 7, 0, 0, 0, 1]);
        let csid = ChunkStreamId::PROTOCOL_CONTROL;
        for _ in 0..10 {
            let status = queue.push(Priority::Control, csid, ping_answer.clone(), 0);
            assert_eq!(status, Ok(SendStatus::Queued));
        }
        assert_eq!(queue.queued_bytes(), 10 * (MESSAGE_OVERHEAD + 6));
        // Control and commands share the bound on what is not media...
        let refused = queue.push(Priority::Control, csid, ping_answer.clone(), 0);
        assert_eq!(refused, Err(ApiError::QueueFull));
        let command = message(20, 0, &[2, 0, 0]);
        let refused = queue.push(Priority::Command, ChunkStreamId::COMMAND, command, 0);
        assert_eq!(refused, Err(ApiError::QueueFull));
        // ...which media does not touch: empty video counts its slot, up to the hard bound.
        let mut queued = 0;
        while queue
            .push(Priority::Video, ChunkStreamId::VIDEO, message(9, 1, &[]), 0)
            .is_ok_and(|status| status != SendStatus::DroppedVideo)
        {
            queued += 1;
        }
        assert!(
            queued <= 100,
            "empty inter frames are dropped past the high-water mark"
        );
        let _ = queue.pop();
        assert_eq!(
            queue.push(Priority::Control, csid, ping_answer, 0),
            Ok(SendStatus::AboveHighWater)
        );
    }
}
