//! A memory budget shared by every connection of a server.
//!
//! Each connection's own limits ([`Limits`](crate::Limits),
//! [`SessionConfig`](crate::session::SessionConfig)'s outbound bounds) keep one peer within
//! bounds; many peers, each within its bounds, can still hold more together than the server
//! has. A [`MemoryBudget`] bounds the total: connections made from configurations that share
//! one budget (clones of one [`SessionConfig`](crate::session::SessionConfig)) report what they
//! hold to it, and a connection that would take the total past the limit while holding more
//! than its share ends with
//! [`SessionError::MemoryBudgetExceeded`](crate::session::SessionError).
//!
//! What a connection reports: the buffers of its partial inbound messages (what they hold,
//! which grows with what arrived, not what they announced); the input a server connection
//! holds while a connect, publish or play request waits for the application's answer (up to
//! [`ServerOptions::max_held_bytes`](crate::session::ServerOptions::max_held_bytes) of it);
//! its outbound queue; and its chunked output waiting to be written (about 64 KiB at most
//! per connection, more for one large message): chunk headers, commands and data. The
//! payloads of audio and video, queued or chunked, are not counted: they are shared by every
//! player of a stream (one keyframe queued to a thousand players is one keyframe in memory),
//! so counting them per player would count one buffer a thousand times; each queued
//! message's own slot is counted, so a flood of tiny messages is. What a connection reported
//! is given back as it goes (held input answered, output written), all of it but what may
//! still be written when it ends, and the rest when it is dropped.

use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Reports to the budget are rounded up to this many bytes, so that a connection touches the
/// shared counter only when what it holds changes by about this much, not on every message.
const GRAIN: usize = 16 * 1024;

/// A bound on the memory every connection sharing it holds together, in bytes.
///
/// Cloning it shares it. Who is closed when the total would pass the limit: the connection
/// asking for more, if it holds more than an equal share (the limit divided by the
/// connections sharing the budget); one within its equal share is never closed for the
/// budget, so bystanders that hold little are untouched by peers that hold much. The total
/// may therefore pass the limit by what connections within their shares hold, at most as much
/// again.
///
/// ```
/// use rtmp_proto::MemoryBudget;
/// use rtmp_proto::session::SessionConfig;
///
/// let mut config = SessionConfig::default();
/// config.memory_budget = Some(MemoryBudget::new(512 * 1024 * 1024));
/// // Every connection made from a clone of `config` shares those 512 MiB.
/// assert_eq!(config.memory_budget.as_ref().map(MemoryBudget::limit), Some(512 << 20));
/// ```
#[derive(Clone)]
pub struct MemoryBudget {
    shared: Arc<Shared>,
}

struct Shared {
    limit: usize,
    used: AtomicUsize,
    members: AtomicUsize,
}

impl MemoryBudget {
    /// The default limit of a server's budget: 256 MiB. Idle connections hold next to nothing
    /// against it and live players little more; it is taken by partial messages (a publisher's
    /// keyframe in flight) and by queues of answers and media slots, so a few hundred
    /// publishers of 4K streams fit. Raise it for larger servers.
    pub const DEFAULT_LIMIT: usize = 256 * 1024 * 1024;

    /// A budget of `limit` bytes, shared by nobody yet.
    pub fn new(limit: usize) -> Self {
        MemoryBudget {
            shared: Arc::new(Shared {
                limit,
                used: AtomicUsize::new(0),
                members: AtomicUsize::new(0),
            }),
        }
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> usize {
        self.shared.limit
    }

    /// What the connections sharing the budget hold now, in bytes (rounded up per connection
    /// to 16 KiB).
    pub fn used(&self) -> usize {
        self.shared.used.load(Ordering::Relaxed)
    }

    /// How many connections share the budget now.
    pub fn connections(&self) -> usize {
        self.shared.members.load(Ordering::Relaxed)
    }

    /// A share of the budget for one more connection.
    pub(crate) fn join(&self) -> BudgetShare {
        self.shared.members.fetch_add(1, Ordering::Relaxed);
        BudgetShare {
            budget: self.clone(),
            held: 0,
        }
    }
}

impl Default for MemoryBudget {
    /// A budget of [`DEFAULT_LIMIT`](Self::DEFAULT_LIMIT).
    fn default() -> Self {
        MemoryBudget::new(Self::DEFAULT_LIMIT)
    }
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("limit", &self.limit())
            .field("used", &self.used())
            .field("connections", &self.connections())
            .finish()
    }
}

impl PartialEq for MemoryBudget {
    /// The same budget (clones of one), not two budgets of the same limit.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for MemoryBudget {}

/// One connection's part of a [`MemoryBudget`]; gives back what it holds when dropped.
#[derive(Debug)]
pub(crate) struct BudgetShare {
    budget: MemoryBudget,
    /// What this connection has reported, rounded up to [`GRAIN`].
    held: usize,
}

impl BudgetShare {
    /// Whether reporting `bytes` now would change nothing.
    #[inline]
    pub(crate) fn is_holding(&self, bytes: usize) -> bool {
        bytes.div_ceil(GRAIN).saturating_mul(GRAIN) == self.held
    }

    /// Reports that the connection now holds `bytes`. Returns `false` if that takes the total
    /// past the limit while the connection holds more than an equal share: it must end. What
    /// was reported stays counted until the next report or the drop.
    #[inline]
    pub(crate) fn hold(&mut self, bytes: usize) -> bool {
        let rounded = bytes.div_ceil(GRAIN).saturating_mul(GRAIN);
        let shared = &self.budget.shared;
        if rounded <= self.held {
            if rounded < self.held {
                shared
                    .used
                    .fetch_sub(self.held - rounded, Ordering::Relaxed);
                self.held = rounded;
            }
            return true;
        }
        let more = rounded - self.held;
        let total = shared
            .used
            .fetch_add(more, Ordering::Relaxed)
            .saturating_add(more);
        self.held = rounded;
        if total <= shared.limit {
            return true;
        }
        let members = shared.members.load(Ordering::Relaxed).max(1);
        bytes <= shared.limit / members
    }
}

impl Drop for BudgetShare {
    fn drop(&mut self) {
        let shared = &self.budget.shared;
        shared.used.fetch_sub(self.held, Ordering::Relaxed);
        shared.members.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_limit_everything_is_taken_and_given_back() {
        let budget = MemoryBudget::new(1024 * 1024);
        let mut a = budget.join();
        let mut b = budget.join();
        assert_eq!(budget.connections(), 2);
        assert!(a.hold(1));
        assert_eq!(budget.used(), GRAIN, "rounded up");
        assert!(a.hold(GRAIN), "same grain: nothing changes");
        assert!(b.hold(500 * 1024));
        assert_eq!(budget.used(), GRAIN + 512 * 1024);
        assert!(a.hold(0));
        assert_eq!(budget.used(), 512 * 1024);
        drop(b);
        assert_eq!((budget.used(), budget.connections()), (0, 1));
        drop(a);
        assert_eq!((budget.used(), budget.connections()), (0, 0));
    }

    #[test]
    fn past_the_limit_the_one_above_its_share_goes_and_bystanders_stay() {
        let budget = MemoryBudget::new(1024 * 1024);
        let mut hog = budget.join();
        let mut bystander = budget.join();
        let mut other = budget.join();
        assert!(hog.hold(900 * 1024));
        assert!(bystander.hold(100 * 1024));
        // Past the limit, but the bystander holds less than a third of it: taken.
        assert!(bystander.hold(300 * 1024));
        assert!(budget.used() > budget.limit());
        // The hog asks for more, past the limit and above its share: it must go.
        assert!(!hog.hold(1000 * 1024));
        drop(hog);
        assert_eq!(budget.used(), 304 * 1024);
        assert!(other.hold(600 * 1024));
        assert_eq!(budget, budget.clone());
        assert_ne!(budget, MemoryBudget::new(1024 * 1024));
    }
}
