//! Who the booking is about: name, email, UK phone number and date of birth.

use crate::text::{clean, stored, Lines};
use serde::Serialize;
use time::{macros::format_description, Date};

/// A first or last name: letters (any script), spaces, apostrophes, hyphens and full stops.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// What a name may be, as the OpenAPI document states it and as
    /// [`PersonName::parse`] checks it: letters (Unicode's `L`, with their
    /// combining marks `M`), spaces (the no-break and ideographic ones
    /// too), `'`, `’`, `-`, `.`, `,`, the middle dots `·` and `・`, the
    /// Hebrew geresh and gershayim, and the zero-width joiners some scripts
    /// write with, with at least one letter, and blanks around.
    pub const PATTERN: &'static str = concat!(
        "^",
        crate::text::blank!(),
        r"[\p{L}\p{M} \u00a0\u3000'’.,\u00b7\u30fb\u05f3\u05f4\u200c\u200d-]*\p{L}[\p{L}\p{M} \u00a0\u3000'’.,\u00b7\u30fb\u05f3\u05f4\u200c\u200d-]*",
        crate::text::blank!(),
        "$"
    );

    /// Parses a name as typed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = clean(raw, Self::MAX_CHARS, Lines::Single)?;
        if !Self::is_shaped(raw) {
            return Err(
                "Please use letters only (spaces, hyphens and apostrophes are fine).".into(),
            );
        }
        Ok(Self(name))
    }

    /// Whether `raw` matches [`PersonName::PATTERN`], checked character by
    /// character against Unicode's general categories rather than by a
    /// regular expression, whose Unicode classes took a cold booking over
    /// a millisecond to build. Blanks around are the pattern's `blank!()`;
    /// the tests hold the two to each other over every character.
    fn is_shaped(raw: &str) -> bool {
        use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
        let categories = icu_properties::CodePointMapData::<GeneralCategory>::new();
        let letter = |c: char| GeneralCategoryGroup::Letter.contains(categories.get(c));
        let allowed = |c: char| {
            letter(c)
                || GeneralCategoryGroup::Mark.contains(categories.get(c))
                || Self::PUNCTUATION.contains(&c)
        };
        let inside = crate::text::trim(raw);
        inside.chars().all(allowed) && inside.chars().any(letter)
    }

    /// What a name may hold besides letters and marks, as the pattern lists it.
    const PUNCTUATION: [char; 14] = [
        ' ', '\u{a0}', '\u{3000}', '\'', '’', '.', ',', '\u{b7}', '\u{30fb}', '\u{5f3}', '\u{5f4}',
        '\u{200c}', '\u{200d}', '-',
    ];

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
    /// The longest address accepted, in characters (RFC 5321's path limit).
    pub const MAX_CHARS: usize = 254;

    /// What the OpenAPI document adds to `format: email`: one `@`, and a
    /// domain with a dot that does not end in one. No blanks around: a
    /// browser's email field strips them.
    pub const PATTERN: &'static str = r"^[^@]+@[^@]+\.[^@.]+$";

    /// Parses an address, checked by the HTML standard's rule
    /// ([`super::html5_email`]).
    pub fn parse(raw: &str) -> Result<Self, String> {
        const MESSAGE: &str = "Please enter an email address like name@example.com.";
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(crate::text::too_long(Self::MAX_CHARS, raw.chars().count()));
        }
        if crate::text::trim(raw) != raw {
            return Err(MESSAGE.into());
        }
        let text = clean(raw, Self::MAX_CHARS, Lines::Single).map_err(|_| MESSAGE.to_owned())?;
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err(MESSAGE.into());
        };
        let address = format!("{local}@{}", domain.to_ascii_lowercase());
        // A domain must have a dot: local delivery addresses are no use to the clinic.
        if !super::html5_email::is_valid(&address) || !domain.contains('.') || domain.ends_with('.')
        {
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
    /// The longest number accepted as typed, in characters.
    pub const MAX_CHARS: usize = 32;

    /// What [`UkPhone::parse`] takes, for the OpenAPI document: `+44`,
    /// `0044` or `0` (then any `0`s after `44`), a national number of 9 or
    /// 10 digits starting 1, 2, 3, 5, 7, 8 or 9, with spaces, `(`, `)`,
    /// `.` and `-` anywhere between, and blanks around.
    pub const PATTERN: &'static str = concat!(
        "^",
        crate::text::blank!(),
        r"(\+[ ().-]*4[ ().-]*4[ ().-]*(0[ ().-]*)*|[ ().-]*0[ ().-]*0[ ().-]*4[ ().-]*4[ ().-]*(0[ ().-]*)*|[ ().-]*0[ ().-]*)",
        r"[1235789]([ ().-]*[0-9]){8,9}[ ().-]*",
        crate::text::blank!(),
        "$"
    );

    /// Accepts national (`020 8247 3351`) and international (`+44 20 8247 3351`,
    /// `0044 ...`) forms with spaces, dashes, dots and brackets.
    pub fn parse(raw: &str) -> Result<Self, String> {
        const MESSAGE: &str = "Please enter a UK phone number, like 07700 900123 or 020 8247 3351.";
        let text = clean(raw, Self::MAX_CHARS, Lines::Single).map_err(|_| MESSAGE.to_owned())?;
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

    /// The number as people in the UK write it, grouped by its kind
    /// (`020 7946 0000`, `07700 900123`, `0161 496 0000`); a stored number
    /// from outside the UK stays in E.164 form.
    pub fn national(&self) -> String {
        match self.0.strip_prefix("+44") {
            Some(rest) => format!("0{}", uk_grouping::grouped(rest)),
            None => self.0.clone(),
        }
    }
}

/// How a UK number is grouped for reading: the national formats of
/// libphonenumber's metadata for GB (Ofcom's conventions), first match
/// wins. The `phonenumber` crate holds the same rules, but loading its
/// metadata for every country takes about 120 ms on first use and adds
/// 4 MB to a bootstrap, so only GB's eight rules are kept here, and a test
/// checks them against that crate.
mod uk_grouping {
    /// A rule: which numbers it is for (their leading digits and length)
    /// and how they split.
    struct Rule {
        leading: fn(&[u8]) -> bool,
        lengths: &'static [usize],
        split: fn(usize) -> &'static [usize],
    }

    fn digit_in(b: &[u8], i: usize, set: &[u8]) -> bool {
        b.get(i).is_some_and(|d| set.contains(d))
    }

    const RULES: [Rule; 8] = [
        // ChildLine's 0800 1111 and NHS Direct's old 0845 46 47.
        Rule {
            leading: |b| b.starts_with(b"8001111"),
            lengths: &[7],
            split: |_| &[3, 4],
        },
        Rule {
            leading: |b| b.starts_with(b"845464"),
            lengths: &[7],
            split: |_| &[3, 2, 2],
        },
        // Nine-digit freephone numbers.
        Rule {
            leading: |b| b.starts_with(b"800"),
            lengths: &[9],
            split: |_| &[3, 6],
        },
        // The twelve five-digit area codes (Langholm, Sedbergh, Brampton...):
        // 1(?:3873|5(?:242|39[4-6])|(?:697|768)[347]|9467).
        Rule {
            leading: |b| {
                b.starts_with(b"13873")
                    || b.starts_with(b"15242")
                    || (b.starts_with(b"1539") && digit_in(b, 4, b"456"))
                    || ((b.starts_with(b"1697") || b.starts_with(b"1768"))
                        && digit_in(b, 4, b"347"))
                    || b.starts_with(b"19467")
            },
            lengths: &[9, 10],
            split: |len| if len == 9 { &[5, 4] } else { &[5, 5] },
        },
        // Four-digit area codes: 1(?:[2-69][02-9]|[78]).
        Rule {
            leading: |b| {
                b.first() == Some(&b'1')
                    && ((digit_in(b, 1, b"234569") && digit_in(b, 2, b"023456789"))
                        || digit_in(b, 1, b"78"))
            },
            lengths: &[9, 10],
            split: |len| if len == 9 { &[4, 5] } else { &[4, 6] },
        },
        // London and the other two-digit codes, 055/056, and 070/076
        // numbers: [25]|7(?:0|6(?:[03-9]|2[356])).
        Rule {
            leading: |b| {
                digit_in(b, 0, b"25")
                    || (b.first() == Some(&b'7')
                        && (digit_in(b, 1, b"0")
                            || (digit_in(b, 1, b"6")
                                && (digit_in(b, 2, b"03456789")
                                    || (digit_in(b, 2, b"2") && digit_in(b, 3, b"356"))))))
            },
            lengths: &[10],
            split: |_| &[2, 4, 4],
        },
        // Mobiles.
        Rule {
            leading: |b| b.first() == Some(&b'7'),
            lengths: &[10],
            split: |_| &[4, 6],
        },
        // Three-digit area codes (0113, 0161...), 03, 08 and 09 numbers.
        Rule {
            leading: |b| digit_in(b, 0, b"1389"),
            lengths: &[10],
            split: |_| &[3, 3, 4],
        },
    ];

    /// `significant` (the digits after +44) in groups split by spaces, or
    /// as it is when no rule fits it. Plain comparisons, no regular
    /// expressions: nothing to compile on a cold start.
    pub(super) fn grouped(significant: &str) -> String {
        let bytes = significant.as_bytes();
        if !bytes.iter().all(u8::is_ascii_digit) {
            return significant.to_owned();
        }
        let rule = RULES
            .iter()
            .filter(|rule| (rule.leading)(bytes))
            .find(|rule| rule.lengths.contains(&bytes.len()));
        let Some(rule) = rule else {
            return significant.to_owned();
        };
        let mut groups = Vec::new();
        let mut at = 0;
        for size in (rule.split)(bytes.len()) {
            groups.push(&significant[at..at + size]);
            at += size;
        }
        groups.join(" ")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_rule_splits_each_of_its_lengths_whole() {
            for rule in &RULES {
                for &len in rule.lengths {
                    assert_eq!((rule.split)(len).iter().sum::<usize>(), len);
                }
            }
        }

        #[test]
        fn numbers_are_grouped_as_libphonenumber_groups_them() {
            let mut numbers: Vec<String> = Vec::new();
            for prefix in 1000..10_000u32 {
                if !matches!(prefix / 1000, 1 | 2 | 3 | 5 | 7 | 8 | 9) {
                    continue;
                }
                numbers.push(format!("{prefix}00000"));
                numbers.push(format!("{prefix}960123"));
            }
            for special in [
                "8001111", "845464", "13873", "15242", "15396", "16974", "19467",
            ] {
                numbers.push(format!("{special}{}", &"123456789"[special.len() - 1..]));
                numbers.push(format!("{special}{}", &"12345678"[special.len() - 1..]));
            }
            let mut compared = 0;
            for number in &numbers {
                // libphonenumber groups only the numbers it knows are allocated.
                let Ok(theirs) =
                    phonenumber::parse(Some(phonenumber::country::Id::GB), format!("0{number}"))
                else {
                    continue;
                };
                if !phonenumber::is_valid(&theirs) {
                    continue;
                }
                let theirs = theirs
                    .format()
                    .mode(phonenumber::Mode::National)
                    .to_string();
                assert_eq!(format!("0{}", grouped(number)), theirs, "{number}");
                compared += 1;
            }
            assert!(compared > 2500, "only {compared} numbers compared");
        }

        #[test]
        fn the_numbers_people_see_read_as_they_write_them() {
            for (significant, written) in [
                ("2079460000", "20 7946 0000"),
                ("7700900123", "7700 900123"),
                ("1614960000", "161 496 0000"),
                ("1632960000", "1632 960000"),
                ("1539660000", "15396 60000"),
                ("3001234567", "300 123 4567"),
                ("8001111", "800 1111"),
            ] {
                assert_eq!(grouped(significant), written);
            }
        }
    }
}

/// A date of birth: a real date in the past, at most 120 years ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateOfBirth(Date);

impl DateOfBirth {
    /// The shape the OpenAPI document gives with `format: date`; that the
    /// date is not in the future and at most 120 years ago, JSON Schema
    /// cannot state (it changes with today), so the field's description does.
    pub const PATTERN: &'static str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

    /// The oldest age accepted, in years, as a check of the year typed.
    pub const MAX_AGE_YEARS: i32 = 120;

    /// Parses `YYYY-MM-DD`, checked against `today`.
    pub fn parse(raw: &str, today: Date) -> Result<Self, String> {
        let format = format_description!("[year]-[month]-[day]");
        let shaped = raw.len() == 10
            && raw.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !shaped {
            return Err(
                "Please enter the date of birth as YYYY-MM-DD, for example 1970-03-31.".to_owned(),
            );
        }
        let date = Date::parse(raw, &format)
            .map_err(|_| "The date of birth must be a real date, like 1970-03-31.".to_owned())?;
        Self::of(date, today)
    }

    /// A date as a date of birth, checked against `today`: not in the
    /// future, and at most [`DateOfBirth::MAX_AGE_YEARS`] ago.
    pub fn of(date: Date, today: Date) -> Result<Self, String> {
        if date > today {
            return Err("The date of birth cannot be in the future.".into());
        }
        if today.year() - date.year() > Self::MAX_AGE_YEARS {
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
    fn a_name_is_checked_as_its_pattern_states_for_every_character() {
        let pattern = regex::Regex::new(PersonName::PATTERN).unwrap();
        // A character the regex's tables do not yet assign (they may be a
        // Unicode version behind ICU's) is left to the newer tables.
        let unassigned = regex::Regex::new(r"^\p{Cn}$").unwrap();
        let assigned = |c: &char| !unassigned.is_match(&c.to_string());
        let mut checked = 0;
        for c in (0..=0x10_ffff).filter_map(char::from_u32).filter(assigned) {
            checked += 1;
            for case in [
                c.to_string(),
                format!("Ann{c}"),
                format!("{c}é"),
                format!(" \t{c}\u{3000}"),
                format!("{c} Lee\r\n"),
            ] {
                assert_eq!(
                    PersonName::is_shaped(&case),
                    pattern.is_match(&case),
                    "U+{:04X} in {case:?}",
                    u32::from(c)
                );
            }
        }
        assert!(checked > 290_000, "{checked} characters checked");
    }

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
            Email::parse("Ann@Example.COM").unwrap().as_str(),
            "Ann@example.com"
        );
        for bad in [
            " ann@example.com",
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
    fn an_email_may_be_as_long_as_a_mail_path_allows_and_no_longer() {
        // 64 + 1 + 63 + 1 + 63 + 1 + n + 3 characters.
        let address = |n: usize| {
            format!(
                "{}@{}.{}.{}.uk",
                "a".repeat(64),
                "b".repeat(63),
                "c".repeat(63),
                "d".repeat(n)
            )
        };
        assert_eq!(address(58).chars().count(), Email::MAX_CHARS);
        assert!(Email::parse(&address(58)).is_ok());
        let longer = Email::parse(&address(59)).unwrap_err();
        assert!(longer.contains("254"), "{longer}");
    }

    #[test]
    fn a_stored_email_is_read_back_unless_it_could_not_be_sent_to() {
        for readable in ["a@b", "Ann@example.com", "ann+clinic@x.co.uk"] {
            assert_eq!(Email::from_stored(readable).unwrap().as_str(), readable);
        }
        for unreadable in [
            "ab", "@b", "a@", "a b@c", "a@b c", "a@b,c@d", "a@b;c", "<a@b>", "a\n@b",
        ] {
            assert!(Email::from_stored(unreadable).is_err(), "{unreadable}");
        }
    }

    #[test]
    fn a_stored_number_is_any_e164_number() {
        for readable in ["+123456", "+447700900123", "+123456789012345"] {
            assert_eq!(UkPhone::from_stored(readable).unwrap().as_str(), readable);
        }
        for unreadable in [
            "+12345",
            "+1234567890123456",
            "447700900123",
            "+44770090012x",
            "",
        ] {
            assert!(UkPhone::from_stored(unreadable).is_err(), "{unreadable}");
        }
        assert_eq!(
            UkPhone::from_stored("+12025550100").unwrap().national(),
            "+12025550100"
        );
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
            "07700 900123"
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
        // Born today, and exactly the oldest age: both at the edge, both taken.
        assert!(DateOfBirth::parse("2026-11-24", today).is_ok());
        assert!(DateOfBirth::parse("1906-01-01", today).is_ok());
        assert!(DateOfBirth::parse("1905-12-31", today).is_err());
        assert!(DateOfBirth::parse("1899-01-01", today).is_err());
        assert!(DateOfBirth::parse("1970-02-30", today).is_err());
        assert!(DateOfBirth::parse("31/03/1970", today).is_err());
        assert_eq!(
            DateOfBirth::parse("1970-03-31", today).unwrap().to_string(),
            "1970-03-31"
        );
    }
}
