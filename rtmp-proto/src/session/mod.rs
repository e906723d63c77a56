//! Client and server connections: the NetConnection and NetStream conversations of RTMP 1.0 §7.2
//! on top of the handshake, chunk and message layers, sans-IO in the style of quinn-proto.
//!
//! A connection is driven by its owner (an adapter, or a test) with four kinds of calls:
//! - inputs: `handle_input(now, bytes)` with what was read, `handle_timeout(now)` when
//!   `poll_timeout()` is reached, `handle_eof(now)` when a read returns no bytes (the peer
//!   closed its side; the connection ends with `Closed`);
//! - outputs, polled after every input or command until they return `None`: `poll_event()`,
//!   then `poll_transmit()` for the bytes to write, then `poll_timeout()`;
//! - commands of the application (connect, publish, accept a request, send media...);
//! - getters.
//!
//! Time is an [`Instant`] the caller passes in; the crate never reads a clock.
//!
//! The main types of both roles are re-exported here; the two that exist in both with
//! different meanings, `PublishType` and `PlayStart`, stay in [`client`] and [`server`].

pub mod adapter;
pub mod client;
mod config;
mod core;
mod error;
#[cfg(test)]
pub(crate) mod pair;
mod queue;
pub mod server;
mod time;

pub use client::{
    ClientConnection, ClientConnectionConfig, ClientEvent, ConnectParams, ConnectionStatus,
    PlayOptions, Status, StreamStatus, TransactionId,
};
pub use config::SessionConfig;
pub use error::{ApiError, MediaKind, SessionError, Violation};
pub use queue::SendStatus;
pub use server::{
    CallId, CallOutcome, CallRequest, ConnectRequest, PlayRequest, PublishRequest, RequestId,
    ServerConnection, ServerConnectionConfig, ServerEvent, ServerOptions, StatusLevel, StreamKind,
};
pub use time::Instant;

/// Enhanced RTMP v2 `capsEx` flag of a connect: the client can reconnect when asked
/// (NetConnection.Connect.ReconnectRequest).
pub const CAPS_EX_RECONNECT: u32 = 1;
/// Enhanced RTMP v2 `capsEx` flag of a connect: the client handles multitrack streams.
pub const CAPS_EX_MULTITRACK: u32 = 2;
/// Enhanced RTMP v2 `capsEx` flag of a connect: the client parses ModEx signals.
pub const CAPS_EX_MOD_EX: u32 = 4;
/// Enhanced RTMP v2 `capsEx` flag of a connect: nanosecond timestamp offsets.
pub const CAPS_EX_TIMESTAMP_NANO_OFFSET: u32 = 8;
