//! The main rpm header, built with rpm-rs's header types from a PackageDef
//! and what the payload pass measured. Mirrors what rpm-rs's own
//! `PackageBuilder::prepare_data` emits for a v4 package, so rpm, dnf and
//! rpmlint see the same tags whichever builder wrote the package.

use std::collections::BTreeSet;

use rpm::{
    DependencyFlags, DigestAlgorithm, FileFlags, FileVerifyFlags, Header, HeaderEntry, IndexData,
    IndexTag,
};

use super::payload::PayloadSummary;
use super::BUILD_HOST;
use crate::package::{CompressionKind, DepOp, Dependency, FileKind, PackageDef, Scriptlet};
use crate::spec::resolve::LUA;

/// One entry of the header's file list, in payload (sorted) order.
#[derive(Clone)]
pub(super) struct FileRecord {
    pub dest: String,
    pub kind_bits: u16,
    pub permissions: u16,
    pub size: u64,
    /// Empty for anything but a regular file in the payload.
    pub sha256: String,
    pub linkto: String,
    pub flags: FileFlags,
    pub user: String,
    pub group: String,
    pub ghost: bool,
}

impl FileRecord {
    pub fn mode(&self) -> u16 {
        self.kind_bits | self.permissions
    }

    /// Only regular files in the payload carry a content digest.
    pub fn has_digest(&self) -> bool {
        self.kind_bits == 0o100000 && !self.ghost
    }
}

pub(super) fn type_bits(kind: &FileKind) -> u16 {
    match kind {
        FileKind::Dir => 0o040000,
        FileKind::Symlink { .. } => 0o120000,
        FileKind::Source(_) | FileKind::Contents(_) | FileKind::Ghost => 0o100000,
    }
}

fn entry(tag: IndexTag, data: IndexData) -> HeaderEntry {
    HeaderEntry::new(tag as u32, data)
}

fn string(s: &str) -> IndexData {
    IndexData::StringTag(s.to_owned())
}

fn dependency(d: &Dependency) -> rpm::Dependency {
    let (flags, version) = match &d.constraint {
        None => (DependencyFlags::ANY, String::new()),
        Some((op, v)) => {
            let flags = match op {
                DepOp::Lt => DependencyFlags::LESS,
                DepOp::Le => DependencyFlags::LE,
                DepOp::Eq => DependencyFlags::EQUAL,
                DepOp::Ge => DependencyFlags::GE,
                DepOp::Gt => DependencyFlags::GREATER,
            };
            (flags, v.clone())
        }
    };
    rpm::Dependency {
        name: d.name.clone(),
        flags,
        version,
    }
}

/// rpm's order (name, version, flags), without repeats.
fn sorted(mut deps: Vec<rpm::Dependency>) -> Vec<rpm::Dependency> {
    deps.sort_by(|a, b| {
        (a.name.as_str(), a.version.as_str(), a.flags.bits()).cmp(&(
            b.name.as_str(),
            b.version.as_str(),
            b.flags.bits(),
        ))
    });
    deps.dedup();
    deps
}

/// NAME, VERSION and FLAGS tags of one dependency kind; none when empty.
fn dependency_entries(
    out: &mut Vec<HeaderEntry>,
    deps: Vec<rpm::Dependency>,
    [name_tag, version_tag, flags_tag]: [IndexTag; 3],
) {
    if deps.is_empty() {
        return;
    }
    let deps = sorted(deps);
    out.push(entry(
        name_tag,
        IndexData::StringArray(deps.iter().map(|d| d.name.clone()).collect()),
    ));
    out.push(entry(
        version_tag,
        IndexData::StringArray(deps.iter().map(|d| d.version.clone()).collect()),
    ));
    out.push(entry(
        flags_tag,
        IndexData::Int32(deps.iter().map(|d| d.flags.bits()).collect()),
    ));
}

fn scriptlet_entries(
    out: &mut Vec<HeaderEntry>,
    script: &Option<Scriptlet>,
    [body, prog]: [IndexTag; 2],
) {
    if let Some(script) = script {
        out.push(entry(body, string(&script.body)));
        out.push(entry(prog, string(interpreter(script))));
    }
}

/// Always recorded, as rpmbuild does; `/bin/sh` unless the spec says otherwise.
fn interpreter(script: &Scriptlet) -> &str {
    script.interpreter.as_deref().unwrap_or("/bin/sh")
}

/// As rpm's `%_isa`: the provide `NAME(x86-64)` of arch-specific packages.
fn isa(arch: &str) -> Option<&'static str> {
    match arch {
        "x86_64" => Some("x86-64"),
        "i386" | "i486" | "i586" | "i686" => Some("x86-32"),
        "aarch64" => Some("aarch-64"),
        "ppc64" | "ppc64le" => Some("ppc-64"),
        "s390x" => Some("s390-64"),
        _ => None,
    }
}

pub(super) fn main_header(
    def: &PackageDef,
    files: &[FileRecord],
    payload: &PayloadSummary,
) -> Header<IndexTag> {
    let evr = match def.epoch {
        Some(epoch) => format!("{epoch}:{}-{}", def.version, def.release),
        None => format!("{}-{}", def.version, def.release),
    };
    let installed_size: u64 = files.iter().filter(|f| !f.ghost).map(|f| f.size).sum();

    let mut provides: Vec<rpm::Dependency> = def.deps.provides.iter().map(dependency).collect();
    let mut requires: Vec<rpm::Dependency> = def.deps.requires.iter().map(dependency).collect();
    let mut recommends: Vec<rpm::Dependency> = def.deps.recommends.iter().map(dependency).collect();
    provides.push(rpm::Dependency::eq(&def.name, &evr));
    if let Some(isa) = isa(&def.arch) {
        provides.push(rpm::Dependency::eq(format!("{}({isa})", def.name), &evr));
    }
    if files.iter().any(|f| f.flags.contains(FileFlags::CONFIG)) {
        provides.push(rpm::Dependency::config(&def.name, &evr));
        requires.push(rpm::Dependency::config(&def.name, &evr));
    }
    requires.push(rpm::Dependency::rpmlib("CompressedFileNames", "3.0.4-1"));
    requires.push(rpm::Dependency::rpmlib("FileDigests", "4.6.0-1"));
    requires.push(rpm::Dependency::rpmlib("PayloadFilesHavePrefix", "4.0-1"));
    if def.compression.kind == CompressionKind::Zstd {
        requires.push(rpm::Dependency::rpmlib("PayloadIsZstd", "5.4.18-1"));
    }
    let deps = &def.deps;
    let rich = [
        &deps.requires,
        &deps.provides,
        &deps.conflicts,
        &deps.obsoletes,
        &deps.recommends,
        &deps.suggests,
        &deps.supplements,
        &deps.enhances,
    ]
    .iter()
    .any(|list| list.iter().any(|d| d.name.starts_with('(')));
    if rich {
        requires.push(rpm::Dependency::rpmlib("RichDependencies", "4.12.0-1"));
    }
    // As rpm-rs does for v4: owners other than root are weak dependencies
    // (user()/group() provides need rpm >= 4.19).
    let users: BTreeSet<&str> = files
        .iter()
        .map(|f| f.user.as_str())
        .filter(|u| *u != "root")
        .collect();
    let groups: BTreeSet<&str> = files
        .iter()
        .map(|f| f.group.as_str())
        .filter(|g| *g != "root")
        .collect();
    recommends.extend(users.into_iter().map(rpm::Dependency::user));
    recommends.extend(groups.into_iter().map(rpm::Dependency::group));
    let s = &def.scriptlets;
    let mut lua = false;
    for (script, phase) in [
        (&s.pre, DependencyFlags::SCRIPT_PRE),
        (&s.post, DependencyFlags::SCRIPT_POST),
        (&s.preun, DependencyFlags::SCRIPT_PREUN),
        (&s.postun, DependencyFlags::SCRIPT_POSTUN),
        (&s.pretrans, DependencyFlags::PRETRANS),
        (&s.posttrans, DependencyFlags::POSTTRANS),
    ] {
        match script {
            // As rpmbuild: rpm runs Lua itself, so no interpreter to require.
            Some(script) if interpreter(script) == LUA => lua = true,
            Some(script) => requires.push(rpm::Dependency {
                name: interpreter(script).to_owned(),
                flags: DependencyFlags::INTERP | phase,
                version: String::new(),
            }),
            None => {}
        }
    }
    if lua {
        requires.push(rpm::Dependency::rpmlib("BuiltinLuaScripts", "4.2.2-1"));
    }

    let mut out = vec![
        entry(IndexTag::RPMTAG_SOURCERPM, string("(none)")),
        entry(
            IndexTag::RPMTAG_HEADERI18NTABLE,
            IndexData::StringArray(vec!["C".into()]),
        ),
        entry(IndexTag::RPMTAG_NAME, string(&def.name)),
        entry(
            IndexTag::RPMTAG_RPMVERSION,
            string(concat!(
                "fuel-rpm ",
                env!("CARGO_PKG_VERSION"),
                " (rpm-rs headers)"
            )),
        ),
        entry(IndexTag::RPMTAG_VERSION, string(&def.version)),
        entry(IndexTag::RPMTAG_RELEASE, string(&def.release)),
        entry(
            IndexTag::RPMTAG_DESCRIPTION,
            IndexData::I18NString(vec![def.description.clone()]),
        ),
        entry(
            IndexTag::RPMTAG_SUMMARY,
            IndexData::I18NString(vec![def.summary.clone()]),
        ),
        entry(
            IndexTag::RPMTAG_SIZE,
            IndexData::Int32(vec![installed_size as u32]),
        ),
        entry(IndexTag::RPMTAG_LICENSE, string(&def.license)),
        entry(IndexTag::RPMTAG_OS, string("linux")),
        entry(
            IndexTag::RPMTAG_GROUP,
            IndexData::I18NString(vec![def
                .group
                .clone()
                .unwrap_or_else(|| "Unspecified".into())]),
        ),
        entry(IndexTag::RPMTAG_ARCH, string(&def.arch)),
        entry(IndexTag::RPMTAG_ENCODING, string("utf-8")),
        entry(IndexTag::RPMTAG_PAYLOADFORMAT, string("cpio")),
        entry(
            IndexTag::RPMTAG_BUILDTIME,
            IndexData::Int32(vec![def.source_date]),
        ),
        entry(IndexTag::RPMTAG_BUILDHOST, string(BUILD_HOST)),
        entry(IndexTag::RPMTAG_VENDOR, string(&def.vendor)),
        entry(IndexTag::RPMTAG_URL, string(&def.url)),
        entry(IndexTag::RPMTAG_VCS, string(&def.vcs)),
    ];
    if let Some(packager) = &def.packager {
        out.push(entry(IndexTag::RPMTAG_PACKAGER, string(packager)));
    }
    if let Some(epoch) = def.epoch {
        out.push(entry(IndexTag::RPMTAG_EPOCH, IndexData::Int32(vec![epoch])));
    }

    if !files.is_empty() {
        // DIRNAMES is the sorted set of parents ("/usr/bin/"), DIRINDEXES points into it.
        let split = |dest: &str| -> (String, String) {
            let (dir, base) = dest.rsplit_once('/').expect("destinations are absolute");
            (format!("{dir}/"), base.to_owned())
        };
        let dirs: BTreeSet<String> = files.iter().map(|f| split(&f.dest).0).collect();
        let dirs: Vec<String> = dirs.into_iter().collect();
        let column = |f: &dyn Fn(&FileRecord) -> String| -> IndexData {
            IndexData::StringArray(files.iter().map(f).collect())
        };
        out.extend([
            entry(
                IndexTag::RPMTAG_FILESIZES,
                IndexData::Int32(files.iter().map(|f| f.size as u32).collect()),
            ),
            entry(
                IndexTag::RPMTAG_FILEMODES,
                IndexData::Int16(files.iter().map(FileRecord::mode).collect()),
            ),
            entry(
                IndexTag::RPMTAG_FILERDEVS,
                IndexData::Int16(vec![0; files.len()]),
            ),
            entry(
                IndexTag::RPMTAG_FILEMTIMES,
                IndexData::Int32(vec![def.source_date; files.len()]),
            ),
            entry(IndexTag::RPMTAG_FILEDIGESTS, column(&|f| f.sha256.clone())),
            entry(IndexTag::RPMTAG_FILELINKTOS, column(&|f| f.linkto.clone())),
            entry(
                IndexTag::RPMTAG_FILEFLAGS,
                IndexData::Int32(files.iter().map(|f| f.flags.bits()).collect()),
            ),
            entry(IndexTag::RPMTAG_FILEUSERNAME, column(&|f| f.user.clone())),
            entry(IndexTag::RPMTAG_FILEGROUPNAME, column(&|f| f.group.clone())),
            entry(
                IndexTag::RPMTAG_FILEDEVICES,
                IndexData::Int32(files.iter().map(|f| u32::from(!f.ghost)).collect()),
            ),
            entry(
                IndexTag::RPMTAG_FILEINODES,
                IndexData::Int32((1..=files.len() as u32).collect()),
            ),
            entry(
                IndexTag::RPMTAG_DIRINDEXES,
                IndexData::Int32(
                    files
                        .iter()
                        .map(|f| {
                            dirs.binary_search(&split(&f.dest).0)
                                .expect("dir was collected") as u32
                        })
                        .collect(),
                ),
            ),
            entry(IndexTag::RPMTAG_FILELANGS, column(&|_| String::new())),
            entry(
                IndexTag::RPMTAG_FILEVERIFYFLAGS,
                IndexData::Int32(
                    files
                        .iter()
                        .map(|f| {
                            let all = FileVerifyFlags::ALL_FLAGS;
                            let ghost_skips = FileVerifyFlags::FILEDIGEST
                                | FileVerifyFlags::FILESIZE
                                | FileVerifyFlags::LINKTO
                                | FileVerifyFlags::MTIME;
                            if f.ghost {
                                (all & !ghost_skips).bits()
                            } else {
                                all.bits()
                            }
                        })
                        .collect(),
                ),
            ),
            entry(IndexTag::RPMTAG_BASENAMES, column(&|f| split(&f.dest).1)),
            entry(
                IndexTag::RPMTAG_DIRNAMES,
                IndexData::StringArray(dirs.clone()),
            ),
        ]);
    }
    out.push(entry(
        IndexTag::RPMTAG_FILEDIGESTALGO,
        IndexData::Int32(vec![DigestAlgorithm::Sha2_256 as u32]),
    ));

    dependency_entries(
        &mut out,
        provides,
        [
            IndexTag::RPMTAG_PROVIDENAME,
            IndexTag::RPMTAG_PROVIDEVERSION,
            IndexTag::RPMTAG_PROVIDEFLAGS,
        ],
    );
    dependency_entries(
        &mut out,
        requires,
        [
            IndexTag::RPMTAG_REQUIRENAME,
            IndexTag::RPMTAG_REQUIREVERSION,
            IndexTag::RPMTAG_REQUIREFLAGS,
        ],
    );
    let list = |deps: &Vec<Dependency>| deps.iter().map(dependency).collect::<Vec<_>>();
    dependency_entries(
        &mut out,
        list(&deps.conflicts),
        [
            IndexTag::RPMTAG_CONFLICTNAME,
            IndexTag::RPMTAG_CONFLICTVERSION,
            IndexTag::RPMTAG_CONFLICTFLAGS,
        ],
    );
    dependency_entries(
        &mut out,
        list(&deps.obsoletes),
        [
            IndexTag::RPMTAG_OBSOLETENAME,
            IndexTag::RPMTAG_OBSOLETEVERSION,
            IndexTag::RPMTAG_OBSOLETEFLAGS,
        ],
    );
    dependency_entries(
        &mut out,
        recommends,
        [
            IndexTag::RPMTAG_RECOMMENDNAME,
            IndexTag::RPMTAG_RECOMMENDVERSION,
            IndexTag::RPMTAG_RECOMMENDFLAGS,
        ],
    );
    dependency_entries(
        &mut out,
        list(&deps.suggests),
        [
            IndexTag::RPMTAG_SUGGESTNAME,
            IndexTag::RPMTAG_SUGGESTVERSION,
            IndexTag::RPMTAG_SUGGESTFLAGS,
        ],
    );
    dependency_entries(
        &mut out,
        list(&deps.supplements),
        [
            IndexTag::RPMTAG_SUPPLEMENTNAME,
            IndexTag::RPMTAG_SUPPLEMENTVERSION,
            IndexTag::RPMTAG_SUPPLEMENTFLAGS,
        ],
    );
    dependency_entries(
        &mut out,
        list(&deps.enhances),
        [
            IndexTag::RPMTAG_ENHANCENAME,
            IndexTag::RPMTAG_ENHANCEVERSION,
            IndexTag::RPMTAG_ENHANCEFLAGS,
        ],
    );

    // As rpm-rs: digests are string arrays. Only the compressed payload's
    // (PAYLOADDIGEST, which rpm checks on every install and `rpm -K`, under
    // the header's signature): the uncompressed archive's PAYLOADDIGESTALT,
    // which rpm 4.18 neither checks nor shows, cost a third sha256 pass over
    // every payload byte.
    out.extend([
        entry(
            IndexTag::RPMTAG_PAYLOADSHA256,
            IndexData::StringArray(vec![payload.sha256.clone()]),
        ),
        entry(
            IndexTag::RPMTAG_PAYLOADSHA256ALGO,
            IndexData::Int32(vec![DigestAlgorithm::Sha2_256 as u32]),
        ),
    ]);
    let (compressor, flags) = match def.compression.kind {
        CompressionKind::None => (None, String::new()),
        CompressionKind::Gzip => (Some("gzip"), def.compression.level.to_string()),
        CompressionKind::Zstd => (Some("zstd"), def.compression.level.to_string()),
    };
    if let Some(compressor) = compressor {
        out.push(entry(
            IndexTag::RPMTAG_PAYLOADCOMPRESSOR,
            string(compressor),
        ));
    }
    out.push(entry(
        IndexTag::RPMTAG_PAYLOADFLAGS,
        IndexData::StringTag(flags),
    ));

    if !def.changelog.is_empty() {
        let log = &def.changelog;
        out.extend([
            entry(
                IndexTag::RPMTAG_CHANGELOGNAME,
                IndexData::StringArray(log.iter().map(|e| e.author.clone()).collect()),
            ),
            entry(
                IndexTag::RPMTAG_CHANGELOGTEXT,
                IndexData::StringArray(log.iter().map(|e| e.text.clone()).collect()),
            ),
            entry(
                IndexTag::RPMTAG_CHANGELOGTIME,
                IndexData::Int32(log.iter().map(|e| e.time).collect()),
            ),
        ]);
    }

    scriptlet_entries(
        &mut out,
        &s.pre,
        [IndexTag::RPMTAG_PREIN, IndexTag::RPMTAG_PREINPROG],
    );
    scriptlet_entries(
        &mut out,
        &s.post,
        [IndexTag::RPMTAG_POSTIN, IndexTag::RPMTAG_POSTINPROG],
    );
    scriptlet_entries(
        &mut out,
        &s.preun,
        [IndexTag::RPMTAG_PREUN, IndexTag::RPMTAG_PREUNPROG],
    );
    scriptlet_entries(
        &mut out,
        &s.postun,
        [IndexTag::RPMTAG_POSTUN, IndexTag::RPMTAG_POSTUNPROG],
    );
    scriptlet_entries(
        &mut out,
        &s.pretrans,
        [IndexTag::RPMTAG_PRETRANS, IndexTag::RPMTAG_PRETRANSPROG],
    );
    scriptlet_entries(
        &mut out,
        &s.posttrans,
        [IndexTag::RPMTAG_POSTTRANS, IndexTag::RPMTAG_POSTTRANSPROG],
    );

    Header::from_entries(out, IndexTag::RPMTAG_HEADERIMMUTABLE)
}
