//! The bytes the encoder produces, kept as segments for one vectored write.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::header::MAX_HEADER_LEN;

/// Chunks ready to send (RTMP 1.0 §5.3): a sequence of segments, each either header bytes from an
/// internal buffer or a range of a message payload shared with the caller, never copied (payloads
/// of a few dozen bytes or less are copied next to their header instead, which is cheaper than a
/// segment of their own).
///
/// Write [`segments`](Self::segments) (with the `std` feature, [`io_slices`](Self::io_slices)
/// fills `std::io::IoSlice`s for `write_vectored`), then [`advance`](Self::advance) by what was
/// written. The internal buffers are reused once everything has been written.
///
/// ```
/// use bytes::Bytes;
/// use rtmp_proto::{chunk::{ChunkEncoder, ChunkOutput, ChunkStreamId}, RawMessage};
/// let mut encoder = ChunkEncoder::new();
/// let mut out = ChunkOutput::new();
/// let video = RawMessage { timestamp: 0, type_id: 9, stream_id: 1, payload: Bytes::from(vec![7; 300]) };
/// encoder.encode(ChunkStreamId::VIDEO, &video, &mut out).unwrap();
/// assert_eq!(out.len(), 12 + 128 + 1 + 128 + 1 + 44);
/// out.advance(100);
/// assert_eq!(out.len(), 214);
/// ```
#[derive(Debug, Default, Clone)]
pub struct ChunkOutput {
    /// Everything to send, when that is one buffer of chunks encoded once for many connections
    /// (a relay's player between two writes), after `lone_header` if that is not empty (a
    /// message of one chunk: its header, then its payload as is): kept out of the lists below,
    /// whose memory a write would otherwise touch. When set, the lists hold nothing pending.
    lone: Option<Bytes>,
    lone_header: LoneHeader,
    /// Header bytes (and small payloads) not yet written. Its first byte is at the absolute offset
    /// `headers_base`: segments keep absolute offsets so that dropping written bytes from the
    /// front does not rewrite them.
    headers: BytesMut,
    headers_base: usize,
    /// Payloads that segments refer to. The first is payload number `payloads_base`.
    payloads: VecDeque<Bytes>,
    payloads_base: usize,
    /// The segments; those before `first_segment` were written.
    segments: Vec<Segment>,
    first_segment: usize,
    len: usize,
    /// Of `len`, the bytes in payloads of audio, video and aggregate messages, which are
    /// shared with the other connections they go to (see [`owned_len`](ChunkOutput::owned_len)).
    shared_len: usize,
}

/// A chunk header kept inline: before a lone payload, in the output itself (no memory of its
/// own), and in a [`ChunkedMessage`](super::ChunkedMessage) of one chunk, built once for all
/// the connections it goes to.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct LoneHeader {
    bytes: [u8; MAX_HEADER_LEN],
    start: u8,
    end: u8,
}

impl LoneHeader {
    /// `header`, if it is no longer than a chunk header can be.
    pub(super) fn new(header: &[u8]) -> Option<LoneHeader> {
        let mut bytes = [0; MAX_HEADER_LEN];
        bytes.get_mut(..header.len())?.copy_from_slice(header);
        Some(LoneHeader {
            bytes,
            start: 0,
            // At most MAX_HEADER_LEN, checked above.
            end: header.len() as u8,
        })
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        self.bytes
            .get(usize::from(self.start)..usize::from(self.end))
            .unwrap_or_default()
    }

    pub(super) fn len(&self) -> usize {
        usize::from(self.end - self.start)
    }
}

#[derive(Debug, Clone, Copy)]
enum Segment {
    /// `headers[start - headers_base..end - headers_base]`.
    Header { start: usize, end: usize },
    /// `payloads[payload - payloads_base][start..end]`; `shared` for audio, video and
    /// aggregate payloads.
    Payload {
        payload: usize,
        start: usize,
        end: usize,
        shared: bool,
    },
}

/// Slices a short output's vectored write takes at most: a frame of up to four chunks.
#[cfg(feature = "std")]
const FEW_IO_SLICES: usize = 8;

/// What [`ChunkOutput::clear`] keeps of its buffers' capacity: enough for a live stream's
/// steady flow (a few messages of a few chunks per write), not a burst's.
const KEEP_HEADER_BYTES: usize = 4 * 1024;
const KEEP_PAYLOADS: usize = 32;
const KEEP_SEGMENTS: usize = 128;

/// Headers written but still held, past which [`ChunkOutput::advance`] drops them from the
/// buffer even though other segments are still waiting.
const RECLAIM_HEADERS_AT: usize = 16 * 1024;

impl ChunkOutput {
    /// An empty output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of bytes to send.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Of [`len`](Self::len), the bytes this output alone holds: chunk headers, small payloads
    /// copied next to them, command, data and control payloads, and bytes pushed with
    /// [`push_bytes`](Self::push_bytes). The rest are audio, video and aggregate payloads, shared
    /// by every connection they go to (one keyframe sent to a thousand players is one keyframe in
    /// memory), so a server's memory budget counts them once, not per connection; and the
    /// header of a shared message of one chunk while it is all there is to send, which the
    /// output keeps in itself, in no memory of its own.
    pub fn owned_len(&self) -> usize {
        self.len - self.shared_len
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of segments, the count of slices a vectored write of everything takes.
    pub fn segment_count(&self) -> usize {
        if self.lone.is_some() {
            return 1 + usize::from(self.lone_header.len() > 0);
        }
        self.segments.len() - self.first_segment
    }

    /// Everything to send, when that is one slice: what a plain write takes.
    #[inline]
    pub fn single_segment(&self) -> Option<&[u8]> {
        if let Some(lone) = &self.lone {
            return (self.lone_header.len() == 0).then_some(&lone[..]);
        }
        match self.pending_segments() {
            [segment] => Some(self.segment_bytes(segment)),
            _ => None,
        }
    }

    fn pending_segments(&self) -> &[Segment] {
        self.segments.get(self.first_segment..).unwrap_or_default()
    }

    /// The bytes to send, in order, as slices for a vectored write.
    pub fn segments(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let lone = self.lone.as_deref();
        let lone_header = Some(self.lone_header.as_slice()).filter(|header| !header.is_empty());
        lone_header.into_iter().chain(lone).chain(
            self.pending_segments()
                .iter()
                .map(|segment| self.segment_bytes(segment)),
        )
    }

    /// Fills `dst` with the first segments, as many as fit, for `write_vectored`; returns how
    /// many it filled.
    #[cfg(feature = "std")]
    pub fn io_slices<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slot, bytes) in dst.iter_mut().zip(self.segments()) {
            *slot = std::io::IoSlice::new(bytes);
            filled += 1;
        }
        filled
    }

    /// Calls `write` with the first segments as `std::io::IoSlice`s, at most
    /// [`MAX_IO_SLICES`](Self::MAX_IO_SLICES): what one `write_vectored` takes. The slices live
    /// on the stack, in an array sized to what there is: one of the largest size would be
    /// filled for every write, a kilobyte for the two slices a player's frame or a short
    /// message usually is.
    #[cfg(feature = "std")]
    #[inline]
    pub fn with_io_slices<R>(&self, write: impl FnOnce(&[std::io::IoSlice<'_>]) -> R) -> R {
        if let Some(lone) = &self.lone {
            let header = self.lone_header.as_slice();
            return if header.is_empty() {
                write(&[std::io::IoSlice::new(lone)])
            } else {
                write(&[std::io::IoSlice::new(header), std::io::IoSlice::new(lone)])
            };
        }
        if self.segment_count() <= FEW_IO_SLICES {
            let mut slices = [std::io::IoSlice::new(&[]); FEW_IO_SLICES];
            let count = self.io_slices(&mut slices);
            write(slices.get(..count).unwrap_or_default())
        } else {
            let mut slices = [std::io::IoSlice::new(&[]); Self::MAX_IO_SLICES];
            let count = self.io_slices(&mut slices);
            write(slices.get(..count).unwrap_or_default())
        }
    }

    /// The most slices [`with_io_slices`](Self::with_io_slices) hands out: a chunk is two
    /// (header, payload), so 32 chunks, 128 KiB at a 4096-byte chunk size, more than a live
    /// stream's frame; the rest goes with the next write.
    pub const MAX_IO_SLICES: usize = 64;

    /// Drops the first `n` bytes, which were written. `n` beyond [`len`](Self::len) drops
    /// everything.
    #[inline]
    pub fn advance(&mut self, mut n: usize) {
        if let Some(lone) = &mut self.lone {
            // The lists hold nothing pending, and clearing them would touch their memory.
            if n >= self.len {
                self.lone = None;
                self.lone_header = LoneHeader::default();
                self.len = 0;
                self.shared_len = 0;
                return;
            }
            self.len -= n;
            self.shared_len -= n;
            let header = self.lone_header.len();
            if n < header {
                // Less than the header's length, which fits a u8.
                self.lone_header.start += n as u8;
                return;
            }
            self.lone_header = LoneHeader::default();
            lone.advance(n - header);
            return;
        }
        if n >= self.len {
            self.clear();
            return;
        }
        self.len -= n;
        while n > 0 {
            let Some(front) = self.segments.get_mut(self.first_segment) else {
                break;
            };
            let (start, end, shared) = match front {
                Segment::Header { start, end } => (start, *end, false),
                Segment::Payload {
                    start, end, shared, ..
                } => (start, *end, *shared),
            };
            let available = end - *start;
            let taken = n.min(available);
            if shared {
                self.shared_len -= taken;
            }
            if n < available {
                *start += n;
                break;
            }
            n -= available;
            self.first_segment += 1;
        }
        self.release_written();
    }

    /// Drops everything, keeping the header buffer's memory for reuse.
    pub fn clear(&mut self) {
        self.lone = None;
        self.lone_header = LoneHeader::default();
        self.headers.clear();
        self.headers_base = 0;
        self.payloads.clear();
        self.payloads_base = 0;
        self.segments.clear();
        self.first_segment = 0;
        self.len = 0;
        self.shared_len = 0;
        // A burst (a GOP sent to a joining player) leaves big buffers behind; thousands of
        // idle connections would each keep theirs.
        if self.headers.capacity() > KEEP_HEADER_BYTES {
            self.headers = BytesMut::new();
        }
        if self.payloads.capacity() > KEEP_PAYLOADS {
            self.payloads.shrink_to(KEEP_PAYLOADS);
        }
        if self.segments.capacity() > KEEP_SEGMENTS {
            self.segments.shrink_to(KEEP_SEGMENTS);
        }
    }

    /// Appends every byte to send to `out` (a copy: for tests and for transports that cannot
    /// write vectored).
    pub fn copy_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.len);
        for bytes in self.segments() {
            out.extend_from_slice(bytes);
        }
    }

    /// Every byte to send, in one buffer (a copy, except when there is a single segment).
    pub fn to_bytes(&self) -> Bytes {
        if let Some(lone) = &self.lone {
            if self.lone_header.len() == 0 {
                return lone.clone();
            }
        }
        if let [Segment::Payload {
            payload,
            start,
            end,
            ..
        }] = self.pending_segments()
        {
            if let Some(bytes) = self.payloads.get(payload - self.payloads_base) {
                return bytes.slice(*start..*end);
            }
        }
        let mut out = Vec::with_capacity(self.len);
        self.copy_to(&mut out);
        Bytes::from(out)
    }

    fn segment_bytes(&self, segment: &Segment) -> &[u8] {
        match *segment {
            Segment::Header { start, end } => self
                .headers
                .get(start - self.headers_base..end - self.headers_base)
                .unwrap_or_default(),
            Segment::Payload {
                payload,
                start,
                end,
                ..
            } => self
                .payloads
                .get(payload - self.payloads_base)
                .and_then(|payload| payload.get(start..end))
                .unwrap_or_default(),
        }
    }

    /// Frees the payloads no segment refers to any more, and the written header bytes once they
    /// add up to enough to be worth it.
    fn release_written(&mut self) {
        // Written segments are dropped in bulk, once they are the larger part.
        if self.first_segment >= 64 && self.first_segment * 2 >= self.segments.len() {
            self.segments.drain(..self.first_segment);
            self.first_segment = 0;
        }
        let first_payload = self
            .pending_segments()
            .iter()
            .find_map(|segment| match segment {
                Segment::Payload { payload, .. } => Some(*payload),
                Segment::Header { .. } => None,
            });
        let first_payload = first_payload.unwrap_or(self.payloads_base + self.payloads.len());
        while self.payloads_base < first_payload && self.payloads.pop_front().is_some() {
            self.payloads_base += 1;
        }
        let first_header = self
            .pending_segments()
            .iter()
            .find_map(|segment| match segment {
                Segment::Header { start, .. } => Some(*start),
                Segment::Payload { .. } => None,
            });
        let first_header = first_header.unwrap_or(self.headers_base + self.headers.len());
        let written = first_header - self.headers_base;
        if written >= RECLAIM_HEADERS_AT {
            self.headers.advance(written);
            self.headers_base = first_header;
        }
    }

    /// Appends bytes that are not chunks, such as handshake packets, so that one output carries
    /// everything a connection sends, in order. The bytes are held, not copied.
    pub fn push_bytes(&mut self, bytes: Bytes) {
        self.push_whole(bytes, false);
    }

    /// Appends all of `bytes` as one segment; `shared` as for
    /// [`push_payload_range`](Self::push_payload_range).
    fn push_whole(&mut self, bytes: Bytes, shared: bool) {
        let len = bytes.len();
        if len > 0 {
            let index = self.hold_payload(bytes);
            self.push_payload_range(index, 0, len, shared);
        }
    }

    /// Appends chunks encoded once for many connections (audio and video: counted as shared,
    /// like their payloads).
    #[inline]
    pub(super) fn push_shared(&mut self, bytes: Bytes) {
        let len = bytes.len();
        if self.len == 0 && len > 0 {
            self.len = len;
            self.shared_len = len;
            self.lone = Some(bytes);
            return;
        }
        self.push_whole(bytes, true);
    }

    /// Appends a message of one chunk shared by many connections: its `header`, then
    /// `payload` as is. Counted as shared while it is all there is to send (the header is then
    /// kept in the output itself), like [`push_shared`](Self::push_shared).
    #[inline]
    pub(super) fn push_shared_after_header(&mut self, header: &LoneHeader, payload: Bytes) {
        if self.len == 0 && !payload.is_empty() {
            self.len = header.len() + payload.len();
            self.shared_len = self.len;
            self.lone_header = *header;
            self.lone = Some(payload);
            return;
        }
        self.push_inline(header.as_slice());
        self.push_whole(payload, true);
    }

    /// Appends header bytes (or a small payload copied inline).
    #[inline]
    pub(super) fn push_inline(&mut self, bytes: &[u8]) {
        self.unlone();
        let start = self.headers_base + self.headers.len();
        if let [byte] = bytes {
            // The usual type 3 header: spare a call to memcpy.
            self.headers.put_u8(*byte);
        } else {
            self.headers.extend_from_slice(bytes);
        }
        let end = start + bytes.len();
        self.len += bytes.len();
        if let Some(Segment::Header { end: last_end, .. }) = self.segments.last_mut() {
            if *last_end == start {
                *last_end = end;
                return;
            }
        }
        self.segments.push(Segment::Header { start, end });
    }

    /// Holds on to `payload` for the segments [`push_payload_range`](Self::push_payload_range)
    /// appends; returns its number.
    #[inline]
    pub(super) fn hold_payload(&mut self, payload: Bytes) -> usize {
        self.unlone();
        self.payloads.push_back(payload);
        self.payloads_base + self.payloads.len() - 1
    }

    /// Appends `start..end` of held payload number `payload` (which must be in bounds);
    /// `shared` when the payload is shared with other connections (audio and video).
    #[inline]
    pub(super) fn push_payload_range(
        &mut self,
        payload: usize,
        start: usize,
        end: usize,
        shared: bool,
    ) {
        self.len += end - start;
        if shared {
            self.shared_len += end - start;
        }
        self.segments.push(Segment::Payload {
            payload,
            start,
            end,
            shared,
        });
    }

    /// Moves a lone buffer into the lists, before anything is appended after it.
    #[inline]
    fn unlone(&mut self) {
        if let Some(lone) = self.lone.take() {
            let header = core::mem::take(&mut self.lone_header);
            self.len -= header.len() + lone.len();
            self.shared_len -= header.len() + lone.len();
            if header.len() > 0 {
                // Into the lists, where a header is the output's own.
                self.push_inline(header.as_slice());
            }
            self.push_whole(lone, true);
        }
    }

    /// Reserves room for `headers` more header bytes and `segments` more segments.
    #[inline]
    pub(super) fn reserve(&mut self, headers: usize, segments: usize) {
        self.headers.reserve(headers);
        self.segments.reserve(segments);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ChunkOutput {
        let mut out = ChunkOutput::new();
        out.push_inline(&[1, 2]);
        out.push_inline(&[3]);
        let payload = out.hold_payload(Bytes::from_static(&[10, 11, 12, 13, 14]));
        out.push_payload_range(payload, 0, 3, false);
        out.push_inline(&[4]);
        out.push_payload_range(payload, 3, 5, false);
        out
    }

    fn collect(out: &ChunkOutput) -> Vec<u8> {
        let mut bytes = Vec::new();
        out.copy_to(&mut bytes);
        bytes
    }

    #[test]
    fn adjacent_header_bytes_share_a_segment() {
        let out = sample();
        assert_eq!(out.segment_count(), 4);
        assert_eq!(out.len(), 9);
        assert_eq!(collect(&out), [1, 2, 3, 10, 11, 12, 4, 13, 14]);
        assert_eq!(&out.to_bytes()[..], &[1, 2, 3, 10, 11, 12, 4, 13, 14]);
    }

    #[test]
    fn advance_at_every_point_keeps_the_rest() {
        let full = collect(&sample());
        for n in 0..=full.len() + 1 {
            let mut out = sample();
            out.advance(n);
            assert_eq!(collect(&out), full[n.min(full.len())..], "advance {n}");
            assert_eq!(out.len(), full.len().saturating_sub(n));
            // Appending after a partial write still works.
            out.push_inline(&[99]);
            let mut expected = full[n.min(full.len())..].to_vec();
            expected.push(99);
            assert_eq!(collect(&out), expected);
        }
    }

    #[test]
    fn owned_bytes_leave_out_shared_payloads_at_every_point() {
        let mut shared = ChunkOutput::new();
        shared.push_inline(&[1, 2]);
        let payload = shared.hold_payload(Bytes::from_static(&[10, 11, 12, 13, 14]));
        shared.push_payload_range(payload, 0, 3, true);
        shared.push_inline(&[4]);
        shared.push_payload_range(payload, 3, 5, true);
        shared.push_bytes(Bytes::from_static(&[20, 21]));
        // Bytes in order: 1 2 | 10 11 12 (shared) | 4 | 13 14 (shared) | 20 21.
        let owned_after = [5, 4, 3, 3, 3, 3, 2, 2, 2, 1, 0, 0];
        for (n, owned) in owned_after.into_iter().enumerate() {
            let mut out = shared.clone();
            out.advance(n);
            assert_eq!(out.owned_len(), owned, "advance {n}");
        }
        assert_eq!(sample().owned_len(), sample().len(), "nothing shared");
        shared.clear();
        assert_eq!((shared.len(), shared.owned_len()), (0, 0));
    }

    #[test]
    fn a_lone_shared_buffer_keeps_its_place_before_what_follows_at_every_point() {
        let lone = Bytes::from_static(&[1, 2, 3, 4]);
        let build = |n: usize| {
            let mut out = ChunkOutput::new();
            out.push_shared(lone.clone());
            assert_eq!((out.segment_count(), out.owned_len()), (1, 0));
            out.advance(n);
            assert_eq!(
                out.single_segment(),
                Some(&[1, 2, 3, 4][n..]).filter(|s| !s.is_empty())
            );
            out.push_inline(&[5]);
            let payload = out.hold_payload(Bytes::from_static(&[6, 7]));
            out.push_payload_range(payload, 0, 2, false);
            out.push_shared(Bytes::from_static(&[8]));
            out
        };
        for n in 0..=4 {
            let mut out = build(n);
            let expected = [&[1, 2, 3, 4][n..], &[5, 6, 7, 8][..]].concat();
            assert_eq!(collect(&out), expected, "advance {n}");
            assert_eq!(out.len(), expected.len());
            assert_eq!(out.owned_len(), 3);
            assert_eq!(out.to_bytes(), expected);
            assert_eq!(out.single_segment(), None, "several segments");
            out.advance(out.len() - 1);
            assert_eq!(out.single_segment(), Some(&[8][..]), "the last one");
            out.advance(1);
            assert!(out.is_empty());
            assert_eq!(out.single_segment(), None);
            out.push_shared(lone.clone());
            assert_eq!(out.to_bytes(), lone);
            assert_eq!(out.single_segment(), Some(&lone[..]));
        }
    }

    fn header(bytes: &[u8]) -> LoneHeader {
        LoneHeader::new(bytes).unwrap()
    }

    #[test]
    fn a_lone_header_and_payload_keep_their_place_before_what_follows_at_every_point() {
        let payload = Bytes::from_static(&[4, 5, 6]);
        let whole = [1, 2, 3, 4, 5, 6];
        for n in 0..=whole.len() {
            let mut out = ChunkOutput::new();
            out.push_shared_after_header(&header(&[1, 2, 3]), payload.clone());
            assert_eq!((out.segment_count(), out.owned_len()), (2, 0));
            out.advance(n);
            assert_eq!(collect(&out), whole[n..], "advance {n}");
            assert_eq!(out.len(), whole.len() - n);
            assert_eq!(out.owned_len(), 0, "kept in the output itself");
            assert_eq!(out.to_bytes(), whole[n..]);
            let slices = out.with_io_slices(|slices| {
                slices
                    .iter()
                    .map(|slice| slice.to_vec())
                    .collect::<Vec<_>>()
            });
            assert_eq!(slices.concat(), whole[n..]);
            // The header written, the payload is left alone: a plain write.
            let single = (n >= 3)
                .then(|| &whole[n..])
                .filter(|rest| !rest.is_empty());
            assert_eq!(out.single_segment(), single, "advance {n}");
            // What follows goes after it; the header becomes the output's own.
            out.push_inline(&[7]);
            out.push_shared_after_header(&header(&[8]), Bytes::from_static(&[9]));
            let expected = [&whole[n..], &[7, 8, 9][..]].concat();
            assert_eq!(collect(&out), expected, "advance {n}");
            assert_eq!(out.len(), expected.len());
            assert_eq!(out.owned_len(), 2 + 3usize.saturating_sub(n), "advance {n}");
            out.advance(out.len());
            assert!(out.is_empty());
            out.push_shared_after_header(&header(&[1, 2, 3]), payload.clone());
            assert_eq!(out.to_bytes(), whole[..]);
            out.advance(whole.len() + 1);
            assert!(out.is_empty() && out.segment_count() == 0);
        }
    }

    #[test]
    fn written_payloads_and_headers_are_released() {
        let mut out = ChunkOutput::new();
        let mut expected = Vec::new();
        for round in 0..2000u32 {
            let header = [round as u8; 12];
            out.push_inline(&header);
            let payload = out.hold_payload(Bytes::from(vec![round as u8; 100]));
            out.push_payload_range(payload, 0, 100, false);
            expected.extend_from_slice(&header);
            expected.extend_from_slice(&[round as u8; 100]);
            // Write all but the last 50 bytes every time: the output never empties.
            let written = out.len() - 50;
            out.advance(written);
            expected.drain(..written);
            assert!(out.payloads.len() <= 2);
            assert!(out.segments.len() <= 2 * 64 + 2);
            assert!(out.headers.len() <= RECLAIM_HEADERS_AT + 12);
        }
        assert_eq!(collect(&out), expected);
    }

    #[cfg(feature = "std")]
    #[test]
    fn io_slices_fill_what_fits() {
        let out = sample();
        let mut slots = [std::io::IoSlice::new(&[]); 3];
        assert_eq!(out.io_slices(&mut slots), 3);
        assert_eq!(&*slots[1], &[10, 11, 12]);
        let mut many = [std::io::IoSlice::new(&[]); 8];
        assert_eq!(out.io_slices(&mut many), 4);
    }

    #[cfg(feature = "std")]
    #[test]
    fn with_io_slices_hands_out_every_segment_up_to_the_most() {
        let out = sample();
        let joined = |slices: &[std::io::IoSlice<'_>]| -> Vec<u8> {
            slices
                .iter()
                .flat_map(|slice| slice.iter().copied())
                .collect()
        };
        let whole = out.with_io_slices(joined);
        assert_eq!(whole, collect(&out));
        let mut long = ChunkOutput::new();
        let mut expected = Vec::new();
        for round in 0..100u8 {
            long.push_inline(&[round]);
            long.push_whole(Bytes::from(vec![round; 3]), false);
            expected.push(round);
            expected.extend_from_slice(&[round; 3]);
        }
        let (count, first) = long.with_io_slices(|slices| (slices.len(), joined(slices)));
        assert_eq!(count, ChunkOutput::MAX_IO_SLICES);
        assert_eq!(first, expected[..ChunkOutput::MAX_IO_SLICES / 2 * 4]);
    }
}
