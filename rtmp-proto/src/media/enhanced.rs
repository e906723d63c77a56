//! The framing audio and video share in Enhanced RTMP v2 headers (`ExAudioTagHeader` /
//! `ExVideoTagHeader` and their bodies): the ModEx chain after the first byte, then either one
//! track (a FourCC and its body) or a multitrack message. Only the first byte, the packet type
//! values and what precedes a track's body differ between the two.

use bytes::{BufMut, BytesMut};

use super::reader::Reader;
use super::tracks::{check_multitrack, read_multitrack};
use super::{FourCc, MediaError, MultitrackType, Tracks};

/// `ModEx` as a packet type, the same value for audio and video (Enhanced RTMP v2,
/// `AudioPacketType.ModEx` and `VideoPacketType.ModEx`).
const PACKET_TYPE_MOD_EX: u8 = 7;
/// `TimestampOffsetNano`, the only ModEx type defined (Enhanced RTMP v2,
/// `AudioPacketModExType` and `VideoPacketModExType`).
const MOD_EX_TIMESTAMP_OFFSET_NANO: u8 = 0;
/// The largest value a 24-bit field holds.
const MAX_U24: u32 = 0x00FF_FFFF;

/// An `AudioPacketType` or `VideoPacketType` (Enhanced RTMP v2).
pub(crate) trait PacketType: Copy + PartialEq {
    /// The wire value of `Multitrack`: 5 for audio, 6 for video.
    const MULTITRACK: u8;

    /// The packet type from its 4-bit wire value; `None` for the framing values and the
    /// reserved ones.
    fn from_wire(value: u8) -> Option<Self>;

    /// The 4-bit wire value.
    fn to_wire(self) -> u8;

    /// What the first byte (or the last ModEx entry) says for a message whose tracks have this
    /// packet type: `Multitrack` for a multitrack message, the packet type itself otherwise.
    fn in_header(self, multitrack: Option<MultitrackType>) -> u8 {
        match multitrack {
            Some(_) => Self::MULTITRACK,
            None => self.to_wire(),
        }
    }
}

/// What writing the tracks of an enhanced header needs to know of an audio or video track.
pub(crate) trait EnhancedTrack {
    type Codec: PartialEq;
    type PacketType: PacketType;

    fn track_id(&self) -> u8;
    fn codec(&self) -> Self::Codec;
    fn codec_fourcc(&self) -> Option<FourCc>;
    fn packet_type(&self) -> Option<Self::PacketType>;

    /// Checks the body before anything is written.
    fn check_body(&self) -> Result<(), MediaError> {
        Ok(())
    }

    /// The length of what [`put_body`](Self::put_body) writes.
    fn body_len(&self) -> usize;

    /// Writes the fields that precede the body in this kind of track, then the body.
    fn put_body(&self, out: &mut BytesMut) -> Result<(), MediaError>;
}

/// Follows a chain of ModEx entries (Enhanced RTMP v2, `ExVideoTagHeader` / `ExAudioTagHeader`:
/// "Process each ModEx data packet") starting from `packet_type`, and returns the packet type that
/// ends the chain. A `TimestampOffsetNano` entry sets `nanos` (the last one wins); ModEx types
/// this crate does not know are skipped, which their size field makes safe.
pub(crate) fn read_mod_ex(
    reader: &mut Reader<'_>,
    mut packet_type: u8,
    nanos: &mut Option<u32>,
) -> Result<u8, MediaError> {
    while packet_type == PACKET_TYPE_MOD_EX {
        let mut size = usize::from(reader.u8("ModEx data size")?) + 1;
        if size == 256 {
            size = usize::from(reader.u16("ModEx extended data size")?) + 1;
        }
        let data = reader.bytes(size, "ModEx data")?;
        let types = reader.u8("ModEx type")?;
        packet_type = types & 0x0F;
        if types >> 4 == MOD_EX_TIMESTAMP_OFFSET_NANO {
            let Some(&[a, b, c]) = data.get(..3) else {
                return Err(MediaError::TimestampOffsetNanoTooShort(data.len()));
            };
            *nanos = Some(u32::from_be_bytes([0, a, b, c]));
        }
    }
    Ok(packet_type)
}

/// Reads the tracks that follow the ModEx chain, whose last packet type is `wire_packet_type`:
/// after `Multitrack`, the `AvMultitrackType` and shared packet type byte and the tracks (see
/// [`read_multitrack`]); otherwise one track, named by the FourCC that `fourcc_field` names in
/// errors. `read_track` reads a track's body given its id, FourCC and packet type.
pub(crate) fn read_tracks<'a, P: PacketType, T>(
    reader: &mut Reader<'a>,
    wire_packet_type: u8,
    fourcc_field: &'static str,
    mut read_track: impl FnMut(&mut Reader<'a>, u8, FourCc, P) -> Result<T, MediaError>,
) -> Result<(Option<MultitrackType>, Tracks<T>), MediaError> {
    if wire_packet_type != P::MULTITRACK {
        let packet_type = P::from_wire(wire_packet_type)
            .ok_or(MediaError::UnknownPacketType(wire_packet_type))?;
        let fourcc = reader.fourcc(fourcc_field)?;
        let track = read_track(reader, 0, fourcc, packet_type)?;
        return Ok((None, Tracks::one(track)));
    }
    let types = reader.u8("multitrack type")?;
    let multitrack = MultitrackType::from_wire(types >> 4)?;
    let wire_track_packet_type = types & 0x0F;
    let packet_type = P::from_wire(wire_track_packet_type).ok_or(
        if wire_track_packet_type == P::MULTITRACK || wire_track_packet_type == PACKET_TYPE_MOD_EX {
            MediaError::InvalidTrackPacketType(wire_track_packet_type)
        } else {
            MediaError::UnknownPacketType(wire_track_packet_type)
        },
    )?;
    let tracks = read_multitrack(reader, multitrack, |body, track_id, fourcc| {
        read_track(body, track_id, fourcc, packet_type)
    })?;
    Ok((Some(multitrack), tracks))
}

/// Runs `write`, and removes what it wrote from `out` if it fails: builders write a whole
/// payload or nothing.
pub(crate) fn write_all_or_nothing(
    out: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut) -> Result<(), MediaError>,
) -> Result<(), MediaError> {
    let start = out.len();
    let result = write(out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// The track of a message without multitrack framing, which has no track id on the wire.
pub(crate) fn single_track<T: EnhancedTrack>(tracks: &[T]) -> Result<&T, MediaError> {
    match tracks {
        [track] if track.track_id() == 0 => Ok(track),
        [_] => Err(MediaError::Unencodable(
            "only multitrack messages carry a track id",
        )),
        _ => Err(MediaError::Unencodable(
            "a message without multitrack has exactly one track",
        )),
    }
}

/// The one packet type every track of a message shares; checks each track's body on the way.
pub(crate) fn shared_packet_type<T: EnhancedTrack>(
    tracks: &[T],
) -> Result<T::PacketType, MediaError> {
    let packet_type = tracks
        .first()
        .ok_or(MediaError::Unencodable(
            "a message needs at least one track",
        ))?
        .packet_type()
        .ok_or(MediaError::Unencodable(
            "an enhanced track needs a packet type",
        ))?;
    for track in tracks {
        if track.packet_type() != Some(packet_type) {
            return Err(MediaError::Unencodable(
                "all tracks of a message share one packet type",
            ));
        }
        track.check_body()?;
    }
    Ok(packet_type)
}

/// Writes the first byte, `high_bits` with `packet_type` in the low four bits, preceded by a
/// `TimestampOffsetNano` ModEx entry if `nanos` is given.
pub(crate) fn put_first_byte_and_mod_ex(
    out: &mut BytesMut,
    high_bits: u8,
    packet_type: u8,
    nanos: Option<u32>,
) -> Result<(), MediaError> {
    let first_byte = |packet_type: u8| high_bits | (packet_type & 0x0F);
    match nanos {
        None => out.put_u8(first_byte(packet_type)),
        Some(nanos) => {
            out.put_u8(first_byte(PACKET_TYPE_MOD_EX));
            put_mod_ex_nanos(out, nanos, packet_type)?;
        }
    }
    Ok(())
}

/// Writes one `TimestampOffsetNano` ModEx entry whose chain continues with `next_packet_type`.
/// The caller has already written `ModEx` as the packet type of the byte before.
fn put_mod_ex_nanos(
    out: &mut BytesMut,
    nanos: u32,
    next_packet_type: u8,
) -> Result<(), MediaError> {
    if nanos > MAX_U24 {
        return Err(MediaError::Unencodable("TimestampOffsetNano above 24 bits"));
    }
    let [_, a, b, c] = nanos.to_be_bytes();
    // The size byte holds the data length minus one.
    out.put_slice(&[2, a, b, c]);
    out.put_u8((MOD_EX_TIMESTAMP_OFFSET_NANO << 4) | (next_packet_type & 0x0F));
    Ok(())
}

/// Writes what follows the first byte and ModEx chain: one track's FourCC and body, or, for a
/// multitrack message, the `AvMultitrackType` and packet type byte, then each track's FourCC
/// (one shared FourCC unless the codecs differ), id, size (unless there is one track) and body.
pub(crate) fn put_tracks<T: EnhancedTrack>(
    out: &mut BytesMut,
    multitrack: Option<MultitrackType>,
    packet_type: T::PacketType,
    tracks: &[T],
) -> Result<(), MediaError> {
    let put_fourcc = |out: &mut BytesMut, track: &T| {
        let fourcc = track
            .codec_fourcc()
            .ok_or(MediaError::Unencodable("codec without a FourCC"))?;
        out.put_slice(&fourcc.0);
        Ok::<(), MediaError>(())
    };
    let Some(multitrack) = multitrack else {
        let track = single_track(tracks)?;
        put_fourcc(out, track)?;
        return track.put_body(out);
    };
    check_multitrack(tracks, multitrack, T::codec)?;
    out.put_u8((multitrack.to_wire() << 4) | packet_type.to_wire());
    let shares_a_codec = multitrack != MultitrackType::ManyTracksManyCodecs;
    if let (true, Some(first)) = (shares_a_codec, tracks.first()) {
        put_fourcc(out, first)?;
    }
    for track in tracks {
        if !shares_a_codec {
            put_fourcc(out, track)?;
        }
        out.put_u8(track.track_id());
        if multitrack.has_track_sizes() {
            put_u24(out, track.body_len(), "track body larger than 24 bits")?;
        }
        track.put_body(out)?;
    }
    Ok(())
}

/// Writes a 24-bit big-endian length, failing for lengths that do not fit.
fn put_u24(out: &mut BytesMut, value: usize, what: &'static str) -> Result<(), MediaError> {
    let value = u32::try_from(value)
        .ok()
        .filter(|v| *v <= MAX_U24)
        .ok_or(MediaError::Unencodable(what))?;
    let [_, a, b, c] = value.to_be_bytes();
    out.put_slice(&[a, b, c]);
    Ok(())
}
