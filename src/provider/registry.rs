//! The provider registry: every provider pushfix knows, one line each. Reading a provider kind
//! or a rate family back from text (playbooks, plans, journals) goes through here.

use serde::{Deserialize, Deserializer, de};

use super::{Family, Provider};
use crate::domain::ProviderKind;

/// Every provider, in the order `pushfix matrix` lists them.
static PROVIDERS: &[&dyn Provider] = &[
    &super::jpush::JPUSH,
    &super::tpns::TPNS,
    &super::timpush::TIMPUSH,
    &super::getui::GETUI,
];

pub fn all() -> &'static [&'static dyn Provider] {
    PROVIDERS
}

/// The provider of a kind (every kind comes from the registry, so it is always there).
pub fn get(kind: ProviderKind) -> &'static dyn Provider {
    PROVIDERS
        .iter()
        .copied()
        .find(|p| p.kind() == kind)
        .unwrap_or(PROVIDERS[0])
}

/// The provider named `name` (`provider.kind`).
pub fn find(name: &str) -> Option<&'static dyn Provider> {
    PROVIDERS
        .iter()
        .copied()
        .find(|p| p.kind().as_str() == name)
}

/// Every kind's name, for messages and the CLI.
pub fn kind_names() -> Vec<&'static str> {
    PROVIDERS.iter().map(|p| p.kind().as_str()).collect()
}

/// Where a family comes in the providers' declarations (unknown ones last).
pub(super) fn family_rank(f: Family) -> usize {
    PROVIDERS
        .iter()
        .flat_map(|p| p.families())
        .position(|s| s.family.as_str() == f.as_str())
        .unwrap_or(usize::MAX)
}

fn family(name: &str) -> Option<Family> {
    PROVIDERS
        .iter()
        .flat_map(|p| p.families())
        .map(|f| f.family)
        .find(|f| f.as_str() == name)
}

impl<'de> Deserialize<'de> for ProviderKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        find(&name).map(|p| p.kind()).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown provider `{name}` (known: {})",
                kind_names().join(", ")
            ))
        })
    }
}

impl<'de> Deserialize<'de> for Family {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        family(&name).ok_or_else(|| de::Error::custom(format!("unknown rate family `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_families_are_unique_and_read_back() {
        let mut kinds = kind_names();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), all().len());
        let mut families: Vec<&str> = all()
            .iter()
            .flat_map(|p| p.families())
            .map(|f| f.family.as_str())
            .collect();
        let n = families.len();
        families.sort();
        families.dedup();
        assert_eq!(
            families.len(),
            n,
            "family names are unique across providers"
        );
        for p in all() {
            let k: ProviderKind =
                serde_json::from_value(serde_json::json!(p.kind().as_str())).unwrap();
            assert_eq!(k, p.kind());
            for f in p.families() {
                let back: Family =
                    serde_json::from_value(serde_json::json!(f.family.as_str())).unwrap();
                assert_eq!(back, f.family);
            }
            assert!(
                p.families()
                    .iter()
                    .any(|f| f.family == p.step_family(crate::domain::Action::Recall))
            );
        }
    }
}
