//! RTMP over QUIC: the relay serves each QUIC bidirectional stream as one RTMP connection,
//! and a publisher and a player, each over a stream of its own QUIC connection, go through it.
//! The transport is one generic parameter: `Client::connect_over` and `ServerSession::new` take
//! the stream (`tokio::io::join` of quinn's receive and send halves), the rest is the TCP code.
//!
//! ```text
//! cargo run --release -p rtmp-tokio --example quic -- [--listen 127.0.0.1:0] [--frames 100]
//! ```
//!
//! Both ends are in this process, with a self-signed certificate for `localhost` made at
//! start; it prints what the player received and exits non-zero unless it is byte-identical.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use quinn::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use quinn::{Endpoint, RecvStream, SendStream};
use rtmp_tokio::client::{Client, ClientOptions, Frame};
use rtmp_tokio::relay::{Relay, RelayConfig};
use rtmp_tokio::server::ServerSession;
use tokio::io::Join;

/// A QUIC bidirectional stream as one `AsyncRead + AsyncWrite` byte stream.
type QuicStream = Join<RecvStream, SendStream>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut frame_count: u32 = 100;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(address)) => listen = address.parse()?,
            ("--frames", Some(count)) => frame_count = count.parse()?,
            _ => {
                eprintln!("usage: quic [--listen UDP-ADDR] [--frames N]");
                std::process::exit(2);
            }
        }
    }
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .init();

    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let certificate = certified.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let server_config =
        quinn::ServerConfig::with_single_cert(vec![certificate.clone()], key.into())?;
    let server = Endpoint::server(server_config, listen)?;
    let address = server.local_addr()?;
    println!("relay listening on QUIC {address}");
    let relay = Relay::new(RelayConfig::default());
    tokio::spawn(serve_relay_over_quic(server.clone(), relay.clone()));

    let client = client_endpoint(certificate)?;
    let url = format!("rtmp://localhost:{}/live", address.port());
    let (player_connection, player) =
        connect_over_quic(&client, address, &url, ClientOptions::default()).await?;
    let mut player = player.play("cam").await?;
    let joined = async {
        while relay.players("live/cam") != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), joined)
        .await
        .map_err(|_| "the relay did not register the player within 10 s")?;
    let playing = tokio::spawn(async move {
        let mut video = Vec::new();
        while let Some(frame) = player.next_frame().await? {
            if let Frame::Video { payload, .. } = frame {
                video.push(payload);
            }
        }
        player.close().await?;
        Ok::<_, rtmp_tokio::Error>(video)
    });

    let (publisher_connection, publisher) =
        connect_over_quic(&client, address, &url, ClientOptions::publisher()).await?;
    let mut publisher = publisher.publish("cam").await?;
    let sent = video_frames(frame_count);
    for (index, payload) in (0u32..).zip(&sent) {
        let _ = publisher.send_video(index * 40, payload.clone()).await?;
    }
    publisher.close().await?;

    let received = tokio::time::timeout(Duration::from_secs(20), playing).await???;
    let total: usize = received.iter().map(Bytes::len).sum();
    println!(
        "the player received {} of {} video frames ({total} bytes) over QUIC",
        received.len(),
        sent.len()
    );
    player_connection.close(0u32.into(), b"done");
    publisher_connection.close(0u32.into(), b"done");
    let _ = tokio::time::timeout(Duration::from_secs(2), client.wait_idle()).await;
    server.close(0u32.into(), b"done");
    if received != sent {
        return Err("the frames received are not those sent".into());
    }
    println!("byte-identical");
    Ok(())
}

/// A keyframe, then inter frames of AVC video (FLV VIDEODATA): the relay starts a player on a
/// keyframe, so the frames must parse as video.
fn video_frames(count: u32) -> Vec<Bytes> {
    (0..count)
        .map(|index| {
            let frame_type = if index % 25 == 0 { 0x17 } else { 0x27 };
            let mut payload = vec![frame_type, 1, 0, 0, 0];
            payload.resize(2000 + index as usize * 7 % 3000, index as u8);
            Bytes::from(payload)
        })
        .collect()
}

/// Serves each bidirectional stream of each QUIC connection as one RTMP connection of `relay`.
async fn serve_relay_over_quic(endpoint: Endpoint, relay: Relay) {
    while let Some(incoming) = endpoint.accept().await {
        let relay = relay.clone();
        tokio::spawn(async move {
            let connection = match incoming.await {
                Ok(connection) => connection,
                Err(error) => return tracing::warn!(%error, "QUIC handshake failed"),
            };
            while let Ok((send, recv)) = connection.accept_bi().await {
                let stream: QuicStream = tokio::io::join(recv, send);
                let session = ServerSession::new(stream, RelayConfig::default().connection);
                tokio::spawn(relay.clone().serve_connection(session));
            }
        });
    }
}

/// A client endpoint that trusts only `certificate`.
fn client_endpoint(certificate: CertificateDer<'static>) -> Result<Endpoint, BoxError> {
    let mut roots = quinn::rustls::RootCertStore::empty();
    roots.add(certificate)?;
    let config = quinn::ClientConfig::with_root_certificates(Arc::new(roots))?;
    let mut endpoint = Endpoint::client("127.0.0.1:0".parse()?)?;
    endpoint.set_default_client_config(config);
    Ok(endpoint)
}

/// Opens a QUIC connection to `server` and a bidirectional stream on it, and connects RTMP over
/// the stream. The QUIC connection is returned too, to be closed once the session is over.
async fn connect_over_quic(
    endpoint: &Endpoint,
    server: SocketAddr,
    url: &str,
    options: ClientOptions,
) -> Result<(quinn::Connection, Client<QuicStream>), BoxError> {
    let connection = endpoint.connect(server, "localhost")?.await?;
    let (send, recv) = connection.open_bi().await?;
    let client = Client::connect_over(tokio::io::join(recv, send), url, options).await?;
    Ok((connection, client))
}
