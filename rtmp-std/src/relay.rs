//! A small live relay: what a publisher sends under a name goes to every player of that name.
//!
//! Each connection runs [`Relay::handle`] on its own thread (see
//! [`Server::serve`](crate::server::Server::serve)). A publisher's thread hands each message to
//! the players' threads through bounded channels; a player's thread moves what its channel holds
//! into its connection and writes it all at once. The latest metadata and sequence headers are
//! kept, so a player that joins a stream already running can decode it, and such a player's
//! video starts at the next keyframe; no GOP is cached. A player that falls so far behind that
//! its channel fills is dropped without slowing anyone else.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use rtmp_proto::amf::Value;
use rtmp_proto::media::{AudioInfo, VideoInfo};
use rtmp_proto::session::server::{ServerEvent, StatusLevel, StreamKind};
use rtmp_proto::session::ApiError;

use crate::server::ServerSession;
use crate::{Error, Transport};

/// Messages waiting for a player's thread; a player whose channel holds this many is dropped.
const PLAYER_BACKLOG: usize = 2048;
/// How often a player's thread looks at its channel when its client is silent.
const PLAYER_POLL: Duration = Duration::from_millis(5);

/// What a publisher's thread hands to a player's.
#[derive(Clone, Debug)]
enum Delivery {
    Metadata(Value),
    Audio(u32, Bytes),
    Video(u32, Bytes),
    /// The publisher left.
    Unpublished,
}

struct Subscriber {
    id: u64,
    sender: SyncSender<Delivery>,
    /// Joined a stream already running: video is skipped until a keyframe.
    needs_keyframe: bool,
}

#[derive(Default)]
struct Channel {
    publishing: bool,
    metadata: Option<Value>,
    audio_header: Option<Bytes>,
    video_header: Option<Bytes>,
    players: Vec<Subscriber>,
}

/// A player of this connection.
struct Playing {
    name: String,
    id: u64,
    receiver: Receiver<Delivery>,
}

/// The streams being relayed; clones share them.
#[derive(Clone, Default)]
pub struct Relay {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    next_player: Arc<AtomicU64>,
}

impl Relay {
    /// A relay with no streams.
    pub fn new() -> Self {
        Relay::default()
    }

    /// Whether `name` is being published.
    pub fn is_published(&self, name: &str) -> bool {
        self.channels()
            .get(name)
            .is_some_and(|channel| channel.publishing)
    }

    /// How many players wait for or receive `name`.
    pub fn players(&self, name: &str) -> usize {
        self.channels()
            .get(name)
            .map_or(0, |channel| channel.players.len())
    }

    fn channels(&self) -> MutexGuard<'_, HashMap<String, Channel>> {
        // A thread that panicked while holding the lock left the map consistent: every
        // change under it is a single insert, push or field update.
        self.channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Serves one connection until it ends: accepts its connect, its publishes (one publisher
    /// per name; a second is refused with NetStream.Publish.BadName) and its plays (of any
    /// name: a player waits for its publisher). `Ok` when the client or we closed the
    /// connection, `Err` when it failed.
    pub fn handle<S: Transport>(&self, mut session: ServerSession<S>) -> Result<(), Error> {
        let mut published: HashMap<u32, String> = HashMap::new();
        let mut playing: HashMap<u32, Playing> = HashMap::new();
        let result = loop {
            let event = if playing.is_empty() {
                session.next_event().map(Some)
            } else {
                self.forward(&mut session, &mut playing);
                session.next_event_timeout(PLAYER_POLL)
            };
            let event = match event {
                Ok(Some(event)) => event,
                Ok(None) => continue,
                Err(Error::Closed | Error::PeerClosed) => break Ok(()),
                Err(error) => break Err(error),
            };
            match event {
                ServerEvent::ConnectRequest(request) => {
                    let _ = session.accept_connect(request.id);
                }
                ServerEvent::PublishRequest(request) => {
                    if self.start_publishing(&request.name) {
                        let _ = session.accept_publish(request.id);
                        published.insert(request.stream, request.name);
                    } else {
                        let _ = session.reject_publish(
                            request.id,
                            "NetStream.Publish.BadName",
                            &format!("{} is already being published", request.name),
                        );
                    }
                }
                ServerEvent::PlayRequest(request)
                    if session.accept_play(request.id, StreamKind::Live).is_ok() =>
                {
                    let player = self.subscribe(&mut session, request.stream, &request.name);
                    playing.insert(request.stream, player);
                }
                ServerEvent::Metadata {
                    stream, metadata, ..
                } => {
                    if let Some(name) = published.get(&stream) {
                        self.broadcast_metadata(name, metadata);
                    }
                }
                ServerEvent::Audio {
                    stream,
                    timestamp,
                    payload,
                } => {
                    if let Some(name) = published.get(&stream) {
                        self.broadcast_audio(name, timestamp, payload);
                    }
                }
                ServerEvent::Video {
                    stream,
                    timestamp,
                    payload,
                } => {
                    if let Some(name) = published.get(&stream) {
                        self.broadcast_video(name, timestamp, payload);
                    }
                }
                ServerEvent::Unpublished { stream } => {
                    if let Some(name) = published.remove(&stream) {
                        self.stop_publishing(&name);
                    }
                }
                ServerEvent::PlayStopped { stream } => {
                    if let Some(player) = playing.remove(&stream) {
                        self.unsubscribe(&player);
                    }
                }
                _ => {}
            }
        };
        for name in published.values() {
            self.stop_publishing(name);
        }
        for player in playing.values() {
            self.unsubscribe(player);
        }
        result
    }

    /// Claims `name` for a publisher, unless another has it.
    fn start_publishing(&self, name: &str) -> bool {
        let mut channels = self.channels();
        let channel = channels.entry(name.to_owned()).or_default();
        if channel.publishing {
            return false;
        }
        channel.publishing = true;
        channel.metadata = None;
        channel.audio_header = None;
        channel.video_header = None;
        true
    }

    fn stop_publishing(&self, name: &str) {
        let mut channels = self.channels();
        let Some(channel) = channels.get_mut(name) else {
            return;
        };
        channel.publishing = false;
        deliver(channel, &Delivery::Unpublished, |_| true);
        if channel.players.is_empty() {
            channels.remove(name);
        }
    }

    /// Adds a player of `name` on `stream`, starting it with what is cached.
    fn subscribe<S: Transport>(
        &self,
        session: &mut ServerSession<S>,
        stream: u32,
        name: &str,
    ) -> Playing {
        let (sender, receiver) = sync_channel(PLAYER_BACKLOG);
        let id = self.next_player.fetch_add(1, Ordering::Relaxed);
        let mut channels = self.channels();
        let channel = channels.entry(name.to_owned()).or_default();
        if let Some(metadata) = &channel.metadata {
            let _ = session.send_metadata(stream, metadata.clone());
        }
        if let Some(header) = &channel.audio_header {
            let _ = session.send_audio(stream, 0, header.clone());
        }
        if let Some(header) = &channel.video_header {
            let _ = session.send_video(stream, 0, header.clone());
        }
        channel.players.push(Subscriber {
            id,
            sender,
            needs_keyframe: channel.publishing,
        });
        Playing {
            name: name.to_owned(),
            id,
            receiver,
        }
    }

    fn unsubscribe(&self, player: &Playing) {
        let mut channels = self.channels();
        let Some(channel) = channels.get_mut(&player.name) else {
            return;
        };
        channel
            .players
            .retain(|subscriber| subscriber.id != player.id);
        if channel.players.is_empty() && !channel.publishing {
            channels.remove(&player.name);
        }
    }

    fn broadcast_metadata(&self, name: &str, metadata: Value) {
        let mut channels = self.channels();
        if let Some(channel) = channels.get_mut(name) {
            channel.metadata = Some(metadata.clone());
            deliver(channel, &Delivery::Metadata(metadata), |_| true);
        }
    }

    fn broadcast_audio(&self, name: &str, timestamp: u32, payload: Bytes) {
        let is_header = AudioInfo::parse(&payload).is_ok_and(|info| info.is_sequence_header());
        let mut channels = self.channels();
        if let Some(channel) = channels.get_mut(name) {
            if is_header {
                channel.audio_header = Some(payload.clone());
            }
            deliver(channel, &Delivery::Audio(timestamp, payload), |_| true);
        }
    }

    fn broadcast_video(&self, name: &str, timestamp: u32, payload: Bytes) {
        let info = VideoInfo::parse(&payload).ok();
        let is_header = info.as_ref().is_some_and(VideoInfo::is_sequence_header);
        let is_keyframe = info.as_ref().is_some_and(VideoInfo::is_keyframe);
        let mut channels = self.channels();
        if let Some(channel) = channels.get_mut(name) {
            if is_header {
                channel.video_header = Some(payload.clone());
            }
            let delivery = Delivery::Video(timestamp, payload);
            deliver(channel, &delivery, |subscriber| {
                if is_keyframe && !is_header {
                    subscriber.needs_keyframe = false;
                }
                !subscriber.needs_keyframe || is_header
            });
        }
    }

    /// Moves what the players of this connection were handed into the connection.
    fn forward<S: Transport>(
        &self,
        session: &mut ServerSession<S>,
        playing: &mut HashMap<u32, Playing>,
    ) {
        let mut dropped = false;
        for (&stream, player) in playing.iter() {
            loop {
                let sent = match player.receiver.try_recv() {
                    Ok(Delivery::Metadata(metadata)) => session.send_metadata(stream, metadata),
                    Ok(Delivery::Audio(timestamp, payload)) => {
                        session.send_audio(stream, timestamp, payload)
                    }
                    Ok(Delivery::Video(timestamp, payload)) => {
                        session.send_video(stream, timestamp, payload)
                    }
                    Ok(Delivery::Unpublished) => {
                        // The connection's queue keeps these behind the media queued before.
                        let _ = session.send_status(
                            stream,
                            StatusLevel::Status,
                            "NetStream.Play.UnpublishNotify",
                            &format!("{} is now unpublished.", player.name),
                        );
                        session.send_stream_eof(stream)
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        dropped = true;
                        break;
                    }
                };
                if let Err(ApiError::QueueFull) = sent {
                    dropped = true;
                    break;
                }
            }
        }
        if dropped {
            // Too slow to keep up: the publisher's thread let go of this player.
            session.close();
        }
    }
}

/// Hands `delivery` to the players `wants` picks; drops the players whose channel is full.
fn deliver(
    channel: &mut Channel,
    delivery: &Delivery,
    mut wants: impl FnMut(&mut Subscriber) -> bool,
) {
    channel.players.retain_mut(|subscriber| {
        if !wants(subscriber) {
            return true;
        }
        match subscriber.sender.try_send(delivery.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    });
}
