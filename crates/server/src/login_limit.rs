//! Limits on failed authentications, per client address and per username,
//! consulted before a password is hashed: an attempt over a limit is
//! answered 429 with `Retry-After` at once, without argon2, so a flood of
//! wrong passwords cannot occupy the verifiers that legitimate logins wait
//! for.
//!
//! Each key may fail `free` times; then it waits 1 s before its next
//! attempt, and the wait doubles with every further failure (up to
//! [`MAX_BACKOFF`]). Attempts in progress count against the free ones:
//! further attempts queue ([`Refusal::Busy`]) until one ends, so 200
//! simultaneous guesses get `free` verifications, not 200, while 200
//! simultaneous uses of a new, correct token wait for the first to be
//! verified and then find it cached. After the free ones, one attempt at a
//! time. A key is forgotten [`FORGET_AFTER`] its
//! last failure. A successful login clears its username's count (the owner
//! is back) but not its address's (an attacker's own account must not reset
//! the count of its guesses).
//!
//! The address is the TCP peer's, as for the webhook limit
//! ([`crate::webhook_guard::client_ip`]); IPv6 addresses count per /64, the
//! block one host usually has. Behind a reverse proxy every client shares
//! the proxy's address: raise `login_failures_per_ip` or set it to 0 there.
//!
//! Written here rather than with a rate-limiting crate (governor and the
//! like limit the rate of all requests): this counts failures only, backs
//! off exponentially, and must reserve a place before the outcome is known.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Failures allowed before the backoff starts; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub failures_per_ip: u32,
    pub failures_per_user: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits { failures_per_ip: 20, failures_per_user: 5 }
    }
}

pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Keys tracked per limit at most; past that, stale ones are dropped, and a
/// flood of new keys is not tracked (the other limit still applies).
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Default)]
struct Entry {
    failures: u32,
    in_flight: u32,
    blocked_until: Option<Instant>,
    last_failure: Option<Instant>,
}

struct FailureLimiter<K> {
    free: u32,
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq + Clone> FailureLimiter<K> {
    fn new(free: u32) -> Self {
        FailureLimiter { free, entries: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves an attempt for `key` (true when it is tracked), or refuses.
    fn begin(&self, key: &K, now: Instant) -> Result<bool, Refusal> {
        if self.free == 0 {
            return Ok(false);
        }
        let mut entries = self.lock();
        if !entries.contains_key(key) && entries.len() >= MAX_KEYS {
            entries.retain(|_, e| e.in_flight > 0 || e.last_failure.is_some_and(|t| now - t < FORGET_AFTER));
            if entries.len() >= MAX_KEYS {
                return Ok(false);
            }
        }
        let e = entries.entry(key.clone()).or_default();
        if e.in_flight == 0 && e.last_failure.is_some_and(|t| now - t >= FORGET_AFTER) {
            *e = Entry::default();
        }
        if let Some(until) = e.blocked_until.filter(|u| *u > now) {
            return Err(Refusal::Blocked(until - now));
        }
        let allowed =
            if e.failures >= self.free { e.in_flight == 0 } else { e.failures + e.in_flight < self.free };
        if !allowed {
            return Err(Refusal::Busy);
        }
        e.in_flight += 1;
        Ok(true)
    }

    fn end(&self, key: &K, outcome: Outcome, now: Instant) {
        let mut entries = self.lock();
        let Some(e) = entries.get_mut(key) else { return };
        e.in_flight = e.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Failed => {
                e.failures = e.failures.saturating_add(1);
                e.last_failure = Some(now);
                if e.failures >= self.free {
                    let doublings = (e.failures - self.free).min(16);
                    e.blocked_until = Some(now + Duration::from_secs(1 << doublings).min(MAX_BACKOFF));
                }
            }
            Outcome::Reset => {
                if e.in_flight == 0 {
                    entries.remove(key);
                } else {
                    *e = Entry { in_flight: e.in_flight, ..Entry::default() };
                }
            }
            Outcome::Released => {}
        }
    }
}

/// Why an attempt may not start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the limit: try again after this long (429, Retry-After).
    Blocked(Duration),
    /// As many attempts in progress as the key may fail: wait until one ends
    /// ([`LoginLimiter::ended`]) and look again.
    Busy,
}

#[derive(Clone, Copy)]
enum Outcome {
    Failed,
    Reset,
    Released,
}

/// The two limits of [`LoginLimits`].
pub struct LoginLimiter {
    per_ip: FailureLimiter<IpAddr>,
    per_user: FailureLimiter<String>,
    ended: Notify,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Arc<LoginLimiter> {
        Arc::new(LoginLimiter {
            per_ip: FailureLimiter::new(limits.failures_per_ip),
            per_user: FailureLimiter::new(limits.failures_per_user),
            ended: Notify::new(),
        })
    }

    /// Wakes when any attempt ends; create (and enable) it before
    /// [`begin`](Self::begin) answers Busy, so no ending is missed.
    pub fn ended(&self) -> tokio::sync::futures::Notified<'_> {
        self.ended.notified()
    }

    /// A place for one verification of `username` from `ip`, or the wait
    /// (for Retry-After) when either is over its limit.
    pub fn begin(self: &Arc<Self>, ip: Option<IpAddr>, username: &str) -> Result<Attempt, Refusal> {
        let now = Instant::now();
        let ip = ip.map(address_key);
        let ip_held = match ip {
            Some(ip) => self.per_ip.begin(&ip, now)?,
            None => false,
        };
        let user = username.to_string();
        let user_held = match self.per_user.begin(&user, now) {
            Ok(held) => held,
            Err(wait) => {
                if let (Some(ip), true) = (ip, ip_held) {
                    self.per_ip.end(&ip, Outcome::Released, now);
                }
                return Err(wait);
            }
        };
        Ok(Attempt {
            limiter: self.clone(),
            ip: ip.filter(|_| ip_held),
            user: user_held.then_some(user),
            done: false,
        })
    }
}

/// IPv4 as it is (also when mapped into IPv6), IPv6 by its /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// One verification in progress; dropped without an outcome (the client
/// went away), it gives its place back and counts nothing.
pub struct Attempt {
    limiter: Arc<LoginLimiter>,
    ip: Option<IpAddr>,
    user: Option<String>,
    done: bool,
}

impl Attempt {
    pub fn failed(mut self) {
        self.finish(Outcome::Failed, Outcome::Failed);
    }

    pub fn succeeded(mut self) {
        self.finish(Outcome::Released, Outcome::Reset);
    }

    fn finish(&mut self, ip_outcome: Outcome, user_outcome: Outcome) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let now = Instant::now();
        if let Some(ip) = &self.ip {
            self.limiter.per_ip.end(ip, ip_outcome, now);
        }
        if let Some(user) = &self.user {
            self.limiter.per_user.end(user, user_outcome, now);
        }
        self.limiter.ended.notify_waiters();
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.finish(Outcome::Released, Outcome::Released);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn free_failures_then_doubling_waits() {
        let l = LoginLimiter::new(LoginLimits { failures_per_ip: 0, failures_per_user: 3 });
        for _ in 0..3 {
            l.begin(ip("192.0.2.1"), "admin").unwrap().failed();
        }
        let Err(Refusal::Blocked(wait)) = l.begin(ip("192.0.2.1"), "admin") else { panic!() };
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900), "{wait:?}");
        // Other users are not affected.
        l.begin(ip("192.0.2.1"), "alice").unwrap().failed();
        // After the wait: one attempt; failing doubles the wait.
        let mut entries = l.per_user.lock();
        entries.get_mut("admin").unwrap().blocked_until = Some(Instant::now());
        drop(entries);
        l.begin(ip("192.0.2.1"), "admin").unwrap().failed();
        let Err(Refusal::Blocked(wait)) = l.begin(ip("192.0.2.1"), "admin") else { panic!() };
        assert!(wait > Duration::from_millis(1900), "{wait:?}");
    }

    #[test]
    fn attempts_in_flight_count_and_success_resets_the_user() {
        let l = LoginLimiter::new(LoginLimits { failures_per_ip: 0, failures_per_user: 2 });
        let a = l.begin(None, "admin").unwrap();
        let b = l.begin(None, "admin").unwrap();
        assert_eq!(l.begin(None, "admin").err(), Some(Refusal::Busy), "two in flight use both free places");
        drop(b);
        a.succeeded();
        l.begin(None, "admin").unwrap().failed();
        l.begin(None, "admin").unwrap().succeeded();
        // The success cleared the count: two free failures again.
        l.begin(None, "admin").unwrap().failed();
        l.begin(None, "admin").unwrap().failed();
        assert!(l.begin(None, "admin").is_err());
    }

    #[test]
    fn addresses_count_per_host_and_ipv6_per_64() {
        let l = LoginLimiter::new(LoginLimits { failures_per_ip: 2, failures_per_user: 0 });
        l.begin(ip("2001:db8::1"), "a").unwrap().failed();
        l.begin(ip("2001:db8::2"), "b").unwrap().failed();
        assert!(l.begin(ip("2001:db8::3"), "c").is_err(), "same /64");
        l.begin(ip("2001:db8:0:1::1"), "c").unwrap().failed();
        // A success does not clear the address's failures.
        l.begin(ip("192.0.2.1"), "a").unwrap().failed();
        l.begin(ip("192.0.2.1"), "a").unwrap().succeeded();
        l.begin(ip("192.0.2.1"), "a").unwrap().failed();
        assert!(l.begin(ip("192.0.2.1"), "a").is_err());
        assert_eq!(address_key("::ffff:192.0.2.9".parse().unwrap()), "192.0.2.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn zero_is_off() {
        let l = LoginLimiter::new(LoginLimits { failures_per_ip: 0, failures_per_user: 0 });
        for _ in 0..100 {
            l.begin(ip("192.0.2.1"), "admin").unwrap().failed();
        }
    }
}
