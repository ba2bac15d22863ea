//! Commands: glue between the CLI and the library. Prints results to stdout, diagnostics to
//! stderr, and returns the exit code.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use jiff::Timestamp;

mod resume;
mod run;
mod sandbox;

use crate::atomic_file::write_json;
use crate::cli::{
    AsOfArgs, Cli, Command, MatrixArgs, OutputFormat, PlanArgs, ProviderArg, ReportArgs,
    ReportFormat, ValidateArgs,
};
use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::ProviderKind;
use crate::error::Error;
use crate::exit;
use crate::input_set::InputSet;
use crate::ledger;
use crate::matrix::Matrix;
use crate::plan::{self, Plan, PlanContext};
use crate::playbook::{self, Playbook};

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::INVALID_INPUT
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Validate(a) => validate(a),
        Command::Plan(a) => plan_cmd(a),
        Command::Matrix(a) => matrix_cmd(a),
        Command::Run(a) => run::run(a),
        Command::Report(a) => report_cmd(a),
        Command::Resume(a) => resume::resume(a),
        Command::Apply(a) => resume::apply(a),
        Command::Sandbox(a) => sandbox::sandbox_cmd(a),
        Command::Schema => {
            print!("{}", playbook::schema::playbook_schema_json());
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "pushfix",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
    }
}

/// "Now" for planning: `--as-of`, else `PUSHFIX_NOW` (RFC 3339; the test suite pins it),
/// else the system clock.
pub fn now(as_of: &AsOfArgs) -> Result<Timestamp, Error> {
    if let Some(t) = as_of.as_of {
        return Ok(t);
    }
    match std::env::var("PUSHFIX_NOW") {
        Ok(v) => v
            .parse()
            .map_err(|_| Error::Usage(format!("PUSHFIX_NOW=`{v}` is not an RFC 3339 timestamp"))),
        Err(_) => Ok(Timestamp::now()),
    }
}

/// A playbook read, its ledger scanned and its plan built.
pub struct Prepared {
    pub playbook: Playbook,
    pub plan: Plan,
    pub inputs: InputSet,
    /// Warnings from reading the inputs (printed to stderr by commands).
    pub warnings: Vec<Diagnostic>,
    /// `<UTC start>-<playbook name>`: the run directory's name.
    pub run_id: String,
}

/// Everything before the first request: decode, scan the ledger, plan. Errors are located.
pub fn prepare(
    path: &Path,
    vars: &[(String, String)],
    now: Timestamp,
    started: Timestamp,
) -> Result<Prepared, Error> {
    let matrix = Matrix::builtin().map_err(Error::Other)?;
    let mut inputs = InputSet::new();
    for (k, v) in vars {
        inputs.record_extra("var", &format!("{k}={v}"));
    }
    let (pb, mut diags) = playbook::load(path, vars, &mut inputs);
    let Some(pb) = pb else {
        return Err(Error::Input(diags));
    };
    let scan = match &pb.ledger {
        Some(l) => {
            let queries = plan::ledger_queries(&pb, now);
            match ledger::scan(
                &l.value,
                pb.provider.kind,
                matrix.provider(pb.provider.kind),
                &queries,
            ) {
                Ok(s) => {
                    inputs.record(&l.value, &s.sha256);
                    Some(s)
                }
                Err(d) => {
                    diags.extend(d);
                    return Err(Error::Input(diags));
                }
            }
        }
        None => None,
    };
    let path_text = path.display().to_string();
    // The id the run directory will have, so `{{ run.id }}` in a template names it.
    let run_id = crate::run_dir::run_id(started, &pb.name.value);
    let ctx = PlanContext {
        playbook: &pb,
        playbook_path: &path_text,
        matrix: &matrix,
        scan: scan.as_ref(),
        inputs: &inputs,
        now,
        run_id: &run_id,
    };
    let plan = match plan::build(&ctx) {
        Ok(p) => p,
        Err(d) => {
            diags.extend(d);
            return Err(Error::Input(diags));
        }
    };
    let mut warnings = diags.into_warnings();
    if let Some(s) = scan {
        warnings.extend(s.warnings.into_warnings());
    }
    Ok(Prepared {
        playbook: pb,
        plan,
        inputs,
        warnings,
        run_id,
    })
}

fn print_warnings(ws: &[Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for w in ws {
        let _ = writeln!(err, "{w}");
    }
}

/// Credentials are only read by `run`; the plan says early if they are missing here.
fn credential_warnings(pb: &Playbook) -> Vec<String> {
    let c = &pb.provider.credentials;
    [&c.id_env.value, &c.secret_env.value]
        .into_iter()
        .filter(|name| std::env::var_os(name.as_str()).is_none_or(|v| v.is_empty()))
        .map(|name| format!("{name} is not set in this environment; `pushfix run` will need it"))
        .collect()
}

/// The max_targets guard (exit 5), checked by plan and run after printing the plan.
pub fn check_max_targets(plan: &Plan) -> Result<(), Error> {
    if let Some(max) = plan.limits.max_targets
        && plan.totals.targets > max
    {
        return Err(Error::Refused(format!(
            "the plan selects {} targets, more than limits.max_targets ({max}); narrow the selection or raise the limit",
            plan.totals.targets
        )));
    }
    Ok(())
}

fn plan_cmd(a: PlanArgs) -> Result<i32, Error> {
    let now = now(&a.as_of)?;
    let p = prepare(&a.playbook, &a.vars.vars, now, Timestamp::now())?;
    print_warnings(&p.warnings);
    let mut plan = p.plan;
    plan.warnings.extend(credential_warnings(&p.playbook));
    if let Some(out) = &a.out {
        write_json(out, &plan::to_json(&plan))?;
    }
    let mut stdout = std::io::stdout().lock();
    match a.format {
        OutputFormat::Text => {
            let _ = write!(stdout, "{}", plan::render_text(&plan));
        }
        OutputFormat::Json => {
            let _ = serde_json::to_writer_pretty(&mut stdout, &plan::to_json(&plan));
            let _ = writeln!(stdout);
        }
    }
    drop(stdout);
    check_max_targets(&plan)?;
    Ok(exit::OK)
}

fn validate(a: ValidateArgs) -> Result<i32, Error> {
    let now = now(&a.as_of)?;
    let paths: Vec<PathBuf> = if a.paths.is_empty() {
        if Path::new("playbooks").is_dir() {
            vec![PathBuf::from("playbooks")]
        } else {
            return Err(Error::Usage(
                "no playbook given, and there is no ./playbooks folder".into(),
            ));
        }
    } else {
        a.paths
    };
    let mut files = Vec::new();
    let mut all = Diagnostics::new();
    for p in &paths {
        if !p.exists() {
            all.push(Diagnostic::error(format!("`{}` does not exist", p.display())).in_file(p));
            continue;
        }
        match playbook::discover(p) {
            Ok(found) if found.is_empty() => {
                all.push(
                    Diagnostic::error(format!("no .yaml or .yml files in `{}`", p.display()))
                        .in_file(p),
                );
            }
            Ok(found) => files.extend(found),
            Err(e) => all.push(
                Diagnostic::error(format!(
                    "cannot list `{}`: {}",
                    p.display(),
                    crate::io_reason(&e)
                ))
                .in_file(p),
            ),
        }
    }
    let mut stdout = std::io::stdout().lock();
    let mut failed = 0;
    for f in &files {
        match prepare(f, &a.vars.vars, now, Timestamp::now()) {
            Ok(p) => {
                let t = &p.plan.totals;
                let _ = writeln!(
                    stdout,
                    "ok     {}: {} step{}, {} targets ({} to send)",
                    f.display(),
                    p.plan.steps.len(),
                    if p.plan.steps.len() == 1 { "" } else { "s" },
                    t.targets,
                    t.send
                );
                all.items.extend(p.warnings);
                if let Err(Error::Refused(m)) = check_max_targets(&p.plan) {
                    all.push(
                        Diagnostic::warning(format!("plan and run would refuse: {m}")).in_file(f),
                    );
                }
            }
            Err(Error::Input(d)) => {
                failed += 1;
                let _ = writeln!(
                    stdout,
                    "error  {}: {} problem{}",
                    f.display(),
                    d.error_count(),
                    if d.error_count() == 1 { "" } else { "s" }
                );
                all.extend(d);
            }
            Err(e) => return Err(e),
        }
    }
    drop(stdout);
    let errors = all.error_count();
    if !all.items.is_empty() {
        eprintln!("{all}");
    }
    if errors > 0 || failed > 0 {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let summary = if files.is_empty() {
            format!("no playbook checked; {} found", plural(errors, "problem"))
        } else {
            format!(
                "{failed} of {} invalid; {} found",
                plural(files.len(), "playbook"),
                plural(errors, "problem")
            )
        };
        eprintln!("{summary}");
        return Ok(exit::INVALID_INPUT);
    }
    Ok(exit::OK)
}

fn matrix_cmd(a: MatrixArgs) -> Result<i32, Error> {
    let m = Matrix::builtin().map_err(Error::Other)?;
    let only = a.provider.map(|p| match p {
        ProviderArg::Jpush => ProviderKind::Jpush,
        ProviderArg::Tpns => ProviderKind::Tpns,
    });
    match a.format {
        OutputFormat::Text => println!("{}", crate::matrix::render_text(&m, only)),
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&crate::matrix::render_json(&m, only)).unwrap_or_default()
        ),
    }
    Ok(exit::OK)
}

fn report_cmd(a: ReportArgs) -> Result<i32, Error> {
    if !a.run_dir.join("journal.jsonl").is_file() {
        return Err(Error::Usage(format!(
            "`{}` is not a run directory (no journal.jsonl)",
            a.run_dir.display()
        )));
    }
    let (r, d) = crate::report::write_reports(&a.run_dir).map_err(Error::Other)?;
    let text = match a.format {
        ReportFormat::Md => crate::report::to_markdown(&r, &d),
        ReportFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&crate::report::to_json(&r)).unwrap_or_default()
        ),
        ReportFormat::Html => crate::report::to_html(&r, &d),
    };
    print!("{text}");
    Ok(exit::OK)
}
