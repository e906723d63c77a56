use core::ops::Add;
use core::time::Duration;

/// A point in time given by the caller: milliseconds since an origin of its choosing, never
/// going backwards. The crate never reads a clock; every input that depends on time carries one.
///
/// ```
/// use core::time::Duration;
/// use rtmp_proto::session::Instant;
/// let start = Instant::from_millis(1_000);
/// assert_eq!(start + Duration::from_secs(2), Instant::from_millis(3_000));
/// assert_eq!(Instant::from_millis(3_500).saturating_duration_since(start), Duration::from_millis(2_500));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The instant `millis` milliseconds after the caller's origin.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// Milliseconds since the caller's origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the far future rather than overflowing.
    #[inline]
    fn add(self, duration: Duration) -> Instant {
        // In u64, not the u128 of `Duration::as_millis`: deadlines are computed for every
        // read of a connection.
        let millis = duration
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(duration.subsec_millis()));
        Instant(self.0.saturating_add(millis))
    }
}

/// The earlier of two deadlines, either of which may be absent.
#[inline]
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_a_duration_counts_whole_milliseconds_and_saturates() {
        let start = Instant::from_millis(5);
        assert_eq!(
            start + Duration::from_micros(2_999),
            Instant::from_millis(7)
        );
        assert_eq!(
            start + Duration::new(3, 4_000_000),
            Instant::from_millis(3_009)
        );
        assert_eq!(start + Duration::MAX, Instant::from_millis(u64::MAX));
        assert_eq!(
            Instant::from_millis(u64::MAX - 1) + Duration::from_millis(2),
            Instant::from_millis(u64::MAX)
        );
    }

    #[test]
    fn the_earliest_of_two_deadlines_ignores_an_absent_one() {
        let (early, late) = (Some(Instant::from_millis(1)), Some(Instant::from_millis(2)));
        assert_eq!(earliest(early, late), early);
        assert_eq!(earliest(late, early), early);
        assert_eq!(earliest(None, late), late);
        assert_eq!(earliest(late, None), late);
        assert_eq!(earliest(None, None), None);
    }
}
