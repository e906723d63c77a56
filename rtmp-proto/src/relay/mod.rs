//! A live relay, sans-IO: the hub of live streams that publishers feed and players play,
//! deciding everything a relay server decides, once, for any driver (the tokio and std
//! relays, a test harness on a virtual clock, an event loop of your own).
//!
//! - [`Hub`]: every stream by [`StreamKey`] (the app and the stream name, each without its
//!   query string: several apps are separate namespaces, and tokens in a query string reach
//!   the application through [`RelayEvent`]s, not the key); one publisher per key; the join
//!   cache of each stream.
//! - The join cache, **per track** (Enhanced RTMP v2 multitrack, as well as legacy FLV): the
//!   metadata, the configuration of every audio and video track (sequence headers of every
//!   codec, video metadata packets, multichannel configurations) and the current GOP of every
//!   video track from its keyframe, with the audio between, bounded in bytes
//!   ([`HubConfig::max_gop_bytes`]). A player that joins a running stream starts at once, on a
//!   keyframe, on every track.
//! - Multitrack by capability ([`MultitrackPolicy`]): a player whose connect announced Enhanced
//!   RTMP multitrack gets every track; one that did not gets the default track (track 0) alone,
//!   as a single-track stream (legacy FLV form for H.264 and AAC), so players that predate
//!   multitrack never break on a multitrack publisher.
//! - [`RelayConnection`]: what each server connection's events mean (connect, publish with
//!   NetStream.Publish.BadName for a second publisher, play, media, unpublish, close), what
//!   its player is sent (PublishNotify and UnpublishNotify as publishers come and go, frames
//!   picked per track), and the slow-player verdict in the caller's time
//!   ([`HubConfig::max_behind`]).
//! - Access control: with [`HubConfig::ask`], a connect, publish or play waits for the
//!   application's [`Access`] ([`RelayConnection::poll_access_request`],
//!   [`RelayConnection::answer`]) while the session goes on; names that cannot be file names
//!   are refused by default ([`HubConfig::check_names`]).
//! - Live statistics ([`Hub::stats`]): per stream its publisher, uptime, codecs and tracks,
//!   picture size and frame rate, bitrate and bytes in, bytes out, players; per connection
//!   its address, role, bytes each way, round trip, queue and dropped video.
//! - Recording: [`Hub::tap`] a published stream, [`FlvRecording`] turns its batches into FLV
//!   with every track, [`recording_file_name`] names the file after the stream and its start.
//! - Push and pull: [`PushRule`]s forward published streams upstream (the driver taps the
//!   hub, each upstream with its own [`UpstreamFeed`] and [`Backoff`]); with origins
//!   ([`HubConfig::pull`]) the hub pulls a stream nobody publishes from the first origin that
//!   has it, fails over, tells players StreamNotFound, closes idle upstreams: the driver
//!   carries out [`Hub::poll_pull`]'s [`PullCommand`]s.
//! - [`Fanout`]: how the driver hands batches to players (a channel of its runtime);
//!   [`LocalFanout`] serves a driver that runs everything on one thread.
//!
//! Publishers' frames are read once ([`Frame::new`]), shared as [`Batch`]es of `Bytes` by
//! every player: a payload is never copied per player, except track 0 of a message in
//! multitrack form, rewritten once (not per player) for the players that take the default
//! track. Each frame is also chunked once ([`Frame::chunk`], a
//! [`ChunkedMessage`](crate::chunk::ChunkedMessage)): a player that sends at the publisher's
//! connection's chunk size on message stream 1 (every player the relay's servers make)
//! writes those chunks as they are, headers included, one buffer per message; any other
//! player chunks the frame itself. At [`RELAY_CHUNK_SIZE`], what the relay servers send
//! with, a live stream's frames fit in one chunk, which is not copied at all: each player
//! writes the frame's header and then the publisher's payload itself.
//!
//! A driver, per connection: feed each [`ServerEvent`](crate::session::ServerEvent) of its
//! connection to [`RelayConnection::handle_event`]; wait on
//! [`RelayConnection::receiver_mut`] beside the socket and pass each batch to
//! [`RelayConnection::deliver`]; close the connection on [`Verdict::Close`].
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use rtmp_proto::relay::{Hub, HubConfig, LocalFanout, RelayConnection, StreamKey};
//!
//! let hub = Rc::new(RefCell::new(Hub::new(HubConfig::default(), || LocalFanout::new(64))));
//! let connection = RelayConnection::new(hub.clone());
//! assert_eq!(StreamKey::new("live?token=1", "cam?key=2").to_string(), "live/cam");
//! assert_eq!(hub.borrow().stream_count(), 0);
//! # drop(connection);
//! ```

/// The chunk size a relay's connections send with (Set Chunk Size, RTMP 1.0 §5.4.1): 64 KiB,
/// larger than the frames of a live stream but its keyframes, so that a frame is one chunk,
/// whose bytes are the header and then the publisher's payload as is: nothing is copied for
/// the players ([`ChunkedMessage`](crate::chunk::ChunkedMessage)). Players of every kind
/// take it (SRS sends 60000 by default); a larger message is chunked, into a copy.
pub const RELAY_CHUNK_SIZE: u32 = 64 * 1024;

mod access;
mod cache;
mod connection;
mod frame;
mod hub;
mod pull;
mod push;
mod record;
mod stats;

#[cfg(test)]
mod tests;

pub use access::{unsafe_file_name, Access, AccessKind, AccessRequest, AskFor, MAX_NAME_BYTES};
pub use connection::{CloseReason, RelayConnection, RelayEvent, Verdict};
pub use frame::{Batch, Frame, Item, KeyframeGate, MediaKind, Role, TrackSet};
pub use hub::{
    split_query, Fanout, Hub, HubConfig, LocalFanout, LocalQueue, MultitrackPolicy, SharedHub,
    StreamKey, StreamSummary,
};
pub use pull::{CloseCause, PullCommand, PullConfig, PullError, PullId, PullTarget};
pub use push::{Backoff, PushRule, PushTarget, UpstreamFeed};
pub use record::{recording_file_name, FlvRecording};
pub use stats::{
    ConnectionRole, ConnectionStats, MediaInfo, RelayStats, StreamStats, BITRATE_WINDOW,
};
