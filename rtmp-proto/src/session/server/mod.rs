//! The server side of a connection (RTMP 1.0 §7.2): NetConnection and NetStream commands as
//! an ingest server or a relay answers them to OBS, FFmpeg, librtmp and Flash-era clients.
//!
//! [`ServerConnection`] is driven as the [module docs](super) describe. The application sees
//! [`ServerEvent`]s and answers the requests among them (connect, publish, play, calls); the
//! connection answers everything else itself, the way nginx-rtmp and FMS do.
//!
//! # Decisions
//! - **One request at a time.** While a connect, publish or play request waits for the
//!   application's answer, later input is held, in order, and processed once the request is
//!   answered. Real clients wait for these answers anyway, except FFmpeg, which sends its
//!   metadata and media right after `publish`: those are held and delivered as the stream's
//!   media after [`accept_publish`](ServerConnection::accept_publish), and dropped after a
//!   [`reject_publish`](ServerConnection::reject_publish) (media of a refused publish, never
//!   media the application accepted). Held input is bounded by
//!   [`ServerOptions::max_held_bytes`]; protocol control (acknowledgements, pings, window and
//!   chunk sizes) is never held.
//! - **Unknown commands.** A command this module does not know becomes a
//!   [`ServerEvent::Call`]. With a transaction id other than 0 it is answered `_error`
//!   NetConnection.Call.Failed at once (FMS's behaviour; nginx-rtmp's silence leaves clients
//!   waiting), unless [`ServerOptions::call_answer_timeout`] lets the application answer it
//!   with [`respond_call`](ServerConnection::respond_call) or
//!   [`reject_call`](ServerConnection::reject_call); the connection answers `_error` itself
//!   when that time runs out. Command names are compared exactly.
//! - **Media.** Audio, video and aggregate messages are accepted only on a publishing stream;
//!   elsewhere they are a protocol violation, except on a stream whose publish was just
//!   refused, where the media already in flight is dropped. Data messages are accepted on any
//!   existing message stream.
//! - **Encodings.** Answers use the encoding of the command they answer (type 20 or 17);
//!   messages of our own (onStatus after an accept, `onBWDone`, calls) use type 17 when the
//!   client's connect said `objectEncoding` 3, type 20 otherwise. Data messages we send are
//!   AMF0 (type 18), which every player reads.
//! - **Limits.** At most [`SessionConfig::max_message_streams`](crate::session::SessionConfig)
//!   streams (further createStreams are answered `_error`); at most
//!   [`SessionConfig::max_pending_requests`](crate::session::SessionConfig) requests waiting
//!   for the application or held, beyond which the connection ends with
//!   [`SessionError::Protocol`]. Answers the connection sends on its own are refused only when
//!   the outbound queue is at its hard bound, which ends the connection (the peer is not
//!   reading).

mod config;
mod events;

#[cfg(test)]
mod tests;

pub use config::{
    ServerConnectionConfig, ServerOptions, CAPS_EX_MOD_EX, CAPS_EX_MULTITRACK, CAPS_EX_RECONNECT,
    CAPS_EX_TIMESTAMP_NANO_OFFSET, FOURCC_CAN_DECODE, FOURCC_CAN_ENCODE, FOURCC_CAN_FORWARD,
};
pub use events::{
    CallId, CallOutcome, CallRequest, ConnectRequest, PlayRequest, PlayStart, PublishRequest,
    PublishType, RequestId, ServerEvent,
};

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::mem::size_of;
use core::time::Duration;

use bytes::Bytes;
use rand::RngCore;

use crate::amf::{Object, Value};
use crate::chunk::ChunkOutput;
use crate::message::{
    split_aggregate, AmfEncoding, Command, Data, Message, SharedObjectEvent, UserControl,
};
use crate::{type_id, RawMessage};

use super::core::{Core, CoreEvent, Inbound};
use super::{ApiError, Instant, SendStatus, SessionError};

/// The `level` of an onStatus info object (RTMP 1.0 §7.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusLevel {
    /// `status`: something happened as asked.
    Status,
    /// `warning`.
    Warning,
    /// `error`: a request failed.
    Error,
}

impl StatusLevel {
    /// The text sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            StatusLevel::Status => "status",
            StatusLevel::Warning => "warning",
            StatusLevel::Error => "error",
        }
    }
}

/// Whether a stream a player asked for is live or recorded; a recorded one is announced with
/// Stream Is Recorded (RTMP 1.0 §7.1.7, event 4) before Stream Begin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// A live stream.
    Live,
    /// A recording.
    Recorded,
}

/// Where the NetConnection stands (RTMP 1.0 §7.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    AwaitingConnect,
    Connecting,
    Connected,
}

/// What one message stream (from createStream) is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
enum StreamState {
    Idle,
    Publishing {
        name: String,
    },
    /// A publish was refused: the media already in flight is dropped, another publish or a
    /// play may follow.
    PublishRefused,
    Playing {
        name: String,
    },
}

/// A request that waits for the application and holds later input until answered.
#[derive(Debug)]
enum Blocker {
    Connect {
        id: RequestId,
        stream: u32,
        transaction_id: f64,
        encoding: AmfEncoding,
        object_encoding: f64,
        /// The Enhanced RTMP properties of our answer, worked out from the request.
        enhanced: Vec<(String, Value)>,
    },
    Publish {
        id: RequestId,
        stream: u32,
        name: String,
        encoding: AmfEncoding,
    },
    Play {
        id: RequestId,
        stream: u32,
        name: String,
        reset: bool,
        encoding: AmfEncoding,
    },
}

/// Input held while a request waits for the application.
#[derive(Debug)]
struct Held {
    inbound: Inbound,
    size: usize,
    is_request: bool,
}

/// A call of the peer that the application may answer.
#[derive(Debug)]
struct PeerCall {
    stream: u32,
    transaction_id: f64,
    encoding: AmfEncoding,
    deadline: Instant,
}

/// The server side of one RTMP connection, sans-IO (RTMP 1.0 §5.2 to §7.2).
///
/// ```
/// use rand::SeedableRng;
/// use rtmp_proto::session::server::{ServerConnection, ServerConnectionConfig, ServerEvent};
/// use rtmp_proto::session::Instant;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let now = Instant::from_millis(0);
/// let mut conn = ServerConnection::new(ServerConnectionConfig::default(), &mut rng, now);
/// // conn.handle_input(now, &bytes_read)?; then:
/// while let Some(event) = conn.poll_event() {
///     match event {
///         ServerEvent::ConnectRequest(request) => conn.accept_connect(request.id).unwrap(),
///         ServerEvent::PublishRequest(request) => conn.accept_publish(request.id).unwrap(),
///         _ => {}
///     }
/// }
/// assert!(conn.poll_transmit().is_none(), "nothing to send before the client's C0 and C1");
/// assert_eq!(conn.poll_timeout(), Some(Instant::from_millis(10_000)));
/// ```
#[derive(Debug)]
pub struct ServerConnection {
    core: Core,
    options: ServerOptions,
    now: Instant,
    phase: Phase,
    /// The encoding of messages of our own (onStatus, calls).
    encoding: AmfEncoding,
    streams: BTreeMap<u32, StreamState>,
    blocker: Option<Blocker>,
    held: VecDeque<Held>,
    held_bytes: usize,
    held_requests: usize,
    peer_calls: BTreeMap<RequestId, PeerCall>,
    our_calls: BTreeSet<u32>,
    next_request: u64,
    next_transaction: u32,
    events: VecDeque<ServerEvent>,
    round_trip: Option<Duration>,
    /// Set when this layer or the application ended the connection: input already decoded is
    /// no longer looked at. (After a fault of the chunk or message layer, the messages that
    /// preceded the fault are still processed, so that how the input was split does not
    /// change the events.)
    stopped: bool,
}

impl ServerConnection {
    /// A connection that waits for the client's C0 and C1 (RTMP 1.0 §5.2). `rng` fills S1.
    pub fn new<R: RngCore + ?Sized>(
        config: ServerConnectionConfig,
        rng: &mut R,
        now: Instant,
    ) -> Self {
        ServerConnection {
            core: Core::server(config.session, config.handshake, rng, now),
            options: config.options,
            now,
            phase: Phase::AwaitingConnect,
            encoding: AmfEncoding::Amf0,
            streams: BTreeMap::new(),
            blocker: None,
            held: VecDeque::new(),
            held_bytes: 0,
            held_requests: 0,
            peer_calls: BTreeMap::new(),
            our_calls: BTreeSet::new(),
            next_request: 1,
            next_transaction: 1,
            events: VecDeque::new(),
            round_trip: None,
            stopped: false,
        }
    }

    // ---- Inputs ----

    /// Feeds bytes read from the peer. `Err` means the connection has ended (sticky: every
    /// later call returns it); the events up to its end, `Closed` last, are still to be polled.
    pub fn handle_input(&mut self, now: Instant, input: &[u8]) -> Result<(), SessionError> {
        self.now = now;
        let result = self.core.handle_input(now, input);
        self.after_input(result)
    }

    /// Feeds bytes read from the peer as `Bytes`: media that arrives in one chunk is handed
    /// on as a slice of it, not copied.
    pub fn handle_input_bytes(&mut self, now: Instant, input: Bytes) -> Result<(), SessionError> {
        self.now = now;
        let result = self.core.handle_input_bytes(now, input);
        self.after_input(result)
    }

    fn after_input(&mut self, result: Result<(), SessionError>) -> Result<(), SessionError> {
        self.pump();
        result?;
        match self.core.error() {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Checks the deadlines (handshake, idle, ping, unanswered calls); call it when
    /// [`poll_timeout`](Self::poll_timeout) is reached.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.core.handle_timeout(now);
        if !self.core.is_closed() {
            let expired: Vec<RequestId> = self
                .peer_calls
                .iter()
                .filter(|(_, call)| call.deadline <= now)
                .map(|(id, _)| *id)
                .collect();
            for id in expired {
                if let Some(call) = self.peer_calls.remove(&id) {
                    self.answer_call_failed(&call, "The call was not answered in time.");
                }
            }
        }
        self.pump();
    }

    // ---- Outputs ----

    /// The next event; `None` when there is none for now. After the connection ends, the
    /// last event is [`ServerEvent::Closed`].
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.pump();
        self.events.pop_front()
    }

    /// The bytes to write to the peer, if any: write [`ChunkOutput::segments`] (vectored),
    /// then [`ChunkOutput::advance`] by what was written. Keep calling it after the connection
    /// ended until it returns `None`, so that a last answer (e.g. a refused connect) is sent.
    pub fn poll_transmit(&mut self) -> Option<&mut ChunkOutput> {
        self.pump();
        self.core.poll_transmit()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called; `None` once the
    /// connection has ended.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.core.is_closed() {
            return None;
        }
        let calls = self.peer_calls.values().map(|call| call.deadline).min();
        [self.core.poll_timeout(), calls]
            .into_iter()
            .flatten()
            .min()
    }

    // ---- Getters ----

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// Why the connection ended, once it has.
    pub fn error(&self) -> Option<&SessionError> {
        self.core.error()
    }

    /// Whether the client's connect was accepted.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected && !self.core.is_closed()
    }

    /// The last round trip measured by [`ping`](Self::ping).
    pub fn round_trip(&self) -> Option<Duration> {
        self.round_trip
    }

    /// Bytes queued or chunked but not yet written.
    pub fn pending_bytes(&self) -> usize {
        self.core.pending_bytes()
    }

    /// The bandwidth the client asked us to keep to (Set Peer Bandwidth, RTMP 1.0 §5.4.5).
    pub fn peer_bandwidth(&self) -> Option<u32> {
        self.core.peer_bandwidth()
    }

    /// The name a message stream publishes, if it publishes.
    pub fn publishing_name(&self, stream: u32) -> Option<&str> {
        match self.streams.get(&stream) {
            Some(StreamState::Publishing { name }) => Some(name),
            _ => None,
        }
    }

    /// The name a message stream plays, if it plays.
    pub fn playing_name(&self, stream: u32) -> Option<&str> {
        match self.streams.get(&stream) {
            Some(StreamState::Playing { name }) => Some(name),
            _ => None,
        }
    }

    // ---- Commands: answering requests ----

    /// Accepts a connect (RTMP 1.0 §7.2.1.1): sends Window Acknowledgement Size, Set Peer
    /// Bandwidth (dynamic), Set Chunk Size, Stream Begin 0, then `_result` with `fmsVer`,
    /// `capabilities`, `mode` (and the Enhanced RTMP properties both sides support) and
    /// NetConnection.Connect.Success echoing the client's `objectEncoding`.
    pub fn accept_connect(&mut self, request: RequestId) -> Result<(), ApiError> {
        self.check_open()?;
        let Some(Blocker::Connect {
            id,
            stream,
            transaction_id,
            encoding,
            object_encoding,
            enhanced,
        }) = self.take_blocker(request)
        else {
            return Err(ApiError::UnknownRequest(request.get()));
        };
        debug_assert_eq!(id, request);
        self.core.announce_window();
        self.core.announce_peer_bandwidth();
        self.core.announce_chunk_size();
        self.core
            .queue_control(&Message::UserControl(UserControl::StreamBegin {
                stream_id: 0,
            }));
        let mut properties = Object::new()
            .with("fmsVer", self.options.fms_version.as_str())
            .with("capabilities", self.options.capabilities)
            .with("mode", self.options.mode);
        properties.properties.extend(enhanced);
        let information = status_object(
            StatusLevel::Status,
            "NetConnection.Connect.Success",
            "Connection succeeded.",
        )
        .with("objectEncoding", object_encoding);
        let answer = Command::result(
            transaction_id,
            Value::Object(properties),
            vec![Value::Object(information)],
        )
        .with_encoding(encoding);
        self.phase = Phase::Connected;
        if object_encoding == 3.0 {
            self.encoding = AmfEncoding::Amf3;
        }
        self.send_command(stream, answer);
        if self.options.send_bw_done {
            let done = Command::new("onBWDone", 0.0, Value::Null, Vec::new());
            self.send_own_command(0, done);
        }
        self.resume();
        Ok(())
    }

    /// Refuses a connect: `_error` with NetConnection.Connect.Rejected and `description`, then
    /// the connection closes; [`poll_transmit`](Self::poll_transmit) still returns the answer.
    pub fn reject_connect(
        &mut self,
        request: RequestId,
        description: &str,
    ) -> Result<(), ApiError> {
        self.check_open()?;
        let Some(Blocker::Connect {
            stream,
            transaction_id,
            encoding,
            ..
        }) = self.take_blocker(request)
        else {
            return Err(ApiError::UnknownRequest(request.get()));
        };
        let information = status_object(
            StatusLevel::Error,
            "NetConnection.Connect.Rejected",
            description,
        );
        let answer = Command::error(
            transaction_id,
            Value::Null,
            vec![Value::Object(information)],
        )
        .with_encoding(encoding);
        self.send_command(stream, answer);
        self.close();
        Ok(())
    }

    /// Accepts a publish (RTMP 1.0 §7.2.2.6): Stream Begin, then onStatus
    /// NetStream.Publish.Start on the stream; the media held since the request follows as
    /// events.
    pub fn accept_publish(&mut self, request: RequestId) -> Result<(), ApiError> {
        self.check_open()?;
        let Some(Blocker::Publish {
            stream,
            name,
            encoding,
            ..
        }) = self.take_blocker(request)
        else {
            return Err(ApiError::UnknownRequest(request.get()));
        };
        self.core
            .queue_control(&Message::UserControl(UserControl::StreamBegin {
                stream_id: stream,
            }));
        let information = status_object(
            StatusLevel::Status,
            "NetStream.Publish.Start",
            &format!("{name} is now published."),
        )
        .with("details", name.as_str());
        self.send_command(stream, on_status(information, encoding));
        self.streams
            .insert(stream, StreamState::Publishing { name });
        self.resume();
        Ok(())
    }

    /// Refuses a publish with an onStatus error, `code` being e.g. NetStream.Publish.BadName
    /// or NetStream.Publish.Denied. Media the client sent meanwhile is dropped.
    pub fn reject_publish(
        &mut self,
        request: RequestId,
        code: &str,
        description: &str,
    ) -> Result<(), ApiError> {
        self.check_open()?;
        let Some(Blocker::Publish {
            stream, encoding, ..
        }) = self.take_blocker(request)
        else {
            return Err(ApiError::UnknownRequest(request.get()));
        };
        let information = status_object(StatusLevel::Error, code, description);
        self.send_command(stream, on_status(information, encoding));
        self.streams.insert(stream, StreamState::PublishRefused);
        self.resume();
        Ok(())
    }

    /// Accepts a play (RTMP 1.0 §7.2.2.1): Stream Is Recorded (recorded streams only), Stream
    /// Begin, onStatus NetStream.Play.Reset (if the request resets), NetStream.Play.Start, then
    /// the data message `|RtmpSampleAccess(true, true)` as FMS and nginx-rtmp send. Media is
    /// then sent with [`send_audio`](Self::send_audio) and the like.
    pub fn accept_play(&mut self, request: RequestId, kind: StreamKind) -> Result<(), ApiError> {
        self.check_open()?;
        let Some(Blocker::Play {
            stream,
            name,
            reset,
            encoding,
            ..
        }) = self.take_blocker(request)
        else {
            return Err(ApiError::UnknownRequest(request.get()));
        };
        if kind == StreamKind::Recorded {
            self.core
                .queue_control(&Message::UserControl(UserControl::StreamIsRecorded {
                    stream_id: stream,
                }));
        }
        self.core
            .queue_control(&Message::UserControl(UserControl::StreamBegin {
                stream_id: stream,
            }));
        if reset {
            let information = status_object(
                StatusLevel::Status,
                "NetStream.Play.Reset",
                &format!("Playing and resetting {name}."),
            )
            .with("details", name.as_str());
            self.send_command(stream, on_status(information, encoding));
        }
        let information = status_object(
            StatusLevel::Status,
            "NetStream.Play.Start",
            &format!("Started playing {name}."),
        )
        .with("details", name.as_str());
        self.send_command(stream, on_status(information, encoding));
        let sample_access = Data::new(vec![
            Value::from("|RtmpSampleAccess"),
            Value::Boolean(true),
            Value::Boolean(true),
        ]);
        self.send_reply(stream, &Message::Data(sample_access));
        self.streams.insert(stream, StreamState::Playing { name });
        self.resume();
        Ok(())
    }

    /// Refuses a play with an onStatus error, `code` being e.g. NetStream.Play.StreamNotFound
    /// or NetStream.Play.Failed.
    pub fn reject_play(
        &mut self,
        request: RequestId,
        code: &str,
        description: &str,
    ) -> Result<(), ApiError> {
        self.check_open()?;
        let Some(Blocker::Play {
            stream, encoding, ..
        }) = self.take_blocker(request)
        else {
            return Err(ApiError::UnknownRequest(request.get()));
        };
        let information = status_object(StatusLevel::Error, code, description);
        self.send_command(stream, on_status(information, encoding));
        self.resume();
        Ok(())
    }

    /// Answers a [`ServerEvent::Call`] with `_result` (RTMP 1.0 §7.2.1.1).
    pub fn respond_call(
        &mut self,
        request: RequestId,
        command_object: Value,
        arguments: Vec<Value>,
    ) -> Result<(), ApiError> {
        self.check_open()?;
        let call = self
            .peer_calls
            .remove(&request)
            .ok_or(ApiError::UnknownRequest(request.get()))?;
        let answer = Command::result(call.transaction_id, command_object, arguments)
            .with_encoding(call.encoding);
        self.send_command(call.stream, answer);
        Ok(())
    }

    /// Answers a [`ServerEvent::Call`] with `_error` NetConnection.Call.Failed and
    /// `description`: what to do with a call the application does not know.
    pub fn reject_call(&mut self, request: RequestId, description: &str) -> Result<(), ApiError> {
        self.check_open()?;
        let call = self
            .peer_calls
            .remove(&request)
            .ok_or(ApiError::UnknownRequest(request.get()))?;
        self.answer_call_failed(&call, description);
        Ok(())
    }

    // ---- Commands: sending to the client ----

    /// Sends `onMetaData(metadata)` to a playing stream (RTMP 1.0 §7.1.2), with timestamp 0.
    pub fn send_metadata(&mut self, stream: u32, metadata: Value) -> Result<SendStatus, ApiError> {
        self.check_playing(stream)?;
        self.core
            .send_message(stream, 0, &Message::Data(Data::on_metadata(metadata)))
    }

    /// Sends audio (an FLV audio tag body) to a playing stream (RTMP 1.0 §7.1.4). The payload
    /// is shared, not copied.
    pub fn send_audio(
        &mut self,
        stream: u32,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, ApiError> {
        self.check_playing(stream)?;
        self.core
            .send_message(stream, timestamp, &Message::Audio(payload))
    }

    /// Sends video (an FLV video tag body) to a playing stream (RTMP 1.0 §7.1.5). Above the
    /// high-water mark, frames that are not keyframes may be dropped
    /// ([`SendStatus::DroppedVideo`]).
    pub fn send_video(
        &mut self,
        stream: u32,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, ApiError> {
        self.check_playing(stream)?;
        self.core
            .send_message(stream, timestamp, &Message::Video(payload))
    }

    /// Sends a data message (RTMP 1.0 §7.1.2) on message stream 0 or an existing stream.
    pub fn send_data(
        &mut self,
        stream: u32,
        timestamp: u32,
        data: Data,
    ) -> Result<SendStatus, ApiError> {
        self.check_stream(stream)?;
        self.core
            .send_message(stream, timestamp, &Message::Data(data))
    }

    /// Sends onStatus (RTMP 1.0 §7.2.2) with `level`, `code` and `description` on message
    /// stream 0 (NetConnection codes) or an existing stream (NetStream codes, e.g.
    /// NetStream.Play.UnpublishNotify, Play.PublishNotify, Play.Stop, Play.Complete,
    /// Unpublish.Success).
    pub fn send_status(
        &mut self,
        stream: u32,
        level: StatusLevel,
        code: &str,
        description: &str,
    ) -> Result<SendStatus, ApiError> {
        self.send_status_object(stream, status_object(level, code, description))
    }

    /// Sends onStatus with an info object of the application's making (e.g. with `details`,
    /// or a `tcUrl` for NetConnection.Connect.ReconnectRequest).
    pub fn send_status_object(
        &mut self,
        stream: u32,
        information: Object,
    ) -> Result<SendStatus, ApiError> {
        self.check_stream(stream)?;
        let message = Message::Command(on_status(information, self.encoding));
        self.core.send_message(stream, 0, &message)
    }

    /// Sends Stream EOF (RTMP 1.0 §7.1.7, event 1): playback of the stream is over.
    pub fn send_stream_eof(&mut self, stream: u32) -> Result<SendStatus, ApiError> {
        self.check_stream(stream)?;
        let event = UserControl::StreamEof { stream_id: stream };
        self.core.send_message(0, 0, &Message::UserControl(event))
    }

    /// Sends Stream Dry (RTMP 1.0 §7.1.7, event 2): no data on the stream for now.
    pub fn send_stream_dry(&mut self, stream: u32) -> Result<SendStatus, ApiError> {
        self.check_stream(stream)?;
        let event = UserControl::StreamDry { stream_id: stream };
        self.core.send_message(0, 0, &Message::UserControl(event))
    }

    /// Calls `name` on the client (RTMP 1.0 §7.2.1.1) on message stream 0; its `_result` or
    /// `_error` arrives as [`ServerEvent::CallResult`] with the returned id. At most
    /// [`SessionConfig::max_pending_requests`](crate::session::SessionConfig) calls may await
    /// their answers.
    pub fn call(&mut self, name: &str, arguments: Vec<Value>) -> Result<CallId, ApiError> {
        self.check_open()?;
        if self.phase != Phase::Connected {
            return Err(ApiError::InvalidState("calls need an accepted connect"));
        }
        if self.our_calls.len() >= self.core.config.max_pending_requests {
            return Err(ApiError::InvalidState("too many calls await their answers"));
        }
        let transaction = self.next_transaction;
        let command = Command::new(name, f64::from(transaction), Value::Null, arguments)
            .with_encoding(self.encoding);
        let _ = self.core.send_message(0, 0, &Message::Command(command))?;
        self.next_transaction = transaction.checked_add(1).unwrap_or(1);
        self.our_calls.insert(transaction);
        Ok(CallId(transaction))
    }

    /// Sends a Ping Request (RTMP 1.0 §6.2, event 6), timed from the `now` of the last input or
    /// timeout; the answer arrives as [`ServerEvent::PingResponse`]. Does nothing while a ping
    /// is unanswered.
    pub fn ping(&mut self) -> Result<(), ApiError> {
        self.check_open()?;
        self.core.send_ping(self.now);
        Ok(())
    }

    /// Closes the connection from our side. What is queued is still returned by
    /// [`poll_transmit`](Self::poll_transmit); the last event is `Closed(SessionError::Closed)`.
    pub fn close(&mut self) {
        self.fail(SessionError::Closed);
    }

    // ---- Internals ----

    /// Ends the connection from this layer (a violation by the peer, or our own close).
    fn fail(&mut self, error: SessionError) {
        self.stopped = true;
        self.core.fail(error);
    }

    fn violation(&mut self, what: &str) {
        self.fail(SessionError::Protocol(String::from(what)));
    }

    fn check_open(&self) -> Result<(), ApiError> {
        if self.core.is_closed() {
            Err(ApiError::Closed)
        } else {
            Ok(())
        }
    }

    fn check_stream(&self, stream: u32) -> Result<(), ApiError> {
        self.check_open()?;
        if self.phase != Phase::Connected {
            return Err(ApiError::InvalidState("sending needs an accepted connect"));
        }
        if stream == 0 || self.streams.contains_key(&stream) {
            Ok(())
        } else {
            Err(ApiError::UnknownStream(stream))
        }
    }

    fn check_playing(&self, stream: u32) -> Result<(), ApiError> {
        self.check_open()?;
        match self.streams.get(&stream) {
            Some(StreamState::Playing { .. }) => Ok(()),
            _ => Err(ApiError::UnknownStream(stream)),
        }
    }

    /// Takes the blocking request if it is `request`.
    fn take_blocker(&mut self, request: RequestId) -> Option<Blocker> {
        let id = match self.blocker.as_ref()? {
            Blocker::Connect { id, .. }
            | Blocker::Publish { id, .. }
            | Blocker::Play { id, .. } => *id,
        };
        if id == request {
            self.blocker.take()
        } else {
            None
        }
    }

    fn new_request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request = self.next_request.wrapping_add(1);
        id
    }

    /// Requests waiting for the application, or held before being looked at.
    fn requests_in_flight(&self) -> usize {
        usize::from(self.blocker.is_some()) + self.peer_calls.len() + self.held_requests
    }

    /// Whether one more request fits; ends the connection if not.
    fn admit_request(&mut self) -> bool {
        if self.requests_in_flight() >= self.core.config.max_pending_requests {
            self.violation(&format!(
                "more than {} requests await an answer",
                self.core.config.max_pending_requests
            ));
            return false;
        }
        true
    }

    /// Moves the core's events through the conversation, in order.
    fn pump(&mut self) {
        while let Some(event) = self.core.poll_event() {
            match event {
                CoreEvent::Closed(error) => {
                    self.blocker = None;
                    self.held.clear();
                    self.held_bytes = 0;
                    self.held_requests = 0;
                    self.peer_calls.clear();
                    self.our_calls.clear();
                    self.events.push_back(ServerEvent::Closed(error));
                }
                // Nothing follows Closed: the queue may still drain (a Writable) after it.
                CoreEvent::PingResponse { .. } | CoreEvent::Writable if self.core.is_closed() => {}
                _ if self.stopped => {}
                CoreEvent::HandshakeComplete => {}
                CoreEvent::Message(inbound) => {
                    if self.blocker.is_some() {
                        self.hold(inbound);
                    } else {
                        self.dispatch(inbound);
                    }
                }
                CoreEvent::PingResponse { round_trip } => {
                    self.round_trip = Some(round_trip);
                    self.events
                        .push_back(ServerEvent::PingResponse { round_trip });
                }
                CoreEvent::Writable => self.events.push_back(ServerEvent::Writable),
            }
        }
    }

    fn hold(&mut self, inbound: Inbound) {
        let is_request = matches!(
            &inbound.message,
            Message::Command(command) if command.transaction_id != 0.0
        );
        if is_request && !self.admit_request() {
            return;
        }
        let size = held_size(&inbound.message);
        let total = self.held_bytes.saturating_add(size);
        if total > self.options.max_held_bytes {
            self.violation(&format!(
                "more than {} bytes sent before the application answered a request",
                self.options.max_held_bytes
            ));
            return;
        }
        self.held_bytes = total;
        self.held_requests += usize::from(is_request);
        self.held.push_back(Held {
            inbound,
            size,
            is_request,
        });
    }

    /// Processes held input until it runs out or a request blocks again.
    fn resume(&mut self) {
        while self.blocker.is_none() && !self.core.is_closed() {
            let Some(held) = self.held.pop_front() else {
                break;
            };
            self.held_bytes = self.held_bytes.saturating_sub(held.size);
            self.held_requests = self
                .held_requests
                .saturating_sub(usize::from(held.is_request));
            self.dispatch(held.inbound);
        }
        self.pump();
    }

    fn dispatch(&mut self, inbound: Inbound) {
        let Inbound {
            timestamp,
            stream_id: stream,
            message,
        } = inbound;
        match message {
            Message::Command(command) => self.on_command(stream, command),
            Message::Data(data) => self.on_data(stream, timestamp, data),
            Message::Audio(payload) => self.on_media(stream, timestamp, type_id::AUDIO, payload),
            Message::Video(payload) => self.on_media(stream, timestamp, type_id::VIDEO, payload),
            Message::Aggregate(payload) => self.on_aggregate(stream, timestamp, payload),
            Message::UserControl(UserControl::SetBufferLength {
                stream_id,
                buffer_length,
            }) if self.phase == Phase::Connected => {
                self.events.push_back(ServerEvent::BufferLength {
                    stream: stream_id,
                    millis: buffer_length,
                });
            }
            Message::SharedObject(message) => {
                if self.phase == Phase::Connected {
                    self.events
                        .push_back(ServerEvent::SharedObject { stream, message });
                } else {
                    self.violation("shared object message before connect");
                }
            }
            // Other user control events (Stream Begin from a client, buffer notices, SWF
            // verification) and unknown message types carry nothing a server acts on.
            _ => {}
        }
    }

    fn on_command(&mut self, stream: u32, command: Command) {
        if command.name == "connect" {
            return self.on_connect(stream, command);
        }
        if self.phase != Phase::Connected {
            self.violation(&format!("command {:?} before connect", command.name));
            return;
        }
        match command.name.as_str() {
            "createStream" => self.on_create_stream(stream, &command),
            "releaseStream" | "_checkbw" => self.answer_result(stream, &command, Vec::new()),
            "getStreamLength" => self.answer_result(stream, &command, vec![Value::Number(0.0)]),
            "FCPublish" => {
                self.answer_result(stream, &command, Vec::new());
                self.notify_fc(stream, &command, "onFCPublish", "NetStream.Publish.Start");
            }
            "FCUnpublish" => self.on_fc_unpublish(stream, &command),
            "FCSubscribe" => {
                self.answer_result(stream, &command, Vec::new());
                self.notify_fc(stream, &command, "onFCSubscribe", "NetStream.Play.Start");
            }
            "FCUnsubscribe" => self.answer_result(stream, &command, Vec::new()),
            "deleteStream" => {
                if let Some(id) = command.argument(0).and_then(stream_id) {
                    self.delete_stream(id);
                }
            }
            "closeStream" => self.close_stream(stream),
            "publish" => self.on_publish(stream, command),
            "play" => self.on_play(stream, command),
            "play2" | "pause" | "seek" | "receiveAudio" | "receiveVideo" => {
                self.on_stream_control(stream, command)
            }
            Command::RESULT | Command::ERROR => self.on_call_result(command),
            _ => self.on_unknown_command(stream, command),
        }
    }

    fn on_connect(&mut self, stream: u32, command: Command) {
        if self.phase != Phase::AwaitingConnect {
            self.violation("a second connect");
            return;
        }
        if !self.admit_request() {
            return;
        }
        let text = |key: &str| {
            command
                .command_object_property(key)
                .and_then(Value::as_str)
                .map(String::from)
        };
        let (app, tc_url, flash_ver) = (text("app"), text("tcUrl"), text("flashVer"));
        let (swf_url, page_url) = (text("swfUrl"), text("pageUrl"));
        let fourcc_list = command
            .command_object_property("fourCcList")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect::<Vec<_>>()
            });
        // `as` saturates: a capsEx that is negative, huge or NaN offers nothing usable anyway.
        let caps_ex = command
            .command_object_property("capsEx")
            .and_then(Value::as_f64)
            .map(|bits| bits as u32);
        let object_encoding = command
            .command_object_property("objectEncoding")
            .and_then(Value::as_f64);
        let enhanced = self.enhanced_answer(&command, fourcc_list.as_deref(), caps_ex);
        let id = self.new_request_id();
        self.blocker = Some(Blocker::Connect {
            id,
            stream,
            transaction_id: command.transaction_id,
            encoding: command.encoding,
            object_encoding: object_encoding.unwrap_or(0.0),
            enhanced,
        });
        self.phase = Phase::Connecting;
        self.events
            .push_back(ServerEvent::ConnectRequest(ConnectRequest {
                id,
                app: app.unwrap_or_default(),
                tc_url,
                flash_ver,
                swf_url,
                page_url,
                object_encoding,
                fourcc_list,
                caps_ex,
                command_object: command.command_object,
                arguments: command.arguments,
            }));
    }

    /// The Enhanced RTMP properties of the connect answer: what the client offered that this
    /// server supports.
    fn enhanced_answer(
        &self,
        command: &Command,
        fourcc_list: Option<&[String]>,
        caps_ex: Option<u32>,
    ) -> Vec<(String, Value)> {
        let supported = self.options.supported_fourccs.as_deref();
        let keep = |fourcc: &str| supported.is_none_or(|list| list.iter().any(|s| s == fourcc));
        let mut answer = Vec::new();
        if let Some(list) = fourcc_list {
            let wildcard = list.iter().any(|fourcc| fourcc == "*");
            let items: Vec<Value> = match supported {
                Some(ours) if wildcard => ours.iter().map(|s| Value::from(s.as_str())).collect(),
                _ => list
                    .iter()
                    .filter(|fourcc| keep(fourcc))
                    .map(|s| Value::from(s.as_str()))
                    .collect(),
            };
            answer.push((String::from("fourCcList"), Value::StrictArray(items)));
        }
        for key in ["videoFourCcInfoMap", "audioFourCcInfoMap"] {
            let Some(map) = command.command_object_property(key) else {
                continue;
            };
            let entries: &[(String, Value)] = match map {
                Value::Object(object) => &object.properties,
                Value::EcmaArray(entries) => entries,
                _ => continue,
            };
            let mut ours = Object::new();
            for (fourcc, _) in entries {
                match supported {
                    Some(list) if fourcc == "*" => {
                        for supported in list {
                            ours.insert(supported.as_str(), self.options.fourcc_capabilities);
                        }
                    }
                    _ if keep(fourcc) => {
                        ours.insert(fourcc.as_str(), self.options.fourcc_capabilities);
                    }
                    _ => {}
                }
            }
            answer.push((String::from(key), Value::Object(ours)));
        }
        if let Some(caps_ex) = caps_ex {
            answer.push((
                String::from("capsEx"),
                Value::from(caps_ex & self.options.caps_ex),
            ));
        }
        answer
    }

    fn on_create_stream(&mut self, stream: u32, command: &Command) {
        let free = (1..=u32::MAX)
            .take(self.core.config.max_message_streams)
            .find(|id| !self.streams.contains_key(id));
        match free {
            Some(id) => {
                self.streams.insert(id, StreamState::Idle);
                self.send_command(
                    stream,
                    Command::result(command.transaction_id, Value::Null, vec![Value::from(id)])
                        .with_encoding(command.encoding),
                );
            }
            None => {
                let information = status_object(
                    StatusLevel::Error,
                    "NetConnection.Call.Failed",
                    "Too many streams on this connection.",
                );
                self.send_command(
                    stream,
                    Command::error(
                        command.transaction_id,
                        Value::Null,
                        vec![Value::Object(information)],
                    )
                    .with_encoding(command.encoding),
                );
            }
        }
    }

    /// `_result(tid, null, ...)`, unless the command expects no answer (transaction id 0).
    fn answer_result(&mut self, stream: u32, command: &Command, arguments: Vec<Value>) {
        if command.transaction_id != 0.0 {
            let answer = Command::result(command.transaction_id, Value::Null, arguments)
                .with_encoding(command.encoding);
            self.send_command(stream, answer);
        }
    }

    /// onFCPublish, onFCUnpublish, onFCSubscribe: FMS's notifications naming the stream.
    fn notify_fc(&mut self, stream: u32, command: &Command, name: &str, code: &str) {
        let stream_name = command
            .argument(0)
            .and_then(Value::as_str)
            .unwrap_or_default();
        let information = status_object(StatusLevel::Status, code, stream_name);
        let notification = Command::new(name, 0.0, Value::Null, vec![Value::Object(information)])
            .with_encoding(command.encoding);
        self.send_command(stream, notification);
    }

    fn on_fc_unpublish(&mut self, stream: u32, command: &Command) {
        self.answer_result(stream, command, Vec::new());
        self.notify_fc(
            stream,
            command,
            "onFCUnpublish",
            "NetStream.Unpublish.Success",
        );
        let Some(name) = command.argument(0).and_then(Value::as_str) else {
            return;
        };
        let publishing = self.streams.iter().find_map(|(id, state)| match state {
            StreamState::Publishing { name: published }
                if published == name || base_name(published) == base_name(name) =>
            {
                Some(*id)
            }
            _ => None,
        });
        if let Some(publishing) = publishing {
            self.events.push_back(ServerEvent::UnpublishRequest {
                stream: publishing,
                name: String::from(name),
            });
        }
    }

    /// closeStream (RTMP 1.0 §7.2.2.3 of the errata): the stream stops what it did and stays.
    fn close_stream(&mut self, stream: u32) {
        let Some(state) = self.streams.get_mut(&stream) else {
            return;
        };
        match core::mem::replace(state, StreamState::Idle) {
            StreamState::Publishing { name } => {
                let information = status_object(
                    StatusLevel::Status,
                    "NetStream.Unpublish.Success",
                    &format!("{name} is now unpublished."),
                )
                .with("details", name.as_str());
                self.send_command(stream, on_status(information, self.encoding));
                self.events.push_back(ServerEvent::Unpublished { stream });
            }
            StreamState::Playing { .. } => {
                self.events.push_back(ServerEvent::PlayStopped { stream });
            }
            StreamState::Idle | StreamState::PublishRefused => {}
        }
    }

    /// deleteStream (RTMP 1.0 §7.2.2.3): a stream that does not exist is ignored, as the
    /// client cannot expect an answer.
    fn delete_stream(&mut self, stream: u32) {
        if !self.streams.contains_key(&stream) {
            return;
        }
        self.close_stream(stream);
        self.streams.remove(&stream);
        self.events.push_back(ServerEvent::StreamDeleted { stream });
    }

    /// The state of a message stream a stream command arrived on; a stream that was never
    /// created is a protocol violation.
    fn command_stream(&mut self, stream: u32, command: &str) -> Option<StreamState> {
        match self.streams.get(&stream) {
            Some(state) => Some(state.clone()),
            None => {
                self.violation(&format!(
                    "{command} on message stream {stream}, which does not exist"
                ));
                None
            }
        }
    }

    fn on_publish(&mut self, stream: u32, command: Command) {
        let Some(state) = self.command_stream(stream, "publish") else {
            return;
        };
        let encoding = command.encoding;
        let refuse =
            |reason: &str| status_object(StatusLevel::Error, "NetStream.Publish.BadName", reason);
        if !matches!(state, StreamState::Idle | StreamState::PublishRefused) {
            let information = refuse("The stream is already publishing or playing.");
            return self.send_command(stream, on_status(information, encoding));
        }
        let Some(name) = command.argument(0).and_then(Value::as_str) else {
            let information = refuse("No stream name.");
            return self.send_command(stream, on_status(information, encoding));
        };
        if !self.admit_request() {
            return;
        }
        let publish_type = match command.argument(1).and_then(Value::as_str) {
            Some("record") => PublishType::Record,
            Some("append") => PublishType::Append,
            Some("appendWithGap") => PublishType::AppendWithGap,
            _ => PublishType::Live,
        };
        let id = self.new_request_id();
        let name = String::from(name);
        self.blocker = Some(Blocker::Publish {
            id,
            stream,
            name: name.clone(),
            encoding,
        });
        self.events
            .push_back(ServerEvent::PublishRequest(PublishRequest {
                id,
                stream,
                name,
                publish_type,
            }));
    }

    fn on_play(&mut self, stream: u32, command: Command) {
        let Some(state) = self.command_stream(stream, "play") else {
            return;
        };
        let encoding = command.encoding;
        let failed =
            |reason: &str| status_object(StatusLevel::Error, "NetStream.Play.Failed", reason);
        if matches!(state, StreamState::Publishing { .. }) {
            let information = failed("The stream is publishing.");
            return self.send_command(stream, on_status(information, encoding));
        }
        let Some(name) = command.argument(0).and_then(Value::as_str) else {
            let information = failed("No stream name.");
            return self.send_command(stream, on_status(information, encoding));
        };
        if !self.admit_request() {
            return;
        }
        let start = match command.argument(1).and_then(Value::as_f64) {
            Some(start) if start >= 0.0 => PlayStart::At(start),
            Some(start) if start == -1.0 || start == -1000.0 => PlayStart::LiveOnly,
            _ => PlayStart::LiveOrRecorded,
        };
        let duration = command
            .argument(2)
            .and_then(Value::as_f64)
            .filter(|duration| *duration >= 0.0);
        let reset = match command.argument(3) {
            Some(Value::Boolean(reset)) => *reset,
            Some(value) => value.as_f64().is_none_or(|flags| flags != 0.0),
            None => true,
        };
        let id = self.new_request_id();
        let name = String::from(name);
        self.blocker = Some(Blocker::Play {
            id,
            stream,
            name: name.clone(),
            reset,
            encoding,
        });
        self.events.push_back(ServerEvent::PlayRequest(PlayRequest {
            id,
            stream,
            name,
            start,
            duration,
            reset,
        }));
    }

    /// play2, pause, seek, receiveAudio, receiveVideo.
    fn on_stream_control(&mut self, stream: u32, command: Command) {
        let Some(state) = self.command_stream(stream, &command.name) else {
            return;
        };
        let name = match &state {
            StreamState::Playing { name } | StreamState::Publishing { name } => name.as_str(),
            StreamState::Idle | StreamState::PublishRefused => "",
        };
        let flag = |value: Option<&Value>| match value {
            Some(Value::Boolean(flag)) => *flag,
            Some(value) => value.as_f64().is_none_or(|number| number != 0.0),
            None => true,
        };
        let number = |value: Option<&Value>| value.and_then(Value::as_f64).unwrap_or(0.0);
        let event = match command.name.as_str() {
            "play2" => ServerEvent::Play2 {
                stream,
                parameters: command.arguments.into_iter().next().unwrap_or(Value::Null),
            },
            "pause" => {
                let pause = flag(command.argument(0));
                let position = number(command.argument(1));
                let (code, verb) = if pause {
                    ("NetStream.Pause.Notify", "Pausing")
                } else {
                    ("NetStream.Unpause.Notify", "Unpausing")
                };
                let information =
                    status_object(StatusLevel::Status, code, &format!("{verb} {name}."))
                        .with("details", name);
                self.send_command(stream, on_status(information, command.encoding));
                ServerEvent::Pause {
                    stream,
                    pause,
                    position,
                }
            }
            "seek" => {
                let position = number(command.argument(0));
                let information = status_object(
                    StatusLevel::Status,
                    "NetStream.Seek.Notify",
                    &format!("Seeking {position} (stream ID: {stream})."),
                )
                .with("details", name);
                self.send_command(stream, on_status(information, command.encoding));
                ServerEvent::Seek { stream, position }
            }
            "receiveAudio" => ServerEvent::ReceiveAudio {
                stream,
                enabled: flag(command.argument(0)),
            },
            _ => ServerEvent::ReceiveVideo {
                stream,
                enabled: flag(command.argument(0)),
            },
        };
        self.events.push_back(event);
    }

    fn on_call_result(&mut self, command: Command) {
        let outcome = if command.name == Command::RESULT {
            CallOutcome::Result
        } else {
            CallOutcome::Error
        };
        // Answers to calls we did not make (or already forgot) are ignored.
        let Some(transaction) = integral_u32(command.transaction_id) else {
            return;
        };
        if self.our_calls.remove(&transaction) {
            self.events.push_back(ServerEvent::CallResult {
                call: CallId(transaction),
                outcome,
                command_object: command.command_object,
                arguments: command.arguments,
            });
        }
    }

    fn on_unknown_command(&mut self, stream: u32, command: Command) {
        let mut id = None;
        if command.transaction_id != 0.0 {
            let call = PeerCall {
                stream,
                transaction_id: command.transaction_id,
                encoding: command.encoding,
                deadline: self.now,
            };
            match self.options.call_answer_timeout {
                None => self.answer_call_failed(&call, "Method not found."),
                Some(timeout) => {
                    if !self.admit_request() {
                        return;
                    }
                    let request = self.new_request_id();
                    self.peer_calls.insert(
                        request,
                        PeerCall {
                            deadline: self.now + timeout,
                            ..call
                        },
                    );
                    id = Some(request);
                }
            }
        }
        self.events.push_back(ServerEvent::Call(CallRequest {
            id,
            stream,
            name: command.name,
            transaction_id: command.transaction_id,
            command_object: command.command_object,
            arguments: command.arguments,
        }));
    }

    fn answer_call_failed(&mut self, call: &PeerCall, description: &str) {
        let information =
            status_object(StatusLevel::Error, "NetConnection.Call.Failed", description);
        let answer = Command::error(
            call.transaction_id,
            Value::Null,
            vec![Value::Object(information)],
        )
        .with_encoding(call.encoding);
        self.send_command(call.stream, answer);
    }

    fn on_data(&mut self, stream: u32, timestamp: u32, data: Data) {
        match self.streams.get(&stream) {
            Some(StreamState::PublishRefused) => return,
            Some(_) => {}
            None if stream == 0 && self.phase == Phase::Connected => {}
            None => {
                self.violation(&format!(
                    "data message on message stream {stream}, which does not exist"
                ));
                return;
            }
        }
        let event = match into_metadata(data) {
            Ok(metadata) => ServerEvent::Metadata {
                stream,
                timestamp,
                metadata,
            },
            Err(data) => ServerEvent::Data {
                stream,
                timestamp,
                data,
            },
        };
        self.events.push_back(event);
    }

    fn on_media(&mut self, stream: u32, timestamp: u32, kind: u8, payload: Bytes) {
        match self.streams.get(&stream) {
            Some(StreamState::Publishing { .. }) => {}
            Some(StreamState::PublishRefused) => return,
            _ => {
                let what = if kind == type_id::AUDIO {
                    "audio"
                } else {
                    "video"
                };
                self.violation(&format!(
                    "{what} on message stream {stream}, which is not publishing"
                ));
                return;
            }
        }
        let event = if kind == type_id::AUDIO {
            ServerEvent::Audio {
                stream,
                timestamp,
                payload,
            }
        } else {
            ServerEvent::Video {
                stream,
                timestamp,
                payload,
            }
        };
        self.events.push_back(event);
    }

    /// An aggregate (RTMP 1.0 §7.1.6) is delivered as its sub-messages.
    fn on_aggregate(&mut self, stream: u32, timestamp: u32, payload: Bytes) {
        match self.streams.get(&stream) {
            Some(StreamState::Publishing { .. }) => {}
            Some(StreamState::PublishRefused) => return,
            _ => {
                self.violation(&format!(
                    "aggregate on message stream {stream}, which is not publishing"
                ));
                return;
            }
        }
        let aggregate = RawMessage {
            timestamp,
            type_id: type_id::AGGREGATE,
            stream_id: stream,
            payload,
        };
        let limits = self.core.config.limits.clone();
        for sub in split_aggregate(&aggregate, &limits) {
            let sub = match sub {
                Ok(sub) => sub,
                Err(error) => {
                    self.fail(error.into());
                    return;
                }
            };
            match sub.type_id {
                type_id::AUDIO | type_id::VIDEO => {
                    self.on_media(stream, sub.timestamp, sub.type_id, sub.payload)
                }
                type_id::DATA_AMF0 | type_id::DATA_AMF3 => match Message::decode(&sub, &limits) {
                    Ok(Message::Data(data)) => self.on_data(stream, sub.timestamp, data),
                    Ok(_) => {}
                    Err(error) => {
                        self.fail(error.into());
                        return;
                    }
                },
                // FLV files, where aggregates come from, hold nothing else worth a server's
                // attention.
                _ => {}
            }
        }
    }

    /// Queues a command the connection sends on its own account; a queue at its hard bound
    /// ends the connection, since the peer is not reading.
    fn send_command(&mut self, stream: u32, command: Command) {
        self.send_reply(stream, &Message::Command(command));
    }

    fn send_own_command(&mut self, stream: u32, command: Command) {
        let command = command.with_encoding(self.encoding);
        self.send_reply(stream, &Message::Command(command));
    }

    fn send_reply(&mut self, stream: u32, message: &Message) {
        match self.core.send_message(stream, 0, message) {
            Ok(_) | Err(ApiError::Closed) => {}
            Err(ApiError::Encode(error)) => {
                self.fail(error.into());
            }
            Err(_) => {
                self.violation("outbound queue full: the peer is not reading");
            }
        }
    }
}

/// An onStatus info object: `level`, `code`, `description` (RTMP 1.0 §7.2.2).
fn status_object(level: StatusLevel, code: &str, description: &str) -> Object {
    Object::new()
        .with("level", level.as_str())
        .with("code", code)
        .with("description", description)
}

fn on_status(information: Object, encoding: AmfEncoding) -> Command {
    Command::on_status(Value::Object(information)).with_encoding(encoding)
}

/// `m` of `@setDataFrame("onMetaData", m)` or `onMetaData(m)`, or the message unchanged.
fn into_metadata(data: Data) -> Result<Value, Data> {
    if data.metadata().is_none() {
        return Err(data);
    }
    let skip = if data.is_set_data_frame() { 2 } else { 1 };
    let mut values = data.values.into_iter().skip(skip);
    Ok(values.next().unwrap_or(Value::Null))
}

/// A message stream id sent as an AMF number.
fn stream_id(value: &Value) -> Option<u32> {
    value.as_f64().and_then(integral_u32)
}

fn integral_u32(number: f64) -> Option<u32> {
    let in_range = number >= 0.0 && number <= f64::from(u32::MAX);
    // `as` truncates towards zero (and `trunc` needs std): integral when it converts back.
    let truncated = number as u32;
    (in_range && f64::from(truncated) == number).then_some(truncated)
}

/// A stream name without its query string.
fn base_name(name: &str) -> &str {
    name.split('?').next().unwrap_or(name)
}

/// What holding `message` costs: its payload, or the memory of its decoded AMF values, plus
/// the bookkeeping of one held message.
fn held_size(message: &Message) -> usize {
    let content = match message {
        Message::Audio(payload) | Message::Video(payload) | Message::Aggregate(payload) => {
            payload.len()
        }
        Message::Unknown { payload, .. } => payload.len(),
        Message::Command(command) => command
            .arguments
            .iter()
            .fold(value_size(&command.command_object), |sum, value| {
                sum.saturating_add(value_size(value))
            })
            .saturating_add(command.name.len()),
        Message::Data(data) => values_size(&data.values),
        Message::SharedObject(shared_object) => shared_object
            .events
            .iter()
            .fold(shared_object.name.len(), |sum, event| {
                sum.saturating_add(shared_object_event_size(event))
            }),
        _ => 0,
    };
    content.saturating_add(size_of::<Held>())
}

fn values_size(values: &[Value]) -> usize {
    values
        .iter()
        .fold(0, |sum, value| sum.saturating_add(value_size(value)))
}

fn entries_size(entries: &[(String, Value)]) -> usize {
    entries.iter().fold(0, |sum, (key, value)| {
        sum.saturating_add(key.len())
            .saturating_add(size_of::<String>())
            .saturating_add(value_size(value))
    })
}

/// Memory of a decoded AMF value. Recursion is as deep as the value, which the AMF decoders
/// bound by [`Limits::max_amf_depth`](crate::Limits).
fn value_size(value: &Value) -> usize {
    let content = match value {
        Value::String(text) | Value::XmlDocument(text) | Value::Xml(text) => text.len(),
        Value::Object(object) => entries_size(&object.properties)
            .saturating_add(object.class_name.as_ref().map_or(0, String::len)),
        Value::EcmaArray(entries) => entries_size(entries),
        Value::StrictArray(items) => values_size(items),
        Value::MixedArray { assoc, dense } => {
            entries_size(assoc).saturating_add(values_size(dense))
        }
        Value::ByteArray(bytes) => bytes.len(),
        Value::VectorInt { items, .. } => items.len().saturating_mul(size_of::<i32>()),
        Value::VectorUint { items, .. } => items.len().saturating_mul(size_of::<u32>()),
        Value::VectorDouble { items, .. } => items.len().saturating_mul(size_of::<f64>()),
        Value::VectorObject {
            type_name, items, ..
        } => type_name.len().saturating_add(values_size(items)),
        Value::Dictionary { entries, .. } => entries.iter().fold(0usize, |sum, (key, value)| {
            sum.saturating_add(value_size(key))
                .saturating_add(value_size(value))
        }),
        _ => 0,
    };
    content.saturating_add(size_of::<Value>())
}

fn shared_object_event_size(event: &SharedObjectEvent) -> usize {
    let content = match event {
        SharedObjectEvent::RequestChange { properties }
        | SharedObjectEvent::Change { properties } => entries_size(properties),
        SharedObjectEvent::SendMessage { handler, arguments } => {
            handler.len().saturating_add(values_size(arguments))
        }
        SharedObjectEvent::Success { name }
        | SharedObjectEvent::Remove { name }
        | SharedObjectEvent::RequestRemove { name } => name.len(),
        SharedObjectEvent::Status { code, level } => code.len().saturating_add(level.len()),
        SharedObjectEvent::Unknown { data, .. } => data.len(),
        _ => 0,
    };
    content.saturating_add(size_of::<SharedObjectEvent>())
}
