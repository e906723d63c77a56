//! A server connection after a valid handshake, given arbitrary chunk bytes interleaved with
//! timeouts and the application's commands, all chosen by the fuzzer. The application answers
//! every request. No panic; errors are sticky; `Closed` is the last event; a closed
//! connection has no deadline. When the operations are only inputs and the connection is still
//! up at the end, feeding all the bytes in one call gives the same events (or an error, since
//! more input may then wait for an answer than the limits allow).
//!
//! Input layout: one configuration byte, then operations. An operation is a byte whose top two
//! bits pick its kind and whose low six bits, with the next byte, make a 14-bit argument `n`:
//! - `00`: the next `n + 1` bytes are chunk stream input, fed with `handle_input`;
//! - `01`: the same, fed with `handle_input_bytes`;
//! - `10`: time advances by `16 * n` ms, then `handle_timeout`;
//! - `11`: an application command, picked by the low six bits, `n`'s low byte its parameter.
//!
//! Configuration bits: 1 lets the application answer calls (with a 1 s deadline), 2 sets tiny
//! limits, 4 pings after 1 s of silence, 8 makes the application refuse publish and play, 16
//! makes the adapter write only what command 8 allows.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rtmp_proto::amf::Value;
use rtmp_proto::handshake::{ClientConfig, ClientHandshake};
use rtmp_proto::message::Data;
use rtmp_proto::session::server::{
    RequestId, ServerConnection, ServerConnectionConfig, ServerEvent, StatusLevel, StreamKind,
};
use rtmp_proto::session::{ApiError, Instant, SessionError};

#[path = "common/mod.rs"]
mod common;
use common::FixedRng;

const SERVER_SEED: u64 = 0x5EED;

fn config(flags: u8) -> ServerConnectionConfig {
    let mut config = ServerConnectionConfig::default();
    if flags & 1 != 0 {
        config.options.call_answer_timeout = Some(Duration::from_secs(1));
    }
    if flags & 2 != 0 {
        let session = &mut config.session;
        session.limits.max_message_size = 64 * 1024;
        session.limits.max_chunk_streams = 8;
        session.limits.max_buffered_bytes = 128 * 1024;
        session.max_message_streams = 2;
        session.max_pending_requests = 3;
        session.outbound_high_water = 2048;
        session.outbound_low_water = 512;
        session.outbound_max = 64 * 1024;
        config.options.max_held_bytes = 4096;
    }
    if flags & 4 != 0 {
        config.session.ping_interval = Some(Duration::from_secs(1));
        config.session.ping_timeout = Duration::from_secs(2);
    }
    config
}

/// C0, C1 and C2 of a fixed-seed FFmpeg-like client (digest handshake) answering the
/// fixed-seed server: the same bytes every run, computed once.
fn client_handshake() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut server = ServerConnection::new(
            ServerConnectionConfig::default(),
            &mut FixedRng(SERVER_SEED),
            Instant::from_millis(0),
        );
        let mut client = ClientHandshake::new(ClientConfig::default(), &mut FixedRng(7), 0);
        let mut sent = Vec::new();
        for _ in 0..2 {
            while let Some(bytes) = client.poll_output() {
                sent.extend_from_slice(&bytes);
                server
                    .handle_input(Instant::from_millis(0), &bytes)
                    .expect("the handshake is valid");
            }
            while let Some(out) = server.poll_transmit() {
                let bytes = out.to_bytes();
                out.clear();
                client.handle_input(0, &bytes).expect("so is the answer");
            }
        }
        assert!(client.is_complete());
        sent
    })
}

struct Driver {
    server: ServerConnection,
    now: Instant,
    refuse: bool,
    slow_writer: bool,
    calls: Vec<RequestId>,
    closed_seen: bool,
    sticky: Option<SessionError>,
    /// Every event but `Writable` (which depends on how output was drained), as Debug text
    /// since NaN numbers do not equal themselves.
    log: Vec<String>,
}

impl Driver {
    fn input(&mut self, bytes: &[u8], as_bytes: bool) {
        let result = if as_bytes {
            self.server
                .handle_input_bytes(self.now, Bytes::copy_from_slice(bytes))
        } else {
            self.server.handle_input(self.now, bytes)
        };
        match (&self.sticky, result) {
            (Some(before), result) => assert_eq!(result.as_ref(), Err(before), "errors are sticky"),
            (None, Err(error)) => self.sticky = Some(error),
            (None, Ok(())) => assert!(!self.server.is_closed()),
        }
    }

    fn command(&mut self, which: u8, parameter: u8) {
        let stream = u32::from(parameter % 4);
        let timestamp = u32::from(parameter) * 40;
        let result: Result<(), ApiError> = match which {
            0 => self.server.ping(self.now),
            1 => self
                .server
                .send_video(
                    stream,
                    timestamp,
                    Bytes::from_static(&[0x17, 1, 0, 0, 0, 1]),
                )
                .map(drop),
            2 => self
                .server
                .send_video(
                    stream,
                    timestamp,
                    Bytes::from_static(&[0x27, 1, 0, 0, 0, 2]),
                )
                .map(drop),
            3 => self
                .server
                .send_audio(stream, timestamp, Bytes::from_static(&[0xAF, 1, 0x21]))
                .map(drop),
            4 => self
                .server
                .send_status(
                    stream,
                    StatusLevel::Status,
                    "NetStream.Play.PublishNotify",
                    "x",
                )
                .map(drop),
            5 => self
                .server
                .call("fuzz", vec![Value::from(parameter)])
                .map(drop),
            6 => self.server.send_stream_eof(stream).map(drop),
            7 => self
                .server
                .send_metadata(stream, Value::EcmaArray(vec![("w".into(), 1.0.into())]))
                .map(drop),
            8 => {
                if let Some(out) = self.server.poll_transmit() {
                    out.advance(usize::from(parameter) * 16);
                }
                Ok(())
            }
            9 => match self.calls.pop() {
                Some(id) => self.server.respond_call(id, Value::Null, vec![]),
                None => Ok(()),
            },
            10 => match self.calls.pop() {
                Some(id) => self.server.reject_call(id, "no"),
                None => Ok(()),
            },
            11 => self
                .server
                .send_data(stream, timestamp, Data::new(vec!["onCuePoint".into()]))
                .map(drop),
            12 => {
                self.server.close();
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(error) = result {
            // Misuse is expected here (unknown streams, calls before connect...), never a
            // refusal of a valid answer.
            assert!(!matches!(error, ApiError::Encode(_)), "{error:?}");
        }
    }

    /// Drains events, answering every request; then what is to be written.
    fn settle(&mut self) {
        while let Some(event) = self.server.poll_event() {
            assert!(!self.closed_seen, "an event after Closed: {event:?}");
            if event != ServerEvent::Writable {
                self.log.push(format!("{event:?}"));
            }
            let answer = match &event {
                ServerEvent::ConnectRequest(request) => self.server.accept_connect(request.id),
                ServerEvent::PublishRequest(request) if self.refuse => {
                    self.server
                        .reject_publish(request.id, "NetStream.Publish.BadName", "no")
                }
                ServerEvent::PublishRequest(request) => self.server.accept_publish(request.id),
                ServerEvent::PlayRequest(request) if self.refuse => {
                    self.server
                        .reject_play(request.id, "NetStream.Play.StreamNotFound", "no")
                }
                ServerEvent::PlayRequest(request) => {
                    self.server.accept_play(request.id, StreamKind::Live)
                }
                ServerEvent::Call(call) => {
                    self.calls.extend(call.id);
                    Ok(())
                }
                ServerEvent::Closed(_) => {
                    self.closed_seen = true;
                    Ok(())
                }
                _ => Ok(()),
            };
            // A request is answered once, right away: only an ended connection refuses.
            if let Err(error) = answer {
                assert_eq!(error, ApiError::Closed, "{event:?}");
            }
        }
        if self.server.is_closed() {
            assert_eq!(self.server.poll_timeout(), None);
        }
        if !self.slow_writer {
            while let Some(out) = self.server.poll_transmit() {
                out.clear();
            }
        }
    }
}

fn driver(flags: u8) -> Driver {
    let now = Instant::from_millis(0);
    let server = ServerConnection::new(config(flags), &mut FixedRng(SERVER_SEED), now);
    let mut driver = Driver {
        server,
        now,
        refuse: flags & 8 != 0,
        slow_writer: flags & 16 != 0,
        calls: Vec::new(),
        closed_seen: false,
        sticky: None,
        log: Vec::new(),
    };
    driver.input(client_handshake(), false);
    driver.settle();
    driver
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut ops)) = data.split_first() else {
        return;
    };
    let mut driver = driver(flags);
    let mut only_inputs = flags & 16 == 0;
    let mut all_input = Vec::new();
    while let [op, rest @ ..] = ops {
        let (low, rest) = match rest {
            [low, rest @ ..] => (*low, rest),
            [] => (0, rest),
        };
        let n = (usize::from(op & 0x3F) << 8) | usize::from(low);
        ops = rest;
        match op >> 6 {
            kind @ (0 | 1) => {
                let len = (n + 1).min(ops.len());
                let (input, rest) = ops.split_at(len);
                ops = rest;
                all_input.extend_from_slice(input);
                driver.input(input, kind == 1);
            }
            2 => {
                only_inputs = false;
                driver.now = driver.now + Duration::from_millis(16 * n as u64);
                driver.server.handle_timeout(driver.now);
            }
            _ => {
                only_inputs = false;
                driver.command(op & 0x3F, low);
            }
        }
        driver.settle();
    }
    if driver.sticky.is_some() {
        assert!(driver.server.is_closed());
    }
    if only_inputs && !driver.server.is_closed() {
        let mut whole = self::driver(flags);
        whole.input(&all_input, false);
        whole.settle();
        if !whole.server.is_closed() {
            assert_eq!(whole.log, driver.log, "the same input, split otherwise");
        }
    }
});
