//! Settling what a killed run left in flight. Its last requests may still
//! be served after its death: Docker finishes a stop or a create whose
//! client is gone, fuel-api a release registration. Undo and redo act on
//! the state the engine settles on, not on the first answer they get.

use std::future::Future;
use std::time::Duration;

use crate::adapters::engine::{Engine, EngineError};
use crate::state::journal::{now_ms, ActionRecord, Progress};

/// How long after an action set out a request it sent may still be served.
/// Docker serves a create in tens of milliseconds; the margin covers a
/// loaded machine.
pub(crate) const IN_FLIGHT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(50);

/// Until when (ms since the epoch) a request of the action may still
/// arrive: never for a `done` action (every request was answered), the
/// in-flight window after its start for a `started` one or a `failed` one
/// (one request failed and the others were abandoned).
pub(crate) fn window_end(record: &ActionRecord) -> u64 {
    match record.status {
        Progress::Started | Progress::Failed => {
            record.started_unix_ms.unwrap_or_else(now_ms) + IN_FLIGHT.as_millis() as u64
        }
        Progress::Pending | Progress::Done | Progress::Undone => 0,
    }
}

/// Runs `once`, and again every 50 ms until `until` (ms since the epoch) has
/// passed; the last run begins after it, so whatever arrived late is acted on.
pub(crate) async fn repeat_until<F, Fut, E>(until: u64, mut once: F) -> Result<(), E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    loop {
        let began = now_ms();
        once().await?;
        if began >= until {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// After a create was refused because the name is taken: waits (within the
/// in-flight window) for the container a killed run's create is bringing.
/// True when it exists.
pub(crate) async fn created_by_other_request(
    engine: &Engine,
    name: &str,
) -> Result<bool, EngineError> {
    let until = now_ms() + IN_FLIGHT.as_millis() as u64;
    loop {
        if engine.inspect(name).await?.is_some() {
            return Ok(true);
        }
        if now_ms() >= until {
            return Ok(false);
        }
        tokio::time::sleep(POLL).await;
    }
}
