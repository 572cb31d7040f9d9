//! `@NAME@` substitution in spec values and template files.
//!
//! Only the names of [`Variables`] exist; anything else that looks like a
//! variable (`@UPPER_CASE@`) is reported by [`unknown_variables`] so that a
//! typo fails the lint instead of shipping a literal `@FUEL_VERSON@`.

use std::collections::BTreeMap;

/// The values a template may use, by name (without the `@`s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables(BTreeMap<&'static str, String>);

/// Every name a template may use; documented in specs/README.md.
pub const KNOWN: &[&str] = &[
    "FUEL_VERSION",
    "FUEL_SERIES",
    "FUEL_RELEASE",
    "BUILD_COMMIT",
    "BUILD_NUMBER",
    "BUILD_ID",
    "REPO_BASEURL",
];

impl Variables {
    pub fn new() -> Self {
        Variables(BTreeMap::new())
    }

    /// Sets a known variable; panics on an unknown name (a programming error).
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        assert!(KNOWN.contains(&name), "{name} is not a template variable");
        self.0.insert(name, value.into());
        self
    }

    /// Placeholder values for every known name: what the lint substitutes when
    /// it checks a generated file without building anything.
    pub fn placeholders() -> Self {
        let mut vars = Variables::new();
        for name in KNOWN {
            vars.0
                .insert(name, format!("{}-placeholder", name.to_ascii_lowercase()));
        }
        vars
    }

    /// `text` with every known `@NAME@` replaced; unknown ones are left as they
    /// are (the lint rejects them before a build gets here).
    pub fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((before, name, after)) = next_variable(rest) {
            out.push_str(before);
            match self.0.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    out.push('@');
                    out.push_str(name);
                    out.push('@');
                }
            }
            rest = after;
        }
        out.push_str(rest);
        out
    }
}

/// An `@NAME@` that is not a known variable, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariable {
    pub line: usize,
    pub name: String,
}

/// Every `@NAME@` in `text` whose name is not in [`KNOWN`].
pub fn unknown_variables(text: &str) -> Vec<UnknownVariable> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some((_, name, after)) = next_variable(rest) {
            if !KNOWN.contains(&name) {
                found.push(UnknownVariable {
                    line: index + 1,
                    name: name.to_string(),
                });
            }
            rest = after;
        }
    }
    found
}

/// Splits `text` around its first `@NAME@` (NAME: upper-case letters, digits,
/// `_`, starting with a letter), so e-mail addresses and lone `@`s are text.
fn next_variable(text: &str) -> Option<(&str, &str, &str)> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(offset) = text[start..].find('@') {
        let at = start + offset;
        let name_start = at + 1;
        let mut end = name_start;
        while end < bytes.len()
            && (bytes[end].is_ascii_uppercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        if end > name_start
            && end < bytes.len()
            && bytes[end] == b'@'
            && bytes[name_start].is_ascii_uppercase()
        {
            return Some((&text[..at], &text[name_start..end], &text[end + 1..]));
        }
        start = name_start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_known_names_and_keeps_other_text() {
        let mut vars = Variables::new();
        vars.set("FUEL_VERSION", "8.0.0").set("FUEL_SERIES", "8.0");
        assert_eq!(
            vars.substitute(
                "Fuel release @FUEL_VERSION@ (liberty-@FUEL_SERIES@), mail a@b.org @x@\n"
            ),
            "Fuel release 8.0.0 (liberty-8.0), mail a@b.org @x@\n"
        );
    }

    #[test]
    fn reports_unknown_names_with_their_line() {
        let text = "ok @FUEL_VERSION@\nbad @FUEL_VERSON@ and @BUILD_ID@\n@NOPE@";
        assert_eq!(
            unknown_variables(text),
            vec![
                UnknownVariable {
                    line: 2,
                    name: "FUEL_VERSON".into()
                },
                UnknownVariable {
                    line: 3,
                    name: "NOPE".into()
                },
            ]
        );
    }
}
