//! The block-style subset nearly every package document is written in,
//! read in one pass straight into the positioned tree, so the common case
//! does not pay for a general YAML parser (`cargo xtask bench pm-doc`: the
//! general parser alone reads under 20 MB/s here).
//!
//! The subset: block mappings and sequences indented with spaces, plain
//! keys, plain scalars on one line, single-quoted scalars and double-quoted
//! ones without escapes on one line, `[]`, comments and blank lines, an
//! opening `---`, ASCII only. Anything else (flow collections, anchors,
//! aliases, tags, block and multi-line scalars, escapes, tabs, directives, a
//! second `---` or a `...`, a BOM, a number in
//! a form other than plain decimal, an implicit boolean or null in an unusual
//! spelling, nesting deeper than [`MAX_DEPTH`]) makes [`read`] answer `None`
//! and the general parser reads the document instead. Within the subset the
//! tree is the one the general parser builds, node for node and position for
//! position (tested against it in `tests` below), so the check cannot tell
//! which reader ran.

use crate::load::{too_many_nodes, MAX_DEPTH, MAX_NODES};
use crate::tree::{Kind, Node};
use crate::Problem;
use std::borrow::Cow;

/// The document's tree; `Some(Err)` past [`MAX_NODES`] (as the general
/// parser refuses it); `None` when the document leaves the subset.
pub(crate) fn read(text: &str) -> Option<Result<Node<'_>, Problem>> {
    let mut reader = Reader {
        text,
        lines: Vec::new(),
        at: 0,
        nodes: 0,
    };
    reader.split()?;
    if reader.lines.is_empty() {
        // Empty or comments only: the general parser says where.
        return None;
    }
    let first = reader.lines[0];
    if first.indent != 0 || is_seq_entry(reader.content(&first)) {
        return None;
    }
    let root = match reader.node(usize::MAX, 1) {
        Ok(root) => root,
        Err(Stop::Leave) => return None,
        Err(Stop::TooMany(line, column)) => return Some(Err(too_many_nodes(line, column))),
    };
    // Anything left is indented less than where it could belong.
    if reader.at != reader.lines.len() {
        return None;
    }
    Some(Ok(root))
}

/// Why reading stopped.
enum Stop {
    /// Outside the subset: the general parser reads the document.
    Leave,
    /// The node at this line and column is one past [`MAX_NODES`].
    TooMany(usize, usize),
}

/// A line with content: 1-based number, byte offsets of its first
/// non-space byte and of its end (before the newline and any comment).
#[derive(Clone, Copy)]
struct Line {
    number: usize,
    start: usize,
    indent: usize,
    end: usize,
}

struct Reader<'t> {
    text: &'t str,
    lines: Vec<Line>,
    /// The next line to read.
    at: usize,
    nodes: usize,
}

fn is_seq_entry(content: &[u8]) -> bool {
    content == b"-" || content.starts_with(b"- ")
}

impl<'t> Reader<'t> {
    /// The lines with content; `None` on anything the subset leaves out at
    /// the byte level (non-ASCII, tabs, control characters, `\r`, document
    /// markers, directives).
    fn split(&mut self) -> Option<()> {
        let text = self.text.as_bytes();
        let mut start = 0;
        let mut number = 0;
        let mut opened = false;
        while start < text.len() {
            number += 1;
            let newline = text[start..].iter().position(|&b| b == b'\n');
            let end = newline.map_or(text.len(), |i| start + i);
            let line = &text[start..end];
            // Printable ASCII only.
            if line.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
                return None;
            }
            let indent = line.iter().take_while(|&&b| b == b' ').count();
            let content = &line[indent..];
            if !content.is_empty() && content[0] != b'#' {
                // `---` opening the one document, as hiera's files often do.
                if indent == 0
                    && self.lines.is_empty()
                    && !opened
                    && content.starts_with(b"---")
                    && trailer_is_empty(&content[3..])
                {
                    opened = true;
                    start = end + 1;
                    continue;
                }
                if indent == 0
                    && (content.starts_with(b"---")
                        || content.starts_with(b"...")
                        || content[0] == b'%')
                {
                    return None;
                }
                self.lines.push(Line {
                    number,
                    start: start + indent,
                    indent,
                    end,
                });
            }
            start = end + 1;
        }
        Some(())
    }

    fn content(&self, line: &Line) -> &'t [u8] {
        let text = self.text.as_bytes();
        &text[line.start..line.end]
    }

    fn count(&mut self, line: usize, column: usize) -> Result<(), Stop> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Stop::TooMany(line, column));
        }
        Ok(())
    }

    /// The block node starting at the current line, a mapping or a
    /// sequence, at nesting `depth` (the root is 1).
    fn node(&mut self, parent_indent: usize, depth: usize) -> Result<Node<'t>, Stop> {
        let line = self.lines[self.at];
        if is_seq_entry(self.content(&line)) {
            self.sequence(line.indent, line.indent == parent_indent, depth)
        } else {
            self.mapping(line.indent, depth)
        }
    }

    /// A block sequence whose `-` are at `indent`; `indentless` when at the
    /// indentation of the mapping it is a value of.
    fn sequence(
        &mut self,
        indent: usize,
        indentless: bool,
        depth: usize,
    ) -> Result<Node<'t>, Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::Leave);
        }
        // YAML places a block sequence at its first `-`, or when indentless
        // (it has no start of its own) where its first entry's content starts.
        let first = self.lines[self.at];
        let content = self.content(&first);
        let column = match indentless {
            true => indent + 2 + content[1..].iter().take_while(|&&b| b == b' ').count(),
            false => indent + 1,
        };
        self.count(first.number, column)?;
        let mut items = Vec::new();
        while let Some(&line) = self.lines.get(self.at) {
            if line.indent != indent {
                break;
            }
            let content = self.content(&line);
            if !is_seq_entry(content) {
                break;
            }
            // Spaces after the `-`: the entry's content starts there.
            let gap = content[1..].iter().take_while(|&&b| b == b' ').count();
            if 1 + gap == content.len() {
                // `-` alone: the entry is on the lines below (or is empty).
                return Err(Stop::Leave);
            }
            let start = line.start + 1 + gap;
            let column = indent + 2 + gap;
            let text = self.text.as_bytes();
            let rest = &text[start..line.end];
            if is_seq_entry(rest) || rest.starts_with(b"-") {
                return Err(Stop::Leave);
            }
            if key_end(rest).is_some() {
                // `- key: value`: a mapping whose keys are at this column.
                self.lines[self.at] = Line {
                    number: line.number,
                    start,
                    indent: column - 1,
                    end: line.end,
                };
                items.push(self.mapping(column - 1, depth + 1)?);
            } else {
                let value = self.scalar(&line, start, line.end)?;
                self.at += 1;
                // A more indented line would continue the scalar.
                if self.lines.get(self.at).is_some_and(|l| l.indent > indent) {
                    return Err(Stop::Leave);
                }
                items.push(value);
            }
        }
        Ok(Node {
            line: first.number,
            column,
            bytes: 0..0,
            kind: Kind::Seq(items),
        })
    }

    /// A block mapping whose keys are at `indent` (the first key at byte `start`).
    fn mapping(&mut self, indent: usize, depth: usize) -> Result<Node<'t>, Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::Leave);
        }
        let first = self.lines[self.at];
        self.count(first.number, indent + 1)?;
        let mut entries = Vec::new();
        while let Some(&line) = self.lines.get(self.at) {
            if line.indent != indent {
                if line.indent > indent {
                    return Err(Stop::Leave);
                }
                break;
            }
            let content = self.content(&line);
            if is_seq_entry(content) {
                break;
            }
            let Some(colon) = key_end(content) else {
                return Err(Stop::Leave);
            };
            let key = self.scalar(&line, line.start, line.start + colon)?;
            if !matches!(key.kind, Kind::Str(_)) || !plain_key(&content[..colon]) {
                return Err(Stop::Leave);
            }
            let after = &content[colon + 1..];
            let gap = after.iter().take_while(|&&b| b == b' ').count();
            self.at += 1;
            let alone = gap == after.len() || after[gap] == b'#';
            let value = if alone {
                // `key:` alone: a block below, or an empty value.
                match self.lines.get(self.at) {
                    Some(next)
                        if next.indent > indent
                            || (next.indent == indent && is_seq_entry(self.content(next))) =>
                    {
                        self.node(indent, depth + 1)?
                    }
                    _ => {
                        let column = indent + colon + 1;
                        self.count(line.number, column)?;
                        Node {
                            line: line.number,
                            column,
                            bytes: 0..0,
                            kind: Kind::Null,
                        }
                    }
                }
            } else {
                let from = line.start + colon + 1 + gap;
                let value = self.scalar(&line, from, line.end)?;
                // A more indented line would continue the scalar, or be an error.
                if self.lines.get(self.at).is_some_and(|l| l.indent > indent) {
                    return Err(Stop::Leave);
                }
                value
            };
            entries.push((key, value));
        }
        Ok(Node {
            line: first.number,
            column: indent + 1,
            bytes: 0..0,
            kind: Kind::Map(entries),
        })
    }

    /// The scalar (or `[]`) written in `start..end` of line `number`.
    fn scalar(&mut self, line: &Line, start: usize, end: usize) -> Result<Node<'t>, Stop> {
        let number = line.number;
        // `start - indent` is where the line begins, also for the rewritten
        // first line of a mapping inside a sequence entry.
        let column = start - (line.start - line.indent) + 1;
        self.count(number, column)?;
        let text = self.text;
        let written = &text.as_bytes()[start..end];
        let node = |kind, bytes: std::ops::Range<usize>| Node {
            line: number,
            column,
            bytes,
            kind,
        };
        match written[0] {
            b'\'' | b'"' => {
                let quote = written[0];
                // Up to the closing quote, on this line; `''` is a quote
                // within single quotes, `\\` (an escape) leaves the subset.
                let mut doubled = false;
                let mut i = 1;
                loop {
                    let Some(&b) = written.get(i) else {
                        return Err(Stop::Leave);
                    };
                    if b == quote {
                        if quote == b'\'' && written.get(i + 1) == Some(&b'\'') {
                            doubled = true;
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    if b == b'\\' && quote == b'"' {
                        return Err(Stop::Leave);
                    }
                    i += 1;
                }
                if !trailer_is_empty(&written[i + 1..]) {
                    return Err(Stop::Leave);
                }
                let inner = &text[start + 1..start + i];
                let value = match doubled {
                    true => Cow::Owned(inner.replace("''", "'")),
                    false => Cow::Borrowed(inner),
                };
                Ok(node(Kind::Str(value), start..start + i + 1))
            }
            b'[' if written.get(1) == Some(&b']') && trailer_is_empty(&written[2..]) => {
                Ok(node(Kind::Seq(Vec::new()), start..start + 2))
            }
            first if starts_plain(first) => {
                let plain = plain_end(written).ok_or(Stop::Leave)?;
                let kind = resolve(&text[start..start + plain]).ok_or(Stop::Leave)?;
                Ok(node(kind, start..start + plain))
            }
            _ => Err(Stop::Leave),
        }
    }
}

/// Nothing but spaces and a comment after a quoted scalar.
fn trailer_is_empty(rest: &[u8]) -> bool {
    let gap = rest.iter().take_while(|&&b| b == b' ').count();
    gap == rest.len() || (gap > 0 && rest[gap] == b'#')
}

/// Where the key of a `key: value` or `key:` line ends (its `:`), for a plain key.
fn key_end(content: &[u8]) -> Option<usize> {
    if !starts_plain(content[0]) {
        return None;
    }
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b':' if i + 1 == content.len() || content[i + 1] == b' ' => return Some(i),
            b' ' if content.get(i + 1) == Some(&b'#') => return None,
            _ => i += 1,
        }
    }
    None
}

/// A key the subset reads the same way as YAML: no spaces, quotes or flow
/// characters.
fn plain_key(key: &[u8]) -> bool {
    !key.is_empty()
        && key
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'<' | b'.'))
}

/// A plain scalar may start with this byte (not a YAML indicator).
fn starts_plain(b: u8) -> bool {
    !matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b' '
    )
}

/// The length of the plain scalar at the start of `written` (the rest of the
/// line up to a comment, trailing spaces dropped); `None` if it holds `: `
/// or ends in `:` (a mapping the subset does not read on one line).
fn plain_end(written: &[u8]) -> Option<usize> {
    let mut end = written.len();
    for i in 0..written.len() {
        match written[i] {
            b'#' if i > 0 && written[i - 1] == b' ' => {
                end = i;
                break;
            }
            b':' if i + 1 == written.len() || written[i + 1] == b' ' => return None,
            _ => {}
        }
    }
    while end > 0 && written[end - 1] == b' ' {
        end -= 1;
    }
    (end > 0).then_some(end)
}

/// What a plain scalar means, as the general reader resolves it (YAML 1.1
/// booleans, nulls, numbers); `None` for a spelling that may be a number in
/// a form this reader does not convert (the general reader then runs).
fn resolve(text: &str) -> Option<Kind<'_>> {
    if matches!(text, "~" | "null" | "Null" | "NULL") {
        return Some(Kind::Null);
    }
    for (spellings, value) in [
        (["true", "yes", "y", "on"], true),
        (["false", "no", "n", "off"], false),
    ] {
        if spellings.iter().any(|s| text.eq_ignore_ascii_case(s)) {
            return Some(Kind::Bool(value));
        }
    }
    let bytes = text.as_bytes();
    if bytes == b"0" || (bytes[0] != b'0' && bytes.iter().all(u8::is_ascii_digit)) {
        // A plain decimal: the number as written, if it fits u64 as YAML reads it.
        return text
            .parse::<u64>()
            .ok()
            .map(|_| Kind::Number(text.to_owned()));
    }
    if could_be_number(bytes) {
        return None;
    }
    Some(Kind::Str(Cow::Borrowed(text)))
}

/// Whether YAML might read `bytes` as a number (integer in any base, float,
/// `.inf`, `.nan`): only the characters numbers are made of, at most one
/// `.`, and a sign only first or after an exponent. Versions such as
/// `2.4.7-1ubuntu4` are never numbers.
fn could_be_number(bytes: &[u8]) -> bool {
    if !bytes.iter().any(u8::is_ascii_digit) {
        // Only `.inf`, `.nan` and their signed spellings are numbers without a digit.
        return matches!(bytes[0], b'.' | b'+' | b'-');
    }
    let numeric = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.');
    if !bytes.iter().all(numeric) {
        return false;
    }
    if bytes.iter().filter(|&&b| b == b'.').count() > 1 {
        return false;
    }
    let signs_in_place = bytes
        .iter()
        .enumerate()
        .all(|(i, &b)| !matches!(b, b'+' | b'-') || i == 0 || matches!(bytes[i - 1], b'e' | b'E'));
    if !signs_in_place {
        return false;
    }
    // A letter outside hex digits and the x/o/b/inf/nan spellings.
    let letters_in_numbers =
        |b: &u8| !b.is_ascii_alphabetic() || b"abcdefABCDEFxXoObBiInNtT".contains(b);
    bytes.iter().all(letters_in_numbers)
}

#[cfg(test)]
mod tests {
    //! The subset reader against the general parser, on every shape the
    //! subset covers: the same tree, or no answer.

    use super::read;
    use crate::tree::{Kind, Node};

    /// The tree as text: position, kind, value, and a number's or boolean's
    /// source text (what messages quote).
    fn shape(text: &str, node: &Node) -> String {
        let at = format!("{}:{}", node.line, node.column);
        match &node.kind {
            Kind::Null => format!("{at} null"),
            Kind::Bool(b) => format!("{at} bool {b} {:?}", node.source(text, "")),
            Kind::Number(n) => format!("{at} number {n} {:?}", node.source(text, "")),
            Kind::Str(s) => format!("{at} str {s:?}"),
            Kind::Seq(items) => {
                let items: Vec<String> = items.iter().map(|n| shape(text, n)).collect();
                format!("{at} [{}]", items.join(", "))
            }
            Kind::Map(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{} => {}", shape(text, k), shape(text, v)))
                    .collect();
                format!("{at} {{{}}}", entries.join(", "))
            }
        }
    }

    /// Read by both; returns whether the subset reader answered.
    fn same(text: &str) -> bool {
        let general = crate::load::load_general(text);
        match read(text) {
            None => false,
            Some(Ok(tree)) => {
                let general = general.unwrap_or_else(|p| panic!("{text:?}: general refused: {p}"));
                assert_eq!(shape(text, &tree), shape(text, &general), "{text:?}");
                true
            }
            Some(Err(p)) => {
                let general = general.expect_err("the general parser accepted it");
                assert_eq!(p, general, "{text:?}");
                true
            }
        }
    }

    #[test]
    fn documents_of_the_subset_read_as_the_general_parser_reads_them() {
        let docs = [
            "packages:\n- name: a\n",
            "packages: []\n",
            "packages: []  # none\n",
            "---\npackages: []\n",
            "--- # hiera\npackages: []\n",
            "# the bench's\n---\npackages:\n- name: x-0001\n  version: absent   # gone\n  after:\n  - provider: exec\n    name: /usr/bin/check --package 1\n",
            "packages:\n  - name: a\n    version: '1.0-1'\n",
            "packages:\n- name: a\n  version:\n",
            "packages:\n- name: a\n  version: ''\n",
            "packages:\n- name: a\n  version: \"2:1.0\"\n",
            "packages:\n- name: a\n  version: 'it''s'\n",
            "packages:\n-   name: a\n    after:\n    -  provider: exec\n       name: echo a && b | c > /tmp/x; $(id)\n",
            "allow_removals: true\npackages:\n- name: a\n  allow_removals: no\n",
            "packages:\n- name: a\n  version: 2.4.7-1ubuntu4.6\n",
            "packages:\n- name: a\n  version: 1:2.0-1\n",
            "packages:\n- name: a\n  version: 1.0~rc1\n",
            "packages:\n- name: a\n  version: 3\n",
            "packages:\n- name: a\n  version: 0\n",
            "packages:\n- name: a\n  version: latest # newest\n",
            "packages:\n- name: a\n  after:\n  - provider: systemd\n    name: apache2\n    timeout: 300\n",
            "packages:\n- name: ~\n- name: null\n- name: Yes\n- name: OFF\n- name: y\n",
            "packages:\n- apache2\n- 'quoted'\n",
            "packages:\n  name: a\n",
            "packages:\n- name: a\n  verison: 1\n",
            "packages:\n- name: a\n  <<: x\n",
            "packages:\n- name: a\n  name: b\n",
            "package:\n- name: a\n",
            "other: 1\n",
            "packages:\n- name: a\n  after: []\n",
            "packages:\n- name: a\n  after:\n  - provider: exec\n    name: 'a: b'\n",
            "packages:\n- name: a\n  after:\n    - provider: exec\n      name: echo \"x\" 'y' \\z\n",
            "\n# comment\npackages:   # the list\n\n- name: a   \n  # between\n  version: x\n",
            "packages:\n- name: a\n  after:\n  - provider: exec\n    name: a #b c\n",
            "packages:\n- name: a\n  after:\n  - provider: exec\n    name: a#b\n",
            "packages:\n- name: pkg\n  version: 1e3z\n",
            "packages:\n- name: x.y\n  version: 1.2.3\n",
            "packages:\n- name: a\n  after:\n  - provider: exec\n    name: a,b[c]{d}\n",
        ];
        for doc in docs {
            assert!(same(doc), "the subset reader left {doc:?}");
        }
        let generated = crate::samples::packages(300);
        assert!(same(&generated));
    }

    /// Every one-character change of a few documents (a character inserted
    /// or replaced at each place): the subset reader reads each variant as
    /// the general parser does, or leaves it.
    #[test]
    fn every_small_edit_of_a_document_reads_the_same_or_is_left() {
        let seeds = [
            include_str!("../examples/design.yaml"),
            "packages:\n- name: a\n  version: '1.0-1'\n  after:\n  - provider: exec\n    name: echo a # c\n    timeout: 30\nallow_removals: false\n",
            "packages:\n  - name: b\n    version: \"2:1.0\"\n    after: []\n",
        ];
        let edits = [
            ' ', '-', ':', '#', '\'', '"', 'x', '\n', '1', '.', '[', '&', '!', '|', 'y', '~',
        ];
        let (mut read, mut left) = (0, 0);
        for seed in seeds {
            for at in 0..=seed.len() {
                for edit in edits {
                    let inserted = format!("{}{edit}{}", &seed[..at], &seed[at..]);
                    let replaced = match at < seed.len() {
                        true => format!("{}{edit}{}", &seed[..at], &seed[at + 1..]),
                        false => seed.to_owned(),
                    };
                    for doc in [inserted, replaced] {
                        if same(&doc) {
                            read += 1
                        } else {
                            left += 1
                        }
                    }
                }
            }
        }
        // Many edits stay within the subset: the comparison means something.
        assert!(read * 3 > left, "{read} read, {left} left");
    }

    #[test]
    fn documents_outside_the_subset_are_left_to_the_general_parser() {
        let docs = [
            "packages: [a]\n",
            "packages:\n- name: a\n  after:\n  - name: x\n    timeout: 99999999999999999999999\n",
            "packages: {}\n",
            "packages:\n- name: &x a\n",
            "packages:\n- name: *x\n",
            "packages:\n- name: !!str a\n",
            "packages:\n- name: a\n  version: 1.10\n",
            "packages:\n- name: a\n  version: 0x10\n",
            "packages:\n- name: a\n  version: 010\n",
            "packages:\n- name: a\n  version: .inf\n",
            "packages:\n- name: a\n  version: 1_0\n",
            "packages:\n- name: a\n  version: +1\n",
            "packages:\n- name: a\n  after:\n  - provider: exec\n    name: |\n      echo\n",
            "packages:\n- name: a\n  after:\n  - provider: exec\n    name: echo\n      more\n",
            "packages:\n- name: a\n  after:\n  - provider: exec\n    name: \"a\\tb\"\n",
            "packages:\n- name: 'a\n  b'\n",
            "packages:\n- name:\ta\n",
            "packages:\r\n- name: a\r\n",
            "\u{feff}packages: []\n",
            "packages: []\n---\npackages: []\n",
            "%YAML 1.2\n---\npackages: []\n",
            "packages:\n- name: caf\u{e9}\n",
            "- name: a\n",
            "just text\n",
            "",
            "# nothing\n",
            "packages:\n-\n  name: a\n",
            "packages:\n- - a\n",
            "? packages\n: []\n",
            "'packages': []\n",
            "packages:\n- name: a\n   version: x\n",
            "packages:\n- name: a\n version: x\n",
            "packages:\n- name: a: b\n",
        ];
        for doc in docs {
            assert!(!same(doc), "the subset reader read {doc:?}");
        }
    }

    #[test]
    fn a_document_of_too_many_nodes_is_refused_where_the_general_parser_refuses_it() {
        let doc = crate::samples::packages_up_to(crate::MAX_DOCUMENT_BYTES);
        assert!(same(&doc));
    }

    #[test]
    fn nesting_past_the_limit_is_left_to_the_general_parser() {
        let mut doc = String::from("packages:\n");
        for depth in 0..40 {
            doc.push_str(&format!("{}- name:\n", "  ".repeat(depth)));
        }
        assert!(!same(&doc));
    }
}
