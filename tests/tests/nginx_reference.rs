//! The reference path every interop test builds on: ffmpeg publishes a clip to nginx-rtmp and
//! ffmpeg plays it back, packet for packet. It proves the peers are installed and behave as
//! the other interop tests assume (it fails loudly when one is missing).

use std::process::Command;
use std::time::Duration;

use rtmp_tests::peers::{make_clip, probe_packets, require, Nginx, Process, TempDir};

#[test]
fn ffmpeg_through_nginx_keeps_every_packet() {
    let dir = TempDir::new("reference");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 4, 25);
    let nginx = Nginx::start(4096);
    let url = nginx.url("reference");

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
    let publisher = Process::spawn(
        "ffmpeg (publish)",
        Command::new(require("ffmpeg"))
            .args(["-hide_banner", "-loglevel", "error", "-re", "-i"])
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
    // nginx keeps an idle player waiting for the next publisher, and ffmpeg blocked in a read
    // ignores SIGINT: once everything has arrived, stop it. It wrote each packet as it came.
    std::thread::sleep(Duration::from_secs(1));
    let player = player.stop();
    assert!(
        played.exists(),
        "{}",
        String::from_utf8_lossy(&player.stderr)
    );

    let sent = probe_packets(clip.to_str().unwrap());
    let received = probe_packets(played.to_str().unwrap());
    assert!(sent.len() > 100, "the clip has {} packets", sent.len());
    // A live player that joins before the publisher gets everything, in order. The last few
    // packets may still sit in ffmpeg's interleaving queue when it is stopped.
    let hashes = |packets: &[rtmp_tests::peers::Packet]| {
        packets
            .iter()
            .map(|p| format!("{} {}", p.codec_type, p.data_hash))
            .collect::<Vec<_>>()
    };
    let (sent, received) = (hashes(&sent), hashes(&received));
    assert!(
        received.len() + 4 >= sent.len() && received.len() <= sent.len(),
        "sent {} packets, received {}",
        sent.len(),
        received.len()
    );
    let first_difference = sent.iter().zip(&received).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "packets differ");
}
