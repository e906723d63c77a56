//! The client side of the handshake (RTMP 1.0 §5.2).

use alloc::boxed::Box;
use alloc::vec::Vec;

use bytes::Bytes;
use rand::RngCore;

use super::digest::{self, Signer, DIGEST_LEN, SIGNED_LEN};
use super::machine::{Machine, Role};
use super::packet;
use super::{
    answers_packet, DigestLayout, HandshakeError, HandshakeMode, PACKET_LEN, RTMP_VERSION,
};

/// Which handshake the client offers in C1 (RTMP 1.0 §5.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientMode {
    /// The plain handshake: C1's version bytes are zero. librtmp's default.
    Plain,
    /// The digest handshake in the given layout, as Flash Player and FFmpeg do. Servers that
    /// do not know it answer with the plain handshake, which the client then follows.
    Digest(DigestLayout),
}

/// How a [`ClientHandshake`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The handshake offered. Default: the digest handshake in layout one, like FFmpeg.
    pub mode: ClientMode,
    /// Bytes 4..8 of a digest-handshake C1: the Flash Player version claimed, e.g. 9.0.124.2 or
    /// 10.0.32.18. Default 9.0.124.2. Zero makes the client offer the plain handshake, since zero
    /// version bytes are how C1 says "plain".
    pub version: [u8; 4],
    /// Whether to go on with the plain handshake when S1 announces the digest handshake but its
    /// digest validates in neither layout. Default `false`: that is
    /// [`HandshakeError::InvalidDigest`].
    pub tolerate_invalid_server_digest: bool,
    /// Whether an S2 that does not answer C1 (neither an echo nor a valid signature) is
    /// [`HandshakeError::ResponseMismatch`]. Default `false`: some servers and proxies rewrite S2,
    /// so the result is only recorded ([`ClientHandshake::peer_response_valid`]).
    pub require_valid_s2: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            mode: ClientMode::Digest(DigestLayout::One),
            version: [9, 0, 124, 2],
            tolerate_invalid_server_digest: false,
            require_valid_s2: false,
        }
    }
}

/// The client's handshake (RTMP 1.0 §5.2.1): sends C0+C1 at once, C2 once S1 has arrived, and is
/// complete once S2 has arrived.
///
/// Feed it the server's bytes with [`handle_input`](Self::handle_input) and send what
/// [`poll_output`](Self::poll_output) returns, until [`is_complete`](Self::is_complete). The bytes
/// that follow S2 belong to the chunk stream: `handle_input` leaves them unconsumed.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    role: ClientRole,
    machine: Machine,
}

/// What the client keeps between packets.
#[derive(Debug, Clone)]
struct ClientRole {
    config: ClientConfig,
    c1: Box<[u8; PACKET_LEN]>,
    /// The layout and digest of our C1, if we offered the digest handshake.
    c1_digest: Option<(DigestLayout, [u8; DIGEST_LEN])>,
    /// The first 1504 bytes of a digest-handshake C2, drawn up front with the rest.
    c2_random: Box<[u8; SIGNED_LEN]>,
}

impl ClientHandshake {
    /// Starts a handshake and queues C0+C1 (RTMP 1.0 §5.2.2, §5.2.3).
    ///
    /// Every random byte the handshake will need is drawn from `rng` here. `epoch_ms` goes into
    /// C1's time field (the epoch of our timestamps, RTMP 1.0 §5.2.3); any value works, and it
    /// should come from the clock that later calls to [`handle_input`](Self::handle_input) read.
    pub fn new<R: RngCore + ?Sized>(config: ClientConfig, rng: &mut R, epoch_ms: u32) -> Self {
        let layout = match config.mode {
            ClientMode::Digest(layout) if config.version != [0; 4] => Some(layout),
            _ => None,
        };
        let version = if layout.is_some() {
            config.version
        } else {
            [0; 4]
        };
        let (mut c1, c2_random) = packet::draw_own_packets(rng, epoch_ms, version);
        let c1_digest =
            layout.map(|layout| (layout, digest::imprint(&mut c1, layout, Signer::Client)));

        let mut c0c1 = Vec::with_capacity(1 + PACKET_LEN);
        c0c1.push(RTMP_VERSION);
        c0c1.extend_from_slice(&c1[..]);

        Self {
            role: ClientRole {
                config,
                c1,
                c1_digest,
                c2_random,
            },
            machine: Machine::new(Some(Bytes::from(c0c1))),
        }
    }

    /// Reads the server's S0, S1 and S2 from `input` (RTMP 1.0 §5.2.1); `input` may hold any part
    /// of them, down to a single byte.
    ///
    /// `now_ms` is the caller's clock, read when `input` arrived; it becomes the time2 field of a
    /// plain C2 (RTMP 1.0 §5.2.4). Returns how many bytes of `input` belong to the handshake:
    /// fewer than `input.len()` only once S2 is complete, the rest being the start of the chunk
    /// stream. After the handshake is complete it consumes nothing. An error is final: every
    /// later call returns it again.
    pub fn handle_input(&mut self, now_ms: u32, input: &[u8]) -> Result<usize, HandshakeError> {
        self.machine.handle_input(&mut self.role, now_ms, input)
    }

    /// The next bytes to send to the server: C0+C1 first, then C2 (RTMP 1.0 §5.2.1).
    pub fn poll_output(&mut self) -> Option<Bytes> {
        self.machine.poll_output()
    }

    /// Whether S2 has arrived (and C2 been queued): the chunk stream may start (RTMP 1.0 §5.2.1).
    pub fn is_complete(&self) -> bool {
        self.machine.is_complete()
    }

    /// The error the handshake failed with, if it did.
    pub fn error(&self) -> Option<&HandshakeError> {
        self.machine.error()
    }

    /// The handshake in use, known once S1 has arrived (RTMP 1.0 §5.2.3).
    pub fn mode(&self) -> Option<HandshakeMode> {
        self.machine.peer().mode
    }

    /// The server's S0 version byte (RTMP 1.0 §5.2.2); accepted ones other than 3 are tolerated.
    pub fn peer_version(&self) -> Option<u8> {
        self.machine.peer().version
    }

    /// The time field of S1: the server's epoch (RTMP 1.0 §5.2.3).
    pub fn peer_epoch(&self) -> Option<u32> {
        self.machine.peer().epoch
    }

    /// Bytes 4..8 of S1 (RTMP 1.0 §5.2.3): zero for the plain handshake, else the server's
    /// software version, e.g. 4.5.0.1 for the FMS-style servers.
    pub fn peer_version_bytes(&self) -> Option<[u8; 4]> {
        self.machine.peer().version_bytes
    }

    /// Whether S2 answered our C1 (RTMP 1.0 §5.2.4): an echo of its time and random bytes, or,
    /// if our C1 carried a digest, a valid digest-handshake signature. Known once S2 has arrived.
    pub fn peer_response_valid(&self) -> Option<bool> {
        self.machine.peer().response_valid
    }
}

impl Role for ClientRole {
    /// Chooses the handshake from S1 and answers with C2 (RTMP 1.0 §5.2.4).
    fn answer(
        &mut self,
        now_ms: u32,
        s1: &[u8; PACKET_LEN],
    ) -> Result<(HandshakeMode, Bytes), HandshakeError> {
        let s1_digest = match self.c1_digest {
            // Zero version bytes: the server answered with the plain handshake.
            Some((offered, _)) if packet::version_bytes(s1) != [0; 4] => {
                match digest::find_digest(s1, Signer::Server, offered) {
                    Some(found) => Some(found),
                    None if self.config.tolerate_invalid_server_digest => None,
                    None => return Err(HandshakeError::InvalidDigest),
                }
            }
            _ => None,
        };
        let (mode, c2) = match s1_digest {
            Some((layout, s1_digest)) => (
                HandshakeMode::Digest(layout),
                digest::sign_response(&self.c2_random, &s1_digest, Signer::Client),
            ),
            None => (HandshakeMode::Plain, packet::echo(s1, now_ms)),
        };
        Ok((mode, Bytes::copy_from_slice(&c2)))
    }

    fn response_valid(&self, s2: &[u8; PACKET_LEN]) -> bool {
        let c1_digest = self.c1_digest.as_ref().map(|(_, digest)| digest);
        answers_packet(s2, &self.c1, c1_digest, Signer::Server)
    }

    fn requires_valid_response(&self) -> bool {
        self.config.require_valid_s2
    }
}
