//! The server side of the handshake (RTMP 1.0 §5.2).

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

/// Which handshakes a server accepts from clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServerAccept {
    /// Answer a valid digest with the digest handshake in the client's layout, and anything else
    /// (zero version bytes, or a digest that does not validate) with the plain handshake, as
    /// nginx-rtmp and SRS do. The default.
    #[default]
    DigestOrPlain,
    /// Accept only a C1 with a valid digest, as the Go library this crate replaces does. FFmpeg
    /// and Flash Player pass; librtmp and the clients built on it (rtmpdump, OBS) offer the plain
    /// handshake unless they verify a SWF, and are refused.
    DigestOnly,
    /// Always answer with the plain handshake, whatever the client offers; every client we know
    /// of follows.
    PlainOnly,
}

/// How a [`ServerHandshake`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The handshakes accepted. Default [`ServerAccept::DigestOrPlain`].
    pub accept: ServerAccept,
    /// Bytes 4..8 of a digest-handshake S1: the server version claimed, e.g. 4.5.0.1 or
    /// 3.5.1.1. Default 4.5.0.1. Zero makes the server answer with the plain handshake, since zero
    /// version bytes are how S1 says "plain". Keep the first byte at 3 or more: FFmpeg and
    /// librtmp look only at that byte to decide whether S1 carries a digest.
    pub version: [u8; 4],
    /// Whether a C2 that does not answer S1 (neither an echo nor a valid signature) is
    /// [`HandshakeError::ResponseMismatch`]. Default `false`: the result is only recorded
    /// ([`ServerHandshake::peer_response_valid`]).
    pub require_valid_c2: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            accept: ServerAccept::DigestOrPlain,
            version: [4, 5, 0, 1],
            require_valid_c2: false,
        }
    }
}

/// The server's handshake (RTMP 1.0 §5.2.1): waits for C0+C1, then sends S0+S1+S2 at once, and is
/// complete once C2 has arrived.
///
/// Feed it the client's bytes with [`handle_input`](Self::handle_input) and send what
/// [`poll_output`](Self::poll_output) returns, until [`is_complete`](Self::is_complete). The bytes
/// that follow C2 belong to the chunk stream: `handle_input` leaves them unconsumed.
#[derive(Debug, Clone)]
pub struct ServerHandshake {
    role: ServerRole,
    machine: Machine,
}

/// What the server keeps between packets.
#[derive(Debug, Clone)]
struct ServerRole {
    config: ServerConfig,
    /// S1 before the version bytes and digest are known, then as sent.
    s1: Box<[u8; PACKET_LEN]>,
    /// The digest in our S1, if we answered with the digest handshake.
    s1_digest: Option<[u8; DIGEST_LEN]>,
    /// The first 1504 bytes of a digest-handshake S2, drawn up front with the rest.
    s2_random: Box<[u8; SIGNED_LEN]>,
}

impl ServerHandshake {
    /// Starts a handshake; nothing is sent until C0+C1 have arrived (RTMP 1.0 §5.2.1).
    ///
    /// Every random byte the handshake will need is drawn from `rng` here. `epoch_ms` goes into
    /// S1's time field (the epoch of our timestamps, RTMP 1.0 §5.2.3); any value works, and it
    /// should come from the clock that later calls to [`handle_input`](Self::handle_input) read.
    pub fn new<R: RngCore + ?Sized>(config: ServerConfig, rng: &mut R, epoch_ms: u32) -> Self {
        let (s1, s2_random) = packet::draw_own_packets(rng, epoch_ms, [0; 4]);
        Self {
            role: ServerRole {
                config,
                s1,
                s1_digest: None,
                s2_random,
            },
            machine: Machine::new(None),
        }
    }

    /// Reads the client's C0, C1 and C2 from `input` (RTMP 1.0 §5.2.1); `input` may hold any part
    /// of them, down to a single byte.
    ///
    /// `now_ms` is the caller's clock, read when `input` arrived; it becomes the time2 field of a
    /// plain S2 (RTMP 1.0 §5.2.4). Returns how many bytes of `input` belong to the handshake:
    /// fewer than `input.len()` only once C2 is complete, the rest being the start of the chunk
    /// stream. After the handshake is complete it consumes nothing. An error is final: every
    /// later call returns it again.
    pub fn handle_input(&mut self, now_ms: u32, input: &[u8]) -> Result<usize, HandshakeError> {
        self.machine.handle_input(&mut self.role, now_ms, input)
    }

    /// The next bytes to send to the client: S0+S1+S2 in one piece, once C1 has arrived (RTMP 1.0
    /// §5.2.1).
    pub fn poll_output(&mut self) -> Option<Bytes> {
        self.machine.poll_output()
    }

    /// Whether C2 has arrived: the chunk stream may start (RTMP 1.0 §5.2.1).
    pub fn is_complete(&self) -> bool {
        self.machine.is_complete()
    }

    /// The error the handshake failed with, if it did.
    pub fn error(&self) -> Option<&HandshakeError> {
        self.machine.error()
    }

    /// The handshake in use, known once C1 has arrived (RTMP 1.0 §5.2.3).
    pub fn mode(&self) -> Option<HandshakeMode> {
        self.machine.peer().mode
    }

    /// The client's C0 version byte (RTMP 1.0 §5.2.2); accepted ones other than 3 are answered
    /// with 3.
    pub fn peer_version(&self) -> Option<u8> {
        self.machine.peer().version
    }

    /// The time field of C1: the client's epoch (RTMP 1.0 §5.2.3).
    pub fn peer_epoch(&self) -> Option<u32> {
        self.machine.peer().epoch
    }

    /// Bytes 4..8 of C1 (RTMP 1.0 §5.2.3): zero for the plain handshake, else the Flash Player
    /// version the client claims, e.g. 9.0.124.2.
    pub fn peer_version_bytes(&self) -> Option<[u8; 4]> {
        self.machine.peer().version_bytes
    }

    /// Whether C2 answered our S1 (RTMP 1.0 §5.2.4): an echo of its time and random bytes, or,
    /// if our S1 carried a digest, a valid digest-handshake signature. Known once C2 has arrived.
    pub fn peer_response_valid(&self) -> Option<bool> {
        self.machine.peer().response_valid
    }
}

impl Role for ServerRole {
    /// Chooses the handshake from C1 and answers with S0+S1+S2 (RTMP 1.0 §5.2.2-§5.2.4).
    fn answer(
        &mut self,
        now_ms: u32,
        c1: &[u8; PACKET_LEN],
    ) -> Result<(HandshakeMode, Bytes), HandshakeError> {
        let offered_digest = packet::version_bytes(c1) != [0; 4];
        let c1_digest = match self.config.accept {
            ServerAccept::PlainOnly => None,
            _ if offered_digest => digest::find_digest(c1, Signer::Client, DigestLayout::One),
            _ => None,
        };
        if c1_digest.is_none() && self.config.accept == ServerAccept::DigestOnly {
            return Err(if offered_digest {
                HandshakeError::InvalidDigest
            } else {
                HandshakeError::DigestRequired
            });
        }

        // A non-zero version without a valid digest would fail clients that check it (FFmpeg).
        let answer = c1_digest.filter(|_| self.config.version != [0; 4]);
        let (mode, s2) = match answer {
            Some((layout, c1_digest)) => {
                self.s1
                    .iter_mut()
                    .skip(4)
                    .zip(self.config.version)
                    .for_each(|(slot, byte)| *slot = byte);
                self.s1_digest = Some(digest::imprint(&mut self.s1, layout, Signer::Server));
                (
                    HandshakeMode::Digest(layout),
                    digest::sign_response(&self.s2_random, &c1_digest, Signer::Server),
                )
            }
            None => (HandshakeMode::Plain, packet::echo(c1, now_ms)),
        };

        let mut s0s1s2 = Vec::with_capacity(1 + 2 * PACKET_LEN);
        s0s1s2.push(RTMP_VERSION);
        s0s1s2.extend_from_slice(&self.s1[..]);
        s0s1s2.extend_from_slice(&s2);
        Ok((mode, Bytes::from(s0s1s2)))
    }

    fn response_valid(&self, c2: &[u8; PACKET_LEN]) -> bool {
        answers_packet(c2, &self.s1, self.s1_digest.as_ref(), Signer::Client)
    }

    fn requires_valid_response(&self) -> bool {
        self.config.require_valid_c2
    }
}
