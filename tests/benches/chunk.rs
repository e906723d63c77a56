//! Chunk layer throughput: `rtmp-proto` against `rml_rtmp` 0.8 and a memcpy.
//!
//! `cargo bench -p rtmp-tests --bench chunk` prints a table. With arguments it runs one case
//! once, for `tests/bench/chunk-callgrind.sh`:
//!
//! ```text
//! chunk case setup   -     SIZE   # generate the stream and encode it at SIZE (the baseline)
//! chunk case encode  LIB   SIZE   # LIB: proto | rml
//! chunk case decode  LIB   SIZE   # LIB: proto | proto-bytes | rml
//! chunk case memcpy  -     SIZE
//! ```
//!
//! An optional fifth argument repeats the case (for `perf record`).
//!
//! Every case first does what `setup` does, so that its cost can be subtracted.
//!
//! The stream: 30 fps video of 10-15 KB frames with a 60 KB keyframe every 60 frames, and 47
//! audio frames a second of 372 bytes, in timestamp order, until 64 MiB of payload; generated
//! from a fixed seed. Both decoders read the same bytes, made by `rtmp-proto`'s encoder (checked
//! to decode to the same messages with both), in reads of 16 KiB.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rml_rtmp::chunk_io::{ChunkDeserializer, ChunkSerializer};
use rml_rtmp::messages::MessagePayload;
use rml_rtmp::time::RtmpTimestamp;
use rtmp_proto::chunk::{ChunkDecoder, ChunkEncoder, ChunkOutput, ChunkStreamId};
use rtmp_proto::{type_id, Limits, RawMessage};

const TOTAL_PAYLOAD: usize = 64 * 1024 * 1024;
const READ_SIZE: usize = 16 * 1024;
const REPETITIONS: usize = 7;

/// xorshift64*: deterministic, and cheap enough not to dominate the setup.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Bytes {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        Bytes::from(out)
    }
}

/// The media stream, with the chunk stream each message goes on.
fn generate() -> Vec<(ChunkStreamId, RawMessage)> {
    let mut rng = Rng(0x5EED_CAFE_F00D_1234);
    let mut messages = Vec::new();
    let mut total = 0;
    let (mut video_frame, mut audio_frame) = (0u64, 0u64);
    while total < TOTAL_PAYLOAD {
        // Milliseconds, exact to the frame: the next frame is whichever comes first.
        let video_at = video_frame * 1000 / 30;
        let audio_at = audio_frame * 1000 / 47;
        let (csid, type_id, timestamp, len) = if video_at <= audio_at {
            let len = if video_frame % 60 == 0 {
                60 * 1024
            } else {
                10 * 1024 + (rng.next() % (5 * 1024)) as usize
            };
            video_frame += 1;
            (ChunkStreamId::VIDEO, type_id::VIDEO, video_at, len)
        } else {
            audio_frame += 1;
            (ChunkStreamId::AUDIO, type_id::AUDIO, audio_at, 372)
        };
        total += len;
        messages.push((
            csid,
            RawMessage {
                timestamp: timestamp as u32,
                type_id,
                stream_id: 1,
                payload: rng.bytes(len),
            },
        ));
    }
    messages
}

fn payload_bytes(messages: &[(ChunkStreamId, RawMessage)]) -> usize {
    messages.iter().map(|(_, msg)| msg.payload.len()).sum()
}

/// The chunk stream our encoder makes at `chunk_size`, as the decoders' input.
fn encode_stream(messages: &[(ChunkStreamId, RawMessage)], chunk_size: u32) -> Bytes {
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(chunk_size).unwrap();
    let mut out = ChunkOutput::new();
    let mut bytes = Vec::new();
    for (csid, msg) in messages {
        encoder.encode(*csid, msg, &mut out).unwrap();
        out.copy_to(&mut bytes);
        out.clear();
    }
    Bytes::from(bytes)
}

fn to_rml(messages: &[(ChunkStreamId, RawMessage)]) -> Vec<MessagePayload> {
    messages
        .iter()
        .map(|(_, msg)| MessagePayload {
            timestamp: RtmpTimestamp::new(msg.timestamp),
            type_id: msg.type_id,
            message_stream_id: msg.stream_id,
            data: msg.payload.clone(),
        })
        .collect()
}

/// Encodes every message, handing the output over (cleared) after each, as a writer would.
fn encode_proto(messages: &[(ChunkStreamId, RawMessage)], chunk_size: u32) -> usize {
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(chunk_size).unwrap();
    let mut out = ChunkOutput::new();
    let mut written = 0;
    for (csid, msg) in messages {
        encoder.encode(*csid, msg, &mut out).unwrap();
        written += black_box(&out).len();
        out.clear();
    }
    written
}

fn encode_rml(messages: &[MessagePayload], chunk_size: u32) -> usize {
    let mut serializer = ChunkSerializer::new();
    serializer
        .set_max_chunk_size(chunk_size, RtmpTimestamp::new(0))
        .unwrap();
    let mut written = 0;
    for msg in messages {
        let packet = serializer.serialize(msg, false, true).unwrap();
        written += black_box(packet).bytes.len();
    }
    written
}

/// Decodes `input` in reads of 16 KiB; returns the message count and payload bytes.
fn decode_proto(input: &[u8], chunk_size: u32) -> (usize, usize) {
    let mut decoder = ChunkDecoder::new(Limits::default());
    decoder.set_chunk_size(chunk_size).unwrap();
    let (mut count, mut bytes) = (0, 0);
    for mut read in input.chunks(READ_SIZE) {
        while let Some(msg) = decoder.decode(&mut read).unwrap() {
            count += 1;
            bytes += black_box(msg).payload.len();
        }
    }
    (count, bytes)
}

/// As [`decode_proto`], through `decode_bytes`: single-chunk messages are not copied.
fn decode_proto_bytes(input: &Bytes, chunk_size: u32) -> (usize, usize) {
    let mut decoder = ChunkDecoder::new(Limits::default());
    decoder.set_chunk_size(chunk_size).unwrap();
    let (mut count, mut bytes) = (0, 0);
    let mut start = 0;
    while start < input.len() {
        let end = (start + READ_SIZE).min(input.len());
        let mut read = input.slice(start..end);
        start = end;
        while let Some(msg) = decoder.decode_bytes(&mut read).unwrap() {
            count += 1;
            bytes += black_box(msg).payload.len();
        }
    }
    (count, bytes)
}

fn decode_rml(input: &[u8], chunk_size: u32) -> (usize, usize) {
    let mut deserializer = ChunkDeserializer::new();
    deserializer
        .set_max_chunk_size(chunk_size as usize)
        .unwrap();
    let (mut count, mut bytes) = (0, 0);
    for read in input.chunks(READ_SIZE) {
        let mut next = read;
        while let Some(msg) = deserializer.get_next_message(next).unwrap() {
            count += 1;
            bytes += black_box(msg).data.len();
            next = &[];
        }
    }
    (count, bytes)
}

/// Copies every payload into one reused buffer.
fn memcpy(messages: &[(ChunkStreamId, RawMessage)]) -> usize {
    let mut buffer = Vec::with_capacity(128 * 1024);
    let mut copied = 0;
    for (_, msg) in messages {
        buffer.clear();
        buffer.extend_from_slice(&msg.payload);
        copied += black_box(&buffer).len();
    }
    copied
}

/// Best and median of `REPETITIONS` runs.
fn time(mut run: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..REPETITIONS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[REPETITIONS / 2])
}

fn mb_per_s(bytes: usize, duration: Duration) -> f64 {
    bytes as f64 / duration.as_secs_f64() / 1e6
}

/// One case, run once, for callgrind.
fn run_case(what: &str, library: &str, chunk_size: u32, repetitions: usize) {
    let messages = generate();
    let input = encode_stream(&messages, chunk_size);
    let rml_messages = to_rml(&messages);
    for _ in 0..repetitions {
        run_case_once(what, library, chunk_size, &messages, &rml_messages, &input);
    }
    println!("payload_bytes {}", payload_bytes(&messages));
}

fn run_case_once(
    what: &str,
    library: &str,
    chunk_size: u32,
    messages: &[(ChunkStreamId, RawMessage)],
    rml_messages: &[MessagePayload],
    input: &Bytes,
) {
    let result = match (what, library) {
        ("setup", _) => 0,
        ("encode", "proto") => encode_proto(messages, chunk_size),
        ("encode", "rml") => encode_rml(rml_messages, chunk_size),
        ("decode", "proto") => decode_proto(input, chunk_size).1,
        ("decode", "proto-bytes") => decode_proto_bytes(input, chunk_size).1,
        ("decode", "rml") => decode_rml(input, chunk_size).1,
        ("memcpy", _) => memcpy(messages),
        _ => panic!("unknown case {what} {library}"),
    };
    black_box(result);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [case, what, library, size, rest @ ..] = &args[..] {
        if case == "case" {
            let repetitions = rest.first().map_or(1, |n| n.parse().expect("repetitions"));
            run_case(
                what,
                library,
                size.parse().expect("chunk size"),
                repetitions,
            );
            return;
        }
    }
    // `cargo bench` passes `--bench`; anything else runs the table too.

    let messages = generate();
    let rml_messages = to_rml(&messages);
    let payload = payload_bytes(&messages);
    println!(
        "stream: {} messages, {:.1} MiB of payload; decoders read 16 KiB at a time from the bytes \
         rtmp-proto's encoder makes; best (median) of {REPETITIONS} runs",
        messages.len(),
        payload as f64 / (1024.0 * 1024.0)
    );
    let (_, memcpy_time) = {
        let (best, median) = time(|| {
            black_box(memcpy(&messages));
        });
        (best, (best, median))
    };
    let memcpy_rate = mb_per_s(payload, memcpy_time.0);
    println!();
    println!(
        "{:<8} {:>5} {:>22} {:>22} {:>22} {:>10} {:>12}",
        "",
        "size",
        "rtmp-proto MB/s",
        "rtmp-proto bytes MB/s",
        "rml_rtmp MB/s",
        "ours/rml",
        "ours/memcpy"
    );
    for chunk_size in [128u32, 4096] {
        let input = encode_stream(&messages, chunk_size);
        // Both decoders must agree on what the bytes say.
        let ours = decode_proto(&input, chunk_size);
        assert_eq!(decode_proto_bytes(&input, chunk_size), ours);
        assert_eq!(decode_rml(&input, chunk_size), ours);
        assert_eq!(ours, (messages.len(), payload));

        let proto = time(|| {
            black_box(decode_proto(&input, chunk_size));
        });
        let proto_bytes = time(|| {
            black_box(decode_proto_bytes(&input, chunk_size));
        });
        let rml = time(|| {
            black_box(decode_rml(&input, chunk_size));
        });
        print_row(
            "decode",
            chunk_size,
            payload,
            proto,
            Some(proto_bytes),
            rml,
            memcpy_rate,
        );

        let proto = time(|| {
            black_box(encode_proto(&messages, chunk_size));
        });
        let rml = time(|| {
            black_box(encode_rml(&rml_messages, chunk_size));
        });
        print_row("encode", chunk_size, payload, proto, None, rml, memcpy_rate);
    }
    println!(
        "{:<8} {:>5} {:>22}",
        "memcpy",
        "-",
        format!(
            "{:.0} ({:.0})",
            memcpy_rate,
            mb_per_s(payload, memcpy_time.1)
        )
    );
}

fn print_row(
    direction: &str,
    chunk_size: u32,
    payload: usize,
    proto: (Duration, Duration),
    proto_bytes: Option<(Duration, Duration)>,
    rml: (Duration, Duration),
    memcpy_rate: f64,
) {
    let cell = |(best, median): (Duration, Duration)| {
        format!(
            "{:.0} ({:.0})",
            mb_per_s(payload, best),
            mb_per_s(payload, median)
        )
    };
    let ours = mb_per_s(payload, proto.0);
    println!(
        "{:<8} {:>5} {:>22} {:>22} {:>22} {:>9.2}x {:>11.2}x",
        direction,
        chunk_size,
        cell(proto),
        proto_bytes.map_or_else(|| "-".to_string(), cell),
        cell(rml),
        ours / mb_per_s(payload, rml.0),
        ours / memcpy_rate,
    );
}
