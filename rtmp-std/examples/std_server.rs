//! The relay server on blocking I/O, a thread per connection; the same flags as rtmp-tokio's
//! `server` example. Publishers' streams go to the players of the same `APP/NAME`.
//!
//! ```text
//! cargo run -p rtmp-std --example std_server -- [--listen 127.0.0.1:1935] [--multitrack capable|all]
//! ffmpeg -re -i clip.flv -c copy -f flv rtmp://127.0.0.1/live/cam1
//! ffplay rtmp://127.0.0.1/live/cam1
//! ```
//!
//! RTMPS, with the `tls` feature and a certificate and key in PEM files:
//!
//! ```text
//! cargo run -p rtmp-std --features tls --example std_server -- --listen 127.0.0.1:4443 --cert cert.pem --key key.pem
//! ffmpeg -re -i clip.flv -c copy -f flv -tls_verify 0 rtmps://127.0.0.1:4443/live/cam1
//! ```

use std::process::ExitCode;
use std::time::Duration;

use rtmp_std::proto::relay::MultitrackPolicy;
use rtmp_std::relay::{Relay, RelayConfig};
use rtmp_std::server::Server;

const USAGE: &str =
    "usage: std_server [--listen ADDR] [--multitrack capable|all] [--cert PEM --key PEM]

  --listen ADDR        where to listen (default 127.0.0.1:1935)
  --multitrack POLICY  capable: every track of a multitrack stream to players that announce
                       Enhanced RTMP multitrack, the default track to the others (default);
                       all: every track to every player
  --cert PEM, --key PEM  serve RTMPS (needs the tls feature)";

fn main() -> ExitCode {
    let mut address = String::from("127.0.0.1:1935");
    let mut config = RelayConfig::default();
    let (mut certificate, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        match (arg.as_str(), args.next()) {
            ("--listen", Some(value)) => address = value,
            ("--multitrack", Some(policy)) if policy == "capable" || policy == "all" => {
                config.hub.multitrack = if policy == "all" {
                    MultitrackPolicy::All
                } else {
                    MultitrackPolicy::Capable
                };
            }
            ("--cert", Some(value)) => certificate = Some(value),
            ("--key", Some(value)) => key = Some(value),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let mut server = match Server::bind(&address) {
        Ok(server) => server,
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!("std_server: {address} is already in use");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("std_server: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    // A player sends next to nothing: ping it so the idle timeout only ends dead ones.
    server.config_mut().session.ping_interval = Some(Duration::from_secs(20));
    match (certificate, key) {
        (Some(certificate), Some(key)) => {
            if let Err(error) = serve_tls(&mut server, &certificate, &key) {
                eprintln!("std_server: {error}");
                return ExitCode::FAILURE;
            }
        }
        (None, None) => {}
        _ => {
            eprintln!("std_server: --cert and --key go together\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    eprintln!("listening on {address}");
    let relay = Relay::with_config(config);
    let served = server.serve(move |session, peer| {
        eprintln!("{peer} connected");
        match relay.handle_from(session, Some(peer)) {
            Ok(()) => eprintln!("{peer} left"),
            Err(error) => eprintln!("{peer} dropped: {error}"),
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("std_server: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "tls")]
fn serve_tls(server: &mut Server, certificate: &str, key: &str) -> Result<(), rtmp_std::Error> {
    let tls = rtmp_std::tls::TlsServerConfig::from_pem_files(certificate, key)?;
    server.set_tls(tls);
    Ok(())
}

#[cfg(not(feature = "tls"))]
fn serve_tls(_: &mut Server, _: &str, _: &str) -> Result<(), rtmp_std::Error> {
    Err(rtmp_std::Error::Unsupported(
        "RTMPS needs the tls feature: cargo run --features tls ...",
    ))
}
