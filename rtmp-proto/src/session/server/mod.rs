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
//! - **Answered by the connection.** createStream (`_result(tid, null, id)`, the lowest free
//!   id from 1), releaseStream, `_checkbw` and FCUnsubscribe (`_result`), getStreamLength
//!   (`_result` 0: live), FCPublish / FCUnpublish / FCSubscribe (`_result`, then onFCPublish,
//!   onFCUnpublish or onFCSubscribe as FMS sends them; FFmpeg and librtmp ignore both),
//!   pause and seek (Pause.Notify, Unpause.Notify, Seek.Notify), closeStream and deleteStream
//!   of a publisher (NetStream.Unpublish.Success, as nginx-rtmp sends). A `_result` is only
//!   sent for a transaction id other than 0. deleteStream of a stream that does not exist is
//!   ignored; any other stream command on a message stream never created is a protocol
//!   violation, as is anything but `connect` before the connect.
//! - **Media.** Audio, video and aggregate messages are accepted only on a publishing stream;
//!   elsewhere they are a protocol violation, except on a stream whose publish was just
//!   refused, where the media already in flight is dropped. Empty audio and video messages
//!   (no tag header, nothing to decode) are dropped without an event. Data messages are accepted on any
//!   existing message stream.
//! - **Encodings.** Answers use the encoding of the command they answer (type 20 or 17);
//!   messages of our own (onStatus after an accept, `onBWDone`, calls) use type 17 when the
//!   client's connect said `objectEncoding` 3, type 20 otherwise. Data messages we send are
//!   AMF0 (type 18), which every player reads.
//! - **Limits.** At most [`SessionConfig::max_message_streams`](crate::session::SessionConfig)
//!   streams (further createStreams are answered `_error`); at most
//!   [`SessionConfig::max_pending_requests`](crate::session::SessionConfig) requests waiting
//!   for the application or held, beyond which the connection ends with
//!   [`SessionError::Protocol`]. Answers the connection sends on its own (pings, `_result`,
//!   `_error`, statuses) count against the outbound queue's hard bounds like everything else;
//!   past them the connection ends with [`SessionError::OutboundQueueFull`] (the peer asks but
//!   does not read).

mod config;
mod events;
mod held;
mod inbound;

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
use core::time::Duration;

use bytes::Bytes;
use rand::RngCore;

use crate::amf::{Object, Value};
use crate::chunk::{ChunkOutput, ChunkedMessage};
use crate::message::{AmfEncoding, Command, Data, Message, UserControl};
use crate::{type_id, RawMessage};

use super::core::{Core, Inbound};
use super::time::earliest;
use super::{ApiError, Instant, SendStatus, SessionError, Violation};

/// Messages decoded from the input before their events are handed through the conversation.
const MESSAGES_PER_STEP: usize = 256;
/// Capacity the event queue keeps once drained.
const KEEP_EVENTS: usize = 64;

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

/// A connection's message streams (createStream, RTMP 1.0 §7.2.1.3) by id. The stream last set
/// playing and the one last set publishing are also kept beside the map: a relay sends each
/// frame to every player's stream and takes each frame from its publisher's, and asking about
/// those then costs a comparison rather than a search of the map (and its cold nodes).
#[derive(Debug, Default)]
struct Streams {
    states: BTreeMap<u32, StreamState>,
    /// A stream whose state is `Playing`, when one is known.
    playing: Option<u32>,
    /// A stream whose state is `Publishing`, when one is known.
    publishing: Option<u32>,
}

impl Streams {
    fn get(&self, id: &u32) -> Option<&StreamState> {
        self.states.get(id)
    }

    fn contains_key(&self, id: &u32) -> bool {
        self.states.contains_key(id)
    }

    fn iter(&self) -> impl Iterator<Item = (&u32, &StreamState)> {
        self.states.iter()
    }

    /// Sets the state of stream `id`, returning the one it replaces.
    fn insert(&mut self, id: u32, state: StreamState) -> Option<StreamState> {
        self.forget(id);
        match state {
            StreamState::Playing { .. } => self.playing = Some(id),
            StreamState::Publishing { .. } => self.publishing = Some(id),
            StreamState::Idle | StreamState::PublishRefused => {}
        }
        self.states.insert(id, state)
    }

    /// Sets stream `id` back to `Idle` if it exists, returning what it was doing.
    fn set_idle(&mut self, id: u32) -> Option<StreamState> {
        if !self.states.contains_key(&id) {
            return None;
        }
        self.insert(id, StreamState::Idle)
    }

    fn remove(&mut self, id: &u32) -> Option<StreamState> {
        self.forget(*id);
        self.states.remove(id)
    }

    fn is_playing(&self, id: u32) -> bool {
        self.playing == Some(id)
            || matches!(self.states.get(&id), Some(StreamState::Playing { .. }))
    }

    fn is_publishing(&self, id: u32) -> bool {
        self.publishing == Some(id)
            || matches!(self.states.get(&id), Some(StreamState::Publishing { .. }))
    }

    /// Stream `id` is about to change: neither remembered role may name it any more.
    fn forget(&mut self, id: u32) {
        if self.playing == Some(id) {
            self.playing = None;
        }
        if self.publishing == Some(id) {
            self.publishing = None;
        }
    }
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

impl Blocker {
    fn id(&self) -> RequestId {
        match self {
            Blocker::Connect { id, .. }
            | Blocker::Publish { id, .. }
            | Blocker::Play { id, .. } => *id,
        }
    }

    fn is_connect(&self) -> bool {
        matches!(self, Blocker::Connect { .. })
    }

    fn is_publish(&self) -> bool {
        matches!(self, Blocker::Publish { .. })
    }

    fn is_play(&self) -> bool {
        matches!(self, Blocker::Play { .. })
    }
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
    streams: Streams,
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
    /// The next step the client must take (connect, then publish or play) and by when.
    step_deadline: Option<(Instant, SessionError)>,
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
            streams: Streams::default(),
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
            step_deadline: None,
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
        let result = self.decode_in_steps(now, input);
        self.after_input(result)
    }

    /// Feeds bytes read from the peer, decoding at most `max_messages` messages of them: what
    /// is left stays in `input`, to be fed next (before anything read later). An adapter that
    /// serves many connections on one thread feeds a read in such steps and lets the others
    /// run in between, so that a read full of tiny messages (a flood: a million in 1 MiB)
    /// does not hold the thread until it is all decoded.
    pub fn handle_input_some(
        &mut self,
        now: Instant,
        input: &mut Bytes,
        max_messages: usize,
    ) -> Result<(), SessionError> {
        self.now = now;
        let result = self.decode_step(now, input, max_messages);
        self.after_input(result)
    }

    fn decode_step(
        &mut self,
        now: Instant,
        input: &mut Bytes,
        max_messages: usize,
    ) -> Result<(), SessionError> {
        let mut rest = self.core.begin_input(now, core::mem::take(input))?;
        let result = self.core.decode_some(&mut rest, max_messages);
        *input = rest;
        result?;
        self.core.finish_input()
    }

    /// Decodes `input` [`MESSAGES_PER_STEP`] messages at a time, each step's events handed
    /// through the conversation before the next: a read full of tiny messages does not
    /// become tens of thousands of events waiting at once.
    fn decode_in_steps(&mut self, now: Instant, input: Bytes) -> Result<(), SessionError> {
        let mut rest = self.core.begin_input(now, input)?;
        while self.core.decode_some(&mut rest, MESSAGES_PER_STEP)? {
            self.pump();
        }
        self.core.finish_input()
    }

    fn after_input(&mut self, result: Result<(), SessionError>) -> Result<(), SessionError> {
        self.pump();
        result?;
        match self.core.error() {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Checks the deadlines (handshake, connect, publish or play, idle, ping, unanswered
    /// calls); call it when [`poll_timeout`](Self::poll_timeout) is reached.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.core.handle_timeout(now);
        if let Some((deadline, error)) = &self.step_deadline {
            if now >= *deadline && !self.core.is_closed() {
                let error = error.clone();
                self.step_deadline = None;
                self.fail(error);
            }
        }
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

    /// The client closed its side of the transport (a read returned no bytes): the
    /// connection ends with [`ServerEvent::Closed`]`(`[`SessionError::Closed`]`)`, after the
    /// events of what was read before, unless it has ended already. A request waiting for the
    /// application is dropped with it.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.core.handle_eof(now);
        self.pump();
    }

    // ---- Outputs ----

    /// The next event; `None` when there is none for now. After the connection ends, the
    /// last event is [`ServerEvent::Closed`].
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.pump();
        let event = self.events.pop_front();
        if event.is_none() && self.events.capacity() > KEEP_EVENTS {
            // Gives back what a burst of events made the queue grow to.
            self.events.shrink_to(KEEP_EVENTS);
        }
        event
    }

    /// The bytes to write to the peer, if any: write [`ChunkOutput::segments`] (vectored),
    /// then [`ChunkOutput::advance`] by what was written. Keep calling it after the connection
    /// ended until it returns `None`, so that a last answer (e.g. a refused connect) is sent.
    #[inline]
    pub fn poll_transmit(&mut self) -> Option<&mut ChunkOutput> {
        self.pump();
        self.core.poll_transmit()
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) would find nothing to do now that its
    /// output was written: a driver that wrote everything may skip asking again (a relay's
    /// player, written one shared frame at a time, mostly is).
    #[inline]
    pub fn transmit_settled(&self) -> bool {
        self.core.transmit_settled()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called; `None` once the
    /// connection has ended.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.core.is_closed() {
            return None;
        }
        let calls = if self.peer_calls.is_empty() {
            None
        } else {
            self.earliest_call()
        };
        let step = self.step_deadline.as_ref().map(|(deadline, _)| *deadline);
        earliest(earliest(self.core.poll_timeout(), calls), step)
    }

    /// The earliest deadline of the calls waiting for the peer's answer: apart from
    /// [`poll_timeout`](Self::poll_timeout), which a driver asks at every step, as a map's walk
    /// is a page of code that hardly ever runs.
    #[cold]
    #[inline(never)]
    fn earliest_call(&self) -> Option<Instant> {
        self.peer_calls.values().map(|call| call.deadline).min()
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

    /// Bytes of chunk stream received since the handshake.
    pub fn bytes_received(&self) -> u64 {
        self.core.bytes_received()
    }

    /// Bytes of chunk stream written since the handshake (what
    /// [`poll_transmit`](Self::poll_transmit) returned and was advanced past).
    pub fn bytes_sent(&self) -> u64 {
        self.core.bytes_sent()
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
            stream,
            transaction_id,
            encoding,
            object_encoding,
            enhanced,
            ..
        }) = self.take_blocker(request, Blocker::is_connect)
        else {
            return Err(ApiError::UnknownRequest(request.get()));
        };
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
        self.step_deadline = self
            .options
            .stream_timeout
            .map(|timeout| (self.now + timeout, SessionError::StreamTimeout));
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
        }) = self.take_blocker(request, Blocker::is_connect)
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
        }) = self.take_blocker(request, Blocker::is_publish)
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
        }) = self.take_blocker(request, Blocker::is_publish)
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
        }) = self.take_blocker(request, Blocker::is_play)
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
        }) = self.take_blocker(request, Blocker::is_play)
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

    /// Sends audio or video chunked once for every player it goes to ([`ChunkedMessage`]: a
    /// relay's fan-out) to a playing stream: as it was chunked when this connection sends at
    /// its chunk size and `stream` is its message stream, chunked anew otherwise. Video may be
    /// dropped above the high-water mark as with [`send_video`](Self::send_video); other
    /// message types go as [`send_audio`](Self::send_audio) would send them, on their lane.
    #[inline]
    pub fn send_chunked(
        &mut self,
        stream: u32,
        chunked: &ChunkedMessage,
    ) -> Result<SendStatus, ApiError> {
        self.send_chunked_through(stream, chunked, |_| 0)
    }

    /// [`send_chunked`](Self::send_chunked), offering the bytes to `write` first when nothing
    /// waits to be written before them: `write` takes what the transport accepts at once
    /// without blocking (one or two slices, in order) and returns how many bytes that was;
    /// the rest is queued as [`send_chunked`](Self::send_chunked) queues it. For a driver that
    /// can try a write outside its poll (a TCP socket's `try_write`), so that a frame sent to
    /// an idle player is written in the same step, without passing through
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn send_chunked_through(
        &mut self,
        stream: u32,
        chunked: &ChunkedMessage,
        write: impl FnOnce(&[&[u8]]) -> usize,
    ) -> Result<SendStatus, ApiError> {
        self.check_playing(stream)?;
        let message = chunked.message();
        let media = matches!(message.type_id, type_id::AUDIO | type_id::VIDEO);
        if media && message.stream_id == stream {
            return self.core.send_chunked_through(chunked, write);
        }
        let raw = RawMessage {
            stream_id: stream,
            ..message.clone()
        };
        self.core.send_raw(raw)
    }

    /// The chunk size this connection sends at once it has announced it
    /// ([`SessionConfig::chunk_size`](crate::session::SessionConfig::chunk_size)).
    pub(crate) fn configured_chunk_size(&self) -> u32 {
        self.core.config.chunk_size
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
    /// or a `tcUrl` for NetConnection.Connect.ReconnectRequest). A status on a message stream
    /// other than 0 goes after the media already queued (Play.Stop after the last frame).
    pub fn send_status_object(
        &mut self,
        stream: u32,
        information: Object,
    ) -> Result<SendStatus, ApiError> {
        self.check_stream(stream)?;
        let message = Message::Command(on_status(information, self.encoding));
        if stream == 0 {
            self.core.send_message(stream, 0, &message)
        } else {
            self.core.send_message_after_earlier(stream, 0, &message)
        }
    }

    /// Sends Stream EOF (RTMP 1.0 §7.1.7, event 1): playback of the stream is over. It goes
    /// after the media already queued.
    pub fn send_stream_eof(&mut self, stream: u32) -> Result<SendStatus, ApiError> {
        self.check_stream(stream)?;
        let event = UserControl::StreamEof { stream_id: stream };
        self.core
            .send_message_after_earlier(0, 0, &Message::UserControl(event))
    }

    /// Sends Stream Dry (RTMP 1.0 §7.1.7, event 2): no data on the stream for now. It goes
    /// after the media already queued.
    pub fn send_stream_dry(&mut self, stream: u32) -> Result<SendStatus, ApiError> {
        self.check_stream(stream)?;
        let event = UserControl::StreamDry { stream_id: stream };
        self.core
            .send_message_after_earlier(0, 0, &Message::UserControl(event))
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

    /// Sends a Ping Request (RTMP 1.0 §6.2, event 6) at `now`; the answer arrives as
    /// [`ServerEvent::PingResponse`] with the time since `now`. Does nothing while a ping is
    /// unanswered.
    pub fn ping(&mut self, now: Instant) -> Result<(), ApiError> {
        self.check_open()?;
        self.now = self.now.max(now);
        self.core.send_ping(now);
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

    fn violation(&mut self, violation: Violation) {
        self.fail(SessionError::Protocol(violation));
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

    #[inline]
    fn check_playing(&self, stream: u32) -> Result<(), ApiError> {
        self.check_open()?;
        if self.streams.is_playing(stream) {
            Ok(())
        } else {
            Err(ApiError::UnknownStream(stream))
        }
    }

    /// Takes the blocking request if it is `request` and of the kind `is_kind` accepts;
    /// otherwise leaves it in place.
    fn take_blocker(
        &mut self,
        request: RequestId,
        is_kind: fn(&Blocker) -> bool,
    ) -> Option<Blocker> {
        let wanted = self
            .blocker
            .as_ref()
            .is_some_and(|blocker| blocker.id() == request && is_kind(blocker));
        if wanted {
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
            self.fail(SessionError::TooManyPendingRequests {
                limit: self.core.config.max_pending_requests,
            });
            return false;
        }
        true
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
            Err(_) => self.fail(SessionError::OutboundQueueFull),
        }
    }
}

/// An onStatus info object: `level`, `code`, `description` (RTMP 1.0 §7.2.2).
pub(super) fn status_object(level: StatusLevel, code: &str, description: &str) -> Object {
    Object::new()
        .with("level", level.as_str())
        .with("code", code)
        .with("description", description)
}

pub(super) fn on_status(information: Object, encoding: AmfEncoding) -> Command {
    Command::on_status(Value::Object(information)).with_encoding(encoding)
}
