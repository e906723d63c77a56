//! The two adapters together: our blocking client (rtmp-std) publishes a clip to our tokio
//! relay (rtmp-tokio's `relay`, what `examples/server` runs) and ffmpeg and rtmpdump play
//! it from there: the packets that come out are those that went in.

mod tokio_support;

use std::fs::File;
use std::io::BufReader;

use rtmp_std::client::{Client, ClientOptions};
use rtmp_std::flv::publish_flv;
use rtmp_tests::peers::{make_clip, TempDir};
use rtmp_tests::peers_more::{decode_errors, FfmpegAndRtmpdump};
use tokio_support::RelayServer;

#[test]
fn std_client_publishes_to_the_tokio_relay_and_ffmpeg_and_rtmpdump_play_every_packet() {
    let dir = TempDir::new("std-to-tokio");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 4, 25);
    let relay = RelayServer::start();
    let url = relay.url("std");

    let players = FfmpegAndRtmpdump::play(&url, dir.path());
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

    let by_ffmpeg = players.by_ffmpeg.clone();
    players.assert_got_every_packet_of(&clip);
    assert_eq!(decode_errors(&by_ffmpeg), "");
}
