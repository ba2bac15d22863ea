//! No credential, and nothing derived from one, in anything pushfix writes: against a provider
//! that echoes the Authorization header, the TPNS `Sign` of each request and the secret itself
//! back in its error bodies (raw, with `/` escaped as `\/`, and percent-encoded), for both
//! providers and both TPNS auth schemes, with secrets short enough that a text-level scrub
//! would have skipped them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::{TempDir, Test, all_files, ledger_text, record, task};

/// A provider that answers every request with an error quoting its credentials. Returns its
/// base URL and the secret header values it received.
fn echo_provider(secret: &'static str, tpns: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(": ") {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.parse().unwrap_or(0);
                    }
                    headers.push((k.to_ascii_lowercase(), v.to_string()));
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let get = |name: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let (auth, sign) = (get("authorization"), get("sign"));
            seen2.lock().unwrap().extend(
                [auth.clone(), sign.clone()]
                    .into_iter()
                    .filter(|s| !s.is_empty()),
            );
            let pct = |s: &str| -> String {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                        _ => format!("%{b:02X}"),
                    })
                    .collect()
            };
            // JSON text written by hand: `\/` is how some servers escape `/`.
            let text = format!(
                "auth {auth} / {slash_auth} / {pct_auth}; sign {sign} / {slash_sign} / {pct_sign}; key {secret}",
                slash_auth = auth.replace('/', "\\/"),
                pct_auth = pct(&auth),
                slash_sign = sign.replace('/', "\\/"),
                pct_sign = pct(&sign),
            );
            let (status, json) = if tpns {
                (
                    "200 OK",
                    format!(
                        r#"{{"ret_code": 1008003, "err_msg": "{text}", "echo_{secret}": "{secret}"}}"#
                    ),
                )
            } else {
                (
                    "400 Bad Request",
                    format!(r#"{{"error": {{"code": 1004, "message": "{text}"}}}}"#),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            );
        }
    });
    (url, seen)
}

/// Run `playbook` against the echo provider; assert that none of `secrets` nor any secret
/// header value the provider saw is anywhere pushfix wrote.
fn run_and_check(
    name: &str,
    playbook: String,
    ledger: (&str, String),
    env: [(&str, &str); 2],
    secrets: &[&str],
    seen: &Arc<Mutex<Vec<String>>>,
    masked: &str,
) {
    let dir = TempDir::new(name);
    dir.write("pb.yaml", playbook);
    dir.write(ledger.0, ledger.1);
    let mut t = Test::in_dir(&dir).args([
        "run",
        "pb.yaml",
        "--yes",
        "--audit-dir",
        "audit",
        "--events",
        "events.jsonl",
    ]);
    for (k, v) in env {
        t = t.env(k, v);
    }
    let out = t.status(1).run();
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the provider was not called");
    let mut places = vec![
        ("stdout".to_string(), out.stdout.clone()),
        ("stderr".to_string(), out.stderr.clone()),
    ];
    places.extend(
        all_files(&dir.join("audit"))
            .into_iter()
            .map(|(p, t)| (p.display().to_string(), t)),
    );
    places.push((
        "events.jsonl".into(),
        std::fs::read_to_string(dir.join("events.jsonl")).unwrap(),
    ));
    let names: Vec<&str> = places.iter().map(|(p, _)| p.as_str()).collect();
    for want in ["journal.jsonl", "report.json", "report.md", "report.html"] {
        assert!(
            names.iter().any(|n| n.ends_with(want)),
            "no {want} in {names:?}"
        );
    }
    let mut tokens: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    for v in &seen {
        tokens.push(v.clone());
        if let Some((_, token)) = v.split_once(' ') {
            tokens.push(token.to_string());
        }
    }
    for (place, text) in &places {
        for token in &tokens {
            assert!(
                !text.contains(token.as_str()),
                "`{token}` appears in {place}:\n{text}"
            );
        }
    }
    let journal = &places
        .iter()
        .find(|(p, _)| p.ends_with("journal.jsonl"))
        .unwrap()
        .1;
    assert!(
        journal.contains(&format!("{masked} ******** / ******** / ********")),
        "the echo was recorded, masked: {journal}"
    );
}

#[test]
fn jpush_echoes_of_the_basic_token_and_a_short_secret_are_scrubbed() {
    const SECRET: &str = "Qz9W";
    let (url, seen) = echo_provider(SECRET, false);
    let pb = format!(
        "version: 1\nname: echo-jpush\nprovider:\n  kind: jpush\n  endpoint: {url}\n  credentials:\n    app_key: {{ env: JPUSH_APP_KEY }}\n    master_secret: {{ env: JPUSH_MASTER_SECRET }}\n  apns_production: false\nledger: sends.jsonl\nretry:\n  attempts: 1\nsteps:\n  - name: pull\n    action: recall\n    select: {{ ids: [\"9\"] }}\n"
    );
    run_and_check(
        "echo-jpush",
        pb,
        (
            "sends.jsonl",
            ledger_text(&[record("9", "[\"android\"]", "")]),
        ),
        [
            ("JPUSH_APP_KEY", "7d431e42dfa6a6d693ac2d04"),
            ("JPUSH_MASTER_SECRET", SECRET),
        ],
        &[SECRET],
        &seen,
        "auth",
    );
}

fn tpns_playbook(name: &str, url: &str, auth: &str) -> String {
    format!(
        "version: 1\nname: {name}\nprovider:\n  kind: tpns\n  endpoint: {url}\n  auth: {auth}\n  credentials:\n    access_id: {{ env: TPNS_ACCESS_ID }}\n    secret_key: {{ env: TPNS_SECRET_KEY }}\nledger: tasks.jsonl\nlimits:\n  rate: 50/s\nretry:\n  attempts: 1\nsteps:\n  - name: stop\n    action: stop\n    select: {{ ids: [\"77\", \"78\"] }}\n"
    )
}

#[test]
fn tpns_echoes_of_each_sign_and_a_short_secret_are_scrubbed() {
    const SECRET: &str = "Wq8Zk";
    let (url, seen) = echo_provider(SECRET, true);
    run_and_check(
        "echo-tpns-sign",
        tpns_playbook("echo-tpns-sign", &url, "sign"),
        (
            "tasks.jsonl",
            ledger_text(&[task("77", "tag", ""), task("78", "tag", "")]),
        ),
        [
            ("TPNS_ACCESS_ID", "1500001048"),
            ("TPNS_SECRET_KEY", SECRET),
        ],
        &[SECRET],
        &seen,
        "sign",
    );
    // Two requests, two different signatures, both scrubbed.
    let signs: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|v| !v.starts_with("Basic "))
        .cloned()
        .collect();
    assert!(signs.len() >= 2 && signs[0] != signs[1], "{signs:?}");
}

#[test]
fn tpns_basic_echoes_are_scrubbed() {
    const SECRET: &str = "x7Rp";
    let (url, seen) = echo_provider(SECRET, true);
    run_and_check(
        "echo-tpns-basic",
        tpns_playbook("echo-tpns-basic", &url, "basic"),
        (
            "tasks.jsonl",
            ledger_text(&[task("77", "tag", ""), task("78", "tag", "")]),
        ),
        [
            ("TPNS_ACCESS_ID", "1500001048"),
            ("TPNS_SECRET_KEY", SECRET),
        ],
        &[SECRET],
        &seen,
        "auth",
    );
}
