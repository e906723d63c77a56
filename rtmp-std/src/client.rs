//! The client side: connect to a server, then publish a stream or play one, blocking the
//! calling thread.
//!
//! [`Client::connect`] makes the TCP connection, the handshake and `connect`; then
//! [`Client::publish`] gives a [`Publisher`] (send audio, video, metadata) and
//! [`Client::play`] a [`Player`] (media arrives as [`Frame`]s). [`Client::connect_over`] does
//! the same over any [`Transport`]: TLS, a Unix socket, an in-memory pipe.
//!
//! One thread owns a client. Every call that waits drives the connection while it waits: it
//! writes what is queued, reads, answers pings and acknowledges, so a publisher that would
//! sleep between frames should [`wait`](Publisher::wait) instead.

use std::collections::VecDeque;
use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use bytes::Bytes;
use rand::SeedableRng;
use rtmp_proto::amf::Value;
use rtmp_proto::message::Data;
use rtmp_proto::session::adapter::{
    AwaitCall, AwaitConnect, AwaitStart, AwaitStream, Awaited, Playback, StartKind,
};
use rtmp_proto::session::client::{
    ClientConnection, ClientConnectionConfig, ClientEvent, Handover, HandoverFrame, HandoverKind,
    PlayOptions, PublishType, Route, Status,
};
use rtmp_proto::session::{ApiError, SendStatus};
use rtmp_proto::url::{RtmpUrl, Scheme};

pub use rtmp_proto::session::adapter::{ClientSettings, Frame, Profile};

use crate::driver::{Clock, Driver};
use crate::transport::MaybeTls;
use crate::{Error, Transport};

/// Events a [`Publisher`] keeps for [`Publisher::next_event`] while it waits; past this many
/// the oldest are dropped, and the next `next_event` says how many
/// ([`Error::EventsDropped`]).
const PUBLISHER_BACKLOG: usize = 256;
/// How long [`Client::close`] waits for the connection to wind up.
const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// How often a [`Publisher`] that sends without waiting between frames also reads what the
/// server said (acknowledgements, pings to answer).
const PUBLISHER_READ_INTERVAL: Duration = Duration::from_millis(100);

/// How a [`Client`] connects: the [`ClientSettings`] every adapter's client has (their
/// defaults are the core's), the read and write timeouts of a blocking client, and what an
/// `rtmps://` URL trusts.
///
/// ```
/// use std::time::Duration;
/// use rtmp_std::client::{ClientOptions, ClientSettings};
///
/// let options = ClientOptions::default()
///     .with_read_timeout(Some(Duration::from_secs(5)))
///     .with_settings(ClientSettings::default().with_request_timeout(Duration::from_secs(5)));
/// assert_eq!(options.settings.request_timeout, Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The `connect` parameters, session settings, handshake, timeouts, and whether a
    /// publisher moves on a ReconnectRequest ([`ClientSettings::reconnect`]): a publisher
    /// connected with [`Client::connect_with`] (or [`Client::connect_over_redialing`]) sends
    /// up to the next video keyframe (the next audio frame if the stream has no video), and
    /// the send of that frame makes the move: it connects to the given tcUrl (resolved against
    /// the current one if relative; the current one if none), or if that fails to the URL it
    /// first connected to ([`Error::Reconnect`] if that fails too), publishes the same name
    /// and goes on from that frame ([`Handover`] decides). Nothing is queued: the call blocks
    /// until the new connection publishes. [`Client::connect_over`] does not move (it cannot
    /// dial a new stream).
    pub settings: ClientSettings,
    /// How long [`Client::next_event`] and [`Player::next_frame`] wait for something before
    /// they return [`Error::Timeout`] (the connection stays usable). Default `None`: they wait
    /// until the connection ends.
    pub read_timeout: Option<Duration>,
    /// A write that blocks this long (the server does not read) ends the connection. Set on
    /// the TCP socket [`Client::connect_with`] makes. Default 30 s.
    pub write_timeout: Option<Duration>,
    /// What `rtmps://` URLs trust: `None` (the default) trusts the Mozilla roots; a
    /// [`TlsClientConfig`](crate::tls::TlsClientConfig) made from a certificate trusts that
    /// (a self-signed server).
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsClientConfig>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            settings: ClientSettings::default(),
            read_timeout: None,
            write_timeout: Some(Duration::from_secs(30)),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientOptions {
    /// The defaults, with an encoder's `connect` parameters, moving on a ReconnectRequest
    /// ([`ClientSettings::publisher`]).
    pub fn publisher() -> Self {
        ClientOptions::default().with_settings(ClientSettings::publisher())
    }

    /// With these settings.
    pub fn with_settings(mut self, settings: ClientSettings) -> Self {
        self.settings = settings;
        self
    }

    /// With this read timeout (see [`read_timeout`](Self::read_timeout)).
    pub fn with_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// With this write timeout (see [`write_timeout`](Self::write_timeout)).
    pub fn with_write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Trusting what `tls` trusts for `rtmps://` URLs.
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: crate::tls::TlsClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    fn connection_config(&self, url: &RtmpUrl) -> ClientConnectionConfig {
        self.settings.connection_config(url)
    }
}

/// A connected client (gortmp's `ClientConn`): the handshake is done and the server accepted
/// `connect`.
///
/// ```no_run
/// use rtmp_std::client::{Client, Frame};
///
/// let client = Client::connect("rtmp://127.0.0.1/live")?;
/// let mut player = client.play("cam1")?;
/// while let Some(frame) = player.next_frame()? {
///     if let Frame::Video { timestamp, payload } = frame {
///         println!("video at {timestamp} ms, {} bytes", payload.len());
///     }
/// }
/// # Ok::<(), rtmp_std::Error>(())
/// ```
pub struct Client<S = MaybeTls> {
    driver: Driver<S, ClientConnection>,
    url: RtmpUrl,
    /// Events taken from the connection while waiting for something else.
    backlog: VecDeque<ClientEvent>,
    /// Events a publisher dropped from `backlog` since `next_event` last said so.
    dropped: u64,
    request_timeout: Duration,
    read_timeout: Option<Duration>,
    /// How a publisher reaches the server a ReconnectRequest names; `None` when it cannot.
    redial: Option<Redial<S>>,
}

/// Connects anew to a tcUrl, as the first connection was made.
type Redial<S> = Arc<dyn Fn(&str) -> Result<Client<S>, Error> + Send + Sync>;

impl Client<MaybeTls> {
    /// Connects to `url` (`rtmp://host[:port]/app[/stream]`) with the default options: TCP,
    /// handshake, `connect`. The stream name in the URL, if any, is ignored here.
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, ClientOptions::default())
    }

    /// Connects to `url` with `options`. `rtmps://` (port 443 by default) needs the `tls`
    /// feature; it trusts what `ClientOptions::tls` says.
    pub fn connect_with(url: &str, options: ClientOptions) -> Result<Self, Error> {
        let again = options.clone();
        let mut client = Client::dial(url, options)?;
        if again.settings.reconnect {
            let redial: Redial<MaybeTls> = Arc::new(move |url| Client::dial(url, again.clone()));
            client.redial = Some(redial);
        }
        Ok(client)
    }

    /// TCP, TLS for `rtmps://`, handshake and `connect`.
    fn dial(url: &str, options: ClientOptions) -> Result<Self, Error> {
        let parsed = RtmpUrl::parse(url)?;
        let deadline = StdInstant::now() + options.settings.connect_timeout;
        let tcp = connect_tcp(&parsed, options.settings.connect_timeout)?;
        tcp.set_nodelay(true)?;
        tcp.set_write_timeout(options.write_timeout)?;
        let stream = match parsed.scheme {
            Scheme::Rtmp => MaybeTls::plain(tcp),
            Scheme::Rtmps => {
                let left = deadline.saturating_duration_since(StdInstant::now());
                secure(tcp, &parsed, &options, left)?
            }
        };
        Client::start(stream, parsed, options, deadline)
    }
}

#[cfg(feature = "tls")]
fn secure(
    tcp: TcpStream,
    url: &RtmpUrl,
    options: &ClientOptions,
    timeout: Duration,
) -> Result<MaybeTls, Error> {
    let tls = crate::tls::TlsClientConfig::given_or_webpki(options.tls.as_ref())?;
    tls.connect(&url.host, tcp, timeout)
}

#[cfg(not(feature = "tls"))]
fn secure(_: TcpStream, _: &RtmpUrl, _: &ClientOptions, _: Duration) -> Result<MaybeTls, Error> {
    Err(Error::Unsupported(
        "rtmps:// needs rtmp-std's `tls` feature",
    ))
}

/// Opens a TCP connection to the URL's host, trying each address it resolves to.
fn connect_tcp(url: &RtmpUrl, timeout: Duration) -> Result<TcpStream, Error> {
    let address = url.authority();
    let connect_error = |source: io::Error| Error::Connect {
        address: address.clone(),
        source: source.into(),
    };
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for socket_address in (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(connect_error)?
    {
        match TcpStream::connect_timeout(&socket_address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = error,
        }
    }
    Err(connect_error(last_error))
}

impl<S: Transport> Client<S> {
    /// Connects over `stream`, an established byte stream (TLS, a Unix socket, a pipe): the
    /// handshake and `connect` to the application of `url`, whose host is only used in
    /// `tcUrl`. [`ClientOptions::write_timeout`] is the stream's business here.
    pub fn connect_over(stream: S, url: &str, mut options: ClientOptions) -> Result<Self, Error> {
        let url = RtmpUrl::parse(url)?;
        options.settings.reconnect = false;
        let deadline = StdInstant::now() + options.settings.connect_timeout;
        Client::start(stream, url, options, deadline)
    }

    /// [`connect_over`](Self::connect_over) for a publisher that can move: on a
    /// ReconnectRequest (see [`ClientSettings::reconnect`], which this sets), `dial` makes the
    /// byte stream to the new URL's server (a TLS stream, a Unix socket, an in-memory
    /// pipe...) and the client does the handshake and `connect` over it, as over `stream`.
    /// The connect timeout bounds the handshake and `connect` of each attempt; `dial` bounds
    /// its own work.
    ///
    /// ```no_run
    /// use rtmp_std::client::{Client, ClientOptions};
    /// use rtmp_std::proto::url::RtmpUrl;
    ///
    /// fn dial(url: &RtmpUrl) -> Result<std::net::TcpStream, rtmp_std::Error> {
    ///     Ok(std::net::TcpStream::connect(url.authority())?)
    /// }
    /// let url = "rtmp://127.0.0.1/live";
    /// let stream = dial(&RtmpUrl::parse(url)?)?;
    /// let client = Client::connect_over_redialing(stream, url, ClientOptions::publisher(), dial)?;
    /// let publisher = client.publish("cam1")?;
    /// # Ok::<(), rtmp_std::Error>(())
    /// ```
    pub fn connect_over_redialing<D>(
        stream: S,
        url: &str,
        mut options: ClientOptions,
        dial: D,
    ) -> Result<Self, Error>
    where
        D: Fn(&RtmpUrl) -> Result<S, Error> + Send + Sync + 'static,
    {
        options.settings.reconnect = true;
        let parsed = RtmpUrl::parse(url)?;
        let deadline = StdInstant::now() + options.settings.connect_timeout;
        let mut client = Client::start(stream, parsed, options.clone(), deadline)?;
        let redial: Redial<S> = Arc::new(move |url: &str| {
            let parsed = RtmpUrl::parse(url)?;
            let stream = dial(&parsed)?;
            let deadline = StdInstant::now() + options.settings.connect_timeout;
            Client::start(stream, parsed, options.clone(), deadline)
        });
        client.redial = Some(redial);
        Ok(client)
    }

    fn start(
        stream: S,
        url: RtmpUrl,
        options: ClientOptions,
        deadline: StdInstant,
    ) -> Result<Self, Error> {
        let config = options.connection_config(&url);
        let clock = Clock::start();
        let mut rng = rand::rngs::StdRng::from_os_rng();
        let mut conn = ClientConnection::new(config, &mut rng, clock.now());
        conn.connect()?;
        let mut client = Client {
            driver: Driver::new(stream, conn, clock),
            url,
            backlog: VecDeque::new(),
            dropped: 0,
            request_timeout: options.settings.request_timeout,
            read_timeout: options.read_timeout,
            redial: None,
        };
        client.wait_for(deadline, AwaitConnect)?;
        tracing::debug!(url = %client.url, "connected");
        Ok(client)
    }

    /// The URL connected to.
    pub fn url(&self) -> &RtmpUrl {
        &self.url
    }

    /// The sans-IO connection, for what this type has no method for. What its commands queue
    /// is written by the next call that drives the connection ([`flush`](Self::flush),
    /// [`next_event`](Self::next_event)...).
    pub fn connection(&mut self) -> &mut ClientConnection {
        &mut self.driver.conn
    }

    /// The byte stream, e.g. to read socket options.
    pub fn transport(&self) -> &S {
        self.driver.stream()
    }

    /// The byte stream, mutably.
    pub fn transport_mut(&mut self) -> &mut S {
        self.driver.stream_mut()
    }

    /// Changes [`ClientOptions::read_timeout`].
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// The next event of the connection, driving it until there is one, for at most the read
    /// timeout ([`Error::Timeout`] then). The last event is [`ClientEvent::Closed`]; after it,
    /// `Err` says why the connection ended.
    pub fn next_event(&mut self) -> Result<ClientEvent, Error> {
        let until = self.read_timeout.map(|timeout| StdInstant::now() + timeout);
        match self.next_event_until(until)? {
            Some(event) => Ok(event),
            None => Err(Error::Timeout {
                after: self.read_timeout.unwrap_or_default(),
                waiting_for: "waiting for the server",
            }),
        }
    }

    /// The next event, waiting at most `timeout`: `Ok(None)` if nothing came.
    pub fn next_event_timeout(&mut self, timeout: Duration) -> Result<Option<ClientEvent>, Error> {
        self.next_event_until(Some(StdInstant::now() + timeout))
    }

    fn next_event_until(
        &mut self,
        until: Option<StdInstant>,
    ) -> Result<Option<ClientEvent>, Error> {
        if let Some(event) = self.backlog.pop_front() {
            return Ok(Some(event));
        }
        self.driver.next_event(until)
    }

    /// Writes everything queued.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.driver.flush()
    }

    /// Why the connection ended, once its [`ClientEvent::Closed`] was handed out.
    pub fn close_reason(&self) -> Option<&Error> {
        self.driver.ended()
    }

    /// Creates a message stream (`createStream`, RTMP 1.0 §7.2.1.3) and returns its id, for
    /// commands of [`connection`](Self::connection) this type has no method for.
    pub fn create_stream(&mut self) -> Result<u32, Error> {
        let request = self.api(|conn| conn.create_stream())?;
        self.wait_for_answer(AwaitStream::new(request))
    }

    /// Calls `name` on the server (RTMP 1.0 §7.2.1.2) and waits for its `_result`: the
    /// command object and the values after it ([`Refusal::CallFailed`](crate::Refusal::CallFailed) for an `_error`).
    pub fn call(
        &mut self,
        name: &str,
        arguments: Vec<Value>,
    ) -> Result<(Value, Vec<Value>), Error> {
        let transaction = self.api(|conn| conn.call(name, Value::Null, arguments))?;
        self.wait_for_answer(AwaitCall::new(transaction))
    }

    /// Publishes `name` live (see [`publish_as`](Self::publish_as)).
    pub fn publish(self, name: &str) -> Result<Publisher<S>, Error> {
        self.publish_as(name, PublishType::Live)
    }

    /// Publishes `name` on a new stream (`releaseStream`, `FCPublish`, `createStream`,
    /// `publish`, as FFmpeg does) and waits for NetStream.Publish.Start.
    pub fn publish_as(mut self, name: &str, kind: PublishType) -> Result<Publisher<S>, Error> {
        let request = self.api(|conn| conn.create_stream_to_publish(name, kind))?;
        let stream = self.wait_for_answer(AwaitStart::new(request, StartKind::Publish))?;
        tracing::debug!(url = %self.url, name, stream, "publishing");
        let handover = self
            .redial
            .as_ref()
            .map(|_| Handover::new(self.url.tc_url()));
        Ok(Publisher {
            client: self,
            stream,
            last_read: StdInstant::now(),
            name: String::from(name),
            kind,
            handover,
        })
    }

    /// Plays `name` with the default options (see [`play_with`](Self::play_with)).
    pub fn play(self, name: &str) -> Result<Player<S>, Error> {
        self.play_with(name, PlayOptions::default())
    }

    /// Plays `name` on a new stream (`createStream`, `play`, Set Buffer Length) and waits for
    /// NetStream.Play.Start.
    pub fn play_with(mut self, name: &str, options: PlayOptions) -> Result<Player<S>, Error> {
        let request = self.api(|conn| conn.create_stream_to_play(name, options))?;
        let stream = self.wait_for_answer(AwaitStart::new(request, StartKind::Play))?;
        tracing::debug!(url = %self.url, name, stream, "playing");
        Ok(Player {
            client: self,
            playback: Playback::new(stream, true),
        })
    }

    /// Closes the connection politely (`deleteStream` for each stream, as FFmpeg does), writes
    /// the last bytes and waits (at most 2 s) for the server to hang up.
    pub fn close(mut self) -> Result<(), Error> {
        self.shut();
        match self.driver.ended() {
            None | Some(Error::Closed) => Ok(()),
            Some(other) => Err(other.clone()),
        }
    }

    fn shut(&mut self) {
        if self.driver.ended().is_some() {
            return;
        }
        self.driver.close();
        let until = StdInstant::now() + CLOSE_LINGER;
        while let Ok(Some(_)) = self.driver.next_event(Some(until)) {}
    }

    fn wait_for_answer<A: Awaited>(&mut self, awaited: A) -> Result<A::Output, Error> {
        let deadline = StdInstant::now() + self.request_timeout;
        self.wait_for(deadline, awaited)
    }

    /// Drives the connection until `awaited` is answered, keeping the other events for
    /// [`next_event`](Self::next_event).
    fn wait_for<A: Awaited>(
        &mut self,
        deadline: StdInstant,
        mut awaited: A,
    ) -> Result<A::Output, Error> {
        let started = StdInstant::now();
        loop {
            let Some(event) = self.driver.next_event(Some(deadline))? else {
                return Err(Error::Timeout {
                    after: started.elapsed(),
                    waiting_for: awaited.waiting_for(),
                });
            };
            if let Some(result) = awaited.answer(&self.driver.conn, &event) {
                return result.map_err(Error::from);
            }
            let closed = matches!(event, ClientEvent::Closed(_));
            self.backlog.push_back(event);
            if closed {
                return Err(self.end_reason());
            }
        }
    }

    /// Runs a command of the connection; if the connection has ended, says why.
    fn api<T>(
        &mut self,
        command: impl FnOnce(&mut ClientConnection) -> Result<T, ApiError>,
    ) -> Result<T, Error> {
        match command(&mut self.driver.conn) {
            Ok(value) => Ok(value),
            Err(ApiError::Closed) => Err(self.end_reason()),
            Err(error) => Err(Error::Api(error)),
        }
    }

    /// Why the connection ended: takes its events up to `Closed` (kept for
    /// [`next_event`](Self::next_event)) to learn it.
    fn end_reason(&mut self) -> Error {
        let until = StdInstant::now() + CLOSE_LINGER;
        loop {
            match self.driver.next_event(Some(until)) {
                Ok(Some(event)) => self.backlog.push_back(event),
                Ok(None) => return Error::Closed,
                Err(reason) => return reason,
            }
        }
    }
}

/// A stream being published: send its media with [`send_video`](Self::send_video) and the
/// like, and let the connection breathe between frames with [`wait`](Self::wait).
pub struct Publisher<S = MaybeTls> {
    client: Client<S>,
    stream: u32,
    last_read: StdInstant,
    name: String,
    kind: PublishType,
    /// Whether and where the publisher is moving (see [`ClientSettings::reconnect`]).
    handover: Option<Handover>,
}

impl<S: Transport> Publisher<S> {
    /// The message stream published on.
    pub fn stream_id(&self) -> u32 {
        self.stream
    }

    /// The client, for calls and the sans-IO connection.
    pub fn client(&mut self) -> &mut Client<S> {
        &mut self.client
    }

    /// Sends an FLV video tag body at `timestamp` (milliseconds) and writes it (every 100 ms,
    /// a send also reads what the server said, for at most a millisecond). Under
    /// congestion, frames that are not keyframes may be dropped ([`SendStatus::DroppedVideo`]).
    /// After a ReconnectRequest, the next keyframe goes to the new server (see
    /// [`ClientSettings::reconnect`]): this call then makes the move.
    pub fn send_video(&mut self, timestamp: u32, payload: Bytes) -> Result<SendStatus, Error> {
        self.send_media(HandoverFrame {
            kind: HandoverKind::Video,
            timestamp,
            payload,
        })
    }

    /// Sends an FLV audio tag body at `timestamp` (milliseconds) and writes it. A stream
    /// without video moves at the first audio frame after a ReconnectRequest, as
    /// [`send_video`](Self::send_video) says.
    pub fn send_audio(&mut self, timestamp: u32, payload: Bytes) -> Result<SendStatus, Error> {
        self.send_media(HandoverFrame {
            kind: HandoverKind::Audio,
            timestamp,
            payload,
        })
    }

    /// Sends a frame on this connection, or moves to another on a ReconnectRequest.
    fn send_media(&mut self, frame: HandoverFrame) -> Result<SendStatus, Error> {
        let route = match &mut self.handover {
            Some(handover) => handover.route(frame.clone()),
            None => Route::Send,
        };
        match route {
            Route::Send => self.send_frame(frame),
            Route::Move => self.move_on(),
        }
    }

    fn send_frame(&mut self, frame: HandoverFrame) -> Result<SendStatus, Error> {
        let (stream, timestamp, payload) = (self.stream, frame.timestamp, frame.payload);
        match frame.kind {
            HandoverKind::Video => self.send(|conn| conn.send_video(stream, timestamp, payload)),
            HandoverKind::Audio => self.send(|conn| conn.send_audio(stream, timestamp, payload)),
        }
    }

    /// The move (Enhanced RTMP v2, "Reconnect"): what the old connection queued goes and it
    /// closes; the core's targets are dialled in turn until one publishes the same name,
    /// which gets the metadata, the sequence headers and the kept frame.
    fn move_on(&mut self) -> Result<SendStatus, Error> {
        let (Some(redial), Some(handover)) = (self.client.redial.clone(), &mut self.handover)
        else {
            return Err(Error::Unsupported(
                "this publisher cannot dial a new connection",
            ));
        };
        let _ = self.client.flush();
        self.client.shut();
        let mut last = Error::Closed;
        let moved = loop {
            let url = match handover.next_target() {
                Ok(url) => url,
                Err(error) => {
                    let last = Box::new(last);
                    tracing::warn!(%error, %last, name = %self.name, "cannot move");
                    return Err(Error::Reconnect { error, last });
                }
            };
            tracing::info!(%url, name = %self.name, "reconnecting as the server asked");
            let attempt = redial(&url).and_then(|mut client| {
                client.redial = Some(Arc::clone(&redial));
                client.publish_as(&self.name, self.kind)
            });
            match attempt {
                Ok(moved) => break moved,
                Err(error) => {
                    tracing::warn!(%url, %error, "reconnect attempt failed");
                    last = error;
                }
            }
        };
        self.client = moved.client;
        self.stream = moved.stream;
        let metadata = self.handover.as_ref().and_then(Handover::metadata).cloned();
        if let Some(metadata) = metadata {
            let stream = self.stream;
            let _status = self.send(|conn| conn.send_metadata(stream, metadata))?;
        }
        let kept: Vec<HandoverFrame> = match &mut self.handover {
            Some(handover) => handover.resume().collect(),
            None => Vec::new(),
        };
        let mut status = SendStatus::Queued;
        for frame in kept {
            status = self.send_frame(frame)?;
        }
        Ok(status)
    }

    /// Sends the stream's metadata (`@setDataFrame("onMetaData", metadata)`).
    pub fn send_metadata(&mut self, metadata: Value) -> Result<SendStatus, Error> {
        if let Some(handover) = &mut self.handover {
            handover.note_metadata(&metadata);
        }
        let stream = self.stream;
        self.send(|conn| conn.send_metadata(stream, metadata))
    }

    /// Sends a data message (e.g. `onTextData`) at `timestamp`.
    pub fn send_data(&mut self, timestamp: u32, data: Data) -> Result<SendStatus, Error> {
        let stream = self.stream;
        self.send(|conn| conn.send_data(stream, timestamp, data))
    }

    fn send(
        &mut self,
        command: impl FnOnce(&mut ClientConnection) -> Result<SendStatus, ApiError>,
    ) -> Result<SendStatus, Error> {
        let status = self.client.api(command)?;
        self.client.flush()?;
        if self.last_read.elapsed() >= PUBLISHER_READ_INTERVAL {
            self.wait(Duration::from_millis(1))?;
        }
        Ok(status)
    }

    /// Drives the connection for `duration` (reads, answers pings, writes): what to do instead
    /// of sleeping between frames. What the server says meanwhile is kept for
    /// [`next_event`](Self::next_event).
    pub fn wait(&mut self, duration: Duration) -> Result<(), Error> {
        let until = StdInstant::now() + duration;
        self.last_read = StdInstant::now();
        loop {
            match self.client.driver.next_event(Some(until))? {
                None => return Ok(()),
                Some(event) => {
                    if let ClientEvent::Status { status, .. } = &event {
                        if status.is_error() {
                            tracing::warn!(code = %status.code, description = %status.description, "server status");
                        }
                        if let Some(handover) = self.handover.as_mut() {
                            if handover.on_status(status) {
                                tracing::info!(tc_url = ?status.tc_url(), "server asks to reconnect");
                            }
                        }
                    }
                    if self.client.backlog.len() >= PUBLISHER_BACKLOG {
                        self.client.backlog.pop_front();
                        self.client.dropped += 1;
                    }
                    self.client.backlog.push_back(event);
                }
            }
        }
    }

    /// Writes everything queued.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.client.flush()
    }

    /// The next event the server sent while this publisher waited or sent, without waiting:
    /// `Ok(None)` if there is none. The publisher keeps the latest 256; if older ones had to
    /// be dropped, the next call says how many ([`Error::EventsDropped`]), then hands out the
    /// rest.
    pub fn next_event(&mut self) -> Result<Option<ClientEvent>, Error> {
        if self.client.dropped > 0 {
            let count = std::mem::take(&mut self.client.dropped);
            return Err(Error::EventsDropped { count });
        }
        Ok(self.client.backlog.pop_front())
    }

    /// Stops publishing and closes the connection (`FCUnpublish`, `deleteStream`, then the
    /// socket).
    pub fn close(self) -> Result<(), Error> {
        self.client.close()
    }
}

/// A stream being played: its media arrives through [`next_frame`](Self::next_frame).
pub struct Player<S = MaybeTls> {
    client: Client<S>,
    playback: Playback,
}

impl<S: Transport> Player<S> {
    /// The message stream played on.
    pub fn stream_id(&self) -> u32 {
        self.playback.stream_id()
    }

    /// The client, for calls and the sans-IO connection.
    pub fn client(&mut self) -> &mut Client<S> {
        &mut self.client
    }

    /// Whether NetStream.Play.UnpublishNotify (the live stream's publisher left) ends the
    /// stream of frames, after handing out that status, as it ends librtmp's and FFmpeg's.
    /// Default true; false keeps waiting for the next publisher.
    pub fn set_end_on_unpublish(&mut self, end: bool) {
        self.playback.set_end_on_unpublish(end);
    }

    /// The last status received for this stream.
    pub fn last_status(&self) -> Option<&Status> {
        self.playback.last_status()
    }

    /// The next frame, waiting at most the read timeout ([`Error::Timeout`]); `Ok(None)` once
    /// playback is over: the server stopped it (NetStream.Play.Stop, Play.Complete,
    /// UnpublishNotify unless [`set_end_on_unpublish`](Self::set_end_on_unpublish)(false), a
    /// failure) or sent Stream EOF, other than the one before a seek's or resume's media.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, Error> {
        while !self.playback.is_finished() {
            let event = self.client.next_event()?;
            if let ClientEvent::Closed(_) = event {
                return Err(self.client.end_reason());
            }
            if let Some(frame) = self.playback.frame(event) {
                return Ok(Some(frame));
            }
        }
        Ok(None)
    }

    /// Pauses playback (RTMP 1.0 §7.2.2.8) at the last frame's time.
    pub fn pause(&mut self) -> Result<(), Error> {
        let (stream, position) = (self.stream_id(), f64::from(self.playback.position()));
        self.client.api(|conn| conn.pause(stream, true, position))?;
        self.playback.expect_restart();
        self.client.flush()
    }

    /// Resumes playback after [`pause`](Self::pause).
    pub fn resume(&mut self) -> Result<(), Error> {
        let (stream, position) = (self.stream_id(), f64::from(self.playback.position()));
        self.client
            .api(|conn| conn.pause(stream, false, position))?;
        self.playback.expect_restart();
        self.client.flush()
    }

    /// Seeks to `position_ms` (RTMP 1.0 §7.2.2.7) in a recorded stream.
    pub fn seek(&mut self, position_ms: u32) -> Result<(), Error> {
        let stream = self.stream_id();
        self.client
            .api(|conn| conn.seek(stream, f64::from(position_ms)))?;
        self.playback.expect_restart();
        self.client.flush()
    }

    /// Stops playing and closes the connection (`deleteStream`, then the socket).
    pub fn close(self) -> Result<(), Error> {
        self.client.close()
    }
}
