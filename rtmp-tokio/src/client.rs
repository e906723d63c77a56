//! The client side: connect to a server, then publish a stream or play one.
//!
//! [`Client::connect`] makes the TCP connection, the handshake and `connect`; then
//! [`Client::publish`] gives a [`Publisher`] (send audio, video, metadata) and
//! [`Client::play`] a [`Player`] (media arrives as [`Frame`]s). [`Client::connect_over`] does
//! the same over any byte stream, for RTMPS (TLS) or RTMP over QUIC.

use std::collections::VecDeque;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use rand::SeedableRng;
use rtmp_proto::amf::Value;
use rtmp_proto::handshake::ClientConfig;
use rtmp_proto::message::Data;
use rtmp_proto::session::client::{
    ClientConnection, ClientConnectionConfig, ClientEvent, ConnectParams, PlayOptions, PublishType,
    Status, TransactionId,
};
use rtmp_proto::session::{ApiError, SendStatus, SessionConfig, SessionError};
use rtmp_proto::url::{RtmpUrl, Scheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::driver::{Clock, Driver};
use crate::Error;

/// Events kept for [`Publisher::next_event`] while sends drive the connection; older ones are
/// dropped past this many (a publisher's server says little).
const PUBLISHER_BACKLOG: usize = 256;

/// Which `connect` parameters to send (RTMP 1.0 §7.2.1.1): servers tell publishers from
/// players by them, as FFmpeg's two sets show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// A player's parameters ([`ConnectParams::player`]).
    #[default]
    Player,
    /// An encoder's parameters ([`ConnectParams::publisher`]: `flashVer` `FMLE/3.0`).
    Publisher,
}

/// How a [`Client`] connects.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The `connect` parameters to start from; `app` and `tcUrl` come from the URL.
    pub profile: Profile,
    /// Limits, chunk size, timeouts and outbound queue bounds. The default has no idle
    /// timeout but pings a server that has been silent for 30 s, and gives up 30 s later:
    /// a publisher's server sends next to nothing, and a player may wait long for a live
    /// stream to start.
    pub session: SessionConfig,
    /// The handshake offered (digest by default, like FFmpeg).
    pub handshake: ClientConfig,
    /// Send `releaseStream` and `FCPublish` before `publish`, as FFmpeg and OBS do.
    pub send_fc_publish: bool,
    /// Values sent after the `connect` command object (credentials some servers expect).
    pub connect_arguments: Vec<Value>,
    /// The TCP connection, the handshake and the answer to `connect` together must take no
    /// longer. Default 10 s.
    pub connect_timeout: Duration,
    /// How long to wait for the answer to `createStream`, `publish`, `play` or a call.
    /// Default 10 s.
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let session = SessionConfig {
            idle_timeout: None,
            ping_interval: Some(Duration::from_secs(30)),
            ..SessionConfig::default()
        };
        ClientOptions {
            profile: Profile::Player,
            session,
            handshake: ClientConfig::default(),
            send_fc_publish: true,
            connect_arguments: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl ClientOptions {
    /// The defaults, with an encoder's `connect` parameters.
    pub fn publisher() -> Self {
        ClientOptions {
            profile: Profile::Publisher,
            ..ClientOptions::default()
        }
    }

    fn connection_config(&self, url: &RtmpUrl) -> ClientConnectionConfig {
        let tc_url = url.tc_url();
        let mut connect = match self.profile {
            Profile::Player => ConnectParams::player(url.app.as_str(), tc_url),
            Profile::Publisher => ConnectParams::publisher(url.app.as_str(), tc_url),
        };
        connect.extra_arguments = self.connect_arguments.clone();
        ClientConnectionConfig {
            session: self.session.clone(),
            handshake: self.handshake.clone(),
            connect,
            send_fc_publish: self.send_fc_publish,
        }
    }
}

/// A connected client (the seed's `ClientConn`): the handshake is done and the server accepted
/// `connect`.
///
/// ```no_run
/// # async fn run() -> Result<(), rtmp_tokio::Error> {
/// use rtmp_tokio::client::{Client, Frame};
///
/// let client = Client::connect("rtmp://127.0.0.1/live").await?;
/// let mut player = client.play("cam1").await?;
/// while let Some(frame) = player.next_frame().await? {
///     if let Frame::Video { timestamp, payload } = frame {
///         println!("video at {timestamp} ms, {} bytes", payload.len());
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Client<S = TcpStream> {
    driver: Driver<S, ClientConnection>,
    url: RtmpUrl,
    request_timeout: Duration,
    /// The outbound queue's high-water mark, above which a publisher's sends wait.
    high_water: usize,
    /// Events that arrived while waiting for an answer, handed out first by `next_event`.
    backlog: VecDeque<ClientEvent>,
    closed: Option<ClientEvent>,
}

impl Client<TcpStream> {
    /// Connects to `url` (`rtmp://host[:port]/app[/...]`, port 1935 by default) with the
    /// default options: TCP, handshake and `connect`.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, ClientOptions::default()).await
    }

    /// Connects to `url` with `options`.
    pub async fn connect_with(url: &str, options: ClientOptions) -> Result<Self, Error> {
        let parsed = RtmpUrl::parse(url)?;
        if parsed.scheme == Scheme::Rtmps {
            return Err(Error::Unsupported(
                "rtmps:// needs a TLS stream: make one and use Client::connect_over",
            ));
        }
        let timeout = options.connect_timeout;
        let address = parsed.authority();
        let connecting = async {
            let stream = TcpStream::connect(address.as_str())
                .await
                .map_err(|source| Error::Connect {
                    address: address.clone(),
                    source: source.into(),
                })?;
            stream.set_nodelay(true)?;
            Client::handshake_and_connect(stream, parsed, &options).await
        };
        tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| Error::Timeout {
                after: timeout,
                waiting_for: "connecting (TCP, handshake and the answer to connect)",
            })?
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Client<S> {
    /// Does the handshake and `connect` over `stream`, already connected to the server `url`
    /// names (a TLS stream for `rtmps://`, a QUIC stream...).
    pub async fn connect_over(stream: S, url: &str, options: ClientOptions) -> Result<Self, Error> {
        let parsed = RtmpUrl::parse(url)?;
        let timeout = options.connect_timeout;
        tokio::time::timeout(
            timeout,
            Client::handshake_and_connect(stream, parsed, &options),
        )
        .await
        .map_err(|_| Error::Timeout {
            after: timeout,
            waiting_for: "the handshake and the answer to connect",
        })?
    }

    async fn handshake_and_connect(
        stream: S,
        url: RtmpUrl,
        options: &ClientOptions,
    ) -> Result<Self, Error> {
        let clock = Clock::start();
        let mut rng = rand::rngs::StdRng::from_os_rng();
        let mut conn =
            ClientConnection::new(options.connection_config(&url), &mut rng, clock.now());
        conn.connect()?;
        let mut client = Client {
            driver: Driver::new(stream, conn, clock),
            url,
            request_timeout: options.request_timeout,
            high_water: options.session.outbound_high_water,
            backlog: VecDeque::new(),
            closed: None,
        };
        loop {
            match client.next_driven_event().await {
                ClientEvent::Connected { .. } => {
                    tracing::debug!(url = %client.url, "connected");
                    return Ok(client);
                }
                ClientEvent::ConnectRejected {
                    code, description, ..
                } => {
                    client.close().await;
                    return Err(Error::ConnectRejected { code, description });
                }
                ClientEvent::Closed(_) => return Err(client.end_reason()),
                other => client.backlog.push_back(other),
            }
        }
    }

    /// The URL connected to.
    pub fn url(&self) -> &RtmpUrl {
        &self.url
    }

    /// The next event (statuses, media, calls of the server...), reading and writing as
    /// needed. After the connection ends every call returns [`ClientEvent::Closed`]; see
    /// [`close_reason`](Self::close_reason). Cancel-safe.
    pub async fn next_event(&mut self) -> ClientEvent {
        match self.backlog.pop_front() {
            Some(event) => event,
            None => self.next_driven_event().await,
        }
    }

    async fn next_driven_event(&mut self) -> ClientEvent {
        if let Some(closed) = &self.closed {
            return closed.clone();
        }
        match self.driver.next_event().await {
            Some(event) => {
                if matches!(event, ClientEvent::Closed(_)) {
                    self.closed = Some(event.clone());
                }
                event
            }
            None => ClientEvent::Closed(SessionError::Closed),
        }
    }

    /// Why the connection ended, once it has.
    pub fn close_reason(&self) -> Option<&Error> {
        self.driver.ended()
    }

    fn end_reason(&self) -> Error {
        self.driver.ended().cloned().unwrap_or(Error::Closed)
    }

    /// The sans-IO connection, for the commands this type does not wrap (see
    /// [`ClientConnection`]). What they queue is written by the next `next_event`, `flush` or
    /// send. Do not feed or poll it: the client does.
    pub fn connection(&mut self) -> &mut ClientConnection {
        &mut self.driver.conn
    }

    /// Writes everything queued. Cancel-safe.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.driver.flush().await;
        match self.driver.ended() {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }

    /// Calls `name` on the server (RTMP 1.0 §7.2.1.2) and waits for its `_result`: the
    /// command object and the values after it.
    pub async fn call(
        &mut self,
        name: &str,
        arguments: Vec<Value>,
    ) -> Result<(Value, Vec<Value>), Error> {
        let transaction = self.driver.conn.call(name, Value::Null, arguments)?;
        self.wait_for("the answer to a call", |event| match event {
            ClientEvent::CallResult {
                transaction: t,
                command_object,
                values,
            } if *t == transaction => Some(Ok((command_object.clone(), values.clone()))),
            ClientEvent::CallError {
                transaction: t,
                values,
                ..
            } if *t == transaction => {
                let status = Status::from_info(values.first().cloned().unwrap_or(Value::Null));
                Some(Err(Error::CallFailed {
                    code: status.code,
                    description: status.description,
                }))
            }
            _ => None,
        })
        .await
    }

    /// Creates a stream and publishes `name` on it (live), the way FFmpeg does
    /// (`releaseStream`, `FCPublish`, `createStream`, `publish`), and waits for
    /// NetStream.Publish.Start.
    pub async fn publish(self, name: &str) -> Result<Publisher<S>, Error> {
        self.publish_as(name, PublishType::Live).await
    }

    /// Publishes `name` as `kind` (live, record, append).
    pub async fn publish_as(
        mut self,
        name: &str,
        kind: PublishType,
    ) -> Result<Publisher<S>, Error> {
        let request = self.driver.conn.create_stream_to_publish(name, kind)?;
        let stream = self.wait_for_stream(request).await?;
        self.wait_for("NetStream.Publish.Start", |event| match event {
            ClientEvent::PublishStarted { stream: s } if *s == stream => Some(Ok(())),
            ClientEvent::Status { stream: s, status } if *s == stream && status.is_error() => {
                Some(Err(Error::PublishRejected {
                    code: status.code.clone(),
                    description: status.description.clone(),
                }))
            }
            _ => None,
        })
        .await?;
        tracing::debug!(url = %self.url, name, stream, "publishing");
        Ok(Publisher {
            client: self,
            stream,
        })
    }

    /// Creates a stream and plays `name` on it (live or recorded, FFmpeg's defaults), and
    /// waits for NetStream.Play.Start.
    pub async fn play(self, name: &str) -> Result<Player<S>, Error> {
        self.play_with(name, PlayOptions::default()).await
    }

    /// Plays `name` with `options` (start, duration, reset, buffer length).
    pub async fn play_with(mut self, name: &str, options: PlayOptions) -> Result<Player<S>, Error> {
        let request = self.driver.conn.create_stream_to_play(name, options)?;
        let stream = self.wait_for_stream(request).await?;
        self.wait_for("NetStream.Play.Start", |event| match event {
            ClientEvent::PlayStarted { stream: s } if *s == stream => Some(Ok(())),
            ClientEvent::Status { stream: s, status } if *s == stream && status.is_error() => {
                Some(Err(Error::PlayRejected {
                    code: status.code.clone(),
                    description: status.description.clone(),
                }))
            }
            _ => None,
        })
        .await?;
        tracing::debug!(url = %self.url, name, stream, "playing");
        Ok(Player {
            client: self,
            stream,
            end_on_unpublish: true,
            finished: false,
            position: 0,
            last_status: None,
        })
    }

    async fn wait_for_stream(&mut self, request: TransactionId) -> Result<u32, Error> {
        self.wait_for("the answer to createStream", |event| match event {
            ClientEvent::StreamCreated {
                request: r,
                stream_id,
            } if *r == request => Some(Ok(*stream_id)),
            ClientEvent::CreateStreamFailed {
                request: r,
                information,
            } if *r == request => {
                let status = Status::from_info(information.clone());
                Some(Err(Error::CreateStreamFailed(format!(
                    "{}: {}",
                    status.code, status.description
                ))))
            }
            _ => None,
        })
        .await
    }

    /// Drives the connection until `answer` recognises an event, keeping the others for
    /// `next_event`; bounded by the request timeout.
    async fn wait_for<T>(
        &mut self,
        waiting_for: &'static str,
        mut answer: impl FnMut(&ClientEvent) -> Option<Result<T, Error>>,
    ) -> Result<T, Error> {
        let timeout = self.request_timeout;
        let waiting = async {
            loop {
                let event = self.next_driven_event().await;
                if let Some(result) = answer(&event) {
                    return result;
                }
                if matches!(event, ClientEvent::Closed(_)) {
                    return Err(self.end_reason());
                }
                self.backlog.push_back(event);
            }
        };
        tokio::time::timeout(timeout, waiting)
            .await
            .map_err(|_| Error::Timeout {
                after: timeout,
                waiting_for,
            })?
    }

    /// Closes the connection politely (`FCUnpublish` and `deleteStream` for each stream, as
    /// FFmpeg does), writes the last bytes (for a few seconds at most) and shuts the stream
    /// down.
    pub async fn close(&mut self) {
        self.driver.close();
        while !matches!(self.next_driven_event().await, ClientEvent::Closed(_)) {}
    }
}

/// A stream being published. Sends queue the message and write what the socket takes at
/// once; they wait only when the server falls behind (the outbound queue is above its
/// high-water mark), which paces a producer that is faster than the network.
pub struct Publisher<S = TcpStream> {
    client: Client<S>,
    stream: u32,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Publisher<S> {
    /// The message stream published on.
    pub fn stream_id(&self) -> u32 {
        self.stream
    }

    /// The client, for calls and the sans-IO connection.
    pub fn client(&mut self) -> &mut Client<S> {
        &mut self.client
    }

    /// Sends video (an FLV video tag body: legacy or Enhanced RTMP) at `timestamp` ms.
    pub async fn send_video(
        &mut self,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, Error> {
        let sent = self
            .client
            .driver
            .conn
            .send_video(self.stream, timestamp, payload);
        self.after_send(sent).await
    }

    /// Sends audio (an FLV audio tag body) at `timestamp` ms.
    pub async fn send_audio(
        &mut self,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, Error> {
        let sent = self
            .client
            .driver
            .conn
            .send_audio(self.stream, timestamp, payload);
        self.after_send(sent).await
    }

    /// Sends the stream's metadata, `@setDataFrame("onMetaData", metadata)`, which servers keep
    /// for players.
    pub async fn send_metadata(&mut self, metadata: Value) -> Result<SendStatus, Error> {
        let sent = self.client.driver.conn.send_metadata(self.stream, metadata);
        self.after_send(sent).await
    }

    /// Sends a data message (e.g. `onTextData`, `onCuePoint`) at `timestamp` ms.
    pub async fn send_data(&mut self, timestamp: u32, data: Data) -> Result<SendStatus, Error> {
        let sent = self
            .client
            .driver
            .conn
            .send_data(self.stream, timestamp, data);
        self.after_send(sent).await
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.client.flush().await
    }

    /// The next event the server sent (statuses, calls...), without waiting: sends keep the
    /// latest few hundred.
    pub fn next_event(&mut self) -> Option<ClientEvent> {
        self.client.backlog.pop_front()
    }

    /// Stops publishing: writes what is queued, sends `FCUnpublish` and `deleteStream`, and
    /// closes the connection.
    pub async fn close(mut self) -> Result<(), Error> {
        self.client.flush().await?;
        self.client.close().await;
        match self.client.end_reason() {
            Error::Closed => Ok(()),
            other => Err(other),
        }
    }

    async fn after_send(
        &mut self,
        sent: Result<SendStatus, ApiError>,
    ) -> Result<SendStatus, Error> {
        let status = match sent {
            Ok(status) => status,
            Err(ApiError::Closed) => return Err(self.client.end_reason()),
            Err(other) => return Err(other.into()),
        };
        self.drive().await?;
        Ok(status)
    }

    /// Writes what the socket takes now, keeps the server's events, and waits while the
    /// outbound queue is above its high-water mark.
    async fn drive(&mut self) -> Result<(), Error> {
        let client = &mut self.client;
        let high_water = client.high_water;
        std::future::poll_fn(|cx| loop {
            match client.driver.poll_event(cx) {
                Poll::Ready(Some(event)) => {
                    if let ClientEvent::Closed(_) = &event {
                        client.closed = Some(event);
                        return Poll::Ready(());
                    }
                    if let ClientEvent::Status { status, .. } = &event {
                        if status.is_error() {
                            tracing::warn!(code = %status.code, description = %status.description, "server status");
                        }
                    }
                    if client.backlog.len() >= PUBLISHER_BACKLOG {
                        client.backlog.pop_front();
                    }
                    client.backlog.push_back(event);
                }
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending if client.driver.conn.pending_bytes() < high_water => {
                    return Poll::Ready(())
                }
                Poll::Pending => return Poll::Pending,
            }
        })
        .await;
        match client.driver.ended() {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }
}

/// A frame a [`Player`] receives.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Frame {
    /// Audio: an FLV audio tag body (see [`rtmp_proto::media::AudioInfo`]).
    Audio {
        /// Milliseconds.
        timestamp: u32,
        /// The payload, not copied from the read buffer when it arrived in one chunk.
        payload: Bytes,
    },
    /// Video: an FLV video tag body (see [`rtmp_proto::media::VideoInfo`]).
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
}

/// A stream being played: its media arrives through [`next_frame`](Self::next_frame).
pub struct Player<S = TcpStream> {
    client: Client<S>,
    stream: u32,
    end_on_unpublish: bool,
    finished: bool,
    position: u32,
    last_status: Option<Status>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Player<S> {
    /// The message stream played on.
    pub fn stream_id(&self) -> u32 {
        self.stream
    }

    /// The client, for calls and the sans-IO connection.
    pub fn client(&mut self) -> &mut Client<S> {
        &mut self.client
    }

    /// Whether NetStream.Play.UnpublishNotify (the live stream's publisher left) ends the
    /// stream of frames, as it ends librtmp's and FFmpeg's. Default true; false keeps waiting
    /// for the next publisher.
    pub fn set_end_on_unpublish(&mut self, end: bool) {
        self.end_on_unpublish = end;
    }

    /// The last onStatus received for this stream.
    pub fn last_status(&self) -> Option<&Status> {
        self.last_status.as_ref()
    }

    /// The next frame; `Ok(None)` once the stream is over (NetStream.Play.Stop, Play.Complete,
    /// Play.UnpublishNotify, or Stream EOF of a recording). Cancel-safe.
    pub async fn next_frame(&mut self) -> Result<Option<Frame>, Error> {
        while !self.finished {
            let frame = match self.client.next_event().await {
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
                    self.finished = match status.code.as_str() {
                        "NetStream.Play.Stop" | "NetStream.Play.Complete" => true,
                        "NetStream.Play.UnpublishNotify" => self.end_on_unpublish,
                        _ => status.is_error(),
                    };
                    tracing::debug!(code = %status.code, "play status");
                    self.last_status = Some(status);
                    continue;
                }
                ClientEvent::Closed(_) => return Err(self.client.end_reason()),
                _ => continue,
            };
            if let Frame::Audio { timestamp, .. } | Frame::Video { timestamp, .. } = &frame {
                self.position = *timestamp;
            }
            return Ok(Some(frame));
        }
        Ok(None)
    }

    /// Pauses playback (RTMP 1.0 §7.2.2.8) at the last frame's time.
    pub async fn pause(&mut self) -> Result<(), Error> {
        let position = f64::from(self.position);
        self.client.driver.conn.pause(self.stream, true, position)?;
        self.client.flush().await
    }

    /// Resumes playback after [`pause`](Self::pause).
    pub async fn resume(&mut self) -> Result<(), Error> {
        let position = f64::from(self.position);
        self.client
            .driver
            .conn
            .pause(self.stream, false, position)?;
        self.client.flush().await
    }

    /// Seeks to `position_ms` (RTMP 1.0 §7.2.2.7) in a recorded stream.
    pub async fn seek(&mut self, position_ms: u32) -> Result<(), Error> {
        self.client
            .driver
            .conn
            .seek(self.stream, f64::from(position_ms))?;
        self.finished = false;
        self.client.flush().await
    }

    /// Stops playing and closes the connection (`deleteStream`, then the socket).
    pub async fn close(mut self) -> Result<(), Error> {
        self.client.close().await;
        match self.client.end_reason() {
            Error::Closed => Ok(()),
            other => Err(other),
        }
    }
}
