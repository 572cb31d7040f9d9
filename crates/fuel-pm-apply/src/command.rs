//! Running the node's tools: always an argv (names and versions never pass
//! through a shell), in the C locale so their messages can be read, output
//! captured and its tail kept for the report.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The process group of the bounded command running now (an after-action),
/// 0 when none. It is a group of its own so its time limit can kill all of
/// it, which also puts it out of reach of a signal sent to the applier's
/// group: [`end_bounded_group_on_term`] closes that gap.
static BOUNDED_GROUP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_term(signal: libc::c_int) {
    let group = BOUNDED_GROUP.load(Ordering::SeqCst);
    // SAFETY: kill(2), signal(2) and raise(3) are async-signal-safe and
    // touch no memory of ours.
    unsafe {
        if group > 0 {
            libc::kill(-group, libc::SIGKILL);
        }
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// On SIGTERM or SIGHUP (the master's wrapper ends a run whose ssh session
/// closed; a node past its timeout is ended the same way), the running
/// after-action's group is killed before the applier dies of the signal, so
/// no action outlives the run that started it. The next run sees the action
/// as not done and runs it again (state records only finished actions).
pub fn end_bounded_group_on_term() {
    // SAFETY: installs a handler that only calls async-signal-safe functions.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            on_term as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGHUP,
            on_term as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

/// How much of a command's output a report keeps.
pub const TAIL_BYTES: usize = 2048;

/// A finished command.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The command line, for messages.
    pub line: String,
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The end of stderr then stdout, for a failure message.
    pub fn tail(&self) -> String {
        let both = format!("{}{}", self.stdout, self.stderr);
        tail(&both, TAIL_BYTES)
    }
}

/// A command could not be started at all.
#[derive(Debug, thiserror::Error)]
#[error("could not run {line}: {source}")]
pub struct SpawnError {
    pub line: String,
    #[source]
    pub source: std::io::Error,
}

/// One invocation: program, arguments, optional standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub stdin: Option<String>,
}

impl Invocation {
    pub fn new(program: &str, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Invocation {
            program: program.to_string(),
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
        }
    }

    /// The command line as a person would type it (for messages only: it is
    /// never given to a shell).
    pub fn line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        cmd
    }

    /// Runs it with stdout and stderr captured separately.
    pub fn run(&self) -> Result<Ran, SpawnError> {
        let spawn_error = |source| SpawnError {
            line: self.line(),
            source,
        };
        let mut child = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        if let Some(input) = &self.stdin {
            // A tool that exits early closes its end: that is its answer, not ours to report.
            let mut pipe = child.stdin.take().expect("stdin is piped");
            let _ = pipe.write_all(input.as_bytes());
        }
        let out = child.wait_with_output().map_err(spawn_error)?;
        Ok(Ran {
            line: self.line(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs it with stdout and stderr merged in the order they were written
    /// (one pipe for both), as an after-action's output is shown.
    pub fn run_merged(&self) -> Result<(Option<i32>, String), SpawnError> {
        let spawn_error = |source| SpawnError {
            line: self.line(),
            source,
        };
        let (mut child, mut reader) = self.spawn_merged(false)?;
        let mut output = Vec::new();
        reader.read_to_end(&mut output).map_err(spawn_error)?;
        let status = child.wait().map_err(spawn_error)?;
        Ok((status.code(), String::from_utf8_lossy(&output).into_owned()))
    }
}

/// How a command run with a time limit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounded {
    /// Exit code; `None` when a signal ended it (the kill at the limit included).
    pub code: Option<i32>,
    /// stdout and stderr merged, as far as they were written.
    pub output: String,
    /// It ran past the limit and its process group was killed.
    pub timed_out: bool,
}

impl Invocation {
    /// Starts it with stdout and stderr on one pipe (so their order is kept)
    /// and its stdin fed; with `own_group`, in a process group of its own,
    /// recorded for [`end_bounded_group_on_term`] before anything else runs.
    fn spawn_merged(
        &self,
        own_group: bool,
    ) -> Result<(std::process::Child, std::io::PipeReader), SpawnError> {
        use std::os::unix::process::CommandExt;
        let spawn_error = |source| SpawnError {
            line: self.line(),
            source,
        };
        let (reader, writer) = std::io::pipe().map_err(spawn_error)?;
        let mut cmd = self.command();
        cmd.stdout(writer.try_clone().map_err(spawn_error)?)
            .stderr(writer);
        if own_group {
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(spawn_error)?;
        if own_group {
            BOUNDED_GROUP.store(child.id() as i32, Ordering::SeqCst);
        }
        // Our copies of the write end must go, or reading never ends.
        drop(cmd);
        if let Some(input) = &self.stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            let _ = pipe.write_all(input.as_bytes());
        }
        Ok((child, reader))
    }

    /// Like [`Invocation::run_merged`], in a process group of its own, for
    /// at most `limit`: past it the whole group (the command and whatever
    /// it started without leaving the group) is SIGKILLed.
    pub fn run_merged_within(&self, limit: Duration) -> Result<Bounded, SpawnError> {
        let spawn_error = |source| SpawnError {
            line: self.line(),
            source,
        };
        let (mut child, mut reader) = self.spawn_merged(true)?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let (done, finished) = mpsc::channel();
        let collected = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = reader.read(&mut chunk) {
                collected
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&chunk[..n]);
            }
            let _ = done.send(());
        });
        let started = Instant::now();
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(spawn_error)? {
                break status;
            }
            if started.elapsed() >= limit {
                timed_out = true;
                // The group's id is the child's pid (process_group(0)).
                // SAFETY: kill(2) with a negative pid signals that process
                // group; no memory is involved.
                unsafe {
                    libc::kill(-(child.id() as i32), libc::SIGKILL);
                }
                break child.wait().map_err(spawn_error)?;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        BOUNDED_GROUP.store(0, Ordering::SeqCst);
        if timed_out {
            // A process that left the group (setsid) may still hold the
            // pipe after the kill: the output is what came until now.
            let _ = finished.recv_timeout(Duration::from_secs(2));
        } else {
            let _ = finished.recv();
        }
        let output = output.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(Bounded {
            code: status.code(),
            output: String::from_utf8_lossy(&output).into_owned(),
            timed_out,
        })
    }
}

/// The last `max` bytes of `text`, starting at a line (or at least a
/// character) boundary.
pub fn tail(text: &str, max: usize) -> String {
    let text = text.trim_end();
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = &text[start..];
    match cut.find('\n') {
        Some(nl) if nl + 1 < cut.len() => cut[nl + 1..].to_string(),
        _ => cut.to_string(),
    }
}

/// Whether `program` is an executable on PATH.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        dir.join(program)
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_whole_lines_from_the_end() {
        assert_eq!(tail("a\nb\n", 10), "a\nb");
        let long = (0..100).map(|i| format!("line {i}\n")).collect::<String>();
        let t = tail(&long, 30);
        assert!(t.len() <= 30, "{t:?}");
        assert!(t.starts_with("line "), "{t:?}");
        assert!(t.ends_with("line 99"), "{t:?}");
    }

    #[test]
    fn tail_never_splits_a_character() {
        let t = tail("ééééé", 3);
        assert_eq!(t, "é");
    }

    #[test]
    fn merged_output_keeps_both_streams_in_order() {
        let inv = Invocation::new("sh", ["-c", "echo out; echo err >&2; exit 3"]);
        let (code, output) = inv.run_merged().unwrap();
        assert_eq!(code, Some(3));
        assert_eq!(output, "out\nerr\n");
    }

    #[test]
    fn a_command_past_its_limit_is_killed_with_its_process_group() {
        let inv = Invocation::new(
            "sh",
            [
                "-c",
                "echo started; sleep 30 & echo $! > \"$0\"; wait",
                &std::env::temp_dir()
                    .join(format!("bounded-{}", std::process::id()))
                    .to_string_lossy(),
            ],
        );
        let started = Instant::now();
        let ran = inv.run_merged_within(Duration::from_millis(300)).unwrap();
        assert!(ran.timed_out);
        assert_eq!(ran.code, None, "killed");
        assert_eq!(ran.output, "started\n");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let pid_file = std::env::temp_dir().join(format!("bounded-{}", std::process::id()));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let _ = std::fs::remove_file(&pid_file);
        // The background sleep was in the group: gone too (or a zombie of
        // init), once the signal is delivered.
        let gone = || {
            let state =
                std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
            state.is_empty() || state.contains(") Z ")
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !gone() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(), "the group's other process was not killed");

        let quick = Invocation::new("sh", ["-c", "echo ok; exit 3"])
            .run_merged_within(Duration::from_secs(10))
            .unwrap();
        assert_eq!(
            quick,
            Bounded {
                code: Some(3),
                output: "ok\n".into(),
                timed_out: false
            }
        );
    }

    #[test]
    fn arguments_reach_the_program_unchanged_without_a_shell() {
        let inv = Invocation::new("printf", ["%s|", "a b", "$(x)", "'q'"]);
        let ran = inv.run().unwrap();
        assert!(ran.success());
        assert_eq!(ran.stdout, "a b|$(x)|'q'|");
    }
}
