//! A publisher's move on a ReconnectRequest (Enhanced RTMP v2, "Reconnect"), end to end in
//! memory and virtual time: the test plays the adapter's publisher, [`Handover`] decides.
//! Each server is its own [`Pair`] (its URL names it); a move closes the old pair's client
//! and opens a new pair to the URL [`Handover::next_target`] gives.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;

use super::{Answer, Pair};
use crate::amf::{Object, Value};
use crate::session::client::{
    ClientConnectionConfig, ClientEvent, Handover, HandoverError, HandoverFrame, HandoverKind,
    PublishType, Route, RECONNECT_REQUEST,
};
use crate::session::server::{ServerConnectionConfig, ServerEvent, CAPS_EX_RECONNECT};

const ORIGINAL: &str = "rtmp://a.example/live";
const OTHER: &str = "rtmp://b.example/live";
const GOP: u32 = 10;

/// How the server at a URL answers a new connection.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    /// Accepts connect and publish.
    Up,
    /// Refuses connect.
    Refuses,
}

/// A publisher as an adapter drives it: one pair per connection, all it did on each.
struct Publisher {
    current: Pair,
    stream: u32,
    handover: Handover,
    /// Each finished connection: its URL and the media its server received, in order.
    done: Vec<(String, Vec<HandoverFrame>)>,
    url: String,
    servers: fn(&str) -> Server,
}

fn open(url: &str, server: Server) -> Option<(Pair, u32)> {
    let mut config = ClientConnectionConfig::publisher("live", url);
    config.connect.caps_ex = Some(CAPS_EX_RECONNECT);
    let mut pair = Pair::with_configs(config, ServerConnectionConfig::default());
    if server == Server::Refuses {
        pair.app.connect = Answer::Reject {
            code: "NetConnection.Connect.Rejected",
            description: "going away",
        };
    }
    pair.connect();
    let connected = pair
        .client_events()
        .iter()
        .any(|event| matches!(event, ClientEvent::Connected { .. }));
    if !connected {
        return None;
    }
    let stream = pair.publish("cam", PublishType::Live);
    let started = pair
        .client_events()
        .iter()
        .any(|event| matches!(event, ClientEvent::PublishStarted { .. }));
    let _ = pair.server_events();
    started.then_some((pair, stream))
}

/// The media a server received (metadata as a frame of its own kind is left out: checked
/// apart).
fn received(events: Vec<ServerEvent>) -> Vec<HandoverFrame> {
    events
        .into_iter()
        .filter_map(|event| match event {
            ServerEvent::Video {
                timestamp, payload, ..
            } => Some(HandoverFrame {
                kind: HandoverKind::Video,
                timestamp,
                payload,
            }),
            ServerEvent::Audio {
                timestamp, payload, ..
            } => Some(HandoverFrame {
                kind: HandoverKind::Audio,
                timestamp,
                payload,
            }),
            _ => None,
        })
        .collect()
}

impl Publisher {
    fn start(servers: fn(&str) -> Server) -> Self {
        let (current, stream) = open(ORIGINAL, servers(ORIGINAL)).expect("the first server");
        Publisher {
            current,
            stream,
            handover: Handover::new(ORIGINAL),
            done: Vec::new(),
            url: String::from(ORIGINAL),
            servers,
        }
    }

    /// The server asks to move, as a draining relay does.
    fn ask_to_move(&mut self, tc_url: Option<&str>) {
        let mut info = Object::new();
        info.insert("level", "status");
        info.insert("code", RECONNECT_REQUEST);
        if let Some(tc_url) = tc_url {
            info.insert("tcUrl", tc_url);
        }
        let _ = self
            .current
            .server
            .send_status_object(0, info)
            .expect("onStatus");
        self.current.drive();
    }

    /// Reads what the server said, as a publisher's send does.
    fn read_statuses(&mut self) {
        for event in self.current.client_events() {
            if let ClientEvent::Status { status, .. } = event {
                let _ = self.handover.on_status(&status);
            }
        }
    }

    fn send_metadata(&mut self, metadata: Value) {
        self.handover.note_metadata(&metadata);
        let _ = self.current.client.send_metadata(self.stream, metadata);
        self.current.drive();
    }

    fn send(&mut self, frame: HandoverFrame) -> Result<(), HandoverError> {
        self.read_statuses();
        match self.handover.route(frame.clone()) {
            Route::Send => {
                self.put(frame);
                Ok(())
            }
            Route::Move => self.move_on(),
        }
    }

    fn put(&mut self, frame: HandoverFrame) {
        let (stream, client) = (self.stream, &mut self.current.client);
        let _ = match frame.kind {
            HandoverKind::Video => client.send_video(stream, frame.timestamp, frame.payload),
            HandoverKind::Audio => client.send_audio(stream, frame.timestamp, frame.payload),
        }
        .expect("send");
        self.current.drive();
    }

    /// The adapter's part of a move: close the old connection after what it queued, dial the
    /// targets the core gives until one publishes, send metadata and the kept frames.
    fn move_on(&mut self) -> Result<(), HandoverError> {
        self.current.client.close();
        self.current.drive();
        let events = self.current.server_events();
        self.done.push((self.url.clone(), received(events)));
        let (pair, stream, url) = loop {
            let url = self.handover.next_target()?;
            if let Some((pair, stream)) = open(&url, (self.servers)(&url)) {
                break (pair, stream, url);
            }
        };
        (self.current, self.stream, self.url) = (pair, stream, url);
        if let Some(metadata) = self.handover.metadata().cloned() {
            let _ = self.current.client.send_metadata(self.stream, metadata);
        }
        let kept: Vec<_> = self.handover.resume().collect();
        for frame in kept {
            self.put(frame);
        }
        Ok(())
    }

    /// Ends the last connection; every connection's URL and what its server received.
    fn finish(mut self) -> Vec<(String, Vec<HandoverFrame>)> {
        self.current.client.close();
        self.current.drive();
        let events = self.current.server_events();
        self.done.push((self.url.clone(), received(events)));
        self.done
    }
}

fn video_header() -> HandoverFrame {
    HandoverFrame {
        kind: HandoverKind::Video,
        timestamp: 0,
        payload: Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1F]),
    }
}

fn audio_header() -> HandoverFrame {
    HandoverFrame {
        kind: HandoverKind::Audio,
        timestamp: 0,
        payload: Bytes::from_static(&[0xAF, 0x00, 0x12, 0x10]),
    }
}

/// Video frame `index` (a keyframe every `GOP`), its index in the payload.
fn video(index: u32) -> HandoverFrame {
    let first = if index % GOP == 0 { 0x17 } else { 0x27 };
    let mut payload = vec![first, 0x01, 0, 0, 0];
    payload.extend_from_slice(&index.to_be_bytes());
    HandoverFrame {
        kind: HandoverKind::Video,
        timestamp: index * 40,
        payload: Bytes::from(payload),
    }
}

/// AAC frame `index`, its index in the payload.
fn audio(index: u32) -> HandoverFrame {
    let mut payload = vec![0xAF, 0x01];
    payload.extend_from_slice(&index.to_be_bytes());
    HandoverFrame {
        kind: HandoverKind::Audio,
        timestamp: index * 23,
        payload: Bytes::from(payload),
    }
}

fn all_up(_: &str) -> Server {
    Server::Up
}

#[test]
fn a_publisher_asked_to_move_finishes_to_the_keyframe_then_the_new_server_gets_every_frame_once_in_order(
) {
    let mut publisher = Publisher::start(all_up);
    publisher.send_metadata(Value::Number(1.0));
    let mut sent = vec![video_header(), audio_header()];
    for frame in &sent {
        publisher.send(frame.clone()).unwrap();
    }
    for index in 0..60 {
        if index == 25 {
            publisher.ask_to_move(Some(OTHER));
        }
        // Audio between the video frames: only a keyframe cuts a stream with video.
        for frame in [video(index), audio(index)] {
            sent.push(frame.clone());
            publisher.send(frame).unwrap();
        }
    }
    let done = publisher.finish();
    assert_eq!(done.len(), 2);
    let (old_url, old) = &done[0];
    let (new_url, new) = &done[1];
    assert_eq!((old_url.as_str(), new_url.as_str()), (ORIGINAL, OTHER));
    // The old server got everything up to the first keyframe after the request, the new one
    // the headers again, then that keyframe and the rest: each frame once, in order.
    let cut = sent.iter().position(|frame| *frame == video(30)).unwrap();
    assert_eq!(old[..], sent[..cut]);
    assert_eq!(new[..2], [video_header(), audio_header()]);
    assert_eq!(new[2..], sent[cut..]);
}

#[test]
fn the_new_server_gets_the_metadata_first() {
    let mut publisher = Publisher::start(all_up);
    publisher.send_metadata(Value::Number(7.0));
    publisher.send(video_header()).unwrap();
    publisher.send(video(0)).unwrap();
    publisher.ask_to_move(Some(OTHER));
    publisher.read_statuses();
    // Look at the new server's events before `finish` sorts them.
    publisher.send(video(10)).unwrap();
    let events = publisher.current.server_events();
    let first_media = events
        .iter()
        .position(|event| matches!(event, ServerEvent::Video { .. }))
        .unwrap();
    let metadata = events
        .iter()
        .position(|event| matches!(event, ServerEvent::Metadata { metadata, .. } if *metadata == Value::Number(7.0)))
        .expect("the metadata on the new connection");
    assert!(metadata < first_media);
}

#[test]
fn an_audio_only_publisher_moves_at_the_next_audio_frame() {
    let mut publisher = Publisher::start(all_up);
    let mut sent = vec![audio_header()];
    publisher.send(audio_header()).unwrap();
    for index in 0..40 {
        if index == 17 {
            publisher.ask_to_move(None);
        }
        sent.push(audio(index));
        publisher.send(audio(index)).unwrap();
    }
    let done = publisher.finish();
    assert_eq!(done.len(), 2);
    assert_eq!(done[1].0, ORIGINAL, "no tcUrl: the same URL");
    let cut = sent.iter().position(|frame| *frame == audio(17)).unwrap();
    assert_eq!(done[0].1[..], sent[..cut]);
    assert_eq!(done[1].1[0], audio_header());
    assert_eq!(done[1].1[1..], sent[cut..]);
}

#[test]
fn when_the_named_server_refuses_the_publisher_falls_back_to_the_original_url() {
    fn b_refuses(url: &str) -> Server {
        if url == OTHER {
            Server::Refuses
        } else {
            Server::Up
        }
    }
    let mut publisher = Publisher::start(b_refuses);
    let mut sent = vec![video_header()];
    publisher.send(video_header()).unwrap();
    for index in 0..30 {
        if index == 5 {
            publisher.ask_to_move(Some(OTHER));
        }
        sent.push(video(index));
        publisher.send(video(index)).unwrap();
    }
    let done = publisher.finish();
    let urls: Vec<_> = done.iter().map(|(url, _)| url.as_str()).collect();
    assert_eq!(urls, [ORIGINAL, ORIGINAL]);
    let cut = sent.iter().position(|frame| *frame == video(10)).unwrap();
    assert_eq!(done[0].1[..], sent[..cut]);
    assert_eq!(done[1].1[0], video_header());
    assert_eq!(done[1].1[1..], sent[cut..]);
}

#[test]
fn when_no_server_takes_the_stream_the_move_gives_up_with_a_typed_error() {
    fn only_the_first(url: &str) -> Server {
        if url == ORIGINAL {
            // Up for the first connection only: the test swaps it below.
            Server::Up
        } else {
            Server::Refuses
        }
    }
    let mut publisher = Publisher::start(only_the_first);
    publisher.servers = |_| Server::Refuses;
    publisher.send(video_header()).unwrap();
    publisher.send(video(0)).unwrap();
    publisher.ask_to_move(Some(OTHER));
    assert_eq!(
        publisher.send(video(10)),
        Err(HandoverError::Unreachable {
            tried: vec![String::from(OTHER), String::from(ORIGINAL)]
        })
    );
}
