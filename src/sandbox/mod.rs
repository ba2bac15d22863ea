//! The built-in provider simulator (DESIGN §7): a local HTTP server that answers the corrective
//! endpoints of every provider in [`PROVIDERS`] on one port, keeps the state of every message
//! it was seeded with (or that was sent through it), injects faults, and shows what it
//! received.
//!
//! It is a second, independent implementation of the provider protocols, written from the
//! references (`reference/<provider>.md`) and the Chinese originals, not from pushfix's client
//! code, so that the client and the sandbox cannot share one wrong assumption unnoticed. Where
//! the references are silent or unverified, the choice made is marked **choice** next to the
//! code; each provider module's notes sum its choices up.
//!
//! Layout: the generic part names no provider. [`provider`] is the seam (`SandboxProvider`);
//! each provider is one folder (`jpush/`, `tpns/`) owning its routes, auth, per-app state
//! (rate windows, issued ids, …), envelopes, ledger records, messages view, debug summary and
//! credentials. Generic: [`server`] (listener, connections, shutdown), [`handler`] (one request:
//! routing, request log, faults, latency), [`request_log`], [`debug`] (`/_sandbox*`),
//! [`faults`] (and [`delay`], their latency's timer), [`config`], [`seed`] (reading ledgers), [`message`] (what all providers'
//! messages share), [`rate_window`], [`standalone`] (`pushfix sandbox`).
//!
//! Debug endpoints (no auth, no faults, no latency):
//!
//! - `GET /_sandbox/requests`: a JSON array, one object per provider request in arrival order
//!   (`seq`, `time` on the sandbox clock, RFC 3339 UTC with milliseconds, `elapsed_us` since the
//!   sandbox started on the monotonic clock its rate windows use, `method`, `path`,
//!   `query`, `provider`, `endpoint`, a safe subset of `headers`, an `auth` summary, `body` as
//!   received (JSON, else text), `status`, `response_headers`, `response`, `fault`, `outcome` =
//!   pending/answered/held/reset, `latency_ms`, and a `note` saying why the sandbox answered
//!   so). It never holds a credential header (`Authorization`, a signature), a secret or a
//!   token; an app id appears only when it is the sandbox's own.
//! - `GET /_sandbox/messages`: a JSON array of every message (seeded, then sent through the
//!   sandbox) with its `state` (delivered, scheduled, stopped, overridden, recalled, cancelled),
//!   the times of the changes, `overridden_by`, `overrides`, `events`, the provider's own fields,
//!   and for sandbox-sent pushes a `sent` object (request seq, payload, and informational
//!   `checks` against the original).
//! - `GET /_sandbox`: the clock, the rates, the faults, the providers' switches.
//!
//! A path no provider claims gets HTTP 404 `{"error":{"code":404,"message":…}}`; a provider's
//! path with another method gets that provider's 405. Providers' paths may overlap when one is
//! a pattern (`/v3/push/{msg_id}`) and the other fixed (`/v3/push/app`): the fixed one wins.
//!
//! Adding a provider `acme`:
//!
//! 1. Make the folder `src/sandbox/acme/` with a `mod.rs` that defines `pub(crate) struct Acme`
//!    (its state for one running sandbox) and `impl SandboxProvider for Acme`: its name as
//!    playbooks write it; its credentials' environment variables and random shape (parts
//!    beyond an id and a secret go in `EXTRA_CREDENTIAL_ENV`); its switches; the ledger field
//!    that marks its records and how to read them; its routes and their handlers (auth
//!    first); its 405 and 5xx answers; its messages view and its summary. Wrap
//!    [`message::Message`] in its own message type and change its state through its methods;
//!    keep its rate windows ([`rate_window::Window`]) in its struct; take credentials out of
//!    logged queries and bodies with `redact_request`, out of logged answers with
//!    `Reply::log_body`. Split the folder into files named after what they hold.
//! 2. Add `mod acme;` and its line `&Register::<acme::Acme>::NEW` to [`PROVIDERS`] below.
//! 3. Put its tests beside it (`acme/tests.rs`, using `tests::support`).
//!
//! Nothing else changes: credentials (`SandboxConfig::credentials("acme")`), switches
//! (`acme.<option>`), ledger seeding, routing, the request log, the debug views and
//! `pushfix sandbox`'s `export` lines all come from the registry.

mod config;
mod debug;
mod delay;
mod exchange;
mod faults;
mod handler;
mod message;
mod provider;
mod rate_window;
mod request_log;
mod seed;
mod server;
mod standalone;

mod getui;
mod jpush;
mod timpush;
mod tpns;

#[cfg(test)]
mod tests;

pub use config::{Credentials, SandboxConfig};
pub use faults::{Faults, HOLD};
pub use message::Scheduled;
pub use seed::{SeedMessage, load_ledger};
pub use server::Sandbox;
pub use standalone::serve_until_signal;

use provider::{Register, Registered};

/// The providers the sandbox simulates, one line each. Their order is the order of the
/// credentials `pushfix sandbox` prints and of the debug summary's entries.
pub(crate) static PROVIDERS: &[&dyn Registered] = &[
    &Register::<jpush::Jpush>::NEW,
    &Register::<tpns::Tpns>::NEW,
    &Register::<timpush::Timpush>::NEW,
    &Register::<getui::Getui>::NEW,
];
