//! A live relay: clients publish to `rtmp://host/APP/NAME`, any number of players play the same
//! URL. What `examples/server.rs` runs.
//!
//! - Each connection is a task of its own; a stream's frames reach its players through a
//!   [`broadcast`] channel, whose payloads are shared [`Bytes`] (one payload, N players, no
//!   copy). The publisher never waits for a player.
//! - A publisher's connection reads about every [`RelayConfig::merge_window`] (100 ms by
//!   default, like SRS's merged reads and writes) and hands what it read on to the players
//!   as one batch: the publisher and each player wake, and write to their sockets, a few
//!   times a second rather than for every frame, which is most of the CPU a relay spends. A
//!   zero window reads and hands on frames as they arrive.
//! - A player that joins a running stream first gets the cached metadata, the audio and video
//!   sequence headers and the current GOP (from its keyframe), so it starts at once, on a
//!   keyframe. What a keyframe or a sequence header is comes from [`rtmp_proto::media`], so
//!   HEVC, AV1 and VP9 over Enhanced RTMP relay like H.264.
//! - A player that falls behind has its video thinned by its connection's outbound queue
//!   ([`SessionConfig::drop_video_when_congested`](rtmp_proto::session::SessionConfig)); one
//!   that stays behind longer than [`RelayConfig::max_behind`], or fills the queue to its
//!   hard bound, is disconnected.
//! - A second publisher of a name is refused with NetStream.Publish.BadName; when a publisher
//!   leaves, its players get NetStream.Play.UnpublishNotify (and Play.PublishNotify when a new
//!   one starts).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use rtmp_proto::amf::Value;
use rtmp_proto::media::{AudioInfo, VideoInfo};
use rtmp_proto::message::Data;
use rtmp_proto::session::server::{ServerConnectionConfig, ServerEvent, StatusLevel, StreamKind};
use rtmp_proto::session::{ApiError, SendStatus};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tracing::Instrument;

use crate::server::{Server, ServerSession};

/// How the relay treats its connections.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Each connection's configuration. The default keeps the outbound queue small for live
    /// playback: video is thinned above 2 MiB queued, the queue is full at 16 MiB. It pings a
    /// peer silent for 20 s: a player of a low-bitrate stream acknowledges only every window
    /// (minutes apart) and must not hit the 60 s idle timeout while it is alive.
    pub connection: ServerConnectionConfig,
    /// A player whose outbound queue stays above its high-water mark this long is
    /// disconnected. Default 10 s.
    pub max_behind: Duration,
    /// Most bytes of the current GOP kept for joining players; a longer GOP is not cached
    /// (players then wait for the next keyframe). Default 16 MiB.
    pub max_gop_bytes: usize,
    /// Batches of frames buffered between a publisher and each of its players' tasks. A
    /// player task that lags more than this (it is starved, not its peer slow: its queue
    /// takes frames at once) skips to the next keyframe. Default 1024.
    pub fan_out_capacity: usize,
    /// About how long a publisher's frames wait, unread, to be handed on to its players
    /// together ([`ServerSession::set_read_pacing`]; twice this at most): the latency added,
    /// for fewer wake-ups and socket writes per connection. Zero hands on frames as they
    /// arrive, and suits transports that buffer less than that much of a publisher's media (a
    /// small in-memory pipe). Default 100 ms.
    pub merge_window: Duration,
    /// A batch is handed on at once when its payloads reach this many bytes, or a quarter of
    /// the connections' outbound high-water mark if that is less (a batch lands in a player's
    /// queue at once, and must not look like congestion). Default 1 MiB.
    pub max_batch_bytes: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        let mut connection = ServerConnectionConfig::default();
        connection.session.outbound_high_water = 2 * 1024 * 1024;
        connection.session.outbound_low_water = 512 * 1024;
        connection.session.outbound_max = 16 * 1024 * 1024;
        connection.session.drop_video_when_congested = true;
        connection.session.ping_interval = Some(Duration::from_secs(20));
        RelayConfig {
            connection,
            max_behind: Duration::from_secs(10),
            max_gop_bytes: 16 * 1024 * 1024,
            fan_out_capacity: 1024,
            merge_window: Duration::from_millis(100),
            max_batch_bytes: 1024 * 1024,
        }
    }
}

/// What a publisher hands its players.
#[derive(Clone, Debug)]
enum Frame {
    Audio(u32, Bytes),
    Video(u32, Bytes),
    Metadata(Arc<Value>),
    /// Another data message (`onTextData`, `onCuePoint`...), forwarded, not cached.
    Data(u32, Arc<Data>),
    /// A publisher started.
    Published,
    /// The publisher left.
    Unpublished,
}

impl Frame {
    fn size(&self) -> usize {
        match self {
            Frame::Audio(_, payload) | Frame::Video(_, payload) => payload.len(),
            _ => 0,
        }
    }
}

/// Frames a publisher hands on together, shared by all its players.
type Batch = Arc<Vec<Frame>>;

/// What a joining player needs to start at once.
#[derive(Default)]
struct Cache {
    metadata: Option<Arc<Value>>,
    video_header: Option<(u32, Bytes)>,
    audio_header: Option<(u32, Bytes)>,
    /// The frames since the last keyframe, starting with it; empty while none is cached.
    gop: Vec<Frame>,
    gop_bytes: usize,
}

impl Cache {
    fn remember(&mut self, frame: &Frame, max_gop_bytes: usize) {
        match frame {
            Frame::Metadata(metadata) => self.metadata = Some(metadata.clone()),
            Frame::Video(timestamp, payload) => match VideoInfo::parse(payload) {
                Ok(info) if info.is_sequence_header() => {
                    self.video_header = Some((*timestamp, payload.clone()));
                }
                Ok(info) if info.is_keyframe() => {
                    self.gop.clear();
                    self.gop.push(frame.clone());
                    self.gop_bytes = payload.len();
                }
                _ => self.add_to_gop(frame, max_gop_bytes),
            },
            Frame::Audio(timestamp, payload) => match AudioInfo::parse(payload) {
                Ok(info) if info.is_sequence_header() => {
                    self.audio_header = Some((*timestamp, payload.clone()));
                }
                _ => self.add_to_gop(frame, max_gop_bytes),
            },
            Frame::Data(..) | Frame::Published | Frame::Unpublished => {}
        }
    }

    fn add_to_gop(&mut self, frame: &Frame, max_gop_bytes: usize) {
        if self.gop.is_empty() {
            return;
        }
        self.gop_bytes += frame.size();
        if self.gop_bytes > max_gop_bytes {
            self.gop.clear();
            self.gop_bytes = 0;
        } else {
            self.gop.push(frame.clone());
        }
    }

    /// What a player joining now is sent first, in order.
    fn snapshot(&self) -> Vec<Frame> {
        let mut frames = Vec::with_capacity(self.gop.len() + 3);
        frames.extend(self.metadata.clone().map(Frame::Metadata));
        frames.extend(self.video_header.clone().map(|(t, p)| Frame::Video(t, p)));
        frames.extend(self.audio_header.clone().map(|(t, p)| Frame::Audio(t, p)));
        frames.extend(self.gop.iter().cloned());
        frames
    }
}

/// One stream name: its publisher (if any), its cache and its players' channel.
struct Channel {
    key: String,
    sender: broadcast::Sender<Batch>,
    state: Mutex<ChannelState>,
}

#[derive(Default)]
struct ChannelState {
    publisher: Option<u64>,
    cache: Cache,
}

impl Channel {
    fn state(&self) -> MutexGuard<'_, ChannelState> {
        // A panic elsewhere cannot leave the state inconsistent in a way that matters here.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// The streams by name. Lock order: the map, then a channel's state.
struct Hub {
    channels: Mutex<HashMap<String, Arc<Channel>>>,
    config: RelayConfig,
    next_connection: AtomicU64,
}

impl Hub {
    fn channels(&self) -> MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        self.channels
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs `f` on the channel of `key` (created if need be) and its state, with the map
    /// locked so that no [`release`](Self::release) forgets the channel meanwhile.
    fn with_channel<T>(
        &self,
        key: &str,
        f: impl FnOnce(&Channel, &mut ChannelState) -> T,
    ) -> (Arc<Channel>, T) {
        let capacity = self.config.fan_out_capacity.max(1);
        let mut channels = self.channels();
        let channel = channels
            .entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(Channel {
                    key: key.to_string(),
                    sender: broadcast::channel(capacity).0,
                    state: Mutex::new(ChannelState::default()),
                })
            })
            .clone();
        let result = f(&channel, &mut channel.state());
        (channel, result)
    }

    /// Forgets a channel nobody publishes or plays any more.
    fn release(&self, channel: &Channel) {
        let mut channels = self.channels();
        let unused = channel.state().publisher.is_none() && channel.sender.receiver_count() == 0;
        if unused {
            channels.remove(&channel.key);
        }
    }
}

/// The relay: hand it a listener with [`serve`](Self::serve), or single connections with
/// [`serve_connection`](Self::serve_connection).
#[derive(Clone)]
pub struct Relay {
    hub: Arc<Hub>,
}

impl Relay {
    /// A relay with no streams yet.
    pub fn new(config: RelayConfig) -> Self {
        Relay {
            hub: Arc::new(Hub {
                channels: Mutex::new(HashMap::new()),
                config,
                next_connection: AtomicU64::new(1),
            }),
        }
    }

    /// Accepts connections from `listener` forever, each served in a task of its own.
    pub async fn serve(&self, listener: TcpListener) -> io::Result<()> {
        let server = Server::from_listener(listener, self.hub.config.connection.clone());
        tracing::info!(address = %server.local_addr()?, "relay listening");
        loop {
            match server.accept().await {
                Ok((session, peer)) => {
                    let relay = self.clone();
                    let span = tracing::info_span!("conn", %peer);
                    tokio::spawn(relay.serve_connection(session).instrument(span));
                }
                Err(error) => {
                    // Out of file descriptors, usually: wait for some to be freed.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Serves one connection until it ends (over TCP, TLS, QUIC...).
    pub async fn serve_connection<S>(self, mut session: ServerSession<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let id = self.hub.next_connection.fetch_add(1, Ordering::Relaxed);
        let mut connection = Connection {
            hub: self.hub,
            id,
            app: String::new(),
            publishing: None,
            playing: None,
        };
        loop {
            let keep_going = if connection.has_pending_batch() {
                // The batch goes once everything read so far is handled.
                match ready_event(&mut session).await {
                    Some(event) => connection.on_event(&mut session, event),
                    None => {
                        connection.hand_on_batch();
                        continue;
                    }
                }
            } else {
                tokio::select! {
                    event = session.next_event() => connection.on_event(&mut session, event),
                    received = next_batch(&mut connection.playing) => {
                        connection.on_batches(&mut session, received)
                    }
                }
            };
            if !keep_going {
                session.close();
                while !matches!(session.next_event().await, ServerEvent::Closed(_)) {}
                break;
            }
        }
        match session.close_reason() {
            Some(reason) => tracing::info!(%reason, "connection ended"),
            None => tracing::info!("connection ended"),
        }
    }

    /// How many streams have a publisher or players.
    pub fn stream_count(&self) -> usize {
        self.hub.channels().len()
    }

    /// How many players play `stream` (`APP/NAME`, e.g. `live/cam1`).
    pub fn players(&self, stream: &str) -> usize {
        self.hub
            .channels()
            .get(stream)
            .map_or(0, |channel| channel.sender.receiver_count())
    }

    /// Whether `stream` (`APP/NAME`) has a publisher.
    pub fn is_published(&self, stream: &str) -> bool {
        self.hub
            .channels()
            .get(stream)
            .is_some_and(|channel| channel.state().publisher.is_some())
    }
}

/// The session's next event if it has one without waiting for the peer; cancel-safe, like
/// [`ServerSession::next_event`], so nothing is lost when it has none.
async fn ready_event<S>(session: &mut ServerSession<S>) -> Option<ServerEvent>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut next = std::pin::pin!(session.next_event());
    std::future::poll_fn(|cx| match next.as_mut().poll(cx) {
        Poll::Ready(event) => Poll::Ready(Some(event)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Waits for the next batch of the stream played, if any (forever if none). Cancel-safe.
async fn next_batch(playing: &mut Option<Playing>) -> Result<Batch, RecvError> {
    match playing {
        Some(playing) => playing.receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// A publishing message stream; dropping it frees the name for the next publisher.
struct Publishing {
    hub: Arc<Hub>,
    channel: Arc<Channel>,
    stream: u32,
    /// Frames not handed on yet, oldest first.
    batch: Vec<Frame>,
    batch_bytes: usize,
}

impl Publishing {
    /// Adds `frame` to the batch; hands the batch on if it is full or batches are off.
    fn push(&mut self, frame: Frame) {
        let config = &self.hub.config;
        self.batch_bytes += frame.size();
        self.batch.push(frame);
        let high_water = config.connection.session.outbound_high_water;
        let most = config.max_batch_bytes.min(high_water / 4);
        if config.merge_window.is_zero() || self.batch_bytes >= most {
            self.hand_on();
        }
    }

    /// Hands the batch on to the players, and to the cache for those that join later.
    fn hand_on(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = Arc::new(std::mem::take(&mut self.batch));
        self.batch_bytes = 0;
        let mut state = self.channel.state();
        for frame in batch.iter() {
            state.cache.remember(frame, self.hub.config.max_gop_bytes);
        }
        // Sent under the lock that also guards the cache, so a player subscribing meanwhile
        // gets each frame exactly once: in its snapshot of the cache or in a batch.
        let _ = self.channel.sender.send(batch);
    }
}

impl Drop for Publishing {
    fn drop(&mut self) {
        self.hand_on();
        {
            let mut state = self.channel.state();
            state.publisher = None;
            state.cache = Cache::default();
            let _ = self.channel.sender.send(Arc::new(vec![Frame::Unpublished]));
        }
        self.hub.release(&self.channel);
        tracing::info!(stream = %self.channel.key, "unpublished");
    }
}

/// A playing message stream.
struct Playing {
    hub: Arc<Hub>,
    channel: Arc<Channel>,
    receiver: broadcast::Receiver<Batch>,
    stream: u32,
    /// Video is skipped until a keyframe (after joining with no GOP cached, or a lag).
    waiting_for_keyframe: bool,
    /// When the outbound queue went above its high-water mark, if it is there.
    behind_since: Option<Instant>,
}

impl Drop for Playing {
    fn drop(&mut self) {
        // Unsubscribe before asking whether the channel is still used.
        let (sender, _) = broadcast::channel(1);
        drop(std::mem::replace(&mut self.receiver, sender.subscribe()));
        self.hub.release(&self.channel);
    }
}

struct Connection {
    hub: Arc<Hub>,
    id: u64,
    app: String,
    publishing: Option<Publishing>,
    playing: Option<Playing>,
}

impl Connection {
    /// The channel key of a stream name: the app and the name without its query string.
    fn key(&self, name: &str) -> String {
        let name = name.split('?').next().unwrap_or_default();
        format!("{}/{}", self.app, name)
    }

    /// Returns false when the connection should end.
    fn on_event<S>(&mut self, session: &mut ServerSession<S>, event: ServerEvent) -> bool
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        // What a publisher sent before a command (a call, unpublishing...) reaches the players
        // and the cache before the command is answered.
        if !matches!(
            event,
            ServerEvent::Audio { .. }
                | ServerEvent::Video { .. }
                | ServerEvent::Metadata { .. }
                | ServerEvent::Data { .. }
                | ServerEvent::Writable
        ) {
            self.hand_on_batch();
        }
        let answered = match event {
            ServerEvent::ConnectRequest(request) => {
                self.app = request
                    .app
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                tracing::info!(app = %self.app, flash_ver = ?request.flash_ver, "connect");
                session.accept_connect(request.id)
            }
            ServerEvent::PublishRequest(request) => {
                let key = self.key(&request.name);
                if self.publishing.is_some() || request.name.is_empty() {
                    session.reject_publish(
                        request.id,
                        "NetStream.Publish.BadName",
                        "This connection cannot publish that.",
                    )
                } else {
                    match self.start_publishing(&key, request.stream) {
                        Some(publishing) => {
                            tracing::info!(stream = %key, "publishing");
                            self.publishing = Some(publishing);
                            session.set_read_pacing(Some(self.hub.config.merge_window));
                            session.accept_publish(request.id)
                        }
                        None => {
                            tracing::info!(stream = %key, "refused a second publisher");
                            session.reject_publish(
                                request.id,
                                "NetStream.Publish.BadName",
                                &format!("{key} is already being published."),
                            )
                        }
                    }
                }
            }
            ServerEvent::PlayRequest(request) => {
                let key = self.key(&request.name);
                if self.playing.is_some() || request.name.is_empty() {
                    session.reject_play(
                        request.id,
                        "NetStream.Play.Failed",
                        "This connection already plays a stream.",
                    )
                } else {
                    tracing::info!(stream = %key, "playing");
                    let accepted = session.accept_play(request.id, StreamKind::Live);
                    if accepted.is_ok() {
                        return self.start_playing(session, &key, request.stream);
                    }
                    accepted
                }
            }
            ServerEvent::Metadata {
                stream, metadata, ..
            } => {
                self.publish_frame(stream, Frame::Metadata(Arc::new(metadata)));
                Ok(())
            }
            ServerEvent::Data {
                stream,
                timestamp,
                data,
            } => {
                self.publish_frame(stream, Frame::Data(timestamp, Arc::new(data)));
                Ok(())
            }
            ServerEvent::Audio {
                stream,
                timestamp,
                payload,
            } => {
                self.publish_frame(stream, Frame::Audio(timestamp, payload));
                Ok(())
            }
            ServerEvent::Video {
                stream,
                timestamp,
                payload,
            } => {
                self.publish_frame(stream, Frame::Video(timestamp, payload));
                Ok(())
            }
            ServerEvent::Unpublished { stream } | ServerEvent::StreamDeleted { stream }
                if self.publishing.as_ref().is_some_and(|p| p.stream == stream) =>
            {
                self.publishing = None;
                session.set_read_pacing(None);
                Ok(())
            }
            ServerEvent::PlayStopped { stream } | ServerEvent::StreamDeleted { stream }
                if self.playing.as_ref().is_some_and(|p| p.stream == stream) =>
            {
                self.playing = None;
                Ok(())
            }
            ServerEvent::Writable => {
                if let Some(playing) = &mut self.playing {
                    playing.behind_since = None;
                }
                Ok(())
            }
            ServerEvent::Closed(_) => return false,
            _ => Ok(()),
        };
        self.check(answered)
    }

    fn start_publishing(&self, key: &str, stream: u32) -> Option<Publishing> {
        let (channel, free) = self.hub.with_channel(key, |channel, state| {
            if state.publisher.is_some() {
                return false;
            }
            state.publisher = Some(self.id);
            state.cache = Cache::default();
            let _ = channel.sender.send(Arc::new(vec![Frame::Published]));
            true
        });
        free.then(|| Publishing {
            hub: self.hub.clone(),
            channel,
            stream,
            batch: Vec::new(),
            batch_bytes: 0,
        })
    }

    fn start_playing<S>(&mut self, session: &mut ServerSession<S>, key: &str, stream: u32) -> bool
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        // Subscribing and copying the cache under one lock: nothing missed, nothing twice.
        let (channel, (receiver, snapshot, live)) = self.hub.with_channel(key, |channel, state| {
            (
                channel.sender.subscribe(),
                state.cache.snapshot(),
                state.publisher.is_some(),
            )
        });
        let starts_on_keyframe = snapshot.iter().any(|frame| match frame {
            Frame::Video(_, payload) => VideoInfo::parse(payload).is_ok_and(|i| i.is_keyframe()),
            _ => false,
        });
        self.playing = Some(Playing {
            hub: self.hub.clone(),
            channel,
            receiver,
            stream,
            waiting_for_keyframe: !starts_on_keyframe,
            behind_since: None,
        });
        if !live {
            tracing::debug!(stream = %key, "waiting for a publisher");
        }
        snapshot
            .into_iter()
            .all(|frame| self.send_to_player(session, &frame))
    }

    fn publish_frame(&mut self, stream: u32, frame: Frame) {
        let Some(publishing) = self.publishing.as_mut().filter(|p| p.stream == stream) else {
            return;
        };
        publishing.push(frame);
    }

    fn has_pending_batch(&self) -> bool {
        self.publishing
            .as_ref()
            .is_some_and(|p| !p.batch.is_empty())
    }

    fn hand_on_batch(&mut self) {
        if let Some(publishing) = &mut self.publishing {
            publishing.hand_on();
        }
    }

    /// Sends a received batch and every other one already waiting (one write for them all).
    fn on_batches<S>(
        &mut self,
        session: &mut ServerSession<S>,
        first: Result<Batch, RecvError>,
    ) -> bool
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let mut received = first;
        loop {
            let batch = match received {
                Ok(batch) => batch,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "player task lagged; skipping to the next keyframe");
                    if let Some(playing) = &mut self.playing {
                        playing.waiting_for_keyframe = true;
                    }
                    received = self.try_next();
                    continue;
                }
                Err(RecvError::Closed) => return true,
            };
            for frame in batch.iter() {
                if !self.send_to_player(session, frame) {
                    return false;
                }
            }
            received = self.try_next();
            if matches!(received, Err(RecvError::Closed)) {
                return true;
            }
        }
    }

    /// The next batch already waiting; `Closed` stands for "none now".
    fn try_next(&mut self) -> Result<Batch, RecvError> {
        use broadcast::error::TryRecvError;
        let Some(playing) = &mut self.playing else {
            return Err(RecvError::Closed);
        };
        match playing.receiver.try_recv() {
            Ok(batch) => Ok(batch),
            Err(TryRecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
            Err(TryRecvError::Empty | TryRecvError::Closed) => Err(RecvError::Closed),
        }
    }

    /// Queues `frame` for the player; false when the player must be disconnected.
    fn send_to_player<S>(&mut self, session: &mut ServerSession<S>, frame: &Frame) -> bool
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let max_behind = self.hub.config.max_behind;
        let Some(playing) = &mut self.playing else {
            return true;
        };
        let stream = playing.stream;
        let sent = match frame {
            Frame::Audio(timestamp, payload) => {
                session.send_audio(stream, *timestamp, payload.clone())
            }
            Frame::Video(timestamp, payload) => {
                if playing.waiting_for_keyframe {
                    match VideoInfo::parse(payload) {
                        Ok(info) if info.is_keyframe() => playing.waiting_for_keyframe = false,
                        Ok(info) if info.is_sequence_header() => {}
                        _ => return true,
                    }
                }
                session.send_video(stream, *timestamp, payload.clone())
            }
            Frame::Metadata(metadata) => session.send_metadata(stream, (**metadata).clone()),
            Frame::Data(timestamp, data) => {
                session
                    .connection()
                    .send_data(stream, *timestamp, (**data).clone())
            }
            Frame::Published => {
                playing.waiting_for_keyframe = true;
                session.send_status(
                    stream,
                    StatusLevel::Status,
                    "NetStream.Play.PublishNotify",
                    &format!("{} is now published.", playing.channel.key),
                )
            }
            // The connection's queue keeps a stream's statuses behind the media queued
            // before them, so the player gets every frame before this.
            Frame::Unpublished => session.send_status(
                stream,
                StatusLevel::Status,
                "NetStream.Play.UnpublishNotify",
                &format!("{} is now unpublished.", playing.channel.key),
            ),
        };
        match sent {
            Ok(SendStatus::AboveHighWater) => {
                let since = *playing.behind_since.get_or_insert_with(Instant::now);
                if since.elapsed() > max_behind {
                    tracing::warn!(after = ?max_behind, "player stays behind; disconnecting it");
                    return false;
                }
                true
            }
            Ok(SendStatus::Queued | SendStatus::DroppedVideo) => true,
            Err(ApiError::QueueFull) => {
                tracing::warn!("player's queue is full; disconnecting it");
                false
            }
            Err(error) => self.check(Err(error)),
        }
    }

    /// Logs a refused command; false when it means the connection is over.
    fn check(&self, result: Result<(), ApiError>) -> bool {
        match result {
            Ok(()) => true,
            Err(ApiError::Closed) => false,
            Err(error) => {
                tracing::debug!(%error, "command refused");
                true
            }
        }
    }
}
