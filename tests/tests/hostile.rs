//! Hostile peers against the tokio relay (`rtmp-tokio`'s `server` example, run as a child
//! process on 127.0.0.1): partial messages held open, floods of tiny messages, requests whose
//! answers are never read, and connections that never connect or never publish. Each attack
//! runs on fresh connections; the server's memory is read from `/proc/PID/status` (VmRSS
//! sampled during the attack, VmHWM, VmRSS after it), a bystander player's longest gap is
//! measured while a flood runs, and a control client connects, publishes and plays during and
//! after each attack.
//!
//! The server runs with a 64 MiB memory budget and 1 s connect and publish/play timeouts, so
//! the bounds are small enough to tell apart from noise and the test takes seconds.
//!
//! The example binary is not built by `cargo test -p rtmp-tests`; `cargo test --workspace`
//! builds it, as does `cargo build -p rtmp-tokio --example server`.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtmp_proto::amf::{Object, Value};
use rtmp_proto::message::{Command as AmfCommand, Message, UserControl};
use rtmp_std::client::{Client, ClientOptions, ClientSettings, Frame};
use rtmp_tests::peers::{example_binary, free_port, wait_for_port, Process};

const MIB: u64 = 1024 * 1024;
/// The server's `--memory-budget`, in MiB.
const BUDGET_MIB: u64 = 64;
/// What the server may hold beyond the budget at its peak: read buffers (64 KiB per
/// connection), the runtime, an allocator's slack, and the budget's own allowance for
/// connections within their shares.
const PEAK_SLACK: u64 = 48 * MIB;
/// How far above its baseline the server's RSS may stay once an attack is over.
const RETAINED_SLACK: u64 = 8 * MIB;
/// The longest a bystander player may wait between two frames while a flood runs.
const MAX_GAP: Duration = Duration::from_millis(100);

/// The relay, serving on a loopback port until dropped.
struct Relay {
    port: u16,
    process: Process,
}

impl Relay {
    fn start() -> Relay {
        let port = free_port();
        let mut command = Command::new(example_binary("rtmp-tokio", "server"));
        command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--log", "error", "--merge-window", "0"])
            .args(["--memory-budget", &BUDGET_MIB.to_string()])
            .args(["--connect-timeout", "1000", "--stream-timeout", "1000"]);
        let process = Process::spawn("tokio relay server", &mut command);
        wait_for_port(port, Duration::from_secs(5));
        Relay { port, process }
    }

    fn url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live", self.port)
    }

    /// A field of `/proc/PID/status` in bytes (`VmRSS`, `VmHWM`).
    fn memory(&self, field: &str) -> u64 {
        let path = format!("/proc/{}/status", self.process.id());
        let status = std::fs::read_to_string(&path).expect("the server is running");
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no {field} in {path}"));
        kib * 1024
    }

    fn rss(&self) -> u64 {
        self.memory("VmRSS")
    }

    /// Samples the server's RSS every few milliseconds until the returned sampler stops.
    fn sample(&self) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(self.rss()));
        let path = format!("/proc/{}/status", self.process.id());
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(status) = std::fs::read_to_string(&path) {
                        let rss = status
                            .lines()
                            .find_map(|line| line.strip_prefix("VmRSS:"))
                            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                            .unwrap_or(0u64);
                        peak.fetch_max(rss * 1024, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        Sampler {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    /// Waits (at most 5 s) for the server's RSS to fall back within `RETAINED_SLACK` of
    /// `baseline`; returns the last reading.
    fn settle(&self, baseline: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let rss = self.rss();
            if rss <= baseline + RETAINED_SLACK || Instant::now() >= deadline {
                return rss;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// The highest RSS seen.
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// A TCP connection to the relay with the plain handshake done (C0, C1 of zeros; C2 echoes
/// S1), ready for chunks.
fn handshaken(port: u16) -> TcpStream {
    handshaken_over(TcpStream::connect(("127.0.0.1", port)).expect("connect to the relay"))
}

/// A connection whose kernel holds at most about 128 KiB of what the relay sends, as a peer
/// that does not read would have (loopback's buffers, up to 32 MiB here, would otherwise
/// take the relay's answers for it).
fn small_buffered(port: u16) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    socket.set_recv_buffer_size(64 * 1024).expect("SO_RCVBUF");
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    socket
        .connect(&address.into())
        .expect("connect to the relay");
    handshaken_over(socket.into())
}

fn handshaken_over(mut stream: TcpStream) -> TcpStream {
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut c0c1 = vec![0u8; 1 + 1536];
    c0c1[0] = 3;
    stream.write_all(&c0c1).expect("send C0 and C1");
    let mut s0s1s2 = vec![0u8; 1 + 2 * 1536];
    stream.read_exact(&mut s0s1s2).expect("read S0, S1 and S2");
    stream.write_all(&s0s1s2[1..1537]).expect("send C2");
    stream
}

/// `message` as chunks of 128 bytes (the default chunk size) on chunk stream `csid`.
fn chunks(csid: u8, stream_id: u32, message: &Message) -> Vec<u8> {
    let raw = message.to_raw(0, stream_id).expect("encodable");
    let len = raw.payload.len() as u32;
    let mut bytes = vec![csid, 0, 0, 0];
    bytes.extend_from_slice(&len.to_be_bytes()[1..]);
    bytes.push(raw.type_id);
    bytes.extend_from_slice(&stream_id.to_le_bytes());
    for (index, piece) in raw.payload.chunks(128).enumerate() {
        if index > 0 {
            bytes.push(0xC0 | csid);
        }
        bytes.extend_from_slice(piece);
    }
    bytes
}

fn command(name: &str, transaction_id: f64, arguments: Vec<Value>) -> Message {
    Message::Command(AmfCommand::new(
        name,
        transaction_id,
        Value::Null,
        arguments,
    ))
}

/// Reads until `needle` has arrived (at most 5 s).
fn read_until(stream: &mut TcpStream, needle: &[u8]) {
    read_until_within(stream, needle, Duration::from_secs(5));
}

fn read_until_within(stream: &mut TcpStream, needle: &[u8], timeout: Duration) {
    stream.set_read_timeout(Some(timeout)).unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + timeout;
    while !seen.windows(needle.len()).any(|window| window == needle) {
        assert!(
            Instant::now() < deadline,
            "no {:?}",
            String::from_utf8_lossy(needle)
        );
        let count = stream.read(&mut buffer).expect("the relay answers");
        assert!(count > 0, "the relay hung up");
        seen.extend_from_slice(&buffer[..count]);
    }
}

/// A handshaken connection whose connect to `live` was accepted.
fn connected(port: u16) -> TcpStream {
    connected_over(handshaken(port))
}

fn connected_over(mut stream: TcpStream) -> TcpStream {
    let port = stream.peer_addr().expect("connected").port();
    let properties = Object::new()
        .with("app", "live")
        .with("tcUrl", format!("rtmp://127.0.0.1:{port}/live"));
    let connect = Message::Command(AmfCommand::new(
        "connect",
        1.0,
        Value::Object(properties),
        vec![],
    ));
    stream.write_all(&chunks(3, 0, &connect)).unwrap();
    read_until(&mut stream, b"NetConnection.Connect.Success");
    stream
}

/// A connection publishing `name` on message stream 1.
fn raw_publisher(port: u16, name: &str) -> TcpStream {
    publishing_over(connected(port), name)
}

fn publishing_over(stream: TcpStream, name: &str) -> TcpStream {
    let mut stream = stream;
    stream
        .write_all(&chunks(3, 0, &command("createStream", 2.0, vec![])))
        .unwrap();
    let publish = command("publish", 3.0, vec![name.into(), "live".into()]);
    stream.write_all(&chunks(8, 1, &publish)).unwrap();
    read_until(&mut stream, b"NetStream.Publish.Start");
    stream
}

/// Whether the relay ended `stream` within `timeout`: a read returns end of file or a reset.
/// What it sent before is skipped.
fn ended_within(stream: &mut TcpStream, timeout: Duration) -> bool {
    watch_end(stream, timeout)
}

/// Whether the relay ended `stream` within `timeout` while we keep sending `more` and read
/// nothing (what the relay sent before its end would be read first: only a failed write
/// tells, without reading).
fn ended_while_asking(stream: &mut TcpStream, more: &[u8], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    stream
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    while Instant::now() < deadline {
        match stream.write_all(more) {
            Ok(()) => std::thread::sleep(Duration::from_millis(5)),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

fn watch_end(stream: &mut TcpStream, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut buffer = vec![0u8; 65536];
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    while Instant::now() < deadline {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

const SEQUENCE_HEADER: &[u8] = &[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 0];
const KEYFRAME: &[u8] = &[0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65];

/// A publisher and a player of our own client through the relay: the player gets a frame
/// the publisher sent. Panics (with `when`) if not.
fn control_client(relay: &Relay, name: &str, when: &str) {
    let options = ClientOptions::publisher()
        .with_settings(ClientSettings::publisher().with_connect_timeout(Duration::from_secs(5)))
        .with_read_timeout(Some(Duration::from_secs(5)));
    let mut publisher = Client::connect_with(&relay.url(), options.clone())
        .unwrap_or_else(|e| panic!("control publisher cannot connect {when}: {e}"))
        .publish(name)
        .unwrap_or_else(|e| panic!("control publisher cannot publish {when}: {e}"));
    let player_options = ClientOptions::default()
        .with_settings(ClientSettings::default().with_connect_timeout(Duration::from_secs(5)))
        .with_read_timeout(Some(Duration::from_secs(5)));
    let mut player = Client::connect_with(&relay.url(), player_options)
        .unwrap_or_else(|e| panic!("control player cannot connect {when}: {e}"))
        .play(name)
        .unwrap_or_else(|e| panic!("control player cannot play {when}: {e}"));
    let _ = publisher
        .send_video(0, Bytes::from_static(SEQUENCE_HEADER))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut timestamp = 0;
    loop {
        assert!(
            Instant::now() < deadline,
            "control player got no video {when}"
        );
        timestamp += 40;
        let _ = publisher
            .send_video(timestamp, Bytes::from_static(KEYFRAME))
            .unwrap();
        publisher.wait(Duration::from_millis(40)).unwrap();
        match player.next_frame() {
            Ok(Some(Frame::Video { .. })) => break,
            Ok(Some(_)) => {}
            other => panic!("control player failed {when}: {other:?}"),
        }
    }
    let _ = publisher.close();
    let _ = player.client().flush();
}

/// A stream with a publisher of our client (a small keyframe every 10 ms) and a player that
/// records when each video frame arrives, running until `stop` is set.
struct Bystander {
    stop: Arc<AtomicBool>,
    publisher: JoinHandle<()>,
    player: JoinHandle<Vec<Instant>>,
}

impl Bystander {
    fn start(relay: &Relay, name: &str) -> Bystander {
        let stop = Arc::new(AtomicBool::new(false));
        let options = ClientOptions::publisher().with_read_timeout(Some(Duration::from_secs(5)));
        let mut publisher = Client::connect_with(&relay.url(), options)
            .expect("bystander publisher connects")
            .publish(name)
            .expect("bystander publishes");
        let _ = publisher
            .send_video(0, Bytes::from_static(SEQUENCE_HEADER))
            .unwrap();
        let player_options =
            ClientOptions::default().with_read_timeout(Some(Duration::from_secs(2)));
        let mut player = Client::connect_with(&relay.url(), player_options)
            .expect("bystander player connects")
            .play(name)
            .expect("bystander plays");
        let publisher = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut timestamp = 0;
                while !stop.load(Ordering::Relaxed) {
                    timestamp += 10;
                    let _ = publisher
                        .send_video(timestamp, Bytes::from_static(KEYFRAME))
                        .expect("bystander publisher sends");
                    publisher.wait(Duration::from_millis(10)).unwrap();
                }
                let _ = publisher.close();
            })
        };
        let player = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut arrivals = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match player.next_frame() {
                        Ok(Some(Frame::Video { .. })) => arrivals.push(Instant::now()),
                        Ok(Some(_)) => {}
                        _ if stop.load(Ordering::Relaxed) => break,
                        other => panic!("bystander player failed: {other:?}"),
                    }
                }
                arrivals
            })
        };
        Bystander {
            stop,
            publisher,
            player,
        }
    }

    /// Stops both; the longest gap between two video frames the player got in `window`.
    fn finish(self, window: (Instant, Instant)) -> Duration {
        self.stop.store(true, Ordering::Relaxed);
        self.publisher.join().expect("bystander publisher");
        let arrivals = self.player.join().expect("bystander player");
        let inside: Vec<Instant> = arrivals
            .into_iter()
            .filter(|at| *at >= window.0 && *at <= window.1)
            .collect();
        assert!(
            inside.len() > 10,
            "the bystander got {} frames",
            inside.len()
        );
        let mut gaps: Vec<Duration> = inside.windows(2).map(|w| w[1] - w[0]).collect();
        gaps.push(inside[0] - window.0);
        gaps.into_iter().max().unwrap_or_default()
    }
}

fn report(what: &str, baseline: u64, peak: u64, after: u64) {
    eprintln!(
        "{what}: baseline {:.1} MiB, peak +{:.1} MiB, after +{:.1} MiB",
        baseline as f64 / MIB as f64,
        peak.saturating_sub(baseline) as f64 / MIB as f64,
        after.saturating_sub(baseline) as f64 / MIB as f64,
    );
}

fn assert_within_budget(what: &str, relay: &Relay, baseline: u64, peak: u64, after: u64) {
    report(what, baseline, peak, after);
    let hwm = relay.memory("VmHWM");
    assert!(
        peak <= baseline + BUDGET_MIB * MIB + PEAK_SLACK && hwm <= baseline + BUDGET_MIB * MIB + PEAK_SLACK,
        "{what}: peak RSS {peak} (VmHWM {hwm}) is over the budget of {BUDGET_MIB} MiB above {baseline}"
    );
    assert!(
        after <= baseline + RETAINED_SLACK,
        "{what}: RSS {after} after the attack, {baseline} before"
    );
}

/// Twenty connections each send one 16 MiB video message but its last byte, and wait.
fn partial_messages(relay: &Relay) {
    let baseline = relay.rss();
    let sampler = relay.sample();
    let attackers: Vec<JoinHandle<TcpStream>> = (0..20)
        .map(|_| {
            let port = relay.port;
            std::thread::spawn(move || {
                let mut stream = handshaken(port);
                let length = 0xFF_FFFF_usize;
                let mut bytes = vec![0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 1, 0, 0];
                bytes.extend_from_slice(&[0x06, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0]);
                let chunk = vec![0x27u8; 65536];
                let mut left = length - 1;
                let mut first = true;
                // Stops at the first failed write: the relay closed this one.
                let _ = (|| -> std::io::Result<()> {
                    stream.write_all(&bytes)?;
                    while left > 0 {
                        if !first {
                            stream.write_all(&[0xC6])?;
                        }
                        first = false;
                        let take = left.min(65536);
                        stream.write_all(&chunk[..take])?;
                        left -= take;
                    }
                    Ok(())
                })();
                stream
            })
        })
        .collect();
    let mut held: Vec<TcpStream> = attackers
        .into_iter()
        .map(|attacker| attacker.join().expect("attacker"))
        .collect();
    // During: the attackers still hold their connections.
    control_client(
        relay,
        "control-partial",
        "during the partial-message attack",
    );
    let peak = sampler.finish();
    let closed = held
        .iter_mut()
        .map(|stream| ended_within(stream, Duration::from_millis(100)))
        .filter(|ended| *ended)
        .count();
    eprintln!("partial messages: the relay closed {closed} of 20 attackers");
    assert!(closed > 0, "someone must give way to a 64 MiB budget");
    drop(held);
    let after = relay.settle(baseline);
    assert_within_budget("partial messages", relay, baseline, peak, after);
    control_client(
        relay,
        "control-partial-after",
        "after the partial-message attack",
    );
}

/// A publisher floods its stream with millions of empty (then one-byte) video messages, a
/// one-byte fmt 3 header (then two bytes) each, while a bystander plays another stream.
fn floods(relay: &Relay) {
    let variants = [
        ("empty video", &[0xC6u8][..]),
        ("1-byte video", &[0xC6, 0x27]),
    ];
    for (round, (what, message)) in variants.into_iter().enumerate() {
        let baseline = relay.rss();
        let bystander = Bystander::start(relay, &format!("bystander-{round}"));
        std::thread::sleep(Duration::from_millis(300));
        let sampler = relay.sample();
        let start = Instant::now();
        let mut attacker = raw_publisher(relay.port, &format!("flood-{round}"));
        let length = (message.len() - 1) as u8;
        let mut header = vec![0x06, 0, 0, 0, 0, 0, length, 9, 1, 0, 0, 0];
        header.extend_from_slice(&message[1..]);
        let flood: Vec<u8> = message.repeat(4 * 1024 * 1024 / message.len());
        let _ = attacker.write_all(&header);
        let mut sent = 0;
        for piece in flood.chunks(64 * 1024) {
            if attacker.write_all(piece).is_err() {
                break;
            }
            sent += piece.len();
        }
        // During: a control client while the relay works through the flood.
        let control = format!("control-flood-{round}");
        control_client(relay, &control, &format!("during the {what} flood"));
        // The answer to a ping sent after the flood says the relay has decoded all of it.
        let ping = Message::UserControl(UserControl::PingRequest {
            timestamp: 0x5EED_5EED,
        });
        attacker.write_all(&chunks(2, 0, &ping)).unwrap();
        let answer = [0, 7, 0x5E, 0xED, 0x5E, 0xED];
        read_until_within(&mut attacker, &answer, Duration::from_secs(30));
        let end = Instant::now();
        let gap = bystander.finish((start, end));
        let peak = sampler.finish();
        drop(attacker);
        let after = relay.settle(baseline);
        eprintln!(
            "{what} flood: {} MiB sent, decoded {:?} after it started, bystander's longest \
             gap {gap:?}",
            sent / (1 << 20),
            end - start
        );
        assert_within_budget(&format!("{what} flood"), relay, baseline, peak, after);
        assert!(gap < MAX_GAP, "{what} flood: the bystander waited {gap:?}");
    }
    control_client(relay, "control-flood-after", "after the floods");
}

/// Requests whose answers are never read: a million ping requests, then 200,000
/// createStreams. The relay must hang up, soon, without holding what it could not send.
fn unread_answers(relay: &Relay) {
    let ping = Message::UserControl(UserControl::PingRequest { timestamp: 1 });
    let first_ping = chunks(2, 0, &ping);
    // Each further ping: a one-byte fmt 3 header on chunk stream 2 and the same payload.
    let again: Vec<u8> = [&[0xC2u8][..], &first_ping[12..]].concat();
    let create = chunks(3, 0, &command("createStream", 2.0, vec![]));
    let attacks = [
        ("a million pings", first_ping.clone(), again, 1_000_000),
        ("200,000 createStreams", create.clone(), create, 200_000),
    ];
    for (round, (what, first, unit, count)) in attacks.into_iter().enumerate() {
        let mut flood = first;
        flood.extend(unit.repeat(count - 1));
        let baseline = relay.rss();
        let sampler = relay.sample();
        let started = Instant::now();
        // A publisher: no connect or publish deadline ends it, only what it does.
        let small = connected_over(small_buffered(relay.port));
        let mut stream = publishing_over(small, &format!("asker-{round}"));
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut sent = 0;
        for piece in flood.chunks(64 * 1024) {
            if stream.write_all(piece).is_err() {
                break;
            }
            sent += piece.len();
        }
        // The kernel takes all that (the relay's receive buffer grows to tens of MiB): the
        // relay's answer to it is its hanging up, which a write tells, while we keep asking.
        let more = unit.repeat(64 * 1024 / unit.len());
        let hung_up = ended_while_asking(&mut stream, &more, Duration::from_secs(5));
        let took = started.elapsed();
        control_client(
            relay,
            &format!("control-answers-{round}"),
            &format!("after {what}"),
        );
        let peak = sampler.finish();
        let after = relay.settle(baseline);
        eprintln!(
            "{what}: {} of {} KiB written, the relay hung up {took:?} after the attack began",
            sent / 1024,
            flood.len() / 1024
        );
        assert!(
            hung_up,
            "{what}: the relay keeps answering a peer that does not read"
        );
        assert_within_budget(what, relay, baseline, peak, after);
    }
}

/// Fifty connections that complete the handshake and say nothing, and twenty that connect
/// and never publish or play: all closed after the relay's 1 s timeouts.
fn idlers(relay: &Relay) {
    let baseline = relay.rss();
    let started = Instant::now();
    let mut silent: Vec<TcpStream> = (0..50).map(|_| handshaken(relay.port)).collect();
    let mut connected: Vec<TcpStream> = (0..20).map(|_| connected(relay.port)).collect();
    control_client(relay, "control-idlers", "while idlers wait");
    for stream in silent.iter_mut().chain(connected.iter_mut()) {
        let left = Duration::from_secs(4).saturating_sub(started.elapsed());
        assert!(
            ended_within(stream, left),
            "an idler is still open after {:?}",
            started.elapsed()
        );
    }
    eprintln!(
        "idlers: all closed {:?} after they started",
        started.elapsed()
    );
    let after = relay.settle(baseline);
    assert!(
        after <= baseline + RETAINED_SLACK,
        "idlers left {after} (was {baseline})"
    );
}

#[test]
fn hostile_peers_stay_within_the_budget_and_bystanders_keep_playing() {
    let relay = Relay::start();
    // Warm up: the first connections grow the runtime's and the allocator's pools.
    control_client(&relay, "warm-up", "before any attack");
    idlers(&relay);
    unread_answers(&relay);
    floods(&relay);
    partial_messages(&relay);
    control_client(&relay, "control-end", "after every attack");
}
