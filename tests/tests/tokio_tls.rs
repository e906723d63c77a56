//! RTMPS with the tokio adapter: our relay over TLS with a self-signed certificate (made by
//! rcgen); our client publishes and plays through it (by `rtmps://` URL with
//! `Client::connect_with`, and with `tls::connect_with`), and ffmpeg publishes to it and plays
//! from it, over TLS.

mod tokio_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use rtmp_tests::peers::{make_clip, probe_packets, require, Process, TempDir};
use rtmp_tests::peers_more::assert_same_packets;
use rtmp_tokio::client::{Client, ClientOptions, ClientSettings, Frame, Profile};
use rtmp_tokio::relay::{Relay, RelayConfig};
use rtmp_tokio::tls::{serve_relay, TlsClientConfig, TlsError, TlsServerConfig};
use rtmp_tokio::Error;
use tokio::runtime::Runtime;
use tokio_support::runtime;

/// A self-signed certificate for 127.0.0.1 and localhost: (certificate, key) PEM files.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (certificate, key, _) = self_signed_der(dir);
    (certificate, key)
}

/// The same, and the certificate in DER.
fn self_signed_der(dir: &Path) -> (PathBuf, PathBuf, Vec<u8>) {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("a self-signed certificate");
    let (certificate, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&certificate, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (certificate, key, certified.cert.der().to_vec())
}

/// Our relay over RTMPS on a loopback port, in a runtime of its own until dropped.
struct TlsRelay {
    port: u16,
    relay: Relay,
    runtime: Option<Runtime>,
}

impl TlsRelay {
    fn start(certificate: &Path, key: &Path) -> TlsRelay {
        let runtime = runtime();
        let tls = TlsServerConfig::from_pem_files(certificate, key).expect("the certificate");
        let config = RelayConfig::default();
        let connection = config.connection.clone();
        let relay = Relay::new(config);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        runtime.spawn(serve_relay(relay.clone(), listener, tls, connection));
        TlsRelay {
            port,
            relay,
            runtime: Some(runtime),
        }
    }

    fn url(&self, name: &str) -> String {
        format!("rtmps://127.0.0.1:{}/live/{name}", self.port)
    }

    /// Waits (at most 10 s) until `condition` holds of the relay.
    fn wait_until(&self, what: &str, condition: impl Fn(&Relay) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !condition(&self.relay) {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting until {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TlsRelay {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// A keyframe and 19 inter frames of AVC video (FLV VIDEODATA, E.4.3.1): the relay starts a
/// player on a keyframe, so the frames must parse as video.
fn video_frames() -> Vec<Bytes> {
    (0..20u8)
        .map(|index| {
            let frame_type = if index == 0 { 0x17 } else { 0x27 };
            let mut payload = vec![frame_type, 1, 0, 0, 0];
            payload.resize(5000 + usize::from(index), index);
            Bytes::from(payload)
        })
        .collect()
}

#[test]
fn tokio_client_publishes_and_plays_through_the_relay_over_rtmps() {
    let dir = TempDir::new("tokio-tls");
    let (certificate, key) = self_signed(dir.path());
    let server = TlsRelay::start(&certificate, &key);
    let url = format!("rtmps://127.0.0.1:{}/live", server.port);
    let trust = TlsClientConfig::trusting_pem_file(&certificate).expect("the certificate");

    let sent = video_frames();
    let runtime = runtime();
    let player = runtime.block_on(async {
        rtmp_tokio::tls::connect_with(&url, ClientOptions::default(), &trust)
            .await
            .expect("connect over TLS")
            .play("secure")
            .await
            .expect("play")
    });
    server.wait_until("the relay has the player", |relay| {
        relay.players("live/secure") == 1
    });
    let received = runtime.block_on(async {
        let publisher = rtmp_tokio::tls::connect_with(&url, ClientOptions::publisher(), &trust)
            .await
            .expect("connect over TLS")
            .publish("secure")
            .await
            .expect("publish");
        send_and_receive(publisher, player, &sent).await
    });
    assert!(
        received == sent,
        "{} frames of {} arrived, or not byte-identical",
        received.len(),
        sent.len()
    );
}

#[test]
fn tokio_client_connects_to_rtmps_urls_trusting_a_given_certificate() {
    let dir = TempDir::new("tokio-tls-url");
    let (certificate, key, der) = self_signed_der(dir.path());
    let server = TlsRelay::start(&certificate, &key);
    let url = format!("rtmps://127.0.0.1:{}/live", server.port);
    let trust = TlsClientConfig::trusting_der(&der).expect("the certificate");
    let options = |profile| {
        ClientOptions::default()
            .with_settings(ClientSettings::default().with_profile(profile))
            .with_tls(trust.clone())
    };

    let sent = video_frames();
    let runtime = runtime();
    let player = runtime.block_on(async {
        let client = Client::connect_with(&url, options(Profile::Player))
            .await
            .expect("connect to the rtmps:// URL");
        client.play("by-url").await.expect("play")
    });
    server.wait_until("the relay has the player", |relay| {
        relay.players("live/by-url") == 1
    });
    let received = runtime.block_on(async {
        let client = Client::connect_with(&url, options(Profile::Publisher))
            .await
            .expect("connect to the rtmps:// URL");
        let publisher = client.publish("by-url").await.expect("publish");
        send_and_receive(publisher, player, &sent).await
    });
    assert!(
        received == sent,
        "{} frames of {} arrived, or not byte-identical",
        received.len(),
        sent.len()
    );
}

#[test]
fn a_client_that_does_not_trust_the_certificate_says_so() {
    let dir = TempDir::new("tokio-tls-untrusted");
    let (certificate, key) = self_signed(dir.path());
    let server = TlsRelay::start(&certificate, &key);
    let url = server.url("x");
    runtime().block_on(async {
        let error = rtmp_tokio::tls::connect(&url)
            .await
            .err()
            .expect("an unknown issuer is refused");
        assert!(matches!(error, Error::Tls(TlsError::Rustls(_))), "{error}");
        assert!(error.to_string().contains("UnknownIssuer"), "{error}");

        // By URL, with the default options: the Mozilla roots do not vouch for it either.
        let error = Client::connect(&url)
            .await
            .err()
            .expect("an unknown issuer is refused");
        assert!(matches!(error, Error::Tls(_)), "{error}");
        assert!(error.to_string().contains("UnknownIssuer"), "{error}");

        // Trusting another certificate is no better.
        let other_dir = TempDir::new("tokio-tls-other");
        let (_, _, other) = self_signed_der(other_dir.path());
        let options = ClientOptions::default()
            .with_tls(TlsClientConfig::trusting_der(&other).expect("the other certificate"));
        let error = Client::connect_with(&url, options)
            .await
            .err()
            .expect("a certificate we do not trust is refused");
        assert!(matches!(error, Error::Tls(_)), "{error}");
    });
}

#[test]
fn ffmpeg_publishes_to_and_plays_from_the_relay_over_rtmps() {
    let dir = TempDir::new("tokio-tls-ffmpeg");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let (certificate, key) = self_signed(dir.path());
    let server = TlsRelay::start(&certificate, &key);
    let url = server.url("x");

    let played = dir.path().join("played.flv");
    let player = Process::spawn(
        "ffmpeg (play over TLS)",
        Command::new(require("ffmpeg"))
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-rw_timeout",
                "15000000",
            ])
            .args(["-tls_verify", "0", "-i"])
            .arg(&url)
            .args(["-c", "copy", "-flush_packets", "1", "-f", "flv"])
            .arg(&played),
    );
    // The player waits for the stream, so it gets it from its first packet.
    server.wait_until("the player waits", |relay| relay.players("live/x") == 1);
    let publisher = Process::spawn(
        "ffmpeg (publish over TLS)",
        Command::new(require("ffmpeg"))
            .args(["-hide_banner", "-loglevel", "error", "-i"])
            .arg(&clip)
            .args(["-c", "copy", "-f", "flv", "-tls_verify", "0"])
            .arg(&url),
    )
    .wait(Duration::from_secs(30));
    assert!(
        publisher.status.success(),
        "{}",
        String::from_utf8_lossy(&publisher.stderr)
    );
    let player = player.wait(Duration::from_secs(15));
    assert!(
        player.status.success(),
        "{}",
        String::from_utf8_lossy(&player.stderr)
    );

    let sent = probe_packets(clip.to_str().unwrap());
    // ffmpeg may keep the last few packets in its interleaving queue.
    assert_same_packets(&sent, &probe_packets(played.to_str().unwrap()), 4);
}

/// Publishes `sent` as video, closes, and collects the video `player` gets until the relay
/// tells it the publisher left.
async fn send_and_receive<S, T>(
    mut publisher: rtmp_tokio::client::Publisher<S>,
    mut player: rtmp_tokio::client::Player<T>,
    sent: &[Bytes],
) -> Vec<Bytes>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    for (index, payload) in sent.iter().enumerate() {
        let _ = publisher
            .send_video(index as u32 * 40, payload.clone())
            .await
            .expect("send over TLS");
    }
    publisher.close().await.expect("close politely");
    let mut received = Vec::new();
    let playing = async {
        while let Some(frame) = player.next_frame().await.expect("a frame") {
            if let Frame::Video { payload, .. } = frame {
                received.push(payload);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), playing)
        .await
        .expect("the player ends when the publisher leaves");
    player.close().await.expect("close politely");
    received
}
