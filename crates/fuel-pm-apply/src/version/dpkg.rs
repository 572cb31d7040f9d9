//! dpkg's version ordering (lib/dpkg/version.c: `dpkg_version_compare` and
//! `verrevcmp`), so the applier compares Debian versions without running
//! `dpkg --compare-versions` once per pair.

use std::cmp::Ordering;

/// A Debian version split as dpkg's `parseversion` does: the epoch is what
/// precedes the first `:`, the revision what follows the last `-`.
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    epoch: u64,
    upstream: &'a str,
    revision: &'a str,
}

fn parse(version: &str) -> Parts<'_> {
    let version = version.trim();
    let (epoch, rest) = match version.split_once(':') {
        // dpkg refuses a non-numeric epoch; the document's checker already
        // does, so anything else is compared as if it had none.
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, version),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, r),
        None => (rest, ""),
    };
    Parts {
        epoch,
        upstream,
        revision,
    }
}

/// The version without its epoch (`1:2.0-1` → `2.0-1`), as dpkg splits it.
pub fn without_epoch(version: &str) -> &str {
    match version.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => version,
    }
}

/// Whether the version names an epoch.
pub fn has_epoch(version: &str) -> bool {
    without_epoch(version).len() != version.len()
}

/// dpkg's ordering of two versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (parse(a), parse(b));
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream.as_bytes(), b.upstream.as_bytes()))
        .then_with(|| verrevcmp(a.revision.as_bytes(), b.revision.as_bytes()))
}

/// The weight of one non-digit character: `~` sorts before the end of the
/// string, which sorts before letters, which sort before everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => c as i32 + 256,
    }
}

fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let at = |s: &[u8], k: usize| s.get(k).copied();
    let digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        // Non-digit prefix, character by character.
        while (i < a.len() && !digit(at(a, i))) || (j < b.len() && !digit(at(b, j))) {
            let (ac, bc) = (order(at(a, i)), order(at(b, j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        // Numeric part: leading zeros do not count, then the longer number
        // wins, then the first differing digit.
        while at(a, i) == Some(b'0') {
            i += 1;
        }
        while at(b, j) == Some(b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(at(a, i)) && digit(at(b, j)) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(at(a, i)) {
            return Ordering::Greater;
        }
        if digit(at(b, j)) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_epoch_upstream_and_revision_as_dpkg_does() {
        assert_eq!(
            parse("1:2.4.7-1ubuntu4.6"),
            Parts {
                epoch: 1,
                upstream: "2.4.7",
                revision: "1ubuntu4.6"
            }
        );
        assert_eq!(
            parse("2.0-rc1-3"),
            Parts {
                epoch: 0,
                upstream: "2.0-rc1",
                revision: "3"
            }
        );
        assert_eq!(without_epoch("1:0.9-1"), "0.9-1");
        assert_eq!(without_epoch("0.9-1"), "0.9-1");
        assert!(has_epoch("0:1.0"));
        assert!(!has_epoch("1.0-1"));
    }

    #[test]
    fn orders_the_classic_cases() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0-1", "1.0-1", Equal),
            ("1.0", "1.0-0", Equal),
            ("1:0.9-1", "1.5-1", Greater),
            ("1.0~rc1-1", "1.0-1", Less),
            ("1.0-1", "1.0+b1-1", Less),
            ("1.0a", "1.0", Greater),
            ("1.0", "1.0.1", Less),
            ("1.10", "1.9", Greater),
            ("1.001", "1.1", Equal),
            ("2.4.7-1ubuntu4.6", "2.4.7-1ubuntu4.10", Less),
            ("1.0~~", "1.0~", Less),
        ] {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
