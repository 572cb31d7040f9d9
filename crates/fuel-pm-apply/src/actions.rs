//! After-actions: services managed through their provider (systemd, upstart,
//! service/sysv, corosync/pacemaker) and `exec` one-liners (`bash -c`, or
//! `sh -c` on a node without bash: the design calls them bash one-liners;
//! the only text that ever reaches a shell, the operator wrote it to be one).
//!
//! Each action's command runs in a process group of its own for at most its
//! `timeout` (the document's, else the applier's `--action-timeout`); a hung
//! one is killed with its group and reported `after_action_timeout`, and
//! stays owed to the next run.
//!
//! An action is either owed (its package changed, now or in a run that did
//! not finish its actions): `running` restarts and checks the service runs,
//! `stopped` stops, `exec` runs. Or it is a state to keep (its package did not
//! change): `running` starts the service only if it is stopped, `stopped`
//! stops it only if it runs, `exec` does nothing.

use std::time::{Duration, Instant};

use fuel_pm::report::{reason, ActionOutcome, ActionResult};
use fuel_pm::{Ensure, Provider};

use crate::command::{on_path, tail, Invocation, SpawnError, TAIL_BYTES};
use crate::state::PendingAction;

/// How long a service may take to report running (or stopped) after the
/// command that started (or stopped) it returned.
const SETTLE: Duration = Duration::from_secs(10);

/// An action of this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub action: PendingAction,
    /// Owed (its package changed) rather than a state to keep.
    pub owed: bool,
}

/// A service verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
        }
    }
}

/// Which pacemaker front end the node has: crmsh, else pcs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterTool {
    Crm,
    Pcs,
}

/// What the node offers, found once per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tools {
    pub service_command: bool,
    pub cluster: ClusterTool,
    /// bash is on PATH: exec one-liners run with it.
    pub bash: bool,
    /// The longest an action may take when the document gives no `timeout`.
    pub default_timeout: Duration,
}

/// `--action-timeout`'s default: five minutes, longer than any service
/// restart should take, short enough that a hung one does not hold the
/// node's run (and its applier lock) for long.
pub const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(300);

impl Tools {
    pub fn probe(default_timeout: Duration) -> Tools {
        Tools {
            bash: on_path("bash"),
            default_timeout,
            service_command: on_path("service"),
            cluster: if on_path("crm") || !on_path("pcs") {
                ClusterTool::Crm
            } else {
                ClusterTool::Pcs
            },
        }
    }
}

/// The command that applies `verb` to a service.
pub fn control(provider: Provider, verb: Verb, name: &str, tools: Tools) -> Invocation {
    let v = verb.as_str();
    match provider {
        Provider::Systemd => Invocation::new("systemctl", [v, name]),
        Provider::Upstart => Invocation::new("initctl", [v, name]),
        Provider::Service if tools.service_command => Invocation::new("service", [name, v]),
        Provider::Service => Invocation::new(&format!("/etc/init.d/{name}"), [v]),
        Provider::Corosync => match tools.cluster {
            ClusterTool::Crm => Invocation::new("crm", ["resource", v, name]),
            ClusterTool::Pcs => {
                let pcs_verb = match verb {
                    Verb::Start => "enable",
                    Verb::Stop => "disable",
                    Verb::Restart => "restart",
                };
                Invocation::new("pcs", ["resource", pcs_verb, name])
            }
        },
        Provider::Exec => exec(name, tools.bash),
    }
}

/// The command that asks whether a service runs, and how to read its answer.
pub fn status(provider: Provider, name: &str, tools: Tools) -> Invocation {
    match provider {
        Provider::Systemd => Invocation::new("systemctl", ["is-active", name]),
        Provider::Upstart => Invocation::new("initctl", ["status", name]),
        Provider::Service if tools.service_command => Invocation::new("service", [name, "status"]),
        Provider::Service => Invocation::new(&format!("/etc/init.d/{name}"), ["status"]),
        Provider::Corosync => match tools.cluster {
            ClusterTool::Crm => Invocation::new("crm", ["resource", "status", name]),
            ClusterTool::Pcs => Invocation::new("crm_resource", ["--resource", name, "--locate"]),
        },
        Provider::Exec => unreachable!("exec has no status"),
    }
}

/// Reads a status answer: systemd and LSB scripts by exit code; upstart's
/// "start/running"; pacemaker's "is running on:" (not "is NOT running").
fn says_running(provider: Provider, code: Option<i32>, output: &str) -> bool {
    match provider {
        Provider::Systemd | Provider::Service => code == Some(0),
        Provider::Upstart => output.contains("start/running"),
        Provider::Corosync => output.contains("is running") && !output.contains("NOT running"),
        Provider::Exec => false,
    }
}

/// A one-liner as one argument of `bash -c` (`sh -c` without bash).
pub fn exec(one_liner: &str, bash: bool) -> Invocation {
    Invocation::new(if bash { "bash" } else { "sh" }, ["-c", one_liner])
}

fn is_running(provider: Provider, name: &str, tools: Tools) -> Result<bool, SpawnError> {
    let (code, output) = status(provider, name, tools).run_merged()?;
    Ok(says_running(provider, code, &output))
}

/// What this action must do now, if anything (`None`: the service is
/// already as wanted, or an unchanged package's `exec`).
pub fn verb_for(planned: &Planned, tools: Tools) -> Result<Option<Verb>, SpawnError> {
    let a = &planned.action;
    if a.provider == Provider::Exec {
        return Ok(planned.owed.then_some(Verb::Restart));
    }
    Ok(match (a.ensure, planned.owed) {
        (Ensure::Running, true) => Some(Verb::Restart),
        (Ensure::Stopped, true) => Some(Verb::Stop),
        (Ensure::Running, false) => {
            (!is_running(a.provider, &a.name, tools)?).then_some(Verb::Start)
        }
        (Ensure::Stopped, false) => is_running(a.provider, &a.name, tools)?.then_some(Verb::Stop),
    })
}

fn result(
    action: &PendingAction,
    outcome: ActionOutcome,
    exit_code: Option<i32>,
    output: &str,
) -> ActionResult {
    ActionResult {
        package: action.package.clone(),
        provider: action.provider.as_str().to_string(),
        name: action.name.clone(),
        ensure: action.ensure.as_str().to_string(),
        result: outcome,
        exit_code,
        output_tail: tail(output, TAIL_BYTES),
        reason: None,
    }
}

/// Check mode: what would run (`None` when nothing would).
pub fn simulate(planned: &Planned, tools: Tools) -> Option<ActionResult> {
    let a = &planned.action;
    match verb_for(planned, tools) {
        Ok(Some(verb)) => {
            let line = control(a.provider, verb, &a.name, tools).line();
            Some(result(
                a,
                ActionOutcome::Skipped,
                None,
                &format!("would run: {line}"),
            ))
        }
        Ok(None) => None,
        Err(e) => Some(result(
            a,
            ActionOutcome::Skipped,
            None,
            &format!("would run it; its state is unknown: {e}"),
        )),
    }
}

/// Performs the action (`None` when nothing had to be done).
pub fn perform(planned: &Planned, tools: Tools) -> Option<ActionResult> {
    let a = &planned.action;
    let verb = match verb_for(planned, tools) {
        Ok(Some(verb)) => verb,
        Ok(None) => return None,
        Err(e) => return Some(result(a, ActionOutcome::Failed, None, &e.to_string())),
    };
    let mut invocation = control(a.provider, verb, &a.name, tools);
    // upstart refuses to restart a job that is not running: start it instead.
    if a.provider == Provider::Upstart
        && verb == Verb::Restart
        && matches!(is_running(a.provider, &a.name, tools), Ok(false))
    {
        invocation = control(a.provider, Verb::Start, &a.name, tools);
    }
    let limit = a.timeout.map_or(tools.default_timeout, Duration::from_secs);
    let ran = match invocation.run_merged_within(limit) {
        Ok(ran) => ran,
        Err(e) => return Some(result(a, ActionOutcome::Failed, None, &e.to_string())),
    };
    let (code, mut output) = (ran.code, ran.output);
    if ran.timed_out {
        output.push_str(&format!(
            "\n{} did not finish within {} s: killed with its process group; still owed to the next run",
            invocation.line(),
            limit.as_secs_f64()
        ));
        return Some(ActionResult {
            reason: Some(reason::AFTER_ACTION_TIMEOUT.to_string()),
            ..result(a, ActionOutcome::Failed, None, &output)
        });
    }
    if code != Some(0) {
        return Some(result(a, ActionOutcome::Failed, code, &output));
    }
    if a.provider != Provider::Exec {
        let want_running = verb != Verb::Stop;
        if let Err(said) = settle(a.provider, &a.name, want_running, tools) {
            output.push_str(&said);
            return Some(result(a, ActionOutcome::Failed, code, &output));
        }
    }
    Some(result(a, ActionOutcome::Done, code, &output))
}

/// Waits until the service's state is the wanted one, or says what it is.
fn settle(provider: Provider, name: &str, want_running: bool, tools: Tools) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let (code, output) = status(provider, name, tools)
            .run_merged()
            .map_err(|e| format!("\n{e}"))?;
        if says_running(provider, code, &output) == want_running {
            return Ok(());
        }
        if started.elapsed() >= SETTLE {
            let wanted = if want_running { "running" } else { "stopped" };
            return Err(format!(
                "\n{name} is not {wanted} {} s after the command; {} says: {}",
                SETTLE.as_secs(),
                status(provider, name, tools).line(),
                output.trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `systemctl daemon-reload`, once per run before the first owed systemd
/// action: the test packages (like many) carry no scriptlet that would do it.
pub fn daemon_reload() -> Option<String> {
    match Invocation::new("systemctl", ["daemon-reload"]).run_merged() {
        Ok((Some(0), _)) => None,
        Ok((code, output)) => Some(format!(
            "systemctl daemon-reload failed ({code:?}): {output}"
        )),
        Err(e) => Some(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRM: Tools = Tools {
        service_command: true,
        cluster: ClusterTool::Crm,
        bash: true,
        default_timeout: DEFAULT_ACTION_TIMEOUT,
    };
    const BARE: Tools = Tools {
        service_command: false,
        cluster: ClusterTool::Pcs,
        bash: false,
        default_timeout: DEFAULT_ACTION_TIMEOUT,
    };

    fn line(i: Invocation) -> String {
        i.line()
    }

    #[test]
    fn each_provider_has_its_own_commands() {
        assert_eq!(
            line(control(Provider::Systemd, Verb::Restart, "d", CRM)),
            "systemctl restart d"
        );
        assert_eq!(
            line(status(Provider::Systemd, "d", CRM)),
            "systemctl is-active d"
        );
        assert_eq!(
            line(control(Provider::Upstart, Verb::Stop, "apache2", CRM)),
            "initctl stop apache2"
        );
        assert_eq!(
            line(control(Provider::Service, Verb::Start, "ntp", CRM)),
            "service ntp start"
        );
        assert_eq!(
            line(control(Provider::Service, Verb::Start, "ntp", BARE)),
            "/etc/init.d/ntp start"
        );
        assert_eq!(
            line(control(Provider::Corosync, Verb::Restart, "p_mysql", CRM)),
            "crm resource restart p_mysql"
        );
        assert_eq!(
            line(control(Provider::Corosync, Verb::Start, "p_mysql", BARE)),
            "pcs resource enable p_mysql"
        );
        assert_eq!(
            line(status(Provider::Corosync, "p_mysql", CRM)),
            "crm resource status p_mysql"
        );
    }

    #[test]
    fn exec_runs_the_one_liner_through_bash_or_sh_without_it() {
        let i = exec("wget -V | head -1", true);
        assert_eq!(i.program, "bash");
        assert_eq!(i.args, ["-c", "wget -V | head -1"]);
        assert_eq!(exec("true", false).program, "sh");
    }

    #[test]
    fn a_hung_action_is_killed_at_its_timeout_and_reported() {
        let planned = Planned {
            action: PendingAction {
                package: "p".into(),
                provider: Provider::Exec,
                ensure: Ensure::Running,
                name: "echo hanging; sleep 60".into(),
                timeout: Some(1),
            },
            owed: true,
        };
        let started = Instant::now();
        let r = perform(&planned, CRM).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(r.result, ActionOutcome::Failed);
        assert_eq!(r.reason.as_deref(), Some("after_action_timeout"));
        assert!(r.output_tail.starts_with("hanging\n"), "{}", r.output_tail);
        assert!(r.output_tail.contains("within 1 s"), "{}", r.output_tail);
    }

    #[test]
    fn status_answers_are_read_per_provider() {
        assert!(says_running(Provider::Systemd, Some(0), "active\n"));
        assert!(!says_running(Provider::Systemd, Some(3), "inactive\n"));
        assert!(says_running(
            Provider::Upstart,
            Some(0),
            "apache2 start/running, process 123\n"
        ));
        assert!(!says_running(
            Provider::Upstart,
            Some(0),
            "apache2 stop/waiting\n"
        ));
        assert!(says_running(
            Provider::Corosync,
            Some(0),
            "resource p_mysql is running on: node-1\n"
        ));
        assert!(!says_running(
            Provider::Corosync,
            Some(0),
            "resource p_mysql is NOT running\n"
        ));
    }

    #[test]
    fn owed_actions_restart_or_stop_and_unchanged_exec_does_nothing() {
        let planned = |provider, ensure, owed| Planned {
            action: PendingAction {
                package: "p".into(),
                provider,
                ensure,
                name: "x".into(),
                timeout: None,
            },
            owed,
        };
        assert_eq!(
            verb_for(&planned(Provider::Systemd, Ensure::Running, true), CRM).unwrap(),
            Some(Verb::Restart)
        );
        assert_eq!(
            verb_for(&planned(Provider::Systemd, Ensure::Stopped, true), CRM).unwrap(),
            Some(Verb::Stop)
        );
        assert_eq!(
            verb_for(&planned(Provider::Exec, Ensure::Running, true), CRM).unwrap(),
            Some(Verb::Restart)
        );
        assert_eq!(
            verb_for(&planned(Provider::Exec, Ensure::Running, false), CRM).unwrap(),
            None
        );
    }

    #[test]
    fn a_failing_exec_is_reported_with_its_exit_code_and_output() {
        let planned = Planned {
            action: PendingAction {
                package: "p".into(),
                provider: Provider::Exec,
                ensure: Ensure::Running,
                name: "echo checking; echo broken >&2; exit 7".into(),
                timeout: None,
            },
            owed: true,
        };
        let r = perform(&planned, CRM).unwrap();
        assert_eq!(r.result, ActionOutcome::Failed);
        assert_eq!(r.exit_code, Some(7));
        assert_eq!(r.output_tail, "checking\nbroken");
        assert_eq!(r.provider, "exec");
    }
}
