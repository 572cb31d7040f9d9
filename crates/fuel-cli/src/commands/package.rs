//! `fuel package --env N --upload FILE | --download [--dir DIR] | --revisions | --delete`:
//! an environment's package-manipulation document.

use crate::cli::PackageArgs;
use crate::session::Session;

pub async fn run(session: &Session, args: &PackageArgs, _json: bool) -> anyhow::Result<()> {
    session.require_env(args.env).await?;
    anyhow::bail!("package documents are not available on this server yet")
}
