//! Our relay (rtmp-tokio's `relay`, what `examples/server` runs) against real programs:
//! ffmpeg publishes, ffmpeg and rtmpdump play, and the packets that come out are those that
//! went in; a player joining mid-GOP gets a stream that starts on a keyframe and decodes.

mod tokio_support;

use std::time::Duration;

use rtmp_tests::peers::{make_clip, probe_packets, TempDir};
use rtmp_tests::peers_more::{
    decode_errors, ffmpeg_play, ffmpeg_publish, packet_hashes, FfmpegAndRtmpdump,
};
use tokio_support::RelayServer;

#[test]
fn ffmpeg_publishes_and_ffmpeg_and_rtmpdump_play_every_packet() {
    let dir = TempDir::new("tokio-relay");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 4, 25);
    let relay = RelayServer::start();
    let url = relay.url("cam");

    let players = FfmpegAndRtmpdump::play(&url, dir.path());
    // Both wait for the stream, so they get it from its first packet.
    relay.wait_until("both players wait", |r| r.players("live/cam") == 2);
    let publisher = ffmpeg_publish(&clip, &url).wait(Duration::from_secs(30));
    assert!(
        publisher.status.success(),
        "{}",
        String::from_utf8_lossy(&publisher.stderr)
    );
    players.assert_got_every_packet_of(&clip);
}

#[test]
fn a_player_joining_mid_gop_starts_on_a_keyframe_and_decodes() {
    let dir = TempDir::new("tokio-relay-join");
    let clip = dir.path().join("clip.flv");
    // Two-second GOPs.
    make_clip(&clip, 5, 50);
    let relay = RelayServer::start();
    let url = relay.url("join");

    let publisher = ffmpeg_publish(&clip, &url);
    relay.wait_until("the stream is published", |r| r.is_published("live/join"));
    // About 1.2 s into the second GOP.
    std::thread::sleep(Duration::from_millis(3200));
    let played = dir.path().join("played.flv");
    let player = ffmpeg_play(&url, &played).wait(Duration::from_secs(20));
    assert!(
        player.status.success(),
        "{}",
        String::from_utf8_lossy(&player.stderr)
    );
    let publisher = publisher.wait(Duration::from_secs(20));
    assert!(publisher.status.success());

    let sent = probe_packets(clip.to_str().unwrap());
    let received = probe_packets(played.to_str().unwrap());
    let video = |packets: &[rtmp_tests::peers::Packet]| {
        packets
            .iter()
            .filter(|p| p.codec_type == "video")
            .cloned()
            .collect::<Vec<_>>()
    };
    let (sent_video, received_video) = (video(&sent), video(&received));
    let first = received_video.first().expect("the player got video");
    assert!(first.flags.contains('K'), "starts on {first:?}");
    // What the player got is the clip's video from a keyframe after the start, to the end
    // (less ffmpeg's last few).
    let start = sent_video
        .iter()
        .position(|p| p.data_hash == first.data_hash)
        .expect("the first packet is one of the clip's");
    assert!(start > 0, "the player did not join mid-stream");
    assert!(sent_video[start].flags.contains('K'));
    let expected = packet_hashes(&sent_video[start..]);
    let got = packet_hashes(&received_video);
    assert!(got.len() + 4 >= expected.len() && got.len() <= expected.len());
    assert_eq!(got[..], expected[..got.len()], "video packets differ");
    assert_eq!(
        decode_errors(&played),
        "",
        "the stream does not decode cleanly"
    );
}
