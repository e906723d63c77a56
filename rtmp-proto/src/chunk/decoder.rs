//! Chunks in, whole messages out (RTMP 1.0 §5.3).

use alloc::vec::Vec;
use core::mem;

use bytes::{Buf, Bytes, BytesMut};

use super::header::{
    read_basic_header, read_u24, EXTENDED_TIMESTAMP_MARKER, MAX_HEADER_LEN, MESSAGE_HEADER_LEN,
};
use super::streams::{ChunkStreamState, ChunkStreams};
use super::{validate_chunk_size, ChunkError, DEFAULT_CHUNK_SIZE};
use crate::{type_id, Limits, RawMessage};

/// Reassembles messages from the chunks a peer sends (RTMP 1.0 §5.3).
///
/// Each chunk payload is copied once, from the input straight into the message it belongs to;
/// a message whose payload lies whole inside one chunk of a [`decode_bytes`](Self::decode_bytes)
/// input is not copied at all. Between calls the decoder keeps, besides each chunk stream's
/// partial message, at most one incomplete chunk header (18 bytes), and, once audio or video
/// arrived, the rest of the block it copies them into ([`ARENA_BLOCK`] bytes).
///
/// Set Chunk Size (RTMP 1.0 §5.4.1) and Abort (§5.4.2) messages take effect as they are decoded;
/// they are still returned. Timestamps come out absolute and wrap at 2^32 (§5.3.1.3, serial
/// number arithmetic).
///
/// Every error is fatal: once [`decode`](Self::decode) has returned one, it returns the same
/// error again.
///
/// ```
/// use rtmp_proto::{chunk::ChunkDecoder, Limits};
/// // A type 0 chunk on chunk stream 3: timestamp 1, length 2, type 20, stream 0.
/// let mut input: &[u8] = &[0x03, 0, 0, 1, 0, 0, 2, 20, 0, 0, 0, 0, 0xAA, 0xBB];
/// let mut decoder = ChunkDecoder::new(Limits::default());
/// let message = decoder.decode(&mut input).unwrap().unwrap();
/// assert_eq!((message.timestamp, message.type_id, &message.payload[..]), (1, 20, &[0xAA, 0xBB][..]));
/// assert!(input.is_empty());
/// ```
#[derive(Debug)]
pub struct ChunkDecoder {
    limits: Limits,
    chunk_size: u32,
    streams: ChunkStreams<InboundStream>,
    /// The stream whose chunk payload is being read while `chunk_remaining > 0`.
    current: usize,
    /// Payload bytes of the current chunk not read yet.
    chunk_remaining: u32,
    /// Sum of the announced lengths of the partial messages.
    buffered: usize,
    /// Sum of the capacities of the partial messages' buffers and of the arena's block: the
    /// memory they hold.
    held: usize,
    /// What is left of the block audio and video payloads up to [`CARVE_UP_TO`] bytes are
    /// copied into, one after the other: such a payload costs no allocation of its own.
    arena: BytesMut,
    /// The size of the arena's block, counted in `held` while the decoder holds it.
    arena_block: usize,
    /// Bytes that arrived before the rest of the input: an incomplete chunk header, or payload
    /// bytes that were read to tell whether a type 3 chunk carries an extended timestamp.
    pending: [u8; MAX_HEADER_LEN],
    pending_len: usize,
    failed: Option<ChunkError>,
}

/// What the decoder knows about one chunk stream: the fields of its last message header
/// (RTMP 1.0 §5.3.1.2) and its partial message.
#[derive(Debug)]
struct InboundStream {
    csid: u32,
    /// Absolute timestamp of the stream's current (or last) message.
    timestamp: u32,
    /// Timestamp field of the last type 0, 1 or 2 header, added by a type 3 chunk that starts a
    /// new message.
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// The extended timestamp of the last type 0, 1 or 2 header, which the type 3 chunks that
    /// follow it should repeat (RTMP 1.0 §5.3.1.3 and the errata).
    extended: Option<u32>,
    /// Whether a message has started and not all its chunks arrived.
    open: bool,
    partial: Partial,
}

/// The payload of a message whose chunks have not all arrived.
#[derive(Debug)]
enum Partial {
    /// A buffer of its own, grown with what arrives (see `append`).
    Grown(Vec<u8>),
    /// Room for the whole payload, carved from the decoder's arena once it had all arrived
    /// (counted in `held` with the arena's block).
    Carved(BytesMut),
}

impl Partial {
    const EMPTY: Partial = Partial::Grown(Vec::new());

    fn len(&self) -> usize {
        match self {
            Partial::Grown(buffer) => buffer.len(),
            Partial::Carved(region) => region.len(),
        }
    }

    /// The memory it holds of its own.
    fn held(&self) -> usize {
        match self {
            Partial::Grown(buffer) => buffer.capacity(),
            Partial::Carved(_) => 0,
        }
    }

    /// The payload, leaving the stream empty.
    fn take(&mut self) -> Bytes {
        match mem::replace(self, Partial::EMPTY) {
            Partial::Grown(buffer) => Bytes::from(buffer),
            Partial::Carved(region) => region.freeze(),
        }
    }
}

impl ChunkStreamState for InboundStream {
    fn csid(&self) -> u32 {
        self.csid
    }
}

/// Payloads shorter than this are copied out of a [`ChunkDecoder::decode_bytes`] input rather
/// than sliced from it: a small message kept long (the join cache keeps a GOP's audio) would
/// keep the whole input buffer alive, and the reader would read into fresh, cold memory each
/// time instead of reusing its buffer.
const SLICE_FROM: usize = 4096;

/// Smallest buffer a partial message starts with (or its length, if smaller).
const FIRST_PARTIAL: usize = 4096;

/// Size of the blocks audio and video payloads are copied into (see [`CARVE_UP_TO`]). A
/// payload kept keeps its whole block alive: the relay's join cache keeps the frames of the
/// current GOP, which arrived one after the other and so fill whole blocks, and copies the few
/// it keeps for longer (sequence headers) out of them; an application that keeps a few
/// payloads for long does the same (`Bytes::copy_from_slice`).
pub const ARENA_BLOCK: usize = 64 * 1024;

/// Audio and video payloads of at most this many bytes are copied into a block shared with
/// the ones before and after them rather than into an allocation of their own: a live
/// stream's frames then cost no allocation each. At most this much of a block goes unused
/// when the next payload does not fit, a quarter of it. Larger payloads, and a message
/// whose chunks have not all arrived in the input its first chunk came in, get a buffer of
/// their own.
pub const CARVE_UP_TO: usize = 16 * 1024;

/// Whether payloads of messages of this type are carved from the arena.
#[inline(always)]
fn carved_type(type_id: u8) -> bool {
    matches!(type_id, type_id::AUDIO | type_id::VIDEO)
}

/// The big-endian u32 at `at` in `buf`, if `buf` holds it whole.
#[inline(always)]
fn read_u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let field = buf.get(at..)?.first_chunk::<4>()?;
    Some(u32::from_be_bytes(*field))
}

/// Copies as much of `bytes` as fits into `buf` from `at` on; returns where the copy ends.
#[inline(always)]
fn copy_into(buf: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    let Some(room) = buf.get_mut(at..) else {
        return at;
    };
    let len = room.len().min(bytes.len());
    if let (Some(to), Some(from)) = (room.get_mut(..len), bytes.get(..len)) {
        to.copy_from_slice(from);
    }
    at + len
}

/// Appends `bytes` to the partial message of `stream`, growing its buffer by doubling up to
/// the message's length, or at once by the `ahead` bytes of input that arrived after `bytes`:
/// what a message holds is at most twice what arrived of it, or what arrived with it, however
/// long it said it was. Returns the bytes the buffer grew by.
#[inline(always)]
fn append(stream: &mut InboundStream, bytes: &[u8], ahead: usize) -> usize {
    let partial = match &mut stream.partial {
        Partial::Grown(partial) => partial,
        Partial::Carved(region) => {
            // Carved at the message's length: what arrives of it always fits.
            region.extend_from_slice(bytes);
            return 0;
        }
    };
    let needed = partial.len() + bytes.len();
    let before = partial.capacity();
    if needed > before {
        let length = stream.length as usize;
        // A message that arrived whole in one read is copied once, not regrown chunk by chunk.
        let arrived = needed.saturating_add(ahead);
        let target = needed
            .max(before * 2)
            .max(FIRST_PARTIAL)
            .max(arrived)
            .min(length);
        partial.reserve_exact(target - partial.len());
    }
    partial.extend_from_slice(bytes);
    partial.capacity() - before
}

/// A parsed chunk header (RTMP 1.0 §5.3.1): the fields that were present.
#[derive(Clone, Copy)]
struct ChunkHeader {
    fmt: u8,
    csid: u32,
    stream: Option<usize>,
    /// The timestamp or delta, with the extended timestamp already substituted.
    timestamp: u32,
    extended: bool,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

impl ChunkDecoder {
    /// A decoder at the default chunk size of 128 (RTMP 1.0 §5.4.1), bounded by `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: ChunkStreams::new(),
            current: 0,
            chunk_remaining: 0,
            buffered: 0,
            held: 0,
            arena: BytesMut::new(),
            arena_block: 0,
            pending: [0; MAX_HEADER_LEN],
            pending_len: 0,
            failed: None,
        }
    }

    /// The chunk size the peer sends with (RTMP 1.0 §5.4.1).
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Sets the chunk size the peer sends with (RTMP 1.0 §5.4.1); decoding a Set Chunk Size
    /// message does this already. Fails on 0 and on sizes with the most significant bit set.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        self.chunk_size = validate_chunk_size(size)?;
        Ok(())
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sum of the announced lengths of the messages whose chunks have not all arrived, as
    /// bounded by [`Limits::max_buffered_bytes`].
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Memory held by the messages whose chunks have not all arrived (their buffers'
    /// capacities): at most about twice what arrived of them, or what arrived in the input they
    /// were read from, never their announced lengths; and by the block audio and video
    /// payloads are copied into ([`ARENA_BLOCK`]), once one arrived.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Number of chunk streams the peer has opened (RTMP 1.0 §5.3.1.1), as bounded by
    /// [`Limits::max_chunk_streams`].
    pub fn chunk_stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Consumes bytes from the front of `input` and returns the next complete message, or
    /// `Ok(None)` once every byte of `input` has been consumed (partial chunks are kept inside,
    /// bounded by the limits). Call it again while it returns messages.
    ///
    /// After an error, how much of `input` was consumed is unspecified.
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<RawMessage>, ChunkError> {
        let mut consumed = 0;
        let result = self.decode_from(input, None, &mut consumed);
        *input = input.get(consumed..).unwrap_or_default();
        self.remember_failure(result)
    }

    /// The same as [`decode`](Self::decode) over a [`Bytes`]: a message whose payload lies whole
    /// in one chunk of `input` is returned as a slice of it, without a copy, unless it is
    /// shorter than 4 KiB (copied, so that it does not keep all of `input` alive).
    pub fn decode_bytes(&mut self, input: &mut Bytes) -> Result<Option<RawMessage>, ChunkError> {
        let mut consumed = 0;
        let result = self.decode_from(input, Some(&*input), &mut consumed);
        input.advance(consumed.min(input.len()));
        self.remember_failure(result)
    }

    fn remember_failure(
        &mut self,
        result: Result<Option<RawMessage>, ChunkError>,
    ) -> Result<Option<RawMessage>, ChunkError> {
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    /// The decoding loop. `source`, when given, is `input` as a `Bytes` to slice payloads from.
    #[inline(always)]
    fn decode_from(
        &mut self,
        input: &[u8],
        source: Option<&Bytes>,
        pos: &mut usize,
    ) -> Result<Option<RawMessage>, ChunkError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        loop {
            if self.chunk_remaining > 0 {
                let stream = &mut self.streams[self.current];
                let take = if self.pending_len > 0 {
                    // Only after a type 3 chunk whose four bytes after the basic header turned out
                    // not to be an extended timestamp.
                    let take = (self.chunk_remaining as usize).min(self.pending_len);
                    self.held += append(stream, self.pending.get(..take).unwrap_or_default(), 0);
                    self.pending.copy_within(take..self.pending_len, 0);
                    self.pending_len -= take;
                    take
                } else {
                    let rest = input.get(*pos..).unwrap_or_default();
                    if rest.is_empty() {
                        return Ok(None);
                    }
                    let take = (self.chunk_remaining as usize).min(rest.len());
                    let ahead = rest.len() - take;
                    self.held += append(stream, rest.get(..take).unwrap_or_default(), ahead);
                    *pos += take;
                    take
                };
                // `take` is at most `chunk_remaining`, a u32.
                self.chunk_remaining -= take as u32;
                if self.chunk_remaining > 0 {
                    continue;
                }
                let missing = stream.length as usize - stream.partial.len();
                if missing == 0 {
                    return self.finish_partial(self.current).map(Some);
                }
                // The usual next chunk continues this message with a one-byte type 3 header:
                // take it here rather than through `parse_header`, to the same effect.
                if self.pending_len == 0 && stream.csid < 64 && stream.extended.is_none() {
                    let continuation = 0xC0 | stream.csid as u8;
                    if input.get(*pos) == Some(&continuation) {
                        *pos += 1;
                        self.chunk_remaining = self.chunk_size.min(missing as u32);
                    }
                }
                continue;
            }

            let header = if self.pending_len == 0 {
                let rest = input.get(*pos..).unwrap_or_default();
                if rest.is_empty() {
                    return Ok(None);
                }
                match self.parse_header(rest)? {
                    Some((header, len)) => {
                        *pos += len;
                        header
                    }
                    None => {
                        // An incomplete header is shorter than the longest one.
                        self.pending_len = copy_into(&mut self.pending, 0, rest);
                        *pos = input.len();
                        return Ok(None);
                    }
                }
            } else {
                match self.parse_split_header(input, pos)? {
                    Some(header) => header,
                    None => return Ok(None),
                }
            };

            if let Some(message) = self.start_chunk(header, input, source, pos)? {
                return Ok(Some(message));
            }
        }
    }

    /// Parses a chunk header that the previous input ended in the middle of: the part held in
    /// `pending`, then `input` from `pos`. `None` if it is still incomplete (what arrived is
    /// held). Apart from the decoding loop, whose every message would otherwise carry it: a
    /// header split between two reads is rare.
    #[cold]
    #[inline(never)]
    fn parse_split_header(
        &mut self,
        input: &[u8],
        pos: &mut usize,
    ) -> Result<Option<ChunkHeader>, ChunkError> {
        let rest = input.get(*pos..).unwrap_or_default();
        let mut joined = [0u8; 2 * MAX_HEADER_LEN];
        let held = self.pending_len;
        let pending = self.pending.get(..held).unwrap_or_default();
        let joined_len = copy_into(&mut joined, 0, pending);
        let joined_len = copy_into(&mut joined, joined_len, rest);
        match self.parse_header(joined.get(..joined_len).unwrap_or_default())? {
            Some((header, len)) => {
                if len >= held {
                    *pos += len - held;
                    self.pending_len = 0;
                } else {
                    self.pending.copy_within(len..held, 0);
                    self.pending_len = held - len;
                }
                Ok(Some(header))
            }
            None => {
                // Still incomplete: what was joined is shorter than any header.
                self.pending_len = copy_into(&mut self.pending, held, rest);
                *pos += self.pending_len - held;
                Ok(None)
            }
        }
    }

    /// Parses the chunk header at the start of `buf` (RTMP 1.0 §5.3.1), returning it with its
    /// length, or `None` if `buf` holds only part of it.
    #[inline(always)]
    fn parse_header(&mut self, buf: &[u8]) -> Result<Option<(ChunkHeader, usize)>, ChunkError> {
        let Some((fmt, csid, basic_len)) = read_basic_header(buf) else {
            return Ok(None);
        };
        let stream = self.streams.find(csid);
        let mut header = ChunkHeader {
            fmt,
            csid,
            stream,
            timestamp: 0,
            extended: false,
            length: 0,
            type_id: 0,
            stream_id: 0,
        };
        let Some(known) = stream else {
            if fmt != 0 {
                return Err(ChunkError::UnknownChunkStream { csid, fmt });
            }
            return self.parse_message_header(buf, basic_len, header);
        };
        if fmt != 3 {
            return self.parse_message_header(buf, basic_len, header);
        }
        let mut len = basic_len;
        if let Some(expected) = self.streams[known].extended {
            // Peers differ on whether type 3 chunks repeat the extended timestamp: take the
            // four bytes as one only if they hold the expected value, as payload otherwise.
            let Some(field) = read_u32_at(buf, basic_len) else {
                return Ok(None);
            };
            if field == expected {
                header.extended = true;
                len += 4;
            }
        }
        Ok(Some((header, len)))
    }

    /// Parses the type 0, 1 or 2 message header after a basic header (RTMP 1.0 §5.3.1.2).
    #[inline(always)]
    fn parse_message_header(
        &self,
        buf: &[u8],
        basic_len: usize,
        mut header: ChunkHeader,
    ) -> Result<Option<(ChunkHeader, usize)>, ChunkError> {
        let fields_len = MESSAGE_HEADER_LEN
            .get(usize::from(header.fmt))
            .copied()
            .unwrap_or_default();
        let Some(fields) = buf.get(basic_len..basic_len + fields_len) else {
            return Ok(None);
        };
        // Types 0, 1 and 2 lead with the timestamp field; types 0 and 1 go on with length and
        // type id, type 0 with the stream id (RTMP 1.0 §5.3.1.2.1 to §5.3.1.2.3).
        if let [t0, t1, t2, ..] = *fields {
            header.timestamp = read_u24([t0, t1, t2]);
        }
        if let [_, _, _, l0, l1, l2, type_id, ..] = *fields {
            header.length = read_u24([l0, l1, l2]);
            header.type_id = type_id;
            let max = self.limits.max_size_of_type(header.type_id);
            if header.length > max {
                return Err(ChunkError::MessageTooLarge {
                    len: header.length,
                    max,
                });
            }
        }
        if header.fmt == 0 {
            // The one little-endian field of the chunk header (RTMP 1.0 §5.3.1.2.1).
            if let [_, _, _, _, _, _, _, s0, s1, s2, s3] = *fields {
                header.stream_id = u32::from_le_bytes([s0, s1, s2, s3]);
            }
        }
        let mut len = basic_len + fields_len;
        if header.timestamp == EXTENDED_TIMESTAMP_MARKER {
            let Some(field) = read_u32_at(buf, len) else {
                return Ok(None);
            };
            header.timestamp = field;
            header.extended = true;
            len += 4;
        }
        Ok(Some((header, len)))
    }

    /// Applies a parsed chunk header: updates the chunk stream's state and sets up the reading of
    /// the chunk's payload. Returns the message at once when its payload is already complete.
    #[inline(always)]
    fn start_chunk(
        &mut self,
        header: ChunkHeader,
        input: &[u8],
        source: Option<&Bytes>,
        pos: &mut usize,
    ) -> Result<Option<RawMessage>, ChunkError> {
        let index = match header.stream {
            Some(index) => index,
            None => self.open_stream(header.csid)?,
        };
        let chunk_size = self.chunk_size;
        let stream = &mut self.streams[index];

        if stream.open {
            let changed = match header.fmt {
                0 => {
                    header.length != stream.length
                        || header.type_id != stream.type_id
                        || header.stream_id != stream.stream_id
                }
                1 => header.length != stream.length || header.type_id != stream.type_id,
                _ => false,
            };
            if changed {
                return Err(ChunkError::HeaderChangedMidMessage { csid: stream.csid });
            }
            // A header repeated in the middle of a message keeps the message's timestamp but
            // tells whether the type 3 chunks after it carry an extended timestamp.
            if header.fmt < 3 {
                stream.extended = header.extended.then_some(header.timestamp);
            }
            let missing = stream.length as usize - stream.partial.len();
            self.chunk_remaining = chunk_size.min(missing as u32);
            self.current = index;
            return Ok(None);
        }

        match header.fmt {
            0 => {
                stream.timestamp = header.timestamp;
                stream.delta = header.timestamp;
                stream.length = header.length;
                stream.type_id = header.type_id;
                stream.stream_id = header.stream_id;
            }
            1 => {
                stream.delta = header.timestamp;
                stream.timestamp = stream.timestamp.wrapping_add(header.timestamp);
                stream.length = header.length;
                stream.type_id = header.type_id;
            }
            2 => {
                stream.delta = header.timestamp;
                stream.timestamp = stream.timestamp.wrapping_add(header.timestamp);
            }
            _ => stream.timestamp = stream.timestamp.wrapping_add(stream.delta),
        }
        if header.fmt < 3 {
            stream.extended = header.extended.then_some(header.timestamp);
        }

        let length = stream.length;
        let needed = self.buffered.saturating_add(length as usize);
        if needed > self.limits.max_buffered_bytes {
            return Err(ChunkError::BufferLimitExceeded {
                needed,
                max: self.limits.max_buffered_bytes,
            });
        }
        let (timestamp, type_id, stream_id) = (stream.timestamp, stream.type_id, stream.stream_id);

        if length == 0 {
            let message = RawMessage {
                timestamp,
                type_id,
                stream_id,
                payload: Bytes::new(),
            };
            self.apply_control(&message)?;
            return Ok(Some(message));
        }
        if length <= chunk_size && self.pending_len == 0 {
            let start = *pos;
            if let Some(payload) = input.get(start..start + length as usize) {
                let payload = match source {
                    Some(bytes) if payload.len() >= SLICE_FROM => {
                        bytes.slice(start..start + payload.len())
                    }
                    _ if carved_type(type_id) && payload.len() <= CARVE_UP_TO => {
                        let mut region = self.carve(payload.len());
                        region.extend_from_slice(payload);
                        region.freeze()
                    }
                    _ => Bytes::copy_from_slice(payload),
                };
                *pos += length as usize;
                let message = RawMessage {
                    timestamp,
                    type_id,
                    stream_id,
                    payload,
                };
                self.apply_control(&message)?;
                return Ok(Some(message));
            }
        }

        // Room for the announced length only once that much arrived; otherwise the buffer grows
        // with what arrives (see `append`).
        let arrived = input.len().saturating_sub(*pos);
        let partial = if carved_type(type_id)
            && length as usize <= CARVE_UP_TO
            && self.pending_len == 0
            && arrived >= length as usize
        {
            Partial::Carved(self.carve(length as usize))
        } else {
            Partial::EMPTY
        };
        let stream = &mut self.streams[index];
        stream.open = true;
        stream.partial = partial;
        self.buffered = needed;
        self.chunk_remaining = chunk_size.min(length);
        self.current = index;
        Ok(None)
    }

    /// Room for a payload of `len` bytes (at most [`CARVE_UP_TO`]) from the arena, which
    /// takes a new block when what is left of its own is too small.
    #[inline]
    fn carve(&mut self, len: usize) -> BytesMut {
        if self.arena.capacity() < len {
            // The old block lives on while a payload carved from it does.
            self.held -= self.arena_block;
            self.arena = BytesMut::with_capacity(ARENA_BLOCK);
            self.arena_block = ARENA_BLOCK;
            self.held += ARENA_BLOCK;
        }
        let rest = self.arena.split_off(len);
        mem::replace(&mut self.arena, rest)
    }

    /// Drops every partial message and the arena's block, giving their memory back; for a
    /// decoder that has failed (it decodes nothing more) or whose connection has ended.
    pub fn release(&mut self) {
        for index in 0..self.streams.len() {
            let stream = &mut self.streams[index];
            stream.open = false;
            stream.partial = Partial::EMPTY;
        }
        self.arena = BytesMut::new();
        self.arena_block = 0;
        self.buffered = 0;
        self.held = 0;
    }

    /// Adds chunk stream `csid`, within [`Limits::max_chunk_streams`].
    #[cold]
    fn open_stream(&mut self, csid: u32) -> Result<usize, ChunkError> {
        if self.streams.len() >= self.limits.max_chunk_streams {
            return Err(ChunkError::TooManyChunkStreams {
                max: self.limits.max_chunk_streams,
            });
        }
        Ok(self.streams.open(InboundStream {
            csid,
            timestamp: 0,
            delta: 0,
            length: 0,
            type_id: 0,
            stream_id: 0,
            extended: None,
            open: false,
            partial: Partial::EMPTY,
        }))
    }

    /// Hands out the message of chunk stream `index`, whose chunks have all arrived.
    fn finish_partial(&mut self, index: usize) -> Result<RawMessage, ChunkError> {
        let stream = &mut self.streams[index];
        stream.open = false;
        self.buffered -= stream.length as usize;
        self.held -= stream.partial.held();
        let message = RawMessage {
            timestamp: stream.timestamp,
            type_id: stream.type_id,
            stream_id: stream.stream_id,
            payload: stream.partial.take(),
        };
        self.apply_control(&message)?;
        Ok(message)
    }

    /// Applies the protocol control messages that shape the chunk stream itself: Set Chunk Size
    /// (RTMP 1.0 §5.4.1) and Abort (§5.4.2). Like FFmpeg, applies them whatever chunk stream and
    /// message stream they came on.
    #[inline(always)]
    fn apply_control(&mut self, message: &RawMessage) -> Result<(), ChunkError> {
        if !matches!(message.type_id, type_id::SET_CHUNK_SIZE | type_id::ABORT) {
            return Ok(());
        }
        self.apply_control_slow(message)
    }

    #[cold]
    fn apply_control_slow(&mut self, message: &RawMessage) -> Result<(), ChunkError> {
        let field = match read_u32_at(&message.payload, 0) {
            Some(field) => field,
            None => {
                return Err(ChunkError::MalformedControlMessage {
                    type_id: message.type_id,
                    len: message.payload.len(),
                })
            }
        };
        match message.type_id {
            type_id::SET_CHUNK_SIZE => self.set_chunk_size(field),
            type_id::ABORT => {
                if let Some(index) = self.streams.find(field) {
                    let stream = &mut self.streams[index];
                    if stream.open {
                        stream.open = false;
                        self.held -= stream.partial.held();
                        stream.partial = Partial::EMPTY;
                        self.buffered -= stream.length as usize;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(decoder: &mut ChunkDecoder, mut input: &[u8]) -> Vec<RawMessage> {
        let mut messages = Vec::new();
        while let Some(message) = decoder.decode(&mut input).unwrap() {
            messages.push(message);
        }
        assert!(input.is_empty());
        messages
    }

    #[test]
    fn type_0_chunk_yields_a_message() {
        let mut decoder = ChunkDecoder::new(Limits::default());
        let input = [0x03, 0, 0, 9, 0, 0, 1, 8, 1, 0, 0, 0, 0x42];
        let messages = decode_all(&mut decoder, &input);
        assert_eq!(
            messages,
            [RawMessage {
                timestamp: 9,
                type_id: 8,
                stream_id: 1,
                payload: Bytes::from_static(&[0x42]),
            }]
        );
    }

    #[test]
    fn empty_message_is_decoded() {
        let mut decoder = ChunkDecoder::new(Limits::default());
        let messages = decode_all(&mut decoder, &[0x03, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0]);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].payload.is_empty());
    }

    #[test]
    fn header_split_at_every_byte_is_reassembled() {
        let input = [0x03, 0, 0, 9, 0, 0, 2, 8, 1, 0, 0, 0, 0x42, 0x43];
        for split in 0..input.len() {
            let mut decoder = ChunkDecoder::new(Limits::default());
            let mut first = &input[..split];
            assert_eq!(decoder.decode(&mut first).unwrap(), None);
            let mut second = &input[split..];
            let message = decoder.decode(&mut second).unwrap().unwrap();
            assert_eq!(&message.payload[..], &[0x42, 0x43]);
        }
    }

    #[test]
    fn decode_bytes_slices_a_single_chunk_message_unless_it_is_small() {
        let mut decoder = ChunkDecoder::new(Limits::default());
        decoder.set_chunk_size(8192).unwrap();
        for len in [SLICE_FROM, 5000, 2, SLICE_FROM - 1] {
            let mut input = vec![0x03, 0, 0, 9];
            input.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
            input.extend_from_slice(&[8, 1, 0, 0, 0]);
            input.resize(12 + len, 0x42);
            let mut input = Bytes::from(input);
            let start = input.as_ptr() as usize;
            let message = decoder.decode_bytes(&mut input).unwrap().unwrap();
            assert_eq!(message.payload.len(), len);
            let sliced = message.payload.as_ptr() as usize == start + 12;
            assert_eq!(sliced, len >= SLICE_FROM, "{len}");
            assert!(input.is_empty());
        }
    }

    #[test]
    fn errors_are_sticky() {
        let mut decoder = ChunkDecoder::new(Limits::default());
        let mut input: &[u8] = &[0x43];
        let error = decoder.decode(&mut input).unwrap_err();
        assert_eq!(error, ChunkError::UnknownChunkStream { csid: 3, fmt: 1 });
        let mut valid: &[u8] = &[0x03, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0];
        assert_eq!(decoder.decode(&mut valid), Err(error));
    }

    #[test]
    fn too_many_chunk_streams_is_an_error() {
        let limits = Limits {
            max_chunk_streams: 2,
            ..Limits::default()
        };
        let mut decoder = ChunkDecoder::new(limits);
        let mut input: &[u8] = &[
            0x03, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0, // csid 3
            0x04, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0, // csid 4
            0x05, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0, // csid 5: one too many
        ];
        assert!(decoder.decode(&mut input).unwrap().is_some());
        assert!(decoder.decode(&mut input).unwrap().is_some());
        assert_eq!(
            decoder.decode(&mut input),
            Err(ChunkError::TooManyChunkStreams { max: 2 })
        );
    }

    #[test]
    fn message_size_limit_is_checked_at_the_header() {
        let limits = Limits {
            max_message_size: 100,
            ..Limits::default()
        };
        let mut decoder = ChunkDecoder::new(limits);
        let mut input: &[u8] = &[0x03, 0, 0, 0, 0, 0, 101, 9, 1, 0, 0, 0];
        assert_eq!(
            decoder.decode(&mut input),
            Err(ChunkError::MessageTooLarge { len: 101, max: 100 })
        );
    }

    #[test]
    fn commands_data_and_control_have_smaller_limits_than_media() {
        let limits = Limits::default();
        let header = |length: u32, type_id: u8| {
            let [_, a, b, c] = length.min(0xFF_FFFF).to_be_bytes();
            alloc::vec![0x03, 0, 0, 0, a, b, c, type_id, 1, 0, 0, 0]
        };
        for (type_id, max) in [
            (9, limits.max_media_message_size),
            (22, limits.max_media_message_size),
            (18, limits.max_data_message_size),
            (20, limits.max_command_message_size),
            (99, limits.max_command_message_size),
            (4, limits.max_control_message_size),
        ] {
            assert_eq!(limits.max_size_of_type(type_id), max);
            let mut decoder = ChunkDecoder::new(limits.clone());
            let fits = header(max.min(0xFF_FFFF), type_id);
            assert_eq!(decoder.decode(&mut &fits[..]), Ok(None), "type {type_id}");
            let mut decoder = ChunkDecoder::new(limits.clone());
            if max < 0xFF_FFFF {
                let over = header(max + 1, type_id);
                assert_eq!(
                    decoder.decode(&mut &over[..]),
                    Err(ChunkError::MessageTooLarge { len: max + 1, max }),
                    "type {type_id}"
                );
            }
        }
        assert!(limits.max_command_message_size * 16 <= limits.max_media_message_size);
    }

    #[test]
    fn small_audio_and_video_share_a_block_and_the_rest_own_their_memory() {
        let mut decoder = ChunkDecoder::new(Limits::default());
        decoder.set_chunk_size(1000).unwrap();
        let chunk = |csid: u8, type_id: u8, payload: &[u8]| {
            let [_, a, b, c] = (payload.len() as u32).to_be_bytes();
            let mut bytes = alloc::vec![csid, 0, 0, 0, a, b, c, type_id, 1, 0, 0, 0];
            bytes.extend_from_slice(payload);
            bytes
        };
        // Audio in one chunk, video in three (type 3 continuations), a command, in one input.
        let mut input = chunk(0x04, 8, &[0xAF; 300]);
        let video: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        for (index, part) in video.chunks(1000).enumerate() {
            if index == 0 {
                let mut first = chunk(0x06, 9, part);
                first[4..7].copy_from_slice(&[0, 0x09, 0xC4]);
                input.extend(first);
            } else {
                input.push(0xC6);
                input.extend_from_slice(part);
            }
        }
        input.extend(chunk(0x03, 20, &[0x05; 50]));
        let mut input = Bytes::from(input);
        let audio = decoder.decode_bytes(&mut input).unwrap().unwrap();
        let frame = decoder.decode_bytes(&mut input).unwrap().unwrap();
        let command = decoder.decode_bytes(&mut input).unwrap().unwrap();
        assert!(input.is_empty());
        assert_eq!(&audio.payload[..], &[0xAF; 300]);
        assert_eq!(&frame.payload[..], &video[..]);
        assert_eq!(&command.payload[..], &[0x05; 50]);
        // One after the other in one block, which the decoder counts while it holds it.
        let after_audio = audio.payload.as_ptr() as usize + audio.payload.len();
        assert_eq!(frame.payload.as_ptr() as usize, after_audio);
        assert_eq!(decoder.held_bytes(), ARENA_BLOCK);
        let block_start = audio.payload.as_ptr() as usize;
        let first_block = block_start..block_start + ARENA_BLOCK;
        let in_first_block = |payload: &Bytes| first_block.contains(&(payload.as_ptr() as usize));
        assert!(
            !in_first_block(&command.payload),
            "a command owns its payload"
        );
        // A payload larger than CARVE_UP_TO gets memory of its own.
        let big = alloc::vec![0x27; CARVE_UP_TO + 1];
        decoder.set_chunk_size(65536).unwrap();
        let mut input = Bytes::from(chunk(0x06, 9, &big));
        let message = decoder.decode_bytes(&mut input).unwrap().unwrap();
        assert_eq!(&message.payload[..], &big[..]);
        assert!(!in_first_block(&message.payload));
        assert_eq!(decoder.held_bytes(), ARENA_BLOCK);
        // A full block gives way to a new one; the old one lives on with its payloads.
        let mut last = Bytes::new();
        for _ in 0..ARENA_BLOCK / 1000 + 1 {
            let input = chunk(0x04, 8, &[0xAF; 1000]);
            last = decoder.decode(&mut &input[..]).unwrap().unwrap().payload;
            assert_eq!(&last[..], &[0xAF; 1000]);
        }
        assert!(!in_first_block(&last), "carved from the next block");
        assert_eq!(decoder.held_bytes(), ARENA_BLOCK);
        assert_eq!(&audio.payload[..], &[0xAF; 300]);
        decoder.release();
        assert_eq!(decoder.held_bytes(), 0);
    }

    #[test]
    fn a_length_lie_holds_only_what_arrived() {
        let mut decoder = ChunkDecoder::new(Limits::default());
        decoder.set_chunk_size(65536).unwrap();
        // A video message that says it is 16 MiB long, of which 10,000 bytes arrive.
        let mut input = alloc::vec![0x06, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0];
        input.extend_from_slice(&[0x27; 10_000]);
        assert_eq!(decoder.decode(&mut &input[..]), Ok(None));
        assert_eq!(decoder.buffered_bytes(), 0xFF_FFFF);
        assert!(decoder.held_bytes() >= 10_000 && decoder.held_bytes() <= 20_000);
        // What is held never exceeds twice what arrived, and the message is whole at the end.
        let mut decoder = ChunkDecoder::new(Limits::default());
        decoder.set_chunk_size(1000).unwrap();
        let mut input = alloc::vec![0x06, 0, 0, 0, 0, 0x27, 0x10, 9, 1, 0, 0, 0];
        let mut arrived = 0;
        let mut message = None;
        for chunk in 0..10 {
            if chunk > 0 {
                input.push(0xC6);
            }
            input.extend_from_slice(&[chunk as u8; 1000]);
            arrived += 1000;
            message = decoder.decode(&mut &input[..]).unwrap();
            input.clear();
            if message.is_none() {
                assert!(decoder.held_bytes() <= 2 * arrived.max(FIRST_PARTIAL));
            }
        }
        let message = message.expect("the whole message");
        assert_eq!(message.payload.len(), 10_000);
        assert_eq!(message.payload[9_999], 9);
        assert_eq!(decoder.held_bytes(), 0);
        // Released on demand, too.
        let partial = [0x06, 0, 0, 0, 0, 0x27, 0x10, 9, 1, 0, 0, 0, 1, 2, 3];
        assert_eq!(decoder.decode(&mut &partial[..]), Ok(None));
        assert!(decoder.held_bytes() > 0);
        decoder.release();
        assert_eq!((decoder.held_bytes(), decoder.buffered_bytes()), (0, 0));
    }

    #[test]
    fn buffered_bytes_limit_counts_every_partial_message() {
        let limits = Limits {
            max_buffered_bytes: 300,
            ..Limits::default()
        };
        let mut decoder = ChunkDecoder::new(limits);
        // Two 200-byte messages on chunk streams 4 and 5, each with only its first chunk sent.
        let mut input = Vec::new();
        for csid in [4u8, 5] {
            input.extend_from_slice(&[csid, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0]);
            input.extend_from_slice(&[0; 128]);
        }
        let mut slice = &input[..];
        assert_eq!(
            decoder.decode(&mut slice),
            Err(ChunkError::BufferLimitExceeded {
                needed: 400,
                max: 300
            })
        );
    }

    #[test]
    fn buffered_bytes_are_released() {
        let mut decoder = ChunkDecoder::new(Limits::default());
        let mut input = vec![0x04, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0];
        input.extend_from_slice(&[0; 128]);
        assert!(decode_all(&mut decoder, &input).is_empty());
        assert_eq!(decoder.buffered_bytes(), 200);
        let mut rest = vec![0xC4];
        rest.extend_from_slice(&[0; 72]);
        assert_eq!(decode_all(&mut decoder, &rest).len(), 1);
        assert_eq!(decoder.buffered_bytes(), 0);
    }

    #[test]
    fn short_set_chunk_size_is_an_error() {
        let mut decoder = ChunkDecoder::new(Limits::default());
        let mut input: &[u8] = &[0x02, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(
            decoder.decode(&mut input),
            Err(ChunkError::MalformedControlMessage { type_id: 1, len: 3 })
        );
    }

    #[test]
    fn invalid_chunk_sizes_are_rejected() {
        let mut decoder = ChunkDecoder::new(Limits::default());
        assert_eq!(
            decoder.set_chunk_size(0),
            Err(ChunkError::InvalidChunkSize(0))
        );
        assert_eq!(
            decoder.set_chunk_size(0x8000_0000),
            Err(ChunkError::InvalidChunkSize(0x8000_0000))
        );
        assert_eq!(decoder.set_chunk_size(0x7FFF_FFFF), Ok(()));
        assert_eq!(decoder.chunk_size(), 0x7FFF_FFFF);
        let mut input: &[u8] = &[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x80, 0, 0, 0];
        let mut decoder = ChunkDecoder::new(Limits::default());
        assert_eq!(
            decoder.decode(&mut input),
            Err(ChunkError::InvalidChunkSize(0x8000_0000))
        );
    }
}
