//! A real [`ClientConnection`] joined to a real [`ServerConnection`] in memory, on a virtual
//! clock: the bytes each side writes reach the other after an optional one-way latency, each
//! writer can be limited to a number of bytes per step (a slow socket), and deadlines fire when
//! the clock reaches them. A small server "application" answers requests as a test tells it to.
//!
//! The shape follows quinn-proto's test `Pair`: [`Pair::step`] does one round of work at the
//! current instant on both sides; [`Pair::drive`] repeats it, moving the clock only as far as
//! bytes in flight need, until both sides are quiet; [`Pair::advance`] moves the clock by a
//! duration, firing every deadline on the way in order.
//!
//! The harness plays the adapter's part: once a connection has ended and everything it still
//! had to send is written, its side of the transport closes, which the other side learns
//! through `handle_eof` (a read of zero bytes).

mod handover;
mod proptests;
mod tests;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use alloc::rc::Rc;
use core::cell::RefCell;

use crate::amf::Value;
use crate::chunk::{ChunkDecoder, ChunkOutput};
use crate::handshake::PACKET_LEN;
use crate::message::Message;
use crate::relay::{Hub, LocalFanout, RelayConnection, Verdict};
use crate::Limits;

use super::client::{ClientConnection, ClientConnectionConfig, ClientEvent, TransactionId};
use super::server::{ServerConnection, ServerConnectionConfig, ServerEvent, StreamKind};
use super::{ApiError, Instant, SendStatus};

/// What each side sends before its chunk stream: C0 C1 C2, or S0 S1 S2.
const HANDSHAKE_LEN: usize = 1 + 2 * PACKET_LEN;

/// A message as it crossed the transport: (message stream id, timestamp, message).
pub(crate) type OnWire = (u32, u32, Message);

/// What the relaying application sent to a player: (the player's message stream, timestamp,
/// message, what the send returned).
pub(crate) type Relayed = (u32, u32, Message, Result<SendStatus, ApiError>);

/// Rounds of [`Pair::step`] one [`Pair::drive`] or [`Pair::advance`] may take before the
/// harness gives up: far more than any test needs, few enough to stop a livelock quickly.
pub(crate) const DEFAULT_STEP_LIMIT: usize = 100_000;

/// Which connection: also names a direction of the transport by its writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// What the server application answers to a kind of request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Answer {
    /// Accept (a play as a live stream; see [`ServerApp::play_kind`]; a call with `_result`
    /// echoing its arguments).
    Accept,
    /// Refuse with this onStatus code (ignored for connect and calls) and description.
    Reject {
        code: &'static str,
        description: &'static str,
    },
    /// Leave the request waiting: the test answers it itself.
    Wait,
}

/// The server application the pair runs: how it answers each kind of request, as the events
/// are collected.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ServerApp {
    pub(crate) connect: Answer,
    pub(crate) publish: Answer,
    pub(crate) play: Answer,
    pub(crate) play_kind: StreamKind,
    /// Calls the application may answer (only with
    /// [`ServerOptions::call_answer_timeout`](super::server::ServerOptions)).
    pub(crate) calls: Answer,
    /// Echoes the media and metadata of every publishing stream to every stream of the same
    /// connection that plays, unfiltered and unbuffered: a loop back to the client that shows
    /// what the connection's queue does. Relay behaviour is tested through the hub
    /// ([`Pair::relay`]).
    pub(crate) echo: bool,
}

impl ServerApp {
    /// Accepts everything.
    pub(crate) fn accept_all() -> Self {
        ServerApp {
            connect: Answer::Accept,
            publish: Answer::Accept,
            play: Answer::Accept,
            play_kind: StreamKind::Live,
            calls: Answer::Accept,
            echo: false,
        }
    }

    /// Answers nothing: every request waits for the test.
    pub(crate) fn manual() -> Self {
        ServerApp {
            connect: Answer::Wait,
            publish: Answer::Wait,
            play: Answer::Wait,
            play_kind: StreamKind::Live,
            calls: Answer::Wait,
            echo: false,
        }
    }
}

/// What one side has written and the other has not read yet.
#[derive(Debug)]
struct Link {
    /// Blocks written, each with the instant it arrives; `None` is the end of the stream.
    in_flight: VecDeque<(Instant, Option<Bytes>)>,
    /// Most bytes the writer takes per step; `None`: all it has.
    write_limit: Option<usize>,
    /// Cuts each block delivered into pieces at random points, fed one by one.
    splitter: Option<StdRng>,
    /// The writer's side of the transport is shut (its connection ended and was drained).
    shut: bool,
    /// Drops whatever is written (a peer that never answers).
    blackhole: bool,
    /// Bytes written so far.
    carried: u64,
    /// Decodes what the writer wrote, after its handshake, for tests to look at the wire.
    tap: ChunkDecoder,
    wire: Vec<OnWire>,
}

impl Link {
    fn new() -> Self {
        Link {
            in_flight: VecDeque::new(),
            write_limit: None,
            splitter: None,
            shut: false,
            blackhole: false,
            carried: 0,
            tap: ChunkDecoder::new(Limits::default()),
            wire: Vec::new(),
        }
    }

    /// Decodes the chunk stream in `block`, which starts at byte `offset` of what the writer
    /// wrote.
    fn tap(&mut self, block: &[u8], offset: u64) {
        let skip = usize::try_from((HANDSHAKE_LEN as u64).saturating_sub(offset)).unwrap_or(0);
        let mut rest = block.get(skip..).unwrap_or_default();
        while let Some(raw) = self
            .tap
            .decode(&mut rest)
            .expect("the writer's chunk stream")
        {
            let message = Message::decode(&raw, &Limits::default()).expect("the writer's message");
            self.wire.push((raw.stream_id, raw.timestamp, message));
        }
    }

    fn next_arrival(&self) -> Option<Instant> {
        self.in_flight.front().map(|(at, _)| *at)
    }

    /// The blocks that have arrived by `now`, in order.
    fn arrived(&mut self, now: Instant) -> Vec<Option<Bytes>> {
        let mut arrived = Vec::new();
        while self.in_flight.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, block)) = self.in_flight.pop_front() {
                arrived.push(block);
            }
        }
        arrived
    }

    /// Takes what the writer's `poll_transmit` offers, up to what is left of the step's
    /// `budget`, to arrive at `arrival`; how many bytes it took.
    fn write(&mut self, output: &mut ChunkOutput, budget: &mut usize, arrival: Instant) -> usize {
        let take = output.len().min(*budget);
        let mut block = Vec::with_capacity(take);
        for segment in output.segments() {
            let room = take - block.len();
            if room == 0 {
                break;
            }
            block.extend_from_slice(segment.get(..room).unwrap_or(segment));
        }
        output.advance(take);
        *budget -= take;
        self.tap(&block, self.carried);
        self.carried += take as u64;
        if !self.blackhole && take > 0 {
            self.in_flight
                .push_back((arrival, Some(Bytes::from(block))));
        }
        take
    }

    /// The pieces a block is fed in: whole, or cut at random points.
    fn pieces(&mut self, block: Bytes) -> Vec<Bytes> {
        let Some(rng) = &mut self.splitter else {
            return alloc::vec![block];
        };
        let mut pieces = Vec::new();
        let mut rest = block;
        while rest.len() > 1 {
            // Mostly small pieces, now and then a large one.
            let cut = if rng.random_bool(0.7) {
                rng.random_range(1..=rest.len().min(16))
            } else {
                rng.random_range(1..=rest.len())
            };
            pieces.push(rest.split_to(cut));
        }
        if !rest.is_empty() {
            pieces.push(rest);
        }
        pieces
    }
}

/// A client and a server connection joined in memory, with a virtual clock.
#[derive(Debug)]
pub(crate) struct Pair {
    pub(crate) client: ClientConnection,
    pub(crate) server: ServerConnection,
    /// The virtual clock: every input of both sides carries it.
    pub(crate) now: Instant,
    /// Time from a write on one side to its arrival on the other.
    pub(crate) latency: Duration,
    /// How the server application answers requests.
    pub(crate) app: ServerApp,
    /// Rounds one `drive` or `advance` may take before panicking.
    pub(crate) step_limit: usize,
    client_to_server: Link,
    server_to_client: Link,
    client_events: Vec<ClientEvent>,
    server_events: Vec<ServerEvent>,
    /// The streams the application accepted a play on, while they play.
    players: Vec<u32>,
    relayed: Vec<Relayed>,
    /// When set, the server's events go to this connection of a relay hub instead of
    /// [`Pair::app`], and what the hub hands its player is delivered as the pair steps.
    pub(crate) relay: Option<RelayConnection<LocalHub>>,
    /// What the relay asked the application, for the test to answer with
    /// [`RelayConnection::answer`].
    pub(crate) access_requests: Vec<crate::relay::AccessRequest>,
}

/// A relay hub shared by the pairs of one test, on one thread.
pub(crate) type LocalHub = Rc<RefCell<Hub<LocalFanout>>>;

impl Pair {
    /// A player and a server with default configurations; the server accepts everything.
    pub(crate) fn new() -> Self {
        Self::with_configs(
            ClientConnectionConfig::player("live", "rtmp://localhost/live"),
            ServerConnectionConfig::default(),
        )
    }

    /// A publisher (FFmpeg's connect, releaseStream and FCPublish) and a default server.
    pub(crate) fn publisher() -> Self {
        Self::with_configs(
            ClientConnectionConfig::publisher("live", "rtmp://localhost/live"),
            ServerConnectionConfig::default(),
        )
    }

    /// Both connections start at instant 0, their handshakes drawn from a fixed seed.
    pub(crate) fn with_configs(
        client: ClientConnectionConfig,
        server: ServerConnectionConfig,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(0x5eed);
        let now = Instant::from_millis(0);
        Pair {
            client: ClientConnection::new(client, &mut rng, now),
            server: ServerConnection::new(server, &mut rng, now),
            now,
            latency: Duration::ZERO,
            app: ServerApp::accept_all(),
            step_limit: DEFAULT_STEP_LIMIT,
            client_to_server: Link::new(),
            server_to_client: Link::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            players: Vec::new(),
            relayed: Vec::new(),
            relay: None,
            access_requests: Vec::new(),
        }
    }

    fn link(&mut self, writer: Side) -> &mut Link {
        match writer {
            Side::Client => &mut self.client_to_server,
            Side::Server => &mut self.server_to_client,
        }
    }

    /// Lets `writer` write at most `limit` bytes per step (`None`: no limit).
    pub(crate) fn set_write_limit(&mut self, writer: Side, limit: Option<usize>) {
        self.link(writer).write_limit = limit;
    }

    /// Feeds what `writer` writes to its peer cut at random points drawn from `seed`
    /// (`None`: each write whole).
    pub(crate) fn set_split(&mut self, writer: Side, seed: Option<u64>) {
        self.link(writer).splitter = seed.map(StdRng::seed_from_u64);
    }

    /// Drops everything `writer` writes from now on (a peer that is never heard from).
    pub(crate) fn set_blackhole(&mut self, writer: Side, blackhole: bool) {
        self.link(writer).blackhole = blackhole;
    }

    /// Bytes `writer` has written so far.
    pub(crate) fn bytes_written(&self, writer: Side) -> u64 {
        match writer {
            Side::Client => self.client_to_server.carried,
            Side::Server => self.server_to_client.carried,
        }
    }

    /// The messages `writer` has sent so far (protocol control included), decoded from its
    /// chunk stream; the pair forgets them.
    pub(crate) fn wire(&mut self, writer: Side) -> Vec<OnWire> {
        core::mem::take(&mut self.link(writer).wire)
    }

    /// Whether `writer` has shut its side of the transport.
    pub(crate) fn is_shut(&self, writer: Side) -> bool {
        match writer {
            Side::Client => self.client_to_server.shut,
            Side::Server => self.server_to_client.shut,
        }
    }

    /// The client's events collected so far, oldest first; the pair forgets them.
    pub(crate) fn client_events(&mut self) -> Vec<ClientEvent> {
        core::mem::take(&mut self.client_events)
    }

    /// The server's events collected so far, oldest first; the pair forgets them.
    pub(crate) fn server_events(&mut self) -> Vec<ServerEvent> {
        core::mem::take(&mut self.server_events)
    }

    /// Both sides' events, as [`client_events`](Self::client_events) and
    /// [`server_events`](Self::server_events).
    pub(crate) fn events(&mut self) -> (Vec<ClientEvent>, Vec<ServerEvent>) {
        (self.client_events(), self.server_events())
    }

    /// Steps until both sides are quiet: nothing to deliver, to write, to report or to time
    /// out at the current instant, and nothing in flight. The clock moves only to let bytes in
    /// flight arrive (and fires the deadlines that come first).
    pub(crate) fn drive(&mut self) {
        self.run(None);
    }

    /// Moves the clock exactly `duration` ahead, stopping at every deadline and arrival on the
    /// way, and drives until quiet at the end; what arrives later stays in flight.
    pub(crate) fn advance(&mut self, duration: Duration) {
        let until = self.now + duration;
        self.run(Some(until));
    }

    /// Moves the clock to `until` (if later) the way [`advance`](Self::advance) does.
    pub(crate) fn advance_to(&mut self, until: Instant) {
        self.run(Some(until.max(self.now)));
    }

    fn run(&mut self, until: Option<Instant>) {
        let mut steps = 0usize;
        loop {
            steps += 1;
            assert!(
                steps <= self.step_limit,
                "the pair is still busy after {} steps at {:?} (client timeout {:?}, server \
                 timeout {:?}, in flight {} / {} blocks): a livelock, or raise step_limit",
                self.step_limit,
                self.now,
                self.client.poll_timeout(),
                self.server.poll_timeout(),
                self.client_to_server.in_flight.len(),
                self.server_to_client.in_flight.len(),
            );
            if self.step() {
                continue;
            }
            let arrival = [
                self.client_to_server.next_arrival(),
                self.server_to_client.next_arrival(),
            ]
            .into_iter()
            .flatten()
            .min();
            // Deadlines pull the clock only while something else does: quiet means quiet.
            let target = match until {
                Some(until) => Some(arrival.map_or(until, |arrival| arrival.min(until))),
                None => arrival,
            };
            let Some(target) = target else {
                return;
            };
            let deadline = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let next = deadline.map_or(target, |deadline| deadline.min(target));
            // A quiet step leaves nothing due now: only reaching `until` stops here.
            if next <= self.now {
                return;
            }
            self.now = next;
        }
    }

    /// One round at the current instant: the client, then the server, each fire due
    /// deadlines, read what arrived, report events (the server application answering its
    /// requests) and write. Whether anything happened.
    pub(crate) fn step(&mut self) -> bool {
        let client = self.step_client();
        let server = self.step_server();
        client | server
    }

    fn step_client(&mut self) -> bool {
        let now = self.now;
        let mut busy = false;
        if self.client.poll_timeout().is_some_and(|at| at <= now) {
            self.client.handle_timeout(now);
            busy = true;
        }
        for block in self.server_to_client.arrived(now) {
            busy = true;
            match block {
                Some(block) => {
                    for (i, piece) in self.server_to_client.pieces(block).into_iter().enumerate() {
                        // Both input methods, alternately: they must agree.
                        let _ = if i % 2 == 0 {
                            self.client.handle_input_bytes(now, piece)
                        } else {
                            self.client.handle_input(now, &piece)
                        };
                    }
                }
                None => self.client.handle_eof(now),
            }
        }
        while let Some(event) = self.client.poll_event() {
            busy = true;
            self.client_events.push(event);
        }
        let arrival = now + self.latency;
        let link = &mut self.client_to_server;
        let mut budget = link.write_limit.unwrap_or(usize::MAX);
        while budget > 0 {
            let Some(output) = self.client.poll_transmit() else {
                break;
            };
            busy |= link.write(output, &mut budget, arrival) > 0;
        }
        // Written output can make room: a Writable may follow.
        while let Some(event) = self.client.poll_event() {
            busy = true;
            self.client_events.push(event);
        }
        if self.client.error().is_some() && !link.shut && self.client.poll_transmit().is_none() {
            link.shut = true;
            if !link.blackhole {
                link.in_flight.push_back((arrival, None));
            }
            busy = true;
        }
        busy
    }

    fn step_server(&mut self) -> bool {
        let now = self.now;
        let mut busy = false;
        if self.server.poll_timeout().is_some_and(|at| at <= now) {
            self.server.handle_timeout(now);
            busy = true;
        }
        for block in self.client_to_server.arrived(now) {
            busy = true;
            match block {
                Some(block) => {
                    for (i, piece) in self.client_to_server.pieces(block).into_iter().enumerate() {
                        let _ = if i % 2 == 0 {
                            self.server.handle_input_bytes(now, piece)
                        } else {
                            self.server.handle_input(now, &piece)
                        };
                    }
                }
                None => self.server.handle_eof(now),
            }
        }
        busy |= self.collect_server_events();
        let arrival = now + self.latency;
        let link = &mut self.server_to_client;
        let mut budget = link.write_limit.unwrap_or(usize::MAX);
        while budget > 0 {
            let Some(output) = self.server.poll_transmit() else {
                break;
            };
            busy |= link.write(output, &mut budget, arrival) > 0;
        }
        busy |= self.collect_server_events();
        let link = &mut self.server_to_client;
        if self.server.is_closed() && !link.shut && self.server.poll_transmit().is_none() {
            link.shut = true;
            if !link.blackhole {
                link.in_flight.push_back((arrival, None));
            }
            busy = true;
        }
        busy
    }

    /// Polls the server's events, letting the application answer each request as it comes.
    fn collect_server_events(&mut self) -> bool {
        let mut any = false;
        if let Some(relay) = &mut self.relay {
            if relay.access_deadline().is_some_and(|at| at <= self.now) {
                any = true;
                if let Verdict::Close(_) = relay.handle_timeout(&mut self.server, self.now) {
                    self.server.close();
                }
            }
        }
        while let Some(event) = self.server.poll_event() {
            any = true;
            match &mut self.relay {
                Some(relay) => {
                    self.server_events.push(event.clone());
                    if let Verdict::Close(_) = relay.handle_event(&mut self.server, event, self.now)
                    {
                        self.server.close();
                    }
                    self.access_requests
                        .extend(core::iter::from_fn(|| relay.poll_access_request()));
                }
                None => {
                    self.answer(&event);
                    self.server_events.push(event);
                }
            }
        }
        any | self.deliver_batches()
    }

    /// Delivers what the hub handed the relay's player; whether there was anything.
    fn deliver_batches(&mut self) -> bool {
        let Some(relay) = &mut self.relay else {
            return false;
        };
        let mut any = false;
        loop {
            let Some(queue) = relay.receiver_mut() else {
                return any;
            };
            let batch = queue.borrow_mut().pop();
            let Some(batch) = batch else {
                // What was missed came after every batch the queue held.
                if queue.borrow_mut().take_lagged() {
                    relay.lagged();
                }
                return any;
            };
            any = true;
            if let Verdict::Close(_) = relay.deliver(&mut self.server, &batch, self.now) {
                self.server.close();
            }
        }
    }

    /// When something next happens on its own: bytes in flight arrive, or a deadline.
    pub(crate) fn next_arrival(&self) -> Option<Instant> {
        [
            self.client_to_server.next_arrival(),
            self.server_to_client.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The earlier of both sides' deadlines.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let relay = self
            .relay
            .as_ref()
            .and_then(|relay| relay.access_deadline());
        [
            self.client.poll_timeout(),
            self.server.poll_timeout(),
            relay,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn answer(&mut self, event: &ServerEvent) {
        let server = &mut self.server;
        // An answer the server refuses is a bug of the test, not of the connection.
        let result = match event {
            ServerEvent::ConnectRequest(request) => match self.app.connect {
                Answer::Accept => server.accept_connect(request.id),
                Answer::Reject { description, .. } => {
                    server.reject_connect(request.id, description)
                }
                Answer::Wait => Ok(()),
            },
            ServerEvent::PublishRequest(request) => match self.app.publish {
                Answer::Accept => server.accept_publish(request.id),
                Answer::Reject { code, description } => {
                    server.reject_publish(request.id, code, description)
                }
                Answer::Wait => Ok(()),
            },
            ServerEvent::PlayRequest(request) => match self.app.play {
                Answer::Accept => {
                    self.players.push(request.stream);
                    server.accept_play(request.id, self.app.play_kind)
                }
                Answer::Reject { code, description } => {
                    server.reject_play(request.id, code, description)
                }
                Answer::Wait => Ok(()),
            },
            ServerEvent::Call(call) => match (call.id, &self.app.calls) {
                (Some(id), Answer::Accept) => {
                    server.respond_call(id, Value::Null, call.arguments.clone())
                }
                (Some(id), Answer::Reject { description, .. }) => {
                    server.reject_call(id, description)
                }
                _ => Ok(()),
            },
            ServerEvent::PlayStopped { stream } | ServerEvent::StreamDeleted { stream } => {
                self.players.retain(|player| player != stream);
                Ok(())
            }
            ServerEvent::Audio {
                stream,
                timestamp,
                payload,
            } => {
                self.echo(*stream, *timestamp, Message::Audio(payload.clone()));
                Ok(())
            }
            ServerEvent::Video {
                stream,
                timestamp,
                payload,
            } => {
                self.echo(*stream, *timestamp, Message::Video(payload.clone()));
                Ok(())
            }
            ServerEvent::Metadata {
                stream,
                timestamp,
                metadata,
            } => {
                let data = crate::message::Data::on_metadata(metadata.clone());
                self.echo(*stream, *timestamp, Message::Data(data));
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(error) = result {
            panic!("the server application's answer to {event:?} was refused: {error}");
        }
    }

    fn echo(&mut self, from: u32, timestamp: u32, message: Message) {
        if !self.app.echo || self.server.publishing_name(from).is_none() {
            return;
        }
        for &player in &self.players {
            let status = match &message {
                Message::Audio(payload) => {
                    self.server.send_audio(player, timestamp, payload.clone())
                }
                Message::Video(payload) => {
                    self.server.send_video(player, timestamp, payload.clone())
                }
                Message::Data(data) => self.server.send_data(player, timestamp, data.clone()),
                _ => continue,
            };
            self.relayed
                .push((player, timestamp, message.clone(), status));
        }
    }

    /// What the relaying application sent to players so far; the pair forgets it.
    pub(crate) fn relayed(&mut self) -> Vec<Relayed> {
        core::mem::take(&mut self.relayed)
    }

    // ---- conveniences for the usual openings ----

    /// Connects (the server application deciding) and drives until quiet.
    pub(crate) fn connect(&mut self) {
        self.client.connect().expect("connect");
        self.drive();
    }

    /// Creates a stream and publishes `name` on it (FFmpeg's way), driving until quiet; the
    /// stream id (the publish itself may be refused or left waiting).
    pub(crate) fn publish(&mut self, name: &str, kind: super::client::PublishType) -> u32 {
        let request = self
            .client
            .create_stream_to_publish(name, kind)
            .expect("createStream");
        self.drive();
        self.created_stream(request)
    }

    /// Creates a stream and plays `name` on it; the stream id.
    pub(crate) fn play(&mut self, name: &str) -> u32 {
        let request = self
            .client
            .create_stream_to_play(name, Default::default())
            .expect("createStream");
        self.drive();
        self.created_stream(request)
    }

    fn created_stream(&self, request: TransactionId) -> u32 {
        self.client_events
            .iter()
            .find_map(|event| match event {
                ClientEvent::StreamCreated {
                    request: r,
                    stream_id,
                } if *r == request => Some(*stream_id),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no stream created: {:?}", self.client_events))
    }
}
