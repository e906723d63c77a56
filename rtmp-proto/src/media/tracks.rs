//! Track lists and the multitrack framing shared by audio and video (Enhanced RTMP v2,
//! "Multitrack Streaming via Enhanced RTMP", `AvMultitrackType`).

use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};

use super::reader::Reader;
use super::{FourCc, MediaError};

/// The most tracks one message may carry. Track ids are `UI8`, so 256 tracks cover every
/// distinct id; more can only repeat ids, and would let a peer make us allocate in proportion to
/// its message size.
pub const MAX_TRACKS: usize = 256;

/// How a multitrack message lays out its tracks (Enhanced RTMP v2, `AvMultitrackType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MultitrackType {
    /// One track, with a track id but no size: its body runs to the end of the message.
    OneTrack,
    /// Several tracks of one codec: one FourCC, then an id and a 24-bit size per track.
    ManyTracks,
    /// Several tracks, each with its own FourCC, id and 24-bit size.
    ManyTracksManyCodecs,
}

impl MultitrackType {
    /// The type from its 4-bit wire value.
    pub fn from_wire(value: u8) -> Result<MultitrackType, MediaError> {
        match value {
            0 => Ok(MultitrackType::OneTrack),
            1 => Ok(MultitrackType::ManyTracks),
            2 => Ok(MultitrackType::ManyTracksManyCodecs),
            other => Err(MediaError::UnknownMultitrackType(other)),
        }
    }

    /// The 4-bit wire value.
    pub fn to_wire(self) -> u8 {
        match self {
            MultitrackType::OneTrack => 0,
            MultitrackType::ManyTracks => 1,
            MultitrackType::ManyTracksManyCodecs => 2,
        }
    }

    /// Whether each track carries a 24-bit size (every type but [`MultitrackType::OneTrack`]).
    pub fn has_track_sizes(self) -> bool {
        self != MultitrackType::OneTrack
    }
}

/// The tracks of one media message, read as a slice. A single track, by far the common case, is
/// held inline without allocating.
#[derive(Clone, Debug)]
pub struct Tracks<T> {
    repr: Repr<T>,
}

#[derive(Clone, Debug)]
enum Repr<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> Tracks<T> {
    /// A list of one track.
    pub fn one(track: T) -> Self {
        Tracks {
            repr: Repr::One(track),
        }
    }

    /// Appends a track.
    pub fn push(&mut self, track: T) {
        let previous = core::mem::replace(&mut self.repr, Repr::Many(Vec::new()));
        self.repr = match previous {
            Repr::One(first) => {
                let mut tracks = Vec::with_capacity(4);
                tracks.push(first);
                tracks.push(track);
                Repr::Many(tracks)
            }
            Repr::Many(mut tracks) => {
                tracks.push(track);
                Repr::Many(tracks)
            }
        };
    }

    /// The tracks as a vector.
    pub fn into_vec(self) -> Vec<T> {
        match self.repr {
            Repr::One(track) => alloc::vec![track],
            Repr::Many(tracks) => tracks,
        }
    }

    /// The same list with each track transformed by `f`.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> Tracks<U> {
        match &self.repr {
            Repr::One(track) => Tracks::one(f(track)),
            Repr::Many(tracks) => Tracks {
                repr: Repr::Many(tracks.iter().map(f).collect()),
            },
        }
    }
}

impl<T> Deref for Tracks<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.repr {
            Repr::One(track) => core::slice::from_ref(track),
            Repr::Many(tracks) => tracks,
        }
    }
}

impl<T> DerefMut for Tracks<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.repr {
            Repr::One(track) => core::slice::from_mut(track),
            Repr::Many(tracks) => tracks,
        }
    }
}

impl<T: PartialEq> PartialEq for Tracks<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for Tracks<T> {}

impl<T> From<Vec<T>> for Tracks<T> {
    /// Builders may start from an empty list; encoding rejects it, parsing never produces it.
    fn from(tracks: Vec<T>) -> Self {
        Tracks {
            repr: Repr::Many(tracks),
        }
    }
}

impl<T> FromIterator<T> for Tracks<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Tracks::from(iter.into_iter().collect::<Vec<T>>())
    }
}

/// Reads the tracks of a multitrack message once its `AvMultitrackType` byte has been read
/// (Enhanced RTMP v2, `ExVideoTagBody` / `ExAudioTagBody`): the shared FourCC unless each track
/// has its own, then per track the FourCC (many codecs only), the `UI8` track id and the `UI24`
/// size (all types but one track). `read_track` reads a track from a reader over its body, given
/// its id and FourCC.
pub(crate) fn read_multitrack<'a, T>(
    reader: &mut Reader<'a>,
    multitrack: MultitrackType,
    mut read_track: impl FnMut(&mut Reader<'a>, u8, FourCc) -> Result<T, MediaError>,
) -> Result<Tracks<T>, MediaError> {
    let shared_fourcc = match multitrack {
        MultitrackType::ManyTracksManyCodecs => None,
        _ => Some(reader.fourcc("multitrack FourCC")?),
    };
    let mut tracks: Option<Tracks<T>> = None;
    let mut count = 0usize;
    loop {
        let fourcc = match shared_fourcc {
            Some(fourcc) => fourcc,
            None => reader.fourcc("track FourCC")?,
        };
        let track_id = reader.u8("track id")?;
        let mut body = if multitrack.has_track_sizes() {
            let size = reader.u24("track size")?;
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            reader.split(size, "track body")?
        } else {
            let remaining = reader.remaining();
            reader.split(remaining, "track body")?
        };
        count += 1;
        if count > MAX_TRACKS {
            return Err(MediaError::TooManyTracks);
        }
        let track = read_track(&mut body, track_id, fourcc)?;
        match &mut tracks {
            Some(list) => list.push(track),
            None => tracks = Some(Tracks::one(track)),
        }
        if !multitrack.has_track_sizes() || reader.is_empty() {
            break;
        }
    }
    // The loop runs at least once, so `tracks` is set; the fallback only keeps this panic-free.
    tracks.ok_or(MediaError::Truncated { field: "track id" })
}

/// Checks the track list of a multitrack message before it is written: the count fits the
/// multitrack type and [`MAX_TRACKS`], and a [`MultitrackType::ManyTracks`] message has one codec.
pub(crate) fn check_multitrack<T, C: PartialEq>(
    tracks: &[T],
    multitrack: MultitrackType,
    codec: impl Fn(&T) -> C,
) -> Result<(), MediaError> {
    let Some(first) = tracks.first() else {
        return Err(MediaError::Unencodable(
            "a message needs at least one track",
        ));
    };
    if tracks.len() > MAX_TRACKS {
        return Err(MediaError::TooManyTracks);
    }
    match multitrack {
        MultitrackType::OneTrack if tracks.len() != 1 => Err(MediaError::Unencodable(
            "a OneTrack multitrack message has exactly one track",
        )),
        MultitrackType::ManyTracks if tracks.iter().any(|t| codec(t) != codec(first)) => Err(
            MediaError::Unencodable("a ManyTracks message has one codec for all its tracks"),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn one_track_is_inline_and_compares_like_a_vector_of_one() {
        let mut tracks = Tracks::one(1u8);
        assert_eq!(&*tracks, &[1]);
        assert_eq!(tracks, Tracks::from(vec![1]));
        tracks.push(2);
        tracks.push(3);
        assert_eq!(&*tracks, &[1, 2, 3]);
        assert_eq!(
            tracks.map(|t| u16::from(*t) * 10),
            Tracks::from(vec![10, 20, 30])
        );
        assert_eq!(Tracks::one(5u8).map(|t| *t + 1), Tracks::one(6));
    }

    #[test]
    fn multitrack_types_round_trip_and_reject_reserved_values() {
        for wire in 0..16u8 {
            match MultitrackType::from_wire(wire) {
                Ok(kind) => assert_eq!(kind.to_wire(), wire),
                Err(e) => {
                    assert!(wire > 2);
                    assert_eq!(e, MediaError::UnknownMultitrackType(wire));
                }
            }
        }
    }

    #[test]
    fn track_count_is_bounded() {
        // ManyTracks: FourCC, then 300 empty tracks of 4 bytes each (id + zero size).
        let mut payload = vec![b'a', b'v', b'0', b'1'];
        for id in 0..300u16 {
            payload.extend_from_slice(&[id as u8, 0, 0, 0]);
        }
        let mut reader = Reader::new(&payload);
        let result = read_multitrack(&mut reader, MultitrackType::ManyTracks, |_, track_id, _| {
            Ok(track_id)
        });
        assert_eq!(result, Err(MediaError::TooManyTracks));
    }
}
