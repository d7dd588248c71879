//! Who the booking is about: name, email, UK phone number and date of birth.

use crate::text::{clean, stored, Lines};
use serde::Serialize;
use time::{macros::format_description, Date};
use validator::ValidateEmail;

/// A first or last name: letters (any script), spaces, apostrophes, hyphens and full stops.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a name as typed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = clean(raw, Self::MAX_CHARS, Lines::Single)?;
        let allowed =
            |c: char| c.is_alphabetic() || matches!(c, ' ' | '\'' | '\u{2019}' | '-' | '.' | ',');
        if !name.chars().any(char::is_alphabetic) || !name.chars().all(allowed) {
            return Err(
                "Please use letters only (spaces, hyphens and apostrophes are fine).".into(),
            );
        }
        Ok(Self(name))
    }

    /// Reads back a stored name: it was checked when it came in, so only
    /// what no name can be (empty, control characters) is refused.
    pub fn from_stored(raw: &str) -> Result<Self, String> {
        stored(raw, Lines::Single).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address the clinic can reply to; the domain is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses an address, checked by the `validator` crate's rules (RFC 5322 / HTML5).
    pub fn parse(raw: &str) -> Result<Self, String> {
        const MESSAGE: &str = "Please enter an email address like name@example.com.";
        let text = clean(raw, 254, Lines::Single).map_err(|_| MESSAGE.to_owned())?;
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err(MESSAGE.into());
        };
        let address = format!("{local}@{}", domain.to_ascii_lowercase());
        // A domain must have a dot: local delivery addresses are no use to the clinic.
        if !address.validate_email() || !domain.contains('.') || domain.ends_with('.') {
            return Err(MESSAGE.into());
        }
        Ok(Self(address))
    }

    /// Reads back a stored address: checked when it came in, it is refused
    /// only when it could not be sent to at all (no `local@domain` shape, or
    /// spaces, controls, `,`, `;`, `<` or `>`, which could break a header or
    /// name a second recipient).
    pub fn from_stored(raw: &str) -> Result<Self, String> {
        let text = stored(raw, Lines::Single)?;
        let shaped = text
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        let breaks_a_header = |c: char| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>');
        if !shaped || text.chars().any(breaks_a_header) {
            return Err("not an email address".into());
        }
        Ok(Self(text))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A UK phone number, kept in E.164 form (`+447700900123`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UkPhone(String);

impl UkPhone {
    /// Accepts national (`020 8247 3351`) and international (`+44 20 8247 3351`,
    /// `0044 ...`) forms with spaces, dashes, dots and brackets.
    pub fn parse(raw: &str) -> Result<Self, String> {
        const MESSAGE: &str = "Please enter a UK phone number, like 07700 900123 or 020 8247 3351.";
        let text = clean(raw, 32, Lines::Single).map_err(|_| MESSAGE.to_owned())?;
        if !text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+'))
        {
            return Err(MESSAGE.into());
        }
        let plus = text.starts_with('+');
        if text.chars().skip(1).any(|c| c == '+') {
            return Err(MESSAGE.into());
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let national = if plus {
            digits
                .strip_prefix("44")
                .map(|rest| rest.trim_start_matches('0'))
        } else if let Some(rest) = digits.strip_prefix("0044") {
            Some(rest.trim_start_matches('0'))
        } else {
            digits.strip_prefix('0')
        };
        let Some(national) = national else {
            return Err(MESSAGE.into());
        };
        // UK significant numbers: 9 or 10 digits, starting 1, 2, 3, 5, 7, 8 or 9.
        let valid_start = matches!(
            national.as_bytes().first(),
            Some(b'1' | b'2' | b'3' | b'5' | b'7' | b'8' | b'9')
        );
        if !valid_start || !(9..=10).contains(&national.len()) {
            return Err(MESSAGE.into());
        }
        Ok(Self(format!("+44{national}")))
    }

    /// Reads back a stored number: any E.164 number (`+` and 6 to 15
    /// digits), so that a rule for UK numbers tightened since it was stored
    /// does not make it unreadable.
    pub fn from_stored(raw: &str) -> Result<Self, String> {
        let digits = raw.strip_prefix('+').unwrap_or("");
        if (6..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("not an E.164 number".into())
        }
    }

    /// The number in E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as a person in the UK would dial it (`07700900123`); a
    /// stored number from outside the UK stays in E.164 form.
    pub fn national(&self) -> String {
        match self.0.strip_prefix("+44") {
            Some(rest) => format!("0{rest}"),
            None => self.0.clone(),
        }
    }
}

/// A date of birth: a real date in the past, at most 120 years ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateOfBirth(Date);

impl DateOfBirth {
    /// Parses `YYYY-MM-DD`, checked against `today`.
    pub fn parse(raw: &str, today: Date) -> Result<Self, String> {
        let format = format_description!("[year]-[month]-[day]");
        let date = Date::parse(raw.trim(), &format).map_err(|_| {
            "Please enter the date of birth as YYYY-MM-DD, for example 1970-03-31.".to_owned()
        })?;
        if date > today {
            return Err("The date of birth cannot be in the future.".into());
        }
        if today.year() - date.year() > 120 {
            return Err("Please check the year of birth.".into());
        }
        Ok(Self(date))
    }

    /// Reads a stored date, which was checked when it arrived.
    pub fn from_stored(raw: &str) -> Result<Self, String> {
        let format = format_description!("[year]-[month]-[day]");
        Date::parse(raw, &format)
            .map(Self)
            .map_err(|e| e.to_string())
    }

    /// The date.
    pub fn date(&self) -> Date {
        self.0
    }
}

impl std::fmt::Display for DateOfBirth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let format = format_description!("[year]-[month]-[day]");
        match self.0.format(&format) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(std::fmt::Error),
        }
    }
}

impl Serialize for DateOfBirth {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn names_take_letters_from_any_script() {
        assert!(PersonName::parse("Siobhán O'Brien-Ní Dhuibhir").is_ok());
        assert!(PersonName::parse("李").is_ok());
        assert!(PersonName::parse("<script>").is_err());
        assert!(PersonName::parse("Ann\nBcc").is_err());
        assert!(PersonName::parse("123").is_err());
    }

    #[test]
    fn emails_are_checked_and_domain_lowercased() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "Ann@example.com"
        );
        for bad in [
            "ann",
            "ann@",
            "@x.com",
            "ann@localhost",
            "a b@x.com",
            "ann@x.com\r\nBcc: y@z.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uk_phones_normalise_to_e164() {
        for (raw, want) in [
            ("020 8247 3351", "+442082473351"),
            ("+44 (0)20 8247 3351", "+442082473351"),
            ("0044 7700 900123", "+447700900123"),
            ("07700-900-123", "+447700900123"),
        ] {
            assert_eq!(UkPhone::parse(raw).unwrap().as_str(), want, "{raw}");
        }
        assert_eq!(
            UkPhone::parse("07700900123").unwrap().national(),
            "07700900123"
        );
        for bad in [
            "12345",
            "+1 555 123 4567",
            "0770090012345",
            "07700 9OO123",
            "0+7700900123",
            "00000000000",
        ] {
            assert!(UkPhone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_of_birth_are_past_and_plausible() {
        let today = date!(2026 - 11 - 24);
        assert!(DateOfBirth::parse("1970-03-31", today).is_ok());
        assert!(DateOfBirth::parse("2026-11-25", today).is_err());
        assert!(DateOfBirth::parse("1899-01-01", today).is_err());
        assert!(DateOfBirth::parse("1970-02-30", today).is_err());
        assert!(DateOfBirth::parse("31/03/1970", today).is_err());
        assert_eq!(
            DateOfBirth::parse("1970-03-31", today).unwrap().to_string(),
            "1970-03-31"
        );
    }
}
