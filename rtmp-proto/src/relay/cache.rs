//! The join cache of one stream: what a player that joins a running stream is sent first, so
//! that it starts at once, on a keyframe, on every track.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::frame::{Frame, Item, MediaKind, Role};

/// Most configuration messages (sequence headers, video metadata packets, multichannel
/// configurations) kept per stream: one per kind, role and track set is what real publishers
/// send, so this is far more than any needs, and bounds what a hostile one can make us keep.
pub(crate) const MAX_CACHED_CONFIGURATIONS: usize = 64;

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
        self.configurations.push(frame.without_chunks());
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
        self.gop_bytes += frame.len();
        self.gop.push_back((sequence, frame.without_chunks()));
        // Over budget: the oldest frames go, and with a keyframe its track's GOP.
        while self.gop_bytes > max_bytes {
            let Some((sequence, old)) = self.gop.pop_front() else {
                break;
            };
            self.gop_bytes -= old.len();
            self.keyframes.retain(|(_, keyframe)| *keyframe != sequence);
        }
        self.prune_front();
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
                self.gop_bytes -= old.len();
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

    /// Bytes of media payload held.
    pub(crate) fn bytes(&self) -> usize {
        self.gop_bytes + self.configuration_bytes
    }
}
