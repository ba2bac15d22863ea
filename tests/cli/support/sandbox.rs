//! `pushfix sandbox` in a separate process, for end-to-end and fault tests, and a copy of the
//! examples to run against it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::files::{TempDir, copy_dir, repo_root};
use super::test::{Output, Test};

/// A `pushfix` command in `dir` with every provider's test credentials.
pub fn pushfix(dir: &Path) -> Test {
    Test::in_dir(dir)
        .jpush_credentials()
        .tpns_credentials()
        .timpush_credentials()
        .getui_credentials()
}

pub struct SandboxProc {
    child: Child,
    pub url: String,
}

impl SandboxProc {
    pub fn start(dir: &Path, args: &[&str]) -> SandboxProc {
        let mut child = pushfix(dir)
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .args(args)
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("sandbox printed its URL").unwrap();
            if let Some(u) = line.strip_prefix("export PUSHFIX_SANDBOX_URL=") {
                break u.to_string();
            }
        };
        // Keep draining stdout so the sandbox never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        SandboxProc { child, url }
    }

    /// GET a debug endpoint over a plain socket.
    pub fn get(&self, path: &str) -> Value {
        let addr = self.url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        let text = String::from_utf8(resp).unwrap();
        let body = text.split_once("\r\n\r\n").unwrap().1;
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    /// How many provider requests it has received.
    pub fn requests(&self) -> usize {
        self.get("/_sandbox/requests")
            .as_array()
            .map_or(0, Vec::len)
    }

    /// SIGTERM: the sandbox must shut down cleanly.
    pub fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "sandbox exit: {status:?}");
    }
}

/// A copy of the examples (playbooks, ledgers, templates) to run from.
pub fn examples(name: &str, faster: bool) -> TempDir {
    let dir = TempDir::new(name);
    let root = repo_root();
    for sub in ["playbooks", "ledgers", "templates"] {
        copy_dir(&root.join(sub), &dir.join(sub));
    }
    if faster {
        // TPNS's real 1/s quota would make these tests take minutes; the sandbox is told the same.
        for pb in std::fs::read_dir(dir.join("playbooks")).unwrap() {
            let p = pb.unwrap().path();
            if p.extension().is_some_and(|e| e == "yaml") {
                let t = std::fs::read_to_string(&p)
                    .unwrap()
                    .replace("rate: 1/s ", "rate: 20/s");
                std::fs::write(&p, t).unwrap();
            }
        }
    }
    dir
}

pub fn run_against(dir: &Path, playbook: &str, url: &str, as_of: &str) -> Output {
    pushfix(dir)
        .args([
            "run",
            playbook,
            "--endpoint",
            url,
            "--as-of",
            as_of,
            "--yes",
            "--audit-dir",
            "audit",
        ])
        .run()
}
