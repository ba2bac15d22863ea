//! Command-line definitions (clap). No behaviour here.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::ProviderKind;

#[derive(Debug, Parser)]
#[command(
    name = "pushfix",
    version,
    about = "Corrective push-notification campaigns: recall, stop or override sent messages from a reviewed YAML playbook",
    after_help = crate::exit::HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check playbooks (files or folders): every problem, located; no network.
    Validate(ValidateArgs),
    /// Dry run: what each step would do to each target, and why; no network.
    Plan(PlanArgs),
    /// Run a playbook against the provider: plan, confirm, execute, audit.
    Run(RunArgs),
    /// Execute exactly a saved plan (`plan --out`), refusing one whose inputs changed or whose
    /// verdicts no longer hold.
    Apply(ApplyArgs),
    /// Finish an interrupted run from its journal: settled targets are skipped, requests in
    /// flight at the interruption are re-sent idempotently or re-checked.
    Resume(ResumeArgs),
    /// Ask the provider whether each correction of a run took effect (verified, not_effective,
    /// unknown), within its report API's quota; resumable: what has a verdict is not asked
    /// again, and what the quota leaves is checked by the next `verify`.
    Verify(VerifyArgs),
    /// Rebuild a run's report from its journal and print it.
    Report(ReportArgs),
    /// Print the channel matrix: what each action reaches per platform and vendor channel.
    Matrix(MatrixArgs),
    /// Start the built-in provider simulator (every provider's corrective endpoints).
    Sandbox(SandboxArgs),
    /// Print the JSON Schema of the playbook format.
    Schema,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Scaffold a playbook for a situation (provider, action, selection, message), commented
    /// to teach the format; it validates as written.
    Init(InitArgs),
    /// Print the man page (roff), or write one page per command to a folder.
    Man(ManArgs),
}

/// `pushfix init`: what the scaffold is for.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The provider the messages were sent with
    #[arg(long, value_parser = provider_kind())]
    pub provider: ProviderKind,
    /// The corrective action (what the provider offers: `pushfix matrix --provider NAME`)
    #[arg(long, value_parser = action())]
    pub action: crate::domain::Action,
    /// Select the ledger's messages carrying this tag (repeatable: any of them)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Select messages sent in this long before the run (24h: `sent_within`) or since this
    /// instant (RFC 3339: `sent_after`)
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,
    /// Select the ids listed in this file (one per line, `#` comments)
    #[arg(long, value_name = "FILE")]
    pub ids_file: Option<PathBuf>,
    /// Select this message id (repeatable)
    #[arg(long = "id", value_name = "ID")]
    pub ids: Vec<String>,
    /// An override's corrected text: a template file (tera; `{{ message.title }}` is the
    /// original's title)
    #[arg(long, value_name = "FILE", conflicts_with = "body")]
    pub message_file: Option<PathBuf>,
    /// An override's corrected text, written in the playbook
    #[arg(long, value_name = "TEXT")]
    pub body: Option<String>,
    /// A template variable the message uses, written to `vars:` (repeatable)
    #[command(flatten)]
    pub vars: VarArgs,
    /// The ledger of sent messages (default: the first file in ./ledgers with this
    /// provider's records; for cancel_scheduled, with scheduled ones)
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// The playbook's name (default: PROVIDER-ACTION-TAG)
    #[arg(long)]
    pub name: Option<String>,
    /// What went wrong (default: a sentence made from the flags)
    #[arg(long)]
    pub description: Option<String>,
    /// TPNS: the access point; TIMPush: the data centre of the SDKAppID
    #[arg(long)]
    pub region: Option<String>,
    /// GeTui: the AppID of the GeTui console
    #[arg(long)]
    pub app_id: Option<String>,
    /// `limits.rate`, e.g. 50/s for an app with a larger quota (default: the provider's
    /// documented quota)
    #[arg(long, value_name = "N/PERIOD")]
    pub rate: Option<String>,
    /// `limits.max_targets`: plan and run refuse a larger selection (exit 5)
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_targets: u64,
    /// Where to write it (default: playbooks/NAME.yaml)
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace the file if it exists
    #[arg(long)]
    pub force: bool,
}

/// A corrective action's name, as `action:` writes it.
fn action() -> impl clap::builder::TypedValueParser<Value = crate::domain::Action> {
    clap::builder::PossibleValuesParser::new(crate::domain::Action::ALL.map(|(n, _)| n)).map(
        |name| {
            crate::domain::Action::ALL
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, a)| *a)
                .expect("a possible value is an action's name")
        },
    )
}

/// `pushfix man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write pushfix.1 and a page per command (pushfix-run.1, …) to this folder instead
    /// (for example ~/.local/share/man/man1)
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `--var KEY=VALUE`, overriding the playbook's `vars`.
#[derive(Debug, Clone, Args, Default)]
pub struct VarArgs {
    /// Override a template variable (repeatable): --var help_url=https://example.com/help
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// What a scheduled run needs: `--again` and `--max-runtime` (run and apply).
#[derive(Debug, Clone, Args, Default)]
pub struct ScheduleArgs {
    /// Start even beside an unfinished earlier run of this playbook for this app, and send
    /// again to targets earlier runs already corrected (by default a run skips them and
    /// refuses to start beside an unfinished one)
    #[arg(long)]
    pub again: bool,
    #[command(flatten)]
    pub max_runtime: MaxRuntimeArgs,
}

#[derive(Debug, Clone, Copy, Args, Default)]
pub struct MaxRuntimeArgs {
    /// End gracefully after this long, as Ctrl-C would (requests in flight finish, the rest is
    /// recorded not attempted, exit 3): a schedule's run never overlaps its next tick. E.g. 10m
    #[arg(long, value_name = "DURATION", value_parser = parse_max_runtime)]
    pub max_runtime: Option<std::time::Duration>,
}

fn parse_max_runtime(s: &str) -> Result<std::time::Duration, String> {
    let d = crate::domain::parse_duration(s)?;
    if d.is_zero() {
        return Err("a run needs some time: give a duration above zero".into());
    }
    Ok(d)
}

/// How verification watches and how much one pass checks (`verify`, `run --verify`, `resume`).
#[derive(Debug, Clone, Copy, Args)]
pub struct VerifyOptions {
    /// How long to watch deliveries before judging a correction: JPush compares two readings
    /// this far apart; TPNS reads a task's status no earlier than this after its correction
    #[arg(long, value_name = "DURATION", value_parser = parse_observe, default_value = "60s")]
    pub observe: std::time::Duration,
    /// Check at most this many corrections in this pass, most receivers first (default: what
    /// the provider's report API allows in an hour, e.g. TPNS 200); the rest are left for the
    /// next `pushfix verify`
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_checks: Option<u64>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            observe: DEFAULT_OBSERVE,
            max_checks: None,
        }
    }
}

/// `--observe`'s default.
pub const DEFAULT_OBSERVE: std::time::Duration = std::time::Duration::from_secs(60);

fn parse_observe(s: &str) -> Result<std::time::Duration, String> {
    let d = crate::domain::parse_duration(s)?;
    if d > std::time::Duration::from_secs(3600) {
        return Err("at most 1h: a longer watch belongs to a later `pushfix verify`".into());
    }
    Ok(d)
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))?;
    let valid = !k.is_empty()
        && k.as_bytes()[0].is_ascii_alphabetic()
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(format!(
            "`{k}` is not a variable name (letters, digits, underscores)"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

/// `--as-of TIME`: evaluate time windows and relative filters as of this instant.
#[derive(Debug, Clone, Args, Default)]
pub struct AsOfArgs {
    /// Plan as of this instant (RFC 3339, e.g. 2026-11-20T12:30:00+08:00) instead of now:
    /// time windows and `sent_within`/`older_than` use it. For rehearsals and what-ifs.
    #[arg(long = "as-of", value_name = "TIME")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Playbook files or folders (default: ./playbooks)
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub as_of: AsOfArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

/// `plan --format`: the text plan, the JSON plan, or a Markdown summary (a CI job summary).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PlanFormat {
    Text,
    Json,
    Md,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The playbook
    pub playbook: PathBuf,
    /// Output format on stdout (json is versioned: pushfix.plan/v1; md is a Markdown summary
    /// for a pull request or a CI job summary)
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also write the plan as JSON to this file
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where earlier runs are recorded: targets they corrected show as skipped
    /// (`already_done_in`), as `run` would skip them
    #[arg(long, value_name = "DIR", default_value = "audit")]
    pub audit_dir: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub as_of: AsOfArgs,
}

/// A provider's name, as `provider.kind` writes it (the registry's list).
fn provider_kind() -> impl clap::builder::TypedValueParser<Value = ProviderKind> {
    clap::builder::PossibleValuesParser::new(crate::provider::kind_names()).map(|name| {
        crate::provider::find(&name)
            .map(|p| p.kind())
            .expect("a possible value is a provider's name")
    })
}

#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Only this provider
    #[arg(long, value_parser = provider_kind())]
    pub provider: Option<ProviderKind>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The playbook
    pub playbook: PathBuf,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Run against the built-in sandbox: started in-process on a free loopback port, seeded from
    /// the playbook's ledger, with throwaway credentials. Nothing reaches a real provider.
    #[arg(long, conflicts_with = "endpoint")]
    pub sandbox: bool,
    /// With --sandbox: inject faults, e.g. 5xx=0.05,timeout=0.01,reset=0.01,latency=20ms
    #[arg(long, value_name = "SPEC", requires = "sandbox")]
    pub sandbox_faults: Option<String>,
    /// Provider base URL instead of the playbook's (plain http only to a loopback host)
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Where run directories and locks go
    #[arg(long, value_name = "DIR", default_value = "audit")]
    pub audit_dir: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Plan as of this instant instead of now, to rehearse a past incident; only with --sandbox
    /// or a loopback --endpoint (a real provider's clock cannot move)
    #[arg(long = "as-of", value_name = "TIME")]
    pub as_of: Option<String>,
    /// Also write the run's live event stream as JSON Lines to FILE, or to stdout with `-`
    /// (the plan and summary then go to stderr)
    #[arg(long, value_name = "FILE|-")]
    pub events: Option<PathBuf>,
    /// What goes to stdout: the plan, progress and summary (text), or the final report as
    /// JSON (`pushfix.report/v1`, as report.json), with the human text on stderr
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// After the campaign, ask the provider whether each correction took effect (as
    /// `verify: true` in the playbook's `limits`); a correction not effective makes the exit
    /// code 1
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub verify_options: VerifyOptions,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Md,
    Json,
    Html,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run directory (audit/<time>-<name>)
    pub run_dir: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: std::net::SocketAddr,
    /// Seed messages from a ledger (JSON Lines or CSV; records of any provider); repeatable
    #[arg(long, value_name = "FILE")]
    pub ledger: Vec<PathBuf>,
    /// Rate limit of the corrective API families, e.g. 10/s, or `off` for none (default: JPush
    /// 600/min, TPNS 1/s)
    #[arg(long, value_name = "N/s")]
    pub rate: Option<String>,
    /// Inject faults, e.g. 5xx=0.05,timeout=0.01,reset=0.01,latency=20ms; ineffective=0.2
    /// answers a share of corrections as done and changes nothing (what `verify` catches)
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Answer TPNS revoke_push_msg (offline at Tencent since 2025) instead of refusing it
    #[arg(long)]
    pub enable_revoke: bool,
    /// Run the sandbox clock as if it were this instant now (the JPush override window uses it)
    #[arg(long = "as-of", value_name = "TIME")]
    pub as_of: Option<String>,
    /// Seed for fault injection (same seed, same faults)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `pushfix plan PLAYBOOK --out plan.json`
    pub plan: PathBuf,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Provider base URL instead of the plan's (plain http only to a loopback host)
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Where run directories and locks go
    #[arg(long, value_name = "DIR", default_value = "audit")]
    pub audit_dir: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Check the plan's verdicts as of this instant; only with a loopback --endpoint
    #[arg(long = "as-of", value_name = "TIME")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The interrupted run's directory (audit/<time>-<name>)
    pub run_dir: PathBuf,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Provider base URL instead of the run's (plain http only to a loopback host)
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    #[command(flatten)]
    pub max_runtime: MaxRuntimeArgs,
    /// For a run that verifies (`--verify`, `verify: true`): how it verifies once finished
    #[command(flatten)]
    pub verify_options: VerifyOptions,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A run directory (audit/<time>-<name>)
    pub run_dir: PathBuf,
    /// Provider base URL instead of the run's (plain http only to a loopback host; a sandbox
    /// run's sandbox ended with it)
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    #[command(flatten)]
    pub options: VerifyOptions,
    /// The report API's quota, when your app's differs from the documented one (TPNS
    /// statistics 200/h, JPush report 2400/min), e.g. 400/h
    #[arg(long, value_name = "N/PERIOD")]
    pub rate: Option<String>,
    #[command(flatten)]
    pub max_runtime: MaxRuntimeArgs,
    /// Output on stdout: the summary, or report.json's `verification` with its steps (json)
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}
