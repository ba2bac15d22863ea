//! The command-level error: each variant maps to one documented exit code.

use std::fmt;

use crate::diag::Diagnostics;
use crate::exit;

#[derive(Debug)]
pub enum Error {
    /// Bad input, located (exit 2).
    Input(Diagnostics),
    /// Bad command-line usage or environment (exit 2).
    Usage(String),
    /// A guard refused (exit 5).
    Refused(String),
    /// Another run holds the lock (exit 4).
    Locked(String),
    /// The run stopped early: failure budget or signal (exit 3).
    Aborted(String),
    /// The run finished with failed or gave-up targets (exit 1).
    Failures(String),
    /// Anything else: I/O on our own files, bugs (exit 1).
    Other(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Usage(_) => exit::INVALID_INPUT,
            Error::Refused(_) => exit::REFUSED,
            Error::Locked(_) => exit::LOCKED,
            Error::Aborted(_) => exit::ABORTED,
            Error::Failures(_) | Error::Other(_) => exit::FAILURES,
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
            Error::Refused(m) => write!(f, "refused: {m}"),
            Error::Locked(m) => write!(f, "locked: {m}"),
            Error::Aborted(m) => write!(f, "aborted: {m}"),
            Error::Failures(m) => write!(f, "{m}"),
            Error::Other(m) => write!(f, "error: {m}"),
        }
    }
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Self {
        Error::Input(d)
    }
}
