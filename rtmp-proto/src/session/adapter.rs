//! What the runtime adapters (`rtmp-tokio`, `rtmp-std`) have in common, kept here so that each
//! of them is only the part that moves bytes and keeps time.
//!
//! - [`Session`]: the one shape of [`ServerConnection`] and [`ClientConnection`] a driver
//!   loop needs (feed bytes, fire timers, take events and bytes to write).
//! - [`Profile`] and [`client_connection_config`]: what a client's options mean for its
//!   connection.
//! - With `std`: [`Error`], the adapters' error type; the waits of a client
//!   ([`Awaited`]: connect, createStream, publish, play, a call), which turn its events into
//!   results; [`Playback`], which turns a player's events into [`Frame`]s.
//! - [`server_session_commands!`](crate::server_session_commands): the commands a server
//!   session passes on to its [`ServerConnection`].
//!
//! Nothing here reads a clock or touches a socket.

use core::time::Duration;

use bytes::Bytes;

use crate::amf::Value;
use crate::chunk::ChunkOutput;
use crate::handshake::ClientConfig;
use crate::message::Data;
use crate::session::client::{
    ClientConnection, ClientConnectionConfig, ClientEvent, ConnectParams, Status,
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

            fn handle_input_bytes(
                &mut self,
                now: Instant,
                input: Bytes,
            ) -> Result<(), SessionError> {
                $connection::handle_input_bytes(self, now, input)
            }

            fn handle_input_some(
                &mut self,
                now: Instant,
                input: &mut Bytes,
                max_messages: usize,
            ) -> Result<(), SessionError> {
                $connection::handle_input_some(self, now, input, max_messages)
            }

            fn handle_timeout(&mut self, now: Instant) {
                $connection::handle_timeout(self, now)
            }

            fn poll_event(&mut self) -> Option<$event> {
                $connection::poll_event(self)
            }

            fn poll_transmit(&mut self) -> Option<&mut ChunkOutput> {
                $connection::poll_transmit(self)
            }

            fn poll_timeout(&self) -> Option<Instant> {
                $connection::poll_timeout(self)
            }

            fn close(&mut self) {
                $connection::close(self)
            }

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

/// The session settings a client starts from: no idle timeout, but a ping to a server that has
/// been silent for 30 s, given up 30 s later. A publisher's server sends next to nothing, and a
/// player may wait long for a live stream to start.
pub fn client_session_config() -> SessionConfig {
    SessionConfig {
        idle_timeout: None,
        ping_interval: Some(Duration::from_secs(30)),
        ..SessionConfig::default()
    }
}

/// The configuration of a client connection to `url`: `app` and `tcUrl` from the URL, the
/// `connect` parameters of `profile` followed by `connect_arguments`.
pub fn client_connection_config(
    url: &RtmpUrl,
    profile: Profile,
    connect_arguments: &[Value],
    session: &SessionConfig,
    handshake: &ClientConfig,
    send_fc_publish: bool,
) -> ClientConnectionConfig {
    let tc_url = url.tc_url();
    let mut connect = match profile {
        Profile::Player => ConnectParams::player(url.app.as_str(), tc_url),
        Profile::Publisher => ConnectParams::publisher(url.app.as_str(), tc_url),
    };
    connect.extra_arguments = connect_arguments.to_vec();
    ClientConnectionConfig {
        session: session.clone(),
        handshake: handshake.clone(),
        connect,
        send_fc_publish,
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

/// Passes the commands of a server session on to its [`ServerConnection`]: defines, in an
/// `impl` block of the session type, `accept_connect`, `reject_connect`, `accept_publish`,
/// `reject_publish`, `accept_play`, `reject_play`, `send_audio`, `send_video`,
/// `send_metadata`, `send_status` and `send_stream_eof`, each calling the connection's method
/// of that name through the field path given (e.g. `driver.conn`). The calling crate must
/// depend on `bytes` and on this crate as `rtmp_proto` (the documentation links to it).
#[macro_export]
macro_rules! server_session_commands {
    ($($field:ident).+) => {
        /// Accepts a connect ([`ServerConnection::accept_connect`](rtmp_proto::session::server::ServerConnection::accept_connect)).
        pub fn accept_connect(
            &mut self,
            request: $crate::session::server::RequestId,
        ) -> Result<(), $crate::session::ApiError> {
            self $(.$field)+ .accept_connect(request)
        }

        /// Refuses a connect ([`ServerConnection::reject_connect`](rtmp_proto::session::server::ServerConnection::reject_connect)).
        pub fn reject_connect(
            &mut self,
            request: $crate::session::server::RequestId,
            description: &str,
        ) -> Result<(), $crate::session::ApiError> {
            self $(.$field)+ .reject_connect(request, description)
        }

        /// Accepts a publish ([`ServerConnection::accept_publish`](rtmp_proto::session::server::ServerConnection::accept_publish)).
        pub fn accept_publish(
            &mut self,
            request: $crate::session::server::RequestId,
        ) -> Result<(), $crate::session::ApiError> {
            self $(.$field)+ .accept_publish(request)
        }

        /// Refuses a publish with `code`, e.g. `NetStream.Publish.BadName`
        /// ([`ServerConnection::reject_publish`](rtmp_proto::session::server::ServerConnection::reject_publish)).
        pub fn reject_publish(
            &mut self,
            request: $crate::session::server::RequestId,
            code: &str,
            description: &str,
        ) -> Result<(), $crate::session::ApiError> {
            self $(.$field)+ .reject_publish(request, code, description)
        }

        /// Accepts a play ([`ServerConnection::accept_play`](rtmp_proto::session::server::ServerConnection::accept_play)).
        pub fn accept_play(
            &mut self,
            request: $crate::session::server::RequestId,
            kind: $crate::session::server::StreamKind,
        ) -> Result<(), $crate::session::ApiError> {
            self $(.$field)+ .accept_play(request, kind)
        }

        /// Refuses a play with `code`, e.g. `NetStream.Play.StreamNotFound`
        /// ([`ServerConnection::reject_play`](rtmp_proto::session::server::ServerConnection::reject_play)).
        pub fn reject_play(
            &mut self,
            request: $crate::session::server::RequestId,
            code: &str,
            description: &str,
        ) -> Result<(), $crate::session::ApiError> {
            self $(.$field)+ .reject_play(request, code, description)
        }

        /// Queues audio for a playing stream ([`ServerConnection::send_audio`](rtmp_proto::session::server::ServerConnection::send_audio)).
        pub fn send_audio(
            &mut self,
            stream: u32,
            timestamp: u32,
            payload: ::bytes::Bytes,
        ) -> Result<$crate::session::SendStatus, $crate::session::ApiError> {
            self $(.$field)+ .send_audio(stream, timestamp, payload)
        }

        /// Queues video for a playing stream; above the high-water mark, video that is not a
        /// keyframe is dropped ([`ServerConnection::send_video`](rtmp_proto::session::server::ServerConnection::send_video)).
        pub fn send_video(
            &mut self,
            stream: u32,
            timestamp: u32,
            payload: ::bytes::Bytes,
        ) -> Result<$crate::session::SendStatus, $crate::session::ApiError> {
            self $(.$field)+ .send_video(stream, timestamp, payload)
        }

        /// Queues `onMetaData` for a playing stream ([`ServerConnection::send_metadata`](rtmp_proto::session::server::ServerConnection::send_metadata)).
        pub fn send_metadata(
            &mut self,
            stream: u32,
            metadata: $crate::amf::Value,
        ) -> Result<$crate::session::SendStatus, $crate::session::ApiError> {
            self $(.$field)+ .send_metadata(stream, metadata)
        }

        /// Queues an onStatus on `stream`, e.g. NetStream.Play.UnpublishNotify
        /// ([`ServerConnection::send_status`](rtmp_proto::session::server::ServerConnection::send_status)).
        pub fn send_status(
            &mut self,
            stream: u32,
            level: $crate::session::server::StatusLevel,
            code: &str,
            description: &str,
        ) -> Result<$crate::session::SendStatus, $crate::session::ApiError> {
            self $(.$field)+ .send_status(stream, level, code, description)
        }

        /// Queues Stream EOF for `stream`: playback is over
        /// ([`ServerConnection::send_stream_eof`](rtmp_proto::session::server::ServerConnection::send_stream_eof)).
        pub fn send_stream_eof(
            &mut self,
            stream: u32,
        ) -> Result<$crate::session::SendStatus, $crate::session::ApiError> {
            self $(.$field)+ .send_stream_eof(stream)
        }
    };
}

#[cfg(feature = "std")]
pub use self::with_std::*;

#[cfg(feature = "std")]
mod with_std {
    use alloc::boxed::Box;
    use alloc::string::String;
    use alloc::vec::Vec;
    use std::io;
    use std::sync::Arc;

    use super::*;
    use crate::flv::FlvError;
    use crate::session::client::{StreamStatus, TransactionId};
    use crate::session::ApiError;
    use crate::url::UrlError;

    /// Why an adapter's operation failed or its connection ended, in words a user can act on.
    /// Cheap to clone (an I/O error is shared), so a connection can give the same reason to
    /// every later call.
    ///
    /// A [`Timeout`](Error::Timeout) of a wait the caller bounded (a read timeout of the
    /// blocking adapter) leaves the connection usable; every other error of a connection ends
    /// it.
    #[derive(Debug, Clone, thiserror::Error)]
    #[non_exhaustive]
    pub enum Error {
        /// The URL is not an `rtmp://` or `rtmps://` URL we can use.
        #[error("invalid RTMP URL: {0}")]
        Url(#[from] UrlError),
        /// The TCP connection could not be made.
        #[error("cannot connect to {address}: {source}")]
        Connect {
            /// `host:port` as given.
            address: String,
            /// What the operating system said.
            source: Arc<io::Error>,
        },
        /// A wait did not end in time.
        #[error("timed out after {after:?} {waiting_for}")]
        Timeout {
            /// How long we waited.
            after: Duration,
            /// What we were waiting for, e.g. "waiting for the answer to connect".
            waiting_for: &'static str,
        },
        /// Reading or writing the byte stream failed.
        #[error("i/o error: {0}")]
        Io(Arc<io::Error>),
        /// The peer closed the connection.
        #[error("the peer closed the connection")]
        PeerClosed,
        /// The connection was closed from our side.
        #[error("the connection was closed")]
        Closed,
        /// The peer broke the protocol, or a protocol timeout expired (RTMP 1.0 §5 to §7).
        #[error("{0}")]
        Session(SessionError),
        /// The server refused `connect` (RTMP 1.0 §7.2.1.1).
        #[error("connection rejected: {code}: {description}")]
        ConnectRejected {
            /// E.g. `NetConnection.Connect.Rejected`.
            code: String,
            /// The server's explanation.
            description: String,
        },
        /// The server refused `createStream` (RTMP 1.0 §7.2.1.3).
        #[error("createStream failed: {0}")]
        CreateStreamFailed(String),
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
        /// An FLV file could not be read.
        #[error("FLV: {0}")]
        Flv(#[from] FlvError),
        /// TLS failed: a certificate or key that cannot be read, a server name that is not
        /// valid, or a handshake that failed (e.g. a certificate no trusted root vouches for).
        #[error("TLS: {0}")]
        Tls(String),
        /// Something this build of the adapter does not do (the reason says what to do
        /// instead).
        #[error("unsupported: {0}")]
        Unsupported(&'static str),
        /// The call was refused by the connection (misuse, or the outbound queue is full).
        #[error("{0}")]
        Api(#[from] ApiError),
        /// A publisher asked to move to another server (Enhanced RTMP v2, "Reconnect")
        /// found none to take its stream: neither the URL the server named nor its original
        /// one ([`Handover::next_target`](crate::session::client::Handover::next_target)).
        /// The publisher is closed.
        #[error("reconnect: {error}; the last attempt: {last}")]
        Reconnect {
            /// What the core decided, with the URLs tried.
            error: crate::session::client::HandoverError,
            /// Why the last attempt failed.
            #[source]
            last: Box<Error>,
        },
    }

    impl Error {
        /// Whether this is a [`Timeout`](Error::Timeout) of a wait, after which the
        /// connection may still be used.
        pub fn is_timeout(&self) -> bool {
            matches!(self, Error::Timeout { .. })
        }
    }

    impl From<io::Error> for Error {
        fn from(error: io::Error) -> Self {
            Error::Io(Arc::new(error))
        }
    }

    impl From<SessionError> for Error {
        fn from(error: SessionError) -> Self {
            match error {
                SessionError::Closed => Error::Closed,
                other => Error::Session(other),
            }
        }
    }

    /// What a client waits for after a command, and which event answers it. The adapter
    /// drives the connection and shows each event to [`answer`](Self::answer) until it says
    /// the wait is over; the other events are the application's.
    pub trait Awaited {
        /// What the wait yields.
        type Output;
        /// What the wait is for, as [`Error::Timeout`] says it.
        fn waiting_for(&self) -> &'static str;
        /// `Some` once `event` settles the wait. `connection` is the one the event came from,
        /// after the event.
        fn answer(
            &mut self,
            connection: &ClientConnection,
            event: &ClientEvent,
        ) -> Option<Result<Self::Output, Error>>;
    }

    /// The answer to `connect` (RTMP 1.0 §7.2.1.1).
    #[derive(Clone, Copy, Debug, Default)]
    pub struct AwaitConnect;

    impl Awaited for AwaitConnect {
        type Output = ();

        fn waiting_for(&self) -> &'static str {
            "waiting for the answer to connect"
        }

        fn answer(
            &mut self,
            _: &ClientConnection,
            event: &ClientEvent,
        ) -> Option<Result<(), Error>> {
            match event {
                ClientEvent::Connected { .. } => Some(Ok(())),
                ClientEvent::ConnectRejected {
                    code, description, ..
                } => Some(Err(Error::ConnectRejected {
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
        ) -> Option<Result<u32, Error>> {
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

    fn create_stream_failed(information: &Value) -> Error {
        let status = Status::from_info(information.clone());
        Error::CreateStreamFailed(alloc::format!("{}: {}", status.code, status.description))
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
            connection: &ClientConnection,
            event: &ClientEvent,
        ) -> Option<Result<u32, Error>> {
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
                // The connection marks a refused publish or play by putting the stream back
                // to idle; the status says why.
                ClientEvent::Status { stream, status }
                    if Some(*stream) == self.stream
                        && connection.stream_status(*stream) == Some(StreamStatus::Created) =>
                {
                    let (code, description) = (status.code.clone(), status.description.clone());
                    Some(Err(match self.kind {
                        StartKind::Publish => Error::PublishRejected { code, description },
                        StartKind::Play => Error::PlayRejected { code, description },
                    }))
                }
                _ => None,
            }
        }
    }

    /// The answer to a call (RTMP 1.0 §7.2.1.2): the `_result`'s command object and the
    /// values after it, or [`Error::CallFailed`] for an `_error`.
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
        ) -> Option<Result<(Value, Vec<Value>), Error>> {
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
                    Some(Err(Error::CallFailed {
                        code: status.code,
                        description: status.description,
                    }))
                }
                _ => None,
            }
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
    fn the_error_texts_are_the_users() {
        let rejected = Error::ConnectRejected {
            code: "NetConnection.Connect.Rejected".into(),
            description: "no".into(),
        };
        assert_eq!(
            rejected.to_string(),
            "connection rejected: NetConnection.Connect.Rejected: no"
        );
        assert!(matches!(Error::from(SessionError::Closed), Error::Closed));
        let timeout = Error::Timeout {
            after: Duration::from_millis(300),
            waiting_for: AwaitConnect.waiting_for(),
        };
        assert!(timeout.is_timeout());
        assert_eq!(
            timeout.to_string(),
            "timed out after 300ms waiting for the answer to connect"
        );
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
        let config = client_connection_config(
            &url,
            Profile::Player,
            &[],
            &client_session_config(),
            &ClientConfig::default(),
            true,
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut connection = ClientConnection::new(config, &mut rng, Instant::from_millis(0));
        connection.connect().unwrap();
        connection
    }
}
