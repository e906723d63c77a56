//! Every command of both roles through a real client and a real server, asserting the events
//! of both sides.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use super::*;
use crate::amf::{Object, Value};
use crate::message::{Command, Data, LimitType, Message};
use crate::session::client::{PlayOptions, PublishType, Status, StreamStatus};
use crate::session::server::{
    CallOutcome, CallRequest, PlayRequest, PlayStart, PublishRequest, RequestId, ServerOptions,
    StatusLevel,
};
use crate::session::{ApiError, ConnectionStatus, SessionError};

// ---- what the tests send ----

/// An AVC video tag body: key or inter frame, then `len - 5` bytes of `fill`.
pub(super) fn video(key: bool, len: usize, fill: u8) -> Bytes {
    let mut payload = vec![fill; len.max(5)];
    payload[0] = if key { 0x17 } else { 0x27 };
    payload[1] = 1;
    payload[2..5].fill(0);
    Bytes::from(payload)
}

/// An AAC audio tag body of `len` bytes.
pub(super) fn audio(len: usize, fill: u8) -> Bytes {
    let mut payload = vec![fill; len.max(2)];
    payload[0] = 0xAF;
    payload[1] = 1;
    Bytes::from(payload)
}

fn metadata() -> Value {
    Value::EcmaArray(vec![
        (String::from("width"), Value::Number(1280.0)),
        (String::from("height"), Value::Number(720.0)),
        (String::from("videocodecid"), Value::Number(7.0)),
    ])
}

// ---- what the tests expect ----

fn info(level: &str, code: &str, description: &str) -> Object {
    Object::new()
        .with("level", level)
        .with("code", code)
        .with("description", description)
}

fn status(stream: u32, information: Object) -> ClientEvent {
    ClientEvent::Status {
        stream,
        status: Status::from_info(Value::Object(information)),
    }
}

/// The status that refused a publish or play, and the refusal after it.
fn refusal(stream: u32, information: Object) -> [ClientEvent; 2] {
    let said = status(stream, information);
    let ClientEvent::Status { status, .. } = &said else {
        unreachable!("status() makes a Status");
    };
    let refused = ClientEvent::StartRefused {
        stream,
        status: status.clone(),
    };
    [said, refused]
}

fn publish_start(stream: u32, name: &str) -> ClientEvent {
    let information = info(
        "status",
        "NetStream.Publish.Start",
        &format!("{name} is now published."),
    )
    .with("details", name);
    status(stream, information)
}

fn play_reset(stream: u32, name: &str) -> ClientEvent {
    let information = info(
        "status",
        "NetStream.Play.Reset",
        &format!("Playing and resetting {name}."),
    )
    .with("details", name);
    status(stream, information)
}

fn play_start(stream: u32, name: &str) -> ClientEvent {
    let information = info(
        "status",
        "NetStream.Play.Start",
        &format!("Started playing {name}."),
    )
    .with("details", name);
    status(stream, information)
}

fn sample_access(stream: u32) -> ClientEvent {
    ClientEvent::Data {
        stream,
        timestamp: 0,
        data: Data::new(vec![
            Value::from("|RtmpSampleAccess"),
            Value::Boolean(true),
            Value::Boolean(true),
        ]),
    }
}

/// FMS's onFCPublish / onFCUnpublish notification naming the stream.
fn fc_notification(name: &str, code: &str, stream_name: &str) -> ClientEvent {
    ClientEvent::Command {
        stream: 0,
        command: Command::new(
            name,
            0.0,
            Value::Null,
            vec![Value::Object(info("status", code, stream_name))],
        ),
    }
}

/// A publisher's `Connected`; a player's also echoes the multitrack it announced in `capsEx`.
fn publisher_connected(object_encoding: f64) -> ClientEvent {
    connected_with(object_encoding, None)
}

fn connected(object_encoding: f64) -> ClientEvent {
    connected_with(object_encoding, Some(crate::session::CAPS_EX_MULTITRACK))
}

fn connected_with(object_encoding: f64, caps_ex: Option<u32>) -> ClientEvent {
    let mut properties = Object::new()
        .with("fmsVer", "FMS/3,0,1,123")
        .with("capabilities", 31.0)
        .with("mode", 1.0);
    if let Some(caps_ex) = caps_ex {
        properties.insert("capsEx", f64::from(caps_ex));
    }
    ClientEvent::Connected {
        properties: Value::Object(properties),
        information: Value::Object(
            info(
                "status",
                "NetConnection.Connect.Success",
                "Connection succeeded.",
            )
            .with("objectEncoding", object_encoding),
        ),
    }
}

fn request_id(events: &[ServerEvent]) -> RequestId {
    events
        .iter()
        .find_map(|event| match event {
            ServerEvent::ConnectRequest(request) => Some(request.id),
            ServerEvent::PublishRequest(request) => Some(request.id),
            ServerEvent::PlayRequest(request) => Some(request.id),
            ServerEvent::Call(CallRequest { id, .. }) => *id,
            _ => None,
        })
        .expect("a request")
}

/// A connected publisher pair with an accepted publish of `name` on stream 1.
fn publishing(name: &str) -> Pair {
    let mut pair = Pair::publisher();
    pair.connect();
    let stream = pair.publish(name, PublishType::Live);
    assert_eq!(stream, 1);
    let _ = pair.events();
    pair
}

/// A connected player pair whose play of `name` on stream 1 was accepted.
fn playing(name: &str) -> Pair {
    let mut pair = Pair::new();
    pair.connect();
    let stream = pair.play(name);
    assert_eq!(stream, 1);
    let _ = pair.events();
    pair
}

// ---- NetConnection ----

#[test]
fn connect_accepted() {
    let mut pair = Pair::new();
    pair.connect();
    let (client, server) = pair.events();
    assert_eq!(
        client,
        [
            ClientEvent::HandshakeComplete,
            ClientEvent::StreamBegin { stream: 0 },
            connected(0.0),
        ]
    );
    let [ServerEvent::ConnectRequest(request)] = &server[..] else {
        panic!("{server:?}");
    };
    assert_eq!(request.app, "live");
    assert_eq!(request.tc_url.as_deref(), Some("rtmp://localhost/live"));
    assert_eq!(request.flash_ver.as_deref(), Some("LNX 9,0,124,2"));
    assert_eq!(request.object_encoding, Some(0.0));
    assert_eq!(
        request.command_object,
        pair.client.connect_params().command_object()
    );
    assert_eq!(pair.client.status(), ConnectionStatus::Connected);
    assert!(pair.server.is_connected());
    // The server's Set Peer Bandwidth was answered with the client's window.
    assert_eq!(pair.client.peer_bandwidth(), Some(2_500_000));
    assert_eq!(
        pair.client.poll_timeout(),
        Some(Instant::from_millis(60_000))
    );
}

#[test]
fn connect_rejected_closes_both_sides() {
    let mut pair = Pair::new();
    pair.app.connect = Answer::Reject {
        code: "",
        description: "[ AccessManager.Reject ] : [ code=403 ] : ",
    };
    pair.connect();
    let (client, server) = pair.events();
    let information = info(
        "error",
        "NetConnection.Connect.Rejected",
        "[ AccessManager.Reject ] : [ code=403 ] : ",
    );
    assert_eq!(
        client,
        [
            ClientEvent::HandshakeComplete,
            ClientEvent::ConnectRejected {
                code: String::from("NetConnection.Connect.Rejected"),
                description: String::from("[ AccessManager.Reject ] : [ code=403 ] : "),
                information: Value::Object(information),
            },
            // The server hung up after its answer.
            ClientEvent::Closed(SessionError::Closed),
        ]
    );
    assert!(matches!(
        &server[..],
        [
            ServerEvent::ConnectRequest(_),
            ServerEvent::Closed(SessionError::Closed)
        ]
    ));
    assert_eq!(pair.client.status(), ConnectionStatus::Closed);
    assert_eq!(pair.client.create_stream(), Err(ApiError::Closed));
    assert!(pair.is_shut(Side::Client) && pair.is_shut(Side::Server));
}

#[test]
fn create_stream_gets_the_server_allocated_id() {
    let mut pair = Pair::new();
    pair.connect();
    let _ = pair.events();
    let first = pair.client.create_stream().unwrap();
    let second = pair.client.create_stream().unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        client,
        [
            ClientEvent::StreamCreated {
                request: first,
                stream_id: 1
            },
            ClientEvent::StreamCreated {
                request: second,
                stream_id: 2
            },
        ]
    );
    assert_eq!(server, []);
    // A deleted id is handed out again.
    pair.client.delete_stream(1).unwrap();
    let third = pair.client.create_stream().unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        client,
        [ClientEvent::StreamCreated {
            request: third,
            stream_id: 1
        }]
    );
    assert_eq!(server, [ServerEvent::StreamDeleted { stream: 1 }]);
    assert_eq!(
        pair.client.streams().collect::<Vec<_>>(),
        [(1, StreamStatus::Created), (2, StreamStatus::Created)]
    );
}

#[test]
fn create_stream_beyond_the_servers_limit_fails() {
    let mut server = ServerConnectionConfig::default();
    server.session.max_message_streams = 1;
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        server,
    );
    pair.connect();
    let _ = pair.events();
    let first = pair.client.create_stream().unwrap();
    let second = pair.client.create_stream().unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        client,
        [
            ClientEvent::StreamCreated {
                request: first,
                stream_id: 1
            },
            ClientEvent::CreateStreamFailed {
                request: second,
                information: Value::Object(info(
                    "error",
                    "NetConnection.Call.Failed",
                    "Too many streams on this connection."
                )),
            },
        ]
    );
    assert_eq!(server, []);
}

// ---- publishing ----

#[test]
fn publish_live_record_append_with_release_stream_and_fc_publish() {
    use crate::session::server::PublishType as Kind;
    for (kind, expected) in [
        (PublishType::Live, Kind::Live),
        (PublishType::Record, Kind::Record),
        (PublishType::Append, Kind::Append),
    ] {
        let mut pair = Pair::publisher();
        pair.connect();
        let _ = pair.events();
        let request = pair.client.create_stream_to_publish("key", kind).unwrap();
        pair.drive();
        let (client, server) = pair.events();
        assert_eq!(
            client,
            [
                // releaseStream's _result and FCPublish's are not reported; FMS's
                // notification is.
                fc_notification("onFCPublish", "NetStream.Publish.Start", "key"),
                ClientEvent::StreamCreated {
                    request,
                    stream_id: 1
                },
                ClientEvent::StreamBegin { stream: 1 },
                publish_start(1, "key"),
                ClientEvent::PublishStarted { stream: 1 },
            ]
        );
        assert_eq!(
            server,
            [ServerEvent::PublishRequest(PublishRequest {
                id: request_id(&server),
                stream: 1,
                name: String::from("key"),
                publish_type: expected,
            })]
        );
        // releaseStream (2), FCPublish (3), createStream (4), publish (5): in FFmpeg's order.
        let commands: Vec<(String, f64)> = pair
            .wire(Side::Client)
            .into_iter()
            .filter_map(|(_, _, message)| match message {
                Message::Command(command) => Some((command.name, command.transaction_id)),
                _ => None,
            })
            .collect();
        let names = [
            "connect",
            "releaseStream",
            "FCPublish",
            "createStream",
            "publish",
        ];
        let expected: Vec<(String, f64)> = names
            .iter()
            .zip(1..)
            .map(|(name, id)| (String::from(*name), f64::from(id)))
            .collect();
        assert_eq!(commands, expected);
        assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Publishing));
        assert_eq!(pair.server.publishing_name(1), Some("key"));
    }
}

#[test]
fn publish_on_an_existing_stream_without_fc_publish() {
    let mut config = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
    config.send_fc_publish = false;
    let mut pair = Pair::with_configs(config, ServerConnectionConfig::default());
    pair.connect();
    let request = pair.client.create_stream().unwrap();
    pair.drive();
    pair.client.publish(1, "key", PublishType::Live).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        client[3..],
        [
            ClientEvent::StreamCreated {
                request,
                stream_id: 1
            },
            ClientEvent::StreamBegin { stream: 1 },
            publish_start(1, "key"),
            ClientEvent::PublishStarted { stream: 1 },
        ]
    );
    assert!(matches!(
        &server[..],
        [
            ServerEvent::ConnectRequest(_),
            ServerEvent::PublishRequest(_)
        ]
    ));
}

#[test]
fn publish_rejected_bad_name() {
    let mut pair = Pair::publisher();
    pair.app.publish = Answer::Reject {
        code: "NetStream.Publish.BadName",
        description: "key is already published.",
    };
    pair.connect();
    let _ = pair.events();
    let request = pair
        .client
        .create_stream_to_publish("key", PublishType::Live)
        .unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        client,
        [
            fc_notification("onFCPublish", "NetStream.Publish.Start", "key"),
            ClientEvent::StreamCreated {
                request,
                stream_id: 1
            },
        ]
        .into_iter()
        .chain(refusal(
            1,
            info(
                "error",
                "NetStream.Publish.BadName",
                "key is already published."
            )
        ))
        .collect::<Vec<_>>()
    );
    assert!(matches!(&server[..], [ServerEvent::PublishRequest(_)]));
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
    assert_eq!(
        pair.client.send_video(1, 0, video(true, 100, 1)),
        Err(ApiError::UnknownStream(1))
    );
    assert_eq!(pair.server.publishing_name(1), None);
    // The stream may publish again, under another name.
    pair.app.publish = Answer::Accept;
    pair.client.publish(1, "other", PublishType::Live).unwrap();
    pair.drive();
    let (client, _) = pair.events();
    assert_eq!(
        client.last(),
        Some(&ClientEvent::PublishStarted { stream: 1 })
    );
}

#[test]
fn media_sent_before_the_publish_answer_is_held_then_delivered_or_dropped() {
    for accept in [true, false] {
        let mut pair = Pair::publisher();
        pair.app = ServerApp {
            connect: Answer::Accept,
            ..ServerApp::manual()
        };
        pair.connect();
        let _ = pair.events();
        pair.publish("key", PublishType::Live);
        // FFmpeg does not wait for NetStream.Publish.Start.
        let frame = video(true, 3000, 7);
        let _ = pair.client.send_metadata(1, metadata()).unwrap();
        let _ = pair.client.send_video(1, 0, frame.clone()).unwrap();
        pair.drive();
        let (_, server) = pair.events();
        assert!(matches!(&server[..], [ServerEvent::PublishRequest(_)]));
        let id = request_id(&server);
        if accept {
            pair.server.accept_publish(id).unwrap();
        } else {
            pair.server
                .reject_publish(id, "NetStream.Publish.Denied", "No.")
                .unwrap();
        }
        pair.drive();
        let (client, server) = pair.events();
        if accept {
            assert_eq!(
                server,
                [
                    ServerEvent::Metadata {
                        stream: 1,
                        timestamp: 0,
                        metadata: metadata()
                    },
                    ServerEvent::Video {
                        stream: 1,
                        timestamp: 0,
                        payload: frame
                    },
                ]
            );
            assert_eq!(
                client.last(),
                Some(&ClientEvent::PublishStarted { stream: 1 })
            );
        } else {
            assert_eq!(server, []);
            assert_eq!(
                client,
                refusal(1, info("error", "NetStream.Publish.Denied", "No."))
            );
        }
    }
}

#[test]
fn metadata_through_set_data_frame_arrives_as_metadata() {
    let mut pair = publishing("key");
    let _ = pair.client.send_metadata(1, metadata()).unwrap();
    let _ = pair
        .client
        .send_data(
            1,
            40,
            Data::new(vec![Value::from("onTextData"), Value::from("hi")]),
        )
        .unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(client, []);
    assert_eq!(
        server,
        [
            ServerEvent::Metadata {
                stream: 1,
                timestamp: 0,
                metadata: metadata()
            },
            ServerEvent::Data {
                stream: 1,
                timestamp: 40,
                data: Data::new(vec![Value::from("onTextData"), Value::from("hi")]),
            },
        ]
    );
    // On the wire it is @setDataFrame, as FFmpeg and OBS send it.
    let data: Vec<Data> = pair
        .wire(Side::Client)
        .into_iter()
        .filter_map(|(_, _, message)| match message {
            Message::Data(data) => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(data[0], Data::set_data_frame(metadata()));
}

#[test]
fn media_from_the_client_arrives_with_its_timestamps_and_payloads() {
    let mut pair = publishing("key");
    // Timestamps that start at 0, cross the 24-bit field (extended timestamps), approach
    // 2^32 and wrap; sizes within one chunk, across several, and empty-ish.
    let sends: Vec<(bool, u32, Bytes)> = vec![
        (true, 0, video(true, 9000, 1)),
        (false, 0, audio(300, 2)),
        (true, 40, video(false, 200, 3)),
        (false, 23, audio(4096, 4)),
        (true, 0x00FF_FFFE, video(false, 5000, 5)),
        (true, 0x00FF_FFFF, video(false, 10, 6)),
        (true, 0x0100_0000, video(false, 4097, 7)),
        (false, 0x0100_0000, audio(2, 8)),
        (true, u32::MAX - 1, video(true, 12_000, 9)),
        (true, u32::MAX, video(false, 700, 10)),
        (true, 3, video(false, 700, 11)),
        (false, u32::MAX, audio(100, 12)),
        (false, 20, audio(100, 13)),
    ];
    let mut expected = Vec::new();
    for (is_video, timestamp, payload) in &sends {
        let (status, event) = if *is_video {
            (
                pair.client.send_video(1, *timestamp, payload.clone()),
                ServerEvent::Video {
                    stream: 1,
                    timestamp: *timestamp,
                    payload: payload.clone(),
                },
            )
        } else {
            (
                pair.client.send_audio(1, *timestamp, payload.clone()),
                ServerEvent::Audio {
                    stream: 1,
                    timestamp: *timestamp,
                    payload: payload.clone(),
                },
            )
        };
        assert_eq!(status, Ok(SendStatus::Queued));
        expected.push(event);
        // One at a time: the order on the wire is the order of the sends.
        pair.drive();
    }
    let (client, server) = pair.events();
    assert_eq!(client, []);
    assert_eq!(server, expected);
}

#[test]
fn audio_and_video_queued_together_keep_the_order_they_were_sent_in() {
    let mut pair = publishing("key");
    let frames = [video(true, 2000, 1), video(false, 300, 2)];
    let sounds = [audio(200, 3), audio(200, 4)];
    for (i, (frame, sound)) in frames.iter().zip(&sounds).enumerate() {
        let timestamp = 20 * i as u32;
        let _ = pair.client.send_video(1, timestamp, frame.clone()).unwrap();
        let _ = pair.client.send_audio(1, timestamp, sound.clone()).unwrap();
    }
    pair.drive();
    let (_, server) = pair.events();
    let audio = |timestamp, payload: &Bytes| ServerEvent::Audio {
        stream: 1,
        timestamp,
        payload: payload.clone(),
    };
    let video = |timestamp, payload: &Bytes| ServerEvent::Video {
        stream: 1,
        timestamp,
        payload: payload.clone(),
    };
    assert_eq!(
        server,
        [
            video(0, &frames[0]),
            audio(0, &sounds[0]),
            video(20, &frames[1]),
            audio(20, &sounds[1]),
        ]
    );
}

// ---- playing ----

#[test]
fn play_accepted_then_media_to_the_player() {
    for kind in [StreamKind::Live, StreamKind::Recorded] {
        let mut pair = Pair::new();
        pair.app.play_kind = kind;
        pair.connect();
        let _ = pair.events();
        let request = pair
            .client
            .create_stream_to_play("cam", PlayOptions::default())
            .unwrap();
        pair.drive();
        let (client, server) = pair.events();
        let mut expected = vec![ClientEvent::StreamCreated {
            request,
            stream_id: 1,
        }];
        if kind == StreamKind::Recorded {
            expected.push(ClientEvent::StreamIsRecorded { stream: 1 });
        }
        expected.extend([
            ClientEvent::StreamBegin { stream: 1 },
            play_reset(1, "cam"),
            play_start(1, "cam"),
            ClientEvent::PlayStarted { stream: 1 },
            sample_access(1),
        ]);
        assert_eq!(client, expected);
        assert_eq!(
            server,
            [
                ServerEvent::PlayRequest(PlayRequest {
                    id: request_id(&server),
                    stream: 1,
                    name: String::from("cam"),
                    start: PlayStart::LiveOrRecorded,
                    duration: None,
                    reset: true,
                }),
                // Sent right after play, held until the play was answered.
                ServerEvent::BufferLength {
                    stream: 1,
                    millis: 3000
                },
            ]
        );
        assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Playing));
        assert_eq!(pair.server.playing_name(1), Some("cam"));

        let frame = video(true, 6000, 1);
        let sound = audio(400, 2);
        let _ = pair.server.send_metadata(1, metadata()).unwrap();
        let _ = pair.server.send_video(1, 1000, frame.clone()).unwrap();
        pair.drive();
        let _ = pair.server.send_audio(1, 1010, sound.clone()).unwrap();
        pair.drive();
        let (client, server) = pair.events();
        assert_eq!(
            client,
            [
                ClientEvent::Metadata {
                    stream: 1,
                    metadata: metadata()
                },
                ClientEvent::Video {
                    stream: 1,
                    timestamp: 1000,
                    payload: frame
                },
                ClientEvent::Audio {
                    stream: 1,
                    timestamp: 1010,
                    payload: sound
                },
            ]
        );
        assert_eq!(server, []);
    }
}

#[test]
fn play_with_start_duration_and_no_reset() {
    let mut pair = Pair::new();
    pair.connect();
    let stream = {
        let request = pair.client.create_stream().unwrap();
        pair.drive();
        let (client, _) = pair.events();
        assert_eq!(
            client.last(),
            Some(&ClientEvent::StreamCreated {
                request,
                stream_id: 1
            })
        );
        1
    };
    let options = PlayOptions {
        start: crate::session::client::PlayStart::Recorded(5000),
        duration: Some(10_000.0),
        reset: Some(false),
        buffer_length: None,
    };
    pair.client.play(stream, "vod", options).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        server,
        [ServerEvent::PlayRequest(PlayRequest {
            id: request_id(&server),
            stream: 1,
            name: String::from("vod"),
            start: PlayStart::At(5000.0),
            duration: Some(10_000.0),
            reset: false,
        })]
    );
    // No reset asked: no Play.Reset.
    assert_eq!(
        client,
        [
            ClientEvent::StreamBegin { stream: 1 },
            play_start(1, "vod"),
            ClientEvent::PlayStarted { stream: 1 },
            sample_access(1),
        ]
    );
}

#[test]
fn play_rejected_stream_not_found() {
    let mut pair = Pair::new();
    pair.app.play = Answer::Reject {
        code: "NetStream.Play.StreamNotFound",
        description: "No such stream.",
    };
    pair.connect();
    let _ = pair.events();
    let request = pair
        .client
        .create_stream_to_play("nope", PlayOptions::default())
        .unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        client,
        [ClientEvent::StreamCreated {
            request,
            stream_id: 1
        },]
        .into_iter()
        .chain(refusal(
            1,
            info("error", "NetStream.Play.StreamNotFound", "No such stream.")
        ))
        .collect::<Vec<_>>()
    );
    assert!(matches!(
        &server[..],
        [
            ServerEvent::PlayRequest(_),
            ServerEvent::BufferLength {
                stream: 1,
                millis: 3000
            }
        ]
    ));
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
    assert_eq!(pair.server.playing_name(1), None);
    assert_eq!(
        pair.server.send_video(1, 0, video(true, 10, 0)),
        Err(ApiError::UnknownStream(1))
    );
}

#[test]
fn play2_reaches_the_application() {
    let mut pair = playing("cam");
    let parameters = Object::new()
        .with("streamName", "cam_hd")
        .with("oldStreamName", "cam")
        .with("transition", "switch")
        .with("start", -2.0)
        .with("len", -1.0)
        .with("offset", 0.0);
    pair.client.play2(1, parameters.clone()).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(client, []);
    assert_eq!(
        server,
        [ServerEvent::Play2 {
            stream: 1,
            parameters: Value::Object(parameters)
        }]
    );
    let _ = pair
        .server
        .send_status(
            1,
            StatusLevel::Status,
            "NetStream.Play.Transition",
            "cam_hd",
        )
        .unwrap();
    pair.drive();
    let (client, _) = pair.events();
    assert_eq!(
        client,
        [status(
            1,
            info("status", "NetStream.Play.Transition", "cam_hd")
        )]
    );
}

#[test]
fn pause_and_resume() {
    let mut pair = playing("cam");
    pair.client.pause(1, true, 1234.0).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        server,
        [ServerEvent::Pause {
            stream: 1,
            pause: true,
            position: 1234.0
        }]
    );
    assert_eq!(
        client,
        [status(
            1,
            info("status", "NetStream.Pause.Notify", "Pausing cam.").with("details", "cam")
        )]
    );
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Paused));

    pair.client.pause(1, false, 1234.0).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        server,
        [ServerEvent::Pause {
            stream: 1,
            pause: false,
            position: 1234.0
        }]
    );
    assert_eq!(
        client,
        [status(
            1,
            info("status", "NetStream.Unpause.Notify", "Unpausing cam.").with("details", "cam")
        )]
    );
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Playing));
}

#[test]
fn seek() {
    let mut pair = playing("cam");
    pair.client.seek(1, 5000.0).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        server,
        [ServerEvent::Seek {
            stream: 1,
            position: 5000.0
        }]
    );
    assert_eq!(
        client,
        [status(
            1,
            info(
                "status",
                "NetStream.Seek.Notify",
                "Seeking 5000 (stream ID: 1)."
            )
            .with("details", "cam")
        )]
    );
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Playing));
}

#[test]
fn receive_audio_and_receive_video() {
    let mut pair = playing("cam");
    pair.client.receive_audio(1, false).unwrap();
    pair.client.receive_video(1, true).unwrap();
    pair.client.receive_audio(1, true).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(client, []);
    assert_eq!(
        server,
        [
            ServerEvent::ReceiveAudio {
                stream: 1,
                enabled: false
            },
            ServerEvent::ReceiveVideo {
                stream: 1,
                enabled: true
            },
            ServerEvent::ReceiveAudio {
                stream: 1,
                enabled: true
            },
        ]
    );
}

#[test]
fn set_buffer_length_reaches_the_server() {
    let mut pair = playing("cam");
    let _ = pair.client.set_buffer_length(1, 500).unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events(),
        [ServerEvent::BufferLength {
            stream: 1,
            millis: 500
        }]
    );
}

#[test]
fn stream_eof_and_dry_reach_the_player() {
    let mut pair = playing("cam");
    let _ = pair.server.send_stream_dry(1).unwrap();
    let _ = pair
        .server
        .send_status(1, StatusLevel::Status, "NetStream.Play.Stop", "Stopped.")
        .unwrap();
    let _ = pair.server.send_stream_eof(1).unwrap();
    pair.drive();
    let (client, _) = pair.events();
    assert_eq!(
        client,
        [
            ClientEvent::StreamDry { stream: 1 },
            status(1, info("status", "NetStream.Play.Stop", "Stopped.")),
            ClientEvent::StreamEof { stream: 1 },
        ]
    );
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
}

// ---- ending streams ----

#[test]
fn close_stream_of_a_publisher() {
    let mut pair = publishing("key");
    pair.client.close_stream(1).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(server, [ServerEvent::Unpublished { stream: 1 }]);
    assert_eq!(
        client,
        [status(
            1,
            info(
                "status",
                "NetStream.Unpublish.Success",
                "key is now unpublished."
            )
            .with("details", "key")
        )]
    );
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
    assert_eq!(pair.server.publishing_name(1), None);
    // Media after closeStream is refused by the client, before it could offend the server.
    assert_eq!(
        pair.client.send_audio(1, 0, audio(10, 0)),
        Err(ApiError::UnknownStream(1))
    );
}

#[test]
fn close_stream_of_a_player() {
    let mut pair = playing("cam");
    pair.client.close_stream(1).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(server, [ServerEvent::PlayStopped { stream: 1 }]);
    assert_eq!(client, []);
    assert_eq!(pair.server.playing_name(1), None);
    assert_eq!(
        pair.server.send_video(1, 0, video(true, 10, 0)),
        Err(ApiError::UnknownStream(1))
    );
}

#[test]
fn fc_unpublish_then_delete_stream() {
    let mut pair = publishing("key");
    pair.client.fc_unpublish(1).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        server,
        [ServerEvent::UnpublishRequest {
            stream: 1,
            name: String::from("key")
        }]
    );
    assert_eq!(
        client,
        [fc_notification(
            "onFCUnpublish",
            "NetStream.Unpublish.Success",
            "key"
        )]
    );
    // Still publishing until the stream is closed or deleted.
    assert_eq!(pair.server.publishing_name(1), Some("key"));

    pair.client.delete_stream(1).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        server,
        [
            ServerEvent::Unpublished { stream: 1 },
            ServerEvent::StreamDeleted { stream: 1 },
        ]
    );
    // The server's Unpublish.Success names a stream the client has already forgotten.
    assert_eq!(
        client,
        [status(
            1,
            info(
                "status",
                "NetStream.Unpublish.Success",
                "key is now unpublished."
            )
            .with("details", "key")
        )]
    );
    assert_eq!(pair.client.stream_status(1), None);
}

#[test]
fn delete_stream_of_a_player() {
    let mut pair = playing("cam");
    pair.client.delete_stream(1).unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(client, []);
    assert_eq!(
        server,
        [
            ServerEvent::PlayStopped { stream: 1 },
            ServerEvent::StreamDeleted { stream: 1 },
        ]
    );
}

// ---- calls ----

#[test]
fn calls_are_answered_by_transaction_id() {
    let mut pair = Pair::new();
    pair.connect();
    let _ = pair.events();
    let length = pair
        .client
        .call("getStreamLength", Value::Null, vec![Value::from("cam")])
        .unwrap();
    let unknown = pair
        .client
        .call("whoAmI", Value::Null, vec![Value::from(1.0)])
        .unwrap();
    let check = pair.client.call("_checkbw", Value::Null, vec![]).unwrap();
    assert_eq!(pair.client.pending_requests(), 3);
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        client,
        [
            ClientEvent::CallResult {
                transaction: length,
                command_object: Value::Null,
                values: vec![Value::Number(0.0)],
            },
            ClientEvent::CallError {
                transaction: unknown,
                command_object: Value::Null,
                values: vec![Value::Object(info(
                    "error",
                    "NetConnection.Call.Failed",
                    "Method not found."
                ))],
            },
            ClientEvent::CallResult {
                transaction: check,
                command_object: Value::Null,
                values: vec![],
            },
        ]
    );
    // The unknown call is reported, answered already.
    assert_eq!(
        server,
        [ServerEvent::Call(CallRequest {
            id: None,
            stream: 0,
            name: String::from("whoAmI"),
            transaction_id: f64::from(unknown.get() as u32),
            command_object: Value::Null,
            arguments: vec![Value::from(1.0)],
        })]
    );
    assert_eq!(pair.client.pending_requests(), 0);
}

fn answering_server() -> ServerConnectionConfig {
    ServerConnectionConfig {
        options: ServerOptions {
            call_answer_timeout: Some(Duration::from_secs(5)),
            ..ServerOptions::default()
        },
        ..ServerConnectionConfig::default()
    }
}

#[test]
fn calls_answered_by_the_application_out_of_order() {
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        answering_server(),
    );
    pair.app.calls = Answer::Wait;
    pair.connect();
    let _ = pair.events();
    let first = pair
        .client
        .call("add", Value::Null, vec![Value::from(1.0), Value::from(2.0)])
        .unwrap();
    let second = pair
        .client
        .call("greet", Value::Null, vec![Value::from("bob")])
        .unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(client, []);
    let ids: Vec<RequestId> = server
        .iter()
        .filter_map(|event| match event {
            ServerEvent::Call(call) => call.id,
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2);
    pair.server
        .respond_call(ids[1], Value::Null, vec![Value::from("hello bob")])
        .unwrap();
    pair.server.reject_call(ids[0], "Cannot add.").unwrap();
    pair.drive();
    let (client, _) = pair.events();
    assert_eq!(
        client,
        [
            ClientEvent::CallResult {
                transaction: second,
                command_object: Value::Null,
                values: vec![Value::from("hello bob")],
            },
            ClientEvent::CallError {
                transaction: first,
                command_object: Value::Null,
                values: vec![Value::Object(info(
                    "error",
                    "NetConnection.Call.Failed",
                    "Cannot add."
                ))],
            },
        ]
    );
}

#[test]
fn calls_the_application_leaves_unanswered_fail_in_virtual_time() {
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        answering_server(),
    );
    pair.app.calls = Answer::Wait;
    pair.connect();
    let _ = pair.events();
    let start = pair.now;
    let call = pair.client.call("slow", Value::Null, vec![]).unwrap();
    pair.drive();
    assert_eq!(
        pair.server.poll_timeout(),
        Some(start + Duration::from_secs(5))
    );
    pair.advance(Duration::from_millis(4_999));
    assert_eq!(pair.client_events(), []);
    pair.advance(Duration::from_millis(1));
    assert_eq!(
        pair.client_events(),
        [ClientEvent::CallError {
            transaction: call,
            command_object: Value::Null,
            values: vec![Value::Object(info(
                "error",
                "NetConnection.Call.Failed",
                "The call was not answered in time."
            ))],
        }]
    );
}

#[test]
fn calls_echoed_by_the_application() {
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        answering_server(),
    );
    pair.connect();
    let _ = pair.events();
    let call = pair
        .client
        .call_on_stream(0, "echo", Value::Null, vec![Value::from("x")])
        .unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        client,
        [ClientEvent::CallResult {
            transaction: call,
            command_object: Value::Null,
            values: vec![Value::from("x")],
        }]
    );
    assert!(matches!(
        &server[..],
        [ServerEvent::Call(CallRequest { id: Some(_), .. })]
    ));
}

#[test]
fn unknown_commands_are_answered_error() {
    let mut pair = Pair::new();
    pair.connect();
    let _ = pair.events();
    // Sent as is: the client waits for nothing, and ignores the answer.
    let _ = pair
        .client
        .send_command(0, Command::new("fooBar", 7.0, Value::Null, vec![]))
        .unwrap();
    // Transaction 0: no answer at all.
    let _ = pair
        .client
        .send_command(0, Command::new("notify", 0.0, Value::Null, vec![]))
        .unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(client, []);
    assert_eq!(server.len(), 2);
    let answers: Vec<Command> = pair
        .wire(Side::Server)
        .into_iter()
        .filter_map(|(_, _, message)| match message {
            Message::Command(command) => Some(command),
            _ => None,
        })
        .filter(|command| command.name != "onStatus")
        .collect();
    // The connect _result, then the _error for fooBar only.
    assert_eq!(answers.len(), 2);
    assert_eq!(
        answers[1],
        Command::error(
            7.0,
            Value::Null,
            vec![Value::Object(info(
                "error",
                "NetConnection.Call.Failed",
                "Method not found."
            ))]
        )
    );
}

#[test]
fn server_calls_the_client() {
    let mut pair = Pair::new();
    pair.connect();
    let _ = pair.events();
    let call = pair
        .server
        .call("onCustom", vec![Value::from("ping?")])
        .unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(server, []);
    let command = Command::new(
        "onCustom",
        f64::from(call.transaction_id()),
        Value::Null,
        vec![Value::from("ping?")],
    );
    assert_eq!(
        client,
        [ClientEvent::Command {
            stream: 0,
            command: command.clone()
        }]
    );
    let answer = Command::result(
        command.transaction_id,
        Value::Null,
        vec![Value::from("pong")],
    );
    let _ = pair.client.send_command(0, answer).unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events(),
        [ServerEvent::CallResult {
            call,
            outcome: CallOutcome::Result,
            command_object: Value::Null,
            arguments: vec![Value::from("pong")],
        }]
    );
    // An _error answer, and the bandwidth check the client answers by itself.
    let refused = pair.server.call("onOther", vec![]).unwrap();
    let bandwidth = pair.server.call("onBWCheck", vec![]).unwrap();
    pair.drive();
    let _ = pair.client_events();
    let error = Command::error(f64::from(refused.transaction_id()), Value::Null, vec![]);
    let _ = pair.client.send_command(0, error).unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events(),
        [
            ServerEvent::CallResult {
                call: bandwidth,
                outcome: CallOutcome::Result,
                command_object: Value::Null,
                arguments: vec![Value::Number(1.0)],
            },
            ServerEvent::CallResult {
                call: refused,
                outcome: CallOutcome::Error,
                command_object: Value::Null,
                arguments: vec![],
            },
        ]
    );
}

// ---- protocol control ----

#[test]
fn pings_both_ways_measure_the_round_trip_in_virtual_time() {
    let mut pair = Pair::new();
    pair.latency = Duration::from_millis(25);
    pair.connect();
    let _ = pair.events();
    // Quiet for a while first: the round trip must not include it.
    pair.advance(Duration::from_secs(1));
    pair.client.ping(pair.now).unwrap();
    pair.drive();
    assert_eq!(
        pair.client_events(),
        [ClientEvent::PingResponse {
            round_trip: Duration::from_millis(50)
        }]
    );
    pair.advance(Duration::from_secs(1));
    pair.server.ping(pair.now).unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events(),
        [ServerEvent::PingResponse {
            round_trip: Duration::from_millis(50)
        }]
    );
    assert_eq!(pair.server.round_trip(), Some(Duration::from_millis(50)));
}

#[test]
fn periodic_pings_keep_an_idle_publisher_alive() {
    let mut server = ServerConnectionConfig::default();
    server.session.ping_interval = Some(Duration::from_secs(20));
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::publisher("live", "rtmp://localhost/live"),
        server,
    );
    pair.latency = Duration::from_millis(10);
    pair.connect();
    pair.publish("key", PublishType::Live);
    let _ = pair.events();
    pair.advance(Duration::from_secs(300));
    let (client, server) = pair.events();
    assert_eq!(client, []);
    // A ping after every 20 s of silence, each answered in 20 ms: the silence restarts with
    // the answer, so they come every 20.02 s.
    assert_eq!(
        server,
        vec![
            ServerEvent::PingResponse {
                round_trip: Duration::from_millis(20)
            };
            14
        ]
    );
    let start = pair.now;
    pair.advance(Duration::from_millis(20_020));
    assert_eq!(pair.server_events().len(), 1);
    assert_eq!(pair.now, start + Duration::from_millis(20_020));
}

#[test]
fn acknowledgements_follow_the_window_both_ways() {
    let mut server = ServerConnectionConfig::default();
    server.session.window_ack_size = 10_000;
    server.session.peer_bandwidth = 10_000;
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::publisher("live", "rtmp://localhost/live"),
        server,
    );
    pair.connect();
    // The server asked for acknowledgements every 10,000 bytes and limited the client to
    // 10,000, which the client answered with its own window of that size.
    let server_sent = pair.wire(Side::Server);
    assert_eq!(
        server_sent[..3],
        [
            (
                0,
                0,
                Message::WindowAckSize {
                    window_size: 10_000
                }
            ),
            (
                0,
                0,
                Message::SetPeerBandwidth {
                    window_size: 10_000,
                    limit_type: LimitType::DYNAMIC
                }
            ),
            (0, 0, Message::SetChunkSize { chunk_size: 4096 }),
        ]
    );
    assert!(pair.wire(Side::Client).contains(&(
        0,
        0,
        Message::WindowAckSize {
            window_size: 10_000
        }
    )));
    pair.publish("key", PublishType::Live);
    let _ = pair.wire(Side::Server);
    let before = pair.bytes_written(Side::Client);
    for i in 0..10 {
        let _ = pair
            .client
            .send_video(1, i * 40, video(i == 0, 7000, 1))
            .unwrap();
        pair.drive();
    }
    let received = pair.bytes_written(Side::Client) - HANDSHAKE_LEN as u64;
    assert!(pair.bytes_written(Side::Client) - before > 70_000);
    let acks = acknowledgements(pair.wire(Side::Server));
    assert_windowed(&acks, 10_000, received);

    // The other way: a player acknowledges what the server sends.
    let mut server = ServerConnectionConfig::default();
    server.session.window_ack_size = 10_000;
    server.session.peer_bandwidth = 10_000;
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        server,
    );
    pair.connect();
    pair.play("cam");
    let _ = pair.wire(Side::Client);
    for i in 0..10 {
        let _ = pair
            .server
            .send_video(1, i * 40, video(i == 0, 7000, 1))
            .unwrap();
        pair.drive();
    }
    let received = pair.bytes_written(Side::Server) - HANDSHAKE_LEN as u64;
    let acks = acknowledgements(pair.wire(Side::Client));
    assert_windowed(&acks, 10_000, received);
}

fn acknowledgements(wire: Vec<OnWire>) -> Vec<u32> {
    wire.into_iter()
        .filter_map(|(_, _, message)| match message {
            Message::Acknowledgement { sequence_number } => Some(sequence_number),
            _ => None,
        })
        .collect()
}

/// One acknowledgement per window of chunk stream received, each counting every byte so far.
fn assert_windowed(acks: &[u32], window: u32, received: u64) {
    assert!(
        acks.len() as u64 >= received / u64::from(window) / 2,
        "{acks:?}"
    );
    let mut previous = 0;
    for &ack in acks {
        assert!(ack - previous >= window, "{acks:?}");
        previous = ack;
    }
    assert!(u64::from(previous) <= received);
    assert!(
        received - u64::from(previous) < u64::from(window) + 8192,
        "{acks:?} {received}"
    );
}

/// How many bytes `writer` wrote for what `send` queued, once everything before was written.
fn wire_cost(pair: &mut Pair, writer: Side, send: impl FnOnce(&mut Pair)) -> u64 {
    pair.drive();
    let before = pair.bytes_written(writer);
    send(pair);
    pair.drive();
    pair.bytes_written(writer) - before
}

#[test]
fn chunk_sizes_are_negotiated_both_ways() {
    // Both announce 4096: a 10,000-byte message is three chunks each way.
    let mut pair = Pair::publisher();
    pair.connect();
    let client_sent = pair.wire(Side::Client);
    assert_eq!(
        client_sent[0],
        (0, 0, Message::SetChunkSize { chunk_size: 4096 })
    );
    assert!(pair
        .wire(Side::Server)
        .contains(&(0, 0, Message::SetChunkSize { chunk_size: 4096 })));
    pair.publish("key", PublishType::Live);
    pair.play("key");
    let _ = pair.events();
    let frame = video(true, 10_000, 3);
    let cost = wire_cost(&mut pair, Side::Client, |pair| {
        let _ = pair.client.send_video(1, 0, frame.clone()).unwrap();
    });
    assert!(cost <= 10_000 + 12 + 2 + 4, "{cost}");
    let cost = wire_cost(&mut pair, Side::Server, |pair| {
        let _ = pair.server.send_video(2, 0, frame.clone()).unwrap();
    });
    assert!(cost <= 10_000 + 12 + 2 + 4, "{cost}");
    let (client, server) = pair.events();
    assert_eq!(
        server,
        [ServerEvent::Video {
            stream: 1,
            timestamp: 0,
            payload: frame.clone()
        }]
    );
    assert_eq!(
        client,
        [ClientEvent::Video {
            stream: 2,
            timestamp: 0,
            payload: frame.clone()
        }]
    );
}

#[test]
fn a_small_chunk_size_on_either_side_works() {
    for (client_chunk, server_chunk) in [(128, 4096), (4096, 128), (128, 128), (60, 70_000)] {
        let mut client = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
        client.session.chunk_size = client_chunk;
        let mut server = ServerConnectionConfig::default();
        server.session.chunk_size = server_chunk;
        let mut pair = Pair::with_configs(client, server);
        pair.connect();
        let client_announced = pair
            .wire(Side::Client)
            .into_iter()
            .any(|(_, _, message)| matches!(message, Message::SetChunkSize { .. }));
        // 128 is the default: nothing to announce.
        assert_eq!(client_announced, client_chunk != 128);
        pair.publish("key", PublishType::Live);
        pair.play("key");
        let _ = pair.events();
        let frame = video(true, 10_000, 3);
        let chunks = |size: u32| 10_000u64.div_ceil(u64::from(size));
        let cost = wire_cost(&mut pair, Side::Client, |pair| {
            let _ = pair.client.send_video(1, 0, frame.clone()).unwrap();
        });
        assert!(cost >= 10_000 + chunks(client_chunk) - 1, "{cost}");
        assert!(cost <= 10_000 + 16 + 4 * chunks(client_chunk), "{cost}");
        let cost = wire_cost(&mut pair, Side::Server, |pair| {
            let _ = pair.server.send_video(2, 0, frame.clone()).unwrap();
        });
        assert!(cost >= 10_000 + chunks(server_chunk) - 1, "{cost}");
        assert!(cost <= 10_000 + 16 + 4 * chunks(server_chunk), "{cost}");
        let (client, server) = pair.events();
        assert_eq!(
            server,
            [ServerEvent::Video {
                stream: 1,
                timestamp: 0,
                payload: frame.clone()
            }]
        );
        assert_eq!(
            client,
            [ClientEvent::Video {
                stream: 2,
                timestamp: 0,
                payload: frame.clone()
            }]
        );
    }
}

// ---- timeouts ----

#[test]
fn handshake_timeout_in_virtual_time() {
    let mut pair = Pair::new();
    // The server's answer never arrives.
    pair.set_blackhole(Side::Server, true);
    pair.client.connect().unwrap();
    pair.drive();
    assert_eq!(pair.now, Instant::from_millis(0));
    assert_eq!(
        pair.client.poll_timeout(),
        Some(Instant::from_millis(10_000))
    );
    assert_eq!(
        pair.server.poll_timeout(),
        Some(Instant::from_millis(10_000))
    );
    pair.advance(Duration::from_millis(9_999));
    assert_eq!(pair.events(), (vec![], vec![]));
    pair.advance(Duration::from_millis(1));
    assert_eq!(
        pair.events(),
        (
            vec![ClientEvent::Closed(SessionError::HandshakeTimeout)],
            vec![ServerEvent::Closed(SessionError::HandshakeTimeout)]
        )
    );
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(pair.server.poll_timeout(), None);
}

#[test]
fn idle_timeout_in_virtual_time() {
    // A publisher does not time out (servers send it next to nothing); the server does.
    let mut pair = Pair::publisher();
    pair.latency = Duration::from_millis(5);
    pair.connect();
    pair.publish("key", PublishType::Live);
    let _ = pair.events();
    let last_input = Instant::from_millis(pair.now.as_millis() - 5);
    let deadline = last_input + Duration::from_secs(60);
    assert_eq!(pair.server.poll_timeout(), Some(deadline));
    assert_eq!(pair.client.poll_timeout(), None);
    pair.advance_to(Instant::from_millis(deadline.as_millis() - 1));
    assert_eq!(pair.events(), (vec![], vec![]));
    pair.advance(Duration::from_millis(1));
    assert_eq!(
        pair.events(),
        (vec![], vec![ServerEvent::Closed(SessionError::IdleTimeout)])
    );
    assert_eq!(pair.now, deadline);
    // The client learns it when the server hangs up, a latency later.
    pair.advance(Duration::from_millis(4));
    assert_eq!(pair.events(), (vec![], vec![]));
    pair.advance(Duration::from_millis(1));
    assert_eq!(
        pair.events(),
        (vec![ClientEvent::Closed(SessionError::Closed)], vec![])
    );

    // A player times out too, when the server sends nothing.
    let mut server = ServerConnectionConfig::default();
    server.session.idle_timeout = None;
    server.options.stream_timeout = None;
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        server,
    );
    pair.connect();
    let _ = pair.events();
    pair.advance(Duration::from_secs(60));
    assert_eq!(
        pair.events(),
        (
            vec![ClientEvent::Closed(SessionError::IdleTimeout)],
            vec![ServerEvent::Closed(SessionError::Closed)]
        )
    );
}

// ---- the outbound queue ----

#[test]
fn a_slow_player_gets_backpressure_dropped_video_then_writable() {
    let mut server = ServerConnectionConfig::default();
    server.session.outbound_high_water = 40_000;
    server.session.outbound_low_water = 10_000;
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        server,
    );
    pair.connect();
    pair.play("cam");
    let _ = pair.events();
    // The player reads 5,000 bytes per step; a 10,000-byte frame comes every step.
    pair.set_write_limit(Side::Server, Some(5_000));
    let mut statuses = Vec::new();
    let mut sent = Vec::new();
    for i in 0..30u32 {
        let frame = video(i % 10 == 0, 10_000, i as u8);
        let status = pair.server.send_video(1, i * 40, frame.clone()).unwrap();
        if status != SendStatus::DroppedVideo {
            sent.push(ClientEvent::Video {
                stream: 1,
                timestamp: i * 40,
                payload: frame,
            });
        }
        statuses.push(status);
        let _ = pair.step();
    }
    pair.drive();
    let (client, server) = pair.events();
    use SendStatus::{AboveHighWater as High, DroppedVideo as Drop, Queued as Q};
    // 5,000 bytes more wait after each step: the seventh frame reaches the high-water mark.
    // Inter frames are dropped while the queue is above it, and after that until the next
    // keyframe, which always goes (and may take the queue above the mark again: so may the
    // frame after it, sent while the queue was below the mark). The queue drains in the
    // second group of ten, which starts afresh.
    assert_eq!(
        statuses,
        [
            Q, Q, Q, Q, Q, Q, High, High, Drop, Drop, //
            High, High, Drop, Drop, Drop, Drop, Drop, Drop, Drop, Drop, //
            Q, Q, Q, Q, Q, Q, High, High, Drop, Drop,
        ]
    );
    assert_eq!(client, sent);
    // Drained to the low-water mark once during the second group, once at the end.
    assert_eq!(server, [ServerEvent::Writable, ServerEvent::Writable]);
}

#[test]
fn a_slow_server_gets_backpressure_from_a_publisher() {
    let mut client = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
    client.session.outbound_high_water = 20_000;
    client.session.outbound_low_water = 5_000;
    let mut pair = Pair::with_configs(client, ServerConnectionConfig::default());
    pair.connect();
    pair.publish("key", PublishType::Live);
    let _ = pair.events();
    pair.set_write_limit(Side::Client, Some(3_000));
    let mut statuses = Vec::new();
    let mut sent = Vec::new();
    for i in 0..15u32 {
        let frame = video(i % 5 == 0, 8_000, i as u8);
        let sound = audio(100, i as u8);
        // Audio is never dropped.
        let audio_status = pair.client.send_audio(1, i * 40, sound.clone()).unwrap();
        assert_ne!(audio_status, SendStatus::DroppedVideo);
        let status = pair.client.send_video(1, i * 40, frame.clone()).unwrap();
        sent.push((i * 40, sound, status != SendStatus::DroppedVideo, frame));
        statuses.push(status);
        let _ = pair.step();
    }
    pair.drive();
    let (client, server) = pair.events();
    use SendStatus::{AboveHighWater as High, DroppedVideo as Drop, Queued as Q};
    // About 5,200 bytes more wait after each step with a frame, 2,900 fewer after each step
    // without: the fourth frame crosses 20,000 bytes, the fifth finds the queue above it; the
    // keyframes at 5 and 10 go, and the frame after the one at 10 too, sent while the queue
    // was below the mark.
    assert_eq!(
        statuses,
        [Q, Q, Q, High, Drop, High, Drop, Drop, Drop, Drop, Q, High, Drop, Drop, Drop]
    );
    // The queue fell to 5,000 bytes only once the frames stopped.
    assert_eq!(client, [ClientEvent::Writable]);
    let audio_events: Vec<ServerEvent> = server
        .iter()
        .filter(|event| matches!(event, ServerEvent::Audio { .. }))
        .cloned()
        .collect();
    let video_events: Vec<ServerEvent> = server
        .iter()
        .filter(|event| matches!(event, ServerEvent::Video { .. }))
        .cloned()
        .collect();
    let expected_audio: Vec<ServerEvent> = sent
        .iter()
        .map(|(timestamp, sound, _, _)| ServerEvent::Audio {
            stream: 1,
            timestamp: *timestamp,
            payload: sound.clone(),
        })
        .collect();
    let expected_video: Vec<ServerEvent> = sent
        .iter()
        .filter(|(_, _, kept, _)| *kept)
        .map(|(timestamp, _, _, frame)| ServerEvent::Video {
            stream: 1,
            timestamp: *timestamp,
            payload: frame.clone(),
        })
        .collect();
    assert_eq!(audio_events, expected_audio);
    assert_eq!(video_events, expected_video);
    assert_eq!(server.len(), audio_events.len() + video_events.len());
}

#[test]
fn one_payload_fans_out_to_two_players_without_a_copy() {
    let frame = video(true, 3000, 9);
    let mut players = [playing("cam"), playing("cam")];
    for pair in &mut players {
        assert_eq!(
            pair.server.send_video(1, 40, frame.clone()),
            Ok(SendStatus::Queued)
        );
        // What the server writes refers to the payload itself: it was not copied to be
        // queued, nor to be chunked.
        let out = pair.server.poll_transmit().expect("the frame to write");
        let shared = out
            .segments()
            .any(|segment| segment.as_ptr() == frame.as_ptr() && segment.len() == frame.len());
        assert!(shared, "the payload is a segment of its own");
        pair.drive();
        assert_eq!(
            pair.events(),
            (
                vec![ClientEvent::Video {
                    stream: 1,
                    timestamp: 40,
                    payload: frame.clone()
                }],
                vec![]
            )
        );
    }
}

/// Whether `inner` lies within `outer`'s memory.
fn is_slice_of(inner: &Bytes, outer: &Bytes) -> bool {
    let outer_range = outer.as_ptr() as usize..outer.as_ptr() as usize + outer.len();
    let start = inner.as_ptr() as usize;
    outer_range.contains(&start) && start + inner.len() <= outer_range.end
}

#[test]
fn media_of_4_kib_or_more_read_in_one_chunk_is_a_slice_of_what_was_read() {
    // To the player.
    let mut pair = playing("cam");
    let frame = video(true, 4096, 9);
    let _ = pair.server.send_video(1, 40, frame.clone()).unwrap();
    let out = pair.server.poll_transmit().expect("the frame to write");
    let read = out.to_bytes();
    out.clear();
    pair.client
        .handle_input_bytes(pair.now, read.clone())
        .unwrap();
    let Some(ClientEvent::Video { payload, .. }) = pair.client.poll_event() else {
        panic!("video");
    };
    assert_eq!(payload, frame);
    assert!(is_slice_of(&payload, &read));

    // From the publisher: what the server makes of one read of `payload` sent as audio.
    let mut pair = publishing("key");
    let mut read_as_audio = |timestamp: u32, payload: Bytes| {
        let _ = pair.client.send_audio(1, timestamp, payload).unwrap();
        let out = pair.client.poll_transmit().expect("the audio to write");
        let read = out.to_bytes();
        out.clear();
        pair.server
            .handle_input_bytes(pair.now, read.clone())
            .unwrap();
        let Some(ServerEvent::Audio { payload, .. }) = pair.server.poll_event() else {
            panic!("audio");
        };
        (payload, read)
    };
    let (payload, read) = read_as_audio(40, audio(4096, 5));
    assert_eq!(payload, audio(4096, 5));
    assert!(is_slice_of(&payload, &read));
    // Below 4 KiB, copied: the join cache keeps audio for seconds, and a slice would keep the
    // whole read with it.
    let (payload, read) = read_as_audio(60, audio(300, 6));
    assert_eq!(payload, audio(300, 6));
    assert!(!is_slice_of(&payload, &read));
}

// ---- closing ----

#[test]
fn the_client_closes() {
    let mut pair = publishing("key");
    pair.client.close();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(client, [ClientEvent::Closed(SessionError::Closed)]);
    // FCUnpublish and deleteStream went out first, as FFmpeg sends them.
    assert_eq!(
        server,
        [
            ServerEvent::UnpublishRequest {
                stream: 1,
                name: String::from("key")
            },
            ServerEvent::Unpublished { stream: 1 },
            ServerEvent::StreamDeleted { stream: 1 },
            ServerEvent::Closed(SessionError::Closed),
        ]
    );
    assert_closed_for_good(&mut pair);
}

#[test]
fn the_server_closes() {
    let mut pair = playing("cam");
    let _ = pair.server.send_video(1, 0, video(true, 500, 1)).unwrap();
    pair.server.close();
    pair.drive();
    let (client, server) = pair.events();
    // What was queued before the close still reaches the player.
    assert_eq!(
        client,
        [
            ClientEvent::Video {
                stream: 1,
                timestamp: 0,
                payload: video(true, 500, 1)
            },
            ClientEvent::Closed(SessionError::Closed),
        ]
    );
    assert_eq!(server, [ServerEvent::Closed(SessionError::Closed)]);
    assert_closed_for_good(&mut pair);
}

#[test]
fn the_client_closes_while_its_publish_waits_for_the_application() {
    let mut pair = Pair::publisher();
    pair.app.publish = Answer::Wait;
    pair.connect();
    pair.publish("key", PublishType::Live);
    let (_, server) = pair.events();
    let request = request_id(&server);
    pair.client.close();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(client, [ClientEvent::Closed(SessionError::Closed)]);
    assert_eq!(server, [ServerEvent::Closed(SessionError::Closed)]);
    // The request died with the connection.
    assert_eq!(pair.server.accept_publish(request), Err(ApiError::Closed));
    assert_closed_for_good(&mut pair);
}

fn assert_closed_for_good(pair: &mut Pair) {
    assert!(pair.is_shut(Side::Client) && pair.is_shut(Side::Server));
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(pair.server.poll_timeout(), None);
    assert_eq!(
        pair.client.handle_input(pair.now, &[3]),
        Err(SessionError::Closed)
    );
    assert_eq!(
        pair.server.handle_input(pair.now, &[3]),
        Err(SessionError::Closed)
    );
    pair.client.handle_eof(pair.now);
    pair.server.handle_eof(pair.now);
    pair.advance(Duration::from_secs(3600));
    assert_eq!(pair.events(), (vec![], vec![]));
}

// ---- encodings and extensions ----

#[test]
fn amf3_object_encoding_is_answered_and_understood() {
    let mut client = ClientConnectionConfig::player("live", "rtmp://localhost/live");
    client.connect.object_encoding = Some(3.0);
    let mut pair = Pair::with_configs(client, ServerConnectionConfig::default());
    pair.connect();
    let (client, _) = pair.events();
    assert_eq!(client.last(), Some(&connected(3.0)));
    pair.play("cam");
    let _ = pair.events();
    // Messages of the server's own go as type 17 now; the client reads them.
    let _ = pair
        .server
        .send_status(0, StatusLevel::Status, "NetConnection.Custom", "hi")
        .unwrap();
    let call = pair
        .server
        .call("onCustom", vec![Value::from(1.0)])
        .unwrap();
    pair.drive();
    let (client, _) = pair.events();
    assert_eq!(
        client,
        [
            status(0, info("status", "NetConnection.Custom", "hi")),
            ClientEvent::Command {
                stream: 0,
                command: Command::new(
                    "onCustom",
                    f64::from(call.transaction_id()),
                    Value::Null,
                    vec![Value::from(1.0)]
                )
                .with_encoding(crate::message::AmfEncoding::Amf3),
            },
        ]
    );
}

#[test]
fn enhanced_rtmp_capabilities_are_negotiated() {
    let mut client = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
    client.connect.four_cc_list = Some(vec![String::from("hvc1"), String::from("av01")]);
    client.connect.caps_ex = Some(0x0F);
    let mut server = ServerConnectionConfig::default();
    server.options.supported_fourccs = Some(vec![String::from("av01")]);
    let mut pair = Pair::with_configs(client, server);
    pair.connect();
    let (client, server) = pair.events();
    let Some(ClientEvent::Connected { properties, .. }) = client.last() else {
        panic!("{client:?}");
    };
    assert_eq!(
        properties.get("fourCcList"),
        Some(&Value::StrictArray(vec![Value::from("av01")]))
    );
    // Reconnect (1) is not offered by default.
    assert_eq!(properties.get("capsEx"), Some(&Value::from(0x0Eu32)));
    let Some(ServerEvent::ConnectRequest(request)) = server.first() else {
        panic!("{server:?}");
    };
    assert_eq!(request.caps_ex, Some(0x0F));
}

#[test]
fn two_streams_publish_on_one_connection() {
    let mut pair = Pair::publisher();
    pair.connect();
    let first = pair.publish("one", PublishType::Live);
    let second = pair.publish("two", PublishType::Live);
    assert_eq!((first, second), (1, 2));
    let _ = pair.events();
    let a = video(true, 5000, 1);
    let b = video(true, 5000, 2);
    let _ = pair.client.send_video(first, 100, a.clone()).unwrap();
    let _ = pair.client.send_video(second, 7, b.clone()).unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events(),
        [
            ServerEvent::Video {
                stream: 1,
                timestamp: 100,
                payload: a
            },
            ServerEvent::Video {
                stream: 2,
                timestamp: 7,
                payload: b
            },
        ]
    );
    assert_eq!(pair.server.publishing_name(2), Some("two"));
}

#[test]
fn an_echo_plays_back_what_is_published_on_the_same_connection() {
    let mut pair = Pair::publisher();
    pair.app.echo = true;
    pair.connect();
    let publisher = pair.publish("key", PublishType::Live);
    let player = pair.play("key");
    let _ = pair.events();
    let frame = video(true, 5000, 1);
    let _ = pair.client.send_metadata(publisher, metadata()).unwrap();
    let _ = pair
        .client
        .send_video(publisher, 40, frame.clone())
        .unwrap();
    pair.drive();
    let (client, _) = pair.events();
    assert_eq!(
        client,
        [
            ClientEvent::Metadata {
                stream: player,
                metadata: metadata()
            },
            ClientEvent::Video {
                stream: player,
                timestamp: 40,
                payload: frame.clone()
            },
        ]
    );
    let relayed = pair.relayed();
    assert_eq!(relayed.len(), 2);
    assert_eq!(
        relayed[1],
        (player, 40, Message::Video(frame), Ok(SendStatus::Queued))
    );
}

#[test]
fn media_queued_before_close_stream_arrives_before_it() {
    let mut pair = publishing("key");
    let frame = video(true, 5000, 1);
    let _ = pair.client.send_video(1, 40, frame.clone()).unwrap();
    pair.client.close_stream(1).unwrap();
    pair.drive();
    let (_, server) = pair.events();
    assert_eq!(
        server,
        [
            ServerEvent::Video {
                stream: 1,
                timestamp: 40,
                payload: frame
            },
            ServerEvent::Unpublished { stream: 1 },
        ]
    );
}

#[test]
fn media_queued_before_a_polite_close_arrives_before_it() {
    let mut pair = publishing("key");
    let sound = audio(300, 1);
    let _ = pair.client.send_audio(1, 40, sound.clone()).unwrap();
    pair.client.close();
    pair.drive();
    let (_, server) = pair.events();
    assert_eq!(
        server,
        [
            ServerEvent::Audio {
                stream: 1,
                timestamp: 40,
                payload: sound
            },
            ServerEvent::UnpublishRequest {
                stream: 1,
                name: String::from("key")
            },
            ServerEvent::Unpublished { stream: 1 },
            ServerEvent::StreamDeleted { stream: 1 },
            ServerEvent::Closed(SessionError::Closed),
        ]
    );
}

#[test]
fn the_end_of_a_stream_reaches_the_player_after_its_last_frames() {
    let mut pair = playing("cam");
    let frame = video(false, 3000, 1);
    let _ = pair.server.send_video(1, 40, frame.clone()).unwrap();
    let _ = pair
        .server
        .send_status(
            1,
            StatusLevel::Status,
            "NetStream.Play.UnpublishNotify",
            "Gone.",
        )
        .unwrap();
    let _ = pair.server.send_stream_eof(1).unwrap();
    pair.drive();
    let (client, _) = pair.events();
    assert_eq!(
        client,
        [
            ClientEvent::Video {
                stream: 1,
                timestamp: 40,
                payload: frame
            },
            status(1, info("status", "NetStream.Play.UnpublishNotify", "Gone.")),
            ClientEvent::StreamEof { stream: 1 },
        ]
    );
}

// ---- handshakes, pipelining and limits ----

#[test]
fn every_handshake_the_server_accepts_connects() {
    use crate::handshake::{ClientMode, DigestLayout, ServerAccept};
    for (mode, accept) in [
        (ClientMode::Plain, ServerAccept::DigestOrPlain),
        (ClientMode::Plain, ServerAccept::PlainOnly),
        (
            ClientMode::Digest(DigestLayout::One),
            ServerAccept::DigestOrPlain,
        ),
        (
            ClientMode::Digest(DigestLayout::Two),
            ServerAccept::DigestOnly,
        ),
        // A digest offered to a plain-only server falls back to plain.
        (
            ClientMode::Digest(DigestLayout::One),
            ServerAccept::PlainOnly,
        ),
    ] {
        let mut client = ClientConnectionConfig::player("live", "rtmp://localhost/live");
        client.handshake.mode = mode;
        let mut server = ServerConnectionConfig::default();
        server.handshake.accept = accept;
        let mut pair = Pair::with_configs(client, server);
        pair.connect();
        let (client, _) = pair.events();
        assert_eq!(client.last(), Some(&connected(0.0)), "{mode:?} {accept:?}");
    }
}

#[test]
fn the_client_closes_during_the_handshake() {
    let mut pair = Pair::new();
    pair.client.close();
    pair.drive();
    assert_eq!(
        pair.events(),
        (
            vec![ClientEvent::Closed(SessionError::Closed)],
            vec![ServerEvent::Closed(SessionError::Closed)]
        )
    );
}

#[test]
fn commands_sent_behind_connect_wait_for_its_answer() {
    for accept in [true, false] {
        let mut pair = Pair::publisher();
        if !accept {
            pair.app.connect = Answer::Reject {
                code: "",
                description: "No.",
            };
        }
        // Everything at once, as FFmpeg pipelines it: connect, releaseStream, FCPublish,
        // createStream, then publish once the stream exists.
        pair.client.connect().unwrap();
        let request = pair
            .client
            .create_stream_to_publish("key", PublishType::Live)
            .unwrap();
        pair.drive();
        let (client, server) = pair.events();
        if accept {
            assert_eq!(
                client[2..],
                [
                    publisher_connected(0.0),
                    fc_notification("onFCPublish", "NetStream.Publish.Start", "key"),
                    ClientEvent::StreamCreated {
                        request,
                        stream_id: 1
                    },
                    ClientEvent::StreamBegin { stream: 1 },
                    publish_start(1, "key"),
                    ClientEvent::PublishStarted { stream: 1 },
                ]
            );
            assert!(matches!(
                &server[..],
                [
                    ServerEvent::ConnectRequest(_),
                    ServerEvent::PublishRequest(_)
                ]
            ));
        } else {
            // The held commands died with the connection.
            assert!(matches!(
                &client[..],
                [
                    ClientEvent::HandshakeComplete,
                    ClientEvent::ConnectRejected { .. },
                    ClientEvent::Closed(SessionError::Closed)
                ]
            ));
            assert!(matches!(
                &server[..],
                [
                    ServerEvent::ConnectRequest(_),
                    ServerEvent::Closed(SessionError::Closed)
                ]
            ));
        }
    }
}

#[test]
fn a_message_beyond_the_receivers_limit_ends_the_connection() {
    let mut server = ServerConnectionConfig::default();
    server.session.limits.max_message_size = 100_000;
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::publisher("live", "rtmp://localhost/live"),
        server,
    );
    pair.connect();
    pair.publish("key", PublishType::Live);
    let _ = pair.events();
    let _ = pair
        .client
        .send_video(1, 0, video(true, 100_000, 1))
        .unwrap();
    pair.drive();
    assert_eq!(pair.server_events().len(), 1);
    let _ = pair
        .client
        .send_video(1, 40, video(true, 100_001, 1))
        .unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(
        server,
        [ServerEvent::Closed(SessionError::Chunk(
            crate::chunk::ChunkError::MessageTooLarge {
                len: 100_001,
                max: 100_000
            }
        ))]
    );
    assert_eq!(client, [ClientEvent::Closed(SessionError::Closed)]);
}

#[test]
fn a_chunk_size_of_one_works() {
    let mut client = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
    client.session.chunk_size = 1;
    let mut server = ServerConnectionConfig::default();
    server.session.chunk_size = 1;
    let mut pair = Pair::with_configs(client, server);
    pair.connect();
    let publisher = pair.publish("key", PublishType::Live);
    let player = pair.play("key");
    let _ = pair.events();
    let frame = video(true, 3000, 3);
    let _ = pair.client.send_video(publisher, 5, frame.clone()).unwrap();
    let _ = pair.server.send_video(player, 6, frame.clone()).unwrap();
    pair.drive();
    assert_eq!(
        pair.events(),
        (
            vec![ClientEvent::Video {
                stream: player,
                timestamp: 6,
                payload: frame.clone()
            }],
            vec![ServerEvent::Video {
                stream: publisher,
                timestamp: 5,
                payload: frame
            }]
        )
    );
}

#[test]
fn an_unanswered_ping_times_out_in_virtual_time() {
    let mut client = ClientConnectionConfig::publisher("live", "rtmp://localhost/live");
    client.session.ping_interval = Some(Duration::from_secs(5));
    client.session.ping_timeout = Duration::from_secs(2);
    let mut server = ServerConnectionConfig::default();
    server.options.stream_timeout = None;
    let mut pair = Pair::with_configs(client, server);
    pair.connect();
    let _ = pair.events();
    let start = pair.now;
    // The client pings a server that answers...
    pair.advance(Duration::from_secs(5));
    assert_eq!(
        pair.client_events(),
        [ClientEvent::PingResponse {
            round_trip: Duration::ZERO
        }]
    );
    // ...then one that has gone silent.
    pair.set_blackhole(Side::Server, true);
    pair.advance(Duration::from_millis(6_999));
    assert_eq!(pair.events(), (vec![], vec![]));
    pair.advance(Duration::from_millis(1));
    assert_eq!(pair.now, start + Duration::from_secs(12));
    assert_eq!(
        pair.events(),
        (
            vec![ClientEvent::Closed(SessionError::PingTimeout)],
            vec![ServerEvent::Closed(SessionError::Closed)]
        )
    );
}

#[test]
#[should_panic(expected = "the pair is still busy after 3 steps")]
fn a_pair_that_never_settles_is_reported() {
    let mut pair = Pair::new();
    pair.step_limit = 3;
    pair.connect();
}

#[test]
fn a_full_queue_refuses_more_and_loses_nothing_it_took() {
    let mut server = ServerConnectionConfig::default();
    server.session.outbound_high_water = 20_000;
    server.session.outbound_low_water = 5_000;
    server.session.outbound_max = 50_000;
    server.session.drop_video_when_congested = false;
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        server,
    );
    pair.connect();
    pair.play("cam");
    let _ = pair.events();
    // The player stops reading.
    pair.set_write_limit(Side::Server, Some(0));
    let mut taken = Vec::new();
    let mut refused = 0;
    for i in 0..10u32 {
        let frame = video(false, 9_000, i as u8);
        match pair.server.send_video(1, i, frame.clone()) {
            Ok(_) => taken.push(ClientEvent::Video {
                stream: 1,
                timestamp: i,
                payload: frame,
            }),
            Err(error) => {
                assert_eq!(error, ApiError::QueueFull);
                refused += 1;
            }
        }
        let _ = pair.step();
    }
    assert_eq!((taken.len(), refused), (5, 5));
    assert!(pair.server.pending_bytes() <= 50_000);
    pair.set_write_limit(Side::Server, None);
    pair.drive();
    let (client, server) = pair.events();
    assert_eq!(client, taken);
    assert_eq!(server, [ServerEvent::Writable]);
}

#[test]
fn a_server_whose_player_stops_reading_gives_up_when_it_cannot_answer() {
    let mut server = ServerConnectionConfig::default();
    server.session.outbound_max = 20_000;
    server.session.drop_video_when_congested = false;
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        server,
    );
    pair.connect();
    pair.play("cam");
    let _ = pair.events();
    pair.set_write_limit(Side::Server, Some(0));
    while pair.server.send_video(1, 0, video(true, 5_000, 1)).is_ok() {}
    while pair.server.send_video(1, 0, video(true, 1, 1)).is_ok() {}
    // The answer to this call does not fit: the client is not reading, and is dropped.
    let _ = pair
        .client
        .call("getStreamLength", Value::Null, vec![])
        .unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events(),
        [ServerEvent::Closed(SessionError::OutboundQueueFull)]
    );
}

#[test]
fn on_bw_done_when_the_server_sends_it() {
    let mut server = ServerConnectionConfig::default();
    server.options.send_bw_done = true;
    let mut pair = Pair::with_configs(
        ClientConnectionConfig::player("live", "rtmp://localhost/live"),
        server,
    );
    pair.connect();
    let (client, _) = pair.events();
    assert_eq!(
        client[2..],
        [
            connected(0.0),
            ClientEvent::Command {
                stream: 0,
                command: Command::new("onBWDone", 0.0, Value::Null, vec![]),
            },
        ]
    );
}

#[test]
fn a_call_on_a_stream_is_answered_on_it() {
    let mut pair = playing("cam");
    let call = pair
        .client
        .call_on_stream(1, "custom", Value::Null, vec![])
        .unwrap();
    pair.drive();
    let (client, server) = pair.events();
    assert!(matches!(
        &client[..],
        [ClientEvent::CallError { transaction, .. }] if *transaction == call
    ));
    assert!(matches!(
        &server[..],
        [ServerEvent::Call(CallRequest {
            stream: 1,
            id: None,
            ..
        })]
    ));
    let answered_on: Vec<u32> = pair
        .wire(Side::Server)
        .into_iter()
        .filter(|(_, _, message)| {
            matches!(message, Message::Command(command) if command.name == "_error")
        })
        .map(|(stream, ..)| stream)
        .collect();
    assert_eq!(answered_on, [1]);
}

#[test]
fn an_aggregate_from_the_publisher_arrives_as_its_parts() {
    use crate::message::AggregateBuilder;
    use crate::type_id;
    let mut pair = publishing("key");
    let frame = video(true, 2000, 1);
    let sound = audio(200, 2);
    let next = video(false, 300, 3);
    let mut builder = AggregateBuilder::new(1);
    builder.push(u32::MAX - 5, type_id::VIDEO, &frame).unwrap();
    builder.push(u32::MAX, type_id::AUDIO, &sound).unwrap();
    builder.push(34, type_id::VIDEO, &next).unwrap();
    let aggregate = builder.finish();
    let _ = pair
        .client
        .send_message(
            1,
            aggregate.timestamp,
            &Message::Aggregate(aggregate.payload),
        )
        .unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events(),
        [
            ServerEvent::Video {
                stream: 1,
                timestamp: u32::MAX - 5,
                payload: frame
            },
            ServerEvent::Audio {
                stream: 1,
                timestamp: u32::MAX,
                payload: sound
            },
            ServerEvent::Video {
                stream: 1,
                timestamp: 34,
                payload: next
            },
        ]
    );
}
