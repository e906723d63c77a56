//! Messages in, chunks out (RTMP 1.0 §5.3).
use super::header::{write_basic_header, EXTENDED_TIMESTAMP_MARKER, MAX_HEADER_LEN};
use super::output::{ChunkOutput, LoneHeader};
use super::streams::{ChunkStreamState, ChunkStreams};
use super::{validate_chunk_size, ChunkError, ChunkStreamId, DEFAULT_CHUNK_SIZE};
use alloc::sync::Arc;
#[cfg(test)]
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use crate::{type_id, RawMessage};

/// Payloads up to this length, and chunk payloads at chunk sizes up to it, are copied next to
/// their chunk header rather than given a segment of their own.
const INLINE_PAYLOAD_MAX: usize = 48;

/// Splits messages into chunks and compresses their headers (RTMP 1.0 §5.3.1.2).
///
/// A message starts with a type 0 header on a new chunk stream, when its message stream differs
/// from the previous message's on that chunk stream, or when its timestamp is behind (in serial
/// number arithmetic); type 1 when the length or type differs; type 2 when only the timestamp
/// delta differs; type 3 when everything, the delta included, matches. The delta that a type 3
/// header repeats is only ever taken from a type 1 or 2 header: what a type 3 after a type 0
/// means is read differently by different peers, so the encoder never relies on it.
///
/// Extended timestamps (§5.3.1.3) are written when the value reaches 0xFFFFFF, and repeated on
/// every type 3 chunk that follows, as the errata ask.
///
/// ```
/// use bytes::Bytes;
/// use rtmp_proto::{chunk::{ChunkEncoder, ChunkOutput, ChunkStreamId}, RawMessage};
/// let mut encoder = ChunkEncoder::new();
/// let mut out = ChunkOutput::new();
/// let audio = |timestamp| RawMessage { timestamp, type_id: 8, stream_id: 1, payload: Bytes::from_static(&[0xAF; 32]) };
/// encoder.encode(ChunkStreamId::AUDIO, &audio(1000), &mut out).unwrap(); // type 0: 12 + 32
/// encoder.encode(ChunkStreamId::AUDIO, &audio(1020), &mut out).unwrap(); // type 2: 4 + 32
/// encoder.encode(ChunkStreamId::AUDIO, &audio(1040), &mut out).unwrap(); // type 3: 1 + 32
/// assert_eq!(out.len(), 44 + 36 + 33);
/// ```
#[derive(Debug, Clone)]
pub struct ChunkEncoder {
    chunk_size: u32,
    streams: ChunkStreams<OutboundStream>,
}

/// One chunk header being written: at most [`MAX_HEADER_LEN`] bytes.
struct HeaderBytes {
    bytes: [u8; MAX_HEADER_LEN],
    len: usize,
}

impl HeaderBytes {
    /// Starts a header with the basic header of `fmt` on `csid`.
    fn basic(fmt: u8, csid: u32) -> HeaderBytes {
        let mut bytes = [0; MAX_HEADER_LEN];
        let len = write_basic_header(&mut bytes, fmt, csid);
        HeaderBytes { bytes, len }
    }

    /// Appends `field`; the callers' fields never make a header longer than the longest one.
    fn push(&mut self, field: &[u8]) {
        if let Some(room) = self.bytes.get_mut(self.len..self.len + field.len()) {
            room.copy_from_slice(field);
            self.len += field.len();
        }
    }

    /// Appends a big-endian 24-bit field (the timestamp and length fields, RTMP 1.0 §5.3.1.2).
    fn push_u24(&mut self, value: u32) {
        let [_, high, middle, low] = value.to_be_bytes();
        self.push(&[high, middle, low]);
    }

    /// The header of the first chunk of `msg` on chunk stream `csid`, with header format `fmt`
    /// and timestamp field `field` (absolute for type 0, a delta otherwise).
    fn first(fmt: u8, field: u32, csid: u32, msg: &RawMessage, length: u32) -> HeaderBytes {
        let mut first = HeaderBytes::basic(fmt, csid);
        if fmt < 3 {
            first.push_u24(field.min(EXTENDED_TIMESTAMP_MARKER));
        }
        if fmt < 2 {
            first.push_u24(length);
            first.push(&[msg.type_id]);
        }
        if fmt == 0 {
            // The one little-endian field of the chunk header (RTMP 1.0 §5.3.1.2.1).
            first.push(&msg.stream_id.to_le_bytes());
        }
        if field >= EXTENDED_TIMESTAMP_MARKER {
            first.push(&field.to_be_bytes());
        }
        first
    }

    fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The header of a message's first chunk and that of the chunks after it.
struct Headers {
    first: HeaderBytes,
    continuation: HeaderBytes,
}

/// The 24-bit length field of `msg` (RTMP 1.0 §5.3.1.2.1), if its payload fits.
fn message_length(msg: &RawMessage) -> Result<u32, ChunkError> {
    match u32::try_from(msg.payload.len()) {
        Ok(length) if length <= super::MAX_MESSAGE_LENGTH => Ok(length),
        _ => Err(ChunkError::PayloadTooLong {
            len: msg.payload.len(),
        }),
    }
}

impl Headers {
    /// The headers of `msg` on chunk stream `csid` with header format `fmt` and timestamp
    /// field `field` (absolute for type 0, a delta otherwise).
    fn new(fmt: u8, field: u32, csid: u32, msg: &RawMessage, length: u32) -> Headers {
        // Every chunk after the first has a type 3 header: the basic header, and the extended
        // timestamp again if there is one.
        let mut continuation = HeaderBytes::basic(3, csid);
        if field >= EXTENDED_TIMESTAMP_MARKER {
            continuation.push(&field.to_be_bytes());
        }
        Headers {
            first: HeaderBytes::first(fmt, field, csid, msg, length),
            continuation,
        }
    }

    fn first(&self) -> &[u8] {
        self.first.as_slice()
    }

    fn continuation(&self) -> &[u8] {
        self.continuation.as_slice()
    }
}

/// The fields of the last message header sent on one chunk stream (RTMP 1.0 §5.3.1.2).
#[derive(Debug, Clone, Copy)]
struct OutboundStream {
    csid: u32,
    timestamp: u32,
    /// The delta of the last type 1 or 2 header, which a type 3 header may repeat.
    delta: Option<u32>,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

impl ChunkStreamState for OutboundStream {
    fn csid(&self) -> u32 {
        self.csid
    }
}

impl Default for ChunkEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkEncoder {
    /// An encoder at the default chunk size of 128 (RTMP 1.0 §5.4.1).
    pub fn new() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: ChunkStreams::new(),
        }
    }

    /// The chunk size this encoder sends with (RTMP 1.0 §5.4.1).
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Changes the chunk size for the messages encoded from now on (RTMP 1.0 §5.4.1). Call it
    /// right after encoding the Set Chunk Size message that announces the new size. Fails on 0
    /// and on sizes with the most significant bit set.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        self.chunk_size = validate_chunk_size(size)?;
        Ok(())
    }

    /// Appends `msg`, split into chunks on chunk stream `csid`, to `out` (RTMP 1.0 §5.3.1).
    ///
    /// The payload is not copied: `out` refers to it (payloads of a few dozen bytes or less
    /// are copied next to their header, as are all chunks at chunk sizes that small). Fails only if the payload is longer than the 24-bit
    /// message length field allows.
    pub fn encode(
        &mut self,
        csid: ChunkStreamId,
        msg: &RawMessage,
        out: &mut ChunkOutput,
    ) -> Result<(), ChunkError> {
        let headers = self.prepare(csid, msg)?;
        let first = headers.first();
        let continuation = headers.continuation();
        let payload = &msg.payload;
        let chunk_size = self.chunk_size as usize;

        // Below a few dozen bytes, a copy costs less than a segment (and an iovec) of its own:
        // for small payloads, and for every chunk at tiny chunk sizes, which no peer uses but
        // which would otherwise take 32 bytes of segment per chunk.
        if payload.len() <= INLINE_PAYLOAD_MAX || chunk_size <= INLINE_PAYLOAD_MAX {
            let (head, mut rest) = payload.split_at(chunk_size.min(payload.len()));
            out.push_inline(first);
            out.push_inline(head);
            while !rest.is_empty() {
                let (chunk, after) = rest.split_at(chunk_size.min(rest.len()));
                out.push_inline(continuation);
                out.push_inline(chunk);
                rest = after;
            }
            return Ok(());
        }

        let chunks = payload.len().div_ceil(chunk_size);
        out.reserve(first.len() + (chunks - 1) * continuation.len(), 2 * chunks);
        // Audio, video and aggregate payloads go to every player of a stream, the same bytes.
        let shared = matches!(
            msg.type_id,
            type_id::AUDIO | type_id::VIDEO | type_id::AGGREGATE
        );
        let held = out.hold_payload(payload.clone());
        let first_end = chunk_size.min(payload.len());
        out.push_inline(first);
        out.push_payload_range(held, 0, first_end, shared);
        let mut start = first_end;
        while start < payload.len() {
            let end = start + chunk_size.min(payload.len() - start);
            out.push_inline(continuation);
            out.push_payload_range(held, start, end, shared);
            start = end;
        }
        Ok(())
    }

    /// Appends `chunked` to `out` as it was chunked, if it was chunked at this encoder's chunk
    /// size, and remembers its header as sent (a type 0, so the next message on its chunk stream
    /// starts from it as from any other); otherwise encodes its message as
    /// [`encode`](Self::encode) does. One buffer, one segment: no header is written per
    /// connection.
    #[inline]
    pub fn encode_chunked(
        &mut self,
        chunked: &ChunkedMessage,
        out: &mut ChunkOutput,
    ) -> Result<(), ChunkError> {
        let chunked = &chunked.0;
        if chunked.chunk_size != self.chunk_size {
            return self.encode(chunked.csid, &chunked.message, out);
        }
        // `ChunkedMessage::new` checked the length.
        let length = chunked.message.payload.len() as u32;
        self.remember_full_header(chunked.csid.get(), &chunked.message, length);
        match &chunked.chunks {
            Chunks::Copied(bytes) => out.push_shared(bytes.clone()),
            Chunks::OneChunk(header) => {
                out.push_shared_after_header(header, chunked.message.payload.clone())
            }
        }
        Ok(())
    }

    /// Sends `chunked` as [`encode_chunked`](Self::encode_chunked) does, but when `out` is
    /// empty and the message was chunked at this encoder's chunk size, first offers its bytes
    /// to `write` (one or two slices, in order); only what `write` did not take goes to `out`.
    /// `write` returns how many bytes it took; a transport that would block takes none.
    /// Returns the length of the chunked message, written or not.
    #[inline]
    pub fn encode_chunked_through(
        &mut self,
        chunked: &ChunkedMessage,
        out: &mut ChunkOutput,
        write: impl FnOnce(&[&[u8]]) -> usize,
    ) -> Result<usize, ChunkError> {
        let inner = &chunked.0;
        if inner.chunk_size != self.chunk_size || !out.is_empty() {
            let before = out.len();
            self.encode_chunked(chunked, out)?;
            return Ok(out.len() - before);
        }
        let payload = &inner.message.payload;
        // `ChunkedMessage::new` checked the length.
        self.remember_full_header(inner.csid.get(), &inner.message, payload.len() as u32);
        let (total, written) = match &inner.chunks {
            Chunks::Copied(bytes) => (bytes.len(), write(&[bytes])),
            Chunks::OneChunk(header) => {
                let header = header.as_slice();
                (header.len() + payload.len(), write(&[header, payload]))
            }
        };
        if written < total {
            match &inner.chunks {
                Chunks::Copied(bytes) => out.push_shared(bytes.clone()),
                Chunks::OneChunk(header) => out.push_shared_after_header(header, payload.clone()),
            }
            if written > 0 {
                out.advance(written);
            }
        }
        Ok(total)
    }

    /// Encodes `msg` as [`encode`](Self::encode) does, but returns each chunk on its own, so
    /// that tests can interleave the chunks of several chunk streams.
    #[cfg(test)]
    pub(super) fn encode_chunks(
        &mut self,
        csid: ChunkStreamId,
        msg: &RawMessage,
    ) -> Result<Vec<Vec<u8>>, ChunkError> {
        let headers = self.prepare(csid, msg)?;
        let chunk_size = self.chunk_size as usize;
        let mut chunks = Vec::new();
        let mut header = headers.first();
        let mut rest = &msg.payload[..];
        loop {
            let (payload, after) = rest.split_at(chunk_size.min(rest.len()));
            chunks.push([header, payload].concat());
            header = headers.continuation();
            rest = after;
            if rest.is_empty() {
                return Ok(chunks);
            }
        }
    }

    /// Chooses and writes the header of the first chunk of `msg` and that of the chunks after it.
    fn prepare(&mut self, csid: ChunkStreamId, msg: &RawMessage) -> Result<Headers, ChunkError> {
        let length = message_length(msg)?;
        let csid = csid.get();
        let (fmt, field) = self.compress(csid, msg, length);
        Ok(Headers::new(fmt, field, csid, msg, length))
    }

    /// Remembers a type 0 header for `msg` on chunk stream `csid` as sent.
    #[inline]
    fn remember_full_header(&mut self, csid: u32, msg: &RawMessage, length: u32) {
        let header = OutboundStream {
            csid,
            timestamp: msg.timestamp,
            delta: None,
            length,
            type_id: msg.type_id,
            stream_id: msg.stream_id,
        };
        match self.streams.find(csid) {
            Some(index) => self.streams[index] = header,
            None => {
                self.streams.open(header);
            }
        }
    }

    /// Picks the header format for `msg` on chunk stream `csid` and the value of its timestamp
    /// field (absolute for type 0, a delta otherwise), and remembers the header.
    #[inline]
    fn compress(&mut self, csid: u32, msg: &RawMessage, length: u32) -> (u8, u32) {
        let Some(index) = self.streams.find(csid) else {
            self.remember_full_header(csid, msg, length);
            return (0, msg.timestamp);
        };
        let stream = &mut self.streams[index];
        let delta = msg.timestamp.wrapping_sub(stream.timestamp);
        // Serial number arithmetic (RFC 1982): a difference of 2^31 or more is a step back.
        let backwards = delta >= 1 << 31;
        let (fmt, field) = if stream.stream_id != msg.stream_id || backwards {
            stream.delta = None;
            (0, msg.timestamp)
        } else if stream.length != length || stream.type_id != msg.type_id {
            stream.delta = Some(delta);
            (1, delta)
        } else if stream.delta == Some(delta) {
            (3, delta)
        } else {
            stream.delta = Some(delta);
            (2, delta)
        };
        stream.timestamp = msg.timestamp;
        stream.length = length;
        stream.type_id = msg.type_id;
        stream.stream_id = msg.stream_id;
        (fmt, field)
    }
}

/// A message chunked once, to be sent as it is on any number of connections (a relay's
/// players): its first chunk has a type 0 header (RTMP 1.0 §5.3.1.2.1), which means the same
/// whatever a connection sent before on the chunk stream, so the same bytes serve every
/// connection that sends at the same chunk size. [`ChunkEncoder::encode_chunked`] appends them
/// as one shared segment, or chunks the message anew at another chunk size. A message that
/// fits in one chunk is not copied at all: its header is kept apart and goes before the
/// payload itself (two slices of one vectored write; a server that sets a chunk size as large
/// as its frames, as SRS's 60000 bytes, makes every frame so).
///
/// A type 0 header costs up to 11 bytes more than a compressed one: a few hundred bytes a
/// second for a live stream, against a header written per message per connection.
///
/// ```
/// use bytes::Bytes;
/// use rtmp_proto::{chunk::{ChunkEncoder, ChunkOutput, ChunkStreamId, ChunkedMessage}, RawMessage};
/// let video = RawMessage { timestamp: 40, type_id: 9, stream_id: 1, payload: Bytes::from(vec![7; 300]) };
/// let chunked = ChunkedMessage::new(ChunkStreamId::VIDEO, video.clone(), 128).unwrap();
/// let (mut encoder, mut out) = (ChunkEncoder::new(), ChunkOutput::new());
/// encoder.encode_chunked(&chunked, &mut out).unwrap();
/// assert_eq!(out.segment_count(), 1);
/// assert_eq!(out.to_bytes(), chunked.to_bytes());
///
/// let one_chunk = ChunkedMessage::new(ChunkStreamId::VIDEO, video.clone(), 4096).unwrap();
/// let (mut encoder, mut out) = (ChunkEncoder::new(), ChunkOutput::new());
/// encoder.set_chunk_size(4096).unwrap();
/// encoder.encode_chunked(&one_chunk, &mut out).unwrap();
/// assert_eq!(out.segment_count(), 2);
/// assert_eq!(out.segments().nth(1), Some(&video.payload[..]));
/// assert_eq!(out.to_bytes(), one_chunk.to_bytes());
/// assert_eq!(out.len(), 12 + 300);
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedMessage(Arc<Chunked>);

/// What a [`ChunkedMessage`] shares: a clone is one reference count, as small as a pointer.
#[derive(Debug)]
struct Chunked {
    message: RawMessage,
    csid: ChunkStreamId,
    chunk_size: u32,
    chunks: Chunks,
}

/// A chunked message's bytes.
#[derive(Debug)]
enum Chunks {
    /// Headers and payload copied into one buffer: a message of several chunks (or none).
    Copied(Bytes),
    /// A message of one chunk: this header, then the payload itself, not copied.
    OneChunk(LoneHeader),
}

impl ChunkedMessage {
    /// Chunks `message` on chunk stream `csid` at `chunk_size`, into one buffer. Fails on a
    /// payload longer than the 24-bit length field allows and on an invalid chunk size.
    pub fn new(
        csid: ChunkStreamId,
        message: RawMessage,
        chunk_size: u32,
    ) -> Result<ChunkedMessage, ChunkError> {
        validate_chunk_size(chunk_size)?;
        let length = message_length(&message)?;
        if !message.payload.is_empty() && length <= chunk_size {
            // One chunk: its type 0 header alone, kept apart from the payload.
            let first = HeaderBytes::first(0, message.timestamp, csid.get(), &message, length);
            if let Some(header) = LoneHeader::new(first.as_slice()) {
                return Ok(ChunkedMessage(Arc::new(Chunked {
                    message,
                    csid,
                    chunk_size,
                    chunks: Chunks::OneChunk(header),
                })));
            }
        }
        let headers = Headers::new(0, message.timestamp, csid.get(), &message, length);
        let (first, continuation) = (headers.first(), headers.continuation());
        let payload = &message.payload[..];
        let step = chunk_size as usize;
        let chunks = payload.len().div_ceil(step).max(1);
        let mut bytes = BytesMut::with_capacity(
            first.len() + (chunks - 1) * continuation.len() + payload.len(),
        );
        for (index, chunk) in payload.chunks(step).enumerate() {
            bytes.extend_from_slice(if index == 0 { first } else { continuation });
            bytes.extend_from_slice(chunk);
        }
        if payload.is_empty() {
            bytes.extend_from_slice(first);
        }
        Ok(ChunkedMessage(Arc::new(Chunked {
            message,
            csid,
            chunk_size,
            // Split off rather than frozen: the buffer is shared from the start, so each
            // player's clone and drop is a plain reference count, where a `Bytes` made from a
            // vector checks on every clone whether it was shared yet.
            chunks: Chunks::Copied(bytes.split().freeze()),
        })))
    }

    /// The message.
    pub fn message(&self) -> &RawMessage {
        &self.0.message
    }

    /// The chunk stream it was chunked on.
    pub fn csid(&self) -> ChunkStreamId {
        self.0.csid
    }

    /// The chunk size it was chunked at.
    pub fn chunk_size(&self) -> u32 {
        self.0.chunk_size
    }

    /// Bytes on the wire, headers included.
    pub fn wire_len(&self) -> usize {
        match &self.0.chunks {
            Chunks::Copied(bytes) => bytes.len(),
            Chunks::OneChunk(header) => header.len() + self.0.message.payload.len(),
        }
    }

    /// The chunks, headers included, in one buffer: for a message of one chunk (header and
    /// payload kept apart, the payload not copied), a copy.
    pub fn to_bytes(&self) -> Bytes {
        match &self.0.chunks {
            Chunks::Copied(bytes) => bytes.clone(),
            Chunks::OneChunk(header) => {
                let mut bytes = BytesMut::with_capacity(self.wire_len());
                bytes.extend_from_slice(header.as_slice());
                bytes.extend_from_slice(&self.0.message.payload);
                bytes.freeze()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn message(timestamp: u32, type_id: u8, stream_id: u32, len: usize) -> RawMessage {
        RawMessage {
            timestamp,
            type_id,
            stream_id,
            payload: Bytes::from(vec![0x5A; len]),
        }
    }

    fn first_byte_of_each(encoder: &mut ChunkEncoder, messages: &[RawMessage]) -> Vec<u8> {
        messages
            .iter()
            .map(|msg| {
                let mut out = ChunkOutput::new();
                encoder.encode(ChunkStreamId::VIDEO, msg, &mut out).unwrap();
                out.to_bytes()[0] >> 6
            })
            .collect()
    }

    #[test]
    fn header_formats_follow_what_changed() {
        let mut encoder = ChunkEncoder::new();
        let formats = first_byte_of_each(
            &mut encoder,
            &[
                message(100, 9, 1, 10), // new chunk stream: 0
                message(140, 9, 1, 10), // delta 40: 2
                message(180, 9, 1, 10), // same delta: 3
                message(220, 9, 1, 11), // length changed: 1
                message(260, 9, 1, 11), // same delta again: 3
                message(260, 8, 1, 11), // type changed: 1
                message(250, 8, 1, 11), // backwards: 0
                message(250, 8, 2, 11), // other message stream: 0
                message(250, 8, 2, 11), // delta 0, none known after type 0: 2
                message(250, 8, 2, 11), // delta 0 again: 3
            ],
        );
        assert_eq!(formats, [0, 2, 3, 1, 3, 1, 0, 0, 2, 3]);
    }

    #[test]
    fn serial_arithmetic_decides_backwards() {
        let mut encoder = ChunkEncoder::new();
        let formats = first_byte_of_each(
            &mut encoder,
            &[
                message(u32::MAX - 10, 9, 1, 10),
                message(5, 9, 1, 10),             // 16 ahead across 2^32: delta
                message(5 + (1 << 31), 9, 1, 10), // 2^31 away: backwards
            ],
        );
        assert_eq!(formats, [0, 2, 0]);
    }

    #[test]
    fn payload_of_24_bits_max() {
        let mut encoder = ChunkEncoder::new();
        let mut out = ChunkOutput::new();
        let too_long = message(0, 9, 1, 0x100_0000);
        assert_eq!(
            encoder.encode(ChunkStreamId::VIDEO, &too_long, &mut out),
            Err(ChunkError::PayloadTooLong { len: 0x100_0000 })
        );
        assert!(out.is_empty());
    }

    #[test]
    fn large_payloads_are_not_copied() {
        let mut encoder = ChunkEncoder::new();
        let mut out = ChunkOutput::new();
        let msg = message(0, 9, 1, 1000);
        encoder
            .encode(ChunkStreamId::VIDEO, &msg, &mut out)
            .unwrap();
        let base = msg.payload.as_ptr() as usize;
        let payload_segments: Vec<usize> = out
            .segments()
            .filter(|segment| segment.len() > 20)
            .map(|segment| segment.as_ptr() as usize - base)
            .collect();
        assert_eq!(payload_segments, [0, 128, 256, 384, 512, 640, 768, 896]);
    }

    #[test]
    fn tiny_chunk_sizes_copy_their_chunks() {
        let mut encoder = ChunkEncoder::new();
        encoder.set_chunk_size(16).unwrap();
        let mut out = ChunkOutput::new();
        encoder
            .encode(ChunkStreamId::VIDEO, &message(0, 9, 1, 1000), &mut out)
            .unwrap();
        assert_eq!(out.segment_count(), 1);
        assert_eq!(out.len(), 12 + 1000 + 62);
    }

    #[test]
    fn empty_message_is_a_lone_header() {
        let mut encoder = ChunkEncoder::new();
        let mut out = ChunkOutput::new();
        encoder
            .encode(ChunkStreamId::COMMAND, &message(5, 20, 0, 0), &mut out)
            .unwrap();
        assert_eq!(
            &out.to_bytes()[..],
            &[0x03, 0, 0, 5, 0, 0, 0, 20, 0, 0, 0, 0]
        );
    }
}
