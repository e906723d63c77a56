//! `rtmp-proto`: a sans-IO implementation of RTMP.
//!
//! The crate takes inbound bytes and produces outbound bytes and events. It never touches a
//! socket, never blocks, never reads a clock and never draws from global randomness: time and
//! randomness are passed in by the caller, so every run with the same inputs is byte-for-byte
//! the same.
//!
//! Layers, each usable on its own:
//! - [`handshake`]: C0/C1/C2 and S0/S1/S2, plain and HMAC-SHA256 digest (RTMP 1.0 §5.2).
//! - [`chunk`]: the chunk stream (RTMP 1.0 §5.3): [`chunk::ChunkDecoder`] and [`chunk::ChunkEncoder`].
//! - [`message`]: typed protocol control, user control, command, data, media, aggregate and
//!   shared object messages (RTMP 1.0 §5.4, §6, §7).
//! - [`amf`], [`amf0`], [`amf3`]: one value model and the AMF0 and AMF3 codecs.
//! - [`session`]: client and server connections (RTMP 1.0 §7.2).
//! - [`relay`]: the hub of live streams a relay server drives.
//!
//! Every resource an untrusted peer can make us spend is bounded by a field of [`Limits`].
//!
//! # Panics
//! No input makes this crate panic. A panic is a bug; please report it with the input.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Hostile input must end in a typed error, never a panic: outside tests nothing may unwrap,
// panic or index unchecked.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;

pub mod amf;
pub mod amf0;
pub mod amf3;
mod budget;
pub mod chunk;
mod error;
pub mod flv;
pub mod handshake;
mod limits;
pub mod media;
pub mod message;
mod raw;
pub mod relay;
pub mod session;
pub mod url;
mod wire;

#[cfg(test)]
mod test_support;

pub use amf::Value;
pub use budget::MemoryBudget;
pub use error::Error;
pub use limits::Limits;
pub use raw::{type_id, RawMessage};
