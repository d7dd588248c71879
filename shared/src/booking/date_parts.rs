//! The date of birth as three fields (day, month and year), as GOV.UK's
//! date input asks for a date people know by heart: a native date picker
//! shows the browser's locale (`mm/dd/yyyy` in a US one) whatever the hint
//! says. The parts are joined into the one [`DateOfBirth`], and a part that
//! is wrong is named in its own field error.

use super::DateOfBirth;
use crate::text::trim;
use std::ops::RangeInclusive;
use time::{Date, Month};

/// One of the three fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePart {
    /// The wire field's name.
    pub name: &'static str,
    /// What the patient calls it, in a message.
    pub what: &'static str,
    /// What it may be, as the OpenAPI document states it.
    pub pattern: &'static str,
    /// The same as [`DatePart::digits`] and [`DatePart::values`] check it,
    /// with blanks around: how many ASCII digits it has...
    pub digits: RangeInclusive<usize>,
    /// ...and the number they make.
    pub values: RangeInclusive<u16>,
    /// What the patient is told when it is not that.
    pub message: &'static str,
    /// The longest it may be, in characters as typed (blanks around it
    /// included): the page's `maxlength`, so the box takes what the server
    /// takes and no more.
    pub max_chars: usize,
}

/// The day, the month and the year, in the form's order.
pub const PARTS: [DatePart; 3] = [
    DatePart {
        name: "date_of_birth_day",
        what: "day",
        pattern: concat!(
            "^",
            crate::text::blank!(),
            "(0?[1-9]|[12][0-9]|3[01])",
            crate::text::blank!(),
            "$"
        ),
        digits: 1..=2,
        values: 1..=31,
        message: "The day must be a number from 1 to 31.",
        max_chars: 2,
    },
    DatePart {
        name: "date_of_birth_month",
        what: "month",
        pattern: concat!(
            "^",
            crate::text::blank!(),
            "(0?[1-9]|1[0-2])",
            crate::text::blank!(),
            "$"
        ),
        digits: 1..=2,
        values: 1..=12,
        message: "The month must be a number from 1 to 12.",
        max_chars: 2,
    },
    DatePart {
        name: "date_of_birth_year",
        what: "year",
        pattern: concat!(
            "^",
            crate::text::blank!(),
            "[0-9]{4}",
            crate::text::blank!(),
            "$"
        ),
        digits: 4..=4,
        values: 0..=9999,
        message: "The year must have four digits, like 1970.",
        max_chars: 4,
    },
];

impl DatePart {
    /// The number in `raw`, if it is what [`DatePart::pattern`] allows: its
    /// digits and their number checked as plain comparisons, as a regular
    /// expression would take a cold booking's time to build.
    pub fn number(&self, raw: &str) -> Option<u16> {
        let digits = trim(raw);
        let shaped =
            self.digits.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        shaped
            .then(|| digits.parse().ok())
            .flatten()
            .filter(|number| self.values.contains(number))
    }
}

/// The field the joined date's own errors (not a real date, in the future,
/// too long ago) are reported on.
pub const WHOLE: &str = "date_of_birth";

/// Joins the three parts (each `None` when not given), checked as a date of
/// birth against `today`; or every problem, each on the field it is about.
pub fn join(
    parts: [Option<&str>; 3],
    today: Date,
) -> Result<DateOfBirth, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let mut numbers = [0u16; 3];
    for (i, (part, raw)) in PARTS.iter().zip(parts).enumerate() {
        match raw {
            None => errors.push((
                part.name,
                format!("The date of birth must include a {}.", part.what),
            )),
            Some(raw) => match part.number(raw) {
                Some(number) => numbers[i] = number,
                None => errors.push((part.name, part.message.to_owned())),
            },
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let [day, month, year] = numbers;
    let date = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .zip(u8::try_from(day).ok())
        .and_then(|(month, day)| Date::from_calendar_date(i32::from(year), month, day).ok())
        .ok_or_else(|| {
            vec![(
                WHOLE,
                "The date of birth must be a real date, like 31 3 1970.".to_owned(),
            )]
        })?;
    DateOfBirth::of(date, today).map_err(|message| vec![(WHOLE, message)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 12 - 04);

    fn joined(
        day: &str,
        month: &str,
        year: &str,
    ) -> Result<DateOfBirth, Vec<(&'static str, String)>> {
        let given = |s| (!crate::text::is_blank(s)).then_some(s);
        join([given(day), given(month), given(year)], TODAY)
    }

    fn fields(result: Result<DateOfBirth, Vec<(&'static str, String)>>) -> Vec<&'static str> {
        result.unwrap_err().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn three_parts_make_the_date_as_typed_with_or_without_leading_zeros() {
        for (d, m, y) in [
            ("31", "3", "1970"),
            ("31", "03", "1970"),
            (" 31 ", "3\u{a0}", "1970"),
        ] {
            assert_eq!(
                joined(d, m, y).unwrap().date(),
                date!(1970 - 03 - 31),
                "{d} {m} {y}"
            );
        }
        assert_eq!(
            joined("1", "1", "2000").unwrap().date(),
            date!(2000 - 01 - 01)
        );
    }

    #[test]
    fn each_wrong_or_missing_part_is_named() {
        assert_eq!(fields(joined("", "3", "1970")), ["date_of_birth_day"]);
        assert_eq!(fields(joined("32", "3", "1970")), ["date_of_birth_day"]);
        assert_eq!(fields(joined("0", "3", "1970")), ["date_of_birth_day"]);
        assert_eq!(fields(joined("31", "13", "1970")), ["date_of_birth_month"]);
        assert_eq!(
            fields(joined("31", "March", "1970")),
            ["date_of_birth_month"]
        );
        assert_eq!(fields(joined("31", "3", "70")), ["date_of_birth_year"]);
        assert_eq!(
            fields(joined("x", "", "19700")),
            [
                "date_of_birth_day",
                "date_of_birth_month",
                "date_of_birth_year"
            ]
        );
        let missing = joined("31", "", "1970").unwrap_err();
        assert_eq!(missing[0].1, "The date of birth must include a month.");
    }

    #[test]
    fn the_joined_date_must_be_real_past_and_within_reach() {
        assert_eq!(fields(joined("31", "2", "1970")), ["date_of_birth"]);
        assert_eq!(fields(joined("29", "2", "1971")), ["date_of_birth"]);
        assert!(joined("29", "2", "1972").is_ok());
        assert_eq!(fields(joined("5", "12", "2026")), ["date_of_birth"]);
        assert_eq!(fields(joined("1", "1", "1900")), ["date_of_birth"]);
    }

    #[test]
    fn each_part_is_checked_as_its_pattern_states() {
        // Every string of up to four characters from those the patterns
        // turn on: digits, blanks inside and out, and what is near them.
        let alphabet = [
            '0', '1', '2', '3', '9', ' ', '\t', '\u{a0}', '\u{3000}', 'a', '٣', '-', '\u{2003}',
        ];
        let mut cases = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = cases
                .iter()
                .filter(|case| {
                    case.chars().count() == cases.last().map_or(0, |l| l.chars().count())
                })
                .flat_map(|case| alphabet.iter().map(move |c| format!("{case}{c}")))
                .collect();
            cases.extend(longer);
        }
        cases
            .extend(["  1970\r\n", "0031", "001", "10000", "\u{3000}12\u{3000}"].map(String::from));
        for part in &PARTS {
            let shape = regex::Regex::new(part.pattern).unwrap();
            for case in &cases {
                assert_eq!(
                    part.number(case).is_some(),
                    shape.is_match(case),
                    "{}: {case:?}",
                    part.name
                );
            }
        }
    }

    #[test]
    fn the_patterns_are_what_the_parts_are_checked_against() {
        for (part, good, bad) in [
            (
                &PARTS[0],
                ["1", "09", "31", " 7 "],
                ["0", "00", "32", "1.5"],
            ),
            (
                &PARTS[1],
                ["1", "09", "12", "\t3"],
                ["0", "13", "Mar", "-1"],
            ),
            (
                &PARTS[2],
                ["1970", "2026", "0999", " 1970 "],
                ["70", "19700", "197O", "+970"],
            ),
        ] {
            let shape = regex::Regex::new(part.pattern).unwrap();
            for value in good {
                assert!(shape.is_match(value), "{}: {value:?}", part.name);
            }
            for value in bad {
                assert!(!shape.is_match(value), "{}: {value:?}", part.name);
            }
        }
    }
}
