//! Drive [`rtmp_proto`]'s sans-IO connections over tokio, over any
//! `AsyncRead + AsyncWrite + Unpin + Send` byte stream: TCP, TLS (RTMPS), a QUIC stream.
//!
//! - [`server`]: [`Server`](server::Server) accepts TCP connections, and
//!   [`ServerSession`](server::ServerSession) drives one connection: the application loops on
//!   its cancel-safe `next_event()`, answers connect, publish and play requests and sends
//!   media to players.
//! - [`client`]: [`Client::connect`](client::Client::connect), then a
//!   [`Publisher`](client::Publisher) or a [`Player`](client::Player).
//! - [`relay`]: a live relay (GOP cache, fan-out with shared payloads, slow players cut off),
//!   what `examples/server` runs.
//! - [`flv`]: publish an FLV file, record a stream to one.
//! - `tls` (feature `tls`): RTMPS servers with rustls; with it, [`Client::connect`](
//!   client::Client::connect) takes `rtmps://` URLs too.
//!
//! Each connection is owned by one task, which reads into a buffer handed to the connection
//! without copying, writes what it queued with one vectored write per wakeup, and sleeps until
//! its next deadline. The adapter holds no protocol logic: every decision is `rtmp_proto`'s.
//!
//! # Example
//! A relay, a publisher and a player in one process:
//! ```
//! use bytes::Bytes;
//! use rtmp_tokio::client::{Client, ClientOptions, Frame};
//! use rtmp_tokio::relay::{Relay, RelayConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("rtmp://{}/live", listener.local_addr()?);
//! let relay = Relay::new(RelayConfig::default());
//! tokio::spawn(async move { relay.serve(listener).await });
//!
//! let mut player = Client::connect(&url).await?.play("cam1").await?;
//! let publisher = Client::connect_with(&url, ClientOptions::publisher()).await?;
//! let mut publisher = publisher.publish("cam1").await?;
//! let keyframe = Bytes::from_static(&[0x17, 1, 0, 0, 0, 0x65, 0x88]);
//! publisher.send_video(0, keyframe.clone()).await?;
//! publisher.close().await?;
//!
//! let mut video = Vec::new();
//! while let Some(frame) = player.next_frame().await? {
//!     if let Frame::Video { payload, .. } = frame {
//!         video.push(payload);
//!     }
//! }
//! assert_eq!(video, [keyframe]);
//! assert_eq!(
//!     player.last_status().unwrap().code,
//!     "NetStream.Play.UnpublishNotify"
//! );
//! # Ok(()) }
//! ```
//! # The same API as rtmp-std
//!
//! Clients, players, publishers and server sessions have rtmp-std's methods, of the same names
//! and results, async instead of blocking: `next_event` and `next_event_timeout` return
//! `Result` (the last event is `Closed`, then `Err` says why), `flush` returns `Result`,
//! `close` consumes the client, `transport`/`transport_mut` give the byte stream. Beyond
//! them, a [`Player`](client::Player)'s frames and a
//! [`ServerSession`](server::ServerSession)'s events are `futures_core::Stream`s, and
//! [`ServerSession::set_read_pacing`](server::ServerSession::set_read_pacing) batches the
//! wake-ups of a runtime many connections share (a blocking thread per connection has none
//! to batch). rtmp-std's publisher has a `wait`, to let its connection read between frames,
//! and its options read and write timeouts; here a task does the first by itself and
//! `tokio::time::timeout` the second.
//!
#![deny(missing_docs)]

pub mod client;
mod driver;
mod error;
pub mod flv;
pub mod relay;
pub mod server;
#[cfg(feature = "tls")]
pub mod tls;
mod transport;

pub use error::{Error, Refusal};
pub use rtmp_proto as proto;
pub use transport::MaybeTls;
