//! Generated sample documents, shared by fuel-pm's tests and
//! `cargo xtask bench pm-doc` (feature `test-support`), so both look at the
//! same hostile and large inputs.

/// Ten levels of ten aliases each: 10^10 nodes if expanded. The first alias
/// is at line 2, column 10.
pub fn billion_laughs() -> String {
    let mut yaml = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let items = vec![format!("*a{}", level - 1); 10].join(", ");
        yaml.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    yaml.push_str("packages: *a9\n");
    yaml
}

/// `packages:` then flow lists nested `bytes / 2` deep, on line 1 from column 11.
pub fn flow_nested(bytes: usize) -> String {
    format!(
        "packages: {}{}\n",
        "[".repeat(bytes / 2),
        "]".repeat(bytes / 2)
    )
}

/// Block lists nested ever deeper until the document is `bytes` long.
pub fn block_nested(bytes: usize) -> String {
    let mut yaml = String::from("packages:\n");
    let mut depth = 0;
    while yaml.len() < bytes {
        yaml.push_str(&format!("{}- name:\n", "  ".repeat(depth)));
        depth += 1;
    }
    yaml
}

/// Package `i` with a version and one systemd action: 5 lines.
fn package(i: usize) -> String {
    format!("- name: pkg-{i}\n  version: '1.{i}-1'\n  after:\n  - provider: systemd\n    name: svc-{i}\n")
}

/// A valid document of `count` packages (package `i` starts at line 2 + 5i).
pub fn packages(count: usize) -> String {
    std::iter::once("packages:\n".to_owned())
        .chain((0..count).map(package))
        .collect()
}

/// Valid packages up to `bytes`: past the node limit long before the end.
pub fn packages_up_to(bytes: usize) -> String {
    let mut yaml = String::from("packages:\n");
    for i in 0.. {
        let next = package(i);
        if yaml.len() + next.len() > bytes {
            break;
        }
        yaml.push_str(&next);
    }
    yaml
}
