//! What the runtime adapters (`rtmp-tokio`, `rtmp-std`) have in common, kept here so that each
//! of them is only the part that moves bytes and keeps time.
//!
//! - [`Session`]: the one shape of [`ServerConnection`] and [`ClientConnection`] a driver
//!   loop needs (feed bytes, fire timers, take events and bytes to write).
//! - [`ClientSettings`] (with [`Profile`]): what a client's options are, whatever its
//!   adapter, their defaults, and what they mean for its connection.
//! - The waits of a client ([`Awaited`]: connect, createStream, publish, play, a call), which
//!   turn its events into results or a [`Refusal`] by the server; [`Playback`], which turns a
//!   player's events into [`Frame`]s.
//!
//! Nothing here reads a clock or touches a socket, and no type here carries an I/O error:
//! each adapter has its own `Error`, which a [`Refusal`] converts into.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::amf::Value;
use crate::chunk::ChunkOutput;
use crate::handshake::ClientConfig;
use crate::message::Data;
use crate::session::client::{
    ClientConnection, ClientConnectionConfig, ClientEvent, ConnectParams, Status, TransactionId,
};
use crate::session::server::{ServerConnection, ServerEvent};
use crate::session::{Instant, SessionConfig, SessionError};
use crate::url::RtmpUrl;

/// A sans-IO connection as its driver sees it; both roles have this shape (see the
/// [module](crate::session) for the order of the calls).
pub trait Session {
    /// What the connection reports.
    type Event;
    /// Feeds bytes read from the peer.
    fn handle_input_bytes(&mut self, now: Instant, input: Bytes) -> Result<(), SessionError>;
    /// Feeds bytes read from the peer, at most `max_messages` messages of them (a server's;
    /// a client takes them all); the rest stays in `input`, to be fed next.
    fn handle_input_some(
        &mut self,
        now: Instant,
        input: &mut Bytes,
        max_messages: usize,
    ) -> Result<(), SessionError>;
    /// Checks the deadlines; called once [`poll_timeout`](Self::poll_timeout) is reached.
    fn handle_timeout(&mut self, now: Instant);
    /// The next event, if any.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// The bytes to write next, if any.
    fn poll_transmit(&mut self) -> Option<&mut ChunkOutput>;
    /// Whether, its output written empty, [`poll_transmit`](Self::poll_transmit) has nothing
    /// more to do: the driver need not call it again until it sends or reads.
    fn transmit_settled(&self) -> bool;
    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Ends the connection from our side; its last bytes and its `Closed` event follow.
    fn close(&mut self);
    /// Why the connection ended, if `event` is its last one (`Closed`).
    fn closed_reason(event: &Self::Event) -> Option<&SessionError>;
}

/// Implements [`Session`] for a connection type by calling its own methods of the same names.
macro_rules! impl_session {
    ($connection:ident, $event:ident) => {
        impl Session for $connection {
            type Event = $event;

            #[inline]
            fn handle_input_bytes(
                &mut self,
                now: Instant,
                input: Bytes,
            ) -> Result<(), SessionError> {
                $connection::handle_input_bytes(self, now, input)
            }

            #[inline]
            fn handle_input_some(
                &mut self,
                now: Instant,
                input: &mut Bytes,
                max_messages: usize,
            ) -> Result<(), SessionError> {
                $connection::handle_input_some(self, now, input, max_messages)
            }

            #[inline]
            fn handle_timeout(&mut self, now: Instant) {
                $connection::handle_timeout(self, now)
            }

            #[inline]
            fn poll_event(&mut self) -> Option<$event> {
                $connection::poll_event(self)
            }

            #[inline]
            fn poll_transmit(&mut self) -> Option<&mut ChunkOutput> {
                $connection::poll_transmit(self)
            }

            #[inline]
            fn transmit_settled(&self) -> bool {
                $connection::transmit_settled(self)
            }

            #[inline]
            fn poll_timeout(&self) -> Option<Instant> {
                $connection::poll_timeout(self)
            }

            #[inline]
            fn close(&mut self) {
                $connection::close(self)
            }

            #[inline]
            fn closed_reason(event: &$event) -> Option<&SessionError> {
                match event {
                    $event::Closed(reason) => Some(reason),
                    _ => None,
                }
            }
        }
    };
}

impl_session!(ServerConnection, ServerEvent);
impl_session!(ClientConnection, ClientEvent);

/// Which `connect` parameters a client sends (RTMP 1.0 §7.2.1.1): servers tell publishers from
/// players by them, as FFmpeg's two sets show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// A player's parameters ([`ConnectParams::player`]).
    #[default]
    Player,
    /// An encoder's parameters ([`ConnectParams::publisher`]: `flashVer` `FMLE/3.0`).
    Publisher,
}

/// How long a client's TCP connection, handshake and answer to `connect` may take together by
/// default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client waits by default for the answer to `createStream`, `publish`, `play` or a
/// call.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an adapter, once it has written a connection's last bytes and shut its side of
/// the stream, reads and drops what the peer still sends, waiting for the peer to close its
/// side: closing a TCP socket with unread bytes resets the connection (RFC 1122 §4.2.2.13),
/// and the reset can destroy our last messages (a refused connect's `_error`, a goodbye
/// status) before the peer reads them. Both adapters' drivers linger this long at most.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Whether a connection that ended for `reason` lingers ([`CLOSE_LINGER`]) before its stream
/// is dropped: only one closed on purpose ([`SessionError::Closed`]: by us, or refusing the
/// peer) may have a last answer in flight; one that timed out or broke the protocol has
/// nothing to say, and waiting on its peer would only hold the socket.
pub fn lingers_after(reason: &SessionError) -> bool {
    *reason == SessionError::Closed
}

/// What a client's options say whatever its adapter, with their defaults, written once here:
/// each adapter's `ClientOptions` holds one as its `settings`, beside what only that adapter
/// has (TLS trust, read and write timeouts).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClientSettings {
    /// The `connect` parameters to start from; `app` and `tcUrl` come from the URL. Default
    /// [`Profile::Player`].
    pub profile: Profile,
    /// Limits, chunk size, timeouts and outbound queue bounds. The default has no idle
    /// timeout but pings a server that has been silent for 30 s, and gives up 30 s later: a
    /// publisher's server sends next to nothing, and a player may wait long for a live stream
    /// to start.
    pub session: SessionConfig,
    /// The handshake offered (digest by default, like FFmpeg).
    pub handshake: ClientConfig,
    /// Send `releaseStream` and `FCPublish` before `publish`, as FFmpeg and OBS do. Default
    /// true.
    pub send_fc_publish: bool,
    /// Values sent after the `connect` command object (credentials some servers expect).
    pub connect_arguments: Vec<Value>,
    /// The TCP connection, the handshake and the answer to `connect` together must take no
    /// longer. Default 10 s.
    pub connect_timeout: Duration,
    /// How long to wait for the answer to `createStream`, `publish`, `play` or a call.
    /// Default 10 s.
    pub request_timeout: Duration,
    /// A publisher that announces Enhanced RTMP's reconnect capability (`capsEx` bit 1) and
    /// honours a ReconnectRequest (Enhanced RTMP v2, "Reconnect"; see
    /// [`Handover`](crate::session::client::Handover)). Default false;
    /// [`publisher`](Self::publisher) sets it.
    pub reconnect: bool,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            profile: Profile::Player,
            session: SessionConfig {
                idle_timeout: None,
                ping_interval: Some(Duration::from_secs(30)),
                ..SessionConfig::default()
            },
            handshake: ClientConfig::default(),
            send_fc_publish: true,
            connect_arguments: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            reconnect: false,
        }
    }
}

impl ClientSettings {
    /// The defaults, with an encoder's `connect` parameters, moving on a ReconnectRequest.
    pub fn publisher() -> Self {
        ClientSettings {
            profile: Profile::Publisher,
            reconnect: true,
            ..ClientSettings::default()
        }
    }

    /// With the `connect` parameters of `profile`.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// With these session settings.
    pub fn with_session(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// With this handshake.
    pub fn with_handshake(mut self, handshake: ClientConfig) -> Self {
        self.handshake = handshake;
        self
    }

    /// Whether to send `releaseStream` and `FCPublish` before `publish`.
    pub fn with_send_fc_publish(mut self, send: bool) -> Self {
        self.send_fc_publish = send;
        self
    }

    /// With these values after the `connect` command object.
    pub fn with_connect_arguments(mut self, arguments: Vec<Value>) -> Self {
        self.connect_arguments = arguments;
        self
    }

    /// With this bound on the connection, the handshake and `connect`.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// With this bound on the answer to each request.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Whether a publisher moves on a ReconnectRequest.
    pub fn with_reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// The configuration of a client connection to `url`: `app` and `tcUrl` from the URL,
    /// the `connect` parameters of the profile followed by the connect arguments, and the
    /// reconnect capability if the client moves.
    pub fn connection_config(&self, url: &RtmpUrl) -> ClientConnectionConfig {
        let tc_url = url.tc_url();
        let mut connect = match self.profile {
            Profile::Player => ConnectParams::player(url.app.as_str(), tc_url),
            Profile::Publisher => ConnectParams::publisher(url.app.as_str(), tc_url),
        };
        connect.extra_arguments = self.connect_arguments.clone();
        if self.reconnect {
            let caps = connect.caps_ex.unwrap_or(0);
            connect.caps_ex = Some(caps | crate::session::CAPS_EX_RECONNECT);
        }
        ClientConnectionConfig {
            session: self.session.clone(),
            handshake: self.handshake.clone(),
            connect,
            send_fc_publish: self.send_fc_publish,
        }
    }
}

/// What a player receives.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Frame {
    /// Audio: an FLV audio tag body (see [`crate::media::AudioInfo`]).
    Audio {
        /// Milliseconds.
        timestamp: u32,
        /// The payload, not copied from the read buffer when it arrived in one chunk.
        payload: Bytes,
    },
    /// Video: an FLV video tag body (see [`crate::media::VideoInfo`]).
    Video {
        /// Milliseconds.
        timestamp: u32,
        /// The payload.
        payload: Bytes,
    },
    /// `onMetaData`.
    Metadata(Value),
    /// Another data message (e.g. `|RtmpSampleAccess`, `onTextData`).
    Data {
        /// Milliseconds.
        timestamp: u32,
        /// The message.
        data: Data,
    },
    /// An `onStatus` or `onPlayStatus` for this stream, e.g. NetStream.Play.UnpublishNotify
    /// when a live stream's publisher leaves (RTMP 1.0 §7.2.2).
    Status(Status),
}

/// Where a played stream is: which events are its frames, and when it is over.
#[derive(Clone, Debug)]
pub struct Playback {
    stream: u32,
    end_on_unpublish: bool,
    finished: bool,
    /// A seek, pause or resume was asked for and the server has not sent Stream Begin since.
    restart_expected: bool,
    position: u32,
    last_status: Option<Status>,
}

impl Playback {
    /// A stream that started playing on message stream `stream`. `end_on_unpublish`: whether
    /// NetStream.Play.UnpublishNotify (the live stream's publisher left) ends it.
    pub fn new(stream: u32, end_on_unpublish: bool) -> Self {
        Playback {
            stream,
            end_on_unpublish,
            finished: false,
            restart_expected: false,
            position: 0,
            last_status: None,
        }
    }

    /// The message stream played on.
    pub fn stream_id(&self) -> u32 {
        self.stream
    }

    /// Whether playback is over: the server stopped it (NetStream.Play.Stop, Play.Complete,
    /// a failure, UnpublishNotify if that ends it) or sent Stream EOF (RTMP 1.0 §7.1.7: "no
    /// more data is sent without issuing additional commands"; all nginx-rtmp tells a live
    /// player when the publisher leaves), except the Stream EOF that comes before the answer
    /// to a seek, pause or resume (see [`expect_restart`](Self::expect_restart)). At the end
    /// of a recording nginx-rtmp sends Stream EOF before NetStream.Play.Complete: that status
    /// then stays among the connection's events.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Changes whether NetStream.Play.UnpublishNotify ends playback.
    pub fn set_end_on_unpublish(&mut self, end: bool) {
        self.end_on_unpublish = end;
    }

    /// The timestamp of the last audio or video frame, in milliseconds.
    pub fn position(&self) -> u32 {
        self.position
    }

    /// The last status received for this stream.
    pub fn last_status(&self) -> Option<&Status> {
        self.last_status.as_ref()
    }

    /// A seek, pause or resume was sent: playback goes on, even if it was over, and a Stream
    /// EOF before the next Stream Begin does not end it (nginx-rtmp answers a seek with Stream
    /// EOF, Seek.Notify, Stream Begin, then the media).
    pub fn expect_restart(&mut self) {
        self.finished = false;
        self.restart_expected = true;
    }

    /// What `event` means for this stream: `Some` frame of it, or `None` (another stream's
    /// event, Stream EOF, Stream Begin, or something else that is no frame).
    pub fn frame(&mut self, event: ClientEvent) -> Option<Frame> {
        let frame = match event {
            ClientEvent::Audio {
                stream,
                timestamp,
                payload,
            } if stream == self.stream => Frame::Audio { timestamp, payload },
            ClientEvent::Video {
                stream,
                timestamp,
                payload,
            } if stream == self.stream => Frame::Video { timestamp, payload },
            ClientEvent::Metadata { stream, metadata } if stream == self.stream => {
                Frame::Metadata(metadata)
            }
            ClientEvent::Data {
                stream,
                timestamp,
                data,
            } if stream == self.stream => Frame::Data { timestamp, data },
            ClientEvent::Status { stream, status } if stream == self.stream => {
                // Decided by the status alone, not by the connection's state: the connection
                // may have read far ahead of the events handed out (a seek's answer, then the
                // end of the file, behind a backlog of media).
                self.finished = status.is_error()
                    || match status.code.as_str() {
                        "NetStream.Play.Stop" | "NetStream.Play.Complete" => true,
                        "NetStream.Play.UnpublishNotify" => self.end_on_unpublish,
                        _ => false,
                    };
                self.last_status = Some(status.clone());
                Frame::Status(status)
            }
            ClientEvent::StreamEof { stream } if stream == self.stream => {
                if !self.restart_expected {
                    self.finished = true;
                }
                return None;
            }
            ClientEvent::StreamBegin { stream } if stream == self.stream => {
                self.restart_expected = false;
                return None;
            }
            _ => return None,
        };
        if let Frame::Audio { timestamp, .. } | Frame::Video { timestamp, .. } = &frame {
            self.position = *timestamp;
        }
        Some(frame)
    }
}

/// Why the server refused what a client asked for (the adapters' `Error::Refused`): the
/// statuses' `code` and `description` as the server sent them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The server refused `connect` (RTMP 1.0 §7.2.1.1).
    #[error("connection rejected: {code}: {description}")]
    ConnectRejected {
        /// E.g. `NetConnection.Connect.Rejected`.
        code: String,
        /// The server's explanation.
        description: String,
    },
    /// The server refused `createStream` (RTMP 1.0 §7.2.1.3).
    #[error("createStream failed: {code}: {description}")]
    CreateStreamFailed {
        /// E.g. `NetConnection.Call.Failed`.
        code: String,
        /// The server's explanation.
        description: String,
    },
    /// The server refused `publish` (RTMP 1.0 §7.2.2.6).
    #[error("publish rejected: {code}: {description}")]
    PublishRejected {
        /// E.g. `NetStream.Publish.BadName`.
        code: String,
        /// The server's explanation.
        description: String,
    },
    /// The server refused `play` (RTMP 1.0 §7.2.2.1).
    #[error("play rejected: {code}: {description}")]
    PlayRejected {
        /// E.g. `NetStream.Play.StreamNotFound`.
        code: String,
        /// The server's explanation.
        description: String,
    },
    /// The server answered a call with `_error` (RTMP 1.0 §7.2.1.2).
    #[error("call failed: {code}: {description}")]
    CallFailed {
        /// E.g. `NetConnection.Call.Failed`.
        code: String,
        /// The server's explanation.
        description: String,
    },
}

/// What a client waits for after a command, and which event answers it. The adapter
/// drives the connection and shows each event to [`answer`](Self::answer) until it says
/// the wait is over; the other events are the application's.
pub trait Awaited {
    /// What the wait yields.
    type Output;
    /// What the wait is for, as an adapter's timeout error says it.
    fn waiting_for(&self) -> &'static str;
    /// `Some` once `event` settles the wait. `connection` is the one the event came from,
    /// after the event.
    fn answer(
        &mut self,
        connection: &ClientConnection,
        event: &ClientEvent,
    ) -> Option<Result<Self::Output, Refusal>>;
}

/// The answer to `connect` (RTMP 1.0 §7.2.1.1).
#[derive(Clone, Copy, Debug, Default)]
pub struct AwaitConnect;

impl Awaited for AwaitConnect {
    type Output = ();

    fn waiting_for(&self) -> &'static str {
        "waiting for the answer to connect"
    }

    fn answer(&mut self, _: &ClientConnection, event: &ClientEvent) -> Option<Result<(), Refusal>> {
        match event {
            ClientEvent::Connected { .. } => Some(Ok(())),
            ClientEvent::ConnectRejected {
                code, description, ..
            } => Some(Err(Refusal::ConnectRejected {
                code: code.clone(),
                description: description.clone(),
            })),
            _ => None,
        }
    }
}

/// The answer to a `createStream` (RTMP 1.0 §7.2.1.3): the new stream's id.
#[derive(Clone, Copy, Debug)]
pub struct AwaitStream {
    request: TransactionId,
}

impl AwaitStream {
    /// Waits for the answer to the `createStream` of transaction `request`.
    pub fn new(request: TransactionId) -> Self {
        AwaitStream { request }
    }
}

impl Awaited for AwaitStream {
    type Output = u32;

    fn waiting_for(&self) -> &'static str {
        "waiting for the answer to createStream"
    }

    fn answer(
        &mut self,
        _: &ClientConnection,
        event: &ClientEvent,
    ) -> Option<Result<u32, Refusal>> {
        match event {
            ClientEvent::StreamCreated { request, stream_id } if *request == self.request => {
                Some(Ok(*stream_id))
            }
            ClientEvent::CreateStreamFailed {
                request,
                information,
            } if *request == self.request => Some(Err(create_stream_failed(information))),
            _ => None,
        }
    }
}

fn create_stream_failed(information: &Value) -> Refusal {
    let status = Status::from_info(information.clone());
    Refusal::CreateStreamFailed {
        code: status.code,
        description: status.description,
    }
}

/// Whether a stream is to publish or to play.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartKind {
    /// `publish` (RTMP 1.0 §7.2.2.6): NetStream.Publish.Start.
    Publish,
    /// `play` (RTMP 1.0 §7.2.2.1): NetStream.Play.Start.
    Play,
}

/// The start of publishing or playing on a stream created for it (the connection's
/// `create_stream_to_publish` and `create_stream_to_play`): the stream's id once it
/// started, or the server's refusal of `createStream`, `publish` or `play`.
#[derive(Clone, Copy, Debug)]
pub struct AwaitStart {
    request: TransactionId,
    kind: StartKind,
    stream: Option<u32>,
}

impl AwaitStart {
    /// Waits for the stream of `createStream` transaction `request` to start `kind`.
    pub fn new(request: TransactionId, kind: StartKind) -> Self {
        AwaitStart {
            request,
            kind,
            stream: None,
        }
    }
}

impl Awaited for AwaitStart {
    type Output = u32;

    fn waiting_for(&self) -> &'static str {
        match self.kind {
            StartKind::Publish => "waiting for the answer to publish",
            StartKind::Play => "waiting for the answer to play",
        }
    }

    fn answer(
        &mut self,
        _connection: &ClientConnection,
        event: &ClientEvent,
    ) -> Option<Result<u32, Refusal>> {
        match event {
            ClientEvent::StreamCreated { request, stream_id } if *request == self.request => {
                self.stream = Some(*stream_id);
                None
            }
            ClientEvent::CreateStreamFailed {
                request,
                information,
            } if *request == self.request => Some(Err(create_stream_failed(information))),
            ClientEvent::PublishStarted { stream } if self.kind == StartKind::Publish => {
                (Some(*stream) == self.stream).then_some(Ok(*stream))
            }
            ClientEvent::PlayStarted { stream } if self.kind == StartKind::Play => {
                (Some(*stream) == self.stream).then_some(Ok(*stream))
            }
            ClientEvent::StartRefused { stream, status } if Some(*stream) == self.stream => {
                let (code, description) = (status.code.clone(), status.description.clone());
                Some(Err(match self.kind {
                    StartKind::Publish => Refusal::PublishRejected { code, description },
                    StartKind::Play => Refusal::PlayRejected { code, description },
                }))
            }
            _ => None,
        }
    }
}

/// The answer to a call (RTMP 1.0 §7.2.1.2): the `_result`'s command object and the
/// values after it, or [`Refusal::CallFailed`] for an `_error`.
#[derive(Clone, Copy, Debug)]
pub struct AwaitCall {
    transaction: TransactionId,
}

impl AwaitCall {
    /// Waits for the answer to the call of transaction `transaction`.
    pub fn new(transaction: TransactionId) -> Self {
        AwaitCall { transaction }
    }
}

impl Awaited for AwaitCall {
    type Output = (Value, Vec<Value>);

    fn waiting_for(&self) -> &'static str {
        "waiting for the answer to a call"
    }

    fn answer(
        &mut self,
        _: &ClientConnection,
        event: &ClientEvent,
    ) -> Option<Result<(Value, Vec<Value>), Refusal>> {
        match event {
            ClientEvent::CallResult {
                transaction,
                command_object,
                values,
            } if *transaction == self.transaction => {
                Some(Ok((command_object.clone(), values.clone())))
            }
            ClientEvent::CallError {
                transaction,
                command_object,
                values,
            } if *transaction == self.transaction => {
                // The information object is the first value; some servers put it in
                // the command object's place.
                let information = values.first().unwrap_or(command_object).clone();
                let status = Status::from_info(information);
                Some(Err(Refusal::CallFailed {
                    code: status.code,
                    description: status.description,
                }))
            }
            _ => None,
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::amf::Value;

    fn info(level: &str, code: &str, description: &str) -> Value {
        crate::amf_object! {
            "level" => level,
            "code" => code,
            "description" => description,
        }
    }

    #[test]
    fn a_refusal_says_what_the_server_said() {
        let rejected = Refusal::ConnectRejected {
            code: "NetConnection.Connect.Rejected".into(),
            description: "no".into(),
        };
        assert_eq!(
            rejected.to_string(),
            "connection rejected: NetConnection.Connect.Rejected: no"
        );
        assert_eq!(
            AwaitConnect.waiting_for(),
            "waiting for the answer to connect"
        );
    }

    #[test]
    fn a_publishers_settings_announce_that_it_moves() {
        let url: RtmpUrl = "rtmp://127.0.0.1/live".parse().unwrap();
        let reconnect = |settings: ClientSettings| {
            let caps = settings
                .connection_config(&url)
                .connect
                .caps_ex
                .unwrap_or(0);
            caps & crate::session::CAPS_EX_RECONNECT != 0
        };
        assert!(reconnect(ClientSettings::publisher()));
        assert!(!reconnect(ClientSettings::default()));
        assert!(!reconnect(
            ClientSettings::publisher().with_reconnect(false)
        ));
        let player = ClientSettings::default().connection_config(&url);
        assert_eq!(player.session.idle_timeout, None);
        assert_eq!(player.connect.app, "live");
    }

    #[test]
    fn a_call_error_reads_its_information_object() {
        let mut connection = test_connection();
        let other_call = connection.call("other", Value::Null, vec![]).unwrap();
        let ours = connection.call("ours", Value::Null, vec![]).unwrap();
        let mut call = AwaitCall::new(ours);
        let other = ClientEvent::CallError {
            transaction: other_call,
            command_object: Value::Null,
            values: vec![],
        };
        assert!(call.answer(&connection, &other).is_none());
        let failed = ClientEvent::CallError {
            transaction: ours,
            command_object: Value::Null,
            values: vec![info("error", "NetConnection.Call.Failed", "nope")],
        };
        let error = call.answer(&connection, &failed).unwrap().unwrap_err();
        assert_eq!(
            error.to_string(),
            "call failed: NetConnection.Call.Failed: nope"
        );
    }

    #[test]
    fn a_refused_create_stream_says_why() {
        let mut connection = test_connection();
        let request = connection.create_stream().unwrap();
        let mut start = AwaitStart::new(request, StartKind::Play);
        let failed = ClientEvent::CreateStreamFailed {
            request,
            information: info("error", "NetConnection.Call.Failed", "full"),
        };
        let error = start.answer(&connection, &failed).unwrap().unwrap_err();
        assert_eq!(
            error,
            Refusal::CreateStreamFailed {
                code: "NetConnection.Call.Failed".into(),
                description: "full".into(),
            }
        );
        assert_eq!(
            error.to_string(),
            "createStream failed: NetConnection.Call.Failed: full"
        );
    }

    #[test]
    fn playback_hands_out_its_streams_frames_and_ends_on_stream_eof() {
        let mut playback = Playback::new(1, false);
        let video = |stream| ClientEvent::Video {
            stream,
            timestamp: 40,
            payload: Bytes::from_static(&[0x17]),
        };
        assert_eq!(playback.frame(video(2)), None);
        assert_eq!(
            playback.frame(video(1)),
            Some(Frame::Video {
                timestamp: 40,
                payload: Bytes::from_static(&[0x17])
            })
        );
        assert_eq!(playback.position(), 40);
        let unpublished = ClientEvent::Status {
            stream: 1,
            status: Status::from_info(info("status", "NetStream.Play.UnpublishNotify", "")),
        };
        assert!(matches!(
            playback.frame(unpublished.clone()),
            Some(Frame::Status(_))
        ));
        assert!(!playback.is_finished());
        playback.set_end_on_unpublish(true);
        let _ = playback.frame(unpublished);
        assert!(playback.is_finished());
        playback.expect_restart();
        assert!(!playback.is_finished());
        let eof = ClientEvent::StreamEof { stream: 1 };
        assert_eq!(playback.frame(eof.clone()), None);
        assert!(
            !playback.is_finished(),
            "Stream EOF comes before a seek's media"
        );
        assert_eq!(playback.frame(ClientEvent::StreamBegin { stream: 1 }), None);
        assert_eq!(playback.frame(eof), None);
        assert!(
            playback.is_finished(),
            "Stream EOF of a stream that plays ends it"
        );
        playback.expect_restart();
        let stopped = ClientEvent::Status {
            stream: 1,
            status: Status::from_info(info("status", "NetStream.Play.Stop", "")),
        };
        let _ = playback.frame(stopped);
        assert!(playback.is_finished(), "Play.Stop ends playback");
    }

    fn test_connection() -> ClientConnection {
        use rand::SeedableRng;
        let url: RtmpUrl = "rtmp://127.0.0.1/live".parse().unwrap();
        let config = ClientSettings::default().connection_config(&url);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut connection = ClientConnection::new(config, &mut rng, Instant::from_millis(0));
        connection.connect().unwrap();
        connection
    }
}
