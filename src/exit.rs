//! Exit codes (DESIGN §1): the one table. Each constant is documented here, in the README and
//! in `--help`; `meaning` words them for reports; `Error::exit_code` (error.rs) maps each error
//! to one of them; `for_run` decides a run's.

/// Every target ended `done`, `gone` or `skipped` as the playbook allows.
pub const OK: i32 = 0;
/// The run completed but some targets `failed` or `gave_up`.
pub const FAILURES: i32 = 1;
/// Invalid input: usage, playbook, ledger, ids file, template, journal, plan, credentials
/// missing; or a file pushfix must write cannot be (nothing was sent).
pub const INVALID_INPUT: i32 = 2;
/// Aborted: failure budget exceeded, `--max-runtime` reached, or interrupted (SIGINT/SIGTERM)
/// after a clean drain.
pub const ABORTED: i32 = 3;
/// Another run holds the lock for this provider app and playbook.
pub const LOCKED: i32 = 4;
/// Refused by a guard: `max_targets` exceeded, saved plan stale or not matching its inputs, an
/// earlier run of the playbook unfinished (`resume` it).
pub const REFUSED: i32 = 5;
/// A bug in pushfix (an internal error): not the user's input, not the provider's answer.
pub const INTERNAL: i32 = 101;

/// Every code with its meaning, in order (for `--help`, reports and the README's table).
pub const TABLE: &[(i32, &str)] = &[
    (OK, "every target done, gone or skipped"),
    (FAILURES, "some targets failed or gave up"),
    (INVALID_INPUT, "invalid input"),
    (ABORTED, "aborted"),
    (LOCKED, "locked"),
    (REFUSED, "refused by a guard"),
    (INTERNAL, "internal error (a bug in pushfix)"),
];

pub fn meaning(code: i32) -> &'static str {
    TABLE
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("unknown", |(_, m)| m)
}

/// A run's code: 3 when it did not finish (stopped, or targets left without an outcome), 1
/// when targets failed or gave up, else 0.
pub fn for_run(unfinished: bool, failures: u64) -> i32 {
    if unfinished {
        ABORTED
    } else if failures > 0 {
        FAILURES
    } else {
        OK
    }
}

/// `--help`'s line (a test keeps it naming every code of `TABLE`).
pub const HELP: &str = "Exit codes: 0 ok, 1 some targets failed, 2 invalid input, 3 aborted, 4 locked, 5 refused by a guard, 101 internal error.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_names_every_code() {
        for (code, _) in TABLE {
            assert!(HELP.contains(&format!(" {code} ")), "{code}");
        }
    }
}
