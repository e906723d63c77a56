//! Spec vectors and properties of the chunk layer as a whole (RTMP 1.0 §5.3).

use alloc::vec::Vec;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::{type_id, Limits, RawMessage};

fn message(timestamp: u32, type_id: u8, stream_id: u32, payload: &[u8]) -> RawMessage {
    RawMessage {
        timestamp,
        type_id,
        stream_id,
        payload: Bytes::copy_from_slice(payload),
    }
}

fn csid(id: u32) -> ChunkStreamId {
    ChunkStreamId::new(id).unwrap()
}

fn encode_all(encoder: &mut ChunkEncoder, messages: &[(u32, RawMessage)]) -> Vec<u8> {
    let mut out = ChunkOutput::new();
    for (id, msg) in messages {
        encoder.encode(csid(*id), msg, &mut out).unwrap();
    }
    let mut bytes = Vec::new();
    out.copy_to(&mut bytes);
    bytes
}

/// Feeds `bytes` in pieces of the sizes in `cuts` (cycled; 0 means the rest), through `decode`
/// or `decode_bytes`, and returns the messages and the error that stopped decoding, if any.
fn decode_in_pieces(
    decoder: &mut ChunkDecoder,
    bytes: &[u8],
    cuts: &[usize],
    zero_copy: bool,
) -> (Vec<RawMessage>, Option<ChunkError>) {
    let mut messages = Vec::new();
    let mut rest = bytes;
    let mut cut = cuts.iter().cycle();
    while !rest.is_empty() {
        let size = match cut.next() {
            Some(&size) if size > 0 => size.min(rest.len()),
            _ => rest.len(),
        };
        let (piece, after) = rest.split_at(size);
        rest = after;
        let result = if zero_copy {
            let mut piece = Bytes::copy_from_slice(piece);
            loop {
                match decoder.decode_bytes(&mut piece) {
                    Ok(Some(msg)) => messages.push(msg),
                    Ok(None) => break Ok(()),
                    Err(error) => break Err(error),
                }
            }
        } else {
            let mut piece = piece;
            loop {
                match decoder.decode(&mut piece) {
                    Ok(Some(msg)) => messages.push(msg),
                    Ok(None) => break Ok(()),
                    Err(error) => break Err(error),
                }
            }
        };
        if let Err(error) = result {
            return (messages, Some(error));
        }
    }
    (messages, None)
}

fn decode_ok(bytes: &[u8]) -> Vec<RawMessage> {
    let mut decoder = ChunkDecoder::new(any_type_limits());
    let (messages, error) = decode_in_pieces(&mut decoder, bytes, &[], false);
    assert_eq!(error, None);
    messages
}

/// Checks that `bytes` decode to `expected` whole, byte by byte, and through `decode_bytes`.
fn assert_decodes_to(bytes: &[u8], expected: &[RawMessage]) {
    for (cuts, zero_copy) in [
        (&[][..], false),
        (&[1][..], false),
        (&[][..], true),
        (&[1][..], true),
    ] {
        let mut decoder = ChunkDecoder::new(any_type_limits());
        let (messages, error) = decode_in_pieces(&mut decoder, bytes, cuts, zero_copy);
        assert_eq!(error, None, "cuts {cuts:?}, zero copy {zero_copy}");
        assert_eq!(messages, expected, "cuts {cuts:?}, zero copy {zero_copy}");
    }
}

#[test]
fn basic_header_forms_on_the_wire() {
    for (id, basic) in [
        (2, &[0x02][..]),
        (63, &[0x3F][..]),
        (64, &[0x00, 0x00][..]),
        (319, &[0x00, 0xFF][..]),
        (320, &[0x01, 0x00, 0x01][..]),
        (65599, &[0x01, 0xFF, 0xFF][..]),
    ] {
        let msg = message(0x010203, 20, 0, &[0xEE]);
        let bytes = encode_all(&mut ChunkEncoder::new(), &[(id, msg.clone())]);
        let mut expected = basic.to_vec();
        expected.extend_from_slice(&[0x01, 0x02, 0x03, 0, 0, 1, 20, 0, 0, 0, 0, 0xEE]);
        assert_eq!(bytes, expected, "csid {id}");
        assert_decodes_to(&bytes, &[msg]);
    }
}

#[test]
fn type_0_stream_id_is_little_endian() {
    let msg = message(0, 9, 0x0102_0304, &[1, 2]);
    let bytes = encode_all(&mut ChunkEncoder::new(), &[(6, msg.clone())]);
    assert_eq!(
        bytes,
        [0x06, 0, 0, 0, 0, 0, 2, 9, 0x04, 0x03, 0x02, 0x01, 1, 2]
    );
    assert_decodes_to(&bytes, &[msg]);
}

/// A 200-byte message at timestamp 0x01000000 in two chunks of chunk size 128.
fn extended_timestamp_chunks(repeat_on_type_3: bool) -> Vec<u8> {
    let mut bytes = vec![
        0x06, 0xFF, 0xFF, 0xFF, 0, 0, 200, 9, 1, 0, 0, 0, 0x01, 0, 0, 0,
    ];
    bytes.extend((0..128).map(|i| i as u8));
    bytes.push(0xC6);
    if repeat_on_type_3 {
        bytes.extend_from_slice(&[0x01, 0, 0, 0]);
    }
    bytes.extend((128..200).map(|i| i as u8));
    bytes
}

#[test]
fn extended_timestamp_on_type_0_and_repeated_on_type_3() {
    let payload: Vec<u8> = (0..200).map(|i| i as u8).collect();
    let msg = message(0x0100_0000, 9, 1, &payload);
    let bytes = encode_all(&mut ChunkEncoder::new(), &[(6, msg.clone())]);
    assert_eq!(bytes, extended_timestamp_chunks(true));
    assert_decodes_to(&bytes, &[msg]);
}

#[test]
fn type_3_without_the_repeated_extended_timestamp_is_tolerated() {
    let payload: Vec<u8> = (0..200).map(|i| i as u8).collect();
    assert_decodes_to(
        &extended_timestamp_chunks(false),
        &[message(0x0100_0000, 9, 1, &payload)],
    );
}

#[test]
fn extended_timestamp_of_exactly_0xffffff() {
    let msg = message(0xFF_FFFF, 8, 1, &[7; 3]);
    let bytes = encode_all(&mut ChunkEncoder::new(), &[(4, msg.clone())]);
    assert_eq!(
        bytes,
        [0x04, 0xFF, 0xFF, 0xFF, 0, 0, 3, 8, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 7, 7, 7]
    );
    assert_decodes_to(&bytes, &[msg]);
}

#[test]
fn extended_delta_on_type_2_is_a_delta() {
    // Type 0 at 1000, then a type 2 whose extended delta is 0x01000000.
    let mut bytes = vec![0x04, 0, 0x03, 0xE8, 0, 0, 1, 8, 1, 0, 0, 0, 0xAA];
    bytes.extend_from_slice(&[0x84, 0xFF, 0xFF, 0xFF, 0x01, 0, 0, 0, 0xBB]);
    // A type 3 that starts a new message repeats the extended delta, and adds it again.
    bytes.extend_from_slice(&[0xC4, 0x01, 0, 0, 0, 0xCC]);
    assert_decodes_to(
        &bytes,
        &[
            message(1000, 8, 1, &[0xAA]),
            message(1000 + 0x0100_0000, 8, 1, &[0xBB]),
            message(1000 + 0x0200_0000, 8, 1, &[0xCC]),
        ],
    );
    let messages = decode_ok(&bytes);
    let mut encoder = ChunkEncoder::new();
    let reencoded: Vec<(u32, RawMessage)> = messages.into_iter().map(|msg| (4, msg)).collect();
    assert_eq!(encode_all(&mut encoder, &reencoded), bytes);
}

/// RTMP 1.0 §5.3.2.1: four audio messages of 32 bytes, 20 ms apart, on message stream 12345.
#[test]
fn spec_example_audio_uses_types_0_2_3_3() {
    let messages: Vec<(u32, RawMessage)> = (0..4)
        .map(|i| {
            (
                3,
                message(1000 + 20 * i, type_id::AUDIO, 12345, &[i as u8; 32]),
            )
        })
        .collect();
    let bytes = encode_all(&mut ChunkEncoder::new(), &messages);
    let mut expected = vec![0x03, 0, 0x03, 0xE8, 0, 0, 32, 8, 0x39, 0x30, 0, 0];
    expected.extend_from_slice(&[0; 32]);
    expected.extend_from_slice(&[0x83, 0, 0, 20]);
    expected.extend_from_slice(&[1; 32]);
    expected.push(0xC3);
    expected.extend_from_slice(&[2; 32]);
    expected.push(0xC3);
    expected.extend_from_slice(&[3; 32]);
    assert_eq!(bytes, expected);
    let decoded: Vec<RawMessage> = messages.into_iter().map(|(_, msg)| msg).collect();
    assert_decodes_to(&bytes, &decoded);
}

/// RTMP 1.0 §5.3.2.2: a 307-byte video message in chunks of 128: headers of 12, 1 and 1 bytes.
#[test]
fn spec_example_video_split_in_chunks_of_128() {
    let payload: Vec<u8> = (0..307u32).map(|i| (i * 7) as u8).collect();
    let msg = message(1000, type_id::VIDEO, 12346, &payload);
    let bytes = encode_all(&mut ChunkEncoder::new(), &[(4, msg.clone())]);
    let mut expected = vec![0x04, 0, 0x03, 0xE8, 0, 0x01, 0x33, 9, 0x3A, 0x30, 0, 0];
    expected.extend_from_slice(&payload[..128]);
    expected.push(0xC4);
    expected.extend_from_slice(&payload[128..256]);
    expected.push(0xC4);
    expected.extend_from_slice(&payload[256..]);
    assert_eq!(bytes, expected);
    assert_decodes_to(&bytes, &[msg]);
}

#[test]
fn type_3_after_type_0_adds_the_type_0_timestamp() {
    // FFmpeg and librtmp read the timestamp field of a type 0 header as the delta that a type 3
    // starting a new message adds.
    let bytes = [
        0x05, 0, 0, 100, 0, 0, 1, 18, 1, 0, 0, 0, 0x11, // type 0 at 100
        0xC5, 0x22, // type 3: a new message at 200
    ];
    assert_decodes_to(
        &bytes,
        &[message(100, 18, 1, &[0x11]), message(200, 18, 1, &[0x22])],
    );
}

#[test]
fn abort_discards_the_partial_message() {
    let mut bytes = vec![0x06, 0, 0, 10, 0, 0, 200, 9, 1, 0, 0, 0];
    bytes.extend_from_slice(&[0x55; 128]);
    // Abort (type 2) on chunk stream 2 naming chunk stream 6.
    bytes.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 6]);
    // A type 3 chunk now starts a new 200-byte message at 10 + 10 (the type 0 field is the delta).
    bytes.push(0xC6);
    bytes.extend_from_slice(&[0x66; 128]);
    bytes.push(0xC6);
    bytes.extend_from_slice(&[0x66; 72]);
    assert_decodes_to(
        &bytes,
        &[
            message(0, type_id::ABORT, 0, &[0, 0, 0, 6]),
            message(20, 9, 1, &[0x66; 200]),
        ],
    );
    let mut decoder = ChunkDecoder::new(any_type_limits());
    let (_, error) = decode_in_pieces(&mut decoder, &bytes[..12 + 128 + 16], &[], false);
    assert_eq!(error, None);
    assert_eq!(decoder.buffered_bytes(), 0);
}

#[test]
fn abort_of_an_idle_or_unknown_chunk_stream_is_harmless() {
    let bytes = [
        0x02, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 9, // unknown chunk stream 9
        0x42, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 7, // chunk stream 7, unknown and invalid
    ];
    assert_eq!(decode_ok(&bytes).len(), 2);
}

#[test]
fn set_chunk_size_takes_effect_mid_stream() {
    let mut encoder = ChunkEncoder::new();
    let mut out = ChunkOutput::new();
    let before = message(0, 9, 1, &[1; 300]);
    let set = message(0, type_id::SET_CHUNK_SIZE, 0, &4096u32.to_be_bytes());
    let after = message(40, 9, 1, &[2; 3000]);
    encoder.encode(csid(6), &before, &mut out).unwrap();
    encoder
        .encode(ChunkStreamId::PROTOCOL_CONTROL, &set, &mut out)
        .unwrap();
    encoder.set_chunk_size(4096).unwrap();
    encoder.encode(csid(6), &after, &mut out).unwrap();
    let bytes = out.to_bytes();
    // 300 bytes at 128: three chunks; 3000 bytes (a new length: type 1) at 4096: one.
    assert_eq!(bytes.len(), (12 + 300 + 2) + 16 + (8 + 3000));
    assert_decodes_to(&bytes, &[before, set, after]);
    let mut decoder = ChunkDecoder::new(any_type_limits());
    decode_in_pieces(&mut decoder, &bytes, &[], false);
    assert_eq!(decoder.chunk_size(), 4096);
}

#[test]
fn length_change_mid_message_is_an_error() {
    let mut bytes = vec![0x06, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0];
    bytes.extend_from_slice(&[0; 128]);
    // A type 1 header saying 100 bytes while 72 of the 200 are still missing.
    bytes.extend_from_slice(&[0x46, 0, 0, 0, 0, 0, 100, 9]);
    bytes.extend_from_slice(&[0; 100]);
    for cuts in [&[][..], &[1][..]] {
        let mut decoder = ChunkDecoder::new(any_type_limits());
        let (messages, error) = decode_in_pieces(&mut decoder, &bytes, cuts, false);
        assert!(messages.is_empty());
        assert_eq!(error, Some(ChunkError::HeaderChangedMidMessage { csid: 6 }));
    }
}

#[test]
fn type_change_mid_message_is_an_error() {
    let mut bytes = vec![0x06, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0];
    bytes.extend_from_slice(&[0; 128]);
    bytes.extend_from_slice(&[0x06, 0, 0, 0, 0, 0, 200, 8, 1, 0, 0, 0]);
    let mut decoder = ChunkDecoder::new(any_type_limits());
    let (_, error) = decode_in_pieces(&mut decoder, &bytes, &[], false);
    assert_eq!(error, Some(ChunkError::HeaderChangedMidMessage { csid: 6 }));
}

#[test]
fn repeated_header_mid_message_is_a_continuation() {
    let mut bytes = vec![0x06, 0, 0, 5, 0, 0, 200, 9, 1, 0, 0, 0];
    bytes.extend_from_slice(&[1; 128]);
    bytes.extend_from_slice(&[0x06, 0, 0, 5, 0, 0, 200, 9, 1, 0, 0, 0]);
    bytes.extend_from_slice(&[1; 72]);
    assert_decodes_to(&bytes, &[message(5, 9, 1, &[1; 200])]);
}

#[test]
fn unknown_chunk_stream_is_an_error() {
    for first in [0x43u8, 0x83, 0xC3] {
        let mut decoder = ChunkDecoder::new(any_type_limits());
        let (_, error) = decode_in_pieces(&mut decoder, &[first, 0, 0, 0, 0, 0, 0, 0], &[], false);
        assert_eq!(
            error,
            Some(ChunkError::UnknownChunkStream {
                csid: 3,
                fmt: first >> 6
            })
        );
    }
}

#[test]
fn timestamps_wrap_across_2_pow_32() {
    let messages: Vec<(u32, RawMessage)> = [0xFFFF_FFF0u32, 0xFFFF_FFFA, 0x0000_0004, 0x0000_000E]
        .into_iter()
        .map(|timestamp| (4, message(timestamp, 8, 1, &[0; 10])))
        .collect();
    let bytes = encode_all(&mut ChunkEncoder::new(), &messages);
    // Type 0 (extended), then type 2 with delta 10, then type 3 twice.
    assert_eq!(
        &bytes[..16],
        &[0x04, 0xFF, 0xFF, 0xFF, 0, 0, 10, 8, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xF0]
    );
    assert_eq!(&bytes[26..30], &[0x84, 0, 0, 10]);
    assert_eq!(bytes[40], 0xC4);
    assert_eq!(bytes[51], 0xC4);
    let decoded: Vec<RawMessage> = messages.into_iter().map(|(_, msg)| msg).collect();
    assert_decodes_to(&bytes, &decoded);
}

#[test]
fn type_3_deltas_keep_wrapping_without_overflow() {
    // Type 0 at u32::MAX - 1, type 2 with a delta of 0xFFFFFF, then many type 3: the sum passes
    // 2^32 several times.
    let mut bytes = vec![
        0x04, 0xFF, 0xFF, 0xFF, 0, 0, 0, 8, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFE,
    ];
    bytes.extend_from_slice(&[0x84, 0xFF, 0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0xFF]);
    for _ in 0..600 {
        bytes.extend_from_slice(&[0xC4, 0x00, 0xFF, 0xFF, 0xFF]);
    }
    let messages = decode_ok(&bytes);
    assert_eq!(messages.len(), 602);
    let mut expected = u32::MAX - 1;
    for msg in &messages[1..] {
        expected = expected.wrapping_add(0xFF_FFFF);
        assert_eq!(msg.timestamp, expected);
    }
}

#[test]
fn timestamps_going_backwards_are_accepted() {
    let bytes = [
        0x04, 0, 0, 100, 0, 0, 0, 8, 1, 0, 0, 0, // type 0 at 100
        0x04, 0, 0, 50, 0, 0, 0, 8, 1, 0, 0, 0, // type 0 at 50
        0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF6, // type 2, delta -10 as u32
    ];
    let timestamps: Vec<u32> = decode_ok(&bytes).iter().map(|msg| msg.timestamp).collect();
    assert_eq!(timestamps, [100, 50, 40]);
}

#[test]
fn chunk_stream_ids_decode_in_every_form() {
    for id in [
        2u32, 63, 64, 65, 318, 319, 320, 321, 1000, 65535, 65598, 65599,
    ] {
        let msg = message(3, 9, 1, &[9; 300]);
        let bytes = encode_all(&mut ChunkEncoder::new(), &[(id, msg.clone())]);
        assert_decodes_to(&bytes, &[msg]);
    }
}

#[test]
fn a_huge_announced_chunk_size_does_not_allocate() {
    let mut bytes = vec![
        0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF,
    ];
    bytes.extend_from_slice(&[0x06, 0, 0, 0, 0, 0, 3, 9, 1, 0, 0, 0, 1, 2, 3]);
    let messages = decode_ok(&bytes);
    assert_eq!(messages[1].payload[..], [1, 2, 3]);
}

#[test]
fn chunk_stream_id_constants_are_valid() {
    for id in [
        ChunkStreamId::PROTOCOL_CONTROL,
        ChunkStreamId::COMMAND,
        ChunkStreamId::AUDIO,
        ChunkStreamId::DATA,
        ChunkStreamId::VIDEO,
    ] {
        assert_eq!(ChunkStreamId::new(id.get()), Some(id));
    }
    assert_eq!(ChunkStreamId::new(0), None);
    assert_eq!(
        ChunkStreamId::new(65599).map(ChunkStreamId::get),
        Some(65599)
    );
}

// ---- properties ----

/// How a message's timestamp relates to the previous one on its chunk stream.
#[derive(Clone, Copy, Debug)]
enum Step {
    Forward(u32),
    Absolute(u32),
    NearWrap(u32),
    Large(u32),
    Backwards(u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => prop::sample::select(&[0u32, 20, 23, 33][..]).prop_map(Step::Forward),
        3 => (0u32..100).prop_map(Step::Forward),
        1 => any::<u32>().prop_map(Step::Absolute),
        1 => (0u32..2000).prop_map(Step::NearWrap),
        1 => (0xFF_FFF0u32..0x200_0000).prop_map(Step::Large),
        1 => (0u32..1000).prop_map(Step::Backwards),
    ]
}

/// A payload length, or `None` for the length of the previous message on the chunk stream (so
/// that headers of type 2 and 3 show up).
fn payload_len() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![
        6 => Just(None),
        10 => (0usize..200).prop_map(Some),
        4 => (200usize..5000).prop_map(Some),
        1 => (5000usize..=256 * 1024).prop_map(Some),
    ]
}

fn chunk_size() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => 1u32..=4,
        2 => 5u32..=300,
        1 => Just(4096u32),
        1 => 300u32..=70000,
    ]
}

/// A message before its timestamp is resolved.
#[derive(Clone, Debug)]
struct MessageSpec {
    csid: u32,
    type_id: u8,
    stream_id: u32,
    step: Step,
    len: Option<usize>,
    fill: u8,
}

fn message_spec(csids: &'static [u32]) -> impl Strategy<Value = MessageSpec> {
    (
        // Mostly two chunk streams, so that consecutive messages share one.
        prop_oneof![
            3 => prop::sample::select(&csids[1..3]),
            1 => prop::sample::select(csids),
        ],
        // Set Chunk Size and Abort are added on purpose, never at random.
        prop_oneof![
            3 => prop::sample::select(&[8u8, 9, 20][..]),
            1 => any::<u8>().prop_filter("not a chunk control type", |t| *t != 1 && *t != 2),
        ],
        prop::sample::select(&[0u32, 1, 2, u32::MAX][..]),
        step(),
        payload_len(),
        any::<u8>(),
    )
        .prop_map(|(csid, type_id, stream_id, step, len, fill)| MessageSpec {
            csid,
            type_id,
            stream_id,
            step,
            len,
            fill,
        })
}

#[derive(Clone, Debug)]
enum Event {
    Message(MessageSpec),
    /// A message chunked once beforehand ([`ChunkedMessage`]), at the encoder's chunk size
    /// (`true`) or at another one, which makes the encoder chunk it anew.
    Chunked(MessageSpec, bool),
    /// As `Chunked`, offered to a direct write ([`ChunkEncoder::encode_chunked_through`])
    /// that takes at most `take` bytes, after what the output holds was written (`drain`) or
    /// with it still waiting.
    Through {
        spec: MessageSpec,
        same: bool,
        drain: bool,
        take: usize,
    },
    SetChunkSize(u32),
}

const CSIDS: &[u32] = &[2, 3, 4, 63, 64, 319, 320, 65599];
const CSIDS_BUT_CONTROL: &[u32] = &[3, 4, 5, 63, 64, 320, 65599];

fn events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        prop_oneof![
            12 => message_spec(CSIDS).prop_map(Event::Message),
            4 => (message_spec(CSIDS), any::<bool>())
                .prop_map(|(spec, same)| Event::Chunked(spec, same)),
            4 => (
                message_spec(CSIDS),
                any::<bool>(),
                any::<bool>(),
                prop_oneof![0usize..20, 0usize..5000, Just(usize::MAX)]
            )
                .prop_map(|(spec, same, drain, take)| Event::Through {
                    spec,
                    same,
                    drain,
                    take
                }),
            1 => chunk_size().prop_map(Event::SetChunkSize),
        ],
        1..24,
    )
}

/// Resolves timestamps per chunk stream and fills payloads deterministically.
struct Resolver {
    /// Per chunk stream, the timestamp and length of its last message.
    last: Vec<(u32, u32, usize)>,
}

impl Resolver {
    fn new() -> Self {
        Self { last: Vec::new() }
    }

    fn resolve(&mut self, spec: &MessageSpec) -> RawMessage {
        let (previous, previous_len) = self
            .last
            .iter()
            .find(|(id, _, _)| *id == spec.csid)
            .map_or((0, 0), |(_, timestamp, len)| (*timestamp, *len));
        let len = spec.len.unwrap_or(previous_len);
        let timestamp = match spec.step {
            Step::Forward(delta) | Step::Large(delta) => previous.wrapping_add(delta),
            Step::Absolute(timestamp) => timestamp,
            Step::NearWrap(distance) => u32::MAX - distance,
            Step::Backwards(delta) => previous.wrapping_sub(delta),
        };
        self.last.retain(|(id, _, _)| *id != spec.csid);
        self.last.push((spec.csid, timestamp, len));
        let payload: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ spec.fill)
            .collect();
        RawMessage {
            timestamp,
            type_id: spec.type_id,
            stream_id: spec.stream_id,
            payload: Bytes::from(payload),
        }
    }
}

/// Encodes the events in order, returning the bytes and the messages a decoder must yield.
fn encode_events(
    initial_chunk_size: u32,
    events: &[Event],
) -> (Vec<u8>, Vec<RawMessage>, ChunkDecoder) {
    let mut encoder = ChunkEncoder::new();
    let mut decoder = ChunkDecoder::new(any_type_limits());
    encoder.set_chunk_size(initial_chunk_size).unwrap();
    decoder.set_chunk_size(initial_chunk_size).unwrap();
    let mut resolver = Resolver::new();
    let mut out = ChunkOutput::new();
    // What direct writes took, and what the output held before each (written first).
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for event in events {
        let msg = match event {
            Event::Message(spec) => {
                let msg = resolver.resolve(spec);
                encoder.encode(csid(spec.csid), &msg, &mut out).unwrap();
                msg
            }
            Event::Chunked(spec, same) => {
                let msg = resolver.resolve(spec);
                let size = encoder.chunk_size();
                let size = if *same { size } else { size % 300 + 1 };
                let chunked = ChunkedMessage::new(csid(spec.csid), msg.clone(), size).unwrap();
                encoder.encode_chunked(&chunked, &mut out).unwrap();
                msg
            }
            Event::Through {
                spec,
                same,
                drain,
                take,
            } => {
                let msg = resolver.resolve(spec);
                let size = encoder.chunk_size();
                let size = if *same { size } else { size % 300 + 1 };
                let chunked = ChunkedMessage::new(csid(spec.csid), msg.clone(), size).unwrap();
                if *drain {
                    out.copy_to(&mut wire);
                    out.advance(out.len());
                }
                let offered = out.is_empty() && size == encoder.chunk_size();
                let before = out.len();
                let mut took = 0;
                let length = encoder
                    .encode_chunked_through(&chunked, &mut out, |bufs| {
                        assert!(offered, "offered only to an empty output at its chunk size");
                        for buf in bufs {
                            let part = buf.get(..take - took).unwrap_or(buf);
                            wire.extend_from_slice(part);
                            took += part.len();
                        }
                        took
                    })
                    .unwrap();
                assert_eq!(length, took + out.len() - before);
                msg
            }
            Event::SetChunkSize(size) => {
                let msg = message(0, type_id::SET_CHUNK_SIZE, 0, &size.to_be_bytes());
                encoder
                    .encode(ChunkStreamId::PROTOCOL_CONTROL, &msg, &mut out)
                    .unwrap();
                encoder.set_chunk_size(*size).unwrap();
                msg
            }
        };
        expected.push(msg);
    }
    out.copy_to(&mut wire);
    (wire, expected, decoder)
}

fn fresh_decoder_like(decoder: &ChunkDecoder) -> ChunkDecoder {
    let mut fresh = ChunkDecoder::new(decoder.limits().clone());
    fresh.set_chunk_size(decoder.chunk_size()).unwrap();
    fresh
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(
        prop_oneof![3 => 1usize..20, 2 => 20usize..2000, 1 => 2000usize..100_000],
        0..8,
    )
}

/// A message with its chunks.
type MessageChunks = (RawMessage, Vec<Vec<u8>>);

/// Interleaves the chunks of messages on several chunk streams, with Abort messages now and
/// then, and returns the bytes with the messages a decoder must yield.
fn interleave(
    chunk_size: u32,
    specs: &[MessageSpec],
    picks: &[(usize, bool)],
) -> (Vec<u8>, Vec<RawMessage>) {
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(chunk_size).unwrap();
    let mut resolver = Resolver::new();
    // Per chunk stream, its messages in order, each as its chunks.
    let mut queues: Vec<(u32, Vec<MessageChunks>)> = Vec::new();
    for spec in specs {
        let msg = resolver.resolve(spec);
        let chunks = encoder.encode_chunks(csid(spec.csid), &msg).unwrap();
        match queues.iter_mut().find(|(id, _)| *id == spec.csid) {
            Some((_, queue)) => queue.push((msg, chunks)),
            None => queues.push((spec.csid, vec![(msg, chunks)])),
        }
    }
    for (_, queue) in &mut queues {
        queue.reverse();
    }
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    let mut sent: Vec<usize> = vec![0; queues.len()];
    let mut pick = picks.iter().cycle();
    loop {
        let live: Vec<usize> = (0..queues.len())
            .filter(|&i| !queues[i].1.is_empty())
            .collect();
        if live.is_empty() {
            return (bytes, expected);
        }
        let &(choice, abort) = pick.next().unwrap_or(&(0, false));
        let index = live[choice % live.len()];
        let (id, queue) = &mut queues[index];
        let Some((msg, chunks)) = queue.last() else {
            continue;
        };
        if abort && sent[index] > 0 {
            let abort = message(0, type_id::ABORT, 0, &id.to_be_bytes());
            for chunk in encoder
                .encode_chunks(ChunkStreamId::PROTOCOL_CONTROL, &abort)
                .unwrap()
            {
                bytes.extend_from_slice(&chunk);
            }
            expected.push(abort);
            queue.pop();
            sent[index] = 0;
            continue;
        }
        bytes.extend_from_slice(&chunks[sent[index]]);
        sent[index] += 1;
        if sent[index] == chunks.len() {
            expected.push(msg.clone());
            queue.pop();
            sent[index] = 0;
        }
    }
}

/// The default limits, but as large for every type as for media: these tests are about the
/// chunk layer, whatever the messages' types.
fn any_type_limits() -> Limits {
    let max = Limits::default().max_message_size;
    Limits {
        max_media_message_size: max,
        max_data_message_size: max,
        max_command_message_size: max,
        max_control_message_size: max,
        ..Limits::default()
    }
}

fn small_limits() -> Limits {
    Limits {
        max_message_size: 4096,
        max_chunk_streams: 4,
        max_buffered_bytes: 8192,
        ..Limits::default()
    }
}

/// Decodes `bytes` with small limits, checking the limits after every call.
fn decode_checked(
    bytes: &[u8],
    cuts: &[usize],
    zero_copy: bool,
) -> (Vec<RawMessage>, Option<ChunkError>) {
    let limits = small_limits();
    let mut decoder = ChunkDecoder::new(limits.clone());
    let mut messages = Vec::new();
    let mut rest = bytes;
    let mut cut = cuts.iter().cycle();
    while !rest.is_empty() {
        let size = cut
            .next()
            .map_or(rest.len(), |&size| size.clamp(1, rest.len()));
        let (piece, after) = rest.split_at(size);
        rest = after;
        let mut piece_bytes = Bytes::copy_from_slice(piece);
        let mut piece_slice = piece;
        loop {
            let result = if zero_copy {
                decoder.decode_bytes(&mut piece_bytes)
            } else {
                decoder.decode(&mut piece_slice)
            };
            assert!(decoder.buffered_bytes() <= limits.max_buffered_bytes);
            assert!(decoder.chunk_stream_count() <= limits.max_chunk_streams);
            match result {
                Ok(Some(msg)) => {
                    assert!(msg.payload.len() <= limits.max_message_size as usize);
                    messages.push(msg);
                }
                Ok(None) => break,
                Err(error) => return (messages, Some(error)),
            }
        }
    }
    (messages, None)
}

/// Arbitrary bytes: either noise, or a valid chunk stream with a few bytes overwritten.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        (
            events(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            0usize..3000,
        )
            .prop_map(|(events, edits, keep)| {
                let (mut bytes, _, _) = encode_events(128, &events);
                bytes.truncate(keep);
                for (at, value) in edits {
                    if !bytes.is_empty() {
                        let at = at.index(bytes.len());
                        bytes[at] = value;
                    }
                }
                bytes
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        ..crate::test_support::proptest_config!("chunk")
    })]

    #[test]
    fn encoded_messages_decode_the_same_at_any_split(
        initial_chunk_size in chunk_size(),
        events in events(),
        cuts in cuts(),
    ) {
        let (bytes, expected, decoder) = encode_events(initial_chunk_size, &events);
        for zero_copy in [false, true] {
            let mut decoder = fresh_decoder_like(&decoder);
            let (messages, error) = decode_in_pieces(&mut decoder, &bytes, &cuts, zero_copy);
            prop_assert_eq!(error, None);
            prop_assert_eq!(&messages, &expected);
            prop_assert_eq!(decoder.buffered_bytes(), 0);
        }
    }

    #[test]
    fn interleaved_chunk_streams_decode_to_their_messages(
        chunk_size in chunk_size(),
        specs in prop::collection::vec(message_spec(CSIDS_BUT_CONTROL), 1..16),
        picks in prop::collection::vec((any::<usize>(), prop::bool::weighted(0.05)), 1..64),
        cuts in cuts(),
    ) {
        let (bytes, expected) = interleave(chunk_size, &specs, &picks);
        for zero_copy in [false, true] {
            let mut decoder = ChunkDecoder::new(any_type_limits());
            decoder.set_chunk_size(chunk_size).unwrap();
            let (messages, error) = decode_in_pieces(&mut decoder, &bytes, &cuts, zero_copy);
            prop_assert_eq!(error, None);
            prop_assert_eq!(&messages, &expected);
            prop_assert_eq!(decoder.buffered_bytes(), 0);
        }
    }

    #[test]
    fn hostile_bytes_never_panic_nor_exceed_limits_and_split_agrees(
        bytes in hostile_bytes(),
        cuts in cuts(),
    ) {
        let whole = decode_checked(&bytes, &[], false);
        prop_assert_eq!(&decode_checked(&bytes, &[1], false), &whole);
        prop_assert_eq!(&decode_checked(&bytes, &cuts, false), &whole);
        prop_assert_eq!(&decode_checked(&bytes, &cuts, true), &whole);
        prop_assert_eq!(&decode_checked(&bytes, &[1], true), &whole);
    }
}

/// Chunk streams recorded between FFmpeg or rtmpdump and nginx-rtmp (the `rtmp-tests` crate's
/// fixtures), after their 3073-byte handshake: every byte decodes, whole or byte by byte.
#[test]
fn real_peers_captures_decode() {
    const HANDSHAKE: usize = 1 + 1536 + 1536;
    macro_rules! capture {
        ($name:literal) => {
            include_bytes!(concat!("../../../tests/fixtures/captures/", $name))
        };
    }
    let captures: [(&[u8], usize, u32); 6] = [
        (capture!("ffmpeg-publish.c2s"), 45, 4096),
        (capture!("ffmpeg-publish.s2c"), 7, 4096),
        (capture!("ffmpeg-play.c2s"), 7, 128),
        (capture!("ffmpeg-play.s2c"), 152, 4096),
        (capture!("rtmpdump-play.c2s"), 8, 128),
        (capture!("rtmpdump-play.s2c"), 102, 4096),
    ];
    for (capture, count, final_chunk_size) in captures {
        let chunks = &capture[HANDSHAKE..];
        let mut decoder = ChunkDecoder::new(any_type_limits());
        let (messages, error) = decode_in_pieces(&mut decoder, chunks, &[], false);
        assert_eq!(error, None);
        assert_eq!(messages.len(), count);
        assert_eq!(decoder.chunk_size(), final_chunk_size);
        assert_eq!(decoder.buffered_bytes(), 0);
        // The first message each way is connect or, from nginx, Window Acknowledgement Size.
        assert!(matches!(
            messages[0].type_id,
            type_id::COMMAND_AMF0 | type_id::WINDOW_ACK_SIZE
        ));
        let mut split = ChunkDecoder::new(any_type_limits());
        assert_eq!(
            decode_in_pieces(&mut split, chunks, &[1], true),
            (messages, None)
        );
    }
}
