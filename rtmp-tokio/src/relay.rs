//! A live relay: clients publish to `rtmp://host/APP/NAME`, any number of players play the same
//! URL. What `examples/server` runs.
//!
//! Every decision is [`rtmp_proto::relay`]'s (stream keys, the per-track join cache, which
//! tracks a player gets, statuses, the slow-player verdict); this module runs it on tokio:
//!
//! - each connection is a task of its own, and a stream's batches reach its players through a
//!   ring of the last batches whose payloads are shared `Bytes` (one payload, N players, no
//!   copy).
//!   The task that hands a batch on (the publisher's) then writes it to each player's socket
//!   itself, with the player's waker, instead of waking each player's task (`direct`): a
//!   player's task wakes for what its peer sends or for a socket that was full. The
//!   publisher never waits for a player; a player that lags the ring by more than
//!   [`RelayConfig::fan_out_capacity`] batches skips to the next keyframe;
//! - a publisher's connection reads about every [`RelayConfig::merge_window`] and hands what
//!   one read brought on to the players as one batch, so that the publisher and each player
//!   wake, and write to their sockets, a few times a second rather than for every frame;
//! - an [`AccessHook`] ([`RelayConfig::access`]) decides on connects, publishes and plays: the
//!   connection's task awaits it beside its session (which goes on answering pings), so a
//!   slow or silent hook delays that connection alone, and the core refuses the request at
//!   [`HubConfig::access_timeout`](rtmp_proto::relay::HubConfig::access_timeout);
//! - an edge: with origins ([`RelayConfig::pull_from`], the core's
//!   [`PullConfig`](rtmp_proto::relay::PullConfig)), a play of a stream nobody publishes here
//!   is pulled from the first origin that has it, one client connection per stream, by a task
//!   that only dials, reads and hands what it reads to the hub; when to start, fail over,
//!   give up and close is the hub's decision ([`Hub::poll_pull`]);
//! - [`Relay::drain`] is a graceful restart: [`serve`](Relay::serve) stops accepting, the hub
//!   ([`Hub::drain`]) asks capable publishers to reconnect (Enhanced RTMP v2, "Reconnect"),
//!   and the call returns when nobody publishes or plays, or at its deadline.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use rtmp_proto::relay::{
    recording_file_name, Access, AccessRequest, AskFor, Backoff, FlvRecording, Hub, HubConfig,
    Item, MediaKind, PullCommand, PullError, PullId, PullTarget, PushRule, PushTarget,
    RelayConnection, RelayEvent, RelayStats, SharedHub as _, StreamKey, StreamSummary,
    UpstreamFeed, Verdict,
};
use rtmp_proto::session::server::{RequestId, ServerConnectionConfig};
use rtmp_proto::url::RtmpUrl;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{watch, Notify};
use tracing::Instrument;

mod direct;
mod ring;

use direct::{ConnectionCell, DirectFanout, PlayerReceiver, TokioHub};

use crate::client::{Client, ClientOptions, Publisher};
use crate::driver::Clock;
use crate::server::{Server, ServerSession};

/// Locks one of the relay's mutexes (`direct`, `ring`). Each guards state that every change
/// leaves consistent: a panic elsewhere that poisoned one does not matter to the next user.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// How the relay treats its connections.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RelayConfig {
    /// Each connection's configuration. The default keeps the outbound queue small for live
    /// playback: video is thinned above 2 MiB queued, the queue is full at 16 MiB. It pings a
    /// peer silent for 20 s: a player of a low-bitrate stream acknowledges only every window
    /// (minutes apart) and must not hit the 60 s idle timeout while it is alive. It sends with
    /// a chunk size of [`RELAY_CHUNK_SIZE`](rtmp_proto::relay::RELAY_CHUNK_SIZE), under which
    /// a frame goes to the players without a copy.
    pub connection: ServerConnectionConfig,
    /// What the hub decides with: cache bounds, the slow-player verdict, multitrack.
    pub hub: HubConfig,
    /// Batches buffered between a publisher and each of its players' tasks. A player task
    /// that lags more than this (it is starved, not its peer slow: its queue takes batches at
    /// once) skips to the next keyframe. Default 1024.
    pub fan_out_capacity: usize,
    /// About how long a publisher's frames wait, unread, to be handed on to its players
    /// together ([`ServerSession::set_read_pacing`]; twice this at most): the latency added,
    /// for fewer wake-ups and socket writes per connection. Zero hands on frames as they
    /// arrive, and suits transports that buffer less than that much of a publisher's media (a
    /// small in-memory pipe). Default 25 ms, chosen from the curve the fan-out benchmark
    /// measures (README, "Fan-out benchmark"): with 100 players it costs less CPU per
    /// delivered bit than nginx-rtmp and adds a p99 of about 14 ms, where 0 and 10 ms cost
    /// 1.0-1.3 times nginx's CPU and 50 and 100 ms add a p99 of 60 and 160 ms.
    pub merge_window: Duration,
    /// Who decides on the requests [`HubConfig::ask`] names; `None` (the default) allows
    /// them all. Set it with [`access`](Self::access).
    pub access_hook: Option<AccessHook>,
    /// Where every published stream is recorded, as `DIR/APP/NAME-UTCSTART.flv` (every track;
    /// written as batches arrive, so a crash leaves a file readable up to its last tag;
    /// closed when the publisher leaves). An error (a full disk, an unwritable directory)
    /// stops that recording, logged and counted ([`Relay::recordings`]), never the stream.
    /// Default `None`: nothing is recorded.
    pub record_dir: Option<PathBuf>,
    /// Where published streams are forwarded ([`PushRule`]): each target of each rule that
    /// matches a stream is a client connection of its own, publishing the stream there, with
    /// its own queue of at most [`push_queue_bytes`](Self::push_queue_bytes) and reconnecting
    /// after the [`push_backoff`](Self::push_backoff) schedule. Default: none.
    pub push: Vec<PushRule>,
    /// Media bytes queued for one upstream before its video is thinned. Default 8 MiB.
    pub push_queue_bytes: usize,
    /// The first and the longest wait between an upstream's connection attempts.
    /// Default 500 ms and 10 s.
    pub push_backoff: (Duration, Duration),
    /// How long an upstream's TCP, TLS, handshake, connect and publish may take. Default 10 s.
    pub push_connect_timeout: Duration,
    /// How a pull ([`pull_from`](Self::pull_from)) connects to an origin: what `rtmps://`
    /// origins trust (`tls`: a self-signed origin's certificate), the connect and request
    /// timeouts. Default [`ClientOptions::default`].
    pub pull_client: ClientOptions,
}

/// What the relay's recordings did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordingCounts {
    /// Recordings started.
    pub started: u64,
    /// Recordings stopped by an error.
    pub failed: u64,
}

/// The decision a hook is working on.
pub type AccessFuture = Pin<Box<dyn Future<Output = Access> + Send>>;

/// The application's say on connects, publishes and plays: called with the request (app,
/// stream name, query, tcUrl, flashVer) and the client's address, if known; the future's
/// [`Access`] answers it.
#[derive(Clone)]
pub struct AccessHook(Arc<dyn Fn(AccessRequest, Option<SocketAddr>) -> AccessFuture + Send + Sync>);

impl AccessHook {
    /// A hook of an async closure (or any function returning a future).
    pub fn new<F, Fut>(hook: F) -> Self
    where
        F: Fn(AccessRequest, Option<SocketAddr>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Access> + Send + 'static,
    {
        AccessHook(Arc::new(move |request, peer| Box::pin(hook(request, peer))))
    }

    fn call(&self, request: AccessRequest, peer: Option<SocketAddr>) -> AccessFuture {
        (self.0)(request, peer)
    }
}

impl fmt::Debug for AccessHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessHook")
    }
}

impl RelayConfig {
    /// Asks `hook` before every connect, publish and play ([`HubConfig::ask`] narrows it).
    ///
    /// ```no_run
    /// use rtmp_tokio::proto::relay::{Access, AccessKind};
    /// use rtmp_tokio::relay::{Relay, RelayConfig};
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let config = RelayConfig::default().access(|request, peer| async move {
    ///     let keyed = request.query.as_deref() == Some("key=s3cret");
    ///     match request.kind {
    ///         AccessKind::Publish if !keyed => Access::Refuse(format!("{peer:?} has no key")),
    ///         _ => Access::Allow,
    ///     }
    /// });
    /// let relay = Relay::new(config);
    /// relay.serve(tokio::net::TcpListener::bind("127.0.0.1:1935").await?).await
    /// # }
    /// ```
    pub fn access<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(AccessRequest, Option<SocketAddr>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Access> + Send + 'static,
    {
        self.access_hook = Some(AccessHook::new(hook));
        self.hub.ask = AskFor::ALL;
        self
    }

    /// Makes the relay an edge of `origins`, tried in this order: a play of a stream nobody
    /// publishes here is pulled from them (the hub's
    /// [`PullConfig`](rtmp_proto::relay::PullConfig), `hub.pull`, holds the timeouts: 5 s for
    /// an origin's first media, a 10 s reconnect window, closed 5 s after the last player).
    ///
    /// ```no_run
    /// use rtmp_tokio::proto::relay::PullTarget;
    /// use rtmp_tokio::relay::{Relay, RelayConfig};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let origins = vec![
    ///     PullTarget::parse("rtmp://10.0.0.1/live")?,
    ///     PullTarget::parse("rtmp://10.0.0.2/live")?,
    /// ];
    /// let relay = Relay::new(RelayConfig::default().pull_from(origins));
    /// relay.serve(tokio::net::TcpListener::bind("0.0.0.0:1935").await?).await?;
    /// # Ok(()) }
    /// ```
    pub fn pull_from(mut self, origins: Vec<PullTarget>) -> Self {
        self.hub.pull.origins = origins;
        self
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        let mut connection = ServerConnectionConfig::default();
        connection.session.outbound_high_water = 2 * 1024 * 1024;
        connection.session.outbound_low_water = 512 * 1024;
        connection.session.outbound_max = 16 * 1024 * 1024;
        connection.session.drop_video_when_congested = true;
        connection.session.ping_interval = Some(Duration::from_secs(20));
        connection.session.chunk_size = rtmp_proto::relay::RELAY_CHUNK_SIZE;
        RelayConfig {
            connection,
            hub: HubConfig::default(),
            fan_out_capacity: 1024,
            merge_window: Duration::from_millis(25),
            access_hook: None,
            record_dir: None,
            push: Vec::new(),
            push_queue_bytes: 8 * 1024 * 1024,
            push_backoff: (Duration::from_millis(500), Duration::from_secs(10)),
            push_connect_timeout: Duration::from_secs(10),
            pull_client: ClientOptions::default(),
        }
    }
}

/// The relay: hand it a listener with [`serve`](Self::serve), or single connections with
/// [`serve_connection`](Self::serve_connection).
#[derive(Clone)]
pub struct Relay {
    hub: TokioHub,
    config: Arc<RelayConfig>,
    /// The time every connection's relay calls are given: one clock, so that the hub's
    /// statistics compare instants of different connections.
    clock: Clock,
    recordings: Arc<[AtomicU64; 2]>,
    /// Becomes true once [`drain`](Self::drain) is called.
    draining: watch::Sender<bool>,
    /// Set with `draining`, for what looks at it on every wake-up (a publisher's task):
    /// without the watch's lock.
    drain_requested: Arc<AtomicBool>,
    /// Told whenever a connection ends (a drain checks the hub then).
    ended: Arc<Notify>,
    /// The task that carries out the hub's pull commands, once started, and its wake-up.
    pulling: Arc<Pulling>,
}

#[derive(Default)]
struct Pulling {
    started: std::sync::atomic::AtomicBool,
    wake: Notify,
}

impl Relay {
    /// A relay with no streams yet.
    pub fn new(mut config: RelayConfig) -> Self {
        // A batch lands in a player's queue at once, and must not look like congestion.
        let high_water = config.connection.session.outbound_high_water;
        config.hub.max_batch_bytes = config.hub.max_batch_bytes.min(high_water / 4).max(1);
        let capacity = config.fan_out_capacity.max(1);
        let clock = Clock::start();
        Relay {
            hub: TokioHub::new(config.hub.clone(), capacity, clock),
            config: Arc::new(config),
            clock,
            recordings: Arc::default(),
            draining: watch::channel(false).0,
            drain_requested: Arc::default(),
            ended: Arc::new(Notify::new()),
            pulling: Arc::default(),
        }
    }

    /// Accepts connections from `listener`, each served in a task of its own, until
    /// [`drain`](Self::drain) is called: then it closes the listener and returns.
    pub async fn serve(&self, listener: TcpListener) -> io::Result<()> {
        let server = Server::from_listener(listener, self.config.connection.clone());
        tracing::info!(address = %server.local_addr()?, "relay listening");
        let mut draining = self.draining.subscribe();
        loop {
            let accepted = tokio::select! {
                accepted = server.accept() => accepted,
                _ = draining.wait_for(|draining| *draining) => {
                    tracing::info!("relay draining: no longer accepting");
                    return Ok(());
                }
            };
            match accepted {
                Ok((session, peer)) => {
                    let relay = self.clone();
                    let span = tracing::info_span!("conn", %peer);
                    let served = relay.serve_connection_from(session, Some(peer));
                    tokio::spawn(served.instrument(span));
                }
                Err(error) => {
                    // Out of file descriptors, usually: wait for some to be freed.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// A graceful restart: [`serve`](Self::serve) stops accepting, every publisher whose
    /// connect announced the capability is asked to reconnect (Enhanced RTMP v2, "Reconnect":
    /// onStatus NetConnection.Connect.ReconnectRequest, with `reconnect_to` as its `tcUrl`, or
    /// none to come back to the same server), as is one that publishes later; returns `true`
    /// once nobody publishes or plays, `false` if some still do after `timeout`. The
    /// connections left are not closed: dropping the runtime does that.
    pub async fn drain(&self, reconnect_to: Option<String>, timeout: Duration) -> bool {
        self.with_hub(|hub| hub.drain(reconnect_to));
        self.drain_requested.store(true, Ordering::Release);
        self.draining.send_replace(true);
        let waited = tokio::time::timeout(timeout, async {
            loop {
                let ended = self.ended.notified();
                if self.with_hub(|hub| hub.is_drained()) {
                    return;
                }
                ended.await;
            }
        });
        waited.await.is_ok()
    }

    /// Serves one connection until it ends (over TCP, TLS, QUIC...).
    pub fn serve_connection<S>(self, session: ServerSession<S>) -> impl Future<Output = ()> + Send
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_connection_from(session, None)
    }

    /// Serves one connection of the client at `peer` (what the [`AccessHook`] is told) until
    /// it ends.
    pub fn serve_connection_from<S>(
        self,
        session: ServerSession<S>,
        peer: Option<SocketAddr>,
    ) -> impl Future<Output = ()> + Send
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut relay = RelayConnection::new(self.hub.clone());
        if let Some(peer) = peer {
            relay.set_peer(peer.to_string());
        }
        let batching = !self.config.merge_window.is_zero();
        relay.set_batching(batching);
        // Shared with the tasks that hand its stream's batches on, which write them to it
        // (`direct`). Moved there before the future is made: a session the future took as
        // an argument would keep its room in the future (a few KiB per connection) after
        // moving out.
        let cell = ConnectionCell::new(session, relay);
        self.run_connection(cell, peer, batching)
    }

    async fn run_connection<S>(
        self,
        cell: Arc<ConnectionCell<S>>,
        peer: Option<SocketAddr>,
        batching: bool,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        tracing::info!("connection accepted");
        let _release = cell.release_on_drop();
        let mut deciding: Option<(RequestId, AccessFuture)> = None;
        let mut paced = false;
        let mut draining = self.draining.subscribe();
        let mut drain_seen = false;
        // One future for the whole connection, not one per wake-up, and polled only while the
        // connection publishes (a drain asks nothing of another connection, and a publish
        // accepted later asks by itself): each poll takes the watch's lock.
        let mut drain = std::pin::pin!(drain_started(&mut draining));
        let mut drain_armed = false;
        let state = |relay: &RelayConnection<TokioHub>| {
            (
                relay.has_pending_batch(),
                relay.access_deadline(),
                relay.publishing().is_some(),
            )
        };
        // What the end of the last pass saw under the same lock, if nothing changed since.
        let mut seen = None;
        let verdict = loop {
            let (pending_batch, deadline, publishing) = match seen.take() {
                Some(seen) => seen,
                None => cell.with(|conn| state(&conn.relay)),
            };
            let verdict = if pending_batch {
                // The batch goes once everything read so far is handled.
                let step = std::future::poll_fn(|cx| Poll::Ready(cell.poll_step(cx, &self.clock)));
                match step.await {
                    Poll::Ready(verdict) => verdict,
                    Poll::Pending => {
                        cell.with(|conn| conn.relay.hand_on());
                        continue;
                    }
                }
            } else {
                let wait =
                    deadline.map(|deadline| deadline.saturating_duration_since(self.clock.now()));
                if wait.is_none() {
                    deciding = None;
                }
                let watch_drain = !drain_seen && publishing;
                let armed = &mut drain_armed;
                let drain_requested = &self.drain_requested;
                let drain = std::future::poll_fn(|cx| {
                    // Polled once, the drain's future keeps this task's waker until the drain
                    // starts. This select stays pending across wake-ups (a publisher's, one
                    // per frame, while its step settles every event), and each would poll the
                    // watch's future again for nothing.
                    if *armed && !drain_requested.load(Ordering::Acquire) {
                        return Poll::Pending;
                    }
                    *armed = true;
                    drain.as_mut().poll(cx)
                });
                // In this order, not a random one: the connection's own step first.
                tokio::select! {
                    biased;
                    verdict = std::future::poll_fn(|cx| cell.poll_step(cx, &self.clock)) => verdict,
                    () = drain, if watch_drain => {
                        // Once: the core asks by itself for a later publish.
                        drain_seen = true;
                        cell.with(|conn| conn.relay.drain_step(conn.session.connection()));
                        Verdict::Continue
                    }
                    decided = decision(&mut deciding, wait), if wait.is_some() => {
                        let now = self.clock.now();
                        cell.with(|conn| {
                            let session = conn.session.connection();
                            match decided {
                                Some((id, access)) => conn.relay.answer(session, id, access, now),
                                None => conn.relay.handle_timeout(session, now),
                            }
                        })
                    }
                }
            };
            let (request, events, next) = cell.with(|conn| {
                let request = conn.relay.poll_access_request();
                let events: Vec<RelayEvent> =
                    std::iter::from_fn(|| conn.relay.poll_event()).collect();
                (request, events, state(&conn.relay))
            });
            let publishing = next.2;
            if let Some(request) = request {
                match &self.config.access_hook {
                    Some(hook) => deciding = Some((request.id, hook.call(request, peer))),
                    None => deciding = Some((request.id, Box::pin(async { Access::Allow }))),
                }
            }
            for event in &events {
                log(event);
                match event {
                    RelayEvent::Publishing { key, .. } => {
                        self.record(key);
                        self.push(key);
                        self.kick_pulls();
                    }
                    RelayEvent::Playing { .. } | RelayEvent::PlayStopped { .. } => {
                        self.kick_pulls()
                    }
                    _ => {}
                }
            }
            if batching && publishing != paced {
                paced = publishing;
                let interval = paced.then_some(self.config.merge_window);
                cell.with(|conn| conn.session.set_read_pacing(interval));
            }
            if let Verdict::Close(reason) = verdict {
                break reason;
            }
            // Only this task changes what `state` reads; the hub's calls above do not.
            seen = Some(next);
        };
        // Boxed: a session held across the shutdown's await would have its room in the
        // future for the connection's whole life.
        let mut session = Box::new(cell.take().session);
        self.kick_pulls();
        self.ended.notify_waiters();
        session.shutdown().await;
        match session.close_reason() {
            Some(ended) => tracing::info!(reason = %verdict, %ended, "connection ended"),
            None => tracing::info!(reason = %verdict, "connection ended"),
        }
    }

    /// Wakes the task that carries out the hub's pull commands (starting it the first time),
    /// if the relay has origins.
    fn kick_pulls(&self) {
        if self.config.hub.pull.origins.is_empty() {
            return;
        }
        if !self.pulling.started.swap(true, Ordering::AcqRel) {
            let span = tracing::info_span!("pulls");
            tokio::spawn(pull_commands(self.clone()).instrument(span));
        }
        self.pulling.wake.notify_one();
    }

    /// Starts forwarding `key`, just published, to every target of the push rules it matches.
    fn push(&self, key: &StreamKey) {
        for rule in self.config.push.iter().filter(|rule| rule.matches(key)) {
            for target in &rule.targets {
                let url = target.publish_url(key);
                let span = tracing::info_span!("push", stream = %key, upstream = %url);
                tokio::spawn(push(self.clone(), key.clone(), target.clone()).instrument(span));
            }
        }
    }

    /// What the recordings ([`RelayConfig::record_dir`]) did so far.
    pub fn recordings(&self) -> RecordingCounts {
        RecordingCounts {
            started: self.recordings[0].load(Ordering::Relaxed),
            failed: self.recordings[1].load(Ordering::Relaxed),
        }
    }

    /// Starts recording `key`, just published, if recordings are on: before its first batch.
    fn record(&self, key: &StreamKey) {
        let Some(dir) = &self.config.record_dir else {
            return;
        };
        let unix_seconds = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let Some((receiver, snapshot)) = self.with_hub(|hub| hub.tap(key)) else {
            return;
        };
        self.recordings[0].fetch_add(1, Ordering::Relaxed);
        let Some(file_name) = recording_file_name(key, unix_seconds) else {
            self.recordings[1].fetch_add(1, Ordering::Relaxed);
            tracing::warn!(stream = %key, "not recorded: its name cannot be a file name");
            return;
        };
        let path = dir.join(&key.app).join(file_name);
        let counts = self.recordings.clone();
        let span = tracing::info_span!("record", stream = %key);
        tokio::spawn(
            async move {
                match record(&path, receiver, snapshot).await {
                    Ok(()) => tracing::info!(path = %path.display(), "recording closed"),
                    Err(error) => {
                        counts[1].fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(path = %path.display(), %error, "recording stopped");
                    }
                }
            }
            .instrument(span),
        );
    }

    /// Every stream and connection, now: what they carry, how fast, to whom.
    pub fn stats(&self) -> RelayStats {
        let now = self.clock.now();
        self.with_hub(|hub| hub.stats(now))
    }

    /// How many streams have a publisher or players.
    pub fn stream_count(&self) -> usize {
        self.with_hub(|hub| hub.stream_count())
    }

    /// Every stream with a publisher or players.
    pub fn streams(&self) -> Vec<StreamSummary> {
        self.with_hub(|hub| hub.streams().collect())
    }

    /// How many players play `stream` (`APP/NAME`, e.g. `live/cam1`).
    pub fn players(&self, stream: &str) -> usize {
        self.with_hub(|hub| hub.find(stream).map_or(0, |summary| summary.players))
    }

    /// Whether `stream` (`APP/NAME`) has a publisher.
    pub fn is_published(&self, stream: &str) -> bool {
        self.with_hub(|hub| hub.find(stream).is_some_and(|summary| summary.published))
    }

    fn with_hub<R>(&self, f: impl FnOnce(&mut Hub<DirectFanout>) -> R) -> R {
        self.hub.with(f)
    }
}

fn log(event: &RelayEvent) {
    match event {
        RelayEvent::Connected { app, multitrack } => tracing::info!(%app, multitrack, "connect"),
        RelayEvent::ConnectRefused { app, reason } => {
            tracing::info!(%app, %reason, "connect refused")
        }
        RelayEvent::Publishing { key, .. } => tracing::info!(stream = %key, "publishing"),
        RelayEvent::PublishRefused { key, code } => {
            tracing::info!(stream = %key, code, "publish refused")
        }
        RelayEvent::Unpublished { key } => tracing::info!(stream = %key, "unpublished"),
        RelayEvent::Playing {
            key,
            live,
            all_tracks,
            ..
        } => tracing::info!(stream = %key, live, all_tracks, "playing"),
        RelayEvent::PlayRefused { key, code } => {
            tracing::info!(stream = %key, code, "play refused")
        }
        RelayEvent::PlayStopped { key } => tracing::info!(stream = %key, "play stopped"),
        RelayEvent::Lagged => tracing::warn!("player task lagged; skipping to the next keyframe"),
        other => tracing::debug!(?other, "relay"),
    }
}

/// Writes what `receiver` gets to the FLV file at `path` until the publisher leaves, each
/// batch written (to the kernel) as it arrives.
async fn record(
    path: &Path,
    mut receiver: PlayerReceiver,
    snapshot: Vec<rtmp_proto::relay::Item>,
) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut file = tokio::fs::File::create(path).await?;
    tracing::info!(path = %path.display(), "recording");
    let mut recording = FlvRecording::new();
    let mut out = BytesMut::with_capacity(64 * 1024);
    recording.start(&mut out);
    let mut ended = recording.write(&snapshot, &mut out);
    loop {
        file.write_all(&out).await?;
        file.flush().await?;
        out.clear();
        if ended {
            return Ok(());
        }
        match receiver.recv().await {
            Ok(batch) => ended = recording.write(&batch, &mut out),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "recording fell behind; batches are missing")
            }
            Err(RecvError::Closed) => return Ok(()),
        }
    }
}

/// Forwards `key` to `target` until the publisher leaves: connects, publishes, sends what the
/// stream's receiver gets through the upstream's own [`UpstreamFeed`]; on failure waits as
/// [`Backoff`] says and starts again from the join snapshot.
async fn push(relay: Relay, key: StreamKey, target: PushTarget) {
    let config = &relay.config;
    let mut backoff = Backoff::new(config.push_backoff.0, config.push_backoff.1);
    let url = target.publish_url(&key);
    let name = url.stream.clone().unwrap_or_default();
    let mut feed = UpstreamFeed::new(config.push_queue_bytes);
    loop {
        // Subscribed before connecting: what is published meanwhile is queued, not lost.
        let Some((mut receiver, snapshot)) = relay.with_hub(|hub| hub.tap(&key)) else {
            return;
        };
        feed.restart(snapshot);
        let connecting = async {
            let client = Client::connect_with(&url.tc_url(), ClientOptions::publisher()).await?;
            client.publish(&name).await
        };
        let outcome = match tokio::time::timeout(config.push_connect_timeout, connecting).await {
            Err(_) => Err("connection timed out".to_string()),
            Ok(Err(error)) => Err(error.to_string()),
            Ok(Ok(mut publisher)) => {
                tracing::info!("upstream publishing");
                backoff.succeeded();
                let sent = forward(&mut publisher, &mut receiver, &mut feed).await;
                if sent.is_ok() {
                    let _ = publisher.flush().await;
                    let _ = publisher.close().await;
                    tracing::info!("stream ended; upstream closed");
                    return;
                }
                sent
            }
        };
        if let Err(error) = outcome {
            let retry = backoff.failed(relay.clock.now());
            let wait = relay.clock.deadline(retry);
            tracing::warn!(%error, dropped = feed.dropped(), "upstream failed; retrying");
            drop(receiver);
            tokio::time::sleep_until(wait).await;
        }
    }
}

/// Sends the upstream what the feed holds and what the receiver brings, until the stream ends
/// (`Ok`) or the upstream fails (`Err`). The receiver is drained before each send, so a slow
/// upstream backs up into its own feed (then the channel, then a skip to a keyframe), never
/// into the publisher.
async fn forward(
    publisher: &mut Publisher,
    receiver: &mut PlayerReceiver,
    feed: &mut UpstreamFeed,
) -> Result<(), String> {
    // The stream's sender is gone (the publisher left): what the feed still holds is the end
    // of the stream, sent before returning.
    let mut ended = false;
    loop {
        while !ended {
            match receiver.try_recv() {
                Ok(batch) => feed.extend(batch.iter()),
                Err(TryRecvError::Lagged(_)) => feed.lagged(),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => ended = true,
            }
        }
        let Some(item) = feed.pop() else {
            if ended {
                return Ok(());
            }
            publisher.flush().await.map_err(|e| e.to_string())?;
            tokio::select! {
                received = receiver.recv() => match received {
                    Ok(batch) => feed.extend(batch.iter()),
                    Err(RecvError::Lagged(_)) => feed.lagged(),
                    Err(RecvError::Closed) => return Ok(()),
                },
                event = publisher.client().next_event() => {
                    if let Some(error) = publisher.client().close_reason() {
                        return Err(error.to_string());
                    }
                    tracing::debug!(?event, "upstream event");
                }
            }
            continue;
        };
        let sent = match item {
            Item::Media(frame) => match frame.kind {
                MediaKind::Video => publisher.send_video(frame.timestamp, frame.payload).await,
                MediaKind::Audio => publisher.send_audio(frame.timestamp, frame.payload).await,
            },
            Item::Metadata { metadata, .. } => publisher.send_metadata((*metadata).clone()).await,
            Item::Data { timestamp, data } => publisher.send_data(timestamp, (*data).clone()).await,
            Item::Published => continue,
            Item::Unpublished | Item::NotFound => return Ok(()),
        };
        let _status = sent.map_err(|error| error.to_string())?;
    }
}

/// Carries out the hub's pull commands while there are pulls: opens and closes upstreams,
/// handles the pulls' deadlines, logs what they did. [`Relay::kick_pulls`] starts it again.
async fn pull_commands(relay: Relay) {
    let mut running: std::collections::HashMap<PullId, tokio::task::AbortHandle> =
        std::collections::HashMap::new();
    loop {
        let now = relay.clock.now();
        let (commands, next) = relay.with_hub(|hub| {
            hub.handle_pull_timeout(now);
            let commands: Vec<PullCommand> = std::iter::from_fn(|| hub.poll_pull()).collect();
            (commands, hub.pull_timeout())
        });
        for command in commands {
            match command {
                PullCommand::Open { id, key, url } => {
                    tracing::info!(stream = %key, origin = %url, %id, "pulling");
                    let span = tracing::info_span!("pull", stream = %key, origin = %url);
                    let task = tokio::spawn(pull(relay.clone(), id, url).instrument(span));
                    running.insert(id, task.abort_handle());
                }
                PullCommand::Close { id, key, cause } => {
                    tracing::info!(stream = %key, %id, ?cause, "upstream closed");
                    if let Some(task) = running.remove(&id) {
                        task.abort();
                    }
                }
                PullCommand::Failed {
                    id,
                    key,
                    url,
                    error,
                } => tracing::warn!(stream = %key, origin = %url, %id, %error, "pull failed"),
                PullCommand::Playing { key, url } => {
                    tracing::info!(stream = %key, origin = %url, "pulled stream playing")
                }
                PullCommand::NotFound { key } => {
                    tracing::warn!(stream = %key, "no origin has the stream; players told")
                }
                other => tracing::debug!(?other, "pull"),
            }
        }
        running.retain(|_, task| !task.is_finished());
        if !relay.with_hub(|hub| hub.is_pulling()) {
            relay.pulling.started.store(false, Ordering::Release);
            // A kick between the look and the store found the task running and started
            // none: look again, and go on if it did.
            if !relay.with_hub(|hub| hub.is_pulling())
                || relay.pulling.started.swap(true, Ordering::AcqRel)
            {
                return;
            }
            continue;
        }
        let wake = relay.pulling.wake.notified();
        match next {
            Some(at) => {
                tokio::select! {
                    () = wake => {}
                    () = tokio::time::sleep_until(relay.clock.deadline(at)) => {}
                }
            }
            None => wake.await,
        }
    }
}

/// One attempt to pull a stream: plays `url` and hands the hub what comes, until the hub
/// wants no more (then the command task aborts it, or it returns) or the upstream fails,
/// which it reports.
async fn pull(relay: Relay, id: PullId, url: RtmpUrl) {
    if let Err(error) = pull_from(&relay, id, &url).await {
        let now = relay.clock.now();
        relay.with_hub(|hub| hub.pull_failed(id, error, now));
    }
    relay.kick_pulls();
}

async fn pull_from(relay: &Relay, id: PullId, url: &RtmpUrl) -> Result<(), PullError> {
    let upstream = |error: crate::Error| PullError::Upstream(error.to_string());
    let name = url.stream.clone().unwrap_or_default();
    let client = Client::connect_with(&url.tc_url(), relay.config.pull_client.clone())
        .await
        .map_err(upstream)?;
    let mut player = client.play(&name).await.map_err(upstream)?;
    let mut first = true;
    loop {
        let mut items = Vec::new();
        let mut end = None;
        match player.next_frame().await {
            Ok(Some(frame)) => items.extend(Item::pulled(frame)),
            Ok(None) => end = Some(PullError::Ended),
            Err(error) => end = Some(upstream(error)),
        }
        // What else has arrived goes in the same batch: one hand-off, one wake-up per player.
        while end.is_none() && items.len() < 256 {
            let mut next = std::pin::pin!(player.next_frame());
            let ready = std::future::poll_fn(|cx| match next.as_mut().poll(cx) {
                Poll::Ready(frame) => Poll::Ready(Some(frame)),
                Poll::Pending => Poll::Ready(None),
            })
            .await;
            match ready {
                Some(Ok(Some(frame))) => items.extend(Item::pulled(frame)),
                Some(Ok(None)) => end = Some(PullError::Ended),
                Some(Err(error)) => end = Some(upstream(error)),
                None => break,
            }
        }
        if !items.is_empty() {
            let now = relay.clock.now();
            let batch = items.into();
            if !relay.with_hub(|hub| hub.pull_media(id, batch, now)) {
                return Ok(());
            }
            if std::mem::take(&mut first) {
                relay.kick_pulls();
            }
        }
        if let Some(error) = end {
            return Err(error);
        }
    }
}

/// The answer of the hook deciding on a parked request, or `None` at the request's deadline;
/// pending forever if nothing is parked. Cancel-safe: the hook's future lives in `deciding`.
async fn decision(
    deciding: &mut Option<(RequestId, AccessFuture)>,
    until_deadline: Option<Duration>,
) -> Option<(RequestId, Access)> {
    let Some(until_deadline) = until_deadline else {
        *deciding = None;
        return std::future::pending().await;
    };
    let timer = tokio::time::sleep(until_deadline);
    let Some((id, hook)) = deciding else {
        timer.await;
        return None;
    };
    let id = *id;
    tokio::select! {
        access = hook => {
            *deciding = None;
            Some((id, access))
        }
        _ = timer => None,
    }
}

/// Returns once the relay drains (pending forever if the relay is gone). Cancel-safe.
async fn drain_started(draining: &mut watch::Receiver<bool>) {
    if draining.wait_for(|draining| *draining).await.is_err() {
        std::future::pending::<()>().await;
    }
}
