//! Pieces shared by both roles: C0/S0 versions, packet assembly and the plain handshake's
//! packets.

use alloc::boxed::Box;

use rand::RngCore;

use super::digest::SIGNED_LEN;
use super::{HandshakeError, PACKET_LEN};

/// Random bytes of a C1/S1: everything after the time and version fields (RTMP 1.0 §5.2.3).
pub(crate) const RANDOM_LEN: usize = PACKET_LEN - 8;

/// Checks the peer's C0/S0 version byte (RTMP 1.0 §5.2.2).
///
/// 3 is the version of the spec. 0..=2 (deprecated) and the other values up to 31 (reserved)
/// are accepted and answered with 3, as the spec and its errata advise; 32..=255 are forbidden.
/// 6, 8 and 9 ask for RTMPE, which we do not speak.
pub(crate) fn check_version(version: u8) -> Result<(), HandshakeError> {
    match version {
        6 | 8 | 9 => Err(HandshakeError::EncryptionNotSupported(version)),
        32..=u8::MAX => Err(HandshakeError::UnsupportedVersion(version)),
        _ => Ok(()),
    }
}

/// The big-endian time field that opens a C1/S1/C2/S2 (RTMP 1.0 §5.2.3).
pub(crate) fn time(packet: &[u8; PACKET_LEN]) -> u32 {
    let [a, b, c, d, ..] = *packet;
    u32::from_be_bytes([a, b, c, d])
}

/// Bytes 4..8 of a C1/S1: zero in the plain handshake, the software version in the digest one.
pub(crate) fn version_bytes(packet: &[u8; PACKET_LEN]) -> [u8; 4] {
    let [_, _, _, _, a, b, c, d, ..] = *packet;
    [a, b, c, d]
}

/// Collects one 1536-byte packet from input arriving in pieces of any size.
#[derive(Debug, Clone)]
pub(crate) struct PacketReader {
    packet: Box<[u8; PACKET_LEN]>,
    /// Bytes of `packet` received so far; never more than `PACKET_LEN`.
    filled: usize,
}

impl PacketReader {
    pub(crate) fn new() -> Self {
        Self {
            packet: Box::new([0; PACKET_LEN]),
            filled: 0,
        }
    }

    /// Takes from the front of `input` the bytes the packet still lacks and adds their count to
    /// `consumed`. Returns the packet once it is whole, and starts over for the next one.
    pub(crate) fn fill(
        &mut self,
        input: &[u8],
        consumed: &mut usize,
    ) -> Option<Box<[u8; PACKET_LEN]>> {
        let missing = self.packet.get_mut(self.filled..).unwrap_or_default();
        let taken = missing.len().min(input.len());
        missing
            .iter_mut()
            .zip(input)
            .for_each(|(slot, byte)| *slot = *byte);
        self.filled += taken;
        *consumed += taken;
        if self.filled < PACKET_LEN {
            return None;
        }
        self.filled = 0;
        Some(core::mem::replace(
            &mut self.packet,
            Box::new([0; PACKET_LEN]),
        ))
    }
}

/// A C1/S1: `time`, the four `version` bytes, then `random` (RTMP 1.0 §5.2.3).
pub(crate) fn first_packet(
    time: u32,
    version: [u8; 4],
    random: &[u8; RANDOM_LEN],
) -> Box<[u8; PACKET_LEN]> {
    let mut packet = Box::new([0u8; PACKET_LEN]);
    let time = time.to_be_bytes();
    let fields = time.iter().chain(&version).chain(random.iter());
    packet
        .iter_mut()
        .zip(fields)
        .for_each(|(slot, byte)| *slot = *byte);
    packet
}

/// Draws every random byte one side's handshake needs, in a fixed order so that a seeded RNG gives
/// byte-exact packets: our C1/S1, with `time` and `version`, and the first 1504 bytes of our
/// digest-handshake C2/S2 (see [`digest::sign_response`](super::digest::sign_response)).
pub(crate) fn draw_own_packets<R: RngCore + ?Sized>(
    rng: &mut R,
    time: u32,
    version: [u8; 4],
) -> (Box<[u8; PACKET_LEN]>, Box<[u8; SIGNED_LEN]>) {
    let mut random = [0u8; RANDOM_LEN];
    rng.fill_bytes(&mut random);
    let mut response_random = Box::new([0u8; SIGNED_LEN]);
    rng.fill_bytes(&mut response_random[..]);
    (first_packet(time, version, &random), response_random)
}

/// A plain-handshake C2/S2 (RTMP 1.0 §5.2.4): the peer's C1/S1 with its version field replaced by
/// `read_time`, the time at which we read it.
pub(crate) fn echo(peer_packet: &[u8; PACKET_LEN], read_time: u32) -> [u8; PACKET_LEN] {
    let mut packet = *peer_packet;
    packet
        .iter_mut()
        .skip(4)
        .zip(read_time.to_be_bytes())
        .for_each(|(slot, byte)| *slot = byte);
    packet
}

/// Whether the peer's C2/S2 echoes our C1/S1: same time and random bytes. The peer's time2
/// field is its own clock's business.
pub(crate) fn is_echo_of(reply: &[u8; PACKET_LEN], own: &[u8; PACKET_LEN]) -> bool {
    let (reply_time, reply_rest) = reply.split_at(4);
    let (own_time, own_rest) = own.split_at(4);
    reply_time == own_time && reply_rest.get(4..) == own_rest.get(4..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_the_spec() {
        assert_eq!(check_version(3), Ok(()));
        for accepted in [0, 1, 2, 4, 5, 7, 10, 31] {
            assert_eq!(check_version(accepted), Ok(()), "{accepted}");
        }
        for encrypted in [6, 8, 9] {
            assert_eq!(
                check_version(encrypted),
                Err(HandshakeError::EncryptionNotSupported(encrypted))
            );
        }
        for forbidden in [32, b'G', b'P', 0x80, 255] {
            assert_eq!(
                check_version(forbidden),
                Err(HandshakeError::UnsupportedVersion(forbidden))
            );
        }
    }

    #[test]
    fn reader_assembles_packets_across_pieces_and_stops_at_the_end() {
        let stream: alloc::vec::Vec<u8> = (0..2 * PACKET_LEN + 10).map(|i| i as u8).collect();
        let mut reader = PacketReader::new();
        let mut consumed = 0;
        assert!(reader.fill(&stream[..1000], &mut consumed).is_none());
        assert_eq!(consumed, 1000);
        let first = reader.fill(&stream[1000..], &mut consumed).unwrap();
        assert_eq!(consumed, PACKET_LEN);
        assert_eq!(first[..], stream[..PACKET_LEN]);
        let second = reader.fill(&stream[consumed..], &mut consumed).unwrap();
        assert_eq!(second[..], stream[PACKET_LEN..2 * PACKET_LEN]);
        assert_eq!(consumed, 2 * PACKET_LEN);
        assert!(reader.fill(&[], &mut consumed).is_none());
    }

    #[test]
    fn plain_packets_have_the_spec_layout() {
        let random: [u8; RANDOM_LEN] = core::array::from_fn(|i| (i * 7) as u8);
        let packet = first_packet(0x0102_0304, [0; 4], &random);
        assert_eq!(packet[..8], [1, 2, 3, 4, 0, 0, 0, 0]);
        assert_eq!(packet[8..], random[..]);

        let reply = echo(&packet, 0x0A0B_0C0D);
        assert_eq!(reply[..8], [1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D]);
        assert_eq!(reply[8..], random[..]);
        assert!(is_echo_of(&reply, &packet));

        let mut wrong_time = reply;
        wrong_time[0] ^= 1;
        assert!(!is_echo_of(&wrong_time, &packet));
        let mut wrong_random = reply;
        wrong_random[PACKET_LEN - 1] ^= 1;
        assert!(!is_echo_of(&wrong_random, &packet));
    }
}
