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

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtmp_std::client::{Client, ClientOptions, ClientSettings, Frame};
use rtmp_tests::hostile::{
    connected, ended_within, handshaken, partial_messages as hold_partial_messages, tiny_flood,
    unread_answers as ask_unread, RelayProcess, Unread, MIB,
};
use rtmp_tests::peers::example_binary;

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

/// The relay, serving on a loopback port until dropped: a 64 MiB budget, 1 s timeouts.
struct Relay(RelayProcess);

impl std::ops::Deref for Relay {
    type Target = RelayProcess;
    fn deref(&self) -> &RelayProcess {
        &self.0
    }
}

impl Relay {
    fn start() -> Relay {
        let budget = BUDGET_MIB.to_string();
        Relay(RelayProcess::start(
            &example_binary("rtmp-tokio", "server"),
            &[
                "--log",
                "error",
                "--merge-window",
                "0",
                "--memory-budget",
                &budget,
                "--connect-timeout",
                "1000",
                "--stream-timeout",
                "1000",
                // Under load, an unread-answers attacker's kernel can drop our window
                // updates while our answers still fit in our send buffer: no queue bound is
                // reached and TCP backs off for tens of seconds. A short bound on
                // unacknowledged bytes ends such a peer within the test's patience too.
                "--unacked-timeout",
                "3000",
            ],
        ))
    }

    fn settle(&self, baseline: u64) -> u64 {
        self.0.settle(baseline, RETAINED_SLACK)
    }
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
    let mut held = hold_partial_messages(relay.port, 20);
    assert_eq!(held.len(), 20, "every attacker completes its handshake");
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
        let mut flood = tiny_flood(
            relay.port,
            &format!("flood-{round}"),
            message,
            4 * 1024 * 1024,
        )
        .expect("the flooder publishes");
        // During: a control client while the relay works through the flood.
        let control = format!("control-flood-{round}");
        control_client(relay, &control, &format!("during the {what} flood"));
        // The answer to a ping sent after the flood says the relay has decoded all of it.
        flood
            .drained(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{what} flood: no answer to the ping after it: {e}"));
        let end = Instant::now();
        let gap = bystander.finish((start, end));
        let peak = sampler.finish();
        let sent = flood.sent;
        drop(flood);
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
    let attacks = [
        ("a million pings", Unread::Pings, 1_000_000),
        ("200,000 createStreams", Unread::CreateStreams, 200_000),
    ];
    for (round, (what, kind, count)) in attacks.into_iter().enumerate() {
        let baseline = relay.rss();
        let sampler = relay.sample();
        let started = Instant::now();
        let outcome = ask_unread(relay.port, &format!("asker-{round}"), kind, count)
            .unwrap_or_else(|e| panic!("{what}: the asker could not publish: {e}"));
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
            outcome.sent / 1024,
            outcome.flood / 1024
        );
        assert!(
            outcome.hung_up,
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
    let mut silent: Vec<TcpStream> = (0..50)
        .map(|_| handshaken(relay.port).expect("an idler completes its handshake"))
        .collect();
    let mut connected: Vec<TcpStream> = (0..20)
        .map(|_| connected(relay.port).expect("an idler connects"))
        .collect();
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
