//! The relay server: publish to `rtmp://127.0.0.1/live/NAME`, play the same URL with any
//! number of players.
//!
//! ```text
//! cargo run --release -p rtmp-tokio --example server -- [--listen 127.0.0.1:1935] [--threads 1] \
//!     [--multitrack capable|all] [--merge-window 25] [--memory-budget 256] \
//!     [--connect-timeout 10000] [--stream-timeout 10000] [--log info]
//! ffmpeg -re -i clip.flv -c copy -f flv rtmp://127.0.0.1/live/cam1
//! ffplay rtmp://127.0.0.1/live/cam1
//! ```

use std::time::Duration;

use rtmp_tokio::proto::relay::MultitrackPolicy;
use rtmp_tokio::proto::MemoryBudget;
use rtmp_tokio::relay::{Relay, RelayConfig};
use tokio::net::TcpListener;

const USAGE: &str = "usage: server [--listen ADDR] [--threads N] [--multitrack capable|all] \
                     [--merge-window MS] [--memory-budget MIB] [--connect-timeout MS] \
                     [--stream-timeout MS] [--log error|warn|info|debug|trace]

  --listen ADDR        where to listen (default 127.0.0.1:1935)
  --threads N          runtime threads (default 1)
  --multitrack POLICY  capable: every track of a multitrack stream to players that announce
                       Enhanced RTMP multitrack, the default track to the others (default);
                       all: every track to every player (FFmpeg reads multitrack FLV but
                       announces nothing when it plays)
  --merge-window MS    how long a publisher's frames wait to be handed on together
                       (default 25; 0 hands each frame on as it arrives)
  --memory-budget MIB  what all connections together may hold in partial messages and
                       queued answers (default 256)
  --connect-timeout MS time from the handshake to connect (default 10000)
  --stream-timeout MS  time from the connect to publish or play (default 10000)
  --log LEVEL          log level (default info)";

/// glibc's malloc raises its mmap threshold to the size of each large block freed (up to
/// 32 MiB), so after one burst of large buffers (partial messages of a hostile peer, a burst
/// of keyframes) later ones come from the heap, which keeps their pages when they are freed:
/// the server's memory would stay at its peak. A fixed threshold keeps large buffers in
/// their own mappings, given back to the system as they are freed (the hostile-peer test
/// measures RSS back within a few MiB of where it started).
fn give_large_buffers_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator, before any thread is started.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    give_large_buffers_back();
    let mut listen = String::from("127.0.0.1:1935");
    let mut log = tracing::Level::INFO;
    let mut threads = 1usize;
    let mut config = RelayConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!("{USAGE}");
            return Ok(());
        }
        match (arg.as_str(), args.next()) {
            ("--listen", Some(address)) => listen = address,
            ("--log", Some(level)) => log = level.parse()?,
            ("--threads", Some(count)) if count.parse::<usize>().is_ok_and(|n| n > 0) => {
                threads = count.parse()?;
            }
            ("--multitrack", Some(policy)) if policy == "capable" || policy == "all" => {
                config.hub.multitrack = if policy == "all" {
                    MultitrackPolicy::All
                } else {
                    MultitrackPolicy::Capable
                };
            }
            ("--merge-window", Some(millis)) if millis.parse::<u64>().is_ok() => {
                config.merge_window = Duration::from_millis(millis.parse()?);
            }
            ("--memory-budget", Some(mib)) if mib.parse::<usize>().is_ok() => {
                let bytes = mib.parse::<usize>()?.saturating_mul(1024 * 1024);
                config.connection.session.memory_budget = Some(MemoryBudget::new(bytes));
            }
            ("--connect-timeout", Some(millis)) if millis.parse::<u64>().is_ok() => {
                let timeout = Duration::from_millis(millis.parse()?);
                config.connection.options.connect_timeout = Some(timeout);
            }
            ("--stream-timeout", Some(millis)) if millis.parse::<u64>().is_ok() => {
                let timeout = Duration::from_millis(millis.parse()?);
                config.connection.options.stream_timeout = Some(timeout);
            }
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    // One thread serves over 1.6 Gbit/s of fan-out with most of a core to spare, and does it
    // with the least CPU per delivered bit: no cross-thread wake-ups. More threads spread the
    // connections over more cores (tokio's work-stealing scheduler).
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(run(listen, log, config))
}

async fn run(
    listen: String,
    log: tracing::Level,
    config: RelayConfig,
) -> Result<(), Box<dyn std::error::Error>> {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_max_level(log)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();

    let listener = TcpListener::bind(&listen).await?;
    let relay = Relay::new(config);
    tokio::select! {
        result = relay.serve(listener) => result?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; exiting"),
    }
    Ok(())
}
