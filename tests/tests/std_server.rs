//! ffmpeg publishes to our blocking server (the relay) and our blocking client plays the stream
//! back into an FLV file: the same packets.

mod std_support;

use std::fs::File;
use std::io::BufWriter;
use std::process::Command;
use std::time::Duration;

use rtmp_std::client::{Client, ClientOptions, Frame, Player};
use rtmp_std::flv::FlvRecorder;
use rtmp_std::Transport;
use rtmp_tests::peers::{make_clip, probe_packets, require, Process, TempDir};
use rtmp_tests::peers_more::assert_same_packets;
use std_support::RelayServer;

/// Records what `player` receives into `path` until the stream ends; returns the statuses.
fn record<S: Transport>(mut player: Player<S>, path: &std::path::Path) -> Vec<String> {
    let mut recorder = FlvRecorder::new(BufWriter::new(File::create(path).unwrap())).unwrap();
    let mut statuses = Vec::new();
    while let Some(frame) = player.next_frame().expect("a frame") {
        match frame {
            Frame::Status(status) => statuses.push(status.code),
            frame => recorder.write(&frame).unwrap(),
        }
    }
    recorder.finish().unwrap();
    player.close().expect("close politely");
    statuses
}

#[test]
fn ffmpeg_publishes_to_std_server_and_std_player_records_it() {
    let dir = TempDir::new("std-server");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let server = RelayServer::start();
    let url = server.url("x");

    let options = ClientOptions::default().with_read_timeout(Some(Duration::from_secs(15)));
    let player = Client::connect_with(&url, options)
        .expect("connect to our server")
        .play("x")
        .expect("play");
    server.wait_until("the player waits", |relay| relay.players("live/x") == 1);
    let recorded = dir.path().join("recorded.flv");
    let recording = {
        let recorded = recorded.clone();
        std::thread::spawn(move || record(player, &recorded))
    };

    // As fast as ffmpeg can: the relay keeps every message for a player that keeps up.
    let publisher = Process::spawn(
        "ffmpeg (publish)",
        Command::new(require("ffmpeg"))
            .args(["-hide_banner", "-loglevel", "error", "-i"])
            .arg(&clip)
            .args(["-c", "copy", "-f", "flv"])
            .arg(&url),
    )
    .wait(Duration::from_secs(30));
    assert!(
        publisher.status.success(),
        "{}",
        String::from_utf8_lossy(&publisher.stderr)
    );
    let statuses = recording.join().expect("the recording thread");
    assert!(
        statuses
            .iter()
            .any(|code| code == "NetStream.Play.UnpublishNotify"),
        "{statuses:?}"
    );
    assert!(!server.relay.is_published("live/x"));

    let sent = probe_packets(clip.to_str().unwrap());
    let received = probe_packets(recorded.to_str().unwrap());
    assert!(sent.len() > 100, "the clip has {} packets", sent.len());
    // Every packet arrives, in the file's order: the connection's outbound queue keeps the
    // interleaving of audio and video it was given.
    assert_same_packets(&sent, &received, 0);
}
