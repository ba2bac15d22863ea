//! `pushfix sandbox`: the sandbox as a process of its own, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use super::PROVIDERS;
use super::config::{Credentials, SandboxConfig};
use super::message::fmt_ts;
use super::provider::Registered;
use super::seed::SeedMessage;
use super::server::{Sandbox, sandbox_clock};

/// Bind `listen`, print the URL and every provider's credentials as `export NAME=value` lines
/// on stdout, serve until Ctrl-C / SIGTERM, then shut down cleanly.
///
/// Credentials already set in the environment (each provider's `CREDENTIAL_ENV`, e.g.
/// `JPUSH_APP_KEY`) are used instead of the random ones; their values are then *not* printed
/// (they may be real secrets; DESIGN §6), a comment says they are in use.
pub async fn serve_until_signal(
    mut config: SandboxConfig,
    seed: Vec<SeedMessage>,
    listen: SocketAddr,
) -> std::io::Result<()> {
    use std::io::Write;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut from_env = Vec::new();
    for p in PROVIDERS {
        if let Some(c) = config.credentials_mut(p.name()) {
            from_env.extend(take_from_env(*p, c, &env));
        }
    }
    let seeded: Vec<usize> = PROVIDERS
        .iter()
        .map(|p| seed.iter().filter(|m| m.provider == p.name()).count())
        .collect();
    let listener = TcpListener::bind(listen).await?;
    let sandbox = Sandbox::start(config, seed, listener).await?;
    let url = sandbox.url();
    let c = sandbox.config();
    let titles: Vec<&str> = PROVIDERS.iter().map(|p| p.title()).collect();
    let mut out = String::new();
    out.push_str(&format!(
        "# pushfix sandbox ({}) listening on {url}; Ctrl-C stops it\n",
        and_list(&titles)
    ));
    out.push_str(&format!("export PUSHFIX_SANDBOX_URL={url}\n"));
    for p in PROVIDERS {
        if let Some(creds) = c.credentials(p.name()) {
            out.push_str(&export_lines(*p, creds, &from_env));
        }
    }
    {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
    }
    let summaries = sandbox.summaries();
    let counts: Vec<String> = PROVIDERS
        .iter()
        .zip(&seeded)
        .map(|(p, n)| format!("{n} {} {}", p.title(), p.seed_noun()))
        .collect();
    let rates: Vec<String> = PROVIDERS
        .iter()
        .zip(&summaries)
        .map(|(p, s)| format!("{} {}", p.title(), s.rate))
        .collect();
    let mut line = format!(
        "sandbox: {}; clock {}; rates: {}; faults: {}",
        counts.join(", "),
        fmt_ts(sandbox_clock(c)),
        rates.join(", "),
        c.faults,
    );
    for note in summaries.iter().flat_map(|s| &s.notes) {
        line.push_str("; ");
        line.push_str(note);
    }
    eprintln!("{line}");
    wait_for_signal().await;
    eprintln!("sandbox: shutting down");
    sandbox.shutdown().await;
    Ok(())
}

/// Replace the parts of `c` that are set in the environment (`env`) with those values; the
/// variables used.
fn take_from_env(
    p: &dyn Registered,
    c: &mut Credentials,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<&'static str> {
    let [id_env, secret_env] = p.credential_env();
    let mut used = Vec::new();
    for (name, field) in [(id_env, &mut c.id), (secret_env, &mut c.secret)] {
        if let Some(v) = env(name) {
            *field = v;
            used.push(name);
        }
    }
    for &(part, name) in p.extra_credential_env() {
        if let Some(v) = env(name) {
            c.set_extra(part, v);
            used.push(name);
        }
    }
    used
}

/// `export NAME=value` for each credential part of `p`, or a comment for a part taken from the
/// environment (whose value may be a real secret).
fn export_lines(p: &dyn Registered, c: &Credentials, from_env: &[&str]) -> String {
    let [id_env, secret_env] = p.credential_env();
    let mut vars = vec![(id_env, c.id.as_str()), (secret_env, c.secret.as_str())];
    for &(part, name) in p.extra_credential_env() {
        vars.push((name, c.extra(part).unwrap_or_default()));
    }
    let mut out = String::new();
    for (name, value) in vars {
        if from_env.contains(&name) {
            out.push_str(&format!(
                "# {name} is already set in the environment; the sandbox accepts that value\n"
            ));
        } else {
            out.push_str(&format!("export {name}={value}\n"));
        }
    }
    out
}

/// "A", "A and B", "A, B and C".
fn and_list(items: &[&str]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => items.concat(),
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;
    use crate::sandbox::seed::SeedMessage;

    /// A provider whose apps have a third credential part (as GeTui's app key).
    struct ThreeParts;

    impl Registered for ThreeParts {
        fn name(&self) -> &'static str {
            "three"
        }
        fn title(&self) -> &'static str {
            "Three"
        }
        fn seed_noun(&self) -> &'static str {
            "messages"
        }
        fn seed_id_field(&self) -> &'static str {
            "three_id"
        }
        fn credential_env(&self) -> [&'static str; 2] {
            ["THREE_APP_ID", "THREE_MASTER_SECRET"]
        }
        fn extra_credential_env(&self) -> &'static [(&'static str, &'static str)] {
            &[("app_key", "THREE_APP_KEY")]
        }
        fn options(&self) -> &'static [(&'static str, &'static str)] {
            &[]
        }
        fn logged_headers(&self) -> &'static [&'static str] {
            &[]
        }
        fn random_credentials(&self) -> Credentials {
            let mut c = Credentials::new("id", "s3cr3t");
            c.set_extra("app_key", "key");
            c
        }
        fn parse_seed(&self, _: &Map<String, Value>) -> Result<SeedMessage, String> {
            Err("not in this test".into())
        }
        fn start(
            &self,
            _: &SandboxConfig,
            _: Vec<(u64, SeedMessage)>,
            _: jiff::Timestamp,
            _: bool,
        ) -> Box<dyn crate::sandbox::provider::Running> {
            unreachable!("not started in this test")
        }
    }

    #[test]
    fn every_credential_part_is_read_from_the_environment_and_printed() {
        let mut c = ThreeParts.random_credentials();
        let env = |name: &str| (name == "THREE_APP_KEY").then(|| "real-key".to_string());
        let used = take_from_env(&ThreeParts, &mut c, &env);
        assert_eq!(used, ["THREE_APP_KEY"]);
        assert_eq!(c.extra("app_key"), Some("real-key"));
        assert_eq!(
            export_lines(&ThreeParts, &c, &used),
            "export THREE_APP_ID=id\nexport THREE_MASTER_SECRET=s3cr3t\n\
             # THREE_APP_KEY is already set in the environment; the sandbox accepts that value\n"
        );
        let shown = format!("{c:?}");
        assert!(
            shown.contains("real-key") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
