//! Direct delivery: whoever hands a batch to a stream (its publisher's task, a pull) then
//! writes it to the stream's players itself, rather than waking each player's task to do so.
//!
//! With the merge window at zero a batch is a frame or two, and most of what a frame cost
//! per player was the player's task: woken, scheduled, its channel, timers and session polled,
//! around one write of a few hundred bytes. Now the players' connections live in
//! [`ConnectionCell`]s that the handing task locks, one after the other, to run the core's
//! [`RelayConnection::deliver`] and write the result with the player's own waker: a player's
//! task wakes only for what its peer sends, for a socket that was full (its waker is the one
//! the stream keeps), or for a verdict reached meanwhile (a player left behind).
//!
//! The batches go through the stream's [`Players`]: the last `capacity` batches sent, which a
//! receiver that fell further behind skips (the core then starts it again at a keyframe), as
//! a broadcast channel would. A pump hands each player the batch just sent by reference; only
//! a player that is behind (its task held its connection, or its socket was full) takes
//! batches from the ring, under its lock. Recordings and pushes await the ring. The writes
//! happen after the hub's lock is released (the hub is never held across another
//! connection's socket), and a player whose connection is locked by its own task at that
//! moment is woken instead: that task takes the batch.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};

use rtmp_proto::relay::{Batch, Fanout, Hub, RelayConnection, SharedHub, Verdict};
use rtmp_proto::session::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::Notify;

use crate::driver::Clock;
use crate::server::ServerSession;

/// Every lock here guards state that each change leaves consistent: a panic elsewhere that
/// poisoned one does not matter to the next user.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A batch handed to a stream under the hub's lock, for its players to be pumped with after.
struct DueBatch {
    players: Arc<Players>,
    /// The batch's number in its stream (see [`Players::sent`]).
    sequence: u64,
    batch: Batch,
}

/// The batches handed out under the hub's lock, pumped after it.
type Due = Arc<Mutex<Vec<DueBatch>>>;

/// The relay's hub and what its locking leaves to do: after each use, the players of every
/// stream that got a batch are pumped.
#[derive(Clone)]
pub(crate) struct TokioHub {
    hub: Arc<Mutex<Hub<DirectFanout>>>,
    due: Due,
    clock: Clock,
}

impl TokioHub {
    /// A hub whose streams' channels hold `capacity` batches.
    pub(crate) fn new(config: rtmp_proto::relay::HubConfig, capacity: usize, clock: Clock) -> Self {
        let due = Due::default();
        let for_streams = due.clone();
        let hub = Hub::new(config, move || DirectFanout {
            players: Arc::new(Players::new(capacity)),
            due: for_streams.clone(),
        });
        TokioHub {
            hub: Arc::new(Mutex::new(hub)),
            due,
            clock,
        }
    }

    /// Writes what was handed to the streams in `due` to their players.
    fn pump(&self, due: &[DueBatch]) {
        let now = self.clock.now();
        // The writes are the handing task's work for its players, not a share of its own
        // budget: with tokio's budget spent, a write would answer `Pending` and wake the
        // player's task, the cost this module exists to avoid.
        let all = std::future::poll_fn(|_| {
            for (index, handed) in due.iter().enumerate() {
                // Each stream once, with the last batch it was handed (a player takes the
                // earlier ones from the ring).
                let later = due.get(index + 1..).unwrap_or_default();
                if !later
                    .iter()
                    .any(|after| Arc::ptr_eq(&after.players, &handed.players))
                {
                    handed.players.pump(now, handed.sequence, &handed.batch);
                }
            }
            Poll::Ready(())
        });
        let all = pin!(tokio::task::coop::unconstrained(all));
        let _ = all.poll(&mut Context::from_waker(Waker::noop()));
    }
}

impl SharedHub for TokioHub {
    type Fanout = DirectFanout;

    fn with<R>(&self, f: impl FnOnce(&mut Hub<DirectFanout>) -> R) -> R {
        let result = f(&mut lock(&self.hub));
        let mut due = std::mem::take(&mut *lock(&self.due));
        if !due.is_empty() {
            self.pump(&due);
            due.clear();
            // The list's memory serves the next batch (no allocation per batch).
            let mut next = lock(&self.due);
            if next.is_empty() {
                *next = due;
            }
        }
        result
    }
}

/// A stream's channel: batches go to its [`Players`], which are pumped once the hub is
/// unlocked.
pub(crate) struct DirectFanout {
    players: Arc<Players>,
    due: Due,
}

impl Fanout for DirectFanout {
    type Receiver = PlayerReceiver;

    fn subscribe(&mut self) -> PlayerReceiver {
        let next = self.players.sent.load(Ordering::Acquire);
        let cursor = Arc::new(AtomicU64::new(next));
        lock(&self.players.cursors).push(cursor.clone());
        PlayerReceiver {
            next,
            cursor,
            players: self.players.clone(),
            registered: None,
        }
    }

    fn send(&mut self, batch: Batch) {
        let sequence = self.players.keep(batch.clone());
        // Pumped even with no player listed yet: one that registers meanwhile takes what it
        // missed itself, after registering (see `ConnectionCell::poll_step`).
        lock(&self.due).push(DueBatch {
            players: self.players.clone(),
            sequence,
            batch,
        });
    }
}

impl Drop for DirectFanout {
    /// The stream is gone: receivers take what is left, then hear that it closed.
    fn drop(&mut self) {
        lock(&self.players.ring).closed = true;
        self.players.arrived.notify_waiters();
    }
}

/// A receiver of a stream's batches; a player's connection registers with it to be pumped.
/// Recordings and pushes take batches with [`recv`](Self::recv) and
/// [`try_recv`](Self::try_recv), which answer as a tokio broadcast receiver's do.
pub(crate) struct PlayerReceiver {
    /// The number of the next batch this receiver takes: while it is the count sent, there is
    /// nothing to take (known without the ring's lock).
    next: u64,
    /// `next`, as the ring sees it when it drops what every receiver took.
    cursor: Arc<AtomicU64>,
    players: Arc<Players>,
    registered: Option<Weak<dyn Pump>>,
}

impl PlayerReceiver {
    /// Lists the connection `sink` gives, once, to be pumped with this stream's batches.
    fn register(&mut self, sink: impl FnOnce() -> Weak<dyn Pump>) {
        if self.registered.is_none() {
            let sink = sink();
            lock(&self.players.sinks).push(sink.clone());
            self.registered = Some(sink);
        }
    }

    /// Moves on to batch number `next`.
    #[inline]
    fn move_to(&mut self, next: u64) {
        self.next = next;
        self.cursor.store(next, Ordering::Relaxed);
    }

    /// Whether a batch was sent that this receiver has not taken (or skipped).
    #[inline]
    fn has_waiting(&self) -> bool {
        self.next != self.players.sent.load(Ordering::Acquire)
    }

    /// The next batch, if one was sent; `Lagged` with the number skipped if the ring no
    /// longer holds it (the receiver goes on from the oldest it holds).
    pub(crate) fn try_recv(&mut self) -> Result<Batch, TryRecvError> {
        let ring = lock(&self.players.ring);
        if self.next < ring.first {
            let skipped = ring.first - self.next;
            let first = ring.first;
            drop(ring);
            self.move_to(first);
            return Err(TryRecvError::Lagged(skipped));
        }
        let index = usize::try_from(self.next - ring.first).unwrap_or(usize::MAX);
        match ring.batches.get(index) {
            Some(batch) => {
                let batch = batch.clone();
                drop(ring);
                self.move_to(self.next + 1);
                Ok(batch)
            }
            None if ring.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Waits for the next batch, as [`try_recv`](Self::try_recv) takes it. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Result<Batch, RecvError> {
        let players = self.players.clone();
        // Counted before looking, for as long as it waits (however it ends): a send wakes the
        // receivers only while one is counted.
        let _waiting = Waiting::count(&players.waiting);
        loop {
            // Created before looking, so that a batch sent in between still wakes it.
            let arrived = players.arrived.notified();
            match self.try_recv() {
                Ok(batch) => return Ok(batch),
                Err(TryRecvError::Lagged(skipped)) => return Err(RecvError::Lagged(skipped)),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Empty) => arrived.await,
            }
        }
    }
}

impl Drop for PlayerReceiver {
    fn drop(&mut self) {
        if let Some(sink) = self.registered.take() {
            lock(&self.players.sinks).retain(|listed| !Weak::ptr_eq(listed, &sink));
        }
        lock(&self.players.cursors).retain(|listed| !Arc::ptr_eq(listed, &self.cursor));
    }
}

/// Every this many batches, the ring drops those every receiver has taken: it holds about
/// this many beyond what the receiver furthest behind still needs (a tokio broadcast channel
/// drops each as its last receiver takes it).
const RING_TRIM_LEN: usize = 16;

/// A receiver counted in [`Players::waiting`] while this lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The last batches sent to a stream, numbered from 0 in the order sent.
struct Ring {
    batches: VecDeque<Batch>,
    /// The number of `batches[0]`.
    first: u64,
    /// How many batches are kept ([`RelayConfig::fan_out_capacity`](crate::relay::RelayConfig::fan_out_capacity)).
    capacity: usize,
    /// The stream is gone: no more batches come.
    closed: bool,
    /// Past this many batches, those every receiver took go.
    trim_at: usize,
}

/// A stream's batches and the connections playing it.
pub(crate) struct Players {
    sinks: Mutex<Vec<Weak<dyn Pump>>>,
    ring: Mutex<Ring>,
    /// Where each receiver is (its next batch's number).
    cursors: Mutex<Vec<Arc<AtomicU64>>>,
    /// Wakes the receivers waiting in [`PlayerReceiver::recv`].
    arrived: Notify,
    /// How many receivers are in [`PlayerReceiver::recv`] (recordings and pushes; players are
    /// pumped instead).
    waiting: AtomicUsize,
    /// Batches sent to the stream, counted as they are sent (under the hub's lock, as
    /// receivers subscribe).
    sent: AtomicU64,
}

impl Players {
    fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Players {
            sinks: Mutex::default(),
            cursors: Mutex::default(),
            ring: Mutex::new(Ring {
                batches: VecDeque::with_capacity(capacity.min(64)),
                first: 0,
                capacity,
                closed: false,
                trim_at: RING_TRIM_LEN,
            }),
            arrived: Notify::new(),
            waiting: AtomicUsize::new(0),
            sent: AtomicU64::new(0),
        }
    }

    /// Keeps `batch` in the ring and returns its number. The oldest goes once the ring is
    /// full (receivers that had not taken it skip it), and past [`RING_TRIM_LEN`] batches those
    /// every receiver took.
    fn keep(&self, batch: Batch) -> u64 {
        let sequence = {
            let mut ring = lock(&self.ring);
            if ring.batches.len() >= ring.trim_at {
                let sent = ring.first + ring.batches.len() as u64;
                let needed = lock(&self.cursors)
                    .iter()
                    .map(|cursor| cursor.load(Ordering::Relaxed))
                    .min()
                    .unwrap_or(sent);
                let taken = usize::try_from(needed.saturating_sub(ring.first))
                    .unwrap_or(usize::MAX)
                    .min(ring.batches.len());
                ring.batches.drain(..taken);
                ring.first += taken as u64;
                // Looked at again only after as many more batches, however far behind the
                // furthest receiver stays: not a pass over every receiver per batch.
                ring.trim_at = ring.batches.len() + RING_TRIM_LEN;
            }
            if ring.batches.len() == ring.capacity {
                ring.first += 1;
                ring.batches.pop_front();
            }
            ring.batches.push_back(batch);
            let sequence = ring.first + ring.batches.len() as u64 - 1;
            self.sent.store(sequence + 1, Ordering::Release);
            sequence
        };
        // After the ring's lock: a receiver counted after this load looks at the ring after
        // the batch is in it.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.arrived.notify_waiters();
        }
        sequence
    }

    /// Pumps every listed connection, `batch` (number `sequence`) being the last sent.
    fn pump(&self, now: Instant, sequence: u64, batch: &Batch) {
        let mut all_taken = true;
        let mut listed = 0;
        lock(&self.sinks).retain(|sink| match sink.upgrade() {
            Some(sink) => {
                all_taken &= sink.pump(now, sequence, batch);
                listed += 1;
                true
            }
            None => false,
        });
        if all_taken {
            self.forget_through(sequence, listed);
        }
    }

    /// Drops the batches through number `sequence` if `listed` is every receiver there is
    /// (none waits unlisted: a recording, a push, a player not yet registered), all of which
    /// took them: as soon as a tokio broadcast channel would, so that the allocator gets
    /// each batch back while it is still warm.
    fn forget_through(&self, sequence: u64, listed: usize) {
        let mut ring = lock(&self.ring);
        if lock(&self.cursors).len() != listed {
            return;
        }
        // Mostly the one batch just sent: popped, not drained (a drain costs more for one).
        while ring.first <= sequence && ring.batches.pop_front().is_some() {
            ring.first += 1;
        }
    }
}

/// A connection that can be handed what its receiver holds by another task.
pub(crate) trait Pump: Send + Sync {
    /// Delivers the batches waiting and writes them, or wakes the connection's task to.
    /// Never blocks: a connection locked meanwhile is woken. `batch`, number `sequence`, is
    /// the last sent: a connection that took every batch before it is handed it as it is.
    /// Returns whether the connection has taken every batch through `sequence` (or holds no
    /// receiver any more).
    fn pump(&self, now: Instant, sequence: u64, batch: &Batch) -> bool;
}

/// A relay connection's session and its part in the hub, shared between its own task and
/// the tasks that pump it.
pub(crate) struct ConnectionCell<S> {
    state: Mutex<Option<Conn<S>>>,
    /// The connection's task, woken when a pump could not take the lock or left it work.
    task: Mutex<Option<Waker>>,
}

/// What a [`ConnectionCell`] holds.
pub(crate) struct Conn<S> {
    pub(crate) session: ServerSession<S>,
    pub(crate) relay: RelayConnection<TokioHub>,
    /// A verdict reached by a pump, for the connection's task to act on.
    verdict: Option<Verdict>,
    /// The task's waker, for the pumps' writes: a full socket wakes the task, which writes
    /// the rest.
    waker: Option<Waker>,
}

impl<S> Conn<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// Delivers every batch waiting in the receiver of the stream played, if any; `newest`,
    /// when given, is the last batch sent and its number, handed over without the ring.
    fn deliver_waiting(&mut self, now: Instant, newest: Option<(u64, &Batch)>) -> Verdict {
        loop {
            let Some(receiver) = self.relay.receiver_mut() else {
                return Verdict::Continue;
            };
            let taken;
            let batch = match newest {
                Some((sequence, batch)) if sequence == receiver.next => {
                    receiver.move_to(sequence + 1);
                    batch
                }
                _ if !receiver.has_waiting() => return Verdict::Continue,
                _ => match receiver.try_recv() {
                    Ok(batch) => {
                        taken = batch;
                        &taken
                    }
                    Err(TryRecvError::Lagged(_)) => {
                        self.relay.lagged();
                        continue;
                    }
                    Err(TryRecvError::Empty | TryRecvError::Closed) => return Verdict::Continue,
                },
            };
            let verdict = self.relay.deliver(self.session.connection(), batch, now);
            if verdict != Verdict::Continue {
                return verdict;
            }
        }
    }
}

impl<S> ConnectionCell<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    pub(crate) fn new(session: ServerSession<S>, relay: RelayConnection<TokioHub>) -> Arc<Self> {
        Arc::new(ConnectionCell {
            state: Mutex::new(Some(Conn {
                session,
                relay,
                verdict: None,
                waker: None,
            })),
            task: Mutex::new(None),
        })
    }

    /// Runs `f` on the connection, locked.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Conn<S>) -> R) -> R {
        let mut state = lock(&self.state);
        let conn = state
            .as_mut()
            .expect("the connection is taken only when its task ends");
        f(conn)
    }

    /// Takes the connection out, for its task's last steps; pumps find nothing after.
    pub(crate) fn take(&self) -> Conn<S> {
        lock(&self.state)
            .take()
            .expect("the connection is taken once, when its task ends")
    }

    /// The task's step: a pump's verdict, the batches waiting, or the session's next event,
    /// handed to the relay connection.
    pub(crate) fn poll_step(
        self: &Arc<Self>,
        cx: &mut Context<'_>,
        clock: &Clock,
    ) -> Poll<Verdict> {
        {
            let mut task = lock(&self.task);
            if !task
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
            {
                *task = Some(cx.waker().clone());
            }
        }
        let mut state = lock(&self.state);
        let Some(conn) = state.as_mut() else {
            return Poll::Pending;
        };
        if !conn
            .waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            conn.waker = Some(cx.waker().clone());
        }
        if let Some(verdict) = conn.verdict.take() {
            return Poll::Ready(verdict);
        }
        if let Some(receiver) = conn.relay.receiver_mut() {
            receiver.register(|| Arc::downgrade(self) as Weak<dyn Pump>);
            // After registering: what was sent before is taken here, what is sent after is
            // pumped.
            let verdict = conn.deliver_waiting(clock.now(), None);
            if verdict != Verdict::Continue {
                return Poll::Ready(verdict);
            }
        }
        let event = std::task::ready!(conn.session.poll_event_or_closed(cx));
        let now = clock.now();
        Poll::Ready(
            conn.relay
                .handle_event(conn.session.connection(), event, now),
        )
    }

    fn wake(&self) {
        if let Some(waker) = lock(&self.task).as_ref() {
            waker.wake_by_ref();
        }
    }
}

impl<S> Pump for ConnectionCell<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn pump(&self, now: Instant, sequence: u64, batch: &Batch) -> bool {
        let Ok(mut state) = self.state.try_lock() else {
            // Its task holds it (on another thread, or it is the task pumping): woken, the
            // task takes the batch itself.
            self.wake();
            return false;
        };
        let Some(conn) = state.as_mut() else {
            return true;
        };
        if conn.verdict.is_some() {
            return false;
        }
        let Some(waker) = conn.waker.take() else {
            drop(state);
            self.wake();
            return false;
        };
        let verdict = conn.deliver_waiting(now, Some((sequence, batch)));
        let taken = conn
            .relay
            .receiver_mut()
            .is_none_or(|receiver| receiver.next > sequence);
        let wake = if verdict != Verdict::Continue {
            conn.verdict = Some(verdict);
            true
        } else {
            conn.session.push_out(&mut Context::from_waker(&waker))
        };
        conn.waker = Some(waker);
        drop(state);
        if wake {
            self.wake();
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtmp_proto::relay::Item;
    use std::time::Duration;

    fn fanout(capacity: usize) -> DirectFanout {
        DirectFanout {
            players: Arc::new(Players::new(capacity)),
            due: Due::default(),
        }
    }

    fn batch(items: usize) -> Batch {
        (0..items).map(|_| Item::Published).collect()
    }

    /// The length of the batch `receiver` takes next, which tells the test's batches apart.
    fn taken(receiver: &mut PlayerReceiver) -> Result<usize, TryRecvError> {
        receiver.try_recv().map(|batch| batch.len())
    }

    #[test]
    fn a_receiver_takes_what_was_sent_after_it_subscribed_in_order() {
        let mut fanout = fanout(4);
        fanout.send(batch(1));
        let mut receiver = fanout.subscribe();
        assert!(!receiver.has_waiting());
        fanout.send(batch(2));
        fanout.send(batch(3));
        assert!(receiver.has_waiting());
        assert_eq!(taken(&mut receiver), Ok(2));
        assert_eq!(taken(&mut receiver), Ok(3));
        assert_eq!(taken(&mut receiver), Err(TryRecvError::Empty));
        // Each send is due to be pumped, with its number in the stream.
        let due = lock(&fanout.due);
        let numbers: Vec<u64> = due.iter().map(|handed| handed.sequence).collect();
        assert_eq!(numbers, [0, 1, 2]);
    }

    #[test]
    fn a_receiver_further_behind_than_the_ring_hears_how_many_it_skipped() {
        let mut fanout = fanout(2);
        let mut receiver = fanout.subscribe();
        for items in 1..=5 {
            fanout.send(batch(items));
        }
        assert_eq!(taken(&mut receiver), Err(TryRecvError::Lagged(3)));
        assert_eq!(taken(&mut receiver), Ok(4));
        assert_eq!(taken(&mut receiver), Ok(5));
        assert_eq!(taken(&mut receiver), Err(TryRecvError::Empty));
    }

    #[test]
    fn once_the_stream_is_gone_a_receiver_takes_the_rest_then_hears_it_closed() {
        let mut fanout = fanout(4);
        let mut receiver = fanout.subscribe();
        fanout.send(batch(1));
        drop(fanout);
        assert_eq!(taken(&mut receiver), Ok(1));
        assert_eq!(taken(&mut receiver), Err(TryRecvError::Closed));
    }

    #[test]
    fn the_ring_lets_go_of_what_every_receiver_took() {
        let mut fanout = fanout(1024);
        let mut player = fanout.subscribe();
        let mut recording = fanout.subscribe();
        let held = |fanout: &DirectFanout| lock(&fanout.players.ring).batches.len();
        for items in 0..100 {
            fanout.send(batch(items));
            assert_eq!(taken(&mut player), Ok(items));
        }
        // The recording took nothing: all is kept for it.
        assert_eq!(held(&fanout), 100);
        while recording.try_recv().is_ok() {}
        for items in 0..(2 * RING_TRIM_LEN) {
            fanout.send(batch(items));
            assert!(player.try_recv().is_ok() && recording.try_recv().is_ok());
        }
        assert!(held(&fanout) <= RING_TRIM_LEN, "{} kept", held(&fanout));
        // A receiver gone no longer holds anything back.
        drop(recording);
        let mut late = fanout.subscribe();
        for items in 0..(2 * RING_TRIM_LEN) {
            fanout.send(batch(items));
            assert!(player.try_recv().is_ok() && late.try_recv().is_ok());
        }
        assert!(held(&fanout) <= RING_TRIM_LEN, "{} kept", held(&fanout));
    }

    #[test]
    fn batches_every_listed_receiver_took_go_at_once_unless_another_receiver_waits() {
        let mut fanout = fanout(1024);
        let held = |fanout: &DirectFanout| lock(&fanout.players.ring).batches.len();
        let mut players = [fanout.subscribe(), fanout.subscribe()];
        for items in 0..3 {
            fanout.send(batch(items));
        }
        for player in &mut players {
            while player.try_recv().is_ok() {}
        }
        // A third receiver (a recording) is not among those pumped: nothing goes.
        let recording = fanout.subscribe();
        fanout.players.forget_through(2, players.len());
        assert_eq!(held(&fanout), 3);
        drop(recording);
        fanout.players.forget_through(1, players.len());
        assert_eq!(held(&fanout), 1);
        fanout.players.forget_through(2, players.len());
        assert_eq!(held(&fanout), 0);
        fanout.send(batch(4));
        assert_eq!(taken(&mut players[0]), Ok(4));
    }

    #[tokio::test]
    async fn recv_waits_for_the_next_batch_and_for_the_end() {
        let mut fanout = fanout(4);
        let mut receiver = fanout.subscribe();
        let waiting = tokio::spawn(async move {
            let first = receiver.recv().await.map(|b| b.len());
            let end = receiver.recv().await.map(|b| b.len());
            (first, end)
        });
        tokio::task::yield_now().await;
        fanout.send(batch(7));
        tokio::task::yield_now().await;
        drop(fanout);
        let (first, end) = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("recv returns")
            .expect("the task ends");
        assert_eq!(first, Ok(7));
        assert_eq!(end, Err(RecvError::Closed));
    }

    #[tokio::test]
    async fn a_recv_cancelled_while_waiting_loses_no_batch() {
        let mut fanout = fanout(4);
        let mut receiver = fanout.subscribe();
        let cancelled = tokio::time::timeout(Duration::from_millis(10), receiver.recv()).await;
        assert!(cancelled.is_err());
        assert_eq!(fanout.players.waiting.load(Ordering::SeqCst), 0);
        fanout.send(batch(2));
        assert_eq!(receiver.recv().await.map(|b| b.len()), Ok(2));
    }
}
