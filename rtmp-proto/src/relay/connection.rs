//! One server connection of the relay: what it publishes and plays, and what its events mean
//! for the hub and for the peer.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use bytes::Bytes;

use super::access::{unsafe_file_name, Access, AccessKind, AccessRequest};
use super::frame::{Batch, Frame, Item, KeyframeGate, MediaKind, TrackSet};
use super::hub::{
    ConnectionId, Fanout, HubConfig, MultitrackPolicy, PublisherId, SharedHub, StreamKey,
};
use super::stats::Counters;
use crate::amf::Value;
use crate::chunk::ChunkedMessage;
use crate::session::server::{
    ConnectRequest, PlayRequest, PublishRequest, RequestId, ServerConnection, ServerEvent,
    StatusLevel, StreamKind,
};
use crate::session::{
    ApiError, Instant, SendStatus, SessionError, CAPS_EX_MULTITRACK, CAPS_EX_RECONNECT,
};

/// Most [`RelayEvent`]s kept for a driver that does not poll them (a peer repeating refused
/// requests must not grow them without bound); the oldest go first.
const MAX_PENDING_EVENTS: usize = 64;

/// The message stream a player plays on: the first that createStream hands out, the only one
/// players open. Frames are chunked once for it; a player on another chunks its own.
const PLAYER_MESSAGE_STREAM: u32 = 1;

/// What the driver does with the connection after a call.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum Verdict {
    /// Keep serving it.
    Continue,
    /// Close it (its last bytes are still written), for this reason.
    Close(CloseReason),
}

/// Why the relay ends a connection.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    /// The connection ended by itself (the peer left, a protocol error, an idle timeout).
    #[error("connection ended: {0}")]
    Ended(SessionError),
    /// A player's outbound queue stayed above its high-water mark for longer than
    /// [`HubConfig::max_behind`](super::HubConfig::max_behind).
    #[error("player stayed behind for more than {0:?}")]
    PlayerBehind(core::time::Duration),
    /// A player's outbound queue reached its hard bound.
    #[error("player's outbound queue is full")]
    PlayerQueueFull,
    /// The application refused a request (or did not answer in time), for this reason.
    #[error("refused: {0}")]
    Refused(String),
    /// The stream played could not be pulled from any origin (the player was sent
    /// NetStream.Play.StreamNotFound).
    #[error("{0} was not found at any origin")]
    StreamNotFound(StreamKey),
}

/// What the relay did, for the driver to log or count.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RelayEvent {
    /// A connect was refused by the application.
    ConnectRefused {
        /// The application, without its query string.
        app: String,
        /// Why.
        reason: String,
    },
    /// A connect was accepted, in `app`.
    Connected {
        /// The application, without its query string.
        app: String,
        /// Whether the client announced Enhanced RTMP multitrack.
        multitrack: bool,
    },
    /// A publish was accepted.
    Publishing {
        /// The stream.
        key: StreamKey,
        /// The query string of the stream name (tokens, say), if any.
        query: Option<String>,
    },
    /// A publish was refused (the stream has a publisher, the name is empty, or this
    /// connection publishes already).
    PublishRefused {
        /// The stream.
        key: StreamKey,
        /// The onStatus code sent.
        code: &'static str,
    },
    /// A publisher stopped.
    Unpublished {
        /// The stream.
        key: StreamKey,
    },
    /// A play was accepted; `live` says whether the stream had a publisher then.
    Playing {
        /// The stream.
        key: StreamKey,
        /// The query string of the stream name, if any.
        query: Option<String>,
        /// Whether the stream was published when the player joined.
        live: bool,
        /// Whether the player gets every track of a multitrack stream.
        all_tracks: bool,
    },
    /// A play was refused.
    PlayRefused {
        /// The stream.
        key: StreamKey,
        /// The onStatus code sent.
        code: &'static str,
    },
    /// A player stopped playing.
    PlayStopped {
        /// The stream.
        key: StreamKey,
    },
    /// A player missed batches (its task or thread fell behind the fan-out channel) and
    /// waits for the next keyframe of each track.
    Lagged,
}

/// A request waiting for the application's [`Access`].
enum Parked {
    Connect(RequestId),
    Publish(PublishRequest),
    Play(PlayRequest),
}

struct Publishing {
    stream: u32,
    key: StreamKey,
    id: PublisherId,
    /// Items not handed on yet, oldest first.
    batch: Vec<Item>,
    batch_bytes: usize,
}

/// A player's view of a stream: which tracks it takes, which video tracks it has started on a
/// keyframe, and whether it is behind.
struct Playing<R> {
    stream: u32,
    key: StreamKey,
    receiver: R,
    all_tracks: bool,
    /// Video tracks start on a keyframe; others' frames are skipped until theirs.
    gate: KeyframeGate,
    /// When the outbound queue went above its high-water mark, if it is there.
    behind_since: Option<Instant>,
}

impl<R> Playing<R> {
    /// The payload this player is sent for `frame`, if any, and its chunked form if it has one.
    fn pick<'f>(&mut self, frame: &'f Frame) -> Option<(&'f Bytes, Option<&'f ChunkedMessage>)> {
        let (payload, chunked, tracks) = if self.all_tracks {
            (&frame.payload, frame.chunked.as_ref(), frame.tracks)
        } else {
            let default = frame.default_track.as_ref()?;
            (default, frame.default_chunked.as_ref(), TrackSet::DEFAULT)
        };
        self.gate
            .admit(frame.kind, frame.role, tracks)
            .then_some((payload, chunked))
    }
}

/// The relay's side of one server connection: accepts its connect, its publish (one publisher
/// per [`StreamKey`]; NetStream.Publish.BadName for a second) and its play (live, of any key: a
/// player waits for a publisher that has not started yet), feeds the hub what it publishes and
/// sends it what it plays.
///
/// The driver calls, for each connection:
/// - [`handle_event`](Self::handle_event) with every event of its [`ServerConnection`];
/// - [`hand_on`](Self::hand_on) when it wants the batch of what was published so far to go to
///   the players (at once for every frame unless [`set_batching`](Self::set_batching) is on;
///   a batch also goes before any other event, and when it reaches
///   [`HubConfig::max_batch_bytes`](super::HubConfig::max_batch_bytes));
/// - [`deliver`](Self::deliver) with every batch its [`receiver`](Self::receiver_mut) gets,
///   and [`lagged`](Self::lagged) when the receiver missed some;
/// - [`poll_event`](Self::poll_event) to learn what happened, for its logs.
///
/// One publishing and one playing message stream per connection, which is what encoders and
/// players use. Dropping it releases what it publishes and plays.
pub struct RelayConnection<H: SharedHub> {
    hub: H,
    /// The hub's configuration, read once: the hot paths do not take the lock for it.
    config: HubConfig,
    app: String,
    app_query: Option<String>,
    tc_url: Option<String>,
    flash_ver: Option<String>,
    multitrack_capable: bool,
    reconnect_capable: bool,
    /// Whether [`drain_step`](Self::drain_step) already asked the peer to reconnect.
    reconnect_asked: bool,
    batching: bool,
    /// The request waiting for the application (one at most: the session holds what the
    /// peer sends after it), when it is refused anyway, and whether it was reported.
    parked: Option<(Parked, Instant, bool)>,
    /// The hub's number for this connection, and its counters there.
    id: ConnectionId,
    counters: Arc<Counters>,
    /// The time of the last call that told it.
    now: Instant,
    publishing: Option<Publishing>,
    playing: Option<Playing<<H::Fanout as Fanout>::Receiver>>,
    events: VecDeque<RelayEvent>,
}

impl<H: SharedHub> core::fmt::Debug for RelayConnection<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RelayConnection")
            .field("app", &self.app)
            .field("publishing", &self.publishing.as_ref().map(|p| &p.key))
            .field("playing", &self.playing.as_ref().map(|p| &p.key))
            .finish()
    }
}

impl<H: SharedHub> RelayConnection<H> {
    /// A connection of the relay whose hub is `hub`, before its connect.
    pub fn new(hub: H) -> Self {
        let counters = Arc::new(Counters::default());
        let (config, id) = hub.with(|hub| (hub.config().clone(), hub.register(counters.clone())));
        RelayConnection {
            hub,
            config,
            app: String::new(),
            app_query: None,
            tc_url: None,
            flash_ver: None,
            multitrack_capable: false,
            reconnect_capable: false,
            reconnect_asked: false,
            batching: false,
            parked: None,
            id,
            counters,
            now: Instant::from_millis(0),
            publishing: None,
            playing: None,
            events: VecDeque::new(),
        }
    }

    /// Whether published frames wait for [`hand_on`](Self::hand_on) (the driver paces its
    /// reads and hands on what one read brought) rather than going to the players one by one.
    pub fn set_batching(&mut self, batching: bool) {
        self.batching = batching;
        if !batching {
            self.hand_on();
        }
    }

    /// The stream this connection publishes, if any.
    pub fn publishing(&self) -> Option<&StreamKey> {
        self.publishing.as_ref().map(|publishing| &publishing.key)
    }

    /// The stream this connection plays, if any.
    pub fn playing(&self) -> Option<&StreamKey> {
        self.playing.as_ref().map(|playing| &playing.key)
    }

    /// Whether the connection still publishes or plays: a draining relay waits for none to.
    pub fn is_busy(&self) -> bool {
        self.publishing.is_some() || self.playing.is_some()
    }

    /// Acts on the hub's [`drain`](super::Hub::drain): once the hub drains, asks this
    /// connection's publisher to reconnect (see [`request_reconnect`](Self::request_reconnect)),
    /// once. Drivers call it on each connection when the hub starts draining (a publish accepted
    /// later calls it itself). Whether it sent.
    pub fn drain_step(&mut self, conn: &mut ServerConnection) -> bool {
        if self.reconnect_asked {
            return false;
        }
        let Some(tc_url) = self
            .hub
            .with(|hub| hub.draining().map(|to| to.map(String::from)))
        else {
            return false;
        };
        let sent = self.request_reconnect(conn, tc_url.as_deref());
        self.reconnect_asked |= sent;
        sent
    }

    /// Asks a publisher to move when the relay drains (Enhanced RTMP v2, "Reconnect"): sends
    /// `onStatus` NetConnection.Connect.ReconnectRequest on stream 0, with `tc_url` in the info
    /// object if given (absent, the client comes back to the same tcUrl), if and only if this
    /// connection publishes and its connect set the reconnect bit of `capsEx`. Whether it sent.
    pub fn request_reconnect(&mut self, conn: &mut ServerConnection, tc_url: Option<&str>) -> bool {
        if !self.reconnect_capable || self.publishing.is_none() {
            return false;
        }
        let mut info = crate::amf::Object::new();
        info.insert("level", "status");
        info.insert("code", "NetConnection.Connect.ReconnectRequest");
        info.insert("description", "The server is restarting; reconnect.");
        if let Some(tc_url) = tc_url {
            info.insert("tcUrl", tc_url);
        }
        let sent = conn.send_status_object(0, info).is_ok();
        self.count(conn);
        sent
    }

    /// Whether published items wait to be handed on.
    pub fn has_pending_batch(&self) -> bool {
        self.publishing
            .as_ref()
            .is_some_and(|publishing| !publishing.batch.is_empty())
    }

    /// Whether the driver has nothing to act on but the connection's next event: no event to
    /// take, no request waiting for the application, no batch to hand on. A driver may then
    /// hand it the next event at once, without its own steps in between.
    pub fn is_settled(&self) -> bool {
        self.events.is_empty() && self.parked.is_none() && !self.has_pending_batch()
    }

    /// The receiver of the stream played, to wait on for batches.
    pub fn receiver_mut(&mut self) -> Option<&mut <H::Fanout as Fanout>::Receiver> {
        self.playing.as_mut().map(|playing| &mut playing.receiver)
    }

    fn note(&mut self, event: RelayEvent) {
        if self.events.len() >= MAX_PENDING_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// What the relay did since the last call, oldest first.
    pub fn poll_event(&mut self) -> Option<RelayEvent> {
        self.events.pop_front()
    }

    /// Names the peer in [`Hub::stats`](super::Hub::stats) (its address, say).
    pub fn set_peer(&mut self, peer: impl Into<String>) {
        let (id, peer) = (self.id, peer.into());
        self.hub.with(|hub| hub.set_peer(id, peer));
    }

    /// Copies what `conn` counts into the counters the hub reads.
    fn count(&self, conn: &ServerConnection) {
        let counters = &self.counters;
        Counters::set(&counters.bytes_in, conn.bytes_received());
        Counters::set(&counters.bytes_out, conn.bytes_sent());
        Counters::set(&counters.queued_bytes, conn.pending_bytes() as u64);
        let round_trip = conn.round_trip().map_or(0, |rtt| {
            u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX - 1) + 1
        });
        Counters::set(&counters.round_trip, round_trip);
    }

    /// What sending changes of [`count`](Self::count)'s figures: the rest moves only with
    /// the connection's events.
    fn count_sent(&self, conn: &ServerConnection) {
        let counters = &self.counters;
        Counters::set(&counters.bytes_out, conn.bytes_sent());
        Counters::set(&counters.queued_bytes, conn.pending_bytes() as u64);
    }

    /// Acts on an event of the connection: answers its requests, takes what it publishes,
    /// notes a player catching up, releases what it used when it ends.
    pub fn handle_event(
        &mut self,
        conn: &mut ServerConnection,
        event: ServerEvent,
        now: Instant,
    ) -> Verdict {
        self.now = self.now.max(now);
        let verdict = self.handle(conn, event, now);
        self.count(conn);
        verdict
    }

    fn handle(&mut self, conn: &mut ServerConnection, event: ServerEvent, now: Instant) -> Verdict {
        match event {
            ServerEvent::Audio {
                stream,
                timestamp,
                payload,
            } => self.publish_media(conn, stream, MediaKind::Audio, timestamp, payload),
            ServerEvent::Video {
                stream,
                timestamp,
                payload,
            } => self.publish_media(conn, stream, MediaKind::Video, timestamp, payload),
            other => return self.handle_other(conn, other, now),
        }
        Verdict::Continue
    }

    /// Every event but a publisher's audio and video, which come with every frame: apart, so
    /// that the frames' path stays small.
    #[cold]
    #[inline(never)]
    fn handle_other(
        &mut self,
        conn: &mut ServerConnection,
        event: ServerEvent,
        now: Instant,
    ) -> Verdict {
        // What a publisher sent before a command reaches the players (and the cache) before the
        // command is answered.
        if !matches!(
            event,
            ServerEvent::Metadata { .. } | ServerEvent::Data { .. } | ServerEvent::Writable
        ) {
            self.hand_on();
        }
        match event {
            ServerEvent::ConnectRequest(request) => return self.on_connect(conn, *request, now),
            ServerEvent::PublishRequest(request) => return self.on_publish(conn, request, now),
            ServerEvent::PlayRequest(request) => return self.on_play(conn, request, now),
            ServerEvent::Metadata {
                stream,
                timestamp,
                metadata,
            } => self.publish_item(
                stream,
                Item::Metadata {
                    timestamp,
                    metadata: Arc::new(metadata),
                },
            ),
            ServerEvent::Data {
                stream,
                timestamp,
                data,
            } => self.publish_item(
                stream,
                Item::Data {
                    timestamp,
                    data: Arc::new(data),
                },
            ),
            ServerEvent::Unpublished { stream } => self.stop_publishing(Some(stream)),
            ServerEvent::PlayStopped { stream } => self.stop_playing(Some(stream)),
            ServerEvent::StreamDeleted { stream } => {
                self.stop_publishing(Some(stream));
                self.stop_playing(Some(stream));
            }
            ServerEvent::Writable => {
                if let Some(playing) = &mut self.playing {
                    playing.behind_since = None;
                }
            }
            ServerEvent::Closed(error) => {
                self.parked = None;
                self.release();
                return Verdict::Close(CloseReason::Ended(error));
            }
            // Audio and video (`handle` takes them), and what the relay does not act on.
            _ => {}
        }
        Verdict::Continue
    }

    /// Parks `request` if the application is asked about its kind; whether it was.
    fn park(&mut self, parked: Parked, now: Instant) -> Option<Parked> {
        let kind = match &parked {
            Parked::Connect(_) => AccessKind::Connect,
            Parked::Publish(_) => AccessKind::Publish,
            Parked::Play(_) => AccessKind::Play,
        };
        if !self.config.ask.asks(kind) {
            return Some(parked);
        }
        let deadline = now + self.config.access_timeout;
        self.parked = Some((parked, deadline, false));
        None
    }

    /// The request waiting for the application's answer, once: answer it with
    /// [`answer`](Self::answer).
    pub fn poll_access_request(&mut self) -> Option<AccessRequest> {
        let (parked, _, reported) = self.parked.as_mut()?;
        if core::mem::replace(reported, true) {
            return None;
        }
        let (id, kind, name) = match parked {
            Parked::Connect(id) => (*id, AccessKind::Connect, ""),
            Parked::Publish(request) => (request.id, AccessKind::Publish, request.name.as_str()),
            Parked::Play(request) => (request.id, AccessKind::Play, request.name.as_str()),
        };
        let (name, query) = match kind {
            AccessKind::Connect => ("", self.app_query.clone()),
            _ => {
                let (name, query) = super::hub::split_query(name);
                (name, query.map(String::from))
            }
        };
        Some(AccessRequest {
            id,
            kind,
            app: self.app.clone(),
            name: String::from(name),
            query,
            tc_url: self.tc_url.clone(),
            flash_ver: self.flash_ver.clone(),
        })
    }

    /// When the request waiting for the application is refused if still unanswered: call
    /// [`handle_timeout`](Self::handle_timeout) then.
    pub fn access_deadline(&self) -> Option<Instant> {
        self.parked.as_ref().map(|(_, deadline, _)| *deadline)
    }

    /// Refuses the waiting request if its deadline has passed.
    pub fn handle_timeout(&mut self, conn: &mut ServerConnection, now: Instant) -> Verdict {
        match self.parked.as_ref() {
            Some((parked, deadline, _)) if now >= *deadline => {
                let id = match parked {
                    Parked::Connect(id) => *id,
                    Parked::Publish(request) => request.id,
                    Parked::Play(request) => request.id,
                };
                let reason = String::from("No decision was made in time.");
                self.answer(conn, id, Access::Refuse(reason), now)
            }
            _ => Verdict::Continue,
        }
    }

    /// The application's answer to the request `id` (an [`AccessRequest`]'s); an answer to a
    /// request no longer waiting (refused at its deadline, or the connection ended) is
    /// ignored.
    pub fn answer(
        &mut self,
        conn: &mut ServerConnection,
        id: RequestId,
        access: Access,
        now: Instant,
    ) -> Verdict {
        let is_it = |parked: &Parked| match parked {
            Parked::Connect(parked) => *parked == id,
            Parked::Publish(request) => request.id == id,
            Parked::Play(request) => request.id == id,
        };
        if !self
            .parked
            .as_ref()
            .is_some_and(|(parked, ..)| is_it(parked))
        {
            return Verdict::Continue;
        }
        let Some((parked, ..)) = self.parked.take() else {
            return Verdict::Continue;
        };
        match (parked, access) {
            (Parked::Connect(id), Access::Allow) => self.accept_connect(conn, id),
            (Parked::Publish(request), Access::Allow) => self.accept_publish(conn, request),
            (Parked::Play(request), Access::Allow) => return self.accept_play(conn, request, now),
            (Parked::Connect(id), Access::Refuse(reason)) => {
                let _ = conn.reject_connect(id, &reason);
                self.note(RelayEvent::ConnectRefused {
                    app: self.app.clone(),
                    reason: reason.clone(),
                });
                return Verdict::Close(CloseReason::Refused(reason));
            }
            // NetStream.Publish.Denied, FMS's code for a publish the server's application
            // refuses: FFmpeg fails on any error-level status, and OBS's librtmp closes on
            // it (as on BadName and Rejected); neither retries a publish refused at its start.
            (Parked::Publish(request), Access::Refuse(reason)) => {
                const CODE: &str = "NetStream.Publish.Denied";
                let _ = conn.reject_publish(request.id, CODE, &reason);
                let key = StreamKey::new(&self.app, &request.name);
                self.note(RelayEvent::PublishRefused { key, code: CODE });
                return Verdict::Close(CloseReason::Refused(reason));
            }
            // There is no "Play.Denied": FMS answers a refused play NetStream.Play.Failed,
            // which librtmp and FFmpeg both end on.
            (Parked::Play(request), Access::Refuse(reason)) => {
                const CODE: &str = "NetStream.Play.Failed";
                let _ = conn.reject_play(request.id, CODE, &reason);
                let key = StreamKey::new(&self.app, &request.name);
                self.note(RelayEvent::PlayRefused { key, code: CODE });
                return Verdict::Close(CloseReason::Refused(reason));
            }
        }
        Verdict::Continue
    }

    fn on_connect(
        &mut self,
        conn: &mut ServerConnection,
        request: ConnectRequest,
        now: Instant,
    ) -> Verdict {
        let (app, query) = super::hub::split_query(&request.app);
        self.app = String::from(app);
        self.app_query = query.map(String::from);
        self.tc_url = request.tc_url.clone();
        self.flash_ver = request.flash_ver.clone();
        self.multitrack_capable = announces_multitrack(&request);
        self.reconnect_capable = request
            .caps_ex
            .is_some_and(|caps| caps & CAPS_EX_RECONNECT != 0);
        if let Some(Parked::Connect(id)) = self.park(Parked::Connect(request.id), now) {
            self.accept_connect(conn, id);
        }
        Verdict::Continue
    }

    fn accept_connect(&mut self, conn: &mut ServerConnection, id: RequestId) {
        if conn.accept_connect(id).is_ok() {
            self.note(RelayEvent::Connected {
                app: self.app.clone(),
                multitrack: self.multitrack_capable,
            });
        }
    }

    fn on_publish(
        &mut self,
        conn: &mut ServerConnection,
        request: PublishRequest,
        now: Instant,
    ) -> Verdict {
        let key = StreamKey::new(&self.app, &request.name);
        let refusal = if key.name.is_empty() {
            Some("The stream name is empty.")
        } else if self.publishing.is_some() {
            Some("This connection publishes already.")
        } else if self.config.check_names {
            unsafe_file_name(&key.name).or_else(|| unsafe_file_name(&key.app))
        } else {
            None
        };
        if let Some(reason) = refusal {
            const CODE: &str = "NetStream.Publish.BadName";
            let _ = conn.reject_publish(request.id, CODE, reason);
            self.note(RelayEvent::PublishRefused { key, code: CODE });
            return Verdict::Continue;
        }
        if let Some(Parked::Publish(request)) = self.park(Parked::Publish(request), now) {
            self.accept_publish(conn, request);
        }
        Verdict::Continue
    }

    fn accept_publish(&mut self, conn: &mut ServerConnection, request: PublishRequest) {
        let key = StreamKey::new(&self.app, &request.name);
        let query = super::hub::split_query(&request.name).1.map(String::from);
        let (connection, now) = (self.id, self.now);
        let Some(id) = self.hub.with(|hub| hub.claim(&key, connection, now)) else {
            const CODE: &str = "NetStream.Publish.BadName";
            let description = format!("{key} is already being published.");
            let _ = conn.reject_publish(request.id, CODE, &description);
            self.note(RelayEvent::PublishRefused { key, code: CODE });
            return;
        };
        if conn.accept_publish(request.id).is_ok() {
            self.note(RelayEvent::Publishing {
                key: key.clone(),
                query,
            });
            self.publishing = Some(Publishing {
                stream: request.stream,
                key,
                id,
                batch: Vec::new(),
                batch_bytes: 0,
            });
            // A publisher that arrives while the relay drains is asked to move at once.
            let _ = self.drain_step(conn);
        } else {
            self.hub.with(|hub| hub.release(&key, id, connection));
        }
    }

    fn on_play(
        &mut self,
        conn: &mut ServerConnection,
        request: PlayRequest,
        now: Instant,
    ) -> Verdict {
        let key = StreamKey::new(&self.app, &request.name);
        if key.name.is_empty() || self.playing.is_some() {
            const CODE: &str = "NetStream.Play.Failed";
            let description = if key.name.is_empty() {
                "The stream name is empty."
            } else {
                "This connection already plays a stream."
            };
            let _ = conn.reject_play(request.id, CODE, description);
            self.note(RelayEvent::PlayRefused { key, code: CODE });
            return Verdict::Continue;
        }
        match self.park(Parked::Play(request), now) {
            Some(Parked::Play(request)) => self.accept_play(conn, request, now),
            _ => Verdict::Continue,
        }
    }

    fn accept_play(
        &mut self,
        conn: &mut ServerConnection,
        request: PlayRequest,
        now: Instant,
    ) -> Verdict {
        let key = StreamKey::new(&self.app, &request.name);
        let query = super::hub::split_query(&request.name).1.map(String::from);
        if conn.accept_play(request.id, StreamKind::Live).is_err() {
            return Verdict::Continue;
        }
        let connection = self.id;
        let (receiver, snapshot, live) = self
            .hub
            .with(|hub| hub.join(&key, connection, query.as_deref(), now));
        let all_tracks = self.multitrack_capable || self.config.multitrack == MultitrackPolicy::All;
        self.note(RelayEvent::Playing {
            key: key.clone(),
            query,
            live,
            all_tracks,
        });
        self.playing = Some(Playing {
            stream: request.stream,
            key,
            receiver,
            all_tracks,
            gate: KeyframeGate::default(),
            behind_since: None,
        });
        self.send_items(conn, &snapshot, now, &mut |_| 0)
    }

    fn publish_media(
        &mut self,
        conn: &ServerConnection,
        stream: u32,
        kind: MediaKind,
        timestamp: u32,
        payload: Bytes,
    ) {
        if self.publishing.as_ref().is_some_and(|p| p.stream == stream) {
            let mut frame = Frame::new(kind, timestamp, payload);
            // Chunked once for the players, which send at the server's chunk size, as this
            // connection does, on the first message stream, as players do.
            frame.chunk(conn.configured_chunk_size(), PLAYER_MESSAGE_STREAM);
            self.publish_item(stream, Item::Media(frame));
        }
    }

    fn publish_item(&mut self, stream: u32, item: Item) {
        let max_batch_bytes = self.config.max_batch_bytes;
        let Some(publishing) = self.publishing.as_mut().filter(|p| p.stream == stream) else {
            return;
        };
        publishing.batch_bytes += item.media_len();
        publishing.batch.push(item);
        if !self.batching || publishing.batch_bytes >= max_batch_bytes {
            self.hand_on();
        }
    }

    /// Hands what was published since the last call on to the players and the join cache.
    pub fn hand_on(&mut self) {
        let Some(publishing) = &mut self.publishing else {
            return;
        };
        if publishing.batch.is_empty() {
            return;
        }
        // One allocation; the list keeps its memory for the next batch.
        let batch: Batch = publishing.batch.drain(..).collect();
        publishing.batch_bytes = 0;
        let (key, id, now) = (&publishing.key, publishing.id, self.now);
        self.hub.with(|hub| hub.hand_on(key, id, batch, now));
    }

    fn stop_publishing(&mut self, stream: Option<u32>) {
        if self
            .publishing
            .as_ref()
            .is_some_and(|p| stream.is_none_or(|stream| p.stream == stream))
        {
            self.hand_on();
            if let Some(publishing) = self.publishing.take() {
                let connection = self.id;
                self.hub
                    .with(|hub| hub.release(&publishing.key, publishing.id, connection));
                self.note(RelayEvent::Unpublished {
                    key: publishing.key,
                });
            }
        }
    }

    fn stop_playing(&mut self, stream: Option<u32>) {
        if self
            .playing
            .as_ref()
            .is_some_and(|p| stream.is_none_or(|stream| p.stream == stream))
        {
            if let Some(playing) = self.playing.take() {
                let key = playing.key;
                drop(playing.receiver);
                let (connection, now) = (self.id, self.now);
                self.hub.with(|hub| hub.leave(&key, connection, now));
                self.note(RelayEvent::PlayStopped { key });
            }
        }
    }

    /// Releases the stream published and the stream played (what dropping the connection
    /// does too).
    pub fn release(&mut self) {
        self.stop_publishing(None);
        self.stop_playing(None);
    }

    /// The receiver missed batches: the player skips to the next keyframe of each track.
    pub fn lagged(&mut self) {
        if let Some(playing) = &mut self.playing {
            playing.gate.reset();
        }
        if self.playing.is_some() {
            self.note(RelayEvent::Lagged);
        }
    }

    /// Sends the player what `batch` holds for it.
    pub fn deliver(&mut self, conn: &mut ServerConnection, batch: &Batch, now: Instant) -> Verdict {
        self.deliver_through(conn, batch, now, &mut |_| 0)
    }

    /// [`deliver`](Self::deliver), offering a batch of one frame to `write` at once when
    /// nothing waits to be written before it ([`ServerConnection::send_chunked_through`]):
    /// for a driver that can write to the player's transport without blocking outside its
    /// poll. A batch of several items goes to the output whole, for one write of them all.
    pub fn deliver_through(
        &mut self,
        conn: &mut ServerConnection,
        batch: &Batch,
        now: Instant,
        write: &mut impl FnMut(&[&[u8]]) -> usize,
    ) -> Verdict {
        self.now = self.now.max(now);
        // `send_items` takes the writer as `dyn`: both calls share one copy of its code, where
        // a second copy beside the first spread a frame's path over more pages.
        let verdict = if batch.len() == 1 {
            self.send_items(conn, batch, now, write)
        } else {
            self.send_items(conn, batch, now, &mut |_| 0)
        };
        self.count_sent(conn);
        verdict
    }

    fn send_items(
        &mut self,
        conn: &mut ServerConnection,
        items: &[Item],
        now: Instant,
        write: &mut dyn FnMut(&[&[u8]]) -> usize,
    ) -> Verdict {
        let max_behind = self.config.max_behind;
        let Some(playing) = &mut self.playing else {
            return Verdict::Continue;
        };
        let mut media_out = 0;
        let mut dropped = 0;
        for item in items {
            let stream = playing.stream;
            let mut len = 0;
            let sent = match item {
                Item::Media(frame) => {
                    let Some((payload, chunked)) = playing.pick(frame) else {
                        continue;
                    };
                    len = payload.len() as u64;
                    match (chunked, frame.kind) {
                        (Some(chunked), _) => {
                            conn.send_chunked_through(stream, chunked, &mut *write)
                        }
                        (None, MediaKind::Audio) => {
                            conn.send_audio(stream, frame.timestamp, payload.clone())
                        }
                        (None, MediaKind::Video) => {
                            conn.send_video(stream, frame.timestamp, payload.clone())
                        }
                    }
                }
                other => match send_other(conn, playing, other) {
                    Ok(sent) => sent,
                    Err(verdict) => {
                        Counters::add(&self.counters.media_out, media_out);
                        return verdict;
                    }
                },
            };
            match sent {
                Ok(SendStatus::AboveHighWater) => {
                    media_out += len;
                    let since = *playing.behind_since.get_or_insert(now);
                    if now.saturating_duration_since(since) > max_behind {
                        Counters::add(&self.counters.media_out, media_out);
                        return Verdict::Close(CloseReason::PlayerBehind(max_behind));
                    }
                }
                Ok(SendStatus::DroppedVideo) => dropped += 1,
                Ok(SendStatus::Queued) => media_out += len,
                Err(ApiError::QueueFull) => return Verdict::Close(CloseReason::PlayerQueueFull),
                Err(ApiError::Closed) => {
                    let error = conn.error().cloned().unwrap_or(SessionError::Closed);
                    return Verdict::Close(CloseReason::Ended(error));
                }
                // The player's stream is gone (deleted meanwhile); its event follows.
                Err(_) => return Verdict::Continue,
            }
        }
        Counters::add(&self.counters.media_out, media_out);
        if dropped > 0 {
            Counters::add(&self.counters.dropped_video, dropped);
        }
        Verdict::Continue
    }
}

/// Sends a player what a batch holds besides media: metadata, data and the stream's statuses
/// (a few per stream, where media comes every frame: kept apart so that the frames' path stays
/// small). `Err` with the verdict when the item ends the connection (no stream to play).
#[cold]
#[inline(never)]
fn send_other<R>(
    conn: &mut ServerConnection,
    playing: &mut Playing<R>,
    item: &Item,
) -> Result<Result<SendStatus, ApiError>, Verdict> {
    let stream = playing.stream;
    Ok(match item {
        // `send_items` sends media itself and never hands it here.
        Item::Media(_) => Ok(SendStatus::Queued),
        Item::Metadata { metadata, .. } => conn.send_metadata(stream, Value::clone(metadata)),
        Item::Data { timestamp, data } => {
            conn.send_data(stream, *timestamp, crate::message::Data::clone(data))
        }
        Item::Published => {
            playing.gate.reset();
            let description = format!("{} is now published.", playing.key);
            conn.send_status(
                stream,
                StatusLevel::Status,
                "NetStream.Play.PublishNotify",
                &description,
            )
        }
        Item::NotFound => {
            let key = playing.key.clone();
            let description = format!("{key} was not found at any origin.");
            let _ = conn.send_status(
                stream,
                StatusLevel::Error,
                "NetStream.Play.StreamNotFound",
                &description,
            );
            return Err(Verdict::Close(CloseReason::StreamNotFound(key)));
        }
        // The connection's queue keeps a stream's statuses behind the media queued before
        // them, so the player gets every frame before this.
        Item::Unpublished => {
            let description = format!("{} is now unpublished.", playing.key);
            conn.send_status(
                stream,
                StatusLevel::Status,
                "NetStream.Play.UnpublishNotify",
                &description,
            )
        }
    })
}

impl<H: SharedHub> Drop for RelayConnection<H> {
    fn drop(&mut self) {
        self.release();
        let id = self.id;
        self.hub.with(|hub| hub.unregister(id));
    }
}

/// Whether a connect announced Enhanced RTMP multitrack: `capsEx` with the Multitrack bit, or
/// (as MediaMTX reads it since its issue 5478) a `fourCcList` or `videoFourCcInfoMap`.
fn announces_multitrack(request: &ConnectRequest) -> bool {
    request
        .caps_ex
        .is_some_and(|caps| caps & CAPS_EX_MULTITRACK != 0)
        || request.fourcc_list.is_some()
        || request.command_object.get("videoFourCcInfoMap").is_some()
}
