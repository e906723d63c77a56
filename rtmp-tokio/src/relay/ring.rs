//! A stream's last batches, numbered in the order sent, for its receivers to take in that
//! order: what a tokio broadcast channel did for the relay, less what a relay's player does
//! not need. A player is handed the batch just sent by reference (see `direct`), so its
//! [`Cursor`] only moves on; only a receiver that is behind takes batches from the ring,
//! under its lock. A receiver further behind than the ring's capacity is told how many
//! batches it missed and goes on from the oldest kept.
//!
//! Each receiver's position is published (an atomic store per batch taken), so that the ring
//! can let go of what every receiver took: at once when the stream's players say so after a
//! pump, otherwise every [`TRIM_EVERY`] batches.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rtmp_proto::relay::Batch;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::Notify;

use super::lock;

/// Every this many batches, the ring drops those every receiver has taken: it holds about
/// this many beyond what the receiver furthest behind still needs (a tokio broadcast channel
/// drops each as its last receiver takes it).
pub(crate) const TRIM_EVERY: usize = 16;

/// A stream's last batches and where each of its receivers is.
pub(crate) struct BatchRing {
    kept: Mutex<Kept>,
    /// Each receiver's next batch's number.
    cursors: Mutex<Vec<Arc<AtomicU64>>>,
    /// Wakes the receivers waiting in [`Cursor::recv`].
    arrived: Notify,
    /// How many receivers are in [`Cursor::recv`] (recordings and pushes; players are pumped
    /// instead).
    waiting: AtomicUsize,
    /// Batches sent, counted as they are kept: a receiver whose next batch is this one has
    /// nothing to take, which it knows without the lock.
    sent: AtomicU64,
}

/// The batches a [`BatchRing`] holds.
struct Kept {
    batches: VecDeque<Batch>,
    /// The number of `batches[0]`.
    first: u64,
    /// How many batches are kept at most
    /// ([`RelayConfig::fan_out_capacity`](crate::relay::RelayConfig::fan_out_capacity)).
    capacity: usize,
    /// The stream is gone: no more batches come.
    closed: bool,
    /// Past this many batches, those every receiver took go.
    trim_at: usize,
}

impl BatchRing {
    /// A ring that keeps `capacity` batches at most (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        BatchRing {
            kept: Mutex::new(Kept {
                batches: VecDeque::with_capacity(capacity.min(64)),
                first: 0,
                capacity,
                closed: false,
                trim_at: TRIM_EVERY,
            }),
            cursors: Mutex::default(),
            arrived: Notify::new(),
            waiting: AtomicUsize::new(0),
            sent: AtomicU64::new(0),
        }
    }

    /// A receiver of the batches kept from now on.
    pub(crate) fn subscribe(self: &Arc<Self>) -> Cursor {
        let next = self.sent.load(Ordering::Acquire);
        let published = Arc::new(AtomicU64::new(next));
        lock(&self.cursors).push(published.clone());
        Cursor {
            next,
            published,
            ring: self.clone(),
        }
    }

    /// How many receivers there are.
    fn receivers(&self) -> usize {
        lock(&self.cursors).len()
    }

    /// Keeps `batch` and returns its number. The oldest goes once the ring is full (receivers
    /// that had not taken it skip it), and every [`TRIM_EVERY`] batches those every receiver
    /// took.
    pub(crate) fn keep(&self, batch: Batch) -> u64 {
        let sequence = {
            let mut kept = lock(&self.kept);
            if kept.batches.len() >= kept.trim_at {
                let sent = kept.first + kept.batches.len() as u64;
                let needed = lock(&self.cursors)
                    .iter()
                    .map(|cursor| cursor.load(Ordering::Relaxed))
                    .min()
                    .unwrap_or(sent);
                let taken = usize::try_from(needed.saturating_sub(kept.first))
                    .unwrap_or(usize::MAX)
                    .min(kept.batches.len());
                kept.batches.drain(..taken);
                kept.first += taken as u64;
                // Looked at again only after as many more batches, however far behind the
                // furthest receiver stays: not a pass over every receiver per batch.
                kept.trim_at = kept.batches.len() + TRIM_EVERY;
            }
            if kept.batches.len() == kept.capacity {
                kept.first += 1;
                kept.batches.pop_front();
            }
            kept.batches.push_back(batch);
            let sequence = kept.first + kept.batches.len() as u64 - 1;
            self.sent.store(sequence + 1, Ordering::Release);
            sequence
        };
        // After the lock: a receiver counted after this load looks at the ring after the
        // batch is in it.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.arrived.notify_waiters();
        }
        sequence
    }

    /// Drops the batches through number `sequence`, if the caller knows that `receivers`
    /// receivers took them and that is every receiver there is: as soon as a tokio broadcast
    /// channel would, so that the allocator gets each batch back while it is still warm.
    pub(crate) fn forget_through(&self, sequence: u64, receivers: usize) {
        let mut kept = lock(&self.kept);
        if self.receivers() != receivers {
            return;
        }
        // Mostly the one batch just sent: popped, not drained (a drain costs more for one).
        while kept.first <= sequence && kept.batches.pop_front().is_some() {
            kept.first += 1;
        }
    }

    /// No more batches come: receivers take what is kept, then hear that the stream closed.
    pub(crate) fn close(&self) {
        lock(&self.kept).closed = true;
        self.arrived.notify_waiters();
    }
}

/// A receiver's place in a [`BatchRing`].
pub(crate) struct Cursor {
    /// The number of the next batch this receiver takes.
    next: u64,
    /// `next`, as the ring sees it when it drops what every receiver took.
    published: Arc<AtomicU64>,
    ring: Arc<BatchRing>,
}

impl Cursor {
    /// The number of the next batch this receiver takes.
    #[inline]
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    /// Moves on to batch number `next` (taken without the ring: handed over by reference).
    #[inline]
    pub(crate) fn move_to(&mut self, next: u64) {
        self.next = next;
        self.published.store(next, Ordering::Relaxed);
    }

    /// Whether a batch was sent that this receiver has not taken (or skipped).
    #[inline]
    pub(crate) fn has_waiting(&self) -> bool {
        self.next != self.ring.sent.load(Ordering::Acquire)
    }

    /// The next batch, if one was sent; `Lagged` with the number skipped if the ring no
    /// longer holds it (the receiver goes on from the oldest it holds). As a tokio broadcast
    /// receiver's `try_recv` answers.
    pub(crate) fn try_recv(&mut self) -> Result<Batch, TryRecvError> {
        let kept = lock(&self.ring.kept);
        if self.next < kept.first {
            let skipped = kept.first - self.next;
            let first = kept.first;
            drop(kept);
            self.move_to(first);
            return Err(TryRecvError::Lagged(skipped));
        }
        let index = usize::try_from(self.next - kept.first).unwrap_or(usize::MAX);
        match kept.batches.get(index) {
            Some(batch) => {
                let batch = batch.clone();
                drop(kept);
                self.move_to(self.next + 1);
                Ok(batch)
            }
            None if kept.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Waits for the next batch, as [`try_recv`](Self::try_recv) takes it. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Result<Batch, RecvError> {
        let ring = self.ring.clone();
        // Counted before looking, for as long as it waits (however it ends): a batch kept
        // wakes the receivers only while one is counted.
        let _waiting = Waiting::count(&ring.waiting);
        loop {
            // Created before looking, so that a batch kept in between still wakes it.
            let arrived = ring.arrived.notified();
            match self.try_recv() {
                Ok(batch) => return Ok(batch),
                Err(TryRecvError::Lagged(skipped)) => return Err(RecvError::Lagged(skipped)),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Empty) => arrived.await,
            }
        }
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        lock(&self.ring.cursors).retain(|listed| !Arc::ptr_eq(listed, &self.published));
    }
}

/// A receiver counted in [`BatchRing::waiting`] while this lives.
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

#[cfg(test)]
mod tests {
    use super::*;
    use rtmp_proto::relay::Item;
    use std::time::Duration;

    fn ring(capacity: usize) -> Arc<BatchRing> {
        Arc::new(BatchRing::new(capacity))
    }

    fn batch(items: usize) -> Batch {
        (0..items).map(|_| Item::Published).collect()
    }

    /// The length of the batch `cursor` takes next, which tells the test's batches apart.
    fn taken(cursor: &mut Cursor) -> Result<usize, TryRecvError> {
        cursor.try_recv().map(|batch| batch.len())
    }

    fn held(ring: &BatchRing) -> usize {
        lock(&ring.kept).batches.len()
    }

    #[test]
    fn a_receiver_takes_what_was_kept_after_it_subscribed_in_order() {
        let ring = ring(4);
        assert_eq!(ring.keep(batch(1)), 0);
        let mut cursor = ring.subscribe();
        assert!(!cursor.has_waiting());
        assert_eq!(ring.keep(batch(2)), 1);
        assert_eq!(ring.keep(batch(3)), 2);
        assert!(cursor.has_waiting());
        assert_eq!(taken(&mut cursor), Ok(2));
        assert_eq!(taken(&mut cursor), Ok(3));
        assert_eq!(taken(&mut cursor), Err(TryRecvError::Empty));
        assert!(!cursor.has_waiting());
    }

    #[test]
    fn a_receiver_further_behind_than_the_ring_hears_how_many_it_skipped() {
        let ring = ring(2);
        let mut cursor = ring.subscribe();
        for items in 1..=5 {
            ring.keep(batch(items));
        }
        assert_eq!(taken(&mut cursor), Err(TryRecvError::Lagged(3)));
        assert_eq!(taken(&mut cursor), Ok(4));
        assert_eq!(taken(&mut cursor), Ok(5));
        assert_eq!(taken(&mut cursor), Err(TryRecvError::Empty));
    }

    #[test]
    fn once_closed_a_receiver_takes_the_rest_then_hears_it() {
        let ring = ring(4);
        let mut cursor = ring.subscribe();
        ring.keep(batch(1));
        ring.close();
        assert_eq!(taken(&mut cursor), Ok(1));
        assert_eq!(taken(&mut cursor), Err(TryRecvError::Closed));
    }

    #[test]
    fn the_ring_lets_go_of_what_every_receiver_took() {
        let ring = ring(1024);
        let mut player = ring.subscribe();
        let mut recording = ring.subscribe();
        for items in 0..100 {
            ring.keep(batch(items));
            assert_eq!(taken(&mut player), Ok(items));
        }
        // The recording took nothing: all is kept for it.
        assert_eq!(held(&ring), 100);
        while recording.try_recv().is_ok() {}
        for items in 0..(2 * TRIM_EVERY) {
            ring.keep(batch(items));
            assert!(player.try_recv().is_ok() && recording.try_recv().is_ok());
        }
        assert!(held(&ring) <= TRIM_EVERY, "{} kept", held(&ring));
        // A receiver gone no longer holds anything back.
        drop(recording);
        let mut late = ring.subscribe();
        for items in 0..(2 * TRIM_EVERY) {
            ring.keep(batch(items));
            assert!(player.try_recv().is_ok() && late.try_recv().is_ok());
        }
        assert!(held(&ring) <= TRIM_EVERY, "{} kept", held(&ring));
    }

    #[test]
    fn batches_every_receiver_took_go_at_once_unless_another_receiver_is_there() {
        let ring = ring(1024);
        let mut players = [ring.subscribe(), ring.subscribe()];
        for items in 0..3 {
            ring.keep(batch(items));
        }
        for player in &mut players {
            while player.try_recv().is_ok() {}
        }
        // A third receiver (a recording) is not among those that took them: nothing goes.
        let recording = ring.subscribe();
        ring.forget_through(2, players.len());
        assert_eq!(held(&ring), 3);
        drop(recording);
        ring.forget_through(1, players.len());
        assert_eq!(held(&ring), 1);
        ring.forget_through(2, players.len());
        assert_eq!(held(&ring), 0);
        ring.keep(batch(4));
        assert_eq!(taken(&mut players[0]), Ok(4));
    }

    #[tokio::test]
    async fn recv_waits_for_the_next_batch_and_for_the_end() {
        let ring = ring(4);
        let mut cursor = ring.subscribe();
        let waiting = tokio::spawn(async move {
            let first = cursor.recv().await.map(|b| b.len());
            let end = cursor.recv().await.map(|b| b.len());
            (first, end)
        });
        tokio::task::yield_now().await;
        ring.keep(batch(7));
        tokio::task::yield_now().await;
        ring.close();
        let (first, end) = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("recv returns")
            .expect("the task ends");
        assert_eq!(first, Ok(7));
        assert_eq!(end, Err(RecvError::Closed));
    }

    #[tokio::test]
    async fn a_recv_cancelled_while_waiting_loses_no_batch() {
        let ring = ring(4);
        let mut cursor = ring.subscribe();
        let cancelled = tokio::time::timeout(Duration::from_millis(10), cursor.recv()).await;
        assert!(cancelled.is_err());
        assert_eq!(ring.waiting.load(Ordering::SeqCst), 0);
        ring.keep(batch(2));
        assert_eq!(cursor.recv().await.map(|b| b.len()), Ok(2));
    }
}
