//! The relay server example as an operator runs it (rtmp-tokio's `examples/server`, a child
//! process on 127.0.0.1), against ffmpeg: publish keys, play address prefixes, HTTP callbacks
//! (a tiny HTTP server in the test that allows, refuses or never answers).
//!
//! The std relay server example (rtmp-std's `std_server`) takes the same flags where they
//! apply: its publish keys, recordings (and, in reconnect.rs, its drain) are tested the same
//! way. The std relay's statistics are checked in process (`std_support::RelayServer`).
//!
//! The example binary is not built by `cargo test -p rtmp-tests`: `cargo test --workspace`
//! builds it, as does `cargo build -p rtmp-tokio --example server` (and `cargo build -p
//! rtmp-std --example std_server`).

mod std_support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtmp_tests::peers::{
    example_binary, free_port, make_clip, probe_packets, wait_for_port, Process, TempDir,
};
use rtmp_tests::peers_more::{assert_same_packets, ffmpeg_play, ffmpeg_publish};

/// The longest a publisher or player takes past the clip's real-time length.
const RUN: Duration = Duration::from_secs(20);

/// Which relay server example.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Example {
    /// rtmp-tokio's `server`.
    Tokio,
    /// rtmp-std's `std_server`.
    Std,
}

impl Example {
    fn binary(self) -> PathBuf {
        match self {
            Example::Tokio => example_binary("rtmp-tokio", "server"),
            Example::Std => example_binary("rtmp-std", "std_server"),
        }
    }
}

/// A relay server example, serving on 127.0.0.1 until dropped.
struct Server {
    port: u16,
    process: Process,
}

impl Server {
    /// The tokio relay server example.
    fn start(flags: &[&str]) -> Server {
        Server::start_example(Example::Tokio, flags)
    }

    fn start_example(example: Example, flags: &[&str]) -> Server {
        let port = free_port();
        let mut command = Command::new(example.binary());
        command.arg("--listen").arg(format!("127.0.0.1:{port}"));
        command.args(flags);
        let process = Process::spawn("relay server", &mut command);
        if std::panic::catch_unwind(|| wait_for_port(port, Duration::from_secs(5))).is_err() {
            let output = process.stop();
            panic!(
                "the server ({command:?}) does not listen ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Server { port, process }
    }

    fn url(&self, name: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{name}", self.port)
    }
}

/// A 2-second H.264/AAC clip in `dir`.
fn clip(dir: &Path) -> PathBuf {
    let clip = dir.join("clip.flv");
    make_clip(&clip, 2, 25);
    clip
}

/// Publishes `clip` to `url`; how ffmpeg ended and how long it took.
fn publish(clip: &Path, url: &str) -> (bool, Duration, String) {
    let started = Instant::now();
    let output = ffmpeg_publish(clip, url).wait(RUN);
    (
        output.status.success(),
        started.elapsed(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_publish_needs_one_of_the_keys_and_players_get_the_keyed_stream() {
    publish_keys(Example::Tokio);
}

#[test]
fn the_std_server_takes_the_same_publish_keys() {
    publish_keys(Example::Std);
}

fn publish_keys(example: Example) {
    let dir = TempDir::new("operator-keys");
    let clip = clip(dir.path());
    let flags = ["--publish-key", "s3cret", "--publish-key", "other"];
    let server = Server::start_example(example, &flags);

    for refused in ["cam", "cam?key=wrong", "cam?keys=s3cret"] {
        let (ok, took, stderr) = publish(&clip, &server.url(refused));
        assert!(!ok, "{refused}: published without a valid key");
        assert!(
            took < Duration::from_secs(5),
            "{refused}: refused after {took:?}"
        );
        // FFmpeg shows the status's description, not its code (NetStream.Publish.Denied).
        assert!(
            stderr.contains("Server error: A valid ?key= is needed"),
            "{refused}: {stderr}"
        );
    }

    let received = dir.path().join("played.flv");
    let player = ffmpeg_play(&server.url("cam"), &received);
    std::thread::sleep(Duration::from_millis(500));
    let (ok, _, stderr) = publish(&clip, &server.url("cam?key=s3cret"));
    assert!(ok, "the keyed publish failed: {stderr}");
    let played = player.wait(RUN);
    assert!(
        played.status.success(),
        "{}",
        String::from_utf8_lossy(&played.stderr)
    );
    let sent = probe_packets(&clip.to_string_lossy());
    let got = probe_packets(&received.to_string_lossy());
    assert!(
        got.len() + 8 >= sent.len(),
        "the player got {} of {} packets",
        got.len(),
        sent.len()
    );
    drop(server.process.stop());
}

#[test]
fn players_are_refused_by_address_prefix() {
    let dir = TempDir::new("operator-play-prefix");
    for flags in [&["--deny-play", "127.0."][..], &["--allow-play", "10."][..]] {
        let server = Server::start(flags);
        let started = Instant::now();
        let output = ffmpeg_play(&server.url("cam"), &dir.path().join("x.flv")).wait(RUN);
        assert!(!output.status.success(), "{flags:?}: played");
        assert!(started.elapsed() < Duration::from_secs(5));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("Server error: Playing is not allowed"),
            "{flags:?}: {stderr}"
        );
        drop(server.process.stop());
    }
}

/// What the callback server was asked: one form-encoded body per request.
type Asked = Arc<Mutex<Vec<String>>>;

/// An HTTP server on 127.0.0.1 that answers a POST by the `name` in its body: `ok...` 204,
/// `no...` 403, `hang...` never (it holds the connection for 10 s). Runs until the test ends.
fn callback_server() -> (u16, Asked) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the callback server");
    let port = listener.local_addr().expect("its address").port();
    let asked: Asked = Arc::default();
    let log = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || answer(stream, &log));
        }
    });
    (port, asked)
}

fn answer(mut stream: TcpStream, asked: &Asked) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let body = loop {
        let Ok(n) = stream.read(&mut buffer) else {
            return;
        };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&request);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        if body.len() >= length {
            break body.to_string();
        }
    };
    asked.lock().unwrap().push(body.clone());
    let name = body
        .split('&')
        .find_map(|field| field.strip_prefix("name="))
        .unwrap_or("");
    let status = if name.starts_with("ok") {
        "204 No Content"
    } else if name.starts_with("no") {
        "403 Forbidden"
    } else {
        std::thread::sleep(Duration::from_secs(10));
        return;
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
}

#[test]
fn the_publish_callback_allows_refuses_and_a_silent_one_refuses_in_3_s_stalling_nobody() {
    let dir = TempDir::new("operator-callbacks");
    let clip = clip(dir.path());
    let (port, asked) = callback_server();
    let callback = format!("http://127.0.0.1:{port}/on_publish");
    let server = Server::start(&["--on-publish", &callback]);

    let (ok, _, stderr) = publish(&clip, &server.url("ok1?token=abc"));
    assert!(ok, "an allowed publish failed: {stderr}");
    let first = asked.lock().unwrap()[0].clone();
    for field in [
        "call=publish",
        "app=live",
        "name=ok1",
        "args=token%3Dabc",
        "addr=127.0.0.1",
    ] {
        assert!(first.split('&').any(|f| f == field), "{field} in {first}");
    }

    let (ok, took, stderr) = publish(&clip, &server.url("no1"));
    assert!(!ok, "a refused publish went on");
    assert!(took < Duration::from_secs(2), "refused after {took:?}");
    assert!(stderr.contains("Server error: Refused by"), "{stderr}");

    // A callback that never answers: refused at 3 s, and meanwhile another publisher is
    // accepted and publishes its whole clip.
    let silent_started = Instant::now();
    let silent = ffmpeg_publish(&clip, &server.url("hang1"));
    std::thread::sleep(Duration::from_millis(300));
    let (ok, _, stderr) = publish(&clip, &server.url("ok2"));
    assert!(ok, "a publish beside a silent callback failed: {stderr}");
    let silent = silent.wait(RUN);
    let took = silent_started.elapsed();
    assert!(!silent.status.success(), "a publish with no answer went on");
    assert!(
        took >= Duration::from_millis(2_900) && took < Duration::from_secs(8),
        "refused after {took:?}"
    );
    assert_eq!(asked.lock().unwrap().len(), 4);
    drop(server.process.stop());
}

/// `GET path` from 127.0.0.1:`port`: the body.
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
    stream
        .read_to_string(&mut response)
        .expect("read the answer");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
    body.to_string()
}

/// The value of the sample `name{labels}` in Prometheus text.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
        .trim()
        .parse()
        .expect("a number")
}

/// Payload bytes of the audio and video tags of an FLV file.
fn flv_media_bytes(path: &Path) -> u64 {
    let flv = std::fs::read(path).expect("read the clip");
    let mut at = u32::from_be_bytes(flv[5..9].try_into().unwrap()) as usize + 4;
    let mut total = 0;
    while at + 11 <= flv.len() {
        let size = u32::from_be_bytes([0, flv[at + 1], flv[at + 2], flv[at + 3]]) as usize;
        if flv[at] == 8 || flv[at] == 9 {
            total += size as u64;
        }
        at += 11 + size + 4;
    }
    total
}

#[test]
fn metrics_and_the_streams_api_count_what_was_sent() {
    let dir = TempDir::new("operator-stats");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 3, 25);
    let clip_bytes = flv_media_bytes(&clip);
    let http = free_port();
    let server = Server::start(&["--http", &format!("127.0.0.1:{http}")]);
    wait_for_port(http, Duration::from_secs(5));

    // Two players of this crate that stay after the publisher leaves (so the stream, and its
    // counts, stay too), counting the media payload bytes they get.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let url = format!("rtmp://127.0.0.1:{}/live", server.port);
    let players: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            runtime.spawn(async move {
                let client = rtmp_tokio::client::Client::connect(&url).await?;
                let mut player = client.play("cam").await?;
                player.set_end_on_unpublish(false);
                let mut bytes = 0u64;
                let deadline = tokio::time::Instant::now() + RUN;
                // Until the server is stopped (an error) or the deadline.
                while let Ok(frame) = tokio::time::timeout_at(deadline, player.next_frame()).await {
                    match frame {
                        Ok(Some(rtmp_tokio::client::Frame::Audio { payload, .. }))
                        | Ok(Some(rtmp_tokio::client::Frame::Video { payload, .. })) => {
                            bytes += payload.len() as u64
                        }
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => break,
                    }
                }
                Ok::<_, rtmp_tokio::Error>(bytes)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));

    let publisher = ffmpeg_publish(&clip, &server.url("cam"));
    std::thread::sleep(Duration::from_millis(2_000));
    let metrics = http_get(http, "/metrics");
    let labels = "{app=\"live\",stream=\"cam\"}";
    assert_eq!(
        sample(&metrics, &format!("rtmp_stream_players{labels}")),
        2.0
    );
    assert_eq!(
        sample(&metrics, &format!("rtmp_stream_publishing{labels}")),
        1.0
    );
    assert_eq!(sample(&metrics, "rtmp_connections"), 3.0);
    let bitrate = sample(
        &metrics,
        &format!("rtmp_stream_bitrate_in_bits_per_second{labels}"),
    );
    let clip_bitrate = clip_bytes as f64 * 8.0 / 3.0;
    assert!(
        bitrate > clip_bitrate / 2.0 && bitrate < clip_bitrate * 2.0,
        "{bitrate} bit/s while the clip has {clip_bitrate}"
    );
    let live: serde_json::Value =
        serde_json::from_str(&http_get(http, "/api/streams")).expect("JSON");
    let stream = &live["streams"][0];
    assert_eq!(stream["name"], "cam");
    assert_eq!(stream["video_tracks"][0]["codec"], "avc1");
    assert_eq!(stream["audio_tracks"][0]["codec"], "mp4a");
    assert_eq!(
        (stream["width"].as_f64(), stream["height"].as_f64()),
        (Some(160.0), Some(120.0))
    );
    assert_eq!(stream["frame_rate"].as_f64(), Some(25.0));
    assert!(stream["publisher"]
        .as_str()
        .is_some_and(|a| a.starts_with("127.0.0.1:")));
    assert!(stream["uptime_seconds"]
        .as_f64()
        .is_some_and(|s| (1.0..4.0).contains(&s)));
    let roles: Vec<_> = live["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| c["role"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        roles.iter().filter(|r| *r == "player").count(),
        2,
        "{roles:?}"
    );
    assert_eq!(
        roles.iter().filter(|r| *r == "publisher").count(),
        1,
        "{roles:?}"
    );

    let published = publisher.wait(RUN);
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    std::thread::sleep(Duration::from_millis(500));
    let after: serde_json::Value =
        serde_json::from_str(&http_get(http, "/api/streams")).expect("JSON");
    let stream = &after["streams"][0];
    let bytes_in = stream["bytes_in"].as_u64().expect("bytes_in");
    let bytes_out = stream["bytes_out"].as_u64().expect("bytes_out");
    // FFmpeg republishes the clip's tags as they are, but for an end-of-sequence tag or two.
    assert!(
        bytes_in.abs_diff(clip_bytes) <= 16,
        "{bytes_in} received, the clip has {clip_bytes}"
    );
    assert_eq!(bytes_out, 2 * bytes_in);
    assert!(stream["uptime_seconds"].is_null(), "{stream}");
    let metrics = http_get(http, "/metrics");
    assert_eq!(
        sample(
            &metrics,
            &format!("rtmp_stream_received_bytes_total{labels}")
        ),
        bytes_in as f64
    );
    assert_eq!(
        sample(&metrics, &format!("rtmp_stream_publishing{labels}")),
        0.0
    );

    drop(server.process.stop());
    for player in players {
        let got = runtime
            .block_on(player)
            .expect("a player task")
            .expect("a player");
        assert_eq!(got, bytes_in, "a player got {got} of {bytes_in} bytes");
    }
}

/// The recordings in `dir/live`, each checked to be named `cam-YYYYMMDDTHHMMSSZ.flv`.
fn recordings(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("live")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    files.sort();
    for file in &files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let stamp = name
            .strip_prefix("cam-")
            .and_then(|rest| rest.strip_suffix("Z.flv"))
            .unwrap_or_else(|| panic!("a recording named {name}"));
        assert!(
            stamp.len() == 15 && stamp.as_bytes()[8] == b'T',
            "a recording named {name}"
        );
    }
    files
}

#[test]
fn a_recording_holds_every_published_packet_and_is_closed_when_the_publisher_leaves() {
    record_every_packet(Example::Tokio);
}

#[test]
fn the_std_servers_recording_holds_every_published_packet() {
    record_every_packet(Example::Std);
}

fn record_every_packet(example: Example) {
    let dir = TempDir::new("operator-record");
    let clip = clip(dir.path());
    let records = dir.path().join("records");
    let server = Server::start_example(example, &["--record", &records.to_string_lossy()]);
    let received = dir.path().join("played.flv");
    let player = ffmpeg_play(&server.url("cam"), &received);
    std::thread::sleep(Duration::from_millis(500));
    let (ok, _, stderr) = publish(&clip, &server.url("cam"));
    assert!(ok, "{stderr}");
    assert!(player.wait(RUN).status.success());
    std::thread::sleep(Duration::from_millis(300));
    let files = recordings(&records);
    assert_eq!(files.len(), 1, "{files:?}");
    let sent = probe_packets(&clip.to_string_lossy());
    assert_same_packets(&sent, &probe_packets(&files[0].to_string_lossy()), 0);
    let output = server.process.stop();
    let log = String::from_utf8_lossy(&output.stderr);
    // The std server has no logger: the packets, to the last, say it was closed.
    if example == Example::Tokio {
        assert!(log.contains("recording closed"), "{log}");
    }
}

#[test]
fn a_recording_survives_a_sigkill_of_the_server_up_to_its_last_tag() {
    record_through_a_sigkill(Example::Tokio);
}

#[test]
fn the_std_servers_recording_survives_a_sigkill_up_to_its_last_tag() {
    record_through_a_sigkill(Example::Std);
}

fn record_through_a_sigkill(example: Example) {
    let dir = TempDir::new("operator-record-kill");
    let clip = dir.path().join("clip.flv");
    make_clip(&clip, 8, 25);
    let records = dir.path().join("records");
    let server = Server::start_example(example, &["--record", &records.to_string_lossy()]);
    let publisher = ffmpeg_publish(&clip, &server.url("cam"));
    std::thread::sleep(Duration::from_millis(3_000));
    drop(server.process.stop());
    let _ = publisher.wait(RUN);
    let files = recordings(&records);
    assert_eq!(files.len(), 1, "{files:?}");
    let sent = probe_packets(&clip.to_string_lossy());
    let recorded = probe_packets(&files[0].to_string_lossy());
    // About 3 of the 8 seconds, every packet of them.
    assert!(
        recorded.len() * 5 > sent.len() && recorded.len() * 3 < sent.len() * 2,
        "{} of {} packets recorded",
        recorded.len(),
        sent.len()
    );
    assert_same_packets(&sent, &recorded, sent.len());
}

#[test]
fn a_recording_that_cannot_be_written_is_counted_and_the_stream_goes_on() {
    let dir = TempDir::new("operator-record-error");
    let clip = clip(dir.path());
    let records = dir.path().join("records");
    std::fs::create_dir_all(&records).expect("a directory");
    // The app's directory cannot be made: a file has its name.
    std::fs::write(records.join("live"), b"in the way").expect("a file");
    let http = free_port();
    let server = Server::start(&[
        "--record",
        &records.to_string_lossy(),
        "--http",
        &format!("127.0.0.1:{http}"),
    ]);
    let received = dir.path().join("played.flv");
    let player = ffmpeg_play(&server.url("cam"), &received);
    std::thread::sleep(Duration::from_millis(500));
    let (ok, _, stderr) = publish(&clip, &server.url("cam"));
    assert!(ok, "{stderr}");
    assert!(player.wait(RUN).status.success());
    let sent = probe_packets(&clip.to_string_lossy());
    assert_same_packets(&sent, &probe_packets(&received.to_string_lossy()), 4);
    let metrics = http_get(http, "/metrics");
    assert_eq!(sample(&metrics, "rtmp_recordings_total"), 1.0);
    assert_eq!(sample(&metrics, "rtmp_recording_errors_total"), 1.0);
    let output = server.process.stop();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("recording stopped"), "{log}");
}

#[test]
fn the_play_callback_refuses_at_once_or_at_3_s_when_it_does_not_answer() {
    let dir = TempDir::new("operator-play-callback");
    let (port, asked) = callback_server();
    let callback = format!("http://127.0.0.1:{port}/on_play");
    let server = Server::start(&["--on-play", &callback]);
    for (name, at_least, at_most) in [("no1", 0, 2_000), ("hang1", 2_900, 8_000)] {
        let started = Instant::now();
        let output = ffmpeg_play(&server.url(name), &dir.path().join("x.flv")).wait(RUN);
        let took = started.elapsed();
        assert!(!output.status.success(), "{name}: played");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("Server error: Refused by"),
            "{name}: {stderr}"
        );
        assert!(
            took >= Duration::from_millis(at_least) && took < Duration::from_millis(at_most),
            "{name}: refused after {took:?}"
        );
    }
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    assert!(
        asked[0].split('&').any(|f| f == "call=play"),
        "{}",
        asked[0]
    );
    assert!(
        asked[1].split('&').any(|f| f == "name=hang1"),
        "{}",
        asked[1]
    );
    drop(server.process.stop());
}

#[test]
fn the_std_relay_counts_the_same_statistics() {
    let dir = TempDir::new("operator-std-stats");
    let clip = clip(dir.path());
    let server = std_support::RelayServer::start();
    let player = rtmp_std::client::Client::connect(&server.url("cam"))
        .expect("connect")
        .play("cam")
        .expect("play");
    server.wait_until("the player waits", |relay| relay.players("live/cam") == 1);
    let publisher = ffmpeg_publish(&clip, &server.url("cam"));
    server.wait_until("the stream carries video", |relay| {
        relay
            .stats()
            .streams
            .first()
            .is_some_and(|stream| !stream.media.video_tracks.is_empty() && stream.bytes_out > 0)
    });
    let stats = server.relay.stats();
    let stream = &stats.streams[0];
    assert_eq!(stream.media.video_tracks, [(0, String::from("avc1"))]);
    assert_eq!(stream.players, 1);
    assert!(stream.uptime.is_some() && stream.bytes_in > 0 && stream.bitrate_in > 0);
    assert_eq!(stats.connections.len(), 2);
    assert!(publisher.wait(RUN).status.success());
    drop(player);
}
