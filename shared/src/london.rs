//! Times as the clinic reads them: every time a person reads (emails, desk
//! pages) is London time with GMT or BST named; stored times stay UTC.
//!
//! The zone's rules are compiled in from the tz database (`jiff`'s
//! `tz::get!`), so a Lambda image without tzdata reads them the same way.

use jiff::tz::{AmbiguousOffset, Disambiguation, TimeZone};
use thiserror::Error;
use time::OffsetDateTime;

/// Europe/London, as the tz database the build used describes it.
static LONDON: TimeZone = jiff::tz::get!("Europe/London");

/// A London wall-clock time that names no single instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WallClockError {
    /// The clocks go forward over it (01:00 to 02:00 on the last Sunday of March).
    #[error("that time does not happen in London: the clocks go forward over it")]
    Skipped,
    /// The clocks go back over it, so it happens twice (01:00 to 02:00 on
    /// the last Sunday of October).
    #[error("that time happens twice in London, as the clocks go back; please choose another")]
    Twice,
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
/// or repeat is refused, never guessed.
pub fn instant_of(date: time::Date, at: time::Time) -> Result<OffsetDateTime, WallClockError> {
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
    match ambiguous.offset() {
        AmbiguousOffset::Gap { .. } => return Err(WallClockError::Skipped),
        AmbiguousOffset::Fold { .. } => return Err(WallClockError::Twice),
        AmbiguousOffset::Unambiguous { .. } => {}
    }
    let zoned = ambiguous
        .disambiguate(Disambiguation::Reject)
        .map_err(|_| WallClockError::OutOfRange)?;
    OffsetDateTime::from_unix_timestamp(zoned.timestamp().as_second())
        .map_err(|_| WallClockError::OutOfRange)
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
            instant_of(date!(2026 - 07 - 01), time!(10:30)),
            Ok(datetime!(2026-07-01 09:30 UTC))
        );
        assert_eq!(
            instant_of(date!(2026 - 12 - 01), time!(10:30)),
            Ok(datetime!(2026-12-01 10:30 UTC))
        );
        assert_eq!(
            instant_of(date!(2026 - 03 - 29), time!(01:30)),
            Err(WallClockError::Skipped)
        );
        assert_eq!(
            instant_of(date!(2026 - 10 - 25), time!(01:30)),
            Err(WallClockError::Twice)
        );
    }
}
