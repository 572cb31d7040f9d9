//! A directory of rpms → `repodata/` that dnf accepts (primary, filelists and
//! other `.xml.gz`, and `repomd.xml`), in pure Rust: each package's header is
//! read with rpm-rs's `PackageMetadata::open` (never the payload); the file
//! is streamed once through sha256 for its package id, as createrepo_c does.
//!
//! The output is deterministic (sorted by file name, gzip without a time
//! stamp, times taken from the caller), and replaces `repodata/` only when
//! complete: it is written to a temporary directory beside it, then swapped
//! in (`fuel_atomic::replace_dir`: one exchange, directory fsynced).

use rpm::{DependencyFlags, FileFlags, FileType, IndexSignatureTag, PackageMetadata};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The repositories fuel-release's .repo files name: all three must exist,
/// since they say `skip_if_unavailable=0`.
pub const RELEASE_REPOSITORIES: &[&str] = &["base", "updates", "security"];

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: not a readable rpm header: {source}", path.display())]
    Rpm { path: PathBuf, source: rpm::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> RepoError + '_ {
    move |source| RepoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What [`write_repodata`] indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSummary {
    pub dir: PathBuf,
    /// File names of the indexed rpms, sorted.
    pub packages: Vec<String>,
}

/// Indexes every `*.rpm` directly in `dir` into `dir/repodata/`. `timestamp`
/// (seconds since the epoch, e.g. SOURCE_DATE_EPOCH) is the revision.
pub fn write_repodata(dir: &Path, timestamp: u64) -> Result<RepoSummary, RepoError> {
    let rpms = rpms_in(dir)?;
    let mut primary = String::new();
    let mut filelists = String::new();
    let mut other = String::new();
    let mut names = Vec::new();
    for path in &rpms {
        let entry = PackageEntry::read(path)?;
        entry.write_primary(&mut primary);
        entry.write_filelists(&mut filelists);
        entry.write_other(&mut other);
        names.push(entry.location);
    }
    let count = rpms.len();
    let documents = [
        ("primary", format!("{XML_HEADER}<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{count}\">\n{primary}</metadata>\n")),
        ("filelists", format!("{XML_HEADER}<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"{count}\">\n{filelists}</filelists>\n")),
        ("other", format!("{XML_HEADER}<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"{count}\">\n{other}</otherdata>\n")),
    ];

    let staging = tempfile::Builder::new()
        .prefix(".repodata.")
        .tempdir_in(dir)
        .map_err(io_error(dir))?;
    let mut repomd = format!(
        "{XML_HEADER}<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n  <revision>{timestamp}</revision>\n"
    );
    for (kind, xml) in &documents {
        let gz = gzip(xml.as_bytes()).map_err(io_error(dir))?;
        let gz_sum = sha256_hex(&gz);
        let file_name = format!("{gz_sum}-{kind}.xml.gz");
        write_synced(&staging.path().join(&file_name), &gz)?;
        let _ = write!(
            repomd,
            "  <data type=\"{kind}\">\n    <checksum type=\"sha256\">{gz_sum}</checksum>\n    <open-checksum type=\"sha256\">{}</open-checksum>\n    <location href=\"repodata/{file_name}\"/>\n    <timestamp>{timestamp}</timestamp>\n    <size>{}</size>\n    <open-size>{}</open-size>\n  </data>\n",
            sha256_hex(xml.as_bytes()),
            gz.len(),
            xml.len()
        );
    }
    repomd.push_str("</repomd>\n");
    write_synced(&staging.path().join("repomd.xml"), repomd.as_bytes())?;

    // Swap the complete staging directory in (one exchange where the file
    // system has it); the old one is removed after.
    let target = dir.join("repodata");
    let staged = staging.keep();
    fuel_atomic::replace_dir(&staged, &target).map_err(io_error(&target))?;
    Ok(RepoSummary {
        dir: dir.to_path_buf(),
        packages: names,
    })
}

/// The layout fuel-release's .repo files expect under one base URL:
/// `<root>/<version>/{base,updates,security}/`, each with repodata. `base`
/// receives `base_rpms` (copied); `updates` and `security` get the given rpms
/// (valid, empty repositories when none). Stale rpms in those directories are
/// removed so the repository is exactly the given set.
pub fn write_release_repositories(
    root: &Path,
    version: &str,
    base_rpms: &[PathBuf],
    updates_rpms: &[PathBuf],
    security_rpms: &[PathBuf],
    timestamp: u64,
) -> Result<Vec<RepoSummary>, RepoError> {
    let mut summaries = Vec::new();
    for (name, rpms) in RELEASE_REPOSITORIES
        .iter()
        .zip([base_rpms, updates_rpms, security_rpms])
    {
        let dir = root.join(version).join(name);
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        for stale in fs::read_dir(&dir)
            .map_err(io_error(&dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
        {
            let keep = rpms.iter().any(|r| r.file_name() == stale.file_name());
            if stale.extension().is_some_and(|e| e == "rpm") && !keep {
                fs::remove_file(&stale).map_err(io_error(&stale))?;
            }
        }
        for rpm in rpms {
            let dest = dir.join(rpm.file_name().unwrap_or_default());
            copy_atomically(rpm, &dest)?;
        }
        summaries.push(write_repodata(&dir, timestamp)?);
    }
    Ok(summaries)
}

/// Every `*.rpm` directly in `dir`, sorted.
pub fn rpms_in(dir: &Path) -> Result<Vec<PathBuf>, RepoError> {
    let mut rpms: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_error(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rpm") && p.is_file())
        .collect();
    rpms.sort();
    Ok(rpms)
}

const XML_HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// One package as the three metadata documents describe it.
struct PackageEntry {
    location: String,
    pkgid: String,
    name: String,
    arch: String,
    epoch: u32,
    version: String,
    release: String,
    summary: String,
    description: String,
    packager: String,
    url: String,
    license: String,
    vendor: String,
    group: String,
    build_host: String,
    source_rpm: String,
    build_time: u64,
    package_size: u64,
    installed_size: u64,
    archive_size: u64,
    header_start: u64,
    header_end: u64,
    deps: Vec<(&'static str, Vec<rpm::Dependency>)>,
    files: Vec<(String, &'static str)>,
    changelog: Vec<rpm::ChangelogEntry>,
}

impl PackageEntry {
    fn read(path: &Path) -> Result<Self, RepoError> {
        let rpm_error = |source| RepoError::Rpm {
            path: path.to_path_buf(),
            source,
        };
        let meta = PackageMetadata::open(path).map_err(rpm_error)?;
        let offsets = meta.get_package_segment_offsets();
        let text = |value: Result<&str, rpm::Error>| value.unwrap_or("").to_string();
        let deps = vec![
            ("provides", meta.get_provides().map_err(rpm_error)?),
            ("requires", meta.get_requires().map_err(rpm_error)?),
            ("conflicts", meta.get_conflicts().map_err(rpm_error)?),
            ("obsoletes", meta.get_obsoletes().map_err(rpm_error)?),
            ("recommends", meta.get_recommends().map_err(rpm_error)?),
            ("suggests", meta.get_suggests().map_err(rpm_error)?),
            ("supplements", meta.get_supplements().map_err(rpm_error)?),
            ("enhances", meta.get_enhances().map_err(rpm_error)?),
        ];
        let mut files = Vec::new();
        for entry in meta.get_file_entries().map_err(rpm_error)? {
            let kind = if entry.flags().contains(FileFlags::GHOST) {
                "ghost"
            } else if entry.file_type() == FileType::Dir {
                "dir"
            } else {
                ""
            };
            files.push((entry.path().to_string_lossy().into_owned(), kind));
        }
        let archive_size = meta
            .signature
            .get_entry_data_as_u64(IndexSignatureTag::RPMSIGTAG_LONGARCHIVESIZE)
            .or_else(|_| {
                meta.signature
                    .get_entry_data_as_u32(IndexSignatureTag::RPMSIGTAG_PAYLOADSIZE)
                    .map(u64::from)
            })
            .unwrap_or(0);
        let (pkgid, package_size) = sha256_file(path)?;
        Ok(PackageEntry {
            location: path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            pkgid,
            name: text(meta.get_name()),
            arch: text(meta.get_arch()),
            epoch: meta.get_epoch().unwrap_or(0),
            version: text(meta.get_version()),
            release: text(meta.get_release()),
            summary: text(meta.get_summary()),
            description: text(meta.get_description()),
            packager: text(meta.get_packager()),
            url: text(meta.get_url()),
            license: text(meta.get_license()),
            vendor: text(meta.get_vendor()),
            group: text(meta.get_group()),
            build_host: text(meta.get_build_host()),
            source_rpm: text(meta.get_source_rpm()),
            build_time: meta.get_build_time().unwrap_or(0),
            package_size,
            installed_size: meta.get_installed_size().unwrap_or(0),
            archive_size,
            header_start: offsets.header,
            header_end: offsets.payload,
            deps,
            files,
            changelog: meta.get_changelog_entries().unwrap_or_default(),
        })
    }

    fn provides(&self, dep: &rpm::Dependency) -> bool {
        let cmp = DependencyFlags::LESS | DependencyFlags::GREATER | DependencyFlags::EQUAL;
        self.deps
            .iter()
            .filter(|(tag, _)| *tag == "provides")
            .flat_map(|(_, p)| p)
            .any(|p| {
                p.name == dep.name
                    && p.version == dep.version
                    && (p.flags & cmp) == (dep.flags & cmp)
            })
    }

    fn version_element(&self) -> String {
        format!(
            "<version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>",
            self.epoch,
            esc(&self.version),
            esc(&self.release)
        )
    }

    fn write_primary(&self, out: &mut String) {
        let _ = writeln!(out, "<package type=\"rpm\">");
        let _ = writeln!(
            out,
            "  <name>{}</name>\n  <arch>{}</arch>\n  {}",
            esc(&self.name),
            esc(&self.arch),
            self.version_element()
        );
        let _ = writeln!(
            out,
            "  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>",
            self.pkgid
        );
        let _ = writeln!(
            out,
            "  <summary>{}</summary>\n  <description>{}</description>",
            esc(&self.summary),
            esc(&self.description)
        );
        let _ = writeln!(
            out,
            "  <packager>{}</packager>\n  <url>{}</url>",
            esc(&self.packager),
            esc(&self.url)
        );
        let _ = writeln!(out, "  <time file=\"{0}\" build=\"{0}\"/>", self.build_time);
        let _ = writeln!(
            out,
            "  <size package=\"{}\" installed=\"{}\" archive=\"{}\"/>",
            self.package_size, self.installed_size, self.archive_size
        );
        let _ = writeln!(
            out,
            "  <location href=\"{}\"/>\n  <format>",
            esc(&self.location)
        );
        for (tag, value) in [
            ("license", &self.license),
            ("vendor", &self.vendor),
            ("group", &self.group),
            ("buildhost", &self.build_host),
            ("sourcerpm", &self.source_rpm),
        ] {
            let _ = writeln!(out, "    <rpm:{tag}>{}</rpm:{tag}>", esc(value));
        }
        let _ = writeln!(
            out,
            "    <rpm:header-range start=\"{}\" end=\"{}\"/>",
            self.header_start, self.header_end
        );
        for (tag, deps) in &self.deps {
            // rpmlib(…) requirements are rpm's own business, not the solver's.
            let deps: Vec<_> = deps
                .iter()
                .filter(|d| {
                    !d.flags.contains(DependencyFlags::RPMLIB) && !d.name.starts_with("rpmlib(")
                })
                // As createrepo_c: a requirement the package provides itself
                // (config(name) = V-R) tells the solver nothing.
                .filter(|d| *tag != "requires" || !self.provides(d))
                .collect();
            if deps.is_empty() {
                continue;
            }
            let _ = writeln!(out, "    <rpm:{tag}>");
            for dep in deps {
                out.push_str(&dependency_entry(dep, *tag == "requires"));
            }
            let _ = writeln!(out, "    </rpm:{tag}>");
        }
        // Like createrepo_c: primary lists only the files dependencies usually name.
        for (path, kind) in &self.files {
            if path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail" {
                out.push_str(&file_element(path, kind, "    "));
            }
        }
        out.push_str("  </format>\n</package>\n");
    }

    /// The opening of a filelists or other entry.
    fn package_element(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "<package pkgid=\"{}\" name=\"{}\" arch=\"{}\">\n  {}",
            self.pkgid,
            esc(&self.name),
            esc(&self.arch),
            self.version_element()
        );
    }

    fn write_filelists(&self, out: &mut String) {
        self.package_element(out);
        for (path, kind) in &self.files {
            out.push_str(&file_element(path, kind, "  "));
        }
        out.push_str("</package>\n");
    }

    fn write_other(&self, out: &mut String) {
        self.package_element(out);
        for entry in &self.changelog {
            let _ = writeln!(
                out,
                "  <changelog author=\"{}\" date=\"{}\">{}</changelog>",
                esc(&entry.name),
                entry.timestamp,
                esc(&entry.description)
            );
        }
        out.push_str("</package>\n");
    }
}

fn file_element(path: &str, kind: &str, indent: &str) -> String {
    if kind.is_empty() {
        format!("{indent}<file>{}</file>\n", esc(path))
    } else {
        format!("{indent}<file type=\"{kind}\">{}</file>\n", esc(path))
    }
}

fn dependency_entry(dep: &rpm::Dependency, is_requires: bool) -> String {
    let mut entry = format!("      <rpm:entry name=\"{}\"", esc(&dep.name));
    let cmp =
        dep.flags & (DependencyFlags::LESS | DependencyFlags::GREATER | DependencyFlags::EQUAL);
    let flag = if cmp == DependencyFlags::EQUAL {
        Some("EQ")
    } else if cmp == DependencyFlags::LESS {
        Some("LT")
    } else if cmp == DependencyFlags::GREATER {
        Some("GT")
    } else if cmp == DependencyFlags::LESS | DependencyFlags::EQUAL {
        Some("LE")
    } else if cmp == DependencyFlags::GREATER | DependencyFlags::EQUAL {
        Some("GE")
    } else {
        None
    };
    if let (Some(flag), false) = (flag, dep.version.is_empty()) {
        // [epoch:]version[-release]
        let (epoch, rest) = match dep.version.split_once(':') {
            Some((e, rest)) if e.bytes().all(|b| b.is_ascii_digit()) => (e, rest),
            _ => ("0", dep.version.as_str()),
        };
        let _ = write!(entry, " flags=\"{flag}\" epoch=\"{epoch}\"");
        match rest.rsplit_once('-') {
            Some((ver, rel)) => {
                let _ = write!(entry, " ver=\"{}\" rel=\"{}\"", esc(ver), esc(rel));
            }
            None => {
                let _ = write!(entry, " ver=\"{}\"", esc(rest));
            }
        }
    }
    let pre = DependencyFlags::PREREQ | DependencyFlags::SCRIPT_PRE | DependencyFlags::SCRIPT_POST;
    if is_requires && dep.flags.intersects(pre) {
        entry.push_str(" pre=\"1\"");
    }
    entry.push_str("/>\n");
    entry
}

/// XML text/attribute escaping; control characters XML 1.0 forbids are dropped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    // flate2's header carries no time stamp: the output is reproducible.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data)?;
    encoder.finish()
}

fn sha256_hex(data: &[u8]) -> String {
    fuel_atomic::hex(&Sha256::digest(data))
}

/// sha256 and size of a file, streamed.
fn sha256_file(path: &Path) -> Result<(String, u64), RepoError> {
    let mut file = fs::File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    let size = io::copy(&mut file, &mut hasher).map_err(io_error(path))?;
    Ok((fuel_atomic::hex(&hasher.finalize()), size))
}

fn write_synced(path: &Path, data: &[u8]) -> Result<(), RepoError> {
    let mut file = fs::File::create(path).map_err(io_error(path))?;
    file.write_all(data).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

/// Copies `from` to `to` atomically, so a reader of the repository never
/// sees half an rpm.
fn copy_atomically(from: &Path, to: &Path) -> Result<(), RepoError> {
    let mut source = fs::File::open(from).map_err(io_error(from))?;
    let mut copy = fuel_atomic::AtomicFile::create(to, 0o644).map_err(io_error(to))?;
    io::copy(&mut source, &mut copy).map_err(io_error(to))?;
    copy.commit().map_err(io_error(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_xml_and_drops_forbidden_controls() {
        assert_eq!(esc("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn dependency_entries_split_epoch_version_release() {
        let dep = rpm::Dependency::eq("fuel-api", "8.0.0-1");
        assert_eq!(
            dependency_entry(&dep, true),
            "      <rpm:entry name=\"fuel-api\" flags=\"EQ\" epoch=\"0\" ver=\"8.0.0\" rel=\"1\"/>\n"
        );
        let any = rpm::Dependency::any("/bin/sh");
        assert_eq!(
            dependency_entry(&any, true),
            "      <rpm:entry name=\"/bin/sh\"/>\n"
        );
    }
}
