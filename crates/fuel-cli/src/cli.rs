//! The command line of `fuel`, shaped like python-fuelclient's
//! (`fuel env`, `fuel node --node 2,3 --tasks …`, `fuel package --env 1
//! --upload FILE`) so Fuel operators' habits carry over.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, ArgGroup, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use fuel_cli::NodeSelection;
use fuel_man::{exit_status_help, ExitStatus};
use fuel_node::{HostKey, PackageManager, OS_FAMILIES};

const AFTER_HELP: &str = "\
Connection (each value from the first place that sets it):
  server:   --server, FUEL_API_URL; SERVER_ADDRESS and SERVER_PORT from the environment;
            SERVER_ADDRESS and SERVER_PORT of the settings file; http://127.0.0.1:8000
  token:    --token, FUEL_API_TOKEN (then no login)
  user:     FUEL_USERNAME, OS_USERNAME (environment), OS_USERNAME of the settings file
  password: FUEL_PASSWORD, OS_PASSWORD (environment), OS_PASSWORD of the settings file
            (which must then be mode 0600). Never a command-line option: --password and
            --os-password are refused.
  settings file: $FUELCLIENT_CUSTOM_SETTINGS, else $XDG_CONFIG_HOME/fuel/fuel_client.yaml
            (default ~/.config/fuel/fuel_client.yaml), python-fuelclient's keys; its other
            keys (HTTP_TIMEOUT, KEYSTONE_PORT…) are ignored with a warning naming them, and
            KEYSTONE_USER/KEYSTONE_PASS count only where OS_USERNAME/OS_PASSWORD are unset.

python-fuelclient habits: global options before the command (`fuel --env 1 node`,
`fuel --env-id 1 node --node 2,3 --tasks execute_pm`), `list` as a word (`fuel env list`,
`fuel node list --env 1`), --json or --yaml output, --noop for --check.";

/// `fuel`'s exit statuses: the one definition, listed by `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    Failed,
    Usage,
    Drift,
}

impl ExitStatus for Exit {
    const ALL: &'static [Exit] = &[Exit::Ok, Exit::Failed, Exit::Usage, Exit::Drift];

    fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            // clap's own code for a command line it cannot parse.
            Exit::Usage => 2,
            Exit::Drift => 3,
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Failed => "failed (the message says what to do)",
            Exit::Usage => "bad command line",
            Exit::Drift => "drift found (fuel package --env N --drift)",
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(exit.code())
    }
}

fn after_help() -> String {
    format!("{AFTER_HELP}\n\n{}", exit_status_help::<Exit>())
}

/// The Fuel master's command line: environments, nodes, package documents, tasks.
#[derive(Debug, Parser)]
#[command(name = "fuel", version, after_help = after_help(), propagate_version = true)]
pub struct Cli {
    /// URL of the Fuel API.
    #[arg(long, env = "FUEL_API_URL", global = true, value_name = "URL")]
    pub server: Option<String>,
    /// API token (sent as X-Auth-Token) instead of logging in.
    #[arg(
        long,
        env = "FUEL_API_TOKEN",
        hide_env_values = true,
        global = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// Print JSON (for scripts) instead of tables.
    #[arg(long, global = true, conflicts_with = "yaml")]
    pub json: bool,
    /// Print YAML (for scripts) instead of tables.
    #[arg(long, global = true)]
    pub yaml: bool,
    /// The environment, before the command as fuelclient took it (`fuel --env 1 node`).
    #[arg(long = "env", id = "global_env", alias = "env-id", value_name = "ID")]
    pub env: Option<i64>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List environments (clusters), or show one with --env.
    Env(EnvArgs),
    /// List nodes, register one (`fuel node create`), or run tasks on some (`--node 2,3 --tasks execute_pm`).
    Node(NodeArgs),
    /// An environment's package-manipulation document (--upload, --download, --revisions, --delete), and what its nodes run (--inventory, --drift).
    Package(PackageArgs),
    /// List tasks, or show one with --task-id.
    Task(TaskArgs),
    /// Print the shell completion script: `fuel completion bash > /etc/bash_completion.d/fuel`.
    Completion {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Write the man pages (fuel.1, fuel-node.1, …) into a directory.
    #[command(hide = true)]
    Man {
        /// Directory to write the pages into.
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EnvArgs {
    #[command(subcommand)]
    pub command: Option<EnvCommand>,
    /// Show only this environment.
    #[arg(long, alias = "env-id", value_name = "ID")]
    pub env: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// The same as `fuel env` (fuelclient's newer spelling).
    List(ListArgs),
}

/// `fuel env list`, `fuel node list`: the listing, with its filter.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this environment (its nodes, for `fuel node list`).
    #[arg(long, alias = "env-id", value_name = "ID")]
    pub env: Option<i64>,
}

/// `fuel node` lists; `fuel node create …` registers; `fuel node --node 2,3
/// --tasks execute_pm` runs tasks (flags on `node` itself, as fuelclient had).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NodeArgs {
    #[command(subcommand)]
    pub command: Option<NodeCommand>,
    /// Only the nodes of this environment.
    #[arg(long, alias = "env-id", value_name = "ID")]
    pub env: Option<i64>,
    /// Nodes to show or act on: ids, comma lists, ranges, repeated
    /// (`--node 2,3`, `--node 2-5`, `--node 2 --node 3`, `--node 2 3`).
    #[arg(
        long = "node",
        alias = "node-id",
        value_name = "IDS",
        num_args = 1..,
        action = ArgAction::Append
    )]
    pub nodes: Vec<NodeSelection>,
    /// Run these tasks on the selected nodes (comma list), e.g. `--tasks execute_pm`.
    #[arg(
        long,
        value_name = "TASKS",
        value_delimiter = ',',
        num_args = 1..,
        requires = "nodes",
        value_parser = task_name
    )]
    pub tasks: Vec<String>,
    /// With --tasks: run the applier in check mode on every node (report what
    /// would change, change nothing). --noop is fuelclient's name for it.
    #[arg(long, alias = "noop", requires = "tasks")]
    pub check: bool,
    /// With --tasks: print the started task and return; follow it with
    /// `fuel task --task-id N`.
    #[arg(long, requires = "tasks")]
    pub no_wait: bool,
    /// With --tasks: run the nodes in successive batches of these sizes
    /// (numbers or percentages, the last repeating, as Ansible's `serial`),
    /// each batch ending before the next starts, e.g. `--batch 1,10,25%`.
    #[arg(long, value_name = "SIZES", requires = "tasks", value_parser = parse_batch)]
    pub batch: Option<String>,
    /// With --tasks: stop the rollout once more than N (or N% of the) nodes
    /// failed, checked when a batch ends; nodes not started are skipped.
    #[arg(long, value_name = "N|N%", requires = "tasks", value_parser = parse_max_failures)]
    pub max_failures: Option<String>,
    /// With --tasks: controller nodes (pacemaker) first, each in a batch of
    /// its own, so no two change at once.
    #[arg(long, requires = "tasks")]
    pub order_by_role: bool,
    /// With --tasks: these nodes first, in this order (the rest after them,
    /// by id), e.g. `--order 7,3`.
    #[arg(long, value_name = "IDS", value_delimiter = ',', requires = "tasks")]
    pub order: Vec<i64>,
    /// With --tasks: the final table shows only the nodes that did not succeed.
    #[arg(long, requires = "tasks")]
    pub failed: bool,
}

impl Cli {
    /// Parses the command line and folds fuelclient's spellings into one
    /// form: the global `--env` into the command's, `list` into the listing.
    pub fn parse_normalized() -> Cli {
        Cli::parse().normalized().unwrap_or_else(|e| e.exit())
    }

    pub fn format(&self) -> crate::output::Format {
        crate::output::Format::from_flags(self.json, self.yaml)
    }

    pub fn normalized(mut self) -> Result<Cli, clap::Error> {
        if matches!(
            self.command,
            Command::Completion { .. } | Command::Man { .. }
        ) {
            return Ok(self);
        }
        let global = self.env.take();
        let own: &mut Option<i64> = match &mut self.command {
            Command::Env(args) => {
                if let Some(EnvCommand::List(list)) = args.command.take() {
                    args.env = list.env;
                }
                &mut args.env
            }
            Command::Node(args) => {
                if matches!(args.command, Some(NodeCommand::List(_))) {
                    if let Some(NodeCommand::List(list)) = args.command.take() {
                        args.env = list.env;
                    }
                }
                match &mut args.command {
                    Some(NodeCommand::Create(create)) => &mut create.env,
                    _ => &mut args.env,
                }
            }
            Command::Package(args) => &mut args.env,
            Command::Task(args) => &mut args.env,
            Command::Completion { .. } | Command::Man { .. } => return Ok(self),
        };
        match (global, *own) {
            (Some(global), Some(local)) if global != local => {
                return Err(Cli::command().error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "--env {global} before the command and --env {local} after it: give one"
                    ),
                ))
            }
            (Some(global), _) => *own = Some(global),
            _ => {}
        }
        if let Command::Package(PackageArgs { env: None, .. }) = &self.command {
            return Err(Cli::command().error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "fuel package needs the environment: --env ID (e.g. fuel package --env 1 --download)",
            ));
        }
        Ok(self)
    }
}

impl NodeArgs {
    /// Every `--node` value as one selection.
    pub fn selection(&self) -> Result<NodeSelection, fuel_cli::SelectionError> {
        self.nodes
            .iter()
            .cloned()
            .try_fold(NodeSelection::default(), NodeSelection::union)
    }
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// The same as `fuel node [--env N]` (fuelclient's newer spelling).
    List(ListArgs),
    /// Register a node: without --host-key, its ed25519 host key is fetched with
    /// ssh-keyscan and its fingerprint shown (compare it with the node's console).
    Create(NodeCreateArgs),
}

#[derive(Debug, Args)]
pub struct NodeCreateArgs {
    /// The node's host name.
    #[arg(long)]
    pub hostname: String,
    /// The address the master reaches the node's sshd at.
    #[arg(long, value_name = "ADDRESS")]
    pub ip: IpAddr,
    /// The node's SSH port.
    #[arg(long, default_value_t = 22, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// The node's OS family: ubuntu (apt) or centos (yum/dnf).
    #[arg(long, value_parser = PossibleValuesParser::new(OS_FAMILIES)
        .try_map(|family| PackageManager::from_os_family(&family)))]
    pub os: PackageManager,
    /// The environment the node belongs to.
    #[arg(long, alias = "env-id", value_name = "ID")]
    pub env: Option<i64>,
    /// The node's SSH host public key ('ssh-ed25519 AAAA…', from
    /// /etc/ssh/ssh_host_ed25519_key.pub on its console) instead of ssh-keyscan.
    #[arg(long, value_name = "KEY", value_parser = HostKey::parse)]
    pub host_key: Option<HostKey>,
    /// Accept a loopback, unspecified, multicast or broadcast --ip (a node
    /// at 127.0.0.1 is the master itself: refused without this).
    #[arg(long)]
    pub allow_local_address: bool,
    /// The node's roles (comma list or repeated), e.g. `--role controller`.
    #[arg(long = "role", value_name = "ROLE", value_delimiter = ',', action = ArgAction::Append, value_parser = role_name)]
    pub roles: Vec<String>,
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("action")
        .required(true)
        .args(["upload", "download", "revisions", "delete", "inventory", "drift"])
))]
#[command(group(ArgGroup::new("listing").multiple(false).args(["inventory", "drift"])))]
pub struct PackageArgs {
    /// The environment (required, here or before the command: `fuel --env 1 package …`).
    #[arg(long, alias = "env-id", value_name = "ID")]
    pub env: Option<i64>,
    /// Check FILE locally, then store it as the environment's document (a new revision).
    #[arg(long, value_name = "FILE")]
    pub upload: Option<PathBuf>,
    /// With --upload: store only if the current document is still this ETag
    /// (from --download or --revisions), so nobody's change is overwritten.
    #[arg(long, value_name = "ETAG", requires = "upload", conflicts_with_all = ["download", "revisions", "delete"])]
    pub if_match: Option<String>,
    /// Write the document, byte for byte, to DIR/package_manipulation_ENV.yaml.
    #[arg(long)]
    pub download: bool,
    /// With --download: the directory to write to (default: the current one).
    #[arg(long, value_name = "DIR", requires = "download", conflicts_with_all = ["upload", "revisions", "delete"])]
    pub dir: Option<PathBuf>,
    /// With --download: that revision instead of the current document.
    #[arg(long, value_name = "N", requires = "download", conflicts_with_all = ["upload", "revisions", "delete"])]
    pub revision: Option<i64>,
    /// List the document's revisions: who uploaded what, and when.
    #[arg(long)]
    pub revisions: bool,
    /// Delete the environment's document.
    #[arg(long)]
    pub delete: bool,
    /// Which version of each package the environment's nodes run, as last
    /// seen by an execute_pm (or --check) run, with each observation's age.
    #[arg(long)]
    pub inventory: bool,
    /// Only what differs: packages not at one version on every node, and
    /// nodes not as the document asks. Exit 0: no drift; 3: drift; 1: error.
    #[arg(long)]
    pub drift: bool,
    /// With --inventory or --drift: only this package.
    #[arg(long, value_name = "NAME", value_parser = package_name, requires = "listing")]
    pub package: Option<String>,
}

#[derive(Debug, Args)]
pub struct TaskArgs {
    /// Show only this task.
    #[arg(long, alias = "tid", value_name = "ID")]
    pub task_id: Option<i64>,
    /// Only the tasks of this environment.
    #[arg(long, alias = "env-id", value_name = "ID", conflicts_with = "task_id")]
    pub env: Option<i64>,
}

fn parse_batch(text: &str) -> Result<String, String> {
    text.parse::<fuel_pm_tasks::rollout::BatchSpec>()
        .map(|spec| spec.to_string())
        .map_err(|e| e.to_string())
}

fn parse_max_failures(text: &str) -> Result<String, String> {
    text.parse::<fuel_pm_tasks::rollout::MaxFailures>()
        .map(|max| max.to_string())
        .map_err(|e| e.to_string())
}

fn role_name(role: &str) -> Result<String, String> {
    fuel_api_client::check_role(role).map(|()| role.to_string())
}

/// A package name as documents spell them (it ends up in a URL).
fn package_name(name: &str) -> Result<String, String> {
    if fuel_pm::valid_package_name(name) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "`{name}` is not a package name: letters, digits and `. + _ -`, starting with a letter or digit"
        ))
    }
}

/// Task names are identifiers (`execute_pm`, `upload_pm`): they end up in
/// URLs and logs, so nothing else is accepted.
fn task_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(name.to_string())
    } else {
        Err(format!(
            "`{name}` is not a task name: lower-case letters, digits, `_` and `-`, e.g. execute_pm"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fuel").chain(args.iter().copied()))?.normalized()
    }

    fn node_args(args: &[&str]) -> NodeArgs {
        match parse(args).unwrap().command {
            Command::Node(node) => node,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn node_selection_with_tasks_parses_as_the_design_writes_it() {
        let node = node_args(&["node", "--node", "2,3", "--tasks", "execute_pm"]);
        assert_eq!(node.selection().unwrap().to_string(), "2,3");
        assert_eq!(node.tasks, vec!["execute_pm"]);
        assert!(node.command.is_none());

        let node = node_args(&[
            "node",
            "--node",
            "2",
            "--node",
            "5-7",
            "--env",
            "1",
            "--tasks",
            "upload_pm,execute_pm",
        ]);
        assert_eq!(node.selection().unwrap().to_string(), "2,5-7");
        assert_eq!(node.tasks, vec!["upload_pm", "execute_pm"]);
        assert_eq!(node.env, Some(1));

        // fuelclient's space-separated form and its --node-id spelling.
        let node = node_args(&["node", "--node-id", "4", "2", "--json"]);
        assert_eq!(node.selection().unwrap().to_string(), "2,4");
    }

    #[test]
    fn node_create_is_a_subcommand_beside_the_flags() {
        let node = node_args(&[
            "node",
            "create",
            "--hostname",
            "node-2",
            "--ip",
            "10.20.0.5",
            "--os",
            "ubuntu",
            "--env",
            "1",
        ]);
        let Some(NodeCommand::Create(create)) = node.command else {
            panic!("no create")
        };
        assert_eq!(create.port, 22);
        assert_eq!(create.os, PackageManager::Apt);
        assert!(create.host_key.is_none());
        assert!(node_args(&["node"]).command.is_none());
    }

    #[test]
    fn bad_command_lines_are_usage_errors() {
        for line in [
            "node --node 2,x",
            "node --tasks execute_pm",
            "node --node 2 --tasks rm;ls",
            "node --node 2 create --hostname h --ip 1.2.3.4 --os ubuntu",
            "node create --hostname h --ip not-an-ip --os ubuntu",
            "node create --hostname h --ip 1.2.3.4 --os debian",
            "node create --hostname h --ip 1.2.3.4 --os ubuntu --port 0",
            "node create --hostname h --ip 1.2.3.4 --os ubuntu --host-key AAAA",
            "package --env 1",
            "package --upload f.yaml",
            "package --env 1 --upload f.yaml --download",
            "package --env 1 --download --if-match x",
            "package --env 1 --revisions --dir /tmp",
            "completion powershell",
            "package --env 1 --inventory --drift",
            "package --env 1 --package d",
            "package --env 1 --upload f.yaml --package d",
            "package --env 1 --inventory --package a;b",
            "package --env 1 --inventory --json --yaml",
            "node --password x",
            "node --node 2 --tasks execute_pm --batch 0",
            "node --node 2 --tasks execute_pm --batch 1,,2",
            "node --node 2 --tasks execute_pm --max-failures ten",
            "node --node 2 --batch 1",
            "node create --hostname h --ip 1.2.3.4 --os ubuntu --role Controller",
        ] {
            let args: Vec<&str> = line.split_whitespace().collect();
            let err = parse(&args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{line}: {err}");
        }
    }

    #[test]
    fn rollout_flags_parse() {
        let node = node_args(&[
            "node",
            "--node",
            "1-40",
            "--tasks",
            "execute_pm",
            "--batch",
            "1,10,25%",
            "--max-failures",
            "10%",
            "--order-by-role",
            "--order",
            "7,3",
            "--failed",
        ]);
        assert_eq!(node.batch.as_deref(), Some("1,10,25%"));
        assert_eq!(node.max_failures.as_deref(), Some("10%"));
        assert!(node.order_by_role && node.failed);
        assert_eq!(node.order, vec![7, 3]);
    }

    #[test]
    fn package_actions_parse() {
        let Command::Package(p) = parse(&["package", "--env", "1", "--upload", "file.yaml"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert_eq!(
            (p.env, p.upload.unwrap()),
            (Some(1), PathBuf::from("file.yaml"))
        );
        let Command::Package(p) =
            parse(&["package", "--env-id", "2", "--download", "--dir", "/tmp"])
                .unwrap()
                .command
        else {
            panic!()
        };
        assert!(p.download && p.dir.is_some());
    }

    #[test]
    fn every_command_has_help() {
        fn walk(cmd: &clap::Command, path: &str) {
            assert!(
                cmd.get_about().is_some() || path == "fuel",
                "{path} has no help text"
            );
            for arg in cmd.get_arguments() {
                if arg.is_positional() || arg.get_id() == "help" || arg.get_id() == "version" {
                    continue;
                }
                assert!(
                    arg.get_help().is_some(),
                    "{path} --{} has no help",
                    arg.get_id()
                );
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&Cli::command(), "fuel");
    }
}
