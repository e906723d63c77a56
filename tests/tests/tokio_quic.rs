//! RTMP over QUIC: one RTMP session per QUIC bidirectional stream (quinn), on 127.0.0.1 with a
//! self-signed certificate. The transport is only the byte stream: the client is
//! `Client::connect_over`, the server `Relay::serve_connection` over a `ServerSession`, the
//! same code as over TCP. A clip published through our relay over QUIC arrives
//! packet-for-packet at a player over QUIC.

mod tokio_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use quinn::{Endpoint, RecvStream, SendStream};
use rtmp_tests::peers::{make_clip, probe_packets, TempDir};
use rtmp_tests::peers_more::assert_same_packets;
use rtmp_tokio::client::{Client, ClientOptions};
use rtmp_tokio::flv::{publish_flv, FlvRecorder};
use rtmp_tokio::relay::{Relay, RelayConfig};
use rtmp_tokio::server::ServerSession;
use tokio::io::Join;
use tokio_support::runtime;

/// A QUIC bidirectional stream as one `AsyncRead + AsyncWrite` byte stream.
type QuicStream = Join<RecvStream, SendStream>;

/// The relay's QUIC endpoint on 127.0.0.1, with a certificate for `localhost`; and that
/// certificate, for clients to trust.
fn relay_endpoint() -> (Endpoint, CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("a self-signed certificate");
    let certificate = certified.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let config = quinn::ServerConfig::with_single_cert(vec![certificate.clone()], key.into())
        .expect("a QUIC server configuration");
    let endpoint = Endpoint::server(config, "127.0.0.1:0".parse().unwrap()).expect("bind UDP");
    (endpoint, certificate)
}

/// Serves each bidirectional stream of each QUIC connection as one RTMP connection of `relay`.
async fn serve_relay_over_quic(endpoint: Endpoint, relay: Relay) {
    while let Some(incoming) = endpoint.accept().await {
        let relay = relay.clone();
        tokio::spawn(async move {
            let Ok(connection) = incoming.await else {
                return;
            };
            while let Ok((send, recv)) = connection.accept_bi().await {
                let stream: QuicStream = tokio::io::join(recv, send);
                let session = ServerSession::new(stream, RelayConfig::default().connection);
                tokio::spawn(relay.clone().serve_connection(session));
            }
        });
    }
}

/// A client endpoint trusting `certificate`.
fn client_endpoint(certificate: CertificateDer<'static>) -> Endpoint {
    let mut roots = quinn::rustls::RootCertStore::empty();
    roots.add(certificate).expect("trust the certificate");
    let config =
        quinn::ClientConfig::with_root_certificates(Arc::new(roots)).expect("a QUIC client");
    let mut endpoint = Endpoint::client("127.0.0.1:0".parse().unwrap()).expect("bind UDP");
    endpoint.set_default_client_config(config);
    endpoint
}

/// Opens a QUIC connection to `server` and a bidirectional stream on it, then connects RTMP
/// over that stream. The QUIC connection is returned too: it must outlive the session.
async fn connect_over_quic(
    endpoint: &Endpoint,
    server: SocketAddr,
    url: &str,
    options: ClientOptions,
) -> (quinn::Connection, Client<QuicStream>) {
    let connection = endpoint
        .connect(server, "localhost")
        .expect("start a QUIC connection")
        .await
        .expect("the QUIC handshake");
    let (send, recv) = connection.open_bi().await.expect("a bidirectional stream");
    let client = Client::connect_over(tokio::io::join(recv, send), url, options)
        .await
        .expect("RTMP connect over QUIC");
    (connection, client)
}

#[test]
fn a_clip_goes_through_the_relay_over_quic_packet_for_packet() {
    let dir = TempDir::new("tokio-quic");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let recorded = dir.path().join("recorded.flv");

    let runtime = runtime();
    let relay = Relay::new(RelayConfig::default());
    let result = runtime.block_on(async {
        let (server, certificate) = relay_endpoint();
        let address = server.local_addr().expect("the UDP address");
        tokio::spawn(serve_relay_over_quic(server.clone(), relay.clone()));
        let url = format!("rtmp://localhost:{}/live", address.port());
        let client = client_endpoint(certificate);

        let (player_connection, player) =
            connect_over_quic(&client, address, &url, ClientOptions::default()).await;
        let mut player = player.play("cam").await.expect("play over QUIC");
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while relay.players("live/cam") != 1 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        waited.await.expect("the relay has the player");
        let recording = tokio::spawn(async move {
            let file = tokio::fs::File::create(recorded).await.unwrap();
            let mut recorder = FlvRecorder::new(tokio::io::BufWriter::new(file))
                .await
                .unwrap();
            while let Some(frame) = player.next_frame().await.expect("a frame over QUIC") {
                recorder.write(&frame).await.unwrap();
            }
            let mut writer = recorder.finish().await.unwrap();
            tokio::io::AsyncWriteExt::flush(&mut writer).await.unwrap();
            player.close().await.expect("close politely");
        });

        let (publisher_connection, publisher) =
            connect_over_quic(&client, address, &url, ClientOptions::publisher()).await;
        let mut publisher = publisher.publish("cam").await.expect("publish over QUIC");
        let mut file = tokio::fs::File::open(&clip).await.unwrap();
        let counts = publish_flv(&mut file, &mut publisher, false)
            .await
            .expect("publish the clip over QUIC");
        publisher.close().await.expect("close politely");

        let recorded = tokio::time::timeout(Duration::from_secs(20), recording).await;
        player_connection.close(0u32.into(), b"done");
        publisher_connection.close(0u32.into(), b"done");
        let _ = tokio::time::timeout(Duration::from_secs(2), client.wait_idle()).await;
        server.close(0u32.into(), b"done");
        recorded.map(|joined| joined.map(|()| counts))
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    let counts = result
        .expect("the player ends within 20 s")
        .expect("the player task");
    assert!(counts.video > 0 && counts.audio > 0, "{counts:?}");

    let sent = probe_packets(clip.to_str().unwrap());
    let received = probe_packets(dir.path().join("recorded.flv").to_str().unwrap());
    assert!(sent.len() > 100, "the clip has only {} packets", sent.len());
    // The whole file, in order: the relay keeps the publisher's interleaving of audio and
    // video (one media lane in the outbound queue), and our recorder writes what arrives in
    // arrival order. Nothing may be missing: the player ends on UnpublishNotify, which the
    // queue sends only after the stream's last frames.
    assert_same_packets(&sent, &received, 0);
}
