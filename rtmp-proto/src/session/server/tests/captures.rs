//! Replays of the exact bytes FFmpeg and rtmpdump sent to nginx-rtmp (C0, C1, C2, then
//! chunks), fed to a server that accepts every request; and proptests over them.

use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::super::*;
use super::Harness;
use crate::flv::{tag_type, FlvReader};
use crate::session::SessionConfig;

const FFMPEG_PUBLISH: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/captures/ffmpeg-publish.c2s"
));
const FFMPEG_PLAY: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/captures/ffmpeg-play.c2s"
));
const RTMPDUMP_PLAY: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/captures/rtmpdump-play.c2s"
));
/// The file FFmpeg published in `ffmpeg-publish.c2s`.
const CLIP: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/captures/clip.flv"
));

/// Answers every request the way an accepting application does, recording the events.
fn accept_everything(server: &mut ServerConnection, events: &mut Vec<ServerEvent>) {
    while let Some(event) = server.poll_event() {
        match &event {
            ServerEvent::ConnectRequest(request) => server.accept_connect(request.id).unwrap(),
            ServerEvent::PublishRequest(request) => server.accept_publish(request.id).unwrap(),
            ServerEvent::PlayRequest(request) => {
                server.accept_play(request.id, StreamKind::Live).unwrap()
            }
            _ => {}
        }
        events.push(event);
    }
    while let Some(out) = server.poll_transmit() {
        out.clear();
    }
}

/// Feeds `pieces` in order to a fresh server; every input must be taken without error.
fn replay<'a>(pieces: impl IntoIterator<Item = (&'a [u8], bool)>) -> Vec<ServerEvent> {
    let mut rng = StdRng::seed_from_u64(3);
    let now = Instant::from_millis(0);
    let mut server = ServerConnection::new(ServerConnectionConfig::default(), &mut rng, now);
    let mut events = Vec::new();
    for (piece, as_bytes) in pieces {
        let result = if as_bytes {
            server.handle_input_bytes(now, Bytes::copy_from_slice(piece))
        } else {
            server.handle_input(now, piece)
        };
        accept_everything(&mut server, &mut events);
        assert_eq!(result, Ok(()), "events so far: {events:?}");
    }
    events
}

/// The audio and video tags of the clip, as the events a server must produce from them.
fn clip_media(stream: u32) -> Vec<ServerEvent> {
    let mut file = BytesMut::from(CLIP);
    let mut reader = FlvReader::new();
    let mut media = Vec::new();
    while let Some(tag) = reader.read_tag(&mut file).unwrap() {
        let (timestamp, payload) = (tag.timestamp, tag.data);
        match tag.tag_type {
            tag_type::AUDIO => media.push(ServerEvent::Audio {
                stream,
                timestamp,
                payload,
            }),
            tag_type::VIDEO => media.push(ServerEvent::Video {
                stream,
                timestamp,
                payload,
            }),
            _ => {}
        }
    }
    assert!(file.is_empty());
    media
}

fn expected_connect(events: &[ServerEvent], flash_ver: &str, tc_url: &str) {
    let Some(ServerEvent::ConnectRequest(request)) = events.first() else {
        panic!("the first event is not a connect: {events:?}");
    };
    assert_eq!(request.app, "live");
    assert_eq!(request.flash_ver.as_deref(), Some(flash_ver));
    assert_eq!(request.tc_url.as_deref(), Some(tc_url));
}

#[test]
fn ffmpeg_publish_capture() {
    let events = replay([(FFMPEG_PUBLISH, false)]);
    expected_connect(
        &events,
        "FMLE/3.0 (compatible; Lavf59.27.100)",
        "rtmp://127.0.0.1:19351/live",
    );
    let ServerEvent::PublishRequest(publish) = &events[1] else {
        panic!("expected a publish request: {:?}", events[1]);
    };
    assert_eq!(
        (publish.stream, publish.name.as_str(), publish.publish_type),
        (1, "cap", PublishType::Live)
    );
    let ServerEvent::Metadata {
        stream: 1,
        timestamp: 0,
        metadata,
    } = &events[2]
    else {
        panic!("expected the metadata: {:?}", events[2]);
    };
    assert_eq!(metadata.get("width"), Some(&Value::from(64.0)));
    assert_eq!(metadata.get("encoder"), Some(&Value::from("Lavf59.27.100")));
    let media = clip_media(1);
    assert_eq!(media.len(), 36);
    let end = 3 + media.len();
    assert_eq!(events.get(3..end), Some(&media[..]));
    assert_eq!(
        events.get(end..),
        Some(
            &[
                ServerEvent::UnpublishRequest {
                    stream: 1,
                    name: "cap".into()
                },
                ServerEvent::Unpublished { stream: 1 },
                ServerEvent::StreamDeleted { stream: 1 },
            ][..]
        )
    );
}

#[test]
fn ffmpeg_play_capture() {
    let events = replay([(FFMPEG_PLAY, true)]);
    expected_connect(&events, "LNX 9,0,124,2", "rtmp://127.0.0.1:19352/live");
    let ServerEvent::PlayRequest(play) = &events[1] else {
        panic!("expected a play request: {:?}", events[1]);
    };
    assert_eq!(
        (
            play.stream,
            play.name.as_str(),
            play.start,
            play.duration,
            play.reset
        ),
        (1, "cap", PlayStart::LiveOrRecorded, None, true)
    );
    assert_eq!(
        events.get(2..),
        Some(
            &[
                ServerEvent::BufferLength {
                    stream: 1,
                    millis: 3000
                },
                ServerEvent::PlayStopped { stream: 1 },
                ServerEvent::StreamDeleted { stream: 1 },
            ][..]
        )
    );
}

#[test]
fn rtmpdump_play_capture() {
    let events = replay([(RTMPDUMP_PLAY, false)]);
    expected_connect(&events, "LNX 10,0,32,18", "rtmp://127.0.0.1:19353/live");
    // rtmpdump's FCSubscribe is answered by the connection, with no event.
    let ServerEvent::PlayRequest(play) = &events[2] else {
        panic!("expected a play request: {:?}", events[2]);
    };
    assert_eq!(
        (play.stream, play.name.as_str(), play.start, play.reset),
        (1, "cap", PlayStart::LiveOnly, true)
    );
    assert_eq!(
        events[1],
        ServerEvent::BufferLength {
            stream: 0,
            millis: 300
        }
    );
    assert_eq!(
        events.get(3..),
        Some(
            &[
                ServerEvent::BufferLength {
                    stream: 1,
                    millis: 36_000_000
                },
                ServerEvent::PlayStopped { stream: 1 },
                ServerEvent::StreamDeleted { stream: 1 },
            ][..]
        )
    );
}

/// Cuts `input` at the given points (taken modulo its length), alternating the two input
/// calls.
fn split(input: &[u8], mut points: Vec<usize>) -> Vec<(&[u8], bool)> {
    points
        .iter_mut()
        .for_each(|point| *point %= input.len() + 1);
    points.push(0);
    points.push(input.len());
    points.sort_unstable();
    points
        .windows(2)
        .enumerate()
        .map(|(i, window)| (&input[window[0]..window[1]], i % 2 == 1))
        .collect()
}

/// A scripted publisher at a fixed pace: every 2.5 s a 3 KB frame; the server pings after 2 s
/// of silence, and acknowledges every 5,000 bytes. Between frames, the driver calls
/// `handle_timeout` after the given steps (never past the server's own deadline). Returns
/// the messages the server sent and its events.
fn paced_publisher(steps: &[u64]) -> (Vec<super::Sent>, Vec<ServerEvent>) {
    let config = ServerConnectionConfig {
        session: SessionConfig {
            ping_interval: Some(core::time::Duration::from_millis(2_000)),
            ..SessionConfig::default()
        },
        ..ServerConnectionConfig::default()
    };
    let mut h = Harness::connected(config);
    h.send(0, Message::WindowAckSize { window_size: 5_000 });
    let stream = h.publishing("cam");
    let mut steps = steps.iter().copied().cycle();
    let frame = Bytes::from(alloc::vec![0x27; 3_000]);
    for i in 1..=8u64 {
        let arrival = Instant::from_millis(i * 2_500);
        loop {
            let deadline = h.server.poll_timeout().unwrap_or(arrival).min(arrival);
            let step = steps.next().unwrap_or(u64::MAX).max(1);
            let now = Instant::from_millis(h.now.as_millis().saturating_add(step)).min(deadline);
            h.now = now;
            h.server.handle_timeout(now);
            h.drive();
            if now == arrival {
                break;
            }
        }
        h.send_at(stream, (i * 2_500) as u32, Message::Video(frame.clone()));
    }
    (h.take_sent(), h.events())
}

#[test]
fn paced_publisher_gets_acks_and_pings() {
    let (sent, events) = paced_publisher(&[u64::MAX]);
    let acks: Vec<u32> = sent
        .iter()
        .filter_map(|s| match s.message {
            Message::Acknowledgement { sequence_number } => Some(sequence_number),
            _ => None,
        })
        .collect();
    let pings: Vec<u32> = sent
        .iter()
        .filter_map(|s| match s.message {
            Message::UserControl(UserControl::PingRequest { timestamp }) => Some(timestamp),
            _ => None,
        })
        .collect();
    assert!(acks.len() >= 4, "acks: {acks:?}");
    assert!(acks.windows(2).all(|w| w[1] - w[0] >= 5_000));
    // A ping 2 s after each frame but the last, while the next frame is 0.5 s away.
    assert_eq!(pings.len(), 8, "pings: {pings:?}");
    let round_trips = events
        .iter()
        .filter(|e| matches!(e, ServerEvent::PingResponse { .. }))
        .count();
    assert_eq!(round_trips, 8);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, ServerEvent::Video { .. }))
            .count(),
        8
    );
}

proptest! {
    #![proptest_config(crate::test_support::proptest_config!("server"))]

    #[test]
    fn split_publish_capture_gives_the_same_events(
        points in proptest::collection::vec(any::<usize>(), 0..24)
    ) {
        let whole = replay([(FFMPEG_PUBLISH, false)]);
        let pieces = replay(split(FFMPEG_PUBLISH, points));
        prop_assert_eq!(pieces, whole);
    }

    #[test]
    fn split_play_captures_give_the_same_events(
        points in proptest::collection::vec(any::<usize>(), 0..12)
    ) {
        for capture in [FFMPEG_PLAY, RTMPDUMP_PLAY] {
            let whole = replay([(capture, false)]);
            let pieces = replay(split(capture, points.clone()));
            prop_assert_eq!(pieces, whole);
        }
    }

    #[test]
    fn time_steps_do_not_change_acks_and_pings(
        steps in proptest::collection::vec(1u64..3_000, 1..16)
    ) {
        let baseline = paced_publisher(&[u64::MAX]);
        prop_assert_eq!(paced_publisher(&steps), baseline);
    }
}

#[test]
fn split_points_cover_the_input() {
    let input = [1u8, 2, 3, 4, 5];
    let pieces = split(&input, alloc::vec![2, 2, 9]);
    let joined: Vec<u8> = pieces.iter().flat_map(|(p, _)| p.iter().copied()).collect();
    assert_eq!(joined, input);
    assert_eq!(pieces.len(), 4);
}
