//! The client side: connect to a server, then publish a stream or play one.
//!
//! [`Client::connect`] makes the TCP connection, the handshake and `connect`; then
//! [`Client::publish`] gives a [`Publisher`] (send audio, video, metadata) and
//! [`Client::play`] a [`Player`] (media arrives as [`Frame`]s). `rtmps://` URLs are secured
//! with TLS (feature `tls`). [`Client::connect_over`] does the same over any byte stream, e.g.
//! RTMP over QUIC.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

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
use rtmp_proto::session::{ApiError, SendStatus, SessionError};
use rtmp_proto::url::{RtmpUrl, Scheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub use rtmp_proto::session::adapter::{ClientSettings, Frame, Profile};

use crate::driver::{Clock, Driver};
use crate::{Error, MaybeTls};

/// What an `rtmps://` connection trusts; nothing can be without the `tls` feature.
#[cfg(feature = "tls")]
use crate::tls::TlsClientConfig as Trust;
#[cfg(not(feature = "tls"))]
type Trust = std::convert::Infallible;

/// Events kept for [`Publisher::next_event`] while sends drive the connection; past this many
/// the oldest are dropped, and the next `next_event` says how many
/// ([`Error::EventsDropped`]).
const PUBLISHER_BACKLOG: usize = 256;

/// How a [`Client`] connects: the [`ClientSettings`] every adapter's client has (their
/// defaults are the core's), and what an `rtmps://` URL trusts.
///
/// ```
/// use std::time::Duration;
/// use rtmp_tokio::client::{ClientOptions, ClientSettings};
///
/// let options = ClientOptions::publisher()
///     .with_settings(ClientSettings::publisher().with_request_timeout(Duration::from_secs(5)));
/// assert_eq!(options.settings.request_timeout, Duration::from_secs(5));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The `connect` parameters, session settings, handshake, timeouts, and whether a
    /// publisher moves on a ReconnectRequest ([`ClientSettings::reconnect`]): a publisher
    /// connected with [`Client::connect_with`] (or [`Client::connect_over_redialing`]) sends
    /// up to the next video keyframe (the next audio frame if the stream has no video), and
    /// the send of that frame makes the move: it connects to the given tcUrl (resolved against
    /// the current one if relative; the current one if none), or if that fails to the URL it
    /// first connected to ([`Error::Reconnect`] if that fails too), publishes the same name
    /// and goes on from that frame ([`Handover`] decides). Nothing is queued: the call waits
    /// for the new connection. [`Client::connect_over`] does not move (it cannot dial a new
    /// stream).
    pub settings: ClientSettings,
    /// What `rtmps://` URLs trust: `None` (the default) trusts the Mozilla roots; a
    /// [`TlsClientConfig`](crate::tls::TlsClientConfig) made from a certificate trusts that
    /// (a self-signed server).
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsClientConfig>,
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

    /// Trusting what `tls` trusts for `rtmps://` URLs.
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: crate::tls::TlsClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    fn connection_config(&self, url: &RtmpUrl) -> ClientConnectionConfig {
        self.settings.connection_config(url)
    }

    /// What an `rtmps://` URL trusts with these options.
    #[cfg(feature = "tls")]
    fn rtmps_trust(&self) -> Result<Trust, Error> {
        Ok(Trust::given_or_webpki(self.tls.as_ref())?)
    }

    #[cfg(not(feature = "tls"))]
    fn rtmps_trust(&self) -> Result<Trust, Error> {
        Err(Error::Unsupported(
            "rtmps:// needs rtmp-tokio's `tls` feature",
        ))
    }
}

/// A connected client (gortmp's `ClientConn`): the handshake is done and the server accepted
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
pub struct Client<S = MaybeTls> {
    driver: Driver<S, ClientConnection>,
    url: RtmpUrl,
    request_timeout: Duration,
    /// The outbound queue's high-water mark, above which a publisher's sends wait.
    high_water: usize,
    /// Events that arrived while waiting for an answer, handed out first by `next_event`.
    backlog: VecDeque<ClientEvent>,
    /// Events a publisher dropped from `backlog` since `next_event` last said so.
    dropped: u64,
    closed: Option<ClientEvent>,
    /// Whether `next_event` handed out the `Closed` event (it says why after that).
    closed_handed_out: bool,
    /// How a publisher reaches the server a ReconnectRequest names; `None` when it cannot.
    redial: Option<Redial<S>>,
}

/// Connects anew to a tcUrl, as the first connection was made.
type Redial<S> = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<Client<S>, Error>> + Send>> + Send + Sync,
>;

impl Client<MaybeTls> {
    /// Connects to `url` (`rtmp://host[:port]/app[/...]`, port 1935 by default; `rtmps://`,
    /// port 443 by default, with the `tls` feature) with the default options: TCP, TLS for
    /// `rtmps://`, handshake and `connect`.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, ClientOptions::default()).await
    }

    /// Connects to `url` with `options`. `rtmps://` trusts what
    /// [`ClientOptions::tls`](ClientOptions#structfield.tls) says, the Mozilla roots by
    /// default; without the `tls` feature it is [`Error::Unsupported`].
    pub async fn connect_with(url: &str, options: ClientOptions) -> Result<Self, Error> {
        let again = options.clone();
        let mut client = Client::dial(url.to_owned(), options).await?;
        if again.settings.reconnect {
            let redial: Redial<MaybeTls> =
                Arc::new(move |url: String| Box::pin(Client::dial(url, again.clone())));
            client.redial = Some(redial);
        }
        Ok(client)
    }

    /// TCP, TLS for `rtmps://`, handshake and `connect`.
    async fn dial(url: String, options: ClientOptions) -> Result<Self, Error> {
        let parsed = RtmpUrl::parse(&url)?;
        let trust = match parsed.scheme {
            Scheme::Rtmp => None,
            Scheme::Rtmps => Some(options.rtmps_trust()?),
        };
        let mut client =
            Client::connect_parsed(parsed, options, |tcp, host| secure(tcp, host, trust)).await?;
        // Plain TCP takes the non-waiting write first, as the server's connections do; TLS
        // goes through its session, polled (the check stays in the write: the transport is
        // reachable through `transport_mut`).
        if !client.driver.stream().is_tls() {
            client.driver.set_try_write(|stream, slices| {
                if stream.is_tls() {
                    Err(std::io::ErrorKind::WouldBlock.into())
                } else {
                    crate::driver::tcp_try_send(stream.tcp(), slices)
                }
            });
        }
        Ok(client)
    }
}

/// The stream over `tcp`: TLS with `host` if there is something to trust.
async fn secure(tcp: TcpStream, host: String, trust: Option<Trust>) -> Result<MaybeTls, Error> {
    match trust {
        None => Ok(MaybeTls::plain(tcp)),
        #[cfg(feature = "tls")]
        Some(trust) => Ok(MaybeTls::tls(
            crate::tls::handshake(&trust, &host, tcp).await?,
        )),
        #[cfg(not(feature = "tls"))]
        Some(never) => {
            let _ = host;
            match never {}
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Client<S> {
    /// Does the handshake and `connect` over `stream`, already connected to the server `url`
    /// names (a TLS stream for `rtmps://`, a QUIC stream...).
    pub async fn connect_over(
        stream: S,
        url: &str,
        mut options: ClientOptions,
    ) -> Result<Self, Error> {
        let parsed = RtmpUrl::parse(url)?;
        options.settings.reconnect = false;
        let timeout = options.settings.connect_timeout;
        tokio::time::timeout(
            timeout,
            Client::handshake_and_connect(stream, parsed, &options),
        )
        .await
        .map_err(|_| Error::Timeout {
            after: timeout,
            waiting_for: "waiting for the handshake and the answer to connect",
        })?
    }

    /// [`connect_over`](Self::connect_over) for a publisher that can move: on a
    /// ReconnectRequest (see [`ClientSettings::reconnect`], which this sets), `dial` makes the
    /// byte stream to the new URL's server (a TLS stream, a QUIC stream, an in-memory pipe...)
    /// and the client does the handshake and `connect` over it, as over `stream`; the
    /// connect timeout bounds each attempt, `dial` included.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rtmp_tokio::Error> {
    /// use rtmp_tokio::client::{Client, ClientOptions};
    /// use rtmp_tokio::proto::url::RtmpUrl;
    ///
    /// async fn dial(url: RtmpUrl) -> Result<tokio::net::TcpStream, rtmp_tokio::Error> {
    ///     Ok(tokio::net::TcpStream::connect(url.authority()).await?)
    /// }
    /// let url = "rtmp://127.0.0.1/live";
    /// let stream = dial(rtmp_tokio::proto::url::RtmpUrl::parse(url)?).await?;
    /// let client = Client::connect_over_redialing(stream, url, ClientOptions::publisher(), dial)
    ///     .await?;
    /// let publisher = client.publish("cam1").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_over_redialing<D, Fut>(
        stream: S,
        url: &str,
        options: ClientOptions,
        dial: D,
    ) -> Result<Self, Error>
    where
        S: 'static,
        D: Fn(RtmpUrl) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, Error>> + Send + 'static,
    {
        let mut options = options;
        options.settings.reconnect = true;
        let parsed = RtmpUrl::parse(url)?;
        let timeout = options.settings.connect_timeout;
        let mut client = tokio::time::timeout(
            timeout,
            Client::handshake_and_connect(stream, parsed, &options),
        )
        .await
        .map_err(|_| Error::Timeout {
            after: timeout,
            waiting_for: "waiting for the handshake and the answer to connect",
        })??;
        let dial = Arc::new(dial);
        let redial: Redial<S> = Arc::new(move |url: String| {
            let (dial, options) = (Arc::clone(&dial), options.clone());
            Box::pin(async move {
                let parsed = RtmpUrl::parse(&url)?;
                let timeout = options.settings.connect_timeout;
                let connecting = async {
                    let stream = dial(parsed.clone()).await?;
                    Client::handshake_and_connect(stream, parsed, &options).await
                };
                tokio::time::timeout(timeout, connecting)
                    .await
                    .map_err(|_| Error::Timeout {
                        after: timeout,
                        waiting_for: "reconnecting (dial, handshake and the answer to connect)",
                    })?
            })
        });
        client.redial = Some(redial);
        Ok(client)
    }

    /// Opens TCP to `url`'s host, makes the stream over it with `secure` (given the host),
    /// then the handshake and `connect`, all within the connect timeout.
    pub(crate) async fn connect_parsed<F, Fut>(
        url: RtmpUrl,
        options: ClientOptions,
        secure: F,
    ) -> Result<Self, Error>
    where
        F: FnOnce(TcpStream, String) -> Fut,
        Fut: Future<Output = Result<S, Error>>,
    {
        let timeout = options.settings.connect_timeout;
        let address = url.authority();
        let connecting = async {
            let tcp = TcpStream::connect(address.as_str())
                .await
                .map_err(|source| Error::Connect {
                    address: address.clone(),
                    source: source.into(),
                })?;
            tcp.set_nodelay(true)?;
            let stream = secure(tcp, url.host.clone()).await?;
            Client::handshake_and_connect(stream, url, &options).await
        };
        tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| Error::Timeout {
                after: timeout,
                waiting_for: "connecting (TCP, TLS, handshake and the answer to connect)",
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
            request_timeout: options.settings.request_timeout,
            high_water: options.settings.session.outbound_high_water,
            backlog: VecDeque::new(),
            dropped: 0,
            closed: None,
            closed_handed_out: false,
            redial: None,
        };
        match client.answer_to(AwaitConnect).await {
            Ok(()) => {
                tracing::debug!(url = %client.url, "connected");
                Ok(client)
            }
            Err(error) => {
                client.shut().await;
                Err(error)
            }
        }
    }

    /// The URL connected to.
    pub fn url(&self) -> &RtmpUrl {
        &self.url
    }

    /// The next event (statuses, media, calls of the server...), reading and writing as
    /// needed. The last event is [`ClientEvent::Closed`]; after it, `Err` says why the
    /// connection ended (as [`close_reason`](Self::close_reason) does). Cancel-safe.
    pub async fn next_event(&mut self) -> Result<ClientEvent, Error> {
        std::future::poll_fn(|cx| self.poll_next_event(cx)).await
    }

    /// The next event, waiting at most `timeout`: `Ok(None)` if nothing came (the connection
    /// stays usable).
    pub async fn next_event_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<ClientEvent>, Error> {
        match tokio::time::timeout(timeout, self.next_event()).await {
            Ok(event) => event.map(Some),
            Err(_) => Ok(None),
        }
    }

    fn poll_next_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<ClientEvent, Error>> {
        if let Some(event) = self.backlog.pop_front() {
            return Poll::Ready(Ok(event));
        }
        if self.closed_handed_out {
            return Poll::Ready(Err(self.end_reason()));
        }
        let event = ready!(self.poll_driven_event(cx));
        self.closed_handed_out = matches!(event, ClientEvent::Closed(_));
        Poll::Ready(Ok(event))
    }

    async fn next_driven_event(&mut self) -> ClientEvent {
        std::future::poll_fn(|cx| self.poll_driven_event(cx)).await
    }

    /// The connection's next event; its `Closed` event again once it ended.
    fn poll_driven_event(&mut self, cx: &mut Context<'_>) -> Poll<ClientEvent> {
        if let Some(closed) = &self.closed {
            return Poll::Ready(closed.clone());
        }
        Poll::Ready(match ready!(self.driver.poll_event(cx)) {
            Some(event) => {
                if matches!(event, ClientEvent::Closed(_)) {
                    self.closed = Some(event.clone());
                }
                event
            }
            None => ClientEvent::Closed(SessionError::Closed),
        })
    }

    /// Why the connection ended, once it has.
    pub fn close_reason(&self) -> Option<&Error> {
        self.driver.ended()
    }

    fn end_reason(&self) -> Error {
        self.driver.ended().cloned().unwrap_or(Error::Closed)
    }

    /// The byte stream, e.g. to read socket options.
    pub fn transport(&self) -> &S {
        self.driver.stream()
    }

    /// The byte stream, mutably.
    pub fn transport_mut(&mut self) -> &mut S {
        self.driver.stream_mut()
    }

    /// Creates a message stream (`createStream`, RTMP 1.0 §7.2.1.3) and returns its id, for
    /// commands of [`connection`](Self::connection) this type has no method for.
    pub async fn create_stream(&mut self) -> Result<u32, Error> {
        let request = self.driver.conn.create_stream()?;
        self.wait_for(AwaitStream::new(request)).await
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
        self.wait_for(AwaitCall::new(transaction)).await
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
        let stream = self
            .wait_for(AwaitStart::new(request, StartKind::Publish))
            .await?;
        tracing::debug!(url = %self.url, name, stream, "publishing");
        let handover = self
            .redial
            .as_ref()
            .map(|_| Handover::new(self.url.tc_url()));
        Ok(Publisher {
            client: self,
            stream,
            name: String::from(name),
            kind,
            handover,
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
        let stream = self
            .wait_for(AwaitStart::new(request, StartKind::Play))
            .await?;
        tracing::debug!(url = %self.url, name, stream, "playing");
        Ok(Player {
            client: self,
            playback: Playback::new(stream, true),
            stream_ended: false,
        })
    }

    /// Drives the connection until `awaited` is answered, keeping the other events for
    /// `next_event`; bounded by the request timeout.
    async fn wait_for<A: Awaited>(&mut self, awaited: A) -> Result<A::Output, Error> {
        let (timeout, waiting_for) = (self.request_timeout, awaited.waiting_for());
        tokio::time::timeout(timeout, self.answer_to(awaited))
            .await
            .map_err(|_| Error::Timeout {
                after: timeout,
                waiting_for,
            })?
    }

    /// Drives the connection until `awaited` is answered, keeping the other events for
    /// `next_event`.
    async fn answer_to<A: Awaited>(&mut self, mut awaited: A) -> Result<A::Output, Error> {
        loop {
            let event = self.next_driven_event().await;
            if let Some(result) = awaited.answer(&self.driver.conn, &event) {
                return result.map_err(Error::from);
            }
            if matches!(event, ClientEvent::Closed(_)) {
                return Err(self.end_reason());
            }
            self.backlog.push_back(event);
        }
    }

    /// Closes the connection politely (`FCUnpublish` and `deleteStream` for each stream, as
    /// FFmpeg does), writes the last bytes (for a few seconds at most) and shuts the stream
    /// down. `Err` if the connection had ended otherwise (the peer left, an I/O error...).
    pub async fn close(mut self) -> Result<(), Error> {
        self.shut().await;
        match self.end_reason() {
            Error::Closed => Ok(()),
            other => Err(other),
        }
    }

    /// Closes the connection and waits for its end.
    async fn shut(&mut self) {
        self.driver.close();
        while !matches!(self.next_driven_event().await, ClientEvent::Closed(_)) {}
    }
}

/// A stream being published. Sends queue the message and write what the socket takes at
/// once; they wait only when the server falls behind (the outbound queue is above its
/// high-water mark), which paces a producer that is faster than the network.
pub struct Publisher<S = MaybeTls> {
    client: Client<S>,
    stream: u32,
    name: String,
    kind: PublishType,
    /// Whether and where the publisher is moving (see [`ClientSettings::reconnect`]).
    handover: Option<Handover>,
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

    /// Sends video (an FLV video tag body: legacy or Enhanced RTMP) at `timestamp` ms. After
    /// a ReconnectRequest, the next keyframe goes to the new server (see
    /// [`ClientSettings::reconnect`]): this call then makes the move, and is not cancel-safe
    /// while it does (a frame handed over later goes after the keyframe, and the move goes on
    /// from the next URL).
    pub async fn send_video(
        &mut self,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, Error> {
        let frame = HandoverFrame {
            kind: HandoverKind::Video,
            timestamp,
            payload,
        };
        self.send_media(frame).await
    }

    /// Sends audio (an FLV audio tag body) at `timestamp` ms. A stream without video moves at
    /// the first audio frame after a ReconnectRequest, as [`send_video`](Self::send_video)
    /// says.
    pub async fn send_audio(
        &mut self,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<SendStatus, Error> {
        let frame = HandoverFrame {
            kind: HandoverKind::Audio,
            timestamp,
            payload,
        };
        self.send_media(frame).await
    }

    /// Sends a frame on this connection, or moves to another on a ReconnectRequest.
    async fn send_media(&mut self, frame: HandoverFrame) -> Result<SendStatus, Error> {
        let route = match &mut self.handover {
            Some(handover) => handover.route(frame.clone()),
            None => Route::Send,
        };
        match route {
            Route::Send => self.send_frame(frame).await,
            Route::Move => self.move_on().await,
        }
    }

    async fn send_frame(&mut self, frame: HandoverFrame) -> Result<SendStatus, Error> {
        let HandoverFrame {
            kind,
            timestamp,
            payload,
        } = frame;
        match kind {
            HandoverKind::Video => {
                self.send(|conn, stream| conn.send_video(stream, timestamp, payload))
                    .await
            }
            HandoverKind::Audio => {
                self.send(|conn, stream| conn.send_audio(stream, timestamp, payload))
                    .await
            }
        }
    }

    /// The move (Enhanced RTMP v2, "Reconnect"): what the old connection queued goes and it
    /// closes; the core's targets are dialled in turn until one publishes the same name,
    /// which gets the metadata, the sequence headers and the kept frame.
    async fn move_on(&mut self) -> Result<SendStatus, Error> {
        let (Some(redial), Some(handover)) = (self.client.redial.clone(), &mut self.handover)
        else {
            return Err(Error::Unsupported(
                "this publisher cannot dial a new connection",
            ));
        };
        let _ = self.client.flush().await;
        self.client.shut().await;
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
            let attempt = async {
                let mut client = redial(url.clone()).await?;
                client.redial = Some(Arc::clone(&redial));
                client.publish_as(&self.name, self.kind).await
            };
            match attempt.await {
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
            let _status = self
                .send(|conn, stream| conn.send_metadata(stream, metadata))
                .await?;
        }
        let kept: Vec<HandoverFrame> = match &mut self.handover {
            Some(handover) => handover.resume().collect(),
            None => Vec::new(),
        };
        let mut status = SendStatus::Queued;
        for frame in kept {
            status = self.send_frame(frame).await?;
        }
        Ok(status)
    }

    /// Sends the stream's metadata, `@setDataFrame("onMetaData", metadata)`, which servers keep
    /// for players.
    pub async fn send_metadata(&mut self, metadata: Value) -> Result<SendStatus, Error> {
        if let Some(handover) = &mut self.handover {
            handover.note_metadata(&metadata);
        }
        self.send(|conn, stream| conn.send_metadata(stream, metadata))
            .await
    }

    /// Sends a data message (e.g. `onTextData`, `onCuePoint`) at `timestamp` ms.
    pub async fn send_data(&mut self, timestamp: u32, data: Data) -> Result<SendStatus, Error> {
        self.send(|conn, stream| conn.send_data(stream, timestamp, data))
            .await
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.client.flush().await
    }

    /// The next event the server sent (statuses, calls...) while this publisher sent, without
    /// waiting: `Ok(None)` if there is none. Sends keep the latest 256; if older ones had to
    /// be dropped, the next call says how many ([`Error::EventsDropped`]), then hands out the
    /// rest.
    pub fn next_event(&mut self) -> Result<Option<ClientEvent>, Error> {
        if self.client.dropped > 0 {
            let count = std::mem::take(&mut self.client.dropped);
            return Err(Error::EventsDropped { count });
        }
        Ok(self.client.backlog.pop_front())
    }

    /// Stops publishing: writes what is queued, sends `FCUnpublish` and `deleteStream`, and
    /// closes the connection.
    pub async fn close(mut self) -> Result<(), Error> {
        self.client.flush().await?;
        self.client.close().await
    }

    /// Queues what `command` sends on the published stream, then writes (see
    /// [`drive`](Self::drive)).
    async fn send(
        &mut self,
        command: impl FnOnce(&mut ClientConnection, u32) -> Result<SendStatus, ApiError>,
    ) -> Result<SendStatus, Error> {
        let status = match command(&mut self.client.driver.conn, self.stream) {
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
        let handover = &mut self.handover;
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
                        if let Some(handover) = handover.as_mut() {
                            if handover.on_status(status) {
                                tracing::info!(tc_url = ?status.tc_url(), "server asks to reconnect");
                            }
                        }
                    }
                    if client.backlog.len() >= PUBLISHER_BACKLOG {
                        client.backlog.pop_front();
                        client.dropped += 1;
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

/// A stream being played: its media arrives through [`next_frame`](Self::next_frame).
pub struct Player<S = MaybeTls> {
    client: Client<S>,
    playback: Playback,
    /// Whether the [`Stream`](futures_core::Stream) of frames ended.
    stream_ended: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Player<S> {
    /// The message stream played on.
    pub fn stream_id(&self) -> u32 {
        self.playback.stream_id()
    }

    /// The client, for calls and the sans-IO connection.
    pub fn client(&mut self) -> &mut Client<S> {
        &mut self.client
    }

    /// Whether NetStream.Play.UnpublishNotify (the live stream's publisher left) ends the
    /// stream of frames, as it ends librtmp's and FFmpeg's. Default true; false keeps waiting
    /// for the next publisher.
    pub fn set_end_on_unpublish(&mut self, end: bool) {
        self.playback.set_end_on_unpublish(end);
    }

    /// The last onStatus received for this stream.
    pub fn last_status(&self) -> Option<&Status> {
        self.playback.last_status()
    }

    /// The next frame, the stream's statuses included ([`Frame::Status`], e.g.
    /// NetStream.Play.PublishNotify; the last is also [`last_status`](Self::last_status));
    /// `Ok(None)` once the stream is over: the server stopped it (NetStream.Play.Stop,
    /// Play.Complete, UnpublishNotify unless
    /// [`set_end_on_unpublish`](Self::set_end_on_unpublish)(false), a failure), after handing
    /// out that status, or sent Stream EOF, other than the one before a seek's or resume's
    /// media. Cancel-safe.
    pub async fn next_frame(&mut self) -> Result<Option<Frame>, Error> {
        std::future::poll_fn(|cx| self.poll_frame(cx)).await
    }

    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Frame>, Error>> {
        while !self.playback.is_finished() {
            let event = ready!(self.client.poll_next_event(cx))?;
            if let ClientEvent::Closed(_) = event {
                return Poll::Ready(Err(self.client.end_reason()));
            }
            if let Some(frame) = self.playback.frame(event) {
                if let Frame::Status(status) = &frame {
                    tracing::debug!(code = %status.code, "play status");
                }
                return Poll::Ready(Ok(Some(frame)));
            }
        }
        Poll::Ready(Ok(None))
    }

    /// Pauses playback (RTMP 1.0 §7.2.2.8) at the last frame's time.
    pub async fn pause(&mut self) -> Result<(), Error> {
        let position = f64::from(self.playback.position());
        let stream = self.playback.stream_id();
        self.client.driver.conn.pause(stream, true, position)?;
        self.playback.expect_restart();
        self.client.flush().await
    }

    /// Resumes playback after [`pause`](Self::pause).
    pub async fn resume(&mut self) -> Result<(), Error> {
        let position = f64::from(self.playback.position());
        let stream = self.playback.stream_id();
        self.client.driver.conn.pause(stream, false, position)?;
        self.playback.expect_restart();
        self.client.flush().await
    }

    /// Seeks to `position_ms` (RTMP 1.0 §7.2.2.7) in a recorded stream.
    pub async fn seek(&mut self, position_ms: u32) -> Result<(), Error> {
        let stream = self.playback.stream_id();
        self.client
            .driver
            .conn
            .seek(stream, f64::from(position_ms))?;
        self.playback.expect_restart();
        self.client.flush().await
    }

    /// Stops playing and closes the connection (`deleteStream`, then the socket).
    pub async fn close(self) -> Result<(), Error> {
        self.client.close().await
    }
}

/// The frames of [`next_frame`](Player::next_frame) as a stream: `Ok` frames until playback is
/// over, or one `Err` if the connection ends first, then the end.
impl<S: AsyncRead + AsyncWrite + Unpin + Send> futures_core::Stream for Player<S> {
    type Item = Result<Frame, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.stream_ended {
            return Poll::Ready(None);
        }
        let frame = ready!(this.poll_frame(cx)).transpose();
        this.stream_ended = !matches!(frame, Some(Ok(_)));
        Poll::Ready(frame)
    }
}

#[cfg(all(test, not(feature = "tls")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rtmps_urls_need_the_tls_feature() {
        let error = Client::connect("rtmps://127.0.0.1:1/live")
            .await
            .err()
            .expect("no TLS in this build");
        assert!(
            matches!(error, Error::Unsupported(reason) if reason.contains("`tls` feature")),
            "{error}"
        );
    }
}
