//! Real peers for interop tests: nginx-rtmp, ffmpeg, ffprobe and rtmpdump, started on loopback
//! and always stopped. A peer that is not installed fails the test loudly (never a silent skip):
//! `.ci/run` installs them from Debian's packages.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The path of `program`, or a panic naming the Debian package that provides it.
pub fn require(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        let package = match program {
            "ffmpeg" | "ffprobe" => "ffmpeg",
            "nginx" => "nginx libnginx-mod-rtmp",
            other => other,
        };
        panic!("{program} is not installed: apt-get install {package} (bash .ci/run does)")
    })
}

/// A free TCP port on 127.0.0.1 (the OS picks one; it is free when this returns).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on port {port} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A directory removed, with everything in it, when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory under the system's temporary directory.
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "rtmp-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (and reaped) when dropped, so no test leaves one behind.
pub struct Process {
    child: Child,
    name: String,
}

impl Process {
    /// Starts `command` with its output captured.
    pub fn spawn(name: &str, command: &mut Command) -> Process {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Process {
            child,
            name: name.to_string(),
        }
    }

    /// The process id, e.g. to read `/proc/PID/status`.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit, at most `timeout`; kills it and panics past that.
    /// Its output is read meanwhile: a process that prints more than a pipe holds (ffprobe
    /// listing the packets of a long clip) would otherwise block on a full pipe forever.
    pub fn wait(mut self, timeout: Duration) -> Output {
        let stdout = self.child.stdout.take().map(read_in_background);
        let stderr = self.child.stderr.take().map(read_in_background);
        let collect = |reader: Option<JoinHandle<Vec<u8>>>| {
            reader
                .map(|reader| reader.join().unwrap_or_default())
                .unwrap_or_default()
        };
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll a child process") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = String::from_utf8_lossy(&collect(stderr)).into_owned();
                panic!("{} did not finish within {timeout:?}: {stderr}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output {
            status,
            stdout: collect(stdout),
            stderr: collect(stderr),
        }
    }

    /// Stops the process now (SIGKILL) and returns what it printed.
    pub fn stop(mut self) -> Output {
        let _ = self.child.kill();
        let status = self.child.wait().expect("reap a child process");
        self.output(status)
    }

    fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(stderr) = self.child.stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }

    fn output(&mut self, status: ExitStatus) -> Output {
        let mut stdout = Vec::new();
        if let Some(out) = self.child.stdout.as_mut() {
            let _ = out.read_to_end(&mut stdout);
        }
        let stderr = self.stderr().into_bytes();
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

/// Reads `pipe` to its end in a thread of its own.
fn read_in_background(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx with the RTMP module, serving `live` (live on) on a loopback port, in the foreground
/// as a child process of the test.
pub struct Nginx {
    /// The RTMP port.
    pub port: u16,
    _process: Process,
    _dir: TempDir,
}

impl Nginx {
    /// Starts nginx-rtmp with an application `live` and the given out chunk size.
    pub fn start(chunk_size: u32) -> Nginx {
        Nginx::start_with_applications(chunk_size, "")
    }

    /// Starts nginx-rtmp with the application `live` and an application `vod` that plays the
    /// recorded files in `directory` (nginx-rtmp's `play` directive): `vod_url("NAME.flv")`
    /// plays `directory/NAME.flv`, and the player may pause and seek.
    pub fn start_with_vod(chunk_size: u32, directory: &Path) -> Nginx {
        let vod = format!("application vod {{ play {}; }}\n", directory.display());
        Nginx::start_with_applications(chunk_size, &vod)
    }

    /// `applications`: configuration blocks put in the server block after `live`.
    fn start_with_applications(chunk_size: u32, applications: &str) -> Nginx {
        let nginx = require("nginx");
        let module = Path::new("/usr/lib/nginx/modules/ngx_rtmp_module.so");
        assert!(
            module.is_file(),
            "the nginx RTMP module is not installed: apt-get install libnginx-mod-rtmp"
        );
        let dir = TempDir::new("nginx");
        let port = free_port();
        let config = format!(
            "load_module {module};\n\
             daemon off;\nmaster_process off;\nworker_processes 1;\n\
             pid {dir}/nginx.pid;\nerror_log {dir}/error.log info;\n\
             events {{ worker_connections 4096; }}\n\
             rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size {chunk_size};\n\
               application live {{ live on; }}\n{applications} }} }}\n",
            module = module.display(),
            dir = dir.path().display(),
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let process = Process::spawn(
            "nginx",
            Command::new(nginx)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&config_path),
        );
        wait_for_port(port, Duration::from_secs(10));
        Nginx {
            port,
            _process: process,
            _dir: dir,
        }
    }

    /// The process id of nginx: with `master_process off` its only process, which is the
    /// worker that serves every connection.
    pub fn pid(&self) -> u32 {
        self._process.id()
    }

    /// `rtmp://127.0.0.1:PORT/live/NAME`.
    pub fn url(&self, name: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{name}", self.port)
    }

    /// `rtmp://127.0.0.1:PORT/vod/NAME`: a file of the directory given to
    /// [`start_with_vod`](Self::start_with_vod).
    pub fn vod_url(&self, name: &str) -> String {
        format!("rtmp://127.0.0.1:{}/vod/{name}", self.port)
    }
}

/// Writes an H.264/AAC FLV test clip: `seconds` of a 160x120 test pattern at 25 fps with a
/// keyframe every `gop` frames, and a tone.
pub fn make_clip(path: &Path, seconds: u32, gop: u32) {
    write_clip(path, seconds, gop, &[]);
}

/// [`make_clip`], with a keyframe index in its `onMetaData` (`keyframes`: `times` and
/// `filepositions`, FFmpeg's `-flvflags add_keyframe_index`): what nginx-rtmp needs to seek in
/// a recorded file (without it, it plays a seeking player from the start again).
pub fn make_seekable_clip(path: &Path, seconds: u32, gop: u32) {
    write_clip(path, seconds, gop, &["-flvflags", "add_keyframe_index"]);
}

fn write_clip(path: &Path, seconds: u32, gop: u32, muxer_options: &[&str]) {
    let output = Process::spawn(
        "ffmpeg (make a clip)",
        Command::new(require("ffmpeg"))
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
            ])
            .arg(format!("testsrc=size=160x120:rate=25:duration={seconds}"))
            .args(["-f", "lavfi", "-i"])
            .arg(format!(
                "sine=frequency=440:sample_rate=44100:duration={seconds}"
            ))
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-g",
            ])
            .arg(gop.to_string())
            .args(["-c:a", "aac", "-b:a", "64k", "-shortest"])
            .args(muxer_options)
            .args(["-f", "flv"])
            .arg(path),
    )
    .wait(Duration::from_secs(60));
    assert!(
        output.status.success(),
        "ffmpeg could not make a clip: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One packet as ffprobe reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// `video` or `audio`.
    pub codec_type: String,
    /// Presentation timestamp in the stream's time base (milliseconds for FLV).
    pub pts: i64,
    /// Decoding timestamp.
    pub dts: i64,
    /// Size in bytes.
    pub size: usize,
    /// `K` for keyframes, with ffprobe's other flags.
    pub flags: String,
    /// MD5 of the packet data.
    pub data_hash: String,
}

/// Every packet of `input` (a file or URL), in order, as ffprobe sees them.
pub fn probe_packets(input: &str) -> Vec<Packet> {
    let output = Process::spawn(
        "ffprobe",
        Command::new(require("ffprobe"))
            .args([
                "-v",
                "error",
                "-show_packets",
                "-show_data_hash",
                "MD5",
                "-of",
                "csv=p=0",
            ])
            .args([
                "-show_entries",
                "packet=codec_type,pts,dts,size,flags,data_hash",
            ])
            .arg(input),
    )
    .wait(Duration::from_secs(60));
    assert!(
        output.status.success(),
        "ffprobe {input}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or_default();
            Packet {
                codec_type: field(0).to_string(),
                pts: field(1).parse().unwrap_or(i64::MIN),
                dts: field(2).parse().unwrap_or(i64::MIN),
                size: field(3).parse().unwrap_or(0),
                flags: field(4).to_string(),
                data_hash: field(5).to_string(),
            }
        })
        .collect()
}

/// An example program of the workspace, `target/PROFILE/examples/NAME`, beside the calling
/// test's binary (`target/PROFILE/deps/TEST-HASH`). `cargo test --workspace` builds every
/// example; `cargo test -p rtmp-tests` does not, hence the message.
pub fn example_binary(package: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/PROFILE/deps");
    let path = profile.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p {package} --example {name}` \
         (`cargo test --workspace` builds every example)",
        path.display()
    );
    path
}
