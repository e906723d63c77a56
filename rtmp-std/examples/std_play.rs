//! Plays a stream from an RTMP server into an FLV file, until the publisher leaves, the server
//! ends the stream, or nothing arrives for 10 s.
//!
//! ```text
//! cargo run -p rtmp-std --example std_play -- rtmp://127.0.0.1/live/cam1 out.flv
//! ```
//!
//! `rtmps://` URLs need the `tls` feature; `RTMP_TRUST=cert.pem` trusts that certificate
//! instead of the Mozilla roots.

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;
use std::time::Duration;

use rtmp_std::client::{Client, ClientOptions, Frame};
use rtmp_std::flv::FlvRecorder;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, file] = args.as_slice() else {
        eprintln!("usage: play rtmp://host[:port]/app/stream FILE.flv");
        return ExitCode::from(2);
    };
    match run(url, file) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("play: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(url: &str, file: &str) -> Result<(), Box<dyn std::error::Error>> {
    let stream = rtmp_std::proto::url::RtmpUrl::parse(url)?
        .stream
        .ok_or("the URL names no stream: rtmp://host/app/STREAM")?;
    let options = ClientOptions::default().with_read_timeout(Some(Duration::from_secs(10)));
    let mut player = Client::connect_with(url, with_tls(options)?)?.play(&stream)?;
    let mut recorder = FlvRecorder::new(BufWriter::new(File::create(file)?))?;
    let mut frames = 0usize;
    loop {
        let frame = match player.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) if error.is_timeout() => {
                eprintln!("nothing for 10 s: stopping");
                break;
            }
            Err(error) => return Err(error.into()),
        };
        match &frame {
            // A live stream's publisher left; the server would keep us for the next one.
            Frame::Status(status) if status.code == "NetStream.Play.UnpublishNotify" => break,
            Frame::Status(status) => eprintln!("{}: {}", status.code, status.description),
            _ => {
                recorder.write(&frame)?;
                frames += 1;
            }
        }
    }
    recorder.finish()?;
    let _ = player.close();
    eprintln!("recorded {frames} frames");
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
