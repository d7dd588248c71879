//! What became of an email after the mailer accepted it, as SES's own
//! events tell it: sent, then delayed, then delivered; bounced, complained
//! or rejected may follow any of them. The recorded state only moves
//! forward, so a replayed or late event changes nothing.

/// The message tag naming the booking an email is about.
pub const REFERENCE_TAG: &str = "reference";

/// The message tag naming which of the booking's emails it is (`staff`, `patient`).
pub const EMAIL_TAG: &str = "email";

/// One step of an email's fate, by what SES reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Accepted for sending (SES `Send`).
    Sent,
    /// The receiving server has not taken it yet; SES keeps trying
    /// (`DeliveryDelay`).
    Delayed,
    /// The receiving server accepted it (`Delivery`).
    Delivered,
    /// The receiving server refused it, at once or later (`Bounce`).
    Bounced,
    /// The recipient marked it as spam (`Complaint`).
    Complained,
    /// SES refused to send it after accepting it (`Reject`: a virus found).
    Rejected,
}

impl Delivery {
    /// Every state, in order.
    pub const ALL: [Delivery; 6] = [
        Delivery::Sent,
        Delivery::Delayed,
        Delivery::Delivered,
        Delivery::Bounced,
        Delivery::Complained,
        Delivery::Rejected,
    ];

    /// The state an SES event type (`detail.eventType`) reports; `None`
    /// for the types frontdesk does not record (opens, clicks...).
    pub fn of_event_type(event_type: &str) -> Option<Self> {
        Some(match event_type {
            "Send" => Self::Sent,
            "DeliveryDelay" => Self::Delayed,
            "Delivery" => Self::Delivered,
            "Bounce" => Self::Bounced,
            "Complaint" => Self::Complained,
            "Reject" => Self::Rejected,
            _ => return None,
        })
    }

    /// Its place in the order states are reached: a state replaces only one
    /// of a lower rank. The three endings share the top rank, so none of
    /// them replaces another.
    pub fn rank(self) -> u8 {
        match self {
            Self::Sent => 1,
            Self::Delayed => 2,
            Self::Delivered => 3,
            Self::Bounced | Self::Complained | Self::Rejected => 4,
        }
    }

    /// The name stored on the booking and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delayed => "delayed",
            Self::Delivered => "delivered",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
            Self::Rejected => "rejected",
        }
    }

    /// Reads a stored name.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == stored)
    }

    /// Whether the email did not, or may not, reach its reader.
    pub fn is_bad(self) -> bool {
        matches!(self, Self::Bounced | Self::Complained | Self::Rejected)
    }
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What recording a delivery event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The email's state moved forward to the event's.
    Applied,
    /// Nothing changed: a replay, an event older than the state recorded,
    /// an event about another message (a superseded send), or no booking.
    Unchanged,
    /// The email's sent mark is not there yet (the event overtook it): try
    /// again later.
    NotYetSent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_move_forward_and_endings_do_not_replace_each_other() {
        assert!(Delivery::Sent.rank() < Delivery::Delayed.rank());
        assert!(Delivery::Delayed.rank() < Delivery::Delivered.rank());
        for ending in [Delivery::Bounced, Delivery::Complained, Delivery::Rejected] {
            assert!(Delivery::Delivered.rank() < ending.rank());
            assert!(ending.is_bad());
        }
        assert_eq!(Delivery::Bounced.rank(), Delivery::Complained.rank());
        for state in Delivery::ALL {
            assert_eq!(Delivery::parse(state.as_str()), Some(state));
        }
        assert_eq!(Delivery::of_event_type("Open"), None);
        assert_eq!(Delivery::of_event_type("bounce"), None);
    }

    #[test]
    fn each_ses_event_type_is_the_state_it_reports() {
        let types = [
            "Send",
            "DeliveryDelay",
            "Delivery",
            "Bounce",
            "Complaint",
            "Reject",
        ];
        for (event_type, state) in types.into_iter().zip(Delivery::ALL) {
            assert_eq!(Delivery::of_event_type(event_type), Some(state));
            assert_eq!(state.to_string(), state.as_str());
        }
        for good in [Delivery::Sent, Delivery::Delayed, Delivery::Delivered] {
            assert!(!good.is_bad(), "{good}");
        }
    }
}
