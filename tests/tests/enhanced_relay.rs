//! Enhanced RTMP through both relay servers, each the example program run as a child process
//! (rtmp-tokio's `server`, rtmp-std's `std_server`), against real peers: FFmpeg 9 publishes
//! HEVC, AV1 and VP9 (with AAC or Opus) and a stream of two video and two audio tracks, and
//! FFmpeg 9, Debian's FFmpeg 5.1, rtmpdump and our `record` example play. Every track that
//! comes out is packet for packet one that went in (see `assert_same_tracks`).
//!
//! The servers take `--listen ADDR` and `--multitrack all|capable`: with `capable` (the
//! default) only a player that announced multitrack support gets the tracks past the first,
//! and the others (FFmpeg of any version, rtmpdump: none announces it) a plain single-track
//! stream; with `all` every player gets every track.
//!
//! The example binaries are not built by `cargo test -p rtmp-tests`; `cargo test --workspace`
//! builds them, as does `cargo build -p rtmp-tokio --example server --example record -p
//! rtmp-std --example std_server`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rtmp_tests::ffmpeg9::{
    assert_same_tracks, decode_errors9, ffmpeg9, play_every_track, publish_every_track, tracks,
    Clip, Track,
};
use rtmp_tests::peers::{example_binary, free_port, require, wait_for_port, Process, TempDir};
use rtmp_tests::peers_more::{decode_errors, rtmpdump_play, wait_for_clients};

/// Time left to players, once connected, to send their `play` (a few round trips on
/// loopback): they must be playing before the publisher starts, to get everything.
const SETTLE: Duration = Duration::from_millis(500);
/// How long after the publisher connects a late joiner starts: half the clip.
const JOIN_AFTER: Duration = Duration::from_secs(2);
/// The longest a publisher or player takes past the clip's real-time length.
const RUN: Duration = Duration::from_secs(20);
/// How many packets of a track an ffmpeg player may leave unwritten when it stops.
const FFMPEG_TAIL: usize = 4;

/// One of the two relay server examples.
#[derive(Clone, Copy, Debug)]
enum Server {
    /// rtmp-tokio's `examples/server`.
    Tokio,
    /// rtmp-std's `examples/std_server.rs`.
    Std,
}

/// The server's `--multitrack` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Multitrack {
    /// Not given: the default, `capable`.
    Default,
    /// `--multitrack all`.
    All,
}

/// A relay server example serving on 127.0.0.1 until dropped.
struct Relay {
    port: u16,
    _process: Process,
}

impl Relay {
    fn start(server: Server, multitrack: Multitrack) -> Relay {
        let binary = match server {
            Server::Tokio => example_binary("rtmp-tokio", "server"),
            Server::Std => example_binary("rtmp-std", "std_server"),
        };
        let port = free_port();
        let mut command = Command::new(binary);
        command.arg("--listen").arg(format!("127.0.0.1:{port}"));
        if multitrack == Multitrack::All {
            command.args(["--multitrack", "all"]);
        }
        let process = Process::spawn(&format!("{server:?} relay server"), &mut command);
        if std::panic::catch_unwind(|| wait_for_port(port, Duration::from_secs(5))).is_err() {
            let output = process.stop();
            panic!(
                "the {server:?} relay server ({command:?}) does not listen ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Relay {
            port,
            _process: process,
        }
    }

    /// `rtmp://127.0.0.1:PORT/live/NAME`.
    fn url(&self, name: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{name}", self.port)
    }

    /// Waits until `count` players have connected, and a little more for them to play.
    fn wait_for_players(&self, count: usize) {
        wait_for_clients(self.port, count, Duration::from_secs(10));
        std::thread::sleep(SETTLE);
    }
}

/// Waits for a peer to end by itself, successfully.
fn assert_ends_well(process: Process, what: &str) {
    let output = process.wait(RUN);
    assert!(
        output.status.success(),
        "{what} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The first sent track of each media type: FLV track 0, which FFmpeg sends in legacy form.
fn track_0(sent: &[Track]) -> Vec<usize> {
    let first = |media_type: &str| {
        sent.iter()
            .position(|t| t.media_type == media_type)
            .unwrap_or_else(|| panic!("the clip has no {media_type}"))
    };
    vec![first("video"), first("audio")]
}

/// Asserts that a player that was there before the publisher got every packet of `wanted`.
fn assert_got_everything(sent: &[Track], wanted: &[usize], file: &Path, tail: usize) {
    let starts = assert_same_tracks(sent, wanted, &tracks(file), tail);
    assert!(
        starts.iter().all(|&start| start == 0),
        "{}: a player playing before the publisher started misses the first packets: \
         the tracks start at sent packets {starts:?}",
        file.display()
    );
}

/// Asserts that a player that joined mid-stream got `wanted` from a keyframe on.
fn assert_joined_mid_stream(sent: &[Track], wanted: &[usize], file: &Path, tail: usize) {
    let starts = assert_same_tracks(sent, wanted, &tracks(file), tail);
    for (&index, &start) in wanted.iter().zip(&starts) {
        if sent[index].media_type == "video" {
            assert!(
                start > 0,
                "{}: the player did not join mid-stream (video starts at sent packet {start})",
                file.display()
            );
        }
    }
}

fn enhanced_codecs_reach_ffmpeg9_unchanged(server: Server) {
    let dir = TempDir::new("enhanced-codecs");
    let clips = Clip::ENHANCED.map(|clip| (clip, clip.path()));
    let relay = Relay::start(server, Multitrack::Default);
    let ffmpeg = ffmpeg9();
    let players: Vec<(PathBuf, Process)> = clips
        .iter()
        .map(|(clip, _)| {
            let out = dir.path().join(format!("{}.flv", clip.name()));
            let label = format!("ffmpeg 9 (play {})", clip.name());
            let player = play_every_track(&ffmpeg, &label, &relay.url(clip.name()), &out);
            (out, player)
        })
        .collect();
    relay.wait_for_players(players.len());
    let publishers: Vec<Process> = clips
        .iter()
        .map(|(clip, path)| publish_every_track(path, &relay.url(clip.name())))
        .collect();
    for (publisher, (clip, _)) in publishers.into_iter().zip(&clips) {
        assert_ends_well(publisher, &format!("publishing {}", clip.name()));
    }
    for ((out, player), (clip, path)) in players.into_iter().zip(&clips) {
        assert_ends_well(player, &format!("playing {}", clip.name()));
        let sent = tracks(path);
        let every: Vec<usize> = (0..sent.len()).collect();
        assert_got_everything(&sent, &every, &out, FFMPEG_TAIL);
        assert_eq!(decode_errors9(&out), "", "{} does not decode", clip.name());
    }
}

fn multitrack_all_gives_ffmpeg9_every_track(server: Server) {
    let dir = TempDir::new("multitrack-all");
    let clip = Clip::Multitrack.path();
    let relay = Relay::start(server, Multitrack::All);
    let url = relay.url("tracks");
    let out = dir.path().join("ffmpeg9.flv");
    let player = play_every_track(&ffmpeg9(), "ffmpeg 9 (play)", &url, &out);
    relay.wait_for_players(1);
    assert_ends_well(publish_every_track(&clip, &url), "publishing");
    assert_ends_well(player, "FFmpeg 9 playing");
    let sent = tracks(&clip);
    assert_eq!(sent.len(), 4, "the clip's tracks: {sent:?}");
    assert_got_everything(&sent, &[0, 1, 2, 3], &out, FFMPEG_TAIL);
    assert_eq!(decode_errors9(&out), "", "the tracks do not decode");
}

fn multitrack_capable_gives_other_players_track_0(server: Server) {
    let dir = TempDir::new("multitrack-capable");
    let clip = Clip::Multitrack.path();
    let relay = Relay::start(server, Multitrack::Default);
    let url = relay.url("tracks");
    let by_ffmpeg9 = dir.path().join("ffmpeg9.flv");
    let by_ffmpeg5 = dir.path().join("ffmpeg5.flv");
    let by_rtmpdump = dir.path().join("rtmpdump.flv");
    let ffmpeg9_player = play_every_track(&ffmpeg9(), "ffmpeg 9 (play)", &url, &by_ffmpeg9);
    let ffmpeg5_player = play_every_track(&require("ffmpeg"), "ffmpeg (play)", &url, &by_ffmpeg5);
    let rtmpdump = rtmpdump_play(&url, &by_rtmpdump);
    relay.wait_for_players(3);
    assert_ends_well(publish_every_track(&clip, &url), "publishing");
    assert_ends_well(ffmpeg9_player, "FFmpeg 9 playing");
    assert_ends_well(ffmpeg5_player, "FFmpeg 5.1 playing");
    // rtmpdump ends on NetStream.Play.UnpublishNotify, with a status of its own choosing.
    let rtmpdump = rtmpdump.wait(RUN);
    assert!(
        by_rtmpdump.is_file(),
        "rtmpdump ({}): {}",
        rtmpdump.status,
        String::from_utf8_lossy(&rtmpdump.stderr)
    );

    let sent = tracks(&clip);
    let wanted = track_0(&sent);
    for (file, tail) in [
        (&by_ffmpeg9, FFMPEG_TAIL),
        (&by_ffmpeg5, FFMPEG_TAIL),
        (&by_rtmpdump, 0),
    ] {
        assert_got_everything(&sent, &wanted, file, tail);
        assert_eq!(
            decode_errors(file),
            "",
            "{} does not decode cleanly with FFmpeg 5.1",
            file.display()
        );
    }
}

fn a_late_ffmpeg9_gets_every_track_from_keyframes(server: Server) {
    let dir = TempDir::new("multitrack-late");
    let clip = Clip::Multitrack.path();
    let relay = Relay::start(server, Multitrack::All);
    let url = relay.url("tracks");
    let publisher = publish_every_track(&clip, &url);
    wait_for_clients(relay.port, 1, Duration::from_secs(10));
    std::thread::sleep(JOIN_AFTER);
    let out = dir.path().join("late.flv");
    let player = play_every_track(&ffmpeg9(), "ffmpeg 9 (play, late)", &url, &out);
    assert_ends_well(publisher, "publishing");
    assert_ends_well(player, "FFmpeg 9 playing");
    let sent = tracks(&clip);
    assert_joined_mid_stream(&sent, &[0, 1, 2, 3], &out, FFMPEG_TAIL);
    assert_eq!(decode_errors9(&out), "", "the tracks do not decode");
}

fn the_record_example_joining_late_writes_every_track(server: Server) {
    let dir = TempDir::new("multitrack-record");
    let clip = Clip::Multitrack.path();
    let record = example_binary("rtmp-tokio", "record");
    // The default, capable: the record example says it takes multitrack.
    let relay = Relay::start(server, Multitrack::Default);
    let url = relay.url("tracks");
    let publisher = publish_every_track(&clip, &url);
    wait_for_clients(relay.port, 1, Duration::from_secs(10));
    std::thread::sleep(JOIN_AFTER);
    let out = dir.path().join("recorded.flv");
    let recorder = Process::spawn("record example", Command::new(record).arg(&url).arg(&out));
    assert_ends_well(publisher, "publishing");
    assert_ends_well(recorder, "the record example");
    let sent = tracks(&clip);
    assert_joined_mid_stream(&sent, &[0, 1, 2, 3], &out, 0);
    assert_eq!(decode_errors9(&out), "", "the tracks do not decode");
}

/// Each test, once against each server.
macro_rules! on_both_servers {
    ($($test:ident),* $(,)?) => {
        mod tokio_server {
            $(#[test] fn $test() { super::$test(super::Server::Tokio) })*
        }
        mod std_server {
            $(#[test] fn $test() { super::$test(super::Server::Std) })*
        }
    };
}

on_both_servers!(
    enhanced_codecs_reach_ffmpeg9_unchanged,
    multitrack_all_gives_ffmpeg9_every_track,
    multitrack_capable_gives_other_players_track_0,
    a_late_ffmpeg9_gets_every_track_from_keyframes,
    the_record_example_joining_late_writes_every_track,
);
