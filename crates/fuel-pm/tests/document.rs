//! The document's format and rules: what loads, and where each problem is reported.

use fuel_pm::{parse, After, Document, Ensure, Package, Problem, Provider, Wanted};

use fuel_pm::samples;

/// The problems of a document that must be refused.
fn problems(yaml: &str) -> Vec<Problem> {
    match parse(yaml.as_bytes()) {
        Ok(document) => panic!("accepted {yaml:?} as {document:?}"),
        Err(problems) => problems.0,
    }
}

/// The one problem of a document that must be refused for one reason.
fn only_problem(yaml: &str) -> Problem {
    let mut all = problems(yaml);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

fn at(p: &Problem) -> (usize, usize, &str) {
    (p.line, p.column, p.path.as_str())
}

fn accepted(yaml: &str) -> Document {
    parse(yaml.as_bytes()).unwrap_or_else(|p| panic!("refused {yaml:?}:\n{}", p.render("doc")))
}

#[test]
fn the_designs_example_loads_unchanged() {
    let document = accepted(include_str!("../examples/design.yaml"));
    let action = |provider, ensure, name: &str| After {
        provider,
        ensure,
        name: name.to_owned(),
        timeout: None,
    };
    let package = |name: &str, version, after, line| Package {
        name: name.to_owned(),
        version,
        after,
        allow_removals: false,
        line,
    };
    assert_eq!(
        document,
        Document {
            packages: vec![
                package(
                    "apache2",
                    Wanted::Exact("2.4.7-1ubuntu4.6".into()),
                    vec![action(Provider::Upstart, Ensure::Running, "apache2")],
                    3
                ),
                package(
                    "wget",
                    Wanted::Latest,
                    vec![action(Provider::Exec, Ensure::Running, "wget -V")],
                    9
                ),
                package("tmux", Wanted::Latest, vec![], 14),
                package("screen", Wanted::Absent, vec![], 15),
                package(
                    "mysql-server-wsrep",
                    Wanted::Latest,
                    vec![action(Provider::Corosync, Ensure::Running, "p_mysql")],
                    17
                ),
            ],
            allow_removals: false,
        }
    );
}

#[test]
fn a_missing_version_is_latest_and_a_missing_provider_and_ensure_are_systemd_running() {
    let document = accepted("packages:\n- name: tmux\n- name: nginx\n  after:\n  - name: nginx\n");
    assert_eq!(document.packages[0].version, Wanted::Latest);
    assert!(document.packages[0].after.is_empty());
    assert_eq!(
        document.packages[1].after,
        vec![After {
            provider: Provider::Systemd,
            ensure: Ensure::Running,
            name: "nginx".into(),
            timeout: None,
        }]
    );
}

#[test]
fn sysv_and_pacemaker_are_accepted_as_service_and_corosync() {
    let document = accepted(
        "packages:\n- name: a\n  after:\n  - {provider: sysv, name: a, ensure: stopped}\n  - {provider: pacemaker, name: p_a}\n",
    );
    let providers: Vec<_> = document.packages[0]
        .after
        .iter()
        .map(|a| a.provider)
        .collect();
    assert_eq!(providers, [Provider::Service, Provider::Corosync]);
    assert_eq!(document.packages[0].after[0].ensure, Ensure::Stopped);
}

#[test]
fn an_empty_package_list_is_a_document_that_changes_nothing() {
    assert!(accepted("packages: []\n").packages.is_empty());
}

#[test]
fn versions_of_debian_and_rpm_shapes_are_accepted() {
    for version in [
        "2.4.7-1ubuntu4.6",
        "1:0.9-1",
        "1.0~rc1-2",
        "2.0^git1.abc-1.el7_3",
        "7.4.052+dfsg-1",
        "20240101",
    ] {
        let document = accepted(&format!("packages:\n- name: a\n  version: '{version}'\n"));
        assert_eq!(document.packages[0].version, Wanted::Exact(version.into()));
    }
}

#[test]
fn a_document_with_a_bom_is_read() {
    assert!(accepted("\u{feff}packages: []\n").packages.is_empty());
}

#[test]
fn a_mistyped_key_is_reported_with_the_nearest_valid_one() {
    let p = only_problem("packages:\n- name: a\n  verison: '1.0'\n");
    assert_eq!(at(&p), (3, 3, "packages[0].verison"));
    assert_eq!(p.message, "unknown key \"verison\"");
    assert_eq!(p.hint.as_deref(), Some("did you mean version?"));
}

#[test]
fn an_unknown_key_far_from_any_valid_one_lists_the_valid_keys() {
    let p = only_problem("packages:\n- name: a\n  after:\n  - name: a\n    restart: always\n");
    assert_eq!(at(&p), (5, 5, "packages[0].after[0].restart"));
    assert_eq!(
        p.hint.as_deref(),
        Some("valid keys here: provider, ensure, name, timeout")
    );
}

#[test]
fn an_unknown_key_with_control_characters_is_escaped_in_its_path() {
    let p = only_problem("packages:\n- name: a\n  \"x\\e[2Jy\": 1\n");
    assert_eq!(p.path, "packages[0].\"x\\u{1b}[2Jy\"");
    assert!(!p.to_string().contains('\u{1b}'));
}

#[test]
fn a_merge_key_is_an_unknown_key() {
    let p = only_problem("packages:\n- name: a\n  <<: {version: '1.0'}\n");
    assert_eq!(at(&p), (3, 3, "packages[0].<<"));
}

#[test]
fn a_key_that_is_not_a_string_is_reported() {
    let p = only_problem("packages:\n- name: a\n  1: x\n");
    assert_eq!(at(&p), (3, 3, "packages[0]"));
    assert_eq!(p.message, "expected a key name, found the number 1");
}

#[test]
fn a_document_without_packages_is_refused_with_the_mistyped_key() {
    let all = problems("# upgrade\npackage:\n- name: a\n");
    let places: Vec<_> = all.iter().map(at).collect();
    assert_eq!(places, [(2, 1, "package"), (2, 1, "packages")]);
    assert_eq!(all[0].hint.as_deref(), Some("did you mean packages?"));
    assert_eq!(all[1].message, "missing `packages`");
}

#[test]
fn a_document_with_an_unknown_key_and_no_packages_reports_both() {
    let all = problems("other: 1\n");
    // The unknown key and the missing `packages`, both at the top.
    let places: Vec<_> = all.iter().map(at).collect();
    assert_eq!(places, [(1, 1, "other"), (1, 1, "packages")]);
    assert_eq!(
        all[0].hint.as_deref(),
        Some("valid keys here: packages, allow_removals")
    );
    assert_eq!(all[1].message, "missing `packages`");
}

#[test]
fn an_empty_document_is_refused() {
    for yaml in ["", "---\n", "# nothing\n"] {
        let p = only_problem(yaml);
        assert_eq!(at(&p), (1, 1, ""));
        assert_eq!(p.message, "the document is empty");
    }
}

#[test]
fn a_document_that_is_not_a_mapping_is_refused() {
    let p = only_problem("- name: a\n");
    assert_eq!(at(&p), (1, 1, ""));
    assert_eq!(
        p.message,
        "expected a mapping with `packages`, found a list"
    );
    let p = only_problem("just text\n");
    assert_eq!(
        p.message,
        "expected a mapping with `packages`, found the string \"just text\""
    );
}

#[test]
fn packages_that_is_not_a_list_is_refused() {
    let p = only_problem("packages:\n  name: a\n");
    assert_eq!(at(&p), (2, 3, "packages"));
    assert_eq!(p.message, "expected a list of packages, found a mapping");
}

#[test]
fn a_package_written_as_a_bare_name_is_refused_with_the_mapping_form() {
    let p = only_problem("packages:\n- apache2\n");
    assert_eq!(at(&p), (2, 3, "packages[0]"));
    assert_eq!(p.hint.as_deref(), Some("write `- name: apache2`"));
}

#[test]
fn every_wrong_type_is_reported_together() {
    let yaml = "\
packages:
- name: [a]
  version: true
  after: 3
- name: b
  after:
  - provider: [systemd]
    ensure: 1
    name: {a: 1}
";
    let all = problems(yaml);
    let places: Vec<_> = all.iter().map(at).collect();
    assert_eq!(
        places,
        [
            (2, 9, "packages[0].name"),
            (3, 12, "packages[0].version"),
            (4, 10, "packages[0].after"),
            (7, 15, "packages[1].after[0].provider"),
            (8, 13, "packages[1].after[0].ensure"),
            (9, 11, "packages[1].after[0].name"),
        ]
    );
    assert_eq!(all[0].message, "expected a package name, found a list");
    assert_eq!(
        all[1].message,
        "expected a version string, found the boolean true"
    );
    assert_eq!(
        all[2].message,
        "expected a list of actions, found the number 3"
    );
}

#[test]
fn a_missing_name_is_reported_at_its_entry() {
    let all = problems("packages:\n- version: '1.0'\n- name: b\n  after:\n  - provider: exec\n");
    let places: Vec<_> = all.iter().map(at).collect();
    assert_eq!(
        places,
        [
            (2, 3, "packages[0].name"),
            (5, 5, "packages[1].after[0].name")
        ]
    );
    assert_eq!(all[0].message, "missing `name`");
    assert_eq!(
        all[1].hint.as_deref(),
        Some("for exec, name is the shell one-liner to run")
    );
}

#[test]
fn a_package_listed_twice_is_reported_at_the_second_naming_the_first() {
    let p = only_problem("packages:\n- name: a\n- name: b\n- name: a\n  version: absent\n");
    assert_eq!(at(&p), (4, 9, "packages[2].name"));
    assert_eq!(p.message, "package \"a\" is listed twice (first at line 2)");
}

#[test]
fn a_key_given_twice_is_reported_at_the_second() {
    let p = only_problem("packages:\n- name: a\n  version: '1.0'\n  version: '2.0'\n");
    assert_eq!(at(&p), (4, 3, "packages[0].version"));
    assert_eq!(p.message, "`version` is given twice (first at line 3)");
}

#[test]
fn package_names_outside_the_distributions_character_sets_are_refused() {
    for (name, column) in [
        ("'foo bar'", 9),
        ("'-rf'", 9),
        ("'a;reboot'", 9),
        ("'$(id)'", 9),
        ("''", 9),
        ("\"a\\nb\"", 9),
    ] {
        let p = only_problem(&format!("packages:\n- name: {name}\n"));
        assert_eq!(at(&p), (2, column, "packages[0].name"), "{name}");
        assert_eq!(
            p.hint.as_deref(),
            Some("package names use letters, digits and . + _ -, and start with a letter or digit")
        );
    }
}

#[test]
fn versions_outside_the_distributions_character_sets_are_refused() {
    for version in [
        "'1.0; reboot'",
        "'abc'",
        "'1:2:3'",
        "'1.0-'",
        "'-1'",
        "':1.0'",
        "'x:1.0'",
        "'1.0 1'",
        "'$(id)'",
    ] {
        let p = only_problem(&format!("packages:\n- name: a\n  version: {version}\n"));
        assert_eq!(at(&p), (3, 12, "packages[0].version"), "{version}");
        assert!(p.message.ends_with("is not a version"), "{}", p.message);
    }
}

#[test]
fn an_empty_version_is_refused() {
    let p = only_problem("packages:\n- name: a\n  version: ''\n");
    assert_eq!(p.message, "the version is empty");
    let p = only_problem("packages:\n- name: a\n  version:\n");
    assert_eq!(p.message, "the version is empty");
    assert_eq!(at(&p), (3, 10, "packages[0].version"));
}

#[test]
fn a_mistyped_latest_is_reported_with_latest() {
    let p = only_problem("packages:\n- name: a\n  version: lastest\n");
    assert_eq!(p.hint.as_deref(), Some("did you mean latest?"));
}

#[test]
fn an_unquoted_number_as_version_is_refused_with_the_quoted_spelling() {
    let p = only_problem("packages:\n- name: a\n  version: 1.10\n");
    assert_eq!(at(&p), (3, 12, "packages[0].version"));
    assert_eq!(
        p.message,
        "expected a version string, found the number 1.10"
    );
    assert_eq!(
        p.hint.as_deref(),
        Some("quote it so YAML keeps it as written: version: \"1.10\"")
    );
}

#[test]
fn an_unknown_provider_is_refused_with_the_valid_ones() {
    let p = only_problem("packages:\n- name: a\n  after:\n  - provider: sytemd\n    name: a\n");
    assert_eq!(at(&p), (4, 15, "packages[0].after[0].provider"));
    assert_eq!(p.message, "unknown provider \"sytemd\"");
    assert_eq!(
        p.hint.as_deref(),
        Some("did you mean systemd? valid providers: systemd, upstart, service (or sysv), corosync (or pacemaker), exec")
    );
}

#[test]
fn an_unknown_ensure_is_refused_with_the_valid_ones() {
    let p = only_problem("packages:\n- name: a\n  after:\n  - ensure: restarted\n    name: a\n");
    assert_eq!(at(&p), (4, 13, "packages[0].after[0].ensure"));
    assert_eq!(p.message, "unknown ensure \"restarted\"");
    assert_eq!(p.hint.as_deref(), Some("valid values: running, stopped"));
}

#[test]
fn ensure_on_an_exec_action_is_refused() {
    let p = only_problem(
        "packages:\n- name: a\n  after:\n  - provider: exec\n    ensure: stopped\n    name: echo hi\n",
    );
    assert_eq!(at(&p), (5, 5, "packages[0].after[0].ensure"));
    assert_eq!(p.hint.as_deref(), Some("remove `ensure`"));
}

#[test]
fn an_empty_or_blank_one_liner_is_refused() {
    for name in ["''", "'   '"] {
        let p = only_problem(&format!(
            "packages:\n- name: a\n  after:\n  - provider: exec\n    name: {name}\n"
        ));
        assert_eq!(at(&p), (5, 11, "packages[0].after[0].name"));
        assert_eq!(p.message, "the one-liner is empty");
    }
}

#[test]
fn a_one_liner_of_several_lines_is_refused() {
    let p = only_problem(
        "packages:\n- name: a\n  after:\n  - provider: exec\n    name: \"echo a\\necho b\"\n",
    );
    assert_eq!(at(&p), (5, 11, "packages[0].after[0].name"));
    assert!(
        p.message.starts_with("a one-liner is one line"),
        "{}",
        p.message
    );
}

#[test]
fn a_one_liner_keeps_its_shell_syntax() {
    let document = accepted(
        "packages:\n- name: a\n  after:\n  - provider: exec\n    name: 'service a restart && echo \"$(date)\" | logger'\n",
    );
    assert_eq!(
        document.packages[0].after[0].name,
        "service a restart && echo \"$(date)\" | logger"
    );
}

#[test]
fn service_names_with_characters_a_service_cannot_have_are_refused() {
    for name in [
        "'apache 2'",
        "'-H host'",
        "\"a\\tb\"",
        "'a;b'",
        "''",
        "'a/b'",
    ] {
        let p = only_problem(&format!(
            "packages:\n- name: a\n  after:\n  - provider: systemd\n    name: {name}\n"
        ));
        assert_eq!(at(&p), (5, 11, "packages[0].after[0].name"), "{name}");
    }
    accepted("packages:\n- name: a\n  after:\n  - name: getty@tty1.service\n  - {provider: corosync, name: 'p_mysql:0'}\n");
}

#[test]
fn problems_are_listed_in_document_order() {
    let yaml = "packages:\n- name: 'b a'\n  verison: x\n- version: '1'\n";
    let lines: Vec<_> = problems(yaml).iter().map(|p| p.line).collect();
    assert_eq!(lines, [2, 3, 4]);
}

#[test]
fn render_prints_file_line_column_path_message_and_hint() {
    let problems = parse(b"packages:\n- name: a\n  verison: '1'\n- {}\n").unwrap_err();
    assert_eq!(
        problems.render("pm.yaml"),
        "pm.yaml:3:3: packages[0].verison: unknown key \"verison\" (did you mean version?)\n\
         pm.yaml:4:3: packages[1].name: missing `name` (every package needs the name of the package to handle)\n"
    );
    assert_eq!(
        problems.to_string(),
        "3:3: packages[0].verison: unknown key \"verison\" (did you mean version?)\n\
         4:3: packages[1].name: missing `name` (every package needs the name of the package to handle)"
    );
}

#[test]
fn a_problem_of_the_whole_document_renders_without_a_path() {
    let problems = parse(b"").unwrap_err();
    assert_eq!(
        problems.render("pm.yaml"),
        "pm.yaml:1:1: the document is empty (write `packages:` followed by a list of packages)\n"
    );
}

#[test]
fn a_long_or_control_laden_value_is_shown_escaped_and_cut() {
    let name = format!("\u{1b}[31m{}", "x".repeat(100));
    let p = only_problem(&format!(
        "packages:\n- name: \"{}\"\n",
        name.replace('\u{1b}', "\\e")
    ));
    assert!(p.message.starts_with("\"\\u{1b}[31mxxx"), "{}", p.message);
    assert!(p.message.len() < 120, "{}", p.message);
}

#[test]
fn a_document_with_very_many_problems_lists_the_first_ones_and_counts_the_rest() {
    let yaml: String = std::iter::once("packages:\n".to_owned())
        .chain((0..500).map(|i| format!("- name: 'bad name {i}'\n")))
        .collect();
    let all = problems(&yaml);
    assert_eq!(all.len(), fuel_pm::MAX_PROBLEMS + 1);
    assert_eq!(
        all[fuel_pm::MAX_PROBLEMS].message,
        "300 more problems from here on are not listed"
    );
    assert_eq!(all[fuel_pm::MAX_PROBLEMS].line, 2 + fuel_pm::MAX_PROBLEMS);
}

#[test]
fn a_thousand_packages_load() {
    let document = accepted(&samples::packages(1000));
    assert_eq!(document.packages.len(), 1000);
    assert_eq!(document.packages[999].line, 2 + 999 * 5);
}

#[test]
fn a_document_serializes_to_json_with_its_document_spellings_and_back() {
    let document = accepted(include_str!("../examples/design.yaml"));
    let json = serde_json::to_value(&document).unwrap();
    assert_eq!(json["packages"][0]["version"], "2.4.7-1ubuntu4.6");
    assert_eq!(json["packages"][0]["after"][0]["provider"], "upstart");
    assert_eq!(json["packages"][1]["after"][0]["ensure"], "running");
    assert_eq!(json["packages"][3]["version"], "absent");
    let back: Document = serde_json::from_value(json).unwrap();
    assert_eq!(back, document);
}

#[test]
fn over_long_names_versions_services_and_one_liners_are_refused_naming_the_field() {
    use fuel_pm::{MAX_ONE_LINER, MAX_PACKAGE_NAME, MAX_SERVICE_NAME, MAX_VERSION};
    let name = "a".repeat(MAX_PACKAGE_NAME + 1);
    let p = only_problem(&format!("packages:\n- name: {name}\n"));
    assert_eq!(at(&p), (2, 9, "packages[0].name"));
    assert!(
        p.message.starts_with(&format!(
            "the package name is {} bytes long, more than the {MAX_PACKAGE_NAME} accepted",
            MAX_PACKAGE_NAME + 1
        )),
        "{p}"
    );
    accepted(&format!(
        "packages:\n- name: {}\n",
        "a".repeat(MAX_PACKAGE_NAME)
    ));

    let version = format!("1.{}", "0".repeat(MAX_VERSION - 1));
    let p = only_problem(&format!("packages:\n- name: a\n  version: \"{version}\"\n"));
    assert_eq!(at(&p), (3, 12, "packages[0].version"));
    assert!(
        p.message
            .starts_with("the version is 97 bytes long, more than the 96 accepted"),
        "{p}"
    );

    let service = "s".repeat(MAX_SERVICE_NAME + 1);
    let p = only_problem(&format!(
        "packages:\n- name: a\n  after:\n  - provider: systemd\n    name: {service}\n"
    ));
    assert_eq!(at(&p), (5, 11, "packages[0].after[0].name"));
    assert!(
        p.message
            .starts_with("the service name is 256 bytes long, more than the 255 accepted"),
        "{p}"
    );
    accepted(&format!(
        "packages:\n- name: a\n  after:\n  - name: {}\n",
        "s".repeat(MAX_SERVICE_NAME)
    ));

    let one_liner = format!("echo {}", "x".repeat(MAX_ONE_LINER));
    let p = only_problem(&format!(
        "packages:\n- name: a\n  after:\n  - provider: exec\n    name: {one_liner}\n"
    ));
    assert_eq!(at(&p), (5, 11, "packages[0].after[0].name"));
    assert!(
        p.message.starts_with(&format!(
            "the exec one-liner is {} bytes long, more than the {MAX_ONE_LINER} accepted",
            MAX_ONE_LINER + 5
        )),
        "{p}"
    );
    assert!(p.hint.unwrap().contains("install a script on the node"));
    // Checked when the test compiles: well under the kernel's argument limit.
    const _: () = assert!(MAX_ONE_LINER * 8 <= 128 * 1024);
}

#[test]
fn allow_removals_is_read_per_document_and_per_package_and_must_be_a_boolean() {
    let doc =
        accepted("allow_removals: true\npackages:\n- name: a\n  allow_removals: true\n- name: b\n");
    assert!(doc.allow_removals);
    assert!(doc.packages[0].allow_removals);
    assert!(!doc.packages[1].allow_removals);
    assert!(!accepted("packages:\n- name: a\n").allow_removals);

    let doc = accepted("packages:\n- name: lib\n  allow_removals: true\n- name: x\n");
    assert!(doc.allows_removal_forced_by(Some("lib")));
    assert!(!doc.allows_removal_forced_by(Some("x")));
    assert!(
        !doc.allows_removal_forced_by(None),
        "an unknown cause needs the document's own"
    );

    let p = only_problem("packages:\n- name: a\n  allow_removals: yes please\n");
    assert_eq!(at(&p), (3, 19, "packages[0].allow_removals"));
    assert_eq!(
        p.message,
        "expected true or false, found the string \"yes please\""
    );
    let p = only_problem("allow_removals: 1\npackages: []\n");
    assert_eq!(at(&p), (1, 17, "allow_removals"));
}

#[test]
fn an_action_timeout_is_whole_seconds_within_a_day() {
    let doc = accepted(
        "packages:\n- name: a\n  after:\n  - provider: exec\n    name: make-it-so\n    timeout: 300\n",
    );
    assert_eq!(doc.packages[0].after[0].timeout, Some(300));
    assert_eq!(
        accepted("packages:\n- name: a\n  after:\n  - name: a\n").packages[0].after[0].timeout,
        None
    );
    for bad in ["0", "-5", "1.5", "\"300\"", "86401", "forever"] {
        let p = only_problem(&format!(
            "packages:\n- name: a\n  after:\n  - name: a\n    timeout: {bad}\n"
        ));
        assert_eq!(at(&p), (5, 14, "packages[0].after[0].timeout"), "{bad}");
        assert!(
            p.message.starts_with("expected a number of seconds"),
            "{bad}: {p}"
        );
        assert!(p.hint.as_deref().unwrap().contains("e.g. timeout: 300"));
    }
}
