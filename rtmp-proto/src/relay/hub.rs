//! The hub: every live stream by key, its publisher, its players and its join cache, and the
//! fan-out channel the driver hands batches through.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;
use core::time::Duration;

use super::access::AskFor;
use super::cache::{CacheLimits, JoinCache};
use super::frame::{Batch, Item};
use super::pull::{Claim, Media, PullCommand, PullConfig, PullError, PullId, Pulls};
use super::stats::{
    ConnectionRole, ConnectionStats, Counters, MediaWatch, RateMeter, RelayStats, StreamStats,
};
use crate::session::Instant;

/// The name of a live stream: the application (`app` of the connect, without a query string)
/// and the stream name (of the publish or play, without a query string). Two apps are two
/// namespaces: `live/cam` and `other/cam` are different streams. Shown as `app/name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamKey {
    /// The application.
    pub app: String,
    /// The stream name.
    pub name: String,
}

impl StreamKey {
    /// The key of stream `name` in `app`; each loses its query string, if any.
    pub fn new(app: &str, name: &str) -> StreamKey {
        StreamKey {
            app: String::from(split_query(app).0),
            name: String::from(split_query(name).0),
        }
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.app, self.name)
    }
}

/// `name?query` as `(name, Some(query))`; the query often carries tokens for the application.
pub fn split_query(name: &str) -> (&str, Option<&str>) {
    match name.split_once('?') {
        Some((name, query)) => (name, Some(query)),
        None => (name, None),
    }
}

/// Which tracks of a multitrack stream (Enhanced RTMP v2, "Multitrack Streaming") a player gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MultitrackPolicy {
    /// Every track to the players whose connect announced Enhanced RTMP (`capsEx` with the
    /// Multitrack bit, a `fourCcList` or a `videoFourCcInfoMap`); the default track alone, as a
    /// single-track stream, to the others, so that players which predate multitrack never
    /// see a packet they cannot read. The default.
    #[default]
    Capable,
    /// Every track to every player. FFmpeg (9 included) reads multitrack FLV but announces
    /// nothing when it plays; an operator who knows the players may choose this.
    All,
}

/// How the hub treats its streams and players. Every limit is finite by default.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HubConfig {
    /// Most bytes of a stream's cached GOPs (all its video tracks, and the audio between),
    /// each frame counted as its payload plus a fixed overhead of about 200 bytes, what it
    /// holds beside (so that tiny frames cannot make it keep millions); past it the oldest
    /// frames go, and a track whose keyframe goes has no GOP
    /// cached until its next one (players joining meanwhile wait for it). Default 16 MiB: the
    /// GOP of a 4K stream at 20 Mbit/s with a 4 s keyframe interval... twice over.
    pub max_gop_bytes: usize,
    /// Most payload bytes of a stream's cached configuration messages (sequence headers,
    /// video metadata, multichannel configurations); the oldest go past it. Default 1 MiB: real
    /// ones are a few hundred bytes each.
    pub max_configuration_bytes: usize,
    /// A player whose outbound queue stays above its high-water mark this long, in the
    /// caller's time, is disconnected. Default 10 s.
    pub max_behind: Duration,
    /// A publisher's batch is handed on once its payloads reach this many bytes, whatever the
    /// driver's pacing. Default 1 MiB.
    pub max_batch_bytes: usize,
    /// Which tracks players get.
    pub multitrack: MultitrackPolicy,
    /// Which requests wait for the application's answer
    /// ([`RelayConnection::poll_access_request`](super::RelayConnection::poll_access_request)).
    /// Default: none.
    pub ask: AskFor,
    /// How long a request waits for the application's answer before it is refused, in the
    /// caller's time. Default 10 s: an encoder gives up on a publish unanswered for longer
    /// (OBS after about 10 s, FFmpeg never), and its held media is bounded meanwhile by
    /// [`ServerOptions::max_held_bytes`](crate::session::server::ServerOptions::max_held_bytes).
    pub access_timeout: Duration,
    /// Refuse to publish under an application or stream name that cannot be a file name
    /// ([`unsafe_file_name`](super::unsafe_file_name)), with NetStream.Publish.BadName, so
    /// that a recording can be named after the stream. Default `true`.
    pub check_names: bool,
    /// Where streams nobody publishes here are pulled from (an edge), and how; no origins
    /// by default. Only for a driver that carries out [`Hub::poll_pull`]'s commands and
    /// calls [`Hub::handle_pull_timeout`] (both adapters' relays do): otherwise players of
    /// unpublished streams would wait for pulls nobody makes.
    pub pull: PullConfig,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_gop_bytes: 16 * 1024 * 1024,
            max_configuration_bytes: 1024 * 1024,
            max_behind: Duration::from_secs(10),
            max_batch_bytes: 1024 * 1024,
            multitrack: MultitrackPolicy::Capable,
            ask: AskFor::default(),
            access_timeout: Duration::from_secs(10),
            check_names: true,
            pull: PullConfig::default(),
        }
    }
}

impl HubConfig {
    pub(crate) fn cache_limits(&self) -> CacheLimits {
        CacheLimits {
            max_gop_bytes: self.max_gop_bytes,
            max_configuration_bytes: self.max_configuration_bytes,
        }
    }
}

/// How batches reach a stream's players: the driver's channel (a tokio broadcast, std
/// channels, [`LocalFanout`] in one thread). The hub calls it with its state locked, so a
/// player that subscribes gets each item exactly once: in its join snapshot or in a batch.
pub trait Fanout {
    /// What a player receives batches through.
    type Receiver;
    /// A new receiver, which gets the batches sent from now on.
    fn subscribe(&mut self) -> Self::Receiver;
    /// Hands `batch` to every receiver. Must not block: a receiver that cannot take it is
    /// marked as lagging (it then skips to the next keyframe), not waited for.
    fn send(&mut self, batch: Batch);
}

/// The hub behind whatever lock the driver shares it with: a `Mutex` across threads (the
/// `std` feature implements this for `Arc<std::sync::Mutex<Hub<F>>>`), an `Rc<RefCell<..>>`
/// in one thread.
pub trait SharedHub: Clone {
    /// The fan-out channel of the hub's streams.
    type Fanout: Fanout;
    /// Runs `f` with the hub locked. `f` never calls back into the lock.
    fn with<R>(&self, f: impl FnOnce(&mut Hub<Self::Fanout>) -> R) -> R;
}

impl<F: Fanout> SharedHub for Rc<RefCell<Hub<F>>> {
    type Fanout = F;

    fn with<R>(&self, f: impl FnOnce(&mut Hub<F>) -> R) -> R {
        f(&mut self.borrow_mut())
    }
}

#[cfg(feature = "std")]
impl<F: Fanout> SharedHub for Arc<std::sync::Mutex<Hub<F>>> {
    type Fanout = F;

    fn with<R>(&self, f: impl FnOnce(&mut Hub<F>) -> R) -> R {
        // Every change under the lock leaves the hub consistent, so a panic that poisoned it
        // elsewhere does not matter here.
        let mut hub = self.lock().unwrap_or_else(|poison| poison.into_inner());
        f(&mut hub)
    }
}

/// Names the publisher that claimed a stream, so that a late call of one that left cannot
/// release the stream of the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PublisherId(u64);

#[cfg(test)]
impl PublisherId {
    pub(crate) fn for_tests(id: u64) -> PublisherId {
        PublisherId(id)
    }
}

struct Entry<F> {
    publisher: Option<PublisherId>,
    cache: JoinCache,
    fanout: F,
    players: usize,
    /// The publishing connection, and since when it publishes.
    published_by: Option<(ConnectionId, Instant)>,
    bytes_in: u64,
    rate_in: RateMeter,
    media: MediaWatch,
    /// Media bytes sent to players that left.
    bytes_out_departed: u64,
}

/// Names a connection of the hub (for its statistics).
pub(crate) type ConnectionId = u64;

/// A connection, as the hub keeps it for statistics.
struct Registered {
    peer: Option<String>,
    role: ConnectionRole,
    counters: Arc<Counters>,
}

/// What the hub says of one stream (see [`Hub::streams`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamSummary {
    /// The stream.
    pub key: StreamKey,
    /// Whether it has a publisher.
    pub published: bool,
    /// How many players play it (or wait for its publisher).
    pub players: usize,
    /// Bytes its join cache holds: payloads, and a fixed overhead per cached frame.
    pub cached_bytes: usize,
}

/// Every live stream: who publishes it, who plays it, what a player joining it is sent first.
///
/// The hub decides; it does no I/O. [`RelayConnection`](super::RelayConnection)s call it as
/// their peers publish and play, with the hub locked through [`SharedHub`]; batches reach the
/// players through the driver's [`Fanout`].
pub struct Hub<F> {
    config: HubConfig,
    streams: BTreeMap<StreamKey, Entry<F>>,
    new_fanout: Box<dyn Fn() -> F + Send + Sync>,
    next_publisher: u64,
    connections: BTreeMap<ConnectionId, Registered>,
    next_connection: ConnectionId,
    /// Set by [`Hub::drain`]: the `tcUrl` publishers are asked to move to, if any.
    draining: Option<Option<String>>,
    /// The streams pulled from origins.
    pulls: Pulls,
}

impl<F> fmt::Debug for Hub<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.config)
            .field("streams", &self.streams.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<F: Fanout> Hub<F> {
    /// A hub with no streams; `new_fanout` makes each stream's fan-out channel.
    pub fn new(config: HubConfig, new_fanout: impl Fn() -> F + Send + Sync + 'static) -> Self {
        Hub {
            streams: BTreeMap::new(),
            new_fanout: Box::new(new_fanout),
            next_publisher: 1,
            connections: BTreeMap::new(),
            next_connection: 1,
            pulls: Pulls::new(config.pull.clone()),
            config,
            draining: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// Starts draining (a graceful restart): from now on every
    /// [`RelayConnection::drain_step`](super::RelayConnection::drain_step) asks its publisher,
    /// if its connect announced the capability, to reconnect (Enhanced RTMP v2, "Reconnect")
    /// to `reconnect_to`, or to the same tcUrl if `None`. The driver stops accepting and waits
    /// for [`is_drained`](Self::is_drained) or its own deadline.
    pub fn drain(&mut self, reconnect_to: Option<String>) {
        self.draining = Some(reconnect_to);
    }

    /// The `tcUrl` publishers move to while draining (`Some(None)`: the same one); `None` when
    /// not draining.
    pub fn draining(&self) -> Option<Option<&str>> {
        self.draining.as_ref().map(Option::as_deref)
    }

    /// Whether no connection publishes or plays any more (connections that do neither do not
    /// hold a drain up).
    pub fn is_drained(&self) -> bool {
        self.connections
            .values()
            .all(|connection| connection.role == ConnectionRole::Idle)
    }

    /// How many streams have a publisher or players.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Each stream with a publisher or players, in key order.
    pub fn streams(&self) -> impl Iterator<Item = StreamSummary> + '_ {
        self.streams.iter().map(|(key, entry)| StreamSummary {
            key: key.clone(),
            published: entry.publisher.is_some(),
            players: entry.players,
            cached_bytes: entry.cache.bytes(),
        })
    }

    /// The stream shown as `app/name`, if it has a publisher or players.
    pub fn find(&self, shown: &str) -> Option<StreamSummary> {
        self.streams().find(|summary| {
            let StreamKey { app, name } = &summary.key;
            shown.len() == app.len() + 1 + name.len()
                && shown.starts_with(app.as_str())
                && shown.ends_with(name.as_str())
                && shown.as_bytes().get(app.len()) == Some(&b'/')
        })
    }

    fn entry(&mut self, key: &StreamKey) -> &mut Entry<F> {
        let new_fanout = &self.new_fanout;
        self.streams.entry(key.clone()).or_insert_with(|| Entry {
            publisher: None,
            cache: JoinCache::default(),
            fanout: new_fanout(),
            players: 0,
            published_by: None,
            bytes_in: 0,
            rate_in: RateMeter::default(),
            media: MediaWatch::default(),
            bytes_out_departed: 0,
        })
    }

    /// A new connection, counted by `counters`.
    pub(crate) fn register(&mut self, counters: Arc<Counters>) -> ConnectionId {
        let id = self.next_connection;
        self.next_connection += 1;
        self.connections.insert(
            id,
            Registered {
                peer: None,
                role: ConnectionRole::Idle,
                counters,
            },
        );
        id
    }

    /// The connection `id` ended.
    pub(crate) fn unregister(&mut self, id: ConnectionId) {
        self.connections.remove(&id);
    }

    /// Names the peer of connection `id` (its address, say).
    pub(crate) fn set_peer(&mut self, id: ConnectionId, peer: String) {
        if let Some(connection) = self.connections.get_mut(&id) {
            connection.peer = Some(peer);
        }
    }

    fn set_role(&mut self, id: ConnectionId, role: ConnectionRole) {
        if let Some(connection) = self.connections.get_mut(&id) {
            connection.role = role;
        }
    }

    /// Every stream and connection, at `now` (the time the connections are given).
    pub fn stats(&self, now: Instant) -> RelayStats {
        let mut out_by_stream: BTreeMap<&StreamKey, u64> = BTreeMap::new();
        for connection in self.connections.values() {
            if let ConnectionRole::Player(key) = &connection.role {
                *out_by_stream.entry(key).or_default() +=
                    Counters::get(&connection.counters.media_out);
            }
        }
        let streams = self
            .streams
            .iter()
            .map(|(key, entry)| {
                let publisher = entry.published_by.filter(|_| entry.publisher.is_some());
                StreamStats {
                    key: key.clone(),
                    publisher: publisher
                        .and_then(|(id, _)| self.connections.get(&id))
                        .and_then(|connection| connection.peer.clone()),
                    uptime: publisher.map(|(_, since)| now.saturating_duration_since(since)),
                    media: entry.media.info.clone(),
                    bitrate_in: match publisher {
                        Some((_, since)) => entry.rate_in.bits_per_second(now, since),
                        None => 0,
                    },
                    bytes_in: entry.bytes_in,
                    bytes_out: entry.bytes_out_departed
                        + out_by_stream.get(key).copied().unwrap_or(0),
                    players: entry.players,
                }
            })
            .collect();
        let connections = self
            .connections
            .iter()
            .map(|(id, connection)| {
                let counters = &connection.counters;
                ConnectionStats {
                    id: *id,
                    peer: connection.peer.clone(),
                    role: connection.role.clone(),
                    bytes_in: Counters::get(&counters.bytes_in),
                    bytes_out: Counters::get(&counters.bytes_out),
                    round_trip: counters.round_trip(),
                    queued_bytes: Counters::get(&counters.queued_bytes),
                    dropped_video: Counters::get(&counters.dropped_video),
                }
            })
            .collect();
        RelayStats {
            streams,
            connections,
        }
    }

    /// Claims `key` for a new local publisher, unless it has one; its players are told. A
    /// pull of `key` still connecting gives way.
    pub(crate) fn claim(
        &mut self,
        key: &StreamKey,
        connection: ConnectionId,
        now: Instant,
    ) -> Option<PublisherId> {
        let id = self.claim_for(key, connection, now)?;
        self.pulls.local_publisher(key);
        Some(id)
    }

    fn claim_for(
        &mut self,
        key: &StreamKey,
        connection: ConnectionId,
        now: Instant,
    ) -> Option<PublisherId> {
        let id = PublisherId(self.next_publisher);
        let entry = self.entry(key);
        if entry.publisher.is_some() {
            return None;
        }
        entry.publisher = Some(id);
        entry.cache = JoinCache::default();
        entry.published_by = Some((connection, now));
        entry.rate_in = RateMeter::default();
        entry.media = MediaWatch::default();
        self.set_role(connection, ConnectionRole::Publisher(key.clone()));
        let entry = self.entry(key);
        entry.fanout.send(Arc::new([Item::Published]));
        self.next_publisher += 1;
        Some(id)
    }

    /// Hands `batch` of the publisher `id` on to the players of `key`, and to its cache.
    pub(crate) fn hand_on(&mut self, key: &StreamKey, id: PublisherId, batch: Batch, now: Instant) {
        let limits = self.config.cache_limits();
        let Some(entry) = self.streams.get_mut(key) else {
            return;
        };
        if entry.publisher != Some(id) {
            return;
        }
        let mut bytes = 0;
        for item in batch.iter() {
            entry.cache.remember(item, limits);
            entry.media.watch(item);
            bytes += item.media_len() as u64;
        }
        entry.bytes_in += bytes;
        entry.rate_in.add(now, bytes);
        entry.fanout.send(batch);
    }

    /// The publisher `id` of `key` left: its players are told, its cache forgotten.
    pub(crate) fn release(&mut self, key: &StreamKey, id: PublisherId, connection: ConnectionId) {
        self.set_role(connection, ConnectionRole::Idle);
        let Some(entry) = self.streams.get_mut(key) else {
            return;
        };
        if entry.publisher != Some(id) {
            return;
        }
        entry.publisher = None;
        entry.published_by = None;
        entry.cache = JoinCache::default();
        entry.fanout.send(Arc::new([Item::Unpublished]));
        self.forget_if_unused(key);
    }

    /// A receiver of the batches of `key` and what a joiner is sent first, for the driver's
    /// own use of a published stream (a recording, see
    /// [`FlvRecording`](super::FlvRecording)): not counted as a player. `None` if `key` has
    /// no publisher.
    pub fn tap(&mut self, key: &StreamKey) -> Option<(F::Receiver, Vec<Item>)> {
        let entry = self.streams.get_mut(key)?;
        entry.publisher?;
        Some((entry.fanout.subscribe(), entry.cache.snapshot()))
    }

    /// A player joins `key`: its receiver, what it is sent first, and whether the stream is
    /// published now. Nobody publishing it, a relay with origins starts pulling it (`query`
    /// goes to the origin with the name).
    pub(crate) fn join(
        &mut self,
        key: &StreamKey,
        connection: ConnectionId,
        query: Option<&str>,
        now: Instant,
    ) -> (F::Receiver, Vec<Item>, bool) {
        self.set_role(connection, ConnectionRole::Player(key.clone()));
        let entry = self.entry(key);
        entry.players += 1;
        let joined = (
            entry.fanout.subscribe(),
            entry.cache.snapshot(),
            entry.publisher.is_some(),
        );
        self.pulls.player_joined(key, query, joined.2, now);
        joined
    }

    /// A player of `key` left (its receiver is dropped by the caller).
    pub(crate) fn leave(&mut self, key: &StreamKey, connection: ConnectionId, now: Instant) {
        let sent = self
            .connections
            .get_mut(&connection)
            .map_or(0, |registered| {
                registered.role = ConnectionRole::Idle;
                // Counted from zero again if it plays another stream.
                registered
                    .counters
                    .media_out
                    .swap(0, core::sync::atomic::Ordering::Relaxed)
            });
        if let Some(entry) = self.streams.get_mut(key) {
            entry.players = entry.players.saturating_sub(1);
            entry.bytes_out_departed += sent;
            if entry.players == 0 {
                self.pulls.players_gone(key, now);
            }
        }
        self.forget_if_unused(key);
    }

    /// The next thing the driver does for the pulls ([`HubConfig::pull`]): open an upstream,
    /// close one, or log what happened. Call it after any call into the hub (a play, a
    /// departure, a publish, a batch or end of an upstream, a timeout) until `None`.
    pub fn poll_pull(&mut self) -> Option<PullCommand> {
        self.pulls.poll_command()
    }

    /// Whether `key` is pulled from an origin (or an attempt to is under way).
    pub fn is_pulled(&self, key: &StreamKey) -> bool {
        self.pulls.is_pulled(key)
    }

    /// Whether any stream is pulled (or being tried), or pull commands wait: a driver's
    /// pull task may stop when not.
    pub fn is_pulling(&self) -> bool {
        self.pulls.is_busy()
    }

    /// When [`handle_pull_timeout`](Self::handle_pull_timeout) is due, if ever.
    pub fn pull_timeout(&self) -> Option<Instant> {
        self.pulls.timeout()
    }

    /// Acts on the pulls' deadlines passed at `now`: attempts that gave no media in time,
    /// the pause between rounds over the origins, upstreams idle long enough to close.
    pub fn handle_pull_timeout(&mut self, now: Instant) {
        self.pulls.handle_timeout(now);
        self.finish_pulls();
    }

    /// What the upstream of attempt `id` (a [`PullCommand::Open`]'s) sent, as a publisher's
    /// batch. Its first batch claims the stream (or starts it anew after a failover: the join
    /// cache is emptied, and players wait for a keyframe). Whether the attempt is still
    /// wanted: if not, the driver closes it.
    pub fn pull_media(&mut self, id: PullId, batch: Batch, now: Instant) -> bool {
        let (key, claim, held, restart) = match self.pulls.media(id, &batch, now) {
            Media::Stale => return false,
            Media::Held => return true,
            Media::Pass(key, claim) => (key, claim, None, false),
            Media::Claim(key, origin, held) => {
                let connection = self.register(Arc::new(Counters::default()));
                self.set_peer(connection, origin);
                let Some(publisher) = self.claim_for(&key, connection, now) else {
                    self.unregister(connection);
                    self.pulls.claim_refused(&key);
                    return false;
                };
                let claim = Claim {
                    publisher,
                    connection,
                };
                self.pulls.set_claim(&key, claim);
                (key, claim, held, false)
            }
            Media::Restart(key, claim, origin, held) => {
                self.set_peer(claim.connection, origin);
                if let Some(entry) = self.streams.get_mut(&key) {
                    entry.cache = JoinCache::default();
                    entry.media = MediaWatch::default();
                    entry.fanout.send(Arc::new([Item::Published]));
                }
                (key, claim, held, true)
            }
        };
        let batch = match held {
            Some(metadata) => core::iter::once(metadata)
                .chain(batch.iter().cloned())
                .collect(),
            None => batch,
        };
        let batch = self.pulls.retime(&key, batch, restart);
        self.hand_on(&key, claim.publisher, batch, now);
        true
    }

    /// The upstream of attempt `id` failed or ended: the next origin is tried, or the stream
    /// waits within its reconnect window, or its players are told it was not found.
    pub fn pull_failed(&mut self, id: PullId, error: PullError, now: Instant) {
        self.pulls.failed(id, error, now);
        self.finish_pulls();
    }

    /// Releases what ended pulls held; tells their players when they were not found.
    fn finish_pulls(&mut self) {
        for ended in self.pulls.take_ended() {
            if let Some(claim) = ended.claim {
                self.release(&ended.key, claim.publisher, claim.connection);
                self.unregister(claim.connection);
            }
            if ended.not_found {
                if let Some(entry) = self.streams.get_mut(&ended.key) {
                    entry.fanout.send(Arc::new([Item::NotFound]));
                }
            }
        }
    }

    fn forget_if_unused(&mut self, key: &StreamKey) {
        if self
            .streams
            .get(key)
            .is_some_and(|entry| entry.publisher.is_none() && entry.players == 0)
        {
            self.streams.remove(key);
        }
    }
}

/// A [`Fanout`] for drivers that run every connection on one thread (a test harness, an event
/// loop): each player's receiver is a queue of at most `capacity` batches, drained by the
/// driver when it serves that player. A player whose queue is full misses the batch and is
/// marked as lagging.
#[derive(Debug)]
pub struct LocalFanout {
    capacity: usize,
    receivers: Vec<Weak<RefCell<LocalQueue>>>,
}

/// A player's side of a [`LocalFanout`].
#[derive(Debug, Default)]
pub struct LocalQueue {
    batches: VecDeque<Batch>,
    lagged: bool,
}

impl LocalQueue {
    /// The next batch, if any.
    pub fn pop(&mut self) -> Option<Batch> {
        self.batches.pop_front()
    }

    /// Whether batches were missed since the last call (and clears it).
    pub fn take_lagged(&mut self) -> bool {
        core::mem::take(&mut self.lagged)
    }

    /// Whether a batch is waiting.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }
}

impl LocalFanout {
    /// A fan-out whose players may each hold `capacity` batches (at least one).
    pub fn new(capacity: usize) -> Self {
        LocalFanout {
            capacity: capacity.max(1),
            receivers: Vec::new(),
        }
    }
}

impl Fanout for LocalFanout {
    type Receiver = Rc<RefCell<LocalQueue>>;

    fn subscribe(&mut self) -> Self::Receiver {
        let queue = Rc::new(RefCell::new(LocalQueue::default()));
        self.receivers.push(Rc::downgrade(&queue));
        queue
    }

    fn send(&mut self, batch: Batch) {
        let capacity = self.capacity;
        self.receivers.retain(|receiver| {
            let Some(queue) = receiver.upgrade() else {
                return false;
            };
            let mut queue = queue.borrow_mut();
            if queue.batches.len() < capacity {
                queue.batches.push_back(batch.clone());
            } else {
                queue.lagged = true;
            }
            true
        });
    }
}
