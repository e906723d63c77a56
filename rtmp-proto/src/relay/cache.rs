//! The join cache of one stream: what a player that joins a running stream is sent first, so
//! that it starts at once, on a keyframe, on every track.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::frame::{Frame, Item, MediaKind, Role};

/// Most configuration messages (sequence headers, video metadata packets, multichannel
/// configurations) kept per stream: one per kind, role and track set is what real publishers
/// send, so this is far more than any needs, and bounds what a hostile one can make us keep.
pub(crate) const MAX_CACHED_CONFIGURATIONS: usize = 64;

/// What a cached frame holds beside its payload, counted against
/// [`HubConfig::max_gop_bytes`](super::HubConfig::max_gop_bytes): its entry in the cache and
/// the bookkeeping of its payload's allocation. Without it a publisher of tiny frames (a byte
/// or two of payload each) would have the cache keep millions of them within a budget meant
/// for megabytes.
pub(crate) const CACHED_FRAME_OVERHEAD: usize = core::mem::size_of::<(u64, Frame)>() + 64;

/// Metadata, the configuration of every track, and the current GOP of every video track.
#[derive(Debug, Default)]
pub(crate) struct JoinCache {
    metadata: Option<Item>,
    /// The latest message of each (kind, role, tracks), oldest first.
    configurations: Vec<Frame>,
    configuration_bytes: usize,
    /// Frames from the oldest current keyframe of any video track on, each with its sequence
    /// number.
    gop: VecDeque<(u64, Frame)>,
    gop_bytes: usize,
    /// Each video track's current keyframe, by sequence number; a track without one has no
    /// GOP cached (a joining player waits for its next keyframe).
    keyframes: Vec<(u8, u64)>,
    next_sequence: u64,
}

/// What `frame` costs the GOP's budget.
fn held(frame: &Frame) -> usize {
    frame.len() + CACHED_FRAME_OVERHEAD
}

/// How much a stream's join cache may hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CacheLimits {
    pub(crate) max_gop_bytes: usize,
    pub(crate) max_configuration_bytes: usize,
}

impl JoinCache {
    /// Takes note of an item the publisher sent.
    pub(crate) fn remember(&mut self, item: &Item, limits: CacheLimits) {
        match item {
            Item::Metadata { .. } => self.metadata = Some(item.clone()),
            Item::Media(frame) => match frame.role {
                Role::SequenceHeader | Role::Configuration => {
                    self.remember_configuration(frame, limits.max_configuration_bytes);
                }
                Role::Keyframe => self.push_keyframe(frame, limits.max_gop_bytes),
                Role::Other => self.push_frame(frame, limits.max_gop_bytes),
            },
            Item::Data { .. } | Item::Published | Item::Unpublished | Item::NotFound => {}
        }
    }

    fn remember_configuration(&mut self, frame: &Frame, max_bytes: usize) {
        let same = |cached: &Frame| {
            cached.kind == frame.kind && cached.role == frame.role && cached.tracks == frame.tracks
        };
        if let Some(position) = self.configurations.iter().position(same) {
            let old = self.configurations.remove(position);
            self.configuration_bytes -= old.len();
        }
        if frame.role == Role::SequenceHeader && frame.is_video() {
            // A new decoder configuration: the frames cached before it need the old one.
            self.keyframes
                .retain(|(track, _)| !frame.tracks.contains(*track));
            self.prune_front();
        }
        self.configuration_bytes += frame.len();
        self.configurations.push(frame.detached());
        while self.configurations.len() > MAX_CACHED_CONFIGURATIONS
            || (self.configuration_bytes > max_bytes && !self.configurations.is_empty())
        {
            let old = self.configurations.remove(0);
            self.configuration_bytes -= old.len();
        }
    }

    fn push_keyframe(&mut self, frame: &Frame, max_bytes: usize) {
        let sequence = self.next_sequence;
        for track in frame.tracks.iter() {
            match self.keyframes.iter_mut().find(|(t, _)| *t == track) {
                Some(entry) => entry.1 = sequence,
                None => self.keyframes.push((track, sequence)),
            }
        }
        self.push(frame, max_bytes);
        self.prune_front();
    }

    fn push_frame(&mut self, frame: &Frame, max_bytes: usize) {
        let wanted = match frame.kind {
            // Video of a track with no cached keyframe cannot be decoded by a joiner.
            MediaKind::Video => frame.tracks.iter().all(|track| self.has_keyframe(track)),
            // Audio decodes on its own; it is kept alongside any cached video.
            MediaKind::Audio => !self.keyframes.is_empty(),
        };
        if wanted {
            self.push(frame, max_bytes);
        }
    }

    fn has_keyframe(&self, track: u8) -> bool {
        self.keyframes.iter().any(|(t, _)| *t == track)
    }

    fn keyframe_of(&self, track: u8) -> Option<u64> {
        self.keyframes
            .iter()
            .find(|(t, _)| *t == track)
            .map(|(_, sequence)| *sequence)
    }

    fn push(&mut self, frame: &Frame, max_bytes: usize) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.gop_bytes += held(frame);
        self.gop.push_back((sequence, frame.without_chunks()));
        // Over budget: the oldest frames go, and with a keyframe its track's GOP.
        let mut evicted = false;
        while self.gop_bytes > max_bytes {
            let Some((sequence, old)) = self.gop.pop_front() else {
                break;
            };
            self.gop_bytes -= held(&old);
            self.keyframes.retain(|(_, keyframe)| *keyframe != sequence);
            evicted = true;
        }
        // A frame added at the back leaves the oldest keyframe, and so the front, where it was.
        if evicted {
            self.prune_front();
        }
    }

    /// Drops the frames older than every track's current keyframe.
    fn prune_front(&mut self) {
        let Some(oldest) = self.keyframes.iter().map(|(_, sequence)| *sequence).min() else {
            self.gop.clear();
            self.gop_bytes = 0;
            return;
        };
        while self
            .gop
            .front()
            .is_some_and(|(sequence, _)| *sequence < oldest)
        {
            if let Some((_, old)) = self.gop.pop_front() {
                self.gop_bytes -= held(&old);
            }
        }
    }

    /// What a player joining now is sent first, in order: metadata, configurations, then each
    /// video track from its current keyframe, with the audio of that time.
    pub(crate) fn snapshot(&self) -> Vec<Item> {
        let mut items = Vec::with_capacity(1 + self.configurations.len() + self.gop.len());
        items.extend(self.metadata.clone());
        items.extend(self.configurations.iter().cloned().map(Item::Media));
        for (sequence, frame) in &self.gop {
            let current = match frame.kind {
                MediaKind::Video => frame.tracks.iter().all(|track| {
                    self.keyframe_of(track)
                        .is_some_and(|start| start <= *sequence)
                }),
                MediaKind::Audio => true,
            };
            if current {
                items.push(Item::Media(frame.clone()));
            }
        }
        items
    }

    /// Bytes held: payloads, and [`CACHED_FRAME_OVERHEAD`] per GOP frame.
    pub(crate) fn bytes(&self) -> usize {
        self.gop_bytes + self.configuration_bytes
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn video(key: bool, len: usize) -> Item {
        let mut payload = alloc::vec![0; len.max(5)];
        payload[0] = if key { 0x17 } else { 0x27 };
        payload[1] = 1;
        Item::Media(Frame::new(MediaKind::Video, 0, Bytes::from(payload)))
    }

    const LIMITS: CacheLimits = CacheLimits {
        max_gop_bytes: 1024 * 1024,
        max_configuration_bytes: 1024,
    };

    #[test]
    fn tiny_frames_count_what_they_hold_beside_their_payload() {
        let mut cache = JoinCache::default();
        cache.remember(&video(true, 5), LIMITS);
        for _ in 0..100_000 {
            cache.remember(&video(false, 5), LIMITS);
        }
        // Five bytes of payload each would let 200 000 in; what each holds allows a few
        // thousand, and the memory they take stays near the budget.
        assert!(cache.gop.len() < LIMITS.max_gop_bytes / CACHED_FRAME_OVERHEAD);
        assert!(cache.bytes() <= LIMITS.max_gop_bytes);
        let held = cache.gop.len() * (core::mem::size_of::<(u64, Frame)>() + 5);
        assert!(held <= LIMITS.max_gop_bytes, "{held}");
    }

    #[test]
    fn a_gop_within_the_budget_is_kept_whole() {
        let mut cache = JoinCache::default();
        cache.remember(&video(true, 10_000), LIMITS);
        for _ in 0..50 {
            cache.remember(&video(false, 10_000), LIMITS);
        }
        assert_eq!(cache.gop.len(), 51);
        assert_eq!(cache.bytes(), 51 * (10_000 + CACHED_FRAME_OVERHEAD));
    }

    fn audio(len: usize) -> Item {
        let mut payload = alloc::vec![0; len.max(2)];
        payload[0] = 0xAF;
        payload[1] = 1;
        Item::Media(Frame::new(MediaKind::Audio, 0, Bytes::from(payload)))
    }

    fn sequence_header() -> Item {
        Item::Media(Frame::new(
            MediaKind::Video,
            0,
            Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 2]),
        ))
    }

    proptest::proptest! {
        #![proptest_config(crate::test_support::proptest_config!("cache"))]

        /// Whatever the publisher sends and whatever the budget, the GOP starts at the oldest
        /// current keyframe, holds nothing without one, and stays within its budget.
        #[test]
        fn the_gop_starts_at_the_oldest_current_keyframe(
            items in proptest::collection::vec((0u8..4, 1usize..3000), 1..200),
            max_gop_bytes in 1usize..40_000,
        ) {
            let limits = CacheLimits { max_gop_bytes, max_configuration_bytes: 1024 };
            let mut cache = JoinCache::default();
            for (kind, len) in items {
                let item = match kind {
                    0 => video(true, len),
                    1 => video(false, len),
                    2 => audio(len),
                    _ => sequence_header(),
                };
                cache.remember(&item, limits);
                let oldest = cache.keyframes.iter().map(|(_, sequence)| *sequence).min();
                match oldest {
                    None => proptest::prop_assert!(cache.gop.is_empty()),
                    Some(oldest) => proptest::prop_assert!(
                        cache.gop.front().is_none_or(|(sequence, _)| *sequence >= oldest)
                    ),
                }
                proptest::prop_assert!(cache.gop_bytes <= max_gop_bytes);
                let counted: usize = cache.gop.iter().map(|(_, frame)| held(frame)).sum();
                proptest::prop_assert_eq!(counted, cache.gop_bytes);
            }
        }
    }
}
