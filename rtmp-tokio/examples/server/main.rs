//! The relay server: publish to `rtmp://127.0.0.1/live/NAME`, play the same URL with any
//! number of players. `--help` lists the flags; `--config FILE` takes them from TOML.
//!
//! ```text
//! cargo run --release -p rtmp-tokio --example server -- [--listen 127.0.0.1:1935] [--threads 1] \
//!     [--multitrack capable|all] [--merge-window 25] [--log info,rtmp_proto=debug] [--config server.toml] \
//!     [--memory-budget 256] [--connect-timeout 10000] [--stream-timeout 10000] \
//!     [--publish-key KEY]... [--allow-play PREFIX]... [--deny-play PREFIX]... \
//!     [--on-publish URL] [--on-play URL] [--http 127.0.0.1:8080] [--record DIR] \
//!     [--reconnect-to URL] [--drain-timeout 10000] [--push URL]... \
//!     [--origin URL]... [--origin-timeout 5000] [--origin-reconnect 10000] \
//!     [--origin-idle-close 5000] [--origin-ca PEM] [--edge-forward-publish]
//! ffmpeg -re -i clip.flv -c copy -f flv rtmp://127.0.0.1/live/cam1
//! ffplay rtmp://127.0.0.1/live/cam1
//! ```

mod access;
mod cli;
mod http;

use std::io;
use std::process::ExitCode;
use std::time::Duration;

use rtmp_tokio::client::ClientOptions;
use rtmp_tokio::proto::relay::{AskFor, MultitrackPolicy, PullTarget, PushRule, PushTarget};
use rtmp_tokio::proto::MemoryBudget;
use rtmp_tokio::relay::{AccessHook, Relay, RelayConfig};
use tokio::net::TcpListener;

use cli::{Multitrack, Settings};

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

fn main() -> ExitCode {
    give_large_buffers_back();
    match Settings::load().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(settings: Settings) -> Result<(), String> {
    let filter = settings.log_filter()?;
    let mut config = RelayConfig::default();
    if let Some(policy) = settings.multitrack {
        config.hub.multitrack = match policy {
            Multitrack::Capable => MultitrackPolicy::Capable,
            Multitrack::All => MultitrackPolicy::All,
        };
    }
    if let Some(dir) = &settings.record {
        std::fs::create_dir_all(dir)
            .map_err(|error| format!("--record: cannot create {}: {error}", dir.display()))?;
        config.record_dir = Some(dir.clone());
    }
    let mut targets = Vec::new();
    for url in &settings.push {
        let target = PushTarget::parse(url).map_err(|error| format!("--push {url}: {error}"))?;
        targets.push(target);
    }
    let mut origins = Vec::new();
    for url in &settings.origin {
        let origin = PullTarget::parse(url).map_err(|error| format!("--origin {url}: {error}"))?;
        origins.push(origin);
    }
    if settings.edge_forward_publish {
        let first = origins
            .first()
            .ok_or("--edge-forward-publish needs an --origin")?;
        // The origin's app (all of its path); the local stream name is appended.
        targets.push(PushTarget {
            url: first.url().clone(),
        });
    }
    config = config.pull_from(origins);
    if let Some(ca) = &settings.origin_ca {
        config.pull_client =
            trusting(ca).map_err(|error| format!("--origin-ca {}: {error}", ca.display()))?;
    }
    let millis = Duration::from_millis;
    if let Some(ms) = settings.origin_timeout {
        config.hub.pull.attempt_timeout = millis(ms);
    }
    if let Some(ms) = settings.origin_reconnect {
        config.hub.pull.reconnect_timeout = millis(ms);
    }
    if let Some(ms) = settings.origin_idle_close {
        config.hub.pull.idle_close = millis(ms);
    }
    if !targets.is_empty() {
        config.push.push(PushRule::to(targets));
    }
    if let Some(millis) = settings.merge_window {
        config.merge_window = Duration::from_millis(millis);
    }
    if let Some(mib) = settings.memory_budget {
        let bytes = usize::try_from(mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        config.connection.session.memory_budget = Some(MemoryBudget::new(bytes));
    }
    if let Some(millis) = settings.connect_timeout {
        config.connection.options.connect_timeout = Some(Duration::from_millis(millis));
    }
    if let Some(millis) = settings.stream_timeout {
        config.connection.options.stream_timeout = Some(Duration::from_millis(millis));
    }
    if let Some(millis) = settings.unacked_timeout {
        config.connection.options.unacked_timeout =
            (millis > 0).then(|| Duration::from_millis(millis));
    }
    if let Some(policy) = access::Policy::new(&settings)? {
        config.access_hook = Some(AccessHook::new(move |request, peer| {
            let policy = policy.clone();
            async move { policy.decide(request, peer).await }
        }));
        config.hub.ask = AskFor {
            connect: false,
            publish: true,
            play: true,
        };
    }
    // One thread serves over 1.6 Gbit/s of fan-out with most of a core to spare, and does it
    // with the least CPU per delivered bit: no cross-thread wake-ups. More threads spread the
    // connections over more cores (tokio's work-stealing scheduler).
    let threads = settings.threads.unwrap_or(1);
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(threads))
            .enable_all()
            .build()
    }
    .map_err(|error| format!("cannot start the runtime: {error}"))?;

    let ansi = io::IsTerminal::is_terminal(&io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(io::stderr)
        .init();
    runtime.block_on(serve(settings, config))
}

async fn serve(settings: Settings, config: RelayConfig) -> Result<(), String> {
    let listen = settings.listen.as_deref().unwrap_or("127.0.0.1:1935");
    let listener = bind(listen).await?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    let relay = Relay::new(config);
    let mut startup = format!("listening on rtmp://{address}");
    if let Some(http) = settings.http {
        let listener = bind(&http.to_string()).await?;
        let http = listener.local_addr().unwrap_or(http);
        startup +=
            &format!("; metrics at http://{http}/metrics, streams at http://{http}/api/streams");
        tokio::spawn(http::serve(listener, relay.clone()));
    }
    if let Some(dir) = &settings.record {
        startup += &format!("; recording to {}", dir.display());
    }
    tracing::info!("{startup}");
    let serving = relay.serve(listener);
    let mut serving = std::pin::pin!(serving);
    let signal = tokio::select! {
        result = &mut serving => {
            return result.map_err(|error| format!("stopped serving: {error}"));
        }
        signal = stop_signal() => signal,
    };
    let timeout = Duration::from_millis(settings.drain_timeout.unwrap_or(10_000));
    let to = settings.reconnect_to.as_deref();
    tracing::info!(
        "{signal}: draining for up to {} ms (no new connections; capable publishers asked to \
         reconnect{})",
        timeout.as_millis(),
        to.map(|to| format!(" to {to}")).unwrap_or_default(),
    );
    // The listener closes as soon as the drain starts.
    let (_, drained) = tokio::join!(serving, relay.drain(settings.reconnect_to.clone(), timeout));
    if drained {
        tracing::info!("drained; exiting");
    } else {
        tracing::info!("drain timeout; exiting with connections left");
    }
    Ok(())
}

/// SIGTERM (on Unix) or ctrl-c, whichever comes first; its name.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "interrupted",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "interrupted"
}

/// A listener on `address`, or what went wrong in plain words.
async fn bind(address: &str) -> Result<TcpListener, String> {
    TcpListener::bind(address)
        .await
        .map_err(|error| match error.kind() {
            io::ErrorKind::AddrInUse => format!("{address} is already in use"),
            io::ErrorKind::AddrNotAvailable => {
                format!("{address} is not an address of this machine")
            }
            io::ErrorKind::PermissionDenied => {
                format!("not allowed to listen on {address} (ports below 1024 need privileges)")
            }
            io::ErrorKind::InvalidInput => format!("--listen: {address:?} is not HOST:PORT"),
            _ => format!("cannot listen on {address}: {error}"),
        })
}

/// Client options that trust the certificate in the PEM file at `path` for `rtmps://`.
#[cfg(feature = "tls")]
fn trusting(path: &std::path::Path) -> Result<ClientOptions, String> {
    let trust =
        rtmp_tokio::tls::TlsClientConfig::trusting_pem_file(path).map_err(|e| e.to_string())?;
    Ok(ClientOptions::default().with_tls(trust))
}

#[cfg(not(feature = "tls"))]
fn trusting(_: &std::path::Path) -> Result<ClientOptions, String> {
    Err("rtmps:// origins need the tls feature: cargo run --features tls ...".into())
}
