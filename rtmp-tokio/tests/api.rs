//! The shapes of the API: a player's frames and a server session's events as `Stream`s, and a
//! publisher that tells how many of its server's events it had to drop.

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use rtmp_tokio::client::{Client, ClientOptions, Frame};
use rtmp_tokio::proto::session::client::ClientEvent;
use rtmp_tokio::proto::session::server::{ServerEvent, StatusLevel, StreamKind};
use rtmp_tokio::proto::session::SendStatus;
use rtmp_tokio::server::Server;
use rtmp_tokio::Error;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

async fn next<T: Stream + Unpin>(stream: &mut T) -> Option<T::Item> {
    timeout(LIMIT, poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)))
        .await
        .expect("the stream moves on")
}

fn keyframe(index: u8) -> Bytes {
    Bytes::from(vec![0x17, 1, 0, 0, 0, index])
}

#[tokio::test]
async fn a_players_frames_and_a_server_sessions_events_are_streams() {
    let server = Server::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtmp://{}/live", server.local_addr().unwrap());
    let serving = tokio::spawn(async move {
        let (mut session, _) = server.accept().await.unwrap();
        let mut seen = Vec::new();
        while let Some(event) = next(&mut session).await {
            match &event {
                ServerEvent::ConnectRequest(request) => {
                    session.accept_connect(request.id).unwrap();
                }
                ServerEvent::PlayRequest(request) => {
                    let stream = request.stream;
                    session.accept_play(request.id, StreamKind::Live).unwrap();
                    for index in 0..3 {
                        let timestamp = u32::from(index) * 40;
                        let status = session.send_video(stream, timestamp, keyframe(index));
                        assert_eq!(status.unwrap(), SendStatus::Queued);
                    }
                    let _status = session.send_stream_eof(stream).unwrap();
                }
                _ => {}
            }
            seen.push(event);
        }
        seen
    });

    let mut player = Client::connect(&url)
        .await
        .unwrap()
        .play("cam")
        .await
        .unwrap();
    let mut frames = Vec::new();
    while let Some(frame) = next(&mut player).await {
        match frame.expect("a frame") {
            // |RtmpSampleAccess and NetStream.Play.Start, which the connection sends with an
            // accepted play.
            Frame::Data { .. } | Frame::Status(_) => {}
            frame => frames.push(frame),
        }
    }
    let expected: Vec<Frame> = (0..3)
        .map(|index| Frame::Video {
            timestamp: u32::from(index) * 40,
            payload: keyframe(index),
        })
        .collect();
    assert_eq!(frames, expected);
    assert!(
        next(&mut player).await.is_none(),
        "an ended stream stays ended"
    );
    player.close().await.expect("a clean close");

    let seen = timeout(LIMIT, serving).await.unwrap().unwrap();
    assert!(matches!(seen.first(), Some(ServerEvent::ConnectRequest(_))));
    assert!(
        matches!(seen.last(), Some(ServerEvent::Closed(_))),
        "the session's stream ends after Closed: {seen:?}"
    );
}

#[tokio::test]
async fn a_publisher_says_how_many_events_it_dropped() {
    const SENT: usize = 300;
    let server = Server::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtmp://{}/live", server.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut session, _) = server.accept().await.unwrap();
        while let Ok(event) = session.next_event().await {
            match event {
                ServerEvent::ConnectRequest(request) => session.accept_connect(request.id).unwrap(),
                ServerEvent::PublishRequest(request) => {
                    session.accept_publish(request.id).unwrap();
                    for index in 0..SENT {
                        let code = format!("Test.Status.{index}");
                        let _ = session
                            .send_status(request.stream, StatusLevel::Status, &code, "")
                            .unwrap();
                    }
                }
                _ => {}
            }
        }
    });

    let client = Client::connect_with(&url, ClientOptions::publisher())
        .await
        .unwrap();
    let mut publisher = client.publish("cam").await.unwrap();
    let mut dropped = None;
    for index in 0..500u32 {
        let _status = publisher.send_video(index * 40, keyframe(0)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        if index % 50 == 49 {
            match publisher.next_event() {
                Err(Error::EventsDropped { count }) => {
                    dropped = Some(count);
                    break;
                }
                Ok(Some(event)) => panic!("the backlog is read only once full: {event:?}"),
                other => assert!(matches!(other, Ok(None)), "{other:?}"),
            }
        }
    }
    let dropped = dropped.expect("past 256 events, the publisher says it dropped some");
    assert!(dropped >= (SENT - 256) as u64, "{dropped}");
    // Then the latest 256, oldest first, and no error until more are dropped.
    let mut kept = 0;
    let mut last_code = String::new();
    while let Some(event) = publisher.next_event().expect("no more dropped") {
        if let ClientEvent::Status { status, .. } = event {
            last_code = status.code;
        }
        kept += 1;
    }
    assert_eq!(kept, 256);
    assert_eq!(last_code, format!("Test.Status.{}", SENT - 1));
    publisher.close().await.unwrap();
}
