//! How a sandbox behaves: per-provider credentials and switches, the rate, faults, the clock.

use std::collections::BTreeSet;
use std::fmt;

use jiff::SignedDuration;

use super::PROVIDERS;
use super::faults::Faults;

/// One provider app's credentials: an id (JPush app key, TPNS access id, …) and its secret,
/// plus the further non-secret parts some providers need besides (GeTui's app key next to its
/// app id), by name. `Debug` shows all but the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub id: String,
    pub secret: String,
    /// By the names in the provider's `EXTRA_CREDENTIAL_ENV`.
    pub extra: Vec<(&'static str, String)>,
}

impl Credentials {
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Credentials {
        Credentials {
            id: id.into(),
            secret: secret.into(),
            extra: Vec::new(),
        }
    }

    /// A further part, by name.
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Set a further part (replacing one of the same name).
    pub fn set_extra(&mut self, name: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.extra.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.extra.push((name, value)),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("extra", &self.extra)
            .finish()
    }
}

/// How the sandbox behaves. Build one with [`SandboxConfig::with_random_credentials`] and change
/// what you need. `Debug` redacts the secrets.
#[derive(Clone)]
pub struct SandboxConfig {
    /// One entry per registered provider, in registry order (so a config always has credentials
    /// for every provider the sandbox answers for).
    credentials: Vec<(&'static str, Credentials)>,
    /// Enabled provider switches, `provider.option` (`tpns.revoke`).
    options: BTreeSet<String>,
    /// Limit for the corrective API families (each provider says which of its endpoints that
    /// covers). None = each provider's documented default.
    pub rate: Option<crate::domain::Rate>,
    /// No ceiling on the corrective API families at all (`--rate off`): for throughput
    /// benchmarks, where the sandbox must not be what limits the client. Overrides `rate`; the
    /// statistics quota (TPNS `get_push_record`, 200/h) stays.
    pub unlimited: bool,
    pub faults: Faults,
    /// The sandbox clock = system clock + this offset (to rehearse a past incident; override
    /// windows and scheduled-task dispatch use it).
    pub clock_offset: SignedDuration,
    /// Fault-injection RNG seed (deterministic for a given order of requests).
    pub seed: u64,
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("credentials", &self.credentials)
            .field("options", &self.options)
            .field("rate", &self.rate)
            .field("unlimited", &self.unlimited)
            .field("faults", &self.faults)
            .field("clock_offset", &self.clock_offset)
            .field("seed", &self.seed)
            .finish()
    }
}

impl SandboxConfig {
    /// Throwaway credentials for every provider (each in the shape of its real ones), default
    /// rates, no faults, no switches on, no clock offset, seed 0.
    pub fn with_random_credentials() -> Self {
        SandboxConfig {
            credentials: PROVIDERS
                .iter()
                .map(|p| (p.name(), p.random_credentials()))
                .collect(),
            options: BTreeSet::new(),
            rate: None,
            unlimited: false,
            faults: Faults::none(),
            clock_offset: SignedDuration::ZERO,
            seed: 0,
        }
    }

    /// The credentials the sandbox accepts for `provider` (its name as playbooks write it:
    /// `jpush`, `tpns`); None for a provider the sandbox does not simulate.
    pub fn credentials(&self, provider: &str) -> Option<&Credentials> {
        self.credentials
            .iter()
            .find(|(p, _)| *p == provider)
            .map(|(_, c)| c)
    }

    pub fn credentials_mut(&mut self, provider: &str) -> Option<&mut Credentials> {
        self.credentials
            .iter_mut()
            .find(|(p, _)| *p == provider)
            .map(|(_, c)| c)
    }

    /// Turn on a provider switch, `provider.option` (e.g. `tpns.revoke`). Unknown names are an
    /// error that lists the known ones.
    pub fn enable(&mut self, option: &str) -> Result<(), String> {
        let known = PROVIDERS.iter().any(|p| {
            option.split_once('.').is_some_and(|(provider, name)| {
                provider == p.name() && p.options().iter().any(|(o, _)| *o == name)
            })
        });
        if !known {
            let all: Vec<String> = PROVIDERS
                .iter()
                .flat_map(|p| {
                    p.options()
                        .iter()
                        .map(|(o, about)| format!("`{}.{o}` ({about})", p.name()))
                })
                .collect();
            return Err(format!(
                "unknown sandbox option `{option}`; the options are {}",
                if all.is_empty() {
                    "none".to_string()
                } else {
                    all.join(", ")
                }
            ));
        }
        self.options.insert(option.to_string());
        Ok(())
    }

    /// Whether a switch (`provider.option`) is on.
    pub fn enabled(&self, option: &str) -> bool {
        self.options.contains(option)
    }
}

/// `n` random lowercase hex digits (throwaway keys in the shape of real ones).
pub(crate) fn random_hex(n: usize) -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).expect("hex digit"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_switches_by_provider_name() {
        let mut c = SandboxConfig::with_random_credentials();
        for p in PROVIDERS {
            assert!(c.credentials(p.name()).is_some(), "{}", p.name());
        }
        assert!(c.credentials("nope").is_none());
        assert!(!c.enabled("tpns.revoke"));
        c.enable("tpns.revoke").unwrap();
        assert!(c.enabled("tpns.revoke"));
        let e = c.enable("tpns.nope").unwrap_err();
        assert!(e.contains("`tpns.revoke`"), "{e}");
        assert!(c.enable("revoke").is_err());
        assert!(c.enable("jpush.revoke").is_err());
    }
}
