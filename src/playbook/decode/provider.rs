//! `provider:` — the kind, endpoint and credentials every provider has, and the keys each
//! provider reads itself (`Provider::decode_settings`), with hints for keys of another one.

use super::secrets::looks_like_secret;
use super::{
    Decoder, ENV_REF_KEYS, Fields, MESSAGE_COMMON_KEYS, PROVIDER_COMMON_KEYS, valid_env_name,
};
use crate::diag::Diagnostic;
use crate::playbook::{Credentials, Located, ProviderConfig};
use crate::provider::endpoint::check_endpoint;
use crate::provider::{self, KeyPath, Provider, SettingsReader};
use crate::yaml::{Node, Value};

impl Decoder<'_> {
    /// Report keys that belong to another provider than the playbook's.
    pub(super) fn provider_only_keys(&mut self, f: &Fields<'_>, at: KeyPath) {
        let Some(mine) = self.provider else { return };
        let owns =
            |p: &dyn Provider, key: &str| p.own_keys().iter().any(|k| k.at == at && k.name == key);
        for (key, _) in f.entries {
            if owns(mine, &key.name) {
                continue;
            }
            let Some(owner) = provider::all().iter().find(|p| owns(**p, &key.name)) else {
                continue;
            };
            let span = key.span;
            self.error(
                span,
                format!(
                    "`{}` is a {} setting, but this playbook's provider is {}",
                    key.name,
                    owner.display_name(),
                    mine.display_name()
                ),
            )
            .with_help(mine.keys_hint(at));
        }
    }

    pub(super) fn provider(&mut self, node: &Node) -> Option<ProviderConfig> {
        let allowed = keys_at(KeyPath::Provider);
        let f = self.fields(node, "provider", &allowed)?;
        let kind_node = self.require(&f, "kind", "provider")?;
        let names = provider::kind_names();
        let options: Vec<(&'static str, &'static str)> = names.iter().map(|n| (*n, *n)).collect();
        let name = self.choice(kind_node, "provider.kind", &options)?;
        let p = provider::find(name)?;
        self.provider = Some(p);
        self.provider_only_keys(&f, KeyPath::Provider);

        let endpoint = f.get("endpoint").and_then(|n| self.endpoint(n));
        let decoded = p.decode_settings(&mut ProviderKeys {
            dec: self,
            fields: &f,
            endpoint: endpoint.is_some(),
        });
        let (base_url, base_url_source) = match endpoint {
            Some(e) => (e, "endpoint".to_string()),
            None => decoded.base_url,
        };
        let credentials = match self.require(&f, "credentials", "provider") {
            Some(n) => self.credentials(n, p),
            None => None,
        };
        Some(ProviderConfig {
            kind: p.kind(),
            base_url,
            base_url_source,
            credentials: credentials?,
            settings: decoded.values,
            defaulted: decoded.defaulted,
        })
    }

    pub(super) fn endpoint(&mut self, node: &Node) -> Option<String> {
        let s = self.string(node, "provider.endpoint")?;
        match check_endpoint(&s.value) {
            Ok(url) => Some(url),
            Err(e) => {
                self.error(node.span, e.message).with_help(e.help);
                None
            }
        }
    }

    pub(super) fn credentials(&mut self, node: &Node, p: &dyn Provider) -> Option<Credentials> {
        let allowed = keys_at(KeyPath::Credentials);
        let f = self.fields(node, "provider.credentials", &allowed)?;
        self.provider_only_keys(&f, KeyPath::Credentials);
        let keys = p.credential_keys();
        let id = self
            .require(&f, keys.id, "provider.credentials")
            .and_then(|n| self.env_ref(n, keys.id));
        let secret = self
            .require(&f, keys.secret, "provider.credentials")
            .and_then(|n| self.env_ref(n, keys.secret));
        Some(Credentials {
            id_env: id?,
            secret_env: secret?,
        })
    }

    /// `{ env: NAME }`. A literal value is refused without echoing it.
    pub(super) fn env_ref(&mut self, node: &Node, key: &str) -> Option<Located<String>> {
        let what = format!("provider.credentials.{key}");
        if !matches!(node.value, Value::Map(_)) {
            let upper = format!(
                "{}_{}",
                self.provider
                    .map_or("PUSH", |p| p.kind().as_str())
                    .to_uppercase(),
                key.to_uppercase()
            );
            self.error(
                node.span,
                format!("`{what}` must reference an environment variable, not hold a value"),
            )
            .with_label("a literal credential here would end up in git")
            .with_help(format!(
                "write `{key}: {{ env: {upper} }}` and export {upper} where pushfix runs"
            ));
            return None;
        }
        let f = self.fields(node, &what, ENV_REF_KEYS)?;
        let env = self.require(&f, "env", &what)?;
        let name = self.string(env, &format!("{what}.env"))?;
        if looks_like_secret(&name.value) {
            // Never echo it: this is most likely the secret itself, pasted where its name belongs.
            self.error(env.span, format!("`{what}.env` looks like a credential value, not an environment variable name"))
                .with_label("a secret here would end up in git")
                .with_help("put the variable's name here (for example JPUSH_MASTER_SECRET) and export the value where pushfix runs");
            return None;
        }
        if !valid_env_name(&name.value) {
            self.error(env.span, format!("`{}` is not an environment variable name", name.value))
                .with_help("use letters, digits and underscores, not starting with a digit (for example JPUSH_MASTER_SECRET)");
            return None;
        }
        Some(name)
    }
}

/// A provider's view of its keys in `provider:`, errors located by the decoder.
pub(super) struct ProviderKeys<'d, 'a, 'n> {
    dec: &'d mut Decoder<'a>,
    fields: &'d Fields<'n>,
    endpoint: bool,
}

impl SettingsReader for ProviderKeys<'_, '_, '_> {
    fn has(&self, key: &str) -> bool {
        self.fields.has(key)
    }

    fn has_endpoint(&self) -> bool {
        self.endpoint
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        let n = self.fields.get(key)?;
        self.dec.boolean(n, &format!("provider.{key}"))
    }

    fn string(&mut self, key: &str) -> Option<String> {
        let n = self.fields.get(key)?;
        self.dec
            .string(n, &format!("provider.{key}"))
            .map(|s| s.value)
    }

    fn choice(&mut self, key: &str, options: &[&'static str]) -> Option<&'static str> {
        let n = self.fields.get(key)?;
        let options: Vec<(&'static str, &'static str)> = options.iter().map(|o| (*o, *o)).collect();
        self.dec.choice(n, &format!("provider.{key}"), &options)
    }

    fn text(&mut self, key: &str) -> Option<String> {
        let n = self.fields.get(key)?;
        self.dec
            .string(n, &format!("provider.{key}"))
            .map(|s| s.value)
    }

    fn error(&mut self, key: &str, message: &str, help: &str) {
        let span = self.fields.key(key).map_or(self.fields.span, |k| k.span);
        self.dec.error(span, message).with_help(help);
    }

    fn warning(&mut self, message: &str, help: &str) {
        let span = self.fields.owner.unwrap_or(self.fields.span);
        self.dec.diags.push(
            Diagnostic::warning(message)
                .at(self.dec.file, span)
                .help(help),
        );
    }
}

/// Every key a mapping accepts: the common ones, then each provider's own in registry order.
/// Keys of another provider than the playbook's are then reported as such, not as unknown.
pub fn keys_at(at: KeyPath) -> Vec<&'static str> {
    let common: &[&str] = match at {
        KeyPath::Provider => PROVIDER_COMMON_KEYS,
        KeyPath::Credentials => &[],
        KeyPath::Message => MESSAGE_COMMON_KEYS,
    };
    let mut out: Vec<&'static str> = common.to_vec();
    for p in provider::all() {
        for k in p.own_keys().iter().filter(|k| k.at == at) {
            if !out.contains(&k.name) {
                out.push(k.name);
            }
        }
    }
    out
}
