//! From bytes to the positioned tree within fixed limits, so hostile input is
//! refused in bounded time and memory: size before anything else, UTF-8, one
//! YAML document, nesting depth, no aliases, a bounded number of nodes.

use crate::tree::Node;
use crate::{Problem, MAX_DOCUMENT_BYTES};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind;
use serde_saphyr::ExternalMessageSource;

/// Deepest nesting accepted; a valid document needs 5 levels
/// (document, packages, package, after, action).
pub const MAX_DEPTH: usize = 32;

/// Most YAML nodes (mappings, lists, scalars) accepted: a package is 3 to 5
/// nodes, 15 with one action, so this holds about 3,000 packages with an
/// action each or 10,000 without. It bounds the time a document that fills
/// MAX_DOCUMENT_BYTES with small nodes costs before it is refused
/// (`cargo xtask bench pm-doc`).
pub const MAX_NODES: usize = 50_000;

pub(crate) fn load(bytes: &[u8]) -> Result<(&str, Node<'_>), Problem> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(whole(
            1,
            1,
            format!(
                "the document is {} bytes, more than the {MAX_DOCUMENT_BYTES} accepted",
                bytes.len()
            ),
            Some("a package document lists packages; split it or remove what is not needed"),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| not_utf8(bytes, e))?;
    let root = match crate::block::read(text) {
        Some(read) => read?,
        None => load_general(text)?,
    };
    Ok((text, root))
}

/// A document outside the block subset, read by serde-saphyr.
pub(crate) fn load_general(text: &str) -> Result<Node<'_>, Problem> {
    // Every tag starts with `!`: without one, the pass looking for tags is
    // skipped (a hostile document costs one pass, not two).
    let tag_possible = text.contains('!');
    if let Some(problem) = tag_possible.then(|| first_tag(text)).flatten() {
        return Err(problem);
    }
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    // The scanner looks ahead through flow brackets before the budget sees
    // their events; its own limit is the same depth.
    budget.flow_nesting_limit = MAX_DEPTH;
    // Aliases are refused outright: they are what alias bombs are made of,
    // and a package list has no need to repeat a value by reference.
    budget.max_aliases = 0;
    budget.max_documents = 1;
    budget.max_nodes = MAX_NODES;
    let options = serde_saphyr::options! {
        budget: Some(budget),
        // Repeated keys reach the tree so the check reports each of them.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        // `<<` is an ordinary (unknown) key, not a merge.
        merge_keys: serde_saphyr::MergeKeyPolicy::AsOrdinary,
        // The problem carries the line and column; a rendered snippet is
        // never shown, and building one scans the whole line (a hostile
        // document is one line of megabytes).
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<Node<'_>>(text, options).map_err(|e| yaml_problem(&e))
}

/// The first explicit YAML tag (`!!binary`, `!!str`, `!ruby/object:…`,
/// `!!python/…`, a bare `!`…) in the document, as a problem. The document is
/// read again on the node by other YAML readers (hiera), some of which build
/// objects from tags: they must see plain scalars, lists and mappings only,
/// exactly what was checked. The parser streams events without building
/// anything, and stops where the loading that follows stops (a syntax
/// error, [`MAX_NODES`] nodes), which then reports why: its cost is bounded
/// by the node limit, not by the document's size.
fn first_tag(text: &str) -> Option<Problem> {
    use serde_saphyr::granit_parser::{Event, Parser};
    let mut nodes = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.ok()?;
        if event.is_node() {
            nodes += 1;
            if nodes > MAX_NODES {
                return None;
            }
        }
        let tag = match &event {
            Event::Scalar(_, _, _, tag)
            | Event::SequenceStart(_, _, tag)
            | Event::MappingStart(_, _, tag) => tag.as_deref(),
            Event::StreamEnd => return None,
            _ => None,
        };
        let Some(tag) = tag else { continue };
        let at = span.tag_start.unwrap_or(span.start);
        let written = match tag.handle() {
            "tag:yaml.org,2002:" => format!("!!{}", tag.suffix()),
            handle => format!("{handle}{}", tag.suffix()),
        };
        return Some(whole(
            at.line(),
            at.col() + 1,
            format!(
                "YAML tags are not accepted in a package document: {}",
                crate::check::shown(&written)
            ),
            Some(
                "remove the tag and write the value as a plain (or quoted) string, list or mapping",
            ),
        ));
    }
    None
}

fn whole(line: usize, column: usize, message: String, hint: Option<&str>) -> Problem {
    Problem {
        line,
        column,
        path: String::new(),
        message,
        hint: hint.map(str::to_owned),
    }
}

/// Where the first byte that is not UTF-8 sits, as a line, a column and a byte offset.
fn not_utf8(bytes: &[u8], e: std::str::Utf8Error) -> Problem {
    let offset = e.valid_up_to();
    // The prefix is valid UTF-8 by definition of `valid_up_to`.
    let before = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    whole(
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
        format!(
            "the document is not UTF-8: byte 0x{:02x} at byte offset {offset} is not valid UTF-8",
            bytes[offset]
        ),
        Some("save the document as UTF-8"),
    )
}

/// serde-saphyr's error as one problem, with our wording for the limits.
fn yaml_problem(e: &serde_saphyr::Error) -> Problem {
    let (line, column) = e
        .location()
        .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
    let too_deep = || {
        (
            format!("the document is nested more than {MAX_DEPTH} levels deep"),
            Some("a package document needs 5 levels: packages, package, after, action"),
        )
    };
    let (message, hint) = match e.without_snippet() {
        serde_saphyr::Error::ExternalMessage { source, .. }
            if matches!(&**source, ExternalMessageSource::Parser(scan)
            if matches!(scan.kind(), ErrorKind::RecursionLimitExceeded)) =>
        {
            too_deep()
        }
        serde_saphyr::Error::MultipleDocuments { .. } => several_documents(),
        serde_saphyr::Error::Budget { breach, .. } => match breach {
            BudgetBreach::Aliases { .. } => (
                "YAML aliases (*name) are not accepted in a package document".to_owned(),
                Some("write the value out in full"),
            ),
            BudgetBreach::Depth { .. } => too_deep(),
            BudgetBreach::Documents { .. } => several_documents(),
            BudgetBreach::Nodes { .. } => return too_many_nodes(line, column),
            other => (
                format!("the document exceeds a parser limit: {other:?}"),
                None,
            ),
        },
        other => (printable(&strip_location(&other.to_string())), None),
    };
    whole(line, column, message, hint)
}

/// The document holds more than [`MAX_NODES`] nodes, the one at `line`,
/// `column` being the first too many.
pub(crate) fn too_many_nodes(line: usize, column: usize) -> Problem {
    whole(
        line,
        column,
        format!("the document has more than {MAX_NODES} YAML nodes"),
        Some("split it into smaller documents"),
    )
}

fn several_documents() -> (String, Option<&'static str>) {
    (
        "a second YAML document (`---`) in the file".to_owned(),
        Some("a file holds one package document"),
    )
}

/// The parser's message may quote the input: control characters are escaped
/// so a problem stays one line and cannot drive a terminal.
fn printable(message: &str) -> String {
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// serde-saphyr ends its messages with " at line L, column C"; the problem
/// carries those already.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}
