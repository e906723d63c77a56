//! A live relay: what a publisher sends to `rtmp://host/APP/NAME` goes to every player of the
//! same URL. What `examples/std_server.rs` runs.
//!
//! Every decision is [`rtmp_proto::relay`]'s (stream keys, the per-track join cache, which
//! tracks a player gets, statuses, the slow-player verdict), so this relay behaves as
//! rtmp-tokio's does; this module runs it on threads. Each connection runs [`Relay::handle`]
//! on its own thread (see [`Server::serve`](crate::server::Server::serve)). A publisher's
//! thread hands each frame to the players' threads through bounded channels of shared batches
//! (payloads are `Bytes`, never copied per player); a player's thread waits for its socket for
//! at most [`RelayConfig::player_poll`] at a time, then moves what its channel holds into its
//! connection and writes it all at once. A player thread that lags its channel by more than
//! [`RelayConfig::fan_out_capacity`] batches skips to the next keyframe.
//!
//! [`Relay::stats`] reads the hub's live statistics. The operator's pieces are rtmp-tokio's,
//! driven by the same core:
//!
//! - an [`AccessHook`] ([`RelayConfig::access`]) decides on the connects, publishes and plays
//!   [`HubConfig::ask`] names. It is a plain (blocking) function, called on the connection's
//!   own thread, as suits a blocking adapter: a slow hook holds up that connection alone (its
//!   session does not answer pings meanwhile, so keep it well under the peer's patience;
//!   rtmp-tokio's async hook runs beside its session instead);
//! - [`RelayConfig::record_dir`] records every published stream (a thread per recording,
//!   the core's [`FlvRecording`] and [`recording_file_name`]);
//! - [`Relay::drain`] is the graceful restart (the core's [`Hub::drain`]): stop the server's
//!   accepting first ([`StopHandle`](crate::server::StopHandle));
//! - an edge: with origins ([`RelayConfig::pull_from`], the core's
//!   [`PullConfig`](rtmp_proto::relay::PullConfig)), a play of a stream nobody publishes here
//!   is pulled from the first origin that has it, one client connection per stream. A thread carries out the hub's commands ([`Hub::poll_pull`]) and
//!   its deadlines ([`Hub::pull_timeout`]), and each attempt is a thread of its own playing
//!   the origin with this crate's [`Client`] ([`RelayConfig::pull_client`]), handing what it
//!   plays to the hub ([`Hub::pull_media`]) and its end ([`Hub::pull_failed`]); which origin,
//!   when to give up, fail over and close are the hub's decisions.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant as StdInstant, SystemTime};
use std::{fmt, fs, thread};

use bytes::BytesMut;
use rtmp_proto::relay::{
    recording_file_name, Access, AccessRequest, AskFor, Batch, CloseReason, Fanout, FlvRecording,
    Hub, HubConfig, Item, PullCommand, PullError, PullId, PullTarget, RelayConnection, RelayEvent,
    RelayStats, SharedHub as _, StreamKey, StreamSummary, Verdict,
};
use rtmp_proto::url::RtmpUrl;

use crate::client::{Client, ClientOptions};

use crate::driver::Clock;

use crate::server::ServerSession;
use crate::{Error, Transport};

/// How the relay treats its connections.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RelayConfig {
    /// What the hub decides with: cache bounds, the slow-player verdict, multitrack.
    pub hub: HubConfig,
    /// Batches waiting for a player's thread; one that lags more skips to the next keyframe.
    /// Default 1024.
    pub fan_out_capacity: usize,
    /// How long a player's thread waits for its socket before it looks at its channel again:
    /// what a frame may wait for it, at most. Default 5 ms.
    pub player_poll: Duration,
    /// Who decides on the requests [`HubConfig::ask`] names; `None` (the default) allows
    /// them all. Set it with [`access`](Self::access).
    pub access_hook: Option<AccessHook>,
    /// Where every published stream is recorded, as `DIR/APP/NAME-UTCSTART.flv` (every track;
    /// written batch by batch, so a crash leaves a file readable up to its last tag; closed
    /// when the publisher leaves). An error (a full disk, an unwritable directory) stops that
    /// recording, counted ([`Relay::recordings`]), never the stream. Default `None`.
    pub record_dir: Option<PathBuf>,
    /// How a pull ([`pull_from`](Self::pull_from)) connects to an origin: what `rtmps://`
    /// origins trust (`tls`), the connect and request timeouts. Its `read_timeout` is how
    /// often a pull's thread that waits for the origin looks whether the hub closed it
    /// (default 100 ms when `None`).
    pub pull_client: ClientOptions,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            hub: HubConfig::default(),
            fan_out_capacity: 1024,
            player_poll: Duration::from_millis(5),
            access_hook: None,
            record_dir: None,
            pull_client: ClientOptions::default(),
        }
    }
}

impl RelayConfig {
    /// Asks `hook` before every connect, publish and play ([`HubConfig::ask`] narrows it).
    /// The hook runs on the connection's thread and blocks it alone (see the module).
    ///
    /// ```no_run
    /// use rtmp_std::proto::relay::{Access, AccessKind};
    /// use rtmp_std::relay::{Relay, RelayConfig};
    ///
    /// let config = RelayConfig::default().access(|request, peer| {
    ///     let keyed = request.query.as_deref() == Some("key=s3cret");
    ///     match request.kind {
    ///         AccessKind::Publish if !keyed => Access::Refuse(format!("{peer:?} has no key")),
    ///         _ => Access::Allow,
    ///     }
    /// });
    /// let relay = Relay::with_config(config);
    /// ```
    pub fn access<F>(mut self, hook: F) -> Self
    where
        F: Fn(&AccessRequest, Option<SocketAddr>) -> Access + Send + Sync + 'static,
    {
        self.access_hook = Some(AccessHook::new(hook));
        self.hub.ask = AskFor::ALL;
        self
    }

    /// Makes the relay an edge of `origins`, tried in order: a play of a stream nobody
    /// publishes here is pulled from them (the hub's
    /// [`PullConfig`](rtmp_proto::relay::PullConfig), `hub.pull`, holds the timeouts: 5 s for
    /// an origin's first media, 10 s of failover after a drop, 5 s idle before an upstream
    /// with no players is closed).
    ///
    /// ```no_run
    /// use rtmp_std::proto::relay::PullTarget;
    /// use rtmp_std::relay::{Relay, RelayConfig};
    ///
    /// let origins = vec![
    ///     PullTarget::parse("rtmp://10.0.0.1/live")?,
    ///     PullTarget::parse("rtmp://10.0.0.2/live")?,
    /// ];
    /// let relay = Relay::with_config(RelayConfig::default().pull_from(origins));
    /// # Ok::<(), rtmp_std::proto::url::UrlError>(())
    /// ```
    pub fn pull_from(mut self, origins: Vec<PullTarget>) -> Self {
        self.hub.pull.origins = origins;
        self
    }
}

/// The application's say on connects, publishes and plays: called with the request (app,
/// stream name, query, tcUrl, flashVer) and the client's address, if known, on the
/// connection's thread; its [`Access`] answers it.
#[derive(Clone)]
pub struct AccessHook(Arc<HookFn>);

type HookFn = dyn Fn(&AccessRequest, Option<SocketAddr>) -> Access + Send + Sync;

impl AccessHook {
    /// A hook of a function.
    pub fn new<F>(hook: F) -> Self
    where
        F: Fn(&AccessRequest, Option<SocketAddr>) -> Access + Send + Sync + 'static,
    {
        AccessHook(Arc::new(hook))
    }

    fn call(&self, request: &AccessRequest, peer: Option<SocketAddr>) -> Access {
        (self.0)(request, peer)
    }
}

impl fmt::Debug for AccessHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessHook")
    }
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

/// How long a connection's thread that plays nothing waits for its peer before it looks
/// whether the relay drains.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// A player thread's side of a stream's channel.
pub struct PlayerChannel {
    receiver: Receiver<Batch>,
    lagged: Arc<AtomicBool>,
}

/// A stream's fan-out: one bounded channel per player thread.
pub struct ChannelFanout {
    capacity: usize,
    players: Vec<(SyncSender<Batch>, Arc<AtomicBool>)>,
}

impl Fanout for ChannelFanout {
    type Receiver = PlayerChannel;

    fn subscribe(&mut self) -> PlayerChannel {
        let (sender, receiver) = sync_channel(self.capacity);
        let lagged = Arc::new(AtomicBool::new(false));
        self.players.push((sender, lagged.clone()));
        PlayerChannel { receiver, lagged }
    }

    fn send(&mut self, batch: Batch) {
        self.players
            .retain(|(sender, lagged)| match sender.try_send(batch.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    lagged.store(true, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
    }
}

type SharedHub = Arc<Mutex<Hub<ChannelFanout>>>;

/// The streams being relayed; clones share them.
#[derive(Clone)]
pub struct Relay {
    hub: SharedHub,
    config: Arc<RelayConfig>,
    /// The time every connection's relay calls are given: one clock for the hub's statistics.
    clock: Clock,
    recordings: Arc<[AtomicU64; 2]>,
    /// Becomes true once [`drain`](Self::drain) is called.
    draining: Arc<AtomicBool>,
    /// The thread that carries out the hub's pull commands, once started, and its wake-up.
    pulling: Arc<Pulling>,
}

/// The pull commands' thread: whether it runs, and whether there is news for it.
#[derive(Default)]
struct Pulling {
    started: AtomicBool,
    kicked: Mutex<bool>,
    wake: Condvar,
}

/// A pull attempt's thread and its stop flag, set when the hub closes it.
struct Attempt {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<()>,
}

/// How often a pull's thread waiting for its origin looks whether the hub closed it, unless
/// [`RelayConfig::pull_client`] has a read timeout.
const PULL_POLL: Duration = Duration::from_millis(100);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for Relay {
    fn default() -> Self {
        Relay::new()
    }
}

impl Relay {
    /// A relay with no streams and the default configuration.
    pub fn new() -> Self {
        Relay::with_config(RelayConfig::default())
    }

    /// A relay with no streams.
    pub fn with_config(config: RelayConfig) -> Self {
        let capacity = config.fan_out_capacity.max(1);
        let hub = Hub::new(config.hub.clone(), move || ChannelFanout {
            capacity,
            players: Vec::new(),
        });
        Relay {
            hub: Arc::new(Mutex::new(hub)),
            config: Arc::new(config),
            clock: Clock::start(),
            recordings: Arc::default(),
            draining: Arc::default(),
            pulling: Arc::default(),
        }
    }

    /// A graceful restart: every publisher whose connect announced the capability is asked
    /// to reconnect (Enhanced RTMP v2, "Reconnect": onStatus
    /// NetConnection.Connect.ReconnectRequest, with `reconnect_to` as its `tcUrl`, or none to
    /// come back to the same server), as is one that publishes later; returns `true` once
    /// nobody publishes or plays, `false` if some still do after `timeout`. Stop accepting
    /// first ([`StopHandle::stop`](crate::server::StopHandle::stop)); the connections left are
    /// not closed: ending the process does that.
    pub fn drain(&self, reconnect_to: Option<String>, timeout: Duration) -> bool {
        self.hub.with(|hub| hub.drain(reconnect_to));
        self.draining.store(true, Ordering::SeqCst);
        let until = StdInstant::now() + timeout;
        loop {
            if self.hub.with(|hub| hub.is_drained()) {
                return true;
            }
            let left = until.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return false;
            }
            thread::sleep(left.min(Duration::from_millis(10)));
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
        let Some((channel, snapshot)) = self.hub.with(|hub| hub.tap(key)) else {
            return;
        };
        self.recordings[0].fetch_add(1, Ordering::Relaxed);
        let Some(file_name) = recording_file_name(key, unix_seconds) else {
            tracing::warn!(stream = %key, "not recorded: its name cannot be a file name");
            self.recordings[1].fetch_add(1, Ordering::Relaxed);
            return;
        };
        let path = dir.join(&key.app).join(file_name);
        let counts = self.recordings.clone();
        let span = tracing::info_span!("record", stream = %key);
        let spawned = thread::Builder::new()
            .name(format!("record {key}"))
            .spawn(move || {
                let _entered = span.enter();
                match record(&path, &channel, &snapshot) {
                    Ok(()) => tracing::info!(path = %path.display(), "recording closed"),
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "recording stopped");
                        counts[1].fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(stream = %key, %error, "recording stopped");
            self.recordings[1].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every stream and connection, now: what they carry, how fast, to whom.
    pub fn stats(&self) -> RelayStats {
        let now = self.clock.now();
        self.hub.with(|hub| hub.stats(now))
    }

    /// How many streams have a publisher or players.
    pub fn stream_count(&self) -> usize {
        self.hub.with(|hub| hub.stream_count())
    }

    /// Every stream with a publisher or players.
    pub fn streams(&self) -> Vec<StreamSummary> {
        self.hub.with(|hub| hub.streams().collect())
    }

    /// How many players play `stream` (`APP/NAME`, e.g. `live/cam1`), or wait for it.
    pub fn players(&self, stream: &str) -> usize {
        self.hub
            .with(|hub| hub.find(stream).map_or(0, |summary| summary.players))
    }

    /// Whether `stream` (`APP/NAME`) has a publisher.
    pub fn is_published(&self, stream: &str) -> bool {
        self.hub
            .with(|hub| hub.find(stream).is_some_and(|summary| summary.published))
    }

    /// Serves one connection until it ends: `Ok` when the client or we closed it, `Err` when it
    /// failed.
    pub fn handle<S: Transport>(&self, session: ServerSession<S>) -> Result<(), Error> {
        self.handle_from(session, None)
    }

    /// [`handle`](Self::handle) for the client at `peer`, the address [`stats`](Self::stats)
    /// shows.
    ///
    /// Logs with `tracing` what rtmp-tokio's relay logs, with the same fields: the connection
    /// (in a `conn` span with the `peer`), its publishes and plays, and its end with the
    /// reason.
    pub fn handle_from<S: Transport>(
        &self,
        mut session: ServerSession<S>,
        peer: Option<SocketAddr>,
    ) -> Result<(), Error> {
        let span = match peer {
            Some(peer) => tracing::info_span!("conn", %peer),
            None => tracing::info_span!("conn"),
        };
        let _entered = span.enter();
        tracing::info!("connection accepted");
        let mut closed_by = None;
        let served = self.serve(&mut session, peer, &mut closed_by);
        let reason = closed_by.map_or_else(
            || String::from("the connection ended"),
            |reason| reason.to_string(),
        );
        match (&served, session.close_reason()) {
            (Err(ended), _) | (Ok(()), Some(ended)) => {
                tracing::info!(%reason, %ended, "connection ended")
            }
            (Ok(()), None) => tracing::info!(%reason, "connection ended"),
        }
        served
    }

    /// Serves `session` until it ends; `closed_by` says why the relay closed it, if it did.
    fn serve<S: Transport>(
        &self,
        session: &mut ServerSession<S>,
        peer: Option<SocketAddr>,
        closed_by: &mut Option<CloseReason>,
    ) -> Result<(), Error> {
        let mut relay = RelayConnection::new(self.hub.clone());
        if let Some(peer) = peer {
            relay.set_peer(peer.to_string());
        }
        let mut drain_seen = false;
        loop {
            if !drain_seen && self.draining.load(Ordering::SeqCst) {
                // Once: the core asks by itself for a later publish.
                drain_seen = true;
                relay.drain_step(session.connection());
            }
            let event = if relay.receiver_mut().is_some() {
                if let Verdict::Close(reason) = deliver_batches(&mut relay, session, &self.clock) {
                    *closed_by = Some(reason);
                    break;
                }
                session.next_event_timeout(self.config.player_poll)
            } else if drain_seen {
                session.next_event().map(Some)
            } else {
                session.next_event_timeout(DRAIN_POLL)
            };
            let event = match event {
                Ok(Some(event)) => event,
                Ok(None) => continue,
                Err(Error::Closed | Error::PeerClosed) => return Ok(()),
                Err(error) => return Err(error),
            };
            let now = self.clock.now();
            let mut verdict = relay.handle_event(session.connection(), event, now);
            if let Some(request) = relay.poll_access_request() {
                let access = match &self.config.access_hook {
                    Some(hook) => hook.call(&request, peer),
                    None => Access::Allow,
                };
                // The hook may have taken a while: the answer is given at its own time.
                let now = self.clock.now();
                verdict = relay.answer(session.connection(), request.id, access, now);
            }
            while let Some(event) = relay.poll_event() {
                log(&event);
                match &event {
                    RelayEvent::Publishing { key, .. } => {
                        self.record(key);
                        self.kick_pulls();
                    }
                    RelayEvent::Playing { .. } | RelayEvent::PlayStopped { .. } => {
                        self.kick_pulls()
                    }
                    _ => {}
                }
            }
            if let Verdict::Close(reason) = verdict {
                *closed_by = Some(reason);
                break;
            }
        }
        drop(relay);
        self.kick_pulls();
        session.close();
        loop {
            match session.next_event() {
                Ok(_) => {}
                Err(Error::Closed | Error::PeerClosed) => return Ok(()),
                Err(error) => return Err(error),
            }
        }
    }
}

impl Relay {
    /// Wakes the thread that carries out the hub's pull commands (starting it the first
    /// time), if the relay has origins.
    fn kick_pulls(&self) {
        if self.config.hub.pull.origins.is_empty() {
            return;
        }
        if !self.pulling.started.swap(true, Ordering::AcqRel) {
            let relay = self.clone();
            let spawned = thread::Builder::new()
                .name("pulls".into())
                .spawn(move || pull_commands(&relay));
            if spawned.is_err() {
                // The next kick tries again.
                self.pulling.started.store(false, Ordering::Release);
                return;
            }
        }
        *lock(&self.pulling.kicked) = true;
        self.pulling.wake.notify_one();
    }
}

/// Carries out the hub's pull commands while there are pulls: starts and stops the attempts'
/// threads, handles the pulls' deadlines. [`Relay::kick_pulls`] starts it again.
fn pull_commands(relay: &Relay) {
    let mut running: HashMap<PullId, Attempt> = HashMap::new();
    loop {
        let now = relay.clock.now();
        let (commands, next) = relay.hub.with(|hub| {
            hub.handle_pull_timeout(now);
            let commands: Vec<PullCommand> = std::iter::from_fn(|| hub.poll_pull()).collect();
            (commands, hub.pull_timeout())
        });
        for command in commands {
            match command {
                PullCommand::Open { id, url, .. } => {
                    let stop = Arc::new(AtomicBool::new(false));
                    let attempt = {
                        let (relay, stop) = (relay.clone(), stop.clone());
                        thread::Builder::new()
                            .name(format!("pull {id}"))
                            .spawn(move || pull(&relay, id, &url, &stop))
                    };
                    match attempt {
                        Ok(thread) => {
                            running.insert(id, Attempt { stop, thread });
                        }
                        Err(error) => {
                            let now = relay.clock.now();
                            let error = PullError::Upstream(error.to_string());
                            relay.hub.with(|hub| hub.pull_failed(id, error, now));
                            *lock(&relay.pulling.kicked) = true;
                        }
                    }
                }
                PullCommand::Close { id, .. } => {
                    if let Some(attempt) = running.remove(&id) {
                        attempt.stop.store(true, Ordering::Relaxed);
                    }
                }
                // What the hub did, logged as rtmp-tokio's relay logs it.
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
        running.retain(|_, attempt| !attempt.thread.is_finished());
        if !relay.hub.with(|hub| hub.is_pulling()) {
            relay.pulling.started.store(false, Ordering::Release);
            // A kick between the look and the store found the thread running and started
            // none: look again, and go on if it did.
            if !relay.hub.with(|hub| hub.is_pulling())
                || relay.pulling.started.swap(true, Ordering::AcqRel)
            {
                return;
            }
            continue;
        }
        let mut kicked = lock(&relay.pulling.kicked);
        while !*kicked {
            kicked = match next {
                Some(at) => {
                    let left = at.as_millis().saturating_sub(relay.clock.now().as_millis());
                    if left == 0 {
                        break;
                    }
                    let wait = relay
                        .pulling
                        .wake
                        .wait_timeout(kicked, Duration::from_millis(left));
                    wait.unwrap_or_else(PoisonError::into_inner).0
                }
                None => relay
                    .pulling
                    .wake
                    .wait(kicked)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
        *kicked = false;
    }
}

/// One attempt to pull a stream: plays `url` and hands the hub what comes, until the hub
/// wants no more (`stop`, or [`Hub::pull_media`] says so) or the upstream fails, which it
/// reports.
fn pull(relay: &Relay, id: PullId, url: &RtmpUrl, stop: &AtomicBool) {
    if let Err(error) = pull_from(relay, id, url, stop) {
        let now = relay.clock.now();
        relay.hub.with(|hub| hub.pull_failed(id, error, now));
    }
    relay.kick_pulls();
}

fn pull_from(relay: &Relay, id: PullId, url: &RtmpUrl, stop: &AtomicBool) -> Result<(), PullError> {
    let upstream = |error: Error| PullError::Upstream(error.to_string());
    let name = url.stream.clone().unwrap_or_default();
    let mut options = relay.config.pull_client.clone();
    options.read_timeout = Some(options.read_timeout.unwrap_or(PULL_POLL));
    let client = Client::connect_with(&url.tc_url(), options).map_err(upstream)?;
    if stop.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut player = client.play(&name).map_err(upstream)?;
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        let frame = match player.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => return Err(PullError::Ended),
            // Nothing within the poll: look at `stop` again (the hub times the origin out).
            Err(Error::Timeout { .. }) => continue,
            Err(error) => return Err(upstream(error)),
        };
        let Some(item) = Item::pulled(frame) else {
            continue;
        };
        let now = relay.clock.now();
        let batch: Batch = Arc::new([item]);
        if !relay.hub.with(|hub| hub.pull_media(id, batch, now)) {
            return Ok(());
        }
        if std::mem::take(&mut first) {
            relay.kick_pulls();
        }
    }
    Ok(())
}

/// Logs what the relay core reports, as rtmp-tokio's relay does (the same messages and
/// fields, so that the two relays' logs read alike; `tracing` has no place in the core, so
/// each adapter maps the core's events itself).
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

/// Moves what the player's channel holds into its connection.
fn deliver_batches<S: Transport>(
    relay: &mut RelayConnection<SharedHub>,
    session: &mut ServerSession<S>,
    clock: &Clock,
) -> Verdict {
    loop {
        let Some(channel) = relay.receiver_mut() else {
            return Verdict::Continue;
        };
        let batch = match channel.receiver.try_recv() {
            Ok(batch) => batch,
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                // What was missed came after every batch the channel held.
                if channel.lagged.swap(false, Ordering::Relaxed) {
                    relay.lagged();
                }
                return Verdict::Continue;
            }
        };
        let now = clock.now();
        if let Verdict::Close(reason) = relay.deliver(session.connection(), &batch, now) {
            return Verdict::Close(reason);
        }
    }
}

/// Writes what `channel` gets to the FLV file at `path` until the publisher leaves, each batch
/// written (to the kernel) as it arrives.
fn record(path: &Path, channel: &PlayerChannel, snapshot: &[Item]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut file = fs::File::create(path)?;
    tracing::info!(path = %path.display(), "recording");
    let mut recording = FlvRecording::new();
    let mut out = BytesMut::with_capacity(64 * 1024);
    recording.start(&mut out);
    let mut ended = recording.write(snapshot, &mut out);
    loop {
        file.write_all(&out)?;
        out.clear();
        if ended {
            return Ok(());
        }
        match channel.receiver.recv() {
            Ok(batch) => ended = recording.write(&batch, &mut out),
            // The stream is gone.
            Err(_) => return Ok(()),
        }
    }
}
