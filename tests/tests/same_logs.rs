//! Both relays log the same events with the same fields: one scenario (a publisher and a
//! player come and go) through rtmp-tokio's relay, then through rtmp-std's, with every log line
//! captured; what each relay logged (message and field names) is the same.

mod std_support;
mod tokio_support;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rtmp_std::client::{Client, ClientOptions, Frame};

/// Where the subscriber writes: one buffer for the whole test binary.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// The lines written since the last call.
    fn take(&self) -> String {
        let mut buffer = self.0.lock().unwrap();
        String::from_utf8(std::mem::take(&mut *buffer)).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A relay's log lines as `message field field...`, counted; `target` is the relay's module.
/// The value of each field is left out (addresses, ports and timings differ run to run).
fn relay_lines(log: &str, target: &str) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    for line in log.lines() {
        let Some((_, rest)) = line.split_once(&format!("{target}: ")) else {
            continue;
        };
        let message: Vec<&str> = rest
            .split(' ')
            .take_while(|word| !word.contains('='))
            .collect();
        let message = message.join(" ");
        // rtmp-tokio's relay owns its listener and says so; rtmp-std's listener is its Server's.
        if message == "relay listening" {
            continue;
        }
        let fields: Vec<&str> = rest
            .split(' ')
            .filter_map(|word| word.split_once('=').map(|(key, _)| key))
            .filter(|key| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        *lines
            .entry(format!("{message} {}", fields.join(" ")))
            .or_insert(0) += 1;
    }
    lines
}

/// A publisher sends a keyframe to `app_url`, a player gets it, both leave.
fn scenario(app_url: &str) {
    let options = ClientOptions::default().with_read_timeout(Some(Duration::from_secs(10)));
    let mut player = Client::connect_with(app_url, options)
        .unwrap()
        .play("cam")
        .unwrap();
    let publisher = Client::connect_with(app_url, ClientOptions::publisher()).unwrap();
    let mut publisher = publisher.publish("cam").unwrap();
    let keyframe = Bytes::from_static(&[0x17, 1, 0, 0, 0, 0x65]);
    let _status = publisher.send_video(0, keyframe.clone()).unwrap();
    publisher.close().unwrap();
    let mut video = Vec::new();
    while let Some(frame) = player.next_frame().unwrap() {
        if let Frame::Video { payload, .. } = frame {
            video.push(payload);
        }
    }
    assert_eq!(video, [keyframe]);
    player.close().unwrap();
}

#[test]
fn both_relays_log_the_same_events_with_the_same_fields() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let relay = tokio_support::RelayServer::start();
    scenario(&format!("rtmp://127.0.0.1:{}/live", relay.port));
    relay.wait_until("both connections end", |relay| {
        relay.stats().connections.is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    drop(relay);
    let tokio_log = captured.take();

    let relay = std_support::RelayServer::start();
    scenario(&format!("rtmp://127.0.0.1:{}/live", relay.port));
    relay.wait_until("both connections end", |relay| {
        relay.stats().connections.is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    drop(relay);
    let std_log = captured.take();

    let tokio_lines = relay_lines(&tokio_log, "rtmp_tokio::relay");
    let std_lines = relay_lines(&std_log, "rtmp_std::relay");
    for expected in [
        "connection accepted ",
        "publishing stream",
        "playing stream live all_tracks",
    ] {
        assert!(
            tokio_lines.contains_key(expected),
            "{expected:?} in {tokio_log}"
        );
    }
    assert_eq!(
        tokio_lines.get("connection accepted "),
        Some(&2),
        "{tokio_log}"
    );
    assert_eq!(
        tokio_lines, std_lines,
        "the two relays logged differently:\n{tokio_log}\n---\n{std_log}"
    );
}
