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

/// Now to the millisecond, e.g. `2026-11-23T10:40:00.123Z`: when a node's
/// sub-task started and ended, so a rollout's batches can be seen in order.
/// Fixed width, so the texts sort as the times do.
pub fn now_rfc3339_millis() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&format).unwrap_or_default()
}
