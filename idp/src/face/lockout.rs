//! When face sign-in is refused after failures (Rules §7; issue 12).
//!
//! A lock-out must stop someone guessing with faces without handing anyone
//! else a way to lock a citizen out:
//! - only failures in which a face was **presented** (several faces, liveness
//!   failed, no match) count towards a person, and they count per (IIN,
//!   address): an attacker elsewhere locks only themselves out of that IIN,
//!   never the IIN for everyone;
//! - each failure beyond the allowance doubles the wait, from `lockout_base`
//!   up to the window;
//! - attempts refused because of a lock are not failures, so trying while
//!   locked does not renew the lock;
//! - every failure, with or without a face, counts towards the address
//!   (probing the registry, posting empty captures), up to its own allowance.
//!
//! Pure: the evidence and the time are passed in.
use chrono::{DateTime, Duration, Utc};

use super::FaceFailure;

/// The failures in which a face was presented: the only ones held against a person.
pub const FACE_PRESENTED: [FaceFailure; 3] = [FaceFailure::SeveralFaces, FaceFailure::LivenessFailed, FaceFailure::NoMatch];

/// Whether a failure is recorded at all: a refusal because of a lock is not a
/// new failure (else trying while locked would renew the lock).
pub fn recorded(failure: FaceFailure) -> bool {
    failure != FaceFailure::TooManyAttempts
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures are counted over this window.
    pub window: Duration,
    /// Face-presented failures of one IIN from one address before the first wait.
    pub max_per_person: u64,
    /// The first wait; each further failure doubles it, up to `window`.
    pub base: Duration,
    /// Failures of any kind from one address within the window.
    pub max_per_address: u64,
}

impl Policy {
    pub fn from_config(face: &crate::config::FaceConfig) -> Self {
        Policy {
            window: Duration::seconds(face.failure_window as i64),
            max_per_person: face.max_failures_per_iin.max(1),
            base: Duration::seconds(face.lockout_base as i64),
            max_per_address: face.max_failures_per_address.max(1),
        }
    }

    /// The start of the window the evidence is read from.
    pub fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.window
    }

    /// `pair`: times of face-presented failures of this IIN from this address
    /// within the window, oldest first; `by_address`: failures of any kind from
    /// this address within the window.
    pub fn locked(&self, pair: &[DateTime<Utc>], by_address: u64, now: DateTime<Utc>) -> bool {
        if by_address >= self.max_per_address {
            return true;
        }
        let n = pair.len() as u64;
        let Some(last) = pair.last() else { return false };
        if n < self.max_per_person {
            return false;
        }
        let doublings = (n - self.max_per_person).min(20) as u32;
        let wait = (self.base * 2i32.pow(doublings.min(30))).min(self.window);
        now < *last + wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy { window: Duration::seconds(900), max_per_person: 3, base: Duration::seconds(60), max_per_address: 20 }
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn below_the_allowance_nothing_waits() {
        assert!(!policy().locked(&[], 0, at(0)));
        assert!(!policy().locked(&[at(0), at(1)], 2, at(2)));
    }

    #[test]
    fn each_failure_beyond_the_allowance_doubles_the_wait_up_to_the_window() {
        let p = policy();
        let mut fails = vec![at(0), at(10), at(20)];
        assert!(p.locked(&fails, 3, at(79)), "third failure: 60 s");
        assert!(!p.locked(&fails, 3, at(80)));
        fails.push(at(100));
        assert!(p.locked(&fails, 4, at(219)), "fourth: 120 s");
        assert!(!p.locked(&fails, 4, at(220)));
        fails.extend([at(300), at(700), at(1500)]);
        // Seven failures would wait 960 s: the window caps it.
        assert!(p.locked(&fails, 7, at(1500 + 899)));
        assert!(!p.locked(&fails, 7, at(1500 + 900)));
    }

    /// The attack: keep trying while locked to keep the citizen out. Refused
    /// attempts are not recorded, so the evidence does not change and the
    /// lock ends when its wait does.
    #[test]
    fn trying_while_locked_does_not_renew_the_lock() {
        assert!(!recorded(FaceFailure::TooManyAttempts));
        let p = policy();
        let fails = [at(0), at(10), at(20)];
        for t in 21..80 {
            assert!(p.locked(&fails, 3, at(t)));
        }
        assert!(!p.locked(&fails, 3, at(80)));
    }

    /// The attack: post empty captures against a victim's IIN. They are not
    /// face-presented failures, so they count only against the address.
    #[test]
    fn failures_without_a_face_count_only_against_the_address() {
        for f in [FaceFailure::NoFace, FaceFailure::Timeout] {
            assert!(!FACE_PRESENTED.contains(&f));
            assert!(recorded(f));
        }
        let p = policy();
        assert!(!p.locked(&[], 19, at(0)));
        assert!(p.locked(&[], 20, at(0)), "the address's own allowance");
    }
}
