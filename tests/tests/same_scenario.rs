//! One scenario, run by each adapter through methods of the same names: publish, play, call,
//! pause, resume, seek and close. Our relay (each adapter's own) carries the live part; the
//! recorded part, which needs pause and seek, is nginx-rtmp playing an FLV file (video on
//! demand). The two functions below differ by `.await` alone (and rtmp-std's read timeout,
//! where rtmp-tokio's caller bounds its waits).

mod std_support;
mod tokio_support;

use std::time::Duration;

use bytes::Bytes;
use rtmp_proto::amf::Value;
use rtmp_proto::session::client::ClientEvent;
use rtmp_tests::peers::{make_seekable_clip, Nginx, TempDir};

/// Where the scenario seeks to in the 20 s clip, whose keyframes are 2 s apart: further than
/// what nginx-rtmp sends ahead at once after the resume (the buffer length, 3 s, and 1 s).
const SEEK_TO_MS: u32 = 12_000;
const PATIENCE: Duration = Duration::from_secs(10);

fn keyframe() -> Bytes {
    Bytes::from_static(&[0x17, 1, 0, 0, 0, 0x65, 0x88])
}

fn vod() -> (Nginx, TempDir) {
    let dir = TempDir::new("same-scenario");
    make_seekable_clip(&dir.path().join("clip.flv"), 20, 50);
    (Nginx::start_with_vod(4096, dir.path()), dir)
}

fn is_status(event: &ClientEvent, code: &str) -> bool {
    matches!(event, ClientEvent::Status { status, .. } if status.code == code)
}

#[test]
fn the_scenario_through_rtmp_tokio() {
    use rtmp_tokio::client::{Client, ClientOptions, Frame};

    let relay = tokio_support::RelayServer::start();
    let (nginx, _dir) = vod();
    let app_url = format!("rtmp://127.0.0.1:{}/live", relay.port);
    tokio_support::runtime().block_on(async {
        // Live: play, publish one keyframe, call, close.
        let mut player = Client::connect(&app_url)
            .await
            .unwrap()
            .play("cam")
            .await
            .unwrap();
        let publisher = Client::connect_with(&app_url, ClientOptions::publisher());
        let mut publisher = publisher.await.unwrap().publish("cam").await.unwrap();
        let _status = publisher.send_video(40, keyframe()).await.unwrap();
        publisher.flush().await.unwrap();
        let (_, values) = player
            .client()
            .call("getStreamLength", vec![Value::from("cam")])
            .await
            .expect("the connection answers getStreamLength");
        assert_eq!(values, [Value::Number(0.0)]);
        publisher.close().await.unwrap();
        let mut video = Vec::new();
        while let Some(frame) = player.next_frame().await.unwrap() {
            if let Frame::Video { timestamp, payload } = frame {
                video.push((timestamp, payload));
            }
        }
        assert_eq!(video, [(40, keyframe())]);
        player.close().await.unwrap();

        // Recorded: play, pause, resume, seek, close.
        let vod_url = format!("rtmp://127.0.0.1:{}/vod", nginx.port);
        let client = Client::connect(&vod_url).await.unwrap();
        let mut player = client.play("clip.flv").await.unwrap();
        let first = loop {
            match player.next_frame().await.unwrap().expect("the file plays") {
                Frame::Video { timestamp, .. } => break timestamp,
                _ => continue,
            }
        };
        assert!(first < 1_000, "the file starts at its start: {first} ms");
        player.pause().await.unwrap();
        loop {
            let event = player.client().next_event_timeout(PATIENCE).await.unwrap();
            if is_status(
                &event.expect("Pause.Notify in time"),
                "NetStream.Pause.Notify",
            ) {
                break;
            }
        }
        player.resume().await.unwrap();
        player.seek(SEEK_TO_MS).await.unwrap();
        let landed = loop {
            let frame = tokio::time::timeout(PATIENCE, player.next_frame()).await;
            match frame
                .expect("video after the seek")
                .unwrap()
                .expect("the file plays on")
            {
                Frame::Video { timestamp, .. } if timestamp >= SEEK_TO_MS - 2_000 => {
                    break timestamp
                }
                _ => continue,
            }
        };
        assert!(
            landed < SEEK_TO_MS + 4_000,
            "the seek landed at {landed} ms"
        );
        player.close().await.unwrap();
    });
}

#[test]
fn the_scenario_through_rtmp_std() {
    use rtmp_std::client::{Client, ClientOptions, Frame};

    let relay = std_support::RelayServer::start();
    let (nginx, _dir) = vod();
    let app_url = format!("rtmp://127.0.0.1:{}/live", relay.port);
    let options = ClientOptions::default().with_read_timeout(Some(PATIENCE));

    // Live: play, publish one keyframe, call, close.
    let mut player = Client::connect_with(&app_url, options.clone())
        .unwrap()
        .play("cam")
        .unwrap();
    let publisher = Client::connect_with(&app_url, ClientOptions::publisher());
    let mut publisher = publisher.unwrap().publish("cam").unwrap();
    let _status = publisher.send_video(40, keyframe()).unwrap();
    publisher.flush().unwrap();
    let (_, values) = player
        .client()
        .call("getStreamLength", vec![Value::from("cam")])
        .expect("the connection answers getStreamLength");
    assert_eq!(values, [Value::Number(0.0)]);
    publisher.close().unwrap();
    let mut video = Vec::new();
    while let Some(frame) = player.next_frame().unwrap() {
        if let Frame::Video { timestamp, payload } = frame {
            video.push((timestamp, payload));
        }
    }
    assert_eq!(video, [(40, keyframe())]);
    player.close().unwrap();

    // Recorded: play, pause, resume, seek, close.
    let vod_url = format!("rtmp://127.0.0.1:{}/vod", nginx.port);
    let client = Client::connect_with(&vod_url, options).unwrap();
    let mut player = client.play("clip.flv").unwrap();
    let first = loop {
        match player.next_frame().unwrap().expect("the file plays") {
            Frame::Video { timestamp, .. } => break timestamp,
            _ => continue,
        }
    };
    assert!(first < 1_000, "the file starts at its start: {first} ms");
    player.pause().unwrap();
    loop {
        let event = player.client().next_event_timeout(PATIENCE).unwrap();
        if is_status(
            &event.expect("Pause.Notify in time"),
            "NetStream.Pause.Notify",
        ) {
            break;
        }
    }
    player.resume().unwrap();
    player.seek(SEEK_TO_MS).unwrap();
    let landed = loop {
        match player.next_frame().unwrap().expect("the file plays on") {
            Frame::Video { timestamp, .. } if timestamp >= SEEK_TO_MS - 2_000 => break timestamp,
            _ => continue,
        }
    };
    assert!(
        landed < SEEK_TO_MS + 4_000,
        "the seek landed at {landed} ms"
    );
    player.close().unwrap();
}
