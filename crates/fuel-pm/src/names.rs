//! The character sets a package name, a version and a service name may use:
//! nothing outside them can reach a package manager or systemctl.

/// A package name of Debian or rpm: an ASCII letter or digit, then letters,
/// digits and `.` `+` `_` `-` (the union of dpkg's `[a-z0-9][a-z0-9+.-]+` and
/// rpm's usual set). No leading `-`, so a name is never read as an option.
pub fn valid_package_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '_' | '-'))
}

/// A version of Debian (`[epoch:]upstream[-revision]`) or rpm
/// (`[epoch:]version[-release]`): an optional epoch of digits and `:`, then a
/// digit, then letters, digits and `.` `+` `~` `^` `_` `-`; no second `:`,
/// no trailing `-` (a revision or release is never empty).
pub fn valid_version(s: &str) -> bool {
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
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@' | ':' | '\\'))
}
