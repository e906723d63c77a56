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
    fn add(self, duration: Duration) -> Instant {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(millis))
    }
}
