//! Wall-clock times as the API records them: RFC 3339 in UTC, whole seconds.

/// Now, e.g. `2026-11-23T10:40:00Z`.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    rfc3339(now.replace_nanosecond(0).unwrap_or(now))
}

/// A time in seconds since the Unix epoch (a token's expiry), e.g. `2026-11-23T10:40:00Z`.
pub fn unix_rfc3339(seconds: i64) -> String {
    rfc3339(
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    )
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
