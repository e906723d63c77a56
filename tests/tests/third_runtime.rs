//! The core on a runtime of neither adapter: `rtmp-proto`'s `mio_play` example (mio, one
//! thread, no tokio, no rtmp-std) plays from the tokio relay server while ffmpeg publishes, and
//! its FLV holds every packet ffmpeg sent. The examples are built by `cargo test --workspace`.

use std::process::Command;
use std::time::Duration;

use rtmp_tests::peers::{
    example_binary, free_port, make_clip, probe_packets, wait_for_port, Process, TempDir,
};
use rtmp_tests::peers_more::{assert_same_packets, ffmpeg_publish};

#[test]
fn a_mio_player_on_the_bare_core_gets_every_packet_of_an_ffmpeg_publish() {
    let dir = TempDir::new("mio-play");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let port = free_port();
    let mut relay = Command::new(example_binary("rtmp-tokio", "server"));
    relay.arg("--listen").arg(format!("127.0.0.1:{port}"));
    let _relay = Process::spawn("relay server", &mut relay);
    wait_for_port(port, Duration::from_secs(5));

    let url = format!("rtmp://127.0.0.1:{port}/live/cam");
    let received = dir.path().join("mio.flv");
    let mut play = Command::new(example_binary("rtmp-proto", "mio_play"));
    play.arg(&url).arg(&received).arg("20");
    let player = Process::spawn("mio_play", &mut play);
    std::thread::sleep(Duration::from_millis(500));
    let published = ffmpeg_publish(&clip, &url).wait(Duration::from_secs(30));
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    // The relay says NetStream.Play.UnpublishNotify when the publisher leaves; mio_play then
    // closes, long before its 20 s are up.
    let leaving = std::time::Instant::now();
    let played = player.wait(Duration::from_secs(25));
    assert!(
        leaving.elapsed() < Duration::from_secs(5),
        "mio_play did not stop on unpublish"
    );
    let log = String::from_utf8_lossy(&played.stderr);
    assert!(played.status.success(), "{log}");
    assert!(log.contains("playing cam"), "{log}");

    // It writes each tag as it arrives: every packet, to the last.
    let sent = probe_packets(&clip.to_string_lossy());
    assert_same_packets(&sent, &probe_packets(&received.to_string_lossy()), 0);
}
