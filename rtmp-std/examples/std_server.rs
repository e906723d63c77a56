//! A small live RTMP server: publishers' streams go to the players of the same name.
//!
//! ```text
//! cargo run -p rtmp-std --example std_server -- 127.0.0.1:1935
//! ffmpeg -re -i clip.flv -c copy -f flv rtmp://127.0.0.1/live/cam1
//! ffplay rtmp://127.0.0.1/live/cam1
//! ```
//!
//! RTMPS, with the `tls` feature and a certificate and key in PEM files:
//!
//! ```text
//! cargo run -p rtmp-std --features tls --example std_server -- 127.0.0.1:4443 cert.pem key.pem
//! ffmpeg -re -i clip.flv -c copy -f flv -tls_verify 0 rtmps://127.0.0.1:4443/live/cam1
//! ```

use std::process::ExitCode;
use std::time::Duration;

use rtmp_std::relay::Relay;
use rtmp_std::server::Server;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let address = args
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:1935".to_owned());
    let mut server = match Server::bind(&address) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("server: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    // A player sends next to nothing: ping it so the idle timeout only ends dead ones.
    server.config_mut().session.ping_interval = Some(Duration::from_secs(20));
    if let [_, certificate, key] = args.as_slice() {
        if let Err(error) = serve_tls(&mut server, certificate, key) {
            eprintln!("server: {error}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!("listening on {address}");
    let relay = Relay::new();
    let served = server.serve(move |session, peer| {
        eprintln!("{peer} connected");
        match relay.handle(session) {
            Ok(()) => eprintln!("{peer} left"),
            Err(error) => eprintln!("{peer} dropped: {error}"),
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server: {error}");
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
