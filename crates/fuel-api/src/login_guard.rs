//! Failed logins slow down whoever makes them, per client address and per
//! user name, in bounded memory, without handing an attacker the power to
//! lock the real operator out.
//!
//! - Per address: 5 failures are free; after that the address waits before
//!   its next attempt, 1 s doubling per further failure up to 60 s (429 with
//!   `Retry-After`), and it has at most 2 attempts in flight at once (more
//!   are 429 at once, before any password check). A flood from one address
//!   thus costs at most a few checks and cannot queue ahead of others.
//! - Per user name: 10 failures (from any address) are free; after that the
//!   name waits 1 s doubling up to 15 s between attempts — except from an
//!   address that has logged in as that user before (remembered since
//!   fuel-api started, up to 8 per user), which the user lock never stops.
//!   Attempts spread over many addresses are slowed; the operator at their
//!   usual address is not, and from a new one waits at most 15 s.
//! - A success clears the address's and the user's failures. Records expire
//!   15 minutes after their last attempt; each table holds at most 4,096
//!   (the least recently used goes), so memory is bounded whatever the
//!   number of addresses or names an attacker makes up.
//!
//! Every login route calls [`LoginGuard::admit`] before checking a password
//! and [`Admission::finish`] after (`Auth::login` does both).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const ADDRESS_FREE_FAILURES: u32 = 5;
const ADDRESS_MAX_WAIT: Duration = Duration::from_secs(60);
const ADDRESS_IN_FLIGHT: u32 = 2;
const USER_FREE_FAILURES: u32 = 10;
const USER_MAX_WAIT: Duration = Duration::from_secs(15);
const KNOWN_ADDRESSES_PER_USER: usize = 8;
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
const CAPACITY: usize = 4096;

/// An attempt refused before any password check: try again after `retry_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slowed {
    pub retry_after: Duration,
    pub message: String,
}

impl Slowed {
    /// Whole seconds for `Retry-After`, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        if self.retry_after.subsec_nanos() > 0 || secs == 0 {
            secs + 1
        } else {
            secs
        }
    }
}

#[derive(Debug, Default)]
struct Record {
    failures: u32,
    wait_until: Option<Instant>,
    in_flight: u32,
    /// Addresses that logged in as this user (user records only).
    known: Vec<IpAddr>,
    last_seen: Option<Instant>,
}

impl Record {
    fn waiting(&self, now: Instant) -> Option<Duration> {
        self.wait_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    fn failed(&mut self, now: Instant, free: u32, max: Duration) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= free {
            let doublings = (self.failures - free).min(16);
            let wait = Duration::from_secs(1u64 << doublings).min(max);
            self.wait_until = Some(now + wait);
        }
    }
}

/// A map of at most [`CAPACITY`] records, the least recently seen evicted.
struct Table<K> {
    records: HashMap<K, Record>,
}

impl<K: Eq + Hash + Clone> Table<K> {
    fn new() -> Self {
        Table {
            records: HashMap::new(),
        }
    }

    fn get(&mut self, key: &K, now: Instant) -> &mut Record {
        if !self.records.contains_key(key) && self.records.len() >= CAPACITY {
            self.records.retain(|_, r| {
                r.in_flight > 0 || r.last_seen.is_some_and(|seen| now - seen < FORGET_AFTER)
            });
            if self.records.len() >= CAPACITY {
                let oldest = self
                    .records
                    .iter()
                    .filter(|(_, r)| r.in_flight == 0)
                    .min_by_key(|(_, r)| r.last_seen)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    self.records.remove(&oldest);
                }
            }
        }
        let record = self.records.entry(key.clone()).or_default();
        if record
            .last_seen
            .is_some_and(|seen| now - seen >= FORGET_AFTER)
            && record.in_flight == 0
        {
            let known = std::mem::take(&mut record.known);
            *record = Record {
                known,
                ..Record::default()
            };
        }
        record.last_seen = Some(now);
        record
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.records.len()
    }
}

struct Tables {
    addresses: Table<IpAddr>,
    users: Table<String>,
}

pub struct LoginGuard {
    tables: Mutex<Tables>,
}

impl Default for LoginGuard {
    fn default() -> Self {
        LoginGuard {
            tables: Mutex::new(Tables {
                addresses: Table::new(),
                users: Table::new(),
            }),
        }
    }
}

/// An admitted attempt; [`Admission::finish`] records how it ended. Dropped
/// unfinished (the client went away), it only frees its in-flight slot.
pub struct Admission<'g> {
    guard: &'g LoginGuard,
    address: IpAddr,
    user: String,
    known: bool,
    done: bool,
}

impl LoginGuard {
    /// Whether `user` may try a password from `address` now.
    pub fn admit(&self, user: &str, address: IpAddr) -> Result<Admission<'_>, Slowed> {
        let address = address.to_canonical();
        let now = Instant::now();
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let from = tables.addresses.get(&address, now);
        if let Some(left) = from.waiting(now) {
            return Err(Slowed {
                retry_after: left,
                message: format!(
                    "too many failed logins from {address}: try again in {} s",
                    left.as_secs() + 1
                ),
            });
        }
        if from.in_flight >= ADDRESS_IN_FLIGHT {
            return Err(Slowed {
                retry_after: Duration::from_secs(1),
                message: format!(
                    "{address} has {ADDRESS_IN_FLIGHT} logins being checked already: wait for their answers"
                ),
            });
        }
        let name = tables.users.get(&user.to_string(), now);
        let known = name.known.contains(&address);
        if let Some(left) = name.waiting(now) {
            if !known {
                return Err(Slowed {
                    retry_after: left,
                    message: format!(
                        "too many failed logins as this user: try again in {} s",
                        left.as_secs() + 1
                    ),
                });
            }
        }
        tables.addresses.get(&address, now).in_flight += 1;
        Ok(Admission {
            guard: self,
            address,
            user: user.to_string(),
            known,
            done: false,
        })
    }

    /// Records kept (addresses, user names), for tests of the bound.
    #[cfg(test)]
    fn sizes(&self) -> (usize, usize) {
        let tables = self.tables.lock().unwrap();
        (tables.addresses.len(), tables.users.len())
    }
}

impl Admission<'_> {
    /// Whether the address logged in as this user before.
    pub fn known(&self) -> bool {
        self.known
    }

    /// Records the attempt's outcome.
    pub fn finish(mut self, succeeded: bool) {
        self.done = true;
        let now = Instant::now();
        let mut tables = self.guard.tables.lock().unwrap_or_else(|p| p.into_inner());
        let from = tables.addresses.get(&self.address, now);
        from.in_flight = from.in_flight.saturating_sub(1);
        if succeeded {
            from.failures = 0;
            from.wait_until = None;
        } else {
            from.failed(now, ADDRESS_FREE_FAILURES, ADDRESS_MAX_WAIT);
        }
        let name = tables.users.get(&self.user, now);
        if succeeded {
            name.failures = 0;
            name.wait_until = None;
            if !name.known.contains(&self.address) {
                if name.known.len() >= KNOWN_ADDRESSES_PER_USER {
                    name.known.remove(0);
                }
                name.known.push(self.address);
            }
        } else {
            name.failed(now, USER_FREE_FAILURES, USER_MAX_WAIT);
        }
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let now = Instant::now();
        let mut tables = self.guard.tables.lock().unwrap_or_else(|p| p.into_inner());
        let from = tables.addresses.get(&self.address, now);
        from.in_flight = from.in_flight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn fail(guard: &LoginGuard, user: &str, address: &str) {
        guard.admit(user, ip(address)).unwrap().finish(false);
    }

    #[test]
    fn an_address_is_slowed_after_five_failures_and_others_are_not() {
        let guard = LoginGuard::default();
        for _ in 0..5 {
            fail(&guard, "admin", "10.0.0.9");
        }
        let slowed = guard.admit("admin", ip("10.0.0.9")).err().unwrap();
        assert_eq!(slowed.retry_after_secs(), 1, "{slowed:?}");
        assert!(guard.admit("admin", ip("10.0.0.1")).is_ok());
        // The IPv4-mapped spelling is the same client.
        assert!(guard.admit("admin", ip("::ffff:10.0.0.9")).is_err());
    }

    #[test]
    fn at_most_two_attempts_of_one_address_are_in_flight() {
        let guard = LoginGuard::default();
        let first = guard.admit("a", ip("10.0.0.9")).unwrap();
        let _second = guard.admit("b", ip("10.0.0.9")).unwrap();
        assert!(guard.admit("c", ip("10.0.0.9")).is_err());
        drop(first);
        assert!(guard.admit("c", ip("10.0.0.9")).is_ok());
    }

    #[test]
    fn a_user_under_attack_is_slowed_except_from_an_address_that_logged_in_before() {
        let guard = LoginGuard::default();
        guard.admit("admin", ip("10.0.0.1")).unwrap().finish(true);
        for n in 0..10 {
            fail(&guard, "admin", &format!("10.9.0.{n}"));
        }
        assert!(
            guard.admit("admin", ip("10.0.0.2")).is_err(),
            "a new address waits"
        );
        assert!(
            guard.admit("admin", ip("10.0.0.1")).is_ok(),
            "the operator's address does not"
        );
        assert!(guard.admit("other", ip("10.0.0.2")).is_ok());
    }

    #[test]
    fn the_tables_stay_bounded_under_made_up_addresses_and_names() {
        let guard = LoginGuard::default();
        for n in 0..(CAPACITY as u32 + 500) {
            let address = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            guard
                .admit(&format!("user{n}"), address)
                .unwrap()
                .finish(false);
        }
        let (addresses, users) = guard.sizes();
        assert!(
            addresses <= CAPACITY && users <= CAPACITY,
            "{addresses} {users}"
        );
    }
}
