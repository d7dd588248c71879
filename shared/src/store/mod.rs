//! The `BookingStore` port and its adapters.
//!
//! One call stores one accepted booking together with its guards (the
//! idempotency key, the duplicate fingerprint and the per-source rate
//! counters), all or nothing. Which guard wins when several trip is decided
//! here, once, for every adapter.
//!
//! Every guard is keyed by a [`MatchKey`] tag, never by a plain value or a
//! plain hash of one, and no answer depends on whether someone else's
//! request was there before: the rate limit is decided first, a request
//! without a key is answered the same whether it is new or a duplicate,
//! and a reference is only ever returned to the key that made it.

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "embedded")]
pub mod embedded;

use crate::booking::{Booking, Fingerprint, Reference, SubjectTag, SubjectTags};
use crate::match_key::{MatchKey, Purpose};
use async_trait::async_trait;
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

/// How long an idempotency key and a duplicate fingerprint hold.
pub const GUARD_WINDOW: Duration = Duration::hours(24);

/// The most acknowledgements one address is sent in any 24 hours.
pub const ACKNOWLEDGEMENTS_PER_ADDRESS: u32 = 3;

/// A pseudonymous key for the sender of a request: the [`MatchKey`] tag of
/// its address, IPv6 reduced to its /56 (the smallest block ISPs give a
/// customer, so one household cannot rotate through its addresses). The
/// address itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceKey(String);

impl SourceKey {
    /// The key of an address.
    pub fn of(addr: IpAddr, key: &MatchKey) -> Self {
        let canonical = match addr {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let o = v6.octets();
                    format!("{}/56", hex::encode(&o[..7]))
                }
            },
        };
        Self(key.tag(Purpose::Source, canonical.as_bytes()))
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an [`Allowance`] counts, and so its windows' length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Bookings from one source: windows of an hour, staggered by half an hour.
    Requests,
    /// Acknowledgements to one address: windows of 48 hours, staggered by
    /// 24 hours, so that any 24 hours lie inside one window of one grid.
    Acknowledgements,
}

impl Counted {
    /// The length of one window.
    pub fn window(self) -> Duration {
        match self {
            Counted::Requests => Duration::hours(1),
            Counted::Acknowledgements => Duration::hours(48),
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Counted::Requests => "rate",
            Counted::Acknowledgements => "ack",
        }
    }
}

/// One fixed window of a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// When it opens.
    pub start: OffsetDateTime,
    /// When it closes and the next of its grid opens.
    pub end: OffsetDateTime,
}

/// The counters one booking is charged to: one window of each of two grids,
/// the second staggered by half a window, both charged in the booking's one
/// write and both required under the limit.
///
/// The bound this gives, for a limit `L` and a window `W`: at most `L` in
/// any `W/2` (any span of half a window lies inside one window of one
/// grid), at most `2L` in any `W`, and on average at most `L` a window. One
/// fixed grid alone lets `2L` through in a moment across its edge. For
/// requests (`W` an hour) that is `L` in any half hour; for
/// acknowledgements (`W` 48 hours) it is at most `L` in any 24 hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// What is counted.
    pub counted: Counted,
    /// Whose allowance it is: a [`MatchKey`] tag.
    pub holder: String,
    /// The window of each grid that the booking falls in.
    pub windows: [Window; 2],
    /// How many each window allows.
    pub limit: u32,
}

impl Allowance {
    /// The allowance of bookings from `source` at `now`.
    pub fn requests(source: SourceKey, now: OffsetDateTime, limit: u32) -> Self {
        Self::at(Counted::Requests, source.0, now, limit)
    }

    /// The allowance of acknowledgements to `recipient` at `now`.
    pub fn acknowledgements(recipient: &str, key: &MatchKey, now: OffsetDateTime) -> Self {
        let holder = key.tag(Purpose::Recipient, recipient.as_bytes());
        Self::at(
            Counted::Acknowledgements,
            holder,
            now,
            ACKNOWLEDGEMENTS_PER_ADDRESS,
        )
    }

    fn at(counted: Counted, holder: String, now: OffsetDateTime, limit: u32) -> Self {
        let length = counted.window();
        let window = |offset: Duration| {
            let secs = length.whole_seconds();
            let shifted = now.unix_timestamp() - offset.whole_seconds();
            let start = shifted.div_euclid(secs) * secs + offset.whole_seconds();
            let start = OffsetDateTime::from_unix_timestamp(start).unwrap_or(now);
            Window {
                start,
                end: start + length,
            }
        };
        Self {
            counted,
            holder,
            windows: [window(Duration::ZERO), window(length / 2)],
            limit,
        }
    }

    /// The counter's key in a guards store, for each window.
    pub fn keys(&self) -> [String; 2] {
        self.windows.map(|w| {
            format!(
                "{}#{}#{}",
                self.counted.prefix(),
                self.holder,
                w.start.unix_timestamp()
            )
        })
    }

    /// When a request refused by the windows marked `full` may try again:
    /// the latest end among them.
    pub fn retry_at(&self, full: [bool; 2]) -> OffsetDateTime {
        self.windows
            .iter()
            .zip(full)
            .filter(|(_, full)| *full)
            .map(|w| w.0.end)
            .max()
            .unwrap_or(self.windows[0].end)
    }
}

/// Everything one insert writes, or nothing of it.
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// The booking, with its reference and retention.
    pub booking: Booking,
    /// Its fingerprint, for duplicates.
    pub fingerprint: Fingerprint,
    /// The keyed tags of its booker's email and phone, stored and indexed
    /// with it, to find a person's bookings.
    pub subject: SubjectTags,
    /// The tag of the idempotency key the client sent, if any.
    pub idempotency: Option<String>,
    /// The rate counters to charge, if rate limiting is on.
    pub rate: Option<Allowance>,
    /// The recipient's acknowledgement counters, while an acknowledgement is
    /// owed: when they are full, the booking is stored all the same, with
    /// its acknowledgement withheld.
    pub acknowledgements: Option<Allowance>,
    /// The time of the request: guards that expired before it do not count.
    pub now: OffsetDateTime,
    /// The earlier booking with the same details, when this one came with
    /// a key of its own: set by the store, so staff see one person asking twice.
    pub repeat_of: Option<Reference>,
}

impl NewBooking {
    /// The same booking with its acknowledgement withheld, for `why`, and
    /// not counted.
    pub fn withholding_acknowledgement(&mut self, why: crate::booking::Withheld) {
        self.booking.acknowledgement = crate::booking::Acknowledgement::Withheld(why);
        self.acknowledgements = None;
    }

    /// When the idempotency and fingerprint guards stop holding.
    pub fn guard_expires_at(&self) -> OffsetDateTime {
        self.now + GUARD_WINDOW
    }

    /// The idempotency guard's key.
    pub fn idempotency_guard_key(&self) -> Option<String> {
        self.idempotency.as_ref().map(|tag| format!("idem#{tag}"))
    }

    /// The fingerprint guard's key.
    pub fn fingerprint_guard_key(&self) -> String {
        fingerprint_guard_key(&self.fingerprint)
    }
}

/// The key of the duplicate guard of a booking's `fingerprint`.
pub fn fingerprint_guard_key(fingerprint: &Fingerprint) -> String {
    format!("fp#{}", fingerprint.as_str())
}

/// What an insert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The booking is stored, with its guards.
    Stored,
    /// The same key was accepted before with the same body: answer with its reference.
    Replay {
        /// The earlier booking's reference.
        reference: Reference,
        /// When the earlier booking arrived.
        received_at: OffsetDateTime,
    },
    /// A request without a key repeats one from the last day: nothing new
    /// is stored, and it is answered as a new one is (without a reference).
    Duplicate,
    /// The idempotency key was used before with a different request.
    KeyReused,
    /// The source has used its allowance.
    RateLimited {
        /// When it may try again.
        until: OffsetDateTime,
    },
    /// The random reference already exists: try again with a new one.
    ReferenceTaken,
}

/// What an adapter does with what its guards found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The insert is over: answer this.
    Decided(InsertOutcome),
    /// A request with a key of its own repeats an earlier booking: store
    /// it anyway, linked to that one, leaving the fingerprint guard as it is.
    Repeat {
        /// The earlier booking.
        of: Reference,
    },
    /// A request without a key repeats an earlier one: store nothing but
    /// the rate charge (so that the counters, too, cannot tell), and answer
    /// [`InsertOutcome::Duplicate`].
    Duplicate,
    /// The recipient has had their acknowledgements: store the booking all
    /// the same, with its acknowledgement withheld and nothing counted.
    WithholdAcknowledgement,
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

impl StoreError {
    /// Its kind, for a log line.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::Unconfirmed(_) => "unconfirmed",
            Self::Misconfigured(_) => "misconfigured",
            Self::Corrupt(_) => "corrupt",
        }
    }

    /// The service's error code at the start of its text
    /// (`ResourceNotFoundException: ...`), or `none`: what a log may keep
    /// of it, since the rest may quote what was stored, a patient's data.
    pub fn code(&self) -> &str {
        let (Self::Unavailable(why)
        | Self::Unconfirmed(why)
        | Self::Misconfigured(why)
        | Self::Corrupt(why)) = self;
        why.split_once(':')
            .map(|(code, _)| code)
            .filter(|code| !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or("none")
    }
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
    /// Which of the two rate counters is at its limit.
    pub rate_full: [bool; 2],
    /// Whether either acknowledgement counter is at its limit.
    pub acknowledgements_full: bool,
    /// The booking's reference exists.
    pub reference_taken: bool,
}

impl Conflicts {
    /// Decides what happens, the same for every adapter. `None` when
    /// nothing tripped.
    ///
    /// Only the key's own holder can reach the first rule, so a replay of
    /// an accepted request (a retry after a lost answer) is answered even
    /// over the rate limit. Everything after it could be reached by anyone
    /// who knows a person's details, so the rate limit comes before the
    /// fingerprint: a full allowance is refused whether or not the body
    /// was seen before.
    pub fn verdict(self, new: &NewBooking) -> Option<Verdict> {
        if let Some(hit) = self.idempotency {
            return Some(Verdict::Decided(if hit.fingerprint == new.fingerprint {
                InsertOutcome::Replay {
                    reference: hit.reference,
                    received_at: hit.received_at,
                }
            } else {
                InsertOutcome::KeyReused
            }));
        }
        if let Some(rate) = &new.rate {
            if self.rate_full.iter().any(|full| *full) {
                return Some(Verdict::Decided(InsertOutcome::RateLimited {
                    until: rate.retry_at(self.rate_full),
                }));
            }
        }
        if let Some(hit) = self.fingerprint {
            return Some(match new.idempotency {
                Some(_) => Verdict::Repeat { of: hit.reference },
                None => Verdict::Duplicate,
            });
        }
        if self.acknowledgements_full && new.acknowledgements.is_some() {
            return Some(Verdict::WithholdAcknowledgement);
        }
        if self.reference_taken {
            return Some(Verdict::Decided(InsertOutcome::ReferenceTaken));
        }
        None
    }
}

/// Finds a person's bookings by the keyed tag of their email address or
/// phone number (`SubjectTags`, stored with each booking): where a subject
/// access request or an erasure starts.
#[async_trait]
pub trait SubjectIndex: Send + Sync {
    /// Every booking stored with `tag` and still within its retention at
    /// `now`, oldest first.
    async fn bookings_of(
        &self,
        tag: &SubjectTag,
        now: OffsetDateTime,
    ) -> Result<Vec<Reference>, StoreError>;

    /// Gives every booking stored before the tags its tags under `key`,
    /// one conditional write each (safe to run again, and while bookings
    /// arrive): how many it tagged. A booking whose email or phone does
    /// not read back is left, and counted as an error.
    async fn tag_untagged(&self, key: &MatchKey) -> Result<u64, StoreError>;
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
    use std::collections::HashMap;

    use crate::booking::fixture::match_key;

    fn source(addr: &str) -> SourceKey {
        SourceKey::of(addr.parse().unwrap(), &match_key())
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[test]
    fn ipv6_sources_share_their_56() {
        let a = source("2001:db8:1:2:aaaa::1");
        assert_eq!(a, source("2001:db8:1:2:bbbb::2"));
        // Another /64 of the same /56.
        assert_eq!(a, source("2001:db8:1:ff::1"));
        assert_ne!(a, source("2001:db8:1:100::1"));
        assert_eq!(source("::ffff:192.0.2.1"), source("192.0.2.1"));
        assert_ne!(source("192.0.2.1"), source("192.0.2.2"));
        assert!(!a.as_str().contains("2001"));
    }

    #[test]
    fn a_source_key_is_no_plain_hash_of_the_address() {
        use sha2::{Digest, Sha256};
        let tag = source("192.0.2.1");
        for plain in ["192.0.2.1", "frontdesk-rate:192.0.2.1"] {
            let hash = hex::encode(Sha256::digest(plain.as_bytes()));
            assert!(!hash.contains(tag.as_str().trim_start_matches("v1.")));
        }
        let other_key = MatchKey::new(1, &"j".repeat(32)).unwrap();
        assert_ne!(tag, SourceKey::of("192.0.2.1".parse().unwrap(), &other_key));
    }

    fn new_booking(key: Option<&str>, rate: Option<Allowance>) -> NewBooking {
        let booking = crate::booking::fixture::booking(crate::booking::fixture::FORM);
        NewBooking {
            fingerprint: Fingerprint::of(&booking.details, &match_key()),
            subject: crate::booking::SubjectTags::of(&booking.details, &match_key()),
            now: booking.received_at,
            booking,
            idempotency: key.map(|k| {
                crate::booking::IdempotencyKey::parse(k)
                    .unwrap()
                    .tag(&match_key())
            }),
            rate,
            repeat_of: None,
            acknowledgements: None,
        }
    }

    fn hit(fingerprint: &Fingerprint) -> GuardHit {
        GuardHit {
            reference: Reference::parse("CCL-AAAA-2222").unwrap(),
            received_at: at(1_000),
            fingerprint: fingerprint.clone(),
        }
    }

    fn replay_of_hit() -> Verdict {
        Verdict::Decided(InsertOutcome::Replay {
            reference: Reference::parse("CCL-AAAA-2222").unwrap(),
            received_at: at(1_000),
        })
    }

    fn charge(limit: u32) -> Allowance {
        Allowance::requests(source("192.0.2.1"), at(3600 * 10 + 125), limit)
    }

    #[test]
    fn guards_hold_for_a_day_from_the_request() {
        let new = new_booking(None, None);
        assert_eq!(new.guard_expires_at(), new.now + Duration::hours(24));
    }

    #[test]
    fn the_idempotency_guard_is_keyed_by_a_tag_of_the_clients_key() {
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
        assert!(a.starts_with("idem#v1."), "{a}");
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
            fingerprint: Fingerprint::of(&other.details, &match_key()),
            subject: crate::booking::SubjectTags::of(&other.details, &match_key()),
            ..new.clone()
        };
        assert_ne!(new.fingerprint_guard_key(), other.fingerprint_guard_key());
    }

    #[test]
    fn each_source_and_window_has_its_own_counter() {
        let now = at(3600 * 10 + 125);
        let ann = source("192.0.2.1");
        let c = Allowance::requests(ann.clone(), now, 10);
        let keys = c.keys();
        assert_eq!(keys[0], format!("rate#{}#36000", ann.as_str()));
        assert_eq!(keys[1], format!("rate#{}#34200", ann.as_str()));
        assert_ne!(
            keys,
            Allowance::requests(source("192.0.2.2"), now, 10).keys()
        );
        assert_ne!(
            keys,
            Allowance::requests(ann, now + Duration::hours(1), 10).keys()
        );
        assert!(!keys[0].contains("192.0.2"));
    }

    #[test]
    fn the_two_grids_are_hours_staggered_by_half_an_hour() {
        for (secs, a, b) in [
            (36_000 + 125, 36_000, 34_200),
            (36_000 + 1_800, 36_000, 37_800),
            (36_000 - 1, 32_400, 34_200),
        ] {
            let c = Allowance::requests(source("192.0.2.1"), at(secs), 1);
            assert_eq!(
                c.windows.map(|w| w.start.unix_timestamp()),
                [a, b],
                "at {secs}"
            );
            assert!(c
                .windows
                .iter()
                .all(|w| w.start <= at(secs) && at(secs) < w.end));
        }
    }

    /// The stated bound, against the most persistent sender there is: one
    /// that tries every 30 seconds for two days, at every phase of the grids.
    #[test]
    fn no_sender_beats_the_stated_bound_across_the_edges() {
        let limit = 4u32;
        for phase in [0, 7, 899, 1_799, 1_800, 3_599] {
            let mut counters: HashMap<String, u32> = HashMap::new();
            let mut accepted: Vec<i64> = Vec::new();
            let start = 36_000 + phase;
            for step in 0..(2 * 24 * 120) {
                let now = start + step * 30;
                let c = Allowance::requests(source("192.0.2.1"), at(now), limit);
                let keys = c.keys();
                if keys
                    .iter()
                    .all(|k| counters.get(k).copied().unwrap_or(0) < limit)
                {
                    for k in keys {
                        *counters.entry(k).or_default() += 1;
                    }
                    accepted.push(now);
                }
            }
            let most_in = |span: i64| {
                accepted
                    .iter()
                    .map(|t| {
                        accepted
                            .iter()
                            .filter(|u| **u >= *t && **u < t + span)
                            .count()
                    })
                    .max()
                    .unwrap_or(0)
            };
            assert_eq!(most_in(1_800), limit as usize, "phase {phase}");
            assert!(most_in(3_600) <= 2 * limit as usize, "phase {phase}");
            // Two days of trying: on average no more than the limit an hour.
            assert!(accepted.len() <= (48 + 1) * limit as usize, "phase {phase}");
        }
    }

    /// Acknowledgements: whatever times the bookings come at, one address
    /// is sent no more than three in any 24 hours.
    #[test]
    fn no_address_is_acknowledged_more_than_three_times_in_any_day() {
        let key = match_key();
        for phase in [0, 1, 3_599, 43_200, 86_399, 86_400, 150_000] {
            let mut counters: HashMap<String, u32> = HashMap::new();
            let mut sent: Vec<i64> = Vec::new();
            let start = 1_800_000_000 + phase;
            // A booking every ten minutes for six days.
            for step in 0..(6 * 24 * 6) {
                let now = start + step * 600;
                let acks = Allowance::acknowledgements("ann@example.com", &key, at(now));
                let keys = acks.keys();
                if keys
                    .iter()
                    .all(|k| counters.get(k).copied().unwrap_or(0) < acks.limit)
                {
                    for k in keys {
                        *counters.entry(k).or_default() += 1;
                    }
                    sent.push(now);
                }
            }
            let most_in_a_day = sent
                .iter()
                .map(|t| {
                    sent.iter()
                        .filter(|u| **u >= *t && **u < t + 86_400)
                        .count()
                })
                .max()
                .unwrap_or(0);
            assert_eq!(most_in_a_day, 3, "phase {phase}");
            assert!(!acks_key_holds_the_address(&counters), "phase {phase}");
        }
    }

    fn acks_key_holds_the_address(counters: &HashMap<String, u32>) -> bool {
        counters
            .keys()
            .any(|k| k.contains("ann") || k.contains("example"))
    }

    #[test]
    fn nothing_tripped_is_no_verdict() {
        assert_eq!(Conflicts::default().verdict(&new_booking(None, None)), None);
    }

    #[test]
    fn a_key_with_its_own_body_replays_and_with_another_is_refused() {
        let new = new_booking(Some("key-1"), Some(charge(1)));
        let same = Conflicts {
            idempotency: Some(hit(&new.fingerprint)),
            // The holder of the key retries after a lost answer: it is answered.
            rate_full: [true, true],
            ..Default::default()
        };
        assert_eq!(same.verdict(&new), Some(replay_of_hit()));
        let other = Fingerprint::from_stored("v1.00".into());
        let reused = Conflicts {
            idempotency: Some(hit(&other)),
            // The body matches another booking: the key still decides.
            fingerprint: Some(hit(&new.fingerprint)),
            rate_full: [true, true],
            acknowledgements_full: true,
            reference_taken: true,
        };
        assert_eq!(
            reused.verdict(&new),
            Some(Verdict::Decided(InsertOutcome::KeyReused))
        );
    }

    #[test]
    fn a_spent_allowance_is_refused_whether_or_not_the_body_was_seen() {
        for seen in [false, true] {
            for key in [None, Some("fresh-key")] {
                let new = new_booking(key, Some(charge(1)));
                let conflicts = Conflicts {
                    fingerprint: seen.then(|| hit(&new.fingerprint)),
                    rate_full: [false, true],
                    reference_taken: true,
                    ..Default::default()
                };
                assert_eq!(
                    conflicts.verdict(&new),
                    // The staggered window that tripped ends at 37 800.
                    Some(Verdict::Decided(InsertOutcome::RateLimited {
                        until: at(37_800)
                    })),
                    "seen {seen}, key {key:?}"
                );
            }
        }
        // Without a charge (rate limiting off) a full counter is not a refusal.
        let conflicts = Conflicts {
            rate_full: [true, true],
            ..Default::default()
        };
        assert_eq!(conflicts.verdict(&new_booking(None, None)), None);
    }

    #[test]
    fn a_seen_body_is_a_linked_repeat_with_a_new_key_and_a_duplicate_without_one() {
        let keyed = new_booking(Some("another-key"), None);
        let seen = Conflicts {
            fingerprint: Some(hit(&keyed.fingerprint)),
            reference_taken: true,
            ..Default::default()
        };
        assert_eq!(
            seen.clone().verdict(&keyed),
            Some(Verdict::Repeat {
                of: Reference::parse("CCL-AAAA-2222").unwrap()
            })
        );
        assert_eq!(
            seen.verdict(&new_booking(None, None)),
            Some(Verdict::Duplicate)
        );
    }

    #[test]
    fn a_taken_reference_asks_for_another() {
        let conflicts = Conflicts {
            reference_taken: true,
            ..Default::default()
        };
        assert_eq!(
            conflicts.verdict(&new_booking(None, None)),
            Some(Verdict::Decided(InsertOutcome::ReferenceTaken))
        );
    }
}
