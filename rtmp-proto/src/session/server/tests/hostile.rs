//! What a hostile peer can make the server spend or wait for, bounded.

use alloc::vec::Vec;

use super::*;

/// The client's queued output as bytes, not handed to the server.
fn client_bytes(h: &mut Harness) -> Vec<u8> {
    let mut bytes = Vec::new();
    while let Some(out) = h.client.poll_transmit() {
        out.copy_to(&mut bytes);
        out.clear();
    }
    bytes
}

#[test]
fn pings_never_read_end_the_connection_at_the_bound() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let ping = Message::UserControl(UserControl::PingRequest { timestamp: 1 });
    let mut sent = 0;
    let mut result = Ok(());
    // Feeds pings and never takes the server's output, as a peer that does not read.
    while result.is_ok() && sent < 100_000 {
        for _ in 0..1000 {
            h.client.queue_control(&ping);
        }
        sent += 1000;
        let bytes = client_bytes(&mut h);
        result = h.server.handle_input(h.now, &bytes);
    }
    assert_eq!(result, Err(SessionError::OutboundQueueFull));
    let bound = SessionConfig::default().outbound_command_max;
    assert!(h.server.pending_bytes() <= bound + 64 * 1024);
    assert!(sent <= 20_000, "closed after {sent} pings");
    assert_eq!(
        h.events(),
        [ServerEvent::Closed(SessionError::OutboundQueueFull)]
    );
}

#[test]
fn create_streams_never_read_end_the_connection_at_the_bound() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let mut result = Ok(());
    let mut sent = 0;
    while result.is_ok() && sent < 100_000 {
        let mut bytes = Vec::new();
        for _ in 0..100 {
            let create = command("createStream", 2.0, vec![]);
            let _ = h.client.send_message(0, 0, &create).unwrap();
            bytes.extend(client_bytes(&mut h));
        }
        sent += 100;
        result = h.server.handle_input(h.now, &bytes);
    }
    let _ = result;
    assert!(
        h.server.is_closed(),
        "still open after {sent} createStreams"
    );
    assert_eq!(h.server.error(), Some(&SessionError::OutboundQueueFull));
}

#[test]
fn a_client_that_does_not_connect_in_time_is_closed() {
    // The harness completes the handshake at instant 0.
    let mut h = Harness::new(ServerConnectionConfig::default());
    assert_eq!(h.server.poll_timeout(), Some(Instant::from_millis(10_000)));
    h.server.handle_timeout(Instant::from_millis(9_999));
    assert_eq!(h.events(), []);
    h.server.handle_timeout(Instant::from_millis(10_000));
    assert_eq!(
        h.events(),
        [ServerEvent::Closed(SessionError::ConnectTimeout)]
    );

    // A connect in time clears it; the client then has 10 s more to publish or play.
    let mut h = Harness::new(ServerConnectionConfig::default());
    h.now = Instant::from_millis(9_000);
    h.send(0, connect(amf_object! { "app" => "live" }));
    let id = h.connect_request().id;
    h.server.accept_connect(id).unwrap();
    // Commands carry no time: the connection's latest input time is taken.
    assert_eq!(h.server.poll_timeout(), Some(Instant::from_millis(19_000)));
    h.server.handle_timeout(Instant::from_millis(19_000));
    assert_eq!(
        h.events(),
        [ServerEvent::Closed(SessionError::StreamTimeout)]
    );
}

#[test]
fn publishing_or_playing_in_time_clears_the_deadline() {
    for publish in [true, false] {
        let mut h = Harness::connected(ServerConnectionConfig::default());
        h.now = Instant::from_millis(9_000);
        if publish {
            let _ = h.publishing("cam");
        } else {
            let _ = h.playing("cam");
        }
        let idle = Instant::from_millis(9_000 + 60_000);
        assert_eq!(h.server.poll_timeout(), Some(idle));
        h.server.handle_timeout(Instant::from_millis(20_000));
        assert_eq!(h.events(), []);
    }

    // Disabled, only the idle timeout is left.
    let mut config = ServerConnectionConfig::default();
    config.options.connect_timeout = None;
    let h = Harness::new(config);
    assert_eq!(h.server.poll_timeout(), Some(Instant::from_millis(60_000)));
}

/// Set Chunk Size 65536, then the first `sent` bytes of a video message that says it is
/// 16 MiB long, on chunk stream 6.
fn partial_video(sent: usize) -> Vec<u8> {
    let mut bytes = vec![0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 1, 0, 0];
    bytes.extend_from_slice(&[0x06, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0]);
    let mut left = sent;
    while left > 0 {
        if left != sent {
            bytes.push(0xC6);
        }
        let chunk = left.min(65536);
        bytes.extend(core::iter::repeat_n(0x27, chunk));
        left -= chunk;
    }
    bytes
}

#[test]
fn partial_messages_share_the_budget_and_the_largest_go() {
    let budget = crate::MemoryBudget::new(1024 * 1024);
    let mut config = ServerConnectionConfig::default();
    config.session.memory_budget = Some(budget.clone());
    let mut bystander = Harness::connected(config.clone());
    let stream = bystander.playing("cam");
    let mut attackers: Vec<Harness> = (0..4).map(|_| Harness::connected(config.clone())).collect();
    assert_eq!(budget.connections(), 5);
    let mut refused = 0;
    for attacker in &mut attackers {
        // Each holds what arrived of its message in one read, 400 KiB: the third and the
        // fourth would take the budget past its limit.
        let input = partial_video(400 * 1024);
        match attacker.server.handle_input(attacker.now, &input) {
            Ok(()) => {}
            Err(SessionError::MemoryBudgetExceeded) => refused += 1,
            Err(other) => panic!("{other}"),
        }
        assert!(budget.used() <= budget.limit(), "{budget:?}");
    }
    assert!(refused >= 2, "{refused} refused, {budget:?}");
    // The bystander is untouched and still takes media.
    let frame = Bytes::from_static(&[0x17, 1, 0, 0, 0, 0xAA]);
    assert_eq!(
        bystander.server.send_video(stream, 0, frame),
        Ok(SendStatus::Queued)
    );
    bystander.drive();
    assert!(!bystander.server.is_closed());
    // Everything comes back as the attackers go.
    drop(attackers);
    assert_eq!(budget.connections(), 1);
    assert!(budget.used() <= 16 * 1024, "{budget:?}");
}

#[test]
fn a_flood_of_empty_video_to_a_player_counts_its_slots() {
    let budget = crate::MemoryBudget::new(256 * 1024);
    let mut config = ServerConnectionConfig::default();
    config.session.memory_budget = Some(budget.clone());
    config.session.drop_video_when_congested = false;
    let mut player = Harness::connected(config);
    let stream = player.playing("cam");
    let mut sent = 0;
    while player.server.send_video(stream, 0, Bytes::new()).is_ok() {
        sent += 1;
        assert!(sent < 1_000_000);
    }
    assert_eq!(
        player.server.error(),
        Some(&SessionError::MemoryBudgetExceeded)
    );
    // The slots filled the budget, but for the little else the connection holds (its output).
    assert!(sent * crate::session::queue::MESSAGE_OVERHEAD >= 255 * 1024);
}

#[test]
fn input_fed_in_steps_gives_the_same_events_and_empty_media_none() {
    let mut whole = Harness::connected(ServerConnectionConfig::default());
    let mut steps = Harness::connected(ServerConnectionConfig::default());
    let mut input = Vec::new();
    for h in [&mut whole, &mut steps] {
        let stream = h.publishing("cam");
        let _ = h.events();
        for index in 0..300u32 {
            // Every other frame empty: no tag header, dropped without an event.
            let payload = if index % 2 == 0 {
                Bytes::new()
            } else {
                Bytes::from_static(&[0x27, 1, 0, 0, 0, 0xAB])
            };
            let video = Message::Video(payload);
            let _ = h.client.send_message(stream, index, &video).unwrap();
        }
        input = client_bytes(h);
    }
    whole
        .server
        .handle_input_bytes(whole.now, Bytes::from(input.clone()))
        .unwrap();
    let expected = whole.events();
    assert_eq!(expected.len(), 150);
    let mut rest = Bytes::from(input);
    let mut got = Vec::new();
    let mut calls = 0;
    while !rest.is_empty() {
        let before = rest.len();
        steps
            .server
            .handle_input_some(steps.now, &mut rest, 16)
            .unwrap();
        assert!(rest.len() < before);
        got.extend(steps.events());
        calls += 1;
    }
    assert!(calls >= 300 / 16);
    assert_eq!(got, expected);
}

#[test]
fn a_peer_that_does_not_read_gets_no_last_word() {
    let mut h = Harness::connected(ServerConnectionConfig::default());
    let ping = Message::UserControl(UserControl::PingRequest { timestamp: 1 });
    let mut result = Ok(());
    for _ in 0..40 {
        for _ in 0..1000 {
            h.client.queue_control(&ping);
        }
        let bytes = client_bytes(&mut h);
        result = h.server.handle_input(h.now, &bytes);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(SessionError::OutboundQueueFull));
    // Nothing is left to write: the adapter closes at once instead of lingering.
    assert!(h.server.poll_transmit().is_none());
    assert_eq!(h.server.pending_bytes(), 0);
}

/// A connection made from `config` with `budget` as its memory budget.
fn budgeted(budget: &crate::MemoryBudget) -> Harness {
    let mut config = ServerConnectionConfig::default();
    config.session.memory_budget = Some(budget.clone());
    Harness::connected(config)
}

/// An `onTextData` data message carrying `value`.
fn text_data(value: Value) -> crate::message::Data {
    crate::message::Data::new(vec![Value::from("onTextData"), value])
}

/// What the budget counts per connection is rounded up to this.
const GRAIN: usize = 16 * 1024;

#[test]
fn input_held_for_an_answer_counts_against_the_budget_and_comes_back() {
    let budget = crate::MemoryBudget::new(8 * 1024 * 1024);
    let mut h = budgeted(&budget);
    let stream = h.create_stream(2.0);
    h.send(stream, command("publish", 3.0, vec!["cam".into()]));
    let Some(ServerEvent::PublishRequest(request)) = h.events().pop() else {
        panic!("expected a publish request");
    };
    let before = budget.used();
    // Media sent before the answer is held, and counted.
    let frame = Bytes::from(vec![0x27; 100 * 1024]);
    for _ in 0..3 {
        h.send(stream, Message::Video(frame.clone()));
    }
    assert!(h.events().is_empty());
    let held = h.server.held_bytes;
    assert!(held >= 300 * 1024, "{held}");
    assert!(h.server.core.held_bytes() >= held);
    assert!(budget.used() >= before + held, "{budget:?}");
    // Answered: the held input goes to the application and the budget gets it back.
    h.server.accept_publish(request.id).unwrap();
    h.drive();
    assert_eq!(h.server.held_bytes, 0);
    assert!(h.server.core.held_bytes() <= GRAIN);
    assert!(budget.used() <= GRAIN, "{budget:?}");
    drop(h);
    assert_eq!((budget.used(), budget.connections()), (0, 0));
}

#[test]
fn input_held_past_the_budget_ends_the_connection_and_is_given_back() {
    let budget = crate::MemoryBudget::new(256 * 1024);
    let mut h = budgeted(&budget);
    let stream = h.create_stream(2.0);
    h.send(stream, command("publish", 3.0, vec!["cam".into()]));
    let _ = h.events();
    let frame = Bytes::from(vec![0x27; 100 * 1024]);
    for _ in 0..3 {
        h.send(stream, Message::Video(frame.clone()));
    }
    // 300 KiB held, within the server's own 8 MiB bound but not within the 256 KiB budget.
    assert_eq!(
        h.events(),
        [ServerEvent::Closed(SessionError::MemoryBudgetExceeded)]
    );
    assert_eq!(h.server.held_bytes, 0);
    // Closed, not yet dropped: nothing is counted any more.
    assert_eq!(budget.used(), 0, "{budget:?}");
    assert_eq!(budget.connections(), 1);
    drop(h);
    assert_eq!((budget.used(), budget.connections()), (0, 0));
}

#[test]
fn a_close_gives_back_held_input_at_once() {
    let budget = crate::MemoryBudget::new(8 * 1024 * 1024);
    let mut h = budgeted(&budget);
    let stream = h.create_stream(2.0);
    h.send(stream, command("publish", 3.0, vec!["cam".into()]));
    let _ = h.events();
    h.send(stream, Message::Video(Bytes::from(vec![0x27; 200 * 1024])));
    assert!(budget.used() >= 200 * 1024, "{budget:?}");
    h.server.close();
    assert_eq!(h.events(), [ServerEvent::Closed(SessionError::Closed)]);
    assert!(h.server.core.held_bytes() <= GRAIN);
    // What may still be written (nothing owned here) is all that stays counted.
    assert!(budget.used() <= GRAIN, "{budget:?}");
}

#[test]
fn chunked_output_counts_against_the_budget_until_written() {
    let budget = crate::MemoryBudget::new(8 * 1024 * 1024);
    let mut h = budgeted(&budget);
    let stream = h.playing("cam");
    assert!(budget.used() <= GRAIN, "{budget:?}");
    // A 40 KiB data message: owned by this connection, from the queue into the output.
    let big = Value::String(alloc::string::String::from_utf8(vec![b'x'; 40 * 1024]).unwrap());
    let _ = h.server.send_data(stream, 0, text_data(big)).unwrap();
    let (len, owned) = h
        .server
        .poll_transmit()
        .map(|out| (out.len(), out.owned_len()))
        .unwrap();
    assert!(len > 40 * 1024);
    assert_eq!(owned, len);
    assert!(budget.used() >= 40 * 1024, "{budget:?}");
    // Written: given back at the next poll.
    h.server.poll_transmit().unwrap().advance(len);
    assert!(h.server.poll_transmit().is_none());
    assert_eq!(h.server.core.held_bytes(), 0);
    assert_eq!(budget.used(), 0, "{budget:?}");
    // Video is shared with the other players: only its chunk headers are this connection's.
    let frame = Bytes::from(vec![0x27; 40 * 1024]);
    let _ = h.server.send_video(stream, 0, frame).unwrap();
    let (len, owned) = h
        .server
        .poll_transmit()
        .map(|out| (out.len(), out.owned_len()))
        .unwrap();
    assert!(len > 40 * 1024 && owned < 1024, "{len} {owned}");
    assert!(budget.used() <= GRAIN, "{budget:?}");
    drop(h);
    assert_eq!((budget.used(), budget.connections()), (0, 0));
}

#[test]
fn chunked_output_past_the_budget_ends_the_connection_and_is_given_back() {
    let budget = crate::MemoryBudget::new(48 * 1024);
    let mut h = budgeted(&budget);
    let stream = h.playing("cam");
    let text =
        |size: usize| Value::String(alloc::string::String::from_utf8(vec![b'x'; size]).unwrap());
    // Two 30 KiB messages: the first chunked and not written, the second queued behind it.
    let mut result = Ok(SendStatus::Queued);
    for _ in 0..2 {
        result = h.server.send_data(stream, 0, text_data(text(30 * 1024)));
        let _ = h.server.poll_transmit();
    }
    assert!(result.is_err() || h.server.is_closed());
    assert_eq!(h.server.error(), Some(&SessionError::MemoryBudgetExceeded));
    assert!(h.server.poll_transmit().is_none(), "nothing left to write");
    assert_eq!(budget.used(), 0, "{budget:?}");
}
