//! A small live RTMP server: publishers' streams go to the players of the same name.
//!
//! ```text
//! cargo run -p rtmp-std --example server -- 127.0.0.1:1935
//! ffmpeg -re -i clip.flv -c copy -f flv rtmp://127.0.0.1/live/cam1
//! ffplay rtmp://127.0.0.1/live/cam1
//! ```

use std::process::ExitCode;
use std::time::Duration;

use rtmp_std::proto::session::server::ServerConnectionConfig;
use rtmp_std::relay::Relay;
use rtmp_std::server::Server;

fn main() -> ExitCode {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:1935".to_owned());
    let mut config = ServerConnectionConfig::default();
    // A player sends next to nothing: ping it so the idle timeout only ends dead ones.
    config.session.ping_interval = Some(Duration::from_secs(20));
    let server = match Server::bind(&address, config) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("server: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
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
