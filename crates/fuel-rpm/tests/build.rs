//! The builder against the real rpm: every field of a PackageDef is what
//! `rpm -qp` reports, the signature verifies with `rpmkeys`, the package
//! installs into a fresh root and verifies clean, and two builds are
//! byte-identical.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fuel_rpm::build::{write_package, BuildError, SigningKey};
use fuel_rpm::{
    ChangelogEntry, Compression, CompressionKind, DepOp, Dependencies, Dependency, FileAttrs,
    FileDef, FileKind, PackageDef, Scriptlet, Scriptlets,
};
use sha2::{Digest, Sha256};

const BIG_FILE_SIZE: usize = 20 * 1024 * 1024;

fn tmp_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The development key, generated once per target dir (as `cargo xtask rpm` does).
fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::development(&tmp_root().join("fuel-dev-key")).unwrap())
}

/// Deterministic content that zstd cannot shrink much: a xorshift stream
/// broken by runs of repeated text, like a docker image tarball.
fn big_source() -> PathBuf {
    let path = tmp_root().join("fuel-rpm-build-big.bin");
    if fs::metadata(&path).map(|m| m.len() as usize).ok() != Some(BIG_FILE_SIZE) {
        let mut data = Vec::with_capacity(BIG_FILE_SIZE);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        while data.len() < BIG_FILE_SIZE {
            if (data.len() / 65536) % 3 == 2 {
                data.extend_from_slice(b"layer.tar fuel/nailgun:8.0 ");
            } else {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data.extend_from_slice(&x.to_le_bytes());
            }
        }
        data.truncate(BIG_FILE_SIZE);
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, &data).unwrap();
        fs::rename(&tmp, &path).unwrap();
    }
    path
}

fn file(dest: &str, kind: FileKind, mode: u32) -> FileDef {
    FileDef {
        dest: dest.into(),
        kind,
        mode,
        user: "root".into(),
        group: "root".into(),
        attrs: FileAttrs::default(),
    }
}

fn dep(name: &str, constraint: Option<(DepOp, &str)>) -> Dependency {
    Dependency {
        name: name.into(),
        constraint: constraint.map(|(op, v)| (op, v.into())),
    }
}

/// A package that uses every feature of PackageDef.
fn demo_package(sources: &Path) -> PackageDef {
    fs::create_dir_all(sources).unwrap();
    let binary = sources.join("fuel-demo");
    fs::write(&binary, "#!/bin/sh\necho fuel demo\n").unwrap();
    let readme = sources.join("README");
    fs::write(&readme, "Fuel demo package.\n").unwrap();

    let mut config = file(
        "/etc/fuel-demo/demo.conf",
        FileKind::Contents(b"[demo]\nanswer = 42\n".to_vec()),
        0o640,
    );
    config.attrs = FileAttrs {
        config: true,
        noreplace: true,
        ..FileAttrs::default()
    };
    let mut doc = file(
        "/usr/share/doc/fuel-demo/README",
        FileKind::Source(readme),
        0o644,
    );
    doc.attrs.doc = true;
    let mut ghost = file("/var/log/fuel-demo.log", FileKind::Ghost, 0o600);
    ghost.attrs.missingok = true;

    PackageDef {
        name: "fuel-demo".into(),
        epoch: None,
        version: "8.0.0".into(),
        release: "3".into(),
        arch: "noarch".into(),
        summary: "Fuel demo package".into(),
        description: "Exercises every field the Fuel rpm builder writes.".into(),
        license: "Apache-2.0".into(),
        vendor: "Fuel Community".into(),
        url: "https://wiki.openstack.org/wiki/Fuel".into(),
        vcs: "git+https://github.com/openstack/fuel-main#0123456789abcdef0123456789abcdef01234567"
            .into(),
        packager: Some("Fuel CI <ci@fuel.invalid>".into()),
        group: Some("System Environment/Base".into()),
        source_date: 1_700_000_000,
        compression: Compression {
            kind: CompressionKind::Zstd,
            level: 3,
            threads: 2,
        },
        files: vec![
            // Deliberately unsorted: the builder sorts.
            file("/usr/bin/fuel-demo", FileKind::Source(binary), 0o755),
            config,
            doc,
            file("/var/lib/fuel-demo", FileKind::Dir, 0o750),
            file("/etc/fuel-demo", FileKind::Dir, 0o755),
            file("/usr/share/doc/fuel-demo", FileKind::Dir, 0o755),
            file("/usr/share/fuel-demo", FileKind::Dir, 0o755),
            file(
                "/usr/bin/fuel-demo-link",
                FileKind::Symlink {
                    target: "fuel-demo".into(),
                },
                0o777,
            ),
            ghost,
            file(
                "/usr/share/fuel-demo/big.bin",
                FileKind::Source(big_source()),
                0o644,
            ),
        ],
        deps: Dependencies {
            requires: vec![dep("bash", None), dep("python3", Some((DepOp::Ge, "3.6")))],
            provides: vec![dep("fuel-demo-api", Some((DepOp::Eq, "2")))],
            conflicts: vec![dep("fuel-demo-old", Some((DepOp::Lt, "7.0")))],
            obsoletes: vec![dep("fuel-demo-legacy", Some((DepOp::Le, "6.1")))],
            recommends: vec![dep("fuel-docs", None)],
            suggests: vec![dep("fuel-extras", None)],
            supplements: vec![dep("fuel", None)],
            enhances: vec![dep("fuel-upgrade", Some((DepOp::Gt, "1")))],
        },
        scriptlets: Scriptlets {
            pre: Some(Scriptlet {
                body: "echo pre-install\n".into(),
                interpreter: None,
            }),
            post: Some(Scriptlet {
                body: "echo post-install $1\n".into(),
                interpreter: None,
            }),
            preun: None,
            postun: Some(Scriptlet {
                body: "print('bye')\n".into(),
                interpreter: Some("/usr/bin/python3".into()),
            }),
            pretrans: None,
            posttrans: None,
        },
        changelog: vec![
            ChangelogEntry {
                author: "Fuel CI <ci@fuel.invalid> - 8.0.0-3".into(),
                time: 1_699_920_000,
                text: "- Third release".into(),
            },
            ChangelogEntry {
                author: "Fuel CI <ci@fuel.invalid> - 8.0.0-1".into(),
                time: 1_699_401_600,
                text: "- First release".into(),
            },
        ],
    }
}

fn rpm_tool(name: &str) -> Command {
    Command::new(fuel_test_bed::require_tool(name))
}

fn run(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn query(rpm: &Path, args: &[&str]) -> String {
    let mut cmd = rpm_tool("rpm");
    cmd.arg("-qp").args(args).arg(rpm);
    run(cmd)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn contents(kind: &FileKind) -> Option<Vec<u8>> {
    match kind {
        FileKind::Source(path) => Some(fs::read(path).unwrap()),
        FileKind::Contents(bytes) => Some(bytes.clone()),
        _ => None,
    }
}

/// One package built per test binary: the checks below all read it.
fn built() -> &'static (PackageDef, PathBuf) {
    static BUILT: OnceLock<(PackageDef, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        // Named after the test, not random: reruns replace it instead of piling up.
        let test = std::thread::current()
            .name()
            .unwrap_or("main")
            .replace("::", "-");
        let dir = tmp_root().join(format!("fuel-rpm-build-{test}"));
        let _ = fs::remove_dir_all(&dir);
        let def = demo_package(&dir.join("src"));
        let built = write_package(&def, Some(key()), &dir.join("out")).unwrap();
        assert_eq!(built.file_name, "fuel-demo-8.0.0-3.noarch.rpm");
        assert_eq!(built.path, dir.join("out").join(&built.file_name));
        let bytes = fs::read(&built.path).unwrap();
        assert_eq!(built.size, bytes.len() as u64);
        assert_eq!(built.sha256().unwrap(), sha256_hex(&bytes));
        (def, built.path)
    })
}

#[test]
fn package_tags_are_what_the_definition_says() {
    let (def, rpm) = built();
    let tags = query(
        rpm,
        &["--qf", "%{NAME}\n%{VERSION}\n%{RELEASE}\n%{ARCH}\n%{SUMMARY}\n%{LICENSE}\n%{VENDOR}\n%{URL}\n%{VCS}\n%{PACKAGER}\n%{GROUP}\n%{BUILDTIME}\n%{BUILDHOST}\n%{PAYLOADCOMPRESSOR}\n%{DESCRIPTION}\n"],
    );
    let expected = [
        def.name.clone(),
        def.version.clone(),
        def.release.clone(),
        def.arch.clone(),
        def.summary.clone(),
        def.license.clone(),
        def.vendor.clone(),
        def.url.clone(),
        def.vcs.clone(),
        def.packager.clone().unwrap(),
        def.group.clone().unwrap(),
        def.source_date.to_string(),
        fuel_rpm::build::BUILD_HOST.to_string(),
        "zstd".to_string(),
        def.description.clone(),
    ];
    assert_eq!(tags.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn file_list_modes_owners_flags_and_digests_match() {
    let (def, rpm) = built();
    // --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
    let dump = query(rpm, &["--dump"]);
    let dumped: BTreeMap<&str, Vec<&str>> = dump
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0], f)
        })
        .collect();
    let flags = query(rpm, &["--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]"]);
    let flags: BTreeMap<&str, &str> = flags.lines().map(|l| l.split_once(' ').unwrap()).collect();

    assert_eq!(dumped.len(), def.files.len(), "{dump}");
    for f in &def.files {
        let d = &dumped[f.dest.as_str()];
        let type_bits = match f.kind {
            FileKind::Dir => 0o040000,
            FileKind::Symlink { .. } => 0o120000,
            _ => 0o100000,
        };
        assert_eq!(
            d[4],
            format!("0{:o}", type_bits | f.mode),
            "mode of {}",
            f.dest
        );
        assert_eq!(
            (d[5], d[6]),
            (f.user.as_str(), f.group.as_str()),
            "owner of {}",
            f.dest
        );
        assert_eq!(d[2], def.source_date.to_string(), "mtime of {}", f.dest);
        assert_eq!(
            d[7],
            if f.attrs.config { "1" } else { "0" },
            "config of {}",
            f.dest
        );
        assert_eq!(
            d[8],
            if f.attrs.doc { "1" } else { "0" },
            "doc of {}",
            f.dest
        );
        match &f.kind {
            FileKind::Symlink { target } => assert_eq!(d[10], target, "target of {}", f.dest),
            kind => {
                if let Some(bytes) = contents(kind) {
                    assert_eq!(d[1], bytes.len().to_string(), "size of {}", f.dest);
                    assert_eq!(d[3], sha256_hex(&bytes), "digest of {}", f.dest);
                }
            }
        }
        let mut expected_flags = String::new();
        if f.attrs.doc {
            expected_flags.push('d');
        }
        if f.attrs.config {
            expected_flags.push('c');
        }
        if f.attrs.missingok {
            expected_flags.push('m');
        }
        if f.attrs.noreplace {
            expected_flags.push('n');
        }
        if f.kind == FileKind::Ghost {
            expected_flags.push('g');
        }
        assert_eq!(
            flags[f.dest.as_str()],
            expected_flags,
            "flags of {}",
            f.dest
        );
    }
}

fn rpm_dep(d: &Dependency) -> String {
    match &d.constraint {
        None => d.name.clone(),
        Some((op, v)) => {
            let op = match op {
                DepOp::Lt => "<",
                DepOp::Le => "<=",
                DepOp::Eq => "=",
                DepOp::Ge => ">=",
                DepOp::Gt => ">",
            };
            format!("{} {op} {v}", d.name)
        }
    }
}

#[test]
fn dependencies_are_what_the_definition_says() {
    let (def, rpm) = built();
    let deps = &def.deps;
    for (flag, list) in [
        ("--requires", &deps.requires),
        ("--provides", &deps.provides),
        ("--conflicts", &deps.conflicts),
        ("--obsoletes", &deps.obsoletes),
        ("--recommends", &deps.recommends),
        ("--suggests", &deps.suggests),
        ("--supplements", &deps.supplements),
        ("--enhances", &deps.enhances),
    ] {
        let listed = query(rpm, &[flag]);
        let listed: Vec<&str> = listed.lines().collect();
        for d in list {
            assert!(
                listed.contains(&rpm_dep(d).as_str()),
                "{flag} lacks {}: {listed:?}",
                rpm_dep(d)
            );
        }
    }
    // rpm's own: the package provides itself, and config files need their owner.
    let provides = query(rpm, &["--provides"]);
    assert!(provides
        .lines()
        .any(|l| l == format!("{} = {}-{}", def.name, def.version, def.release)));
    let requires = query(rpm, &["--requires"]);
    assert!(
        requires
            .lines()
            .any(|l| l.starts_with("rpmlib(PayloadIsZstd)")),
        "{requires}"
    );
}

#[test]
fn scriptlets_and_changelog_are_what_the_definition_says() {
    let (def, rpm) = built();
    let scripts = query(rpm, &["--scripts"]);
    let s = &def.scriptlets;
    for (label, script) in [
        ("preinstall", &s.pre),
        ("postinstall", &s.post),
        ("postuninstall", &s.postun),
    ] {
        let script = script.as_ref().unwrap();
        let interpreter = script.interpreter.as_deref().unwrap_or("/bin/sh");
        let expected = format!("{label} scriptlet (using {interpreter}):\n{}", script.body);
        assert!(
            scripts.contains(&expected),
            "missing {expected:?} in:\n{scripts}"
        );
    }
    assert!(!scripts.contains("preuninstall"), "{scripts}");

    let changelog = query(
        rpm,
        &[
            "--qf",
            "[%{CHANGELOGTIME} %{CHANGELOGNAME}\n%{CHANGELOGTEXT}\n]",
        ],
    );
    let expected: String = def
        .changelog
        .iter()
        .map(|e| format!("{} {}\n{}\n", e.time, e.author, e.text))
        .collect();
    assert_eq!(changelog, expected);
}

#[test]
fn signature_verifies_with_the_imported_public_key() {
    let (_, rpm) = built();
    let root = tempfile::tempdir_in(tmp_root()).unwrap();
    let public = root.path().join("public.asc");
    fs::write(&public, key().public_key_armored()).unwrap();

    let mut check = rpm_tool("rpmkeys");
    check.arg("--root").arg(root.path()).arg("-K").arg(rpm);
    let before = check.output().unwrap();
    assert!(
        !before.status.success(),
        "verified without the key imported"
    );

    let mut import = rpm_tool("rpmkeys");
    import
        .arg("--root")
        .arg(root.path())
        .arg("--import")
        .arg(&public);
    run(import);
    let mut check = rpm_tool("rpmkeys");
    check.arg("--root").arg(root.path()).arg("-Kv").arg(rpm);
    let verified = run(check);
    assert!(
        verified.contains("Header V4 RSA/SHA256 Signature, key ID"),
        "{verified}"
    );
    let short_id = key().fingerprint_hex()[32..].to_lowercase();
    assert!(verified.contains(&short_id), "{verified}");

    let mut check = rpm_tool("rpmkeys");
    check.arg("--root").arg(root.path()).arg("-K").arg(rpm);
    let summary = run(check);
    assert!(
        summary.trim_end().ends_with("digests signatures OK"),
        "{summary}"
    );
    assert!(key().is_development());
    assert!(key().user_id().contains("NOT FOR RELEASE"));
}

#[test]
fn installs_into_a_fresh_root_and_verifies_clean() {
    let (def, rpm) = built();
    let root = tempfile::tempdir_in(tmp_root()).unwrap();
    // No shell in an empty root: scriptlets are checked by query above.
    let mut install = rpm_tool("rpm");
    install
        .arg("--root")
        .arg(root.path())
        .args(["-i", "--nodeps", "--noscripts", "--nosignature"])
        .arg(rpm);
    run(install);

    let big = root.path().join("usr/share/fuel-demo/big.bin");
    assert_eq!(fs::read(&big).unwrap(), fs::read(big_source()).unwrap());
    let link = root.path().join("usr/bin/fuel-demo-link");
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("fuel-demo"));
    assert!(
        !root.path().join("var/log/fuel-demo.log").exists(),
        "ghost was installed"
    );

    let mut verify = rpm_tool("rpm");
    verify
        .arg("--root")
        .arg(root.path())
        .args(["-Va", "--nodeps"]);
    let out = verify.output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "rpm -Va reports changes:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut installed = rpm_tool("rpm");
    installed
        .arg("--root")
        .arg(root.path())
        .args(["-q", &def.name]);
    assert_eq!(
        run(installed).trim(),
        format!("{}-{}-{}.{}", def.name, def.version, def.release, def.arch)
    );
}

#[test]
fn two_builds_are_byte_identical() {
    let (def, first) = built();
    let out = tempfile::tempdir_in(tmp_root()).unwrap();
    let second = write_package(def, Some(key()), out.path()).unwrap();
    assert_eq!(
        sha256_hex(&fs::read(first).unwrap()),
        second.sha256().unwrap()
    );
    assert_eq!(fs::read(first).unwrap(), fs::read(&second.path).unwrap());
}

#[test]
fn missing_source_names_the_file_and_writes_nothing() {
    let dir = tempfile::tempdir_in(tmp_root()).unwrap();
    let mut def = demo_package(&dir.path().join("src"));
    let missing = dir.path().join("src/not-built-yet");
    def.files.push(file(
        "/usr/bin/fuel-missing",
        FileKind::Source(missing.clone()),
        0o755,
    ));
    let out = dir.path().join("out");
    let err = write_package(&def, Some(key()), &out).unwrap_err();
    match &err {
        BuildError::Source {
            package,
            dest,
            path,
            ..
        } => {
            assert_eq!(package, "fuel-demo");
            assert_eq!(dest, "/usr/bin/fuel-missing");
            assert_eq!(path, &missing);
        }
        other => panic!("unexpected error {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("fuel-demo") && message.contains("/usr/bin/fuel-missing"),
        "{message}"
    );
    let written: Vec<_> = fs::read_dir(&out).map(|d| d.collect()).unwrap_or_default();
    assert!(written.is_empty(), "left behind: {written:?}");
}

#[test]
fn zstd_output_does_not_depend_on_the_thread_count() {
    let (def, first) = built();
    assert_eq!(def.compression.threads, 2);
    let out = tempfile::tempdir_in(tmp_root()).unwrap();
    let mut one_thread = def.clone();
    one_thread.compression.threads = 1;
    let single = write_package(&one_thread, Some(key()), out.path()).unwrap();
    assert_eq!(
        single.sha256().unwrap(),
        sha256_hex(&fs::read(first).unwrap())
    );
}

#[test]
fn an_epoch_is_written_and_the_package_provides_itself_with_it() {
    let (def, _) = built();
    assert_eq!(query(&built().1, &["--qf", "%{EPOCH}"]), "(none)");
    let out = tempfile::tempdir_in(tmp_root()).unwrap();
    let mut with_epoch = def.clone();
    with_epoch.epoch = Some(2);
    let rpm = write_package(&with_epoch, Some(key()), out.path()).unwrap();
    assert_eq!(rpm.file_name, "fuel-demo-8.0.0-3.noarch.rpm");
    assert_eq!(
        query(&rpm.path, &["--qf", "%{EPOCH}:%{VERSION}-%{RELEASE}"]),
        "2:8.0.0-3"
    );
    let provides = query(&rpm.path, &["--provides"]);
    assert!(
        provides.lines().any(|l| l == "fuel-demo = 2:8.0.0-3"),
        "{provides}"
    );
}

#[test]
fn gzip_and_uncompressed_payloads_install_and_verify() {
    for (kind, compressor) in [
        (CompressionKind::Gzip, "gzip"),
        (CompressionKind::None, "(none)"),
    ] {
        let dir = tempfile::tempdir_in(tmp_root()).unwrap();
        let mut def = demo_package(&dir.path().join("src"));
        def.compression = Compression {
            kind,
            level: 6,
            threads: 0,
        };
        let built = write_package(&def, None, &dir.path().join("out")).unwrap();
        assert_eq!(
            query(&built.path, &["--qf", "%{PAYLOADCOMPRESSOR}"]),
            compressor
        );

        let mut check = rpm_tool("rpmkeys");
        check
            .arg("--root")
            .arg(dir.path())
            .args(["-K", "--nosignature"])
            .arg(&built.path);
        assert!(
            run(check).trim_end().ends_with("digests OK"),
            "{compressor}"
        );

        let root = dir.path().join("root");
        let mut install = rpm_tool("rpm");
        install
            .arg("--root")
            .arg(&root)
            .args(["-i", "--nodeps", "--noscripts", "--nosignature"])
            .arg(&built.path);
        run(install);
        assert_eq!(
            fs::read(root.join("usr/share/fuel-demo/big.bin")).unwrap(),
            fs::read(big_source()).unwrap(),
            "{compressor}"
        );
    }
}

#[test]
fn bad_file_lists_are_refused_naming_the_destination() {
    let dir = tempfile::tempdir_in(tmp_root()).unwrap();
    let base = demo_package(&dir.path().join("src"));
    let out = dir.path().join("out");
    let twice = {
        let mut def = base.clone();
        def.files.push(file(
            "/usr/bin/fuel-demo",
            FileKind::Contents(b"again".to_vec()),
            0o755,
        ));
        def
    };
    let relative = {
        let mut def = base.clone();
        def.files.push(file(
            "usr/bin/relative",
            FileKind::Contents(b"x".to_vec()),
            0o755,
        ));
        def
    };
    for (def, dest, reason) in [
        (twice, "/usr/bin/fuel-demo", "listed twice"),
        (relative, "usr/bin/relative", "absolute"),
    ] {
        let err = write_package(&def, Some(key()), &out).unwrap_err();
        match &err {
            BuildError::Invalid {
                package,
                field,
                reason: why,
            } => {
                assert_eq!(package, "fuel-demo");
                assert_eq!(field, &format!("files: {dest}"));
                assert!(why.contains(reason), "{why}");
            }
            other => panic!("unexpected error {other:?}"),
        }
        let written: Vec<_> = fs::read_dir(&out).map(|d| d.collect()).unwrap_or_default();
        assert!(written.is_empty(), "left behind: {written:?}");
    }
}

/// A source whose contents do not match its size (here a /proc file, which
/// reports 0 bytes) fails the build instead of writing a corrupt payload.
#[test]
fn source_whose_size_changes_is_refused() {
    let dir = tempfile::tempdir_in(tmp_root()).unwrap();
    let mut def = demo_package(&dir.path().join("src"));
    def.files.push(file(
        "/usr/share/fuel-demo/version",
        FileKind::Source("/proc/version".into()),
        0o644,
    ));
    let out = dir.path().join("out");
    match write_package(&def, Some(key()), &out).unwrap_err() {
        BuildError::Source {
            dest, path, source, ..
        } => {
            assert_eq!(dest, "/usr/share/fuel-demo/version");
            assert_eq!(path, Path::new("/proc/version"));
            assert!(
                source.to_string().contains("changed while being packaged"),
                "{source}"
            );
        }
        other => panic!("unexpected error {other:?}"),
    }
    let written: Vec<_> = fs::read_dir(&out).map(|d| d.collect()).unwrap_or_default();
    assert!(written.is_empty(), "left behind: {written:?}");
}
