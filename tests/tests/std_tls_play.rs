//! ffmpeg plays over RTMPS from our blocking server (the relay, with a self-signed certificate
//! made by rcgen): the clip published to it, by our blocking client over RTMPS or by ffmpeg
//! over RTMPS, comes out packet for packet.

mod std_support;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rtmp_std::client::{Client, ClientOptions, ClientSettings, Profile};
use rtmp_std::flv::publish_flv;
use rtmp_std::server::Server;
use rtmp_std::tls::{TlsClientConfig, TlsServerConfig};
use rtmp_tests::peers::{make_clip, probe_packets, Process, TempDir};
use rtmp_tests::peers_more::{assert_same_packets, decode_errors, ffmpeg_play_with};
use std_support::RelayServer;

/// ffmpeg does not check certificates unless told to; said explicitly all the same.
const FFMPEG_TLS_OPTIONS: [&str; 2] = ["-tls_verify", "0"];

/// A certificate for 127.0.0.1 signed by itself: (certificate, key) PEM files in `dir`.
fn certificate_for_loopback(dir: &Path) -> (PathBuf, PathBuf) {
    let subject_names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let made = rcgen::generate_simple_self_signed(subject_names).expect("a certificate");
    let certificate = dir.join("certificate.pem");
    let key = dir.join("key.pem");
    std::fs::write(&certificate, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (certificate, key)
}

/// Our relay serving RTMPS only.
fn rtmps_relay(certificate: &Path, key: &Path) -> RelayServer {
    let mut server = Server::bind("127.0.0.1:0").expect("bind a loopback port");
    let tls = TlsServerConfig::from_pem_files(certificate, key).expect("load the certificate");
    server.set_tls(tls);
    RelayServer::start_with(server)
}

/// ffmpeg plays `name` over RTMPS from `relay` while `publish` publishes the clip; the file
/// ffmpeg writes must hold the clip's packets.
fn ffmpeg_plays_over_rtmps(label: &str, publish: impl FnOnce(&Path, &str, &Path)) {
    let dir = TempDir::new(label);
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 4, 25);
    let (certificate, key) = certificate_for_loopback(dir.path());
    let relay = rtmps_relay(&certificate, &key);
    let app_url = format!("rtmps://127.0.0.1:{}/live", relay.port);

    let played = dir.path().join("played.flv");
    let player = ffmpeg_play_with(&format!("{app_url}/x"), &FFMPEG_TLS_OPTIONS, &played);
    // The player waits for the stream, so it gets it from its first packet.
    relay.wait_until("ffmpeg waits for the stream", |relay| {
        relay.players("live/x") == 1
    });
    publish(&clip, &app_url, &certificate);

    // The relay tells the player the publisher left (NetStream.Play.UnpublishNotify) after
    // the last media: ffmpeg ends by itself.
    let player = player.wait(Duration::from_secs(20));
    assert!(
        player.status.success(),
        "ffmpeg over RTMPS: {}",
        String::from_utf8_lossy(&player.stderr)
    );
    let sent = probe_packets(clip.to_str().unwrap());
    // ffmpeg may keep its last few packets in its interleaving queue when the stream ends
    // (as in the other ffmpeg-player tests); it writes the rest in decoding-time order.
    assert_same_packets(&sent, &probe_packets(played.to_str().unwrap()), 4);
    assert_eq!(decode_errors(&played), "");
}

#[test]
fn std_client_publishes_over_rtmps_and_ffmpeg_plays_over_rtmps() {
    ffmpeg_plays_over_rtmps("std-tls-play", |clip, app_url, certificate| {
        let options = ClientOptions::default()
            .with_settings(ClientSettings::default().with_profile(Profile::Publisher))
            .with_tls(TlsClientConfig::trusting_pem_file(certificate).expect("trust it"));
        let client = Client::connect_with(app_url, options).expect("connect over TLS");
        assert!(client.transport().is_tls());
        let mut publisher = client.publish("x").expect("publish over TLS");
        let mut file = BufReader::new(File::open(clip).unwrap());
        let counts = publish_flv(&mut file, &mut publisher, true).expect("publish the clip");
        assert!(counts.video > 50 && counts.audio > 50, "{counts:?}");
        publisher.close().expect("close politely");
    });
}

#[test]
fn ffmpeg_publishes_over_rtmps_and_ffmpeg_plays_over_rtmps() {
    ffmpeg_plays_over_rtmps("std-tls-play-ffmpeg", |clip, app_url, _| {
        let publisher = Process::spawn(
            "ffmpeg (publish over TLS)",
            std::process::Command::new(rtmp_tests::peers::require("ffmpeg"))
                .args(["-hide_banner", "-loglevel", "error", "-re", "-i"])
                .arg(clip)
                .args(["-c", "copy", "-f", "flv"])
                .args(FFMPEG_TLS_OPTIONS)
                .arg(format!("{app_url}/x")),
        )
        .wait(Duration::from_secs(30));
        assert!(
            publisher.status.success(),
            "{}",
            String::from_utf8_lossy(&publisher.stderr)
        );
    });
}
