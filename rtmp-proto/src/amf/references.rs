//! The table references point into, the same mechanism in AMF0 (§2.9, complex values) and AMF3
//! (§2.2, the object table): each value is numbered where its marker is read and kept as the
//! place it starts in the input, and a reference is expanded by decoding the value again from
//! there.

use alloc::vec::Vec;

use super::AmfError;
use crate::wire::ByteReader;

/// The values one decoder numbered, by where each starts in its input.
///
/// The table is not charged to the allowance: each entry belongs to a value that is, so it grows
/// no faster than the charged size.
#[derive(Default)]
pub(crate) struct ReferenceTable {
    slots: Vec<Slot>,
    /// Above zero while a reference is being expanded: the values then read were numbered on
    /// their first reading and must not be numbered again.
    replaying: usize,
}

#[derive(Clone, Copy)]
struct Slot {
    start: usize,
    complete: bool,
}

/// Where to resume reading once a reference is expanded.
#[must_use]
pub(crate) struct Resume(usize);

impl ReferenceTable {
    /// Numbers the value whose marker is at `start` (unless replaying), and returns its number.
    /// A container is numbered before its children are read, as encoders number it before
    /// writing them, and is not `complete` until [`complete`](Self::complete) is called: a
    /// reference to it from inside is a cycle.
    pub(crate) fn register(&mut self, start: usize, complete: bool) -> Option<usize> {
        if self.is_replaying() {
            return None;
        }
        self.slots.push(Slot { start, complete });
        Some(self.slots.len() - 1)
    }

    /// Marks value `number`, as [`register`](Self::register) returned it, complete.
    pub(crate) fn complete(&mut self, number: Option<usize>) {
        if let Some(slot) = number.and_then(|index| self.slots.get_mut(index)) {
            slot.complete = true;
        }
    }

    /// Whether a reference is being expanded, so nothing read is new.
    pub(crate) fn is_replaying(&self) -> bool {
        self.replaying > 0
    }

    /// Starts expanding reference `index`: moves `reader` to where the value starts, to be
    /// decoded again, and returns where to go back to with [`end_replay`](Self::end_replay).
    pub(crate) fn begin_replay(
        &mut self,
        index: usize,
        reader: &mut ByteReader<'_>,
    ) -> Result<Resume, AmfError> {
        let slot = *self
            .slots
            .get(index)
            .ok_or(AmfError::InvalidReference { index })?;
        if !slot.complete {
            return Err(AmfError::CyclicReference { index });
        }
        let resume = Resume(reader.position());
        reader.seek(slot.start);
        self.replaying += 1;
        Ok(resume)
    }

    /// Ends the expansion [`begin_replay`](Self::begin_replay) started.
    pub(crate) fn end_replay(&mut self, resume: Resume, reader: &mut ByteReader<'_>) {
        self.replaying -= 1;
        reader.seek(resume.0);
    }
}
