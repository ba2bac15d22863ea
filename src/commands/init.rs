//! `pushfix init`: scaffold a playbook from flags. Checks the flags against the provider (the
//! actions it offers, a selection, a message for an override), finds the ledger, writes the
//! scaffold (never over an existing file without `--force`), then validates what it wrote as
//! `pushfix validate` would, so a scaffold that does not validate is never left unnoticed.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Component, Path, PathBuf};

use jiff::Timestamp;

use super::output;
use super::prepare::{credential_warnings, prepare, print_warnings};
use crate::atomic_file::write_atomic;
use crate::cli::{AsOfArgs, InitArgs};
use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::{Action, parse_duration, parse_timestamp};
use crate::error::Error;
use crate::exit;
use crate::ledger::Format;
use crate::matrix::Matrix;
use crate::provider::{self, Provider};
use crate::scaffold::{self, Body, Scaffold, Since};

/// Records read from each candidate ledger to tell whose it is and whether it holds
/// scheduled tasks: enough for a decision, bounded however large the export is.
const PROBE_RECORDS: usize = 1000;

pub fn init(a: InitArgs) -> Result<i32, Error> {
    let p = provider::get(a.provider);
    let matrix = Matrix::builtin().map_err(Error::Internal)?;
    let offered = scaffold::actions(p, &matrix);
    if !offered.contains(&a.action) {
        let names: Vec<&str> = offered.iter().map(|a| a.as_str()).collect();
        let why = p
            .refuse_action(a.action)
            .map(|(m, help)| format!("{m}; {help}"))
            .unwrap_or_else(|| format!("{} has no `{}`", p.display_name(), a.action));
        return Err(Error::Usage(format!(
            "--action {}: {why} ({} offers: {})",
            a.action,
            p.display_name(),
            names.join(", ")
        )));
    }
    if a.tags.is_empty() && a.since.is_none() && a.ids.is_empty() && a.ids_file.is_none() {
        return Err(Error::Usage(
            "select the messages to correct: --tag TAG, --since 24h (or an instant), --ids-file FILE or --id ID"
                .into(),
        ));
    }
    let overrides = a.action == Action::Override;
    if overrides && a.message_file.is_none() && a.body.is_none() {
        return Err(Error::Usage(
            "an override sends a corrected message: give its text with --message-file FILE (a template) or --body TEXT"
                .into(),
        ));
    }
    if !overrides && (a.message_file.is_some() || a.body.is_some()) {
        return Err(Error::Usage(format!(
            "--message-file and --body are for `override`: `{}` sends no message",
            a.action
        )));
    }
    let since = a.since.as_deref().map(since).transpose()?;
    let name = match &a.name {
        Some(n) => {
            check_name(n)?;
            n.clone()
        }
        None => default_name(p, a.action, &a.tags),
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("playbooks").join(format!("{name}.yaml")));
    if out.exists() && !a.force {
        let mut d = Diagnostics::new();
        d.push(
            Diagnostic::error(format!(
                "`{}` exists: pushfix init does not overwrite a playbook",
                out.display()
            ))
            .in_file(&out)
            .help("--force replaces it, --out writes another file"),
        );
        return Err(Error::Input(d));
    }
    let out_dir = match out.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    let ledger = match &a.ledger {
        Some(l) => Some((given(l, "--ledger")?, String::new())),
        None => discover(
            p,
            a.action,
            &std::path::absolute(&out_dir).unwrap_or_default(),
        )?,
    };
    let needs_ledger = !a.tags.is_empty() || since.is_some() || overrides;
    if ledger.is_none() && needs_ledger {
        return Err(Error::Usage(format!(
            "no ledger with {} records in ./ledgers: pass --ledger FILE (the export of sent messages, JSON Lines or CSV, with `{}` per record){}",
            p.display_name(),
            scaffold::id_field(p, a.action),
            if overrides {
                "; an override is built from the original's record"
            } else {
                "; selecting by tag or time reads it"
            }
        )));
    }
    let ids_file = a
        .ids_file
        .as_deref()
        .map(|f| given(f, "--ids-file"))
        .transpose()?;
    let message_file = a
        .message_file
        .as_deref()
        .map(|f| given(f, "--message-file"))
        .transpose()?;
    // Every check passed: only now does anything appear on disk.
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| crate::atomic_file::WriteError::new(&out_dir, e))?;
    let out_abs = std::fs::canonicalize(&out_dir)
        .map_err(|e| Error::Usage(format!("`{}`: {}", out_dir.display(), crate::io_reason(&e))))?;
    let body = match (&message_file, &a.body) {
        (Some(f), _) => Some(Body::Template(relative(&out_abs, f))),
        (None, Some(text)) => Some(Body::Text(text.clone())),
        (None, None) => None,
    };
    let mut notes = Vec::new();
    if p.kind().as_str() == "timpush" && a.region.is_none() {
        notes.push(format!(
            "region: {} written; set the data centre your SDKAppID was created in (--region), it answers nowhere else",
            scaffold::TIMPUSH_DEFAULT_REGION
        ));
    }
    if p.kind().as_str() == "getui" && a.app_id.is_none() {
        notes.push(format!(
            "app_id: `{}` written; replace it with your GeTui AppID (--app-id) before a real run",
            scaffold::GETUI_PLACEHOLDER_APP_ID
        ));
    }
    let settings = scaffold::settings(p, a.region.as_deref(), a.app_id.as_deref())
        .ok_or_else(|| Error::Internal(format!("no scaffold settings for {}", p.kind())))?;
    let schema = Path::new("playbook.schema.json");
    let s = Scaffold {
        provider: p,
        action: a.action,
        description: a
            .description
            .clone()
            .unwrap_or_else(|| describe(p, a.action, &a.tags, since.as_ref())),
        name,
        command_line: command_line(),
        path_shown: out.display().to_string(),
        schema_ref: schema
            .is_file()
            .then(|| std::fs::canonicalize(schema).ok())
            .flatten()
            .map(|f| relative(&out_abs, &f)),
        settings,
        ledger: ledger.as_ref().map(|(f, _)| relative(&out_abs, f)),
        tags: a.tags.clone(),
        since,
        ids: a.ids.clone(),
        ids_file: ids_file.map(|f| relative(&out_abs, &f)),
        body,
        vars: a.vars.vars.clone(),
        rate: a.rate.as_deref().map(|r| r.trim().to_string()),
        max_targets: a.max_targets,
    };
    let text = scaffold::render(&s);
    write(&out, &text, a.force)?;
    if let Some((_, why)) = ledger.as_ref().filter(|(_, why)| !why.is_empty()) {
        eprintln!("ledger: {why}");
    }

    // What `pushfix validate` would say of it, now.
    let now = super::now(&AsOfArgs::default())?;
    let prepared = match prepare(&out, &[], now, Timestamp::now()) {
        Ok(p) => p,
        Err(Error::Input(d)) => {
            eprintln!("{d}");
            eprintln!(
                "wrote `{}`, but it does not validate ({} problem{}): fix the lines above, or run init again with --force",
                out.display(),
                d.error_count(),
                if d.error_count() == 1 { "" } else { "s" }
            );
            return Ok(exit::INVALID_INPUT);
        }
        Err(e) => return Err(e),
    };
    print_warnings(&prepared.warnings);
    let plan = &prepared.plan;
    for w in plan
        .steps
        .iter()
        .flat_map(|s| &s.warnings)
        .chain(&plan.warnings)
    {
        eprintln!("warning: {w}");
    }
    let t = &plan.totals;
    if t.targets > a.max_targets {
        notes.push(format!(
            "the selection has {} targets, more than max_targets {}: plan and run will refuse (exit 5) until it is narrowed or --max-targets raised",
            t.targets, a.max_targets
        ));
    }
    let c = &prepared.playbook.provider.credentials;
    if !credential_warnings(&prepared.playbook).is_empty() {
        notes.push(format!(
            "`pushfix run` reads the credentials from {} and {} (validate, plan and run --sandbox do not need them)",
            c.id_env.value, c.secret_env.value
        ));
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    output::print(&format!(
        "wrote {}: 1 step, {} target{} ({} to send) as of {}\nnext: pushfix plan {}\n",
        out.display(),
        t.targets,
        if t.targets == 1 { "" } else { "s" },
        t.send,
        prepared.plan.as_of,
        out.display()
    ))?;
    Ok(exit::OK)
}

/// `--since`: a duration (`sent_within`) or an instant (`sent_after`).
fn since(text: &str) -> Result<Since, Error> {
    let t = text.trim();
    if let Ok(d) = parse_duration(t) {
        if d.is_zero() {
            return Err(Error::Usage(
                "--since 0: a window of no time selects nothing".into(),
            ));
        }
        return Ok(Since::Within(t.to_string()));
    }
    if parse_timestamp(t).is_ok() {
        return Ok(Since::After(t.to_string()));
    }
    // Say what is wrong with the reading the text looks like.
    if t.contains('-') || t.contains(':') {
        super::instant("--since", Some(t))?;
    }
    let why = parse_duration(t).err().unwrap_or_default();
    Err(Error::Usage(format!(
        "--since `{t}`: {why}; or an instant, for example 2026-11-20T00:00:00+08:00"
    )))
}

/// A playbook name as the format allows it.
fn check_name(n: &str) -> Result<(), Error> {
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.as_bytes()[0].is_ascii_alphanumeric()
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--name `{n}`: lowercase letters, digits and dashes, starting with a letter or digit, at most 64"
        )))
    }
}

/// PROVIDER-ACTION[-TAG], in the name's alphabet.
fn default_name(p: &dyn Provider, action: Action, tags: &[String]) -> String {
    let mut n = format!(
        "{}-{}",
        p.kind().as_str(),
        action.as_str().replace('_', "-")
    );
    if let Some(t) = tags.first() {
        let tag: String = t
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let tag = tag.trim_matches('-');
        if !tag.is_empty() {
            n.push('-');
            n.push_str(tag);
        }
    }
    let mut n: String = n.chars().take(64).collect();
    while n.ends_with('-') {
        n.pop();
    }
    n
}

fn describe(p: &dyn Provider, action: Action, tags: &[String], since: Option<&Since>) -> String {
    let verb = match action {
        Action::Recall => "Recall",
        Action::Stop => "Stop",
        Action::Override => "Override",
        Action::CancelScheduled => "Cancel the scheduled",
    };
    let mut d = format!("{verb} {} messages", p.display_name());
    if !tags.is_empty() {
        d.push_str(&format!(" tagged {}", tags.join(" or ")));
    }
    match since {
        Some(Since::Within(w)) => d.push_str(&format!(" sent within {w}")),
        Some(Since::After(t)) => d.push_str(&format!(" sent since {t}")),
        None => {}
    }
    d.push('.');
    d
}

/// A file named on the command line: it must exist; its absolute path.
fn given(path: &Path, flag: &str) -> Result<PathBuf, Error> {
    std::fs::canonicalize(path).map_err(|e| {
        Error::Usage(format!(
            "{flag} `{}`: {}",
            path.display(),
            crate::io_reason(&e)
        ))
    })
}

/// The first ledger in ./ledgers (then in the playbook folder's ../ledgers) holding this
/// provider's records, preferring one with scheduled tasks for `cancel_scheduled` and one
/// with sent messages otherwise; with why it was picked.
fn discover(
    p: &dyn Provider,
    action: Action,
    out_dir: &Path,
) -> Result<Option<(PathBuf, String)>, Error> {
    let mut dirs = vec![PathBuf::from("ledgers")];
    if let Some(parent) = out_dir.parent() {
        dirs.push(parent.join("ledgers"));
    }
    let scheduled_wanted = action == Action::CancelScheduled;
    // The best share of what the action needs (scheduled tasks, or sent messages); the first
    // such file by name, in the first folder that has any.
    let mut best: Option<(f64, PathBuf)> = None;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file() && Format::of(f).is_some())
            .collect();
        files.sort();
        for f in files {
            let Some(probe) = probe(&f, p) else { continue };
            let wanted = if scheduled_wanted {
                probe.scheduled
            } else {
                probe.sent
            };
            let share = wanted as f64 / (probe.sent + probe.scheduled) as f64;
            if best.as_ref().is_none_or(|(b, _)| share > *b) {
                best = Some((share, f));
            }
        }
        if best.is_some() {
            break;
        }
    }
    let Some((share, f)) = best else {
        return Ok(None);
    };
    let what = match (share > 0.0, scheduled_wanted) {
        (true, true) => "scheduled tasks",
        (true, false) => "sent messages",
        (false, _) => "records",
    };
    let why = format!(
        "{}, the ledger found with the most {} {what} (--ledger picks another)",
        f.display(),
        p.display_name()
    );
    Ok(Some((given(&f, "ledger")?, why)))
}

/// What the first records of a ledger say: sent messages and scheduled tasks of `p`.
struct Probe {
    sent: usize,
    scheduled: usize,
}

fn probe(f: &Path, p: &dyn Provider) -> Option<Probe> {
    let id = p.id_field();
    let sched_id = p.schedule_id_field();
    let scheduled = |v: Option<&str>| {
        v.is_some_and(|v| {
            let v = v.trim();
            !v.is_empty() && v != "false" && v != "0"
        })
    };
    let mut out = Probe {
        sent: 0,
        scheduled: 0,
    };
    match Format::of(f)? {
        Format::JsonLines => {
            let reader = BufReader::new(std::fs::File::open(f).ok()?);
            for line in reader.lines().take(PROBE_RECORDS * 2) {
                let line = line.ok()?;
                if line.trim().is_empty() {
                    continue;
                }
                let rec: serde_json::Value = serde_json::from_str(&line).ok()?;
                let obj = rec.as_object()?;
                // A schedule named apart (JPush's `schedule_id`) is the provider's too, and
                // is what cancel_scheduled acts on.
                let schedule = sched_id.is_some_and(|f| obj.contains_key(f));
                if !obj.contains_key(id) && !schedule {
                    return None;
                }
                let text = |k: &str| match obj.get(k) {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
                    Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                if schedule
                    || scheduled(text("scheduled").as_deref())
                    || scheduled(text("sched_task_id").as_deref())
                {
                    out.scheduled += 1;
                } else {
                    out.sent += 1;
                }
                if out.sent + out.scheduled >= PROBE_RECORDS {
                    break;
                }
            }
        }
        Format::Csv => {
            let mut r = csv::Reader::from_path(f).ok()?;
            let headers = r.headers().ok()?.clone();
            let col = |name: &str| headers.iter().position(|h| h.trim() == name);
            let schedule_col = sched_id.and_then(col);
            if col(id).is_none() && schedule_col.is_none() {
                return None;
            }
            let (sched, sched_task) = (col("scheduled"), col("sched_task_id"));
            for rec in r.records().take(PROBE_RECORDS) {
                let rec = rec.ok()?;
                let named_schedule = schedule_col
                    .and_then(|i| rec.get(i))
                    .is_some_and(|v| !v.trim().is_empty());
                let is_sched = named_schedule
                    || scheduled(sched.and_then(|i| rec.get(i)))
                    || scheduled(sched_task.and_then(|i| rec.get(i)));
                if is_sched {
                    out.scheduled += 1;
                } else {
                    out.sent += 1;
                }
            }
        }
    }
    (out.sent + out.scheduled > 0).then_some(out)
}

/// `to` relative to the folder `from` (both absolute), with `/` separators, as playbooks
/// write paths (relative to the playbook's folder).
fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to_c: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to_c).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return to.display().to_string();
    }
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        to_c[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// The command line, quoted for a shell, for the scaffold's header.
fn command_line() -> String {
    let mut parts = vec!["pushfix".to_string()];
    for a in std::env::args().skip(1) {
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@".contains(c));
        parts.push(if plain {
            a
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        });
    }
    parts.join(" ").replace('\n', " ")
}

/// Write the scaffold: never over an existing file unless `force` (checked again at the
/// write, so a file that appeared since the first check is not lost).
fn write(out: &Path, text: &str, force: bool) -> Result<(), Error> {
    if force {
        write_atomic(out, text.as_bytes())?;
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| crate::atomic_file::WriteError::new(out, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| crate::atomic_file::WriteError::new(out, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{default_name, relative, since};
    use crate::domain::Action;
    use crate::scaffold::Since;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        let r = |a: &str, b: &str| relative(Path::new(a), Path::new(b));
        assert_eq!(
            r("/w/playbooks", "/w/ledgers/a.jsonl"),
            "../ledgers/a.jsonl"
        );
        assert_eq!(r("/w/playbooks", "/w/playbooks/ids/x.txt"), "ids/x.txt");
        assert_eq!(r("/w/a/b", "/w/c.txt"), "../../c.txt");
    }

    #[test]
    fn since_reads_a_duration_or_an_instant() {
        assert_eq!(since("24h").unwrap(), Since::Within("24h".into()));
        assert_eq!(
            since("2026-11-20T00:00:00+08:00").unwrap(),
            Since::After("2026-11-20T00:00:00+08:00".into())
        );
        assert!(since("yesterday").is_err());
        assert!(since("2026-13-01T00:00:00Z").is_err());
        assert!(since("0s").is_err());
    }

    #[test]
    fn default_names_fit_the_format() {
        let p = crate::provider::find("getui").unwrap();
        assert_eq!(
            default_name(p, Action::CancelScheduled, &["BF Promo!".into()]),
            "getui-cancel-scheduled-bf-promo"
        );
        assert_eq!(default_name(p, Action::Stop, &[]), "getui-stop");
    }
}
