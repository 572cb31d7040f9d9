//! `fuel env [--env N]`: the environments (clusters).

use fuel_api_client::Cluster;
use fuel_cli::Table;

use crate::cli::EnvArgs;
use crate::output;
use crate::session::Session;

pub async fn run(session: &Session, args: &EnvArgs, json: bool) -> anyhow::Result<()> {
    let clusters = match args.env {
        Some(id) => {
            let cluster = session
                .client
                .get_cluster(id)
                .await
                .map_err(|e| session.explain_env(e, id))?;
            if json {
                return output::structured(&cluster);
            }
            vec![cluster]
        }
        None => session
            .client
            .list_clusters()
            .await
            .map_err(|e| session.explain(e))?,
    };
    if json {
        return output::structured(&clusters);
    }
    output::table(&table(&clusters))
}

fn table(clusters: &[Cluster]) -> Table {
    let mut table = Table::new(["id", "name", "release_id"]);
    for c in clusters {
        table.row([c.id.to_string(), c.name.clone(), c.release_id.to_string()]);
    }
    table
}
