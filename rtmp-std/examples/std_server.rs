//! The relay server on blocking I/O, a thread per connection; the same flags as rtmp-tokio's
//! `server` example where they apply. Publishers' streams go to the players of the same
//! `APP/NAME`.
//!
//! ```text
//! cargo run -p rtmp-std --example std_server -- [--listen 127.0.0.1:1935] [--multitrack capable|all]
//! ffmpeg -re -i clip.flv -c copy -f flv rtmp://127.0.0.1/live/cam1
//! ffplay rtmp://127.0.0.1/live/cam1
//! ```
//!
//! For production: `--publish-key KEY` (repeatable: a publish must carry one as
//! `NAME?key=KEY`), `--record DIR` (`DIR/APP/NAME-UTCSTART.flv`), and on SIGTERM or ctrl-c a
//! drain: the listener closes, capable publishers are asked to move (`--reconnect-to URL`, or
//! back to this address), and the server exits 0 once nobody publishes or plays, or after
//! `--drain-timeout MS` (default 10000).
//!
//! An edge: `--origin URL` (repeatable, tried in order; `URL` names the origin's app,
//! `rtmp://10.0.0.1/live`) pulls a stream nobody publishes here from `URL/NAME` on its first
//! play, with `--origin-timeout`, `--origin-reconnect` and `--origin-idle-close` as in
//! rtmp-tokio's `server`; `--origin-ca PEM` (tls feature) trusts that certificate for
//! `rtmps://` origins (a self-signed origin).
//!
//! RTMPS, with the `tls` feature and a certificate and key in PEM files:
//!
//! ```text
//! cargo run -p rtmp-std --features tls --example std_server -- --listen 127.0.0.1:4443 --cert cert.pem --key key.pem
//! ffmpeg -re -i clip.flv -c copy -f flv -tls_verify 0 rtmps://127.0.0.1:4443/live/cam1
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rtmp_std::proto::relay::{Access, AccessKind, MultitrackPolicy, PullTarget};
use rtmp_std::relay::{Relay, RelayConfig};
use rtmp_std::server::Server;

const USAGE: &str =
    "usage: std_server [--listen ADDR] [--multitrack capable|all] [--cert PEM --key PEM]
                  [--publish-key KEY]... [--record DIR] [--reconnect-to URL] [--drain-timeout MS]
                  [--origin URL]... [--origin-timeout MS] [--origin-reconnect MS]
                  [--origin-idle-close MS] [--origin-ca PEM]

  --listen ADDR        where to listen (default 127.0.0.1:1935)
  --multitrack POLICY  capable: every track of a multitrack stream to players that announce
                       Enhanced RTMP multitrack, the default track to the others (default);
                       all: every track to every player
  --cert PEM, --key PEM  serve RTMPS (needs the tls feature)
  --publish-key KEY    a publish must carry KEY as NAME?key=KEY (repeatable: any of them)
  --record DIR         record every published stream to DIR/APP/NAME-UTCSTART.flv
  --reconnect-to URL   on SIGTERM or ctrl-c, the tcUrl capable publishers are asked to move to
                       (default: back to this address)
  --drain-timeout MS   how long the drain waits for publishers and players to leave
                       (default 10000)
  --origin URL         be an edge of this origin app (repeatable, tried in order): a play of a
                       stream nobody publishes here is pulled from URL/NAME
  --origin-timeout MS  how long an origin may take to send a pulled stream's first media
                       before the next is tried (default 5000)
  --origin-reconnect MS  how long a pulled stream whose upstream dropped waits for an origin,
                       its players kept (default 10000)
  --origin-idle-close MS  how long after its last player leaves a pulled stream's upstream is
                       closed (default 5000)
  --origin-ca PEM      trust this certificate for rtmps:// origins (needs the tls feature)";

/// Set by SIGTERM or SIGINT.
static STOP: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let mut address = String::from("127.0.0.1:1935");
    let mut config = RelayConfig::default();
    let (mut certificate, mut key) = (None, None);
    let mut publish_keys: Vec<String> = Vec::new();
    let mut reconnect_to = None;
    let mut drain_timeout = Duration::from_secs(10);
    let mut origins = Vec::new();
    let mut origin_ca = None;
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
            ("--publish-key", Some(value)) => publish_keys.push(value),
            ("--record", Some(value)) => config.record_dir = Some(PathBuf::from(value)),
            ("--reconnect-to", Some(value)) => reconnect_to = Some(value),
            ("--origin", Some(value)) => match PullTarget::parse(&value) {
                Ok(origin) => origins.push(origin),
                Err(error) => {
                    eprintln!("std_server: --origin {value}: {error}");
                    return ExitCode::from(2);
                }
            },
            ("--origin-ca", Some(value)) => origin_ca = Some(value),
            (
                flag @ ("--origin-timeout" | "--origin-reconnect" | "--origin-idle-close"),
                Some(value),
            ) => {
                let Ok(millis) = value.parse() else {
                    eprintln!(
                        "std_server: {flag} {value:?} is not a number of milliseconds\n{USAGE}"
                    );
                    return ExitCode::from(2);
                };
                let pull = &mut config.hub.pull;
                *match flag {
                    "--origin-timeout" => &mut pull.attempt_timeout,
                    "--origin-reconnect" => &mut pull.reconnect_timeout,
                    _ => &mut pull.idle_close,
                } = Duration::from_millis(millis);
            }
            ("--drain-timeout", Some(value)) => match value.parse() {
                Ok(millis) => drain_timeout = Duration::from_millis(millis),
                Err(_) => {
                    eprintln!("std_server: --drain-timeout {value:?} is not a number of milliseconds\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    config = config.pull_from(origins);
    if let Some(ca) = origin_ca {
        if let Err(error) = trust_origin_ca(&mut config, &ca) {
            eprintln!("std_server: --origin-ca {ca}: {error}");
            return ExitCode::FAILURE;
        }
    }
    if !publish_keys.is_empty() {
        config = config.access(move |request, _| match request.kind {
            AccessKind::Publish if !request.carries_key(&publish_keys) => {
                Access::Refuse(String::from("A valid ?key= is needed to publish."))
            }
            _ => Access::Allow,
        });
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
    // Frames go to the players as one chunk each, header then payload, not copied.
    server.config_mut().session.chunk_size = rtmp_std::proto::relay::RELAY_CHUNK_SIZE;
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
    let stop = match server.stop_handle() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("std_server: {error}");
            return ExitCode::FAILURE;
        }
    };
    on_stop_signals();
    std::thread::spawn(move || {
        while !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.stop();
    });
    match &config.record_dir {
        Some(dir) => eprintln!("listening on {address}, recording to {}", dir.display()),
        None => eprintln!("listening on {address}"),
    }
    let relay = Relay::with_config(config);
    let serving = relay.clone();
    let served = server.serve(move |session, peer| {
        eprintln!("{peer} connected");
        match serving.handle_from(session, Some(peer)) {
            Ok(()) => eprintln!("{peer} left"),
            Err(error) => eprintln!("{peer} dropped: {error}"),
        }
    });
    // The listener closes here: a drain accepts no one.
    drop(server);
    if let Err(error) = served {
        eprintln!("std_server: {error}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "stop signal: draining (up to {} ms)",
        drain_timeout.as_millis()
    );
    if relay.drain(reconnect_to, drain_timeout) {
        eprintln!("drained");
    } else {
        eprintln!("drain timed out; closing the connections left");
    }
    let recordings = relay.recordings();
    if recordings.failed > 0 {
        eprintln!(
            "{} of {} recordings failed",
            recordings.failed, recordings.started
        );
    }
    ExitCode::SUCCESS
}

/// SIGTERM and SIGINT set [`STOP`]; a thread watches it (a handler may do no more).
#[cfg(unix)]
fn on_stop_signals() {
    extern "C" fn stop(_: libc::c_int) {
        STOP.store(true, Ordering::SeqCst);
    }
    let handler = stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGINT, handler);
    }
}

#[cfg(not(unix))]
fn on_stop_signals() {}

#[cfg(feature = "tls")]
fn serve_tls(server: &mut Server, certificate: &str, key: &str) -> Result<(), rtmp_std::Error> {
    let tls = rtmp_std::tls::TlsServerConfig::from_pem_files(certificate, key)?;
    server.set_tls(tls);
    Ok(())
}

#[cfg(feature = "tls")]
fn trust_origin_ca(config: &mut RelayConfig, path: &str) -> Result<(), rtmp_std::Error> {
    config.pull_client.tls = Some(rtmp_std::tls::TlsClientConfig::trusting_pem_file(path)?);
    Ok(())
}

#[cfg(not(feature = "tls"))]
fn trust_origin_ca(_: &mut RelayConfig, _: &str) -> Result<(), rtmp_std::Error> {
    Err(rtmp_std::Error::Unsupported(
        "rtmps:// origins need the tls feature: cargo run --features tls ...",
    ))
}

#[cfg(not(feature = "tls"))]
fn serve_tls(_: &mut Server, _: &str, _: &str) -> Result<(), rtmp_std::Error> {
    Err(rtmp_std::Error::Unsupported(
        "RTMPS needs the tls feature: cargo run --features tls ...",
    ))
}
