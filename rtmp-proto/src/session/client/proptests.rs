//! Property tests of the client connection: the split points of its input and the steps in
//! which its time advances change nothing it reports or sends.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::testing::*;
use super::*;
use crate::handshake::ServerConfig;
use crate::session::SessionConfig;

fn play_client() -> ClientConnection {
    let config = ClientConnectionConfig::player("live", "rtmp://127.0.0.1/live");
    let mut client = ClientConnection::new(
        config,
        &mut StdRng::seed_from_u64(5),
        Instant::from_millis(0),
    );
    client.connect().unwrap();
    let _ = client
        .create_stream_to_play("cap", PlayOptions::default())
        .unwrap();
    client
}

/// What the scripted server does, at fixed times.
#[derive(Clone, Copy, Debug)]
enum Action {
    /// Ask the client to acknowledge every 3000 bytes.
    SmallWindow,
    ConnectResult,
    Audio(usize),
    Video(usize),
}

fn script() -> Vec<(u64, Action)> {
    let mut script = vec![(0, Action::SmallWindow), (10, Action::ConnectResult)];
    script.extend((1..=30).map(|i| (i * 100, Action::Audio(500))));
    // Then 9 s of silence: the client pings, the server pings.
    script.extend((0..8).map(|i| (12_000 + i * 250, Action::Video(2_000))));
    script
}

const END: u64 = 20_000;

/// The bytes the client wrote at each instant, and the events it reported at each instant.
type Timeline = (Vec<(u64, Vec<u8>)>, Vec<(u64, ClientEvent)>);

/// What the client wrote (by instant) and reported, with time advancing by `steps` (cycled),
/// never past the next deadline of either side or the next action of the script: the
/// contract an adapter keeps by sleeping until `poll_timeout`.
fn run_with_steps(steps: &[u64]) -> Timeline {
    let client_config = ClientConnectionConfig {
        session: SessionConfig {
            ping_interval: Some(Duration::from_secs(2)),
            ping_timeout: Duration::from_secs(10),
            ..SessionConfig::default()
        },
        ..ClientConnectionConfig::player("live", "rtmp://127.0.0.1/live")
    };
    let server_config = SessionConfig {
        ping_interval: Some(Duration::from_millis(3_500)),
        ..SessionConfig::default()
    };
    let mut rng = StdRng::seed_from_u64(21);
    let mut client = ClientConnection::new(client_config, &mut rng, Instant::from_millis(0));
    let mut server = crate::session::core::Core::server(
        server_config,
        ServerConfig::default(),
        &mut rng,
        Instant::from_millis(0),
    );
    client.connect().unwrap();
    let script = script();
    let mut next_action = 0;
    let mut written: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut events = Vec::new();
    let mut steps = steps.iter().copied().cycle();
    let mut now_ms = 0u64;
    loop {
        let now = Instant::from_millis(now_ms);
        while let Some((_, action)) = script.get(next_action).filter(|(at, _)| *at <= now_ms) {
            let _ = match *action {
                Action::SmallWindow => {
                    server.queue_control(&Message::WindowAckSize { window_size: 3000 });
                    Ok(SendStatus::Queued)
                }
                Action::ConnectResult => server.send_message(0, 0, &connect_result().into()),
                Action::Audio(size) => {
                    let payload = Bytes::from(vec![0xAF; size]);
                    server.send_message(1, now_ms as u32, &Message::Audio(payload))
                }
                Action::Video(size) => {
                    let payload = Bytes::from(vec![0x17; size]);
                    server.send_message(1, now_ms as u32, &Message::Video(payload))
                }
            };
            next_action += 1;
        }
        loop {
            let mut moved = false;
            if let Some(out) = client.poll_transmit() {
                let mut bytes = Vec::new();
                out.copy_to(&mut bytes);
                out.clear();
                let _ = server.handle_input(now, &bytes);
                match written.last_mut() {
                    Some((at, all)) if *at == now_ms => all.extend_from_slice(&bytes),
                    _ => written.push((now_ms, bytes)),
                }
                moved = true;
            }
            if let Some(out) = server.poll_transmit() {
                let mut bytes = Vec::new();
                out.copy_to(&mut bytes);
                out.clear();
                let _ = client.handle_input(now, &bytes);
                moved = true;
            }
            while server.poll_event().is_some() {}
            while let Some(event) = client.poll_event() {
                events.push((now_ms, event));
            }
            if !moved {
                break;
            }
        }
        if now_ms >= END {
            break;
        }
        let deadline = [
            client.poll_timeout(),
            server.poll_timeout(),
            script
                .get(next_action)
                .map(|(at, _)| Instant::from_millis(*at)),
            Some(Instant::from_millis(END)),
        ]
        .into_iter()
        .flatten()
        .min()
        .map_or(END, Instant::as_millis);
        now_ms = now_ms
            .saturating_add(steps.next().unwrap_or(u64::MAX))
            .min(deadline)
            .max(now_ms);
        // Waking up early is allowed: both sides are told the time at every step.
        client.handle_timeout(Instant::from_millis(now_ms));
        server.handle_timeout(Instant::from_millis(now_ms));
    }
    (written, events)
}

#[test]
fn the_timing_script_pings_and_acknowledges() {
    let (written, events) = run_with_steps(&[u64::MAX]);
    let pings = events
        .iter()
        .filter(|(_, event)| matches!(event, ClientEvent::PingResponse { .. }))
        .count();
    assert!(pings >= 3, "{events:?}");
    let mut bytes: Vec<u8> = written
        .iter()
        .flat_map(|(_, bytes)| bytes.clone())
        .collect();
    let mut decoder = crate::chunk::ChunkDecoder::new(crate::Limits::default());
    let mut rest = &bytes.split_off(CLIENT_HANDSHAKE_LEN)[..];
    let (mut acks, mut ping_requests) = (0, 0);
    while let Some(raw) = decoder.decode(&mut rest).unwrap() {
        match Message::decode(&raw, &crate::Limits::default()).unwrap() {
            Message::Acknowledgement { .. } => acks += 1,
            Message::UserControl(UserControl::PingRequest { .. }) => ping_requests += 1,
            _ => {}
        }
    }
    assert!(acks >= 8, "{acks} acknowledgements");
    assert!(ping_requests >= 3, "{ping_requests} ping requests");
    let media = events
        .iter()
        .filter(|(_, event)| matches!(event, ClientEvent::Audio { .. } | ClientEvent::Video { .. }))
        .count();
    assert_eq!(media, 38);
    assert!(!events
        .iter()
        .any(|(_, event)| matches!(event, ClientEvent::Closed(_))));
}

proptest! {
    #![proptest_config(crate::test_support::proptest_config!("client"))]

    #[test]
    fn nginx_play_split_anywhere_gives_the_same_events(
        mut splits in proptest::collection::vec(0..FFMPEG_PLAY_S2C.len(), 0..48),
    ) {
        splits.sort_unstable();
        let whole = feed_split(&mut play_client(), FFMPEG_PLAY_S2C, &[]);
        let split = feed_split(&mut play_client(), FFMPEG_PLAY_S2C, &splits);
        prop_assert_eq!(split, whole);
    }

    #[test]
    fn time_advancing_in_any_steps_gives_the_same_pings_and_acks(
        steps in proptest::collection::vec(1u64..5_000, 1..12),
    ) {
        let reference = run_with_steps(&[u64::MAX]);
        prop_assert_eq!(run_with_steps(&steps), reference);
    }
}
