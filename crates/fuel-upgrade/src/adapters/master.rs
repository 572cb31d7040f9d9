//! The master node's REST API, through its typed client: running tasks for
//! the preflight, releases for the fixtures.

use fuel_api_client::{Client, ClientError, NewRelease, Release, TaskFilter, TaskStatus};

#[derive(Clone)]
pub struct Master {
    client: Client,
}

impl Master {
    pub fn new(url: &str, token: Option<&str>) -> Result<Master, ClientError> {
        let client = Client::new(url)?;
        Ok(Master {
            client: match token {
                Some(t) => client.with_token(t),
                None => client,
            },
        })
    }

    pub fn url(&self) -> &str {
        self.client.base_url()
    }

    /// Names of the tasks running on the master.
    pub async fn running_tasks(&self) -> Result<Vec<String>, ClientError> {
        let filter = TaskFilter {
            status: Some(TaskStatus::Running),
            cluster_id: None,
        };
        Ok(self
            .client
            .list_tasks(&filter)
            .await?
            .into_iter()
            .map(|t| format!("{} (id {})", t.name, t.id))
            .collect())
    }

    pub async fn find_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<Release>, ClientError> {
        Ok(self
            .client
            .list_releases()
            .await?
            .into_iter()
            .find(|r| r.name == name && r.version == version))
    }

    /// Creates the release; a concurrent or earlier creation (409) yields the existing one.
    pub async fn create_release(&self, release: &NewRelease) -> Result<Release, ClientError> {
        match self.client.create_release(release).await {
            Err(ClientError::Conflict(e)) => {
                match self.find_release(&release.name, &release.version).await? {
                    Some(r) => Ok(r),
                    None => Err(ClientError::Conflict(e)),
                }
            }
            other => other,
        }
    }

    /// Deletes a release; already gone is fine.
    pub async fn delete_release(&self, id: i64) -> Result<(), ClientError> {
        match self.client.delete_release(id).await {
            Err(ClientError::NotFound(_)) => Ok(()),
            other => other,
        }
    }
}
