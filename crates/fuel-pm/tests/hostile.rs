//! Hostile input is refused, with a place, before it can cost time or memory.

use fuel_pm::{parse, Problem, MAX_DOCUMENT_BYTES};

use fuel_pm::samples;

fn refused(bytes: &[u8]) -> Problem {
    let mut problems = parse(bytes).expect_err("hostile input was accepted").0;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    problems.remove(0)
}

#[test]
fn a_billion_laughs_document_is_refused_at_its_first_alias() {
    let p = refused(samples::billion_laughs().as_bytes());
    assert_eq!((p.line, p.column), (2, 10));
    assert_eq!(
        p.message,
        "YAML aliases (*name) are not accepted in a package document"
    );
    assert_eq!(p.hint.as_deref(), Some("write the value out in full"));
}

#[test]
fn a_60_kib_flow_nested_document_is_refused_at_the_level_past_the_limit() {
    let p = refused(samples::flow_nested(60 * 1024).as_bytes());
    assert_eq!(p.message, "the document is nested more than 32 levels deep");
    assert_eq!((p.line, p.column), (1, 11 + 32));
}

#[test]
fn a_60_kib_block_nested_document_is_refused() {
    let p = refused(samples::block_nested(60 * 1024).as_bytes());
    assert_eq!(p.message, "the document is nested more than 32 levels deep");
    assert_eq!(p.line, 17);
}

#[test]
fn a_document_over_the_size_limit_is_refused_before_parsing() {
    // Not even YAML: only its size is looked at.
    let bytes = vec![b'['; MAX_DOCUMENT_BYTES + 1];
    let p = refused(&bytes);
    assert_eq!((p.line, p.column), (1, 1));
    assert_eq!(
        p.message,
        format!(
            "the document is {} bytes, more than the {MAX_DOCUMENT_BYTES} accepted",
            MAX_DOCUMENT_BYTES + 1
        )
    );
}

#[test]
fn a_document_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
    let p = refused(b"packages:\n- name: caf\xe9\n");
    assert_eq!((p.line, p.column), (2, 12));
    assert_eq!(
        p.message,
        "the document is not UTF-8: byte 0xe9 at byte offset 21 is not valid UTF-8"
    );
    assert_eq!(p.hint.as_deref(), Some("save the document as UTF-8"));
}

#[test]
fn a_file_of_several_documents_is_refused_at_the_second() {
    let p = refused(b"packages: []\n---\npackages: []\n");
    assert_eq!((p.line, p.column), (2, 1));
    assert_eq!(p.message, "a second YAML document (`---`) in the file");
}

#[test]
fn a_yaml_syntax_error_is_one_problem_with_its_place() {
    let p = refused(b"packages:\n- name: a\n  version: [1\n");
    assert_eq!(p.line, 3, "{p:?}");
    assert!(!p.message.contains(" at line "), "{}", p.message);
}

#[test]
fn a_syntax_error_message_never_carries_a_control_character() {
    let p = refused(b"packages: \"\x1b[2J\\q\"\n");
    assert!(!p.message.chars().any(char::is_control), "{:?}", p.message);
}

#[test]
fn a_document_of_too_many_nodes_is_refused() {
    let p = refused(samples::packages_up_to(MAX_DOCUMENT_BYTES).as_bytes());
    assert_eq!(
        p.message,
        format!(
            "the document has more than {} YAML nodes",
            fuel_pm::MAX_NODES
        )
    );
}

/// Each explicit tag another YAML reader (hiera's Ruby, PyYAML) could turn
/// into an object, or read differently from what was checked.
#[test]
fn explicit_yaml_tags_are_refused_with_their_line_and_column() {
    let cases = [
        ("packages:\n- name: !!binary aGVsbG8=\n", (2, 9), "!!binary"),
        (
            "packages:\n- name: a\n  after:\n  - !ruby/object:Gem::Installer\n    name: x\n",
            (4, 5),
            "!ruby/object:Gem::Installer",
        ),
        (
            "packages:\n- name: a\n  version: !!python/object/apply:os.system [\"id\"]\n",
            (3, 12),
            "!!python/object/apply:os.system",
        ),
        ("packages:\n- name: !!str a\n", (2, 9), "!!str"),
        ("packages: !!seq\n- name: a\n", (1, 11), "!!seq"),
        ("!mine\npackages: []\n", (1, 1), "!mine"),
        ("packages:\n- name: ! a\n", (2, 9), "!"),
    ];
    for (yaml, at, tag) in cases {
        let p = refused(yaml.as_bytes());
        assert_eq!((p.line, p.column), at, "{yaml:?}: {p}");
        assert_eq!(
            p.message,
            format!("YAML tags are not accepted in a package document: {tag:?}"),
            "{yaml:?}"
        );
        assert!(p.hint.unwrap().contains("remove the tag"));
    }
}

#[test]
fn a_tag_inside_a_quoted_string_is_text_not_a_tag() {
    let doc =
        parse(b"packages:\n- name: a\n  after:\n  - provider: exec\n    name: \"echo !!binary\"\n")
            .expect("a quoted ! is text");
    assert_eq!(doc.packages[0].after[0].name, "echo !!binary");
}
