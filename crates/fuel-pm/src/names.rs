//! The character sets a package name, a version and a service name may use:
//! nothing outside them can reach a package manager or systemctl. And the
//! lengths they may have, so an over-long value is refused at upload, naming
//! its field, rather than discovered on the node.

/// The longest package name accepted, in bytes. dpkg and rpm set no limit
/// of their own, but each names its package file after name and version
/// (`NAME_VERSION_ARCH.deb`, `NAME-VERSION-RELEASE.ARCH.rpm`) and a file name
/// is at most 255 bytes: with [`MAX_VERSION`] and the architecture, a name of
/// this length still fits.
pub const MAX_PACKAGE_NAME: usize = 128;
/// The longest version accepted, in bytes (see [`MAX_PACKAGE_NAME`]).
pub const MAX_VERSION: usize = 96;
/// The longest service name accepted, in bytes: systemd's unit-name limit
/// (UNIT_NAME_MAX, 256 with the terminating NUL), which also bounds sysv
/// script names (a file name) and pacemaker ids in practice.
pub const MAX_SERVICE_NAME: usize = 255;
/// The longest exec one-liner accepted, in bytes: 16 KiB, an eighth of the
/// kernel's 128 KiB limit on one argument (MAX_ARG_STRLEN), which the
/// one-liner is when handed to `bash -c`.
pub const MAX_ONE_LINER: usize = 16 * 1024;

/// A package name of Debian or rpm: an ASCII letter or digit, then letters,
/// digits and `.` `+` `_` `-` (the union of dpkg's `[a-z0-9][a-z0-9+.-]+` and
/// rpm's usual set). No leading `-`, so a name is never read as an option.
pub fn valid_package_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= MAX_PACKAGE_NAME
        && matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '_' | '-'))
}

/// A version of Debian (`[epoch:]upstream[-revision]`) or rpm
/// (`[epoch:]version[-release]`): an optional epoch of digits and `:`, then a
/// digit, then letters, digits and `.` `+` `~` `^` `_` `-`; no second `:`,
/// no trailing `-` (a revision or release is never empty).
pub fn valid_version(s: &str) -> bool {
    if s.len() > MAX_VERSION {
        return false;
    }
    let rest = match s.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || epoch.len() > 9 || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            rest
        }
        None => s,
    };
    let mut chars = rest.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | '^' | '_' | '-'))
        && !rest.ends_with('-')
}

/// A service name for systemd, upstart, sysv or a pacemaker resource: ASCII
/// letters, digits and `_` `.` `-` `@` `:` `\` (systemd's unit-name set, which
/// holds pacemaker ids and init script names), not starting with `-`. These
/// reach systemctl and its kin as one argv element, never a shell; the rule
/// keeps out whitespace, control characters and anything read as an option.
pub fn valid_service_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SERVICE_NAME
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@' | ':' | '\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_of_both_distributions_are_valid() {
        for name in [
            "apache2",
            "libc6-dev",
            "g++",
            "python3.11",
            "NetworkManager",
            "perl_Foo",
            "0ad",
        ] {
            assert!(valid_package_name(name), "{name}");
        }
    }

    #[test]
    fn names_that_could_be_options_or_shell_are_not_package_names() {
        for name in [
            "", "-rf", ".hidden", "a b", "a;b", "a/b", "$(x)", "a\nb", "ä",
        ] {
            assert!(!valid_package_name(name), "{name:?}");
        }
    }

    #[test]
    fn versions_have_at_most_one_numeric_epoch_and_start_with_a_digit() {
        for v in [
            "1",
            "1:2.0-1",
            "2.4.7-1ubuntu4.6",
            "1.0~rc1",
            "2^git1-1.el9_2",
            "1.0+dfsg-1-2",
        ] {
            assert!(valid_version(v), "{v}");
        }
        for v in [
            "",
            "a1",
            "-1",
            "1:",
            ":1",
            "1:2:3",
            "e:1",
            "1-",
            "1 2",
            "1;2",
            "1234567890:1",
            "1:a",
        ] {
            assert!(!valid_version(v), "{v:?}");
        }
    }

    #[test]
    fn service_names_are_unit_names_not_options() {
        for s in [
            "apache2",
            "getty@tty1.service",
            "p_mysql",
            "p_mysql:0",
            "a\\x2db",
        ] {
            assert!(valid_service_name(s), "{s}");
        }
        for s in ["", "-H", "a b", "a\tb", "a/b", "a;b", "a\nb"] {
            assert!(!valid_service_name(s), "{s:?}");
        }
    }
}
