//! A small map from channel name to a count, for per-message data (a ledger record's
//! `receivers_by_channel`, a message's channels in the plan). A `BTreeMap` of three entries
//! allocates a node for eleven (~400 bytes a message); this is one sorted slice, its names
//! shared across messages.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::intern::{Shared, global};

/// Channel name → value, sorted by name; serialized as a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMap<V>(Box<[(Shared, V)]>);

impl<V> Default for ChannelMap<V> {
    fn default() -> Self {
        ChannelMap(Box::new([]))
    }
}

impl<V> ChannelMap<V> {
    pub fn get(&self, channel: &str) -> Option<&V> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(channel))
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Later entries win, as a map's insert would.
impl<K: AsRef<str>, V> FromIterator<(K, V)> for ChannelMap<V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut v: Vec<(Shared, V)> = iter
            .into_iter()
            .map(|(k, v)| (global(k.as_ref()), v))
            .collect();
        // Stable: equal names keep their order, so the last is the one kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Shared, V)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        ChannelMap(out.into_boxed_slice())
    }
}

impl<'a, V> IntoIterator for &'a ChannelMap<V> {
    type Item = (&'a str, &'a V);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (Shared, V)>, fn(&'a (Shared, V)) -> (&'a str, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
}

impl<V: Serialize> Serialize for ChannelMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            m.serialize_entry(&**k, v)?;
        }
        m.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for ChannelMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V_<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V_<V> {
            type Value = ChannelMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of channel names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut v: Vec<(String, V)> = Vec::with_capacity(a.size_hint().unwrap_or(0));
                while let Some((k, val)) = a.next_entry::<String, V>()? {
                    v.push((k, val));
                }
                Ok(v.into_iter().collect())
            }
        }
        d.deserialize_map(V_(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sorted_map_that_reads_and_writes_as_an_object() {
        let m: ChannelMap<u64> = [("vivo", 3), ("jpush", 1), ("vivo", 4)]
            .into_iter()
            .collect();
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("vivo"), Some(&4));
        assert_eq!(m.get("oppo"), None);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"jpush":1,"vivo":4}"#);
        let back: ChannelMap<u64> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let keys: Vec<&str> = (&m).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["jpush", "vivo"]);
    }
}
