//! rpm's version ordering (rpmio/rpmvercmp.c `rpmvercmp` and rpmds.c
//! `rpmverCmp` over `parseEVR`), so the applier compares rpm versions without
//! running rpm once per pair.

use std::cmp::Ordering;

/// An `[epoch:]version[-release]` split as rpm's `parseEVR` does: the epoch
/// is a leading run of digits ended by `:`, the release what follows the last
/// `-`. A missing epoch counts as 0; a missing release sorts before any.
#[derive(Debug, PartialEq, Eq)]
struct Evr<'a> {
    epoch: &'a str,
    version: &'a str,
    release: Option<&'a str>,
}

fn parse(evr: &str) -> Evr<'_> {
    let digits = evr.bytes().take_while(u8::is_ascii_digit).count();
    let (epoch, rest) = if evr.as_bytes().get(digits) == Some(&b':') {
        let e = &evr[..digits];
        (if e.is_empty() { "0" } else { e }, &evr[digits + 1..])
    } else {
        ("0", evr)
    };
    match rest.rsplit_once('-') {
        Some((version, release)) => Evr {
            epoch,
            version,
            release: Some(release),
        },
        None => Evr {
            epoch,
            version: rest,
            release: None,
        },
    }
}

/// The EVR without its epoch (`1:0.9-1` → `0.9-1`).
pub fn without_epoch(evr: &str) -> &str {
    let digits = evr.bytes().take_while(u8::is_ascii_digit).count();
    if evr.as_bytes().get(digits) == Some(&b':') {
        &evr[digits + 1..]
    } else {
        evr
    }
}

/// Whether the EVR names an epoch.
pub fn has_epoch(evr: &str) -> bool {
    without_epoch(evr).len() != evr.len()
}

/// rpm's ordering of two EVRs (`rpmverCmp`, what `rpm.vercmp` in rpm's Lua
/// answers). Unlike a dependency range, a missing release is not a wildcard
/// here: `1.0` sorts before `1.0-0`.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (parse(a), parse(b));
    rpmvercmp(a.epoch, b.epoch)
        .then_with(|| rpmvercmp(a.version, b.version))
        .then_with(|| match (a.release, b.release) {
            (Some(ra), Some(rb)) => rpmvercmp(ra, rb),
            (ra, rb) => ra.is_some().cmp(&rb.is_some()),
        })
}

/// rpm's segment-wise comparison of one version or release string.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut one, mut two) = (0, 0);
    let separator = |s: &[u8], k: usize| {
        k < s.len() && !s[k].is_ascii_alphanumeric() && s[k] != b'~' && s[k] != b'^'
    };
    while one < a.len() || two < b.len() {
        while separator(a, one) {
            one += 1;
        }
        while separator(b, two) {
            two += 1;
        }
        let (ca, cb) = (a.get(one).copied(), b.get(two).copied());
        // A tilde sorts before everything, even the end of the string.
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            one += 1;
            two += 1;
            continue;
        }
        // A caret sorts like a tilde, except that the end of the string
        // (the base version) sorts before it.
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            one += 1;
            two += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        // One segment of each: all digits or all letters, typed by the first.
        let isnum = ca.is_ascii_digit();
        let kind = |c: &u8| {
            if isnum {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let end1 = one + a[one..].iter().take_while(|c| kind(c)).count();
        let end2 = two + b[two..].iter().take_while(|c| kind(c)).count();
        if end2 == two {
            // Different segment types: numeric is newer than alpha.
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut s1, mut s2) = (&a[one..end1], &b[two..end2]);
        if isnum {
            while s1.first() == Some(&b'0') {
                s1 = &s1[1..];
            }
            while s2.first() == Some(&b'0') {
                s2 = &s2[1..];
            }
            let by_length = s1.len().cmp(&s2.len());
            if by_length != Ordering::Equal {
                return by_length;
            }
        }
        let by_bytes = s1.cmp(s2);
        if by_bytes != Ordering::Equal {
            return by_bytes;
        }
        one = end1;
        two = end2;
    }
    match (one >= a.len(), two >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_epoch_version_and_release_as_rpm_does() {
        assert_eq!(
            parse("1:0.9-1"),
            Evr {
                epoch: "1",
                version: "0.9",
                release: Some("1")
            }
        );
        assert_eq!(
            parse("2.0"),
            Evr {
                epoch: "0",
                version: "2.0",
                release: None
            }
        );
        assert_eq!(without_epoch("12:3-4"), "3-4");
        assert!(!has_epoch("3-4"));
    }

    #[test]
    fn orders_the_classic_cases() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0-1", "1.0-1", Equal),
            ("1:0.9-1", "1.5-1", Greater),
            ("0:1.0-1", "1.0-1", Equal),
            ("1.0", "1.0-7", Less),
            ("1.0a", "1.0", Greater),
            ("1.0", "1.0.1", Less),
            ("1.10", "1.9", Greater),
            ("1.001", "1.1", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("1a", "1.1", Less),
            ("1.0_1", "1.0.1", Equal),
            ("2.4.7-1.el7", "2.4.7-1.el7_1", Less),
        ] {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
