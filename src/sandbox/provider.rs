//! The provider seam: what one simulated provider implements ([`SandboxProvider`]), and the
//! type-erased views of it the generic part uses ([`Registered`] for the registry, [`Running`]
//! for one provider inside a running sandbox).
//!
//! A provider implements the typed trait only. Its routes are its own enum (`Self::Route`), so
//! its handlers match on them with the compiler's help; the erasure (a `Box<dyn Any>` that only
//! ever goes back to the provider that made it) lives here, once, instead of in every provider.

use std::any::Any;
use std::marker::PhantomData;

use hyper::Method;
use jiff::Timestamp;
use serde_json::{Map, Value};

use super::config::{Credentials, SandboxConfig};
use super::exchange::{Ctx, Reply, Req};
use super::seed::SeedMessage;

/// One simulated provider. Implemented once per provider module (`src/sandbox/<name>/`) and
/// listed with one line in [`super::PROVIDERS`].
///
/// The type holds the provider's state for one running sandbox (its messages, rate windows,
/// issued ids, its credentials and switches), behind the sandbox's one lock: methods are never
/// called concurrently and never across an `await`.
pub(crate) trait SandboxProvider: Send + Sized + 'static {
    /// As playbooks write it (`provider: jpush`). Keys credentials and switches in
    /// [`SandboxConfig`], and is the `provider` of its requests and messages in the debug views.
    const NAME: &'static str;
    /// For people ("JPush").
    const TITLE: &'static str;
    /// What its ledger records are, in the startup line ("3 JPush messages").
    const SEED_NOUN: &'static str;
    /// The ledger field that makes a record this provider's (`msg_id`). No two providers share
    /// one: a record with two of them is refused.
    const SEED_ID_FIELD: &'static str;
    /// More fields that make a record this provider's, naming things other than messages (a
    /// JPush `schedule_id`). As unique across providers as [`Self::SEED_ID_FIELD`].
    const SEED_MORE_ID_FIELDS: &'static [&'static str] = &[];
    /// The environment variables `pushfix sandbox` reads its credentials from and prints
    /// `export` lines for: the id's, then the secret's.
    const CREDENTIAL_ENV: [&'static str; 2];
    /// Further credential parts (name in [`Credentials::extra`], environment variable), for
    /// providers whose apps have more than an id and a secret.
    const EXTRA_CREDENTIAL_ENV: &'static [(&'static str, &'static str)] = &[];
    /// Switches a config can turn on, as `NAME.option` (name, what it does).
    const OPTIONS: &'static [(&'static str, &'static str)] = &[];
    /// Request headers worth showing in `/_sandbox/requests` besides the generic ones. Never a
    /// credential: headers not listed anywhere are not logged.
    const LOGGED_HEADERS: &'static [&'static str] = &[];

    /// One of its endpoints, with what the path carried (a msg_id, an app id, …).
    type Route: Send + 'static;

    /// Throwaway credentials in the shape of real ones (with every extra part).
    fn random_credentials() -> Credentials;

    /// Read one ledger record that has [`Self::SEED_ID_FIELD`] (`file:line` is added by the
    /// caller). What the provider needs beyond the common fields goes in
    /// [`SeedMessage::extra`], already checked, so that [`Self::start`] cannot fail on it.
    fn parse_seed(record: &Map<String, Value>) -> Result<SeedMessage, String>;

    /// The provider's state at sandbox start.
    fn start(setup: Setup<'_>) -> Self;

    /// Whether the request is for one of its paths (None: not its path), and which endpoint.
    /// The query is there for providers whose routes or auth live in it.
    fn route(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
    ) -> Option<(PathKind, Routing<Self::Route>)>;

    /// The endpoint's name in the request log (`recall`).
    fn endpoint(route: &Self::Route) -> &'static str;

    /// Answer a request for one of its endpoints: auth, its rate windows, then the operation.
    /// Runs for requests the `timeout` fault holds too (the operation happens, the answer is
    /// lost), not for `5xx` or `reset`.
    fn handle(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, route: &Self::Route) -> Reply;

    /// Its answer for one of its paths with a method it does not take (a 405 in its envelope).
    fn wrong_method(&mut self, ctx: &Ctx<'_>, method: &Method, path: &str) -> Reply;

    /// Its "internal error" answer for the `5xx` fault (nothing is done).
    fn error_5xx(&mut self, ctx: &Ctx<'_>, route: &Self::Route) -> Reply;

    /// Its messages for `/_sandbox/messages`, each with its ordinal (the order the sandbox
    /// learnt of them: [`super::message::Message::ordinal`]).
    fn messages(&self, now: Timestamp) -> Vec<(u64, Value)>;

    /// Its part of `GET /_sandbox` and of the startup line.
    fn summary(&self) -> Summary;

    /// Take credentials out of what the request log keeps of a request (a signature in the
    /// query string, a sign in an auth body). Headers need nothing: only listed ones are kept.
    /// `route` is None for a wrong-method request, and for a path no provider claims (every
    /// provider is then asked, as a mistyped path may still carry its credentials).
    fn redact_request(
        &self,
        _route: Option<&Self::Route>,
        _query: &mut Option<String>,
        _body: &mut Value,
    ) {
    }
}

/// How a path matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathKind {
    /// A fixed path (`/v3/push/app`).
    Fixed,
    /// A pattern with a parameter (`/v3/push/{msg_id}`). When one provider matches a path as
    /// fixed and another as a pattern, the fixed match wins, as in most routers: the paths of
    /// different providers may then overlap without depending on the registry's order.
    Pattern,
}

/// Which of a provider's endpoints a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Routing<R> {
    Endpoint(R),
    /// One of its paths, a method it does not take.
    WrongMethod,
}

impl<R> Routing<R> {
    /// `Endpoint(route)` when `method` is the one the path takes, else `WrongMethod`.
    pub(crate) fn when(method: &Method, wanted: Method, route: R) -> Routing<R> {
        if *method == wanted {
            Routing::Endpoint(route)
        } else {
            Routing::WrongMethod
        }
    }
}

/// What a provider starts from.
pub(crate) struct Setup<'a> {
    pub config: &'a SandboxConfig,
    /// Its own credentials, from the config.
    pub credentials: Credentials,
    /// Its ledger records, each with its ordinal among all seeded messages.
    pub seeds: Vec<(u64, SeedMessage)>,
    /// The sandbox clock at start (a ledger record without `sent_at` counts as sent then).
    pub start: Timestamp,
    /// Whether signed timestamps are checked against the system clock. Off only in tests that
    /// replay a reference's fixed signature vectors (from years ago).
    pub check_clock: bool,
    name: &'static str,
}

impl Setup<'_> {
    /// Whether its switch `option` (`NAME.option` in the config) is on.
    pub fn enabled(&self, option: &str) -> bool {
        self.config.enabled(&format!("{}.{option}", self.name))
    }
}

/// A provider's part of `GET /_sandbox` and of `pushfix sandbox`'s startup line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    /// Entries of `rates` (`"jpush_push_family": "600 per 60s"`).
    pub rates: Vec<(&'static str, String)>,
    /// More top-level keys (`"tpns_revoke_enabled": false`).
    pub fields: Vec<(&'static str, Value)>,
    /// Its corrective rate for the startup line ("600 per 60s"; the title is put before it).
    pub rate: String,
    /// More for the startup line ("TPNS revoke enabled").
    pub notes: Vec<String>,
}

/// The registry's view of a provider: what is known before a sandbox starts.
pub(crate) trait Registered: Sync {
    fn name(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn seed_noun(&self) -> &'static str;
    fn seed_id_field(&self) -> &'static str;
    /// The provider's further id fields ([`SandboxProvider::SEED_MORE_ID_FIELDS`]).
    fn seed_more_id_fields(&self) -> &'static [&'static str] {
        &[]
    }
    fn credential_env(&self) -> [&'static str; 2];
    fn extra_credential_env(&self) -> &'static [(&'static str, &'static str)];
    fn options(&self) -> &'static [(&'static str, &'static str)];
    fn logged_headers(&self) -> &'static [&'static str];
    fn random_credentials(&self) -> Credentials;
    fn parse_seed(&self, record: &Map<String, Value>) -> Result<SeedMessage, String>;
    fn start(
        &self,
        config: &SandboxConfig,
        seeds: Vec<(u64, SeedMessage)>,
        start: Timestamp,
        check_clock: bool,
    ) -> Box<dyn Running>;
}

/// The registry entry of provider `P` (`&Register::<jpush::Jpush>::NEW`).
pub(crate) struct Register<P>(PhantomData<fn() -> P>);

impl<P> Register<P> {
    pub(crate) const NEW: Register<P> = Register(PhantomData);
}

impl<P: SandboxProvider> Registered for Register<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn title(&self) -> &'static str {
        P::TITLE
    }
    fn seed_noun(&self) -> &'static str {
        P::SEED_NOUN
    }
    fn seed_id_field(&self) -> &'static str {
        P::SEED_ID_FIELD
    }
    fn seed_more_id_fields(&self) -> &'static [&'static str] {
        P::SEED_MORE_ID_FIELDS
    }
    fn credential_env(&self) -> [&'static str; 2] {
        P::CREDENTIAL_ENV
    }
    fn extra_credential_env(&self) -> &'static [(&'static str, &'static str)] {
        P::EXTRA_CREDENTIAL_ENV
    }
    fn options(&self) -> &'static [(&'static str, &'static str)] {
        P::OPTIONS
    }
    fn logged_headers(&self) -> &'static [&'static str] {
        P::LOGGED_HEADERS
    }
    fn random_credentials(&self) -> Credentials {
        P::random_credentials()
    }
    fn parse_seed(&self, record: &Map<String, Value>) -> Result<SeedMessage, String> {
        P::parse_seed(record)
    }
    fn start(
        &self,
        config: &SandboxConfig,
        seeds: Vec<(u64, SeedMessage)>,
        start: Timestamp,
        check_clock: bool,
    ) -> Box<dyn Running> {
        // A config always holds every registered provider's credentials (its constructor fills
        // them in and nothing removes them).
        let credentials = config
            .credentials(P::NAME)
            .cloned()
            .unwrap_or_else(P::random_credentials);
        Box::new(Instance(P::start(Setup {
            config,
            credentials,
            seeds,
            start,
            check_clock,
            name: P::NAME,
        })))
    }
}

/// A route of some provider, for the generic part to hand back to that provider.
pub(crate) struct ErasedRoute {
    pub endpoint: &'static str,
    route: Box<dyn Any + Send>,
}

/// One provider in a running sandbox.
pub(crate) trait Running: Send {
    fn route(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
    ) -> Option<(PathKind, Routing<ErasedRoute>)>;
    fn handle(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, route: &ErasedRoute) -> Reply;
    fn wrong_method(&mut self, ctx: &Ctx<'_>, method: &Method, path: &str) -> Reply;
    fn error_5xx(&mut self, ctx: &Ctx<'_>, route: &ErasedRoute) -> Reply;
    fn messages(&self, now: Timestamp) -> Vec<(u64, Value)>;
    fn summary(&self) -> Summary;
    fn redact_request(
        &self,
        route: Option<&ErasedRoute>,
        query: &mut Option<String>,
        body: &mut Value,
    );
}

struct Instance<P>(P);

/// The provider's own route back. Routes only ever go back to the provider whose `route` made
/// them (the generic part keeps the provider's index beside it).
fn typed<P: SandboxProvider>(route: &ErasedRoute) -> &P::Route {
    route
        .route
        .downcast_ref::<P::Route>()
        .expect("a route goes back to the provider that made it")
}

impl<P: SandboxProvider> Running for Instance<P> {
    fn route(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
    ) -> Option<(PathKind, Routing<ErasedRoute>)> {
        let (kind, routing) = self.0.route(method, path, query)?;
        Some((
            kind,
            match routing {
                Routing::Endpoint(r) => Routing::Endpoint(ErasedRoute {
                    endpoint: P::endpoint(&r),
                    route: Box::new(r),
                }),
                Routing::WrongMethod => Routing::WrongMethod,
            },
        ))
    }

    fn handle(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, route: &ErasedRoute) -> Reply {
        self.0.handle(ctx, req, typed::<P>(route))
    }

    fn wrong_method(&mut self, ctx: &Ctx<'_>, method: &Method, path: &str) -> Reply {
        self.0.wrong_method(ctx, method, path)
    }

    fn error_5xx(&mut self, ctx: &Ctx<'_>, route: &ErasedRoute) -> Reply {
        self.0.error_5xx(ctx, typed::<P>(route))
    }

    fn messages(&self, now: Timestamp) -> Vec<(u64, Value)> {
        self.0.messages(now)
    }

    fn summary(&self) -> Summary {
        self.0.summary()
    }

    fn redact_request(
        &self,
        route: Option<&ErasedRoute>,
        query: &mut Option<String>,
        body: &mut Value,
    ) {
        self.0.redact_request(route.map(typed::<P>), query, body)
    }
}
