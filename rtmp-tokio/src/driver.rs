//! The loop every connection runs: read into a buffer, feed the sans-IO connection, hand out its
//! events, write what it queued with vectored writes, and sleep until its next deadline.
//!
//! Everything lives in [`Driver`] and every step completes inside one `poll`, so a future that
//! polls it can be dropped at any await point without losing bytes or events (cancel safety).

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rtmp_proto::chunk::ChunkOutput;
use rtmp_proto::session::{Instant, SessionError};
use tokio::io::{AsyncRead, AsyncWrite, Interest};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::Error;

/// Room offered to the first read. Each read that fills all the room offered doubles it, up to
/// [`MAX_READ`]: a player's connection (acknowledgements, pings) keeps 2 KiB, a publisher's
/// grows to take a burst of media in one call.
const FIRST_READ: usize = 2 * 1024;
const MAX_READ: usize = 64 * 1024;
/// The least room worth a read into what is left of a buffer that cannot be taken back.
const MIN_READ_ROOM: usize = 16 * 1024;
/// Bytes copied per write for streams that cannot write vectored (TLS, for one).
const COALESCE: usize = 64 * 1024;
/// What is read is fed to the connection in steps of at most this many messages, each step
/// costing the task a unit of tokio's cooperative budget (128 units per wake-up), plus one per
/// [`BYTES_PER_UNIT`] it took, as each event handed out costs one: a wake-up handles at most
/// about 8,000 messages or 128 KiB, so a peer that floods us with tiny messages (a million in
/// 1 MiB) holds the thread for a slice of its flood, then the other connections run. A live
/// publisher rarely reaches either bound in one wake-up.
const MESSAGES_PER_STEP: usize = 64;
const BYTES_PER_UNIT: usize = 1024;
/// How long the last answers (a refused connect, a goodbye) may take to be written once the
/// connection has ended.
pub(crate) const LINGER: Duration = Duration::from_secs(5);

/// Maps the sans-IO crate's caller-given milliseconds onto tokio's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    pub(crate) fn start() -> Self {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        let millis = self.origin.elapsed().as_millis();
        Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    /// The tokio instant of `at`; the far future if it does not fit.
    pub(crate) fn deadline(&self, at: Instant) -> tokio::time::Instant {
        self.origin
            .checked_add(Duration::from_millis(at.as_millis()))
            .unwrap_or_else(far_future)
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365)
}

/// What the driver needs of a sans-IO connection, the same for both roles.
pub(crate) use rtmp_proto::session::adapter::Session as Connection;

/// How the byte stream ended, beside what the connection says.
#[derive(Debug, Default)]
enum Transport {
    #[default]
    Open,
    /// The peer closed its side (read returned 0).
    PeerClosed,
    /// A read or write failed.
    Failed(Error),
}

/// A write that answers at once whether the stream takes bytes, without a task context (a TCP
/// socket's `try_write_vectored`). Only for streams whose writes need no flush: bytes it took
/// are on their way.
pub(crate) type TryWrite<S> = fn(&S, &[IoSlice<'_>]) -> io::Result<usize>;

/// The [`TryWrite`] of a TCP socket: `sendmsg` (`MSG_NOSIGNAL`) rather than the `writev` of
/// `TcpStream::try_write_vectored`, which reaches the socket through the file layer's generic
/// write path (`vfs_writev`) on every call. A relay writes each player once per frame:
/// side by side with `writev` in the fan-out bench (10 players, window 0, 16 rounds), 0.965
/// (0.901-1.022) of its CPU per delivered Gbit.
pub(crate) fn tcp_try_send(stream: &TcpStream, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    stream.try_io(Interest::WRITABLE, || {
        socket2::SockRef::from(stream).send_vectored(slices)
    })
}

/// The stream's [`TryWrite`], handed to the core to write what it sends at once when nothing
/// waits before it ([`ServerConnection::send_chunked_through`](rtmp_proto::session::ServerConnection::send_chunked_through)).
pub(crate) struct DirectWrite<'a, S> {
    stream: &'a S,
    try_write: Option<TryWrite<S>>,
}

impl<S> DirectWrite<'_, S> {
    /// Writes what the stream takes now of `bufs` (the core hands one or two); how many bytes
    /// that was. Nothing when the stream has no [`TryWrite`], would block, or failed: the bytes
    /// then wait in the output, whose polled write registers for writability or meets the
    /// failure again and reports it.
    #[inline]
    pub(crate) fn write(&mut self, bufs: &[&[u8]]) -> usize {
        let Some(try_write) = self.try_write else {
            return 0;
        };
        let mut slices = [IoSlice::new(&[]); 2];
        let count = bufs.len().min(slices.len());
        for (slot, buf) in slices.iter_mut().zip(bufs) {
            *slot = IoSlice::new(buf);
        }
        try_write(self.stream, slices.get(..count).unwrap_or_default()).unwrap_or(0)
    }
}

/// Owns a byte stream and a sans-IO connection and moves bytes between them.
pub(crate) struct Driver<S, C: Connection> {
    stream: S,
    /// Tried before the polled write: it skips the readiness and budget bookkeeping the poll
    /// makes around every write (a relay writes a player once per frame). `WouldBlock` falls
    /// back to the polled write, which registers the task for writability.
    try_write: Option<TryWrite<S>>,
    pub(crate) conn: C,
    pub(crate) clock: Clock,
    /// Empty between reads; its spare capacity is the room for the next one.
    read_buffer: BytesMut,
    /// What was read and not yet fed to the connection (see [`MESSAGES_PER_STEP`]).
    unread: Bytes,
    read_size: usize,
    pacing: Option<ReadPacing>,
    wakeup_hold: Option<WakeupHold>,
    timer: Pin<Box<Sleep>>,
    timer_at: Option<Instant>,
    /// The waker the armed timer was polled with since it was armed: polling it again with
    /// the same one only registers it again.
    timer_waker: Option<Waker>,
    vectored: bool,
    coalesced: Vec<u8>,
    needs_flush: bool,
    transport: Transport,
    closed_locally: bool,
    /// The connection's `Closed` event, held back until its last bytes are written.
    closing: Option<C::Event>,
    linger_until: Option<tokio::time::Instant>,
    /// While closing: the last bytes are written (or could not be) and the stream shut down.
    last_bytes_done: bool,
    /// While closing: reading what the peer still sends, until its end of stream or the
    /// core's [`CLOSE_LINGER`](rtmp_proto::session::adapter::CLOSE_LINGER).
    reading_to_eof: bool,
    /// Set once the `Closed` event was handed out: why the connection ended.
    ended: Option<Error>,
}

impl<S, C> Driver<S, C>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Connection,
{
    pub(crate) fn new(stream: S, conn: C, clock: Clock) -> Self {
        let vectored = stream.is_write_vectored();
        Driver {
            stream,
            try_write: None,
            conn,
            clock,
            read_buffer: BytesMut::new(),
            unread: Bytes::new(),
            read_size: FIRST_READ,
            pacing: None,
            wakeup_hold: None,
            timer: Box::pin(tokio::time::sleep_until(far_future())),
            timer_at: None,
            timer_waker: None,
            vectored,
            coalesced: Vec::new(),
            needs_flush: false,
            transport: Transport::Open,
            closed_locally: false,
            closing: None,
            linger_until: None,
            last_bytes_done: false,
            reading_to_eof: false,
            ended: None,
        }
    }

    /// Runs `f` with the connection and a [`DirectWrite`] to the stream (which takes nothing
    /// once the stream failed or the connection is closing: what is sent then waits for the
    /// task's own steps).
    #[inline]
    pub(crate) fn with_direct_write<R>(
        &mut self,
        f: impl FnOnce(&mut C, &mut DirectWrite<'_, S>) -> R,
    ) -> R {
        let open = matches!(self.transport, Transport::Open)
            && self.ended.is_none()
            && self.closing.is_none();
        let mut direct = DirectWrite {
            stream: &self.stream,
            try_write: self.try_write.filter(|_| open),
        };
        f(&mut self.conn, &mut direct)
    }

    /// Writes with `try_write` first (see [`TryWrite`]).
    pub(crate) fn set_try_write(&mut self, try_write: TryWrite<S>) {
        self.try_write = Some(try_write);
    }

    /// Why the connection ended, once its `Closed` event was handed out.
    pub(crate) fn ended(&self) -> Option<&Error> {
        self.ended.as_ref()
    }

    /// Ends the connection from our side; what it still has to say is written (for at most
    /// [`LINGER`]) before its `Closed` event comes out.
    pub(crate) fn close(&mut self) {
        self.closed_locally = true;
        self.conn.close();
    }

    /// Read pacing: once a read has taken everything the stream had, the next one waits
    /// `interval` (`None`: reads happen as soon as bytes arrive).
    pub(crate) fn set_read_interval(&mut self, interval: Option<Duration>) {
        if let Some(hold) = self.pacing.as_ref().and_then(|pacing| pacing.wakeup_hold) {
            hold.set_low_water(1);
        }
        let hold = self.wakeup_hold;
        self.pacing = interval
            .filter(|interval| !interval.is_zero())
            .map(|interval| ReadPacing::new(interval, hold));
    }

    /// How paced reads hold the stream's wake-ups back (a TCP stream's).
    pub(crate) fn set_wakeup_hold(&mut self, hold: WakeupHold) {
        self.wakeup_hold = Some(hold);
    }

    /// The byte stream, e.g. to read socket options.
    pub(crate) fn stream(&self) -> &S {
        &self.stream
    }

    /// The byte stream, mutably.
    pub(crate) fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The next event of the connection, driving the I/O until there is one. `None` once the
    /// `Closed` event was handed out.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<C::Event>> {
        loop {
            if self.ended.is_some() {
                return Poll::Ready(None);
            }
            if self.closing.is_none() {
                // Each event handed out spends a unit of the task's budget (tokio's
                // cooperative scheduling, as reads do): a peer that floods us with tiny
                // messages gets a slice of the thread, then the other tasks run.
                let budget = ready!(tokio::task::coop::poll_proceed(cx));
                if let Some(event) = self.conn.poll_event() {
                    budget.made_progress();
                    if C::closed_reason(&event).is_none() {
                        return Poll::Ready(Some(event));
                    }
                    self.closing = Some(event);
                    self.linger_until = Some(tokio::time::Instant::now() + LINGER);
                }
            }
            if self.closing.is_some() {
                return self.poll_finish(cx).map(Some);
            }
            // A publisher's connection mostly has nothing to write between two reads.
            let (wrote, write_result) = if self.needs_flush || !self.conn.transmit_settled() {
                self.poll_write(cx)
            } else {
                (false, Poll::Ready(Ok(())))
            };
            if let Poll::Ready(Err(error)) = write_result {
                self.fail(error);
                continue;
            }
            if wrote {
                continue;
            }
            if self.poll_timer(cx) {
                continue;
            }
            if self.poll_read(cx) {
                continue;
            }
            return Poll::Pending;
        }
    }

    /// Drives the I/O (reads, writes, timers) without taking events; `Ready` once everything
    /// queued is written or the connection has ended.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.ended.is_some() || self.closing.is_some() {
                return Poll::Ready(());
            }
            let (wrote, write_result) = self.poll_write(cx);
            match write_result {
                Poll::Ready(Err(error)) => {
                    self.fail(error);
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(())) => return Poll::Ready(()),
                Poll::Pending => {}
            }
            // Keep reading while the peer is slow to take our bytes: it may be waiting for an
            // acknowledgement, and pings must be answered.
            let progressed = self.poll_timer(cx) | self.poll_read(cx);
            if !wrote && !progressed {
                return Poll::Pending;
            }
        }
    }

    /// Writes what the connection has queued, without reading or taking events (another
    /// task's write on this connection's behalf, with this connection's waker in `cx`);
    /// whether this connection's task must look at it: a write failed, or it is closing.
    pub(crate) fn poll_push(&mut self, cx: &mut Context<'_>) -> bool {
        if self.ended.is_some() || self.closing.is_some() {
            return true;
        }
        if !self.needs_flush && self.conn.transmit_settled() {
            // Written already (a direct write), or nothing was sent.
            return false;
        }
        match self.poll_write(cx) {
            (_, Poll::Ready(Err(error))) => {
                self.fail(error);
                true
            }
            _ => false,
        }
    }

    /// Writes the last bytes (bounded by [`LINGER`]), shuts the stream down, then, for a
    /// connection closed on purpose, reads what the peer still sends until it closes its side
    /// (bounded by the core's [`CLOSE_LINGER`](rtmp_proto::session::adapter::CLOSE_LINGER),
    /// the std driver's bound too), and hands out the `Closed` event.
    #[cold]
    #[inline(never)]
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<C::Event> {
        if matches!(self.transport, Transport::Open) && !self.last_bytes_done {
            let mut shut = false;
            loop {
                let (wrote, write_result) = self.poll_write(cx);
                match write_result {
                    Poll::Ready(Ok(())) => {
                        shut = ready!(self.poll_shutdown_or_linger(cx));
                        break;
                    }
                    Poll::Ready(Err(error)) => {
                        self.transport = Transport::Failed(Error::from(error));
                        break;
                    }
                    Poll::Pending if wrote => continue,
                    Poll::Pending => {
                        if self.poll_linger(cx).is_pending() {
                            return Poll::Pending;
                        }
                        break;
                    }
                }
            }
            self.last_bytes_done = true;
            let lingers = self
                .closing
                .as_ref()
                .and_then(C::closed_reason)
                .is_none_or(rtmp_proto::session::adapter::lingers_after);
            if shut && lingers && matches!(self.transport, Transport::Open) {
                self.reading_to_eof = true;
                self.linger_until =
                    Some(tokio::time::Instant::now() + rtmp_proto::session::adapter::CLOSE_LINGER);
            }
        }
        if self.reading_to_eof {
            ready!(self.poll_read_to_eof(cx));
            self.reading_to_eof = false;
        }
        let event = self
            .closing
            .take()
            .expect("poll_finish is only called while closing");
        let reason = C::closed_reason(&event)
            .cloned()
            .unwrap_or(SessionError::Closed);
        self.ended = Some(match (std::mem::take(&mut self.transport), reason) {
            (Transport::Failed(error), SessionError::Closed) if !self.closed_locally => error,
            (Transport::PeerClosed, SessionError::Closed) if !self.closed_locally => {
                Error::PeerClosed
            }
            (_, reason) => Error::from(reason),
        });
        Poll::Ready(event)
    }

    /// Shuts the stream down, bounded by the linger deadline: whether it did.
    fn poll_shutdown_or_linger(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if let Poll::Ready(result) = Pin::new(&mut self.stream).poll_shutdown(cx) {
            return Poll::Ready(result.is_ok());
        }
        self.poll_linger(cx).map(|()| false)
    }

    /// Reads and drops what the peer sends until it closes its side, a read fails or the
    /// linger deadline passes.
    fn poll_read_to_eof(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut scratch = [0u8; 4096];
        loop {
            if self
                .linger_until
                .is_some_and(|until| tokio::time::Instant::now() >= until)
            {
                return Poll::Ready(());
            }
            let mut buffer = tokio::io::ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.stream).poll_read(cx, &mut buffer) {
                Poll::Ready(Ok(())) if buffer.filled().is_empty() => return Poll::Ready(()),
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => return self.poll_linger(cx),
            }
        }
    }

    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let until = *self
            .linger_until
            .get_or_insert_with(|| tokio::time::Instant::now() + LINGER);
        if self.timer.deadline() != until {
            self.timer.as_mut().reset(until);
            self.timer_at = None;
            self.timer_waker = None;
        }
        self.timer.as_mut().poll(cx)
    }

    /// A read or write failed: the connection ends with that error.
    fn fail(&mut self, error: io::Error) {
        if matches!(self.transport, Transport::Open) {
            self.transport = Transport::Failed(Error::from(error));
        }
        self.conn.close();
    }

    /// Writes what the connection has queued until everything is written (`Ready(Ok)`), the
    /// stream is full (`Pending`) or a write fails; also says whether any byte was written.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> (bool, Poll<io::Result<()>>) {
        let mut wrote = false;
        if !matches!(self.transport, Transport::Open) {
            return (wrote, Poll::Ready(Ok(())));
        }
        let Driver {
            stream,
            try_write,
            conn,
            vectored,
            coalesced,
            needs_flush,
            ..
        } = self;
        while let Some(out) = conn.poll_transmit() {
            let tried = try_write.and_then(|try_write| {
                match out.with_io_slices(|slices| try_write(stream, slices)) {
                    Err(error)
                        if matches!(
                            error.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                        ) =>
                    {
                        None
                    }
                    result => Some(result),
                }
            });
            let result = match tried {
                Some(result) => Poll::Ready(result),
                None => poll_write_output(stream, out, *vectored, coalesced, cx),
            };
            match result {
                Poll::Ready(Ok(0)) => {
                    return (wrote, Poll::Ready(Err(io::ErrorKind::WriteZero.into())));
                }
                Poll::Ready(Ok(written)) => {
                    out.advance(written);
                    let empty = out.is_empty();
                    wrote = true;
                    *needs_flush = true;
                    if empty && conn.transmit_settled() {
                        break;
                    }
                }
                Poll::Ready(Err(error)) => return (wrote, Poll::Ready(Err(error))),
                Poll::Pending => return (wrote, Poll::Pending),
            }
        }
        if *needs_flush {
            match Pin::new(&mut *stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => *needs_flush = false,
                Poll::Ready(Err(error)) => return (wrote, Poll::Ready(Err(error))),
                Poll::Pending => return (wrote, Poll::Pending),
            }
        }
        (wrote, Poll::Ready(Ok(())))
    }

    /// Arms the timer for the connection's next deadline; runs `handle_timeout` if it passed.
    /// Returns whether the timer fired.
    ///
    /// Idle and ping deadlines move later with every input; re-arming tokio's timer for each
    /// would cost a timer-wheel update per read. The timer is re-armed only for an earlier
    /// deadline; one armed too early fires, finds nothing due and is armed again.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.conn.poll_timeout() else {
            return false;
        };
        if self.timer_at.is_none_or(|armed| armed > deadline) {
            self.timer.as_mut().reset(self.clock.deadline(deadline));
            self.timer_at = Some(deadline);
            self.timer_waker = None;
        }
        let registered = self
            .timer_waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()));
        if registered && !self.timer.is_elapsed() {
            return false;
        }
        if self.timer.as_mut().poll(cx).is_pending() {
            if !registered {
                self.timer_waker = Some(cx.waker().clone());
            }
            return false;
        }
        self.fire_timer(deadline);
        true
    }

    /// The timer armed for `deadline` fired: the connection handles its timeouts if that is
    /// due (apart from [`poll_timer`](Self::poll_timer), which runs at every step, as it
    /// hardly ever runs and is pages of code).
    #[cold]
    #[inline(never)]
    fn fire_timer(&mut self, deadline: Instant) {
        self.timer_at = None;
        self.timer_waker = None;
        let now = self.clock.now();
        if now >= deadline {
            self.conn.handle_timeout(now);
        }
    }

    /// Reads once if bytes are ready and feeds them to the connection, sharing the buffer with
    /// the media it holds (no copy). Returns whether anything happened.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.unread.is_empty() {
            return self.feed(cx);
        }
        if !matches!(self.transport, Transport::Open) {
            return false;
        }
        if let Some(pacing) = &mut self.pacing {
            if pacing.poll_paused(cx) {
                return false;
            }
        }
        // Takes back the buffer's memory once nothing read earlier is still in use (no
        // allocation per read). Otherwise (a publisher's media, held by the players' queues
        // and the join cache) it reads into what is left of the buffer while that is worth a
        // read, and only then starts a new one, which the media read into the old one keeps
        // alive: a buffer holds several reads, not one read each (fewer allocations and fresh
        // pages, less memory held by a cached GOP).
        if !self.read_buffer.try_reclaim(self.read_size)
            && self.read_buffer.capacity() < self.read_size.min(MIN_READ_ROOM)
        {
            self.read_buffer.reserve(self.read_size);
        }
        let room = self.read_buffer.capacity();
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.read_buffer) {
            Poll::Pending => false,
            Poll::Ready(Err(error)) => {
                self.fail(error);
                true
            }
            Poll::Ready(Ok(count)) => {
                if count == 0 {
                    self.transport = Transport::PeerClosed;
                    self.conn.close();
                    return true;
                }
                if count == room {
                    self.read_size = (self.read_size * 2).min(MAX_READ);
                }
                if let Some(pacing) = &mut self.pacing {
                    pacing.read(count, count < room);
                }
                self.unread = self.read_buffer.split().freeze();
                self.feed(cx);
                true
            }
        }
    }

    /// Feeds the connection one step of what was read, if the task's budget allows; returns
    /// whether it did.
    fn feed(&mut self, cx: &mut Context<'_>) -> bool {
        let Poll::Ready(progress) = tokio::task::coop::poll_proceed(cx) else {
            return false;
        };
        progress.made_progress();
        let before = self.unread.len();
        let now = self.clock.now();
        // An error is also reported as the connection's Closed event (and leaves nothing to
        // feed). An empty slice would still hold the read buffer: let go of it, so that the
        // next read takes the buffer back and reads into the same warm memory rather than a
        // fresh block every few reads.
        if self
            .conn
            .handle_input_some(now, &mut self.unread, MESSAGES_PER_STEP)
            .is_err()
            || self.unread.is_empty()
        {
            self.unread = Bytes::new();
        }
        spend_budget(cx, (before - self.unread.len()) / BYTES_PER_UNIT);
        true
    }
}

/// Writes what `out` holds with the stream's polled write: for a stream that has no write
/// that answers at once (TLS, QUIC, a pipe), or whose socket was full. Apart from
/// [`Driver::poll_write`], whose every call (a relay's, per player and frame) would otherwise
/// carry this path's stack and registers.
#[cold]
#[inline(never)]
fn poll_write_output<S: AsyncWrite + Unpin>(
    stream: &mut S,
    out: &ChunkOutput,
    vectored: bool,
    coalesced: &mut Vec<u8>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    if let Some(bytes) = out.single_segment() {
        // One buffer (chunks shared by a relay's players): a plain write.
        Pin::new(stream).poll_write(cx, bytes)
    } else if vectored {
        out.with_io_slices(|slices| Pin::new(stream).poll_write_vectored(cx, slices))
    } else {
        coalesced.clear();
        for segment in out.segments() {
            let room = COALESCE.saturating_sub(coalesced.len());
            if room == 0 {
                break;
            }
            coalesced.extend_from_slice(&segment[..segment.len().min(room)]);
        }
        Pin::new(stream).poll_write(cx, coalesced)
    }
}

/// Spends `units` of the task's cooperative budget; once it is spent, tokio's resources (and
/// this driver) return `Pending` until the task has yielded, and the task is woken again.
fn spend_budget(cx: &mut Context<'_>, units: usize) {
    for _ in 0..units {
        match tokio::task::coop::poll_proceed(cx) {
            Poll::Ready(progress) => progress.made_progress(),
            Poll::Pending => break,
        }
    }
}

/// Bytes a paced connection should find waiting when it wakes, at most: a pause that lets
/// more pile up is halved, so that the peer's data always fits the transport's buffers (a
/// fast publisher is not slowed down by pacing).
const PACED_READ_BUDGET: usize = 64 * 1024;
const MIN_PAUSE: Duration = Duration::from_millis(1);

/// Keeps a TCP socket from waking its reader for every segment that arrives while reads are
/// paused: epoll would report each arrival (a publisher writes frame by frame), waking the
/// runtime for nothing. On Linux it sets the socket's `SO_RCVLOWAT` to what the peer sends in
/// a pause, so that the kernel itself ends the pause; lowering it to 1 signals whatever
/// arrived. The kernel still wakes the reader when its receive window shrinks to one segment
/// or memory runs short, so the peer never stalls for it. Elsewhere it does nothing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WakeupHold {
    #[cfg(target_os = "linux")]
    fd: std::os::fd::RawFd,
}

impl WakeupHold {
    /// For `stream`, which must outlive the hold's use: the driver owning both ensures it.
    pub(crate) fn for_tcp(stream: &tokio::net::TcpStream) -> Self {
        #[cfg(target_os = "linux")]
        {
            WakeupHold {
                fd: std::os::fd::AsRawFd::as_raw_fd(stream),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = stream;
            WakeupHold {}
        }
    }

    /// Wakes the reader once `bytes` are waiting (1: as soon as any are).
    fn set_low_water(&self, bytes: usize) {
        #[cfg(target_os = "linux")]
        {
            let low_water = libc::c_int::try_from(bytes.max(1)).unwrap_or(libc::c_int::MAX);
            // SAFETY: `fd` is the socket of the stream the same driver owns, open for as long
            // as the driver lives; the option value is a c_int of the length given. A failure
            // only leaves the wake-ups as they were.
            let _ = unsafe {
                libc::setsockopt(
                    self.fd,
                    libc::SOL_SOCKET,
                    libc::SO_RCVLOWAT,
                    (&low_water as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
        }
        #[cfg(not(target_os = "linux"))]
        let _ = bytes;
    }
}

/// The bytes a peer that sent `bytes` in `since` sends in `interval`, at most
/// [`PACED_READ_BUDGET`], at least 1.
fn low_water(bytes: usize, since: Duration, interval: Duration) -> usize {
    let since = since.max(MIN_PAUSE).as_secs_f64();
    let per_interval = bytes as f64 * interval.as_secs_f64() / since;
    (per_interval as usize).clamp(1, PACED_READ_BUDGET)
}

/// Read pacing: once a read has drained the stream, the next waits a pause. With a
/// [`WakeupHold`], the kernel ends the pause once the bytes the peer sends in `interval` have
/// come, and the timer only releases the hold after twice that (a peer that went quiet);
/// otherwise the timer ends it.
struct ReadPacing {
    /// The longest pause, as configured.
    interval: Duration,
    /// The current pause, adapted to the peer's rate (without a hold).
    pause: Duration,
    /// Bytes read since the last pause ended (with a hold: since the last one began).
    since_pause: usize,
    /// When the last pause began (with a hold).
    paused_at: tokio::time::Instant,
    resume_at: Option<tokio::time::Instant>,
    timer: Pin<Box<Sleep>>,
    wakeup_hold: Option<WakeupHold>,
}

impl ReadPacing {
    fn new(interval: Duration, wakeup_hold: Option<WakeupHold>) -> Self {
        ReadPacing {
            interval,
            pause: interval,
            since_pause: 0,
            paused_at: tokio::time::Instant::now(),
            resume_at: None,
            timer: Box::pin(tokio::time::sleep(interval)),
            wakeup_hold,
        }
    }

    /// Whether reads must still wait.
    fn poll_paused(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(resume_at) = self.resume_at else {
            return false;
        };
        if self.timer.deadline() != resume_at {
            self.timer.as_mut().reset(resume_at);
        }
        if self.timer.as_mut().poll(cx).is_pending() {
            // With a hold, reads wait for the kernel's signal, not for the timer.
            return self.wakeup_hold.is_none();
        }
        self.resume_at = None;
        match &self.wakeup_hold {
            Some(hold) => hold.set_low_water(1),
            None => self.since_pause = 0,
        }
        false
    }

    /// `count` bytes were read; `drained` if the read did not fill the room offered.
    fn read(&mut self, count: usize, drained: bool) {
        self.since_pause += count;
        if !drained {
            return;
        }
        let now = tokio::time::Instant::now();
        if let Some(hold) = &self.wakeup_hold {
            let since = now.duration_since(self.paused_at);
            hold.set_low_water(low_water(self.since_pause, since, self.interval));
            self.paused_at = now;
            self.since_pause = 0;
            self.resume_at = Some(now + 2 * self.interval);
            return;
        }
        if self.since_pause > PACED_READ_BUDGET {
            self.pause = (self.pause / 2).max(MIN_PAUSE);
        } else if self.since_pause < PACED_READ_BUDGET / 4 {
            self.pause = (self.pause * 2).min(self.interval);
        }
        self.resume_at = Some(now + self.pause);
    }
}

impl<S, C> Driver<S, C>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Connection,
{
    /// The next event (see [`poll_event`](Self::poll_event)); cancel-safe.
    #[cfg(test)]
    pub(crate) async fn next_event(&mut self) -> Option<C::Event> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Writes everything queued (see [`poll_flush`](Self::poll_flush)); cancel-safe.
    pub(crate) async fn flush(&mut self) {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection we close on purpose while the peer's bytes wait unread: the driver shuts
    /// its side, reads to the peer's end of stream and only then drops the socket (which,
    /// holding unread bytes, would reset the connection and could destroy our last messages
    /// in flight). Loopback TCP, bounded in time.
    #[tokio::test]
    async fn a_connection_closed_on_purpose_reads_to_the_peers_end_before_dropping_the_socket() {
        use rtmp_proto::session::server::{ServerConnection, ServerConnectionConfig, ServerEvent};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        tokio::time::timeout(Duration::from_secs(10), async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut peer = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (ours, _) = listener.accept().await.unwrap();
            // Unread by us when we close: dropping a socket that holds them resets it.
            peer.write_all(&[0x55; 64 * 1024]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            let clock = Clock::start();
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
            let conn =
                ServerConnection::new(ServerConnectionConfig::default(), &mut rng, clock.now());
            let mut driver = Driver::new(ours, conn, clock);
            driver.close();
            let closing = tokio::spawn(async move {
                let started = tokio::time::Instant::now();
                let event = driver.next_event().await;
                (event, started.elapsed(), driver)
            });
            // The peer reads our end of stream, then takes its time to close its side.
            let mut rest = Vec::new();
            let read = peer.read_to_end(&mut rest).await;
            assert!(read.is_ok(), "an orderly end, not {read:?}");
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(peer);
            let (event, took, driver) = closing.await.unwrap();
            assert!(
                took >= Duration::from_millis(300),
                "waited for the peer: {took:?}"
            );
            assert!(
                matches!(event, Some(ServerEvent::Closed(SessionError::Closed))),
                "{event:?}"
            );
            assert!(
                took < rtmp_proto::session::adapter::CLOSE_LINGER,
                "{took:?}"
            );
            assert!(matches!(driver.ended(), Some(Error::Closed)));
        })
        .await
        .expect("bounded in time");
    }

    /// A peer that never closes its side holds the socket no longer than the core's bound.
    #[tokio::test]
    async fn lingering_on_a_silent_peer_ends_at_the_cores_bound() {
        use rtmp_proto::session::server::{ServerConnection, ServerConnectionConfig, ServerEvent};
        let (ours, _peer) = tokio::io::duplex(1024);
        let clock = Clock::start();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let conn = ServerConnection::new(ServerConnectionConfig::default(), &mut rng, clock.now());
        let mut driver = Driver::new(ours, conn, clock);
        driver.close();
        let started = tokio::time::Instant::now();
        let event = driver.next_event().await;
        assert!(
            matches!(event, Some(ServerEvent::Closed(SessionError::Closed))),
            "{event:?}"
        );
        let (took, bound) = (
            started.elapsed(),
            rtmp_proto::session::adapter::CLOSE_LINGER,
        );
        assert!(
            took >= bound && took < bound + Duration::from_secs(1),
            "{took:?}"
        );
    }

    /// A read fed to the connection whole leaves nothing holding its buffer, so the next read
    /// takes the same memory back instead of a new block.
    #[tokio::test]
    async fn a_read_fed_whole_gives_its_buffer_back_for_the_next_read() {
        use rtmp_proto::session::server::{ServerConnection, ServerConnectionConfig};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (ours, mut peer) = tokio::io::duplex(8 * 1024);
        let clock = Clock::start();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let conn = ServerConnection::new(ServerConnectionConfig::default(), &mut rng, clock.now());
        let mut driver = Driver::new(ours, conn, clock);
        // C0 and C1 (RTMP 1.0 §5.2.2, §5.2.3): the handshake takes all of it.
        let mut c0c1 = vec![3u8];
        c0c1.extend((0..1536u32).map(|i| i as u8));
        peer.write_all(&c0c1).await.unwrap();
        let read = std::future::poll_fn(|cx| Poll::Ready(driver.poll_read(cx))).await;
        assert!(read);
        std::future::poll_fn(|cx| driver.poll_flush(cx)).await;
        let mut s0s1s2 = vec![0; 1 + 2 * 1536];
        peer.read_exact(&mut s0s1s2).await.unwrap();
        // C2 echoes S1; then a message past the handshake (Set Chunk Size, §5.4.1).
        let mut c2 = s0s1s2[1..1537].to_vec();
        c2.extend([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0]);
        peer.write_all(&c2).await.unwrap();
        let read = std::future::poll_fn(|cx| Poll::Ready(driver.poll_read(cx))).await;
        assert!(read);
        assert!(driver.unread.is_empty(), "the connection took it all");
        assert!(
            driver.read_buffer.try_reclaim(FIRST_READ),
            "nothing holds the buffer read into"
        );
    }

    #[tokio::test]
    async fn read_pacing_shortens_its_pause_for_a_fast_peer_and_lengthens_it_back() {
        let interval = Duration::from_millis(100);
        let mut pacing = ReadPacing::new(interval, None);
        // Not drained: the next read goes at once.
        pacing.read(MAX_READ, false);
        assert_eq!(pacing.resume_at, None);
        // More than the budget piled up during the pause: halve it.
        pacing.read(PACED_READ_BUDGET, true);
        assert_eq!(pacing.pause, interval / 2);
        assert!(pacing.resume_at.is_some());
        pacing.since_pause = 0;
        pacing.read(3 * PACED_READ_BUDGET / 4, true);
        assert_eq!(pacing.pause, interval / 2, "within the budget: kept");
        for _ in 0..20 {
            pacing.since_pause = 0;
            pacing.read(10 * PACED_READ_BUDGET, true);
        }
        assert_eq!(pacing.pause, MIN_PAUSE);
        for _ in 0..20 {
            pacing.since_pause = 0;
            pacing.read(100, true);
        }
        assert_eq!(pacing.pause, interval, "a slow peer: back to the interval");
    }

    /// The TCP `TryWrite` sends both slices in order, never waits, answers `WouldBlock` on a
    /// full socket, and writes again once the peer has read. Loopback TCP, bounded in time.
    #[tokio::test]
    async fn the_tcp_try_send_writes_in_order_and_answers_would_block_when_full() {
        use tokio::io::AsyncReadExt;
        tokio::time::timeout(Duration::from_secs(10), async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let writer = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (mut reader, _) = listener.accept().await.unwrap();
            writer.writable().await.unwrap();
            let sent = tcp_try_send(&writer, &[IoSlice::new(b"head"), IoSlice::new(b"body")]);
            assert_eq!(sent.unwrap(), 8);
            let mut received = [0; 8];
            reader.read_exact(&mut received).await.unwrap();
            assert_eq!(&received, b"headbody");

            let chunk = vec![7u8; 64 * 1024];
            let mut queued = 0;
            let full = loop {
                match tcp_try_send(&writer, &[IoSlice::new(&chunk)]) {
                    Ok(n) => queued += n,
                    Err(error) => break error,
                }
                assert!(queued < 256 * 1024 * 1024, "the socket never filled");
            };
            assert_eq!(full.kind(), io::ErrorKind::WouldBlock);
            let drain = async {
                let mut buffer = vec![0; 64 * 1024];
                let mut drained = 0;
                while drained < queued {
                    drained += reader.read(&mut buffer).await.unwrap();
                }
            };
            let (_, writable) = tokio::join!(drain, writer.writable());
            writable.unwrap();
            assert!(tcp_try_send(&writer, &[IoSlice::new(b"more")]).unwrap() > 0);
        })
        .await
        .expect("bounded");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_held_tcp_socket_does_not_wake_its_reader_until_released() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut writer = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut reader, _) = listener.accept().await.unwrap();
        // A connection that has carried a stream for a while: its receive window has grown
        // past one segment (below that, the kernel wakes the reader whatever the low-water
        // mark, lest the sender stall).
        let streamed = 16 * 1024 * 1024;
        let sending = tokio::spawn(async move {
            writer.write_all(&vec![1; streamed]).await.unwrap();
            writer
        });
        let mut received = vec![0; streamed];
        reader.read_exact(&mut received).await.unwrap();
        let mut writer = sending.await.unwrap();
        // Drained, as tokio sees it too.
        let mut buffer = [0; 200];
        assert_eq!(
            reader.try_read(&mut buffer).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );

        let hold = WakeupHold::for_tcp(&reader);
        hold.set_low_water(PACED_READ_BUDGET);
        writer.write_all(&[7; 100]).await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(200), reader.readable()).await;
        assert!(waiting.is_err(), "100 bytes woke a reader held to 64 KiB");
        hold.set_low_water(1);
        tokio::time::timeout(Duration::from_secs(5), reader.readable())
            .await
            .expect("released: the bytes that came meanwhile wake the reader")
            .unwrap();
        assert_eq!(reader.try_read(&mut buffer).unwrap(), 100);
    }

    #[test]
    fn the_low_water_mark_is_what_the_peer_sends_in_the_interval() {
        let interval = Duration::from_millis(100);
        // 3.3 Mbit/s: 41 KB per 100 ms.
        let ms = Duration::from_millis;
        assert_eq!(low_water(41_250, ms(100), interval), 41_250);
        assert_eq!(low_water(20_000, ms(200), interval), 10_000);
        assert_eq!(low_water(1_000_000, ms(100), interval), PACED_READ_BUDGET);
        assert_eq!(low_water(0, ms(300), interval), 1);
        assert_eq!(
            low_water(500, Duration::ZERO, interval),
            50_000,
            "at least 1 ms"
        );
    }

    #[tokio::test]
    async fn a_paced_read_waits_for_the_pause() {
        let mut pacing = ReadPacing::new(Duration::from_millis(50), None);
        pacing.read(10, true);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(pacing.poll_paused(&mut cx));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!pacing.poll_paused(&mut cx));
        assert_eq!(pacing.since_pause, 0);
    }
}
