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
//! [`Relay::stats`] reads the hub's live statistics. This relay asks nobody before a connect,
//! publish or play (rtmp-tokio's takes an async hook): a request the hub's
//! [`HubConfig::ask`] parks is allowed at once.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtmp_proto::relay::{
    Access, Batch, Fanout, Hub, HubConfig, RelayConnection, RelayStats, SharedHub as _,
    StreamSummary, Verdict,
};

use crate::driver::Clock;

use crate::server::ServerSession;
use crate::{Error, Transport};

/// How the relay treats its connections.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// What the hub decides with: cache bounds, the slow-player verdict, multitrack.
    pub hub: HubConfig,
    /// Batches waiting for a player's thread; one that lags more skips to the next keyframe.
    /// Default 1024.
    pub fan_out_capacity: usize,
    /// How long a player's thread waits for its socket before it looks at its channel again:
    /// what a frame may wait for it, at most. Default 5 ms.
    pub player_poll: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            hub: HubConfig::default(),
            fan_out_capacity: 1024,
            player_poll: Duration::from_millis(5),
        }
    }
}

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
    pub fn handle_from<S: Transport>(
        &self,
        mut session: ServerSession<S>,
        peer: Option<SocketAddr>,
    ) -> Result<(), Error> {
        let mut relay = RelayConnection::new(self.hub.clone());
        if let Some(peer) = peer {
            relay.set_peer(peer.to_string());
        }
        loop {
            let event = if relay.receiver_mut().is_some() {
                if let Verdict::Close(_) = deliver_batches(&mut relay, &mut session, &self.clock) {
                    break;
                }
                session.next_event_timeout(self.config.player_poll)
            } else {
                session.next_event().map(Some)
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
                verdict = relay.answer(session.connection(), request.id, Access::Allow, now);
            }
            // Nothing reads them here; rtmp-tokio's relay logs them.
            while relay.poll_event().is_some() {}
            if let Verdict::Close(_) = verdict {
                break;
            }
        }
        drop(relay);
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
