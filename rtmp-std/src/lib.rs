//! Drive [`rtmp_proto`] over blocking std I/O: an RTMP client and server over any
//! [`Transport`], a `Read + Write` byte stream (TCP by default; TLS with the `tls` feature).
//!
//! One thread owns a connection. Whenever it waits for something, the adapter writes what the
//! sans-IO connection queued (one vectored write carrying many chunks), blocks in a read
//! bounded by the connection's next deadline (a read that times out becomes
//! `handle_timeout`), feeds what it read, and hands out the events. Everything RTMP is
//! [`rtmp_proto`]'s; this crate only moves bytes and keeps time.
//!
//! - [`client`]: [`Client`](client::Client) connects by URL; then publish with a
//!   [`Publisher`](client::Publisher) or play with a [`Player`](client::Player).
//! - [`server`]: [`Server`](server::Server) accepts connections, each a
//!   [`ServerSession`](server::ServerSession) whose requests the application answers.
//! - [`relay`]: a small live relay from publishers to players, to serve as is or to copy.
//! - [`flv`]: publish an FLV file, record a stream into one.
//!
//! A player and a publisher meeting at a relay, over TCP loopback:
//!
//! ```
//! use bytes::Bytes;
//! use rtmp_std::client::{Client, ClientOptions, Frame};
//! use rtmp_std::relay::Relay;
//! use rtmp_std::server::Server;
//!
//! let server = Server::bind("127.0.0.1:0")?;
//! let url = format!("rtmp://{}/live", server.local_addr()?);
//! let stop = server.stop_handle()?;
//! let relay = Relay::new();
//! let serving = std::thread::spawn(move || {
//!     server.serve(move |session, _peer| {
//!         let _ = relay.handle(session);
//!     })
//! });
//!
//! // The player waits for the live stream `cam`; the publisher starts it, sends a frame, leaves.
//! let mut player = Client::connect(&url)?.play("cam")?;
//! let mut publisher = Client::connect_with(&url, ClientOptions::publisher())?.publish("cam")?;
//! let keyframe = Bytes::from_static(&[0x17, 1, 0, 0, 0, 0xAB, 0xCD]);
//! publisher.send_video(40, keyframe.clone())?;
//! publisher.close()?;
//!
//! let mut video = Vec::new();
//! while let Some(frame) = player.next_frame()? {
//!     if let Frame::Video { timestamp, payload } = frame {
//!         video.push((timestamp, payload));
//!     }
//! }
//! assert_eq!(video, [(40, keyframe)]);
//! player.close()?;
//! stop.stop();
//! serving.join().expect("the server thread")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//! # The same API as rtmp-tokio
//!
//! Clients, players, publishers and server sessions have rtmp-tokio's methods, of the same
//! names and results (`next_event` and `next_event_timeout` return `Result`, the last event
//! is `Closed`, then `Err` says why; `flush` returns `Result`; `close` consumes the client;
//! `transport`/`transport_mut`), blocking instead of async. What differs, and why:
//!
//! - No `ServerSession::set_read_pacing`: it batches the wake-ups of a runtime that many
//!   connections share; a thread of its own per connection has nothing to batch.
//! - [`Publisher::wait`](client::Publisher::wait): a blocking publisher lets its connection
//!   read and answer between frames; rtmp-tokio's task does that by itself.
//! - `ClientOptions::read_timeout` and `write_timeout`, and
//!   [`Server::set_write_timeout`](server::Server::set_write_timeout): a blocking read or
//!   write needs a bound; an async one is bounded by the caller (`tokio::time::timeout`).
//! - No `Stream` implementations: they are an async interface (rtmp-tokio's `Player` and
//!   `ServerSession` have them).
//!
//! Both adapters log with `tracing`, the same events with the same fields (see
//! [`Relay::handle_from`](relay::Relay::handle_from)).
#![forbid(unsafe_code)]
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
pub use transport::{MaybeTls, Transport, Untimed};
