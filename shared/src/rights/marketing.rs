//! The marketing register: each opt-in to the clinic's news, per channel,
//! kept apart from the booking it came with so that it outlives that
//! booking's retention, until the person withdraws it (`frontdesk subject
//! withdraw-marketing`) or is erased. An opt-in is keyed by the keyed tag of
//! its address (the booking's subject tag), so the register is searched as
//! the bookings are; it holds the address itself, which is what sending
//! news needs, with the consent wording's version and hash, when and with
//! which booking it was given. A withdrawn opt-in leaves a marker without
//! the address (its key and when it was withdrawn), so that repairing the
//! register from the bookings never brings it back; an erasure removes the
//! entries under the searched address and number whole, markers included.

use super::SubjectQuery;
use crate::booking::record::{parse_rfc3339, rfc3339};
use crate::booking::{Identifier, Reference, SubjectTag, SubjectTags};
use crate::match_key::MatchKey;
use crate::store::{NewBooking, StoreError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How the clinic may send its news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// By email, to the booker's address.
    Email,
    /// By text message, to the booker's phone.
    Sms,
}

impl Channel {
    /// Both channels.
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Sms];

    /// The channel's name, as stored and as the command takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    /// The channel named `raw`.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    /// The channel that sends to an identifier: email to the address, text
    /// messages to the phone.
    pub fn of(identifier: Identifier) -> Self {
        match identifier {
            Identifier::Email => Self::Email,
            Identifier::Phone => Self::Sms,
        }
    }
}

/// One opt-in, as the register keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptIn {
    /// The channel.
    pub channel: Channel,
    /// The keyed tag of the address: with the channel, the entry's key.
    pub tag: String,
    /// The email address or phone number (E.164) to send to.
    pub address: String,
    /// The consent wording's version the box was ticked under.
    pub version: String,
    /// The SHA-256 of that wording's labels, when the booking kept it.
    pub wording: Option<String>,
    /// When it was given (the booking's arrival).
    pub given_at: OffsetDateTime,
    /// The booking it came with (which may since be gone).
    pub reference: Reference,
}

impl OptIn {
    /// The opt-ins a new booking gives: one per channel ticked.
    pub fn of(new: &NewBooking) -> Vec<OptIn> {
        Self::of_booking(&new.booking, &new.subject)
    }

    /// The opt-ins a booking stored with `subject`'s tags gave. A booking
    /// whose acknowledgement is withheld (its address flooded or capped, or
    /// the human check not completed) gives none: the form may have been
    /// aimed at that address, and its owner would hear nothing of it.
    pub fn of_booking(booking: &crate::booking::Booking, subject: &SubjectTags) -> Vec<OptIn> {
        if booking.acknowledgement != crate::booking::Acknowledgement::Owed {
            return Vec::new();
        }
        let details = &booking.details;
        let mut opt_ins = Vec::new();
        for (ticked, tag, address) in [
            (
                details.marketing_email,
                &subject.email,
                details.email.as_str(),
            ),
            (
                details.marketing_sms,
                &subject.phone,
                details.phone.as_str(),
            ),
        ] {
            if ticked {
                opt_ins.push(OptIn {
                    channel: Channel::of(tag.identifier()),
                    tag: tag.as_str().to_owned(),
                    address: address.to_owned(),
                    version: details.consent_version.as_str().to_owned(),
                    wording: details
                        .consent_wording
                        .as_ref()
                        .map(|h| h.as_str().to_owned()),
                    given_at: booking.received_at,
                    reference: booking.reference.clone(),
                });
            }
        }
        opt_ins
    }

    /// The entry's key: `<channel>#<tag>`.
    pub fn key(&self) -> String {
        key(self.channel, &self.tag)
    }

    /// The entry as stored.
    pub fn record(&self) -> OptInRecord {
        OptInRecord {
            pk: self.key(),
            channel: self.channel.as_str().to_owned(),
            address: Some(self.address.clone()),
            withdrawn_at: None,
            consent_version: self.version.clone(),
            consent_wording: self.wording.clone(),
            given_at: rfc3339(self.given_at),
            reference: self.reference.as_str().to_owned(),
        }
    }
}

/// An opt-in's stored shape, the same in both stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptInRecord {
    /// `<channel>#<tag>`.
    pub pk: String,
    /// `email` or `sms`.
    pub channel: String,
    /// The address or number; none once withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// When it was withdrawn (RFC 3339): the marker that stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<String>,
    /// The consent wording's version.
    pub consent_version: String,
    /// Its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_wording: Option<String>,
    /// When, RFC 3339.
    pub given_at: String,
    /// The booking it came with.
    pub reference: String,
}

impl OptInRecord {
    /// The live opt-in it holds: `None` for a withdrawal's marker.
    pub fn live(self) -> Result<Option<OptIn>, StoreError> {
        if self.address.is_none() || self.withdrawn_at.is_some() {
            return Ok(None);
        }
        OptIn::try_from(self).map(Some)
    }
}

impl TryFrom<OptInRecord> for OptIn {
    type Error = StoreError;

    fn try_from(r: OptInRecord) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("marketing {}: {what}", r.pk));
        let address = r.address.clone().ok_or_else(|| corrupt("address"))?;
        let channel = Channel::parse(&r.channel).ok_or_else(|| corrupt("channel"))?;
        let tag =
            r.pk.strip_prefix(&format!("{}#", channel.as_str()))
                .ok_or_else(|| corrupt("key"))?
                .to_owned();
        Ok(OptIn {
            channel,
            tag,
            given_at: parse_rfc3339(&r.given_at).map_err(|_| corrupt("given_at"))?,
            reference: Reference::parse(&r.reference).map_err(|_| corrupt("reference"))?,
            address,
            version: r.consent_version,
            wording: r.consent_wording,
        })
    }
}

/// The register's key of a channel's entry for an address's tag.
pub fn key(channel: Channel, tag: &str) -> String {
    format!("{}#{tag}", channel.as_str())
}

/// The register's key of the entry an identifier's tag names.
pub fn key_of(tag: &SubjectTag) -> String {
    key(Channel::of(tag.identifier()), tag.as_str())
}

/// The register keys a query names: its email's for email, its phone's
/// for text messages, limited to `channels`.
pub fn keys_of(query: &SubjectQuery, key: &MatchKey, channels: &[Channel]) -> Vec<String> {
    query
        .tags(key)
        .iter()
        .filter(|tag| channels.contains(&Channel::of(tag.identifier())))
        .map(key_of)
        .collect()
}

/// The live opt-ins of a person: those under the identifiers `query`
/// names, and those under the contact details of their `bookings` that
/// came with one of those bookings (a person found by their email has
/// their phone's opt-in too, but not one a household member gave later
/// from the same phone).
pub async fn opt_ins_of_person(
    register: &dyn MarketingRegister,
    query: &SubjectQuery,
    key: &MatchKey,
    bookings: &[&crate::booking::Booking],
) -> Result<Vec<OptIn>, StoreError> {
    let named = keys_of(query, key, &Channel::ALL);
    let mut through_bookings = Vec::new();
    for booking in bookings {
        for tag in SubjectTags::of(&booking.details, key).each() {
            let entry = key_of(tag);
            if !named.contains(&entry) && !through_bookings.contains(&entry) {
                through_bookings.push(entry);
            }
        }
    }
    let mut found = register.opt_ins(&named).await?;
    found.extend(
        register
            .opt_ins(&through_bookings)
            .await?
            .into_iter()
            .filter(|o| bookings.iter().any(|b| b.reference == o.reference)),
    );
    Ok(found)
}

/// Where the register is kept: a DynamoDB table, or SQLite locally. An
/// opt-in is written with the booking it came with (by the store's
/// `insert`); this port reads, withdraws and removes them.
#[async_trait]
pub trait MarketingRegister: Send + Sync {
    /// The live opt-ins under these keys.
    async fn opt_ins(&self, keys: &[String]) -> Result<Vec<OptIn>, StoreError>;

    /// Withdraws the opt-in under `key` at `at`, leaving the marker: the
    /// opt-in withdrawn, or `None` when none was live.
    async fn withdraw(&self, key: &str, at: OffsetDateTime) -> Result<Option<OptIn>, StoreError>;

    /// Removes the entry under `key` whole, marker and all (an erasure):
    /// the opt-in it held, if it was live.
    async fn remove(&self, key: &str) -> Result<Option<OptIn>, StoreError>;

    /// Removes the entry under `key`, live or a withdrawal's marker, if it
    /// came with one of `bookings` (an erasure's, under another contact
    /// detail of theirs): whether one went.
    async fn remove_from(&self, key: &str, bookings: &[Reference]) -> Result<bool, StoreError>;
}

/// What a withdrawal removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// The entries removed.
    pub removed: Vec<OptIn>,
}

/// Withdraws the opt-ins of the person `query` names on `channels`,
/// recording each on the audit trail as `by` (against the booking it came
/// with).
pub async fn withdraw(
    register: &dyn MarketingRegister,
    desk: &dyn crate::desk::DeskStore,
    key: &MatchKey,
    query: &SubjectQuery,
    channels: &[Channel],
    by: &crate::desk::Staff,
    now: OffsetDateTime,
) -> Result<Withdrawal, StoreError> {
    let mut removed = Vec::new();
    for entry_key in keys_of(query, key, channels) {
        if let Some(opt_in) = register.withdraw(&entry_key, now).await? {
            desk.record(
                by,
                crate::desk::AuditAction::MarketingWithdrawn,
                Some(&opt_in.reference),
            )
            .await?;
            removed.push(opt_in);
        }
    }
    Ok(Withdrawal { removed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_it_was_written() {
        let opt_in = OptIn {
            channel: Channel::Sms,
            tag: "abc".into(),
            address: "+447700900123".into(),
            version: "2026-11".into(),
            wording: Some("f".repeat(64)),
            given_at: time::macros::datetime!(2026-12-02 09:05:00.000 UTC),
            reference: Reference::parse("CCL-7K3M-9Q2X").unwrap(),
        };
        let record = opt_in.record();
        assert_eq!(record.pk, "sms#abc");
        assert_eq!(record.clone().live().unwrap(), Some(opt_in.clone()));
        assert_eq!(OptIn::try_from(record.clone()).unwrap(), opt_in);
        let marker = OptInRecord {
            address: None,
            withdrawn_at: Some("2027-01-01T00:00:00.000Z".into()),
            ..record
        };
        assert_eq!(marker.live().unwrap(), None);
        assert_eq!(Channel::parse("post"), None);
    }
}
