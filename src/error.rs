//! The command-level error: what ends a command before (or instead of) a run's own result.
//! Each variant maps to one documented exit code (exit.rs); lower layers return their own
//! types (located diagnostics, `JournalError`, `WriteError`, `LockError`), converted here.

use std::fmt;

use crate::atomic_file::WriteError;
use crate::diag::Diagnostics;
use crate::exit;
use crate::journal::JournalError;

#[derive(Debug)]
pub enum Error {
    /// Bad input, located: playbook, ledger, ids file, template (exit 2).
    Input(Diagnostics),
    /// Bad command-line usage, environment or a file given on the command line (exit 2).
    Usage(String),
    /// A journal that cannot be read back (exit 2, with its line).
    Journal(JournalError),
    /// A file pushfix must write cannot be, before anything was sent (exit 2).
    Write(WriteError),
    /// A guard refused (exit 5).
    Refused(String),
    /// Another run holds the lock (exit 4).
    Locked(String),
    /// stdout was closed (`pushfix plan | head`): end quietly, as ripgrep does.
    ClosedStdout,
    /// A bug in pushfix (exit 101).
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Usage(_) | Error::Journal(_) | Error::Write(_) => {
                exit::INVALID_INPUT
            }
            Error::Refused(_) => exit::REFUSED,
            Error::Locked(_) => exit::LOCKED,
            Error::ClosedStdout => exit::OK,
            Error::Internal(_) => exit::INTERNAL,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(d) => {
                let n = d.error_count();
                write!(f, "{d}")?;
                if n > 1 {
                    write!(f, "\n{n} problems found")?;
                }
                Ok(())
            }
            Error::Usage(m) => write!(f, "error: {m}"),
            Error::Journal(e) => write!(f, "error: {e}"),
            Error::Write(e) => write!(f, "error: {e}"),
            Error::Refused(m) => write!(f, "refused: {m}"),
            Error::Locked(m) => write!(f, "locked: {m}"),
            Error::ClosedStdout => Ok(()),
            Error::Internal(m) => write!(f, "internal error (a bug in pushfix): {m}"),
        }
    }
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Self {
        Error::Input(d)
    }
}

impl From<JournalError> for Error {
    fn from(e: JournalError) -> Self {
        Error::Journal(e)
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        Error::Write(e)
    }
}
