//! The granular package tasks and what each requires: `execute_pm` needs
//! `upload_pm`, so asking for `execute_pm` alone runs `upload_pm` first (Nailgun's
//! `--tasks` never pulled required tasks in; here they are added and named).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubTask {
    UploadPm,
    ExecutePm,
}

/// A task name that is not one of [`SubTask::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown task `{0}`: known tasks are upload_pm, execute_pm")]
pub struct UnknownTask(pub String);

impl SubTask {
    /// Every task, in the order they run.
    pub const ALL: [SubTask; 2] = [SubTask::UploadPm, SubTask::ExecutePm];

    pub fn as_str(self) -> &'static str {
        match self {
            SubTask::UploadPm => "upload_pm",
            SubTask::ExecutePm => "execute_pm",
        }
    }

    /// The tasks this one needs to have run before it.
    pub fn requires(self) -> &'static [SubTask] {
        match self {
            SubTask::UploadPm => &[],
            SubTask::ExecutePm => &[SubTask::UploadPm],
        }
    }
}

impl std::fmt::Display for SubTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SubTask {
    type Err = UnknownTask;
    fn from_str(s: &str) -> Result<Self, UnknownTask> {
        SubTask::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTask(s.to_string()))
    }
}

/// The tasks to run for `requested`, in run order, and those added because a
/// requested task requires them.
pub fn expand(requested: &[SubTask]) -> (Vec<SubTask>, Vec<SubTask>) {
    let mut run: Vec<SubTask> = Vec::new();
    let mut added = Vec::new();
    fn visit(
        task: SubTask,
        requested: &[SubTask],
        run: &mut Vec<SubTask>,
        added: &mut Vec<SubTask>,
    ) {
        if run.contains(&task) {
            return;
        }
        for &needed in task.requires() {
            if !requested.contains(&needed) && !added.contains(&needed) {
                added.push(needed);
            }
            visit(needed, requested, run, added);
        }
        run.push(task);
    }
    for &task in requested {
        visit(task, requested, &mut run, &mut added);
    }
    run.sort();
    (run, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execute_pm_alone_pulls_in_upload_pm_and_says_so() {
        let (run, added) = expand(&[SubTask::ExecutePm]);
        assert_eq!(run, vec![SubTask::UploadPm, SubTask::ExecutePm]);
        assert_eq!(added, vec![SubTask::UploadPm]);
    }

    #[test]
    fn both_named_adds_nothing_and_runs_upload_first() {
        let (run, added) = expand(&[SubTask::ExecutePm, SubTask::UploadPm]);
        assert_eq!(run, vec![SubTask::UploadPm, SubTask::ExecutePm]);
        assert!(added.is_empty());
    }

    #[test]
    fn upload_pm_alone_runs_only_itself() {
        assert_eq!(
            expand(&[SubTask::UploadPm]),
            (vec![SubTask::UploadPm], vec![])
        );
    }

    #[test]
    fn unknown_task_names_list_the_known_ones() {
        let err = "deploy".parse::<SubTask>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown task `deploy`: known tasks are upload_pm, execute_pm"
        );
        assert_eq!("execute_pm".parse::<SubTask>().unwrap(), SubTask::ExecutePm);
    }
}
