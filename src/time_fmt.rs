//! Timestamps in the wire format used by job statuses and webhook payloads.

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// RFC 3339 in UTC with exactly three fractional digits and a `Z` suffix,
/// for example `2024-12-05T12:34:56.789Z`.
const RFC3339_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Formats `at` as RFC 3339 UTC with milliseconds, e.g. `2024-12-05T12:34:56.789Z`.
pub fn rfc3339_millis(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(RFC3339_MILLIS)
        .expect("a UTC timestamp always formats")
}

/// Returns the current time in UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_733_402_096_789_000_000).unwrap();
        assert_eq!(rfc3339_millis(at), "2024-12-05T12:34:56.789Z");
    }

    #[test]
    fn converts_offsets_to_utc() {
        let at = OffsetDateTime::from_unix_timestamp(0)
            .unwrap()
            .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
        assert_eq!(rfc3339_millis(at), "1970-01-01T00:00:00.000Z");
    }
}
