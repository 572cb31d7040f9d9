//! Packages one file, as `cargo xtask bench rpm` measures it (run as a child
//! process so its peak memory can be read):
//!
//!     write_package SOURCE OUT_DIR LEVEL THREADS [--rpm-rs]
//!
//! `--rpm-rs` builds the same package with rpm-rs's in-memory
//! `PackageBuilder` instead, the baseline the streaming builder replaced.

use std::path::{Path, PathBuf};

use fuel_rpm::build::{write_package, SigningKey};
use fuel_rpm::{Compression, CompressionKind, FileAttrs, FileDef, FileKind, PackageDef};

const DEST: &str = "/var/www/nailgun/docker/images/bench.tar";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, out_dir, level, threads, rest @ ..] = args.as_slice() else {
        eprintln!("usage: write_package SOURCE OUT_DIR LEVEL THREADS [--rpm-rs]");
        std::process::exit(2);
    };
    let level: i32 = level.parse().expect("LEVEL is a number");
    let threads: u32 = threads.parse().expect("THREADS is a number");
    let out_dir = Path::new(out_dir);
    if rest.iter().any(|a| a == "--rpm-rs") {
        with_rpm_rs(Path::new(source), out_dir, level);
        return;
    }
    let def = PackageDef {
        name: "fuel-bench-images".into(),
        epoch: None,
        version: "8.0.0".into(),
        release: "1".into(),
        arch: "noarch".into(),
        summary: "Benchmark payload".into(),
        description: "One large file, like the docker images package.".into(),
        license: "Apache-2.0".into(),
        vendor: "Fuel Community".into(),
        url: "https://wiki.openstack.org/wiki/Fuel".into(),
        vcs: "bench".into(),
        packager: None,
        group: None,
        source_date: 1_700_000_000,
        compression: Compression {
            kind: CompressionKind::Zstd,
            level,
            threads,
        },
        files: vec![FileDef {
            dest: DEST.into(),
            kind: FileKind::Source(PathBuf::from(source)),
            mode: 0o644,
            user: "root".into(),
            group: "root".into(),
            attrs: FileAttrs::default(),
        }],
        deps: Default::default(),
        scriptlets: Default::default(),
        changelog: vec![],
    };
    let key = SigningKey::development(&out_dir.join("key")).expect("development key");
    let built = write_package(&def, Some(&key), out_dir).unwrap_or_else(|e| panic!("{e}"));
    println!("{} {} bytes", built.path.display(), built.size);
}

fn with_rpm_rs(source: &Path, out_dir: &Path, level: i32) {
    let package = rpm::PackageBuilder::new(
        "fuel-bench-images",
        "8.0.0",
        "Apache-2.0",
        "noarch",
        "Benchmark payload",
    )
    .using_config(
        rpm::BuildConfig::v4()
            .compression(rpm::CompressionWithLevel::Zstd(level))
            .source_date(1_700_000_000),
    )
    .with_file(source, rpm::FileOptions::new(DEST))
    .expect("source file")
    .build()
    .expect("rpm-rs build");
    let path = out_dir.join("fuel-bench-images-rpm-rs.rpm");
    package.write_file(&path).expect("write");
    println!("{}", path.display());
}
