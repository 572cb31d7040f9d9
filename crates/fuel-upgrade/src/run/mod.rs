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
pub(crate) mod verify;
