//! The two adapters together: our blocking client (rtmp-std) publishes a clip to our tokio
//! relay (rtmp-tokio's `relay`, what `examples/server.rs` runs) and ffmpeg and rtmpdump play
//! it from there: the packets that come out are those that went in.

mod tokio_support;

use std::fs::File;
use std::io::BufReader;
use std::time::Duration;

use rtmp_std::client::{Client, ClientOptions};
use rtmp_std::flv::publish_flv;
use rtmp_tests::peers::{make_clip, probe_packets, TempDir};
use rtmp_tests::peers_more::{assert_same_packets, decode_errors, ffmpeg_play, rtmpdump_play};
use tokio_support::RelayServer;

#[test]
fn std_client_publishes_to_the_tokio_relay_and_ffmpeg_and_rtmpdump_play_every_packet() {
    let dir = TempDir::new("std-to-tokio");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 4, 25);
    let relay = RelayServer::start();
    let url = relay.url("std");

    let by_ffmpeg = dir.path().join("ffmpeg.flv");
    let by_rtmpdump = dir.path().join("rtmpdump.flv");
    let ffmpeg_player = ffmpeg_play(&url, &by_ffmpeg);
    let rtmpdump_player = rtmpdump_play(&url, &by_rtmpdump);
    // Both wait for the stream, so they get it from its first packet.
    relay.wait_until("both players wait", |r| r.players("live/std") == 2);

    let app_url = format!("rtmp://127.0.0.1:{}/live", relay.port);
    let client = Client::connect_with(&app_url, ClientOptions::publisher()).expect("connect");
    let mut publisher = client.publish("std").expect("publish to our relay");
    let mut file = BufReader::new(File::open(&clip).unwrap());
    // In real time, as an encoder sends.
    let counts = publish_flv(&mut file, &mut publisher, true).expect("publish the clip");
    assert!(counts.video > 50 && counts.audio > 50, "{counts:?}");
    publisher.close().expect("close politely");

    // The relay tells the players the publisher left (NetStream.Play.UnpublishNotify), after
    // the last media: both end by themselves.
    let ffmpeg_player = ffmpeg_player.wait(Duration::from_secs(15));
    assert!(
        ffmpeg_player.status.success(),
        "{}",
        String::from_utf8_lossy(&ffmpeg_player.stderr)
    );
    let rtmpdump_player = rtmpdump_player.wait(Duration::from_secs(15));
    assert!(
        by_rtmpdump.exists(),
        "rtmpdump ({}): {}",
        rtmpdump_player.status,
        String::from_utf8_lossy(&rtmpdump_player.stderr)
    );

    let sent = probe_packets(clip.to_str().unwrap());
    // ffmpeg writes packets in decoding-time order across tracks (its muxer interleaves them),
    // so the whole file compares. It ends on UnpublishNotify with its last few packets
    // possibly still in its interleaving queue, as in the other ffmpeg-player tests.
    assert_same_packets(&sent, &probe_packets(by_ffmpeg.to_str().unwrap()), 4);
    // rtmpdump writes every packet as it arrives; the relay keeps the publisher's
    // interleaving of audio and video, so this file compares whole too.
    assert_same_packets(&sent, &probe_packets(by_rtmpdump.to_str().unwrap()), 0);
    assert_eq!(decode_errors(&by_ffmpeg), "");
}
