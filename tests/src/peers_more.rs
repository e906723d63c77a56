//! More ways to run the real peers: ffmpeg and rtmpdump as players and publishers, and a
//! decoding check. Like [`peers`](crate::peers), every process is stopped when dropped.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::peers::{probe_packets, require, Packet, Process};

/// `ffmpeg -re -i CLIP -c copy -f flv URL`: publishes `clip` in real time.
pub fn ffmpeg_publish(clip: &Path, url: &str) -> Process {
    Process::spawn(
        "ffmpeg (publish)",
        Command::new(require("ffmpeg"))
            .args(["-hide_banner", "-loglevel", "error", "-re", "-i"])
            .arg(clip)
            .args(["-c", "copy", "-f", "flv"])
            .arg(url),
    )
}

/// `ffmpeg -i URL -c copy OUT.flv`: plays `url` and writes each packet as it comes.
pub fn ffmpeg_play(url: &str, out: &Path) -> Process {
    ffmpeg_play_with(url, &[], out)
}

/// [`ffmpeg_play`] with more input options, e.g. `["-tls_verify", "0"]` for `rtmps://`.
pub fn ffmpeg_play_with(url: &str, input_options: &[&str], out: &Path) -> Process {
    Process::spawn(
        "ffmpeg (play)",
        Command::new(require("ffmpeg"))
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-rw_timeout",
                "15000000",
            ])
            .args(input_options)
            .arg("-i")
            .arg(url)
            .args(["-c", "copy", "-flush_packets", "1", "-f", "flv"])
            .arg(out),
    )
}

/// `ffmpeg -listen 1 -i rtmp://127.0.0.1:PORT/live/x -c copy OUT.flv`: ffmpeg as a
/// single-client server, recording what is published to it.
pub fn ffmpeg_listen(port: u16, out: &Path) -> Process {
    Process::spawn(
        "ffmpeg (listen)",
        Command::new(require("ffmpeg"))
            .args(["-hide_banner", "-loglevel", "error", "-listen", "1"])
            .args(["-rw_timeout", "20000000", "-i"])
            .arg(format!("rtmp://127.0.0.1:{port}/live/x"))
            .args(["-c", "copy", "-f", "flv"])
            .arg(out),
    )
}

/// `rtmpdump --live -r URL -o OUT.flv`: librtmp's player, which ends on
/// NetStream.Play.UnpublishNotify.
pub fn rtmpdump_play(url: &str, out: &Path) -> Process {
    Process::spawn(
        "rtmpdump",
        Command::new(require("rtmpdump"))
            .args(["--quiet", "--live", "--timeout", "15", "-r"])
            .arg(url)
            .arg("-o")
            .arg(out),
    )
}

/// What ffmpeg says when decoding every frame of `path` (empty if it decodes cleanly).
pub fn decode_errors(path: &Path) -> String {
    let output = Process::spawn(
        "ffmpeg (decode)",
        Command::new(require("ffmpeg"))
            .args(["-hide_banner", "-loglevel", "error", "-i"])
            .arg(path)
            .args(["-f", "null", "-"]),
    )
    .wait(Duration::from_secs(60));
    let mut errors = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        errors.push_str(&format!("\nexit status {}", output.status));
    }
    errors
}

/// Each packet as `type hash`, for comparing streams packet by packet.
pub fn packet_hashes(packets: &[Packet]) -> Vec<String> {
    packets
        .iter()
        .map(|p| format!("{} {}", p.codec_type, p.data_hash))
        .collect()
}

/// Asserts that `received` is `sent` packet for packet, except that up to `tail` packets may
/// be missing at the end (a player stopped with packets still in its interleaving queue).
pub fn assert_same_packets(sent: &[Packet], received: &[Packet], tail: usize) {
    let (sent, received) = (packet_hashes(sent), packet_hashes(received));
    assert!(sent.len() > 100, "the clip has only {} packets", sent.len());
    assert!(
        received.len() + tail >= sent.len() && received.len() <= sent.len(),
        "sent {} packets, received {}",
        sent.len(),
        received.len()
    );
    let first_difference = sent.iter().zip(&received).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "packets differ");
}

/// ffmpeg and rtmpdump playing the same URL into files of their own, for tests that check
/// both got every packet published.
pub struct FfmpegAndRtmpdump {
    ffmpeg: Process,
    rtmpdump: Process,
    /// What ffmpeg wrote.
    pub by_ffmpeg: PathBuf,
    /// What rtmpdump wrote.
    pub by_rtmpdump: PathBuf,
}

impl FfmpegAndRtmpdump {
    /// Starts both players of `url`, writing into `dir`.
    pub fn play(url: &str, dir: &Path) -> Self {
        let by_ffmpeg = dir.join("ffmpeg.flv");
        let by_rtmpdump = dir.join("rtmpdump.flv");
        FfmpegAndRtmpdump {
            ffmpeg: ffmpeg_play(url, &by_ffmpeg),
            rtmpdump: rtmpdump_play(url, &by_rtmpdump),
            by_ffmpeg,
            by_rtmpdump,
        }
    }

    /// Waits for both to end by themselves (the server told them the publisher left, after
    /// the last media) and checks that each file holds `clip`'s packets in order: ffmpeg's
    /// muxer interleaves by decoding time and may keep its last few packets queued when it
    /// stops; rtmpdump writes each as it arrives, so its file matches only if the server kept
    /// the publisher's interleaving.
    pub fn assert_got_every_packet_of(self, clip: &Path) {
        let ffmpeg = self.ffmpeg.wait(Duration::from_secs(15));
        assert!(
            ffmpeg.status.success(),
            "{}",
            String::from_utf8_lossy(&ffmpeg.stderr)
        );
        let rtmpdump = self.rtmpdump.wait(Duration::from_secs(15));
        assert!(
            self.by_rtmpdump.exists(),
            "rtmpdump ({}): {}",
            rtmpdump.status,
            String::from_utf8_lossy(&rtmpdump.stderr)
        );
        let sent = probe_packets(&clip.to_string_lossy());
        let by_ffmpeg = probe_packets(&self.by_ffmpeg.to_string_lossy());
        assert_same_packets(&sent, &by_ffmpeg, 4);
        let by_rtmpdump = probe_packets(&self.by_rtmpdump.to_string_lossy());
        assert_same_packets(&sent, &by_rtmpdump, 0);
    }
}

/// A file made once per machine and then shared by every test (in any process) that asks for
/// it: `temp_dir()/rtmp-test-files/STEM-HASH.EXT`, where `name` is `STEM.EXT` and `HASH` hashes
/// `recipe` (the program and arguments that make the file), so a changed recipe makes a new
/// file instead of reusing a stale one. The first caller runs `make`, which must write the file
/// at the path it is given: a temporary name in the same directory, renamed once `make` has
/// returned, so no test ever reads a half-written file. Two tests that both find the file
/// missing both make it, and the last rename wins; either result is a whole file.
pub fn made_once(name: &str, recipe: &[String], make: impl FnOnce(&Path)) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join("rtmp-test-files");
    std::fs::create_dir_all(&dir).expect("create the directory of shared test files");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    recipe.hash(&mut hasher);
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    let path = dir.join(format!("{stem}-{:016x}.{extension}", hasher.finish()));
    if path.is_file() {
        return path;
    }
    let partial = dir.join(format!(
        ".{stem}-{}-{}.partial",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    make(&partial);
    let made = std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
    assert!(
        made > 0,
        "making {name} wrote nothing at {}",
        partial.display()
    );
    std::fs::rename(&partial, &path).expect("move a made file into place");
    path
}

/// How many TCP connections from 127.0.0.1 to 127.0.0.1:`port` are established now (the
/// client ends, as `/proc/net/tcp` lists them; Linux only).
pub fn clients_of(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let server = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st ...; state 01 is ESTABLISHED.
            fields.get(2) == Some(&server.as_str()) && fields.get(3) == Some(&"01")
        })
        .count()
}

/// Waits (at most `timeout`) until at least `count` clients are connected to 127.0.0.1:`port`.
pub fn wait_for_clients(port: u16, count: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while clients_of(port) < count {
        assert!(
            Instant::now() < deadline,
            "{} of {count} clients connected to port {port} after {timeout:?}",
            clients_of(port)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `received` is `sent` from a video keyframe on, per media type: its video is the sent video
/// from that keyframe to the end, its audio a contiguous run of the sent audio to the end (the
/// player interleaves by timestamp, so audio just before the keyframe may come with it); up to
/// `tail` packets of each may be missing at the end. Packets are matched by MD5 and by
/// timestamp (the test tone repeats, so audio hashes do), the player's timestamps shifted to
/// start at 0 as ffmpeg writes them.
pub fn assert_clean_run(sent: &[Packet], received: &[Packet], tail: usize) {
    let of = |packets: &[Packet], kind: &str| -> Vec<Packet> {
        packets
            .iter()
            .filter(|p| p.codec_type == kind)
            .cloned()
            .collect()
    };
    let (sent_video, received_video) = (of(sent, "video"), of(received, "video"));
    assert!(!received_video.is_empty(), "no video received");
    assert!(
        received_video[0].flags.contains('K'),
        "the first video packet is not a keyframe"
    );
    let keyframe = sent_video
        .iter()
        .position(|p| p.data_hash == received_video[0].data_hash)
        .expect("the first video packet received was sent");
    let offset = sent_video[keyframe].dts - received_video[0].dts;
    for kind in ["video", "audio"] {
        let (sent, received) = (of(sent, kind), of(received, kind));
        assert!(!received.is_empty(), "no {kind} received");
        let start = sent
            .iter()
            .position(|p| p.dts == received[0].dts + offset && p.data_hash == received[0].data_hash)
            .unwrap_or_else(|| panic!("the first {kind} packet received was not sent"));
        let (sent, received) = (packet_hashes(&sent[start..]), packet_hashes(&received));
        assert_eq!(
            sent.iter().zip(&received).position(|(a, b)| a != b),
            None,
            "{kind} packets differ"
        );
        assert!(
            received.len() + tail >= sent.len() && received.len() <= sent.len(),
            "{kind} from the start: sent {} packets, received {}",
            sent.len(),
            received.len()
        );
    }
}

/// Waits (at most 20 s) until `file` has not grown for 1.5 s.
pub fn wait_until_still(file: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut last = (0, std::time::Instant::now());
    while std::time::Instant::now() < deadline {
        let size = std::fs::metadata(file).map_or(0, |m| m.len());
        if size != last.0 {
            last = (size, std::time::Instant::now());
        } else if size > 0 && last.1.elapsed() > Duration::from_millis(1500) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
