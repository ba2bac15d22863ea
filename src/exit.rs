//! Exit codes (DESIGN §1), documented in the README and tested.

/// Every target ended `done`, `gone` or `skipped` as the playbook allows.
pub const OK: i32 = 0;
/// The run completed but some targets `failed` or `gave_up`.
pub const FAILURES: i32 = 1;
/// Invalid input: usage, playbook, ledger, ids file, template, credentials missing.
pub const INVALID_INPUT: i32 = 2;
/// Aborted: failure budget exceeded, or interrupted after a clean drain.
pub const ABORTED: i32 = 3;
/// Another run holds the lock for this provider app and playbook.
pub const LOCKED: i32 = 4;
/// Refused by a guard: `max_targets` exceeded, saved plan stale or not matching its inputs.
pub const REFUSED: i32 = 5;
