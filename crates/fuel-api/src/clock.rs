//! Wall-clock times as the API records them: RFC 3339 in UTC, whole seconds.

/// Now, e.g. `2026-11-23T10:40:00Z`.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
