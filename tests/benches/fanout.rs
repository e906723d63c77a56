//! Fan-out: our relay server (`rtmp-tokio`'s `examples/server.rs`, release build) against
//! nginx-rtmp (live application, chunk size 4096), one ~3 Mbps H.264/AAC stream played by N
//! players.
//!
//! ```text
//! cargo bench -p rtmp-tests --bench fanout
//! FANOUT_NS=1,10,100 FANOUT_SECS=10 cargo bench -p rtmp-tests --bench fanout
//! ```
//!
//! For each N and each server, one after the other (never both at once): start the server,
//! publish a generated clip looped in real time by `ffmpeg -re -stream_loop -1 -c copy`, attach
//! N of our `Player`s from one tokio runtime in this process (the same load client for both
//! servers), wait until every player has received a frame, let it settle, then measure for a
//! fixed window:
//! - delivered Mbit/s: audio and video payload bytes received by all players (not counting
//!   RTMP headers), over the window;
//! - server CPU seconds per delivered Gbit: utime+stime of the server process from
//!   `/proc/PID/stat` across the window, divided by the Gbit delivered;
//! - peak RSS: `VmHWM` of the server process at the end of the window;
//! - stalled: players with no frame for more than 2 s within the window; failed: players
//!   that could not connect, play, receive a first frame, or whose stream ended.
//!
//! The machine's cores are shared by the server, the publisher (ffmpeg) and the load client:
//! the load client's own CPU is printed so that a saturated machine is visible.
//!
//! `FANOUT_STRACE=1` also counts the server's `write`/`writev`/`sendto`/`sendmsg` calls over
//! the window with `strace -c -f`, `FANOUT_STRACE=all` every system call (either perturbs the
//! CPU figures of that run). `FANOUT_THREADS=N` runs our server with `--threads N` (default
//! 1, as nginx runs one worker process).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtmp_tests::peers::{free_port, require, wait_for_port, Nginx, Process, TempDir};
use rtmp_tokio::client::{Client, Frame};

const STREAM: &str = "bench";
const STALL: Duration = Duration::from_secs(2);
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_secs(2);
const CONNECT_BATCH: usize = 50;
const CLIP_SECONDS: u32 = 10;

/// What one player saw, updated by its task, read by the measuring code.
#[derive(Default)]
struct PlayerStats {
    payload_bytes: AtomicU64,
    frames: AtomicU64,
    /// Microseconds since the run's epoch of the last frame; 0 before the first.
    last_frame_us: AtomicU64,
    /// Longest gap between frames inside the window, in microseconds.
    max_gap_us: AtomicU64,
    /// `RUNNING`, `ENDED` or `FAILED`.
    state: AtomicU8,
}

const RUNNING: u8 = 0;
const ENDED: u8 = 1;
const FAILED: u8 = 2;

/// Shared by all players of one case.
struct Clock {
    epoch: Instant,
    /// Microseconds since `epoch` when the window opened; `u64::MAX` while it is not open.
    window_start_us: AtomicU64,
}

impl Clock {
    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

async fn run_player(url: String, stats: Arc<PlayerStats>, clock: Arc<Clock>) {
    let player = match Client::connect(&url).await {
        Ok(client) => client.play(STREAM).await,
        Err(error) => Err(error),
    };
    let mut player = match player {
        Ok(player) => player,
        Err(_) => {
            stats.state.store(FAILED, Ordering::Relaxed);
            return;
        }
    };
    loop {
        match player.next_frame().await {
            Ok(Some(Frame::Audio { payload, .. } | Frame::Video { payload, .. })) => {
                let now = clock.now_us();
                let window_start = clock.window_start_us.load(Ordering::Relaxed);
                if now >= window_start {
                    let previous = stats.last_frame_us.load(Ordering::Relaxed);
                    let gap = now - previous.max(window_start);
                    stats.max_gap_us.fetch_max(gap, Ordering::Relaxed);
                }
                stats.last_frame_us.store(now.max(1), Ordering::Relaxed);
                stats
                    .payload_bytes
                    .fetch_add(payload.len() as u64, Ordering::Relaxed);
                stats.frames.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                stats.state.store(ENDED, Ordering::Relaxed);
                return;
            }
            Err(_) => {
                stats.state.store(FAILED, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// utime and stime of `pid`, in clock ticks (`/proc/PID/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after_name = &stat[stat.rfind(')').expect("a (comm) field") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| -> u64 { fields[n - 3].parse().expect("a number of ticks") };
    (field(14), field(15))
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_total_ticks(pid: u32) -> u64 {
    let (user, system) = cpu_ticks(pid);
    user + system
}

/// `VmHWM` of `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// The pid of this process's child named `comm` (`Process` does not expose its pid).
fn child_pid(comm: &str) -> u32 {
    let me = std::process::id();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for entry in std::fs::read_dir("/proc").expect("list /proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let name = &stat[open + 1..close];
            let parent = stat[close + 2..].split_whitespace().nth(1);
            if name == comm && parent == Some(me.to_string().as_str()) {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no child process named {comm}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A ~3 Mbps H.264/AAC FLV: 640x360 noisy test pattern at 25 fps, a keyframe every 2 s.
fn make_fanout_clip(path: &Path) {
    let output = Process::spawn(
        "ffmpeg (make the fan-out clip)",
        Command::new(require("ffmpeg"))
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .arg("-i")
            .arg(format!(
                "testsrc2=size=640x360:rate=25:duration={CLIP_SECONDS},noise=alls=25:allf=t"
            ))
            .args(["-f", "lavfi", "-i"])
            .arg(format!(
                "sine=frequency=440:sample_rate=44100:duration={CLIP_SECONDS}"
            ))
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ])
            .args(["-g", "50", "-b:v", "3M", "-maxrate", "3M", "-bufsize", "3M"])
            .args(["-c:a", "aac", "-b:a", "128k", "-shortest", "-f", "flv"])
            .arg(path),
    )
    .wait(Duration::from_secs(120));
    assert!(
        output.status.success(),
        "ffmpeg could not make the clip: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `target/release/examples/server`, built (or found up to date) by cargo first.
fn relay_server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's path");
    // The bench runs as TARGET/release/deps/fanout-HASH.
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("the bench runs from TARGET/release/deps");
    let server = release.join("examples").join("server");
    {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target_dir = release.parent().expect("the target dir");
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "rtmp-tokio",
                "--example",
                "server",
            ])
            .env("CARGO_TARGET_DIR", target_dir)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build of the relay server failed");
    }
    assert!(server.is_file(), "no relay server at {}", server.display());
    server
}

/// How our relay server is run.
struct OurServer {
    binary: PathBuf,
    /// Its `--threads`.
    threads: usize,
}

/// A server under test, stopped when dropped.
enum Server {
    Ours { port: u16, _process: Process },
    Nginx(Nginx),
}

impl Server {
    fn start(name: &str, ours: &OurServer) -> (Server, u32) {
        match name {
            "ours" => {
                let port = free_port();
                let process = Process::spawn(
                    "relay server",
                    Command::new(&ours.binary)
                        .arg("--listen")
                        .arg(format!("127.0.0.1:{port}"))
                        .arg("--threads")
                        .arg(ours.threads.to_string())
                        .args(["--log", "error"]),
                );
                wait_for_port(port, Duration::from_secs(10));
                let comm: String = ours
                    .binary
                    .file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .chars()
                    .take(15)
                    .collect();
                let pid = child_pid(&comm);
                (
                    Server::Ours {
                        port,
                        _process: process,
                    },
                    pid,
                )
            }
            _ => {
                let nginx = Nginx::start(4096);
                let pid = child_pid("nginx");
                (Server::Nginx(nginx), pid)
            }
        }
    }

    fn app_url(&self) -> String {
        match self {
            Server::Ours { port, .. } => format!("rtmp://127.0.0.1:{port}/live"),
            Server::Nginx(nginx) => format!("rtmp://127.0.0.1:{}/live", nginx.port),
        }
    }
}

struct Measurement {
    server: &'static str,
    players: usize,
    mbit_per_s: f64,
    server_cpu_s: f64,
    /// The user-space part of `server_cpu_s`.
    server_user_s: f64,
    cpu_s_per_gbit: f64,
    peak_rss_mib: f64,
    client_cpu_s: f64,
    stalled: usize,
    failed: usize,
    /// `strace -c` of the server over the window, with `FANOUT_STRACE=1`.
    syscalls: Option<String>,
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    server_name: &'static str,
    players: usize,
    window: Duration,
    clip: &Path,
    ours: &OurServer,
    trace_syscalls: Option<&str>,
) -> Measurement {
    let ticks_per_second = clock_ticks_per_second() as f64;
    let (server, server_pid) = Server::start(server_name, ours);
    let app_url = server.app_url();
    let publisher = Process::spawn(
        "ffmpeg (publisher)",
        Command::new(require("ffmpeg"))
            .args(["-hide_banner", "-loglevel", "error", "-nostats", "-re"])
            .args(["-stream_loop", "-1", "-i"])
            .arg(clip)
            .args(["-c", "copy", "-f", "flv"])
            .arg(format!("{app_url}/{STREAM}")),
    );
    // Let the publisher start so that players find the stream live.
    std::thread::sleep(Duration::from_secs(1));

    let clock = Arc::new(Clock {
        epoch: Instant::now(),
        window_start_us: AtomicU64::new(u64::MAX),
    });
    let stats: Vec<Arc<PlayerStats>> = (0..players)
        .map(|_| Arc::new(PlayerStats::default()))
        .collect();

    let (tasks, syscalls, client_cpu_s, server_cpu_s, server_user_s, delivered_bytes, window_us) =
        runtime.block_on(async {
            let mut tasks = Vec::with_capacity(players);
            for (index, player_stats) in stats.iter().enumerate() {
                if index > 0 && index % CONNECT_BATCH == 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                tasks.push(tokio::spawn(run_player(
                    app_url.clone(),
                    player_stats.clone(),
                    clock.clone(),
                )));
            }
            let deadline = Instant::now() + FIRST_FRAME_TIMEOUT;
            while Instant::now() < deadline
                && stats.iter().any(|s| {
                    s.state.load(Ordering::Relaxed) == RUNNING
                        && s.frames.load(Ordering::Relaxed) == 0
                })
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(SETTLE).await;

            let bytes_before: u64 = stats
                .iter()
                .map(|s| s.payload_bytes.load(Ordering::Relaxed))
                .sum();
            let server_before = cpu_ticks(server_pid);
            let client_before = cpu_total_ticks(std::process::id());
            let window_start = clock.now_us();
            clock.window_start_us.store(window_start, Ordering::Relaxed);
            let tracer = trace_syscalls.is_some().then(|| {
                Process::spawn(
                    "strace",
                    Command::new("timeout")
                        .args(["-s", "INT"])
                        .arg(window.as_secs_f64().to_string())
                        .arg(require("strace"))
                        .args(["-c", "-f", "-e"])
                        .arg(format!("trace={}", trace_syscalls.unwrap_or("all")))
                        .arg("-p")
                        .arg(server_pid.to_string()),
                )
            });
            tokio::time::sleep(window).await;
            let window_end = clock.now_us();
            let server_after = cpu_ticks(server_pid);
            let client_after = cpu_total_ticks(std::process::id());
            let bytes_after: u64 = stats
                .iter()
                .map(|s| s.payload_bytes.load(Ordering::Relaxed))
                .sum();
            clock.window_start_us.store(u64::MAX, Ordering::Relaxed);
            // The gap from each player's last frame to the window's end counts too.
            for s in &stats {
                let last = s.last_frame_us.load(Ordering::Relaxed).max(window_start);
                s.max_gap_us
                    .fetch_max(window_end.saturating_sub(last), Ordering::Relaxed);
            }
            let syscalls = tracer.map(|tracer| {
                let output = tracer.wait(Duration::from_secs(30));
                String::from_utf8_lossy(&output.stderr).into_owned()
            });
            (
                tasks,
                syscalls,
                (client_after - client_before) as f64 / ticks_per_second,
                (server_after.0 + server_after.1 - server_before.0 - server_before.1) as f64
                    / ticks_per_second,
                (server_after.0 - server_before.0) as f64 / ticks_per_second,
                bytes_after - bytes_before,
                window_end - window_start,
            )
        });
    let peak_rss_mib = peak_rss_kib(server_pid) as f64 / 1024.0;

    let stall_us = u64::try_from(STALL.as_micros()).unwrap_or(u64::MAX);
    let mut failed = 0;
    let mut stalled = 0;
    for s in &stats {
        let never_started =
            s.frames.load(Ordering::Relaxed) == 0 || s.last_frame_us.load(Ordering::Relaxed) == 0;
        if s.state.load(Ordering::Relaxed) != RUNNING || never_started {
            failed += 1;
        } else if s.max_gap_us.load(Ordering::Relaxed) > stall_us {
            stalled += 1;
        }
    }
    runtime.block_on(async {
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    });
    drop(publisher);
    drop(server);

    let seconds = window_us as f64 / 1e6;
    let gbit = delivered_bytes as f64 * 8.0 / 1e9;
    Measurement {
        server: server_name,
        players,
        mbit_per_s: delivered_bytes as f64 * 8.0 / 1e6 / seconds,
        server_cpu_s,
        server_user_s,
        cpu_s_per_gbit: if gbit > 0.0 {
            server_cpu_s / gbit
        } else {
            f64::NAN
        },
        peak_rss_mib,
        client_cpu_s,
        stalled,
        failed,
        syscalls,
    }
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(text) => text
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: not a number: {n}"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

fn main() {
    let ns = env_list("FANOUT_NS", &[1, 10, 100, 500]);
    let window = Duration::from_secs(
        std::env::var("FANOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    let trace_syscalls = match std::env::var("FANOUT_STRACE").as_deref() {
        Err(_) | Ok("0") => None,
        Ok("all") => Some("all"),
        Ok(_) => Some("write,writev,sendto,sendmsg"),
    };
    require("nginx");
    // nginx runs one worker process; our server gets one thread unless told otherwise.
    let ours = OurServer {
        binary: relay_server_binary(),
        threads: std::env::var("FANOUT_THREADS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
    };
    let dir = TempDir::new("fanout");
    let clip = dir.path().join("clip.flv");
    make_fanout_clip(&clip);
    let clip_bytes = std::fs::metadata(&clip).expect("the clip").len();
    let stream_mbit = clip_bytes as f64 * 8.0 / 1e6 / f64::from(CLIP_SECONDS);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.min(2))
        .enable_all()
        .build()
        .expect("a tokio runtime");

    println!(
        "fan-out: one {stream_mbit:.2} Mbit/s stream (FLV file rate), N players, {}s window",
        window.as_secs()
    );
    println!(
        "{cores} cores shared by the server, the publisher (ffmpeg -re -c copy) and the load client \
         (this process, {} tokio workers)",
        cores.min(2)
    );
    println!(
        "our server: --threads {}; nginx: worker_processes 1",
        ours.threads
    );
    println!(
        "Mbit/s = audio+video payload received by all players; CPU = server utime+stime in the \
         window; RSS = server VmHWM"
    );
    if trace_syscalls.is_some() {
        println!(
            "FANOUT_STRACE: the server's write calls are counted by strace over the window; \
             strace slows the server down, so this run's CPU figures are not comparable"
        );
    }
    println!();
    println!(
        "| server | N | Mbit/s | expected | server CPU s (user) | CPU s/Gbit | peak RSS MiB | client CPU s | stalled | failed |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut pairs = Vec::new();
    for &players in &ns {
        let mut row = Vec::new();
        for server in ["ours", "nginx"] {
            let m = measure(
                &runtime,
                server,
                players,
                window,
                &clip,
                &ours,
                trace_syscalls,
            );
            println!(
                "| {} | {} | {:.1} | {:.1} | {:.2} ({:.2}) | {:.3} | {:.1} | {:.2} | {} | {} |",
                m.server,
                m.players,
                m.mbit_per_s,
                stream_mbit * players as f64,
                m.server_cpu_s,
                m.server_user_s,
                m.cpu_s_per_gbit,
                m.peak_rss_mib,
                m.client_cpu_s,
                m.stalled,
                m.failed
            );
            if let Some(syscalls) = &m.syscalls {
                println!("```text\n{syscalls}```");
            }
            row.push(m);
        }
        pairs.push(row);
    }
    println!();
    println!("| N | Mbit/s ours/nginx | CPU s/Gbit ours/nginx | peak RSS ours/nginx |");
    println!("|---:|---:|---:|---:|");
    for row in &pairs {
        let (ours, nginx) = (&row[0], &row[1]);
        println!(
            "| {} | {:.2} | {:.2} | {:.2} |",
            ours.players,
            ours.mbit_per_s / nginx.mbit_per_s,
            ours.cpu_s_per_gbit / nginx.cpu_s_per_gbit,
            ours.peak_rss_mib / nginx.peak_rss_mib
        );
    }
    println!();
    println!(
        "targets: CPU s/Gbit ours/nginx <= 0.7, peak RSS ours/nginx <= 1, zero stalled and failed"
    );
    for row in &pairs {
        for m in row {
            let expected = stream_mbit * m.players as f64;
            if m.mbit_per_s < 0.9 * expected {
                println!(
                    "note: {} at N={} delivered {:.0} of the {:.0} Mbit/s the stream needs: \
                     this machine could not keep up",
                    m.server, m.players, m.mbit_per_s, expected
                );
            }
        }
    }
}
