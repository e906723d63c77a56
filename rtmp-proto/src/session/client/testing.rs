//! A client connection against a scripted server: a server-side `Core` that answers with raw
//! messages, plus a tap that decodes every message the client sends.

use alloc::vec::Vec;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::amf::Value;
use crate::amf_object;
use crate::chunk::ChunkDecoder;
use crate::handshake::{ServerConfig, PACKET_LEN};
use crate::message::{Command, Message};
use crate::session::core::Core;
use crate::session::{Instant, SessionConfig};
use crate::Limits;

use super::{ClientConnection, ClientConnectionConfig, ClientEvent};

/// What the client sends before its chunk stream: C0, C1 and C2.
pub(super) const CLIENT_HANDSHAKE_LEN: usize = 1 + 2 * PACKET_LEN;

/// nginx-rtmp's capture of its answers to FFmpeg publishing (S0S1S2, then chunks).
pub(super) const FFMPEG_PUBLISH_S2C: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/captures/ffmpeg-publish.s2c"
));
/// nginx-rtmp's capture of its answers to FFmpeg playing.
pub(super) const FFMPEG_PLAY_S2C: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/captures/ffmpeg-play.s2c"
));
/// nginx-rtmp's capture of its answers to rtmpdump playing (a plain handshake).
pub(super) const RTMPDUMP_PLAY_S2C: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/captures/rtmpdump-play.s2c"
));
/// The clip nginx-rtmp relayed in the play captures.
pub(super) const CLIP_FLV: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/captures/clip.flv"
));

/// A message the client sent: (message stream id, timestamp, message).
pub(super) type Sent = (u32, u32, Message);

pub(super) struct Pair {
    pub(super) client: ClientConnection,
    pub(super) server: Core,
    pub(super) now: Instant,
    /// Every byte the client wrote, and how many of them the tap has decoded.
    written: Vec<u8>,
    tapped: usize,
    tap: ChunkDecoder,
}

impl Pair {
    pub(super) fn new(config: ClientConnectionConfig) -> Self {
        Self::with_server(config, SessionConfig::default())
    }

    pub(super) fn with_server(config: ClientConnectionConfig, server: SessionConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(11);
        let now = Instant::from_millis(0);
        Pair {
            client: ClientConnection::new(config, &mut rng, now),
            server: Core::server(server, ServerConfig::default(), &mut rng, now),
            now,
            written: Vec::new(),
            tapped: CLIENT_HANDSHAKE_LEN,
            tap: ChunkDecoder::new(Limits::default()),
        }
    }

    /// Moves bytes both ways until both sides are quiet.
    pub(super) fn drive(&mut self) {
        loop {
            let mut moved = false;
            if let Some(out) = self.client.poll_transmit() {
                let mut bytes = Vec::new();
                out.copy_to(&mut bytes);
                out.clear();
                self.written.extend_from_slice(&bytes);
                let _ = self.server.handle_input(self.now, &bytes);
                moved = true;
            }
            if let Some(out) = self.server.poll_transmit() {
                let mut bytes = Vec::new();
                out.copy_to(&mut bytes);
                out.clear();
                let _ = self.client.handle_input(self.now, &bytes);
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    /// Every message the client sent since the last call, protocol control included.
    pub(super) fn sent(&mut self) -> Vec<Sent> {
        self.drive();
        let mut rest = self.written.get(self.tapped..).unwrap_or_default();
        self.tapped = self.written.len().max(self.tapped);
        let mut messages = Vec::new();
        while let Some(raw) = self
            .tap
            .decode(&mut rest)
            .expect("the client's chunks decode")
        {
            let message = Message::decode(&raw, &Limits::default()).expect("its messages decode");
            messages.push((raw.stream_id, raw.timestamp, message));
        }
        messages
    }

    /// The commands the client sent since the last call (other messages are dropped).
    pub(super) fn commands(&mut self) -> Vec<(u32, Command)> {
        self.sent()
            .into_iter()
            .filter_map(|(stream, _, message)| match message {
                Message::Command(command) => Some((stream, command)),
                _ => None,
            })
            .collect()
    }

    /// The server sends `message` on `stream`.
    pub(super) fn server_sends(
        &mut self,
        stream: u32,
        timestamp: u32,
        message: impl Into<Message>,
    ) {
        let _ = self
            .server
            .send_message(stream, timestamp, &message.into())
            .expect("the server queues it");
        self.drive();
    }

    pub(super) fn events(&mut self) -> Vec<ClientEvent> {
        self.drive();
        while self.server.poll_event().is_some() {}
        core::iter::from_fn(|| self.client.poll_event()).collect()
    }

    /// Handshake, `connect` and nginx-rtmp's answer; the events and messages so far are
    /// consumed.
    pub(super) fn connected(config: ClientConnectionConfig) -> Self {
        let mut pair = Pair::new(config);
        pair.client.connect().expect("connect");
        pair.drive();
        pair.server_sends(0, 0, connect_result());
        let events = pair.events();
        assert!(
            matches!(events.last(), Some(ClientEvent::Connected { .. })),
            "{events:?}"
        );
        let _ = pair.sent();
        pair
    }

    /// `create_stream` answered with `stream_id`.
    pub(super) fn created_stream(&mut self, stream_id: u32) -> u32 {
        let request = self.client.create_stream().expect("create_stream");
        let _ = self.sent();
        self.server_sends(
            0,
            0,
            Command::result(
                request.get() as f64,
                Value::Null,
                alloc::vec![stream_id.into()],
            ),
        );
        assert_eq!(
            self.events(),
            [ClientEvent::StreamCreated { request, stream_id }]
        );
        stream_id
    }
}

/// nginx-rtmp's `_result` to connect.
pub(super) fn connect_result() -> Command {
    Command::result(
        1.0,
        amf_object! { "fmsVer" => "FMS/3,0,1,123", "capabilities" => 31 },
        alloc::vec![amf_object! {
            "level" => "status",
            "code" => "NetConnection.Connect.Success",
            "description" => "Connection succeeded.",
            "objectEncoding" => 0,
        }],
    )
}

/// An `onStatus` with the given level, code and description.
pub(super) fn on_status(level: &str, code: &str, description: &str) -> Command {
    Command::on_status(amf_object! {
        "level" => level,
        "code" => code,
        "description" => description,
    })
}

/// The events of `client` after feeding it `input` in pieces cut at `splits` (offsets in
/// ascending order), alternating the two input methods.
pub(super) fn feed_split(
    client: &mut ClientConnection,
    input: &[u8],
    splits: &[usize],
) -> Vec<ClientEvent> {
    let mut start = 0;
    let ends = splits.iter().copied().chain(core::iter::once(input.len()));
    for (index, end) in ends.enumerate() {
        let end = end.clamp(start, input.len());
        let piece = &input[start..end];
        let _ = if index % 2 == 0 {
            client.handle_input(Instant::from_millis(0), piece)
        } else {
            client.handle_input_bytes(Instant::from_millis(0), Bytes::copy_from_slice(piece))
        };
        start = end;
    }
    core::iter::from_fn(|| client.poll_event()).collect()
}
