//! The run: what `apply`, `resume` and `rollback` do once the plan is
//! checked — the steps computed from the plan and the live state, run
//! forward action by action (prior state journaled first), undone exactly in
//! reverse, settled after a kill, and the end state verified.

pub(crate) mod context;
pub(crate) mod fault;
pub(crate) mod forward;
pub(crate) mod live;
pub(crate) mod rollback;
pub(crate) mod settle;
pub(crate) mod steps;
pub(crate) mod switch;
pub(crate) mod verify;

use std::future::Future;

/// Awaits every one of `requests` to its end, then answers the first error
/// (or every result). `try_join_all` would drop the others at the first
/// error, and the Docker engine cancels a request whose client went away
/// half-way: a start it had begun is undone by killing the container
/// (exit 143), so one container of a level that cannot start (gone) would
/// leave its sibling, just started, stopped.
pub(crate) async fn each_to_its_end<T, E>(
    requests: impl IntoIterator<Item = impl Future<Output = Result<T, E>>>,
) -> Result<Vec<T>, E> {
    futures_util::future::join_all(requests)
        .await
        .into_iter()
        .collect()
}
