//! The booking flow, the same in Lambda and locally: decode, check the
//! honeypot and the key, parse, then one store call (retried only for a
//! reference collision).

use super::request::{ParseContext, FIELDS};
use super::Bookable;
use super::{
    Acknowledgement, Booking, BookingDetails, BookingRequest, DecodeError, Fingerprint,
    IdempotencyKey, MediaType, Reference, SubjectTags, Withheld,
};
use crate::config::BookingConfig;
use crate::content::cache::Publication;
use crate::fields::FieldErrors;
use crate::match_key::{MatchKey, MatchKeyOnce};
use crate::metric::Refusal;
use crate::store::{Allowance, BookingStore, InsertOutcome, NewBooking, SourceKey, StoreError};
use crate::time_source::Clock;
use crate::turnstile::{Turnstile, Verdict};
use std::net::IpAddr;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// How many fresh references to try when a random one is already taken.
const REFERENCE_ATTEMPTS: usize = 3;

/// A request as the HTTP edge hands it over.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    /// The body's media type.
    pub media: MediaType,
    /// The raw body.
    pub body: &'a [u8],
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_header: Option<&'a str>,
    /// The sender's address, for rate limiting; a request without one is refused.
    pub source: Option<IpAddr>,
}

/// What the client is told when a request is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// A request with an idempotency key: the reference goes back to that
    /// key, and only to it.
    Keyed {
        /// The booking's reference.
        reference: Reference,
        /// When it arrived.
        received_at: OffsetDateTime,
        /// True when this answers the same key's earlier request.
        replayed: bool,
    },
    /// A request without a key: answered without a reference (the patient
    /// gets it by email), the same whether it was new or a duplicate, so
    /// that nobody can learn from the answer whether a person asked before.
    Keyless,
}

/// The 201 answer to a script: what the patient is told and can quote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = BookingCreated))]
pub struct Created {
    /// The booking's reference, shown to the patient: `CCL-` and two groups
    /// of four letters and digits.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^CCL-[0-9A-Z]{4}-[0-9A-Z]{4}$"))]
    pub reference: Reference,
    /// Always `received`: the request is stored, and staff will be told.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^received$"))]
    pub status: &'static str,
    /// When the booking was first received (the same on a replay), RFC 3339 in UTC.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub received_at: String,
}

impl Created {
    /// The answer for a keyed receipt.
    pub fn new(reference: &Reference, received_at: OffsetDateTime) -> Self {
        Self {
            reference: reference.clone(),
            status: "received",
            received_at: super::record::rfc3339(received_at),
        }
    }
}

/// The 202 answer to a script that sent no idempotency key: the request is
/// taken, and the reference goes to the patient by email only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = BookingAccepted))]
pub struct Accepted {
    /// Always `received`: the request is taken, and staff will be told.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^received$"))]
    pub status: &'static str,
}

impl Accepted {
    /// The one answer every keyless request gets.
    pub const RECEIVED: Self = Self { status: "received" };
}

/// Why a request was not accepted. Mapped to HTTP in one place (`problem`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    /// The body is not JSON or a urlencoded form.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body is larger than the limit.
    #[error("body over {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request did not come from one of the clinic's pages (`Origin`,
    /// or failing that `Referer`, not among `ALLOWED_ORIGINS`).
    #[error("not from an allowed origin")]
    ForeignOrigin,
    /// The request carries no usable source address, so it cannot be
    /// charged to anyone's allowance (it is refused, not pooled with others).
    #[error("no source address")]
    NoSource,
    /// The body cannot be decoded at all.
    #[error("malformed body: {0}")]
    Malformed(#[from] DecodeError),
    /// Fields are missing or wrong; every one is listed.
    #[error("invalid fields")]
    Invalid(FieldErrors),
    /// The human check's verifier rejected the form's token (invalid,
    /// expired or already used): nothing was stored.
    #[error("human check failed")]
    HumanCheckFailed,
    /// The idempotency key was used before with a different request.
    #[error("idempotency key reused with another request")]
    KeyReused,
    /// Too many bookings from this source in this window.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after_secs: u64,
    },
    /// The store cannot be reached now; nothing was written.
    #[error("store unavailable")]
    Unavailable,
    /// The store did not confirm the write in time: it may have happened.
    /// Sending the same request again is safe (its guards make it a replay).
    #[error("store did not confirm")]
    Unconfirmed,
    /// Something that retrying will not fix; nothing was written.
    #[error("internal error")]
    Internal,
}

/// The booking service: configuration, a store, a clock and the key that
/// its guards are tagged with.
#[derive(Clone)]
pub struct Intake {
    store: Arc<dyn BookingStore>,
    config: Arc<BookingConfig>,
    clock: Clock,
    bookable: Arc<dyn Publication<Bookable>>,
    match_key: Arc<MatchKeyOnce>,
    /// The human check, when `TURNSTILE_SECRET` turns it on.
    human_check: Option<Arc<Turnstile>>,
}

impl Intake {
    /// A service over `store`, taking the specialties `bookable` gives; the
    /// human check is built from the configuration, so every service built
    /// with a Turnstile secret checks tokens.
    pub fn new(
        store: Arc<dyn BookingStore>,
        config: Arc<BookingConfig>,
        clock: Clock,
        bookable: Arc<dyn Publication<Bookable>>,
        match_key: Arc<MatchKeyOnce>,
    ) -> Self {
        let human_check = config
            .human_check
            .clone()
            .map(|check| Arc::new(Turnstile::new(check, &config.allowed_origins)));
        Self {
            store,
            config,
            clock,
            bookable,
            match_key,
            human_check,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &BookingConfig {
        &self.config
    }

    /// Logs and counts a request refused as the form's abuse (its kind
    /// only), and gives back the error to answer with.
    pub fn refused(&self, kind: Refusal, error: BookingError) -> BookingError {
        tracing::info!(outcome = kind.as_str(), "booking refused");
        println!("{}", crate::metric::booking_refused(self.clock.now(), kind));
        error
    }

    /// Takes one request: stores it exactly once, or says why not.
    pub async fn submit(&self, submission: Submission<'_>) -> Result<Receipt, BookingError> {
        let Some(source) = submission.source else {
            return Err(self.refused(Refusal::NoSource, BookingError::NoSource));
        };
        let request =
            BookingRequest::decode(submission.media, submission.body).inspect_err(|_| {
                // The decoder's message may quote the body: only the outcome is logged.
                tracing::info!(outcome = "malformed", "booking refused");
            })?;
        let now = self.clock.now();
        // Every booking names a consent wording, so every booking needs
        // the published content (a copy held will do).
        let bookable = self.bookable.current().await.map_err(|error| {
            tracing::error!(error = %error, outcome = "unavailable", "the published specialties and consent wordings cannot be read");
            unavailable(now)
        })?;
        let wordings = bookable.wordings_at(now);
        if wordings.is_empty() {
            // The operator has not pushed a consent wording: nothing can be
            // agreed to, so nothing is taken, and the log says why.
            tracing::error!(
                outcome = "unavailable",
                "no consent wording is published: push the content"
            );
            return Err(unavailable(now));
        }
        let mut errors = FieldErrors::new();
        let key = idempotency_key(&request, submission.idempotency_header, &mut errors);
        let ctx = ParseContext {
            specialties: bookable.slugs(),
            today: now.date(),
            wordings: &wordings,
        };
        let details = match request.parse(&ctx) {
            Ok(details) if errors.is_empty() => details,
            Ok(_) => return Err(invalid(errors)),
            Err(found) => {
                for e in found.into_vec() {
                    errors.add(&e.field, e.message);
                }
                return Err(invalid(errors));
            }
        };
        if request.honeypot_filled() {
            // A request is checked as any other (the rules are public), and
            // a bot that fills the hidden field gets the ordinary answer, so
            // it learns nothing; nothing is stored.
            tracing::info!(outcome = "honeypot", "booking discarded");
            return Ok(match key {
                Some(_) => Receipt::Keyed {
                    reference: Reference::generate().map_err(|_| BookingError::Internal)?,
                    received_at: now,
                    replayed: false,
                },
                None => Receipt::Keyless,
            });
        }

        // Read ahead at start (in Lambda, from its secret): only the first
        // bookings can find it still being read, and wait for it here, for
        // at most one store call's bound (the function's timeout counts it).
        let read = tokio::time::timeout(self.config.store_timeout, self.match_key.get());
        let match_key = read.await.ok().and_then(Result::ok).ok_or_else(|| {
            tracing::error!(
                outcome = "unavailable",
                "the match key cannot be read: no booking can be taken"
            );
            unavailable(now)
        })?;
        let acknowledgement = self
            .human_check(&request, key.as_ref(), &match_key, now)
            .await?;
        let fingerprint = Fingerprint::of(&details, &match_key);
        let rate = (self.config.rate_limit_per_hour > 0).then(|| {
            Allowance::requests(
                SourceKey::of(source, &match_key),
                now,
                self.config.rate_limit_per_hour,
            )
        });
        let expires_at = now + Duration::days(i64::from(self.config.retention_days));

        // One deadline for the whole store call, every conflict retry and
        // reference retry included, so the answer comes inside the function's
        // timeout; past it the write may have happened.
        let stored = self.store_new(
            &match_key,
            details,
            acknowledgement,
            fingerprint,
            key,
            rate,
            now,
            expires_at,
        );
        match tokio::time::timeout(self.config.store_timeout, stored).await {
            Ok(result) => result,
            Err(_) => Err(unconfirmed(now, "the store call's deadline passed")),
        }
    }

    /// The human check, when it is on: a rejected token is refused; a
    /// booking it could not check is taken with its acknowledgement withheld.
    async fn human_check(
        &self,
        request: &BookingRequest,
        key: Option<&IdempotencyKey>,
        match_key: &MatchKey,
        now: OffsetDateTime,
    ) -> Result<Acknowledgement, BookingError> {
        let Some(check) = &self.human_check else {
            return Ok(Acknowledgement::Owed);
        };
        match check
            .verify(
                request.human_check_token(),
                key.map(IdempotencyKey::as_str),
                match_key,
            )
            .await
        {
            Verdict::Passed => Ok(Acknowledgement::Owed),
            Verdict::Rejected => {
                Err(self.refused(Refusal::HumanCheckFailed, BookingError::HumanCheckFailed))
            }
            Verdict::Unchecked(why) => {
                tracing::info!(outcome = why.as_str(), "booking taken unverified");
                println!("{}", crate::metric::booking_unverified(now, why));
                Ok(Acknowledgement::Withheld(Withheld::Unverified))
            }
        }
    }

    /// Stores a parsed booking under a fresh reference, trying another
    /// reference on the (rare) collision.
    #[allow(clippy::too_many_arguments)]
    async fn store_new(
        &self,
        match_key: &MatchKey,
        details: BookingDetails,
        acknowledgement: Acknowledgement,
        fingerprint: Fingerprint,
        key: Option<IdempotencyKey>,
        rate: Option<Allowance>,
        now: time::OffsetDateTime,
        expires_at: time::OffsetDateTime,
    ) -> Result<Receipt, BookingError> {
        let subject = SubjectTags::of(&details, match_key);
        for _ in 0..REFERENCE_ATTEMPTS {
            let reference = Reference::generate().map_err(|_| BookingError::Internal)?;
            let new = NewBooking {
                booking: Booking {
                    reference: reference.clone(),
                    received_at: now,
                    details: details.clone(),
                    expires_at,
                    acknowledgement,
                },
                fingerprint: fingerprint.clone(),
                subject: subject.clone(),
                idempotency: key.as_ref().map(|k| k.tag(match_key)),
                rate: rate.clone(),
                now,
                repeat_of: None,
                // Only an acknowledgement owed is charged to its address.
                acknowledgements: (acknowledgement == Acknowledgement::Owed)
                    .then(|| Allowance::acknowledgements(details.email.as_str(), match_key, now)),
            };
            match self.store.insert(new).await {
                Ok(InsertOutcome::Stored) => {
                    tracing::info!(reference = %reference, outcome = "stored", "booking stored");
                    return Ok(match key {
                        Some(_) => Receipt::Keyed {
                            reference,
                            received_at: now,
                            replayed: false,
                        },
                        None => Receipt::Keyless,
                    });
                }
                Ok(InsertOutcome::Replay {
                    reference,
                    received_at,
                }) => {
                    tracing::info!(reference = %reference, outcome = "replayed", "booking replayed");
                    return Ok(Receipt::Keyed {
                        reference,
                        received_at,
                        replayed: true,
                    });
                }
                Ok(InsertOutcome::Duplicate) => {
                    // No reference in the log either: it would link this
                    // request to the earlier one for whoever reads the logs.
                    tracing::info!(outcome = "duplicate", "booking repeated without a key");
                    return Ok(Receipt::Keyless);
                }
                Ok(InsertOutcome::KeyReused) => {
                    tracing::info!(
                        outcome = "key_reused",
                        "idempotency key reused with another body"
                    );
                    return Err(BookingError::KeyReused);
                }
                Ok(InsertOutcome::RateLimited { until }) => {
                    let secs = (until - now).whole_seconds().max(1);
                    return Err(self.refused(
                        Refusal::RateLimited,
                        BookingError::RateLimited {
                            retry_after_secs: secs.unsigned_abs(),
                        },
                    ));
                }
                Ok(InsertOutcome::ReferenceTaken) => {
                    tracing::warn!(outcome = "reference_taken", "reference collision, retrying");
                }
                Err(e) => {
                    return Err(match e {
                        StoreError::Unavailable(why) => {
                            tracing::warn!(outcome = "store_unavailable", error = %why, "booking not stored");
                            unavailable(now)
                        }
                        StoreError::Unconfirmed(why) => unconfirmed(now, &why),
                        StoreError::Misconfigured(why) | StoreError::Corrupt(why) => {
                            tracing::error!(outcome = "store_error", error = %why, "booking not stored");
                            println!("{}", crate::metric::booking_not_stored(now, "internal"));
                            BookingError::Internal
                        }
                    });
                }
            }
        }
        tracing::error!(outcome = "reference_exhausted", "no free reference found");
        Err(BookingError::Internal)
    }
}

/// The answer when something the booking needs (the store, the published
/// content, the match key) cannot be reached: counted for its alarm, each
/// cause logged where it is found.
fn unavailable(now: time::OffsetDateTime) -> BookingError {
    println!("{}", crate::metric::booking_not_stored(now, "unavailable"));
    BookingError::Unavailable
}

/// The answer when the store did not confirm the write within the deadline.
fn unconfirmed(now: time::OffsetDateTime, why: &str) -> BookingError {
    tracing::warn!(outcome = "store_unconfirmed", error = %why, "booking not confirmed");
    println!("{}", crate::metric::booking_not_stored(now, "unconfirmed"));
    BookingError::Unconfirmed
}

/// Logs which known fields were wrong (names only: never a value, and never
/// a name the client made up) and wraps the errors.
fn invalid(errors: FieldErrors) -> BookingError {
    let fields: Vec<&str> = errors
        .as_slice()
        .iter()
        .map(|e| e.field.as_str())
        .map(|f| if FIELDS.contains(&f) { f } else { "(unknown)" })
        .collect();
    tracing::info!(outcome = "invalid", fields = %fields.join(","), "booking refused");
    BookingError::Invalid(errors)
}

/// The key from the header, or else the hidden field; both must agree when both are sent.
fn idempotency_key(
    request: &BookingRequest,
    header: Option<&str>,
    errors: &mut FieldErrors,
) -> Option<IdempotencyKey> {
    let header = header.map(|h| errors.check("idempotency_key", IdempotencyKey::parse(h)));
    let field = request
        .idempotency_field()
        .map(|f| errors.check("idempotency_key", IdempotencyKey::parse(f)));
    match (header, field) {
        (Some(Some(h)), Some(Some(f))) if h != f => {
            errors.add(
                "idempotency_key",
                "The idempotency key field does not match the Idempotency-Key header.",
            );
            None
        }
        (Some(h), _) => h,
        (None, Some(f)) => f,
        (None, None) => None,
    }
}
