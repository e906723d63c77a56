//! The chunk decoder on arbitrary bytes (RTMP 1.0 §5.3).
//!
//! Input: two big-endian u16 split points, then the bytes. The bytes are decoded whole, then in
//! three pieces cut at the split points, through both `decode` and `decode_bytes`: every way
//! must give the same messages and the same error (h11's rule), and none may exceed the limits.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rtmp_proto::chunk::{ChunkDecoder, ChunkError};
use rtmp_proto::{Limits, RawMessage};

const LIMITS: Limits = {
    let mut limits = Limits::DEFAULT;
    limits.max_message_size = 4096;
    limits.max_chunk_streams = 8;
    limits.max_buffered_bytes = 16 * 1024;
    limits
};

fn decode(pieces: &[&[u8]], zero_copy: bool) -> (Vec<RawMessage>, Option<ChunkError>) {
    let mut decoder = ChunkDecoder::new(LIMITS);
    let mut messages = Vec::new();
    for piece in pieces {
        let mut as_bytes = Bytes::copy_from_slice(piece);
        let mut as_slice = *piece;
        loop {
            let result = if zero_copy {
                decoder.decode_bytes(&mut as_bytes)
            } else {
                decoder.decode(&mut as_slice)
            };
            assert!(decoder.buffered_bytes() <= LIMITS.max_buffered_bytes);
            assert!(decoder.chunk_stream_count() <= LIMITS.max_chunk_streams);
            match result {
                Ok(Some(message)) => {
                    assert!(message.payload.len() <= LIMITS.max_message_size as usize);
                    messages.push(message);
                }
                Ok(None) => {
                    assert!(as_bytes.is_empty() || !zero_copy);
                    assert!(as_slice.is_empty() || zero_copy);
                    break;
                }
                Err(error) => {
                    // Errors are sticky.
                    let mut more: &[u8] = &[0x03, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0];
                    assert_eq!(decoder.decode(&mut more), Err(error.clone()));
                    return (messages, Some(error));
                }
            }
        }
    }
    (messages, None)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (splits, bytes) = data.split_at(4);
    let first = usize::from(u16::from_be_bytes([splits[0], splits[1]])) % (bytes.len() + 1);
    let second = usize::from(u16::from_be_bytes([splits[2], splits[3]])) % (bytes.len() + 1);
    let (low, high) = (first.min(second), first.max(second));
    let pieces = [&bytes[..low], &bytes[low..high], &bytes[high..]];

    let whole = decode(&[bytes], false);
    assert_eq!(decode(&pieces, false), whole);
    assert_eq!(decode(&pieces, true), whole);
    assert_eq!(decode(&[bytes], true), whole);
});
