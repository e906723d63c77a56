//! Tests of both roles together: golden bytes, a known-answer digest, every pairing of modes,
//! every split of the input, and hostile input.

use alloc::vec::Vec;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

use super::digest::{self, Signer};
use super::*;

// Reference material typed in from the published keys, independent of `digest.rs`.
const FLASH_PLAYER_TEXT: &[u8] = b"Genuine Adobe Flash Player 001";
const FMS_TEXT: &[u8] = b"Genuine Adobe Flash Media Server 001";
const KEY_TAIL: [u8; 32] = [
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
];

const HANDSHAKE_BYTES: usize = 1 + 2 * PACKET_LEN;

fn full_key(text: &[u8]) -> Vec<u8> {
    [text, &KEY_TAIL[..]].concat()
}

fn reference_hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Where each layout's offset field sits, written out again: bytes 8..12 or 772..776.
fn offset_field_at(layout: DigestLayout) -> usize {
    match layout {
        DigestLayout::One => 8,
        DigestLayout::Two => 772,
    }
}

/// The digest offset by the formula: (sum of the offset field) % 728 + the field's end.
fn reference_offset(packet: &[u8], layout: DigestLayout) -> usize {
    let field = offset_field_at(layout);
    let sum: usize = packet[field..field + 4]
        .iter()
        .map(|&b| usize::from(b))
        .sum();
    sum % 728 + field + 4
}

fn reference_digest_valid(packet: &[u8], layout: DigestLayout, key_text: &[u8]) -> bool {
    assert_eq!(packet.len(), PACKET_LEN);
    let offset = reference_offset(packet, layout);
    let expected = reference_hmac(key_text, &[&packet[..offset], &packet[offset + 32..]]);
    packet[offset..offset + 32] == expected
}

/// The C2/S2 signature: HMAC(HMAC(full key, peer digest), first 1504 bytes).
fn reference_response_valid(response: &[u8], peer_digest: &[u8], key_text: &[u8]) -> bool {
    let key = reference_hmac(&full_key(key_text), &[peer_digest]);
    response[1504..] == reference_hmac(&key, &[&response[..1504]])
}

fn sha256_hex(bytes: &[u8]) -> alloc::string::String {
    use core::fmt::Write;
    let mut hex = alloc::string::String::new();
    for byte in Sha256::digest(bytes) {
        write!(hex, "{byte:02x}").unwrap();
    }
    hex
}

fn packet(bytes: &[u8]) -> [u8; PACKET_LEN] {
    bytes.try_into().unwrap()
}

fn new_client(config: ClientConfig, seed: u64) -> ClientHandshake {
    ClientHandshake::new(config, &mut StdRng::seed_from_u64(seed), 1000)
}

fn new_server(config: ServerConfig, seed: u64) -> ServerHandshake {
    ServerHandshake::new(config, &mut StdRng::seed_from_u64(seed), 2000)
}

fn client_in(mode: ClientMode) -> ClientConfig {
    ClientConfig {
        mode,
        ..ClientConfig::default()
    }
}

fn server_accepting(accept: ServerAccept) -> ServerConfig {
    ServerConfig {
        accept,
        ..ServerConfig::default()
    }
}

fn concat(parts: impl IntoIterator<Item = Bytes>) -> Vec<u8> {
    parts.into_iter().flat_map(|part| part.to_vec()).collect()
}

/// The three transmissions of a handshake, each delivered whole.
struct Transcript {
    c0c1: Vec<u8>,
    s0s1s2: Vec<u8>,
    c2: Vec<u8>,
    client: ClientHandshake,
    server: ServerHandshake,
}

fn exchange(client_config: ClientConfig, server_config: ServerConfig) -> Transcript {
    let mut client = new_client(client_config, 1);
    let mut server = new_server(server_config, 2);
    let c0c1 = concat(core::iter::from_fn(|| client.poll_output()));
    assert_eq!(server.handle_input(2100, &c0c1), Ok(c0c1.len()));
    let s0s1s2 = concat(core::iter::from_fn(|| server.poll_output()));
    assert_eq!(client.handle_input(1100, &s0s1s2), Ok(s0s1s2.len()));
    let c2 = concat(core::iter::from_fn(|| client.poll_output()));
    assert_eq!(server.handle_input(2200, &c2), Ok(c2.len()));
    assert!(client.is_complete() && server.is_complete());
    assert_eq!(server.poll_output(), None);
    Transcript {
        c0c1,
        s0s1s2,
        c2,
        client,
        server,
    }
}

impl Transcript {
    /// C1, S1 and S2, once the transmissions are checked to be C0+C1, S0+S1+S2 and C2 with
    /// version 3.
    fn c1_s1_s2(&self) -> (&[u8], &[u8], &[u8]) {
        assert_eq!(
            (self.c0c1.len(), self.s0s1s2.len(), self.c2.len()),
            (1537, 3073, 1536)
        );
        assert_eq!((self.c0c1[0], self.s0s1s2[0]), (3, 3));
        (&self.c0c1[1..], &self.s0s1s2[1..1537], &self.s0s1s2[1537..])
    }

    /// Checks that both sides settled on `mode`, each found the other's C2/S2 a valid answer,
    /// and the three transmissions hash to `golden`.
    fn assert_settled(&self, mode: HandshakeMode, golden: [&str; 3]) {
        assert_eq!(self.client.mode(), Some(mode));
        assert_eq!(self.server.mode(), Some(mode));
        assert_eq!(self.client.peer_response_valid(), Some(true));
        assert_eq!(self.server.peer_response_valid(), Some(true));
        assert_eq!(
            [
                sha256_hex(&self.c0c1),
                sha256_hex(&self.s0s1s2),
                sha256_hex(&self.c2)
            ],
            golden
        );
    }
}

#[test]
fn golden_plain() {
    let t = exchange(client_in(ClientMode::Plain), ServerConfig::default());
    let (c1, s1, s2) = t.c1_s1_s2();
    assert_eq!(c1[..8], [0, 0, 0x03, 0xE8, 0, 0, 0, 0]);
    assert_eq!(s1[..8], [0, 0, 0x07, 0xD0, 0, 0, 0, 0]);
    // S2 echoes C1 with the server's read time; C2 echoes S1 with the client's.
    assert_eq!(s2[..8], [0, 0, 0x03, 0xE8, 0, 0, 0x08, 0x34]);
    assert_eq!(s2[8..], c1[8..]);
    assert_eq!(t.c2[..8], [0, 0, 0x07, 0xD0, 0, 0, 0x04, 0x4C]);
    assert_eq!(t.c2[8..], s1[8..]);
    assert_eq!(t.client.peer_epoch(), Some(2000));
    assert_eq!(t.server.peer_epoch(), Some(1000));
    t.assert_settled(HandshakeMode::Plain, GOLDEN_PLAIN);
}

fn check_golden_digest(layout: DigestLayout, golden: [&str; 3]) {
    let t = exchange(
        client_in(ClientMode::Digest(layout)),
        ServerConfig::default(),
    );
    let (c1, s1, s2) = t.c1_s1_s2();
    assert_eq!(c1[..8], [0, 0, 0x03, 0xE8, 9, 0, 124, 2]);
    assert_eq!(s1[..8], [0, 0, 0x07, 0xD0, 4, 5, 0, 1]);

    let c1_offset = reference_offset(c1, layout);
    let s1_offset = reference_offset(s1, layout);
    assert_eq!(
        digest::digest_offset(&packet(c1), layout),
        c1_offset,
        "our offset formula"
    );
    assert!(reference_digest_valid(c1, layout, FLASH_PLAYER_TEXT));
    assert!(reference_digest_valid(s1, layout, FMS_TEXT));
    assert!(!reference_digest_valid(
        c1,
        layout.other(),
        FLASH_PLAYER_TEXT
    ));
    let c1_digest = &c1[c1_offset..c1_offset + 32];
    let s1_digest = &s1[s1_offset..s1_offset + 32];
    assert!(reference_response_valid(s2, c1_digest, FMS_TEXT));
    assert!(reference_response_valid(
        &t.c2,
        s1_digest,
        FLASH_PLAYER_TEXT
    ));

    assert_eq!(t.client.peer_version_bytes(), Some([4, 5, 0, 1]));
    assert_eq!(t.server.peer_version_bytes(), Some([9, 0, 124, 2]));
    t.assert_settled(HandshakeMode::Digest(layout), golden);
}

#[test]
fn golden_digest_layout_one() {
    check_golden_digest(DigestLayout::One, GOLDEN_DIGEST_ONE);
}

#[test]
fn golden_digest_layout_two() {
    check_golden_digest(DigestLayout::Two, GOLDEN_DIGEST_TWO);
}

/// SHA-256 of C0C1, S0S1S2 and C2 for client seed 1, server seed 2, epochs 1000 and 2000.
const GOLDEN_PLAIN: [&str; 3] = [
    "32f0e008770586939f8461d0d8f07a33bd401edc1ff83ff58dfaeb8d71d345ce",
    "f0793bc84c282e4f32685b1f70521be4c4c2c54e953341d08d6101ce12434356",
    "6b0705d98097338c4c36b3e98f8b73477d4fa554f625c57e98ecffc1063129fd",
];
const GOLDEN_DIGEST_ONE: [&str; 3] = [
    "43cb23db945dc6e1368eec5237450f4d3957150d682def5ce1318ef968d75e97",
    "8c4dd3e46690fce347f8ada7020fc1902d88c6e03d6c0ac69afff69fcb77e8f5",
    "a20e56678cf3552f6260c62df72616e5e80bb96f9d0c54515464152eb6d64d06",
];
const GOLDEN_DIGEST_TWO: [&str; 3] = [
    "c944693510def1dc120a8982adf4c2519a3e0e2df253605043379eff984d1711",
    "a508e3cbf3ddaa1949989fe9ca1fd20ad9700da6bbc656409ffd276b3c466c49",
    "cc672f2608f7314d12c106d3e3c2ec23b36fb583afeddfda0ba0d46a49a0a83b",
];

/// A C1 built by hand, its digest computed with the `hmac` crate directly.
fn hand_made_c1(layout: DigestLayout, offset_field: [u8; 4]) -> ([u8; PACKET_LEN], usize) {
    let mut c1 = [0u8; PACKET_LEN];
    for (i, byte) in c1.iter_mut().enumerate() {
        *byte = (i % 251) as u8 ^ 0x5A;
    }
    c1[..8].copy_from_slice(&[0, 0, 0, 0, 10, 0, 32, 18]);
    let field = offset_field_at(layout);
    c1[field..field + 4].copy_from_slice(&offset_field);
    let offset = reference_offset(&c1, layout);
    let digest = reference_hmac(FLASH_PLAYER_TEXT, &[&c1[..offset], &c1[offset + 32..]]);
    c1[offset..offset + 32].copy_from_slice(&digest);
    (c1, offset)
}

#[test]
fn known_answer_digest_is_found_in_its_layout_and_a_bit_flip_breaks_it() {
    // 375 stays below 728; 775 wraps to 47.
    for (layout, field, expected_offset) in [
        (DigestLayout::One, [200, 100, 50, 25], 12 + 375),
        (DigestLayout::Two, [200, 100, 50, 25], 776 + 375),
        (DigestLayout::One, [255, 255, 255, 10], 12 + 47),
        (DigestLayout::Two, [255, 255, 255, 10], 776 + 47),
    ] {
        let (c1, offset) = hand_made_c1(layout, field);
        assert_eq!(offset, expected_offset);
        let found = digest::find_digest(&c1, Signer::Client, DigestLayout::One);
        assert_eq!(
            found,
            Some((layout, c1[offset..offset + 32].try_into().unwrap()))
        );
        assert_eq!(digest::find_digest(&c1, Signer::Server, layout), None);

        for flipped_at in [0, 5, offset_field_at(layout) + 1, offset, offset + 31, 1535] {
            let mut broken = c1;
            broken[flipped_at] ^= 0x01;
            let found = digest::find_digest(&broken, Signer::Client, layout);
            assert_eq!(found, None, "bit flip at {flipped_at}");
        }

        // A server answers this C1 in the same layout, with a digest and signature a reference
        // implementation accepts.
        let mut server = new_server(ServerConfig::default(), 3);
        let c0c1 = [&[3u8][..], &c1].concat();
        assert_eq!(server.handle_input(0, &c0c1), Ok(1537));
        assert_eq!(server.mode(), Some(HandshakeMode::Digest(layout)));
        let s0s1s2 = server.poll_output().unwrap();
        let (s1, s2) = (&s0s1s2[1..1537], &s0s1s2[1537..]);
        assert!(reference_digest_valid(s1, layout, FMS_TEXT));
        assert!(reference_response_valid(
            s2,
            &c1[offset..offset + 32],
            FMS_TEXT
        ));
    }
}

#[test]
fn server_falls_back_to_plain_on_a_digest_that_does_not_validate() {
    let (mut c1, offset) = hand_made_c1(DigestLayout::One, [1, 2, 3, 4]);
    c1[offset] ^= 0x80;
    let mut server = new_server(ServerConfig::default(), 3);
    assert_eq!(
        server.handle_input(7, &[&[3u8][..], &c1].concat()),
        Ok(1537)
    );
    assert_eq!(server.mode(), Some(HandshakeMode::Plain));
    let s0s1s2 = server.poll_output().unwrap();
    // Never non-zero version bytes without a valid digest.
    assert_eq!(s0s1s2[5..9], [0, 0, 0, 0]);
    assert_eq!(s0s1s2[1537..1541], c1[..4]);
    assert_eq!(s0s1s2[1541..1545], 7u32.to_be_bytes());
    assert_eq!(s0s1s2[1545..], c1[8..]);

    let mut strict = new_server(server_accepting(ServerAccept::DigestOnly), 3);
    let result = strict.handle_input(7, &[&[3u8][..], &c1].concat());
    assert_eq!(result, Err(HandshakeError::InvalidDigest));
    assert_eq!(strict.poll_output(), None);
}

#[test]
fn server_with_zero_version_answers_plain_even_to_a_digest() {
    let config = ServerConfig {
        version: [0; 4],
        ..ServerConfig::default()
    };
    let t = exchange(ClientConfig::default(), config);
    assert_eq!(t.s0s1s2[5..9], [0, 0, 0, 0]);
    assert_eq!(t.client.mode(), Some(HandshakeMode::Plain));
    assert_eq!(t.server.mode(), Some(HandshakeMode::Plain));
    assert_eq!(t.server.peer_response_valid(), Some(true));
    // The client's C1 carried a digest, but the plain echo is as good an answer.
    assert_eq!(t.client.peer_response_valid(), Some(true));
}

#[test]
fn client_with_zero_version_offers_plain() {
    let config = ClientConfig {
        version: [0; 4],
        ..ClientConfig::default()
    };
    let t = exchange(config, ServerConfig::default());
    assert_eq!(t.c0c1[5..9], [0, 0, 0, 0]);
    assert_eq!(t.server.mode(), Some(HandshakeMode::Plain));
}

#[test]
fn every_pairing_of_modes_agrees() {
    for (client_mode, accept, expected) in PAIRINGS {
        let t = exchange(client_in(client_mode), server_accepting(accept));
        assert_eq!(
            t.client.mode(),
            Some(expected),
            "{client_mode:?} {accept:?}"
        );
        assert_eq!(
            t.server.mode(),
            Some(expected),
            "{client_mode:?} {accept:?}"
        );
        assert_eq!(t.client.peer_response_valid(), Some(true));
        assert_eq!(t.server.peer_response_valid(), Some(true));
    }
}

const PAIRINGS: [(ClientMode, ServerAccept, HandshakeMode); 8] = [
    (
        ClientMode::Plain,
        ServerAccept::DigestOrPlain,
        HandshakeMode::Plain,
    ),
    (
        ClientMode::Digest(DigestLayout::One),
        ServerAccept::DigestOrPlain,
        HandshakeMode::Digest(DigestLayout::One),
    ),
    (
        ClientMode::Digest(DigestLayout::Two),
        ServerAccept::DigestOrPlain,
        HandshakeMode::Digest(DigestLayout::Two),
    ),
    (
        ClientMode::Digest(DigestLayout::One),
        ServerAccept::DigestOnly,
        HandshakeMode::Digest(DigestLayout::One),
    ),
    (
        ClientMode::Digest(DigestLayout::Two),
        ServerAccept::DigestOnly,
        HandshakeMode::Digest(DigestLayout::Two),
    ),
    (
        ClientMode::Plain,
        ServerAccept::PlainOnly,
        HandshakeMode::Plain,
    ),
    (
        ClientMode::Digest(DigestLayout::One),
        ServerAccept::PlainOnly,
        HandshakeMode::Plain,
    ),
    (
        ClientMode::Digest(DigestLayout::Two),
        ServerAccept::PlainOnly,
        HandshakeMode::Plain,
    ),
];

#[test]
fn server_requiring_digest_rejects_a_plain_client_and_stays_failed() {
    let mut client = new_client(client_in(ClientMode::Plain), 1);
    let mut server = new_server(server_accepting(ServerAccept::DigestOnly), 2);
    let c0c1 = client.poll_output().unwrap();
    assert_eq!(
        server.handle_input(0, &c0c1),
        Err(HandshakeError::DigestRequired)
    );
    assert_eq!(server.poll_output(), None);
    assert_eq!(server.error(), Some(&HandshakeError::DigestRequired));
    assert!(!server.is_complete());
    // Sticky: more input, even none, gets the same error.
    assert_eq!(
        server.handle_input(0, &[0; 10]),
        Err(HandshakeError::DigestRequired)
    );
    assert_eq!(
        server.handle_input(0, &[]),
        Err(HandshakeError::DigestRequired)
    );
}

/// S0 and an S1 claiming a digest that is not there.
fn s0s1_with_bad_digest() -> Vec<u8> {
    let mut s0s1 = alloc::vec![3u8; 1 + PACKET_LEN];
    s0s1[1..9].copy_from_slice(&[0, 0, 0, 1, 4, 5, 0, 1]);
    s0s1
}

#[test]
fn digest_client_rejects_a_server_digest_that_does_not_validate() {
    let mut client = new_client(ClientConfig::default(), 1);
    let _ = client.poll_output();
    let s0s1 = s0s1_with_bad_digest();
    assert_eq!(
        client.handle_input(0, &s0s1),
        Err(HandshakeError::InvalidDigest)
    );
    assert_eq!(client.poll_output(), None);
    assert_eq!(
        client.handle_input(0, &[1]),
        Err(HandshakeError::InvalidDigest)
    );
}

#[test]
fn tolerant_digest_client_answers_a_bad_server_digest_with_an_echo() {
    let config = ClientConfig {
        tolerate_invalid_server_digest: true,
        ..ClientConfig::default()
    };
    let mut client = new_client(config, 1);
    let _ = client.poll_output();
    let s0s1 = s0s1_with_bad_digest();
    assert_eq!(client.handle_input(0x0A0B, &s0s1), Ok(s0s1.len()));
    assert_eq!(client.mode(), Some(HandshakeMode::Plain));
    let c2 = client.poll_output().unwrap();
    assert_eq!(c2[..4], s0s1[1..5]);
    assert_eq!(c2[4..8], [0, 0, 0x0A, 0x0B]);
    assert_eq!(c2[8..], s0s1[9..]);
}

#[test]
fn plain_client_ignores_a_server_digest() {
    let mut client = new_client(client_in(ClientMode::Plain), 1);
    let _ = client.poll_output();
    let s0s1 = s0s1_with_bad_digest();
    assert_eq!(client.handle_input(0, &s0s1), Ok(s0s1.len()));
    assert_eq!(client.mode(), Some(HandshakeMode::Plain));
}

#[test]
fn versions_are_checked_on_both_sides() {
    for (version, expected) in [
        (6, Err(HandshakeError::EncryptionNotSupported(6))),
        (8, Err(HandshakeError::EncryptionNotSupported(8))),
        (9, Err(HandshakeError::EncryptionNotSupported(9))),
        (b'G', Err(HandshakeError::UnsupportedVersion(b'G'))),
        (255, Err(HandshakeError::UnsupportedVersion(255))),
        (0, Ok(1)),
        (4, Ok(1)),
        (31, Ok(1)),
    ] {
        let mut server = new_server(ServerConfig::default(), 1);
        assert_eq!(server.handle_input(0, &[version]), expected);
        assert_eq!(server.peer_version(), Some(version));
        let mut client = new_client(ClientConfig::default(), 1);
        assert_eq!(client.handle_input(0, &[version]), expected);
        assert_eq!(client.peer_version(), Some(version));
    }
}

#[test]
fn server_answers_version_three_to_any_accepted_version() {
    let mut client = new_client(ClientConfig::default(), 1);
    let mut c0c1 = client.poll_output().unwrap().to_vec();
    c0c1[0] = 4;
    let mut server = new_server(ServerConfig::default(), 2);
    assert_eq!(server.handle_input(0, &c0c1), Ok(1537));
    assert_eq!(server.poll_output().unwrap()[0], 3);
    assert_eq!(server.peer_version(), Some(4));
}

#[test]
fn nothing_is_sent_before_its_turn() {
    let mut client = new_client(ClientConfig::default(), 1);
    let mut server = new_server(ServerConfig::default(), 2);
    assert_eq!(server.poll_output(), None);
    let c0c1 = client.poll_output().unwrap();
    assert_eq!(client.poll_output(), None);
    // All of C1 but its last byte: no S0S1S2 yet.
    assert_eq!(server.handle_input(0, &c0c1[..1536]), Ok(1536));
    assert_eq!(server.poll_output(), None);
    assert_eq!(server.mode(), None);
    assert_eq!(server.handle_input(0, &c0c1[1536..]), Ok(1));
    let s0s1s2 = server.poll_output().unwrap();
    // S0 and all of S1 but its last byte: no C2 yet.
    assert_eq!(client.handle_input(0, &s0s1s2[..1536]), Ok(1536));
    assert_eq!(client.poll_output(), None);
    // The rest of S1 and part of S2: C2 is due, the client is not complete.
    assert_eq!(client.handle_input(0, &s0s1s2[1536..2000]), Ok(464));
    assert!(client.poll_output().is_some());
    assert!(!client.is_complete());
    assert_eq!(client.handle_input(0, &s0s1s2[2000..]), Ok(1073));
    assert!(client.is_complete());
    assert!(!server.is_complete());
}

#[test]
fn a_c2_that_answers_nothing_is_recorded_or_refused() {
    for require in [false, true] {
        let config = ServerConfig {
            require_valid_c2: require,
            ..ServerConfig::default()
        };
        let mut server = new_server(config, 2);
        let mut client = new_client(ClientConfig::default(), 1);
        let c0c1 = client.poll_output().unwrap();
        assert_eq!(server.handle_input(0, &c0c1), Ok(1537));
        let result = server.handle_input(0, &[0x55; PACKET_LEN]);
        if require {
            assert_eq!(result, Err(HandshakeError::ResponseMismatch));
        } else {
            assert_eq!(result, Ok(PACKET_LEN));
            assert!(server.is_complete());
            assert_eq!(server.peer_response_valid(), Some(false));
        }
    }
}

#[test]
fn an_s2_that_answers_nothing_is_recorded_or_refused() {
    for require in [false, true] {
        let config = ClientConfig {
            require_valid_s2: require,
            ..ClientConfig::default()
        };
        let mut client = new_client(config, 1);
        let mut server = new_server(ServerConfig::default(), 2);
        let c0c1 = client.poll_output().unwrap();
        assert_eq!(server.handle_input(0, &c0c1), Ok(1537));
        let mut s0s1s2 = server.poll_output().unwrap().to_vec();
        s0s1s2[2000] ^= 1;
        let result = client.handle_input(0, &s0s1s2);
        if require {
            assert_eq!(result, Err(HandshakeError::ResponseMismatch));
        } else {
            assert_eq!(result, Ok(s0s1s2.len()));
            assert!(client.is_complete());
            assert_eq!(client.peer_response_valid(), Some(false));
        }
    }
}

#[test]
fn bytes_after_the_handshake_are_left_to_the_caller() {
    let mut client = new_client(ClientConfig::default(), 1);
    let mut server = new_server(ServerConfig::default(), 2);
    let c0c1 = client.poll_output().unwrap();
    assert_eq!(server.handle_input(0, &c0c1), Ok(1537));
    let mut s0s1s2 = server.poll_output().unwrap().to_vec();
    s0s1s2.extend_from_slice(b"chunk stream");
    assert_eq!(client.handle_input(0, &s0s1s2), Ok(HANDSHAKE_BYTES));
    assert_eq!(client.handle_input(0, b"more"), Ok(0));
    let mut c2 = client.poll_output().unwrap().to_vec();
    c2.extend_from_slice(b"connect");
    assert_eq!(server.handle_input(0, &c2), Ok(PACKET_LEN));
    assert_eq!(server.handle_input(0, b"more"), Ok(0));
}

// ---- real peers: FFmpeg and rtmpdump against nginx-rtmp, recorded on loopback ----

const FFMPEG_PLAY_C2S: &[u8] = include_bytes!("../../../tests/fixtures/captures/ffmpeg-play.c2s");
const FFMPEG_PLAY_S2C: &[u8] = include_bytes!("../../../tests/fixtures/captures/ffmpeg-play.s2c");
const FFMPEG_PUBLISH_C2S: &[u8] =
    include_bytes!("../../../tests/fixtures/captures/ffmpeg-publish.c2s");
const FFMPEG_PUBLISH_S2C: &[u8] =
    include_bytes!("../../../tests/fixtures/captures/ffmpeg-publish.s2c");
const RTMPDUMP_PLAY_C2S: &[u8] =
    include_bytes!("../../../tests/fixtures/captures/rtmpdump-play.c2s");
const RTMPDUMP_PLAY_S2C: &[u8] =
    include_bytes!("../../../tests/fixtures/captures/rtmpdump-play.s2c");

/// C1, S1, S2 and C2 of a recorded conversation.
fn recorded_packets(c2s: &[u8], s2c: &[u8]) -> [[u8; PACKET_LEN]; 4] {
    [
        packet(&c2s[1..1537]),
        packet(&s2c[1..1537]),
        packet(&s2c[1537..3073]),
        packet(&c2s[1537..3073]),
    ]
}

#[test]
fn recorded_ffmpeg_and_nginx_digests_validate() {
    for (c2s, s2c, c2_is_signed) in [
        (FFMPEG_PLAY_C2S, FFMPEG_PLAY_S2C, true),
        // FFmpeg, publishing, echoes a digest S1 instead of signing it.
        (FFMPEG_PUBLISH_C2S, FFMPEG_PUBLISH_S2C, false),
    ] {
        let [c1, s1, s2, c2] = recorded_packets(c2s, s2c);
        assert_eq!(c1[4..8], [9, 0, 124, 2]);
        let (c1_layout, c1_digest) =
            digest::find_digest(&c1, Signer::Client, DigestLayout::One).unwrap();
        assert_eq!(c1_layout, DigestLayout::One, "FFmpeg uses layout one");
        let (_, s1_digest) = digest::find_digest(&s1, Signer::Server, c1_layout).unwrap();
        assert!(digest::verify_response(&s2, &c1_digest, Signer::Server));
        assert_eq!(
            digest::verify_response(&c2, &s1_digest, Signer::Client),
            c2_is_signed
        );
        assert_eq!(packet::is_echo_of(&c2, &s1), !c2_is_signed);
    }
}

#[test]
fn recorded_clients_are_served_and_their_chunk_stream_left_alone() {
    for (c2s, expected) in [
        (FFMPEG_PLAY_C2S, HandshakeMode::Digest(DigestLayout::One)),
        (FFMPEG_PUBLISH_C2S, HandshakeMode::Digest(DigestLayout::One)),
        (RTMPDUMP_PLAY_C2S, HandshakeMode::Plain),
    ] {
        let mut server = new_server(ServerConfig::default(), 9);
        assert_eq!(server.handle_input(0, c2s), Ok(HANDSHAKE_BYTES));
        assert!(server.is_complete());
        assert_eq!(server.mode(), Some(expected));
        // The recorded C2 answered nginx's S1, not ours.
        assert_eq!(server.peer_response_valid(), Some(false));
        // What follows is the first chunk of `connect`: fmt 0 on chunk stream 3.
        assert_eq!(c2s[HANDSHAKE_BYTES], 0x03);
    }
}

#[test]
fn recorded_nginx_answers_are_followed_and_its_chunk_stream_left_alone() {
    for (s2c, config, expected) in [
        (
            FFMPEG_PLAY_S2C,
            ClientConfig::default(),
            HandshakeMode::Digest(DigestLayout::One),
        ),
        (
            FFMPEG_PUBLISH_S2C,
            ClientConfig::default(),
            HandshakeMode::Digest(DigestLayout::One),
        ),
        // nginx-rtmp answers a plain C1 with copies of it as S1 and S2.
        (
            RTMPDUMP_PLAY_S2C,
            client_in(ClientMode::Plain),
            HandshakeMode::Plain,
        ),
    ] {
        let mut client = new_client(config, 9);
        assert_eq!(client.handle_input(0, s2c), Ok(HANDSHAKE_BYTES));
        assert!(client.is_complete());
        assert_eq!(client.mode(), Some(expected));
        assert_eq!(client.peer_response_valid(), Some(false));
    }
}

// ---- proptest ----

/// Either role, for the helpers that drive both alike.
trait Endpoint {
    fn input(&mut self, now_ms: u32, bytes: &[u8]) -> Result<usize, HandshakeError>;
    fn output(&mut self) -> Option<Bytes>;
    fn complete(&self) -> bool;
    fn negotiated(&self) -> Option<HandshakeMode>;
    fn response_valid(&self) -> Option<bool>;
}

macro_rules! endpoint {
    ($($handshake:ty),*) => {$(
        impl Endpoint for $handshake {
            fn input(&mut self, now_ms: u32, bytes: &[u8]) -> Result<usize, HandshakeError> {
                self.handle_input(now_ms, bytes)
            }
            fn output(&mut self) -> Option<Bytes> {
                self.poll_output()
            }
            fn complete(&self) -> bool {
                self.is_complete()
            }
            fn negotiated(&self) -> Option<HandshakeMode> {
                self.mode()
            }
            fn response_valid(&self) -> Option<bool> {
                self.peer_response_valid()
            }
        }
    )*};
}

endpoint!(ClientHandshake, ServerHandshake);

/// One direction of the wire: what was sent, what was handed to the receiver, what it consumed.
#[derive(Default)]
struct Wire {
    sent: Vec<u8>,
    offered: usize,
    consumed: usize,
    pieces: usize,
}

impl Wire {
    /// Hands everything sent so far to `receiver` in pieces whose sizes cycle through `splits`.
    fn deliver(&mut self, receiver: &mut impl Endpoint, splits: &[usize]) {
        while self.offered < self.sent.len() {
            let size = splits[self.pieces % splits.len()];
            self.pieces += 1;
            let end = self.sent.len().min(self.offered + size);
            let piece = &self.sent[self.offered..end];
            let taken = receiver.input(self.pieces as u32, piece).unwrap();
            assert!(taken <= piece.len());
            if !receiver.complete() {
                assert_eq!(
                    taken,
                    piece.len(),
                    "an incomplete handshake takes everything"
                );
            }
            self.consumed += taken;
            self.offered = end;
        }
    }
}

/// Runs both sides to completion; after its last handshake packet each side sends `extra`.
fn drive(
    client: &mut ClientHandshake,
    server: &mut ServerHandshake,
    splits: (&[usize], &[usize]),
    extra: (&[u8], &[u8]),
) -> (Wire, Wire) {
    let (mut to_server, mut to_client) = (Wire::default(), Wire::default());
    let (mut client_extra_sent, mut server_extra_sent) = (false, false);
    for _round in 0..8 {
        while let Some(bytes) = client.poll_output() {
            to_server.sent.extend_from_slice(&bytes);
        }
        if client.is_complete() && !client_extra_sent {
            to_server.sent.extend_from_slice(extra.0);
            client_extra_sent = true;
        }
        while let Some(bytes) = server.poll_output() {
            to_client.sent.extend_from_slice(&bytes);
        }
        if server.is_complete() && !server_extra_sent {
            to_client.sent.extend_from_slice(extra.1);
            server_extra_sent = true;
        }
        to_server.deliver(server, splits.0);
        to_client.deliver(client, splits.1);
    }
    (to_server, to_client)
}

fn splits() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(alloc::vec![1]),
        Just(alloc::vec![PACKET_LEN + 1]),
        proptest::collection::vec(1usize..3200, 1..6),
    ]
}

/// Feeds `input` to `endpoint` piece by piece; returns the total consumed or the error, and
/// every byte it sent.
fn feed(
    endpoint: &mut impl Endpoint,
    input: &[u8],
    cuts: &[usize],
) -> (Result<usize, HandshakeError>, Vec<u8>) {
    let mut boundaries: Vec<usize> = cuts.iter().map(|cut| cut % (input.len() + 1)).collect();
    boundaries.push(input.len());
    boundaries.sort_unstable();
    let mut start = 0;
    let mut total = 0;
    let mut sent = Vec::new();
    while let Some(bytes) = endpoint.output() {
        sent.extend_from_slice(&bytes);
    }
    for end in boundaries {
        let result = endpoint.input(0, &input[start..end]);
        while let Some(bytes) = endpoint.output() {
            sent.extend_from_slice(&bytes);
        }
        match result {
            Ok(taken) => total += taken,
            Err(error) => return (Err(error), sent),
        }
        start = end;
    }
    (Ok(total), sent)
}

/// Feeds `input` to `whole` at once and to `split`, its twin, in pieces cut at `cuts`: both must
/// consume, send, fail and record alike, and take exactly the handshake's bytes.
fn same_whole_or_split<E: Endpoint>(
    mut whole: E,
    mut split: E,
    input: &[u8],
    cuts: &[usize],
) -> Result<(), TestCaseError> {
    let expected = feed(&mut whole, input, &[]);
    prop_assert_eq!(feed(&mut split, input, cuts), expected.clone());
    if let Ok(consumed) = expected.0 {
        prop_assert_eq!(consumed, input.len().min(HANDSHAKE_BYTES));
        prop_assert_eq!(whole.complete(), input.len() >= HANDSHAKE_BYTES);
    }
    prop_assert_eq!(whole.negotiated(), split.negotiated());
    prop_assert_eq!(whole.response_valid(), split.response_valid());
    Ok(())
}

fn any_client_config() -> impl Strategy<Value = ClientConfig> {
    (0usize..3, any::<[u8; 4]>(), any::<bool>(), any::<bool>()).prop_map(
        |(mode, version, tolerate, require)| ClientConfig {
            mode: [
                ClientMode::Plain,
                ClientMode::Digest(DigestLayout::One),
                ClientMode::Digest(DigestLayout::Two),
            ][mode],
            version,
            tolerate_invalid_server_digest: tolerate,
            require_valid_s2: require,
        },
    )
}

fn any_server_config() -> impl Strategy<Value = ServerConfig> {
    (0usize..3, any::<[u8; 4]>(), any::<bool>()).prop_map(|(accept, version, require)| {
        ServerConfig {
            accept: [
                ServerAccept::DigestOrPlain,
                ServerAccept::DigestOnly,
                ServerAccept::PlainOnly,
            ][accept],
            version,
            require_valid_c2: require,
        }
    })
}

/// Input that gets past C0 often enough to exercise the rest.
fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(3u8), 0u8..40, any::<u8>()],
        proptest::collection::vec(any::<u8>(), 0..3300),
    )
        .prop_map(|(version, body)| [&[version][..], &body].concat())
}

proptest! {
    #![proptest_config(crate::test_support::proptest_config!("handshake"))]

    #[test]
    fn pairs_complete_for_every_split(
        pairing in 0..PAIRINGS.len(),
        client_splits in splits(),
        server_splits in splits(),
        client_extra in proptest::collection::vec(any::<u8>(), 0..40),
        server_extra in proptest::collection::vec(any::<u8>(), 0..40),
        seeds in any::<(u64, u64)>(),
        epochs in any::<(u32, u32)>(),
    ) {
        let (client_mode, accept, expected) = PAIRINGS[pairing];
        let client_config = ClientConfig {
            require_valid_s2: true,
            ..client_in(client_mode)
        };
        let server_config = ServerConfig {
            require_valid_c2: true,
            ..server_accepting(accept)
        };
        let mut client = ClientHandshake::new(
            client_config, &mut StdRng::seed_from_u64(seeds.0), epochs.0);
        let mut server = ServerHandshake::new(
            server_config, &mut StdRng::seed_from_u64(seeds.1), epochs.1);
        let (to_server, to_client) = drive(
            &mut client,
            &mut server,
            (&server_splits, &client_splits),
            (&client_extra, &server_extra),
        );
        prop_assert!(client.is_complete() && server.is_complete());
        prop_assert_eq!(client.mode(), Some(expected));
        prop_assert_eq!(server.mode(), Some(expected));
        prop_assert_eq!(client.peer_epoch(), Some(epochs.1));
        prop_assert_eq!(server.peer_epoch(), Some(epochs.0));
        prop_assert_eq!(to_server.consumed, HANDSHAKE_BYTES);
        prop_assert_eq!(to_client.consumed, HANDSHAKE_BYTES);
        prop_assert_eq!(&to_server.sent[HANDSHAKE_BYTES..], &client_extra[..]);
        prop_assert_eq!(&to_client.sent[HANDSHAKE_BYTES..], &server_extra[..]);
    }

    #[test]
    fn hostile_input_to_a_server_is_the_same_whole_or_split(
        config in any_server_config(),
        input in hostile_input(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        seed in any::<u64>(),
    ) {
        let new = || ServerHandshake::new(config.clone(), &mut StdRng::seed_from_u64(seed), 5);
        same_whole_or_split(new(), new(), &input, &cuts)?;
    }

    #[test]
    fn hostile_input_to_a_client_is_the_same_whole_or_split(
        config in any_client_config(),
        input in hostile_input(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        seed in any::<u64>(),
    ) {
        let new = || ClientHandshake::new(config.clone(), &mut StdRng::seed_from_u64(seed), 5);
        same_whole_or_split(new(), new(), &input, &cuts)?;
    }
}
