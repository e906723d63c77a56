//! The RTMP handshake (RTMP 1.0 §5.2), for both roles, sans-IO.
//!
//! [`ClientHandshake`] and [`ServerHandshake`] take the peer's bytes in pieces of any size through
//! `handle_input`, hand out the bytes to send through `poll_output`, and report what was
//! negotiated through getters. They read no clock and draw no global randomness: the random
//! bytes come from the RNG given to `new` (all of them are drawn there, so a fixed seed gives
//! byte-exact packets) and the times from the caller.
//!
//! Two handshakes are spoken:
//! - the plain one of RTMP 1.0 §5.2.2-§5.2.4: C1/S1 carry a time, four zero bytes and 1528
//!   random bytes, and C2/S2 echo the peer's C1/S1;
//! - the digest ("complex") one of Flash Player 9+ and Flash Media Server, which the spec does
//!   not describe: C1/S1 carry a non-zero software version and an HMAC-SHA256 digest at a
//!   position derived from the packet itself ([`DigestLayout`]), and C2/S2 carry a signature
//!   derived from the peer's digest.
//!
//! The server answers a valid digest with a digest and anything else with the plain handshake, as
//! nginx-rtmp and SRS do, unless told otherwise by [`ServerConfig::accept`].
//!
//! ```
//! use rand::SeedableRng;
//! use rtmp_proto::handshake::{ClientConfig, ClientHandshake, ServerConfig, ServerHandshake};
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(7);
//! let mut client = ClientHandshake::new(ClientConfig::default(), &mut rng, 0);
//! let mut server = ServerHandshake::new(ServerConfig::default(), &mut rng, 0);
//! while !(client.is_complete() && server.is_complete()) {
//!     while let Some(bytes) = client.poll_output() {
//!         assert_eq!(server.handle_input(0, &bytes)?, bytes.len());
//!     }
//!     while let Some(bytes) = server.poll_output() {
//!         assert_eq!(client.handle_input(0, &bytes)?, bytes.len());
//!     }
//! }
//! assert_eq!(client.mode(), server.mode());
//! # Ok::<(), rtmp_proto::handshake::HandshakeError>(())
//! ```

mod client;
mod digest;
mod machine;
mod packet;
mod server;

#[cfg(test)]
mod tests;

pub use client::{ClientConfig, ClientHandshake, ClientMode};
pub use server::{ServerAccept, ServerConfig, ServerHandshake};

/// The random number generator trait the constructors take (`rand` 0.9's), re-exported so that
/// callers need not depend on the same `rand` version to implement or name it.
pub use rand::RngCore;

/// The version byte of C0 and S0 that this crate sends (RTMP 1.0 §5.2.2).
pub const RTMP_VERSION: u8 = 3;

/// Length of C1, S1, C2 and S2 (RTMP 1.0 §5.2.3, §5.2.4).
pub const PACKET_LEN: usize = 1536;

/// Errors of the handshake. Every one of them is fatal: the handshake object keeps returning it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer's C0/S0 version byte is one no RTMP peer may send: 32..=255 are reserved to tell
    /// RTMP apart from text protocols (RTMP 1.0 §5.2.2).
    #[error("unsupported RTMP version {0}")]
    UnsupportedVersion(u8),
    /// The peer asked for encrypted RTMP (RTMPE: C0/S0 version 6, 8 or 9), which this crate does
    /// not speak.
    #[error("encrypted RTMP (RTMPE, version {0}) is not supported")]
    EncryptionNotSupported(u8),
    /// The peer's C1/S1 announces the digest handshake (non-zero version bytes) but carries a
    /// valid digest in neither layout.
    #[error("the peer's handshake digest is invalid")]
    InvalidDigest,
    /// The server requires the digest handshake ([`ServerAccept::DigestOnly`]) and the client
    /// offered the plain one.
    #[error("the digest handshake is required but the client offered the plain one")]
    DigestRequired,
    /// The peer's C2/S2 neither echoes our C1/S1 nor carries a valid signature, and the
    /// configuration asks for it to be verified.
    #[error("the peer's C2/S2 does not answer our C1/S1")]
    ResponseMismatch,
}

/// Which handshake was negotiated (RTMP 1.0 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeMode {
    /// The plain handshake of RTMP 1.0 §5.2.3-§5.2.4: zero version bytes, C2/S2 echo C1/S1.
    Plain,
    /// The digest handshake, with the digest of the C1/S1 that carried it in this layout.
    Digest(DigestLayout),
}

/// Where the 32-byte digest of a digest-handshake C1/S1 sits.
///
/// Bytes 8..1536 of the packet form two 764-byte halves; the digest lives in one of them, at an
/// offset given by the sum of the four bytes that open that half, modulo 728. The other half is
/// where RTMPE puts its Diffie-Hellman key; this crate leaves it random.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestLayout {
    /// The digest in the first half: offset = (sum of bytes 8..12) % 728 + 12. Flash Player 9
    /// and FFmpeg use it.
    One,
    /// The digest in the second half: offset = (sum of bytes 772..776) % 728 + 776. Flash Player
    /// 10 and later use it.
    Two,
}

impl DigestLayout {
    /// The other layout.
    const fn other(self) -> Self {
        match self {
            DigestLayout::One => DigestLayout::Two,
            DigestLayout::Two => DigestLayout::One,
        }
    }
}

/// Whether the peer's C2/S2 `reply` answers our C1/S1 `own` (RTMP 1.0 §5.2.4): an echo of its
/// time and random bytes, or, if `own` carried a digest, the digest handshake's signature by
/// `peer`. Either form proves the peer read our packet, and peers mix them: FFmpeg, publishing,
/// echoes S1 even after a digest S1.
fn answers_packet(
    reply: &[u8; PACKET_LEN],
    own: &[u8; PACKET_LEN],
    own_digest: Option<&[u8; digest::DIGEST_LEN]>,
    peer: digest::Signer,
) -> bool {
    packet::is_echo_of(reply, own)
        || own_digest.is_some_and(|own_digest| digest::verify_response(reply, own_digest, peer))
}
