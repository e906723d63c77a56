//! Hostile peers, shared by the hostile-peer test (`tests/hostile.rs`) and the soak benchmark
//! (`benches/soak.rs`): a relay server run as a child process, a server's memory read from
//! `/proc/PID/status`, raw connections that speak just enough RTMP by hand, and the attacks
//! themselves (partial messages held open, floods of tiny messages, requests whose answers are
//! never read). The attacks return what happened and leave the judging to the caller; they
//! work against any RTMP server with an application `live` (ours and nginx-rtmp).
//!
//! Everything here talks to 127.0.0.1 only.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rtmp_proto::amf::{Object, Value};
use rtmp_proto::message::{Command as AmfCommand, Message, UserControl};

use crate::peers::{free_port, wait_for_port, Process};

/// Bytes in a MiB.
pub const MIB: u64 = 1024 * 1024;

/// A field of `/proc/PID/status` in bytes (`VmRSS`, `VmHWM`), or `None` when the process is
/// gone or the field is missing.
pub fn memory_of(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kib * 1024)
}

/// A server's resident set size (`VmRSS`) in bytes, or 0 when it cannot be read.
pub fn rss_of(pid: u32) -> u64 {
    memory_of(pid, "VmRSS").unwrap_or(0)
}

/// Our relay (`rtmp-tokio`'s `server` example) as a child process on a loopback port,
/// killed when dropped.
pub struct RelayProcess {
    /// Its RTMP port on 127.0.0.1.
    pub port: u16,
    process: Process,
}

impl RelayProcess {
    /// Starts `binary --listen 127.0.0.1:PORT ARGS...` and waits until it accepts.
    pub fn start(binary: &Path, args: &[&str]) -> RelayProcess {
        let port = free_port();
        let mut command = Command::new(binary);
        command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args);
        let process = Process::spawn("tokio relay server", &mut command);
        wait_for_port(port, Duration::from_secs(5));
        RelayProcess { port, process }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// `rtmp://127.0.0.1:PORT/live`.
    pub fn url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live", self.port)
    }

    /// A field of its `/proc/PID/status` in bytes (`VmRSS`, `VmHWM`); panics if it is gone.
    pub fn memory(&self, field: &str) -> u64 {
        memory_of(self.pid(), field)
            .unwrap_or_else(|| panic!("no {field} for the server (pid {})", self.pid()))
    }

    /// Its `VmRSS` in bytes.
    pub fn rss(&self) -> u64 {
        self.memory("VmRSS")
    }

    /// Samples its RSS every 2 ms until the returned sampler is finished.
    pub fn sample(&self) -> PeakSampler {
        PeakSampler::start(self.pid(), Duration::from_millis(2))
    }

    /// Waits (at most 5 s) for its RSS to fall back within `slack` of `baseline`; returns the
    /// last reading.
    pub fn settle(&self, baseline: u64, slack: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let rss = self.rss();
            if rss <= baseline + slack || Instant::now() >= deadline {
                return rss;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `TARGET/release/examples/NAME` of `package`, built (or found up to date) by cargo first:
/// for benchmarks, which run from `TARGET/release/deps/`.
pub fn release_example(package: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's path");
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("the bench runs from TARGET/release/deps");
    let target_dir = release.parent().expect("the target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", package, "--example", name])
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of {package}'s {name} failed");
    let path = release.join("examples").join(name);
    assert!(path.is_file(), "no {name} at {}", path.display());
    path
}

/// The highest RSS of a process, sampled on a thread of its own until [`finish`](Self::finish).
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl PeakSampler {
    /// Samples `pid`'s `VmRSS` every `every`.
    pub fn start(pid: u32, every: Duration) -> PeakSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_of(pid)));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_of(pid), Ordering::Relaxed);
                    std::thread::sleep(every);
                }
            })
        };
        PeakSampler {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    /// Stops sampling; the highest RSS seen, in bytes.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for PeakSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A TCP connection to 127.0.0.1:`port` with the plain handshake done (C0, C1 of zeros; C2
/// echoes S1), ready for chunks.
pub fn handshaken(port: u16) -> io::Result<TcpStream> {
    handshaken_over(TcpStream::connect(("127.0.0.1", port))?)
}

/// A handshaken connection whose kernel holds at most about 128 KiB of what the server sends,
/// as a peer that does not read would have (loopback's buffers, up to 32 MiB here, would
/// otherwise take the server's answers for it).
pub fn small_buffered(port: u16) -> io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_recv_buffer_size(64 * 1024)?;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    socket.connect(&address.into())?;
    handshaken_over(socket.into())
}

fn handshaken_over(mut stream: TcpStream) -> io::Result<TcpStream> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut c0c1 = vec![0u8; 1 + 1536];
    c0c1[0] = 3;
    stream.write_all(&c0c1)?;
    let mut s0s1s2 = vec![0u8; 1 + 2 * 1536];
    stream.read_exact(&mut s0s1s2)?;
    stream.write_all(&s0s1s2[1..1537])?;
    Ok(stream)
}

/// `message` as chunks of 128 bytes (the default chunk size) on chunk stream `csid`.
pub fn chunks(csid: u8, stream_id: u32, message: &Message) -> Vec<u8> {
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

/// An AMF0 command with a null command object.
pub fn command(name: &str, transaction_id: f64, arguments: Vec<Value>) -> Message {
    Message::Command(AmfCommand::new(
        name,
        transaction_id,
        Value::Null,
        arguments,
    ))
}

/// Reads until `needle` has arrived, at most `timeout`; an error if the server hangs up or
/// the time runs out first.
pub fn read_until_within(
    stream: &mut TcpStream,
    needle: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    stream.set_read_timeout(Some(timeout))?;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + timeout;
    while !seen.windows(needle.len()).any(|window| window == needle) {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                format!("no {:?}", String::from_utf8_lossy(needle)),
            ));
        }
        let count = stream.read(&mut buffer)?;
        if count == 0 {
            return Err(io::Error::new(
                ErrorKind::UnexpectedEof,
                format!("hung up before {:?}", String::from_utf8_lossy(needle)),
            ));
        }
        seen.extend_from_slice(&buffer[..count]);
    }
    Ok(())
}

/// Reads until `needle` has arrived (at most 5 s).
pub fn read_until(stream: &mut TcpStream, needle: &[u8]) -> io::Result<()> {
    read_until_within(stream, needle, Duration::from_secs(5))
}

/// A handshaken connection whose connect to `live` was accepted.
pub fn connected(port: u16) -> io::Result<TcpStream> {
    connected_over(handshaken(port)?)
}

/// Sends `connect` to `live` on a handshaken connection and waits for its success.
pub fn connected_over(mut stream: TcpStream) -> io::Result<TcpStream> {
    let port = stream.peer_addr()?.port();
    let properties = Object::new()
        .with("app", "live")
        .with("tcUrl", format!("rtmp://127.0.0.1:{port}/live"));
    let connect = Message::Command(AmfCommand::new(
        "connect",
        1.0,
        Value::Object(properties),
        vec![],
    ));
    stream.write_all(&chunks(3, 0, &connect))?;
    read_until(&mut stream, b"NetConnection.Connect.Success")?;
    Ok(stream)
}

/// A connection publishing `name` on message stream 1.
pub fn raw_publisher(port: u16, name: &str) -> io::Result<TcpStream> {
    publishing_over(connected(port)?, name)
}

/// Creates a stream and publishes `name` on it (message stream 1) on a connected connection.
pub fn publishing_over(mut stream: TcpStream, name: &str) -> io::Result<TcpStream> {
    stream.write_all(&chunks(3, 0, &command("createStream", 2.0, vec![])))?;
    let publish = command("publish", 3.0, vec![name.into(), "live".into()]);
    stream.write_all(&chunks(8, 1, &publish))?;
    read_until(&mut stream, b"NetStream.Publish.Start")?;
    Ok(stream)
}

/// Whether the server ended `stream` within `timeout`: a read returns end of file or a reset.
/// What it sent before is skipped.
pub fn ended_within(stream: &mut TcpStream, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut buffer = vec![0u8; 65536];
    if stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .is_err()
    {
        return true;
    }
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

/// Whether the server ended `stream` within `timeout` while we keep sending `more` and read
/// nothing (what the server sent before its end would be read first: only a failed write
/// tells, without reading).
pub fn ended_while_asking(stream: &mut TcpStream, more: &[u8], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    if stream
        .set_write_timeout(Some(Duration::from_millis(100)))
        .is_err()
    {
        return true;
    }
    while Instant::now() < deadline {
        match stream.write_all(more) {
            Ok(()) => std::thread::sleep(Duration::from_millis(5)),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// The partial-message attack: `count` connections, on threads of their own, each send one
/// video message announced at the largest length (0xFFFFFF, 16 MiB) but its last byte, in
/// 64 KiB chunks (after a SetChunkSize of 65536), and return the connection, still open. Each
/// stops at its first failed write (the server closed it, or, nginx-rtmp, refused the length).
pub fn partial_messages(port: u16, count: usize) -> Vec<TcpStream> {
    let attackers: Vec<JoinHandle<Option<TcpStream>>> = (0..count)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = handshaken(port).ok()?;
                let length = 0xFF_FFFF_usize;
                // SetChunkSize 65536 on chunk stream 2, then a video header on chunk stream 6.
                let mut bytes = vec![0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 1, 0, 0];
                bytes.extend_from_slice(&[0x06, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0]);
                let chunk = vec![0x27u8; 65536];
                let mut left = length - 1;
                let mut first = true;
                let _ = (|| -> io::Result<()> {
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
                Some(stream)
            })
        })
        .collect();
    attackers
        .into_iter()
        .filter_map(|attacker| attacker.join().ok().flatten())
        .collect()
}

/// What a flood of tiny messages did.
pub struct Flood {
    /// The attacker's connection, still open (unless the server closed it).
    pub stream: TcpStream,
    /// Bytes of the flood written.
    pub sent: usize,
}

/// The tiny-message flood: a publisher of `name` sends `total` bytes of messages each of
/// which is `message`: a one-byte fmt 3 header on chunk stream 6 (`0xC6`) and what follows it
/// as the payload (nothing: empty video messages; one byte: one-byte video messages).
pub fn tiny_flood(port: u16, name: &str, message: &[u8], total: usize) -> io::Result<Flood> {
    let mut stream = raw_publisher(port, name)?;
    let length = (message.len() - 1) as u8;
    let mut header = vec![0x06, 0, 0, 0, 0, 0, length, 9, 1, 0, 0, 0];
    header.extend_from_slice(&message[1..]);
    let flood: Vec<u8> = message.repeat(total / message.len());
    stream.write_all(&header)?;
    let mut sent = 0;
    for piece in flood.chunks(64 * 1024) {
        if stream.write_all(piece).is_err() {
            break;
        }
        sent += piece.len();
    }
    Ok(Flood { stream, sent })
}

impl Flood {
    /// Sends a ping request and waits (at most `timeout`) for its answer: the server has then
    /// decoded the whole flood.
    pub fn drained(&mut self, timeout: Duration) -> io::Result<()> {
        let ping = Message::UserControl(UserControl::PingRequest {
            timestamp: 0x5EED_5EED,
        });
        self.stream.write_all(&chunks(2, 0, &ping))?;
        let answer = [0, 7, 0x5E, 0xED, 0x5E, 0xED];
        read_until_within(&mut self.stream, &answer, timeout)
    }
}

/// Requests whose answers a peer never reads.
#[derive(Clone, Copy, Debug)]
pub enum Unread {
    /// Ping requests (user control 6), each answered by a ping response.
    Pings,
    /// `createStream` commands, each answered by `_result`.
    CreateStreams,
}

/// What an unread-answers attack did.
pub struct UnreadOutcome {
    /// Bytes of requests written before the server stopped taking them.
    pub sent: usize,
    /// Bytes the flood held.
    pub flood: usize,
    /// Whether the server hung up within the 5 s the attacker kept asking.
    pub hung_up: bool,
}

/// The unread-answers attack: a publisher of `name` on a connection with small kernel buffers
/// sends `count` requests of `kind` and reads nothing, then keeps asking for up to 5 s; the
/// server should hang up.
pub fn unread_answers(
    port: u16,
    name: &str,
    kind: Unread,
    count: usize,
) -> io::Result<UnreadOutcome> {
    let (first, unit) = match kind {
        Unread::Pings => {
            let ping = Message::UserControl(UserControl::PingRequest { timestamp: 1 });
            let first = chunks(2, 0, &ping);
            // Each further ping: a one-byte fmt 3 header on chunk stream 2, the same payload.
            let again: Vec<u8> = [&[0xC2u8][..], &first[12..]].concat();
            (first, again)
        }
        Unread::CreateStreams => {
            let create = chunks(3, 0, &command("createStream", 2.0, vec![]));
            (create.clone(), create)
        }
    };
    let mut flood = first;
    flood.extend(unit.repeat(count.saturating_sub(1)));
    // A publisher: no connect or publish deadline ends it, only what it does.
    let mut stream = publishing_over(connected_over(small_buffered(port)?)?, name)?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut sent = 0;
    for piece in flood.chunks(64 * 1024) {
        if stream.write_all(piece).is_err() {
            break;
        }
        sent += piece.len();
    }
    // The kernel takes all that (the server's receive buffer grows to tens of MiB): the
    // server's answer to it is its hanging up, which a write tells, while we keep asking.
    let more = unit.repeat(64 * 1024 / unit.len());
    let hung_up = ended_while_asking(&mut stream, &more, Duration::from_secs(5));
    Ok(UnreadOutcome {
        sent,
        flood: flood.len(),
        hung_up,
    })
}
