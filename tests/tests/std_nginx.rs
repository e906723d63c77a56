//! Our blocking client publishes to nginx-rtmp and ffmpeg plays the stream back from nginx,
//! packet for packet.

mod std_support;

use std::fs::File;
use std::io::BufReader;
use std::process::Command;
use std::time::Duration;

use rtmp_std::client::{Client, ClientOptions, Frame};
use rtmp_std::flv::{publish_flv, FlvRecorder};
use rtmp_tests::peers::{make_clip, probe_packets, require, Nginx, Process, TempDir};
use std_support::all_hashes;

#[test]
fn std_publisher_to_nginx_reaches_ffmpeg_packet_for_packet() {
    let dir = TempDir::new("std-nginx");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let nginx = Nginx::start(4096);
    let url = nginx.url("std");

    let played = dir.path().join("played.flv");
    // The player connects first and waits for the stream, so it receives it from the start.
    let player = Process::spawn(
        "ffmpeg (play)",
        Command::new(require("ffmpeg"))
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-rw_timeout",
                "15000000",
                "-i",
            ])
            .arg(&url)
            .args(["-c", "copy", "-flush_packets", "1", "-f", "flv"])
            .arg(&played),
    );
    std::thread::sleep(Duration::from_millis(500));

    let client = Client::connect_with(&url, ClientOptions::publisher()).expect("connect to nginx");
    let mut publisher = client.publish("std").expect("publish to nginx");
    let mut file = BufReader::new(File::open(&clip).unwrap());
    let counts = publish_flv(&mut file, &mut publisher, true).expect("publish the clip");
    assert!(counts.video > 50 && counts.audio > 50, "{counts:?}");
    publisher.close().expect("close politely");

    // nginx keeps an idle player waiting for the next publisher: once everything has
    // arrived, stop it. It wrote each packet as it came.
    std::thread::sleep(Duration::from_secs(1));
    let player = player.stop();
    assert!(
        played.exists(),
        "{}",
        String::from_utf8_lossy(&player.stderr)
    );
    let sent = all_hashes(&probe_packets(clip.to_str().unwrap()));
    let received = all_hashes(&probe_packets(played.to_str().unwrap()));
    // As in the reference test, the last few packets may still sit in ffmpeg's interleaving
    // queue when it is stopped.
    assert!(
        received.len() + 4 >= sent.len() && received.len() <= sent.len(),
        "sent {} packets, received {}",
        sent.len(),
        received.len()
    );
    let first_difference = sent.iter().zip(&received).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "packets differ");
}

#[test]
fn std_player_records_from_nginx_what_ffmpeg_published() {
    let dir = TempDir::new("std-nginx-play");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let nginx = Nginx::start(4096);
    let url = nginx.url("std-play");

    // Our player waits for the live stream; nginx tells it when the publisher leaves.
    let options = ClientOptions::default().with_read_timeout(Some(Duration::from_secs(15)));
    let mut player = Client::connect_with(&url, options)
        .expect("connect to nginx")
        .play("std-play")
        .expect("play from nginx");
    let publisher = Process::spawn(
        "ffmpeg (publish)",
        Command::new(require("ffmpeg"))
            .args(["-hide_banner", "-loglevel", "error", "-re", "-i"])
            .arg(&clip)
            .args(["-c", "copy", "-f", "flv"])
            .arg(&url),
    );
    let recorded = dir.path().join("recorded.flv");
    let mut recorder = FlvRecorder::new(File::create(&recorded).unwrap()).unwrap();
    loop {
        match player.next_frame().expect("a frame from nginx") {
            None => break,
            Some(Frame::Status(status)) if status.code == "NetStream.Play.UnpublishNotify" => break,
            Some(frame) => recorder.write(&frame).unwrap(),
        }
    }
    recorder.finish().unwrap();
    player.close().expect("close politely");
    let publisher = publisher.wait(Duration::from_secs(30));
    assert!(
        publisher.status.success(),
        "{}",
        String::from_utf8_lossy(&publisher.stderr)
    );

    let sent = all_hashes(&probe_packets(clip.to_str().unwrap()));
    let received = all_hashes(&probe_packets(recorded.to_str().unwrap()));
    assert!(sent.len() > 100, "the clip has {} packets", sent.len());
    assert_eq!(received, sent, "packets differ");
}
