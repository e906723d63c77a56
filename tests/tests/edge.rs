//! Pull (edge), all on loopback: the tokio relay server example (child processes) started with
//! `--origin`, as an edge of our own relays and of nginx-rtmp, and as the origin of an
//! nginx-rtmp edge (`pull`); failover between two origins, origins that never answer or
//! answer garbage, the upstream closed after the last player leaves, and an `rtmps://`
//! origin trusted with `--origin-ca`. rtmp-std's `std_server` plays the edge in the same
//! tests (three nodes, failover, bad origins, idle close, rtmps). Many players are our own
//! tokio clients in the test process; ffmpeg and rtmpdump check the content.
//!
//! The example binaries are built by `cargo build -p rtmp-tokio --example server` and
//! `cargo build -p rtmp-std --features tls --example std_server` (`cargo test --workspace`
//! builds both).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtmp_tests::peers::{
    example_binary, free_port, make_clip, probe_packets, wait_for_port, Nginx, Process, TempDir,
};
use rtmp_tests::peers_more::{
    assert_clean_run, ffmpeg_publish, made_once, rtmpdump_play, wait_until_still,
};
use rtmp_tokio::client::{Client, ClientOptions, Frame};

const RUN: Duration = Duration::from_secs(30);

/// Which relay server example plays the edge.
#[derive(Clone, Copy, Debug)]
enum Example {
    /// rtmp-tokio's `server`.
    Tokio,
    /// rtmp-std's `std_server`.
    Std,
}

/// The relay server example on 127.0.0.1:`port` with `flags`: the build beside this test,
/// or the binary `RTMP_SERVER` names (a release build, for the latency figures).
fn relay(port: u16, flags: &[&str]) -> Process {
    relay_of(Example::Tokio, port, flags)
}

/// [`relay`] of `example` (`RTMP_SERVER` stands for the tokio one only).
fn relay_of(example: Example, port: u16, flags: &[&str]) -> Process {
    let binary = match example {
        Example::Tokio => std::env::var_os("RTMP_SERVER")
            .map_or_else(|| example_binary("rtmp-tokio", "server"), Into::into),
        Example::Std => example_binary("rtmp-std", "std_server"),
    };
    let mut command = Command::new(binary);
    command.arg("--listen").arg(format!("127.0.0.1:{port}"));
    command.args(flags);
    let process = Process::spawn("relay server", &mut command);
    wait_for_port(port, Duration::from_secs(5));
    process
}

/// The relay with `--http` on a port of its own; that port.
fn relay_with_http(port: u16, flags: &[&str]) -> (Process, u16) {
    let http = free_port();
    let address = format!("127.0.0.1:{http}");
    let mut all = vec!["--http", &address];
    all.extend_from_slice(flags);
    let process = relay(port, &all);
    wait_for_port(http, Duration::from_secs(5));
    (process, http)
}

fn url(port: u16, name: &str) -> String {
    format!("rtmp://127.0.0.1:{port}/live/{name}")
}

fn app(port: u16) -> String {
    format!("rtmp://127.0.0.1:{port}/live")
}

fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to --http");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )
    .expect("send a request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("a response");
    let (_, body) = response.split_once("\r\n\r\n").expect("a body");
    body.to_string()
}

/// The players of `live/NAME` as the relay's `/api/streams` counts them (0 if not listed),
/// and whether it is published.
fn stream_on(http: u16, name: &str) -> (u64, bool) {
    let streams: serde_json::Value =
        serde_json::from_str(&http_get(http, "/api/streams")).expect("JSON");
    streams["streams"]
        .as_array()
        .expect("a list of streams")
        .iter()
        .find(|stream| stream["app"] == "live" && stream["name"] == name)
        .map_or((0, false), |stream| {
            (
                stream["players"].as_u64().expect("players"),
                !stream["publisher"].is_null(),
            )
        })
}

/// Waits (at most `timeout`) until `check` holds.
fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not after {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The shared 8 s clip (H.264/AAC, a keyframe a second).
fn clip() -> std::path::PathBuf {
    made_once("edge-clip.flv", &["make_clip 8 25".into()], |path| {
        make_clip(path, 8, 25)
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// What one of our players saw.
#[derive(Debug, Default)]
struct Seen {
    /// Video messages other than sequence headers, with whether each is a keyframe and
    /// its first payload byte after the AVC header (the test publisher's origin mark).
    video: Vec<(bool, u8)>,
    /// The timestamps of those video messages.
    video_times: Vec<u32>,
    audio: usize,
    /// How the play ended: the last status, or the error.
    end: Option<String>,
}

fn is_keyframe(payload: &[u8]) -> bool {
    payload.first().is_some_and(|byte| byte >> 4 == 1)
}

fn is_sequence_header(payload: &[u8]) -> bool {
    payload.len() > 1 && payload[0] & 0x0F == 7 && payload[1] == 0
}

/// Plays `url`'s `name` until `video` video frames came, the stream ended, or `timeout`.
async fn play(url: String, name: String, video: usize, timeout: Duration) -> Seen {
    let mut seen = Seen::default();
    let played = tokio::time::timeout(timeout, async {
        let client = Client::connect(&url)
            .await
            .map_err(|error| format!("connect: {error}"))?;
        let mut player = client
            .play(&name)
            .await
            .map_err(|error| format!("play: {error}"))?;
        while seen.video.len() < video {
            match player.next_frame().await {
                Ok(Some(Frame::Video { timestamp, payload })) if !is_sequence_header(&payload) => {
                    seen.video_times.push(timestamp);
                    seen.video
                        .push((is_keyframe(&payload), payload.get(5).copied().unwrap_or(0)));
                }
                Ok(Some(Frame::Audio { .. })) => seen.audio += 1,
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(player
                        .last_status()
                        .map_or_else(|| "ended".into(), |status| status.code.clone()))
                }
                Err(error) => return Err(format!("error: {error}")),
            }
        }
        let _ = player.close().await;
        Ok(())
    })
    .await;
    match played {
        Ok(Ok(())) => {}
        Ok(Err(end)) => seen.end = Some(end),
        Err(_) => seen.end = Some("timed out".into()),
    }
    seen
}

/// Our own publisher of a synthetic H.264 stream (a keyframe every 25 frames, 40 ms apart):
/// each video payload carries `mark` after its AVC header, so that a player can tell which
/// origin a frame came through. Publishes until `duration` is over or the server goes.
async fn publish_marked(url: String, mark: u8, duration: Duration) {
    let Ok(client) = Client::connect_with(&url, ClientOptions::publisher()).await else {
        return;
    };
    let Ok(mut publisher) = client.publish("cam").await else {
        return;
    };
    let header = Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff]);
    if publisher.send_video(0, header).await.is_err() {
        return;
    }
    let start = tokio::time::Instant::now();
    let mut frame = 0u32;
    while start.elapsed() < duration {
        let key = frame % 25 == 0;
        let mut payload = vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0, mark];
        payload.resize(600, mark);
        if publisher
            .send_video(frame * 40, Bytes::from(payload))
            .await
            .is_err()
        {
            return;
        }
        frame += 1;
        tokio::time::sleep_until(start + Duration::from_millis(u64::from(frame) * 40)).await;
    }
    let _ = publisher.close().await;
}

#[test]
fn an_origin_and_two_edges_of_fifty_players_each_pull_once_per_edge() {
    origin_and_two_edges_of_fifty_players(Example::Tokio);
}

/// The std relay as the edges of our tokio origin: the same pull, carried out by its threads.
#[test]
fn std_edges_of_a_tokio_origin_pull_once_per_edge_and_give_every_packet_from_a_keyframe() {
    origin_and_two_edges_of_fifty_players(Example::Std);
}

/// A tokio origin and two edges of `edge`, 50 of our players on each and rtmpdump on one:
/// every player gets 50 video frames from a keyframe, the origin serves the two edges alone,
/// rtmpdump gets every packet from its keyframe to the end.
fn origin_and_two_edges_of_fifty_players(edge: Example) {
    let dir = TempDir::new("edge-three");
    let clip = clip();
    let origin_port = free_port();
    let (_origin, origin_http) = relay_with_http(origin_port, &[]);
    let origin = app(origin_port);
    let edge_ports = [free_port(), free_port()];
    let _edges: Vec<Process> = edge_ports
        .iter()
        .map(|port| relay_of(edge, *port, &["--origin", &origin]))
        .collect();
    let publisher = ffmpeg_publish(&clip, &url(origin_port, "cam"));
    wait_until(Duration::from_secs(10), "published at the origin", || {
        stream_on(origin_http, "cam").1
    });

    // rtmpdump on the second edge checks the content, from its keyframe to the end.
    let dumped = dir.path().join("edge.flv");
    let dumper = rtmpdump_play(&url(edge_ports[1], "cam"), &dumped);
    let runtime = runtime();
    let players: Vec<_> = (0..100)
        .map(|i| {
            let url = format!("rtmp://127.0.0.1:{}/live", edge_ports[i % 2]);
            runtime.spawn(play(url, "cam".into(), 50, Duration::from_secs(15)))
        })
        .collect();
    // While they play: the origin serves the two edges, nobody else.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(stream_on(origin_http, "cam"), (2, true));
    let seen: Vec<Seen> = runtime.block_on(async {
        let mut seen = Vec::new();
        for player in players {
            seen.push(player.await.expect("a player task"));
        }
        seen
    });
    for (i, seen) in seen.iter().enumerate() {
        assert_eq!(seen.video.len(), 50, "player {i}: {seen:?}");
        assert!(seen.video[0].0, "player {i} did not start on a keyframe");
        assert!(seen.audio > 0, "player {i} got no audio");
    }
    assert_eq!(stream_on(origin_http, "cam").0, 2);

    let output = publisher.wait(RUN);
    assert!(output.status.success(), "{output:?}");
    // The end of the stream at the origin reaches the edge's players at once (not after the
    // 10 s reconnect window): rtmpdump ends on the UnpublishNotify (with status 2,
    // "incomplete", for a live stream) well within 5 s.
    let _ = dumper.wait(Duration::from_secs(5));
    let sent = probe_packets(&clip.to_string_lossy());
    assert_clean_run(&sent, &probe_packets(&dumped.to_string_lossy()), 0);
}

#[test]
fn our_edge_pulls_from_an_nginx_origin() {
    let dir = TempDir::new("edge-nginx-origin");
    let clip = clip();
    let nginx = Nginx::start(4096);
    let port = free_port();
    let nginx_app = format!("rtmp://127.0.0.1:{}/live", nginx.port);
    let _edge = relay(port, &["--origin", &nginx_app, "--origin-reconnect", "500"]);
    let publisher = ffmpeg_publish(&clip, &nginx.url("cam"));
    std::thread::sleep(Duration::from_millis(1000));
    let dumped = dir.path().join("edge.flv");
    let dumper = rtmpdump_play(&url(port, "cam"), &dumped);
    let runtime = runtime();
    let players: Vec<_> = (0..10)
        .map(|_| runtime.spawn(play(app(port), "cam".into(), 50, Duration::from_secs(15))))
        .collect();
    for player in players {
        let seen = runtime.block_on(player).expect("a player task");
        assert_eq!(seen.video.len(), 50, "{seen:?}");
        assert!(seen.video[0].0, "not started on a keyframe");
    }
    let output = publisher.wait(RUN);
    assert!(output.status.success(), "{output:?}");
    // rtmpdump ends on the UnpublishNotify (with status 2, "incomplete", for a live stream).
    let _ = dumper.wait(RUN);
    let sent = probe_packets(&clip.to_string_lossy());
    assert_clean_run(&sent, &probe_packets(&dumped.to_string_lossy()), 0);
}

#[test]
fn an_nginx_edge_pulls_from_our_origin() {
    let dir = TempDir::new("edge-nginx-edge");
    let clip = clip();
    let origin_port = free_port();
    let (_origin, origin_http) = relay_with_http(origin_port, &[]);
    let nginx = Nginx::start_edge(4096, &app(origin_port));
    let publisher = ffmpeg_publish(&clip, &url(origin_port, "cam"));
    wait_until(Duration::from_secs(10), "published at the origin", || {
        stream_on(origin_http, "cam").1
    });
    let dumped = dir.path().join("nginx-edge.flv");
    let dumper = rtmpdump_play(&nginx.edge_url("cam"), &dumped);
    let runtime = runtime();
    let players: Vec<_> = (0..10)
        .map(|_| {
            let url = format!("rtmp://127.0.0.1:{}/edge", nginx.port);
            runtime.spawn(play(url, "cam".into(), 50, Duration::from_secs(15)))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    // nginx pulls once for its eleven players.
    assert_eq!(stream_on(origin_http, "cam"), (1, true));
    for player in players {
        let seen = runtime.block_on(player).expect("a player task");
        assert_eq!(seen.video.len(), 50, "{seen:?}");
    }
    let output = publisher.wait(RUN);
    assert!(output.status.success(), "{output:?}");
    // nginx-rtmp keeps its players after the unpublish: stopped once the file stops growing.
    wait_until_still(&dumped);
    drop(nginx);
    let _ = dumper.wait(Duration::from_secs(10));
    let sent = probe_packets(&clip.to_string_lossy());
    assert_clean_run(&sent, &probe_packets(&dumped.to_string_lossy()), 0);
}

#[test]
fn when_the_first_origin_dies_the_edge_fails_over_and_its_players_stay_from_a_keyframe() {
    failover(Example::Tokio);
}

#[test]
fn a_std_edge_fails_over_when_the_first_origin_dies_and_its_players_stay_from_a_keyframe() {
    failover(Example::Std);
}

/// Two tokio origins, each with its own publisher, and an edge of `example` of both: when the
/// first dies, the edge's players go on from the second's keyframe, time never going back.
fn failover(example: Example) {
    let ports = [free_port(), free_port()];
    let first = relay(ports[0], &[]);
    let _second = relay(ports[1], &[]);
    let edge_port = free_port();
    let _edge = relay_of(
        example,
        edge_port,
        &["--origin", &app(ports[0]), "--origin", &app(ports[1])],
    );
    let runtime = runtime();
    // Each origin has its own publisher, marked 0xA1 and 0xB2; the second starts 700 ms
    // later, so its clock is that much behind the first's.
    let first_publisher =
        runtime.spawn(publish_marked(app(ports[0]), 0xA1, Duration::from_secs(8)));
    std::thread::sleep(Duration::from_millis(700));
    let second_publisher =
        runtime.spawn(publish_marked(app(ports[1]), 0xB2, Duration::from_secs(8)));
    let publishers = [first_publisher, second_publisher];
    std::thread::sleep(Duration::from_millis(500));
    // 100 frames: 4 s of video, across the failover.
    let players: Vec<_> = (0..5)
        .map(|_| {
            let url = app(edge_port);
            runtime.spawn(play(url, "cam".into(), 100, Duration::from_secs(15)))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Instant::now();
    let _ = first.stop();
    for player in players {
        let seen = runtime.block_on(player).expect("a player task");
        assert_eq!(
            seen.video.len(),
            100,
            "the player lost its stream: {seen:?}"
        );
        let switch = seen
            .video
            .iter()
            .position(|(_, mark)| *mark == 0xB2)
            .expect("frames from the second origin");
        assert!(switch > 10, "frames from the first origin first: {switch}");
        assert!(
            seen.video[..switch].iter().all(|(_, mark)| *mark == 0xA1),
            "the first origin's frames, then the second's"
        );
        assert!(
            seen.video[switch..].iter().all(|(_, mark)| *mark == 0xB2),
            "no frame of the dead origin after the switch"
        );
        assert!(
            seen.video[switch].0,
            "the second origin's frames start on a keyframe"
        );
        // Whatever the second origin's clock, time goes on from the first's last frame.
        assert!(
            seen.video_times.windows(2).all(|pair| pair[0] < pair[1]),
            "timestamps go back: {:?}",
            seen.video_times
        );
    }
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "{:?}",
        killed.elapsed()
    );
    for publisher in publishers {
        publisher.abort();
    }
}

/// A server that accepts and never says a word, for `lifetime`.
fn silent_server(lifetime: Duration) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("address").port();
    let thread = std::thread::spawn(move || {
        let end = Instant::now() + lifetime;
        let mut held = Vec::new();
        while Instant::now() < end {
            if let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    (port, thread)
}

/// A server that answers every connection with garbage (no RTMP version byte) and closes,
/// for `lifetime`.
fn garbage_server(lifetime: Duration) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("address").port();
    let thread = std::thread::spawn(move || {
        let end = Instant::now() + lifetime;
        while Instant::now() < end {
            if let Ok((mut stream, _)) = listener.accept() {
                let _ = stream.set_nonblocking(false);
                let _ = stream.write_all(&[0xEE; 3073]);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    (port, thread)
}

#[test]
fn origins_that_send_garbage_or_never_answer_end_in_stream_not_found_within_the_timeout() {
    bad_origins(Example::Tokio);
}

#[test]
fn std_edge_origins_that_send_garbage_or_never_answer_end_in_stream_not_found() {
    bad_origins(Example::Std);
}

/// An edge of `example` with an origin that answers garbage and one that never answers: its
/// player gets StreamNotFound once both failed, the silent one after its `--origin-timeout`.
fn bad_origins(example: Example) {
    let (garbage, garbage_thread) = garbage_server(Duration::from_secs(6));
    let (silent, silent_thread) = silent_server(Duration::from_secs(6));
    let edge_port = free_port();
    let edge = relay_of(
        example,
        edge_port,
        &[
            "--origin",
            &app(garbage),
            "--origin",
            &app(silent),
            "--origin-timeout",
            "1000",
        ],
    );
    let runtime = runtime();
    let started = Instant::now();
    let seen = runtime.block_on(play(
        app(edge_port),
        "cam".into(),
        1,
        Duration::from_secs(10),
    ));
    let took = started.elapsed();
    assert_eq!(
        seen.end.as_deref(),
        Some("NetStream.Play.StreamNotFound"),
        "{seen:?}"
    );
    assert!(seen.video.is_empty());
    // The garbage fails at once, the silent one at its 1 s.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    // The tokio relay logs why (the std relay does not log).
    let log = String::from_utf8_lossy(&edge.stop().stderr).into_owned();
    if let Example::Tokio = example {
        assert!(log.contains("upstream failed"), "{log}");
        assert!(log.contains("no media from the origin within 1s"), "{log}");
    }
    garbage_thread.join().expect("the garbage server");
    silent_thread.join().expect("the silent server");
}

#[test]
fn the_upstream_closes_an_idle_time_after_the_last_player_leaves() {
    upstream_closed_when_idle(Example::Tokio);
}

#[test]
fn a_std_edge_closes_its_upstream_an_idle_time_after_the_last_player_leaves() {
    upstream_closed_when_idle(Example::Std);
}

/// An edge of `example` with `--origin-idle-close 1000`: the origin sees its upstream go
/// about a second after the edge's last player left, and a new player pulls again.
fn upstream_closed_when_idle(example: Example) {
    let origin_port = free_port();
    let (_origin, origin_http) = relay_with_http(origin_port, &[]);
    let edge_port = free_port();
    let origin = app(origin_port);
    let edge_flags = ["--origin", &origin, "--origin-idle-close", "1000"];
    // std_server has no --http: the edge's own stats are looked at on the tokio one only.
    let (_edge, edge_http) = match example {
        Example::Tokio => {
            let (edge, http) = relay_with_http(edge_port, &edge_flags);
            (edge, Some(http))
        }
        Example::Std => (relay_of(example, edge_port, &edge_flags), None),
    };
    let runtime = runtime();
    let publisher = runtime.spawn(publish_marked(
        app(origin_port),
        0xA1,
        Duration::from_secs(10),
    ));
    wait_until(Duration::from_secs(5), "published at the origin", || {
        stream_on(origin_http, "cam").1
    });
    let seen = runtime.block_on(play(
        app(edge_port),
        "cam".into(),
        10,
        Duration::from_secs(10),
    ));
    assert_eq!(seen.video.len(), 10, "{seen:?}");
    // The player has gone; the edge keeps its upstream for the idle time, then closes it.
    let left = Instant::now();
    assert_eq!(stream_on(origin_http, "cam"), (1, true));
    // The edge's stats name the origin as the stream's publisher.
    if let Some(edge_http) = edge_http {
        let streams: serde_json::Value =
            serde_json::from_str(&http_get(edge_http, "/api/streams")).expect("JSON");
        let publisher_shown = streams["streams"][0]["publisher"].as_str().unwrap_or("");
        assert_eq!(
            publisher_shown,
            format!("rtmp://127.0.0.1:{origin_port}/live/cam"),
            "{streams}"
        );
    }
    wait_until(Duration::from_secs(5), "the edge's upstream closed", || {
        stream_on(origin_http, "cam").0 == 0
    });
    assert!(
        left.elapsed() >= Duration::from_millis(800),
        "closed after {:?}, before the idle time",
        left.elapsed()
    );
    // A player coming back pulls again.
    let seen = runtime.block_on(play(
        app(edge_port),
        "cam".into(),
        10,
        Duration::from_secs(10),
    ));
    assert_eq!(seen.video.len(), 10, "{seen:?}");
    publisher.abort();
}

#[test]
fn an_origin_url_that_does_not_parse_is_a_startup_error_naming_the_flag() {
    let output = Process::spawn(
        "relay server",
        Command::new(example_binary("rtmp-tokio", "server")).args([
            "--listen",
            "127.0.0.1:0",
            "--origin",
            "http://x/live",
        ]),
    )
    .wait(Duration::from_secs(10));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--origin http://x/live"), "{stderr}");
}

#[test]
fn edge_forward_publish_sends_a_stream_published_to_the_edge_on_to_the_origin() {
    let origin_port = free_port();
    let (_origin, origin_http) = relay_with_http(origin_port, &[]);
    let edge_port = free_port();
    let _edge = relay(
        edge_port,
        &["--origin", &app(origin_port), "--edge-forward-publish"],
    );
    let runtime = runtime();
    let publisher = runtime.spawn(publish_marked(
        app(edge_port),
        0xC3,
        Duration::from_secs(10),
    ));
    wait_until(Duration::from_secs(5), "forwarded to the origin", || {
        stream_on(origin_http, "cam").1
    });
    // Played at the origin, and locally at the edge (not pulled back: it is published there).
    for port in [origin_port, edge_port] {
        let seen = runtime.block_on(play(app(port), "cam".into(), 10, Duration::from_secs(10)));
        assert_eq!(seen.video.len(), 10, "{seen:?}");
        assert!(seen.video.iter().all(|(_, mark)| *mark == 0xC3));
    }
    publisher.abort();
}

/// Nanoseconds since `epoch`, stamped into a video payload after its AVC header.
fn stamp(epoch: Instant) -> [u8; 8] {
    u64::try_from(epoch.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .to_be_bytes()
}

/// Publishes stamped frames (25 a second, a keyframe a second) for `duration`.
async fn publish_stamped(url: String, epoch: Instant, duration: Duration) {
    let Ok(client) = Client::connect_with(&url, ClientOptions::publisher()).await else {
        return;
    };
    let Ok(mut publisher) = client.publish("cam").await else {
        return;
    };
    let header = Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff]);
    if publisher.send_video(0, header).await.is_err() {
        return;
    }
    let start = tokio::time::Instant::now();
    for frame in 0u32.. {
        if start.elapsed() >= duration {
            break;
        }
        let mut payload = vec![if frame % 25 == 0 { 0x17 } else { 0x27 }, 1, 0, 0, 0];
        payload.extend_from_slice(&stamp(epoch));
        payload.resize(2000, 0);
        if publisher
            .send_video(frame * 40, Bytes::from(payload))
            .await
            .is_err()
        {
            return;
        }
        let _ = publisher.flush().await;
        tokio::time::sleep_until(start + Duration::from_millis(u64::from(frame + 1) * 40)).await;
    }
    let _ = publisher.close().await;
}

/// Plays `url` for `frames` stamped video frames sent after the play began: the time from the
/// start of the connection to the first frame (of the join cache, if any), and each frame's
/// delay since it was sent, in milliseconds.
async fn play_stamped(url: String, epoch: Instant, frames: usize) -> (f64, Vec<f64>) {
    let started = Instant::now();
    let since = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let client = Client::connect(&url).await.expect("connect");
    let mut player = client.play("cam").await.expect("play");
    let mut first = None;
    let mut delays = Vec::new();
    while delays.len() < frames {
        match player.next_frame().await.expect("a frame") {
            Some(Frame::Video { payload, .. }) if payload.len() >= 13 && payload[1] == 1 => {
                let now = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                let sent = u64::from_be_bytes(payload[5..13].try_into().expect("8 bytes"));
                first.get_or_insert(started.elapsed());
                // The join cache's frames were sent before the play: not a delay.
                if sent >= since {
                    delays.push(now.saturating_sub(sent) as f64 / 1e6);
                }
            }
            Some(_) => {}
            None => panic!("the stream ended"),
        }
    }
    let _ = player.close().await;
    (first.expect("a frame").as_secs_f64() * 1e3, delays)
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// What a hop costs on loopback: players on the origin and on an edge of it, at once, get
/// the same stamped frames; the README's figures come from
/// `RTMP_SERVER=$PWD/target/release/examples/server cargo test -p rtmp-tests --test edge --
/// latency_per_hop --nocapture` (an absolute path: the test runs in `tests/`).
#[test]
fn latency_per_hop_origin_against_edge_on_loopback() {
    let origin_port = free_port();
    let (_origin, origin_http) = relay_with_http(origin_port, &[]);
    let edge_port = free_port();
    let _edge = relay(edge_port, &["--origin", &app(origin_port)]);
    let runtime = runtime();
    let epoch = Instant::now();
    let publisher = runtime.spawn(publish_stamped(
        app(origin_port),
        epoch,
        Duration::from_secs(12),
    ));
    wait_until(Duration::from_secs(5), "published at the origin", || {
        stream_on(origin_http, "cam").1
    });
    std::thread::sleep(Duration::from_millis(500));
    // 150 frames (6 s) each: a player of the origin, the edge's first player (whose play
    // starts the pull), then a second edge player once the pull runs.
    let on_origin = runtime.spawn(play_stamped(app(origin_port), epoch, 150));
    let cold = runtime.spawn(play_stamped(app(edge_port), epoch, 150));
    std::thread::sleep(Duration::from_millis(1000));
    let warm = runtime.spawn(play_stamped(app(edge_port), epoch, 100));
    let (origin_first, origin_delays) = runtime.block_on(on_origin).expect("origin player");
    let (cold_first, edge_delays) = runtime.block_on(cold).expect("cold edge player");
    let (warm_first, _) = runtime.block_on(warm).expect("warm edge player");
    publisher.abort();
    let (o50, o99) = (
        percentile(&origin_delays, 0.5),
        percentile(&origin_delays, 0.99),
    );
    let (e50, e99) = (
        percentile(&edge_delays, 0.5),
        percentile(&edge_delays, 0.99),
    );
    eprintln!(
        "per-frame delay from the publisher, ms: origin p50 {o50:.1} p99 {o99:.1}; \
         through the edge p50 {e50:.1} p99 {e99:.1}; added by the hop p50 {:.1}\n\
         connect to first frame, ms: origin {origin_first:.1}; edge, starting the pull \
         {cold_first:.1}; edge, pull running {warm_first:.1}",
        e50 - o50
    );
    assert_eq!(origin_delays.len(), 150);
    assert_eq!(edge_delays.len(), 150);
    // The edge hands each batch on as it reads it: the hop adds little to what the origin
    // (its merge window) already adds, and much less than a second.
    assert!(
        e50 >= o50 - 5.0,
        "the edge ahead of its origin? {e50} < {o50}"
    );
    assert!(e99 < 1000.0 && cold_first < 5000.0, "{e99} {cold_first}");
}

/// Our tokio relay serving RTMPS on a loopback port, in the test process, with a self-signed
/// certificate for 127.0.0.1 (rcgen); its PEM is written to `dir/origin.pem`, for the edges
/// to trust. Served until the runtime is dropped.
fn rtmps_origin(dir: &std::path::Path) -> (tokio::runtime::Runtime, u16, std::path::PathBuf) {
    use rtmp_tokio::relay::{Relay, RelayConfig};
    use rtmp_tokio::tls::{serve_relay, TlsServerConfig};
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("a self-signed certificate");
    let certificate = dir.join("origin.pem");
    std::fs::write(&certificate, certified.cert.pem()).expect("write the certificate");
    let tls = TlsServerConfig::from_pem(
        certified.cert.pem().as_bytes(),
        certified.signing_key.serialize_pem().as_bytes(),
    )
    .expect("the certificate and key");
    let runtime = runtime();
    let config = RelayConfig::default();
    let connection = config.connection.clone();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind a loopback port");
    let port = listener.local_addr().expect("a local address").port();
    runtime.spawn(serve_relay(Relay::new(config), listener, tls, connection));
    (runtime, port, certificate)
}

#[test]
fn a_tokio_edge_pulls_from_an_rtmps_origin_trusting_its_certificate_with_origin_ca() {
    edge_of_an_rtmps_origin(Example::Tokio);
}

#[test]
fn a_std_edge_pulls_from_an_rtmps_origin_trusting_its_certificate_with_origin_ca() {
    edge_of_an_rtmps_origin(Example::Std);
}

/// ffmpeg publishes to an RTMPS origin with a self-signed certificate; an edge of `example`
/// given `--origin-ca` pulls from it over TLS: 5 players get 50 video frames from a keyframe,
/// rtmpdump every packet from its keyframe to the end. An edge without `--origin-ca` does not
/// trust the origin: its player gets StreamNotFound.
fn edge_of_an_rtmps_origin(example: Example) {
    let dir = TempDir::new("edge-rtmps");
    let clip = clip();
    let (origin_runtime, origin_port, certificate) = rtmps_origin(dir.path());
    let origin = format!("rtmps://127.0.0.1:{origin_port}/live");
    let certificate = certificate.to_string_lossy().into_owned();
    let port = free_port();
    let _edge = relay_of(
        example,
        port,
        &["--origin", &origin, "--origin-ca", &certificate],
    );
    let untrusting_port = free_port();
    let _untrusting = relay_of(
        example,
        untrusting_port,
        &["--origin", &origin, "--origin-timeout", "2000"],
    );
    // ffmpeg does not verify the certificate unless told to (-tls_verify 1).
    let publisher = ffmpeg_publish(&clip, &format!("{origin}/cam"));
    std::thread::sleep(Duration::from_millis(1000));

    let dumped = dir.path().join("edge.flv");
    let dumper = rtmpdump_play(&url(port, "cam"), &dumped);
    let runtime = runtime();
    let players: Vec<_> = (0..5)
        .map(|_| runtime.spawn(play(app(port), "cam".into(), 50, Duration::from_secs(15))))
        .collect();
    let untrusting = runtime.spawn(play(
        app(untrusting_port),
        "cam".into(),
        1,
        Duration::from_secs(10),
    ));
    for player in players {
        let seen = runtime.block_on(player).expect("a player task");
        assert_eq!(seen.video.len(), 50, "{example:?}: {seen:?}");
        assert!(seen.video[0].0, "{example:?}: not started on a keyframe");
    }
    let seen = runtime.block_on(untrusting).expect("a player task");
    assert!(seen.video.is_empty(), "{example:?}: {seen:?}");
    assert_eq!(
        seen.end.as_deref(),
        Some("NetStream.Play.StreamNotFound"),
        "{example:?}: an edge that does not trust the origin"
    );
    let output = publisher.wait(RUN);
    assert!(output.status.success(), "{output:?}");
    let _ = dumper.wait(RUN);
    let sent = probe_packets(&clip.to_string_lossy());
    assert_clean_run(&sent, &probe_packets(&dumped.to_string_lossy()), 0);
    origin_runtime.shutdown_timeout(Duration::from_secs(1));
}
