//! Graceful restart (Enhanced RTMP v2, "Reconnect"): a relay that drains asks our tokio
//! publisher to move to another relay; a player of the new one gets every frame from the
//! move's keyframe on, once, in order. And the server example (a child process) on SIGTERM:
//! it stops accepting, asks our publisher to move to `--reconnect-to`, and exits 0 within its
//! drain timeout while ffmpeg still publishes and plays. Loopback, bounded in time.
//!
//! The example binary is not built by `cargo test -p rtmp-tests`: `cargo test --workspace`
//! builds it, as does `cargo build -p rtmp-tokio --example server`.

use std::process::Command;
use std::time::{Duration, Instant};

use rtmp_tests::peers::{example_binary, free_port, make_clip, wait_for_port, Process, TempDir};
use rtmp_tests::peers_more::{ffmpeg_play, ffmpeg_publish};
use rtmp_tokio::proto::session::client::{ClientEvent, RECONNECT_REQUEST};

use bytes::Bytes;
use rtmp_tokio::client::{Client, ClientOptions, Frame};
use rtmp_tokio::proto::amf::Value;
use rtmp_tokio::relay::{Relay, RelayConfig};
use tokio::net::TcpListener;

const FRAMES: u32 = 120;
const GOP: u32 = 10;

fn header() -> Bytes {
    Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1F])
}

/// The stream's `onMetaData`, which the new relay's players must get too.
fn metadata() -> Value {
    Value::EcmaArray(vec![
        ("width".into(), Value::Number(1280.0)),
        ("height".into(), Value::Number(720.0)),
    ])
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

/// Where a draining relay asks publishers to move: given the new relay's URL.
type MoveTo = fn(&str) -> String;

/// The new relay's URL: the move goes there directly.
fn to_the_new_relay(new_url: &str) -> String {
    new_url.to_owned()
}

/// A URL no dialer reaches: the move falls back to the publisher's original URL.
const NOWHERE: &str = "rtmp://nowhere.invalid/live";

fn to_nowhere(_: &str) -> String {
    NOWHERE.to_owned()
}

/// Two relays, a player of the second recording; `publish` publishes `cam` to the first
/// (both URLs given) and sends `FRAMES` frames, calling `drain` (which drains the first relay
/// towards `move_to`) before frame 25. Checks what the player got.
async fn move_between_relays<P>(move_to: MoveTo, publish: P)
where
    P: FnOnce(String, String, Box<dyn FnOnce() + Send>) -> tokio::task::JoinHandle<()>,
{
    tokio::time::timeout(Duration::from_secs(30), async {
        let (old, old_url) = relay().await;
        let (_new, new_url) = relay().await;
        let mut player = Client::connect(&new_url)
            .await
            .unwrap()
            .play("cam")
            .await
            .unwrap();
        let recording = tokio::spawn(async move {
            let (mut got, mut metadata_first) = (Vec::new(), None);
            while let Ok(Some(frame)) = player.next_frame().await {
                match frame {
                    Frame::Metadata(value) => {
                        metadata_first.get_or_insert((got.is_empty(), value));
                    }
                    Frame::Video { timestamp, payload } => {
                        got.push((timestamp, payload));
                        if got.last().is_some_and(|(t, _)| *t == (FRAMES - 1) * 40) {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            (got, metadata_first)
        });
        let (done, drained) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Handle::current();
        let draining = old.clone();
        let target = move_to(&new_url);
        let drain: Box<dyn FnOnce() + Send> = Box::new(move || {
            runtime.spawn(async move {
                let _ = done.send(draining.drain(Some(target), Duration::from_secs(10)).await);
            });
        });
        publish(old_url, new_url, drain).await.unwrap();
        assert!(drained.await.unwrap(), "the old relay drained");

        let (got, metadata_first) = recording.await.unwrap();
        assert_eq!(
            metadata_first,
            Some((true, metadata())),
            "the metadata, before any video"
        );
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
    })
    .await
    .expect("bounded in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_tokio_publisher_moves_between_relays_and_the_new_ones_player_gets_every_frame_from_the_keyframe_once(
) {
    move_between_relays(to_the_new_relay, |url, _, drain| {
        tokio::spawn(async move {
            let client = Client::connect_with(&url, ClientOptions::publisher())
                .await
                .unwrap();
            let mut publisher = client.publish("cam").await.unwrap();
            let _ = publisher.send_metadata(metadata()).await.unwrap();
            let _ = publisher.send_video(0, header()).await.unwrap();
            let mut drain = Some(drain);
            for index in 0..FRAMES {
                if index == 25 {
                    drain.take().unwrap()();
                }
                let _ = publisher
                    .send_video(index * 40, frame(index))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            publisher.close().await.unwrap();
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_std_publisher_moves_between_relays_and_the_new_ones_player_gets_every_frame_from_the_keyframe_once(
) {
    move_between_relays(to_the_new_relay, |url, _, drain| {
        tokio::task::spawn_blocking(move || {
            let options = rtmp_std::client::ClientOptions::publisher();
            let client = rtmp_std::client::Client::connect_with(&url, options).unwrap();
            let mut publisher = client.publish("cam").unwrap();
            let _ = publisher.send_metadata(metadata()).unwrap();
            let _ = publisher.send_video(0, header()).unwrap();
            let mut drain = Some(drain);
            for index in 0..FRAMES {
                if index == 25 {
                    drain.take().unwrap()();
                }
                let _ = publisher.send_video(index * 40, frame(index)).unwrap();
                publisher.wait(Duration::from_millis(5)).unwrap();
            }
            publisher.close().unwrap();
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audio_only_tokio_publisher_moves_at_an_audio_frame_and_the_new_relay_gets_every_frame_once(
) {
    let aac_header = Bytes::from_static(&[0xAF, 0x00, 0x12, 0x10]);
    let aac = |index: u32| {
        let [a, b, c, d] = index.to_be_bytes();
        Bytes::from(vec![0xAF, 0x01, a, b, c, d])
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        let (old, old_url) = relay().await;
        let (_new, new_url) = relay().await;
        let mut player = Client::connect(&new_url)
            .await
            .unwrap()
            .play("radio")
            .await
            .unwrap();
        let recording = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Ok(Some(frame)) = player.next_frame().await {
                if let Frame::Audio { timestamp, payload } = frame {
                    got.push((timestamp, payload));
                    if got.last().is_some_and(|(t, _)| *t == (FRAMES - 1) * 23) {
                        break;
                    }
                }
            }
            got
        });
        let client = Client::connect_with(&old_url, ClientOptions::publisher())
            .await
            .unwrap();
        let mut publisher = client.publish("radio").await.unwrap();
        let _ = publisher.send_audio(0, aac_header.clone()).await.unwrap();
        let mut drained = None;
        for index in 0..FRAMES {
            if index == 25 {
                let (draining, to) = (old.clone(), new_url.clone());
                drained = Some(tokio::spawn(async move {
                    draining.drain(Some(to), Duration::from_secs(10)).await
                }));
            }
            let _ = publisher.send_audio(index * 23, aac(index)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        publisher.close().await.unwrap();
        assert!(drained.unwrap().await.unwrap(), "the old relay drained");
        let got = recording.await.unwrap();
        assert_eq!(got[0], (0, aac_header), "the sequence header first");
        let start = u32::from_be_bytes(got[1].1[2..6].try_into().unwrap());
        assert!((25..FRAMES).contains(&start), "moved at frame {start}");
        let expected: Vec<(u32, Bytes)> = (start..FRAMES).map(|i| (i * 23, aac(i))).collect();
        assert_eq!(
            got[1..],
            expected[..],
            "every frame from the cut, once, in order"
        );
    })
    .await
    .expect("bounded in time");
}

/// The address a publisher's own dialer reaches for `url`: the original URL's host is the new
/// relay (as a load balancer in front of both would make it, once the old one drains; the
/// first dial is made by the test), [`NOWHERE`] is nothing.
fn address_for(host: &str, new_url: &str) -> Result<String, std::io::Error> {
    if NOWHERE.contains(host) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "nowhere.invalid does not resolve",
        ));
    }
    let new = rtmp_tokio::proto::url::RtmpUrl::parse(new_url).unwrap();
    Ok(new.authority())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_tokio_publisher_over_its_own_dialer_falls_back_to_its_original_url_when_the_named_one_fails(
) {
    move_between_relays(to_nowhere, |old_url, new_url, drain| {
        tokio::spawn(async move {
            let old = rtmp_tokio::proto::url::RtmpUrl::parse(&old_url).unwrap();
            let stream = tokio::net::TcpStream::connect(old.authority())
                .await
                .unwrap();
            let original = "rtmp://original.invalid/live";
            let dial = move |url: rtmp_tokio::proto::url::RtmpUrl| {
                let new_url = new_url.clone();
                async move {
                    let address = address_for(&url.host, &new_url)?;
                    Ok::<_, rtmp_tokio::Error>(tokio::net::TcpStream::connect(address).await?)
                }
            };
            let client =
                Client::connect_over_redialing(stream, original, ClientOptions::publisher(), dial)
                    .await
                    .unwrap();
            let mut publisher = client.publish("cam").await.unwrap();
            let _ = publisher.send_metadata(metadata()).await.unwrap();
            let _ = publisher.send_video(0, header()).await.unwrap();
            let mut drain = Some(drain);
            for index in 0..FRAMES {
                if index == 25 {
                    drain.take().unwrap()();
                }
                let _ = publisher
                    .send_video(index * 40, frame(index))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            publisher.close().await.unwrap();
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_std_publisher_over_its_own_dialer_falls_back_to_its_original_url_when_the_named_one_fails(
) {
    move_between_relays(to_nowhere, |old_url, new_url, drain| {
        tokio::task::spawn_blocking(move || {
            use rtmp_std::client::{Client, ClientOptions};
            let old = rtmp_std::proto::url::RtmpUrl::parse(&old_url).unwrap();
            let stream = std::net::TcpStream::connect(old.authority()).unwrap();
            let original = "rtmp://original.invalid/live";
            let dial = move |url: &rtmp_std::proto::url::RtmpUrl| {
                let address = address_for(&url.host, &new_url)?;
                Ok::<_, rtmp_std::Error>(std::net::TcpStream::connect(address)?)
            };
            let client =
                Client::connect_over_redialing(stream, original, ClientOptions::publisher(), dial)
                    .unwrap();
            let mut publisher = client.publish("cam").unwrap();
            let _ = publisher.send_metadata(metadata()).unwrap();
            let _ = publisher.send_video(0, header()).unwrap();
            let mut drain = Some(drain);
            for index in 0..FRAMES {
                if index == 25 {
                    drain.take().unwrap()();
                }
                let _ = publisher.send_video(index * 40, frame(index)).unwrap();
                publisher.wait(Duration::from_millis(5)).unwrap();
            }
            publisher.close().unwrap();
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_that_no_server_takes_gives_up_with_a_typed_error_naming_the_urls_tried() {
    tokio::time::timeout(Duration::from_secs(20), async {
        let (old, old_url) = relay().await;
        let client = Client::connect_with(&old_url, ClientOptions::publisher())
            .await
            .unwrap();
        let mut publisher = client.publish("cam").await.unwrap();
        let _ = publisher.send_video(0, header()).await.unwrap();
        let _ = publisher.send_video(0, frame(0)).await.unwrap();
        let draining = old.clone();
        let drained = tokio::spawn(async move {
            draining
                .drain(
                    Some("rtmp://127.0.0.1:1/live".into()),
                    Duration::from_secs(5),
                )
                .await
        });
        // The old relay no longer accepts, port 1 never does: both URLs fail.
        let mut error = None;
        for index in 1..200 {
            match publisher.send_video(index * 40, frame(index)).await {
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err(failed) => {
                    error = Some(failed);
                    break;
                }
            }
        }
        let error = error.expect("the move fails");
        match &error {
            rtmp_tokio::Error::Reconnect { error, .. } => {
                let rtmp_tokio::proto::session::client::HandoverError::Unreachable { tried } =
                    error
                else {
                    panic!("{error:?}")
                };
                assert_eq!(
                    tried,
                    &["rtmp://127.0.0.1:1/live".to_owned(), old_url.clone()]
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(drained.await.unwrap(), "the old relay drained");
    })
    .await
    .expect("bounded in time");
}

#[test]
fn the_server_on_sigterm_stops_accepting_asks_capable_publishers_to_move_and_exits_0_in_time() {
    drain_on_sigterm(example_binary("rtmp-tokio", "server"), "SIGTERM: draining");
}

#[test]
fn the_std_server_on_sigterm_drains_the_same_way() {
    drain_on_sigterm(
        example_binary("rtmp-std", "std_server"),
        "stop signal: draining",
    );
}

/// The server example `binary` (logging `marker` when it drains) on SIGTERM while ffmpeg
/// publishes and plays and our publisher publishes: it stops accepting, asks our publisher to
/// move to `--reconnect-to`, and exits 0 within `--drain-timeout`.
fn drain_on_sigterm(binary: std::path::PathBuf, marker: &str) {
    const DRAIN: Duration = Duration::from_millis(1500);
    const MOVE_TO: &str = "rtmp://127.0.0.1:1/elsewhere";
    let dir = TempDir::new("reconnect-sigterm");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 10, 25);
    let port = free_port();
    let mut command = Command::new(binary);
    command
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--drain-timeout", &DRAIN.as_millis().to_string()])
        .args(["--reconnect-to", MOVE_TO]);
    let server = Process::spawn("relay server", &mut command);
    wait_for_port(port, Duration::from_secs(5));
    let url = |name: &str| format!("rtmp://127.0.0.1:{port}/live/{name}");

    let _player = ffmpeg_play(&url("cam"), &dir.path().join("played.flv"));
    let _ffmpeg = ffmpeg_publish(&clip, &url("cam"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let asked = runtime.block_on(async {
        let client = Client::connect_with(
            &format!("rtmp://127.0.0.1:{port}/live"),
            ClientOptions::publisher(),
        )
        .await
        .unwrap();
        let mut publisher = client.publish("ours").await.unwrap();
        let _ = publisher.send_video(0, header()).await.unwrap();
        let _ = publisher.send_video(0, frame(0)).await.unwrap();
        // Let ffmpeg connect and start.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let terminated = Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status()
            .unwrap();
        assert!(terminated.success());
        // Inter frames only: the publisher notes the request but has no keyframe to move on.
        for index in 1..200 {
            let _ = publisher
                .send_video(index * 40, frame(index * GOP + 1))
                .await;
            while let Ok(Some(event)) = publisher.next_event() {
                if let ClientEvent::Status { status, .. } = event {
                    if status.code == RECONNECT_REQUEST {
                        return status.tc_url().map(String::from);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    });
    assert_eq!(asked.as_deref(), Some(MOVE_TO));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still accepts"
    );
    let started = Instant::now();
    let output = server.wait(DRAIN + Duration::from_secs(3));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(started.elapsed() <= DRAIN + Duration::from_secs(1));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains(marker), "{log}");
}
