//! [`PackageDef`] → signed, reproducible `.rpm` file.
//!
//! [`write_package`] is the whole public surface: it names its output
//! `<name>-<version>-<release>.<arch>.rpm`, writes it through a temporary file
//! (fsync, rename) so a failed build never leaves half an rpm, and signs it
//! with the given [`SigningKey`].

mod sign;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::package::{
    CompressionKind, DepOp, Dependency, FileKind, PackageDef, Scriptlet,
};

pub use sign::{SigningKey, DEVELOPMENT_USER_ID};

/// The build host recorded in every package: the real host name would make
/// two builds of one tree differ.
pub const BUILD_HOST: &str = "fuel-build";

/// What [`write_package`] wrote.
#[derive(Debug, Clone)]
pub struct BuiltPackage {
    pub path: PathBuf,
    pub file_name: String,
    pub size: u64,
    /// Lower-case hex sha256 of the whole rpm file.
    pub sha256: String,
    pub elapsed: Duration,
}

/// Every error names the package and the file or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("signing key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("package {package}: {dest}: cannot read source {}: {source}", path.display())]
    Source { package: String, dest: String, path: PathBuf, source: io::Error },
    #[error("package {package}: {field}: {reason}")]
    Invalid { package: String, field: String, reason: String },
    #[error("package {package}: rpm header: {source}")]
    Rpm { package: String, source: rpm::Error },
    #[error("package {package}: cannot write {}: {source}", path.display())]
    Output { package: String, path: PathBuf, source: io::Error },
}

/// The file name rpm tools expect: `<name>-<version>-<release>.<arch>.rpm`.
pub fn package_file_name(def: &PackageDef) -> String {
    format!("{}-{}-{}.{}.rpm", def.name, def.version, def.release, def.arch)
}

/// Writes `<name>-<version>-<release>.<arch>.rpm` into `out_dir` (temporary
/// file, fsync, rename: never a half-written rpm), signed with `key` if given.
pub fn write_package(
    def: &PackageDef,
    key: Option<&SigningKey>,
    out_dir: &Path,
) -> Result<BuiltPackage, BuildError> {
    let started = Instant::now();
    let file_name = package_file_name(def);
    let path = out_dir.join(&file_name);
    let output_error = |source: io::Error| BuildError::Output {
        package: def.name.clone(),
        path: path.clone(),
        source,
    };

    let package = build_with_rpm_rs(def, key)?;

    fs::create_dir_all(out_dir).map_err(output_error)?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .tempfile_in(out_dir)
        .map_err(output_error)?;
    let mut writer = HashingWriter::new(io::BufWriter::new(tmp.as_file()));
    package.write(&mut writer).map_err(|source| BuildError::Rpm { package: def.name.clone(), source })?;
    let (buffered, size, sha256) = writer.finish();
    buffered.into_inner().map_err(|e| output_error(e.into_error()))?;
    tmp.as_file().sync_all().map_err(output_error)?;
    tmp.persist(&path).map_err(|e| output_error(e.error))?;
    // The rename itself is only durable once the directory is synced.
    fs::File::open(out_dir).and_then(|d| d.sync_all()).map_err(output_error)?;

    Ok(BuiltPackage { path, file_name, size, sha256, elapsed: started.elapsed() })
}

/// Counts and hashes what goes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Sha256::new(), len: 0 }
    }

    fn finish(self) -> (W, u64, String) {
        (self.inner, self.len, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// rpm-rs's own builder: correct, but it holds the whole payload in memory.
fn build_with_rpm_rs(def: &PackageDef, key: Option<&SigningKey>) -> Result<rpm::Package, BuildError> {
    let rpm_error = |source: rpm::Error| BuildError::Rpm { package: def.name.clone(), source };
    let compression = match def.compression.kind {
        CompressionKind::None => rpm::CompressionWithLevel::None,
        CompressionKind::Gzip => rpm::CompressionWithLevel::Gzip(def.compression.level as u32),
        CompressionKind::Zstd => rpm::CompressionWithLevel::Zstd(def.compression.level),
    };
    let mut builder =
        rpm::PackageBuilder::new(&def.name, &def.version, &def.license, &def.arch, &def.summary);
    builder
        .using_config(rpm::BuildConfig::v4().compression(compression).source_date(def.source_date))
        .release(def.release.clone())
        .description(def.description.clone())
        .vendor(def.vendor.clone())
        .url(def.url.clone())
        .vcs(def.vcs.clone())
        .build_host(BUILD_HOST);
    if let Some(packager) = &def.packager {
        builder.packager(packager.clone());
    }
    if let Some(group) = &def.group {
        builder.group(group.clone());
    }

    let mtime = rpm::Timestamp(def.source_date);
    for file in &def.files {
        let mode = file.mode as u16;
        let options = |o: rpm::FileOptionsBuilder| {
            let mut o = o.user(&file.user).group(&file.group).modified_at(mtime);
            if file.attrs.config {
                o = o.config();
                if file.attrs.noreplace {
                    o = o.noreplace();
                }
            }
            if file.attrs.doc {
                o = o.doc();
            }
            if file.attrs.missingok {
                o = o.missingok();
            }
            o
        };
        let added = match &file.kind {
            FileKind::Source(source) => {
                // Read up front so a missing source names the file.
                fs::metadata(source).map_err(|e| BuildError::Source {
                    package: def.name.clone(),
                    dest: file.dest.clone(),
                    path: source.clone(),
                    source: e,
                })?;
                builder.with_file(source, options(rpm::FileOptions::new(&file.dest)).permissions(mode))
            }
            FileKind::Contents(bytes) => builder
                .with_file_contents(bytes.clone(), options(rpm::FileOptions::new(&file.dest)).permissions(mode)),
            FileKind::Dir => builder.with_dir_entry(options(rpm::FileOptions::dir(&file.dest)).permissions(mode)),
            FileKind::Symlink { target } => builder.with_symlink(
                options(rpm::FileOptions::symlink(&file.dest, target)).permissions(mode),
            ),
            FileKind::Ghost => builder.with_ghost(options(rpm::FileOptions::ghost(&file.dest)).permissions(mode)),
        };
        added.map_err(|source| BuildError::Invalid {
            package: def.name.clone(),
            field: format!("files: {}", file.dest),
            reason: source.to_string(),
        })?;
    }

    let deps = &def.deps;
    for d in &deps.requires {
        builder.requires(dependency(d));
    }
    for d in &deps.provides {
        builder.provides(dependency(d));
    }
    for d in &deps.conflicts {
        builder.conflicts(dependency(d));
    }
    for d in &deps.obsoletes {
        builder.obsoletes(dependency(d));
    }
    for d in &deps.recommends {
        builder.recommends(dependency(d));
    }
    for d in &deps.suggests {
        builder.suggests(dependency(d));
    }
    for d in &deps.supplements {
        builder.supplements(dependency(d));
    }
    for d in &deps.enhances {
        builder.enhances(dependency(d));
    }

    let s = &def.scriptlets;
    if let Some(x) = &s.pre {
        builder.pre_install_script(scriptlet(x));
    }
    if let Some(x) = &s.post {
        builder.post_install_script(scriptlet(x));
    }
    if let Some(x) = &s.preun {
        builder.pre_uninstall_script(scriptlet(x));
    }
    if let Some(x) = &s.postun {
        builder.post_uninstall_script(scriptlet(x));
    }
    if let Some(x) = &s.pretrans {
        builder.pre_trans_script(scriptlet(x));
    }
    if let Some(x) = &s.posttrans {
        builder.post_trans_script(scriptlet(x));
    }
    for entry in &def.changelog {
        builder.add_changelog_entry(&entry.author, &entry.text, entry.time);
    }

    match key {
        Some(key) => builder.build_and_sign(key.signer()?).map_err(rpm_error),
        None => builder.build().map_err(rpm_error),
    }
}

fn dependency(d: &Dependency) -> rpm::Dependency {
    match &d.constraint {
        None => rpm::Dependency::any(&d.name),
        Some((DepOp::Lt, v)) => rpm::Dependency::less(&d.name, v),
        Some((DepOp::Le, v)) => rpm::Dependency::less_eq(&d.name, v),
        Some((DepOp::Eq, v)) => rpm::Dependency::eq(&d.name, v),
        Some((DepOp::Ge, v)) => rpm::Dependency::greater_eq(&d.name, v),
        Some((DepOp::Gt, v)) => rpm::Dependency::greater(&d.name, v),
    }
}

/// The interpreter is always recorded, as rpmbuild does (`/bin/sh` by default).
fn scriptlet(s: &Scriptlet) -> rpm::Scriptlet {
    let interpreter = s.interpreter.clone().unwrap_or_else(|| "/bin/sh".to_string());
    rpm::Scriptlet::new(&s.body).prog(vec![interpreter])
}
