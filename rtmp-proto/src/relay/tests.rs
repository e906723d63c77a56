//! The hub driven by real client and server connections in memory, on one virtual clock: every
//! test sees the exact events each client gets, with no sleeps.

use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::time::Duration;

use bytes::Bytes;

use super::*;
use crate::amf::Value;
use crate::media::{
    AudioCodec, AudioInfo, AudioPacketType, AudioTrack, MultitrackType, VideoCodec, VideoFrameType,
    VideoInfo, VideoPacketType, VideoTrack,
};
use crate::session::client::{ClientConnectionConfig, ClientEvent, PublishType};
use crate::session::pair::{LocalHub, Pair, ServerApp, DEFAULT_STEP_LIMIT};
use crate::session::server::ServerConnectionConfig;
use crate::session::Instant;

/// Several client/server pairs whose server connections share one hub and one clock.
struct Mesh {
    hub: LocalHub,
    pairs: Vec<Pair>,
    now: Instant,
}

impl Mesh {
    fn new(config: HubConfig) -> Self {
        Mesh {
            hub: Rc::new(RefCell::new(Hub::new(config, || LocalFanout::new(64)))),
            pairs: Vec::new(),
            now: Instant::from_millis(0),
        }
    }

    /// A connected client of `app` (a publisher's connect, or a player's that announces
    /// multitrack if `multitrack`); its index.
    fn join(&mut self, app: &str, publisher: bool, multitrack: bool) -> usize {
        let tc_url = alloc::format!("rtmp://localhost/{app}");
        let mut client = if publisher {
            ClientConnectionConfig::publisher(app, tc_url)
        } else {
            ClientConnectionConfig::player(app, tc_url)
        };
        // A player of this crate announces multitrack unless told otherwise.
        client.connect.caps_ex = multitrack.then_some(crate::session::CAPS_EX_MULTITRACK);
        self.join_with(client, ServerConnectionConfig::default())
    }

    fn join_with(
        &mut self,
        client: ClientConnectionConfig,
        server: ServerConnectionConfig,
    ) -> usize {
        let mut pair = Pair::with_configs(client, server);
        pair.app = ServerApp::manual();
        pair.relay = Some(RelayConnection::new(self.hub.clone()));
        pair.now = self.now;
        self.pairs.push(pair);
        let index = self.pairs.len() - 1;
        self.pairs[index].client.connect().expect("connect");
        self.drive();
        index
    }

    fn publish(&mut self, client: usize, name: &str) -> u32 {
        let stream = self.pairs[client].publish(name, PublishType::Live);
        self.drive();
        stream
    }

    fn play(&mut self, client: usize, name: &str) -> u32 {
        let stream = self.pairs[client].play(name);
        self.drive();
        stream
    }

    fn video(&mut self, client: usize, stream: u32, timestamp: u32, payload: Bytes) {
        let _ = self.pairs[client]
            .client
            .send_video(stream, timestamp, payload)
            .expect("send video");
    }

    fn audio(&mut self, client: usize, stream: u32, timestamp: u32, payload: Bytes) {
        let _ = self.pairs[client]
            .client
            .send_audio(stream, timestamp, payload)
            .expect("send audio");
    }

    /// Steps every pair until all are quiet, moving the clock only for bytes in flight.
    fn drive(&mut self) {
        self.run(None);
    }

    /// Moves the clock `duration` ahead, stopping at every deadline and arrival.
    fn advance(&mut self, duration: Duration) {
        let until = self.now + duration;
        self.run(Some(until));
    }

    fn run(&mut self, until: Option<Instant>) {
        for _ in 0..DEFAULT_STEP_LIMIT {
            let mut busy = false;
            for pair in &mut self.pairs {
                pair.now = self.now;
                busy |= pair.step();
            }
            if busy {
                continue;
            }
            let arrival = self.pairs.iter().filter_map(Pair::next_arrival).min();
            let target = match until {
                Some(until) => Some(arrival.map_or(until, |arrival| arrival.min(until))),
                None => arrival,
            };
            let Some(target) = target else {
                return;
            };
            let deadline = self.pairs.iter().filter_map(Pair::next_deadline).min();
            let next = deadline.map_or(target, |deadline| deadline.min(target));
            if next <= self.now {
                return;
            }
            self.now = next;
        }
        panic!("the mesh is still busy after {DEFAULT_STEP_LIMIT} steps");
    }

    /// The media (kind, timestamp, payload) and statuses client `index` got since last asked.
    fn received(&mut self, index: usize) -> Vec<Got> {
        self.pairs[index]
            .client_events()
            .into_iter()
            .filter_map(|event| match event {
                ClientEvent::Video {
                    timestamp, payload, ..
                } => Some(Got::Video(timestamp, payload)),
                ClientEvent::Audio {
                    timestamp, payload, ..
                } => Some(Got::Audio(timestamp, payload)),
                ClientEvent::Metadata { .. } => Some(Got::Metadata),
                ClientEvent::Status { status, .. } => Some(Got::Status(status.code)),
                ClientEvent::ConnectRejected { code, .. } => Some(Got::Status(code)),
                ClientEvent::Closed(_) => Some(Got::Closed),
                _ => None,
            })
            .collect()
    }

    fn relay_events(&mut self, index: usize) -> Vec<RelayEvent> {
        let relay = self.pairs[index]
            .relay
            .as_mut()
            .expect("a relay connection");
        core::iter::from_fn(|| relay.poll_event()).collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Got {
    Video(u32, Bytes),
    Audio(u32, Bytes),
    Metadata,
    Status(String),
    Closed,
}

fn status(code: &str) -> Got {
    Got::Status(String::from(code))
}

// ---- payloads ----

fn legacy_video(key: bool, fill: u8) -> Bytes {
    Bytes::from(vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0, fill, fill])
}

fn legacy_video_header(fill: u8) -> Bytes {
    Bytes::from(vec![0x17, 0, 0, 0, 0, 1, fill])
}

fn legacy_audio(fill: u8) -> Bytes {
    Bytes::from(vec![0xAF, 1, fill])
}

fn legacy_audio_header() -> Bytes {
    Bytes::from_static(&[0xAF, 0, 0x12, 0x10])
}

/// Video of `track` in Multitrack OneTrack form, as FFmpeg 8+ sends tracks other than 0.
fn track_video(track: u8, packet_type: VideoPacketType, key: bool, fill: u8) -> Bytes {
    let frame_type = if key {
        VideoFrameType::KeyFrame
    } else {
        VideoFrameType::InterFrame
    };
    VideoInfo::multitrack(
        frame_type,
        MultitrackType::OneTrack,
        vec![VideoTrack::new(
            track,
            VideoCodec::Avc,
            packet_type,
            0,
            &[fill, fill][..],
        )],
    )
    .to_bytes()
    .expect("a multitrack video payload")
}

fn track_audio(track: u8, packet_type: AudioPacketType, fill: u8) -> Bytes {
    AudioInfo::multitrack(
        MultitrackType::OneTrack,
        vec![AudioTrack::new(
            track,
            AudioCodec::Aac,
            packet_type,
            &[fill][..],
        )],
    )
    .to_bytes()
    .expect("a multitrack audio payload")
}

fn media_only(got: Vec<Got>) -> Vec<Got> {
    got.into_iter()
        .filter(|got| matches!(got, Got::Video(..) | Got::Audio(..)))
        .collect()
}

// ---- tests ----

#[test]
fn a_player_gets_what_a_publisher_of_the_same_key_sends_and_the_query_is_not_part_of_it() {
    let mut mesh = Mesh::new(HubConfig::default());
    let player = mesh.join("live", false, false);
    mesh.play(player, "cam");
    let publisher = mesh.join("live?app-token=1", true, false);
    let stream = mesh.publish(publisher, "cam?key=secret");
    assert_eq!(
        mesh.relay_events(publisher)[1..],
        [RelayEvent::Publishing {
            key: StreamKey::new("live", "cam"),
            query: Some(String::from("key=secret")),
        }]
    );
    let _ = mesh.received(player);
    mesh.video(publisher, stream, 0, legacy_video_header(1));
    mesh.video(publisher, stream, 0, legacy_video(true, 2));
    mesh.audio(publisher, stream, 10, legacy_audio(3));
    mesh.drive();
    assert_eq!(
        mesh.received(player),
        [
            Got::Video(0, legacy_video_header(1)),
            Got::Video(0, legacy_video(true, 2)),
            Got::Audio(10, legacy_audio(3)),
        ]
    );
    assert_eq!(
        mesh.hub.borrow().find("live/cam").map(|s| s.players),
        Some(1)
    );
}

#[test]
fn a_lone_frame_is_offered_to_a_direct_write_and_a_batch_of_several_goes_out_whole() {
    let mut mesh = Mesh::new(HubConfig::default());
    let player = mesh.join("live", false, true);
    let stream = mesh.play(player, "cam");
    let _ = mesh.received(player);
    let pair = &mut mesh.pairs[player];
    let chunk_size = pair.server.configured_chunk_size();
    let frame = |key: bool, fill: u8| {
        let mut frame = Frame::new(MediaKind::Video, 0, legacy_video(key, fill));
        frame.chunk(chunk_size, stream);
        Item::Media(frame)
    };
    let relay = pair.relay.as_mut().expect("a relay connection");
    let offered = RefCell::new(Vec::new());
    let mut write = |bufs: &[&[u8]]| {
        let len = bufs.iter().map(|buf| buf.len()).sum::<usize>();
        offered.borrow_mut().push(len);
        0
    };
    let lone: Batch = [frame(true, 1)].into_iter().collect();
    let verdict = relay.deliver_through(&mut pair.server, &lone, mesh.now, &mut write);
    assert_eq!(verdict, Verdict::Continue);
    let one = offered.borrow().clone();
    assert_eq!(one.len(), 1, "the lone frame is offered");
    // Not taken: it waits in the output. Written, the output is empty again.
    let out = pair.server.poll_transmit().expect("the frame waits");
    assert_eq!(out.len(), one[0]);
    out.advance(one[0]);
    let several: Batch = [frame(false, 2), frame(false, 3)].into_iter().collect();
    let verdict = relay.deliver_through(&mut pair.server, &several, mesh.now, &mut write);
    assert_eq!(verdict, Verdict::Continue);
    assert_eq!(
        offered.borrow().len(),
        1,
        "a batch of several is not offered"
    );
    let out = pair.server.poll_transmit().expect("both wait");
    assert_eq!(out.len(), 2 * one[0]);
}

/// Frames are chunked once, for players at the publisher's chunk size on message stream 1;
/// a player at another chunk size or on another stream gets the same messages, chunked by its
/// own connection, and each decodes what it is sent.
#[test]
fn players_share_chunks_and_those_at_another_chunk_size_or_stream_chunk_their_own() {
    let mut mesh = Mesh::new(HubConfig::default());
    let sharing = mesh.join("live", false, false);
    let mut small_chunks = ServerConnectionConfig::default();
    small_chunks.session.chunk_size = 128;
    let tc_url = "rtmp://localhost/live";
    let other_size = mesh.join_with(ClientConnectionConfig::player("live", tc_url), small_chunks);
    let other_stream = mesh.join("live", false, false);
    let _ = mesh.pairs[other_stream]
        .client
        .create_stream()
        .expect("createStream");
    mesh.drive();
    let played: Vec<u32> = [sharing, other_size, other_stream]
        .into_iter()
        .map(|player| mesh.play(player, "cam"))
        .collect();
    assert_eq!(played, [1, 1, 2]);
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "cam");
    for player in [sharing, other_size, other_stream] {
        let _ = mesh.received(player);
    }
    let before: Vec<u64> = (0..mesh.pairs.len())
        .map(|pair| mesh.pairs[pair].server.bytes_sent())
        .collect();
    let mut big_keyframe = vec![0x17, 1, 0, 0, 0];
    big_keyframe.resize(10_000, 0xAB);
    let big_keyframe = Bytes::from(big_keyframe);
    let sent = [
        Got::Video(0, legacy_video_header(1)),
        Got::Video(0, big_keyframe.clone()),
        Got::Audio(10, legacy_audio(3)),
        Got::Video(40, legacy_video(false, 4)),
        Got::Audio(33, legacy_audio(5)),
        Got::Video(0x0100_0000, legacy_video(false, 6)),
    ];
    for got in &sent {
        match got {
            Got::Video(timestamp, payload) => {
                mesh.video(publisher, stream, *timestamp, payload.clone())
            }
            Got::Audio(timestamp, payload) => {
                mesh.audio(publisher, stream, *timestamp, payload.clone())
            }
            _ => unreachable!(),
        }
        mesh.drive();
    }
    for player in [sharing, other_size, other_stream] {
        let got = mesh.received(player);
        // Not assert_eq: the keyframe would fill the screen.
        assert!(
            got == sent,
            "player {player} got {} of the messages",
            got.len()
        );
    }
    // The shared chunks start every message with a full header; the player on stream 2
    // compresses its own headers (and the chunking was the only difference).
    let sent_by = |player: usize| mesh.pairs[player].server.bytes_sent() - before[player];
    assert!(sent_by(sharing) > sent_by(other_stream));
}

#[test]
fn apps_are_separate_namespaces() {
    let mut mesh = Mesh::new(HubConfig::default());
    let other = mesh.join("other", false, false);
    mesh.play(other, "cam");
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "cam");
    let _ = mesh.received(other);
    mesh.video(publisher, stream, 0, legacy_video(true, 1));
    mesh.drive();
    assert_eq!(mesh.received(other), []);
    assert_eq!(mesh.hub.borrow().stream_count(), 2);
    assert!(mesh
        .hub
        .borrow()
        .find("live/cam")
        .is_some_and(|s| s.published));
    assert!(mesh
        .hub
        .borrow()
        .find("other/cam")
        .is_some_and(|s| !s.published));
}

#[test]
fn a_second_publisher_is_refused_until_the_first_leaves_and_players_hear_of_both() {
    let mut mesh = Mesh::new(HubConfig::default());
    let player = mesh.join("live", false, false);
    mesh.play(player, "cam");
    let first = mesh.join("live", true, false);
    let first_stream = mesh.publish(first, "cam");
    let second = mesh.join("live", true, false);
    mesh.publish(second, "cam");
    let statuses: Vec<Got> = mesh
        .received(second)
        .into_iter()
        .filter(|got| matches!(got, Got::Status(_)))
        .collect();
    assert_eq!(statuses, [status("NetStream.Publish.BadName")]);

    mesh.video(first, first_stream, 0, legacy_video(true, 1));
    mesh.pairs[first]
        .client
        .close_stream(first_stream)
        .expect("closeStream");
    mesh.drive();
    assert_eq!(
        mesh.received(player),
        [
            status("NetStream.Play.Reset"),
            status("NetStream.Play.Start"),
            status("NetStream.Play.PublishNotify"),
            Got::Video(0, legacy_video(true, 1)),
            status("NetStream.Play.UnpublishNotify"),
        ]
    );

    // Republished after the drop: the player is told, and its video starts on a keyframe.
    let again = mesh.join("live", true, false);
    let stream = mesh.publish(again, "cam");
    mesh.video(again, stream, 100, legacy_video(false, 2));
    mesh.video(again, stream, 140, legacy_video(true, 3));
    mesh.drive();
    assert_eq!(
        mesh.received(player),
        [
            status("NetStream.Play.PublishNotify"),
            Got::Video(140, legacy_video(true, 3)),
        ]
    );
    assert!(mesh
        .hub
        .borrow()
        .find("live/cam")
        .is_some_and(|s| s.published));
}

/// Two video tracks and two audio tracks, as FFmpeg 8+ sends them: track 0 in the legacy form,
/// track 1 as Multitrack OneTrack packets. Track 1's keyframes fall between track 0's.
fn publish_multitrack(mesh: &mut Mesh, publisher: usize, stream: u32) {
    mesh.video(publisher, stream, 0, legacy_video_header(1));
    mesh.video(
        publisher,
        stream,
        0,
        track_video(1, VideoPacketType::SequenceStart, true, 2),
    );
    mesh.audio(publisher, stream, 0, legacy_audio_header());
    mesh.audio(
        publisher,
        stream,
        0,
        track_audio(1, AudioPacketType::SequenceStart, 3),
    );
    for (time, fill) in [(0u32, 10u8), (40, 11), (80, 12), (120, 13)] {
        mesh.video(publisher, stream, time, legacy_video(time % 80 == 0, fill));
        mesh.video(
            publisher,
            stream,
            time,
            track_video(1, VideoPacketType::CodedFrames, time == 40, fill + 100),
        );
        mesh.audio(publisher, stream, time, legacy_audio(fill));
        mesh.audio(
            publisher,
            stream,
            time,
            track_audio(1, AudioPacketType::CodedFrames, fill + 100),
        );
    }
    mesh.drive();
}

#[test]
fn a_late_multitrack_player_starts_every_track_on_its_own_keyframe() {
    let mut mesh = Mesh::new(HubConfig::default());
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "multi");
    publish_multitrack(&mut mesh, publisher, stream);
    let player = mesh.join("live", false, true);
    mesh.play(player, "multi");
    let got = media_only(mesh.received(player));
    let expected = [
        // Every track's configuration first.
        Got::Video(0, legacy_video_header(1)),
        Got::Video(0, track_video(1, VideoPacketType::SequenceStart, true, 2)),
        Got::Audio(0, legacy_audio_header()),
        Got::Audio(0, track_audio(1, AudioPacketType::SequenceStart, 3)),
        // Track 0's current GOP starts at 80; track 1's at 40, so the cache keeps from 40,
        // and track 0 starts at its keyframe of 80.
        Got::Video(40, track_video(1, VideoPacketType::CodedFrames, true, 111)),
        Got::Audio(40, legacy_audio(11)),
        Got::Audio(40, track_audio(1, AudioPacketType::CodedFrames, 111)),
        Got::Video(80, legacy_video(true, 12)),
        Got::Video(80, track_video(1, VideoPacketType::CodedFrames, false, 112)),
        Got::Audio(80, legacy_audio(12)),
        Got::Audio(80, track_audio(1, AudioPacketType::CodedFrames, 112)),
        Got::Video(120, legacy_video(false, 13)),
        Got::Video(
            120,
            track_video(1, VideoPacketType::CodedFrames, false, 113),
        ),
        Got::Audio(120, legacy_audio(13)),
        Got::Audio(120, track_audio(1, AudioPacketType::CodedFrames, 113)),
    ];
    assert_eq!(got, expected);
}

#[test]
fn a_legacy_player_gets_the_default_track_alone_in_the_legacy_form() {
    let mut mesh = Mesh::new(HubConfig::default());
    let live = mesh.join("live", false, false);
    mesh.play(live, "multi");
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "multi");
    publish_multitrack(&mut mesh, publisher, stream);
    // Track 0 in multitrack form too: rewritten to legacy AVC for this player.
    let wrapped = track_video(0, VideoPacketType::CodedFrames, false, 14);
    mesh.video(publisher, stream, 160, wrapped);
    mesh.drive();
    let late = mesh.join("live", false, false);
    mesh.play(late, "multi");

    let mut expected = vec![
        Got::Video(0, legacy_video_header(1)),
        Got::Audio(0, legacy_audio_header()),
    ];
    for (time, fill) in [(0u32, 10u8), (40, 11), (80, 12), (120, 13)] {
        expected.push(Got::Video(time, legacy_video(time % 80 == 0, fill)));
        expected.push(Got::Audio(time, legacy_audio(fill)));
    }
    expected.push(Got::Video(
        160,
        Bytes::from_static(&[0x27, 1, 0, 0, 0, 14, 14]),
    ));
    assert_eq!(media_only(mesh.received(live)), expected);

    // The late one: the headers, then track 0 from its keyframe at 80.
    let late_expected = [
        Got::Video(0, legacy_video_header(1)),
        Got::Audio(0, legacy_audio_header()),
        Got::Audio(40, legacy_audio(11)),
        Got::Video(80, legacy_video(true, 12)),
        Got::Audio(80, legacy_audio(12)),
        Got::Video(120, legacy_video(false, 13)),
        Got::Audio(120, legacy_audio(13)),
        Got::Video(160, Bytes::from_static(&[0x27, 1, 0, 0, 0, 14, 14])),
    ];
    assert_eq!(media_only(mesh.received(late)), late_expected);
}

#[test]
fn with_the_all_policy_every_player_gets_every_track() {
    let config = HubConfig {
        multitrack: MultitrackPolicy::All,
        ..HubConfig::default()
    };
    let mut mesh = Mesh::new(config);
    let player = mesh.join("live", false, false);
    mesh.play(player, "multi");
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "multi");
    publish_multitrack(&mut mesh, publisher, stream);
    let got = media_only(mesh.received(player));
    // 4 configurations, 4 instants of 4 messages; track 1's video before its keyframe at 40
    // is skipped.
    assert_eq!(got.len(), 4 + 16 - 1);
    assert!(got.contains(&Got::Audio(
        120,
        track_audio(1, AudioPacketType::CodedFrames, 113)
    )));
    assert!(!got.contains(&Got::Video(
        0,
        track_video(1, VideoPacketType::CodedFrames, false, 110)
    )));
}

#[test]
fn a_gop_over_the_budget_is_not_cached_and_a_joiner_waits_for_the_next_keyframe() {
    let config = HubConfig {
        max_gop_bytes: 20,
        ..HubConfig::default()
    };
    let mut mesh = Mesh::new(config);
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "cam");
    mesh.video(publisher, stream, 0, legacy_video_header(1));
    mesh.video(publisher, stream, 0, legacy_video(true, 2));
    for time in [40, 80, 120, 160] {
        mesh.video(publisher, stream, time, legacy_video(false, 3));
    }
    mesh.drive();
    let player = mesh.join("live", false, false);
    mesh.play(player, "cam");
    assert_eq!(
        media_only(mesh.received(player)),
        [Got::Video(0, legacy_video_header(1))]
    );
    mesh.video(publisher, stream, 200, legacy_video(false, 4));
    mesh.video(publisher, stream, 240, legacy_video(true, 5));
    mesh.drive();
    assert_eq!(
        media_only(mesh.received(player)),
        [Got::Video(240, legacy_video(true, 5))]
    );
}

#[test]
fn a_player_that_stays_behind_is_disconnected_in_the_callers_time_and_nobody_else_is() {
    let config = HubConfig {
        max_behind: Duration::from_secs(2),
        ..HubConfig::default()
    };
    let mut mesh = Mesh::new(config);
    let mut server = ServerConnectionConfig::default();
    server.session.outbound_high_water = 4_000;
    server.session.outbound_low_water = 1_000;
    let slow = mesh.join_with(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        server,
    );
    mesh.play(slow, "cam");
    let fast = mesh.join("live", false, false);
    mesh.play(fast, "cam");
    // The slow player stops reading.
    mesh.pairs[slow].set_write_limit(crate::session::pair::Side::Server, Some(0));
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "cam");
    let mut frame = vec![0x55; 1000];
    frame[..5].copy_from_slice(&[0x17, 1, 0, 0, 0]);
    let frame = Bytes::from(frame);
    let mut closed_at = None;
    for step in 0..200u32 {
        mesh.video(publisher, stream, step * 40, frame.clone());
        mesh.advance(Duration::from_millis(40));
        if mesh.pairs[slow].server.is_closed() {
            closed_at = Some(mesh.now);
            break;
        }
    }
    let closed_at = closed_at.expect("the slow player is disconnected");
    assert!(
        (2_000..=3_000).contains(&closed_at.as_millis()),
        "closed at {closed_at:?}"
    );
    assert!(!mesh.pairs[fast].server.is_closed());
    assert!(!mesh.pairs[publisher].server.is_closed());
    let fast_got = media_only(mesh.received(fast));
    assert!(
        fast_got.len() >= 50,
        "the fast player got {} frames",
        fast_got.len()
    );
}

#[test]
fn a_player_that_lags_the_fan_out_skips_to_the_next_keyframe() {
    let mut mesh = Mesh::new(HubConfig::default());
    mesh.hub = Rc::new(RefCell::new(Hub::new(HubConfig::default(), || {
        LocalFanout::new(2)
    })));
    let player = mesh.join("live", false, false);
    mesh.play(player, "cam");
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "cam");
    let _ = mesh.received(player);
    // Three batches before the player's side runs: the third does not fit its queue.
    for (time, key) in [(0, true), (40, false), (80, false)] {
        mesh.video(publisher, stream, time, legacy_video(key, time as u8));
        mesh.pairs[publisher].step();
    }
    mesh.drive();
    mesh.video(publisher, stream, 120, legacy_video(false, 120));
    mesh.video(publisher, stream, 160, legacy_video(true, 160));
    mesh.drive();
    assert_eq!(
        media_only(mesh.received(player)),
        [
            Got::Video(0, legacy_video(true, 0)),
            Got::Video(40, legacy_video(false, 40)),
            Got::Video(160, legacy_video(true, 160)),
        ]
    );
    assert!(mesh.relay_events(player).contains(&RelayEvent::Lagged));
}

#[test]
fn leaving_forgets_the_stream_and_dropping_a_connection_releases_its_name() {
    let mut mesh = Mesh::new(HubConfig::default());
    let publisher = mesh.join("live", true, false);
    mesh.publish(publisher, "cam");
    assert_eq!(mesh.hub.borrow().stream_count(), 1);
    // The driver drops the connection without a last event (a task cancelled, say).
    mesh.pairs[publisher].relay = None;
    assert_eq!(mesh.hub.borrow().stream_count(), 0);
    let again = mesh.join("live", true, false);
    mesh.publish(again, "cam");
    assert!(mesh
        .hub
        .borrow()
        .find("live/cam")
        .is_some_and(|s| s.published));
    let _ = Value::Null;
}

// ---- access control ----

fn asking(ask: AskFor) -> HubConfig {
    HubConfig {
        ask,
        ..HubConfig::default()
    }
}

fn statuses(got: Vec<Got>) -> Vec<Got> {
    got.into_iter()
        .filter(|got| matches!(got, Got::Status(_) | Got::Closed))
        .collect()
}

#[test]
fn a_parked_publish_is_reported_and_its_media_waits_for_the_answer_while_the_session_lives() {
    let mut mesh = Mesh::new(asking(AskFor {
        publish: true,
        ..AskFor::default()
    }));
    let player = mesh.join("live", false, false);
    mesh.play(player, "cam");
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "cam?key=s3cret&x=1");
    mesh.video(publisher, stream, 0, legacy_video(true, 1));
    // Time passes, short of the deadline: the session stays open (no Closed below).
    mesh.advance(Duration::from_secs(5));

    let requests = mesh.pairs[publisher].access_requests.clone();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.kind, AccessKind::Publish);
    assert_eq!(
        (request.app.as_str(), request.name.as_str()),
        ("live", "cam")
    );
    assert_eq!(request.query.as_deref(), Some("key=s3cret&x=1"));
    assert_eq!(request.tc_url.as_deref(), Some("rtmp://localhost/live"));
    assert!(request.flash_ver.is_some());
    assert_eq!(statuses(mesh.received(publisher)), []);
    assert!(!mesh
        .hub
        .borrow()
        .find("live/cam")
        .is_some_and(|s| s.published));
    assert!(media_only(mesh.received(player)).is_empty());

    let verdict = answer(&mut mesh, publisher, Access::Allow);
    assert_eq!(verdict, Verdict::Continue);
    assert_eq!(
        statuses(mesh.received(publisher)),
        [status("NetStream.Publish.Start")]
    );
    assert_eq!(
        media_only(mesh.received(player)),
        [Got::Video(0, legacy_video(true, 1))]
    );
}

fn answer(mesh: &mut Mesh, index: usize, access: Access) -> Verdict {
    let requests = core::mem::take(&mut mesh.pairs[index].access_requests);
    assert_eq!(requests.len(), 1, "one request waits");
    let now = mesh.now;
    let pair = &mut mesh.pairs[index];
    let verdict =
        pair.relay
            .as_mut()
            .expect("a relay")
            .answer(&mut pair.server, requests[0].id, access, now);
    if let Verdict::Close(_) = verdict {
        pair.server.close();
    }
    mesh.drive();
    verdict
}

#[test]
fn a_relay_connection_is_settled_only_with_nothing_for_its_driver_to_do() {
    let mut mesh = Mesh::new(asking(AskFor {
        publish: true,
        ..AskFor::default()
    }));
    let publisher = mesh.join("live", true, false);
    let _ = mesh.relay_events(publisher);
    let settled = |mesh: &Mesh| mesh.pairs[publisher].relay.as_ref().unwrap().is_settled();
    assert!(settled(&mesh));
    let stream = mesh.publish(publisher, "cam");
    assert!(!settled(&mesh), "a request waits for the application");
    assert_eq!(
        answer(&mut mesh, publisher, Access::Allow),
        Verdict::Continue
    );
    assert!(!settled(&mesh), "its events wait to be taken");
    let _ = mesh.relay_events(publisher);
    assert!(settled(&mesh));
    // Frames the relay hands on by itself leave it settled; a batch held back does not.
    mesh.video(publisher, stream, 0, legacy_video(true, 1));
    mesh.drive();
    assert!(settled(&mesh));
    mesh.pairs[publisher]
        .relay
        .as_mut()
        .unwrap()
        .set_batching(true);
    mesh.video(publisher, stream, 40, legacy_video(false, 2));
    mesh.drive();
    assert!(!settled(&mesh), "a batch waits to be handed on");
    mesh.pairs[publisher].relay.as_mut().unwrap().hand_on();
    assert!(settled(&mesh));
}

#[test]
fn a_refused_publish_hears_publish_denied_and_is_closed() {
    let mut mesh = Mesh::new(asking(AskFor::ALL));
    let publisher = mesh.join("live", true, false);
    assert_eq!(
        answer(&mut mesh, publisher, Access::Allow),
        Verdict::Continue
    );
    mesh.publish(publisher, "cam");
    let reason = String::from("Wrong key.");
    assert_eq!(
        answer(&mut mesh, publisher, Access::Refuse(reason.clone())),
        Verdict::Close(CloseReason::Refused(reason))
    );
    assert_eq!(
        statuses(mesh.received(publisher)),
        [status("NetStream.Publish.Denied"), Got::Closed]
    );
    assert!(mesh
        .relay_events(publisher)
        .contains(&RelayEvent::PublishRefused {
            key: StreamKey::new("live", "cam"),
            code: "NetStream.Publish.Denied"
        }));
    assert_eq!(mesh.hub.borrow().stream_count(), 0);
}

#[test]
fn a_refused_connect_hears_connect_rejected_and_a_refused_play_play_failed() {
    let mut mesh = Mesh::new(asking(AskFor::ALL));
    let refused = mesh.join("live", false, false);
    let _ = answer(&mut mesh, refused, Access::Refuse(String::from("Go away.")));
    assert_eq!(
        statuses(mesh.received(refused)),
        [status("NetConnection.Connect.Rejected"), Got::Closed]
    );

    let player = mesh.join("live", false, false);
    let _ = answer(&mut mesh, player, Access::Allow);
    mesh.play(player, "cam");
    let _ = answer(
        &mut mesh,
        player,
        Access::Refuse(String::from("Not from there.")),
    );
    assert_eq!(
        statuses(mesh.received(player)),
        [status("NetStream.Play.Failed"), Got::Closed]
    );
    assert_eq!(mesh.hub.borrow().stream_count(), 0);
}

#[test]
fn an_unanswered_request_is_refused_at_its_deadline_in_the_callers_time() {
    let config = HubConfig {
        access_timeout: Duration::from_secs(3),
        ..asking(AskFor {
            play: true,
            ..AskFor::default()
        })
    };
    let mut mesh = Mesh::new(config);
    let player = mesh.join("live", false, false);
    mesh.play(player, "cam");
    mesh.advance(Duration::from_millis(2_900));
    assert_eq!(statuses(mesh.received(player)), []);
    mesh.advance(Duration::from_millis(200));
    assert_eq!(
        statuses(mesh.received(player)),
        [status("NetStream.Play.Failed"), Got::Closed]
    );
    // A late answer finds nothing to answer.
    let requests = core::mem::take(&mut mesh.pairs[player].access_requests);
    let now = mesh.now;
    let pair = &mut mesh.pairs[player];
    let late = pair.relay.as_mut().expect("a relay").answer(
        &mut pair.server,
        requests[0].id,
        Access::Allow,
        now,
    );
    assert_eq!(late, Verdict::Continue);
}

#[test]
fn names_that_cannot_be_file_names_are_refused_bad_name_and_the_connection_stays() {
    let mut mesh = Mesh::new(HubConfig::default());
    let publisher = mesh.join("live", true, false);
    for bad in ["..", "a\u{1}b", &"x".repeat(256)] {
        mesh.publish(publisher, bad);
        assert_eq!(
            statuses(mesh.received(publisher)),
            [status("NetStream.Publish.BadName")],
            "{bad:?}"
        );
    }
    mesh.publish(publisher, "fine");
    assert_eq!(
        statuses(mesh.received(publisher)),
        [status("NetStream.Publish.Start")]
    );

    let unchecked = Mesh::new(HubConfig {
        check_names: false,
        ..HubConfig::default()
    });
    let mut mesh = unchecked;
    let publisher = mesh.join("live", true, false);
    mesh.publish(publisher, "..");
    assert_eq!(
        statuses(mesh.received(publisher)),
        [status("NetStream.Publish.Start")]
    );
}

// ---- statistics ----

#[test]
fn stats_count_what_streams_and_connections_carry_in_the_callers_time() {
    let mut mesh = Mesh::new(HubConfig::default());
    let player = mesh.join("live", false, false);
    mesh.pairs[player]
        .relay
        .as_mut()
        .expect("a relay")
        .set_peer("10.0.0.2:5000");
    mesh.play(player, "cam");
    let publisher = mesh.join("live", true, false);
    mesh.pairs[publisher]
        .relay
        .as_mut()
        .expect("a relay")
        .set_peer("10.0.0.1:4000");
    let stream = mesh.publish(publisher, "cam");
    let started = mesh.now;
    let metadata = crate::amf_object! { "width" => 640.0, "height" => 360.0, "framerate" => 25.0 };
    let _ = mesh.pairs[publisher]
        .client
        .send_metadata(stream, metadata)
        .expect("metadata");
    let mut sent = 0;
    for (timestamp, payload) in [
        (0, legacy_video_header(9)),
        (0, legacy_audio_header()),
        (0, legacy_video(true, 1)),
        (0, legacy_audio(2)),
    ] {
        sent += payload.len() as u64;
        if payload[0] == 0xAF {
            mesh.audio(publisher, stream, timestamp, payload);
        } else {
            mesh.video(publisher, stream, timestamp, payload);
        }
    }
    mesh.drive();
    // Two seconds of 1000 bytes every 100 ms: 80 kbit/s.
    for tenth in 1..=20u8 {
        mesh.advance(Duration::from_millis(100));
        let payload = Bytes::from(vec![0x27; 1000]);
        sent += 1000;
        mesh.video(publisher, stream, u32::from(tenth) * 100, payload);
        mesh.drive();
    }
    let received: u64 = media_only(mesh.received(player))
        .iter()
        .map(|got| match got {
            Got::Video(_, payload) | Got::Audio(_, payload) => payload.len() as u64,
            _ => 0,
        })
        .sum();

    let stats = mesh.hub.borrow().stats(mesh.now);
    assert_eq!(stats.streams.len(), 1);
    let cam = &stats.streams[0];
    assert_eq!(cam.key, StreamKey::new("live", "cam"));
    assert_eq!(cam.publisher.as_deref(), Some("10.0.0.1:4000"));
    assert_eq!(
        cam.uptime,
        Some(mesh.now.saturating_duration_since(started))
    );
    assert_eq!(cam.media.video_tracks, [(0, String::from("avc1"))]);
    assert_eq!(cam.media.audio_tracks, [(0, String::from("mp4a"))]);
    assert_eq!(
        (cam.media.width, cam.media.height, cam.media.frame_rate),
        (Some(640.0), Some(360.0), Some(25.0))
    );
    assert_eq!(cam.bytes_in, sent);
    assert_eq!(cam.bytes_out, received);
    assert!(received >= 20_000);
    assert!(
        (60_000..=100_000).contains(&cam.bitrate_in),
        "{}",
        cam.bitrate_in
    );
    assert_eq!(cam.players, 1);

    assert_eq!(stats.connections.len(), 2);
    let by_peer = |peer: &str| {
        stats
            .connections
            .iter()
            .find(|c| c.peer.as_deref() == Some(peer))
            .expect("a connection")
            .clone()
    };
    let publishing = by_peer("10.0.0.1:4000");
    assert_eq!(
        publishing.role,
        ConnectionRole::Publisher(StreamKey::new("live", "cam"))
    );
    assert!(
        publishing.bytes_in > sent,
        "{} > {sent}",
        publishing.bytes_in
    );
    let playing = by_peer("10.0.0.2:5000");
    assert_eq!(
        playing.role,
        ConnectionRole::Player(StreamKey::new("live", "cam"))
    );
    // As of its last call: what the last delivery queued is written after it.
    assert!(playing.bytes_out > 0);
    assert_eq!(playing.dropped_video, 0);

    // A player that leaves keeps its bytes in the stream's count; dropping it forgets it.
    mesh.pairs.remove(player);
    let stats = mesh.hub.borrow().stats(mesh.now);
    assert_eq!(stats.streams[0].bytes_out, received);
    assert_eq!(stats.streams[0].players, 0);
    assert_eq!(stats.connections.len(), 1);
}

// ---- recording ----

#[test]
fn a_tap_records_every_track_as_flv_until_the_publisher_leaves_and_is_no_player() {
    let mut mesh = Mesh::new(HubConfig::default());
    let publisher = mesh.join("live", true, false);
    let stream = mesh.publish(publisher, "multi");
    let key = StreamKey::new("live", "multi");
    let (tap, snapshot) = mesh.hub.borrow_mut().tap(&key).expect("a published stream");
    assert!(mesh
        .hub
        .borrow_mut()
        .tap(&StreamKey::new("live", "none"))
        .is_none());
    publish_multitrack(&mut mesh, publisher, stream);
    assert_eq!(
        mesh.hub.borrow().find("live/multi").map(|s| s.players),
        Some(0)
    );
    mesh.pairs[publisher]
        .client
        .close_stream(stream)
        .expect("closeStream");
    mesh.drive();

    let mut recording = FlvRecording::new();
    let mut file = bytes::BytesMut::new();
    recording.start(&mut file);
    let mut ended = recording.write(&snapshot, &mut file);
    while let Some(batch) = tap.borrow_mut().pop() {
        assert!(!ended, "nothing after the end");
        ended = recording.write(&batch, &mut file);
    }
    assert!(ended && recording.is_ended());

    let mut reader = crate::flv::FlvReader::new();
    let mut tags = Vec::new();
    while let Some(tag) = reader.read_tag(&mut file).expect("FLV") {
        tags.push((tag.tag_type, tag.timestamp, tag.data));
    }
    // Every message as published, both tracks in their own form, in order.
    let mut expected = vec![
        (9, 0, legacy_video_header(1)),
        (
            9,
            0,
            track_video(1, VideoPacketType::SequenceStart, true, 2),
        ),
        (8, 0, legacy_audio_header()),
        (8, 0, track_audio(1, AudioPacketType::SequenceStart, 3)),
    ];
    for (time, fill) in [(0u32, 10u8), (40, 11), (80, 12), (120, 13)] {
        expected.push((9, time, legacy_video(time % 80 == 0, fill)));
        expected.push((
            9,
            time,
            track_video(1, VideoPacketType::CodedFrames, time == 40, fill + 100),
        ));
        expected.push((8, time, legacy_audio(fill)));
        expected.push((
            8,
            time,
            track_audio(1, AudioPacketType::CodedFrames, fill + 100),
        ));
    }
    assert_eq!(tags, expected);
}

/// Asks every connection of the mesh to move, as a draining relay does; which ones it asked.
fn request_reconnects(mesh: &mut Mesh, tc_url: Option<&str>) -> Vec<usize> {
    let mut asked = Vec::new();
    for (index, pair) in mesh.pairs.iter_mut().enumerate() {
        let relay = pair.relay.as_mut().expect("a relay connection");
        if relay.request_reconnect(&mut pair.server, tc_url) {
            asked.push(index);
        }
    }
    mesh.drive();
    asked
}

#[test]
fn a_drain_asks_only_publishers_that_announced_reconnect_and_with_the_new_tc_url() {
    let mut mesh = Mesh::new(HubConfig::default());
    let mut capable = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
    capable.connect.caps_ex = Some(crate::session::CAPS_EX_RECONNECT);
    let capable = mesh.join_with(capable, ServerConnectionConfig::default());
    mesh.publish(capable, "a");
    let legacy = mesh.join("live", true, false);
    mesh.publish(legacy, "b");
    let mut idle = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
    idle.connect.caps_ex = Some(crate::session::CAPS_EX_RECONNECT);
    let idle = mesh.join_with(idle, ServerConnectionConfig::default());
    let player = mesh.join("live", false, false);
    mesh.play(player, "a");
    for index in [capable, legacy, idle, player] {
        let _ = mesh.pairs[index].client_events();
    }
    let busy: Vec<bool> = mesh
        .pairs
        .iter()
        .map(|pair| pair.relay.as_ref().is_some_and(RelayConnection::is_busy))
        .collect();
    assert_eq!(busy, [true, true, false, true]);

    assert_eq!(
        request_reconnects(&mut mesh, Some("rtmp://127.0.0.1:1936/live")),
        [capable]
    );
    let tc_urls: Vec<_> = mesh.pairs[capable]
        .client_events()
        .into_iter()
        .filter_map(|event| match event {
            ClientEvent::Status { status, .. } => {
                Some((status.tc_url().map(String::from), status.code, status.level))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        tc_urls,
        [(
            Some(String::from("rtmp://127.0.0.1:1936/live")),
            String::from("NetConnection.Connect.ReconnectRequest"),
            String::from("status"),
        )]
    );
    for index in [legacy, idle, player] {
        assert_eq!(mesh.received(index), []);
    }
}

#[test]
fn the_hub_drains_once_per_publisher_and_is_drained_when_nobody_publishes_or_plays() {
    let mut mesh = Mesh::new(HubConfig::default());
    let mut capable = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
    capable.connect.caps_ex = Some(crate::session::CAPS_EX_RECONNECT);
    let first = mesh.join_with(capable.clone(), ServerConnectionConfig::default());
    mesh.publish(first, "a");
    let player = mesh.join("live", false, false);
    mesh.play(player, "a");
    let _ = mesh.pairs[first].client_events();
    assert!(!mesh.hub.borrow().is_drained());

    mesh.hub.borrow_mut().drain(None);
    assert_eq!(mesh.hub.borrow().draining(), Some(None));
    let mut sent = Vec::new();
    for _ in 0..2 {
        for pair in &mut mesh.pairs {
            let relay = pair.relay.as_mut().expect("a relay connection");
            sent.push(relay.drain_step(&mut pair.server));
        }
    }
    assert_eq!(sent, [true, false, false, false]);
    mesh.drive();
    let statuses = mesh.pairs[first]
        .client_events()
        .into_iter()
        .filter_map(|event| match event {
            ClientEvent::Status { status, .. } => {
                Some((status.code.clone(), status.tc_url().is_none()))
            }
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(
        statuses,
        [(String::from("NetConnection.Connect.ReconnectRequest"), true)]
    );

    // A publisher arriving during the drain is asked as soon as its publish is accepted.
    let late = mesh.join_with(capable, ServerConnectionConfig::default());
    mesh.publish(late, "b");
    assert!(mesh
        .received(late)
        .contains(&status("NetConnection.Connect.ReconnectRequest")));

    for index in [first, late] {
        mesh.pairs[index].relay = None;
        assert!(!mesh.hub.borrow().is_drained());
    }
    // The player is the last to go.
    mesh.pairs[player].relay = None;
    assert!(mesh.hub.borrow().is_drained());
}

// ---- pull (edge) ----

fn edge_config() -> HubConfig {
    HubConfig {
        pull: PullConfig {
            origins: vec![
                PullTarget::parse("rtmp://a/live").unwrap(),
                PullTarget::parse("rtmp://b/live").unwrap(),
            ],
            attempt_timeout: Duration::from_millis(1000),
            reconnect_timeout: Duration::from_millis(3000),
            idle_close: Duration::from_millis(2000),
            retry_delay: Duration::from_millis(500),
        },
        ..HubConfig::default()
    }
}

impl Mesh {
    fn pull_commands(&mut self) -> Vec<PullCommand> {
        let mut hub = self.hub.borrow_mut();
        core::iter::from_fn(|| hub.poll_pull()).collect()
    }

    /// The one attempt opened since last asked, and its URL.
    fn opened(&mut self) -> (PullId, String) {
        let opened: Vec<(PullId, String)> = self
            .pull_commands()
            .into_iter()
            .filter_map(|command| match command {
                PullCommand::Open { id, url, .. } => Some((id, url.to_string())),
                _ => None,
            })
            .collect();
        assert_eq!(opened.len(), 1, "{opened:?}");
        opened[0].clone()
    }

    fn pulled(&mut self, id: PullId, items: Vec<Item>) -> bool {
        let now = self.now;
        let wanted = self.hub.borrow_mut().pull_media(id, items.into(), now);
        self.drive();
        wanted
    }

    fn pull_timeouts(&mut self, until: Instant) {
        loop {
            let due = self.hub.borrow().pull_timeout().filter(|due| *due <= until);
            let Some(due) = due else { break };
            self.now = self.now.max(due);
            self.hub.borrow_mut().handle_pull_timeout(due);
        }
        self.now = until;
        self.drive();
    }
}

fn media(kind: MediaKind, timestamp: u32, payload: Bytes) -> Item {
    Item::Media(Frame::new(kind, timestamp, payload))
}

#[test]
fn an_edge_pulls_once_for_its_players_fails_over_with_a_gap_and_reports_not_found() {
    let mut mesh = Mesh::new(edge_config());
    let first = mesh.join("live", false, false);
    mesh.play(first, "cam?t=1");
    let (a, url) = mesh.opened();
    assert_eq!(url, "rtmp://a:1935/live/cam?t=1");
    let second = mesh.join("live", false, false);
    mesh.play(second, "cam");
    assert!(mesh.pull_commands().is_empty(), "one upstream per stream");
    let _ = (mesh.received(first), mesh.received(second));

    // The origin's first media claims the stream: both players get it from the keyframe.
    assert!(mesh.pulled(
        a,
        vec![
            media(MediaKind::Video, 0, legacy_video_header(1)),
            media(MediaKind::Video, 0, legacy_video(true, 2)),
            media(MediaKind::Video, 40, legacy_video(false, 3)),
        ]
    ));
    for player in [first, second] {
        let got = mesh.received(player);
        assert_eq!(got[0], status("NetStream.Play.PublishNotify"));
        assert_eq!(media_only(got).len(), 3);
    }
    // A local publisher of the pulled key is refused, as a second publisher is.
    let local = mesh.join("live", true, false);
    mesh.publish(local, "cam");
    assert!(mesh
        .received(local)
        .contains(&status("NetStream.Publish.BadName")));

    // The upstream drops: b is tried, the players hear nothing meanwhile.
    let now = mesh.now;
    mesh.hub
        .borrow_mut()
        .pull_failed(a, PullError::Upstream(String::from("reset")), now);
    let (b, url) = mesh.opened();
    assert_eq!(url, "rtmp://b:1935/live/cam?t=1");
    mesh.advance(Duration::from_millis(200));
    assert!(mesh.received(first).is_empty());
    // b's stream starts anew: players wait for its keyframe (the inter frame is skipped).
    assert!(mesh.pulled(
        b,
        vec![
            media(MediaKind::Video, 900, legacy_video(false, 4)),
            media(MediaKind::Video, 940, legacy_video(true, 5)),
        ]
    ));
    let got = mesh.received(first);
    assert_eq!(got[0], status("NetStream.Play.PublishNotify"));
    // Its clock goes on from the last frame: b's 900 is 41 (1 ms after 40), its keyframe 81.
    assert_eq!(
        media_only(got),
        [Got::Video(81, legacy_video(true, 5))],
        "a restart begins on a keyframe, later than the frames before the gap"
    );
    // The stale attempt is told to stop.
    assert!(!mesh.pulled(a, vec![media(MediaKind::Video, 0, legacy_video(true, 6))]));

    // Both origins gone past the reconnect window: UnpublishNotify, StreamNotFound, closed.
    let now = mesh.now;
    mesh.hub.borrow_mut().pull_failed(b, PullError::Ended, now);
    let end = mesh.now + Duration::from_millis(5000);
    for _ in 0..20 {
        for command in mesh.pull_commands() {
            if let PullCommand::Open { id, .. } = command {
                let now = mesh.now;
                mesh.hub.borrow_mut().pull_failed(
                    id,
                    PullError::Upstream(String::from("refused")),
                    now,
                );
            }
        }
        let next = mesh.now + Duration::from_millis(250);
        mesh.pull_timeouts(next.min(end));
    }
    for player in [first, second] {
        let got = mesh.received(player);
        assert!(
            got.contains(&status("NetStream.Play.UnpublishNotify")),
            "{got:?}"
        );
        assert!(
            got.contains(&status("NetStream.Play.StreamNotFound")),
            "{got:?}"
        );
    }
    assert!(mesh.hub.borrow().pull_timeout().is_none());
}

#[test]
fn an_edge_whose_origins_never_answer_tells_its_player_not_found_and_idle_upstreams_close() {
    let mut mesh = Mesh::new(edge_config());
    let player = mesh.join("live", false, false);
    mesh.play(player, "cam");
    let _ = mesh.received(player);
    let (a, _) = mesh.opened();
    // Each origin gets its 1 s; at 2 s the player is told.
    mesh.pull_timeouts(Instant::from_millis(mesh.now.as_millis() + 1000));
    let (b, url) = mesh.opened();
    assert!(url.starts_with("rtmp://b:1935/"));
    assert_ne!(a, b);
    assert!(mesh.received(player).is_empty());
    mesh.pull_timeouts(Instant::from_millis(mesh.now.as_millis() + 1000));
    let got = mesh.received(player);
    assert!(
        got.contains(&status("NetStream.Play.StreamNotFound")),
        "{got:?}"
    );
    assert!(mesh
        .pull_commands()
        .iter()
        .any(|c| matches!(c, PullCommand::NotFound { .. })));

    // Idle close: a pulled stream whose last player leaves (its upstream not stalled).
    let mut config = edge_config();
    config.pull.attempt_timeout = Duration::from_secs(60);
    let mut mesh = Mesh::new(config);
    let player = mesh.join("live", false, false);
    let stream = mesh.play(player, "other");
    let (c, _) = mesh.opened();
    assert!(mesh.pulled(c, vec![media(MediaKind::Video, 0, legacy_video(true, 1))]));
    let _ = mesh.pull_commands();
    mesh.pairs[player]
        .client
        .delete_stream(stream)
        .expect("delete the stream");
    mesh.drive();
    assert!(mesh.pull_commands().is_empty());
    mesh.pull_timeouts(Instant::from_millis(mesh.now.as_millis() + 1999));
    assert!(mesh.pull_commands().is_empty(), "not before the idle time");
    mesh.pull_timeouts(Instant::from_millis(mesh.now.as_millis() + 1));
    assert!(mesh.pull_commands().iter().any(|command| matches!(
        command,
        PullCommand::Close { id, cause: CloseCause::Idle, .. } if *id == c
    )));
    assert_eq!(mesh.hub.borrow().stream_count(), 0);
}
