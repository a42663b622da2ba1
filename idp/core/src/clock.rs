//! The time as protocol logic reads it, passed in rather than read from the
//! system where it decides (a code's expiry, a refresh token's lifetime).
//! In service it is the system clock. Tests move it forward to play what
//! happens later (a code replayed 30 s after its first use, an expired code)
//! instead of sleeping; nothing in the service moves it.
use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds added to the system clock: 0 in service.
    ahead_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every copy of it) forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_moved_forward_stays_ahead_in_every_copy() {
        let clock = Clock::system();
        let copy = clock.clone();
        clock.advance(std::time::Duration::from_secs(30));
        let lead = copy.now() - Utc::now();
        assert!(lead >= Duration::seconds(29) && lead <= Duration::seconds(31), "{lead}");
    }
}
