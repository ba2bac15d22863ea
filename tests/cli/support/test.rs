//! `Test`: one builder for running the real `pushfix` binary, in the manner of casey/just's
//! `tests/test.rs`. Set up the directory (`Test::new` makes a fresh one; `playbook`, `file`),
//! the command line (`args`, `env`, credentials, `stdin`, `tty`), what must come out (`status`,
//! `stderr` exactly, `*_contains`, `stdout_snapshot`), then `run()` (or `spawn()` and
//! `wait()`): every expectation is checked, and a failure lists each one that failed, with a
//! unified diff for exact comparisons, then the whole stdout and stderr.
//!
//! The child never sees the caller's `JPUSH_*`, `TPNS_*`, `TIMPUSH_*`, `GETUI_*` or `PUSHFIX_*`
//! variables, and its clock is pinned with `PUSHFIX_NOW` ([`NOW`]), so plans are stable. Its
//! state directory (`PUSHFIX_STATE_DIR`: the run locks) is the test's own: `.pushfix-state` in
//! its directory, or a fresh temp dir when it runs in the repository (see [`Test::state_dir`]).

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use serde_json::Value;

use super::campaign::{
    APP_KEY, GETUI_APP_KEY, GETUI_MASTER_SECRET, SECRET, TIMPUSH_SDKAPPID, TIMPUSH_SECRET_KEY,
    TPNS_ACCESS_ID, TPNS_SECRET_KEY,
};
use super::files::{TempDir, repo_root};
use super::snapshot;

/// The instant plans are made "as of" in tests (`PUSHFIX_NOW`), so windows are stable.
pub const NOW: &str = "2026-11-21T04:00:00Z";

const BIN: &str = env!("CARGO_BIN_EXE_pushfix");

#[must_use = "a Test does nothing until `.run()` or `.spawn()`"]
pub struct Test {
    cwd: PathBuf,
    /// The test's own directory, when it has one; kept alive by the output.
    tempdir: Option<TempDir>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    tty: bool,
    /// `PUSHFIX_STATE_DIR` for the child.
    state_dir: PathBuf,
    /// The state dir's own temp dir, when it is not under `cwd`.
    state_tempdir: Option<TempDir>,
    expect: Expect,
}

#[derive(Default)]
struct Expect {
    status: Option<i32>,
    stderr: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
    stdout_snapshot: Option<PathBuf>,
}

impl Test {
    /// A test in a fresh temp directory of its own, named after the test.
    pub fn new(name: &str) -> Test {
        let dir = TempDir::new(name);
        let mut t = Test::in_dir(dir.path());
        t.tempdir = Some(dir);
        t
    }

    /// A test run from the repository root (the examples, read only).
    pub fn repo() -> Test {
        Test::in_dir(&repo_root())
    }

    /// A test run in an existing directory (a fixture, a campaign's directory).
    pub fn in_dir(dir: &Path) -> Test {
        // In the repository (the examples, the fixtures) nothing may be left behind: a state
        // dir of its own; elsewhere (a test's or a campaign's temp dir) one beside the files,
        // shared by every run in that directory, as on a user's machine.
        let (state_dir, state_tempdir) = if dir.starts_with(repo_root()) {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let t = TempDir::new(&format!("state-{}", N.fetch_add(1, Ordering::Relaxed)));
            (t.path().to_path_buf(), Some(t))
        } else {
            (dir.join(".pushfix-state"), None)
        };
        Test {
            cwd: dir.to_path_buf(),
            tempdir: None,
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            tty: false,
            state_dir,
            state_tempdir,
            expect: Expect::default(),
        }
    }

    /// The child's `PUSHFIX_STATE_DIR` (where its run locks are), unless `.env` sets another.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Use `dir` as the state directory (two tests that must see each other's locks).
    pub fn with_state_dir(mut self, dir: &Path) -> Test {
        self.state_dir = dir.to_path_buf();
        self.state_tempdir = None;
        self
    }

    /// Write `contents` to `rel` in the test's directory (parents created).
    pub fn file(self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Test {
        let p = self.cwd.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        self
    }

    /// The playbook, as `pb.yaml`.
    pub fn playbook(self, yaml: &str) -> Test {
        self.file("pb.yaml", yaml)
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Test {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Test {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The JPush test app's credentials, as the documented variables.
    pub fn jpush_credentials(self) -> Test {
        self.env("JPUSH_APP_KEY", APP_KEY)
            .env("JPUSH_MASTER_SECRET", SECRET)
    }

    /// The TPNS test app's credentials, as the documented variables.
    pub fn tpns_credentials(self) -> Test {
        self.env("TPNS_ACCESS_ID", TPNS_ACCESS_ID)
            .env("TPNS_SECRET_KEY", TPNS_SECRET_KEY)
    }

    /// The TIMPush test app's credentials, as the documented variables.
    pub fn timpush_credentials(self) -> Test {
        self.env("TIMPUSH_SDKAPPID", TIMPUSH_SDKAPPID)
            .env("TIMPUSH_SECRET_KEY", TIMPUSH_SECRET_KEY)
    }

    /// The GeTui test app's credentials, as the documented variables.
    pub fn getui_credentials(self) -> Test {
        self.env("GETUI_APP_KEY", GETUI_APP_KEY)
            .env("GETUI_MASTER_SECRET", GETUI_MASTER_SECRET)
    }

    /// What the child reads on stdin (a pipe, closed after it). Without it stdin is null.
    pub fn stdin(mut self, input: impl AsRef<[u8]>) -> Test {
        self.stdin = Some(input.as_ref().to_vec());
        self
    }

    /// Run under util-linux `script`, so the child's stdin, stdout and stderr are a terminal;
    /// what it writes to the terminal arrives on stdout. `stdin` is then piped by `spawn`.
    pub fn tty(mut self) -> Test {
        self.tty = true;
        self
    }

    /// The exit code it must end with.
    pub fn status(mut self, code: i32) -> Test {
        self.expect.status = Some(code);
        self
    }

    /// Exactly this on stderr.
    pub fn stderr(mut self, exact: impl Into<String>) -> Test {
        self.expect.stderr = Some(exact.into());
        self
    }

    pub fn stdout_contains(mut self, part: impl Into<String>) -> Test {
        self.expect.stdout_contains.push(part.into());
        self
    }

    pub fn stderr_contains(mut self, part: impl Into<String>) -> Test {
        self.expect.stderr_contains.push(part.into());
        self
    }

    /// Stdout equals the snapshot file (see [`snapshot::check`]; `PUSHFIX_BLESS=1` rewrites).
    pub fn stdout_snapshot(mut self, path: impl Into<PathBuf>) -> Test {
        self.expect.stdout_snapshot = Some(path.into());
        self
    }

    /// The command line, for messages.
    fn shown(&self) -> String {
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
        format!("pushfix {} (in {})", args.join(" "), self.cwd.display())
    }

    /// The configured command, stdio left to the caller.
    pub fn command(&self) -> Command {
        let mut cmd = if self.tty {
            let mut line = shell_quote(OsStr::new(BIN));
            for a in &self.args {
                line.push(' ');
                line.push_str(&shell_quote(a));
            }
            let mut cmd = Command::new("script");
            cmd.args(["-qec", &line, "/dev/null"]);
            cmd
        } else {
            let mut cmd = Command::new(BIN);
            cmd.args(&self.args);
            cmd
        };
        cmd.current_dir(&self.cwd);
        for (k, _) in std::env::vars_os() {
            let name = k.to_string_lossy();
            if name.starts_with("JPUSH_")
                || name.starts_with("TPNS_")
                || name.starts_with("TIMPUSH_")
                || name.starts_with("GETUI_")
                || name.starts_with("PUSHFIX_")
            {
                cmd.env_remove(&k);
            }
        }
        cmd.env("PUSHFIX_NOW", NOW);
        cmd.env("PUSHFIX_STATE_DIR", &self.state_dir);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Start it with stdout and stderr piped (and stdin piped under `tty` or with `stdin`);
    /// the expectations are checked by [`Running::wait`].
    pub fn spawn(mut self) -> Running {
        let mut cmd = self.command();
        let piped_stdin = self.tty || self.stdin.is_some();
        cmd.stdin(if piped_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            let via = if self.tty {
                " under util-linux `script`"
            } else {
                ""
            };
            panic!("start {}{via}: {e}", self.shown())
        });
        if let Some(input) = self.stdin.take() {
            let mut stdin = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        Running { child, test: self }
    }

    /// Run it to the end and check every expectation.
    #[track_caller]
    pub fn run(self) -> Output {
        self.spawn().wait()
    }
}

/// A started `pushfix`.
pub struct Running {
    child: Child,
    test: Test,
}

impl Running {
    /// Send `signal` (`INT`, `KILL`, ...) with kill(1); true when it was delivered.
    pub fn signal(&self, signal: &str) -> bool {
        Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success()
    }

    /// Whether it has ended (without reaping its output).
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }

    /// Write to its stdin and close it.
    pub fn write_stdin(&mut self, input: impl AsRef<[u8]>) {
        let mut stdin = self.child.stdin.take().expect("stdin is piped");
        stdin.write_all(input.as_ref()).unwrap();
    }

    /// Wait for the end and check every expectation.
    #[track_caller]
    pub fn wait(self) -> Output {
        let Running { child, test } = self;
        let raw = child.wait_with_output().unwrap();
        let out = Output {
            status: raw.status,
            stdout: String::from_utf8_lossy(&raw.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&raw.stderr).into_owned(),
            _tempdir: None,
            _state_tempdir: None,
        };
        let failures = test.expect.failures(&out);
        if !failures.is_empty() {
            panic!(
                "{}\n{}\n--- stdout\n{}\n--- stderr\n{}",
                test.shown(),
                failures.join("\n"),
                out.stdout,
                out.stderr
            );
        }
        Output {
            _tempdir: test.tempdir,
            _state_tempdir: test.state_tempdir,
            ..out
        }
    }
}

impl Expect {
    fn failures(&self, out: &Output) -> Vec<String> {
        let mut f = Vec::new();
        if let Some(want) = self.status
            && out.code() != Some(want)
        {
            let got = out.code().map_or(out.status.to_string(), |c| c.to_string());
            f.push(format!("exit code: expected {want}, got {got}"));
        }
        if let Some(want) = &self.stderr
            && *want != out.stderr
        {
            let d = snapshot::diff(want, &out.stderr, "expected stderr", "stderr");
            f.push(format!("stderr differs:\n{d}"));
        }
        for (name, parts, got) in [
            ("stdout", &self.stdout_contains, &out.stdout),
            ("stderr", &self.stderr_contains, &out.stderr),
        ] {
            for part in parts.iter().filter(|p| !got.contains(p.as_str())) {
                f.push(format!("{name} does not contain {part:?}"));
            }
        }
        if let Some(path) = &self.stdout_snapshot
            && let Err(e) = snapshot::check(path, &out.stdout)
        {
            f.push(e);
        }
        f
    }
}

/// What a finished `pushfix` left: exit status, stdout and stderr (as text).
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    _tempdir: Option<TempDir>,
    _state_tempdir: Option<TempDir>,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Stdout then stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// `arg` as one word for `sh -c`.
fn shell_quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
