//! The `BookingStore` port and its adapters.
//!
//! One call stores one accepted booking together with its guards (the
//! idempotency key, the duplicate fingerprint and the per-source rate
//! counter), all or nothing. Which guard wins when several trip is decided
//! here, once, for every adapter.

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "embedded")]
pub mod embedded;

use crate::booking::{Booking, Fingerprint, IdempotencyKey, Reference};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

/// How long an idempotency key and a duplicate fingerprint hold.
pub const GUARD_WINDOW: Duration = Duration::hours(24);

/// The length of a rate-limit window.
pub const RATE_WINDOW: Duration = Duration::hours(1);

/// A pseudonymous key for the sender of a request: a hash of its address,
/// IPv6 reduced to its /64 (one subscriber's block). The address itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceKey(String);

impl SourceKey {
    /// The key of an address.
    pub fn of(addr: IpAddr) -> Self {
        let canonical = match addr {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        };
        let digest = Sha256::digest(format!("frontdesk-rate:{canonical}").as_bytes());
        Self(hex::encode(&digest[..12]))
    }

    /// The hashed key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The rate counter a booking is charged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCharge {
    /// Who sent the request.
    pub source: SourceKey,
    /// The start of the fixed window the request falls in.
    pub window_start: OffsetDateTime,
    /// Bookings allowed per window.
    pub limit: u32,
}

impl RateCharge {
    /// The charge for a request from `source` at `now`, in the hour it falls in.
    pub fn at(source: SourceKey, now: OffsetDateTime, limit: u32) -> Self {
        let secs = RATE_WINDOW.whole_seconds();
        let start = now.unix_timestamp().div_euclid(secs) * secs;
        Self {
            source,
            window_start: OffsetDateTime::from_unix_timestamp(start).unwrap_or(now),
            limit,
        }
    }

    /// When the window ends and a new one opens.
    pub fn window_end(&self) -> OffsetDateTime {
        self.window_start + RATE_WINDOW
    }

    /// The counter's key in a guards store.
    pub fn key(&self) -> String {
        format!(
            "rate#{}#{}",
            self.source.as_str(),
            self.window_start.unix_timestamp()
        )
    }
}

/// Everything one insert writes, or nothing of it.
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// The booking, with its reference and retention.
    pub booking: Booking,
    /// Its fingerprint, for duplicates without a key.
    pub fingerprint: Fingerprint,
    /// The idempotency key the client sent, if any.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The rate counter to charge, if rate limiting is on.
    pub rate: Option<RateCharge>,
    /// The time of the request: guards that expired before it do not count.
    pub now: OffsetDateTime,
}

impl NewBooking {
    /// When the idempotency and fingerprint guards stop holding.
    pub fn guard_expires_at(&self) -> OffsetDateTime {
        self.now + GUARD_WINDOW
    }

    /// The idempotency guard's key: a hash of the client's key, which is
    /// stored nowhere as sent (a site might use something personal as a key).
    pub fn idempotency_guard_key(&self) -> Option<String> {
        self.idempotency_key
            .as_ref()
            .map(|k| format!("idem#{}", k.digest()))
    }

    /// The fingerprint guard's key.
    pub fn fingerprint_guard_key(&self) -> String {
        format!("fp#{}", self.fingerprint.as_str())
    }
}

/// What an insert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The booking is stored, with its guards.
    Stored,
    /// The same request was accepted before: answer with its reference.
    Replay {
        /// The earlier booking's reference.
        reference: Reference,
        /// When the earlier booking arrived.
        received_at: OffsetDateTime,
    },
    /// The idempotency key was used before with a different request.
    KeyReused,
    /// The source has used its allowance for this window.
    RateLimited {
        /// When the window ends.
        until: OffsetDateTime,
    },
    /// The random reference already exists: try again with a new one.
    ReferenceTaken,
}

/// A store failure: the caller answers 503 and nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store is unreachable or throttling: nothing was written, worth
    /// retrying later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer in time, or its answer was lost on the way:
    /// a write may have happened. Retrying with the same guards is safe.
    #[error("store did not confirm: {0}")]
    Unconfirmed(String),
    /// The store refuses the request as configured (missing table, no permission).
    #[error("store misconfigured: {0}")]
    Misconfigured(String),
    /// A stored item could not be read.
    #[error("store holds an unreadable item: {0}")]
    Corrupt(String),
}

/// An active guard record found by an insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardHit {
    /// The reference the guard points at.
    pub reference: Reference,
    /// When that booking arrived.
    pub received_at: OffsetDateTime,
    /// The fingerprint of the request that set the guard.
    pub fingerprint: Fingerprint,
}

/// What the guards found, in the adapters' words.
#[derive(Debug, Clone, Default)]
pub struct Conflicts {
    /// An active idempotency record for the key.
    pub idempotency: Option<GuardHit>,
    /// An active fingerprint record.
    pub fingerprint: Option<GuardHit>,
    /// The rate counter is at its limit.
    pub rate_exceeded: bool,
    /// The booking's reference exists.
    pub reference_taken: bool,
}

impl Conflicts {
    /// Decides the outcome: a replay wins over a rate limit (a retry of an
    /// accepted booking is never refused), and a key reused with another
    /// body is refused even when the body matches some other booking.
    /// `None` when nothing tripped.
    pub fn outcome(self, new: &NewBooking) -> Option<InsertOutcome> {
        if let Some(hit) = self.idempotency {
            return Some(if hit.fingerprint == new.fingerprint {
                InsertOutcome::Replay {
                    reference: hit.reference,
                    received_at: hit.received_at,
                }
            } else {
                InsertOutcome::KeyReused
            });
        }
        if let Some(hit) = self.fingerprint {
            return Some(InsertOutcome::Replay {
                reference: hit.reference,
                received_at: hit.received_at,
            });
        }
        if self.rate_exceeded {
            if let Some(rate) = &new.rate {
                return Some(InsertOutcome::RateLimited {
                    until: rate.window_end(),
                });
            }
        }
        if self.reference_taken {
            return Some(InsertOutcome::ReferenceTaken);
        }
        None
    }
}

/// Where bookings are kept: DynamoDB in Lambda, SQLite locally.
#[async_trait]
pub trait BookingStore: Send + Sync {
    /// Stores a booking and its guards atomically, or reports which guard stopped it.
    async fn insert(&self, new: NewBooking) -> Result<InsertOutcome, StoreError>;

    /// Reads a booking back by reference.
    async fn get(&self, reference: &Reference) -> Result<Option<Booking>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_sources_share_their_64() {
        let a = SourceKey::of("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = SourceKey::of("2001:db8:1:2:bbbb::2".parse().unwrap());
        let c = SourceKey::of("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            SourceKey::of("::ffff:192.0.2.1".parse().unwrap()),
            SourceKey::of("192.0.2.1".parse().unwrap())
        );
        assert!(!a.as_str().contains("2001"));
    }

    fn new_booking(key: Option<&str>, rate: Option<RateCharge>) -> NewBooking {
        let booking = crate::booking::fixture::booking(crate::booking::fixture::FORM);
        NewBooking {
            fingerprint: Fingerprint::of(&booking.details),
            now: booking.received_at,
            booking,
            idempotency_key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
            rate,
        }
    }

    fn hit(fingerprint: &Fingerprint) -> GuardHit {
        GuardHit {
            reference: Reference::parse("CCL-AAAA-2222").unwrap(),
            received_at: OffsetDateTime::from_unix_timestamp(1_000).unwrap(),
            fingerprint: fingerprint.clone(),
        }
    }

    fn replay_of_hit() -> InsertOutcome {
        InsertOutcome::Replay {
            reference: Reference::parse("CCL-AAAA-2222").unwrap(),
            received_at: OffsetDateTime::from_unix_timestamp(1_000).unwrap(),
        }
    }

    #[test]
    fn guards_hold_for_a_day_from_the_request() {
        let new = new_booking(None, None);
        assert_eq!(new.guard_expires_at(), new.now + Duration::hours(24));
    }

    #[test]
    fn the_idempotency_guard_is_keyed_by_a_hash_of_the_clients_key() {
        assert_eq!(new_booking(None, None).idempotency_guard_key(), None);
        let a = new_booking(Some("ann-smith-1970"), None)
            .idempotency_guard_key()
            .unwrap();
        let again = new_booking(Some("ann-smith-1970"), None)
            .idempotency_guard_key()
            .unwrap();
        let b = new_booking(Some("ann-smith-1971"), None)
            .idempotency_guard_key()
            .unwrap();
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert_eq!(
            a,
            format!(
                "idem#{}",
                IdempotencyKey::parse("ann-smith-1970").unwrap().digest()
            )
        );
        assert!(!a.contains("ann"), "the key as sent is stored nowhere: {a}");
    }

    #[test]
    fn the_fingerprint_guard_is_keyed_by_the_fingerprint() {
        let new = new_booking(None, None);
        assert_eq!(
            new.fingerprint_guard_key(),
            format!("fp#{}", new.fingerprint.as_str())
        );
        let other =
            crate::booking::fixture::booking(&crate::booking::fixture::FORM.replace("Ann", "Bea"));
        let other = NewBooking {
            fingerprint: Fingerprint::of(&other.details),
            ..new.clone()
        };
        assert_ne!(new.fingerprint_guard_key(), other.fingerprint_guard_key());
    }

    #[test]
    fn each_source_and_window_has_its_own_counter() {
        let now = OffsetDateTime::from_unix_timestamp(3600 * 10 + 125).unwrap();
        let ann = SourceKey::of("192.0.2.1".parse().unwrap());
        let bea = SourceKey::of("192.0.2.2".parse().unwrap());
        let charge = RateCharge::at(ann.clone(), now, 10);
        assert_eq!(charge.key(), format!("rate#{}#36000", ann.as_str()));
        assert_ne!(charge.key(), RateCharge::at(bea, now, 10).key());
        assert_ne!(
            charge.key(),
            RateCharge::at(ann, now + RATE_WINDOW, 10).key()
        );
        assert_eq!(
            charge.source.as_str().len(),
            24,
            "12 bytes of the hash, in hex"
        );
        assert!(!charge.key().contains("192.0.2"));
    }

    #[test]
    fn nothing_tripped_is_no_outcome() {
        assert_eq!(Conflicts::default().outcome(&new_booking(None, None)), None);
    }

    #[test]
    fn a_key_with_its_own_body_replays_and_with_another_is_refused() {
        let new = new_booking(Some("key-1"), None);
        let same = Conflicts {
            idempotency: Some(hit(&new.fingerprint)),
            ..Default::default()
        };
        assert_eq!(same.outcome(&new), Some(replay_of_hit()));
        let other = Fingerprint::from_stored("00".repeat(32));
        let reused = Conflicts {
            idempotency: Some(hit(&other)),
            // The body matches another booking: the key still decides.
            fingerprint: Some(hit(&new.fingerprint)),
            rate_exceeded: true,
            reference_taken: true,
        };
        assert_eq!(reused.outcome(&new), Some(InsertOutcome::KeyReused));
    }

    #[test]
    fn a_duplicate_body_replays_even_over_the_rate_limit() {
        let now = OffsetDateTime::from_unix_timestamp(3600 * 10 + 125).unwrap();
        let new = new_booking(
            None,
            Some(RateCharge::at(
                SourceKey::of("192.0.2.1".parse().unwrap()),
                now,
                1,
            )),
        );
        let conflicts = Conflicts {
            fingerprint: Some(hit(&new.fingerprint)),
            rate_exceeded: true,
            reference_taken: true,
            ..Default::default()
        };
        assert_eq!(conflicts.outcome(&new), Some(replay_of_hit()));
    }

    #[test]
    fn a_spent_allowance_is_refused_until_its_window_ends() {
        let now = OffsetDateTime::from_unix_timestamp(3600 * 10 + 125).unwrap();
        let rate = RateCharge::at(SourceKey::of("192.0.2.1".parse().unwrap()), now, 1);
        let new = new_booking(None, Some(rate));
        let conflicts = Conflicts {
            rate_exceeded: true,
            reference_taken: true,
            ..Default::default()
        };
        let until = OffsetDateTime::from_unix_timestamp(39600).unwrap();
        assert_eq!(
            conflicts.outcome(&new),
            Some(InsertOutcome::RateLimited { until })
        );
        // Without a charge (rate limiting off) a full counter is not a refusal.
        let conflicts = Conflicts {
            rate_exceeded: true,
            ..Default::default()
        };
        assert_eq!(conflicts.outcome(&new_booking(None, None)), None);
    }

    #[test]
    fn a_taken_reference_asks_for_another() {
        let conflicts = Conflicts {
            reference_taken: true,
            ..Default::default()
        };
        assert_eq!(
            conflicts.outcome(&new_booking(None, None)),
            Some(InsertOutcome::ReferenceTaken)
        );
    }

    #[test]
    fn rate_windows_are_whole_hours() {
        let now = OffsetDateTime::from_unix_timestamp(3600 * 10 + 125).unwrap();
        let charge = RateCharge::at(SourceKey::of("192.0.2.1".parse().unwrap()), now, 10);
        assert_eq!(charge.window_start.unix_timestamp(), 36000);
        assert_eq!(charge.window_end().unix_timestamp(), 39600);
    }
}
