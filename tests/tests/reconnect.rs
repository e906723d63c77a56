//! Graceful restart (Enhanced RTMP v2, "Reconnect"): a relay that drains asks our tokio
//! publisher to move to another relay; a player of the new one gets every frame from the
//! move's keyframe on, once, in order. Loopback, in one process, bounded in time.

use std::time::Duration;

use bytes::Bytes;
use rtmp_tokio::client::{Client, ClientOptions, Frame};
use rtmp_tokio::relay::{Relay, RelayConfig};
use tokio::net::TcpListener;

const FRAMES: u32 = 120;
const GOP: u32 = 10;

fn header() -> Bytes {
    Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1F])
}

fn frame(index: u32) -> Bytes {
    let first = if index % GOP == 0 { 0x17 } else { 0x27 };
    let [a, b, c, d] = index.to_be_bytes();
    Bytes::from(vec![first, 0x01, 0, 0, 0, a, b, c, d])
}

async fn relay() -> (Relay, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtmp://{}/live", listener.local_addr().unwrap());
    let relay = Relay::new(RelayConfig::default());
    let serving = relay.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    (relay, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_moves_between_relays_and_the_new_ones_player_gets_every_frame_from_the_keyframe_once(
) {
    tokio::time::timeout(Duration::from_secs(30), async {
        let (old, old_url) = relay().await;
        let (new, new_url) = relay().await;
        let mut player = Client::connect(&new_url)
            .await
            .unwrap()
            .play("cam")
            .await
            .unwrap();
        let recording = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Ok(Some(frame)) = player.next_frame().await {
                if let Frame::Video { timestamp, payload } = frame {
                    got.push((timestamp, payload));
                    if got.last().is_some_and(|(t, _)| *t == (FRAMES - 1) * 40) {
                        break;
                    }
                }
            }
            got
        });

        let client = Client::connect_with(&old_url, ClientOptions::publisher())
            .await
            .unwrap();
        let mut publisher = client.publish("cam").await.unwrap();
        let _ = publisher.send_video(0, header()).await.unwrap();
        let mut drained = None;
        for index in 0..FRAMES {
            if index == 25 {
                let (old, to) = (old.clone(), new_url.clone());
                drained = Some(tokio::spawn(async move {
                    old.drain(Some(to), Duration::from_secs(10)).await
                }));
            }
            let _ = publisher
                .send_video(index * 40, frame(index))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        publisher.flush().await.unwrap();
        assert!(drained.unwrap().await.unwrap(), "the old relay drained");
        assert!(new.is_published("live/cam"));

        let got = recording.await.unwrap();
        // The player waited for the stream: the sequence header, then the move's keyframe.
        assert_eq!(got[0], (0, header()));
        let start = u32::from_be_bytes(got[1].1[5..9].try_into().unwrap());
        assert_eq!(start % GOP, 0, "starts on a keyframe");
        assert!((25..FRAMES).contains(&start), "moved at frame {start}");
        let expected: Vec<(u32, Bytes)> = (start..FRAMES).map(|i| (i * 40, frame(i))).collect();
        assert_eq!(
            got[1..],
            expected[..],
            "every frame from the keyframe, once, in order"
        );
        publisher.close().await.unwrap();
    })
    .await
    .expect("bounded in time");
}
