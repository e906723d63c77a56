//! rtmp-tokio's client against real servers: it publishes to nginx-rtmp (ffmpeg plays it from
//! there), plays from nginx-rtmp what ffmpeg publishes, and publishes to ffmpeg acting as a
//! server (`ffmpeg -listen 1`), which writes a valid file. The packets that come out are
//! those that went in.

mod tokio_support;

use std::path::Path;
use std::time::Duration;

use rtmp_tests::peers::{free_port, make_clip, probe_packets, Nginx, TempDir};
use rtmp_tests::peers_more::{
    assert_same_packets, decode_errors, ffmpeg_listen, ffmpeg_play, ffmpeg_publish,
};
use rtmp_tokio::client::{Client, ClientOptions, Frame};
use rtmp_tokio::flv::{publish_flv, FlvRecorder};
use rtmp_tokio::Error;
use tokio_support::runtime;

/// Publishes `clip` to `app_url` as `name` with our client.
async fn publish(clip: &Path, app_url: &str, name: &str, real_time: bool) -> Result<(), Error> {
    let client = Client::connect_with(app_url, ClientOptions::publisher()).await?;
    let mut publisher = client.publish(name).await?;
    let mut file = tokio::fs::File::open(clip).await?;
    let counts = publish_flv(&mut file, &mut publisher, real_time).await?;
    assert!(counts.video > 50 && counts.audio > 50, "{counts:?}");
    publisher.close().await
}

#[test]
fn our_client_publishes_to_nginx_and_ffmpeg_plays_it() {
    let dir = TempDir::new("tokio-client-publish");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let nginx = Nginx::start(4096);
    let played = dir.path().join("played.flv");
    let player = ffmpeg_play(&nginx.url("ours"), &played);
    std::thread::sleep(Duration::from_millis(500));

    let app_url = format!("rtmp://127.0.0.1:{}/live", nginx.port);
    runtime()
        .block_on(publish(&clip, &app_url, "ours", true))
        .expect("publish to nginx");
    // nginx keeps the player waiting for the next publisher: stop it once everything came.
    std::thread::sleep(Duration::from_secs(1));
    let player = player.stop();
    assert!(
        played.exists(),
        "{}",
        String::from_utf8_lossy(&player.stderr)
    );
    let sent = probe_packets(clip.to_str().unwrap());
    assert_same_packets(&sent, &probe_packets(played.to_str().unwrap()), 4);
}

#[test]
fn our_client_plays_from_nginx_what_ffmpeg_publishes() {
    let dir = TempDir::new("tokio-client-play");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let nginx = Nginx::start(4096);
    let app_url = format!("rtmp://127.0.0.1:{}/live", nginx.port);
    let recorded = dir.path().join("recorded.flv");

    let runtime = runtime();
    let recording = {
        let recorded = recorded.clone();
        runtime.spawn(async move {
            let mut player = Client::connect(&app_url).await?.play("theirs").await?;
            let file = tokio::fs::File::create(&recorded).await?;
            let mut recorder = FlvRecorder::new(tokio::io::BufWriter::new(file)).await?;
            let mut frames = 0;
            // nginx tells a player that the publisher left with Stream EOF alone, which ends
            // the Player's frames; a silence after the first frame ends the recording too.
            let mut wait = Duration::from_secs(20);
            while let Ok(next) = tokio::time::timeout(wait, player.next_frame()).await {
                match next? {
                    Some(frame) => {
                        if !matches!(frame, Frame::Data { .. } | Frame::Status(_)) {
                            recorder.write(&frame).await?;
                            frames += 1;
                        }
                        wait = Duration::from_millis(1500);
                    }
                    None => break,
                }
            }
            recorder.finish().await?;
            player.close().await?;
            Ok::<_, Error>(frames)
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let publisher = ffmpeg_publish(&clip, &nginx.url("theirs")).wait(Duration::from_secs(30));
    assert!(
        publisher.status.success(),
        "{}",
        String::from_utf8_lossy(&publisher.stderr)
    );
    let frames = runtime
        .block_on(recording)
        .expect("the player task")
        .expect("play from nginx");
    assert!(frames > 100, "recorded {frames} frames");
    let sent = probe_packets(clip.to_str().unwrap());
    assert_same_packets(&sent, &probe_packets(recorded.to_str().unwrap()), 0);
    assert_eq!(decode_errors(&recorded), "");
}

#[test]
fn our_client_publishes_to_ffmpeg_listening_and_it_writes_a_valid_file() {
    let dir = TempDir::new("tokio-client-listen");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let port = free_port();
    let written = dir.path().join("written.flv");
    let server = ffmpeg_listen(port, &written);

    // ffmpeg takes one client only, so no probing connection: retry until it listens.
    let app_url = format!("rtmp://127.0.0.1:{port}/live");
    runtime().block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match publish(&clip, &app_url, "x", false).await {
                Ok(()) => break,
                Err(Error::Connect { .. }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("publish to ffmpeg: {error}"),
            }
        }
    });
    let server = server.wait(Duration::from_secs(20));
    assert!(
        server.status.success(),
        "ffmpeg -listen: {}",
        String::from_utf8_lossy(&server.stderr)
    );
    let sent = probe_packets(clip.to_str().unwrap());
    assert_same_packets(&sent, &probe_packets(written.to_str().unwrap()), 0);
    assert_eq!(decode_errors(&written), "");
}
