//! A tiny base system for empty install roots: Debian's static busybox as an
//! rpm, so scriptlets and `sh -c` work in `rpm --root R` / `dnf --installroot R`
//! (an empty root has no /bin/sh). End-to-end tests build it with the same
//! builder as the release set (fuel-rpm) and install it first; it is never
//! shipped, so it lives with the tests.

use fuel_rpm::package::*;
use std::path::Path;

/// Name of the package [`busybox_base`] describes.
pub const BASE_PACKAGE: &str = "fuel-test-base";

/// Applets linked to busybox (the shell and what scripts usually call).
pub const APPLETS: &[&str] = &[
    "sh", "ash", "cat", "chmod", "chown", "cp", "cut", "date", "dirname", "basename", "echo",
    "env", "false", "find", "grep", "gzip", "head", "id", "ln", "ls", "mkdir", "mktemp", "mv",
    "readlink", "rm", "rmdir", "sed", "sleep", "sort", "stat", "tail", "tar", "test", "[", "touch",
    "tr", "true", "uname", "wc", "xargs",
];

/// `fuel-test-base`: /usr/bin/busybox (`busybox`, e.g. /bin/busybox from
/// Debian's busybox-static), a link per applet in /usr/bin, /bin/sh, and
/// `Provides: /bin/sh`.
pub fn busybox_base(busybox: &Path, source_date: u32) -> PackageDef {
    let file = |dest: &str, kind: FileKind, mode: u32| FileDef {
        dest: dest.to_string(),
        kind,
        mode,
        user: "root".into(),
        group: "root".into(),
        attrs: FileAttrs::default(),
    };
    let mut files = vec![file(
        "/usr/bin/busybox",
        FileKind::Source(busybox.to_path_buf()),
        0o755,
    )];
    for applet in APPLETS {
        files.push(file(
            &format!("/usr/bin/{applet}"),
            FileKind::Symlink {
                target: "busybox".into(),
            },
            0o777,
        ));
    }
    files.push(file(
        "/bin/sh",
        FileKind::Symlink {
            target: "/usr/bin/busybox".into(),
        },
        0o777,
    ));
    let provides = ["/bin/sh", "/usr/bin/sh"]
        .iter()
        .map(|name| Dependency {
            name: name.to_string(),
            constraint: None,
        })
        .collect();
    PackageDef {
        name: BASE_PACKAGE.into(),
        epoch: None,
        version: "1.0".into(),
        release: "1".into(),
        arch: "x86_64".into(),
        summary: "Minimal shell and tools for Fuel's end-to-end test roots".into(),
        description: "Static busybox with /bin/sh and common applets, so rpm scriptlets run in an empty install root. For tests only.".into(),
        license: "GPL-2.0-only".into(),
        vendor: "Fuel Community".into(),
        url: "https://busybox.net".into(),
        vcs: String::new(),
        packager: None,
        group: None,
        source_date,
        compression: Compression::default(),
        files,
        deps: Dependencies { provides, ..Dependencies::default() },
        scriptlets: Scriptlets::default(),
        changelog: Vec::new(),
    }
}
