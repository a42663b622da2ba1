//! Per-address rate limits for forms and the token endpoint (governor's GCRA).
use std::{net::IpAddr, num::NonZeroU32, sync::Arc};

use governor::{clock::DefaultClock, state::keyed::DefaultKeyedStateStore, Quota, RateLimiter as Gcra};

#[derive(Clone)]
pub struct RateLimiter(Arc<Gcra<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>>);

impl RateLimiter {
    pub fn per_minute(n: u32) -> Self {
        let n = NonZeroU32::new(n.max(1)).expect("at least one");
        Self(Arc::new(Gcra::keyed(Quota::per_minute(n))))
    }

    /// `Err(seconds)` to wait when `addr` is over its quota.
    pub fn check(&self, addr: Option<IpAddr>) -> Result<(), u64> {
        let Some(addr) = addr else { return Ok(()) };
        self.0.check_key(&addr).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(&DefaultClock::default())).as_secs().max(1)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn limits_per_address() {
        let l = super::RateLimiter::per_minute(2);
        let a = Some("10.0.0.1".parse().unwrap());
        let b = Some("10.0.0.2".parse().unwrap());
        assert!(l.check(a).is_ok());
        assert!(l.check(a).is_ok());
        assert!(l.check(a).is_err());
        assert!(l.check(b).is_ok(), "another address has its own quota");
    }
}
