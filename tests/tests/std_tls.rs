//! RTMPS with the blocking adapter: our server with a self-signed certificate (made by rcgen),
//! ffmpeg publishing to it over TLS, our client playing over TLS and trusting that certificate.

mod std_support;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use rtmp_std::client::{Client, ClientOptions, Frame};
use rtmp_std::flv::FlvRecorder;
use rtmp_std::server::Server;
use rtmp_std::tls::{TlsClientConfig, TlsError, TlsServerConfig};
use rtmp_std::Error;
use rtmp_tests::peers::{make_clip, probe_packets, require, Process, TempDir};
use rtmp_tests::peers_more::assert_same_packets;
use std_support::RelayServer;

/// A self-signed certificate for 127.0.0.1 and localhost: (certificate, key) PEM files.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("a self-signed certificate");
    let (certificate, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&certificate, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (certificate, key)
}

fn tls_relay(certificate: &Path, key: &Path) -> RelayServer {
    let mut server = Server::bind("127.0.0.1:0").unwrap();
    server.set_tls(TlsServerConfig::from_pem_files(certificate, key).expect("the certificate"));
    RelayServer::start_with(server)
}

fn trusting(certificate: &Path) -> ClientOptions {
    ClientOptions::default()
        .with_tls(TlsClientConfig::trusting_pem_file(certificate).expect("the certificate"))
        .with_read_timeout(Some(Duration::from_secs(15)))
}

#[test]
fn std_client_and_server_over_rtmps() {
    let dir = TempDir::new("std-tls");
    let (certificate, key) = self_signed(dir.path());
    let server = tls_relay(&certificate, &key);
    let url = format!("rtmps://127.0.0.1:{}/live", server.port);

    let mut player = Client::connect_with(&url, trusting(&certificate))
        .expect("connect over TLS")
        .play("secure")
        .expect("play");
    assert!(player.client().transport().is_tls());
    let mut publisher_options = trusting(&certificate);
    publisher_options.settings.profile = rtmp_std::client::Profile::Publisher;
    let mut publisher = Client::connect_with(&url, publisher_options)
        .expect("connect over TLS")
        .publish("secure")
        .expect("publish");
    server.wait_until("the relay has the player", |relay| {
        relay.players("live/secure") == 1
    });
    let sent: Vec<Bytes> = (0..20u8)
        .map(|index| {
            // AVC NAL units, the first a keyframe: the player starts on it.
            let mut payload = vec![index; 5000 + usize::from(index)];
            payload[..5].copy_from_slice(&[if index == 0 { 0x17 } else { 0x27 }, 1, 0, 0, 0]);
            Bytes::from(payload)
        })
        .collect();
    for (index, payload) in sent.iter().enumerate() {
        let _ = publisher
            .send_video(index as u32 * 40, payload.clone())
            .expect("send over TLS");
    }
    publisher.close().expect("close politely");
    let mut received = Vec::new();
    while let Some(frame) = player.next_frame().expect("a frame") {
        if let Frame::Video { payload, .. } = frame {
            received.push(payload);
        }
    }
    assert_eq!(received, sent);
    player.close().expect("close politely");
}

#[test]
fn a_client_that_does_not_trust_the_certificate_says_so() {
    let dir = TempDir::new("std-tls-untrusted");
    let (certificate, key) = self_signed(dir.path());
    let server = tls_relay(&certificate, &key);
    let url = format!("rtmps://127.0.0.1:{}/live", server.port);

    let options = ClientOptions::default().with_tls(TlsClientConfig::with_webpki_roots().unwrap());
    let error = Client::connect_with(&url, options)
        .err()
        .expect("an unknown issuer is refused");
    assert!(matches!(error, Error::Tls(TlsError::Rustls(_))), "{error}");
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");

    // Without a configuration, the Mozilla roots: they do not vouch for it either.
    let error = Client::connect_with(&url, ClientOptions::default())
        .err()
        .expect("an unknown issuer is refused by default");
    assert!(matches!(error, Error::Tls(_)), "{error}");
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
}

#[test]
fn ffmpeg_publishes_to_std_server_over_rtmps() {
    let dir = TempDir::new("std-tls-ffmpeg");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let (certificate, key) = self_signed(dir.path());
    let server = tls_relay(&certificate, &key);
    let url = format!("rtmps://127.0.0.1:{}/live/x", server.port);

    let mut player = Client::connect_with(&url, trusting(&certificate))
        .expect("connect over TLS")
        .play("x")
        .expect("play");
    server.wait_until("the player waits", |relay| relay.players("live/x") == 1);
    let recorded = dir.path().join("recorded.flv");
    let recording = {
        let recorded = recorded.clone();
        std::thread::spawn(move || {
            let file = BufWriter::new(File::create(recorded).unwrap());
            let mut recorder = FlvRecorder::new(file).unwrap();
            while let Some(frame) = player.next_frame().expect("a frame") {
                recorder.write(&frame).unwrap();
            }
            recorder.finish().unwrap();
            player.close().expect("close politely");
        })
    };
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
    recording.join().expect("the recording thread");

    let sent = probe_packets(clip.to_str().unwrap());
    let received = probe_packets(recorded.to_str().unwrap());
    assert!(sent.len() > 100, "the clip has {} packets", sent.len());
    assert_same_packets(&sent, &received, 0);
}

/// `tls::accept` over a TCP stream the application accepted itself, as rtmp-tokio's: the
/// session over the TLS stream answers our client, which trusts the certificate.
#[test]
fn a_session_over_a_stream_from_tls_accept() {
    use rtmp_std::proto::session::server::{ServerConnectionConfig, ServerEvent};
    use rtmp_std::server::ServerSession;

    let dir = TempDir::new("std-tls-accept");
    let (certificate, key) = self_signed(dir.path());
    let tls = TlsServerConfig::from_pem_files(&certificate, &key).expect("the certificate");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "rtmps://127.0.0.1:{}/live",
        listener.local_addr().unwrap().port()
    );
    let serving = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let stream = rtmp_std::tls::accept(&tls, tcp).expect("the TLS handshake");
        assert!(stream.is_tls());
        let mut session = ServerSession::new(stream, ServerConnectionConfig::default());
        let mut connected = false;
        while let Ok(event) = session.next_event() {
            if let ServerEvent::ConnectRequest(request) = event {
                session.accept_connect(request.id).unwrap();
                connected = true;
            }
        }
        connected
    });
    let client = Client::connect_with(&url, trusting(&certificate)).expect("connect over TLS");
    assert!(client.transport().is_tls());
    client.close().expect("a clean close");
    assert!(serving.join().unwrap(), "the session answered connect");
}
