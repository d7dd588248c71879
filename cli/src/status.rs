//! `frontdesk notify --status`: every email of recent bookings that is not
//! where it should be, by reference, kind, state and time, and nothing
//! personal (the store is read for the key, the time and the email-state
//! attributes only). A staff email in a bad state fails the command, so a
//! script or a person notices.

use frontdesk_shared::booking::record::rfc3339;
use frontdesk_shared::booking::Reference;
use frontdesk_shared::notify::{Delivery, EmailStates, Notice, NoticeState};
use time::{Duration, OffsetDateTime};

/// What is wrong with one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// Neither sent nor refused yet, past the time it should have gone.
    Owed,
    /// Waiting on the account or its set-up (the code).
    Held(String),
    /// Refused for good (the code).
    Failed(String),
    /// SES reported it bounced, complained of or rejected (and its classification).
    Reported(Delivery, Option<String>),
    /// Sent, and no delivery reported in time (delayed, or nothing heard).
    Undelivered,
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Owed => f.write_str("owed"),
            Self::Held(code) => write!(f, "held ({code})"),
            Self::Failed(code) => write!(f, "failed ({code})"),
            Self::Reported(delivery, Some(detail)) => write!(f, "{delivery} ({detail})"),
            Self::Reported(delivery, None) => write!(f, "{delivery}"),
            Self::Undelivered => f.write_str("undelivered"),
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The booking.
    pub reference: Reference,
    /// Which email.
    pub notice: Notice,
    /// What is wrong.
    pub trouble: Trouble,
    /// When it became so (UTC, RFC 3339).
    pub at: String,
}

/// What is wrong with one email at `now`, if anything: `grace` is how long
/// an email may be owed, or sent without a reported delivery, before it counts.
pub fn trouble(
    state: &NoticeState,
    received_at: OffsetDateTime,
    now: OffsetDateTime,
    grace: Duration,
) -> Option<(Trouble, String)> {
    if let Some(code) = &state.failed {
        return Some((Trouble::Failed(code.clone()), at(&state.failed_at)));
    }
    let Some(sent_at) = &state.sent_at else {
        if let Some(code) = &state.held {
            return Some((Trouble::Held(code.clone()), at(&state.held_at)));
        }
        return (now - received_at > grace).then(|| (Trouble::Owed, rfc3339(received_at)));
    };
    let delivery = state.delivery.as_deref().and_then(Delivery::parse);
    match delivery {
        Some(Delivery::Delivered) => None,
        Some(bad) if bad.is_bad() => Some((
            Trouble::Reported(bad, state.delivery_detail.clone()),
            at(&state.delivery_at),
        )),
        _ => {
            let late = frontdesk_shared::booking::record::parse_rfc3339(sent_at)
                .is_ok_and(|sent| now - sent > grace);
            late.then(|| (Trouble::Undelivered, sent_at.clone()))
        }
    }
}

fn at(time: &Option<String>) -> String {
    time.clone().unwrap_or_else(|| "-".into())
}

/// The report's lines for these bookings, oldest first.
pub fn report(states: &[EmailStates], now: OffsetDateTime, grace: Duration) -> Vec<Line> {
    states
        .iter()
        .flat_map(|booking| {
            [
                (Notice::Staff, &booking.staff),
                (Notice::Patient, &booking.patient),
            ]
            .into_iter()
            .filter_map(move |(notice, state)| {
                trouble(state, booking.received_at, now, grace).map(|(trouble, at)| Line {
                    reference: booking.reference.clone(),
                    notice,
                    trouble,
                    at,
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn sent(minutes_ago: i64) -> NoticeState {
        NoticeState {
            sent_at: Some(rfc3339(now() - Duration::minutes(minutes_ago))),
            message_id: Some("m".into()),
            ..NoticeState::default()
        }
    }

    #[test]
    fn each_state_is_judged_as_an_operator_needs() {
        let grace = Duration::minutes(15);
        let received = now() - Duration::minutes(30);
        let judge = |state: &NoticeState| trouble(state, received, now(), grace).map(|t| t.0);
        let delivered = NoticeState {
            delivery: Some("delivered".into()),
            ..sent(20)
        };
        assert_eq!(judge(&delivered), None);
        assert_eq!(judge(&sent(5)), None, "just sent: its delivery may come");
        assert_eq!(judge(&sent(20)), Some(Trouble::Undelivered));
        let delayed = NoticeState {
            delivery: Some("delayed".into()),
            ..sent(20)
        };
        assert_eq!(judge(&delayed), Some(Trouble::Undelivered));
        let bounced = NoticeState {
            delivery: Some("bounced".into()),
            delivery_detail: Some("Permanent/General".into()),
            ..sent(1)
        };
        assert_eq!(
            judge(&bounced),
            Some(Trouble::Reported(
                Delivery::Bounced,
                Some("Permanent/General".into())
            ))
        );
        assert_eq!(judge(&NoticeState::default()), Some(Trouble::Owed));
        assert_eq!(
            trouble(&NoticeState::default(), now(), now(), grace),
            None,
            "a booking of a minute ago is not late"
        );
        let held = NoticeState {
            held: Some("SendingPausedException".into()),
            ..NoticeState::default()
        };
        assert_eq!(
            judge(&held),
            Some(Trouble::Held("SendingPausedException".into()))
        );
        let failed = NoticeState {
            failed: Some("MessageRejected".into()),
            ..NoticeState::default()
        };
        assert_eq!(
            judge(&failed),
            Some(Trouble::Failed("MessageRejected".into()))
        );
    }
}
