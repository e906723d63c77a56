//! What both roles share: the handshake, both chunk directions, protocol control messages
//! (acknowledgements, windows, chunk size, pings), timeouts and the outbound queue. The client
//! and server connections wrap a [`Core`] and add the command conversation.

use alloc::collections::VecDeque;
use core::time::Duration;

use bytes::Bytes;
use rand::RngCore;

use crate::chunk::{ChunkDecoder, ChunkEncoder, ChunkOutput, ChunkStreamId, ChunkedMessage};
use crate::handshake::{ClientConfig, ClientHandshake, ServerConfig, ServerHandshake};
use crate::message::{LimitType, Message, UserControl};
use crate::{type_id, RawMessage};

use super::queue::{Body, Bounds, OutboundQueue, Priority};
use super::time::earliest;
use super::{ApiError, Instant, SendStatus, SessionConfig, SessionError};
use crate::budget::BudgetShare;

/// Chunk this many bytes ahead of the adapter's writes, no more: queued messages stay
/// reorderable and droppable until they are needed.
const TRANSMIT_BATCH: usize = 64 * 1024;

/// Capacity the event queue keeps once drained: what a burst grew it to is given back.
const KEEP_EVENTS: usize = 64;

/// A message that arrived, for the role to interpret.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Inbound {
    pub(crate) timestamp: u32,
    pub(crate) stream_id: u32,
    pub(crate) message: Message,
}

/// What the core tells the role layer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CoreEvent {
    /// The handshake is complete: chunks may flow.
    HandshakeComplete,
    /// A message other than the protocol control the core handles itself.
    Message(Inbound),
    /// The peer answered our Ping Request.
    PingResponse {
        /// Time from our request to its answer.
        round_trip: Duration,
    },
    /// The outbound queue drained to its low-water mark after being above the high-water mark.
    Writable,
    /// The connection ended; the last event.
    Closed(SessionError),
}

#[derive(Debug)]
enum Handshake {
    Client(ClientHandshake),
    Server(ServerHandshake),
}

impl Handshake {
    fn handle_input(&mut self, now_ms: u32, input: &[u8]) -> Result<usize, SessionError> {
        Ok(match self {
            Handshake::Client(h) => h.handle_input(now_ms, input)?,
            Handshake::Server(h) => h.handle_input(now_ms, input)?,
        })
    }

    fn poll_output(&mut self) -> Option<Bytes> {
        match self {
            Handshake::Client(h) => h.poll_output(),
            Handshake::Server(h) => h.poll_output(),
        }
    }

    fn is_complete(&self) -> bool {
        match self {
            Handshake::Client(h) => h.is_complete(),
            Handshake::Server(h) => h.is_complete(),
        }
    }
}

/// Where a message waits and which chunk stream carries it. Protocol control and pings jump
/// the queue; stream events (StreamBegin, StreamEOF...) keep their order with the commands and
/// statuses they go with, so `Play.Stop` then `StreamEOF` reach the peer in that order.
fn lane(raw: &RawMessage) -> (Priority, ChunkStreamId) {
    match raw.type_id {
        type_id::USER_CONTROL => {
            let event = raw
                .payload
                .first_chunk::<2>()
                .map(|b| u16::from_be_bytes(*b));
            let ping = matches!(
                event,
                Some(UserControl::PING_REQUEST | UserControl::PING_RESPONSE)
            );
            let priority = if ping {
                Priority::Control
            } else {
                Priority::Command
            };
            (priority, ChunkStreamId::PROTOCOL_CONTROL)
        }
        type_id::AUDIO => (Priority::Audio, ChunkStreamId::AUDIO),
        type_id::VIDEO => (Priority::Video, ChunkStreamId::VIDEO),
        type_id::DATA_AMF0 | type_id::DATA_AMF3 => (Priority::Command, ChunkStreamId::DATA),
        type_id::SET_CHUNK_SIZE
        | type_id::ABORT
        | type_id::ACKNOWLEDGEMENT
        | type_id::WINDOW_ACK_SIZE
        | type_id::SET_PEER_BANDWIDTH => (Priority::Control, ChunkStreamId::PROTOCOL_CONTROL),
        _ => (Priority::Command, ChunkStreamId::COMMAND),
    }
}

/// The shared half of a connection.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) config: SessionConfig,
    handshake: Option<Handshake>,
    decoder: ChunkDecoder,
    encoder: ChunkEncoder,
    output: ChunkOutput,
    queue: OutboundQueue,
    events: VecDeque<CoreEvent>,
    /// Set once; every later call reports it.
    error: Option<SessionError>,
    closed_reported: bool,
    started_at: Instant,
    now: Instant,
    last_input_at: Instant,
    /// Bytes of chunk stream received (after the handshake), for acknowledgements (§5.4.3).
    bytes_received: u64,
    /// Bytes of chunk stream chunked for sending so far.
    bytes_chunked: u64,
    bytes_acknowledged: u64,
    /// The window the peer asked us to acknowledge by (Window Acknowledgement Size); 0 = none.
    ack_window: u32,
    /// The window we last told the peer, so Set Peer Bandwidth is answered only on a change.
    announced_window: Option<u32>,
    /// The limit type of the last Set Peer Bandwidth we applied (for dynamic limits, §5.4.5).
    peer_limit: Option<LimitType>,
    /// Bandwidth limit the peer set for our output (advisory: the adapter may pace with it).
    peer_bandwidth: Option<u32>,
    /// The peer's last acknowledgement of what we sent.
    peer_acknowledged: u32,
    ping_sent_at: Option<Instant>,
    /// This connection's part of the server's memory budget.
    budget: Option<BudgetShare>,
    /// Bytes of this connection's input that the role above holds outside the core (a
    /// server's input held while a request waits for the application), counted against the
    /// budget with what the core holds itself.
    held_outside: usize,
}

impl Core {
    pub(crate) fn client<R: RngCore + ?Sized>(
        config: SessionConfig,
        handshake: ClientConfig,
        rng: &mut R,
        now: Instant,
    ) -> Self {
        let handshake = ClientHandshake::new(handshake, rng, 0);
        Self::new(config, Handshake::Client(handshake), now)
    }

    pub(crate) fn server<R: RngCore + ?Sized>(
        config: SessionConfig,
        handshake: ServerConfig,
        rng: &mut R,
        now: Instant,
    ) -> Self {
        let handshake = ServerHandshake::new(handshake, rng, 0);
        Self::new(config, Handshake::Server(handshake), now)
    }

    fn new(config: SessionConfig, mut handshake: Handshake, now: Instant) -> Self {
        let budget = config.memory_budget.as_ref().map(|budget| budget.join());
        let mut output = ChunkOutput::new();
        while let Some(bytes) = handshake.poll_output() {
            output.push_bytes(bytes);
        }
        Core {
            decoder: ChunkDecoder::new(config.limits.clone()),
            encoder: ChunkEncoder::new(),
            output,
            queue: OutboundQueue::new(
                Bounds {
                    high_water: config.outbound_high_water,
                    low_water: config.outbound_low_water,
                    max: config.outbound_max,
                    command_max: config.outbound_command_max,
                },
                config.drop_video_when_congested,
            ),
            config,
            handshake: Some(handshake),
            events: VecDeque::new(),
            error: None,
            closed_reported: false,
            started_at: now,
            now,
            last_input_at: now,
            bytes_received: 0,
            bytes_chunked: 0,
            bytes_acknowledged: 0,
            ack_window: 0,
            announced_window: None,
            peer_limit: None,
            peer_bandwidth: None,
            peer_acknowledged: 0,
            ping_sent_at: None,
            budget,
            held_outside: 0,
        }
    }

    /// Milliseconds since the connection started, as RTMP's 32-bit wrapping clock.
    pub(crate) fn epoch_millis(&self, now: Instant) -> u32 {
        now.as_millis().wrapping_sub(self.started_at.as_millis()) as u32
    }

    pub(crate) fn is_handshake_complete(&self) -> bool {
        self.handshake.is_none()
    }

    pub(crate) fn error(&self) -> Option<&SessionError> {
        self.error.as_ref()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.error.is_some()
    }

    /// Ends the connection with `error` unless it has already ended; returns the error that
    /// ended it.
    pub(crate) fn fail(&mut self, error: SessionError) -> SessionError {
        if self.error.is_none() {
            self.error = Some(error);
            // Nothing more is decoded: partial messages are given back at once, not when the
            // adapter drops the connection after writing its last bytes.
            self.decoder.release();
            if matches!(
                self.error,
                Some(SessionError::OutboundQueueFull | SessionError::MemoryBudgetExceeded)
            ) {
                // A peer that does not read would not read a last word either: nothing is
                // left to write, so the adapter closes at once instead of lingering.
                self.output.clear();
                self.queue.clear();
            }
            // The role above drops what it held for this connection; the budget keeps only
            // what may still be written.
            self.held_outside = 0;
            if let Some(budget) = &mut self.budget {
                let _ = budget.hold(self.queue.owned_bytes() + self.output.owned_len());
            }
        }
        self.error.clone().unwrap_or(SessionError::Closed)
    }

    /// Closes the connection from our side: what is already chunked may still be written.
    pub(crate) fn close(&mut self) {
        self.fail(SessionError::Closed);
    }

    /// The peer closed its side of the transport: the connection ends as if closed by us.
    pub(crate) fn handle_eof(&mut self, now: Instant) {
        if !self.is_closed() {
            self.now = now;
            self.close();
        }
    }

    /// Feeds bytes read from the peer.
    pub(crate) fn handle_input(&mut self, now: Instant, input: &[u8]) -> Result<(), SessionError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        self.now = now;
        self.last_input_at = now;
        let mut rest = self.handshake_input(now, input)?;
        if !self.is_handshake_complete() {
            return Ok(());
        }
        self.bytes_received += rest.len() as u64;
        loop {
            match self.decoder.decode(&mut rest) {
                Ok(Some(raw)) => self.handle_raw(raw)?,
                Ok(None) => break,
                Err(error) => return Err(self.fail(error.into())),
            }
        }
        self.acknowledge_if_due();
        self.account()
    }

    /// Feeds bytes read from the peer as a `Bytes`: messages that arrive in one chunk are
    /// slices of it, not copies.
    pub(crate) fn handle_input_bytes(
        &mut self,
        now: Instant,
        input: Bytes,
    ) -> Result<(), SessionError> {
        let mut rest = self.begin_input(now, input)?;
        while self.decode_some(&mut rest, usize::MAX)? {}
        self.finish_input()
    }

    /// The first step of [`handle_input_bytes`](Self::handle_input_bytes) taken in steps, for
    /// a role that hands on each step's events before the next (so that a flood of tiny
    /// messages is not all decoded into events at once): runs the handshake and returns what
    /// is left for the chunk stream. Then [`decode_some`](Self::decode_some) until it returns
    /// `false`, then [`finish_input`](Self::finish_input).
    pub(crate) fn begin_input(
        &mut self,
        now: Instant,
        mut input: Bytes,
    ) -> Result<Bytes, SessionError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        self.now = now;
        self.last_input_at = now;
        let consumed = input.len() - self.handshake_input(now, &input)?.len();
        if !self.is_handshake_complete() {
            return Ok(Bytes::new());
        }
        let _ = input.split_to(consumed);
        Ok(input)
    }

    /// Decodes at most `max` messages of `input` into events; whether some input is left.
    pub(crate) fn decode_some(
        &mut self,
        input: &mut Bytes,
        max: usize,
    ) -> Result<bool, SessionError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let before = input.len();
        let mut decoded = 0;
        let result = loop {
            if decoded == max {
                break Ok(!input.is_empty());
            }
            match self.decoder.decode_bytes(input) {
                Ok(Some(raw)) => {
                    decoded += 1;
                    if let Err(error) = self.handle_raw(raw) {
                        break Err(error);
                    }
                }
                Ok(None) => break Ok(false),
                Err(error) => break Err(self.fail(error.into())),
            }
        };
        // Counted as consumed, for acknowledgements.
        self.bytes_received += (before - input.len()) as u64;
        result
    }

    /// The last step of input taken in steps: acknowledgements and the memory budget.
    pub(crate) fn finish_input(&mut self) -> Result<(), SessionError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        self.acknowledge_if_due();
        self.account()
    }

    /// Runs the handshake on `input` while it is in progress; returns what is left for the
    /// chunk stream.
    fn handshake_input<'a>(
        &mut self,
        now: Instant,
        input: &'a [u8],
    ) -> Result<&'a [u8], SessionError> {
        let epoch = self.epoch_millis(now);
        let Some(handshake) = &mut self.handshake else {
            return Ok(input);
        };
        let consumed = match handshake.handle_input(epoch, input) {
            Ok(consumed) => consumed,
            Err(error) => return Err(self.fail(error)),
        };
        while let Some(bytes) = handshake.poll_output() {
            self.output.push_bytes(bytes);
        }
        if handshake.is_complete() {
            self.handshake = None;
            self.events.push_back(CoreEvent::HandshakeComplete);
        }
        Ok(input.get(consumed..).unwrap_or_default())
    }

    fn handle_raw(&mut self, raw: RawMessage) -> Result<(), SessionError> {
        let (timestamp, stream_id) = (raw.timestamp, raw.stream_id);
        // Audio and video, most of what a peer sends, need no decoding: the payload moves on.
        let message = match raw.type_id {
            type_id::AUDIO => Message::Audio(raw.payload),
            type_id::VIDEO => Message::Video(raw.payload),
            _ => match Message::decode(&raw, &self.config.limits) {
                Ok(message) => message,
                Err(error) => return Err(self.fail(error.into())),
            },
        };
        match message {
            // The chunk decoder applied these already (RTMP 1.0 §5.4.1, §5.4.2).
            Message::SetChunkSize { .. } | Message::Abort { .. } => {}
            Message::Acknowledgement { sequence_number } => {
                self.peer_acknowledged = sequence_number
            }
            Message::WindowAckSize { window_size } => self.ack_window = window_size,
            Message::SetPeerBandwidth {
                window_size,
                limit_type,
            } => self.apply_peer_bandwidth(window_size, limit_type),
            Message::UserControl(UserControl::PingRequest { timestamp }) => {
                self.queue_control(&Message::UserControl(UserControl::PingResponse {
                    timestamp,
                }));
                if let Some(error) = &self.error {
                    return Err(error.clone());
                }
            }
            Message::UserControl(UserControl::PingResponse { .. }) => {
                if let Some(sent_at) = self.ping_sent_at.take() {
                    let round_trip = self.now.saturating_duration_since(sent_at);
                    self.events
                        .push_back(CoreEvent::PingResponse { round_trip });
                }
            }
            message => self.events.push_back(CoreEvent::Message(Inbound {
                timestamp,
                stream_id,
                message,
            })),
        }
        Ok(())
    }

    /// Set Peer Bandwidth (RTMP 1.0 §5.4.5): hard sets the limit, soft lowers it, dynamic acts
    /// as hard if the previous limit was hard and is ignored otherwise. A first limit that is
    /// dynamic is taken as hard: nginx-rtmp and FMS send dynamic in their connect reply and
    /// expect the Window Acknowledgement Size answer. A window that differs from the one we
    /// announced is answered with Window Acknowledgement Size.
    fn apply_peer_bandwidth(&mut self, window_size: u32, limit_type: LimitType) {
        let applied = match limit_type {
            LimitType::HARD => Some(window_size),
            LimitType::SOFT => Some(
                self.peer_bandwidth
                    .map_or(window_size, |w| w.min(window_size)),
            ),
            LimitType::DYNAMIC if matches!(self.peer_limit, None | Some(LimitType::HARD)) => {
                Some(window_size)
            }
            _ => None,
        };
        let Some(bandwidth) = applied else {
            return;
        };
        self.peer_bandwidth = Some(bandwidth);
        self.peer_limit = Some(if limit_type == LimitType::SOFT {
            LimitType::SOFT
        } else {
            LimitType::HARD
        });
        if self.announced_window != Some(bandwidth) {
            self.announced_window = Some(bandwidth);
            self.queue_control(&Message::WindowAckSize {
                window_size: bandwidth,
            });
        }
    }

    fn acknowledge_if_due(&mut self) {
        let window = u64::from(self.ack_window);
        if window > 0 && self.bytes_received - self.bytes_acknowledged >= window {
            self.bytes_acknowledged = self.bytes_received;
            self.queue_control(&Message::Acknowledgement {
                sequence_number: self.bytes_received as u32,
            });
        }
    }

    /// Queues a protocol or user control message on chunk stream 2, message stream 0 (RTMP 1.0
    /// §5.4, §6.2). Control messages are tiny, but a peer can ask for them (pings) faster than
    /// it reads them: past the queue's hard bounds the connection ends with
    /// [`SessionError::OutboundQueueFull`].
    pub(crate) fn queue_control(&mut self, message: &Message) {
        if self.is_closed() {
            return;
        }
        if let Ok(raw) = message.to_raw(0, 0) {
            let in_flight = self.output.len();
            let (priority, csid) = lane(&raw);
            if self.queue.push(priority, csid, raw, in_flight).is_err() {
                self.fail(SessionError::OutboundQueueFull);
            } else {
                let _ = self.account();
            }
        }
    }

    /// Reports what this connection holds to the memory budget: its partial inbound messages,
    /// its outbound queue and chunked output (less the audio and video payloads, shared with
    /// the other players), and what the role above holds for it
    /// ([`hold_outside`](Self::hold_outside)); ends the connection with
    /// [`SessionError::MemoryBudgetExceeded`] if it must give way (which gives back what the
    /// decoder, the role above and, for that error, the queue and output held).
    #[inline]
    fn account(&mut self) -> Result<(), SessionError> {
        let held = self.held_bytes();
        let Some(budget) = &mut self.budget else {
            return Ok(());
        };
        if budget.hold(held) {
            return Ok(());
        }
        Err(self.fail(SessionError::MemoryBudgetExceeded))
    }

    /// What this connection holds, as reported to the memory budget (before its rounding).
    #[inline]
    pub(crate) fn held_bytes(&self) -> usize {
        self.decoder.held_bytes()
            + self.queue.owned_bytes()
            + self.output.owned_len()
            + self.held_outside
    }

    /// Reports that the role above now holds `bytes` of this connection's input outside the
    /// core (a server's input held while a request waits for the application), to be counted
    /// against the memory budget; past the budget the connection ends with
    /// [`SessionError::MemoryBudgetExceeded`]. Giving back never fails; a closed connection
    /// holds nothing outside.
    pub(crate) fn hold_outside(&mut self, bytes: usize) -> Result<(), SessionError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        self.held_outside = bytes;
        self.account()
    }

    /// Tells the peer our Window Acknowledgement Size and remembers it.
    pub(crate) fn announce_window(&mut self) {
        let window_size = self.config.window_ack_size;
        self.announced_window = Some(window_size);
        self.queue_control(&Message::WindowAckSize { window_size });
    }

    /// Asks the peer to limit its output (Set Peer Bandwidth, dynamic).
    pub(crate) fn announce_peer_bandwidth(&mut self) {
        self.queue_control(&Message::SetPeerBandwidth {
            window_size: self.config.peer_bandwidth,
            limit_type: LimitType::DYNAMIC,
        });
    }

    /// Announces our chunk size; the encoder switches to it once that message is chunked.
    pub(crate) fn announce_chunk_size(&mut self) {
        let chunk_size = self.config.chunk_size;
        if chunk_size != self.encoder.chunk_size() {
            self.queue_control(&Message::SetChunkSize { chunk_size });
        }
    }

    /// Queues a message for sending on message stream `stream_id`.
    pub(crate) fn send(
        &mut self,
        priority: Priority,
        csid: ChunkStreamId,
        raw: RawMessage,
    ) -> Result<SendStatus, ApiError> {
        if self.is_closed() {
            return Err(ApiError::Closed);
        }
        let in_flight = self.output.len();
        let status = self.queue.push(priority, csid, raw, in_flight)?;
        self.account().map_err(|_| ApiError::Closed)?;
        Ok(status)
    }

    /// Encodes `message` and queues it; commands and data go before media.
    pub(crate) fn send_message(
        &mut self,
        stream_id: u32,
        timestamp: u32,
        message: &Message,
    ) -> Result<SendStatus, ApiError> {
        let raw = message.to_raw(timestamp, stream_id)?;
        self.send_raw(raw)
    }

    /// Queues an encoded message in the lane its type belongs to.
    pub(crate) fn send_raw(&mut self, raw: RawMessage) -> Result<SendStatus, ApiError> {
        let (priority, csid) = lane(&raw);
        self.send(priority, csid, raw)
    }

    /// Queues audio or video chunked once for many connections
    /// ([`ChunkedMessage`]) in the media lane; sent as it was chunked if this connection sends
    /// at its chunk size, chunked anew otherwise. When nothing waits to be written before it,
    /// its bytes are first offered to `write` (see
    /// [`ChunkEncoder::encode_chunked_through`]): a relay's player then costs one write per
    /// frame, without the output's bookkeeping.
    #[inline]
    pub(crate) fn send_chunked_through(
        &mut self,
        chunked: &ChunkedMessage,
        write: impl FnOnce(&[&[u8]]) -> usize,
    ) -> Result<SendStatus, ApiError> {
        if self.is_closed() {
            return Err(ApiError::Closed);
        }
        let (priority, csid) = lane(chunked.message());
        let in_flight = self.output.len();
        // With nothing queued before it and room in the output, the next poll_transmit would
        // move it to the output first thing: it goes there now, under the queue's rules. Only
        // chunked messages (a relay's fan-out, where this step is per player and frame): other
        // sends wait in the queue for poll_transmit, so that control and commands sent after
        // them in the same step still go first.
        let status = if self.queue.is_empty()
            && in_flight < TRANSMIT_BATCH
            && self.is_handshake_complete()
        {
            let status = self.queue.admit(priority, chunked.message(), in_flight)?;
            if status != SendStatus::DroppedVideo {
                // Nothing chunked fails to encode again: its length was checked when it was
                // chunked.
                let length = self
                    .encoder
                    .encode_chunked_through(chunked, &mut self.output, write)
                    .unwrap_or(0);
                self.bytes_chunked += length as u64;
            }
            status
        } else {
            self.queue.push_ordered(
                priority,
                csid,
                Body::Chunked(chunked.clone()),
                in_flight,
                false,
            )?
        };
        self.account().map_err(|_| ApiError::Closed)?;
        Ok(status)
    }

    /// Appends `chunked` to the output, counting what it adds.
    #[inline]
    fn output_chunked(&mut self, chunked: &ChunkedMessage) {
        let before = self.output.len();
        // Nothing chunked fails to encode again: its length was checked when it was chunked.
        let _ = self.encoder.encode_chunked(chunked, &mut self.output);
        self.bytes_chunked += (self.output.len() - before) as u64;
    }

    /// Queues an encoded message in its lane, to go only after everything queued before it,
    /// media included: for what ends a stream (closeStream, deleteStream, StreamEOF...), which
    /// must not overtake the stream's last frames.
    pub(crate) fn send_raw_after_earlier(
        &mut self,
        raw: RawMessage,
    ) -> Result<SendStatus, ApiError> {
        if self.is_closed() {
            return Err(ApiError::Closed);
        }
        let (priority, csid) = lane(&raw);
        let in_flight = self.output.len();
        let status = self
            .queue
            .push_ordered(priority, csid, Body::Raw(raw), in_flight, true)?;
        self.account().map_err(|_| ApiError::Closed)?;
        Ok(status)
    }

    /// Encodes `message` and queues it as [`send_raw_after_earlier`](Self::send_raw_after_earlier)
    /// does.
    pub(crate) fn send_message_after_earlier(
        &mut self,
        stream_id: u32,
        timestamp: u32,
        message: &Message,
    ) -> Result<SendStatus, ApiError> {
        let raw = message.to_raw(timestamp, stream_id)?;
        self.send_raw_after_earlier(raw)
    }

    /// Chunks queued messages, highest priority first, until about [`TRANSMIT_BATCH`] bytes are
    /// waiting, and returns the bytes to write, if any. The adapter writes what it can and calls
    /// [`ChunkOutput::advance`].
    #[inline]
    pub(crate) fn poll_transmit(&mut self) -> Option<&mut ChunkOutput> {
        while !self.queue.is_empty()
            && self.output.len() < TRANSMIT_BATCH
            && self.is_handshake_complete()
        {
            let Some(queued) = self.queue.pop() else {
                break;
            };
            let before = self.output.len();
            // Nothing we queued fails to encode: the ids are valid and sizes were checked.
            let message = match queued.body {
                Body::Raw(message) => message,
                Body::Chunked(chunked) => {
                    self.output_chunked(&chunked);
                    continue;
                }
            };
            if self
                .encoder
                .encode(queued.csid, &message, &mut self.output)
                .is_err()
            {
                continue;
            }
            self.bytes_chunked += (self.output.len() - before) as u64;
            if message.type_id == type_id::SET_CHUNK_SIZE {
                if let Ok(Message::SetChunkSize { chunk_size }) =
                    Message::decode(&message, &self.config.limits)
                {
                    let _ = self.encoder.set_chunk_size(chunk_size);
                }
            }
        }
        self.queue.note_pending(self.output.len());
        // Chunking moves owned payloads from the queue to the output and adds chunk headers;
        // past the budget the connection ends (and its output is dropped).
        let _ = self.account();
        if self.queue.take_writable_again() {
            self.events.push_back(CoreEvent::Writable);
        }
        (!self.output.is_empty()).then_some(&mut self.output)
    }

    /// Whether an output written empty leaves [`poll_transmit`](Self::poll_transmit) nothing to
    /// do: nothing queued, no congestion change to report, nothing to give back to the memory
    /// budget (what was written was shared media, as a relay's fan-out writes).
    #[inline]
    pub(crate) fn transmit_settled(&self) -> bool {
        self.output.is_empty()
            && self.queue.is_settled()
            && self
                .budget
                .as_ref()
                .is_none_or(|budget| budget.is_holding(self.held_bytes()))
    }

    /// Bytes of chunk stream received (after the handshake).
    pub(crate) fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    /// Bytes of chunk stream written (chunked, and no longer waiting in the output).
    #[inline]
    pub(crate) fn bytes_sent(&self) -> u64 {
        self.bytes_chunked.saturating_sub(self.output.len() as u64)
    }

    /// Bytes queued or chunked but not yet written.
    #[inline]
    pub(crate) fn pending_bytes(&self) -> usize {
        self.queue.queued_bytes() + self.output.len()
    }

    /// The next core event; after the connection ends, one `Closed` and then nothing.
    #[inline]
    pub(crate) fn poll_event(&mut self) -> Option<CoreEvent> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        if self.events.capacity() > KEEP_EVENTS {
            self.events.shrink_to(KEEP_EVENTS);
        }
        match &self.error {
            Some(error) if !self.closed_reported => {
                self.closed_reported = true;
                Some(CoreEvent::Closed(error.clone()))
            }
            _ => None,
        }
    }

    /// Checks the deadlines; call it when [`poll_timeout`](Self::poll_timeout) is reached.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        self.now = now;
        if !self.is_handshake_complete() {
            if now >= self.started_at + self.config.handshake_timeout {
                self.fail(SessionError::HandshakeTimeout);
            }
            return;
        }
        if let Some(idle) = self.config.idle_timeout {
            if now >= self.last_input_at + idle {
                self.fail(SessionError::IdleTimeout);
                return;
            }
        }
        if let Some(sent_at) = self.ping_sent_at {
            if now >= sent_at + self.config.ping_timeout {
                self.fail(SessionError::PingTimeout);
            }
        } else if let Some(interval) = self.config.ping_interval {
            if now >= self.last_input_at + interval {
                self.send_ping(now);
            }
        }
    }

    /// Sends a Ping Request now (RTMP 1.0 §6.2, event 6); its answer is a `PingResponse` event.
    pub(crate) fn send_ping(&mut self, now: Instant) {
        if self.ping_sent_at.is_none() && !self.is_closed() {
            self.ping_sent_at = Some(now);
            let timestamp = self.epoch_millis(now);
            self.queue_control(&Message::UserControl(UserControl::PingRequest {
                timestamp,
            }));
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        if !self.is_handshake_complete() {
            return Some(self.started_at + self.config.handshake_timeout);
        }
        let idle = self.config.idle_timeout.map(|d| self.last_input_at + d);
        let ping = match self.ping_sent_at {
            Some(sent_at) => Some(sent_at + self.config.ping_timeout),
            None => self.config.ping_interval.map(|d| self.last_input_at + d),
        };
        earliest(idle, ping)
    }

    /// The bandwidth the peer asked us to keep to (Set Peer Bandwidth), if it did.
    pub(crate) fn peer_bandwidth(&self) -> Option<u32> {
        self.peer_bandwidth
    }

    /// The peer's last acknowledgement (bytes it received, wrapping).
    #[cfg(test)]
    pub(crate) fn peer_acknowledged(&self) -> u32 {
        self.peer_acknowledged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use rand::{rngs::StdRng, SeedableRng};

    fn pair(config: SessionConfig) -> (Core, Core) {
        let mut rng = StdRng::seed_from_u64(7);
        let now = Instant::from_millis(0);
        let client = Core::client(config.clone(), ClientConfig::default(), &mut rng, now);
        let server = Core::server(config, ServerConfig::default(), &mut rng, now);
        (client, server)
    }

    /// Moves what `from` has to send to `to`; whether there was anything.
    fn transfer(from: &mut Core, to: &mut Core, now: Instant) -> bool {
        let Some(out) = from.poll_transmit() else {
            return false;
        };
        let mut bytes = Vec::new();
        out.copy_to(&mut bytes);
        out.clear();
        let _ = to.handle_input(now, &bytes);
        true
    }

    /// Moves every byte each side has to send to the other until both are quiet.
    fn drive(a: &mut Core, b: &mut Core, now: Instant) {
        while transfer(a, b, now) | transfer(b, a, now) {}
    }

    fn events(core: &mut Core) -> Vec<CoreEvent> {
        core::iter::from_fn(|| core.poll_event()).collect()
    }

    #[test]
    fn handshake_then_control_messages_flow() {
        let (mut client, mut server) = pair(SessionConfig::default());
        let now = Instant::from_millis(5);
        drive(&mut client, &mut server, now);
        assert_eq!(events(&mut client), [CoreEvent::HandshakeComplete]);
        assert_eq!(events(&mut server), [CoreEvent::HandshakeComplete]);

        server.announce_window();
        server.announce_peer_bandwidth();
        server.announce_chunk_size();
        drive(&mut client, &mut server, now);
        // The client answered Set Peer Bandwidth with its Window Acknowledgement Size...
        assert_eq!(server.ack_window, 2_500_000);
        // ...and now decodes at the server's chunk size.
        assert_eq!(client.decoder.chunk_size(), 4096);
        assert_eq!(server.encoder.chunk_size(), 4096);
        assert_eq!(client.peer_bandwidth(), Some(2_500_000));

        client.send_ping(Instant::from_millis(10));
        drive(&mut client, &mut server, Instant::from_millis(35));
        assert_eq!(
            events(&mut client),
            [CoreEvent::PingResponse {
                round_trip: Duration::from_millis(25)
            }]
        );
    }

    #[test]
    fn an_output_of_shared_media_written_whole_leaves_transmit_settled() {
        let config = SessionConfig {
            memory_budget: Some(crate::budget::MemoryBudget::new(1 << 20)),
            ..SessionConfig::default()
        };
        let (mut client, mut server) = pair(config);
        drive(&mut client, &mut server, Instant::default());
        assert!(server.transmit_settled());
        let chunk_size = server.encoder.chunk_size();
        let video = RawMessage {
            timestamp: 0,
            type_id: type_id::VIDEO,
            stream_id: 1,
            payload: Bytes::from(alloc::vec![0x17; 3000]),
        };
        let chunked = ChunkedMessage::new(ChunkStreamId::VIDEO, video.clone(), chunk_size).unwrap();
        // Chunked media in the express lane: shared, so written it leaves nothing to do.
        assert_eq!(
            server.send_chunked_through(&chunked, |_| 0),
            Ok(SendStatus::Queued)
        );
        assert!(!server.transmit_settled(), "the output waits");
        let out = server.poll_transmit().unwrap();
        let written = out.len();
        out.advance(written);
        assert!(server.transmit_settled());
        // A command's bytes are the connection's own: the budget must hear they were written.
        server.queue_control(&Message::WindowAckSize { window_size: 4096 });
        let out = server.poll_transmit().unwrap();
        let written = out.len();
        out.advance(written);
        assert!(!server.transmit_settled());
        assert!(server.poll_transmit().is_none());
        assert!(server.transmit_settled());
        // Anything queued behind a full output is left to poll_transmit.
        for _ in 0..64 {
            let _status = server.send_chunked_through(&chunked, |_| 0).unwrap();
        }
        let out = server.poll_transmit().unwrap();
        let written = out.len();
        out.advance(written);
        assert!(!server.transmit_settled());
    }

    #[test]
    fn a_chunked_frame_is_offered_to_a_direct_write_only_with_nothing_before_it() {
        let (mut client, mut server) = pair(SessionConfig::default());
        drive(&mut client, &mut server, Instant::default());
        let video = RawMessage {
            timestamp: 0,
            type_id: type_id::VIDEO,
            stream_id: 1,
            payload: Bytes::from(alloc::vec![0x17; 300]),
        };
        let chunk_size = server.encoder.chunk_size();
        let chunked = ChunkedMessage::new(ChunkStreamId::VIDEO, video.clone(), chunk_size).unwrap();
        let mut wire = Vec::new();
        let sent = server.bytes_sent();
        // Taken whole: nothing waits, and it counts as sent.
        let status = server.send_chunked_through(&chunked, |bufs| {
            bufs.iter().for_each(|buf| wire.extend_from_slice(buf));
            wire.len()
        });
        assert_eq!(status, Ok(SendStatus::Queued));
        assert!(server.transmit_settled());
        assert!(server.poll_transmit().is_none());
        let whole = wire.len();
        assert_eq!(server.bytes_sent() - sent, whole as u64);
        // Taken in part: the rest waits in the output, in order.
        let status = server.send_chunked_through(&chunked, |bufs| {
            wire.extend_from_slice(&bufs[0][..5]);
            5
        });
        assert_eq!(status, Ok(SendStatus::Queued));
        assert_eq!(server.pending_bytes(), whole - 5);
        // Behind waiting bytes it is not offered.
        let status = server.send_chunked_through(&chunked, |_| unreachable!("bytes wait"));
        assert_eq!(status, Ok(SendStatus::Queued));
        let out = server.poll_transmit().unwrap();
        out.copy_to(&mut wire);
        let written = out.len();
        out.advance(written);
        let mut input = Bytes::from(wire);
        let mut decoded = Vec::new();
        while let Some(message) = client.decoder.decode_bytes(&mut input).unwrap() {
            decoded.push(message);
        }
        assert_eq!(decoded, [video.clone(), video.clone(), video]);
    }

    #[test]
    fn acknowledgements_follow_the_window() {
        let (mut client, mut server) = pair(SessionConfig::default());
        drive(&mut client, &mut server, Instant::default());
        client.queue_control(&Message::WindowAckSize { window_size: 1000 });
        drive(&mut client, &mut server, Instant::default());
        let video = Message::Video(Bytes::from(alloc::vec![0x17; 3000]));
        let _ = client.send_message(1, 0, &video).unwrap();
        drive(&mut client, &mut server, Instant::default());
        assert!(client.peer_acknowledged() >= 1000);
        assert_eq!(client.peer_acknowledged() as u64, server.bytes_acknowledged);
        // A window of 0 never acknowledges (and never divides by zero).
        client.queue_control(&Message::WindowAckSize { window_size: 0 });
        let _ = client.send_message(1, 0, &video).unwrap();
        let before = server.bytes_acknowledged;
        drive(&mut client, &mut server, Instant::default());
        assert_eq!(server.bytes_acknowledged, before);
    }

    #[test]
    fn timeouts_end_the_connection_once() {
        let config = SessionConfig {
            ping_interval: Some(Duration::from_secs(5)),
            ping_timeout: Duration::from_secs(2),
            ..SessionConfig::default()
        };
        let (mut client, mut server) = pair(config);
        assert_eq!(client.poll_timeout(), Some(Instant::from_millis(10_000)));
        client.handle_timeout(Instant::from_millis(10_000));
        assert_eq!(
            events(&mut client),
            [CoreEvent::Closed(SessionError::HandshakeTimeout)]
        );
        assert_eq!(client.poll_event(), None);
        assert_eq!(
            client.handle_input(Instant::from_millis(10_001), &[3]),
            Err(SessionError::HandshakeTimeout)
        );

        let (mut client, _) = pair(SessionConfig::default());
        drive(&mut client, &mut server, Instant::default());
        let _ = events(&mut server);
        assert_eq!(server.poll_timeout(), Some(Instant::from_millis(5_000)));
        server.handle_timeout(Instant::from_millis(5_000));
        assert!(server.poll_transmit().is_some(), "a ping request is due");
        assert_eq!(server.poll_timeout(), Some(Instant::from_millis(7_000)));
        server.handle_timeout(Instant::from_millis(7_000));
        assert_eq!(
            events(&mut server),
            [CoreEvent::Closed(SessionError::PingTimeout)]
        );
    }
}
