//! Arbitrary conversations through the pair: publish and play sessions on one connection (the
//! server application relaying what is published to what plays), media of random sizes and
//! timestamps, time steps, pings and slow writers. Nothing panics, both sides agree on every
//! media message, and how the bytes are cut in transit changes nothing.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use proptest::prelude::*;

use super::tests::{audio, video};
use super::*;
use crate::session::client::{PlayOptions, PublishType, StreamStatus};

#[derive(Clone, Debug)]
enum Op {
    /// A new stream that publishes (`releaseStream`, `FCPublish`, `createStream`, `publish`).
    Publish,
    /// A new stream that plays: the server relays every published stream to it.
    Play,
    Audio {
        stream: u8,
        timestamp: u32,
        len: usize,
    },
    Video {
        stream: u8,
        timestamp: u32,
        len: usize,
        key: bool,
    },
    Metadata {
        stream: u8,
    },
    CloseStream {
        stream: u8,
    },
    Steps(u8),
    Drive,
    Advance(u16),
    WriteLimit {
        writer: Side,
        limit: Option<u16>,
    },
    Ping,
}

fn timestamp() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..100_000,
        // Around the 24-bit field, where extended timestamps start.
        0x00FF_FF00u32..0x0100_0100,
        // Near 2^32, where timestamps wrap.
        (u32::MAX - 100_000)..=u32::MAX,
        any::<u32>(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let writer = prop_oneof![Just(Side::Client), Just(Side::Server)];
    prop_oneof![
        2 => Just(Op::Publish),
        1 => Just(Op::Play),
        8 => (any::<u8>(), timestamp(), 0usize..5_000).prop_map(|(stream, timestamp, len)| {
            Op::Audio { stream, timestamp, len }
        }),
        12 => (any::<u8>(), timestamp(), 0usize..20_000, any::<bool>()).prop_map(
            |(stream, timestamp, len, key)| Op::Video { stream, timestamp, len, key }
        ),
        1 => any::<u8>().prop_map(|stream| Op::Metadata { stream }),
        1 => any::<u8>().prop_map(|stream| Op::CloseStream { stream }),
        3 => (1u8..20).prop_map(Op::Steps),
        1 => Just(Op::Drive),
        1 => (0u16..30_000).prop_map(Op::Advance),
        2 => (writer, proptest::option::of(100u16..20_000))
            .prop_map(|(writer, limit)| Op::WriteLimit { writer, limit }),
        1 => Just(Op::Ping),
    ]
}

/// What one run produced.
#[derive(Debug, PartialEq)]
struct Outcome {
    client_events: Vec<ClientEvent>,
    server_events: Vec<ServerEvent>,
    /// What the client sent and did not drop: (message stream, timestamp, message).
    client_sent: Vec<OnWire>,
    relayed: Vec<Relayed>,
}

fn pick(streams: &[u32], index: u8) -> Option<u32> {
    streams
        .get(usize::from(index) % streams.len().max(1))
        .copied()
}

/// How a run's transport and queues behave.
#[derive(Clone, Copy, Debug)]
struct Setup {
    latency: Duration,
    /// Cut what is delivered at random points drawn from this seed.
    split: Option<u64>,
    drop_video: bool,
}

fn run(ops: &[Op], setup: Setup) -> Outcome {
    let Setup {
        latency,
        split,
        drop_video,
    } = setup;
    let mut client = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
    client.session.outbound_high_water = 60_000;
    client.session.outbound_low_water = 20_000;
    client.session.drop_video_when_congested = drop_video;
    let mut server = ServerConnectionConfig::default();
    // Ops advance the clock without publishing or playing.
    server.options.stream_timeout = None;
    server.session.outbound_high_water = 60_000;
    server.session.outbound_low_water = 20_000;
    server.session.drop_video_when_congested = drop_video;
    server.session.ping_interval = Some(Duration::from_secs(10));
    // Acknowledgements carry how the input was cut (they count bytes at the end of each
    // read): keep them out of the comparison of whole and cut transfers.
    server.session.window_ack_size = u32::MAX;
    server.session.peer_bandwidth = u32::MAX;
    let mut pair = Pair::with_configs(client, server);
    pair.latency = latency;
    pair.app.echo = true;
    pair.set_split(Side::Client, split);
    pair.set_split(Side::Server, split.map(|seed| seed ^ 0x5a5a));
    pair.connect();
    let mut client_sent = Vec::new();
    let mut published = 0u32;
    for op in ops {
        let publishing: Vec<u32> = pair
            .client
            .streams()
            .filter(|(_, status)| {
                matches!(
                    status,
                    StreamStatus::PublishRequested | StreamStatus::Publishing
                )
            })
            .map(|(id, _)| id)
            .collect();
        let all: Vec<u32> = pair.client.streams().map(|(id, _)| id).collect();
        match op {
            Op::Publish => {
                let name = format!("s{published}");
                published += 1;
                let _ = pair
                    .client
                    .create_stream_to_publish(&name, PublishType::Live);
            }
            Op::Play => {
                let _ = pair
                    .client
                    .create_stream_to_play("s0", PlayOptions::default());
            }
            Op::Audio {
                stream,
                timestamp,
                len,
            } => {
                if let Some(stream) = pick(&publishing, *stream) {
                    let payload = audio(*len, *len as u8);
                    if let Ok(status) = pair.client.send_audio(stream, *timestamp, payload.clone())
                    {
                        assert_ne!(status, SendStatus::DroppedVideo);
                        client_sent.push((stream, *timestamp, Message::Audio(payload)));
                    }
                }
            }
            Op::Video {
                stream,
                timestamp,
                len,
                key,
            } => {
                if let Some(stream) = pick(&publishing, *stream) {
                    let payload = video(*key, *len, *len as u8);
                    let status = pair.client.send_video(stream, *timestamp, payload.clone());
                    if matches!(status, Ok(SendStatus::Queued | SendStatus::AboveHighWater)) {
                        client_sent.push((stream, *timestamp, Message::Video(payload)));
                    }
                }
            }
            Op::Metadata { stream } => {
                if let Some(stream) = pick(&publishing, *stream) {
                    let metadata = Value::EcmaArray(alloc::vec![(
                        String::from("width"),
                        Value::Number(f64::from(stream)),
                    )]);
                    if pair.client.send_metadata(stream, metadata.clone()).is_ok() {
                        let data = crate::message::Data::set_data_frame(metadata);
                        client_sent.push((stream, 0, Message::Data(data)));
                    }
                }
            }
            Op::CloseStream { stream } => {
                if let Some(stream) = pick(&all, *stream) {
                    pair.client.close_stream(stream).expect("closeStream");
                }
            }
            Op::Steps(count) => {
                for _ in 0..*count {
                    let _ = pair.step();
                }
            }
            Op::Drive => pair.drive(),
            Op::Advance(millis) => pair.advance(Duration::from_millis(u64::from(*millis))),
            Op::WriteLimit { writer, limit } => {
                pair.set_write_limit(*writer, limit.map(usize::from))
            }
            Op::Ping => {
                pair.client.ping(pair.now).expect("ping");
                pair.server.ping(pair.now).expect("ping");
            }
        }
    }
    pair.set_write_limit(Side::Client, None);
    pair.set_write_limit(Side::Server, None);
    pair.drive();
    Outcome {
        client_events: pair.client_events(),
        server_events: pair.server_events(),
        client_sent,
        relayed: pair.relayed(),
    }
}

/// The media and metadata of `messages`, by kind, in order: audio, video and data each keep
/// their order, but audio may overtake video queued before it.
fn by_kind(messages: impl IntoIterator<Item = OnWire>) -> [Vec<OnWire>; 3] {
    let mut kinds: [Vec<OnWire>; 3] = Default::default();
    for message in messages {
        let kind = match &message.2 {
            Message::Audio(_) => 0,
            Message::Video(_) => 1,
            _ => 2,
        };
        kinds[kind].push(message);
    }
    kinds
}

/// What the server received from the client: media and metadata as they were sent.
fn received_by_server(outcome: &Outcome) -> [Vec<OnWire>; 3] {
    let received = outcome
        .server_events
        .iter()
        .filter_map(|event| match event {
            ServerEvent::Audio {
                stream,
                timestamp,
                payload,
            } => Some((*stream, *timestamp, Message::Audio(payload.clone()))),
            ServerEvent::Video {
                stream,
                timestamp,
                payload,
            } => Some((*stream, *timestamp, Message::Video(payload.clone()))),
            ServerEvent::Metadata {
                stream,
                timestamp,
                metadata,
            } => {
                let data = crate::message::Data::set_data_frame(metadata.clone());
                Some((*stream, *timestamp, Message::Data(data)))
            }
            ServerEvent::Closed(error) => panic!("the server closed: {error}"),
            _ => None,
        });
    by_kind(received)
}

/// What the client played: media and metadata as the relay sent them.
fn played_by_client(outcome: &Outcome) -> [Vec<OnWire>; 3] {
    let played = outcome
        .client_events
        .iter()
        .filter_map(|event| match event {
            ClientEvent::Audio {
                stream,
                timestamp,
                payload,
            } => Some((*stream, *timestamp, Message::Audio(payload.clone()))),
            ClientEvent::Video {
                stream,
                timestamp,
                payload,
            } => Some((*stream, *timestamp, Message::Video(payload.clone()))),
            ClientEvent::Metadata { stream, metadata } => {
                let data = crate::message::Data::on_metadata(metadata.clone());
                Some((*stream, 0, Message::Data(data)))
            }
            _ => None,
        });
    by_kind(played)
}

fn check(outcome: &Outcome) {
    // Nothing ends the connection: no protocol violation, no timeout.
    for event in &outcome.client_events {
        assert!(!matches!(event, ClientEvent::Closed(_)), "{event:?}");
    }
    // The server received exactly what the client sent and kept.
    assert_eq!(
        received_by_server(outcome),
        by_kind(outcome.client_sent.clone())
    );
    // The client received exactly what the relay sent and did not drop.
    let relayed = outcome
        .relayed
        .iter()
        .filter(|(.., status)| {
            matches!(status, Ok(SendStatus::Queued | SendStatus::AboveHighWater))
        })
        .map(|(stream, timestamp, message, _)| {
            // Metadata goes out with timestamp 0 whatever the publisher's was.
            let timestamp = if matches!(message, Message::Data(_)) {
                0
            } else {
                *timestamp
            };
            (*stream, timestamp, message.clone())
        });
    assert_eq!(played_by_client(outcome), by_kind(relayed));
}

proptest! {
    #![proptest_config(crate::test_support::proptest_config!("pair"))]

    #[test]
    fn conversations_agree_and_do_not_depend_on_how_bytes_are_cut(
        ops in proptest::collection::vec(op(), 1..80),
        latency in prop_oneof![Just(0u64), 1u64..100],
        seed in any::<u64>(),
    ) {
        let setup = Setup {
            latency: Duration::from_millis(latency),
            split: None,
            drop_video: true,
        };
        let whole = run(&ops, setup);
        check(&whole);
        let cut = run(&ops, Setup { split: Some(seed), ..setup });
        prop_assert_eq!(&whole, &cut);
    }

    #[test]
    fn slow_writers_lose_nothing_when_video_is_not_dropped(
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let setup = Setup {
            latency: Duration::ZERO,
            split: None,
            drop_video: false,
        };
        let outcome = run(&ops, setup);
        // No send was dropped (`check` then finds each one taken on the other side). A relay
        // to a player may still be refused: the application reacts to media events after the
        // connection has read a later closeStream of that player.
        for (.., status) in &outcome.relayed {
            prop_assert_ne!(status, &Ok(SendStatus::DroppedVideo));
        }
        prop_assert!(outcome.relayed.iter().all(|(.., status)| !matches!(status, Err(ApiError::QueueFull))));
        check(&outcome);
    }
}
