//! Times as the clinic reads them: every time a person reads (emails, desk
//! pages) is London time with GMT or BST named; stored times stay UTC.
//!
//! The zone's rules are compiled in from the tz database (`jiff`'s
//! `tz::get!`), so a Lambda image without tzdata reads them the same way.

use jiff::tz::{AmbiguousOffset, TimeZone};
use thiserror::Error;
use time::OffsetDateTime;

/// Europe/London, as the tz database the build used describes it.
static LONDON: TimeZone = jiff::tz::get!("Europe/London");

/// Which of London's two clocks a time is read on: what staff say when a
/// time happens twice (the last Sunday of October, 01:00 to 02:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// British Summer Time, UTC+1: the first time the hour happens.
    Bst,
    /// Greenwich Mean Time, UTC+0: the second time, after the clocks go back.
    Gmt,
}

impl Zone {
    /// The name people read and type (`GMT`, `BST`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bst => "BST",
            Self::Gmt => "GMT",
        }
    }

    /// The zone a typed name names, in any case.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Bst, Self::Gmt]
            .into_iter()
            .find(|zone| zone.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

/// A London wall-clock time that names no single instant, or not the one
/// the zone given says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WallClockError {
    /// The clocks go forward over it (01:00 to 02:00 on the last Sunday of March).
    #[error("that time does not happen in London: the clocks go forward from 01:00 GMT to 02:00 BST that night")]
    Skipped,
    /// The clocks go back over it, so it happens twice (01:00 to 02:00 on
    /// the last Sunday of October), and no zone says which.
    #[error("that time happens twice in London, as the clocks go back that night: say whether it is the first (BST) or the second (GMT)")]
    Twice,
    /// A zone was given that London is not on at that time.
    #[error("at that time London is on {actual}, not {given}")]
    NotOnZone {
        /// The zone given.
        given: &'static str,
        /// The zone London is on then.
        actual: &'static str,
    },
    /// Out of the range any calendar here handles.
    #[error("that date is out of range")]
    OutOfRange,
}

/// `at` in London, as `%A %-d %B %Y, %H:%M %Z`: `Wednesday 2 December
/// 2026, 09:05 GMT`.
pub fn written(at: OffsetDateTime) -> String {
    format(at, "%A %-d %B %Y, %H:%M %Z")
}

/// `at` in London, short, for lists: `2 Dec 2026, 09:05 GMT`.
pub fn short(at: OffsetDateTime) -> String {
    format(at, "%-d %b %Y, %H:%M %Z")
}

fn format(at: OffsetDateTime, pattern: &str) -> String {
    match jiff::Timestamp::new(at.unix_timestamp(), 0) {
        Ok(instant) => instant
            .to_zoned(LONDON.clone())
            .strftime(pattern)
            .to_string(),
        // Outside jiff's range (years beyond ±9999): no person reads those.
        Err(_) => crate::booking::record::rfc3339(at),
    }
}

/// The instant a London wall-clock `date` and `time` name: how a time staff
/// type (an appointment at 10:30) is stored as UTC. A time the clocks skip
/// is refused; one they repeat needs `zone` to say which of the two it is,
/// never a guess. A `zone` London is not on at an unrepeated time is
/// refused too, as a sign the date or time was mistyped.
pub fn instant_of(
    date: time::Date,
    at: time::Time,
    zone: Option<Zone>,
) -> Result<OffsetDateTime, WallClockError> {
    let civil = jiff::civil::DateTime::new(
        i16::try_from(date.year()).map_err(|_| WallClockError::OutOfRange)?,
        i8::try_from(u8::from(date.month())).map_err(|_| WallClockError::OutOfRange)?,
        i8::try_from(date.day()).map_err(|_| WallClockError::OutOfRange)?,
        i8::try_from(at.hour()).map_err(|_| WallClockError::OutOfRange)?,
        i8::try_from(at.minute()).map_err(|_| WallClockError::OutOfRange)?,
        i8::try_from(at.second()).map_err(|_| WallClockError::OutOfRange)?,
        0,
    )
    .map_err(|_| WallClockError::OutOfRange)?;
    let ambiguous = LONDON.to_ambiguous_zoned(civil);
    let offset = match (ambiguous.offset(), zone) {
        (AmbiguousOffset::Gap { .. }, _) => return Err(WallClockError::Skipped),
        (AmbiguousOffset::Fold { .. }, None) => return Err(WallClockError::Twice),
        // The first of the two is still summer time, the second GMT.
        (AmbiguousOffset::Fold { before, .. }, Some(Zone::Bst)) => before,
        (AmbiguousOffset::Fold { after, .. }, Some(Zone::Gmt)) => after,
        (AmbiguousOffset::Unambiguous { offset }, None) => offset,
        (AmbiguousOffset::Unambiguous { offset }, Some(given)) => {
            // The zone database names the clock London is on then.
            let instant = offset
                .to_timestamp(civil)
                .map_err(|_| WallClockError::OutOfRange)?;
            let actual = Zone::parse(LONDON.to_offset_info(instant).abbreviation());
            if actual != Some(given) {
                return Err(WallClockError::NotOnZone {
                    given: given.as_str(),
                    actual: actual.map_or("another clock", Zone::as_str),
                });
            }
            offset
        }
    };
    let zoned = offset
        .to_timestamp(civil)
        .map_err(|_| WallClockError::OutOfRange)?;
    OffsetDateTime::from_unix_timestamp(zoned.as_second()).map_err(|_| WallClockError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    #[test]
    fn winter_reads_as_gmt_and_summer_as_bst() {
        assert_eq!(
            written(datetime!(2026-12-02 09:05 UTC)),
            "Wednesday 2 December 2026, 09:05 GMT"
        );
        // 04:49 UTC in June is 05:49 on the clinic's clock.
        assert_eq!(
            written(datetime!(2026-06-10 04:49 UTC)),
            "Wednesday 10 June 2026, 05:49 BST"
        );
        assert_eq!(
            short(datetime!(2026-06-10 23:30 UTC)),
            "11 Jun 2026, 00:30 BST"
        );
    }

    #[test]
    fn the_clocks_change_at_one_in_the_morning_utc() {
        // 2026: forward on 29 March, back on 25 October.
        assert_eq!(
            short(datetime!(2026-03-29 00:59 UTC)),
            "29 Mar 2026, 00:59 GMT"
        );
        assert_eq!(
            short(datetime!(2026-03-29 01:00 UTC)),
            "29 Mar 2026, 02:00 BST"
        );
        assert_eq!(
            short(datetime!(2026-10-25 00:59 UTC)),
            "25 Oct 2026, 01:59 BST"
        );
        assert_eq!(
            short(datetime!(2026-10-25 01:00 UTC)),
            "25 Oct 2026, 01:00 GMT"
        );
    }

    #[test]
    fn a_wall_clock_time_is_stored_as_its_instant() {
        assert_eq!(
            instant_of(date!(2026 - 07 - 01), time!(10:30), None),
            Ok(datetime!(2026-07-01 09:30 UTC))
        );
        assert_eq!(
            instant_of(date!(2026 - 12 - 01), time!(10:30), None),
            Ok(datetime!(2026-12-01 10:30 UTC))
        );
        assert_eq!(
            instant_of(date!(2026 - 07 - 01), time!(10:30), Some(Zone::Bst)),
            Ok(datetime!(2026-07-01 09:30 UTC))
        );
    }

    #[test]
    fn a_time_the_clocks_skip_is_refused_whatever_zone_is_named() {
        // 2027: forward on 28 March, from 01:00 GMT to 02:00 BST.
        for zone in [None, Some(Zone::Gmt), Some(Zone::Bst)] {
            assert_eq!(
                instant_of(date!(2027 - 03 - 28), time!(01:30), zone),
                Err(WallClockError::Skipped)
            );
        }
        assert_eq!(
            instant_of(date!(2027 - 03 - 28), time!(00:59), None),
            Ok(datetime!(2027-03-28 00:59 UTC))
        );
        assert_eq!(
            instant_of(date!(2027 - 03 - 28), time!(02:00), None),
            Ok(datetime!(2027-03-28 01:00 UTC))
        );
    }

    #[test]
    fn a_time_the_clocks_repeat_needs_its_zone_and_is_the_instant_chosen() {
        // 2027: back on 31 October, from 02:00 BST to 01:00 GMT.
        assert_eq!(
            instant_of(date!(2027 - 10 - 31), time!(01:30), None),
            Err(WallClockError::Twice)
        );
        assert_eq!(
            instant_of(date!(2027 - 10 - 31), time!(01:30), Some(Zone::Bst)),
            Ok(datetime!(2027-10-31 00:30 UTC))
        );
        assert_eq!(
            instant_of(date!(2027 - 10 - 31), time!(01:30), Some(Zone::Gmt)),
            Ok(datetime!(2027-10-31 01:30 UTC))
        );
        assert!(WallClockError::Twice.to_string().contains("(BST)"));
    }

    #[test]
    fn a_zone_london_is_not_on_is_refused() {
        assert_eq!(
            instant_of(date!(2027 - 01 - 15), time!(10:00), Some(Zone::Bst)),
            Err(WallClockError::NotOnZone {
                given: "BST",
                actual: "GMT"
            })
        );
        assert_eq!(Zone::parse(" gmt "), Some(Zone::Gmt));
        assert_eq!(Zone::parse("CET"), None);
    }
}
