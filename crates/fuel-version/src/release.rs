//! Release strings ("7.0", "8.0.0"): ordering for the upgrade preflight and
//! the X.Y series that names versioned packages (fuel-library8.0).

use std::cmp::Ordering;

/// Compares release strings the way an upgrade cares about: dot-separated
/// numeric parts compared as numbers, missing trailing parts count as 0
/// ("8.0" == "8.0.0" < "8.0.1" < "10.0"). A non-numeric part compares as text
/// and sorts before a numeric one (as rpm does: "8.0.rc1" < "8.0.0").
pub fn compare_releases(a: &str, b: &str) -> Ordering {
    let a: Vec<&str> = a.trim().split(['.', '-']).collect();
    let b: Vec<&str> = b.trim().split(['.', '-']).collect();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or("0");
        let y = b.get(i).copied().unwrap_or("0");
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Greater,
            (Err(_), Ok(_)) => Ordering::Less,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// The X.Y of a release ("8.0.0" → "8.0"), `None` when it has no two numeric parts.
pub fn series(release: &str) -> Option<String> {
    let mut parts = release.split('.');
    let major = parts.next()?;
    let minor = parts.next()?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(major) && numeric(minor)).then(|| format!("{major}.{minor}"))
}

/// "X.Y" or "X.Y.Z…": digits separated by single dots, at least two parts.
pub(crate) fn is_release(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_releases_numerically() {
        assert_eq!(compare_releases("7.0", "8.0.0"), Ordering::Less);
        assert_eq!(compare_releases("8.0", "8.0.0"), Ordering::Equal);
        assert_eq!(compare_releases("10.0", "9.0"), Ordering::Greater);
        assert_eq!(compare_releases("8.0.1", "8.0"), Ordering::Greater);
        assert_eq!(compare_releases("8.0.rc1", "8.0.0"), Ordering::Less);
    }

    #[test]
    fn series_is_major_minor() {
        assert_eq!(series("8.0.0").as_deref(), Some("8.0"));
        assert_eq!(series("7.0").as_deref(), Some("7.0"));
        assert_eq!(series("eight"), None);
        assert!(is_release("8.0.0") && is_release("7.0"));
        assert!(!is_release("8") && !is_release("8..0") && !is_release("8.0a"));
    }
}
