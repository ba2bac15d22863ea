//! stdout for results. A closed stdout (`pushfix plan | head`) ends a command quietly, as
//! ripgrep does, instead of an error or a panic; once a campaign has started, results are also
//! in the run directory, so the campaign finishes and only the printing stops.

use std::io::{ErrorKind, Write};

use crate::error::Error;

/// Print to stdout; a closed pipe is `Error::ClosedStdout`.
pub fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Err(Error::ClosedStdout),
        Err(e) => Err(Error::Usage(format!(
            "cannot write to stdout: {}",
            crate::io_reason(&e)
        ))),
    }
}

/// Print JSON (pretty, with a final newline) to stdout as it is serialized: a large plan is
/// never held as text. A closed pipe is `Error::ClosedStdout`.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Error> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Err(Error::ClosedStdout),
        Err(e) => Err(Error::Usage(format!(
            "cannot write to stdout: {}",
            crate::io_reason(&e)
        ))),
    }
}

/// Print during or after a campaign: the run's record is on disk, so a closed stdout only
/// stops the printing.
pub fn print_after_start(text: &str) {
    let _ = print(text);
}
