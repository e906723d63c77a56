//! The loop every connection runs on its thread: write what the connection queued (vectored),
//! block in a read bounded by the connection's next deadline, feed what was read a step at a
//! time, and hand out the events.

use std::io;
use std::time::{Duration, Instant as StdInstant};

use bytes::{Bytes, BytesMut};
use rtmp_proto::session::{Instant, SessionError};

use crate::{Error, Transport};

/// Bytes read per call; a read buffer is replaced once less than [`MIN_READ`] of it is left.
const READ_BUFFER: usize = 64 * 1024;
const MIN_READ: usize = 4 * 1024;
/// What is read is fed to the connection in steps of at most this many messages, each step's
/// events handed out before the next step is fed (as the tokio driver does).
///
/// This driver does not need the tokio driver's other bound, a limit on the work per wake-up
/// after which it yields: each connection has a thread of its own, preempted by the kernel, so
/// a peer's burst holds up only its own thread, and the relay takes the shared hub's lock per
/// event, not per read, so other threads get it between two events. What the steps bound is
/// memory: fed whole, one 64 KiB read of two-byte video messages would become 32,000 events
/// waiting in the connection before the first is handed out; fed in steps, at most 64 wait.
const MESSAGES_PER_STEP: usize = 64;
/// How long a connection that ended waits for the peer to close its side (the core's bound).
const LINGER: Duration = rtmp_proto::session::adapter::CLOSE_LINGER;
/// The shortest read timeout set: zero would mean "no timeout" to `TcpStream`.
const MIN_READ_TIMEOUT: Duration = Duration::from_millis(1);

/// Maps the sans-IO crate's caller-given milliseconds onto the monotonic clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    origin: StdInstant,
}

impl Clock {
    pub(crate) fn start() -> Self {
        Clock {
            origin: StdInstant::now(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        let millis = self.origin.elapsed().as_millis();
        Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }
}

/// What the driver needs of a sans-IO connection, the same for both roles.
pub(crate) use rtmp_proto::session::adapter::Session as Connection;

/// How the byte stream stands, beside what the connection says.
#[derive(Debug, Default)]
enum Link {
    #[default]
    Open,
    /// The peer closed its side (a read returned 0).
    PeerClosed,
    /// A read or write failed.
    Failed(Error),
}

/// Owns a byte stream and a sans-IO connection and moves bytes between them, on the calling
/// thread.
pub(crate) struct Driver<S, C: Connection> {
    stream: S,
    pub(crate) conn: C,
    pub(crate) clock: Clock,
    read_buffer: BytesMut,
    /// Read and not yet fed to the connection; fed a step at a time before the next read.
    unread: Bytes,
    /// The read timeout the stream has, if we set one.
    read_timeout: Option<Option<Duration>>,
    link: Link,
    closed_locally: bool,
    /// Set once the `Closed` event was handed out: why the connection ended.
    ended: Option<Error>,
}

impl<S: Transport, C: Connection> Driver<S, C> {
    pub(crate) fn new(stream: S, conn: C, clock: Clock) -> Self {
        Driver {
            stream,
            conn,
            clock,
            read_buffer: BytesMut::new(),
            unread: Bytes::new(),
            read_timeout: None,
            link: Link::Open,
            closed_locally: false,
            ended: None,
        }
    }

    /// Why the connection ended, once its `Closed` event was handed out.
    pub(crate) fn ended(&self) -> Option<&Error> {
        self.ended.as_ref()
    }

    /// Ends the connection from our side; what it still has to say is written before its
    /// `Closed` event comes out.
    pub(crate) fn close(&mut self) {
        self.closed_locally = true;
        self.conn.close();
    }

    pub(crate) fn stream(&self) -> &S {
        &self.stream
    }

    pub(crate) fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The next event of the connection, driving the I/O until there is one: `Ok(None)` if
    /// `until` passes first, `Err` (why it ended) once the `Closed` event was handed out.
    pub(crate) fn next_event(
        &mut self,
        until: Option<StdInstant>,
    ) -> Result<Option<C::Event>, Error> {
        loop {
            if let Some(reason) = &self.ended {
                return Err(reason.clone());
            }
            if let Some(event) = self.conn.poll_event() {
                if let Some(reason) = C::closed_reason(&event) {
                    let reason = reason.clone();
                    self.finish(reason);
                }
                return Ok(Some(event));
            }
            if !matches!(self.link, Link::Open) {
                // The connection was closed when the link failed, so its Closed event is due;
                // this only guards against a connection that breaks that promise.
                self.finish(SessionError::Closed);
                continue;
            }
            if let Err(error) = self.write_queued() {
                self.fail(error);
                continue;
            }
            if !self.unread.is_empty() {
                self.feed_step();
                continue;
            }
            let now = self.clock.now();
            let deadline = self.conn.poll_timeout();
            if deadline.is_some_and(|deadline| deadline <= now) {
                self.conn.handle_timeout(now);
                continue;
            }
            let std_now = StdInstant::now();
            if until.is_some_and(|until| until <= std_now) {
                return Ok(None);
            }
            let to_deadline = deadline.map(|deadline| deadline.saturating_duration_since(now));
            let to_until = until.map(|until| until.saturating_duration_since(std_now));
            let wait = to_deadline.into_iter().chain(to_until).min();
            self.read_once(wait);
        }
    }

    /// Writes everything the connection has queued. A failed write ends the connection (its
    /// `Closed` event follows) and is returned.
    pub(crate) fn flush(&mut self) -> Result<(), Error> {
        if let Some(reason) = &self.ended {
            return Err(reason.clone());
        }
        match &self.link {
            Link::Open => {}
            Link::PeerClosed => return Err(Error::PeerClosed),
            Link::Failed(error) => return Err(error.clone()),
        }
        self.write_queued().map_err(|error| {
            self.fail(error);
            match &self.link {
                Link::Failed(error) => error.clone(),
                _ => Error::Closed,
            }
        })
    }

    /// Writes the last bytes, says goodbye to the stream and records why the connection ended.
    fn finish(&mut self, reason: SessionError) {
        if matches!(self.link, Link::Open) {
            match self.write_queued() {
                // Only a connection closed on purpose (by us, or refusing the peer) may have
                // a last answer in flight; one that timed out or failed has nothing to say.
                Ok(()) => {
                    if self.stream.shutdown_write().is_ok()
                        && rtmp_proto::session::adapter::lingers_after(&reason)
                    {
                        self.linger();
                    }
                }
                Err(error) => self.link = Link::Failed(Error::from(error)),
            }
        }
        self.ended = Some(match (std::mem::take(&mut self.link), reason) {
            (Link::Failed(error), SessionError::Closed) if !self.closed_locally => error,
            (Link::PeerClosed, SessionError::Closed) if !self.closed_locally => Error::PeerClosed,
            (_, reason) => Error::from(reason),
        });
    }

    /// Reads and drops what the peer still sends until it closes its side, for at most
    /// [`LINGER`]: closing a TCP socket with unread bytes resets the connection, and the peer
    /// may lose our last answer with it.
    fn linger(&mut self) {
        let until = StdInstant::now() + LINGER;
        let mut scratch = [0u8; 4096];
        loop {
            let left = until.saturating_duration_since(StdInstant::now());
            if left.is_zero()
                || self
                    .apply_read_timeout(Some(left.max(MIN_READ_TIMEOUT)))
                    .is_err()
            {
                return;
            }
            match self.stream.read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    }

    /// A read or write failed: the connection ends with that error.
    fn fail(&mut self, error: io::Error) {
        if matches!(self.link, Link::Open) {
            self.link = Link::Failed(Error::from(error));
        }
        self.conn.close();
    }

    /// Writes what the connection has queued, one vectored write after another, until all of
    /// it is written or a write fails.
    fn write_queued(&mut self) -> io::Result<()> {
        let mut wrote = false;
        while let Some(out) = self.conn.poll_transmit() {
            let stream = &mut self.stream;
            match out.with_io_slices(|slices| stream.write_vectored(slices)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    out.advance(written);
                    let empty = out.is_empty();
                    wrote = true;
                    if empty && self.conn.transmit_settled() {
                        break;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        if wrote {
            self.stream.flush()?;
        }
        Ok(())
    }

    /// Reads once, blocking at most `wait` (`None`: until bytes come), and feeds the first step
    /// of what came to the connection, sharing the buffer with the media it holds (no copy);
    /// the rest is fed by [`next_event`](Self::next_event) before it reads again.
    fn read_once(&mut self, wait: Option<Duration>) {
        if let Err(error) = self.apply_read_timeout(wait.map(|wait| wait.max(MIN_READ_TIMEOUT))) {
            return self.fail(error);
        }
        if self.read_buffer.len() < MIN_READ {
            // Zeroed before reads, so they need no unsafe code. The buffer's memory is taken
            // back when nothing read into it is still in use (it is warm, and no allocation
            // is needed); otherwise a new one is started, and the old one lives on while the
            // media sliced from it does.
            let left = self.read_buffer.len();
            if self.read_buffer.try_reclaim(READ_BUFFER - left) {
                self.read_buffer.resize(READ_BUFFER, 0);
            } else {
                self.read_buffer = BytesMut::zeroed(READ_BUFFER);
            }
        }
        match self.stream.read(&mut self.read_buffer[..]) {
            Ok(0) => {
                self.link = Link::PeerClosed;
                self.conn.close();
            }
            Ok(count) => {
                self.unread = self.read_buffer.split_to(count).freeze();
                self.feed_step();
            }
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(error) => self.fail(error),
        }
    }

    /// Feeds the connection [`MESSAGES_PER_STEP`] messages of what was read, at most.
    fn feed_step(&mut self) {
        let now = self.clock.now();
        // An error is also reported as the connection's Closed event (and leaves nothing to
        // feed). An empty slice would still hold the read buffer, which could not be taken
        // back.
        if self
            .conn
            .handle_input_some(now, &mut self.unread, MESSAGES_PER_STEP)
            .is_err()
            || self.unread.is_empty()
        {
            self.unread = Bytes::new();
        }
    }

    /// Sets the read timeout, unless the one set is close enough: changing it is a system call,
    /// and a timeout up to twice shorter than wanted only wakes the loop early, which is
    /// harmless.
    fn apply_read_timeout(&mut self, wanted: Option<Duration>) -> io::Result<()> {
        let close_enough = match (self.read_timeout, wanted) {
            (Some(None), None) => true,
            (Some(Some(set)), Some(wanted)) => set <= wanted && set.saturating_mul(2) >= wanted,
            _ => false,
        };
        if !close_enough {
            self.stream.set_read_timeout(wanted)?;
            self.read_timeout = Some(wanted);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    use bytes::Bytes;
    use rtmp_proto::session::server::{ServerConnectionConfig, ServerEvent};
    use rtmp_proto::session::SessionError;

    use super::*;
    use crate::client::{Client, ClientOptions};
    use crate::server::ServerSession;

    /// A stream that takes at most 7 bytes per write, to exercise partial vectored writes,
    /// and counts how often its read timeout is set.
    struct Trickle {
        inner: UnixStream,
        timeouts_set: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.inner.read(buf)
        }
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.inner.write(&buf[..buf.len().min(7)])
        }

        fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            let first = bufs.iter().find(|buf| !buf.is_empty());
            self.write(first.map_or(&[][..], |buf| &buf[..]))
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Transport for Trickle {
        fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
            self.timeouts_set += 1;
            self.inner.set_read_timeout(timeout)
        }
    }

    #[test]
    fn a_read_timeout_becomes_handle_timeout() {
        let (ours, _silent_peer) = UnixStream::pair().unwrap();
        let mut config = ServerConnectionConfig::default();
        config.session.handshake_timeout = Duration::from_millis(100);
        let mut session = ServerSession::new(ours, config);
        let started = StdInstant::now();
        let event = session.next_event().unwrap();
        assert_eq!(event, ServerEvent::Closed(SessionError::HandshakeTimeout));
        assert!(started.elapsed() < Duration::from_secs(2));
        let reason = session.next_event().unwrap_err();
        assert_eq!(reason.to_string(), "handshake timed out");
    }

    #[test]
    fn a_stream_without_read_timeouts_still_serves() {
        let (client_end, server_end) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            let mut session = ServerSession::new(
                crate::Untimed(server_end),
                ServerConnectionConfig::default(),
            );
            while let Ok(event) = session.next_event() {
                if let ServerEvent::ConnectRequest(request) = event {
                    session.reject_connect(request.id, "untimed").unwrap();
                }
            }
        });
        let error = Client::connect_over(client_end, "rtmp://pair/live", ClientOptions::default())
            .err()
            .expect("refused");
        assert_eq!(
            error.to_string(),
            "connection rejected: NetConnection.Connect.Rejected: untimed"
        );
        server.join().unwrap();
    }

    #[test]
    fn partial_writes_deliver_every_byte_in_order() {
        let (client_end, server_end) = UnixStream::pair().unwrap();
        let frames: Vec<Bytes> = (0..6u8)
            .map(|index| Bytes::from(vec![0x17 + (index % 2) * 0x10; 9000 + usize::from(index)]))
            .collect();
        let server = std::thread::spawn(move || {
            let trickle = Trickle {
                inner: server_end,
                timeouts_set: 0,
            };
            let mut session = ServerSession::new(trickle, ServerConnectionConfig::default());
            let mut received = Vec::new();
            while let Ok(event) = session.next_event() {
                match event {
                    ServerEvent::ConnectRequest(request) => {
                        session.accept_connect(request.id).unwrap()
                    }
                    ServerEvent::PublishRequest(request) => {
                        session.accept_publish(request.id).unwrap()
                    }
                    ServerEvent::Video { payload, .. } => received.push(payload),
                    _ => {}
                }
            }
            (received, session.transport().timeouts_set)
        });
        let trickle = Trickle {
            inner: client_end,
            timeouts_set: 0,
        };
        let client = Client::connect_over(trickle, "rtmp://pair/live", ClientOptions::publisher())
            .expect("connect through 7-byte writes");
        let mut publisher = client.publish("trickle").expect("publish");
        for (index, frame) in frames.iter().enumerate() {
            let _ = publisher.send_video(index as u32, frame.clone()).unwrap();
        }
        publisher.close().unwrap();
        let (received, timeouts_set) = server.join().unwrap();
        assert_eq!(received, frames);
        // The server reads many times, but its deadline (the idle timeout) barely moves
        // between reads: the timeout is set a few times, not once per read.
        assert!(
            timeouts_set < 10,
            "the read timeout was set {timeouts_set} times"
        );
    }

    /// Bytes a peer sends in reads of at most `read_size` each.
    struct Scripted {
        input: std::collections::VecDeque<u8>,
        read_size: usize,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let count = buf.len().min(self.read_size).min(self.input.len());
            for (to, from) in buf.iter_mut().zip(self.input.drain(..count)) {
                *to = from;
            }
            Ok(count)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Transport for Scripted {
        fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> {
            Ok(())
        }
    }

    /// Reads fed whole leave nothing holding their buffer: once it runs low, the next read
    /// takes the same memory back rather than a new buffer.
    #[test]
    fn reads_fed_whole_take_their_buffer_back() {
        use rtmp_proto::session::server::ServerConnection;
        // C0, C1 and C2 (RTMP 1.0 §5.2), then Window Acknowledgement Size messages (§5.4.4).
        let handshake = 1 + 2 * 1536;
        let mut input = vec![3u8];
        input.resize(handshake, 0);
        for _ in 0..20_000 {
            input.extend([0x02, 0, 0, 0, 0, 0, 4, 5, 0, 0, 0, 0, 0, 0x26, 0x25, 0xA0]);
        }
        let stream = Scripted {
            input: input.into(),
            read_size: 16_000,
        };
        let clock = Clock::start();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let conn = ServerConnection::new(ServerConnectionConfig::default(), &mut rng, clock.now());
        let mut driver = Driver::new(stream, conn, clock);
        // Where the buffer a read went into starts: each read takes its front.
        let buffer_start = |driver: &Driver<Scripted, ServerConnection>| {
            driver.read_buffer.as_ptr() as usize - (READ_BUFFER - driver.read_buffer.len())
        };
        driver.read_once(None);
        let first = buffer_start(&driver);
        let mut reads = 1;
        while !driver.stream.input.is_empty() {
            while !driver.unread.is_empty() {
                driver.feed_step();
                while driver.conn.poll_event().is_some() {}
            }
            driver.read_once(None);
            reads += 1;
            assert_eq!(
                buffer_start(&driver),
                first,
                "read {reads} took a new buffer"
            );
        }
        assert!(reads > 2 * READ_BUFFER / 16_000, "{reads} reads");
    }
}
