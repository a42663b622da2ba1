//! Rate limits per address (and per any other key, such as a client id:
//! `RateLimiter<ClientId>`) (governor's GCRA). The state of an address is
//! forgotten once it is indistinguishable from a fresh one: a sweep
//! (`retain_recent` + `shrink_to_fit`) runs from `check` at most every
//! `sweep_every`, so memory follows the addresses active in the last minute,
//! not every address ever seen. IPv6 addresses are keyed by their /64 (one
//! host commonly holds a whole /64).
use std::{
    hash::Hash,
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use governor::{clock::DefaultClock, state::keyed::DefaultKeyedStateStore, Quota, RateLimiter as Gcra};

pub struct RateLimiter<K: Hash + Eq + Clone = IpAddr>(Arc<Inner<K>>);

impl<K: Hash + Eq + Clone> Clone for RateLimiter<K> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct Inner<K: Hash + Eq + Clone> {
    gcra: Gcra<K, DefaultKeyedStateStore<K>, DefaultClock>,
    started: Instant,
    sweep_every: Duration,
    /// Milliseconds since `started` of the last sweep.
    last_sweep: AtomicU64,
}

/// The key of an address: itself (IPv4), or its /64 (IPv6; an IPv4-mapped
/// IPv6 address is its IPv4 address).
fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn per_minute(n: u32) -> Self {
        Self::with_sweep(n, Duration::from_secs(10))
    }

    pub fn with_sweep(n: u32, sweep_every: Duration) -> Self {
        let n = NonZeroU32::new(n.max(1)).expect("at least one");
        Self(Arc::new(Inner { gcra: Gcra::keyed(Quota::per_minute(n)), started: Instant::now(), sweep_every, last_sweep: AtomicU64::new(0) }))
    }

    /// `Err(seconds)` to wait when `key` is over its quota; else counts one.
    pub fn check_key(&self, key: &K) -> Result<(), u64> {
        self.maybe_sweep();
        self.0.gcra.check_key(key).map_err(|not_until| not_until.wait_time_from(governor::clock::Clock::now(&DefaultClock::default())).as_secs().max(1))
    }

    fn maybe_sweep(&self) {
        let now = self.0.started.elapsed().as_millis() as u64;
        let last = self.0.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) < self.0.sweep_every.as_millis() as u64 {
            return;
        }
        // One caller sweeps; the others go on.
        if self.0.last_sweep.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.sweep();
        }
    }

    /// Forgets every address whose state is back to fresh and gives the memory back.
    pub fn sweep(&self) {
        self.0.gcra.retain_recent();
        self.0.gcra.shrink_to_fit();
    }

    /// Keys currently remembered.
    pub fn remembered(&self) -> usize {
        self.0.gcra.len()
    }
}

impl RateLimiter<IpAddr> {
    /// `Err(seconds)` to wait when `addr` is over its quota.
    pub fn check(&self, addr: Option<IpAddr>) -> Result<(), u64> {
        let Some(addr) = addr else { return Ok(()) };
        self.check_key(&key(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address() {
        let l = RateLimiter::per_minute(2);
        let a = Some("10.0.0.1".parse().unwrap());
        let b = Some("10.0.0.2".parse().unwrap());
        assert!(l.check(a).is_ok());
        assert!(l.check(a).is_ok());
        assert!(l.check(a).is_err());
        assert!(l.check(b).is_ok(), "another address has its own quota");
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_budget() {
        let l = RateLimiter::per_minute(2);
        assert!(l.check(Some("2001:db8:1:2::1".parse().unwrap())).is_ok());
        assert!(l.check(Some("2001:db8:1:2::ffff:1".parse().unwrap())).is_ok());
        assert!(l.check(Some("2001:db8:1:2:abcd::9".parse().unwrap())).is_err(), "same /64");
        assert!(l.check(Some("2001:db8:1:3::1".parse().unwrap())).is_ok(), "another /64");
    }

    /// The attack: one request from each of very many addresses. Without a
    /// sweep every address stays in memory for ever.
    #[test]
    fn addresses_are_forgotten() {
        // 60 000 per minute: an address is back to fresh 2 ms after its request.
        let l = RateLimiter::with_sweep(60_000, Duration::from_millis(800));
        for i in 0..50_000u32 {
            l.check(Some(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)))).unwrap();
        }
        assert!(l.remembered() > 40_000, "{} remembered while active", l.remembered());
        std::thread::sleep(Duration::from_millis(900));
        // The next request sweeps.
        l.check(Some("192.0.2.1".parse().unwrap())).unwrap();
        assert!(l.remembered() <= 1, "{} still remembered", l.remembered());
    }

    #[test]
    fn a_sweep_keeps_addresses_over_quota() {
        let l = RateLimiter::with_sweep(1, Duration::ZERO);
        let a = Some("10.0.0.1".parse().unwrap());
        assert!(l.check(a).is_ok());
        l.sweep();
        assert!(l.check(a).is_err(), "a sweep does not reset a spent budget");
    }
}
