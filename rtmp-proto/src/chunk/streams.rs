//! The per-chunk-stream state both directions keep, looked up by chunk stream id.

use alloc::vec::Vec;
use core::ops::{Index, IndexMut};

/// What a [`ChunkStreams`] table needs to know of its entries.
pub(super) trait ChunkStreamState {
    /// The chunk stream id (RTMP 1.0 §5.3.1.1) this is the state of.
    fn csid(&self) -> u32;
}

/// The state of every chunk stream in use, in the order they were opened, indexed by position.
///
/// Peers use a handful of chunk streams, so a linear search beats a map; and since consecutive
/// chunks mostly share one, the stream last found is tried first.
#[derive(Debug, Clone)]
pub(super) struct ChunkStreams<S> {
    streams: Vec<S>,
    last_found: usize,
}

impl<S: ChunkStreamState> ChunkStreams<S> {
    pub(super) fn new() -> Self {
        Self {
            streams: Vec::new(),
            last_found: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.streams.len()
    }

    /// The index of the state of chunk stream `csid`, if it has been opened.
    #[inline(always)]
    pub(super) fn find(&mut self, csid: u32) -> Option<usize> {
        if let Some(stream) = self.streams.get(self.last_found) {
            if stream.csid() == csid {
                return Some(self.last_found);
            }
        }
        let found = self
            .streams
            .iter()
            .position(|stream| stream.csid() == csid)?;
        self.last_found = found;
        Some(found)
    }

    /// Adds the state of a newly opened chunk stream and returns its index.
    pub(super) fn open(&mut self, stream: S) -> usize {
        self.streams.push(stream);
        self.last_found = self.streams.len() - 1;
        self.last_found
    }
}

impl<S> Index<usize> for ChunkStreams<S> {
    type Output = S;

    #[inline(always)]
    #[expect(
        clippy::indexing_slicing,
        reason = "indices come from `find` and `insert` of this table, as a Vec's from its own length"
    )]
    fn index(&self, index: usize) -> &S {
        &self.streams[index]
    }
}

impl<S> IndexMut<usize> for ChunkStreams<S> {
    #[inline(always)]
    #[expect(
        clippy::indexing_slicing,
        reason = "indices come from `find` and `insert` of this table, as a Vec's from its own length"
    )]
    fn index_mut(&mut self, index: usize) -> &mut S {
        &mut self.streams[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ChunkStreamState for u32 {
        fn csid(&self) -> u32 {
            *self
        }
    }

    #[test]
    fn finds_streams_by_id_whichever_was_found_last() {
        let mut streams = ChunkStreams::new();
        assert_eq!(streams.find(3), None);
        assert_eq!(streams.open(3u32), 0);
        assert_eq!(streams.open(8), 1);
        assert_eq!(streams.open(4), 2);
        assert_eq!(streams.len(), 3);
        for (csid, index) in [(4, 2), (4, 2), (3, 0), (8, 1), (3, 0), (4, 2)] {
            assert_eq!(streams.find(csid), Some(index), "{csid}");
            assert_eq!(streams[index], csid);
        }
        assert_eq!(streams.find(5), None);
        assert_eq!(streams.find(4), Some(2));
        streams[2] = 5;
        assert_eq!(streams.find(5), Some(2));
        assert_eq!(streams.find(4), None);
    }
}
