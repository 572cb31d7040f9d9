//! `fuel package --env N --upload FILE | --download [--dir DIR] | --revisions | --delete`
//! (`--inventory` and `--drift` are `inventory.rs`):
//! an environment's package-manipulation document (design 004). A document
//! is checked locally with `fuel_pm` before anything is sent, and a download
//! is written whole or not at all, byte for byte what was uploaded.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use fuel_api_client::{ClientError, PackageRevision};
use fuel_cli::Table;
use serde::Serialize;

use crate::cli::PackageArgs;
use crate::output;
use crate::session::Session;

/// How many hex digits of a sha256 the revisions table shows.
const SHA_PREFIX: usize = 12;

/// A document to upload, read and checked before any connection is made.
pub struct Checked {
    name: String,
    bytes: Vec<u8>,
}

/// Reads and checks `--upload FILE` (nothing to do for the other actions):
/// a bad document is refused here, every problem as `FILE:LINE:COL: path:
/// message (hint)` on stderr, and nothing is sent.
pub fn check(args: &PackageArgs) -> anyhow::Result<Option<Checked>> {
    let Some(file) = &args.upload else {
        return Ok(None);
    };
    let name = file.display().to_string();
    let bytes = read_document(file)?;
    if let Err(problems) = fuel_pm::parse(&bytes) {
        eprint!("{}", problems.render(&name));
        return Err(not_uploaded(&name, problems.0.len()));
    }
    Ok(Some(Checked { name, bytes }))
}

pub async fn run(
    session: &Session,
    args: &PackageArgs,
    checked: Option<Checked>,
    json: bool,
) -> anyhow::Result<()> {
    let env = args.env;
    if let Some(document) = checked {
        return upload(session, env, &document, args.if_match.as_deref(), json).await;
    }
    if args.download {
        let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        return download(session, env, &dir, args.revision, json).await;
    }
    if args.revisions {
        return revisions(session, env, json).await;
    }
    delete(session, env, json).await
}

async fn upload(
    session: &Session,
    env: i64,
    document: &Checked,
    if_match: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let name = &document.name;
    let revision = session
        .client
        .put_package_manipulation(env, &document.bytes, if_match)
        .await
        .map_err(|e| match e {
            ClientError::PreconditionFailed(api) => anyhow!(
                "environment {env}'s document changed since ETag {} was read ({api}): download it again (fuel package --env {env} --download), redo your change, and upload with the new --if-match",
                if_match.unwrap_or("?")
            ),
            // The server's own check (a newer rule than this client's) speaks for itself.
            ClientError::Invalid { error, .. } if !error.problems.is_empty() => {
                eprint!("{}", fuel_pm::Problems(error.problems.clone()).render(name));
                not_uploaded(name, error.problems.len())
            }
            other => session.explain_env(other, env),
        })?;
    if json {
        return output::json(&revision);
    }
    output::emit(&format!(
        "{name}: stored as revision {} of environment {env}'s package document (by {}, {} bytes, ETag {})\n",
        revision.revision, revision.author, revision.size, revision.etag
    ))
}

fn not_uploaded(name: &str, problems: usize) -> anyhow::Error {
    let noun = if problems == 1 { "problem" } else { "problems" };
    anyhow!("{name} was not uploaded: fix the {problems} {noun} above and upload again")
}

/// Reads the file to upload, refusing a huge one before reading it all.
fn read_document(file: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}: check the path", file.display()))?
        .len();
    if size > fuel_pm::MAX_DOCUMENT_BYTES as u64 {
        return Err(anyhow!(
            "{} is {size} bytes, more than a package document may be ({} bytes): is it the right file?",
            file.display(),
            fuel_pm::MAX_DOCUMENT_BYTES
        ));
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

/// What `--download --json` prints.
#[derive(Serialize)]
struct Downloaded {
    path: PathBuf,
    size: usize,
    /// The ETag to give `--upload --if-match` (absent for an older revision).
    etag: Option<String>,
    revision: Option<i64>,
}

async fn download(
    session: &Session,
    env: i64,
    dir: &Path,
    revision: Option<i64>,
    json: bool,
) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Err(anyhow!(
            "{} is not a directory: create it or pass another --dir",
            dir.display()
        ));
    }
    let fetched = match revision {
        Some(n) => session
            .client
            .get_package_revision(env, n)
            .await
            .map(|bytes| (bytes, None)),
        None => session
            .client
            .get_package_manipulation(env)
            .await
            .map(|(bytes, etag)| (bytes, Some(etag))),
    };
    let (bytes, etag) = match fetched {
        Ok(fetched) => fetched,
        Err(ClientError::NotFound(_)) => {
            session.require_env(env).await?;
            return Err(match revision {
                Some(n) => anyhow!(
                    "environment {env}'s package document has no revision {n}: `fuel package --env {env} --revisions` lists them"
                ),
                None => anyhow!(
                    "environment {env} has no package document: upload one with `fuel package --env {env} --upload FILE`"
                ),
            });
        }
        Err(other) => return Err(session.explain(other)),
    };
    let path = dir.join(format!("package_manipulation_{env}.yaml"));
    fuel_atomic::write_file(&path, &bytes, 0o644)
        .with_context(|| format!("writing {}", path.display()))?;
    if json {
        return output::json(&Downloaded {
            path,
            size: bytes.len(),
            etag,
            revision,
        });
    }
    output::emit(&format!("{}\n", path.display()))?;
    if let Some(etag) = etag {
        // On stderr: stdout stays the path alone, for scripts.
        eprintln!("ETag {etag}: upload your edit with --if-match '{etag}' so nobody's change is overwritten");
    }
    Ok(())
}

async fn revisions(session: &Session, env: i64, json: bool) -> anyhow::Result<()> {
    let revisions = session
        .client
        .list_package_revisions(env)
        .await
        .map_err(|e| session.explain_env(e, env))?;
    if json {
        return output::json(&revisions);
    }
    output::table(&revisions_table(&revisions))
}

fn revisions_table(revisions: &[PackageRevision]) -> Table {
    let mut table = Table::new(["revision", "author", "time", "size", "sha256"]);
    for r in revisions {
        table.row([
            r.revision.to_string(),
            r.author.clone(),
            r.created_at.clone(),
            r.size.to_string(),
            if r.deleted {
                "(deleted)".to_string()
            } else {
                r.sha256.chars().take(SHA_PREFIX).collect()
            },
        ]);
    }
    table
}

async fn delete(session: &Session, env: i64, json: bool) -> anyhow::Result<()> {
    match session.client.delete_package_manipulation(env).await {
        Ok(()) => {}
        Err(ClientError::NotFound(_)) => {
            session.require_env(env).await?;
            return Err(anyhow!(
                "environment {env} has no package document to delete"
            ));
        }
        Err(other) => return Err(session.explain(other)),
    }
    if json {
        return output::json(&serde_json::json!({ "cluster_id": env, "deleted": true }));
    }
    output::emit(&format!(
        "deleted environment {env}'s package document (recorded as a revision: `fuel package --env {env} --revisions`)\n"
    ))
}
