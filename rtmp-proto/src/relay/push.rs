//! Push (forward): the decisions a driver needs to forward published streams to upstream
//! servers, in the caller's time: which streams go where ([`PushRule`], [`PushTarget`]), when
//! to try again after a failed or dropped connection ([`Backoff`]), and what an upstream is sent
//! ([`UpstreamFeed`]: its own bounded queue, thinned of video first when the upstream is slow,
//! starting again on a keyframe with the sequence headers and metadata after a reconnect).

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::frame::{Item, KeyframeGate, MediaKind, Role};
use super::hub::StreamKey;
use crate::session::Instant;
use crate::url::{RtmpUrl, UrlError};

/// An upstream URL a stream is forwarded to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushTarget {
    /// The parsed URL; without a stream name, the local stream name is appended.
    pub url: RtmpUrl,
}

impl PushTarget {
    /// Parses `url` (`rtmp://` or `rtmps://`, an app, optionally a stream name).
    pub fn parse(url: &str) -> Result<PushTarget, UrlError> {
        Ok(PushTarget {
            url: RtmpUrl::parse(url)?,
        })
    }

    /// The URL `key` is published to: the target's own stream name if it has one, else the
    /// local stream name.
    pub fn publish_url(&self, key: &StreamKey) -> RtmpUrl {
        let mut url = self.url.clone();
        if url.stream.is_none() {
            url.stream = Some(key.name.clone());
        }
        url
    }
}

/// Which published streams are forwarded to which targets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushRule {
    /// Only streams of this app (every app when `None`).
    pub app: Option<String>,
    /// Only stream names that start with this prefix (every name when `None`).
    pub name_prefix: Option<String>,
    /// Where the matching streams go.
    pub targets: Vec<PushTarget>,
}

impl PushRule {
    /// Every published stream, of every app, forwarded to `targets`.
    pub fn to(targets: Vec<PushTarget>) -> PushRule {
        PushRule {
            targets,
            ..PushRule::default()
        }
    }

    /// Only the streams of `app`.
    pub fn in_app(mut self, app: impl Into<String>) -> PushRule {
        self.app = Some(app.into());
        self
    }

    /// Only the stream names that start with `prefix`.
    pub fn named_from(mut self, prefix: impl Into<String>) -> PushRule {
        self.name_prefix = Some(prefix.into());
        self
    }

    /// Whether `key` is forwarded by this rule.
    pub fn matches(&self, key: &StreamKey) -> bool {
        self.app.as_deref().is_none_or(|app| app == key.app)
            && self
                .name_prefix
                .as_deref()
                .is_none_or(|prefix| key.name.starts_with(prefix))
    }
}

/// Capped exponential backoff between connection attempts, in the caller's time: `initial`
/// after the first failure, doubling up to `max`; back to `initial` once a connection lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// A schedule starting at `initial`, capped at `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            failures: 0,
        }
    }

    /// The wait before the next attempt, given the failures so far.
    pub fn delay(&self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(self.failures - 1).unwrap_or(u32::MAX);
        self.initial
            .checked_mul(factor)
            .map_or(self.max, |delay| delay.min(self.max))
    }

    /// An attempt failed (or a live connection dropped) at `now`: when to try again.
    pub fn failed(&mut self, now: Instant) -> Instant {
        self.failures = self.failures.saturating_add(1);
        now + self.delay()
    }

    /// A connection is up: the next failure waits `initial` again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }
}

/// What one upstream is sent: its own queue of at most `max_bytes` of media. When the upstream
/// does not keep up, video that no frame depends on is dropped first (inter frames, up to the
/// next keyframe, as for a slow player); if that is not enough, the backlog goes and the
/// upstream waits for the next keyframe. After [`restart`](Self::restart) (a new connection)
/// it begins with the join cache: metadata, sequence headers, the GOP from its keyframe.
#[derive(Debug)]
pub struct UpstreamFeed {
    queue: VecDeque<Item>,
    queued_bytes: usize,
    max_bytes: usize,
    /// Video tracks start on a keyframe; others' inter frames are skipped.
    gate: KeyframeGate,
    dropped: u64,
}

impl UpstreamFeed {
    /// An empty feed holding at most `max_bytes` of media.
    pub fn new(max_bytes: usize) -> UpstreamFeed {
        UpstreamFeed {
            queue: VecDeque::new(),
            queued_bytes: 0,
            max_bytes,
            gate: KeyframeGate::default(),
            dropped: 0,
        }
    }

    /// A new connection to the upstream: forget the backlog and start from `snapshot` (what
    /// [`Hub::tap`](super::Hub::tap) hands a joiner).
    pub fn restart(&mut self, snapshot: Vec<Item>) {
        self.queue.clear();
        self.queued_bytes = 0;
        self.gate.reset();
        for item in snapshot {
            self.push(item);
        }
    }

    /// Queues what the publisher handed on.
    pub fn extend<'a>(&mut self, items: impl IntoIterator<Item = &'a Item>) {
        for item in items {
            self.push(item.clone());
        }
    }

    /// The receiver missed batches: skip to the next keyframe.
    pub fn lagged(&mut self) {
        self.gate.reset();
    }

    fn push(&mut self, item: Item) {
        if let Item::Media(frame) = &item {
            if !self.gate.admit(frame.kind, frame.role, frame.tracks) {
                self.dropped += 1;
                return;
            }
        }
        self.queued_bytes += item.media_len();
        self.queue.push_back(item);
        if self.queued_bytes > self.max_bytes {
            self.thin();
        }
    }

    /// Drops video inter frames first; if still over the bound, all media but configuration,
    /// then waits for a keyframe.
    fn thin(&mut self) {
        let before = self.queue.len();
        self.queue.retain(
            |item| !matches!(item, Item::Media(f) if f.kind == MediaKind::Video && f.role == Role::Other),
        );
        self.gate.reset();
        self.recount();
        if self.queued_bytes > self.max_bytes {
            self.queue.retain(|item| match item {
                Item::Media(f) => matches!(f.role, Role::SequenceHeader | Role::Configuration),
                _ => true,
            });
            self.recount();
        }
        self.dropped += (before - self.queue.len()) as u64;
    }

    fn recount(&mut self) {
        self.queued_bytes = self.queue.iter().map(Item::media_len).sum();
    }

    /// The next item to send the upstream.
    pub fn pop(&mut self) -> Option<Item> {
        let item = self.queue.pop_front()?;
        self.queued_bytes -= item.media_len();
        Some(item)
    }

    /// Media bytes queued.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Items dropped so far (skipped before a keyframe or thinned).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::Frame;
    use bytes::Bytes;

    fn video(key: bool, ts: u32, len: usize) -> Item {
        let mut payload = alloc::vec![0u8; len.max(5)];
        payload[0] = if key { 0x17 } else { 0x27 };
        payload[1] = 1;
        Item::Media(Frame::new(MediaKind::Video, ts, Bytes::from(payload)))
    }

    fn seq_header() -> Item {
        let payload = alloc::vec![0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f];
        Item::Media(Frame::new(MediaKind::Video, 0, Bytes::from(payload)))
    }

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(4));
        let waits: Vec<u64> = (0..7)
            .map(|_| backoff.failed(ms(1000)).as_millis() - 1000)
            .collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 4000, 4000, 4000]);
        for _ in 0..100 {
            backoff.failed(ms(0));
        }
        assert_eq!(backoff.delay(), Duration::from_secs(4));
        backoff.succeeded();
        assert_eq!(backoff.failed(ms(10_000)), ms(10_500));
    }

    #[test]
    fn targets_append_the_stream_name_and_rules_match() {
        let key = StreamKey::new("live", "cam");
        let target = PushTarget::parse("rtmp://127.0.0.1:1936/up").unwrap();
        assert_eq!(target.publish_url(&key).stream.as_deref(), Some("cam"));
        let fixed = PushTarget::parse("rtmps://example.com/up/other").unwrap();
        assert_eq!(fixed.publish_url(&key).stream.as_deref(), Some("other"));
        assert!(PushTarget::parse("http://x/up").is_err());
        assert!(PushTarget::parse("rtmp://").is_err());
        let rule = PushRule::to(alloc::vec![target])
            .in_app("live")
            .named_from("ca");
        assert!(rule.matches(&key));
        assert!(!rule.matches(&StreamKey::new("other", "cam")));
        assert!(!rule.matches(&StreamKey::new("live", "x")));
    }

    #[test]
    fn a_restart_begins_at_a_keyframe_and_a_slow_upstream_loses_inter_frames_first() {
        let mut feed = UpstreamFeed::new(10_000);
        // Joined mid-GOP: inter frames before the first keyframe are skipped.
        feed.extend(&[
            video(false, 0, 100),
            video(true, 40, 100),
            video(false, 80, 100),
        ]);
        assert_eq!(feed.dropped(), 1);
        assert_eq!(feed.queue.len(), 2);
        // Over the bound: inter frames go, the keyframe stays until it too is too much.
        feed.extend(&[
            video(false, 120, 4000),
            video(false, 160, 4000),
            video(false, 200, 4000),
        ]);
        assert!(feed.queued_bytes() <= 10_000);
        assert!(feed
            .queue
            .iter()
            .all(|i| matches!(i, Item::Media(f) if f.role != Role::Other)));
        // Until the next keyframe, inter frames are skipped.
        feed.extend(&[video(false, 240, 10)]);
        assert!(feed
            .queue
            .iter()
            .all(|i| matches!(i, Item::Media(f) if f.role != Role::Other)));
        // A new connection starts with the snapshot: configuration first, then its keyframe.
        feed.restart(alloc::vec![
            seq_header(),
            video(true, 280, 100),
            video(false, 320, 100)
        ]);
        let roles: Vec<Role> = core::iter::from_fn(|| feed.pop())
            .map(|i| match i {
                Item::Media(f) => f.role,
                _ => Role::Other,
            })
            .collect();
        assert_eq!(roles, [Role::SequenceHeader, Role::Keyframe, Role::Other]);
        assert_eq!(feed.queued_bytes(), 0);
    }
}
