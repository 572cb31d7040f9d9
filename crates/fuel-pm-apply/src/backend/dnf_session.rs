//! One `dnf shell` process for a whole run: the metadata is refreshed and
//! the repositories queried in it (`repoquery`), then, once the applier has
//! resolved every package, the transaction is fed to the same process and its
//! standard input closed. dnf's start-up (Python, configuration, the package
//! sack) is most of a small run's cost; paying it once keeps the applier
//! within a few percent of a bare `dnf install` of the same change.
//!
//! The conversation is line by line on pipes. The shell prints its prompt
//! `> ` (and flushes, as Python's `input()` does) each time it waits for a
//! command, so a command's output is what comes before the next prompt.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use crate::command::{Ran, SpawnError};

const PROMPT: &[u8] = b"> ";

#[derive(Debug)]
pub struct Session {
    line: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<String>>,
    /// Everything read from stdout, for the report when the shell ends.
    said: Vec<u8>,
}

impl Session {
    /// Starts `dnf ARGS… shell` and waits for its first prompt; `Err(Ran)`
    /// when dnf ended first (a held lock with `exit_on_lock`, a broken
    /// repository…), with what it said.
    pub fn start(args: &[String]) -> Result<Result<Session, Ran>, SpawnError> {
        let line = format!("dnf {} shell", args.join(" "));
        let spawn_error = |source| SpawnError {
            line: line.clone(),
            source,
        };
        let mut child = Command::new("dnf")
            .args(args)
            .arg("shell")
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        let mut session = Session {
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().expect("stdout is piped")),
            child,
            stderr: Some(stderr),
            said: Vec::new(),
            line: line.clone(),
        };
        match session.until_prompt().map_err(spawn_error)? {
            Some(_) => Ok(Ok(session)),
            None => Ok(Err(session.finish("").map_err(spawn_error)?)),
        }
    }

    /// Reads stdout up to the next prompt; what came before it, or `None`
    /// when the shell ended.
    fn until_prompt(&mut self) -> std::io::Result<Option<String>> {
        let mut output = Vec::new();
        loop {
            let chunk = self.stdout.fill_buf()?;
            if chunk.is_empty() {
                self.said.extend_from_slice(&output);
                return Ok(None);
            }
            let n = chunk.len();
            output.extend_from_slice(chunk);
            self.stdout.consume(n);
            // The prompt ends what was printed: at the start or after a newline.
            if output.ends_with(PROMPT) {
                let before = &output[..output.len() - PROMPT.len()];
                if before.is_empty() || before.ends_with(b"\n") {
                    self.said.extend_from_slice(&output);
                    return Ok(Some(String::from_utf8_lossy(before).into_owned()));
                }
            }
        }
    }

    /// The shell's command line, for messages.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// Runs one shell command; its output, or `None` when the shell ended.
    pub fn ask(&mut self, command: &str) -> std::io::Result<Option<String>> {
        let stdin = self.stdin.as_mut().expect("the session is open");
        stdin.write_all(command.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        self.until_prompt()
    }

    /// Sends the last commands, closes stdin (the shell then exits) and
    /// waits: everything the shell said and its exit code.
    pub fn finish(mut self, commands: &str) -> std::io::Result<Ran> {
        if let Some(mut stdin) = self.stdin.take() {
            // A shell that already ended has closed its end: its exit says why.
            let _ = stdin.write_all(commands.as_bytes());
        }
        let mut rest = Vec::new();
        self.stdout.read_to_end(&mut rest)?;
        self.said.extend_from_slice(&rest);
        let status = self.child.wait()?;
        let stderr = self
            .stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        Ok(Ran {
            line: self.line.clone(),
            code: status.code(),
            stdout: without_prompts(&String::from_utf8_lossy(&self.said)),
            stderr,
        })
    }
}

/// The shell's output without its prompts (they start lines, several in a
/// row when commands print nothing).
fn without_prompts(said: &str) -> String {
    said.split_inclusive('\n')
        .map(|line| {
            let mut line = line;
            while let Some(rest) = line.strip_prefix("> ") {
                line = rest;
            }
            line
        })
        .collect()
}

impl Drop for Session {
    /// An unfinished session (nothing to apply): end of input ends the shell.
    fn drop(&mut self) {
        if self.stdin.take().is_some() {
            let _ = std::io::copy(&mut self.stdout, &mut std::io::sink());
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_not_part_of_what_the_shell_said() {
        assert_eq!(
            without_prompts("> > > \nInstalled:\n  a-1.0-1\n> "),
            "\nInstalled:\n  a-1.0-1\n"
        );
        assert_eq!(without_prompts("a > b\n"), "a > b\n");
    }
}
