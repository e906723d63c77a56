//! Soak: our relay (`rtmp-tokio`'s `server` example, release build, its defaults: one thread,
//! a 256 MiB memory budget) and nginx-rtmp (`live on`, one process), side by side for
//! `SOAK_SECS` (default 1800), under publisher/player churn and periodic attacks, with each
//! server's RSS sampled every second.
//!
//! ```text
//! cargo bench -p rtmp-tests --bench soak
//! SOAK_SECS=120 SOAK_ATTACK_SECS=10 SOAK_PNG=/tmp/soak.png cargo bench -p rtmp-tests --bench soak
//! ```
//!
//! Both servers run at the same time, on two loopback ports, each with a churn and an
//! attacker of its own from this process: the same load at the same moments on the same
//! machine, so a disturbance (another build on the 2 cores, say) falls on both alike, and the
//! run takes `SOAK_SECS` rather than twice that.
//!
//! - Churn, per server: `SOAK_STREAMS` (3) stream names, each with a publisher of our std
//!   client that publishes a small H.264/AAC clip (160x120, 25 fps, made once by ffmpeg),
//!   looped and paced in real time like `ffmpeg -re`, for 20 to 60 s, leaves for 1 to 5 s and
//!   comes back; `SOAK_PLAYERS` (6) players of our std client, each playing a stream picked at
//!   random for 5 to 30 s, then leaving for 0.5 to 2 s. A player is *served* when it got at
//!   least one video frame. Our clients run on threads of this process (no ffmpeg per
//!   connection: cheaper on 2 cores).
//! - Attacks, per server, every `SOAK_ATTACK_SECS` (60) from minute 1 on (so minute 1 is the
//!   baseline before any attack), in turn (`rtmp_tests::hostile`, the same code as the
//!   hostile-peer test): 20 partial 16 MiB messages held open for 2 s; a 4 MiB flood of empty
//!   (then one-byte) video messages, until a ping after it is answered; a million pings (then
//!   200,000 createStreams) never read. None starts in the last 40 s, so the end is read after
//!   the last attack has settled.
//! - RSS: `VmRSS` of `/proc/PID/status` every second; for nginx, its only process
//!   (`master_process off`, which is its one worker; as the fan-out bench runs it).
//!
//! It prints a table per minute (RSS of each at the minute's end and its peak in the minute,
//! players served, attacks done) and the RSS at the end against minute 1, and draws both RSS
//! curves to `SOAK_PNG` (default `docs/soak.png` in the workspace): ours blue, nginx red,
//! attacks as black ticks at the bottom; the upper half spans the whole range (grid every
//! 10 MiB, darker every 50), the lower half is a close-up from 0 to 32 MiB (grid every 1 MiB,
//! darker every 5); vertical lines every minute, darker every 10. The plot has no text (no
//! font dependency): the README and the table say what the lines are.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtmp_proto::flv::{tag_type, FlvReader};
use rtmp_std::client::{Client, ClientOptions, Frame};
use rtmp_std::Error as StdError;
use rtmp_tests::hostile::{
    ended_within, memory_of, partial_messages, release_example, rss_of, tiny_flood, unread_answers,
    RelayProcess, Unread, MIB,
};
use rtmp_tests::peers::{make_clip, Nginx};
use rtmp_tests::peers_more::made_once;

/// How long a minute-1 baseline and the end may differ before the summary says so.
const WITHIN: u64 = 4 * MIB;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A small xorshift generator: the churn's choices, reproducible per seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A duration between `low` and `high` milliseconds.
    fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.next() % (high - low + 1))
    }
}

/// The clip, read once: sequence headers (sent once per publish) and the tags of one loop.
struct Clip {
    headers: Vec<(bool, Bytes)>,
    /// (timestamp from the clip's start, video?, payload).
    tags: Vec<(u32, bool, Bytes)>,
    period_ms: u32,
}

impl Clip {
    fn read(path: &Path) -> Clip {
        let file = std::fs::read(path).expect("read the clip");
        let mut buffer = BytesMut::from(&file[..]);
        let mut reader = FlvReader::new();
        let (mut headers, mut tags) = (Vec::new(), Vec::new());
        let mut last = 0;
        while let Some(tag) = reader.read_tag(&mut buffer).expect("a readable FLV clip") {
            let data = tag.data;
            let video = match tag.tag_type {
                tag_type::AUDIO => false,
                tag_type::VIDEO => true,
                _ => continue,
            };
            // AVC and AAC sequence headers: packet type 0 in the second byte.
            if data.len() >= 2 && data[1] == 0 {
                headers.push((video, data));
            } else {
                last = last.max(tag.timestamp);
                tags.push((tag.timestamp, video, data));
            }
        }
        Clip {
            headers,
            tags,
            period_ms: last + 40,
        }
    }
}

/// What the churn and the attacker did against one server, counted as it goes.
#[derive(Default)]
struct Counters {
    served: AtomicU64,
    /// Plays that started (play accepted).
    plays: AtomicU64,
    /// Plays the server ended before the player left (Play.Stop, Play.Failed, EOF...).
    plays_ended: AtomicU64,
    player_failures: AtomicU64,
    publishes: AtomicU64,
    publish_failures: AtomicU64,
    attacks: AtomicU64,
}

/// A server under soak.
struct Target {
    name: &'static str,
    port: u16,
    pid: u32,
    counters: Arc<Counters>,
    /// What each attack did: (seconds since the start, what, outcome).
    log: Arc<Mutex<Vec<(u64, String, String)>>>,
}

impl Target {
    fn url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live", self.port)
    }
}

/// Publishes `name` again and again until `stop`: 20 to 60 s of the clip paced in real time,
/// then 1 to 5 s away.
fn publisher_loop(
    url: String,
    name: String,
    clip: Arc<Clip>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let mut options =
            ClientOptions::publisher().with_read_timeout(Some(Duration::from_secs(5)));
        options.settings.connect_timeout = Duration::from_secs(5);
        let publisher = Client::connect_with(&url, options).and_then(|c| c.publish(&name));
        let mut publisher = match publisher {
            Ok(publisher) => publisher,
            Err(_) => {
                counters.publish_failures.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        counters.publishes.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + rng.millis(20_000, 60_000);
        let started = Instant::now();
        let sent = (|| -> Result<(), StdError> {
            for (video, data) in &clip.headers {
                if *video {
                    let _ = publisher.send_video(0, data.clone())?;
                } else {
                    let _ = publisher.send_audio(0, data.clone())?;
                }
            }
            for lap in 0u32.. {
                for (timestamp, video, data) in &clip.tags {
                    let at = lap * clip.period_ms + timestamp;
                    let due = started + Duration::from_millis(u64::from(at));
                    let now = Instant::now();
                    if due > now {
                        publisher.wait(due - now)?;
                    }
                    if stop.load(Ordering::Relaxed) || Instant::now() >= until {
                        return Ok(());
                    }
                    if *video {
                        let _ = publisher.send_video(at, data.clone())?;
                    } else {
                        let _ = publisher.send_audio(at, data.clone())?;
                    }
                }
            }
            Ok(())
        })();
        if sent.is_err() {
            counters.publish_failures.fetch_add(1, Ordering::Relaxed);
        }
        let _ = publisher.close();
        std::thread::sleep(rng.millis(1_000, 5_000));
    }
}

/// Plays a stream picked at random for 5 to 30 s, leaves for 0.5 to 2 s, again, until `stop`.
fn player_loop(
    url: String,
    streams: usize,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let name = format!("soak-{}", rng.next() % streams as u64);
        let mut options =
            ClientOptions::default().with_read_timeout(Some(Duration::from_millis(500)));
        options.settings.connect_timeout = Duration::from_secs(5);
        let player = Client::connect_with(&url, options).and_then(|c| c.play(&name));
        let mut player = match player {
            Ok(player) => player,
            Err(_) => {
                counters.player_failures.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        player.set_end_on_unpublish(false);
        counters.plays.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + rng.millis(5_000, 30_000);
        let mut served = false;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            match player.next_frame() {
                Ok(Some(Frame::Video { .. })) if !served => {
                    served = true;
                    counters.served.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Some(_)) | Err(StdError::Timeout { .. }) => {}
                Ok(None) => {
                    counters.plays_ended.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(_) => {
                    counters.player_failures.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
        let _ = player.close();
        std::thread::sleep(rng.millis(500, 2_000));
    }
}

/// Attack number `index` (in turn: partial messages, a flood, unread answers) against `port`;
/// what it did, in a few words.
fn attack(port: u16, index: u64) -> (String, String) {
    let round = index / 3;
    match index % 3 {
        0 => {
            let mut held = partial_messages(port, 20);
            std::thread::sleep(Duration::from_secs(2));
            let closed = held
                .iter_mut()
                .map(|stream| ended_within(stream, Duration::from_millis(50)))
                .filter(|ended| *ended)
                .count();
            let outcome = format!("{closed} of {} closed by the server", held.len());
            drop(held);
            ("20 partial 16 MiB messages".into(), outcome)
        }
        1 => {
            let (what, message) = if round % 2 == 0 {
                ("4 MiB of empty video", &[0xC6u8][..])
            } else {
                ("4 MiB of 1-byte video", &[0xC6, 0x27][..])
            };
            let started = Instant::now();
            let outcome = match tiny_flood(port, &format!("flood-{index}"), message, 4 << 20) {
                Ok(mut flood) => match flood.drained(Duration::from_secs(30)) {
                    Ok(()) => format!(
                        "{} KiB sent, decoded in {:?}",
                        flood.sent >> 10,
                        started.elapsed()
                    ),
                    Err(error) => format!("{} KiB sent, no ping answer: {error}", flood.sent >> 10),
                },
                Err(error) => format!("could not publish: {error}"),
            };
            (what.into(), outcome)
        }
        _ => {
            let (what, kind, count) = if round % 2 == 0 {
                ("a million unread pings", Unread::Pings, 1_000_000)
            } else {
                (
                    "200,000 unread createStreams",
                    Unread::CreateStreams,
                    200_000,
                )
            };
            let started = Instant::now();
            let outcome = match unread_answers(port, &format!("asker-{index}"), kind, count) {
                Ok(outcome) if outcome.hung_up => {
                    format!("hung up after {:?}", started.elapsed())
                }
                Ok(_) => "still open after 5 s".into(),
                Err(error) => format!("could not publish: {error}"),
            };
            (what.into(), outcome)
        }
    }
}

/// Attacks `port` at each `times` (seconds since `origin`) until `stop`.
fn attacker_loop(
    target_port: u16,
    times: Vec<u64>,
    origin: Instant,
    counters: Arc<Counters>,
    log: Arc<Mutex<Vec<(u64, String, String)>>>,
    stop: Arc<AtomicBool>,
) {
    for (index, at) in times.into_iter().enumerate() {
        let due = origin + Duration::from_secs(at);
        while Instant::now() < due {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let (what, outcome) = attack(target_port, index as u64);
        counters.attacks.fetch_add(1, Ordering::Relaxed);
        log.lock().unwrap().push((at, what, outcome));
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// One second's reading: RSS of ours and nginx's, in bytes.
#[derive(Clone, Copy)]
struct Sample {
    second: u64,
    ours: u64,
    nginx: u64,
}

/// The end of one minute: the counters of both then, and the peaks within it.
struct MinuteRow {
    minute: u64,
    ours: u64,
    ours_peak: u64,
    nginx: u64,
    nginx_peak: u64,
    served: (u64, u64),
    attacks: (u64, u64),
}

/// One panel of the plot: both curves from 0 to `y_max` MiB, a grid line every `step` MiB
/// (darker every 5), every minute (darker every 10), attacks as ticks at the bottom. What is
/// above `y_max` is clipped.
fn panel(
    area: &plotters::drawing::DrawingArea<
        plotters::prelude::BitMapBackend<'_>,
        plotters::coord::Shift,
    >,
    samples: &[Sample],
    attacks: &[u64],
    x_max: f64,
    y_max: f64,
    step: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let mut chart = ChartBuilder::on(area)
        .margin(16)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    let light = RGBColor(225, 225, 225);
    let dark = RGBColor(150, 150, 150);
    for minute in 0..=(x_max as u64) {
        let color = if minute % 10 == 0 { dark } else { light };
        let x = minute as f64;
        chart.draw_series(LineSeries::new([(x, 0.0), (x, y_max)], color))?;
    }
    for line in 0..=((y_max / step) as u64) {
        let color = if line % 5 == 0 { dark } else { light };
        let y = line as f64 * step;
        chart.draw_series(LineSeries::new([(0.0, y), (x_max, y)], color))?;
    }
    for at in attacks {
        let x = *at as f64 / 60.0;
        chart.draw_series(LineSeries::new(
            [(x, 0.0), (x, y_max / 25.0)],
            BLACK.stroke_width(2),
        ))?;
    }
    let curve = |pick: fn(&Sample) -> u64| -> Vec<(f64, f64)> {
        samples
            .iter()
            .map(|s| (s.second as f64 / 60.0, mib(pick(s)).min(y_max)))
            .collect()
    };
    chart.draw_series(LineSeries::new(curve(|s| s.nginx), RED.stroke_width(2)))?;
    chart.draw_series(LineSeries::new(curve(|s| s.ours), BLUE.stroke_width(2)))?;
    Ok(())
}

/// Draws the plot: on top, the whole range (grid every 10 MiB); below, a close-up from 0 to
/// 32 MiB (grid every 1 MiB), where the steady state of both is read.
fn draw(
    path: &Path,
    samples: &[Sample],
    attacks: &[u64],
    secs: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let top = samples
        .iter()
        .map(|s| s.ours.max(s.nginx))
        .max()
        .unwrap_or(0);
    let y_max = ((mib(top) / 10.0).ceil() * 10.0).max(10.0);
    let x_max = secs as f64 / 60.0;
    let root = BitMapBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(400);
    panel(&upper, samples, attacks, x_max, y_max, 10.0)?;
    panel(&lower, samples, attacks, x_max, 32.0, 1.0)?;
    root.present()?;
    Ok(())
}

fn main() {
    // `cargo bench` passes `--bench`; built and run as a test (`cargo test --benches` or
    // `--all-targets`), the soak does nothing rather than take half an hour.
    if !std::env::args().any(|arg| arg == "--bench") {
        eprintln!("soak: not run (run it with `cargo bench -p rtmp-tests --bench soak`)");
        return;
    }
    let secs: u64 = env_or("SOAK_SECS", 1800);
    let attack_every: u64 = env_or("SOAK_ATTACK_SECS", 60);
    let streams: usize = env_or("SOAK_STREAMS", 3);
    let players: usize = env_or("SOAK_PLAYERS", 6);
    let png: PathBuf = std::env::var_os("SOAK_PNG")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/soak.png"));
    assert!(
        secs >= 60 && attack_every > 0,
        "SOAK_SECS must be at least 60"
    );

    let clip_recipe = vec!["make_clip".to_string(), "10".into(), "25".into()];
    let clip_path = made_once("soak-clip.flv", &clip_recipe, |path| {
        make_clip(path, 10, 25)
    });
    let clip = Arc::new(Clip::read(&clip_path));

    let binary = release_example("rtmp-tokio", "server");
    let ours = RelayProcess::start(&binary, &["--log", "error"]);
    let nginx = Nginx::start(4096);
    let targets = [
        Target {
            name: "ours",
            port: ours.port,
            pid: ours.pid(),
            counters: Arc::default(),
            log: Arc::default(),
        },
        Target {
            name: "nginx",
            port: nginx.port,
            pid: nginx.pid(),
            counters: Arc::default(),
            log: Arc::default(),
        },
    ];
    // From minute 1 on, at the middle of each period; none in the last 40 s.
    let attack_times: Vec<u64> = (0..)
        .map(|k| 60 + attack_every * k + attack_every / 2)
        .take_while(|at| at + 40 <= secs)
        .collect();
    eprintln!(
        "soak: {secs} s; ours (pid {}, port {}) and nginx-rtmp (pid {}, port {}) at once; \
         {streams} streams and {players} players each; {} attacks each, every {attack_every} s",
        targets[0].pid,
        targets[0].port,
        targets[1].pid,
        targets[1].port,
        attack_times.len()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let origin = Instant::now();
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    for target in &targets {
        // The same seed for both: the same churn, at the same moments.
        let seed = 0x9E37_79B9_7F4A_7C15_u64;
        for s in 0..streams {
            let (url, clip, counters, stop) = (
                target.url(),
                clip.clone(),
                target.counters.clone(),
                stop.clone(),
            );
            let name = format!("soak-{s}");
            let seed = seed.wrapping_mul(s as u64 + 3);
            threads.push(std::thread::spawn(move || {
                publisher_loop(url, name, clip, counters, stop, seed)
            }));
        }
        for p in 0..players {
            let (url, counters, stop) = (target.url(), target.counters.clone(), stop.clone());
            let seed = seed.wrapping_mul(p as u64 + 101);
            threads.push(std::thread::spawn(move || {
                player_loop(url, streams, counters, stop, seed)
            }));
        }
        let (port, times, counters, log, stop) = (
            target.port,
            attack_times.clone(),
            target.counters.clone(),
            target.log.clone(),
            stop.clone(),
        );
        threads.push(std::thread::spawn(move || {
            attacker_loop(port, times, origin, counters, log, stop)
        }));
    }

    let mut samples: Vec<Sample> = Vec::new();
    let mut rows: Vec<MinuteRow> = Vec::new();
    for second in 1..=secs {
        let due = origin + Duration::from_secs(second);
        if let Some(left) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(left);
        }
        samples.push(Sample {
            second,
            ours: rss_of(targets[0].pid),
            nginx: rss_of(targets[1].pid),
        });
        if second % 60 == 0 || second == secs {
            let minute_samples = &samples[samples.len().saturating_sub(60)..];
            let last = samples[samples.len() - 1];
            let count = |t: usize, pick: fn(&Counters) -> &AtomicU64| {
                pick(&targets[t].counters).load(Ordering::Relaxed)
            };
            let row = MinuteRow {
                minute: second.div_ceil(60),
                ours: last.ours,
                ours_peak: minute_samples.iter().map(|s| s.ours).max().unwrap_or(0),
                nginx: last.nginx,
                nginx_peak: minute_samples.iter().map(|s| s.nginx).max().unwrap_or(0),
                served: (count(0, |c| &c.served), count(1, |c| &c.served)),
                attacks: (count(0, |c| &c.attacks), count(1, |c| &c.attacks)),
            };
            eprintln!(
                "minute {:>3}: ours {:6.1} MiB (peak {:6.1}), nginx {:6.1} MiB (peak {:6.1}), served {}/{}, attacks {}/{}",
                row.minute, mib(row.ours), mib(row.ours_peak), mib(row.nginx), mib(row.nginx_peak),
                row.served.0, row.served.1, row.attacks.0, row.attacks.1
            );
            rows.push(row);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    let ours_alive = rss_of(targets[0].pid) > 0;
    let nginx_alive = rss_of(targets[1].pid) > 0;
    // The true peaks, which one-second samples may miss.
    let high_water = |pid: u32| memory_of(pid, "VmHWM").unwrap_or(0);
    let (ours_hwm, nginx_hwm) = (high_water(targets[0].pid), high_water(targets[1].pid));
    drop(ours);
    drop(nginx);

    println!();
    println!("Soak, {secs} s, both servers at once (RSS in MiB: at the minute's end, and the peak in that minute; players served and attacks done are totals so far):");
    println!();
    println!("| minute | RSS ours | peak ours | RSS nginx | peak nginx | players served ours | players served nginx | attacks ours | attacks nginx |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |",
            row.minute,
            mib(row.ours),
            mib(row.ours_peak),
            mib(row.nginx),
            mib(row.nginx_peak),
            row.served.0,
            row.served.1,
            row.attacks.0,
            row.attacks.1
        );
    }
    println!();
    for target in &targets {
        let c = &target.counters;
        println!(
            "{}: {} publishes ({} failed), {} plays ({} served, {} ended by the server, {} failed), {} attacks",
            target.name,
            c.publishes.load(Ordering::Relaxed),
            c.publish_failures.load(Ordering::Relaxed),
            c.plays.load(Ordering::Relaxed),
            c.served.load(Ordering::Relaxed),
            c.plays_ended.load(Ordering::Relaxed),
            c.player_failures.load(Ordering::Relaxed),
            c.attacks.load(Ordering::Relaxed),
        );
        for (at, what, outcome) in target.log.lock().unwrap().iter() {
            println!("  {}: at {at} s, {what}: {outcome}", target.name);
        }
    }
    println!();
    let first = &rows[0];
    let end = rows.last().expect("at least one minute");
    let peak = |pick: fn(&Sample) -> u64| samples.iter().map(pick).max().unwrap_or(0);
    let mut verdicts = Vec::new();
    for (name, at_one, at_end, peak, hwm, alive) in [
        (
            "ours",
            first.ours,
            end.ours,
            peak(|s| s.ours),
            ours_hwm,
            ours_alive,
        ),
        (
            "nginx",
            first.nginx,
            end.nginx,
            peak(|s| s.nginx),
            nginx_hwm,
            nginx_alive,
        ),
    ] {
        let delta = mib(at_end) - mib(at_one);
        let ok = alive && at_end <= at_one + WITHIN;
        println!(
            "{name}: RSS at minute 1 {:.1} MiB, at the end {:.1} MiB ({delta:+.1} MiB), peak \
             {:.1} MiB sampled, {:.1} MiB VmHWM{}: {}",
            mib(at_one),
            mib(at_end),
            mib(peak),
            mib(hwm),
            if alive { "" } else { ", DIED" },
            if ok {
                "within 4 MiB"
            } else {
                "NOT within 4 MiB"
            }
        );
        verdicts.push(ok);
    }
    let attack_seconds: Vec<u64> = attack_times
        .iter()
        .copied()
        .filter(|at| *at < secs)
        .collect();
    if let Some(dir) = png.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match draw(&png, &samples, &attack_seconds, secs) {
        Ok(()) => println!("plot: {} (ours blue, nginx red, attacks black ticks; x in minutes; upper half the whole range, grid 10 MiB; lower half 0 to 32 MiB, grid 1 MiB)", png.display()),
        Err(error) => println!("plot: {} failed: {error}", png.display()),
    }
    assert!(
        verdicts[0],
        "our relay's RSS at the end is not within 4 MiB of minute 1"
    );
}
