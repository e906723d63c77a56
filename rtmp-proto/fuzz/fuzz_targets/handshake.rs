//! Arbitrary bytes to a handshake server and to a handshake client, each fed once whole and once
//! split at a fuzzer-chosen point: no panic, and both feedings must agree exactly.
//!
//! Input layout: one configuration byte, two bytes of split point (little-endian), then the
//! bytes the peer sends (C0C1C2 for the server, S0S1S2 for the client; both roles get them).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rtmp_proto::handshake::{
    ClientConfig, ClientHandshake, ClientMode, DigestLayout, HandshakeError, HandshakeMode,
    ServerAccept, ServerConfig, ServerHandshake, PACKET_LEN,
};

/// The most a handshake may consume: C0/S0 and two packets.
const HANDSHAKE_BYTES: usize = 1 + 2 * PACKET_LEN;

#[path = "common/mod.rs"]
mod common;
use common::FixedRng;

/// What one feeding produced, to compare the whole and the split feedings.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: Result<usize, HandshakeError>,
    sent: Vec<u8>,
    complete: bool,
    mode: Option<HandshakeMode>,
    response_valid: Option<bool>,
}

trait Role {
    fn input(&mut self, bytes: &[u8]) -> Result<usize, HandshakeError>;
    fn output(&mut self) -> Option<Bytes>;
    fn outcome(&self, result: Result<usize, HandshakeError>, sent: Vec<u8>) -> Outcome;
}

impl Role for ServerHandshake {
    fn input(&mut self, bytes: &[u8]) -> Result<usize, HandshakeError> {
        self.handle_input(7, bytes)
    }
    fn output(&mut self) -> Option<Bytes> {
        self.poll_output()
    }
    fn outcome(&self, result: Result<usize, HandshakeError>, sent: Vec<u8>) -> Outcome {
        Outcome {
            result,
            sent,
            complete: self.is_complete(),
            mode: self.mode(),
            response_valid: self.peer_response_valid(),
        }
    }
}

impl Role for ClientHandshake {
    fn input(&mut self, bytes: &[u8]) -> Result<usize, HandshakeError> {
        self.handle_input(7, bytes)
    }
    fn output(&mut self) -> Option<Bytes> {
        self.poll_output()
    }
    fn outcome(&self, result: Result<usize, HandshakeError>, sent: Vec<u8>) -> Outcome {
        Outcome {
            result,
            sent,
            complete: self.is_complete(),
            mode: self.mode(),
            response_valid: self.peer_response_valid(),
        }
    }
}

fn drain(role: &mut impl Role, sent: &mut Vec<u8>) {
    while let Some(bytes) = role.output() {
        sent.extend_from_slice(&bytes);
    }
}

/// Feeds `pieces` in turn, stopping at the first error, and collects everything sent.
fn feed(role: &mut impl Role, pieces: &[&[u8]]) -> Outcome {
    let mut sent = Vec::new();
    drain(role, &mut sent);
    let mut total = 0;
    for piece in pieces {
        let result = role.input(piece);
        drain(role, &mut sent);
        match result {
            Ok(taken) => {
                assert!(taken <= piece.len());
                total += taken;
            }
            Err(error) => {
                // Sticky: the same error again, whatever comes next.
                assert_eq!(role.input(b"more"), Err(error.clone()));
                return role.outcome(Err(error), sent);
            }
        }
    }
    role.outcome(Ok(total), sent)
}

fn check(mut whole: impl Role, mut split: impl Role, input: &[u8], at: usize) {
    let (head, tail) = input.split_at(at);
    let expected = feed(&mut whole, &[input]);
    assert_eq!(feed(&mut split, &[head, tail]), expected);
    if let Ok(consumed) = expected.result {
        assert_eq!(consumed, input.len().min(HANDSHAKE_BYTES));
        assert_eq!(expected.complete, input.len() >= HANDSHAKE_BYTES);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some((split_field, input)) = rest.split_first_chunk::<2>() else {
        return;
    };
    let at = usize::from(u16::from_le_bytes(*split_field)) % (input.len() + 1);

    let mut server_config = ServerConfig::default();
    server_config.accept = match selector & 0b11 {
        1 => ServerAccept::DigestOnly,
        2 => ServerAccept::PlainOnly,
        _ => ServerAccept::DigestOrPlain,
    };
    server_config.require_valid_c2 = selector & 0b100 != 0;
    let mut client_config = ClientConfig::default();
    client_config.mode = match (selector >> 3) & 0b11 {
        1 => ClientMode::Plain,
        2 => ClientMode::Digest(DigestLayout::Two),
        _ => ClientMode::Digest(DigestLayout::One),
    };
    client_config.tolerate_invalid_server_digest = selector & 0b10_0000 != 0;
    client_config.require_valid_s2 = selector & 0b100_0000 != 0;

    let server = || ServerHandshake::new(server_config.clone(), &mut FixedRng(2), 2000);
    check(server(), server(), input, at);
    let client = || ClientHandshake::new(client_config.clone(), &mut FixedRng(1), 1000);
    check(client(), client(), input, at);
});
