//! Rollouts that stop: which nodes run together (batches, Ansible's `serial`
//! semantics), in which order (explicit, or controllers one at a time), and
//! when a rollout stops (`max_failures`, checked when a batch ends). Pure
//! planning, no I/O: fuel-api's executor asks it what to run next.

use std::fmt;

/// Why a node that was never started is `skipped`: the rollout stopped
/// before its batch (stored as the sub-task's reason code).
pub const ROLLOUT_STOPPED: &str = "rollout_stopped";

/// Node roles whose nodes run pacemaker (corosync) resources: with
/// `order_by_role` each of them gets a batch of its own, before the others,
/// so two of them never change at once.
pub const PACEMAKER_ROLES: &[&str] = &["controller", "primary-controller"];

/// One batch size: a node count or a share of the task's nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    Count(usize),
    /// Percent of the task's nodes, rounded down, at least one node.
    Percent(u8),
}

/// `--batch 1,10,25%`: the sizes of successive batches, the last repeating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSpec(Vec<BatchSize>);

/// `--max-failures N|N%`: the rollout stops once more nodes than this failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxFailures {
    Count(usize),
    /// Percent of the task's nodes.
    Percent(u8),
}

/// A batch or failure limit that does not parse; the text says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RolloutError(String);

fn parse_part(part: &str, what: &str, zero_ok: bool) -> Result<(u64, bool), RolloutError> {
    let (digits, percent) = match part.strip_suffix('%') {
        Some(digits) => (digits, true),
        None => (part, false),
    };
    let example = if what == "batch" {
        "e.g. 1,10,25%"
    } else {
        "e.g. 2 or 10%"
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
        return Err(RolloutError(format!(
            "`{part}` is not a {what} size: a number of nodes or a percentage ({example})"
        )));
    }
    let value: u64 = digits.parse().expect("checked digits");
    if percent && !(1..=100).contains(&value) {
        return Err(RolloutError(format!(
            "`{part}`: a percentage is between 1% and 100%"
        )));
    }
    if value == 0 && !zero_ok {
        return Err(RolloutError(format!(
            "`{part}`: a batch holds at least one node ({example})"
        )));
    }
    Ok((value, percent))
}

impl std::str::FromStr for BatchSpec {
    type Err = RolloutError;
    fn from_str(text: &str) -> Result<BatchSpec, RolloutError> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() > 100 {
            return Err(RolloutError("at most 100 batch sizes".to_string()));
        }
        parts
            .into_iter()
            .map(|part| {
                let (value, percent) = parse_part(part, "batch", false)?;
                Ok(if percent {
                    BatchSize::Percent(value as u8)
                } else {
                    BatchSize::Count(value as usize)
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(BatchSpec)
    }
}

impl fmt::Display for BatchSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|size| match size {
                BatchSize::Count(n) => n.to_string(),
                BatchSize::Percent(p) => format!("{p}%"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl std::str::FromStr for MaxFailures {
    type Err = RolloutError;
    fn from_str(text: &str) -> Result<MaxFailures, RolloutError> {
        let (value, percent) = parse_part(text.trim(), "failure", true)?;
        Ok(if percent {
            MaxFailures::Percent(value as u8)
        } else {
            MaxFailures::Count(value as usize)
        })
    }
}

impl fmt::Display for MaxFailures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxFailures::Count(n) => write!(f, "{n}"),
            MaxFailures::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl MaxFailures {
    /// Whether `failed` of `total` nodes is more than this allows.
    pub fn exceeded(self, failed: usize, total: usize) -> bool {
        match self {
            MaxFailures::Count(n) => failed > n,
            // failed > total × p / 100, without rounding.
            MaxFailures::Percent(p) => failed * 100 > total * usize::from(p),
        }
    }
}

/// A node as the planner sees it: its id and roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanNode<'a> {
    pub id: i64,
    pub roles: &'a [String],
}

/// How to run a task's nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollout {
    /// `None`: every node in one batch (today's behaviour).
    pub batch: Option<BatchSpec>,
    /// `None`: never stop early.
    pub max_failures: Option<MaxFailures>,
    /// Nodes with a [`PACEMAKER_ROLES`] role first, one per batch.
    pub order_by_role: bool,
}

impl Rollout {
    /// The batches, as lists of node ids, in the order they run. `nodes` is in
    /// the requested (explicit) order; with `order_by_role` the pacemaker
    /// nodes come first, each alone, and the batch sizes apply to the rest.
    pub fn plan(&self, nodes: &[PlanNode<'_>]) -> Vec<Vec<i64>> {
        let pacemaker = |n: &PlanNode<'_>| {
            n.roles
                .iter()
                .any(|role| PACEMAKER_ROLES.contains(&role.as_str()))
        };
        let (mut batches, rest): (Vec<Vec<i64>>, Vec<i64>) = if self.order_by_role {
            (
                nodes
                    .iter()
                    .filter(|n| pacemaker(n))
                    .map(|n| vec![n.id])
                    .collect(),
                nodes
                    .iter()
                    .filter(|n| !pacemaker(n))
                    .map(|n| n.id)
                    .collect(),
            )
        } else {
            (Vec::new(), nodes.iter().map(|n| n.id).collect())
        };
        let sizes = match &self.batch {
            Some(BatchSpec(sizes)) => sizes.as_slice(),
            None => {
                if !rest.is_empty() {
                    batches.push(rest);
                }
                return batches;
            }
        };
        let total = rest.len();
        let mut remaining = rest.as_slice();
        let mut index = 0;
        while !remaining.is_empty() {
            let size = match sizes[index.min(sizes.len() - 1)] {
                BatchSize::Count(n) => n,
                // Ansible's serial: int(total × p / 100), at least one.
                BatchSize::Percent(p) => (total * usize::from(p) / 100).max(1),
            };
            let take = size.min(remaining.len());
            batches.push(remaining[..take].to_vec());
            remaining = &remaining[take..];
            index += 1;
        }
        batches
    }

    /// Checked when a batch ends: whether to stop before the next one, given
    /// how many of the task's `total` nodes failed so far.
    pub fn should_stop(&self, failed: usize, total: usize) -> bool {
        self.max_failures
            .is_some_and(|max| max.exceeded(failed, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(ids: std::ops::RangeInclusive<i64>) -> Vec<(i64, Vec<String>)> {
        ids.map(|id| (id, Vec::new())).collect()
    }

    fn plan(rollout: &Rollout, nodes: &[(i64, Vec<String>)]) -> Vec<Vec<i64>> {
        let plan_nodes: Vec<PlanNode<'_>> = nodes
            .iter()
            .map(|(id, roles)| PlanNode { id: *id, roles })
            .collect();
        rollout.plan(&plan_nodes)
    }

    fn batch(text: &str) -> Rollout {
        Rollout {
            batch: Some(text.parse().unwrap()),
            ..Rollout::default()
        }
    }

    #[test]
    fn without_a_batch_every_node_runs_in_one_batch() {
        assert_eq!(
            plan(&Rollout::default(), &nodes(1..=5)),
            vec![vec![1, 2, 3, 4, 5]]
        );
        assert!(plan(&Rollout::default(), &[]).is_empty());
    }

    #[test]
    fn the_last_batch_size_repeats_like_ansible_serial() {
        assert_eq!(
            plan(&batch("1,3"), &nodes(1..=8)),
            vec![vec![1], vec![2, 3, 4], vec![5, 6, 7], vec![8]]
        );
    }

    #[test]
    fn percentages_are_of_the_task_rounded_down_and_at_least_one() {
        // 25% of 10 is 2.5 → 2.
        let batches = plan(&batch("1,10,25%"), &nodes(1..=40));
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 10, 10, 10, 9]);
        assert_eq!(batches.concat(), (1..=40).collect::<Vec<_>>());
        let sizes: Vec<usize> = plan(&batch("10%"), &nodes(1..=3))
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, vec![1, 1, 1]);
    }

    #[test]
    fn the_requested_order_is_kept() {
        let explicit = vec![(5, vec![]), (2, vec![]), (9, vec![])];
        assert_eq!(plan(&batch("2"), &explicit), vec![vec![5, 2], vec![9]]);
    }

    #[test]
    fn controllers_run_first_and_one_at_a_time_with_order_by_role() {
        let controller = vec!["controller".to_string()];
        let compute = vec!["compute".to_string()];
        let fleet = vec![
            (1, compute.clone()),
            (2, controller.clone()),
            (3, compute.clone()),
            (
                4,
                vec!["primary-controller".to_string(), "mongo".to_string()],
            ),
            (5, compute.clone()),
        ];
        let rollout = Rollout {
            order_by_role: true,
            ..Rollout::default()
        };
        assert_eq!(
            plan(&rollout, &fleet),
            vec![vec![2], vec![4], vec![1, 3, 5]]
        );
        let rollout = Rollout {
            order_by_role: true,
            ..batch("2")
        };
        assert_eq!(
            plan(&rollout, &fleet),
            vec![vec![2], vec![4], vec![1, 3], vec![5]]
        );
        // Without the flag, controllers are batched like any node.
        assert_eq!(plan(&batch("2"), &fleet)[0], vec![1, 2]);
    }

    #[test]
    fn max_failures_counts_more_than_the_limit() {
        let stop = |max: &str, failed, total| {
            Rollout {
                max_failures: Some(max.parse().unwrap()),
                ..Rollout::default()
            }
            .should_stop(failed, total)
        };
        assert!(!stop("1", 1, 10));
        assert!(stop("1", 2, 10));
        assert!(stop("0", 1, 10));
        assert!(!stop("0", 0, 10));
        // 10% of 25 is 2.5: two failures are within it, three are not.
        assert!(!stop("10%", 2, 25));
        assert!(stop("10%", 3, 25));
        assert!(!Rollout::default().should_stop(100, 100));
    }

    #[test]
    fn every_node_failing_with_batch_2_5_and_max_failures_1_stops_after_two() {
        let rollout = Rollout {
            max_failures: Some(MaxFailures::Count(1)),
            ..batch("2,5")
        };
        let batches = plan(&rollout, &nodes(1..=12));
        assert_eq!(batches[0], vec![1, 2]);
        assert!(rollout.should_stop(batches[0].len(), 12));
    }

    #[test]
    fn bad_sizes_say_what_to_write() {
        for (text, needle) in [
            ("", "not a batch size"),
            ("1,,2", "not a batch size"),
            ("0", "at least one node"),
            ("x", "e.g. 1,10,25%"),
            ("150%", "between 1% and 100%"),
            ("-1", "not a batch size"),
        ] {
            let err = text.parse::<BatchSpec>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        assert_eq!("0".parse::<MaxFailures>().unwrap(), MaxFailures::Count(0));
        assert!("ten"
            .parse::<MaxFailures>()
            .unwrap_err()
            .to_string()
            .contains("e.g. 2 or 10%"));
        assert_eq!(
            " 1, 10 ,25%".parse::<BatchSpec>().unwrap().to_string(),
            "1,10,25%"
        );
    }
}
