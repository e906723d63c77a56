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
//! The batches go through the stream's [`BatchRing`]: the last `capacity` batches sent, which
//! a receiver that fell further behind skips (the core then starts it again at a keyframe),
//! as a broadcast channel would. A pump hands each player the batch just sent by reference;
//! only a player that is behind (its task held its connection, or its socket was full) takes
//! batches from the ring. Recordings and pushes await the ring. The writes happen after the
//! hub's lock is released (the hub is never held across another connection's socket), and a
//! player whose connection is locked by its own task at that moment is woken instead: that
//! task takes the batch.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use rtmp_proto::relay::{Batch, Fanout, Hub, RelayConnection, SharedHub, Verdict};
use rtmp_proto::session::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::lock;
use super::ring::{BatchRing, Cursor};
use crate::driver::Clock;
use crate::server::ServerSession;

/// Most events [`ConnectionCell::poll_step`] hands the relay in one call (the session's
/// share of tokio's budget bounds them too).
const EVENTS_PER_STEP: usize = 32;

/// How many players ahead of the one being pumped have their state fetched into the cache. A
/// player's state went cold since its last frame (the kernel's work for every write in between
/// evicts it), and a pump's first reads of it stall on memory: fetched while the players before
/// it are pumped (a write each, microseconds), it is there when its turn comes. Two at most, so
/// that a stream of many players does not evict what it fetched before using it.
const PREFETCH_AHEAD: usize = 2;

/// A batch handed to a stream under the hub's lock, for its players to be pumped with after.
struct DueBatch {
    players: Arc<Players>,
    /// The batch's number in its stream's ring.
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
            players: Arc::new(Players {
                sinks: Mutex::default(),
                ring: Arc::new(BatchRing::new(capacity)),
            }),
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
        PlayerReceiver {
            cursor: self.players.ring.subscribe(),
            players: self.players.clone(),
            registered: None,
        }
    }

    fn send(&mut self, batch: Batch) {
        let sequence = self.players.ring.keep(batch.clone());
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
        self.players.ring.close();
    }
}

/// A receiver of a stream's batches; a player's connection registers with it to be pumped.
/// Recordings and pushes take batches with [`recv`](Self::recv) and
/// [`try_recv`](Self::try_recv), which answer as a tokio broadcast receiver's do.
pub(crate) struct PlayerReceiver {
    cursor: Cursor,
    players: Arc<Players>,
    /// The connection listed with the stream's players, by its address (the list holds it).
    registered: Option<usize>,
}

impl PlayerReceiver {
    /// Lists the connection `sink` gives, once, to be pumped with this stream's batches. The
    /// list holds it until this receiver is dropped, which its connection's task makes sure of
    /// ([`ConnectionCell::release_on_drop`]).
    fn register(&mut self, sink: impl FnOnce() -> Arc<dyn Pump>) {
        if self.registered.is_none() {
            let sink = sink();
            self.registered = Some(Arc::as_ptr(&sink).cast::<()>().addr());
            lock(&self.players.sinks).push(sink);
        }
    }

    /// The next batch, if one was sent (as a tokio broadcast receiver's `try_recv` answers).
    pub(crate) fn try_recv(&mut self) -> Result<Batch, TryRecvError> {
        self.cursor.try_recv()
    }

    /// Waits for the next batch. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Result<Batch, RecvError> {
        self.cursor.recv().await
    }
}

impl Drop for PlayerReceiver {
    fn drop(&mut self) {
        if let Some(sink) = self.registered.take() {
            let gone = {
                let mut sinks = lock(&self.players.sinks);
                let at = sinks
                    .iter()
                    .position(|listed| Arc::as_ptr(listed).cast::<()>().addr() == sink);
                at.map(|at| sinks.swap_remove(at))
            };
            // Dropped with the list unlocked: it may be the connection's last reference.
            drop(gone);
        }
    }
}

/// A stream's batches and the connections playing it.
pub(crate) struct Players {
    /// The connections playing the stream: each is listed by its receiver and taken off the
    /// list when that receiver is dropped.
    sinks: Mutex<Vec<Arc<dyn Pump>>>,
    ring: Arc<BatchRing>,
}

impl Players {
    /// Pumps every listed connection, `batch` (number `sequence`) being the last sent.
    fn pump(&self, now: Instant, sequence: u64, batch: &Batch) {
        let mut all_taken = true;
        let sinks = lock(&self.sinks);
        for sink in sinks.iter().take(PREFETCH_AHEAD) {
            sink.prefetch();
        }
        for (index, sink) in sinks.iter().enumerate() {
            if let Some(ahead) = sinks.get(index + PREFETCH_AHEAD) {
                ahead.prefetch();
            }
            all_taken &= sink.pump(now, sequence, batch);
        }
        let listed = sinks.len();
        drop(sinks);
        if all_taken {
            // Every listed player took it: gone now, unless another receiver is there.
            self.ring.forget_through(sequence, listed);
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

    /// Starts fetching the connection's state into the cache, ahead of its pump.
    fn prefetch(&self) {}
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
            let (batch, last) = match newest {
                Some((sequence, batch)) if sequence == receiver.cursor.next() => {
                    receiver.cursor.move_to(sequence + 1);
                    // The last batch handed to the stream: any sent after it is pumped in
                    // turn, so nothing is left to look for.
                    (batch, true)
                }
                _ if !receiver.cursor.has_waiting() => return Verdict::Continue,
                _ => match receiver.try_recv() {
                    Ok(batch) => {
                        taken = batch;
                        (&taken, false)
                    }
                    Err(TryRecvError::Lagged(_)) => {
                        self.relay.lagged();
                        continue;
                    }
                    Err(TryRecvError::Empty | TryRecvError::Closed) => return Verdict::Continue,
                },
            };
            let relay = &mut self.relay;
            let verdict = self.session.with_direct_write(|connection, direct| {
                relay.deliver_through(connection, batch, now, &mut |bufs| direct.write(bufs))
            });
            if verdict != Verdict::Continue || last {
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

    /// A guard that drops the connection when the task holding it is dropped before the
    /// connection was taken out ([`take`](Self::take)), as when the runtime shuts down: the
    /// connection's receiver lists the cell with its stream's players, and only dropping the
    /// receiver takes it off that list.
    pub(crate) fn release_on_drop(self: &Arc<Self>) -> ReleaseOnDrop<S> {
        ReleaseOnDrop(self.clone())
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
        let mut state = lock(&self.state);
        let Some(conn) = state.as_mut() else {
            return Poll::Pending;
        };
        // Both copies of the waker change together, so the one under this lock tells whether
        // the other needs the second lock (a pump takes `task` without `state` held, never the
        // other way round).
        if !conn
            .waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            conn.waker = Some(cx.waker().clone());
            *lock(&self.task) = Some(cx.waker().clone());
        }
        if let Some(verdict) = conn.verdict.take() {
            return Poll::Ready(verdict);
        }
        if let Some(receiver) = conn.relay.receiver_mut() {
            receiver.register(|| self.clone() as Arc<dyn Pump>);
            // After registering: what was sent before is taken here, what is sent after is
            // pumped.
            let verdict = conn.deliver_waiting(clock.now(), None);
            if verdict != Verdict::Continue {
                return Poll::Ready(verdict);
            }
        }
        // Events the relay answers by itself (a publisher's frames) follow one another here,
        // under one lock, until the session has none: the task's loop is only for what it
        // must act on (the relay's events, a request, a batch to hand on).
        for _ in 0..EVENTS_PER_STEP {
            let event = std::task::ready!(conn.session.poll_event_or_closed(cx));
            let now = clock.now();
            let verdict = conn
                .relay
                .handle_event(conn.session.connection(), event, now);
            if verdict != Verdict::Continue || !conn.relay.is_settled() {
                return Poll::Ready(verdict);
            }
        }
        Poll::Ready(Verdict::Continue)
    }

    fn wake(&self) {
        if let Some(waker) = lock(&self.task).as_ref() {
            waker.wake_by_ref();
        }
    }
}

/// See [`ConnectionCell::release_on_drop`].
pub(crate) struct ReleaseOnDrop<S>(Arc<ConnectionCell<S>>);

impl<S> Drop for ReleaseOnDrop<S> {
    fn drop(&mut self) {
        let conn = lock(&self.0.state).take();
        // Dropped with the cell unlocked: the receiver's drop takes the stream's list's lock.
        drop(conn);
    }
}

impl<S> Pump for ConnectionCell<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
            let start = std::ptr::from_ref(self).cast::<i8>();
            for offset in (0..std::mem::size_of::<Self>()).step_by(64) {
                // SAFETY: a prefetch only hints the cache; it reads nothing and never faults,
                // and the addresses lie within `self`.
                unsafe { _mm_prefetch::<_MM_HINT_T1>(start.wrapping_add(offset)) };
            }
        }
    }

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
            .is_none_or(|receiver| receiver.cursor.next() > sequence);
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

    /// A listed player that counts its pumps and says when it is dropped.
    struct Listed {
        pumps: std::sync::atomic::AtomicUsize,
        dropped: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Pump for Listed {
        fn pump(&self, _: Instant, _: u64, _: &Batch) -> bool {
            self.pumps
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            true
        }
    }

    impl Drop for Listed {
        fn drop(&mut self) {
            self.dropped
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn a_player_is_pumped_while_its_receiver_lives_and_let_go_with_it() {
        let hub = TokioHub::new(rtmp_proto::relay::HubConfig::default(), 4, Clock::start());
        let mut fanout = DirectFanout {
            players: Arc::new(Players {
                sinks: Mutex::default(),
                ring: Arc::new(BatchRing::new(4)),
            }),
            due: hub.due.clone(),
        };
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let listed = Arc::new(Listed {
            pumps: Default::default(),
            dropped: dropped.clone(),
        });
        let mut receiver = fanout.subscribe();
        receiver.register(|| listed.clone() as Arc<dyn Pump>);
        // Listed once, however often its task registers.
        receiver.register(|| unreachable!("already listed"));
        let batch: Batch = [Item::Published].into_iter().collect();
        fanout.send(batch.clone());
        let players = fanout.players.clone();
        players.pump(Instant::from_millis(0), 0, &batch);
        assert_eq!(listed.pumps.load(std::sync::atomic::Ordering::Relaxed), 1);
        drop(listed);
        assert!(
            !dropped.load(std::sync::atomic::Ordering::Relaxed),
            "the list holds it"
        );
        drop(receiver);
        assert!(dropped.load(std::sync::atomic::Ordering::Relaxed));
        assert!(lock(&players.sinks).is_empty());
    }

    /// A listed player that writes what happens to it in a shared log.
    struct Logged {
        index: usize,
        log: Arc<Mutex<Vec<(&'static str, usize)>>>,
    }

    impl Pump for Logged {
        fn pump(&self, _: Instant, _: u64, _: &Batch) -> bool {
            lock(&self.log).push(("pump", self.index));
            true
        }

        fn prefetch(&self) {
            lock(&self.log).push(("prefetch", self.index));
        }
    }

    #[test]
    fn each_player_is_prefetched_once_shortly_before_its_pump() {
        for players in [0, 1, PREFETCH_AHEAD, PREFETCH_AHEAD + 1, 7] {
            let log = Arc::new(Mutex::new(Vec::new()));
            let stream = Players {
                sinks: Mutex::new(
                    (0..players)
                        .map(|index| {
                            Arc::new(Logged {
                                index,
                                log: log.clone(),
                            }) as Arc<dyn Pump>
                        })
                        .collect(),
                ),
                ring: Arc::new(BatchRing::new(4)),
            };
            let batch: Batch = [Item::Published].into_iter().collect();
            stream.pump(Instant::from_millis(0), 0, &batch);
            let log = lock(&log).clone();
            let at = |what: &str, index: usize| {
                let found: Vec<usize> = log
                    .iter()
                    .enumerate()
                    .filter(|(_, entry)| **entry == (what, index))
                    .map(|(at, _)| at)
                    .collect();
                assert_eq!(
                    found.len(),
                    1,
                    "{what} of player {index} of {players}: {log:?}"
                );
                found[0]
            };
            for index in 0..players {
                let (prefetched, pumped) = (at("prefetch", index), at("pump", index));
                assert!(prefetched < pumped, "{log:?}");
                // Not fetched long before: at most PREFETCH_AHEAD pumps in between.
                let pumps_between = log[prefetched..pumped]
                    .iter()
                    .filter(|(what, _)| *what == "pump")
                    .count();
                assert!(pumps_between <= PREFETCH_AHEAD, "{log:?}");
            }
            assert_eq!(log.len(), 2 * players);
        }
    }

    #[tokio::test]
    async fn a_task_dropped_before_its_end_drops_its_connection() {
        let hub = TokioHub::new(rtmp_proto::relay::HubConfig::default(), 4, Clock::start());
        let (ours, _peer) = tokio::io::duplex(1024);
        let session = ServerSession::new(ours, Default::default());
        let cell = ConnectionCell::new(session, RelayConnection::new(hub));
        let guard = cell.release_on_drop();
        assert!(lock(&cell.state).is_some());
        drop(guard);
        assert!(lock(&cell.state).is_none());
        // A task that ended took its connection itself; the guard then finds nothing.
        let (ours, _peer) = tokio::io::duplex(1024);
        let hub = TokioHub::new(rtmp_proto::relay::HubConfig::default(), 4, Clock::start());
        let session = ServerSession::new(ours, Default::default());
        let cell = ConnectionCell::new(session, RelayConnection::new(hub));
        let guard = cell.release_on_drop();
        drop(cell.take());
        drop(guard);
    }

    #[test]
    fn each_batch_sent_is_due_to_be_pumped_with_its_number_and_kept_for_receivers() {
        let capacity = 4;
        let hub = TokioHub::new(
            rtmp_proto::relay::HubConfig::default(),
            capacity,
            Clock::start(),
        );
        let mut fanout = DirectFanout {
            players: Arc::new(Players {
                sinks: Mutex::default(),
                ring: Arc::new(BatchRing::new(capacity)),
            }),
            due: hub.due.clone(),
        };
        let batch = |items: usize| -> Batch { (0..items).map(|_| Item::Published).collect() };
        fanout.send(batch(1));
        let mut receiver = fanout.subscribe();
        fanout.send(batch(2));
        fanout.send(batch(3));
        assert_eq!(receiver.try_recv().map(|b| b.len()), Ok(2));
        assert_eq!(receiver.try_recv().map(|b| b.len()), Ok(3));
        let numbers: Vec<u64> = lock(&hub.due)
            .iter()
            .map(|handed| handed.sequence)
            .collect();
        assert_eq!(numbers, [0, 1, 2]);
        drop(fanout);
        assert_eq!(
            receiver.try_recv().map(|b| b.len()),
            Err(TryRecvError::Closed)
        );
    }
}
