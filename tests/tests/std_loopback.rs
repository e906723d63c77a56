//! Our blocking client against our blocking server, over TCP loopback and over an in-memory
//! pipe: the transport is one generic parameter, the exchange is the same.

mod std_support;

use std::time::Duration;

use bytes::Bytes;
use rtmp_std::client::{Client, ClientOptions, Frame, Player, Publisher};
use rtmp_std::proto::amf::{Object, Value};
use rtmp_std::proto::session::server::{ServerConnectionConfig, ServerEvent};
use rtmp_std::relay::Relay;
use rtmp_std::server::ServerSession;
use rtmp_std::{Error, Refusal, Transport};
use std_support::{pipe, wait_until, PipeEnd, RelayServer};

/// A tiny stream: AVC and AAC sequence headers, a keyframe and inter frames, audio between.
fn media() -> Vec<Frame> {
    let mut frames = vec![
        Frame::Video {
            timestamp: 0,
            payload: Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F]),
        },
        Frame::Audio {
            timestamp: 0,
            payload: Bytes::from_static(&[0xAF, 0, 0x12, 0x10]),
        },
    ];
    for index in 0..40u32 {
        let key = if index % 10 == 0 { 0x17 } else { 0x27 };
        // Some frames span several chunks.
        let size = 10 + (index as usize * 997) % 9000;
        let mut video = vec![key, 1, 0, 0, 0];
        video.extend((0..size).map(|byte| (byte as u32 ^ index) as u8));
        frames.push(Frame::Video {
            timestamp: index * 40,
            payload: video.into(),
        });
        frames.push(Frame::Audio {
            timestamp: index * 40 + 20,
            payload: Bytes::from(vec![0xAF, 1, index as u8, 7, 7]),
        });
    }
    frames
}

fn metadata() -> Value {
    Value::Object(Object::new().with("width", 160.0).with("height", 120.0))
}

/// Publishes [`media`] to a player that waits for it, and checks what the player receives,
/// including the answers to its pause, resume and seek and to a call the server does not know.
fn exchange<S: Transport + Send + 'static>(
    mut publisher: Publisher<S>,
    mut player: Player<S>,
    relay: &Relay,
) {
    player.pause().expect("pause");
    player.resume().expect("resume");
    player.seek(0).expect("seek");
    let refused = player
        .client()
        .call("noSuchProcedure", vec![Value::from("x")])
        .expect_err("the server knows no such procedure");
    assert!(
        matches!(&refused, Error::Refused(Refusal::CallFailed { code, .. }) if code == "NetConnection.Call.Failed"),
        "{refused}"
    );
    let receiving = std::thread::spawn(move || {
        let mut frames = Vec::new();
        while let Some(frame) = player.next_frame().expect("a frame") {
            frames.push(frame);
        }
        player.close().expect("close politely");
        frames
    });
    wait_until("the relay has the player", || {
        relay.players("live/cam") == 1
    });

    let _ = publisher.send_metadata(metadata()).expect("metadata");
    for frame in media() {
        let _ = match frame {
            Frame::Video { timestamp, payload } => publisher.send_video(timestamp, payload),
            Frame::Audio { timestamp, payload } => publisher.send_audio(timestamp, payload),
            other => unreachable!("{other:?}"),
        }
        .expect("send");
    }
    publisher.close().expect("close politely");

    let received = receiving.join().expect("the player's thread");
    let mut codes: Vec<&str> = received
        .iter()
        .filter_map(|frame| match frame {
            Frame::Status(status) => Some(status.code.as_str()),
            _ => None,
        })
        .collect();
    // The player hears of the publisher's start only if it played first, and then at some
    // point among the answers to its own commands.
    let publish_notify = "NetStream.Play.PublishNotify";
    assert!(codes.iter().filter(|code| **code == publish_notify).count() <= 1);
    codes.retain(|code| *code != publish_notify);
    assert_eq!(
        codes,
        [
            "NetStream.Play.Reset",
            "NetStream.Play.Start",
            "NetStream.Pause.Notify",
            "NetStream.Unpause.Notify",
            "NetStream.Seek.Notify",
            "NetStream.Play.UnpublishNotify"
        ]
    );
    assert!(received.contains(&Frame::Metadata(metadata())));
    let of_kind = |frames: &[Frame], video: bool| -> Vec<Frame> {
        frames
            .iter()
            .filter(|frame| match frame {
                Frame::Video { .. } => video,
                Frame::Audio { .. } => !video,
                _ => false,
            })
            .cloned()
            .collect()
    };
    let sent = media();
    // Each codec's frames in order; the outbound queue may send a write's audio before its
    // video.
    assert_eq!(
        of_kind(&received, true),
        of_kind(&sent, true),
        "video differs"
    );
    assert_eq!(
        of_kind(&received, false),
        of_kind(&sent, false),
        "audio differs"
    );
}

#[test]
fn std_client_and_server_over_tcp() {
    let server = RelayServer::start();
    let url = server.url("cam");
    let options = ClientOptions::default().with_read_timeout(Some(Duration::from_secs(10)));
    let player = Client::connect_with(&url, options)
        .unwrap()
        .play("cam")
        .unwrap();
    let publisher = Client::connect_with(&url, ClientOptions::publisher())
        .unwrap()
        .publish("cam")
        .unwrap();
    exchange(publisher, player, &server.relay);
    assert!(!server.relay.is_published("live/cam"));
}

/// Serves one end of a pipe with `relay` on a thread of its own.
fn serve_pipe(relay: &Relay) -> PipeEnd {
    let (client_end, server_end) = pipe(64 * 1024);
    let relay = relay.clone();
    std::thread::spawn(move || {
        let session = ServerSession::new(server_end, ServerConnectionConfig::default());
        let _ = relay.handle(session);
    });
    client_end
}

#[test]
fn std_client_and_server_over_an_in_memory_pipe() {
    let relay = Relay::new();
    let url = "rtmp://in-memory/live";
    let options = ClientOptions::default().with_read_timeout(Some(Duration::from_secs(10)));
    let player = Client::connect_over(serve_pipe(&relay), url, options)
        .unwrap()
        .play("cam")
        .unwrap();
    let publisher = Client::connect_over(serve_pipe(&relay), url, ClientOptions::publisher())
        .unwrap()
        .publish("cam")
        .unwrap();
    exchange(publisher, player, &relay);
    wait_until("the stream is gone", || !relay.is_published("live/cam"));
}

#[test]
fn refusals_say_what_went_wrong() {
    // A server that refuses every connect.
    let (client_end, server_end) = pipe(64 * 1024);
    let refusing = std::thread::spawn(move || {
        let mut session = ServerSession::new(server_end, ServerConnectionConfig::default());
        while let Ok(event) = session.next_event() {
            if let ServerEvent::ConnectRequest(request) = event {
                session.reject_connect(request.id, "no entry").unwrap();
            }
        }
    });
    let error = Client::connect_over(
        client_end,
        "rtmp://in-memory/live",
        ClientOptions::default(),
    )
    .err()
    .expect("the connect is refused");
    assert_eq!(
        error.to_string(),
        "connection rejected: NetConnection.Connect.Rejected: no entry"
    );
    refusing.join().unwrap();

    // One publisher per name at the relay.
    let relay = Relay::new();
    let url = "rtmp://in-memory/live";
    let first = Client::connect_over(serve_pipe(&relay), url, ClientOptions::publisher())
        .unwrap()
        .publish("taken")
        .unwrap();
    let error = Client::connect_over(serve_pipe(&relay), url, ClientOptions::publisher())
        .unwrap()
        .publish("taken")
        .err()
        .expect("the name is taken");
    assert!(
        error
            .to_string()
            .starts_with("publish rejected: NetStream.Publish.BadName: "),
        "{error}"
    );
    first.close().unwrap();
}

#[test]
fn a_read_timeout_leaves_the_connection_usable() {
    let relay = Relay::new();
    let url = "rtmp://in-memory/live";
    let options = ClientOptions::default().with_read_timeout(Some(Duration::from_millis(200)));
    let mut player = Client::connect_over(serve_pipe(&relay), url, options)
        .unwrap()
        .play("later")
        .unwrap();
    let error = loop {
        match player.next_frame() {
            // NetStream.Play.Reset and Start, |RtmpSampleAccess.
            Ok(Some(Frame::Status(_) | Frame::Data { .. })) => continue,
            other => break other.expect_err("nothing is published yet"),
        }
    };
    assert!(error.is_timeout(), "{error}");

    let mut publisher = Client::connect_over(serve_pipe(&relay), url, ClientOptions::publisher())
        .unwrap()
        .publish("later")
        .unwrap();
    let keyframe = Bytes::from_static(&[0x17, 1, 0, 0, 0, 9]);
    let _ = publisher.send_video(7, keyframe.clone()).unwrap();
    player
        .client()
        .set_read_timeout(Some(Duration::from_secs(10)));
    match player.next_frame().unwrap() {
        Some(Frame::Status(status)) => assert_eq!(status.code, "NetStream.Play.PublishNotify"),
        other => panic!("not the PublishNotify: {other:?}"),
    }
    assert_eq!(
        player.next_frame().unwrap(),
        Some(Frame::Video {
            timestamp: 7,
            payload: keyframe
        })
    );
    publisher.close().unwrap();
    player.close().unwrap();
}

#[test]
fn a_server_that_hangs_up_is_reported() {
    let (client_end, server_end) = pipe(64 * 1024);
    let hanging_up = std::thread::spawn(move || {
        let mut session = ServerSession::new(server_end, ServerConnectionConfig::default());
        loop {
            match session.next_event().unwrap() {
                ServerEvent::ConnectRequest(request) => {
                    session.accept_connect(request.id).unwrap();
                    session.flush().unwrap();
                    // Dropping the session drops its end of the pipe.
                    return;
                }
                ServerEvent::Closed(reason) => panic!("closed early: {reason}"),
                _ => {}
            }
        }
    });
    let mut client = Client::connect_over(
        client_end,
        "rtmp://in-memory/live",
        ClientOptions::default(),
    )
    .unwrap();
    hanging_up.join().unwrap();
    let reason = loop {
        match client.next_event() {
            Ok(_) => continue,
            Err(reason) => break reason,
        }
    };
    assert!(matches!(reason, Error::PeerClosed), "{reason}");
    assert_eq!(
        reason.to_string(),
        "the peer closed the connection",
        "the same reason every time"
    );
    assert!(matches!(client.next_event(), Err(Error::PeerClosed)));
}
