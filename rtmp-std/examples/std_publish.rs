//! Publishes an FLV file to an RTMP server, paced in real time by the tags' timestamps.
//!
//! ```text
//! cargo run -p rtmp-std --example std_publish -- clip.flv rtmp://127.0.0.1/live/cam1
//! ```
//!
//! `rtmps://` URLs need the `tls` feature; `RTMP_TRUST=cert.pem` trusts that certificate
//! instead of the Mozilla roots.

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;

use rtmp_std::client::{Client, ClientOptions};
use rtmp_std::flv::publish_flv;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, url] = args.as_slice() else {
        eprintln!("usage: publish FILE.flv rtmp://host[:port]/app/stream");
        return ExitCode::from(2);
    };
    match run(file, url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("publish: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(file: &str, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut file = BufReader::new(File::open(file)?);
    let stream = rtmp_std::proto::url::RtmpUrl::parse(url)?
        .stream
        .ok_or("the URL names no stream: rtmp://host/app/STREAM")?;
    let client = Client::connect_with(url, with_tls(ClientOptions::publisher())?)?;
    let mut publisher = client.publish(&stream)?;
    let counts = publish_flv(&mut file, &mut publisher, true)?;
    publisher.close()?;
    eprintln!(
        "published {} video, {} audio and {} data tags",
        counts.video, counts.audio, counts.data
    );
    Ok(())
}

/// The client options for `url`: with the `tls` feature, `rtmps://` URLs trust the certificate
/// in the PEM file named by `RTMP_TRUST`, or else the Mozilla roots.
#[cfg(feature = "tls")]
fn with_tls(mut options: ClientOptions) -> Result<ClientOptions, rtmp_std::Error> {
    use rtmp_std::tls::TlsClientConfig;
    options.tls = Some(match std::env::var_os("RTMP_TRUST") {
        Some(path) => TlsClientConfig::trusting_pem_file(path)?,
        None => TlsClientConfig::with_webpki_roots()?,
    });
    Ok(options)
}

#[cfg(not(feature = "tls"))]
fn with_tls(options: ClientOptions) -> Result<ClientOptions, rtmp_std::Error> {
    Ok(options)
}
