//! The order of the handshake, common to both roles (RTMP 1.0 §5.2.1): the peer's version byte,
//! its first packet (C1/S1), which we answer, then its second (C2/S2), which answers ours.

use alloc::collections::VecDeque;

use bytes::Bytes;

use super::packet::{self, PacketReader};
use super::{HandshakeError, HandshakeMode, PACKET_LEN};

/// What a role does with the peer's packets.
pub(crate) trait Role {
    /// Chooses the handshake from the peer's C1/S1 and returns the bytes that answer it.
    fn answer(
        &mut self,
        now_ms: u32,
        first: &[u8; PACKET_LEN],
    ) -> Result<(HandshakeMode, Bytes), HandshakeError>;

    /// Whether the peer's C2/S2 answers our C1/S1.
    fn response_valid(&self, second: &[u8; PACKET_LEN]) -> bool;

    /// Whether a C2/S2 that does not answer ours is an error.
    fn requires_valid_response(&self) -> bool;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    AwaitingVersion,
    AwaitingFirstPacket,
    AwaitingSecondPacket,
    Complete,
    Failed(HandshakeError),
}

/// What the handshake learned about the peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PeerRecord {
    pub(crate) version: Option<u8>,
    pub(crate) epoch: Option<u32>,
    pub(crate) version_bytes: Option<[u8; 4]>,
    pub(crate) mode: Option<HandshakeMode>,
    pub(crate) response_valid: Option<bool>,
}

/// Input parsing, output queue and outcome of one handshake.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    step: Step,
    reader: PacketReader,
    output: VecDeque<Bytes>,
    peer: PeerRecord,
}

impl Machine {
    /// A handshake that has sent `opening` (the client's C0+C1; nothing for a server).
    pub(crate) fn new(opening: Option<Bytes>) -> Self {
        Self {
            step: Step::AwaitingVersion,
            reader: PacketReader::new(),
            output: opening.into_iter().collect(),
            peer: PeerRecord::default(),
        }
    }

    /// Consumes the handshake's bytes from the front of `input`; see the public `handle_input`.
    pub(crate) fn handle_input(
        &mut self,
        role: &mut impl Role,
        now_ms: u32,
        input: &[u8],
    ) -> Result<usize, HandshakeError> {
        let mut consumed = 0;
        loop {
            let rest = input.get(consumed..).unwrap_or_default();
            let advanced = match &self.step {
                Step::Failed(error) => return Err(error.clone()),
                Step::Complete => return Ok(consumed),
                Step::AwaitingVersion => {
                    let Some(&version) = rest.first() else {
                        return Ok(consumed);
                    };
                    consumed += 1;
                    self.peer.version = Some(version);
                    packet::check_version(version).map(|()| Step::AwaitingFirstPacket)
                }
                Step::AwaitingFirstPacket => {
                    let Some(first) = self.reader.fill(rest, &mut consumed) else {
                        return Ok(consumed);
                    };
                    self.on_first_packet(role, now_ms, &first)
                        .map(|()| Step::AwaitingSecondPacket)
                }
                Step::AwaitingSecondPacket => {
                    let Some(second) = self.reader.fill(rest, &mut consumed) else {
                        return Ok(consumed);
                    };
                    self.on_second_packet(&*role, &second)
                        .map(|()| Step::Complete)
                }
            };
            match advanced {
                Ok(step) => self.step = step,
                Err(error) => {
                    self.step = Step::Failed(error.clone());
                    return Err(error);
                }
            }
        }
    }

    fn on_first_packet(
        &mut self,
        role: &mut impl Role,
        now_ms: u32,
        first: &[u8; PACKET_LEN],
    ) -> Result<(), HandshakeError> {
        self.peer.epoch = Some(packet::time(first));
        self.peer.version_bytes = Some(packet::version_bytes(first));
        let (mode, answer) = role.answer(now_ms, first)?;
        self.peer.mode = Some(mode);
        self.output.push_back(answer);
        Ok(())
    }

    fn on_second_packet(
        &mut self,
        role: &impl Role,
        second: &[u8; PACKET_LEN],
    ) -> Result<(), HandshakeError> {
        let valid = role.response_valid(second);
        self.peer.response_valid = Some(valid);
        if !valid && role.requires_valid_response() {
            return Err(HandshakeError::ResponseMismatch);
        }
        Ok(())
    }

    pub(crate) fn poll_output(&mut self) -> Option<Bytes> {
        self.output.pop_front()
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.step == Step::Complete
    }

    pub(crate) fn error(&self) -> Option<&HandshakeError> {
        match &self.step {
            Step::Failed(error) => Some(error),
            _ => None,
        }
    }

    pub(crate) fn peer(&self) -> &PeerRecord {
        &self.peer
    }
}
