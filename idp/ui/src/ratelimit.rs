//! Rate limits per address (and per any other key, such as a client id:
//! `RateLimiter<ClientId>`) (governor's GCRA). The state of an address is
//! forgotten once it is indistinguishable from a fresh one: a sweep
//! (`retain_recent` + `shrink_to_fit`) runs from `check` at most every
//! `sweep_every`, so memory follows the addresses active in the last minute,
//! not every address ever seen. IPv6 addresses are keyed by their /64 (one
//! host commonly holds a whole /64).
//!
//! A budget is the whole service's: with `n` instances serving (counted by
//! their heartbeats in the database, [`Instances`]) each request takes `n`
//! cells of an instance's bucket, so that an instance grants a key a 1/n
//! share and all of them together at most the budget, without a database
//! write per request.
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

/// How many instances serve, as last counted (at least 1); shared by every
/// limiter of the process.
#[derive(Clone, Debug)]
pub struct Instances(Arc<std::sync::atomic::AtomicU32>);

impl Default for Instances {
    fn default() -> Self {
        Instances(Arc::new(std::sync::atomic::AtomicU32::new(1)))
    }
}

impl Instances {
    pub fn set(&self, n: u32) {
        self.0.store(n.max(1), Ordering::Relaxed);
    }
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed).max(1)
    }
}

impl<K: Hash + Eq + Clone> Clone for RateLimiter<K> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct Inner<K: Hash + Eq + Clone> {
    gcra: Gcra<K, DefaultKeyedStateStore<K>, DefaultClock>,
    /// The budget per minute (the bucket's size).
    budget: NonZeroU32,
    instances: Instances,
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
        Self::shared_with_sweep(n, Instances::default(), sweep_every)
    }

    /// A budget of the whole service, shared by the `instances` serving it.
    pub fn shared(n: u32, instances: Instances) -> Self {
        Self::shared_with_sweep(n, instances, Duration::from_secs(10))
    }

    fn shared_with_sweep(n: u32, instances: Instances, sweep_every: Duration) -> Self {
        let budget = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        Self(Arc::new(Inner {
            gcra: Gcra::keyed(Quota::per_minute(budget)),
            budget,
            instances,
            started: Instant::now(),
            sweep_every,
            last_sweep: AtomicU64::new(0),
        }))
    }

    /// `Err(seconds)` to wait when `key` is over its quota; else counts one.
    pub fn check_key(&self, key: &K) -> Result<(), u64> {
        self.maybe_sweep();
        // n cells a request: this instance's 1/n share (at least one request a minute).
        let cells = NonZeroU32::new(self.0.instances.get().min(self.0.budget.get())).unwrap_or(NonZeroU32::MIN);
        match self.0.gcra.check_key_n(key, cells) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(governor::clock::Clock::now(&DefaultClock::default())).as_secs().max(1)),
            Err(_) => Err(60),
        }
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

    /// With n instances serving, an instance grants a key 1/n of the budget,
    /// so all of them together grant it at most the budget.
    #[test]
    fn a_budget_is_shared_by_the_instances_serving() {
        let instances = Instances::default();
        let l = RateLimiter::shared(10, instances.clone());
        let a = Some("10.0.0.1".parse().unwrap());
        instances.set(2);
        let granted = (0..10).filter(|_| l.check(a).is_ok()).count();
        assert_eq!(granted, 5, "half the budget on one of two instances");
        instances.set(20);
        let b = Some("10.0.0.2".parse().unwrap());
        assert!(l.check(b).is_ok(), "more instances than the budget: still one request a minute each");
        assert!(l.check(b).is_err());
        instances.set(0);
        assert_eq!(instances.get(), 1);
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
