//! The document's rules, checked over the positioned tree. Nothing stops the
//! check: a wrong value is reported and its siblings are still checked, so a
//! refused document comes back with every problem at once.

use crate::nearest::nearest;
use crate::tree::{Kind, Node};
use crate::{
    valid_package_name, valid_service_name, valid_version, After, Document, Ensure, Package,
    Problem, Problems, Provider, Wanted, MAX_ACTION_TIMEOUT_SECS, MAX_ONE_LINER, MAX_PACKAGE_NAME,
    MAX_SERVICE_NAME, MAX_VERSION,
};
use std::collections::HashMap;

/// A refusal lists at most this many problems (then says how many more):
/// enough for any honest document, bounded for a hostile one.
pub const MAX_PROBLEMS: usize = 200;

const DOCUMENT_KEYS: &[&str] = &["packages", "allow_removals"];
const PACKAGE_KEYS: &[&str] = &["name", "version", "after", "allow_removals"];
const ACTION_KEYS: &[&str] = &["provider", "ensure", "name", "timeout"];
const PROVIDER_SPELLINGS: &[&str] = &[
    "systemd",
    "upstart",
    "service",
    "sysv",
    "corosync",
    "pacemaker",
    "exec",
];
const VALID_PROVIDERS: &str =
    "valid providers: systemd, upstart, service (or sysv), corosync (or pacemaker), exec";
const VERSION_RULE: &str = "a version is latest, absent, or [epoch:]upstream[-revision] such as \
     2.4.7-1ubuntu4.6: a digit first, then letters, digits and . + ~ ^ _ -";
const NAME_RULE: &str =
    "package names use letters, digits and . + _ -, and start with a letter or digit";
const SERVICE_RULE: &str =
    "service names use letters, digits and _ . - @ : \\, and do not start with -";

/// A user-supplied value in a message: quoted with escapes (control
/// characters show as `\n`, `\u{1b}`…) and cut short when long.
pub(crate) fn shown(s: &str) -> String {
    const LONGEST: usize = 64;
    match s.char_indices().nth(LONGEST) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// An unknown key as a path component: as written when it is a plain short
/// word, else quoted and escaped like any shown value (a path is printed to
/// terminals and must stay on one line).
fn key_in_path(key: &str) -> String {
    let plain = key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '<'));
    if plain && !key.is_empty() {
        key.to_owned()
    } else {
        shown(key)
    }
}

fn child<'p>(path: &'p Path<'p>, key: &'p str) -> Path<'p> {
    Path::Key(path, key)
}

/// Where a node is (`packages[2].after[0].name`), written out only when a
/// problem is reported: an accepted document builds no path strings.
#[derive(Clone, Copy)]
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

pub(crate) fn check(text: &str, root: &Node) -> Result<Document, Problems> {
    let mut checker = Checker {
        text,
        problems: Vec::new(),
    };
    let document = checker.document(root);
    let mut problems = checker.problems;
    if problems.is_empty() {
        if let Some(document) = document {
            return Ok(document);
        }
    }
    problems.sort_by_key(|p| (p.line, p.column));
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        let next = &problems[MAX_PROBLEMS];
        let summary = Problem {
            line: next.line,
            column: next.column,
            path: String::new(),
            message: format!("{more} more problems from here on are not listed"),
            hint: Some("fix the ones above and check again".to_owned()),
        };
        problems.truncate(MAX_PROBLEMS);
        problems.push(summary);
    }
    Err(Problems(problems))
}

/// The entries of one mapping under their known keys (first occurrence).
struct Fields<'n> {
    found: Vec<(&'static str, &'n Node<'n>, &'n Node<'n>)>,
}

impl<'n> Fields<'n> {
    /// The key node and value node of `key`.
    fn get(&self, key: &str) -> Option<(&'n Node<'n>, &'n Node<'n>)> {
        self.found
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, k, v)| (*k, *v))
    }

    fn value(&self, key: &str) -> Option<&'n Node<'n>> {
        self.get(key).map(|(_, v)| v)
    }
}

struct Checker<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn add(&mut self, at: &Node, path: &Path<'_>, message: String, hint: Option<String>) {
        self.problems.push(Problem {
            line: at.line,
            column: at.column,
            path: path.to_string(),
            message,
            hint,
        });
    }

    fn expected(&mut self, at: &Node, path: &Path<'_>, what: &str, hint: Option<String>) {
        let message = format!("expected {what}, found {}", at.describe(self.text));
        self.add(at, path, message, hint);
    }

    fn missing(&mut self, at: &Node, path: &Path<'_>, key: &str, hint: &str) {
        self.add(
            at,
            &child(path, key),
            format!("missing `{key}`"),
            Some(hint.to_owned()),
        );
    }

    /// Sorts a mapping's entries under `known`; unknown, repeated and
    /// non-string keys are problems.
    fn fields<'n>(
        &mut self,
        entries: &'n [(Node<'n>, Node<'n>)],
        path: &Path<'_>,
        known: &[&'static str],
    ) -> Fields<'n> {
        let mut fields = Fields { found: Vec::new() };
        for (key, value) in entries {
            let Kind::Str(name) = &key.kind else {
                self.expected(key, path, "a key name", None);
                continue;
            };
            let Some(&canonical) = known.iter().find(|k| **k == name.as_ref()) else {
                let hint = match nearest(name, known) {
                    Some(near) => format!("did you mean {near}?"),
                    None => format!("valid keys here: {}", known.join(", ")),
                };
                self.add(
                    key,
                    &child(path, &key_in_path(name)),
                    format!("unknown key {}", shown(name)),
                    Some(hint),
                );
                continue;
            };
            if let Some((first, _)) = fields.get(canonical) {
                let message = format!(
                    "`{canonical}` is given twice (first at line {})",
                    first.line
                );
                self.add(
                    key,
                    &child(path, canonical),
                    message,
                    Some("keep one".to_owned()),
                );
                continue;
            }
            fields.found.push((canonical, key, value));
        }
        fields
    }

    fn document(&mut self, root: &Node) -> Option<Document> {
        let entries = match &root.kind {
            Kind::Map(entries) => entries,
            Kind::Null => {
                let hint = "write `packages:` followed by a list of packages";
                // An empty document has no position of its own: point at its start.
                self.problems.push(Problem {
                    line: 1,
                    column: 1,
                    path: String::new(),
                    message: "the document is empty".to_owned(),
                    hint: Some(hint.to_owned()),
                });
                return None;
            }
            _ => {
                let hint = "start the document with `packages:` and list the packages under it";
                self.expected(
                    root,
                    &Path::Root,
                    "a mapping with `packages`",
                    Some(hint.to_owned()),
                );
                return None;
            }
        };
        let fields = self.fields(entries, &Path::Root, DOCUMENT_KEYS);
        let allow_removals = self.flag(
            fields.value("allow_removals"),
            &Path::Key(&Path::Root, "allow_removals"),
        );
        let Some(list) = fields.value("packages") else {
            let hint = "write `packages:` followed by a list of packages";
            self.missing(root, &Path::Root, "packages", hint);
            return None;
        };
        let Kind::Seq(items) = &list.kind else {
            let hint = "list packages under `packages:` as `- name: NAME`, or write `packages: []`";
            self.expected(
                list,
                &Path::Key(&Path::Root, "packages"),
                "a list of packages",
                Some(hint.to_owned()),
            );
            return None;
        };
        let mut packages = Vec::with_capacity(items.len());
        let mut first_line: HashMap<&str, usize> = HashMap::with_capacity(items.len());
        let mut complete = true;
        for (i, item) in items.iter().enumerate() {
            let path = Path::Index(&Path::Key(&Path::Root, "packages"), i);
            match self.package(item, &path, &mut first_line) {
                Some(package) => packages.push(package),
                None => complete = false,
            }
        }
        (complete && allow_removals.is_some()).then(|| Document {
            packages,
            allow_removals: allow_removals.unwrap_or(false),
        })
    }

    /// An optional `true`/`false` (absent: false).
    fn flag(&mut self, value: Option<&Node>, path: &Path<'_>) -> Option<bool> {
        let Some(value) = value else {
            return Some(false);
        };
        if let Kind::Bool(b) = value.kind {
            return Some(b);
        }
        self.expected(value, path, "true or false", None);
        None
    }

    fn package<'n>(
        &mut self,
        item: &'n Node<'n>,
        path: &Path<'_>,
        first_line: &mut HashMap<&'n str, usize>,
    ) -> Option<Package> {
        let Kind::Map(entries) = &item.kind else {
            let hint = match &item.kind {
                Kind::Str(s) => Some(format!("write `- name: {s}`")),
                _ => None,
            };
            let what = "a package (a mapping with name, and optionally version and after)";
            self.expected(item, path, what, hint);
            return None;
        };
        let fields = self.fields(entries, path, PACKAGE_KEYS);
        let name = match fields.value("name") {
            Some(value) => self.package_name(value, &child(path, "name")),
            None => {
                self.missing(
                    item,
                    path,
                    "name",
                    "every package needs the name of the package to handle",
                );
                None
            }
        };
        if let (Some(name), Some(value)) = (name, fields.value("name")) {
            if let Some(first) = first_line.get(name) {
                let message = format!(
                    "package {} is listed twice (first at line {first})",
                    shown(name)
                );
                let hint = "list each package once, with all its actions in one `after` list";
                self.add(value, &child(path, "name"), message, Some(hint.to_owned()));
            } else {
                first_line.insert(name, item.line);
            }
        }
        let version = match fields.value("version") {
            Some(value) => self.version(value, &child(path, "version")),
            None => Some(Wanted::Latest),
        };
        let after = match fields.value("after") {
            Some(value) => self.actions(value, &child(path, "after")),
            None => Some(Vec::new()),
        };
        let allow_removals = self.flag(
            fields.value("allow_removals"),
            &child(path, "allow_removals"),
        );
        Some(Package {
            name: name?.to_owned(),
            version: version?,
            after: after?,
            allow_removals: allow_removals?,
            line: item.line,
        })
    }

    fn package_name<'n>(&mut self, value: &'n Node<'n>, path: &Path<'_>) -> Option<&'n str> {
        let Kind::Str(name) = &value.kind else {
            self.expected(value, path, "a package name", None);
            return None;
        };
        if name.len() > MAX_PACKAGE_NAME {
            self.too_long(value, path, "package name", name, MAX_PACKAGE_NAME);
            return None;
        }
        if valid_package_name(name) {
            return Some(name);
        }
        let message = if name.is_empty() {
            "the package name is empty".to_owned()
        } else {
            format!("{} is not a package name", shown(name))
        };
        self.add(value, path, message, Some(NAME_RULE.to_owned()));
        None
    }

    fn version(&mut self, value: &Node, path: &Path<'_>) -> Option<Wanted> {
        match &value.kind {
            Kind::Str(spelling) => {
                let wanted = Wanted::from_spelling(spelling);
                let Wanted::Exact(version) = &wanted else {
                    return Some(wanted);
                };
                if version.len() > MAX_VERSION {
                    self.too_long(value, path, "version", version, MAX_VERSION);
                    return None;
                }
                if valid_version(version) {
                    return Some(wanted);
                }
                let message = if version.is_empty() {
                    "the version is empty".to_owned()
                } else {
                    format!("{} is not a version", shown(version))
                };
                let hint = match nearest(version, &["latest", "absent"]) {
                    Some(near) => format!("did you mean {near}?"),
                    None => VERSION_RULE.to_owned(),
                };
                self.add(value, path, message, Some(hint));
                None
            }
            Kind::Number(_) => {
                let written = value.source(self.text, "");
                let hint = format!("quote it so YAML keeps it as written: version: \"{written}\"");
                self.expected(value, path, "a version string", Some(hint));
                None
            }
            Kind::Null => {
                let hint = "leave `version` out for latest, or write latest, absent or a version";
                self.add(
                    value,
                    path,
                    "the version is empty".to_owned(),
                    Some(hint.to_owned()),
                );
                None
            }
            _ => {
                self.expected(
                    value,
                    path,
                    "a version string",
                    Some(VERSION_RULE.to_owned()),
                );
                None
            }
        }
    }

    fn actions(&mut self, value: &Node, path: &Path<'_>) -> Option<Vec<After>> {
        let Kind::Seq(items) = &value.kind else {
            let hint =
                "list actions as `- provider: systemd` / `  name: SERVICE`, or leave `after` out";
            self.expected(value, path, "a list of actions", Some(hint.to_owned()));
            return None;
        };
        let mut actions = Vec::with_capacity(items.len());
        let mut complete = true;
        for (j, item) in items.iter().enumerate() {
            match self.action(item, &Path::Index(path, j)) {
                Some(action) => actions.push(action),
                None => complete = false,
            }
        }
        complete.then_some(actions)
    }

    fn action(&mut self, item: &Node, path: &Path<'_>) -> Option<After> {
        let Kind::Map(entries) = &item.kind else {
            let what = "an action (a mapping with provider, ensure and name)";
            self.expected(item, path, what, None);
            return None;
        };
        let fields = self.fields(entries, path, ACTION_KEYS);
        // A missing provider is systemd, the service provider of the nodes'
        // distributions; `None` here means a provider that was refused.
        let provider = match fields.value("provider") {
            Some(value) => self.provider(value, &child(path, "provider")),
            None => Some(Provider::Systemd),
        };
        let ensure = match (provider, fields.get("ensure")) {
            (_, None) => Some(Ensure::Running),
            (Some(Provider::Exec), Some((key, _))) => {
                let message = "`ensure` does not apply to provider exec: a one-liner is run once, not kept running";
                self.add(
                    key,
                    &child(path, "ensure"),
                    message.to_owned(),
                    Some("remove `ensure`".to_owned()),
                );
                None
            }
            (_, Some((_, value))) => self.ensure(value, &child(path, "ensure")),
        };
        let timeout = match fields.value("timeout") {
            Some(value) => self.timeout(value, &child(path, "timeout")).map(Some),
            None => Some(None),
        };
        let name = match fields.value("name") {
            Some(value) => self.action_name(value, &child(path, "name"), provider),
            None => {
                let hint = if provider == Some(Provider::Exec) {
                    "for exec, name is the shell one-liner to run"
                } else {
                    "name is the service to act on"
                };
                self.missing(item, path, "name", hint);
                None
            }
        };
        Some(After {
            provider: provider?,
            ensure: ensure?,
            name: name?,
            timeout: timeout?,
        })
    }

    /// `timeout`: whole seconds, 1 to [`MAX_ACTION_TIMEOUT_SECS`].
    fn timeout(&mut self, value: &Node, path: &Path<'_>) -> Option<u64> {
        let hint = format!(
            "write the longest time the action may take, in whole seconds from 1 to {MAX_ACTION_TIMEOUT_SECS}, e.g. timeout: 300"
        );
        let secs = match &value.kind {
            Kind::Number(n) => n.parse::<u64>().ok(),
            _ => None,
        };
        match secs {
            Some(secs) if (1..=MAX_ACTION_TIMEOUT_SECS).contains(&secs) => Some(secs),
            _ => {
                self.expected(value, path, "a number of seconds", Some(hint));
                None
            }
        }
    }

    /// A value longer than its field allows, named by the field.
    fn too_long(&mut self, at: &Node, path: &Path<'_>, what: &str, value: &str, max: usize) {
        let message = format!(
            "the {what} is {} bytes long, more than the {max} accepted: {}",
            value.len(),
            shown(value)
        );
        let hint = match what {
            "exec one-liner" => "install a script on the node and call it from a short one-liner",
            _ => "check the value: no package manager accepts one this long",
        };
        self.add(at, path, message, Some(hint.to_owned()));
    }

    fn provider(&mut self, value: &Node, path: &Path<'_>) -> Option<Provider> {
        let Kind::Str(spelling) = &value.kind else {
            self.expected(value, path, "a provider", Some(VALID_PROVIDERS.to_owned()));
            return None;
        };
        if let Some(provider) = Provider::from_spelling(spelling) {
            return Some(provider);
        }
        let hint = match nearest(spelling, PROVIDER_SPELLINGS) {
            Some(near) => format!("did you mean {near}? {VALID_PROVIDERS}"),
            None => VALID_PROVIDERS.to_owned(),
        };
        self.add(
            value,
            path,
            format!("unknown provider {}", shown(spelling)),
            Some(hint),
        );
        None
    }

    fn ensure(&mut self, value: &Node, path: &Path<'_>) -> Option<Ensure> {
        let valid = "valid values: running, stopped";
        let Kind::Str(spelling) = &value.kind else {
            self.expected(value, path, "running or stopped", Some(valid.to_owned()));
            return None;
        };
        if let Some(ensure) = Ensure::from_spelling(spelling) {
            return Some(ensure);
        }
        let hint = match nearest(spelling, &["running", "stopped"]) {
            Some(near) => format!("did you mean {near}? {valid}"),
            None => valid.to_owned(),
        };
        self.add(
            value,
            path,
            format!("unknown ensure {}", shown(spelling)),
            Some(hint),
        );
        None
    }

    /// A service name, or for exec a one-liner; with an unknown provider only
    /// the type is checked (the provider's own problem says the rest).
    fn action_name(
        &mut self,
        value: &Node,
        path: &Path<'_>,
        provider: Option<Provider>,
    ) -> Option<String> {
        let Kind::Str(name) = &value.kind else {
            let what = if provider == Some(Provider::Exec) {
                "a shell one-liner"
            } else {
                "a service name"
            };
            self.expected(value, path, what, None);
            return None;
        };
        let longest = match provider {
            Some(Provider::Exec) => Some(("exec one-liner", MAX_ONE_LINER)),
            Some(_) => Some(("service name", MAX_SERVICE_NAME)),
            None => None,
        };
        if let Some((what, max)) = longest.filter(|(_, max)| name.len() > *max) {
            self.too_long(value, path, what, name, max);
            return None;
        }
        let refusal = match provider {
            Some(Provider::Exec) if name.trim().is_empty() => Some((
                "the one-liner is empty".to_owned(),
                "write the command to run, e.g. name: systemctl restart apache2",
            )),
            Some(Provider::Exec) if name.chars().any(|c| c.is_control() && c != '\t') => Some((
                format!(
                    "a one-liner is one line: {} has a line break or control character",
                    shown(name)
                ),
                "chain commands with && or ;, or install a script on the node and call it",
            )),
            Some(Provider::Exec) | None => None,
            Some(_) if name.is_empty() => {
                Some(("the service name is empty".to_owned(), SERVICE_RULE))
            }
            Some(_) if !valid_service_name(name) => Some((
                format!("{} is not a service name", shown(name)),
                SERVICE_RULE,
            )),
            Some(_) => None,
        };
        match refusal {
            Some((message, hint)) => {
                self.add(value, path, message, Some(hint.to_owned()));
                None
            }
            None => Some(name.to_string()),
        }
    }
}
