//! Fan-out: our relay server (`rtmp-tokio`'s `examples/server/`, release build) against
//! nginx-rtmp (live application, chunk size 4096), one ~3 Mbps H.264/AAC stream played by N
//! players, with the publisher-to-player latency of each.
//!
//! ```text
//! cargo bench -p rtmp-tests --bench fanout
//! FANOUT_NS=1,10,100 FANOUT_SECS=10 cargo bench -p rtmp-tests --bench fanout
//! FANOUT_TOPOLOGY=edge FANOUT_NS=10,100 cargo bench -p rtmp-tests --bench fanout
//! FANOUT_WINDOWS=0,10,25,50,100 FANOUT_CSV=fanout.csv cargo bench -p rtmp-tests --bench fanout
//! ```
//!
//! For each N and each server, one after the other (unless `FANOUT_TOGETHER=1`): start the
//! server, publish a generated clip from this process, looped forever with continuous
//! timestamps and paced in real time as `ffmpeg -re -stream_loop -1 -c copy` would, attach N of
//! our `Player`s from one tokio runtime in this process (the same load client for both
//! servers), wait until every player has received a frame, let it settle, then measure for a
//! fixed window:
//! - delivered Mbit/s: audio and video payload bytes received by all players (not counting
//!   RTMP headers), over the window;
//! - server CPU seconds per delivered Gbit: the time the server's threads were on a CPU across
//!   the window (`/proc/PID/task/*/schedstat`, nanoseconds; the user part in parentheses from
//!   `/proc/PID/stat`, 10 ms ticks), divided by the Gbit delivered;
//! - peak RSS: `VmHWM` of the server process at the end of the window;
//! - latency: the publisher appends to every H.264 frame a stamp, its send time, as a filler
//!   data NAL unit (type 12, 24 bytes with its length prefix), built once per frame; every
//!   player takes now minus the stamp of each video frame it receives in the window. The
//!   table gives the 50th and 99th percentiles and the maximum over all players' frames;
//! - publisher lag: how late the publisher sent each frame against its real-time schedule
//!   (99th percentile), which tells the relay's latency from the load client's lateness;
//! - stalled: players with no frame for more than 2 s within the window; failed: players
//!   that could not connect, play, receive a first frame, or whose stream ended.
//!
//! The publisher runs on a thread of its own with a current-thread tokio runtime, so that the
//! players' work does not delay its pacing; players and publisher read the same clock (a
//! process-wide `Instant`). The machine's cores are shared by the server and this process
//! (publisher and load client): the client CPU printed is this whole process's, publisher
//! included, so that a saturated machine is visible.
//!
//! `FANOUT_WINDOWS=0,10,25,50,100` runs our server once per merge window, with
//! `--merge-window MS` (without it, once with the server's default, and no flag is passed);
//! nginx runs once per N. The last table puts each of our rows beside nginx's for the same N
//! (CPU per Gbit and latency: the cost of a shorter window). `FANOUT_CSV=PATH` also writes
//! every row to a CSV file (`tests/bench/fanout-plot.sh` draws it). `FANOUT_STRACE=1` also
//! counts the server's `write`/`writev`/`sendto`/`sendmsg` calls over the window with
//! `strace -c -f`, `FANOUT_STRACE=all` every system call (either perturbs the CPU figures of
//! that run). `FANOUT_THREADS=N` runs our server with `--threads N` (default 1, as nginx runs
//! one worker process). `FANOUT_REPEAT=K` runs every case K times, the cases in turn each
//! round, prints every run, then each case's median, least and greatest CPU per Gbit beside
//! nginx's and the per-round ratio (on a shared machine one run's CPU figure moves by a
//! quarter or more, so a change smaller than that needs several rounds); the other tables take
//! each case's run of median CPU per Gbit. `FANOUT_WRAP="PROGRAM ARGS"` runs our server under
//! PROGRAM (`tests/bench/fanout-callgrind.sh` runs both servers under callgrind with it).
//! `FANOUT_PIN=1` runs every server on the machine's last CPU and the publisher and players
//! on the others (`taskset`), as a server with a core of its own serves remote players: the
//! server's caches are then not shared with the load, whose placement otherwise moves a
//! small case's CPU figure by half from one run to the next.
//!
//! `FANOUT_TOGETHER=1` runs every case of a round at the same time, each with its own
//! publisher and players, over one window (the servers share the CPU when pinned): whatever the
//! machine does meanwhile (another tenant, the hour's load, the interrupts a wake-up costs in
//! a virtual machine) then touches every case alike, which one case after another does not.
//! A server that is woken while another runs is not woken from idle, so the figures are those
//! of a busy server, lower than one case's alone; compare them with each other, not with a
//! run in turn. Each round, in turn or together, takes the cases in another order.
//! `FANOUT_OURS_B=PATH` runs a second build of our server (PATH, its `server` binary) as the
//! case `ours-b` beside ours, and prints build B's CPU per Gbit over build A's per round: with
//! `FANOUT_TOGETHER=1`, an A/B comparison under the same conditions.
//!
//! `FANOUT_TOPOLOGY=edge` measures a three-node deployment instead: the publisher publishes to
//! an origin, two edges pull the stream from it (ours with `--origin`, nginx with `pull` in an
//! application `edge`), and the N players are spread over the two edges, round robin. CPU and
//! peak RSS are taken per node (origin, edge1, edge2) in the same way; an edge's CPU per Gbit
//! is over what its players received, the origin's over what it sent the edges (one player's
//! take of each edge, summed); latency is end to end, publisher to player through an edge.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use rtmp_proto::amf::Value;
use rtmp_proto::flv::{tag_type, FlvReader};
use rtmp_proto::message::Message;
use rtmp_proto::{Limits, RawMessage};
use rtmp_tests::hostile::release_example;
use rtmp_tests::peers::{free_port, require, wait_for_port, Nginx, Process, TempDir};
use rtmp_tokio::client::{Client, ClientOptions, Frame};

const STREAM: &str = "bench";
const STALL: Duration = Duration::from_secs(2);
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_secs(2);
const CONNECT_BATCH: usize = 50;
const CLIP_SECONDS: u32 = 10;
/// How long the publisher may take to connect and have `publish` accepted.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the publisher has to notice that it should stop.
const PUBLISHER_STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// The process-wide origin that stamps and receive times are both taken from.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn since_origin() -> Duration {
    origin().elapsed()
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// The latency stamp: an H.264 filler data NAL unit appended to a frame's AVCC payload.
///
/// NAL header (`nal_unit_type` 12, `nal_ref_idc` 0), the marker, the send time in nanoseconds
/// since the origin in 7-bit groups (each byte has its top bit set, so none is 0x00 and no
/// start code or emulation-prevention pattern can appear), and the RBSP trailing bits.
mod stamp {
    /// `forbidden_zero_bit` 0, `nal_ref_idc` 0, `nal_unit_type` 12 (filler data).
    const NAL_HEADER: u8 = 0x0C;
    pub const MARKER: [u8; 8] = *b"FanOutTs";
    const TIME_BYTES: usize = 10;
    const TRAILING_BITS: u8 = 0x80;
    /// The NAL unit's size, without the length prefix.
    pub const NAL_LEN: usize = 1 + MARKER.len() + TIME_BYTES + 1;
    /// How many bytes at the end of a payload a player searches for the marker.
    const TAIL: usize = 64;

    /// Appends the stamp NAL unit, with a `length_size`-byte length prefix, for `nanos`.
    pub fn append(payload: &mut bytes::BytesMut, length_size: usize, nanos: u64) {
        use bytes::BufMut;
        let length = (NAL_LEN as u32).to_be_bytes();
        payload.put_slice(&length[length.len() - length_size..]);
        payload.put_u8(NAL_HEADER);
        payload.put_slice(&MARKER);
        for group in (0..TIME_BYTES).rev() {
            // 10 groups of 7 bits cover 64 bits (the top group holds just one).
            payload.put_u8(0x80 | ((nanos >> (7 * group)) & 0x7F) as u8);
        }
        payload.put_u8(TRAILING_BITS);
    }

    /// Panics unless a stamp reads back as written.
    pub fn self_check() {
        for nanos in [0, 1, 0x7F, 0x80, 1_234_567_890_123, u64::MAX] {
            let mut payload = bytes::BytesMut::from(&[0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0][..]);
            append(&mut payload, 4, nanos);
            assert_eq!(payload.len(), 11 + 4 + NAL_LEN);
            // The NAL unit itself, after its length prefix.
            assert!(!payload[11 + 4..]
                .windows(3)
                .any(|w| w[..2] == [0, 0] && w[2] <= 3));
            assert_eq!(find(&payload), Some(nanos), "a stamp of {nanos} ns");
        }
        assert_eq!(find(&[0x27, 1, 0, 0, 0]), None);
    }

    /// The send time stamped in `payload`, searched from its end over the last few bytes.
    pub fn find(payload: &[u8]) -> Option<u64> {
        let tail = &payload[payload.len().saturating_sub(TAIL)..];
        let at = tail
            .windows(MARKER.len())
            .rposition(|window| window == MARKER)?;
        if at == 0 || tail[at - 1] != NAL_HEADER {
            return None;
        }
        let time = tail.get(at + MARKER.len()..at + MARKER.len() + TIME_BYTES)?;
        if tail.get(at + MARKER.len() + TIME_BYTES) != Some(&TRAILING_BITS) {
            return None;
        }
        time.iter().try_fold(0u64, |nanos, &byte| {
            (byte & 0x80 != 0).then_some(nanos << 7 | u64::from(byte & 0x7F))
        })
    }
}

/// What one player saw, updated by its task, read by the measuring code.
#[derive(Default)]
struct PlayerStats {
    payload_bytes: AtomicU64,
    frames: AtomicU64,
    /// Microseconds since the origin of the last frame; 0 before the first.
    last_frame_us: AtomicU64,
    /// Longest gap between frames inside the window, in microseconds.
    max_gap_us: AtomicU64,
    /// Latency of each stamped video frame received in the window, in microseconds.
    latencies_us: Mutex<Vec<u32>>,
    /// Video frames received in the window without a stamp.
    unstamped: AtomicU64,
    /// `RUNNING`, `ENDED` or `FAILED`.
    state: AtomicU8,
}

const RUNNING: u8 = 0;
const ENDED: u8 = 1;
const FAILED: u8 = 2;

/// Shared by the players and the publisher of one case.
struct Clock {
    /// Microseconds since the origin when the window opened; `u64::MAX` while it is not open.
    window_start_us: AtomicU64,
}

impl Clock {
    fn window_start_us(&self) -> u64 {
        self.window_start_us.load(Ordering::Relaxed)
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
        let (payload, video) = match player.next_frame().await {
            Ok(Some(Frame::Audio { payload, .. })) => (payload, false),
            Ok(Some(Frame::Video { payload, .. })) => (payload, true),
            Ok(Some(_)) => continue,
            Ok(None) => {
                stats.state.store(ENDED, Ordering::Relaxed);
                return;
            }
            Err(_) => {
                stats.state.store(FAILED, Ordering::Relaxed);
                return;
            }
        };
        let received = since_origin();
        let now = micros(received);
        let window_start = clock.window_start_us();
        if now >= window_start {
            let previous = stats.last_frame_us.load(Ordering::Relaxed);
            let gap = now - previous.max(window_start);
            stats.max_gap_us.fetch_max(gap, Ordering::Relaxed);
            if video {
                match stamp::find(&payload) {
                    Some(sent_ns) => {
                        let received_ns = u64::try_from(received.as_nanos()).unwrap_or(u64::MAX);
                        let latency_us = received_ns.saturating_sub(sent_ns) / 1000;
                        let latency_us = u32::try_from(latency_us).unwrap_or(u32::MAX);
                        stats
                            .latencies_us
                            .lock()
                            .expect("latencies")
                            .push(latency_us);
                    }
                    None => {
                        stats.unstamped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        stats.last_frame_us.store(now.max(1), Ordering::Relaxed);
        stats
            .payload_bytes
            .fetch_add(payload.len() as u64, Ordering::Relaxed);
        stats.frames.fetch_add(1, Ordering::Relaxed);
    }
}

/// One tag of the clip, as the publisher sends it.
enum ClipTag {
    Metadata(Value),
    Audio(Bytes),
    /// An AVC video tag; `stamp` for those that carry NAL units (not the sequence header).
    Video {
        data: Bytes,
        stamp: bool,
    },
}

/// The clip, read once, as the publisher loops it.
struct Clip {
    /// Tags with their timestamps from the clip's start, in file order, and whether they are
    /// sent once (metadata and sequence headers) rather than on every loop.
    tags: Vec<(u32, ClipTag, bool)>,
    /// One loop's duration, in milliseconds: the next loop's timestamps start there.
    period_ms: u32,
    /// The size of the AVCC NAL unit length prefix (from the AVC sequence header).
    nal_length_size: usize,
}

impl Clip {
    fn read(path: &Path) -> Clip {
        let file = std::fs::read(path).expect("read the clip");
        let mut buffer = BytesMut::from(&file[..]);
        let mut reader = FlvReader::new();
        let mut tags = Vec::new();
        let mut first_timestamp = None;
        let mut nal_length_size = None;
        // The last two timestamps of each of audio and video, for the loop's period.
        let mut audio_times = (0u32, 0u32);
        let mut video_times = (0u32, 0u32);
        while let Some(tag) = reader.read_tag(&mut buffer).expect("a readable FLV clip") {
            let data = tag.data;
            if tag.tag_type == tag_type::SCRIPT_DATA {
                let raw = RawMessage {
                    timestamp: tag.timestamp,
                    type_id: tag_type::SCRIPT_DATA,
                    stream_id: 0,
                    payload: data,
                };
                if let Ok(Message::Data(data)) = Message::decode(&raw, &Limits::default()) {
                    if let Some(metadata) = data.metadata() {
                        tags.push((0, ClipTag::Metadata(metadata.clone()), true));
                    }
                }
                continue;
            }
            let first = *first_timestamp.get_or_insert(tag.timestamp);
            let timestamp = tag.timestamp.wrapping_sub(first);
            match tag.tag_type {
                tag_type::AUDIO => {
                    // AAC (sound format 10) with AACPacketType 0 is the sequence header.
                    let header = data.len() >= 2 && data[0] >> 4 == 10 && data[1] == 0;
                    if !header {
                        audio_times = (audio_times.1, timestamp);
                    }
                    tags.push((timestamp, ClipTag::Audio(data), header));
                }
                tag_type::VIDEO => {
                    assert!(
                        data.len() >= 5 && data[0] & 0x8F == 7,
                        "the clip's video is not legacy-FLV AVC"
                    );
                    let header = data[1] == 0;
                    if header {
                        // AVCDecoderConfigurationRecord: lengthSizeMinusOne in its 5th byte.
                        let size = data.get(5 + 4).expect("an AVC sequence header") & 0x03;
                        nal_length_size = Some(usize::from(size) + 1);
                    } else {
                        video_times = (video_times.1, timestamp);
                    }
                    let stamp = data[1] == 1;
                    tags.push((timestamp, ClipTag::Video { data, stamp }, header));
                }
                _ => {}
            }
        }
        // As `-stream_loop`: the next loop starts where the longer stream's last frame ends.
        let end = |(previous, last): (u32, u32)| last + last.saturating_sub(previous);
        Clip {
            tags,
            period_ms: end(audio_times).max(end(video_times)),
            nal_length_size: nal_length_size.expect("the clip has an AVC sequence header"),
        }
    }
}

/// What the publisher did.
#[derive(Default)]
struct PublisherReport {
    /// How late each frame sent in the window was against its schedule, in microseconds.
    lags_us: Vec<u32>,
    /// Why it stopped before it was told to.
    error: Option<String>,
}

/// Publishes `clip` to `app_url` on a thread of its own (a current-thread tokio runtime),
/// looped with continuous timestamps and paced in real time, until `stop` is set or `limit`
/// has passed. Returns once `publish` was accepted.
fn start_publisher(
    app_url: String,
    clip: Arc<Clip>,
    clock: Arc<Clock>,
    stop: Arc<AtomicBool>,
    limit: Duration,
) -> JoinHandle<PublisherReport> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("fanout-publisher".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the publisher's runtime");
            runtime.block_on(publish(app_url, &clip, &clock, &stop, limit, ready_tx))
        })
        .expect("start the publisher thread");
    match ready_rx.recv_timeout(PUBLISH_TIMEOUT) {
        Ok(Ok(())) => thread,
        Ok(Err(error)) => panic!("the publisher could not publish: {error}"),
        Err(_) => panic!("the publisher did not publish within {PUBLISH_TIMEOUT:?}"),
    }
}

async fn publish(
    app_url: String,
    clip: &Clip,
    clock: &Clock,
    stop: &AtomicBool,
    limit: Duration,
    ready: mpsc::Sender<Result<(), String>>,
) -> PublisherReport {
    let mut report = PublisherReport::default();
    let connected = async {
        Client::connect_with(&app_url, ClientOptions::publisher())
            .await?
            .publish(STREAM)
            .await
    };
    let mut publisher = match connected.await {
        Ok(publisher) => publisher,
        Err(error) => {
            let _ = ready.send(Err(error.to_string()));
            report.error = Some(error.to_string());
            return report;
        }
    };
    let _ = ready.send(Ok(()));
    let started = Instant::now();
    let mut lap: u64 = 0;
    'laps: loop {
        for (start_ms, tag, once) in &clip.tags {
            if lap > 0 && *once {
                continue;
            }
            let timestamp_ms = u64::from(*start_ms) + lap * u64::from(clip.period_ms);
            let offset = Duration::from_millis(timestamp_ms);
            if stop.load(Ordering::Relaxed) || offset > limit {
                break 'laps;
            }
            let due = started + offset;
            tokio::time::sleep_until(due.into()).await;
            // RTMP timestamps wrap at 2^32 ms.
            let timestamp = timestamp_ms as u32;
            let (sent, result) = match tag {
                ClipTag::Metadata(metadata) => (
                    Instant::now(),
                    publisher.send_metadata(metadata.clone()).await,
                ),
                ClipTag::Audio(data) => (
                    Instant::now(),
                    publisher.send_audio(timestamp, data.clone()).await,
                ),
                ClipTag::Video { data, stamp: false } => (
                    Instant::now(),
                    publisher.send_video(timestamp, data.clone()).await,
                ),
                ClipTag::Video { data, stamp: true } => {
                    // Built once per frame: every player gets this same `Bytes`.
                    let mut payload =
                        BytesMut::with_capacity(data.len() + clip.nal_length_size + stamp::NAL_LEN);
                    payload.put_slice(data);
                    let sent = Instant::now();
                    let nanos = sent.duration_since(origin()).as_nanos();
                    stamp::append(
                        &mut payload,
                        clip.nal_length_size,
                        u64::try_from(nanos).unwrap_or(u64::MAX),
                    );
                    (
                        sent,
                        publisher.send_video(timestamp, payload.freeze()).await,
                    )
                }
            };
            if let Err(error) = result {
                report.error = Some(error.to_string());
                return report;
            }
            if micros(sent.duration_since(origin())) >= clock.window_start_us() {
                let lag = micros(sent.saturating_duration_since(due));
                report.lags_us.push(u32::try_from(lag).unwrap_or(u32::MAX));
            }
        }
        lap += 1;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), publisher.close()).await;
    report
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

/// What `pid` used of the CPU so far: utime in clock ticks, and the time its threads were on a
/// CPU in nanoseconds (`/proc/PID/task/*/schedstat`, first field), which is what the CPU
/// figures take: ticks are 10 ms, a few of them in a light case's window. A kernel without
/// schedstat gets utime+stime's time instead.
fn cpu_sample(pid: u32, ticks_per_second: u64) -> (u64, u64) {
    let (user, system) = cpu_ticks(pid);
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("read /proc/PID/task");
    let on_cpu_ns: Option<u64> = tasks
        .filter_map(|task| {
            let path = task.ok()?.path().join("schedstat");
            let schedstat = std::fs::read_to_string(path).ok()?;
            schedstat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .reduce(|sum, ns| sum + ns);
    let from_ticks = || (user + system) * 1_000_000_000 / ticks_per_second.max(1);
    (user, on_cpu_ns.unwrap_or_else(from_ticks))
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

/// How our relay server is run.
struct OurServer {
    binary: PathBuf,
    /// `FANOUT_OURS_B`: a second build, run beside the first as the case `ours-b`.
    binary_b: Option<PathBuf>,
    /// Its `--threads`.
    threads: usize,
    /// `FANOUT_PIN`: the CPU every server runs on, the load on the others.
    pin: Option<usize>,
    /// `FANOUT_WRAP`: a program (and its arguments) the server runs under.
    wrap: Option<(String, Vec<String>)>,
}

/// `FANOUT_TOPOLOGY`: one server, or an origin and two edges pulling from it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Topology {
    /// The publisher and every player on one server.
    Single,
    /// The publisher on an origin; two edges pull the stream from it (ours with `--origin`,
    /// nginx with `pull`); the players spread evenly over the edges.
    Edge,
}

/// A server under test, stopped when dropped.
enum Server {
    Ours {
        port: u16,
        process: Process,
    },
    /// `app`: where players play, `live`, or `edge` for an nginx edge (`pull` in it).
    Nginx {
        nginx: Nginx,
        app: &'static str,
    },
}

impl Server {
    /// Starts `name`; ours with `--merge-window MS` when `merge_window_ms` is given; as an edge
    /// of the origin app `origin` (`rtmp://HOST:PORT/live`) when given.
    fn start(
        name: &str,
        ours: &OurServer,
        merge_window_ms: Option<usize>,
        origin: Option<&str>,
    ) -> Server {
        match (name, origin) {
            ("ours" | "ours-b", _) => {
                let port = free_port();
                let binary = match name {
                    "ours-b" => ours.binary_b.as_ref().expect("FANOUT_OURS_B"),
                    _ => &ours.binary,
                };
                let mut command = match &ours.wrap {
                    Some((program, args)) => {
                        let mut command = Command::new(program);
                        command.args(args).arg(binary);
                        command
                    }
                    None => Command::new(binary),
                };
                command
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{port}"))
                    .arg("--threads")
                    .arg(ours.threads.to_string())
                    .args(["--log", "error"]);
                if let Some(ms) = merge_window_ms {
                    command.arg("--merge-window").arg(ms.to_string());
                }
                if let Some(origin) = origin {
                    command.arg("--origin").arg(origin);
                }
                let process = Process::spawn("relay server", &mut command);
                wait_for_port(port, Duration::from_secs(10));
                let server = Server::Ours { port, process };
                pin_process(server.pid(), ours.pin);
                server
            }
            (_, None) => {
                let server = Server::Nginx {
                    nginx: Nginx::start(4096),
                    app: "live",
                };
                pin_process(server.pid(), ours.pin);
                server
            }
            (_, Some(origin)) => {
                let server = Server::Nginx {
                    nginx: Nginx::start_edge(4096, origin),
                    app: "edge",
                };
                pin_process(server.pid(), ours.pin);
                server
            }
        }
    }

    fn pid(&self) -> u32 {
        match self {
            Server::Ours { process, .. } => process.id(),
            Server::Nginx { nginx, .. } => nginx.pid(),
        }
    }

    /// The app URL the publisher publishes to (and an edge pulls from).
    fn app_url(&self) -> String {
        match self {
            Server::Ours { port, .. } => format!("rtmp://127.0.0.1:{port}/live"),
            Server::Nginx { nginx, .. } => format!("rtmp://127.0.0.1:{}/live", nginx.port),
        }
    }

    /// The app URL players play from.
    fn play_url(&self) -> String {
        match self {
            Server::Ours { .. } => self.app_url(),
            Server::Nginx { nginx, app } => format!("rtmp://127.0.0.1:{}/{app}", nginx.port),
        }
    }
}

/// The servers of one case: `(node name, server)`, the one published to first.
struct Deployment {
    nodes: Vec<(&'static str, Server)>,
}

impl Deployment {
    fn start(
        name: &str,
        topology: Topology,
        ours: &OurServer,
        merge_window_ms: Option<usize>,
    ) -> Deployment {
        let nodes = match topology {
            Topology::Single => vec![("server", Server::start(name, ours, merge_window_ms, None))],
            Topology::Edge => {
                let origin = Server::start(name, ours, merge_window_ms, None);
                let origin_url = origin.app_url();
                let edge = || Server::start(name, ours, merge_window_ms, Some(&origin_url));
                let (edge1, edge2) = (edge(), edge());
                vec![("origin", origin), ("edge1", edge1), ("edge2", edge2)]
            }
        };
        Deployment { nodes }
    }

    fn publish_url(&self) -> String {
        self.nodes[0].1.app_url()
    }

    /// The indices of the nodes players play from: the server, or the edges.
    fn player_nodes(&self) -> Vec<usize> {
        if self.nodes.len() == 1 {
            vec![0]
        } else {
            (1..self.nodes.len()).collect()
        }
    }
}

/// Percentiles of a set of durations, in microseconds.
#[derive(Clone, Copy)]
struct Spread {
    p50: u32,
    p99: u32,
    max: u32,
}

impl Spread {
    fn of(mut samples: Vec<u32>) -> Option<Spread> {
        samples.sort_unstable();
        // Nearest rank.
        let rank = |fraction: f64| {
            let rank = (samples.len() as f64 * fraction).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1]
        };
        let max = *samples.last()?;
        Some(Spread {
            p50: rank(0.50),
            p99: rank(0.99),
            max,
        })
    }
}

/// Microseconds as milliseconds with one decimal, "-" for none.
fn ms(us: Option<u32>) -> String {
    us.map_or_else(|| "-".into(), |us| format!("{:.1}", f64::from(us) / 1000.0))
}

/// One server process's figures over the window.
struct NodeFigures {
    /// "server", or "origin", "edge1", "edge2".
    name: &'static str,
    cpu_s: f64,
    /// The user-space part of `cpu_s`.
    user_s: f64,
    /// Audio and video payload this node sent in the window: what its players received, or
    /// for an origin, one player's take of each edge (what the edge received from it).
    delivered_bytes: u64,
    cpu_s_per_gbit: f64,
    peak_rss_mib: f64,
}

struct Measurement {
    server: &'static str,
    players: usize,
    /// Our server's `--merge-window`, when one was passed.
    merge_window_ms: Option<usize>,
    mbit_per_s: f64,
    /// The window's measured length, in seconds.
    window_s: f64,
    /// One per server process: the server, or the origin and the edges.
    nodes: Vec<NodeFigures>,
    client_cpu_s: f64,
    /// Publisher-to-player latency of the video frames received in the window.
    latency: Option<Spread>,
    /// Video frames received in the window without a stamp.
    unstamped: u64,
    /// How late the publisher sent its frames in the window.
    publisher_lag: Option<Spread>,
    publisher_error: Option<String>,
    stalled: usize,
    failed: usize,
    /// `strace -c` of the server over the window, with `FANOUT_STRACE=1`.
    syscalls: Option<String>,
}

impl Measurement {
    /// The `window ms` column: "-" for nginx, "default" for ours without `--merge-window`.
    fn window_label(&self) -> String {
        match (self.server, self.merge_window_ms) {
            ("nginx", _) => "-".into(),
            ("ours-b", Some(ms)) => format!("{ms} (B)"),
            ("ours-b", None) => "default (B)".into(),
            (_, Some(ms)) => ms.to_string(),
            (_, None) => "default".into(),
        }
    }

    /// CPU s of every node per Gbit the players received.
    fn cpu_s_per_delivered_gbit(&self) -> f64 {
        let cpu_s: f64 = self.nodes.iter().map(|node| node.cpu_s).sum();
        let gbit = self.mbit_per_s * self.window_s / 1e3;
        if gbit > 0.0 {
            cpu_s / gbit
        } else {
            f64::NAN
        }
    }

    /// The first node: the one server, or the origin.
    fn first(&self) -> &NodeFigures {
        &self.nodes[0]
    }
}

/// One server, one N, one merge window.
#[derive(Clone, Copy)]
struct Case {
    server: &'static str,
    topology: Topology,
    players: usize,
    merge_window_ms: Option<usize>,
    window: Duration,
}

/// A case under way: its servers, its publisher and, once attached, its players.
struct Trial {
    case: Case,
    deployment: Deployment,
    pids: Vec<u32>,
    /// Player i plays from node `player_node[i]`.
    player_node: Vec<usize>,
    clock: Arc<Clock>,
    stop: Arc<AtomicBool>,
    publisher: JoinHandle<PublisherReport>,
    stats: Vec<Arc<PlayerStats>>,
}

/// A trial's counters at one instant.
struct Snapshot {
    /// Per node: utime ticks and on-CPU nanoseconds.
    cpu: Vec<(u64, u64)>,
    /// Per node: payload bytes its players received.
    bytes: Vec<u64>,
}

impl Trial {
    /// Starts the case's servers and its publisher (returns once the publish was accepted).
    fn start(case: &Case, clip: &Arc<Clip>, ours: &OurServer) -> Trial {
        let deployment = Deployment::start(case.server, case.topology, ours, case.merge_window_ms);
        let pids: Vec<u32> = deployment.nodes.iter().map(|(_, s)| s.pid()).collect();
        let player_nodes = deployment.player_nodes();
        // Round robin over the player nodes.
        let player_node: Vec<usize> = (0..case.players)
            .map(|i| player_nodes[i % player_nodes.len()])
            .collect();
        let clock = Arc::new(Clock {
            window_start_us: AtomicU64::new(u64::MAX),
        });
        let stop = Arc::new(AtomicBool::new(false));
        // The publisher stops by itself past the longest this case can take.
        let connecting = Duration::from_millis(100)
            * u32::try_from(case.players / CONNECT_BATCH + 1).unwrap_or(u32::MAX);
        let limit =
            connecting + FIRST_FRAME_TIMEOUT + SETTLE + case.window + Duration::from_secs(60);
        let publisher = start_publisher(
            deployment.publish_url(),
            clip.clone(),
            clock.clone(),
            stop.clone(),
            limit,
        );
        let stats = (0..case.players)
            .map(|_| Arc::new(PlayerStats::default()))
            .collect();
        Trial {
            case: *case,
            deployment,
            pids,
            player_node,
            clock,
            stop,
            publisher,
            stats,
        }
    }

    /// Connects the players, in batches of `CONNECT_BATCH`.
    async fn attach(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::with_capacity(self.stats.len());
        for (index, player_stats) in self.stats.iter().enumerate() {
            if index > 0 && index % CONNECT_BATCH == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tasks.push(tokio::spawn(run_player(
                self.deployment.nodes[self.player_node[index]].1.play_url(),
                player_stats.clone(),
                self.clock.clone(),
            )));
        }
        tasks
    }

    /// Whether a player is still waiting for its first frame.
    fn waiting_for_first_frame(&self) -> bool {
        self.stats.iter().any(|s| {
            s.state.load(Ordering::Relaxed) == RUNNING && s.frames.load(Ordering::Relaxed) == 0
        })
    }

    fn snapshot(&self, ticks_per_second: u64) -> Snapshot {
        let mut bytes = vec![0; self.pids.len()];
        for (s, &node) in self.stats.iter().zip(&self.player_node) {
            bytes[node] += s.payload_bytes.load(Ordering::Relaxed);
        }
        Snapshot {
            cpu: self
                .pids
                .iter()
                .map(|&pid| cpu_sample(pid, ticks_per_second))
                .collect(),
            bytes,
        }
    }

    /// Stops everything and works out the figures of the window from `before` to `after`.
    fn finish(
        self,
        runtime: &tokio::runtime::Runtime,
        tasks: Vec<tokio::task::JoinHandle<()>>,
        window: (Snapshot, Snapshot, u64),
        ticks_per_second: u64,
        client_cpu_s: f64,
        syscalls: Option<String>,
    ) -> Measurement {
        let Trial {
            case,
            deployment,
            pids,
            player_node,
            clock: _,
            stop,
            publisher,
            stats,
        } = self;
        let (before, after, window_us) = window;
        let ticks_per_second = ticks_per_second as f64;
        let peak_rss_mib: Vec<f64> = pids
            .iter()
            .map(|&pid| peak_rss_kib(pid) as f64 / 1024.0)
            .collect();
        stop.store(true, Ordering::Relaxed);

        let stall_us = micros(STALL);
        let mut failed = 0;
        let mut stalled = 0;
        for s in &stats {
            let never_started = s.frames.load(Ordering::Relaxed) == 0
                || s.last_frame_us.load(Ordering::Relaxed) == 0;
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
        let mut latencies = Vec::new();
        let mut unstamped = 0;
        for s in &stats {
            latencies.append(&mut s.latencies_us.lock().expect("latencies"));
            unstamped += s.unstamped.load(Ordering::Relaxed);
        }
        // The publisher sees `stop` within a frame's interval; if it is stuck in a send,
        // stopping the servers ends that.
        let deadline = Instant::now() + PUBLISHER_STOP_TIMEOUT;
        while !publisher.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let player_nodes = deployment.player_nodes();
        let names: Vec<&'static str> = deployment.nodes.iter().map(|(name, _)| *name).collect();
        drop(deployment);
        let report = publisher.join().expect("the publisher thread");

        let seconds = window_us as f64 / 1e6;
        let mut node_bytes: Vec<u64> = before
            .bytes
            .iter()
            .zip(&after.bytes)
            .map(|(before, after)| after - before)
            .collect();
        let players_delivered: u64 = node_bytes.iter().sum();
        // An origin sends each edge one stream: an edge's players' mean take.
        if case.topology == Topology::Edge {
            node_bytes[0] = player_nodes
                .iter()
                .map(|&node| {
                    let on_node = player_node.iter().filter(|&&n| n == node).count() as u64;
                    node_bytes[node].checked_div(on_node).unwrap_or(0)
                })
                .sum();
        }
        let node_cpu = before
            .cpu
            .iter()
            .zip(&after.cpu)
            .map(|(before, after)| (after.0 - before.0, after.1 - before.1));
        let nodes = names
            .iter()
            .zip(node_cpu.zip(&node_bytes))
            .zip(&peak_rss_mib)
            .map(|((&name, ((user, on_cpu_ns), &bytes)), &peak_rss_mib)| {
                let cpu_s = on_cpu_ns as f64 / 1e9;
                let gbit = bytes as f64 * 8.0 / 1e9;
                NodeFigures {
                    name,
                    cpu_s,
                    user_s: user as f64 / ticks_per_second,
                    delivered_bytes: bytes,
                    cpu_s_per_gbit: if gbit > 0.0 { cpu_s / gbit } else { f64::NAN },
                    peak_rss_mib,
                }
            })
            .collect();
        Measurement {
            server: case.server,
            players: case.players,
            merge_window_ms: case.merge_window_ms,
            mbit_per_s: players_delivered as f64 * 8.0 / 1e6 / seconds,
            window_s: seconds,
            nodes,
            client_cpu_s,
            latency: Spread::of(latencies),
            unstamped,
            publisher_lag: Spread::of(report.lags_us),
            publisher_error: report.error,
            stalled,
            failed,
            syscalls,
        }
    }
}

/// Measures `cases` over one window, all at once (`FANOUT_TOGETHER`), or a single case, each
/// case started `stagger` after the one before. With `trace_syscalls`, strace follows the first
/// case's first node that serves players.
fn measure(
    runtime: &tokio::runtime::Runtime,
    cases: &[Case],
    stagger: Duration,
    clip: &Arc<Clip>,
    ours: &OurServer,
    trace_syscalls: Option<&str>,
) -> Vec<Measurement> {
    let ticks_per_second = clock_ticks_per_second();
    let window = cases
        .iter()
        .map(|case| case.window)
        .max()
        .unwrap_or_default();
    let trials: Vec<Trial> = cases
        .iter()
        .enumerate()
        .map(|(index, case)| {
            if index > 0 {
                std::thread::sleep(stagger);
            }
            Trial::start(case, clip, ours)
        })
        .collect();
    // Let the publishers start so that players find the streams live.
    std::thread::sleep(Duration::from_secs(1));
    let traced_pid = trials.first().map(|trial| {
        let player_nodes = trial.deployment.player_nodes();
        trial.pids[player_nodes[0]]
    });

    let (tasks, syscalls, client_cpu_s, snapshots, window_us) = runtime.block_on(async {
        let mut tasks = Vec::with_capacity(trials.len());
        for trial in &trials {
            tasks.push(trial.attach().await);
        }
        let deadline = Instant::now() + FIRST_FRAME_TIMEOUT;
        while Instant::now() < deadline && trials.iter().any(Trial::waiting_for_first_frame) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(SETTLE).await;

        let before: Vec<Snapshot> = trials
            .iter()
            .map(|trial| trial.snapshot(ticks_per_second))
            .collect();
        let client_before = cpu_total_ticks(std::process::id());
        let window_start = micros(since_origin());
        for trial in &trials {
            trial
                .clock
                .window_start_us
                .store(window_start, Ordering::Relaxed);
        }
        let tracer = trace_syscalls.zip(traced_pid).map(|(calls, pid)| {
            Process::spawn(
                "strace",
                Command::new("timeout")
                    .args(["-s", "INT"])
                    .arg(window.as_secs_f64().to_string())
                    .arg(require("strace"))
                    .args(["-c", "-f", "-e"])
                    .arg(format!("trace={calls}"))
                    .arg("-p")
                    .arg(pid.to_string()),
            )
        });
        tokio::time::sleep(window).await;
        let window_end = micros(since_origin());
        let after: Vec<Snapshot> = trials
            .iter()
            .map(|trial| trial.snapshot(ticks_per_second))
            .collect();
        let client_after = cpu_total_ticks(std::process::id());
        for trial in &trials {
            trial
                .clock
                .window_start_us
                .store(u64::MAX, Ordering::Relaxed);
            // The gap from each player's last frame to the window's end counts too.
            for s in &trial.stats {
                let last = s.last_frame_us.load(Ordering::Relaxed).max(window_start);
                s.max_gap_us
                    .fetch_max(window_end.saturating_sub(last), Ordering::Relaxed);
            }
        }
        let syscalls = tracer.map(|tracer| {
            let output = tracer.wait(Duration::from_secs(30));
            String::from_utf8_lossy(&output.stderr).into_owned()
        });
        (
            tasks,
            syscalls,
            (client_after - client_before) as f64 / ticks_per_second as f64,
            before.into_iter().zip(after).collect::<Vec<_>>(),
            window_end - window_start,
        )
    });
    let mut syscalls = syscalls;
    trials
        .into_iter()
        .zip(tasks)
        .zip(snapshots)
        .map(|((trial, tasks), (before, after))| {
            trial.finish(
                runtime,
                tasks,
                (before, after, window_us),
                ticks_per_second,
                client_cpu_s,
                syscalls.take(),
            )
        })
        .collect()
}

/// The run whose CPU per delivered Gbit is the median of `runs` (the upper one of an even
/// count).
fn median_run(mut runs: Vec<Measurement>) -> Measurement {
    runs.sort_by(|a, b| {
        a.cpu_s_per_delivered_gbit()
            .total_cmp(&b.cpu_s_per_delivered_gbit())
    });
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

/// How one of our cases' CPU per delivered Gbit spread over the rounds, beside nginx's (or,
/// for build B, beside build A's: then `ratio` is B over A).
struct Spreads {
    players: usize,
    window: String,
    ours: [f64; 3],
    nginx: [f64; 3],
    /// Ours over nginx's of the same round.
    ratio: [f64; 3],
}

impl Spreads {
    fn of(ours: &[Measurement], nginx: &[Measurement]) -> Spreads {
        let cpu = |runs: &[Measurement]| -> Vec<f64> {
            runs.iter()
                .map(Measurement::cpu_s_per_delivered_gbit)
                .collect()
        };
        let ratios: Vec<f64> = ours
            .iter()
            .zip(nginx)
            .map(|(o, n)| o.cpu_s_per_delivered_gbit() / n.cpu_s_per_delivered_gbit())
            .collect();
        Spreads {
            players: ours.first().map_or(0, |m| m.players),
            window: ours
                .first()
                .map_or_else(String::new, Measurement::window_label),
            ours: median_min_max(cpu(ours)),
            nginx: median_min_max(cpu(nginx)),
            ratio: median_min_max(ratios),
        }
    }

    fn print(spreads: &[Spreads], rounds: usize) {
        println!(
            "CPU s/Gbit over {rounds} rounds (FANOUT_REPEAT), each round every case once: \
             median (min-max); ours/nginx is per round"
        );
        println!("| N | window ms | CPU s/Gbit ours | CPU s/Gbit nginx | ours/nginx |");
        println!("|---:|---:|---:|---:|---:|");
        let show = |[median, min, max]: [f64; 3], digits: usize| {
            format!("{median:.digits$} ({min:.digits$}-{max:.digits$})")
        };
        for spread in spreads {
            println!(
                "| {} | {} | {} | {} | {} |",
                spread.players,
                spread.window,
                show(spread.ours, 3),
                show(spread.nginx, 3),
                show(spread.ratio, 2),
            );
        }
    }
}

/// The median (the upper one of an even count), the least and the greatest of `values`.
fn median_min_max(mut values: Vec<f64>) -> [f64; 3] {
    values.sort_by(f64::total_cmp);
    let at = |index: usize| values.get(index).copied().unwrap_or(f64::NAN);
    [
        at(values.len() / 2),
        at(0),
        at(values.len().saturating_sub(1)),
    ]
}

/// Puts every thread of `pid` on CPU `cpu`, if given (threads it starts later inherit it).
fn pin_process(pid: u32, cpu: Option<usize>) {
    let Some(cpu) = cpu else {
        return;
    };
    let status = Command::new(require("taskset"))
        .args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run taskset");
    assert!(status.success(), "taskset could not pin {pid} to CPU {cpu}");
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

/// `FANOUT_CSV`: every measurement as a line, written as it is made.
struct Csv(std::fs::File);

impl Csv {
    fn create(path: &str) -> Csv {
        let mut file =
            std::fs::File::create(path).unwrap_or_else(|e| panic!("FANOUT_CSV: {path}: {e}"));
        writeln!(
            file,
            "server,players,window_ms,mbit_per_s,expected_mbit_per_s,server_cpu_s,server_user_s,\
             cpu_s_per_gbit,peak_rss_mib,client_cpu_s,p50_ms,p99_ms,max_ms,publisher_lag_p99_ms,\
             stalled,failed,node,node_mbit_per_s"
        )
        .expect("write the CSV");
        Csv(file)
    }

    fn row(&mut self, m: &Measurement, expected_mbit_per_s: f64) {
        let window = match (m.server, m.merge_window_ms) {
            ("nginx", _) => String::new(),
            _ => m.window_label(),
        };
        let ms = |us: Option<u32>| {
            us.map_or(String::new(), |us| format!("{:.3}", f64::from(us) / 1000.0))
        };
        // One line per node; the server_* columns are that node's.
        let seconds = m.window_s;
        for node in &m.nodes {
            writeln!(
                self.0,
                "{},{},{},{:.3},{:.3},{:.2},{:.2},{:.4},{:.2},{:.2},{},{},{},{},{},{},{},{:.3}",
                m.server,
                m.players,
                window,
                m.mbit_per_s,
                expected_mbit_per_s,
                node.cpu_s,
                node.user_s,
                node.cpu_s_per_gbit,
                node.peak_rss_mib,
                m.client_cpu_s,
                ms(m.latency.map(|l| l.p50)),
                ms(m.latency.map(|l| l.p99)),
                ms(m.latency.map(|l| l.max)),
                ms(m.publisher_lag.map(|l| l.p99)),
                m.stalled,
                m.failed,
                node.name,
                node.delivered_bytes as f64 * 8.0 / 1e6 / seconds
            )
            .expect("write the CSV");
        }
        self.0.flush().expect("write the CSV");
    }
}

/// The first table's header: one server's columns, or each node's.
fn print_header(topology: Topology) {
    match topology {
        Topology::Single => {
            println!(
                "| server | N | window ms | Mbit/s | expected | server CPU s (user) | CPU s/Gbit | peak RSS MiB | client CPU s | p50 ms | p99 ms | max ms | publisher lag p99 ms | stalled | failed |"
            );
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        }
        Topology::Edge => {
            println!(
                "| server | N | window ms | Mbit/s | expected | origin CPU s | origin CPU s/Gbit | origin peak RSS MiB | edge1 CPU s | edge1 CPU s/Gbit | edge1 peak RSS MiB | edge2 CPU s | edge2 CPU s/Gbit | edge2 peak RSS MiB | client CPU s | p50 ms | p99 ms | max ms | publisher lag p99 ms | stalled | failed |"
            );
            println!(
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
        }
    }
}

/// One measurement as a row of the first table.
fn print_row(m: &Measurement, expected: f64) {
    let nodes: String = if m.nodes.len() == 1 {
        let node = m.first();
        format!(
            "{:.3} ({:.2}) | {:.3} | {:.1}",
            node.cpu_s, node.user_s, node.cpu_s_per_gbit, node.peak_rss_mib
        )
    } else {
        m.nodes
            .iter()
            .map(|node| {
                format!(
                    "{:.2} | {:.3} | {:.1}",
                    node.cpu_s, node.cpu_s_per_gbit, node.peak_rss_mib
                )
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    println!(
        "| {} | {} | {} | {:.1} | {:.1} | {nodes} | {:.2} | {} | {} | {} | {} | {} | {} |",
        m.server,
        m.players,
        m.window_label(),
        m.mbit_per_s,
        expected,
        m.client_cpu_s,
        ms(m.latency.map(|l| l.p50)),
        ms(m.latency.map(|l| l.p99)),
        ms(m.latency.map(|l| l.max)),
        ms(m.publisher_lag.map(|l| l.p99)),
        m.stalled,
        m.failed
    );
}

/// Ours against nginx, one server each.
fn print_ratios(results: &[(Vec<Measurement>, Measurement)]) {
    println!("| N | window ms | Mbit/s ours/nginx | CPU s/Gbit ours/nginx | peak RSS ours/nginx |");
    println!("|---:|---:|---:|---:|---:|");
    for (ours_rows, nginx) in results {
        for ours in ours_rows {
            println!(
                "| {} | {} | {:.2} | {:.2} | {:.2} |",
                ours.players,
                ours.window_label(),
                ours.mbit_per_s / nginx.mbit_per_s,
                ours.first().cpu_s_per_gbit / nginx.first().cpu_s_per_gbit,
                ours.first().peak_rss_mib / nginx.first().peak_rss_mib
            );
        }
    }
}

/// Ours against nginx node by node: origin, edge1, edge2.
fn print_nodes_side_by_side(results: &[(Vec<Measurement>, Measurement)]) {
    println!(
        "| N | window ms | node | sent Mbit/s ours / nginx | CPU s ours / nginx | CPU s/Gbit sent ours / nginx | peak RSS MiB ours / nginx |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|");
    for (ours_rows, nginx) in results {
        for ours in ours_rows {
            for (o, n) in ours.nodes.iter().zip(&nginx.nodes) {
                let mbit = |m: &Measurement, node: &NodeFigures| {
                    node.delivered_bytes as f64 * 8.0 / 1e6 / m.window_s
                };
                println!(
                    "| {} | {} | {} | {:.1} / {:.1} | {:.2} / {:.2} | {:.3} / {:.3} | {:.1} / {:.1} |",
                    ours.players,
                    ours.window_label(),
                    o.name,
                    mbit(ours, o),
                    mbit(nginx, n),
                    o.cpu_s,
                    n.cpu_s,
                    o.cpu_s_per_gbit,
                    n.cpu_s_per_gbit,
                    o.peak_rss_mib,
                    n.peak_rss_mib
                );
            }
        }
    }
}

fn main() {
    // Fix the origin before anything is stamped.
    let _ = since_origin();
    stamp::self_check();
    let ns = env_list("FANOUT_NS", &[1, 10, 100, 500]);
    let window = Duration::from_secs(
        std::env::var("FANOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    // Without FANOUT_WINDOWS our server runs with its default, and no --merge-window is passed.
    let merge_windows: Vec<Option<usize>> = match std::env::var("FANOUT_WINDOWS") {
        Ok(_) => env_list("FANOUT_WINDOWS", &[])
            .into_iter()
            .map(Some)
            .collect(),
        Err(_) => vec![None],
    };
    let repeat = std::env::var("FANOUT_REPEAT")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let trace_syscalls = match std::env::var("FANOUT_STRACE").as_deref() {
        Err(_) | Ok("0") => None,
        Ok("all") => Some("all"),
        Ok(_) => Some("write,writev,sendto,sendmsg"),
    };
    let topology = match std::env::var("FANOUT_TOPOLOGY").as_deref() {
        Err(_) | Ok("single") => Topology::Single,
        Ok("edge") => Topology::Edge,
        Ok(other) => panic!("FANOUT_TOPOLOGY: single or edge, not {other}"),
    };
    let together = std::env::var("FANOUT_TOGETHER").as_deref() == Ok("1");
    let mut csv = std::env::var("FANOUT_CSV")
        .ok()
        .map(|path| Csv::create(&path));
    require("nginx");
    // nginx runs one worker process; our server gets one thread unless told otherwise.
    let ours = OurServer {
        binary: release_example("rtmp-tokio", "server"),
        binary_b: std::env::var_os("FANOUT_OURS_B").map(PathBuf::from),
        threads: std::env::var("FANOUT_THREADS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
        pin: (std::env::var("FANOUT_PIN").as_deref() == Ok("1")).then(|| {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            assert!(cpus >= 2, "FANOUT_PIN needs two CPUs or more");
            cpus - 1
        }),
        wrap: std::env::var("FANOUT_WRAP").ok().and_then(|wrap| {
            let mut words = wrap.split_whitespace().map(String::from);
            Some((words.next()?, words.collect()))
        }),
    };
    let dir = TempDir::new("fanout");
    let clip_path = dir.path().join("clip.flv");
    make_fanout_clip(&clip_path);
    let clip_bytes = std::fs::metadata(&clip_path).expect("the clip").len();
    let stream_mbit = clip_bytes as f64 * 8.0 / 1e6 / f64::from(CLIP_SECONDS);
    let clip = Arc::new(Clip::read(&clip_path));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(server_cpu) = ours.pin {
        // The load (this process, and the runtime's threads started below) on the others.
        let others = format!("0-{}", server_cpu.saturating_sub(1));
        let status = Command::new(require("taskset"))
            .args(["-p", "-c", &others, &std::process::id().to_string()])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run taskset");
        assert!(
            status.success(),
            "taskset could not pin the load to CPUs {others}"
        );
    }
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
        "{cores} cores shared by the server and this process: the publisher (the clip looped in \
         real time, on a thread of its own) and the load client ({} tokio workers)",
        cores.min(2)
    );
    println!(
        "our server: --threads {}; nginx: worker_processes 1",
        ours.threads
    );
    if topology == Topology::Edge {
        println!(
            "FANOUT_TOPOLOGY=edge: an origin and two edges of it per server kind, players spread \
             over the edges; CPU and RSS per node; an origin's CPU/Gbit is over what it sent \
             the edges, an edge's over what its players received"
        );
    }
    println!(
        "Mbit/s = audio+video payload received by all players; CPU = server time on a CPU in the \
         window (schedstat; the user part from utime ticks); RSS = server VmHWM; client CPU = \
         this process's (players and publisher)"
    );
    println!(
        "p50/p99/max ms = publisher send to player receive of each video frame in the window, \
         over all players; publisher lag = how late the publisher sent its frames (p99)"
    );
    if trace_syscalls.is_some() {
        println!(
            "FANOUT_STRACE: the server's write calls are counted by strace over the window; \
             strace slows the server down, so this run's CPU figures are not comparable"
        );
    }
    println!();
    print_header(topology);
    // Per N: our rows (one per merge window), then nginx's.
    let mut results: Vec<(Vec<Measurement>, Measurement)> = Vec::new();
    let mut spreads = Vec::new();
    // With FANOUT_OURS_B: per N and window, build B's runs against build A's (B over A per
    // round).
    let mut b_over_a: Vec<Spreads> = Vec::new();
    for &players in &ns {
        let cases: Vec<(&'static str, Option<usize>)> = merge_windows
            .iter()
            .map(|&merge_window_ms| ("ours", merge_window_ms))
            .chain(
                merge_windows
                    .iter()
                    .filter(|_| ours.binary_b.is_some())
                    .map(|&merge_window_ms| ("ours-b", merge_window_ms)),
            )
            .chain([("nginx", None)])
            .collect();
        // One list of runs per case, the cases taken in turn each round: a drift of the
        // machine's speed during the rounds touches every case alike.
        let mut runs: Vec<Vec<Measurement>> = cases.iter().map(|_| Vec::new()).collect();
        for round_index in 0..repeat {
            let mut round: Vec<Case> = cases
                .iter()
                .map(|&(server, merge_window_ms)| Case {
                    server,
                    topology,
                    players,
                    merge_window_ms,
                    window,
                })
                .collect();
            // Each round takes the cases in another order: in turn, a case that always ran
            // first (after the load's set-up, or after the previous round's last case) would
            // always meet the machine in the same state.
            let turn = round_index % round.len();
            round.rotate_left(turn);
            let mut measured: Vec<Measurement> = if together {
                // Started a varying time apart: the publishers pace the same clip, so how
                // their frames interleave (which server finds the CPU busy when its
                // publisher's frame comes) is set by when they started, for the whole round.
                let stagger = Duration::from_millis((round_index as u64 * 23) % 40);
                measure(&runtime, &round, stagger, &clip, &ours, trace_syscalls)
            } else {
                round
                    .iter()
                    .flat_map(|case| {
                        measure(
                            &runtime,
                            std::slice::from_ref(case),
                            Duration::ZERO,
                            &clip,
                            &ours,
                            trace_syscalls,
                        )
                    })
                    .collect()
            };
            measured.rotate_right(turn);
            for (m, case_runs) in measured.into_iter().zip(&mut runs) {
                let expected = stream_mbit * players as f64;
                print_row(&m, expected);
                if let Some(syscalls) = &m.syscalls {
                    println!("```text\n{syscalls}```");
                }
                if let Some(csv) = csv.as_mut() {
                    csv.row(&m, expected);
                }
                case_runs.push(m);
            }
        }
        let nginx_runs = runs.pop().expect("nginx's runs");
        if ours.binary_b.is_some() {
            let (a_runs, b_runs) = runs.split_at(merge_windows.len());
            b_over_a.extend(a_runs.iter().zip(b_runs).map(|(a, b)| Spreads::of(b, a)));
        }
        spreads.extend(
            runs.iter()
                .map(|ours_runs| Spreads::of(ours_runs, &nginx_runs)),
        );
        let rows: Vec<Measurement> = runs.into_iter().map(median_run).collect();
        let nginx = median_run(nginx_runs);
        results.push((rows, nginx));
    }
    println!();
    if repeat > 1 {
        Spreads::print(&spreads, repeat);
        println!();
        if !b_over_a.is_empty() {
            println!("| N | window ms | CPU s/Gbit ours-b/ours, median (min-max) |");
            println!("|---:|---:|---:|");
            for spread in &b_over_a {
                let [median, min, max] = spread.ratio;
                println!(
                    "| {} | {} | {median:.3} ({min:.3}-{max:.3}) |",
                    spread.players, spread.window
                );
            }
            println!();
        }
        println!("the tables below take, for each case, its run of median CPU s/Gbit");
        println!();
    }
    match topology {
        Topology::Single => print_ratios(&results),
        Topology::Edge => print_nodes_side_by_side(&results),
    }
    println!();
    println!(
        "| N | window ms | CPU s/Gbit ours | CPU s/Gbit nginx | p50 ms ours | p50 ms nginx | p99 ms ours | p99 ms nginx |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (ours_rows, nginx) in &results {
        for ours in ours_rows {
            println!(
                "| {} | {} | {:.3} | {:.3} | {} | {} | {} | {} |",
                ours.players,
                ours.window_label(),
                ours.cpu_s_per_delivered_gbit(),
                nginx.cpu_s_per_delivered_gbit(),
                ms(ours.latency.map(|l| l.p50)),
                ms(nginx.latency.map(|l| l.p50)),
                ms(ours.latency.map(|l| l.p99)),
                ms(nginx.latency.map(|l| l.p99)),
            );
        }
    }
    println!();
    println!(
        "targets: CPU s/Gbit ours/nginx <= 0.7, peak RSS ours/nginx <= 1, zero stalled and failed"
    );
    for (ours_rows, nginx) in &results {
        for m in ours_rows.iter().chain([nginx]) {
            let case = format!(
                "{} at N={} (window {})",
                m.server,
                m.players,
                m.window_label()
            );
            let expected = stream_mbit * m.players as f64;
            if m.mbit_per_s < 0.9 * expected {
                println!(
                    "note: {case} delivered {:.0} of the {:.0} Mbit/s the stream needs: \
                     this machine could not keep up",
                    m.mbit_per_s, expected
                );
            }
            if let Some(error) = &m.publisher_error {
                println!("note: {case}: the publisher stopped: {error}");
            }
            if m.unstamped > 0 {
                println!(
                    "note: {case}: {} video frames arrived without a stamp",
                    m.unstamped
                );
            }
            if m.publisher_lag.is_some_and(|lag| lag.p99 > 10_000) {
                println!(
                    "note: {case}: the publisher sent 1% of its frames more than 10 ms late: this \
                     process was short of CPU (the stamps are the actual send times, but the \
                     players' receive times may be late too)"
                );
            }
        }
    }
}
