//! The server connection driven by a scripted client: a bare [`Core`] sending raw commands,
//! with every message the server sends decoded off the wire.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::amf::{Object, Value};
use crate::amf_object;
use crate::chunk::ChunkDecoder;
use crate::handshake::ClientConfig;
use crate::message::SharedObjectEvent;
use crate::message::{AggregateBuilder, LimitType};
use crate::session::core::Core;
use crate::session::MediaKind;
use crate::session::SessionConfig;
use crate::{type_id, Limits, RawMessage};

mod captures;
mod hostile;

/// Bytes of S0, S1 and S2, which come before the server's first chunk.
const HANDSHAKE_LEN: usize = 1 + 1536 + 1536;

#[test]
fn remembered_playing_and_publishing_streams_follow_every_change() {
    let playing = || StreamState::Playing {
        name: String::from("cam"),
    };
    let publishing = || StreamState::Publishing {
        name: String::from("cam"),
    };
    let mut streams = Streams::default();
    assert!(!streams.is_playing(1) && !streams.is_publishing(1));
    streams.insert(1, StreamState::Idle);
    streams.insert(2, StreamState::Idle);
    streams.insert(1, playing());
    streams.insert(2, publishing());
    assert!(streams.is_playing(1) && !streams.is_publishing(1));
    assert!(streams.is_publishing(2) && !streams.is_playing(2));
    // A stream that stops (closeStream) or changes role is no longer remembered in its old one;
    // one that does not exist is not created by stopping.
    assert_eq!(streams.set_idle(1), Some(playing()));
    assert!(!streams.is_playing(1));
    assert_eq!(streams.set_idle(9), None);
    assert!(!streams.contains_key(&9));
    streams.insert(2, playing());
    assert!(streams.is_playing(2) && !streams.is_publishing(2));
    streams.insert(2, StreamState::PublishRefused);
    assert!(!streams.is_playing(2) && !streams.is_publishing(2));
    // Two players on one connection: the one not remembered is found in the map.
    streams.insert(1, playing());
    streams.insert(3, playing());
    assert!(streams.is_playing(1) && streams.is_playing(3));
    assert_eq!(streams.remove(&3), Some(playing()));
    assert!(!streams.is_playing(3) && streams.is_playing(1));
    assert_eq!(streams.remove(&1), Some(playing()));
    assert!(!streams.is_playing(1));
    assert_eq!(streams.iter().count(), 1);
}

/// A message the server sent, as the client's chunk decoder saw it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Sent {
    pub(super) stream: u32,
    pub(super) timestamp: u32,
    pub(super) message: Message,
}

pub(super) struct Harness {
    pub(super) server: ServerConnection,
    pub(super) client: Core,
    pub(super) now: Instant,
    wire: ChunkDecoder,
    handshake_to_skip: usize,
    sent: Vec<Sent>,
}

impl Harness {
    pub(super) fn new(config: ServerConnectionConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(11);
        let now = Instant::from_millis(0);
        let client_config = SessionConfig {
            idle_timeout: None,
            ..SessionConfig::default()
        };
        let client = Core::client(client_config, ClientConfig::default(), &mut rng, now);
        let server = ServerConnection::new(config, &mut rng, now);
        let mut harness = Harness {
            server,
            client,
            now,
            wire: ChunkDecoder::new(Limits::default()),
            handshake_to_skip: HANDSHAKE_LEN,
            sent: Vec::new(),
        };
        harness.drive();
        harness
    }

    /// A harness whose client is connected (connect accepted) and whose records are empty.
    pub(super) fn connected(config: ServerConnectionConfig) -> Self {
        let mut harness = Harness::new(config);
        harness.send(0, connect(amf_object! { "app" => "live" }));
        let id = harness.connect_request().id;
        harness.server.accept_connect(id).unwrap();
        harness.drive();
        harness.take_sent();
        harness
    }

    /// Moves bytes both ways until both sides are quiet.
    pub(super) fn drive(&mut self) {
        loop {
            let mut moved = false;
            if let Some(out) = self.client.poll_transmit() {
                let mut bytes = Vec::new();
                out.copy_to(&mut bytes);
                out.clear();
                let _ = self.server.handle_input(self.now, &bytes);
                moved = true;
            }
            if let Some(out) = self.server.poll_transmit() {
                let mut bytes = Vec::new();
                out.copy_to(&mut bytes);
                out.clear();
                self.record(&bytes);
                let _ = self.client.handle_input(self.now, &bytes);
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    fn record(&mut self, mut bytes: &[u8]) {
        let skip = self.handshake_to_skip.min(bytes.len());
        self.handshake_to_skip -= skip;
        bytes = &bytes[skip..];
        while let Some(raw) = self
            .wire
            .decode(&mut bytes)
            .expect("the server sends valid chunks")
        {
            let message = Message::decode(&raw, &Limits::default()).expect("and valid messages");
            if let Message::SetChunkSize { chunk_size } = message {
                self.wire.set_chunk_size(chunk_size).unwrap();
            }
            self.sent.push(Sent {
                stream: raw.stream_id,
                timestamp: raw.timestamp,
                message,
            });
        }
    }

    /// Every message the server sent since the last call.
    pub(super) fn take_sent(&mut self) -> Vec<Sent> {
        core::mem::take(&mut self.sent)
    }

    /// The commands the server sent since the last call, others dropped.
    pub(super) fn sent_commands(&mut self) -> Vec<(u32, Command)> {
        self.take_sent()
            .into_iter()
            .filter_map(|sent| match sent.message {
                Message::Command(command) => Some((sent.stream, command)),
                _ => None,
            })
            .collect()
    }

    /// The client sends `message` on message stream `stream`; bytes move both ways.
    pub(super) fn send(&mut self, stream: u32, message: Message) {
        let _ = self.client.send_message(stream, 0, &message).unwrap();
        self.drive();
    }

    pub(super) fn send_at(&mut self, stream: u32, timestamp: u32, message: Message) {
        let _ = self
            .client
            .send_message(stream, timestamp, &message)
            .unwrap();
        self.drive();
    }

    pub(super) fn events(&mut self) -> Vec<ServerEvent> {
        core::iter::from_fn(|| self.server.poll_event()).collect()
    }

    fn connect_request(&mut self) -> ConnectRequest {
        match self.events().as_slice() {
            [ServerEvent::ConnectRequest(request)] => (**request).clone(),
            other => panic!("expected a connect request, got {other:?}"),
        }
    }

    /// createStream; returns the stream id of the `_result`.
    pub(super) fn create_stream(&mut self, transaction_id: f64) -> u32 {
        self.send(0, command("createStream", transaction_id, vec![]));
        match self.sent_commands().as_slice() {
            [(0, answer)] if answer.name == "_result" => {
                answer.argument(0).and_then(Value::as_f64).unwrap() as u32
            }
            other => panic!("expected a createStream result, got {other:?}"),
        }
    }

    /// A stream that publishes `name`, accepted; records cleared.
    pub(super) fn publishing(&mut self, name: &str) -> u32 {
        let stream = self.create_stream(4.0);
        self.send(
            stream,
            command("publish", 5.0, vec![name.into(), "live".into()]),
        );
        let Some(ServerEvent::PublishRequest(request)) = self.events().pop() else {
            panic!("expected a publish request");
        };
        self.server.accept_publish(request.id).unwrap();
        self.drive();
        self.take_sent();
        stream
    }

    /// A stream that plays `name`, accepted; records cleared.
    pub(super) fn playing(&mut self, name: &str) -> u32 {
        let stream = self.create_stream(2.0);
        self.send(stream, command("play", 3.0, vec![name.into()]));
        let Some(ServerEvent::PlayRequest(request)) = self.events().pop() else {
            panic!("expected a play request");
        };
        self.server
            .accept_play(request.id, StreamKind::Live)
            .unwrap();
        self.drive();
        self.take_sent();
        stream
    }
}

pub(super) fn command(name: &str, transaction_id: f64, arguments: Vec<Value>) -> Message {
    Message::Command(Command::new(name, transaction_id, Value::Null, arguments))
}

pub(super) fn connect(command_object: Value) -> Message {
    Message::Command(Command::new("connect", 1.0, command_object, vec![]))
}

fn status(level: &str, code: &str, description: &str) -> Object {
    Object::new()
        .with("level", level)
        .with("code", code)
        .with("description", description)
}

fn on_status_of(sent: &(u32, Command)) -> (u32, &str) {
    let (stream, command) = sent;
    assert_eq!(command.name, "onStatus");
    assert_eq!(command.transaction_id, 0.0);
    let code = command
        .argument(0)
        .and_then(|info| info.get("code"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    (*stream, code)
}

fn codes(sent: &[(u32, Command)]) -> Vec<(u32, &str, &str)> {
    sent.iter()
        .map(|(stream, command)| {
            let code = command
                .argument(0)
                .and_then(|info| info.get("code"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            (*stream, command.name.as_str(), code)
        })
        .collect()
}

fn ffmpeg_connect() -> Value {
    amf_object! {
        "app" => "live",
        "type" => "nonprivate",
        "flashVer" => "FMLE/3.0 (compatible; Lavf59.27.100)",
        "tcUrl" => "rtmp://127.0.0.1:19351/live",
    }
}

const KEYFRAME: &[u8] = &[0x17, 1, 0, 0, 0, 0xAA, 0xBB];
const INTER: &[u8] = &[0x27, 1, 0, 0, 0, 0xCC];
const AAC: &[u8] = &[0xAF, 1, 0x21, 0x10];

#[test]
fn connect_accept_sends_the_exact_sequence() {
    let mut h = Harness::new(ServerConnectionConfig::default());
    assert_eq!(h.events(), []);
    h.send(0, connect(ffmpeg_connect()));
    let request = h.connect_request();
    assert_eq!(
        request,
        ConnectRequest {
            id: request.id,
            app: String::from("live"),
            tc_url: Some(String::from("rtmp://127.0.0.1:19351/live")),
            flash_ver: Some(String::from("FMLE/3.0 (compatible; Lavf59.27.100)")),
            swf_url: None,
            page_url: None,
            object_encoding: None,
            fourcc_list: None,
            caps_ex: None,
            command_object: ffmpeg_connect(),
            arguments: vec![],
        }
    );
    assert_eq!(h.take_sent(), [], "nothing before the application answers");
    assert!(!h.server.is_connected());
    h.server.accept_connect(request.id).unwrap();
    assert_eq!(
        h.server.accept_connect(request.id),
        Err(ApiError::UnknownRequest(request.id.get()))
    );
    h.drive();
    assert!(h.server.is_connected());
    let expected_result = Command::result(
        1.0,
        amf_object! { "fmsVer" => "FMS/3,0,1,123", "capabilities" => 31.0, "mode" => 1.0 },
        vec![Value::Object(
            status(
                "status",
                "NetConnection.Connect.Success",
                "Connection succeeded.",
            )
            .with("objectEncoding", 0.0),
        )],
    );
    let sent: Vec<(u32, Message)> = h
        .take_sent()
        .into_iter()
        .map(|sent| (sent.stream, sent.message))
        .collect();
    assert_eq!(
        sent,
        [
            (
                0,
                Message::WindowAckSize {
                    window_size: 2_500_000
                }
            ),
            (
                0,
                Message::SetPeerBandwidth {
                    window_size: 2_500_000,
                    limit_type: LimitType::DYNAMIC
                }
            ),
            (0, Message::SetChunkSize { chunk_size: 4096 }),
            (
                0,
                Message::UserControl(UserControl::StreamBegin { stream_id: 0 })
            ),
            (0, Message::Command(expected_result)),
        ]
    );
    assert_eq!(h.events(), []);
}

#[test]
fn answering_a_request_with_the_wrong_kind_changes_nothing() {
    let mut h = Harness::new(ServerConnectionConfig::default());
    h.send(0, connect(ffmpeg_connect()));
    let id = h.connect_request().id;
    let unknown = Err(ApiError::UnknownRequest(id.get()));
    assert_eq!(h.server.accept_publish(id), unknown);
    assert_eq!(h.server.reject_publish(id, "x", "y"), unknown);
    assert_eq!(h.server.accept_play(id, StreamKind::Live), unknown);
    assert_eq!(h.server.reject_play(id, "x", "y"), unknown);
    assert_eq!(h.server.respond_call(id, Value::Null, vec![]), unknown);
    assert_eq!(h.server.reject_call(id, "x"), unknown);
    assert_eq!(
        h.server.accept_connect(RequestId(id.get() + 1)),
        Err(ApiError::UnknownRequest(id.get() + 1))
    );
    h.drive();
    assert_eq!(h.take_sent(), []);
    h.server.accept_connect(id).unwrap();
    assert!(h.server.is_connected());
    h.drive();
    assert_eq!(
        codes(&h.sent_commands()),
        [(0, "_result", "NetConnection.Connect.Success")]
    );
    let stream = h.create_stream(2.0);
    h.send(stream, command("publish", 3.0, vec!["cam".into()]));
    let Some(ServerEvent::PublishRequest(request)) = h.events().pop() else {
        panic!("expected a publish request");
    };
    let unknown = Err(ApiError::UnknownRequest(request.id.get()));
    assert_eq!(h.server.accept_connect(request.id), unknown);
    assert_eq!(h.server.reject_connect(request.id, "no"), unknown);
    assert_eq!(h.server.accept_play(request.id, StreamKind::Live), unknown);
    assert!(!h.server.is_closed());
    h.server.accept_publish(request.id).unwrap();
    assert_eq!(h.server.publishing_name(stream), Some("cam"));
}

#[test]
fn connect_options_and_bw_done() {
    let options = ServerOptions {
        fms_version: String::from("FMS/4,5,0,297"),
        capabilities: 255.0,
        mode: 2.0,
        send_bw_done: true,
        ..ServerOptions::default()
    };
    let mut h = Harness::new(ServerConnectionConfig {
        session: SessionConfig {
            chunk_size: 128,
            ..SessionConfig::default()
        },
        options,
        ..ServerConnectionConfig::default()
    });
    h.send(
        0,
        connect(amf_object! { "app" => "vod", "objectEncoding" => 0.0 }),
    );
    let id = h.connect_request().id;
    h.server.accept_connect(id).unwrap();
    h.drive();
    let sent = h.take_sent();
    assert!(
        !sent
            .iter()
            .any(|s| matches!(s.message, Message::SetChunkSize { .. })),
        "128 is the default chunk size: not announced"
    );
    let commands: Vec<&Command> = sent
        .iter()
        .filter_map(|s| match &s.message {
            Message::Command(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(commands.len(), 2);
    assert_eq!(
        commands[0].command_object,
        amf_object! { "fmsVer" => "FMS/4,5,0,297", "capabilities" => 255.0, "mode" => 2.0 }
    );
    assert_eq!(commands[1].name, "onBWDone");
    assert_eq!(commands[1].transaction_id, 0.0);
}

#[test]
fn connect_reject_answers_then_closes() {
    let mut h = Harness::new(ServerConnectionConfig::default());
    h.send(0, connect(ffmpeg_connect()));
    let id = h.connect_request().id;
    h.server.reject_connect(id, "Bad key.").unwrap();
    h.drive();
    let expected = Command::error(
        1.0,
        Value::Null,
        vec![Value::Object(status(
            "error",
            "NetConnection.Connect.Rejected",
            "Bad key.",
        ))],
    );
    let sent: Vec<Message> = h.take_sent().into_iter().map(|s| s.message).collect();
    assert_eq!(sent, [Message::Command(expected)]);
    assert_eq!(h.events(), [ServerEvent::Closed(SessionError::Closed)]);
    assert_eq!(h.server.poll_event(), None);
    assert!(h.server.is_closed());
    assert_eq!(
        h.server.handle_input(h.now, &[0]),
        Err(SessionError::Closed)
    );
    assert_eq!(h.server.accept_connect(id), Err(ApiError::Closed));
    assert_eq!(h.server.poll_timeout(), None);
}

#[test]
fn ffmpeg_publish_sequence() {
    let mut h = Harness::new(ServerConnectionConfig::default());
    h.send(0, connect(ffmpeg_connect()));
    let id = h.connect_request().id;
    h.server.accept_connect(id).unwrap();
    h.drive();
    h.take_sent();
    // FFmpeg sends these back to back, without waiting for any answer.
    for message in [
        command("releaseStream", 2.0, vec!["cap".into()]),
        command("FCPublish", 3.0, vec!["cap".into()]),
        command("createStream", 4.0, vec![]),
    ] {
        let _ = h.client.send_message(0, 0, &message).unwrap();
    }
    h.drive();
    assert_eq!(h.events(), []);
    let sent = h.sent_commands();
    assert_eq!(
        sent,
        [
            (0, Command::result(2.0, Value::Null, vec![])),
            (0, Command::result(3.0, Value::Null, vec![])),
            (
                0,
                Command::new(
                    "onFCPublish",
                    0.0,
                    Value::Null,
                    vec![Value::Object(status(
                        "status",
                        "NetStream.Publish.Start",
                        "cap"
                    ))]
                )
            ),
            (0, Command::result(4.0, Value::Null, vec![1.0.into()])),
        ]
    );
    // publish, then at once metadata and media, before Publish.Start.
    let metadata = Value::EcmaArray(vec![(String::from("width"), 64.0.into())]);
    h.send(
        1,
        command("publish", 5.0, vec!["cap".into(), "live".into()]),
    );
    h.send(1, Message::Data(Data::set_data_frame(metadata.clone())));
    h.send(1, Message::Video(Bytes::from_static(KEYFRAME)));
    h.send_at(1, 23, Message::Audio(Bytes::from_static(AAC)));
    let events = h.events();
    let [ServerEvent::PublishRequest(request)] = events.as_slice() else {
        panic!("expected only the publish request, got {events:?}");
    };
    assert_eq!(
        request,
        &PublishRequest {
            id: request.id,
            stream: 1,
            name: String::from("cap"),
            publish_type: PublishType::Live,
        }
    );
    assert_eq!(h.take_sent(), [], "Publish.Start waits for the application");
    h.server.accept_publish(request.id).unwrap();
    h.drive();
    let sent = h.take_sent();
    assert_eq!(
        sent[0].message,
        Message::UserControl(UserControl::StreamBegin { stream_id: 1 })
    );
    let Message::Command(start) = &sent[1].message else {
        panic!("not a command: {:?}", sent[1]);
    };
    assert_eq!((sent[1].stream, sent.len()), (1, 2));
    assert_eq!(
        on_status_of(&(1, start.clone())),
        (1, "NetStream.Publish.Start")
    );
    assert_eq!(h.server.publishing_name(1), Some("cap"));
    assert_eq!(
        h.events(),
        [
            ServerEvent::Metadata {
                stream: 1,
                timestamp: 0,
                metadata
            },
            ServerEvent::Video {
                stream: 1,
                timestamp: 0,
                payload: Bytes::from_static(KEYFRAME)
            },
            ServerEvent::Audio {
                stream: 1,
                timestamp: 23,
                payload: Bytes::from_static(AAC)
            },
        ]
    );
    // The end: FCUnpublish, then deleteStream.
    h.send(0, command("FCUnpublish", 6.0, vec!["cap".into()]));
    h.send(0, command("deleteStream", 7.0, vec![1.0.into()]));
    assert_eq!(
        h.events(),
        [
            ServerEvent::UnpublishRequest {
                stream: 1,
                name: String::from("cap")
            },
            ServerEvent::Unpublished { stream: 1 },
            ServerEvent::StreamDeleted { stream: 1 },
        ]
    );
    let sent = h.sent_commands();
    assert_eq!(
        codes(&sent),
        [
            (0, "_result", ""),
            (0, "onFCUnpublish", "NetStream.Unpublish.Success"),
            (1, "onStatus", "NetStream.Unpublish.Success"),
        ]
    );
    assert_eq!(sent[0].1.transaction_id, 6.0);
    assert_eq!(h.server.publishing_name(1), None);
    assert!(!h.server.is_closed());
}

#[test]
fn ffmpeg_play_sequence() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    h.send(
        0,
        Message::WindowAckSize {
            window_size: 2_500_000,
        },
    );
    let stream = h.create_stream(2.0);
    assert_eq!(stream, 1);
    h.send(0, command("getStreamLength", 3.0, vec!["cap".into()]));
    assert_eq!(
        h.sent_commands(),
        [(0, Command::result(3.0, Value::Null, vec![0.0.into()]))]
    );
    h.send(
        1,
        command("play", 4.0, vec!["cap".into(), (-2000.0).into()]),
    );
    h.send(
        0,
        Message::UserControl(UserControl::SetBufferLength {
            stream_id: 1,
            buffer_length: 3000,
        }),
    );
    let events = h.events();
    let [ServerEvent::PlayRequest(request)] = events.as_slice() else {
        panic!("expected only the play request, got {events:?}");
    };
    assert_eq!(
        request,
        &PlayRequest {
            id: request.id,
            stream: 1,
            name: String::from("cap"),
            start: PlayStart::LiveOrRecorded,
            duration: None,
            reset: true,
        }
    );
    assert_eq!(
        h.server.send_audio(1, 0, Bytes::from_static(AAC)),
        Err(ApiError::UnknownStream(1)),
        "not playing before the accept"
    );
    h.server.accept_play(request.id, StreamKind::Live).unwrap();
    h.drive();
    assert_eq!(
        h.events(),
        [ServerEvent::BufferLength {
            stream: 1,
            millis: 3000
        }]
    );
    let sent = h.take_sent();
    let kinds: Vec<(u32, Message)> = sent
        .into_iter()
        .map(|s| {
            let message = match s.message {
                Message::Command(mut c) => {
                    // Keep only the code of onStatus, for a compact comparison.
                    let code = c.argument(0).and_then(|i| i.get("code")).cloned();
                    c.arguments = code.into_iter().collect();
                    Message::Command(c)
                }
                other => other,
            };
            (s.stream, message)
        })
        .collect();
    let status_code = |code: &str| {
        Message::Command(Command::new(
            "onStatus",
            0.0,
            Value::Null,
            vec![code.into()],
        ))
    };
    assert_eq!(
        kinds,
        [
            (
                0,
                Message::UserControl(UserControl::StreamBegin { stream_id: 1 })
            ),
            (1, status_code("NetStream.Play.Reset")),
            (1, status_code("NetStream.Play.Start")),
            (
                1,
                Message::Data(Data::new(vec![
                    "|RtmpSampleAccess".into(),
                    true.into(),
                    true.into()
                ]))
            ),
        ]
    );
    assert_eq!(h.server.playing_name(1), Some("cap"));
    // Media goes out on the player's stream.
    let metadata = amf_object! { "width" => 64.0 };
    let _ = h.server.send_metadata(1, metadata.clone()).unwrap();
    let _ = h
        .server
        .send_video(1, 40, Bytes::from_static(KEYFRAME))
        .unwrap();
    let _ = h.server.send_audio(1, 40, Bytes::from_static(AAC)).unwrap();
    h.drive();
    let sent: Vec<Sent> = h.take_sent();
    assert_eq!(
        sent,
        [
            Sent {
                stream: 1,
                timestamp: 0,
                message: Message::Data(Data::on_metadata(metadata))
            },
            Sent {
                stream: 1,
                timestamp: 40,
                message: Message::Video(Bytes::from_static(KEYFRAME))
            },
            Sent {
                stream: 1,
                timestamp: 40,
                message: Message::Audio(Bytes::from_static(AAC))
            },
        ]
    );
    // The player leaves.
    h.send(0, command("deleteStream", 5.0, vec![1.0.into()]));
    assert_eq!(
        h.events(),
        [
            ServerEvent::PlayStopped { stream: 1 },
            ServerEvent::StreamDeleted { stream: 1 }
        ]
    );
    assert_eq!(h.take_sent(), []);
    assert_eq!(
        h.server.send_audio(1, 80, Bytes::from_static(AAC)),
        Err(ApiError::UnknownStream(1))
    );
}

#[test]
fn recorded_play_without_reset() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.create_stream(2.0);
    h.send(
        stream,
        command(
            "play",
            3.0,
            vec!["film".into(), 1500.0.into(), 10_000.0.into(), false.into()],
        ),
    );
    let Some(ServerEvent::PlayRequest(request)) = h.events().pop() else {
        panic!("expected a play request");
    };
    assert_eq!(request.start, PlayStart::At(1500.0));
    assert_eq!(request.duration, Some(10_000.0));
    assert!(!request.reset);
    h.server
        .accept_play(request.id, StreamKind::Recorded)
        .unwrap();
    h.drive();
    let sent = h.take_sent();
    assert_eq!(
        sent[0].message,
        Message::UserControl(UserControl::StreamIsRecorded { stream_id: 1 })
    );
    assert_eq!(
        sent[1].message,
        Message::UserControl(UserControl::StreamBegin { stream_id: 1 })
    );
    let Message::Command(start) = &sent[2].message else {
        panic!("not a command");
    };
    assert_eq!(
        on_status_of(&(sent[2].stream, start.clone())).1,
        "NetStream.Play.Start"
    );
    assert_eq!(sent.len(), 4);
}

#[test]
fn play_start_values() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.create_stream(2.0);
    for (start, expected) in [
        (Value::from(-1000.0), PlayStart::LiveOnly),
        (Value::from(-1.0), PlayStart::LiveOnly),
        (Value::from(-2.0), PlayStart::LiveOrRecorded),
        (Value::from(f64::NAN), PlayStart::LiveOrRecorded),
        (Value::from("soon"), PlayStart::LiveOrRecorded),
        (Value::from(0.0), PlayStart::At(0.0)),
    ] {
        h.send(
            stream,
            command(
                "play",
                3.0,
                vec!["a?b=c".into(), start, (-1.0).into(), 0.0.into()],
            ),
        );
        let Some(ServerEvent::PlayRequest(request)) = h.events().pop() else {
            panic!("expected a play request");
        };
        assert_eq!(request.name, "a?b=c");
        assert_eq!(request.start, expected);
        assert_eq!(request.duration, None);
        assert!(!request.reset);
        h.server
            .reject_play(
                request.id,
                "NetStream.Play.StreamNotFound",
                "No such stream.",
            )
            .unwrap();
        h.drive();
        let sent = h.sent_commands();
        assert_eq!(
            sent,
            [(
                1,
                Command::on_status(Value::Object(status(
                    "error",
                    "NetStream.Play.StreamNotFound",
                    "No such stream."
                )))
            )]
        );
    }
}

#[test]
fn publish_types_and_rejection() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.create_stream(2.0);
    for (publish_type, expected) in [
        (Some("record"), PublishType::Record),
        (Some("append"), PublishType::Append),
        (Some("appendWithGap"), PublishType::AppendWithGap),
        (Some("LIVE"), PublishType::Live),
        (None, PublishType::Live),
    ] {
        let mut arguments = vec![Value::from("key?token=1")];
        arguments.extend(publish_type.map(Value::from));
        h.send(stream, command("publish", 3.0, arguments));
        h.send_at(stream, 10, Message::Video(Bytes::from_static(KEYFRAME)));
        let events = h.events();
        let [ServerEvent::PublishRequest(request)] = events.as_slice() else {
            panic!("expected only a publish request, got {events:?}");
        };
        assert_eq!(request.name, "key?token=1");
        assert_eq!(request.publish_type, expected);
        h.server
            .reject_publish(request.id, "NetStream.Publish.BadName", "Taken.")
            .unwrap();
        h.drive();
        // The held frame went with the refusal, quietly.
        assert_eq!(h.events(), []);
        assert_eq!(
            h.sent_commands(),
            [(
                1,
                Command::on_status(Value::Object(status(
                    "error",
                    "NetStream.Publish.BadName",
                    "Taken."
                )))
            )]
        );
        // Media still in flight after the refusal is dropped, not a violation.
        h.send_at(stream, 20, Message::Audio(Bytes::from_static(AAC)));
        assert_eq!(h.events(), []);
        assert!(!h.server.is_closed());
    }
}

#[test]
fn publish_on_a_busy_stream_or_without_a_name_is_refused() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.publishing("cam");
    h.send(stream, command("publish", 6.0, vec!["other".into()]));
    h.send(stream, command("play", 7.0, vec!["other".into()]));
    assert_eq!(
        codes(&h.sent_commands()),
        [
            (1, "onStatus", "NetStream.Publish.BadName"),
            (1, "onStatus", "NetStream.Play.Failed"),
        ]
    );
    let other = h.create_stream(8.0);
    h.send(other, command("publish", 9.0, vec![]));
    h.send(other, command("play", 10.0, vec![Value::Null]));
    assert_eq!(h.events(), []);
    assert_eq!(
        codes(&h.sent_commands()),
        [
            (2, "onStatus", "NetStream.Publish.BadName"),
            (2, "onStatus", "NetStream.Play.Failed"),
        ]
    );
    assert_eq!(h.server.publishing_name(stream), Some("cam"));
}

#[test]
fn stream_ids_are_reused_and_bounded() {
    let config = ServerConnectionConfig {
        session: SessionConfig {
            max_message_streams: 3,
            ..SessionConfig::default()
        },
        ..ServerConnectionConfig::default()
    };
    let mut h = Harness::connected(config);
    assert_eq!(
        [
            h.create_stream(2.0),
            h.create_stream(3.0),
            h.create_stream(4.0)
        ],
        [1, 2, 3]
    );
    h.send(0, command("createStream", 5.0, vec![]));
    assert_eq!(
        h.sent_commands(),
        [(
            0,
            Command::error(
                5.0,
                Value::Null,
                vec![Value::Object(status(
                    "error",
                    "NetConnection.Call.Failed",
                    "Too many streams on this connection."
                ))]
            )
        )]
    );
    h.send(0, command("deleteStream", 0.0, vec![2.0.into()]));
    assert_eq!(h.events(), [ServerEvent::StreamDeleted { stream: 2 }]);
    // Deleting what does not exist is harmless.
    h.send(0, command("deleteStream", 0.0, vec![2.0.into()]));
    h.send(0, command("deleteStream", 0.0, vec![(-1.0).into()]));
    h.send(0, command("deleteStream", 0.0, vec![]));
    assert_eq!(h.events(), []);
    assert_eq!(h.create_stream(6.0), 2);
    assert!(!h.server.is_closed());
}

#[test]
fn netconnection_commands_answered_by_the_server() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    h.send(0, command("_checkbw", 2.0, vec![]));
    h.send(0, command("FCSubscribe", 3.0, vec!["cap".into()]));
    h.send(0, command("FCUnsubscribe", 4.0, vec!["cap".into()]));
    // No answer is expected for transaction id 0.
    h.send(0, command("releaseStream", 0.0, vec!["cap".into()]));
    // FCUnpublish of a name nobody publishes: answered, no event.
    h.send(0, command("FCUnpublish", 5.0, vec!["nobody".into()]));
    assert_eq!(h.events(), []);
    let sent = h.sent_commands();
    assert_eq!(
        codes(&sent),
        [
            (0, "_result", ""),
            (0, "_result", ""),
            (0, "onFCSubscribe", "NetStream.Play.Start"),
            (0, "_result", ""),
            (0, "_result", ""),
            (0, "onFCUnpublish", "NetStream.Unpublish.Success"),
        ]
    );
    let transaction_ids: Vec<f64> = sent
        .iter()
        .filter(|(_, c)| c.name == "_result")
        .map(|(_, c)| c.transaction_id)
        .collect();
    assert_eq!(transaction_ids, [2.0, 3.0, 4.0, 5.0]);
}

#[test]
fn stream_control_commands() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.playing("cap");
    h.send(
        stream,
        command("pause", 5.0, vec![true.into(), 1234.0.into()]),
    );
    h.send(
        stream,
        command("pause", 6.0, vec![false.into(), 1234.0.into()]),
    );
    h.send(stream, command("seek", 7.0, vec![5000.0.into()]));
    h.send(stream, command("receiveAudio", 0.0, vec![false.into()]));
    h.send(stream, command("receiveVideo", 0.0, vec![true.into()]));
    let parameters = amf_object! { "streamName" => "cap_hd", "transition" => "switch" };
    h.send(stream, command("play2", 0.0, vec![parameters.clone()]));
    assert_eq!(
        h.events(),
        [
            ServerEvent::Pause {
                stream,
                pause: true,
                position: 1234.0
            },
            ServerEvent::Pause {
                stream,
                pause: false,
                position: 1234.0
            },
            ServerEvent::Seek {
                stream,
                position: 5000.0
            },
            ServerEvent::ReceiveAudio {
                stream,
                enabled: false
            },
            ServerEvent::ReceiveVideo {
                stream,
                enabled: true
            },
            ServerEvent::Play2 { stream, parameters },
        ]
    );
    let sent = h.sent_commands();
    assert_eq!(
        codes(&sent),
        [
            (1, "onStatus", "NetStream.Pause.Notify"),
            (1, "onStatus", "NetStream.Unpause.Notify"),
            (1, "onStatus", "NetStream.Seek.Notify"),
        ]
    );
    assert_eq!(
        sent[0].1.argument(0).and_then(|i| i.get("details")),
        Some(&Value::from("cap"))
    );
    // closeStream stops playing; the stream stays and may play again.
    h.send(stream, command("closeStream", 0.0, vec![]));
    assert_eq!(h.events(), [ServerEvent::PlayStopped { stream }]);
    assert_eq!(h.take_sent(), []);
    assert_eq!(h.server.playing_name(stream), None);
    h.send(stream, command("play", 8.0, vec!["cap".into()]));
    assert!(matches!(
        h.events().as_slice(),
        [ServerEvent::PlayRequest(_)]
    ));
}

#[test]
fn close_stream_of_a_publisher() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.publishing("cam");
    h.send(stream, command("closeStream", 0.0, vec![]));
    assert_eq!(h.events(), [ServerEvent::Unpublished { stream }]);
    assert_eq!(
        codes(&h.sent_commands()),
        [(1, "onStatus", "NetStream.Unpublish.Success")]
    );
    // Media after closeStream is a violation: the stream no longer publishes.
    h.send(stream, Message::Audio(Bytes::from_static(AAC)));
    assert_eq!(
        h.events(),
        [ServerEvent::Closed(SessionError::Protocol(
            Violation::MediaWithoutPublish {
                kind: MediaKind::Audio,
                stream: 1
            }
        ))]
    );
}

#[test]
fn unknown_commands_are_answered_error_at_once_by_default() {
    let mut config = ServerConnectionConfig::default();
    config.options.stream_timeout = None;
    let mut h = Harness::connected(config);
    h.send(0, command("checkBandwidth", 9.0, vec!["x".into()]));
    h.send(0, command("onWhatever", 0.0, vec![]));
    // Names are compared exactly: this is not createStream.
    h.send(0, command("createstream", 10.0, vec![]));
    assert_eq!(
        h.events(),
        [
            ServerEvent::Call(CallRequest {
                id: None,
                stream: 0,
                name: String::from("checkBandwidth"),
                transaction_id: 9.0,
                command_object: Value::Null,
                arguments: vec!["x".into()],
            }),
            ServerEvent::Call(CallRequest {
                id: None,
                stream: 0,
                name: String::from("onWhatever"),
                transaction_id: 0.0,
                command_object: Value::Null,
                arguments: vec![],
            }),
            ServerEvent::Call(CallRequest {
                id: None,
                stream: 0,
                name: String::from("createstream"),
                transaction_id: 10.0,
                command_object: Value::Null,
                arguments: vec![],
            }),
        ]
    );
    let failed = |tid| {
        (
            0,
            Command::error(
                tid,
                Value::Null,
                vec![Value::Object(status(
                    "error",
                    "NetConnection.Call.Failed",
                    "Method not found.",
                ))],
            ),
        )
    };
    assert_eq!(h.sent_commands(), [failed(9.0), failed(10.0)]);
    assert_eq!(
        h.server.poll_timeout(),
        Some(Instant::from_millis(60_000)),
        "the idle timeout only: no call awaits an answer"
    );
}

#[test]
fn unknown_commands_answered_by_the_application() {
    let config = ServerConnectionConfig {
        session: SessionConfig {
            idle_timeout: None,
            ..SessionConfig::default()
        },
        options: ServerOptions {
            call_answer_timeout: Some(Duration::from_secs(5)),
            stream_timeout: None,
            ..ServerOptions::default()
        },
        ..ServerConnectionConfig::default()
    };
    let mut h = Harness::connected(config);
    let stream = h.create_stream(2.0);
    h.send(0, command("getToken", 3.0, vec![]));
    h.send(stream, command("mark", 4.0, vec![]));
    h.send(0, command("noAnswer", 5.0, vec![]));
    h.send(0, command("notify", 0.0, vec![]));
    let ids: Vec<Option<RequestId>> = h
        .events()
        .into_iter()
        .map(|event| match event {
            ServerEvent::Call(call) => call.id,
            other => panic!("expected a call, got {other:?}"),
        })
        .collect();
    let [Some(token), Some(mark), Some(_), None] = ids[..] else {
        panic!("unexpected ids {ids:?}");
    };
    assert_eq!(h.take_sent(), []);
    h.server
        .respond_call(token, Value::Null, vec!["abc".into()])
        .unwrap();
    h.server.reject_call(mark, "Unknown here.").unwrap();
    assert_eq!(
        h.server.reject_call(mark, "again"),
        Err(ApiError::UnknownRequest(mark.get()))
    );
    h.drive();
    assert_eq!(
        h.sent_commands(),
        [
            (0, Command::result(3.0, Value::Null, vec!["abc".into()])),
            (
                stream,
                Command::error(
                    4.0,
                    Value::Null,
                    vec![Value::Object(status(
                        "error",
                        "NetConnection.Call.Failed",
                        "Unknown here."
                    ))]
                )
            ),
        ]
    );
    // The third call is answered when its time is up.
    assert_eq!(h.server.poll_timeout(), Some(Instant::from_millis(5_000)));
    h.server.handle_timeout(Instant::from_millis(4_999));
    h.drive();
    assert_eq!(h.take_sent(), []);
    h.server.handle_timeout(Instant::from_millis(5_000));
    h.drive();
    let sent = h.sent_commands();
    assert_eq!(codes(&sent), [(0, "_error", "NetConnection.Call.Failed")]);
    assert_eq!(sent[0].1.transaction_id, 5.0);
    assert_eq!(h.server.poll_timeout(), None);
}

#[test]
fn a_flood_of_requests_ends_the_connection_with_a_typed_error() {
    let config = ServerConnectionConfig {
        session: SessionConfig {
            max_pending_requests: 4,
            ..SessionConfig::default()
        },
        options: ServerOptions {
            call_answer_timeout: Some(Duration::from_secs(5)),
            ..ServerOptions::default()
        },
        ..ServerConnectionConfig::default()
    };
    let mut h = Harness::connected(config.clone());
    for tid in 2..6 {
        h.send(0, command("lookup", f64::from(tid), vec![]));
    }
    assert_eq!(h.events().len(), 4);
    assert!(!h.server.is_closed());
    h.send(0, command("lookup", 6.0, vec![]));
    let expected = SessionError::TooManyPendingRequests { limit: 4 };
    assert_eq!(h.events(), [ServerEvent::Closed(expected.clone())]);
    assert_eq!(h.server.handle_input(h.now, &[]), Err(expected.clone()));
    assert_eq!(h.server.error(), Some(&expected));
    assert_eq!(
        h.server.respond_call(RequestId(1), Value::Null, vec![]),
        Err(ApiError::Closed)
    );

    // Requests piled up behind an unanswered connect count too.
    let mut h = Harness::new(config);
    let _ = h
        .client
        .send_message(0, 0, &connect(amf_object! { "app" => "live" }))
        .unwrap();
    for tid in 2..6 {
        let _ = h
            .client
            .send_message(0, 0, &command("createStream", f64::from(tid), vec![]))
            .unwrap();
    }
    h.drive();
    let events = h.events();
    assert!(matches!(
        events.as_slice(),
        [
            ServerEvent::ConnectRequest(_),
            ServerEvent::Closed(SessionError::TooManyPendingRequests { limit: 4 })
        ]
    ));
}

#[test]
fn held_input_is_bounded() {
    let config = ServerConnectionConfig {
        options: ServerOptions {
            max_held_bytes: 10_000,
            ..ServerOptions::default()
        },
        ..ServerConnectionConfig::default()
    };
    let mut h = Harness::connected(config);
    let stream = h.create_stream(2.0);
    h.send(stream, command("publish", 3.0, vec!["cap".into()]));
    let frame = Bytes::from(vec![0x27; 3000]);
    for _ in 0..3 {
        h.send(stream, Message::Video(frame.clone()));
    }
    assert!(matches!(
        h.events().as_slice(),
        [ServerEvent::PublishRequest(_)]
    ));
    h.send(stream, Message::Video(frame));
    assert!(matches!(
        h.events().as_slice(),
        [ServerEvent::Closed(SessionError::HeldInputFull {
            limit: 10_000
        })]
    ));
}

#[test]
fn media_where_nothing_publishes_is_a_violation() {
    for stream in [0, 1, 7] {
        let mut h = Harness::connected(ServerConnectionConfig::default());
        let _ = h.playing("cap");
        h.send(stream, Message::Video(Bytes::from_static(KEYFRAME)));
        assert_eq!(
            h.events(),
            [ServerEvent::Closed(SessionError::Protocol(
                Violation::MediaWithoutPublish {
                    kind: MediaKind::Video,
                    stream
                }
            ))]
        );
        assert!(h.server.is_closed());
    }
}

#[test]
fn commands_before_connect_are_a_violation() {
    let mut h = Harness::new(ServerConnectionConfig::default());
    h.send(0, command("createStream", 2.0, vec![]));
    assert_eq!(
        h.events(),
        [ServerEvent::Closed(SessionError::Protocol(
            Violation::CommandBeforeConnect {
                command: String::from("createStream")
            }
        ))]
    );
    let mut h = Harness::connected(ServerConnectionConfig::default());
    h.send(0, connect(amf_object! { "app" => "again" }));
    assert_eq!(
        h.events(),
        [ServerEvent::Closed(SessionError::Protocol(
            Violation::SecondConnect
        ))]
    );
    let mut h = Harness::connected(ServerConnectionConfig::default());
    h.send(3, command("play", 2.0, vec!["x".into()]));
    assert_eq!(
        h.events(),
        [ServerEvent::Closed(SessionError::Protocol(
            Violation::UnknownStream {
                command: String::from("play"),
                stream: 3
            }
        ))]
    );
}

#[test]
fn a_peer_fault_ends_the_connection_for_good() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.publishing("cam");
    h.send(stream, Message::Video(Bytes::from_static(KEYFRAME)));
    // A command message whose name is not a string.
    let raw = RawMessage {
        timestamp: 0,
        type_id: type_id::COMMAND_AMF0,
        stream_id: 0,
        payload: Bytes::from_static(&[0x00, 0, 0, 0, 0, 0, 0, 0, 0]),
    };
    let _ = h
        .client
        .send(
            crate::session::queue::Priority::Command,
            crate::chunk::ChunkStreamId::COMMAND,
            raw,
        )
        .unwrap();
    h.drive();
    let events = h.events();
    assert_eq!(events.len(), 2);
    assert!(matches!(events[0], ServerEvent::Video { .. }));
    let ServerEvent::Closed(error) = &events[1] else {
        panic!("expected Closed, got {:?}", events[1]);
    };
    assert!(matches!(error, SessionError::Message(_)), "{error:?}");
    assert_eq!(h.server.handle_input(h.now, &[1, 2, 3]), Err(error.clone()));
    assert_eq!(
        h.server.handle_input_bytes(h.now, Bytes::new()),
        Err(error.clone())
    );
    assert_eq!(h.server.poll_event(), None);
    assert_eq!(
        h.server.send_status(stream, StatusLevel::Status, "x", "y"),
        Err(ApiError::Closed)
    );
    assert_eq!(h.server.ping(h.now), Err(ApiError::Closed));
    h.server.handle_timeout(Instant::from_millis(1_000_000));
    assert_eq!(h.server.poll_event(), None);
}

#[test]
fn amf3_clients_get_amf3_answers() {
    let mut h = Harness::new(ServerConnectionConfig::default());
    let amf3 = |message: Message| match message {
        Message::Command(c) => Message::Command(c.with_encoding(AmfEncoding::Amf3)),
        other => other,
    };
    h.send(
        0,
        amf3(connect(
            amf_object! { "app" => "live", "objectEncoding" => 3.0 },
        )),
    );
    let request = h.connect_request();
    assert_eq!(request.object_encoding, Some(3.0));
    h.server.accept_connect(request.id).unwrap();
    h.drive();
    let sent = h.sent_commands();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.encoding, AmfEncoding::Amf3);
    assert_eq!(
        sent[0].1.argument(0).and_then(|i| i.get("objectEncoding")),
        Some(&Value::from(3.0))
    );
    h.send(0, amf3(command("createStream", 2.0, vec![])));
    let sent = h.sent_commands();
    assert_eq!(sent[0].1.encoding, AmfEncoding::Amf3);
    h.send(1, amf3(command("publish", 3.0, vec!["cam".into()])));
    let Some(ServerEvent::PublishRequest(request)) = h.events().pop() else {
        panic!("expected a publish request");
    };
    h.server.accept_publish(request.id).unwrap();
    let _ = h
        .server
        .send_status(
            0,
            StatusLevel::Status,
            "NetConnection.Connect.ReconnectRequest",
            "Go.",
        )
        .unwrap();
    h.drive();
    let sent = h.sent_commands();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(_, c)| c.encoding == AmfEncoding::Amf3));
}

#[test]
fn enhanced_rtmp_capabilities_are_echoed() {
    let options = ServerOptions {
        supported_fourccs: Some(vec![
            String::from("hvc1"),
            String::from("av01"),
            String::from("avc1"),
        ]),
        ..ServerOptions::default()
    };
    let mut h = Harness::new(ServerConnectionConfig {
        options,
        ..ServerConnectionConfig::default()
    });
    let object = amf_object! {
        "app" => "live",
        "fourCcList" => vec!["av01", "vp09", "hvc1"],
        "videoFourCcInfoMap" => amf_object! { "hvc1" => 3.0, "vp09" => 1.0 },
        "audioFourCcInfoMap" => amf_object! { "*" => 4.0 },
        "capsEx" => 15.0,
    };
    h.send(0, connect(object));
    let request = h.connect_request();
    assert_eq!(
        request.fourcc_list,
        Some(vec![
            String::from("av01"),
            String::from("vp09"),
            String::from("hvc1")
        ])
    );
    assert_eq!(request.caps_ex, Some(15));
    h.server.accept_connect(request.id).unwrap();
    h.drive();
    let sent = h.sent_commands();
    assert_eq!(
        sent[0].1.command_object,
        amf_object! {
            "fmsVer" => "FMS/3,0,1,123",
            "capabilities" => 31.0,
            "mode" => 1.0,
            "fourCcList" => vec!["av01", "hvc1"],
            "videoFourCcInfoMap" => amf_object! { "hvc1" => 4.0 },
            "audioFourCcInfoMap" => amf_object! { "hvc1" => 4.0, "av01" => 4.0, "avc1" => 4.0 },
            "capsEx" => 14.0,
        }
    );

    // Without a list of our own, every codec the client names is taken.
    let mut h = Harness::new(ServerConnectionConfig::default());
    h.send(
        0,
        connect(amf_object! { "app" => "live", "fourCcList" => vec!["av01", "*"] }),
    );
    let id = h.connect_request().id;
    h.server.accept_connect(id).unwrap();
    h.drive();
    let sent = h.sent_commands();
    assert_eq!(
        sent[0].1.command_object.get("fourCcList"),
        Some(&Value::from(vec!["av01", "*"]))
    );
    assert_eq!(sent[0].1.command_object.get("capsEx"), None);
}

#[test]
fn aggregates_become_media_events() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.publishing("cam");
    let mut builder = AggregateBuilder::new(stream);
    builder.push(1000, type_id::VIDEO, KEYFRAME).unwrap();
    builder.push(1020, type_id::AUDIO, AAC).unwrap();
    let metadata = Message::Data(Data::on_metadata(amf_object! { "a" => 1.0 }));
    builder
        .push_message(&metadata.to_raw(1030, 0).unwrap())
        .unwrap();
    let aggregate = builder.finish();
    let _ = h
        .client
        .send(
            crate::session::queue::Priority::Video,
            crate::chunk::ChunkStreamId::VIDEO,
            RawMessage {
                timestamp: 5000,
                ..aggregate
            },
        )
        .unwrap();
    h.drive();
    assert_eq!(
        h.events(),
        [
            ServerEvent::Video {
                stream,
                timestamp: 5000,
                payload: Bytes::from_static(KEYFRAME)
            },
            ServerEvent::Audio {
                stream,
                timestamp: 5020,
                payload: Bytes::from_static(AAC)
            },
            ServerEvent::Metadata {
                stream,
                timestamp: 5030,
                metadata: amf_object! { "a" => 1.0 }
            },
        ]
    );
}

#[test]
fn data_messages() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.publishing("cam");
    let metadata = amf_object! { "width" => 1280.0 };
    h.send_at(
        stream,
        7,
        Message::Data(Data::on_metadata(metadata.clone())),
    );
    let cue = Data::new(vec!["onCuePoint".into(), amf_object! { "name" => "x" }]);
    h.send_at(stream, 8, Message::Data(cue.clone()));
    h.send(0, Message::Data(cue.clone()));
    assert_eq!(
        h.events(),
        [
            ServerEvent::Metadata {
                stream,
                timestamp: 7,
                metadata
            },
            ServerEvent::Data {
                stream,
                timestamp: 8,
                data: cue.clone()
            },
            ServerEvent::Data {
                stream: 0,
                timestamp: 0,
                data: cue.clone()
            },
        ]
    );
    h.send(9, Message::Data(cue));
    assert!(matches!(
        h.events().as_slice(),
        [ServerEvent::Closed(SessionError::Protocol(
            Violation::DataOnUnknownStream { stream: 9 }
        ))]
    ));
}

#[test]
fn calls_on_the_client_are_matched_by_transaction_id() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let first = h.server.call("whoAreYou", vec!["?".into()]).unwrap();
    let second = h.server.call("ping", vec![]).unwrap();
    assert_ne!(first, second);
    h.drive();
    let sent = h.sent_commands();
    assert_eq!(
        sent,
        [
            (
                0,
                Command::new(
                    "whoAreYou",
                    f64::from(first.transaction_id()),
                    Value::Null,
                    vec!["?".into()]
                )
            ),
            (
                0,
                Command::new(
                    "ping",
                    f64::from(second.transaction_id()),
                    Value::Null,
                    vec![]
                )
            ),
        ]
    );
    let tid = |call: CallId| f64::from(call.transaction_id());
    h.send(
        0,
        Message::Command(Command::error(tid(second), Value::Null, vec!["no".into()])),
    );
    h.send(
        0,
        Message::Command(Command::result(tid(first), Value::Null, vec!["me".into()])),
    );
    // Answers to nothing, or twice, are ignored.
    h.send(
        0,
        Message::Command(Command::result(tid(first), Value::Null, vec![])),
    );
    h.send(
        0,
        Message::Command(Command::result(99.5, Value::Null, vec![])),
    );
    assert_eq!(
        h.events(),
        [
            ServerEvent::CallResult {
                call: second,
                outcome: CallOutcome::Error,
                command_object: Value::Null,
                arguments: vec!["no".into()]
            },
            ServerEvent::CallResult {
                call: first,
                outcome: CallOutcome::Result,
                command_object: Value::Null,
                arguments: vec!["me".into()]
            },
        ]
    );
}

#[test]
fn calls_are_bounded_and_need_a_connection() {
    let mut h = Harness::new(ServerConnectionConfig::default());
    assert_eq!(
        h.server.call("x", vec![]),
        Err(ApiError::InvalidState("calls need an accepted connect"))
    );
    let config = ServerConnectionConfig {
        session: SessionConfig {
            max_pending_requests: 2,
            ..SessionConfig::default()
        },
        ..ServerConnectionConfig::default()
    };
    let mut h = Harness::connected(config);
    h.server.call("a", vec![]).unwrap();
    h.server.call("b", vec![]).unwrap();
    assert_eq!(
        h.server.call("c", vec![]),
        Err(ApiError::InvalidState("too many calls await their answers"))
    );
}

#[test]
fn statuses_and_stream_notices() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.playing("cap");
    let _ = h
        .server
        .send_status(
            stream,
            StatusLevel::Status,
            "NetStream.Play.UnpublishNotify",
            "cap is gone.",
        )
        .unwrap();
    let _ = h.server.send_stream_eof(stream).unwrap();
    let _ = h.server.send_stream_dry(stream).unwrap();
    let _ = h
        .server
        .send_status_object(
            stream,
            status("warning", "NetStream.Play.InsufficientBW", "Slow.").with("details", "cap"),
        )
        .unwrap();
    assert_eq!(
        h.server.send_status(9, StatusLevel::Error, "x", "y"),
        Err(ApiError::UnknownStream(9))
    );
    assert_eq!(h.server.send_stream_eof(9), Err(ApiError::UnknownStream(9)));
    assert_eq!(
        h.server.send_data(9, 0, Data::default()),
        Err(ApiError::UnknownStream(9))
    );
    h.drive();
    let sent: Vec<(u32, Message)> = h
        .take_sent()
        .into_iter()
        .map(|s| (s.stream, s.message))
        .collect();
    assert_eq!(
        sent,
        [
            (
                1,
                Message::Command(Command::on_status(Value::Object(status(
                    "status",
                    "NetStream.Play.UnpublishNotify",
                    "cap is gone."
                ))))
            ),
            (
                0,
                Message::UserControl(UserControl::StreamEof { stream_id: 1 })
            ),
            (
                0,
                Message::UserControl(UserControl::StreamDry { stream_id: 1 })
            ),
            (
                1,
                Message::Command(Command::on_status(Value::Object(
                    status("warning", "NetStream.Play.InsufficientBW", "Slow.")
                        .with("details", "cap")
                )))
            ),
        ]
    );
    assert_eq!(StatusLevel::Error.as_str(), "error");
}

#[test]
fn ping_measures_the_round_trip() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    h.now = Instant::from_millis(100);
    h.server.ping(h.now).unwrap();
    let Some(out) = h.server.poll_transmit() else {
        panic!("a ping request is due");
    };
    let mut bytes = Vec::new();
    out.copy_to(&mut bytes);
    out.clear();
    h.client.handle_input(h.now, &bytes).unwrap();
    h.now = Instant::from_millis(130);
    h.drive();
    assert_eq!(
        h.events(),
        [ServerEvent::PingResponse {
            round_trip: Duration::from_millis(30)
        }]
    );
    assert_eq!(h.server.round_trip(), Some(Duration::from_millis(30)));
}

#[test]
fn writable_after_congestion() {
    let config = ServerConnectionConfig {
        session: SessionConfig {
            outbound_high_water: 1000,
            outbound_low_water: 100,
            ..SessionConfig::default()
        },
        ..ServerConnectionConfig::default()
    };
    let mut h = Harness::connected(config);
    let stream = h.playing("cap");
    let big = Bytes::from(vec![0x17; 2000]);
    assert_eq!(
        h.server.send_video(stream, 0, big.clone()),
        Ok(SendStatus::AboveHighWater)
    );
    assert_eq!(
        h.server.send_video(stream, 40, Bytes::from_static(INTER)),
        Ok(SendStatus::DroppedVideo)
    );
    assert!(h.server.pending_bytes() >= 2000);
    h.drive();
    assert_eq!(h.events(), [ServerEvent::Writable]);
}

#[test]
fn nothing_follows_closed_even_when_the_queue_drains() {
    // Found by fuzzing: a Writable after Closed, from output written after the close.
    let config = ServerConnectionConfig {
        session: SessionConfig {
            outbound_high_water: 1000,
            outbound_low_water: 100,
            ..SessionConfig::default()
        },
        ..ServerConnectionConfig::default()
    };
    let mut h = Harness::connected(config);
    let stream = h.playing("cap");
    let big = Bytes::from(vec![0x17; 2000]);
    assert_eq!(
        h.server.send_video(stream, 0, big),
        Ok(SendStatus::AboveHighWater)
    );
    // Not a close of ours, after which input is no longer looked at: a timeout.
    h.server.handle_timeout(Instant::from_millis(60_000));
    assert_eq!(h.events(), [ServerEvent::Closed(SessionError::IdleTimeout)]);
    h.drive();
    assert!(h.take_sent().len() == 1, "what was queued is still written");
    assert_eq!(h.events(), []);
}

#[test]
fn idle_peers_time_out() {
    let mut config = ServerConnectionConfig::default();
    config.options.stream_timeout = None;
    let mut h = Harness::connected(config);
    assert_eq!(h.server.poll_timeout(), Some(Instant::from_millis(60_000)));
    h.server.handle_timeout(Instant::from_millis(60_000));
    assert_eq!(h.events(), [ServerEvent::Closed(SessionError::IdleTimeout)]);
    assert_eq!(h.server.poll_timeout(), None);
}

#[test]
fn close_by_the_application() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let stream = h.publishing("cam");
    h.server.close();
    assert_eq!(h.events(), [ServerEvent::Closed(SessionError::Closed)]);
    assert_eq!(
        h.server.send_data(stream, 0, Data::default()),
        Err(ApiError::Closed)
    );
    // Input decoded after the close is not looked at.
    assert_eq!(h.server.handle_input(h.now, &[]), Err(SessionError::Closed));
    assert_eq!(h.server.poll_event(), None);
}

#[test]
fn shared_objects_and_other_messages_pass() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let shared_object = crate::message::SharedObject {
        name: String::from("room"),
        version: 0,
        flags: 0,
        reserved: 0,
        events: vec![SharedObjectEvent::Use],
        encoding: AmfEncoding::Amf0,
    };
    h.send(0, Message::SharedObject(shared_object.clone()));
    h.send(
        0,
        Message::UserControl(UserControl::BufferEmpty { stream_id: 1 }),
    );
    h.send(
        0,
        Message::Unknown {
            type_id: 99,
            payload: Bytes::from_static(b"?"),
        },
    );
    assert_eq!(
        h.events(),
        [ServerEvent::SharedObject {
            stream: 0,
            message: shared_object
        }]
    );
}

#[test]
fn held_sizes_count_decoded_values() {
    use super::held::held_size;
    let big = Value::StrictArray(vec![Value::from("x".repeat(100)); 10]);
    let small = Message::Data(Data::new(vec![Value::Null]));
    let large = Message::Data(Data::new(vec![big]));
    assert!(held_size(&large) > held_size(&small) + 1000);
    let video = Message::Video(Bytes::from(vec![0; 5000]));
    assert!(held_size(&video) >= 5000);
}
