//! The digest ("complex") handshake of Flash Player 9+ and Flash Media Server.
//!
//! Not part of RTMP 1.0; the layout is the one every implementation agrees on (Flash Player,
//! FMS, librtmp, FFmpeg, nginx-rtmp, SRS): a C1/S1 carries HMAC-SHA256 of its other 1504 bytes,
//! and a C2/S2 ends with HMAC-SHA256 of its first 1504 bytes under a key derived from the peer's
//! digest.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{DigestLayout, PACKET_LEN};

/// Length of an HMAC-SHA256 digest.
pub(crate) const DIGEST_LEN: usize = 32;

/// Bytes of a C1/S1 covered by its digest, and the signed prefix of a C2/S2.
pub(crate) const SIGNED_LEN: usize = PACKET_LEN - DIGEST_LEN;

/// Each layout's half of a C1/S1: 4 offset bytes, then 728 positions for the 32-byte digest.
const HALF_LEN: usize = 764;
const OFFSET_FIELD_LEN: usize = 4;
const DIGEST_POSITIONS: usize = HALF_LEN - OFFSET_FIELD_LEN - DIGEST_LEN;

/// The Flash Player key: "Genuine Adobe Flash Player 001" followed by 32 constant bytes.
const FLASH_PLAYER_KEY: [u8; 62] = *b"Genuine Adobe Flash Player 001\
    \xF0\xEE\xC2\x4A\x80\x68\xBE\xE8\x2E\x00\xD0\xD1\x02\x9E\x7E\x57\
    \x6E\xEC\x5D\x2D\x29\x80\x6F\xAB\x93\xB8\xE6\x36\xCF\xEB\x31\xAE";

/// The Flash Media Server key: "Genuine Adobe Flash Media Server 001" followed by the same 32
/// constant bytes.
const FMS_KEY: [u8; 68] = *b"Genuine Adobe Flash Media Server 001\
    \xF0\xEE\xC2\x4A\x80\x68\xBE\xE8\x2E\x00\xD0\xD1\x02\x9E\x7E\x57\
    \x6E\xEC\x5D\x2D\x29\x80\x6F\xAB\x93\xB8\xE6\x36\xCF\xEB\x31\xAE";

/// Length of the text prefix of each key, which alone signs C1 and S1.
const FLASH_PLAYER_TEXT_LEN: usize = 30;
const FMS_TEXT_LEN: usize = 36;

/// Whose key signs a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signer {
    /// The client: the Flash Player key.
    Client,
    /// The server: the Flash Media Server key.
    Server,
}

impl Signer {
    /// The key of C1/S1 digests: the text prefix only.
    fn packet_key(self) -> &'static [u8] {
        match self {
            Signer::Client => FLASH_PLAYER_KEY.split_at(FLASH_PLAYER_TEXT_LEN).0,
            Signer::Server => FMS_KEY.split_at(FMS_TEXT_LEN).0,
        }
    }

    /// The key from which C2/S2 signing keys are derived: the whole key.
    fn full_key(self) -> &'static [u8] {
        match self {
            Signer::Client => &FLASH_PLAYER_KEY,
            Signer::Server => &FMS_KEY,
        }
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    // RFC 2104 §2 zero-pads keys up to the 64-byte block and hashes longer ones first. Doing it
    // here lets us use the infallible fixed-size constructor instead of one returning a Result.
    let mut block_key = [0u8; 64];
    if key.len() > block_key.len() {
        let hashed = Sha256::digest(key);
        block_key
            .iter_mut()
            .zip(hashed)
            .for_each(|(slot, byte)| *slot = byte);
    } else {
        block_key
            .iter_mut()
            .zip(key)
            .for_each(|(slot, byte)| *slot = *byte);
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block_key.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Where the digest of `packet` sits in `layout`. Always below `SIGNED_LEN`, so the digest fits
/// in the packet.
pub(crate) fn digest_offset(packet: &[u8; PACKET_LEN], layout: DigestLayout) -> usize {
    let half_start = match layout {
        DigestLayout::One => 8,
        DigestLayout::Two => 8 + HALF_LEN,
    };
    let offset_field = packet
        .iter()
        .skip(half_start)
        .take(OFFSET_FIELD_LEN)
        .map(|&byte| usize::from(byte));
    offset_field.sum::<usize>() % DIGEST_POSITIONS + half_start + OFFSET_FIELD_LEN
}

/// The digest `packet` should carry at `offset`: HMAC over every byte but the 32 at `offset`.
fn packet_digest(packet: &[u8; PACKET_LEN], offset: usize, signer: Signer) -> [u8; DIGEST_LEN] {
    let before = packet.get(..offset).unwrap_or_default();
    let after = packet.get(offset + DIGEST_LEN..).unwrap_or_default();
    hmac_sha256(signer.packet_key(), &[before, after])
}

/// Writes `signer`'s digest into `packet` at the place `layout` gives, and returns it.
pub(crate) fn imprint(
    packet: &mut [u8; PACKET_LEN],
    layout: DigestLayout,
    signer: Signer,
) -> [u8; DIGEST_LEN] {
    let offset = digest_offset(packet, layout);
    let digest = packet_digest(packet, offset, signer);
    packet
        .iter_mut()
        .skip(offset)
        .zip(digest)
        .for_each(|(slot, byte)| *slot = byte);
    digest
}

/// The digest of `packet` in `layout` if it is `signer`'s valid one.
pub(crate) fn validate(
    packet: &[u8; PACKET_LEN],
    layout: DigestLayout,
    signer: Signer,
) -> Option<[u8; DIGEST_LEN]> {
    let offset = digest_offset(packet, layout);
    let expected = packet_digest(packet, offset, signer);
    let carried = packet.get(offset..offset + DIGEST_LEN)?;
    (carried == expected).then_some(expected)
}

/// Looks for `signer`'s valid digest in `first` layout, then in the other one.
pub(crate) fn find_digest(
    packet: &[u8; PACKET_LEN],
    signer: Signer,
    first: DigestLayout,
) -> Option<(DigestLayout, [u8; DIGEST_LEN])> {
    [first, first.other()]
        .into_iter()
        .find_map(|layout| validate(packet, layout, signer).map(|digest| (layout, digest)))
}

/// The signature that ends a digest-handshake C2/S2 whose first 1504 bytes are `signed`:
/// HMAC(HMAC(signer's full key, the digest of the peer's C1/S1), signed).
fn response_signature(
    signed: &[u8],
    peer_digest: &[u8; DIGEST_LEN],
    signer: Signer,
) -> [u8; DIGEST_LEN] {
    let key = hmac_sha256(signer.full_key(), &[peer_digest]);
    hmac_sha256(&key, &[signed])
}

/// A digest-handshake C2/S2: `random`, then its signature for the peer's digest.
pub(crate) fn sign_response(
    random: &[u8; SIGNED_LEN],
    peer_digest: &[u8; DIGEST_LEN],
    signer: Signer,
) -> [u8; PACKET_LEN] {
    let signature = response_signature(random, peer_digest, signer);
    let mut packet = [0u8; PACKET_LEN];
    packet
        .iter_mut()
        .zip(random.iter().chain(&signature))
        .for_each(|(slot, byte)| *slot = *byte);
    packet
}

/// Whether `packet` is a C2/S2 that `signer` signed for our digest `own_digest`.
pub(crate) fn verify_response(
    packet: &[u8; PACKET_LEN],
    own_digest: &[u8; DIGEST_LEN],
    signer: Signer,
) -> bool {
    let (signed, signature) = packet.split_at(SIGNED_LEN);
    signature == response_signature(signed, own_digest, signer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern_packet(seed: u8) -> [u8; PACKET_LEN] {
        let mut packet = [0u8; PACKET_LEN];
        let mut value = seed;
        for byte in packet.iter_mut() {
            value = value.wrapping_mul(31).wrapping_add(17);
            *byte = value;
        }
        packet
    }

    #[test]
    fn keys_are_the_published_ones() {
        assert_eq!(&FLASH_PLAYER_KEY[..30], b"Genuine Adobe Flash Player 001");
        assert_eq!(&FMS_KEY[..36], b"Genuine Adobe Flash Media Server 001");
        assert_eq!(FLASH_PLAYER_KEY[30..], FMS_KEY[36..]);
        assert_eq!(FMS_KEY[36..40], [0xF0, 0xEE, 0xC2, 0x4A]);
        assert_eq!(FMS_KEY[64..], [0xCF, 0xEB, 0x31, 0xAE]);
    }

    #[test]
    fn hmac_matches_the_hmac_crate_for_short_block_and_long_keys() {
        let message = b"what is signed";
        for key in [
            &b"k"[..],
            &[7u8; 64],
            &FLASH_PLAYER_KEY,
            &FMS_KEY,
            &[9u8; 200],
        ] {
            let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
            reference.update(message);
            let reference: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(hmac_sha256(key, &[&message[..4], &message[4..]]), reference);
        }
    }

    #[test]
    fn offsets_stay_inside_their_half() {
        for layout in [DigestLayout::One, DigestLayout::Two] {
            let (low, high) = match layout {
                DigestLayout::One => (12, 8 + HALF_LEN),
                DigestLayout::Two => (776, PACKET_LEN),
            };
            let field = match layout {
                DigestLayout::One => 8,
                DigestLayout::Two => 772,
            };
            let mut seen_max = 0;
            for sum in 0..=4 * 255usize {
                let mut packet = [0u8; PACKET_LEN];
                let mut left = sum;
                for byte in &mut packet[field..field + 4] {
                    *byte = left.min(255) as u8;
                    left -= usize::from(*byte);
                }
                let offset = digest_offset(&packet, layout);
                assert_eq!(offset, sum % 728 + field + 4);
                assert!(offset >= low && offset + DIGEST_LEN <= high, "{offset}");
                seen_max = seen_max.max(offset);
            }
            // The sum 727 is reachable, so the last of the 728 positions is used; it leaves the
            // half's last byte outside every digest.
            assert_eq!(seen_max + DIGEST_LEN, high - 1);
        }
    }

    #[test]
    fn imprinted_digest_validates_in_its_layout_only() {
        for layout in [DigestLayout::One, DigestLayout::Two] {
            for signer in [Signer::Client, Signer::Server] {
                let mut packet = pattern_packet(3);
                let digest = imprint(&mut packet, layout, signer);
                assert_eq!(validate(&packet, layout, signer), Some(digest));
                assert_eq!(validate(&packet, layout.other(), signer), None);
                let other_signer = match signer {
                    Signer::Client => Signer::Server,
                    Signer::Server => Signer::Client,
                };
                assert_eq!(validate(&packet, layout, other_signer), None);
                assert_eq!(
                    find_digest(&packet, signer, layout.other()),
                    Some((layout, digest))
                );
            }
        }
    }

    #[test]
    fn response_signature_verifies_only_for_its_digest_and_signer() {
        let random: [u8; SIGNED_LEN] = pattern_packet(5)[..SIGNED_LEN].try_into().unwrap();
        let peer_digest = [0x42; DIGEST_LEN];
        let response = sign_response(&random, &peer_digest, Signer::Server);
        assert_eq!(response[..SIGNED_LEN], random[..]);
        assert!(verify_response(&response, &peer_digest, Signer::Server));
        assert!(!verify_response(&response, &peer_digest, Signer::Client));
        assert!(!verify_response(
            &response,
            &[0x43; DIGEST_LEN],
            Signer::Server
        ));
        let mut flipped = response;
        flipped[100] ^= 1;
        assert!(!verify_response(&flipped, &peer_digest, Signer::Server));
    }
}
