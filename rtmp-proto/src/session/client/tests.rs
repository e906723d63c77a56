//! The client connection against a scripted server (a server-side `Core` answering with raw
//! commands), and against nginx-rtmp's recorded answers.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::testing::*;
use super::*;
use crate::amf::Value;
use crate::amf_object;
use crate::flv::FlvReader;
use crate::handshake::{ClientConfig, ClientMode};
use crate::message::{AggregateBuilder, LimitType, MessageError, SharedObject};
use crate::session::SessionConfig;

fn string(text: &str) -> Value {
    Value::from(text)
}

fn command(name: &str, transaction: f64, arguments: Vec<Value>) -> Command {
    Command::new(name, transaction, Value::Null, arguments)
}

fn player() -> ClientConnectionConfig {
    ClientConnectionConfig::player("live", "rtmp://127.0.0.1/live")
}

fn publisher() -> ClientConnectionConfig {
    ClientConnectionConfig::publisher("live", "rtmp://127.0.0.1/live")
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|object| object.iter().map(|(key, _)| key).collect())
        .unwrap_or_default()
}

// ---- connect ----

#[test]
fn connect_before_the_handshake_sends_set_chunk_size_then_connect() {
    let mut pair = Pair::new(player());
    assert_eq!(pair.client.status(), ConnectionStatus::Handshaking);
    pair.client.connect().unwrap();
    assert_eq!(pair.client.status(), ConnectionStatus::Handshaking);
    let sent = pair.sent();
    assert_eq!(pair.client.status(), ConnectionStatus::Connecting);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0], (0, 0, Message::SetChunkSize { chunk_size: 4096 }));
    let (0, 0, Message::Command(connect)) = &sent[1] else {
        panic!("not a command on stream 0: {:?}", sent[1]);
    };
    assert_eq!(connect.name, "connect");
    assert_eq!(connect.transaction_id, 1.0);
    assert!(connect.arguments.is_empty());
    assert_eq!(
        connect.command_object,
        amf_object! {
            "app" => "live",
            "flashVer" => "LNX 9,0,124,2",
            "tcUrl" => "rtmp://127.0.0.1/live",
            "fpad" => false,
            "capabilities" => 15,
            "audioCodecs" => 4071,
            "videoCodecs" => 252,
            "videoFunction" => 1,
            "objectEncoding" => 0,
            "capsEx" => 2,
        }
    );
    assert_eq!(pair.events(), [ClientEvent::HandshakeComplete]);
    assert_eq!(
        pair.client.connect(),
        Err(ApiError::InvalidState("connect was already sent"))
    );

    pair.server_sends(0, 0, connect_result());
    assert_eq!(
        pair.events(),
        [ClientEvent::Connected {
            properties: amf_object! { "fmsVer" => "FMS/3,0,1,123", "capabilities" => 31 },
            information: connect_result().arguments[0].clone(),
        }]
    );
    assert_eq!(pair.client.status(), ConnectionStatus::Connected);
    assert_eq!(pair.client.pending_requests(), 0);
}

#[test]
fn connect_after_the_handshake_and_the_publisher_fields() {
    let mut pair = Pair::new(publisher());
    assert_eq!(pair.events(), [ClientEvent::HandshakeComplete]);
    assert_eq!(pair.client.status(), ConnectionStatus::HandshakeComplete);
    assert_eq!(pair.sent(), []);
    pair.client.connect().unwrap();
    let commands = pair.commands();
    let [(0, connect)] = &commands[..] else {
        panic!("{commands:?}");
    };
    // FFmpeg's publishing connect: app, type, flashVer, tcUrl.
    assert_eq!(
        keys(&connect.command_object),
        ["app", "type", "flashVer", "tcUrl"]
    );
    assert_eq!(
        connect.command_object.get("flashVer"),
        Some(&string("FMLE/3.0 (compatible; rtmp-proto)"))
    );
    assert_eq!(
        connect.command_object.get("type"),
        Some(&string("nonprivate"))
    );
}

#[test]
fn connect_with_every_parameter_in_order() {
    let mut params = ConnectParams::player("app", "rtmp://h/app");
    params.swf_url = Some("http://h/player.swf".into());
    params.page_url = Some("http://h/".into());
    params.four_cc_list = Some(vec!["av01".into(), "hvc1".into()]);
    params.video_four_cc_info_map = Some(crate::amf::Object::new().with("hvc1", 3));
    params.audio_four_cc_info_map = Some(crate::amf::Object::new().with("Opus", 1));
    params.caps_ex = Some(1);
    params.extra_properties = vec![("custom".into(), Value::Boolean(true))];
    params.extra_arguments = vec![string("user"), string("secret")];
    let mut pair = Pair::new(ClientConnectionConfig::new(params));
    pair.client.connect().unwrap();
    let commands = pair.commands();
    let connect = &commands[0].1;
    assert_eq!(
        keys(&connect.command_object),
        [
            "app",
            "flashVer",
            "swfUrl",
            "tcUrl",
            "fpad",
            "capabilities",
            "audioCodecs",
            "videoCodecs",
            "videoFunction",
            "pageUrl",
            "objectEncoding",
            "fourCcList",
            "videoFourCcInfoMap",
            "audioFourCcInfoMap",
            "capsEx",
            "custom",
        ]
    );
    assert_eq!(
        connect.command_object.get("fourCcList"),
        Some(&Value::StrictArray(vec![string("av01"), string("hvc1")]))
    );
    assert_eq!(connect.arguments, [string("user"), string("secret")]);
    assert_eq!(pair.client.tc_url(), "rtmp://h/app");
}

#[test]
fn connect_result_without_objects_is_accepted() {
    let mut pair = Pair::new(player());
    pair.client.connect().unwrap();
    pair.drive();
    pair.server_sends(0, 0, Command::new("_result", 1.0, Value::Null, Vec::new()));
    assert_eq!(
        pair.events(),
        [
            ClientEvent::HandshakeComplete,
            ClientEvent::Connected {
                properties: Value::Null,
                information: Value::Null
            }
        ]
    );
}

#[test]
fn connect_rejected_exposes_the_servers_description() {
    let mut pair = Pair::new(publisher());
    pair.client.connect().unwrap();
    let _ = pair.sent();
    let info = amf_object! {
        "level" => "error",
        "code" => "NetConnection.Connect.Rejected",
        "description" => "[ AccessManager.Reject ] : [ code=400 ] : ",
        "ex" => amf_object! { "code" => 302, "redirect" => "rtmp://elsewhere/live" },
    };
    pair.server_sends(0, 0, Command::error(1.0, Value::Null, vec![info.clone()]));
    assert_eq!(
        pair.events(),
        [
            ClientEvent::HandshakeComplete,
            ClientEvent::ConnectRejected {
                code: "NetConnection.Connect.Rejected".into(),
                description: "[ AccessManager.Reject ] : [ code=400 ] : ".into(),
                information: info,
            }
        ]
    );
    assert_eq!(pair.client.status(), ConnectionStatus::Rejected);
    assert_eq!(
        pair.client.create_stream(),
        Err(ApiError::InvalidState("the server refused connect"))
    );
    assert_eq!(pair.commands(), []);
}

#[test]
fn connect_rejected_by_on_status_is_reported_once() {
    let mut pair = Pair::new(player());
    pair.client.connect().unwrap();
    pair.drive();
    let _ = pair.events();
    let status = on_status("error", "NetConnection.Connect.Rejected", "No such app");
    pair.server_sends(0, 0, status.clone());
    pair.server_sends(
        0,
        0,
        Command::error(1.0, Value::Null, status.arguments.clone()),
    );
    assert_eq!(
        pair.events(),
        [ClientEvent::ConnectRejected {
            code: "NetConnection.Connect.Rejected".into(),
            description: "No such app".into(),
            information: status.arguments[0].clone(),
        }]
    );
    // A _result whose level is error is a refusal too, and an _error whose information is in
    // the command object is read from there.
    for answer in [
        Command::result(1.0, Value::Null, status.arguments.clone()),
        Command::error(1.0, status.arguments[0].clone(), Vec::new()),
    ] {
        let mut pair = Pair::new(player());
        pair.client.connect().unwrap();
        pair.drive();
        pair.server_sends(0, 0, answer);
        assert!(
            matches!(&pair.events()[..], [_, ClientEvent::ConnectRejected { description, .. }] if description == "No such app")
        );
    }
}

#[test]
fn commands_need_connect_first() {
    let mut pair = Pair::new(player());
    let refused = Err(ApiError::InvalidState("connect first"));
    assert_eq!(pair.client.create_stream(), refused.clone());
    assert_eq!(pair.client.call("x", Value::Null, Vec::new()), refused);
    assert_eq!(
        pair.client.publish(1, "a", PublishType::Live),
        Err(ApiError::InvalidState("connect first"))
    );
    assert_eq!(pair.sent(), []);
}

// ---- publishing ----

#[test]
fn publish_like_ffmpeg_on_the_stream_the_server_chose() {
    let mut pair = Pair::connected(publisher());
    let request = pair
        .client
        .create_stream_to_publish("key", PublishType::Live)
        .unwrap();
    assert_eq!(request.get(), 4);
    assert_eq!(
        pair.commands(),
        [
            (0, command("releaseStream", 2.0, vec![string("key")])),
            (0, command("FCPublish", 3.0, vec![string("key")])),
            (0, command("createStream", 4.0, Vec::new())),
        ]
    );
    // The server never answers releaseStream or FCPublish (nginx-rtmp): nothing waits for them.
    pair.server_sends(0, 0, Command::result(4.0, Value::Null, vec![7.into()]));
    assert_eq!(
        pair.events(),
        [ClientEvent::StreamCreated {
            request,
            stream_id: 7
        }]
    );
    assert_eq!(
        pair.commands(),
        [(
            7,
            command("publish", 5.0, vec![string("key"), string("live")])
        )]
    );
    assert_eq!(
        pair.client.stream_status(7),
        Some(StreamStatus::PublishRequested)
    );
    // A late answer to FCPublish is ignored.
    pair.server_sends(0, 0, Command::result(3.0, Value::Null, Vec::new()));
    pair.server_sends(
        7,
        0,
        on_status("status", "NetStream.Publish.Start", "Start publishing"),
    );
    let events = pair.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(&events[0], ClientEvent::Status { stream: 7, status } if status.code == "NetStream.Publish.Start" && status.description == "Start publishing" && status.level == "status")
    );
    assert_eq!(events[1], ClientEvent::PublishStarted { stream: 7 });
    assert_eq!(pair.client.stream_status(7), Some(StreamStatus::Publishing));

    let metadata = amf_object! { "width" => 1280, "height" => 720 };
    let _ = pair.client.send_metadata(7, metadata.clone()).unwrap();
    let sequence_header = Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 2, 3]);
    let aac_header = Bytes::from_static(&[0xAF, 0, 0x12, 0x10]);
    assert_eq!(
        pair.client.send_video(7, 0, sequence_header.clone()),
        Ok(SendStatus::Queued)
    );
    assert_eq!(
        pair.client.send_audio(7, 0, aac_header.clone()),
        Ok(SendStatus::Queued)
    );
    let frame = Bytes::from_static(&[0x27, 1, 0, 0, 0, 9]);
    let _ = pair.client.send_video_delta(7, 40, frame.clone()).unwrap();
    let _ = pair.client.send_video_delta(7, 40, frame.clone()).unwrap();
    let _ = pair
        .client
        .send_audio_delta(7, 23, aac_header.clone())
        .unwrap();
    let sent = pair.sent();
    assert_eq!(
        sent,
        [
            (7, 0, Message::Data(Data::set_data_frame(metadata))),
            (7, 0, Message::Video(sequence_header)),
            (7, 0, Message::Audio(aac_header.clone())),
            (7, 40, Message::Video(frame.clone())),
            (7, 80, Message::Video(frame)),
            (7, 23, Message::Audio(aac_header)),
        ]
    );
}

#[test]
fn publish_on_a_created_stream_with_and_without_fc_publish() {
    let mut pair = Pair::connected(publisher());
    let stream = pair.created_stream(1);
    pair.client
        .publish(stream, "cam", PublishType::Record)
        .unwrap();
    assert_eq!(
        pair.commands(),
        [
            (0, command("releaseStream", 3.0, vec![string("cam")])),
            (0, command("FCPublish", 4.0, vec![string("cam")])),
            (
                1,
                command("publish", 5.0, vec![string("cam"), string("record")])
            ),
        ]
    );
    assert_eq!(
        pair.client.publish(stream, "cam", PublishType::Live),
        Err(ApiError::UnknownStream(1)),
        "already publishing"
    );

    let mut config = publisher();
    config.send_fc_publish = false;
    let mut pair = Pair::connected(config);
    let stream = pair.created_stream(3);
    pair.client
        .publish(stream, "cam", PublishType::Append)
        .unwrap();
    assert_eq!(
        pair.commands(),
        [(
            3,
            command("publish", 3.0, vec![string("cam"), string("append")])
        )]
    );
    let request = pair
        .client
        .create_stream_to_publish("other", PublishType::Live)
        .unwrap();
    assert_eq!(
        pair.commands(),
        [(0, command("createStream", request.get() as f64, Vec::new()))]
    );
}

#[test]
fn publish_refused_returns_the_stream_to_idle() {
    let mut pair = Pair::connected(publisher());
    let stream = pair.created_stream(1);
    pair.client
        .publish(stream, "taken", PublishType::Live)
        .unwrap();
    pair.server_sends(
        1,
        0,
        on_status("error", "NetStream.Publish.BadName", "Already publishing"),
    );
    let events = pair.events();
    assert!(
        matches!(&events[..], [
            ClientEvent::Status { stream: 1, status },
            ClientEvent::StartRefused { stream: 1, status: refusal },
        ] if status.is_error() && status.code == "NetStream.Publish.BadName" && refusal == status),
        "{events:?}"
    );
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
    assert_eq!(
        pair.client.send_audio(1, 0, Bytes::new()),
        Err(ApiError::UnknownStream(1))
    );
    pair.client
        .publish(stream, "free", PublishType::Live)
        .unwrap();
    pair.server_sends(1, 0, on_status("status", "NetStream.Publish.Start", ""));
    pair.server_sends(1, 0, on_status("status", "NetStream.Unpublish.Success", ""));
    let _ = pair.events();
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
}

#[test]
fn fc_unpublish_close_and_delete_stream() {
    let mut pair = Pair::connected(publisher());
    let stream = pair.created_stream(1);
    assert_eq!(
        pair.client.fc_unpublish(stream),
        Err(ApiError::UnknownStream(1)),
        "nothing published"
    );
    pair.client
        .publish(stream, "cap", PublishType::Live)
        .unwrap();
    let _ = pair.commands();
    pair.client.fc_unpublish(stream).unwrap();
    pair.client.close_stream(stream).unwrap();
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
    pair.client.delete_stream(stream).unwrap();
    assert_eq!(pair.client.stream_status(1), None);
    assert_eq!(
        pair.commands(),
        [
            (0, command("FCUnpublish", 6.0, vec![string("cap")])),
            (1, command("closeStream", 0.0, Vec::new())),
            (0, command("deleteStream", 7.0, vec![1.into()])),
        ]
    );
    assert_eq!(
        pair.client.delete_stream(stream),
        Err(ApiError::UnknownStream(1))
    );
    assert_eq!(
        pair.client.close_stream(stream),
        Err(ApiError::UnknownStream(1))
    );
}

#[test]
fn close_says_goodbye_like_ffmpeg() {
    let mut pair = Pair::connected(publisher());
    let stream = pair.created_stream(1);
    pair.client
        .publish(stream, "cap", PublishType::Live)
        .unwrap();
    let _ = pair.commands();
    pair.client.close();
    assert_eq!(
        pair.commands(),
        [
            (0, command("FCUnpublish", 6.0, vec![string("cap")])),
            (0, command("deleteStream", 7.0, vec![1.into()])),
        ]
    );
    assert_eq!(pair.events(), [ClientEvent::Closed(SessionError::Closed)]);
    assert_eq!(pair.client.status(), ConnectionStatus::Closed);
    assert_eq!(pair.client.poll_event(), None);
    assert_eq!(pair.client.create_stream(), Err(ApiError::Closed));
    assert_eq!(
        pair.client.send_audio(1, 0, Bytes::new()),
        Err(ApiError::Closed)
    );
    assert_eq!(
        pair.client.handle_input(pair.now, &[2]),
        Err(SessionError::Closed)
    );
    pair.client.close();
    assert_eq!(pair.client.poll_event(), None);
}

// ---- playing ----

#[test]
fn play_like_ffmpeg() {
    let mut pair = Pair::connected(player());
    let request = pair
        .client
        .create_stream_to_play("cap", PlayOptions::default())
        .unwrap();
    assert_eq!(
        pair.commands(),
        [(0, command("createStream", 2.0, Vec::new()))]
    );
    pair.server_sends(0, 0, Command::result(2.0, Value::Null, vec![5.into()]));
    assert_eq!(
        pair.events(),
        [ClientEvent::StreamCreated {
            request,
            stream_id: 5
        }]
    );
    // FFmpeg's order: play, then Set Buffer Length.
    assert_eq!(
        pair.sent(),
        [
            (
                5,
                0,
                Message::Command(command(
                    "play",
                    3.0,
                    vec![string("cap"), Value::Number(-2.0)]
                ))
            ),
            (
                0,
                0,
                Message::UserControl(UserControl::SetBufferLength {
                    stream_id: 5,
                    buffer_length: 3000
                })
            ),
        ]
    );
    assert_eq!(
        pair.client.stream_status(5),
        Some(StreamStatus::PlayRequested)
    );
    pair.server_sends(0, 0, UserControl::StreamBegin { stream_id: 5 });
    pair.server_sends(
        5,
        0,
        on_status(
            "status",
            "NetStream.Play.Reset",
            "Playing and resetting cap",
        ),
    );
    pair.server_sends(
        5,
        0,
        on_status("status", "NetStream.Play.Start", "Started playing cap"),
    );
    let events = pair.events();
    assert_eq!(events[0], ClientEvent::StreamBegin { stream: 5 });
    assert!(
        matches!(&events[1], ClientEvent::Status { stream: 5, status } if status.code == "NetStream.Play.Reset")
    );
    assert!(
        matches!(&events[2], ClientEvent::Status { stream: 5, status } if status.code == "NetStream.Play.Start")
    );
    assert_eq!(events[3], ClientEvent::PlayStarted { stream: 5 });
    assert_eq!(events.len(), 4);
    assert_eq!(pair.client.stream_status(5), Some(StreamStatus::Playing));
}

#[test]
fn play_options_pause_seek_receive_and_buffer_length() {
    let mut pair = Pair::connected(player());
    let stream = pair.created_stream(1);
    assert_eq!(
        pair.client.pause(stream, true, 0.0),
        Err(ApiError::UnknownStream(1)),
        "not playing"
    );
    let options = PlayOptions {
        start: PlayStart::Recorded(5000),
        duration: None,
        reset: Some(true),
        buffer_length: None,
    };
    pair.client.play(stream, "vod", options).unwrap();
    pair.client.pause(stream, true, 7000.0).unwrap();
    pair.client.seek(stream, 1000.0).unwrap();
    pair.client.receive_audio(stream, false).unwrap();
    pair.client.receive_video(stream, true).unwrap();
    let _ = pair.client.set_buffer_length(stream, 500).unwrap();
    let _ = pair.client.set_buffer_length(0, 300).unwrap();
    pair.client
        .play2(
            stream,
            crate::amf::Object::new()
                .with("streamName", "vod2")
                .with("transition", "switch"),
        )
        .unwrap();
    let sent = pair.sent();
    let expected: Vec<Sent> = vec![
        (
            1,
            0,
            command(
                "play",
                3.0,
                vec![
                    string("vod"),
                    5000.into(),
                    Value::Number(-1.0),
                    Value::Boolean(true),
                ],
            )
            .into(),
        ),
        (
            1,
            0,
            command(
                "pause",
                0.0,
                vec![Value::Boolean(true), Value::Number(7000.0)],
            )
            .into(),
        ),
        (
            1,
            0,
            command("seek", 0.0, vec![Value::Number(1000.0)]).into(),
        ),
        (
            1,
            0,
            command("receiveAudio", 0.0, vec![Value::Boolean(false)]).into(),
        ),
        (
            1,
            0,
            command("receiveVideo", 0.0, vec![Value::Boolean(true)]).into(),
        ),
        (
            0,
            0,
            UserControl::SetBufferLength {
                stream_id: 1,
                buffer_length: 500,
            }
            .into(),
        ),
        (
            0,
            0,
            UserControl::SetBufferLength {
                stream_id: 0,
                buffer_length: 300,
            }
            .into(),
        ),
        (
            1,
            0,
            command(
                "play2",
                0.0,
                vec![amf_object! { "streamName" => "vod2", "transition" => "switch" }],
            )
            .into(),
        ),
    ];
    assert_eq!(sent, expected);

    let live = PlayOptions {
        start: PlayStart::Live,
        duration: Some(0.0),
        ..PlayOptions::default()
    };
    pair.client.play(stream, "live", live).unwrap();
    let commands = pair.commands();
    assert_eq!(
        commands[0].1.arguments,
        [string("live"), Value::Number(-1.0), Value::Number(0.0)]
    );

    pair.server_sends(1, 0, on_status("status", "NetStream.Play.Start", ""));
    pair.server_sends(1, 0, on_status("status", "NetStream.Pause.Notify", ""));
    let _ = pair.events();
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Paused));
    pair.server_sends(1, 0, on_status("status", "NetStream.Unpause.Notify", ""));
    let _ = pair.events();
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Playing));
    pair.server_sends(1, 0, on_status("status", "NetStream.Play.Stop", ""));
    let _ = pair.events();
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
    pair.client
        .play(stream, "gone", PlayOptions::default())
        .unwrap();
    pair.server_sends(
        1,
        0,
        on_status("error", "NetStream.Play.StreamNotFound", "No such stream"),
    );
    let _ = pair.events();
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
}

/// An edge that waits for its origin says Play.Reset, then StreamNotFound when the origin
/// fails: in one read, the refusal is still told from the status before it.
#[test]
fn a_refusal_read_with_an_earlier_status_is_told_apart_from_it() {
    let mut pair = Pair::connected(player());
    let stream = pair.created_stream(1);
    pair.client
        .play(stream, "cam", PlayOptions::default())
        .unwrap();
    pair.server_sends(
        1,
        0,
        on_status("status", "NetStream.Play.Reset", "Resetting"),
    );
    pair.server_sends(
        1,
        0,
        on_status("error", "NetStream.Play.StreamNotFound", "No such stream"),
    );
    let events = pair.events();
    let codes: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|event| match event {
            ClientEvent::Status { status, .. } => Some(("status", status.code.as_str())),
            ClientEvent::StartRefused { stream: 1, status } => {
                Some(("refused", status.code.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("status", "NetStream.Play.Reset"),
            ("status", "NetStream.Play.StreamNotFound"),
            ("refused", "NetStream.Play.StreamNotFound"),
        ]
    );
    // A stop after playing is no refusal.
    pair.client
        .play(stream, "cam", PlayOptions::default())
        .unwrap();
    pair.server_sends(1, 0, on_status("status", "NetStream.Play.Start", ""));
    pair.server_sends(1, 0, on_status("status", "NetStream.Play.Stop", ""));
    let events = pair.events();
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, ClientEvent::StartRefused { .. })),
        "{events:?}"
    );
    assert_eq!(pair.client.stream_status(1), Some(StreamStatus::Created));
}

#[test]
fn media_metadata_and_stream_events_while_playing() {
    let mut pair = Pair::connected(player());
    let stream = pair.created_stream(1);
    pair.client
        .play(stream, "cap", PlayOptions::default())
        .unwrap();
    let audio = Bytes::from_static(&[0xAF, 1, 0x21]);
    let video = Bytes::from_static(&[0x17, 1, 0, 0, 0, 0x65]);
    let metadata = amf_object! { "width" => 64 };
    pair.server_sends(1, 0, Data::on_metadata(metadata.clone()));
    pair.server_sends(
        1,
        0,
        Data::new(vec![string("|RtmpSampleAccess"), Value::Boolean(true)]),
    );
    pair.server_sends(
        1,
        0,
        Data::new(vec![
            string("onPlayStatus"),
            amf_object! { "level" => "status", "code" => "NetStream.Play.Complete" },
        ]),
    );
    pair.server_sends(1, 40, Message::Audio(audio.clone()));
    pair.server_sends(1, 80, Message::Video(video.clone()));
    for event in [
        UserControl::StreamDry { stream_id: 1 },
        UserControl::StreamIsRecorded { stream_id: 1 },
        UserControl::StreamEof { stream_id: 1 },
        UserControl::BufferEmpty { stream_id: 1 },
    ] {
        pair.server_sends(0, 0, event);
    }
    let shared_object = SharedObject {
        name: "so".into(),
        version: 0,
        flags: 0,
        reserved: 0,
        events: Vec::new(),
        encoding: crate::message::AmfEncoding::Amf0,
    };
    pair.server_sends(0, 0, shared_object.clone());
    let events = pair.events();
    assert_eq!(
        events[..2],
        [
            ClientEvent::Metadata {
                stream: 1,
                metadata
            },
            ClientEvent::Data {
                stream: 1,
                timestamp: 0,
                data: Data::new(vec![string("|RtmpSampleAccess"), Value::Boolean(true)])
            },
        ]
    );
    assert!(
        matches!(&events[2], ClientEvent::Status { stream: 1, status } if status.code == "NetStream.Play.Complete")
    );
    assert_eq!(
        events[3..],
        [
            ClientEvent::Audio {
                stream: 1,
                timestamp: 40,
                payload: audio
            },
            ClientEvent::Video {
                stream: 1,
                timestamp: 80,
                payload: video
            },
            ClientEvent::StreamDry { stream: 1 },
            ClientEvent::StreamIsRecorded { stream: 1 },
            ClientEvent::StreamEof { stream: 1 },
            ClientEvent::UserControl(UserControl::BufferEmpty { stream_id: 1 }),
            ClientEvent::Other {
                stream: 0,
                timestamp: 0,
                message: Message::SharedObject(shared_object)
            },
        ]
    );
}

#[test]
fn aggregates_are_split_into_media_and_data() {
    let mut pair = Pair::connected(player());
    let stream = pair.created_stream(1);
    pair.client
        .play(stream, "cap", PlayOptions::default())
        .unwrap();
    let mut builder = AggregateBuilder::new(1);
    builder.push(1000, 9, &[0x17, 1, 0, 0, 0, 1]).unwrap();
    builder.push(1020, 8, &[0xAF, 1, 2]).unwrap();
    let data = Message::Data(Data::new(vec![string("onCuePoint")]))
        .encode_payload()
        .unwrap();
    builder.push(1030, 18, &data).unwrap();
    builder.push(1040, 20, &[]).unwrap();
    let aggregate = builder.finish();
    pair.server_sends(1, 500, Message::Aggregate(aggregate.payload));
    assert_eq!(
        pair.events(),
        [
            ClientEvent::Video {
                stream: 1,
                timestamp: 500,
                payload: Bytes::from_static(&[0x17, 1, 0, 0, 0, 1])
            },
            ClientEvent::Audio {
                stream: 1,
                timestamp: 520,
                payload: Bytes::from_static(&[0xAF, 1, 2])
            },
            ClientEvent::Data {
                stream: 1,
                timestamp: 530,
                data: Data::new(vec![string("onCuePoint")])
            },
        ]
    );
}

#[test]
fn a_malformed_aggregate_ends_the_connection_after_what_came_before() {
    let mut pair = Pair::connected(player());
    let mut builder = AggregateBuilder::new(1);
    builder.push(0, 8, &[0xAF, 1]).unwrap();
    let mut payload = BytesMut::from(&builder.finish().payload[..]);
    payload.extend_from_slice(&[8, 0, 0, 50, 0, 0, 0, 0, 0, 0, 0, 1]); // claims 50 bytes
    pair.server_sends(1, 0, Message::Aggregate(payload.freeze()));
    pair.server_sends(1, 0, Message::Audio(Bytes::from_static(&[0xAF])));
    let events = pair.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[0], ClientEvent::Audio { .. }));
    assert!(matches!(
        events[1],
        ClientEvent::Closed(SessionError::Message(
            MessageError::AggregateTruncated { .. }
        ))
    ));
    assert!(pair.client.handle_input(pair.now, &[]).is_err());
    assert_eq!(pair.client.status(), ConnectionStatus::Closed);
}

// ---- calls and server commands ----

#[test]
fn calls_are_matched_by_transaction_id_in_any_order() {
    let mut pair = Pair::connected(player());
    let first = pair
        .client
        .call("getStreamLength", Value::Null, vec![string("cap")])
        .unwrap();
    let second = pair
        .client
        .call_on_stream(0, "FCSubscribe", Value::Null, vec![string("cap")])
        .unwrap();
    let third = pair
        .client
        .call("custom", amf_object! { "a" => 1 }, Vec::new())
        .unwrap();
    assert_eq!((first.get(), second.get(), third.get()), (2, 3, 4));
    assert_eq!(
        pair.commands(),
        [
            (0, command("getStreamLength", 2.0, vec![string("cap")])),
            (0, command("FCSubscribe", 3.0, vec![string("cap")])),
            (
                0,
                Command::new("custom", 4.0, amf_object! { "a" => 1 }, Vec::new())
            ),
        ]
    );
    assert_eq!(pair.client.pending_requests(), 3);
    let failed = on_status("error", "NetConnection.Call.Failed", "Method not found");
    pair.server_sends(
        0,
        0,
        Command::error(4.0, Value::Null, failed.arguments.clone()),
    );
    pair.server_sends(0, 0, Command::result(99.0, Value::Null, Vec::new())); // nobody asked
    pair.server_sends(0, 0, Command::result(2.5, Value::Null, Vec::new())); // not an id
    pair.server_sends(
        0,
        0,
        Command::result(2.0, Value::Null, vec![Value::Number(12.5)]),
    );
    pair.server_sends(
        0,
        0,
        Command::result(3.0, amf_object! { "x" => 1 }, Vec::new()),
    );
    pair.server_sends(0, 0, Command::result(2.0, Value::Null, Vec::new())); // answered already
    assert_eq!(
        pair.events(),
        [
            ClientEvent::CallError {
                transaction: third,
                command_object: Value::Null,
                values: failed.arguments
            },
            ClientEvent::CallResult {
                transaction: first,
                command_object: Value::Null,
                values: vec![Value::Number(12.5)]
            },
            ClientEvent::CallResult {
                transaction: second,
                command_object: amf_object! { "x" => 1 },
                values: Vec::new()
            },
        ]
    );
    assert_eq!(pair.client.pending_requests(), 0);
}

#[test]
fn pending_requests_and_streams_are_bounded() {
    let config = ClientConnectionConfig {
        session: SessionConfig {
            max_pending_requests: 3,
            max_message_streams: 2,
            ..SessionConfig::default()
        },
        ..player()
    };
    let mut pair = Pair::connected(config);
    let _ = pair.client.call("a", Value::Null, Vec::new()).unwrap();
    let _ = pair.client.create_stream().unwrap();
    let _ = pair.client.create_stream().unwrap();
    let _ = pair.commands();
    assert_eq!(
        pair.client.call("b", Value::Null, Vec::new()),
        Err(ApiError::InvalidState(
            "too many requests waiting for an answer"
        ))
    );
    assert_eq!(pair.commands(), [], "a refused call sends nothing");
    pair.server_sends(0, 0, Command::result(2.0, Value::Null, Vec::new()));
    assert_eq!(
        pair.client.create_stream(),
        Err(ApiError::InvalidState("too many message streams"))
    );
    let request = pair.client.call("b", Value::Null, Vec::new()).unwrap();
    assert_eq!(request.get(), 5, "a refused call uses no transaction id");
}

#[test]
fn server_commands_are_exposed_and_bandwidth_checks_answered() {
    let mut pair = Pair::connected(player());
    let on_bw_done = Command::new("onBWDone", 0.0, Value::Null, vec![Value::Number(8192.0)]);
    let on_bw_done_with_id = Command::new("onBWDone", 2.0, Value::Null, Vec::new());
    let check = Command::new("onBWCheck", 7.0, Value::Null, Vec::new());
    let on_fc_publish = Command::new(
        "onFCPublish",
        0.0,
        Value::Null,
        vec![amf_object! { "code" => "NetStream.Publish.Start" }],
    );
    for command in [&on_bw_done, &on_bw_done_with_id, &check, &on_fc_publish] {
        pair.server_sends(0, 0, command.clone());
    }
    assert_eq!(
        pair.events(),
        [on_bw_done, on_bw_done_with_id, check, on_fc_publish]
            .into_iter()
            .map(|command| ClientEvent::Command { stream: 0, command })
            .collect::<Vec<_>>()
    );
    assert_eq!(
        pair.commands(),
        [(0, Command::result(7.0, Value::Null, vec![1.into()]))]
    );
    let _ = pair
        .client
        .send_command(0, Command::result(9.0, Value::Null, vec![string("answer")]))
        .unwrap();
    assert_eq!(
        pair.commands(),
        [(0, Command::result(9.0, Value::Null, vec![string("answer")]))]
    );
}

#[test]
fn create_stream_failures() {
    let mut pair = Pair::connected(player());
    let refused = pair.client.create_stream().unwrap();
    let no_id = pair.client.create_stream().unwrap();
    let zero = pair.client.create_stream().unwrap();
    let odd = pair.client.create_stream().unwrap();
    let info = amf_object! { "level" => "error", "code" => "NetConnection.Call.Failed" };
    pair.server_sends(
        0,
        0,
        Command::error(refused.get() as f64, Value::Null, vec![info.clone()]),
    );
    pair.server_sends(
        0,
        0,
        Command::result(no_id.get() as f64, Value::Null, Vec::new()),
    );
    pair.server_sends(
        0,
        0,
        Command::result(zero.get() as f64, Value::Null, vec![0.into()]),
    );
    // A server that leaves out the null command object.
    pair.server_sends(
        0,
        0,
        Command::new("_result", odd.get() as f64, Value::Number(3.0), Vec::new()),
    );
    assert_eq!(
        pair.events(),
        [
            ClientEvent::CreateStreamFailed {
                request: refused,
                information: info
            },
            ClientEvent::CreateStreamFailed {
                request: no_id,
                information: Value::StrictArray(vec![Value::Null])
            },
            ClientEvent::CreateStreamFailed {
                request: zero,
                information: Value::StrictArray(vec![Value::Null, 0.into()])
            },
            ClientEvent::StreamCreated {
                request: odd,
                stream_id: 3
            },
        ]
    );
}

#[test]
fn status_quirks_stream_zero_null_command_object_and_net_connection_codes() {
    let mut pair = Pair::connected(publisher());
    let stream = pair.created_stream(1);
    pair.client
        .publish(stream, "cap", PublishType::Live)
        .unwrap();
    // onStatus on stream 0 with the information object where the command object goes.
    let info = amf_object! { "level" => "status", "code" => "NetStream.Publish.Start" };
    pair.server_sends(
        0,
        0,
        Command::new("onStatus", 0.0, info.clone(), Vec::new()),
    );
    let events = pair.events();
    assert!(
        matches!(&events[0], ClientEvent::Status { stream: 1, status } if status.info == info && status.description.is_empty())
    );
    assert_eq!(events[1], ClientEvent::PublishStarted { stream: 1 });

    let reconnect = amf_object! {
        "level" => "status",
        "code" => "NetConnection.Connect.ReconnectRequest",
        "description" => "please reconnect",
        "tcUrl" => "rtmp://other/live",
    };
    pair.server_sends(0, 0, Command::on_status(reconnect));
    pair.server_sends(
        0,
        0,
        on_status("status", "NetConnection.Connect.Closed", ""),
    );
    let events = pair.events();
    let [ClientEvent::Status {
        stream: 0,
        status: first,
    }, ClientEvent::Status {
        stream: 0,
        status: second,
    }] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(first.tc_url(), Some("rtmp://other/live"));
    assert_eq!(second.code, "NetConnection.Connect.Closed");
    assert_eq!(second.tc_url(), None);
}

#[test]
fn send_errors_change_nothing() {
    let mut pair = Pair::connected(publisher());
    assert_eq!(
        pair.client.send_video(1, 0, Bytes::new()),
        Err(ApiError::UnknownStream(1))
    );
    assert_eq!(
        pair.client.send_metadata(1, Value::Null),
        Err(ApiError::UnknownStream(1))
    );
    assert_eq!(
        pair.client.play(1, "x", PlayOptions::default()),
        Err(ApiError::UnknownStream(1))
    );
    assert_eq!(
        pair.client.receive_audio(1, true),
        Err(ApiError::UnknownStream(1))
    );
    let mut deep = Value::Null;
    for _ in 0..300 {
        deep = Value::StrictArray(vec![deep]);
    }
    assert!(matches!(
        pair.client.call("deep", Value::Null, vec![deep.clone()]),
        Err(ApiError::Encode(_))
    ));
    assert!(matches!(
        pair.client.connect(),
        Err(ApiError::InvalidState(_))
    ));
    assert_eq!(pair.commands(), []);
    let request = pair
        .client
        .call("shallow", Value::Null, Vec::new())
        .unwrap();
    assert_eq!(request.get(), 2, "a refused call uses no transaction id");
    let _ = pair.commands();
}

#[test]
fn the_queue_reports_high_water_and_writable() {
    let config = ClientConnectionConfig {
        session: SessionConfig {
            outbound_high_water: 10_000,
            outbound_low_water: 1_000,
            outbound_max: 20_000,
            ..SessionConfig::default()
        },
        ..publisher()
    };
    let mut pair = Pair::connected(config);
    let stream = pair.created_stream(1);
    pair.client
        .publish(stream, "cap", PublishType::Live)
        .unwrap();
    let _ = pair.sent();
    let mut keyframe = vec![0x17, 1, 0, 0, 0];
    keyframe.resize(12_000, 0xAB);
    let keyframe = Bytes::from(keyframe);
    assert_eq!(
        pair.client.send_video(1, 0, keyframe.clone()),
        Ok(SendStatus::AboveHighWater)
    );
    assert_eq!(
        pair.client
            .send_video(1, 40, Bytes::from_static(&[0x27, 1])),
        Ok(SendStatus::DroppedVideo)
    );
    assert_eq!(
        pair.client.send_video(1, 80, keyframe),
        Err(ApiError::QueueFull)
    );
    assert!(pair.client.pending_bytes() >= 12_000);
    assert_eq!(pair.events(), [ClientEvent::Writable]);
    assert_eq!(pair.client.pending_bytes(), 0);
}

#[test]
fn pings_and_timeouts() {
    let config = ClientConnectionConfig {
        session: SessionConfig {
            ping_interval: Some(Duration::from_secs(5)),
            ..SessionConfig::default()
        },
        ..player()
    };
    let mut pair = Pair::new(config.clone());
    assert_eq!(
        pair.client.ping(pair.now),
        Err(ApiError::InvalidState("the handshake is not complete"))
    );
    pair.drive();
    pair.now = Instant::from_millis(100);
    pair.client.ping(pair.now).unwrap();
    pair.now = Instant::from_millis(130);
    let sent = pair.sent();
    assert_eq!(
        sent,
        [(0, 0, UserControl::PingRequest { timestamp: 100 }.into())]
    );
    assert_eq!(
        pair.events(),
        [
            ClientEvent::HandshakeComplete,
            ClientEvent::PingResponse {
                round_trip: Duration::from_millis(30)
            }
        ]
    );
    // The server pings us: the core answers.
    pair.server.send_ping(pair.now);
    let sent = pair.sent();
    assert_eq!(
        sent,
        [(0, 0, UserControl::PingResponse { timestamp: 130 }.into())]
    );

    // A silent server is pinged, then dropped.
    assert_eq!(
        pair.client.poll_timeout(),
        Some(Instant::from_millis(5_130))
    );
    pair.client.handle_timeout(Instant::from_millis(5_130));
    assert!(pair.client.poll_transmit().is_some());
    pair.client.handle_timeout(Instant::from_millis(35_130));
    assert_eq!(
        pair.client.poll_event(),
        Some(ClientEvent::Closed(SessionError::PingTimeout))
    );
    assert_eq!(pair.client.poll_timeout(), None);

    let mut lonely = ClientConnection::new(
        config,
        &mut StdRng::seed_from_u64(0),
        Instant::from_millis(0),
    );
    lonely.handle_timeout(Instant::from_millis(9_999));
    assert_eq!(lonely.poll_event(), None);
    lonely.handle_timeout(Instant::from_millis(10_000));
    assert_eq!(
        lonely.poll_event(),
        Some(ClientEvent::Closed(SessionError::HandshakeTimeout))
    );
}

#[test]
fn a_silent_server_drops_a_player_but_not_a_publisher() {
    let mut player = Pair::connected(player());
    assert_eq!(
        player.client.poll_timeout(),
        Some(Instant::from_millis(60_000))
    );
    player.client.handle_timeout(Instant::from_millis(60_000));
    assert_eq!(
        player.events(),
        [ClientEvent::Closed(SessionError::IdleTimeout)]
    );
    let mut publisher = Pair::connected(publisher());
    assert_eq!(publisher.client.poll_timeout(), None);
    publisher
        .client
        .handle_timeout(Instant::from_millis(300_000));
    assert_eq!(publisher.events(), []);
    assert_eq!(publisher.client.status(), ConnectionStatus::Connected);
}

#[test]
fn server_control_messages_are_followed() {
    let mut pair = Pair::connected(player());
    pair.server.queue_control(&Message::SetPeerBandwidth {
        window_size: 1_000_000,
        limit_type: LimitType::HARD,
    });
    pair.drive();
    assert_eq!(
        pair.sent(),
        [(
            0,
            0,
            Message::WindowAckSize {
                window_size: 1_000_000
            }
        )]
    );
    assert_eq!(pair.client.peer_bandwidth(), Some(1_000_000));
}

// ---- nginx-rtmp's recorded answers ----

/// The FLV clip's tags by type: the payloads nginx-rtmp relayed.
fn clip_frames() -> Vec<(u8, Bytes)> {
    let mut reader = FlvReader::new();
    let mut buffer = BytesMut::from(CLIP_FLV);
    let mut frames = Vec::new();
    while let Some(tag) = reader.read_tag(&mut buffer).unwrap() {
        frames.push((tag.tag_type, tag.data));
    }
    assert!(buffer.is_empty());
    frames
}

#[test]
fn replays_nginx_answering_a_publish() {
    let mut client = ClientConnection::new(
        publisher(),
        &mut StdRng::seed_from_u64(3),
        Instant::from_millis(0),
    );
    client.connect().unwrap();
    let request = client
        .create_stream_to_publish("cap", PublishType::Live)
        .unwrap();
    assert_eq!(
        request.get(),
        4,
        "FFmpeg's order: releaseStream 2, FCPublish 3, createStream 4"
    );
    let events = feed_split(&mut client, FFMPEG_PUBLISH_S2C, &[]);
    assert_eq!(events[0], ClientEvent::HandshakeComplete);
    assert!(
        matches!(&events[1], ClientEvent::Connected { properties, information }
        if properties.get("fmsVer") == Some(&string("FMS/3,0,1,123"))
        && information.get("code") == Some(&string("NetConnection.Connect.Success")))
    );
    assert_eq!(
        events[2],
        ClientEvent::StreamCreated {
            request,
            stream_id: 1
        }
    );
    assert!(
        matches!(&events[3], ClientEvent::Status { stream: 1, status } if status.code == "NetStream.Publish.Start")
    );
    assert_eq!(events[4], ClientEvent::PublishStarted { stream: 1 });
    assert!(
        matches!(&events[5], ClientEvent::Status { stream: 1, status } if status.code == "NetStream.Unpublish.Success")
    );
    assert_eq!(events.len(), 6, "{events:?}");
    assert_eq!(client.status(), ConnectionStatus::Connected);
    assert_eq!(client.stream_status(1), Some(StreamStatus::Created));
}

fn replay_play(s2c: &[u8], handshake: ClientConfig) -> Vec<ClientEvent> {
    let config = ClientConnectionConfig {
        handshake,
        ..player()
    };
    let mut client = ClientConnection::new(
        config,
        &mut StdRng::seed_from_u64(3),
        Instant::from_millis(0),
    );
    client.connect().unwrap();
    let request = client
        .create_stream_to_play("cap", PlayOptions::default())
        .unwrap();
    assert_eq!(request.get(), 2);
    let events = feed_split(&mut client, s2c, &[]);
    assert_eq!(client.stream_status(1), Some(StreamStatus::Playing));
    events
}

fn check_played(s2c: &[u8], events: &[ClientEvent]) {
    assert_eq!(events[0], ClientEvent::HandshakeComplete);
    assert!(matches!(events[1], ClientEvent::Connected { .. }));
    assert_eq!(
        events[2],
        ClientEvent::StreamCreated {
            request: TransactionId(2),
            stream_id: 1
        }
    );
    assert_eq!(events[3], ClientEvent::StreamBegin { stream: 1 });
    assert!(
        matches!(&events[4], ClientEvent::Status { stream: 1, status } if status.code == "NetStream.Play.Start" && status.description == "Start live")
    );
    assert_eq!(events[5], ClientEvent::PlayStarted { stream: 1 });
    assert!(
        matches!(&events[6], ClientEvent::Data { stream: 1, data, .. } if data.handler() == Some("|RtmpSampleAccess"))
    );
    assert!(
        matches!(&events[7], ClientEvent::Metadata { stream: 1, metadata } if metadata.get("width") == Some(&Value::Number(64.0)))
    );
    assert_eq!(events.last(), Some(&ClientEvent::StreamEof { stream: 1 }));
    let clip = clip_frames();
    let media = &events[8..events.len() - 1];
    // Every audio and video message of the capture, read by the chunk decoder alone.
    let mut decoder = crate::chunk::ChunkDecoder::new(crate::Limits::default());
    let mut rest = &s2c[1 + 2 * crate::handshake::PACKET_LEN..];
    let mut recorded = 0;
    while let Some(raw) = decoder.decode(&mut rest).unwrap() {
        recorded += usize::from(matches!(raw.type_id, 8 | 9));
    }
    assert_eq!(media.len(), recorded);
    for event in media {
        let (tag_type, payload) = match event {
            ClientEvent::Audio {
                stream: 1, payload, ..
            } => (8, payload),
            ClientEvent::Video {
                stream: 1, payload, ..
            } => (9, payload),
            other => panic!("not media: {other:?}"),
        };
        assert!(
            clip.iter()
                .any(|(t, data)| *t == tag_type && data == payload),
            "a frame that is not in the clip"
        );
    }
}

#[test]
fn replays_nginx_answering_ffmpeg_play() {
    let events = replay_play(FFMPEG_PLAY_S2C, ClientConfig::default());
    check_played(FFMPEG_PLAY_S2C, &events);
}

#[test]
fn replays_nginx_answering_rtmpdump_play() {
    let plain = ClientConfig {
        mode: ClientMode::Plain,
        ..ClientConfig::default()
    };
    let events = replay_play(RTMPDUMP_PLAY_S2C, plain);
    check_played(RTMPDUMP_PLAY_S2C, &events);
}
