//! Pull (edge): a relay configured with origins ([`PullConfig::origins`]) answers a play of a
//! stream nobody publishes locally by playing it from an origin and handing what it gets to
//! the hub, as if a local publisher sent it: one upstream connection per stream however many
//! players join, so late joiners get the join cache and the multitrack policy as usual.
//!
//! Every decision is made here, in the caller's time; the driver only dials and reads
//! ([`PullCommand`], through the hub: [`Hub::poll_pull`](super::Hub::poll_pull),
//! [`Hub::pull_media`](super::Hub::pull_media), [`Hub::pull_failed`](super::Hub::pull_failed),
//! [`Hub::pull_timeout`](super::Hub::pull_timeout),
//! [`Hub::handle_pull_timeout`](super::Hub::handle_pull_timeout)):
//!
//! - started on the first play of a key that has no local publisher; the origins are tried in
//!   their order, each attempt given [`PullConfig::attempt_timeout`] to deliver its first
//!   media (an origin that never answers, answers garbage, or does not have the stream ends
//!   its attempt with a [`PullError`]);
//! - when every origin failed before the stream ever played, its players get
//!   `NetStream.Play.StreamNotFound` and are closed;
//! - when a playing upstream drops or stalls (nothing for the attempt timeout), the next
//!   origin is tried, and the one after, in rounds [`PullConfig::retry_delay`] apart, for
//!   [`PullConfig::reconnect_timeout`]: the stream stays claimed meanwhile, so players see a
//!   gap, not an unpublish or a disconnect, and start again on the next keyframe, whose
//!   timestamp goes on 1 ms after the last frame they got (whatever the new origin's clock:
//!   players must not see time go back). Past that window they get UnpublishNotify, then
//!   StreamNotFound;
//! - when the origin says the stream ended (UnpublishNotify, Play.Stop), the players get
//!   UnpublishNotify at once, as the origin's own players do, and the origins are tried for
//!   the same window: a stream back in time is PublishNotify and plays on; past it the
//!   players still waiting get StreamNotFound;
//! - [`PullConfig::idle_close`] after its last player leaves, the upstream is closed.
//!
//! A local publisher and a pull of the same key: the first to claim the key has it. A pull
//! that plays holds the key as a publisher does, so a local publish is refused
//! (`NetStream.Publish.BadName`); a local publisher that arrives while the pull is still
//! connecting takes the key, and the pull is closed (its players play the local stream). SRS
//! edges forward such a publish to the origin instead; that is an option here too (the server
//! example's `--edge-forward-publish`, a push rule to the origin), and with it the stream
//! reaches every edge through the origin, the one place a key is published.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use super::frame::{Batch, Frame, Item, MediaKind};
use super::hub::{ConnectionId, PublisherId, StreamKey};
use crate::session::adapter::Frame as PlayedFrame;
use crate::session::Instant;
use crate::url::{RtmpUrl, UrlError};

/// The data message a server sends its player on a play (FMS, nginx-rtmp and ours).
const SAMPLE_ACCESS: &str = "|RtmpSampleAccess";

impl Item {
    /// What a frame played from an origin becomes in the pulled stream's batch for
    /// [`Hub::pull_media`](super::Hub::pull_media), as the hub takes a publisher's: audio,
    /// video, metadata and data; a status (the driver's player acts on those) is nothing.
    pub fn pulled(frame: PlayedFrame) -> Option<Item> {
        Some(match frame {
            PlayedFrame::Audio { timestamp, payload } => {
                Item::Media(Frame::new(MediaKind::Audio, timestamp, payload))
            }
            PlayedFrame::Video { timestamp, payload } => {
                Item::Media(Frame::new(MediaKind::Video, timestamp, payload))
            }
            PlayedFrame::Metadata(metadata) => Item::Metadata {
                timestamp: 0,
                metadata: Arc::new(metadata),
            },
            PlayedFrame::Data { timestamp, data } => Item::Data {
                timestamp,
                data: Arc::new(data),
            },
            PlayedFrame::Status(_) => return None,
        })
    }
}

/// An origin a stream is pulled from: an `rtmp://` or `rtmps://` URL naming the origin's
/// application (its whole path: `rtmp://origin/live` or `rtmp://origin/app/instance`); the
/// stream name a player asks for, with its query string, is appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullTarget {
    url: RtmpUrl,
}

impl PullTarget {
    /// Parses `url`; every path segment is the application (a query string after two or
    /// more segments is refused: the player's query goes there).
    pub fn parse(url: &str) -> Result<PullTarget, UrlError> {
        let mut url = RtmpUrl::parse(url)?;
        if let Some(rest) = url.stream.take() {
            if rest.contains('?') {
                return Err(UrlError::StreamGiven);
            }
            url.app = alloc::format!("{}/{rest}", url.app);
        }
        Ok(PullTarget { url })
    }

    /// The origin's URL, without a stream name.
    pub fn url(&self) -> &RtmpUrl {
        &self.url
    }

    /// What is played from the origin for a player of `name` with `query`.
    pub fn play_url(&self, name: &str, query: Option<&str>) -> RtmpUrl {
        let mut url = self.url.clone();
        url.stream = Some(match query {
            Some(query) => alloc::format!("{name}?{query}"),
            None => String::from(name),
        });
        url
    }
}

/// How a relay pulls streams from origins. No origins (the default): no pulls; a play of a
/// stream nobody publishes waits for a publisher.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PullConfig {
    /// The origins, tried in this order.
    pub origins: Vec<PullTarget>,
    /// How long an attempt may take from its start (TCP, handshake, connect, play) to its
    /// first audio or video, and how long a playing upstream may then go without sending
    /// anything, before it is given up (an origin that never answers, has no such stream, or
    /// hangs). Default 5 s.
    pub attempt_timeout: Duration,
    /// How long a stream that played is kept (players waiting, not told) while the origins
    /// are tried again after its upstream dropped. Default 10 s.
    pub reconnect_timeout: Duration,
    /// How long after its last player leaves a pulled stream's upstream is closed. Default 5 s.
    pub idle_close: Duration,
    /// The pause between two rounds over every origin, within the reconnect window.
    /// Default 500 ms.
    pub retry_delay: Duration,
}

impl Default for PullConfig {
    fn default() -> Self {
        PullConfig {
            origins: Vec::new(),
            attempt_timeout: Duration::from_secs(5),
            reconnect_timeout: Duration::from_secs(10),
            idle_close: Duration::from_secs(5),
            retry_delay: Duration::from_millis(500),
        }
    }
}

/// Names one attempt to pull a stream from one origin (one upstream connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PullId(u64);

impl core::fmt::Display for PullId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "pull#{}", self.0)
    }
}

/// Why an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// No media came within [`PullConfig::attempt_timeout`] (the origin does not answer, or
    /// does not have the stream).
    #[error("no media from the origin within {0:?}")]
    Timeout(Duration),
    /// The connection failed or the origin refused (the driver's words: a refused
    /// connection, a protocol error on garbage, a play refused).
    #[error("upstream failed: {0}")]
    Upstream(String),
    /// The origin ended the stream (UnpublishNotify, Play.Stop, Stream EOF).
    #[error("the stream ended at the origin")]
    Ended,
}

/// Why the driver is asked to close an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// It gave no media in time.
    Timeout,
    /// Nobody has played the stream for [`PullConfig::idle_close`].
    Idle,
    /// A local publisher took the stream first.
    LocalPublisher,
}

/// What the driver does (and logs) for the pulls, from
/// [`Hub::poll_pull`](super::Hub::poll_pull).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PullCommand {
    /// Connect to `url`'s server and application, play its stream, and report every batch of
    /// what it sends with [`Hub::pull_media`](super::Hub::pull_media) and its end with
    /// [`Hub::pull_failed`](super::Hub::pull_failed).
    Open {
        /// The attempt.
        id: PullId,
        /// The local stream.
        key: StreamKey,
        /// What to play.
        url: RtmpUrl,
    },
    /// Close the attempt's connection; nothing more is taken from it.
    Close {
        /// The attempt.
        id: PullId,
        /// The local stream.
        key: StreamKey,
        /// Why.
        cause: CloseCause,
    },
    /// An attempt failed (for the logs; an `Open` of the next origin follows, if any).
    Failed {
        /// The attempt.
        id: PullId,
        /// The local stream.
        key: StreamKey,
        /// The origin it played.
        url: RtmpUrl,
        /// What went wrong.
        error: PullError,
    },
    /// The stream plays from `url` (first media of an attempt).
    Playing {
        /// The local stream.
        key: StreamKey,
        /// The origin.
        url: RtmpUrl,
    },
    /// Every origin failed: the stream's players were sent `NetStream.Play.StreamNotFound`.
    NotFound {
        /// The local stream.
        key: StreamKey,
    },
}

/// The hub's claim of a pulled stream, as a publisher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) publisher: PublisherId,
    pub(crate) connection: ConnectionId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Attempt `id` to origin `origin` must bring media by `deadline`.
    Connecting {
        id: PullId,
        origin: usize,
        deadline: Instant,
    },
    /// Attempt `id` brings media; it has stalled if nothing more comes by `deadline`.
    Live {
        id: PullId,
        origin: usize,
        deadline: Instant,
    },
    /// Between two rounds over the origins.
    Waiting { until: Instant },
}

/// The play URL of origin number `origin` for `pull`; `None` only for an index past the list,
/// which the rotation over the list never makes.
fn origin_url(origins: &[PullTarget], origin: usize, pull: &Pull) -> Option<RtmpUrl> {
    let target = origins.get(origin)?;
    Some(target.play_url(&pull.name, pull.query.as_deref()))
}

#[derive(Debug)]
struct Pull {
    name: String,
    query: Option<String>,
    phase: Phase,
    /// The origin the next attempt goes to.
    next_origin: usize,
    /// Attempts made in this round.
    tried: usize,
    /// While a stream that played waits for an origin: when it is given up.
    window_end: Option<Instant>,
    /// Since when nobody plays it.
    idle_since: Option<Instant>,
    /// The hub's claim, once media came.
    pub(crate) claim: Option<Claim>,
    /// The metadata an attempt sent before its first audio or video, handed on with it.
    held: Option<Item>,
    /// Added to the current attempt's timestamps (wrapping): after a failover, the new
    /// origin's stream goes on from where the last one stopped.
    shift: u32,
    /// The last media timestamp handed on, after the shift.
    last: Option<u32>,
}

/// What a pull gave up, for the hub to act on: its claim (released when the stream ended at
/// the origin, or with the pull), and whether its players are told it was not found.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) key: StreamKey,
    pub(crate) claim: Option<Claim>,
    /// Whether players are told the stream was not found (otherwise nobody plays it).
    pub(crate) not_found: bool,
}

/// What the hub does with a batch of an attempt.
#[derive(Debug)]
pub(crate) enum Media {
    /// Not a current attempt: drop it, and the driver closes it.
    Stale,
    /// No audio or video yet (a server's `|RtmpSampleAccess`, metadata): the attempt has not
    /// delivered; its last metadata is kept for the first media.
    Held,
    /// The first media of the stream, from the origin named: claim it, hand on the
    /// metadata held, if any, then the batch.
    Claim(StreamKey, String, Option<Item>),
    /// The first media of an attempt after a drop, the stream still claimed, from the
    /// origin named: start it anew (with the metadata held).
    Restart(StreamKey, Claim, String, Option<Item>),
    /// Hand it on.
    Pass(StreamKey, Claim),
}

/// Every pull of a hub: the per-stream state machines.
#[derive(Debug)]
pub(crate) struct Pulls {
    config: PullConfig,
    pulls: BTreeMap<StreamKey, Pull>,
    next_id: u64,
    commands: VecDeque<PullCommand>,
    ended: Vec<Ended>,
}

impl Pulls {
    pub(crate) fn new(config: PullConfig) -> Pulls {
        Pulls {
            config,
            pulls: BTreeMap::new(),
            next_id: 1,
            commands: VecDeque::new(),
            ended: Vec::new(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        !self.config.origins.is_empty()
    }

    /// Whether any pull runs, or commands wait to be polled.
    pub(crate) fn is_busy(&self) -> bool {
        !self.pulls.is_empty() || !self.commands.is_empty()
    }

    pub(crate) fn is_pulled(&self, key: &StreamKey) -> bool {
        self.pulls.contains_key(key)
    }

    pub(crate) fn poll_command(&mut self) -> Option<PullCommand> {
        self.commands.pop_front()
    }

    pub(crate) fn take_ended(&mut self) -> Vec<Ended> {
        core::mem::take(&mut self.ended)
    }

    pub(crate) fn set_claim(&mut self, key: &StreamKey, claim: Claim) {
        if let Some(pull) = self.pulls.get_mut(key) {
            pull.claim = Some(claim);
        }
    }

    /// A player joined `key` (named `name?query`); starts a pull if it has no publisher and
    /// none runs.
    pub(crate) fn player_joined(
        &mut self,
        key: &StreamKey,
        query: Option<&str>,
        published: bool,
        now: Instant,
    ) {
        if let Some(pull) = self.pulls.get_mut(key) {
            pull.idle_since = None;
            return;
        }
        if published || !self.enabled() {
            return;
        }
        self.pulls.insert(
            key.clone(),
            Pull {
                name: key.name.clone(),
                query: query.map(String::from),
                phase: Phase::Waiting { until: now },
                next_origin: 0,
                tried: 0,
                window_end: None,
                idle_since: None,
                claim: None,
                held: None,
                shift: 0,
                last: None,
            },
        );
        self.open_next(key, now);
    }

    /// `key` has no players any more.
    pub(crate) fn players_gone(&mut self, key: &StreamKey, now: Instant) {
        if let Some(pull) = self.pulls.get_mut(key) {
            pull.idle_since.get_or_insert(now);
        }
    }

    /// A local publisher claimed `key`: a pull still connecting gives way.
    pub(crate) fn local_publisher(&mut self, key: &StreamKey) {
        let Some(pull) = self.pulls.remove(key) else {
            return;
        };
        if let Phase::Connecting { id, .. } | Phase::Live { id, .. } = pull.phase {
            self.commands.push_back(PullCommand::Close {
                id,
                key: key.clone(),
                cause: CloseCause::LocalPublisher,
            });
        }
    }

    fn find(&self, id: PullId) -> Option<(&StreamKey, &Pull)> {
        self.pulls.iter().find(|(_, pull)| match pull.phase {
            Phase::Connecting { id: current, .. } | Phase::Live { id: current, .. } => {
                current == id
            }
            Phase::Waiting { .. } => false,
        })
    }

    /// `batch` came from attempt `id`. Only audio or video counts as the attempt's first
    /// media: a server sends data messages on a play of a stream it does not have.
    pub(crate) fn media(&mut self, id: PullId, batch: &[Item], now: Instant) -> Media {
        let attempt_timeout = self.config.attempt_timeout;
        let Some((key, _)) = self.find(id) else {
            return Media::Stale;
        };
        let key = key.clone();
        let Some(pull) = self.pulls.get_mut(&key) else {
            return Media::Stale;
        };
        match &mut pull.phase {
            Phase::Live { deadline, .. } => match pull.claim {
                Some(claim) => {
                    *deadline = now + attempt_timeout;
                    Media::Pass(key, claim)
                }
                None => Media::Stale,
            },
            Phase::Connecting { .. }
                if !batch.iter().any(|item| matches!(item, Item::Media(_))) =>
            {
                if let Some(metadata) = batch
                    .iter()
                    .rev()
                    .find(|item| matches!(item, Item::Metadata { .. }))
                {
                    pull.held = Some(metadata.clone());
                }
                Media::Held
            }
            Phase::Connecting { origin, .. } => {
                let origin = *origin;
                let Some(url) = origin_url(&self.config.origins, origin, pull) else {
                    return Media::Stale;
                };
                pull.phase = Phase::Live {
                    id,
                    origin,
                    deadline: now + attempt_timeout,
                };
                let held = pull.held.take();
                pull.window_end = None;
                pull.tried = 0;
                let shown = url.to_string();
                self.commands.push_back(PullCommand::Playing {
                    key: key.clone(),
                    url,
                });
                match pull.claim {
                    Some(claim) => Media::Restart(key, claim, shown, held),
                    None => Media::Claim(key, shown, held),
                }
            }
            Phase::Waiting { .. } => Media::Stale,
        }
    }

    /// `batch`, from the attempt that plays `key`, as players get it: without what the origin
    /// says to its player rather than of the stream (`|RtmpSampleAccess`, which FFmpeg would
    /// take for a data stream), and with a stream started anew after a failover (`restart`)
    /// going on 1 ms after the last media handed on, whatever the new origin's clock, so
    /// that players never see time go back.
    pub(crate) fn retime(&mut self, key: &StreamKey, batch: Batch, restart: bool) -> Batch {
        let Some(pull) = self.pulls.get_mut(key) else {
            return batch;
        };
        let first = batch.iter().find_map(|item| match item {
            Item::Media(frame) => Some(frame.timestamp),
            _ => None,
        });
        if restart {
            pull.shift = match (pull.last, first) {
                (Some(last), Some(first)) => last.wrapping_add(1).wrapping_sub(first),
                _ => 0,
            };
        } else if pull.last.is_none() {
            pull.shift = 0;
        }
        let shift = pull.shift;
        let to_player = |item: &Item| match item {
            Item::Data { data, .. } => data.handler() != Some(SAMPLE_ACCESS),
            _ => true,
        };
        let batch = if shift == 0 && batch.iter().all(to_player) {
            batch
        } else {
            let shifted: Batch = batch
                .iter()
                .filter(|item| to_player(item))
                .map(|item| match item {
                    Item::Media(frame) => {
                        let mut frame = frame.clone();
                        frame.timestamp = frame.timestamp.wrapping_add(shift);
                        Item::Media(frame)
                    }
                    Item::Metadata {
                        timestamp,
                        metadata,
                    } => Item::Metadata {
                        timestamp: timestamp.wrapping_add(shift),
                        metadata: metadata.clone(),
                    },
                    Item::Data { timestamp, data } => Item::Data {
                        timestamp: timestamp.wrapping_add(shift),
                        data: data.clone(),
                    },
                    other => other.clone(),
                })
                .collect();
            shifted
        };
        if let Some(last) = batch.iter().rev().find_map(|item| match item {
            Item::Media(frame) => Some(frame.timestamp),
            _ => None,
        }) {
            pull.last = Some(last);
        }
        batch
    }

    /// The hub could not claim `key` (a local publisher has it): the pull ends.
    pub(crate) fn claim_refused(&mut self, key: &StreamKey) {
        self.local_publisher(key);
    }

    /// Attempt `id` ended with `error`.
    pub(crate) fn failed(&mut self, id: PullId, error: PullError, now: Instant) {
        let Some((key, _)) = self.find(id) else {
            return;
        };
        let key = key.clone();
        self.fail(&key, id, error, now);
    }

    fn fail(&mut self, key: &StreamKey, id: PullId, error: PullError, now: Instant) {
        let reconnect_timeout = self.config.reconnect_timeout;
        let count = self.config.origins.len();
        let Some(pull) = self.pulls.get_mut(key) else {
            return;
        };
        let origin = match pull.phase {
            Phase::Live { origin, .. } => {
                // It played: the window opens, and the next origin is tried first.
                pull.window_end = Some(now + reconnect_timeout);
                pull.tried = 0;
                pull.next_origin = (origin + 1) % count;
                // The origin said the stream ended: the players hear it now, as the origin's
                // own players do, and wait for it (or a local publisher) as for any stream.
                if error == PullError::Ended {
                    // A new publish: its own timestamps.
                    pull.last = None;
                    if let Some(claim) = pull.claim.take() {
                        self.ended.push(Ended {
                            key: key.clone(),
                            claim: Some(claim),
                            not_found: false,
                        });
                    }
                }
                origin
            }
            Phase::Connecting { origin, .. } => origin,
            Phase::Waiting { .. } => return,
        };
        let Some(url) = origin_url(&self.config.origins, origin, pull) else {
            return;
        };
        pull.phase = Phase::Waiting { until: now };
        pull.held = None;
        self.commands.push_back(PullCommand::Failed {
            id,
            key: key.clone(),
            url,
            error,
        });
        self.open_next(key, now);
    }

    /// Opens an attempt to the next origin of the round; at the end of a round, waits for
    /// the next one within the window, or gives up.
    fn open_next(&mut self, key: &StreamKey, now: Instant) {
        let count = self.config.origins.len();
        let (attempt_timeout, retry_delay) = (self.config.attempt_timeout, self.config.retry_delay);
        let Some(pull) = self.pulls.get_mut(key) else {
            return;
        };
        if pull.tried >= count {
            match pull.window_end {
                Some(end) if now < end => {
                    pull.tried = 0;
                    pull.phase = Phase::Waiting {
                        until: (now + retry_delay).min(end),
                    };
                }
                _ => self.give_up(key),
            }
            return;
        }
        let origin = pull.next_origin % count;
        let Some(url) = origin_url(&self.config.origins, origin, pull) else {
            self.give_up(key);
            return;
        };
        pull.next_origin = (origin + 1) % count;
        pull.tried += 1;
        let id = PullId(self.next_id);
        self.next_id += 1;
        pull.phase = Phase::Connecting {
            id,
            origin,
            deadline: now + attempt_timeout,
        };
        self.commands.push_back(PullCommand::Open {
            id,
            key: key.clone(),
            url,
        });
    }

    fn give_up(&mut self, key: &StreamKey) {
        if let Some(pull) = self.pulls.remove(key) {
            if let Phase::Connecting { id, .. } | Phase::Live { id, .. } = pull.phase {
                self.commands.push_back(PullCommand::Close {
                    id,
                    key: key.clone(),
                    cause: CloseCause::Timeout,
                });
            }
            self.commands
                .push_back(PullCommand::NotFound { key: key.clone() });
            self.ended.push(Ended {
                key: key.clone(),
                claim: pull.claim,
                not_found: true,
            });
        }
    }

    /// The earliest deadline of any pull.
    pub(crate) fn timeout(&self) -> Option<Instant> {
        let idle_close = self.config.idle_close;
        self.pulls
            .values()
            .flat_map(|pull| {
                let phase = match pull.phase {
                    Phase::Connecting { deadline, .. } | Phase::Live { deadline, .. } => {
                        Some(deadline)
                    }
                    Phase::Waiting { until } => Some(until),
                };
                let idle = pull.idle_since.map(|since| since + idle_close);
                phase.into_iter().chain(idle)
            })
            .min()
    }

    /// Acts on every deadline passed at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let (idle_close, attempt_timeout) = (self.config.idle_close, self.config.attempt_timeout);
        let keys: Vec<StreamKey> = self.pulls.keys().cloned().collect();
        for key in keys {
            let Some(pull) = self.pulls.get(&key) else {
                continue;
            };
            if pull
                .idle_since
                .is_some_and(|since| now >= since + idle_close)
            {
                let Some(pull) = self.pulls.remove(&key) else {
                    continue;
                };
                if let Phase::Connecting { id, .. } | Phase::Live { id, .. } = pull.phase {
                    self.commands.push_back(PullCommand::Close {
                        id,
                        key: key.clone(),
                        cause: CloseCause::Idle,
                    });
                }
                self.ended.push(Ended {
                    key,
                    claim: pull.claim,
                    not_found: false,
                });
                continue;
            }
            match pull.phase {
                Phase::Connecting { id, deadline, .. } | Phase::Live { id, deadline, .. }
                    if now >= deadline =>
                {
                    self.commands.push_back(PullCommand::Close {
                        id,
                        key: key.clone(),
                        cause: CloseCause::Timeout,
                    });
                    self.fail(&key, id, PullError::Timeout(attempt_timeout), now);
                }
                Phase::Waiting { until } if now >= until => self.open_next(&key, now),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::frame::{Frame, MediaKind};

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    fn config(origins: &[&str]) -> PullConfig {
        PullConfig {
            origins: origins
                .iter()
                .map(|o| PullTarget::parse(o).unwrap())
                .collect(),
            attempt_timeout: Duration::from_millis(1000),
            reconnect_timeout: Duration::from_millis(3000),
            idle_close: Duration::from_millis(2000),
            retry_delay: Duration::from_millis(500),
        }
    }

    fn commands(pulls: &mut Pulls) -> Vec<PullCommand> {
        core::iter::from_fn(|| pulls.poll_command()).collect()
    }

    fn opened(commands: &[PullCommand]) -> Vec<(PullId, String)> {
        commands
            .iter()
            .filter_map(|c| match c {
                PullCommand::Open { id, url, .. } => Some((*id, url.to_string())),
                _ => None,
            })
            .collect()
    }

    /// Compares what `media` returned by its debug form (`Item` has no equality).
    fn same(got: Media, want: Media) {
        assert_eq!(alloc::format!("{got:?}"), alloc::format!("{want:?}"));
    }

    fn video() -> Vec<Item> {
        alloc::vec![Item::Media(Frame::new(
            MediaKind::Video,
            0,
            bytes::Bytes::from_static(&[0x17, 1, 0, 0, 0, 1]),
        ))]
    }

    fn claim() -> Claim {
        Claim {
            publisher: PublisherId::for_tests(9),
            connection: 9,
        }
    }

    #[test]
    fn targets_name_the_app_and_append_the_players_stream_and_query() {
        let target = PullTarget::parse("rtmp://origin:1936/app/instance").unwrap();
        assert_eq!(target.url().app, "app/instance");
        let url = target.play_url("cam", Some("token=1"));
        assert_eq!(
            url.to_string(),
            "rtmp://origin:1936/app/instance/cam?token=1"
        );
        assert_eq!(url.tc_url(), "rtmp://origin:1936/app/instance");
        assert!(PullTarget::parse("http://origin/live").is_err());
        assert!(PullTarget::parse("rtmp://origin").is_err());
        assert_eq!(
            PullTarget::parse("rtmp://origin/live/x?y"),
            Err(UrlError::StreamGiven)
        );
    }

    #[test]
    fn origins_are_tried_in_order_then_players_are_told_not_found() {
        let mut pulls = Pulls::new(config(&["rtmp://a/live", "rtmp://b/live"]));
        let key = StreamKey::new("live", "cam");
        pulls.player_joined(&key, Some("t=1"), false, ms(0));
        let first = opened(&commands(&mut pulls));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].1, "rtmp://a:1935/live/cam?t=1");
        // A second player does not start a second pull.
        pulls.player_joined(&key, None, false, ms(10));
        assert!(commands(&mut pulls).is_empty());
        // The first origin refuses: the second is tried at once.
        pulls.failed(first[0].0, PullError::Upstream("refused".into()), ms(20));
        let after = commands(&mut pulls);
        assert!(matches!(&after[0], PullCommand::Failed { .. }));
        let second = opened(&after);
        assert_eq!(second[0].1, "rtmp://b:1935/live/cam?t=1");
        // The second never answers: closed at its deadline, and the stream is not found.
        assert_eq!(pulls.timeout(), Some(ms(1020)));
        pulls.handle_timeout(ms(1019));
        assert!(commands(&mut pulls).is_empty());
        pulls.handle_timeout(ms(1020));
        let end = commands(&mut pulls);
        assert!(end.contains(&PullCommand::Close {
            id: second[0].0,
            key: key.clone(),
            cause: CloseCause::Timeout
        }));
        assert!(end.contains(&PullCommand::NotFound { key: key.clone() }));
        assert!(opened(&end).is_empty());
        let ended = pulls.take_ended();
        assert!(ended.len() == 1 && ended[0].not_found && ended[0].claim.is_none());
        assert!(!pulls.is_pulled(&key) && pulls.timeout().is_none());
    }

    #[test]
    fn only_audio_or_video_is_an_origins_answer_and_its_metadata_comes_first() {
        let mut pulls = Pulls::new(config(&["rtmp://a/live"]));
        let key = StreamKey::new("live", "cam");
        pulls.player_joined(&key, None, false, ms(0));
        let a = opened(&commands(&mut pulls))[0].0;
        // What a server sends on any play (|RtmpSampleAccess), and metadata: not an answer.
        let metadata = Item::Metadata {
            timestamp: 0,
            metadata: alloc::sync::Arc::new(crate::amf::Value::Null),
        };
        same(
            pulls.media(a, core::slice::from_ref(&metadata), ms(0)),
            Media::Held,
        );
        assert!(commands(&mut pulls).is_empty());
        same(
            pulls.media(a, &video(), ms(0)),
            Media::Claim(key.clone(), "rtmp://a:1935/live/cam".into(), Some(metadata)),
        );
        // Without audio or video in time, the attempt fails as one that never answered.
        let mut pulls = Pulls::new(config(&["rtmp://a/live"]));
        pulls.player_joined(&key, None, false, ms(0));
        let a = opened(&commands(&mut pulls))[0].0;
        same(pulls.media(a, &[], ms(0)), Media::Held);
        pulls.handle_timeout(ms(1000));
        assert!(commands(&mut pulls)
            .iter()
            .any(|c| matches!(c, PullCommand::NotFound { .. })));
    }

    #[test]
    fn a_dropped_upstream_fails_over_and_the_stream_waits_within_the_window() {
        let mut pulls = Pulls::new(config(&["rtmp://a/live", "rtmp://b/live"]));
        let key = StreamKey::new("live", "cam");
        pulls.player_joined(&key, None, false, ms(0));
        let a = opened(&commands(&mut pulls))[0].0;
        same(
            pulls.media(a, &video(), ms(0)),
            Media::Claim(key.clone(), "rtmp://a:1935/live/cam".into(), None),
        );
        pulls.set_claim(&key, claim());
        assert!(matches!(
            pulls.poll_command(),
            Some(PullCommand::Playing { .. })
        ));
        same(
            pulls.media(a, &video(), ms(0)),
            Media::Pass(key.clone(), claim()),
        );
        // Live: stalled if nothing comes for the attempt timeout.
        assert_eq!(pulls.timeout(), Some(ms(1000)));
        // a drops at 5 s: b is next, the claim kept.
        pulls.failed(a, PullError::Upstream("reset".into()), ms(5000));
        let b = opened(&commands(&mut pulls));
        assert_eq!(b[0].1, "rtmp://b:1935/live/cam");
        assert!(pulls.take_ended().is_empty());
        // b does not answer; a again, still refusing; then a pause before the next round.
        pulls.handle_timeout(ms(6000));
        let a2 = opened(&commands(&mut pulls));
        assert_eq!(a2[0].1, "rtmp://a:1935/live/cam");
        pulls.failed(a2[0].0, PullError::Upstream("refused".into()), ms(6100));
        assert!(opened(&commands(&mut pulls)).is_empty());
        assert_eq!(pulls.timeout(), Some(ms(6600)));
        pulls.handle_timeout(ms(6600));
        let b2 = opened(&commands(&mut pulls));
        assert_eq!(b2[0].1, "rtmp://b:1935/live/cam");
        // b comes back: the stream restarts under the same claim; old attempts are stale.
        same(
            pulls.media(b2[0].0, &video(), ms(0)),
            Media::Restart(key.clone(), claim(), "rtmp://b:1935/live/cam".into(), None),
        );
        same(pulls.media(a, &video(), ms(0)), Media::Stale);
        same(
            pulls.media(b2[0].0, &video(), ms(0)),
            Media::Pass(key.clone(), claim()),
        );
        assert!(pulls.take_ended().is_empty());
    }

    #[test]
    fn a_live_upstream_that_stalls_is_failed_over() {
        let mut pulls = Pulls::new(config(&["rtmp://a/live", "rtmp://b/live"]));
        let key = StreamKey::new("live", "cam");
        pulls.player_joined(&key, None, false, ms(0));
        let a = opened(&commands(&mut pulls))[0].0;
        let _ = pulls.media(a, &video(), ms(100));
        pulls.set_claim(&key, claim());
        let _ = pulls.media(a, &video(), ms(800));
        let _ = commands(&mut pulls);
        pulls.handle_timeout(ms(1799));
        assert!(commands(&mut pulls).is_empty());
        pulls.handle_timeout(ms(1800));
        let after = commands(&mut pulls);
        assert!(after.contains(&PullCommand::Close {
            id: a,
            key: key.clone(),
            cause: CloseCause::Timeout
        }));
        assert!(after.iter().any(|c| matches!(
            c,
            PullCommand::Failed {
                error: PullError::Timeout(_),
                ..
            }
        )));
        assert_eq!(opened(&after)[0].1, "rtmp://b:1935/live/cam");
        assert!(pulls.take_ended().is_empty(), "the players wait");
    }

    #[test]
    fn a_stream_that_ends_at_the_origin_is_unpublished_at_once_and_may_come_back() {
        let mut pulls = Pulls::new(config(&["rtmp://a/live"]));
        let key = StreamKey::new("live", "cam");
        pulls.player_joined(&key, None, false, ms(0));
        let a = opened(&commands(&mut pulls))[0].0;
        let _ = pulls.media(a, &video(), ms(0));
        pulls.set_claim(&key, claim());
        pulls.failed(a, PullError::Ended, ms(500));
        let ended = pulls.take_ended();
        assert_eq!(ended.len(), 1);
        assert!(ended[0].claim == Some(claim()) && !ended[0].not_found);
        assert!(pulls.is_pulled(&key), "still tried within the window");
        // Back within the window: claimed anew.
        let again = opened(&commands(&mut pulls))[0].0;
        same(
            pulls.media(again, &video(), ms(900)),
            Media::Claim(key.clone(), "rtmp://a:1935/live/cam".into(), None),
        );
    }

    #[test]
    fn after_a_failover_time_goes_on_from_the_last_frame_even_across_the_wrap() {
        let mut pulls = Pulls::new(config(&["rtmp://a/live", "rtmp://b/live"]));
        let key = StreamKey::new("live", "cam");
        pulls.player_joined(&key, None, false, ms(0));
        let a = opened(&commands(&mut pulls))[0].0;
        let _ = pulls.media(a, &video(), ms(0));
        pulls.set_claim(&key, claim());
        let at = |timestamps: &[u32]| -> Batch {
            timestamps
                .iter()
                .map(|ts| {
                    Item::Media(Frame::new(
                        MediaKind::Video,
                        *ts,
                        bytes::Bytes::from_static(&[0x27, 1, 0, 0, 0]),
                    ))
                })
                .collect()
        };
        let times = |batch: &Batch| -> Vec<u32> {
            batch
                .iter()
                .filter_map(|item| match item {
                    Item::Media(frame) => Some(frame.timestamp),
                    _ => None,
                })
                .collect()
        };
        // The first origin's clock is kept as it is, near the wrap.
        let kept = pulls.retime(&key, at(&[u32::MAX - 40, u32::MAX]), false);
        assert_eq!(times(&kept), [u32::MAX - 40, u32::MAX]);
        // The second starts at 5000: shifted to go on 1 ms after u32::MAX, i.e. 0.
        let next = pulls.retime(&key, at(&[5000, 5040]), true);
        assert_eq!(times(&next), [0, 40]);
        let after = pulls.retime(&key, at(&[5080]), false);
        assert_eq!(times(&after), [80]);
        // The origin's |RtmpSampleAccess is not the stream's.
        let sample_access = Item::Data {
            timestamp: 0,
            data: Arc::new(crate::message::Data::new(alloc::vec![
                crate::amf::Value::from(SAMPLE_ACCESS),
                crate::amf::Value::from(true),
            ])),
        };
        let mut items = alloc::vec![sample_access];
        items.extend(at(&[5120]).iter().cloned());
        let kept = pulls.retime(&key, items.into(), false);
        assert_eq!(kept.len(), 1);
        assert_eq!(times(&kept), [120]);
    }

    #[test]
    fn past_the_reconnect_window_the_stream_is_given_up() {
        let mut pulls = Pulls::new(config(&["rtmp://a/live"]));
        let key = StreamKey::new("live", "cam");
        pulls.player_joined(&key, None, false, ms(0));
        let a = opened(&commands(&mut pulls))[0].0;
        same(
            pulls.media(a, &video(), ms(0)),
            Media::Claim(key.clone(), "rtmp://a:1935/live/cam".into(), None),
        );
        pulls.set_claim(&key, claim());
        pulls.failed(a, PullError::Upstream("reset".into()), ms(1000));
        let mut now = 1000;
        let mut attempts = 0;
        // Refused at once, every round, until 4000 (1000 + the 3 s window).
        while pulls.is_pulled(&key) {
            for (id, _) in opened(&commands(&mut pulls)) {
                attempts += 1;
                pulls.failed(id, PullError::Upstream("refused".into()), ms(now));
            }
            let Some(next) = pulls.timeout() else { break };
            assert!(next.as_millis() <= 4000, "{next:?}");
            now = next.as_millis();
            pulls.handle_timeout(ms(now));
        }
        assert!(attempts >= 6, "{attempts} attempts");
        assert!(now <= 4000);
        let ended = pulls.take_ended();
        assert_eq!(ended.len(), 1);
        assert!(ended[0].not_found);
        assert_eq!(ended[0].claim, Some(claim()));
    }

    #[test]
    fn the_upstream_closes_an_idle_time_after_the_last_player_leaves() {
        let mut config = config(&["rtmp://a/live"]);
        config.attempt_timeout = Duration::from_secs(10);
        let mut pulls = Pulls::new(config);
        let key = StreamKey::new("live", "cam");
        pulls.player_joined(&key, None, false, ms(0));
        let a = opened(&commands(&mut pulls))[0].0;
        let _ = pulls.media(a, &video(), ms(0));
        pulls.set_claim(&key, claim());
        let _ = commands(&mut pulls);
        pulls.players_gone(&key, ms(1000));
        assert_eq!(pulls.timeout(), Some(ms(3000)));
        // A player back in time keeps it.
        pulls.player_joined(&key, None, true, ms(2500));
        assert_eq!(
            pulls.timeout(),
            Some(ms(10_000)),
            "the stall deadline alone"
        );
        pulls.players_gone(&key, ms(4000));
        pulls.handle_timeout(ms(5999));
        assert!(pulls.is_pulled(&key));
        pulls.handle_timeout(ms(6000));
        assert_eq!(
            commands(&mut pulls),
            [PullCommand::Close {
                id: a,
                key: key.clone(),
                cause: CloseCause::Idle
            }]
        );
        let ended = pulls.take_ended();
        assert!(!ended[0].not_found && ended[0].claim == Some(claim()));
        assert!(!pulls.is_pulled(&key));
    }

    #[test]
    fn published_keys_and_relays_without_origins_pull_nothing_and_a_local_publisher_wins() {
        let key = StreamKey::new("live", "cam");
        let mut none = Pulls::new(PullConfig::default());
        none.player_joined(&key, None, false, ms(0));
        assert!(none.poll_command().is_none());
        let mut pulls = Pulls::new(config(&["rtmp://a/live"]));
        pulls.player_joined(&key, None, true, ms(0));
        assert!(pulls.poll_command().is_none());
        pulls.player_joined(&key, None, false, ms(0));
        let a = opened(&commands(&mut pulls))[0].0;
        pulls.local_publisher(&key);
        assert_eq!(
            commands(&mut pulls),
            [PullCommand::Close {
                id: a,
                key: key.clone(),
                cause: CloseCause::LocalPublisher
            }]
        );
        same(pulls.media(a, &video(), ms(0)), Media::Stale);
    }
}
