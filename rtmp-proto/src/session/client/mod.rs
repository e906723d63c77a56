//! The client connection (RTMP 1.0 §7.2): the NetConnection and NetStream conversation that
//! publishers (pushing to YouTube, Twitch, nginx-rtmp) and players drive.
//!
//! A [`ClientConnection`] is sans-IO: its owner feeds it the server's bytes and the time, polls
//! its events and the bytes to write, and calls its commands. A publisher:
//!
//! ```
//! use bytes::Bytes;
//! use rand::{rngs::StdRng, SeedableRng};
//! use rtmp_proto::session::client::{
//!     ClientConnection, ClientConnectionConfig, ClientEvent, PublishType,
//! };
//! use rtmp_proto::session::Instant;
//!
//! let config = ClientConnectionConfig::publisher("live", "rtmp://example.com/live");
//! let mut conn = ClientConnection::new(config, &mut StdRng::seed_from_u64(1), Instant::from_millis(0));
//! conn.connect()?; // sent as soon as the handshake is done
//! let request = conn.create_stream_to_publish("stream-key", PublishType::Live)?;
//!
//! // The adapter's loop: write what poll_transmit gives, feed what the socket reads...
//! while let Some(out) = conn.poll_transmit() {
//!     let written = out.len(); // socket.write_vectored(...)
//!     out.advance(written);
//! }
//! # let read_from_socket: &[u8] = &[];
//! conn.handle_input(Instant::from_millis(20), read_from_socket)?;
//! while let Some(event) = conn.poll_event() {
//!     match event {
//!         ClientEvent::StreamCreated { request: r, stream_id } if r == request => {}
//!         ClientEvent::PublishStarted { stream } => {
//!             let _ = conn.send_video(stream, 0, Bytes::from_static(&[0x17, 0, 0, 0, 0]))?;
//!         }
//!         ClientEvent::Closed(reason) => break,
//!         _ => {}
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Decisions where real servers disagree or the spec is silent:
//! - Transaction ids count up from 1 (connect) for every command of ours, as FFmpeg and librtmp
//!   do, so a server sees the same ids it sees from them. Only `connect`, `createStream` and
//!   [`call`](ClientConnection::call)s wait for an answer; a `_result` or `_error` for anything
//!   else (`releaseStream`, `FCPublish`, `deleteStream`, a late or unknown answer) is ignored,
//!   so a server that never answers `FCPublish` (nginx-rtmp) or answers it late costs nothing.
//! - `onStatus` is read from its first argument, or from its command object when there is
//!   none. A `NetStream.*` status on message stream 0 is given to the one stream waiting for a
//!   publish or play to start, or else to the only stream.
//! - The client answers no server call by itself except the bandwidth check (`onBWCheck`,
//!   `_onbwcheck`), which it answers with `_result` as librtmp does, since FMS-style servers
//!   wait for it. Every command it does not interpret becomes [`ClientEvent::Command`].
//! - `onPlayStatus` data messages (Play.Complete, Play.Switch) are reported as
//!   [`ClientEvent::Status`], like `onStatus`.
//! - A malformed aggregate message ends the connection, as a malformed chunk stream does; the
//!   sub-messages before the fault are reported.

mod config;
mod event;
mod handover;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use config::{ClientConnectionConfig, ConnectParams, PLAYER_FLASH_VER, PUBLISHER_FLASH_VER};
pub use event::{ClientEvent, Status, TransactionId};
pub use handover::{
    Handover, HandoverError, HandoverFrame, HandoverKind, Route, RECONNECT_REQUEST,
};

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;
use rand::RngCore;

use crate::amf::{Object, Value};
use crate::chunk::ChunkOutput;
use crate::message::{AggregateIter, Command, Data, Message, UserControl};
use crate::type_id;

use super::core::{Core, CoreEvent, Inbound};
use super::{ApiError, Instant, SendStatus, SessionError};

/// Where the NetConnection is, as gortmp's `ConnectionStatus` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    /// The handshake is in progress (RTMP 1.0 §5.2).
    Handshaking,
    /// The handshake is done and `connect` was not asked for yet.
    HandshakeComplete,
    /// `connect` was sent; its answer has not come.
    Connecting,
    /// The server accepted `connect`.
    Connected,
    /// The server refused `connect`.
    Rejected,
    /// The connection ended.
    Closed,
}

/// Where a message stream is (RTMP 1.0 §7.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamStatus {
    /// Created and idle: neither publishing nor playing.
    Created,
    /// `publish` was sent; `NetStream.Publish.Start` has not come.
    PublishRequested,
    /// Publishing (`NetStream.Publish.Start` came).
    Publishing,
    /// `play` was sent; `NetStream.Play.Start` has not come.
    PlayRequested,
    /// Playing (`NetStream.Play.Start` came).
    Playing,
    /// Paused (`NetStream.Pause.Notify` came).
    Paused,
}

impl StreamStatus {
    fn is_publishing(self) -> bool {
        matches!(
            self,
            StreamStatus::PublishRequested | StreamStatus::Publishing
        )
    }

    fn is_playing(self) -> bool {
        matches!(
            self,
            StreamStatus::PlayRequested | StreamStatus::Playing | StreamStatus::Paused
        )
    }
}

/// How a published stream is kept (the `publish` command's type, RTMP 1.0 §7.2.2.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PublishType {
    /// Live, not recorded.
    #[default]
    Live,
    /// Recorded into a new file.
    Record,
    /// Appended to an existing recording.
    Append,
}

impl PublishType {
    /// The word sent in `publish`.
    pub fn as_str(self) -> &'static str {
        match self {
            PublishType::Live => "live",
            PublishType::Record => "record",
            PublishType::Append => "append",
        }
    }
}

/// Where playback starts (the `play` command's `Start`, RTMP 1.0 §7.2.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PlayStart {
    /// The live stream if there is one, else the recorded one (-2).
    #[default]
    LiveOrRecorded,
    /// Only a live stream (-1).
    Live,
    /// A recorded stream, from this many milliseconds in.
    Recorded(u32),
}

impl PlayStart {
    fn to_value(self) -> Value {
        match self {
            PlayStart::LiveOrRecorded => Value::Number(-2.0),
            PlayStart::Live => Value::Number(-1.0),
            PlayStart::Recorded(millis) => Value::from(millis),
        }
    }
}

/// The optional parts of `play` (RTMP 1.0 §7.2.2.1) and what follows it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PlayOptions {
    /// Where playback starts. Default: live, else recorded.
    pub start: PlayStart,
    /// How long to play, in milliseconds; `None` (sent as -1 if `reset` is given) plays to
    /// the end.
    pub duration: Option<f64>,
    /// Whether to flush any previous playlist; `None` leaves it out.
    pub reset: Option<bool>,
    /// The buffer length announced right after `play` (User Control Set Buffer Length, RTMP
    /// 1.0 §7.1.7), in milliseconds. Default 3000, as FFmpeg sends; `None` sends nothing.
    pub buffer_length: Option<u32>,
}

impl Default for PlayOptions {
    fn default() -> Self {
        PlayOptions {
            start: PlayStart::LiveOrRecorded,
            duration: None,
            reset: None,
            buffer_length: Some(3000),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnectState {
    NotRequested,
    Requested,
    Connected,
    Rejected,
}

/// What to do once a `createStream` of ours is answered.
#[derive(Clone, Debug, PartialEq)]
enum AfterCreate {
    Nothing,
    /// `releaseStream` and `FCPublish` went before `createStream`, as FFmpeg sends them.
    Publish {
        name: String,
        kind: PublishType,
    },
    Play {
        name: String,
        options: PlayOptions,
    },
}

/// A request of ours waiting for its `_result` or `_error`.
#[derive(Clone, Debug, PartialEq)]
enum Pending {
    Connect,
    CreateStream(AfterCreate),
    Call,
}

#[derive(Clone, Debug, PartialEq)]
struct StreamState {
    status: StreamStatus,
    /// The name last published on this stream, for `FCUnpublish`.
    publish_name: Option<String>,
    /// The timestamps of the last media sent, for the delta conveniences.
    audio_timestamp: u32,
    video_timestamp: u32,
}

impl StreamState {
    fn new() -> Self {
        StreamState {
            status: StreamStatus::Created,
            publish_name: None,
            audio_timestamp: 0,
            video_timestamp: 0,
        }
    }
}

/// One message of a batch the API sends at once: (message stream, a command or a user
/// control event).
type Outgoing = (u32, Message);

/// The client side of an RTMP connection (RTMP 1.0 §7.2), sans-IO.
///
/// Drive it as the [session module](crate::session) describes: feed it with
/// [`handle_input`](Self::handle_input) and [`handle_timeout`](Self::handle_timeout), then poll
/// [`poll_event`](Self::poll_event), [`poll_transmit`](Self::poll_transmit) and
/// [`poll_timeout`](Self::poll_timeout). Commands return [`ApiError`] on misuse and change
/// nothing then; faults of the server end the connection with [`ClientEvent::Closed`].
#[derive(Debug)]
pub struct ClientConnection {
    core: Core,
    connect_params: ConnectParams,
    send_fc_publish: bool,
    connect: ConnectState,
    next_transaction: u64,
    pending: BTreeMap<u64, Pending>,
    streams: BTreeMap<u32, StreamState>,
    events: VecDeque<ClientEvent>,
    /// Set when this layer (not the core) found the server at fault: messages the core decoded
    /// after the faulty one are dropped.
    failed_here: bool,
    bandwidth_checks: u32,
}

impl ClientConnection {
    /// A connection that starts its handshake (C0 and C1 are ready to send at once). `rng`
    /// draws the handshake's random bytes; `now` starts the handshake timeout.
    pub fn new<R: RngCore + ?Sized>(
        config: ClientConnectionConfig,
        rng: &mut R,
        now: Instant,
    ) -> Self {
        ClientConnection {
            core: Core::client(config.session, config.handshake, rng, now),
            connect_params: config.connect,
            send_fc_publish: config.send_fc_publish,
            connect: ConnectState::NotRequested,
            next_transaction: 1,
            pending: BTreeMap::new(),
            streams: BTreeMap::new(),
            events: VecDeque::new(),
            failed_here: false,
            bandwidth_checks: 0,
        }
    }

    // ---- getters ----

    /// Where the NetConnection is.
    pub fn status(&self) -> ConnectionStatus {
        if self.core.is_closed() {
            return ConnectionStatus::Closed;
        }
        let handshake_done = self.core.is_handshake_complete();
        match self.connect {
            ConnectState::Connected => ConnectionStatus::Connected,
            ConnectState::Rejected => ConnectionStatus::Rejected,
            ConnectState::Requested if handshake_done => ConnectionStatus::Connecting,
            ConnectState::NotRequested if handshake_done => ConnectionStatus::HandshakeComplete,
            _ => ConnectionStatus::Handshaking,
        }
    }

    /// Where message stream `stream` is, if it exists (created and not deleted).
    pub fn stream_status(&self, stream: u32) -> Option<StreamStatus> {
        self.streams.get(&stream).map(|state| state.status)
    }

    /// The message streams that exist, in ascending order, with their status.
    pub fn streams(&self) -> impl Iterator<Item = (u32, StreamStatus)> + '_ {
        self.streams.iter().map(|(id, state)| (*id, state.status))
    }

    /// The `connect` parameters.
    pub fn connect_params(&self) -> &ConnectParams {
        &self.connect_params
    }

    /// The `tcUrl` this connection connects to (gortmp's `URL()`).
    pub fn tc_url(&self) -> &str {
        &self.connect_params.tc_url
    }

    /// How many requests of ours wait for an answer (bounded by
    /// [`SessionConfig::max_pending_requests`](crate::session::SessionConfig)).
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// Bytes queued or chunked but not yet written.
    pub fn pending_bytes(&self) -> usize {
        self.core.pending_bytes()
    }

    /// The output bandwidth the server asked us to keep to (Set Peer Bandwidth, RTMP 1.0
    /// §5.4.5), if it did; advisory.
    pub fn peer_bandwidth(&self) -> Option<u32> {
        self.core.peer_bandwidth()
    }

    /// Why the connection ended, once it has.
    pub fn error(&self) -> Option<&SessionError> {
        self.core.error()
    }

    // ---- inputs ----

    /// Feeds bytes read from the server. `Err` means the connection has ended (the same error
    /// every time after); the events before it are still to be polled.
    pub fn handle_input(&mut self, now: Instant, input: &[u8]) -> Result<(), SessionError> {
        let result = self.core.handle_input(now, input);
        self.finish_input(result)
    }

    /// Feeds bytes read from the server as a [`Bytes`]: media that arrives in one chunk is
    /// handed out as slices of it, not copies.
    pub fn handle_input_bytes(&mut self, now: Instant, input: Bytes) -> Result<(), SessionError> {
        let result = self.core.handle_input_bytes(now, input);
        self.finish_input(result)
    }

    /// Feeds bytes read from the peer as [`handle_input_bytes`](Self::handle_input_bytes)
    /// does, all of them (`input` is left empty): the steps
    /// [`ServerConnection::handle_input_some`](crate::session::ServerConnection::handle_input_some)
    /// takes are for servers, which share a thread among many peers.
    pub fn handle_input_some(
        &mut self,
        now: Instant,
        input: &mut Bytes,
        _max_messages: usize,
    ) -> Result<(), SessionError> {
        self.handle_input_bytes(now, core::mem::take(input))
    }

    /// Checks the deadlines (handshake, idle and ping timeouts, periodic pings); call it when
    /// [`poll_timeout`](Self::poll_timeout) is reached. Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.handle_timeout(now);
        self.pump();
    }

    /// The server closed its side of the transport (a read returned no bytes): the
    /// connection ends with [`ClientEvent::Closed`]`(`[`SessionError::Closed`]`)`, after the
    /// events of what was read before, unless it has ended already. Nothing is sent.
    pub fn handle_eof(&mut self, now: Instant) {
        self.core.handle_eof(now);
        self.pump();
    }

    // ---- outputs ----

    /// The next event; after [`ClientEvent::Closed`], nothing.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.pump();
        self.events.pop_front()
    }

    /// The bytes to write next, if any: write what the socket takes (vectored:
    /// [`ChunkOutput::segments`]) and [`advance`](ChunkOutput::advance) by it.
    pub fn poll_transmit(&mut self) -> Option<&mut ChunkOutput> {
        self.core.poll_transmit()
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) would find nothing to do now that its
    /// output was written: a driver that wrote everything may skip asking again (a relay's
    /// player, written one shared frame at a time, mostly is).
    #[inline]
    pub fn transmit_settled(&self) -> bool {
        self.core.transmit_settled()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    // ---- NetConnection commands ----

    /// Sends `connect` (RTMP 1.0 §7.2.1.1, transaction 1), preceded by Set Chunk Size with our
    /// chunk size (§5.4.1) as FFmpeg does. May be called before the handshake completes: both
    /// are sent as soon as it does. The answer is [`ClientEvent::Connected`] or
    /// [`ClientEvent::ConnectRejected`].
    pub fn connect(&mut self) -> Result<(), ApiError> {
        self.check_open()?;
        if self.connect != ConnectState::NotRequested {
            return Err(ApiError::InvalidState("connect was already sent"));
        }
        let transaction = self.next_transaction;
        let connect = Command::new(
            "connect",
            transaction as f64,
            self.connect_params.command_object(),
            self.connect_params.extra_arguments.clone(),
        );
        self.queue(vec![(0, connect.into())], 1)?;
        self.core.announce_chunk_size();
        self.pending.insert(transaction, Pending::Connect);
        self.connect = ConnectState::Requested;
        Ok(())
    }

    /// Sends `createStream` (RTMP 1.0 §7.2.1.3). The answer is [`ClientEvent::StreamCreated`]
    /// with the stream id the server chose, or [`ClientEvent::CreateStreamFailed`].
    pub fn create_stream(&mut self) -> Result<TransactionId, ApiError> {
        self.request_stream(AfterCreate::Nothing, Vec::new())
    }

    /// Starts publishing `name` on a new stream the way FFmpeg and OBS do: `releaseStream`,
    /// `FCPublish` (unless [`send_fc_publish`](ClientConnectionConfig::send_fc_publish) is off)
    /// and `createStream` at once, then `publish` as soon as the stream exists. Events:
    /// [`ClientEvent::StreamCreated`], then the `Status` of the publish
    /// ([`ClientEvent::PublishStarted`] on success).
    pub fn create_stream_to_publish(
        &mut self,
        name: &str,
        kind: PublishType,
    ) -> Result<TransactionId, ApiError> {
        let before = if self.send_fc_publish {
            self.fc_publish_commands(name, self.next_transaction)
        } else {
            Vec::new()
        };
        self.request_stream(
            AfterCreate::Publish {
                name: String::from(name),
                kind,
            },
            before,
        )
    }

    /// Starts playing `name` on a new stream: `createStream` now, then `play` (and Set Buffer
    /// Length) as soon as the stream exists. Events: [`ClientEvent::StreamCreated`], then the
    /// `Status` of the play ([`ClientEvent::PlayStarted`] on success) and the media.
    pub fn create_stream_to_play(
        &mut self,
        name: &str,
        options: PlayOptions,
    ) -> Result<TransactionId, ApiError> {
        self.request_stream(
            AfterCreate::Play {
                name: String::from(name),
                options,
            },
            Vec::new(),
        )
    }

    /// Calls the server procedure `name` on the NetConnection (RTMP 1.0 §7.2.1.2), e.g.
    /// `getStreamLength` or `FCSubscribe`. The answer is [`ClientEvent::CallResult`] or
    /// [`ClientEvent::CallError`] with the returned transaction id.
    pub fn call(
        &mut self,
        name: &str,
        command_object: Value,
        arguments: Vec<Value>,
    ) -> Result<TransactionId, ApiError> {
        self.call_on_stream(0, name, command_object, arguments)
    }

    /// Calls the server procedure `name` on message stream `stream` (gortmp's
    /// `ClientStream.Call`); answered like [`call`](Self::call).
    pub fn call_on_stream(
        &mut self,
        stream: u32,
        name: &str,
        command_object: Value,
        arguments: Vec<Value>,
    ) -> Result<TransactionId, ApiError> {
        self.check_connect_sent()?;
        self.check_pending_room()?;
        let transaction = self.next_transaction;
        let command = Command::new(name, transaction as f64, command_object, arguments);
        self.queue(vec![(stream, command.into())], 1)?;
        self.pending.insert(transaction, Pending::Call);
        Ok(TransactionId(transaction))
    }

    /// Sends `command` on message stream `stream` as it is, expecting nothing: for answering
    /// a server's call (`Command::result(id, Value::Null, values)`) or for commands this type
    /// has no method for.
    pub fn send_command(&mut self, stream: u32, command: Command) -> Result<SendStatus, ApiError> {
        self.check_open()?;
        self.send_batch(vec![(stream, command.into())], 0)
    }

    /// Sends any message on message stream `stream` at `timestamp` (gortmp's `Send`), e.g.
    /// a user control event. Messages the connection tracks (chunk size, window) should go
    /// through its own methods.
    pub fn send_message(
        &mut self,
        stream: u32,
        timestamp: u32,
        message: &Message,
    ) -> Result<SendStatus, ApiError> {
        self.check_open()?;
        self.core.send_message(stream, timestamp, message)
    }

    /// Sends a Ping Request now (RTMP 1.0 §7.1.7, event 6), unless one is outstanding; the
    /// answer is [`ClientEvent::PingResponse`] with the round-trip time.
    pub fn ping(&mut self, now: Instant) -> Result<(), ApiError> {
        self.check_open()?;
        if !self.core.is_handshake_complete() {
            return Err(ApiError::InvalidState("the handshake is not complete"));
        }
        self.core.send_ping(now);
        Ok(())
    }

    /// Closes the connection politely: `FCUnpublish` for each stream publishing (if
    /// [`send_fc_publish`](ClientConnectionConfig::send_fc_publish)) and `deleteStream` for
    /// each stream, as FFmpeg does, then [`ClientEvent::Closed`] with
    /// [`SessionError::Closed`]. Write what [`poll_transmit`](Self::poll_transmit) still
    /// returns before closing the socket.
    pub fn close(&mut self) {
        if self.core.is_closed() {
            return;
        }
        if self.connect == ConnectState::Connected {
            let ids: Vec<u32> = self.streams.keys().copied().collect();
            for stream in ids {
                if self.send_fc_publish {
                    let _ = self.fc_unpublish(stream);
                }
                let _ = self.delete_stream(stream);
            }
        }
        self.core.close();
    }

    // ---- NetStream commands ----

    /// Publishes `name` on `stream` (RTMP 1.0 §7.2.2.6), preceded by `releaseStream` and
    /// `FCPublish` unless [`send_fc_publish`](ClientConnectionConfig::send_fc_publish) is off.
    /// The stream must be idle ([`StreamStatus::Created`]).
    pub fn publish(&mut self, stream: u32, name: &str, kind: PublishType) -> Result<(), ApiError> {
        self.check_connect_sent()?;
        self.check_stream(stream, |status| status == StreamStatus::Created)?;
        let mut batch = if self.send_fc_publish {
            self.fc_publish_commands(name, self.next_transaction)
        } else {
            Vec::new()
        };
        let transaction = self.next_transaction + batch.len() as u64;
        batch.push(publish_command(stream, transaction, name, kind));
        let count = batch.len() as u64;
        self.queue(batch, count)?;
        self.set_publishing(stream, name);
        Ok(())
    }

    /// Plays `name` on `stream` (RTMP 1.0 §7.2.2.1), followed by Set Buffer Length if
    /// `options` asks. The stream must be idle or playing.
    pub fn play(&mut self, stream: u32, name: &str, options: PlayOptions) -> Result<(), ApiError> {
        self.check_connect_sent()?;
        self.check_stream(stream, |status| {
            status == StreamStatus::Created || status.is_playing()
        })?;
        let batch = play_commands(stream, self.next_transaction, name, &options);
        self.queue(batch, 1)?;
        self.set_status(stream, StreamStatus::PlayRequested);
        Ok(())
    }

    /// Sends `play2` (RTMP 1.0 §7.2.2.2) with `parameters` (`streamName`, `oldStreamName`,
    /// `start`, `len`, `offset`, `transition`...) on `stream`, idle or playing.
    pub fn play2(&mut self, stream: u32, parameters: Object) -> Result<(), ApiError> {
        self.check_connect_sent()?;
        let status = self.check_stream(stream, |status| {
            status == StreamStatus::Created || status.is_playing()
        })?;
        let command = Command::new("play2", 0.0, Value::Null, vec![Value::Object(parameters)]);
        self.queue(vec![(stream, command.into())], 0)?;
        if status == StreamStatus::Created {
            self.set_status(stream, StreamStatus::PlayRequested);
        }
        Ok(())
    }

    /// Pauses (`pause` true) or resumes playback of `stream` at `position_ms` (RTMP 1.0
    /// §7.2.2.8). The server confirms with `NetStream.Pause.Notify` / `Unpause.Notify`.
    pub fn pause(&mut self, stream: u32, pause: bool, position_ms: f64) -> Result<(), ApiError> {
        self.playing_stream_command(
            stream,
            "pause",
            vec![Value::Boolean(pause), Value::Number(position_ms)],
        )
    }

    /// Seeks `stream` to `position_ms` (RTMP 1.0 §7.2.2.7); confirmed by
    /// `NetStream.Seek.Notify`.
    pub fn seek(&mut self, stream: u32, position_ms: f64) -> Result<(), ApiError> {
        self.playing_stream_command(stream, "seek", vec![Value::Number(position_ms)])
    }

    /// Asks the server to send (or stop sending) audio on `stream` (`receiveAudio`, RTMP 1.0
    /// §7.2.2.4).
    pub fn receive_audio(&mut self, stream: u32, receive: bool) -> Result<(), ApiError> {
        self.stream_command(stream, "receiveAudio", vec![Value::Boolean(receive)])
    }

    /// Asks the server to send (or stop sending) video on `stream` (`receiveVideo`, RTMP 1.0
    /// §7.2.2.5).
    pub fn receive_video(&mut self, stream: u32, receive: bool) -> Result<(), ApiError> {
        self.stream_command(stream, "receiveVideo", vec![Value::Boolean(receive)])
    }

    /// Tells the server how many milliseconds of `stream` we buffer (User Control Set Buffer
    /// Length, RTMP 1.0 §7.1.7; any stream id, 0 included, as rtmpdump sends).
    pub fn set_buffer_length(
        &mut self,
        stream: u32,
        buffer_length_ms: u32,
    ) -> Result<SendStatus, ApiError> {
        self.check_open()?;
        let event = UserControl::SetBufferLength {
            stream_id: stream,
            buffer_length: buffer_length_ms,
        };
        self.core.send_message(0, 0, &Message::UserControl(event))
    }

    /// Stops publishing or playing on `stream` (`closeStream`, sent on the stream); the stream
    /// stays, idle.
    pub fn close_stream(&mut self, stream: u32) -> Result<(), ApiError> {
        self.check_connect_sent()?;
        self.check_stream(stream, |_| true)?;
        let command = Command::new("closeStream", 0.0, Value::Null, Vec::new());
        self.queue_after_media(vec![(stream, command.into())], 0)?;
        self.set_status(stream, StreamStatus::Created);
        Ok(())
    }

    /// Deletes `stream` (`deleteStream`, RTMP 1.0 §7.2.2.3, sent on message stream 0).
    pub fn delete_stream(&mut self, stream: u32) -> Result<(), ApiError> {
        self.check_connect_sent()?;
        self.check_stream(stream, |_| true)?;
        let command = Command::new(
            "deleteStream",
            self.next_transaction as f64,
            Value::Null,
            vec![Value::from(stream)],
        );
        self.queue_after_media(vec![(0, command.into())], 1)?;
        self.streams.remove(&stream);
        Ok(())
    }

    /// Sends `FCUnpublish` with the name last published on `stream`, as encoders do before
    /// `deleteStream`.
    pub fn fc_unpublish(&mut self, stream: u32) -> Result<(), ApiError> {
        self.check_connect_sent()?;
        self.check_stream(stream, |_| true)?;
        let Some(name) = self
            .streams
            .get(&stream)
            .and_then(|state| state.publish_name.clone())
        else {
            return Err(ApiError::UnknownStream(stream));
        };
        let command = Command::new(
            "FCUnpublish",
            self.next_transaction as f64,
            Value::Null,
            vec![Value::from(name)],
        );
        self.queue_after_media(vec![(0, command.into())], 1)?;
        Ok(())
    }

    /// Sends an audio message (RTMP 1.0 §7.1.4) on `stream` at `timestamp` (absolute
    /// milliseconds). The stream must be publishing: `publish` sent, whether or not
    /// `NetStream.Publish.Start` came (some servers never send it). The payload is shared, not
    /// copied.
    pub fn send_audio(
        &mut self,
        stream: u32,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, ApiError> {
        self.check_open()?;
        self.check_stream(stream, StreamStatus::is_publishing)?;
        let status = self
            .core
            .send_message(stream, timestamp, &Message::Audio(payload))?;
        if let Some(state) = self.streams.get_mut(&stream) {
            state.audio_timestamp = timestamp;
        }
        Ok(status)
    }

    /// Sends a video message (RTMP 1.0 §7.1.5) on a publishing `stream` (as for
    /// [`send_audio`](Self::send_audio)) at `timestamp`. Under
    /// congestion, frames that are not keyframes may be dropped ([`SendStatus::DroppedVideo`]).
    pub fn send_video(
        &mut self,
        stream: u32,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, ApiError> {
        self.check_open()?;
        self.check_stream(stream, StreamStatus::is_publishing)?;
        let status = self
            .core
            .send_message(stream, timestamp, &Message::Video(payload))?;
        if let Some(state) = self.streams.get_mut(&stream) {
            state.video_timestamp = timestamp;
        }
        Ok(status)
    }

    /// Sends audio `delta_ms` after the previous audio of `stream` (gortmp's
    /// `PublishAudioData(data, deltaTimestamp)`); the first audio is at `delta_ms`.
    pub fn send_audio_delta(
        &mut self,
        stream: u32,
        delta_ms: u32,
        payload: Bytes,
    ) -> Result<SendStatus, ApiError> {
        let last = self.streams.get(&stream).map_or(0, |s| s.audio_timestamp);
        self.send_audio(stream, last.wrapping_add(delta_ms), payload)
    }

    /// Sends video `delta_ms` after the previous video of `stream` (gortmp's
    /// `PublishVideoData(data, deltaTimestamp)`).
    pub fn send_video_delta(
        &mut self,
        stream: u32,
        delta_ms: u32,
        payload: Bytes,
    ) -> Result<SendStatus, ApiError> {
        let last = self.streams.get(&stream).map_or(0, |s| s.video_timestamp);
        self.send_video(stream, last.wrapping_add(delta_ms), payload)
    }

    /// Sends the stream's metadata as `@setDataFrame("onMetaData", metadata)` (RTMP 1.0
    /// §7.1.2), which servers keep and hand to players as `onMetaData`.
    pub fn send_metadata(&mut self, stream: u32, metadata: Value) -> Result<SendStatus, ApiError> {
        self.send_data(stream, 0, Data::set_data_frame(metadata))
    }

    /// Sends a data message (RTMP 1.0 §7.1.2), e.g. `onTextData` or `onCuePoint`, on a
    /// publishing `stream` at `timestamp`.
    pub fn send_data(
        &mut self,
        stream: u32,
        timestamp: u32,
        data: Data,
    ) -> Result<SendStatus, ApiError> {
        self.check_open()?;
        self.check_stream(stream, StreamStatus::is_publishing)?;
        self.core
            .send_message(stream, timestamp, &Message::Data(data))
    }

    // ---- internals: commands ----

    fn check_open(&self) -> Result<(), ApiError> {
        if self.core.is_closed() {
            Err(ApiError::Closed)
        } else {
            Ok(())
        }
    }

    /// Commands other than `connect` go after it; after a rejection there is nothing to do.
    fn check_connect_sent(&self) -> Result<(), ApiError> {
        self.check_open()?;
        match self.connect {
            ConnectState::Requested | ConnectState::Connected => Ok(()),
            ConnectState::NotRequested => Err(ApiError::InvalidState("connect first")),
            ConnectState::Rejected => Err(ApiError::InvalidState("the server refused connect")),
        }
    }

    fn check_pending_room(&self) -> Result<(), ApiError> {
        if self.pending.len() >= self.core.config.max_pending_requests {
            Err(ApiError::InvalidState(
                "too many requests waiting for an answer",
            ))
        } else {
            Ok(())
        }
    }

    /// The status of `stream` if it exists and `allowed` accepts it.
    fn check_stream(
        &self,
        stream: u32,
        allowed: impl Fn(StreamStatus) -> bool,
    ) -> Result<StreamStatus, ApiError> {
        match self.streams.get(&stream) {
            Some(state) if allowed(state.status) => Ok(state.status),
            _ => Err(ApiError::UnknownStream(stream)),
        }
    }

    fn request_stream(
        &mut self,
        after: AfterCreate,
        mut batch: Vec<Outgoing>,
    ) -> Result<TransactionId, ApiError> {
        self.check_connect_sent()?;
        self.check_pending_room()?;
        let creating = self
            .pending
            .values()
            .filter(|p| matches!(p, Pending::CreateStream(_)))
            .count();
        if self.streams.len() + creating >= self.core.config.max_message_streams {
            return Err(ApiError::InvalidState("too many message streams"));
        }
        let transaction = self.next_transaction + batch.len() as u64;
        let create = Command::new("createStream", transaction as f64, Value::Null, Vec::new());
        batch.push((0, create.into()));
        let count = batch.len() as u64;
        self.queue(batch, count)?;
        self.pending
            .insert(transaction, Pending::CreateStream(after));
        Ok(TransactionId(transaction))
    }

    /// `releaseStream` and `FCPublish` for `name`, with transaction ids from `transaction`.
    fn fc_publish_commands(&self, name: &str, transaction: u64) -> Vec<Outgoing> {
        ["releaseStream", "FCPublish"]
            .into_iter()
            .zip(transaction..)
            .map(|(command, id)| {
                let command = Command::new(command, id as f64, Value::Null, vec![name.into()]);
                (0, command.into())
            })
            .collect()
    }

    fn stream_command(
        &mut self,
        stream: u32,
        name: &str,
        arguments: Vec<Value>,
    ) -> Result<(), ApiError> {
        self.check_connect_sent()?;
        self.check_stream(stream, |_| true)?;
        let command = Command::new(name, 0.0, Value::Null, arguments);
        self.queue(vec![(stream, command.into())], 0)?;
        Ok(())
    }

    fn playing_stream_command(
        &mut self,
        stream: u32,
        name: &str,
        arguments: Vec<Value>,
    ) -> Result<(), ApiError> {
        self.check_connect_sent()?;
        self.check_stream(stream, StreamStatus::is_playing)?;
        self.stream_command(stream, name, arguments)
    }

    /// [`send_batch`](Self::send_batch) for commands whose backpressure the caller ignores:
    /// they are small, and the media sends report it.
    fn queue(&mut self, batch: Vec<Outgoing>, transactions: u64) -> Result<(), ApiError> {
        self.send_batch(batch, transactions).map(drop)
    }

    /// [`queue`](Self::queue) for commands that end a stream: they go after the media queued
    /// before them, which the server would otherwise receive on a stream no longer publishing.
    fn queue_after_media(
        &mut self,
        batch: Vec<Outgoing>,
        transactions: u64,
    ) -> Result<(), ApiError> {
        self.send_batch_ordered(batch, transactions, true).map(drop)
    }

    /// Queues every message of `batch` or none of them (so that a refused call changes
    /// nothing), then counts `transactions` transaction ids as used.
    fn send_batch(
        &mut self,
        batch: Vec<Outgoing>,
        transactions: u64,
    ) -> Result<SendStatus, ApiError> {
        self.send_batch_ordered(batch, transactions, false)
    }

    /// [`send_batch`](Self::send_batch), the messages going after everything queued before
    /// them if `after_earlier`.
    fn send_batch_ordered(
        &mut self,
        batch: Vec<Outgoing>,
        transactions: u64,
        after_earlier: bool,
    ) -> Result<SendStatus, ApiError> {
        self.check_open()?;
        let mut encoded = Vec::with_capacity(batch.len());
        let mut size = 0usize;
        for (stream, message) in &batch {
            let raw = message.to_raw(0, *stream)?;
            size = size.saturating_add(raw.payload.len());
            encoded.push(raw);
        }
        if self.core.pending_bytes().saturating_add(size) > self.core.config.outbound_max {
            return Err(ApiError::QueueFull);
        }
        let mut status = SendStatus::Queued;
        for raw in encoded {
            let queued = if after_earlier {
                self.core.send_raw_after_earlier(raw)?
            } else {
                self.core.send_raw(raw)?
            };
            if queued == SendStatus::AboveHighWater {
                status = SendStatus::AboveHighWater;
            }
        }
        self.next_transaction += transactions;
        Ok(status)
    }

    fn set_status(&mut self, stream: u32, status: StreamStatus) {
        if let Some(state) = self.streams.get_mut(&stream) {
            state.status = status;
        }
    }

    fn set_publishing(&mut self, stream: u32, name: &str) {
        if let Some(state) = self.streams.get_mut(&stream) {
            state.status = StreamStatus::PublishRequested;
            state.publish_name = Some(String::from(name));
        }
    }

    // ---- internals: what the server sends ----

    fn finish_input(&mut self, result: Result<(), SessionError>) -> Result<(), SessionError> {
        self.pump();
        result?;
        match self.core.error() {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Turns what the core reports into client events.
    fn pump(&mut self) {
        while let Some(event) = self.core.poll_event() {
            match event {
                CoreEvent::HandshakeComplete => {
                    self.events.push_back(ClientEvent::HandshakeComplete)
                }
                CoreEvent::Message(inbound) if !self.failed_here => self.handle_message(inbound),
                CoreEvent::Message(_) => {}
                CoreEvent::PingResponse { round_trip } => self
                    .events
                    .push_back(ClientEvent::PingResponse { round_trip }),
                CoreEvent::Writable => self.events.push_back(ClientEvent::Writable),
                CoreEvent::Closed(error) => self.events.push_back(ClientEvent::Closed(error)),
            }
        }
    }

    fn fail(&mut self, error: SessionError) {
        self.failed_here = true;
        self.core.fail(error);
    }

    fn handle_message(&mut self, inbound: Inbound) {
        let Inbound {
            timestamp,
            stream_id: stream,
            message,
        } = inbound;
        let event = match message {
            Message::Command(command) => return self.handle_command(stream, command),
            Message::Data(data) => return self.handle_data(stream, timestamp, data),
            Message::Aggregate(payload) => {
                return self.handle_aggregate(stream, timestamp, payload)
            }
            Message::Audio(payload) => ClientEvent::Audio {
                stream,
                timestamp,
                payload,
            },
            Message::Video(payload) => ClientEvent::Video {
                stream,
                timestamp,
                payload,
            },
            Message::UserControl(event) => match event {
                UserControl::StreamBegin { stream_id } => {
                    ClientEvent::StreamBegin { stream: stream_id }
                }
                UserControl::StreamEof { stream_id } => {
                    ClientEvent::StreamEof { stream: stream_id }
                }
                UserControl::StreamDry { stream_id } => {
                    ClientEvent::StreamDry { stream: stream_id }
                }
                UserControl::StreamIsRecorded { stream_id } => {
                    ClientEvent::StreamIsRecorded { stream: stream_id }
                }
                other => ClientEvent::UserControl(other),
            },
            message => ClientEvent::Other {
                stream,
                timestamp,
                message,
            },
        };
        self.events.push_back(event);
    }

    fn handle_aggregate(&mut self, stream: u32, timestamp: u32, payload: Bytes) {
        let limits = self.core.config.limits.clone();
        for sub in AggregateIter::new(payload, timestamp, stream, &limits) {
            let raw = match sub {
                Ok(raw) => raw,
                Err(error) => return self.fail(error.into()),
            };
            match raw.type_id {
                type_id::AUDIO => self.events.push_back(ClientEvent::Audio {
                    stream,
                    timestamp: raw.timestamp,
                    payload: raw.payload,
                }),
                type_id::VIDEO => self.events.push_back(ClientEvent::Video {
                    stream,
                    timestamp: raw.timestamp,
                    payload: raw.payload,
                }),
                type_id::DATA_AMF0 | type_id::DATA_AMF3 => match Message::decode(&raw, &limits) {
                    Ok(Message::Data(data)) => self.handle_data(stream, raw.timestamp, data),
                    Ok(_) => {}
                    Err(error) => return self.fail(error.into()),
                },
                // FLV files, where aggregates come from, hold nothing else.
                _ => {}
            }
        }
    }

    fn handle_data(&mut self, stream: u32, timestamp: u32, data: Data) {
        if let Some(metadata) = data.metadata() {
            let metadata = metadata.clone();
            self.events
                .push_back(ClientEvent::Metadata { stream, metadata });
            return;
        }
        if data.handler() == Some("onPlayStatus") {
            let info = data.arguments().first().cloned().unwrap_or(Value::Null);
            let status = Status::from_info(info);
            self.events
                .push_back(ClientEvent::Status { stream, status });
            return;
        }
        self.events.push_back(ClientEvent::Data {
            stream,
            timestamp,
            data,
        });
    }

    fn handle_command(&mut self, stream: u32, command: Command) {
        let name = command.name.as_str();
        let is_result = name.eq_ignore_ascii_case(Command::RESULT);
        if is_result || name.eq_ignore_ascii_case(Command::ERROR) {
            let pending = transaction_key(command.transaction_id)
                .and_then(|key| self.pending.remove(&key).map(|pending| (key, pending)));
            if let Some((key, pending)) = pending {
                self.handle_answer(TransactionId(key), pending, is_result, command);
            }
            return;
        }
        if name.eq_ignore_ascii_case(Command::ON_STATUS) {
            let info = status_info(command);
            return self.handle_status(stream, info);
        }
        let wants_answer = command.transaction_id != 0.0;
        if wants_answer
            && (name.eq_ignore_ascii_case("onBWCheck") || name.eq_ignore_ascii_case("_onbwcheck"))
        {
            self.bandwidth_checks = self.bandwidth_checks.wrapping_add(1);
            let answer = Command::result(
                command.transaction_id,
                Value::Null,
                vec![Value::from(self.bandwidth_checks)],
            );
            let _ = self.core.send_message(0, 0, &Message::Command(answer));
        }
        self.events
            .push_back(ClientEvent::Command { stream, command });
    }

    fn handle_answer(
        &mut self,
        transaction: TransactionId,
        pending: Pending,
        is_result: bool,
        command: Command,
    ) {
        match pending {
            Pending::Connect => self.handle_connect_answer(is_result, command),
            Pending::CreateStream(after) => {
                self.handle_create_stream_answer(transaction, after, is_result, command)
            }
            Pending::Call => {
                let Command {
                    command_object,
                    arguments: values,
                    ..
                } = command;
                self.events.push_back(if is_result {
                    ClientEvent::CallResult {
                        transaction,
                        command_object,
                        values,
                    }
                } else {
                    ClientEvent::CallError {
                        transaction,
                        command_object,
                        values,
                    }
                });
            }
        }
    }

    fn handle_connect_answer(&mut self, is_result: bool, command: Command) {
        let Command {
            command_object,
            arguments,
            ..
        } = command;
        let information = arguments.into_iter().next();
        let level_is_error = information
            .as_ref()
            .and_then(|info| info.get("level"))
            .and_then(Value::as_str)
            == Some("error");
        if is_result && !level_is_error {
            self.connect = ConnectState::Connected;
            self.events.push_back(ClientEvent::Connected {
                properties: command_object,
                information: information.unwrap_or(Value::Null),
            });
            return;
        }
        // Some servers put the information object where the command object goes.
        let information = match information {
            Some(info) => info,
            None if command_object.get("code").is_some() => command_object,
            None => Value::Null,
        };
        self.reject(information);
    }

    fn reject(&mut self, information: Value) {
        self.connect = ConnectState::Rejected;
        let status = Status::from_info(information);
        self.events.push_back(ClientEvent::ConnectRejected {
            code: status.code,
            description: status.description,
            information: status.info,
        });
    }

    fn handle_create_stream_answer(
        &mut self,
        request: TransactionId,
        after: AfterCreate,
        is_result: bool,
        command: Command,
    ) {
        // nginx-rtmp and most servers: _result(id, null, stream id); a few leave out the null.
        let stream_id = core::iter::once(&command.command_object)
            .chain(&command.arguments)
            .find_map(Value::as_f64)
            .and_then(stream_id_of);
        let stream_id = match stream_id {
            Some(stream_id) if is_result => stream_id,
            _ => {
                let information = if is_result {
                    let mut values = vec![command.command_object];
                    values.extend(command.arguments);
                    Value::StrictArray(values)
                } else {
                    status_info(command)
                };
                self.events.push_back(ClientEvent::CreateStreamFailed {
                    request,
                    information,
                });
                return;
            }
        };
        self.streams.insert(stream_id, StreamState::new());
        self.events
            .push_back(ClientEvent::StreamCreated { request, stream_id });
        // The follow-up can only fail if the connection has ended, which Closed reports.
        let _ = match after {
            AfterCreate::Nothing => Ok(()),
            AfterCreate::Publish { name, kind } => {
                let command = publish_command(stream_id, self.next_transaction, &name, kind);
                self.send_batch(vec![command], 1)
                    .map(|_| self.set_publishing(stream_id, &name))
            }
            AfterCreate::Play { name, options } => {
                let batch = play_commands(stream_id, self.next_transaction, &name, &options);
                self.send_batch(batch, 1)
                    .map(|_| self.set_status(stream_id, StreamStatus::PlayRequested))
            }
        };
    }

    fn handle_status(&mut self, stream: u32, info: Value) {
        let status = Status::from_info(info);
        let code = status.code.as_str();
        if self.connect == ConnectState::Requested
            && status.is_error()
            && code.starts_with("NetConnection.Connect.")
        {
            // A refusal told by onStatus rather than _error: the _error, if any, finds no
            // pending connect and is ignored.
            self.pending
                .retain(|_, pending| *pending != Pending::Connect);
            return self.reject(status.info);
        }
        let stream = self.status_stream(stream, code);
        let mut started = None;
        if let Some(state) = self.streams.get_mut(&stream) {
            let current = state.status;
            let requested = matches!(
                current,
                StreamStatus::PublishRequested | StreamStatus::PlayRequested
            );
            let next = match code {
                "NetStream.Publish.Start" if current.is_publishing() => {
                    started = Some(ClientEvent::PublishStarted { stream });
                    StreamStatus::Publishing
                }
                "NetStream.Play.Start" if current.is_playing() => {
                    started = Some(ClientEvent::PlayStarted { stream });
                    StreamStatus::Playing
                }
                "NetStream.Unpublish.Success" if current.is_publishing() => StreamStatus::Created,
                "NetStream.Play.Stop"
                | "NetStream.Play.StreamNotFound"
                | "NetStream.Play.Failed"
                    if current.is_playing() =>
                {
                    StreamStatus::Created
                }
                "NetStream.Pause.Notify" if current == StreamStatus::Playing => {
                    StreamStatus::Paused
                }
                "NetStream.Unpause.Notify" if current == StreamStatus::Paused => {
                    StreamStatus::Playing
                }
                _ if status.is_error() && requested => StreamStatus::Created,
                _ => current,
            };
            state.status = next;
            if requested && next == StreamStatus::Created {
                started = Some(ClientEvent::StartRefused {
                    stream,
                    status: status.clone(),
                });
            }
        }
        self.events
            .push_back(ClientEvent::Status { stream, status });
        if let Some(started) = started {
            self.events.push_back(started);
        }
    }

    /// The stream a status is about: its own message stream, except for a `NetStream.*` status
    /// a server sends on stream 0.
    fn status_stream(&self, stream: u32, code: &str) -> u32 {
        if stream != 0 || !code.starts_with("NetStream.") {
            return stream;
        }
        let mut waiting = self.streams.iter().filter(|(_, state)| {
            matches!(
                state.status,
                StreamStatus::PublishRequested | StreamStatus::PlayRequested
            )
        });
        if let (Some((id, _)), None) = (waiting.next(), waiting.next()) {
            return *id;
        }
        let mut all = self.streams.keys();
        match (all.next(), all.next()) {
            (Some(id), None) => *id,
            _ => 0,
        }
    }
}

/// The information object of an `onStatus` or `_error`: its first argument, or its command
/// object when it has no argument (servers that leave out the null).
fn status_info(command: Command) -> Value {
    let Command {
        command_object,
        arguments,
        ..
    } = command;
    arguments.into_iter().next().unwrap_or(command_object)
}

fn publish_command(stream: u32, transaction: u64, name: &str, kind: PublishType) -> Outgoing {
    let command = Command::new(
        "publish",
        transaction as f64,
        Value::Null,
        vec![Value::from(name), Value::from(kind.as_str())],
    );
    (stream, command.into())
}

fn play_commands(
    stream: u32,
    transaction: u64,
    name: &str,
    options: &PlayOptions,
) -> Vec<Outgoing> {
    let mut arguments = vec![Value::from(name), options.start.to_value()];
    if options.duration.is_some() || options.reset.is_some() {
        arguments.push(Value::Number(options.duration.unwrap_or(-1.0)));
    }
    if let Some(reset) = options.reset {
        arguments.push(Value::Boolean(reset));
    }
    let play = Command::new("play", transaction as f64, Value::Null, arguments);
    let mut batch = vec![(stream, play.into())];
    if let Some(buffer_length) = options.buffer_length {
        let event = UserControl::SetBufferLength {
            stream_id: stream,
            buffer_length,
        };
        batch.push((0, Message::UserControl(event)));
    }
    batch
}

/// Our transaction id for a number the server sent back, if it can be one.
fn transaction_key(id: f64) -> Option<u64> {
    let key = id as u64;
    (key as f64 == id && key != 0).then_some(key)
}

/// A message stream id the server allocated: a whole number in 1..=u32::MAX.
fn stream_id_of(number: f64) -> Option<u32> {
    let id = number as u32;
    (id != 0 && f64::from(id) == number).then_some(id)
}
