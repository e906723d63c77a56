//! The relay server over RTMPS: publish to `rtmps://HOST:1936/live/NAME`, play the same URL.
//! The certificate chain and key are PEM files (e.g. made by `openssl req -x509` or Let's
//! Encrypt).
//!
//! ```text
//! cargo run --release -p rtmp-tokio --features tls --example rtmps_server -- \
//!     --cert cert.pem --key key.pem [--listen 127.0.0.1:1936] [--log info]
//! ffmpeg -re -i clip.flv -c copy -f flv -tls_verify 0 rtmps://127.0.0.1:1936/live/cam1
//! ffplay -tls_verify 0 rtmps://127.0.0.1:1936/live/cam1
//! ```

use rtmp_tokio::relay::{Relay, RelayConfig};
use rtmp_tokio::tls::{serve_relay, TlsServerConfig};
use tokio::net::TcpListener;

const USAGE: &str = "usage: rtmps_server --cert CERT.pem --key KEY.pem [--listen ADDR] \
                     [--log error|warn|info|debug|trace]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen = String::from("127.0.0.1:1936");
    let (mut certificate, mut key) = (None, None);
    let mut log = tracing::Level::INFO;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(address)) => listen = address,
            ("--cert", Some(path)) => certificate = Some(path),
            ("--key", Some(path)) => key = Some(path),
            ("--log", Some(level)) => log = level.parse()?,
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let (Some(certificate), Some(key)) = (certificate, key) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_max_level(log)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();

    let tls = TlsServerConfig::from_pem_files(&certificate, &key)?;
    let listener = TcpListener::bind(&listen).await?;
    let config = RelayConfig::default();
    let connection = config.connection.clone();
    let relay = Relay::new(config);
    tokio::select! {
        result = serve_relay(relay, listener, tls, connection) => result?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; exiting"),
    }
    Ok(())
}
