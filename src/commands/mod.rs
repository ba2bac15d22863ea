//! Commands: the glue between the CLI and the library, one file per command. Results go to
//! stdout, diagnostics and progress to stderr; each command returns its exit code or an
//! `Error`, which `main` prints and maps (exit.rs).

mod apply;
mod campaign;
mod init;
mod man;
mod matrix;
mod output;
mod plan;
mod prepare;
mod report;
mod resume;
mod run;
mod sandbox;
mod validate;
mod verify;

use clap::{CommandFactory, Parser};
use jiff::Timestamp;

pub use prepare::{Prepared, prepare};

use crate::cli::{AsOfArgs, Cli, Command};
use crate::diag::{Diagnostic, Diagnostics, SourceFile, Span};
use crate::domain::{TimestampReason, parse_timestamp};
use crate::error::Error;
use crate::exit;

/// The whole program: parse the arguments, run the command, print its error; the exit code.
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
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            if !matches!(e, Error::ClosedStdout) {
                eprintln!("{e}");
            }
            e.exit_code()
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Validate(a) => validate::validate(a),
        Command::Plan(a) => plan::plan(a),
        Command::Matrix(a) => matrix::matrix(a),
        Command::Run(a) => run::run(a),
        Command::Report(a) => report::report(a),
        Command::Resume(a) => resume::resume(a),
        Command::Verify(a) => verify::verify(a),
        Command::Apply(a) => apply::apply(a),
        Command::Sandbox(a) => sandbox::sandbox(a),
        Command::Schema => {
            output::print(&crate::playbook::schema::playbook_schema_json())?;
            Ok(exit::OK)
        }
        Command::Init(a) => init::init(a),
        Command::Man(a) => man::man(a),
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "pushfix", &mut text);
            output::print(&String::from_utf8_lossy(&text))?;
            Ok(exit::OK)
        }
    }
}

/// "Now" for planning: `--as-of`, else `PUSHFIX_NOW` (RFC 3339; the test suite pins it),
/// else the system clock.
pub fn now(as_of: &AsOfArgs) -> Result<Timestamp, Error> {
    if let Some(t) = instant("--as-of", as_of.as_of.as_deref())? {
        return Ok(t);
    }
    match std::env::var("PUSHFIX_NOW") {
        Ok(v) => v
            .parse()
            .map_err(|_| Error::Usage(format!("PUSHFIX_NOW=`{v}` is not an RFC 3339 timestamp"))),
        Err(_) => Ok(Timestamp::now()),
    }
}

/// A time given on the command line (`--as-of`): an error names what is wrong and points at it
/// in the value, as playbook errors do.
pub fn instant(flag: &str, text: Option<&str>) -> Result<Option<Timestamp>, Error> {
    let Some(text) = text else { return Ok(None) };
    match parse_timestamp(text) {
        Ok(t) => Ok(Some(t)),
        Err(e) => {
            // The field jiff names, at its place in `YYYY-MM-DDTHH:MM:SS`.
            let (col, width) = match &e.reason {
                TimestampReason::OutOfRange(why) => [
                    ("'year'", 1, 4),
                    ("'month'", 6, 2),
                    ("'day'", 9, 2),
                    ("'hour'", 12, 2),
                    ("'minute'", 15, 2),
                    ("'second'", 18, 2),
                ]
                .iter()
                .find(|(f, _, _)| why.contains(f))
                .map_or((1, text.chars().count()), |(_, c, w)| (*c, *w)),
                TimestampReason::NoOffset => (text.chars().count() + 1, 1),
                TimestampReason::NotATime => (1, text.chars().count()),
            };
            let file = SourceFile::new(flag, text.to_string());
            let span = Span {
                line: 1,
                col: col as u32,
                width: width.max(1) as u32,
            };
            let mut d = Diagnostics::new();
            d.push(
                Diagnostic::error(format!("`{flag} {text}` {}", e.explain()))
                    .at(&file, span)
                    .help("for example 2026-11-20T12:30:00+08:00 or 2026-11-20T04:30:00Z"),
            );
            Err(Error::Input(d))
        }
    }
}
