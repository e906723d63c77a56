//! A client connection after a valid handshake (fixed seeds) driven by the fuzzer: arbitrary
//! server bytes interleaved with timeouts, partial writes and every API call.
//!
//! Input: a sequence of operations, each an opcode byte and its operands (see `Op`); a feed
//! operation carries a 16-bit little-endian length and then that many server bytes. The
//! connection must never panic, must report `Closed` exactly once as its last event when it
//! ends, and must then refuse every input and command.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rtmp_proto::handshake::{ServerConfig, ServerHandshake};
use rtmp_proto::message::{Command, Data, Message, UserControl};
use rtmp_proto::session::client::{
    ClientConnection, ClientConnectionConfig, ClientEvent, ConnectionStatus, PlayOptions,
    PlayStart, PublishType,
};
use rtmp_proto::session::{ApiError, Instant, SessionConfig};
use rtmp_proto::Value;

#[path = "common/mod.rs"]
mod common;
use common::FixedRng;

fn config() -> ClientConnectionConfig {
    let mut session = SessionConfig::default();
    session.max_pending_requests = 8;
    session.max_message_streams = 4;
    session.outbound_high_water = 64 * 1024;
    session.outbound_low_water = 16 * 1024;
    session.outbound_max = 1024 * 1024;
    session.ping_interval = Some(core::time::Duration::from_secs(5));
    session.idle_timeout = Some(core::time::Duration::from_secs(60));
    let mut config = ClientConnectionConfig::publisher("live", "rtmp://fuzz/live");
    config.session = session;
    config
}

fn new_client() -> ClientConnection {
    ClientConnection::new(config(), &mut FixedRng(1), Instant::from_millis(0))
}

/// A server's valid S0S1S2 (digest handshake) answering the client's C0C1, computed once.
fn s0s1s2() -> &'static [u8] {
    static ANSWER: OnceLock<Vec<u8>> = OnceLock::new();
    ANSWER.get_or_init(|| {
        let mut client = new_client();
        let mut c0c1 = Vec::new();
        if let Some(out) = client.poll_transmit() {
            out.copy_to(&mut c0c1);
        }
        let mut server = ServerHandshake::new(ServerConfig::default(), &mut FixedRng(2), 0);
        server
            .handle_input(0, &c0c1)
            .expect("the server takes C0C1");
        let mut answer = Vec::new();
        while let Some(bytes) = server.poll_output() {
            answer.extend_from_slice(&bytes);
        }
        answer
    })
}

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn bytes(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        taken
    }

    fn name(&mut self) -> String {
        let len = usize::from(self.byte() % 16);
        String::from_utf8_lossy(self.bytes(len)).into_owned()
    }

    /// An existing stream most of the time, or any small id.
    fn stream(&mut self, client: &ClientConnection) -> u32 {
        let pick = self.byte();
        if pick < 0xC0 {
            let count = client.streams().count();
            if count > 0 {
                if let Some((id, _)) = client.streams().nth(usize::from(pick) % count) {
                    return id;
                }
            }
        }
        u32::from(pick & 0x07)
    }
}

/// What the fuzzer checks about the events.
#[derive(Default)]
struct Observer {
    closed: bool,
}

impl Observer {
    fn drain(&mut self, client: &mut ClientConnection) {
        while let Some(event) = client.poll_event() {
            assert!(!self.closed, "an event after Closed: {event:?}");
            if let ClientEvent::Closed(_) = event {
                self.closed = true;
            }
        }
        let config = config();
        assert!(client.pending_requests() <= config.session.max_pending_requests + 1);
        assert!(client.streams().count() <= config.session.max_message_streams);
        if self.closed {
            assert_eq!(client.status(), ConnectionStatus::Closed);
            assert!(client.error().is_some());
            assert_eq!(client.poll_timeout(), None);
        }
    }
}

fn play_options(input: &mut Input) -> PlayOptions {
    let flags = input.byte();
    let mut options = PlayOptions::default();
    options.start = match flags & 3 {
        0 => PlayStart::LiveOrRecorded,
        1 => PlayStart::Live,
        _ => PlayStart::Recorded(input.u32()),
    };
    options.duration = (flags & 4 != 0).then(|| f64::from(input.u16()));
    options.reset = (flags & 8 != 0).then_some(flags & 16 != 0);
    options.buffer_length = (flags & 32 != 0).then(|| u32::from(input.u16()));
    options
}

fn publish_type(byte: u8) -> PublishType {
    match byte % 3 {
        0 => PublishType::Live,
        1 => PublishType::Record,
        _ => PublishType::Append,
    }
}

fn run(data: &[u8]) {
    let mut client = new_client();
    let mut observer = Observer::default();
    let mut now = Instant::from_millis(0);
    client
        .handle_input(now, s0s1s2())
        .expect("a valid handshake answer");
    observer.drain(&mut client);
    let mut input = Input(data);
    while !input.0.is_empty() {
        let op = input.byte();
        let api: Result<(), ApiError> = match op % 32 {
            0 | 1 | 2 | 3 => {
                let len = usize::from(input.u16());
                let bytes = input.bytes(len);
                let result = if op % 2 == 0 {
                    client.handle_input(now, bytes)
                } else {
                    client.handle_input_bytes(now, Bytes::copy_from_slice(bytes))
                };
                if result.is_err() {
                    // Sticky: the same error again.
                    assert_eq!(client.handle_input(now, &[]), result);
                }
                Ok(())
            }
            4 => {
                now = now + core::time::Duration::from_millis(u64::from(input.u16()));
                client.handle_timeout(now);
                Ok(())
            }
            5 => {
                if let Some(deadline) = client.poll_timeout() {
                    now = now.max(deadline);
                }
                client.handle_timeout(now);
                Ok(())
            }
            6 => client.connect(),
            7 => client.create_stream().map(drop),
            8 => {
                let name = input.name();
                let kind = publish_type(input.byte());
                client.create_stream_to_publish(&name, kind).map(drop)
            }
            9 => {
                let name = input.name();
                let options = play_options(&mut input);
                client.create_stream_to_play(&name, options).map(drop)
            }
            10 => {
                let stream = input.stream(&client);
                let name = input.name();
                let kind = publish_type(input.byte());
                client.publish(stream, &name, kind)
            }
            11 => {
                let stream = input.stream(&client);
                let name = input.name();
                let options = play_options(&mut input);
                client.play(stream, &name, options)
            }
            12 => {
                let stream = input.stream(&client);
                let flag = input.byte() & 1 != 0;
                client.pause(stream, flag, f64::from(input.u32()))
            }
            13 => {
                let stream = input.stream(&client);
                client.seek(stream, f64::from(input.u32()))
            }
            14 => {
                let stream = input.stream(&client);
                let flags = input.byte();
                if flags & 1 == 0 {
                    client.receive_audio(stream, flags & 2 != 0)
                } else {
                    client.receive_video(stream, flags & 2 != 0)
                }
            }
            15 => {
                let stream = input.stream(&client);
                client.set_buffer_length(stream, input.u32()).map(drop)
            }
            16 => {
                let stream = input.stream(&client);
                client.close_stream(stream)
            }
            17 => {
                let stream = input.stream(&client);
                client.delete_stream(stream)
            }
            18 => {
                let stream = input.stream(&client);
                client.fc_unpublish(stream)
            }
            19 => {
                let name = input.name();
                let argument = Value::from(input.name());
                client.call(&name, Value::Null, vec![argument]).map(drop)
            }
            20 | 21 => {
                let stream = input.stream(&client);
                let timestamp = input.u32();
                let len = usize::from(input.u16() % 20_000);
                let payload = Bytes::copy_from_slice(input.bytes(len));
                let delta = timestamp & 0x8000_0000 != 0;
                match (op % 32 == 20, delta) {
                    (true, false) => client.send_audio(stream, timestamp, payload),
                    (true, true) => client.send_audio_delta(stream, timestamp & 0xFF, payload),
                    (false, false) => client.send_video(stream, timestamp, payload),
                    (false, true) => client.send_video_delta(stream, timestamp & 0xFF, payload),
                }
                .map(drop)
            }
            22 => {
                let stream = input.stream(&client);
                let width = input.u16();
                client
                    .send_metadata(stream, rtmp_proto::amf_object! { "width" => width })
                    .map(drop)
            }
            23 => {
                let stream = input.stream(&client);
                let timestamp = input.u32();
                let text = Value::from(input.name());
                let data = Data::new(vec![Value::from("onTextData"), text]);
                client.send_data(stream, timestamp, data).map(drop)
            }
            24 => client.ping(now),
            25 => {
                client.close();
                Ok(())
            }
            26 => {
                let allowed = usize::from(input.u16()) * 16;
                if let Some(out) = client.poll_transmit() {
                    let written = allowed.min(out.len());
                    out.advance(written);
                }
                Ok(())
            }
            27 => {
                while let Some(out) = client.poll_transmit() {
                    let written = out.len();
                    out.advance(written);
                }
                Ok(())
            }
            28 => {
                let transaction = f64::from(input.u16());
                let answer = Command::result(transaction, Value::Null, vec![Value::Null]);
                client.send_command(0, answer).map(drop)
            }
            29 => {
                let stream = input.stream(&client);
                let name = input.name();
                let parameters = rtmp_proto::amf::Object::new().with("streamName", name);
                client.play2(stream, parameters)
            }
            30 => {
                let stream = input.stream(&client);
                let event = UserControl::StreamBegin { stream_id: stream };
                client
                    .send_message(0, 0, &Message::UserControl(event))
                    .map(drop)
            }
            _ => {
                let stream = input.stream(&client);
                let name = input.name();
                client
                    .call_on_stream(stream, &name, Value::Null, Vec::new())
                    .map(drop)
            }
        };
        if observer.closed {
            // Once ended, every command is refused as Closed (close itself does nothing).
            assert!(matches!(api, Ok(()) | Err(ApiError::Closed)), "{api:?}");
        }
        observer.drain(&mut client);
        if client.pending_bytes() > 4 * 1024 * 1024 {
            while let Some(out) = client.poll_transmit() {
                let written = out.len();
                out.advance(written);
            }
        }
    }
    if observer.closed {
        assert!(client.handle_input(now, &[0]).is_err());
        assert_eq!(client.create_stream(), Err(ApiError::Closed));
    }
}

fuzz_target!(|data: &[u8]| run(data));
