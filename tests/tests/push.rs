//! Push (forward): the tokio relay server example (a child process on 127.0.0.1) started with
//! `--push`, ffmpeg publishing to it, and the upstreams (nginx-rtmp, a second relay of ours)
//! played by ffmpeg: every packet from the first keyframe, also when an upstream is down at
//! the start or is killed and restarted mid-stream (then its players get a clean stream from
//! a keyframe).
//!
//! The example binary is built by `cargo build -p rtmp-tokio --example server`.

use std::process::Command;
use std::time::Duration;

use rtmp_tests::peers::{
    example_binary, free_port, make_clip, probe_packets, wait_for_port, Nginx, Process, TempDir,
};
use rtmp_tests::peers_more::{
    assert_clean_run, assert_same_packets, ffmpeg_play, ffmpeg_publish, rtmpdump_play,
    wait_until_still,
};

const RUN: Duration = Duration::from_secs(30);

/// The relay server example on 127.0.0.1:`port` with `flags`.
fn relay(port: u16, flags: &[&str]) -> Process {
    let mut command = Command::new(example_binary("rtmp-tokio", "server"));
    command.arg("--listen").arg(format!("127.0.0.1:{port}"));
    command.args(flags);
    let process = Process::spawn("relay server", &mut command);
    wait_for_port(port, Duration::from_secs(5));
    process
}

fn url(port: u16, name: &str) -> String {
    format!("rtmp://127.0.0.1:{port}/live/{name}")
}

#[test]
fn a_stream_pushed_to_nginx_and_to_a_second_relay_arrives_whole_at_both() {
    let dir = TempDir::new("push-both");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let nginx = Nginx::start(4096);
    let upstream_port = free_port();
    let _upstream = relay(upstream_port, &[]);
    let port = free_port();
    let nginx_app = format!("rtmp://127.0.0.1:{}/live", nginx.port);
    let relay_app = format!("rtmp://127.0.0.1:{upstream_port}/live");
    let _origin = relay(port, &["--push", &nginx_app, "--push", &relay_app]);

    let from_nginx = dir.path().join("nginx.flv");
    let from_relay = dir.path().join("relay.flv");
    let dumped_from_nginx = dir.path().join("nginx-rtmpdump.flv");
    let dumped_from_relay = dir.path().join("relay-rtmpdump.flv");
    let nginx_player = ffmpeg_play(&nginx.url("cam"), &from_nginx);
    let relay_player = ffmpeg_play(&url(upstream_port, "cam"), &from_relay);
    let nginx_dumper = rtmpdump_play(&nginx.url("cam"), &dumped_from_nginx);
    let relay_dumper = rtmpdump_play(&url(upstream_port, "cam"), &dumped_from_relay);
    std::thread::sleep(Duration::from_millis(700));
    let output = ffmpeg_publish(&clip, &url(port, "cam")).wait(RUN);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let relay_output = relay_player.wait(RUN);
    assert!(
        relay_output.status.success(),
        "{}",
        String::from_utf8_lossy(&relay_output.stderr)
    );
    let _ = relay_dumper.wait(RUN);
    // nginx-rtmp keeps its player's connection open after the unpublish: closed once its
    // output has stopped growing.
    wait_until_still(&from_nginx);
    // Stopping nginx ends the connection: ffmpeg writes what it still holds and ends.
    drop(nginx);
    let _ = nginx_player.wait(Duration::from_secs(10));
    let _ = nginx_dumper.wait(Duration::from_secs(10));

    let sent = probe_packets(&clip.to_string_lossy());
    // ffmpeg's muxer interleaves by decoding time and may keep its last few packets queued
    // when it stops (as in every interop test); rtmpdump writes each packet as it arrives, so
    // its files must hold every packet, to the last.
    assert_same_packets(&sent, &probe_packets(&from_relay.to_string_lossy()), 4);
    assert_same_packets(
        &sent,
        &probe_packets(&dumped_from_relay.to_string_lossy()),
        0,
    );
    // nginx-rtmp's players start at the first video keyframe, from there every packet.
    assert_clean_run(&sent, &probe_packets(&from_nginx.to_string_lossy()), 4);
    assert_clean_run(
        &sent,
        &probe_packets(&dumped_from_nginx.to_string_lossy()),
        0,
    );
}

#[test]
fn an_upstream_down_at_the_start_or_restarted_mid_stream_is_reached_again_from_a_keyframe() {
    let dir = TempDir::new("push-again");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 10, 25);
    let sent = probe_packets(&clip.to_string_lossy());
    let upstream_port = free_port();
    let port = free_port();
    let relay_app = format!("rtmp://127.0.0.1:{upstream_port}/live");
    let origin = relay(port, &["--push", &relay_app]);
    let publisher = ffmpeg_publish(&clip, &url(port, "cam"));

    // Down at the start: up 1.5 s into the stream.
    std::thread::sleep(Duration::from_millis(1500));
    let upstream = relay(upstream_port, &[]);
    let first = dir.path().join("first.flv");
    let player = ffmpeg_play(&url(upstream_port, "cam"), &first);
    std::thread::sleep(Duration::from_millis(3000));
    // Killed mid-stream and back 1 s later.
    let _ = upstream.stop();
    let _ = player.stop();
    std::thread::sleep(Duration::from_millis(1000));
    let _upstream = relay(upstream_port, &[]);
    let second = dir.path().join("second.flv");
    let player = ffmpeg_play(&url(upstream_port, "cam"), &second);

    let output = publisher.wait(RUN);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let played = player.wait(RUN);
    assert!(
        played.status.success(),
        "{}",
        String::from_utf8_lossy(&played.stderr)
    );
    let received = probe_packets(&second.to_string_lossy());
    assert!(
        received.len() > 100,
        "only {} packets after the restart",
        received.len()
    );
    // A player joining mid-stream may stop with its last audio packets still in its
    // interleaving queue.
    assert_clean_run(&sent, &received, 4);
    // The first player, killed with the upstream, got a clean start too.
    let first_received = probe_packets(&first.to_string_lossy());
    if first_received.len() > 10 {
        assert_clean_run(&sent, &first_received, sent.len());
    }
    let log = String::from_utf8_lossy(&origin.stop().stderr).into_owned();
    assert!(log.contains("upstream failed"), "{log}");
}

#[test]
fn a_push_url_that_does_not_parse_is_a_startup_error_naming_the_flag() {
    let output = Process::spawn(
        "relay server",
        Command::new(example_binary("rtmp-tokio", "server")).args([
            "--listen",
            "127.0.0.1:0",
            "--push",
            "http://x/live",
        ]),
    )
    .wait(Duration::from_secs(10));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--push http://x/live"), "{stderr}");
}
